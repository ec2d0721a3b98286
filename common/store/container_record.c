/* common/store/container_record.c - container.json (ROOT) and state.json (STATE) for one
 * container (DESIGN.md "The metadata layer on disk": writers lock the one container, readers
 * never lock) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/store/container_record.h"
#include "common/store/doc.h"
#include "common/store/layout.h"
#include "common/store/lock.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

#define CONTAINER_LOCK_TIMEOUT_NS (5LL * 1000000000LL)

static const char *const status_names[] = {
    [STATUS_CREATED] = "created", [STATUS_RUNNING] = "running", [STATUS_PAUSED] = "paused",
    [STATUS_STOPPED] = "exited",  [STATUS_UNKNOWN] = "unknown",
};

void container_doc_release(struct container_doc *c)
{
	size_t i;

	if (!c)
		return;
	free(c->name);
	free(c->image);
	free(c->image_digest);
	strv_free(c->command);
	strv_free(c->snapshots);
	for (i = 0; i < c->n_labels; i++) {
		free(c->labels[i].key);
		free(c->labels[i].value);
	}
	free(c->labels);
	*c = (struct container_doc){0};
}

/* Takes the container's lock: ROOT/containers/ID/lock, which needs the directory. */
static int container_lock(const struct ctx *ctx, const char *id, struct lock *l, struct err *e)
{
	cleanup_free char *dir = store_container_dir(ctx, id);
	cleanup_free char *lockpath = path_join(dir, "lock");

	if (fs_mkdir_p(dir, 0700, e) < 0)
		return err_wrap(e, "container %s", id);
	if (lock_take(lockpath, CONTAINER_LOCK_TIMEOUT_NS, l, e) < 0)
		return err_wrap(e, "container %s", id);
	return 0;
}

static struct json_object *strv_to_json(char **v)
{
	struct json_object *a = json_object_new_array();

	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

/* Reads an optional array of strings at key into a NULL-terminated vector (NULL when absent). */
static int strv_from_json(struct json_object *o, const char *key, char ***out, struct err *e)
{
	struct json_object *a = NULL;
	cleanup_strv char **v = NULL;
	size_t i, n;

	if (jsonio_get_array(o, key, false, &a, e) < 0)
		return -1;
	if (!a) {
		*out = NULL;
		return 0;
	}
	n = json_object_array_length(a);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(a, i);

		if (!json_object_is_type(s, json_type_string))
			return err_set(e, E_INVALID, "%s[%zu]: not a string", key, i);
		v[i] = xstrdup(json_object_get_string(s));
	}
	*out = TAKE_PTR(v);
	return 0;
}

int container_doc_save(const struct ctx *ctx, const struct container_doc *c, struct err *e)
{
	cleanup_json struct json_object *o = NULL;
	cleanup_free char *path = NULL;
	cleanup_lock struct lock l = LOCK_INIT;
	struct json_object *labels;
	size_t i;

	if (!store_id_valid(c->id))
		return err_set(e, E_INVALID, "container %s: invalid id", c->id);
	o = json_object_new_object();
	jsonio_set_str(o, "id", c->id);
	jsonio_set_str(o, "name", c->name);
	jsonio_set_str(o, "image", c->image);
	jsonio_set_str(o, "image_digest", c->image_digest);
	json_object_object_add(o, "command", strv_to_json(c->command));
	labels = json_object_new_object();
	for (i = 0; i < c->n_labels; i++)
		jsonio_set_str(labels, c->labels[i].key,
		               c->labels[i].value ? c->labels[i].value : "");
	json_object_object_add(o, "labels", labels);
	json_object_object_add(o, "snapshots", strv_to_json(c->snapshots));
	jsonio_set_time(o, "created", c->created_ns);
	if (c->auto_remove)
		jsonio_set_bool(o, "auto_remove", true);
	if (c->log_max_bytes > 0)
		jsonio_set_int(o, "log_max_size_bytes", c->log_max_bytes);
	if (c->log_max_files > 0)
		jsonio_set_int(o, "log_max_files", c->log_max_files);

	path = container_doc_path(ctx, c->id);
	if (container_lock(ctx, c->id, &l, e) < 0)
		return -1;
	if (doc_write(path, o, c->auto_remove ? 0 : DOC_DURABLE, e) < 0)
		return err_wrap(e, "container %s", c->id);
	return 0;
}

static int doc_from_json(struct json_object *o, const char *id, struct container_doc *out,
                         struct err *e)
{
	const char *jid = NULL, *name = NULL, *image = NULL, *digest = NULL;
	struct json_object *labels = NULL;
	struct container_doc c = {0};
	int64_t log_files = 0;

	if (jsonio_get_str(o, "id", true, &jid, e) < 0 ||
	    jsonio_get_str(o, "name", false, &name, e) < 0 ||
	    jsonio_get_str(o, "image", false, &image, e) < 0 ||
	    jsonio_get_str(o, "image_digest", false, &digest, e) < 0 ||
	    jsonio_get_obj(o, "labels", false, &labels, e) < 0 ||
	    jsonio_get_time(o, "created", false, &c.created_ns, e) < 0 ||
	    jsonio_get_bool(o, "auto_remove", false, &c.auto_remove, e) < 0 ||
	    jsonio_get_int(o, "log_max_size_bytes", false, &c.log_max_bytes, e) < 0 ||
	    jsonio_get_int(o, "log_max_files", false, &log_files, e) < 0)
		return -1;
	if (c.log_max_bytes < 0 || log_files < 0 || log_files > 1000)
		return err_set(e, E_INVALID, "log_max_size_bytes or log_max_files out of range");
	c.log_max_files = (int)log_files;
	if (strcmp(jid, id) != 0)
		return err_set(e, E_INVALID, "id: %s, not %s", jid, id);
	memcpy(c.id, id, 65);
	if (strv_from_json(o, "command", &c.command, e) < 0)
		goto fail;
	if (strv_from_json(o, "snapshots", &c.snapshots, e) < 0)
		goto fail;
	if (labels) {
		c.labels =
		    xcalloc((size_t)json_object_object_length(labels) + 1, sizeof(*c.labels));
		json_object_object_foreach(labels, k, v)
		{
			if (!json_object_is_type(v, json_type_string)) {
				err_set(e, E_INVALID, "labels.%s: not a string", k);
				goto fail;
			}
			c.labels[c.n_labels].key = xstrdup(k);
			c.labels[c.n_labels].value = xstrdup(json_object_get_string(v));
			c.n_labels++;
		}
	}
	c.name = name ? xstrdup(name) : NULL;
	c.image = image ? xstrdup(image) : NULL;
	c.image_digest = digest ? xstrdup(digest) : NULL;
	*out = c;
	return 0;
fail:
	container_doc_release(&c);
	return -1;
}

int container_doc_load(const struct ctx *ctx, const char *id, struct container_doc *out,
                       struct err *e)
{
	cleanup_json struct json_object *o = NULL;
	cleanup_free char *path = NULL;

	if (!store_id_valid(id))
		return err_set(e, E_INVALID, "container %s: invalid id", id);
	path = container_doc_path(ctx, id);
	if (doc_read(path, &o, e) < 0) {
		if (e->code == E_NOTFOUND)
			return err_set(e, E_NOTFOUND, "container %s: not found", id);
		return -1;
	}
	if (doc_from_json(o, id, out, e) < 0) {
		e->code = E_CORRUPT;
		return err_wrap(e, "%s", path);
	}
	return 0;
}

int container_doc_load_at(int containers_dirfd, const char *id, struct buf *b,
                          struct container_doc *out, struct err *e)
{
	cleanup_json struct json_object *o = NULL;
	char rel[65 + sizeof("/container.json")];

	if (!store_id_valid(id))
		return err_set(e, E_INVALID, "container %s: invalid id", id);
	snprintf(rel, sizeof(rel), "%s/container.json", id);
	if (doc_read_at(containers_dirfd, rel, b, &o, e) < 0) {
		if (e->code == E_NOTFOUND)
			return err_set(e, E_NOTFOUND, "container %s: not found", id);
		return err_wrap(e, "containers");
	}
	if (doc_from_json(o, id, out, e) < 0) {
		e->code = E_CORRUPT;
		return err_wrap(e, "containers/%s", rel);
	}
	return 0;
}

int container_dir_open(const struct ctx *ctx, struct err *e)
{
	cleanup_free char *dir = path_join(ctx->path.root, "containers");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_sys(e, "%s", dir);
	return fd;
}

/* Keeps STATE/running/ID in step with a status just written: present while running or paused
 * (see container_record.h). Not fsynced: STATE is tmpfs. A STATE made before the index
 * existed gets its directory here. */
static int running_index_set(const struct ctx *ctx, const char *id, bool running, struct err *e)
{
	cleanup_free char *dir = store_running_dir(ctx);
	cleanup_free char *path = path_join(dir, id);
	int fd;

	if (!running) {
		if (unlink(path) < 0 && errno != ENOENT)
			return err_sys(e, "remove %s", path);
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0 && errno == ENOENT) {
		if (fs_mkdir_p(dir, 0700, e) < 0)
			return -1;
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	}
	if (fd < 0)
		return err_sys(e, "%s", path);
	close(fd);
	return 0;
}

int container_state_save(const struct ctx *ctx, const char *id, const struct container_state *s,
                         struct err *e)
{
	cleanup_json struct json_object *o = NULL;
	cleanup_free char *dir = NULL, *path = NULL;
	cleanup_lock struct lock l = LOCK_INIT;

	if (!store_id_valid(id))
		return err_set(e, E_INVALID, "container %s: invalid id", id);
	if ((unsigned)s->status >= ARRAY_SIZE(status_names))
		return err_set(e, E_INVALID, "container %s: invalid status %d", id, (int)s->status);
	o = json_object_new_object();
	jsonio_set_str(o, "status", status_names[s->status]);
	jsonio_set_int(o, "pid", s->pid);
	jsonio_set_int(o, "pid_start_time", (int64_t)s->pid_start_time);
	jsonio_set_int(o, "shim_pid", s->shim_pid);
	jsonio_set_int(o, "shim_start_time", (int64_t)s->shim_start_time);
	if (s->shim_parent_pid)
		jsonio_set_int(o, "shim_parent_pid", s->shim_parent_pid);
	jsonio_set_time(o, "started", s->started_ns);
	jsonio_set_time(o, "finished", s->finished_ns);
	jsonio_set_int(o, "exit_code", s->exit_code);
	jsonio_set_bool(o, "oom_killed", s->oom_killed);

	dir = store_container_state_dir(ctx, id);
	path = path_join(dir, "state.json");
	if (container_lock(ctx, id, &l, e) < 0)
		return -1;
	if (fs_mkdir_p(dir, 0700, e) < 0 || doc_write(path, o, 0, e) < 0)
		return err_wrap(e, "container %s", id);
	/* After the rename: the index never says running before state.json does. */
	if (running_index_set(ctx, id, s->status == STATUS_RUNNING || s->status == STATUS_PAUSED,
	                      e) < 0)
		return err_wrap(e, "container %s: running index", id);
	return 0;
}

int container_state_remove(const struct ctx *ctx, const char *id, struct err *e)
{
	cleanup_free char *sdir = NULL;

	if (!store_id_valid(id))
		return err_set(e, E_INVALID, "container %s: invalid id", id);
	/* The index entry first: left alone, it would offer a container without a state. */
	if (running_index_set(ctx, id, false, e) < 0)
		return err_wrap(e, "container %s", id);
	sdir = store_container_state_dir(ctx, id);
	return fs_remove_tree(sdir, e);
}

static int state_from_json(struct json_object *o, struct container_state *out, struct err *e)
{
	struct container_state s = {0};
	const char *status = NULL;
	int64_t pid = 0, pst = 0, shim = 0, sst = 0, code = 0, sppid = 0;
	size_t i;

	if (jsonio_get_str(o, "status", true, &status, e) < 0 ||
	    jsonio_get_int(o, "pid", false, &pid, e) < 0 ||
	    jsonio_get_int(o, "pid_start_time", false, &pst, e) < 0 ||
	    jsonio_get_int(o, "shim_pid", false, &shim, e) < 0 ||
	    jsonio_get_int(o, "shim_start_time", false, &sst, e) < 0 ||
	    jsonio_get_int(o, "shim_parent_pid", false, &sppid, e) < 0 ||
	    jsonio_get_time(o, "started", false, &s.started_ns, e) < 0 ||
	    jsonio_get_time(o, "finished", false, &s.finished_ns, e) < 0 ||
	    jsonio_get_int(o, "exit_code", false, &code, e) < 0 ||
	    jsonio_get_bool(o, "oom_killed", false, &s.oom_killed, e) < 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(status_names); i++)
		if (strcmp(status, status_names[i]) == 0)
			break;
	if (i == ARRAY_SIZE(status_names))
		return err_set(e, E_INVALID, "status: unknown value %s", status);
	if (pid < 0 || pid > INT32_MAX || shim < 0 || shim > INT32_MAX || pst < 0 || sst < 0 ||
	    code < INT32_MIN || code > INT32_MAX || sppid < 0 || sppid > INT32_MAX)
		return err_set(e, E_INVALID, "pid, start time or exit code out of range");
	s.shim_parent_pid = (int)sppid;
	s.status = (enum units_status)i;
	s.pid = (int)pid;
	s.pid_start_time = (uint64_t)pst;
	s.shim_pid = (int)shim;
	s.shim_start_time = (uint64_t)sst;
	s.exit_code = (int)code;
	*out = s;
	return 0;
}

int container_state_load(const struct ctx *ctx, const char *id, struct container_state *out,
                         struct err *e)
{
	cleanup_json struct json_object *o = NULL;
	cleanup_free char *dir = NULL, *path = NULL;

	if (!store_id_valid(id))
		return err_set(e, E_INVALID, "container %s: invalid id", id);
	dir = store_container_state_dir(ctx, id);
	path = path_join(dir, "state.json");
	if (doc_read(path, &o, e) < 0) {
		if (e->code == E_NOTFOUND)
			return err_set(e, E_NOTFOUND, "container %s: no state", id);
		return -1;
	}
	if (state_from_json(o, out, e) < 0) {
		e->code = E_CORRUPT;
		return err_wrap(e, "%s", path);
	}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *container_doc_path(const struct ctx *ctx, const char *id)
{
	cleanup_free char *dir = store_container_dir(ctx, id);

	return path_join(dir, "container.json");
}

/* The names in dir that are container IDs, sorted; a missing dir is an empty list. */
static int list_ids_in(const char *dir, char ***out, size_t *n, struct err *e)
{
	cleanup_strv char **v = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d && errno != ENOENT)
		return err_sys(e, "open %s", dir);
	v = xcalloc(1, sizeof(*v));
	while (d && (errno = 0, de = readdir(d))) {
		if (!store_id_valid(de->d_name))
			continue;
		if (count + 1 >= cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[count++] = xstrdup(de->d_name);
		v[count] = NULL;
	}
	if (d) {
		int saved = errno;

		closedir(d);
		if (saved)
			return err_errno(e, saved, "read %s", dir);
	}
	qsort(v, count, sizeof(*v), str_cmp);
	*out = TAKE_PTR(v);
	*n = count;
	return 0;
}

int container_list_ids(const struct ctx *ctx, char ***out, size_t *n, struct err *e)
{
	cleanup_free char *dir = path_join(ctx->path.root, "containers");

	return list_ids_in(dir, out, n, e);
}

int container_running_ids(const struct ctx *ctx, char ***out, size_t *n, struct err *e)
{
	cleanup_free char *dir = store_running_dir(ctx);

	return list_ids_in(dir, out, n, e);
}

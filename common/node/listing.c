/* common/node/listing.c - every container as ps and relist see it (DESIGN.md lesson 1 "Listing
 * never waits", "ps", "relist"): records read lock-free, each recorded process checked by PID
 * and /proc start time so a dead shim or a reused PID is never taken for a live one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/node/diag.h"
#include "common/node/listing.h"
#include "common/store/layout.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

static const char *const status_words[] = {
    [STATUS_CREATED] = "created", [STATUS_RUNNING] = "running", [STATUS_PAUSED] = "paused",
    [STATUS_STOPPED] = "exited",  [STATUS_UNKNOWN] = "unknown",
};

const char *listing_status_word(enum units_status s)
{
	return (size_t)s < ARRAY_SIZE(status_words) ? status_words[s] : "unknown";
}

int listing_status_parse(const char *s, enum units_status *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_words); i++)
		if (strcmp(s, status_words[i]) == 0) {
			*out = (enum units_status)i;
			return 0;
		}
	return -1;
}

/* True when pid is alive and is the process that had start_time (0: unknown, PID only), read
 * from <proc>/PID/stat through procfd (the proc root, opened once per listing): one openat, one
 * read into the stack and one close, no allocation, as a relist makes two such checks per
 * running container. A zombie (state Z or X: exited, not yet reaped by its parent or adopter)
 * is not alive, so a killed shim is lost at once, not only once PID 1 reaps it. */
static bool proc_same(int procfd, int pid, uint64_t start_time)
{
	char rel[32], text[2048];
	struct proc_stat ps;
	struct err e = ERR_INIT;
	ssize_t n;
	int fd;

	if (pid <= 0 || procfd < 0)
		return false;
	snprintf(rel, sizeof(rel), "%d/stat", pid);
	fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	do
		n = read(fd, text, sizeof(text) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	/* a stat line is a few hundred bytes: one that fills the buffer is not one */
	if (n <= 0 || (size_t)n == sizeof(text) - 1)
		return false;
	text[n] = '\0';
	if (proc_stat_parse(text, &ps, &e) < 0 || ps.state == 'Z' || ps.state == 'X')
		return false;
	return !start_time || ps.starttime == start_time;
}

int listing_pidfd(const struct ctx *ctx, int pid, uint64_t start_time)
{
	cleanup_close int procfd = -1;
	int fd;

	if (pid <= 0 || strcmp(ctx->path.proc, "/proc") != 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -1;
	procfd = open(ctx->path.proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!proc_same(procfd, pid, start_time)) {
		close(fd);
		return -1;
	}
	return fd;
}

void listing_release(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		container_doc_release(&l->v[i].doc);
	free(l->v);
	strv_free(l->unreadable);
	memset(l, 0, sizeof(*l));
}

/* The key of dirfd/rel (dirfd -1: rel is a path); zeroed when absent. */
static void key_of(int dirfd, const char *rel, struct listing_key *k)
{
	struct stat st;

	memset(k, 0, sizeof(*k));
	if (dirfd < 0 || fstatat(dirfd, rel, &st, 0) < 0)
		return;
	k->dev = (uint64_t)st.st_dev;
	k->ino = (uint64_t)st.st_ino;
	k->size = (int64_t)st.st_size;
	k->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	k->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
}

static bool key_eq(const struct listing_key *a, const struct listing_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

static void note_unreadable(struct listing *l, const char *id, size_t n_bad_states)
{
	size_t k = l->skipped - n_bad_states;

	l->unreadable = xreallocarray(l->unreadable, k + 2, sizeof(char *));
	l->unreadable[k] = xstrdup(id);
	l->unreadable[k + 1] = NULL;
	l->skipped++;
}

struct keyed_id {
	char *id;
	struct listing_key doc_key;
};

static int keyed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed_id *)a)->id, ((const struct keyed_id *)b)->id);
}

/* The containers with a directory under ROOT/containers, sorted, each keyed by that directory's
 * inode as readdir gives it: no system call per container. container.json needs no key of its
 * own because it never changes: it is written once, before state.json, when the container is
 * created (common/runtime/container.c), and removed last, after STATE's side (rt_remove). So a
 * container being created is not in the previous listing and its documents are read (and left
 * out until container.json exists), and one being removed has lost its state.json first, which
 * changes the state key and makes the listing read it again. A directory replaced under the
 * same ID has another inode. Statting container.json as well was a third of a relist. */
static int keyed_ids(const struct ctx *ctx, char ***ids_out, struct listing_key **keys_out,
                     size_t *n_out, struct err *e)
{
	cleanup_free char *dir = path_join(ctx->path.root, "containers");
	struct keyed_id *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	char **ids;
	struct listing_key *keys;
	/* No atime update: on ext4 it would dirty the directory's inode, and starting a journal
	 * handle can wait behind a commit that a storm of fsyncs holds up. O_NOATIME needs the
	 * owner or CAP_FOWNER: without them, the mount's relatime (one update per change) stands.
	 */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOATIME);
	DIR *d;

	if (fd < 0 && errno == EPERM)
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return err_sys(e, "open %s", dir);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (fd >= 0 && !d) {
		close(fd);
		return err_sys(e, "open %s", dir);
	}
	while (d && (de = readdir(d))) {
		if ((de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
		    !store_id_valid(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		memset(&v[n].doc_key, 0, sizeof(v[n].doc_key));
		v[n].doc_key.ino = (uint64_t)de->d_ino;
		v[n++].id = xstrdup(de->d_name);
	}
	if (d)
		closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), keyed_cmp);
	ids = xcalloc(n + 1, sizeof(*ids));
	keys = xcalloc(n ? n : 1, sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		ids[i] = v[i].id;
		keys[i] = v[i].doc_key;
	}
	free(v);
	*ids_out = ids;
	*keys_out = keys;
	*n_out = n;
	return 0;
}

static int listing_read_keys(const struct ctx *ctx, bool keys, listing_prev_fn prev, void *arg,
                             struct listing *l, struct err *e)
{
	cleanup_strv char **ids = NULL;
	cleanup_free struct listing_key *doc_keys = NULL;
	cleanup_free char *sdir = path_join(ctx->path.state, "containers");
	cleanup_close int sfd = -1;
	cleanup_close int procfd = open(ctx->path.proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n = 0, n_bad_states = 0;

	memset(l, 0, sizeof(*l));
	if (keys) {
		if (keyed_ids(ctx, &ids, &doc_keys, &n, e) < 0)
			return -1;
		sfd = open(sdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else if (container_list_ids(ctx, &ids, &n, e) < 0) {
		return -1;
	}
	l->v = xcalloc(n ? n : 1, sizeof(*l->v));
	for (size_t i = 0; i < n; i++) {
		struct listing_entry *c = &l->v[l->n];
		const struct listing_entry *p = NULL;
		struct err le = ERR_INIT;

		if (keys) {
			char rel[288];

			/* Keys first: a rewrite after them only makes the next relist read again.
			 */
			snprintf(rel, sizeof(rel), "%s/state.json", ids[i]);
			c->doc_key = doc_keys[i];
			key_of(sfd, rel, &c->state_key);
			p = prev ? prev(ids[i], arg) : NULL;
			if (p && (!key_eq(&p->doc_key, &c->doc_key) ||
			          !key_eq(&p->state_key, &c->state_key)))
				p = NULL;
		}
		if (p) {
			memcpy(c->doc.id, ids[i], sizeof(c->doc.id));
			c->doc.name = p->doc.name ? xstrdup(p->doc.name) : NULL;
			c->st = p->st;
			c->has_state = p->has_state;
		} else if (container_doc_load(ctx, ids[i], &c->doc, &le) < 0) {
			/* removed between the listing and the load: not an error */
			if (le.code != E_NOTFOUND)
				note_unreadable(l, ids[i], n_bad_states);
			continue;
		} else if (container_state_load(ctx, ids[i], &c->st, &le) == 0) {
			c->has_state = true;
		} else {
			if (le.code != E_NOTFOUND) {
				c->state_unreadable = true;
				n_bad_states++;
				l->skipped++;
			}
			memset(&c->st, 0, sizeof(c->st));
			c->st.status = STATUS_CREATED;
		}
		c->status = c->st.status;
		/* relist's status depends on the shim alone (the shim records its container's
		 * exit), so it spares a check per container for a figure it would not use */
		if (!keys && c->has_state && c->st.pid)
			c->init_alive = proc_same(procfd, c->st.pid, c->st.pid_start_time);
		if (c->has_state && c->st.shim_pid)
			c->shim_alive = (p && p->shim_alive) ||
			                proc_same(procfd, c->st.shim_pid, c->st.shim_start_time);
		/* A running container's exit is recorded by its shim: without the shim nobody will,
		 * so the recorded "running" can no longer be trusted. */
		if ((c->status == STATUS_RUNNING || c->status == STATUS_PAUSED) && !c->shim_alive)
			c->status = STATUS_UNKNOWN;
		l->n++;
	}
	return 0;
}

int listing_read(const struct ctx *ctx, struct listing *l, struct err *e)
{
	return listing_read_keys(ctx, false, NULL, NULL, l, e);
}

int listing_read_since(const struct ctx *ctx, listing_prev_fn prev, void *arg, struct listing *l,
                       struct err *e)
{
	return listing_read_keys(ctx, true, prev, arg, l, e);
}

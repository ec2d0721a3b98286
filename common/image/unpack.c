/* common/image/unpack.c - an image into snapshots, layers in parallel, visible only when all are
 * complete; or flattened into a rootfs or OCI bundle (DESIGN.md "unpack", lesson 2: no mounts,
 * no syncs). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/image/layer.h"
#include "common/image/manifest.h"
#include "common/image/snapshot.h"
#include "common/image/unpack.h"
#include "common/store/blob.h"
#include "common/store/event.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PASSWD_MAX   (4 << 20)

void unpack_result_release(struct unpack_result *r)
{
	free(r->snapshots);
	free(r->chain_ids);
	memset(r, 0, sizeof(*r));
}

struct image {
	struct manifest m;
	struct image_config cfg;
};

static void image_release(struct image *img)
{
	manifest_release(&img->m);
	image_config_release(&img->cfg);
}

static int image_load(const struct ctx *ctx, const struct digest *md, struct image *out,
                      struct err *e)
{
	cleanup_free char *mdata = NULL;
	cleanup_free char *cdata = NULL;
	size_t mlen, clen;
	struct image img = {0};

	if (blob_read(ctx, md, MANIFEST_MAX, &mdata, &mlen, e) < 0)
		return err_wrap(e, "manifest");
	if (manifest_parse(mdata, mlen, NULL, &img.m, e) < 0)
		return err_wrap(e, "manifest sha256:%s", md->hex);
	if (img.m.kind != MANIFEST_IMAGE) {
		manifest_release(&img.m);
		return err_set(e, E_INVALID, "sha256:%s is an index, not an image manifest",
		               md->hex);
	}
	if (blob_read(ctx, &img.m.config.digest, CONFIG_MAX, &cdata, &clen, e) < 0 ||
	    image_config_parse(cdata, clen, &img.cfg, e) < 0) {
		manifest_release(&img.m);
		return err_wrap(e, "config sha256:%s", img.m.config.digest.hex);
	}
	if (img.cfg.n_diff_ids != img.m.n_layers) {
		size_t nd = img.cfg.n_diff_ids, nl = img.m.n_layers;

		image_release(&img);
		return err_set(e, E_INVALID, "the config lists %zu diff_ids for %zu layers", nd,
		               nl);
	}
	*out = img;
	return 0;
}

static int check_diff_id(size_t i, const struct descriptor *layer, const struct digest *got,
                         const struct digest *want, struct err *e)
{
	if (digest_equal(got, want))
		return 0;
	return err_set(e, E_CORRUPT,
	               "layer %zu (sha256:%s): uncompressed digest sha256:%s does not match the "
	               "config's diff_id sha256:%s",
	               i + 1, layer->digest.hex, got->hex, want->hex);
}

/* ---- snapshots, in parallel ---- */

struct task {
	size_t index;
	const struct descriptor *layer;
	const struct digest *diff_id;
	struct snapshot_new sn;
	struct snapshot_meta meta;
	int64_t bytes;
	int rc; /* 0 done, -1 failed (err), 1 not run (another task failed first) */
	struct err err;
};

struct pool {
	const struct ctx *ctx;
	struct task *tasks;
	size_t n, next;
	pthread_mutex_t mu;
	atomic_bool failed;
};

static int task_run(const struct ctx *ctx, struct task *t, struct err *e)
{
	cleanup_close int fd = blob_open(ctx, &t->layer->digest, e);
	struct layer_opts lo = {.compressed_size = t->layer->size};
	struct layer_result res;

	if (fd < 0)
		return err_wrap(e, "layer %zu", t->index + 1);
	if (layer_apply(fd, t->sn.fs_fd, &lo, &res, e) < 0)
		return err_wrap(e, "layer %zu (sha256:%s)", t->index + 1, t->layer->digest.hex);
	if (check_diff_id(t->index, t->layer, &res.diff_id, t->diff_id, e) < 0)
		return -1;
	t->bytes = res.bytes;
	t->meta.created_ns = ctx->now_ns ? ctx->now_ns() : ctx_clock_realtime();
	if (snapshot_finish(ctx, &t->sn, &t->meta, e) < 0)
		return err_wrap(e, "layer %zu", t->index + 1);
	return 0;
}

static void *pool_worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct task *t;

		pthread_mutex_lock(&p->mu);
		t = p->next < p->n ? &p->tasks[p->next++] : NULL;
		pthread_mutex_unlock(&p->mu);
		if (!t)
			return NULL;
		if (atomic_load(&p->failed)) {
			t->rc = 1;
			continue;
		}
		t->rc = task_run(p->ctx, t, &t->err);
		if (t->rc < 0)
			atomic_store(&p->failed, true);
	}
}

static int pool_run(const struct ctx *ctx, struct task *tasks, size_t n, int jobs, struct err *e)
{
	struct pool p = {.ctx = ctx, .tasks = tasks, .n = n};
	pthread_t *th;
	size_t i, nth;

	if (n == 0)
		return 0;
	if (jobs <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		jobs = cpus > 0 ? (int)cpus : 1;
	}
	nth = (size_t)jobs < n ? (size_t)jobs : n;
	pthread_mutex_init(&p.mu, NULL);
	atomic_init(&p.failed, false);
	th = xcalloc(nth, sizeof(*th));
	/* The calling thread works too; nth - 1 helpers. */
	for (i = 1; i < nth; i++)
		if (pthread_create(&th[i], NULL, pool_worker, &p) != 0) {
			nth = i; /* fewer helpers: the others still drain the queue */
			break;
		}
	pool_worker(&p);
	for (i = 1; i < nth; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_mutex_destroy(&p.mu);
	for (i = 0; i < n; i++)
		if (tasks[i].rc < 0) {
			*e = tasks[i].err;
			return -1;
		}
	return 0;
}

static void emit(const struct ctx *ctx, enum event_type type, const char *reason,
                 const struct digest *md, const struct unpack_opts *o, const char *msg)
{
	struct err ignored = ERR_INIT;
	char id[DIGEST_STR_LEN];

	digest_format(md, id);
	event_emit(ctx, type, reason, OBJECT_IMAGE, id, o->name, NULL, &ignored, "%s", msg);
}

static int unpack_snapshots(const struct ctx *ctx, const struct image *img,
                            const struct unpack_opts *o, struct unpack_result *r, struct err *e)
{
	size_t n = img->m.n_layers, i, n_tasks = 0;
	struct lock *locks = xcalloc(n ? n : 1, sizeof(*locks));
	struct task *tasks = xcalloc(n ? n : 1, sizeof(*tasks));
	int rc = -1;

	for (i = 0; i < n; i++)
		locks[i].fd = -1;
	{
		struct err ignored = ERR_INIT;

		snapshot_gc(ctx, NULL, &ignored); /* what killed or failed unpacks left */
	}
	/* Chain locks in layer order: images sharing layers share a prefix of chains, so every
	 * unpack takes them in the same order and none can deadlock another. */
	for (i = 0; i < n; i++) {
		struct snapshot_meta m = {0};
		struct err local = ERR_INIT;

		if (snapshot_chain_lock(ctx, &r->chain_ids[i], -1, &locks[i], e) < 0)
			goto out;
		if (o->flags & UNPACK_VERIFY) {
			if (snapshot_verify(ctx, &r->chain_ids[i], &img->cfg.diff_ids[i], &m,
			                    &local) == 0) {
				r->snapshots[i] = m.n;
				r->size_bytes += m.size_bytes;
				r->n_reused++;
				continue;
			}
			if (local.code != E_NOTFOUND) {
				struct snapshot_meta bad = {0};

				if (snapshot_lookup(ctx, &r->chain_ids[i], &bad, &local) == 0 &&
				    snapshot_discard(ctx, &bad, e) < 0)
					goto out;
				r->n_rebuilt++;
			}
		} else if (snapshot_lookup(ctx, &r->chain_ids[i], &m, &local) == 0) {
			r->snapshots[i] = m.n;
			r->size_bytes += m.size_bytes;
			r->n_reused++;
			continue;
		}
		tasks[n_tasks].index = i;
		tasks[n_tasks].layer = &img->m.layers[i];
		tasks[n_tasks].diff_id = &img->cfg.diff_ids[i];
		tasks[n_tasks].sn = (struct snapshot_new)SNAPSHOT_NEW_INIT;
		if (snapshot_begin(ctx, &tasks[n_tasks].sn, e) < 0)
			goto out;
		r->snapshots[i] = tasks[n_tasks].sn.n;
		tasks[n_tasks].meta.chain_id = r->chain_ids[i];
		tasks[n_tasks].meta.diff_id = img->cfg.diff_ids[i];
		tasks[n_tasks].meta.layer = img->m.layers[i].digest;
		tasks[n_tasks].meta.parent = i > 0 ? r->snapshots[i - 1] : 0;
		n_tasks++;
	}
	if (pool_run(ctx, tasks, n_tasks, o->jobs, e) < 0)
		goto out;
	/* Every layer is complete: publish bottom-up. */
	for (i = 0; i < n_tasks; i++) {
		if (snapshot_publish(ctx, &tasks[i].sn, &tasks[i].meta, e) < 0)
			goto out;
		r->bytes += tasks[i].bytes;
		r->size_bytes += tasks[i].meta.size_bytes;
	}
	rc = 0;
out:
	for (i = 0; i < n_tasks; i++)
		snapshot_abort(ctx, &tasks[i].sn); /* no-op once published */
	for (i = 0; i < n; i++)
		lock_release(&locks[i]);
	free(locks);
	free(tasks);
	return rc;
}

/* ---- flattened rootfs and bundle ---- */

/* Creates dir, or accepts an existing empty one. *created says which, for the cleanup. */
static int target_open(const char *dir, bool *created, struct err *e)
{
	int fd;

	*created = false;
	if (mkdir(dir, 0755) == 0)
		*created = true;
	else if (errno != EEXIST)
		return err_sys(e, "%s", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_sys(e, "%s", dir);
	if (!*created) {
		DIR *d = fdopendir(dup(fd));
		const struct dirent *de;
		bool empty = true;

		if (!d) {
			close(fd);
			return err_sys(e, "%s", dir);
		}
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				empty = false;
		closedir(d);
		if (!empty) {
			close(fd);
			return err_set(e, E_EXISTS, "%s: exists and is not empty", dir);
		}
	}
	return fd;
}

/* Empties dir (and removes it when this call created it). */
static void target_clean(const char *dir, bool created)
{
	if (created) {
		fs_remove_tree(dir, NULL);
		return;
	}
	{
		DIR *d = opendir(dir);
		const struct dirent *de;

		if (!d)
			return;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				cleanup_free char *p = path_join(dir, de->d_name);

				fs_remove_tree(p, NULL);
			}
		closedir(d);
	}
}

static int flatten_into(const struct ctx *ctx, const struct image *img, int dfd,
                        struct unpack_result *r, struct err *e)
{
	size_t i;

	for (i = 0; i < img->m.n_layers; i++) {
		const struct descriptor *layer = &img->m.layers[i];
		cleanup_close int fd = blob_open(ctx, &layer->digest, e);
		struct layer_opts lo = {.flags = LAYER_APPLY_WHITEOUTS,
		                        .compressed_size = layer->size};
		struct layer_result res;

		if (fd < 0)
			return err_wrap(e, "layer %zu", i + 1);
		if (layer_apply(fd, dfd, &lo, &res, e) < 0)
			return err_wrap(e, "layer %zu (sha256:%s)", i + 1, layer->digest.hex);
		if (check_diff_id(i, layer, &res.diff_id, &img->cfg.diff_ids[i], e) < 0)
			return -1;
		r->bytes += res.bytes;
	}
	return 0;
}

/* Reads a file of the rootfs, resolving it inside the rootfs (an image's /etc/passwd may be a
 * symlink to anywhere). E_NOTFOUND when absent. */
static int read_in_rootfs(int rootfd, const char *path, char **out, struct err *e)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
	                       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	cleanup_close int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	struct stat st;
	char *data;
	size_t got = 0;

	if (fd < 0)
		return err_sys(e, "/%s in the image", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PASSWD_MAX)
		return err_set(e, E_INVALID, "/%s in the image is not a readable file", path);
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, data + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	data[got] = '\0';
	*out = data;
	return 0;
}

static bool parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *out <= 0xfffffffeUL;
}

/* Finds a line of a passwd or group file by name (field 0) or by id (field 2); returns the
 * ids in fields 2 and 3. */
static bool db_find(const char *db, const char *key, bool by_id, unsigned long *id,
                    unsigned long *gid)
{
	const char *line = db;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		cleanup_free char *copy = xstrndup(line, end ? (size_t)(end - line) : strlen(line));
		char *f[4] = {0}, *p = copy;
		int k;

		for (k = 0; k < 4; k++) {
			f[k] = strsep(&p, ":");
			if (!f[k])
				break;
		}
		if (k >= 3 && f[2] && (by_id ? strcmp(f[2], key) == 0 : strcmp(f[0], key) == 0) &&
		    parse_id(f[2], id)) {
			if (gid && !(f[3] && parse_id(f[3], gid)))
				*gid = 0;
			return true;
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

/* The image's user ("", "name", "uid", "name:group", "uid:gid") as numbers, names looked up
 * in the rootfs' /etc/passwd and /etc/group. */
static int resolve_user(int rootfd, const char *spec, unsigned long *uid, unsigned long *gid,
                        struct err *e)
{
	cleanup_free char *user = xstrdup(spec ? spec : "");
	cleanup_free char *passwd = NULL;
	cleanup_free char *group = NULL;
	char *colon = strchr(user, ':');
	const char *gspec = NULL;
	struct err local = ERR_INIT;

	*uid = 0;
	*gid = 0;
	if (colon) {
		*colon = '\0';
		gspec = colon + 1;
	}
	if (!*user)
		return 0;
	read_in_rootfs(rootfd, "etc/passwd", &passwd, &local);
	if (parse_id(user, uid)) {
		if (passwd)
			db_find(passwd, user, true, uid, gid);
	} else if (!passwd || !db_find(passwd, user, false, uid, gid)) {
		return err_set(e, E_INVALID, "user \"%s\" is not in the image's /etc/passwd", user);
	}
	if (gspec && *gspec && !parse_id(gspec, gid)) {
		unsigned long g;

		read_in_rootfs(rootfd, "etc/group", &group, &local);
		if (!group || !db_find(group, gspec, false, &g, NULL))
			return err_set(e, E_INVALID,
			               "group \"%s\" is not in the image's /etc/group", gspec);
		*gid = g;
	}
	return 0;
}

static struct json_object *strv_json(const char *const *v)
{
	struct json_object *a = json_object_new_array();

	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static void add_mount(struct json_object *mounts, const char *dest, const char *type,
                      const char *src, const char *const *opts)
{
	struct json_object *m = json_object_new_object();

	jsonio_set_str(m, "destination", dest);
	jsonio_set_str(m, "type", type);
	jsonio_set_str(m, "source", src);
	json_object_object_add(m, "options", strv_json(opts));
	json_object_array_add(mounts, m);
}

static const char *const default_caps[] = {"CAP_CHOWN",
                                           "CAP_DAC_OVERRIDE",
                                           "CAP_FSETID",
                                           "CAP_FOWNER",
                                           "CAP_MKNOD",
                                           "CAP_NET_RAW",
                                           "CAP_SETGID",
                                           "CAP_SETUID",
                                           "CAP_SETFCAP",
                                           "CAP_SETPCAP",
                                           "CAP_NET_BIND_SERVICE",
                                           "CAP_SYS_CHROOT",
                                           "CAP_KILL",
                                           "CAP_AUDIT_WRITE",
                                           NULL};

/* config.json for runc/crun: the image's process (Entrypoint + Cmd, Env, WorkingDir, User),
 * rootfs/ as root, the default mounts and namespaces of `runc spec`. */
static int bundle_config(const struct image *img, int rootfd, const char *path, struct err *e)
{
	const struct image_config *c = &img->cfg;
	cleanup_json struct json_object *doc = json_object_new_object();
	struct json_object *proc = json_object_new_object(), *user = json_object_new_object();
	struct json_object *args = json_object_new_array(), *env = json_object_new_array();
	struct json_object *caps = json_object_new_object(), *root = json_object_new_object();
	struct json_object *mounts = json_object_new_array(), *linux_ = json_object_new_object();
	struct json_object *ns = json_object_new_array(), *rl = json_object_new_object();
	struct json_object *rls = json_object_new_array();
	static const char *const ns_types[] = {"pid", "network", "ipc", "uts", "mount", NULL};
	static const char *const masked[] = {"/proc/acpi",
	                                     "/proc/asound",
	                                     "/proc/kcore",
	                                     "/proc/keys",
	                                     "/proc/latency_stats",
	                                     "/proc/timer_list",
	                                     "/proc/timer_stats",
	                                     "/proc/sched_debug",
	                                     "/sys/firmware",
	                                     "/proc/scsi",
	                                     NULL};
	static const char *const ro[] = {
	    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};
	static const char *const caps_sets[] = {"bounding", "effective", "permitted", NULL};
	unsigned long uid, gid;
	cleanup_free char *text = NULL;
	cleanup_free char *cwd = NULL;
	bool has_path = false;
	size_t i;

	json_object_object_add(doc, "process", proc);
	json_object_object_add(doc, "root", root);
	json_object_object_add(doc, "mounts", mounts);
	json_object_object_add(doc, "linux", linux_);
	json_object_object_add(proc, "user", user);
	json_object_object_add(proc, "args", args);
	json_object_object_add(proc, "env", env);
	json_object_object_add(proc, "capabilities", caps);
	json_object_object_add(proc, "rlimits", rls);
	json_object_object_add(linux_, "namespaces", ns);
	for (i = 0; c->entrypoint && c->entrypoint[i]; i++)
		json_object_array_add(args, json_object_new_string(c->entrypoint[i]));
	for (i = 0; c->cmd && c->cmd[i]; i++)
		json_object_array_add(args, json_object_new_string(c->cmd[i]));
	if (json_object_array_length(args) == 0)
		return err_set(e, E_INVALID, "the image config has neither Entrypoint nor Cmd");
	for (i = 0; c->env && c->env[i]; i++) {
		has_path = has_path || strncmp(c->env[i], "PATH=", 5) == 0;
		json_object_array_add(env, json_object_new_string(c->env[i]));
	}
	if (!has_path)
		json_object_array_add(env, json_object_new_string(DEFAULT_PATH));
	if (resolve_user(rootfd, c->user, &uid, &gid, e) < 0)
		return -1;
	jsonio_set_str(doc, "ociVersion", "1.0.2");
	jsonio_set_bool(proc, "terminal", false);
	jsonio_set_int(user, "uid", (int64_t)uid);
	jsonio_set_int(user, "gid", (int64_t)gid);
	cwd = c->working_dir && *c->working_dir
	          ? (c->working_dir[0] == '/' ? xstrdup(c->working_dir)
	                                      : xasprintf("/%s", c->working_dir))
	          : xstrdup("/");
	jsonio_set_str(proc, "cwd", cwd);
	jsonio_set_bool(proc, "noNewPrivileges", true);
	for (i = 0; caps_sets[i]; i++)
		json_object_object_add(caps, caps_sets[i], strv_json(default_caps));
	jsonio_set_str(rl, "type", "RLIMIT_NOFILE");
	jsonio_set_int(rl, "hard", 1024); /* as `runc spec`: never above the caller's limit */
	jsonio_set_int(rl, "soft", 1024);
	json_object_array_add(rls, rl);
	jsonio_set_str(root, "path", "rootfs");
	jsonio_set_bool(root, "readonly", false);
	jsonio_set_str(doc, "hostname", "ctrbox");
	{
		static const char *const proc_o[] = {"nosuid", "noexec", "nodev", NULL};
		static const char *const dev_o[] = {"nosuid", "strictatime", "mode=755",
		                                    "size=65536k", NULL};
		static const char *const pts_o[] = {
		    "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL};
		static const char *const shm_o[] = {"nosuid",    "noexec",      "nodev",
		                                    "mode=1777", "size=65536k", NULL};
		static const char *const sys_o[] = {"nosuid", "noexec", "nodev", "ro", NULL};

		add_mount(mounts, "/proc", "proc", "proc", proc_o);
		add_mount(mounts, "/dev", "tmpfs", "tmpfs", dev_o);
		add_mount(mounts, "/dev/pts", "devpts", "devpts", pts_o);
		add_mount(mounts, "/dev/shm", "tmpfs", "shm", shm_o);
		add_mount(mounts, "/dev/mqueue", "mqueue", "mqueue", proc_o);
		add_mount(mounts, "/sys", "sysfs", "sysfs", sys_o);
	}
	for (i = 0; ns_types[i]; i++) {
		struct json_object *o = json_object_new_object();

		jsonio_set_str(o, "type", ns_types[i]);
		json_object_array_add(ns, o);
	}
	json_object_object_add(linux_, "maskedPaths", strv_json(masked));
	json_object_object_add(linux_, "readonlyPaths", strv_json(ro));
	text = jsonio_to_string(doc, true);
	return fs_write_atomic(path, text, strlen(text), 0644, 0, e);
}

static int unpack_flat(const struct ctx *ctx, const struct image *img, const struct unpack_opts *o,
                       struct unpack_result *r, struct err *e)
{
	const char *top = o->bundle_dir ? o->bundle_dir : o->to_dir;
	cleanup_free char *rootfs = o->bundle_dir ? path_join(o->bundle_dir, "rootfs") : NULL;
	cleanup_free char *config = o->bundle_dir ? path_join(o->bundle_dir, "config.json") : NULL;
	cleanup_close int topfd = -1;
	cleanup_close int rootfd = -1;
	bool created;

	topfd = target_open(top, &created, e);
	if (topfd < 0)
		return -1;
	if (rootfs) {
		if (mkdirat(topfd, "rootfs", 0755) < 0) {
			err_sys(e, "%s", rootfs);
			goto fail;
		}
		rootfd = openat(topfd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (rootfd < 0) {
			err_sys(e, "%s", rootfs);
			goto fail;
		}
	}
	if (flatten_into(ctx, img, rootfs ? rootfd : topfd, r, e) < 0)
		goto fail;
	if (config && bundle_config(img, rootfd, config, e) < 0) {
		err_wrap(e, "%s", config);
		goto fail;
	}
	return 0;
fail:
	target_clean(top, created);
	return -1;
}

int unpack_image(const struct ctx *ctx, const struct digest *manifest, const struct unpack_opts *o,
                 struct unpack_result *out, struct err *e)
{
	struct unpack_opts defaults = {0};
	struct unpack_result r = {0};
	struct image img = {0};
	int64_t t0 = ctx_clock_monotonic();
	int rc;

	if (!o)
		o = &defaults;
	if (o->to_dir && o->bundle_dir)
		return err_set(e, E_INVALID, "a flattened rootfs or a bundle, not both");
	if (image_load(ctx, manifest, &img, e) < 0) {
		emit(ctx, EVENT_WARNING, "Failed", manifest, o, e->msg);
		return -1;
	}
	r.n_layers = img.m.n_layers;
	r.snapshots = xcalloc(r.n_layers ? r.n_layers : 1, sizeof(*r.snapshots));
	r.chain_ids = xcalloc(r.n_layers ? r.n_layers : 1, sizeof(*r.chain_ids));
	if (r.n_layers)
		snapshot_chain_ids(img.cfg.diff_ids, r.n_layers, r.chain_ids);
	{
		cleanup_free char *msg = xasprintf("unpacking %zu layers%s%s", r.n_layers,
		                                   o->to_dir || o->bundle_dir ? " into " : "",
		                                   o->to_dir       ? o->to_dir
		                                   : o->bundle_dir ? o->bundle_dir
		                                                   : "");

		emit(ctx, EVENT_NORMAL, "Unpacking", manifest, o, msg);
	}
	if (o->to_dir || o->bundle_dir)
		rc = unpack_flat(ctx, &img, o, &r, e);
	else
		rc = unpack_snapshots(ctx, &img, o, &r, e);
	image_release(&img);
	r.duration_ns = ctx_clock_monotonic() - t0;
	if (rc < 0) {
		emit(ctx, EVENT_WARNING, "Failed", manifest, o, e->msg);
		unpack_result_release(&r);
		return -1;
	}
	{
		cleanup_free char *msg = xasprintf(
		    "%zu layers (%zu reused, %zu rebuilt), %lld bytes in %.3fs", r.n_layers,
		    r.n_reused, r.n_rebuilt, (long long)r.bytes, (double)r.duration_ns / 1e9);

		emit(ctx, EVENT_NORMAL, "Unpacked", manifest, o, msg);
	}
	*out = r;
	return 0;
}

int unpack_lookup(const struct ctx *ctx, const struct digest *manifest, struct unpack_result *out,
                  struct err *e)
{
	struct unpack_result r = {0};
	struct image img = {0};
	size_t i;

	if (image_load(ctx, manifest, &img, e) < 0)
		return -1;
	r.n_layers = img.m.n_layers;
	r.snapshots = xcalloc(r.n_layers ? r.n_layers : 1, sizeof(*r.snapshots));
	r.chain_ids = xcalloc(r.n_layers ? r.n_layers : 1, sizeof(*r.chain_ids));
	if (r.n_layers)
		snapshot_chain_ids(img.cfg.diff_ids, r.n_layers, r.chain_ids);
	image_release(&img);
	for (i = 0; i < r.n_layers; i++) {
		struct snapshot_meta m = {0};
		struct err local = ERR_INIT;

		if (snapshot_lookup(ctx, &r.chain_ids[i], &m, &local) < 0)
			continue;
		r.snapshots[i] = m.n;
		r.size_bytes += m.size_bytes;
		r.n_reused++;
	}
	*out = r;
	return 0;
}

/* common/image/unpack.c - an image into snapshots, layers in parallel, visible only when all are
 * complete; or flattened into a rootfs or OCI bundle (DESIGN.md "unpack", lesson 2: no mounts,
 * no syncs). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
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

enum lstate {
	L_REUSED = 0, /* a published snapshot exists */
	L_PENDING,       /* to apply; its chain lock is held */
	L_RUNNING,
	L_DONE, /* applied into an unpublished snapshot */
	L_FAILED,
	L_DEFERRED, /* its chain lock was busy: decided at the end, in layer order */
};

struct task {
	size_t index;
	const struct descriptor *layer;
	const struct digest *diff_id;
	enum lstate state;
	struct snapshot_new sn;
	struct snapshot_meta meta;
	int64_t bytes;
	struct err err;
};

struct unpack_session {
	const struct ctx *ctx;
	struct unpack_opts o;
	struct digest manifest;
	struct image img;
	struct unpack_result r;
	size_t n;
	struct task *tasks;
	struct lock *locks;
	pthread_mutex_t mu; /* task states, next */
	size_t next;        /* the pool's cursor */
	bool failed;
	int64_t t0;
};

static void emit(const struct ctx *ctx, enum event_type type, const char *reason,
                 const struct digest *md, const struct unpack_opts *o, const char *msg)
{
	struct err ignored = ERR_INIT;
	char id[DIGEST_STR_LEN];

	digest_format(md, id);
	event_emit(ctx, type, reason, OBJECT_IMAGE, id, o->name, NULL, &ignored, "%s", msg);
}

/* Applies one layer into a new, unpublished snapshot and measures it. */
static int task_run(const struct ctx *ctx, struct task *t, struct err *e)
{
	cleanup_close int fd = -1;
	struct layer_opts lo = {.compressed_size = t->layer->size};
	struct layer_result res;

	if (snapshot_begin(ctx, &t->sn, e) < 0)
		return err_wrap(e, "layer %zu", t->index + 1);
	fd = blob_open(ctx, &t->layer->digest, e);
	if (fd < 0)
		return err_wrap(e, "layer %zu", t->index + 1);
	if (layer_apply(fd, t->sn.fs_fd, &lo, &res, e) < 0)
		return err_wrap(e, "layer %zu (sha256:%s)", t->index + 1, t->layer->digest.hex);
	if (check_diff_id(t->index, t->layer, &res.diff_id, t->diff_id, e) < 0)
		return -1;
	t->bytes = res.bytes;
	t->meta.created_ns = ctx->now_ns ? ctx->now_ns() : ctx_clock_realtime();
	if (snapshot_measure(t->sn.fs_fd, &t->meta.entries, &t->meta.size_bytes, e) < 0)
		return err_wrap(e, "layer %zu", t->index + 1);
	return 0;
}

/* Runs task i if it is still to do; false when another thread has it or had it. */
static bool session_run(struct unpack_session *s, size_t i)
{
	struct task *t = &s->tasks[i];
	int rc;

	pthread_mutex_lock(&s->mu);
	if (t->state != L_PENDING || s->failed) {
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	t->state = L_RUNNING;
	pthread_mutex_unlock(&s->mu);
	rc = task_run(s->ctx, t, &t->err);
	pthread_mutex_lock(&s->mu);
	t->state = rc == 0 ? L_DONE : L_FAILED;
	if (rc < 0)
		s->failed = true;
	pthread_mutex_unlock(&s->mu);
	return true;
}

static void *pool_worker(void *arg)
{
	struct unpack_session *s = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&s->mu);
		i = s->next++;
		pthread_mutex_unlock(&s->mu);
		if (i >= s->n)
			return NULL;
		session_run(s, i);
	}
}

/* Applies every layer still to do, up to o.jobs at once (the calling thread is one). */
static void pool_run(struct unpack_session *s)
{
	pthread_t *th;
	size_t i, pending = 0, nth;
	int jobs = s->o.jobs;

	for (i = 0; i < s->n; i++)
		pending += s->tasks[i].state == L_PENDING;
	if (pending == 0)
		return;
	if (jobs <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		jobs = cpus > 0 ? (int)cpus : 1;
	}
	nth = (size_t)jobs < pending ? (size_t)jobs : pending;
	s->next = 0;
	th = xcalloc(nth, sizeof(*th));
	for (i = 1; i < nth; i++)
		if (pthread_create(&th[i], NULL, pool_worker, s) != 0) {
			nth = i; /* fewer helpers: the others still drain the queue */
			break;
		}
	pool_worker(s);
	for (i = 1; i < nth; i++)
		pthread_join(th[i], NULL);
	free(th);
}

/* The first failure in layer order, into e. */
static int session_failure(struct unpack_session *s, struct err *e)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->tasks[i].state == L_FAILED) {
			*e = s->tasks[i].err;
			return -1;
		}
	return 0;
}

/* With layer i's chain lock held: reuse its published snapshot (verified with UNPACK_VERIFY;
 * one that fails is discarded and rebuilt), or mark it to do. */
static int session_classify(struct unpack_session *s, size_t i, struct err *e)
{
	struct unpack_result *r = &s->r;
	struct snapshot_meta m = {0};
	struct err local = ERR_INIT;

	if (s->o.flags & UNPACK_VERIFY) {
		if (snapshot_verify(s->ctx, &r->chain_ids[i], &s->img.cfg.diff_ids[i], &m,
		                    &local) == 0)
			goto reuse;
		if (local.code != E_NOTFOUND) {
			struct snapshot_meta bad = {0};

			if (snapshot_lookup(s->ctx, &r->chain_ids[i], &bad, &local) == 0 &&
			    snapshot_discard(s->ctx, &bad, e) < 0)
				return -1;
			r->n_rebuilt++;
		}
	} else if (snapshot_lookup(s->ctx, &r->chain_ids[i], &m, &local) == 0) {
		goto reuse;
	}
	s->tasks[i].state = L_PENDING;
	return 0;
reuse:
	s->tasks[i].state = L_REUSED;
	r->snapshots[i] = m.n;
	r->size_bytes += m.size_bytes;
	r->n_reused++;
	return 0;
}

static void session_free(struct unpack_session *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		snapshot_abort(s->ctx, &s->tasks[i].sn); /* no-op once published */
		lock_release(&s->locks[i]);
	}
	free(s->tasks);
	free(s->locks);
	image_release(&s->img);
	unpack_result_release(&s->r);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int unpack_session_begin(const struct ctx *ctx, const struct digest *manifest,
                         const struct unpack_opts *o, struct unpack_session **out, struct err *e)
{
	struct unpack_session *s = xcalloc(1, sizeof(*s));
	bool deferring = false;
	size_t i;

	s->ctx = ctx;
	s->o = o ? *o : (struct unpack_opts){0};
	s->manifest = *manifest;
	s->t0 = ctx_clock_monotonic();
	pthread_mutex_init(&s->mu, NULL);
	if (image_load(ctx, manifest, &s->img, e) < 0) {
		emit(ctx, EVENT_WARNING, "Failed", manifest, &s->o, e->msg);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return -1;
	}
	s->n = s->img.m.n_layers;
	s->r.n_layers = s->n;
	s->r.snapshots = xcalloc(s->n ? s->n : 1, sizeof(*s->r.snapshots));
	s->r.chain_ids = xcalloc(s->n ? s->n : 1, sizeof(*s->r.chain_ids));
	s->tasks = xcalloc(s->n ? s->n : 1, sizeof(*s->tasks));
	s->locks = xcalloc(s->n ? s->n : 1, sizeof(*s->locks));
	if (s->n)
		snapshot_chain_ids(s->img.cfg.diff_ids, s->n, s->r.chain_ids);
	for (i = 0; i < s->n; i++) {
		struct task *t = &s->tasks[i];

		s->locks[i].fd = -1;
		t->index = i;
		t->layer = &s->img.m.layers[i];
		t->diff_id = &s->img.cfg.diff_ids[i];
		t->sn = (struct snapshot_new)SNAPSHOT_NEW_INIT;
		t->meta.chain_id = s->r.chain_ids[i];
		t->meta.diff_id = s->img.cfg.diff_ids[i];
		t->meta.layer = s->img.m.layers[i].digest;
		t->state = L_DEFERRED;
	}
	{
		cleanup_free char *msg = xasprintf("unpacking %zu layers", s->n);
		struct err ignored = ERR_INIT;

		emit(ctx, EVENT_NORMAL, "Unpacking", manifest, &s->o, msg);
		snapshot_gc(ctx, NULL, &ignored); /* what killed or failed unpacks left */
	}
	/* Chain locks are tried in layer order and only a prefix is held: images sharing layers
	 * share a prefix of chains, so of two unpacks only one holds any shared chain, and the
	 * other takes the rest in order at the end, after the first published them. No deadlock,
	 * no layer applied twice, and nobody waits here while layers still download. */
	for (i = 0; i < s->n; i++) {
		struct err local = ERR_INIT;

		if (!deferring &&
		    snapshot_chain_lock(ctx, &s->r.chain_ids[i], 0, &s->locks[i], &local) < 0) {
			if (local.code != E_BUSY) {
				*e = local;
				goto fail;
			}
			deferring = true;
		}
		if (!deferring && session_classify(s, i, e) < 0)
			goto fail;
	}
	*out = s;
	return 0;
fail:
	emit(ctx, EVENT_WARNING, "Failed", manifest, &s->o, e->msg);
	session_free(s);
	return -1;
}

size_t unpack_session_layers(const struct unpack_session *s)
{
	return s->n;
}

int unpack_session_layer(struct unpack_session *s, size_t i, struct err *e)
{
	if (i >= s->n)
		return err_set(e, E_INVALID, "layer %zu of %zu", i + 1, s->n);
	session_run(s, i);
	pthread_mutex_lock(&s->mu);
	if (s->tasks[i].state == L_FAILED) {
		*e = s->tasks[i].err;
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int unpack_session_end(struct unpack_session *s, bool ok, struct unpack_result *out, struct err *e)
{
	struct unpack_result *r = &s->r;
	size_t i;

	if (!ok)
		goto fail; /* the caller's reason is in e */
	pool_run(s);
	if (session_failure(s, e) < 0)
		goto fail;
	/* The chains whose lock was busy, in order: another unpack has published them by the
	 * time we get the lock, or they are ours to do. */
	for (i = 0; i < s->n; i++) {
		if (s->tasks[i].state != L_DEFERRED)
			continue;
		if (snapshot_chain_lock(s->ctx, &r->chain_ids[i], -1, &s->locks[i], e) < 0 ||
		    session_classify(s, i, e) < 0)
			goto fail;
	}
	pool_run(s);
	if (session_failure(s, e) < 0)
		goto fail;
	/* Every layer is complete: publish bottom-up, each with its parent's number. */
	for (i = 0; i < s->n; i++) {
		struct task *t = &s->tasks[i];

		if (t->state != L_DONE)
			continue;
		r->snapshots[i] = t->sn.n;
		t->meta.parent = i > 0 ? r->snapshots[i - 1] : 0;
		if (snapshot_write_meta(s->ctx, &t->sn, &t->meta, e) < 0 ||
		    snapshot_publish(s->ctx, &t->sn, &t->meta, e) < 0)
			goto fail;
		r->bytes += t->bytes;
		r->size_bytes += t->meta.size_bytes;
	}
	r->duration_ns = ctx_clock_monotonic() - s->t0;
	{
		cleanup_free char *msg = xasprintf(
		    "%zu layers (%zu reused, %zu rebuilt), %lld bytes in %.3fs", r->n_layers,
		    r->n_reused, r->n_rebuilt, (long long)r->bytes, (double)r->duration_ns / 1e9);

		emit(s->ctx, EVENT_NORMAL, "Unpacked", &s->manifest, &s->o, msg);
	}
	*out = *r;
	memset(r, 0, sizeof(*r));
	session_free(s);
	return 0;
fail:
	emit(s->ctx, EVENT_WARNING, "Failed", &s->manifest, &s->o, e->msg);
	session_free(s); /* unpublished snapshots removed, locks released */
	return -1;
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
	struct unpack_session *s;
	struct image img = {0};
	int64_t t0 = ctx_clock_monotonic();
	int rc;

	if (!o)
		o = &defaults;
	if (o->to_dir && o->bundle_dir)
		return err_set(e, E_INVALID, "a flattened rootfs or a bundle, not both");
	if (!o->to_dir && !o->bundle_dir) {
		if (unpack_session_begin(ctx, manifest, o, &s, e) < 0)
			return -1;
		return unpack_session_end(s, true, out, e);
	}
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
		cleanup_free char *msg = xasprintf("unpacking %zu layers into %s", r.n_layers,
		                                   o->to_dir ? o->to_dir : o->bundle_dir);

		emit(ctx, EVENT_NORMAL, "Unpacking", manifest, o, msg);
	}
	rc = unpack_flat(ctx, &img, o, &r, e);
	image_release(&img);
	r.duration_ns = ctx_clock_monotonic() - t0;
	if (rc < 0) {
		emit(ctx, EVENT_WARNING, "Failed", manifest, o, e->msg);
		unpack_result_release(&r);
		return -1;
	}
	{
		cleanup_free char *msg = xasprintf("%zu layers, %lld bytes in %.3fs", r.n_layers,
		                                   (long long)r.bytes, (double)r.duration_ns / 1e9);

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

/* common/image/gc.c - garbage collection of the content store behind `rmi` and `prune`
 * (DESIGN.md "pull"): mark every blob an image record reaches, sweep the rest, under an
 * exclusive try of the lease that every pull holds shared. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/image/gc.h"
#include "common/image/manifest.h"
#include "common/image/snapshot.h"
#include "common/store/container_record.h"
#include "common/store/blob.h"
#include "common/store/image_record.h"
#include "common/store/lock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

static char *lease_path(const struct ctx *ctx)
{
	return xasprintf("%s/content/gc.lock", ctx->path.root);
}

static int lease_open(const struct ctx *ctx, struct err *e)
{
	cleanup_free char *path = lease_path(ctx);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return err_sys(e, "open %s", path);
	return fd;
}

int gc_lease_take(const struct ctx *ctx, struct err *e)
{
	int fd = lease_open(ctx, e);

	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_SH) < 0)
		if (errno != EINTR) {
			int saved = errno;

			close(fd);
			return err_errno(e, saved, "lease %s/content/gc.lock", ctx->path.root);
		}
	return fd;
}

void gc_report_release(struct gc_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_items; i++) {
		free(r->items[i].what);
		free(r->items[i].name);
	}
	free(r->items);
	*r = (struct gc_report){0};
}

/* The marked set: sorted hex digests, searched with bsearch. */
struct marks {
	char **hex;
	size_t n, cap;
};

static void mark(struct marks *m, const struct digest *d)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->hex = xreallocarray(m->hex, m->cap, sizeof(*m->hex));
	}
	m->hex[m->n++] = xstrdup(d->hex);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool marked(const struct marks *m, const char *hex)
{
	return m->n && bsearch(&hex, m->hex, m->n, sizeof(*m->hex), cmp_str) != NULL;
}

static void report_add(struct gc_report *r, const char *what, char *name, int64_t size)
{
	r->items = xreallocarray(r->items, r->n_items + 1, sizeof(*r->items));
	r->items[r->n_items++] = (struct gc_item){xstrdup(what), name, size};
	r->bytes += size;
}

/* The snapshot numbers in use: every layer chain of a recorded image (through its config's
 * diff_ids) and every container's snapshot chain. */
struct snap_marks {
	int *n;
	size_t len, cap;
};

static void snap_mark(struct snap_marks *m, int n)
{
	if (m->len == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->n = xreallocarray(m->n, m->cap, sizeof(*m->n));
	}
	m->n[m->len++] = n;
}

static bool snap_marked(const struct snap_marks *m, int n)
{
	for (size_t i = 0; i < m->len; i++)
		if (m->n[i] == n)
			return true;
	return false;
}

/* Marks the snapshots of an image manifest's layer chains that exist; an image that was never
 * unpacked has none, which is fine. */
static int snap_mark_image(const struct ctx *ctx, struct snap_marks *sm, const struct digest *d,
			   struct err *e)
{
	cleanup_free char *data = NULL;
	cleanup_free struct digest *chains = NULL;
	struct manifest mf;
	struct image_config cfg;
	size_t len = 0;

	if (blob_read(ctx, d, MANIFEST_MAX, &data, &len, e) < 0 ||
	    manifest_parse(data, len, NULL, &mf, e) < 0)
		return err_wrap(e, "manifest sha256:%s", d->hex);
	if (mf.kind != MANIFEST_IMAGE) {
		manifest_release(&mf);
		return 0;
	}
	free(data);
	data = NULL;
	if (blob_read(ctx, &mf.config.digest, CONFIG_MAX, &data, &len, e) < 0 ||
	    image_config_parse(data, len, &cfg, e) < 0) {
		manifest_release(&mf);
		return err_wrap(e, "config of sha256:%s", d->hex);
	}
	chains = xcalloc(cfg.n_diff_ids ? cfg.n_diff_ids : 1, sizeof(*chains));
	snapshot_chain_ids(cfg.diff_ids, cfg.n_diff_ids, chains);
	for (size_t i = 0; i < cfg.n_diff_ids; i++) {
		struct snapshot_meta sn;
		struct err ignored = ERR_INIT;

		if (snapshot_lookup(ctx, &chains[i], &sn, &ignored) == 0)
			snap_mark(sm, sn.n);
	}
	image_config_release(&cfg);
	manifest_release(&mf);
	return 0;
}

static int snap_mark_containers(const struct ctx *ctx, struct snap_marks *sm, struct err *e)
{
	cleanup_strv char **ids = NULL;
	size_t n = 0;

	if (container_list_ids(ctx, &ids, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct container_doc c = {0};

		/* A container whose record cannot be read might use any snapshot; one whose
		 * record is not there (yet, or any more) uses none. */
		if (container_doc_load(ctx, ids[i], &c, e) < 0) {
			if (e->code != E_NOTFOUND)
				return err_wrap(e, "container %s", ids[i]);
			err_clear(e);
			continue;
		}
		for (char **s = c.snapshots; s && *s; s++)
			snap_mark(sm, atoi(*s));
		container_doc_release(&c);
	}
	return 0;
}

static int sweep_snapshots(const struct ctx *ctx, const struct snap_marks *sm,
			   enum gc_flags flags, struct gc_report *r, struct err *e)
{
	struct snapshot_meta *v = NULL;
	size_t n = 0;
	int rc = 0;

	if (!(flags & GC_DRY_RUN) && snapshot_gc(ctx, NULL, e) < 0)
		return -1;
	if (snapshot_list(ctx, &v, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (snap_marked(sm, v[i].n))
			continue;
		if (!(flags & GC_DRY_RUN) && snapshot_remove(ctx, v[i].n, e) < 0) {
			if (e->code == E_BUSY) { /* an unpack is using it: next time */
				err_clear(e);
				continue;
			}
			rc = -1;
			break;
		}
		report_add(r, "snapshot", xasprintf("snapshots/%d", v[i].n), v[i].size_bytes);
	}
	free(v);
	return rc;
}

/* Marks a manifest and what it reaches; a missing child is not an error (an index records
 * all platforms but only one was pulled). depth bounds nested indexes. */
static int mark_manifest(const struct ctx *ctx, struct marks *m, const struct digest *d,
			 int depth, struct err *e)
{
	cleanup_free char *data = NULL;
	struct manifest mf;
	size_t len = 0, i;
	int64_t size;

	mark(m, d);
	if (blob_stat(ctx, d, &size, e) < 0) {
		err_clear(e);
		return 0;
	}
	if (blob_read(ctx, d, MANIFEST_MAX, &data, &len, e) < 0 ||
	    manifest_parse(data, len, NULL, &mf, e) < 0)
		return err_wrap(e, "manifest sha256:%s", d->hex);
	if (mf.kind == MANIFEST_IMAGE) {
		mark(m, &mf.config.digest);
		for (i = 0; i < mf.n_layers; i++)
			mark(m, &mf.layers[i].digest);
	} else if (depth < INDEX_DEPTH_MAX) {
		for (i = 0; i < mf.n_manifests; i++)
			if (mark_manifest(ctx, m, &mf.manifests[i].digest, depth + 1, e) < 0) {
				manifest_release(&mf);
				return -1;
			}
	}
	manifest_release(&mf);
	return 0;
}

static int sweep_blobs(const struct ctx *ctx, const struct marks *m, enum gc_flags flags,
		       struct gc_report *r, struct err *e)
{
	cleanup_free char *dir = xasprintf("%s/content/blobs/sha256", ctx->path.root);
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : err_sys(e, "open %s", dir);
	while ((de = readdir(d))) {
		struct stat st;

		if (strlen(de->d_name) != DIGEST_HEX_LEN || marked(m, de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!(flags & GC_DRY_RUN) && unlinkat(dirfd(d), de->d_name, 0) < 0 &&
		    errno != ENOENT) {
			int saved = errno;

			closedir(d);
			return err_errno(e, saved, "remove %s/%s", dir, de->d_name);
		}
		report_add(r, "blob", xasprintf("sha256:%s", de->d_name), st.st_size);
	}
	closedir(d);
	return 0;
}

/* Partial downloads whose lock nobody holds: a killed pull's leftovers. */
static int sweep_ingests(const struct ctx *ctx, enum gc_flags flags, struct gc_report *r,
			 struct err *e)
{
	cleanup_free char *dir = xasprintf("%s/content/ingest", ctx->path.root);
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : err_sys(e, "open %s", dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		cleanup_free char *lockname = NULL, *path = NULL;
		cleanup_lock struct lock l = LOCK_INIT;
		struct err busy = ERR_INIT;
		struct stat st;

		if (de->d_name[0] == '.' || (len > 5 && strcmp(de->d_name + len - 5, ".lock") == 0))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		path = path_join(dir, de->d_name);
		lockname = xasprintf("%s.lock", path);
		if (lock_take(lockname, 0, &l, &busy) < 0)
			continue; /* a pull is writing it */
		if (!(flags & GC_DRY_RUN) && unlink(path) < 0 && errno != ENOENT) {
			int saved = errno;

			closedir(d);
			return err_errno(e, saved, "remove %s", path);
		}
		report_add(r, "ingest", xasprintf("content/ingest/%s", de->d_name), st.st_size);
	}
	closedir(d);
	return 0;
}

int gc_collect(const struct ctx *ctx, enum gc_flags flags, struct gc_report *out, struct err *e)
{
	cleanup_close int lease = lease_open(ctx, e);
	struct image_record *imgs = NULL;
	struct marks m = {0};
	struct snap_marks sm = {0};
	struct gc_report r = {0};
	size_t n = 0, skipped = 0, i;
	int rc = -1;

	if (lease < 0)
		return -1;
	if (flock(lease, LOCK_EX | LOCK_NB) < 0)
		return err_set(e, E_BUSY, "a pull is in progress; try again when it is done");
	if (image_record_list(ctx, &imgs, &n, &skipped, e) < 0)
		goto out;
	if (skipped) {
		err_set(e, E_CORRUPT,
			"%zu image record(s) under %s/images cannot be read; not collecting",
			skipped, ctx->path.root);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (mark_manifest(ctx, &m, &imgs[i].manifest, 0, e) < 0) {
			err_wrap(e, "image %s", imgs[i].name);
			goto out;
		}
	if (m.n)
		qsort(m.hex, m.n, sizeof(*m.hex), cmp_str);
	if (flags & GC_SNAPSHOTS) {
		for (i = 0; i < n; i++)
			if (snap_mark_image(ctx, &sm, &imgs[i].manifest, e) < 0) {
				err_wrap(e, "image %s", imgs[i].name);
				goto out;
			}
		if (snap_mark_containers(ctx, &sm, e) < 0 ||
		    sweep_snapshots(ctx, &sm, flags, &r, e) < 0)
			goto out;
	}
	if (sweep_blobs(ctx, &m, flags, &r, e) < 0)
		goto out;
	if ((flags & GC_INGESTS) && sweep_ingests(ctx, flags, &r, e) < 0)
		goto out;
	*out = r;
	r = (struct gc_report){0};
	rc = 0;
out:
	gc_report_release(&r);
	for (i = 0; i < m.n; i++)
		free(m.hex[i]);
	free(m.hex);
	free(sm.n);
	image_records_free(imgs, n);
	return rc;
}

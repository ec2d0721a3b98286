/* common/node/diag_store.c - the store check: the metadata layer's documents parse (image
 * records, container documents and states, snapshot metadata), no temp file of an interrupted
 * atomic write is left older than a minute, and with --deep every content blob hashes to its
 * name (DESIGN.md "The metadata layer on disk"; issue 8). Reads only, takes no lock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/node/diag.h"
#include "common/store/container_record.h"
#include "common/store/digest.h"
#include "common/store/doc.h"
#include "common/store/image_record.h"
#include "common/store/layout.h"
#include "common/util/buf.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

#define STALE_NS   (60 * NSEC_PER_SEC)
#define MAX_SHOWN  5

struct tally {
	size_t docs, bad, stale;
	struct buf bad_names, stale_names;
};

static void bad(struct tally *t, const char *path, const struct err *e)
{
	t->bad++;
	if (t->bad <= MAX_SHOWN)
		buf_printf(&t->bad_names, "%s%s (%s)", t->bad_names.len ? "; " : "", path, e->msg);
}

/* A temp file of fs_write_atomic ("<name>.tmp.<pid>.<hex>") or any "*.tmp" in dir, older than a
 * minute: its writer died mid-write. */
static void stale_in(const struct diag_env *env, struct tally *t, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (!strstr(de->d_name, ".tmp.") && !str_ends_with(de->d_name, ".tmp"))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (env->ctx->now_ns() - ((int64_t)st.st_mtim.tv_sec * NSEC_PER_SEC +
		                          st.st_mtim.tv_nsec) < STALE_NS)
			continue;
		t->stale++;
		if (t->stale <= MAX_SHOWN)
			buf_printf(&t->stale_names, "%s%s/%s", t->stale_names.len ? " " : "", dir,
			           de->d_name);
	}
	closedir(d);
}

/* The subdirectories of dir (names only), NULL-terminated; NULL when dir cannot be read. */
static char **subdirs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;

	if (!d)
		return NULL;
	v = xcalloc(1, sizeof(*v));
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	closedir(d);
	return v;
}

static void images(const struct diag_env *env, struct tally *t)
{
	cleanup_free char *dir = path_join(env->ctx->path.root, "images");
	DIR *d = opendir(dir);
	struct dirent *de;

	stale_in(env, t, dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		cleanup_free char *name = NULL, *path = NULL;
		struct json_object *o = NULL;
		struct image_record rec;
		struct err e = ERR_INIT;

		if (!str_ends_with(de->d_name, ".json"))
			continue;
		t->docs++;
		path = path_join(dir, de->d_name);
		if (doc_read(path, &o, &e) < 0) {
			if (e.code != E_NOTFOUND)
				bad(t, path, &e);
			continue;
		}
		json_object_put(o);
		name = store_name_decode(de->d_name);
		if (!name) {
			err_set(&e, E_INVALID, "not an encoded image name");
			bad(t, path, &e);
			continue;
		}
		if (image_record_load(env->ctx, name, &rec, &e) < 0) {
			if (e.code != E_NOTFOUND) /* removed meanwhile */
				bad(t, path, &e);
			continue;
		}
		image_record_release(&rec);
	}
	closedir(d);
}

static void containers(const struct diag_env *env, struct tally *t)
{
	cleanup_free char *rdir = path_join(env->ctx->path.root, "containers");
	cleanup_free char *sdir = path_join(env->ctx->path.state, "containers");
	cleanup_strv char **ids = subdirs(rdir);
	cleanup_strv char **sids = subdirs(sdir);

	for (size_t i = 0; ids && ids[i]; i++) {
		cleanup_free char *dir = path_join(rdir, ids[i]);
		cleanup_free char *path = path_join(dir, "container.json");
		struct container_doc doc;
		struct err e = ERR_INIT;

		stale_in(env, t, dir);
		if (!fs_exists(path))
			continue;
		t->docs++;
		if (container_doc_load(env->ctx, ids[i], &doc, &e) < 0) {
			if (e.code != E_NOTFOUND)
				bad(t, path, &e);
			continue;
		}
		container_doc_release(&doc);
	}
	for (size_t i = 0; sids && sids[i]; i++) {
		cleanup_free char *dir = path_join(sdir, sids[i]);
		cleanup_free char *path = path_join(dir, "state.json");
		struct container_state st;
		struct err e = ERR_INIT;

		stale_in(env, t, dir);
		if (!fs_exists(path))
			continue;
		t->docs++;
		if (container_state_load(env->ctx, sids[i], &st, &e) < 0 && e.code != E_NOTFOUND)
			bad(t, path, &e);
	}
}

static void snapshots(const struct diag_env *env, struct tally *t)
{
	cleanup_free char *dir = path_join(env->ctx->path.root, "snapshots");
	cleanup_strv char **ns = subdirs(dir);

	for (size_t i = 0; ns && ns[i]; i++) {
		cleanup_free char *sd = path_join(dir, ns[i]);
		cleanup_free char *path = path_join(sd, "meta.json");
		struct json_object *o = NULL;
		struct err e = ERR_INIT;

		stale_in(env, t, sd);
		if (!fs_exists(path)) /* being written, or garbage: not a document yet */
			continue;
		t->docs++;
		if (doc_read(path, &o, &e) < 0) {
			if (e.code != E_NOTFOUND)
				bad(t, path, &e);
			continue;
		}
		json_object_put(o);
	}
}

/* --deep: every blob hashes to its name. */
static void blobs(const struct diag_env *env, struct diag_result *r, struct tally *t)
{
	cleanup_free char *dir = path_join(env->ctx->path.root, "content/blobs/sha256");
	struct hasher *h = hasher_new();
	cleanup_free char *chunk = xmalloc(1 << 20);
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0, broken = 0;
	double bytes = 0;

	if (!d) {
		hasher_free(h);
		diag_num(r, "blobs_verified", 0);
		return;
	}
	while ((de = readdir(d))) {
		cleanup_close int fd = -1;
		struct digest got;
		ssize_t k;

		if (!str_is_hex(de->d_name) || strlen(de->d_name) != DIGEST_HEX_LEN)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		hasher_reset(h);
		while ((k = read(fd, chunk, 1 << 20)) > 0) {
			hasher_update(h, chunk, (size_t)k);
			bytes += (double)k;
		}
		hasher_final(h, &got);
		n++;
		if (k < 0 || strcmp(got.hex, de->d_name) != 0) {
			struct err e = ERR_INIT;
			cleanup_free char *path = path_join(dir, de->d_name);

			if (k < 0)
				err_sys(&e, "read");
			else
				err_set(&e, E_CORRUPT, "content hashes to sha256:%.12s", got.hex);
			bad(t, path, &e);
			broken++;
		}
	}
	closedir(d);
	hasher_free(h);
	diag_num(r, "blobs_verified", (double)n);
	diag_num(r, "blobs_corrupt", (double)broken);
	diag_num(r, "blob_bytes_hashed", bytes);
}

int diag_check_store(const struct diag_env *env, struct diag_result *r)
{
	struct tally t = {0};
	cleanup_free char *relist = path_join(env->ctx->path.state, "relist");
	cleanup_free char *diag = path_join(env->ctx->path.state, "diagnose");
	cleanup_free char *events = path_join(env->ctx->path.root, "events");

	buf_init(&t.bad_names);
	buf_init(&t.stale_names);
	if (!fs_exists(env->ctx->path.root)) {
		diag_set(r, DIAG_OK, NULL, NULL, "ROOT %s does not exist yet: nothing stored",
		         env->ctx->path.root);
		return 0;
	}
	stale_in(env, &t, env->ctx->path.root);
	stale_in(env, &t, events);
	stale_in(env, &t, relist);
	stale_in(env, &t, diag);
	images(env, &t);
	containers(env, &t);
	snapshots(env, &t);
	if (env->deep)
		blobs(env, r, &t);
	diag_num(r, "documents", (double)t.docs);
	diag_num(r, "unreadable", (double)t.bad);
	diag_num(r, "stale_temp_files", (double)t.stale);
	if (t.bad)
		diag_text(r, "unreadable_files", "%s", buf_str(&t.bad_names));
	if (t.stale)
		diag_text(r, "stale_files", "%s", buf_str(&t.stale_names));
	if (t.bad)
		diag_set(r, DIAG_FAIL, "StoreCorrupt",
		         "remove or repair the named files (an image can be pulled again, a container "
		         "removed with rm -f)",
		         "%zu unreadable: %s", t.bad, buf_str(&t.bad_names));
	else if (t.stale)
		diag_set(r, DIAG_WARN, "StaleTempFiles",
		         "a writer died mid-write: remove the named temp files",
		         "%zu temp file%s older than a minute", t.stale, t.stale == 1 ? "" : "s");
	else
		diag_set(r, DIAG_OK, NULL, NULL, "%zu documents parse%s", t.docs,
		         env->deep ? ", blobs verify" : "");
	buf_release(&t.bad_names);
	buf_release(&t.stale_names);
	return 0;
}

/* common/store/image_record.c - images/<name>.json, one document per pulled reference
 * (DESIGN.md "The metadata layer on disk": written atomically under its lock, read without one) */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/store/doc.h"
#include "common/store/image_record.h"
#include "common/store/layout.h"
#include "common/store/lock.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

#define IMAGE_LOCK_TIMEOUT_NS (5LL * 1000000000LL)

void image_record_release(struct image_record *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->media_type);
	free(r->platform);
	*r = (struct image_record){0};
}

static char *image_lock_path(const struct ctx *ctx, const char *name)
{
	cleanup_free char *enc = store_name_encode(name);

	return xasprintf("%s/images/%s.lock", ctx->path.root, enc);
}

static struct json_object *image_to_json(const struct image_record *r)
{
	struct json_object *o = json_object_new_object();
	char d[DIGEST_STR_LEN];

	jsonio_set_str(o, "name", r->name);
	digest_format(&r->manifest, d);
	jsonio_set_str(o, "manifest_digest", d);
	jsonio_set_str(o, "media_type", r->media_type);
	jsonio_set_str(o, "platform", r->platform);
	if (r->config.hex[0]) {
		digest_format(&r->config, d);
		jsonio_set_str(o, "config_digest", d);
	}
	jsonio_set_int(o, "size_bytes", r->size_bytes);
	jsonio_set_time(o, "created", r->created_ns);
	jsonio_set_time(o, "pulled", r->pulled_ns);
	return o;
}

static int image_from_json(struct json_object *o, struct image_record *out, struct err *e)
{
	const char *name = NULL, *manifest = NULL, *media = NULL, *platform = NULL, *config = NULL;
	struct image_record r = {0};

	if (jsonio_get_str(o, "name", true, &name, e) < 0 ||
	    jsonio_get_str(o, "manifest_digest", true, &manifest, e) < 0 ||
	    jsonio_get_str(o, "media_type", false, &media, e) < 0 ||
	    jsonio_get_str(o, "platform", false, &platform, e) < 0 ||
	    jsonio_get_str(o, "config_digest", false, &config, e) < 0 ||
	    jsonio_get_int(o, "size_bytes", false, &r.size_bytes, e) < 0 ||
	    jsonio_get_time(o, "created", false, &r.created_ns, e) < 0 ||
	    jsonio_get_time(o, "pulled", false, &r.pulled_ns, e) < 0)
		return -1;
	if (digest_parse(manifest, &r.manifest, e) < 0)
		return err_wrap(e, "manifest_digest");
	if (config && digest_parse(config, &r.config, e) < 0)
		return err_wrap(e, "config_digest");
	r.name = xstrdup(name);
	r.media_type = media ? xstrdup(media) : NULL;
	r.platform = platform ? xstrdup(platform) : NULL;
	*out = r;
	return 0;
}

int image_record_save(const struct ctx *ctx, const struct image_record *r, struct err *e)
{
	cleanup_json struct json_object *o = NULL;
	cleanup_free char *path = NULL, *lockpath = NULL;
	cleanup_lock struct lock l = LOCK_INIT;

	if (!r->name || !*r->name)
		return err_set(e, E_INVALID, "image record: no name");
	path = store_image_path(ctx, r->name);
	lockpath = image_lock_path(ctx, r->name);
	o = image_to_json(r);
	if (lock_take(lockpath, IMAGE_LOCK_TIMEOUT_NS, &l, e) < 0)
		return err_wrap(e, "image %s", r->name);
	if (doc_write(path, o, DOC_DURABLE, e) < 0)
		return err_wrap(e, "image %s", r->name);
	return 0;
}

static int image_load_path(const char *path, struct image_record *out, struct err *e)
{
	cleanup_json struct json_object *o = NULL;

	if (doc_read(path, &o, e) < 0)
		return -1;
	if (image_from_json(o, out, e) < 0) {
		e->code = E_CORRUPT;
		return err_wrap(e, "%s", path);
	}
	return 0;
}

int image_record_load(const struct ctx *ctx, const char *name, struct image_record *out,
                      struct err *e)
{
	cleanup_free char *path = store_image_path(ctx, name);
	struct image_record r = {0};

	if (image_load_path(path, &r, e) < 0) {
		if (e->code == E_NOTFOUND)
			return err_set(e, E_NOTFOUND, "image %s: not found", name);
		return -1;
	}
	if (strcmp(r.name, name) != 0) {
		err_set(e, E_CORRUPT, "%s: records image %s", path, r.name);
		image_record_release(&r);
		return -1;
	}
	*out = r;
	return 0;
}

int image_record_remove(const struct ctx *ctx, const char *name, struct err *e)
{
	cleanup_free char *path = store_image_path(ctx, name);
	cleanup_free char *lockpath = image_lock_path(ctx, name);
	cleanup_free char *dir = path_join(ctx->path.root, "images");
	cleanup_lock struct lock l = LOCK_INIT;

	if (lock_take(lockpath, IMAGE_LOCK_TIMEOUT_NS, &l, e) < 0)
		return err_wrap(e, "image %s", name);
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return err_set(e, E_NOTFOUND, "image %s: not found", name);
		return err_sys(e, "remove %s", path);
	}
	return fs_fsync_dir(dir, e);
}

void image_records_free(struct image_record *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		image_record_release(&v[i]);
	free(v);
}

static int image_cmp(const void *a, const void *b)
{
	const struct image_record *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int image_record_list(const struct ctx *ctx, struct image_record **out, size_t *n, size_t *skipped,
                      struct err *e)
{
	cleanup_free char *dir = path_join(ctx->path.root, "images");
	struct image_record *v = NULL;
	size_t count = 0, cap = 0, bad = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		if (errno != ENOENT)
			return err_sys(e, "open %s", dir);
	} else {
		while ((errno = 0, de = readdir(d))) {
			size_t len = strlen(de->d_name);
			cleanup_free char *enc = NULL, *name = NULL, *path = NULL;
			struct err ignored = ERR_INIT;
			struct image_record r = {0};

			if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
				continue;
			enc = xstrndup(de->d_name, len - 5);
			name = store_name_decode(enc);
			path = path_join(dir, de->d_name);
			if (!name || image_load_path(path, &r, &ignored) < 0) {
				bad++;
				continue;
			}
			if (!r.name || strcmp(r.name, name) != 0) {
				image_record_release(&r);
				bad++;
				continue;
			}
			if (count == cap) {
				cap = cap ? cap * 2 : 8;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[count++] = r;
		}
		if (errno) {
			int saved = errno;

			closedir(d);
			image_records_free(v, count);
			return err_errno(e, saved, "read %s", dir);
		}
		closedir(d);
	}
	if (count)
		qsort(v, count, sizeof(*v), image_cmp);
	*out = v;
	*n = count;
	if (skipped)
		*skipped = bad;
	return 0;
}

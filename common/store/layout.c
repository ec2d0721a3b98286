/* common/store/layout.c - the two roots, their fixed directories and every path in them
 * (DESIGN.md "The metadata layer on disk") */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/store/layout.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

struct store_dir {
	const char *sub;
	mode_t mode;
};

static const struct store_dir root_dirs[] = {
    {"content", 0755},        {"content/blobs", 0755}, {"content/blobs/sha256", 0755},
    {"content/ingest", 0755}, {"images", 0755},        {"snapshots", 0755},
    {"containers", 0700},     {"events", 0700},
};

static const struct store_dir state_dirs[] = {
    {"containers", 0700},
    {"relist", 0700},
    {"running", 0700},
};

/* Creates dir with exactly mode when missing (mkdir is subject to the umask); an existing
 * directory is left as it is. */
static int make_dir(const char *path, mode_t mode, struct err *e)
{
	struct stat st;

	if (mkdir(path, mode) == 0) {
		if (chmod(path, mode) < 0)
			return err_sys(e, "chmod %s", path);
		return 0;
	}
	if (errno != EEXIST)
		return err_sys(e, "mkdir %s", path);
	if (lstat(path, &st) < 0)
		return err_sys(e, "stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, E_INVALID, "%s: not a directory", path);
	return 0;
}

/* Creates a root when missing and checks that it is safe to keep metadata in. */
static int root_check(const char *path, struct err *e)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return err_sys(e, "stat %s", path);
		if (fs_mkdir_p(path, 0711, e) < 0)
			return -1;
		if (chmod(path, 0711) < 0)
			return err_sys(e, "chmod %s", path);
		if (lstat(path, &st) < 0)
			return err_sys(e, "stat %s", path);
	}
	if (S_ISLNK(st.st_mode))
		return err_set(e, E_PERM, "%s: is a symbolic link", path);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, E_PERM, "%s: not a directory", path);
	if (st.st_uid != geteuid())
		return err_set(e, E_PERM, "%s: owned by uid %u, not %u", path, (unsigned)st.st_uid,
		               (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, E_PERM, "%s: group or world writable (mode %04o)", path,
		               (unsigned)(st.st_mode & 07777));
	return 0;
}

static int root_init(const char *root, const struct store_dir *dirs, size_t n, struct err *e)
{
	size_t i;

	if (!root || !*root)
		return err_set(e, E_INVALID, "store: empty root path");
	if (root_check(root, e) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		cleanup_free char *p = path_join(root, dirs[i].sub);

		if (make_dir(p, dirs[i].mode, e) < 0)
			return -1;
	}
	return 0;
}

int store_init(const struct ctx *ctx, struct err *e)
{
	if (root_init(ctx->path.root, root_dirs, ARRAY_SIZE(root_dirs), e) < 0)
		return -1;
	return root_init(ctx->path.state, state_dirs, ARRAY_SIZE(state_dirs), e);
}

char *store_blob_path(const struct ctx *ctx, const char *hex)
{
	return xasprintf("%s/content/blobs/sha256/%s", ctx->path.root, hex);
}

char *store_ingest_path(const struct ctx *ctx, const char *hex)
{
	return xasprintf("%s/content/ingest/sha256-%s", ctx->path.root, hex);
}

char *store_image_path(const struct ctx *ctx, const char *name)
{
	cleanup_free char *enc = store_name_encode(name);

	return xasprintf("%s/images/%s.json", ctx->path.root, enc);
}

char *store_container_dir(const struct ctx *ctx, const char *id)
{
	return xasprintf("%s/containers/%s", ctx->path.root, id);
}

char *store_container_state_dir(const struct ctx *ctx, const char *id)
{
	return xasprintf("%s/containers/%s", ctx->path.state, id);
}

char *store_events_dir(const struct ctx *ctx)
{
	return path_join(ctx->path.root, "events");
}

char *store_relist_dir(const struct ctx *ctx)
{
	return path_join(ctx->path.state, "relist");
}

char *store_running_dir(const struct ctx *ctx)
{
	return path_join(ctx->path.state, "running");
}

char *store_snapshots_dir(const struct ctx *ctx)
{
	return path_join(ctx->path.root, "snapshots");
}

static bool name_plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

char *store_name_encode(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(name), i, o = 0;
	char *out = xmalloc(len * 3 + 1);

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (name_plain(c) && !(i == 0 && c == '.')) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

static int hex_upper_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Only the canonical encoding decodes, so encode(decode(x)) == x for every accepted x. */
char *store_name_decode(const char *file)
{
	size_t len = strlen(file), i, o = 0;
	cleanup_free char *out = xmalloc(len + 1);

	if (len == 0)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)file[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return NULL;
			hi = hex_upper_val(file[i + 1]);
			lo = hi < 0 ? -1 : hex_upper_val(file[i + 2]);
			if (hi < 0 || lo < 0)
				return NULL;
			c = (unsigned char)(hi << 4 | lo);
			if (c == '\0' || (name_plain(c) && !(o == 0 && c == '.')))
				return NULL;
			out[o++] = (char)c;
			i += 2;
		} else if (name_plain(c) && !(i == 0 && c == '.')) {
			out[o++] = (char)c;
		} else {
			return NULL;
		}
	}
	out[o] = '\0';
	return TAKE_PTR(out);
}

int store_id_valid(const char *id)
{
	size_t i;

	if (!id)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[64] == '\0';
}

/* tests/unit/test_layer.c - layer application (DESIGN.md "unpack"): every tar feature a layer
 * uses lands as the image says, through gzip (one and several members), zstd and plain tar, the
 * diff_id is the digest of the uncompressed stream, and a hostile-layer suite built here with
 * libarchive's writer proves each escape is contained or refused while nothing outside the
 * target directory changes. */
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <archive.h>
#include <archive_entry.h>

#include "tests/unit/unit.h"
#include "common/image/layer.h"
#include "common/store/digest.h"
#include "common/util/buf.h"

/* ---- building layers ---- */

enum tb_comp { TB_NONE, TB_GZIP, TB_ZSTD };

struct tb {
	struct archive *a;
	struct buf out;
};

static la_ssize_t tb_write_cb(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct buf *b = arg;
	(void)a;
	buf_add(b, buf, n);
	return (la_ssize_t)n;
}

static struct tb *tb_new(enum tb_comp comp, bool gnu)
{
	struct tb *t = xcalloc(1, sizeof(*t));

	t->a = archive_write_new();
	assert_int_equal(gnu ? archive_write_set_format_gnutar(t->a)
	                     : archive_write_set_format_pax_restricted(t->a),
	                 ARCHIVE_OK);
	if (comp == TB_GZIP)
		assert_int_equal(archive_write_add_filter_gzip(t->a), ARCHIVE_OK);
	if (comp == TB_ZSTD)
		assert_int_equal(archive_write_add_filter_zstd(t->a), ARCHIVE_OK);
	/* No zero padding after the compressed stream: it would read as trailing garbage. */
	archive_write_set_bytes_in_last_block(t->a, 1);
	assert_int_equal(archive_write_open(t->a, &t->out, NULL, tb_write_cb, NULL), ARCHIVE_OK);
	return t;
}

static struct archive_entry *tb_entry(const char *name, mode_t type, mode_t perm)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, perm);
	archive_entry_set_mtime(ae, 1600000000, 0);
	return ae;
}

static void tb_put(struct tb *t, struct archive_entry *ae, const char *data)
{
	size_t n = data ? strlen(data) : 0;

	if (data)
		archive_entry_set_size(ae, (la_int64_t)n);
	assert_int_equal(archive_write_header(t->a, ae), ARCHIVE_OK);
	if (n)
		assert_int_equal(archive_write_data(t->a, data, n), (la_ssize_t)n);
	archive_entry_free(ae);
}

static void tb_file(struct tb *t, const char *name, const char *data)
{
	tb_put(t, tb_entry(name, AE_IFREG, 0644), data);
}

static void tb_dir(struct tb *t, const char *name)
{
	tb_put(t, tb_entry(name, AE_IFDIR, 0755), NULL);
}

static void tb_symlink(struct tb *t, const char *name, const char *target)
{
	struct archive_entry *ae = tb_entry(name, AE_IFLNK, 0777);

	archive_entry_set_symlink(ae, target);
	tb_put(t, ae, NULL);
}

static void tb_hardlink(struct tb *t, const char *name, const char *target)
{
	struct archive_entry *ae = tb_entry(name, AE_IFREG, 0644);

	archive_entry_set_hardlink(ae, target);
	archive_entry_set_size(ae, 0);
	tb_put(t, ae, NULL);
}

/* Finishes the archive; the caller frees the bytes. */
static char *tb_finish(struct tb *t, size_t *len)
{
	char *data;

	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
	*len = t->out.len;
	data = t->out.data;
	free(t);
	return data;
}

/* Compresses bytes as one gzip member (libarchive's raw format with the gzip filter). */
static char *gzip_bytes(const char *data, size_t len, size_t *out_len)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	struct buf out = BUF_INIT;

	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open(a, &out, NULL, tb_write_cb, NULL), ARCHIVE_OK);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_size(ae, (la_int64_t)len);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	if (len)
		assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_entry_free(ae);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*out_len = out.len;
	return out.data;
}

static int blob_fd(const char *data, size_t len)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* ---- the scene: DIR/target receives the layer, DIR/outside must never change ---- */

struct scene {
	struct unit_env *u;
	char *target, *outside;
	int dfd;
};

static struct scene *scene_new(void)
{
	struct scene *s = xcalloc(1, sizeof(*s));
	struct err e = ERR_INIT;
	cleanup_free char *secret = NULL;

	s->u = unit_env_new();
	s->target = xasprintf("%s/target", s->u->dir);
	s->outside = xasprintf("%s/outside", s->u->dir);
	assert_int_equal(mkdir(s->target, 0755), 0);
	assert_int_equal(mkdir(s->outside, 0755), 0);
	secret = xasprintf("%s/secret", s->outside);
	assert_int_equal(fs_write_atomic(secret, "keep", 4, 0644, 0, &e), 0);
	s->dfd = open(s->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(s->dfd >= 0);
	return s;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	const struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Nothing outside the target changed: outside/ holds only secret = "keep", and the scratch
 * directory holds only target/ and outside/. */
static void assert_outside_intact(const struct scene *s)
{
	cleanup_free char *secret = xasprintf("%s/secret", s->outside);
	cleanup_free char *data = NULL;
	struct err e = ERR_INIT;
	size_t len;

	assert_int_equal(fs_read_file(secret, 64, &data, &len, &e), 0);
	assert_string_equal(data, "keep");
	assert_int_equal(count_entries(s->outside), 1);
	assert_int_equal(count_entries(s->u->dir), 2);
}

static void scene_free(struct scene *s)
{
	close(s->dfd);
	free(s->target);
	free(s->outside);
	unit_env_free(s->u);
	free(s);
}

static int apply_bytes(struct scene *s, const char *data, size_t len, unsigned flags,
                       struct layer_result *res, struct err *e)
{
	struct layer_opts o = {.flags = flags};
	cleanup_close int fd = blob_fd(data, len);

	return layer_apply(fd, s->dfd, &o, res, e);
}

static int apply_tb(struct scene *s, struct tb *t, unsigned flags, struct err *e)
{
	struct layer_result res;
	size_t len;
	cleanup_free char *data = tb_finish(t, &len);

	return apply_bytes(s, data, len, flags, &res, e);
}

static char *read_in(const struct scene *s, const char *rel)
{
	cleanup_free char *p = xasprintf("%s/%s", s->target, rel);
	char *data = NULL;
	size_t len;
	struct err e = ERR_INIT;

	if (fs_read_file(p, 1 << 20, &data, &len, &e) < 0)
		return NULL;
	return data;
}

static mode_t type_in(const struct scene *s, const char *rel)
{
	cleanup_free char *p = xasprintf("%s/%s", s->target, rel);
	struct stat st;

	if (lstat(p, &st) < 0)
		return 0;
	return st.st_mode & S_IFMT;
}

static bool is_root(void)
{
	return geteuid() == 0;
}

/* ---- what a layer may contain ---- */

static void build_features(struct tb *t)
{
	struct archive_entry *ae;
	char longname[300];

	tb_dir(t, "./");
	tb_dir(t, "etc/");
	tb_file(t, "etc/hostname", "box\n");
	ae = tb_entry("bin/su", AE_IFREG, 04755); /* parent bin/ implicit */
	archive_entry_set_uid(ae, 1000);
	archive_entry_set_gid(ae, 1001);
	tb_put(t, ae, "#!/bin/sh\n");
	ae = tb_entry("bin/ping", AE_IFREG, 0755);
	archive_entry_xattr_add_entry(ae, "security.capability",
	                              "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00"
	                              "\x00\x00\x00\x00\x00\x00",
	                              20);
	archive_entry_xattr_add_entry(ae, "user.note", "hi", 2);
	archive_entry_xattr_add_entry(ae, "trusted.overlay.opaque", "y", 1);
	tb_put(t, ae, "ping");
	tb_symlink(t, "bin/sh", "/bin/busybox");
	tb_hardlink(t, "etc/hostname2", "etc/hostname");
	ae = tb_entry("dev/null", AE_IFCHR, 0666);
	archive_entry_set_rdevmajor(ae, 1);
	archive_entry_set_rdevminor(ae, 3);
	tb_put(t, ae, NULL);
	tb_put(t, tb_entry("run/fifo", AE_IFIFO, 0600), NULL);
	ae = tb_entry("tmp/", AE_IFDIR, 01777);
	archive_entry_set_mtime(ae, 1500000000, 0);
	tb_put(t, ae, NULL);
	memset(longname, 'n', sizeof(longname));
	memcpy(longname, "long/", 5);
	longname[150] = '/';
	longname[sizeof(longname) - 1] = '\0';
	tb_file(t, longname, "long");
	tb_file(t, "caf\xc3\xa9", "utf8");
}

static void check_features(const struct scene *s, bool xattrs)
{
	cleanup_free char *p = xasprintf("%s/bin/su", s->target);
	cleanup_free char *ping = xasprintf("%s/bin/ping", s->target);
	cleanup_free char *tmp = xasprintf("%s/tmp", s->target);
	cleanup_free char *host = xasprintf("%s/etc/hostname", s->target);
	cleanup_free char *host2 = xasprintf("%s/etc/hostname2", s->target);
	cleanup_free char *data = read_in(s, "etc/hostname");
	cleanup_free char *cafe = read_in(s, "caf\xc3\xa9");
	char lnk[64] = {0}, val[64];
	struct stat st, st2;
	char longname[300];

	assert_string_equal(data, "box\n");
	assert_string_equal(cafe, "utf8");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	if (is_root()) {
		assert_int_equal(st.st_uid, 1000);
		assert_int_equal(st.st_gid, 1001);
	}
	if (is_root() && xattrs) /* GNU format has no xattrs */
		assert_int_equal(getxattr(ping, "security.capability", val, sizeof(val)), 20);
	if (xattrs)
		assert_int_equal(getxattr(ping, "user.note", val, sizeof(val)), 2);
	assert_int_equal(getxattr(ping, "trusted.overlay.opaque", val, sizeof(val)), -1);
	assert_int_equal(st.st_mtime, 1600000000);
	p[strlen(p) - 2] = 's';
	p[strlen(p) - 1] = 'h';
	assert_int_equal(readlink(p, lnk, sizeof(lnk) - 1), 12);
	assert_string_equal(lnk, "/bin/busybox");
	assert_int_equal(stat(host, &st), 0);
	assert_int_equal(stat(host2, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(type_in(s, "run/fifo"), S_IFIFO);
	if (is_root()) {
		cleanup_free char *dn = xasprintf("%s/dev/null", s->target);

		assert_int_equal(lstat(dn, &st), 0);
		assert_true(S_ISCHR(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(1, 3));
	}
	assert_int_equal(lstat(tmp, &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
	assert_int_equal(st.st_mtime, 1500000000); /* set after tmp/ was written into: last */
	memset(longname, 'n', sizeof(longname));
	memcpy(longname, "long/", 5);
	longname[150] = '/';
	longname[sizeof(longname) - 1] = '\0';
	{
		cleanup_free char *l = read_in(s, longname);

		assert_string_equal(l, "long");
	}
}

static void features_with(enum tb_comp comp, bool gnu)
{
	struct scene *s = scene_new();
	struct tb *plain = tb_new(TB_NONE, gnu), *t = tb_new(comp, gnu);
	size_t plen, len;
	cleanup_free char *tar = NULL;
	cleanup_free char *data = NULL;
	struct layer_result res;
	struct digest want;
	struct err e = ERR_INIT;

	build_features(plain);
	build_features(t);
	tar = tb_finish(plain, &plen);
	data = tb_finish(t, &len);
	digest_of(tar, plen, &want);
	if (apply_bytes(s, data, len, 0, &res, &e) < 0)
		fail_msg("%s", e.msg);
	assert_true(digest_equal(&res.diff_id, &want));
	assert_int_equal(res.bytes, (int64_t)plen);
	assert_int_equal(res.entries, 12);
	check_features(s, !gnu);
	assert_outside_intact(s);
	scene_free(s);
}

static void test_features_plain(void **state)
{
	(void)state;
	features_with(TB_NONE, false);
	features_with(TB_NONE, true); /* GNU long names instead of PAX */
}

static void test_features_gzip(void **state)
{
	(void)state;
	features_with(TB_GZIP, false);
}

static void test_features_zstd(void **state)
{
	(void)state;
	features_with(TB_ZSTD, false);
}

/* Two gzip members back to back, then zero padding: one stream, as gzip -dc reads it. */
static void test_gzip_multi_member(void **state)
{
	struct scene *s = scene_new();
	struct tb *t = tb_new(TB_NONE, false);
	size_t len, l1, l2;
	cleanup_free char *tar = NULL;
	cleanup_free char *g1 = NULL;
	cleanup_free char *g2 = NULL;
	struct buf both = BUF_INIT;
	struct layer_result res;
	struct digest want;
	struct err e = ERR_INIT;
	(void)state;
	build_features(t);
	tar = tb_finish(t, &len);
	g1 = gzip_bytes(tar, 3000, &l1);
	g2 = gzip_bytes(tar + 3000, len - 3000, &l2);
	buf_add(&both, g1, l1);
	buf_add(&both, g2, l2);
	buf_add(&both, "\0\0\0\0", 4);
	digest_of(tar, len, &want);
	if (apply_bytes(s, both.data, both.len, 0, &res, &e) < 0)
		fail_msg("%s", e.msg);
	assert_true(digest_equal(&res.diff_id, &want));
	check_features(s, true);
	buf_release(&both);
	scene_free(s);
}

/* ---- the hostile-layer suite ---- */

static void test_dotdot_contained(void **state)
{
	struct scene *s = scene_new();
	struct tb *t = tb_new(TB_NONE, false);
	struct err e = ERR_INIT;
	cleanup_free char *got = NULL;
	(void)state;
	tb_file(t, "../../outside/secret", "pwned");
	tb_file(t, "a/../../../outside/x", "pwned");
	assert_int_equal(apply_tb(s, t, 0, &e), 0);
	got = read_in(s, "outside/secret");
	assert_string_equal(got, "pwned"); /* landed inside */
	assert_int_equal(type_in(s, "outside/x"), S_IFREG);
	assert_outside_intact(s);
	scene_free(s);
}

static void test_absolute_contained(void **state)
{
	struct scene *s = scene_new();
	struct tb *t = tb_new(TB_NONE, false);
	struct err e = ERR_INIT;
	cleanup_free char *abs = xasprintf("%s/secret", s->outside);
	cleanup_free char *inside = NULL;
	(void)state;
	tb_file(t, abs, "pwned");
	assert_int_equal(apply_tb(s, t, 0, &e), 0);
	inside = read_in(s, abs + 1);
	assert_string_equal(inside, "pwned");
	assert_outside_intact(s);
	scene_free(s);
}

/* A symlink in a parent path is never followed: refused, whether it points inside, outside or
 * nowhere, with openat2 and without. */
static void test_symlink_parent(void **state)
{
	static const struct {
		const char *target; /* NULL: the real outside directory, absolute */
		unsigned flags;
	} cases[] = {{"../../..", 0},
	             {"..", 0},
	             {"/", 0},
	             {NULL, 0},
	             {"nowhere", 0},
	             {"..", LAYER_NO_OPENAT2},
	             {NULL, LAYER_NO_OPENAT2}};
	size_t i;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct scene *s = scene_new();
		struct tb *t = tb_new(TB_NONE, false);
		struct err e = ERR_INIT;

		tb_symlink(t, "up", cases[i].target ? cases[i].target : s->outside);
		tb_file(t, "up/secret", "pwned");
		assert_int_equal(apply_tb(s, t, cases[i].flags, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_non_null(strstr(e.msg, "entry \"up/secret\""));
		assert_non_null(strstr(e.msg, "refused: parent up is a symlink"));
		assert_int_equal(type_in(s, "secret"), 0);
		assert_outside_intact(s);
		scene_free(s);
	}
}

/* A symlink, then a regular file of the same name: the symlink is replaced, not written
 * through. */
static void test_symlink_then_write(void **state)
{
	struct scene *s = scene_new();
	struct tb *t = tb_new(TB_NONE, false);
	struct err e = ERR_INIT;
	cleanup_free char *abs = xasprintf("%s/secret", s->outside);
	cleanup_free char *got = NULL;
	(void)state;
	tb_symlink(t, "evil", abs);
	tb_file(t, "evil", "pwned");
	tb_symlink(t, "evil2", abs);
	tb_dir(t, "evil2");
	tb_file(t, "evil2/x", "pwned");
	assert_int_equal(apply_tb(s, t, 0, &e), 0);
	assert_int_equal(type_in(s, "evil"), S_IFREG);
	got = read_in(s, "evil");
	assert_string_equal(got, "pwned");
	assert_int_equal(type_in(s, "evil2"), S_IFDIR);
	assert_outside_intact(s);
	scene_free(s);
}

static void test_hardlink_escapes(void **state)
{
	struct err e = ERR_INIT;
	(void)state;
	{ /* to a path outside, relative */
		struct scene *s = scene_new();
		struct tb *t = tb_new(TB_NONE, false);

		tb_hardlink(t, "h", "../outside/secret");
		assert_int_equal(apply_tb(s, t, 0, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_non_null(strstr(e.msg, "not in this layer"));
		assert_outside_intact(s);
		scene_free(s);
	}
	{ /* to a path outside, absolute */
		struct scene *s = scene_new();
		struct tb *t = tb_new(TB_NONE, false);
		cleanup_free char *abs = xasprintf("%s/secret", s->outside);

		tb_hardlink(t, "h", abs);
		assert_int_equal(apply_tb(s, t, 0, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_outside_intact(s);
		scene_free(s);
	}
	{ /* through a symlink pointing out */
		struct scene *s = scene_new();
		struct tb *t = tb_new(TB_NONE, false);

		tb_symlink(t, "s", s->outside);
		tb_hardlink(t, "h", "s/secret");
		assert_int_equal(apply_tb(s, t, 0, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_outside_intact(s);
		scene_free(s);
	}
	{ /* through a symlink that stays inside: refused all the same */
		struct scene *s = scene_new();
		struct tb *t = tb_new(TB_NONE, false);

		tb_file(t, "f", "data");
		tb_symlink(t, "s", "/");
		tb_hardlink(t, "h", "s/f");
		assert_int_equal(apply_tb(s, t, 0, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_non_null(strstr(e.msg, "parent s is a symlink"));
		assert_int_equal(type_in(s, "h"), 0);
		assert_outside_intact(s);
		scene_free(s);
	}
	{ /* to a file of a lower layer: refused in snapshot mode */
		struct scene *s = scene_new();
		struct tb *t = tb_new(TB_NONE, false);

		tb_hardlink(t, "bin/sh", "bin/busybox");
		assert_int_equal(apply_tb(s, t, 0, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_non_null(
		    strstr(e.msg, "hardlink target \"bin/busybox\" is not in this layer"));
		scene_free(s);
	}
}

static void test_whiteout_names(void **state)
{
	struct err e = ERR_INIT;
	(void)state;
	if (!is_root())
		skip();
	{ /* traversal is cleaned: the whiteout lands at the top of the target */
		struct scene *s = scene_new();
		struct tb *t = tb_new(TB_NONE, false);

		tb_file(t, "../../.wh.outside", NULL);
		assert_int_equal(apply_tb(s, t, 0, &e), 0);
		assert_int_equal(type_in(s, "outside"), S_IFCHR);
		assert_outside_intact(s);
		scene_free(s);
	}
	{
		struct scene *s = scene_new();
		struct tb *t = tb_new(TB_NONE, false);

		tb_file(t, "a/.wh...", NULL);
		assert_int_equal(apply_tb(s, t, 0, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_non_null(strstr(e.msg, "refused: whiteout of \"..\""));
		assert_outside_intact(s);
		scene_free(s);
	}
	{ /* flattened: a whiteout that traverses deletes nothing outside */
		struct scene *s = scene_new();
		struct tb *t = tb_new(TB_NONE, false);

		tb_file(t, "../.wh.outside", NULL);
		tb_file(t, "../../.wh.secret", NULL);
		assert_int_equal(apply_tb(s, t, LAYER_APPLY_WHITEOUTS, &e), 0);
		assert_outside_intact(s);
		assert_int_equal(count_entries(s->target), 0);
		scene_free(s);
	}
}

static void test_truncated(void **state)
{
	struct tb *t = tb_new(TB_NONE, false);
	struct tb *g = tb_new(TB_GZIP, false);
	size_t len, glen;
	cleanup_free char *tar = NULL;
	cleanup_free char *gz = NULL;
	char big[20000];
	struct layer_result res;
	struct err e = ERR_INIT;
	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tb_file(t, "big", big);
	tb_file(g, "big", big);
	tar = tb_finish(t, &len);
	gz = tb_finish(g, &glen);
	{
		struct scene *s = scene_new();

		assert_int_equal(apply_bytes(s, tar, 5000, 0, &res, &e), -1);
		assert_int_equal(e.code, E_CORRUPT);
		assert_outside_intact(s);
		scene_free(s);
	}
	{
		struct scene *s = scene_new();

		assert_int_equal(apply_bytes(s, gz, glen / 2, 0, &res, &e), -1);
		assert_int_equal(e.code, E_CORRUPT);
		assert_non_null(strstr(e.msg, "gzip"));
		scene_free(s);
	}
	{ /* a flipped byte in the gzip body: crc or deflate error, never a silent success */
		struct scene *s = scene_new();

		gz[glen - 6] ^= 0x55;
		assert_int_equal(apply_bytes(s, gz, glen, 0, &res, &e), -1);
		assert_int_equal(e.code, E_CORRUPT);
		scene_free(s);
	}
}

static void test_bomb_bounded(void **state)
{
	struct scene *s = scene_new();
	size_t n = 64 << 20, glen;
	char *zeros = xcalloc(1, n);
	cleanup_free char *gz = gzip_bytes(zeros, n, &glen);
	struct layer_opts o = {.max_bytes = 1 << 20};
	struct layer_result res;
	struct err e = ERR_INIT;
	cleanup_close int fd = blob_fd(gz, glen);
	(void)state;
	free(zeros);
	assert_true(glen < (size_t)(1 << 20)); /* 64 MiB of zeros in well under 1 MiB */
	assert_int_equal(layer_apply(fd, s->dfd, &o, &res, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "decompression bomb"));
	assert_outside_intact(s);
	scene_free(s);
}

/* Duplicates: the last entry wins, whatever the types. */
static void test_duplicates(void **state)
{
	struct scene *s = scene_new();
	struct tb *t = tb_new(TB_NONE, false);
	struct err e = ERR_INIT;
	cleanup_free char *a = NULL;
	cleanup_free char *dx = NULL;
	(void)state;
	tb_file(t, "a", "one");
	tb_file(t, "a", "two");
	tb_dir(t, "d");
	tb_file(t, "d/x", "in d");
	tb_file(t, "d", "d is a file");
	tb_dir(t, "d");
	tb_file(t, "d/y", "y");
	tb_symlink(t, "l", "a");
	tb_file(t, "l", "l is a file");
	/* Replacements under a cached parent directory, and of a symlink parents went through. */
	tb_dir(t, "p/");
	tb_dir(t, "p/d/");
	tb_file(t, "p/d/x", "x");
	tb_file(t, "p/f", "f");
	tb_file(t, "p/d", "p/d is a file");
	tb_file(t, "p/g", "g");
	tb_dir(t, "x/");
	tb_file(t, "x/in-x", "x");
	tb_symlink(t, "q", "x");
	tb_dir(t, "q/");
	tb_file(t, "q/in-q", "in the real q");
	assert_int_equal(apply_tb(s, t, 0, &e), 0);
	assert_int_equal(type_in(s, "p/d"), S_IFREG);
	assert_int_equal(type_in(s, "p/g"), S_IFREG);
	assert_int_equal(type_in(s, "x/in-x"), S_IFREG);
	assert_int_equal(type_in(s, "q"), S_IFDIR);
	assert_int_equal(type_in(s, "q/in-q"), S_IFREG);
	assert_int_equal(type_in(s, "x/in-q"), 0);
	a = read_in(s, "a");
	assert_string_equal(a, "two");
	assert_int_equal(type_in(s, "d"), S_IFDIR);
	assert_int_equal(type_in(s, "d/x"), 0);
	dx = read_in(s, "d/y");
	assert_string_equal(dx, "y");
	assert_int_equal(type_in(s, "l"), S_IFREG);
	assert_outside_intact(s);
	scene_free(s);
}

static void test_overlay_whiteouts(void **state)
{
	struct scene *s = scene_new();
	struct tb *t = tb_new(TB_NONE, false);
	struct err e = ERR_INIT;
	cleanup_free char *opq = NULL;
	cleanup_free char *wh = NULL;
	char v[4];
	struct stat st;
	(void)state;
	if (!is_root()) {
		scene_free(s);
		skip();
	}
	tb_dir(t, "etc");
	tb_file(t, "etc/.wh.passwd", NULL);
	tb_dir(t, "var");
	tb_file(t, "var/.wh..wh..opq", NULL);
	tb_file(t, "var/kept", "k");
	tb_file(t, "same", "here"); /* a whiteout hides lower layers only */
	tb_file(t, ".wh.same", NULL);
	tb_file(t, "deep/er/.wh.gone", NULL);
	assert_int_equal(apply_tb(s, t, 0, &e), 0);
	wh = xasprintf("%s/etc/passwd", s->target);
	assert_int_equal(lstat(wh, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	opq = xasprintf("%s/var", s->target);
	assert_int_equal(getxattr(opq, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'y');
	assert_int_equal(type_in(s, "var/kept"), S_IFREG);
	assert_int_equal(type_in(s, "same"), S_IFREG);
	assert_int_equal(type_in(s, "deep/er/gone"), S_IFCHR);
	assert_int_equal(type_in(s, ".wh.same"), 0);
	assert_outside_intact(s);
	scene_free(s);
}

/* Flattened (--to): layers in order into one directory, whiteouts applied by deletion, a
 * directory replaced by a file and back again. */
static void test_flattened_layers(void **state)
{
	struct scene *s = scene_new();
	struct err e = ERR_INIT;
	struct tb *t;
	cleanup_free char *z = NULL;
	(void)state;
	t = tb_new(TB_NONE, false);
	tb_dir(t, "a");
	tb_file(t, "a/x", "x");
	tb_file(t, "a/y", "y");
	tb_dir(t, "a/sub");
	tb_file(t, "a/sub/old", "old");
	tb_file(t, "b", "b");
	tb_dir(t, "d");
	tb_file(t, "d/old", "old");
	tb_file(t, "bin/busybox", "bb");
	assert_int_equal(apply_tb(s, t, LAYER_APPLY_WHITEOUTS, &e), 0);
	t = tb_new(TB_NONE, false);
	tb_dir(t, "a/sub");
	tb_file(t, "a/z", "z");
	tb_file(t, "a/sub/new", "new");
	tb_file(t, "a/.wh..wh..opq", NULL); /* after this layer's own a/z: z stays */
	tb_file(t, ".wh.b", NULL);
	tb_file(t, "d", "now a file");
	tb_hardlink(t, "bin/sh", "bin/busybox"); /* lower layer's file: fine when flattened */
	assert_int_equal(apply_tb(s, t, LAYER_APPLY_WHITEOUTS, &e), 0);
	assert_int_equal(type_in(s, "a/x"), 0);
	assert_int_equal(type_in(s, "a/y"), 0);
	assert_int_equal(type_in(s, "a/sub/old"), 0);
	assert_int_equal(type_in(s, "a/sub/new"), S_IFREG);
	z = read_in(s, "a/z");
	assert_string_equal(z, "z");
	assert_int_equal(type_in(s, "b"), 0);
	assert_int_equal(type_in(s, "d"), S_IFREG);
	assert_int_equal(type_in(s, "bin/sh"), S_IFREG);
	t = tb_new(TB_NONE, false);
	tb_dir(t, "d");
	tb_file(t, "d/new", "new");
	assert_int_equal(apply_tb(s, t, LAYER_APPLY_WHITEOUTS, &e), 0);
	assert_int_equal(type_in(s, "d"), S_IFDIR);
	assert_int_equal(type_in(s, "d/old"), 0);
	assert_int_equal(type_in(s, "d/new"), S_IFREG);
	assert_outside_intact(s);
	scene_free(s);
}

static void test_not_a_tar(void **state)
{
	struct scene *s = scene_new();
	struct layer_result res;
	struct err e = ERR_INIT;
	char junk[2048];
	(void)state;
	memset(junk, 'j', sizeof(junk));
	assert_int_equal(apply_bytes(s, junk, sizeof(junk), 0, &res, &e), -1);
	assert_int_equal(e.code, E_CORRUPT);
	/* An empty blob is an empty layer. */
	assert_int_equal(apply_bytes(s, junk, 0, 0, &res, &e), 0);
	assert_int_equal(res.entries, 0);
	scene_free(s);
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8"); /* the writer converts names to UTF-8 for PAX */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_features_plain),   cmocka_unit_test(test_features_gzip),
	    cmocka_unit_test(test_features_zstd),    cmocka_unit_test(test_gzip_multi_member),
	    cmocka_unit_test(test_dotdot_contained), cmocka_unit_test(test_absolute_contained),
	    cmocka_unit_test(test_symlink_parent),   cmocka_unit_test(test_symlink_then_write),
	    cmocka_unit_test(test_hardlink_escapes), cmocka_unit_test(test_whiteout_names),
	    cmocka_unit_test(test_truncated),        cmocka_unit_test(test_bomb_bounded),
	    cmocka_unit_test(test_duplicates),       cmocka_unit_test(test_overlay_whiteouts),
	    cmocka_unit_test(test_flattened_layers), cmocka_unit_test(test_not_a_tar),
	};

	return cmocka_run_group_tests_name("layer", tests, NULL, NULL);
}

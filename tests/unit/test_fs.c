/* tests/unit/test_fs.c - bounded reads, atomic replacement, tree removal (common/util/fs.h) and
 * host access through injectable roots (common/util/host.h) */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/unit/unit.h"
#include "common/util/host.h"

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_write_atomic(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *p = path_join(u->dir, "doc.json");
	cleanup_free char *data = NULL;
	struct err e = ERR_INIT;
	struct stat st;
	size_t len;
	(void)state;
	assert_int_equal(fs_write_atomic(p, "old", 3, 0600, FS_FSYNC, &e), 0);
	assert_int_equal(fs_write_atomic(p, "new!", 4, 0640, 0, &e), 0);
	assert_int_equal(fs_read_file(p, 100, &data, &len, &e), 0);
	assert_string_equal(data, "new!");
	assert_int_equal(len, 4);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_entries(u->dir), 1); /* no temp file left */
	unit_env_free(u);
}

static void test_write_atomic_failure_leaves_old(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *p = path_join(u->dir, "doc");
	cleanup_free char *data = NULL;
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(fs_write_atomic(p, "old", 3, 0600, 0, &e), 0);
	/* The target is a directory now: rename fails after the temp file was written. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(fs_write_atomic(p, "new", 3, 0600, 0, &e), -1);
	assert_non_null(strstr(e.msg, p));
	assert_int_equal(count_entries(u->dir), 1); /* only the directory: no temp file left */
	/* A parent that is a file: the temp file cannot even be created. */
	cleanup_free char *f = path_join(u->dir, "file");
	cleanup_free char *under = path_join(f, "doc");
	assert_int_equal(fs_write_atomic(f, "x", 1, 0600, 0, &e), 0);
	assert_int_equal(fs_write_atomic(under, "y", 1, 0600, 0, &e), -1);
	assert_int_equal(fs_read_file(f, 10, &data, NULL, &e), 0);
	assert_string_equal(data, "x");
	unit_env_free(u);
}

static void test_read_bounded(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *p = path_join(u->dir, "big");
	cleanup_free char *missing = path_join(u->dir, "missing");
	char *data = NULL;
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(fs_write_atomic(p, "0123456789", 10, 0600, 0, &e), 0);
	assert_int_equal(fs_read_file(p, 9, &data, NULL, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "is 10 bytes, limit 9"));
	assert_null(data);
	assert_int_equal(fs_read_file(missing, 9, &data, NULL, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_int_equal(fs_read_file(u->dir, 9, &data, NULL, &e), -1);
	unit_env_free(u);
}

/* A file of len bytes, each byte from its offset (mod 91), so a misplaced chunk shows. */
static void put_pattern(const char *path, size_t len)
{
	cleanup_free char *data = xmalloc(len ? len : 1);
	struct err e = ERR_INIT;

	for (size_t i = 0; i < len; i++)
		data[i] = (char)('!' + i % 91);
	assert_int_equal(fs_write_atomic(path, data, len, 0600, 0, &e), 0);
}

static void assert_pattern(const struct buf *b, size_t len)
{
	assert_int_equal(b->len, len);
	assert_int_equal(b->data[len], '\0');
	for (size_t i = 0; i < len; i++)
		if (b->data[i] != (char)('!' + i % 91))
			fail_msg("byte %zu of %zu: %d", i, len, b->data[i]);
}

static void test_read_small_at(void **state)
{
	/* Below, at and past the one-read buffer (the fallback reads on), 0 bytes, then again
	 * with the grown buffer reused for a short file. */
	static const size_t sizes[] = {
	    100, FS_SMALL_BYTES - 1, FS_SMALL_BYTES, FS_SMALL_BYTES + 1, 5 * FS_SMALL_BYTES + 17, 0,
	    10,
	};
	struct unit_env *u = unit_env_new();
	cleanup_free char *sub = path_join(u->dir, "sub");
	cleanup_free char *doc = path_join(sub, "doc");
	cleanup_free char *link = path_join(sub, "link");
	cleanup_buf struct buf b = BUF_INIT;
	cleanup_close int dfd = -1;
	struct err e = ERR_INIT;
	(void)state;

	assert_int_equal(fs_mkdir_p(sub, 0700, &e), 0);
	dfd = open(u->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		put_pattern(doc, sizes[i]);
		if (fs_read_small_at(dfd, "sub/doc", 1 << 20, &b, &e) < 0)
			fail_msg("%zu bytes: %s", sizes[i], e.msg);
		assert_pattern(&b, sizes[i]);
	}

	/* the limit holds on the fallback path too, and a failure leaves b empty */
	put_pattern(doc, 3 * FS_SMALL_BYTES);
	assert_int_equal(fs_read_small_at(dfd, "sub/doc", 2 * FS_SMALL_BYTES, &b, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "sub/doc: larger than the limit"));
	assert_int_equal(b.len, 0);
	err_clear(&e);
	assert_int_equal(fs_read_small_at(dfd, "sub/doc", 3 * FS_SMALL_BYTES, &b, &e), 0);
	assert_pattern(&b, 3 * FS_SMALL_BYTES);

	/* missing: E_NOTFOUND naming rel (a missing file, a missing directory on the way) */
	assert_int_equal(fs_read_small_at(dfd, "sub/missing", 100, &b, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_non_null(strstr(e.msg, "sub/missing"));
	assert_int_equal(b.len, 0);
	err_clear(&e);
	assert_int_equal(fs_read_small_at(dfd, "nodir/doc", 100, &b, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	err_clear(&e);

	/* a directory, and a symlink as the last component, are not documents */
	assert_int_equal(fs_read_small_at(dfd, "sub", 100, &b, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "is a directory"));
	err_clear(&e);
	assert_int_equal(symlink("doc", link), 0);
	assert_int_equal(fs_read_small_at(dfd, "sub/link", 1 << 20, &b, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "symbolic link"));
	err_clear(&e);

	/* a FIFO without a writer does not block: it reads as empty */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(mkfifo(link, 0600), 0);
	assert_int_equal(fs_read_small_at(dfd, "sub/link", 100, &b, &e), 0);
	assert_int_equal(b.len, 0);
	unit_env_free(u);
}

static void test_mkdir_p_and_remove_tree(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *deep = xasprintf("%s/a/b/c", u->dir);
	cleanup_free char *outside = xasprintf("%s/outside", u->dir);
	cleanup_free char *keep = xasprintf("%s/outside/keep", u->dir);
	cleanup_free char *link = xasprintf("%s/a/b/link", u->dir);
	cleanup_free char *file = xasprintf("%s/a/file", u->dir);
	cleanup_free char *blocked = xasprintf("%s/a/file/x", u->dir);
	cleanup_free char *a = xasprintf("%s/a", u->dir);
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(fs_mkdir_p(deep, 0700, &e), 0);
	assert_int_equal(fs_mkdir_p(deep, 0700, &e), 0);
	assert_int_equal(fs_mkdir_p(outside, 0700, &e), 0);
	assert_int_equal(fs_write_atomic(keep, "k", 1, 0600, 0, &e), 0);
	assert_int_equal(fs_write_atomic(file, "f", 1, 0600, 0, &e), 0);
	assert_int_equal(fs_mkdir_p(blocked, 0700, &e), -1);
	err_clear(&e);
	/* the whole path existing as a file is no directory either */
	assert_int_equal(fs_mkdir_p(file, 0700, &e), -1);
	assert_non_null(strstr(e.msg, "not a directory"));
	/* A symlink inside the tree is removed, never followed. */
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(fs_remove_tree(a, &e), 0);
	assert_false(fs_exists(a));
	assert_true(fs_exists(keep));
	assert_int_equal(fs_remove_tree(a, &e), 0); /* missing is success */
	unit_env_free(u);
}

static void test_host_roots(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *proc = path_join(u->dir, "proc");
	cleanup_free char *kdir = xasprintf("%s/sys/kernel", proc);
	cleanup_free char *hn = xasprintf("%s/hostname", kdir);
	cleanup_free char *got = NULL;
	cleanup_free char *psi = NULL;
	cleanup_free char *path = NULL;
	cleanup_free char *want = xasprintf("%s/pressure/io", proc);
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(fs_mkdir_p(kdir, 0755, &e), 0);
	assert_int_equal(fs_write_atomic(hn, "fixture-node\n", 13, 0644, 0, &e), 0);
	u->ctx.path.proc = proc;
	got = host_name(&u->ctx);
	assert_string_equal(got, "fixture-node");
	path = host_path(&u->ctx, HOST_PROC, "pressure/io");
	assert_string_equal(path, want);
	assert_int_equal(host_read(&u->ctx, HOST_PROC, "pressure/io", 4096, &psi, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	/* The real /proc: a pseudo-file with st_size 0 is read to its end. */
	u->ctx.path.proc = "/proc";
	free(TAKE_PTR(psi));
	assert_int_equal(host_read(&u->ctx, HOST_PROC, "self/stat", 4096, &psi, &e), 0);
	assert_true(strlen(psi) > 10);
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_atomic),
	    cmocka_unit_test(test_write_atomic_failure_leaves_old),
	    cmocka_unit_test(test_read_bounded),
	    cmocka_unit_test(test_read_small_at),
	    cmocka_unit_test(test_mkdir_p_and_remove_tree),
	    cmocka_unit_test(test_host_roots),
	};
	return cmocka_run_group_tests_name("fs", tests, NULL, NULL);
}

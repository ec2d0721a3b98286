/* tests/unit/test_layout.c - the store's roots, fixed directories, paths and name encoding
 * (common/store/layout.h, DESIGN.md "The metadata layer on disk") */
#include <sys/stat.h>

#include "tests/unit/unit.h"
#include "common/store/layout.h"

static mode_t mode_of(const char *root, const char *sub)
{
	cleanup_free char *p = sub ? path_join(root, sub) : xstrdup(root);
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	return st.st_mode & 07777;
}

static void test_init_modes(void **state)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;
	mode_t old = umask(022);
	(void)state;

	assert_int_equal(store_init(&u->ctx, &e), 0);
	assert_int_equal(mode_of(u->root, NULL), 0711);
	assert_int_equal(mode_of(u->state, NULL), 0711);
	assert_int_equal(mode_of(u->root, "content/blobs/sha256"), 0755);
	assert_int_equal(mode_of(u->root, "content/ingest"), 0755);
	assert_int_equal(mode_of(u->root, "images"), 0755);
	assert_int_equal(mode_of(u->root, "snapshots"), 0755);
	assert_int_equal(mode_of(u->root, "containers"), 0700);
	assert_int_equal(mode_of(u->root, "events"), 0700);
	assert_int_equal(mode_of(u->state, "containers"), 0700);
	assert_int_equal(mode_of(u->state, "relist"), 0700);
	assert_int_equal(mode_of(u->state, "running"), 0700);
	/* idempotent */
	assert_int_equal(store_init(&u->ctx, &e), 0);
	assert_int_equal(store_init(&u->ctx, &e), 0);
	assert_int_equal(mode_of(u->root, "events"), 0700);
	umask(old);
	unit_env_free(u);
}

static void test_init_refuses(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *real = path_join(u->dir, "real");
	cleanup_free char *file = path_join(u->dir, "file");
	struct err e = ERR_INIT;
	(void)state;

	/* a symlinked root */
	assert_int_equal(mkdir(real, 0711), 0);
	assert_int_equal(symlink(real, u->root), 0);
	assert_int_equal(store_init(&u->ctx, &e), -1);
	assert_int_equal(e.code, E_PERM);
	assert_non_null(strstr(e.msg, u->root));
	assert_int_equal(unlink(u->root), 0);

	/* a world-writable root */
	err_clear(&e);
	assert_int_equal(mkdir(u->root, 0700), 0);
	assert_int_equal(chmod(u->root, 0777), 0);
	assert_int_equal(store_init(&u->ctx, &e), -1);
	assert_int_equal(e.code, E_PERM);
	assert_non_null(strstr(e.msg, u->root));
	assert_int_equal(chmod(u->root, 0711), 0);
	assert_int_equal(store_init(&u->ctx, &e), 0);

	/* a state root that is a file */
	err_clear(&e);
	assert_int_equal(fs_write_atomic(file, "x", 1, 0600, 0, &e), 0);
	u->ctx.path.state = file;
	assert_int_equal(store_init(&u->ctx, &e), -1);
	assert_int_equal(e.code, E_PERM);
	u->ctx.path.state = u->state;
	unit_env_free(u);
}

static void test_paths(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *blob = store_blob_path(&u->ctx, "ab");
	cleanup_free char *ingest = store_ingest_path(&u->ctx, "ab");
	cleanup_free char *image = store_image_path(&u->ctx, "docker.io/x:1");
	cleanup_free char *c = store_container_dir(&u->ctx, "id");
	cleanup_free char *s = store_container_state_dir(&u->ctx, "id");
	cleanup_free char *want = NULL;
	(void)state;

	want = xasprintf("%s/content/blobs/sha256/ab", u->root);
	assert_string_equal(blob, want);
	free(want);
	want = xasprintf("%s/content/ingest/sha256-ab", u->root);
	assert_string_equal(ingest, want);
	free(want);
	want = xasprintf("%s/images/docker.io%%2Fx%%3A1.json", u->root);
	assert_string_equal(image, want);
	free(want);
	want = xasprintf("%s/containers/id", u->root);
	assert_string_equal(c, want);
	free(want);
	want = xasprintf("%s/containers/id", u->state);
	assert_string_equal(s, want);
	unit_env_free(u);
}

static void test_name_encoding(void **state)
{
	static const char *const names[] = {
	    "docker.io/library/busybox:latest",
	    "../x",
	    ".hidden",
	    "a/b@sha256:00",
	    "..",
	    "a.b",
	    "sp ace%",
	    "\xc3\xa9",
	};
	static const char *const garbage[] = {
	    "", "%", "%4", "%zz", "%2f", "a/b", ".hidden", "%41", "x y", "%00", "a%2",
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		cleanup_free char *enc = store_name_encode(names[i]);
		cleanup_free char *dec = store_name_decode(enc);

		assert_null(strchr(enc, '/'));
		assert_true(enc[0] != '.');
		assert_non_null(dec);
		assert_string_equal(dec, names[i]);
	}
	{
		cleanup_free char *enc = store_name_encode("docker.io/library/busybox:latest");

		assert_string_equal(enc, "docker.io%2Flibrary%2Fbusybox%3Alatest");
	}
	{
		cleanup_free char *enc = store_name_encode(".hidden");

		assert_string_equal(enc, "%2Ehidden");
	}
	for (i = 0; i < ARRAY_SIZE(garbage); i++) {
		char *dec = store_name_decode(garbage[i]);

		if (dec)
			fail_msg("decoded garbage \"%s\" as \"%s\"", garbage[i], dec);
	}
}

static void test_id_valid(void **state)
{
	(void)state;
	assert_true(
	    store_id_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(
	    store_id_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
	assert_false(
	    store_id_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"));
	assert_false(
	    store_id_valid("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(store_id_valid(""));
	assert_false(store_id_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_modes), cmocka_unit_test(test_init_refuses),
	    cmocka_unit_test(test_paths),      cmocka_unit_test(test_name_encoding),
	    cmocka_unit_test(test_id_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

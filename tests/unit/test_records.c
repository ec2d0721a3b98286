/* tests/unit/test_records.c - image and container records on disk (common/store/image_record.h,
 * common/store/container_record.h, DESIGN.md "The metadata layer on disk") */
#include "tests/unit/unit.h"
#include "common/store/container_record.h"
#include "common/store/image_record.h"
#include "common/store/layout.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_1  "1111111111111111111111111111111111111111111111111111111111111111"
#define ID_2  "2222222222222222222222222222222222222222222222222222222222222222"
#define ID_3  "3333333333333333333333333333333333333333333333333333333333333333"

static struct unit_env *setup(void)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;

	assert_int_equal(store_init(&u->ctx, &e), 0);
	return u;
}

static void put_raw(const char *path, const char *text)
{
	struct err e = ERR_INIT;

	assert_int_equal(fs_write_atomic(path, text, strlen(text), 0600, 0, &e), 0);
}

static void test_image_round_trip(void **state)
{
	struct unit_env *u = setup();
	struct image_record r = {
	    .name = "docker.io/library/busybox:latest",
	    .media_type = "application/vnd.oci.image.manifest.v1+json",
	    .platform = "linux/amd64",
	    .size_bytes = 2222333,
	    .created_ns = 1700000000123456789LL,
	    .pulled_ns = unit_fixed_now(),
	};
	struct image_record back;
	struct err e = ERR_INIT;
	(void)state;

	memcpy(r.manifest.hex, HEX_A, 65);
	memcpy(r.config.hex, HEX_B, 65);
	assert_int_equal(image_record_save(&u->ctx, &r, &e), 0);
	assert_int_equal(image_record_load(&u->ctx, r.name, &back, &e), 0);
	assert_string_equal(back.name, r.name);
	assert_string_equal(back.manifest.hex, HEX_A);
	assert_string_equal(back.config.hex, HEX_B);
	assert_string_equal(back.media_type, r.media_type);
	assert_string_equal(back.platform, r.platform);
	assert_int_equal(back.size_bytes, r.size_bytes);
	assert_int_equal(back.created_ns, r.created_ns);
	assert_int_equal(back.pulled_ns, r.pulled_ns);
	image_record_release(&back);

	assert_int_equal(image_record_remove(&u->ctx, r.name, &e), 0);
	assert_int_equal(image_record_load(&u->ctx, r.name, &back, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	err_clear(&e);
	assert_int_equal(image_record_remove(&u->ctx, r.name, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	unit_env_free(u);
}

static void test_image_list(void **state)
{
	struct unit_env *u = setup();
	static const char *const names[] = {"quay.io/z:1", "docker.io/b:2", "docker.io/a:1",
	                                    "ghcr.io/m@sha256:" HEX_A};
	cleanup_free char *bad = NULL;
	struct image_record *v = NULL;
	struct err e = ERR_INIT;
	size_t i, n = 0, skipped = 99;
	(void)state;

	assert_int_equal(image_record_list(&u->ctx, &v, &n, &skipped, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(skipped, 0);
	image_records_free(v, n);

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		struct image_record r = {.name = (char *)names[i], .pulled_ns = unit_fixed_now()};

		memcpy(r.manifest.hex, HEX_A, 65);
		assert_int_equal(image_record_save(&u->ctx, &r, &e), 0);
	}
	bad = store_image_path(&u->ctx, "docker.io/broken:1");
	put_raw(bad, "{\"name\":");
	assert_int_equal(image_record_list(&u->ctx, &v, &n, &skipped, &e), 0);
	assert_int_equal(n, 4);
	assert_int_equal(skipped, 1);
	assert_string_equal(v[0].name, "docker.io/a:1");
	assert_string_equal(v[1].name, "docker.io/b:2");
	assert_string_equal(v[2].name, "ghcr.io/m@sha256:" HEX_A);
	assert_string_equal(v[3].name, "quay.io/z:1");
	image_records_free(v, n);
	unit_env_free(u);
}

static void test_image_wrong_types(void **state)
{
	struct unit_env *u = setup();
	cleanup_free char *p = store_image_path(&u->ctx, "x:1");
	static const char *const docs[] = {
	    "{\"name\":\"x:1\",\"manifest_digest\":42}",
	    "{\"name\":\"x:1\",\"manifest_digest\":\"sha256:" HEX_A "\",\"size_bytes\":\"big\"}",
	    "{\"name\":\"x:1\",\"manifest_digest\":\"md5:abc\"}",
	    "{\"name\":[],\"manifest_digest\":\"sha256:" HEX_A "\"}",
	    "{\"name\":\"y:1\",\"manifest_digest\":\"sha256:" HEX_A "\"}",
	};
	struct image_record back;
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(docs); i++) {
		struct err e = ERR_INIT;

		put_raw(p, docs[i]);
		assert_int_equal(image_record_load(&u->ctx, "x:1", &back, &e), -1);
		assert_true(e.code == E_CORRUPT || e.code == E_INVALID);
	}
	unit_env_free(u);
}

static void test_container_round_trip(void **state)
{
	struct unit_env *u = setup();
	char *cmd[] = {"sh", "-c", "echo hi", NULL};
	char *snaps[] = {"s1", "s2", NULL};
	struct label labels[] = {{"app", "web"}, {"tier", ""}};
	struct container_doc c = {
	    .id = ID_1,
	    .name = "web",
	    .image = "busybox",
	    .image_digest = "sha256:" HEX_A,
	    .command = cmd,
	    .labels = labels,
	    .n_labels = 2,
	    .snapshots = snaps,
	    .created_ns = unit_fixed_now() + 5,
	    .auto_remove = true,
	};
	struct container_state s = {
	    .status = STATUS_STOPPED,
	    .pid = 0,
	    .pid_start_time = 123456789,
	    .shim_pid = 77,
	    .shim_start_time = 987654321,
	    .shim_parent_pid = 1,
	    .started_ns = unit_fixed_now(),
	    .finished_ns = unit_fixed_now() + 1000,
	    .exit_code = 137,
	    .oom_killed = true,
	};
	struct container_doc back;
	struct container_state sback;
	struct err e = ERR_INIT;
	(void)state;

	assert_int_equal(container_doc_save(&u->ctx, &c, &e), 0);
	assert_int_equal(container_doc_load(&u->ctx, ID_1, &back, &e), 0);
	assert_string_equal(back.id, ID_1);
	assert_string_equal(back.name, "web");
	assert_true(back.auto_remove);
	assert_string_equal(back.image, "busybox");
	assert_string_equal(back.image_digest, c.image_digest);
	assert_string_equal(back.command[2], "echo hi");
	assert_null(back.command[3]);
	assert_string_equal(back.snapshots[1], "s2");
	assert_null(back.snapshots[2]);
	assert_int_equal(back.n_labels, 2);
	assert_string_equal(back.labels[0].key, "app");
	assert_string_equal(back.labels[0].value, "web");
	assert_string_equal(back.labels[1].value, "");
	assert_int_equal(back.created_ns, c.created_ns);
	container_doc_release(&back);

	assert_int_equal(container_state_save(&u->ctx, ID_1, &s, &e), 0);
	assert_int_equal(container_state_load(&u->ctx, ID_1, &sback, &e), 0);
	assert_int_equal(sback.status, STATUS_STOPPED);
	assert_int_equal(sback.pid_start_time, 123456789);
	assert_int_equal(sback.shim_pid, 77);
	assert_int_equal(sback.shim_start_time, 987654321);
	assert_int_equal(sback.shim_parent_pid, 1);
	assert_int_equal(sback.started_ns, s.started_ns);
	assert_int_equal(sback.finished_ns, s.finished_ns);
	assert_int_equal(sback.exit_code, 137);
	assert_true(sback.oom_killed);

	/* no command, labels or snapshots */
	memset(&c, 0, sizeof(c));
	memcpy(c.id, ID_2, 65);
	assert_int_equal(container_doc_save(&u->ctx, &c, &e), 0);
	assert_int_equal(container_doc_load(&u->ctx, ID_2, &back, &e), 0);
	assert_null(back.name);
	assert_true(!back.command || !back.command[0]);
	assert_int_equal(back.n_labels, 0);
	container_doc_release(&back);

	assert_int_equal(container_doc_load(&u->ctx, ID_3, &back, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	err_clear(&e);
	assert_int_equal(container_doc_load(&u->ctx, "../etc", &back, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	unit_env_free(u);
}

static void test_container_list(void **state)
{
	struct unit_env *u = setup();
	static const char *const ids[] = {ID_3, ID_1, ID_2};
	cleanup_free char *stray = NULL;
	cleanup_strv char **v = NULL;
	struct err e = ERR_INIT;
	size_t i, n = 99;
	(void)state;

	/* a missing containers/ is an empty list */
	assert_int_equal(fs_remove_tree(u->root, &e), 0);
	assert_int_equal(container_list_ids(&u->ctx, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_null(v[0]);
	strv_free(TAKE_PTR(v));
	assert_int_equal(store_init(&u->ctx, &e), 0);

	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		struct container_doc c = {0};

		memcpy(c.id, ids[i], 65);
		assert_int_equal(container_doc_save(&u->ctx, &c, &e), 0);
	}
	/* a directory without container.json (one being created or removed) is listed, and
	 * loading it is E_NOTFOUND; a stray name is not a container */
	stray = xasprintf("%s/containers/%s", u->root,
	                  "4444444444444444444444444444444444444444444444444444444444444444");
	assert_int_equal(fs_mkdir_p(stray, 0700, &e), 0);
	free(stray);
	stray = xasprintf("%s/containers/not-an-id", u->root);
	assert_int_equal(fs_mkdir_p(stray, 0700, &e), 0);

	assert_int_equal(container_list_ids(&u->ctx, &v, &n, &e), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0], ID_1);
	assert_string_equal(v[1], ID_2);
	assert_string_equal(v[2], ID_3);
	assert_string_equal(v[3], "4444444444444444444444444444444444444444444444444444444444444444");
	assert_null(v[4]);
	{
		struct container_doc c = {0};

		assert_int_equal(container_doc_load(&u->ctx, v[3], &c, &e), -1);
		assert_int_equal(e.code, E_NOTFOUND);
	}
	unit_env_free(u);
}

static void test_container_wrong_types(void **state)
{
	struct unit_env *u = setup();
	cleanup_free char *dir = store_container_dir(&u->ctx, ID_1);
	cleanup_free char *sdir = store_container_state_dir(&u->ctx, ID_1);
	cleanup_free char *doc = path_join(dir, "container.json");
	cleanup_free char *st = path_join(sdir, "state.json");
	static const char *const docs[] = {
	    "{\"id\":\"" ID_1 "\",\"command\":\"sh\"}",
	    "{\"id\":\"" ID_1 "\",\"command\":[1]}",
	    "{\"id\":\"" ID_1 "\",\"labels\":{\"a\":1}}",
	    "{\"id\":\"" ID_1 "\",\"labels\":[]}",
	    "{\"id\":\"" ID_2 "\"}",
	    "{\"id\":\"" ID_1 "\",\"name\":7}",
	    "{\"id\":\"" ID_1 "\",\"snapshots\":{}}",
	    "{\"id\":\"" ID_1 "\",\"created\":\"yesterday\"}",
	};
	static const char *const states[] = {
	    "{\"status\":\"dancing\"}",
	    "{\"status\":1}",
	    "{\"status\":\"running\",\"pid\":\"1\"}",
	    "{\"status\":\"running\",\"pid\":-5}",
	    "{\"status\":\"exited\",\"oom_killed\":\"no\"}",
	    "{\"pid\":1}",
	};
	struct container_doc c;
	struct container_state s;
	struct err e0 = ERR_INIT;
	size_t i;
	(void)state;

	assert_int_equal(fs_mkdir_p(dir, 0700, &e0), 0);
	assert_int_equal(fs_mkdir_p(sdir, 0700, &e0), 0);
	for (i = 0; i < ARRAY_SIZE(docs); i++) {
		struct err e = ERR_INIT;

		put_raw(doc, docs[i]);
		if (container_doc_load(&u->ctx, ID_1, &c, &e) == 0)
			fail_msg("accepted %s", docs[i]);
		assert_true(e.code == E_CORRUPT || e.code == E_INVALID);
	}
	for (i = 0; i < ARRAY_SIZE(states); i++) {
		struct err e = ERR_INIT;

		put_raw(st, states[i]);
		if (container_state_load(&u->ctx, ID_1, &s, &e) == 0)
			fail_msg("accepted %s", states[i]);
		assert_true(e.code == E_CORRUPT || e.code == E_INVALID);
	}
	unit_env_free(u);
}

static bool indexed(const struct unit_env *u, const char *id)
{
	cleanup_free char *p = xasprintf("%s/running/%s", u->state, id);

	return fs_exists(p);
}

static void save_status(struct unit_env *u, const char *id, enum units_status st)
{
	struct container_state s = {.status = st, .pid = st == STATUS_RUNNING ? 42 : 0};
	struct err e = ERR_INIT;

	if (container_state_save(&u->ctx, id, &s, &e) < 0)
		fail_msg("save %s: %s", id, e.msg);
}

/* STATE/running/<id> follows the status state.json records: there while running or paused,
 * gone for every other status and after container_state_remove. */
static void test_running_index(void **state)
{
	struct unit_env *u = setup();
	cleanup_free char *sdir = store_container_state_dir(&u->ctx, ID_1);
	cleanup_free char *rdir = store_running_dir(&u->ctx);
	cleanup_strv char **v = NULL;
	struct err e = ERR_INIT;
	size_t n = 99;
	(void)state;

	assert_int_equal(container_running_ids(&u->ctx, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	strv_free(TAKE_PTR(v));

	save_status(u, ID_1, STATUS_CREATED);
	assert_false(indexed(u, ID_1));
	save_status(u, ID_1, STATUS_RUNNING);
	assert_true(indexed(u, ID_1));
	save_status(u, ID_1, STATUS_RUNNING); /* again: still there, no error */
	assert_true(indexed(u, ID_1));
	save_status(u, ID_1, STATUS_PAUSED);
	assert_true(indexed(u, ID_1));
	save_status(u, ID_1, STATUS_STOPPED);
	assert_false(indexed(u, ID_1));
	save_status(u, ID_1, STATUS_RUNNING);
	save_status(u, ID_1, STATUS_UNKNOWN);
	assert_false(indexed(u, ID_1));

	save_status(u, ID_3, STATUS_PAUSED);
	save_status(u, ID_2, STATUS_RUNNING);
	save_status(u, ID_1, STATUS_RUNNING);
	assert_int_equal(container_running_ids(&u->ctx, &v, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], ID_1); /* sorted */
	assert_string_equal(v[1], ID_2);
	assert_string_equal(v[2], ID_3);
	assert_null(v[3]);
	strv_free(TAKE_PTR(v));

	/* removal drops the state directory and the entry; removing again is no error */
	assert_int_equal(container_state_remove(&u->ctx, ID_1, &e), 0);
	assert_false(fs_exists(sdir));
	assert_false(indexed(u, ID_1));
	assert_true(indexed(u, ID_2));
	assert_int_equal(container_state_remove(&u->ctx, ID_1, &e), 0);
	assert_int_equal(container_state_remove(&u->ctx, "../x", &e), -1);
	assert_int_equal(e.code, E_INVALID);
	err_clear(&e);

	/* a STATE from before the index: the first running save makes the directory */
	assert_int_equal(fs_remove_tree(rdir, &e), 0);
	assert_int_equal(container_running_ids(&u->ctx, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	strv_free(TAKE_PTR(v));
	save_status(u, ID_2, STATUS_STOPPED);
	save_status(u, ID_1, STATUS_RUNNING);
	assert_true(indexed(u, ID_1));
	unit_env_free(u);
}

/* container_doc_load_at reads what container_doc_save wrote, as container_doc_load does, with
 * one buffer over many records. */
static void test_container_load_at(void **state)
{
	struct unit_env *u = setup();
	static const char *const ids[] = {ID_1, ID_2};
	char *cmd[] = {"sleep", "1000", NULL};
	struct label labels[] = {{"app", "web"}};
	cleanup_free char *dir3 = NULL, *doc3 = NULL;
	cleanup_buf struct buf b = BUF_INIT;
	cleanup_close int dfd = -1;
	struct container_doc back;
	struct err e = ERR_INIT;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		struct container_doc c = {.name = i ? "db" : "web",
		                          .image = "busybox",
		                          .command = cmd,
		                          .labels = labels,
		                          .n_labels = 1,
		                          .created_ns = unit_fixed_now()};

		memcpy(c.id, ids[i], 65);
		assert_int_equal(container_doc_save(&u->ctx, &c, &e), 0);
	}
	dfd = container_dir_open(&u->ctx, &e);
	assert_true(dfd >= 0);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		assert_int_equal(container_doc_load_at(dfd, ids[i], &b, &back, &e), 0);
		assert_string_equal(back.id, ids[i]);
		assert_string_equal(back.name, i ? "db" : "web");
		assert_string_equal(back.image, "busybox");
		assert_string_equal(back.command[1], "1000");
		assert_string_equal(back.labels[0].value, "web");
		assert_int_equal(back.created_ns, unit_fixed_now());
		container_doc_release(&back);
	}
	assert_int_equal(container_doc_load_at(dfd, ID_3, &b, &back, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	err_clear(&e);
	assert_int_equal(container_doc_load_at(dfd, "../x", &b, &back, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	err_clear(&e);
	/* a record of another ID, or half a document: E_CORRUPT naming the file */
	dir3 = store_container_dir(&u->ctx, ID_3);
	doc3 = container_doc_path(&u->ctx, ID_3);
	assert_int_equal(fs_mkdir_p(dir3, 0700, &e), 0);
	put_raw(doc3, "{\"id\":\"" ID_1 "\"}");
	assert_int_equal(container_doc_load_at(dfd, ID_3, &b, &back, &e), -1);
	assert_int_equal(e.code, E_CORRUPT);
	assert_non_null(strstr(e.msg, "containers/" ID_3 "/container.json"));
	err_clear(&e);
	put_raw(doc3, "{\"id\":\"" ID_3 "\",\"name\":\"x");
	assert_int_equal(container_doc_load_at(dfd, ID_3, &b, &back, &e), -1);
	assert_int_equal(e.code, E_CORRUPT);
	err_clear(&e);
	put_raw(doc3, "{\"id\":\"" ID_3 "\",\"name\":\"x\"}");
	assert_int_equal(container_doc_load_at(dfd, ID_3, &b, &back, &e), 0);
	assert_string_equal(back.name, "x");
	container_doc_release(&back);
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_image_round_trip),  cmocka_unit_test(test_image_list),
	    cmocka_unit_test(test_image_wrong_types), cmocka_unit_test(test_container_round_trip),
	    cmocka_unit_test(test_container_list),    cmocka_unit_test(test_container_wrong_types),
	    cmocka_unit_test(test_running_index),     cmocka_unit_test(test_container_load_at),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

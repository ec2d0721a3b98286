/* tests/unit/test_lookup.c - containers named by full ID, unique prefix or name, and name checks
 * (common/runtime/lookup.h) */
#include "tests/unit/unit.h"
#include "common/runtime/lookup.h"
#include "common/store/container_record.h"

#define ID_A "abc1230000000000000000000000000000000000000000000000000000000001"
#define ID_B "abc4560000000000000000000000000000000000000000000000000000000002"
#define ID_C "def0000000000000000000000000000000000000000000000000000000000003"

static void add(struct unit_env *u, const char *id, const char *name)
{
	struct container_doc c = {0};
	struct err e = ERR_INIT;

	memcpy(c.id, id, 65);
	c.name = (char *)name;
	c.image = (char *)"busybox";
	c.created_ns = unit_fixed_now();
	assert_int_equal(container_doc_save(&u->ctx, &c, &e), 0);
}

static struct unit_env *setup_three(void)
{
	struct unit_env *u = unit_env_new();

	add(u, ID_A, "web");
	add(u, ID_B, "abc"); /* a name that is also a prefix of both IDs */
	add(u, ID_C, NULL);
	return u;
}

static void test_lookup(void **state)
{
	static const struct {
		const char *arg, *id;
	} ok[] = {
	    {ID_A, ID_A},   {ID_C, ID_C},   {"web", ID_A}, {"abc", ID_B}, /* the name wins */
	    {"abc1", ID_A}, {"abc4", ID_B}, {"d", ID_C},
	};
	static const struct {
		const char *arg;
		enum err_code code;
		const char *msg;
	} bad[] = {
	    {"ab", E_INVALID, "ab: ambiguous: 2 containers match"},
	    {"nosuch", E_NOTFOUND, "nosuch: no such container"},
	    {"web2", E_NOTFOUND, "web2: no such container"},
	    {"ABC1", E_NOTFOUND, "ABC1: no such container"},
	    {ID_A "0", E_NOTFOUND, ID_A "0: no such container"},
	    {"", E_INVALID, "empty container name or ID"},
	};
	struct unit_env *u = setup_three();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct err e = ERR_INIT;
		char id[65] = "";

		assert_int_equal(container_lookup(&u->ctx, ok[i].arg, id, &e), 0);
		assert_string_equal(id, ok[i].id);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct err e = ERR_INIT;
		char id[65] = "untouched";

		assert_int_equal(container_lookup(&u->ctx, bad[i].arg, id, &e), -1);
		assert_int_equal(e.code, bad[i].code);
		assert_string_equal(e.msg, bad[i].msg);
		assert_string_equal(id, "untouched");
	}
	unit_env_free(u);
}

static void test_lookup_empty_store(void **state)
{
	struct unit_env *u = unit_env_new();
	struct err e = ERR_INIT;
	char id[65];

	(void)state;
	assert_int_equal(container_lookup(&u->ctx, "x", id, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	unit_env_free(u);
}

static void test_lookup_corrupt_doc(void **state)
{
	struct unit_env *u = setup_three();
	cleanup_free char *path = xasprintf("%s/containers/%s/container.json", u->root, ID_C);
	struct err e = ERR_INIT;
	char id[65];

	(void)state;
	/* An unreadable record hides no name, but its ID still resolves. */
	assert_int_equal(fs_write_atomic(path, "{", 1, 0600, 0, &e), 0);
	assert_int_equal(container_lookup(&u->ctx, "web", id, &e), 0);
	assert_string_equal(id, ID_A);
	assert_int_equal(container_lookup(&u->ctx, "def", id, &e), 0);
	assert_string_equal(id, ID_C);
	unit_env_free(u);
}

static void test_name_check(void **state)
{
	static const char *const valid[] = {"a", "web2", "my_app.v1-2", "0abc"};
	static const char *const invalid[] = {"", "-x", ".x", "_x", "a/b", "a b", "ä"};
	struct unit_env *u = setup_three();
	cleanup_free char *long_name = xmalloc(130);
	struct err e = ERR_INIT;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(valid); i++)
		assert_int_equal(container_name_check(&u->ctx, valid[i], &e), 0);
	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
		err_clear(&e);
		assert_int_equal(container_name_check(&u->ctx, invalid[i], &e), -1);
		assert_int_equal(e.code, E_INVALID);
	}
	memset(long_name, 'n', 128);
	long_name[128] = '\0';
	assert_int_equal(container_name_check(&u->ctx, long_name, &e), 0);
	long_name[128] = 'n';
	long_name[129] = '\0';
	assert_int_equal(container_name_check(&u->ctx, long_name, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	err_clear(&e);
	assert_int_equal(container_name_check(&u->ctx, "web", &e), -1);
	assert_int_equal(e.code, E_EXISTS);
	assert_string_equal(e.msg, "name web: already in use by container abc123000000");
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_lookup_empty_store),
	    cmocka_unit_test(test_lookup_corrupt_doc),
	    cmocka_unit_test(test_name_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

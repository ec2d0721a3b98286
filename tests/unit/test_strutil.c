/* tests/unit/test_strutil.c - edit distance and "did you mean" (common/util/strutil.h) */
#include "tests/unit/unit.h"
#include "common/util/strutil.h"

static void test_distance(void **state)
{
	(void)state;
	assert_int_equal(str_distance("kitten", "sitting", 5), 3);
	assert_int_equal(str_distance("", "abc", 5), 3);
	assert_int_equal(str_distance("same", "same", 5), 0);
	assert_int_equal(str_distance("abcdef", "zzzzzz", 2), 3); /* capped: cap + 1 */
	assert_int_equal(str_distance("a", "abcdefgh", 2), 3);
}

static void test_suggest(void **state)
{
	static const char *const applets[] = {"pull", "ps", "info", "help", "relist", "rm", NULL};
	static const struct {
		const char *word, *want;
	} t[] = {{"pul", "pull"},  {"pus", "ps"},        {"inf", "info"},
	         {"hepl", "help"}, {"relsit", "relist"}, {"zzzzzz", NULL},
	         {"r", "rm"},      {"rel", "relist"},    {"", NULL}};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		const char *got = str_suggest(t[i].word, applets);

		if (t[i].want)
			assert_string_equal(got, t[i].want);
		else
			assert_null(got);
	}
}

static void test_misc(void **state)
{
	char s[] = "  \t hello world \n";
	(void)state;
	assert_true(str_starts_with("ctrbox-ps", "ctrbox-"));
	assert_false(str_starts_with("ctr", "ctrbox-"));
	assert_true(str_ends_with("x.json", ".json"));
	assert_false(str_ends_with("json", ".json"));
	assert_true(str_is_hex("0123abcdef"));
	assert_false(str_is_hex("0123ABCDEF"));
	assert_false(str_is_hex(""));
	assert_string_equal(str_trim(s), "hello world");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_distance),
	    cmocka_unit_test(test_suggest),
	    cmocka_unit_test(test_misc),
	};
	return cmocka_run_group_tests_name("strutil", tests, NULL, NULL);
}

/* tests/unit/test_shellwords.c - the shell's word splitting (ctrbox-shell(1)): quotes, escapes,
 * comments, errors on unterminated input, and the lenient mode completion uses */
#include "tests/unit/unit.h"
#include "common/util/shellwords.h"

struct split_case {
	const char *line;
	unsigned flags;
	int rc;                  /* 0 or -1 */
	const char *words[6];    /* the expected words, NULL-terminated */
};

static const struct split_case cases[] = {
	{"", 0, 0, {NULL}},
	{"   \t ", 0, 0, {NULL}},
	{"ps -a", 0, 0, {"ps", "-a", NULL}},
	{"  ps   -a  ", 0, 0, {"ps", "-a", NULL}},
	{"run --name 'my box' alpine", 0, 0, {"run", "--name", "my box", "alpine", NULL}},
	{"echo \"a \\\"b\\\" \\\\ c\"", 0, 0, {"echo", "a \"b\" \\ c", NULL}},
	{"echo \"keep \\n as is\"", 0, 0, {"echo", "keep \\n as is", NULL}},
	{"a\\ b c", 0, 0, {"a b", "c", NULL}},
	{"x '' y", 0, 0, {"x", "", "y", NULL}},
	{"a'b'\"c\"d", 0, 0, {"abcd", NULL}},
	{"ps # all of them", 0, 0, {"ps", NULL}},
	{"# a comment", 0, 0, {NULL}},
	{"ps a#b", 0, 0, {"ps", "a#b", NULL}},
	{"$HOME *", 0, 0, {"$HOME", "*", NULL}},
	{"echo 'open", 0, -1, {NULL}},
	{"echo \"open", 0, -1, {NULL}},
	{"echo \\", 0, -1, {NULL}},
	{"stop ", SHELLWORDS_PARTIAL, 0, {"stop", "", NULL}},
	{"stop", SHELLWORDS_PARTIAL, 0, {"stop", NULL}},
	{"run --name 'my b", SHELLWORDS_PARTIAL, 0, {"run", "--name", "my b", NULL}},
	{"logs #", SHELLWORDS_PARTIAL, 0, {"logs", "#", NULL}},
	{"", SHELLWORDS_PARTIAL, 0, {NULL}},
};

static void test_split_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct split_case *c = &cases[i];
		struct err e = ERR_INIT;
		char **v = NULL;
		size_t n = 99, want = 0;
		int rc = shellwords_split(c->line, c->flags, &v, &n, &e);

		print_message("case %zu: [%s]\n", i, c->line);
		assert_int_equal(rc, c->rc);
		if (rc < 0) {
			assert_int_equal(e.code, E_INVALID);
			assert_null(v);
			continue;
		}
		while (c->words[want])
			want++;
		assert_int_equal(n, want);
		for (size_t k = 0; k < want; k++)
			assert_string_equal(v[k], c->words[k]);
		assert_null(v[n]);
		strv_free(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

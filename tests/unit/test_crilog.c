/* tests/unit/test_crilog.c - the CRI container log: records, partial lines, the line limit,
 * rotation by size, and the parser (common/runtime/crilog.h) */
#include "tests/unit/unit.h"
#include "common/runtime/crilog.h"
#include "common/util/units.h"

#define T0 1795000000123456789LL /* 2026-11-18T11:06:40.123456789Z */

static char *read_all(const char *path)
{
	char *s = NULL;
	size_t len = 0;
	struct err e = ERR_INIT;

	assert_int_equal(fs_read_file(path, 64 << 20, &s, &len, &e), 0);
	return s;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_lines(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = path_join(u->dir, "log");
	cleanup_free char *got = NULL;
	struct crilog *l = NULL;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(crilog_open(path, 0, 0, &l, &e), 0);
	assert_int_equal(crilog_write(l, CRILOG_STDOUT, T0, "hello\nwor", 9, &e), 0);
	assert_int_equal(crilog_write(l, CRILOG_STDERR, T0 + 1, "oops\n", 5, &e), 0);
	assert_int_equal(crilog_write(l, CRILOG_STDOUT, T0 + 2, "ld\n\npart", 8, &e), 0);
	assert_int_equal(crilog_flush(l, T0 + 3, &e), 0);
	assert_int_equal(crilog_flush(l, T0 + 4, &e), 0); /* nothing left: writes nothing */
	crilog_close(l);
	got = read_all(path);
	assert_string_equal(got, "2026-11-18T11:06:40.123456789Z stdout F hello\n"
	                         "2026-11-18T11:06:40.123456790Z stderr F oops\n"
	                         "2026-11-18T11:06:40.123456791Z stdout F world\n"
	                         "2026-11-18T11:06:40.123456791Z stdout F \n"
	                         "2026-11-18T11:06:40.123456792Z stdout P part\n");
	unit_env_free(u);
}

static void test_line_limit(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = path_join(u->dir, "log");
	cleanup_free char *got = NULL;
	cleanup_free char *big = xmalloc(2 * CRILOG_LINE_MAX + 11);
	struct crilog *l = NULL;
	struct err e = ERR_INIT;
	struct crilog_record r;
	char *line, *save = NULL;
	size_t total = 0, n = 0;

	(void)state;
	memset(big, 'x', 2 * CRILOG_LINE_MAX + 10);
	big[2 * CRILOG_LINE_MAX + 10] = '\n';
	assert_int_equal(crilog_open(path, 0, 0, &l, &e), 0);
	/* In two writes, so the limit applies across the pending fragment too. */
	assert_int_equal(crilog_write(l, CRILOG_STDOUT, T0, big, 100, &e), 0);
	assert_int_equal(
	    crilog_write(l, CRILOG_STDOUT, T0, big + 100, 2 * CRILOG_LINE_MAX + 11 - 100, &e), 0);
	/* Exactly the limit and a newline is one F record. */
	memset(big, 'y', CRILOG_LINE_MAX);
	big[CRILOG_LINE_MAX] = '\n';
	assert_int_equal(crilog_write(l, CRILOG_STDERR, T0, big, CRILOG_LINE_MAX + 1, &e), 0);
	crilog_close(l);
	got = read_all(path);
	assert_int_equal(count_lines(got), 4);
	for (line = strtok_r(got, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		assert_int_equal(crilog_parse(line, strlen(line), &r, &e), 0);
		assert_true(r.msg_len <= CRILOG_LINE_MAX);
		if (n < 3)
			total += r.msg_len;
		assert_int_equal(r.partial, n < 2);
		assert_int_equal(r.stream, n < 3 ? CRILOG_STDOUT : CRILOG_STDERR);
	}
	assert_int_equal(total, 2 * CRILOG_LINE_MAX + 10);
	unit_env_free(u);
}

static void test_rotation(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *path = path_join(u->dir, "log");
	struct crilog *l = NULL;
	struct err e = ERR_INIT;
	size_t total = 0;
	char msg[64];
	int i;

	(void)state;
	/* Each record is 30 + 1 + 6 + 3 + 9 + 1 = 50 bytes; 3 fit in 160. */
	assert_int_equal(crilog_open(path, 160, 2, &l, &e), 0);
	for (i = 0; i < 20; i++) {
		snprintf(msg, sizeof(msg), "line %04d\n", i);
		assert_int_equal(crilog_write(l, CRILOG_STDOUT, T0, msg, strlen(msg), &e), 0);
	}
	crilog_close(l);
	for (i = 0; i <= 3; i++) {
		cleanup_free char *p = i == 0 ? xstrdup(path) : xasprintf("%s.%d", path, i);

		if (i == 3) {
			assert_false(fs_exists(p));
			continue;
		}
		cleanup_free char *s = read_all(p);
		assert_true(strlen(s) <= 160);
		total += count_lines(s);
		if (i == 0)
			assert_non_null(strstr(s, "line 0019\n"));
		if (i == 2)
			assert_non_null(strstr(s, "line 0012\n"));
	}
	assert_int_equal(total, 3 + 3 + 2); /* 18, 19; 15-17; 12-14 */
	/* Reopening appends to the current file and keeps counting its size. */
	assert_int_equal(crilog_open(path, 160, 2, &l, &e), 0);
	assert_int_equal(crilog_write(l, CRILOG_STDOUT, T0, "line 0020\n", 10, &e), 0);
	assert_int_equal(crilog_write(l, CRILOG_STDOUT, T0, "line 0021\n", 10, &e), 0);
	crilog_close(l);
	{
		cleanup_free char *s = read_all(path);
		cleanup_free char *p1 = xasprintf("%s.1", path);
		cleanup_free char *s1 = read_all(p1);

		assert_non_null(strstr(s, "line 0021\n"));
		assert_null(strstr(s, "line 0018\n"));
		assert_non_null(strstr(s1, "line 0018\n"));
		assert_non_null(strstr(s1, "line 0020\n"));
	}
	unit_env_free(u);
}

static void test_open_fails(void **state)
{
	struct crilog *l = NULL;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(crilog_open("/nonexistent-dir/log", 0, 0, &l, &e), -1);
	assert_int_equal(e.code, E_NOTFOUND);
	assert_null(l);
}

static void test_parse(void **state)
{
	static const struct {
		const char *line;
		int64_t ns;
		enum crilog_stream s;
		bool partial;
		const char *msg;
	} ok[] = {
	    {"2026-11-18T11:06:40.123456789Z stdout F hello world", T0, CRILOG_STDOUT, false,
	     "hello world"},
	    {"2026-11-18T11:06:40.123456789Z stderr P  two  spaces", T0, CRILOG_STDERR, true,
	     " two  spaces"},
	    {"2026-11-18T11:06:40.123456789Z stdout F ", T0, CRILOG_STDOUT, false, ""},
	    {"2026-11-18T11:06:40.123456789Z stdout F", T0, CRILOG_STDOUT, false, ""},
	    {"2026-11-18T11:06:40.1234Z stdout F a", 1795000000123400000LL, CRILOG_STDOUT, false,
	     "a"},
	    {"2026-11-18T12:06:40.123456789+01:00 stdout F a", T0, CRILOG_STDOUT, false, "a"},
	};
	static const char *const bad[] = {
	    "",
	    "hello",
	    "2026-11-18T11:06:40Z",
	    "yesterday stdout F a",
	    "2026-11-18T11:06:40Z stdin F a",
	    "2026-11-18T11:06:40Z stdout X a",
	    "2026-11-18T11:06:40Z stdout FF a",
	    "2026-11-18T11:06:40Z stdout",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct crilog_record r;
		struct err e = ERR_INIT;

		assert_int_equal(crilog_parse(ok[i].line, strlen(ok[i].line), &r, &e), 0);
		assert_int_equal(r.time_ns, ok[i].ns);
		assert_int_equal(r.stream, ok[i].s);
		assert_int_equal(r.partial, ok[i].partial);
		assert_int_equal(r.msg_len, strlen(ok[i].msg));
		assert_memory_equal(r.msg, ok[i].msg, r.msg_len);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct crilog_record r = {.msg_len = 42};
		struct err e = ERR_INIT;

		assert_int_equal(crilog_parse(bad[i], strlen(bad[i]), &r, &e), -1);
		assert_int_equal(e.code, E_CORRUPT);
		assert_int_equal(r.msg_len, 42);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),    cmocka_unit_test(test_line_limit),
	    cmocka_unit_test(test_rotation), cmocka_unit_test(test_open_fails),
	    cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

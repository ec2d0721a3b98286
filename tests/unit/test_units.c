/* tests/unit/test_units.c - sizes, durations, times and statuses, both ways (common/util/units.h)
 */
#include "tests/unit/unit.h"
#include "common/util/units.h"

#define S NSEC_PER_SEC

static void test_parse_duration(void **state)
{
	static const struct {
		const char *in;
		int64_t ns;
	} ok[] = {{"500ms", 500 * NSEC_PER_MSEC},
	          {"10s", 10 * S},
	          {"5m", 300 * S},
	          {"2h", 7200 * S},
	          {"1d", 86400 * S},
	          {"1h30m", 5400 * S},
	          {"1.5s", 1500 * NSEC_PER_MSEC},
	          {"10", 10 * S},
	          {"0", 0},
	          {"250us", 250000},
	          {"7ns", 7},
	          {"30d", 30 * 86400 * S}};
	static const struct {
		const char *in, *msg;
	} bad[] = {{"10x", "duration \"10x\": unknown unit \"x\""},
	           {"", "duration \"\": empty"},
	           {"-5s", "duration \"-5s\": negative"},
	           {"s", "duration \"s\": expected a number at \"s\""},
	           {"1s5", "duration \"1s5\": missing unit"},
	           {"99999999999999999999h", "duration \"99999999999999999999h\": too large"},
	           {"9999999999d", "duration \"9999999999d\": too large"}};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct err e = ERR_INIT;
		int64_t v = -1;

		assert_int_equal(units_parse_duration(ok[i].in, &v, &e), 0);
		assert_int_equal(v, ok[i].ns);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct err e = ERR_INIT;
		int64_t v = 42;

		assert_int_equal(units_parse_duration(bad[i].in, &v, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_string_equal(e.msg, bad[i].msg);
		assert_int_equal(v, 42);
	}
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *in;
		int64_t bytes;
	} ok[] = {{"100", 100},        {"512k", 512 * 1024}, {"64M", 64 << 20},
	          {"64MiB", 64 << 20}, {"64MB", 64 << 20},   {"64mb", 64 << 20},
	          {"1.5G", 3LL << 29}, {"2T", 2LL << 40},    {"10b", 10}};
	static const char *const bad[] = {"12Q", "M", "", "-1k", "1e3", "5MiBs", "99999999999P"};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct err e = ERR_INIT;
		int64_t v = -1;

		assert_int_equal(units_parse_size(ok[i].in, &v, &e), 0);
		assert_int_equal(v, ok[i].bytes);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct err e = ERR_INIT;
		int64_t v = 42;

		assert_int_equal(units_parse_size(bad[i], &v, &e), -1);
		assert_int_equal(e.code, E_INVALID);
		assert_non_null(strstr(e.msg, "size \""));
		assert_int_equal(v, 42);
	}
}

static void test_format_size(void **state)
{
	static const struct {
		int64_t in;
		const char *out;
	} t[] = {{0, "0B"},       {999, "999B"},        {1000, "1kB"},
	         {1500, "1.5kB"}, {12345678, "12.3MB"}, {1234567890, "1.23GB"},
	         {999999, "1MB"}, {100000000, "100MB"}, {5LL * 1000 * 1000 * 1000 * 1000, "5TB"}};
	char b[UNITS_BUFSZ];
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		units_format_size(t[i].in, b, sizeof(b));
		assert_string_equal(b, t[i].out);
	}
}

static void test_format_duration(void **state)
{
	static const struct {
		int64_t in;
		const char *out;
	} t[] = {{0, "Less than a second"},
	         {S / 2, "Less than a second"},
	         {1 * S, "1 second"},
	         {59 * S, "59 seconds"},
	         {60 * S, "About a minute"},
	         {119 * S, "About a minute"},
	         {5 * 60 * S, "5 minutes"},
	         {59 * 60 * S, "59 minutes"},
	         {60 * 60 * S, "About an hour"},
	         {3 * 3600 * S, "3 hours"},
	         {47 * 3600 * S, "47 hours"},
	         {2 * 86400 * S, "2 days"},
	         {13 * 86400 * S, "13 days"},
	         {21 * 86400 * S, "3 weeks"},
	         {120 * 86400 * S, "4 months"},
	         {800 * 86400 * S, "2 years"}};
	char b[UNITS_BUFSZ];
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		units_format_duration(t[i].in, b, sizeof(b));
		assert_string_equal(b, t[i].out);
	}
}

static void test_format_elapsed(void **state)
{
	static const struct {
		int64_t in;
		const char *out;
	} t[] = {{850, "850ns"},        {850000, "850us"}, {12300000, "12.3ms"},
	         {1240000000, "1.24s"}, {123 * S, "2m3s"}, {3 * 3600 * S + 5 * 60 * S, "3h5m"}};
	char b[UNITS_BUFSZ];
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		units_format_elapsed(t[i].in, b, sizeof(b));
		assert_string_equal(b, t[i].out);
	}
}

static void test_rfc3339(void **state)
{
	static const struct {
		const char *in;
		int64_t ns;
	} ok[] = {{"2026-11-18T11:06:40Z", 1795000000LL * S},
	          {"2026-11-18T11:06:40.123456789Z", 1795000000LL * S + 123456789},
	          {"2026-11-18T13:06:40+02:00", 1795000000LL * S},
	          {"2026-11-18T10:36:40.5-00:30", 1795000000LL * S + 500000000},
	          {"1970-01-01T00:00:00Z", 0}};
	static const char *const bad[] = {"2026-11-19",
	                                  "2026-11-19T09:46:40",
	                                  "2026-13-19T09:46:40Z",
	                                  "2026-11-19T09:46:40Zx",
	                                  "2026-11-19T09:46:40.Z",
	                                  "now"};
	char b[UNITS_BUFSZ];
	int64_t v;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct err e = ERR_INIT;

		assert_int_equal(units_parse_rfc3339(ok[i].in, &v, &e), 0);
		assert_int_equal(v, ok[i].ns);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct err e = ERR_INIT;

		assert_int_equal(units_parse_rfc3339(bad[i], &v, &e), -1);
		assert_int_equal(e.code, E_INVALID);
	}
	/* the ends of int64 nanoseconds, and one step past each: an error, never a wrapped time */
	assert_int_equal(units_parse_rfc3339("2262-04-11T23:47:16.854775807Z", &v, NULL), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(units_parse_rfc3339("1677-09-21T00:12:43.145224192Z", &v, NULL), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(units_parse_rfc3339("2262-04-12T01:47:16+02:00", &v, NULL), 0);
	{
		static const char *const far[] = {"2262-04-11T23:47:16.854775808Z",
		                                  "2262-04-11T23:47:17Z",
		                                  "2262-04-11T21:47:17-02:00",
		                                  "1677-09-21T00:12:43.145224191Z",
		                                  "1677-09-21T00:12:43Z",
		                                  "9999-12-31T23:59:59Z",
		                                  "0000-01-01T00:00:00Z",
		                                  "1000-01-01T00:00:00Z",
		                                  "3000-01-01T00:00:00Z"};

		for (size_t i = 0; i < ARRAY_SIZE(far); i++) {
			struct err e = ERR_INIT;

			v = 42;
			assert_int_equal(units_parse_rfc3339(far[i], &v, &e), -1);
			assert_int_equal(e.code, E_INVALID);
			assert_non_null(strstr(e.msg, "out of range"));
			assert_int_equal(v, 42); /* untouched on failure */
		}
	}
	units_format_rfc3339(1795000000LL * S + 7, true, b, sizeof(b));
	assert_string_equal(b, "2026-11-18T11:06:40.000000007Z");
	units_format_rfc3339(1795000000LL * S + 7, false, b, sizeof(b));
	assert_string_equal(b, "2026-11-18T11:06:40Z");
	assert_int_equal(units_parse_rfc3339("2026-11-18T11:06:40.000000007Z", &v, NULL), 0);
	assert_int_equal(v, 1795000000LL * S + 7);
}

static void test_parse_time(void **state)
{
	int64_t now = unit_fixed_now(), v;
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(units_parse_time("10m", now, &v, &e), 0);
	assert_int_equal(v, now - 600 * S);
	assert_int_equal(units_parse_time("1700000000", now, &v, &e), 0);
	assert_int_equal(v, 1700000000LL * S);
	assert_int_equal(units_parse_time("2026-11-18", now, &v, &e), 0);
	assert_int_equal(v, (1795000000LL - 11 * 3600 - 6 * 60 - 40) * S);
	assert_int_equal(units_parse_time("2026-11-18T11:06:40Z", now, &v, &e), 0);
	assert_int_equal(v, now);
	assert_int_equal(units_parse_time("9223372036", now, &v, &e), 0);
	assert_int_equal(units_parse_time("9223372037", now, &v, &e), -1);
	assert_string_equal(
	    e.msg, "time \"9223372037\": out of range (Unix seconds up to 9223372036, in 2262)");
	err_clear(&e);
	assert_int_equal(units_parse_time("3000-01-01", now, &v, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	err_clear(&e);
	assert_int_equal(units_parse_time("yesterday", now, &v, &e), -1);
	assert_string_equal(
	    e.msg,
	    "time \"yesterday\": expected RFC 3339, a date, Unix seconds or a duration like 10m");
}

static void test_status(void **state)
{
	int64_t now = unit_fixed_now();
	char b[UNITS_BUFSZ];
	(void)state;
	units_format_status(STATUS_CREATED, 0, 0, 0, now, b, sizeof(b));
	assert_string_equal(b, "Created");
	units_format_status(STATUS_RUNNING, 0, now - 5 * 60 * S, 0, now, b, sizeof(b));
	assert_string_equal(b, "Up 5 minutes");
	units_format_status(STATUS_STOPPED, 137, now - 3 * 3600 * S, now - 2 * 3600 * S, now, b,
	                    sizeof(b));
	assert_string_equal(b, "Exited (137) 2 hours ago");
	units_format_status(STATUS_UNKNOWN, 0, 0, 0, now, b, sizeof(b));
	assert_string_equal(b, "Unknown (shim lost)");
	units_format_status(STATUS_PAUSED, 0, now - 2 * S, 0, now, b, sizeof(b));
	assert_string_equal(b, "Up 2 seconds (Paused)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_duration), cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_format_size),    cmocka_unit_test(test_format_duration),
	    cmocka_unit_test(test_format_elapsed), cmocka_unit_test(test_rfc3339),
	    cmocka_unit_test(test_parse_time),     cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}

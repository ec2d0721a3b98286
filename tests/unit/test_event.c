/* tests/unit/test_event.c - the event schema (DESIGN.md lesson 4 "Events are kept"): one JSON
 * line that round-trips, always fits EVENT_LINE_MAX, and a parser that refuses anything else */
#include "tests/unit/unit.h"
#include "common/store/event.h"
#include "common/store/journal.h"
#include "common/store/layout.h"
#include "common/util/buf.h"

#define T "\"time\":\"2026-11-18T11:06:40Z\","

static struct event sample(void)
{
	struct event ev = {.time_ns = unit_fixed_now() + 5,
	                   .type = EVENT_WARNING,
	                   .reason = "RelistSlow",
	                   .object = {OBJECT_CONTAINER, "abc", "web"},
	                   .message = "took 2s",
	                   .source = "relist",
	                   .host = "node1"};
	return ev;
}

static void test_round_trip(void **state)
{
	struct event ev = sample(), back = {0};
	cleanup_buf struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(event_format(&ev, &b, &e), 0);
	assert_string_equal(
	    buf_str(&b), "{\"time\":\"2026-11-18T11:06:40.000000005Z\",\"type\":\"Warning\","
	                 "\"reason\":\"RelistSlow\",\"object\":{\"kind\":\"container\",\"id\":"
	                 "\"abc\",\"name\":\"web\"},\"message\":\"took 2s\",\"source\":\"relist\","
	                 "\"host\":\"node1\"}\n");
	assert_int_equal(event_parse(b.data, b.len, &back, &e), 0);
	assert_int_equal(back.time_ns, ev.time_ns);
	assert_int_equal(back.type, EVENT_WARNING);
	assert_string_equal(back.reason, "RelistSlow");
	assert_int_equal(back.object.kind, OBJECT_CONTAINER);
	assert_string_equal(back.object.id, "abc");
	assert_string_equal(back.object.name, "web");
	assert_string_equal(back.message, "took 2s");
	assert_string_equal(back.source, "relist");
	assert_string_equal(back.host, "node1");
	event_release(&back);
	assert_null(back.reason);
	/* Slashes are not escaped; a node event has no id or name. */
	ev.message = "pulled docker.io/library/alpine";
	ev.object.kind = OBJECT_NODE;
	ev.object.id = ev.object.name = NULL;
	buf_reset(&b);
	assert_int_equal(event_format(&ev, &b, &e), 0);
	assert_non_null(strstr(buf_str(&b), "docker.io/library/alpine"));
	assert_non_null(strstr(buf_str(&b), "\"object\":{\"kind\":\"node\"}"));
	assert_int_equal(event_parse(b.data, b.len - 1, &back, &e), 0); /* without its '\n' */
	assert_null(back.object.id);
	event_release(&back);
}

static void test_huge_message_truncated(void **state)
{
	static const char *const fill[] = {"\"", "x", "\xc3\xa9", "\x01"};
	struct event ev = sample(), back = {0};
	cleanup_buf struct buf b = BUF_INIT;
	cleanup_free char *huge = xmalloc(100001);
	struct err e = ERR_INIT;
	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(fill); f++) {
		size_t fl = strlen(fill[f]), n = 0;

		while (n + fl <= 100000) {
			memcpy(huge + n, fill[f], fl);
			n += fl;
		}
		huge[n] = '\0';
		ev.message = huge;
		buf_reset(&b);
		assert_int_equal(event_format(&ev, &b, &e), 0);
		assert_true(b.len <= EVENT_LINE_MAX);
		assert_true(b.len > EVENT_LINE_MAX / 2); /* cut, not emptied */
		assert_int_equal(b.data[b.len - 1], '\n');
		assert_int_equal(event_parse(b.data, b.len, &back, &e), 0);
		assert_int_equal(strcmp(back.message + strlen(back.message) - 3, "..."), 0);
		/* Cut on a character boundary. */
		if (fl == 2)
			assert_int_equal((strlen(back.message) - 3) % 2, 0);
		event_release(&back);
	}
}

static void test_bad_reason_refused(void **state)
{
	static const char *const bad[] = {
	    NULL,
	    "",
	    "lower",
	    "Has-dash",
	    "Has space",
	    "Ünicode",
	    "A1234567890123456789012345678901234567890123456789012345678901234" /* 65 */};
	struct event ev = sample();
	cleanup_buf struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ev.reason = (char *)bad[i];
		assert_int_equal(event_format(&ev, &b, &e), -1);
		assert_int_equal(e.code, E_INVALID);
	}
	assert_int_equal(b.len, 0);
	assert_true(
	    event_reason_valid("A12345678901234567890123456789012345678901234567890123456789012"
	                       "3") == 1); /* exactly 64 */
}

static void test_broken_lines(void **state)
{
	static const char *const broken[] = {
	    "",
	    "\n",
	    "not json",
	    "[]",
	    "\"string\"",
	    "{}",
	    "{\"time\":\"2026-11-18T11:06:40Z\"",
	    "{" T "\"type\":\"Normal\",\"reason\":\"X\",\"object\":{\"kind\":\"node\"},"
	    "\"source\":\"s\"} trailing",
	    "{" T
	    "\"type\":\"Odd\",\"reason\":\"X\",\"object\":{\"kind\":\"node\"},\"source\":\"s\"}",
	    "{\"time\":\"yesterday\",\"type\":\"Normal\",\"reason\":\"X\",\"object\":{\"kind\":"
	    "\"node\"},\"source\":\"s\"}",
	    "{\"time\":42,\"type\":\"Normal\",\"reason\":\"X\",\"object\":{\"kind\":\"node\"},"
	    "\"source\":\"s\"}",
	    "{" T "\"type\":\"Normal\",\"reason\":\"lower\",\"object\":{\"kind\":\"node\"},"
	    "\"source\":\"s\"}",
	    "{" T "\"type\":\"Normal\",\"reason\":\"X\",\"object\":{\"kind\":\"pod\"},"
	    "\"source\":\"s\"}",
	    "{" T "\"type\":\"Normal\",\"reason\":\"X\",\"object\":{\"kind\":\"node\"}}",
	    "{" T "\"type\":\"Normal\",\"reason\":\"X\",\"source\":\"s\"}",
	    "{" T "\"type\":\"Normal\",\"reason\":\"X\",\"object\":\"node\",\"source\":\"s\"}",
	    "{" T "\"type\":\"Normal\",\"reason\":\"X\",\"object\":{\"kind\":\"node\",\"id\":7},"
	    "\"source\":\"s\"}",
	    "{" T "\"type\":\"Normal\",\"reason\":\"X\",\"object\":{\"kind\":\"node\"},"
	    "\"source\":\"s\",\"message\":[]}",
	    "{" T "\"reason\":\"X\",\"object\":{\"kind\":\"node\"},\"source\":\"s\"}",
	};
	static const char *good = "{" T "\"type\":\"Normal\",\"reason\":\"X\",\"object\":{\"kind\":"
	                          "\"node\"},\"source\":\"s\"}";
	struct event back = {0};
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(event_parse(good, strlen(good), &back, &e), 0);
	event_release(&back);
	for (size_t i = 0; i < ARRAY_SIZE(broken); i++) {
		err_clear(&e);
		assert_int_equal(event_parse(broken[i], strlen(broken[i]), &back, &e), -1);
		assert_int_equal(e.code, E_CORRUPT);
		assert_true(e.msg[0] != '\0');
		assert_null(back.reason); /* out-params only on success */
	}
	assert_int_equal(event_parse(broken[0], 0, &back, NULL), -1); /* no err wanted */
}

static int64_t fixed_clock(void)
{
	return unit_fixed_now();
}

static void test_emit(void **state)
{
	struct unit_env *u = unit_env_new();
	struct journal_reader *r = NULL;
	struct event ev = {0};
	struct err e = ERR_INIT;
	(void)state;
	u->ctx.now_ns = fixed_clock;
	assert_int_equal(store_init(&u->ctx, &e), 0);
	assert_int_equal(event_emit(&u->ctx, EVENT_NORMAL, "Started", OBJECT_CONTAINER, "c1", "web",
	                            NULL, &e, "started %d process%s", 1, ""),
	                 0);
	assert_int_equal(event_emit(&u->ctx, EVENT_WARNING, "Died", OBJECT_CONTAINER, "c1", NULL,
	                            "shim", &e, "exit %d", 137),
	                 0);
	assert_int_equal(
	    event_emit(&u->ctx, EVENT_NORMAL, "bad", OBJECT_NODE, NULL, NULL, NULL, &e, "x"), -1);
	assert_int_equal(journal_reader_open(&u->ctx, &r, &e), 0);
	assert_int_equal(journal_next(r, &ev, &e), 1);
	assert_int_equal(ev.time_ns, unit_fixed_now());
	assert_string_equal(ev.message, "started 1 process");
	assert_string_equal(ev.source, "unit"); /* ctx->applet */
	assert_non_null(ev.host);
	assert_true(ev.host[0] != '\0');
	event_release(&ev);
	assert_int_equal(journal_next(r, &ev, &e), 1);
	assert_int_equal(ev.type, EVENT_WARNING);
	assert_string_equal(ev.source, "shim");
	assert_null(ev.object.name);
	event_release(&ev);
	assert_int_equal(journal_next(r, &ev, &e), 0);
	journal_reader_free(r);
	unit_env_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_huge_message_truncated),
	    cmocka_unit_test(test_bad_reason_refused),
	    cmocka_unit_test(test_broken_lines),
	    cmocka_unit_test(test_emit),
	};
	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}

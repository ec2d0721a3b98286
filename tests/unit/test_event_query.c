/* tests/unit/test_event_query.c - the journal's filters, last-N queries across rotated files,
 * counts per key and bucket against the previous period, and the change wording (issue 7) */
#include "tests/unit/unit.h"
#include "common/store/event.h"
#include "common/store/event_query.h"
#include "common/store/journal.h"

#define T0  (1795000000LL * NSEC_PER_SEC)
#define MIN (60 * NSEC_PER_SEC)
#define HR  (60 * MIN)

#include "common/util/units.h"

static void add(struct unit_env *u, int64_t t, enum event_type type, const char *reason,
                enum object_kind kind, const char *id, const char *name, const char *source)
{
	struct err e = ERR_INIT;
	struct event ev = {.time_ns = t,
	                   .type = type,
	                   .reason = (char *)reason,
	                   .object = {kind, (char *)id, (char *)name},
	                   .message = (char *)"m",
	                   .source = (char *)source,
	                   .host = (char *)"node1"};

	if (journal_append(&u->ctx, &ev, &e) < 0)
		fail_msg("append: %s", e.msg);
}

static const struct event ev_c = {.time_ns = T0,
                                  .type = EVENT_WARNING,
                                  .reason = (char *)"OOMKilled",
                                  .object = {OBJECT_CONTAINER, (char *)"0123456789abcdef",
                                             (char *)"web"},
                                  .source = (char *)"shim",
                                  .host = (char *)"node1"};

static void test_filter_match(void **state)
{
	static const char *const oom[] = {"Died", "OOMKilled"}, *const pulled[] = {"Pulled"};
	static const struct {
		const char *name;
		struct event_filter f;
		bool want;
	} cases[] = {
	    {"empty filter", {0}, true},
	    {"since equal is kept", {.since_ns = T0}, true},
	    {"since after", {.since_ns = T0 + 1}, false},
	    {"until is exclusive", {.until_ns = T0}, false},
	    {"until after", {.until_ns = T0 + 1}, true},
	    {"type Warning", {.has_type = true, .type = EVENT_WARNING}, true},
	    {"type Normal", {.has_type = true, .type = EVENT_NORMAL}, false},
	    {"one of two reasons", {.reasons = oom, .n_reasons = 2}, true},
	    {"another reason", {.reasons = pulled, .n_reasons = 1}, false},
	    {"object by name", {.object = "web"}, true},
	    {"object by full id", {.object = "0123456789abcdef"}, true},
	    {"object by id prefix", {.object = "0123"}, true},
	    {"object by label", {.object = "container/web"}, true},
	    {"object label of another kind", {.object = "image/web"}, false},
	    {"object name prefix is not a match", {.object = "we"}, false},
	    {"source", {.source = "shim"}, true},
	    {"other source", {.source = "pull"}, false},
	    {"all together", {.since_ns = T0 - 1, .until_ns = T0 + 1, .has_type = true,
	                      .type = EVENT_WARNING, .reasons = oom, .n_reasons = 2,
	                      .object = "web", .source = "shim"}, true},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (event_filter_match(&cases[i].f, &ev_c) != cases[i].want)
			fail_msg("%s: expected %d", cases[i].name, cases[i].want);
}

static void test_object_label(void **state)
{
	struct event ev = ev_c;
	char *s;
	(void)state;

	s = event_object_label(&ev);
	assert_string_equal(s, "container/web");
	free(s);
	ev.object.name = NULL;
	s = event_object_label(&ev);
	assert_string_equal(s, "container/0123456789ab");
	free(s);
	ev.object.kind = OBJECT_NODE;
	ev.object.id = NULL;
	s = event_object_label(&ev);
	assert_string_equal(s, "node/node1");
	free(s);
}

static void test_query_last_n_across_rotation(void **state)
{
	struct unit_env *u = unit_env_new();
	struct event_filter f = {.has_type = true, .type = EVENT_WARNING};
	struct err e = ERR_INIT;
	struct event *v = NULL;
	size_t n = 0;
	uint64_t skipped = 9;
	(void)state;

	for (int i = 0; i < 50; i++) {
		add(u, T0 + i, i % 2 ? EVENT_WARNING : EVENT_NORMAL, "Tested", OBJECT_NODE, NULL,
		    NULL, "unit");
		if (i % 10 == 9)
			assert_int_equal(journal_rotate(&u->ctx, &e), 0);
	}
	/* every match, oldest first, across 5 rotated files and the active one */
	assert_int_equal(event_query(&u->ctx, &f, 0, &v, &n, &skipped, &e), 0);
	assert_int_equal(n, 25);
	assert_int_equal(skipped, 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].time_ns, T0 + 1 + 2 * (int64_t)i);
	events_free(v, n);
	/* the last 7: the ring keeps the newest, still in order */
	assert_int_equal(event_query(&u->ctx, &f, 7, &v, &n, NULL, &e), 0);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].time_ns, T0 + 49 - 2 * (6 - (int64_t)i));
	events_free(v, n);
	/* more than there are */
	assert_int_equal(event_query(&u->ctx, &f, 100, &v, &n, NULL, &e), 0);
	assert_int_equal(n, 25);
	events_free(v, n);
	unit_env_free(u);
}

static void test_query_empty_journal(void **state)
{
	struct unit_env *u = unit_env_new();
	struct event_filter f = {0};
	struct err e = ERR_INIT;
	struct event *v = NULL;
	size_t n = 1;
	(void)state;

	assert_int_equal(event_query(&u->ctx, &f, 3, &v, &n, NULL, &e), 0);
	assert_int_equal(n, 0);
	events_free(v, n);
	unit_env_free(u);
}

/* The raw-line shortcut must never hide a match: lines with spaces, other key orders, and
 * messages that quote the keys are decided by the full parse. */
static void test_query_lines_written_by_others(void **state)
{
	static const char *const oom[] = {"OOMKilled"};
	struct unit_env *u = unit_env_new();
	cleanup_free char *dir = path_join(u->root, "events");
	cleanup_free char *path = path_join(dir, "journal.jsonl");
	struct event_filter f = {.since_ns = T0, .has_type = true, .type = EVENT_WARNING,
	                         .reasons = oom, .n_reasons = 1};
	struct err e = ERR_INIT;
	struct event *v = NULL;
	size_t n = 0;
	FILE *fp;
	(void)state;

	assert_int_equal(fs_mkdir_p(dir, 0700, &e), 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	/* spaces after the colons */
	fputs("{\"time\": \"2026-11-18T11:06:40Z\", \"type\": \"Warning\", \"reason\": \"OOMKilled\", "
	      "\"object\": {\"kind\": \"node\"}, \"message\": \"a\", \"source\": \"x\"}\n", fp);
	/* another key order */
	fputs("{\"reason\":\"OOMKilled\",\"source\":\"x\",\"object\":{\"kind\":\"node\"},"
	      "\"type\":\"Warning\",\"time\":\"2026-11-18T11:06:41Z\",\"message\":\"b\"}\n", fp);
	/* a message quoting the keys of another reason and type */
	fputs("{\"time\":\"2026-11-18T11:06:42Z\",\"type\":\"Warning\",\"reason\":\"OOMKilled\","
	      "\"object\":{\"kind\":\"node\"},\"message\":\"c \\\"type\\\":\\\"Normal\\\" "
	      "\\\"reason\\\":\\\"Died\\\"\",\"source\":\"x\"}\n", fp);
	/* before --since: left out by the shortcut */
	fputs("{\"time\":\"2026-11-18T11:06:39Z\",\"type\":\"Warning\",\"reason\":\"OOMKilled\","
	      "\"object\":{\"kind\":\"node\"},\"message\":\"d\",\"source\":\"x\"}\n", fp);
	/* a message that quotes the wanted reason, on a Died event: left out by the full match */
	fputs("{\"time\":\"2026-11-18T11:06:43Z\",\"type\":\"Warning\",\"reason\":\"Died\","
	      "\"object\":{\"kind\":\"node\"},\"message\":\"\\\"reason\\\":\\\"OOMKilled\\\"\","
	      "\"source\":\"x\"}\n", fp);
	fclose(fp);
	assert_int_equal(event_query(&u->ctx, &f, 0, &v, &n, NULL, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].message, "a");
	assert_string_equal(v[1].message, "b");
	assert_string_equal(v[2].message, "c \"type\":\"Normal\" \"reason\":\"Died\"");
	events_free(v, n);
	/* the last two, raw lines kept and parsed at the end */
	assert_int_equal(event_query(&u->ctx, &f, 2, &v, &n, NULL, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].message, "b");
	assert_string_equal(v[1].message, "c \"type\":\"Normal\" \"reason\":\"Died\"");
	events_free(v, n);
	f.object = "node/";
	assert_int_equal(event_query(&u->ctx, &f, 1, &v, &n, NULL, &e), 0);
	assert_int_equal(n, 0);
	events_free(v, n);
	unit_env_free(u);
}

static void test_stats_window_buckets_previous(void **state)
{
	struct unit_env *u = unit_env_new();
	struct event_filter f = {0};
	struct event_stats s;
	struct err e = ERR_INIT;
	int64_t since = T0, until = T0 + 24 * HR;
	(void)state;

	/* previous period [T0-24h, T0): OOMKilled 6, Pulled 2; before it: ignored */
	add(u, T0 - 25 * HR, EVENT_WARNING, "OOMKilled", OBJECT_CONTAINER, "a", "web", "shim");
	for (int i = 0; i < 6; i++)
		add(u, T0 - 24 * HR + i * HR, EVENT_WARNING, "OOMKilled", OBJECT_CONTAINER, "a",
		    "web", "shim");
	add(u, T0 - MIN, EVENT_NORMAL, "Pulled", OBJECT_IMAGE, NULL, "busybox", "pull");
	add(u, T0 - 2 * MIN, EVENT_NORMAL, "Pulled", OBJECT_IMAGE, NULL, "busybox", "pull");
	/* window: OOMKilled 12 (10 in the first hour, 2 in the last), Died 1; after: ignored */
	for (int i = 0; i < 10; i++)
		add(u, T0 + i * MIN, EVENT_WARNING, "OOMKilled", OBJECT_CONTAINER, "a", "web", "shim");
	add(u, until - 1, EVENT_WARNING, "OOMKilled", OBJECT_CONTAINER, "b", "db", "shim");
	add(u, until - HR, EVENT_WARNING, "OOMKilled", OBJECT_CONTAINER, "b", "db", "shim");
	add(u, T0 + 5 * HR, EVENT_NORMAL, "Died", OBJECT_CONTAINER, "a", "web", "shim");
	add(u, until, EVENT_WARNING, "OOMKilled", OBJECT_CONTAINER, "a", "web", "shim");

	assert_int_equal(event_stats_init(&s, STATS_BY_REASON, since, until, HR, &e), 0);
	assert_int_equal(s.n_buckets, 24);
	assert_int_equal(event_stats_collect(&u->ctx, &f, &s, NULL, &e), 0);
	assert_int_equal(s.n_rows, 3);
	assert_string_equal(s.rows[0].key, "OOMKilled");
	assert_int_equal(s.rows[0].count, 12);
	assert_int_equal(s.rows[0].previous, 6);
	assert_int_equal(s.rows[0].buckets[0], 10);
	assert_int_equal(s.rows[0].buckets[23], 2);
	assert_string_equal(s.rows[1].key, "Died");
	assert_int_equal(s.rows[1].count, 1);
	assert_int_equal(s.rows[1].buckets[5], 1);
	assert_string_equal(s.rows[2].key, "Pulled");
	assert_int_equal(s.rows[2].count, 0);
	assert_int_equal(s.rows[2].previous, 2);
	assert_int_equal(s.total, 13);
	assert_int_equal(s.total_previous, 8);
	event_stats_release(&s);

	/* by object, Warnings only */
	f.has_type = true;
	f.type = EVENT_WARNING;
	assert_int_equal(event_stats_init(&s, STATS_BY_OBJECT, since, until, 6 * HR, &e), 0);
	assert_int_equal(event_stats_collect(&u->ctx, &f, &s, NULL, &e), 0);
	assert_int_equal(s.n_rows, 2);
	assert_string_equal(s.rows[0].key, "container/web");
	assert_int_equal(s.rows[0].count, 10);
	assert_int_equal(s.rows[0].previous, 6);
	assert_string_equal(s.rows[1].key, "container/db");
	assert_int_equal(s.rows[1].count, 2);
	assert_int_equal(s.rows[1].buckets[3], 2);
	event_stats_release(&s);

	/* by type */
	f.has_type = false;
	assert_int_equal(event_stats_init(&s, STATS_BY_TYPE, since, until, 24 * HR, &e), 0);
	assert_int_equal(event_stats_collect(&u->ctx, &f, &s, NULL, &e), 0);
	assert_int_equal(s.n_rows, 2);
	assert_string_equal(s.rows[0].key, "Warning");
	assert_int_equal(s.rows[0].count, 12);
	assert_string_equal(s.rows[1].key, "Normal");
	assert_int_equal(s.rows[1].count, 1);
	assert_int_equal(s.rows[1].previous, 2);
	event_stats_release(&s);
	unit_env_free(u);
}

static void test_stats_many_keys(void **state)
{
	struct event_stats s;
	struct err e = ERR_INIT;
	char name[32];
	(void)state;

	/* enough keys to grow the index several times; every key counted once per add */
	assert_int_equal(event_stats_init(&s, STATS_BY_OBJECT, T0, T0 + HR, HR, &e), 0);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 1000; i++) {
			struct event ev = ev_c;

			snprintf(name, sizeof(name), "c%04d", i);
			ev.object.name = name;
			ev.time_ns = T0 + (i < 500 ? 0 : -1);
			event_stats_add(&s, &ev);
		}
	event_stats_finish(&s);
	assert_int_equal(s.n_rows, 1000);
	assert_int_equal(s.total, 1500);
	assert_int_equal(s.total_previous, 1500);
	assert_string_equal(s.rows[0].key, "container/c0000");
	assert_int_equal(s.rows[0].count, 3);
	assert_string_equal(s.rows[999].key, "container/c0999");
	assert_int_equal(s.rows[999].previous, 3);
	event_stats_release(&s);
}

static void test_stats_bad_windows(void **state)
{
	struct event_stats s;
	struct err e = ERR_INIT;
	(void)state;

	assert_int_equal(event_stats_init(&s, STATS_BY_REASON, T0, T0, HR, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_int_equal(event_stats_init(&s, STATS_BY_REASON, T0, T0 + HR, 0, &e), -1);
	assert_int_equal(event_stats_init(&s, STATS_BY_REASON, T0, T0 + 365 * 24 * HR,
	                                  NSEC_PER_SEC, &e),
	                 -1);
	assert_non_null(strstr(e.msg, "choose a longer bucket"));
	/* a last bucket shorter than the others */
	assert_int_equal(event_stats_init(&s, STATS_BY_REASON, T0, T0 + 90 * MIN, HR, &e), 0);
	assert_int_equal(s.n_buckets, 2);
	event_stats_release(&s);
}

static void test_stats_change_and_by(void **state)
{
	static const struct {
		uint64_t count, previous;
		const char *want;
	} cases[] = {{12, 6, "+100%"}, {3, 6, "-50%"}, {6, 6, "0%"},    {0, 0, "0%"},
	             {5, 0, "new"},    {0, 4, "-100%"}, {10, 3, "+233%"}};
	enum event_stats_by by;
	char b[32];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		event_stats_change(cases[i].count, cases[i].previous, b, sizeof(b));
		assert_string_equal(b, cases[i].want);
	}
	assert_int_equal(event_stats_by_parse("object", &by), 0);
	assert_int_equal(by, STATS_BY_OBJECT);
	assert_int_equal(event_stats_by_parse("reason", &by), 0);
	assert_int_equal(by, STATS_BY_REASON);
	assert_int_equal(event_stats_by_parse("Reason", &by), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filter_match),
	    cmocka_unit_test(test_object_label),
	    cmocka_unit_test(test_query_last_n_across_rotation),
	    cmocka_unit_test(test_query_empty_journal),
	    cmocka_unit_test(test_query_lines_written_by_others),
	    cmocka_unit_test(test_stats_window_buckets_previous),
	    cmocka_unit_test(test_stats_many_keys),
	    cmocka_unit_test(test_stats_bad_windows),
	    cmocka_unit_test(test_stats_change_and_by),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

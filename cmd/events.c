/* cmd/events.c - ctrbox events: query, follow, count and ship the event journal (DESIGN.md
 * lesson 4 and "events"; issue 7; ctrbox-events(1)) */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <json-c/json.h>

#include "cmd/applet.h"
#include "common/node/event_sink.h"
#include "common/store/event_query.h"
#include "common/store/journal_tail.h"
#include "common/util/buf.h"
#include "common/util/jsonio.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/out.h"
#include "common/util/units.h"

enum {
	O_SINCE = OPT_LONG + 1,
	O_UNTIL,
	O_TYPE,
	O_REASON,
	O_OBJECT,
	O_SOURCE,
	O_STATS,
	O_BY,
	O_BUCKET,
	O_SINK,
	O_CURSOR,
	O_FORMAT,
};

#define REASONS_MAX 64

static const struct opt events_opts[] = {
    {O_SINCE, "since", "TIME", "events at or after TIME (RFC 3339, a date, or a duration ago: 2h)",
     COMP_NONE, NULL, 0},
    {O_UNTIL, "until", "TIME", "events before TIME", COMP_NONE, NULL, 0},
    {O_TYPE, "type", "TYPE", "only this type", COMP_WORDS, "Normal|Warning", 0},
    {O_REASON, "reason", "REASON", "only this reason (repeatable)", COMP_NONE, NULL, 0},
    {O_OBJECT, "object", "OBJECT", "only events about this ID, ID prefix or name", COMP_CONTAINER,
     NULL, 0},
    {O_SOURCE, "source", "SOURCE", "only events from this applet (or shim)", COMP_APPLET, NULL, 0},
    {'n', "tail", "N", "only the last N matching events", COMP_NONE, NULL, 0},
    {'f', "follow", NULL, "keep printing events as they are appended", COMP_NONE, NULL, 0},
    {O_STATS, "stats", NULL, "counts per key and bucket, against the previous period", COMP_NONE,
     NULL, 0},
    {O_BY, "by", "KEY", "with --stats: count per reason (default), type or object", COMP_WORDS,
     "reason|type|object", 0},
    {O_BUCKET, "bucket", "DURATION", "with --stats: bucket length (default 1h)", COMP_NONE, NULL,
     0},
    {O_SINK, "sink", "URL", "with --follow: POST events to this webhook as JSON arrays",
     COMP_NONE, NULL, 0},
    {O_CURSOR, "cursor", "FILE", "with --sink: where the sink remembers how far it got",
     COMP_FILE, NULL, 0},
    {O_FORMAT, "format", "FORMAT", "output format", COMP_WORDS, "table|json|jsonl", 0},
    {0},
};

const struct applet applet_events = {
    .name = "events",
    .main = ctrbox_events,
    .opts = events_opts,
    .flags = 0, /* no -q or --no-trunc: events have no IDs to print; --format is its own */
    .usage = "events [OPTIONS]",
    .summary = "query, follow, count and ship the event journal",
    .description =
        "Events are read oldest first across the rotated journal files, without any lock.\n"
        "--follow waits for new events (inotify) until interrupted; with --since or -n it\n"
        "first prints the matching history. --stats counts events per key over the --since\n"
        "window (default the last 24h) against the period of the same length before it.\n"
        "--sink ships events in batches and resumes after the last acknowledged one.",
};

static const struct col events_cols[] = {
    {"time", "TIME", COL_STR},     {"type", "TYPE", COL_STR},       {"reason", "REASON", COL_STR},
    {"object", "OBJECT", COL_STR}, {"message", "MESSAGE", COL_STR}, {0},
};

static volatile sig_atomic_t events_stop;

static void events_on_signal(int sig)
{
	(void)sig;
	events_stop = 1;
}

struct events_args {
	struct event_filter f;
	const char *reasons[REASONS_MAX];
	uint64_t tail;
	bool follow, stats, since_set, until_set;
	enum event_stats_by by;
	int64_t bucket_ns;
	const char *sink, *cursor;
	bool by_set, bucket_set;
	int64_t now_ns; /* read once, so "--since 24h" spans exactly 24h to the default --until */
};

/* A single-line message for tables and follow lines. */
static char *one_line(const char *s)
{
	char *t = xstrdup(s ? s : "");

	for (char *p = t; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return t;
}

/* The canonical JSON of ev without its newline (the journal's own line). */
static int event_json_line(const struct event *ev, struct buf *b, struct err *e)
{
	buf_reset(b);
	if (event_format(ev, b, e) < 0)
		return -1;
	b->data[--b->len] = '\0';
	return 0;
}

static int print_list(struct ctx *ctx, const struct event *v, size_t n, struct err *e)
{
	cleanup_buf struct buf line = BUF_INIT;

	if (ctx->fmt == OUT_TABLE) {
		struct out *o = out_begin(ctx, events_cols);

		for (size_t i = 0; i < n; i++) {
			cleanup_free char *label = event_object_label(&v[i]);
			cleanup_free char *msg = one_line(v[i].message);
			char t[UNITS_BUFSZ];

			units_format_rfc3339(v[i].time_ns, false, t, sizeof(t));
			out_row(o, t, event_type_name(v[i].type), v[i].reason, label, msg);
		}
		return out_end(o, e);
	}
	if (ctx->fmt == OUT_JSONL) {
		for (size_t i = 0; i < n; i++) {
			if (event_json_line(&v[i], &line, e) < 0 ||
			    out_json_text(ctx, buf_str(&line), e) < 0)
				return -1;
		}
		return 0;
	}
	{
		cleanup_json struct json_object *arr = json_object_new_array();
		cleanup_free char *text = NULL;

		for (size_t i = 0; i < n; i++) {
			struct json_object *o = NULL;

			if (event_json_line(&v[i], &line, e) < 0 ||
			    jsonio_parse(line.data, line.len, &o, e) < 0)
				return -1;
			json_object_array_add(arr, o);
		}
		text = n ? jsonio_to_string(arr, true) : xstrdup("[]");
		return out_json_text(ctx, text, e);
	}
}

/* One event as --follow prints it: a line per event, streamed. Returns -1 when stdout is gone
 * (EPIPE: a quiet end) or broken. */
static int print_follow(struct ctx *ctx, const struct event *ev, struct buf *line, struct err *e)
{
	if (ctx->fmt == OUT_TABLE) {
		cleanup_free char *label = event_object_label(ev);
		cleanup_free char *msg = one_line(ev->message);
		char t[UNITS_BUFSZ];

		units_format_rfc3339(ev->time_ns, false, t, sizeof(t));
		if (fprintf(ctx->out, "%s  %-7s  %s  %s  %s\n", t, event_type_name(ev->type),
		            ev->reason, label, msg) < 0 ||
		    fflush(ctx->out) != 0)
			return errno == EPIPE ? -1 : err_sys(e, "writing output");
		return 0;
	}
	if (event_json_line(ev, line, e) < 0)
		return -1;
	if (fprintf(ctx->out, "%s\n", buf_str(line)) < 0 || fflush(ctx->out) != 0)
		return errno == EPIPE ? -1 : err_sys(e, "writing output");
	return 0;
}

/* SIGINT/SIGTERM set events_stop; they stay blocked except while waiting (ppoll with *old). */
static void signals_catch(sigset_t *old)
{
	struct sigaction sa = {.sa_handler = events_on_signal};
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, old);
	sigdelset(old, SIGINT);
	sigdelset(old, SIGTERM);
}

static int run_follow(struct ctx *ctx, const struct events_args *a)
{
	bool history = a->since_set || a->tail;
	struct journal_tail *t = NULL;
	struct event *ring = NULL;
	size_t nring = 0, head = 0;
	cleanup_buf struct buf line = BUF_INIT;
	struct err e = ERR_INIT;
	bool caught_up = !a->tail;
	sigset_t waitmask;
	int rc = EXIT_OK;

	signals_catch(&waitmask);
	if (journal_tail_open(ctx, history ? JOURNAL_TAIL_OLDEST : JOURNAL_TAIL_END,
	                      JOURNAL_TAIL_WATCH, &t, &e) < 0)
		return applet_fail(ctx, &e);
	if (a->tail)
		ring = xcalloc(a->tail, sizeof(*ring));
	while (!events_stop) {
		struct event ev = {0};
		int r = journal_tail_next(t, &ev, &e);

		if (r < 0) {
			rc = applet_fail(ctx, &e);
			break;
		}
		if (r > 0) {
			if (!event_filter_match(&a->f, &ev)) {
				event_release(&ev);
			} else if (!caught_up) {
				/* -n N: keep the last N of the history, print them once caught up */
				if (nring == a->tail) {
					event_release(&ring[head]);
					ring[head] = ev;
					head = (head + 1) % nring;
				} else {
					ring[nring++] = ev;
				}
			} else {
				r = print_follow(ctx, &ev, &line, &e);
				event_release(&ev);
				if (r < 0) {
					rc = e.code ? applet_fail(ctx, &e) : EXIT_OK;
					break;
				}
			}
			continue;
		}
		if (!caught_up) {
			caught_up = true;
			for (size_t i = 0; i < nring && rc == EXIT_OK; i++)
				if (print_follow(ctx, &ring[(head + i) % nring], &line, &e) < 0) {
					rc = e.code ? applet_fail(ctx, &e) : EXIT_OK;
					events_stop = 1;
				}
			continue;
		}
		if (journal_tail_wait(t, -1, &waitmask, &e) < 0) {
			rc = applet_fail(ctx, &e);
			break;
		}
	}
	if (journal_tail_skipped(t))
		log_warn(ctx, "%llu journal line(s) could not be read",
		         (unsigned long long)journal_tail_skipped(t));
	for (size_t i = 0; i < nring; i++)
		event_release(&ring[i]);
	free(ring);
	journal_tail_free(t);
	return rc;
}

static int run_sink(struct ctx *ctx, const struct events_args *a)
{
	struct event_sink_stats st = {0};
	struct err e = ERR_INIT;
	sigset_t waitmask;
	struct event_sink_opts o = {
	    .url = a->sink,
	    .cursor_path = a->cursor,
	    .filter = &a->f,
	    .from_oldest = a->since_set,
	    .batch_max = 100,
	    .batch_wait_ns = NSEC_PER_SEC,
	    .backoff_min_ns = 500 * NSEC_PER_MSEC,
	    .backoff_max_ns = 30 * NSEC_PER_SEC,
	    .timeout_ns = 30 * NSEC_PER_SEC,
	    .stop = &events_stop,
	    .waitmask = &waitmask,
	};

	signals_catch(&waitmask);
	if (event_sink_run(ctx, &o, &st, &e) < 0)
		return applet_fail(ctx, &e);
	log_info(ctx, "%s: %llu event(s) sent in %llu batch(es), %llu failed attempt(s)", a->sink,
	         (unsigned long long)st.sent, (unsigned long long)st.batches,
	         (unsigned long long)st.failures);
	return EXIT_OK;
}

/* "24h", "7d", "90m", "1h30m0s": the window's length as operators say it. */
static void span_text(int64_t ns, char *b, size_t n)
{
	static const struct {
		int64_t unit;
		const char *name;
	} units[] = {{86400 * NSEC_PER_SEC, "d"}, {3600 * NSEC_PER_SEC, "h"},
	             {60 * NSEC_PER_SEC, "m"},    {NSEC_PER_SEC, "s"}};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (ns >= units[i].unit && ns % units[i].unit == 0) {
			snprintf(b, n, "%lld%s", (long long)(ns / units[i].unit), units[i].name);
			return;
		}
	units_format_elapsed(ns, b, n);
}

static int print_stats(struct ctx *ctx, const struct event_stats *s, struct err *e)
{
	static const char *const by_names[] = {"reason", "type", "object"};
	static const char *const by_titles[] = {"REASON", "TYPE", "OBJECT"};
	char span[UNITS_BUFSZ], chg[UNITS_BUFSZ];

	span_text(s->until_ns - s->since_ns, span, sizeof(span));
	if (ctx->fmt == OUT_TABLE) {
		const struct col cols[] = {{"key", by_titles[s->by], COL_STR},
		                           {"count", "COUNT", COL_INT},
		                           {"previous", "PREVIOUS", COL_INT},
		                           {"change", "CHANGE", COL_STR},
		                           {0}};
		const struct col bcols[] = {{"bucket", "BUCKET", COL_STR},
		                            {"key", by_titles[s->by], COL_STR},
		                            {"count", "COUNT", COL_INT},
		                            {0}};
		struct out *o = out_begin(ctx, cols);

		for (size_t i = 0; i < s->n_rows; i++) {
			cleanup_free char *c = NULL;

			event_stats_change(s->rows[i].count, s->rows[i].previous, chg, sizeof(chg));
			c = xasprintf("%s vs previous %s", chg, span);
			out_row(o, s->rows[i].key, (int64_t)s->rows[i].count,
			        (int64_t)s->rows[i].previous, c);
		}
		event_stats_change(s->total, s->total_previous, chg, sizeof(chg));
		{
			cleanup_free char *c = xasprintf("%s vs previous %s", chg, span);

			out_row(o, "(total)", (int64_t)s->total, (int64_t)s->total_previous, c);
		}
		if (out_end(o, e) < 0)
			return -1;
		if (s->n_buckets < 2 || s->total == 0)
			return 0;
		fputc('\n', ctx->out);
		o = out_begin(ctx, bcols);
		for (size_t b = 0; b < s->n_buckets; b++)
			for (size_t i = 0; i < s->n_rows; i++) {
				char t[UNITS_BUFSZ];

				if (!s->rows[i].buckets[b])
					continue;
				units_format_rfc3339(s->since_ns + (int64_t)b * s->bucket_ns, false, t,
				                     sizeof(t));
				out_row(o, t, s->rows[i].key, (int64_t)s->rows[i].buckets[b]);
			}
		return out_end(o, e);
	}
	{
		cleanup_json struct json_object *doc = json_object_new_object();
		struct json_object *rows = json_object_new_array();
		cleanup_free char *text = NULL;

		jsonio_set_str(doc, "by", by_names[s->by]);
		jsonio_set_time(doc, "since", s->since_ns);
		jsonio_set_time(doc, "until", s->until_ns);
		jsonio_set_time(doc, "previous_since", s->since_ns - (s->until_ns - s->since_ns));
		jsonio_set_int(doc, "bucket_seconds", s->bucket_ns / NSEC_PER_SEC);
		jsonio_set_int(doc, "total", (int64_t)s->total);
		jsonio_set_int(doc, "previous_total", (int64_t)s->total_previous);
		for (size_t i = 0; i < s->n_rows; i++) {
			struct json_object *r = json_object_new_object();
			struct json_object *bk = json_object_new_array();

			event_stats_change(s->rows[i].count, s->rows[i].previous, chg, sizeof(chg));
			jsonio_set_str(r, "key", s->rows[i].key);
			jsonio_set_int(r, "count", (int64_t)s->rows[i].count);
			jsonio_set_int(r, "previous", (int64_t)s->rows[i].previous);
			jsonio_set_str(r, "change", chg);
			for (size_t b = 0; b < s->n_buckets; b++)
				json_object_array_add(bk,
				                      json_object_new_int64((int64_t)s->rows[i].buckets[b]));
			json_object_object_add(r, "buckets", bk);
			json_object_array_add(rows, r);
		}
		json_object_object_add(doc, "rows", rows);
		text = jsonio_to_string(doc, ctx->fmt == OUT_JSON);
		return out_json_text(ctx, text, e);
	}
}

static int run_stats(struct ctx *ctx, struct events_args *a)
{
	int64_t until = a->until_set ? a->f.until_ns : a->now_ns;
	int64_t since = a->since_set ? a->f.since_ns : until - 24 * 3600 * NSEC_PER_SEC;
	struct event_stats s;
	struct err e = ERR_INIT;
	uint64_t skipped = 0;
	int rc;

	if (event_stats_init(&s, a->by, since, until, a->bucket_ns, &e) < 0)
		return applet_fail(ctx, &e);
	if (event_stats_collect(ctx, &a->f, &s, &skipped, &e) < 0) {
		event_stats_release(&s);
		return applet_fail(ctx, &e);
	}
	rc = print_stats(ctx, &s, &e);
	event_stats_release(&s);
	if (rc < 0)
		return applet_fail(ctx, &e);
	if (skipped)
		log_warn(ctx, "%llu journal line(s) could not be read", (unsigned long long)skipped);
	return EXIT_OK;
}

static int parse_time(struct optparse *op, int64_t now_ns, int64_t *out)
{
	struct err e = ERR_INIT;

	if (units_parse_time(op->arg, now_ns, out, &e) < 0) {
		op->rc = opt_usage_error(op, "%s", e.msg);
		return -1;
	}
	return 0;
}

/* Parses the options into a; -1 with op->rc set when the applet must stop. */
static int events_parse(struct optparse *op, struct events_args *a)
{
	struct ctx *ctx = op->ctx;
	int c;

	while ((c = opt_next(op)) > 0) {
		switch (c) {
		case O_SINCE:
			if (parse_time(op, a->now_ns, &a->f.since_ns) < 0)
				return -1;
			a->since_set = true;
			break;
		case O_UNTIL:
			if (parse_time(op, a->now_ns, &a->f.until_ns) < 0)
				return -1;
			a->until_set = true;
			break;
		case O_TYPE:
			if (event_type_parse(op->arg, &a->f.type) < 0) {
				op->rc = opt_usage_error(op, "--type %s: expected Normal or Warning",
				                         op->arg);
				return -1;
			}
			a->f.has_type = true;
			break;
		case O_REASON:
			if (!event_reason_valid(op->arg)) {
				op->rc = opt_usage_error(op, "--reason \"%s\": expected a CamelCase reason",
				                         op->arg);
				return -1;
			}
			if (a->f.n_reasons == REASONS_MAX) {
				op->rc = opt_usage_error(op, "--reason: at most %d", REASONS_MAX);
				return -1;
			}
			a->reasons[a->f.n_reasons++] = op->arg;
			break;
		case O_OBJECT:
			a->f.object = op->arg;
			break;
		case O_SOURCE:
			a->f.source = op->arg;
			break;
		case 'n':
			if (opt_uint(op, 10000000, &a->tail) < 0)
				return -1;
			if (a->tail == 0) {
				op->rc = opt_usage_error(op, "-n: must be at least 1");
				return -1;
			}
			break;
		case 'f':
			a->follow = true;
			break;
		case O_STATS:
			a->stats = true;
			break;
		case O_BY:
			if (event_stats_by_parse(op->arg, &a->by) < 0) {
				op->rc = opt_usage_error(op, "--by %s: expected reason, type or object",
				                         op->arg);
				return -1;
			}
			a->by_set = true;
			break;
		case O_BUCKET:
			if (opt_duration(op, &a->bucket_ns) < 0)
				return -1;
			if (a->bucket_ns < NSEC_PER_SEC) {
				op->rc = opt_usage_error(op, "--bucket: at least 1s");
				return -1;
			}
			a->bucket_set = true;
			break;
		case O_SINK:
			a->sink = op->arg;
			break;
		case O_CURSOR:
			a->cursor = op->arg;
			break;
		case O_FORMAT:
			if (strcmp(op->arg, "table") == 0) {
				ctx->fmt = OUT_TABLE;
			} else if (strcmp(op->arg, "json") == 0) {
				ctx->fmt = OUT_JSON;
			} else if (strcmp(op->arg, "jsonl") == 0) {
				ctx->fmt = OUT_JSONL;
			} else {
				op->rc = opt_usage_error(
				    op, "--format %s: expected one of table|json|jsonl", op->arg);
				return -1;
			}
			break;
		}
	}
	if (c < 0)
		return -1;
	a->f.reasons = a->reasons;
	{
		const char *bad = NULL;

		if (op->argc > 0)
			op->rc = opt_usage_error(op, "unexpected argument \"%s\"", op->argv[0]);
		else if (a->since_set && a->until_set && a->f.until_ns <= a->f.since_ns)
			bad = "--until must be after --since";
		else if (a->stats && (a->follow || a->tail || a->sink))
			bad = "--stats cannot be combined with --follow, -n or --sink";
		else if ((a->by_set || a->bucket_set) && !a->stats)
			bad = "--by and --bucket need --stats";
		else if (a->follow && a->until_set)
			bad = "--until cannot be combined with --follow";
		else if (a->sink && !a->follow)
			bad = "--sink needs --follow";
		else if (a->sink && a->tail)
			bad = "--sink cannot be combined with -n";
		else if (a->cursor && !a->sink)
			bad = "--cursor needs --sink";
		else if (a->sink && strncmp(a->sink, "http://", 7) != 0 &&
		         strncmp(a->sink, "https://", 8) != 0)
			bad = "--sink: expected an http:// or https:// URL";
		if (bad)
			op->rc = opt_usage_error(op, "%s", bad);
		if (op->argc > 0 || bad)
			return -1;
	}
	return 0;
}

int ctrbox_events(struct ctx *ctx, int argc, char **argv)
{
	struct events_args a = {.by = STATS_BY_REASON, .bucket_ns = 3600 * NSEC_PER_SEC};
	struct optparse op;
	struct event *v = NULL;
	struct err e = ERR_INIT;
	uint64_t skipped = 0;
	size_t n = 0;
	int rc;

	a.now_ns = ctx->now_ns();
	opt_begin(&op, ctx, &applet_events, argc, argv);
	if (events_parse(&op, &a) < 0)
		return op.rc;
	if (a.stats)
		return run_stats(ctx, &a);
	if (a.sink)
		return run_sink(ctx, &a);
	if (a.follow)
		return run_follow(ctx, &a);
	if (event_query(ctx, &a.f, a.tail, &v, &n, &skipped, &e) < 0)
		return applet_fail(ctx, &e);
	rc = print_list(ctx, v, n, &e);
	events_free(v, n);
	if (rc < 0)
		return applet_fail(ctx, &e);
	if (skipped)
		log_warn(ctx, "%llu journal line(s) could not be read", (unsigned long long)skipped);
	return EXIT_OK;
}

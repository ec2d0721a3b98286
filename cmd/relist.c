/* cmd/relist.c - ctrbox relist: one PLEG relist, the kubelet-like loop, and its health (DESIGN.md
 * lesson 1 and "relist"; issue 7; ctrbox-relist(1)) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <poll.h>

#include "cmd/applet.h"
#include "common/node/listing.h"
#include "common/node/relist.h"
#include "common/store/event.h"
#include "common/util/buf.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/out.h"
#include "common/util/units.h"

enum {
	O_PERIOD = OPT_LONG + 1,
	O_SLOW,
	O_THRESHOLD,
	O_HEALTH,
};

static const struct opt relist_opts[] = {
    {'w', "watch", NULL, "relist every period until interrupted, like kubelet's PLEG", COMP_NONE,
     NULL, 0},
    {O_PERIOD, "period", "DURATION", "with --watch: the relist period (default 1s)", COMP_NONE,
     NULL, 0},
    {O_SLOW, "slow", "DURATION",
     "with --watch: a relist slower than this is a RelistSlow warning (default 1s)", COMP_NONE,
     NULL, 0},
    {O_HEALTH, "health", NULL, "exit 0 when a relist completed within the threshold, else 1",
     COMP_NONE, NULL, 0},
    {O_THRESHOLD, "threshold", "DURATION", "with --health: how recent (default 3m)", COMP_NONE,
     NULL, 0},
    {0},
};

const struct applet applet_relist = {
    .name = "relist",
    .main = ctrbox_relist,
    .opts = relist_opts,
    .flags = AP_OUTPUT | AP_WRITES_STORE,
    .usage = "relist [OPTIONS]",
    .summary = "compare containers with the last relist and report lifecycle events",
    .description =
        "Reads every container record and its live processes without any lock, compares\n"
        "them with the previous relist (STATE/relist/), prints and journals the events found\n"
        "(ContainerStarted, ContainerDied, ContainerRemoved, ContainerChanged, ShimLost) and\n"
        "records its duration and the interval since the previous relist.",
    .formats = "table|json|jsonl",
};

static const struct col relist_cols[] = {
    {"event", "EVENT", COL_STR},        {"id", "CONTAINER ID", COL_ID},  {"name", "NAME", COL_STR},
    {"status", "STATUS", COL_STR},      {"message", "MESSAGE", COL_STR}, {"type", NULL, COL_STR},
    {"previous_status", NULL, COL_STR}, {"exit_code", NULL, COL_INT},    {0},
};

static const struct col health_cols[] = {
    {"healthy", "HEALTHY", COL_BOOL},
    {"last_finished", "LAST RELIST", COL_TIME},
    {"last_duration_ms", "DURATION", COL_DURATION},
    {"last_interval_ms", "INTERVAL", COL_DURATION},
    {"count", "RELISTS", COL_INT},
    {"threshold_ms", NULL, COL_DURATION},
    {"duration_buckets", NULL, COL_RAW_JSON},
    {"interval_buckets", NULL, COL_RAW_JSON},
    {0},
};

static volatile sig_atomic_t relist_stop;

static void relist_on_signal(int sig)
{
	(void)sig;
	relist_stop = 1;
}

/* "running", "running -> exited", "removed". */
static char *status_text(const struct relist_event *ev)
{
	if (ev->kind == RELIST_REMOVED)
		return xasprintf("%s -> removed", listing_status_word(ev->before));
	if (!ev->had_before)
		return xstrdup(listing_status_word(ev->after));
	return xasprintf("%s -> %s", listing_status_word(ev->before),
	                 listing_status_word(ev->after));
}

static int print_events(struct ctx *ctx, const struct relist_result *r, struct err *e)
{
	struct out *o = out_begin(ctx, relist_cols);

	for (size_t i = 0; i < r->n_events; i++) {
		const struct relist_event *ev = &r->events[i];
		cleanup_free char *st = status_text(ev);

		out_row(o, relist_kind_reason(ev->kind), ev->id, ev->name, st, ev->message,
		        event_type_name(ev->type),
		        ev->had_before ? listing_status_word(ev->before) : NULL,
		        (int64_t)ev->exit_code);
	}
	return out_end(o, e);
}

/* --watch prints as it goes: one line per event (table), or one JSON object per line. */
static int print_watch(struct ctx *ctx, const struct relist_result *r, struct err *e)
{
	if (ctx->fmt != OUT_TABLE) {
		enum out_format f = ctx->fmt;
		int rc;

		ctx->fmt = OUT_JSONL;
		rc = print_events(ctx, r, e);
		ctx->fmt = f;
		return rc;
	}
	for (size_t i = 0; i < r->n_events; i++) {
		const struct relist_event *ev = &r->events[i];
		cleanup_free char *st = status_text(ev);
		char t[UNITS_BUFSZ];

		units_format_rfc3339(r->started_ns, false, t, sizeof(t));
		if (fprintf(ctx->out, "%s  %s  %.12s  %s  %s  %s\n", t,
		            relist_kind_reason(ev->kind), ev->id, ev->name ? ev->name : "", st,
		            ev->message) < 0)
			break;
	}
	if (fflush(ctx->out) != 0 || ferror(ctx->out))
		return errno == EPIPE ? -1 : err_sys(e, "writing output");
	return 0;
}

static void sleep_until(int64_t deadline_mono, const sigset_t *mask)
{
	int64_t left = deadline_mono - ctx_clock_monotonic();
	struct timespec ts;

	if (left <= 0 || relist_stop)
		return;
	ts.tv_sec = left / NSEC_PER_SEC;
	ts.tv_nsec = left % NSEC_PER_SEC;
	ppoll(NULL, 0, &ts, mask);
}

static int run_watch(struct ctx *ctx, int64_t period_ns, int64_t slow_ns)
{
	struct sigaction sa = {.sa_handler = relist_on_signal};
	struct relist_cache *cache;
	sigset_t block, waitmask;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	cache = relist_cache_new();
	while (!relist_stop) {
		int64_t t0 = ctx_clock_monotonic();
		struct relist_result r;
		struct err e = ERR_INIT;

		if (relist_once_cached(ctx, cache, &r, &e) < 0) {
			/* the loop goes on: a stall shows in --health, not in a dead watcher */
			log_warn(ctx, "relist: %s", e.msg);
		} else {
			if (print_watch(ctx, &r, &e) < 0) {
				relist_result_release(&r);
				relist_cache_free(cache);
				return e.code ? applet_fail(ctx, &e) : EXIT_OK;
			}
			if (r.duration_ns > slow_ns) {
				char d[UNITS_BUFSZ], s[UNITS_BUFSZ];
				struct err je = ERR_INIT;

				units_format_elapsed(r.duration_ns, d, sizeof(d));
				units_format_elapsed(slow_ns, s, sizeof(s));
				log_warn(ctx, "relist took %s (threshold %s)", d, s);
				if (event_emit(ctx, EVENT_WARNING, "RelistSlow", OBJECT_NODE, NULL,
				               NULL, "relist", &je,
				               "relist of %zu containers took %s (threshold %s)",
				               r.containers, d, s) < 0)
					log_warn(ctx, "journal: %s", je.msg);
			}
			relist_result_release(&r);
		}
		sleep_until(t0 + period_ns, &waitmask);
	}
	relist_cache_free(cache);
	return EXIT_OK;
}

static int run_health(struct ctx *ctx, int64_t threshold_ns)
{
	struct relist_timing t;
	struct err e = ERR_INIT;
	cleanup_buf struct buf b = BUF_INIT, ib = BUF_INIT;
	int64_t now = ctx->now_ns();
	bool healthy;
	struct out *o;

	if (relist_timing_load(ctx, &t, &e) < 0) {
		if (e.code != E_NOTFOUND)
			return applet_fail(ctx, &e);
		fprintf(ctx->err, "ctrbox relist: unhealthy: no relist has completed since boot\n");
		return EXIT_FAIL;
	}
	healthy = now - t.last_finished_ns <= threshold_ns;
	buf_adds(&b, "{");
	for (size_t i = 0; i < RELIST_BUCKETS; i++)
		buf_printf(&b, "\"%g\":%llu,", relist_bucket_le[i],
		           (unsigned long long)t.buckets[i]);
	buf_printf(&b, "\"+Inf\":%llu}", (unsigned long long)t.count);
	buf_adds(&ib, "{");
	for (size_t i = 0; i < RELIST_INTERVAL_BUCKETS; i++)
		buf_printf(&ib, "\"%g\":%llu,", relist_interval_le[i],
		           (unsigned long long)t.interval_buckets[i]);
	buf_printf(&ib, "\"+Inf\":%llu}", (unsigned long long)t.interval_count);
	o = out_begin(ctx, health_cols);
	out_row(o, (int)healthy, t.last_finished_ns, t.last_duration_ns, t.last_interval_ns,
	        (int64_t)t.count, threshold_ns, buf_str(&b), buf_str(&ib));
	if (out_end(o, &e) < 0)
		return applet_fail(ctx, &e);
	if (!healthy) {
		char ago[UNITS_BUFSZ], th[UNITS_BUFSZ];

		units_format_ago(t.last_finished_ns, now, ago, sizeof(ago));
		units_format_elapsed(threshold_ns, th, sizeof(th));
		fprintf(ctx->err,
		        "ctrbox relist: unhealthy: the last relist finished %s (threshold %s)\n",
		        ago, th);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int ctrbox_relist(struct ctx *ctx, int argc, char **argv)
{
	int64_t period_ns = NSEC_PER_SEC, slow_ns = NSEC_PER_SEC, threshold_ns = 180 * NSEC_PER_SEC;
	bool watch = false, health = false, period_set = false, slow_set = false,
	     threshold_set = false;
	struct relist_result r;
	struct optparse op;
	struct err e = ERR_INIT;
	int c, rc;

	opt_begin(&op, ctx, &applet_relist, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'w':
			watch = true;
			break;
		case O_HEALTH:
			health = true;
			break;
		case O_PERIOD:
			if (opt_duration(&op, &period_ns) < 0)
				return op.rc;
			period_set = true;
			break;
		case O_SLOW:
			if (opt_duration(&op, &slow_ns) < 0)
				return op.rc;
			slow_set = true;
			break;
		case O_THRESHOLD:
			if (opt_duration(&op, &threshold_ns) < 0)
				return op.rc;
			threshold_set = true;
			break;
		}
	}
	if (c < 0)
		return op.rc;
	if (op.argc > 0)
		return opt_usage_error(&op, "unexpected argument \"%s\"", op.argv[0]);
	if (watch && health)
		return opt_usage_error(&op, "--watch and --health exclude each other");
	if ((period_set || slow_set) && !watch)
		return opt_usage_error(&op, "--period and --slow need --watch");
	if (threshold_set && !health)
		return opt_usage_error(&op, "--threshold needs --health");
	if (period_ns < 10 * NSEC_PER_MSEC)
		return opt_usage_error(&op, "--period: at least 10ms");
	if (health)
		return run_health(ctx, threshold_ns);
	if (watch)
		return run_watch(ctx, period_ns, slow_ns);
	if (relist_once(ctx, &r, &e) < 0)
		return applet_fail(ctx, &e);
	{
		char d[UNITS_BUFSZ], iv[UNITS_BUFSZ];

		units_format_elapsed(r.duration_ns, d, sizeof(d));
		units_format_elapsed(r.interval_ns, iv, sizeof(iv));
		log_info(ctx, "relisted %zu containers in %s, %s after the previous relist",
		         r.containers, d, r.first ? "none" : iv);
	}
	if (r.skipped)
		fprintf(ctx->err, "ctrbox relist: %llu container record(s) cannot be read\n",
		        (unsigned long long)r.skipped);
	rc = print_events(ctx, &r, &e);
	relist_result_release(&r);
	if (rc < 0)
		return applet_fail(ctx, &e);
	return EXIT_OK;
}

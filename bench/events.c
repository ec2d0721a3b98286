/* bench/events.c - the event journal's figures (issue 7 "Benchmark"): appends per second from 8
 * concurrent writer processes (rotating every 8MiB), then queries over one million events:
 * a filtered full scan, the last 100, counts per reason over a day against the day before,
 * and a tail reading everything from the oldest file. Run with `make bench`. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/store/event.h"
#include "common/store/event_query.h"
#include "common/store/journal.h"
#include "common/store/journal_tail.h"
#include "common/store/layout.h"
#include "common/util/buf.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/mem.h"
#include "common/util/units.h"

#define WRITERS    8
#define PER_WRITER 25000
#define TOTAL      1000000
#define SPAN_NS    (7 * 86400 * NSEC_PER_SEC)

static const char *const reasons[] = {"Pulled",  "Pulling",   "Created",    "Started", "Died",
                                      "Removed", "OOMKilled", "RelistSlow", "BackOff", "Unpacked"};

static void die(const char *what, const struct err *e)
{
	fprintf(stderr, "bench events: %s: %s\n", what, e->msg);
	exit(1);
}

static void fill_event(struct event *ev, long i, int64_t t0, char *name, size_t n, char *msg,
                       size_t mn)
{
	snprintf(name, n, "c%ld", i % 100);
	snprintf(msg, mn, "container c%ld did the thing number %ld", i % 100, i);
	ev->time_ns = t0 + (int64_t)((double)SPAN_NS * (double)i / TOTAL);
	ev->type = i % 10 == 6 ? EVENT_WARNING : EVENT_NORMAL;
	ev->reason = (char *)reasons[i % 10];
	ev->object.kind = OBJECT_CONTAINER;
	ev->object.name = name;
	ev->message = msg;
	ev->source = "bench";
	ev->host = "node1";
}

static void bench_appends(const struct ctx *ctx, int64_t t0)
{
	double start = bench_now(), t;
	int status;

	for (int w = 0; w < WRITERS; w++) {
		pid_t pid = fork();

		if (pid == 0) {
			struct err e = ERR_INIT;
			char name[32], msg[96];

			for (long i = 0; i < PER_WRITER; i++) {
				struct event ev = {0};

				fill_event(&ev, (long)w * PER_WRITER + i, t0, name, sizeof(name), msg,
				           sizeof(msg));
				if (journal_append(ctx, &ev, &e) < 0)
					die("journal_append", &e);
			}
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++)
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			exit(1);
	t = bench_now() - start;
	bench_figure("journal.append (8 procs)", WRITERS * PER_WRITER / t, "lines/s",
	             "(n=%d, journal_append, rotating every 8MiB)", WRITERS * PER_WRITER);
}

/* The rest of the million, written straight into the active file (rotating like the journal)
 * so that the query figures do not wait on 800,000 more appends. */
static void fill_rest(const struct ctx *ctx, int64_t t0)
{
	cleanup_free char *dir = store_events_dir(ctx);
	cleanup_free char *active = path_join(dir, "journal.jsonl");
	cleanup_buf struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	char name[32], msg[96];
	int fd = -1;

	for (long i = WRITERS * PER_WRITER; i < TOTAL; i++) {
		struct event ev = {0};

		fill_event(&ev, i, t0, name, sizeof(name), msg, sizeof(msg));
		if (event_format(&ev, &b, &e) < 0)
			die("event_format", &e);
		if (b.len < (1 << 20) && i + 1 < TOTAL)
			continue;
		fd = open(active, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0 || fs_write_all(fd, b.data, b.len, &e) < 0)
			die("write", &e);
		close(fd);
		buf_reset(&b);
		{
			struct stat st;

			if (stat(active, &st) == 0 && st.st_size > ctx->cfg->events.rotate_bytes &&
			    journal_rotate(ctx, &e) < 0)
				die("journal_rotate", &e);
		}
	}
}

static void bench_queries(const struct ctx *ctx, int64_t t0)
{
	static const char *const oom[] = {"OOMKilled"};
	struct event_filter all = {0}, f = {.reasons = oom, .n_reasons = 1};
	struct event_stats s;
	struct journal_tail *t = NULL;
	struct err e = ERR_INIT;
	struct event *v = NULL, ev = {0};
	size_t n = 0;
	long cnt = 0;
	double start;
	int r;

	start = bench_now();
	if (event_query(ctx, &f, 0, &v, &n, NULL, &e) < 0)
		die("event_query", &e);
	bench_figure("query 1M, --reason OOMKilled", (bench_now() - start) * 1e3, "ms",
	             "(%zu matched, %.0f events/s scanned)", n, TOTAL / (bench_now() - start));
	events_free(v, n);

	start = bench_now();
	if (event_query(ctx, &all, 100, &v, &n, NULL, &e) < 0)
		die("event_query", &e);
	bench_figure("query 1M, -n 100", (bench_now() - start) * 1e3, "ms", "(%zu kept)", n);
	events_free(v, n);

	start = bench_now();
	if (event_stats_init(&s, STATS_BY_REASON, t0 + SPAN_NS - 86400 * NSEC_PER_SEC, t0 + SPAN_NS,
	                     3600 * NSEC_PER_SEC, &e) < 0 ||
	    event_stats_collect(ctx, &all, &s, NULL, &e) < 0)
		die("event_stats", &e);
	bench_figure("stats 1M, last day by reason", (bench_now() - start) * 1e3, "ms",
	             "(%llu in the day, %llu the day before)", (unsigned long long)s.total,
	             (unsigned long long)s.total_previous);
	event_stats_release(&s);

	start = bench_now();
	if (journal_tail_open(ctx, JOURNAL_TAIL_OLDEST, JOURNAL_TAIL_WATCH, &t, &e) < 0)
		die("journal_tail_open", &e);
	for (;;) {
		r = journal_tail_next(t, &ev, &e);
		if (r < 0)
			die("journal_tail_next", &e);
		if (r > 0) {
			event_release(&ev);
			if (++cnt == TOTAL)
				break;
			continue;
		}
		/* a freshly rotated file waits to be quiet before the tail moves on */
		if (journal_tail_wait(t, NSEC_PER_SEC, NULL, &e) < 0)
			die("journal_tail_wait", &e);
	}
	journal_tail_free(t);
	bench_figure("tail 1M from the oldest", (bench_now() - start) * 1e3, "ms",
	             "(%ld events, as --follow --since or a new --sink reads them)", cnt);
}

int main(void)
{
	char tmpl[] = "/var/tmp/ctrbox-bench-events.XXXXXX";
	struct config cfg;
	struct ctx ctx = {0};
	struct err e = ERR_INIT;
	cleanup_free char *root = NULL;
	cleanup_free char *state = NULL;
	int64_t t0 = ctx_clock_realtime() - SPAN_NS;

	if (!mkdtemp(tmpl))
		return 1;
	root = path_join(tmpl, "root");
	state = path_join(tmpl, "state");
	config_defaults(&cfg);
	cfg.events.max_bytes = 4LL << 30; /* keep the whole million for the queries */
	cfg.events.max_age_ns = 30 * 86400 * NSEC_PER_SEC;
	ctx.path.root = root;
	ctx.path.state = state;
	ctx.path.proc = "/proc";
	ctx.cfg = &cfg;
	ctx.applet = "bench";
	ctx.now_ns = ctx_clock_realtime;
	if (store_init(&ctx, &e) < 0)
		die("store_init", &e);
	printf("bench/events in %s (%s)\n", tmpl, bench_fs_type(tmpl));
	bench_appends(&ctx, t0);
	fill_rest(&ctx, t0);
	bench_queries(&ctx, t0);
	fs_remove_tree(tmpl, NULL);
	return 0;
}

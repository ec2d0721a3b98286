/* bench/store.c - the metadata layer's figures (issue "foundation", DESIGN.md lesson 1):
 * atomic document writes per second, journal appends per second from 1 and 8 processes, and
 * the time to read 1,000 container documents lock-free, idle and while a writer holds every
 * container's lock. Run with `make bench`. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/store/container_record.h"
#include "common/store/doc.h"
#include "common/store/event.h"
#include "common/store/journal.h"
#include "common/store/layout.h"
#include "common/store/lock.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

#define CONTAINERS 1000

static void die(const char *what, const struct err *e)
{
	fprintf(stderr, "bench store: %s: %s\n", what, e->msg);
	exit(1);
}

static void bench_docs(const struct ctx *ctx, enum doc_flags flags, const char *name)
{
	cleanup_free char *path = path_join(ctx->path.root, "bench-doc.json");
	struct json_object *o = json_object_new_object();
	struct err e = ERR_INIT;
	int n = 0;
	double t0 = bench_now(), t;

	jsonio_set_str(o, "status", "running");
	jsonio_set_int(o, "pid", 12345);
	do {
		jsonio_set_int(o, "seq", n);
		if (doc_write(path, o, flags, &e) < 0)
			die("doc_write", &e);
		n++;
		t = bench_now() - t0;
	} while (t < 1.5);
	json_object_put(o);
	bench_figure(name, n / t, "ops/s", "(n=%d, %.1f us/op)", n, t / n * 1e6);
}

static void append_loop(const struct ctx *ctx, int n)
{
	struct event ev = {.reason = "Benchmarked", .source = "bench", .message = "a journal line"};
	struct err e = ERR_INIT;

	for (int i = 0; i < n; i++) {
		ev.time_ns = ctx_clock_realtime();
		if (journal_append(ctx, &ev, &e) < 0)
			die("journal_append", &e);
	}
}

static void bench_journal(const struct ctx *ctx, int procs, int per)
{
	char name[64];
	double t0 = bench_now(), t;
	int status;

	for (int p = 0; p < procs; p++) {
		pid_t pid = fork();

		if (pid == 0) {
			append_loop(ctx, per);
			_exit(0);
		}
	}
	for (int p = 0; p < procs; p++)
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			exit(1);
	t = bench_now() - t0;
	snprintf(name, sizeof(name), "journal.append (%d proc%s)", procs, procs > 1 ? "s" : "");
	bench_figure(name, procs * per / t, "lines/s", "(n=%d, rotating every 8MiB)", procs * per);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Lists and loads every container's two documents; returns the median of 5 runs in ms. */
static double read_all(const struct ctx *ctx)
{
	double runs[5];

	for (int r = 0; r < 5; r++) {
		struct err e = ERR_INIT;
		char **ids = NULL;
		size_t n = 0;
		double t0 = bench_now();

		if (container_list_ids(ctx, &ids, &n, &e) < 0)
			die("container_list_ids", &e);
		for (size_t i = 0; i < n; i++) {
			struct container_doc d = {0};
			struct container_state s = {0};

			if (container_doc_load(ctx, ids[i], &d, &e) < 0 ||
			    container_state_load(ctx, ids[i], &s, &e) < 0)
				die("load", &e);
			container_doc_release(&d);
		}
		runs[r] = (bench_now() - t0) * 1e3;
		if (n != CONTAINERS)
			exit(1);
		strv_free(ids);
	}
	qsort(runs, 5, sizeof(runs[0]), cmp_double);
	return runs[2];
}

static void bench_listing(const struct ctx *ctx)
{
	struct err e = ERR_INIT;
	int sync_pipe[2];
	pid_t holder;
	char c;

	for (int i = 0; i < CONTAINERS; i++) {
		struct container_doc d = {0};
		struct container_state s = {.status = STATUS_RUNNING, .pid = 1000 + i};
		char *cmd[] = {"sleep", "1000", NULL};

		snprintf(d.id, sizeof(d.id), "%064x", i + 1);
		d.name = xasprintf("c%d", i);
		d.image = "docker.io/library/busybox:latest";
		d.command = cmd;
		d.created_ns = ctx_clock_realtime();
		if (container_doc_save(ctx, &d, &e) < 0 ||
		    container_state_save(ctx, d.id, &s, &e) < 0)
			die("save", &e);
		free(d.name);
	}
	bench_figure("containers.read_1000 (idle)", read_all(ctx), "ms", "(median of 5, no locks)");

	/* A writer holds every container's lock: readers must not notice. */
	if (pipe(sync_pipe) < 0)
		exit(1);
	holder = fork();
	if (holder == 0) {
		static struct lock locks[CONTAINERS];

		for (int i = 0; i < CONTAINERS; i++) {
			char id[65];
			cleanup_free char *lp = NULL;

			snprintf(id, sizeof(id), "%064x", i + 1);
			lp = xasprintf("%s/containers/%s/lock", ctx->path.root, id);
			if (lock_take(lp, -1, &locks[i], &e) < 0)
				_exit(1);
		}
		if (write(sync_pipe[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (read(sync_pipe[0], &c, 1) != 1)
		exit(1);
	bench_figure("containers.read_1000 (locked)", read_all(ctx), "ms",
	             "(median of 5, another process holds all %d locks)", CONTAINERS);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
}

int main(void)
{
	char tmpl[] = "/var/tmp/ctrbox-bench-store.XXXXXX";
	struct config cfg;
	struct ctx ctx = {0};
	struct err e = ERR_INIT;
	cleanup_free char *root = NULL;
	cleanup_free char *state = NULL;

	if (!mkdtemp(tmpl))
		return 1;
	root = path_join(tmpl, "root");
	state = path_join(tmpl, "state");
	config_defaults(&cfg);
	ctx.path.root = root;
	ctx.path.state = state;
	ctx.path.proc = "/proc";
	ctx.cfg = &cfg;
	ctx.applet = "bench";
	ctx.now_ns = ctx_clock_realtime;
	if (store_init(&ctx, &e) < 0)
		die("store_init", &e);
	printf("bench/store in %s (%s)\n", tmpl, bench_fs_type(tmpl));
	bench_docs(&ctx, DOC_DURABLE, "doc.write (durable: fsync)");
	bench_docs(&ctx, 0, "doc.write (no fsync)");
	bench_journal(&ctx, 1, 100000);
	bench_journal(&ctx, 8, 25000);
	bench_listing(&ctx);
	fs_remove_tree(tmpl, NULL);
	return 0;
}

/* bench/complete.c - completion answers at once (issue 9): `ctrbox __complete` over 1,000
 * container records (a tenth recorded running) for stop (running only), rm (not running),
 * logs (all) and an image argument, as a whole command the way bash runs it on TAB; p50/p99/max
 * wall time against the 20 ms budget, with the number of candidates printed. ROOT is on
 * /var/tmp (a disk), STATE on /dev/shm (tmpfs, as /run is on a node). */
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/store/container_record.h"
#include "common/store/layout.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define N_CONTAINERS 1000
#define ITER         100

static void die(const char *what, const struct err *e)
{
	fprintf(stderr, "bench complete: %s: %s\n", what, e->msg);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void populate(const struct ctx *ctx)
{
	struct err e = ERR_INIT;
	char *cmd[] = {"sleep", "1000", NULL};

	for (int i = 0; i < N_CONTAINERS; i++) {
		struct container_doc d = {0};
		struct container_state s = {.status = STATUS_STOPPED};

		snprintf(d.id, sizeof(d.id), "%064x", i + 1);
		d.name = xasprintf("c%d", i);
		d.image = "docker.io/library/busybox:latest";
		d.command = cmd;
		d.created_ns = ctx_clock_realtime();
		if (i % 10 == 0) {
			s.status = STATUS_RUNNING;
			s.pid = 1;
			s.started_ns = d.created_ns;
		}
		if (container_doc_save(ctx, &d, &e) < 0 || container_state_save(ctx, d.id, &s, &e) < 0)
			die("save", &e);
		free(d.name);
	}
}

/* Runs `bin __complete APPLET ""` once; returns the wall time in ms, the child's CPU time
 * (user + system, ms) and the candidate count. */
static double run_once(const char *bin, const char *applet, double *cpu, int *lines)
{
	struct rusage ru;
	char buf[65536];
	int pfd[2], status;
	double t0 = bench_now();
	ssize_t r;
	pid_t pid;

	if (pipe(pfd) < 0)
		exit(1);
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		if (applet)
			execl(bin, "ctrbox", "__complete", applet, "", (char *)NULL);
		else
			execl(bin, "ctrbox", "--version", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	*lines = 0;
	while ((r = read(pfd[0], buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < r; i++)
			*lines += buf[i] == '\n';
	close(pfd[0]);
	wait4(pid, &status, 0, &ru);
	*cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench complete: %s __complete %s: status %d\n", bin,
			applet ? applet : "(none)", status);
		exit(1);
	}
	(*lines)--; /* the directive line */
	return (bench_now() - t0) * 1e3;
}

static void measure(const char *bin, const char *applet, const char *what)
{
	double ms[ITER], cpu[ITER];
	char name[64];
	int lines = 0;

	for (int i = 0; i < ITER; i++)
		ms[i] = run_once(bin, applet, &cpu[i], &lines);
	qsort(ms, ITER, sizeof(*ms), cmp_double);
	qsort(cpu, ITER, sizeof(*cpu), cmp_double);
	/* On a busy machine the wall time includes waiting for a CPU; the CPU time does not. */
	if (applet)
		snprintf(name, sizeof(name), "__complete %s \"\" p50", applet);
	else
		snprintf(name, sizeof(name), "--version p50");
	bench_figure(name, ms[ITER / 2], "ms",
		     "(n=%d, p99 %.2f, max %.2f; cpu p50 %.2f p99 %.2f ms; %d candidates: %s)", ITER,
		     ms[(int)((ITER - 1) * 0.99)], ms[ITER - 1], cpu[ITER / 2],
		     cpu[(int)((ITER - 1) * 0.99)], lines, what);
}

int main(void)
{
	char rtmpl[] = "/var/tmp/ctrbox-bench-complete.XXXXXX";
	char stmpl[] = "/dev/shm/ctrbox-bench-complete.XXXXXX";
	const char *bin = getenv("CTRBOX_BIN");
	struct config cfg;
	struct ctx ctx = {0};
	struct err e = ERR_INIT;
	cleanup_free char *root = NULL, *binpath = NULL, *cfgpath = NULL;

	binpath = realpath(bin ? bin : "./ctrbox", NULL);
	if (!binpath) {
		fprintf(stderr, "bench complete: no ctrbox binary (build it, or set CTRBOX_BIN)\n");
		return 1;
	}
	if (!mkdtemp(rtmpl) || !mkdtemp(stmpl))
		return 1;
	bench_store(rtmpl, stmpl, &cfg, &ctx, &root, &cfgpath);
	populate(&ctx);
	/* A private copy: a rebuild of ./ctrbox meanwhile would make exec fail (ETXTBSY). */
	{
		cleanup_free char *data = NULL;
		size_t len = 0;
		char *copy = path_join(rtmpl, "ctrbox");

		if (fs_read_file(binpath, 256 << 20, &data, &len, &e) < 0 ||
		    fs_write_atomic(copy, data, len, 0755, 0, &e) < 0)
			die("copy ctrbox", &e);
		free(binpath);
		binpath = copy;
	}
	fflush(stdout);
	printf("bench/complete: %d containers, ROOT %s (%s), STATE %s (%s), %s\n", N_CONTAINERS,
	       root, bench_fs_type(rtmpl), stmpl, bench_fs_type(stmpl), binpath);
	measure(binpath, "stop", "running only, budget 20 ms");
	measure(binpath, "rm", "not running");
	measure(binpath, "logs", "all");
	measure(binpath, "rmi", "images");
	measure(binpath, NULL, "process start alone, for reference");
	if (getenv("BENCH_KEEP")) { /* for profiling by hand: the roots stay */
		printf("kept: CTRBOX_ROOT=%s CTRBOX_STATE=%s CTRBOX_CONFIG=%s\n", root, stmpl,
		       cfgpath);
		return 0;
	}
	fs_remove_tree(rtmpl, NULL);
	fs_remove_tree(stmpl, NULL);
	return 0;
}

/* bench/relist.c - listing never waits (DESIGN.md lesson 1, issue 7 "Benchmark"): ps and relist
 * latency with 10, 100 and 1,000 containers (a tenth of them running, backed by live
 * processes), idle and under an I/O storm made in the same run on ROOT's disk (4 processes
 * doing 4 KiB random writes with an fdatasync each, as fio would, and 2 writing large files
 * the way unpacks fill the page cache), p50/p99/max. In-process (relist_once, listing_read) and
 * whole commands (`ctrbox relist`, `ctrbox ps -a`) when ./ctrbox (or $CTRBOX_BIN) exists.
 * ROOT is on /var/tmp (a disk), STATE on /dev/shm (tmpfs, as /run is on a node). Each figure
 * gives the CPU time per operation beside the wall time, as a busy machine inflates the latter. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/node/listing.h"
#include "common/node/relist.h"
#include "common/runtime/lifecycle.h"
#include "common/store/container_record.h"
#include "common/store/layout.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define POOL      32 /* live processes the running records point at */
#define STORM_RND 4
#define STORM_SEQ 2
#define MAX_ITER  300

static void die(const char *what, const struct err *e)
{
	fprintf(stderr, "bench relist: %s: %s\n", what, e->msg);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Wall-clock p50/p99/max, and the CPU time per operation: on a busy machine the wall figures
 * include waiting for a CPU, the CPU figure does not. */
static void figure(const char *name, double *ms, int n, double cpu_total, const char *detail)
{
	char line[96];

	qsort(ms, (size_t)n, sizeof(*ms), cmp_double);
	snprintf(line, sizeof(line), "%s p50", name);
	bench_figure(line, ms[n / 2], "ms", "(n=%d, p99 %.2f, max %.2f, cpu %.2f ms/op; %s)", n,
	             ms[(int)((n - 1) * 0.99)], ms[n - 1], cpu_total / n, detail);
}

static void populate(const struct ctx *ctx, int n, const pid_t *pool, const uint64_t *starts)
{
	struct err e = ERR_INIT;
	char *cmd[] = {"sleep", "1000", NULL};

	for (int i = 0; i < n; i++) {
		struct container_doc d = {0};
		struct container_state s = {.status = STATUS_STOPPED, .exit_code = 0};

		snprintf(d.id, sizeof(d.id), "%064x", i + 1);
		d.name = xasprintf("c%d", i);
		d.image = "docker.io/library/busybox:latest";
		d.command = cmd;
		d.created_ns = ctx_clock_realtime();
		if (i % 10 == 0) {
			int p = (i / 10) % POOL;

			s.status = STATUS_RUNNING;
			s.pid = pool[p];
			s.pid_start_time = starts[p];
			s.shim_pid = pool[(p + 1) % POOL];
			s.shim_start_time = starts[(p + 1) % POOL];
			s.started_ns = d.created_ns;
		}
		if (container_doc_save(ctx, &d, &e) < 0 || container_state_save(ctx, d.id, &s, &e) < 0)
			die("save", &e);
		free(d.name);
	}
}

static void storm_child(const char *dir, int k, bool random_sync)
{
	cleanup_free char *path = xasprintf("%s/storm-%d", dir, k);
	cleanup_free char *buf = xmalloc(1 << 20);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	unsigned seed = (unsigned)getpid();

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the benchmark */
	/* Nice 19: the storm is pressure on the disk and the page cache, not a fight for the CPU
	 * (the writers' copying would otherwise crowd 2 cores and every figure would measure
	 * scheduling). */
	if (setpriority(PRIO_PROCESS, 0, 19) < 0)
		_exit(1);
	memset(buf, 0x5a, 1 << 20);
	if (fd < 0)
		_exit(1);
	if (random_sync) {
		if (ftruncate(fd, 256LL << 20) < 0)
			_exit(1);
		for (;;) {
			off_t off = (off_t)(rand_r(&seed) % (256 * 256)) * 4096;

			if (pwrite(fd, buf, 4096, off) != 4096 || fdatasync(fd) < 0)
				_exit(1);
		}
	}
	for (;;) {
		for (int i = 0; i < 1024; i++)
			if (write(fd, buf, 1 << 20) != 1 << 20)
				_exit(1);
		if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
			_exit(1);
	}
}

static void storm_start(const char *dir, pid_t *kids)
{
	for (int k = 0; k < STORM_RND + STORM_SEQ; k++) {
		kids[k] = fork();
		if (kids[k] == 0)
			storm_child(dir, k, k < STORM_RND);
	}
	sleep(2); /* let the dirty pages and the fsync queue build up */
}

static void storm_stop(const char *dir, pid_t *kids)
{
	for (int k = 0; k < STORM_RND + STORM_SEQ; k++) {
		cleanup_free char *path = xasprintf("%s/storm-%d", dir, k);

		kill(kids[k], SIGKILL);
		waitpid(kids[k], NULL, 0);
		unlink(path);
	}
}

/* Runs argv with stdout on /dev/null; the wall time in ms, its CPU time added to *cpu. */
static double run_cmd(char *const argv[], double *cpu)
{
	double t0 = bench_now();
	pid_t pid = fork();
	struct rusage ru;
	int status;

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench relist: %s %s failed\n", argv[0], argv[1]);
		exit(1);
	}
	*cpu += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	        (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	return (bench_now() - t0) * 1e3;
}

static void measure(const struct ctx *ctx, int n, const char *bin, const char *when)
{
	static double ms[MAX_ITER];
	int iters = n >= 1000 ? 30 : 50;
	struct err e = ERR_INIT;
	char name[64];
	const char *detail = when;
	double cpu0 = cpu_ms(), cpu;
	struct relist_cache *cache = relist_cache_new();

	for (int i = 0; i < iters; i++) {
		struct relist_result r;
		double t0 = bench_now();

		if (relist_once(ctx, &r, &e) < 0)
			die("relist_once", &e);
		ms[i] = (bench_now() - t0) * 1e3;
		if (r.n_events)
			exit(1); /* steady state: nothing changes */
		relist_result_release(&r);
	}
	snprintf(name, sizeof(name), "relist %d in-process", n);
	figure(name, ms, iters, cpu_ms() - cpu0, detail);
	/* as relist --watch does: its own snapshot kept between relists */
	cpu0 = cpu_ms();
	for (int i = 0; i < iters; i++) {
		struct relist_result r;
		double t0 = bench_now();

		if (relist_once_cached(ctx, cache, &r, &e) < 0)
			die("relist_once_cached", &e);
		ms[i] = (bench_now() - t0) * 1e3;
		if (r.n_events)
			exit(1);
		relist_result_release(&r);
	}
	relist_cache_free(cache);
	snprintf(name, sizeof(name), "relist %d --watch loop", n);
	figure(name, ms, iters, cpu_ms() - cpu0, detail);
	cpu0 = cpu_ms();
	for (int i = 0; i < iters; i++) {
		struct listing l;
		double t0 = bench_now();

		if (listing_read(ctx, &l, &e) < 0)
			die("listing_read", &e);
		ms[i] = (bench_now() - t0) * 1e3;
		listing_release(&l);
	}
	snprintf(name, sizeof(name), "ps %d in-process", n);
	figure(name, ms, iters, cpu_ms() - cpu0, detail);
	if (!bin)
		return;
	iters = n >= 1000 ? 30 : 50;
	{
		char *relist[] = {(char *)bin, "relist", "--format", "json", NULL};
		char *ps[] = {(char *)bin, "ps", "-a", "--format", "json", NULL};

		cpu = 0;
		for (int i = 0; i < iters; i++)
			ms[i] = run_cmd(relist, &cpu);
		snprintf(name, sizeof(name), "ctrbox relist %d", n);
		figure(name, ms, iters, cpu, detail);
		cpu = 0;
		for (int i = 0; i < iters; i++)
			ms[i] = run_cmd(ps, &cpu);
		snprintf(name, sizeof(name), "ctrbox ps -a %d", n);
		figure(name, ms, iters, cpu, detail);
	}
}

int main(int argc, char **argv)
{
	char rtmpl[] = "/var/tmp/ctrbox-bench-relist.XXXXXX";
	char stmpl[] = "/dev/shm/ctrbox-bench-relist.XXXXXX";
	static const int sizes[] = {10, 100, 1000};
	const char *bin = getenv("CTRBOX_BIN");
	struct config cfg;
	struct ctx ctx = {0};
	struct err e = ERR_INIT;
	pid_t pool[POOL], storm[STORM_RND + STORM_SEQ];
	uint64_t starts[POOL];
	cleanup_free char *root = NULL, *binpath = NULL, *cfgpath = NULL;

	if (argc == 3 && strcmp(argv[1], "--storm") == 0) {
		/* bench/relist.sh: the same storm for other tools, until killed */
		pid_t kids[STORM_RND + STORM_SEQ];

		storm_start(argv[2], kids);
		pause();
		return 0;
	}
	if (!mkdtemp(rtmpl) || !mkdtemp(stmpl))
		return 1;
	bench_store(rtmpl, stmpl, &cfg, &ctx, &root, &cfgpath);
	binpath = realpath(bin ? bin : "./ctrbox", NULL);
	for (int p = 0; p < POOL; p++) {
		pool[p] = fork();
		if (pool[p] == 0) {
			pause();
			_exit(0);
		}
		if (rt_proc_start_time(&ctx, pool[p], &starts[p], &e) < 0)
			die("start time", &e);
	}
	printf("bench/relist: ROOT %s (%s), STATE %s (%s), %s\n", root, bench_fs_type(rtmpl), stmpl,
	       bench_fs_type(stmpl), binpath ? binpath : "no ctrbox binary: in-process only");
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		struct relist_result r;

		populate(&ctx, sizes[s], pool, starts);
		if (relist_once(&ctx, &r, &e) < 0) /* the first relist reports them all */
			die("relist_once", &e);
		relist_result_release(&r);
		measure(&ctx, sizes[s], binpath, "idle");
		storm_start(rtmpl, storm);
		measure(&ctx, sizes[s], binpath, "storm");
		storm_stop(rtmpl, storm);
	}
	for (int p = 0; p < POOL; p++) {
		kill(pool[p], SIGKILL);
		waitpid(pool[p], NULL, 0);
	}
	fs_remove_tree(rtmpl, NULL);
	fs_remove_tree(stmpl, NULL);
	return 0;
}

/* common/node/diag_fsync.c - the fsync check: a bounded probe of write+fdatasync latency on ROOT's
 * file system, judged by etcd's guidance that a p99 under 10 ms is healthy (DESIGN.md lesson 1:
 * a content commit blocked in fsync stalled containerd's relist; issue 8) */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/node/diag.h"
#include "common/util/mem.h"
#include "common/util/units.h"

#define PROBE_WRITES 20
#define PROBE_SIZE   4096
#define PROBE_BUDGET (1000 * NSEC_PER_MSEC) /* stop early past this: the disk is slow */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* An unnamed file in dir (O_TMPFILE), else a named one removed at once: nothing is left
 * behind even when the probe is killed midway (O_TMPFILE) or nearly so (unlink). */
static int probe_open(const char *dir, struct err *e)
{
	cleanup_free char *tmpl = NULL;
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return err_sys(e, "%s", dir);
	tmpl = xasprintf("%s/.diagnose-fsync.XXXXXX", dir);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "%s", dir);
	unlink(tmpl);
	return fd;
}

int diag_check_fsync(const struct diag_env *env, struct diag_result *r)
{
	static const char remedy[] =
	    "ROOT's disk is slow to make data durable: move ROOT to a faster (SSD/NVMe) disk or "
	    "find what saturates it (iostat -x, iotop -o)";
	const char *root = env->ctx->path.root;
	int64_t lat[PROBE_WRITES], began = ctx_clock_monotonic(), p50, p99;
	char buf[PROBE_SIZE], a[UNITS_BUFSZ], b[UNITS_BUFSZ];
	struct err e = ERR_INIT;
	cleanup_close int fd = -1;
	size_t n = 0;

	diag_text(r, "path", "%s", root);
	fd = probe_open(root, &e);
	if (fd < 0) {
		diag_text(r, "error", "%s", e.msg);
		diag_set(r, DIAG_UNKNOWN, NULL, "create ROOT (any ctrbox pull does) and make it writable",
		         "cannot probe: %s", e.msg);
		return 0;
	}
	memset(buf, 0xa5, sizeof(buf));
	for (n = 0; n < PROBE_WRITES; n++) {
		int64_t t0 = ctx_clock_monotonic();

		if (pwrite(fd, buf, sizeof(buf), (off_t)(n * PROBE_SIZE)) != (ssize_t)sizeof(buf) ||
		    fdatasync(fd) < 0) {
			err_sys(&e, "write+fdatasync in %s", root);
			diag_text(r, "error", "%s", e.msg);
			diag_set(r, DIAG_UNKNOWN, NULL, "free space on ROOT's file system",
			         "cannot probe: %s", e.msg);
			return 0;
		}
		lat[n] = ctx_clock_monotonic() - t0;
		if (ctx_clock_monotonic() - began > PROBE_BUDGET) {
			n++;
			break;
		}
	}
	qsort(lat, n, sizeof(lat[0]), cmp_i64);
	p50 = diag_percentile(lat, n, 50);
	p99 = diag_percentile(lat, n, 99);
	diag_num(r, "writes", (double)n);
	diag_num(r, "write_bytes", PROBE_SIZE);
	diag_num(r, "p50_seconds", (double)p50 / 1e9);
	diag_num(r, "p99_seconds", (double)p99 / 1e9);
	diag_num(r, "max_seconds", (double)lat[n - 1] / 1e9);
	units_format_elapsed(p50, a, sizeof(a));
	units_format_elapsed(p99, b, sizeof(b));
	if (p99 >= env->th.fsync_fail_ns)
		diag_set(r, DIAG_FAIL, "SlowFsync", remedy, "fsync p99 %s (p50 %s) over %d writes",
		         b, a, (int)n);
	else if (p99 >= env->th.fsync_warn_ns)
		diag_set(r, DIAG_WARN, "SlowFsync", remedy, "fsync p99 %s (p50 %s) over %d writes",
		         b, a, (int)n);
	else
		diag_set(r, DIAG_OK, NULL, NULL, "fsync p99 %s (p50 %s) over %d writes", b, a, (int)n);
	return 0;
}

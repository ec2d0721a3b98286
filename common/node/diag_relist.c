/* common/node/diag_relist.c - the relist check: a live lock-free listing timed now, the recorded
 * relist duration and interval histograms (STATE/relist/timing.json), and the watch loop's last
 * completion; a relist
 * holding STATE/relist/lock past the stall threshold is stuck (DESIGN.md lesson 1; issue 8) */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/node/diag.h"
#include "common/node/listing.h"
#include "common/node/relist.h"
#include "common/store/layout.h"
#include "common/util/fs.h"
#include "common/util/host.h"
#include "common/util/mem.h"
#include "common/util/units.h"

static const char remedy[] =
    "find what slows the lock-free listing (the dstate and pressure checks name a saturated "
    "disk) and restart `ctrbox relist --watch` if it is stuck";

/* Whether someone holds an flock on path, from <proc>/locks (no lock is taken to find out). */
static bool lock_held(const struct diag_env *env, const char *path)
{
	cleanup_free char *locks = NULL;
	struct err e = ERR_INIT;
	struct stat st;
	char want[64];

	if (stat(path, &st) < 0 || host_read(env->ctx, HOST_PROC, "locks", 1 << 20, &locks, &e) < 0)
		return false;
	snprintf(want, sizeof(want), "%02x:%02x:%llu ", major(st.st_dev), minor(st.st_dev),
	         (unsigned long long)st.st_ino);
	for (const char *line = locks; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *hit = strstr(line, want);

		if (strstr(line, "FLOCK") && hit && hit < line + len && !strstr(line, "->"))
			return true;
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

int diag_check_relist(const struct diag_env *env, struct diag_result *r)
{
	const struct diag_thresholds *th = &env->th;
	struct listing l = {0};
	struct relist_timing t;
	struct err e = ERR_INIT;
	int64_t t0 = ctx_clock_monotonic(), live;
	char a[UNITS_BUFSZ], b[UNITS_BUFSZ];

	if (listing_read(env->ctx, &l, &e) < 0) {
		diag_text(r, "error", "%s", e.msg);
		diag_set(r, DIAG_UNKNOWN, NULL, NULL, "cannot list containers: %s", e.msg);
		return 0;
	}
	live = ctx_clock_monotonic() - t0;
	diag_num(r, "live_listing_seconds", (double)live / 1e9);
	diag_num(r, "containers", (double)l.n);
	listing_release(&l);
	units_format_elapsed(live, a, sizeof(a));
	if (live >= th->relist_slow_ns)
		diag_set(r, DIAG_WARN, "RelistSlow", remedy, "a live listing took %s", a);
	if (relist_timing_load(env->ctx, &t, &e) < 0) {
		diag_text(r, "recorded", "%s",
		          e.code == E_NOTFOUND ? "no relist since boot" : e.msg);
	} else {
		cleanup_free char *dir = store_relist_dir(env->ctx);
		cleanup_free char *lock = path_join(dir, "lock");
		int64_t age = env->ctx->now_ns() - t.last_finished_ns;
		double q =
		    relist_quantile_le(t.buckets, relist_bucket_le, RELIST_BUCKETS, t.count, 0.99);
		double p99 = isnan(q) ? 0 : isinf(q) ? -1 : q; /* -1: above the last bucket */
		double ip99 = relist_quantile_le(t.interval_buckets, relist_interval_le,
		                                 RELIST_INTERVAL_BUCKETS, t.interval_count, 0.99);

		diag_num(r, "relists", (double)t.count);
		diag_num(r, "last_duration_seconds", (double)t.last_duration_ns / 1e9);
		diag_num(r, "last_interval_seconds", (double)t.last_interval_ns / 1e9);
		diag_num(r, "mean_duration_seconds",
		         t.count ? (double)t.sum_ns / 1e9 / (double)t.count : 0);
		if (p99 >= 0)
			diag_num(r, "p99_duration_le_seconds", p99);
		else
			diag_text(r, "p99_duration_le_seconds", "+Inf");
		diag_num(r, "intervals", (double)t.interval_count);
		if (t.interval_count) {
			diag_num(r, "mean_interval_seconds",
			         (double)t.interval_sum_ns / 1e9 / (double)t.interval_count);
			if (isinf(ip99))
				diag_text(r, "p99_interval_le_seconds", "+Inf");
			else
				diag_num(r, "p99_interval_le_seconds", ip99);
		}
		diag_num(r, "last_finished_seconds_ago", (double)age / 1e9);
		units_format_elapsed(t.last_duration_ns, b, sizeof(b));
		units_format_elapsed(age, a, sizeof(a));
		if (age >= th->relist_stall_ns && lock_held(env, lock))
			diag_set(r, DIAG_FAIL, "RelistStalled", remedy,
			         "a relist holds STATE/relist/lock and none completed for %s", a);
		else if (age >= th->relist_stall_ns)
			diag_set(r, DIAG_WARN, "RelistStalled",
			         "start or restart `ctrbox relist --watch` if it should be running",
			         "the last relist completed %s ago: the watch loop is stopped or "
			         "stalled",
			         a);
		if (t.last_duration_ns >= th->relist_slow_ns)
			diag_set(r, DIAG_WARN, "RelistSlow", remedy, "the last relist took %s", b);
		else if (p99 < 0 || (t.count && p99 * 1e9 > (double)th->relist_slow_ns)) {
			units_format_elapsed(th->relist_slow_ns, b, sizeof(b));
			diag_set(r, DIAG_WARN, "RelistSlow", remedy,
			         "1%% of recorded relists took longer than %s", b);
		}
	}
	if (!r->summary) {
		units_format_elapsed(live, a, sizeof(a));
		diag_set(r, DIAG_OK, NULL, NULL, "a live listing took %s", a);
	}
	return 0;
}

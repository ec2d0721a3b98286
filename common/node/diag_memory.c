/* common/node/diag_memory.c - the memory check: the dirty-page backlog (Dirty + Writeback from
 * meminfo) against memory, vm.dirty_* and the configured sizes; an unmount or sync has to flush
 * all of it (DESIGN.md lesson 2 and 5; issue 8) */
#include <stdlib.h>

#include "common/node/diag.h"
#include "common/util/host.h"
#include "common/util/mem.h"
#include "common/util/units.h"

static int64_t read_sysctl(const struct diag_env *env, const char *rel, struct diag_result *r,
                           const char *key)
{
	cleanup_free char *text = NULL;
	struct err e = ERR_INIT;
	long long v;

	if (host_read(env->ctx, HOST_PROC, rel, 64, &text, &e) < 0 || sscanf(text, "%lld", &v) != 1)
		return -1;
	diag_num(r, key, (double)v);
	return v;
}

int diag_check_memory(const struct diag_env *env, struct diag_result *r)
{
	static const char remedy[] =
	    "writers outpace the disk: find them (iotop -o), lower vm.dirty_bytes/"
	    "dirty_background_bytes so writeback starts sooner, and avoid unmounts and syncs until "
	    "the backlog drains";
	cleanup_free char *text = NULL;
	struct err e = ERR_INIT;
	int64_t total, dirty, wb, avail = -1, backlog, ratio, bg_ratio, bytes, bg_bytes;
	int64_t limit, bg_limit;
	char a[UNITS_BUFSZ], b[UNITS_BUFSZ];

	if (host_read(env->ctx, HOST_PROC, "meminfo", 64 * 1024, &text, &e) < 0 ||
	    meminfo_get(text, "MemTotal", &total, &e) < 0 ||
	    meminfo_get(text, "Dirty", &dirty, &e) < 0 ||
	    meminfo_get(text, "Writeback", &wb, &e) < 0) {
		diag_text(r, "error", "%s", e.msg);
		diag_set(r, DIAG_UNKNOWN, NULL, "make /proc/meminfo readable", "meminfo unreadable");
		return 0;
	}
	(void)meminfo_get(text, "MemAvailable", &avail, &e);
	backlog = dirty + wb;
	diag_num(r, "mem_total_bytes", (double)total);
	if (avail >= 0)
		diag_num(r, "mem_available_bytes", (double)avail);
	diag_num(r, "dirty_bytes", (double)dirty);
	diag_num(r, "writeback_bytes", (double)wb);
	diag_num(r, "dirty_percent_of_memory", total ? 100.0 * (double)backlog / (double)total : 0);
	ratio = read_sysctl(env, "sys/vm/dirty_ratio", r, "vm_dirty_ratio_percent");
	bg_ratio = read_sysctl(env, "sys/vm/dirty_background_ratio", r,
	                       "vm_dirty_background_ratio_percent");
	bytes = read_sysctl(env, "sys/vm/dirty_bytes", r, "vm_dirty_bytes");
	bg_bytes = read_sysctl(env, "sys/vm/dirty_background_bytes", r,
	                       "vm_dirty_background_bytes");
	/* The kernel takes the ratios of "dirtyable" memory (about MemAvailable); *_bytes win when
	 * set. */
	limit = bytes > 0 ? bytes : ratio >= 0 ? (avail >= 0 ? avail : total) * ratio / 100 : -1;
	bg_limit = bg_bytes > 0 ? bg_bytes
	           : bg_ratio >= 0 ? (avail >= 0 ? avail : total) * bg_ratio / 100
	                           : -1;
	if (limit >= 0)
		diag_num(r, "dirty_limit_bytes", (double)limit);
	if (bg_limit >= 0)
		diag_num(r, "dirty_background_limit_bytes", (double)bg_limit);
	units_format_size(backlog, a, sizeof(a));
	if (limit > 0 && backlog >= limit) {
		units_format_size(limit, b, sizeof(b));
		diag_set(r, DIAG_FAIL, "DirtyBacklog", remedy,
		         "dirty+writeback %s at the dirty limit %s: writers are throttled", a, b);
	} else if (backlog >= env->th.dirty_fail_bytes) {
		units_format_size(env->th.dirty_fail_bytes, b, sizeof(b));
		diag_set(r, DIAG_FAIL, "DirtyBacklog", remedy,
		         "dirty+writeback %s >= %s: an unmount or sync would flush all of it", a, b);
	} else if (backlog >= env->th.dirty_warn_bytes) {
		units_format_size(env->th.dirty_warn_bytes, b, sizeof(b));
		diag_set(r, DIAG_WARN, "DirtyBacklog", remedy,
		         "dirty+writeback %s >= %s: an unmount or sync would flush all of it", a, b);
	} else if (limit > 0 && backlog * 10 >= limit * 8) {
		units_format_size(limit, b, sizeof(b));
		diag_set(r, DIAG_WARN, "DirtyBacklog", remedy,
		         "dirty+writeback %s is over 80%% of the dirty limit %s", a, b);
	} else {
		diag_set(r, DIAG_OK, NULL, NULL, "dirty+writeback %s", a);
	}
	return 0;
}

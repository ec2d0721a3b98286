/* common/node/diag.h - the node checks behind `diagnose` and `metrics` (DESIGN.md lesson 5
 * "Diagnosis names the cause", "diagnose"; issue 8): a table of checks, each reading the host
 * only through ctx->path (proc, sys, dev, cgroup) and returning a status, the evidence it read
 * and a one-sentence remedy. The parsers the checks share are exported for unit tests. */
#ifndef CTRBOX_NODE_DIAG_H
#define CTRBOX_NODE_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

struct timex;

/* In the monitoring-plugin convention's numbering (exit codes 0..3). */
enum diag_status {
	DIAG_OK = 0,
	DIAG_WARN = 1,
	DIAG_FAIL = 2, /* CRITICAL */
	DIAG_UNKNOWN = 3,
};

/* "OK", "WARN", "FAIL", "UNKNOWN". */
const char *diag_status_name(enum diag_status s);
/* How bad a status is for "the worst": OK < UNKNOWN < WARN < FAIL, so a check that could not
 * look never hides one that found a problem. */
int diag_status_rank(enum diag_status s);
enum diag_status diag_worse(enum diag_status a, enum diag_status b);

/* One piece of evidence: the key carries its unit (io_some_avg10_percent, dirty_bytes); the
 * value is a number or, when text is set, a string. */
struct diag_ev {
	char *key;
	double num;
	char *text; /* NULL for numbers */
};

struct diag_result {
	enum diag_status status;
	char *summary; /* one line: what was found ("io pressure some avg10 80.0% >= 50%") */
	char *remedy;  /* one sentence; NULL when OK */
	char *reason;  /* CamelCase event reason of the worst finding (IOPressure), or NULL */
	struct diag_ev *ev;
	size_t n_ev;
};

void diag_result_release(struct diag_result *r);
/* Sets status, reason (may be NULL), summary (printf) and remedy, keeping the worse of the
 * current status and s: a check calls it once per finding and the worst finding's words stay. */
void diag_set(struct diag_result *r, enum diag_status s, const char *reason, const char *remedy,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_num(struct diag_result *r, const char *key, double v);
void diag_text(struct diag_result *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The thresholds, from the config's diagnose: mapping (ctrbox(1)) or these defaults. */
struct diag_thresholds {
	double psi_some_warn, psi_some_fail; /* percent, avg10 or avg60 (20, 50) */
	double psi_full_warn, psi_full_fail; /* percent (5, 20) */
	int64_t dirty_warn_bytes, dirty_fail_bytes; /* Dirty+Writeback (1GiB, 4GiB) */
	int64_t dstate_warn_ns, dstate_fail_ns; /* a task in D this long (10s, 60s) */
	int64_t fsync_warn_ns, fsync_fail_ns;   /* probe p99 (10ms, 100ms) */
	double root_available_min, state_available_min, inodes_free_min; /* % (15, 10, 5) */
	double limits_warn, limits_fail; /* % of a kernel limit in use (80, 95) */
	int64_t clock_max_error_warn_ns, clock_max_error_fail_ns; /* (100ms, 1s) */
	int64_t relist_slow_ns, relist_stall_ns; /* (1s, 3m) */
};

/* A kernel log rule (node-problem-detector's kernel monitor): an extended regex over the
 * message, the event-style reason, and the status a match gives. */
struct diag_rule {
	const char *pattern;
	const char *reason;
	enum diag_status severity; /* DIAG_WARN or DIAG_FAIL */
};

/* What a check run is given. */
struct diag_env {
	const struct ctx *ctx;
	struct diag_thresholds th;
	bool deep;                        /* --deep: re-hash content blobs */
	const struct diag_rule *rules;    /* extra kernel log rules after the built-in ones */
	size_t n_rules;
	int (*adjtimex)(struct timex *t); /* the clock seam: adjtimex(2) unless tests inject */
	int64_t dstate_sample_ns;         /* the second-sample delay when sched is unreadable */
};

struct diag_check {
	const char *name;
	const char *summary; /* what it looks at, for help and the man page */
	/* Fills r (zeroed by the caller); returns 0. A check that cannot look says UNKNOWN with
	 * the reason as evidence rather than failing. */
	int (*fn)(const struct diag_env *env, struct diag_result *r);
};

/* The checks in run order, ending with a zeroed entry. */
extern const struct diag_check diag_checks[];
const struct diag_check *diag_check_find(const char *name);
/* Fills env with ctx, the config's thresholds and kernel log rules (defaults where unset) and
 * adjtimex(2). The caller releases it with diag_env_release. */
void diag_env_init(struct diag_env *env, const struct ctx *ctx);
void diag_env_release(struct diag_env *env);
void diag_thresholds_default(struct diag_thresholds *th);

/* --watch (diag_watch.c): compares results[i] of check names[i] with the statuses kept in
 * STATE/diagnose/status.json (a check not seen before counts as OK), appends an event with
 * source "diagnose" for each change (Warning with the finding's reason, else CheckWorsened,
 * when it gets worse; Normal with "<reason>Recovered", else CheckRecovered, when it returns to
 * OK; Normal CheckImproved otherwise) and saves the new statuses atomically. *changed counts
 * the events. A journal append that fails is reported in e after the others are tried. */
int diag_watch_record(const struct ctx *ctx, const char *const *names,
		      const struct diag_result *results, size_t n, size_t *changed, struct err *e);

/* The checks (one file per family). */
int diag_check_pressure(const struct diag_env *env, struct diag_result *r);
int diag_check_memory(const struct diag_env *env, struct diag_result *r);
int diag_check_dstate(const struct diag_env *env, struct diag_result *r);
int diag_check_fsync(const struct diag_env *env, struct diag_result *r);
int diag_check_disk(const struct diag_env *env, struct diag_result *r);
int diag_check_limits(const struct diag_env *env, struct diag_result *r);
int diag_check_clock(const struct diag_env *env, struct diag_result *r);
int diag_check_cgroup(const struct diag_env *env, struct diag_result *r);
int diag_check_kmsg(const struct diag_env *env, struct diag_result *r);
int diag_check_store(const struct diag_env *env, struct diag_result *r);
int diag_check_shims(const struct diag_env *env, struct diag_result *r);
int diag_check_overlay(const struct diag_env *env, struct diag_result *r);
int diag_check_relist(const struct diag_env *env, struct diag_result *r);

/* ---- parsers the checks share (diag_parse.c), exported for unit tests ---- */

/* One PSI file (pressure/io, a cgroup's io.pressure): "some avg10=.. avg60=.. avg300=.. total=..",
 * and "full ..." on kernels that have it (has_full false otherwise). E_INVALID when malformed. */
struct psi {
	double some_avg10, some_avg60, some_avg300;
	double full_avg10, full_avg60, full_avg300;
	bool has_full;
};
int psi_parse(const char *text, struct psi *out, struct err *e);

/* The value of "Key:" in /proc/meminfo-style text, in bytes (" kB" scaled); E_NOTFOUND. */
int meminfo_get(const char *text, const char *key, int64_t *out, struct err *e);

/* The fields of /proc/PID/stat that matter here: comm may hold spaces and parentheses, so it is
 * taken up to the last ')'. */
struct proc_stat {
	char comm[64];
	char state;
	int ppid;
	uint64_t starttime; /* clock ticks after boot */
};
int proc_stat_parse(const char *text, struct proc_stat *out, struct err *e);

/* One /dev/kmsg record "PRI,SEQ,USEC,FLAGS[,..];MESSAGE" (continuation lines excluded):
 * message points into line and is not NUL-terminated past msg_len. */
struct kmsg_record {
	int level; /* priority & 7 */
	uint64_t seq;
	uint64_t usec; /* since boot */
	const char *msg;
	size_t msg_len;
};
int kmsg_record_parse(const char *line, size_t len, struct kmsg_record *out, struct err *e);

/* "se.exec_start : 3168586.209746" from /proc/PID/sched, in ns; E_NOTFOUND. */
int sched_exec_start_parse(const char *text, int64_t *out_ns, struct err *e);

/* The n-th (0-based) percentile of sorted ns values by nearest rank. */
int64_t diag_percentile(const int64_t *sorted, size_t n, double pct);

/* The built-in kernel log rules, ending with a zeroed entry. */
extern const struct diag_rule diag_kmsg_rules[];

#endif

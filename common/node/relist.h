/* common/node/relist.h - one relist the way kubelet's generic PLEG does it (DESIGN.md lesson 1 and
 * "relist"; issue 7): every container record and its live processes are read without a lock,
 * compared with the previous relist's snapshot (STATE/relist/snapshot.json), and the lifecycle
 * events found (ContainerStarted, ContainerDied, ContainerRemoved, ContainerChanged, ShimLost)
 * are returned and journaled with source "relist". Each relist's duration and the interval since
 * the previous one are kept in STATE/relist/timing.json, each with a histogram: durations in the
 * buckets kubelet uses for kubelet_pleg_relist_duration_seconds, intervals in buckets made for a
 * 1 s period (see relist_interval_le). */
#ifndef CTRBOX_NODE_RELIST_H
#define CTRBOX_NODE_RELIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/event.h"
#include "common/util/ctx.h"
#include "common/util/err.h"
#include "common/util/units.h"

enum relist_kind {
	RELIST_STARTED = 0, /* ContainerStarted */
	RELIST_DIED,        /* ContainerDied */
	RELIST_REMOVED,     /* ContainerRemoved */
	RELIST_CHANGED,     /* ContainerChanged: paused, unpaused, restarted under a new PID */
	RELIST_SHIM_LOST,   /* ShimLost: recorded running, its shim is gone */
};

/* The event reason: "ContainerStarted", ..., "ShimLost". */
const char *relist_kind_reason(enum relist_kind k);

struct relist_event {
	enum relist_kind kind;
	enum event_type type; /* Warning for ShimLost and a death with a non-zero status */
	char id[65];
	char *name;
	bool had_before;                 /* the container was in the previous snapshot */
	enum units_status before, after; /* after is meaningless for RELIST_REMOVED */
	int exit_code;
	char *message;
};

struct relist_result {
	struct relist_event *events;
	size_t n_events;
	size_t containers;   /* in this relist */
	bool first;          /* there was no previous snapshot */
	int64_t started_ns;  /* wall clock */
	int64_t duration_ns; /* reading, comparing, saving and journaling */
	int64_t interval_ns; /* since the previous relist started; 0 for the first */
	uint64_t skipped;    /* records that could not be read (kept as they were) */
};

/* Prometheus' default buckets, in seconds: what kubelet_pleg_relist_duration_seconds uses. */
#define RELIST_BUCKETS 11
extern const double relist_bucket_le[RELIST_BUCKETS];

/* The interval buckets, in seconds. kubelet_pleg_relist_interval_seconds uses Prometheus'
 * defaults too, which put every on-time relist of a 1 s loop into one bucket (0.5..1 or 1..2.5
 * s). These resolve the default 1 s period instead: early (another relist ran in between) below
 * 0.95, on time to 1.05, late by 10%, 25%, 50%, 2x, then 5 s up to kubelet's 3-minute
 * relistThreshold, past which a loop counts as stalled. */
#define RELIST_INTERVAL_BUCKETS 13
extern const double relist_interval_le[RELIST_INTERVAL_BUCKETS];

struct relist_timing {
	int64_t last_started_ns, last_finished_ns;
	int64_t last_duration_ns, last_interval_ns;
	uint64_t count;
	int64_t sum_ns;
	uint64_t buckets[RELIST_BUCKETS]; /* cumulative: relists that took <= relist_bucket_le[i] */
	/* Intervals: one per relist that had a previous one (since the timing was started), from
	 * the previous relist's start to this one's, on the wall clock; one the clock stepped back
	 * over is not counted. Cumulative like buckets. */
	uint64_t interval_count;
	int64_t interval_sum_ns;
	uint64_t interval_buckets[RELIST_INTERVAL_BUCKETS];
};

/* The upper bound, in seconds, of the bucket holding the q-quantile (0 < q <= 1) of a cumulative
 * histogram of count observations in n buckets bounded by le[]: INFINITY when it lies above the
 * last bucket, NAN when count is 0. What histogram_quantile would bound its estimate by. */
double relist_quantile_le(const uint64_t *buckets, const double *le, size_t n, uint64_t count,
                          double q);

/* Performs one relist. Container records are read without any lock; STATE/relist/lock is held
 * for the relist itself, so two relists never compare against the same snapshot (readers of
 * containers and writers of them are never blocked by it). The snapshot and the timing are
 * written atomically, so a relist killed midway leaves the previous ones whole. A journal append
 * that fails is reported with log_warn and does not fail the relist. The caller releases r. */
int relist_once(const struct ctx *ctx, struct relist_result *r, struct err *e);

/* What a loop (relist --watch) keeps between relists: the snapshot it last wrote or read, used
 * again while snapshot.json's stat key shows no other relist replaced it, so a loop does not
 * parse its own snapshot every period. */
struct relist_cache;
struct relist_cache *relist_cache_new(void) __attribute__((returns_nonnull));
void relist_cache_free(struct relist_cache *c);

/* relist_once with a cache (NULL: none, as relist_once). */
int relist_once_cached(const struct ctx *ctx, struct relist_cache *cache, struct relist_result *r,
                       struct err *e);

void relist_result_release(struct relist_result *r);

/* Reads STATE/relist/timing.json. E_NOTFOUND when no relist has completed since boot. */
int relist_timing_load(const struct ctx *ctx, struct relist_timing *out, struct err *e);

#endif

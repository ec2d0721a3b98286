/* common/node/relist.h - one relist the way kubelet's generic PLEG does it (DESIGN.md lesson 1 and
 * "relist"; issue 7): every container record and its live processes are read without a lock,
 * compared with the previous relist's snapshot (STATE/relist/snapshot.json), and the lifecycle
 * events found (ContainerStarted, ContainerDied, ContainerRemoved, ContainerChanged, ShimLost)
 * are returned and journaled with source "relist". Each relist's duration and the interval since
 * the previous one are kept in STATE/relist/timing.json with a histogram in the buckets kubelet
 * uses for kubelet_pleg_relist_duration_seconds. */
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
	bool had_before; /* the container was in the previous snapshot */
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

struct relist_timing {
	int64_t last_started_ns, last_finished_ns;
	int64_t last_duration_ns, last_interval_ns;
	uint64_t count;
	int64_t sum_ns;
	uint64_t buckets[RELIST_BUCKETS]; /* cumulative: relists that took <= relist_bucket_le[i] */
};

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

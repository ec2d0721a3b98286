/* common/store/event_query.h - questions asked of the event journal (DESIGN.md lesson 4, issue 7
 * "events"): a filter and its matcher, the last N matching events, and counts per key and per
 * time bucket against the previous period of the same length. Reading takes no lock. */
#ifndef CTRBOX_STORE_EVENT_QUERY_H
#define CTRBOX_STORE_EVENT_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/event.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

struct event_filter {
	int64_t since_ns; /* keep events at or after this time; 0: from the beginning */
	int64_t until_ns; /* keep events before this time; 0: no end */
	bool has_type;
	enum event_type type;
	const char *const *reasons; /* any of these reasons; n_reasons 0: every reason */
	size_t n_reasons;
	const char *object; /* the object's name, its ID, an ID prefix, or "kind/name" */
	const char *source; /* the emitting applet or "shim" */
};

/* True when ev passes every criterion f sets. */
bool event_filter_match(const struct event_filter *f, const struct event *ev);

/* The object as tables show it: "container/web", "image/docker.io/library/busybox:1.36",
 * "container/0123456789ab" when it has no name, "node/<host>" for the node. Caller frees. */
char *event_object_label(const struct event *ev) __attribute__((malloc, returns_nonnull));

/* Reads the whole journal (oldest first, across rotated files, no lock) and returns the
 * matching events in order; with last > 0 only the last `last` of them. *skipped counts the
 * lines that did not parse. The caller frees the array with events_free(). */
int event_query(const struct ctx *ctx, const struct event_filter *f, size_t last,
                struct event **out, size_t *n, uint64_t *skipped, struct err *e);

void events_free(struct event *v, size_t n);

enum event_stats_by {
	STATS_BY_REASON = 0,
	STATS_BY_TYPE,
	STATS_BY_OBJECT,
};

/* "reason", "type", "object"; -1 for anything else. */
int event_stats_by_parse(const char *s, enum event_stats_by *out);

struct event_stats_row {
	char *key;
	uint64_t count;    /* in [since, until) */
	uint64_t previous; /* in [since - (until - since), since) */
	uint64_t *buckets; /* n_buckets counts; bucket i starts at since + i * bucket_ns */
};

struct event_stats {
	enum event_stats_by by;
	int64_t since_ns, until_ns, bucket_ns;
	size_t n_buckets;
	struct event_stats_row *rows; /* after event_stats_finish: by count, then key */
	size_t n_rows;
	uint64_t total, total_previous;
	/* private: key -> row index, open addressing */
	size_t *slots;
	size_t n_slots;
};

#define EVENT_STATS_MAX_BUCKETS 10000

/* Prepares counting over [since, until) in buckets of bucket_ns (the last one may be shorter),
 * with the period of the same length before it as the comparison. E_INVALID when until is not
 * after since, bucket_ns is not positive, or there would be more than EVENT_STATS_MAX_BUCKETS. */
int event_stats_init(struct event_stats *s, enum event_stats_by by, int64_t since_ns,
                     int64_t until_ns, int64_t bucket_ns, struct err *e);
/* Counts ev when it falls in the window or the previous period; ignores it otherwise. */
void event_stats_add(struct event_stats *s, const struct event *ev);
/* Sorts the rows: most frequent first in the window (then in the previous period), then key. */
void event_stats_finish(struct event_stats *s);
void event_stats_release(struct event_stats *s);

/* Reads the journal (no lock) and counts the events f matches, ignoring f's own since/until,
 * into s (prepared by event_stats_init, finished here). */
int event_stats_collect(const struct ctx *ctx, const struct event_filter *f,
                        struct event_stats *s, uint64_t *skipped, struct err *e);

/* The change from previous to count as operators read it: "+100%", "-50%", "0%", or "new"
 * when previous is zero and count is not. */
void event_stats_change(uint64_t count, uint64_t previous, char *buf, size_t n);

#endif

/* common/node/event_sink.h - shipping the event journal to a webhook (DESIGN.md lesson 4, issue 7
 * "--sink"): events POSTed as JSON arrays in batches, retried with backoff and never dropped, and
 * a cursor document (journal file identity and offset after the last acknowledged event) so a
 * restart resumes exactly there: nothing lost, nothing sent twice that was acknowledged. */
#ifndef CTRBOX_NODE_EVENT_SINK_H
#define CTRBOX_NODE_EVENT_SINK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/event_query.h"
#include "common/store/journal_tail.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

struct event_sink_opts {
	const char *url;                  /* http:// or https:// */
	const char *cursor_path;          /* NULL: event_sink_cursor_default() */
	const struct event_filter *filter; /* what to send (its until is ignored) */
	bool from_oldest;    /* without a cursor: every event kept, not only new ones */
	size_t batch_max;    /* events per POST (100) */
	int64_t batch_wait_ns; /* a partial batch is sent this long after its first event (1s) */
	int64_t backoff_min_ns, backoff_max_ns; /* between failed attempts, doubling (500ms, 30s) */
	int64_t timeout_ns;  /* one POST, connection included (30s) */
	volatile sig_atomic_t *stop; /* set by the caller's signal handler: return 0 soon */
	const sigset_t *waitmask;    /* the mask while waiting (the caller blocks its signals) */
};

struct event_sink_stats {
	uint64_t sent, batches, failures;
};

/* ROOT/events/sink-<first 16 hex digits of sha256(url)>.cursor. Caller frees. */
char *event_sink_cursor_default(const struct ctx *ctx, const char *url)
	__attribute__((malloc, returns_nonnull));

/* Reads a cursor document. E_NOTFOUND when there is none, E_CORRUPT when it is damaged. */
int event_sink_cursor_load(const char *path, struct journal_pos *out, struct err *e);

/* Writes a cursor document atomically and durably (fsync, rename, fsync the directory). */
int event_sink_cursor_save(const char *path, const char *url, const struct journal_pos *pos,
                           struct err *e);

/* Runs the sink until *o->stop is set (returns 0) or an error that retrying cannot fix (a bad
 * cursor file, an unreadable journal: -1). Resumes after the cursor; when its file is gone,
 * warns on ctx->err and starts at the oldest event. Blocks on the network and on inotify;
 * writes only the cursor document. Counts what it did into st. */
int event_sink_run(const struct ctx *ctx, const struct event_sink_opts *o,
                   struct event_sink_stats *st, struct err *e);

#endif

/* common/store/journal.h - the durable event journal: ROOT/events/journal.jsonl plus rotated
 * files journal.jsonl.<N> (N grows; higher is newer; names never shift, so a reader is never
 * confused by a rename). One JSON object per line, appended with a single write(2) under
 * O_APPEND; rotated by size under ROOT/events/journal.lock; retention by age and total size. */
#ifndef CTRBOX_STORE_JOURNAL_H
#define CTRBOX_STORE_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/store/event.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

struct journal_limits {
	int64_t rotate_bytes; /* rotate the active file once it is larger */
	int64_t max_bytes;    /* keep rotated files while everything together fits */
	int64_t max_age_ns;   /* drop rotated files whose newest line is older */
};

/* The limits in effect (ctx->cfg's events section). */
void journal_limits_from_ctx(const struct ctx *ctx, struct journal_limits *out);

/* Appends one event as a single write under O_APPEND (no lock), then rotates if the active file
 * outgrew the limit: under the journal lock, re-checked, renamed to the next number, and old
 * files beyond retention removed. Does not fsync (the journal is a log, not a commit record). */
int journal_append(const struct ctx *ctx, const struct event *ev, struct err *e);

/* Rotates now (under the journal lock) and applies retention. */
int journal_rotate(const struct ctx *ctx, struct err *e);

struct journal_reader;

/* Opens a point-in-time view over every journal file, oldest first. The active file is opened
 * before the rotated ones are listed, so a rotation in between is seen exactly once. No lock.
 * A missing journal is an empty one. The caller frees with journal_reader_free. */
int journal_reader_open(const struct ctx *ctx, struct journal_reader **out, struct err *e);

/* Reads the next event into ev (released by the caller). Returns 1 with an event, 0 at the end,
 * -1 on an I/O error. Lines that do not parse are skipped and counted. */
int journal_next(struct journal_reader *r, struct event *ev, struct err *e);

/* How many unparseable lines were skipped so far. */
uint64_t journal_reader_skipped(const struct journal_reader *r);

void journal_reader_free(struct journal_reader *r);

#endif

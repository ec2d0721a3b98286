/* common/store/journal_tail.h - following the event journal as it grows (DESIGN.md lesson 4,
 * issue 7 "events --follow" and "--sink"): reads journal.jsonl.<N> oldest first and then the
 * active file, survives rotation (the old inode is read to its end before the next file is
 * opened, so no line is lost or read twice), waits with inotify rather than polling, and can say
 * exactly where it is (file identity and byte offset) so a consumer can resume there. No lock. */
#ifndef CTRBOX_STORE_JOURNAL_TAIL_H
#define CTRBOX_STORE_JOURNAL_TAIL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/store/event.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

/* A place in the journal: the file (device and inode, stable across rotation renames) and the
 * byte offset just after the last line consumed. ino 0 is "before the oldest file". */
struct journal_pos {
	uint64_t dev, ino;
	int64_t offset;
};

enum journal_tail_start {
	JOURNAL_TAIL_OLDEST, /* every event still kept */
	JOURNAL_TAIL_END,    /* only events appended from now on */
};

enum journal_tail_flags {
	JOURNAL_TAIL_WATCH = 1 << 0, /* set up inotify for journal_tail_wait (creates ROOT/events) */
	/* A one-pass read (a query): a rotated file is left as soon as it is read to its end, no
	 * quiet period, so 0 from journal_tail_next means the end of the journal. */
	JOURNAL_TAIL_SNAPSHOT = 1 << 1,
};

struct journal_tail;

/* Opens a tail at the oldest event or at the current end. With JOURNAL_TAIL_WATCH the events
 * directory is watched before anything is read, so no append is missed between reading and
 * waiting. The caller frees with journal_tail_free. */
int journal_tail_open(const struct ctx *ctx, enum journal_tail_start start, unsigned flags,
                      struct journal_tail **out, struct err *e);

/* Opens a tail at pos. When pos's file is no longer in the journal (removed by retention), or
 * the offset does not fall on a line boundary of it (an inode reused), the tail starts at the
 * oldest event instead and *resumed is false; otherwise *resumed is true. */
int journal_tail_open_at(const struct ctx *ctx, const struct journal_pos *pos, unsigned flags,
                         bool *resumed, struct journal_tail **out, struct err *e);

/* The next complete event: 1 with ev filled (the caller releases it), 0 when there is nothing
 * more for now (call journal_tail_wait, then again), -1 on an I/O error. Lines that do not parse
 * are skipped and counted. Never blocks. A rotated file is left only once it has been quiet for
 * a quarter second after the tail read it to its end (a writer that opened it before the rename
 * may still append), so right after a rotation 0 can come before the next file is read:
 * journal_tail_wait then wakes in time to move on. */
int journal_tail_next(struct journal_tail *t, struct event *ev, struct err *e);

/* The next complete line, raw (newline included), valid until the next call: for callers that
 * look at a line before paying for event_parse. Returns as journal_tail_next does. A line the
 * caller finds unreadable is counted with journal_tail_skip. */
int journal_tail_next_line(struct journal_tail *t, const char **line, size_t *len,
                           struct err *e);
void journal_tail_skip(struct journal_tail *t);

/* Where the tail is: just after the last event journal_tail_next returned (or skipped). */
void journal_tail_pos(const struct journal_tail *t, struct journal_pos *out);

/* Waits until the events directory changes or timeout_ns passes (< 0: no timeout), with the
 * signal mask sigmask (NULL: unchanged) in effect while waiting, so a caller that blocks
 * SIGINT/SIGTERM and passes its old mask is woken by them without a race. Returns 1 when
 * something changed, 0 on timeout or signal, -1 on error. Needs JOURNAL_TAIL_WATCH. */
int journal_tail_wait(struct journal_tail *t, int64_t timeout_ns, const sigset_t *sigmask,
                      struct err *e);

/* How many lines did not parse so far. */
uint64_t journal_tail_skipped(const struct journal_tail *t);

void journal_tail_free(struct journal_tail *t);

#endif

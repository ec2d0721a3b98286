/* common/runtime/logread.h - reading a container's CRI log for `logs` (DESIGN.md "run": logs
 * [-f]): the rotated files oldest first, partial records joined into lines, --tail and
 * --since, and following new records with inotify across rotation until the container has
 * exited and its log is drained. Lock-free: the shim writes each record in one append. */
#ifndef CTRBOX_RUNTIME_LOGREAD_H
#define CTRBOX_RUNTIME_LOGREAD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/runtime/crilog.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

#define LOGREAD_FILES_MAX 100 /* log.1 .. log.N looked for at most */

struct logread_opts {
	int64_t tail;     /* the last N lines only; < 0 for all */
	int64_t since_ns; /* lines stamped before this are skipped; 0 for all */
	bool follow;      /* then wait for new lines until the container exits */
};

/* One line of the container's output: its P records joined with the F that ends it. */
struct logread_line {
	int64_t time_ns; /* of its first record */
	enum crilog_stream stream;
	const char *msg; /* without the newline; valid during the callback only */
	size_t len;
	bool complete; /* false: the log ended (the container exited) inside this line */
};

/* Called for each line, in order; a -1 return (with e set) stops the read with that error. */
typedef int (*logread_fn)(void *arg, const struct logread_line *line, struct err *e);

/* The log's path for container id (ROOT/containers/<id>/log); the caller frees. */
char *logread_path(const struct ctx *ctx, const char *id);

/* Calls fn for every line of container id's log that o selects. With o->follow, then blocks
 * (inotify on the log's directory and state.json's, and a 250 ms tick) for new lines until the
 * container is no longer running and the log is drained, the container is removed, or *stop
 * becomes non-zero (a signal handler's flag; may be NULL). A missing log is an empty one.
 * Lines that are not CRI records are skipped. No lock. */
int logread_run(const struct ctx *ctx, const char *id, const struct logread_opts *o, logread_fn fn,
                void *arg, volatile sig_atomic_t *stop, struct err *e);

#endif

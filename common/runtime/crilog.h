/* common/runtime/crilog.h - the container log in the CRI logging format (DESIGN.md "run":
 * ROOT/containers/<id>/log, rotated by size): one line per chunk,
 * "2006-01-02T15:04:05.999999999Z stdout F message" ('P' for a partial line, a chunk that did
 * not end in a newline or was cut at the line limit). Written only by the shim; read by `logs`
 * and attach clients without any lock. Rotation renames log -> log.1 -> ... -> log.N. */
#ifndef CTRBOX_RUNTIME_CRILOG_H
#define CTRBOX_RUNTIME_CRILOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

enum crilog_stream {
	CRILOG_STDOUT = 0,
	CRILOG_STDERR,
};

#define CRILOG_LINE_MAX (16 * 1024) /* longer lines are split into P chunks, as CRI does */

struct crilog;

/* Opens (creating, O_APPEND) the log at path; rotates when it grows past max_bytes, keeping
 * max_files rotated files (0: no rotation). The caller frees with crilog_close. */
int crilog_open(const char *path, int64_t max_bytes, int max_files, struct crilog **out,
		struct err *e);
/* Writes data read from a stream at time now_ns: complete lines as F records, a trailing
 * fragment kept until the next write completes it or crilog_flush emits it as P. */
int crilog_write(struct crilog *l, enum crilog_stream s, int64_t now_ns, const void *data,
		 size_t len, struct err *e);
/* Emits any buffered fragment of either stream as a P record (at exit). */
int crilog_flush(struct crilog *l, int64_t now_ns, struct err *e);
void crilog_close(struct crilog *l);

/* One parsed record. */
struct crilog_record {
	int64_t time_ns;
	enum crilog_stream stream;
	bool partial;
	const char *msg; /* points into the line given to crilog_parse; not NUL-terminated */
	size_t msg_len;
};

/* Parses one line (without its '\n'); E_CORRUPT for anything that is not a CRI record. */
int crilog_parse(const char *line, size_t len, struct crilog_record *out, struct err *e);

#endif

/* common/util/out.h - the one place that formats tables and JSON (STYLE.md "Output").
 * Data goes to ctx->out; a write error other than EPIPE is reported by out_end(). */
#ifndef CTRBOX_UTIL_OUT_H
#define CTRBOX_UTIL_OUT_H

#include <stdint.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

enum col_type {
	COL_STR,      /* const char * (NULL prints "" in tables, null in JSON) */
	COL_ID,       /* const char *; tables show 12 characters unless --no-trunc; -q prints it */
	COL_INT,      /* int64_t */
	COL_SIZE,     /* int64_t bytes: "12.3MB" in tables, a number in JSON */
	COL_TIME,     /* int64_t ns since the epoch: "3 minutes ago" / RFC 3339 (0 = unset) */
	COL_DURATION, /* int64_t ns: "12.3ms" in tables, a number of ms (double) in JSON */
	COL_BOOL,     /* int: "true"/"false" */
	COL_RAW_JSON, /* const char * holding a JSON value: embedded as is in JSON, text in tables */
};

struct col {
	const char *key;   /* stable snake_case JSON key, units in the name (size_bytes) */
	const char *title; /* table heading; NULL: the column is in JSON only */
	enum col_type type;
};

struct out;

/* Starts a listing with ctx->fmt and ctx->quiet; cols ends with a zeroed entry. The caller owns
 * the result until out_end(). */
struct out *out_begin(const struct ctx *ctx, const struct col *cols);
/* One row: one argument per column, of the type the column names. */
void out_row(struct out *o, ...);
/* Writes what is buffered (tables are aligned over all rows), frees o. Returns 0, or -1 with e
 * set on a write error; EPIPE (a closed pager) is a quiet success. */
int out_end(struct out *o, struct err *e);

/* Writes one JSON value (already formatted, e.g. by jsonio) and a newline to ctx->out. */
int out_json_text(const struct ctx *ctx, const char *json, struct err *e);

#endif

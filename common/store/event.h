/* common/store/event.h - the event schema every applet and the shim emit (DESIGN.md lesson 4;
 * issue "foundation": time, type, reason, object {kind,id,name}, message, source, host). */
#ifndef CTRBOX_STORE_EVENT_H
#define CTRBOX_STORE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

enum event_type {
	EVENT_NORMAL = 0,
	EVENT_WARNING,
};

enum object_kind {
	OBJECT_NODE = 0,
	OBJECT_IMAGE,
	OBJECT_CONTAINER,
};

#define EVENT_LINE_MAX   (16 * 1024) /* one journal line, newline included */
#define EVENT_REASON_MAX 64

struct event {
	int64_t time_ns; /* UTC, nanoseconds */
	enum event_type type;
	char *reason; /* CamelCase: Pulled, Started, Died, RelistSlow */
	struct {
		enum object_kind kind;
		char *id;   /* may be NULL */
		char *name; /* may be NULL */
	} object;
	char *message;
	char *source; /* the applet or "shim" */
	char *host;
};

/* Frees the strings; the struct is zeroed and reusable. */
void event_release(struct event *ev);

const char *event_type_name(enum event_type t);     /* "Normal", "Warning" */
int event_type_parse(const char *s, enum event_type *out);
const char *object_kind_name(enum object_kind k);   /* "node", "image", "container" */
int object_kind_parse(const char *s, enum object_kind *out);
/* True when reason is CamelCase ASCII letters and digits, starting upper case, <= 64 chars. */
int event_reason_valid(const char *reason);

/* Appends the event as one JSON line ending in '\n' to b. A message that would push the line
 * past EVENT_LINE_MAX is truncated (marked with "...") so the line always fits. E_INVALID for a
 * bad reason. */
int event_format(const struct event *ev, struct buf *b, struct err *e);

/* Parses one journal line (without or with its '\n') into ev, which the caller releases.
 * E_CORRUPT with the reason for anything that is not a valid event. */
int event_parse(const char *line, size_t len, struct event *ev, struct err *e);

/* Builds and appends an event stamped with ctx's clock and the host name, from the applet in
 * ctx->applet unless source is given. */
int event_emit(const struct ctx *ctx, enum event_type type, const char *reason,
	       enum object_kind kind, const char *id, const char *name, const char *source,
	       struct err *e, const char *fmt, ...) __attribute__((format(printf, 9, 10)));

#endif

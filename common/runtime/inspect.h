/* common/runtime/inspect.h - the JSON `inspect` prints (DESIGN.md "run": inspect ID|IMAGE):
 * for a container its container.json and state.json with the paths of its config.json, log and
 * directories; for an image its record, manifest and config. docker inspect's shape (an array
 * of objects) with ctrbox's stable snake_case keys. Lock-free: reads documents as they are. */
#ifndef CTRBOX_RUNTIME_INSPECT_H
#define CTRBOX_RUNTIME_INSPECT_H

#include "common/util/ctx.h"
#include "common/util/err.h"

enum inspect_kind {
	INSPECT_ANY = 0, /* a container first, then an image (docker's order) */
	INSPECT_CONTAINER,
	INSPECT_IMAGE,
};

struct inspect; /* the array being built */

struct inspect *inspect_new(void) __attribute__((returns_nonnull));
/* Appends the object arg names: a container by ID, unique prefix or name; an image by
 * reference or a unique prefix (4+ hex digits) of its ID or manifest digest. E_NOTFOUND
 * "ARG: no such container or image" (or "no such container" / "no such image" with a kind);
 * E_INVALID when ambiguous; E_CORRUPT for a document that cannot be read. */
int inspect_add(const struct ctx *ctx, struct inspect *in, const char *arg, enum inspect_kind kind,
                struct err *e);
/* The array as pretty-printed JSON (caller frees); frees in. */
char *inspect_finish(struct inspect *in) __attribute__((returns_nonnull));
void inspect_free(struct inspect *in);

#endif

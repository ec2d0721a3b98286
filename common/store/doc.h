/* common/store/doc.h - atomic JSON documents: the one way a store document is written or read
 * (DESIGN.md: "Every document is JSON written atomically"). Typed modules sit on top. */
#ifndef CTRBOX_STORE_DOC_H
#define CTRBOX_STORE_DOC_H

#include <stddef.h>

#include <json-c/json.h>

#include "common/util/buf.h"
#include "common/util/err.h"

#define DOC_MAX_BYTES (4 << 20)

enum doc_flags {
	DOC_DURABLE = 1 << 0, /* fsync data and directory: for ROOT documents that must survive */
};

/* Writes obj to path atomically (temp file beside it, write, optional fsync, rename, optional
 * directory fsync), mode 0600. Never leaves a partial document: readers see old or new. Does not
 * lock; callers that read-modify-write hold the object's lock (lock.h). */
int doc_write(const char *path, struct json_object *obj, enum doc_flags flags, struct err *e);

/* Reads and parses the document at path (at most DOC_MAX_BYTES). E_NOTFOUND when absent,
 * E_CORRUPT when it is not one valid JSON object. Never locks. The caller owns *out. */
int doc_read(const char *path, struct json_object **out, struct err *e);

/* As doc_read, for the document rel relative to the open directory dirfd, read with
 * fs_read_small_at into b (a buffer the caller reuses across documents; its contents are the
 * document's text afterwards): three system calls for a small document, for listings of many.
 * Errors name rel. Never locks. The caller owns *out. */
int doc_read_at(int dirfd, const char *rel, struct buf *b, struct json_object **out, struct err *e);

#endif

/* common/image/source_int.h - internal to the offline image sources (common/image/source.c,
 * source_archive.c, source_store.c); nothing else includes it. The state of one import, the
 * reading of files and archive members (source_archive.c) and the copy of blobs into the store
 * (source_store.c) that the formats in source.c call. */
#ifndef CTRBOX_IMAGE_SOURCE_INT_H
#define CTRBOX_IMAGE_SOURCE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/image/manifest.h"
#include "common/image/ref.h"
#include "common/image/source.h"
#include "common/store/digest.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

#define LAYOUT_FILE "oci-layout"
#define INDEX_FILE  "index.json"
#define DOCKER_FILE "manifest.json"

/* One archive member, as the first pass saw it. */
struct member {
	char *name; /* cleaned: no "./", "//" or ".." */
	char *link; /* a hardlink's or symlink's target as a cleaned archive path ("" when it
	             * points outside the archive); NULL for a regular file */
	int64_t size;
	char *data;             /* the content, when the first pass kept it */
	unsigned char magic[4]; /* its first bytes (gzip, zstd or not) */
	bool dup;               /* another member has the same name: refused when used */
};

struct src {
	const struct ctx *ctx;
	const struct image_ref *ref;
	source_progress_fn progress;
	void *arg;
	int64_t committed;
	/* oci: */
	int dirfd; /* the layout directory */
	int shafd; /* its blobs/sha256 */
	/* archives */
	int fd;
	struct member *m; /* sorted by name after the first pass */
	size_t n;
	size_t cached;
};

/* A blob to stream into the store: a layer. */
struct want {
	const char *member; /* archives: the regular member holding it */
	struct digest d;
	int64_t size;
	const char *media_type; /* docker-archive: what the made manifest says it is */
	char *what;             /* "layer 2 (abc/layer.tar)" */
	bool done;
};

/* A name from a document or an archive as a message shows it: control characters as '?', cut
 * at 128 bytes. The caller frees. */
char *source_shown(const char *s);

/* Reads fd to its end, at most max bytes (E_INVALID beyond), into a NUL-terminated buffer. */
int source_read_fd_bounded(int fd, const char *what, size_t max, char **out, size_t *len,
                           struct err *e);

/* Opens name in dirfd without following a symlink, and only when it is a regular file (a FIFO
 * would block, a device could be anything). */
int source_open_regular(int dirfd, const char *name, const char *label, int64_t *size,
                        struct err *e);

/* The first pass over s->ref->path: every member's name, kind and size into s->m (sorted by
 * name), the small ones kept in memory. */
int source_archive_index(struct src *s, struct err *e);

/* Called for each member in order with its cleaned name (NULL when it has none usable);
 * returns 1 to stop the walk, 0 to go on, -1 on an error. */
typedef int (*visit_fn)(struct src *s, struct archive *a, struct archive_entry *ent,
                        const char *name, void *arg, struct err *e);

/* One pass over the archive from its start, visit called for each member until one returns 1
 * (0 returned) or -1 (-1 returned). */
int source_archive_walk(struct src *s, visit_fn visit, void *arg, struct err *e);

/* The regular member name stands for, following links within the archive. */
int source_member_resolve(const struct src *s, const char *name, const struct member **out,
                          struct err *e);

/* A member's content, at most max bytes: from memory, or by another pass. */
int source_member_read(struct src *s, const char *name, size_t max, char **out, size_t *len,
                       struct err *e);

/* Commits a small blob verified by the caller. */
int source_put_small(struct src *s, const struct digest *d, const char *data, size_t len,
                     struct err *e);

/* A blob an OCI document names, read whole (at most max bytes) and verified. */
int source_oci_blob_read(struct src *s, const struct descriptor *d, size_t max, char **out,
                         size_t *len, struct err *e);

/* Streams every wanted blob into the store: from the layout, from memory, or in one last pass
 * over the archive. */
int source_stream_all(struct src *s, struct want *w, size_t n, struct err *e);

/* Frees the wants' texts and the array. */
void source_wants_free(struct want *w, size_t n);

#endif

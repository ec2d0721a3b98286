/* common/image/layer_int.h - internal to layer_apply() (common/image/layer.c, layer_stream.c,
 * layer_whiteout.c); nothing else includes it. The decompressing stream (layer_stream.c), the
 * applier's state and path resolution (layer.c), and whiteouts and the set of written paths
 * (layer_whiteout.c) as the three files call each other. */
#ifndef CTRBOX_IMAGE_LAYER_INT_H
#define CTRBOX_IMAGE_LAYER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <archive.h>

#include "common/store/digest.h"
#include "common/util/err.h"

#define NSLOT 4 /* chunks in flight between the producer and libarchive */

enum src_kind { SRC_PLAIN, SRC_GZIP, SRC_ZSTD };

/* The uncompressed stream. A producer thread reads, inflates, hashes and counts it into NSLOT
 * chunks while the applying thread parses and writes files: on one layer the two overlap (the
 * CPU-bound inflate and SHA-256 beside the kernel's write path). libarchive's read callback
 * keeps a chunk until it asks for the next one. */
struct src {
	int fd;
	enum src_kind kind;
	uint8_t *in;
	size_t in_len, in_pos; /* buffered compressed bytes (plain and zstd serve these first) */
	bool in_eof;
	struct inflate_state *isal;
	struct archive *zin; /* zstd: libarchive's filter with the raw format */
	struct hasher *h;
	int64_t total, limit; /* the producer's; read after it is joined */
	struct err err;       /* why the stream failed (set by the producer before `failed`) */
	/* the pipe, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	bool threaded;
	uint8_t *slot[NSLOT];
	size_t slot_len[NSLOT];
	unsigned head, count; /* count includes the chunk libarchive holds */
	bool held, eof, failed, stop;
};

/* A set of cleaned paths: what this layer wrote, for whiteouts applied by deletion. */
struct strset {
	char **slot;
	size_t cap, n;
};

/* A directory's metadata, applied after everything in it was written. */
struct dirmeta {
	char *path;
	mode_t mode;
	bool has_mtime, has_atime;
	struct timespec mtime, atime;
};

struct applier {
	int root;
	unsigned flags;
	bool as_root;
	mode_t umask;
	bool openat2;
	struct {
		char *path; /* NULL when empty */
		int fd;
		bool setgid;
		bool stale; /* not to be reused; fd stays open while an entry may still use it */
	} cache;
	struct dirmeta *dirs;
	size_t n_dirs, cap_dirs;
	struct strset created; /* LAYER_APPLY_WHITEOUTS only */
	int64_t skipped;
};

/* ---- the stream (layer_stream.c) ---- */

/* Detects the compression of fd by its first bytes and starts the producer; limit bounds the
 * uncompressed bytes. s is released with layer_src_release() whatever this returns. */
int layer_src_open(struct src *s, int fd, int64_t limit, struct err *e);
/* The next uncompressed chunk for libarchive (0 at the end, -1 on failure: see
 * layer_src_error). The chunk stays valid until the next call. */
ssize_t layer_src_next(struct src *s, const void **buf);
/* Whether the stream failed; copies why into e. */
bool layer_src_error(struct src *s, struct err *e);
/* libarchive's read callback over layer_src_next(); arg is the struct src. */
la_ssize_t layer_tar_read_cb(struct archive *a, void *arg, const void **buf);
/* Stops and joins the producer; afterwards s->h and s->total are the caller's. */
void layer_src_stop(struct src *s);
void layer_src_release(struct src *s);

/* ---- the applier (layer.c) ---- */

/* After a replacement the cached parent may be gone or reached differently: the next entry
 * resolves afresh, while the current one keeps using its descriptor. */
void layer_cache_invalidate(struct applier *ap);
/* A new O_PATH descriptor on the directory at cleaned path, created with its missing parents
 * (mode 0755) when create. E_NOTFOUND when missing and !create. */
int layer_resolve_dir(struct applier *ap, const char *path, bool create, const char *entry,
                      struct err *e);
/* The parent directory of cleaned path as a borrowed descriptor (cached: tar lists a
 * directory's entries together). *base points at the last component. */
int layer_parent_of(struct applier *ap, const char *path, bool create, const char **base,
                    bool *setgid, const char *entry, struct err *e);
/* Removes name under dfd, recursively for a directory, never following a symlink. */
int layer_remove_at(int dfd, const char *name, struct err *e);
/* Makes room for a new entry: whatever is at base goes (last entry wins). */
int layer_replace_at(struct applier *ap, int pfd, const char *base, struct err *e);

/* ---- whiteouts and written paths (layer_whiteout.c) ---- */

bool layer_strset_has(const struct strset *set, const char *s);
void layer_strset_add(struct strset *set, const char *s);
void layer_strset_release(struct strset *set);
/* A whiteout: an overlay whiteout device, or (LAYER_APPLY_WHITEOUTS) the deletion of what lower
 * layers put there. A name this layer itself wrote stays: a whiteout hides lower layers only. */
int layer_apply_whiteout(struct applier *ap, const char *path, const char *name, struct err *e);
/* An opaque directory: trusted.overlay.opaque=y, or (LAYER_APPLY_WHITEOUTS) the removal of the
 * children this layer did not write. */
int layer_apply_opaque(struct applier *ap, const char *dir, struct err *e);

#endif

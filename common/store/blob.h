/* common/store/blob.h - the content-addressed blob store and its resumable ingest (DESIGN.md:
 * content/blobs/sha256/<hex>, content/ingest/<digest>; "Content is the truth and is verified
 * (digest and size) before it is committed"; "Two processes pulling images that share a layer
 * download it once: the second waits on the first's ingest lock, then finds the blob
 * committed"). */
#ifndef CTRBOX_STORE_BLOB_H
#define CTRBOX_STORE_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/digest.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

/* 0 and *size when the committed blob exists, E_NOTFOUND otherwise. No lock. */
int blob_stat(const struct ctx *ctx, const struct digest *d, int64_t *size, struct err *e);

/* Opens a committed blob read-only; the caller closes the descriptor. No lock. */
int blob_open(const struct ctx *ctx, const struct digest *d, struct err *e);

/* Reads a committed blob of at most max bytes (E_INVALID when larger) and re-verifies its digest
 * (E_CORRUPT when it does not match). The caller frees *out. No lock. */
int blob_read(const struct ctx *ctx, const struct digest *d, size_t max, char **out, size_t *len,
	      struct err *e);

/* Verifies data against d and commits it (small blobs: manifests, configs). Committing content
 * that is already present is success. Locks the digest's ingest briefly; fsyncs the blob. */
int blob_put(const struct ctx *ctx, const struct digest *d, const void *data, size_t len,
	     struct err *e);

/* Removes a committed blob; a missing one is success. */
int blob_remove(const struct ctx *ctx, const struct digest *d, struct err *e);

struct ingest {
	const struct ctx *ctx;
	struct digest want;
	int64_t want_size; /* -1 when unknown */
	int64_t offset;    /* bytes already received (and hashed) */
	int fd;            /* the partial data, O_APPEND */
	int lock_fd;       /* the digest's ingest lock */
	char *path;        /* content/ingest/sha256-HEX */
	struct hasher *h;
	struct ingest_pipe *pipe; /* NULL: writes are synchronous (see ingest_pipeline) */
};

/* Opens the ingest for d, taking its lock (waiting up to timeout_ns as lock_take does). Partial
 * data left by an earlier (possibly killed) run is kept and re-hashed, so the caller resumes at
 * ing->offset. E_EXISTS (and no ingest) when the blob is already committed, checked after the
 * lock is taken so a second puller finds the first one's blob. Partial data longer than
 * want_size, or a corrupt partial, is discarded and the ingest starts from zero. */
int ingest_open(const struct ctx *ctx, const struct digest *d, int64_t want_size,
		int64_t timeout_ns, struct ingest *ing, struct err *e);

/* Moves hashing and writing to a thread of the ingest's own, fed through a few large buffers,
 * so that a download overlaps receiving with hashing and writing (and starts the disk's
 * writeback early, so the commit's fsync has little left to do). ingest_write then only copies;
 * an error of the thread is returned by a later ingest_write or by ingest_commit. Everything
 * that ends or rewinds the ingest drains the thread first. */
void ingest_pipeline(struct ingest *ing);

/* Appends received bytes. More than want_size in total is E_CORRUPT. */
int ingest_write(struct ingest *ing, const void *data, size_t len, struct err *e);

/* Discards what was received and starts again from offset 0 (a server ignored Range). */
int ingest_restart(struct ingest *ing, struct err *e);

/* Verifies size and digest, fsyncs, renames into blobs/ and fsyncs the directory, then releases
 * the ingest. On a mismatch (E_CORRUPT) the partial data is deleted and nothing is committed.
 * Either way the ingest is closed afterwards. */
int ingest_commit(struct ingest *ing, struct err *e);

/* Releases the lock and keeps the partial data for a later resume. Safe to call twice. */
void ingest_close(struct ingest *ing);

/* Releases the lock and deletes the partial data. */
void ingest_abort(struct ingest *ing);

#endif

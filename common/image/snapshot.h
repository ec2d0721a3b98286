/* common/image/snapshot.h - layer snapshots under ROOT/snapshots (DESIGN.md "The metadata layer
 * on disk": snapshots/<n>/ = fs/ + meta.json, short numeric names; "A snapshot becomes visible
 * only when complete"), chain IDs as the OCI image spec defines them, garbage collection of
 * half-written snapshots, and the overlay mount options a container's rootfs is built from.
 *
 * On disk:
 *   snapshots/<n>/fs/          the layer's files, overlay format (whiteout devices, opaque xattr)
 *   snapshots/<n>/meta.json    chain_id, diff_id, layer digest, parent, size, entries, created
 *   snapshots/<n>/lock         held while the snapshot is being written
 *   snapshots/chains/<hex>     "<n>\n": the chain index, written last (atomic rename); a
 *                              snapshot is visible only through it
 *   snapshots/chains/<hex>.lock  one unpack of a chain at a time
 * Nothing here calls sync or syncfs: content is the truth, a snapshot can be verified and
 * rebuilt from it. */
#ifndef CTRBOX_IMAGE_SNAPSHOT_H
#define CTRBOX_IMAGE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/digest.h"
#include "common/store/lock.h"
#include "common/util/config.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

struct snapshot_meta {
	int n;                  /* the directory number under ROOT/snapshots (>= 1) */
	struct digest chain_id; /* the OCI ChainID of the layers up to this one */
	struct digest diff_id;  /* the layer's uncompressed digest */
	struct digest layer;    /* the layer blob it was unpacked from */
	int parent;             /* the parent chain's snapshot when created; 0 for the base */
	int64_t size_bytes;     /* regular-file bytes in fs/ */
	int64_t entries;        /* file-system objects in fs/, the top directory excluded */
	int64_t created_ns;
};

/* ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)), for n
 * diff_ids into out[n]. */
void snapshot_chain_ids(const struct digest *diff_ids, size_t n, struct digest *out);

/* ROOT/snapshots/<n> and ROOT/snapshots/<n>/fs; the caller frees. */
char *snapshot_dir(const struct ctx *ctx, int n);
char *snapshot_fs_dir(const struct ctx *ctx, int n);

/* The complete snapshot of a chain: its index names a directory whose meta.json carries that
 * chain. E_NOTFOUND otherwise (no index, or one left pointing at garbage). No lock. */
int snapshot_lookup(const struct ctx *ctx, const struct digest *chain, struct snapshot_meta *out,
                    struct err *e);

/* Reads snapshots/<n>/meta.json. E_NOTFOUND, E_CORRUPT. No lock. */
int snapshot_meta_load(const struct ctx *ctx, int n, struct snapshot_meta *out, struct err *e);

/* Takes the chain's lock (snapshots/chains/<hex>.lock), waiting up to timeout_ns as lock_take.
 * Held by an unpack from before it looks the chain up until its index is written. */
int snapshot_chain_lock(const struct ctx *ctx, const struct digest *chain, int64_t timeout_ns,
                        struct lock *out, struct err *e);

/* A snapshot being written. */
struct snapshot_new {
	int n;
	int fs_fd;        /* the empty fs/ directory, O_RDONLY|O_DIRECTORY */
	struct lock lock; /* snapshots/<n>/lock, held until published or aborted */
};
#define SNAPSHOT_NEW_INIT                                                                          \
	{                                                                                          \
		0, -1, LOCK_INIT                                                                   \
	}

/* Allocates the next free number (mkdir, retrying on EEXIST), creates <n>/fs (0755) and takes
 * <n>/lock so garbage collection leaves it alone. Creates snapshots/ and chains/ if missing. */
int snapshot_begin(const struct ctx *ctx, struct snapshot_new *out, struct err *e);

/* Measures fs/ (entries, size), fills meta->n, size_bytes, entries and writes meta.json
 * (atomic, not fsynced). The snapshot stays invisible until snapshot_publish. */
int snapshot_finish(const struct ctx *ctx, struct snapshot_new *s, struct snapshot_meta *meta,
                    struct err *e);
/* As snapshot_finish with meta->size_bytes and entries already measured (snapshot_measure). */
int snapshot_write_meta(const struct ctx *ctx, struct snapshot_new *s, struct snapshot_meta *meta,
                        struct err *e);

/* Writes the chain index (atomic rename, not fsynced): the snapshot becomes visible. Then
 * releases the snapshot's lock. */
int snapshot_publish(const struct ctx *ctx, struct snapshot_new *s,
                     const struct snapshot_meta *meta, struct err *e);

/* Removes an unpublished snapshot and releases its lock; a no-op on SNAPSHOT_NEW_INIT or after
 * snapshot_publish. */
void snapshot_abort(const struct ctx *ctx, struct snapshot_new *s);

/* Counts the objects under a directory (the directory itself excluded) and sums its regular
 * files' sizes, never following symlinks. */
int snapshot_measure(int dir_fd, int64_t *entries, int64_t *bytes, struct err *e);

/* Checks a published snapshot against its metadata: meta.json readable, the index points at it,
 * its chain and diff IDs are the expected ones (either may be NULL), and fs/ still holds the
 * recorded number of entries and bytes (catches lost and truncated files, not a changed byte;
 * `unpack --verify` re-applies nothing). E_CORRUPT saying what differs. No lock. */
int snapshot_verify(const struct ctx *ctx, const struct digest *chain, const struct digest *diff,
                    struct snapshot_meta *out, struct err *e);

/* Every published snapshot, sorted by number. The caller frees *out. No lock. */
int snapshot_list(const struct ctx *ctx, struct snapshot_meta **out, size_t *n, struct err *e);

/* Removes garbage: numbered directories without meta.json or not named by their chain's index
 * (an unpack killed midway, a failed diff_id check), whose lock is free; and index files left
 * pointing at nothing. Never waits on a lock. *removed (may be NULL) counts directories. */
int snapshot_gc(const struct ctx *ctx, int *removed, struct err *e);

/* Removes a published snapshot: its index first (under the chain lock, tried once: E_BUSY while
 * an unpack holds it), then the directory. For prune, which decides what is unreferenced. */
int snapshot_remove(const struct ctx *ctx, int n, struct err *e);

/* Unpublishes and removes snapshot m (it failed verification) while the caller holds its
 * chain's lock: the index goes first, so readers never see a half-removed snapshot. */
int snapshot_discard(const struct ctx *ctx, const struct snapshot_meta *m, struct err *e);

/* For prune: collects garbage (snapshot_gc), then removes every published snapshot whose
 * number is not in keep[0..n_keep) (the snapshots of every image record, from unpack_lookup,
 * and of every container). A snapshot whose chain an unpack holds is skipped, never waited
 * for. With dry_run nothing is removed. *out lists what was (or would be) removed (may be
 * NULL); the caller frees it. */
int snapshot_prune(const struct ctx *ctx, const int *keep, size_t n_keep, bool dry_run,
                   struct snapshot_meta **out, size_t *n_out, struct err *e);

/* ---- overlay, for run ---- */

/* Whether the kernel's overlayfs takes "volatile" (Linux 5.10+, from uname). */
bool snapshot_volatile_supported(void);

/* Whether overlay is registered in <proc>/filesystems (it may still be a loadable module). */
bool snapshot_overlay_supported(const struct ctx *ctx);

/* The mount(2) data for an overlay over the snapshots ns[0..n) (top first), with upperdir and
 * workdir when upper is not NULL, and volatile as mode says (the config's snapshots.volatile:
 * VOLATILE_AUTO when supported, VOLATILE_ON or E_UNSUPPORTED on an older kernel, VOLATILE_OFF;
 * only with an upperdir). With rel true the lowerdirs are
 * written relative to ROOT/snapshots ("7/fs:3/fs") and the caller mounts from that directory
 * (chdir, or fchdir in the container's mount namespace) - it keeps long chains within the
 * limit. The result must fit one page with its NUL: E_INVALID "overlay options for N layers
 * are B bytes, the kernel takes at most P" otherwise. Paths holding ',' or ':' are refused
 * (E_INVALID), as is a single lower without an upper (the kernel refuses it). The caller
 * frees *out. */
int snapshot_overlay_options(const struct ctx *ctx, const int *ns, size_t n, const char *upper,
                             const char *work, enum config_volatile mode, bool rel, char **out,
                             struct err *e);

#endif

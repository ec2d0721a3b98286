/* common/image/unpack.h - an image's layers applied into snapshots, in parallel, or flattened
 * into a rootfs or an OCI runtime bundle for other runtimes (DESIGN.md "unpack"). Emits
 * Unpacking, Unpacked (layers, bytes, seconds) and Failed (Warning). */
#ifndef CTRBOX_IMAGE_UNPACK_H
#define CTRBOX_IMAGE_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/digest.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

enum unpack_flags {
	/* Check every snapshot the image already has (meta.json, chain index, diff_id, and the
	 * entry count and bytes of fs/ against meta.json); one that fails is removed and
	 * rebuilt from its layer blob. */
	UNPACK_VERIFY = 1 << 0,
};

struct unpack_opts {
	unsigned flags;         /* enum unpack_flags */
	const char *to_dir;     /* a flattened rootfs here instead of snapshots (must not exist
	                         * or be empty), or NULL */
	const char *bundle_dir; /* an OCI bundle here: rootfs/ and config.json, or NULL */
	int jobs;               /* layers applied at once; 0: the number of online CPUs */
	const char *name;       /* the image's name for events, or NULL */
};

struct unpack_result {
	size_t n_layers;
	size_t n_reused;  /* layers whose snapshot already existed (and verified, with VERIFY) */
	size_t n_rebuilt; /* VERIFY: snapshots that failed verification and were rebuilt */
	int *snapshots;   /* snapshot mode: the snapshot number of each layer, bottom first */
	struct digest *chain_ids; /* each layer's chain ID, bottom first */
	int64_t bytes;            /* uncompressed layer bytes applied by this call */
	int64_t size_bytes;       /* snapshot mode: bytes on disk of all the image's snapshots */
	int64_t duration_ns;
};

void unpack_result_release(struct unpack_result *r);

/* Unpacks the image whose manifest (an image manifest, not an index) is committed in the
 * content store: reads manifest and config (blob_read re-verifies them), computes chain IDs,
 * and applies each missing layer into a new snapshot, several at once (up to o->jobs threads),
 * checking each layer's diff_id. Layers whose snapshot exists are reused. Snapshots become
 * visible only after every layer succeeded; on any failure (E_CORRUPT for a diff_id mismatch,
 * E_INVALID for a refused entry, E_NOTFOUND for a missing blob) the new snapshots are removed
 * and nothing is visible. Garbage from earlier interrupted unpacks is removed first. Locks each
 * chain (see unpack_session_begin: another unpack of the same layers is waited for, never
 * duplicated), never syncs.
 * With o->to_dir or o->bundle_dir, writes the flattened tree there instead (layers in order,
 * whiteouts applied by deletion) and touches no snapshot; on failure what it wrote there is
 * removed. o may be NULL. The caller releases *out. */
int unpack_image(const struct ctx *ctx, const struct digest *manifest, const struct unpack_opts *o,
                 struct unpack_result *out, struct err *e);

/* ---- pipelined with a pull ----
 * A session lets a pull apply each layer as soon as its blob is committed, while others still
 * download: begin once the manifest and config are committed, call unpack_session_layer from
 * any thread for each committed layer (a layer whose snapshot exists, or whose chain another
 * unpack holds, returns at once), then end. unpack_image is begin + end. */
struct unpack_session;

/* Loads manifest and config (committed), emits Unpacking, collects garbage, and tries each
 * chain's lock in layer order without waiting, keeping the prefix it gets: chains another
 * unpack holds are settled at the end, after it. o is copied (o->name must outlive the
 * session); flattened modes (to_dir, bundle_dir) are not sessions. */
int unpack_session_begin(const struct ctx *ctx, const struct digest *manifest,
                         const struct unpack_opts *o, struct unpack_session **out, struct err *e);
size_t unpack_session_layers(const struct unpack_session *s);
/* Applies layer i (0-based, bottom first; its blob committed) into an unpublished snapshot
 * unless it is reused, deferred, or already done or being done by another thread. Blocks for
 * the layer's application; thread-safe. -1 with the layer's error when it failed (the session
 * will fail: nothing of it becomes visible). */
int unpack_session_layer(struct unpack_session *s, size_t i, struct err *e);
/* With ok, applies every layer not applied yet (in parallel), settles the deferred chains in
 * order (waiting on their locks), checks everything succeeded, publishes bottom-up, emits
 * Unpacked and fills *out (the caller releases it). With !ok (the pull failed; e holds why) or
 * on any failure, removes the session's unpublished snapshots and emits Failed. No
 * unpack_session_layer may be running. Frees the session either way. */
int unpack_session_end(struct unpack_session *s, bool ok, struct unpack_result *out, struct err *e);

/* What is unpacked of an image, without unpacking anything or taking a lock (for `images`,
 * `prune` and `run`): fills n_layers, chain_ids, snapshots (0 for a layer with no published
 * snapshot), size_bytes (of those present) and n_reused (how many are present: the image is
 * unpacked when it equals n_layers). Reads the manifest and config from the content store. The
 * caller releases *out. */
int unpack_lookup(const struct ctx *ctx, const struct digest *manifest, struct unpack_result *out,
                  struct err *e);

#endif

/* common/image/layer.h - applying one layer blob into a directory with no mounts (DESIGN.md
 * lesson 2 "Unpacking never mounts" and "unpack": OCI whiteouts become overlay whiteouts, no
 * path can escape). The blob is read through ISA-L (gzip) or libarchive's filters (zstd, none),
 * the uncompressed stream is hashed so the caller checks the diff_id, and every file is written
 * with descriptor-relative calls that never follow a symlink out of the target directory.
 *
 * Containment rules (each case is contained or refused with E_INVALID naming the entry):
 * - names are cleaned lexically: a leading '/' is dropped, '.' and empty components vanish,
 *   '..' pops a component and stops at the top ("../../etc/x" lands at DIR/etc/x);
 * - parent directories are resolved beneath DIR without following any symlink (openat2
 *   RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, else a walk with O_NOFOLLOW): an entry whose parent
 *   path goes through a symlink is refused. A layer written from a file system names real
 *   paths, so only a crafted one does this, and following its own symlinks would also let it
 *   build trees of unbounded depth. A dangling or non-directory parent is refused too;
 * - the last component is never followed: an existing entry of any type (a symlink left by an
 *   earlier entry included) is replaced, never written through; a directory meeting a
 *   directory entry is kept and its metadata updated (duplicate entries: the last one wins);
 * - a hardlink's target is cleaned and resolved the same way (never through a symlink); one
 *   that does not exist in DIR is refused. In snapshot mode (each layer in its own empty
 *   directory) a hardlink to a file of a lower layer is therefore refused: tar writers emit a
 *   hardlink only after its target in the same archive, so real layers never do this, and
 *   copying from a lower snapshot would serialise the parallel unpack;
 * - xattrs in trusted.overlay.* and user.overlay.* are dropped (they would forge whiteouts,
 *   opaque dirs or redirects); whiteout names that are empty, '.', '..' are refused.
 * Devices are created only as root (skipped and counted otherwise); setuid/setgid bits and
 * security.capability are kept as the image says. */
#ifndef CTRBOX_IMAGE_LAYER_H
#define CTRBOX_IMAGE_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/store/digest.h"
#include "common/util/err.h"

/* The uncompressed size bound: a layer whose uncompressed stream exceeds
 * max(LAYER_MIN_LIMIT, LAYER_RATIO_LIMIT x compressed size) is refused as a decompression
 * bomb. gzip's real layers run 2-10x; 64x leaves room for sparse and zero-heavy layers. */
#define LAYER_RATIO_LIMIT 64
#define LAYER_MIN_LIMIT   (1LL << 30)

enum layer_flags {
	/* Flattened rootfs (unpack --to): whiteouts delete what lower layers put in DIR, opaque
	 * directories lose the children not written by this layer. Default: overlay format
	 * (a 0:0 character device; trusted.overlay.opaque=y). */
	LAYER_APPLY_WHITEOUTS = 1 << 0,
	/* Tests: resolve parents by the manual walk even when openat2 exists. */
	LAYER_NO_OPENAT2 = 1 << 1,
};

struct layer_opts {
	unsigned flags;          /* enum layer_flags */
	int64_t compressed_size; /* the blob's size for the bomb bound; <= 0: from fstat */
	int64_t max_bytes;       /* explicit uncompressed bound; 0: the default rule above */
};

struct layer_result {
	struct digest diff_id; /* SHA-256 of the whole uncompressed stream */
	int64_t bytes;         /* uncompressed stream bytes */
	int64_t entries;       /* tar entries read */
	int64_t skipped;       /* devices (not root) and dropped xattrs */
};

/* Applies the layer read from blob_fd (gzip, zstd or plain tar, detected by magic: the media
 * type is not trusted) into the directory dir_fd, which must be empty unless
 * LAYER_APPLY_WHITEOUTS. Returns 0 and fills *out, or -1: E_INVALID naming the entry for a
 * refused entry or a bomb, E_CORRUPT for a broken stream (truncated archive, bad gzip crc),
 * E_IO/E_PERM/E_NOSPACE from the file system. On failure DIR holds a partial tree the caller
 * removes. Reads blob_fd to its end (the digest covers trailing padding). No locks, no fsync;
 * safe to run in several threads at once on different directories. */
int layer_apply(int blob_fd, int dir_fd, const struct layer_opts *o, struct layer_result *out,
                struct err *e);

#endif

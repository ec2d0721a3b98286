/* common/store/layout.h - the two roots and where everything lives in them (DESIGN.md "The
 * metadata layer on disk"). Every path in the store is built here, nowhere else. */
#ifndef CTRBOX_STORE_LAYOUT_H
#define CTRBOX_STORE_LAYOUT_H

#include "common/util/ctx.h"
#include "common/util/err.h"

/* Creates ROOT and STATE and their fixed subdirectories when missing, with mode 0711 for the
 * roots and 0700 below (0755 snapshots/ so overlay lowerdirs stay traversable). Refuses a root
 * that is a symlink, is not a directory, is not owned by us, or is group/world-writable
 * (E_PERM with the path and the reason). Idempotent; cheap when everything exists. No locks. */
int store_init(const struct ctx *ctx, struct err *e);

/* Path builders; the caller frees. They do not touch the disk. */
char *store_blob_path(const struct ctx *ctx, const char *hex);      /* content/blobs/sha256/HEX */
char *store_ingest_path(const struct ctx *ctx, const char *hex);    /* content/ingest/sha256-HEX */
char *store_image_path(const struct ctx *ctx, const char *name);    /* images/<encoded>.json */
char *store_container_dir(const struct ctx *ctx, const char *id);   /* ROOT/containers/ID */
char *store_container_state_dir(const struct ctx *ctx, const char *id); /* STATE/containers/ID */
char *store_events_dir(const struct ctx *ctx);                      /* ROOT/events */
char *store_relist_dir(const struct ctx *ctx);                      /* STATE/relist */
char *store_running_dir(const struct ctx *ctx);                     /* STATE/running */
char *store_snapshots_dir(const struct ctx *ctx);                   /* ROOT/snapshots */

/* Encodes an image reference as a file name (no '/', no leading '.', reversible) and back;
 * the caller frees. store_name_decode returns NULL for a name that is not an encoding. */
char *store_name_encode(const char *name);
char *store_name_decode(const char *file);

/* True when id is a full container ID: 64 lowercase hex characters. */
int store_id_valid(const char *id);

#endif

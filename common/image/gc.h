/* common/image/gc.h - garbage collection of the content store (DESIGN.md "pull": `rmi`,
 * `prune`): blobs no image record references, and partial downloads nobody is resuming. A pull
 * holds a shared lease for its whole run so that a collection never removes a blob it has
 * committed but not yet recorded; the collector takes the lease exclusively, and only tries
 * (never waits), so nothing ever waits on a collection and a collection never waits on a pull. */
#ifndef CTRBOX_IMAGE_GC_H
#define CTRBOX_IMAGE_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

/* Takes the pull lease (a shared flock on ROOT/content/gc.lock); returns its descriptor, which
 * the caller closes to release it. Waits only while a collection runs (bounded: a collection
 * does no network I/O). */
int gc_lease_take(const struct ctx *ctx, struct err *e);

struct gc_item {
	char *what;  /* "blob", "ingest" or "snapshot" */
	char *name;  /* "sha256:<hex>", or a path under ROOT ("snapshots/7") */
	int64_t size_bytes;
};

struct gc_report {
	struct gc_item *items;
	size_t n_items;
	int64_t bytes;
};

void gc_report_release(struct gc_report *r);

enum gc_flags {
	GC_DRY_RUN = 1 << 0, /* list what would go, remove nothing */
	GC_INGESTS = 1 << 1, /* also partial downloads whose ingest lock is free */
	GC_SNAPSHOTS = 1 << 2, /* also snapshots no image or container uses, and unpack garbage */
};

/* Removes every blob that no image record reaches (manifest, the config and layers of each
 * image manifest, and an index's children when an index is recorded), and with GC_INGESTS the
 * partial downloads no pull holds, and with GC_SNAPSHOTS the snapshots no image's layer chain
 * or container names (a snapshot an unpack holds is left for next time). E_BUSY when a pull holds the lease ("a pull is in progress").
 * An image record that cannot be read stops the collection (E_CORRUPT): removing blobs on a
 * guess would destroy images. The caller releases *out. */
int gc_collect(const struct ctx *ctx, enum gc_flags flags, struct gc_report *out, struct err *e);

#endif

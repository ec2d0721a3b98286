/* common/image/source.h - offline image sources for air-gapped nodes (DESIGN.md "pull": oci:DIR
 * layouts and oci-archive:/docker-archive: tarballs), imported into the content store and
 * verified exactly like a registry pull: every blob's digest and size checked before commit. */
#ifndef CTRBOX_IMAGE_SOURCE_H
#define CTRBOX_IMAGE_SOURCE_H

#include <stdint.h>

#include "common/image/manifest.h"
#include "common/image/ref.h"
#include "common/store/digest.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

struct source_result {
	char *name;          /* the name to record the image under: the layout's
			      * org.opencontainers.image.ref.name (as a full reference when it is
			      * one, else "localhost/<basename of DIR>:<tag>"), docker-archive's
			      * RepoTags[0] normalised; the caller frees */
	struct digest manifest;  /* the image manifest chosen (after platform selection) */
	char *media_type;        /* its media type; the caller frees */
	int64_t bytes_committed; /* new bytes written to the content store */
};

/* Progress of one blob: done of total bytes copied into the store. */
typedef void (*source_progress_fn)(void *arg, const struct digest *d, int64_t done,
				   int64_t total);

/* Imports ref (REF_OCI_LAYOUT, REF_OCI_ARCHIVE, REF_DOCKER_ARCHIVE) into the content store:
 * selects the tag (ref->path_ref; for a layout with one manifest, that one; else E_INVALID
 * listing the tags) and, through an index, the platform want; commits the manifest, config and
 * every layer through ingests, each verified (E_CORRUPT naming the blob on a mismatch; nothing
 * of that blob committed). docker-archive images are turned into an OCI image manifest whose
 * layers are the archive's uncompressed tars (MT_OCI_LAYER), checked against the config's
 * diff_ids. Never writes outside ROOT; archive member names are never used as paths. Locks
 * each blob's ingest briefly; fsyncs committed blobs. */
int source_import(const struct ctx *ctx, const struct image_ref *ref, const struct platform *want,
		  source_progress_fn progress, void *arg, struct source_result *out, struct err *e);
void source_result_release(struct source_result *r);

#endif

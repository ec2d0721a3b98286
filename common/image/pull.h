/* common/image/pull.h - pulling one image into the content store (DESIGN.md "pull"; issue 3):
 * resolve the reference (mirrors first, then the registry; or an offline source), pick the
 * platform from an index, download config and layers in parallel into verified ingests, and
 * record the image only after every blob is committed. Emits Pulling, Pulled and Failed. */
#ifndef CTRBOX_IMAGE_PULL_H
#define CTRBOX_IMAGE_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/image/manifest.h"
#include "common/image/ref.h"
#include "common/store/digest.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

enum pull_phase {
	PULL_RESOLVE = 0, /* the manifest (and index) */
	PULL_DOWNLOAD,    /* a blob's bytes arriving */
	PULL_VERIFY,      /* a blob's digest and size being checked and committed */
	PULL_COMMITTED,   /* a blob verified and in the store */
	PULL_EXISTS,      /* a blob already in the store */
	PULL_UNPACK,      /* layers being applied into snapshots */
	PULL_DONE,        /* the image is recorded */
};

struct pull_progress {
	const char *image;           /* the reference as recorded */
	enum pull_phase phase;
	const struct digest *blob;   /* the blob (DOWNLOAD, VERIFY, EXISTS), else NULL */
	int layer;                   /* index of the layer, -1 for the config or the manifest */
	int64_t done, total;         /* bytes of this blob */
};

/* Called from the downloading threads, concurrently: the callee serialises its own output. */
typedef void (*pull_progress_fn)(void *arg, const struct pull_progress *p);

struct pull_opts {
	struct platform platform;      /* the platform wanted from an index */
	bool plain_http;               /* --plain-http: every endpoint of this pull over http */
	const char *creds;             /* --creds user:password, or NULL */
	const char *const *auth_files; /* docker config.json candidates, NULL-terminated */
	int max_downloads;             /* blobs at once for this image (>= 1) */
	bool unpack;                   /* apply the layers into snapshots afterwards */
	pull_progress_fn progress;     /* may be NULL */
	void *progress_arg;
};

struct pull_result {
	char *name;             /* the normalised reference recorded */
	struct digest manifest; /* the image manifest recorded (after platform selection) */
	char *platform;         /* "linux/amd64" */
	int64_t size_bytes;     /* manifest + config + layers (compressed) */
	size_t n_layers;
	int64_t bytes_fetched;  /* bytes received over the network (or copied from a source) */
	int64_t duration_ns;
	bool unpacked;
};

/* Pulls ref into the store and records it under its normalised name. Blobs already in the
 * store are not fetched again; a blob another process is fetching is waited for (its ingest
 * lock) and then found committed. Nothing is recorded unless manifest, config and every layer
 * are committed; partial downloads stay resumable in content/ingest. Blocks on the network;
 * locks each blob's ingest while fetching it and the image record while writing it; fsyncs
 * each committed blob and the record. The caller releases *out. */
int pull_image(const struct ctx *ctx, const struct image_ref *ref, const struct pull_opts *o,
	       struct pull_result *out, struct err *e);
void pull_result_release(struct pull_result *r);

/* The phase's name for JSON progress: "resolve", "download", "verify", "committed", "exists",
 * "unpack", "done". */
const char *pull_phase_name(enum pull_phase p);

#endif

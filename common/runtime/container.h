/* common/runtime/container.h - creating a container (DESIGN.md "run"): a random 64-hex ID, a
 * unique name, the image resolved (pulled when missing, as --pull says) and unpacked, the
 * config.json built, and container.json/state.json written; or the same from an OCI bundle. */
#ifndef CTRBOX_RUNTIME_CONTAINER_H
#define CTRBOX_RUNTIME_CONTAINER_H

#include <stdbool.h>

#include "common/image/pull.h"
#include "common/runtime/spec.h"
#include "common/store/container_record.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

enum container_pull {
	PULL_MISSING = 0,
	PULL_ALWAYS,
	PULL_NEVER,
};

struct container_opts {
	const char *image;  /* a reference as `pull` takes it; NULL with bundle */
	const char *bundle; /* an OCI bundle directory; NULL with image */
	const char *name;   /* or NULL for a generated one */
	enum container_pull pull;
	const struct pull_opts *pull_opts; /* for a pull; may be NULL (defaults) */
	const struct spec_opts *spec;      /* image mode: the run options */
	const struct label *labels;
	size_t n_labels;
	bool auto_remove; /* --rm: records not written durably */
	int64_t log_max_bytes; /* --log-max-size, or 0 for the config's container_log.max_size */
	int log_max_files;     /* --log-max-files, or 0 for the config's container_log.max_files */
	const char *id; /* container_new_id's, chosen before (run tells its early shim), or NULL */
};

/* A new random container ID: 64 lowercase hex characters. */
int container_new_id(char id[65], struct err *e);

/* Creates the container: records written, config.json in ROOT/containers/<id>/, state
 * "created", event Created. Holds the name's lock (ROOT/containers/names/<name>.lock) while
 * checking and recording the name. May block on the network (a pull). On failure nothing of
 * the container is left. Writes the ID into id. */
int container_create(const struct ctx *ctx, const struct container_opts *o, char id[65],
                     struct err *e);

/* The overlay mount data for the container's rootfs from its snapshot chain (container.json),
 * lowerdirs relative to ROOT/snapshots, upper and work under ROOT/containers/<id>/ (created
 * here, with the rootfs mount point), volatile as the config says. NULL in *out for a
 * container run from a bundle. The caller frees. */
int container_overlay_options(const struct ctx *ctx, const char *id, char **out, struct err *e);

/* Removes what container_create wrote (records, container and state directories). */
void container_discard(const struct ctx *ctx, const char *id);

#endif

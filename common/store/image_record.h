/* common/store/image_record.h - images/<name>.json: a reference's manifest digest, platform and
 * time (DESIGN.md). Written atomically under the record's lock; read without one. */
#ifndef CTRBOX_STORE_IMAGE_RECORD_H
#define CTRBOX_STORE_IMAGE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "common/store/digest.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

struct image_record {
	char *name;       /* the normalised reference: "docker.io/library/busybox:latest" */
	struct digest manifest;
	char *media_type; /* of the manifest */
	char *platform;   /* "linux/amd64" */
	struct digest config;
	int64_t size_bytes; /* manifest + config + layers, as pulled */
	int64_t created_ns; /* from the image config (0 = unknown) */
	int64_t pulled_ns;
};

void image_record_release(struct image_record *r);

/* Writes the record (durable) under images/<name>.lock. */
int image_record_save(const struct ctx *ctx, const struct image_record *r, struct err *e);
/* Reads one record by reference name; E_NOTFOUND when absent. No lock. */
int image_record_load(const struct ctx *ctx, const char *name, struct image_record *out,
		      struct err *e);
/* Removes a record (under its lock); E_NOTFOUND when absent. */
int image_record_remove(const struct ctx *ctx, const char *name, struct err *e);
/* All records, sorted by name; unreadable ones are skipped and counted in *skipped. No lock.
 * The caller frees with image_records_free. */
int image_record_list(const struct ctx *ctx, struct image_record **out, size_t *n,
		      size_t *skipped, struct err *e);
void image_records_free(struct image_record *v, size_t n);

#endif

/* common/image/manifest.h - OCI and Docker schema 2 manifests, image indexes / manifest lists
 * with platform selection, and image configs (DESIGN.md "pull"; OCI image-spec). Pure parsing
 * of bounded documents: no I/O. Schema 1 and unknown media types are refused. */
#ifndef CTRBOX_IMAGE_MANIFEST_H
#define CTRBOX_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/digest.h"
#include "common/util/err.h"

#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER       "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP  "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD  "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_OCI_LAYER_NDG   "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define MT_OCI_LAYER_ND    "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define MT_OCI_LAYER_NDZ   "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER    "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar" /* uncompressed */
#define MT_DOCKER_FOREIGN  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define MT_DOCKER_SCHEMA1  "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1S "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* The Accept header value a registry client sends for manifests (all four types above). */
extern const char manifest_accept[];

#define MANIFEST_MAX     (4 << 20) /* bytes: larger manifests and indexes are refused */
#define CONFIG_MAX       (8 << 20) /* bytes: image configs */
#define INDEX_DEPTH_MAX  4         /* nested indexes followed at most this deep */
#define MANIFEST_LAYERS_MAX 1024

enum layer_compression {
	LAYER_GZIP = 0,
	LAYER_ZSTD,
	LAYER_NONE,
};

struct platform {
	char *os, *arch, *variant; /* variant may be NULL */
};

struct descriptor {
	char *media_type;
	struct digest digest;
	int64_t size;      /* >= 0; parsers refuse negative sizes */
	struct platform platform; /* index entries only; zeroed otherwise */
	char *ref_name;    /* annotation org.opencontainers.image.ref.name, or NULL */
};

enum manifest_kind {
	MANIFEST_IMAGE = 0, /* OCI image manifest or Docker schema 2 */
	MANIFEST_INDEX,     /* OCI image index or Docker manifest list */
};

struct manifest {
	enum manifest_kind kind;
	char *media_type; /* as resolved (see manifest_parse) */
	/* MANIFEST_IMAGE */
	struct descriptor config;
	struct descriptor *layers;
	size_t n_layers;
	/* MANIFEST_INDEX */
	struct descriptor *manifests;
	size_t n_manifests;
};

/* Parses a manifest or index. media_type is what the server or layout said (Content-Type, the
 * descriptor's mediaType), or NULL; when it is NULL or generic (application/json, text/plain)
 * the document's own mediaType field decides, else the structure does (layers -> image,
 * manifests -> index, OCI flavour). Schema 1 -> E_UNSUPPORTED "schema 1 manifests are not
 * supported (...)"; unknown type -> E_UNSUPPORTED naming it; larger than MANIFEST_MAX,
 * malformed, a layer of an unknown media type, more than MANIFEST_LAYERS_MAX layers, a
 * negative size or a bad digest -> E_INVALID saying which field. Writes *out only on
 * success; the caller releases it. */
int manifest_parse(const char *data, size_t len, const char *media_type, struct manifest *out,
		   struct err *e);
void manifest_release(struct manifest *m);

/* How a layer descriptor's blob is compressed; E_UNSUPPORTED for a non-layer media type. */
int layer_compression_of(const char *media_type, enum layer_compression *out, struct err *e);

/* Parses "os/arch[/variant]" ("linux/amd64", "linux/arm64/v8", "linux/arm/v7"); E_INVALID. */
int platform_parse(const char *s, struct platform *out, struct err *e);
/* The host's platform (uname, GOARCH naming: amd64, arm64, arm/v7, 386, ppc64le, s390x, riscv64). */
void platform_host(struct platform *out);
/* "linux/arm64/v8" into a new string the caller frees. */
char *platform_format(const struct platform *p);
void platform_release(struct platform *p);
/* Whether candidate satisfies want: os and arch equal; variant equal when want has one
 * (arm64 treats a missing variant as v8, arm as v7... as containerd's platforms matcher). */
bool platform_match(const struct platform *want, const struct platform *candidate);

/* Picks the index entry for want: the first matching image manifest (or nested index); when
 * want has no variant, a candidate with the best variant for the host is fine. E_NOTFOUND
 * "no manifest for linux/s390x in the index (it has linux/amd64, linux/arm64/v8)". *out
 * points into idx. */
int index_select(const struct manifest *idx, const struct platform *want,
		 const struct descriptor **out, struct err *e);

struct image_config {
	struct platform platform; /* os, architecture, variant */
	int64_t created_ns;       /* 0 when absent */
	struct digest *diff_ids;  /* rootfs.diff_ids, in order */
	size_t n_diff_ids;
	/* config.* (the runtime defaults the run issue uses) */
	char **env, **entrypoint, **cmd; /* NULL-terminated, or NULL */
	char *user, *working_dir;       /* or NULL */
	char **exposed_ports, **volumes; /* keys of those maps, NULL-terminated, or NULL */
	char **labels;                   /* "k=v", NULL-terminated, or NULL */
	char *stop_signal;               /* or NULL */
};

/* Parses an image config (OCI or Docker). rootfs.type must be "layers"; E_INVALID otherwise
 * or for malformed fields. Writes *out only on success; the caller releases it. */
int image_config_parse(const char *data, size_t len, struct image_config *out, struct err *e);
void image_config_release(struct image_config *c);

void descriptor_release(struct descriptor *d);

#endif

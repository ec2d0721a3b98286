/* common/image/ref.h - image references: the distribution reference grammar with docker's
 * defaults (docker.io, library/, :latest), and the offline sources oci:, oci-archive: and
 * docker-archive: (DESIGN.md "pull"). Pure parsing: no I/O. */
#ifndef CTRBOX_IMAGE_REF_H
#define CTRBOX_IMAGE_REF_H

#include <stdbool.h>

#include "common/store/digest.h"
#include "common/util/err.h"

#define REF_DEFAULT_REGISTRY "docker.io"
#define REF_DEFAULT_TAG      "latest"
#define REF_MAX_LEN          4096

enum ref_kind {
	REF_REGISTRY = 0,   /* [host[:port]/]path[:tag][@sha256:hex] */
	REF_OCI_LAYOUT,     /* oci:DIR[:TAG] */
	REF_OCI_ARCHIVE,    /* oci-archive:FILE[:TAG] */
	REF_DOCKER_ARCHIVE, /* docker-archive:FILE[:REF] (a `docker save` tarball) */
};

struct image_ref {
	enum ref_kind kind;
	/* REF_REGISTRY */
	char *registry;   /* "docker.io", "localhost:5000", "[::1]:5000" */
	char *repository; /* "library/busybox" */
	char *tag;        /* "latest"; NULL when only a digest was given */
	bool has_digest;
	struct digest digest;
	/* offline kinds */
	char *path; /* the directory or archive, as given */
	char *path_ref; /* the :TAG (oci) or :REF (docker-archive) after the path, or NULL */
	/* every kind */
	char *name; /* the normalised name the image is recorded under:
		     * "docker.io/library/busybox:latest", "localhost:5000/a/b@sha256:...",
		     * "localhost:5000/a/b:1.0@sha256:..." when both are given; for offline
		     * kinds the name the source carries (org.opencontainers.image.ref.name,
		     * RepoTags) is applied later, so here it is "oci:DIR:TAG" as given */
};

/* Parses s. E_INVALID with what is wrong ("invalid reference format: repository name must be
 * lowercase", "tag is longer than 128 characters", ...); E_UNSUPPORTED for a digest algorithm
 * other than sha256. Normalises like docker: "busybox" -> docker.io/library/busybox:latest,
 * "index.docker.io" and "registry-1.docker.io" -> docker.io. The first path component is a
 * registry host when it contains '.' or ':' or is "localhost" (or is a bracketed IPv6
 * address). A leading "docker://" (skopeo's transport) is accepted and dropped. Writes *out
 * only on success; the caller releases it. */
int ref_parse(const char *s, struct image_ref *out, struct err *e);

void ref_release(struct image_ref *r);

/* The reference part for the registry API: the digest "sha256:..." when given, else the tag.
 * Points into r. */
const char *ref_api_reference(const struct image_ref *r);

/* The host a registry name is reached at: "docker.io" -> "registry-1.docker.io"; others as they
 * are. Points to a static string or into registry. */
const char *ref_registry_host(const char *registry);

#endif

/* common/image/registry.h - the registry HTTP API v2 client over libcurl (DESIGN.md "pull";
 * OCI distribution-spec): the /v2/ ping and WWW-Authenticate challenge, bearer tokens (anonymous
 * or with credentials, scoped to the repository, reused until they expire) and basic auth,
 * manifests by tag or digest, blobs streamed into an ingest with resume, retries and redirects
 * that never carry the registry's Authorization to another host. Never writes the store itself
 * except through the ingest it is given; never prints. */
#ifndef CTRBOX_IMAGE_REGISTRY_H
#define CTRBOX_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/image/manifest.h"
#include "common/store/blob.h"
#include "common/store/digest.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

/* How to reach one endpoint (the upstream registry or one of its mirrors). The caller (pull)
 * resolves these from the config's registries section and from flags. */
struct registry_opts {
	bool plain_http;       /* http:// instead of https:// (config plain_http, --plain-http);
				* loopback hosts fall back to http when TLS cannot connect */
	bool tls_verify;       /* false: no certificate or host-name check (config tls_verify) */
	const char *ca_file;   /* PEM bundle to trust, or NULL for the system's */
	const char *cert_file; /* client certificate (PEM) and its key, or NULL */
	const char *key_file;
	const char *creds;     /* "user:password" (--creds), overrides the auth files */
	const char *const *auth_files; /* docker config.json candidates, first existing wins
					* (NULL-terminated, may be NULL) */
	int64_t connect_timeout_ns;    /* 0: 30 s */
	int64_t low_speed_time_ns;     /* abort a transfer below 1 kB/s for this long; 0: 30 s */
	int retries;                   /* attempts after the first on connection errors, 5xx,
					* 429; 0: 4, negative: none. Backoff 0.5 s doubling, capped at 8 s, or
					* Retry-After when given (capped at 60 s) */
};

struct registry; /* one endpoint + one repository + its auth state; thread-safe */

/* Prepares a client for repository on host ("registry-1.docker.io", "127.0.0.1:5000");
 * registry is the name credentials are looked up under ("docker.io"). No network I/O yet.
 * The caller frees with registry_free. */
int registry_open(const struct ctx *ctx, const char *host, const char *registry,
		  const char *repository, const struct registry_opts *o, struct registry **out,
		  struct err *e);
void registry_free(struct registry *r);

/* Fetches a manifest or index by tag or "sha256:..." digest, sending manifest_accept. Bodies
 * over MANIFEST_MAX are refused without reading them whole (E_INVALID). When reference is a
 * digest the body must hash to it (E_CORRUPT). *data (NUL-terminated), *media_type (the
 * Content-Type without parameters, NULL when the server sent none) and *digest (of the body)
 * are the caller's. Errors:
 * E_NOTFOUND (404: "manifest unknown"), E_AUTH (401/403 after authenticating, with the
 * registry's error message), E_NET (connection, timeouts, 5xx after the retries). Blocks on the
 * network; takes no lock. */
int registry_get_manifest(struct registry *r, const char *reference, char **data, size_t *len,
			  char **media_type, struct digest *digest, struct err *e);

/* Called as bytes arrive: done counts from 0 to d->size (resumed bytes included). */
typedef void (*registry_progress_fn)(void *arg, int64_t done, int64_t total);

/* Streams blob d into ing, which the caller opened (ingest_open) and commits afterwards. When
 * ing->offset > 0 it asks for "Range: bytes=OFFSET-" and accepts the body only as a 206 whose
 * Content-Range starts at OFFSET; a 200 restarts from zero (ingest_restart). A broken transfer
 * is resumed the same way, up to the retries. More bytes than d->size is E_CORRUPT. Redirects
 * are followed (up to 5) and the Authorization header is sent only to the registry's own
 * host. Safe to call from several threads at once on one registry. Blocks on the network. */
int registry_get_blob(struct registry *r, const struct descriptor *d, struct ingest *ing,
		      registry_progress_fn progress, void *arg, struct err *e);

/* The number of bytes received over the network by this client so far (all threads): response
 * headers and bodies, redirects and errors included. */
int64_t registry_bytes_received(const struct registry *r);

#endif

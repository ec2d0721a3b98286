/* common/image/http.h - the HTTP layer under the registry client (DESIGN.md "pull": redirects
 * without leaking credentials to other hosts, retries with backoff, Retry-After, resume by
 * Range). One GET at a time over libcurl, with redirects followed here rather than by libcurl
 * so an Authorization header is attached hop by hop and only to the origin it belongs to;
 * connection errors, 429 and 5xx retried; hooks to stream a body and to resume it. DNS,
 * connections and TLS sessions are shared per client. Internal to common/image. */
#ifndef CTRBOX_IMAGE_HTTP_H
#define CTRBOX_IMAGE_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/util/buf.h"
#include "common/util/ctx.h"
#include "common/util/err.h"

#define HTTP_ERRBODY_MAX (64 << 10) /* bytes of an error body kept for its message */

struct http_client_opts {
	bool tls_verify;
	const char *ca_file, *cert_file, *key_file; /* or NULL */
	int64_t connect_timeout_ns;                 /* 0: 30 s */
	int64_t low_speed_time_ns;                  /* below 1 kB/s this long aborts; 0: 30 s */
	int retries;                                /* 0: 4, negative: none */
};

/* Thread-safe once initialised: requests on several threads share it. */
struct http_client {
	const struct ctx *ctx;
	bool tls_verify;
	char *ca_file, *cert_file, *key_file;
	int64_t connect_timeout_ns, low_speed_time_ns;
	int retries;
	CURLSH *share;
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
	_Atomic int64_t bytes; /* received: headers and bodies of every response */
};

/* Initialises c (libcurl's global state once per process). E_NET when libcurl cannot start.
 * Release with http_client_release. */
int http_client_init(struct http_client *c, const struct ctx *ctx, const struct http_client_opts *o,
                     struct err *e);
void http_client_release(struct http_client *c);

/* One request: what to send and what to do with the response. The hooks run for the final
 * 2xx response only (not for redirects or errors). */
struct http_req {
	struct http_client *c;
	char *what;         /* "GET <url>", the start of every message about this request */
	const char *accept; /* Accept header, or NULL */
	char *range;        /* Range header value, or NULL */
	const char *auth;   /* Authorization header value, or NULL */
	char *auth_origin;  /* the only origin the Authorization goes to */
	char *reg_origin;   /* the registry's origin (the client certificate goes only there) */
	size_t body_max;    /* 2xx bodies collected without on_data: larger is E_INVALID */
	int (*on_headers)(struct http_req *q, struct err *e);
	int (*on_data)(struct http_req *q, const char *p, size_t n, struct err *e);
	int (*before)(struct http_req *q, struct err *e); /* before each attempt (sets Range) */
	bool (*incomplete)(struct http_req *q);           /* a 2xx that ended early: retried */
	bool (*progressed)(struct http_req *q); /* the last attempt stored bytes: not a failure */
	bool once;                              /* no retries */
	void *arg;
	/* the response of the last hop */
	long status;
	bool headers_done;
	int64_t content_length; /* -1 when not sent */
	char *content_type, *content_range, *retry_after, *www_auth;
	struct buf body;
	/* the outcome of the last attempt */
	bool cb_failed; /* a hook failed: cb_err says why; never retried */
	struct err cb_err;
	bool retryable;  /* a transport failure worth another attempt */
	bool tls_failed; /* the TLS handshake failed */
	char errbuf[CURL_ERROR_SIZE];
};

/* Runs q against url: redirects (at most 5) followed by hand, the Authorization sent only where
 * the URL's origin is q->auth_origin and the client certificate only to q->reg_origin;
 * connection errors, 429, 5xx and 2xx transfers that q->incomplete says ended early are retried
 * (backoff from 0.5 s doubling to 8 s, or Retry-After capped at 60 s; an attempt that
 * q->progressed says stored bytes resumes at once and is not counted). 0 once a final response
 * came (q->status says which; only a 2xx went through the hooks); -1 with e otherwise, E_NET for
 * the transport. Blocks on the network. */
int http_run(struct http_req *q, const char *url, struct err *e);

/* Frees what q owns (what, range, auth_origin, reg_origin, the response). */
void http_req_release(struct http_req *q);

/* e from q's status and the registry's error body ("<what>: HTTP 404: manifest unknown"): 404
 * E_NOTFOUND, 401/403 E_AUTH, 429 and 5xx E_NET, other 4xx E_INVALID, else E_NET. Returns -1. */
int http_status_error(const struct http_req *q, struct err *e);

bool http_status_ok(long status);

/* "scheme://host:port" (lowercase, the default port filled in), or NULL when url does not parse.
 * The caller frees. */
char *http_url_origin(const char *url);

/* s percent-encoded for a query value (all but unreserved characters); the caller frees. */
char *http_escape(const char *s) __attribute__((returns_nonnull));

#endif

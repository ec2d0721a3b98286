/* common/image/registry.c - the registry HTTP API v2 client (DESIGN.md "pull": token and basic
 * auth, plain-HTTP/insecure hosts, redirects without leaking credentials to other hosts, retries
 * with backoff, Retry-After, resume by Range; OCI distribution-spec) over the HTTP layer in
 * http.c: the /v2/ ping and its challenge, bearer tokens under one mutex, manifests and blobs. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/image/auth.h"
#include "common/image/http.h"
#include "common/image/registry.h"
#include "common/util/buf.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

#define TOKEN_MARGIN_S 5 /* a token this close to expiry is renewed (when it lives >= 20 s) */

struct registry {
	const struct ctx *ctx;
	char *host, *name, *repository;
	bool plain_http, loopback;
	struct auth_creds creds;
	struct http_client http;
	pthread_mutex_t mu; /* guards what follows; held across the ping and a token fetch */
	char *base;         /* "https://host" (or http:// after plain_http or the fallback) */
	bool pinged;
	struct auth_challenge chal;
	char *token;             /* the bearer token, or NULL */
	int64_t token_expiry_ns; /* monotonic */
};

/* True for localhost, 127.0.0.0/8 and ::1, with or without a port. */
static bool host_is_loopback(const char *hostport)
{
	cleanup_free char *h = NULL;
	const char *colon = strrchr(hostport, ':');
	unsigned char a4[4];
	unsigned char a6[16];

	if (hostport[0] == '[') {
		const char *end = strchr(hostport, ']');

		h = xstrndup(hostport + 1, end ? (size_t)(end - hostport - 1) : strlen(hostport));
	} else if (colon && strchr(hostport, ':') == colon) {
		h = xstrndup(hostport, (size_t)(colon - hostport));
	} else {
		h = xstrdup(hostport);
	}
	if (strcasecmp(h, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, h, a4) == 1)
		return a4[0] == 127;
	if (inet_pton(AF_INET6, h, a6) == 1) {
		static const unsigned char one[16] = {[15] = 1};

		return memcmp(a6, one, sizeof(one)) == 0;
	}
	return false;
}

/* After a loopback registry failed TLS and plain http did not answer as a registry either:
 * the TLS failure is what to report, and https is what to try next time. */
static int reg_fallback_failed(struct registry *r, const struct err *tls, struct err *e)
{
	char http_msg[ERR_MSG_MAX];

	memcpy(http_msg, e->msg, sizeof(http_msg));
	free(r->base);
	r->base = xasprintf("https://%s", r->host);
	return err_set(e, tls->code, "%s (plain http: %s)", tls->msg, http_msg);
}

/* The /v2/ ping, once per client, under r->mu: learns the auth challenge, and for a loopback
 * registry falls back from https to http when TLS fails, as docker does (one attempt, which
 * must answer 200 or 401 as a registry would). */
static int reg_ping_locked(struct registry *r, struct err *e)
{
	struct err tls_err = ERR_INIT;
	bool fallback = false;

	while (!r->pinged) {
		cleanup_free char *url = xasprintf("%s/v2/", r->base);
		struct http_req q = {.c = &r->http, .body_max = HTTP_ERRBODY_MAX, .once = fallback};
		struct auth_challenge c;
		int rc;

		q.what = xasprintf("GET %s", url);
		q.reg_origin = http_url_origin(r->base);
		rc = http_run(&q, url, e);
		if (rc < 0 && q.tls_failed && r->loopback && !fallback) {
			log_debug(r->ctx, "registry: %s; %s is a loopback host, trying plain http",
			          e->msg, r->host);
			tls_err = *e;
			fallback = true;
			free(r->base);
			r->base = xasprintf("http://%s", r->host);
			http_req_release(&q);
			continue;
		}
		if (rc == 0 && fallback && q.status != 200 && q.status != 401)
			rc = http_status_error(&q, e);
		if (rc < 0) {
			http_req_release(&q);
			return fallback ? reg_fallback_failed(r, &tls_err, e) : -1;
		}
		if (q.status == 401 && q.www_auth) {
			if (auth_challenge_parse(q.www_auth, &c, e) < 0) {
				err_wrap(e, "%s", q.what);
				http_req_release(&q);
				return -1;
			}
			auth_challenge_release(&r->chal);
			r->chal = c;
		} else if (!http_status_ok(q.status)) {
			log_debug(r->ctx, "registry: %s answered HTTP %ld; carrying on", q.what,
			          q.status);
		}
		log_debug(r->ctx, "registry: %s: auth %s", r->base,
		          r->chal.scheme == AUTH_BEARER  ? "bearer"
		          : r->chal.scheme == AUTH_BASIC ? "basic"
		                                         : "none");
		r->pinged = true;
		http_req_release(&q);
	}
	return 0;
}

/* Fetches a bearer token from the challenge's realm for repository:NAME:pull, with basic
 * credentials when there are any, under r->mu. */
static int reg_token_locked(struct registry *r, struct err *e)
{
	const struct auth_challenge *c = &r->chal;
	cleanup_free char *scope = xasprintf("repository:%s:pull", r->repository);
	cleanup_free char *escope = http_escape(scope);
	cleanup_free char *esvc = c->service ? http_escape(c->service) : NULL;
	cleanup_free char *url =
	    xasprintf("%s%sscope=%s%s%s", c->realm, strchr(c->realm, '?') ? "&" : "?", escope,
	              esvc ? "&service=" : "", esvc ? esvc : "");
	cleanup_free char *basic = r->creds.user ? auth_basic_value(&r->creds) : NULL;
	struct http_req q = {.c = &r->http, .auth = basic, .body_max = AUTH_TOKEN_MAX};
	char *token = NULL;
	int64_t ttl = 0;
	int rc = -1;

	q.what = xasprintf("GET %s", c->realm);
	q.auth_origin = http_url_origin(c->realm);
	q.reg_origin = http_url_origin(r->base);
	if (!q.auth_origin)
		err_set(e, E_AUTH, "%s: the bearer realm is not a URL", q.what);
	else if (http_run(&q, url, e) < 0)
		;
	else if (!http_status_ok(q.status))
		http_status_error(&q, e);
	else if (auth_token_parse(q.body.data ? q.body.data : "", q.body.len, &token, &ttl, e) < 0)
		err_wrap(e, "%s", q.what);
	else
		rc = 0;
	if (basic)
		memset(basic, 0, strlen(basic));
	http_req_release(&q);
	if (rc < 0)
		return -1;
	free(r->token);
	r->token = token;
	if (ttl >= 4 * TOKEN_MARGIN_S)
		ttl -= TOKEN_MARGIN_S;
	r->token_expiry_ns = ctx_clock_monotonic() + ttl * NSEC_PER_SEC;
	log_debug(r->ctx, "registry: bearer token for %s, valid %lld s", scope, (long long)ttl);
	return 0;
}

/* The Authorization value for the next request (the caller frees), or NULL for none. */
static int reg_auth_value(struct registry *r, char **out, struct err *e)
{
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&r->mu);
	if (r->chal.scheme == AUTH_BASIC && r->creds.user) {
		*out = auth_basic_value(&r->creds);
	} else if (r->chal.scheme == AUTH_BEARER) {
		if (!r->token || ctx_clock_monotonic() >= r->token_expiry_ns)
			rc = reg_token_locked(r, e);
		if (rc == 0)
			*out = xasprintf("Bearer %s", r->token);
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* After a 401: take the response's challenge, and drop the token that was refused (unless
 * another thread has renewed it meanwhile). */
static void reg_auth_refused(struct registry *r, const char *www_auth, const char *used)
{
	struct auth_challenge c;
	struct err ignore = ERR_INIT;

	pthread_mutex_lock(&r->mu);
	if (www_auth && auth_challenge_parse(www_auth, &c, &ignore) == 0) {
		auth_challenge_release(&r->chal);
		r->chal = c;
	}
	if (r->token && used && strncmp(used, "Bearer ", 7) == 0 && strcmp(used + 7, r->token) == 0)
		freep(&r->token);
	pthread_mutex_unlock(&r->mu);
}

/* A request to the registry itself: ping once, authenticate, run with retries; a 401 renews
 * the auth once. 0 on a 2xx; -1 with e from the status otherwise. */
static int reg_request(struct registry *r, struct http_req *q, const char *path, struct err *e)
{
	cleanup_free char *base = NULL, *url = NULL;
	bool auth_retried = false;
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = reg_ping_locked(r, e);
	base = xstrdup(r->base);
	pthread_mutex_unlock(&r->mu);
	if (rc < 0)
		return -1;
	url = xasprintf("%s%s", base, path);
	q->what = xasprintf("GET %s", url);
	q->reg_origin = http_url_origin(base);
	q->auth_origin = http_url_origin(base);
	for (;;) {
		cleanup_free char *auth = NULL;

		if (reg_auth_value(r, &auth, e) < 0)
			return -1;
		q->auth = auth;
		rc = http_run(q, url, e);
		q->auth = NULL;
		if (rc < 0)
			return -1;
		if (http_status_ok(q->status))
			return 0;
		if (q->status == 401 && !auth_retried) {
			auth_retried = true;
			reg_auth_refused(r, q->www_auth, auth);
			continue;
		}
		http_status_error(q, e);
		if (e->code == E_AUTH && !r->creds.user) {
			char msg[ERR_MSG_MAX];

			memcpy(msg, e->msg, sizeof(msg));
			err_set(e, E_AUTH, "%s (no credentials for %s)", msg, r->name);
		}
		return -1;
	}
}

static int manifest_headers(struct http_req *q, struct err *e)
{
	if (q->content_length > MANIFEST_MAX)
		return err_set(e, E_INVALID, "%s: the manifest is %lld bytes, limit %d", q->what,
		               (long long)q->content_length, MANIFEST_MAX);
	return 0;
}

/* A tag as the distribution grammar has it: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
static bool tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
			return false;
	return true;
}

int registry_get_manifest(struct registry *r, const char *reference, char **data, size_t *len,
                          char **media_type, struct digest *digest, struct err *e)
{
	bool by_digest = strchr(reference, ':') != NULL;
	cleanup_free char *path = NULL;
	struct http_req q = {.c = &r->http,
	                     .accept = manifest_accept,
	                     .body_max = MANIFEST_MAX,
	                     .on_headers = manifest_headers};
	struct digest want, got;
	char *mt = NULL;

	if (by_digest && digest_parse(reference, &want, e) < 0)
		return -1;
	if (!by_digest && !tag_valid(reference))
		return err_set(e, E_INVALID, "invalid tag \"%s\"", reference);
	path = xasprintf("/v2/%s/manifests/%s", r->repository, reference);
	if (reg_request(r, &q, path, e) < 0) {
		http_req_release(&q);
		return -1;
	}
	digest_of(q.body.data ? q.body.data : "", q.body.len, &got);
	if (by_digest && !digest_equal(&got, &want)) {
		err_set(e, E_CORRUPT, "%s: the manifest does not match its digest: got sha256:%s",
		        q.what, got.hex);
		http_req_release(&q);
		return -1;
	}
	if (q.content_type) {
		q.content_type[strcspn(q.content_type, ";")] = '\0';
		str_trim(q.content_type);
		if (*q.content_type)
			mt = TAKE_PTR(q.content_type);
	}
	*len = q.body.len;
	*data = q.body.data ? buf_take(&q.body) : xstrdup("");
	*media_type = mt;
	*digest = got;
	http_req_release(&q);
	return 0;
}

struct blob_job {
	const struct descriptor *d;
	struct ingest *ing;
	registry_progress_fn progress;
	void *arg;
	int64_t asked;   /* the Range start of this attempt (0: no Range) */
	int64_t written; /* bytes stored by this attempt */
};

static int blob_before(struct http_req *q, struct err *e)
{
	struct blob_job *j = q->arg;

	freep(&q->range);
	j->asked = j->ing->offset;
	j->written = 0;
	if (j->asked > 0)
		q->range = xasprintf("bytes=%lld-", (long long)j->asked);
	return 0;
}

/* The start of a Content-Range ("bytes 100-199/200"), or -1. */
static int64_t content_range_start(const char *v)
{
	char *end = NULL;
	long long start;

	if (!v || strncasecmp(v, "bytes", 5) != 0)
		return -1;
	v += 5;
	while (*v == ' ')
		v++;
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	start = strtoll(v, &end, 10);
	if (errno || *end != '-')
		return -1;
	return start;
}

/* Decides what the body is before any of it is stored: the rest after a 206 that starts where
 * we asked, the whole blob after a 200 (a server that ignores Range: restart), else nothing. */
static int blob_headers(struct http_req *q, struct err *e)
{
	struct blob_job *j = q->arg;

	if (q->status == 206) {
		if (content_range_start(q->content_range) != j->asked)
			return err_set(
			    e, E_NET,
			    "%s: HTTP 206 with Content-Range \"%s\" for Range bytes=%lld-", q->what,
			    q->content_range ? q->content_range : "", (long long)j->asked);
	} else if (q->status == 200) {
		if (j->ing->offset > 0) {
			log_debug(q->c->ctx,
			          "registry: %s: HTTP 200 for Range bytes=%lld-: starting "
			          "again from zero",
			          q->what, (long long)j->asked);
			if (ingest_restart(j->ing, e) < 0)
				return -1;
		}
	} else {
		return err_set(e, E_NET, "%s: unexpected HTTP %ld", q->what, q->status);
	}
	if (q->content_length >= 0 && j->ing->offset + q->content_length != j->d->size)
		return err_set(
		    e, E_CORRUPT,
		    "%s: HTTP %ld with %lld bytes from offset %lld, expected %lld in all", q->what,
		    q->status, (long long)q->content_length, (long long)j->ing->offset,
		    (long long)j->d->size);
	return 0;
}

static int blob_data(struct http_req *q, const char *p, size_t n, struct err *e)
{
	struct blob_job *j = q->arg;

	if (j->ing->offset + (int64_t)n > j->d->size)
		return err_set(e, E_CORRUPT, "%s: more than the expected %lld bytes", q->what,
		               (long long)j->d->size);
	if (ingest_write(j->ing, p, n, e) < 0)
		return -1;
	j->written += (int64_t)n;
	if (j->progress)
		j->progress(j->arg, j->ing->offset, j->d->size);
	return 0;
}

static bool blob_incomplete(struct http_req *q)
{
	const struct blob_job *j = q->arg;

	return j->ing->offset < j->d->size;
}

static bool blob_progressed(struct http_req *q)
{
	const struct blob_job *j = q->arg;

	return j->written > 0;
}

int registry_get_blob(struct registry *r, const struct descriptor *d, struct ingest *ing,
                      registry_progress_fn progress, void *arg, struct err *e)
{
	struct blob_job j = {.d = d, .ing = ing, .progress = progress, .arg = arg};
	struct http_req q = {.c = &r->http,
	                     .on_headers = blob_headers,
	                     .on_data = blob_data,
	                     .before = blob_before,
	                     .incomplete = blob_incomplete,
	                     .progressed = blob_progressed,
	                     .arg = &j};
	cleanup_free char *path = NULL;
	int rc;

	if (d->size < 0)
		return err_set(e, E_INVALID, "sha256:%s: negative size", d->digest.hex);
	if (ing->offset > d->size && ingest_restart(ing, e) < 0)
		return -1;
	if (ing->offset == d->size) {
		/* All there already (a run killed before its commit); the commit verifies it. */
		if (progress)
			progress(arg, ing->offset, d->size);
		return 0;
	}
	path = xasprintf("/v2/%s/blobs/sha256:%s", r->repository, d->digest.hex);
	rc = reg_request(r, &q, path, e);
	http_req_release(&q);
	return rc;
}

int64_t registry_bytes_received(const struct registry *r)
{
	return atomic_load(&r->http.bytes);
}

static bool host_valid(const char *h)
{
	if (!*h || strlen(h) > 255)
		return false;
	for (; *h; h++)
		if (!isalnum((unsigned char)*h) && !strchr(".-:[]_", *h))
			return false;
	return true;
}

int registry_open(const struct ctx *ctx, const char *host, const char *registry,
                  const char *repository, const struct registry_opts *o, struct registry **out,
                  struct err *e)
{
	static const struct registry_opts defaults = {.tls_verify = true};
	struct auth_creds creds = {NULL, NULL};
	struct http_client_opts ho;
	struct registry *r;

	if (!o)
		o = &defaults;
	if (!host_valid(host))
		return err_set(e, E_INVALID, "invalid registry host \"%s\"", host);
	if (!*repository || strstr(repository, "..") || strchr(repository, '?') ||
	    strchr(repository, '#') || strchr(repository, '%'))
		return err_set(e, E_INVALID, "invalid repository \"%s\"", repository);
	if (o->creds && auth_creds_parse(o->creds, &creds, e) < 0)
		return -1;
	if (!o->creds && auth_creds_lookup(ctx, registry, o->auth_files, &creds, e) < 0)
		return -1;
	ho = (struct http_client_opts){
	    .tls_verify = o->tls_verify,
	    .ca_file = o->ca_file,
	    .cert_file = o->cert_file,
	    .key_file = o->key_file,
	    .connect_timeout_ns = o->connect_timeout_ns,
	    .low_speed_time_ns = o->low_speed_time_ns,
	    .retries = o->retries,
	};
	r = xcalloc(1, sizeof(*r));
	if (http_client_init(&r->http, ctx, &ho, e) < 0) {
		auth_creds_release(&creds);
		free(r);
		return -1;
	}
	r->ctx = ctx;
	r->host = xstrdup(host);
	r->name = xstrdup(registry);
	r->repository = xstrdup(repository);
	r->plain_http = o->plain_http;
	r->loopback = host_is_loopback(host);
	r->creds = creds;
	r->base = xasprintf("%s://%s", o->plain_http ? "http" : "https", host);
	pthread_mutex_init(&r->mu, NULL);
	log_debug(ctx, "registry: %s (%s) repository %s, %s%s", host, registry, repository,
	          o->plain_http ? "plain http" : "https", creds.user ? ", with credentials" : "");
	*out = r;
	return 0;
}

void registry_free(struct registry *r)
{
	if (!r)
		return;
	http_client_release(&r->http);
	pthread_mutex_destroy(&r->mu);
	auth_creds_release(&r->creds);
	auth_challenge_release(&r->chal);
	if (r->token)
		memset(r->token, 0, strlen(r->token));
	free(r->token);
	free(r->base);
	free(r->host);
	free(r->name);
	free(r->repository);
	free(r);
}

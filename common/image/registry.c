/* common/image/registry.c - the registry HTTP API v2 client over libcurl (DESIGN.md "pull":
 * token and basic auth, plain-HTTP/insecure hosts, redirects without leaking credentials to
 * other hosts, retries with backoff, Retry-After, resume by Range; OCI distribution-spec).
 * Redirects are followed here, not by libcurl, so the Authorization header is attached hop by
 * hop and only when the hop's scheme, host and port are the registry's own (or, for a token
 * request, the realm's own). One easy handle per request; DNS, connections and TLS sessions
 * are shared through one CURLSH per client. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "common/image/auth.h"
#include "common/image/registry.h"
#include "common/util/buf.h"
#include "common/util/jsonio.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

#define REDIRECTS_MAX      5
#define ERRBODY_MAX        (64 << 10) /* bytes of an error body kept for its message */
#define BACKOFF_FIRST_NS   (500 * NSEC_PER_MSEC)
#define BACKOFF_MAX_NS     (8 * NSEC_PER_SEC)
#define RETRY_AFTER_MAX_NS (60 * NSEC_PER_SEC)
#define ATTEMPTS_HARD_MAX  100 /* attempts that make progress are not counted; this bounds them */
#define LOW_SPEED_BYTES    1024
#define DEFAULT_TIMEOUT_NS (30 * NSEC_PER_SEC)
#define DEFAULT_RETRIES    4
#define TOKEN_MARGIN_S     5 /* a token this close to expiry is renewed (when it lives >= 20 s) */

struct registry {
	const struct ctx *ctx;
	char *host, *name, *repository;
	bool plain_http, tls_verify, loopback;
	char *ca_file, *cert_file, *key_file;
	int64_t connect_timeout_ns, low_speed_time_ns;
	int retries;
	struct auth_creds creds;
	CURLSH *share;
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
	pthread_mutex_t mu; /* guards what follows; held across the ping and a token fetch */
	char *base;         /* "https://host" (or http:// after plain_http or the fallback) */
	bool pinged;
	struct auth_challenge chal;
	char *token;             /* the bearer token, or NULL */
	int64_t token_expiry_ns; /* monotonic */
	_Atomic int64_t bytes;
};

/* One request: what to send and what to do with the response. The hooks run for the final
 * 2xx response only (not for redirects or errors). */
struct req {
	struct registry *r;
	char *what;         /* "GET <url>", the start of every message about this request */
	const char *accept; /* Accept header, or NULL */
	char *range;        /* Range header value, or NULL */
	const char *auth;   /* Authorization header value, or NULL */
	char *auth_origin;  /* the only origin the Authorization goes to */
	char *reg_origin;   /* the registry's origin (the client certificate goes only there) */
	size_t body_max;    /* 2xx bodies collected without on_data: larger is E_INVALID */
	int (*on_headers)(struct req *q, struct err *e);
	int (*on_data)(struct req *q, const char *p, size_t n, struct err *e);
	int (*before)(struct req *q, struct err *e); /* before each attempt (sets Range) */
	bool (*incomplete)(struct req *q);           /* a 2xx that ended early: retried */
	bool (*progressed)(struct req *q); /* the last attempt stored bytes: not a failure */
	bool once;                         /* no retries */
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

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct registry *r = arg;

	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&r->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct registry *r = arg;

	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&r->share_mu[data]);
}

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

/* "scheme://host:port" (lowercase, default port filled in), or NULL when url does not parse. */
static char *url_origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		out = xasprintf("%s://%s:%s", scheme, host, port);
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

static bool same_origin(const char *origin, const char *url)
{
	cleanup_free char *o = origin ? url_origin(url) : NULL;

	return o && strcmp(o, origin) == 0;
}

static char *str_escape(const char *s)
{
	struct buf b = BUF_INIT;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			buf_addc(&b, (char)c);
		else
			buf_printf(&b, "%%%02X", c);
	}
	return b.data ? buf_take(&b) : xstrdup("");
}

static void req_reset_response(struct req *q)
{
	q->status = 0;
	q->headers_done = false;
	q->content_length = -1;
	freep(&q->content_type);
	freep(&q->content_range);
	freep(&q->retry_after);
	freep(&q->www_auth);
	buf_reset(&q->body);
}

static void req_release(struct req *q)
{
	req_reset_response(q);
	buf_release(&q->body);
	free(q->what);
	free(q->range);
	free(q->auth_origin);
	free(q->reg_origin);
	q->what = q->range = q->auth_origin = q->reg_origin = NULL;
}

static bool status_ok(long status)
{
	return status >= 200 && status < 300;
}

static void header_keep(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = xstrndup(v, n);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct req *q = arg;
	size_t len = size * nmemb, n = len, nlen;
	const char *colon, *v;

	atomic_fetch_add(&q->r->bytes, (int64_t)len);
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue, or the next hop): start over. */
		const char *sp = memchr(p, ' ', n);

		req_reset_response(q);
		q->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	if (n == 0) {
		if (q->status < 200)
			return len; /* the end of an interim response */
		q->headers_done = true;
		if (status_ok(q->status) && q->on_headers && q->on_headers(q, &q->cb_err) < 0) {
			q->cb_failed = true;
			return 0; /* aborts the transfer before its body */
		}
		return len;
	}
	colon = memchr(p, ':', n);
	if (!colon)
		return len;
	nlen = (size_t)(colon - p);
	v = colon + 1;
	while (v < p + n && (*v == ' ' || *v == '\t'))
		v++;
	n = (size_t)(p + n - v);
	if (nlen == 12 && strncasecmp(p, "Content-Type", 12) == 0)
		header_keep(&q->content_type, v, n);
	else if (nlen == 13 && strncasecmp(p, "Content-Range", 13) == 0)
		header_keep(&q->content_range, v, n);
	else if (nlen == 11 && strncasecmp(p, "Retry-After", 11) == 0)
		header_keep(&q->retry_after, v, n);
	else if (nlen == 16 && strncasecmp(p, "WWW-Authenticate", 16) == 0 && !q->www_auth)
		header_keep(&q->www_auth, v, n);
	else if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
		cleanup_free char *s = xstrndup(v, n);
		char *end = NULL;
		long long cl;

		errno = 0;
		cl = strtoll(s, &end, 10);
		if (errno == 0 && end != s && cl >= 0)
			q->content_length = cl;
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct req *q = arg;
	size_t len = size * nmemb;

	atomic_fetch_add(&q->r->bytes, (int64_t)len);
	if (!status_ok(q->status)) {
		/* Redirect and error bodies: keep the start of it for the message. */
		if (q->body.len < ERRBODY_MAX)
			buf_add(&q->body, p,
			        len < ERRBODY_MAX - q->body.len ? len : ERRBODY_MAX - q->body.len);
		return len;
	}
	if (q->on_data) {
		if (q->on_data(q, p, len, &q->cb_err) < 0) {
			q->cb_failed = true;
			return 0;
		}
		return len;
	}
	if (q->body.len + len > q->body_max) {
		err_set(&q->cb_err, E_INVALID, "%s: the response is larger than %zu bytes", q->what,
		        q->body_max);
		q->cb_failed = true;
		return 0;
	}
	buf_add(&q->body, p, len);
	return len;
}

static bool curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* The handshake failed: a plain-HTTP server answering, or a certificate refused. */
static bool curl_tls_error(CURLcode rc)
{
	return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
	       rc == CURLE_SSL_CIPHER || rc == CURLE_SSL_CERTPROBLEM;
}

/* Applies what every hop shares. */
static void easy_setup(struct req *q, CURL *h)
{
	struct registry *r = q->r;
	long low = (long)(r->low_speed_time_ns / NSEC_PER_SEC);

	curl_easy_setopt(h, CURLOPT_SHARE, r->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ctrbox");
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(r->connect_timeout_ns / NSEC_PER_MSEC));
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, low > 0 ? low : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, r->tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, r->tls_verify ? 2L : 0L);
	if (r->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
}

/* One attempt: the request and its redirects. 0 with q->status set once a final response came
 * back; -1 with e set otherwise (q->retryable, q->cb_failed and q->tls_failed say more). */
static int req_exchange(struct req *q, const char *url, struct err *e)
{
	struct registry *r = q->r;
	CURL *h = curl_easy_init();
	cleanup_free char *cur = xstrdup(url);
	int rc = -1;

	q->retryable = q->cb_failed = q->tls_failed = false;
	err_clear(&q->cb_err);
	if (!h)
		return err_set(e, E_NET, "%s: cannot create a libcurl handle", q->what);
	easy_setup(q, h);
	for (int hop = 0;; hop++) {
		struct curl_slist *hdrs = NULL;
		bool own = same_origin(q->reg_origin, cur);
		cleanup_free char *accept = q->accept ? xasprintf("Accept: %s", q->accept) : NULL;
		cleanup_free char *range = q->range ? xasprintf("Range: %s", q->range) : NULL;
		cleanup_free char *auth = NULL;
		char *loc = NULL;
		CURLcode cc;

		if (q->auth && same_origin(q->auth_origin, cur))
			auth = xasprintf("Authorization: %s", q->auth);
		if (accept)
			hdrs = curl_slist_append(hdrs, accept);
		if (range)
			hdrs = curl_slist_append(hdrs, range);
		if (auth)
			hdrs = curl_slist_append(hdrs, auth);
		curl_easy_setopt(h, CURLOPT_URL, cur);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_SSLCERT, own ? r->cert_file : NULL);
		curl_easy_setopt(h, CURLOPT_SSLKEY, own ? r->key_file : NULL);
		req_reset_response(q);
		q->errbuf[0] = '\0';
		cc = curl_easy_perform(h);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(hdrs);
		log_debug(r->ctx, "registry: GET %s%s%s -> %ld%s%s", cur, q->range ? " Range " : "",
		          q->range ? q->range : "", q->status, cc ? ": " : "",
		          cc ? curl_easy_strerror(cc) : "");
		if (q->cb_failed) {
			*e = q->cb_err;
			break;
		}
		if (cc != CURLE_OK) {
			q->tls_failed = strncasecmp(cur, "https://", 8) == 0 && curl_tls_error(cc);
			q->retryable = curl_transient(cc) && !q->tls_failed;
			err_set(e, E_NET, "%s: %s", q->what,
			        q->errbuf[0] ? q->errbuf : curl_easy_strerror(cc));
			break;
		}
		if (q->status >= 300 && q->status < 400 &&
		    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc) {
			if (hop == REDIRECTS_MAX) {
				err_set(e, E_NET, "%s: more than %d redirects", q->what,
				        REDIRECTS_MAX);
				break;
			}
			free(cur);
			cur = xstrdup(loc);
			continue;
		}
		rc = 0;
		break;
	}
	curl_easy_cleanup(h);
	return rc;
}

static const char *status_text(long status)
{
	switch (status) {
	case 400:
		return "bad request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not found";
	case 405:
		return "method not allowed";
	case 416:
		return "range not satisfiable";
	case 429:
		return "too many requests";
	case 500:
		return "internal server error";
	case 502:
		return "bad gateway";
	case 503:
		return "service unavailable";
	case 504:
		return "gateway timeout";
	default:
		return "unexpected status";
	}
}

static void message_add(struct buf *out, const char *s)
{
	if (out->len)
		buf_adds(out, "; ");
	buf_adds(out, s);
}

/* The registry's words for an error response: the messages of {"errors": [...]}
 * (distribution-spec), else "details"/"message"/"error" (token servers), else a short body,
 * else the status's text. Control characters are replaced: it ends up on a terminal. */
static char *error_message(const struct req *q)
{
	static const char *const keys[] = {"details", "message", "error_description", "error"};
	struct buf out = BUF_INIT;
	cleanup_json struct json_object *doc = NULL;
	struct json_object *errs = NULL, *v = NULL;
	struct err ignore = ERR_INIT;

	if (q->body.len > 0 && jsonio_parse(q->body.data, q->body.len, &doc, &ignore) == 0 &&
	    json_object_is_type(doc, json_type_object)) {
		if (json_object_object_get_ex(doc, "errors", &errs) &&
		    json_object_is_type(errs, json_type_array)) {
			size_t n = json_object_array_length(errs);

			for (size_t i = 0; i < n && i < 4; i++) {
				struct json_object *it = json_object_array_get_idx(errs, i);

				if ((json_object_object_get_ex(it, "message", &v) &&
				     json_object_is_type(v, json_type_string) &&
				     *json_object_get_string(v)) ||
				    (json_object_object_get_ex(it, "code", &v) &&
				     json_object_is_type(v, json_type_string)))
					message_add(&out, json_object_get_string(v));
			}
		}
		for (size_t i = 0; out.len == 0 && i < ARRAY_SIZE(keys); i++)
			if (json_object_object_get_ex(doc, keys[i], &v) &&
			    json_object_is_type(v, json_type_string) && *json_object_get_string(v))
				buf_adds(&out, json_object_get_string(v));
	} else if (q->body.len > 0 && q->body.len < 200 &&
	           !memchr(q->body.data, '<', q->body.len)) {
		buf_add(&out, q->body.data, q->body.len);
		str_trim(out.data);
		out.len = strlen(out.data);
	}
	if (out.len == 0)
		buf_adds(&out, status_text(q->status));
	for (size_t i = 0; i < out.len; i++)
		if ((unsigned char)out.data[i] < 0x20 || out.data[i] == 0x7f)
			out.data[i] = '?';
	if (out.len > 300)
		out.data[300] = '\0';
	return buf_take(&out);
}

/* e from an HTTP status: 404 E_NOTFOUND, 401/403 E_AUTH, 429 and 5xx E_NET, other 4xx
 * E_INVALID, anything else E_NET. Returns -1. */
static int req_status_error(const struct req *q, struct err *e)
{
	cleanup_free char *msg = error_message(q);
	enum err_code code = E_NET;

	if (q->status == 404)
		code = E_NOTFOUND;
	else if (q->status == 401 || q->status == 403)
		code = E_AUTH;
	else if (q->status >= 400 && q->status < 500 && q->status != 429)
		code = E_INVALID;
	return err_set(e, code, "%s: HTTP %ld: %s", q->what, q->status, msg);
}

/* Retry-After as a wait: delay-seconds or an HTTP date, capped; -1 when absent or unreadable.
 * A date is compared with the real clock, not ctx->now_ns: this is a wait on the network. */
static int64_t retry_after_ns(const char *v)
{
	int64_t ns;

	if (!v || !*v)
		return -1;
	if (isdigit((unsigned char)v[0])) {
		char *end = NULL;
		long long s;

		errno = 0;
		s = strtoll(v, &end, 10);
		if (errno || (*end && !isspace((unsigned char)*end)))
			return -1;
		ns = s > RETRY_AFTER_MAX_NS / NSEC_PER_SEC ? RETRY_AFTER_MAX_NS : s * NSEC_PER_SEC;
	} else {
		time_t t = curl_getdate(v, NULL);

		if (t < 0)
			return -1;
		ns = (int64_t)t * NSEC_PER_SEC - ctx_clock_realtime();
		if (ns < 0)
			ns = 0;
	}
	return ns > RETRY_AFTER_MAX_NS ? RETRY_AFTER_MAX_NS : ns;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC};

	while (ns > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Runs q against url, retrying connection errors, 429, 5xx and transfers that ended early:
 * backoff from 0.5 s doubling to 8 s, or Retry-After; an attempt that stored bytes resumes at
 * once and is not counted. 0 once a final response came (q->status says which); -1 with e. */
static int req_run(struct req *q, const char *url, struct err *e)
{
	int64_t delay = BACKOFF_FIRST_NS;
	int failures = 0;

	for (int attempt = 1;; attempt++) {
		struct err xe = ERR_INIT;
		int64_t wait = 0;

		if (q->before && q->before(q, e) < 0)
			return -1;
		if (req_exchange(q, url, &xe) < 0) {
			if (!q->retryable) {
				*e = xe;
				return -1;
			}
		} else if (q->status == 429 || q->status >= 500) {
			req_status_error(q, &xe);
		} else if (status_ok(q->status) && q->incomplete && q->incomplete(q)) {
			err_set(&xe, E_NET, "%s: the transfer ended early", q->what);
		} else {
			return 0;
		}
		if (attempt >= ATTEMPTS_HARD_MAX || (failures >= (q->once ? 0 : q->r->retries) &&
		                                     !(q->progressed && q->progressed(q)))) {
			if (attempt > 1)
				return err_set(e, xe.code, "%s (after %d attempts)", xe.msg,
				               attempt);
			*e = xe;
			return -1;
		}
		if (q->progressed && q->progressed(q)) {
			failures = 0;
			delay = BACKOFF_FIRST_NS;
		} else {
			wait = retry_after_ns(q->retry_after);
			if (wait < 0) {
				wait = delay;
				delay = delay * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : delay * 2;
			}
			failures++;
		}
		log_debug(q->r->ctx, "registry: %s; retrying in %lld ms", xe.msg,
		          (long long)(wait / NSEC_PER_MSEC));
		sleep_ns(wait);
	}
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
		struct req q = {.r = r, .body_max = ERRBODY_MAX, .once = fallback};
		struct auth_challenge c;
		int rc;

		q.what = xasprintf("GET %s", url);
		q.reg_origin = url_origin(r->base);
		rc = req_run(&q, url, e);
		if (rc < 0 && q.tls_failed && r->loopback && !fallback) {
			log_debug(r->ctx, "registry: %s; %s is a loopback host, trying plain http",
			          e->msg, r->host);
			tls_err = *e;
			fallback = true;
			free(r->base);
			r->base = xasprintf("http://%s", r->host);
			req_release(&q);
			continue;
		}
		if (rc == 0 && fallback && q.status != 200 && q.status != 401)
			rc = req_status_error(&q, e);
		if (rc < 0) {
			req_release(&q);
			return fallback ? reg_fallback_failed(r, &tls_err, e) : -1;
		}
		if (q.status == 401 && q.www_auth) {
			if (auth_challenge_parse(q.www_auth, &c, e) < 0) {
				err_wrap(e, "%s", q.what);
				req_release(&q);
				return -1;
			}
			auth_challenge_release(&r->chal);
			r->chal = c;
		} else if (!status_ok(q.status)) {
			log_debug(r->ctx, "registry: %s answered HTTP %ld; carrying on", q.what,
			          q.status);
		}
		log_debug(r->ctx, "registry: %s: auth %s", r->base,
		          r->chal.scheme == AUTH_BEARER  ? "bearer"
		          : r->chal.scheme == AUTH_BASIC ? "basic"
		                                         : "none");
		r->pinged = true;
		req_release(&q);
	}
	return 0;
}

/* Fetches a bearer token from the challenge's realm for repository:NAME:pull, with basic
 * credentials when there are any, under r->mu. */
static int reg_token_locked(struct registry *r, struct err *e)
{
	const struct auth_challenge *c = &r->chal;
	cleanup_free char *scope = xasprintf("repository:%s:pull", r->repository);
	cleanup_free char *escope = str_escape(scope);
	cleanup_free char *esvc = c->service ? str_escape(c->service) : NULL;
	cleanup_free char *url =
	    xasprintf("%s%sscope=%s%s%s", c->realm, strchr(c->realm, '?') ? "&" : "?", escope,
	              esvc ? "&service=" : "", esvc ? esvc : "");
	cleanup_free char *basic = r->creds.user ? auth_basic_value(&r->creds) : NULL;
	struct req q = {.r = r, .auth = basic, .body_max = AUTH_TOKEN_MAX};
	char *token = NULL;
	int64_t ttl = 0;
	int rc = -1;

	q.what = xasprintf("GET %s", c->realm);
	q.auth_origin = url_origin(c->realm);
	q.reg_origin = url_origin(r->base);
	if (!q.auth_origin)
		err_set(e, E_AUTH, "%s: the bearer realm is not a URL", q.what);
	else if (req_run(&q, url, e) < 0)
		;
	else if (!status_ok(q.status))
		req_status_error(&q, e);
	else if (auth_token_parse(q.body.data ? q.body.data : "", q.body.len, &token, &ttl, e) < 0)
		err_wrap(e, "%s", q.what);
	else
		rc = 0;
	if (basic)
		memset(basic, 0, strlen(basic));
	req_release(&q);
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
static int reg_request(struct registry *r, struct req *q, const char *path, struct err *e)
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
	q->reg_origin = url_origin(base);
	q->auth_origin = url_origin(base);
	for (;;) {
		cleanup_free char *auth = NULL;

		if (reg_auth_value(r, &auth, e) < 0)
			return -1;
		q->auth = auth;
		rc = req_run(q, url, e);
		q->auth = NULL;
		if (rc < 0)
			return -1;
		if (status_ok(q->status))
			return 0;
		if (q->status == 401 && !auth_retried) {
			auth_retried = true;
			reg_auth_refused(r, q->www_auth, auth);
			continue;
		}
		req_status_error(q, e);
		if (e->code == E_AUTH && !r->creds.user) {
			char msg[ERR_MSG_MAX];

			memcpy(msg, e->msg, sizeof(msg));
			err_set(e, E_AUTH, "%s (no credentials for %s)", msg, r->name);
		}
		return -1;
	}
}

static int manifest_headers(struct req *q, struct err *e)
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
	struct req q = {.r = r,
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
		req_release(&q);
		return -1;
	}
	digest_of(q.body.data ? q.body.data : "", q.body.len, &got);
	if (by_digest && !digest_equal(&got, &want)) {
		err_set(e, E_CORRUPT, "%s: the manifest does not match its digest: got sha256:%s",
		        q.what, got.hex);
		req_release(&q);
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
	req_release(&q);
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

static int blob_before(struct req *q, struct err *e)
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
static int blob_headers(struct req *q, struct err *e)
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
			log_debug(q->r->ctx,
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

static int blob_data(struct req *q, const char *p, size_t n, struct err *e)
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

static bool blob_incomplete(struct req *q)
{
	const struct blob_job *j = q->arg;

	return j->ing->offset < j->d->size;
}

static bool blob_progressed(struct req *q)
{
	const struct blob_job *j = q->arg;

	return j->written > 0;
}

int registry_get_blob(struct registry *r, const struct descriptor *d, struct ingest *ing,
                      registry_progress_fn progress, void *arg, struct err *e)
{
	struct blob_job j = {.d = d, .ing = ing, .progress = progress, .arg = arg};
	struct req q = {.r = r,
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
	req_release(&q);
	return rc;
}

int64_t registry_bytes_received(const struct registry *r)
{
	return atomic_load(&r->bytes);
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
	struct registry *r;

	if (!o)
		o = &defaults;
	if (!host_valid(host))
		return err_set(e, E_INVALID, "invalid registry host \"%s\"", host);
	if (!*repository || strstr(repository, "..") || strchr(repository, '?') ||
	    strchr(repository, '#') || strchr(repository, '%'))
		return err_set(e, E_INVALID, "invalid repository \"%s\"", repository);
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return err_set(e, E_NET, "libcurl: %s", curl_easy_strerror(curl_init_rc));
	if (o->creds && auth_creds_parse(o->creds, &creds, e) < 0)
		return -1;
	if (!o->creds && auth_creds_lookup(ctx, registry, o->auth_files, &creds, e) < 0)
		return -1;
	r = xcalloc(1, sizeof(*r));
	r->ctx = ctx;
	r->host = xstrdup(host);
	r->name = xstrdup(registry);
	r->repository = xstrdup(repository);
	r->plain_http = o->plain_http;
	r->tls_verify = o->tls_verify;
	r->loopback = host_is_loopback(host);
	r->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
	r->cert_file = o->cert_file ? xstrdup(o->cert_file) : NULL;
	r->key_file = o->key_file ? xstrdup(o->key_file) : NULL;
	r->connect_timeout_ns =
	    o->connect_timeout_ns > 0 ? o->connect_timeout_ns : DEFAULT_TIMEOUT_NS;
	r->low_speed_time_ns = o->low_speed_time_ns > 0 ? o->low_speed_time_ns : DEFAULT_TIMEOUT_NS;
	r->retries = o->retries < 0 ? 0 : o->retries > 0 ? o->retries : DEFAULT_RETRIES;
	r->creds = creds;
	r->base = xasprintf("%s://%s", o->plain_http ? "http" : "https", host);
	pthread_mutex_init(&r->mu, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(r->share_mu); i++)
		pthread_mutex_init(&r->share_mu[i], NULL);
	r->share = curl_share_init();
	if (!r->share) {
		registry_free(r);
		return err_set(e, E_NET, "libcurl: cannot create a share handle");
	}
	curl_share_setopt(r->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(r->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(r->share, CURLSHOPT_USERDATA, r);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	log_debug(ctx, "registry: %s (%s) repository %s, %s%s", host, registry, repository,
	          o->plain_http ? "plain http" : "https", creds.user ? ", with credentials" : "");
	*out = r;
	return 0;
}

void registry_free(struct registry *r)
{
	if (!r)
		return;
	if (r->share)
		curl_share_cleanup(r->share);
	pthread_mutex_destroy(&r->mu);
	for (size_t i = 0; i < ARRAY_SIZE(r->share_mu); i++)
		pthread_mutex_destroy(&r->share_mu[i]);
	auth_creds_release(&r->creds);
	auth_challenge_release(&r->chal);
	if (r->token)
		memset(r->token, 0, strlen(r->token));
	free(r->token);
	free(r->base);
	free(r->host);
	free(r->name);
	free(r->repository);
	free(r->ca_file);
	free(r->cert_file);
	free(r->key_file);
	free(r);
}

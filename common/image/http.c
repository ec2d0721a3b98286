/* common/image/http.c - the HTTP layer under the registry client (DESIGN.md "pull": redirects
 * without leaking credentials to other hosts, retries with backoff, Retry-After, resume by
 * Range). Redirects are followed here, not by libcurl, so the Authorization header is attached
 * hop by hop and only when the hop's scheme, host and port are the ones it belongs to. One easy
 * handle per attempt; DNS, connections and TLS sessions are shared through one CURLSH per
 * client. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/image/curl_dl.h"
#include "common/image/http.h"
#include "common/util/jsonio.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

#define REDIRECTS_MAX      5
#define BACKOFF_FIRST_NS   (500 * NSEC_PER_MSEC)
#define BACKOFF_MAX_NS     (8 * NSEC_PER_SEC)
#define RETRY_AFTER_MAX_NS (60 * NSEC_PER_SEC)
#define ATTEMPTS_HARD_MAX  100 /* attempts that make progress are not counted; this bounds them */
#define LOW_SPEED_BYTES    1024
#define DEFAULT_TIMEOUT_NS (30 * NSEC_PER_SEC)
#define DEFAULT_RETRIES    4

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct http_client *c = arg;

	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct http_client *c = arg;

	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&c->share_mu[data]);
}

int http_client_init(struct http_client *c, const struct ctx *ctx, const struct http_client_opts *o,
                     struct err *e)
{
	if (curl_dl_require(e) < 0)
		return -1;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return err_set(e, E_NET, "libcurl: %s", curl_easy_strerror(curl_init_rc));
	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
	c->tls_verify = o->tls_verify;
	c->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
	c->cert_file = o->cert_file ? xstrdup(o->cert_file) : NULL;
	c->key_file = o->key_file ? xstrdup(o->key_file) : NULL;
	c->connect_timeout_ns =
	    o->connect_timeout_ns > 0 ? o->connect_timeout_ns : DEFAULT_TIMEOUT_NS;
	c->low_speed_time_ns = o->low_speed_time_ns > 0 ? o->low_speed_time_ns : DEFAULT_TIMEOUT_NS;
	c->retries = o->retries < 0 ? 0 : o->retries > 0 ? o->retries : DEFAULT_RETRIES;
	for (size_t i = 0; i < ARRAY_SIZE(c->share_mu); i++)
		pthread_mutex_init(&c->share_mu[i], NULL);
	c->share = curl_share_init();
	if (!c->share) {
		http_client_release(c);
		return err_set(e, E_NET, "libcurl: cannot create a share handle");
	}
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	return 0;
}

void http_client_release(struct http_client *c)
{
	if (c->share)
		curl_share_cleanup(c->share);
	c->share = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(c->share_mu); i++)
		pthread_mutex_destroy(&c->share_mu[i]);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	c->ca_file = c->cert_file = c->key_file = NULL;
}

/* "scheme://host:port" (lowercase, default port filled in), or NULL when url does not parse. */
char *http_url_origin(const char *url)
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
	cleanup_free char *o = origin ? http_url_origin(url) : NULL;

	return o && strcmp(o, origin) == 0;
}

char *http_escape(const char *s)
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

static void req_reset_response(struct http_req *q)
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

void http_req_release(struct http_req *q)
{
	req_reset_response(q);
	buf_release(&q->body);
	free(q->what);
	free(q->range);
	free(q->auth_origin);
	free(q->reg_origin);
	q->what = q->range = q->auth_origin = q->reg_origin = NULL;
}

bool http_status_ok(long status)
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
	struct http_req *q = arg;
	size_t len = size * nmemb, n = len, nlen;
	const char *colon, *v;

	atomic_fetch_add(&q->c->bytes, (int64_t)len);
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
		if (http_status_ok(q->status) && q->on_headers &&
		    q->on_headers(q, &q->cb_err) < 0) {
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
	struct http_req *q = arg;
	size_t len = size * nmemb;

	atomic_fetch_add(&q->c->bytes, (int64_t)len);
	if (!http_status_ok(q->status)) {
		/* Redirect and error bodies: keep the start of it for the message. */
		if (q->body.len < HTTP_ERRBODY_MAX)
			buf_add(&q->body, p,
			        len < HTTP_ERRBODY_MAX - q->body.len
			            ? len
			            : HTTP_ERRBODY_MAX - q->body.len);
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
static void easy_setup(struct http_req *q, CURL *h)
{
	struct http_client *c = q->c;
	long low = (long)(c->low_speed_time_ns / NSEC_PER_SEC);

	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ctrbox");
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
	/* Large reads: a 200 MB layer in 16 KiB pieces is 13,000 recv and write calls. */
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(c->connect_timeout_ns / NSEC_PER_MSEC));
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, low > 0 ? low : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
}

/* One attempt: the request and its redirects. 0 with q->status set once a final response came
 * back; -1 with e set otherwise (q->retryable, q->cb_failed and q->tls_failed say more). */
static int req_exchange(struct http_req *q, const char *url, struct err *e)
{
	struct http_client *c = q->c;
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
		curl_easy_setopt(h, CURLOPT_SSLCERT, own ? c->cert_file : NULL);
		curl_easy_setopt(h, CURLOPT_SSLKEY, own ? c->key_file : NULL);
		req_reset_response(q);
		q->errbuf[0] = '\0';
		cc = curl_easy_perform(h);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(hdrs);
		log_debug(c->ctx, "registry: GET %s%s%s -> %ld%s%s", cur, q->range ? " Range " : "",
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
static char *error_message(const struct http_req *q)
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
int http_status_error(const struct http_req *q, struct err *e)
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
int http_run(struct http_req *q, const char *url, struct err *e)
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
			http_status_error(q, &xe);
		} else if (http_status_ok(q->status) && q->incomplete && q->incomplete(q)) {
			err_set(&xe, E_NET, "%s: the transfer ended early", q->what);
		} else {
			return 0;
		}
		if (attempt >= ATTEMPTS_HARD_MAX || (failures >= (q->once ? 0 : q->c->retries) &&
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
		log_debug(q->c->ctx, "registry: %s; retrying in %lld ms", xe.msg,
		          (long long)(wait / NSEC_PER_MSEC));
		sleep_ns(wait);
	}
}

/* common/node/event_sink.c - shipping the event journal to a webhook (DESIGN.md lesson 4, issue 7
 * "--sink"). The journal is followed with journal_tail; matching events are gathered into a
 * batch (up to batch_max, or batch_wait after the first), POSTed as one JSON array over libcurl,
 * retried with doubling backoff until acknowledged (2xx), and only then is the cursor document
 * rewritten. A batch is never dropped: a stop before the acknowledgement leaves the cursor where
 * it was, so the batch is sent again by the next run. */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/image/curl_dl.h"
#include "common/node/event_sink.h"
#include "common/store/digest.h"
#include "common/store/doc.h"
#include "common/store/layout.h"
#include "common/util/buf.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/units.h"

char *event_sink_cursor_default(const struct ctx *ctx, const char *url)
{
	cleanup_free char *dir = store_events_dir(ctx);
	struct digest d;

	digest_of(url, strlen(url), &d);
	return xasprintf("%s/sink-%.16s.cursor", dir, d.hex);
}

int event_sink_cursor_load(const char *path, struct journal_pos *out, struct err *e)
{
	cleanup_json struct json_object *o = NULL;
	int64_t dev, ino, off;

	if (doc_read(path, &o, e) < 0)
		return -1;
	if (jsonio_get_int(o, "file_dev", true, &dev, e) < 0 ||
	    jsonio_get_int(o, "file_ino", true, &ino, e) < 0 ||
	    jsonio_get_int(o, "offset_bytes", true, &off, e) < 0) {
		e->code = E_CORRUPT;
		return err_wrap(e, "%s", path);
	}
	if (off < 0)
		return err_set(e, E_CORRUPT, "%s: negative offset", path);
	out->dev = (uint64_t)dev;
	out->ino = (uint64_t)ino;
	out->offset = off;
	return 0;
}

int event_sink_cursor_save(const char *path, const char *url, const struct journal_pos *pos,
                           struct err *e)
{
	cleanup_json struct json_object *o = json_object_new_object();

	jsonio_set_str(o, "url", url);
	jsonio_set_int(o, "file_dev", (int64_t)pos->dev);
	jsonio_set_int(o, "file_ino", (int64_t)pos->ino);
	jsonio_set_int(o, "offset_bytes", pos->offset);
	jsonio_set_time(o, "updated", ctx_clock_realtime());
	return doc_write(path, o, DOC_DURABLE, e);
}

static size_t discard_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One POST of body. 0 when the receiver answered 2xx; -1 with e saying why otherwise. */
static int sink_post(CURL *h, const struct event_sink_opts *o, const struct buf *body,
                     struct err *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;
	CURLcode rc;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, o->url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ctrbox-events");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(o->timeout_ns / NSEC_PER_MSEC));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK)
		return err_set(e, E_NET, "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		return err_set(e, E_NET, "HTTP %ld", status);
	return 0;
}

/* Sleeps ns with the caller's wait mask, so its signals cut the sleep short. */
static void sink_sleep(const struct event_sink_opts *o, int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC};

	if (!*o->stop)
		ppoll(NULL, 0, &ts, o->waitmask);
}

/* POSTs the batch until it is acknowledged (0) or the caller asks to stop (1). */
static int sink_deliver(const struct ctx *ctx, CURL *h, const struct event_sink_opts *o,
                        const struct buf *body, size_t count, struct event_sink_stats *st)
{
	int64_t backoff = o->backoff_min_ns;

	for (;;) {
		struct err pe = ERR_INIT;
		char b[UNITS_BUFSZ];

		if (*o->stop)
			return 1;
		if (sink_post(h, o, body, &pe) == 0)
			return 0;
		st->failures++;
		units_format_elapsed(backoff, b, sizeof(b));
		log_warn(ctx, "%s: %s; %zu event(s) kept, retrying in %s", o->url, pe.msg, count, b);
		sink_sleep(o, backoff);
		backoff = backoff * 2 > o->backoff_max_ns ? o->backoff_max_ns : backoff * 2;
	}
}

static bool pos_equal(const struct journal_pos *a, const struct journal_pos *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->offset == b->offset;
}

static int sink_open(const struct ctx *ctx, const struct event_sink_opts *o, const char *cursor,
                     struct journal_tail **t, struct journal_pos *saved, struct err *e)
{
	struct err ce = ERR_INIT;
	bool resumed = false;

	if (event_sink_cursor_load(cursor, saved, &ce) == 0) {
		if (journal_tail_open_at(ctx, saved, JOURNAL_TAIL_WATCH, &resumed, t, e) < 0)
			return -1;
		if (!resumed)
			log_warn(ctx,
			         "%s: the journal file it points into is gone (removed by retention); "
			         "starting from the oldest event kept",
			         cursor);
		return 0;
	}
	if (ce.code != E_NOTFOUND) {
		*e = ce;
		return -1;
	}
	memset(saved, 0, sizeof(*saved));
	return journal_tail_open(ctx, o->from_oldest ? JOURNAL_TAIL_OLDEST : JOURNAL_TAIL_END,
	                         JOURNAL_TAIL_WATCH, t, e);
}

int event_sink_run(const struct ctx *ctx, const struct event_sink_opts *o,
                   struct event_sink_stats *st, struct err *e)
{
	cleanup_free char *cursor =
	    o->cursor_path ? xstrdup(o->cursor_path) : event_sink_cursor_default(ctx, o->url);
	cleanup_buf struct buf body = BUF_INIT;
	cleanup_buf struct buf line = BUF_INIT;
	struct event_filter f = *o->filter;
	struct journal_tail *t = NULL;
	struct journal_pos saved, pos;
	int64_t first_ns = 0;
	size_t count = 0;
	int rc = -1;
	CURL *h;

	f.until_ns = 0;
	if (strncasecmp(o->url, "http://", 7) != 0 && strncasecmp(o->url, "https://", 8) != 0)
		return err_set(e, E_INVALID, "%s: expected an http:// or https:// URL", o->url);
	if (curl_dl_require(e) < 0)
		return -1;
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		return err_set(e, E_NET, "libcurl cannot be initialised");
	h = curl_easy_init();
	if (!h) {
		curl_global_cleanup();
		return err_set(e, E_NET, "libcurl cannot be initialised");
	}
	if (sink_open(ctx, o, cursor, &t, &saved, e) < 0)
		goto out;
	while (!*o->stop) {
		struct event ev = {0};
		int r = journal_tail_next(t, &ev, e);

		if (r < 0)
			goto out;
		if (r > 0) {
			if (event_filter_match(&f, &ev)) {
				buf_reset(&line);
				if (event_format(&ev, &line, e) < 0) {
					event_release(&ev);
					goto out;
				}
				buf_addc(&body, count ? ',' : '[');
				buf_add(&body, line.data, line.len - 1); /* without its '\n' */
				if (count++ == 0)
					first_ns = ctx_clock_monotonic();
			}
			event_release(&ev);
			if (count < o->batch_max)
				continue;
		} else if (count == 0) {
			/* Nothing pending: everything before here was sent or filtered out. */
			journal_tail_pos(t, &pos);
			if (pos.ino && !pos_equal(&pos, &saved)) {
				if (event_sink_cursor_save(cursor, o->url, &pos, e) < 0)
					goto out;
				saved = pos;
			}
			if (journal_tail_wait(t, -1, o->waitmask, e) < 0)
				goto out;
			continue;
		} else {
			int64_t left = first_ns + o->batch_wait_ns - ctx_clock_monotonic();

			if (left > 0) {
				if (journal_tail_wait(t, left, o->waitmask, e) < 0)
					goto out;
				continue;
			}
		}
		/* A full batch, or a partial one whose time is up. */
		buf_addc(&body, ']');
		if (sink_deliver(ctx, h, o, &body, count, st) > 0)
			break; /* stopped before the acknowledgement: the cursor stays behind the batch */
		journal_tail_pos(t, &pos);
		if (event_sink_cursor_save(cursor, o->url, &pos, e) < 0)
			goto out;
		saved = pos;
		st->sent += count;
		st->batches++;
		buf_reset(&body);
		count = 0;
	}
	rc = 0;
out:
	journal_tail_free(t);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return rc;
}

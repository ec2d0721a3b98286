/* common/image/layer_stream.c - the uncompressed stream of a layer blob (DESIGN.md lesson 2 and
 * "unpack"): ISA-L inflate for gzip, libarchive's zstd filter, or the bytes as they are, run by a
 * producer thread that also hashes (the diff_id) and counts them (the decompression bomb bound),
 * handed to libarchive's tar reader chunk by chunk through its read callback. Internal to
 * layer_apply(): the applier is layer.c, the shared declarations layer_int.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <isa-l/igzip_lib.h>

#include "common/image/archive_dl.h"
#include "common/image/isal_dl.h"
#include "common/image/layer.h"
#include "common/image/layer_int.h"
#include "common/util/mem.h"

#define IN_CAP   (1 << 20) /* compressed bytes read per read(2) */
#define SLOT_CAP (2 << 20) /* uncompressed bytes per chunk handed to libarchive */

static int src_read_in(struct src *s)
{
	ssize_t n;

	do
		n = read(s->fd, s->in, IN_CAP);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys(&s->err, "read layer");
	s->in_len = (size_t)n;
	s->in_pos = 0;
	if (n == 0)
		s->in_eof = true;
	return 0;
}

/* Serves the buffered bytes, then reads more: the compressed side for zstd. */
static ssize_t src_raw(struct src *s, const void **buf)
{
	size_t n;

	if (s->in_pos == s->in_len) {
		if (s->in_eof)
			return 0;
		if (src_read_in(s) < 0)
			return -1;
	}
	n = s->in_len - s->in_pos;
	*buf = s->in + s->in_pos;
	s->in_pos = s->in_len;
	return (ssize_t)n;
}

static la_ssize_t zin_read_cb(struct archive *a, void *arg, const void **buf)
{
	struct src *s = arg;
	ssize_t n = src_raw(s, buf);

	if (n < 0) {
		archive_set_error(a, EIO, "%s", s->err.msg);
		return -1;
	}
	return n;
}

static const char *isal_error_name(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK:
		return "invalid deflate block";
	case ISAL_INVALID_SYMBOL:
		return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK:
		return "invalid lookback distance";
	case ISAL_INVALID_WRAPPER:
		return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD:
		return "unsupported compression method";
	case ISAL_INCORRECT_CHECKSUM:
		return "crc mismatch";
	default:
		return "inflate failed";
	}
}

/* Inflates the next chunk into out; members follow one another (multi-member gzip, as pigz and
 * some registries write), zero padding after the last member is ignored as gzip(1) does. */
static ssize_t src_gzip(struct src *s, uint8_t *out, size_t cap)
{
	struct inflate_state *st = s->isal;

	for (;;) {
		int r;
		size_t got;

		if (st->block_state == ISAL_BLOCK_FINISH) {
			for (;;) {
				while (st->avail_in > 0 && *st->next_in == 0) {
					st->next_in++;
					st->avail_in--;
				}
				if (st->avail_in > 0)
					break;
				if (s->in_eof)
					return 0;
				if (src_read_in(s) < 0)
					return -1;
				st->next_in = s->in;
				st->avail_in = (uint32_t)s->in_len;
			}
			isal_inflate_reset(st);
			st->crc_flag = ISAL_GZIP;
		}
		if (st->avail_in == 0 && !s->in_eof) {
			if (src_read_in(s) < 0)
				return -1;
			st->next_in = s->in;
			st->avail_in = (uint32_t)s->in_len;
		}
		st->next_out = out;
		st->avail_out = (uint32_t)cap;
		r = isal_inflate(st);
		if (r != ISAL_DECOMP_OK)
			return err_set(&s->err, E_CORRUPT, "gzip: %s", isal_error_name(r));
		got = cap - st->avail_out;
		if (got > 0)
			return (ssize_t)got;
		if (st->block_state != ISAL_BLOCK_FINISH && st->avail_in == 0 && s->in_eof)
			return err_set(&s->err, E_CORRUPT,
			               "gzip: unexpected end of compressed data");
	}
}

/* Fills out with the next uncompressed bytes (0 at the end, -1 with s->err set), hashed and
 * counted against the bound. */
static ssize_t src_produce(struct src *s, uint8_t *out, size_t cap)
{
	ssize_t n;

	switch (s->kind) {
	case SRC_GZIP:
		n = src_gzip(s, out, cap);
		break;
	case SRC_ZSTD:
		n = archive_read_data(s->zin, out, cap);
		if (n < 0)
			err_set(&s->err, E_CORRUPT, "zstd: %s", archive_error_string(s->zin));
		break;
	default:
		if (s->in_pos < s->in_len) { /* what the sniff read */
			n = (ssize_t)(s->in_len - s->in_pos < cap ? s->in_len - s->in_pos : cap);
			memcpy(out, s->in + s->in_pos, (size_t)n);
			s->in_pos += (size_t)n;
			break;
		}
		do
			n = read(s->fd, out, cap);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			err_sys(&s->err, "read layer");
		break;
	}
	if (n <= 0)
		return n;
	hasher_update(s->h, out, (size_t)n);
	s->total += n;
	if (s->total > s->limit)
		return err_set(
		    &s->err, E_INVALID,
		    "uncompressed layer exceeds %lld bytes: refused as a decompression bomb",
		    (long long)s->limit);
	return n;
}

static void *src_producer(void *arg)
{
	struct src *s = arg;

	for (;;) {
		unsigned idx;
		ssize_t n;

		pthread_mutex_lock(&s->mu);
		while (s->count == NSLOT && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		idx = (s->head + s->count) % NSLOT;
		pthread_mutex_unlock(&s->mu);
		n = src_produce(s, s->slot[idx], SLOT_CAP);
		pthread_mutex_lock(&s->mu);
		if (n > 0) {
			s->slot_len[idx] = (size_t)n;
			s->count++;
		} else {
			s->eof = true;
			s->failed = n < 0;
		}
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		if (n <= 0)
			return NULL;
	}
}

/* The next uncompressed chunk for libarchive (0 at the end, -1 on failure: see layer_src_error).
 * The chunk stays valid until the next call. */
ssize_t layer_src_next(struct src *s, const void **buf)
{
	ssize_t n;

	if (!s->threaded) {
		if (s->failed || s->eof)
			return s->failed ? -1 : 0;
		n = src_produce(s, s->slot[0], SLOT_CAP);
		s->failed = n < 0;
		s->eof = n <= 0;
		*buf = s->slot[0];
		return n;
	}
	pthread_mutex_lock(&s->mu);
	if (s->held) {
		s->head = (s->head + 1) % NSLOT;
		s->count--;
		s->held = false;
		pthread_cond_broadcast(&s->cv);
	}
	while (s->count == 0 && !s->eof)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->count > 0) {
		*buf = s->slot[s->head];
		n = (ssize_t)s->slot_len[s->head];
		s->held = true;
	} else {
		n = s->failed ? -1 : 0;
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Whether the stream failed; copies why into e. */
bool layer_src_error(struct src *s, struct err *e)
{
	bool failed;

	pthread_mutex_lock(&s->mu);
	failed = s->failed;
	if (failed && e)
		*e = s->err;
	pthread_mutex_unlock(&s->mu);
	return failed;
}

la_ssize_t layer_tar_read_cb(struct archive *a, void *arg, const void **buf)
{
	struct src *s = arg;
	ssize_t n = layer_src_next(s, buf);
	struct err why = ERR_INIT;

	if (n < 0) {
		layer_src_error(s, &why);
		archive_set_error(a, EIO, "%s", why.msg);
		return -1;
	}
	return n;
}

/* Stops and joins the producer; afterwards s->h and s->total are the caller's. */
void layer_src_stop(struct src *s)
{
	if (!s->threaded)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	s->threaded = false;
}

void layer_src_release(struct src *s)
{
	unsigned i;

	layer_src_stop(s);
	if (s->zin)
		archive_read_free(s->zin);
	if (s->h)
		hasher_free(s->h);
	for (i = 0; i < NSLOT; i++)
		free(s->slot[i]);
	free(s->in);
	free(s->isal);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
}

int layer_src_open(struct src *s, int fd, int64_t limit, struct err *e)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->fd = fd;
	s->limit = limit;
	s->in = xmalloc(IN_CAP);
	s->h = hasher_new();
	for (i = 0; i < NSLOT; i++)
		s->slot[i] = xmalloc(SLOT_CAP);
	if (src_read_in(s) < 0) {
		*e = s->err;
		return -1;
	}
	if (s->in_len >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
		s->kind = SRC_GZIP;
		if (isal_dl_require(e) < 0)
			return -1;
		s->isal = xmalloc(sizeof(*s->isal));
		isal_inflate_init(s->isal);
		s->isal->crc_flag = ISAL_GZIP;
		s->isal->next_in = s->in;
		s->isal->avail_in = (uint32_t)s->in_len;
	} else if (s->in_len >= 4 && s->in[0] == 0x28 && s->in[1] == 0xb5 && s->in[2] == 0x2f &&
	           s->in[3] == 0xfd) {
		struct archive_entry *ae;

		s->kind = SRC_ZSTD;
		if (archive_dl_require(e) < 0)
			return -1;
		s->zin = archive_read_new();
		if (!s->zin)
			return err_set(e, E_IO, "libarchive: out of memory");
		if (archive_read_support_filter_zstd(s->zin) != ARCHIVE_OK ||
		    archive_read_support_format_raw(s->zin) != ARCHIVE_OK)
			return err_set(e, E_UNSUPPORTED, "zstd: %s", archive_error_string(s->zin));
		if (archive_read_open(s->zin, s, NULL, zin_read_cb, NULL) != ARCHIVE_OK ||
		    archive_read_next_header(s->zin, &ae) != ARCHIVE_OK)
			return err_set(e, E_CORRUPT, "zstd: %s", archive_error_string(s->zin));
	} else {
		s->kind = SRC_PLAIN;
	}
	/* Without a thread the same work runs inline, one chunk at a time. */
	s->threaded = pthread_create(&s->th, NULL, src_producer, s) == 0;
	return 0;
}

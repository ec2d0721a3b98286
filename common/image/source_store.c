/* common/image/source_store.c - the blobs of an offline image source copied into the content
 * store (DESIGN.md "pull": offline sources; "Content is the truth and is verified"): small
 * documents verified and committed whole, layers streamed into ingests from a layout's
 * blobs/sha256, from memory, or in one last pass over the archive. Internal to the offline
 * sources: the formats are in source.c, the reading of files and archive members in
 * source_archive.c, the shared declarations in source_int.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/image/source.h"
#include "common/image/source_int.h"
#include "common/store/blob.h"
#include "common/util/mem.h"

#define COPY_CHUNK (1 << 20)

/* Where a copy reads from: a file, the current archive member, or memory. */
struct copy_in {
	int fd;
	struct archive *a;
	const char *mem;
	size_t len, off;
};

static void progress_of(const struct src *s, const struct digest *d, int64_t done, int64_t total)
{
	if (s->progress)
		s->progress(s->arg, d, done, total);
}
static ssize_t copy_read(struct copy_in *in, void *buf, size_t n, struct err *e)
{
	if (in->a) {
		la_ssize_t r = archive_read_data(in->a, buf, n);

		if (r < 0)
			return err_set(e, E_CORRUPT, "%s", archive_error_string(in->a));
		return r;
	}
	if (in->fd >= 0) {
		for (;;) {
			ssize_t r = read(in->fd, buf, n);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return err_sys(e, "read");
			return r;
		}
	}
	if (n > in->len - in->off)
		n = in->len - in->off;
	memcpy(buf, in->mem + in->off, n);
	in->off += n;
	return (ssize_t)n;
}
/* ---- the store --------------------------------------------------------------------------- */

/* Streams one blob into its ingest; a blob already committed is skipped. */
static int stream_blob(struct src *s, const struct digest *d, int64_t size, struct copy_in *in,
                       struct err *e)
{
	cleanup_free char *buf = NULL;
	struct ingest ing = {.fd = -1, .lock_fd = -1};
	struct err oe = ERR_INIT;

	if (ingest_open(s->ctx, d, size, -1, &ing, &oe) < 0) {
		if (oe.code == E_EXISTS) {
			progress_of(s, d, size, size);
			return 0;
		}
		*e = oe;
		return -1;
	}
	/* A partial from an interrupted import: the source starts at 0 again. */
	if (ing.offset > 0 && ingest_restart(&ing, e) < 0) {
		ingest_abort(&ing);
		return -1;
	}
	progress_of(s, d, 0, size);
	buf = xmalloc(COPY_CHUNK);
	for (;;) {
		ssize_t r = copy_read(in, buf, COPY_CHUNK, e);

		if (r < 0) {
			ingest_abort(&ing);
			return -1;
		}
		if (r == 0)
			break;
		if (ingest_write(&ing, buf, (size_t)r, e) < 0) {
			ingest_abort(&ing);
			return -1;
		}
		progress_of(s, d, ing.offset, size);
	}
	if (ingest_commit(&ing, e) < 0)
		return -1;
	s->committed += size;
	return 0;
}

/* Commits a small blob verified by the caller. */
int source_put_small(struct src *s, const struct digest *d, const char *data, size_t len,
                     struct err *e)
{
	struct err se = ERR_INIT;
	int64_t have;

	if (blob_stat(s->ctx, d, &have, &se) < 0) {
		if (blob_put(s->ctx, d, data, len, e) < 0)
			return -1;
		s->committed += (int64_t)len;
	}
	progress_of(s, d, (int64_t)len, (int64_t)len);
	return 0;
}

static int verify(const struct digest *d, int64_t size, const char *data, size_t len, struct err *e)
{
	struct digest got;

	if ((int64_t)len != size)
		return err_set(e, E_CORRUPT,
		               "sha256:%s: size mismatch: got %zu bytes, expected %lld", d->hex,
		               len, (long long)size);
	digest_of(data, len, &got);
	if (!digest_equal(&got, d))
		return err_set(e, E_CORRUPT, "sha256:%s: digest mismatch: got sha256:%s", d->hex,
		               got.hex);
	return 0;
}

/* A blob an OCI document names, read whole (at most max bytes) and verified. */
int source_oci_blob_read(struct src *s, const struct descriptor *d, size_t max, char **out,
                         size_t *len, struct err *e)
{
	cleanup_free char *data = NULL;
	size_t n = 0;

	if ((uint64_t)d->size > max)
		return err_set(e, E_INVALID, "sha256:%s: %lld bytes, limit %zu", d->digest.hex,
		               (long long)d->size, max);
	if (s->dirfd >= 0) {
		cleanup_free char *label = xasprintf("blobs/sha256/%s", d->digest.hex);
		cleanup_close int fd = source_open_regular(s->shafd, d->digest.hex, label, NULL, e);

		if (fd < 0 || source_read_fd_bounded(fd, label, max, &data, &n, e) < 0)
			return -1;
	} else {
		cleanup_free char *name = xasprintf("blobs/sha256/%s", d->digest.hex);

		if (source_member_read(s, name, max, &data, &n, e) < 0)
			return -1;
	}
	if (verify(&d->digest, d->size, data, n, e) < 0)
		return -1;
	*out = TAKE_PTR(data);
	*len = n;
	return 0;
}

/* Streams every wanted blob into the store: from the layout, from memory, or in one last pass
 * over the archive for those neither committed already nor kept in memory. */
static int want_find(struct want *w, size_t n, const char *member)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!w[i].done && !strcmp(w[i].member, member))
			return (int)i;
	return -1;
}

struct wants {
	struct want *w;
	size_t n;
};

static int stream_visit(struct src *s, struct archive *a, struct archive_entry *ent,
                        const char *name, void *arg, struct err *e)
{
	struct wants *ws = arg;
	struct want *w = ws->w;
	struct copy_in in = {.fd = -1, .a = a};
	int i;

	if (!name || archive_entry_filetype(ent) != AE_IFREG || archive_entry_hardlink(ent))
		return 0;
	i = want_find(w, ws->n, name);
	if (i < 0)
		return 0;
	if (stream_blob(s, &w[i].d, w[i].size, &in, e) < 0)
		return err_wrap(e, "%s", w[i].what);
	w[i].done = true;
	return 0;
}

int source_stream_all(struct src *s, struct want *w, size_t n, struct err *e)
{
	size_t i, pending = 0;

	for (i = 0; i < n; i++) {
		struct err se = ERR_INIT;
		int64_t have;

		if (w[i].done)
			continue;
		if (blob_stat(s->ctx, &w[i].d, &have, &se) == 0) {
			progress_of(s, &w[i].d, w[i].size, w[i].size);
			w[i].done = true;
			continue;
		}
		if (s->dirfd >= 0) {
			cleanup_free char *label = xasprintf("blobs/sha256/%s", w[i].d.hex);
			cleanup_close int fd = -1;
			struct copy_in in = {.fd = -1};
			int64_t size = -1;

			fd = source_open_regular(s->shafd, w[i].d.hex, label, &size, e);
			if (fd < 0)
				return err_wrap(e, "%s", w[i].what);
			if (size != w[i].size)
				return err_set(
				    e, E_CORRUPT,
				    "%s: sha256:%s: size mismatch: %lld bytes, expected %lld",
				    w[i].what, w[i].d.hex, (long long)size, (long long)w[i].size);
			in.fd = fd;
			if (stream_blob(s, &w[i].d, w[i].size, &in, e) < 0)
				return err_wrap(e, "%s", w[i].what);
			w[i].done = true;
			continue;
		}
		{
			const struct member *m = NULL;

			/* Resolved when the wants were built; the data may be in memory. */
			if (source_member_resolve(s, w[i].member, &m, e) < 0)
				return err_wrap(e, "%s", w[i].what);
			if (m->data) {
				struct copy_in in = {
				    .fd = -1, .mem = m->data, .len = (size_t)m->size};

				if (stream_blob(s, &w[i].d, w[i].size, &in, e) < 0)
					return err_wrap(e, "%s", w[i].what);
				w[i].done = true;
				continue;
			}
		}
		pending++;
	}
	if (pending) {
		struct wants ws = {w, n};

		if (source_archive_walk(s, stream_visit, &ws, e) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (!w[i].done)
				return err_set(e, E_CORRUPT, "%s: %s: changed while being read",
				               w[i].what, w[i].member);
	}
	return 0;
}

void source_wants_free(struct want *w, size_t n)
{
	size_t i;

	for (i = 0; w && i < n; i++)
		free(w[i].what);
	free(w);
}

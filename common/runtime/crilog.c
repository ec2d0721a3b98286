/* common/runtime/crilog.c - the container log in the CRI logging format, written by the shim and
 * rotated by size (DESIGN.md "run": ROOT/containers/<id>/log). Each record goes out in one
 * O_APPEND write, so a lock-free reader never sees half a record. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/runtime/crilog.h"
#include "common/util/buf.h"
#include "common/util/fs.h"
#include "common/util/mem.h"
#include "common/util/units.h"

struct crilog {
	int fd;
	char *path;
	int64_t max_bytes;
	int max_files;
	int64_t size;          /* bytes in the current file */
	struct buf pending[2]; /* an unfinished line per stream */
	struct buf out;        /* records formatted, not yet written */
};

static const char *const stream_names[] = {[CRILOG_STDOUT] = "stdout", [CRILOG_STDERR] = "stderr"};

static int log_reopen(struct crilog *l, struct err *e)
{
	struct stat st;
	int fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);

	if (fd < 0)
		return err_sys(e, "open %s", l->path);
	if (fstat(fd, &st) < 0) {
		err_sys(e, "stat %s", l->path);
		close(fd);
		return -1;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	l->size = st.st_size;
	return 0;
}

/* log.N-1 -> log.N ... log -> log.1, then a fresh log. The oldest file is overwritten by the
 * rename, so at most max_files rotated files remain. */
static int log_rotate(struct crilog *l, struct err *e)
{
	for (int i = l->max_files; i >= 1; i--) {
		cleanup_free char *from =
		    i == 1 ? xstrdup(l->path) : xasprintf("%s.%d", l->path, i - 1);
		cleanup_free char *to = xasprintf("%s.%d", l->path, i);

		if (rename(from, to) < 0 && errno != ENOENT)
			return err_sys(e, "rename %s", from);
	}
	return log_reopen(l, e);
}

static int out_flush(struct crilog *l, struct err *e)
{
	if (l->out.len == 0)
		return 0;
	if (fs_write_all(l->fd, l->out.data, l->out.len, e) < 0)
		return err_wrap(e, "write %s", l->path);
	l->size += (int64_t)l->out.len;
	buf_reset(&l->out);
	return 0;
}

/* Formats one record, rotating first when it would push the file past max_bytes (a file that is
 * still empty takes the record whatever its size, so rotation always makes progress). */
static int emit(struct crilog *l, enum crilog_stream s, int64_t now_ns, bool partial,
                const char *msg, size_t len, struct err *e)
{
	char ts[UNITS_BUFSZ];
	size_t reclen;

	units_format_rfc3339(now_ns, true, ts, sizeof(ts));
	reclen = strlen(ts) + 1 + strlen(stream_names[s]) + 3 + len + 1;
	if (l->max_files > 0 && l->max_bytes > 0 && l->size + (int64_t)l->out.len > 0 &&
	    l->size + (int64_t)(l->out.len + reclen) > l->max_bytes) {
		if (out_flush(l, e) < 0 || log_rotate(l, e) < 0)
			return -1;
	}
	buf_printf(&l->out, "%s %s %c ", ts, stream_names[s], partial ? 'P' : 'F');
	buf_add(&l->out, msg, len);
	buf_addc(&l->out, '\n');
	return 0;
}

/* Drops the first n bytes of a pending line buffer. */
static void pending_consume(struct buf *p, size_t n)
{
	if (n == 0)
		return;
	memmove(p->data, p->data + n, p->len - n);
	p->len -= n;
	p->data[p->len] = '\0';
}

int crilog_open(const char *path, int64_t max_bytes, int max_files, struct crilog **out,
                struct err *e)
{
	struct crilog *l = xcalloc(1, sizeof(*l));

	l->fd = -1;
	l->path = xstrdup(path);
	l->max_bytes = max_bytes;
	l->max_files = max_files < 0 ? 0 : max_files;
	if (log_reopen(l, e) < 0) {
		crilog_close(l);
		return -1;
	}
	*out = l;
	return 0;
}

int crilog_write(struct crilog *l, enum crilog_stream s, int64_t now_ns, const void *data,
                 size_t len, struct err *e)
{
	struct buf *p;
	size_t off = 0;

	if ((unsigned)s > CRILOG_STDERR)
		return err_set(e, E_INVALID, "log stream %d", (int)s);
	p = &l->pending[s];
	buf_add(p, data, len);
	while (off < p->len) {
		size_t avail = p->len - off;
		size_t scan = avail > CRILOG_LINE_MAX ? CRILOG_LINE_MAX + 1 : avail;
		const char *nl = memchr(p->data + off, '\n', scan);

		if (nl) {
			size_t n = (size_t)(nl - (p->data + off));

			if (emit(l, s, now_ns, false, p->data + off, n, e) < 0)
				goto fail;
			off += n + 1;
		} else if (avail > CRILOG_LINE_MAX) {
			if (emit(l, s, now_ns, true, p->data + off, CRILOG_LINE_MAX, e) < 0)
				goto fail;
			off += CRILOG_LINE_MAX;
		} else {
			break;
		}
	}
	pending_consume(p, off);
	return out_flush(l, e);
fail:
	/* The records not yet written are dropped with the error; the unconsumed rest stays
	 * pending for the next write. */
	pending_consume(p, off);
	buf_reset(&l->out);
	return -1;
}

int crilog_flush(struct crilog *l, int64_t now_ns, struct err *e)
{
	for (int s = CRILOG_STDOUT; s <= CRILOG_STDERR; s++) {
		struct buf *p = &l->pending[s];

		if (p->len == 0)
			continue;
		if (emit(l, (enum crilog_stream)s, now_ns, true, p->data, p->len, e) < 0)
			return -1;
		buf_reset(p);
	}
	return out_flush(l, e);
}

void crilog_close(struct crilog *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	buf_release(&l->pending[0]);
	buf_release(&l->pending[1]);
	buf_release(&l->out);
	free(l->path);
	free(l);
}

int crilog_parse(const char *line, size_t len, struct crilog_record *out, struct err *e)
{
	struct crilog_record r = {0};
	const char *end = line + len, *p, *sp;
	char ts[64];
	size_t n;

	sp = memchr(line, ' ', len);
	if (!sp || (n = (size_t)(sp - line)) == 0 || n >= sizeof(ts))
		return err_set(e, E_CORRUPT, "log record: no timestamp");
	memcpy(ts, line, n);
	ts[n] = '\0';
	if (units_parse_rfc3339(ts, &r.time_ns, NULL) < 0)
		return err_set(e, E_CORRUPT, "log record: bad timestamp \"%s\"", ts);
	p = sp + 1;
	if ((size_t)(end - p) >= 7 && memcmp(p, "stdout ", 7) == 0)
		r.stream = CRILOG_STDOUT;
	else if ((size_t)(end - p) >= 7 && memcmp(p, "stderr ", 7) == 0)
		r.stream = CRILOG_STDERR;
	else
		return err_set(e, E_CORRUPT, "log record: stream is not stdout or stderr");
	p += 7;
	if (p >= end || (*p != 'F' && *p != 'P') || (p + 1 < end && p[1] != ' '))
		return err_set(e, E_CORRUPT, "log record: tag is not F or P");
	r.partial = *p == 'P';
	p++;
	if (p < end)
		p++; /* the space before the message; an empty message may lose it */
	r.msg = p;
	r.msg_len = (size_t)(end - p);
	*out = r;
	return 0;
}

/* common/runtime/logread.c - reading and following a container's CRI log for `logs` (DESIGN.md
 * "run": logs [-f]). The rotated files are opened newest first (a file seen twice through a
 * concurrent rotation is read once), then read oldest first; following keeps the current
 * file's descriptor, so the end of a file rotated away is still read before the new one. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/runtime/lifecycle.h"
#include "common/runtime/logread.h"
#include "common/store/container_record.h"
#include "common/store/layout.h"
#include "common/util/buf.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define READ_CHUNK     65536
#define JOINED_MAX     (1 << 20) /* a line longer than this is passed on in pieces */
#define FOLLOW_TICK_MS 250

struct held {
	int64_t time_ns;
	enum crilog_stream stream;
	char *msg;
	size_t len;
	bool complete;
};

struct reader {
	const struct ctx *ctx;
	const struct logread_opts *o;
	logread_fn fn;
	void *arg;
	struct buf pending;   /* bytes of a record whose newline has not been read yet */
	struct buf joined[2]; /* per stream: P records waiting for the F that ends them */
	int64_t joined_time[2];
	bool tailing; /* still reading what was there: lines go to the ring */
	struct held *ring;
	size_t ring_cap, ring_n, ring_head;
	size_t bad; /* lines that were not CRI records */
};

static void held_release(struct held *h)
{
	free(h->msg);
	*h = (struct held){0};
}

static int deliver(struct reader *r, int64_t time_ns, enum crilog_stream s, const char *msg,
                   size_t len, bool complete, struct err *e)
{
	struct logread_line l = {time_ns, s, msg, len, complete};
	struct held *h;

	if (r->o->since_ns && time_ns < r->o->since_ns)
		return 0;
	if (!r->tailing)
		return r->fn(r->arg, &l, e);
	if (r->o->tail == 0)
		return 0;
	/* The ring grows up to --tail entries, then the oldest is overwritten. */
	if (r->ring_n < (size_t)r->o->tail && r->ring_n == r->ring_cap) {
		size_t cap = r->ring_cap ? r->ring_cap * 2 : 64;

		if (cap > (size_t)r->o->tail)
			cap = (size_t)r->o->tail;
		r->ring = xreallocarray(r->ring, cap, sizeof(*r->ring));
		memset(r->ring + r->ring_cap, 0, (cap - r->ring_cap) * sizeof(*r->ring));
		r->ring_cap = cap;
	}
	if (r->ring_n < r->ring_cap) {
		h = &r->ring[(r->ring_head + r->ring_n) % r->ring_cap];
		r->ring_n++;
	} else {
		h = &r->ring[r->ring_head];
		r->ring_head = (r->ring_head + 1) % r->ring_cap;
		held_release(h);
	}
	*h = (struct held){time_ns, s, xmalloc(len + 1), len, complete};
	memcpy(h->msg, msg, len);
	return 0;
}

/* The end of the initial read: the held lines go out oldest first (unless send is false: an
 * error stopped the read), and from now on lines go out directly. */
static int ring_flush(struct reader *r, bool send, struct err *e)
{
	int rc = send ? 0 : -1;

	r->tailing = false;
	for (size_t i = 0; i < r->ring_n; i++) {
		struct held *h = &r->ring[(r->ring_head + i) % r->ring_cap];
		struct logread_line l = {h->time_ns, h->stream, h->msg, h->len, h->complete};

		if (rc == 0)
			rc = r->fn(r->arg, &l, e);
		held_release(h);
	}
	free(r->ring);
	r->ring = NULL;
	r->ring_n = r->ring_cap = r->ring_head = 0;
	return rc;
}

static int record(struct reader *r, const char *line, size_t len, struct err *e)
{
	struct crilog_record rec;
	struct buf *j;
	int rc;

	if (crilog_parse(line, len, &rec, NULL) < 0) {
		r->bad++;
		return 0;
	}
	j = &r->joined[rec.stream];
	if (!rec.partial && j->len == 0)
		return deliver(r, rec.time_ns, rec.stream, rec.msg, rec.msg_len, true, e);
	if (j->len == 0)
		r->joined_time[rec.stream] = rec.time_ns;
	buf_add(j, rec.msg, rec.msg_len);
	if (!rec.partial || j->len >= JOINED_MAX) {
		rc = deliver(r, r->joined_time[rec.stream], rec.stream, j->data, j->len,
		             !rec.partial, e);
		buf_reset(j);
		return rc;
	}
	return 0;
}

/* Splits what was read into records; an unfinished record stays pending. */
static int feed(struct reader *r, const char *data, size_t len, struct err *e)
{
	size_t off = 0;

	buf_add(&r->pending, data, len);
	for (;;) {
		char *nl = memchr(r->pending.data + off, '\n', r->pending.len - off);

		if (!nl)
			break;
		if (record(r, r->pending.data + off, (size_t)(nl - (r->pending.data + off)), e) < 0)
			return -1;
		off = (size_t)(nl - r->pending.data) + 1;
	}
	if (off) {
		memmove(r->pending.data, r->pending.data + off, r->pending.len - off);
		r->pending.len -= off;
		r->pending.data[r->pending.len] = '\0';
	}
	return 0;
}

static int drain(struct reader *r, int fd, struct err *e)
{
	char chunk[READ_CHUNK];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, "read log");
		if (n == 0)
			return 0;
		if (feed(r, chunk, (size_t)n, e) < 0)
			return -1;
	}
}

/* A file is done (rotated away, or not the live one): a record it ends inside is torn. */
static void file_done(struct reader *r)
{
	if (r->pending.len) {
		r->bad++;
		buf_reset(&r->pending);
	}
}

static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Reads everything there is: log.N .. log.1 then log, whose descriptor is kept in *cur (-1
 * when there is no log yet). */
static int read_existing(struct reader *r, const char *path, int *cur, struct err *e)
{
	int fds[LOGREAD_FILES_MAX + 1];
	struct stat seen[LOGREAD_FILES_MAX + 1];
	int n = 0, rc = 0, i;

	for (i = 0; i <= LOGREAD_FILES_MAX; i++) {
		cleanup_free char *p = i == 0 ? xstrdup(path) : xasprintf("%s.%d", path, i);
		int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		bool dup = false;

		if (fd < 0 && errno == ENOENT && i > 0)
			break;
		if (fd < 0 && errno != ENOENT) {
			rc = err_sys(e, "open %s", p);
			break;
		}
		if (fd >= 0 && fstat(fd, &seen[n]) == 0)
			for (int k = 0; k < n; k++)
				dup |= fds[k] >= 0 && seen[k].st_ino == seen[n].st_ino &&
				       seen[k].st_dev == seen[n].st_dev;
		if (dup) {
			close(fd);
			fd = -1;
		}
		fds[n++] = fd;
	}
	for (i = n - 1; i >= 0 && rc == 0; i--) {
		if (fds[i] < 0)
			continue;
		rc = drain(r, fds[i], e);
		if (i > 0)
			file_done(r);
	}
	for (i = rc == 0 ? 1 : 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	*cur = rc == 0 && n > 0 ? fds[0] : -1;
	return rc;
}

/* Whether the container can still write to its log: not when it is gone, exited, never got
 * a state (a reboot), or its init and shim are both dead (nobody will record the exit). */
static bool still_running(const struct ctx *ctx, const char *id)
{
	cleanup_free char *doc = container_doc_path(ctx, id);
	struct container_state st = {0};
	struct err e = ERR_INIT;
	uint64_t start = 0;

	if (!fs_exists(doc) || container_state_load(ctx, id, &st, &e) < 0)
		return false;
	switch (st.status) {
	case STATUS_CREATED:
		return true;
	case STATUS_STOPPED:
		return false;
	default:
		break;
	}
	if (rt_proc_start_time(ctx, st.pid, &start, &e) == 0 &&
	    (!st.pid_start_time || start == st.pid_start_time))
		return true;
	err_clear(&e);
	return st.shim_pid > 0 && rt_proc_start_time(ctx, st.shim_pid, &start, &e) == 0 &&
	       (!st.shim_start_time || start == st.shim_start_time);
}

/* One round of following: finish the current file if it was rotated away, then read on. */
static int follow_step(struct reader *r, const char *path, int *cur, struct err *e)
{
	if (*cur >= 0 && !same_file(*cur, path) && fs_exists(path)) {
		int k;

		if (drain(r, *cur, e) < 0)
			return -1;
		file_done(r);
		/* Rotated more than once since the last look: the files between ours (now
		 * log.K) and the new log are read too. */
		for (k = 1; k <= LOGREAD_FILES_MAX; k++) {
			cleanup_free char *p = xasprintf("%s.%d", path, k);

			if (same_file(*cur, p) || !fs_exists(p))
				break;
		}
		close(*cur);
		*cur = -1;
		for (k--; k >= 1; k--) {
			cleanup_free char *p = xasprintf("%s.%d", path, k);
			cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

			if (fd < 0)
				continue;
			if (drain(r, fd, e) < 0)
				return -1;
			file_done(r);
		}
	}
	if (*cur < 0) {
		*cur = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (*cur < 0)
			return errno == ENOENT ? 0 : err_sys(e, "open %s", path);
	}
	return drain(r, *cur, e);
}

static int follow(struct reader *r, const char *id, const char *path, int *cur,
                  volatile sig_atomic_t *stop, struct err *e)
{
	cleanup_close int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	cleanup_free char *dir = store_container_dir(r->ctx, id);
	cleanup_free char *sdir = store_container_state_dir(r->ctx, id);
	char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	if (in < 0)
		return err_sys(e, "inotify");
	if (inotify_add_watch(
	        in, dir, IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF) < 0)
		return err_sys(e, "watch %s", dir);
	/* state.json is replaced by rename: the exit is noticed at once, not at the next tick. */
	inotify_add_watch(in, sdir, IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF);
	for (;;) {
		/* Checked before the read, so what the container wrote before exiting is read. */
		bool done = (stop && *stop) || !still_running(r->ctx, id);
		struct pollfd pfd = {.fd = in, .events = POLLIN};

		if (follow_step(r, path, cur, e) < 0)
			return -1;
		if (done)
			return 0;
		if (poll(&pfd, 1, FOLLOW_TICK_MS) < 0 && errno != EINTR)
			return err_sys(e, "poll");
		while (read(in, events, sizeof(events)) > 0)
			;
	}
}

char *logread_path(const struct ctx *ctx, const char *id)
{
	cleanup_free char *dir = store_container_dir(ctx, id);

	return path_join(dir, "log");
}

int logread_run(const struct ctx *ctx, const char *id, const struct logread_opts *o, logread_fn fn,
                void *arg, volatile sig_atomic_t *stop, struct err *e)
{
	cleanup_free char *path = logread_path(ctx, id);
	struct reader r = {.ctx = ctx, .o = o, .fn = fn, .arg = arg, .tailing = o->tail >= 0};
	cleanup_close int cur = -1;
	int rc;

	rc = read_existing(&r, path, &cur, e);
	if (ring_flush(&r, rc == 0, e) < 0)
		rc = -1;
	if (rc == 0 && o->follow)
		rc = follow(&r, id, path, &cur, stop, e);
	/* A line the log ends inside (the container exited mid-line) is passed on as it is. */
	for (int s = CRILOG_STDOUT; rc == 0 && s <= CRILOG_STDERR; s++)
		if (r.joined[s].len)
			rc = deliver(&r, r.joined_time[s], (enum crilog_stream)s, r.joined[s].data,
			             r.joined[s].len, false, e);
	if (r.bad)
		log_warn(ctx, "%s: skipped %zu lines that are not CRI log records", path, r.bad);
	buf_release(&r.pending);
	buf_release(&r.joined[0]);
	buf_release(&r.joined[1]);
	return rc;
}

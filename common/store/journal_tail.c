/* common/store/journal_tail.c - following the event journal across rotation (DESIGN.md lesson 4,
 * issue 7 "events --follow" and "--sink"). journal.c renames the active file to the next
 * journal.jsonl.<N> and a new active file appears with the next append; the tail keeps the old
 * inode open, reads it to its end once it is no longer the newest file, then opens the file that
 * follows it in the listing, checking by device and inode that it opened what it listed. It reads
 * with pread at its own offset, so that offset is exactly what a cursor needs. No lock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/store/journal_tail.h"
#include "common/store/layout.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

/* journal.c's names: the active file and rotated ones with a growing number. */
#define ACTIVE_NAME "journal.jsonl"
#define TAIL_BUFSZ  (64 * 1024)
#define OPEN_TRIES  100 /* a file listed, then rotated or pruned before we opened it */
/* A writer opens the active file and then writes: if a rotation renames the file in between,
 * its line lands in the rotated file. The tail leaves a rotated file only once it has been quiet
 * (mtime) this long after the tail read it to its end, so such late lines are read, not lost. */
#define QUIET_NS (250 * 1000000LL)

struct journal_tail {
	char *dir;
	int fd; /* the file being read, or -1 before the first */
	uint64_t dev, ino;
	int64_t off; /* the file offset of buf[bstart]: just after the last line consumed */
	char *buf;
	size_t bstart, bend;
	bool draining;   /* the file is no longer the newest: read to its end, then move on */
	int64_t drain_mtime; /* its mtime, taken before that last read */
	int64_t wait_until;  /* CLOCK_REALTIME: journal_tail_wait wakes by then to move on */
	bool discarding; /* inside a line longer than the buffer */
	bool snapshot;   /* JOURNAL_TAIL_SNAPSHOT: leave a rotated file at its end, no quiet wait */
	uint64_t skipped;
	int ifd; /* inotify, or -1 */
};

struct tail_file {
	unsigned long long n; /* rotated number; ULLONG_MAX for the active file */
	char *path;
	struct stat st;
};

static void files_free(struct tail_file *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

static int file_cmp(const void *a, const void *b)
{
	const struct tail_file *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

/* Every journal file in reading order: rotated ones by number, then the active one. A missing
 * directory is an empty list. (journal.c keeps its own listing private.) */
static int files_list(const char *dir, struct tail_file **out, size_t *n, struct err *e)
{
	DIR *d = opendir(dir);
	struct tail_file *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : err_sys(e, "%s", dir);
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		unsigned long long num = ~0ULL;
		char *end;

		if (strcmp(s, ACTIVE_NAME) != 0) {
			if (strncmp(s, ACTIVE_NAME ".", sizeof(ACTIVE_NAME)) != 0)
				continue;
			s += sizeof(ACTIVE_NAME);
			if (*s < '0' || *s > '9')
				continue;
			num = strtoull(s, &end, 10);
			if (*end || num == ~0ULL)
				continue;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[cnt].n = num;
		v[cnt].path = path_join(dir, de->d_name);
		if (stat(v[cnt].path, &v[cnt].st) < 0) {
			free(v[cnt].path);
			continue; /* pruned meanwhile */
		}
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), file_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

static bool same_file(const struct stat *st, uint64_t dev, uint64_t ino)
{
	return (uint64_t)st->st_dev == dev && (uint64_t)st->st_ino == ino;
}

/* Index of the tail's current file in v, or -1. */
static ssize_t files_find(const struct tail_file *v, size_t n, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (same_file(&v[i].st, dev, ino))
			return (ssize_t)i;
	return -1;
}

/* Opens f and checks it is still the file that was listed. 1 opened, 0 it changed, -1 error. */
static int file_open_checked(const struct tail_file *f, int *fd_out, struct stat *st,
                             struct err *e)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(e, "%s", f->path);
	if (fstat(fd, st) < 0) {
		close(fd);
		return err_sys(e, "%s", f->path);
	}
	if (!same_file(st, (uint64_t)f->st.st_dev, (uint64_t)f->st.st_ino)) {
		close(fd);
		return 0;
	}
	*fd_out = fd;
	return 1;
}

static void tail_set_file(struct journal_tail *t, int fd, const struct stat *st, int64_t off)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->bend > t->bstart && !t->discarding)
		t->skipped++; /* a last line that never got its newline */
	t->fd = fd;
	t->dev = (uint64_t)st->st_dev;
	t->ino = (uint64_t)st->st_ino;
	t->off = off;
	t->bstart = t->bend = 0;
	t->draining = t->discarding = false;
}

/* Moves to the file after the current one (the oldest when there is none, or when the current
 * one was pruned: retention removes the oldest first). 1 moved, 0 nothing newer yet. */
static int tail_advance(struct journal_tail *t, struct err *e)
{
	for (int tries = 0; tries < OPEN_TRIES; tries++) {
		struct tail_file *v = NULL;
		size_t n = 0, next = 0;
		struct stat st = {0};
		int fd = -1, r;

		if (files_list(t->dir, &v, &n, e) < 0)
			return -1;
		if (t->fd >= 0) {
			ssize_t i = files_find(v, n, t->dev, t->ino);

			next = i < 0 ? 0 : (size_t)i + 1;
		}
		if (next >= n) {
			files_free(v, n);
			return 0;
		}
		r = file_open_checked(&v[next], &fd, &st, e);
		files_free(v, n);
		if (r < 0)
			return -1;
		if (r > 0) {
			tail_set_file(t, fd, &st, 0);
			return 1;
		}
	}
	return err_set(e, E_BUSY, "%s: the journal keeps changing under the reader", t->dir);
}

/* True when the current file is the newest journal file (nothing follows it yet). */
static int tail_is_newest(struct journal_tail *t, struct err *e)
{
	cleanup_free char *active = path_join(t->dir, ACTIVE_NAME);
	struct tail_file *v = NULL;
	size_t n = 0;
	struct stat st = {0};
	bool newest;

	if (stat(active, &st) == 0)
		return same_file(&st, t->dev, t->ino);
	if (errno != ENOENT)
		return err_sys(e, "%s", active);
	/* Just rotated, nothing appended since: the newest rotated file is the last one. */
	if (files_list(t->dir, &v, &n, e) < 0)
		return -1;
	newest = n == 0 || same_file(&v[n - 1].st, t->dev, t->ino);
	files_free(v, n);
	return newest;
}

static struct journal_tail *tail_new(const struct ctx *ctx)
{
	struct journal_tail *t = xcalloc(1, sizeof(*t));

	t->dir = store_events_dir(ctx);
	t->fd = -1;
	t->ifd = -1;
	t->buf = xmalloc(TAIL_BUFSZ);
	return t;
}

static int tail_watch(struct journal_tail *t, unsigned flags, struct err *e)
{
	t->snapshot = flags & JOURNAL_TAIL_SNAPSHOT;
	if (!(flags & JOURNAL_TAIL_WATCH))
		return 0;
	if (fs_mkdir_p(t->dir, 0700, e) < 0)
		return -1;
	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ifd < 0)
		return err_sys(e, "inotify");
	if (inotify_add_watch(t->ifd, t->dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
		return err_sys(e, "inotify %s", t->dir);
	return 0;
}

int journal_tail_open(const struct ctx *ctx, enum journal_tail_start start, unsigned flags,
                      struct journal_tail **out, struct err *e)
{
	struct journal_tail *t = tail_new(ctx);

	if (tail_watch(t, flags, e) < 0)
		goto fail;
	for (int tries = 0; start == JOURNAL_TAIL_END && tries < OPEN_TRIES; tries++) {
		struct tail_file *v = NULL;
		size_t n = 0;
		struct stat st = {0};
		int fd = -1, r;

		if (files_list(t->dir, &v, &n, e) < 0)
			goto fail;
		if (n == 0) {
			files_free(v, n);
			break; /* no journal yet: the first file to appear is read from its start */
		}
		r = file_open_checked(&v[n - 1], &fd, &st, e);
		files_free(v, n);
		if (r < 0)
			goto fail;
		if (r > 0) {
			tail_set_file(t, fd, &st, st.st_size);
			break;
		}
	}
	*out = t;
	return 0;
fail:
	journal_tail_free(t);
	return -1;
}

/* True when off is 0 or just after a newline in fd. */
static bool at_line_start(int fd, int64_t off)
{
	char c;

	return off == 0 || (pread(fd, &c, 1, off - 1) == 1 && c == '\n');
}

int journal_tail_open_at(const struct ctx *ctx, const struct journal_pos *pos, unsigned flags,
                         bool *resumed, struct journal_tail **out, struct err *e)
{
	struct journal_tail *t = tail_new(ctx);
	bool found = false;

	if (tail_watch(t, flags, e) < 0)
		goto fail;
	for (int tries = 0; pos->ino && tries < OPEN_TRIES; tries++) {
		struct tail_file *v = NULL;
		size_t n = 0;
		struct stat st = {0};
		ssize_t i;
		int fd = -1, r;

		if (files_list(t->dir, &v, &n, e) < 0)
			goto fail;
		i = files_find(v, n, pos->dev, pos->ino);
		r = i < 0 ? 1 : file_open_checked(&v[i], &fd, &st, e);
		files_free(v, n);
		if (r < 0)
			goto fail;
		if (r == 0)
			continue; /* pruned between listing and opening */
		if (fd >= 0 && pos->offset >= 0 && pos->offset <= st.st_size &&
		    at_line_start(fd, pos->offset)) {
			tail_set_file(t, fd, &st, pos->offset);
			found = true;
		} else if (fd >= 0) {
			close(fd);
		}
		break;
	}
	*resumed = found;
	*out = t;
	return 0;
fail:
	journal_tail_free(t);
	return -1;
}

int journal_tail_next_line(struct journal_tail *t, const char **out, size_t *out_len,
                           struct err *e)
{
	for (;;) {
		char *nl;
		ssize_t n;
		int r;

		if (t->fd < 0) {
			r = tail_advance(t, e);
			if (r <= 0)
				return r;
			continue;
		}
		nl = memchr(t->buf + t->bstart, '\n', t->bend - t->bstart);
		if (nl) {
			const char *line = t->buf + t->bstart;
			size_t len = (size_t)(nl - line) + 1;

			t->bstart += len;
			t->off += (int64_t)len;
			if (t->discarding || len > EVENT_LINE_MAX) {
				t->discarding = false;
				t->skipped++;
				continue;
			}
			*out = line;
			*out_len = len;
			return 1;
		}
		if (t->bstart) {
			memmove(t->buf, t->buf + t->bstart, t->bend - t->bstart);
			t->bend -= t->bstart;
			t->bstart = 0;
		}
		if (t->bend == TAIL_BUFSZ) {
			/* No newline in the whole buffer: not a journal line; drop up to the next. */
			t->off += (int64_t)t->bend;
			t->bend = 0;
			t->discarding = true;
		}
		n = pread(t->fd, t->buf + t->bend, TAIL_BUFSZ - t->bend, t->off + (int64_t)t->bend);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, "reading the journal in %s", t->dir);
		}
		if (n > 0) {
			t->bend += (size_t)n;
			continue;
		}
		/* At the end of this file. If a newer file exists, appends that raced the rotation
		 * may still land here: move on only once the file has been quiet for QUIET_NS
		 * (its mtime taken before the last read found nothing more). */
		if (t->draining) {
			int64_t now = ctx_clock_realtime();

			t->draining = false;
			if (!t->snapshot && now - t->drain_mtime < QUIET_NS) {
				t->wait_until = t->drain_mtime + QUIET_NS;
				return 0;
			}
			r = tail_advance(t, e);
			if (r <= 0)
				return r;
			continue;
		}
		r = tail_is_newest(t, e);
		if (r != 0)
			return r < 0 ? -1 : 0;
		{
			struct stat st = {0};

			if (fstat(t->fd, &st) < 0)
				return err_sys(e, "reading the journal in %s", t->dir);
			t->drain_mtime = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
			t->draining = true;
		}
	}
}

int journal_tail_next(struct journal_tail *t, struct event *ev, struct err *e)
{
	const char *line = NULL;
	size_t len = 0;
	int r;

	while ((r = journal_tail_next_line(t, &line, &len, e)) > 0) {
		struct err pe = ERR_INIT;

		if (event_parse(line, len, ev, &pe) == 0)
			return 1;
		t->skipped++;
	}
	return r;
}

void journal_tail_skip(struct journal_tail *t)
{
	t->skipped++;
}

void journal_tail_pos(const struct journal_tail *t, struct journal_pos *out)
{
	out->dev = t->fd >= 0 ? t->dev : 0;
	out->ino = t->fd >= 0 ? t->ino : 0;
	out->offset = t->fd >= 0 ? t->off : 0;
}

int journal_tail_wait(struct journal_tail *t, int64_t timeout_ns, const sigset_t *sigmask,
                      struct err *e)
{
	struct pollfd p = {.fd = t->ifd, .events = POLLIN};
	struct timespec ts, *tsp = NULL;
	char ibuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int r;

	if (t->ifd < 0)
		return err_set(e, E_INVALID, "journal tail: not watching");
	if (t->wait_until) {
		/* A rotated file is waiting to be quiet: wake when it should be. */
		int64_t left = t->wait_until - ctx_clock_realtime();

		t->wait_until = 0;
		if (left < 0)
			left = 0;
		if (timeout_ns < 0 || left < timeout_ns)
			timeout_ns = left;
	}
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000LL;
		ts.tv_nsec = timeout_ns % 1000000000LL;
		tsp = &ts;
	}
	r = ppoll(&p, 1, tsp, sigmask);
	if (r < 0)
		return errno == EINTR ? 0 : err_sys(e, "waiting for the journal");
	if (r == 0)
		return 0;
	/* The events only wake us; what changed is found by reading. */
	while (read(t->ifd, ibuf, sizeof(ibuf)) > 0)
		;
	return 1;
}

uint64_t journal_tail_skipped(const struct journal_tail *t)
{
	return t->skipped;
}

void journal_tail_free(struct journal_tail *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->ifd >= 0)
		close(t->ifd);
	free(t->buf);
	free(t->dir);
	free(t);
}

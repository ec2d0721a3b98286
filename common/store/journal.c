/* common/store/journal.c - the durable event journal (DESIGN.md lesson 4 and "The metadata layer
 * on disk": events/journal.jsonl plus rotated files). Appends are one write(2) under O_APPEND and
 * take no lock; rotation and retention take events/journal.lock; readers never lock. Rotated
 * files are journal.jsonl.<N> with N growing, so names never shift under a reader. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/store/journal.h"
#include "common/store/layout.h"
#include "common/store/lock.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define ACTIVE_NAME         "journal.jsonl"
#define ROTATE_LOCK_WAIT_NS (5LL * 1000000000LL)

void journal_limits_from_ctx(const struct ctx *ctx, struct journal_limits *out)
{
	struct config def;

	config_defaults(&def);
	if (ctx->cfg)
		def.events = ctx->cfg->events;
	out->rotate_bytes = def.events.rotate_bytes;
	out->max_bytes = def.events.max_bytes;
	out->max_age_ns = def.events.max_age_ns;
}

struct rotated {
	unsigned long long n;
	char *path;
	struct stat st;
};

static int rotated_cmp(const void *a, const void *b)
{
	const struct rotated *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

static void rotated_free(struct rotated *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

/* The rotated files, oldest first. A missing directory is an empty list. */
static int rotated_list(const char *dir, struct rotated **out, size_t *n, struct err *e)
{
	DIR *d = opendir(dir);
	struct rotated *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : err_sys(e, "%s", dir);
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		char *end;
		unsigned long long num;

		if (strncmp(s, ACTIVE_NAME ".", sizeof(ACTIVE_NAME)) != 0)
			continue;
		s += sizeof(ACTIVE_NAME);
		if (*s < '0' || *s > '9')
			continue;
		num = strtoull(s, &end, 10);
		if (*end)
			continue;
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
		qsort(v, cnt, sizeof(*v), rotated_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

/* Under the journal lock: drop the oldest rotated files beyond the size and age limits. */
static int journal_retain(const struct ctx *ctx, const char *dir, const struct journal_limits *l,
                          struct err *e)
{
	cleanup_free char *active = path_join(dir, ACTIVE_NAME);
	struct rotated *v = NULL;
	size_t n = 0;
	int64_t total = 0, now = ctx->now_ns ? ctx->now_ns() : ctx_clock_realtime();
	struct stat st;

	if (rotated_list(dir, &v, &n, e) < 0)
		return -1;
	if (stat(active, &st) == 0)
		total += st.st_size;
	for (size_t i = 0; i < n; i++)
		total += v[i].st.st_size;
	for (size_t i = 0; i < n; i++) {
		int64_t mtime =
		    (int64_t)v[i].st.st_mtim.tv_sec * 1000000000LL + v[i].st.st_mtim.tv_nsec;

		if (total <= l->max_bytes && now - mtime <= l->max_age_ns)
			continue;
		if (unlink(v[i].path) < 0 && errno != ENOENT) {
			err_sys(e, "%s", v[i].path);
			rotated_free(v, n);
			return -1;
		}
		total -= v[i].st.st_size;
	}
	rotated_free(v, n);
	return 0;
}

/* Renames the active file to the next number if it is (still) over the limit, then applies
 * retention; all under the journal lock. force rotates any non-empty active file. */
static int journal_rotate_locked(const struct ctx *ctx, bool force, struct err *e)
{
	cleanup_free char *dir = store_events_dir(ctx);
	cleanup_free char *active = path_join(dir, ACTIVE_NAME);
	cleanup_free char *lockpath = path_join(dir, "journal.lock");
	cleanup_free char *next = NULL;
	cleanup_lock struct lock lk = LOCK_INIT;
	struct journal_limits l;
	struct rotated *v = NULL;
	size_t n = 0;
	struct stat st;

	journal_limits_from_ctx(ctx, &l);
	if (fs_mkdir_p(dir, 0700, e) < 0)
		return -1;
	if (lock_take(lockpath, ROTATE_LOCK_WAIT_NS, &lk, e) < 0)
		return -1;
	/* Another process may have rotated while we waited for the lock. */
	if (stat(active, &st) == 0 && st.st_size > 0 && (force || st.st_size > l.rotate_bytes)) {
		if (rotated_list(dir, &v, &n, e) < 0)
			return -1;
		next = xasprintf("%s/" ACTIVE_NAME ".%08llu", dir, n ? v[n - 1].n + 1 : 1ULL);
		rotated_free(v, n);
		if (rename(active, next) < 0)
			return err_sys(e, "rotate %s", active);
	}
	return journal_retain(ctx, dir, &l, e);
}

int journal_rotate(const struct ctx *ctx, struct err *e)
{
	return journal_rotate_locked(ctx, true, e);
}

int journal_append(const struct ctx *ctx, const struct event *ev, struct err *e)
{
	cleanup_free char *dir = store_events_dir(ctx);
	cleanup_free char *active = path_join(dir, ACTIVE_NAME);
	cleanup_buf struct buf line = BUF_INIT;
	cleanup_close int fd = -1;
	struct journal_limits l;
	struct stat st;
	ssize_t w;

	if (event_format(ev, &line, e) < 0)
		return -1;
	fd = open(active, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == ENOENT) {
		if (fs_mkdir_p(dir, 0700, e) < 0)
			return -1;
		fd = open(active, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	}
	if (fd < 0)
		return err_sys(e, "%s", active);
	/* One write: O_APPEND makes it land whole after every other append, never interleaved. */
	do
		w = write(fd, line.data, line.len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return err_sys(e, "append to %s", active);
	if ((size_t)w != line.len)
		return err_set(e, E_IO, "append to %s: short write of %zd of %zu bytes", active, w,
		               line.len);
	journal_limits_from_ctx(ctx, &l);
	if (fstat(fd, &st) == 0 && st.st_size > l.rotate_bytes)
		return journal_rotate_locked(ctx, false, e);
	return 0;
}

struct journal_reader {
	struct rotated *files;
	size_t nfiles, next;
	int active_fd;
	FILE *cur;
	bool active_done;
	uint64_t skipped;
	char *line;
	size_t cap;
};

int journal_reader_open(const struct ctx *ctx, struct journal_reader **out, struct err *e)
{
	cleanup_free char *dir = store_events_dir(ctx);
	cleanup_free char *active = path_join(dir, ACTIVE_NAME);
	struct journal_reader *r = xcalloc(1, sizeof(*r));
	struct stat ast = {0};
	size_t keep = 0;

	/* The active file first, then the list: a rotation in between shows up in the list as
	 * the file we already hold, which is skipped by inode, so each line is read once. */
	r->active_fd = open(active, O_RDONLY | O_CLOEXEC);
	if (r->active_fd < 0 && errno != ENOENT) {
		free(r);
		return err_sys(e, "%s", active);
	}
	if (r->active_fd >= 0 && fstat(r->active_fd, &ast) < 0) {
		close(r->active_fd);
		free(r);
		return err_sys(e, "%s", active);
	}
	if (rotated_list(dir, &r->files, &r->nfiles, e) < 0) {
		if (r->active_fd >= 0)
			close(r->active_fd);
		free(r);
		return -1;
	}
	for (size_t i = 0; i < r->nfiles; i++) {
		if (r->active_fd >= 0 && r->files[i].st.st_ino == ast.st_ino &&
		    r->files[i].st.st_dev == ast.st_dev) {
			free(r->files[i].path);
			continue;
		}
		r->files[keep++] = r->files[i];
	}
	r->nfiles = keep;
	*out = r;
	return 0;
}

/* Opens the next file to read, or returns false when all are read. */
static bool reader_advance(struct journal_reader *r)
{
	if (r->cur) {
		fclose(r->cur);
		r->cur = NULL;
	}
	while (r->next < r->nfiles) {
		r->cur = fopen(r->files[r->next++].path, "re");
		if (r->cur)
			return true; /* a file pruned meanwhile is simply gone */
	}
	if (!r->active_done && r->active_fd >= 0) {
		r->active_done = true;
		r->cur = fdopen(r->active_fd, "r");
		if (r->cur) {
			r->active_fd = -1;
			return true;
		}
	}
	r->active_done = true;
	return false;
}

int journal_next(struct journal_reader *r, struct event *ev, struct err *e)
{
	for (;;) {
		ssize_t n;

		if (!r->cur && !reader_advance(r))
			return 0;
		errno = 0;
		n = getline(&r->line, &r->cap, r->cur);
		if (n < 0) {
			if (ferror(r->cur))
				return err_sys(e, "reading the journal");
			if (!reader_advance(r))
				return 0;
			continue;
		}
		if (r->line[n - 1] != '\n')
			continue; /* the last line is still being written */
		if ((size_t)n > EVENT_LINE_MAX) {
			r->skipped++;
			continue;
		}
		struct err pe = ERR_INIT;

		if (event_parse(r->line, (size_t)n, ev, &pe) == 0)
			return 1;
		r->skipped++;
	}
}

uint64_t journal_reader_skipped(const struct journal_reader *r)
{
	return r->skipped;
}

void journal_reader_free(struct journal_reader *r)
{
	if (!r)
		return;
	if (r->cur)
		fclose(r->cur);
	if (r->active_fd >= 0)
		close(r->active_fd);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i].path);
	free(r->files);
	free(r->line);
	free(r);
}

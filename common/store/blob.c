/* common/store/blob.c - the content-addressed blob store and its resumable ingest (DESIGN.md
 * "Content is the truth and is verified (digest and size) before it is committed"; "the second
 * waits on the first's ingest lock, then finds the blob committed"). Lock files are never
 * unlinked: a waiter may hold the old inode, and two holders of two inodes would both commit. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/store/blob.h"
#include "common/store/layout.h"
#include "common/store/lock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define HASH_CHUNK (1 << 20)

int blob_stat(const struct ctx *ctx, const struct digest *d, int64_t *size, struct err *e)
{
	cleanup_free char *path = store_blob_path(ctx, d->hex);
	struct stat st;

	if (stat(path, &st) < 0)
		return err_sys(e, "sha256:%s", d->hex);
	*size = st.st_size;
	return 0;
}

int blob_open(const struct ctx *ctx, const struct digest *d, struct err *e)
{
	cleanup_free char *path = store_blob_path(ctx, d->hex);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return err_sys(e, "sha256:%s", d->hex);
	return fd;
}

int blob_read(const struct ctx *ctx, const struct digest *d, size_t max, char **out, size_t *len,
              struct err *e)
{
	cleanup_free char *path = store_blob_path(ctx, d->hex);
	cleanup_free char *data = NULL;
	struct digest got;
	size_t n = 0;

	if (fs_read_file(path, max, &data, &n, e) < 0)
		return err_wrap(e, "sha256:%s", d->hex);
	digest_of(data, n, &got);
	if (!digest_equal(&got, d))
		return err_set(e, E_CORRUPT, "sha256:%s: stored blob does not match its digest",
		               d->hex);
	*out = TAKE_PTR(data);
	*len = n;
	return 0;
}

int blob_remove(const struct ctx *ctx, const struct digest *d, struct err *e)
{
	cleanup_free char *path = store_blob_path(ctx, d->hex);

	if (unlink(path) < 0 && errno != ENOENT)
		return err_sys(e, "sha256:%s", d->hex);
	return 0;
}

/* The pipeline: a ring of buffers the receiving thread fills and the ingest's thread hashes
 * and writes, in order. */
#define PIPE_SLOTS     8
#define PIPE_SLOT_SIZE (256 << 10)
#define PIPE_WRITEBACK (8 << 20) /* start writeback every this many bytes */

struct ingest_pipe {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *buf[PIPE_SLOTS];
	size_t len[PIPE_SLOTS];
	size_t fill;   /* the slot being filled by ingest_write */
	size_t drain;  /* the next slot the thread takes */
	size_t queued; /* full slots waiting for the thread */
	bool busy;     /* the thread is working on a slot */
	bool stop;
	bool failed;
	struct err err;
	int fd;
	struct hasher *h;
	const char *path;
	off_t written, synced;
};

static void *pipe_main(void *arg)
{
	struct ingest_pipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct err e = ERR_INIT;
		size_t slot, len;
		bool failed;

		while (!p->queued && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!p->queued)
			break;
		slot = p->drain;
		len = p->len[slot];
		p->busy = true;
		failed = p->failed;
		pthread_mutex_unlock(&p->mu);
		if (!failed) {
			if (fs_write_all(p->fd, p->buf[slot], len, &e) < 0) {
				err_wrap(&e, "%s", p->path);
				failed = true;
			} else {
				hasher_update(p->h, p->buf[slot], len);
				p->written += (off_t)len;
				if (p->written - p->synced >= PIPE_WRITEBACK) {
					/* Only starts the writeback; ingest_commit's fsync waits. */
					sync_file_range(p->fd, p->synced, p->written - p->synced,
							SYNC_FILE_RANGE_WRITE);
					p->synced = p->written;
				}
			}
		}
		pthread_mutex_lock(&p->mu);
		if (failed && !p->failed) {
			p->err = e;
			p->failed = true;
		}
		p->busy = false;
		p->len[slot] = 0;
		p->drain = (p->drain + 1) % PIPE_SLOTS;
		p->queued--;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Hands the slot being filled to the thread (if it holds anything) and waits for a free one.
 * With wait_all, returns only once the thread has written everything. Called with p->mu held. */
static void pipe_submit(struct ingest_pipe *p, bool wait_all)
{
	if (p->len[p->fill]) {
		while (p->queued == PIPE_SLOTS)
			pthread_cond_wait(&p->cv, &p->mu);
		p->queued++;
		p->fill = (p->fill + 1) % PIPE_SLOTS;
		pthread_cond_broadcast(&p->cv);
	}
	while (p->queued == PIPE_SLOTS || (wait_all && (p->queued || p->busy)))
		pthread_cond_wait(&p->cv, &p->mu);
}

/* Waits until everything handed over is written; returns the thread's error, if any. */
static int pipe_drain(struct ingest *ing, struct err *e)
{
	struct ingest_pipe *p = ing->pipe;
	bool failed;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	pipe_submit(p, true);
	failed = p->failed;
	if (failed)
		*e = p->err;
	pthread_mutex_unlock(&p->mu);
	return failed ? -1 : 0;
}

static void pipe_free(struct ingest *ing)
{
	struct ingest_pipe *p = ing->pipe;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	pipe_submit(p, true);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->tid, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	for (size_t i = 0; i < PIPE_SLOTS; i++)
		free(p->buf[i]);
	free(p);
	ing->pipe = NULL;
}

void ingest_pipeline(struct ingest *ing)
{
	struct ingest_pipe *p;

	if (ing->pipe || ing->fd < 0)
		return;
	p = xcalloc(1, sizeof(*p));
	for (size_t i = 0; i < PIPE_SLOTS; i++)
		p->buf[i] = xmalloc(PIPE_SLOT_SIZE);
	p->fd = ing->fd;
	p->h = ing->h;
	p->path = ing->path;
	p->written = p->synced = (off_t)ing->offset;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->tid, NULL, pipe_main, p) != 0) {
		/* No thread: the ingest stays synchronous, which is slower, not wrong. */
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		for (size_t i = 0; i < PIPE_SLOTS; i++)
			free(p->buf[i]);
		free(p);
		return;
	}
	ing->pipe = p;
}

static int pipe_write(struct ingest *ing, const char *data, size_t len, struct err *e)
{
	struct ingest_pipe *p = ing->pipe;
	bool failed;

	pthread_mutex_lock(&p->mu);
	while (len && !p->failed) {
		size_t room = PIPE_SLOT_SIZE - p->len[p->fill];
		size_t n = len < room ? len : room;

		memcpy(p->buf[p->fill] + p->len[p->fill], data, n);
		p->len[p->fill] += n;
		data += n;
		len -= n;
		if (p->len[p->fill] == PIPE_SLOT_SIZE)
			pipe_submit(p, false);
	}
	failed = p->failed;
	if (failed)
		*e = p->err;
	pthread_mutex_unlock(&p->mu);
	return failed ? -1 : 0;
}

static void ingest_release(struct ingest *ing)
{
	pipe_free(ing);
	if (ing->fd >= 0)
		close(ing->fd);
	if (ing->lock_fd >= 0)
		close(ing->lock_fd); /* releases the flock */
	hasher_free(ing->h);
	free(ing->path);
	ing->fd = ing->lock_fd = -1;
	ing->h = NULL;
	ing->path = NULL;
}

/* Hashes what an earlier run left, so the download resumes where it stopped. */
static int ingest_rehash(struct ingest *ing, struct err *e)
{
	cleanup_free char *chunk = xmalloc(HASH_CHUNK);
	off_t off = 0;

	for (;;) {
		ssize_t r = pread(ing->fd, chunk, HASH_CHUNK, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(e, "%s", ing->path);
		if (r == 0)
			break;
		hasher_update(ing->h, chunk, (size_t)r);
		off += r;
	}
	ing->offset = off;
	return 0;
}

int ingest_open(const struct ctx *ctx, const struct digest *d, int64_t want_size,
                int64_t timeout_ns, struct ingest *ing, struct err *e)
{
	struct ingest in = {
	    .ctx = ctx, .want = *d, .want_size = want_size, .fd = -1, .lock_fd = -1};
	cleanup_free char *lockpath = NULL;
	struct lock lk = LOCK_INIT;
	struct err se = ERR_INIT;
	int64_t have;

	in.path = store_ingest_path(ctx, d->hex);
	lockpath = xasprintf("%s.lock", in.path);
	if (lock_take(lockpath, timeout_ns, &lk, e) < 0) {
		free(in.path);
		return err_wrap(e, "sha256:%s", d->hex);
	}
	in.lock_fd = lk.fd;
	/* Checked under the lock: a concurrent puller may just have committed it. */
	if (blob_stat(ctx, d, &have, &se) == 0) {
		ingest_release(&in);
		return err_set(e, E_EXISTS, "sha256:%s: already committed", d->hex);
	}
	in.fd = open(in.path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (in.fd < 0) {
		err_sys(e, "%s", in.path);
		ingest_release(&in);
		return -1;
	}
	in.h = hasher_new();
	if (ingest_rehash(&in, e) < 0) {
		ingest_release(&in);
		return -1;
	}
	if (want_size >= 0 && in.offset > want_size && ingest_restart(&in, e) < 0) {
		ingest_release(&in);
		return -1;
	}
	*ing = in;
	return 0;
}

int ingest_write(struct ingest *ing, const void *data, size_t len, struct err *e)
{
	if (ing->want_size >= 0 && ing->offset + (int64_t)len > ing->want_size)
		return err_set(e, E_CORRUPT, "sha256:%s: more than the expected %lld bytes",
		               ing->want.hex, (long long)ing->want_size);
	if (ing->pipe) {
		if (pipe_write(ing, data, len, e) < 0)
			return -1;
	} else {
		if (fs_write_all(ing->fd, data, len, e) < 0)
			return err_wrap(e, "%s", ing->path);
		hasher_update(ing->h, data, len);
	}
	ing->offset += (int64_t)len;
	return 0;
}

int ingest_restart(struct ingest *ing, struct err *e)
{
	if (pipe_drain(ing, e) < 0)
		return -1;
	if (ftruncate(ing->fd, 0) < 0)
		return err_sys(e, "%s", ing->path);
	hasher_reset(ing->h);
	ing->offset = 0;
	if (ing->pipe)
		ing->pipe->written = ing->pipe->synced = 0;
	return 0;
}

int ingest_commit(struct ingest *ing, struct err *e)
{
	cleanup_free char *blob = store_blob_path(ing->ctx, ing->want.hex);
	cleanup_free char *dir = xstrdup(blob);
	struct digest got;
	int rc = 0;

	*strrchr(dir, '/') = '\0';
	if (pipe_drain(ing, e) < 0) {
		ingest_release(ing); /* what was written stays, to resume from */
		return -1;
	}
	hasher_final(ing->h, &got);
	if (ing->want_size >= 0 && ing->offset != ing->want_size)
		rc =
		    err_set(e, E_CORRUPT, "sha256:%s: size mismatch: got %lld bytes, expected %lld",
		            ing->want.hex, (long long)ing->offset, (long long)ing->want_size);
	else if (!digest_equal(&got, &ing->want))
		rc = err_set(e, E_CORRUPT, "sha256:%s: digest mismatch: got sha256:%s",
		             ing->want.hex, got.hex);
	if (rc < 0) {
		/* Nothing is committed on a mismatch, and nothing is kept to resume from. */
		unlink(ing->path);
		ingest_release(ing);
		return -1;
	}
	if (fsync(ing->fd) < 0)
		rc = err_sys(e, "fsync %s", ing->path);
	else if (rename(ing->path, blob) < 0)
		rc = err_sys(e, "commit %s", blob);
	else if (fs_fsync_dir(dir, e) < 0)
		rc = -1;
	ingest_release(ing);
	return rc;
}

void ingest_close(struct ingest *ing)
{
	ingest_release(ing);
}

void ingest_abort(struct ingest *ing)
{
	if (ing->path)
		unlink(ing->path);
	ingest_release(ing);
}

int blob_put(const struct ctx *ctx, const struct digest *d, const void *data, size_t len,
             struct err *e)
{
	struct ingest ing = {.fd = -1, .lock_fd = -1};

	struct err oe = ERR_INIT;

	if (ingest_open(ctx, d, (int64_t)len, -1, &ing, &oe) < 0) {
		if (oe.code == E_EXISTS)
			return 0; /* committing present content is success */
		if (e)
			*e = oe;
		return -1;
	}
	if (ing.offset > 0 && ingest_restart(&ing, e) < 0) {
		ingest_abort(&ing);
		return -1;
	}
	if (ingest_write(&ing, data, len, e) < 0) {
		ingest_abort(&ing);
		return -1;
	}
	return ingest_commit(&ing, e);
}

/* common/util/fs.c - bounded reads, atomic replacement and directory fsync: the primitives under
 * every store document (DESIGN.md "The metadata layer on disk": temp file, write, fsync, rename,
 * fsync the directory) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util/fs.h"
#include "common/util/mem.h"

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	while (*b == '/')
		b++;
	if (la && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

int fs_mkdir_p(const char *path, mode_t mode, struct err *e)
{
	cleanup_free char *p = NULL;
	struct stat st;

	/* Mostly the parents exist, or the whole path does: one or two system calls then,
	 * instead of two for every level from "/". */
	if (mkdir(path, mode) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return err_sys(e, "%s", p);
		if (stat(p, &st) < 0)
			return err_sys(e, "%s", p);
		if (!S_ISDIR(st.st_mode))
			return err_set(e, E_INVALID, "%s: not a directory", p);
		*s = c;
		if (c == '\0')
			break;
	}
	return 0;
}

int fs_read_file(const char *path, size_t max, char **out, size_t *len, struct err *e)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_sys(e, "%s", path);
	return fs_read_fd(fd, path, max, out, len, e);
}

int fs_read_fd(int fd, const char *path, size_t max, char **out, size_t *len, struct err *e)
{
	cleanup_free char *data = NULL;
	size_t n = 0, cap = 4096;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return err_sys(e, "%s", path);
	if (S_ISDIR(st.st_mode))
		return err_set(e, E_INVALID, "%s: is a directory", path);
	if (st.st_size > 0 && (size_t)st.st_size > max)
		return err_set(e, E_INVALID, "%s: is %lld bytes, limit %zu", path,
		               (long long)st.st_size, max);
	if (st.st_size > 0) /* room for one byte more than fstat saw, and the NUL */
		cap = (size_t)st.st_size + 2;
	data = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			cap *= 2;
			data = xrealloc(data, cap);
		}
		r = read(fd, data + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(e, "%s", path);
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			return err_set(e, E_INVALID, "%s: larger than the limit of %zu bytes", path,
			               max);
		/* A regular file that gave exactly the size fstat saw, and less than asked, is
		 * at its end: the read that would return 0 is saved (listing 1,000 containers
		 * reads 2,000 small documents). */
		if (S_ISREG(st.st_mode) && (size_t)st.st_size == n && n + 1 < cap)
			break;
	}
	data[n] = '\0';
	*out = TAKE_PTR(data);
	if (len)
		*len = n;
	return 0;
}

static int read_small_at(int dirfd, const char *rel, size_t max, struct buf *b, struct err *e)
{
	cleanup_close int fd =
	    openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		if (errno == ELOOP)
			return err_set(e, E_INVALID, "%s: is a symbolic link", rel);
		return err_sys(e, "%s", rel);
	}
	buf_reserve(b, FS_SMALL_BYTES - 1); /* FS_SMALL_BYTES with the NUL */
	for (;;) {
		size_t room = b->cap - b->len - 1;
		ssize_t r = read(fd, b->data + b->len, room);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EISDIR)
			return err_set(e, E_INVALID, "%s: is a directory", rel);
		if (r < 0)
			return err_sys(e, "%s", rel);
		b->len += (size_t)r;
		b->data[b->len] = '\0';
		if (b->len > max)
			return err_set(e, E_INVALID, "%s: larger than the limit of %zu bytes", rel,
			               max);
		/* Short of the room: the end (or, for a FIFO or device, an empty read: the
		 * parser above rejects what is not a whole document). A full buffer may have
		 * more behind it: grow and read on, until a read returns 0. */
		if (r == 0 || (size_t)r < room)
			break;
		buf_reserve(b, b->cap);
	}
	return 0;
}

int fs_read_small_at(int dirfd, const char *rel, size_t max, struct buf *b, struct err *e)
{
	buf_reset(b);
	if (read_small_at(dirfd, rel, max, b, e) < 0) {
		buf_reset(b); /* no half a file left behind */
		return -1;
	}
	return 0;
}

int fs_write_all(int fd, const void *data, size_t len, struct err *e)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return err_sys(e, "write");
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int fs_fsync_dir(const char *dir, struct err *e)
{
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_sys(e, "%s", dir);
	if (fsync(fd) < 0)
		return err_sys(e, "fsync %s", dir);
	return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                    enum fs_flags flags, struct err *e)
{
	cleanup_free char *dircopy = xstrdup(path);
	cleanup_free char *tmp = NULL;
	cleanup_close int fd = -1;
	struct timespec ts;
	const char *dir;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	tmp = xasprintf("%s.tmp.%d.%lx", path, (int)getpid(), (unsigned long)ts.tv_nsec);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_sys(e, "%s", tmp);
	if (fs_write_all(fd, data, len, e) < 0)
		goto fail;
	if ((flags & FS_FSYNC) && fsync(fd) < 0) {
		err_sys(e, "fsync");
		goto fail;
	}
	if (close(TAKE_FD(fd)) < 0) {
		err_sys(e, "close");
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		err_sys(e, "rename");
		goto fail;
	}
	dir = dirname(dircopy);
	if ((flags & FS_FSYNC) && fs_fsync_dir(dir, e) < 0)
		return -1;
	return 0;
fail:
	unlink(tmp);
	return err_wrap(e, "%s", path);
}

static int remove_at(int dfd, const char *name, dev_t dev, struct err *e)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_sys(e, "%s", name);
	if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d;
		struct dirent *de;
		int rc = 0;

		if (fd < 0)
			return err_sys(e, "%s", name);
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return err_sys(e, "%s", name);
		}
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (remove_at(dirfd(d), de->d_name, dev, e) < 0) {
				rc = -1;
				break;
			}
		}
		closedir(d);
		if (rc < 0)
			return err_wrap(e, "%s", name);
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return err_sys(e, "%s", name);
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return err_set(e, E_INVALID, "%s: on another file system, not removed", name);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return err_sys(e, "%s", name);
	return 0;
}

int fs_remove_tree(const char *path, struct err *e)
{
	struct err local = ERR_INIT;
	struct stat st;

	if (!e)
		e = &local;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(e, "%s", path);
	return remove_at(AT_FDCWD, path, st.st_dev, e);
}

bool fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* common/util/fs.h - file-system primitives: bounded reads, atomic replacement, directory fsync
 * (DESIGN.md "The metadata layer on disk": temp file, write, fsync, rename, fsync the dir) */
#ifndef CTRBOX_UTIL_FS_H
#define CTRBOX_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/util/buf.h"
#include "common/util/err.h"

enum fs_flags {
	FS_FSYNC = 1 << 0, /* fsync the data before rename and the directory after */
};

/* Joins two path parts with one '/'; caller frees. */
char *path_join(const char *a, const char *b) __attribute__((malloc, returns_nonnull));

/* Creates path and missing parents with mode (existing directories are left as they are).
 * E_EXISTS-free: an existing directory is success; a non-directory in the way is E_INVALID. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *e);

/* Reads a whole file of at most max bytes into a NUL-terminated buffer the caller frees.
 * A larger file is E_INVALID ("is N bytes, limit M"); a missing file E_NOTFOUND. Does not lock. */
int fs_read_file(const char *path, size_t max, char **out, size_t *len, struct err *e);
/* As fs_read_file, from an open descriptor (stdin, a pipe) read to its end; path names it in
 * errors. */
int fs_read_fd(int fd, const char *path, size_t max, char **out, size_t *len, struct err *e);

/* Reads the whole file rel, relative to the open directory dirfd, of at most max bytes into b
 * (its contents replaced, NUL-terminated; its allocation kept, so a caller reading many small
 * files reuses one buffer; emptied on failure). For listings: a file shorter than
 * FS_SMALL_BYTES costs openat, one read and close (no fstat, a walk of rel's components only),
 * because a document replaced by rename is whole at open and a short read from a regular file
 * is its end; a larger one is read on to its end. O_NOFOLLOW (a symlink as rel's last component
 * is E_INVALID) and O_NONBLOCK (a FIFO planted there does not block). Missing: E_NOTFOUND; a
 * directory or a file past max: E_INVALID. Errors name rel; the caller adds the directory.
 * Does not lock. */
#define FS_SMALL_BYTES 8192
int fs_read_small_at(int dirfd, const char *rel, size_t max, struct buf *b, struct err *e);

/* Replaces path atomically: a temp file beside it (O_EXCL, mode), write, fsync with FS_FSYNC,
 * rename over path, fsync the directory with FS_FSYNC. On failure the temp file is removed
 * and path is untouched. A concurrent reader sees the old or the new content, never a mix. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		    enum fs_flags flags, struct err *e);

/* fsyncs a directory (after a rename or unlink in it). */
int fs_fsync_dir(const char *dir, struct err *e);

/* Writes all of len bytes, retrying on EINTR and short writes. */
int fs_write_all(int fd, const void *data, size_t len, struct err *e);

/* Removes a tree (no symlink following, stays on one file system); a missing path is success. */
int fs_remove_tree(const char *path, struct err *e);

/* True when path exists (lstat). */
bool fs_exists(const char *path);

#endif

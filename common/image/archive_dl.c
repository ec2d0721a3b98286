/* common/image/archive_dl.c - the libarchive functions ctrbox uses, forwarded to the library
 * opened on first use (common/util/dynlib.h explains why). Each definition has the name and
 * the type of the real one, checked against <archive.h> and <archive_entry.h>. Only
 * archive_read_new can be the first call; every other function takes an object it made. */
#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/image/archive_dl.h"
#include "common/util/dynlib.h"

#ifndef ARCHIVE_SONAME
#define ARCHIVE_SONAME "libarchive.so.13"
#endif

typedef struct archive A;
typedef struct archive_entry E;

static struct {
	A *(*archive_read_new)(void);
	int (*archive_read_free)(A *);
	int (*archive_read_support_filter_all)(A *);
	int (*archive_read_support_filter_zstd)(A *);
	int (*archive_read_support_format_tar)(A *);
	int (*archive_read_support_format_raw)(A *);
	int (*archive_read_support_format_empty)(A *);
	int (*archive_read_open)(A *, void *, archive_open_callback *, archive_read_callback *,
	                         archive_close_callback *);
	int (*archive_read_open_fd)(A *, int, size_t);
	int (*archive_read_next_header)(A *, E **);
	la_ssize_t (*archive_read_data)(A *, void *, size_t);
	int (*archive_read_data_block)(A *, const void **, size_t *, la_int64_t *);
	const char *(*archive_error_string)(A *);
	void (*archive_set_error)(A *, int, const char *, ...);
	const char *(*archive_entry_pathname)(E *);
	const char *(*archive_entry_pathname_utf8)(E *);
	const char *(*archive_entry_hardlink)(E *);
	const char *(*archive_entry_symlink)(E *);
	__LA_MODE_T (*archive_entry_filetype)(E *);
	__LA_MODE_T (*archive_entry_perm)(E *);
	la_int64_t (*archive_entry_uid)(E *);
	la_int64_t (*archive_entry_gid)(E *);
	la_int64_t (*archive_entry_size)(E *);
	int (*archive_entry_size_is_set)(E *);
	dev_t (*archive_entry_rdevmajor)(E *);
	dev_t (*archive_entry_rdevminor)(E *);
	time_t (*archive_entry_mtime)(E *);
	long (*archive_entry_mtime_nsec)(E *);
	int (*archive_entry_mtime_is_set)(E *);
	time_t (*archive_entry_atime)(E *);
	long (*archive_entry_atime_nsec)(E *);
	int (*archive_entry_atime_is_set)(E *);
	int (*archive_entry_xattr_count)(E *);
	int (*archive_entry_xattr_reset)(E *);
	int (*archive_entry_xattr_next)(E *, const char **, const void **, size_t *);
} fn;

#define SYM(name) {#name, (void **)&fn.name}
static const struct dynlib_sym syms[] = {
	SYM(archive_read_new),
	SYM(archive_read_free),
	SYM(archive_read_support_filter_all),
	SYM(archive_read_support_filter_zstd),
	SYM(archive_read_support_format_tar),
	SYM(archive_read_support_format_raw),
	SYM(archive_read_support_format_empty),
	SYM(archive_read_open),
	SYM(archive_read_open_fd),
	SYM(archive_read_next_header),
	SYM(archive_read_data),
	SYM(archive_read_data_block),
	SYM(archive_error_string),
	SYM(archive_set_error),
	SYM(archive_entry_pathname),
	SYM(archive_entry_pathname_utf8),
	SYM(archive_entry_hardlink),
	SYM(archive_entry_symlink),
	SYM(archive_entry_filetype),
	SYM(archive_entry_perm),
	SYM(archive_entry_uid),
	SYM(archive_entry_gid),
	SYM(archive_entry_size),
	SYM(archive_entry_size_is_set),
	SYM(archive_entry_rdevmajor),
	SYM(archive_entry_rdevminor),
	SYM(archive_entry_mtime),
	SYM(archive_entry_mtime_nsec),
	SYM(archive_entry_mtime_is_set),
	SYM(archive_entry_atime),
	SYM(archive_entry_atime_nsec),
	SYM(archive_entry_atime_is_set),
	SYM(archive_entry_xattr_count),
	SYM(archive_entry_xattr_reset),
	SYM(archive_entry_xattr_next),
};
static struct dynlib lib = DYNLIB_INIT(ARCHIVE_SONAME, syms);

int archive_dl_require(struct err *e)
{
	return dynlib_require(&lib, e);
}

struct archive *archive_read_new(void)
{
	return dynlib_ready(&lib) ? fn.archive_read_new() : NULL;
}

/* Everything below takes an object archive_read_new made, so the library is loaded. */
#define FORWARD(ret, name, params, args)                                                      \
	ret name params                                                                        \
	{                                                                                      \
		dynlib_must(&lib);                                                             \
		return fn.name args;                                                           \
	}

FORWARD(int, archive_read_free, (A * a), (a))
FORWARD(int, archive_read_support_filter_all, (A * a), (a))
FORWARD(int, archive_read_support_filter_zstd, (A * a), (a))
FORWARD(int, archive_read_support_format_tar, (A * a), (a))
FORWARD(int, archive_read_support_format_raw, (A * a), (a))
FORWARD(int, archive_read_support_format_empty, (A * a), (a))
FORWARD(int, archive_read_open,
        (A * a, void *data, archive_open_callback *o, archive_read_callback *r,
         archive_close_callback *c),
        (a, data, o, r, c))
FORWARD(int, archive_read_open_fd, (A * a, int fd, size_t block), (a, fd, block))
FORWARD(int, archive_read_next_header, (A * a, E **entry), (a, entry))
FORWARD(la_ssize_t, archive_read_data, (A * a, void *buf, size_t len), (a, buf, len))
FORWARD(int, archive_read_data_block, (A * a, const void **buf, size_t *len, la_int64_t *off),
        (a, buf, len, off))
FORWARD(const char *, archive_error_string, (A * a), (a))
FORWARD(const char *, archive_entry_pathname, (E * x), (x))
FORWARD(const char *, archive_entry_pathname_utf8, (E * x), (x))
FORWARD(const char *, archive_entry_hardlink, (E * x), (x))
FORWARD(const char *, archive_entry_symlink, (E * x), (x))
FORWARD(__LA_MODE_T, archive_entry_filetype, (E * x), (x))
FORWARD(__LA_MODE_T, archive_entry_perm, (E * x), (x))
FORWARD(la_int64_t, archive_entry_uid, (E * x), (x))
FORWARD(la_int64_t, archive_entry_gid, (E * x), (x))
FORWARD(la_int64_t, archive_entry_size, (E * x), (x))
FORWARD(int, archive_entry_size_is_set, (E * x), (x))
FORWARD(dev_t, archive_entry_rdevmajor, (E * x), (x))
FORWARD(dev_t, archive_entry_rdevminor, (E * x), (x))
FORWARD(time_t, archive_entry_mtime, (E * x), (x))
FORWARD(long, archive_entry_mtime_nsec, (E * x), (x))
FORWARD(int, archive_entry_mtime_is_set, (E * x), (x))
FORWARD(time_t, archive_entry_atime, (E * x), (x))
FORWARD(long, archive_entry_atime_nsec, (E * x), (x))
FORWARD(int, archive_entry_atime_is_set, (E * x), (x))
FORWARD(int, archive_entry_xattr_count, (E * x), (x))
FORWARD(int, archive_entry_xattr_reset, (E * x), (x))
FORWARD(int, archive_entry_xattr_next, (E * x, const char **name, const void **val, size_t *len),
        (x, name, val, len))

/* A printf-style function cannot pass its arguments on: the message is formatted here and
 * handed over whole. */
void archive_set_error(A *a, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	dynlib_must(&lib);
	if (!fmt) { /* clears the error */
		fn.archive_set_error(a, err, NULL);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn.archive_set_error(a, err, "%s", msg);
}

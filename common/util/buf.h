/* common/util/buf.h - a growable byte buffer that is always NUL-terminated (STYLE.md) */
#ifndef CTRBOX_UTIL_BUF_H
#define CTRBOX_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated once anything was added; NULL when empty and never grown */
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_init(struct buf *b);
/* Frees the contents; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);
void buf_reset(struct buf *b); /* length 0, keeps the allocation */
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* The contents as a string ("" when empty); the buffer keeps ownership. */
const char *buf_str(const struct buf *b);
/* The contents as an owned string (caller frees); the buffer is left empty. */
char *buf_take(struct buf *b);

void bufp_release(struct buf *b);
#define cleanup_buf __attribute__((cleanup(bufp_release)))

#endif

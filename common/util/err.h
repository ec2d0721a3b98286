/* common/util/err.h - errors as values with context (STYLE.md "Errors") */
#ifndef CTRBOX_UTIL_ERR_H
#define CTRBOX_UTIL_ERR_H

#include <stdarg.h>

/* What went wrong, for callers to branch on; the text is for people only. */
enum err_code {
	E_OK = 0,
	E_NOTFOUND,
	E_EXISTS,
	E_BUSY,
	E_PERM,
	E_INVALID,
	E_IO,
	E_NET,
	E_AUTH,
	E_CORRUPT,
	E_UNSUPPORTED,
	E_NOSPACE,
	E_TIMEOUT,
};

#define ERR_MSG_MAX 1024

struct err {
	enum err_code code;
	int sys_errno; /* errno when the cause was a system call, else 0 */
	char msg[ERR_MSG_MAX];
};

#define ERR_INIT {0}

/* Sets code and message (printf-style); returns -1 so callers can `return err_set(...)`. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* As err_set, from the current errno: the code is mapped from errno and ": strerror" appended. */
int err_sys(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As err_sys, with an explicit errno value. */
int err_errno(struct err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes "<context>: " to the message already in e; keeps the code; returns -1. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears e back to ERR_INIT. */
void err_clear(struct err *e);
/* The stable lowercase name of a code ("not found", "busy", ...). */
const char *err_code_name(enum err_code code);
/* The err_code that best describes an errno value. */
enum err_code err_code_from_errno(int errnum);

#endif

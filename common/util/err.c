/* common/util/err.c - errors as values with context (STYLE.md "Errors") */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util/err.h"

static const char *const code_names[] = {
    [E_OK] = "ok",
    [E_NOTFOUND] = "not found",
    [E_EXISTS] = "exists",
    [E_BUSY] = "busy",
    [E_PERM] = "permission denied",
    [E_INVALID] = "invalid",
    [E_IO] = "i/o error",
    [E_NET] = "network error",
    [E_AUTH] = "authentication failed",
    [E_CORRUPT] = "corrupt",
    [E_UNSUPPORTED] = "unsupported",
    [E_NOSPACE] = "no space",
    [E_TIMEOUT] = "timed out",
};

const char *err_code_name(enum err_code code)
{
	if ((size_t)code < sizeof(code_names) / sizeof(code_names[0]) && code_names[code])
		return code_names[code];
	return "error";
}

enum err_code err_code_from_errno(int errnum)
{
	switch (errnum) {
	case ENOENT:
	case ENOTDIR:
	case ESRCH:
		return E_NOTFOUND;
	case EEXIST:
	case ENOTEMPTY:
		return E_EXISTS;
	case EBUSY:
	case EAGAIN:
		return E_BUSY;
	case EACCES:
	case EPERM:
	case EROFS:
		return E_PERM;
	case EINVAL:
	case ENAMETOOLONG:
	case ELOOP:
	case EISDIR:
		return E_INVALID;
	case ENOSPC:
	case EDQUOT:
		return E_NOSPACE;
	case ETIMEDOUT:
		return E_TIMEOUT;
	case ECONNREFUSED:
	case ECONNRESET:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return E_NET;
	case ENOTSUP:
		return E_UNSUPPORTED;
	default:
		return E_IO;
	}
}

static int err_vset(struct err *e, enum err_code code, int errnum, const char *fmt, va_list ap)
{
	int n;

	if (!e)
		return -1;
	e->code = code;
	e->sys_errno = errnum;
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (errnum && n >= 0 && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", strerror(errnum));
	return -1;
}

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int err_errno(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, err_code_from_errno(errnum), errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int err_sys(struct err *e, const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, err_code_from_errno(errnum), errnum, fmt, ap);
	va_end(ap);
	errno = errnum;
	return -1;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
	char prefix[ERR_MSG_MAX];
	char old[ERR_MSG_MAX];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* "<prefix>: <old>", cut to fit: the context matters more than the tail. */
	{
		size_t lp = strlen(prefix), lo = strlen(old), room = sizeof(e->msg) - 1, n = 0;

		memcpy(e->msg, prefix, lp);
		n = lp;
		if (lo && n + 2 <= room) {
			memcpy(e->msg + n, ": ", 2);
			n += 2;
			if (lo > room - n)
				lo = room - n;
			memcpy(e->msg + n, old, lo);
			n += lo;
		}
		e->msg[n] = '\0';
	}
	if (e->code == E_OK)
		e->code = E_IO;
	return -1;
}

void err_clear(struct err *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

/* common/util/host.h - host /proc, /sys, /dev and cgroup access through injectable roots
 * (STYLE.md "Host access and test seams"); never a literal "/proc/..." elsewhere. */
#ifndef CTRBOX_UTIL_HOST_H
#define CTRBOX_UTIL_HOST_H

#include <stddef.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

enum host_root {
	HOST_PROC,
	HOST_SYS,
	HOST_DEV,
	HOST_CGROUP,
};

/* The path of rel under the chosen host root ("pressure/io" -> "/proc/pressure/io"); caller
 * frees. */
char *host_path(const struct ctx *ctx, enum host_root root, const char *rel)
	__attribute__((malloc, returns_nonnull));

/* Reads a small host file (at most max bytes) into a NUL-terminated buffer the caller frees.
 * Pseudo-files that report size 0 are read to EOF. E_NOTFOUND when it does not exist. */
int host_read(const struct ctx *ctx, enum host_root root, const char *rel, size_t max, char **out,
	      struct err *e);

/* The node's host name (from ctx->path.proc's sys/kernel/hostname, else uname); caller frees. */
char *host_name(const struct ctx *ctx) __attribute__((malloc, returns_nonnull));

#endif

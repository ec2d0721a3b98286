/* common/util/host.c - host /proc, /sys, /dev and cgroup access through the injectable roots in
 * ctx->path (STYLE.md "Host access and test seams") */
#include <sys/utsname.h>

#include "common/util/fs.h"
#include "common/util/host.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"

char *host_path(const struct ctx *ctx, enum host_root root, const char *rel)
{
	const char *base;

	switch (root) {
	case HOST_PROC:
		base = ctx->path.proc;
		break;
	case HOST_SYS:
		base = ctx->path.sys;
		break;
	case HOST_DEV:
		base = ctx->path.dev;
		break;
	case HOST_CGROUP:
	default:
		base = ctx->path.cgroup;
		break;
	}
	return path_join(base ? base : "/", rel);
}

int host_read(const struct ctx *ctx, enum host_root root, const char *rel, size_t max, char **out,
              struct err *e)
{
	cleanup_free char *path = host_path(ctx, root, rel);

	/* fs_read_file reads to EOF, so pseudo-files that report size 0 work too. */
	return fs_read_file(path, max, out, NULL, e);
}

char *host_name(const struct ctx *ctx)
{
	cleanup_free char *name = NULL;
	struct err e = ERR_INIT;
	struct utsname u;

	if (host_read(ctx, HOST_PROC, "sys/kernel/hostname", 256, &name, &e) == 0 &&
	    *str_trim(name))
		return TAKE_PTR(name);
	if (uname(&u) == 0)
		return xstrdup(u.nodename);
	return xstrdup("unknown");
}

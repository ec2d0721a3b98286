/* bench/bench.h - what the benchmarks share: a monotonic clock, a scratch directory, and one
 * line per figure ("name  value unit  (detail)"); benchmarks print, they never assert */
#ifndef CTRBOX_BENCH_H
#define CTRBOX_BENCH_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/vfs.h>

#include "common/util/ctx.h"

static inline double bench_now(void)
{
	return (double)ctx_clock_monotonic() / 1e9;
}

static inline void bench_figure(const char *name, double value, const char *unit, const char *fmt,
                                ...)
{
	char detail[256] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("%-34s %12.1f %-8s %s\n", name, value, unit, detail);
	fflush(stdout);
}

/* The file system's type name, because fsync figures on tmpfs mean nothing. */
static inline const char *bench_fs_type(const char *path)
{
	struct statfs s;

	if (statfs(path, &s) < 0)
		return "unknown";
	switch ((unsigned long)s.f_type) {
	case 0x01021994:
		return "tmpfs";
	case 0xEF53:
		return "ext4";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	case 0x794c7630:
		return "overlayfs";
	default:
		return "other";
	}
}

#endif

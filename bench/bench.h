/* bench/bench.h - what the benchmarks share: a monotonic clock, a scratch directory, and one
 * line per figure ("name  value unit  (detail)"); benchmarks print, they never assert */
#ifndef CTRBOX_BENCH_H
#define CTRBOX_BENCH_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/vfs.h>

#include "common/store/layout.h"
#include "common/util/config.h"
#include "common/util/ctx.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

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

/* A private store for a benchmark that runs ctrbox: ROOT under rdir (a disk), STATE in sdir
 * (tmpfs, as /run is on a node), an empty config, ctx pointing at them for in-process calls
 * and CTRBOX_ROOT/STATE/CONFIG exported for the commands it runs. Exits on failure. The
 * caller frees *root and *cfgpath. */
static inline void bench_store(const char *rdir, const char *sdir, struct config *cfg,
                               struct ctx *ctx, char **root, char **cfgpath)
{
	struct err e = ERR_INIT;

	*root = path_join(rdir, "root");
	*cfgpath = path_join(rdir, "config.yaml");
	config_defaults(cfg);
	ctx->path.root = *root;
	ctx->path.state = sdir;
	ctx->path.proc = "/proc";
	ctx->cfg = cfg;
	ctx->applet = "bench";
	ctx->now_ns = ctx_clock_realtime;
	ctx->verbosity = LOG_WARN;
	ctx->err = stderr;
	if (store_init(ctx, &e) < 0 || fs_write_atomic(*cfgpath, "", 0, 0600, 0, &e) < 0) {
		fprintf(stderr, "bench: private store in %s: %s\n", rdir, e.msg);
		exit(1);
	}
	setenv("CTRBOX_ROOT", *root, 1);
	setenv("CTRBOX_STATE", sdir, 1);
	setenv("CTRBOX_CONFIG", *cfgpath, 1);
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

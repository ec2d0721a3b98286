/* cmd/info.c - ctrbox info: the settings in effect and where each came from (flag, env, config,
 * default), like `podman info`; the first thing to check when ctrbox looks at the wrong root
 * (DESIGN.md "The metadata layer on disk"; ctrbox-info(1)) */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cmd/applet.h"
#include "common/util/config.h"
#include "common/util/host.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/out.h"
#include "common/util/units.h"

const struct applet applet_info = {
	.name = "info",
	.main = ctrbox_info,
	.flags = AP_OUTPUT | AP_NO_PLAIN,
	.usage = "info [--format table|json]",
	.summary = "show the settings in effect and where each came from",
	.description = "Prints the version, the config file, ROOT and STATE, the log level, the "
		       "host roots\nand the journal limits, each with its source: flag, env, "
		       "config or default.",
};

static const struct col info_cols[] = {
	{"key", "KEY", COL_STR},
	{"value", "VALUE", COL_STR},
	{"source", "SOURCE", COL_STR},
	{0},
};

/* A journal limit's source: the file's value when it differs from the built-in default. */
static const char *limit_source(const struct ctx *ctx, int64_t value, int64_t def)
{
	return ctx->cfg->path && value != def ? "config" : "default";
}

int ctrbox_info(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct err e = ERR_INIT;
	struct config def;
	struct utsname u;
	cleanup_free char *host = NULL;
	char rot[UNITS_BUFSZ], max[UNITS_BUFSZ], age[UNITS_BUFSZ];
	const struct config *cfg = ctx->cfg;
	struct out *o;
	int c;

	opt_begin(&op, ctx, &applet_info, argc, argv);
	while ((c = opt_next(&op)) > 0)
		;
	if (c < 0)
		return op.rc;
	if (op.argc > 0)
		return opt_usage_error(&op, "unexpected argument \"%s\"", op.argv[0]);

	config_defaults(&def);
	snprintf(rot, sizeof(rot), "%lld", (long long)cfg->events.rotate_bytes);
	snprintf(max, sizeof(max), "%lld", (long long)cfg->events.max_bytes);
	units_format_elapsed(cfg->events.max_age_ns, age, sizeof(age));
	host = host_name(ctx);
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");

	o = out_begin(ctx, info_cols);
	out_row(o, "version", ctrbox_version, "build");
	out_row(o, "config", ctx->config_path, ctx->origin.config);
	out_row(o, "config_loaded", cfg->path ? "yes" : "no (built-in defaults)", "");
	out_row(o, "root", ctx->path.root, ctx->origin.root);
	out_row(o, "state", ctx->path.state, ctx->origin.state);
	out_row(o, "log_level", log_level_name(ctx->verbosity), ctx->origin.log_level);
	out_row(o, "host.proc", ctx->path.proc, ctx->origin.proc);
	out_row(o, "host.sys", ctx->path.sys, ctx->origin.sys);
	out_row(o, "host.dev", ctx->path.dev, ctx->origin.dev);
	out_row(o, "host.cgroup", ctx->path.cgroup, ctx->origin.cgroup);
	out_row(o, "events.rotate_size_bytes", rot,
		limit_source(ctx, cfg->events.rotate_bytes, def.events.rotate_bytes));
	out_row(o, "events.max_size_bytes", max,
		limit_source(ctx, cfg->events.max_bytes, def.events.max_bytes));
	out_row(o, "events.max_age", age,
		limit_source(ctx, cfg->events.max_age_ns, def.events.max_age_ns));
	out_row(o, "hostname", host, "host");
	out_row(o, "kernel", u.release, "host");
	if (out_end(o, &e) < 0)
		return applet_fail(ctx, &e);
	return EXIT_OK;
}

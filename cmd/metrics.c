/* cmd/metrics.c - ctrbox metrics: the node's Prometheus text exposition (containers from cgroups,
 * relist timing, check statuses, pulls and events), on stdout or atomically into node_exporter's
 * textfile-collector directory (DESIGN.md "diagnose"; issue 8; ctrbox-metrics(1)) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/applet.h"
#include "common/node/diag.h"
#include "common/node/metrics.h"
#include "common/node/prom.h"
#include "common/util/buf.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

enum {
	O_TEXTFILE = OPT_LONG + 1,
};

static const struct opt metrics_opts[] = {
    {O_TEXTFILE, "textfile", "DIR", "write DIR/ctrbox.prom atomically instead of stdout",
     COMP_DIR, NULL, 0},
    {0},
};

const struct applet applet_metrics = {
    .name = "metrics",
    .main = ctrbox_metrics,
    .opts = metrics_opts,
    .flags = 0,
    .usage = "metrics [OPTIONS]",
    .summary = "print the node's metrics in Prometheus text format",
    .description =
        "Per running container from its cgroup (container_cpu_usage_seconds_total,\n"
        "container_memory_usage_bytes, container_memory_working_set_bytes,\n"
        "container_oom_events_total, container_start_time_seconds, container_last_seen), the\n"
        "relist histogram, every diagnose check's status, pulls and events by reason.",
};

int ctrbox_metrics(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	const char *textfile = NULL;
	cleanup_buf struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	struct diag_env env;
	struct stat st;
	size_t n = 0;
	int c;

	opt_begin(&op, ctx, &applet_metrics, argc, argv);
	while ((c = opt_next(&op)) > 0)
		if (c == O_TEXTFILE)
			textfile = op.arg;
	if (c < 0)
		return op.rc;
	if (op.argc > 0)
		return opt_usage_error(&op, "unexpected argument \"%s\"", op.argv[0]);
	if (textfile && stat(textfile, &st) < 0) {
		err_sys(&e, "--textfile %s", textfile);
		return applet_fail(ctx, &e);
	}
	if (textfile && !S_ISDIR(st.st_mode)) {
		err_errno(&e, ENOTDIR, "--textfile %s", textfile);
		return applet_fail(ctx, &e);
	}
	if (metrics_collect(ctx, &b, &e) < 0)
		return applet_fail(ctx, &e);
	diag_env_init(&env, ctx);
	for (const struct diag_check *k = diag_checks; k->name; k++)
		n++;
	{
		const char **names = xcalloc(n, sizeof(*names));
		struct diag_result *res = xcalloc(n, sizeof(*res));

		for (size_t i = 0; i < n; i++) {
			names[i] = diag_checks[i].name;
			diag_checks[i].fn(&env, &res[i]);
		}
		prom_checks(&b, names, res, n);
		diag_env_release(&env);
		for (size_t i = 0; i < n; i++)
			diag_result_release(&res[i]);
		free(names);
		free(res);
	}
	if (textfile) {
		cleanup_free char *path = path_join(textfile, "ctrbox.prom");

		/* node_exporter reads *.prom only: the temp file beside it is never read half */
		if (fs_write_atomic(path, buf_str(&b), b.len, 0644, 0, &e) < 0)
			return applet_fail(ctx, &e);
		return EXIT_OK;
	}
	if (fwrite(buf_str(&b), 1, b.len, ctx->out) != b.len || fflush(ctx->out) != 0) {
		if (errno == EPIPE)
			return EXIT_OK;
		err_sys(&e, "writing output");
		return applet_fail(ctx, &e);
	}
	return EXIT_OK;
}

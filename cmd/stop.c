/* cmd/stop.c - ctrbox stop: stop running containers, SIGTERM (or the image's StopSignal) then
 * SIGKILL (DESIGN.md "run"; ctrbox-stop(1)) */
#include "cmd/applet.h"
#include "common/runtime/lifecycle.h"
#include "common/util/mem.h"

static const struct opt stop_opts[] = {
    {'t', "time", "DURATION", "wait this long before SIGKILL (default 10s)", COMP_NONE, NULL, 0},
    {0},
};

const struct applet applet_stop = {
    .name = "stop",
    .main = ctrbox_stop,
    .opts = stop_opts,
    .flags = AP_WRITES_STORE,
    .usage = "stop [-t DURATION] CONTAINER...",
    .summary = "stop running containers",
    .description = "CONTAINER is an ID, a unique ID prefix or a name. Each container gets its\n"
                   "image's stop signal (SIGTERM when it names none), then SIGKILL when it\n"
                   "has not exited within the time; stop returns once its exit is recorded.",
    .complete_args = COMP_CONTAINER_RUNNING,
};

int ctrbox_stop(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	int64_t timeout_ns = 10 * 1000000000LL;
	cleanup_free struct err *errs = NULL;
	int c, i, rc = EXIT_OK;

	opt_begin(&op, ctx, &applet_stop, argc, argv);
	while ((c = opt_next(&op)) > 0)
		if (c == 't' && opt_duration(&op, &timeout_ns) < 0)
			return op.rc;
	if (c < 0)
		return op.rc;
	if (op.argc == 0)
		return opt_usage_error(&op, "no container given");
	errs = xcalloc((size_t)op.argc, sizeof(*errs));
	/* All at once: stopping N containers takes one timeout, not N. */
	if (rt_stop_all(ctx, op.argv, (size_t)op.argc, timeout_ns, errs) > 0)
		rc = EXIT_FAIL;
	for (i = 0; i < op.argc; i++) {
		if (errs[i].code != E_OK)
			applet_fail(ctx, &errs[i]);
		else
			fprintf(ctx->out, "%s\n", op.argv[i]);
	}
	return rc;
}

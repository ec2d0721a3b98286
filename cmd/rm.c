/* cmd/rm.c - ctrbox rm: remove containers, their records, log, upper layer and cgroup
 * (DESIGN.md "run"; ctrbox-rm(1)) */
#include "cmd/applet.h"
#include "common/runtime/lifecycle.h"

static const struct opt rm_opts[] = {
    {'f', "force", NULL, "kill a running container (SIGKILL) and remove it", COMP_NONE, NULL, 0},
    {0},
};

const struct applet applet_rm = {
    .name = "rm",
    .main = ctrbox_rm,
    .opts = rm_opts,
    .flags = AP_WRITES_STORE | AP_NO_PLAIN,
    .usage = "rm [-f] CONTAINER...",
    .summary = "remove containers",
    .description = "CONTAINER is an ID, a unique ID prefix or a name. A running container is\n"
                   "refused unless -f is given.",
    .complete_args = COMP_CONTAINER_STOPPED,
};

int ctrbox_rm(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	bool force = false;
	int c, i, rc = EXIT_OK;

	opt_begin(&op, ctx, &applet_rm, argc, argv);
	while ((c = opt_next(&op)) > 0)
		if (c == 'f')
			force = true;
	if (c < 0)
		return op.rc;
	if (op.argc == 0)
		return opt_usage_error(&op, "no container given");
	for (i = 0; i < op.argc; i++) {
		struct err err = ERR_INIT;

		if (rt_remove(ctx, op.argv[i], force, &err) < 0)
			rc = applet_fail(ctx, &err);
		else
			fprintf(ctx->out, "%s\n", op.argv[i]);
	}
	return rc;
}

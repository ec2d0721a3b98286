/* cmd/kill.c - ctrbox kill: send a signal to running containers (DESIGN.md "run";
 * ctrbox-kill(1)) */
#include "cmd/applet.h"
#include "common/runtime/lifecycle.h"

static const struct opt kill_opts[] = {
    {'s', "signal", "SIGNAL", "the signal, by name or number (default KILL)", COMP_WORDS,
     RT_SIGNAL_WORDS, 0},
    {0},
};

const struct applet applet_kill = {
    .name = "kill",
    .main = ctrbox_kill,
    .opts = kill_opts,
    .flags = AP_WRITES_STORE | AP_NO_PLAIN,
    .usage = "kill [-s SIGNAL] CONTAINER...",
    .summary = "send a signal to running containers",
    .description = "CONTAINER is an ID, a unique ID prefix or a name. SIGNAL is a name with or\n"
                   "without SIG (KILL, SIGHUP, usr1) or a number (9).",
    .complete_args = COMP_CONTAINER_RUNNING,
};

int ctrbox_kill(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	int c, i, sig = 9, rc = EXIT_OK;

	opt_begin(&op, ctx, &applet_kill, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		struct err err = ERR_INIT;

		if (c == 's' && rt_signal_parse(op.arg, &sig, &err) < 0)
			return opt_usage_error(&op, "%s", err.msg);
	}
	if (c < 0)
		return op.rc;
	if (op.argc == 0)
		return opt_usage_error(&op, "no container given");
	for (i = 0; i < op.argc; i++) {
		struct err err = ERR_INIT;

		if (rt_kill(ctx, op.argv[i], sig, &err) < 0)
			rc = applet_fail(ctx, &err);
		else
			fprintf(ctx->out, "%s\n", op.argv[i]);
	}
	return rc;
}

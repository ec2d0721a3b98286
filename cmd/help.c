/* cmd/help.c - ctrbox help [APPLET]: ctrbox's or one applet's usage, from the tables in
 * cmd/applet.c (STYLE.md "Help, man pages, completion"; ctrbox-help(1)) */
#include <stdio.h>
#include <string.h>

#include "cmd/applet.h"

const struct applet applet_help_ = {
	.name = "help",
	.main = ctrbox_help,
	.flags = AP_NO_PLAIN | AP_NO_CONFIG,
	.usage = "help [APPLET]",
	.summary = "show help for ctrbox or one applet",
	.complete_args = COMP_APPLET,
};

int ctrbox_help(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	const struct applet *ap;
	int c;

	opt_begin(&op, ctx, &applet_help_, argc, argv);
	while ((c = opt_next(&op)) > 0)
		;
	if (c < 0)
		return op.rc;
	if (op.argc > 1)
		return opt_usage_error(&op, "one applet at a time");
	if (op.argc == 0) {
		help_general(ctx->out);
		return EXIT_OK;
	}
	ap = applet_find(op.argv[0]);
	if (!ap)
		return help_unknown_applet(op.argv[0], ctx->err);
	applet_help(ap, ctx->out);
	return EXIT_OK;
}

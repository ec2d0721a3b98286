/* cmd/help.c - ctrbox help [APPLET]: usage text generated from the applet and option tables,
 * so help, parsing and completion cannot drift apart (STYLE.md "Help, man pages, completion") */
#include <stdio.h>
#include <string.h>

#include "cmd/applet.h"
#include "common/store/layout.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"

const struct applet applet_help_ = {
	.name = "help",
	.main = ctrbox_help,
	.flags = AP_NO_PLAIN | AP_NO_CONFIG,
	.usage = "help [APPLET]",
	.summary = "show help for ctrbox or one applet",
	.complete_args = COMP_APPLET,
};

static void help_option_line(const struct opt *o, const char *formats, FILE *f)
{
	char left[96];
	int n;

	if (o->id < OPT_LONG && o->id != 0)
		n = snprintf(left, sizeof(left), "  -%c, --%s", o->id, o->name);
	else
		n = snprintf(left, sizeof(left), "      --%s", o->name);
	if (o->arg && n > 0 && (size_t)n < sizeof(left))
		snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->arg);
	if (o->comp == COMP_WORDS && (o->words || formats))
		fprintf(f, "%-30s %s: %s\n", left, o->help, o->words ? o->words : formats);
	else
		fprintf(f, "%-30s %s\n", left, o->help);
}

void help_options(const struct opt *opts, const char *formats, FILE *f)
{
	for (const struct opt *o = opts; o && o->id; o++)
		if (!(o->flags & OPT_HIDDEN))
			help_option_line(o, formats, f);
}

void applet_help(const struct applet *ap, FILE *f)
{
	fprintf(f, "Usage: ctrbox %s\n\n%s\n", ap->usage, ap->summary);
	if (ap->description)
		fprintf(f, "\n%s\n", ap->description);
	fprintf(f, "\nOptions:\n");
	help_options(ap->opts, NULL, f);
	if (ap->flags & AP_OUTPUT)
		help_options(output_opts, ap->formats ? ap->formats : "table|json", f);
	fprintf(f, "%-30s %s\n", "  -h, --help", "print this help");
	fprintf(f, "\nSee ctrbox-%s(1).\n", ap->name);
}

void help_general(FILE *f)
{
	fprintf(f, "Usage: ctrbox [GLOBAL OPTIONS] APPLET [ARGS...]\n"
		   "       ctrbox-APPLET [ARGS...]\n\n"
		   "A node-level container toolkit: one binary for pulling, unpacking, running,\n"
		   "listing and diagnosing containers on a node.\n\nApplets:\n");
	for (const struct applet *const *a = applets; *a; a++)
		if (!((*a)->flags & AP_HIDDEN))
			fprintf(f, "  %-12s %s\n", (*a)->name, (*a)->summary);
	fprintf(f, "\nGlobal options:\n");
	help_options(global_opts, NULL, f);
	fprintf(f, "\nRun 'ctrbox help APPLET' or 'ctrbox APPLET --help' for an applet's options.\n"
		   "See ctrbox(1).\n");
}

int help_unknown_applet(const char *name, FILE *f)
{
	const char *cands[64];
	const char *s;
	size_t n = 0;

	for (const struct applet *const *a = applets; *a && n + 1 < ARRAY_SIZE(cands); a++)
		if (!((*a)->flags & AP_HIDDEN))
			cands[n++] = (*a)->name;
	cands[n] = NULL;
	s = str_suggest(name, cands);
	if (s)
		fprintf(f, "ctrbox: %s: unknown applet (did you mean \"%s\"?)\n", name, s);
	else
		fprintf(f, "ctrbox: %s: unknown applet\n", name);
	fprintf(f, "Try 'ctrbox --list'.\n");
	return EXIT_USAGE;
}

int applet_fail(struct ctx *ctx, const struct err *e)
{
	fprintf(ctx->err, "ctrbox %s: %s\n", ctx->applet ? ctx->applet : "", e->msg);
	return EXIT_FAIL;
}

int applet_need_store(struct ctx *ctx)
{
	struct err e = ERR_INIT;

	if (store_init(ctx, &e) < 0)
		return applet_fail(ctx, &e);
	return EXIT_OK;
}

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

/* cmd/prune.c - ctrbox prune: remove blobs no image references, snapshots nothing uses and
 * partial downloads nobody is resuming (DESIGN.md "pull"; ctrbox-prune(1)) */
#include "cmd/applet.h"
#include "common/image/gc.h"
#include "common/util/out.h"
#include "common/util/units.h"

enum {
	O_DRY_RUN = OPT_LONG + 1,
	O_KEEP_INGESTS,
};

static const struct opt prune_opts[] = {
	{O_DRY_RUN, "dry-run", NULL, "list what would be removed, remove nothing", COMP_NONE, NULL,
	 0},
	{O_KEEP_INGESTS, "keep-partial", NULL, "keep partial downloads for a later resume",
	 COMP_NONE, NULL, 0},
	{0},
};

const struct applet applet_prune = {
	.name = "prune",
	.main = ctrbox_prune,
	.opts = prune_opts,
	.flags = AP_OUTPUT | AP_WRITES_STORE,
	.usage = "prune [--dry-run] [--keep-partial] [--format table|json]",
	.summary = "remove content no image uses",
	.description = "Removes blobs that no image record reaches, snapshots that no image or\n"
		       "container uses, and partial downloads that no pull holds. Refuses (exit 1)\n"
		       "while a pull is running rather than wait.",
};

static const struct col prune_cols[] = {
	{"name", "NAME", COL_STR},
	{"kind", "KIND", COL_STR},
	{"size_bytes", "SIZE", COL_SIZE},
	{0},
};

int ctrbox_prune(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct err e = ERR_INIT;
	struct gc_report r = {0};
	enum gc_flags flags = GC_INGESTS | GC_SNAPSHOTS;
	struct out *o;
	char total[UNITS_BUFSZ];
	int c, rc;

	opt_begin(&op, ctx, &applet_prune, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		if (c == O_DRY_RUN)
			flags |= GC_DRY_RUN;
		else if (c == O_KEEP_INGESTS)
			flags &= ~GC_INGESTS;
	}
	if (c < 0)
		return op.rc;
	if (op.argc > 0)
		return opt_usage_error(&op, "unexpected argument \"%s\"", op.argv[0]);
	if ((rc = applet_need_store(ctx)) != EXIT_OK)
		return rc;
	if (gc_collect(ctx, flags, &r, &e) < 0)
		return applet_fail(ctx, &e);
	o = out_begin(ctx, prune_cols);
	for (size_t i = 0; i < r.n_items; i++)
		out_row(o, r.items[i].name, r.items[i].what, r.items[i].size_bytes);
	if (out_end(o, &e) < 0)
		rc = applet_fail(ctx, &e);
	if (ctx->fmt == OUT_TABLE && !ctx->quiet) {
		units_format_size(r.bytes, total, sizeof(total));
		fprintf(ctx->err, "%s %zu item(s), %s\n",
			flags & GC_DRY_RUN ? "would remove" : "removed", r.n_items, total);
	}
	gc_report_release(&r);
	return rc;
}

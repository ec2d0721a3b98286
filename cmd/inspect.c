/* cmd/inspect.c - ctrbox inspect: containers and images as JSON (DESIGN.md "run";
 * ctrbox-inspect(1)) */
#include <string.h>

#include "cmd/applet.h"
#include "common/runtime/inspect.h"
#include "common/util/mem.h"
#include "common/util/out.h"

static const struct opt inspect_opts[] = {
    {OPT_LONG, "type", "TYPE", "only a container or only an image", COMP_WORDS, "container|image",
     0},
    {0},
};

const struct applet applet_inspect = {
    .name = "inspect",
    .main = ctrbox_inspect,
    .opts = inspect_opts,
    .usage = "inspect [--type TYPE] NAME...",
    .summary = "show containers and images as JSON",
    .description = "NAME is a container (ID, unique ID prefix or name) or an image (reference,\n"
                   "or a unique prefix of its ID or digest); a container wins when both match.\n"
                   "Prints one JSON array with an object per NAME found.",
    .complete_args = COMP_CONTAINER,
};

int ctrbox_inspect(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	enum inspect_kind kind = INSPECT_ANY;
	struct inspect *in;
	cleanup_free char *json = NULL;
	struct err err = ERR_INIT;
	int c, i, rc = EXIT_OK;

	opt_begin(&op, ctx, &applet_inspect, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		if (c != OPT_LONG)
			continue;
		if (strcmp(op.arg, "container") == 0)
			kind = INSPECT_CONTAINER;
		else if (strcmp(op.arg, "image") == 0)
			kind = INSPECT_IMAGE;
		else
			return opt_usage_error(&op, "--type: \"%s\": not container or image",
			                       op.arg);
	}
	if (c < 0)
		return op.rc;
	if (op.argc == 0)
		return opt_usage_error(&op, "nothing to inspect");
	in = inspect_new();
	for (i = 0; i < op.argc; i++) {
		err_clear(&err);
		if (inspect_add(ctx, in, op.argv[i], kind, &err) < 0)
			rc = applet_fail(ctx, &err);
	}
	json = inspect_finish(in);
	err_clear(&err);
	if (out_json_text(ctx, json, &err) < 0)
		return applet_fail(ctx, &err);
	return rc;
}

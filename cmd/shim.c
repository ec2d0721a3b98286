/* cmd/shim.c - ctrbox __shim: the hidden applet `run` execs as each container's shim
 * (DESIGN.md lesson 3; common/runtime/shim.h). Not for people: `run` starts it. */
#include <stdlib.h>
#include <string.h>

#include "cmd/applet.h"
#include "common/runtime/shim.h"
#include "common/store/layout.h"

enum { O_STATUS_FD = OPT_LONG + 1, O_RM, O_WAIT_ATTACH, O_OVERLAY, O_STDIN };

static const struct opt shim_opts_[] = {
    {O_STATUS_FD, "status-fd", "FD", "report to `run` on this descriptor", COMP_NONE, NULL, 0},
    {O_RM, "rm", NULL, "remove the container after it exits", COMP_NONE, NULL, 0},
    {O_WAIT_ATTACH, "wait-attach", NULL, "start the container once a client attached", COMP_NONE,
     NULL, 0},
    {O_OVERLAY, "overlay", "DATA", "the rootfs overlay's mount data", COMP_NONE, NULL, 0},
    {O_STDIN, "stdin", NULL, "the container's stdin comes from attach clients", COMP_NONE, NULL, 0},
    {0},
};

const struct applet applet_shim = {
    .name = "__shim",
    .main = ctrbox_shim,
    .opts = shim_opts_,
    .flags = AP_HIDDEN | AP_NO_PLAIN,
    .usage = "__shim [--status-fd FD] [--rm] [--wait-attach] [--overlay DATA] [--stdin] ID",
    .summary = "the per-container shim (started by run)",
};

int ctrbox_shim(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct shim_opts o = {0};
	uint64_t fd = 0;
	bool have_fd = false;
	int c;

	opt_begin(&op, ctx, &applet_shim, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		if (c == O_STATUS_FD) {
			if (opt_uint(&op, 1024, &fd) < 0)
				return op.rc;
			have_fd = true;
		} else if (c == O_RM) {
			o.rm = true;
		} else if (c == O_WAIT_ATTACH) {
			o.wait_attach = true;
		} else if (c == O_OVERLAY) {
			o.overlay = op.arg;
		} else if (c == O_STDIN) {
			o.open_stdin = true;
		}
	}
	if (c < 0)
		return op.rc;
	if (op.argc != 1 || !store_id_valid(op.argv[0]))
		return opt_usage_error(&op, "expected one full container ID");
	o.id = op.argv[0];
	return shim_main(ctx, &o, have_fd ? (int)fd : -1);
}

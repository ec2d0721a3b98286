/* cmd/attach.c - ctrbox attach: re-attach to a running container's output, and to its stdin and
 * terminal when it was started with -i/-t, through the shim's attach socket (DESIGN.md "run";
 * ctrbox-attach(1)) */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd/applet.h"
#include "common/runtime/attach.h"
#include "common/runtime/lookup.h"
#include "common/runtime/term.h"
#include "common/store/container_record.h"
#include "common/util/mem.h"

enum { O_NO_STDIN = OPT_LONG + 1, O_DETACH_KEYS };

static const struct opt attach_opts[] = {
    {O_NO_STDIN, "no-stdin", NULL, "only watch: send none of our input", COMP_NONE, NULL, 0},
    {O_DETACH_KEYS, "detach-keys", "KEYS",
     "keys that leave the container running (default ctrl-p,ctrl-q)", COMP_NONE, NULL, 0},
    {0},
};

const struct applet applet_attach = {
    .name = "attach",
    .main = ctrbox_attach,
    .opts = attach_opts,
    .usage = "attach [--no-stdin] [--detach-keys KEYS] CONTAINER",
    .summary = "attach to a running container's output, input and terminal",
    .description =
        "CONTAINER is an ID, a unique ID prefix or a name. Its output from now on is streamed\n"
        "until it exits, and its exit status is ours. When it was started with -i our input\n"
        "is its input, and with -t (and our stdin a terminal) our terminal is raw and its size\n"
        "follows ours. The detach keys, or SIGINT, SIGTERM or SIGHUP to attach itself, leave\n"
        "the container running. Several clients may attach at once; one too slow to read has\n"
        "output dropped, with a notice, rather than hold the container up.",
    .complete_args = COMP_CONTAINER_RUNNING,
};

struct attach_client_ctx {
	struct attach_session s; /* first: the attach_session_* callbacks take it */
	struct ctx *ctx;
	char id12[13];
	bool raw;
};

static void notice(void *arg, const char *msg)
{
	struct attach_client_ctx *c = arg;

	fprintf(c->ctx->err, "ctrbox attach: %s: %s%s", c->id12, msg, c->raw ? "\r\n" : "\n");
	fflush(c->ctx->err);
}

/* The stream ended without an exit frame (the shim was killed, or it dropped us at exit):
 * the record has the status once the shim or stop wrote it. */
static int status_from_state(struct ctx *ctx, const char *id)
{
	for (int i = 0; i < 50; i++) {
		struct container_state st;
		struct err e = ERR_INIT;
		if (container_state_load(ctx, id, &st, &e) < 0)
			break;
		if (st.status == STATUS_STOPPED)
			return st.exit_code;
		usleep(100 * 1000);
	}
	fprintf(ctx->err, "ctrbox attach: %.12s: the shim hung up without an exit status\n", id);
	return EXIT_FAIL;
}

int ctrbox_attach(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct term_keys keys;
	struct err e = ERR_INIT;
	struct container_state st;
	struct attach_client_ctx c = {.ctx = ctx};
	struct term_relay r = {.in_fd = -1,
	                       .tty_fd = -1,
	                       .out_fd = 1,
	                       .on_input = attach_session_input,
	                       .on_peer = attach_session_step,
	                       .on_resize = attach_session_resize,
	                       .arg = &c};
	cleanup_close int fd = -1;
	bool no_stdin = false;
	char id[65];
	int ch, rc, sig;

	(void)term_keys_parse(TERM_DETACH_DEFAULT, &keys, &e);
	opt_begin(&op, ctx, &applet_attach, argc, argv);
	while ((ch = opt_next(&op)) > 0) {
		if (ch == O_NO_STDIN)
			no_stdin = true;
		else if (ch == O_DETACH_KEYS && term_keys_parse(op.arg, &keys, &e) < 0)
			return opt_usage_error(&op, "--detach-keys: %s", e.msg);
	}
	if (ch < 0)
		return op.rc;
	if (op.argc != 1)
		return opt_usage_error(&op,
		                       op.argc ? "one container at a time" : "no container given");
	if (container_lookup(ctx, op.argv[0], id, &e) < 0)
		return applet_fail(ctx, &e);
	snprintf(c.id12, sizeof(c.id12), "%.12s", id);
	if (container_state_load(ctx, id, &st, &e) < 0 || st.status != STATUS_RUNNING ||
	    attach_connect(ctx, id, &fd, &e) < 0) {
		err_clear(&e);
		err_set(&e, E_INVALID, "%s: container is not running", op.argv[0]);
		return applet_fail(ctx, &e);
	}
	signal(SIGPIPE, SIG_IGN);
	attach_session_init(&c.s, fd);
	c.s.on_notice = notice;
	c.s.arg = &c;
	if (attach_session_hello(&c.s, &e) < 0) {
		/* Hung up at once: the container just exited, or the shim turned us away (it
		 * said why in a notice). */
		attach_session_release(&c.s);
		if (container_state_load(ctx, id, &st, &e) == 0 && st.status == STATUS_STOPPED)
			return st.exit_code;
		err_wrap(&e, "%s", c.id12);
		return applet_fail(ctx, &e);
	}
	if ((c.s.flags & ATTACH_HELLO_STDIN) && !no_stdin)
		r.in_fd = 0;
	if ((c.s.flags & ATTACH_HELLO_TTY) && r.in_fd == 0 && isatty(0)) {
		r.tty_fd = 0;
		c.raw = r.raw = true;
		r.detach = &keys;
	}
	r.peer_fd = fd;
	rc = term_relay_run(&r, &sig, &e);
	attach_session_release(&c.s);
	switch (rc) {
	case TERM_END_DETACH:
		return EXIT_OK;
	case TERM_END_SIGNAL:
		return 128 + sig; /* the container goes on */
	case TERM_END_PEER:
		if (c.s.exited)
			return c.s.code;
		return status_from_state(ctx, id);
	default:
		return applet_fail(ctx, &e);
	}
}

/* cmd/exec.c - ctrbox exec: run a command in a running container, with our stdio or a
 * pseudo-terminal, and its exit code as ours (DESIGN.md "run": `exec`; issue 6;
 * ctrbox-exec(1)) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/applet.h"
#include "common/runtime/exec.h"
#include "common/runtime/exec_join.h"
#include "common/runtime/procexec.h"
#include "common/runtime/term.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

extern char **environ;

enum {
	O_ENV_FILE = OPT_LONG + 1,
	O_PRIVILEGED,
	O_DETACH_KEYS,
};

static const struct opt exec_opts[] = {
    {'d', "detach", NULL, "start the command and return without waiting", COMP_NONE, NULL, 0},
    {'i', "interactive", NULL, "give the command our stdin (default: /dev/null)", COMP_NONE, NULL,
     0},
    {'t', "tty", NULL, "give the command a pseudo-terminal (stdin must be a terminal)", COMP_NONE,
     NULL, 0},
    {'e', "env", "KEY[=VALUE]", "set an environment variable (KEY alone: ours)", COMP_NONE, NULL,
     0},
    {O_ENV_FILE, "env-file", "FILE", "read KEY=VALUE lines from a file", COMP_FILE, NULL, 0},
    {'u', "user", "USER[:GROUP]", "run as this user of the container: a name or uid, and group",
     COMP_NONE, NULL, 0},
    {'w', "workdir", "DIR", "the working directory inside the container", COMP_NONE, NULL, 0},
    {O_PRIVILEGED, "privileged", NULL, "every capability (the seccomp filter stays)", COMP_NONE,
     NULL, 0},
    {O_DETACH_KEYS, "detach-keys", "KEYS",
     "keys that detach from -it, leaving the command running (default ctrl-p,ctrl-q)", COMP_NONE,
     NULL, 0},
    {0},
};

const struct applet applet_exec = {
    .name = "exec",
    .main = ctrbox_exec,
    .opts = exec_opts,
    .flags = AP_WRITES_STORE | AP_ARGS_STOP,
    .usage = "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
    .summary = "run a command in a running container",
    .description =
        "CONTAINER is an ID, a unique ID prefix or a name. The command joins the container's\n"
        "namespaces and cgroup with its environment, user, capabilities and seccomp filter,\n"
        "and exec returns its exit status (125: ctrbox failed or the container is not\n"
        "running, 126: the command cannot be executed, 127: it was not found).",
    .complete_args = COMP_CONTAINER_RUNNING,
};

/* The joining process, executed by exec from a sealed copy of ctrbox (exec_join.h); not for
 * people: it reads its job from descriptors a waiter laid out. */
const struct applet applet_exec_join = {
    .name = "__exec",
    .main = ctrbox_exec_join,
    .flags = AP_HIDDEN | AP_NO_PLAIN | AP_NO_CONFIG,
    .usage = "__exec",
    .summary = "the joining process of exec (started by exec)",
};

int ctrbox_exec_join(struct ctx *ctx, int argc, char **argv)
{
	exec_join_main();
}

/* The waiter's socket, for the handlers to forward SIGINT/SIGTERM/SIGHUP/SIGQUIT through
 * (exec_signal is async-signal-safe). */
static volatile sig_atomic_t forward_fd = -1;

static void on_signal(int sig)
{
	exec_signal((int)forward_fd, sig);
}

/* -t: the pty master is the peer of the terminal relay. */
struct tty_ctx {
	int master, waiter_fd;
};

static int tty_input(void *arg, const void *buf, size_t len, struct err *e)
{
	const struct tty_ctx *t = arg;

	if (len == 0)
		return 0; /* our stdin ended; the command keeps its terminal */
	return fs_write_all(t->master, buf, len, e);
}

static int tty_resize(void *arg, unsigned short rows, unsigned short cols, struct err *e)
{
	const struct tty_ctx *t = arg;

	return term_set_winsize(t->master, rows, cols, e);
}

static bool tty_signal(void *arg, int sig)
{
	const struct tty_ctx *t = arg;

	exec_signal(t->waiter_fd, sig); /* the command decides; we wait for its exit */
	return false;
}

/* Relays the terminal until the command's side closes or the detach keys; then its exit
 * status (0 after a detach: it keeps running). */
static int relay_tty(struct ctx *ctx, struct exec_session *s, bool interactive,
                     const struct term_keys *keys)
{
	struct tty_ctx t = {s->pty_fd, s->fd};
	struct term_relay r = {
	    .in_fd = interactive ? 0 : -1,
	    .tty_fd = 0,
	    .peer_fd = s->pty_fd,
	    .out_fd = 1,
	    .raw = interactive,
	    .detach = interactive ? keys : NULL,
	    .on_input = tty_input,
	    .on_resize = tty_resize,
	    .on_signal = tty_signal,
	    .arg = &t,
	};
	struct err e = ERR_INIT;
	int sig = 0, code = 0, end;

	end = term_relay_run(&r, &sig, &e);
	if (end < 0) {
		applet_fail(ctx, &e);
		return EXIT_RUN_ERROR;
	}
	if (end == TERM_END_DETACH)
		return EXIT_OK;
	if (exec_wait(s, &code, &e) < 0) {
		applet_fail(ctx, &e);
		return EXIT_RUN_ERROR;
	}
	return code;
}

/* Without a terminal the command has our stdio itself: wait, forwarding signals. */
static int wait_plain(struct ctx *ctx, struct exec_session *s)
{
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
	struct err e = ERR_INIT;
	int code = 0;

	forward_fd = s->fd;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	if (exec_wait(s, &code, &e) < 0) {
		applet_fail(ctx, &e);
		code = EXIT_RUN_ERROR;
	}
	forward_fd = -1;
	return code;
}

int ctrbox_exec(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct exec_opts o = {.envp = (const char *const *)environ};
	struct exec_session s = EXEC_SESSION_INIT;
	struct term_keys keys = {0};
	struct err e = ERR_INIT;
	cleanup_strv char **env = NULL;
	cleanup_strv char **command = NULL;
	const char *detach_keys = TERM_DETACH_DEFAULT;
	int c, rc, fail_code = EXIT_RUN_ERROR;

	opt_begin(&op, ctx, &applet_exec, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'd':
			o.detach = true;
			break;
		case 'i':
			o.interactive = true;
			break;
		case 't':
			o.tty = true;
			break;
		case 'e':
			strv_push(&env, op.arg);
			break;
		case O_ENV_FILE: {
			struct err fe = ERR_INIT;

			if (env_file_read(op.arg, &env, &fe) < 0)
				return opt_usage_error(&op, "--env-file: %s", fe.msg);
			break;
		}
		case 'u':
			o.user = op.arg;
			break;
		case 'w':
			o.workdir = op.arg;
			break;
		case O_PRIVILEGED:
			o.privileged = true;
			break;
		case O_DETACH_KEYS:
			detach_keys = op.arg;
			break;
		default:
			break;
		}
	}
	if (c < 0)
		return op.rc;
	if (op.argc == 0)
		return opt_usage_error(&op, "no container given");
	if (op.argc == 1)
		return opt_usage_error(&op, "no command given");
	if (o.workdir && o.workdir[0] != '/')
		return opt_usage_error(&op, "--workdir %s: not an absolute path", o.workdir);
	if (term_keys_parse(detach_keys, &keys, &e) < 0)
		return opt_usage_error(&op, "--detach-keys: %s", e.msg);
	if (o.tty && !o.detach) {
		if (!isatty(0)) {
			fprintf(ctx->err, "ctrbox exec: -t: stdin is not a terminal\n");
			return EXIT_RUN_ERROR;
		}
		if (term_winsize(0, &o.rows, &o.cols, &e) < 0)
			err_clear(&e); /* no size: the pty keeps its default */
	}
	/* op.argv is not NULL-terminated at op.argc: the parser compacts in place. */
	for (int i = 1; i < op.argc; i++)
		strv_push(&command, op.argv[i]);
	o.argv = command;
	o.env = (const char *const *)env;
	/* Test hook (ctrbox-exec(1) ENVIRONMENT): pause before exec until this path exists. */
	o.pause_path = getenv("CTRBOX_TEST_EXEC_PAUSE");

	if (exec_start(ctx, op.argv[0], &o, &s, &fail_code, &e) < 0) {
		applet_fail(ctx, &e);
		return fail_code;
	}
	if (o.detach)
		rc = EXIT_OK;
	else if (o.tty)
		rc = relay_tty(ctx, &s, o.interactive, &keys);
	else
		rc = wait_plain(ctx, &s);
	exec_session_release(&s);
	return rc;
}

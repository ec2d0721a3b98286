/* cmd/run.c - ctrbox run: create a container from an image (or an OCI bundle), start it under
 * its shim, and stream its output with its exit code as ours, or print its ID with -d
 * (DESIGN.md "run"; ctrbox-run(1)) */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/applet.h"
#include "common/runtime/attach.h"
#include "common/runtime/container.h"
#include "common/runtime/shim.h"
#include "common/runtime/spec.h"
#include "common/runtime/procexec.h"
#include "common/runtime/term.h"
#include "common/store/container_record.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/mem.h"
#include "common/util/units.h"

extern char **environ;

enum {
	O_RM = OPT_LONG + 1,
	O_NAME,
	O_ENV_FILE,
	O_ENTRYPOINT,
	O_HOSTNAME,
	O_READ_ONLY,
	O_CPUS,
	O_PIDS_LIMIT,
	O_NET,
	O_CAP_ADD,
	O_CAP_DROP,
	O_PRIVILEGED,
	O_PULL,
	O_BUNDLE,
	O_PLAIN_HTTP,
	O_DETACH_KEYS,
	O_LOG_MAX_SIZE,
	O_LOG_MAX_FILES,
};

static const struct opt run_opts[] = {
    {'d', "detach", NULL, "run in the background and print the container ID", COMP_NONE, NULL, 0},
    {O_RM, "rm", NULL, "remove the container when it exits", COMP_NONE, NULL, 0},
    {'i', "interactive", NULL, "give the container our stdin (default: /dev/null)", COMP_NONE, NULL,
     0},
    {'t', "tty", NULL, "give the container a terminal (with -i ours, in raw mode)", COMP_NONE, NULL,
     0},
    {O_DETACH_KEYS, "detach-keys", "KEYS",
     "keys that leave the container running with -it (default ctrl-p,ctrl-q)", COMP_NONE, NULL, 0},
    {O_NAME, "name", "NAME", "name the container (default: a generated one)", COMP_NONE, NULL, 0},
    {'e', "env", "KEY[=VALUE]", "set an environment variable (KEY alone: ours)", COMP_NONE, NULL,
     0},
    {O_ENV_FILE, "env-file", "FILE", "read KEY=VALUE lines from a file", COMP_FILE, NULL, 0},
    {'w', "workdir", "DIR", "the working directory inside the container", COMP_NONE, NULL, 0},
    {'u', "user", "USER[:GROUP]", "run as this user: a name or uid, and group", COMP_NONE, NULL, 0},
    {O_ENTRYPOINT, "entrypoint", "CMD", "replace the image's entrypoint (\"\" clears it)",
     COMP_NONE, NULL, 0},
    {O_HOSTNAME, "hostname", "NAME", "the container's host name (default: its short ID)", COMP_NONE,
     NULL, 0},
    {'v', "volume", "SRC:DST[:ro]", "bind-mount a host path into the container", COMP_FILE, NULL,
     0},
    {O_READ_ONLY, "read-only", NULL, "mount the container's root file system read-only", COMP_NONE,
     NULL, 0},
    {'m', "memory", "SIZE", "memory limit (64M, 1G)", COMP_NONE, NULL, 0},
    {O_CPUS, "cpus", "N", "CPU limit in CPUs (1.5)", COMP_NONE, NULL, 0},
    {O_PIDS_LIMIT, "pids-limit", "N", "at most N processes", COMP_NONE, NULL, 0},
    {O_NET, "net", "MODE", "the network (none, the default: a loopback of its own)", COMP_WORDS,
     "none|host", 0},
    {'l', "label", "KEY=VALUE", "set a label on the container", COMP_NONE, NULL, 0},
    {O_CAP_ADD, "cap-add", "CAP", "add a capability (SYS_ADMIN, ALL)", COMP_NONE, NULL, 0},
    {O_CAP_DROP, "cap-drop", "CAP", "drop a capability (NET_RAW, ALL)", COMP_NONE, NULL, 0},
    {O_PRIVILEGED, "privileged", NULL, "all capabilities, no seccomp, nothing masked", COMP_NONE,
     NULL, 0},
    {O_PULL, "pull", "POLICY", "when to pull the image (default missing)", COMP_WORDS,
     "missing|always|never", 0},
    {O_PLAIN_HTTP, "plain-http", NULL, "pull over plain HTTP", COMP_NONE, NULL, 0},
    {O_BUNDLE, "bundle", "DIR", "run an OCI bundle (config.json and rootfs) instead of an image",
     COMP_DIR, NULL, 0},
    {O_LOG_MAX_SIZE, "log-max-size", "SIZE",
     "rotate the container's log past SIZE (default: container_log.max_size, 10MiB)", COMP_NONE,
     NULL, 0},
    {O_LOG_MAX_FILES, "log-max-files", "N",
     "keep N rotated log files (default: container_log.max_files, 3)", COMP_NONE, NULL, 0},
    {0},
};

const struct applet applet_run = {
    .name = "run",
    .main = ctrbox_run,
    .opts = run_opts,
    .flags = AP_WRITES_STORE | AP_ARGS_STOP,
    .usage = "run [OPTIONS] IMAGE [COMMAND [ARG...]]",
    .summary = "run a command in a new container",
    .description =
        "Pulls IMAGE when missing, unpacks it, writes the container's config.json and starts\n"
        "it under its own shim, which outlives this command. In the foreground run streams\n"
        "the container's output and exits with its status (125: ctrbox failed, 126: the\n"
        "command cannot be executed, 127: it was not found); -d prints the ID instead.\n"
        "With --bundle DIR there is no IMAGE: the bundle's config.json says what to run.",
    .complete_args = COMP_IMAGE,
};

struct run_args {
	char **command, **env, **volumes, **cap_add, **cap_drop;
	struct label *labels;
	size_t n_labels;
};

static void run_args_release(struct run_args *a)
{
	strv_free(a->command);
	strv_free(a->env);
	strv_free(a->volumes);
	strv_free(a->cap_add);
	strv_free(a->cap_drop);
	for (size_t i = 0; i < a->n_labels; i++) {
		free(a->labels[i].key);
		free(a->labels[i].value);
	}
	free(a->labels);
}

/* --cpus 1.5 in thousandths. */
static int parse_cpus(struct optparse *op, int64_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(op->arg, &end);
	if (errno || end == op->arg || *end || v <= 0 || v > 4096)
		return opt_usage_error(op, "--cpus: expected a positive number of CPUs, got %s",
		                       op->arg);
	*out = (int64_t)(v * 1000 + 0.5);
	return 0;
}

/* --log-max-size and --log-max-files: the bounds of ctrbox-config(5) container_log. */
static int parse_log_max_size(struct optparse *op, int64_t *out)
{
	struct err e = ERR_INIT;

	if (units_parse_size(op->arg, out, &e) < 0)
		return opt_usage_error(op, "--log-max-size: %s", e.msg);
	if (*out < CONFIG_CONTAINER_LOG_SIZE_MIN)
		return opt_usage_error(op, "--log-max-size: at least 4KiB, got %s", op->arg);
	return 0;
}

static int parse_log_max_files(struct optparse *op, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(op->arg, &end, 10);
	if (!isdigit((unsigned char)op->arg[0]) || errno || *end || v < 1 ||
	    v > CONFIG_CONTAINER_LOG_FILES_MAX)
		return opt_usage_error(op,
		                       "--log-max-files: expected a number from 1 to %d, got %s",
		                       CONFIG_CONTAINER_LOG_FILES_MAX, op->arg);
	*out = (int)v;
	return 0;
}

static int parse_label(struct optparse *op, struct run_args *a)
{
	const char *eq = strchr(op->arg, '=');

	if (!*op->arg || eq == op->arg)
		return opt_usage_error(op, "--label: expected KEY=VALUE, got %s", op->arg);
	a->labels = xreallocarray(a->labels, a->n_labels + 1, sizeof(*a->labels));
	a->labels[a->n_labels].key =
	    eq ? xstrndup(op->arg, (size_t)(eq - op->arg)) : xstrdup(op->arg);
	a->labels[a->n_labels].value = xstrdup(eq ? eq + 1 : "");
	a->n_labels++;
	return 0;
}

/* When the shim could not stream to us to the end (we were too slow), the record says. */
static int exit_from_state(struct ctx *ctx, const char *id)
{
	for (int i = 0; i < 36000; i++) {
		struct container_state st;
		struct err e = ERR_INIT;
		if (container_state_load(ctx, id, &st, &e) < 0)
			return EXIT_RUN_ERROR;
		if (st.status == STATUS_STOPPED)
			return st.exit_code;
		usleep(100 * 1000);
	}
	return EXIT_RUN_ERROR;
}

/* One foreground attachment: the session first, so the attach_session_* callbacks take it. */
struct run_client {
	struct attach_session s;
	struct ctx *ctx;
	const char *id;
	pid_t init;
	bool raw;
};

/* SIGINT, SIGTERM and SIGHUP sent to us go to the container's init; we go on streaming until
 * it exits. (With -it a typed ctrl-c is no signal: it is a byte for the container's tty.) */
static bool forward_signal(void *arg, int sig)
{
	struct run_client *c = arg;

	kill(c->init, sig);
	return false;
}

static void notice(void *arg, const char *msg)
{
	struct run_client *c = arg;

	fprintf(c->ctx->err, "ctrbox run: %.12s: %s%s", c->id, msg, c->raw ? "\r\n" : "\n");
	fflush(c->ctx->err);
}

/* Streams the container's output until its exit frame, with -i our stdin to it, and with -t
 * (the shim's hello says) our window size, in raw mode with -it; the detach keys leave it
 * running (0). */
static int stream(struct ctx *ctx, const char *id, int afd, pid_t init, bool in,
                  const struct term_keys *keys)
{
	struct run_client c = {.ctx = ctx, .id = id, .init = init};
	struct term_relay r = {.in_fd = in ? 0 : -1,
	                       .tty_fd = -1,
	                       .peer_fd = afd,
	                       .out_fd = 1,
	                       .on_input = attach_session_input,
	                       .on_peer = attach_session_step,
	                       .on_resize = attach_session_resize,
	                       .on_signal = forward_signal,
	                       .arg = &c};
	struct err e = ERR_INIT;
	int rc, sig;

	attach_session_init(&c.s, afd);
	c.s.on_notice = notice;
	c.s.arg = &c;
	signal(SIGPIPE, SIG_IGN);
	if (attach_session_hello(&c.s, &e) < 0) {
		attach_session_release(&c.s);
		return exit_from_state(ctx, id);
	}
	if ((c.s.flags & ATTACH_HELLO_TTY) && isatty(0)) {
		r.tty_fd = 0;
		c.raw = r.raw = in;
		r.detach = in ? keys : NULL;
	}
	rc = term_relay_run(&r, &sig, &e);
	attach_session_release(&c.s);
	if (rc == TERM_END_DETACH)
		return EXIT_OK;
	if (rc == TERM_END_PEER && c.s.exited)
		return c.s.code;
	/* The shim could not stream to us to the end: the record says. */
	return exit_from_state(ctx, id);
}

/* Starts the shim for the container id (or, with *sfd already open, tells the shim started
 * early which container it runs), then waits for it to say the container started. */
static int start(struct ctx *ctx, const char *id, int *sfd, bool detach, bool rm, bool in,
                 const struct term_keys *keys)
{
	struct shim_opts so = {.id = id, .rm = rm, .wait_attach = !detach, .open_stdin = in};
	struct shim_msg m;
	struct err e = ERR_INIT;
	cleanup_close int afd = -1;
	cleanup_free char *overlay = NULL;

	if (container_overlay_options(ctx, id, &overlay, &e) < 0) {
		applet_fail(ctx, &e);
		container_discard(ctx, id);
		return EXIT_RUN_ERROR;
	}
	so.overlay = overlay;
	if (*sfd >= 0 ? shim_send_start(*sfd, id, overlay, &e) < 0
	              : shim_spawn(ctx, NULL, &so, sfd, NULL, &e) < 0) {
		applet_fail(ctx, &e);
		container_discard(ctx, id);
		return EXIT_RUN_ERROR;
	}
	if (shim_read_msg(*sfd, &m, &e) < 0) {
		applet_fail(ctx, &e);
		container_discard(ctx, id);
		return EXIT_RUN_ERROR;
	}
	if (m.kind == SHIM_READY) {
		if (!detach && attach_connect(ctx, id, &afd, &e) < 0) {
			applet_fail(ctx, &e);
			return EXIT_RUN_ERROR;
		}
		if (shim_read_msg(*sfd, &m, &e) < 0) {
			applet_fail(ctx, &e);
			return EXIT_RUN_ERROR;
		}
	}
	if (m.kind == SHIM_FAILED) {
		fprintf(ctx->err, "ctrbox run: %s\n", m.msg);
		return m.code ? m.code : EXIT_RUN_ERROR;
	}
	if (detach) {
		fprintf(ctx->out, "%s\n", id);
		return EXIT_OK;
	}
	return stream(ctx, id, afd, m.pid, in, keys);
}

int ctrbox_run(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct run_args a = {0};
	struct spec_opts so = {.envp = (const char *const *)environ};
	struct pull_opts po = {0};
	struct container_opts co = {.spec = &so, .pull_opts = &po};
	struct err e = ERR_INIT;
	uint64_t pids = 0;
	bool detach = false, rm = false, interactive = false;
	struct term_keys keys;
	cleanup_free char *shim_bin = NULL;
	cleanup_close int sfd = -1;
	pid_t starter = -1;
	struct err ignored = ERR_INIT;
	char id[65];
	int c, rc;

	(void)term_keys_parse(TERM_DETACH_DEFAULT, &keys, &e);
	platform_host(&po.platform);
	po.max_downloads = (int)ctx->cfg->pull.max_concurrent_downloads;
	opt_begin(&op, ctx, &applet_run, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'd':
			detach = true;
			break;
		case O_RM:
			rm = true;
			break;
		case 'i':
			interactive = true;
			break;
		case 't':
			so.terminal = true;
			break;
		case O_DETACH_KEYS:
			if (term_keys_parse(op.arg, &keys, &e) < 0) {
				opt_usage_error(&op, "--detach-keys: %s", e.msg);
				goto usage;
			}
			break;
		case O_NAME:
			co.name = op.arg;
			break;
		case 'e':
			strv_push(&a.env, op.arg);
			break;
		case O_ENV_FILE: {
			struct err fe = ERR_INIT;

			if (env_file_read(op.arg, &a.env, &fe) < 0) {
				opt_usage_error(&op, "--env-file: %s", fe.msg);
				goto usage;
			}
			break;
		}
		case 'w':
			so.workdir = op.arg;
			break;
		case 'u':
			so.user = op.arg;
			break;
		case O_ENTRYPOINT:
			so.entrypoint = op.arg;
			break;
		case O_HOSTNAME:
			so.hostname = op.arg;
			break;
		case 'v':
			strv_push(&a.volumes, op.arg);
			break;
		case O_READ_ONLY:
			so.read_only = true;
			break;
		case 'm':
			if (opt_size(&op, &so.memory_bytes) < 0)
				goto usage;
			break;
		case O_CPUS:
			if (parse_cpus(&op, &so.cpus_milli) != 0)
				goto usage;
			break;
		case O_PIDS_LIMIT:
			if (opt_uint(&op, 1 << 22, &pids) < 0)
				goto usage;
			so.pids_limit = (int64_t)pids;
			break;
		case O_NET:
			if (strcmp(op.arg, "host") == 0)
				so.net_host = true;
			else if (strcmp(op.arg, "none") == 0)
				so.net_none = true;
			else {
				opt_usage_error(&op, "--net: expected none or host, got %s",
				                op.arg);
				goto usage;
			}
			break;
		case 'l':
			if (parse_label(&op, &a) != 0)
				goto usage;
			break;
		case O_CAP_ADD:
			strv_push(&a.cap_add, op.arg);
			break;
		case O_CAP_DROP:
			strv_push(&a.cap_drop, op.arg);
			break;
		case O_PRIVILEGED:
			so.privileged = true;
			break;
		case O_PULL:
			if (strcmp(op.arg, "missing") == 0)
				co.pull = PULL_MISSING;
			else if (strcmp(op.arg, "always") == 0)
				co.pull = PULL_ALWAYS;
			else if (strcmp(op.arg, "never") == 0)
				co.pull = PULL_NEVER;
			else {
				opt_usage_error(&op, "--pull: expected missing, always or never");
				goto usage;
			}
			break;
		case O_PLAIN_HTTP:
			po.plain_http = true;
			break;
		case O_BUNDLE:
			co.bundle = op.arg;
			break;
		case O_LOG_MAX_SIZE:
			if (parse_log_max_size(&op, &co.log_max_bytes) != 0)
				goto usage;
			break;
		case O_LOG_MAX_FILES:
			if (parse_log_max_files(&op, &co.log_max_files) != 0)
				goto usage;
			break;
		default:
			break;
		}
	}
	if (c < 0) {
		rc = op.rc;
		goto out;
	}
	if (co.bundle && op.argc > 0) {
		rc =
		    opt_usage_error(&op, "--bundle runs the bundle's command: no IMAGE or COMMAND");
		goto out;
	}
	if (!co.bundle && op.argc == 0) {
		rc = opt_usage_error(&op, "no image given");
		goto out;
	}
	if (so.terminal && !detach && !isatty(0)) {
		fprintf(ctx->err, "ctrbox run: -t: stdin is not a terminal\n");
		rc = EXIT_RUN_ERROR;
		goto out;
	}
	if (!co.bundle) {
		co.image = op.argv[0];
		/* op.argv is not NULL-terminated at op.argc: the parser compacts in place. */
		for (int i = 1; i < op.argc; i++)
			strv_push(&a.command, op.argv[i]);
		so.command = (const char *const *)a.command;
	}
	so.env = (const char *const *)a.env;
	so.volumes = (const char *const *)a.volumes;
	so.cap_add = (const char *const *)a.cap_add;
	so.cap_drop = (const char *const *)a.cap_drop;
	co.labels = a.labels;
	co.n_labels = a.n_labels;
	co.auto_remove = rm;

	fflush(ctx->out);
	fflush(ctx->err);
	/* The static shim starts now, while the records are written: its exec and setup overlap
	 * with ours. It waits for the container's id, or exits when the socket closes first. */
	shim_bin = shim_binary();
	if (shim_bin) {
		/* A bundle's config.json says which namespaces; an image's gets a network
		 * namespace unless --net host. The ID is chosen first, so the early shim can make
		 * the container's cgroup while the records are written. */
		struct shim_opts early = {.rm = rm,
		                          .wait_attach = !detach,
		                          .open_stdin = interactive,
		                          .netns = !co.bundle && !so.net_host,
		                          .early_id = id};
		co.id = id;
		if (container_new_id(id, &e) < 0 ||
		    shim_spawn(ctx, shim_bin, &early, &sfd, &starter, &e) < 0) {
			applet_fail(ctx, &e);
			rc = EXIT_RUN_ERROR;
			goto out;
		}
	}
	/* The records and config.json are built on the heap, by code that runs once: fault both
	 * in at once (mem.h), after the shim is on its way. */
	mem_prefault_heap(RUN_HEAP_PREFAULT);
	mem_prefault_image(true);
	rc = container_create(ctx, &co, id, &e);
	/* The starter exited once the shim had exec'd; it is reaped only now, so that a failed
	 * start is reported after the records' own errors. */
	if (starter > 0 && shim_starter_wait(starter, rc < 0 ? &ignored : &e) < 0 && rc == 0) {
		applet_fail(ctx, &e);
		container_discard(ctx, id);
		rc = EXIT_RUN_ERROR;
		goto out;
	}
	if (rc < 0) {
		applet_fail(ctx, &e);
		rc = EXIT_RUN_ERROR;
		goto out;
	}
	fflush(ctx->out);
	fflush(ctx->err);
	rc = start(ctx, id, &sfd, detach, rm, interactive, &keys);
	goto out;
usage:
	rc = EXIT_USAGE;
out:
	run_args_release(&a);
	platform_release(&po.platform);
	return rc;
}

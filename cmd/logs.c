/* cmd/logs.c - ctrbox logs: a container's output from its CRI log, its stdout lines to stdout
 * and its stderr lines to stderr (DESIGN.md "run": logs [-f]; ctrbox-logs(1)) */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "cmd/applet.h"
#include "common/runtime/logread.h"
#include "common/runtime/lookup.h"
#include "common/util/units.h"

#define OPT_TAIL  (OPT_LONG + 0)
#define OPT_SINCE (OPT_LONG + 1)

static const struct opt logs_opts[] = {
    {'f', "follow", NULL, "keep printing new lines until the container exits", COMP_NONE, NULL, 0},
    {OPT_TAIL, "tail", "N", "only the last N lines (or all)", COMP_NONE, NULL, 0},
    {OPT_SINCE, "since", "TIME",
     "only lines since TIME (RFC 3339, a date, Unix seconds, or 10m "
     "ago)",
     COMP_NONE, NULL, 0},
    {'t', "timestamps", NULL, "prefix each line with its RFC 3339 time", COMP_NONE, NULL, 0},
    {0},
};

const struct applet applet_logs = {
    .name = "logs",
    .main = ctrbox_logs,
    .opts = logs_opts,
    .usage = "logs [-f] [-t] [--tail N] [--since TIME] CONTAINER",
    .summary = "print a container's output",
    .description = "CONTAINER is an ID, a unique ID prefix or a name. Lines the container wrote\n"
                   "to stdout go to stdout, lines it wrote to stderr to stderr.",
    .complete_args = COMP_CONTAINER,
};

static volatile sig_atomic_t logs_stop;

static void logs_on_signal(int sig)
{
	(void)sig;
	logs_stop = 1;
}

struct logs_out {
	struct ctx *ctx;
	bool timestamps, follow;
	bool pipe_closed; /* a reader went away: a quiet success */
};

static int print_line(void *arg, const struct logread_line *l, struct err *e)
{
	struct logs_out *o = arg;
	FILE *f = l->stream == CRILOG_STDERR ? o->ctx->err : o->ctx->out;
	FILE *other = f == o->ctx->out ? o->ctx->err : o->ctx->out;
	char ts[UNITS_BUFSZ];

	/* The other stream's lines went first: they must reach a shared terminal or file first. */
	fflush(other);
	if (o->timestamps) {
		units_format_rfc3339(l->time_ns, true, ts, sizeof(ts));
		fprintf(f, "%s ", ts);
	}
	fwrite(l->msg, 1, l->len, f);
	if (l->complete)
		fputc('\n', f);
	if (o->follow)
		fflush(f);
	if (ferror(f)) {
		if (errno == EPIPE) {
			o->pipe_closed = true;
			return err_set(e, E_IO, "output closed");
		}
		return err_sys(e, "write");
	}
	return 0;
}

int ctrbox_logs(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct logread_opts lo = {.tail = -1};
	struct logs_out out = {.ctx = ctx};
	struct err err = ERR_INIT;
	struct sigaction sa = {.sa_handler = logs_on_signal};
	uint64_t n;
	char id[65];
	int c, rc;

	opt_begin(&op, ctx, &applet_logs, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		if (c == 'f') {
			lo.follow = out.follow = true;
		} else if (c == 't') {
			out.timestamps = true;
		} else if (c == OPT_TAIL) {
			if (strcmp(op.arg, "all") == 0)
				lo.tail = -1;
			else if (opt_uint(&op, INT64_MAX, &n) < 0)
				return op.rc;
			else
				lo.tail = (int64_t)n;
		} else if (c == OPT_SINCE &&
		           units_parse_time(op.arg, ctx->now_ns(), &lo.since_ns, &err) < 0) {
			return opt_usage_error(&op, "--since: %s", err.msg);
		}
	}
	if (c < 0)
		return op.rc;
	if (op.argc != 1)
		return opt_usage_error(&op,
		                       op.argc ? "one container at a time" : "no container given");
	if (container_lookup(ctx, op.argv[0], id, &err) < 0)
		return applet_fail(ctx, &err);
	if (lo.follow) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	rc = logread_run(ctx, id, &lo, print_line, &out, &logs_stop, &err);
	fflush(ctx->out);
	fflush(ctx->err);
	if (rc < 0 && !out.pipe_closed)
		return applet_fail(ctx, &err);
	return EXIT_OK;
}

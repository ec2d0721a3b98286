/* cmd/diagnose.c - ctrbox diagnose: node checks with a verdict, the evidence and a remedy; exit code
 * in the monitoring-plugin convention; --watch journals each change (DESIGN.md lesson 5 and
 * "diagnose"; issue 8; ctrbox-diagnose(1)) */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include <json-c/json.h>

#include "cmd/applet.h"
#include "common/node/diag.h"
#include "common/node/prom.h"
#include "common/util/buf.h"
#include "common/util/jsonio.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/out.h"
#include "common/util/units.h"

enum {
	O_CHECK = OPT_LONG + 1,
	O_FORMAT,
	O_DEEP,
	O_WATCH,
	O_INTERVAL,
};

#define CHECK_WORDS                                                                                \
	"pressure|memory|dstate|fsync|disk|limits|clock|cgroup|kmsg|store|shims|overlay|relist"

static const struct opt diagnose_opts[] = {
    {O_CHECK, "check", "NAME", "run only this check (repeatable)", COMP_WORDS, CHECK_WORDS, 0},
    {O_FORMAT, "format", "FORMAT", "output format", COMP_WORDS, "table|json|prometheus", 0},
    {O_DEEP, "deep", NULL, "also re-hash every content blob (store check)", COMP_NONE, NULL, 0},
    {O_WATCH, "watch", NULL, "re-run every interval and journal each status change", COMP_NONE,
     NULL, 0},
    {O_INTERVAL, "interval", "DURATION", "with --watch: time between runs (default 30s)",
     COMP_NONE, NULL, 0},
    {0},
};

const struct applet applet_diagnose = {
    .name = "diagnose",
    .main = ctrbox_diagnose,
    .opts = diagnose_opts,
    .flags = 0,
    .usage = "diagnose [OPTIONS]",
    .summary = "check the node for what makes containers slow or fail",
    .description =
        "Runs node checks (pressure, memory, dstate, fsync, disk, limits, clock, cgroup,\n"
        "kmsg, store, shims, overlay, relist), each OK, WARN, FAIL or UNKNOWN with the\n"
        "evidence it read and a remedy. Exits with the worst status: 0 OK, 1 WARNING,\n"
        "2 CRITICAL, 3 UNKNOWN.",
};

static volatile sig_atomic_t diagnose_stop;

static void diagnose_on_signal(int sig)
{
	(void)sig;
	diagnose_stop = 1;
}

enum fmt { FMT_TABLE, FMT_JSON, FMT_PROM };

/* CTRBOX_TEST_ADJTIMEX="status=N,maxerror=US[,esterror=US][,rc=N]" answers for adjtimex(2) in
 * tests; read on each call, like CTRBOX_TEST_NOW, so the seam keeps no state. */
static int test_adjtimex(struct timex *t)
{
	const char *s = getenv("CTRBOX_TEST_ADJTIMEX");
	long long status = 0, maxerr = 0, esterr = 0, rc = TIME_OK;

	for (const char *p = s ? s : ""; *p;) {
		sscanf(p, "status=%lli", &status);
		sscanf(p, "maxerror=%lld", &maxerr);
		sscanf(p, "esterror=%lld", &esterr);
		sscanf(p, "rc=%lld", &rc);
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	memset(t, 0, sizeof(*t));
	t->status = (int)status;
	t->maxerror = (long)maxerr;
	t->esterror = (long)esterr;
	return (int)rc;
}

struct run {
	const struct diag_check **checks;
	const char **names;
	struct diag_result *res;
	size_t n;
};

static enum diag_status run_checks(struct diag_env *env, struct run *r)
{
	enum diag_status worst = DIAG_OK;

	for (size_t i = 0; i < r->n; i++) {
		diag_result_release(&r->res[i]);
		r->checks[i]->fn(env, &r->res[i]);
		worst = diag_worse(worst, r->res[i].status);
	}
	return worst;
}

static char *evidence_json(const struct diag_result *r)
{
	cleanup_json struct json_object *o = json_object_new_object();

	for (size_t k = 0; k < r->n_ev; k++) {
		const struct diag_ev *v = &r->ev[k];

		if (v->text)
			jsonio_set_str(o, v->key, v->text);
		else if (v->num == (double)(int64_t)v->num && v->num < 9e15 && v->num > -9e15)
			jsonio_set_int(o, v->key, (int64_t)v->num);
		else {
			char num[32];

			/* the figure as read, not the nearest binary double's 17 digits */
			snprintf(num, sizeof(num), v->num >= 1e15 || v->num <= -1e15 ? "%.17g" : "%.6g",
			         v->num);
			json_object_object_add(o, v->key, json_object_new_double_s(v->num, num));
		}
	}
	return jsonio_to_string(o, false);
}

static const struct col diag_cols[] = {
    {"check", "CHECK", COL_STR},
    {"status", "STATUS", COL_STR},
    {"summary", "SUMMARY", COL_STR},
    {"reason", NULL, COL_STR},
    {"remedy", NULL, COL_STR},
    {"evidence", NULL, COL_RAW_JSON},
    {0},
};

static int print(struct ctx *ctx, enum fmt fmt, const struct run *r, struct err *e)
{
	if (fmt == FMT_PROM) {
		cleanup_buf struct buf b = BUF_INIT;

		prom_checks(&b, r->names, r->res, r->n);
		if (fwrite(buf_str(&b), 1, b.len, ctx->out) != b.len || fflush(ctx->out) != 0)
			return errno == EPIPE ? 0 : err_sys(e, "writing output");
		return 0;
	}
	struct out *o = out_begin(ctx, diag_cols);

	for (size_t i = 0; i < r->n; i++) {
		cleanup_free char *ev = evidence_json(&r->res[i]);

		out_row(o, r->names[i], diag_status_name(r->res[i].status),
		        r->res[i].summary ? r->res[i].summary : "", r->res[i].reason,
		        r->res[i].remedy, ev);
	}
	if (out_end(o, e) < 0)
		return -1;
	if (fmt != FMT_TABLE)
		return 0;
	/* People see the evidence and the remedy of what is not OK under the table. */
	for (size_t i = 0; i < r->n; i++) {
		const struct diag_result *x = &r->res[i];

		if (x->status == DIAG_OK)
			continue;
		fprintf(ctx->out, "\n%s: %s\n", r->names[i], diag_status_name(x->status));
		for (size_t k = 0; k < x->n_ev; k++) {
			if (x->ev[k].text)
				fprintf(ctx->out, "  %s: %s\n", x->ev[k].key, x->ev[k].text);
			else
				fprintf(ctx->out, "  %s: %.6g\n", x->ev[k].key, x->ev[k].num);
		}
		if (x->remedy)
			fprintf(ctx->out, "  remedy: %s\n", x->remedy);
	}
	if (fflush(ctx->out) != 0)
		return errno == EPIPE ? 0 : err_sys(e, "writing output");
	return 0;
}

static void sleep_ns(int64_t ns, const sigset_t *mask)
{
	int64_t deadline = ctx_clock_monotonic() + ns;

	while (!diagnose_stop) {
		int64_t left = deadline - ctx_clock_monotonic();
		struct timespec ts;

		if (left <= 0)
			return;
		ts.tv_sec = left / NSEC_PER_SEC;
		ts.tv_nsec = left % NSEC_PER_SEC;
		ppoll(NULL, 0, &ts, mask);
	}
}

static int watch(struct ctx *ctx, struct diag_env *env, struct run *r, enum fmt fmt,
                 int64_t interval_ns)
{
	struct sigaction sa = {.sa_handler = diagnose_on_signal};
	sigset_t block, waitmask;
	enum diag_status worst = DIAG_OK;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	while (!diagnose_stop) {
		struct err e = ERR_INIT;
		size_t changed = 0;

		worst = run_checks(env, r);
		if (diag_watch_record(ctx, r->names, r->res, r->n, &changed, &e) < 0)
			log_warn(ctx, "%s", e.msg);
		if (print(ctx, fmt, r, &e) < 0)
			return applet_fail(ctx, &e);
		sleep_ns(interval_ns, &waitmask);
	}
	return (int)worst;
}

int ctrbox_diagnose(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct diag_env env;
	struct run r = {0};
	enum fmt fmt = FMT_TABLE;
	int64_t interval_ns = 30 * NSEC_PER_SEC;
	bool do_watch = false, interval_set = false, deep = false;
	const char **want = NULL;
	size_t n_want = 0, nchecks = 0;
	struct err e = ERR_INIT;
	enum diag_status worst;
	int c, rc;

	opt_begin(&op, ctx, &applet_diagnose, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case O_CHECK:
			if (!diag_check_find(op.arg)) {
				free(want);
				return opt_usage_error(&op, "--check %s: no such check (one of %s)",
				                       op.arg, CHECK_WORDS);
			}
			want = xreallocarray(want, n_want + 1, sizeof(*want));
			want[n_want++] = op.arg;
			break;
		case O_FORMAT:
			if (strcmp(op.arg, "table") == 0) {
				fmt = FMT_TABLE;
			} else if (strcmp(op.arg, "json") == 0) {
				fmt = FMT_JSON;
			} else if (strcmp(op.arg, "prometheus") == 0) {
				fmt = FMT_PROM;
			} else {
				free(want);
				return opt_usage_error(
				    &op, "--format %s: expected one of table|json|prometheus", op.arg);
			}
			break;
		case O_DEEP:
			deep = true;
			break;
		case O_WATCH:
			do_watch = true;
			break;
		case O_INTERVAL:
			if (opt_duration(&op, &interval_ns) < 0) {
				free(want);
				return op.rc;
			}
			if (interval_ns < NSEC_PER_SEC) {
				free(want);
				return opt_usage_error(&op, "--interval: at least 1s");
			}
			interval_set = true;
			break;
		}
	}
	if (c < 0) {
		free(want);
		return op.rc;
	}
	if (op.argc > 0) {
		free(want);
		return opt_usage_error(&op, "unexpected argument \"%s\"", op.argv[0]);
	}
	if (interval_set && !do_watch) {
		free(want);
		return opt_usage_error(&op, "--interval needs --watch");
	}
	ctx->fmt = fmt == FMT_JSON ? OUT_JSON : OUT_TABLE;
	diag_env_init(&env, ctx);
	env.deep = deep;
	if (getenv("CTRBOX_TEST_ADJTIMEX"))
		env.adjtimex = test_adjtimex;
	for (const struct diag_check *k = diag_checks; k->name; k++)
		nchecks++;
	r.checks = xcalloc(nchecks, sizeof(*r.checks));
	r.names = xcalloc(nchecks, sizeof(*r.names));
	r.res = xcalloc(nchecks, sizeof(*r.res));
	/* Table order, whatever the order of --check; each check once. */
	for (const struct diag_check *k = diag_checks; k->name; k++) {
		bool take = n_want == 0;

		for (size_t i = 0; i < n_want && !take; i++)
			take = strcmp(want[i], k->name) == 0;
		if (take) {
			r.checks[r.n] = k;
			r.names[r.n++] = k->name;
		}
	}
	free(want);
	if (do_watch) {
		/* the journal and STATE/diagnose/ are written: the store must exist */
		rc = applet_need_store(ctx);
		if (rc == EXIT_OK)
			rc = watch(ctx, &env, &r, fmt, interval_ns);
	} else {
		worst = run_checks(&env, &r);
		rc = print(ctx, fmt, &r, &e) < 0 ? applet_fail(ctx, &e) : (int)worst;
	}
	for (size_t i = 0; i < r.n; i++)
		diag_result_release(&r.res[i]);
	free(r.checks);
	free(r.names);
	free(r.res);
	diag_env_release(&env);
	return rc;
}

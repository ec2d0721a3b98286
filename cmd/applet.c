/* cmd/applet.c - what every applet shares: option parsing and --help from the same tables that
 * completion reads (STYLE.md "Options", "Help"), and the one place an applet prints an error.
 * Options: --long, --long=VALUE, --long VALUE, -abc, -tVALUE, -t VALUE, and "--" to end them;
 * options and arguments may be mixed unless the applet sets AP_ARGS_STOP. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd/applet.h"
#include "common/store/layout.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

#define OPT_HELP   (OPT_LONG + 1000)
#define OPT_FORMAT (OPT_LONG + 1001)
#define OPT_NOTRNC (OPT_LONG + 1002)

const struct opt output_opts[] = {
	{OPT_FORMAT, "format", "FORMAT", "output format", COMP_WORDS, NULL, 0},
	{'q', "quiet", NULL, "print IDs only", COMP_NONE, NULL, 0},
	{OPT_NOTRNC, "no-trunc", NULL, "do not truncate IDs", COMP_NONE, NULL, 0},
	{0},
};

static const struct opt help_opt[] = {
	{OPT_HELP, "help", NULL, "print this help", COMP_NONE, NULL, 0},
	{0},
};

static const char *applet_formats(const struct applet *ap)
{
	return ap->formats ? ap->formats : "table|json";
}

int opt_usage_error(struct optparse *op, const char *fmt, ...)
{
	FILE *f = op->ctx->err;
	va_list ap;

	fprintf(f, "ctrbox %s: ", op->ap->name);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fprintf(f, "\nTry 'ctrbox %s --help'.\n", op->ap->name);
	op->rc = EXIT_USAGE;
	return EXIT_USAGE;
}

void opt_begin(struct optparse *op, struct ctx *ctx, const struct applet *ap, int argc,
	       char **argv)
{
	memset(op, 0, sizeof(*op));
	op->ctx = ctx;
	op->ap = ap;
	op->in_argc = argc > 0 ? argc - 1 : 0;
	op->in_argv = argc > 0 ? argv + 1 : argv;
	op->argv = op->in_argv;
}

/* The option tables an applet accepts, in the order help lists them. */
static const struct opt *const *opt_tables(const struct applet *ap, const struct opt *tabs[4])
{
	int n = 0;

	if (ap->opts)
		tabs[n++] = ap->opts;
	if (ap->flags & AP_OUTPUT)
		tabs[n++] = output_opts;
	tabs[n++] = help_opt;
	tabs[n] = NULL;
	return tabs;
}

const struct opt *opt_find_long(const struct applet *ap, const char *name, size_t len)
{
	const struct opt *tabs[4];

	for (const struct opt *const *t = opt_tables(ap, tabs); *t; t++)
		for (const struct opt *o = *t; o->id; o++)
			if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
				return o;
	return NULL;
}

const struct opt *opt_find_short(const struct applet *ap, int c)
{
	const struct opt *tabs[4];

	for (const struct opt *const *t = opt_tables(ap, tabs); *t; t++)
		for (const struct opt *o = *t; o->id; o++)
			if (o->id == c && c < OPT_LONG)
				return o;
	/* -h means --help unless the applet gives it another meaning. */
	if (c == 'h')
		return help_opt;
	return NULL;
}

/* "--nme" -> "did you mean --name?" over every long option the applet takes. */
static int opt_unknown_long(struct optparse *op, const char *name, size_t len)
{
	const struct opt *tabs[4];
	const char *cands[128];
	cleanup_free char *word = xstrndup(name, len);
	const char *s;
	size_t n = 0;

	for (const struct opt *const *t = opt_tables(op->ap, tabs); *t; t++)
		for (const struct opt *o = *t; o->id && n + 1 < ARRAY_SIZE(cands); o++)
			cands[n++] = o->name;
	cands[n] = NULL;
	s = str_suggest(word, cands);
	if (s)
		return opt_usage_error(op, "unknown option --%s (did you mean --%s?)", word, s);
	return opt_usage_error(op, "unknown option --%s", word);
}

/* Handles the options every applet (or every AP_OUTPUT applet) has; returns 1 when it did,
 * 0 when the option is the applet's own, -1 when parsing must stop. */
static int opt_builtin(struct optparse *op, const struct opt *o)
{
	if (o->id == OPT_HELP) {
		applet_help(op->ap, op->ctx->out);
		op->rc = EXIT_OK;
		return -1;
	}
	if (!(op->ap->flags & AP_OUTPUT) || o < output_opts || o >= output_opts + 3)
		return 0;
	if (o->id == 'q') {
		op->ctx->quiet = true;
	} else if (o->id == OPT_NOTRNC) {
		op->ctx->no_trunc = true;
	} else if (o->id == OPT_FORMAT) {
		static const struct {
			const char *name;
			enum out_format fmt;
		} fmts[] = {{"table", OUT_TABLE}, {"json", OUT_JSON}, {"jsonl", OUT_JSONL}};
		const char *allowed = applet_formats(op->ap);
		const char *arg = op->arg ? op->arg : "";
		size_t len = strlen(arg);

		for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
			const char *p = strstr(allowed, fmts[i].name);

			if (strcmp(arg, fmts[i].name) == 0 && p &&
			    (p == allowed || p[-1] == '|') && (p[len] == '\0' || p[len] == '|')) {
				op->ctx->fmt = fmts[i].fmt;
				return 1;
			}
		}
		opt_usage_error(op, "--format %s: expected one of %s", arg, allowed);
		return -1;
	}
	return 1;
}

/* Takes the value of option o: from "=VALUE", the rest of a short cluster, or the next word. */
static int opt_take_value(struct optparse *op, const struct opt *o, const char *inline_val,
			  bool is_long)
{
	if (!o->arg) {
		if (inline_val) {
			opt_usage_error(op, "option --%s takes no value", o->name);
			return -1;
		}
		op->arg = NULL;
		return 0;
	}
	if (inline_val) {
		op->arg = inline_val;
		return 0;
	}
	if (op->idx >= op->in_argc) {
		if (is_long)
			opt_usage_error(op, "option --%s needs a value (%s)", o->name, o->arg);
		else
			opt_usage_error(op, "option -%c needs a value (%s)", o->id, o->arg);
		return -1;
	}
	op->arg = op->in_argv[op->idx++];
	return 0;
}

static int opt_finish(struct optparse *op)
{
	/* Options are over: whatever is left joins the arguments gathered so far. */
	while (op->idx < op->in_argc)
		op->in_argv[op->argc++] = op->in_argv[op->idx++];
	op->done = true;
	return 0;
}

static int opt_dispatch(struct optparse *op, const struct opt *o)
{
	int r = opt_builtin(op, o);

	if (r < 0)
		return -1;
	if (r > 0)
		return opt_next(op);
	return o->id;
}

int opt_next(struct optparse *op)
{
	const struct opt *o;
	const char *w;

	if (op->done)
		return 0;
	if (op->short_rest && *op->short_rest) {
		int c = (unsigned char)*op->short_rest++;

		o = opt_find_short(op->ap, c);
		if (!o) {
			op->short_rest = NULL;
			opt_usage_error(op, "unknown option -%c", c);
			return -1;
		}
		if (o->arg && *op->short_rest) {
			op->arg = op->short_rest;
			op->short_rest = NULL;
		} else if (opt_take_value(op, o, NULL, false) < 0) {
			return -1;
		}
		return opt_dispatch(op, o);
	}
	op->short_rest = NULL;
	for (;;) {
		if (op->idx >= op->in_argc)
			return opt_finish(op);
		w = op->in_argv[op->idx];
		if (strcmp(w, "--") == 0) {
			op->idx++;
			return opt_finish(op);
		}
		if (w[0] == '-' && w[1] == '-') {
			const char *name = w + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);

			op->idx++;
			o = opt_find_long(op->ap, name, len);
			if (!o) {
				opt_unknown_long(op, name, len);
				return -1;
			}
			if (opt_take_value(op, o, eq ? eq + 1 : NULL, true) < 0)
				return -1;
			return opt_dispatch(op, o);
		}
		if (w[0] == '-' && w[1] != '\0') {
			op->idx++;
			op->short_rest = w + 1;
			return opt_next(op);
		}
		/* An argument. With AP_ARGS_STOP the options end here (run IMAGE CMD --flag...);
		 * otherwise it is gathered in place: argc never overtakes idx, so nothing unread is
		 * overwritten. */
		if (op->ap->flags & AP_ARGS_STOP)
			return opt_finish(op);
		op->in_argv[op->argc++] = op->in_argv[op->idx++];
	}
}

static int opt_bad_value(struct optparse *op, const struct err *e)
{
	return opt_usage_error(op, "%s", e->msg);
}

int opt_duration(struct optparse *op, int64_t *out_ns)
{
	struct err e = ERR_INIT;

	if (units_parse_duration(op->arg, out_ns, &e) < 0) {
		opt_bad_value(op, &e);
		return -1;
	}
	return 0;
}

int opt_size(struct optparse *op, int64_t *out_bytes)
{
	struct err e = ERR_INIT;

	if (units_parse_size(op->arg, out_bytes, &e) < 0) {
		opt_bad_value(op, &e);
		return -1;
	}
	return 0;
}

int opt_uint(struct optparse *op, uint64_t max, uint64_t *out)
{
	const char *s = op->arg;
	uint64_t v = 0;

	if (!*s) {
		opt_usage_error(op, "empty number");
		return -1;
	}
	for (; *s; s++) {
		if (*s < '0' || *s > '9') {
			opt_usage_error(op, "\"%s\": not a number", op->arg);
			return -1;
		}
		uint64_t d = (uint64_t)(*s - '0');

		if (d > max || v > max / 10 || v * 10 > max - d) {
			opt_usage_error(op, "\"%s\": larger than %llu", op->arg,
					(unsigned long long)max);
			return -1;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

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

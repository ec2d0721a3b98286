/* cmd/opt.c - option parsing for every applet, from the same tables that --help and completion
 * read (STYLE.md "Options"): --long, --long=VALUE, --long VALUE, -abc, -tVALUE, -t VALUE, and
 * "--" to end options. Options and arguments may be mixed unless the applet sets AP_ARGS_STOP. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd/applet.h"
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
		size_t len = strlen(op->arg);

		for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
			const char *p = strstr(allowed, fmts[i].name);

			if (strcmp(op->arg, fmts[i].name) == 0 && p &&
			    (p == allowed || p[-1] == '|') && (p[len] == '\0' || p[len] == '|')) {
				op->ctx->fmt = fmts[i].fmt;
				return 1;
			}
		}
		opt_usage_error(op, "--format %s: expected one of %s", op->arg, allowed);
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

/* common/util/out.c - the one place that formats tables and JSON (STYLE.md "Output"): aligned
 * columns for people, a JSON array or JSON lines for scripts, IDs only with -q */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "common/util/buf.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"
#include "common/util/out.h"
#include "common/util/units.h"

struct out {
	const struct ctx *ctx;
	const struct col *cols;
	size_t ncols;
	char **cells; /* table: rows * ncols strings */
	size_t nrows, cap;
	struct json_object *rows; /* json: the array */
	struct buf text;          /* jsonl and -q: written at the end */
	int quiet_col;
};

struct out *out_begin(const struct ctx *ctx, const struct col *cols)
{
	struct out *o = xcalloc(1, sizeof(*o));

	o->ctx = ctx;
	o->cols = cols;
	while (cols[o->ncols].key)
		o->ncols++;
	o->quiet_col = 0;
	for (size_t i = 0; i < o->ncols; i++) {
		if (cols[i].type == COL_ID) {
			o->quiet_col = (int)i;
			break;
		}
	}
	if (ctx->fmt == OUT_JSON && !ctx->quiet)
		o->rows = json_object_new_array();
	return o;
}

/* A cell as a table shows it. */
static char *cell_text(const struct out *o, const struct col *c, va_list *ap)
{
	char b[UNITS_BUFSZ];
	const char *s;
	int64_t v;

	switch (c->type) {
	case COL_STR:
	case COL_RAW_JSON:
		s = va_arg(*ap, const char *);
		return xstrdup(s ? s : "");
	case COL_ID:
		s = va_arg(*ap, const char *);
		if (!s)
			return xstrdup("");
		if (o->ctx->no_trunc)
			return xstrdup(s);
		/* A digest reads like docker's IMAGE ID: 12 hex digits without "sha256:". */
		if (strncmp(s, "sha256:", 7) == 0)
			s += 7;
		return xstrndup(s, 12);
	case COL_INT:
		return xasprintf("%lld", (long long)va_arg(*ap, int64_t));
	case COL_SIZE:
		units_format_size(va_arg(*ap, int64_t), b, sizeof(b));
		return xstrdup(b);
	case COL_TIME:
		v = va_arg(*ap, int64_t);
		if (!v)
			return xstrdup("");
		units_format_ago(v, o->ctx->now_ns(), b, sizeof(b));
		return xstrdup(b);
	case COL_DURATION:
		units_format_elapsed(va_arg(*ap, int64_t), b, sizeof(b));
		return xstrdup(b);
	case COL_BOOL:
		return xstrdup(va_arg(*ap, int) ? "true" : "false");
	}
	return xstrdup("");
}

static struct json_object *cell_json(const struct col *c, va_list *ap)
{
	char b[UNITS_BUFSZ];
	const char *s;
	int64_t v;

	switch (c->type) {
	case COL_STR:
	case COL_ID:
		s = va_arg(*ap, const char *);
		return s ? json_object_new_string(s) : NULL;
	case COL_RAW_JSON: {
		struct json_object *j = NULL;
		struct err e = ERR_INIT;

		s = va_arg(*ap, const char *);
		if (!s)
			return NULL;
		if (jsonio_parse(s, strlen(s), &j, &e) == 0)
			return j;
		return json_object_new_string(s);
	}
	case COL_INT:
	case COL_SIZE:
		return json_object_new_int64(va_arg(*ap, int64_t));
	case COL_TIME:
		v = va_arg(*ap, int64_t);
		if (!v)
			return NULL;
		units_format_rfc3339(v, true, b, sizeof(b));
		return json_object_new_string(b);
	case COL_DURATION:
		return json_object_new_double((double)va_arg(*ap, int64_t) / 1e6);
	case COL_BOOL:
		return json_object_new_boolean(va_arg(*ap, int));
	}
	return NULL;
}

void out_row(struct out *o, ...)
{
	va_list ap;

	va_start(ap, o);
	if (o->ctx->quiet) {
		for (size_t i = 0; i < o->ncols; i++) {
			char *t;

			/* -q prints the ID column in full, whatever --no-trunc says. */
			if ((int)i == o->quiet_col && o->cols[i].type == COL_ID) {
				const char *s = va_arg(ap, const char *);

				buf_printf(&o->text, "%s\n", s ? s : "");
				continue;
			}
			t = cell_text(o, &o->cols[i], &ap);
			if ((int)i == o->quiet_col)
				buf_printf(&o->text, "%s\n", t);
			free(t);
		}
	} else if (o->ctx->fmt == OUT_JSON || o->ctx->fmt == OUT_JSONL) {
		struct json_object *row = json_object_new_object();

		for (size_t i = 0; i < o->ncols; i++)
			json_object_object_add(row, o->cols[i].key, cell_json(&o->cols[i], &ap));
		if (o->rows) {
			json_object_array_add(o->rows, row);
		} else {
			buf_adds(&o->text,
			         json_object_to_json_string_ext(
			             row, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			buf_addc(&o->text, '\n');
			json_object_put(row);
		}
	} else {
		if (o->nrows == o->cap) {
			o->cap = o->cap ? o->cap * 2 : 16;
			o->cells = xreallocarray(o->cells, o->cap * o->ncols, sizeof(*o->cells));
		}
		for (size_t i = 0; i < o->ncols; i++)
			o->cells[o->nrows * o->ncols + i] = cell_text(o, &o->cols[i], &ap);
		o->nrows++;
	}
	va_end(ap);
}

static void table_render(struct out *o)
{
	cleanup_free size_t *w = xcalloc(o->ncols, sizeof(*w));

	size_t last = 0;

	/* A column without a title is JSON-only. */
	for (size_t i = 0; i < o->ncols; i++)
		if (o->cols[i].title) {
			w[i] = strlen(o->cols[i].title);
			last = i;
		}
	for (size_t r = 0; r < o->nrows; r++)
		for (size_t i = 0; i < o->ncols; i++) {
			size_t l = strlen(o->cells[r * o->ncols + i]);

			if (o->cols[i].title && l > w[i])
				w[i] = l;
		}
	for (size_t r = 0; r <= o->nrows; r++) {
		for (size_t i = 0; i < o->ncols; i++) {
			const char *s =
			    r == 0 ? o->cols[i].title : o->cells[(r - 1) * o->ncols + i];

			if (!o->cols[i].title)
				continue;
			if (i == last)
				buf_printf(&o->text, "%s", s);
			else
				buf_printf(&o->text, "%-*s   ", (int)w[i], s);
		}
		/* The last column is not padded, so trailing blanks come only from empty cells. */
		while (o->text.len && o->text.data[o->text.len - 1] == ' ')
			o->text.data[--o->text.len] = '\0';
		buf_addc(&o->text, '\n');
	}
}

int out_end(struct out *o, struct err *e)
{
	FILE *f = o->ctx->out;
	int rc = 0;

	if (o->rows && json_object_array_length(o->rows) == 0) {
		buf_adds(&o->text, "[]\n");
	} else if (o->rows) {
		buf_adds(&o->text, json_object_to_json_string_ext(
		                       o->rows, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		                                    JSON_C_TO_STRING_NOSLASHESCAPE));
		buf_addc(&o->text, '\n');
	} else if (!o->ctx->quiet && o->ctx->fmt == OUT_TABLE) {
		table_render(o);
	}
	if (o->text.len && fwrite(o->text.data, 1, o->text.len, f) != o->text.len)
		rc = -1;
	if (fflush(f) != 0)
		rc = -1;
	if (rc < 0 && errno == EPIPE)
		rc = 0; /* a closed pager is a quiet success */
	else if (rc < 0)
		err_sys(e, "writing output");
	for (size_t i = 0; i < o->nrows * o->ncols; i++)
		free(o->cells[i]);
	free(o->cells);
	if (o->rows)
		json_object_put(o->rows);
	buf_release(&o->text);
	free(o);
	return rc;
}

int out_json_text(const struct ctx *ctx, const char *json, struct err *e)
{
	if (fprintf(ctx->out, "%s\n", json) < 0 || fflush(ctx->out) != 0) {
		if (errno == EPIPE)
			return 0;
		return err_sys(e, "writing output");
	}
	return 0;
}

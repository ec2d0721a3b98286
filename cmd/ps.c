/* cmd/ps.c - ctrbox ps: list containers without taking any lock, their status checked against
 * the live processes (DESIGN.md lesson 1 and "ps"; issue 7; ctrbox-ps(1)) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cmd/applet.h"
#include "common/node/listing.h"
#include "common/util/buf.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"
#include "common/util/out.h"
#include "common/util/units.h"

enum {
	O_FILTER = OPT_LONG + 1,
};

#define FILTERS_MAX 32

static const struct opt ps_opts[] = {
    {'a', "all", NULL, "all containers (default: running ones)", COMP_NONE, NULL, 0},
    {O_FILTER, "filter", "KEY=VALUE",
     "only matching containers (repeatable; the same key ORs)", COMP_WORDS,
     "status=created|status=running|status=paused|status=exited|status=unknown|name=|label=|"
     "image=|id=|exited=",
     0},
    {'n', "last", "N", "the N most recently created containers (all states)", COMP_NONE, NULL,
     0},
    {'l', "latest", NULL, "the most recently created container (all states)", COMP_NONE, NULL,
     0},
    {0},
};

const struct applet applet_ps = {
    .name = "ps",
    .main = ctrbox_ps,
    .opts = ps_opts,
    .flags = AP_OUTPUT,
    .usage = "ps [OPTIONS]",
    .summary = "list containers",
    .description =
        "Newest first. Reads the records without any lock and checks each recorded process:\n"
        "a running container whose shim is gone shows \"Unknown (shim lost)\". Filters:\n"
        "status=created|running|paused|exited|unknown, name=PART, label=KEY[=VALUE],\n"
        "image=REF, id=PREFIX, exited=CODE.",
};

static const struct col ps_cols[] = {
    {"id", "CONTAINER ID", COL_ID},
    {"image", "IMAGE", COL_STR},
    {"command", "COMMAND", COL_STR},
    {"created", "CREATED", COL_TIME},
    {"status", "STATUS", COL_STR},
    {"names", "NAMES", COL_STR},
    {"state", NULL, COL_STR},
    {"exit_code", NULL, COL_INT},
    {"pid", NULL, COL_INT},
    {"shim_pid", NULL, COL_INT},
    {"started", NULL, COL_TIME},
    {"finished", NULL, COL_TIME},
    {"image_digest", NULL, COL_STR},
    {"labels", NULL, COL_RAW_JSON},
    {0},
};

enum filter_key { F_STATUS, F_NAME, F_LABEL, F_IMAGE, F_ID, F_EXITED, F_KEYS };

static const char *const filter_keys[F_KEYS] = {"status", "name", "label",
                                                "image",  "id",   "exited"};

struct ps_filter {
	enum filter_key key;
	const char *value;
	enum units_status status; /* F_STATUS */
	int code;                 /* F_EXITED */
};

static bool label_match(const struct container_doc *d, const char *want)
{
	const char *eq = strchr(want, '=');
	size_t klen = eq ? (size_t)(eq - want) : strlen(want);

	for (size_t i = 0; i < d->n_labels; i++)
		if (strlen(d->labels[i].key) == klen && strncmp(d->labels[i].key, want, klen) == 0 &&
		    (!eq || strcmp(d->labels[i].value ? d->labels[i].value : "", eq + 1) == 0))
			return true;
	return false;
}

static bool filter_one(const struct ps_filter *f, const struct listing_entry *c)
{
	size_t len;

	switch (f->key) {
	case F_STATUS:
		return c->status == f->status;
	case F_NAME:
		return c->doc.name && strstr(c->doc.name, f->value);
	case F_LABEL:
		return label_match(&c->doc, f->value);
	case F_IMAGE:
		len = strlen(f->value);
		return c->doc.image && (strcmp(c->doc.image, f->value) == 0 ||
		                        (strncmp(c->doc.image, f->value, len) == 0 &&
		                         (c->doc.image[len] == ':' || c->doc.image[len] == '@')));
	case F_ID:
		return strncmp(c->doc.id, f->value, strlen(f->value)) == 0;
	case F_EXITED:
		return c->status == STATUS_STOPPED && c->st.exit_code == f->code;
	case F_KEYS:
		break;
	}
	return false;
}

/* Different keys AND, the same key ORs (docker's rule). */
static bool filters_match(const struct ps_filter *fs, size_t n, const struct listing_entry *c)
{
	for (int k = 0; k < F_KEYS; k++) {
		bool any = false, hit = false;

		for (size_t i = 0; i < n && !hit; i++)
			if (fs[i].key == (enum filter_key)k) {
				any = true;
				hit = filter_one(&fs[i], c);
			}
		if (any && !hit)
			return false;
	}
	return true;
}

static int filter_parse(struct optparse *op, const char *s, struct ps_filter *f)
{
	const char *eq = strchr(s, '=');
	char *end;
	long v;

	for (int k = 0; eq && eq[1] && k < F_KEYS; k++) {
		if (strlen(filter_keys[k]) != (size_t)(eq - s) ||
		    strncmp(s, filter_keys[k], (size_t)(eq - s)) != 0)
			continue;
		f->key = (enum filter_key)k;
		f->value = eq + 1;
		if (f->key == F_STATUS && listing_status_parse(f->value, &f->status) < 0) {
			op->rc = opt_usage_error(
			    op, "--filter %s: expected created, running, paused, exited or unknown", s);
			return -1;
		}
		if (f->key == F_EXITED) {
			errno = 0;
			v = strtol(f->value, &end, 10);
			if (*end || errno || v < 0 || v > 255) {
				op->rc = opt_usage_error(op, "--filter %s: expected an exit code 0-255", s);
				return -1;
			}
			f->code = (int)v;
		}
		return 0;
	}
	op->rc = opt_usage_error(op,
	                         "--filter %s: expected KEY=VALUE, KEY one of status, name, label, "
	                         "image, id, exited",
	                         s);
	return -1;
}

/* docker's COMMAND cell: the argv joined and quoted, cut to 20 characters with "…". */
static char *command_text(const struct ctx *ctx, char **argv)
{
	cleanup_buf struct buf b = BUF_INIT;

	for (size_t i = 0; argv && argv[i]; i++)
		buf_printf(&b, "%s%s", i ? " " : "", argv[i]);
	if (ctx->fmt != OUT_TABLE)
		return buf_take(&b);
	if (!ctx->no_trunc && b.len > 20) {
		size_t cut = 19;

		while (cut && ((unsigned char)b.data[cut] & 0xC0) == 0x80)
			cut--; /* never inside a UTF-8 sequence */
		return xasprintf("\"%.*s\xe2\x80\xa6\"", (int)cut, buf_str(&b));
	}
	return xasprintf("\"%s\"", buf_str(&b));
}

static char *labels_json(const struct container_doc *d)
{
	cleanup_json struct json_object *o = json_object_new_object();

	for (size_t i = 0; i < d->n_labels; i++)
		jsonio_set_str(o, d->labels[i].key, d->labels[i].value ? d->labels[i].value : "");
	return jsonio_to_string(o, false);
}

static int created_desc(const void *a, const void *b)
{
	const struct listing_entry *x = *(const struct listing_entry *const *)a;
	const struct listing_entry *y = *(const struct listing_entry *const *)b;

	if (x->doc.created_ns != y->doc.created_ns)
		return x->doc.created_ns > y->doc.created_ns ? -1 : 1;
	return strcmp(x->doc.id, y->doc.id);
}

int ctrbox_ps(struct ctx *ctx, int argc, char **argv)
{
	struct ps_filter filters[FILTERS_MAX];
	struct optparse op;
	struct listing l;
	struct err e = ERR_INIT;
	cleanup_free struct listing_entry **order = NULL;
	bool all = false, any_status = false;
	uint64_t last = 0;
	size_t nf = 0, shown = 0;
	int64_t now = ctx->now_ns();
	struct out *o;
	int c;

	opt_begin(&op, ctx, &applet_ps, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case O_FILTER:
			if (nf == FILTERS_MAX)
				return opt_usage_error(&op, "--filter: at most %d", FILTERS_MAX);
			if (filter_parse(&op, op.arg, &filters[nf]) < 0)
				return op.rc;
			any_status |= filters[nf].key == F_STATUS || filters[nf].key == F_EXITED;
			nf++;
			break;
		case 'n':
			if (opt_uint(&op, 1000000, &last) < 0)
				return op.rc;
			break;
		case 'l':
			last = 1;
			break;
		}
	}
	if (c < 0)
		return op.rc;
	if (op.argc > 0)
		return opt_usage_error(&op, "unexpected argument \"%s\"", op.argv[0]);
	/* As docker: -n, -l and a status filter look at every container. */
	if (last || any_status)
		all = true;
	if (listing_read(ctx, &l, &e) < 0)
		return applet_fail(ctx, &e);
	order = xcalloc(l.n ? l.n : 1, sizeof(*order));
	for (size_t i = 0; i < l.n; i++)
		order[i] = &l.v[i];
	if (l.n)
		qsort(order, l.n, sizeof(*order), created_desc);
	o = out_begin(ctx, ps_cols);
	for (size_t i = 0; i < l.n && (!last || shown < last); i++) {
		const struct listing_entry *ce = order[i];
		cleanup_free char *cmd = NULL, *labels = NULL;
		char status[UNITS_BUFSZ];

		if (!all && ce->status != STATUS_RUNNING && ce->status != STATUS_PAUSED &&
		    ce->status != STATUS_UNKNOWN)
			continue;
		if (!filters_match(filters, nf, ce))
			continue;
		cmd = command_text(ctx, ce->doc.command);
		labels = labels_json(&ce->doc);
		units_format_status(ce->status, ce->st.exit_code, ce->st.started_ns,
		                    ce->st.finished_ns, now, status, sizeof(status));
		out_row(o, ce->doc.id, ce->doc.image, cmd, ce->doc.created_ns, status,
		        ce->doc.name, listing_status_word(ce->status), (int64_t)ce->st.exit_code,
		        (int64_t)(ce->init_alive ? ce->st.pid : 0), (int64_t)ce->st.shim_pid,
		        ce->st.started_ns, ce->st.finished_ns, ce->doc.image_digest, labels);
		shown++;
	}
	if (l.skipped)
		fprintf(ctx->err, "ctrbox ps: %zu container record(s) cannot be read\n", l.skipped);
	c = l.skipped ? EXIT_FAIL : EXIT_OK;
	listing_release(&l);
	if (out_end(o, &e) < 0)
		return applet_fail(ctx, &e);
	return c;
}

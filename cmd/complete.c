/* cmd/complete.c - ctrbox __complete WORDS...: the hidden applet behind shell completion
 * (STYLE.md "Help, man pages, completion"). It reads the same tables as the parser and the
 * lock-free store listings: no lock, no network, no output on stderr. Prints one candidate per
 * line (candidate TAB description), then ":<directive>": 1 error, 2 no space, 4 no file names,
 * 8 extension filter, 16 directories only; 0 lets the shell fall back to file names. */
#include <stdio.h>
#include <string.h>

#include "cmd/applet.h"
#include "cmd/complete.h"
#include "common/store/container_record.h"
#include "common/store/image_record.h"
#include "common/util/buf.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"


const struct applet applet_complete = {
	.name = "__complete",
	.main = ctrbox_complete,
	.flags = AP_HIDDEN | AP_NO_PLAIN,
	.usage = "__complete WORD... CURRENT",
	.summary = "print completion candidates for a command line (used by the shell)",
};

struct comp_out {
	FILE *f;
	const char *cur;    /* the word being completed */
	const char *prefix; /* put before every candidate ("--format=") */
};

static void comp_emit(struct comp_out *c, const char *cand, const char *desc)
{
	size_t plen = c->prefix ? strlen(c->prefix) : 0;

	if (plen && strncmp(c->cur, c->prefix, plen) != 0)
		return;
	if (!str_starts_with(cand, c->cur + plen))
		return;
	if (desc && *desc)
		fprintf(c->f, "%s%s\t%s\n", c->prefix ? c->prefix : "", cand, desc);
	else
		fprintf(c->f, "%s%s\n", c->prefix ? c->prefix : "", cand);
}

/* Emits the words of "a|b|c"; a word ending in '=' ("status=") is a key whose value follows
 * in the same word, so the directive then asks for no space after it. */
static int comp_words(struct comp_out *c, const char *words)
{
	const char *p = words;
	int d = DIR_NOFILE;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		cleanup_free char *w = xstrndup(p, len);

		if (len && w[len - 1] == '=')
			d |= DIR_NOSPACE;
		comp_emit(c, w, NULL);
		p = bar ? bar + 1 : NULL;
	}
	return d;
}

static void comp_applets(struct comp_out *c)
{
	for (const struct applet *const *a = applets; *a; a++)
		if (!((*a)->flags & AP_HIDDEN))
			comp_emit(c, (*a)->name, (*a)->summary);
}

/* Which containers an argument accepts, by their recorded status, as the running index
 * (STATE/running, container_record.h) has it: one readdir, no state.json read, no process
 * check. Completion offers, the applet decides. */
enum comp_status {
	CS_ALL,
	CS_RUNNING,     /* stop, kill, exec, attach */
	CS_NOT_RUNNING, /* rm without -f */
};

static bool id_in(char **sorted, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(sorted[mid], id);

		if (r == 0)
			return true;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Names (image as description) and short IDs (name as description) of the containers that
 * pass the filter, in ID order; container.json is read only for those, relative to one open
 * ROOT/containers through one reused buffer. */
static void comp_containers(struct ctx *ctx, struct comp_out *c, enum comp_status want)
{
	struct err e = ERR_INIT;
	cleanup_strv char **ids = NULL, **running = NULL;
	cleanup_buf struct buf b = BUF_INIT;
	cleanup_close int dfd = -1;
	size_t n = 0, nrun = 0;

	if (want != CS_ALL && container_running_ids(ctx, &running, &nrun, &e) < 0)
		return;
	if (want == CS_RUNNING) {
		ids = TAKE_PTR(running); /* a stale entry fails its load below, and is skipped */
		n = nrun;
		nrun = 0;
	} else if (container_list_ids(ctx, &ids, &n, &e) < 0) {
		return;
	}
	if (n == 0 || (dfd = container_dir_open(ctx, &e)) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct container_doc doc = {0};
		char shortid[13];

		if (want == CS_NOT_RUNNING && id_in(running, nrun, ids[i]))
			continue;
		if (container_doc_load_at(dfd, ids[i], &b, &doc, &e) < 0) {
			err_clear(&e);
			continue;
		}
		snprintf(shortid, sizeof(shortid), "%s", ids[i]);
		if (doc.name)
			comp_emit(c, doc.name, doc.image);
		comp_emit(c, shortid, doc.name);
		container_doc_release(&doc);
	}
}

static void comp_images(struct ctx *ctx, struct comp_out *c)
{
	struct err e = ERR_INIT;
	struct image_record *v = NULL;
	size_t n = 0, skipped = 0;

	if (image_record_list(ctx, &v, &n, &skipped, &e) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		comp_emit(c, v[i].name, NULL);
	image_records_free(v, n);
}

/* Candidates for a value of kind k; returns the directive. force: the applet's --force is on
 * the line (rm -f takes running containers too). */
static int comp_kind(struct ctx *ctx, struct comp_out *c, enum comp k, const char *words,
		     bool force)
{
	switch (k) {
	case COMP_FILE:
		return DIR_DEFAULT;
	case COMP_DIR:
		return DIR_DIRS;
	case COMP_WORDS:
		return comp_words(c, words);
	case COMP_APPLET:
		comp_applets(c);
		return DIR_NOFILE;
	case COMP_CONTAINER:
		comp_containers(ctx, c, CS_ALL);
		return DIR_NOFILE;
	case COMP_CONTAINER_RUNNING:
		comp_containers(ctx, c, CS_RUNNING);
		return DIR_NOFILE;
	case COMP_CONTAINER_STOPPED:
		comp_containers(ctx, c, force ? CS_ALL : CS_NOT_RUNNING);
		return DIR_NOFILE;
	case COMP_IMAGE:
		comp_images(ctx, c);
		return DIR_NOFILE;
	case COMP_NONE:
	default:
		return DIR_NOFILE;
	}
}

static const char *opt_words(const struct applet *ap, const struct opt *o)
{
	if (o->words)
		return o->words;
	if (ap && strcmp(o->name, "format") == 0)
		return ap->formats ? ap->formats : "table|json";
	return NULL;
}

static void comp_option_names(struct comp_out *c, const struct opt *opts)
{
	for (const struct opt *o = opts; o && o->id; o++) {
		cleanup_free char *name = NULL;

		if (o->flags & OPT_HIDDEN)
			continue;
		name = xasprintf("--%s", o->name);
		comp_emit(c, name, o->help);
	}
}

/* Completes "--opt=VAL" in one word: candidates carry the "--opt=" prefix. */
static int comp_inline_value(struct ctx *ctx, struct comp_out *c, const struct applet *ap,
			     const struct opt *o, const char *cur)
{
	cleanup_free char *prefix = xstrndup(cur, (size_t)(strchr(cur, '=') - cur) + 1);
	int d;

	c->prefix = prefix;
	d = comp_kind(ctx, c, o->comp, opt_words(ap, o), false);
	c->prefix = NULL;
	return d & DIR_NOFILE ? d | DIR_NOSPACE : d;
}

/* Words before the applet: global options; --root and --state steer the store listings. */
static int comp_globals(struct ctx *ctx, char **w, int nprev, int *k, const struct opt **pending)
{
	while (*k < nprev) {
		const char *word = w[*k];

		(*k)++;
		if (*pending) {
			if (strcmp((*pending)->name, "root") == 0)
				ctx->path.root = word;
			else if (strcmp((*pending)->name, "state") == 0)
				ctx->path.state = word;
			*pending = NULL;
			continue;
		}
		if (word[0] == '-' && word[1] == '-') {
			const char *eq = strchr(word + 2, '=');
			size_t len = eq ? (size_t)(eq - word - 2) : strlen(word + 2);
			const struct opt *o = global_opt_find(word + 2, len);

			if (o && o->arg && !eq)
				*pending = o;
			else if (o && eq && strcmp(o->name, "root") == 0)
				ctx->path.root = eq + 1;
			else if (o && eq && strcmp(o->name, "state") == 0)
				ctx->path.state = eq + 1;
			continue;
		}
		if (word[0] == '-')
			continue;
		return 1; /* w[*k - 1] names the applet */
	}
	return 0;
}

int complete_words(struct ctx *ctx, int n, char **w, FILE *f)
{
	int nprev = n > 0 ? n - 1 : 0, k = 0, npos = 0, directive;
	const char *cur = n > 0 ? w[n - 1] : "";
	struct comp_out c = {f, cur, NULL};
	const struct opt *pending = NULL;
	const struct applet *ap = NULL;
	bool opts_done = false, force = false;

	if (comp_globals(ctx, w, nprev, &k, &pending)) {
		ap = applet_find(w[k - 1]);
		if (!ap || (ap->flags & AP_HIDDEN))
			return DIR_ERROR;
	}
	if (!ap) {
		const char *eq = str_starts_with(cur, "--") ? strchr(cur, '=') : NULL;
		const struct opt *o = eq ? global_opt_find(cur + 2, (size_t)(eq - cur - 2)) : NULL;

		if (pending)
			directive = comp_kind(ctx, &c, pending->comp, pending->words, false);
		else if (o && o->arg)
			directive = comp_inline_value(ctx, &c, NULL, o, cur);
		else if (cur[0] == '-') {
			comp_option_names(&c, global_opts);
			directive = DIR_NOFILE;
		} else {
			comp_applets(&c);
			directive = DIR_NOFILE;
		}
		return directive;
	}

	for (; k < nprev; k++) {
		const char *word = w[k];

		if (pending) {
			pending = NULL;
			continue;
		}
		if (!opts_done && strcmp(word, "--") == 0) {
			opts_done = true;
			continue;
		}
		if (!opts_done && word[0] == '-' && word[1] == '-') {
			const char *eq = strchr(word + 2, '=');
			const struct opt *o = opt_find_long(
				ap, word + 2, eq ? (size_t)(eq - word - 2) : strlen(word + 2));

			if (o && o->arg && !eq)
				pending = o;
			if (o && strcmp(o->name, "force") == 0)
				force = true;
			continue;
		}
		if (!opts_done && word[0] == '-' && word[1]) {
			for (const char *p = word + 1; *p; p++) {
				const struct opt *o = opt_find_short(ap, (unsigned char)*p);

				if (o && strcmp(o->name, "force") == 0)
					force = true;
				if (o && o->arg) {
					if (!p[1])
						pending = o;
					break;
				}
			}
			continue;
		}
		npos++;
		if (ap->flags & AP_ARGS_STOP)
			opts_done = true;
	}

	if (pending) {
		directive = comp_kind(ctx, &c, pending->comp, opt_words(ap, pending), force);
	} else if (!opts_done && str_starts_with(cur, "--") && strchr(cur, '=')) {
		const char *eq = strchr(cur, '=');
		const struct opt *o = opt_find_long(ap, cur + 2, (size_t)(eq - cur - 2));

		directive = o && o->arg ? comp_inline_value(ctx, &c, ap, o, cur) : DIR_NOFILE;
	} else if (!opts_done && cur[0] == '-') {
		comp_option_names(&c, ap->opts);
		if (ap->flags & AP_OUTPUT)
			comp_option_names(&c, output_opts);
		comp_emit(&c, "--help", "print this help");
		directive = DIR_NOFILE;
	} else if ((ap->flags & AP_ARGS_STOP) && npos >= 1) {
		directive = DIR_DEFAULT; /* the container's command line: the shell's files */
	} else {
		directive = comp_kind(ctx, &c, ap->complete_args, ap->words, force);
	}
	return directive;
}

int ctrbox_complete(struct ctx *ctx, int argc, char **argv)
{
	fprintf(ctx->out, ":%d\n", complete_words(ctx, argc - 1, argv + 1, ctx->out));
	return EXIT_OK;
}

/* cmd/pull.c - ctrbox pull: images from registries and offline sources into the store, several
 * at once, with progress for people (a terminal) and for programs (--progress json) (DESIGN.md
 * "pull"; ctrbox-pull(1)) */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/applet.h"
#include "common/image/pull.h"
#include "common/image/ref.h"
#include "common/store/layout.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"
#include "common/util/out.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

enum {
	O_PLATFORM = OPT_LONG + 1,
	O_CREDS,
	O_PLAIN_HTTP,
	O_NO_UNPACK,
	O_PROGRESS,
	O_MAX_DOWNLOADS,
};

static const struct opt pull_opts[] = {
	{'f', "file", "FILE", "read references from FILE, one a line (# comments)", COMP_FILE, NULL,
	 0},
	{'j', "jobs", "N", "images pulled at once (default 4; config pull.max_concurrent_pulls)",
	 COMP_NONE, NULL, 0},
	{O_MAX_DOWNLOADS, "max-downloads", "N",
	 "blobs downloaded at once per image (default 3; config pull.max_concurrent_downloads)",
	 COMP_NONE, NULL, 0},
	{O_PLATFORM, "platform", "OS/ARCH[/VARIANT]", "the platform to pick from an index",
	 COMP_WORDS, "linux/amd64|linux/arm64|linux/arm/v7|linux/386|linux/ppc64le|linux/s390x",
	 0},
	{O_CREDS, "creds", "USER:PASSWORD", "registry credentials (else docker's config.json)",
	 COMP_NONE, NULL, 0},
	{O_PLAIN_HTTP, "plain-http", NULL, "talk to the registry over http", COMP_NONE, NULL, 0},
	{O_NO_UNPACK, "no-unpack", NULL, "stop at the content store, do not unpack", COMP_NONE,
	 NULL, 0},
	{O_PROGRESS, "progress", "MODE", "auto (bars on a terminal), tty, json or none",
	 COMP_WORDS, "auto|tty|json|none", 0},
	{0},
};

const struct applet applet_pull = {
	.name = "pull",
	.main = ctrbox_pull,
	.opts = pull_opts,
	.flags = AP_OUTPUT | AP_WRITES_STORE,
	.usage = "pull [OPTIONS] [-f FILE] [REF...]",
	.summary = "pull images from a registry or an offline source",
	.description =
		"REF is a registry reference (busybox, registry:5000/team/app:1.2,\n"
		"name@sha256:DIGEST) or an offline source: oci:DIR[:TAG], oci-archive:FILE[:TAG],\n"
		"docker-archive:FILE. Every blob is verified before it is committed; the image is\n"
		"recorded only when all of them are, and an interrupted pull resumes next time.",
	.complete_args = COMP_IMAGE,
	.formats = "table|json|jsonl",
};

static const struct col pull_cols[] = {
	{"digest", "DIGEST", COL_ID},
	{"reference", "IMAGE", COL_STR},
	{"platform", "PLATFORM", COL_STR},
	{"size_bytes", "SIZE", COL_SIZE},
	{"layers", "LAYERS", COL_INT},
	{"fetched_bytes", "FETCHED", COL_SIZE},
	{"duration_ms", "TIME", COL_DURATION},
	{0},
};

enum progress_mode {
	PROG_AUTO = 0,
	PROG_TTY,
	PROG_JSON,
	PROG_NONE,
};

/* One blob line of the terminal display. */
struct bar {
	char image[64];
	struct digest blob;
	enum pull_phase phase;
	int64_t done, total;
};

/* Progress shared by the pulling threads: one mutex, redrawn at most every 100 ms. */
struct display {
	const struct ctx *ctx;
	enum progress_mode mode;
	pthread_mutex_t mu;
	struct bar *bars;
	size_t n_bars, cap_bars;
	size_t drawn; /* lines drawn last time, to move back over */
	int64_t start_ns, last_ns;
};

static struct bar *bar_find(struct display *d, const char *image, const struct digest *blob)
{
	for (size_t i = 0; i < d->n_bars; i++)
		if (digest_equal(&d->bars[i].blob, blob) && strncmp(d->bars[i].image, image, 63) == 0)
			return &d->bars[i];
	if (d->n_bars == d->cap_bars) {
		d->cap_bars = d->cap_bars ? d->cap_bars * 2 : 16;
		d->bars = xreallocarray(d->bars, d->cap_bars, sizeof(*d->bars));
	}
	d->bars[d->n_bars] = (struct bar){0};
	snprintf(d->bars[d->n_bars].image, sizeof(d->bars[0].image), "%s", image);
	d->bars[d->n_bars].blob = *blob;
	return &d->bars[d->n_bars++];
}

static const char *phase_word(enum pull_phase p)
{
	switch (p) {
	case PULL_DOWNLOAD:
		return "Downloading";
	case PULL_VERIFY:
		return "Verifying";
	case PULL_COMMITTED:
		return "Pull complete";
	case PULL_EXISTS:
		return "Already exists";
	case PULL_UNPACK:
		return "Unpacking";
	case PULL_DONE:
		return "Done";
	case PULL_RESOLVE:
	default:
		return "Resolving";
	}
}

/* Redraws every bar and a total line over what was drawn before (ANSI cursor-up). */
static void display_draw(struct display *d, bool final)
{
	int64_t done = 0, total = 0, now = ctx_clock_monotonic();
	double secs = (double)(now - d->start_ns) / 1e9, rate;
	char a[UNITS_BUFSZ], b[UNITS_BUFSZ], r[UNITS_BUFSZ];
	FILE *f = d->ctx->err;

	if (!final && now - d->last_ns < 100 * NSEC_PER_MSEC)
		return;
	d->last_ns = now;
	if (d->drawn)
		fprintf(f, "\033[%zuA", d->drawn);
	for (size_t i = 0; i < d->n_bars; i++) {
		struct bar *x = &d->bars[i];
		char line[24] = "";
		int w = 20, fill = x->total > 0 ? (int)(x->done * w / x->total) : 0;

		done += x->done;
		total += x->total;
		if (x->phase == PULL_DOWNLOAD) {
			memset(line, '=', (size_t)fill);
			memset(line + fill, ' ', (size_t)(w - fill));
			if (fill < w)
				line[fill] = '>';
			line[w] = 0;
		}
		units_format_size(x->done, a, sizeof(a));
		units_format_size(x->total, b, sizeof(b));
		fprintf(f, "\033[2K%.12s: %-14s %s%s%s %s/%s\n", x->blob.hex, phase_word(x->phase),
			line[0] ? "[" : "", line, line[0] ? "]" : "", a, b);
	}
	rate = secs > 0 ? (double)done / secs : 0;
	units_format_size(done, a, sizeof(a));
	units_format_size(total, b, sizeof(b));
	units_format_size((int64_t)rate, r, sizeof(r));
	if (rate > 0 && total > done)
		fprintf(f, "\033[2Ktotal %s/%s  %s/s  ETA %.0fs\n", a, b, r,
			(double)(total - done) / rate);
	else
		fprintf(f, "\033[2Ktotal %s/%s  %s/s\n", a, b, r);
	d->drawn = d->n_bars + 1;
	fflush(f);
}

/* One JSON line per step; downloads only every 1% or when done, so a 1 GB layer is ~100 lines. */
static void display_json(struct display *d, const struct pull_progress *p, struct bar *x)
{
	cleanup_json struct json_object *o = NULL;
	cleanup_free char *s = NULL;
	char ds[DIGEST_STR_LEN];

	if (p->phase == PULL_DOWNLOAD && x) {
		int64_t step = p->total / 100 > 0 ? p->total / 100 : 1;

		if (p->done != p->total && p->done / step == x->done / step && x->done)
			return;
	}
	o = json_object_new_object();
	jsonio_set_str(o, "image", p->image);
	jsonio_set_str(o, "phase", pull_phase_name(p->phase));
	if (p->blob) {
		digest_format(p->blob, ds);
		jsonio_set_str(o, "blob", ds);
		if (p->layer >= 0)
			jsonio_set_int(o, "layer", p->layer);
	}
	jsonio_set_int(o, "bytes", p->done);
	jsonio_set_int(o, "total_bytes", p->total);
	s = jsonio_to_string(o, false);
	fprintf(d->ctx->err, "%s\n", s);
	fflush(d->ctx->err);
}

static void on_progress(void *arg, const struct pull_progress *p)
{
	struct display *d = arg;
	struct bar *x = NULL;

	pthread_mutex_lock(&d->mu);
	if (p->blob)
		x = bar_find(d, p->image, p->blob);
	if (d->mode == PROG_JSON)
		display_json(d, p, x);
	if (x) {
		x->phase = p->phase;
		x->done = p->done;
		x->total = p->total;
	}
	if (d->mode == PROG_TTY)
		display_draw(d, false);
	pthread_mutex_unlock(&d->mu);
}

/* The work shared by the threads that pull several images. */
struct job {
	struct image_ref ref;
	struct pull_result res;
	struct err err;
	int rc;
};

struct jobs {
	const struct ctx *ctx;
	const struct pull_opts *po;
	struct job *v;
	size_t n;
	atomic_size_t next;
};

static void *pull_worker(void *arg)
{
	struct jobs *js = arg;
	size_t i;

	while ((i = atomic_fetch_add(&js->next, 1)) < js->n) {
		struct job *j = &js->v[i];

		j->rc = pull_image(js->ctx, &j->ref, js->po, &j->res, &j->err);
	}
	return NULL;
}

/* References from FILE: one a line, blank lines and # comments ignored. */
#define REF_FILE_MAX (1 << 20)
static int read_ref_file(struct optparse *op, const char *path, char ***refs, size_t *n)
{
	cleanup_free char *text = NULL;
	struct err e = ERR_INIT;
	size_t len = 0;
	char *line, *save = NULL;

	if ((strcmp(path, "-") == 0 ? fs_read_fd(STDIN_FILENO, "stdin", REF_FILE_MAX, &text, &len, &e)
	                            : fs_read_file(path, REF_FILE_MAX, &text, &len, &e)) < 0)
		return applet_fail(op->ctx, &e);
	if (memchr(text, '\0', len)) {
		err_set(&e, E_INVALID, "%s: not a text file (a NUL byte)", path);
		return applet_fail(op->ctx, &e);
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#'), *s = line, *end;

		if (hash)
			*hash = 0;
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		end = s + strlen(s);
		while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = 0;
		if (!*s)
			continue;
		*refs = xreallocarray(*refs, *n + 2, sizeof(**refs));
		(*refs)[(*n)++] = xstrdup(s);
		(*refs)[*n] = NULL;
	}
	return 0;
}

/* docker's config.json candidates, most specific first: $REGISTRY_AUTH_FILE,
 * $DOCKER_CONFIG/config.json, ~/.docker/config.json. */
static char **auth_files(void)
{
	char **v = xcalloc(4, sizeof(*v));
	const char *s;
	size_t n = 0;

	if ((s = getenv("REGISTRY_AUTH_FILE")) && *s)
		v[n++] = xstrdup(s);
	if ((s = getenv("DOCKER_CONFIG")) && *s)
		v[n++] = xasprintf("%s/config.json", s);
	if ((s = getenv("HOME")) && *s)
		v[n++] = xasprintf("%s/.docker/config.json", s);
	return v;
}

static int parse_progress(struct optparse *op, enum progress_mode *out)
{
	static const char *const words[] = {"auto", "tty", "json", "none"};

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcmp(op->arg, words[i]) == 0) {
			*out = (enum progress_mode)i;
			return 0;
		}
	opt_usage_error(op, "--progress: \"%s\" is not auto, tty, json or none", op->arg);
	return -1;
}

static void print_results(struct ctx *ctx, struct jobs *js, struct err *e, int *rc)
{
	struct out *o;
	char ds[DIGEST_STR_LEN];
	size_t ok = 0;

	for (size_t i = 0; i < js->n; i++)
		ok += js->v[i].rc == 0;
	if (!ok && ctx->fmt == OUT_TABLE)
		return; /* the errors said it all; a bare heading would only clutter */
	o = out_begin(ctx, pull_cols);

	for (size_t i = 0; i < js->n; i++) {
		struct job *j = &js->v[i];

		if (j->rc < 0)
			continue;
		digest_format(&j->res.manifest, ds);
		out_row(o, ds, j->res.name, j->res.platform, j->res.size_bytes,
			(int64_t)j->res.n_layers, j->res.bytes_fetched, j->res.duration_ns);
	}
	if (out_end(o, e) < 0)
		*rc = applet_fail(ctx, e);
}

int ctrbox_pull(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct err e = ERR_INIT;
	struct pull_opts po = {0};
	struct display disp = {.ctx = ctx};
	struct jobs js = {.ctx = ctx, .po = &po};
	cleanup_strv char **refs = NULL, **auth = NULL;
	cleanup_free pthread_t *tids = NULL;
	enum progress_mode mode = PROG_AUTO;
	uint64_t jobs = (uint64_t)ctx->cfg->pull.max_concurrent_pulls;
	uint64_t downloads = (uint64_t)ctx->cfg->pull.max_concurrent_downloads;
	const char *platform = NULL;
	size_t n_refs = 0, n_threads = 0, i;
	int c, rc = EXIT_OK;

	po.unpack = ctx->cfg->pull.unpack;
	opt_begin(&op, ctx, &applet_pull, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'f':
			if (read_ref_file(&op, op.arg, &refs, &n_refs) != 0)
				return EXIT_FAIL;
			break;
		case 'j':
			if (opt_uint(&op, 64, &jobs) < 0)
				return op.rc;
			break;
		case O_MAX_DOWNLOADS:
			if (opt_uint(&op, 64, &downloads) < 0)
				return op.rc;
			break;
		case O_PLATFORM:
			platform = op.arg;
			break;
		case O_CREDS:
			if (!strchr(op.arg, ':'))
				return opt_usage_error(&op, "--creds: expected USER:PASSWORD");
			po.creds = op.arg;
			break;
		case O_PLAIN_HTTP:
			po.plain_http = true;
			break;
		case O_NO_UNPACK:
			po.unpack = false;
			break;
		case O_PROGRESS:
			if (parse_progress(&op, &mode) < 0)
				return op.rc;
			break;
		default:
			break;
		}
	}
	if (c < 0)
		return op.rc;
	if (jobs == 0 || downloads == 0)
		return opt_usage_error(&op, "--jobs and --max-downloads must be at least 1");
	for (i = 0; i < (size_t)op.argc; i++) {
		refs = xreallocarray(refs, n_refs + 2, sizeof(*refs));
		refs[n_refs++] = xstrdup(op.argv[i]);
		refs[n_refs] = NULL;
	}
	if (n_refs == 0)
		return opt_usage_error(&op, "no image given");
	if (platform) {
		if (platform_parse(platform, &po.platform, &e) < 0)
			return opt_usage_error(&op, "--platform: %s", e.msg);
	} else {
		platform_host(&po.platform);
	}

	/* Every reference is checked before anything is written. */
	js.v = xcalloc(n_refs, sizeof(*js.v));
	js.n = n_refs;
	for (i = 0; i < n_refs; i++)
		if (ref_parse(refs[i], &js.v[i].ref, &e) < 0) {
			rc = opt_usage_error(&op, "%s: %s", refs[i], e.msg);
			goto out;
		}
	if ((rc = applet_need_store(ctx)) != EXIT_OK)
		goto out;

	if (mode == PROG_AUTO)
		mode = isatty(STDERR_FILENO) && !ctx->quiet ? PROG_TTY : PROG_NONE;
	disp.mode = mode;
	disp.start_ns = ctx_clock_monotonic();
	pthread_mutex_init(&disp.mu, NULL);
	auth = auth_files();
	po.auth_files = (const char *const *)auth;
	po.max_downloads = (int)downloads;
	if (mode == PROG_TTY || mode == PROG_JSON) {
		po.progress = on_progress;
		po.progress_arg = &disp;
	}

	atomic_init(&js.next, 0);
	tids = xcalloc(n_refs, sizeof(*tids));
	while (n_threads + 1 < jobs && n_threads + 1 < n_refs &&
	       pthread_create(&tids[n_threads], NULL, pull_worker, &js) == 0)
		n_threads++;
	pull_worker(&js);
	for (i = 0; i < n_threads; i++)
		pthread_join(tids[i], NULL);
	if (mode == PROG_TTY)
		display_draw(&disp, true);
	pthread_mutex_destroy(&disp.mu);

	for (i = 0; i < n_refs; i++)
		if (js.v[i].rc < 0)
			rc = applet_fail(ctx, &js.v[i].err);
	print_results(ctx, &js, &e, &rc);
out:
	for (i = 0; i < js.n; i++) {
		ref_release(&js.v[i].ref);
		pull_result_release(&js.v[i].res);
	}
	free(js.v);
	free(disp.bars);
	platform_release(&po.platform);
	return rc;
}

/* cmd/images.c - ctrbox images: the images recorded in the store, read without any lock
 * (DESIGN.md "pull"; ctrbox-images(1)) */
#include <string.h>

#include "cmd/applet.h"
#include "common/image/unpack.h"
#include "common/store/image_record.h"
#include "common/util/mem.h"
#include "common/util/out.h"
#include "common/util/units.h"

enum {
	O_DIGESTS = OPT_LONG + 1,
};

static const struct opt images_opts[] = {
	{O_DIGESTS, "digests", NULL, "show the manifest digest column", COMP_NONE, NULL, 0},
	{0},
};

const struct applet applet_images = {
	.name = "images",
	.main = ctrbox_images,
	.opts = images_opts,
	.flags = AP_OUTPUT,
	.usage = "images [OPTIONS] [REPOSITORY]",
	.summary = "list the images in the store",
	.description = "IMAGE ID is the image's config digest, as docker shows it; -q prints only\n"
		       "the IDs, and REPOSITORY keeps the images of one repository.",
	.complete_args = COMP_IMAGE,
};

static const struct col images_cols[] = {
	{"repository", "REPOSITORY", COL_STR},
	{"tag", "TAG", COL_STR},
	{"id", "IMAGE ID", COL_ID},
	{"platform", "PLATFORM", COL_STR},
	{"created", "CREATED", COL_TIME},
	{"size_bytes", "SIZE", COL_SIZE},
	{"unpacked", "UNPACKED", COL_STR},
	{"name", NULL, COL_STR},
	{"digest", NULL, COL_STR},
	{"pulled", NULL, COL_TIME},
	{"unpacked_bytes", NULL, COL_SIZE},
	{0},
};

static const struct col images_digest_cols[] = {
	{"repository", "REPOSITORY", COL_STR},
	{"tag", "TAG", COL_STR},
	{"digest", "DIGEST", COL_STR},
	{"id", "IMAGE ID", COL_ID},
	{"platform", "PLATFORM", COL_STR},
	{"created", "CREATED", COL_TIME},
	{"size_bytes", "SIZE", COL_SIZE},
	{"unpacked", "UNPACKED", COL_STR},
	{"name", NULL, COL_STR},
	{"pulled", NULL, COL_TIME},
	{"unpacked_bytes", NULL, COL_SIZE},
	{0},
};

/* The UNPACKED cell: the snapshots' size on disk when every layer is unpacked, "partly" when
 * some are, "-" when none (or the image's documents cannot be read: images never fails on it). */
static char *unpacked_text(const struct ctx *ctx, const struct digest *manifest, int64_t *bytes)
{
	struct unpack_result u = {0};
	struct err e = ERR_INIT;
	char b[UNITS_BUFSZ];
	char *s;

	*bytes = 0;
	if (unpack_lookup(ctx, manifest, &u, &e) < 0)
		return xstrdup("-");
	if (u.n_layers && u.n_reused == u.n_layers) {
		units_format_size(u.size_bytes, b, sizeof(b));
		s = xstrdup(b);
	} else {
		s = xstrdup(u.n_reused ? "partly" : "-");
	}
	*bytes = u.size_bytes;
	unpack_result_release(&u);
	return s;
}

/* "host/a/b:tag@sha256:x" -> repository "host/a/b", tag "tag" (or "<none>"). */
static void split_name(const char *name, char **repo, char **tag)
{
	const char *at = strchr(name, '@');
	size_t len = at ? (size_t)(at - name) : strlen(name);
	const char *slash = memrchr(name, '/', len);
	const char *colon = memrchr(slash ? slash : name, ':', len - (size_t)((slash ? slash : name) - name));

	if (colon) {
		*repo = xstrndup(name, (size_t)(colon - name));
		*tag = xstrndup(colon + 1, len - (size_t)(colon + 1 - name));
	} else {
		*repo = xstrndup(name, len);
		*tag = xstrdup("<none>");
	}
}

int ctrbox_images(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct err e = ERR_INIT;
	struct image_record *v = NULL;
	size_t n = 0, skipped = 0;
	bool digests = false;
	struct out *o;
	int c;

	opt_begin(&op, ctx, &applet_images, argc, argv);
	while ((c = opt_next(&op)) > 0)
		if (c == O_DIGESTS)
			digests = true;
	if (c < 0)
		return op.rc;
	if (op.argc > 1)
		return opt_usage_error(&op, "unexpected argument \"%s\"", op.argv[1]);
	if (image_record_list(ctx, &v, &n, &skipped, &e) < 0)
		return applet_fail(ctx, &e);
	if (skipped)
		fprintf(ctx->err, "ctrbox images: %s/images: %zu record(s) cannot be read\n",
			ctx->path.root, skipped);
	o = out_begin(ctx, digests ? images_digest_cols : images_cols);
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *repo = NULL, *tag = NULL, *unpacked = NULL;
		char md[DIGEST_STR_LEN], cd[DIGEST_STR_LEN];
		int64_t ubytes;

		split_name(v[i].name, &repo, &tag);
		if (op.argc == 1 && strcmp(repo, op.argv[0]) != 0)
			continue;
		digest_format(&v[i].manifest, md);
		digest_format(&v[i].config, cd);
		unpacked = unpacked_text(ctx, &v[i].manifest, &ubytes);
		if (digests)
			out_row(o, repo, tag, md, cd, v[i].platform, v[i].created_ns, v[i].size_bytes,
				unpacked, v[i].name, v[i].pulled_ns, ubytes);
		else
			out_row(o, repo, tag, cd, v[i].platform, v[i].created_ns, v[i].size_bytes,
				unpacked, v[i].name, md, v[i].pulled_ns, ubytes);
	}
	image_records_free(v, n);
	if (out_end(o, &e) < 0)
		return applet_fail(ctx, &e);
	return skipped ? EXIT_FAIL : EXIT_OK;
}

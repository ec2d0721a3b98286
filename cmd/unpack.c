/* cmd/unpack.c - ctrbox unpack: apply pulled images' layers into snapshots (in parallel, reusing
 * layers other images share), or write a flattened rootfs or an OCI bundle for other runtimes
 * (DESIGN.md "unpack"; ctrbox-unpack(1)) */
#include <string.h>

#include "cmd/applet.h"
#include "common/image/ref.h"
#include "common/image/unpack.h"
#include "common/store/blob.h"
#include "common/store/image_record.h"
#include "common/util/buf.h"
#include "common/util/mem.h"
#include "common/util/out.h"

enum {
	O_VERIFY = OPT_LONG + 1,
	O_TO,
	O_BUNDLE,
};

static const struct opt unpack_opts[] = {
    {O_VERIFY, "verify", NULL,
     "check the image's existing snapshots and rebuild any that do not match", COMP_NONE, NULL, 0},
    {'j', "jobs", "N", "layers applied at once (default: the number of CPUs)", COMP_NONE, NULL, 0},
    {O_TO, "to", "DIR", "write a flattened rootfs into DIR instead (new or empty)", COMP_DIR, NULL,
     0},
    {O_BUNDLE, "bundle", "DIR", "write an OCI runtime bundle (DIR/rootfs, DIR/config.json) instead",
     COMP_DIR, NULL, 0},
    {0},
};

const struct applet applet_unpack = {
    .name = "unpack",
    .main = ctrbox_unpack,
    .opts = unpack_opts,
    .flags = AP_OUTPUT | AP_WRITES_STORE,
    .usage = "unpack [--verify] [-j N] [--to DIR | --bundle DIR] IMAGE...",
    .summary = "apply images' layers into snapshots, or write a rootfs or bundle",
    .description =
        "IMAGE is a reference as pulled, a unique prefix of an IMAGE ID or digest, or a\n"
        "manifest digest in the content store. Layers go into snapshots under\n"
        "ROOT/snapshots, several at once, each checked against the config's diff_id; a\n"
        "layer another image already unpacked is reused. Nothing is mounted and nothing\n"
        "is visible until every layer succeeded.",
    .complete_args = COMP_IMAGE,
    .formats = "table|json|jsonl",
};

static const struct col unpack_cols[] = {
    {"digest", "DIGEST", COL_ID},      {"reference", "IMAGE", COL_STR},
    {"layers", "LAYERS", COL_INT},     {"reused", "REUSED", COL_INT},
    {"rebuilt", NULL, COL_INT},        {"unpacked_bytes", "UNPACKED", COL_SIZE},
    {"size_bytes", "SIZE", COL_SIZE},  {"duration_ms", "TIME", COL_DURATION},
    {"snapshots", NULL, COL_RAW_JSON}, {0},
};

/* The image IMAGE names: a reference as recorded, a unique prefix (4+ hex digits) of an image
 * ID or manifest digest, or a full manifest digest present in the content store. *name is the
 * record's name or NULL; the caller frees it. */
static int find_image(const struct ctx *ctx, const char *arg, struct digest *md, char **name,
                      struct err *e)
{
	struct image_ref ref;
	struct image_record rec, *v = NULL;
	size_t n = 0, skipped = 0, i, hits = 0, at = 0;
	const char *hex = strncmp(arg, "sha256:", 7) == 0 ? arg + 7 : arg;
	size_t len = strlen(hex);
	struct err local = ERR_INIT;
	int64_t size;

	if (ref_parse(arg, &ref, &local) == 0) {
		int rc = image_record_load(ctx, ref.name, &rec, &local);

		ref_release(&ref);
		if (rc == 0) {
			*md = rec.manifest;
			*name = xstrdup(rec.name);
			image_record_release(&rec);
			return 0;
		}
	}
	if (len >= 4 && len <= DIGEST_HEX_LEN && strspn(hex, "0123456789abcdef") == len &&
	    image_record_list(ctx, &v, &n, &skipped, &local) == 0) {
		for (i = 0; i < n; i++)
			if (strncmp(v[i].config.hex, hex, len) == 0 ||
			    strncmp(v[i].manifest.hex, hex, len) == 0) {
				hits++;
				at = i;
			}
		if (hits == 1) {
			*md = v[at].manifest;
			*name = xstrdup(v[at].name);
		}
		image_records_free(v, n);
		if (hits == 1)
			return 0;
		if (hits > 1)
			return err_set(e, E_INVALID, "%s: ambiguous: %zu images match", arg, hits);
	}
	if (len == DIGEST_HEX_LEN) {
		cleanup_free char *full = xasprintf("sha256:%s", hex);

		if (digest_parse(full, md, &local) == 0 && blob_stat(ctx, md, &size, &local) == 0) {
			*name = NULL;
			return 0;
		}
	}
	return err_set(e, E_NOTFOUND, "%s: no such image", arg);
}

static char *snapshots_json(const struct unpack_result *r)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_addc(&b, '[');
	for (i = 0; r->snapshots && r->snapshots[0] && i < r->n_layers; i++)
		buf_printf(&b, "%s%d", i ? "," : "", r->snapshots[i]);
	buf_addc(&b, ']');
	return buf_take(&b);
}

int ctrbox_unpack(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct unpack_opts uo = {0};
	struct out *o;
	struct err e = ERR_INIT;
	uint64_t jobs;
	int c, i, rc;

	opt_begin(&op, ctx, &applet_unpack, argc, argv);
	while ((c = opt_next(&op)) > 0) {
		if (c == O_VERIFY)
			uo.flags |= UNPACK_VERIFY;
		else if (c == 'j') {
			if (opt_uint(&op, 1024, &jobs) < 0)
				return op.rc;
			if (jobs == 0)
				return opt_usage_error(&op, "--jobs must be at least 1");
			uo.jobs = (int)jobs;
		} else if (c == O_TO)
			uo.to_dir = op.arg;
		else if (c == O_BUNDLE)
			uo.bundle_dir = op.arg;
	}
	if (c < 0)
		return op.rc;
	if (op.argc == 0)
		return opt_usage_error(&op, "no image given");
	if (uo.to_dir && uo.bundle_dir)
		return opt_usage_error(&op, "--to and --bundle exclude each other");
	if ((uo.to_dir || uo.bundle_dir) && op.argc > 1)
		return opt_usage_error(&op, "--%s takes one image", uo.to_dir ? "to" : "bundle");
	if ((uo.to_dir && !*uo.to_dir) || (uo.bundle_dir && !*uo.bundle_dir))
		return opt_usage_error(&op, "empty directory name");
	if ((rc = applet_need_store(ctx)) != EXIT_OK)
		return rc;
	o = out_begin(ctx, unpack_cols);
	for (i = 0; i < op.argc; i++) {
		struct digest md;
		cleanup_free char *name = NULL;
		cleanup_free char *snaps = NULL;
		struct unpack_result r;
		char id[DIGEST_STR_LEN];

		if (find_image(ctx, op.argv[i], &md, &name, &e) < 0) {
			rc = applet_fail(ctx, &e);
			continue;
		}
		uo.name = name;
		if (unpack_image(ctx, &md, &uo, &r, &e) < 0) {
			err_wrap(&e, "%s", name ? name : op.argv[i]);
			rc = applet_fail(ctx, &e);
			continue;
		}
		digest_format(&md, id);
		snaps = snapshots_json(&r);
		out_row(o, id, name ? name : id, (int64_t)r.n_layers, (int64_t)r.n_reused,
		        (int64_t)r.n_rebuilt, r.bytes, r.size_bytes, r.duration_ns, snaps);
		unpack_result_release(&r);
	}
	if (out_end(o, &e) < 0)
		rc = applet_fail(ctx, &e);
	return rc;
}

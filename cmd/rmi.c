/* cmd/rmi.c - ctrbox rmi: remove image records, refusing an image a container uses unless -f,
 * then collect the blobs no image needs any more (DESIGN.md "pull"; ctrbox-rmi(1)) */
#include <string.h>

#include "cmd/applet.h"
#include "common/image/gc.h"
#include "common/image/ref.h"
#include "common/store/container_record.h"
#include "common/store/event.h"
#include "common/store/image_record.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/units.h"

static const struct opt rmi_opts[] = {
	{'f', "force", NULL, "remove even when a container uses the image", COMP_NONE, NULL, 0},
	{0},
};

const struct applet applet_rmi = {
	.name = "rmi",
	.main = ctrbox_rmi,
	.opts = rmi_opts,
	.flags = AP_WRITES_STORE,
	.usage = "rmi [-f] IMAGE...",
	.summary = "remove images",
	.description = "IMAGE is a reference as pulled (busybox, registry:5000/app:1.2) or a unique\n"
		       "prefix of an IMAGE ID or digest. Blobs that no remaining image uses are\n"
		       "removed too, unless a pull is running (then `ctrbox prune` removes them).",
	.complete_args = COMP_IMAGE,
};

/* The record IMAGE names: by reference first, else by a unique prefix of an ID or digest. */
static int find_image(const struct ctx *ctx, const char *arg, struct image_record *v, size_t n,
		      size_t *out, struct err *e)
{
	struct image_ref ref;
	size_t len, hits = 0, at = 0, i;
	const char *hex = strncmp(arg, "sha256:", 7) == 0 ? arg + 7 : arg;

	if (ref_parse(arg, &ref, e) == 0) {
		for (i = 0; i < n; i++)
			if (strcmp(v[i].name, ref.name) == 0 || strcmp(v[i].name, arg) == 0) {
				ref_release(&ref);
				*out = i;
				return 0;
			}
		ref_release(&ref);
	}
	err_clear(e);
	len = strlen(hex);
	if (len >= 4 && len <= DIGEST_HEX_LEN && strspn(hex, "0123456789abcdef") == len)
		for (i = 0; i < n; i++)
			if (strncmp(v[i].config.hex, hex, len) == 0 ||
			    strncmp(v[i].manifest.hex, hex, len) == 0) {
				hits++;
				at = i;
			}
	if (hits == 1) {
		*out = at;
		return 0;
	}
	if (hits > 1)
		return err_set(e, E_INVALID, "%s: ambiguous: %zu images match", arg, hits);
	return err_set(e, E_NOTFOUND, "%s: no such image", arg);
}

/* The first container that uses the image, by digest or by name. */
static char *user_of(const struct ctx *ctx, const struct image_record *img)
{
	cleanup_strv char **ids = NULL;
	struct err e = ERR_INIT;
	char md[DIGEST_STR_LEN];
	size_t n = 0;

	digest_format(&img->manifest, md);
	if (container_list_ids(ctx, &ids, &n, &e) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct container_doc c = {0};
		char *hit = NULL;

		if (container_doc_load(ctx, ids[i], &c, &e) < 0)
			continue;
		if ((c.image_digest && strcmp(c.image_digest, md) == 0) ||
		    (c.image && strcmp(c.image, img->name) == 0))
			hit = xstrdup(c.name ? c.name : c.id);
		container_doc_release(&c);
		if (hit)
			return hit;
	}
	return NULL;
}

static int remove_one(struct ctx *ctx, const char *arg, bool force, struct err *e)
{
	struct image_record *v = NULL;
	cleanup_free char *user = NULL, *name = NULL;
	size_t n = 0, skipped = 0, at = 0;
	struct err ev = ERR_INIT;
	int rc = -1;

	if (image_record_list(ctx, &v, &n, &skipped, e) < 0)
		return -1;
	if (find_image(ctx, arg, v, n, &at, e) < 0)
		goto out;
	name = xstrdup(v[at].name);
	if (!force && (user = user_of(ctx, &v[at]))) {
		err_set(e, E_BUSY, "%s: in use by container %s (use -f to remove it anyway)", name,
			user);
		goto out;
	}
	if (image_record_remove(ctx, name, e) < 0)
		goto out;
	fprintf(ctx->out, "Untagged: %s\n", name);
	if (event_emit(ctx, EVENT_NORMAL, "Removed", OBJECT_IMAGE, NULL, name, NULL, &ev,
		       "removed image %s", name) < 0)
		log_warn(ctx, "journal: %s", ev.msg);
	rc = 0;
out:
	image_records_free(v, n);
	return rc;
}

int ctrbox_rmi(struct ctx *ctx, int argc, char **argv)
{
	struct optparse op;
	struct gc_report r = {0};
	struct err e = ERR_INIT;
	bool force = false;
	int c, i, rc = EXIT_OK, removed = 0;

	opt_begin(&op, ctx, &applet_rmi, argc, argv);
	while ((c = opt_next(&op)) > 0)
		if (c == 'f')
			force = true;
	if (c < 0)
		return op.rc;
	if (op.argc == 0)
		return opt_usage_error(&op, "no image given");
	if ((rc = applet_need_store(ctx)) != EXIT_OK)
		return rc;
	for (i = 0; i < op.argc; i++) {
		err_clear(&e);
		if (remove_one(ctx, op.argv[i], force, &e) < 0)
			rc = applet_fail(ctx, &e);
		else
			removed++;
	}
	if (!removed)
		return rc;
	err_clear(&e);
	if (gc_collect(ctx, GC_SNAPSHOTS, &r, &e) < 0) {
		/* The records are gone, which is what was asked; the space comes back later. */
		log_warn(ctx, "blobs not collected: %s", e.msg);
		return rc;
	}
	for (size_t k = 0; k < r.n_items; k++)
		fprintf(ctx->out, "Deleted: %s\n", r.items[k].name);
	gc_report_release(&r);
	return rc;
}

/* common/runtime/inspect.c - the documents `inspect` prints (DESIGN.md "run": inspect
 * ID|IMAGE): a container's container.json and state.json as stored, with whether its init is
 * alive now and where its files are; an image's record with its manifest and config blobs.
 * Lock-free: documents are read as they are. */
#include <string.h>

#include "common/image/manifest.h"
#include "common/image/ref.h"
#include "common/runtime/inspect.h"
#include "common/runtime/lifecycle.h"
#include "common/runtime/lookup.h"
#include "common/store/blob.h"
#include "common/store/doc.h"
#include "common/store/image_record.h"
#include "common/store/layout.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"

struct inspect {
	struct json_object *array;
};

struct inspect *inspect_new(void)
{
	struct inspect *in = xcalloc(1, sizeof(*in));

	in->array = json_object_new_array();
	return in;
}

void inspect_free(struct inspect *in)
{
	if (!in)
		return;
	json_object_put(in->array);
	free(in);
}

char *inspect_finish(struct inspect *in)
{
	/* An empty array pretty-printed would be "[\n]". */
	char *s = jsonio_to_string(in->array, json_object_array_length(in->array) > 0);

	inspect_free(in);
	return s;
}

/* Whether the init recorded in state is the process alive now (not a reused PID). */
static bool init_alive(const struct ctx *ctx, struct json_object *state)
{
	int64_t pid = 0, start = 0;
	uint64_t now = 0;
	struct err e = ERR_INIT;

	if (jsonio_get_int(state, "pid", false, &pid, &e) < 0 ||
	    jsonio_get_int(state, "pid_start_time", false, &start, &e) < 0 || pid <= 0 ||
	    pid > INT32_MAX)
		return false;
	return rt_proc_start_time(ctx, (int)pid, &now, &e) == 0 &&
	       (start == 0 || now == (uint64_t)start);
}

static int add_container(const struct ctx *ctx, struct inspect *in, const char *id, struct err *e)
{
	cleanup_free char *dir = store_container_dir(ctx, id);
	cleanup_free char *sdir = store_container_state_dir(ctx, id);
	cleanup_free char *doc = path_join(dir, "container.json");
	cleanup_free char *sdoc = path_join(sdir, "state.json");
	cleanup_free char *config = path_join(dir, "config.json");
	cleanup_free char *log = path_join(dir, "log");
	cleanup_json struct json_object *c = NULL, *st = NULL;
	struct json_object *o;

	if (doc_read(doc, &c, e) < 0)
		return -1;
	if (doc_read(sdoc, &st, e) < 0) {
		if (e->code != E_NOTFOUND)
			return -1;
		err_clear(e);
	}
	o = json_object_new_object();
	jsonio_set_str(o, "type", "container");
	json_object_object_foreach(c, k, v)
	{
		json_object_object_add(o, k, json_object_get(v));
	}
	if (st)
		json_object_object_add(st, "running", json_object_new_boolean(init_alive(ctx, st)));
	json_object_object_add(o, "state", TAKE_PTR(st));
	jsonio_set_str(o, "config_path", config);
	jsonio_set_str(o, "log_path", log);
	jsonio_set_str(o, "root_dir", dir);
	jsonio_set_str(o, "state_dir", sdir);
	json_object_array_add(in->array, o);
	return 0;
}

/* The image record arg names: a reference as pulled, else a unique prefix (4+ hex digits) of
 * its ID (config digest) or manifest digest. */
static int find_image(const struct ctx *ctx, const char *arg, struct image_record *out,
                      struct err *e)
{
	struct image_ref ref;
	struct image_record *v = NULL;
	const char *hex = strncmp(arg, "sha256:", 7) == 0 ? arg + 7 : arg;
	size_t n = 0, skipped = 0, hits = 0, at = 0, len = strlen(hex);
	struct err local = ERR_INIT;

	if (ref_parse(arg, &ref, &local) == 0) {
		int rc = image_record_load(ctx, ref.name, out, &local);

		ref_release(&ref);
		if (rc == 0)
			return 0;
		if (local.code != E_NOTFOUND) {
			*e = local;
			return -1;
		}
	}
	if (len >= 4 && len <= DIGEST_HEX_LEN && strspn(hex, "0123456789abcdef") == len) {
		if (image_record_list(ctx, &v, &n, &skipped, e) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (strncmp(v[i].config.hex, hex, len) == 0 ||
			    strncmp(v[i].manifest.hex, hex, len) == 0) {
				hits++;
				at = i;
			}
		if (hits == 1) {
			*out = v[at];
			v[at] = (struct image_record){0};
		}
		image_records_free(v, n);
		if (hits == 1)
			return 0;
		if (hits > 1)
			return err_set(e, E_INVALID, "%s: ambiguous: %zu images match", arg, hits);
	}
	return err_set(e, E_NOTFOUND, "%s: no such image", arg);
}

/* A blob parsed as JSON, or JSON null when it is missing or unreadable (an image record can
 * outlive a blob an interrupted prune removed; inspect shows what there is). */
static struct json_object *blob_json(const struct ctx *ctx, const struct digest *d, size_t max)
{
	cleanup_free char *data = NULL;
	struct json_object *o = NULL;
	struct err e = ERR_INIT;
	size_t len = 0;

	if (blob_read(ctx, d, max, &data, &len, &e) < 0 || jsonio_parse(data, len, &o, &e) < 0)
		return NULL;
	return o;
}

static int add_image(const struct ctx *ctx, struct inspect *in, const char *arg, struct err *e)
{
	struct image_record r = {0};
	struct json_object *o;
	char id[DIGEST_STR_LEN], md[DIGEST_STR_LEN];

	if (find_image(ctx, arg, &r, e) < 0)
		return -1;
	digest_format(&r.config, id);
	digest_format(&r.manifest, md);
	o = json_object_new_object();
	jsonio_set_str(o, "type", "image");
	jsonio_set_str(o, "id", id);
	jsonio_set_str(o, "name", r.name);
	jsonio_set_str(o, "manifest_digest", md);
	jsonio_set_str(o, "media_type", r.media_type);
	jsonio_set_str(o, "platform", r.platform);
	jsonio_set_int(o, "size_bytes", r.size_bytes);
	jsonio_set_time(o, "created", r.created_ns);
	jsonio_set_time(o, "pulled", r.pulled_ns);
	json_object_object_add(o, "manifest", blob_json(ctx, &r.manifest, MANIFEST_MAX));
	json_object_object_add(o, "config", blob_json(ctx, &r.config, CONFIG_MAX));
	json_object_array_add(in->array, o);
	image_record_release(&r);
	return 0;
}

int inspect_add(const struct ctx *ctx, struct inspect *in, const char *arg, enum inspect_kind kind,
                struct err *e)
{
	char id[65];

	if (kind != INSPECT_IMAGE) {
		if (container_lookup(ctx, arg, id, e) == 0)
			return add_container(ctx, in, id, e) < 0 ? err_wrap(e, "%s", arg) : 0;
		if (e->code != E_NOTFOUND || kind == INSPECT_CONTAINER)
			return -1;
		err_clear(e);
	}
	if (add_image(ctx, in, arg, e) == 0)
		return 0;
	if (e->code == E_NOTFOUND && kind == INSPECT_ANY)
		return err_set(e, E_NOTFOUND, "%s: no such container or image", arg);
	return -1;
}

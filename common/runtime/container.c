/* common/runtime/container.c - creating a container (DESIGN.md "run"): ID, name, image
 * (pulled per --pull, unpacked into snapshots), config.json, container.json and state.json, and
 * the Created event; or the same from an OCI bundle. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "common/image/manifest.h"
#include "common/image/ref.h"
#include "common/image/snapshot.h"
#include "common/image/unpack.h"
#include "common/runtime/cgroup.h"
#include "common/runtime/container.h"
#include "common/runtime/lookup.h"
#include "common/runtime/names.h"
#include "common/runtime/netfiles.h"
#include "common/store/blob.h"
#include "common/store/event.h"
#include "common/store/image_record.h"
#include "common/store/layout.h"
#include "common/store/lock.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define CONFIG_BLOB_MAX (4 << 20)
#define NAME_LOCK_NS    (10LL * 1000000000LL)

static const char *const adjectives[] = {
    "amber", "brave", "calm",  "clever", "eager", "fancy", "gentle", "happy", "jolly", "keen",
    "lucid", "merry", "nifty", "proud",  "quiet", "rapid", "sharp",  "sunny", "tidy",  "witty",
};
static const char *const nouns[] = {
    "badger", "bison", "crane", "dingo", "eagle", "ferret", "gecko", "heron", "ibis",  "koala",
    "lemur",  "lynx",  "moose", "otter", "panda", "quokka", "raven", "seal",  "tapir", "walrus",
};

static int random_bytes(void *buf, size_t n, struct err *e)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom((char *)buf + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_sys(e, "getrandom");
		got += (size_t)r;
	}
	return 0;
}

int container_new_id(char id[65], struct err *e)
{
	unsigned char b[32];

	if (random_bytes(b, sizeof(b), e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
	return 0;
}

void container_discard(const struct ctx *ctx, const char *id)
{
	cleanup_free char *cdir = store_container_dir(ctx, id);
	struct err e = ERR_INIT;

	(void)fs_remove_tree(cdir, NULL);
	(void)container_state_remove(ctx, id, &e);
}

/* The image record o->image names: looked up, or pulled as o->pull says. */
static int resolve_image(const struct ctx *ctx, const struct container_opts *o,
                         struct image_record *out, struct err *e)
{
	struct image_ref ref;
	struct pull_opts po = {0};
	struct pull_result res = {0};
	int rc;

	if (ref_parse(o->image, &ref, e) < 0)
		return err_wrap(e, "%s", o->image);
	if (o->pull != PULL_ALWAYS && ref.kind == REF_REGISTRY) {
		if (image_record_load(ctx, ref.name, out, e) == 0) {
			ref_release(&ref);
			return 0;
		}
		if (e->code != E_NOTFOUND) {
			ref_release(&ref);
			return err_wrap(e, "%s", o->image);
		}
	}
	if (o->pull == PULL_NEVER && ref.kind == REF_REGISTRY) {
		ref_release(&ref);
		return err_set(e, E_NOTFOUND, "%s: no such image (and --pull never)", o->image);
	}
	/* Offline sources carry their own name: importing again is cheap, the blobs exist. */
	if (o->pull_opts)
		po = *o->pull_opts;
	if (!o->pull_opts) {
		platform_host(&po.platform);
		po.max_downloads = 3;
	}
	po.unpack = false;
	rc = pull_image(ctx, &ref, &po, &res, e);
	if (!o->pull_opts)
		platform_release(&po.platform);
	ref_release(&ref);
	if (rc < 0)
		return -1;
	rc = image_record_load(ctx, res.name, out, e);
	pull_result_release(&res);
	return rc;
}

static int load_config(const struct ctx *ctx, const struct image_record *r,
                       struct image_config *out, struct err *e)
{
	cleanup_free char *data = NULL;
	size_t len = 0;

	if (blob_read(ctx, &r->config, CONFIG_BLOB_MAX, &data, &len, e) < 0 ||
	    image_config_parse(data, len, out, e) < 0)
		return err_wrap(e, "image %s: config", r->name);
	return 0;
}

static bool container_exists(const struct ctx *ctx, const char *id)
{
	cleanup_free char *doc = container_doc_path(ctx, id);

	return fs_exists(doc);
}

/* Whether name is free, judged under its lock l: the owner recorded in the name's file when
 * there is one (taken while that container's record exists), nobody when this claim created
 * the file, and otherwise (a file from before owners were recorded) every container.json. */
static int name_free(const struct ctx *ctx, const char *name, const struct lock *l, bool fresh,
                     struct err *e)
{
	char owner[65];

	if (names_owner(l->fd, owner)) {
		if (container_exists(ctx, owner))
			return err_set(e, E_EXISTS, "name %s: already in use by container %.12s",
			               name, owner);
		return 0;
	}
	if (fresh)
		return 0;
	return container_name_check(ctx, name, e);
}

/* The early check of a wanted name, before a pull and without its lock: a recorded owner
 * answers at once, a missing file means free; only a file without an owner costs a scan.
 * The answer that counts is claim_name's, under the lock. */
static int name_check_early(const struct ctx *ctx, const char *name, struct err *e)
{
	char owner[65];
	bool exists;

	if (container_name_valid(name, e) < 0)
		return -1;
	if (names_peek(ctx, name, &exists, owner)) {
		if (container_exists(ctx, owner))
			return err_set(e, E_EXISTS, "name %s: already in use by container %.12s",
			               name, owner);
		return 0;
	}
	return exists ? container_name_check(ctx, name, e) : 0;
}

/* Takes the name's lock and checks it is free; a generated name is retried. */
static int claim_name(const struct ctx *ctx, const char *want, const char *id, char **name,
                      struct lock *l, struct err *e)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		cleanup_free char *cand = NULL;
		unsigned char r[2] = {0, 0};

		if (want) {
			cand = xstrdup(want);
		} else if (attempt < 7) {
			if (random_bytes(r, sizeof(r), e) < 0)
				return -1;
			cand = xasprintf("%s_%s", adjectives[r[0] % ARRAY_SIZE(adjectives)],
			                 nouns[r[1] % ARRAY_SIZE(nouns)]);
		} else {
			cand = xasprintf("ctrbox-%.12s", id);
		}
		bool fresh = false;

		/* A wanted name was checked (format and use) before the pull; the check that
		 * counts is this one, under the name's lock. The owner goes into the name's file
		 * before the container's records, so a claimer that dies leaves an owner whose
		 * container does not exist: the name stays free. */
		if (names_lock(ctx, cand, NAME_LOCK_NS, l, &fresh, e) < 0)
			return err_wrap(e, "name %s", cand);
		if (name_free(ctx, cand, l, fresh, e) < 0 || names_set_owner(l, id, e) < 0) {
			lock_release(l);
			if (want || e->code != E_EXISTS)
				return -1;
			err_clear(e);
			continue;
		}
		*name = TAKE_PTR(cand);
		return 0;
	}
	return err_set(e, E_EXISTS, "no free container name found");
}

/* The snapshot numbers of an image whose every layer is unpacked already (bottom first), found
 * through the chain index alone: the common case of a run, without unpack_image's garbage
 * collection, locks and events. *out stays NULL when some layer is missing. */
static void snapshots_ready(const struct ctx *ctx, const struct image_config *img, int **out)
{
	cleanup_free struct digest *chains = NULL;
	cleanup_free int *ns = NULL;

	*out = NULL;
	if (img->n_diff_ids == 0)
		return;
	chains = xcalloc(img->n_diff_ids, sizeof(*chains));
	ns = xcalloc(img->n_diff_ids, sizeof(*ns));
	snapshot_chain_ids(img->diff_ids, img->n_diff_ids, chains);
	for (size_t i = 0; i < img->n_diff_ids; i++) {
		struct snapshot_meta m;
		struct err e = ERR_INIT;
		if (snapshot_lookup(ctx, &chains[i], &m, &e) < 0)
			return;
		ns[i] = m.n;
	}
	*out = TAKE_PTR(ns);
}

static int from_image(const struct ctx *ctx, const struct container_opts *o, const char *id,
                      struct container_doc *doc, struct err *e)
{
	struct image_record rec = {0};
	struct image_config img = {0};
	struct unpack_result ur = {0};
	struct spec s = {0};
	struct spec_opts so = *o->spec;
	cleanup_free int *ready = NULL;
	cleanup_free char *cdir = store_container_dir(ctx, id);
	cleanup_free char *cfg = path_join(cdir, "config.json");
	char **dirs = NULL;
	char md[DIGEST_STR_LEN];
	int rc = -1;

	if (resolve_image(ctx, o, &rec, e) < 0)
		return -1;
	if (load_config(ctx, &rec, &img, e) < 0)
		goto out;
	snapshots_ready(ctx, &img, &ready);
	if (ready) {
		ur.n_layers = img.n_diff_ids;
		ur.snapshots = TAKE_PTR(ready);
	} else if (unpack_image(ctx, &rec.manifest, NULL, &ur, e) < 0) {
		err_wrap(e, "image %s: unpack", rec.name);
		goto out;
	}
	dirs = xcalloc(ur.n_layers + 1, sizeof(*dirs));
	doc->snapshots = xcalloc(ur.n_layers + 1, sizeof(*doc->snapshots));
	for (size_t i = 0; i < ur.n_layers; i++) {
		dirs[i] = snapshot_fs_dir(ctx, ur.snapshots[ur.n_layers - 1 - i]);
		doc->snapshots[i] = xasprintf("%d", ur.snapshots[i]);
	}
	so.cgroupns = cgroup_ns_supported(ctx);
	so.netfiles_dir = cdir;
	if (spec_build(&img, &so, (const char *const *)dirs, ur.n_layers, id, &s, e) < 0)
		goto out;
	if (fs_mkdir_p(cdir, 0700, e) < 0 ||
	    netfiles_write(ctx, cdir,
	                   so.net_host   ? NETFILES_HOST
	                   : so.net_none ? NETFILES_NONE
	                                 : NETFILES_PRIVATE,
	                   s.hostname, e) < 0 ||
	    spec_save(&s, cfg, e) < 0)
		goto out;
	doc->image = xstrdup(rec.name);
	digest_format(&rec.manifest, md);
	doc->image_digest = xstrdup(md);
	doc->command = s.args;
	s.args = NULL;
	rc = 0;
out:
	strv_free(dirs);
	spec_release(&s);
	unpack_result_release(&ur);
	image_config_release(&img);
	image_record_release(&rec);
	return rc;
}

static int from_bundle(const struct ctx *ctx, const struct container_opts *o, const char *id,
                       struct container_doc *doc, struct err *e)
{
	char bundle[PATH_MAX], rootfs[PATH_MAX];
	cleanup_free char *bcfg = NULL;
	cleanup_free char *root_rel = NULL;
	cleanup_free char *cdir = store_container_dir(ctx, id);
	cleanup_free char *cfg = path_join(cdir, "config.json");
	struct spec s = {0};
	struct stat st;

	if (!realpath(o->bundle, bundle))
		return err_sys(e, "bundle %s", o->bundle);
	bcfg = path_join(bundle, "config.json");
	if (spec_load(bcfg, &s, e) < 0)
		return err_wrap(e, "bundle");
	root_rel = s.root_path[0] == '/' ? xstrdup(s.root_path) : path_join(bundle, s.root_path);
	if (!realpath(root_rel, rootfs) || stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		spec_release(&s);
		return err_set(e, E_NOTFOUND, "bundle %s: root %s is not a directory", bundle,
		               s.root_path);
	}
	free(s.root_path);
	s.root_path = xstrdup(rootfs);
	if (o->spec && o->spec->terminal)
		s.terminal = true; /* -t; the bundle's own terminal: true is kept as well */
	if (!s.hostname) {
		char host[13];
		snprintf(host, sizeof(host), "%.12s", id);
		s.hostname = xstrdup(host);
	}
	/* The bundle's own mounts of these files win; otherwise it gets them as an image does. */
	spec_add_netfiles(&s, cdir, s.root_readonly);
	if (fs_mkdir_p(cdir, 0700, e) < 0 ||
	    netfiles_write(ctx, cdir, (s.ns & SPEC_NS_NET) ? NETFILES_PRIVATE : NETFILES_HOST,
	                   s.hostname, e) < 0 ||
	    spec_save(&s, cfg, e) < 0) {
		spec_release(&s);
		return -1;
	}
	doc->image = xstrdup(bundle);
	doc->command = s.args;
	s.args = NULL;
	spec_release(&s);
	return 0;
}

int container_create(const struct ctx *ctx, const struct container_opts *o, char id[65],
                     struct err *e)
{
	struct container_doc doc = {0};
	struct container_state st = {.status = STATUS_CREATED};
	struct lock name_lock = LOCK_INIT;
	char *name = NULL;
	int rc;

	if (!o->id) {
		if (container_new_id(doc.id, e) < 0)
			return -1;
	} else if (store_id_valid(o->id)) {
		memcpy(doc.id, o->id, 65);
	} else {
		return err_set(e, E_INVALID, "container id %.70s: not 64 hex characters", o->id);
	}
	if (o->name && name_check_early(ctx, o->name, e) < 0)
		return -1; /* before any pull: a taken name fails fast */
	rc = o->bundle ? from_bundle(ctx, o, doc.id, &doc, e) : from_image(ctx, o, doc.id, &doc, e);
	if (rc < 0)
		goto fail;
	if (claim_name(ctx, o->name, doc.id, &name, &name_lock, e) < 0)
		goto fail;
	doc.name = name;
	doc.labels = xcalloc(o->n_labels + 1, sizeof(*doc.labels));
	for (size_t i = 0; i < o->n_labels; i++) {
		doc.labels[i].key = xstrdup(o->labels[i].key);
		doc.labels[i].value = xstrdup(o->labels[i].value);
	}
	doc.n_labels = o->n_labels;
	doc.created_ns = ctx->now_ns();
	doc.auto_remove = o->auto_remove;
	/* Resolved now, so the shim rotates as the container was created to, whatever the
	 * config says later. */
	doc.log_max_bytes =
	    o->log_max_bytes > 0 ? o->log_max_bytes : ctx->cfg->container_log.max_bytes;
	doc.log_max_files =
	    o->log_max_files > 0 ? o->log_max_files : (int)ctx->cfg->container_log.max_files;
	if (container_doc_save(ctx, &doc, e) < 0) {
		names_unlock_remove(ctx, doc.name, &name_lock); /* the name stays free */
		goto fail;
	}
	lock_release(&name_lock);
	if (container_state_save(ctx, doc.id, &st, e) < 0)
		goto fail;
	{
		struct err ee = ERR_INIT;
		(void)event_emit(ctx, EVENT_NORMAL, "Created", OBJECT_CONTAINER, doc.id, doc.name,
		                 NULL, &ee, "from %s", doc.image);
	}
	memcpy(id, doc.id, 65);
	container_doc_release(&doc);
	return 0;
fail:
	container_discard(ctx, doc.id);
	container_doc_release(&doc);
	return -1;
}

/* A directory inside the container's, which exists: one mkdir, not a walk from "/" (the
 * walk is two system calls a level, and a run makes three of these). */
static int mkdir_here(const char *path, mode_t mode, struct err *e)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno == ENOENT)
		return fs_mkdir_p(path, mode, e);
	if (errno != EEXIST)
		return err_sys(e, "mkdir %s", path);
	if (stat(path, &st) < 0)
		return err_sys(e, "%s", path);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, E_INVALID, "%s: not a directory", path);
	return 0;
}

int container_overlay_options(const struct ctx *ctx, const char *id, char **out, struct err *e)
{
	struct container_doc doc = {0};
	cleanup_free char *cdir = store_container_dir(ctx, id);
	cleanup_free char *upper = path_join(cdir, "upper");
	cleanup_free char *work = path_join(cdir, "work");
	cleanup_free char *rootfs = path_join(cdir, "rootfs");
	cleanup_free int *ns = NULL;
	size_t n = 0;
	int rc = -1;

	if (container_doc_load(ctx, id, &doc, e) < 0)
		return -1;
	while (doc.snapshots && doc.snapshots[n])
		n++;
	if (n == 0) {
		container_doc_release(&doc);
		*out = NULL;
		return 0;
	}
	ns = xcalloc(n, sizeof(*ns));
	for (size_t i = 0; i < n; i++) {
		char *end;
		long v = strtol(doc.snapshots[i], &end, 10);
		if (*end || v < 1 || v > 0x7fffffff) {
			err_set(e, E_CORRUPT, "container %.12s: bad snapshot %s", id,
			        doc.snapshots[i]);
			goto out;
		}
		ns[n - 1 - i] = (int)v; /* overlay wants the top first */
	}
	if (mkdir_here(upper, 0755, e) < 0 || mkdir_here(work, 0700, e) < 0 ||
	    mkdir_here(rootfs, 0755, e) < 0)
		goto out;
	rc = snapshot_overlay_options(ctx, ns, n, upper, work, ctx->cfg->snapshot_volatile, true,
	                              out, e);
out:
	container_doc_release(&doc);
	return rc;
}

/* common/image/pull.c - one image into the content store (DESIGN.md "pull"; issue 3): mirrors
 * first, then the registry, or an offline source; an index resolved to the platform wanted;
 * config and layers fetched by a bounded set of threads into verified ingests; the image
 * record written last, so a pull interrupted anywhere records nothing and resumes next time. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/image/gc.h"
#include "common/image/pull.h"
#include "common/image/registry.h"
#include "common/image/source.h"
#include "common/image/unpack.h"
#include "common/store/blob.h"
#include "common/store/event.h"
#include "common/store/image_record.h"
#include "common/store/layout.h"
#include "common/util/config.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/util/units.h"

#define PULL_THREADS_MAX 64

const char *pull_phase_name(enum pull_phase p)
{
	static const char *const names[] = {"resolve", "download", "verify", "committed",
					    "exists",  "unpack",   "done"};

	return (unsigned)p < ARRAY_SIZE(names) ? names[p] : "unknown";
}

void pull_result_release(struct pull_result *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->platform);
	*r = (struct pull_result){0};
}

static void progress(const struct pull_opts *o, const char *image, enum pull_phase phase,
		     const struct digest *blob, int layer, int64_t done, int64_t total)
{
	struct pull_progress p = {image, phase, blob, layer, done, total};

	if (o->progress)
		o->progress(o->progress_arg, &p);
}

/* One blob to fetch: the config (layer -1) or a layer. */
struct fetch_job {
	const struct descriptor *desc;
	int layer;
	struct err err;
	int rc;
};

/* What the fetching threads share: the jobs, the next one to take, and the first failure. */
struct fetch_set {
	const struct ctx *ctx;
	const struct pull_opts *o;
	const char *image;
	struct registry *reg;
	struct fetch_job *jobs;
	size_t n_jobs;
	atomic_size_t next;
	atomic_bool failed;
	struct unpack_session *unpack; /* layers are applied as they are committed, or NULL */
};

struct fetch_cb {
	struct fetch_set *set;
	struct fetch_job *job;
};

static void fetch_progress(void *arg, int64_t done, int64_t total)
{
	struct fetch_cb *cb = arg;

	progress(cb->set->o, cb->set->image, PULL_DOWNLOAD, &cb->job->desc->digest,
		 cb->job->layer, done, total);
}

/* Fetches one blob unless it is committed already; waits for another puller of the same blob
 * (its ingest lock) without bound, since that puller makes progress or dies and frees it. */
static int fetch_one(struct fetch_set *set, struct fetch_job *job, struct err *e)
{
	const struct descriptor *d = job->desc;
	struct ingest ing;
	struct fetch_cb cb = {set, job};
	int64_t size;
	char ds[DIGEST_STR_LEN];

	digest_format(&d->digest, ds);
	if (blob_stat(set->ctx, &d->digest, &size, e) == 0 && size == d->size) {
		progress(set->o, set->image, PULL_EXISTS, &d->digest, job->layer, d->size,
			 d->size);
		return 0;
	}
	err_clear(e);
	if (ingest_open(set->ctx, &d->digest, d->size, -1, &ing, e) < 0) {
		if (e->code == E_EXISTS) {
			err_clear(e);
			progress(set->o, set->image, PULL_EXISTS, &d->digest, job->layer, d->size,
				 d->size);
			return 0;
		}
		return err_wrap(e, "%s", ds);
	}
	if (d->size > (1 << 20))
		ingest_pipeline(&ing);
	if (registry_get_blob(set->reg, d, &ing, fetch_progress, &cb, e) < 0) {
		ingest_close(&ing); /* keep what arrived: the next pull resumes from it */
		return err_wrap(e, "%s", ds);
	}
	progress(set->o, set->image, PULL_VERIFY, &d->digest, job->layer, d->size, d->size);
	if (ingest_commit(&ing, e) < 0)
		return err_wrap(e, "%s", ds);
	progress(set->o, set->image, PULL_COMMITTED, &d->digest, job->layer, d->size, d->size);
	return 0;
}

static void *fetch_worker(void *arg)
{
	struct fetch_set *set = arg;
	size_t i;

	while (!atomic_load(&set->failed) && (i = atomic_fetch_add(&set->next, 1)) < set->n_jobs) {
		struct fetch_job *job = &set->jobs[i];

		job->rc = fetch_one(set, job, &job->err);
		/* The layer is applied while the other threads go on downloading. */
		if (job->rc == 0 && set->unpack && job->layer >= 0) {
			progress(set->o, set->image, PULL_UNPACK, &job->desc->digest, job->layer,
				 job->desc->size, job->desc->size);
			job->rc = unpack_session_layer(set->unpack, (size_t)job->layer, &job->err);
			if (job->rc < 0)
				err_wrap(&job->err, "unpack layer %d", job->layer);
		}
		if (job->rc < 0)
			atomic_store(&set->failed, true);
	}
	return NULL;
}

/* Runs the jobs on up to max threads (the caller's thread is one of them). The first failure
 * stops new jobs from starting; it is the error reported. */
static int fetch_all(struct fetch_set *set, int max, struct err *e)
{
	pthread_t tids[PULL_THREADS_MAX];
	size_t n_threads = 0, i;

	if (max < 1)
		max = 1;
	if (max > PULL_THREADS_MAX)
		max = PULL_THREADS_MAX;
	atomic_init(&set->next, 0);
	atomic_init(&set->failed, false);
	while (n_threads + 1 < (size_t)max && n_threads + 1 < set->n_jobs) {
		if (pthread_create(&tids[n_threads], NULL, fetch_worker, set) != 0)
			break; /* fewer threads is slower, not wrong */
		n_threads++;
	}
	fetch_worker(set);
	for (i = 0; i < n_threads; i++)
		pthread_join(tids[i], NULL);
	for (i = 0; i < set->n_jobs; i++)
		if (set->jobs[i].rc < 0) {
			*e = set->jobs[i].err;
			return -1;
		}
	return 0;
}

/* Where to pull from: the configured mirrors of the registry, in order, then the registry. */
struct endpoint {
	const char *host;
	struct registry_opts ro;
};

/* upstream is the registry's own entry: its plain_http covers its mirrors too. */
static void endpoint_opts(const struct ctx *ctx, const struct pull_opts *o, const char *host,
			  const struct config_registry *upstream, struct registry_opts *ro)
{
	const struct config_registry *rc = config_registry_find(ctx->cfg, host);

	*ro = (struct registry_opts){
		.plain_http = o->plain_http || (rc && rc->plain_http) ||
			      (upstream && upstream->plain_http),
		.tls_verify = rc ? rc->tls_verify : true,
		.ca_file = rc ? rc->ca_file : NULL,
		.cert_file = rc ? rc->cert_file : NULL,
		.key_file = rc ? rc->key_file : NULL,
		.creds = o->creds,
		.auth_files = o->auth_files,
		.connect_timeout_ns = ctx->cfg->pull.connect_timeout_ns,
		/* The config's 0 means never abort; the client's 0 means its default. */
		.low_speed_time_ns = ctx->cfg->pull.low_speed_time_ns
					     ? ctx->cfg->pull.low_speed_time_ns
					     : 100LL * 365 * 86400 * NSEC_PER_SEC,
		/* The registry client reads 0 as its default; the config's 0 means none. */
		.retries = ctx->cfg->pull.retries ? (int)ctx->cfg->pull.retries : -1,
	};
}

static size_t endpoints_of(const struct ctx *ctx, const struct pull_opts *o,
			   const struct image_ref *ref, struct endpoint **out)
{
	const struct config_registry *rc = config_registry_find(ctx->cfg, ref->registry);
	size_t n_mirrors = 0, n = 0, i;
	struct endpoint *v;

	if (rc && rc->mirrors)
		while (rc->mirrors[n_mirrors])
			n_mirrors++;
	v = xcalloc(n_mirrors + 1, sizeof(*v));
	for (i = 0; i < n_mirrors; i++, n++) {
		v[n].host = rc->mirrors[i];
		endpoint_opts(ctx, o, v[n].host, rc, &v[n].ro);
	}
	v[n].host = ref_registry_host(ref->registry);
	endpoint_opts(ctx, o, ref->registry, rc, &v[n].ro);
	n++;
	*out = v;
	return n;
}

/* The image manifest for the platform wanted, following indexes INDEX_DEPTH_MAX deep; every
 * document fetched is committed (an index too, so the image can be re-resolved offline). */
static int resolve_manifest(const struct ctx *ctx, struct registry *reg,
			    const struct image_ref *ref, const struct pull_opts *o,
			    struct manifest *out, struct digest *out_digest, char **out_media,
			    struct err *e)
{
	cleanup_free char *reference = xstrdup(ref_api_reference(ref));
	int depth;

	for (depth = 0; depth <= INDEX_DEPTH_MAX; depth++) {
		cleanup_free char *data = NULL, *media = NULL;
		struct manifest m;
		struct digest d;
		const struct descriptor *pick;
		size_t len = 0;
		char ds[DIGEST_STR_LEN];

		if (registry_get_manifest(reg, reference, &data, &len, &media, &d, e) < 0)
			return -1;
		if (manifest_parse(data, len, media, &m, e) < 0)
			return err_wrap(e, "manifest %s", reference);
		if (blob_put(ctx, &d, data, len, e) < 0) {
			manifest_release(&m);
			return err_wrap(e, "manifest %s", reference);
		}
		if (m.kind == MANIFEST_IMAGE) {
			*out = m;
			*out_digest = d;
			*out_media = xstrdup(m.media_type);
			return 0;
		}
		if (index_select(&m, &o->platform, &pick, e) < 0) {
			manifest_release(&m);
			return err_wrap(e, "index %s", reference);
		}
		digest_format(&pick->digest, ds);
		free(reference);
		reference = xstrdup(ds);
		manifest_release(&m);
	}
	return err_set(e, E_INVALID, "indexes nested deeper than %d", INDEX_DEPTH_MAX);
}

/* Reads and checks the committed config: one diff_id per layer. */
static int load_config(const struct ctx *ctx, const struct manifest *m, struct image_config *out,
		       struct err *e)
{
	cleanup_free char *data = NULL;
	size_t len = 0;

	if (blob_read(ctx, &m->config.digest, CONFIG_MAX, &data, &len, e) < 0)
		return err_wrap(e, "config");
	if (image_config_parse(data, len, out, e) < 0)
		return err_wrap(e, "config");
	if (out->n_diff_ids != m->n_layers) {
		image_config_release(out);
		return err_set(e, E_INVALID, "config has %zu diff_ids for %zu layers",
			       out->n_diff_ids, m->n_layers);
	}
	return 0;
}

/* Records the image: the one write that makes the pull visible. */
static int record_image(const struct ctx *ctx, const char *name, const struct digest *manifest,
			const char *media, const struct manifest *m, const struct image_config *cfg,
			size_t manifest_len, struct pull_result *res, struct err *e)
{
	struct image_record r = {0};
	cleanup_free char *platform = platform_format(&cfg->platform);
	int64_t size = (int64_t)manifest_len + m->config.size;
	size_t i;

	for (i = 0; i < m->n_layers; i++)
		size += m->layers[i].size;
	r.name = (char *)name;
	r.manifest = *manifest;
	r.media_type = (char *)media;
	r.platform = platform;
	r.config = m->config.digest;
	r.size_bytes = size;
	r.created_ns = cfg->created_ns;
	r.pulled_ns = ctx->now_ns();
	if (image_record_save(ctx, &r, e) < 0)
		return -1;
	res->manifest = *manifest;
	res->platform = TAKE_PTR(platform);
	res->size_bytes = size;
	res->n_layers = m->n_layers;
	return 0;
}

/* The config first (an unpack session needs it), then the layers in parallel, each applied
 * into its snapshot as soon as it is committed when the pull unpacks. */
static int fetch_image(const struct ctx *ctx, struct registry *reg, const struct pull_opts *o,
		       const char *name, const struct digest *md, const struct manifest *m,
		       struct fetch_job *jobs, struct pull_result *res, struct err *e)
{
	struct fetch_set set = {.ctx = ctx, .o = o, .image = name, .reg = reg, .jobs = jobs};
	struct unpack_opts uo = {.name = name};
	struct unpack_result ur = {0};
	struct err ue = ERR_INIT;
	size_t i;
	int rc;

	jobs[0] = (struct fetch_job){.desc = &m->config, .layer = -1};
	set.n_jobs = 1;
	if (fetch_all(&set, 1, e) < 0)
		return -1;
	if (o->unpack && unpack_session_begin(ctx, md, &uo, &set.unpack, e) < 0)
		return err_wrap(e, "unpack");
	for (i = 0; i < m->n_layers; i++)
		jobs[i + 1] = (struct fetch_job){.desc = &m->layers[i], .layer = (int)i};
	set.jobs = jobs + 1;
	set.n_jobs = m->n_layers;
	rc = fetch_all(&set, o->max_downloads, e);
	if (!set.unpack)
		return rc;
	if (rc < 0) {
		ue = *e;
		unpack_session_end(set.unpack, false, &ur, &ue); /* fills nothing when !ok */
		return -1;
	}
	if (unpack_session_end(set.unpack, true, &ur, e) < 0)
		return err_wrap(e, "unpack");
	res->unpacked = true;
	unpack_result_release(&ur);
	return 0;
}

/* Applies the layers into snapshots before the image is recorded, so a recorded image that
 * was pulled with unpacking is ready to run, and one whose layers do not match their diff_ids
 * is never recorded. */
static int unpack_layers(const struct ctx *ctx, const struct pull_opts *o, const char *name,
			 const struct digest *manifest, struct pull_result *res, struct err *e)
{
	struct unpack_opts uo = {.name = name};
	struct unpack_result ur = {0};

	progress(o, name, PULL_UNPACK, NULL, -1, 0, 0);
	if (unpack_image(ctx, manifest, &uo, &ur, e) < 0)
		return err_wrap(e, "unpack");
	res->unpacked = true;
	unpack_result_release(&ur);
	return 0;
}

static int pull_from(const struct ctx *ctx, const struct endpoint *ep,
		     const struct image_ref *ref, const struct pull_opts *o,
		     struct pull_result *res, struct err *e)
{
	struct registry *reg = NULL;
	struct manifest m = {0};
	struct image_config cfg = {0};
	struct digest md;
	cleanup_free char *media = NULL, *mdata = NULL;
	cleanup_free struct fetch_job *jobs = NULL;
	size_t mlen = 0;
	int rc = -1;

	if (registry_open(ctx, ep->host, ref->registry, ref->repository, &ep->ro, &reg, e) < 0)
		return -1;
	progress(o, ref->name, PULL_RESOLVE, NULL, -1, 0, 0);
	if (resolve_manifest(ctx, reg, ref, o, &m, &md, &media, e) < 0)
		goto out;
	if (blob_read(ctx, &md, MANIFEST_MAX, &mdata, &mlen, e) < 0)
		goto out;
	jobs = xcalloc(m.n_layers + 1, sizeof(*jobs));
	if (fetch_image(ctx, reg, o, ref->name, &md, &m, jobs, res, e) < 0)
		goto out;
	if (load_config(ctx, &m, &cfg, e) < 0)
		goto out;
	res->bytes_fetched = registry_bytes_received(reg);
	if (record_image(ctx, ref->name, &md, media, &m, &cfg, mlen, res, e) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		res->bytes_fetched = reg ? registry_bytes_received(reg) : 0;
	image_config_release(&cfg);
	manifest_release(&m);
	registry_free(reg);
	return rc;
}

static int pull_registry(const struct ctx *ctx, const struct image_ref *ref,
			 const struct pull_opts *o, struct pull_result *res, struct err *e)
{
	cleanup_free struct endpoint *eps = NULL;
	size_t n = endpoints_of(ctx, o, ref, &eps), i;

	for (i = 0; i < n; i++) {
		err_clear(e);
		if (pull_from(ctx, &eps[i], ref, o, res, e) == 0)
			return 0;
		if (i + 1 < n)
			log_info(ctx, "%s: mirror %s: %s; trying %s", ref->name, eps[i].host, e->msg,
				 eps[i + 1].host);
	}
	return -1;
}

static void source_progress(void *arg, const struct digest *d, int64_t done, int64_t total)
{
	const struct pull_opts *o = ((void **)arg)[0];
	const char *image = ((void **)arg)[1];

	progress(o, image, PULL_DOWNLOAD, d, -1, done, total);
}

static int pull_source(const struct ctx *ctx, const struct image_ref *ref,
		       const struct pull_opts *o, struct pull_result *res, struct err *e)
{
	struct source_result sr = {0};
	struct manifest m = {0};
	struct image_config cfg = {0};
	cleanup_free char *mdata = NULL;
	void *cb[2] = {(void *)o, (void *)ref->name};
	size_t mlen = 0;
	int rc = -1;

	progress(o, ref->name, PULL_RESOLVE, NULL, -1, 0, 0);
	if (source_import(ctx, ref, &o->platform, source_progress, cb, &sr, e) < 0)
		return -1;
	if (blob_read(ctx, &sr.manifest, MANIFEST_MAX, &mdata, &mlen, e) < 0 ||
	    manifest_parse(mdata, mlen, sr.media_type, &m, e) < 0 ||
	    load_config(ctx, &m, &cfg, e) < 0)
		goto out;
	free(res->name);
	res->name = xstrdup(sr.name);
	res->bytes_fetched = sr.bytes_committed;
	if (o->unpack && unpack_layers(ctx, o, sr.name, &sr.manifest, res, e) < 0)
		goto out;
	if (record_image(ctx, sr.name, &sr.manifest, sr.media_type, &m, &cfg, mlen, res, e) < 0)
		goto out;
	rc = 0;
out:
	image_config_release(&cfg);
	manifest_release(&m);
	source_result_release(&sr);
	return rc;
}

int pull_image(const struct ctx *ctx, const struct image_ref *ref, const struct pull_opts *o,
	       struct pull_result *out, struct err *e)
{
	struct pull_result res = {.name = xstrdup(ref->name)};
	int64_t t0 = ctx_clock_monotonic();
	char took[UNITS_BUFSZ], size[UNITS_BUFSZ];
	struct err ev = ERR_INIT;
	cleanup_close int lease = -1;
	int rc;

	/* Callers other than the pull applet (run --pull) may come to an empty ROOT. */
	if (store_init(ctx, e) < 0) {
		pull_result_release(&res);
		return err_wrap(e, "%s", ref->name);
	}
	/* Held shared for the whole pull: a collection never removes a blob committed here
	 * before the record that references it is written. */
	lease = gc_lease_take(ctx, e);
	if (lease < 0) {
		pull_result_release(&res);
		return err_wrap(e, "%s", ref->name);
	}
	if (event_emit(ctx, EVENT_NORMAL, "Pulling", OBJECT_IMAGE, NULL, ref->name, NULL, &ev,
		       "pulling image %s", ref->name) < 0)
		log_warn(ctx, "journal: %s", ev.msg);
	if (ref->kind == REF_REGISTRY)
		rc = pull_registry(ctx, ref, o, &res, e);
	else
		rc = pull_source(ctx, ref, o, &res, e);
	res.duration_ns = ctx_clock_monotonic() - t0;
	units_format_elapsed(res.duration_ns, took, sizeof(took));
	err_clear(&ev);
	if (rc < 0) {
		if (event_emit(ctx, EVENT_WARNING, "Failed", OBJECT_IMAGE, NULL, ref->name, NULL,
			       &ev, "failed to pull image %s: %s", ref->name, e->msg) < 0)
			log_warn(ctx, "journal: %s", ev.msg);
		pull_result_release(&res);
		return err_wrap(e, "%s", ref->name);
	}
	units_format_size(res.bytes_fetched, size, sizeof(size));
	if (event_emit(ctx, EVENT_NORMAL, "Pulled", OBJECT_IMAGE, NULL, res.name, NULL, &ev,
		       "pulled image %s (%s fetched in %s, %zu layers, %s)", res.name, size, took,
		       res.n_layers, res.platform) < 0)
		log_warn(ctx, "journal: %s", ev.msg);
	progress(o, res.name, PULL_DONE, NULL, -1, res.size_bytes, res.size_bytes);
	*out = res;
	return 0;
}

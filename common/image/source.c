/* common/image/source.c - offline image sources imported into the content store: oci:DIR
 * layouts, oci-archive: and docker-archive: tarballs (DESIGN.md "pull": offline sources; "Content
 * is the truth and is verified"; "Nothing outside ROOT ... is ever written, whatever the input").
 * This file holds the formats and the entry point: an OCI layout's oci-layout and index.json (tag
 * and platform choice, nested indexes), docker-archive's manifest.json (turned into an OCI image
 * manifest), the name recorded, and source_import(). Reading a layout's files and an archive's
 * members is source_archive.c, streaming blobs into the store source_store.c (shared:
 * source_int.h). A layout's blobs are opened by digest under blobs/sha256, never by a name a
 * document gives. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/image/source.h"
#include "common/image/source_int.h"
#include "common/util/buf.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"

#define TAGS_LISTED    20
#define LAYOUT_VERSION "1.0.0"

/* ---- names ------------------------------------------------------------------------------- */

/* "localhost/<base>:<tag>" where base is the last component of path without archive
 * extensions, reduced to what a repository name allows; normalised through ref_parse. */
static char *name_default(const char *path, const char *tag, struct err *e)
{
	static const char *const exts[] = {".gz", ".tgz", ".zst", ".xz", ".bz2", ".tar", ".oci"};
	cleanup_free char *copy = xstrdup(path);
	cleanup_free char *raw = NULL;
	struct image_ref r;
	struct buf base = BUF_INIT;
	char *b;
	size_t i, len;
	bool stripped = true;

	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	b = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	while (stripped) {
		stripped = false;
		for (i = 0; i < ARRAY_SIZE(exts); i++) {
			size_t bl = strlen(b), el = strlen(exts[i]);

			if (bl > el && !strcasecmp(b + bl - el, exts[i])) {
				b[bl - el] = '\0';
				stripped = true;
			}
		}
	}
	/* Letters and digits stay (lowercased); a lone '.', '_' or '-' between them stays;
	 * any other run of characters becomes one '-'. */
	for (i = 0; b[i];) {
		size_t run = 0;

		if (isalnum((unsigned char)b[i])) {
			buf_addc(&base, (char)tolower((unsigned char)b[i++]));
			continue;
		}
		while (b[i + run] && !isalnum((unsigned char)b[i + run]))
			run++;
		if (base.len && b[i + run])
			buf_addc(&base, run == 1 && strchr("._-", b[i]) ? b[i] : '-');
		i += run;
	}
	if (base.len == 0)
		buf_adds(&base, "image");
	raw = xasprintf("localhost/%s:%s", buf_str(&base), tag ? tag : REF_DEFAULT_TAG);
	buf_release(&base);
	if (ref_parse(raw, &r, e) < 0) {
		err_wrap(e, "cannot name the image \"%s\"", raw);
		return NULL;
	}
	b = TAKE_PTR(r.name);
	ref_release(&r);
	return b;
}

/* The normalised name of s when it is a full registry reference ("a/b:c", "alpine:3.20"),
 * else NULL: a bare tag such as "latest" is not one. */
static char *name_if_reference(const char *s)
{
	struct err scratch = ERR_INIT;
	struct image_ref r;
	char *name;

	if (!s || !strpbrk(s, "/:@") || ref_parse(s, &r, &scratch) < 0)
		return NULL;
	name = r.kind == REF_REGISTRY ? TAKE_PTR(r.name) : NULL;
	ref_release(&r);
	return name;
}

/* The archive member for a wanted blob, its regular name after links, and a check that the
 * same member is not wanted under two digests. */
static int want_member(struct src *s, struct want *w, size_t i, const char *name, struct err *e)
{
	const struct member *m;
	size_t j;

	if (source_member_resolve(s, name, &m, e) < 0)
		return err_wrap(e, "%s", w[i].what);
	w[i].member = m->name;
	if (w[i].size < 0)
		w[i].size = m->size;
	else if (w[i].size != m->size)
		return err_set(e, E_CORRUPT,
		               "%s: sha256:%s: size mismatch: %lld bytes, expected %lld", w[i].what,
		               w[i].d.hex, (long long)m->size, (long long)w[i].size);
	for (j = 0; j < i; j++) {
		if (strcmp(w[j].member, w[i].member) != 0)
			continue;
		if (!digest_equal(&w[j].d, &w[i].d))
			return err_set(e, E_CORRUPT,
			               "%s: the same member as %s, with another digest", w[i].what,
			               w[j].what);
		w[i].done = true; /* the same blob twice: streamed once */
	}
	return 0;
}

/* ---- OCI layouts ------------------------------------------------------------------------- */

static int layout_open(struct src *s, struct err *e)
{
	s->dirfd = open(s->ref->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return err_sys(e, "%s", s->ref->path);
	return 0;
}

/* blobs/sha256 of the layout, neither of them a symlink. */
static int layout_blobs(struct src *s, struct err *e)
{
	cleanup_close int blobs =
	    openat(s->dirfd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (blobs < 0)
		return err_sys(e, "blobs");
	s->shafd = openat(blobs, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->shafd < 0)
		return err_sys(e, "blobs/sha256");
	return 0;
}

/* A top-level document of the layout or archive: oci-layout, index.json, manifest.json. */
static int doc_read(struct src *s, const char *name, char **out, size_t *len, struct err *e)
{
	if (s->dirfd >= 0) {
		cleanup_close int fd = source_open_regular(s->dirfd, name, name, NULL, e);

		if (fd < 0)
			return -1;
		return source_read_fd_bounded(fd, name, MANIFEST_MAX, out, len, e);
	}
	return source_member_read(s, name, MANIFEST_MAX, out, len, e);
}

static int layout_check(struct src *s, struct err *e)
{
	cleanup_free char *data = NULL;
	cleanup_json struct json_object *doc = NULL;
	const char *version = NULL;
	size_t len = 0;

	if (doc_read(s, LAYOUT_FILE, &data, &len, e) < 0) {
		if (e && e->code == E_NOTFOUND)
			return err_set(e, E_INVALID, "not an OCI image layout: no %s file",
			               LAYOUT_FILE);
		return -1;
	}
	if (jsonio_parse(data, len, &doc, e) < 0 ||
	    jsonio_get_str(doc, "imageLayoutVersion", true, &version, e) < 0)
		return err_wrap(e, "%s", LAYOUT_FILE);
	if (strcmp(version, LAYOUT_VERSION) != 0)
		return err_set(e, E_UNSUPPORTED,
		               "%s: imageLayoutVersion \"%.32s\", expected \"%s\"", LAYOUT_FILE,
		               version, LAYOUT_VERSION);
	return 0;
}

/* "a, b, c": the distinct tags of index.json, in order. */
static void tags_list(const struct manifest *idx, struct buf *b)
{
	size_t i, j, listed = 0;

	for (i = 0; i < idx->n_manifests; i++) {
		const char *t = idx->manifests[i].ref_name;
		bool seen = false;

		if (!t)
			continue;
		for (j = 0; j < i && !seen; j++)
			seen = idx->manifests[j].ref_name && !strcmp(idx->manifests[j].ref_name, t);
		cleanup_free char *show = NULL;

		if (seen)
			continue;
		if (listed++ == TAGS_LISTED) {
			buf_adds(b, ", ...");
			break;
		}
		show = source_shown(t);
		buf_printf(b, "%s%s", b->len ? ", " : "", show);
	}
	if (!b->len)
		buf_adds(b, "no tags");
}

/* The entry of index.json for tag (NULL: the only image): among several entries with the same
 * tag (or none), the one for the platform. *out points into idx. */
static int oci_choose(const struct manifest *idx, const char *tag, const struct platform *want,
                      const struct descriptor **out, struct err *e)
{
	cleanup_free struct descriptor *cand = NULL; /* shallow copies: idx keeps ownership */
	cleanup_free size_t *at = NULL;              /* cand[k] is idx->manifests[at[k]] */
	cleanup_buf struct buf tags = BUF_INIT;
	struct manifest sub = {.kind = MANIFEST_INDEX, .media_type = MT_OCI_INDEX};
	const struct descriptor *pick;
	const char *first_tag = NULL;
	size_t i, n = 0;
	bool platforms = true;

	cand = xcalloc(idx->n_manifests ? idx->n_manifests : 1, sizeof(*cand));
	at = xcalloc(idx->n_manifests ? idx->n_manifests : 1, sizeof(*at));
	for (i = 0; i < idx->n_manifests; i++) {
		const struct descriptor *d = &idx->manifests[i];

		if (tag && (!d->ref_name || strcmp(d->ref_name, tag) != 0))
			continue;
		if (!tag && d->ref_name) {
			if (first_tag && strcmp(first_tag, d->ref_name) != 0) {
				tags_list(idx, &tags);
				return err_set(e, E_INVALID,
				               "%s: several tags, name one (it has %s)", INDEX_FILE,
				               buf_str(&tags));
			}
			first_tag = d->ref_name;
		}
		at[n] = i;
		cand[n++] = *d;
		platforms = platforms && d->platform.os;
	}
	if (n == 0 && tag) {
		tags_list(idx, &tags);
		return err_set(e, E_NOTFOUND, "%s: no tag \"%.128s\" (it has %s)", INDEX_FILE, tag,
		               buf_str(&tags));
	}
	if (n == 0)
		return err_set(e, E_INVALID, "%s: no manifests", INDEX_FILE);
	if (n == 1) {
		*out = &idx->manifests[at[0]];
		return 0;
	}
	if (!platforms)
		return err_set(
		    e, E_INVALID, "%s: %zu manifests%s%.128s%s and no platforms to choose by",
		    INDEX_FILE, n, tag ? " tagged \"" : "", tag ? tag : "", tag ? "\"" : "");
	sub.manifests = cand;
	sub.n_manifests = n;
	if (index_select(&sub, want, &pick, e) < 0)
		return err_wrap(e, "%s", INDEX_FILE);
	*out = &idx->manifests[at[pick - cand]];
	return 0;
}

static int oci_import(struct src *s, const struct platform *want, struct source_result *out,
                      struct err *e)
{
	cleanup_free char *idata = NULL, *mdata = NULL, *cdata = NULL;
	struct manifest idx = {0}, m = {0}, nested[INDEX_DEPTH_MAX];
	struct image_config cfg = {0};
	const struct descriptor *top = NULL, *d;
	struct want *w = NULL;
	size_t ilen = 0, mlen = 0, clen = 0, depth = 0, i;
	char *name = NULL;
	int rc = -1;

	memset(nested, 0, sizeof(nested));
	if (layout_check(s, e) < 0 || (s->dirfd >= 0 && layout_blobs(s, e) < 0))
		return -1;
	if (doc_read(s, INDEX_FILE, &idata, &ilen, e) < 0)
		return -1;
	if (manifest_parse(idata, ilen, MT_OCI_INDEX, &idx, e) < 0)
		return err_wrap(e, "%s", INDEX_FILE);
	if (idx.kind != MANIFEST_INDEX) {
		err_set(e, E_INVALID, "%s: not an image index", INDEX_FILE);
		goto out;
	}
	if (oci_choose(&idx, s->ref->path_ref, want, &top, e) < 0 || !top)
		goto out;

	/* Through nested indexes to the image manifest for the platform. */
	for (d = top;;) {
		struct manifest *cur = depth < INDEX_DEPTH_MAX ? &nested[depth] : NULL;
		const struct descriptor *next;

		free(mdata);
		mdata = NULL;
		if (!cur) {
			err_set(e, E_INVALID, "indexes nested more than %d deep", INDEX_DEPTH_MAX);
			goto out;
		}
		if (source_oci_blob_read(s, d, MANIFEST_MAX, &mdata, &mlen, e) < 0 ||
		    manifest_parse(mdata, mlen, d->media_type, cur, e) < 0) {
			err_wrap(e, "manifest sha256:%s", d->digest.hex);
			goto out;
		}
		depth++;
		if (cur->kind == MANIFEST_IMAGE)
			break;
		if (index_select(cur, want, &next, e) < 0) {
			err_wrap(e, "index sha256:%s", d->digest.hex);
			goto out;
		}
		d = next;
	}
	m = nested[depth - 1];
	memset(&nested[depth - 1], 0, sizeof(m));

	if (source_oci_blob_read(s, &m.config, CONFIG_MAX, &cdata, &clen, e) < 0 ||
	    image_config_parse(cdata, clen, &cfg, e) < 0) {
		err_wrap(e, "config sha256:%s", m.config.digest.hex);
		goto out;
	}
	if (cfg.n_diff_ids != m.n_layers) {
		err_set(e, E_INVALID, "config sha256:%s: %zu diff_ids for %zu layers",
		        m.config.digest.hex, cfg.n_diff_ids, m.n_layers);
		goto out;
	}
	w = xcalloc(m.n_layers ? m.n_layers : 1, sizeof(*w));
	for (i = 0; i < m.n_layers; i++) {
		const struct descriptor *l = &m.layers[i];

		w[i].d = l->digest;
		w[i].size = l->size;
		w[i].what = xasprintf("layer %zu", i);
		/* An uncompressed layer is its own diff: check it now rather than at unpack. */
		if (l->media_type && !strcmp(l->media_type, MT_OCI_LAYER) &&
		    !digest_equal(&l->digest, &cfg.diff_ids[i])) {
			err_set(e, E_CORRUPT,
			        "layer %zu: sha256:%s is not the config's diff_id sha256:%s", i,
			        l->digest.hex, cfg.diff_ids[i].hex);
			goto out_w;
		}
		if (s->dirfd < 0) {
			cleanup_free char *member = xasprintf("blobs/sha256/%s", l->digest.hex);

			if (want_member(s, w, i, member, e) < 0)
				goto out_w;
		}
	}
	/* Layers, then config, then the manifest: a committed manifest has all it names. */
	if (source_stream_all(s, w, m.n_layers, e) < 0 ||
	    source_put_small(s, &m.config.digest, cdata, clen, e) < 0 ||
	    source_put_small(s, &d->digest, mdata, mlen, e) < 0)
		goto out_w;

	name = name_if_reference(top->ref_name);
	if (!name) {
		const char *tag = top->ref_name ? top->ref_name : s->ref->path_ref;

		name = name_default(s->ref->path, tag, e);
		if (!name)
			goto out_w;
	}
	out->name = name;
	out->manifest = d->digest;
	out->media_type = xstrdup(d->media_type ? d->media_type : m.media_type);
	rc = 0;
out_w:
	source_wants_free(w, m.n_layers);
out:
	image_config_release(&cfg);
	manifest_release(&m);
	for (i = 0; i < INDEX_DEPTH_MAX; i++)
		manifest_release(&nested[i]);
	manifest_release(&idx);
	return rc;
}

/* ---- docker-archive ---------------------------------------------------------------------- */

/* The digest a docker-archive member name carries: "<hex>.json" or "blobs/sha256/<hex>". */
static bool name_digest(const char *name, struct digest *out)
{
	const char *b = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	size_t n = strlen(b);
	char hex[DIGEST_HEX_LEN + 1];

	bool json = n == DIGEST_HEX_LEN + 5 && !strcmp(b + DIGEST_HEX_LEN, ".json");

	if (!json && (n != DIGEST_HEX_LEN || strncmp(name, "blobs/sha256/", 13) != 0))
		return false;
	memcpy(hex, b, DIGEST_HEX_LEN);
	hex[DIGEST_HEX_LEN] = '\0';
	if (!str_is_hex(hex))
		return false;
	memcpy(out->hex, hex, sizeof(hex));
	return true;
}

/* "a, b": the tags of every image in manifest.json. */
static void docker_tags(struct json_object *arr, struct buf *b)
{
	size_t i, j, listed = 0;

	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *tags = NULL;

		if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "RepoTags",
		                               &tags) ||
		    !json_object_is_type(tags, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(tags); j++) {
			cleanup_free char *show = source_shown(
			    json_object_get_string(json_object_array_get_idx(tags, j)));

			if (listed++ == TAGS_LISTED) {
				buf_adds(b, ", ...");
				return;
			}
			buf_printf(b, "%s%s", b->len ? ", " : "", show);
		}
	}
	if (!b->len)
		buf_adds(b, "no tags");
}

/* The image of manifest.json named by ref (NULL: the only one), and the name to record. */
static int docker_choose(struct json_object *arr, const char *ref, struct json_object **entry,
                         char **name, struct err *e)
{
	cleanup_buf struct buf tags = BUF_INIT;
	struct image_ref want = {0};
	size_t i, j, n = json_object_array_length(arr);

	if (n == 0)
		return err_set(e, E_INVALID, "%s: no images", DOCKER_FILE);
	if (!ref) {
		if (n > 1) {
			docker_tags(arr, &tags);
			return err_set(e, E_INVALID, "%s: %zu images, name one (it has %s)",
			               DOCKER_FILE, n, buf_str(&tags));
		}
		*entry = json_object_array_get_idx(arr, 0);
		*name = NULL;
		return 0;
	}
	if (ref_parse(ref, &want, e) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct json_object *tl = NULL;

		if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "RepoTags",
		                               &tl) ||
		    !json_object_is_type(tl, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(tl); j++) {
			cleanup_free char *have = name_if_reference(
			    json_object_get_string(json_object_array_get_idx(tl, j)));
			struct err se = ERR_INIT;
			struct image_ref r;

			if (!have) {
				/* "busybox" has no '/' or ':' yet is a reference too. */
				if (ref_parse(
				        json_object_get_string(json_object_array_get_idx(tl, j)),
				        &r, &se) < 0)
					continue;
				have = TAKE_PTR(r.name);
				ref_release(&r);
			}
			if (!strcmp(have, want.name)) {
				*entry = json_object_array_get_idx(arr, i);
				*name = TAKE_PTR(want.name);
				ref_release(&want);
				return 0;
			}
		}
	}
	docker_tags(arr, &tags);
	err_set(e, E_NOTFOUND, "%s: no image tagged \"%.128s\" (it has %s)", DOCKER_FILE, ref,
	        buf_str(&tags));
	ref_release(&want);
	return -1;
}

/* Layer i of a docker-archive, named lname. docker save writes uncompressed tars, each its own
 * diff, so the config's diff_id is the digest to verify. Docker with the containerd image store
 * writes the layers as pulled, compressed, as blobs/sha256/<hex>: then the name's digest is
 * verified, and the diff_id is left to unpack. */
static int docker_layer(struct src *s, struct want *w, size_t i, const char *lname,
                        const struct digest *diff_id, struct err *e)
{
	static const unsigned char gzip[] = {0x1f, 0x8b}, zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
	cleanup_free char *show = source_shown(lname);
	const struct member *m;
	struct digest named;
	bool compressed;

	w[i].d = *diff_id;
	w[i].size = -1;
	w[i].media_type = MT_OCI_LAYER;
	w[i].what = xasprintf("layer %zu (%s; diff_id sha256:%s)", i, show, diff_id->hex);
	if (source_member_resolve(s, lname, &m, e) < 0)
		return err_wrap(e, "%s", w[i].what);
	if (m->size >= (int64_t)sizeof(gzip) && !memcmp(m->magic, gzip, sizeof(gzip)))
		w[i].media_type = MT_OCI_LAYER_GZIP;
	else if (m->size >= (int64_t)sizeof(zstd) && !memcmp(m->magic, zstd, sizeof(zstd)))
		w[i].media_type = MT_OCI_LAYER_ZSTD;
	compressed = strcmp(w[i].media_type, MT_OCI_LAYER) != 0;
	if (compressed) {
		if (!name_digest(lname, &named) && !name_digest(m->name, &named))
			return err_set(e, E_UNSUPPORTED,
			               "%s: compressed, and its name does not give its digest",
			               w[i].what);
		free(w[i].what);
		w[i].what = xasprintf("layer %zu (%s)", i, show);
		w[i].d = named;
	}
	return want_member(s, w, i, lname, e);
}

/* The OCI image manifest for the archive's image: its config and its layers. */
static char *docker_manifest(const struct digest *cfg, size_t cfg_len, const struct want *w,
                             size_t n)
{
	cleanup_json struct json_object *doc = json_object_new_object();
	struct json_object *c = json_object_new_object(), *layers = json_object_new_array();
	char ds[DIGEST_STR_LEN];
	size_t i;

	json_object_object_add(doc, "schemaVersion", json_object_new_int(2));
	jsonio_set_str(doc, "mediaType", MT_OCI_MANIFEST);
	digest_format(cfg, ds);
	jsonio_set_str(c, "mediaType", MT_OCI_CONFIG);
	jsonio_set_str(c, "digest", ds);
	jsonio_set_int(c, "size", (int64_t)cfg_len);
	json_object_object_add(doc, "config", c);
	for (i = 0; i < n; i++) {
		struct json_object *l = json_object_new_object();

		digest_format(&w[i].d, ds);
		jsonio_set_str(l, "mediaType", w[i].media_type);
		jsonio_set_str(l, "digest", ds);
		jsonio_set_int(l, "size", w[i].size);
		json_object_array_add(layers, l);
	}
	json_object_object_add(doc, "layers", layers);
	return jsonio_to_string(doc, false);
}

static int docker_import(struct src *s, struct source_result *out, struct err *e)
{
	cleanup_free char *jdata = NULL, *cdata = NULL, *mdata = NULL, *name = NULL;
	cleanup_free char *cshown = NULL;
	cleanup_json struct json_object *doc = NULL;
	struct json_object *entry = NULL, *layers = NULL, *tags = NULL;
	struct image_config cfg = {0};
	struct manifest check = {0};
	struct digest cd, named, md;
	const char *config = NULL;
	struct want *w = NULL;
	size_t jlen = 0, clen = 0, i, n = 0;
	int rc = -1;

	if (doc_read(s, DOCKER_FILE, &jdata, &jlen, e) < 0)
		return -1;
	if (jsonio_parse(jdata, jlen, &doc, e) < 0)
		return err_wrap(e, "%s", DOCKER_FILE);
	if (!json_object_is_type(doc, json_type_array))
		return err_set(e, E_INVALID, "%s: expected an array", DOCKER_FILE);
	if (docker_choose(doc, s->ref->path_ref, &entry, &name, e) < 0)
		return -1;
	if (!json_object_is_type(entry, json_type_object))
		return err_set(e, E_INVALID, "%s: expected an object for each image", DOCKER_FILE);
	if (jsonio_get_str(entry, "Config", true, &config, e) < 0 ||
	    jsonio_get_array(entry, "Layers", true, &layers, e) < 0 ||
	    jsonio_get_array(entry, "RepoTags", false, &tags, e) < 0)
		return err_wrap(e, "%s", DOCKER_FILE);

	if (source_member_read(s, config, CONFIG_MAX, &cdata, &clen, e) < 0)
		return err_wrap(e, "config");
	cshown = source_shown(config);
	digest_of(cdata, clen, &cd);
	if (name_digest(config, &named) && !digest_equal(&named, &cd))
		return err_set(e, E_CORRUPT, "config %s: digest mismatch: got sha256:%s", cshown,
		               cd.hex);
	if (image_config_parse(cdata, clen, &cfg, e) < 0)
		return err_wrap(e, "config %s", cshown);
	n = json_object_array_length(layers);
	if (n > MANIFEST_LAYERS_MAX) {
		err_set(e, E_INVALID, "%s: %zu layers, limit %d", DOCKER_FILE, n,
		        MANIFEST_LAYERS_MAX);
		goto out;
	}
	if (n != cfg.n_diff_ids) {
		err_set(e, E_INVALID, "config %s: %zu diff_ids for %zu layers", cshown,
		        cfg.n_diff_ids, n);
		goto out;
	}
	w = xcalloc(n ? n : 1, sizeof(*w));
	for (i = 0; i < n; i++) {
		struct json_object *l = json_object_array_get_idx(layers, i);
		const char *lname;

		if (!json_object_is_type(l, json_type_string)) {
			err_set(e, E_INVALID, "%s: Layers[%zu]: expected a string", DOCKER_FILE, i);
			goto out;
		}
		lname = json_object_get_string(l);
		if (docker_layer(s, w, i, lname, &cfg.diff_ids[i], e) < 0)
			goto out;
	}
	if (source_stream_all(s, w, n, e) < 0 || source_put_small(s, &cd, cdata, clen, e) < 0)
		goto out;
	mdata = docker_manifest(&cd, clen, w, n);
	if (manifest_parse(mdata, strlen(mdata), MT_OCI_MANIFEST, &check, e) < 0) {
		err_wrap(e, "the manifest made for it");
		goto out;
	}
	digest_of(mdata, strlen(mdata), &md);
	if (source_put_small(s, &md, mdata, strlen(mdata), e) < 0)
		goto out;

	if (!name && tags && json_object_array_length(tags) > 0) {
		struct json_object *t0 = json_object_array_get_idx(tags, 0);
		struct image_ref r;

		if (!json_object_is_type(t0, json_type_string)) {
			err_set(e, E_INVALID, "%s: RepoTags[0]: expected a string", DOCKER_FILE);
			goto out;
		}
		if (ref_parse(json_object_get_string(t0), &r, e) < 0) {
			err_wrap(e, "%s: RepoTags[0]", DOCKER_FILE);
			goto out;
		}
		if (r.kind == REF_REGISTRY)
			name = TAKE_PTR(r.name);
		ref_release(&r);
		if (!name) {
			err_set(e, E_INVALID, "%s: RepoTags[0]: not a registry reference",
			        DOCKER_FILE);
			goto out;
		}
	}
	if (!name)
		name = name_default(s->ref->path, NULL, e);
	if (!name)
		goto out;
	out->name = TAKE_PTR(name);
	out->manifest = md;
	out->media_type = xstrdup(MT_OCI_MANIFEST);
	rc = 0;
out:
	manifest_release(&check);
	source_wants_free(w, n);
	image_config_release(&cfg);
	return rc;
}

/* ---- the entry point --------------------------------------------------------------------- */

static void src_release(struct src *s)
{
	size_t i;

	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->shafd >= 0)
		close(s->shafd);
	if (s->fd >= 0)
		close(s->fd);
	for (i = 0; i < s->n; i++) {
		free(s->m[i].name);
		free(s->m[i].link);
		free(s->m[i].data);
	}
	free(s->m);
}

int source_import(const struct ctx *ctx, const struct image_ref *ref, const struct platform *want,
                  source_progress_fn progress, void *arg, struct source_result *out, struct err *e)
{
	struct src s = {.ctx = ctx,
	                .ref = ref,
	                .progress = progress,
	                .arg = arg,
	                .dirfd = -1,
	                .shafd = -1,
	                .fd = -1};
	struct source_result res = {0};
	struct platform host = {0};
	struct err le = ERR_INIT; /* the helpers read the code back: never NULL below */
	int rc;

	if (!ref->path || !*ref->path)
		return err_set(e, E_INVALID, "no path");
	if (!want) {
		platform_host(&host);
		want = &host;
	}
	switch (ref->kind) {
	case REF_OCI_LAYOUT:
		rc = layout_open(&s, &le);
		if (rc == 0)
			rc = oci_import(&s, want, &res, &le);
		break;
	case REF_OCI_ARCHIVE:
		rc = source_archive_index(&s, &le);
		if (rc == 0)
			rc = oci_import(&s, want, &res, &le);
		break;
	case REF_DOCKER_ARCHIVE:
		rc = source_archive_index(&s, &le);
		if (rc == 0)
			rc = docker_import(&s, &res, &le);
		break;
	default:
		rc = err_set(&le, E_INVALID, "not an offline source");
		break;
	}
	src_release(&s);
	platform_release(&host);
	if (rc < 0) {
		source_result_release(&res);
		if (e)
			*e = le;
		return -1;
	}
	res.bytes_committed = s.committed;
	*out = res;
	return 0;
}

void source_result_release(struct source_result *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->media_type);
	memset(r, 0, sizeof(*r));
}

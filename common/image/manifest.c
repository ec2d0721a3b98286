/* common/image/manifest.c - OCI and Docker schema 2 manifests, image indexes / manifest lists
 * with platform selection as containerd's matcher does it, and image configs (DESIGN.md "pull";
 * OCI image-spec). Pure parsing of bounded documents through common/util/jsonio.h: no I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "common/image/manifest.h"
#include "common/util/buf.h"
#include "common/util/jsonio.h"
#include "common/util/mem.h"
#include "common/util/strutil.h"
#include "common/util/units.h"

const char manifest_accept[] =
    MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST;

#define ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define CONFIG_LIST_MAX     65536 /* entries in one config array or map (Env, Labels...) */
#define INDEX_LIST_MAX      20    /* platforms an index_select error lists */

/* ---- layers ---------------------------------------------------------------------------- */

int layer_compression_of(const char *media_type, enum layer_compression *out, struct err *e)
{
	static const struct {
		const char *type;
		enum layer_compression c;
	} layers[] = {
	    {MT_OCI_LAYER, LAYER_NONE},      {MT_OCI_LAYER_GZIP, LAYER_GZIP},
	    {MT_OCI_LAYER_ZSTD, LAYER_ZSTD}, {MT_OCI_LAYER_ND, LAYER_NONE},
	    {MT_OCI_LAYER_NDG, LAYER_GZIP},  {MT_OCI_LAYER_NDZ, LAYER_ZSTD},
	    {MT_DOCKER_LAYER, LAYER_GZIP},   {MT_DOCKER_LAYER_TAR, LAYER_NONE},
	    {MT_DOCKER_FOREIGN, LAYER_GZIP},
	};

	for (size_t i = 0; media_type && i < ARRAY_SIZE(layers); i++) {
		if (strcmp(media_type, layers[i].type) == 0) {
			*out = layers[i].c;
			return 0;
		}
	}
	return err_set(e, E_UNSUPPORTED, "\"%.200s\" is not a layer media type",
	               media_type ? media_type : "");
}

/* ---- platforms ------------------------------------------------------------------------- */

void platform_release(struct platform *p)
{
	if (!p)
		return;
	free(p->os);
	free(p->arch);
	free(p->variant);
	memset(p, 0, sizeof(*p));
}

static bool platform_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

/* Architecture aliases to GOARCH names, and variant spellings to "vN" (containerd's
 * platforms.Normalize, keeping arm64's variant as given). arch and variant are owned and may
 * be replaced. */
static void platform_normalize(char **arch, char **variant)
{
	static const struct {
		const char *alias, *arch, *variant; /* variant NULL: keep the given one */
	} aliases[] = {
	    {"x86_64", "amd64", NULL}, {"x86-64", "amd64", NULL}, {"aarch64", "arm64", NULL},
	    {"armhf", "arm", "v7"},    {"armel", "arm", "v6"},    {"i386", "386", NULL},
	    {"i686", "386", NULL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
		if (strcmp(*arch, aliases[i].alias) == 0) {
			free(*arch);
			*arch = xstrdup(aliases[i].arch);
			if (aliases[i].variant) {
				free(*variant);
				*variant = xstrdup(aliases[i].variant);
			}
			break;
		}
	}
	if (*variant && (strcmp(*arch, "arm") == 0 || strcmp(*arch, "arm64") == 0) &&
	    (*variant)[0] >= '0' && (*variant)[0] <= '9') {
		char *v = xasprintf("v%s", *variant);

		free(*variant);
		*variant = v;
	}
	if (*variant && strcmp(*arch, "arm64") == 0 && strcmp(*variant, "v8.0") == 0) {
		free(*variant);
		*variant = xstrdup("v8");
	}
}

int platform_parse(const char *s, struct platform *out, struct err *e)
{
	cleanup_free char *low = NULL;
	char *parts[3] = {NULL, NULL, NULL};
	size_t n = 0;
	struct platform p = {0};

	if (!s || !*s || strlen(s) > 128)
		return err_set(e, E_INVALID, "platform \"%.128s\": expected os/arch[/variant]",
		               s ? s : "");
	low = xstrdup(s);
	for (char *c = low; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	for (char *c = low, *tok; (tok = strsep(&c, "/"));) {
		if (n == 3 || !platform_word(tok))
			return err_set(e, E_INVALID, "platform \"%s\": expected os/arch[/variant]",
			               s);
		parts[n++] = tok;
	}
	if (n < 2)
		return err_set(e, E_INVALID, "platform \"%s\": expected os/arch[/variant]", s);
	p.os = xstrdup(parts[0]);
	p.arch = xstrdup(parts[1]);
	p.variant = n == 3 ? xstrdup(parts[2]) : NULL;
	platform_normalize(&p.arch, &p.variant);
	*out = p;
	return 0;
}

void platform_host(struct platform *out)
{
	static const struct {
		const char *machine, *arch, *variant;
	} machines[] = {
	    {"x86_64", "amd64", NULL},  {"amd64", "amd64", NULL},
	    {"aarch64", "arm64", "v8"}, {"arm64", "arm64", "v8"},
	    {"armv8l", "arm", "v8"},    {"armv7l", "arm", "v7"},
	    {"armv7", "arm", "v7"},     {"armv6l", "arm", "v6"},
	    {"armv5tel", "arm", "v5"},  {"i386", "386", NULL},
	    {"i486", "386", NULL},      {"i586", "386", NULL},
	    {"i686", "386", NULL},      {"ppc64le", "ppc64le", NULL},
	    {"s390x", "s390x", NULL},   {"riscv64", "riscv64", NULL},
	    {"mips64", "mips64", NULL}, {"loongarch64", "loong64", NULL},
	};
	struct utsname u;
	const char *arch = NULL, *variant = NULL;

	if (uname(&u) == 0) {
		arch = u.machine;
		for (size_t i = 0; i < ARRAY_SIZE(machines); i++) {
			if (strcmp(u.machine, machines[i].machine) == 0) {
				arch = machines[i].arch;
				variant = machines[i].variant;
				break;
			}
		}
	}
	out->os = xstrdup("linux");
	out->arch = xstrdup(arch ? arch : "unknown");
	out->variant = variant ? xstrdup(variant) : NULL;
}

char *platform_format(const struct platform *p)
{
	const char *os = p->os ? p->os : "";
	const char *arch = p->arch ? p->arch : "";

	if (p->variant && *p->variant)
		return xasprintf("%s/%s/%s", os, arch, p->variant);
	return xasprintf("%s/%s", os, arch);
}

/* The default variant an architecture's images carry when they name none. */
static const char *variant_default(const char *arch)
{
	if (strcmp(arch, "arm64") == 0)
		return "v8";
	if (strcmp(arch, "arm") == 0)
		return "v7";
	if (strcmp(arch, "amd64") == 0)
		return "v1";
	return NULL;
}

/* A platform with aliases resolved and the default variant filled in, in fixed buffers so
 * matching allocates nothing. */
struct norm {
	char os[64], arch[64], variant[64];
};

static void norm_of(const struct platform *p, bool fill_default, struct norm *n)
{
	char *arch = xstrdup(p->arch ? p->arch : "");
	char *variant = p->variant && *p->variant ? xstrdup(p->variant) : NULL;
	const char *v;

	for (char *c = arch; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	platform_normalize(&arch, &variant);
	v = variant ? variant : fill_default ? variant_default(arch) : NULL;
	snprintf(n->os, sizeof(n->os), "%s", p->os ? p->os : "");
	for (char *c = n->os; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	snprintf(n->arch, sizeof(n->arch), "%s", arch);
	snprintf(n->variant, sizeof(n->variant), "%s", v ? v : "");
	free(arch);
	free(variant);
}

bool platform_match(const struct platform *want, const struct platform *candidate)
{
	struct norm w = {0}, c = {0};

	if (!want || !candidate || !candidate->os || !candidate->arch)
		return false;
	norm_of(want, true, &w);
	norm_of(candidate, true, &c);
	if (strcmp(w.os, c.os) != 0 || strcmp(w.arch, c.arch) != 0)
		return false;
	if (!want->variant || !*want->variant)
		return true;
	return strcmp(w.variant, c.variant) == 0;
}

/* ---- descriptors, manifests and indexes ------------------------------------------------ */

void descriptor_release(struct descriptor *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->ref_name);
	platform_release(&d->platform);
	memset(d, 0, sizeof(*d));
}

void manifest_release(struct manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_release(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->n_manifests; i++)
		descriptor_release(&m->manifests[i]);
	free(m->manifests);
	memset(m, 0, sizeof(*m));
}

/* Fills d from a descriptor object. On failure d holds what was parsed so far; the caller
 * releases it, and wraps the error with the descriptor's place. */
static int descriptor_fill(struct json_object *o, bool with_platform, struct descriptor *d,
                           struct err *e)
{
	const char *mt = NULL, *dg = NULL, *ref_name = NULL;
	struct json_object *plat = NULL, *ann = NULL;

	if (!json_object_is_type(o, json_type_object))
		return err_set(e, E_INVALID, "expected an object");
	if (jsonio_get_str(o, "mediaType", true, &mt, e) < 0 ||
	    jsonio_get_str(o, "digest", true, &dg, e) < 0 ||
	    jsonio_get_int(o, "size", true, &d->size, e) < 0)
		return -1;
	d->media_type = xstrdup(mt);
	if (digest_parse(dg, &d->digest, e) < 0)
		return err_wrap(e, "field \"digest\"");
	if (d->size < 0)
		return err_set(e, E_INVALID, "field \"size\": %lld is negative",
		               (long long)d->size);
	if (jsonio_get_obj(o, "annotations", false, &ann, e) < 0 ||
	    (ann && jsonio_get_str(ann, ANNOTATION_REF_NAME, false, &ref_name, e) < 0))
		return -1;
	if (ref_name)
		d->ref_name = xstrdup(ref_name);
	if (!with_platform)
		return 0;
	if (jsonio_get_obj(o, "platform", false, &plat, e) < 0)
		return -1;
	if (plat) {
		const char *os = NULL, *arch = NULL, *variant = NULL;

		if (jsonio_get_str(plat, "os", true, &os, e) < 0 ||
		    jsonio_get_str(plat, "architecture", true, &arch, e) < 0 ||
		    jsonio_get_str(plat, "variant", false, &variant, e) < 0)
			return err_wrap(e, "field \"platform\"");
		d->platform.os = xstrdup(os);
		d->platform.arch = xstrdup(arch);
		d->platform.variant = variant && *variant ? xstrdup(variant) : NULL;
	}
	return 0;
}

static int descriptor_list(struct json_object *root, const char *key, bool with_platform,
                           struct descriptor **out, size_t *n_out, struct err *e)
{
	struct json_object *arr = NULL;
	size_t n;

	if (jsonio_get_array(root, key, true, &arr, e) < 0)
		return -1;
	n = json_object_array_length(arr);
	if (n > MANIFEST_LAYERS_MAX)
		return err_set(e, E_INVALID, "field \"%s\": %zu entries, limit %d", key, n,
		               MANIFEST_LAYERS_MAX);
	*out = xcalloc(n ? n : 1, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		*n_out = i + 1; /* so the caller's release sees the partly filled entry */
		if (descriptor_fill(json_object_array_get_idx(arr, i), with_platform, &(*out)[i],
		                    e) < 0)
			return err_wrap(e, "%s[%zu]", key, i);
	}
	*n_out = n;
	return 0;
}

static bool is_generic(const char *mt)
{
	return !mt || !*mt || strcasecmp(mt, "application/json") == 0 ||
	       strcasecmp(mt, "text/plain") == 0 || strcasecmp(mt, "application/octet-stream") == 0;
}

static bool is_schema1(const char *mt)
{
	return mt && (strcmp(mt, MT_DOCKER_SCHEMA1) == 0 || strcmp(mt, MT_DOCKER_SCHEMA1S) == 0);
}

static int schema1_refused(const char *mt, struct err *e)
{
	return err_set(e, E_UNSUPPORTED,
	               "schema 1 manifests are not supported (%s): push the image again with a "
	               "current client, or pull a newer tag",
	               mt);
}

static int manifest_fill(struct json_object *root, const char *hint, struct manifest *m,
                         struct err *e)
{
	const char *doc_mt = NULL, *mt;
	int64_t version = 0;
	bool has_layers, has_manifests, has_config;

	if (!json_object_is_type(root, json_type_object))
		return err_set(e, E_INVALID, "manifest: expected a JSON object");
	if (jsonio_get_str(root, "mediaType", false, &doc_mt, e) < 0)
		return err_wrap(e, "manifest");
	if (is_schema1(doc_mt))
		return schema1_refused(doc_mt, e);
	if (jsonio_get_int(root, "schemaVersion", true, &version, e) < 0)
		return err_wrap(e, "manifest");
	if (version == 1)
		return schema1_refused("schemaVersion 1", e);
	if (version != 2)
		return err_set(e, E_INVALID, "manifest: field \"schemaVersion\": %lld, expected 2",
		               (long long)version);
	has_layers = json_object_object_get_ex(root, "layers", NULL);
	has_manifests = json_object_object_get_ex(root, "manifests", NULL);
	has_config = json_object_object_get_ex(root, "config", NULL);
	if (!is_generic(hint))
		mt = hint;
	else if (doc_mt && *doc_mt)
		mt = doc_mt;
	else if (has_manifests && !has_layers && !has_config)
		mt = MT_OCI_INDEX;
	else if ((has_layers || has_config) && !has_manifests)
		mt = MT_OCI_MANIFEST;
	else
		return err_set(
		    e, E_INVALID,
		    "manifest: no mediaType, and the document is neither an image manifest "
		    "(config, layers) nor an index (manifests)");
	m->media_type = xstrdup(mt);
	if (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0) {
		m->kind = MANIFEST_IMAGE;
		if (has_manifests)
			return err_set(e, E_INVALID,
			               "manifest: %s with a \"manifests\" field (an index?)", mt);
	} else if (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0) {
		m->kind = MANIFEST_INDEX;
		if (has_layers || has_config)
			return err_set(e, E_INVALID,
			               "manifest: %s with a \"%s\" field (an image manifest?)", mt,
			               has_layers ? "layers" : "config");
	} else {
		return err_set(e, E_UNSUPPORTED, "unsupported manifest media type \"%.200s\"", mt);
	}

	if (m->kind == MANIFEST_INDEX) {
		if (descriptor_list(root, "manifests", true, &m->manifests, &m->n_manifests, e) < 0)
			return err_wrap(e, "manifest");
		return 0;
	}
	{
		struct json_object *cfg = NULL;
		const char *cmt;

		if (jsonio_get_obj(root, "config", true, &cfg, e) < 0)
			return err_wrap(e, "manifest");
		if (descriptor_fill(cfg, false, &m->config, e) < 0)
			return err_wrap(e, "manifest: config");
		cmt = m->config.media_type ? m->config.media_type : "";
		if (strcmp(cmt, MT_OCI_CONFIG) != 0 && strcmp(cmt, MT_DOCKER_CONFIG) != 0)
			return err_set(
			    e, E_UNSUPPORTED,
			    "manifest: not a container image: config media type \"%.200s\"", cmt);
	}
	if (descriptor_list(root, "layers", false, &m->layers, &m->n_layers, e) < 0)
		return err_wrap(e, "manifest");
	for (size_t i = 0; i < m->n_layers; i++) {
		enum layer_compression c;

		if (layer_compression_of(m->layers[i].media_type, &c, e) < 0) {
			e->code = E_INVALID;
			return err_wrap(e, "manifest: layers[%zu]", i);
		}
	}
	return 0;
}

int manifest_parse(const char *data, size_t len, const char *media_type, struct manifest *out,
                   struct err *e)
{
	cleanup_json struct json_object *root = NULL;
	cleanup_free char *hint = NULL;
	struct manifest m = {0};

	if (len > MANIFEST_MAX)
		return err_set(e, E_INVALID, "manifest is %zu bytes, limit %d", len, MANIFEST_MAX);
	if (media_type) {
		/* a Content-Type may carry parameters: "application/json; charset=utf-8" */
		hint = xstrndup(media_type, strcspn(media_type, ";"));
		str_trim(hint);
	}
	if (is_schema1(hint))
		return schema1_refused(hint, e);
	if (jsonio_parse(data, len, &root, e) < 0)
		return err_wrap(e, "manifest");
	if (manifest_fill(root, hint, &m, e) < 0) {
		manifest_release(&m);
		return -1;
	}
	*out = m;
	return 0;
}

/* ---- platform selection ---------------------------------------------------------------- */

static bool selectable(const struct descriptor *d)
{
	/* buildkit's attestation manifests carry unknown/unknown */
	return !(d->platform.os && strcmp(d->platform.os, "unknown") == 0);
}

/* How far below want's variant a candidate's is, for architectures whose older variants run on
 * newer CPUs (arm v5..v7, amd64 v1..v4, as containerd's platforms.Only): 0 is the same, -1 not
 * usable. */
static int variant_fallback_rank(const char *arch, const char *want_variant,
                                 const char *cand_variant)
{
	int w, c, min;

	if (strcmp(arch, "arm") == 0)
		min = 5;
	else if (strcmp(arch, "amd64") == 0)
		min = 1;
	else
		return -1;
	if (sscanf(want_variant, "v%d", &w) != 1 || sscanf(cand_variant, "v%d", &c) != 1)
		return -1;
	if (c > w || c < min)
		return -1;
	return w - c;
}

int index_select(const struct manifest *idx, const struct platform *want,
                 const struct descriptor **out, struct err *e)
{
	struct platform host = {0};
	struct norm w = {0};
	const char *want_variant;
	const struct descriptor *best = NULL, *any_variant = NULL, *no_platform = NULL;
	int best_rank = -1;

	if (idx->kind != MANIFEST_INDEX)
		return err_set(e, E_INVALID, "not an index: %s", idx->media_type);
	norm_of(want, false, &w);
	if (w.variant[0]) {
		want_variant = w.variant;
	} else {
		/* no variant asked for: the host's, when it is the host's architecture */
		struct norm h = {0};

		platform_host(&host);
		norm_of(&host, true, &h);
		platform_release(&host);
		if (strcmp(h.arch, w.arch) == 0 && h.variant[0])
			snprintf(w.variant, sizeof(w.variant), "%s", h.variant);
		else if (variant_default(w.arch))
			snprintf(w.variant, sizeof(w.variant), "%s", variant_default(w.arch));
		want_variant = w.variant[0] ? w.variant : NULL;
	}
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct descriptor *d = &idx->manifests[i];
		struct norm c = {0};
		int rank;

		if (!selectable(d))
			continue;
		if (!d->platform.os) {
			if (!no_platform)
				no_platform = d;
			continue;
		}
		norm_of(&d->platform, true, &c);
		if (strcmp(c.os, w.os) != 0 || strcmp(c.arch, w.arch) != 0)
			continue;
		if (!want_variant || strcmp(c.variant, want_variant) == 0) {
			*out = d;
			return 0;
		}
		if (!any_variant)
			any_variant = d;
		if ((rank = variant_fallback_rank(c.arch, want_variant, c.variant)) >= 0 &&
		    (best_rank < 0 || rank < best_rank)) {
			best = d;
			best_rank = rank;
		}
	}
	if (best) {
		*out = best;
		return 0;
	}
	if (any_variant && (!want->variant || !*want->variant)) {
		*out = any_variant;
		return 0;
	}
	if (no_platform) {
		*out = no_platform;
		return 0;
	}
	{
		cleanup_free char *wanted = platform_format(want);
		cleanup_buf struct buf list = BUF_INIT;
		size_t listed = 0;

		for (size_t i = 0; i < idx->n_manifests; i++) {
			const struct descriptor *d = &idx->manifests[i];
			cleanup_free char *p = NULL;
			bool dup = false;

			if (!selectable(d) || !d->platform.os)
				continue;
			p = platform_format(&d->platform);
			for (size_t j = 0; j < i && !dup; j++) {
				const struct descriptor *o = &idx->manifests[j];
				cleanup_free char *q = NULL;

				if (!selectable(o) || !o->platform.os)
					continue;
				q = platform_format(&o->platform);
				dup = strcmp(p, q) == 0;
			}
			if (dup)
				continue;
			if (listed == INDEX_LIST_MAX) {
				buf_adds(&list, ", ...");
				break;
			}
			buf_printf(&list, "%s%s", listed ? ", " : "", p);
			listed++;
		}
		return err_set(e, E_NOTFOUND, "no manifest for %s in the index (it has %s)", wanted,
		               listed ? buf_str(&list) : "none");
	}
}

/* ---- image configs --------------------------------------------------------------------- */

void image_config_release(struct image_config *c)
{
	if (!c)
		return;
	platform_release(&c->platform);
	free(c->diff_ids);
	strv_free(c->env);
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	free(c->user);
	free(c->working_dir);
	strv_free(c->exposed_ports);
	strv_free(c->volumes);
	strv_free(c->labels);
	free(c->stop_signal);
	memset(c, 0, sizeof(*c));
}

/* An array of strings into a NULL-terminated vector ([] gives an empty one, absent or null
 * leaves *out NULL). */
static int config_strv(struct json_object *o, const char *key, char ***out, struct err *e)
{
	struct json_object *arr = NULL;
	size_t n;
	char **v;

	if (jsonio_get_array(o, key, false, &arr, e) < 0)
		return -1;
	if (!arr)
		return 0;
	n = json_object_array_length(arr);
	if (n > CONFIG_LIST_MAX)
		return err_set(e, E_INVALID, "field \"%s\": %zu entries, limit %d", key, n,
		               CONFIG_LIST_MAX);
	v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(s, json_type_string)) {
			strv_free(v);
			return err_set(e, E_INVALID, "field \"%s[%zu]\": expected a string", key,
			               i);
		}
		v[i] = xstrdup(json_object_get_string(s));
	}
	*out = v;
	return 0;
}

/* The keys of an object (with labels, "key=value") into a NULL-terminated vector. */
static int config_keys(struct json_object *o, const char *key, bool with_values, char ***out,
                       struct err *e)
{
	struct json_object *map = NULL;
	size_t n, i = 0;
	char **v;

	if (jsonio_get_obj(o, key, false, &map, e) < 0)
		return -1;
	if (!map)
		return 0;
	n = (size_t)json_object_object_length(map);
	if (n > CONFIG_LIST_MAX)
		return err_set(e, E_INVALID, "field \"%s\": %zu entries, limit %d", key, n,
		               CONFIG_LIST_MAX);
	v = xcalloc(n + 1, sizeof(*v));
	json_object_object_foreach(map, k, val)
	{
		if (i == n)
			break;
		if (!with_values) {
			v[i++] = xstrdup(k);
			continue;
		}
		if (val && !json_object_is_type(val, json_type_string)) {
			strv_free(v);
			return err_set(e, E_INVALID, "field \"%s\": \"%.100s\": expected a string",
			               key, k);
		}
		v[i++] = xasprintf("%s=%s", k, val ? json_object_get_string(val) : "");
	}
	*out = v;
	return 0;
}

static int config_str(struct json_object *o, const char *key, char **out, struct err *e)
{
	const char *s = NULL;

	if (jsonio_get_str(o, key, false, &s, e) < 0)
		return -1;
	if (s)
		*out = xstrdup(s);
	return 0;
}

static int config_fill(struct json_object *root, struct image_config *c, struct err *e)
{
	const char *os = NULL, *arch = NULL, *variant = NULL, *created = NULL, *type = NULL;
	struct json_object *rootfs = NULL, *ids = NULL, *cfg = NULL;
	size_t n;

	if (!json_object_is_type(root, json_type_object))
		return err_set(e, E_INVALID, "expected a JSON object");
	if (jsonio_get_str(root, "architecture", true, &arch, e) < 0 ||
	    jsonio_get_str(root, "os", true, &os, e) < 0 ||
	    jsonio_get_str(root, "variant", false, &variant, e) < 0 ||
	    jsonio_get_str(root, "created", false, &created, e) < 0)
		return -1;
	c->platform.os = xstrdup(os);
	c->platform.arch = xstrdup(arch);
	c->platform.variant = variant && *variant ? xstrdup(variant) : NULL;
	if (created) {
		int year = 0;

		/* reproducible builds write 0001-01-01 or 1970-01-01: no meaningful time. Years
		 * past 2262 do not fit nanoseconds in 64 bits. */
		if (sscanf(created, "%4d-", &year) != 1)
			return err_set(e, E_INVALID, "field \"created\": \"%.64s\" is not RFC 3339",
			               created);
		if (year >= 2262)
			return err_set(e, E_INVALID, "field \"created\": \"%.64s\" is out of range",
			               created);
		if (year >= 1970 && units_parse_rfc3339(created, &c->created_ns, e) < 0)
			return err_wrap(e, "field \"created\"");
		if (c->created_ns < 0)
			c->created_ns = 0;
	}
	if (jsonio_get_obj(root, "rootfs", true, &rootfs, e) < 0 ||
	    jsonio_get_str(rootfs, "type", true, &type, e) < 0)
		return err_wrap(e, "rootfs");
	if (strcmp(type, "layers") != 0)
		return err_set(e, E_INVALID,
		               "rootfs: field \"type\" is \"%.64s\", expected \"layers\"", type);
	if (jsonio_get_array(rootfs, "diff_ids", true, &ids, e) < 0)
		return err_wrap(e, "rootfs");
	n = json_object_array_length(ids);
	if (n > MANIFEST_LAYERS_MAX)
		return err_set(e, E_INVALID, "rootfs: %zu diff_ids, limit %d", n,
		               MANIFEST_LAYERS_MAX);
	c->diff_ids = xcalloc(n ? n : 1, sizeof(*c->diff_ids));
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(ids, i);

		if (!json_object_is_type(s, json_type_string))
			return err_set(e, E_INVALID, "rootfs: diff_ids[%zu]: expected a string", i);
		if (digest_parse(json_object_get_string(s), &c->diff_ids[i], e) < 0)
			return err_wrap(e, "rootfs: diff_ids[%zu]", i);
	}
	c->n_diff_ids = n;
	if (jsonio_get_obj(root, "config", false, &cfg, e) < 0)
		return -1;
	if (!cfg)
		return 0;
	if (config_strv(cfg, "Env", &c->env, e) < 0 ||
	    config_strv(cfg, "Entrypoint", &c->entrypoint, e) < 0 ||
	    config_strv(cfg, "Cmd", &c->cmd, e) < 0 || config_str(cfg, "User", &c->user, e) < 0 ||
	    config_str(cfg, "WorkingDir", &c->working_dir, e) < 0 ||
	    config_keys(cfg, "ExposedPorts", false, &c->exposed_ports, e) < 0 ||
	    config_keys(cfg, "Volumes", false, &c->volumes, e) < 0 ||
	    config_keys(cfg, "Labels", true, &c->labels, e) < 0 ||
	    config_str(cfg, "StopSignal", &c->stop_signal, e) < 0)
		return err_wrap(e, "config");
	return 0;
}

int image_config_parse(const char *data, size_t len, struct image_config *out, struct err *e)
{
	cleanup_json struct json_object *root = NULL;
	struct image_config c = {0};

	if (len > CONFIG_MAX)
		return err_set(e, E_INVALID, "image config is %zu bytes, limit %d", len,
		               CONFIG_MAX);
	if (jsonio_parse(data, len, &root, e) < 0)
		return err_wrap(e, "image config");
	if (config_fill(root, &c, e) < 0) {
		image_config_release(&c);
		return err_wrap(e, "image config");
	}
	*out = c;
	return 0;
}

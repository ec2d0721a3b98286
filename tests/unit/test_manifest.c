/* tests/unit/test_manifest.c - manifests, indexes, platform selection and image configs
 * (common/image/manifest.h), table-driven */
#include "tests/unit/unit.h"
#include "common/image/manifest.h"
#include "common/util/buf.h"
#include "common/util/units.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"
#define H4 "4444444444444444444444444444444444444444444444444444444444444444"

#define CFG_DESC(mt) "\"config\":{\"mediaType\":\"" mt "\",\"digest\":\"sha256:" H1 "\",\"size\":7}"
#define LAYER(mt)    "{\"mediaType\":\"" mt "\",\"digest\":\"sha256:" H2 "\",\"size\":100}"

#define OCI_IMAGE                                                                                  \
	"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST                                    \
	"\"," CFG_DESC(MT_OCI_CONFIG) ",\"layers\":[" LAYER(MT_OCI_LAYER_GZIP) "," LAYER(          \
	    MT_OCI_LAYER_ZSTD) "]}"
#define DOCKER_IMAGE                                                                               \
	"{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST                                 \
	"\"," CFG_DESC(MT_DOCKER_CONFIG) ",\"layers\":[" LAYER(MT_DOCKER_LAYER) "]}"
/* neither hint nor mediaType: the structure decides */
#define BARE_IMAGE "{\"schemaVersion\":2," CFG_DESC(MT_OCI_CONFIG) ",\"layers\":[]}"
#define BARE_INDEX "{\"schemaVersion\":2,\"manifests\":[]}"

#define ENTRY(h, plat)                                                                             \
	"{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" h "\",\"size\":500" plat "}"
#define PLAT(os, arch) ",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"}"
#define PLATV(os, arch, v)                                                                         \
	",\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\",\"variant\":\"" v "\"}"

#define OCI_INDEX                                                                                  \
	"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX                                       \
	"\",\"manifests\":[" ENTRY(H1, PLAT("linux", "amd64")) "," ENTRY(                          \
	    H2, PLATV("linux", "arm64", "v8")) "," ENTRY(H3, PLAT("unknown", "unknown")) "]}"

struct parse_case {
	const char *what;
	const char *doc;
	const char *hint;
	int rc;
	enum err_code code;      /* when rc < 0 */
	const char *msg;         /* substring, when rc < 0 */
	enum manifest_kind kind; /* when rc == 0 */
	const char *media_type;  /* resolved, when rc == 0 */
	size_t n;                /* layers or manifests */
};

static const struct parse_case parse_cases[] = {
    {"oci image", OCI_IMAGE, MT_OCI_MANIFEST, 0, 0, NULL, MANIFEST_IMAGE, MT_OCI_MANIFEST, 2},
    {"oci image, no hint", OCI_IMAGE, NULL, 0, 0, NULL, MANIFEST_IMAGE, MT_OCI_MANIFEST, 2},
    {"oci image, generic hint", OCI_IMAGE, "application/json; charset=utf-8", 0, 0, NULL,
     MANIFEST_IMAGE, MT_OCI_MANIFEST, 2},
    {"docker v2", DOCKER_IMAGE, MT_DOCKER_MANIFEST, 0, 0, NULL, MANIFEST_IMAGE, MT_DOCKER_MANIFEST,
     1},
    {"docker v2, text/plain", DOCKER_IMAGE, "text/plain", 0, 0, NULL, MANIFEST_IMAGE,
     MT_DOCKER_MANIFEST, 1},
    {"bare image by structure", BARE_IMAGE, NULL, 0, 0, NULL, MANIFEST_IMAGE, MT_OCI_MANIFEST, 0},
    {"bare index by structure", BARE_INDEX, NULL, 0, 0, NULL, MANIFEST_INDEX, MT_OCI_INDEX, 0},
    {"oci index", OCI_INDEX, MT_OCI_INDEX, 0, 0, NULL, MANIFEST_INDEX, MT_OCI_INDEX, 3},
    {"docker list",
     "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST "\",\"manifests\":["
     "{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"digest\":\"sha256:" H1
     "\",\"size\":1" PLAT("linux", "amd64") "}]}",
     MT_DOCKER_LIST, 0, 0, NULL, MANIFEST_INDEX, MT_DOCKER_LIST, 1},
    {"hint wins over the document", BARE_IMAGE, MT_DOCKER_MANIFEST, 0, 0, NULL, MANIFEST_IMAGE,
     MT_DOCKER_MANIFEST, 0},
    /* every layer type */
    {"all layer types",
     "{\"schemaVersion\":2," CFG_DESC(MT_OCI_CONFIG) ",\"layers\":[" LAYER(MT_OCI_LAYER) "," LAYER(MT_OCI_LAYER_GZIP) "," LAYER(MT_OCI_LAYER_ZSTD) "," LAYER(
         MT_OCI_LAYER_ND) "," LAYER(MT_OCI_LAYER_NDG) "," LAYER(MT_OCI_LAYER_NDZ) "," LAYER(MT_DOCKER_LAYER) "," LAYER(MT_DOCKER_LAYER_TAR) "," LAYER(MT_DOCKER_FOREIGN) "]}",
     NULL, 0, 0, NULL, MANIFEST_IMAGE, MT_OCI_MANIFEST, 9},
    /* refused */
    {"schema1 by hint", "{\"schemaVersion\":1,\"name\":\"x\"}", MT_DOCKER_SCHEMA1S, -1,
     E_UNSUPPORTED, "schema 1 manifests are not supported", 0, NULL, 0},
    {"schema1 by hint, unsigned", "{}", MT_DOCKER_SCHEMA1, -1, E_UNSUPPORTED, "schema 1", 0, NULL,
     0},
    {"schema1 by mediaType", "{\"schemaVersion\":1,\"mediaType\":\"" MT_DOCKER_SCHEMA1 "\"}", NULL,
     -1, E_UNSUPPORTED, "schema 1", 0, NULL, 0},
    {"schema1 by version", "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", NULL, -1,
     E_UNSUPPORTED, "schema 1", 0, NULL, 0},
    {"schemaVersion 3", "{\"schemaVersion\":3,\"layers\":[]}", NULL, -1, E_INVALID,
     "\"schemaVersion\": 3, expected 2", 0, NULL, 0},
    {"schemaVersion missing", "{\"layers\":[]}", NULL, -1, E_INVALID,
     "field \"schemaVersion\": missing", 0, NULL, 0},
    {"unknown type by hint", BARE_IMAGE, "application/vnd.oci.artifact.manifest.v1+json", -1,
     E_UNSUPPORTED, "unsupported manifest media type \"application/vnd.oci.artifact.manifest", 0,
     NULL, 0},
    {"unknown type in document", "{\"schemaVersion\":2,\"mediaType\":\"application/x-foo\"}", NULL,
     -1, E_UNSUPPORTED, "\"application/x-foo\"", 0, NULL, 0},
    {"neither", "{\"schemaVersion\":2}", NULL, -1, E_INVALID, "neither", 0, NULL, 0},
    {"not json", "{\"schemaVersion\":2,", NULL, -1, E_INVALID, "manifest: json", 0, NULL, 0},
    {"not an object", "[1,2]", NULL, -1, E_INVALID, "expected a JSON object", 0, NULL, 0},
    {"image that is an index", OCI_INDEX, MT_OCI_MANIFEST, -1, E_INVALID, "\"manifests\"", 0, NULL,
     0},
    {"index that is an image", OCI_IMAGE, MT_OCI_INDEX, -1, E_INVALID, "\"layers\"", 0, NULL, 0},
    {"unknown layer type",
     "{\"schemaVersion\":2," CFG_DESC(MT_OCI_CONFIG) ",\"layers\":[" LAYER(MT_OCI_LAYER) "," LAYER(
         "application/vnd.oci.image.layer.v1.tar+bzip2") "]}",
     NULL, -1, E_INVALID,
     "layers[1]: \"application/vnd.oci.image.layer.v1.tar+bzip2\" is not a "
     "layer media type",
     0, NULL, 0},
    {"bad layer digest",
     "{\"schemaVersion\":2," CFG_DESC(
         MT_OCI_CONFIG) ",\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER_GZIP
                        "\",\"digest\":\"sha256:abc\",\"size\":1}]}",
     NULL, -1, E_INVALID, "layers[0]: field \"digest\": digest \"sha256:abc\"", 0, NULL, 0},
    {"bad config digest",
     "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"sha256:" H1
     "X\",\"size\":1},\"layers\":[]}",
     NULL, -1, E_INVALID, "config: field \"digest\"", 0, NULL, 0},
    {"sha512 digest",
     "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_OCI_CONFIG
     "\",\"digest\":\"sha512:" H1 H1 "\",\"size\":1},\"layers\":[]}",
     NULL, -1, E_UNSUPPORTED, "only sha256", 0, NULL, 0},
    {"negative size",
     "{\"schemaVersion\":2," CFG_DESC(
         MT_OCI_CONFIG) ",\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER_GZIP
                        "\",\"digest\":\"sha256:" H2 "\",\"size\":-1}]}",
     NULL, -1, E_INVALID, "layers[0]: field \"size\": -1 is negative", 0, NULL, 0},
    {"size not an integer",
     "{\"schemaVersion\":2," CFG_DESC(
         MT_OCI_CONFIG) ",\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER_GZIP
                        "\",\"digest\":\"sha256:" H2 "\",\"size\":\"10\"}]}",
     NULL, -1, E_INVALID, "field \"size\": expected an integer", 0, NULL, 0},
    {"missing digest in index entry",
     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"size\":1}]}",
     NULL, -1, E_INVALID, "manifests[0]: field \"digest\": missing", 0, NULL, 0},
    {"platform without os",
     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":"
     "\"sha256:" H1 "\",\"size\":1,\"platform\":{\"architecture\":\"amd64\"}}]}",
     NULL, -1, E_INVALID, "manifests[0]: field \"platform\": field \"os\": missing", 0, NULL, 0},
    {"config not an image config",
     "{\"schemaVersion\":2," CFG_DESC("application/vnd.cncf.helm.config.v1+json") ",\"layers\":[]}",
     NULL, -1, E_UNSUPPORTED, "not a container image", 0, NULL, 0},
    {"layers missing", "{\"schemaVersion\":2," CFG_DESC(MT_OCI_CONFIG) "}", MT_OCI_MANIFEST, -1,
     E_INVALID, "field \"layers\": missing", 0, NULL, 0},
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct manifest m = {.n_layers = 12345};
		struct err e = ERR_INIT;
		int rc = manifest_parse(c->doc, strlen(c->doc), c->hint, &m, &e);

		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d (%s)", c->what, rc, c->rc, e.msg);
		if (rc < 0) {
			if (e.code != c->code || !strstr(e.msg, c->msg))
				fail_msg("%s: code %d \"%s\", want %d \"%s\"", c->what, e.code,
				         e.msg, c->code, c->msg);
			assert_int_equal(m.n_layers, 12345); /* untouched */
			continue;
		}
		assert_int_equal(m.kind, c->kind);
		assert_string_equal(m.media_type, c->media_type);
		assert_int_equal(c->kind == MANIFEST_IMAGE ? m.n_layers : m.n_manifests, c->n);
		manifest_release(&m);
	}
}

static void test_parse_fields(void **state)
{
	const char *doc =
	    "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"sha256:" H4 "\",\"size\":321,"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"},"
	    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"1.0\"}}]}";
	struct manifest m;
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(manifest_parse(doc, strlen(doc), NULL, &m, &e), 0);
	assert_int_equal(m.n_manifests, 1);
	assert_string_equal(m.manifests[0].digest.hex, H4);
	assert_int_equal(m.manifests[0].size, 321);
	assert_string_equal(m.manifests[0].platform.os, "linux");
	assert_string_equal(m.manifests[0].platform.arch, "arm");
	assert_string_equal(m.manifests[0].platform.variant, "v6");
	assert_string_equal(m.manifests[0].ref_name, "1.0");
	manifest_release(&m);

	assert_int_equal(manifest_parse(OCI_IMAGE, strlen(OCI_IMAGE), NULL, &m, &e), 0);
	assert_string_equal(m.config.media_type, MT_OCI_CONFIG);
	assert_string_equal(m.config.digest.hex, H1);
	assert_int_equal(m.config.size, 7);
	assert_string_equal(m.layers[1].media_type, MT_OCI_LAYER_ZSTD);
	assert_int_equal(m.layers[1].size, 100);
	assert_null(m.layers[0].platform.os);
	manifest_release(&m);
}

static void test_limits(void **state)
{
	struct manifest m;
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	size_t big = MANIFEST_MAX + 1;
	char *huge = xmalloc(big);
	(void)state;
	memset(huge, ' ', big);
	assert_int_equal(manifest_parse(huge, big, NULL, &m, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "limit 4194304"));
	free(huge);

	buf_adds(&b, "{\"schemaVersion\":2," CFG_DESC(MT_OCI_CONFIG) ",\"layers\":[");
	for (int i = 0; i <= MANIFEST_LAYERS_MAX; i++)
		buf_printf(&b, "%s" LAYER(MT_OCI_LAYER_GZIP), i ? "," : "");
	buf_adds(&b, "]}");
	assert_int_equal(manifest_parse(b.data, b.len, NULL, &m, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "1025 entries, limit 1024"));
	buf_release(&b);
}

static void test_accept(void **state)
{
	(void)state;
	assert_non_null(strstr(manifest_accept, MT_OCI_MANIFEST));
	assert_non_null(strstr(manifest_accept, MT_OCI_INDEX));
	assert_non_null(strstr(manifest_accept, MT_DOCKER_MANIFEST));
	assert_non_null(strstr(manifest_accept, MT_DOCKER_LIST));
	assert_null(strstr(manifest_accept, MT_DOCKER_SCHEMA1)); /* no schema 1 */
}

static void test_layer_compression(void **state)
{
	static const struct {
		const char *mt;
		int rc;
		enum layer_compression c;
	} cases[] = {
	    {MT_OCI_LAYER, 0, LAYER_NONE},      {MT_OCI_LAYER_GZIP, 0, LAYER_GZIP},
	    {MT_OCI_LAYER_ZSTD, 0, LAYER_ZSTD}, {MT_OCI_LAYER_ND, 0, LAYER_NONE},
	    {MT_OCI_LAYER_NDG, 0, LAYER_GZIP},  {MT_OCI_LAYER_NDZ, 0, LAYER_ZSTD},
	    {MT_DOCKER_LAYER, 0, LAYER_GZIP},   {MT_DOCKER_LAYER_TAR, 0, LAYER_NONE},
	    {MT_DOCKER_FOREIGN, 0, LAYER_GZIP}, {MT_OCI_CONFIG, -1, 0},
	    {MT_OCI_MANIFEST, -1, 0},           {"", -1, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum layer_compression c = 99;
		struct err e = ERR_INIT;

		assert_int_equal(layer_compression_of(cases[i].mt, &c, &e), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(c, cases[i].c);
		else
			assert_int_equal(e.code, E_UNSUPPORTED);
	}
}

static void test_platform_parse(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: invalid */
	} cases[] = {
	    {"linux/amd64", "linux/amd64"},
	    {"linux/arm64/v8", "linux/arm64/v8"},
	    {"linux/arm/v7", "linux/arm/v7"},
	    {"linux/arm/7", "linux/arm/v7"},
	    {"linux/x86_64", "linux/amd64"},
	    {"linux/aarch64", "linux/arm64"},
	    {"linux/armhf", "linux/arm/v7"},
	    {"linux/armel", "linux/arm/v6"},
	    {"Linux/AMD64", "linux/amd64"},
	    {"linux/i386", "linux/386"},
	    {"linux/s390x", "linux/s390x"},
	    {"linux", NULL},
	    {"", NULL},
	    {"linux/", NULL},
	    {"/amd64", NULL},
	    {"linux/amd64/v1/x", NULL},
	    {"linux/amd 64", NULL},
	    {"linux//v7", NULL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct platform p;
		struct err e = ERR_INIT;
		int rc = platform_parse(cases[i].in, &p, &e);

		if (!cases[i].out) {
			if (rc != -1 || e.code != E_INVALID)
				fail_msg("\"%s\" should be invalid", cases[i].in);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", cases[i].in, e.msg);
		{
			cleanup_free char *s = platform_format(&p);

			assert_string_equal(s, cases[i].out);
		}
		platform_release(&p);
	}
}

static void test_platform_host(void **state)
{
	struct platform p = {0};
	cleanup_free char *s = NULL;
	(void)state;
	platform_host(&p);
	assert_string_equal(p.os, "linux");
	assert_non_null(p.arch);
	s = platform_format(&p);
#if defined(__x86_64__)
	assert_string_equal(s, "linux/amd64");
#elif defined(__aarch64__)
	assert_string_equal(s, "linux/arm64/v8");
#endif
	platform_release(&p);
}

static struct platform plat(const char *os, const char *arch, const char *variant)
{
	struct platform p = {(char *)os, (char *)arch, (char *)variant};

	return p;
}

static void test_platform_match(void **state)
{
	static const struct {
		const char *w[3], *c[3];
		bool match;
	} cases[] = {
	    {{"linux", "amd64", NULL}, {"linux", "amd64", NULL}, true},
	    {{"linux", "amd64", NULL}, {"linux", "arm64", NULL}, false},
	    {{"linux", "amd64", NULL}, {"windows", "amd64", NULL}, false},
	    {{"linux", "arm64", "v8"}, {"linux", "arm64", NULL}, true},
	    {{"linux", "arm64", NULL}, {"linux", "arm64", "v8"}, true},
	    {{"linux", "arm64", "v8"}, {"linux", "arm64", "8"}, true},
	    {{"linux", "arm64", "v8"}, {"linux", "aarch64", NULL}, true},
	    {{"linux", "arm", "v7"}, {"linux", "arm", NULL}, true},
	    {{"linux", "arm", "v7"}, {"linux", "arm", "v6"}, false},
	    {{"linux", "arm", "v6"}, {"linux", "arm", NULL}, false},
	    {{"linux", "arm", NULL}, {"linux", "arm", "v6"}, true},
	    {{"linux", "amd64", NULL}, {"linux", "x86_64", NULL}, true},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct platform w = plat(cases[i].w[0], cases[i].w[1], cases[i].w[2]);
		struct platform c = plat(cases[i].c[0], cases[i].c[1], cases[i].c[2]);

		if (platform_match(&w, &c) != cases[i].match)
			fail_msg("case %zu: want %d", i, cases[i].match);
	}
}

static void select_from(const char *doc, const char *want, const char *want_hex,
                        const char *want_msg)
{
	struct manifest m;
	struct platform w;
	const struct descriptor *d = NULL;
	struct err e = ERR_INIT;

	assert_int_equal(manifest_parse(doc, strlen(doc), NULL, &m, &e), 0);
	assert_int_equal(platform_parse(want, &w, &e), 0);
	if (want_hex) {
		if (index_select(&m, &w, &d, &e) != 0)
			fail_msg("%s: %s", want, e.msg);
		assert_string_equal(d->digest.hex, want_hex);
	} else {
		assert_int_equal(index_select(&m, &w, &d, &e), -1);
		assert_int_equal(e.code, E_NOTFOUND);
		assert_string_equal(e.msg, want_msg);
	}
	platform_release(&w);
	manifest_release(&m);
}

static void test_index_select(void **state)
{
	const char *arm =
	    "{\"schemaVersion\":2,\"manifests\":[" ENTRY(H1, PLATV("linux", "arm", "v5")) "," ENTRY(
	        H2, PLATV("linux", "arm", "v6")) "," ENTRY(H3, PLAT("linux", "arm64")) "]}";
	const char *arm7 = "{\"schemaVersion\":2,\"manifests\":[" ENTRY(
	    H1, PLATV("linux", "arm", "v6")) "," ENTRY(H2, PLAT("linux", "arm")) "]}";
	(void)state;
	/* exact */
	select_from(OCI_INDEX, "linux/amd64", H1, NULL);
	select_from(OCI_INDEX, "linux/arm64/v8", H2, NULL);
	select_from(OCI_INDEX, "linux/arm64", H2, NULL);
	/* variant defaulting: an arm64 entry without a variant is v8, arm without one is v7 */
	select_from(arm, "linux/arm64/v8", H3, NULL);
	select_from(arm7, "linux/arm/v7", H2, NULL);
	select_from(arm7, "linux/arm/v6", H1, NULL);
	/* arm/v7 falls back to the closest older variant */
	select_from(arm, "linux/arm/v7", H2, NULL);
	/* missing: the error lists what there is, without the attestation entry */
	select_from(OCI_INDEX, "linux/s390x", NULL,
	            "no manifest for linux/s390x in the index (it has linux/amd64, "
	            "linux/arm64/v8)");
}

static void test_index_select_more(void **state)
{
	const char *attest_first = "{\"schemaVersion\":2,\"manifests\":[" ENTRY(
	    H3, PLAT("unknown", "unknown")) "," ENTRY(H1, PLAT("linux", "amd64")) "]}";
	const char *only_attest =
	    "{\"schemaVersion\":2,\"manifests\":[" ENTRY(H3, PLAT("unknown", "unknown")) "]}";
	const char *no_plat = "{\"schemaVersion\":2,\"manifests\":[" ENTRY(H4, "") "]}";
	const char *arm =
	    "{\"schemaVersion\":2,\"manifests\":[" ENTRY(H1, PLATV("linux", "arm", "v5")) "]}";
	(void)state;
	/* attestation entries are skipped, even for unknown/unknown asked for */
	select_from(attest_first, "linux/amd64", H1, NULL);
	select_from(only_attest, "unknown/unknown", NULL,
	            "no manifest for unknown/unknown in the index (it has none)");
	/* an entry without a platform is the last resort */
	select_from(no_plat, "linux/riscv64", H4, NULL);
	/* amd64 microarchitecture levels: v3 runs v2 before v1 (an entry without a variant) */
	{
		const char *amd = "{\"schemaVersion\":2,\"manifests\":[" ENTRY(
		    H1, PLAT("linux",
		             "amd64")) "," ENTRY(H2, PLATV("linux", "amd64",
		                                           "v2")) "," ENTRY(H3,
		                                                            PLATV("linux", "amd64",
		                                                                  "v4")) "]}";

		select_from(amd, "linux/amd64/v3", H2, NULL);
		select_from(amd, "linux/amd64/v4", H3, NULL);
		select_from(amd, "linux/amd64", H1, NULL);
		select_from(amd, "linux/amd64/v1", H1, NULL);
	}
	/* an older variant never satisfies a newer want... and a newer never an older */
	select_from(arm, "linux/arm/v5", H1, NULL);
	{
		const char *v8 = "{\"schemaVersion\":2,\"manifests\":[" ENTRY(
		    H1, PLATV("linux", "arm", "v8")) "]}";

		select_from(v8, "linux/arm/v7", NULL,
		            "no manifest for linux/arm/v7 in the index (it has linux/arm/v8)");
	}
}

static void test_index_select_not_index(void **state)
{
	struct manifest m;
	struct platform w = plat("linux", "amd64", NULL);
	const struct descriptor *d;
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(manifest_parse(OCI_IMAGE, strlen(OCI_IMAGE), NULL, &m, &e), 0);
	assert_int_equal(index_select(&m, &w, &d, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	manifest_release(&m);
}

#define CONFIG_OK                                                                                  \
	"{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\","                         \
	"\"created\":\"2024-05-01T10:00:00.5Z\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"     \
	"[\"sha256:" H1 "\",\"sha256:" H2 "\"]},\"config\":{\"Env\":[\"PATH=/bin\",\"A=b\"],"      \
	"\"Entrypoint\":[\"/init\"],\"Cmd\":null,\"User\":\"1000:1000\",\"WorkingDir\":\"/srv\","  \
	"\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"Volumes\":{\"/data\":{}},"               \
	"\"Labels\":{\"maintainer\":\"x\",\"v\":\"1\"},\"StopSignal\":\"SIGQUIT\"},"               \
	"\"history\":[{\"created_by\":\"x\"}]}"

static void test_config(void **state)
{
	struct image_config c = {0};
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(image_config_parse(CONFIG_OK, strlen(CONFIG_OK), &c, &e), 0);
	assert_string_equal(c.platform.os, "linux");
	assert_string_equal(c.platform.arch, "arm64");
	assert_string_equal(c.platform.variant, "v8");
	assert_int_equal(c.created_ns, 1714557600LL * NSEC_PER_SEC + 500000000LL);
	assert_int_equal(c.n_diff_ids, 2);
	assert_string_equal(c.diff_ids[1].hex, H2);
	assert_string_equal(c.env[0], "PATH=/bin");
	assert_string_equal(c.env[1], "A=b");
	assert_null(c.env[2]);
	assert_string_equal(c.entrypoint[0], "/init");
	assert_null(c.cmd);
	assert_string_equal(c.user, "1000:1000");
	assert_string_equal(c.working_dir, "/srv");
	assert_string_equal(c.exposed_ports[0], "80/tcp");
	assert_string_equal(c.exposed_ports[1], "53/udp");
	assert_null(c.exposed_ports[2]);
	assert_string_equal(c.volumes[0], "/data");
	assert_string_equal(c.labels[0], "maintainer=x");
	assert_string_equal(c.labels[1], "v=1");
	assert_string_equal(c.stop_signal, "SIGQUIT");
	image_config_release(&c);
}

struct config_case {
	const char *what, *doc;
	int rc;
	const char *msg;
};

#define ROOTFS "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}"

static const struct config_case config_cases[] = {
    {"minimal", "{\"architecture\":\"amd64\",\"os\":\"linux\"," ROOTFS "}", 0, NULL},
    {"empty entrypoint is kept",
     "{\"architecture\":\"amd64\",\"os\":\"linux\"," ROOTFS ",\"config\":{\"Entrypoint\":[]}}", 0,
     NULL},
    {"reproducible epoch",
     "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":"
     "\"0001-01-01T00:00:00Z\"," ROOTFS "}",
     0, NULL},
    {"bad rootfs type",
     "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"snapshot\","
     "\"diff_ids\":[]}}",
     -1, "rootfs: field \"type\" is \"snapshot\", expected \"layers\""},
    {"rootfs missing", "{\"architecture\":\"amd64\",\"os\":\"linux\"}", -1,
     "rootfs: field \"rootfs\": missing"},
    {"diff_ids missing",
     "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}", -1,
     "field \"diff_ids\": missing"},
    {"bad diff_id",
     "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
     "\"diff_ids\":[\"sha256:" H1 "\",\"sha256:nothex\"]}}",
     -1, "diff_ids[1]: digest"},
    {"diff_id not a string",
     "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
     "\"diff_ids\":[1]}}",
     -1, "diff_ids[0]: expected a string"},
    {"os missing", "{\"architecture\":\"amd64\"," ROOTFS "}", -1, "field \"os\": missing"},
    {"bad created",
     "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"yesterday\"," ROOTFS "}", -1,
     "field \"created\""},
    {"env not strings",
     "{\"architecture\":\"amd64\",\"os\":\"linux\"," ROOTFS ",\"config\":{\"Env\":[\"A=1\",2]}}",
     -1, "config: field \"Env[1]\": expected a string"},
    {"cmd not an array",
     "{\"architecture\":\"amd64\",\"os\":\"linux\"," ROOTFS ",\"config\":{\"Cmd\":\"sh\"}}", -1,
     "config: field \"Cmd\": expected an array"},
    {"label not a string",
     "{\"architecture\":\"amd64\",\"os\":\"linux\"," ROOTFS ",\"config\":{\"Labels\":{\"a\":1}}}",
     -1, "config: field \"Labels\": \"a\": expected a string"},
    {"not json", "{", -1, "image config: json"},
};

static void test_config_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(config_cases); i++) {
		const struct config_case *k = &config_cases[i];
		struct image_config c = {.n_diff_ids = 777};
		struct err e = ERR_INIT;
		int rc = image_config_parse(k->doc, strlen(k->doc), &c, &e);

		if (rc != k->rc)
			fail_msg("%s: rc %d (%s)", k->what, rc, e.msg);
		if (rc < 0) {
			if (e.code != E_INVALID || !strstr(e.msg, k->msg))
				fail_msg("%s: code %d \"%s\", want \"%s\"", k->what, e.code, e.msg,
				         k->msg);
			assert_int_equal(c.n_diff_ids, 777);
			continue;
		}
		assert_int_equal(c.created_ns, 0);
		if (strstr(k->what, "empty entrypoint")) {
			assert_non_null(c.entrypoint);
			assert_null(c.entrypoint[0]);
		}
		image_config_release(&c);
	}
}

static void test_config_limit(void **state)
{
	struct image_config c;
	struct err e = ERR_INIT;
	(void)state;
	assert_int_equal(image_config_parse("{}", (size_t)CONFIG_MAX + 1, &c, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "limit 8388608"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_fields),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_accept),
	    cmocka_unit_test(test_layer_compression),
	    cmocka_unit_test(test_platform_parse),
	    cmocka_unit_test(test_platform_host),
	    cmocka_unit_test(test_platform_match),
	    cmocka_unit_test(test_index_select),
	    cmocka_unit_test(test_index_select_more),
	    cmocka_unit_test(test_index_select_not_index),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_config_cases),
	    cmocka_unit_test(test_config_limit),
	};
	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}

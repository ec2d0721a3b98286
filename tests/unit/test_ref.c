/* tests/unit/test_ref.c - image references (common/image/ref.h): the distribution grammar, docker's
 * normalisation, and the offline sources, valid and invalid, table-driven */
#include "tests/unit/unit.h"
#include "common/image/ref.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct valid_case {
	const char *in;
	const char *registry, *repository, *tag; /* tag NULL: none */
	bool digest;
	const char *name;
	const char *api; /* ref_api_reference */
};

static const struct valid_case valid[] = {
    /* docker's normalisation */
    {"busybox", "docker.io", "library/busybox", "latest", false, "docker.io/library/busybox:latest",
     "latest"},
    {"busybox:1.36", "docker.io", "library/busybox", "1.36", false,
     "docker.io/library/busybox:1.36", "1.36"},
    {"library/busybox", "docker.io", "library/busybox", "latest", false,
     "docker.io/library/busybox:latest", "latest"},
    {"docker.io/busybox", "docker.io", "library/busybox", "latest", false,
     "docker.io/library/busybox:latest", "latest"},
    {"index.docker.io/busybox", "docker.io", "library/busybox", "latest", false,
     "docker.io/library/busybox:latest", "latest"},
    {"registry-1.docker.io/library/alpine:3.20", "docker.io", "library/alpine", "3.20", false,
     "docker.io/library/alpine:3.20", "3.20"},
    {"bitnami/redis:7", "docker.io", "bitnami/redis", "7", false, "docker.io/bitnami/redis:7", "7"},
    {"docker.io/bitnami/redis", "docker.io", "bitnami/redis", "latest", false,
     "docker.io/bitnami/redis:latest", "latest"},
    /* other registries, ports, hosts */
    {"quay.io/coreos/etcd:v3.5.0", "quay.io", "coreos/etcd", "v3.5.0", false,
     "quay.io/coreos/etcd:v3.5.0", "v3.5.0"},
    {"ghcr.io/a/b/c/d", "ghcr.io", "a/b/c/d", "latest", false, "ghcr.io/a/b/c/d:latest", "latest"},
    {"localhost/app", "localhost", "app", "latest", false, "localhost/app:latest", "latest"},
    {"localhost:5000/a/b", "localhost:5000", "a/b", "latest", false, "localhost:5000/a/b:latest",
     "latest"},
    {"localhost:5000/a/b:1.0", "localhost:5000", "a/b", "1.0", false, "localhost:5000/a/b:1.0",
     "1.0"},
    {"127.0.0.1:5000/x", "127.0.0.1:5000", "x", "latest", false, "127.0.0.1:5000/x:latest",
     "latest"},
    {"Registry.Example.com/x", "Registry.Example.com", "x", "latest", false,
     "Registry.Example.com/x:latest", "latest"},
    {"my-registry.local:443/team/app:prod", "my-registry.local:443", "team/app", "prod", false,
     "my-registry.local:443/team/app:prod", "prod"},
    {"[::1]:5000/app:1", "[::1]:5000", "app", "1", false, "[::1]:5000/app:1", "1"},
    {"[2001:db8::1]/app", "[2001:db8::1]", "app", "latest", false, "[2001:db8::1]/app:latest",
     "latest"},
    /* "localhost:5000" alone is the image localhost with tag 5000, as docker reads it */
    {"localhost:5000", "docker.io", "library/localhost", "5000", false,
     "docker.io/library/localhost:5000", "5000"},
    /* digests */
    {"busybox@sha256:" D64, "docker.io", "library/busybox", NULL, true,
     "docker.io/library/busybox@sha256:" D64, "sha256:" D64},
    {"localhost:5000/a/b@sha256:" D64, "localhost:5000", "a/b", NULL, true,
     "localhost:5000/a/b@sha256:" D64, "sha256:" D64},
    {"localhost:5000/a/b:1.0@sha256:" D64, "localhost:5000", "a/b", "1.0", true,
     "localhost:5000/a/b:1.0@sha256:" D64, "sha256:" D64},
    {"docker://quay.io/a/b:1", "quay.io", "a/b", "1", false, "quay.io/a/b:1", "1"},
    /* separators */
    {"a/b.c_d__e-f---g0", "docker.io", "a/b.c_d__e-f---g0", "latest", false,
     "docker.io/a/b.c_d__e-f---g0:latest", "latest"},
    {"x:_Tag.With-Chars", "docker.io", "library/x", "_Tag.With-Chars", false,
     "docker.io/library/x:_Tag.With-Chars", "_Tag.With-Chars"},
};

struct invalid_case {
	const char *in;
	enum err_code code;
	const char *msg; /* substring of the message */
};

static const struct invalid_case invalid[] = {
    {"", E_INVALID, "invalid reference format: empty reference"},
    {"Busybox", E_INVALID, "invalid reference format: repository name must be lowercase"},
    {"docker.io/Library/busybox", E_INVALID, "repository name must be lowercase"},
    {"localhost:5000/A", E_INVALID, "repository name must be lowercase"},
    {"a..b", E_INVALID, "separator"},
    {"a___b", E_INVALID, "separator"},
    {"a-_b", E_INVALID, "separator"},
    {"-ab", E_INVALID, "separator"},
    {"ab-", E_INVALID, "separator"},
    {"ab.", E_INVALID, "separator"},
    {"a//b", E_INVALID, "empty component"},
    {"a/", E_INVALID, "empty component"},
    {"/a", E_INVALID, "empty component"},
    {"quay.io/", E_INVALID, "empty component"},
    {"a$b", E_INVALID, "invalid character '$'"},
    {"busybox:", E_INVALID, "empty tag"},
    {"busybox:.x", E_INVALID, "tag \".x\" must start"},
    {"busybox:a/b", E_INVALID, "invalid reference format"},
    {"busybox:a+b", E_INVALID, "tag contains an invalid character '+'"},
    {":tag", E_INVALID, "missing repository name"},
    {"@sha256:" D64, E_INVALID, "missing repository name"},
    {"busybox@", E_INVALID, "bad digest"},
    {"busybox@sha256:abc", E_INVALID, "invalid reference format: bad digest: "},
    {"busybox@sha256:" D64 "0", E_INVALID, "bad digest"},
    {"busybox@sha512:" D64 D64, E_UNSUPPORTED, "bad digest"},
    {"busybox@md5:abcd", E_UNSUPPORTED, "only sha256"},
    {"busybox@sha256:" D64 "@x", E_INVALID, "bad digest"},
    {"localhost:0/a", E_INVALID, "port must be a number from 1 to 65535"},
    {"localhost:65536/a", E_INVALID, "port"},
    {"localhost:50a0/a", E_INVALID, "port"},
    {"-bad.io/a", E_INVALID, "not a valid host name"},
    {"bad-.io/a", E_INVALID, "not a valid host name"},
    {"bad..io/a", E_INVALID, "not a valid host name"},
    {"[::1/a", E_INVALID, "bad IPv6 address"},
    {"[]/a", E_INVALID, "bad IPv6 address"},
    {"[zz::1]/a", E_INVALID, "bad IPv6 address"},
    {"[::1]x/a", E_INVALID, "not a valid host name"},
    {"bu sybox", E_INVALID, "contains a space"},
    {D64, E_INVALID, "64 hexadecimal characters"},
    {"docker://", E_INVALID, "empty reference"},
    {"docker://oci:/x", E_INVALID, "invalid reference format"},
    {"caf\xc3\xa9", E_INVALID, "non-ASCII"},
    {"oci:", E_INVALID, "oci needs a path"},
    {"oci-archive:", E_INVALID, "oci-archive needs a path"},
    {"docker-archive:", E_INVALID, "docker-archive needs a path"},
    {"oci::tag", E_INVALID, "needs a path"},
    {"oci:dir:", E_INVALID, "empty tag after the path"},
    {"docker-archive:x.tar:", E_INVALID, "empty reference after the path"},
};

static void test_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(valid); i++) {
		const struct valid_case *c = &valid[i];
		struct image_ref r;
		struct err e = ERR_INIT;

		if (ref_parse(c->in, &r, &e) != 0)
			fail_msg("%s: %s", c->in, e.msg);
		assert_int_equal(r.kind, REF_REGISTRY);
		assert_string_equal(r.registry, c->registry);
		assert_string_equal(r.repository, c->repository);
		if (c->tag)
			assert_string_equal(r.tag, c->tag);
		else
			assert_null(r.tag);
		assert_int_equal(r.has_digest, c->digest);
		if (c->digest)
			assert_string_equal(r.digest.hex, D64);
		if (c->name)
			assert_string_equal(r.name, c->name);
		if (c->api)
			assert_string_equal(ref_api_reference(&r), c->api);
		assert_null(r.path);
		ref_release(&r);
	}
}

static void test_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
		const struct invalid_case *c = &invalid[i];
		struct image_ref r = {.name = (char *)"untouched"};
		struct err e = ERR_INIT;

		if (ref_parse(c->in, &r, &e) != -1)
			fail_msg("\"%s\" parsed as %s", c->in, r.name);
		if (e.code != c->code || !strstr(e.msg, c->msg))
			fail_msg("\"%s\": got code %d \"%s\", want %d \"%s\"", c->in, e.code, e.msg,
			         c->code, c->msg);
		assert_string_equal(r.name, "untouched"); /* *out written only on success */
	}
}

static void test_name_length(void **state)
{
	struct image_ref r;
	struct err e = ERR_INIT;
	char s[400];
	(void)state;
	/* "docker.io/" + "library/" + 237 = 255: the limit counts the normalised name */
	memset(s, 'a', 237);
	s[237] = '\0';
	assert_int_equal(ref_parse(s, &r, &e), 0);
	assert_int_equal(strlen(r.registry) + 1 + strlen(r.repository), 255);
	ref_release(&r);
	s[237] = 'a';
	s[238] = '\0';
	assert_int_equal(ref_parse(s, &r, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "repository name must not be more than 255 characters"));
	/* a tag of 128 characters is fine, 129 is not */
	memcpy(s, "x:", 2);
	memset(s + 2, 't', 128);
	s[130] = '\0';
	assert_int_equal(ref_parse(s, &r, &e), 0);
	assert_int_equal(strlen(r.tag), 128);
	ref_release(&r);
	s[130] = 't';
	s[131] = '\0';
	assert_int_equal(ref_parse(s, &r, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_string_equal(e.msg, "invalid reference format: tag is longer than 128 characters");
	/* over REF_MAX_LEN */
	{
		char *big = xmalloc(REF_MAX_LEN + 2);

		memset(big, 'a', REF_MAX_LEN + 1);
		big[REF_MAX_LEN + 1] = '\0';
		assert_int_equal(ref_parse(big, &r, &e), -1);
		assert_non_null(strstr(e.msg, "longer than 4096"));
		free(big);
	}
}

struct offline_case {
	const char *in;
	enum ref_kind kind;
	const char *path, *path_ref;
};

static const struct offline_case offline[] = {
    {"oci:/var/tmp/layout", REF_OCI_LAYOUT, "/var/tmp/layout", NULL},
    {"oci:/var/tmp/layout:v1.0", REF_OCI_LAYOUT, "/var/tmp/layout", "v1.0"},
    {"oci:./rel", REF_OCI_LAYOUT, "./rel", NULL},
    /* what follows the last ':' is no tag (has a '/'), so it is all path */
    {"oci:/mnt/a:b/layout", REF_OCI_LAYOUT, "/mnt/a:b/layout", NULL},
    {"oci:/mnt/a:b/layout:t", REF_OCI_LAYOUT, "/mnt/a:b/layout", "t"},
    /* '+' is not a tag character */
    {"oci:dir:a+b", REF_OCI_LAYOUT, "dir:a+b", NULL},
    {"oci-archive:/tmp/img.tar", REF_OCI_ARCHIVE, "/tmp/img.tar", NULL},
    {"oci-archive:/tmp/img.tar:latest", REF_OCI_ARCHIVE, "/tmp/img.tar", "latest"},
    {"docker-archive:/tmp/busybox.tar", REF_DOCKER_ARCHIVE, "/tmp/busybox.tar", NULL},
    {"docker-archive:/tmp/busybox.tar:busybox:1.36", REF_DOCKER_ARCHIVE, "/tmp/busybox.tar",
     "busybox:1.36"},
    {"docker-archive:/tmp/busybox.tar:busybox", REF_DOCKER_ARCHIVE, "/tmp/busybox.tar", "busybox"},
    {"docker-archive:/backup/10:00:00/x.tar", REF_DOCKER_ARCHIVE, "/backup/10:00:00/x.tar", NULL},
};

static void test_offline(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(offline); i++) {
		const struct offline_case *c = &offline[i];
		struct image_ref r;
		struct err e = ERR_INIT;

		if (ref_parse(c->in, &r, &e) != 0)
			fail_msg("%s: %s", c->in, e.msg);
		assert_int_equal(r.kind, c->kind);
		assert_string_equal(r.path, c->path);
		if (c->path_ref) {
			assert_non_null(r.path_ref);
			assert_string_equal(r.path_ref, c->path_ref);
		} else if (r.path_ref) {
			fail_msg("%s: unexpected path_ref %s", c->in, r.path_ref);
		}
		assert_string_equal(r.name, c->in);
		assert_null(r.registry);
		ref_release(&r);
	}
}

static void test_registry_host(void **state)
{
	(void)state;
	assert_string_equal(ref_registry_host("docker.io"), "registry-1.docker.io");
	assert_string_equal(ref_registry_host("index.docker.io"), "registry-1.docker.io");
	assert_string_equal(ref_registry_host("localhost:5000"), "localhost:5000");
	assert_string_equal(ref_registry_host("[::1]:5000"), "[::1]:5000");
	assert_string_equal(ref_registry_host("quay.io"), "quay.io");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),         cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_name_length),   cmocka_unit_test(test_offline),
	    cmocka_unit_test(test_registry_host),
	};
	return cmocka_run_group_tests_name("ref", tests, NULL, NULL);
}

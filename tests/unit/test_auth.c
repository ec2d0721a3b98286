/* tests/unit/test_auth.c - registry credentials and challenges (common/image/auth.h): docker
 * config.json lookups, WWW-Authenticate parsing and token responses, table-driven where it
 * fits. The client that uses them is exercised against a fake registry in test_registry.c. */
#include "tests/unit/unit.h"
#include "common/image/auth.h"

struct challenge_case {
	const char *in;
	const char *realm, *service, *scope;
	enum auth_scheme scheme;
	enum err_code err;
};

static const struct challenge_case challenges[] = {
    {"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
     "scope=\"repository:library/busybox:pull\"",
     "https://auth.docker.io/token", "registry.docker.io", "repository:library/busybox:pull",
     AUTH_BEARER, E_OK},
    {"bearer  realm = \"https://r/t\" , service=svc", "https://r/t", "svc", NULL, AUTH_BEARER,
     E_OK},
    {"Basic realm=\"Registry Realm\"", "Registry Realm", NULL, NULL, AUTH_BASIC, E_OK},
    {"Basic realm=\"a\", Bearer realm=\"https://r/t\",service=\"s\\\"q\"", "https://r/t", "s\"q",
     NULL, AUTH_BEARER, E_OK},
    {"Negotiate abc==, Basic realm=x", "x", NULL, NULL, AUTH_BASIC, E_OK},
    {"Bearer service=\"s\"", NULL, NULL, NULL, AUTH_NONE, E_INVALID},
    {"Bearer realm=\"unterminated", NULL, NULL, NULL, AUTH_NONE, E_INVALID},
    {"Negotiate", NULL, NULL, NULL, AUTH_NONE, E_UNSUPPORTED},
    {"", NULL, NULL, NULL, AUTH_NONE, E_UNSUPPORTED},
};

static void assert_str_or_null(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void test_challenges(void **state)
{
	struct err e = ERR_INIT;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(challenges); i++) {
		const struct challenge_case *t = &challenges[i];
		struct auth_challenge ch;
		int rc = auth_challenge_parse(t->in, &ch, &e);

		if (t->err != E_OK) {
			assert_int_equal(rc, -1);
			assert_int_equal(e.code, t->err);
			continue;
		}
		if (rc < 0)
			fail_msg("%s: %s", t->in, e.msg);
		assert_int_equal(ch.scheme, t->scheme);
		assert_str_or_null(ch.realm, t->realm);
		assert_str_or_null(ch.service, t->service);
		assert_str_or_null(ch.scope, t->scope);
		auth_challenge_release(&ch);
	}
}

static char *write_str(struct unit_env *u, const char *name, const char *s)
{
	char *p = xasprintf("%s/%s", u->dir, name);
	struct err e = ERR_INIT;

	assert_int_equal(fs_write_atomic(p, s, strlen(s), 0644, 0, &e), 0);
	return p;
}

static void test_creds(void **state)
{
	struct unit_env *u = unit_env_new();
	cleanup_free char *p1 = NULL, *p2 = NULL, *p3 = NULL, *basic = NULL;
	const char *files[3] = {NULL, NULL, NULL};
	struct auth_creds c;
	struct err e = ERR_INIT;
	(void)state;

	/* docker.io under its v1 URL, username/password entries, helpers ignored. */
	p1 = write_str(u, "c1.json",
	               "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dTpwOng=\"},"
	               "\"localhost:5000\":{\"username\":\"v\",\"password\":\"w\"}},"
	               "\"credHelpers\":{\"gcr.io\":\"gcloud\"}}");
	files[0] = "/nonexistent/config.json"; /* the first existing file wins */
	files[1] = p1;
	assert_int_equal(auth_creds_lookup(&u->ctx, "docker.io", files, &c, &e), 0);
	assert_string_equal(c.user, "u");
	assert_string_equal(c.pass, "p:x");
	basic = auth_basic_value(&c);
	assert_string_equal(basic, "Basic dTpwOng=");
	auth_creds_release(&c);
	assert_int_equal(auth_creds_lookup(&u->ctx, "localhost:5000", files, &c, &e), 0);
	assert_string_equal(c.user, "v");
	assert_string_equal(c.pass, "w");
	auth_creds_release(&c);
	/* No entry, and no file at all: no credentials, no error. */
	assert_int_equal(auth_creds_lookup(&u->ctx, "quay.io", files, &c, &e), 0);
	assert_null(c.user);
	assert_int_equal(auth_creds_lookup(&u->ctx, "quay.io", NULL, &c, &e), 0);
	assert_null(c.user);
	/* Malformed: an "auth" that is not base64 of user:password, a truncated file. */
	p2 = write_str(u, "c2.json", "{\"auths\":{\"quay.io\":{\"auth\":\"!!!!\"}}}");
	files[1] = p2;
	assert_int_equal(auth_creds_lookup(&u->ctx, "quay.io", files, &c, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_non_null(strstr(e.msg, "c2.json"));
	p3 = write_str(u, "c3.json", "{\"auths\":");
	files[1] = p3;
	assert_int_equal(auth_creds_lookup(&u->ctx, "quay.io", files, &c, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	/* --creds */
	assert_int_equal(auth_creds_parse("nocolon", &c, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_int_equal(auth_creds_parse(":pw", &c, &e), -1);
	assert_int_equal(auth_creds_parse("a:b:c", &c, &e), 0);
	assert_string_equal(c.user, "a");
	assert_string_equal(c.pass, "b:c");
	auth_creds_release(&c);
	unit_env_free(u);
}

static int token_parse(const char *s, char **tok, int64_t *ttl, struct err *e)
{
	return auth_token_parse(s, strlen(s), tok, ttl, e);
}

static void test_tokens(void **state)
{
	cleanup_free char *tok = NULL;
	int64_t ttl = 0;
	struct err e = ERR_INIT;
	(void)state;

	assert_int_equal(token_parse("{\"access_token\":\"A\",\"token\":\"\"}", &tok, &ttl, &e), 0);
	assert_string_equal(tok, "A");
	assert_int_equal(ttl, AUTH_DEFAULT_TTL);
	freep(&tok);
	assert_int_equal(token_parse("{\"token\":\"T\",\"expires_in\":300}", &tok, &ttl, &e), 0);
	assert_string_equal(tok, "T");
	assert_int_equal(ttl, 300);
	freep(&tok);
	assert_int_equal(token_parse("{\"token\":\"T\",\"expires_in\":-5}", &tok, &ttl, &e), 0);
	assert_int_equal(ttl, AUTH_DEFAULT_TTL);
	freep(&tok);
	assert_int_equal(token_parse("{\"expires_in\":300}", &tok, &ttl, &e), -1);
	assert_int_equal(e.code, E_INVALID);
	assert_int_equal(token_parse("[]", &tok, &ttl, &e), -1);
	assert_int_equal(token_parse("not json", &tok, &ttl, &e), -1);
	assert_null(tok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_challenges),
	    cmocka_unit_test(test_creds),
	    cmocka_unit_test(test_tokens),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}

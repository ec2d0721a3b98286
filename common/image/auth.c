/* common/image/auth.c - registry credentials and challenges (DESIGN.md "pull": token and basic
 * auth from docker's config.json). Base64 is OpenSSL's; JSON is json-c through jsonio. */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/image/auth.h"
#include "common/util/fs.h"
#include "common/util/jsonio.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define CHALLENGE_MAX 8192 /* bytes of WWW-Authenticate considered */

int auth_creds_parse(const char *userpass, struct auth_creds *out, struct err *e)
{
	const char *colon = strchr(userpass, ':');

	if (!colon || colon == userpass)
		return err_set(e, E_INVALID, "credentials must be USER:PASSWORD");
	out->user = xstrndup(userpass, (size_t)(colon - userpass));
	out->pass = xstrdup(colon + 1);
	return 0;
}

void auth_creds_release(struct auth_creds *c)
{
	if (!c)
		return;
	if (c->pass)
		memset(c->pass, 0, strlen(c->pass));
	free(c->user);
	free(c->pass);
	c->user = c->pass = NULL;
}

char *auth_basic_value(const struct auth_creds *c)
{
	cleanup_free char *plain =
	    xasprintf("%s:%s", c->user ? c->user : "", c->pass ? c->pass : "");
	size_t n = strlen(plain);
	char *out = xmalloc(6 + 4 * ((n + 2) / 3) + 1);

	strcpy(out, "Basic ");
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)plain, (int)n);
	memset(plain, 0, n);
	return out;
}

/* Decodes a config.json "auth" value (base64 of user:password) into creds. */
static int creds_from_auth(const char *b64, struct auth_creds *out, struct err *e)
{
	size_t n = strlen(b64), pad = 0;
	cleanup_free char *plain = NULL;
	int got;

	if (n == 0 || n % 4 != 0 || n > 16384)
		return err_set(e, E_INVALID, "\"auth\" is not base64 of user:password");
	plain = xmalloc(n / 4 * 3 + 1);
	got = EVP_DecodeBlock((unsigned char *)plain, (const unsigned char *)b64, (int)n);
	if (got < 0)
		return err_set(e, E_INVALID, "\"auth\" is not base64 of user:password");
	while (pad < 2 && b64[n - 1 - pad] == '=')
		pad++;
	plain[(size_t)got - pad] = '\0';
	if (strlen(plain) != (size_t)got - pad) {
		memset(plain, 0, (size_t)got);
		return err_set(e, E_INVALID, "\"auth\" is not base64 of user:password");
	}
	got = auth_creds_parse(plain, out, e);
	memset(plain, 0, strlen(plain));
	if (got < 0)
		return err_set(e, E_INVALID, "\"auth\" is not base64 of user:password");
	return 0;
}

/* The host part of an "auths" key: "https://index.docker.io/v1/" -> "index.docker.io". */
static char *auths_key_host(const char *key)
{
	const char *s = key;
	size_t n;

	if (strncasecmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		s += 7;
	n = strcspn(s, "/");
	return xstrndup(s, n);
}

static bool is_docker_hub(const char *host)
{
	return strcasecmp(host, "docker.io") == 0 || strcasecmp(host, "index.docker.io") == 0 ||
	       strcasecmp(host, "registry-1.docker.io") == 0;
}

static bool auths_key_matches(const char *key, const char *registry, bool exact)
{
	cleanup_free char *host = NULL;

	if (exact)
		return strcmp(key, registry) == 0 ||
		       (is_docker_hub(registry) && strcmp(key, "https://index.docker.io/v1/") == 0);
	host = auths_key_host(key);
	if (is_docker_hub(registry))
		return is_docker_hub(host);
	return strcasecmp(host, registry) == 0;
}

static int creds_from_entry(const struct ctx *ctx, struct json_object *entry,
                            struct auth_creds *out, struct err *e)
{
	const char *auth = NULL, *user = NULL, *pass = NULL, *idt = NULL;

	if (!json_object_is_type(entry, json_type_object))
		return err_set(e, E_INVALID, "an \"auths\" entry is not an object");
	if (jsonio_get_str(entry, "auth", false, &auth, e) < 0 ||
	    jsonio_get_str(entry, "username", false, &user, e) < 0 ||
	    jsonio_get_str(entry, "password", false, &pass, e) < 0 ||
	    jsonio_get_str(entry, "identitytoken", false, &idt, e) < 0)
		return -1;
	if (idt && *idt)
		log_debug(ctx, "auth: identitytoken is not supported, ignored");
	if (auth && *auth)
		return creds_from_auth(auth, out, e);
	if (user && *user) {
		out->user = xstrdup(user);
		out->pass = xstrdup(pass ? pass : "");
	}
	return 0;
}

int auth_creds_lookup(const struct ctx *ctx, const char *registry, const char *const *files,
                      struct auth_creds *out, struct err *e)
{
	struct auth_creds c = {NULL, NULL};
	const char *path = NULL;
	cleanup_free char *data = NULL;
	cleanup_json struct json_object *doc = NULL;
	struct json_object *auths = NULL;
	size_t len = 0;

	for (size_t i = 0; files && files[i]; i++) {
		if (fs_exists(files[i])) {
			path = files[i];
			break;
		}
	}
	if (!path) {
		*out = c;
		return 0;
	}
	if (fs_read_file(path, AUTH_FILE_MAX, &data, &len, e) < 0)
		return err_wrap(e, "%s", path);
	if (jsonio_parse(data, len, &doc, e) < 0)
		return err_wrap(e, "%s", path);
	if (!json_object_is_type(doc, json_type_object))
		return err_set(e, E_INVALID, "%s: not a JSON object", path);
	if (jsonio_get_obj(doc, "auths", false, &auths, e) < 0)
		return err_wrap(e, "%s", path);
	if (json_object_object_get_ex(doc, "credHelpers", NULL) ||
	    json_object_object_get_ex(doc, "credsStore", NULL))
		log_debug(ctx, "auth: %s: credHelpers and credsStore are not supported, ignored",
		          path);
	for (int pass = 0; auths && pass < 2 && !c.user; pass++) {
		json_object_object_foreach(auths, key, val)
		{
			if (!auths_key_matches(key, registry, pass == 0))
				continue;
			if (creds_from_entry(ctx, val, &c, e) < 0)
				return err_wrap(e, "%s: auths \"%s\"", path, key);
			if (c.user) {
				log_debug(ctx, "auth: credentials for %s from %s (\"%s\")",
				          registry, path, key);
				break;
			}
		}
	}
	*out = c;
	return 0;
}

static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token or quoted-string value at *pp into out (the caller frees); advances *pp. Unquoted
 * values run to the next ',' or blank, as some servers send bare URLs. */
static int challenge_value(const char **pp, char **out, struct err *e)
{
	const char *p = *pp;
	cleanup_free char *v = xmalloc(strlen(p) + 1);
	size_t n = 0;

	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			v[n++] = *p;
		}
		if (*p != '"')
			return err_set(e, E_INVALID, "unterminated quoted string");
		p++;
	} else {
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			v[n++] = *p++;
	}
	v[n] = '\0';
	*out = TAKE_PTR(v);
	*pp = p;
	return 0;
}

void auth_challenge_release(struct auth_challenge *c)
{
	if (!c)
		return;
	free(c->realm);
	free(c->service);
	free(c->scope);
	c->realm = c->service = c->scope = NULL;
	c->scheme = AUTH_NONE;
}

int auth_challenge_parse(const char *value, struct auth_challenge *out, struct err *e)
{
	struct auth_challenge bearer = {AUTH_NONE, NULL, NULL, NULL};
	struct auth_challenge basic = {AUTH_NONE, NULL, NULL, NULL};
	struct auth_challenge *cur = NULL; /* the challenge whose params we are reading, if kept */
	bool seen_bearer = false, seen_basic = false;
	const char *p = value;

	if (strlen(value) > CHALLENGE_MAX) {
		err_set(e, E_INVALID, "WWW-Authenticate is longer than %d bytes", CHALLENGE_MAX);
		return -1;
	}
	for (;;) {
		const char *tok;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		tok = p;
		while (is_tchar(*p))
			p++;
		n = (size_t)(p - tok);
		if (n == 0) {
			err_set(e, E_INVALID, "WWW-Authenticate: unexpected '%c'", *p);
			goto fail;
		}
		p = skip_ws(p);
		if (*p == '=' && p[1] != '=') {
			cleanup_free char *name = xstrndup(tok, n);
			char *val = NULL;

			p = skip_ws(p + 1);
			if (challenge_value(&p, &val, e) < 0) {
				err_wrap(e, "WWW-Authenticate");
				goto fail;
			}
			if (cur && strcasecmp(name, "realm") == 0 && !cur->realm)
				cur->realm = val;
			else if (cur && strcasecmp(name, "service") == 0 && !cur->service)
				cur->service = val;
			else if (cur && strcasecmp(name, "scope") == 0 && !cur->scope)
				cur->scope = val;
			else
				free(val);
			continue;
		}
		if (*p == '=') { /* token68 padding: belongs to an unknown scheme; skip it */
			while (*p == '=')
				p++;
			continue;
		}
		/* A new challenge: keep the first Bearer and the first Basic. */
		cur = NULL;
		if (n == 6 && strncasecmp(tok, "bearer", 6) == 0 && !seen_bearer) {
			seen_bearer = true;
			bearer.scheme = AUTH_BEARER;
			cur = &bearer;
		} else if (n == 5 && strncasecmp(tok, "basic", 5) == 0 && !seen_basic) {
			seen_basic = true;
			basic.scheme = AUTH_BASIC;
			cur = &basic;
		}
	}
	if (seen_bearer && bearer.realm && *bearer.realm) {
		auth_challenge_release(&basic);
		*out = bearer;
		return 0;
	}
	if (seen_basic) {
		auth_challenge_release(&bearer);
		*out = basic;
		return 0;
	}
	if (seen_bearer)
		err_set(e, E_INVALID, "WWW-Authenticate: Bearer challenge without a realm");
	else
		err_set(e, E_UNSUPPORTED,
		        "WWW-Authenticate: no Bearer or Basic challenge in \"%.80s\"", value);
fail:
	auth_challenge_release(&bearer);
	auth_challenge_release(&basic);
	return -1;
}

int auth_token_parse(const char *body, size_t len, char **token, int64_t *expires_in_s,
                     struct err *e)
{
	cleanup_json struct json_object *doc = NULL;
	struct json_object *v = NULL;
	const char *tok = NULL;
	int64_t ttl = AUTH_DEFAULT_TTL;

	if (jsonio_parse(body, len, &doc, e) < 0)
		return err_wrap(e, "token response");
	if (!json_object_is_type(doc, json_type_object))
		return err_set(e, E_INVALID, "token response: not a JSON object");
	if (json_object_object_get_ex(doc, "token", &v) &&
	    json_object_is_type(v, json_type_string) && *json_object_get_string(v))
		tok = json_object_get_string(v);
	else if (json_object_object_get_ex(doc, "access_token", &v) &&
	         json_object_is_type(v, json_type_string) && *json_object_get_string(v))
		tok = json_object_get_string(v);
	if (!tok)
		return err_set(e, E_INVALID, "token response: no \"token\" or \"access_token\"");
	if (json_object_object_get_ex(doc, "expires_in", &v) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
		int64_t s = json_object_get_int64(v);

		if (s > 0)
			ttl = s;
	}
	*token = xstrdup(tok);
	*expires_in_s = ttl;
	return 0;
}

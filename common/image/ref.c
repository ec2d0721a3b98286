/* common/image/ref.c - image references: the distribution reference grammar with docker's
 * normalisation (docker.io, library/, :latest), and the offline sources oci:, oci-archive: and
 * docker-archive: (DESIGN.md "pull"). Pure parsing: no I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/image/ref.h"
#include "common/util/mem.h"

#define BAD               "invalid reference format: "
#define REF_NAME_MAX      255 /* docker's NameTotalLengthMax: registry "/" repository */
#define REF_TAG_MAX       128
#define REF_COMPONENT_MAX 80 /* only bounds how much of a bad component an error quotes */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c)
{
	return is_alnum(c) || c == '_';
}

static bool is_xdigit_any(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A tag: [\w][\w.-]{0,127}. e may be NULL when the caller only asks whether it is one. */
static int check_tag(const char *t, size_t n, struct err *e)
{
	struct err scratch = ERR_INIT;

	if (!e)
		e = &scratch;
	if (n == 0)
		return err_set(e, E_INVALID, BAD "empty tag");
	if (n > REF_TAG_MAX)
		return err_set(e, E_INVALID, BAD "tag is longer than %d characters", REF_TAG_MAX);
	if (!is_word(t[0]))
		return err_set(e, E_INVALID,
		               BAD "tag \"%.*s\" must start with a letter, digit or '_'",
		               (int)(n < REF_COMPONENT_MAX ? n : REF_COMPONENT_MAX), t);
	for (size_t i = 1; i < n; i++)
		if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
			return err_set(e, E_INVALID, BAD "tag contains an invalid character '%c'",
			               t[i]);
	return 0;
}

/* host[:port], host a domain name (components [a-zA-Z0-9] or [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 * joined by '.') or a bracketed IPv6 address. */
static int check_domain(const char *d, size_t n, struct err *e)
{
	size_t i = 0;
	int shown = (int)(n < REF_COMPONENT_MAX ? n : REF_COMPONENT_MAX);

	if (d[0] == '[') {
		const char *close = memchr(d, ']', n);
		bool colon = false;

		if (!close || close == d + 1)
			return err_set(e, E_INVALID, BAD "registry host \"%.*s\": bad IPv6 address",
			               shown, d);
		for (const char *p = d + 1; p < close; p++) {
			if (*p == ':')
				colon = true;
			else if (!is_xdigit_any(*p))
				return err_set(e, E_INVALID,
				               BAD "registry host \"%.*s\": bad IPv6 address",
				               shown, d);
		}
		if (!colon)
			return err_set(e, E_INVALID, BAD "registry host \"%.*s\": bad IPv6 address",
			               shown, d);
		i = (size_t)(close - d) + 1;
	} else {
		for (;;) {
			size_t start = i;

			while (i < n && (is_alnum(d[i]) || d[i] == '-'))
				i++;
			if (i == start || d[start] == '-' || d[i - 1] == '-')
				return err_set(e, E_INVALID,
				               BAD
				               "registry host \"%.*s\" is not a valid host name",
				               shown, d);
			if (i < n && d[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	if (i == n)
		return 0;
	if (d[i] != ':')
		return err_set(e, E_INVALID, BAD "registry host \"%.*s\" is not a valid host name",
		               shown, d);
	i++;
	{
		size_t start = i;
		long port = 0;

		while (i < n && d[i] >= '0' && d[i] <= '9' && i - start < 6)
			port = port * 10 + (d[i++] - '0');
		if (i == start || i != n || port < 1 || port > 65535)
			return err_set(
			    e, E_INVALID,
			    BAD "registry host \"%.*s\": port must be a number from 1 to 65535",
			    shown, d);
	}
	return 0;
}

/* path-component ['/' path-component]*, each [a-z0-9]+ joined by '.', '_', '__' or '-'+. */
static int check_path(const char *p, struct err *e)
{
	for (const char *c = p; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			return err_set(e, E_INVALID, BAD "repository name must be lowercase");
	for (const char *c = p;;) {
		const char *start = c;
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		int shown = (int)(n < REF_COMPONENT_MAX ? n : REF_COMPONENT_MAX);

		if (n == 0)
			return err_set(e, E_INVALID, BAD "repository name has an empty component");
		for (size_t i = 0; i < n;) {
			size_t run = i;

			while (i < n && is_lower_alnum(start[i]))
				i++;
			if (i == run) {
				if (start[i] == '.' || start[i] == '_' || start[i] == '-')
					return err_set(e, E_INVALID,
					               BAD
					               "repository name component \"%.*s\": a "
					               "separator ('.', '_', '__' or '-') must sit "
					               "between letters or digits",
					               shown, start);
				return err_set(e, E_INVALID,
				               BAD
				               "repository name contains an invalid character '%c'",
				               start[i]);
			}
			if (i == n)
				break;
			if (start[i] == '.') {
				i++;
			} else if (start[i] == '_') {
				i++;
				if (i < n && start[i] == '_')
					i++;
			} else if (start[i] == '-') {
				while (i < n && start[i] == '-')
					i++;
			} else {
				return err_set(e, E_INVALID,
				               BAD
				               "repository name contains an invalid character '%c'",
				               start[i]);
			}
			if (i == n || !is_lower_alnum(start[i]))
				return err_set(
				    e, E_INVALID,
				    BAD "repository name component \"%.*s\": a separator "
				        "('.', '_', '__' or '-') must sit between letters or "
				        "digits",
				    shown, start);
		}
		if (!end)
			return 0;
		c = end + 1;
	}
}

static bool is_docker_hub(const char *d, size_t n)
{
	static const char *const hub[] = {"docker.io", "index.docker.io", "registry-1.docker.io"};

	for (size_t i = 0; i < ARRAY_SIZE(hub); i++)
		if (strlen(hub[i]) == n && strncasecmp(d, hub[i], n) == 0)
			return true;
	return false;
}

static int parse_registry(const char *s, struct image_ref *out, struct err *e)
{
	struct image_ref r = {.kind = REF_REGISTRY};
	const char *at = strchr(s, '@');
	const char *name_end = at ? at : s + strlen(s);
	const char *slash = NULL, *colon = NULL, *first_slash;
	cleanup_free char *name = NULL;
	cleanup_free char *tag = NULL;
	const char *path;
	size_t hex = 0;

	if (strlen(s) == DIGEST_HEX_LEN) {
		while (hex < DIGEST_HEX_LEN &&
		       ((s[hex] >= '0' && s[hex] <= '9') || (s[hex] >= 'a' && s[hex] <= 'f')))
			hex++;
		if (hex == DIGEST_HEX_LEN)
			return err_set(e, E_INVALID,
			               BAD "a repository name cannot be 64 hexadecimal characters "
			                   "(an image ID?)");
	}
	if (at) {
		if (at[1] == '\0')
			return err_set(e, E_INVALID, BAD "bad digest: empty digest after '@'");
		if (digest_parse(at + 1, &r.digest, e) < 0)
			return err_wrap(e, BAD "bad digest");
		r.has_digest = true;
	}
	for (const char *c = s; c < name_end; c++) {
		if (*c == '/')
			slash = c;
		else if (*c == ':')
			colon = c;
	}
	if (colon && slash && colon < slash)
		colon = NULL; /* a registry port, not a tag */
	if (colon) {
		if (check_tag(colon + 1, (size_t)(name_end - colon - 1), e) < 0)
			return -1;
		tag = xstrndup(colon + 1, (size_t)(name_end - colon - 1));
		name_end = colon;
	}
	if (name_end == s)
		return err_set(e, E_INVALID, BAD "missing repository name");
	name = xstrndup(s, (size_t)(name_end - s));
	first_slash = strchr(name, '/');
	if (first_slash &&
	    (memchr(name, '.', (size_t)(first_slash - name)) ||
	     memchr(name, ':', (size_t)(first_slash - name)) || name[0] == '[' ||
	     ((size_t)(first_slash - name) == 9 && strncmp(name, "localhost", 9) == 0))) {
		size_t dn = (size_t)(first_slash - name);

		if (check_domain(name, dn, e) < 0)
			return -1;
		r.registry =
		    is_docker_hub(name, dn) ? xstrdup(REF_DEFAULT_REGISTRY) : xstrndup(name, dn);
		path = first_slash + 1;
	} else {
		r.registry = xstrdup(REF_DEFAULT_REGISTRY);
		path = name;
	}
	if (check_path(path, e) < 0) {
		free(r.registry);
		return -1;
	}
	if (strcmp(r.registry, REF_DEFAULT_REGISTRY) == 0 && !strchr(path, '/'))
		r.repository = xasprintf("library/%s", path);
	else
		r.repository = xstrdup(path);
	if (strlen(r.registry) + 1 + strlen(r.repository) > REF_NAME_MAX) {
		size_t n = strlen(r.registry) + 1 + strlen(r.repository);

		ref_release(&r);
		return err_set(e, E_INVALID,
		               BAD
		               "repository name must not be more than %d characters (it has %zu)",
		               REF_NAME_MAX, n);
	}
	if (!tag && !r.has_digest)
		tag = xstrdup(REF_DEFAULT_TAG);
	r.tag = TAKE_PTR(tag);
	{
		char d[DIGEST_STR_LEN] = "";

		if (r.has_digest)
			digest_format(&r.digest, d);
		r.name = xasprintf("%s/%s%s%s%s%s", r.registry, r.repository, r.tag ? ":" : "",
		                   r.tag ? r.tag : "", r.has_digest ? "@" : "", d);
	}
	*out = r;
	return 0;
}

/* The split point of an offline source's PATH[:TAG] / PATH[:REF], or NULL when there is none. */
static const char *offline_split(enum ref_kind kind, const char *rest)
{
	if (kind == REF_DOCKER_ARCHIVE) {
		/* REF is a reference ("busybox:1.36"), so it may hold a ':' itself: the first ':'
		 * followed by a valid reference without '/' or digest splits. */
		for (const char *p = strchr(rest, ':'); p; p = strchr(p + 1, ':')) {
			struct image_ref tmp = {0};
			struct err scratch = ERR_INIT;

			if (p == rest || !p[1] || strchr(p + 1, '/') || strchr(p + 1, '@'))
				continue;
			if (parse_registry(p + 1, &tmp, &scratch) == 0) {
				ref_release(&tmp);
				return p;
			}
		}
		return NULL;
	}
	{
		const char *p = strrchr(rest, ':');

		if (p && p != rest && !strchr(p + 1, '/') &&
		    check_tag(p + 1, strlen(p + 1), NULL) == 0)
			return p;
	}
	return NULL;
}

static int parse_offline(const char *s, enum ref_kind kind, const char *prefix, const char *rest,
                         struct image_ref *out, struct err *e)
{
	struct image_ref r = {.kind = kind};
	const char *split;

	if (!*rest || *rest == ':')
		return err_set(e, E_INVALID, BAD "%s needs a path (%s:PATH[:%s])", prefix, prefix,
		               kind == REF_DOCKER_ARCHIVE ? "REF" : "TAG");
	if (rest[strlen(rest) - 1] == ':')
		return err_set(e, E_INVALID, BAD "empty %s after the path",
		               kind == REF_DOCKER_ARCHIVE ? "reference" : "tag");
	split = offline_split(kind, rest);
	r.path = split ? xstrndup(rest, (size_t)(split - rest)) : xstrdup(rest);
	r.path_ref = split ? xstrdup(split + 1) : NULL;
	r.name = xstrdup(s);
	*out = r;
	return 0;
}

int ref_parse(const char *s, struct image_ref *out, struct err *e)
{
	static const struct {
		const char *prefix;
		enum ref_kind kind;
	} offline[] = {
	    {"oci", REF_OCI_LAYOUT},
	    {"oci-archive", REF_OCI_ARCHIVE},
	    {"docker-archive", REF_DOCKER_ARCHIVE},
	};
	size_t n;

	if (!s || !*s)
		return err_set(e, E_INVALID, BAD "empty reference");
	n = strlen(s);
	if (n > REF_MAX_LEN)
		return err_set(e, E_INVALID, BAD "reference is longer than %d characters",
		               REF_MAX_LEN);
	for (size_t i = 0; i < ARRAY_SIZE(offline); i++) {
		size_t pn = strlen(offline[i].prefix);

		if (strncmp(s, offline[i].prefix, pn) == 0 && s[pn] == ':')
			return parse_offline(s, offline[i].kind, offline[i].prefix, s + pn + 1, out,
			                     e);
	}
	/* skopeo's transport prefix for a registry, which operators type out of habit */
	if (strncmp(s, "docker://", 9) == 0) {
		s += 9;
		n -= 9;
		if (!*s)
			return err_set(e, E_INVALID, BAD "empty reference");
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] >= 0x7f)
			return err_set(e, E_INVALID,
			               BAD "reference contains a space, a control or a non-ASCII "
			                   "character");
	return parse_registry(s, out, e);
}

void ref_release(struct image_ref *r)
{
	if (!r)
		return;
	free(r->registry);
	free(r->repository);
	free(r->tag);
	free(r->path);
	free(r->path_ref);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

const char *ref_api_reference(const struct image_ref *r)
{
	if (r->kind != REF_REGISTRY)
		return r->path_ref;
	if (r->has_digest && r->name) {
		/* name ends in "@sha256:<hex>" */
		const char *at = strrchr(r->name, '@');

		if (at)
			return at + 1;
	}
	return r->tag;
}

const char *ref_registry_host(const char *registry)
{
	if (registry && is_docker_hub(registry, strlen(registry)))
		return "registry-1.docker.io";
	return registry;
}

/* common/image/auth.h - registry credentials and challenges for the registry client (DESIGN.md
 * "pull": token and basic auth from docker's config.json): "user:password" strings, docker
 * config.json lookups, WWW-Authenticate parsing, token responses and Basic headers. Pure
 * parsing, except auth_creds_lookup, which reads the config files it is given. */
#ifndef CTRBOX_IMAGE_AUTH_H
#define CTRBOX_IMAGE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/ctx.h"
#include "common/util/err.h"

#define AUTH_FILE_MAX    (1 << 20) /* bytes: a docker config.json larger than this is refused */
#define AUTH_TOKEN_MAX   (1 << 20) /* bytes: a token endpoint's response */
#define AUTH_DEFAULT_TTL 60        /* seconds a token lives when the response says nothing */

struct auth_creds {
	char *user, *pass; /* both NULL when there are none */
};

/* Splits "user:password" at the first ':' (the password may contain more). E_INVALID when there
 * is no ':' or the user is empty. Writes *out only on success; the caller releases it. */
int auth_creds_parse(const char *userpass, struct auth_creds *out, struct err *e);

/* The credentials for registry ("docker.io", "127.0.0.1:5000") in the first existing file of
 * files (docker config.json; NULL-terminated, may be NULL). Keys of "auths" match by host with
 * any scheme and path stripped ("https://index.docker.io/v1/" is docker.io); an entry has
 * "auth" (base64 of user:password) or "username" and "password". credHelpers, credsStore and
 * identitytoken are ignored with a debug log. No file or no entry: 0 with *out empty. A
 * malformed file or entry: E_INVALID naming the file. Reads files; takes no lock. */
int auth_creds_lookup(const struct ctx *ctx, const char *registry, const char *const *files,
                      struct auth_creds *out, struct err *e);

void auth_creds_release(struct auth_creds *c);

/* "Basic <base64 of user:password>" for an Authorization header; the caller frees. */
char *auth_basic_value(const struct auth_creds *c) __attribute__((malloc, returns_nonnull));

enum auth_scheme {
	AUTH_NONE = 0,
	AUTH_BASIC,
	AUTH_BEARER,
};

struct auth_challenge {
	enum auth_scheme scheme;
	char *realm, *service, *scope; /* parameters as given, or NULL */
};

/* Parses a WWW-Authenticate value (RFC 7235: one or more challenges, auth-params with quoted
 * strings and backslash escapes). Bearer is preferred over Basic when both are offered; Bearer
 * needs a realm. E_UNSUPPORTED when only other schemes are offered, E_INVALID when malformed.
 * Writes *out only on success; the caller releases it. */
int auth_challenge_parse(const char *value, struct auth_challenge *out, struct err *e);

void auth_challenge_release(struct auth_challenge *c);

/* Parses a token endpoint's JSON response: "token" or "access_token" (the first present and
 * non-empty), and "expires_in" in seconds (AUTH_DEFAULT_TTL when absent or not positive).
 * E_INVALID when neither token is there. *token is the caller's. */
int auth_token_parse(const char *body, size_t len, char **token, int64_t *expires_in_s,
                     struct err *e);

#endif

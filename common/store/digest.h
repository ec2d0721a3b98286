/* common/store/digest.h - content digests ("sha256:<64 hex>") and streaming SHA-256 through
 * OpenSSL libcrypto (the CPU's SHA extensions where present). */
#ifndef CTRBOX_STORE_DIGEST_H
#define CTRBOX_STORE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util/err.h"

#define DIGEST_HEX_LEN 64

struct digest {
	char hex[DIGEST_HEX_LEN + 1]; /* sha256 only: lowercase hex */
};

/* Parses "sha256:<64 lowercase hex>". Other algorithms are E_UNSUPPORTED, anything else
 * E_INVALID with what is wrong. */
int digest_parse(const char *s, struct digest *out, struct err *e);
/* "sha256:<hex>" into buf (at least DIGEST_STR_LEN bytes). */
#define DIGEST_STR_LEN (7 + DIGEST_HEX_LEN + 1)
void digest_format(const struct digest *d, char *buf);
bool digest_equal(const struct digest *a, const struct digest *b);

struct hasher; /* opaque: streaming SHA-256 */

struct hasher *hasher_new(void) __attribute__((returns_nonnull));
void hasher_update(struct hasher *h, const void *data, size_t len);
/* Finishes into out; the hasher may be reset with hasher_reset and reused. */
void hasher_final(struct hasher *h, struct digest *out);
void hasher_reset(struct hasher *h);
void hasher_free(struct hasher *h);

/* The digest of a buffer in one call. */
void digest_of(const void *data, size_t len, struct digest *out);

#endif

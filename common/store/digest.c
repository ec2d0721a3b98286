/* common/store/digest.c - content digests and streaming SHA-256 over OpenSSL's EVP interface,
 * which uses the CPU's SHA extensions (DESIGN.md "Content is the truth and is verified") */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/store/digest.h"
#include "common/util/mem.h"
#include "common/util/sha256.h"

struct hasher {
	EVP_MD_CTX *md;
};

int digest_parse(const char *s, struct digest *out, struct err *e)
{
	static const char *const other[] = {"sha512:", "sha384:", "sha1:", "md5:", "blake3:"};
	const char *hex;
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(other); i++)
		if (strncmp(s, other[i], strlen(other[i])) == 0)
			return err_set(e, E_UNSUPPORTED,
			               "digest \"%.80s\": only sha256 is supported", s);
	if (strncmp(s, "sha256:", 7) != 0)
		return err_set(e, E_INVALID,
		               "digest \"%.80s\": expected sha256:<64 hex characters>", s);
	hex = s + 7;
	n = strlen(hex);
	if (n != DIGEST_HEX_LEN)
		return err_set(e, E_INVALID,
		               "digest \"%.80s\": expected 64 hex characters, got %zu", s, n);
	for (size_t i = 0; i < n; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return err_set(e, E_INVALID,
			               "digest \"%.80s\": '%c' is not a lowercase hex digit", s,
			               hex[i]);
	memcpy(out->hex, hex, DIGEST_HEX_LEN + 1);
	return 0;
}

void digest_format(const struct digest *d, char *buf)
{
	snprintf(buf, DIGEST_STR_LEN, "sha256:%s", d->hex);
}

bool digest_equal(const struct digest *a, const struct digest *b)
{
	return memcmp(a->hex, b->hex, DIGEST_HEX_LEN) == 0;
}

/* Below this, hashing here is cheaper than opening libcrypto (sha256.h); above it the
 * library's SHA extensions win. */
#define DIGEST_SMALL_MAX (256 * 1024)

static void format_hex(const unsigned char *md, struct digest *out)
{
	static const char hexd[] = "0123456789abcdef";

	for (unsigned int i = 0; i < 32; i++) {
		out->hex[2 * i] = hexd[md[i] >> 4];
		out->hex[2 * i + 1] = hexd[md[i] & 15];
	}
	out->hex[DIGEST_HEX_LEN] = '\0';
}

struct hasher *hasher_new(void)
{
	struct hasher *h = xcalloc(1, sizeof(*h));

	h->md = EVP_MD_CTX_new();
	if (!h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)
		abort(); /* only allocation can fail here: as fatal as any out-of-memory */
	return h;
}

void hasher_update(struct hasher *h, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(h->md, data, len) != 1)
		abort();
}

void hasher_final(struct hasher *h, struct digest *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->md, md, &n) != 1 || n != 32)
		abort();
	format_hex(md, out);
}

void hasher_reset(struct hasher *h)
{
	if (EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)
		abort();
}

void hasher_free(struct hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}

void digest_of(const void *data, size_t len, struct digest *out)
{
	struct hasher *h;

	if (len <= DIGEST_SMALL_MAX) {
		uint8_t md[SHA256_LEN];

		sha256(data, len, md);
		format_hex(md, out);
		return;
	}
	h = hasher_new();

	hasher_update(h, data, len);
	hasher_final(h, out);
	hasher_free(h);
}

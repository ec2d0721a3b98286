/* common/store/crypto_dl.c - the libcrypto functions ctrbox uses (SHA-256 and base64), forwarded
 * to the library opened on first use (common/util/dynlib.h explains why). Each definition has
 * the name and the type of the real one, checked against <openssl/evp.h>. */
#include <openssl/evp.h>

#include "common/util/dynlib.h"

#ifndef CRYPTO_SONAME
#define CRYPTO_SONAME "libcrypto.so.3"
#endif

static struct {
	EVP_MD_CTX *(*EVP_MD_CTX_new)(void);
	void (*EVP_MD_CTX_free)(EVP_MD_CTX *);
	const EVP_MD *(*EVP_sha256)(void);
	int (*EVP_DigestInit_ex)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
	int (*EVP_DigestUpdate)(EVP_MD_CTX *, const void *, size_t);
	int (*EVP_DigestFinal_ex)(EVP_MD_CTX *, unsigned char *, unsigned int *);
	int (*EVP_EncodeBlock)(unsigned char *, const unsigned char *, int);
	int (*EVP_DecodeBlock)(unsigned char *, const unsigned char *, int);
} fn;

#define SYM(name) {#name, (void **)&fn.name}
static const struct dynlib_sym syms[] = {
	SYM(EVP_MD_CTX_new),   SYM(EVP_MD_CTX_free),    SYM(EVP_sha256),      SYM(EVP_DigestInit_ex),
	SYM(EVP_DigestUpdate), SYM(EVP_DigestFinal_ex), SYM(EVP_EncodeBlock), SYM(EVP_DecodeBlock),
};
static struct dynlib lib = DYNLIB_INIT(CRYPTO_SONAME, syms);

/* The first call of any hash; NULL (and a line on stderr) when the library is missing, which
 * every caller already handles as a failed allocation. */
EVP_MD_CTX *EVP_MD_CTX_new(void)
{
	return dynlib_ready(&lib) ? fn.EVP_MD_CTX_new() : NULL;
}

void EVP_MD_CTX_free(EVP_MD_CTX *c)
{
	if (c) {
		dynlib_must(&lib);
		fn.EVP_MD_CTX_free(c);
	}
}

const EVP_MD *EVP_sha256(void)
{
	return dynlib_ready(&lib) ? fn.EVP_sha256() : NULL;
}

int EVP_DigestInit_ex(EVP_MD_CTX *c, const EVP_MD *md, ENGINE *impl)
{
	dynlib_must(&lib);
	return fn.EVP_DigestInit_ex(c, md, impl);
}

int EVP_DigestUpdate(EVP_MD_CTX *c, const void *d, size_t n)
{
	dynlib_must(&lib);
	return fn.EVP_DigestUpdate(c, d, n);
}

int EVP_DigestFinal_ex(EVP_MD_CTX *c, unsigned char *md, unsigned int *n)
{
	dynlib_must(&lib);
	return fn.EVP_DigestFinal_ex(c, md, n);
}

/* base64 for registry credentials: -1 (an invalid length) when the library is missing. */
int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n)
{
	return dynlib_ready(&lib) ? fn.EVP_EncodeBlock(t, f, n) : -1;
}

int EVP_DecodeBlock(unsigned char *t, const unsigned char *f, int n)
{
	return dynlib_ready(&lib) ? fn.EVP_DecodeBlock(t, f, n) : -1;
}

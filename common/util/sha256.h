/* common/util/sha256.h - SHA-256 (FIPS 180-4) in plain C, for the small documents the runtime
 * verifies on every start (an image config, a manifest). Streams and blobs go through
 * libcrypto (common/store/digest.h), whose SHA extensions are ten times faster, but loading
 * it costs a process several milliseconds: more than hashing a few kilobytes here. */
#ifndef CTRBOX_UTIL_SHA256_H
#define CTRBOX_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

#endif

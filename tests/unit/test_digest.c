/* tests/unit/test_digest.c - SHA-256 digests (DESIGN.md "Content is the truth and is verified"):
 * the standard vectors, streaming equals one-shot, and every malformed digest refused */
#include "tests/unit/unit.h"
#include "common/store/digest.h"

#define EMPTY_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_HEX   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_vectors(void **state)
{
	struct hasher *h = hasher_new();
	struct digest d, back;
	char s[DIGEST_STR_LEN];
	struct err e = ERR_INIT;
	(void)state;
	digest_of("", 0, &d);
	assert_string_equal(d.hex, EMPTY_HEX);
	digest_of("abc", 3, &d);
	assert_string_equal(d.hex, ABC_HEX);
	digest_format(&d, s);
	assert_string_equal(s, "sha256:" ABC_HEX);
	assert_int_equal(digest_parse(s, &back, &e), 0);
	assert_true(digest_equal(&d, &back));
	/* Streaming in pieces, and reuse after a reset. */
	hasher_update(h, "a", 1);
	hasher_update(h, "bc", 2);
	hasher_final(h, &back);
	assert_string_equal(back.hex, ABC_HEX);
	hasher_reset(h);
	hasher_final(h, &back);
	assert_string_equal(back.hex, EMPTY_HEX);
	hasher_free(h);
	hasher_free(NULL);
}

/* The one-call path hashes small buffers itself (common/util/sha256.c) and large ones through
 * libcrypto: both agree with the streaming hasher at every length around the block, padding
 * and threshold boundaries, and with the 448-bit NIST vector. */
static void test_small_and_large_agree(void **state)
{
	static const size_t lens[] = {1,    55,   56,   63,         64,         65,
	                              119,  120,  127,  128,        1000,       4096,
	                              4097, 65536, 262143, 256 * 1024, 256 * 1024 + 1, 300000};
	size_t max = 300000;
	unsigned char *buf = xmalloc(max);
	struct hasher *h = hasher_new();
	struct digest a, b;

	(void)state;
	for (size_t i = 0; i < max; i++)
		buf[i] = (unsigned char)(i * 131 + (i >> 8));
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		digest_of(buf, lens[i], &a);
		hasher_reset(h);
		hasher_update(h, buf, lens[i]);
		hasher_final(h, &b);
		assert_string_equal(a.hex, b.hex);
	}
	digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, &a);
	assert_string_equal(a.hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	hasher_free(h);
	free(buf);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *in;
		enum err_code code;
		const char *msg; /* NULL: not checked */
	} bad[] = {
	    {"sha256:abc", E_INVALID, "digest \"sha256:abc\": expected 64 hex characters, got 3"},
	    {"sha512:00", E_UNSUPPORTED, "digest \"sha512:00\": only sha256 is supported"},
	    {"sha384:00", E_UNSUPPORTED, NULL},
	    {"md5:00", E_UNSUPPORTED, NULL},
	    {"sha256", E_INVALID, NULL},
	    {"", E_INVALID, NULL},
	    {"SHA256:" EMPTY_HEX, E_INVALID, NULL},
	    {"sha256:" EMPTY_HEX "0", E_INVALID, NULL},
	    {"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", E_INVALID,
	     "digest \"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\": "
	     "'E' is not a lowercase hex digit"},
	    {"sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", E_INVALID,
	     NULL},
	    {" sha256:" EMPTY_HEX, E_INVALID, NULL},
	};
	struct digest d = {.hex = "untouched"};
	struct err e = ERR_INIT;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		assert_int_equal(digest_parse(bad[i].in, &d, &e), -1);
		assert_int_equal(e.code, bad[i].code);
		if (bad[i].msg)
			assert_string_equal(e.msg, bad[i].msg);
		assert_string_equal(d.hex, "untouched"); /* out-params only on success */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_small_and_large_agree),
	    cmocka_unit_test(test_parse_errors),
	};
	return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}

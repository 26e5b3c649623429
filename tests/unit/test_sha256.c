/*
 * test_sha256 - SHA-256 against the FIPS 180-4 / NIST example vectors.
 *
 * The vectors are the published ones (empty, "abc", the 448-bit and 896-bit
 * messages, one million 'a'); the padding boundaries (55, 56, 63, 64, 65,
 * 119, 120 bytes) were checked against coreutils' sha256sum.  Feeding the
 * same message in pieces of every size must give the one-shot digest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

static void
check_digest(const void *msg, size_t len, const char *want_hex)
{
	uint8_t digest[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN];

	sha256(msg, len, digest);
	sha256_hex(digest, hex);
	assert_string_equal(hex, want_hex);
}

static void
test_empty(void **state)
{
	(void)state;
	check_digest("", 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* A NULL pointer with length 0 is the same empty message. */
	check_digest(NULL, 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_abc(void **state)
{
	(void)state;
	check_digest("abc", 3,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_448_bits(void **state)
{
	const char *m =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	(void)state;
	assert_int_equal(strlen(m) * 8, 448);
	check_digest(m, strlen(m),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void
test_896_bits(void **state)
{
	const char *m =
	    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklm"
	    "nhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopq"
	    "rstu";

	(void)state;
	assert_int_equal(strlen(m) * 8, 896);
	check_digest(m, strlen(m),
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void
test_million_a(void **state)
{
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN];
	char chunk[1000];

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&ctx);
	for (int i = 0; i < 1000; i++)
		sha256_update(&ctx, chunk, sizeof(chunk));
	sha256_final(&ctx, digest);
	sha256_hex(digest, hex);
	assert_string_equal(hex,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Messages of 'a' whose lengths sit on either side of the padding limits. */
static void
test_padding_boundaries(void **state)
{
	static const struct {
		size_t len;
		const char *hex;
	} cases[] = {
	    {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734"
	         "318"},
	    {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec67"
	         "38a"},
	    {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2"
	         "f34"},
	    {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df15466"
	         "8eb"},
	    {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0"
	         "ae0"},
	    {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584"
	          "dcfb"},
	    {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904"
	          "c21c"},
	};
	char msg[128];

	(void)state;
	memset(msg, 'a', sizeof(msg));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_digest(msg, cases[i].len, cases[i].hex);
}

/* Any split of the input gives the same digest as one call. */
static void
test_incremental_equals_oneshot(void **state)
{
	uint8_t msg[300];
	uint8_t want[SHA256_DIGEST_LEN], got[SHA256_DIGEST_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	sha256(msg, sizeof(msg), want);
	for (size_t piece = 1; piece <= 130; piece++) {
		struct sha256_ctx ctx;
		size_t off = 0;

		sha256_init(&ctx);
		while (off < sizeof(msg)) {
			size_t n = sizeof(msg) - off < piece ? sizeof(msg) - off
			                                     : piece;
			sha256_update(&ctx, msg + off, n);
			/* Zero-length updates change nothing. */
			sha256_update(&ctx, msg, 0);
			off += n;
		}
		sha256_final(&ctx, got);
		assert_memory_equal(got, want, sizeof(want));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_abc),
	    cmocka_unit_test(test_448_bits),
	    cmocka_unit_test(test_896_bits),
	    cmocka_unit_test(test_million_a),
	    cmocka_unit_test(test_padding_boundaries),
	    cmocka_unit_test(test_incremental_equals_oneshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

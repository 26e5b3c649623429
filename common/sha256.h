/*
 * sha256 - SHA-256 message digest (FIPS 180-4).
 *
 * Used where a fixed, well-known hash is part of the contract: source tokens
 * are stored as the SHA-256 of the token text (ids_token_hash), never the
 * token itself.  The implementation is plain portable C with no allocation;
 * a context lives on the caller's stack and may be fed any number of times
 * before it is finished.  Not constant-time with respect to the message
 * length, which is never secret here.
 */
#ifndef ANQUAN_SHA256_H
#define ANQUAN_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN 64
/* Hex form: 64 characters plus the terminating NUL. */
#define SHA256_HEX_LEN 65

struct sha256_ctx {
	uint32_t state[8];
	uint64_t total_len;              /* bytes fed so far */
	uint8_t block[SHA256_BLOCK_LEN]; /* partial block */
	size_t used;                     /* bytes in block */
};

/* Start a new digest. */
void sha256_init(struct sha256_ctx *ctx);

/* Feed len bytes; data may be NULL when len is 0. */
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);

/* Finish and write the 32-byte digest; the context must be re-initialised
 * before it is used again. */
void sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_DIGEST_LEN]);

/* One-shot digest of a buffer. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

/* Write the digest as 64 lowercase hex characters and a NUL into out. */
void sha256_hex(
    const uint8_t digest[SHA256_DIGEST_LEN], char out[SHA256_HEX_LEN]);

#endif

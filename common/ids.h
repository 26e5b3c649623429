/*
 * ids - identifiers: USCCs, code tables, area codes and source tokens.
 *
 * Enterprises are keyed by their unified social credit code (统一社会信用代码,
 * GB 32100-2015), districts by GB/T 2260 area codes, departments and sectors
 * by the short codes of the CSV files in deploy/data, and sector systems
 * authenticate with random bearer tokens that the store keeps only as SHA-256
 * hashes. ingestd validates every code that arrives from outside with these
 * functions, so each refusal carries a reason a sector system's operator can
 * act on; the demo city and the tests make valid USCCs with the generator.
 *
 * Code tables are loaded once at start and owned by the caller
 * (ids_codes_free); everything else works in caller-provided buffers.
 */
#ifndef ANQUAN_IDS_H
#define ANQUAN_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define IDS_USCC_LEN 18
#define IDS_USCC_SIZE (IDS_USCC_LEN + 1)
/* Large enough for every reason this module writes. */
#define IDS_REASON_SIZE 128

/*
 * Check a NUL-terminated USCC: 18 characters from 0-9 and A-Y without
 * I O S V Z; position 1 a registration authority (1-9, A, N, Y); position 2
 * an organization type (a digit 1-9; 1-3 under authority 9); positions 3-8
 * a 6-digit area code; position 18 the GB 32100 check character.  Returns 0
 * when valid; otherwise -1 and, when why is not NULL, a reason such as
 * "check character should be 'L', got 'K'" in why (at most whysize bytes).
 */
int ids_uscc_check(const char *s, char *why, size_t whysize);

/* The same on len bytes that need not be NUL-terminated. */
int ids_uscc_check_n(const char *s, size_t len, char *why, size_t whysize);

/* The check character for the first 17 characters, or '\0' when one of
 * them is outside the code's alphabet. */
char ids_uscc_check_char(const char *first17);

/*
 * Make a valid enterprise USCC (authority 9, type 1) in the 6-digit area
 * `area` from a seed.  Seeds 0 .. 99,999,999 give pairwise distinct codes
 * for one area, so a demo city can number its enterprises.  The body is a
 * GB 11714 organization code with its own check digit.  Returns 0, or -1
 * when area is not 6 digits.
 */
int ids_uscc_generate(uint64_t seed, const char *area, char out[IDS_USCC_SIZE]);

/* 1 when code is a GB/T 2260 area code in form (six digits), else 0. */
int ids_gb2260_ok(const char *code);

/* One row of a code table: the code and its (UTF-8) name. */
struct ids_code {
	char *code;
	char *name;
	unsigned line; /* where it was defined, for messages */
};

/* A code table, sorted by code.  Zero-initialise before loading. */
struct ids_codes {
	struct ids_code *rows;
	size_t n;
};

/* Where and why a load failed. */
struct ids_error {
	char file[256];
	unsigned line; /* 0 when not about one line (cannot open, too big) */
	char message[IDS_REASON_SIZE + 64];
};

/* Require every code of the table to be a GB/T 2260 area code. */
#define IDS_CODES_GB2260 0x1u

/*
 * Load a CSV code table (deploy/data/districts.csv and the like): a header
 * row whose first two columns are "code" and "name", then one row per code;
 * RFC 4180 quoting; further columns are ignored.  A bad row (missing or
 * empty field, bad quoting, invalid UTF-8, duplicate code, a malformed
 * area code with IDS_CODES_GB2260) fails the whole load with its line.
 * Returns 0, or -1 with err filled and *table left empty.
 */
int ids_codes_load(const char *path, unsigned flags, struct ids_codes *table,
    struct ids_error *err);

/* The same from a buffer; `name` stands for the file in messages. */
int ids_codes_parse(const char *name, const char *text, size_t len,
    unsigned flags, struct ids_codes *table, struct ids_error *err);

/* The name of a code, or NULL when the table has no such code. */
const char *ids_codes_name(const struct ids_codes *table, const char *code);

/* Free what a load allocated; the table is empty afterwards. */
void ids_codes_free(struct ids_codes *table);

/* A source token: "aq_" and 40 base32 characters (200 random bits). */
#define IDS_TOKEN_PREFIX "aq_"
#define IDS_TOKEN_LEN 43
#define IDS_TOKEN_SIZE (IDS_TOKEN_LEN + 1)

/* Make a new random token from getrandom(2).  Returns 0, or -1 when the
 * kernel gives no randomness (errno set). */
int ids_token_new(char out[IDS_TOKEN_SIZE]);

/* 1 when s has the form of a token (prefix, length, alphabet), else 0:
 * cheap to check before any hash or database lookup. */
int ids_token_format_ok(const char *s);

/* The SHA-256 of the token's text: what the store keeps. */
void ids_token_hash(const char *token, uint8_t out[SHA256_DIGEST_LEN]);

#endif

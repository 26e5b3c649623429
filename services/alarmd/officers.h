/*
 * officers - duty officers' console tokens (login of the duty console).
 *
 * An officer signs in to the console with a bearer token that `safetyctl
 * officer create` made: the same form as source tokens (common/ids.h, "aq_"
 * and 40 base32 characters), kept in officer_tokens (0010_alarmd.sql) only
 * as its SHA-256, with the first 8 characters after "aq_" as the prefix an
 * operator names it by.  officers_check() answers "whose token is this";
 * officers_auth() asks the same as the daemon's http_auth_fn, for the
 * routes flagged HTTP_ROUTE_AUTH (acknowledge, resolve, silences, whoami);
 * the event stream, whose browser API cannot send headers (the token comes
 * as ?token=), calls officers_check() itself (console.c).
 *
 * A token found in the store is trusted for OFFICERS_CACHE_S seconds
 * without asking again, so a revocation takes effect within that time.
 * While the store is unreachable a token seen valid within
 * OFFICERS_STALE_S is still accepted (the console keeps streaming through
 * a short outage; every action needs the store anyway).  The cache is the
 * module's, on the loop's thread; it never allocates.  The lookup is the
 * module's one query, kept here rather than in a *_store.c file.
 */
#ifndef ANQUAN_ALARMD_OFFICERS_H
#define ANQUAN_ALARMD_OFFICERS_H

#include <stddef.h>
#include <stdint.h>

#include "alarmd.h"
#include "http.h"

struct store;

/* Seconds a token found valid is trusted without the store. */
#define OFFICERS_CACHE_S 60
/* Seconds a token seen valid is still trusted while the store is down. */
#define OFFICERS_STALE_S 600
/* Tokens remembered at once. */
#define OFFICERS_CACHE_SLOTS 512
/* Characters of a token's prefix (after "aq_"). */
#define OFFICERS_PREFIX_LEN 8

/* What officers_check() found. */
enum officers_result {
	OFFICERS_OK = 0,      /* *out filled */
	OFFICERS_UNKNOWN = 1, /* malformed, unknown or revoked token */
	OFFICERS_STORE = 2,   /* the store could not be asked */
};

/*
 * Whose token is this: OFFICERS_OK with *out filled (id and name), or why
 * not.  Looks the token's SHA-256 up in officer_tokens (not revoked),
 * through the cache.  Runs one query on st at most (none on a cache hit or
 * a malformed token).
 */
int officers_check(struct store *st, const char *token, struct officer *out);

/*
 * The store officers_auth() asks: the daemon's loop store.  Call once
 * from the daemon's init, before the HTTP routes can be called.
 */
void officers_init(struct store *st);

/*
 * http_auth_fn for the daemon spec's .auth: HTTP_AUTH_OK with *principal
 * a const struct officer * (valid for at least OFFICERS_HOLD_S seconds,
 * longer than any request lives), or HTTP_AUTH_UNKNOWN (401) with the
 * reason in why.  arg is not used (the store is officers_init's).
 */
enum http_auth_verdict officers_auth(const char *token,
    const struct http_req *r, void *arg, const void **principal, char *why,
    size_t why_size);

/* How long a principal handed out by officers_auth() stays untouched. */
#define OFFICERS_HOLD_S 600

/* Forget every cached token (tests; after a mass revocation). */
void officers_cache_clear(void);

/* The prefix of a token as stored ("aq_" + 8 characters -> those 8): 0,
 * or -1 when token is not of the token form. */
int officers_token_prefix(const char *token, char out[OFFICERS_PREFIX_LEN + 1]);

#endif

/*
 * officers - duty officers' console tokens, looked up through a cache.
 *
 * The cache is a fixed table of slots, one per token hash.  A slot holds
 * the officer the store named for that hash and two times: when the
 * store last confirmed it (trusted OFFICERS_CACHE_S after that) and when
 * a pointer to its officer was last handed to the HTTP server as a
 * request's principal.  A slot is given to another token only once no
 * request can still hold its pointer (OFFICERS_HOLD_S after the last hand
 * out, far beyond the HTTP timeouts), so principals never change under a
 * handler; refreshing a slot for the same token rewrites the same officer.
 * A token the store no longer knows (revoked) loses its slot's trust at
 * once, but the slot's officer stays readable until the hold has passed.
 *
 * The one query is here rather than in a *_store.c file: it is the whole
 * of this module's SQL.  Everything runs on the loop's thread.
 */
#include "officers.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "log.h"
#include "sha256.h"
#include "store.h"
#include "timeutil.h"

#define CACHE_MS ((int64_t)OFFICERS_CACHE_S * 1000)
#define STALE_MS ((int64_t)OFFICERS_STALE_S * 1000)
#define HOLD_MS ((int64_t)OFFICERS_HOLD_S * 1000)

struct slot {
	uint8_t hash[SHA256_DIGEST_LEN];
	struct officer who;
	int64_t checked_ms; /* the store confirmed it; 0: never */
	int64_t handed_ms;  /* last given out as a principal; 0: never */
	bool used;          /* the slot belongs to hash */
	bool valid;         /* the store's last word was "valid" */
};

static struct slot slots[OFFICERS_CACHE_SLOTS];
static struct store *auth_store;

void
officers_init(struct store *st)
{
	auth_store = st;
}

void
officers_cache_clear(void)
{
	int64_t now = timeutil_mono_ms();

	/* Slots whose officer a request may still point at keep it, but
	 * lose their trust; the others are emptied. */
	for (size_t i = 0; i < OFFICERS_CACHE_SLOTS; i++) {
		struct slot *s = &slots[i];

		if (s->handed_ms != 0 && now - s->handed_ms <= HOLD_MS) {
			s->valid = false;
			s->checked_ms = 0;
		} else {
			memset(s, 0, sizeof(*s));
		}
	}
}

int
officers_token_prefix(const char *token, char out[OFFICERS_PREFIX_LEN + 1])
{
	if (!ids_token_format_ok(token))
		return -1;
	memcpy(out, token + strlen(IDS_TOKEN_PREFIX), OFFICERS_PREFIX_LEN);
	out[OFFICERS_PREFIX_LEN] = '\0';
	return 0;
}

/* Copy a UTF-8 string into size bytes, cutting at a character boundary. */
static void
copy_utf8(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size) {
		n = size - 1;
		/* Back up over continuation bytes to the start of the
		 * character that did not fit. */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct slot *
slot_find(const uint8_t hash[SHA256_DIGEST_LEN])
{
	for (size_t i = 0; i < OFFICERS_CACHE_SLOTS; i++)
		if (slots[i].used &&
		    memcmp(slots[i].hash, hash, SHA256_DIGEST_LEN) == 0)
			return &slots[i];
	return NULL;
}

/*
 * A slot for a new hash: an empty one, else the one confirmed longest ago
 * among those no request can still point at.  NULL when every slot is
 * held (more than OFFICERS_CACHE_SLOTS officers within the hold time).
 */
static struct slot *
slot_take(const uint8_t hash[SHA256_DIGEST_LEN], int64_t now)
{
	struct slot *best = NULL;

	for (size_t i = 0; i < OFFICERS_CACHE_SLOTS; i++) {
		struct slot *s = &slots[i];

		if (!s->used && s->handed_ms == 0) {
			best = s;
			break;
		}
		if (s->handed_ms != 0 && now - s->handed_ms <= HOLD_MS)
			continue;
		if (best == NULL || s->checked_ms < best->checked_ms)
			best = s;
	}
	if (best == NULL)
		return NULL;
	memset(best, 0, sizeof(*best));
	memcpy(best->hash, hash, SHA256_DIGEST_LEN);
	best->used = true;
	return best;
}

/*
 * Ask the store for the officer of hash: 1 found (*who filled), 0 no such
 * live token, -1 the store failed (logged).
 */
static int
store_lookup(struct store *st, const uint8_t hash[SHA256_DIGEST_LEN],
    struct officer *who)
{
	static const char sql[] =
	    "SELECT officer, name FROM officer_tokens "
	    "WHERE hash = decode($1, 'hex') AND revoked_at IS NULL";
	char hex[2 * SHA256_DIGEST_LEN + 1];
	const char *params[1] = {hex};
	struct store_err err;
	PGresult *res = NULL;
	int found;

	for (size_t i = 0; i < SHA256_DIGEST_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	if (st == NULL || store_exec(st, sql, 1, params, &res, &err) != 0) {
		log_warn("officers.lookup", "error=\"%s\"",
		    st == NULL ? "no store" : err.msg);
		return -1;
	}
	found = PQntuples(res) > 0;
	if (found) {
		copy_utf8(who->id, sizeof(who->id), PQgetvalue(res, 0, 0));
		copy_utf8(who->name, sizeof(who->name), PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return found;
}

/*
 * The slot of a valid token, asking the store when the cache cannot
 * answer.  NULL with *rc OFFICERS_UNKNOWN or OFFICERS_STORE otherwise; a
 * valid token without a free slot is copied to *spare instead.
 */
static const struct officer *
resolve(struct store *st, const char *token, struct slot **slotp,
    struct officer *spare, int *rc)
{
	uint8_t hash[SHA256_DIGEST_LEN];
	int64_t now = timeutil_mono_ms();
	struct slot *s;
	struct officer who;
	int found;

	*slotp = NULL;
	if (!ids_token_format_ok(token)) {
		*rc = OFFICERS_UNKNOWN;
		return NULL;
	}
	ids_token_hash(token, hash);
	s = slot_find(hash);
	if (s != NULL && s->valid && now - s->checked_ms < CACHE_MS) {
		*slotp = s;
		*rc = OFFICERS_OK;
		return &s->who;
	}
	memset(&who, 0, sizeof(who));
	found = store_lookup(st, hash, &who);
	if (found < 0) {
		if (s != NULL && s->valid && now - s->checked_ms < STALE_MS) {
			*slotp = s;
			*rc = OFFICERS_OK;
			return &s->who;
		}
		*rc = OFFICERS_STORE;
		return NULL;
	}
	if (found == 0) {
		if (s != NULL)
			s->valid = false;
		*rc = OFFICERS_UNKNOWN;
		return NULL;
	}
	if (s == NULL)
		s = slot_take(hash, now);
	*rc = OFFICERS_OK;
	if (s == NULL) {
		*spare = who;
		return spare;
	}
	s->who = who;
	s->valid = true;
	s->checked_ms = now;
	*slotp = s;
	return &s->who;
}

int
officers_check(struct store *st, const char *token, struct officer *out)
{
	struct slot *s;
	struct officer spare;
	const struct officer *who;
	int rc;

	who = resolve(st, token, &s, &spare, &rc);
	if (who != NULL)
		*out = *who;
	return rc;
}

enum http_auth_verdict
officers_auth(const char *token, const struct http_req *r, void *arg,
    const void **principal, char *why, size_t why_size)
{
	struct slot *s;
	struct officer spare;
	const struct officer *who;
	int rc;

	(void)r;
	(void)arg;
	who = resolve(auth_store, token, &s, &spare, &rc);
	if (who != NULL && s != NULL) {
		s->handed_ms = timeutil_mono_ms();
		*principal = &s->who;
		return HTTP_AUTH_OK;
	}
	/* The reasons are read by duty officers (the console shows them). */
	switch (rc) {
	case OFFICERS_STORE:
		snprintf(why, why_size,
		    "暂时无法核验令牌：数据库不可达，请稍后重试");
		break;
	case OFFICERS_OK:
		/* Valid, but every slot is held by a request: refuse rather
		 * than hand out a pointer that may change. */
		snprintf(why, why_size,
		    "同时登录的值班人员过多（%d 人），请几分钟后重试",
		    OFFICERS_CACHE_SLOTS);
		break;
	default:
		if (!ids_token_format_ok(token))
			snprintf(why, why_size, "%s%s",
			    "这不是值班令牌（应为 aq_ 开头共 43 个字符）：",
			    "请粘贴 safetyctl officer create 给出的令牌");
		else
			snprintf(why, why_size, "%s%s", "令牌不存在或已吊销：",
			    "请向运维人员索取新令牌（safetyctl officer "
			    "create）");
		break;
	}
	return HTTP_AUTH_UNKNOWN;
}

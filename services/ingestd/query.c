/*
 * query - the read routes of ingestd: parameters checked, answers sent.
 *
 * GET /v1/enterprises/{uscc}, /v1/hazards, /v1/operations and
 * /v1/accidents (query.h has the contract).  A handler checks every query
 * parameter before anything reaches the store: a parameter the route does
 * not know, one given twice, or a bad value is a 400 whose message names
 * the parameter and says what is allowed, so a client's mistake is never
 * silently ignored or turned into an empty list.  Codes are checked the
 * way ingest checks them (a USCC with its check character, a district
 * against the registry's code table), so a typo is told apart from a
 * record that does not exist.
 *
 * The statement then runs on the loop's store, synchronously: the loop
 * waits for it.  That is accepted because each statement is one bounded
 * read (LIMIT, at most QUERY_STATEMENT_TIMEOUT_MS, read-only transaction)
 * on a local server, and readers are few (consoles and sector systems, not
 * the feeds); a slow one is cancelled by the server and answered 503.  The
 * JSON comes whole from PostgreSQL (query_store.c says why) and is sent as
 * it is.  main.c owns the struct query; nothing here allocates beyond the
 * result of one statement, freed before the handler returns.
 */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "ids.h"
#include "ingestd.h"
#include "json.h"
#include "log.h"

#define WHY_MAX 400

/* "open" is every status but closed; a hazard reported is rectifying. */
static const char *const hazard_statuses[] = {
    "open", "rectifying", "rectified", "closed", NULL};
static const char *const hazard_levels[] = {"general", "major", NULL};
static const char *const operation_types[] = {"hot_work", "confined_space",
    "blinding", "height", "lifting", "temporary_power", "excavation",
    "road_closure", "blasting", NULL};
static const char *const accident_grades[] = {
    "general", "larger", "major", "especially_major", NULL};

/* --- the cursor ---------------------------------------------------------- */

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decode unpadded base64url into out (size bytes); the length or -1. */
static long
b64url_decode(const char *s, char *out, size_t size)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0, len = strlen(s);

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == size)
				return -1;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	/* The bits left over must be zero padding, as an encoder makes. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)n;
}

int
query_cursor_parse(
    const char *text, struct query_page *page, char *why, size_t whysize)
{
	char raw[QUERY_CURSOR_MAX];
	const char *colon, *p;
	long n;
	int64_t us = 0;
	bool neg = false;
	size_t idlen;

	if (strlen(text) > QUERY_CURSOR_MAX ||
	    (n = b64url_decode(text, raw, sizeof(raw) - 1)) <= 0)
		goto bad;
	raw[n] = '\0';
	if (memchr(raw, '\0', (size_t)n) != NULL ||
	    (colon = strchr(raw, ':')) == NULL)
		goto bad;
	p = raw;
	if (*p == '-') {
		neg = true;
		p++;
	}
	if (p == colon || colon - p > 18)
		goto bad;
	for (; p < colon; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		us = us * 10 + (*p - '0');
	}
	idlen = (size_t)(raw + n - (colon + 1));
	if (idlen == 0 || idlen > QUERY_ID_MAX ||
	    !json_utf8_valid(colon + 1, idlen, NULL))
		goto bad;
	page->has_cursor = true;
	page->cursor_us = neg ? -us : us;
	memcpy(page->cursor_id, colon + 1, idlen);
	page->cursor_id[idlen] = '\0';
	return 0;
bad:
	snprintf(why, whysize,
	    "parameter 'cursor' is not a cursor this API "
	    "gave: pass the \"next\" of the previous page "
	    "as it was, or leave cursor out for the first "
	    "page");
	return -1;
}

/* --- parameters ---------------------------------------------------------- */

/* A value as it may appear in a message: short ones whole, else cut. */
static const char *
shown(const char *v, char *buf, size_t size)
{
	size_t n = strlen(v);

	if (n < size)
		return v;
	n = size - 4;
	/* Cut at a character boundary, not inside a UTF-8 sequence. */
	while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
		n--;
	snprintf(buf, size, "%.*s...", (int)n, v);
	return buf;
}

/* Percent-decode the key of a query pair into out ('+' is a space). */
static void
key_decode(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < size; i++) {
		if (s[i] == '%' && i + 2 < len) {
			char hex[3] = {s[i + 1], s[i + 2], '\0'};

			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			out[o++] = s[i] == '+' ? ' ' : s[i];
	}
	out[o] = '\0';
}

/*
 * Refuse a parameter the route does not take, and one given twice: the
 * dispatcher decoded and checked the query already, so this only looks at
 * the names.
 */
static int
params_known(
    struct http_req *r, const char *const *names, char *why, size_t whysize)
{
	const struct evhttp_uri *uri =
	    evhttp_request_get_evhttp_uri(http_req_evhttp(r));
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	char seen[HTTP_QUERY_MAX][64];
	size_t nseen = 0;

	if (q == NULL)
		return 0;
	while (*q != '\0') {
		size_t len = strcspn(q, "&"), klen = strcspn(q, "=&");
		char key[64], sb[40];
		size_t i;

		if (len > 0) {
			key_decode(q, klen, key, sizeof(key));
			for (i = 0; names[i] != NULL; i++)
				if (strcmp(key, names[i]) == 0)
					break;
			if (names[i] == NULL) {
				char list[200] = "";

				for (size_t j = 0; names[j] != NULL; j++)
					snprintf(list + strlen(list),
					    sizeof(list) - strlen(list), "%s%s",
					    j ? ", " : "", names[j]);
				snprintf(why, whysize,
				    "unknown parameter '%s': this route "
				    "takes %s",
				    shown(key, sb, sizeof(sb)), list);
				return -1;
			}
			for (size_t j = 0; j < nseen; j++)
				if (strcmp(seen[j], key) == 0) {
					snprintf(why, whysize,
					    "parameter '%s' is given more "
					    "than once",
					    key);
					return -1;
				}
			if (nseen < HTTP_QUERY_MAX)
				snprintf(
				    seen[nseen++], sizeof(seen[0]), "%s", key);
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* An optional parameter from a fixed list. */
static int
param_enum(struct http_req *r, const char *name, const char *const *allowed,
    const char **out, char *why, size_t whysize)
{
	const char *v = http_req_query(r, name);
	char list[300] = "", sb[80];

	*out = NULL;
	if (v == NULL)
		return 0;
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcmp(v, allowed[i]) == 0) {
			*out = allowed[i];
			return 0;
		}
	for (size_t i = 0; allowed[i] != NULL; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i ? ", " : "", allowed[i]);
	snprintf(why, whysize, "parameter '%s' must be one of %s; got '%s'",
	    name, list, shown(v, sb, sizeof(sb)));
	return -1;
}

/* An optional flag: 1 or 0; *out stays -1 when absent. */
static int
param_flag(
    struct http_req *r, const char *name, int *out, char *why, size_t whysize)
{
	const char *v = http_req_query(r, name);
	char sb[80];

	*out = -1;
	if (v == NULL)
		return 0;
	if (strcmp(v, "1") == 0 || strcmp(v, "0") == 0) {
		*out = v[0] - '0';
		return 0;
	}
	snprintf(why, whysize, "parameter '%s' must be 1 or 0; got '%s'", name,
	    shown(v, sb, sizeof(sb)));
	return -1;
}

/* A decimal integer in lo..hi, digits only; 1 when given, 0 absent. */
static int
param_int(struct http_req *r, const char *name, long lo, long hi, long *out,
    char *why, size_t whysize)
{
	const char *v = http_req_query(r, name);
	char sb[80], *end;
	long n;

	if (v == NULL)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n < lo ||
	    n > hi) {
		snprintf(why, whysize,
		    "parameter '%s' must be a whole number from %ld to %ld; "
		    "got '%s'",
		    name, lo, hi, shown(v, sb, sizeof(sb)));
		return -1;
	}
	*out = n;
	return 1;
}

static int
param_uscc(struct http_req *r, const char *name, const char **out, char *why,
    size_t whysize)
{
	const char *v = http_req_query(r, name);
	char reason[IDS_REASON_SIZE], sb[40];

	*out = NULL;
	if (v == NULL)
		return 0;
	if (ids_uscc_check(v, reason, sizeof(reason)) != 0) {
		snprintf(why, whysize,
		    "parameter '%s' is not a valid unified social credit "
		    "code ('%s': %s)",
		    name, shown(v, sb, sizeof(sb)), reason);
		return -1;
	}
	*out = v;
	return 0;
}

static int
param_district(struct http_req *r, struct query *q, const char **out, char *why,
    size_t whysize)
{
	const char *v = http_req_query(r, "district");
	char sb[40];

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!ids_gb2260_ok(v) || registry_district(q->reg, v) < 0) {
		snprintf(why, whysize,
		    "parameter 'district' must be the 6-digit code of one of "
		    "the city's districts (data/districts.csv); got '%s'",
		    shown(v, sb, sizeof(sb)));
		return -1;
	}
	*out = v;
	return 0;
}

static int
param_page(
    struct http_req *r, struct query_page *page, char *why, size_t whysize)
{
	long limit = QUERY_LIMIT_DEFAULT;
	const char *cursor = http_req_query(r, "cursor");

	memset(page, 0, sizeof(*page));
	if (param_int(r, "limit", 1, QUERY_LIMIT_MAX, &limit, why, whysize) < 0)
		return -1;
	page->limit = (int)limit;
	if (cursor != NULL)
		return query_cursor_parse(cursor, page, why, whysize);
	return 0;
}

/* --- answers ------------------------------------------------------------- */

static void
bad_request(struct http_req *r, const char *why)
{
	char q[WHY_MAX + 40];

	log_info("query.refused", "id=%s path=%s why=%s", http_req_id(r),
	    http_req_path(r), log_quote(q, sizeof(q), why));
	http_reply_error(r, 400, "bad_parameter", "%s", why);
}

/*
 * Answer from a store call: the JSON as PostgreSQL made it, 404 for an
 * unknown record, 503 for what a retry can cure (store away, statement
 * over its time, schema behind the daemon), 500 for the rest.
 */
static void
answer(struct http_req *r, int rc, PGresult *res, const char *json,
    const struct store_err *err, const char *what)
{
	char q[300];

	if (rc > 0) {
		http_reply_text(r, 200, "application/json; charset=utf-8", json,
		    strlen(json));
		PQclear(res);
		return;
	}
	PQclear(res);
	if (rc == 0) {
		http_reply_error(r, 404, "not_found", "%s", what);
		return;
	}
	log_warn("query.failed", "id=%s path=%s sqlstate=%s error=%s",
	    http_req_id(r), http_req_path(r), err->sqlstate,
	    log_quote(q, sizeof(q), err->msg));
	if (err->kind == STORE_ERR_CONN) {
		http_set_retry_after(r, 1);
		http_reply_error(r, 503, "store_unavailable",
		    "the store is out of reach; ask again shortly");
	} else if (strcmp(err->sqlstate, "57014") == 0) {
		http_reply_error(r, 503, "too_slow",
		    "the query ran longer than %d ms and was stopped; narrow "
		    "it with filters or a smaller limit",
		    QUERY_STATEMENT_TIMEOUT_MS);
	} else if (strcmp(err->sqlstate, "42P01") == 0 ||
	           strcmp(err->sqlstate, "42703") == 0) {
		http_reply_error(r, 503, "schema_outdated",
		    "the store's schema lacks what this query reads (%s): "
		    "the operator should run safetyctl migrate",
		    err->msg);
	} else {
		http_reply_error(r, 500, "store_error",
		    "the store could not answer: %s", err->msg);
	}
}

/* --- handlers ------------------------------------------------------------ */

static void
get_enterprise(struct http_req *r, void *arg)
{
	static const char *const names[] = {NULL};
	struct query *q = arg;
	const char *uscc = http_req_param(r, "uscc");
	char why[WHY_MAX], reason[IDS_REASON_SIZE], sb[40], msg[200];
	struct store_err err;
	const char *json = NULL;
	PGresult *res = NULL;
	int rc;

	if (params_known(r, names, why, sizeof(why)) != 0) {
		bad_request(r, why);
		return;
	}
	if (ids_uscc_check(uscc, reason, sizeof(reason)) != 0) {
		snprintf(why, sizeof(why),
		    "'%s' is not a valid unified social credit code: %s",
		    shown(uscc, sb, sizeof(sb)), reason);
		bad_request(r, why);
		return;
	}
	rc = query_store_enterprise(q->store, uscc, &res, &json, &err);
	snprintf(msg, sizeof(msg),
	    "no enterprise %s is registered (enterprise.upsert adds it)", uscc);
	answer(r, rc, res, json, &err, msg);
}

static void
get_hazards(struct http_req *r, void *arg)
{
	static const char *const names[] = {"status", "level", "district",
	    "uscc", "overdue", "limit", "cursor", NULL};
	struct query *q = arg;
	struct query_hazard_filter f;
	struct query_page page;
	struct store_err err;
	const char *json = NULL;
	char why[WHY_MAX];
	PGresult *res = NULL;
	int rc;

	if (params_known(r, names, why, sizeof(why)) != 0 ||
	    param_enum(r, "status", hazard_statuses, &f.status, why,
	        sizeof(why)) != 0 ||
	    param_enum(r, "level", hazard_levels, &f.level, why, sizeof(why)) !=
	        0 ||
	    param_district(r, q, &f.district, why, sizeof(why)) != 0 ||
	    param_uscc(r, "uscc", &f.uscc, why, sizeof(why)) != 0 ||
	    param_flag(r, "overdue", &f.overdue, why, sizeof(why)) != 0 ||
	    param_page(r, &page, why, sizeof(why)) != 0) {
		bad_request(r, why);
		return;
	}
	rc = query_store_hazards(q->store, &f, &page, &res, &json, &err);
	answer(r, rc, res, json, &err, "no hazards");
}

static void
get_operations(struct http_req *r, void *arg)
{
	static const char *const names[] = {
	    "active", "uscc", "type", "limit", "cursor", NULL};
	struct query *q = arg;
	struct query_operation_filter f;
	struct query_page page;
	struct store_err err;
	const char *json = NULL;
	char why[WHY_MAX];
	PGresult *res = NULL;
	int rc;

	if (params_known(r, names, why, sizeof(why)) != 0 ||
	    param_flag(r, "active", &f.active, why, sizeof(why)) != 0 ||
	    param_uscc(r, "uscc", &f.uscc, why, sizeof(why)) != 0 ||
	    param_enum(r, "type", operation_types, &f.type, why, sizeof(why)) !=
	        0 ||
	    param_page(r, &page, why, sizeof(why)) != 0) {
		bad_request(r, why);
		return;
	}
	rc = query_store_operations(q->store, &f, &page, &res, &json, &err);
	answer(r, rc, res, json, &err, "no operations");
}

static void
get_accidents(struct http_req *r, void *arg)
{
	static const char *const names[] = {
	    "year", "district", "grade", "limit", "cursor", NULL};
	struct query *q = arg;
	struct query_accident_filter f = {0};
	struct query_page page;
	struct store_err err;
	const char *json = NULL;
	char why[WHY_MAX];
	PGresult *res = NULL;
	long year = 0;
	int rc;

	if (params_known(r, names, why, sizeof(why)) != 0 ||
	    param_int(r, "year", 1949, 2200, &year, why, sizeof(why)) < 0 ||
	    param_district(r, q, &f.district, why, sizeof(why)) != 0 ||
	    param_enum(
	        r, "grade", accident_grades, &f.grade, why, sizeof(why)) != 0 ||
	    param_page(r, &page, why, sizeof(why)) != 0) {
		bad_request(r, why);
		return;
	}
	f.year = (int)year;
	rc = query_store_accidents(q->store, &f, &page, &res, &json, &err);
	answer(r, rc, res, json, &err, "no accidents");
}

const struct http_route query_routes[QUERY_NROUTES] = {
    {"GET", "/v1/enterprises/{uscc}", get_enterprise, HTTP_ROUTE_AUTH},
    {"GET", "/v1/hazards", get_hazards, HTTP_ROUTE_AUTH},
    {"GET", "/v1/operations", get_operations, HTTP_ROUTE_AUTH},
    {"GET", "/v1/accidents", get_accidents, HTTP_ROUTE_AUTH},
};

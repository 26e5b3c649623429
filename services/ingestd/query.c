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
 * record that does not exist.  The checks and their texts are
 * common/http_param.c's, shared with riskd's API; what is ingestd's own
 * (the lists of words, the page and its cursor) is here.
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

#include <stdio.h>
#include <string.h>

#include "http_param.h"
#include "ingestd.h"
#include "json.h"
#include "log.h"

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

/* The registry's answer for http_param_district(). */
static int
district_known(const char *code, const void *arg)
{
	return registry_district(arg, code) >= 0;
}

static int
param_page(
    struct http_req *r, struct query_page *page, char *why, size_t whysize)
{
	long limit = QUERY_LIMIT_DEFAULT;
	const char *cursor = http_req_query(r, "cursor");

	memset(page, 0, sizeof(*page));
	if (http_param_int(
	        r, "limit", 1, QUERY_LIMIT_MAX, &limit, why, whysize) != 0)
		return -1;
	page->limit = (int)limit;
	if (cursor != NULL)
		return query_cursor_parse(cursor, page, why, whysize);
	return 0;
}

/* --- answers ------------------------------------------------------------- */

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
	char why[HTTP_PARAM_WHY_SIZE], msg[200];
	struct store_err err;
	const char *uscc, *json = NULL;
	PGresult *res = NULL;
	int rc;

	if (http_param_known(r, names, why, sizeof(why)) != 0 ||
	    http_param_check_uscc(NULL, http_req_param(r, "uscc"), &uscc, why,
	        sizeof(why)) != 0) {
		http_param_refuse(r, "query.refused", why);
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
	char why[HTTP_PARAM_WHY_SIZE];
	PGresult *res = NULL;
	int rc;

	if (http_param_known(r, names, why, sizeof(why)) != 0 ||
	    http_param_enum(r, "status", hazard_statuses, &f.status, why,
	        sizeof(why)) != 0 ||
	    http_param_enum(
	        r, "level", hazard_levels, &f.level, why, sizeof(why)) != 0 ||
	    http_param_district(r, "district", district_known, q->reg,
	        &f.district, why, sizeof(why)) != 0 ||
	    http_param_uscc(r, "uscc", &f.uscc, why, sizeof(why)) != 0 ||
	    http_param_flag(r, "overdue", &f.overdue, why, sizeof(why)) != 0 ||
	    param_page(r, &page, why, sizeof(why)) != 0) {
		http_param_refuse(r, "query.refused", why);
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
	char why[HTTP_PARAM_WHY_SIZE];
	PGresult *res = NULL;
	int rc;

	if (http_param_known(r, names, why, sizeof(why)) != 0 ||
	    http_param_flag(r, "active", &f.active, why, sizeof(why)) != 0 ||
	    http_param_uscc(r, "uscc", &f.uscc, why, sizeof(why)) != 0 ||
	    http_param_enum(
	        r, "type", operation_types, &f.type, why, sizeof(why)) != 0 ||
	    param_page(r, &page, why, sizeof(why)) != 0) {
		http_param_refuse(r, "query.refused", why);
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
	char why[HTTP_PARAM_WHY_SIZE];
	PGresult *res = NULL;
	long year = 0;
	int rc;

	if (http_param_known(r, names, why, sizeof(why)) != 0 ||
	    http_param_int(r, "year", 1949, 2200, &year, why, sizeof(why)) !=
	        0 ||
	    http_param_district(r, "district", district_known, q->reg,
	        &f.district, why, sizeof(why)) != 0 ||
	    http_param_enum(
	        r, "grade", accident_grades, &f.grade, why, sizeof(why)) != 0 ||
	    param_page(r, &page, why, sizeof(why)) != 0) {
		http_param_refuse(r, "query.refused", why);
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

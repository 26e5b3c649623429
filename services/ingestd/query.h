/*
 * query - ingestd's read side: the city's records as JSON over HTTP.
 *
 *   GET /v1/enterprises/{uscc}   one enterprise with its responsibility,
 *                                points, major hazard sources, open hidden
 *                                hazards and active dangerous operations
 *   GET /v1/hazards              hidden hazards: status, level, district,
 *                                uscc, overdue
 *   GET /v1/operations           dangerous operations: active, uscc, type
 *   GET /v1/accidents            accidents: year, district, grade
 *
 * The lists page with limit (default 100, at most 1000) and cursor (the
 * "next" of the previous page, opaque) and answer
 * {"items":[...],"next":"<cursor>"|null,"total":n}, newest first.  Every
 * route needs a source's bearer token, checked by api_auth like ingest;
 * any valid source may read the whole city (a source's scope limits what
 * it may write, not what it may see: the sector systems and the duty
 * consoles need the neighbours' records too).
 *
 * query.c checks the parameters (strictly: an unknown or repeated
 * parameter, or a bad value, is a 400 naming it) and answers; query_store.c
 * holds the SQL, which builds the JSON in PostgreSQL.  main.c owns one
 * struct query and registers query_routes with it as the table's arg.  The
 * handlers run their one statement on the loop's own store (blocking), each
 * bounded by QUERY_STATEMENT_TIMEOUT_MS and by its LIMIT.
 */
#ifndef ANQUAN_INGESTD_QUERY_H
#define ANQUAN_INGESTD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "http.h"
#include "store.h"

struct registry;

/* Page sizes of the lists. */
#define QUERY_LIMIT_DEFAULT 100
#define QUERY_LIMIT_MAX 1000
/* Rows of each list embedded in an enterprise (points, hazards, ...). */
#define QUERY_EMBED_MAX 1000
/* Longest a query statement may run: the loop waits for it. */
#define QUERY_STATEMENT_TIMEOUT_MS 2000
/* Longest record id a cursor carries (as events.id). */
#define QUERY_ID_MAX 200
/* Longest cursor text accepted (base64url of the time and an id). */
#define QUERY_CURSOR_MAX 300

/* What main.c gives the routes: both borrowed, used on the loop only. */
struct query {
	struct registry *reg; /* district codes are checked against it */
	struct store *store;  /* the loop's store (daemon_store) */
};

/* The routes (handlers take the struct query as arg) and their count. */
#define QUERY_NROUTES 4
extern const struct http_route query_routes[QUERY_NROUTES];

/* --- the SQL side (query_store.c) ---------------------------------------- */

/* Where a list page starts: after (ts_us, id) of the previous page. */
struct query_page {
	int limit;
	bool has_cursor;
	int64_t cursor_us; /* sort time, microseconds since the epoch */
	char cursor_id[QUERY_ID_MAX + 1];
};

/* Filters of GET /v1/hazards; NULL or -1: not filtered. */
struct query_hazard_filter {
	const char *status;
	const char *level;
	const char *district;
	const char *uscc;
	int overdue; /* 1 overdue only, 0 not overdue only, -1 all */
};

/* Filters of GET /v1/operations. */
struct query_operation_filter {
	int active; /* 1 running now, 0 not running, -1 all */
	const char *uscc;
	const char *type;
};

/* Filters of GET /v1/accidents. */
struct query_accident_filter {
	int year; /* 0: every year */
	const char *district;
	const char *grade;
};

/*
 * Each runs one read-only statement under QUERY_STATEMENT_TIMEOUT_MS and
 * returns 1 with the answer's JSON text in *json (the caller PQclear()s
 * *res, which holds it), 0 when the enterprise is unknown, or -1 with *err.
 */
int query_store_enterprise(struct store *st, const char *uscc, PGresult **res,
    const char **json, struct store_err *err);
int query_store_hazards(struct store *st, const struct query_hazard_filter *f,
    const struct query_page *page, PGresult **res, const char **json,
    struct store_err *err);
int query_store_operations(struct store *st,
    const struct query_operation_filter *f, const struct query_page *page,
    PGresult **res, const char **json, struct store_err *err);
int query_store_accidents(struct store *st,
    const struct query_accident_filter *f, const struct query_page *page,
    PGresult **res, const char **json, struct store_err *err);

/* --- pure helpers, exported for tests ----------------------------------- */

/*
 * Decode a cursor made by the SQL of query_store.c (base64url of
 * "<microseconds>:<id>") into page; 0, or -1 with the reason in why.
 */
int query_cursor_parse(
    const char *text, struct query_page *page, char *why, size_t whysize);

#endif

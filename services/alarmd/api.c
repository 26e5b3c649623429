/*
 * api - alarmd's HTTP API: the incidents duty officers see and act on,
 * the silences they set, and the gaps in the duty rosters (DESIGN.md 4.2;
 * api.h lists the routes).
 *
 * main.c registers api_routes and calls api_set() before the loop runs;
 * the handlers run on the loop's thread with the daemon's store
 * (alarmd_store()), between two of the bus consumer's transactions, and
 * the loop waits for each statement: reads are bounded (a limit, indexed
 * filters, API_STATEMENT_TIMEOUT_MS) and read-only.  While the store is
 * out of reach every route answers 503 with Retry-After.
 *
 * Reading needs no token (alarmd listens on the loopback or the duty
 * room's network, as the console does).  Acting does: acknowledge,
 * resolve, create and expire a silence are HTTP_ROUTE_AUTH routes whose
 * principal is the officer of the bearer token (officers.c), who is
 * recorded as the actor.  Acknowledge and resolve go through the core
 * (alarmd_act()), which owns the incident's life cycle, its
 * notifications and its audit entries, and answer the incident as it
 * then is; a refusal is 404 not_found, 409 refused (with the life
 * cycle's reason in Chinese, shown to the officer as is) or 503
 * store_unavailable.  A silence is written here with its audit entry in
 * one transaction (api_store.c), and the core is told afterwards so it
 * re-reads the silences in force.
 *
 * Every query parameter is checked before anything is read, with the
 * checks ingestd's and riskd's read routes use (common/http_param.c): one
 * the route does not take, one given twice or a bad value is a 400
 * "bad_parameter" naming it; a body that cannot be used is a 400
 * "invalid_body" naming the field (api_pure.c).  Times are RFC 3339 with
 * +08:00 as PostgreSQL prints them.  Nothing allocated outlives a handler.
 */
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarmd.h"
#include "api.h"
#include "http_param.h"
#include "log.h"
#include "timeutil.h"

static struct alarmd *api_a;

void
api_set(struct alarmd *a)
{
	api_a = a;
}

/* --- answers ------------------------------------------------------------ */

/* The daemon's store, or NULL after answering 503 (before api_set()). */
static struct store *
store_of(struct http_req *r)
{
	struct store *st = api_a != NULL ? alarmd_store(api_a) : NULL;

	if (st == NULL) {
		http_set_retry_after(r, 1);
		http_reply_error(r, 503, "not_ready", "alarmd is starting");
	}
	return st;
}

/* Answer a store failure of what (a few words for the log). */
static void
store_failed(struct http_req *r, const char *what, const struct store_err *e)
{
	char q[300];

	log_warn("api.store_failed", "id=%s what=%s sqlstate=%s error=%s",
	    http_req_id(r), what, e->sqlstate, log_quote(q, sizeof(q), e->msg));
	if (e->kind == STORE_ERR_CONN) {
		http_set_retry_after(r, 1);
		http_reply_error(r, 503, "store_unavailable",
		    "the store is out of reach; ask again shortly");
	} else if (strcmp(e->sqlstate, "57014") == 0) {
		http_set_retry_after(r, 1);
		http_reply_error(r, 503, "too_slow",
		    "the %s ran longer than %d ms and was stopped; narrow it "
		    "with filters or a smaller limit",
		    what, API_STATEMENT_TIMEOUT_MS);
	} else if (strcmp(e->sqlstate, "42P01") == 0 ||
	           strcmp(e->sqlstate, "42703") == 0 ||
	           strcmp(e->sqlstate, "42883") == 0) {
		http_reply_error(r, 503, "schema_outdated",
		    "the store's schema lacks what the %s needs (%s): the "
		    "operator should run safetyctl migrate",
		    what, e->msg);
	} else {
		http_reply_error(r, 500, "store_error",
		    "the store could not answer the %s: %s", what, e->msg);
	}
}

/* A JSON text made by the store, as the answer. */
static void
reply_text_json(struct http_req *r, int status, const char *json)
{
	http_reply_text(
	    r, status, "application/json; charset=utf-8", json, strlen(json));
}

/* Send w, or a 500 when memory ran out while writing it; frees w. */
static void
reply_out(struct http_req *r, int status, struct json_out *w)
{
	if (json_out_failed(w)) {
		log_error("api.oom", "id=%s path=%s", http_req_id(r),
		    http_req_path(r));
		http_reply_error(r, 500, "out_of_memory",
		    "alarmd ran out of memory writing the answer");
	} else
		http_reply_json(r, status, w);
	json_out_free(w);
}

/* Refuse the query's parameters unless they are among names; 1 refused. */
static int
refuse_names(struct http_req *r, const char *const *names)
{
	char why[HTTP_PARAM_WHY_SIZE];

	if (http_param_known(r, names, why, sizeof(why)) == 0)
		return 0;
	http_param_refuse(r, "api.refused", why);
	return 1;
}

/* The {id} of the path; 0 after answering 400. */
static int64_t
path_id(struct http_req *r, const char *what)
{
	const char *v = http_req_param(r, "id");
	char why[HTTP_PARAM_WHY_SIZE], sb[64];
	int64_t id;

	if (api_id_parse(v, &id) == 0)
		return id;
	snprintf(why, sizeof(why),
	    "parameter 'id' must be %s id, a whole number from 1 to %" PRId64
	    "; got '%s'",
	    what, INT64_MAX,
	    http_param_shown(v != NULL ? v : "", sb, sizeof(sb)));
	http_param_refuse(r, "api.refused", why);
	return 0;
}

/* The officer a token named (the route has HTTP_ROUTE_AUTH). */
static const struct officer *
officer_of(struct http_req *r)
{
	const struct officer *who = http_req_principal(r);

	assert(who != NULL);
	return who;
}

/*
 * Epoch ms as RFC 3339 in city time the way PostgreSQL prints a
 * timestamptz, so the times written here look like the store's: the
 * fraction only when not zero, without trailing zeros.
 */
static void
out_time(struct json_out *w, const char *key, int64_t ms)
{
	char buf[TIMEUTIL_RFC3339_SIZE];
	char *frac = buf + 19; /* ".mmm" */
	int keep = 3;

	json_out_key(w, key);
	if (timeutil_format_rfc3339(ms, buf, sizeof(buf)) == 0) {
		json_out_null(w);
		return;
	}
	while (keep > 0 && frac[keep] == '0')
		keep--;
	memmove(
	    frac + (keep > 0 ? keep + 1 : 0), frac + 4, strlen(frac + 4) + 1);
	json_out_str(w, buf);
}

/* --- GET /v1/incidents -------------------------------------------------- */

static void
get_incidents(struct http_req *r, void *arg)
{
	static const char *const names[] = {
	    "status", "level", "district", "uscc", "limit", "before", NULL};
	static const char *const statuses[] = {
	    "firing", "acknowledged", "resolved", "open", NULL};
	static const char *const levels[] = {
	    "blue", "yellow", "orange", "red", NULL};
	struct api_inc_filter f = {0};
	long limit = API_LIST_LIMIT_DEFAULT, before = 0;
	struct store_err err;
	struct store *st;
	const char *json;
	PGresult *res;
	char why[HTTP_PARAM_WHY_SIZE];

	(void)arg;
	if (refuse_names(r, names))
		return;
	if (http_param_enum(
	        r, "status", statuses, &f.status, why, sizeof(why)) != 0 ||
	    http_param_enum(r, "level", levels, &f.level, why, sizeof(why)) !=
	        0 ||
	    http_param_district(r, "district", NULL, NULL, &f.district, why,
	        sizeof(why)) != 0 ||
	    http_param_uscc(r, "uscc", &f.uscc, why, sizeof(why)) != 0 ||
	    http_param_int(r, "limit", 1, API_LIST_LIMIT_MAX, &limit, why,
	        sizeof(why)) != 0 ||
	    http_param_int(
	        r, "before", 1, LONG_MAX, &before, why, sizeof(why)) != 0) {
		http_param_refuse(r, "api.refused", why);
		return;
	}
	f.limit = (int)limit;
	f.before = before;
	if ((st = store_of(r)) == NULL)
		return;
	if (api_store_incidents(st, &f, &res, &json, &err) != 0) {
		store_failed(r, "incident list", &err);
		return;
	}
	reply_text_json(r, 200, json);
	PQclear(res);
}

/* --- GET /v1/incidents/{id} --------------------------------------------- */

static void
get_incident(struct http_req *r, void *arg)
{
	static const char *const names[] = {NULL};
	struct store_err err;
	struct store *st;
	const char *json;
	PGresult *res;
	int64_t id;
	int rc;

	(void)arg;
	if (refuse_names(r, names) || (id = path_id(r, "an incident")) == 0 ||
	    (st = store_of(r)) == NULL)
		return;
	rc = api_store_incident(st, id, 1, &res, &json, &err);
	if (rc < 0) {
		store_failed(r, "incident", &err);
		return;
	}
	if (rc == 1) {
		http_reply_error(
		    r, 404, "not_found", "there is no incident %" PRId64, id);
		return;
	}
	reply_text_json(r, 200, json);
	PQclear(res);
}

/* --- POST /v1/incidents/{id}/ack and /resolve --------------------------- */

/* The code of a status alarmd_act() refused with. */
static const char *
act_error(int status)
{
	switch (status) {
	case 404:
		return "not_found";
	case 409:
		return "refused";
	case 503:
		return "store_unavailable";
	}
	return "internal";
}

static void
act(struct http_req *r, int to)
{
	static const char *const names[] = {NULL};
	const struct officer *who = officer_of(r);
	const char *body, *verb = to == AL_ACKED ? "ack" : "resolve";
	struct json_out w;
	char why[HTTP_PARAM_WHY_SIZE + 200], q[HTTP_PARAM_WHY_SIZE + 200];
	char *note = NULL;
	int64_t id;
	size_t len;
	int status = 0;

	if (refuse_names(r, names) || (id = path_id(r, "an incident")) == 0)
		return;
	body = http_req_body(r, &len);
	why[0] = '\0';
	if (api_note_parse(body, len, &note, why, sizeof(why)) != 0) {
		log_info("api.refused",
		    "id=%s incident=%" PRId64 " action=%s why=%s",
		    http_req_id(r), id, verb, log_quote(q, sizeof(q), why));
		http_reply_error(r, 400, "invalid_body", "%s", why);
		return;
	}
	if (api_a == NULL) {
		free(note);
		store_of(r);
		return;
	}
	why[0] = '\0';
	if (alarmd_act(api_a, id, to, who, note, &status, why, sizeof(why)) !=
	    0) {
		free(note);
		log_info("api.act_refused",
		    "id=%s incident=%" PRId64
		    " action=%s officer=%s status=%d why=%s",
		    http_req_id(r), id, verb, who->id, status,
		    log_quote(q, sizeof(q), why));
		if (status == 503)
			http_set_retry_after(r, 1);
		if (status == 404 && why[0] == '\0')
			snprintf(why, sizeof(why),
			    "there is no incident %" PRId64, id);
		http_reply_error(r,
		    status >= 400 && status <= 599 ? status : 500,
		    act_error(status), "%s",
		    why[0] != '\0' ? why : "the action was not carried out");
		return;
	}
	free(note);
	json_out_init(&w);
	if (api_incident_json(alarmd_store(api_a), id, &w) != 0) {
		/* Done and committed; only reading it back failed.  Say what
		 * is known rather than an error the officer would retry. */
		json_out_reset(&w);
		json_out_obj_open(&w);
		json_out_kv_str(&w, "id", http_req_param(r, "id"));
		json_out_kv_str(
		    &w, "status", to == AL_ACKED ? "acknowledged" : "resolved");
		json_out_obj_close(&w);
	}
	reply_out(r, 200, &w);
}

static void
post_ack(struct http_req *r, void *arg)
{
	(void)arg;
	act(r, AL_ACKED);
}

static void
post_resolve(struct http_req *r, void *arg)
{
	(void)arg;
	act(r, AL_RESOLVED);
}

/* --- silences ----------------------------------------------------------- */

static void
get_silences(struct http_req *r, void *arg)
{
	static const char *const names[] = {"active", "limit", NULL};
	long limit = API_LIST_LIMIT_DEFAULT;
	struct store_err err;
	struct store *st;
	const char *json;
	PGresult *res;
	char why[HTTP_PARAM_WHY_SIZE];
	int active;

	(void)arg;
	if (refuse_names(r, names))
		return;
	if (http_param_flag(r, "active", &active, why, sizeof(why)) != 0 ||
	    http_param_int(r, "limit", 1, API_LIST_LIMIT_MAX, &limit, why,
	        sizeof(why)) != 0) {
		http_param_refuse(r, "api.refused", why);
		return;
	}
	if ((st = store_of(r)) == NULL)
		return;
	if (api_store_silences(st, active, (int)limit, &res, &json, &err) !=
	    0) {
		store_failed(r, "silence list", &err);
		return;
	}
	reply_text_json(r, 200, json);
	PQclear(res);
}

static void
post_silence(struct http_req *r, void *arg)
{
	static const char *const names[] = {NULL};
	const struct officer *who = officer_of(r);
	struct api_silence_in in;
	struct store_err err;
	struct store *st;
	const char *body, *json;
	PGresult *res;
	char why[HTTP_PARAM_WHY_SIZE + 200], q[HTTP_PARAM_WHY_SIZE + 200];
	int64_t id;
	size_t len;

	(void)arg;
	if (refuse_names(r, names))
		return;
	body = http_req_body(r, &len);
	if (api_silence_parse(
	        body, len, timeutil_now_ms(), &in, why, sizeof(why)) != 0) {
		log_info("api.refused", "id=%s officer=%s why=%s",
		    http_req_id(r), who->id, log_quote(q, sizeof(q), why));
		http_reply_error(r, 400, "invalid_body", "%s", why);
		return;
	}
	if ((st = store_of(r)) == NULL)
		return;
	if (api_store_silence_create(
	        st, &in, who->id, &res, &json, &id, &err) != 0) {
		store_failed(r, "new silence", &err);
		return;
	}
	log_info("silence.created", "id=%s silence=%" PRId64 " officer=%s",
	    http_req_id(r), id, who->id);
	reply_text_json(r, 201, json);
	PQclear(res);
	alarmd_silences_changed(api_a);
}

/* 409 for a silence that is over already: say since when and why. */
static void
silence_over(struct http_req *r, int64_t id, const char *json)
{
	struct json_err jerr;
	struct json_out w;
	const char *state = NULL, *when = NULL, *by = NULL;
	cJSON *s = json_parse(json, strlen(json), &jerr);
	char msg[300];

	if (s != NULL) {
		json_get_str(s, "state", &state, false, &jerr);
		json_get_str(s, "expired_by", &by, false, &jerr);
		json_get_str(s,
		    state != NULL && strcmp(state, "expired") == 0
		        ? "expired_at"
		        : "ends_at",
		    &when, false, &jerr);
	}
	if (state != NULL && strcmp(state, "expired") == 0)
		snprintf(msg, sizeof(msg),
		    "silence %" PRId64 " was expired already, by %s at %s", id,
		    by != NULL ? by : "?", when != NULL ? when : "?");
	else
		snprintf(msg, sizeof(msg),
		    "silence %" PRId64 " ended already, at %s", id,
		    when != NULL ? when : "?");
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_str(&w, "error", "refused");
	json_out_kv_str(&w, "message", msg);
	json_out_key(&w, "silence");
	json_out_raw(&w, json, strlen(json));
	json_out_obj_close(&w);
	cJSON_Delete(s);
	reply_out(r, 409, &w);
}

static void
delete_silence(struct http_req *r, void *arg)
{
	static const char *const names[] = {NULL};
	const struct officer *who = officer_of(r);
	struct store_err err;
	struct store *st;
	const char *json;
	PGresult *res;
	int64_t id;
	int rc;

	(void)arg;
	if (refuse_names(r, names) || (id = path_id(r, "a silence")) == 0 ||
	    (st = store_of(r)) == NULL)
		return;
	rc = api_store_silence_expire(st, id, who->id, &res, &json, &err);
	switch (rc) {
	case 0:
		log_info("silence.expired",
		    "id=%s silence=%" PRId64 " officer=%s", http_req_id(r), id,
		    who->id);
		reply_text_json(r, 200, json);
		PQclear(res);
		alarmd_silences_changed(api_a);
		return;
	case 1:
		http_reply_error(
		    r, 404, "not_found", "there is no silence %" PRId64, id);
		return;
	case 2:
		silence_over(r, id, json);
		PQclear(res);
		return;
	}
	store_failed(r, "expiry of the silence", &err);
}

/* --- GET /v1/rosters/gaps ----------------------------------------------- */

/* Where each unit's shifts are in the list (ordered by unit). */
struct unit_run {
	size_t first, n;
};

/*
 * Group the shifts (column 0 the unit; equal units are adjacent, in the
 * store's collation) under the units they belong to, into runs[] (one per
 * row of units) and their spans into spans[].
 */
static void
group_shifts(const PGresult *units, const PGresult *shifts,
    struct unit_run *runs, struct api_span *spans)
{
	int nu = PQntuples(units), ns = PQntuples(shifts);

	for (int i = 0; i < ns;) {
		const char *unit = PQgetvalue(shifts, i, 0);
		int j = i, u;

		for (; j < ns && strcmp(PQgetvalue(shifts, j, 0), unit) == 0;
		     j++) {
			spans[j].start_ms =
			    strtoll(PQgetvalue(shifts, j, 1), NULL, 10);
			spans[j].end_ms =
			    strtoll(PQgetvalue(shifts, j, 2), NULL, 10);
		}
		for (u = 0; u < nu; u++)
			if (strcmp(PQgetvalue(units, u, 0), unit) == 0)
				break;
		if (u < nu) {
			runs[u].first = (size_t)i;
			runs[u].n = (size_t)(j - i);
		}
		i = j;
	}
}

/* Write the gaps of every unit; -1 when memory ran out. */
static int
out_gaps(struct json_out *w, const PGresult *units, const PGresult *shifts,
    int64_t from_ms, int64_t to_ms)
{
	int nu = PQntuples(units), ns = PQntuples(shifts);
	struct unit_run *runs = calloc((size_t)nu + 1, sizeof(*runs));
	struct api_span *spans = calloc((size_t)ns + 1, sizeof(*spans));
	struct route_gap *gaps = calloc(API_GAPS_MAX, sizeof(*gaps));
	size_t listed = 0, total = 0;
	int rc = -1;

	if (runs == NULL || spans == NULL || gaps == NULL)
		goto out;
	group_shifts(units, shifts, runs, spans);
	json_out_key(w, "gaps");
	json_out_arr_open(w);
	for (int u = 0; u < nu; u++) {
		size_t room = API_GAPS_MAX - listed, all, shown;

		all = api_unit_gaps(PQgetvalue(units, u, 0),
		    spans + runs[u].first, runs[u].n, from_ms, to_ms,
		    gaps + listed, room);
		if (all == SIZE_MAX)
			goto out;
		shown = all < room ? all : room;
		for (size_t g = listed; g < listed + shown; g++) {
			double hours =
			    (double)(gaps[g].to_ms - gaps[g].from_ms) / 3.6e6;

			json_out_obj_open(w);
			json_out_kv_str(w, "unit", PQgetvalue(units, u, 0));
			json_out_kv_str(
			    w, "unit_name", PQgetvalue(units, u, 1));
			json_out_kv_str(
			    w, "unit_kind", PQgetvalue(units, u, 2));
			out_time(w, "from", gaps[g].from_ms);
			out_time(w, "to", gaps[g].to_ms);
			json_out_kv_double(
			    w, "hours", round(hours * 100) / 100);
			json_out_obj_close(w);
		}
		listed += shown;
		total += all;
	}
	json_out_arr_close(w);
	json_out_kv_int(w, "units", nu);
	json_out_kv_int(w, "count", (int64_t)listed);
	json_out_kv_bool(w, "truncated", total > listed);
	rc = 0;
out:
	free(runs);
	free(spans);
	free(gaps);
	return rc;
}

static void
get_roster_gaps(struct http_req *r, void *arg)
{
	static const char *const names[] = {"days", NULL};
	long days = API_GAPS_DAYS_DEFAULT;
	struct store_err err;
	struct store *st;
	struct json_out w;
	PGresult *units, *shifts;
	char why[HTTP_PARAM_WHY_SIZE];
	int64_t from_ms, to_ms;

	(void)arg;
	if (refuse_names(r, names))
		return;
	if (http_param_int(r, "days", 1, API_GAPS_DAYS_MAX, &days, why,
	        sizeof(why)) != 0) {
		http_param_refuse(r, "api.refused", why);
		return;
	}
	if ((st = store_of(r)) == NULL)
		return;
	from_ms = timeutil_now_ms();
	to_ms = from_ms + days * TIMEUTIL_MS_PER_DAY;
	if (api_store_roster(st, from_ms, to_ms, &units, &shifts, &err) != 0) {
		store_failed(r, "roster gaps", &err);
		return;
	}
	if (PQntuples(shifts) > API_GAPS_SHIFTS_MAX) {
		log_warn("api.gaps_too_many", "id=%s days=%ld shifts=%d",
		    http_req_id(r), days, PQntuples(shifts));
		http_reply_error(r, 500, "too_many_shifts",
		    "the rosters hold more than %d shifts in the next %ld "
		    "days; ask for fewer days",
		    API_GAPS_SHIFTS_MAX, days);
		PQclear(units);
		PQclear(shifts);
		return;
	}
	json_out_init(&w);
	json_out_obj_open(&w);
	out_time(&w, "from", from_ms);
	out_time(&w, "to", to_ms);
	json_out_kv_int(&w, "days", days);
	if (out_gaps(&w, units, shifts, from_ms, to_ms) != 0) {
		log_error("api.oom", "id=%s path=%s", http_req_id(r),
		    http_req_path(r));
		http_reply_error(r, 500, "out_of_memory",
		    "alarmd ran out of memory computing the gaps");
		json_out_free(&w);
	} else {
		json_out_obj_close(&w);
		reply_out(r, 200, &w);
	}
	PQclear(units);
	PQclear(shifts);
}

/* --- the table ---------------------------------------------------------- */

const struct http_route api_routes[] = {
    {"GET", "/v1/incidents", get_incidents, 0},
    {"GET", "/v1/incidents/{id}", get_incident, 0},
    {"POST", "/v1/incidents/{id}/ack", post_ack, HTTP_ROUTE_AUTH},
    {"POST", "/v1/incidents/{id}/resolve", post_resolve, HTTP_ROUTE_AUTH},
    {"GET", "/v1/silences", get_silences, 0},
    {"POST", "/v1/silences", post_silence, HTTP_ROUTE_AUTH},
    {"DELETE", "/v1/silences/{id}", delete_silence, HTTP_ROUTE_AUTH},
    {"GET", "/v1/rosters/gaps", get_roster_gaps, 0},
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

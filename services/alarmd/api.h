/*
 * api - alarmd's HTTP API (DESIGN.md 4.2): incidents, the officers'
 * acknowledge and resolve, silences, and the gaps in the duty rosters.
 *
 *   GET    /v1/incidents              newest first (status, level,
 *                                     district, uscc, limit, before)
 *   GET    /v1/incidents/{id}         one, with its alarms and its
 *                                     notifications, deliveries, attempts
 *   POST   /v1/incidents/{id}/ack     签收 (officer token)
 *   POST   /v1/incidents/{id}/resolve 办结 (officer token)
 *   GET    /v1/silences               newest first (active, limit)
 *   POST   /v1/silences               a silence (officer token)
 *   DELETE /v1/silences/{id}          expire it (officer token)
 *   GET    /v1/rosters/gaps           stretches nobody is on duty (days)
 *
 * main.c registers api_routes and calls api_set() with the daemon before
 * the loop runs; the handlers run on the loop's thread and use the
 * daemon's store connection (alarmd_store()) between two of the bus
 * consumer's transactions.  Officers' actions go through the core
 * (alarmd_act()), which owns every change to an incident; silences are
 * written here, each with its audit entry in one transaction, and the
 * core is told afterwards (alarmd_silences_changed()).
 *
 * Three files: api.c the routes and their answers, api_store.c the SQL
 * (every statement parameterised; the answers are built as JSON by
 * PostgreSQL), api_pure.c the pure parts (decoding what a client sends,
 * the roster gaps over a unit's shifts) that the unit tests drive.
 */
#ifndef ANQUAN_ALARMD_API_H
#define ANQUAN_ALARMD_API_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "http.h"
#include "ids.h"
#include "json.h"
#include "policy.h"
#include "route.h"
#include "store.h"

struct alarmd;

/* The routes, for http_server_add_routes(). */
extern const struct http_route api_routes[];
extern const size_t api_nroutes;

/* The daemon the handlers work for; before the loop runs. */
void api_set(struct alarmd *a);

/*
 * Write incident id as the API shows it (an object: id as a string,
 * status, level, cause, enterprise {uscc, name, district, district_name,
 * sector, sector_name} or null, title, summary, reasons, alarm_count,
 * open_alarms, tier, opened_at, notified_at, acknowledged_at,
 * acknowledged_by, resolved_at, resolved_by, resolution, cleared_at,
 * silenced, inhibited, flapping, next_step, next_step_at) as the next
 * value of out; district and sector are codes, their names null when the
 * reference tables do not hold the code.  One statement on st, inside or
 * outside the caller's transaction.  0 written; 1 no such incident; -1
 * the store failed (logged).  Nothing is written unless 0.
 */
int api_incident_json(struct store *st, int64_t id, struct json_out *out);
/* The incidents ids[0..n) as the list shows them, in one statement: fn is
 * called with each one's JSON (an id no longer there is left out).  No
 * transaction control, as api_incident_json.  0 or -1 (logged). */
int api_incidents_json(struct store *st, const int64_t *ids, size_t n,
    void (*fn)(const char *json, void *arg), void *arg);

/* --- limits ------------------------------------------------------------- */

/* Page sizes of the lists. */
#define API_LIST_LIMIT_DEFAULT 100
#define API_LIST_LIMIT_MAX 1000
/* What one incident's detail shows at most: the newest alarms, the newest
 * notifications, the newest attempts of each delivery. */
#define API_DETAIL_ALARMS_MAX 500
#define API_DETAIL_NOTIFICATIONS_MAX 100
#define API_DETAIL_ATTEMPTS_MAX 20
/* Longest a read may run: alarmd's loop (and its alarms) waits for it. */
#define API_STATEMENT_TIMEOUT_MS 1000
/* Roster gaps: days ahead, and the shifts one answer reads at most. */
#define API_GAPS_DAYS_DEFAULT 7
#define API_GAPS_DAYS_MAX 31
#define API_GAPS_SHIFTS_MAX 200000
/* Gaps listed at most (the answer says when it was cut). */
#define API_GAPS_MAX 5000

/* --- api_store.c: the SQL ---------------------------------------------- */

/* Filters of GET /v1/incidents; NULL or 0: not filtered.  Borrowed. */
struct api_inc_filter {
	const char *status; /* firing, acknowledged, resolved, open */
	const char *level;
	const char *district;
	const char *uscc;
	int64_t before; /* ids below this one */
	int limit;      /* 1..API_LIST_LIMIT_MAX */
};

/*
 * The answers below come as one JSON text in *json, held by *res (the
 * caller PQclear()s it); on -1 *res is NULL and *err says why.  Reads run
 * in a read-only transaction under API_STATEMENT_TIMEOUT_MS.
 */

/* {"incidents":[...],"count":n,"more":bool,"next_before":id|null}. */
int api_store_incidents(struct store *st, const struct api_inc_filter *f,
    PGresult **res, const char **json, struct store_err *err);

/*
 * One incident: with detail, plus "alarms" (newest first), "alarms_more",
 * "notifications" (in the order sent, each with its "deliveries" and
 * their "outcomes").  0, 1 when there is no such incident (*res NULL),
 * -1.  Without detail it is one statement and no transaction of its own.
 */
int api_store_incident(struct store *st, int64_t id, int detail, PGresult **res,
    const char **json, struct store_err *err);

/* Silences, newest first: active 1 in force now, 0 not, -1 all.
 * {"silences":[...],"count":n,"more":bool}; each silence carries the
 * name of the district it matches as district_name (or null). */
int api_store_silences(struct store *st, int active, int limit, PGresult **res,
    const char **json, struct store_err *err);

/* A silence to create (api_silence_parse() fills it). */
struct api_silence_in {
	/* Matchers; "" when not given. */
	char uscc[IDS_USCC_SIZE];
	char district[8];
	char point[516];
	char cause[200];
	int has_level;
	enum al_level level;
	char reason[2004];
	/* The silence runs from now (the store's clock) for duration_ms, or
	 * when that is 0 until ends_ms; starts_ms is the caller's now. */
	int64_t duration_ms;
	int64_t starts_ms, ends_ms;
};

/*
 * Create the silence by author, with its audit entry (silence.created),
 * in one transaction.  0 with the silence in *json and its id in *id, or
 * -1.
 */
int api_store_silence_create(struct store *st, const struct api_silence_in *in,
    const char *author, PGresult **res, const char **json, int64_t *id,
    struct store_err *err);

/*
 * Expire silence id (expired_at now, expired_by by), with its audit entry
 * (silence.expired), in one transaction.  0 done, 1 no such silence, 2 it
 * was over already (expired or ended; *json is the silence as it is), -1.
 */
int api_store_silence_expire(struct store *st, int64_t id, const char *by,
    PGresult **res, const char **json, struct store_err *err);

/*
 * What the roster gaps are computed from, read in one snapshot: *units
 * the units that must be covered (columns code, name, kind: the city
 * office AWB, then the districts, then the other departments, by code),
 * *shifts the duty_rosters shifts overlapping [from_ms, to_ms) (columns
 * unit, start_ms, end_ms, ordered by unit and start; at most
 * API_GAPS_SHIFTS_MAX + 1 rows).  0, or -1 with both NULL.
 */
int api_store_roster(struct store *st, int64_t from_ms, int64_t to_ms,
    PGresult **units, PGresult **shifts, struct store_err *err);

/* --- api_pure.c: no store, no clock ------------------------------------ */

/* Longest officer's note and silence reason, in characters. */
#define API_NOTE_MAX_CHARS 2000
#define API_REASON_MAX_CHARS 500
/* A silence lasts from 1 minute to 30 days. */
#define API_SILENCE_MIN_MS INT64_C(60000)
#define API_SILENCE_MAX_MS (INT64_C(30) * 86400000)

/* An id as a path carries it: decimal digits, 1..INT64_MAX, no sign, no
 * leading zero; 0 or -1. */
int api_id_parse(const char *s, int64_t *out);

/*
 * A duration: one or more <number><unit> with units s, m, h, d ("2h",
 * "1h30m", "7d"), no spaces.  0 with *ms, or -1 with why.
 */
int api_duration_parse(const char *s, int64_t *ms, char *why, size_t wlen);

/*
 * The body of ack and resolve: empty, or {"note": "..."} (the note may be
 * absent or null).  0 with *note a malloc'd copy (NULL when none; the
 * caller frees it), or -1 with why.
 */
int api_note_parse(
    const char *body, size_t len, char **note, char *why, size_t wlen);

/*
 * The body of POST /v1/silences at now_ms: {"matchers": {uscc?, district?,
 * point?, cause?, level?} (at least one), "reason": "...", and either
 * "duration" or "ends_at" (RFC 3339), lasting API_SILENCE_MIN_MS to
 * API_SILENCE_MAX_MS}.  0 with *out filled (starts_ms = now_ms; ends_ms
 * from either; duration_ms only from duration), or -1 with why naming
 * the field.
 */
int api_silence_parse(const char *body, size_t len, int64_t now_ms,
    struct api_silence_in *out, char *why, size_t wlen);

/* The matchers of in as a JSON object (only those given) into w. */
void api_silence_matchers_json(
    const struct api_silence_in *in, struct json_out *w);

/* A shift as the gaps need it: [start, end). */
struct api_span {
	int64_t start_ms, end_ms;
};

/*
 * The stretches of [from_ms, to_ms) that none of a unit's shifts (sorted
 * by start) covers, in order and merged, through route_gaps() over
 * bounded pieces of the list, so the memory used does not grow with the
 * number of shifts.  At most max written; the count of all returned, or
 * SIZE_MAX when memory ran out.
 */
size_t api_unit_gaps(const char *unit, const struct api_span *shifts, size_t n,
    int64_t from_ms, int64_t to_ms, struct route_gap *out, size_t max);

#endif

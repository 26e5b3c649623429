/*
 * api_store - the SQL of alarmd's HTTP API: incidents, silences and what
 * the roster gaps are computed from.
 *
 * api.c checks the parameters and calls one function here per route, on
 * the daemon's store (alarmd_store()), on the loop's thread between two of
 * the bus consumer's transactions.  As ingestd's and riskd's read routes
 * do (services/ingestd/query_store.c says why), each read returns the
 * whole answer as one JSON text made by PostgreSQL with json_build_object
 * and json_agg: one round trip, numbers as numbers, NULL as null, times in
 * RFC 3339 with +08:00 (every store connection runs in Asia/Shanghai), and
 * Chinese passing through as UTF-8; json, not jsonb, keeps the keys in the
 * order written here.  Codes of districts and sectors are answered with
 * their names beside them, looked up in the reference tables by the same
 * statement.  Filters are fixed in the text with the ($n IS NULL OR ...)
 * pattern, never spliced in.  Lists read limit + 1 rows so that "more"
 * can say the list was cut without counting the whole table.
 *
 * Reads run in a read-only transaction with a statement_timeout of their
 * own, so they can neither write nor hold the loop long.  The incident
 * alone (api_store_incident() without detail, behind api_incident_json())
 * is one statement with no transaction control, because the core may call
 * it inside its own transaction.  Each change to a silence commits with
 * its audit entry (audit.h) or not at all.  The caller owns every
 * PGresult handed back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "log.h"
#include "store.h"

/* A double column as JSON takes it: NaN and the infinities are null. */
#define FINITE(X)                                                              \
	"NULLIF(NULLIF(NULLIF(" X ", 'NaN'), 'Infinity'), '-Infinity')"

/*
 * The members of an incident i (api.h lists them), for json_build_object.
 * The enterprise's district and sector come as the codes the incident
 * holds and as their names from the reference tables (0001_reference.sql),
 * null for a code those do not hold so that a client shows the code
 * instead.  Subqueries on the primary keys rather than joins, so that the
 * one fragment serves the list, the incident and its detail alike.
 */
#define INCIDENT_FIELDS                                                        \
	"'id', i.id::text, 'status', i.status, 'level', i.level, "             \
	"'cause', i.cause, "                                                   \
	"'enterprise', CASE WHEN i.uscc IS NULL THEN NULL ELSE "               \
	"  json_build_object('uscc', i.uscc::text, 'name', i.enterprise, "     \
	"    'district', i.district, 'district_name', (SELECT dn.name "        \
	"      FROM districts dn WHERE dn.code = i.district), "                \
	"    'sector', i.sector, 'sector_name', (SELECT sn.name "              \
	"      FROM sectors sn WHERE sn.code = i.sector)) END, "               \
	"'title', i.title, 'summary', i.summary, 'reasons', i.reasons, "       \
	"'alarm_count', i.alarm_count, 'open_alarms', i.open_alarms, "         \
	"'tier', i.tier, 'opened_at', i.opened_at, "                           \
	"'notified_at', i.notified_at, "                                       \
	"'acknowledged_at', i.acknowledged_at, "                               \
	"'acknowledged_by', i.acknowledged_by, "                               \
	"'resolved_at', i.resolved_at, 'resolved_by', i.resolved_by, "         \
	"'resolution', i.resolution, 'cleared_at', i.cleared_at, "             \
	"'silenced', i.silenced_by IS NOT NULL, "                              \
	"'inhibited', i.inhibited_by IS NOT NULL, "                            \
	"'flapping', i.flapping, 'next_step', i.next_step, "                   \
	"'next_step_at', i.next_step_at"

/* A silence s; its state by the transaction's clock; the name of the
 * district it matches (null when it matches none, or an unknown code). */
#define SILENCE_JSON                                                           \
	"json_build_object('id', s.id::text, 'matchers', s.matchers, "         \
	"'district_name', (SELECT dn.name FROM districts dn "                  \
	"  WHERE dn.code = s.matchers->>'district'), "                         \
	"'author', s.author, 'reason', s.reason, "                             \
	"'starts_at', s.starts_at, 'ends_at', s.ends_at, "                     \
	"'created_at', s.created_at, 'expired_at', s.expired_at, "             \
	"'expired_by', s.expired_by, "                                         \
	"'state', CASE WHEN s.expired_at IS NOT NULL THEN 'expired' "          \
	"  WHEN s.ends_at <= now() THEN 'ended' "                              \
	"  WHEN s.starts_at > now() THEN 'pending' ELSE 'active' END, "        \
	"'active', " SILENCE_ACTIVE ")"

#define SILENCE_ACTIVE                                                         \
	"(s.expired_at IS NULL AND s.starts_at <= now() AND "                  \
	"s.ends_at > now())"

/* What the audit entry of a silence records. */
#define SILENCE_AUDIT                                                          \
	"json_build_object('matchers', s.matchers, 'reason', s.reason, "       \
	"'starts_at', s.starts_at, 'ends_at', s.ends_at, "                     \
	"'expired_at', s.expired_at)::text"

static const char incidents_sql[] =
    "WITH page AS ("
    "SELECT * FROM incidents i "
    " WHERE ($1::text IS NULL OR CASE WHEN $1::text = 'open' "
    "        THEN i.status <> 'resolved' ELSE i.status = $1::text END) "
    "   AND ($2::text IS NULL OR i.level = $2::text) "
    "   AND ($3::text IS NULL OR i.district = $3::text) "
    "   AND ($4::text IS NULL OR i.uscc = $4::char(18)) "
    "   AND ($5::bigint IS NULL OR i.id < $5::bigint) "
    " ORDER BY i.id DESC LIMIT $6::int + 1), "
    "shown AS (SELECT * FROM page ORDER BY id DESC LIMIT $6::int) "
    "SELECT json_build_object("
    "'incidents', COALESCE((SELECT json_agg(json_build_object(" INCIDENT_FIELDS
    ") ORDER BY i.id DESC) FROM shown i), '[]'::json), "
    "'count', (SELECT count(*) FROM shown), "
    "'more', (SELECT count(*) FROM page) > $6::int, "
    "'next_before', CASE WHEN (SELECT count(*) FROM page) > $6::int "
    "  THEN (SELECT min(id) FROM shown)::text END)::text";

static const char incident_sql[] =
    "SELECT json_build_object(" INCIDENT_FIELDS ")::text "
    "  FROM incidents i WHERE i.id = $1::bigint";

/*
 * The detail: the newest $2 alarms, the newest $3 notifications (listed in
 * the order sent) with every delivery and the newest $4 attempts of each.
 */
static const char incident_detail_sql[] =
    "SELECT json_build_object(" INCIDENT_FIELDS ", "
    "'alarms', COALESCE((SELECT json_agg(json_build_object("
    "  'id', a.ref, 'point', a.point, 'kind', a.kind, 'level', a.level, "
    "  'value', " FINITE(
        "a.value") ", "
                   "  'threshold', " FINITE(
                       "a.threshold") ", "
                                      "  'at', a.at, 'cleared_at', "
                                      "a.cleared_at) "
                                      "  ORDER BY a.at DESC, a.ref) "
                                      "  FROM (SELECT * FROM incident_alarms x "
                                      "WHERE x.incident_id = i.id "
                                      "        ORDER BY x.at DESC, x.ref LIMIT "
                                      "$2::int) a), '[]'::json), "
                                      "'alarms_more', (SELECT count(*) FROM "
                                      "(SELECT 1 FROM incident_alarms x "
                                      "  WHERE x.incident_id = i.id LIMIT "
                                      "$2::int + 1) c) > $2::int, "
                                      "'notifications', COALESCE((SELECT "
                                      "json_agg(json_build_object("
                                      "  'id', n.id::text, 'status', n.status, "
                                      "'level', n.level, "
                                      "  'tier', n.tier, 'recipients', "
                                      "n.recipients, 'held', n.held, "
                                      "  'created_at', n.created_at, "
                                      "  'deliveries', COALESCE((SELECT "
                                      "json_agg(json_build_object("
                                      "    'id', d.id::text, 'receiver', "
                                      "d.receiver, 'state', d.state, "
                                      "    'attempts', d.attempts, 'next_at', "
                                      "d.next_at, "
                                      "    'last_error', d.last_error, "
                                      "'delivered_at', d.delivered_at, "
                                      "    'receipt', d.receipt, "
                                      "'fallback_of', d.fallback_of::text, "
                                      "    'created_at', d.created_at, "
                                      "    'outcomes', COALESCE((SELECT "
                                      "json_agg(json_build_object("
                                      "      'at', t.at, 'outcome', CASE WHEN "
                                      "t.http_status BETWEEN 200 "
                                      "        AND 299 THEN 'delivered' ELSE "
                                      "'failed' END, "
                                      "      'http_status', t.http_status, "
                                      "      'latency_ms', " FINITE(
                                          "t.latency_ms") ", "
                                                          "      'error', "
                                                          "t.error) ORDER BY "
                                                          "t.id) "
                                                          "      FROM (SELECT "
                                                          "* FROM "
                                                          "delivery_attempts y "
                                                          "            WHERE "
                                                          "y.delivery_id = "
                                                          "d.id "
                                                          "            ORDER "
                                                          "BY y.id DESC LIMIT "
                                                          "$4::int) t), "
                                                          "'[]'::json)) "
                                                          "    ORDER BY d.id) "
                                                          "    FROM deliveries "
                                                          "d WHERE "
                                                          "d.notification_id = "
                                                          "n.id), '[]'::json)) "
                                                          "  ORDER BY n.id) "
                                                          "  FROM (SELECT * "
                                                          "FROM notifications "
                                                          "x WHERE "
                                                          "x.incident_id = "
                                                          "i.id "
                                                          "        ORDER BY "
                                                          "x.id DESC LIMIT "
                                                          "$3::int) n), "
                                                          "'[]'::json), "
                                                          "'notifications_more'"
                                                          ", (SELECT count(*) "
                                                          "FROM (SELECT 1 "
                                                          "  FROM "
                                                          "notifications x "
                                                          "WHERE x.incident_id "
                                                          "= i.id "
                                                          "  LIMIT $3::int + "
                                                          "1) c) > "
                                                          "$3::int)::text "
                                                          "  FROM incidents i "
                                                          "WHERE i.id = "
                                                          "$1::bigint";

static const char silences_sql[] =
    "WITH page AS ("
    "SELECT * FROM silences s "
    " WHERE ($1::int IS NULL OR " SILENCE_ACTIVE " = ($1::int = 1)) "
    " ORDER BY s.id DESC LIMIT $2::int + 1), "
    "shown AS (SELECT * FROM page ORDER BY id DESC LIMIT $2::int) "
    "SELECT json_build_object("
    "'silences', COALESCE((SELECT json_agg(" SILENCE_JSON
    " ORDER BY s.id DESC) FROM shown s), '[]'::json), "
    "'count', (SELECT count(*) FROM shown), "
    "'more', (SELECT count(*) FROM page) > $2::int)::text";

/* $4 duration in ms, or NULL and $5 the end in epoch ms. */
static const char silence_insert_sql[] =
    "INSERT INTO silences AS s (matchers, author, reason, starts_at, "
    "  ends_at) "
    "VALUES ($1::jsonb, $2::text, $3::text, now(), "
    "  CASE WHEN $4::bigint IS NOT NULL "
    "  THEN now() + $4::bigint * interval '1 millisecond' "
    "  ELSE 'epoch'::timestamptz + $5::bigint * interval '1 millisecond' "
    "  END) "
    "RETURNING s.id, " SILENCE_JSON "::text, " SILENCE_AUDIT;

static const char silence_lock_sql[] =
    "SELECT s.expired_at IS NOT NULL OR s.ends_at <= now(), " SILENCE_JSON
    "::text FROM silences s WHERE s.id = $1::bigint "
    "FOR UPDATE";

static const char silence_expire_sql[] =
    "UPDATE silences AS s SET expired_at = now(), expired_by = $2::text "
    " WHERE s.id = $1::bigint "
    "RETURNING " SILENCE_JSON "::text, " SILENCE_AUDIT;

/* The units that must be covered: AWB, the districts, the departments. */
static const char units_sql[] =
    "SELECT code, name, kind FROM ("
    "  SELECT code, name, 'district' AS kind, 1 AS o FROM districts "
    "  UNION ALL "
    "  SELECT code, name, CASE WHEN code = $1::text THEN 'city' "
    "    ELSE 'department' END, CASE WHEN code = $1::text THEN 0 ELSE 2 "
    "    END FROM departments "
    "  UNION ALL "
    "  SELECT $1::text, '市安委办', 'city', 0 "
    "   WHERE NOT EXISTS (SELECT 1 FROM departments WHERE code = $1::text)"
    ") u ORDER BY o, code";

static const char shifts_sql[] =
    "SELECT unit, "
    "  floor(extract(epoch FROM start_at) * 1000)::bigint, "
    "  floor(extract(epoch FROM end_at) * 1000)::bigint "
    "  FROM duty_rosters "
    " WHERE end_at > 'epoch'::timestamptz + $1::bigint * interval '1 "
    "millisecond' "
    "   AND start_at < 'epoch'::timestamptz + $2::bigint * interval '1 "
    "millisecond' "
    " ORDER BY unit, start_at LIMIT $3::int";

/* --- transactions ------------------------------------------------------- */

/* Open a read-only transaction under API_STATEMENT_TIMEOUT_MS; with
 * snapshot, one snapshot for all its statements. */
static int
read_begin(struct store *st, int snapshot, struct store_err *err)
{
	static const char limits_sql[] =
	    "SELECT set_config('statement_timeout', $1, true), "
	    "set_config('transaction_read_only', 'on', true)";
	char timeout[16];
	const char *v[1] = {timeout};
	struct store_err rb;

	snprintf(timeout, sizeof(timeout), "%d", API_STATEMENT_TIMEOUT_MS);
	if (store_begin(st, err) != 0)
		return -1;
	if ((snapshot && store_exec(st,
	                     "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
	                     0, NULL, NULL, err) != 0) ||
	    store_exec(st, limits_sql, 1, v, NULL, err) != 0) {
		store_rollback(st, &rb);
		return -1;
	}
	return 0;
}

/* End a read: commit, or roll back after a failure.  0 or -1. */
static int
read_end(struct store *st, int ok, struct store_err *err)
{
	struct store_err rb;

	if (ok && store_commit(st, err) == 0)
		return 0;
	store_rollback(st, &rb);
	return -1;
}

/*
 * The one-row, one-column answer of res: 0 with *json, 1 for no row, -1
 * when the statement gave something else (a bug: logged as such).
 */
static int
one_text(PGresult *res, const char **json, struct store_err *err)
{
	if (PQntuples(res) == 0)
		return 1;
	if (PQntuples(res) != 1 || PQnfields(res) < 1 ||
	    PQgetisnull(res, 0, 0)) {
		store_err_set(err, STORE_ERR_SQL, "XX000",
		    "the statement did not return one JSON answer");
		return -1;
	}
	*json = PQgetvalue(res, 0, 0);
	return 0;
}

/* A read of one JSON answer: 0, 1 (no row), -1; *res kept only on 0. */
static int
read_json(struct store *st, const char *sql, int n, const char *const *v,
    PGresult **res, const char **json, struct store_err *err)
{
	int rc;

	*res = NULL;
	*json = NULL;
	if (read_begin(st, 0, err) != 0)
		return -1;
	if (store_exec(st, sql, n, v, res, err) != 0) {
		read_end(st, 0, err);
		return -1;
	}
	rc = one_text(*res, json, err);
	if (read_end(st, rc >= 0, err) != 0)
		rc = -1;
	if (rc != 0) {
		PQclear(*res);
		*res = NULL;
		*json = NULL;
	}
	return rc;
}

/* --- incidents ---------------------------------------------------------- */

int
api_store_incidents(struct store *st, const struct api_inc_filter *f,
    PGresult **res, const char **json, struct store_err *err)
{
	char before[24], limit[16];
	const char *v[6];

	snprintf(before, sizeof(before), "%" PRId64, f->before);
	snprintf(limit, sizeof(limit), "%d", f->limit);
	v[0] = f->status;
	v[1] = f->level;
	v[2] = f->district;
	v[3] = f->uscc;
	v[4] = f->before > 0 ? before : NULL;
	v[5] = limit;
	return read_json(st, incidents_sql, 6, v, res, json, err) == 0 ? 0 : -1;
}

int
api_store_incident(struct store *st, int64_t id, int detail, PGresult **res,
    const char **json, struct store_err *err)
{
	char ids[24], alarms[16], notes[16], attempts[16];
	const char *v[4] = {ids, alarms, notes, attempts};
	int rc;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	if (detail) {
		snprintf(alarms, sizeof(alarms), "%d", API_DETAIL_ALARMS_MAX);
		snprintf(
		    notes, sizeof(notes), "%d", API_DETAIL_NOTIFICATIONS_MAX);
		snprintf(
		    attempts, sizeof(attempts), "%d", API_DETAIL_ATTEMPTS_MAX);
		return read_json(st, incident_detail_sql, 4, v, res, json, err);
	}
	*json = NULL;
	store_err_clear(err);
	if (store_exec(st, incident_sql, 1, v, res, err) != 0)
		return -1;
	if ((rc = one_text(*res, json, err)) != 0) {
		PQclear(*res);
		*res = NULL;
	}
	return rc;
}

int
api_incident_json(struct store *st, int64_t id, struct json_out *out)
{
	struct store_err err;
	PGresult *res = NULL;
	const char *json = NULL;
	char q[300];
	int rc;

	rc = api_store_incident(st, id, 0, &res, &json, &err);
	if (rc == 0) {
		json_out_raw(out, json, strlen(json));
		PQclear(res);
	} else if (rc < 0)
		log_warn("api.incident_failed",
		    "incident=%" PRId64 " sqlstate=%s error=%s", id,
		    err.sqlstate, log_quote(q, sizeof(q), err.msg));
	return rc;
}

/* --- silences ----------------------------------------------------------- */

int
api_incidents_json(struct store *st, const int64_t *ids, size_t n,
    void (*fn)(const char *json, void *arg), void *arg)
{
	static const char sql[] =
	    "SELECT json_build_object(" INCIDENT_FIELDS ")::text "
	    "FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, ord) "
	    "CROSS JOIN LATERAL (SELECT * FROM incidents x WHERE x.id = u.id "
	    "OFFSET 0) i ORDER BY u.ord";
	struct store_array a = {0};
	struct store_err err;
	PGresult *res = NULL;
	const char *v[1];
	char q[300];
	int rc = -1;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		store_array_int64(&a, ids[i]);
	if ((v[0] = store_array_end(&a)) != NULL &&
	    store_exec(st, sql, 1, v, &res, &err) == 0) {
		for (int i = 0; i < PQntuples(res); i++)
			fn(PQgetvalue(res, i, 0), arg);
		rc = 0;
	} else if (v[0] != NULL) {
		log_warn("api.incidents_failed", "n=%zu sqlstate=%s error=%s", n,
		    err.sqlstate, log_quote(q, sizeof(q), err.msg));
	}
	PQclear(res);
	store_array_free(&a);
	return rc;
}

int
api_store_silences(struct store *st, int active, int limit, PGresult **res,
    const char **json, struct store_err *err)
{
	char a[4], l[16];
	const char *v[2] = {active >= 0 ? a : NULL, l};

	snprintf(a, sizeof(a), "%d", active);
	snprintf(l, sizeof(l), "%d", limit);
	return read_json(st, silences_sql, 2, v, res, json, err) == 0 ? 0 : -1;
}

/*
 * Append the audit entry of a silence inside the open transaction; 0 or
 * -1 with *err (the connection's state says which kind of failure).
 */
static int
silence_audit(struct store *st, const char *actor, const char *action,
    const char *id, const char *detail, struct store_err *err)
{
	PGconn *conn = store_conn(st);
	char subject[40];

	snprintf(subject, sizeof(subject), "silence:%s", id);
	if (conn != NULL &&
	    audit_append(conn, actor, action, subject, detail) >= 0)
		return 0;
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		store_err_set(err, STORE_ERR_CONN, "08006",
		    "the store connection broke while writing the audit entry");
	else
		store_err_setf(err, STORE_ERR_SQL, "XX000",
		    "the audit entry of %s could not be written: %s", subject,
		    PQerrorMessage(conn));
	return -1;
}

int
api_store_silence_create(struct store *st, const struct api_silence_in *in,
    const char *author, PGresult **res, const char **json, int64_t *id,
    struct store_err *err)
{
	struct json_out m;
	struct store_err rb;
	char dur[24], end[24];
	const char *v[5];
	int rc = -1;

	*res = NULL;
	*json = NULL;
	json_out_init(&m);
	api_silence_matchers_json(in, &m);
	if (json_out_failed(&m)) {
		store_err_set(err, STORE_ERR_SQL, "53200",
		    "out of memory writing the matchers");
		json_out_free(&m);
		return -1;
	}
	snprintf(dur, sizeof(dur), "%" PRId64, in->duration_ms);
	snprintf(end, sizeof(end), "%" PRId64, in->ends_ms);
	v[0] = json_out_data(&m);
	v[1] = author;
	v[2] = in->reason;
	v[3] = in->duration_ms > 0 ? dur : NULL;
	v[4] = end;
	if (store_begin(st, err) != 0)
		goto out;
	if (store_exec(st, silence_insert_sql, 5, v, res, err) != 0)
		goto fail;
	if (PQntuples(*res) != 1) {
		store_err_set(err, STORE_ERR_SQL, "XX000",
		    "the insert of the silence returned no row");
		goto fail;
	}
	if (silence_audit(st, author, "silence.created", PQgetvalue(*res, 0, 0),
	        PQgetvalue(*res, 0, 2), err) != 0 ||
	    store_commit(st, err) != 0)
		goto fail;
	if (api_id_parse(PQgetvalue(*res, 0, 0), id) != 0)
		*id = 0;
	*json = PQgetvalue(*res, 0, 1);
	rc = 0;
	goto out;
fail:
	store_rollback(st, &rb);
	PQclear(*res);
	*res = NULL;
out:
	json_out_free(&m);
	return rc;
}

int
api_store_silence_expire(struct store *st, int64_t id, const char *by,
    PGresult **res, const char **json, struct store_err *err)
{
	struct store_err rb;
	PGresult *lock = NULL;
	char ids[24];
	const char *v[2] = {ids, by};
	int over;

	*res = NULL;
	*json = NULL;
	snprintf(ids, sizeof(ids), "%" PRId64, id);
	if (store_begin(st, err) != 0)
		return -1;
	if (store_exec(st, silence_lock_sql, 1, v, &lock, err) != 0)
		goto fail;
	if (PQntuples(lock) == 0) {
		PQclear(lock);
		store_rollback(st, &rb);
		return 1;
	}
	over = strcmp(PQgetvalue(lock, 0, 0), "t") == 0;
	if (over) {
		/* Nothing to change: the silence as it is, for the 409. */
		store_rollback(st, &rb);
		*res = lock;
		*json = PQgetvalue(lock, 0, 1);
		return 2;
	}
	PQclear(lock);
	lock = NULL;
	if (store_exec(st, silence_expire_sql, 2, v, res, err) != 0)
		goto fail;
	if (PQntuples(*res) != 1) {
		store_err_set(err, STORE_ERR_SQL, "XX000",
		    "the silence locked a moment ago was not updated");
		goto fail;
	}
	if (silence_audit(st, by, "silence.expired", ids,
	        PQgetvalue(*res, 0, 1), err) != 0 ||
	    store_commit(st, err) != 0)
		goto fail;
	*json = PQgetvalue(*res, 0, 0);
	return 0;
fail:
	store_rollback(st, &rb);
	PQclear(lock);
	PQclear(*res);
	*res = NULL;
	return -1;
}

/* --- roster gaps -------------------------------------------------------- */

int
api_store_roster(struct store *st, int64_t from_ms, int64_t to_ms,
    PGresult **units, PGresult **shifts, struct store_err *err)
{
	char from[24], to[24], max[16];
	const char *uv[1] = {ROUTE_CITY_UNIT};
	const char *sv[3] = {from, to, max};

	*units = NULL;
	*shifts = NULL;
	snprintf(from, sizeof(from), "%" PRId64, from_ms);
	snprintf(to, sizeof(to), "%" PRId64, to_ms);
	snprintf(max, sizeof(max), "%d", API_GAPS_SHIFTS_MAX + 1);
	if (read_begin(st, 1, err) != 0)
		return -1;
	if (store_exec(st, units_sql, 1, uv, units, err) != 0 ||
	    store_exec(st, shifts_sql, 3, sv, shifts, err) != 0 ||
	    read_end(st, 1, err) != 0) {
		read_end(st, 0, err);
		PQclear(*units);
		PQclear(*shifts);
		*units = NULL;
		*shifts = NULL;
		return -1;
	}
	return 0;
}

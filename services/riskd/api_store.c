/*
 * api_store - the SQL of riskd's HTTP API (GET /v1/alarms).
 *
 * One parameterised statement builds the whole answer as JSON in
 * PostgreSQL, as ingestd's read routes do (services/ingestd/query_store.c
 * says why): the alarms table of 0009_riskd.sql joined to enterprises for
 * the name and district, newest first.  Timestamps come out in RFC 3339
 * with +08:00 because every store connection runs in Asia/Shanghai, NULL
 * comes out as null, and Chinese names pass through as UTF-8.  Filters are
 * fixed in the text with the ($n IS NULL OR ...) pattern, never spliced
 * in.  The statement reads limit + 1 rows so that "more" can say the list
 * was cut without counting the whole table.
 *
 * It runs on the daemon's own store, the one the bus consumer's
 * transactions use, on the loop's thread between two of them: in a
 * read-only transaction with a statement_timeout of its own, so it can
 * neither write nor hold the loop long.  The caller owns the PGresult.
 */
#include "api_store.h"

#include <stdio.h>

/*
 * The list.  Double columns pass through NULLIF(.., 'NaN') and the
 * infinities: valid in float8, they are not JSON numbers.
 */
static const char alarms_sql[] =
    "WITH page AS ("
    "SELECT a.*, e.name AS enterprise, e.district "
    "  FROM alarms a LEFT JOIN enterprises e ON e.uscc = a.uscc "
    " WHERE ($1::int IS NULL OR "
    "        (a.cleared_at IS NULL AND NOT a.suppressed) = ($1::int = 1)) "
    "   AND ($2::int IS NULL OR a.suppressed = ($2::int = 1)) "
    "   AND ($3::text IS NULL OR a.uscc = $3::char(18)) "
    "   AND ($4::text IS NULL OR e.district = $4::text) "
    "   AND ($5::text IS NULL OR a.point = $5::text) "
    "   AND ($6::text IS NULL OR a.kind = $6::text) "
    " ORDER BY a.started_at DESC, a.id DESC LIMIT $7::int + 1), "
    "fin AS ("
    "SELECT page.*, "
    "  NULLIF(NULLIF(NULLIF(value, 'NaN'), 'Infinity'), '-Infinity') "
    "    AS value_j, "
    "  NULLIF(NULLIF(NULLIF(threshold, 'NaN'), 'Infinity'), '-Infinity') "
    "    AS threshold_j, "
    "  NULLIF(NULLIF(NULLIF(peak, 'NaN'), 'Infinity'), '-Infinity') "
    "    AS peak_j "
    "  FROM page ORDER BY started_at DESC, id DESC LIMIT $7::int) "
    "SELECT json_build_object("
    "'alarms', COALESCE((SELECT json_agg(json_build_object("
    "  'id', p.id, 'point', p.point, 'uscc', p.uscc, "
    "  'enterprise', p.enterprise, 'district', p.district, "
    "  'hazard_source', p.hazard_source, 'kind', p.kind, "
    "  'unit', p.unit, 'started_at', p.started_at, "
    "  'value', p.value_j, 'threshold', p.threshold_j, "
    "  'peak', p.peak_j, 'cleared_at', p.cleared_at, "
    "  'clear_reason', p.clear_reason, "
    "  'duration_s', (p.duration_ms / 1000.0)::float8, "
    "  'suppressed', p.suppressed, "
    "  'acknowledged_at', p.acknowledged_at) "
    "  ORDER BY p.started_at DESC, p.id DESC) FROM fin p), '[]'::json), "
    "'count', (SELECT count(*) FROM fin), "
    "'more', (SELECT count(*) FROM page) > $7::int)::text";

int
api_store_alarms(struct store *st, const struct api_alarm_filter *f,
    PGresult **res, const char **json, struct store_err *err)
{
	static const char limits_sql[] =
	    "SELECT set_config('statement_timeout', $1, true), "
	    "set_config('transaction_read_only', 'on', true)";
	char timeout[16], open[4], suppressed[4], limit[16];
	const char *tv[1] = {timeout};
	const char *v[7];
	struct store_err rb;

	*res = NULL;
	*json = NULL;
	snprintf(timeout, sizeof(timeout), "%d", API_STATEMENT_TIMEOUT_MS);
	snprintf(open, sizeof(open), "%d", f->open);
	snprintf(suppressed, sizeof(suppressed), "%d", f->suppressed);
	snprintf(limit, sizeof(limit), "%d", f->limit);
	v[0] = f->open >= 0 ? open : NULL;
	v[1] = f->suppressed >= 0 ? suppressed : NULL;
	v[2] = f->uscc;
	v[3] = f->district;
	v[4] = f->point;
	v[5] = f->kind;
	v[6] = limit;
	if (store_begin(st, err) != 0)
		return -1;
	if (store_exec(st, limits_sql, 1, tv, NULL, err) != 0 ||
	    store_exec(st, alarms_sql, 7, v, res, err) != 0 ||
	    store_commit(st, err) != 0) {
		store_rollback(st, &rb);
		PQclear(*res);
		*res = NULL;
		return -1;
	}
	if (PQntuples(*res) != 1 || PQgetisnull(*res, 0, 0)) {
		store_err_set(err, STORE_ERR_SQL, "XX000",
		    "the alarm list statement returned no answer");
		PQclear(*res);
		*res = NULL;
		return -1;
	}
	*json = PQgetvalue(*res, 0, 0);
	return 0;
}

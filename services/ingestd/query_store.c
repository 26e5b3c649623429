/*
 * query_store - the SQL of ingestd's read routes.
 *
 * query.c checks the parameters and calls one function here per route;
 * each runs one parameterised statement that returns the whole answer as
 * one JSON text, made by PostgreSQL with json_build_object and json_agg.
 * Why there and not with json_out in C: an enterprise is a row with five
 * nested lists, and the lists page with a cursor and a total; built in
 * SQL that is one round trip, the types come out right without a mapping
 * per column (numbers as numbers, NULL as null, timestamps in RFC 3339
 * with the city's offset, since every connection runs in Asia/Shanghai),
 * and UTF-8 names pass through untouched.  json (not jsonb) keeps the keys
 * in the order written here.
 *
 * Filters are fixed in the text with the ($n IS NULL OR col = $n) pattern,
 * never spliced in.  Lists are ordered newest first by a time column and
 * the record's id, and page by keyset: the cursor is base64url of
 * "<microseconds since the epoch>:<id>" of the last row shown (made here,
 * read by query_cursor_parse), so a page costs the same however deep it
 * is and rows arriving meanwhile neither repeat nor vanish.  total counts
 * every row matching the filters.
 *
 * Each statement runs in a read-only transaction whose statement_timeout
 * is QUERY_STATEMENT_TIMEOUT_MS, on the loop's store: the loop waits for it
 * (query.c says why that is accepted), so nothing here may run long or
 * write.  The caller owns the PGresult returned.
 */
#include "query.h"

#include <inttypes.h>
#include <stdio.h>

/* The cursor of a row l with time column T and id column I. */
#define CURSOR(T, I)                                                         \
	"rtrim(translate(encode(convert_to(((extract(epoch FROM " T          \
	") * 1000000)::bigint)::text || ':' || " I ", 'UTF8'), 'base64'), "  \
	"E'+/\\n', '-_'), '=')"

/* The keyset condition: after the cursor's ($C time, $C+1 id). */
#define AFTER(T, I, C, CI)                                                   \
	"(" C "::bigint IS NULL OR (" T ", " I ") < ('epoch'::timestamptz + " \
	C "::bigint * interval '1 microsecond', " CI "::text))"

/*
 * The answer of a list: the CTE f holds the filtered rows, page the next
 * limit + 1 of them (one more says whether there is a next page), ITEM the
 * JSON of one row p, T and I the order.
 */
#define LIST_ANSWER(ITEM, T, I, L)                                           \
	"SELECT json_build_object("                                          \
	"'items', COALESCE((SELECT json_agg(" ITEM " ORDER BY p." T          \
	" DESC, p." I " DESC) FROM (SELECT * FROM page ORDER BY " T          \
	" DESC, " I " DESC LIMIT " L "::int) p), '[]'::json), "              \
	"'next', (SELECT " CURSOR("l." T, "l." I) " FROM (SELECT * FROM "    \
	"page ORDER BY " T " DESC, " I " DESC OFFSET " L "::int - 1 "        \
	"LIMIT 1) l WHERE (SELECT count(*) FROM page) > " L "::int), "       \
	"'total', (SELECT count(*) FROM f))::text"

/*
 * Overdue: past the deadline and not rectified (DOMAIN.md 4), as the view
 * hazards_overdue of 0006 says; a reported hazard is stored as rectifying.
 */
#define HAZARD_OVERDUE(h)                                                    \
	"(" h ".status = 'rectifying' AND " h ".deadline < now())"

static const char enterprise_sql[] =
    "SELECT json_build_object("
    "'uscc', e.uscc, 'name', e.name, "
    "'district', e.district, 'district_name', d.name, "
    "'sector', e.sector, 'sector_name', s.name, "
    "'employees', e.employees, 'status', e.status, "
    "'enforcement_level', e.enforcement_level, 'address', e.address, "
    "'lon', e.lon, 'lat', e.lat, 'credit', e.credit, "
    "'standardization_level', e.standardization_level, "
    "'updated_at', e.updated_at, 'source', e.source, "
    "'event_id', e.event_id, "
    "'responsibility', (SELECT json_build_object("
    "  'territorial', json_build_object('code', r.territorial, "
    "    'name', rd.name), "
    "  'sector_dept', json_build_object('code', r.sector_dept, "
    "    'name', rs.name), "
    "  'direct_dept', json_build_object('code', r.direct_dept, "
    "    'name', rr.name), "
    "  'received_at', r.received_at, 'source', r.source, "
    "  'event_id', r.event_id) "
    "  FROM responsibilities r "
    "  LEFT JOIN districts rd ON rd.code = r.territorial "
    "  LEFT JOIN departments rs ON rs.code = r.sector_dept "
    "  LEFT JOIN departments rr ON rr.code = r.direct_dept "
    "  WHERE r.uscc = e.uscc), "
    "'points', COALESCE((SELECT json_agg(json_build_object("
    "  'code', p.code, 'kind', p.kind, 'unit', p.unit, 'll', p.ll, "
    "  'l', p.l, 'h', p.h, 'hh', p.hh, 'range_lo', p.range_lo, "
    "  'range_hi', p.range_hi, 'hazard_source', p.hazard_source, "
    "  'tag', p.tag, 'enabled', p.enabled) ORDER BY p.code) "
    "  FROM (SELECT * FROM points WHERE uscc = e.uscc ORDER BY code "
    "  LIMIT $2::int) p), '[]'::json), "
    "'hazard_sources', COALESCE((SELECT json_agg(json_build_object("
    "  'code', hs.code, 'name', hs.name, 'unit_type', hs.unit_type, "
    "  'assessed_on', hs.assessed_on, 'people_500m', hs.people_500m) "
    "  ORDER BY hs.code) "
    "  FROM (SELECT * FROM hazard_sources WHERE uscc = e.uscc "
    "  ORDER BY code LIMIT $2::int) hs), '[]'::json), "
    "'open_hazards', COALESCE((SELECT json_agg(json_build_object("
    "  'hazard_id', h.hazard_id, 'level', h.level, 'status', h.status, "
    "  'description', h.description, 'found_at', h.found_at, "
    "  'deadline', h.deadline, "
    "  'overdue', " HAZARD_OVERDUE("h") ", "
    "  'failed_verifications', h.failed_verifications, "
    "  'responsible_unit', h.responsible_unit, "
    "  'responsible_person', h.responsible_person) "
    "  ORDER BY h.found_at DESC, h.hazard_id DESC) "
    "  FROM (SELECT * FROM hazards WHERE uscc = e.uscc "
    "  AND status <> 'closed' ORDER BY found_at DESC, hazard_id DESC "
    "  LIMIT $2::int) h), '[]'::json), "
    "'active_operations', COALESCE((SELECT json_agg(json_build_object("
    "  'op_id', o.op_id, 'type', o.type, 'level', o.level, "
    "  'location', o.location, 'hazard_source', o.hazard_source, "
    "  'planned_start', o.planned_start, 'planned_end', o.planned_end, "
    "  'started_at', o.started_at, 'unfiled', o.unfiled, "
    "  'overrun', COALESCE(o.planned_end < now(), false)) "
    "  ORDER BY o.started_at DESC, o.op_id DESC) "
    "  FROM (SELECT * FROM operations WHERE uscc = e.uscc "
    "  AND status = 'active' ORDER BY started_at DESC, op_id DESC "
    "  LIMIT $2::int) o), '[]'::json), "
    "'counts', json_build_object("
    "  'points', (SELECT count(*) FROM points WHERE uscc = e.uscc), "
    "  'hazard_sources', (SELECT count(*) FROM hazard_sources "
    "    WHERE uscc = e.uscc), "
    "  'open_hazards', (SELECT count(*) FROM hazards WHERE uscc = e.uscc "
    "    AND status <> 'closed'), "
    "  'active_operations', (SELECT count(*) FROM operations "
    "    WHERE uscc = e.uscc AND status = 'active')))::text "
    "FROM enterprises e "
    "JOIN districts d ON d.code = e.district "
    "JOIN sectors s ON s.code = e.sector "
    "WHERE e.uscc = $1";

static const char hazards_sql[] =
    "WITH f AS ("
    "SELECT h.*, e.name AS enterprise_name, e.district, "
    "  " HAZARD_OVERDUE("h") " AS overdue "
    "  FROM hazards h LEFT JOIN enterprises e ON e.uscc = h.uscc "
    " WHERE ($1::text IS NULL OR h.status = $1::text "
    "        OR ($1::text = 'open' AND h.status <> 'closed')) "
    "   AND ($2::text IS NULL OR h.level = $2::text) "
    "   AND ($3::text IS NULL OR e.district = $3::text) "
    "   AND ($4::text IS NULL OR h.uscc = $4::text) "
    "   AND ($5::int IS NULL OR " HAZARD_OVERDUE("h") " = ($5::int = 1))"
    "), page AS ("
    "SELECT * FROM f WHERE " AFTER("f.found_at", "f.hazard_id", "$6", "$7")
    " ORDER BY found_at DESC, hazard_id DESC LIMIT $8::int + 1) "
    LIST_ANSWER("json_build_object('hazard_id', p.hazard_id, "
                "'uscc', p.uscc, 'enterprise_name', p.enterprise_name, "
                "'district', p.district, 'level', p.level, "
                "'status', p.status, 'overdue', p.overdue, "
                "'found_by', p.found_by, 'description', p.description, "
                "'found_at', p.found_at, 'deadline', p.deadline, "
                "'responsible_unit', p.responsible_unit, "
                "'responsible_person', p.responsible_person, "
                "'measures', p.measures, "
                "'failed_verifications', p.failed_verifications, "
                "'reported_at', p.reported_at, "
                "'rectified_at', p.rectified_at, "
                "'closed_at', p.closed_at, 'source', p.source, "
                "'event_id', p.event_id, 'received_at', p.received_at)",
        "found_at", "hazard_id", "$8");

static const char operations_sql[] =
    "WITH f AS ("
    "SELECT o.*, e.name AS enterprise_name, e.district, "
    "  (o.status = 'active') AS active, "
    "  COALESCE(o.planned_start, o.started_at, o.received_at) AS sort_at "
    "  FROM operations o LEFT JOIN enterprises e ON e.uscc = o.uscc "
    " WHERE ($1::int IS NULL OR (o.status = 'active') = ($1::int = 1)) "
    "   AND ($2::text IS NULL OR o.uscc = $2::text) "
    "   AND ($3::text IS NULL OR o.type = $3::text)"
    "), page AS ("
    "SELECT * FROM f WHERE " AFTER("f.sort_at", "f.op_id", "$4", "$5")
    " ORDER BY sort_at DESC, op_id DESC LIMIT $6::int + 1) "
    LIST_ANSWER("json_build_object('op_id', p.op_id, 'uscc', p.uscc, "
                "'enterprise_name', p.enterprise_name, "
                "'district', p.district, 'type', p.type, "
                "'level', p.level, 'status', p.status, "
                "'active', p.active, 'unfiled', p.unfiled, "
                "'overrun', COALESCE(p.active AND p.planned_end < now(), "
                "false), "
                "'location', p.location, "
                "'hazard_source', p.hazard_source, 'points', p.points, "
                "'planned_start', p.planned_start, "
                "'planned_end', p.planned_end, "
                "'contractor', p.contractor, "
                "'responsible', json_build_object("
                "'name', p.responsible_name, "
                "'phone', p.responsible_phone), "
                "'filed_at', p.filed_at, 'started_at', p.started_at, "
                "'finished_at', p.finished_at, 'source', p.source, "
                "'event_id', p.event_id, 'received_at', p.received_at)",
        "sort_at", "op_id", "$6");

static const char accidents_sql[] =
    "WITH f AS ("
    "SELECT a.*, e.name AS enterprise_name, d.name AS district_name, "
    "  s.name AS sector_name "
    "  FROM accidents a "
    "  JOIN districts d ON d.code = a.district "
    "  JOIN sectors s ON s.code = a.sector "
    "  LEFT JOIN enterprises e ON e.uscc = a.uscc "
    " WHERE ($1::int IS NULL OR (a.occurred_at >= "
    "        make_timestamptz($1::int, 1, 1, 0, 0, 0, 'Asia/Shanghai') "
    "        AND a.occurred_at < make_timestamptz($1::int + 1, 1, 1, 0, "
    "        0, 0, 'Asia/Shanghai'))) "
    "   AND ($2::text IS NULL OR a.district = $2::text) "
    "   AND ($3::text IS NULL OR a.grade = $3::text)"
    "), page AS ("
    "SELECT * FROM f WHERE "
    AFTER("f.occurred_at", "f.accident_id", "$4", "$5")
    " ORDER BY occurred_at DESC, accident_id DESC LIMIT $6::int + 1) "
    LIST_ANSWER("json_build_object('accident_id', p.accident_id, "
                "'uscc', p.uscc, 'enterprise_name', p.enterprise_name, "
                "'district', p.district, "
                "'district_name', p.district_name, "
                "'sector', p.sector, 'sector_name', p.sector_name, "
                "'occurred_at', p.occurred_at, 'deaths', p.deaths, "
                "'serious_injuries', p.serious_injuries, "
                "'minor_injuries', p.minor_injuries, "
                "'direct_loss_cny', p.direct_loss_cny, "
                "'summary', p.summary, 'grade', p.grade, "
                "'grade_name', p.grade_name, "
                "'reported_at', p.reported_at, "
                "'reported_late', p.reported_late, "
                "'updates', p.updates, 'updated_at', p.updated_at, "
                "'late', p.late, 'received_at', p.received_at, "
                "'source', p.source, 'event_id', p.event_id)",
        "occurred_at", "accident_id", "$6");

/*
 * Run sql in a read-only transaction limited to QUERY_STATEMENT_TIMEOUT_MS.
 * 1 with the first column of the first row in *json, 0 when there is no
 * row, -1 with *err.
 */
static int
run(struct store *st, const char *sql, int n, const char *const *values,
    PGresult **res, const char **json, struct store_err *err)
{
	static const char limits_sql[] =
	    "SELECT set_config('statement_timeout', $1, true), "
	    "set_config('transaction_read_only', 'on', true)";
	char timeout[24];
	const char *tv[1] = {timeout};
	struct store_err rb;

	*res = NULL;
	*json = NULL;
	snprintf(timeout, sizeof(timeout), "%d", QUERY_STATEMENT_TIMEOUT_MS);
	if (store_begin(st, err) != 0)
		return -1;
	if (store_exec(st, limits_sql, 1, tv, NULL, err) != 0 ||
	    store_exec(st, sql, n, values, res, err) != 0 ||
	    store_commit(st, err) != 0) {
		store_rollback(st, &rb);
		PQclear(*res);
		*res = NULL;
		return -1;
	}
	if (PQntuples(*res) == 0 || PQgetisnull(*res, 0, 0))
		return 0;
	*json = PQgetvalue(*res, 0, 0);
	return 1;
}

/* The page's parameters as text: cursor time, cursor id, limit. */
struct page_text {
	char us[24];
	char limit[16];
};

static void
page_params(const struct query_page *page, struct page_text *t,
    const char **us, const char **id, const char **limit)
{
	/* t is filled here, not read (cppcheck takes snprintf's target for a
	 * use). */
	/* cppcheck-suppress ctuuninitvar */
	snprintf(t->us, sizeof(t->us), "%" PRId64, page->cursor_us);
	snprintf(t->limit, sizeof(t->limit), "%d", page->limit);
	*us = page->has_cursor ? t->us : NULL;
	*id = page->has_cursor ? page->cursor_id : NULL;
	*limit = t->limit;
}

int
query_store_enterprise(struct store *st, const char *uscc, PGresult **res,
    const char **json, struct store_err *err)
{
	char embed[16];
	const char *v[2] = {uscc, embed};

	snprintf(embed, sizeof(embed), "%d", QUERY_EMBED_MAX);
	return run(st, enterprise_sql, 2, v, res, json, err);
}

int
query_store_hazards(struct store *st, const struct query_hazard_filter *f,
    const struct query_page *page, PGresult **res, const char **json,
    struct store_err *err)
{
	struct page_text t;
	char overdue[4];
	const char *v[8] = {f->status, f->level, f->district, f->uscc};

	snprintf(overdue, sizeof(overdue), "%d", f->overdue);
	v[4] = f->overdue >= 0 ? overdue : NULL;
	page_params(page, &t, &v[5], &v[6], &v[7]);
	if (run(st, hazards_sql, 8, v, res, json, err) < 0)
		return -1;
	return 1;
}

int
query_store_operations(struct store *st,
    const struct query_operation_filter *f, const struct query_page *page,
    PGresult **res, const char **json, struct store_err *err)
{
	struct page_text t;
	char active[4];
	const char *v[6] = {NULL, f->uscc, f->type};

	snprintf(active, sizeof(active), "%d", f->active);
	v[0] = f->active >= 0 ? active : NULL;
	page_params(page, &t, &v[3], &v[4], &v[5]);
	if (run(st, operations_sql, 6, v, res, json, err) < 0)
		return -1;
	return 1;
}

int
query_store_accidents(struct store *st,
    const struct query_accident_filter *f, const struct query_page *page,
    PGresult **res, const char **json, struct store_err *err)
{
	struct page_text t;
	char year[8];
	const char *v[6] = {NULL, f->district, f->grade};

	snprintf(year, sizeof(year), "%d", f->year);
	v[0] = f->year > 0 ? year : NULL;
	page_params(page, &t, &v[3], &v[4], &v[5]);
	if (run(st, accidents_sql, 6, v, res, json, err) < 0)
		return -1;
	return 1;
}

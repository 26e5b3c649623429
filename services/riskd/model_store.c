/*
 * model_store - the SQL that fills riskd's model from the store.
 *
 * model_load() reads everything at start (and after a failed
 * transaction) in one REPEATABLE READ snapshot, so the model matches the
 * bus cursors committed with it.  The model_reload_*() functions read the
 * rows an ev.* message names, inside the consumer's open transaction on
 * its connection.  Filters are a text[] parameter (NULL for all), so every
 * statement is parameterised; jsonb and arrays come back as JSON text and
 * are decoded with cJSON.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "model_internal.h"
#include "riskd.h"
#include "store.h"

static const char SQL_ENTS[] =
    "SELECT uscc, name, district, sector, coalesce(employees, -1) "
    "FROM enterprises WHERE $1::text[] IS NULL OR uscc = ANY($1)";

static const char SQL_POINTS[] =
    "SELECT p.code, p.uscc, p.kind, p.unit, p.ll, p.l, p.h, p.hh, "
    "p.range_lo, p.range_hi, p.deadband, coalesce(p.delay_s, -1), "
    "coalesce(p.expected_interval_s, -1), p.hazard_source, p.enabled, "
    "(extract(epoch FROM p.updated_at) * 1000)::bigint, "
    "s.last_ts_ms, s.last_value, s.last_quality, s.since_h_ms, "
    "s.since_hh_ms, s.since_l_ms, s.since_ll_ms, s.suppressed_kind "
    "FROM points p LEFT JOIN risk_point_states s ON s.point = p.code "
    "WHERE $1::text[] IS NULL OR p.code = ANY($1)";

static const char SQL_OPEN_ALARMS[] =
    "SELECT a.point, a.kind, (extract(epoch FROM a.started_at) * 1000)::bigint, "
    "a.value, a.threshold, coalesce(CASE "
    " WHEN a.kind IN ('H', 'HH') THEN (SELECT max(r.value) FROM readings r "
    "  WHERE r.point = a.point AND r.ts >= a.started_at AND r.quality = 0) "
    " WHEN a.kind IN ('L', 'LL') THEN (SELECT min(r.value) FROM readings r "
    "  WHERE r.point = a.point AND r.ts >= a.started_at AND r.quality = 0) "
    " END, a.peak, a.value), a.acknowledged_at IS NOT NULL "
    "FROM alarms a WHERE a.cleared_at IS NULL AND NOT a.suppressed "
    "AND ($1::text[] IS NULL OR a.point = ANY($1))";

static const char SQL_SOURCES[] =
    "SELECT code, uscc, name, people_500m, chemicals::text, "
    "assessed_on - date '1970-01-01' "
    "FROM hazard_sources WHERE $1::text[] IS NULL OR code = ANY($1)";

static const char SQL_WARNINGS[] =
    "SELECT code, level, (extract(epoch FROM since) * 1000)::bigint "
    "FROM source_warnings";

static const char SQL_RAISES[] =
    "SELECT hazard_source, (extract(epoch FROM started_at) * 1000)::bigint "
    "FROM alarms WHERE hazard_source IS NOT NULL AND NOT suppressed "
    "AND kind IN ('H', 'HH', 'L', 'LL') "
    "AND started_at > now() - $1::bigint * interval '1 millisecond' "
    "ORDER BY started_at";

static const char SQL_RISK[] =
    "SELECT uscc, level, (extract(epoch FROM since) * 1000)::bigint "
    "FROM enterprise_risk";

static const char SQL_RPOINTS[] =
    "SELECT uscc, code, name, method, l, coalesce(e, 0), coalesce(c, 0), "
    "coalesce(s, 0) FROM risk_points "
    "WHERE $1::text[] IS NULL OR uscc = ANY($1) ORDER BY uscc, code";

static const char SQL_OPS[] =
    "SELECT op_id, type, level, hazard_source, points[1] FROM operations "
    "WHERE status = 'active' AND ($1::text[] IS NULL OR op_id = ANY($1))";

static const char SQL_WINDOWS[] =
    "SELECT id, uscc, (extract(epoch FROM starts_at) * 1000)::bigint, "
    "(extract(epoch FROM ends_at) * 1000)::bigint, reason, hazard_source, "
    "array_to_json(points)::text FROM maintenance_windows "
    "WHERE ends_at > now() AND ($1::text[] IS NULL OR uscc = ANY($1)) "
    "ORDER BY id";

static const char SQL_FACTS[] =
    "SELECT e.uscc, "
    "(SELECT count(*) FROM hazards h WHERE h.uscc = e.uscc "
    " AND h.level = 'major' AND h.status <> 'closed'), "
    "(SELECT count(*) FROM hazards h WHERE h.uscc = e.uscc "
    " AND h.status = 'rectifying' AND h.deadline < now()), "
    "(SELECT count(*) FROM hazards h WHERE h.uscc = e.uscc "
    " AND h.level = 'major' AND h.status = 'rectifying' "
    " AND h.deadline < now()), "
    "(SELECT (extract(epoch FROM min(h.deadline)) * 1000)::bigint "
    " FROM hazards h WHERE h.uscc = e.uscc AND h.status = 'rectifying' "
    " AND h.deadline >= now()), "
    "(SELECT count(*) FROM accidents a WHERE a.uscc = e.uscc "
    " AND a.deaths > 0 AND a.occurred_at <= now() "
    " AND a.occurred_at > now() - $2::bigint * interval '1 millisecond'), "
    "(SELECT (extract(epoch FROM min(a.occurred_at)) * 1000)::bigint "
    " FROM accidents a WHERE a.uscc = e.uscc AND a.deaths > 0 "
    " AND a.occurred_at <= now() "
    " AND a.occurred_at > now() - $2::bigint * interval '1 millisecond'), "
    "(SELECT count(*) FROM accidents a WHERE a.uscc = e.uscc "
    " AND a.grade <> 'general' AND a.occurred_at <= now() "
    " AND a.occurred_at > now() - $3::bigint * interval '1 millisecond'), "
    "(SELECT (extract(epoch FROM min(a.occurred_at)) * 1000)::bigint "
    " FROM accidents a WHERE a.uscc = e.uscc AND a.grade <> 'general' "
    " AND a.occurred_at <= now() "
    " AND a.occurred_at > now() - $3::bigint * interval '1 millisecond'), "
    "EXISTS (SELECT 1 FROM safety_directors d WHERE d.uscc = e.uscc), "
    "EXISTS (SELECT 1 FROM resplists l WHERE l.uscc = e.uscc) "
    "FROM enterprises e WHERE $1::text[] IS NULL OR e.uscc = ANY($1)";

/* Run one statement; NULL (logged) when it failed. */
static PGresult *
run(PGconn *conn, const char *what, const char *sql, int n,
    const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(res);
	char q[300];

	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
		return res;
	log_warn("riskd.store", "what=%s error=%s", what,
	    log_quote(q, sizeof(q), PQresultErrorMessage(res)));
	PQclear(res);
	return NULL;
}

static const char *
str_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static double
dbl(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NAN
					  : strtod(PQgetvalue(res, row, col), NULL);
}

static int64_t
i64(const PGresult *res, int row, int col, int64_t dflt)
{
	return PQgetisnull(res, row, col)
	    ? dflt
	    : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* --- rows into the model ------------------------------------------------ */

static int
ents_from(struct riskd *r, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct rk_ent_row row = {
		    .uscc = PQgetvalue(res, i, 0),
		    .name = PQgetvalue(res, i, 1),
		    .district = PQgetvalue(res, i, 2),
		    .sector = PQgetvalue(res, i, 3),
		    .employees = i64(res, i, 4, -1),
		};

		if (model_put_ent(r, &row) == NULL)
			return -1;
	}
	return 0;
}

/* Put the points of res in the model; with_state restores what the
 * store remembers of each (start and reload of a point not yet known). */
static int
points_from(struct riskd *r, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct rk_point_row row = {
		    .code = PQgetvalue(res, i, 0),
		    .uscc = PQgetvalue(res, i, 1),
		    .source_code = str_or_null(res, i, 13),
		    .seen_ms = i64(res, i, 15, 0),
		};
		struct alarm_point_def *d = &row.def;
		struct rk_point *p;
		int fresh;

		if (point_kind_parse(PQgetvalue(res, i, 2),
		        (enum point_kind *)&d->kind) < 0)
			d->kind = POINT_OTHER;
		snprintf(d->unit, sizeof(d->unit), "%s", PQgetvalue(res, i, 3));
		d->ll = dbl(res, i, 4);
		d->l = dbl(res, i, 5);
		d->h = dbl(res, i, 6);
		d->hh = dbl(res, i, 7);
		d->range_lo = dbl(res, i, 8);
		d->range_hi = dbl(res, i, 9);
		d->deadband = dbl(res, i, 10);
		d->delay_s = i64(res, i, 11, -1);
		d->expected_interval_s = i64(res, i, 12, -1);
		d->enabled = PQgetvalue(res, i, 14)[0] == 't';
		fresh = model_point(r, row.code) == NULL;
		if ((p = model_put_point(r, &row)) == NULL)
			return -1;
		if (!fresh && !p->params.enabled) {
			/* A point disabled now may not report again: what it
			 * has open is closed here, not at its next reading. */
			struct alarm_change ch[ALARM_CHANGES_MAX];
			int64_t at = riskd_now_ms();
			size_t n;

			/* Never before the newest reading: a clock ahead of
			 * ours must not make a negative duration. */
			if (at < p->st.last_ts_ms)
				at = p->st.last_ts_ms;
			n = alarm_close_all(&p->st, at, CLEAR_SUPPRESSED, ch);

			if (n > 0)
				feed_apply_changes(r, p, ch, n);
		}
		if (fresh && !PQgetisnull(res, i, 16)) {
			struct alarm_state *st = &p->st;

			st->last_ts_ms = i64(res, i, 16, 0);
			st->last_value = dbl(res, i, 17);
			st->last_quality = (uint8_t)i64(res, i, 18, 0);
			st->since_h = i64(res, i, 19, 0);
			st->since_hh = i64(res, i, 20, 0);
			st->since_l = i64(res, i, 21, 0);
			st->since_ll = i64(res, i, 22, 0);
			st->suppressed_kind = (uint8_t)i64(res, i, 23, 0);
			p->flushed_ms = st->last_ts_ms;
		}
	}
	return 0;
}

static int
open_alarms_from(struct riskd *r, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct rk_point *p = model_point(r, PQgetvalue(res, i, 0));
		enum alarm_kind k;
		struct alarm_open *o;

		if (p == NULL || alarm_kind_parse(PQgetvalue(res, i, 1), &k) < 0)
			continue;
		if (alarm_kind_is_threshold(k))
			o = &p->st.thr;
		else if (k == ALARM_FAULT)
			o = &p->st.fault;
		else
			o = &p->st.offline;
		if (o->kind == ALARM_NONE)
			r->nalarms_open++;
		o->kind = (uint8_t)k;
		o->start_ms = i64(res, i, 2, 0);
		o->value = dbl(res, i, 3);
		o->threshold = dbl(res, i, 4);
		o->peak = dbl(res, i, 5);
		if (o == &p->st.thr)
			p->acked_start_ms = PQgetvalue(res, i, 6)[0] == 't'
			    ? o->start_ms
			    : 0;
	}
	return 0;
}

/* Decode [{name, q, Q, beta}, ...]; NULL with *n = 0 when malformed. */
static struct chemical *
chemicals_decode(const char *json, size_t *n)
{
	cJSON *a = cJSON_Parse(json), *it;
	struct chemical *c = NULL;
	size_t i = 0;

	*n = 0;
	if (!cJSON_IsArray(a))
		goto out;
	c = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*c));
	if (c == NULL)
		goto out;
	cJSON_ArrayForEach(it, a)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(it, "q");
		const cJSON *Q = cJSON_GetObjectItemCaseSensitive(it, "Q");
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(it, "beta");

		snprintf(c[i].name, sizeof(c[i].name), "%s",
		    cJSON_IsString(name) ? name->valuestring : "");
		c[i].q = cJSON_IsNumber(q) ? q->valuedouble : NAN;
		c[i].Q = cJSON_IsNumber(Q) ? Q->valuedouble : NAN;
		c[i].beta = cJSON_IsNumber(b) ? b->valuedouble : NAN;
		i++;
	}
	*n = i;
out:
	cJSON_Delete(a);
	return c;
}

static int
sources_from(struct riskd *r, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct rk_ent *e = model_ent(r, PQgetvalue(res, i, 1));
		struct chemical *chem;
		struct rk_source *s;
		size_t n;
		int fresh;

		if (e == NULL)
			continue;
		chem = chemicals_decode(PQgetvalue(res, i, 4), &n);
		fresh = model_source(r, PQgetvalue(res, i, 0)) == NULL;
		s = model_put_source(r, PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 2), e, i64(res, i, 3, 0),
		    (int32_t)i64(res, i, 5, 0), chem, n);
		if (s == NULL)
			return -1;
		if (fresh)
			model_link_source_points(r, s);
	}
	return 0;
}

static int
rpoints_from(struct riskd *r, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct rk_ent *e = model_ent(r, PQgetvalue(res, i, 0));
		struct risk_point_in in = {0};

		if (e == NULL)
			continue;
		in.method = strcmp(PQgetvalue(res, i, 3), "LS") == 0
		    ? METHOD_LS
		    : METHOD_LEC;
		in.l = dbl(res, i, 4);
		in.e = dbl(res, i, 5);
		in.c = dbl(res, i, 6);
		in.s = dbl(res, i, 7);
		if (model_put_rpoint(r, e, PQgetvalue(res, i, 1),
		        PQgetvalue(res, i, 2), &in) == NULL)
			return -1;
	}
	return 0;
}

static int
ops_from(struct riskd *r, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++)
		if (model_put_op(r, PQgetvalue(res, i, 0), str_or_null(res, i, 1),
		        str_or_null(res, i, 2), str_or_null(res, i, 3),
		        str_or_null(res, i, 4)) == NULL)
			return -1;
	return 0;
}

static struct rk_window *
window_decode(const PGresult *res, int i)
{
	struct rk_window *w = calloc(1, sizeof(*w));
	cJSON *a = NULL, *it;

	if (w == NULL)
		return NULL;
	w->id = i64(res, i, 0, 0);
	w->starts_ms = i64(res, i, 2, 0);
	w->ends_ms = i64(res, i, 3, 0);
	snprintf(w->reason, sizeof(w->reason), "%s", PQgetvalue(res, i, 4));
	if (!PQgetisnull(res, i, 5))
		w->hazard_source = strdup(PQgetvalue(res, i, 5));
	a = cJSON_Parse(PQgetvalue(res, i, 6));
	if (cJSON_IsArray(a) && cJSON_GetArraySize(a) > 0) {
		w->points = calloc((size_t)cJSON_GetArraySize(a), sizeof(char *));
		if (w->points != NULL)
			cJSON_ArrayForEach(it, a)
			{
				if (cJSON_IsString(it))
					w->points[w->npoints++] =
					    strdup(it->valuestring);
			}
	}
	cJSON_Delete(a);
	return w;
}

static int
windows_from(struct riskd *r, PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++) {
		struct rk_ent *e = model_ent(r, PQgetvalue(res, i, 1));
		struct rk_window *w;

		if (e == NULL)
			continue;
		if ((w = window_decode(res, i)) == NULL ||
		    model_add_window(r, e, w) < 0)
			return -1;
	}
	return 0;
}

static void
facts_from(struct riskd *r, PGresult *res)
{
	const struct ent_risk_cfg *c = &r->rules.ent;

	for (int i = 0; i < PQntuples(res); i++) {
		struct rk_ent *e = model_ent(r, PQgetvalue(res, i, 0));
		struct ent_facts *f;
		int64_t next = 0, t;

		if (e == NULL)
			continue;
		f = &e->facts;
		f->open_major_hazards = (int)i64(res, i, 1, 0);
		f->overdue_hazards = (int)i64(res, i, 2, 0);
		f->overdue_major_hazards = (int)i64(res, i, 3, 0);
		/* When time alone changes these: a deadline passing, an
		 * accident leaving its window. */
		if ((t = i64(res, i, 4, 0)) > 0)
			next = t;
		f->deaths_accidents_in_window = (int)i64(res, i, 5, 0);
		if ((t = i64(res, i, 6, 0)) > 0 &&
		    (next == 0 || t + c->death_window_ms < next))
			next = t + c->death_window_ms;
		f->larger_accidents_in_window = (int)i64(res, i, 7, 0);
		if ((t = i64(res, i, 8, 0)) > 0 &&
		    (next == 0 || t + c->larger_accident_window_ms < next))
			next = t + c->larger_accident_window_ms;
		f->director_appointed = PQgetvalue(res, i, 9)[0] == 't';
		f->resplist_uploaded = PQgetvalue(res, i, 10)[0] == 't';
		e->recheck_ms = next;
		e->facts_loaded = 1;
		e->facts_stale = 0;
		model_mark_ent(r, e);
	}
}

/* --- reloads inside the consumer's transaction -------------------------- */

typedef int (*rows_fn)(struct riskd *r, PGresult *res);

static int
reload(struct riskd *r, PGconn *conn, const char *what, const char *sql,
    const char *const *keys, size_t n, rows_fn fn)
{
	char *arr = NULL;
	const char *params[1];
	PGresult *res;
	int rc;

	if (keys != NULL && (arr = store_text_array(keys, n)) == NULL)
		return -1;
	params[0] = arr;
	res = run(conn, what, sql, 1, params);
	free(arr);
	if (res == NULL)
		return -1;
	rc = fn(r, res);
	PQclear(res);
	return rc;
}

int
model_reload_ents(
    struct riskd *r, PGconn *conn, const char *const *uscc, size_t n)
{
	int rc = reload(r, conn, "enterprises", SQL_ENTS, uscc, n, ents_from);

	for (size_t i = 0; rc == 0 && uscc != NULL && i < n; i++) {
		struct rk_ent *e = model_ent(r, uscc[i]);

		if (e != NULL) {
			e->facts_stale = 1;
			model_mark_ent(r, e);
		}
	}
	return rc;
}

/* Reload enterprises the rows name that the model does not know yet. */
static int
ensure_ents(struct riskd *r, PGconn *conn, const char *const *uscc, size_t n)
{
	const char **missing = calloc(n + 1, sizeof(*missing));
	size_t m = 0;
	int rc = 0;

	if (missing == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (model_ent(r, uscc[i]) == NULL)
			missing[m++] = uscc[i];
	if (m > 0)
		rc = model_reload_ents(r, conn, missing, m);
	free(missing);
	return rc;
}

static int
points_reload_rows(struct riskd *r, PGresult *res)
{
	return points_from(r, res);
}

int
model_reload_points(
    struct riskd *r, PGconn *conn, const char *const *codes, size_t n)
{
	char *arr = store_text_array(codes, n);
	const char *params[1] = {arr};
	PGresult *res;
	const char **uscc;
	int rc = -1, nr;

	if (arr == NULL)
		return -1;
	res = run(conn, "points", SQL_POINTS, 1, params);
	if (res == NULL)
		goto out;
	nr = PQntuples(res);
	if ((uscc = calloc((size_t)nr + 1, sizeof(*uscc))) == NULL) {
		PQclear(res);
		goto out;
	}
	for (int i = 0; i < nr; i++)
		uscc[i] = PQgetvalue(res, i, 1);
	rc = ensure_ents(r, conn, uscc, (size_t)nr);
	free(uscc);
	if (rc == 0)
		rc = points_reload_rows(r, res);
	PQclear(res);
out:
	free(arr);
	return rc;
}

int
model_reload_sources(
    struct riskd *r, PGconn *conn, const char *const *codes, size_t n)
{
	return reload(r, conn, "hazard sources", SQL_SOURCES, codes, n,
	    sources_from);
}

static int
rpoints_reload_rows(struct riskd *r, PGresult *res)
{
	return rpoints_from(r, res);
}

int
model_reload_rpoints(
    struct riskd *r, PGconn *conn, const char *const *uscc, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rk_ent *e = model_ent(r, uscc[i]);

		if (e != NULL)
			model_drop_rpoints(r, e);
	}
	return reload(r, conn, "risk points", SQL_RPOINTS, uscc, n,
	    rpoints_reload_rows);
}

int
model_reload_ops(
    struct riskd *r, PGconn *conn, const char *const *op_ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		model_drop_op(r, op_ids[i]);
	return reload(r, conn, "operations", SQL_OPS, op_ids, n, ops_from);
}

int
model_reload_windows(
    struct riskd *r, PGconn *conn, const char *const *uscc, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rk_ent *e = model_ent(r, uscc[i]);

		if (e != NULL) {
			model_drop_windows(e);
			for (size_t j = 0; j < e->sources.n; j++)
				model_mark_source(r, e->sources.v[j]);
		}
	}
	return reload(r, conn, "maintenance windows", SQL_WINDOWS, uscc, n,
	    windows_from);
}

int
model_load_facts(struct riskd *r, PGconn *conn, struct rk_ent **ents,
    size_t n, int64_t now_ms)
{
	const char **keys = NULL;
	char *arr = NULL, dw[24], lw[24];
	const char *params[3];
	PGresult *res;

	(void)now_ms;
	if (ents != NULL) {
		if ((keys = calloc(n + 1, sizeof(*keys))) == NULL)
			return -1;
		for (size_t i = 0; i < n; i++)
			keys[i] = ents[i]->uscc;
		arr = store_text_array(keys, n);
		free(keys);
		if (arr == NULL)
			return -1;
	}
	snprintf(dw, sizeof(dw), "%" PRId64, r->rules.ent.death_window_ms);
	snprintf(lw, sizeof(lw), "%" PRId64,
	    r->rules.ent.larger_accident_window_ms);
	params[0] = arr;
	params[1] = dw;
	params[2] = lw;
	res = run(conn, "enterprise facts", SQL_FACTS, 3, params);
	free(arr);
	if (res == NULL)
		return -1;
	facts_from(r, res);
	PQclear(res);
	return 0;
}

/* --- the whole model ---------------------------------------------------- */

static int
load_all(struct riskd *r, PGconn *conn, int64_t now_ms)
{
	const char *none[1] = {NULL};
	char win[24];
	const char *wparams[1] = {win};
	PGresult *res;
	int rc = 0;

	if ((res = run(conn, "enterprises", SQL_ENTS, 1, none)) == NULL)
		return -1;
	rc = ents_from(r, res);
	PQclear(res);
	if (rc < 0 || (res = run(conn, "hazard sources", SQL_SOURCES, 1, none)) == NULL)
		return -1;
	rc = sources_from(r, res);
	PQclear(res);
	if (rc < 0 || (res = run(conn, "points", SQL_POINTS, 1, none)) == NULL)
		return -1;
	rc = points_from(r, res);
	PQclear(res);
	if (rc < 0 ||
	    (res = run(conn, "open alarms", SQL_OPEN_ALARMS, 1, none)) == NULL)
		return -1;
	rc = open_alarms_from(r, res);
	PQclear(res);
	if (rc < 0 || (res = run(conn, "risk points", SQL_RPOINTS, 1, none)) == NULL)
		return -1;
	rc = rpoints_from(r, res);
	PQclear(res);
	if (rc < 0 || (res = run(conn, "operations", SQL_OPS, 1, none)) == NULL)
		return -1;
	rc = ops_from(r, res);
	PQclear(res);
	if (rc < 0 ||
	    (res = run(conn, "maintenance windows", SQL_WINDOWS, 1, none)) == NULL)
		return -1;
	rc = windows_from(r, res);
	PQclear(res);
	if (rc < 0)
		return -1;
	snprintf(win, sizeof(win), "%" PRId64,
	    warn_rules_window_ms(&r->rules.warn));
	if ((res = run(conn, "raises", SQL_RAISES, 1, wparams)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct rk_source *s = model_source(r, PQgetvalue(res, i, 0));

		if (s != NULL)
			model_note_raise(s, i64(res, i, 1, 0),
			    warn_rules_window_ms(&r->rules.warn));
	}
	PQclear(res);
	if ((res = run(conn, "warnings", SQL_WARNINGS, 0, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct rk_source *s = model_source(r, PQgetvalue(res, i, 0));
		const char *lv = PQgetvalue(res, i, 1);

		if (s != NULL &&
		    level_parse(lv, strlen(lv), &s->warn.level) == 0) {
			s->warned = 1;
			s->warn_since_ms = i64(res, i, 2, now_ms);
		}
	}
	PQclear(res);
	if ((res = run(conn, "risk", SQL_RISK, 0, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct rk_ent *e = model_ent(r, PQgetvalue(res, i, 0));
		const char *lv = PQgetvalue(res, i, 1);

		if (e != NULL &&
		    level_parse(lv, strlen(lv), &e->risk.level) == 0) {
			e->graded = 1;
			e->risk_since_ms = i64(res, i, 2, now_ms);
		}
	}
	PQclear(res);
	return model_load_facts(r, conn, NULL, 0, now_ms);
}

static void
seen_from_load(void *p_, void *arg)
{
	struct rk_point *p = p_;
	const struct riskd *r = arg;

	if (p->st.seen_ms < r->load_ms)
		p->st.seen_ms = r->load_ms;
}

static void
mark_source(void *s, void *arg)
{
	model_mark_source(arg, s);
}

int
model_load(struct riskd *r, int64_t now_ms)
{
	PGconn *conn = store_conn(r->st);
	PGresult *res;
	int rc;

	if (conn == NULL)
		return -1;
	model_free(r);
	r->loaded = 0;
	if (model_init(r) < 0)
		return -1;
	res = PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		return -1;
	}
	PQclear(res);
	rc = load_all(r, conn, now_ms);
	res = PQexec(conn, rc == 0 ? "COMMIT" : "ROLLBACK");
	PQclear(res);
	if (rc < 0) {
		model_free(r);
		model_init(r);
		return -1;
	}
	/* Grade everything once: what changed while riskd was away is
	 * written by the first transaction. */
	strmap_each(r->sources, mark_source, r);
	/* Offline is counted from now at the earliest: riskd cannot tell a
	 * point silent since before it started from one whose readings it
	 * has not replayed yet (and the stored newest reading may be up to
	 * state_flush old).  A point dead before a crash is still called
	 * offline, one offline period after the start. */
	r->load_ms = now_ms;
	strmap_each(r->points, seen_from_load, r);
	r->loaded = 1;
	log_info("riskd.loaded",
	    "enterprises=%zu points=%zu sources=%zu risk_points=%zu "
	    "operations=%zu open_alarms=%zu",
	    strmap_count(r->ents), strmap_count(r->points),
	    strmap_count(r->sources), strmap_count(r->rpoints),
	    strmap_count(r->ops), r->nalarms_open);
	return 0;
}

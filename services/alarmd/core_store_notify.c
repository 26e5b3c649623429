/*
 * core_store_notify - the SQL behind a notice (core_notify.c): the
 * alarms it lists, the enterprise's other open incidents (inhibition),
 * responsibilities and the duty shifts covering now, and the rows it
 * writes (notifications, deliveries).  Each reads or writes a whole set
 * in one statement: a transaction's notices share them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core_store.h"
#include "store.h"

#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"
#define TS(n) "to_timestamp($" #n "::bigint / 1000.0)"

/*
 * A statement reading rows for a set of keys looks each key up on its own
 * (a LATERAL subquery the planner cannot flatten, kept so by LIMIT or
 * OFFSET 0): an index probe per key whatever the statistics say.  A fresh
 * table has none, and a storm fills it before autovacuum counts it; a
 * join planned on no statistics reads the whole table.
 */

/* A bigint[] literal of v[0..n) (malloc'd), or NULL. */
static char *
int64_array(const int64_t *v, size_t n)
{
	struct store_array a = {0};

	for (size_t i = 0; i < n; i++)
		store_array_int64(&a, v[i]);
	return store_array_take(&a);
}

static char *
dup_or_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL
	                                : strdup(PQgetvalue(r, row, col));
}

int
cs_alarm_rows(
    PGconn *c, const int64_t *ids, size_t n, int max, struct cs_alarm_row **out)
{
	static const char sql[] =
	    "SELECT x.incident_id, x.ref, x.point, x.kind, x.value, "
	    "x.threshold, " MS(
	        "x.at") " FROM unnest($1::bigint[]) AS i(id) "
	                "CROSS JOIN LATERAL (SELECT * FROM incident_alarms a "
	                "WHERE a.incident_id = i.id ORDER BY a.at DESC, a.ref "
	                "LIMIT $2::int) x";
	char lim[12], *arr;
	const char *p[2];
	struct cs_alarm_row *rows;
	PGresult *r;
	int k;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((arr = int64_array(ids, n)) == NULL)
		return -1;
	snprintf(lim, sizeof(lim), "%d", max);
	p[0] = arr;
	p[1] = lim;
	r = cs_run(c, "incident alarms", sql, 2, p);
	free(arr);
	if (r == NULL)
		return -1;
	k = PQntuples(r);
	if (k == 0) {
		PQclear(r);
		return 0;
	}
	if ((rows = calloc((size_t)k, sizeof(*rows))) == NULL) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < k; i++) {
		struct cs_alarm_row *a = &rows[i];

		a->incident = cs_i64(r, i, 0);
		a->ref = strdup(PQgetvalue(r, i, 1));
		a->point = dup_or_null(r, i, 2);
		a->kind = strdup(PQgetvalue(r, i, 3));
		a->has_value = !PQgetisnull(r, i, 4);
		a->value = a->has_value ? strtod(PQgetvalue(r, i, 4), NULL) : 0;
		a->has_threshold = !PQgetisnull(r, i, 5);
		a->threshold =
		    a->has_threshold ? strtod(PQgetvalue(r, i, 5), NULL) : 0;
		a->at_ms = cs_i64(r, i, 6);
		if (a->ref == NULL || a->kind == NULL ||
		    (a->point == NULL && !PQgetisnull(r, i, 2))) {
			cs_alarm_rows_free(rows, (size_t)i + 1);
			PQclear(r);
			return -1;
		}
	}
	PQclear(r);
	*out = rows;
	return k;
}

void
cs_alarm_rows_free(struct cs_alarm_row *rows, size_t n)
{
	for (size_t i = 0; rows != NULL && i < n; i++) {
		free(rows[i].ref);
		free(rows[i].point);
		free(rows[i].kind);
	}
	free(rows);
}

int
cs_enterprise_facts(PGconn *c, const char *const *uscc, size_t n,
    struct route_resp *resp, int *found, struct cs_open_inc **opens)
{
	static const char sql[] =
	    "SELECT u.ord, r.uscc IS NOT NULL, r.territorial, r.sector_dept, "
	    "r.direct_dept, o.id, o.level "
	    "FROM unnest($1::bpchar[]) WITH ORDINALITY AS u(uscc, ord) "
	    "LEFT JOIN LATERAL (SELECT * FROM responsibilities x "
	    "WHERE x.uscc = u.uscc LIMIT 1) r ON true "
	    "LEFT JOIN LATERAL (SELECT id, level FROM incidents i "
	    "WHERE i.uscc = u.uscc AND i.status <> 'resolved' OFFSET 0) o "
	    "ON true";
	const char *p[1];
	char *arr;
	PGresult *r;
	int k = 0;

	*opens = NULL;
	for (size_t i = 0; i < n; i++) {
		memset(&resp[i], 0, sizeof(resp[i]));
		found[i] = 0;
	}
	if (n == 0)
		return 0;
	if ((arr = store_text_array(uscc, n)) == NULL)
		return -1;
	p[0] = arr;
	r = cs_run(c, "enterprise facts", sql, 1, p);
	free(arr);
	if (r == NULL)
		return -1;
	if (PQntuples(r) > 0 &&
	    (*opens = calloc((size_t)PQntuples(r), sizeof(**opens))) == NULL) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		int64_t ord = cs_i64(r, i, 0);
		struct cs_open_inc *o;

		if (ord < 1 || (size_t)ord > n)
			continue;
		if (PQgetvalue(r, i, 1)[0] == 't' && !found[ord - 1]) {
			struct route_resp *x = &resp[ord - 1];

			cs_cpy(x->territorial, sizeof(x->territorial), r, i, 2);
			cs_cpy(x->sector_dept, sizeof(x->sector_dept), r, i, 3);
			cs_cpy(x->direct_dept, sizeof(x->direct_dept), r, i, 4);
			found[ord - 1] = 1;
		}
		if (PQgetisnull(r, i, 5))
			continue;
		o = &(*opens)[k++];
		snprintf(o->uscc, sizeof(o->uscc), "%s", uscc[ord - 1]);
		o->id = cs_i64(r, i, 5);
		if (al_level_parse(PQgetvalue(r, i, 6), &o->level) < 0)
			o->level = AL_BLUE;
	}
	PQclear(r);
	return k;
}

static void
person_from(const cJSON *o, struct route_person *p)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
	const cJSON *phone = cJSON_GetObjectItemCaseSensitive(o, "phone");

	snprintf(p->id, sizeof(p->id), "%s",
	    cJSON_IsString(id) ? id->valuestring : "");
	snprintf(p->name, sizeof(p->name), "%s",
	    cJSON_IsString(name) ? name->valuestring : "");
	snprintf(p->phone, sizeof(p->phone), "%s",
	    cJSON_IsString(phone) ? phone->valuestring : "");
}

/* Decode the rows of a shifts query (unit, start, end, leader,
 * officers) into out. */
static int
shifts_from(PGresult *r, struct route_shift *out, size_t max)
{
	size_t k = 0;

	for (int i = 0; i < PQntuples(r) && k < max; i++) {
		struct route_shift *s = &out[k];
		cJSON *leader = cJSON_Parse(PQgetvalue(r, i, 3));
		cJSON *officers = cJSON_Parse(PQgetvalue(r, i, 4)), *it;

		memset(s, 0, sizeof(*s));
		cs_cpy(s->unit, sizeof(s->unit), r, i, 0);
		s->start_ms = cs_i64(r, i, 1);
		s->end_ms = cs_i64(r, i, 2);
		if (cJSON_IsObject(leader))
			person_from(leader, &s->leader);
		cJSON_ArrayForEach(it, officers)
		{
			if (s->nofficers < ROUTE_OFFICERS_MAX &&
			    cJSON_IsObject(it))
				person_from(it, &s->officers[s->nofficers++]);
		}
		cJSON_Delete(leader);
		cJSON_Delete(officers);
		k++;
	}
	return (int)k;
}

int
cs_shifts_all(PGconn *c, int64_t from_ms, int64_t to_ms,
    struct route_shift *out, size_t max)
{
	static const char sql[] = "SELECT unit, " MS("start_at") ", " MS(
	    "end_at") ", leader::text, "
	              "officers::text FROM duty_rosters WHERE start_at < " TS(
	                  2) " AND end_at > " TS(1) " ORDER BY start_at";
	char at[24], to[24];
	const char *p[2] = {at, to};
	PGresult *r;
	int k;

	snprintf(at, sizeof(at), "%" PRId64, from_ms);
	snprintf(to, sizeof(to), "%" PRId64, to_ms);
	if ((r = cs_run(c, "shifts now", sql, 2, p)) == NULL)
		return -1;
	k = shifts_from(r, out, max);
	PQclear(r);
	return k;
}

int
cs_unit_name(PGconn *c, const char *unit, char *out, size_t size)
{
	static const char sql[] =
	    "SELECT name FROM districts WHERE code = $1 UNION ALL "
	    "SELECT name FROM departments WHERE code = $1 LIMIT 1";
	const char *p[1] = {unit};
	PGresult *r;

	snprintf(out, size, "%s", unit);
	if ((r = cs_run(c, "unit name", sql, 1, p)) == NULL)
		return -1;
	if (PQntuples(r) > 0)
		cs_cpy(out, size, r, 0, 0);
	PQclear(r);
	return 0;
}

int
cs_insert_notifications(
    PGconn *c, const struct cs_notification *n, size_t count)
{
	static const char sql[] =
	    "INSERT INTO notifications (id, incident_id, status, level, tier, "
	    "recipients, payload, held) OVERRIDING SYSTEM VALUE "
	    "SELECT u.id, u.inc, u.status, u.level, u.tier, u.rec::jsonb, "
	    "u.pay::jsonb, u.held FROM unnest($1::bigint[], $2::bigint[], "
	    "$3::text[], $4::text[], $5::int[], $6::text[], $7::text[], "
	    "$8::text[]) AS u(id, inc, status, level, tier, rec, pay, held)";
	struct store_array a[8];
	PGresult *r;

	if (count == 0)
		return 0;
	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < count; i++) {
		store_array_int64(&a[0], n[i].id);
		store_array_int64(&a[1], n[i].incident);
		store_array_str(&a[2], n[i].status);
		store_array_str(&a[3], al_level_name(n[i].level));
		store_array_int64(&a[4], n[i].tier);
		store_array_str(&a[5], n[i].recipients);
		store_array_str(&a[6], n[i].payload);
		store_array_str(&a[7], n[i].held);
	}
	if ((r = cs_run_arrays(c, "insert notifications", sql, a, 8)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
cs_insert_deliveries(PGconn *c, const int64_t *ids, const int64_t *notification,
    const char *const *receiver, size_t n)
{
	static const char sql[] =
	    "INSERT INTO deliveries (id, notification_id, receiver, state, "
	    "next_at) OVERRIDING SYSTEM VALUE SELECT u.id, u.nid, u.rcv, "
	    "'pending', now() FROM unnest($1::bigint[], $2::bigint[], "
	    "$3::text[]) AS u(id, nid, rcv)";
	struct store_array a[3];
	PGresult *r;

	if (n == 0)
		return 0;
	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < n; i++) {
		store_array_int64(&a[0], ids[i]);
		store_array_int64(&a[1], notification[i]);
		store_array_str(&a[2], receiver[i]);
	}
	if ((r = cs_run_arrays(c, "insert deliveries", sql, a, 3)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/*
 * core_store - the SQL of alarmd's core.
 *
 * Times cross the boundary as epoch milliseconds, JSON columns as text.
 * Every statement is parameterised and prepared once per connection.
 * See core_store.h for what each function is for.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core_store.h"
#include "log.h"

#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

static const char INC_COLS[] =
    "id, coalesce(uscc, ''), coalesce(enterprise, ''), coalesce(district, ''), "
    "coalesce(sector, ''), cause, level, status, tier, alarm_count, "
    "open_alarms, title, summary, reasons::text, " MS("opened_at") ", "
    "coalesce(" MS("notified_at") ", 0), coalesce(" MS("acknowledged_at")
    ", 0), coalesce(" MS("resolved_at") ", 0), coalesce(" MS("cleared_at")
    ", 0), coalesce(acknowledged_by, ''), flapping, coalesce(silenced_by, 0), "
    "coalesce(inhibited_by, 0), coalesce(next_step, ''), "
    "coalesce(" MS("next_step_at") ", 0), step_count, "
    "coalesce(" MS("last_step_at") ", 0), coalesce(resolved_by, ''), "
    "coalesce(resolution, '')";

/*
 * Statements prepared on the current connection.  Every statement here is
 * run many times a second when alarms come in bursts, and planning them
 * anew each time (PQexecParams) cost more server time than running them;
 * so each is prepared once per connection and executed by name.  A new
 * connection (the store reconnected) starts the cache again.  When the
 * prepare itself fails (the transaction is already aborted, say), the
 * statement runs unprepared and reports the real error.
 */
#define PREPARED_MAX 64

static struct {
	PGconn *conn;
	size_t n;
	char *sql[PREPARED_MAX];
} prepared;

static void
prepared_reset(PGconn *c)
{
	for (size_t i = 0; i < prepared.n; i++)
		free(prepared.sql[i]);
	prepared.n = 0;
	prepared.conn = c;
}

void
cs_prepared_free(void)
{
	prepared_reset(NULL);
}

/* The statement's name ("cs<N>"), preparing it when new; NULL when it
 * cannot be prepared (run it unprepared). */
static const char *
prepared_name(PGconn *c, const char *sql, int n, char *name, size_t size)
{
	PGresult *res;
	size_t i;

	if (prepared.conn != c)
		prepared_reset(c);
	for (i = 0; i < prepared.n; i++)
		if (strcmp(prepared.sql[i], sql) == 0) {
			snprintf(name, size, "cs%zu", i);
			return name;
		}
	if (prepared.n == PREPARED_MAX ||
	    PQtransactionStatus(c) == PQTRANS_INERROR)
		return NULL;
	snprintf(name, size, "cs%zu", prepared.n);
	res = PQprepare(c, name, sql, n, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	if ((prepared.sql[prepared.n] = strdup(sql)) == NULL)
		return NULL;
	prepared.n++;
	return name;
}

static PGresult *
run(PGconn *c, const char *what, const char *sql, int n,
    const char *const *params)
{
	char name[24];
	const char *stmt = prepared_name(c, sql, n, name, sizeof(name));
	PGresult *res = stmt != NULL
	    ? PQexecPrepared(c, stmt, n, params, NULL, NULL, 0)
	    : PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(res);
	char q[300];

	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
		return res;
	log_warn("alarmd.store", "what=%s error=%s", what,
	    log_quote(q, sizeof(q), PQresultErrorMessage(res)));
	PQclear(res);
	return NULL;
}

static int64_t
i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0
					: strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void
cpy(char *dst, size_t size, const PGresult *r, int row, int col)
{
	snprintf(dst, size, "%s", PQgetvalue(r, row, col));
}

static const char *
status_word(int s)
{
	return s == AL_RESOLVED ? "resolved"
	    : s == AL_ACKED     ? "acknowledged"
				: "firing";
}

static int
status_parse(const char *s)
{
	if (strcmp(s, "resolved") == 0)
		return AL_RESOLVED;
	if (strcmp(s, "acknowledged") == 0)
		return AL_ACKED;
	return AL_FIRING;
}

static void
inc_from(const PGresult *r, int i, struct inc *o)
{
	memset(o, 0, sizeof(*o));
	o->id = i64(r, i, 0);
	cpy(o->uscc, sizeof(o->uscc), r, i, 1);
	cpy(o->enterprise, sizeof(o->enterprise), r, i, 2);
	cpy(o->district, sizeof(o->district), r, i, 3);
	cpy(o->sector, sizeof(o->sector), r, i, 4);
	cpy(o->cause, sizeof(o->cause), r, i, 5);
	al_level_parse(PQgetvalue(r, i, 6), &o->level);
	o->status = status_parse(PQgetvalue(r, i, 7));
	o->tier = (int)i64(r, i, 8);
	o->alarm_count = (int)i64(r, i, 9);
	o->open_alarms = (int)i64(r, i, 10);
	cpy(o->title, sizeof(o->title), r, i, 11);
	cpy(o->summary, sizeof(o->summary), r, i, 12);
	cpy(o->reasons, sizeof(o->reasons), r, i, 13);
	o->opened_ms = i64(r, i, 14);
	o->notified_ms = i64(r, i, 15);
	o->acked_ms = i64(r, i, 16);
	o->resolved_ms = i64(r, i, 17);
	o->cleared_ms = i64(r, i, 18);
	cpy(o->acked_by, sizeof(o->acked_by), r, i, 19);
	o->flapping = PQgetvalue(r, i, 20)[0] == 't';
	o->silenced_by = i64(r, i, 21);
	o->inhibited_by = i64(r, i, 22);
	if (al_step_parse(PQgetvalue(r, i, 23), &o->next_step) < 0)
		o->next_step = AL_STEP_NONE;
	o->next_step_ms = i64(r, i, 24);
	o->step_count = (int)i64(r, i, 25);
	o->last_step_ms = i64(r, i, 26);
	cpy(o->resolved_by, sizeof(o->resolved_by), r, i, 27);
	cpy(o->resolution, sizeof(o->resolution), r, i, 28);
}

int
cs_open_incident(PGconn *c, const char *uscc, const char *cause,
    struct inc *out)
{
	char sql[1400];
	const char *p[2] = {uscc, cause};
	PGresult *r;
	int found;

	snprintf(sql, sizeof(sql),
	    "SELECT %s FROM incidents WHERE coalesce(uscc, '') = $1 "
	    "AND cause = $2 AND status <> 'resolved' FOR UPDATE",
	    INC_COLS);
	if ((r = run(c, "open incident", sql, 2, p)) == NULL)
		return -1;
	found = PQntuples(r) > 0;
	if (found)
		inc_from(r, 0, out);
	PQclear(r);
	return found;
}

int
cs_lock_incident(PGconn *c, int64_t id, struct inc *out)
{
	char sql[1400], ids[24];
	const char *p[1] = {ids};
	PGresult *r;
	int found;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	snprintf(sql, sizeof(sql),
	    "SELECT %s FROM incidents WHERE id = $1 FOR UPDATE", INC_COLS);
	if ((r = run(c, "lock incident", sql, 1, p)) == NULL)
		return -1;
	found = PQntuples(r) > 0;
	if (found)
		inc_from(r, 0, out);
	PQclear(r);
	return found;
}

/* Text of an epoch-ms time for SQL (NULL for 0). */
static const char *
ms_or_null(char *buf, size_t size, int64_t ms)
{
	if (ms <= 0)
		return NULL;
	snprintf(buf, size, "%" PRId64, ms);
	return buf;
}

#define TS(n) "to_timestamp($" #n "::bigint / 1000.0)"

int
cs_insert_incident(PGconn *c, struct inc *in)
{
	static const char sql[] =
	    "INSERT INTO incidents (uscc, enterprise, district, sector, cause, "
	    "level, title, summary, reasons, status, tier, alarm_count, "
	    "open_alarms, opened_at, flapping, next_step, next_step_at) "
	    "VALUES (nullif($1, ''), nullif($2, ''), nullif($3, ''), "
	    "nullif($4, ''), $5, $6, $7, $8, $9::jsonb, 'firing', $10::int, "
	    "$11::int, $12::int, " TS(13) ", $14::boolean, $15, "
	    "CASE WHEN $16::bigint IS NULL THEN NULL ELSE " TS(16) " END) "
	    "RETURNING id";
	char tier[8], cnt[12], open[12], opened[24], next[24];
	const char *p[16] = {in->uscc, in->enterprise, in->district, in->sector,
	    in->cause, al_level_name(in->level), in->title, in->summary,
	    in->reasons[0] != '\0' ? in->reasons : "[]", tier, cnt, open,
	    opened, in->flapping ? "t" : "f",
	    in->next_step != AL_STEP_NONE ? al_step_name(in->next_step) : NULL,
	    NULL};
	PGresult *r;

	snprintf(tier, sizeof(tier), "%d", in->tier);
	snprintf(cnt, sizeof(cnt), "%d", in->alarm_count);
	snprintf(open, sizeof(open), "%d", in->open_alarms);
	snprintf(opened, sizeof(opened), "%" PRId64, in->opened_ms);
	p[15] = in->next_step != AL_STEP_NONE
	    ? ms_or_null(next, sizeof(next), in->next_step_ms)
	    : NULL;
	if (p[15] == NULL)
		p[14] = NULL;
	if ((r = run(c, "insert incident", sql, 16, p)) == NULL)
		return -1;
	in->id = i64(r, 0, 0);
	PQclear(r);
	return 0;
}

int
cs_update_incident(PGconn *c, const struct inc *in)
{
	static const char sql[] =
	    "UPDATE incidents SET level = $2, title = $3, summary = $4, "
	    "reasons = $5::jsonb, status = $6, tier = $7::int, "
	    "alarm_count = $8::int, open_alarms = $9::int, "
	    "notified_at = CASE WHEN $10::bigint IS NULL THEN NULL ELSE " TS(10)
	    " END, "
	    "acknowledged_at = CASE WHEN $11::bigint IS NULL THEN NULL ELSE " TS(11)
	    " END, "
	    "acknowledged_by = nullif($12, ''), "
	    "resolved_at = CASE WHEN $13::bigint IS NULL THEN NULL ELSE " TS(13)
	    " END, "
	    "resolved_by = $14, resolution = $15, "
	    "cleared_at = CASE WHEN $16::bigint IS NULL THEN NULL ELSE " TS(16)
	    " END, "
	    "flapping = $17::boolean, silenced_by = nullif($18::bigint, 0), "
	    "inhibited_by = nullif($19::bigint, 0), next_step = $20, "
	    "next_step_at = CASE WHEN $21::bigint IS NULL THEN NULL ELSE " TS(21)
	    " END, step_count = $22::int, "
	    "last_step_at = CASE WHEN $23::bigint IS NULL THEN NULL ELSE " TS(23)
	    " END, updated_at = now() WHERE id = $1";
	char id[24], tier[8], cnt[12], open[12], nt[24], ak[24], rs[24],
	    cl[24], sil[24], inh[24], next[24], steps[12], last[24];
	const char *p[23];
	PGresult *r;

	snprintf(id, sizeof(id), "%" PRId64, in->id);
	snprintf(tier, sizeof(tier), "%d", in->tier);
	snprintf(cnt, sizeof(cnt), "%d", in->alarm_count);
	snprintf(open, sizeof(open), "%d", in->open_alarms);
	snprintf(sil, sizeof(sil), "%" PRId64, in->silenced_by);
	snprintf(inh, sizeof(inh), "%" PRId64, in->inhibited_by);
	snprintf(steps, sizeof(steps), "%d", in->step_count);
	p[0] = id;
	p[1] = al_level_name(in->level);
	p[2] = in->title;
	p[3] = in->summary;
	p[4] = in->reasons[0] != '\0' ? in->reasons : "[]";
	p[5] = status_word(in->status);
	p[6] = tier;
	p[7] = cnt;
	p[8] = open;
	p[9] = ms_or_null(nt, sizeof(nt), in->notified_ms);
	p[10] = ms_or_null(ak, sizeof(ak), in->acked_ms);
	p[11] = in->acked_by;
	p[12] = ms_or_null(rs, sizeof(rs), in->resolved_ms);
	p[13] = in->status == AL_RESOLVED ? in->resolved_by : NULL;
	p[14] = in->status == AL_RESOLVED ? in->resolution : NULL;
	p[15] = ms_or_null(cl, sizeof(cl), in->cleared_ms);
	p[16] = in->flapping ? "t" : "f";
	p[17] = sil;
	p[18] = inh;
	p[19] = in->next_step != AL_STEP_NONE ? al_step_name(in->next_step)
					      : NULL;
	p[20] = in->next_step != AL_STEP_NONE
	    ? ms_or_null(next, sizeof(next), in->next_step_ms)
	    : NULL;
	if (p[20] == NULL)
		p[19] = NULL;
	p[21] = steps;
	p[22] = ms_or_null(last, sizeof(last), in->last_step_ms);
	if ((r = run(c, "update incident", sql, 23, p)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

static const char *
dbl_or_null(char *buf, size_t size, double v, int has)
{
	if (!has || !isfinite(v))
		return NULL;
	snprintf(buf, size, "%.17g", v);
	return buf;
}

int
cs_add_alarm(PGconn *c, int64_t incident, const char *ref, const char *point,
    const char *kind, enum al_level level, double value, int has_value,
    double threshold, int has_threshold, int64_t at_ms)
{
	static const char sql[] =
	    "INSERT INTO incident_alarms (incident_id, ref, point, kind, level, "
	    "value, threshold, at) VALUES ($1, $2, nullif($3, ''), $4, $5, "
	    "$6::float8, $7::float8, " TS(8) ") "
	    "ON CONFLICT (incident_id, ref) DO NOTHING";
	char id[24], v[40], t[40], at[24];
	const char *p[8] = {id, ref, point != NULL ? point : "", kind,
	    al_level_name(level), dbl_or_null(v, sizeof(v), value, has_value),
	    dbl_or_null(t, sizeof(t), threshold, has_threshold), at};
	PGresult *r;
	int added;

	snprintf(id, sizeof(id), "%" PRId64, incident);
	snprintf(at, sizeof(at), "%" PRId64, at_ms);
	if ((r = run(c, "add alarm", sql, 8, p)) == NULL)
		return -1;
	added = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	return added;
}

int
cs_clear_alarm(PGconn *c, const char *ref, int64_t at_ms, int64_t *incident)
{
	static const char sql[] =
	    "UPDATE incident_alarms a SET cleared_at = " TS(2) " "
	    "FROM incidents i WHERE a.ref = $1 AND a.cleared_at IS NULL "
	    "AND i.id = a.incident_id AND i.status <> 'resolved' "
	    "RETURNING a.incident_id";
	char at[24];
	const char *p[2] = {ref, at};
	PGresult *r;
	int n;

	snprintf(at, sizeof(at), "%" PRId64, at_ms);
	if ((r = run(c, "clear alarm", sql, 2, p)) == NULL)
		return -1;
	n = PQntuples(r);
	if (n > 0)
		*incident = i64(r, 0, 0);
	PQclear(r);
	return n > 0;
}

int
cs_point_raises(PGconn *c, const char *point, int64_t window_ms)
{
	static const char sql[] =
	    "SELECT count(*) FROM incident_alarms WHERE point = $1 "
	    "AND at > now() - $2::bigint * interval '1 millisecond'";
	char w[24];
	const char *p[2] = {point, w};
	PGresult *r;
	int n;

	snprintf(w, sizeof(w), "%" PRId64, window_ms);
	if ((r = run(c, "point raises", sql, 2, p)) == NULL)
		return -1;
	n = (int)i64(r, 0, 0);
	PQclear(r);
	return n;
}

char *
cs_alarms_json(PGconn *c, int64_t incident, int max)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(json_build_object('id', ref, 'point', "
	    "point, 'kind', kind, 'value', value, 'threshold', threshold, "
	    "'at', to_char(at AT TIME ZONE 'Asia/Shanghai', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"')) ORDER BY at DESC), '[]')::text "
	    "FROM (SELECT * FROM incident_alarms WHERE incident_id = $1 "
	    "ORDER BY at DESC LIMIT $2::int) x";
	char id[24], lim[12];
	const char *p[2] = {id, lim};
	PGresult *r;
	char *out;

	snprintf(id, sizeof(id), "%" PRId64, incident);
	snprintf(lim, sizeof(lim), "%d", max);
	if ((r = run(c, "incident alarms", sql, 2, p)) == NULL)
		return NULL;
	out = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

int
cs_open_levels(PGconn *c, const char *uscc, int64_t except,
    enum al_level *out, size_t max)
{
	static const char sql[] =
	    "SELECT level FROM incidents WHERE uscc = $1 AND id <> $2 "
	    "AND status <> 'resolved'";
	char id[24];
	const char *p[2] = {uscc, id};
	PGresult *r;
	size_t n = 0;

	snprintf(id, sizeof(id), "%" PRId64, except);
	if ((r = run(c, "open levels", sql, 2, p)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r) && n < max; i++)
		if (al_level_parse(PQgetvalue(r, i, 0), &out[n]) == 0)
			n++;
	PQclear(r);
	return (int)n;
}

int
cs_responsibility(PGconn *c, const char *uscc, struct route_resp *out)
{
	static const char sql[] =
	    "SELECT territorial, sector_dept, direct_dept "
	    "FROM responsibilities WHERE uscc = $1";
	const char *p[1] = {uscc};
	PGresult *r;
	int found;

	memset(out, 0, sizeof(*out));
	if ((r = run(c, "responsibility", sql, 1, p)) == NULL)
		return -1;
	found = PQntuples(r) > 0;
	if (found) {
		cpy(out->territorial, sizeof(out->territorial), r, 0, 0);
		cpy(out->sector_dept, sizeof(out->sector_dept), r, 0, 1);
		cpy(out->direct_dept, sizeof(out->direct_dept), r, 0, 2);
	}
	PQclear(r);
	return found;
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
		cpy(s->unit, sizeof(s->unit), r, i, 0);
		s->start_ms = i64(r, i, 1);
		s->end_ms = i64(r, i, 2);
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
cs_shifts_all(PGconn *c, int64_t at_ms, struct route_shift *out, size_t max)
{
	static const char sql[] =
	    "SELECT unit, " MS("start_at") ", " MS("end_at") ", leader::text, "
	    "officers::text FROM duty_rosters WHERE start_at <= " TS(1)
	    " AND end_at > " TS(1) " ORDER BY start_at";
	char at[24];
	const char *p[1] = {at};
	PGresult *r;
	int k;

	snprintf(at, sizeof(at), "%" PRId64, at_ms);
	if ((r = run(c, "shifts now", sql, 1, p)) == NULL)
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
	if ((r = run(c, "unit name", sql, 1, p)) == NULL)
		return -1;
	if (PQntuples(r) > 0)
		cpy(out, size, r, 0, 0);
	PQclear(r);
	return 0;
}

int
cs_due(PGconn *c, int64_t *ids, size_t max)
{
	static const char sql[] =
	    "SELECT id FROM incidents WHERE next_step_at <= now() "
	    "ORDER BY next_step_at LIMIT $1::int";
	char lim[12];
	const char *p[1] = {lim};
	PGresult *r;
	int n;

	snprintf(lim, sizeof(lim), "%zu", max);
	if ((r = run(c, "due steps", sql, 1, p)) == NULL)
		return -1;
	n = PQntuples(r);
	for (int i = 0; i < n; i++)
		ids[i] = i64(r, i, 0);
	PQclear(r);
	return n;
}

int
cs_insert_notification(PGconn *c, int64_t incident, const char *status,
    enum al_level level, int tier, const char *recipients_json,
    const char *payload_json, const char *held, int64_t *id)
{
	static const char sql[] =
	    "INSERT INTO notifications (incident_id, status, level, tier, "
	    "recipients, payload, held) VALUES ($1, $2, $3, $4::int, $5::jsonb, "
	    "$6::jsonb, $7) RETURNING id";
	char inc[24], t[8];
	const char *p[7] = {inc, status, al_level_name(level), t,
	    recipients_json, payload_json, held};
	PGresult *r;

	snprintf(inc, sizeof(inc), "%" PRId64, incident);
	snprintf(t, sizeof(t), "%d", tier);
	if ((r = run(c, "insert notification", sql, 7, p)) == NULL)
		return -1;
	*id = i64(r, 0, 0);
	PQclear(r);
	return 0;
}

int
cs_insert_delivery(PGconn *c, int64_t notification, const char *receiver,
    int64_t *id)
{
	static const char sql[] =
	    "INSERT INTO deliveries (notification_id, receiver, state, next_at) "
	    "VALUES ($1, $2, 'pending', now()) RETURNING id";
	char n[24];
	const char *p[2] = {n, receiver};
	PGresult *r;

	snprintf(n, sizeof(n), "%" PRId64, notification);
	if ((r = run(c, "insert delivery", sql, 2, p)) == NULL)
		return -1;
	*id = i64(r, 0, 0);
	PQclear(r);
	return 0;
}

int
cs_silences(PGconn *c, struct al_silence *out, size_t max, char **block)
{
	static const char sql[] =
	    "SELECT id, matchers->>'uscc', matchers->>'district', "
	    "matchers->>'point', matchers->>'cause', matchers->>'level', "
	    MS("starts_at") ", " MS("ends_at") " FROM silences "
	    "WHERE expired_at IS NULL AND ends_at > now() ORDER BY id";
	PGresult *r;
	size_t len = 0, n = 0;
	char *b;

	*block = NULL;
	if ((r = run(c, "silences", sql, 0, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		for (int j = 1; j <= 4; j++)
			len += (size_t)PQgetlength(r, i, j) + 1;
	if ((b = malloc(len + 1)) == NULL) {
		PQclear(r);
		return -1;
	}
	*block = b;
	for (int i = 0; i < PQntuples(r) && n < max; i++) {
		struct al_silence *s = &out[n];
		const char **f[4] = {&s->uscc, &s->district, &s->point,
		    &s->cause};

		memset(s, 0, sizeof(*s));
		s->id = i64(r, i, 0);
		for (int j = 0; j < 4; j++) {
			if (PQgetisnull(r, i, j + 1)) {
				*f[j] = NULL;
				continue;
			}
			strcpy(b, PQgetvalue(r, i, j + 1));
			*f[j] = b;
			b += strlen(b) + 1;
		}
		s->has_level = !PQgetisnull(r, i, 5) &&
			       al_level_parse(PQgetvalue(r, i, 5), &s->level) == 0;
		s->starts_ms = i64(r, i, 6);
		s->ends_ms = i64(r, i, 7);
		n++;
	}
	PQclear(r);
	return (int)n;
}

/*
 * The deadlines of DOMAIN.md 6, each row a key not yet raised: a hidden
 * hazard due within 24 h, one overdue, an accident whose 1-hour report
 * was late, special equipment past its inspection date, a coal mine
 * without its quarterly self-check for the last quarter.
 */
static const char SQL_REMINDERS[] =
    "WITH r AS ("
    " SELECT 'hazard_due:' || h.hazard_id AS key, 'hazard_due' AS kind, "
    "  h.uscc, 'yellow' AS level, '隐患即将到期' AS title, "
    "  '隐患 ' || h.hazard_id || '（' || h.description || '）将于 ' || "
    "  to_char(h.deadline AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') || "
    "  ' 到期，尚未整改完成' AS summary "
    " FROM hazards h WHERE h.status = 'rectifying' "
    "  AND h.deadline > now() AND h.deadline <= now() + interval '24 hours' "
    " UNION ALL "
    " SELECT 'hazard_overdue:' || h.hazard_id, 'hazard_overdue', h.uscc, "
    "  CASE WHEN h.level = 'major' THEN 'orange' ELSE 'yellow' END, "
    "  CASE WHEN h.level = 'major' THEN '重大隐患逾期未整改' "
    "  ELSE '隐患逾期未整改' END, "
    "  '隐患 ' || h.hazard_id || '（' || h.description || '）已于 ' || "
    "  to_char(h.deadline AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') || "
    "  ' 到期' "
    " FROM hazards h WHERE h.status = 'rectifying' AND h.deadline <= now() "
    " UNION ALL "
    " SELECT 'accident_late:' || a.accident_id, 'accident_late', a.uscc, "
    "  'orange', '事故报告超时', "
    "  '事故 ' || a.accident_id || ' 未在 1 小时内报告（发生于 ' || "
    "  to_char(a.occurred_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') || "
    "  '）' "
    " FROM accidents a WHERE a.reported_late AND a.uscc IS NOT NULL "
    "  AND a.occurred_at > now() - interval '30 days' "
    " UNION ALL "
    " SELECT 'equipment_overdue:' || e.code || ':' || e.next_due_on, "
    "  'equipment_overdue', e.uscc, 'yellow', '特种设备逾期未检验', "
    "  '设备 ' || e.code || ' 应于 ' || e.next_due_on || ' 前检验' "
    " FROM equipment e WHERE e.next_due_on < (now() AT TIME ZONE "
    "  'Asia/Shanghai')::date "
    " UNION ALL "
    " SELECT 'selfcheck_missed:' || en.uscc || ':' || q.period, "
    "  'selfcheck_missed', en.uscc, 'yellow', '煤矿季度自查缺失', "
    "  '煤矿未报送 ' || q.period || ' 季度安全自查' "
    " FROM enterprises en, (SELECT to_char(now() - interval '3 months', "
    "  'YYYY\"Q\"Q') AS period) q "
    " WHERE en.sector = 'coal' AND en.status = 'operating' "
    "  AND NOT EXISTS (SELECT 1 FROM selfchecks s WHERE s.uscc = en.uscc "
    "   AND s.kind = 'coal_quarterly' AND s.period = q.period)"
    ") SELECT r.key, r.kind, r.uscc, r.level, r.title, r.summary FROM r "
    "WHERE r.uscc IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
    "reminders_raised x WHERE x.key = r.key) LIMIT $1::int";

int
cs_reminders_due(PGconn *c, struct cs_reminder *out, size_t max)
{
	char lim[12];
	const char *p[1] = {lim};
	PGresult *r;
	int n;

	snprintf(lim, sizeof(lim), "%zu", max);
	if ((r = run(c, "reminders", SQL_REMINDERS, 1, p)) == NULL)
		return -1;
	n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		cpy(out[i].key, sizeof(out[i].key), r, i, 0);
		cpy(out[i].kind, sizeof(out[i].kind), r, i, 1);
		cpy(out[i].uscc, sizeof(out[i].uscc), r, i, 2);
		if (al_level_parse(PQgetvalue(r, i, 3), &out[i].level) < 0)
			out[i].level = AL_YELLOW;
		cpy(out[i].title, sizeof(out[i].title), r, i, 4);
		cpy(out[i].summary, sizeof(out[i].summary), r, i, 5);
	}
	PQclear(r);
	return n;
}

int
cs_reminder_raised(PGconn *c, const char *key, int64_t incident)
{
	static const char sql[] =
	    "INSERT INTO reminders_raised (key, incident_id) VALUES ($1, $2) "
	    "ON CONFLICT (key) DO NOTHING";
	char id[24];
	const char *p[2] = {key, id};
	PGresult *r;

	snprintf(id, sizeof(id), "%" PRId64, incident);
	if ((r = run(c, "reminder raised", sql, 2, p)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
cs_enterprise(PGconn *c, const char *uscc, char *name, size_t nsize,
    char *district, size_t dsize, char *sector, size_t ssize)
{
	static const char sql[] =
	    "SELECT name, district, sector FROM enterprises WHERE uscc = $1";
	const char *p[1] = {uscc};
	PGresult *r;
	int found;

	if ((r = run(c, "enterprise", sql, 1, p)) == NULL)
		return -1;
	found = PQntuples(r) > 0;
	if (found) {
		cpy(name, nsize, r, 0, 0);
		cpy(district, dsize, r, 0, 1);
		cpy(sector, ssize, r, 0, 2);
	}
	PQclear(r);
	return found;
}

int
cs_units_uncovered(PGconn *c, char (*out)[16], size_t max)
{
	static const char sql[] =
	    "SELECT u.code FROM (SELECT code FROM districts UNION ALL "
	    "SELECT code FROM departments) u WHERE NOT EXISTS ("
	    "SELECT 1 FROM duty_rosters r WHERE r.unit = u.code "
	    "AND r.start_at <= now() AND r.end_at > now()) ORDER BY u.code";
	PGresult *r;
	size_t n = 0;

	if ((r = run(c, "uncovered units", sql, 0, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r) && n < max; i++)
		cpy(out[n++], 16, r, i, 0);
	PQclear(r);
	return (int)n;
}

int
cs_gaps_covered(PGconn *c, int64_t *ids, size_t max)
{
	static const char sql[] =
	    "SELECT id FROM incidents WHERE cause LIKE 'roster_gap:%' "
	    "AND status <> 'resolved' AND open_alarms > 0 "
	    "AND EXISTS (SELECT 1 FROM duty_rosters r WHERE "
	    "r.unit = substr(cause, 12) AND r.start_at <= now() "
	    "AND r.end_at > now())";
	PGresult *r;
	size_t n = 0;

	if ((r = run(c, "gaps covered", sql, 0, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r) && n < max; i++)
		ids[n++] = i64(r, i, 0);
	PQclear(r);
	return (int)n;
}

int
cs_defer_step(PGconn *c, int64_t id, int64_t delay_ms)
{
	static const char sql[] =
	    "UPDATE incidents SET next_step_at = now() + $2::bigint * "
	    "interval '1 millisecond' WHERE id = $1 AND next_step_at IS NOT NULL";
	char ids[24], d[24];
	const char *p[2] = {ids, d};
	PGresult *r;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	snprintf(d, sizeof(d), "%" PRId64, delay_ms);
	if ((r = run(c, "defer step", sql, 2, p)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

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
#include "store.h"

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
	int pid; /* a new connection may reuse the old one's address */
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
	prepared.pid = c != NULL ? PQbackendPID(c) : 0;
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

	if (prepared.conn != c || prepared.pid != PQbackendPID(c))
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
		char q[300];

		/* The transaction is aborted now: say why, since the statement
		 * run unprepared next can only say that. */
		log_warn("alarmd.store", "what=prepare error=%s",
		    log_quote(q, sizeof(q), PQresultErrorMessage(res)));
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	if ((prepared.sql[prepared.n] = strdup(sql)) == NULL)
		return NULL;
	prepared.n++;
	return name;
}

/*
 * Writes deferred to one round trip.  Between cs_defer_begin() and
 * cs_defer_end() a write through cs_run_arrays() is queued rather than
 * run (the caller gets an empty COMMAND_OK result), and cs_defer_end()
 * sends the queue as one libpq pipeline: the incidents, alarms,
 * notifications and deliveries of a batch cost one wait on the server
 * instead of four.  A read (cs_run) while writes are queued sends them
 * first, so the order of statements is the order of the calls.
 */
#define DEFER_MAX 8

static struct {
	int on;
	size_t n;
	struct cs_read q[DEFER_MAX];
} defer;

void
cs_read_free(struct cs_read *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < q[i].np; k++) {
			free(q[i].params[k]);
			q[i].params[k] = NULL;
		}
		q[i].np = 0;
		PQclear(q[i].res);
		q[i].res = NULL;
	}
}

void
cs_defer_begin(void)
{
	cs_read_free(defer.q, defer.n);
	defer.n = 0;
	defer.on = 1;
}

/*
 * Send q[0..n) in one pipeline and read every answer: 0, or -1 when one
 * failed (logged; the rest of the pipeline is then only aborted).  With
 * keep, each q[i].res holds its result (NULL for a failed one).
 */
static int
pipe_run(PGconn *c, struct cs_read *q, size_t n, int keep)
{
	char names[DEFER_MAX][24], e[300];
	const char *stmt[DEFER_MAX];
	size_t sent = 0;
	PGresult *r;
	int rc = 0;

	if (n == 0)
		return 0;
	if (n > DEFER_MAX)
		return -1;
	/* Prepared (when new) before the pipeline: PQprepare waits. */
	for (size_t i = 0; i < n; i++)
		stmt[i] = prepared_name(
		    c, q[i].sql, q[i].np, names[i], sizeof(names[i]));
	if (PQenterPipelineMode(c) != 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *const *v = (const char *const *)q[i].params;
		int ok = stmt[i] != NULL
		    ? PQsendQueryPrepared(c, stmt[i], q[i].np, v, NULL, NULL, 0)
		    : PQsendQueryParams(
		          c, q[i].sql, q[i].np, NULL, v, NULL, NULL, 0);

		if (!ok) {
			rc = -1;
			break;
		}
		sent++;
	}
	if (PQpipelineSync(c) != 1)
		rc = -1;
	for (size_t i = 0; i < sent; i++) {
		ExecStatusType st;

		if ((r = PQgetResult(c)) == NULL) {
			rc = -1;
			break;
		}
		st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			/* After the first error the rest are only aborted. */
			if (st != PGRES_PIPELINE_ABORTED)
				log_warn("alarmd.store", "what=%s error=%s",
				    q[i].what,
				    log_quote(
				        e, sizeof(e), PQresultErrorMessage(r)));
			rc = -1;
			PQclear(r);
		} else if (keep) {
			q[i].res = r;
		} else {
			PQclear(r);
		}
		while ((r = PQgetResult(c)) != NULL)
			PQclear(r);
	}
	/* The sync's own result, then out of pipeline mode (bounded: a
	 * connection that went away answers nothing more). */
	for (int tries = 0; PQexitPipelineMode(c) != 1; tries++) {
		if (tries == 100 || PQstatus(c) != CONNECTION_OK) {
			log_warn("alarmd.store", "what=pipeline error=%s",
			    log_quote(e, sizeof(e), PQerrorMessage(c)));
			rc = -1;
			break;
		}
		PQclear(PQgetResult(c));
	}
	return rc;
}

/* Send the queue in one pipeline; 0, or -1 (each failure logged). */
static int
defer_flush(PGconn *c)
{
	int rc = pipe_run(c, defer.q, defer.n, 0);

	cs_read_free(defer.q, defer.n);
	defer.n = 0;
	return rc;
}

int
cs_read_pipe(PGconn *c, struct cs_read *q, size_t n)
{
	/* Queued writes go first (their order is the calls' order). */
	if (defer.n > 0 && defer_flush(c) < 0)
		return -1;
	return pipe_run(c, q, n, 1);
}

PGresult *
cs_run(PGconn *c, const char *what, const char *sql, int n,
    const char *const *params)
{
	char name[24];
	const char *stmt;

	/* Queued writes go first (their order is the calls' order). */
	if (defer.n > 0 && defer_flush(c) < 0)
		return NULL;
	stmt = prepared_name(c, sql, n, name, sizeof(name));
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

int
cs_defer_end(PGconn *c)
{
	defer.on = 0;
	return defer_flush(c);
}

PGresult *
cs_run_arrays(PGconn *c, const char *what, const char *sql,
    struct store_array *a, int n)
{
	const char *p[CS_READ_PARAMS];
	PGresult *r = NULL;
	int ok = n <= CS_READ_PARAMS;

	if (ok && defer.on && (defer.n < DEFER_MAX || defer_flush(c) == 0)) {
		struct cs_read *q = &defer.q[defer.n++];

		q->what = what;
		q->sql = sql;
		q->np = n;
		q->res = NULL;
		for (int k = 0; k < n; k++)
			if ((q->params[k] = store_array_take(&a[k])) == NULL)
				ok = 0;
		for (int k = 0; k < n; k++)
			store_array_free(&a[k]);
		return ok ? PQmakeEmptyPGresult(c, PGRES_COMMAND_OK) : NULL;
	}
	for (int k = 0; k < n && ok; k++)
		if ((p[k] = store_array_end(&a[k])) == NULL)
			ok = 0;
	if (ok)
		r = cs_run(c, what, sql, n, p);
	for (int k = 0; k < n; k++)
		store_array_free(&a[k]);
	return r;
}

int64_t
cs_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0
					: strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void
cs_cpy(char *dst, size_t size, const PGresult *r, int row, int col)
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
	o->id = cs_i64(r, i, 0);
	cs_cpy(o->uscc, sizeof(o->uscc), r, i, 1);
	cs_cpy(o->enterprise, sizeof(o->enterprise), r, i, 2);
	cs_cpy(o->district, sizeof(o->district), r, i, 3);
	cs_cpy(o->sector, sizeof(o->sector), r, i, 4);
	cs_cpy(o->cause, sizeof(o->cause), r, i, 5);
	al_level_parse(PQgetvalue(r, i, 6), &o->level);
	o->status = status_parse(PQgetvalue(r, i, 7));
	o->tier = (int)cs_i64(r, i, 8);
	o->alarm_count = (int)cs_i64(r, i, 9);
	o->open_alarms = (int)cs_i64(r, i, 10);
	cs_cpy(o->title, sizeof(o->title), r, i, 11);
	cs_cpy(o->summary, sizeof(o->summary), r, i, 12);
	cs_cpy(o->reasons, sizeof(o->reasons), r, i, 13);
	o->opened_ms = cs_i64(r, i, 14);
	o->notified_ms = cs_i64(r, i, 15);
	o->acked_ms = cs_i64(r, i, 16);
	o->resolved_ms = cs_i64(r, i, 17);
	o->cleared_ms = cs_i64(r, i, 18);
	cs_cpy(o->acked_by, sizeof(o->acked_by), r, i, 19);
	o->flapping = PQgetvalue(r, i, 20)[0] == 't';
	o->silenced_by = cs_i64(r, i, 21);
	o->inhibited_by = cs_i64(r, i, 22);
	if (al_step_parse(PQgetvalue(r, i, 23), &o->next_step) < 0)
		o->next_step = AL_STEP_NONE;
	o->next_step_ms = cs_i64(r, i, 24);
	o->step_count = (int)cs_i64(r, i, 25);
	o->last_step_ms = cs_i64(r, i, 26);
	cs_cpy(o->resolved_by, sizeof(o->resolved_by), r, i, 27);
	cs_cpy(o->resolution, sizeof(o->resolution), r, i, 28);
}

#define TS(n) "to_timestamp($" #n "::bigint / 1000.0)"

/* The incidents a statement returned (INC_COLS) into a malloc'd *out. */
static int
incs_from(PGresult *r, struct inc **out)
{
	int n = PQntuples(r);

	*out = NULL;
	if (n > 0 && (*out = calloc((size_t)n, sizeof(**out))) == NULL) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < n; i++)
		inc_from(r, i, &(*out)[i]);
	PQclear(r);
	return n;
}

static const char *
open_incidents_sql(void)
{
	static char sql[1600];

	/* bpchar keys, so the comparison is the one of the partial unique
	 * index on (coalesce(uscc, ''), cause); each key looked up on its
	 * own (core_store_notify.c says why). */
	if (sql[0] == '\0')
		snprintf(sql, sizeof(sql),
		    "SELECT x.* FROM unnest($1::bpchar[], $2::text[]) AS "
		    "k(u, c) CROSS JOIN LATERAL (SELECT %s FROM incidents "
		    "WHERE coalesce(uscc, '') = k.u AND cause = k.c "
		    "AND status <> 'resolved' LIMIT 1 FOR UPDATE) x",
		    INC_COLS);
	return sql;
}

int
cs_open_incidents_q(struct cs_read *q, const char *const *uscc,
    const char *const *cause, size_t n)
{
	memset(q, 0, sizeof(*q));
	q->what = "open incidents";
	q->sql = open_incidents_sql();
	q->np = 2;
	q->params[0] = store_text_array(uscc, n);
	q->params[1] = store_text_array(cause, n);
	return q->params[0] != NULL && q->params[1] != NULL ? 0 : -1;
}

int
cs_open_incidents_take(struct cs_read *q, struct inc **out)
{
	PGresult *r = q->res;

	q->res = NULL;
	*out = NULL;
	return r != NULL ? incs_from(r, out) : -1;
}

/* Run one prepared read on its own; 0 or -1 (its result in q->res). */
static int
read_one(PGconn *c, struct cs_read *q)
{
	q->res = cs_run(c, q->what, q->sql, q->np,
	    (const char *const *)q->params);
	return q->res != NULL ? 0 : -1;
}

int
cs_open_incidents(PGconn *c, const char *const *uscc,
    const char *const *cause, size_t n, struct inc **out)
{
	struct cs_read q;
	int rc = -1;

	*out = NULL;
	if (n == 0)
		return 0;
	if (cs_open_incidents_q(&q, uscc, cause, n) == 0 && read_one(c, &q) == 0)
		rc = cs_open_incidents_take(&q, out);
	cs_read_free(&q, 1);
	return rc;
}

int
cs_lock_incidents(PGconn *c, const int64_t *ids, size_t n, struct inc **out)
{
	static char sql[1400];
	struct store_array a = {0};
	const char *p[1];
	PGresult *r;

	if (sql[0] == '\0')
		snprintf(sql, sizeof(sql),
		    "SELECT %s FROM incidents WHERE id = ANY ($1::bigint[]) "
		    "ORDER BY id FOR UPDATE",
		    INC_COLS);
	*out = NULL;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		store_array_int64(&a, ids[i]);
	p[0] = store_array_end(&a);
	r = p[0] != NULL ? cs_run(c, "lock incidents", sql, 1, p) : NULL;
	store_array_free(&a);
	return r != NULL ? incs_from(r, out) : -1;
}

int
cs_new_ids3_q(struct cs_read *q, const size_t counts[3])
{
	static const char sql[] =
	    "SELECT 0, nextval(pg_get_serial_sequence('incidents', 'id')) "
	    "FROM generate_series(1, $1::int) UNION ALL "
	    "SELECT 1, nextval(pg_get_serial_sequence('notifications', 'id')) "
	    "FROM generate_series(1, $2::int) UNION ALL "
	    "SELECT 2, nextval(pg_get_serial_sequence('deliveries', 'id')) "
	    "FROM generate_series(1, $3::int)";
	char cnt[24];

	memset(q, 0, sizeof(*q));
	q->what = "new ids";
	q->sql = sql;
	q->np = 3;
	for (int k = 0; k < 3; k++) {
		snprintf(cnt, sizeof(cnt), "%zu", counts[k]);
		if ((q->params[k] = strdup(cnt)) == NULL)
			return -1;
	}
	return 0;
}

int
cs_new_ids3_take(const struct cs_read *q, const size_t counts[3],
    int64_t *const ids[3])
{
	size_t got[3] = {0, 0, 0};

	if (q->res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(q->res); i++) {
		int64_t k = cs_i64(q->res, i, 0);

		if (k < 0 || k > 2 || got[k] >= counts[k])
			continue;
		ids[k][got[k]++] = cs_i64(q->res, i, 1);
	}
	return got[0] == counts[0] && got[1] == counts[1] &&
		       got[2] == counts[2]
	    ? 0
	    : -1;
}

int
cs_new_ids3(PGconn *c, const size_t counts[3], int64_t *const ids[3])
{
	struct cs_read q;
	int rc = -1;

	if (counts[0] + counts[1] + counts[2] == 0)
		return 0;
	if (cs_new_ids3_q(&q, counts) == 0 && read_one(c, &q) == 0)
		rc = cs_new_ids3_take(&q, counts, ids);
	cs_read_free(&q, 1);
	return rc;
}

int
cs_new_ids(PGconn *c, const char *table, int64_t *ids, size_t n)
{
	static const char *const tables[3] = {"incidents", "notifications",
	    "deliveries"};
	size_t counts[3] = {0, 0, 0};
	int64_t *into[3] = {ids, ids, ids};

	for (int k = 0; k < 3; k++)
		if (strcmp(table, tables[k]) == 0) {
			counts[k] = n;
			return cs_new_ids3(c, counts, into);
		}
	return -1;
}

#define MSV(x) "to_timestamp(u." x " / 1000.0)"

static const char SQL_WRITE[] =
    "INSERT INTO incidents (id, uscc, enterprise, district, sector, cause, "
    "level, title, summary, reasons, status, tier, alarm_count, open_alarms, "
    "opened_at, notified_at, acknowledged_at, acknowledged_by, resolved_at, "
    "resolved_by, resolution, cleared_at, flapping, silenced_by, "
    "inhibited_by, next_step, next_step_at, step_count, last_step_at) "
    "OVERRIDING SYSTEM VALUE "
    "SELECT u.id, nullif(u.uscc, ''), nullif(u.ent, ''), nullif(u.dis, ''), "
    "nullif(u.sec, ''), u.cause, u.level, u.title, u.summary, "
    "u.reasons::jsonb, u.status, u.tier, u.ac, u.oa, " MSV("op") ", "
    MSV("nt") ", " MSV("ak") ", nullif(u.akby, ''), " MSV("rs") ", "
    "u.rsby, u.res, " MSV("cl") ", u.fl, nullif(u.sil, 0), "
    "nullif(u.inh, 0), u.ns, " MSV("na") ", u.sc, " MSV("ls") " "
    "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], "
    "$5::text[], $6::text[], $7::text[], $8::text[], $9::text[], "
    "$10::text[], $11::text[], $12::int[], $13::int[], $14::int[], "
    "$15::bigint[], $16::bigint[], $17::bigint[], $18::text[], "
    "$19::bigint[], $20::text[], $21::text[], $22::bigint[], "
    "$23::boolean[], $24::bigint[], $25::bigint[], $26::text[], "
    "$27::bigint[], $28::int[], $29::bigint[]) AS u(id, uscc, ent, dis, "
    "sec, cause, level, title, summary, reasons, status, tier, ac, oa, op, "
    "nt, ak, akby, rs, rsby, res, cl, fl, sil, inh, ns, na, sc, ls) "
    "ON CONFLICT (id) DO UPDATE SET level = EXCLUDED.level, "
    "title = EXCLUDED.title, summary = EXCLUDED.summary, "
    "reasons = EXCLUDED.reasons, status = EXCLUDED.status, "
    "tier = EXCLUDED.tier, alarm_count = EXCLUDED.alarm_count, "
    "open_alarms = EXCLUDED.open_alarms, notified_at = EXCLUDED.notified_at, "
    "acknowledged_at = EXCLUDED.acknowledged_at, "
    "acknowledged_by = EXCLUDED.acknowledged_by, "
    "resolved_at = EXCLUDED.resolved_at, resolved_by = EXCLUDED.resolved_by, "
    "resolution = EXCLUDED.resolution, cleared_at = EXCLUDED.cleared_at, "
    "flapping = EXCLUDED.flapping, silenced_by = EXCLUDED.silenced_by, "
    "inhibited_by = EXCLUDED.inhibited_by, next_step = EXCLUDED.next_step, "
    "next_step_at = EXCLUDED.next_step_at, "
    "step_count = EXCLUDED.step_count, "
    "last_step_at = EXCLUDED.last_step_at, updated_at = now()";

#define WRITE_COLS 29

/* A time column's element: NULL for 0. */
static void
arr_ms(struct store_array *a, int64_t ms)
{
	if (ms > 0)
		store_array_int64(a, ms);
	else
		store_array_null(a);
}

int
cs_write_incidents(PGconn *c, struct inc *const *incs, size_t n)
{
	struct store_array a[WRITE_COLS];
	PGresult *r;

	if (n == 0)
		return 0;
	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < n; i++) {
		const struct inc *in = incs[i];
		int step = in->next_step != AL_STEP_NONE && in->next_step_ms > 0;
		int done = in->status == AL_RESOLVED;

		store_array_int64(&a[0], in->id);
		store_array_str(&a[1], in->uscc);
		store_array_str(&a[2], in->enterprise);
		store_array_str(&a[3], in->district);
		store_array_str(&a[4], in->sector);
		store_array_str(&a[5], in->cause);
		store_array_str(&a[6], al_level_name(in->level));
		store_array_str(&a[7], in->title);
		store_array_str(&a[8], in->summary);
		store_array_str(&a[9], in->reasons[0] != '\0' ? in->reasons : "[]");
		store_array_str(&a[10], status_word(in->status));
		store_array_int64(&a[11], in->tier);
		store_array_int64(&a[12], in->alarm_count);
		store_array_int64(&a[13], in->open_alarms);
		store_array_int64(&a[14], in->opened_ms);
		arr_ms(&a[15], in->notified_ms);
		arr_ms(&a[16], in->acked_ms);
		store_array_str(&a[17], in->acked_by);
		arr_ms(&a[18], in->resolved_ms);
		store_array_str(&a[19], done ? in->resolved_by : NULL);
		store_array_str(&a[20], done ? in->resolution : NULL);
		arr_ms(&a[21], in->cleared_ms);
		store_array_str(&a[22], in->flapping ? "t" : "f");
		store_array_int64(&a[23], in->silenced_by);
		store_array_int64(&a[24], in->inhibited_by);
		store_array_str(&a[25], step ? al_step_name(in->next_step) : NULL);
		arr_ms(&a[26], step ? in->next_step_ms : 0);
		store_array_int64(&a[27], in->step_count);
		arr_ms(&a[28], in->last_step_ms);
	}
	r = cs_run_arrays(c, "write incidents", SQL_WRITE, a, WRITE_COLS);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* One incident found by the set functions: 1 (copied to *out), 0, -1. */
static int
one_of(int n, struct inc *found, struct inc *out)
{
	if (n > 0)
		*out = found[0];
	free(found);
	return n < 0 ? -1 : n > 0;
}

int
cs_open_incident(PGconn *c, const char *uscc, const char *cause,
    struct inc *out)
{
	struct inc *found;
	int n = cs_open_incidents(c, &uscc, &cause, 1, &found);

	return one_of(n, found, out);
}

int
cs_lock_incident(PGconn *c, int64_t id, struct inc *out)
{
	struct inc *found;
	int n = cs_lock_incidents(c, &id, 1, &found);

	return one_of(n, found, out);
}

int
cs_insert_incident(PGconn *c, struct inc *in)
{
	if (cs_new_ids(c, "incidents", &in->id, 1) < 0)
		return -1;
	return cs_write_incidents(c, &in, 1);
}

int
cs_update_incident(PGconn *c, const struct inc *in)
{
	struct inc *one = (struct inc *)in; /* written, not changed */

	return cs_write_incidents(c, &one, 1);
}

/* --- alarms ---------------------------------------------------------------- */

int
cs_known_alarms(PGconn *c, struct cs_alarm *al, size_t n)
{
	static const char sql[] =
	    "SELECT u.ord FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY "
	    "AS u(id, ref, ord) CROSS JOIN LATERAL (SELECT 1 FROM "
	    "incident_alarms a WHERE a.incident_id = u.id AND a.ref = u.ref "
	    "LIMIT 1) x";
	struct store_array a[2];
	PGresult *r;
	int known = 0;

	if (n == 0)
		return 0;
	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < n; i++) {
		al[i].known = 0;
		store_array_int64(&a[0], al[i].incident);
		store_array_str(&a[1], al[i].ref);
	}
	if ((r = cs_run_arrays(c, "known alarms", sql, a, 2)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		int64_t ord = cs_i64(r, i, 0);

		if (ord >= 1 && (size_t)ord <= n) {
			al[ord - 1].known = 1;
			known++;
		}
	}
	PQclear(r);
	return known;
}

int
cs_insert_alarms(PGconn *c, const struct cs_alarm *al, size_t n)
{
	static const char sql[] =
	    "INSERT INTO incident_alarms (incident_id, ref, point, kind, level, "
	    "value, threshold, at) SELECT u.id, u.ref, u.point, u.kind, u.level, "
	    "u.v, u.t, to_timestamp(u.at / 1000.0) FROM unnest($1::bigint[], "
	    "$2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], "
	    "$7::float8[], $8::bigint[]) AS u(id, ref, point, kind, level, v, t, "
	    "at) ON CONFLICT (incident_id, ref) DO NOTHING";
	struct store_array a[8];
	PGresult *r;
	size_t rows = 0;

	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < n; i++) {
		if (al[i].known)
			continue;
		store_array_int64(&a[0], al[i].incident);
		store_array_str(&a[1], al[i].ref);
		store_array_str(&a[2], al[i].point != NULL && al[i].point[0] != '\0'
					   ? al[i].point
					   : NULL);
		store_array_str(&a[3], al[i].kind);
		store_array_str(&a[4], al_level_name(al[i].level));
		if (al[i].has_value)
			store_array_double(&a[5], al[i].value);
		else
			store_array_null(&a[5]);
		if (al[i].has_threshold)
			store_array_double(&a[6], al[i].threshold);
		else
			store_array_null(&a[6]);
		store_array_int64(&a[7], al[i].at_ms);
		rows++;
	}
	if (rows == 0) {
		for (int k = 0; k < 8; k++)
			store_array_free(&a[k]);
		return 0;
	}
	if ((r = cs_run_arrays(c, "insert alarms", sql, a, 8)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
cs_add_alarm(PGconn *c, int64_t incident, const char *ref, const char *point,
    const char *kind, enum al_level level, double value, int has_value,
    double threshold, int has_threshold, int64_t at_ms)
{
	struct cs_alarm al = {.incident = incident, .ref = ref, .point = point,
	    .kind = kind, .level = level, .value = value,
	    .threshold = threshold, .has_value = has_value,
	    .has_threshold = has_threshold, .at_ms = at_ms};
	int known = cs_known_alarms(c, &al, 1);

	if (known != 0)
		return known < 0 ? -1 : 0;
	return cs_insert_alarms(c, &al, 1) < 0 ? -1 : 1;
}

int
cs_point_raises_q(struct cs_read *q, const char *const *points, size_t n,
    int64_t window_ms)
{
	static const char sql[] =
	    "SELECT p.ord, (SELECT count(*) FROM incident_alarms a "
	    "WHERE a.point = p.point AND a.at > now() - $2::bigint * "
	    "interval '1 millisecond') FROM unnest($1::text[]) WITH ORDINALITY "
	    "AS p(point, ord)";
	char w[24];

	memset(q, 0, sizeof(*q));
	q->what = "point raises";
	q->sql = sql;
	q->np = 2;
	snprintf(w, sizeof(w), "%" PRId64, window_ms);
	q->params[0] = store_text_array(points, n);
	q->params[1] = strdup(w);
	return q->params[0] != NULL && q->params[1] != NULL ? 0 : -1;
}

int
cs_point_raises_take(const struct cs_read *q, size_t n, int *counts)
{
	for (size_t i = 0; i < n; i++)
		counts[i] = 0;
	if (q->res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(q->res); i++) {
		int64_t ord = cs_i64(q->res, i, 0);

		if (ord >= 1 && (size_t)ord <= n)
			counts[ord - 1] = (int)cs_i64(q->res, i, 1);
	}
	return 0;
}

int
cs_clear_alarms(PGconn *c, const struct cleared *cl, size_t n, int64_t **hits)
{
	static const char sql[] =
	    "UPDATE incident_alarms a SET cleared_at = to_timestamp(m.at / 1000.0) "
	    "FROM (SELECT x.tid, u.at FROM unnest($1::text[], $2::bigint[]) "
	    "AS u(ref, at) CROSS JOIN LATERAL (SELECT ia.ctid AS tid "
	    "FROM incident_alarms ia WHERE ia.ref = u.ref "
	    "AND ia.cleared_at IS NULL AND (SELECT i.status FROM incidents i "
	    "WHERE i.id = ia.incident_id) <> 'resolved' OFFSET 0) x) m "
	    "WHERE a.ctid = m.tid RETURNING a.incident_id";
	struct store_array a[2];
	PGresult *r;
	int k;

	*hits = NULL;
	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < n; i++) {
		store_array_str(&a[0], cl[i].ref);
		store_array_int64(&a[1], cl[i].at_ms);
	}
	if ((r = cs_run_arrays(c, "clear alarms", sql, a, 2)) == NULL)
		return -1;
	k = PQntuples(r);
	if (k > 0 && (*hits = calloc((size_t)k, sizeof(**hits))) == NULL) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < k; i++)
		(*hits)[i] = cs_i64(r, i, 0);
	PQclear(r);
	return k;
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
	if ((r = cs_run(c, "due steps", sql, 1, p)) == NULL)
		return -1;
	n = PQntuples(r);
	for (int i = 0; i < n; i++)
		ids[i] = cs_i64(r, i, 0);
	PQclear(r);
	return n;
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
	if ((r = cs_run(c, "silences", sql, 0, NULL)) == NULL)
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
		s->id = cs_i64(r, i, 0);
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
		s->starts_ms = cs_i64(r, i, 6);
		s->ends_ms = cs_i64(r, i, 7);
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
	if ((r = cs_run(c, "reminders", SQL_REMINDERS, 1, p)) == NULL)
		return -1;
	n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		cs_cpy(out[i].key, sizeof(out[i].key), r, i, 0);
		cs_cpy(out[i].kind, sizeof(out[i].kind), r, i, 1);
		cs_cpy(out[i].uscc, sizeof(out[i].uscc), r, i, 2);
		if (al_level_parse(PQgetvalue(r, i, 3), &out[i].level) < 0)
			out[i].level = AL_YELLOW;
		cs_cpy(out[i].title, sizeof(out[i].title), r, i, 4);
		cs_cpy(out[i].summary, sizeof(out[i].summary), r, i, 5);
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
	if ((r = cs_run(c, "reminder raised", sql, 2, p)) == NULL)
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

	if ((r = cs_run(c, "enterprise", sql, 1, p)) == NULL)
		return -1;
	found = PQntuples(r) > 0;
	if (found) {
		cs_cpy(name, nsize, r, 0, 0);
		cs_cpy(district, dsize, r, 0, 1);
		cs_cpy(sector, ssize, r, 0, 2);
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

	if ((r = cs_run(c, "uncovered units", sql, 0, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r) && n < max; i++)
		cs_cpy(out[n++], 16, r, i, 0);
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

	if ((r = cs_run(c, "gaps covered", sql, 0, NULL)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r) && n < max; i++)
		ids[n++] = cs_i64(r, i, 0);
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
	if ((r = cs_run(c, "defer step", sql, 2, p)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/*
 * ingestd_store - the SQL of ingestd's writer (see ingestd_store.h).
 *
 * Called on the writer thread only, with the writer's own struct store,
 * inside the transaction writer_group.c opened.  The staging tables are
 * temporary (per connection) and emptied at each commit; they are created
 * on first use in a connection, which is also after every reconnect, by a
 * CREATE ... IF NOT EXISTS that costs one round trip on the slow path only.
 * The fast path, which is what a steady feed takes, is one COPY.
 */
#include "ingestd_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "timeutil.h"

static const char SQL_STAGE_TABLES[] =
    "CREATE TEMP TABLE IF NOT EXISTS ingest_stage_rd ("
    " job integer, idx integer, source text, point text,"
    " ts timestamptz, value double precision, quality smallint)"
    " ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS ingest_stage_q ("
    " job integer, idx integer, source text, point text,"
    " ts timestamptz, value double precision, quality smallint)"
    " ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS ingest_stage_ev ("
    " job integer, idx integer, source text, id text, kind text,"
    " at timestamptz, data jsonb)"
    " ON COMMIT DELETE ROWS";

static const char SQL_COPY_READINGS[] =
    "COPY readings (point, ts, value, quality) FROM STDIN";
static const char SQL_COPY_STAGE_RD[] =
    "COPY ingest_stage_rd (job, idx, source, point, ts, value, quality) "
    "FROM STDIN";
static const char SQL_COPY_STAGE_Q[] =
    "COPY ingest_stage_q (job, idx, source, point, ts, value, quality) "
    "FROM STDIN";
static const char SQL_COPY_STAGE_EV[] =
    "COPY ingest_stage_ev (job, idx, source, id, kind, at, data) FROM STDIN";

/*
 * Each insert keeps the first staged row of a key (a batch sent twice in
 * one group), skips keys already stored, and returns the (job, idx) of the
 * rows it stored; every other staged row is a duplicate.
 */
static const char SQL_INSERT_READINGS[] =
    "WITH first AS ("
    " SELECT DISTINCT ON (point, ts) job, idx, point, ts, value, quality"
    " FROM ingest_stage_rd ORDER BY point, ts, job, idx),"
    " ins AS ("
    " INSERT INTO readings (point, ts, value, quality)"
    " SELECT point, ts, value, quality FROM first"
    " ON CONFLICT DO NOTHING RETURNING point, ts)"
    " SELECT f.job, f.idx FROM first f JOIN ins USING (point, ts)";

static const char SQL_INSERT_QUARANTINE[] =
    "WITH first AS ("
    " SELECT DISTINCT ON (source, point, ts) job, idx, source, point, ts,"
    " value, quality"
    " FROM ingest_stage_q ORDER BY source, point, ts, job, idx),"
    " ins AS ("
    " INSERT INTO quarantine (source, point, ts, value, quality, reason)"
    " SELECT source, point, ts, value, quality, 'unknown point' FROM first"
    " ON CONFLICT DO NOTHING RETURNING source, point, ts)"
    " SELECT f.job, f.idx FROM first f JOIN ins USING (source, point, ts)";

static const char SQL_INSERT_EVENTS[] =
    "WITH first AS ("
    " SELECT DISTINCT ON (source, id) job, idx, source, id, kind, at, data"
    " FROM ingest_stage_ev ORDER BY source, id, job, idx),"
    " ins AS ("
    " INSERT INTO events (source, id, kind, at, data)"
    " SELECT source, id, kind, at, data FROM first"
    " ON CONFLICT DO NOTHING RETURNING source, id)"
    " SELECT f.job, f.idx FROM first f JOIN ins USING (source, id)";

static const char SQL_DELETE_EVENT[] =
    "DELETE FROM events WHERE source = $1 AND id = $2";

static const char SQL_ENSURE_PARTITIONS[] =
    "SELECT readings_ensure_partitions("
    "(now() AT TIME ZONE 'Asia/Shanghai')::date, $1::integer)";

/* The time as text PostgreSQL reads exactly: RFC 3339 with the offset. */
static int
add_ts(struct store_copy_buf *b, int64_t ms)
{
	char ts[TIMEUTIL_RFC3339_SIZE];
	size_t n = timeutil_format_rfc3339(ms, ts, sizeof(ts));

	if (n == 0)
		return -1;
	return store_copy_buf_add_strn(b, ts, n);
}

static int
add_value(struct store_copy_buf *b, const struct ingest_reading *r)
{
	if (!r->has_value)
		return store_copy_buf_add_null(b);
	return store_copy_buf_add_double(b, r->value);
}

int
ingestd_store_reading_row(
    struct store_copy_buf *b, const struct ingest_reading *r)
{
	if (store_copy_buf_add_str(b, r->point) < 0 || add_ts(b, r->ts_ms) < 0 ||
	    add_value(b, r) < 0 || store_copy_buf_add_int64(b, r->quality) < 0)
		return -1;
	return store_copy_buf_end_row(b);
}

int
ingestd_store_staged_reading_row(struct store_copy_buf *b, uint32_t job,
    uint32_t idx, const char *source, const struct ingest_reading *r)
{
	if (store_copy_buf_add_int64(b, job) < 0 ||
	    store_copy_buf_add_int64(b, idx) < 0 ||
	    store_copy_buf_add_str(b, source) < 0)
		return -1;
	return ingestd_store_reading_row(b, r);
}

int
ingestd_store_event_row(struct store_copy_buf *b, uint32_t job, uint32_t idx,
    const char *source, const struct ingest_event *ev)
{
	if (store_copy_buf_add_int64(b, job) < 0 ||
	    store_copy_buf_add_int64(b, idx) < 0 ||
	    store_copy_buf_add_str(b, source) < 0 ||
	    store_copy_buf_add_str(b, ev->id) < 0 ||
	    store_copy_buf_add_str(b, ev->kind->name) < 0 ||
	    add_ts(b, ev->at_ms) < 0 ||
	    store_copy_buf_add_str(
	        b, ev->data_json != NULL ? ev->data_json : "{}") < 0)
		return -1;
	return store_copy_buf_end_row(b);
}

int
ingestd_store_savepoint(struct store *st, struct store_err *err)
{
	return store_exec(st, "SAVEPOINT ingest", 0, NULL, NULL, err);
}

int
ingestd_store_rollback_savepoint(struct store *st, struct store_err *err)
{
	return store_exec(
	    st, "ROLLBACK TO SAVEPOINT ingest", 0, NULL, NULL, err);
}

int
ingestd_store_release_savepoint(struct store *st, struct store_err *err)
{
	return store_exec(st, "RELEASE SAVEPOINT ingest", 0, NULL, NULL, err);
}

int64_t
ingestd_store_copy_readings(struct store *st,
    const struct store_copy_buf *rows, struct store_err *err)
{
	return store_copy(st, SQL_COPY_READINGS, rows, err);
}

/* Stage rows with copy_sql, run insert_sql, report the new (job, idx). */
static int
stage_and_insert(struct store *st, const char *copy_sql,
    const char *insert_sql, const struct store_copy_buf *staged,
    ingestd_store_row_fn fn, void *arg, struct store_err *err)
{
	PGresult *res = NULL;

	if (staged->rows == 0)
		return 0;
	if (store_exec_script(st, SQL_STAGE_TABLES, err) < 0 ||
	    store_copy(st, copy_sql, staged, err) < 0 ||
	    store_exec(st, insert_sql, 0, NULL, &res, err) < 0)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		fn(arg, (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10),
		    (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10));
	PQclear(res);
	return 0;
}

int
ingestd_store_insert_readings(struct store *st,
    const struct store_copy_buf *staged, ingestd_store_row_fn fn, void *arg,
    struct store_err *err)
{
	return stage_and_insert(st, SQL_COPY_STAGE_RD, SQL_INSERT_READINGS,
	    staged, fn, arg, err);
}

int
ingestd_store_insert_quarantine(struct store *st,
    const struct store_copy_buf *staged, ingestd_store_row_fn fn, void *arg,
    struct store_err *err)
{
	return stage_and_insert(st, SQL_COPY_STAGE_Q, SQL_INSERT_QUARANTINE,
	    staged, fn, arg, err);
}

int
ingestd_store_insert_events(struct store *st,
    const struct store_copy_buf *staged, ingestd_store_row_fn fn, void *arg,
    struct store_err *err)
{
	return stage_and_insert(st, SQL_COPY_STAGE_EV, SQL_INSERT_EVENTS,
	    staged, fn, arg, err);
}

int
ingestd_store_delete_event(struct store *st, const char *source,
    const char *id, struct store_err *err)
{
	const char *params[2] = {source, id};

	return store_exec(st, SQL_DELETE_EVENT, 2, params, NULL, err);
}

int
ingestd_store_ensure_partitions(
    struct store *st, int days, int *created, struct store_err *err)
{
	char n[16];
	const char *params[1] = {n};
	PGresult *res = NULL;

	snprintf(n, sizeof(n), "%d", days);
	if (store_exec(st, SQL_ENSURE_PARTITIONS, 1, params, &res, err) < 0)
		return -1;
	*created = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	return 0;
}

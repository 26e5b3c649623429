/*
 * store_probe - one long-lived store handle, driven line by line on stdin.
 *
 * t_store.sh starts it once and keeps it running while it stops and starts
 * the database, so what is tested is the same handle living through the
 * outage, as a daemon's would.  Each input line is a command; each answer
 * is one line "SEQ ok ..." or "SEQ err conn|sql SQLSTATE message" on
 * stdout, SEQ counting commands from 1.  The store's own log lines go to
 * stderr.  The database is $ANQUAN_CONNINFO.
 *
 *   query              SELECT $1 + 1 with $1 = 41: "ok 42"
 *   settings           the session settings every connection must have
 *   copy               COPY awkward rows in, read them back, compare
 *   pipeline           two pipelined batches, the second with an error
 *   down N GAP_MS      N calls GAP_MS apart that must all fail at once
 *   await SECS         retry a query until it works (reconnect), or give up
 *   begin | rollback   transaction control
 *   insert TEXT        INSERT into probe_tx inside the open transaction
 *   count              rows in probe_tx
 *   stats              the counters
 *   quit               close the handle and exit 0
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"

static int seq;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
answer(const char *fmt, ...)
{
	va_list ap;

	printf("%d ", seq);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void
answer_err(const struct store_err *err)
{
	answer("err %s %s %s", err->kind == STORE_ERR_CONN ? "conn" : "sql",
	    err->sqlstate[0] ? err->sqlstate : "-", err->msg);
}

static void
cmd_query(struct store *st)
{
	const char *vals[1] = {"41"};
	struct store_err err;
	PGresult *res;

	if (store_exec(st, "SELECT $1::int + 1", 1, vals, &res, &err) < 0) {
		answer_err(&err);
		return;
	}
	answer("ok %s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

static void
cmd_settings(struct store *st)
{
	struct store_err err;
	PGresult *res;

	if (store_exec(st,
	        "SELECT current_setting('synchronous_commit'),"
	        " current_setting('TimeZone'),"
	        " current_setting('client_encoding'),"
	        " current_setting('application_name'),"
	        " current_setting('statement_timeout')",
	        0, NULL, &res, &err) < 0) {
		answer_err(&err);
		return;
	}
	answer("ok %s %s %s %s %s", PQgetvalue(res, 0, 0),
	    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
	    PQgetvalue(res, 0, 4));
	PQclear(res);
}

/* Values that COPY's text format must escape, or must leave alone. */
static const char *const awkward[] = {"back\\slash", "tab\there", "new\nline",
    "cr\rreturn", "crlf\r\n", "\\N", "\\.", "",
    "\xe5\x8e\x86\xe5\x9f\x8e\xe5\x8c\xba \xe5\x8d\xb1\xe9"
    "\x99\xa9\xe5\x8c\x96\xe5\xad\xa6\xe5\x93\x81",
    "emoji \xf0\x9f\x94\xa5", "quote \" apostrophe ' comma , semicolon ;",
    "\\\t\n\r\\", "trailing backslash \\", "\x01\x02\x7f control", NULL,
    NULL /* the big one, made at run time */};
#define NAWKWARD (sizeof(awkward) / sizeof(awkward[0]))
#define BIG_INDEX (NAWKWARD - 1)
#define NULL_INDEX (NAWKWARD - 2)

static const double doubles[] = {0.1, -1e300, 5e-324, 1.0 / 3.0, -0.0,
    123456789.123456789, DBL_MAX, DBL_MIN, 12.5, -273.15};
#define NDOUBLES (sizeof(doubles) / sizeof(doubles[0]))

/* Over 64 KB of escapes and multi-byte text, so it spans COPY chunks. */
static char *
make_big(void)
{
	const char piece[] = "ab\\\t\n\xe4\xb8\xad\r";
	size_t n = 40000, i, plen = sizeof(piece) - 1;
	char *s = malloc(n * plen + 1);

	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		memcpy(s + i * plen, piece, plen);
	s[n * plen] = '\0';
	return s;
}

static int64_t
int_of(size_t k)
{
	return k % 3 == 0 ? INT64_MIN : k % 3 == 1 ? INT64_MAX : (int64_t)k;
}

/* Compare what came back with what was sent; NULL if all agree. */
static const char *
compare_copy(const PGresult *res, const char *big, char *why, size_t size)
{
	size_t k;

	if ((size_t)PQntuples(res) != NAWKWARD)
		return "wrong number of rows";
	for (k = 0; k < NAWKWARD; k++) {
		const char *want = k == BIG_INDEX ? big : awkward[k];
		double d = strtod(PQgetvalue(res, (int)k, 2), NULL);
		double dw = doubles[k % NDOUBLES];
		if (want == NULL
		        ? !PQgetisnull(res, (int)k, 1)
		        : PQgetisnull(res, (int)k, 1) ||
		              strcmp(PQgetvalue(res, (int)k, 1), want) != 0) {
			snprintf(why, size, "row %zu: text differs", k);
			return why;
		}
		if (d != dw || signbit(d) != signbit(dw)) {
			snprintf(why, size, "row %zu: double %s", k,
			    PQgetvalue(res, (int)k, 2));
			return why;
		}
		if (strcmp(PQgetvalue(res, (int)k, 3), k % 2 ? "t" : "f") ||
		    strtoll(PQgetvalue(res, (int)k, 4), NULL, 10) !=
		        int_of(k)) {
			snprintf(why, size, "row %zu: bool or int differs", k);
			return why;
		}
	}
	return NULL;
}

static void
cmd_copy(struct store *st)
{
	struct store_copy_buf b;
	struct store_err err;
	PGresult *res = NULL;
	const char *bad;
	char why[120];
	char *big = make_big();
	int64_t rows;
	size_t k;

	store_copy_buf_init(&b);
	if (big == NULL) {
		answer("err sql - out of memory");
		return;
	}
	for (k = 0; k < NAWKWARD; k++) {
		store_copy_buf_add_int64(&b, (int64_t)k);
		store_copy_buf_add_str(&b, k == BIG_INDEX ? big : awkward[k]);
		store_copy_buf_add_double(&b, doubles[k % NDOUBLES]);
		store_copy_buf_add_bool(&b, k % 2);
		store_copy_buf_add_int64(&b, int_of(k));
		store_copy_buf_end_row(&b);
	}
	if (store_exec_script(st,
	        "DROP TABLE IF EXISTS probe_copy;"
	        " CREATE TABLE probe_copy (id bigint PRIMARY KEY, s text,"
	        " d double precision, b boolean, i bigint)",
	        &err) < 0 ||
	    (rows = store_copy(
	         st, "COPY probe_copy (id, s, d, b, i) FROM STDIN", &b, &err)) <
	        0 ||
	    store_exec(st, "SELECT id, s, d, b, i FROM probe_copy ORDER BY id",
	        0, NULL, &res, &err) < 0) {
		answer_err(&err);
		goto out;
	}
	if ((bad = compare_copy(res, big, why, sizeof(why))) != NULL) {
		answer("err sql - %s", bad);
		goto out;
	}
	/* A row the server refuses: an SQL error, and the handle goes on. */
	if (store_copy_data(st, "COPY probe_copy (id) FROM STDIN",
	        "not-a-number\n", 13, &err) >= 0) {
		answer("err sql - a bad COPY row was accepted");
		goto out;
	}
	if (err.kind != STORE_ERR_SQL) {
		answer_err(&err);
		goto out;
	}
	answer("ok rows=%" PRId64 " bytes=%zu badcopy=%s", rows, b.len,
	    err.sqlstate);
out:
	PQclear(res);
	store_copy_buf_free(&b);
	free(big);
}

struct pipe_seen {
	char value[32];
};

static void
on_pipe_result(void *arg, int index, const PGresult *res)
{
	struct pipe_seen *seen = arg;

	(void)index;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		snprintf(seen->value, sizeof(seen->value), "%s",
		    PQgetvalue(res, 0, 0));
}

static void
cmd_pipeline(struct store *st)
{
	struct pipe_seen seen = {""};
	struct store_err err, second;
	const char *vals[1];
	char num[16];
	PGresult *res;
	int i, first;

	if (store_exec_script(st,
	        "DROP TABLE IF EXISTS probe_pipe;"
	        " CREATE TABLE probe_pipe (i int PRIMARY KEY)",
	        &err) < 0 ||
	    store_pipeline_enter(st, &err) < 0) {
		answer_err(&err);
		return;
	}
	vals[0] = num;
	for (i = 0; i < 1000; i++) {
		snprintf(num, sizeof(num), "%d", i);
		if (store_pipeline_queue(st,
		        "INSERT INTO probe_pipe (i) VALUES ($1::int)", 1, vals,
		        &err) < 0)
			goto fail;
	}
	if (store_pipeline_queue(
	        st, "SELECT count(*) FROM probe_pipe", 0, NULL, &err) < 0 ||
	    store_pipeline_sync(st, &err) < 0)
		goto fail;
	if ((first = store_pipeline_collect(st, on_pipe_result, &seen, &err)) <
	    0)
		goto fail;
	/* The second batch fails in its middle: up to the sync it is one
	 * implicit transaction, so its first insert is undone too. */
	snprintf(num, sizeof(num), "%d", 1000);
	if (store_pipeline_queue(st,
	        "INSERT INTO probe_pipe (i) VALUES ($1::int)", 1, vals,
	        &err) < 0 ||
	    store_pipeline_queue(st, "SELECT 1 / 0", 0, NULL, &err) < 0 ||
	    store_pipeline_queue(st, "SELECT 2", 0, NULL, &err) < 0 ||
	    store_pipeline_sync(st, &err) < 0)
		goto fail;
	if (store_pipeline_collect(st, NULL, NULL, &second) >= 0) {
		answer("err sql - the failing batch reported success");
		store_pipeline_exit(st, &err);
		return;
	}
	if (store_pipeline_exit(st, &err) < 0 ||
	    store_exec(st, "SELECT count(*) FROM probe_pipe", 0, NULL, &res,
	        &err) < 0) {
		answer_err(&err);
		return;
	}
	answer("ok first=%d seen=%s second=%s rows=%s", first, seen.value,
	    second.sqlstate, PQgetvalue(res, 0, 0));
	PQclear(res);
	return;
fail:
	answer_err(&err);
	store_pipeline_exit(st, NULL);
}

static void
cmd_down(struct store *st, int calls, int gap_ms)
{
	struct store_stats before, after;
	struct store_err err;
	int64_t t0, worst = 0, took;
	int i, conn = 0;

	store_get_stats(st, &before);
	for (i = 0; i < calls; i++) {
		t0 = now_ms();
		if (store_exec(st, "SELECT 1", 0, NULL, NULL, &err) < 0 &&
		    err.kind == STORE_ERR_CONN)
			conn++;
		took = now_ms() - t0;
		if (took > worst)
			worst = took;
		if (gap_ms > 0)
			pause_ms(gap_ms);
	}
	store_get_stats(st, &after);
	answer("ok calls=%d conn=%d max_ms=%" PRId64 " attempts=%" PRIu64
	       " refused=%" PRIu64,
	    calls, conn, worst, after.failures - before.failures,
	    after.refused - before.refused);
}

static void
cmd_await(struct store *st, int secs)
{
	int64_t t0 = now_ms(), deadline = t0 + (int64_t)secs * 1000;
	struct store_stats stats;
	struct store_err err;

	while (store_exec(st, "SELECT 1", 0, NULL, NULL, &err) < 0) {
		if (now_ms() >= deadline) {
			answer_err(&err);
			return;
		}
		pause_ms(20);
	}
	store_get_stats(st, &stats);
	answer("ok waited_ms=%" PRId64 " reconnects=%" PRIu64, now_ms() - t0,
	    stats.reconnects);
}

static void
cmd_simple(
    struct store *st, const char *sql, int nparams, const char *const *vals)
{
	struct store_err err;
	PGresult *res;

	if (store_exec(st, sql, nparams, vals, &res, &err) < 0) {
		answer_err(&err);
		return;
	}
	answer("ok %s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "-");
	PQclear(res);
}

static void
cmd_stats(struct store *st)
{
	struct store_stats s;

	store_get_stats(st, &s);
	answer("ok connects=%" PRIu64 " reconnects=%" PRIu64
	       " failures=%" PRIu64 " refused=%" PRIu64 " queries=%" PRIu64
	       " errors=%" PRIu64,
	    s.connects, s.reconnects, s.failures, s.refused, s.queries,
	    s.errors);
}

static void
dispatch(struct store *st, char *line)
{
	struct store_err err;
	char *arg = strchr(line, ' ');
	const char *vals[1];

	if (arg)
		*arg++ = '\0';
	if (strcmp(line, "query") == 0)
		cmd_query(st);
	else if (strcmp(line, "settings") == 0)
		cmd_settings(st);
	else if (strcmp(line, "copy") == 0)
		cmd_copy(st);
	else if (strcmp(line, "pipeline") == 0)
		cmd_pipeline(st);
	else if (strcmp(line, "down") == 0 && arg)
		cmd_down(st, atoi(arg),
		    strchr(arg, ' ') ? atoi(strchr(arg, ' ') + 1) : 0);
	else if (strcmp(line, "await") == 0 && arg)
		cmd_await(st, atoi(arg));
	else if (strcmp(line, "begin") == 0 || strcmp(line, "rollback") == 0) {
		if ((line[0] == 'b' ? store_begin(st, &err)
		                    : store_rollback(st, &err)) < 0)
			answer_err(&err);
		else
			answer("ok");
	} else if (strcmp(line, "insert") == 0 && arg) {
		vals[0] = arg;
		cmd_simple(st,
		    "INSERT INTO probe_tx (v) VALUES ($1) RETURNING v", 1,
		    vals);
	} else if (strcmp(line, "count") == 0)
		cmd_simple(st, "SELECT count(*) FROM probe_tx", 0, NULL);
	else if (strcmp(line, "stats") == 0)
		cmd_stats(st);
	else
		answer("err usage - unknown command");
}

int
main(void)
{
	struct store_opts opts = {.backoff_min_ms = 50,
	    .backoff_max_ms = 400,
	    .statement_timeout_ms = 10000,
	    .application_name = "store_probe"};
	struct store *st;
	char line[512];

	log_init("store_probe", LOGL_INFO);
	st = store_open(getenv("ANQUAN_CONNINFO"), &opts);
	if (st == NULL)
		return 1;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		seq++;
		if (strcmp(line, "quit") == 0) {
			answer("ok bye");
			break;
		}
		dispatch(st, line);
	}
	store_close(st);
	return 0;
}

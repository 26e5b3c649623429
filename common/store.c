/*
 * store - the connection, queries, transactions and pipeline mode.
 *
 * One struct store owns one PGconn, or none while the server is away.  The
 * state that matters is small: the connection, the monotonic time before
 * which no reconnect is tried, the current backoff, and whether a
 * transaction was open when the connection broke (then the caller must roll
 * back before anything else runs, or its later statements would silently
 * run outside the transaction it thinks it is in).  Failures are classified
 * once, in store_result_check(), which every path goes through.
 *
 * The COPY wire exchange is here too (store_copy_data) because it moves the
 * same connection state and counters; store_copy.c only encodes rows, and
 * the migration runner in store_migrate.c is built on the calls below.
 */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

#define DEFAULT_BACKOFF_MIN_MS 100
#define DEFAULT_BACKOFF_MAX_MS 5000
#define DEFAULT_CONNECT_TIMEOUT_S 5
#define DEFAULT_APP_NAME "anquan"
/* Bytes per CopyData message: large enough to keep the per-call cost
 * negligible, small enough not to double a big buffer in libpq. */
#define COPY_CHUNK (64 * 1024)

struct store {
	char *conninfo;
	char app_name[64];
	char connect_timeout[16];
	char statement_timeout[16];
	int backoff_min_ms;
	int backoff_max_ms;

	PGconn *conn;
	int ever_connected;
	int64_t next_try_ms;  /* monotonic: no attempt before this */
	int backoff_ms;       /* delay applied after the last failure */
	char last_error[160]; /* why the last attempt failed, for refusals */

	int txn_open;   /* a transaction was open after the last statement */
	int txn_lost;   /* ...and the connection broke under it */
	int pipeline;   /* in pipeline mode */
	int pipe_syncs; /* syncs sent and not yet collected */

	struct store_stats stats;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Copy src into dst (size bytes) on one line, without cutting a UTF-8
 * sequence in half, so log lines and JSON answers stay valid text.
 */
static void
copy_line(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	if (size == 0)
		return;
	if (src == NULL)
		src = "";
	/* Line breaks and tabs become one space, runs of spaces one. */
	for (; *src != '\0' && n + 1 < size; src++) {
		char c =
		    (*src == '\n' || *src == '\r' || *src == '\t') ? ' ' : *src;
		if (c == ' ' && (n == 0 || dst[n - 1] == ' '))
			continue;
		dst[n++] = c;
	}
	/* Cut inside a multi-byte character: drop its first bytes too. */
	if (*src != '\0' && ((unsigned char)*src & 0xC0) == 0x80) {
		while (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0x80)
			n--;
		if (n > 0)
			n--;
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

void
store_err_clear(struct store_err *err)
{
	if (err == NULL)
		return;
	err->kind = STORE_OK;
	err->sqlstate[0] = '\0';
	err->msg[0] = '\0';
	err->position = 0;
}

void
store_err_set(struct store_err *err, enum store_err_kind kind,
    const char *state, const char *msg)
{
	if (err == NULL)
		return;
	err->kind = kind;
	snprintf(
	    err->sqlstate, sizeof(err->sqlstate), "%s", state ? state : "");
	copy_line(err->msg, sizeof(err->msg), msg);
	err->position = 0;
}

void
store_err_vsetf(struct store_err *err, enum store_err_kind kind,
    const char *sqlstate, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	store_err_set(err, kind, sqlstate, msg);
}

void
store_err_setf(struct store_err *err, enum store_err_kind kind,
    const char *sqlstate, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	store_err_vsetf(err, kind, sqlstate, fmt, ap);
	va_end(ap);
}

int
store_backoff_next(int cur_ms, int min_ms, int max_ms)
{
	if (min_ms <= 0)
		min_ms = 1;
	if (max_ms < min_ms)
		max_ms = min_ms;
	if (cur_ms < min_ms)
		return min_ms;
	if (cur_ms > max_ms / 2)
		return max_ms;
	return cur_ms * 2;
}

int
store_sqlstate_is_conn(const char *s)
{
	if (s == NULL || strlen(s) != 5)
		return 0;
	/* Class 08 is connection exception; 57P01..57P03 are the server
	 * shutting down, crashing, or not yet accepting connections. */
	if (s[0] == '0' && s[1] == '8')
		return 1;
	return strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
	       strcmp(s, "57P03") == 0;
}

struct store *
store_open(const char *conninfo, const struct store_opts *opts)
{
	struct store_opts o = {0};
	struct store *st;

	if (opts)
		o = *opts;
	if (conninfo == NULL)
		conninfo = "";
	/* A conninfo that libpq cannot parse is a configuration mistake:
	 * say so now rather than on every reconnect.  A bare word is a
	 * database name, which libpq accepts as is. */
	if (strchr(conninfo, '=') || strncmp(conninfo, "postgres", 8) == 0) {
		char *errmsg = NULL;
		PQconninfoOption *parsed = PQconninfoParse(conninfo, &errmsg);
		if (parsed == NULL) {
			char line[160], q[200];
			copy_line(line, sizeof(line),
			    errmsg ? errmsg : "out of memory");
			log_error("store.conninfo", "err=%s",
			    log_quote(q, sizeof(q), line));
			PQfreemem(errmsg);
			return NULL;
		}
		PQconninfoFree(parsed);
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->conninfo = strdup(conninfo);
	if (st->conninfo == NULL) {
		free(st);
		return NULL;
	}
	st->backoff_min_ms =
	    o.backoff_min_ms > 0 ? o.backoff_min_ms : DEFAULT_BACKOFF_MIN_MS;
	st->backoff_max_ms =
	    o.backoff_max_ms > 0 ? o.backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
	if (st->backoff_max_ms < st->backoff_min_ms)
		st->backoff_max_ms = st->backoff_min_ms;
	snprintf(st->app_name, sizeof(st->app_name), "%s",
	    o.application_name && *o.application_name ? o.application_name
	                                              : DEFAULT_APP_NAME);
	snprintf(st->connect_timeout, sizeof(st->connect_timeout), "%d",
	    o.connect_timeout_s > 0 ? o.connect_timeout_s
	                            : DEFAULT_CONNECT_TIMEOUT_S);
	snprintf(st->statement_timeout, sizeof(st->statement_timeout), "%d",
	    o.statement_timeout_ms > 0 ? o.statement_timeout_ms : 0);
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->conn)
		PQfinish(st->conn);
	free(st->conninfo);
	free(st);
}

void
store_get_stats(const struct store *st, struct store_stats *out)
{
	*out = st->stats;
}

/*
 * Forget the connection.  The first attempt after losing a good connection
 * is due at once: the server may just have restarted.
 */
static void
drop_conn(struct store *st)
{
	if (st->conn == NULL)
		return;
	if (st->txn_open)
		st->txn_lost = 1;
	PQfinish(st->conn);
	st->conn = NULL;
	st->txn_open = 0;
	st->pipeline = 0;
	st->pipe_syncs = 0;
	st->backoff_ms = 0;
	st->next_try_ms = 0;
}

/* The session settings every connection must have; one round trip. */
static int
set_session(struct store *st, PGconn *conn)
{
	const char *vals[1] = {st->statement_timeout};
	PGresult *res;
	int ok;

	res = PQexecParams(conn,
	    "SELECT set_config('synchronous_commit', 'on', false),"
	    " set_config('TimeZone', 'Asia/Shanghai', false),"
	    " set_config('statement_timeout', $1, false)",
	    1, NULL, vals, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		copy_line(st->last_error, sizeof(st->last_error),
		    PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

static void
connect_failed(struct store *st)
{
	char q[200];

	st->stats.failures++;
	st->backoff_ms = store_backoff_next(
	    st->backoff_ms, st->backoff_min_ms, st->backoff_max_ms);
	st->next_try_ms = mono_ms() + st->backoff_ms;
	log_warn("store.connect_failed", "err=%s retry_ms=%d",
	    log_quote(q, sizeof(q), st->last_error), st->backoff_ms);
}

/*
 * Server notices would otherwise go to stderr unformatted.  WARNINGs are
 * worth an operator's eye; NOTICEs ("already exists, skipping") are not.
 */
static void
on_notice(void *arg, const PGresult *res)
{
	const char *sev =
	    PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	char line[256], q[300];

	(void)arg;
	copy_line(line, sizeof(line),
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	if (sev && strcmp(sev, "WARNING") == 0)
		log_warn("store.server_warning", "msg=%s",
		    log_quote(q, sizeof(q), line));
	else
		log_debug("store.server_notice", "msg=%s",
		    log_quote(q, sizeof(q), line));
}

static PGconn *
try_connect(struct store *st)
{
	/* Keepalives make a peer that vanished without a word (a network
	 * partition) show up as an error in about a minute, not two hours;
	 * they do nothing on the Unix socket. */
	const char *keys[] = {"dbname", "application_name", "connect_timeout",
	    "client_encoding", "keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", NULL};
	const char *vals[] = {st->conninfo, st->app_name, st->connect_timeout,
	    "UTF8", "1", "30", "10", "3", NULL};
	PGconn *conn;

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL) {
		snprintf(
		    st->last_error, sizeof(st->last_error), "out of memory");
		connect_failed(st);
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		copy_line(st->last_error, sizeof(st->last_error),
		    PQerrorMessage(conn));
		PQfinish(conn);
		connect_failed(st);
		return NULL;
	}
	PQsetNoticeReceiver(conn, on_notice, st);
	if (!set_session(st, conn)) {
		PQfinish(conn);
		connect_failed(st);
		return NULL;
	}
	st->stats.connects++;
	if (st->ever_connected)
		st->stats.reconnects++;
	st->ever_connected = 1;
	st->backoff_ms = 0;
	st->next_try_ms = 0;
	st->last_error[0] = '\0';
	log_info("store.connected", "host=%s port=%s db=%s backend_pid=%d",
	    PQhost(conn), PQport(conn), PQdb(conn), PQbackendPID(conn));
	return conn;
}

/* The connection, or NULL with *err saying why. */
static PGconn *
get_conn(struct store *st, struct store_err *err)
{
	char msg[256];
	int64_t now;

	if (st->conn && PQstatus(st->conn) == CONNECTION_OK)
		return st->conn;
	drop_conn(st);
	now = mono_ms();
	if (now < st->next_try_ms) {
		st->stats.refused++;
		snprintf(msg, sizeof(msg),
		    "database unreachable, next attempt in %lld ms: %s",
		    (long long)(st->next_try_ms - now), st->last_error);
		store_err_set(err, STORE_ERR_CONN, "08006", msg);
		return NULL;
	}
	st->conn = try_connect(st);
	if (st->conn == NULL) {
		snprintf(msg, sizeof(msg), "cannot connect to the database: %s",
		    st->last_error);
		store_err_set(err, STORE_ERR_CONN, "08001", msg);
	}
	return st->conn;
}

PGconn *
store_conn(struct store *st)
{
	if (st->txn_lost)
		return NULL;
	return get_conn(st, NULL);
}

int
store_ok(struct store *st)
{
	return store_conn(st) != NULL;
}

/* Refuse work while a transaction lost with the connection is pending. */
static int
check_txn_lost(struct store *st, struct store_err *err)
{
	if (!st->txn_lost)
		return 0;
	store_err_set(err, STORE_ERR_CONN, "08003",
	    "the connection broke inside a transaction; roll back and "
	    "start the transaction again");
	return -1;
}

int
store_result_check(struct store *st, const PGresult *res, struct store_err *err)
{
	const char *state, *primary, *detail, *context, *pos;
	ExecStatusType status;
	char msg[512];
	int broken;

	status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	switch (status) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
	case PGRES_PIPELINE_SYNC:
		if (st->conn)
			st->txn_open =
			    PQtransactionStatus(st->conn) == PQTRANS_INTRANS ||
			    PQtransactionStatus(st->conn) == PQTRANS_INERROR;
		return 0;
	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH:
		/* The session is now inside a COPY that nobody will finish:
		 * start afresh rather than try to unwind it. */
		store_err_set(err, STORE_ERR_SQL, "0A000",
		    "COPY through a plain query is not supported: use "
		    "store_copy()");
		drop_conn(st);
		return -1;
	case PGRES_PIPELINE_ABORTED:
		store_err_set(err, STORE_ERR_SQL, "25P02",
		    "not run: an earlier statement of the pipeline failed");
		return -1;
	default:
		break;
	}
	broken = st->conn == NULL || PQstatus(st->conn) == CONNECTION_BAD;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	context = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
	pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	if (primary == NULL)
		primary = res ? PQresultErrorMessage(res) : "";
	if (*primary == '\0' && st->conn)
		primary = PQerrorMessage(st->conn);
	if (*primary == '\0')
		primary = "no result from the server";
	snprintf(msg, sizeof(msg), "%s%s%s%s%s", primary, detail ? "; " : "",
	    detail ? detail : "", context ? "; " : "", context ? context : "");
	if (broken || store_sqlstate_is_conn(state)) {
		store_err_set(
		    err, STORE_ERR_CONN, state ? state : "08006", msg);
		drop_conn(st);
	} else {
		store_err_set(err, STORE_ERR_SQL, state ? state : "XX000", msg);
		if (st->conn)
			st->txn_open =
			    PQtransactionStatus(st->conn) == PQTRANS_INTRANS ||
			    PQtransactionStatus(st->conn) == PQTRANS_INERROR;
	}
	if (err && pos)
		err->position = atoi(pos);
	return -1;
}

/* Judge res, count it, hand it out or free it. */
static int
finish(struct store *st, PGresult *res, PGresult **out, struct store_err *err)
{
	if (store_result_check(st, res, err) < 0) {
		st->stats.errors++;
		PQclear(res);
		return -1;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

/* The connection for a new statement, or NULL with *err. */
static PGconn *
begin_call(struct store *st, struct store_err *err)
{
	PGconn *conn;

	if (check_txn_lost(st, err) < 0)
		return NULL;
	conn = get_conn(st, err);
	if (conn && st->pipeline) {
		store_err_set(err, STORE_ERR_SQL, "55000",
		    "the connection is in pipeline mode: queue the statement "
		    "or exit the pipeline first");
		return NULL;
	}
	return conn;
}

int
store_exec(struct store *st, const char *sql, int nparams,
    const char *const *values, PGresult **out, struct store_err *err)
{
	PGconn *conn;

	store_err_clear(err);
	if (out)
		*out = NULL;
	if (sql == NULL || nparams < 0 || (nparams > 0 && values == NULL)) {
		store_err_set(
		    err, STORE_ERR_SQL, "22023", "bad statement arguments");
		return -1;
	}
	conn = begin_call(st, err);
	if (conn == NULL)
		return -1;
	st->stats.queries++;
	return finish(st,
	    PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0), out,
	    err);
}

int
store_exec_script(struct store *st, const char *sql, struct store_err *err)
{
	PGconn *conn;

	store_err_clear(err);
	if (sql == NULL) {
		store_err_set(err, STORE_ERR_SQL, "22023", "no script");
		return -1;
	}
	conn = begin_call(st, err);
	if (conn == NULL)
		return -1;
	st->stats.queries++;
	return finish(st, PQexec(conn, sql), NULL, err);
}

int
store_begin(struct store *st, struct store_err *err)
{
	return store_exec(st, "BEGIN", 0, NULL, NULL, err);
}

int
store_commit(struct store *st, struct store_err *err)
{
	store_err_clear(err);
	if (st->txn_lost) {
		/* The transaction ended with the connection: it did not
		 * commit, and the caller now knows. */
		check_txn_lost(st, err);
		st->txn_lost = 0;
		return -1;
	}
	return store_exec(st, "COMMIT", 0, NULL, NULL, err);
}

int
store_rollback(struct store *st, struct store_err *err)
{
	store_err_clear(err);
	st->txn_lost = 0;
	if (st->conn == NULL || PQstatus(st->conn) != CONNECTION_OK)
		return 0;
	if (st->pipeline) {
		store_err_set(err, STORE_ERR_SQL, "55000",
		    "cannot roll back in pipeline mode: queue a ROLLBACK");
		return -1;
	}
	if (PQtransactionStatus(st->conn) == PQTRANS_IDLE) {
		st->txn_open = 0;
		return 0;
	}
	return store_exec(st, "ROLLBACK", 0, NULL, NULL, err);
}

/* --- pipeline mode ------------------------------------------------------- */

int
store_pipeline_enter(struct store *st, struct store_err *err)
{
	PGconn *conn;

	store_err_clear(err);
	conn = begin_call(st, err);
	if (conn == NULL)
		return -1;
	if (PQenterPipelineMode(conn) != 1) {
		store_err_set(
		    err, STORE_ERR_SQL, "55000", PQerrorMessage(conn));
		return -1;
	}
	st->pipeline = 1;
	st->pipe_syncs = 0;
	return 0;
}

static PGconn *
pipeline_conn(struct store *st, struct store_err *err)
{
	store_err_clear(err);
	if (check_txn_lost(st, err) < 0)
		return NULL;
	if (!st->pipeline || st->conn == NULL) {
		store_err_set(err, STORE_ERR_CONN, "08003",
		    "not in pipeline mode (the connection may have broken)");
		return NULL;
	}
	return st->conn;
}

/* A send that failed: the connection broke, or the caller misused it. */
static int
send_failed(struct store *st, struct store_err *err)
{
	if (PQstatus(st->conn) == CONNECTION_BAD) {
		store_err_set(
		    err, STORE_ERR_CONN, "08006", PQerrorMessage(st->conn));
		drop_conn(st);
	} else {
		store_err_set(
		    err, STORE_ERR_SQL, "55000", PQerrorMessage(st->conn));
	}
	st->stats.errors++;
	return -1;
}

int
store_pipeline_queue(struct store *st, const char *sql, int nparams,
    const char *const *values, struct store_err *err)
{
	PGconn *conn = pipeline_conn(st, err);

	if (conn == NULL)
		return -1;
	st->stats.queries++;
	if (PQsendQueryParams(
	        conn, sql, nparams, NULL, values, NULL, NULL, 0) != 1)
		return send_failed(st, err);
	return 0;
}

int
store_pipeline_sync(struct store *st, struct store_err *err)
{
	PGconn *conn = pipeline_conn(st, err);

	if (conn == NULL)
		return -1;
	if (PQpipelineSync(conn) != 1)
		return send_failed(st, err);
	st->pipe_syncs++;
	return 0;
}

int
store_pipeline_collect(
    struct store *st, store_pipeline_fn fn, void *arg, struct store_err *err)
{
	struct store_err first;
	PGconn *conn = pipeline_conn(st, err);
	PGresult *res;
	int index = 0, ok = 0, failed = 0, nulls = 0;

	if (conn == NULL)
		return -1;
	if (st->pipe_syncs == 0) {
		store_err_set(err, STORE_ERR_SQL, "55000",
		    "nothing to collect: call store_pipeline_sync() first");
		return -1;
	}
	store_err_clear(&first);
	for (;;) {
		res = PQgetResult(conn);
		if (res == NULL) {
			/* NULL ends one statement's results.  On a broken
			 * connection it is all we will ever get, and twice in
			 * a row means libpq has nothing left to wait for:
			 * either way this session cannot be trusted. */
			if (PQstatus(conn) == CONNECTION_BAD || ++nulls > 1) {
				store_err_set(err, STORE_ERR_CONN, "08006",
				    PQstatus(conn) == CONNECTION_BAD
				        ? PQerrorMessage(conn)
				        : "pipeline results out of step");
				st->stats.errors++;
				drop_conn(st);
				return -1;
			}
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (store_result_check(st, res, failed ? NULL : &first) < 0) {
			st->stats.errors++;
			failed = 1;
			if (st->conn == NULL) {
				PQclear(res);
				*err = first;
				return -1;
			}
		} else {
			if (fn)
				fn(arg, index, res);
			ok++;
		}
		PQclear(res);
		index++;
	}
	st->pipe_syncs--;
	if (failed) {
		*err = first;
		return -1;
	}
	return ok;
}

int
store_pipeline_exit(struct store *st, struct store_err *err)
{
	PGconn *conn = pipeline_conn(st, err);

	if (conn == NULL)
		return -1;
	if (PQexitPipelineMode(conn) != 1) {
		store_err_set(
		    err, STORE_ERR_SQL, "55000", PQerrorMessage(conn));
		return -1;
	}
	st->pipeline = 0;
	return 0;
}

/* --- COPY FROM STDIN ----------------------------------------------------- */

/* Read what is left of a finished COPY so the connection is idle again. */
static void
drain(struct store *st)
{
	PGresult *res;

	while (st->conn && (res = PQgetResult(st->conn)) != NULL)
		PQclear(res);
}

/* Sending COPY data failed: whatever state the session is in, it is not
 * one to reuse. */
static int
copy_broken(struct store *st, struct store_err *err)
{
	store_err_set(err, STORE_ERR_CONN, "08006", PQerrorMessage(st->conn));
	st->stats.errors++;
	drop_conn(st);
	return -1;
}

int64_t
store_copy_data(struct store *st, const char *copy_sql, const char *data,
    size_t len, struct store_err *err)
{
	PGconn *conn;
	PGresult *res;
	int64_t rows;
	size_t off, n;

	store_err_clear(err);
	/* Anything but a COPY would simply run: refuse it unsent. */
	while (copy_sql && (*copy_sql == ' ' || *copy_sql == '\n'))
		copy_sql++;
	if (copy_sql == NULL || strncasecmp(copy_sql, "COPY ", 5) != 0 ||
	    (data == NULL && len > 0)) {
		store_err_set(err, STORE_ERR_SQL, "22023",
		    "store_copy_data wants a COPY ... FROM STDIN statement");
		return -1;
	}
	conn = begin_call(st, err);
	if (conn == NULL)
		return -1;
	st->stats.queries++;
	res = PQexec(conn, copy_sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		if (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK) {
			store_err_set(err, STORE_ERR_SQL, "42601",
			    "not a COPY ... FROM STDIN statement");
			st->stats.errors++;
			PQclear(res);
			return -1;
		}
		finish(st, res, NULL, err);
		return -1;
	}
	PQclear(res);
	for (off = 0; off < len; off += n) {
		n = len - off < COPY_CHUNK ? len - off : COPY_CHUNK;
		if (PQputCopyData(conn, data + off, (int)n) != 1)
			return copy_broken(st, err);
	}
	if (PQputCopyEnd(conn, NULL) != 1)
		return copy_broken(st, err);
	res = PQgetResult(conn);
	if (store_result_check(st, res, err) < 0) {
		st->stats.errors++;
		PQclear(res);
		drain(st);
		return -1;
	}
	rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	drain(st);
	return rows;
}

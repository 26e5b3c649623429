/*
 * store - PostgreSQL access for every daemon and tool.
 *
 * A thin layer over libpq that owns one connection and hides its coming and
 * going.  store_open() never touches the network: the first call that needs
 * the server connects, and when the connection breaks the next call
 * reconnects, but only once the backoff (doubling from backoff_min_ms to
 * backoff_max_ms) has elapsed; before that a call fails at once with
 * STORE_ERR_CONN.  Nothing here ever sleeps, so a caller that gets
 * STORE_ERR_CONN can answer 503 and move on.  Every connection runs with
 * synchronous_commit=on, TimeZone 'Asia/Shanghai' and client_encoding UTF8.
 *
 * The calls are synchronous (libpq blocking mode): a daemon runs them on a
 * worker thread or accepts the round trip on its loop.  A struct store is
 * used by one thread at a time; take one per thread.  Results handed out
 * (PGresult) belong to the caller, who PQclear()s them.
 *
 * store.c holds the connection, queries, transactions, pipeline mode and
 * the COPY exchange; store_copy.c the COPY row encoder; store_migrate.c the
 * migration runner that safetyctl and the tests use.  Build all three
 * (MODULES="log store store_copy store_migrate").
 */
#ifndef ANQUAN_STORE_H
#define ANQUAN_STORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct store;

/* Options of store_open(); zero or NULL fields take the defaults. */
struct store_opts {
	int backoff_min_ms;           /* first reconnect delay, default 100 */
	int backoff_max_ms;           /* cap of the doubling, default 5000 */
	int connect_timeout_s;        /* per attempt, default 5 (libpq: >= 2) */
	int statement_timeout_ms;     /* server-side limit, default 0 = none */
	const char *application_name; /* shown in pg_stat_activity */
};

/* Counters for /metrics; read them with store_get_stats(). */
struct store_stats {
	uint64_t connects;   /* connections established, the first included */
	uint64_t reconnects; /* of those, the ones after a lost connection */
	uint64_t failures;   /* connection attempts that failed */
	uint64_t refused;    /* calls failed at once: reconnect not yet due */
	uint64_t queries;    /* statements sent to the server */
	uint64_t errors; /* statements sent that failed (SQL or connection) */
};

/*
 * Why a call failed.  STORE_ERR_CONN: the server is out of reach or the
 * connection broke (answer 503, retry later).  STORE_ERR_SQL: anything else;
 * sqlstate is the server's, or for failures found on this side one from the
 * same table (58P01 file missing, 22P04 bad COPY data, 53200 out of memory,
 * 22023 bad argument, 55000 wrong state, 42602 bad migration name, 42710
 * migration number used twice, XX001 applied migration changed).
 */
enum store_err_kind {
	STORE_OK = 0,
	STORE_ERR_CONN,
	STORE_ERR_SQL,
};

struct store_err {
	enum store_err_kind kind;
	char sqlstate[6];
	char msg[256]; /* one line: message; detail; context */
	int position;  /* 1-based character in the statement, 0 if unknown */
};

/* --- connection ---------------------------------------------------------- */

/*
 * Make a handle for conninfo (key=value or URI, or NULL/"" for libpq's
 * defaults).  Does not connect.  Returns NULL only when conninfo is malformed
 * (logged with the reason) or memory runs out.
 */
struct store *store_open(const char *conninfo, const struct store_opts *opts);

/* Close the connection and free the handle; NULL is fine. */
void store_close(struct store *st);

/*
 * The live connection, connecting first when none is up and the backoff has
 * elapsed; NULL otherwise.  The store keeps ownership.
 */
PGconn *store_conn(struct store *st);

/* 1 when store_conn() gives a connection, else 0; sends no query, so a
 * connection that died while idle is found by the next statement. */
int store_ok(struct store *st);

/* Copy the counters into *out. */
void store_get_stats(const struct store *st, struct store_stats *out);

/* Clear *err to STORE_OK; every call below does this first. */
void store_err_clear(struct store_err *err);

/* Fill *err (NULL is fine): msg is flattened to one line and cut at a
 * character boundary. */
void store_err_set(struct store_err *err, enum store_err_kind kind,
    const char *sqlstate, const char *msg);
/* The same with a printf format; the text is cut to fit. */
void store_err_setf(struct store_err *err, enum store_err_kind kind,
    const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with a va_list, for callers that wrap it. */
void store_err_vsetf(struct store_err *err, enum store_err_kind kind,
    const char *sqlstate, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/*
 * Judge a result obtained with store_conn() and raw libpq calls: 0 when it
 * succeeded, else -1 with *err filled; a broken connection is dropped so the
 * next call reconnects.  res stays the caller's.
 */
int store_result_check(
    struct store *st, const PGresult *res, struct store_err *err);

/* --- queries and transactions -------------------------------------------- */

/*
 * Run one statement with nparams text parameters ($1..; a NULL value is SQL
 * NULL).  On success returns 0 and, when out is not NULL, the result in *out
 * (the caller's to PQclear).  On failure returns -1 with *err filled and *out
 * NULL.  A connection lost inside a transaction fails every call with
 * STORE_ERR_CONN until store_rollback().
 */
int store_exec(struct store *st, const char *sql, int nparams,
    const char *const *values, PGresult **out, struct store_err *err);

/*
 * Run a script of several statements without parameters (PQexec).  For
 * trusted text only (migrations); never for anything built from input.
 */
int store_exec_script(struct store *st, const char *sql, struct store_err *err);

/* BEGIN, COMMIT and ROLLBACK.  A failed commit with STORE_ERR_CONN has an
 * unknown outcome: writes must be idempotent to be retried. */
int store_begin(struct store *st, struct store_err *err);
int store_commit(struct store *st, struct store_err *err);
/* Roll back; never reconnects, and clears a transaction lost with the
 * connection.  Returns 0 unless the server refused the ROLLBACK. */
int store_rollback(struct store *st, struct store_err *err);

/* --- pipeline mode ------------------------------------------------------- */

/*
 * Pipeline mode (PostgreSQL 14+) sends many statements before reading any
 * result: enter, queue, sync, collect, exit.  Over loopback TCP it sometimes
 * stalls ~200 ms per batch (the backend's receive window is smaller than the
 * loopback MSS, so the kernel waits for a window probe; see
 * reference/limits.md); over the Unix socket it does not, so point conninfo
 * at the socket (host=/path/to/dir) when using it, or use COPY.
 */
int store_pipeline_enter(struct store *st, struct store_err *err);
/* Queue one parameterised statement (the parameters are copied). */
int store_pipeline_queue(struct store *st, const char *sql, int nparams,
    const char *const *values, struct store_err *err);
/* Mark the end of a batch: the server commits implicit transactions here. */
int store_pipeline_sync(struct store *st, struct store_err *err);

/* Called for each successful statement's result, in queue order. */
typedef void (*store_pipeline_fn)(void *arg, int index, const PGresult *res);

/*
 * Read the results up to the next sync point, calling fn (may be NULL) for
 * each successful one.  Returns the number of statements that succeeded, or
 * -1 with the first failure in *err (the server skipped the rest).
 */
int store_pipeline_collect(
    struct store *st, store_pipeline_fn fn, void *arg, struct store_err *err);
/* Leave pipeline mode; every result must have been collected. */
int store_pipeline_exit(struct store *st, struct store_err *err);

/* --- array literals (store_array.c) --------------------------------------- */

/*
 * A PostgreSQL array literal being built, for a parameter a statement
 * unnests.  Zero-initialise; append elements; store_array_end() closes it
 * and returns the text (NULL when memory ran out), valid until
 * store_array_free().
 */
struct store_array {
	char *s;
	size_t n, cap;
	size_t count;
	int failed;
};

void store_array_int64(struct store_array *a, int64_t v);
/* A non-finite value is NULL. */
void store_array_double(struct store_array *a, double v);
/* A text element, quoted and escaped; NULL is SQL NULL. */
void store_array_str(struct store_array *a, const char *s);
void store_array_null(struct store_array *a);
const char *store_array_end(struct store_array *a);
/* Close it and hand over the malloc'd text (the caller frees it); NULL
 * when memory ran out.  The array is empty afterwards. */
char *store_array_take(struct store_array *a);
void store_array_free(struct store_array *a);
/* A text[] literal of items[0..n) (malloc'd), or NULL. */
char *store_text_array(const char *const *items, size_t n);

/* --- COPY FROM STDIN (rows encoded by store_copy.c) ---------------------- */

/*
 * Rows encoded in COPY text format: fields separated by tab, rows ended by
 * newline, backslash, tab, newline and carriage return escaped, NULL as \N.
 * Embed it anywhere; initialise with store_copy_buf_init().  An allocation
 * failure makes the buffer refuse everything (failed) until reset.
 */
struct store_copy_buf {
	char *data;
	size_t len;
	size_t cap;
	uint64_t rows;   /* rows ended so far */
	unsigned fields; /* fields added to the row being built */
	int failed;
};

void store_copy_buf_init(struct store_copy_buf *b);
/* Empty the buffer, keeping its memory. */
void store_copy_buf_reset(struct store_copy_buf *b);
void store_copy_buf_free(struct store_copy_buf *b);
/* Add one field; each returns 0, or -1 when memory ran out. */
int store_copy_buf_add_str(struct store_copy_buf *b, const char *s);
int store_copy_buf_add_strn(struct store_copy_buf *b, const char *s, size_t n);
int store_copy_buf_add_int64(struct store_copy_buf *b, int64_t v);
/* 17 significant digits, so the value read back is the same double. */
int store_copy_buf_add_double(struct store_copy_buf *b, double v);
int store_copy_buf_add_bool(struct store_copy_buf *b, bool v);
int store_copy_buf_add_null(struct store_copy_buf *b);
/* End the row; -1 also for a row without fields. */
int store_copy_buf_end_row(struct store_copy_buf *b);

/*
 * Send buf with copy_sql ("COPY t (a,b) FROM STDIN") in chunks.  Returns the
 * rows copied, or -1 with *err filled.  Inside or outside a transaction.
 */
int64_t store_copy(struct store *st, const char *copy_sql,
    const struct store_copy_buf *buf, struct store_err *err);

/* Send len bytes already in the format copy_sql names (text, CSV). */
int64_t store_copy_data(struct store *st, const char *copy_sql,
    const char *data, size_t len, struct store_err *err);

/* --- migrations (store_migrate.c) ---------------------------------------- */

/*
 * Apply deploy/sql/NNNN_name.sql files not yet recorded in schema_migrations,
 * in order, each in its own transaction with its record, under an advisory
 * lock.  A line "-- load: TABLE FILE.csv" in a file loads ../data/FILE.csv
 * (relative to dir) into TABLE (the columns of its header) at that point of
 * the file.  An applied file whose content (with the CSVs it loads) changed
 * is an error.  *applied counts the files applied by this call, also on
 * failure.  Returns 0, or -1 with *err naming the file (and line).
 */
int store_migrate(
    struct store *st, const char *dir, int *applied, struct store_err *err);

/* Told about each file as it is applied. */
typedef void (*store_migrate_fn)(void *arg, int version, const char *file);

/* store_migrate(), calling fn after each file is committed. */
int store_migrate_run(struct store *st, const char *dir, store_migrate_fn fn,
    void *arg, int *applied, struct store_err *err);

/* The pure parts of the runner, exported for the unit tests. */

#define STORE_MIGRATION_FILE_MAX 128

struct store_migration {
	int version;
	char file[STORE_MIGRATION_FILE_MAX];
};

/*
 * Judge a directory entry: 1 and *version for NNNN_name.sql, 0 for a file
 * that is not a migration (no .sql suffix, hidden), -1 with the reason in
 * why for a malformed one (12_x.sql, 0001.sql, 0001_a b.sql).
 */
int store_migration_name_parse(
    const char *fname, int *version, char *why, size_t whysize);

/* Sort by version; -1 with *err when two files share a number. */
int store_migrations_sort(
    struct store_migration *list, size_t n, struct store_err *err);

/* List and sort the migrations of dir into *list (the caller's to free). */
int store_migrations_scan(const char *dir, struct store_migration **list,
    size_t *n, struct store_err *err);

/*
 * Parse a "-- load: TABLE FILE.csv" line (len bytes, no newline): 1 with
 * table and file filled, 0 when the line is not a load directive, -1 with
 * the reason when it is one but malformed.
 */
int store_load_directive_parse(const char *line, size_t len, char *table,
    size_t tablesize, char *file, size_t filesize, char *why, size_t whysize);

/*
 * Read the header line of a CSV file into a quoted column list for COPY
 * ("code","name"); 0, or -1 with the reason.
 */
int store_csv_header_columns(const char *csv, size_t len, char *out,
    size_t outsize, char *why, size_t whysize);

/*
 * The 1-based line of the first statement of the script that controls the
 * transaction (BEGIN, START, COMMIT, END, ROLLBACK, ABORT), its keyword in
 * word; 0 when there is none.  Comments, strings and function bodies are
 * skipped.
 */
int store_sql_txn_control(
    const char *sql, size_t len, char *word, size_t wordsize);

/* FNV-1a 64 of n bytes, continuing from h (start with STORE_FNV1A64_INIT). */
#define STORE_FNV1A64_INIT 0xcbf29ce484222325ULL
uint64_t store_fnv1a64(uint64_t h, const void *data, size_t n);

/* The 1-based line of text holding the server's 1-based character position
 * pos (characters, not bytes: UTF-8 aware). */
int store_line_of_position(const char *text, size_t len, int pos);

/* The next reconnect delay after cur_ms (0 = first failure). */
int store_backoff_next(int cur_ms, int min_ms, int max_ms);

/* 1 when a SQLSTATE means the connection is gone (class 08, 57P01-3). */
int store_sqlstate_is_conn(const char *sqlstate);

#endif

/*
 * test_store - the store's parts that need no database.
 *
 * Migration file names (good, ignored and malformed ones), ordering and
 * duplicate numbers, a folder scan, the FNV-1a checksum (published vectors),
 * load directives and CSV headers, error positions in UTF-8 text, the COPY
 * text encoder (every escaped byte, NULL, Chinese, numbers at their limits),
 * the backoff sequence, and a handle pointed at a socket that does not exist:
 * it must not connect on open, fail with STORE_ERR_CONN, and then refuse at
 * once until the backoff is over.  The real server is tests/system/t_store.sh.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

/* --- migration names ------------------------------------------------------ */

static void
test_name_good(void **state)
{
	char why[160];
	int v = -1;

	(void)state;
	assert_int_equal(store_migration_name_parse(
	                     "0001_reference.sql", &v, why, sizeof(why)),
	    1);
	assert_int_equal(v, 1);
	assert_int_equal(
	    store_migration_name_parse("9999_a-b_C9.sql", &v, why, sizeof(why)),
	    1);
	assert_int_equal(v, 9999);
	assert_int_equal(
	    store_migration_name_parse("0040_x.sql", &v, why, sizeof(why)), 1);
	assert_int_equal(v, 40);
}

static void
test_name_ignored(void **state)
{
	static const char *const names[] = {"README.md", "notes.txt", "sql",
	    ".0001_x.sql", ".", "..", "0001_x.sql~", "0001_x.sql.orig",
	    "0001_x.sq", ""};
	char why[160];
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(
		    store_migration_name_parse(names[i], &v, why, sizeof(why)),
		    0);
}

static void
test_name_malformed(void **state)
{
	static const char *const names[] = {"12_x.sql", "00012_x.sql",
	    "0001.sql", "0001_.sql", "0001x.sql", "0001-x.sql", "0001_a b.sql",
	    "0001_a.b.sql", "0000_x.sql", "abcd_x.sql", "x.sql", "0001_x.SQL",
	    "0001_\xe4\xb8\xad.sql", "_0001_x.sql"};
	char why[160], longname[300];
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		why[0] = '\0';
		assert_int_equal(
		    store_migration_name_parse(names[i], &v, why, sizeof(why)),
		    -1);
		/* Every refusal says why. */
		assert_true(strlen(why) > 10);
	}
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "0001_", 5);
	memcpy(longname + 200, ".sql", 5);
	assert_int_equal(
	    store_migration_name_parse(longname, &v, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer"));
}

static void
test_sort_and_duplicates(void **state)
{
	struct store_migration list[] = {
	    {3, "0003_c.sql"}, {1, "0001_a.sql"}, {2, "0002_b.sql"}};
	struct store_migration dup[] = {
	    {2, "0002_b.sql"}, {1, "0001_a.sql"}, {2, "0002_a.sql"}};
	struct store_err err;

	(void)state;
	assert_int_equal(store_migrations_sort(list, 3, &err), 0);
	assert_int_equal(err.kind, STORE_OK);
	assert_string_equal(list[0].file, "0001_a.sql");
	assert_string_equal(list[1].file, "0002_b.sql");
	assert_string_equal(list[2].file, "0003_c.sql");
	assert_int_equal(store_migrations_sort(dup, 3, &err), -1);
	assert_int_equal(err.kind, STORE_ERR_SQL);
	assert_string_equal(err.sqlstate, "42710");
	assert_non_null(strstr(err.msg, "0002_a.sql"));
	assert_non_null(strstr(err.msg, "0002_b.sql"));
	assert_int_equal(store_migrations_sort(NULL, 0, &err), 0);
}

static void
touch(const char *dir, const char *name)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("SELECT 1;\n", fp);
	fclose(fp);
}

static void
rm(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(unlink(path), 0);
}

static void
test_scan(void **state)
{
	char dir[] = "/tmp/test_store.XXXXXX";
	struct store_migration *list;
	struct store_err err;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	touch(dir, "0002_b.sql");
	touch(dir, "0001_a.sql");
	touch(dir, "0010_c.sql");
	touch(dir, "README");
	touch(dir, ".0003_hidden.sql");
	touch(dir, "0004_d.sql.orig");
	assert_int_equal(store_migrations_scan(dir, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].file, "0001_a.sql");
	assert_int_equal(list[1].version, 2);
	assert_int_equal(list[2].version, 10);
	free(list);

	touch(dir, "12_x.sql");
	assert_int_equal(store_migrations_scan(dir, &list, &n, &err), -1);
	assert_null(list);
	assert_string_equal(err.sqlstate, "42602");
	assert_non_null(strstr(err.msg, "12_x.sql"));
	rm(dir, "12_x.sql");

	touch(dir, "0002_again.sql");
	assert_int_equal(store_migrations_scan(dir, &list, &n, &err), -1);
	assert_string_equal(err.sqlstate, "42710");
	rm(dir, "0002_again.sql");

	rm(dir, "0001_a.sql");
	rm(dir, "0002_b.sql");
	rm(dir, "0010_c.sql");
	rm(dir, "README");
	rm(dir, ".0003_hidden.sql");
	rm(dir, "0004_d.sql.orig");
	/* An empty folder is no migration, not an error. */
	assert_int_equal(store_migrations_scan(dir, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(rmdir(dir), 0);

	assert_int_equal(store_migrations_scan(dir, &list, &n, &err), -1);
	assert_string_equal(err.sqlstate, "58P01");
	assert_non_null(strstr(err.msg, dir));
}

/* --- checksum and positions ----------------------------------------------- */

static void
test_fnv1a64(void **state)
{
	uint64_t h;

	(void)state;
	/* The published FNV-1a 64 vectors. */
	assert_true(
	    store_fnv1a64(STORE_FNV1A64_INIT, "", 0) == 0xcbf29ce484222325ULL);
	assert_true(
	    store_fnv1a64(STORE_FNV1A64_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(store_fnv1a64(STORE_FNV1A64_INIT, "foobar", 6) ==
	            0x85944171f73967e8ULL);
	/* In pieces, the same as in one go. */
	h = store_fnv1a64(STORE_FNV1A64_INIT, "foo", 3);
	assert_true(store_fnv1a64(h, "bar", 3) == 0x85944171f73967e8ULL);
	/* One byte changed, another sum. */
	assert_true(store_fnv1a64(STORE_FNV1A64_INIT, "foobaR", 6) !=
	            0x85944171f73967e8ULL);
}

static void
test_line_of_position(void **state)
{
	const char *t = "SELECT 1;\nSELECT x;\n\nSELEC 3;\n";
	/* Two Chinese characters (three bytes each) count as two. */
	const char *u = "-- \xe5\x8c\xba\xe5\x8e\xbf\nSELEC 1;\n";

	(void)state;
	assert_int_equal(store_line_of_position(t, strlen(t), 1), 1);
	assert_int_equal(store_line_of_position(t, strlen(t), 10), 1);
	assert_int_equal(store_line_of_position(t, strlen(t), 11), 2);
	assert_int_equal(store_line_of_position(t, strlen(t), 22), 4);
	assert_int_equal(store_line_of_position(t, strlen(t), 0), 1);
	assert_int_equal(store_line_of_position(t, strlen(t), 9999), 5);
	/* "SELEC" starts at character 7 of u: '-','-',' ',2 chars,'\n'. */
	assert_int_equal(store_line_of_position(u, strlen(u), 6), 1);
	assert_int_equal(store_line_of_position(u, strlen(u), 7), 2);
}

/* --- transaction control in a migration ---------------------------------- */

static int
txn_line(const char *sql, char *word)
{
	word[0] = '\0';
	return store_sql_txn_control(sql, strlen(sql), word, 16);
}

static void
test_txn_control_found(void **state)
{
	char word[16];

	(void)state;
	assert_int_equal(
	    txn_line("CREATE TABLE t (a int);\nCOMMIT;\n", word), 2);
	assert_string_equal(word, "COMMIT");
	assert_int_equal(txn_line("begin;\nCREATE TABLE t (a int);", word), 1);
	assert_string_equal(word, "BEGIN");
	assert_int_equal(txn_line("SELECT 1; end", word), 1);
	assert_string_equal(word, "END");
	assert_int_equal(txn_line("SELECT ';'\n;\n\n  Rollback ;", word), 4);
	assert_string_equal(word, "ROLLBACK");
	assert_int_equal(txn_line("-- c\n/* a\n/* nested */ b */ START "
	                          "TRANSACTION;",
	                     word),
	    3);
	assert_string_equal(word, "START");
	assert_int_equal(txn_line("SELECT E'it\\'s; commit'; ABORT;", word), 1);
	assert_string_equal(word, "ABORT");
	/* After a BEGIN ATOMIC body is closed, statements count again. */
	assert_int_equal(txn_line("CREATE FUNCTION f() RETURNS int LANGUAGE "
	                          "sql BEGIN ATOMIC SELECT 1; END;\nCOMMIT;",
	                     word),
	    2);
}

static void
test_txn_control_hidden(void **state)
{
	static const char *const ok[] = {
	    "",
	    "CREATE TABLE commit_log (ended boolean);",
	    "SELECT 'x;COMMIT';\nSELECT \"end\" FROM t;",
	    "-- COMMIT;\n/* ROLLBACK; */ SELECT 1;",
	    "DO $$\nBEGIN\n  PERFORM 1;\nEND\n$$;",
	    "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS "
	    "$body$ BEGIN RETURN NULL; END $body$;",
	    "SELECT $1::int; SELECT a$b FROM t;",
	    "SELECT E'\\\\'; SELECT 'a''b; END';",
	    "CREATE FUNCTION g(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC\n"
	    "  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n"
	    "  SELECT 2;\nEND;",
	    "SELECT 1; -- unterminated 'quote\n",
	    "SELECT $$never closed; COMMIT;",
	};
	char word[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(txn_line(ok[i], word), 0);
}

/* --- load directives and CSV headers -------------------------------------- */

static int
parse_directive(const char *line, char *table, char *file, char *why)
{
	why[0] = '\0';
	return store_load_directive_parse(
	    line, strlen(line), table, 64, file, 128, why, 160);
}

static void
test_directive_good(void **state)
{
	char table[64], file[128], why[160];

	(void)state;
	assert_int_equal(parse_directive("-- load: districts districts.csv",
	                     table, file, why),
	    1);
	assert_string_equal(table, "districts");
	assert_string_equal(file, "districts.csv");
	assert_int_equal(parse_directive("  -- load:\tsectors_load  "
	                                 "sectors-2026.v1.csv \r",
	                     table, file, why),
	    1);
	assert_string_equal(table, "sectors_load");
	assert_string_equal(file, "sectors-2026.v1.csv");
}

static void
test_directive_not(void **state)
{
	static const char *const lines[] = {"", "--", "-- loading order",
	    "-- comment: load x y.csv", "SELECT 1; -- load: t f.csv",
	    "CREATE TABLE load (x int);", "-- download: t f.csv"};
	char table[64], file[128], why[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_int_equal(
		    parse_directive(lines[i], table, file, why), 0);
}

static void
test_directive_malformed(void **state)
{
	static const char *const lines[] = {"--load: t f.csv",
	    "-- LOAD: t f.csv", "-- load : t f.csv", "--  load: t f.csv",
	    "-- load:", "-- load: t", "-- load: T f.csv", "-- load: t ../x.csv",
	    "-- load: t /etc/passwd.csv", "-- load: t data/f.csv",
	    "-- load: t f.txt", "-- load: t .f.csv", "-- load: t f.csv extra",
	    "-- load: t;drop f.csv", "-- load: \"t\" f.csv",
	    "-- load: 1t f.csv", "-- load: t .csv",
	    "-- load: "
	    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd"
	    " f.csv"};
	char table[64], file[128], why[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(
		    parse_directive(lines[i], table, file, why), -1);
		assert_true(strlen(why) > 10);
	}
}

static int
header(const char *csv, char *out, size_t outsize, char *why)
{
	why[0] = '\0';
	return store_csv_header_columns(
	    csv, strlen(csv), out, outsize, why, 160);
}

static void
test_csv_header(void **state)
{
	static const char *const bad[] = {"", "\n370102,x", "Code,name\n",
	    "a,,b\n", "a,b,\n", ",a\n", "a,a\n", "\"a\",b\n", "a b,c\n",
	    "名称,code\n", "a;b\n"};
	char out[256], why[160];
	size_t i;

	(void)state;
	assert_int_equal(header("code,name,kind\n370102,历下区,district\n", out,
	                     sizeof(out), why),
	    0);
	assert_string_equal(out, "\"code\",\"name\",\"kind\"");
	/* A BOM, CRLF, no newline at all. */
	assert_int_equal(header("\xEF\xBB\xBF"
	                        "code,enforces\r\nAWB,no\r\n",
	                     out, sizeof(out), why),
	    0);
	assert_string_equal(out, "\"code\",\"enforces\"");
	assert_int_equal(header("only", out, sizeof(out), why), 0);
	assert_string_equal(out, "\"only\"");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(header(bad[i], out, sizeof(out), why), -1);
		assert_true(strlen(why) > 10);
	}
	/* Too long for the caller's buffer: refused, not cut. */
	assert_int_equal(header("code,name,kind\n", out, 14, why), -1);
}

/* --- COPY text encoding --------------------------------------------------- */

/* Compare the buffer with an expected text. */
static void
assert_buf(const struct store_copy_buf *b, const char *want)
{
	assert_int_equal(b->len, strlen(want));
	assert_memory_equal(b->data, want, b->len);
}

static void
test_copy_escaping(void **state)
{
	struct store_copy_buf b;

	(void)state;
	store_copy_buf_init(&b);
	assert_int_equal(store_copy_buf_add_str(&b, "a\\b"), 0);
	assert_int_equal(store_copy_buf_add_str(&b, "tab\there"), 0);
	assert_int_equal(store_copy_buf_add_str(&b, "line\nnext"), 0);
	assert_int_equal(store_copy_buf_add_str(&b, "cr\rlf\r\n"), 0);
	assert_int_equal(store_copy_buf_add_str(&b, NULL), 0);
	assert_int_equal(store_copy_buf_add_str(&b, "\\N"), 0);
	assert_int_equal(store_copy_buf_add_str(&b, "\\."), 0);
	assert_int_equal(store_copy_buf_add_str(&b, ""), 0);
	assert_int_equal(store_copy_buf_end_row(&b), 0);
	assert_buf(&b, "a\\\\b\ttab\\there\tline\\nnext\tcr\\rlf\\r\\n\t\\N\t"
	               "\\\\N\t\\\\.\t\n");
	assert_int_equal(b.rows, 1);
	assert_int_equal(b.fields, 0);
	store_copy_buf_free(&b);
}

static void
test_copy_utf8_and_others(void **state)
{
	struct store_copy_buf b;
	/* Every byte other than \ TAB LF CR passes through unchanged. */
	const char *text =
	    "历城区 济南高新技术产业开发区 \"q\" 'a,b' ; \x01\x7f";
	char want[256];

	(void)state;
	store_copy_buf_init(&b);
	assert_int_equal(store_copy_buf_add_str(&b, text), 0);
	assert_int_equal(store_copy_buf_add_strn(&b, "abc\tdef", 4), 0);
	assert_int_equal(store_copy_buf_add_strn(&b, NULL, 3), 0);
	assert_int_equal(store_copy_buf_add_null(&b), 0);
	assert_int_equal(store_copy_buf_end_row(&b), 0);
	snprintf(want, sizeof(want), "%s\tabc\\t\t\\N\t\\N\n", text);
	assert_buf(&b, want);
	store_copy_buf_free(&b);
}

static void
test_copy_numbers(void **state)
{
	struct store_copy_buf b;

	(void)state;
	store_copy_buf_init(&b);
	assert_int_equal(store_copy_buf_add_int64(&b, INT64_MIN), 0);
	assert_int_equal(store_copy_buf_add_int64(&b, INT64_MAX), 0);
	assert_int_equal(store_copy_buf_add_int64(&b, 0), 0);
	assert_int_equal(store_copy_buf_add_bool(&b, true), 0);
	assert_int_equal(store_copy_buf_add_bool(&b, false), 0);
	assert_int_equal(store_copy_buf_end_row(&b), 0);
	assert_int_equal(store_copy_buf_add_double(&b, 0.1), 0);
	assert_int_equal(store_copy_buf_add_double(&b, -1e300), 0);
	assert_int_equal(store_copy_buf_add_double(&b, 5e-324), 0);
	assert_int_equal(store_copy_buf_add_double(&b, -0.0), 0);
	assert_int_equal(store_copy_buf_add_double(&b, 12.5), 0);
	assert_int_equal(store_copy_buf_add_double(&b, NAN), 0);
	assert_int_equal(store_copy_buf_add_double(&b, INFINITY), 0);
	assert_int_equal(store_copy_buf_add_double(&b, -INFINITY), 0);
	assert_int_equal(store_copy_buf_end_row(&b), 0);
	assert_buf(&b, "-9223372036854775808\t9223372036854775807\t0\tt\tf\n"
	               "0.10000000000000001\t-1.0000000000000001e+300\t"
	               "4.9406564584124654e-324\t-0\t12.5\tNaN\tInfinity\t"
	               "-Infinity\n");
	assert_int_equal(b.rows, 2);
	/* 17 digits read back give the same double. */
	assert_true(strtod("0.10000000000000001", NULL) == 0.1);
	store_copy_buf_free(&b);
}

static void
test_copy_rows_and_reset(void **state)
{
	struct store_copy_buf b;
	char want[64];
	size_t cap, off = 0;
	int i;

	(void)state;
	store_copy_buf_init(&b);
	/* A row needs a field. */
	assert_int_equal(store_copy_buf_end_row(&b), -1);
	assert_int_equal(b.rows, 0);
	assert_int_equal(b.len, 0);
	/* Enough rows to grow the buffer many times. */
	for (i = 0; i < 20000; i++) {
		assert_int_equal(store_copy_buf_add_int64(&b, i), 0);
		assert_int_equal(store_copy_buf_add_str(&b, "p\t1"), 0);
		assert_int_equal(store_copy_buf_end_row(&b), 0);
	}
	assert_int_equal(b.rows, 20000);
	for (i = 0; i < 20000; i++) {
		int n = snprintf(want, sizeof(want), "%d\tp\\t1\n", i);
		assert_memory_equal(b.data + off, want, (size_t)n);
		off += (size_t)n;
	}
	assert_int_equal(off, b.len);
	cap = b.cap;
	store_copy_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.rows, 0);
	assert_int_equal(b.cap, cap);
	assert_int_equal(store_copy_buf_add_str(&b, "x"), 0);
	assert_int_equal(store_copy_buf_end_row(&b), 0);
	assert_buf(&b, "x\n");
	store_copy_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
}

/* --- the handle without a server ------------------------------------------ */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A Unix socket that cannot exist: connecting fails at once, no network. */
#define NOWHERE "host=/nonexistent/anquan-test port=1 dbname=x user=x"

static void
test_copy_refused_before_sending(void **state)
{
	struct store *st = store_open(NOWHERE, NULL);
	struct store_stats stats;
	struct store_copy_buf b;
	struct store_err err;

	(void)state;
	assert_non_null(st);
	store_copy_buf_init(&b);
	assert_int_equal(store_copy_buf_add_str(&b, "half a row"), 0);
	assert_int_equal(
	    store_copy(st, "COPY t (a, b) FROM STDIN", &b, &err), -1);
	assert_int_equal(err.kind, STORE_ERR_SQL);
	assert_string_equal(err.sqlstate, "22P04");
	assert_int_equal(store_copy_buf_end_row(&b), 0);
	/* A buffer that ran out of memory refuses everything. */
	b.failed = 1;
	assert_int_equal(store_copy_buf_add_str(&b, "x"), -1);
	assert_int_equal(store_copy_buf_end_row(&b), -1);
	assert_int_equal(store_copy(st, "COPY t (a) FROM STDIN", &b, &err), -1);
	assert_string_equal(err.sqlstate, "53200");
	/* A statement that is not a COPY is never sent. */
	assert_int_equal(
	    store_copy_data(st, "DELETE FROM t", "1\n", 2, &err), -1);
	assert_string_equal(err.sqlstate, "22023");
	/* None of these needed the server. */
	store_get_stats(st, &stats);
	assert_int_equal(stats.failures + stats.connects + stats.queries, 0);
	store_copy_buf_free(&b);
	store_close(st);
}

static void
test_open_lazy_and_backoff(void **state)
{
	struct store_opts opts = {.backoff_min_ms = 60000};
	const char *vals[1] = {"1"};
	struct store_stats stats;
	struct store_err err;
	/* Any non-NULL value: a failed call must set it to NULL. */
	PGresult *res = (PGresult *)&stats;
	struct store *st;
	int64_t t0;

	(void)state;
	st = store_open(NOWHERE, &opts);
	assert_non_null(st);
	store_get_stats(st, &stats);
	assert_int_equal(stats.connects + stats.failures, 0);

	/* Bad arguments are refused before any connection attempt. */
	assert_int_equal(store_exec(st, "SELECT $1", 1, NULL, NULL, &err), -1);
	assert_int_equal(err.kind, STORE_ERR_SQL);
	assert_string_equal(err.sqlstate, "22023");

	/* The first call tries, and fails as a connection problem. */
	assert_int_equal(store_exec(st, "SELECT $1", 1, vals, &res, &err), -1);
	assert_null(res);
	assert_int_equal(err.kind, STORE_ERR_CONN);
	assert_string_equal(err.sqlstate, "08001");
	assert_non_null(strstr(err.msg, "anquan-test"));
	store_get_stats(st, &stats);
	assert_int_equal(stats.failures, 1);
	assert_int_equal(stats.queries, 0);

	/* Within the backoff, calls fail at once without trying. */
	t0 = now_ms();
	assert_int_equal(store_exec(st, "SELECT 1", 0, NULL, NULL, &err), -1);
	assert_int_equal(err.kind, STORE_ERR_CONN);
	assert_non_null(strstr(err.msg, "next attempt in"));
	assert_int_equal(store_exec_script(st, "SELECT 1; SELECT 2", &err), -1);
	assert_int_equal(store_begin(st, &err), -1);
	assert_int_equal(
	    store_copy_data(st, "COPY t FROM STDIN", "1\n", 2, &err), -1);
	assert_int_equal(err.kind, STORE_ERR_CONN);
	assert_int_equal(store_pipeline_enter(st, &err), -1);
	assert_int_equal(err.kind, STORE_ERR_CONN);
	assert_null(store_conn(st));
	assert_int_equal(store_ok(st), 0);
	assert_true(now_ms() - t0 < 1000);
	store_get_stats(st, &stats);
	assert_int_equal(stats.failures, 1);
	assert_int_equal(stats.refused, 7);
	assert_int_equal(stats.connects, 0);

	/* Nothing open, nothing to roll back. */
	assert_int_equal(store_rollback(st, &err), 0);
	assert_int_equal(err.kind, STORE_OK);
	/* Pipeline calls outside pipeline mode are refused. */
	assert_int_equal(store_pipeline_sync(st, &err), -1);
	assert_int_equal(store_pipeline_exit(st, &err), -1);
	store_close(st);
	store_close(NULL);
}

static void
test_open_malformed(void **state)
{
	struct store *st;

	(void)state;
	assert_null(store_open("host=/tmp port", NULL));
	assert_null(store_open("postgresql://[::1", NULL));
	/* A bare word is a database name, and NULL means libpq's defaults. */
	st = store_open("anquan", NULL);
	assert_non_null(st);
	store_close(st);
	st = store_open(NULL, NULL);
	assert_non_null(st);
	store_close(st);
}

/* --- small pure helpers --------------------------------------------------- */

static void
test_backoff(void **state)
{
	int seq[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
	int cur = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		cur = store_backoff_next(cur, 100, 5000);
		assert_int_equal(cur, seq[i]);
	}
	/* Nonsense bounds still give a positive, capped delay. */
	assert_int_equal(store_backoff_next(0, 0, 0), 1);
	assert_int_equal(store_backoff_next(0, 500, 100), 500);
	assert_int_equal(store_backoff_next(500, 500, 100), 500);
	assert_int_equal(
	    store_backoff_next(2000000000, 100, 2000000000), 2000000000);
}

static void
test_sqlstate_conn(void **state)
{
	(void)state;
	assert_true(store_sqlstate_is_conn("08006"));
	assert_true(store_sqlstate_is_conn("08001"));
	assert_true(store_sqlstate_is_conn("08P01"));
	assert_true(store_sqlstate_is_conn("57P01"));
	assert_true(store_sqlstate_is_conn("57P03"));
	assert_false(store_sqlstate_is_conn("57014")); /* query cancelled */
	assert_false(store_sqlstate_is_conn("23505"));
	assert_false(store_sqlstate_is_conn("080"));
	assert_false(store_sqlstate_is_conn(""));
	assert_false(store_sqlstate_is_conn(NULL));
}

static void
test_err_text(void **state)
{
	struct store_err err;
	char longmsg[1024] = "";
	size_t i, n;

	(void)state;
	store_err_set(
	    &err, STORE_ERR_SQL, "23505", "first line\nsecond\tline\n");
	assert_string_equal(err.msg, "first line second line");
	assert_string_equal(err.sqlstate, "23505");
	/* Cut at a character boundary: 200 three-byte characters. */
	for (i = 0; i < 200; i++)
		strcat(longmsg, "\xe5\x8c\xba");
	store_err_set(&err, STORE_ERR_CONN, "08006", longmsg);
	n = strlen(err.msg);
	assert_true(n < sizeof(err.msg));
	assert_int_equal(n % 3, 0);
	store_err_setf(&err, STORE_ERR_SQL, "toolong", "%s=%d", "n", 42);
	assert_string_equal(err.msg, "n=42");
	assert_string_equal(err.sqlstate, "toolo");
	store_err_set(NULL, STORE_ERR_SQL, "XX000", "ignored");
	store_err_clear(&err);
	assert_int_equal(err.kind, STORE_OK);
	assert_string_equal(err.msg, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_good),
	    cmocka_unit_test(test_name_ignored),
	    cmocka_unit_test(test_name_malformed),
	    cmocka_unit_test(test_sort_and_duplicates),
	    cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_fnv1a64),
	    cmocka_unit_test(test_line_of_position),
	    cmocka_unit_test(test_txn_control_found),
	    cmocka_unit_test(test_txn_control_hidden),
	    cmocka_unit_test(test_directive_good),
	    cmocka_unit_test(test_directive_not),
	    cmocka_unit_test(test_directive_malformed),
	    cmocka_unit_test(test_csv_header),
	    cmocka_unit_test(test_copy_escaping),
	    cmocka_unit_test(test_copy_utf8_and_others),
	    cmocka_unit_test(test_copy_numbers),
	    cmocka_unit_test(test_copy_rows_and_reset),
	    cmocka_unit_test(test_copy_refused_before_sending),
	    cmocka_unit_test(test_open_lazy_and_backoff),
	    cmocka_unit_test(test_open_malformed),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_sqlstate_conn),
	    cmocka_unit_test(test_err_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

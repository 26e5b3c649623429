/*
 * test_safetyctl_import - the pure parts of `safetyctl import`: the CSV
 * reader, the header, the cell conversion and the rows (import_csv.c) and
 * the table of kinds (import_kinds.c).
 *
 * No ingestd, no file: every case is a string read through the same calls
 * cmd_import.c makes, and the results are compared as the JSON text that
 * would be posted.  The malformed cases (a stray or unclosed quote, a wrong
 * number of fields, unknown or repeated columns, bytes that are not UTF-8,
 * values that do not fit their type) check both that the input is refused
 * and that the reason names what to fix; t_records_import.sh covers the
 * command end to end against a real ingestd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/safetyctl/import_csv.h"

/* A reader over a string, with the last record's result. */
struct reader {
	struct import_csv f;
	struct import_cells c;
	long line;
	char why[IMPORT_REASON_MAX];
};

static void
reader_open(struct reader *r, const char *text, size_t len)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(import_csv_open(&r->f, text, len), 0);
}

static int
reader_next(struct reader *r)
{
	r->why[0] = '\0';
	return import_csv_record(
	    &r->f, &r->c, &r->line, r->why, sizeof(r->why));
}

/* Assert the last record holds exactly the n cells given. */
static void
assert_cells(const struct reader *r, size_t n, ...)
{
	va_list ap;

	assert_int_equal(r->c.n, n);
	assert_false(r->c.too_many);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(
		    import_csv_cell(&r->c, i), va_arg(ap, char *));
	va_end(ap);
}

/* --- the reader ----------------------------------------------------------- */

static void
test_csv_plain_and_quoted(void **state)
{
	static const char text[] = "a,\"b, \"\"c\"\"\",d\n"
	                           "\"\",,\"x\"\n"
	                           "last,row";
	struct reader r;

	(void)state;
	reader_open(&r, text, strlen(text));
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 1);
	assert_cells(&r, 3, "a", "b, \"c\"", "d");
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 2);
	assert_cells(&r, 3, "", "", "x");
	/* The last record needs no line end. */
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 3);
	assert_cells(&r, 2, "last", "row");
	assert_int_equal(reader_next(&r), 0);
	assert_int_equal(reader_next(&r), 0);
	import_csv_cells_free(&r.c);
}

static void
test_csv_field_spans_lines(void **state)
{
	static const char text[] = "x,\"one\ntwo\r\nthree\",y\n"
	                           "next,1,2\n";
	struct reader r;

	(void)state;
	reader_open(&r, text, strlen(text));
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 1);
	/* A CRLF inside a quoted field is read as LF. */
	assert_cells(&r, 3, "x", "one\ntwo\nthree", "y");
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 4); /* the physical line, for FILE:LINE */
	assert_cells(&r, 3, "next", "1", "2");
	assert_int_equal(reader_next(&r), 0);
	import_csv_cells_free(&r.c);
}

static void
test_csv_line_ends_and_blank_lines(void **state)
{
	static const char crlf[] = "a,b\r\nc,d\r\n";
	static const char blank[] = "a\n\n\r\n  \nb\rc\r";
	struct reader r;

	(void)state;
	reader_open(&r, crlf, strlen(crlf));
	assert_int_equal(reader_next(&r), 1);
	assert_cells(&r, 2, "a", "b");
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 2);
	assert_cells(&r, 2, "c", "d");
	assert_int_equal(reader_next(&r), 0);
	import_csv_cells_free(&r.c);

	/* Blank lines are no records but count as lines; a lone CR ends a
	 * record; a line of blanks is a record of one (blank) cell. */
	reader_open(&r, blank, strlen(blank));
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 1);
	assert_cells(&r, 1, "a");
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 4);
	assert_cells(&r, 1, "  ");
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 5);
	assert_cells(&r, 1, "b");
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 6);
	assert_cells(&r, 1, "c");
	assert_int_equal(reader_next(&r), 0);
	import_csv_cells_free(&r.c);
}

static void
test_csv_bom_and_utf16(void **state)
{
	static const char bom[] = "\xef\xbb\xbfuscc,name\n";
	static const char le16[] = "\xff\xfeu\0s\0";
	static const char be16[] = "\xfe\xff\0u\0s";
	struct import_csv f;
	struct reader r;

	(void)state;
	reader_open(&r, bom, strlen(bom));
	assert_int_equal(reader_next(&r), 1);
	assert_cells(&r, 2, "uscc", "name");
	import_csv_cells_free(&r.c);

	assert_int_equal(import_csv_open(&f, le16, sizeof(le16) - 1), -1);
	assert_int_equal(import_csv_open(&f, be16, sizeof(be16) - 1), -1);
	/* Short or empty input is no UTF-16 and no BOM. */
	assert_int_equal(import_csv_open(&f, "\xff", 1), 0);
	assert_int_equal(f.pos, 0);
	assert_int_equal(import_csv_open(&f, "", 0), 0);
	assert_int_equal(f.line, 1);
}

static void
test_csv_stray_quote(void **state)
{
	static const char text[] = "ok,1\n"
	                           "bad,x\"y,more\n"
	                           "\"ab\"c,d\n"
	                           "next,2\n";
	struct reader r;

	(void)state;
	reader_open(&r, text, strlen(text));
	assert_int_equal(reader_next(&r), 1);
	assert_cells(&r, 2, "ok", "1");

	/* A quote inside an unquoted field: this record only. */
	assert_int_equal(reader_next(&r), -1);
	assert_int_equal(r.line, 2);
	assert_non_null(strstr(r.why, "field 2 has a quote"));
	assert_non_null(strstr(r.why, "write the quote twice"));

	/* Text after a closing quote. */
	assert_int_equal(reader_next(&r), -1);
	assert_int_equal(r.line, 3);
	assert_non_null(strstr(r.why, "field 1 has text after its closing"));

	/* The reader went on past both lines. */
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(r.line, 4);
	assert_cells(&r, 2, "next", "2");
	assert_int_equal(reader_next(&r), 0);
	import_csv_cells_free(&r.c);
}

static void
test_csv_unclosed_quote(void **state)
{
	static const char text[] = "a,b\n"
	                           "c,\"open\n"
	                           "d,e\n";
	struct reader r;

	(void)state;
	reader_open(&r, text, strlen(text));
	assert_int_equal(reader_next(&r), 1);
	assert_int_equal(reader_next(&r), -1);
	assert_int_equal(r.line, 2);
	assert_string_equal(
	    r.why, "the quoted field 2 opened on line 2 is never closed");
	/* It swallowed the rest of the file. */
	assert_int_equal(reader_next(&r), 0);
	import_csv_cells_free(&r.c);
}

static void
test_csv_too_many_cells(void **state)
{
	char text[IMPORT_COLUMNS_MAX * 2 + 8];
	struct reader r;
	size_t n = 0;

	(void)state;
	for (int i = 0; i <= IMPORT_COLUMNS_MAX; i++) {
		text[n++] = 'x';
		text[n++] = i < IMPORT_COLUMNS_MAX ? ',' : '\n';
	}
	reader_open(&r, text, n);
	assert_int_equal(reader_next(&r), 1);
	assert_true(r.c.too_many);
	assert_int_equal(r.c.n, IMPORT_COLUMNS_MAX);
	assert_int_equal(reader_next(&r), 0);
	import_csv_cells_free(&r.c);
}

/* --- the header ----------------------------------------------------------- */

/* Read text's first record as the header of kind into h. */
static int
header(struct import_header *h, const char *kind, const char *text, char *why)
{
	struct reader r;
	int rc;

	reader_open(&r, text, strlen(text));
	assert_int_equal(reader_next(&r), 1);
	memset(h, 0, sizeof(*h));
	why[0] = '\0';
	rc = import_header_read(
	    h, import_kind_find(kind), &r.c, why, IMPORT_REASON_MAX);
	import_csv_cells_free(&r.c);
	return rc;
}

/* The header must be refused with a reason containing want. */
static void
assert_header_refused(const char *kind, const char *text, const char *want)
{
	struct import_header h;
	char why[IMPORT_REASON_MAX];

	assert_int_equal(header(&h, kind, text, why), -1);
	if (strstr(why, want) == NULL)
		fail_msg("header '%s': got '%s', want '%s'", text, why, want);
	import_header_free(&h);
}

static void
test_header_columns(void **state)
{
	struct import_header h;
	char why[IMPORT_REASON_MAX];

	(void)state;
	assert_int_equal(header(&h, "hazard_source.upsert",
	                     " code ,responsible.main,responsible.phone,"
	                     "people_500m,chemicals\n",
	                     why),
	    0);
	assert_int_equal(h.ncols, 5);
	assert_string_equal(h.kind->name, "hazard_source.upsert");
	assert_string_equal(h.cols[0].name, "code"); /* trimmed */
	assert_int_equal(h.cols[0].depth, 1);
	assert_int_equal(h.cols[0].type, IMPORT_F_STR);
	assert_string_equal(h.cols[1].name, "responsible.main");
	assert_int_equal(h.cols[1].depth, 2);
	assert_string_equal(h.cols[1].seg[0], "responsible");
	assert_string_equal(h.cols[1].seg[1], "main");
	/* The members of a dotted object are text. */
	assert_int_equal(h.cols[1].type, IMPORT_F_STR);
	assert_int_equal(h.cols[3].type, IMPORT_F_INT);
	assert_int_equal(h.cols[4].type, IMPORT_F_ARR);
	import_header_free(&h);
	import_header_free(&h); /* twice is harmless */
}

static void
test_header_refused(void **state)
{
	char wide[IMPORT_COLUMNS_MAX * 5 + 8];
	size_t n = 0;

	(void)state;
	assert_header_refused("enterprise.upsert", "uscc,nmae\n",
	    "column 'nmae' is not a field of enterprise.upsert");
	assert_header_refused("enterprise.upsert", "uscc,name, name\n",
	    "column 'name' and column 'name' name the same field");
	assert_header_refused("hazard_source.upsert",
	    "responsible.main,responsible\n",
	    "column 'responsible.main' and column 'responsible' name the "
	    "same field");
	assert_header_refused("hazard_source.upsert",
	    "responsible.main,code,responsible.main\n", "name the same field");
	assert_header_refused("enterprise.upsert", "name.first\n",
	    "field 'name' is a text, not an object");
	assert_header_refused(
	    "hazard_source.upsert", "responsible..main\n", "an empty part");
	assert_header_refused("hazard_source.upsert", "responsible.\n",
	    "an empty part between dots");
	assert_header_refused(
	    "hazard_source.upsert", "responsible.a.b.c.d\n", "deeper than 4");
	assert_header_refused(
	    "enterprise.upsert", "uscc,,name\n", "column 2 has no name");
	assert_header_refused("enterprise.upsert", "uscc,na\xc3\x28me\n",
	    "column 2: the header is not UTF-8 text");
	for (int i = 0; i <= IMPORT_COLUMNS_MAX; i++)
		n += (size_t)snprintf(wide + n, sizeof(wide) - n, "c%d%c", i,
		    i < IMPORT_COLUMNS_MAX ? ',' : '\n');
	assert_header_refused(
	    "enterprise.upsert", wide, "more than 64 columns");
}

/* --- cells ---------------------------------------------------------------- */

/*
 * Convert text as a column of type; the JSON text in out (1), or the
 * reason in out (0).
 */
static int
convert(enum import_ftype type, const char *text, char *out, size_t size)
{
	struct import_column col = {
	    .name = (char *)"f", .depth = 1, .type = type};
	char buf[256], why[IMPORT_REASON_MAX];
	cJSON *item;
	char *json;

	col.seg[0] = "f";
	snprintf(buf, sizeof(buf), "%s", text);
	why[0] = '\0';
	item = import_cell_convert(&col, buf, why, sizeof(why));
	if (item == NULL) {
		assert_true(why[0] != '\0'); /* a reason, not out of memory */
		snprintf(out, size, "%s", why);
		return 0;
	}
	json = cJSON_PrintUnformatted(item);
	assert_non_null(json);
	snprintf(out, size, "%s", json);
	cJSON_free(json);
	cJSON_Delete(item);
	return 1;
}

static void
assert_converts(enum import_ftype type, const char *text, const char *want)
{
	char out[IMPORT_REASON_MAX];

	if (!convert(type, text, out, sizeof(out)))
		fail_msg(
		    "%s '%s' refused: %s", import_ftype_name(type), text, out);
	if (strcmp(out, want) != 0)
		fail_msg("%s '%s': got %s, want %s", import_ftype_name(type),
		    text, out, want);
}

static void
assert_refused(enum import_ftype type, const char *text, const char *want)
{
	char out[IMPORT_REASON_MAX];

	if (convert(type, text, out, sizeof(out)))
		fail_msg("%s '%s' converted to %s", import_ftype_name(type),
		    text, out);
	if (strstr(out, want) == NULL)
		fail_msg("%s '%s': reason '%s' lacks '%s'",
		    import_ftype_name(type), text, out, want);
}

static void
test_cell_text(void **state)
{
	(void)state;
	assert_converts(IMPORT_F_STR, "001", "\"001\"");
	assert_converts(IMPORT_F_STR, "济南 \"明湖\"", "\"济南 \\\"明湖\\\"\"");
	assert_converts(IMPORT_F_STR, "true", "\"true\"");
}

static void
test_cell_numbers(void **state)
{
	(void)state;
	assert_converts(IMPORT_F_INT, "45", "45");
	assert_converts(IMPORT_F_INT, "-7", "-7");
	assert_converts(IMPORT_F_INT, "+12", "12");
	assert_converts(IMPORT_F_INT, "007", "7");
	assert_converts(IMPORT_F_INT, "123456789012345", "123456789012345");
	assert_refused(IMPORT_F_INT, "4.5", "column 'f': '4.5' is not a whole");
	assert_refused(IMPORT_F_INT, "1e3", "is not a whole number");
	assert_refused(IMPORT_F_INT, "0x10", "is not a whole number");
	assert_refused(
	    IMPORT_F_INT, "99999999999999999999", "not a whole number");
	assert_refused(IMPORT_F_INT, "12 people", "not a whole number");
	assert_refused(IMPORT_F_INT, "-", "not a whole number");

	assert_converts(IMPORT_F_NUM, "117.12", "117.12");
	assert_converts(IMPORT_F_NUM, "-3.5e2", "-350");
	assert_converts(IMPORT_F_NUM, ".5", "0.5");
	assert_converts(IMPORT_F_NUM, "36", "36");
	assert_refused(IMPORT_F_NUM, "inf", "'inf' is not a number");
	assert_refused(IMPORT_F_NUM, "nan", "is not a number");
	assert_refused(IMPORT_F_NUM, "1e999", "is not a number");
	assert_refused(IMPORT_F_NUM, "1,5", "is not a number");
	assert_refused(IMPORT_F_NUM, "0x1p3", "is not a number");
}

/* 2^53, the largest whole number a double holds exactly, is the bound. */
static void
test_cell_whole_number_bound(void **state)
{
	struct import_column col = {
	    .name = (char *)"n", .depth = 1, .type = IMPORT_F_INT};
	char buf[] = "-9007199254740992", why[IMPORT_REASON_MAX];
	cJSON *item;

	(void)state;
	col.seg[0] = "n";
	item = import_cell_convert(&col, buf + 1, why, sizeof(why));
	assert_non_null(item);
	assert_true(cJSON_GetNumberValue(item) == 9007199254740992.0);
	cJSON_Delete(item);
	item = import_cell_convert(&col, buf, why, sizeof(why));
	assert_non_null(item);
	assert_true(cJSON_GetNumberValue(item) == -9007199254740992.0);
	cJSON_Delete(item);
	assert_refused(IMPORT_F_INT, "9007199254740994", "not a whole number");
}

static void
test_cell_booleans(void **state)
{
	static const char *const yes[] = {
	    "true", "TRUE", "Yes", "y", "1", "t", "是"};
	static const char *const no[] = {"false", "No", "N", "0", "f", "否"};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_converts(IMPORT_F_BOOL, yes[i], "true");
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_converts(IMPORT_F_BOOL, no[i], "false");
	assert_refused(IMPORT_F_BOOL, "maybe", "'maybe' is not a boolean");
	assert_refused(IMPORT_F_BOOL, "2", "is not a boolean");
	assert_refused(IMPORT_F_BOOL, "是的", "is not a boolean");
}

static void
test_cell_dates(void **state)
{
	(void)state;
	assert_converts(IMPORT_F_DATE, "2026-11-29", "\"2026-11-29\"");
	assert_converts(IMPORT_F_DATE, "2026/1/5", "\"2026-01-05\"");
	assert_converts(IMPORT_F_DATE, "2026.3.09", "\"2026-03-09\"");
	assert_converts(IMPORT_F_DATE, "2028-02-29", "\"2028-02-29\"");
	assert_refused(IMPORT_F_DATE, "2026-02-29", "is not a date");
	assert_refused(IMPORT_F_DATE, "2026-13-01", "is not a date");
	assert_refused(IMPORT_F_DATE, "2026-11/29", "is not a date");
	assert_refused(IMPORT_F_DATE, "2026-11-29 08:00", "is not a date");
	assert_refused(IMPORT_F_DATE, "29/11/2026", "is not a date");
	assert_refused(IMPORT_F_DATE, "2026-11-", "is not a date");
}

static void
test_cell_times(void **state)
{
	(void)state;
	/* RFC 3339 with an offset goes as written. */
	assert_converts(IMPORT_F_TIME, "2026-11-29T08:00:00+08:00",
	    "\"2026-11-29T08:00:00+08:00\"");
	assert_converts(IMPORT_F_TIME, "2026-11-29T00:00:00.5Z",
	    "\"2026-11-29T00:00:00.5Z\"");
	/* City time gets the city's offset. */
	assert_converts(
	    IMPORT_F_TIME, "2026-11-29 08:00", "\"2026-11-29T08:00:00+08:00\"");
	assert_converts(
	    IMPORT_F_TIME, "2026/11/29 8:05", "\"2026-11-29T08:05:00+08:00\"");
	assert_converts(IMPORT_F_TIME, "2026-11-29 08:00:30",
	    "\"2026-11-29T08:00:30+08:00\"");
	assert_converts(IMPORT_F_TIME, "2026-11-29T08:00:30.250",
	    "\"2026-11-29T08:00:30.250+08:00\"");
	/* Epoch milliseconds stay a number; a date alone stays a date. */
	assert_converts(IMPORT_F_TIME, "1795996800000", "1795996800000");
	assert_converts(IMPORT_F_TIME, "2026/11/29", "\"2026-11-29\"");
	assert_refused(IMPORT_F_TIME, "yesterday",
	    "column 'f': 'yesterday' is not a time (RFC 3339");
	assert_refused(IMPORT_F_TIME, "2026-11-29 25:00", "is not a time");
	assert_refused(IMPORT_F_TIME, "2026-11-29 08:00 am", "is not a time");
	assert_refused(IMPORT_F_TIME, "2026-11-29 08:00:61", "is not a time");
	assert_refused(IMPORT_F_TIME, "1795996800000.5", "is not a time");
}

static void
test_cell_json(void **state)
{
	(void)state;
	assert_converts(IMPORT_F_OBJ, "{\"main\":\"张三\",\"phone\":\"138\"}",
	    "{\"main\":\"张三\",\"phone\":\"138\"}");
	assert_converts(IMPORT_F_ARR, "[{\"name\":\"液氯\",\"t\":12.5}]",
	    "[{\"name\":\"液氯\",\"t\":12.5}]");
	assert_converts(IMPORT_F_ARR, "[]", "[]");
	assert_refused(IMPORT_F_OBJ, "[1,2]",
	    "column 'f' must hold a JSON object, got array");
	assert_refused(
	    IMPORT_F_ARR, "{\"a\":1}", "must hold a JSON array, got object");
	assert_refused(IMPORT_F_ARR, "[1,2", "must hold a JSON array, got ");
	assert_refused(IMPORT_F_OBJ, "main=张三", "must hold a JSON object");
}

static void
test_cell_lists(void **state)
{
	(void)state;
	assert_converts(IMPORT_F_LIST, "a;b;c", "[\"a\",\"b\",\"c\"]");
	assert_converts(IMPORT_F_LIST, " P-01 ; ;P-02;", "[\"P-01\",\"P-02\"]");
	assert_converts(IMPORT_F_LIST, "only", "[\"only\"]");
	assert_converts(IMPORT_F_LIST, ";", "[]");
	/* A cell that starts with '[' is a JSON array. */
	assert_converts(IMPORT_F_LIST, "[\"x;y\",\"z\"]", "[\"x;y\",\"z\"]");
	assert_refused(IMPORT_F_LIST, "[x", "must hold a list");
}

/* --- rows ----------------------------------------------------------------- */

struct rows {
	struct import_header h;
	struct reader r;
	char why[IMPORT_REASON_MAX];
};

/* Read text's header for kind; the rows follow with rows_next. */
static void
rows_open(struct rows *t, const char *kind, const char *text)
{
	memset(t, 0, sizeof(*t));
	reader_open(&t->r, text, strlen(text));
	assert_int_equal(reader_next(&t->r), 1);
	assert_int_equal(import_header_read(&t->h, import_kind_find(kind),
	                     &t->r.c, t->why, sizeof(t->why)),
	    0);
}

/*
 * The next record: its data as JSON text in out (1), a blank row (0), or
 * the reason it is bad in out (-1).
 */
static int
rows_next(struct rows *t, char *out, size_t size)
{
	cJSON *data;
	char *json;
	int rc;

	assert_int_equal(reader_next(&t->r), 1);
	t->why[0] = '\0';
	rc = import_row_check(&t->h, &t->r.c, t->why, sizeof(t->why));
	if (rc <= 0) {
		snprintf(out, size, "%s", t->why);
		return rc;
	}
	data = import_row_data(&t->h, &t->r.c, t->why, sizeof(t->why));
	if (data == NULL) {
		assert_true(t->why[0] != '\0');
		snprintf(out, size, "%s", t->why);
		return -1;
	}
	json = cJSON_PrintUnformatted(data);
	assert_non_null(json);
	snprintf(out, size, "%s", json);
	cJSON_free(json);
	cJSON_Delete(data);
	return 1;
}

static void
rows_close(struct rows *t)
{
	assert_int_equal(reader_next(&t->r), 0);
	import_csv_cells_free(&t->r.c);
	import_header_free(&t->h);
}

static void
test_rows_dotted_columns(void **state)
{
	static const char text[] =
	    "code,responsible.main,people_500m,responsible.phone,chemicals\n"
	    "HS-001, 张三 ,120,13800000000,\"[{\"\"name\"\":\"\"液氯\"\"}]\"\n"
	    "HS-002,,,,\n"
	    "HS-003,李四,,,\n";
	struct rows t;
	char out[1024];

	(void)state;
	rows_open(&t, "hazard_source.upsert", text);
	assert_int_equal(rows_next(&t, out, sizeof(out)), 1);
	assert_string_equal(out,
	    "{\"code\":\"HS-001\",\"responsible\":{\"main\":\"张三\","
	    "\"phone\":\"13800000000\"},\"people_500m\":120,"
	    "\"chemicals\":[{\"name\":\"液氯\"}]}");
	/* Blank cells leave their fields out, object members too. */
	assert_int_equal(rows_next(&t, out, sizeof(out)), 1);
	assert_string_equal(out, "{\"code\":\"HS-002\"}");
	assert_int_equal(rows_next(&t, out, sizeof(out)), 1);
	assert_string_equal(
	    out, "{\"code\":\"HS-003\",\"responsible\":{\"main\":\"李四\"}}");
	rows_close(&t);
}

static void
test_rows_types(void **state)
{
	static const char text[] =
	    "code,uscc,delay_s,h,enabled,tag\r\n"
	    "001,91370112MA3C00001X,30,12.5,是,\"a,b\"\r\n"
	    "002,91370112MA3C00001X,thirty,12.5,否,\r\n"
	    "003,91370112MA3C00001X,30,12.5,maybe,\r\n";
	struct rows t;
	char out[1024];

	(void)state;
	rows_open(&t, "point.upsert", text);
	assert_int_equal(rows_next(&t, out, sizeof(out)), 1);
	assert_string_equal(out,
	    "{\"code\":\"001\",\"uscc\":\"91370112MA3C00001X\","
	    "\"delay_s\":30,\"h\":12.5,\"enabled\":true,\"tag\":\"a,b\"}");
	assert_int_equal(rows_next(&t, out, sizeof(out)), -1);
	assert_string_equal(
	    out, "column 'delay_s': 'thirty' is not a whole number");
	assert_int_equal(rows_next(&t, out, sizeof(out)), -1);
	assert_string_equal(out, "column 'enabled': 'maybe' is not a boolean");
	rows_close(&t);
}

static void
test_rows_field_counts_and_blanks(void **state)
{
	static const char text[] = "id,name,active\n"
	                           "I-1,王五\n"
	                           "I-2,王五,yes,extra\n"
	                           ",, \n"
	                           "I-3,\"\", \n";
	struct rows t;
	char out[1024];

	(void)state;
	rows_open(&t, "inspector.upsert", text);
	assert_int_equal(rows_next(&t, out, sizeof(out)), -1);
	assert_string_equal(out, "2 fields, the header has 3");
	assert_int_equal(rows_next(&t, out, sizeof(out)), -1);
	assert_string_equal(out, "4 fields, the header has 3");
	/* ",,," below a table is no row at all. */
	assert_int_equal(rows_next(&t, out, sizeof(out)), 0);
	assert_int_equal(rows_next(&t, out, sizeof(out)), 1);
	assert_string_equal(out, "{\"id\":\"I-3\"}");
	rows_close(&t);
}

static void
test_rows_too_many_fields(void **state)
{
	char text[IMPORT_COLUMNS_MAX * 2 + 64];
	struct rows t;
	char out[1024];
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "id,name\n");
	for (int i = 0; i <= IMPORT_COLUMNS_MAX; i++) {
		text[n++] = 'x';
		text[n++] = i < IMPORT_COLUMNS_MAX ? ',' : '\n';
	}
	text[n] = '\0';
	rows_open(&t, "inspector.upsert", text);
	assert_int_equal(rows_next(&t, out, sizeof(out)), -1);
	assert_string_equal(out, "more than 64 fields, the header has 2");
	rows_close(&t);
}

static void
test_rows_invalid_utf8(void **state)
{
	/* GBK bytes, as a sheet saved in the local code page has them. */
	static const char text[] = "id,name\n"
	                           "I-1,\xd5\xc5\xc8\xfd\n"
	                           "I-2,ok\xed\xa0\x80\n"
	                           "I-3,ok\n";
	struct rows t;
	char out[1024];

	(void)state;
	rows_open(&t, "inspector.upsert", text);
	assert_int_equal(rows_next(&t, out, sizeof(out)), -1);
	assert_string_equal(out, "column 'name' is not UTF-8 text (byte 1): "
	                         "save the sheet as \"CSV UTF-8\"");
	/* An encoded surrogate is no UTF-8 either. */
	assert_int_equal(rows_next(&t, out, sizeof(out)), -1);
	assert_non_null(
	    strstr(out, "column 'name' is not UTF-8 text (byte 3)"));
	assert_int_equal(rows_next(&t, out, sizeof(out)), 1);
	assert_string_equal(out, "{\"id\":\"I-3\",\"name\":\"ok\"}");
	rows_close(&t);
}

/* The id of the one row of text, read as kind. */
static void
row_id(const char *kind, const char *text, long *line, char *id)
{
	struct rows t;

	rows_open(&t, kind, text);
	assert_int_equal(reader_next(&t.r), 1);
	assert_int_equal(
	    import_row_check(&t.h, &t.r.c, t.why, sizeof(t.why)), 1);
	*line = t.r.line;
	import_row_id(&t.h, "sheet.csv", t.r.line, &t.r.c, id, IMPORT_ID_SIZE);
	rows_close(&t);
}

static void
test_row_ids(void **state)
{
	char a[IMPORT_ID_SIZE], b[IMPORT_ID_SIZE], c[IMPORT_ID_SIZE];
	char d[IMPORT_ID_SIZE];
	long line;

	(void)state;
	row_id("inspector.upsert", "id,name\nI-1,王五\n", &line, a);
	assert_int_equal(line, 2);
	assert_int_equal(strlen(a), strlen("import:sheet.csv:2:") + 12);
	assert_memory_equal(a, "import:sheet.csv:2:", 19);
	for (size_t i = 19; a[i] != '\0'; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	/* Blanks around cells do not change the id; a changed cell does,
	 * and so does the kind. */
	row_id("inspector.upsert", "id,name\n I-1 ,王五\t\n", &line, b);
	assert_string_equal(a, b);
	row_id("inspector.upsert", "id,name\nI-1,王六\n", &line, c);
	assert_string_not_equal(a, c);
	row_id("agency.upsert", "code,name\nI-1,王五\n", &line, d);
	assert_string_not_equal(a + 19, d + 19);
}

/* --- the kinds ------------------------------------------------------------ */

static void
test_kinds(void **state)
{
	const struct import_kind *k;
	char *text = NULL;
	size_t n = 0, len = 0;
	FILE *fp;

	(void)state;
	for (n = 0; (k = import_kind_at(n)) != NULL; n++)
		assert_ptr_equal(import_kind_find(k->name), k);
	assert_int_equal(n, 26);
	assert_string_equal(import_kind_at(0)->name, "enterprise.upsert");
	assert_null(import_kind_find("enterprise"));
	assert_null(import_kind_find(""));

	k = import_kind_find("resplist.uploaded");
	assert_non_null(k);
	assert_int_equal(import_kind_field(k, "posts")->type, IMPORT_F_INT);
	assert_null(import_kind_field(k, "Posts"));
	assert_string_equal(
	    import_ftype_name(IMPORT_F_LIST), "list (JSON array or a;b;c)");

	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	import_kind_print_fields(fp, k);
	fclose(fp);
	assert_string_equal(text, "uscc (text), posts (whole number), "
	                          "posts_covered (whole number)\n");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csv_plain_and_quoted),
	    cmocka_unit_test(test_csv_field_spans_lines),
	    cmocka_unit_test(test_csv_line_ends_and_blank_lines),
	    cmocka_unit_test(test_csv_bom_and_utf16),
	    cmocka_unit_test(test_csv_stray_quote),
	    cmocka_unit_test(test_csv_unclosed_quote),
	    cmocka_unit_test(test_csv_too_many_cells),
	    cmocka_unit_test(test_header_columns),
	    cmocka_unit_test(test_header_refused),
	    cmocka_unit_test(test_cell_text),
	    cmocka_unit_test(test_cell_numbers),
	    cmocka_unit_test(test_cell_whole_number_bound),
	    cmocka_unit_test(test_cell_booleans),
	    cmocka_unit_test(test_cell_dates),
	    cmocka_unit_test(test_cell_times),
	    cmocka_unit_test(test_cell_json),
	    cmocka_unit_test(test_cell_lists),
	    cmocka_unit_test(test_rows_dotted_columns),
	    cmocka_unit_test(test_rows_types),
	    cmocka_unit_test(test_rows_field_counts_and_blanks),
	    cmocka_unit_test(test_rows_too_many_fields),
	    cmocka_unit_test(test_rows_invalid_utf8),
	    cmocka_unit_test(test_row_ids),
	    cmocka_unit_test(test_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * import_csv - CSV records into the data of events, for `safetyctl import`.
 *
 * cmd_import.c reads the file into memory and calls, in order:
 * import_csv_open, import_csv_record for the header and import_header_read,
 * then for every further record import_csv_record, import_row_check,
 * import_row_id and import_row_data; what comes back it batches and posts
 * to ingestd.  Nothing here prints, exits or touches the network, so the
 * unit test (tests/unit/test_safetyctl_import.c) drives all of it with
 * strings.
 *
 * The reader follows RFC 4180 as spreadsheets write it: comma-separated,
 * fields optionally in double quotes (a quote inside is doubled, a quoted
 * field may span lines), LF, CRLF or a lone CR ending a record, blank
 * lines skipped.  A quote in the middle of an unquoted field, or text
 * after a closing quote, is an error for that record only: the reader
 * skips the rest of its line and goes on, so one bad row does not hide
 * the rest.  An unclosed quote runs to the end of the file and ends it.
 *
 * A header names one field of the kind per column, or one member of an
 * object field by a dotted path (responsible.main); the per-kind types come
 * from import_kinds.c.  A cell is trimmed of blanks, a blank cell leaves its
 * field out, and the others are converted strictly: a value that does not
 * fit its type rejects the row with a reason naming the column and the
 * forms that would do.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import_csv.h"
#include "json.h"
#include "sha256.h"
#include "timeutil.h"

/* --- the reader ----------------------------------------------------------- */

int
import_csv_open(struct import_csv *f, const char *data, size_t len)
{
	f->data = data;
	f->len = len;
	f->pos = 0;
	f->line = 1;
	/* Excel's "Unicode text" is UTF-16 with a BOM in either order. */
	if (len >= 2 &&
	    ((uint8_t)data[0] == 0xff || (uint8_t)data[0] == 0xfe) &&
	    ((uint8_t)data[1] == 0xfe || (uint8_t)data[1] == 0xff))
		return -1;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		f->pos = 3;
	return 0;
}

static int
cells_put(struct import_cells *c, char ch)
{
	if (c->len + 1 >= c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		char *p = realloc(c->buf, cap);

		if (p == NULL)
			return -1;
		c->buf = p;
		c->cap = cap;
	}
	c->buf[c->len++] = ch;
	return 0;
}

/* End the current cell; the first IMPORT_COLUMNS_MAX are kept. */
static int
cells_end(struct import_cells *c)
{
	if (cells_put(c, '\0') < 0)
		return -1;
	if (c->n == IMPORT_COLUMNS_MAX) {
		c->too_many = true;
		return 0;
	}
	c->off[++c->n] = c->len;
	return 0;
}

const char *
import_csv_cell(const struct import_cells *c, size_t i)
{
	return c->buf + c->off[i];
}

void
import_csv_cells_free(struct import_cells *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* Skip the rest of a physical line after a syntax error. */
static void
csv_skip_line(struct import_csv *f)
{
	while (f->pos < f->len && f->data[f->pos] != '\n')
		f->pos++;
	if (f->pos < f->len) {
		f->pos++;
		f->line++;
	}
}

int
import_csv_record(struct import_csv *f, struct import_cells *c, long *line,
    char *why, size_t whysize)
{
	char ch;

	c->len = 0;
	c->n = 0;
	c->off[0] = 0;
	c->too_many = false;
	/* Blank lines are no rows. */
	while (f->pos < f->len &&
	       (f->data[f->pos] == '\n' || f->data[f->pos] == '\r')) {
		if (f->data[f->pos] == '\n' ||
		    (f->pos + 1 < f->len && f->data[f->pos + 1] != '\n'))
			f->line++;
		f->pos++;
	}
	if (f->pos >= f->len)
		return 0;
	*line = f->line;
	for (;;) {
		if (f->pos < f->len && f->data[f->pos] == '"') {
			long opened = f->line;

			f->pos++;
			for (;;) {
				if (f->pos >= f->len) {
					snprintf(why, whysize,
					    "the quoted field %zu opened on "
					    "line %ld is never closed",
					    c->n + 1, opened);
					return -1;
				}
				ch = f->data[f->pos++];
				if (ch == '"') {
					if (f->pos < f->len &&
					    f->data[f->pos] == '"')
						f->pos++;
					else
						break;
				} else if (ch == '\n') {
					f->line++;
				} else if (ch == '\r' && f->pos < f->len &&
				           f->data[f->pos] == '\n') {
					continue; /* a CRLF inside is a LF */
				}
				if (cells_put(c, ch) < 0)
					return -2;
			}
			if (f->pos < f->len && f->data[f->pos] != ',' &&
			    f->data[f->pos] != '\n' &&
			    f->data[f->pos] != '\r') {
				snprintf(why, whysize,
				    "field %zu has text after its closing "
				    "quote (a quote inside a quoted field is "
				    "written twice: \"\")",
				    c->n + 1);
				csv_skip_line(f);
				return -1;
			}
		} else {
			while (f->pos < f->len &&
			       (ch = f->data[f->pos]) != ',' && ch != '\n' &&
			       ch != '\r') {
				if (ch == '"') {
					snprintf(why, whysize,
					    "field %zu has a quote but does "
					    "not "
					    "start with one (quote the whole "
					    "field and write the quote twice)",
					    c->n + 1);
					csv_skip_line(f);
					return -1;
				}
				if (cells_put(c, ch) < 0)
					return -2;
				f->pos++;
			}
		}
		if (cells_end(c) < 0)
			return -2;
		if (f->pos < f->len && f->data[f->pos] == ',') {
			f->pos++;
			continue;
		}
		/* The record ends: CRLF, LF, a lone CR, or the end. */
		if (f->pos < f->len && f->data[f->pos] == '\r')
			f->pos++;
		if (f->pos < f->len && f->data[f->pos] == '\n')
			f->pos++;
		f->line++;
		return 1;
	}
}

char *
import_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* --- the header ----------------------------------------------------------- */

/* Is a's path a prefix of b's (or the same)? */
static bool
path_prefix(const struct import_column *a, const struct import_column *b)
{
	if (a->depth > b->depth)
		return false;
	for (int i = 0; i < a->depth; i++)
		if (strcmp(a->seg[i], b->seg[i]) != 0)
			return false;
	return true;
}

/* One header cell into column i: 0, or -1 with why. */
static int
header_column(struct import_header *h, size_t i, const char *name, char *why,
    size_t whysize)
{
	struct import_column *col = &h->cols[i];
	const struct import_field *f;
	char *p;

	col->name = strdup(name);
	col->segbuf = strdup(name);
	if (col->name == NULL || col->segbuf == NULL) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	if (name[0] == '\0') {
		snprintf(why, whysize, "column %zu has no name", i + 1);
		return -1;
	}
	col->depth = 0;
	for (p = col->segbuf;; p++) {
		if (col->depth == IMPORT_DEPTH_MAX) {
			snprintf(why, whysize,
			    "column '%.60s' nests deeper than %d levels", name,
			    IMPORT_DEPTH_MAX);
			return -1;
		}
		col->seg[col->depth++] = p;
		p = strchr(p, '.');
		if (p == NULL)
			break;
		*p = '\0';
	}
	for (int d = 0; d < col->depth; d++)
		if (col->seg[d][0] == '\0') {
			snprintf(why, whysize,
			    "column '%.60s' has an empty part between dots",
			    name);
			return -1;
		}
	f = import_kind_field(h->kind, col->seg[0]);
	if (f == NULL) {
		snprintf(why, whysize,
		    "column '%.60s' is not a field of %s (safetyctl import -h "
		    "%s lists them)",
		    name, h->kind->name, h->kind->name);
		return -1;
	}
	if (col->depth > 1 && f->type != IMPORT_F_OBJ) {
		snprintf(why, whysize,
		    "column '%.60s': field '%s' is a %s, not an object, so "
		    "it takes no dotted parts",
		    name, f->name, import_ftype_name(f->type));
		return -1;
	}
	/* The parts of a dotted column are text (names, phones, ids). */
	col->type = col->depth > 1 ? IMPORT_F_STR : f->type;
	for (size_t j = 0; j < i; j++)
		if (path_prefix(&h->cols[j], col) ||
		    path_prefix(col, &h->cols[j])) {
			snprintf(why, whysize,
			    "column '%.60s' and column '%.60s' name the same "
			    "field",
			    h->cols[j].name, name);
			return -1;
		}
	return 0;
}

int
import_header_read(struct import_header *h, const struct import_kind *k,
    struct import_cells *c, char *why, size_t whysize)
{
	h->kind = k;
	if (c->too_many) {
		snprintf(
		    why, whysize, "more than %d columns", IMPORT_COLUMNS_MAX);
		return -1;
	}
	for (size_t i = 0; i < c->n; i++) {
		char *name = import_trim(c->buf + c->off[i]);

		h->ncols = i + 1;
		if (!json_utf8_valid(name, strlen(name), NULL)) {
			snprintf(why, whysize,
			    "column %zu: the header is not UTF-8 text", i + 1);
			return -1;
		}
		if (header_column(h, i, name, why, whysize) != 0)
			return -1;
	}
	return 0;
}

void
import_header_free(struct import_header *h)
{
	for (size_t i = 0; i < IMPORT_COLUMNS_MAX; i++) {
		free(h->cols[i].name);
		free(h->cols[i].segbuf);
		h->cols[i].name = h->cols[i].segbuf = NULL;
	}
	h->ncols = 0;
}

/* --- cells into JSON ----------------------------------------------------- */

/* A whole number or a number: strict, no hex, no inf or nan. */
static int
parse_number(const char *s, bool whole, double *out)
{
	const char *p = s;
	char *end;

	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p) && !(*p == '.' && !whole))
		return -1;
	for (; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p) &&
		    (whole || strchr(".eE+-", *p) == NULL))
			return -1;
	errno = 0;
	*out = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE)
		return -1;
	if (whole && (*out > 9007199254740992.0 || *out < -9007199254740992.0))
		return -1;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {
	    "true", "yes", "y", "1", "t", "是", NULL};
	static const char *const no[] = {
	    "false", "no", "n", "0", "f", "否", NULL};

	for (int i = 0; yes[i] != NULL; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
	for (int i = 0; no[i] != NULL; i++)
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	return -1;
}

/* YYYY-MM-DD, YYYY/M/D or YYYY.M.D as "YYYY-MM-DD" in out; the rest of s
 * after the date in *rest. */
static int
parse_date(const char *s, char out[TIMEUTIL_DATE_SIZE], const char **rest)
{
	int y, m, d, n = 0;
	char s1, s2;

	if (sscanf(s, "%4d%c%2d%c%2d%n", &y, &s1, &m, &s2, &d, &n) != 5 ||
	    s1 != s2 || strchr("-/.", s1) == NULL || y < 1 || m < 1 || m > 12 ||
	    d < 1 || d > timeutil_days_in_month(y, m) ||
	    !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[n - 1]))
		return -1;
	snprintf(out, TIMEUTIL_DATE_SIZE, "%04d-%02d-%02d", y, m, d);
	*rest = s + n;
	return 0;
}

/*
 * A time: epoch milliseconds (a number); RFC 3339 with offset (as is); a
 * city-time "YYYY-MM-DD HH:MM[:SS[.fff]]" (the city's +08:00 added); or a
 * date alone (as YYYY-MM-DD, the receiving kind decides).
 */
static cJSON *
convert_time(const char *s)
{
	char date[TIMEUTIL_DATE_SIZE], buf[80];
	const char *rest, *tail;
	int64_t ms;
	double v;
	int hh, mi, n = 0;

	if (parse_number(s, true, &v) == 0)
		return cJSON_CreateNumber(v);
	if (timeutil_parse_rfc3339_n(s, strlen(s), &ms, NULL) == 0)
		return cJSON_CreateString(s);
	if (parse_date(s, date, &rest) != 0)
		return NULL;
	if (*rest == '\0')
		return cJSON_CreateString(date);
	if ((*rest != ' ' && *rest != 'T' && *rest != 't') ||
	    sscanf(rest + 1, "%2d:%2d%n", &hh, &mi, &n) != 2)
		return NULL;
	tail = rest + 1 + n;
	if (*tail == ':')
		snprintf(buf, sizeof(buf), "%sT%02d:%02d%.20s+08:00", date, hh,
		    mi, tail);
	else if (*tail == '\0')
		snprintf(
		    buf, sizeof(buf), "%sT%02d:%02d:00+08:00", date, hh, mi);
	else
		return NULL;
	if (timeutil_parse_rfc3339_n(buf, strlen(buf), &ms, NULL) != 0)
		return NULL;
	return cJSON_CreateString(buf);
}

/* a;b;c as a JSON array of strings (blank parts dropped). */
static cJSON *
convert_list(char *s)
{
	cJSON *arr = cJSON_CreateArray();
	char *part, *save = NULL;

	if (arr == NULL)
		return NULL;
	for (part = strtok_r(s, ";", &save); part != NULL;
	     part = strtok_r(NULL, ";", &save)) {
		part = import_trim(part);
		if (*part == '\0')
			continue;
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(part))) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

/* One non-blank cell as JSON of its type: the item, or NULL with why. */
cJSON *
import_cell_convert(
    const struct import_column *col, char *s, char *why, size_t whysize)
{
	char date[TIMEUTIL_DATE_SIZE];
	struct json_err jerr;
	const char *rest;
	cJSON *item = NULL;
	double v;
	bool b;

	switch (col->type) {
	case IMPORT_F_STR:
		return cJSON_CreateString(s);
	case IMPORT_F_INT:
	case IMPORT_F_NUM:
		if (parse_number(s, col->type == IMPORT_F_INT, &v) == 0)
			return cJSON_CreateNumber(v);
		break;
	case IMPORT_F_BOOL:
		if (parse_bool(s, &b) == 0)
			return cJSON_CreateBool(b);
		break;
	case IMPORT_F_DATE:
		if (parse_date(s, date, &rest) == 0 && *rest == '\0')
			return cJSON_CreateString(date);
		break;
	case IMPORT_F_TIME:
		if ((item = convert_time(s)) != NULL)
			return item;
		snprintf(why, whysize,
		    "column '%s': '%.60s' is not a time (RFC 3339 like "
		    "2026-11-29T08:00:00+08:00, city time 2026-11-29 08:00, or "
		    "epoch milliseconds)",
		    col->name, s);
		return NULL;
	case IMPORT_F_OBJ:
	case IMPORT_F_ARR:
	case IMPORT_F_LIST:
		if (col->type == IMPORT_F_LIST && s[0] != '[')
			return convert_list(s);
		item = json_parse(s, strlen(s), &jerr);
		if (item != NULL &&
		    (col->type == IMPORT_F_OBJ ? cJSON_IsObject(item)
		                               : cJSON_IsArray(item)))
			return item;
		snprintf(why, whysize, "column '%s' must hold a %s, got %.100s",
		    col->name, import_ftype_name(col->type),
		    item != NULL ? json_type_name(item) : jerr.msg);
		cJSON_Delete(item);
		return NULL;
	}
	snprintf(why, whysize, "column '%s': '%.60s' is not a %s", col->name, s,
	    import_ftype_name(col->type));
	return NULL;
}

/* Put item at the column's path in data (objects made on the way). */
static int
put_at_path(cJSON *data, const struct import_column *col, cJSON *item)
{
	cJSON *o = data;

	for (int d = 0; d + 1 < col->depth; d++) {
		cJSON *next = cJSON_GetObjectItemCaseSensitive(o, col->seg[d]);

		if (next == NULL)
			next = cJSON_AddObjectToObject(o, col->seg[d]);
		if (next == NULL || !cJSON_IsObject(next))
			return -1;
		o = next;
	}
	return cJSON_AddItemToObject(o, col->seg[col->depth - 1], item) ? 0
	                                                                : -1;
}

/* The event id: import:<file>:<line>:<12 hex of the hash of the cells>. */
/* --- rows ----------------------------------------------------------------- */

int
import_row_check(const struct import_header *h, struct import_cells *c,
    char *why, size_t whysize)
{
	size_t bad, blank = 0;

	for (size_t i = 0; i < c->n; i++)
		if (*import_trim(c->buf + c->off[i]) == '\0')
			blank++;
	if (blank == c->n && !c->too_many)
		return 0; /* ",,,," that spreadsheets leave below a table */
	if (c->too_many || c->n != h->ncols) {
		snprintf(why, whysize, "%s%zu fields, the header has %zu",
		    c->too_many ? "more than " : "", c->n, h->ncols);
		return -1;
	}
	for (size_t i = 0; i < c->n; i++)
		if (!json_utf8_valid(import_csv_cell(c, i),
		        strlen(import_csv_cell(c, i)), &bad)) {
			snprintf(why, whysize,
			    "column '%s' is not UTF-8 text (byte %zu): save "
			    "the sheet as \"CSV UTF-8\"",
			    h->cols[i].name, bad + 1);
			return -1;
		}
	/* The id hashes the trimmed cells, before any conversion. */
	for (size_t i = 0; i < c->n; i++) {
		char *s = import_trim(c->buf + c->off[i]);

		memmove(c->buf + c->off[i], s, strlen(s) + 1);
	}
	return 1;
}

void
import_row_id(const struct import_header *h, const char *idbase, long line,
    const struct import_cells *c, char *out, size_t size)
{
	uint8_t digest[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN];
	struct sha256_ctx sha;

	sha256_init(&sha);
	sha256_update(&sha, h->kind->name, strlen(h->kind->name) + 1);
	for (size_t i = 0; i < h->ncols; i++) {
		sha256_update(
		    &sha, h->cols[i].name, strlen(h->cols[i].name) + 1);
		sha256_update(&sha, import_csv_cell(c, i),
		    strlen(import_csv_cell(c, i)) + 1);
	}
	sha256_final(&sha, digest);
	sha256_hex(digest, hex);
	snprintf(out, size, "import:%s:%ld:%.12s", idbase, line, hex);
}

cJSON *
import_row_data(const struct import_header *h, struct import_cells *c,
    char *why, size_t whysize)
{
	cJSON *data = cJSON_CreateObject();

	if (data == NULL) {
		why[0] = '\0';
		return NULL;
	}
	for (size_t i = 0; i < c->n; i++) {
		char *s = c->buf + c->off[i];
		cJSON *item;

		if (*s == '\0')
			continue;
		why[0] = '\0';
		item = import_cell_convert(&h->cols[i], s, why, whysize);
		if (item == NULL) {
			cJSON_Delete(data);
			return NULL;
		}
		if (put_at_path(data, &h->cols[i], item) < 0) {
			cJSON_Delete(item);
			cJSON_Delete(data);
			why[0] = '\0';
			return NULL;
		}
	}
	return data;
}

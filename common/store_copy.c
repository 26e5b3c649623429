/*
 * store_copy - rows encoded in COPY text format, and sending them.
 *
 * Bulk writers (ingestd's group commit above all) build a batch of rows in a
 * struct store_copy_buf and hand it to store_copy(), which streams it to the
 * server with store_copy_data() (in store.c, with the rest of the wire
 * exchange).  The buffer belongs to the caller and can be reset and reused
 * batch after batch without freeing.
 *
 * The text format is: fields separated by a tab, rows ended by a newline,
 * NULL written as \N, and inside a value backslash, tab, newline and
 * carriage return written as \\, \t, \n and \r.  Every other byte passes
 * through, so UTF-8 text (Chinese names) arrives intact; the connection's
 * client_encoding is UTF8, and invalid UTF-8 is refused by the server.
 * Numbers are formatted with snprintf, which follows LC_NUMERIC: nothing in
 * Anquan calls setlocale(), so the decimal point stays a point.
 */
#include "store.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_BUF_FIRST 4096

void
store_copy_buf_init(struct store_copy_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
store_copy_buf_reset(struct store_copy_buf *b)
{
	b->len = 0;
	b->rows = 0;
	b->fields = 0;
	b->failed = 0;
}

void
store_copy_buf_free(struct store_copy_buf *b)
{
	free(b->data);
	store_copy_buf_init(b);
}

/* Make room for n more bytes; on failure the buffer is marked failed. */
static int
reserve(struct store_copy_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return -1;
	if (n <= b->cap - b->len)
		return 0;
	cap = b->cap ? b->cap : COPY_BUF_FIRST;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->failed = 1;
			return -1;
		}
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (p == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

/* The separator before a field, when it is not the first of its row. */
static int
begin_field(struct store_copy_buf *b)
{
	if (reserve(b, 1) < 0)
		return -1;
	if (b->fields > 0)
		b->data[b->len++] = '\t';
	b->fields++;
	return 0;
}

static int
append_raw(struct store_copy_buf *b, const char *s, size_t n)
{
	if (reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

int
store_copy_buf_add_strn(struct store_copy_buf *b, const char *s, size_t n)
{
	size_t i;
	char *o;

	if (s == NULL)
		return store_copy_buf_add_null(b);
	/* Escaping at most doubles the length: reserve once, write fast. */
	if (n > (SIZE_MAX - 1) / 2 || begin_field(b) < 0 ||
	    reserve(b, 2 * n) < 0) {
		b->failed = 1;
		return -1;
	}
	o = b->data + b->len;
	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			break;
		case '\t':
			*o++ = '\\';
			*o++ = 't';
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		default:
			*o++ = s[i];
			break;
		}
	}
	b->len = (size_t)(o - b->data);
	return 0;
}

int
store_copy_buf_add_str(struct store_copy_buf *b, const char *s)
{
	if (s == NULL)
		return store_copy_buf_add_null(b);
	return store_copy_buf_add_strn(b, s, strlen(s));
}

int
store_copy_buf_add_null(struct store_copy_buf *b)
{
	if (begin_field(b) < 0)
		return -1;
	return append_raw(b, "\\N", 2);
}

int
store_copy_buf_add_int64(struct store_copy_buf *b, int64_t v)
{
	char num[24];
	int n;

	n = snprintf(num, sizeof(num), "%" PRId64, v);
	if (begin_field(b) < 0)
		return -1;
	return append_raw(b, num, (size_t)n);
}

int
store_copy_buf_add_double(struct store_copy_buf *b, double v)
{
	char num[32];
	int n;

	/* PostgreSQL's float8 input takes these spellings; %g would
	 * write "nan" and "inf", which it also takes, but be explicit. */
	if (isnan(v))
		n = snprintf(num, sizeof(num), "NaN");
	else if (isinf(v))
		n = snprintf(
		    num, sizeof(num), "%s", v > 0 ? "Infinity" : "-Infinity");
	else
		n = snprintf(num, sizeof(num), "%.17g", v);
	if (begin_field(b) < 0)
		return -1;
	return append_raw(b, num, (size_t)n);
}

int
store_copy_buf_add_bool(struct store_copy_buf *b, bool v)
{
	if (begin_field(b) < 0)
		return -1;
	return append_raw(b, v ? "t" : "f", 1);
}

int
store_copy_buf_end_row(struct store_copy_buf *b)
{
	if (b->failed || b->fields == 0)
		return -1;
	if (append_raw(b, "\n", 1) < 0)
		return -1;
	b->rows++;
	b->fields = 0;
	return 0;
}

int64_t
store_copy(struct store *st, const char *copy_sql,
    const struct store_copy_buf *buf, struct store_err *err)
{
	store_err_clear(err);
	if (buf->failed) {
		store_err_set(err, STORE_ERR_SQL, "53200",
		    "out of memory while encoding the COPY rows");
		return -1;
	}
	if (buf->fields != 0) {
		store_err_set(err, STORE_ERR_SQL, "22P04",
		    "the last COPY row was not ended (store_copy_buf_end_row)");
		return -1;
	}
	return store_copy_data(st, copy_sql, buf->data, buf->len, err);
}

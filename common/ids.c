/*
 * ids - identifiers: USCCs, code tables, area codes and source tokens.
 *
 * USCC rules follow GB 32100-2015 and its 2016 amendment: an alphabet of 31
 * characters (the digits and the capitals without I, O, S, V, Z, which are
 * too easily misread), registration authorities 1-9, A, N and Y, and a check
 * character computed with the weights 3^(i-1) mod 31 over positions 1-17.
 * The organization type at position 2 is checked only where the standard's
 * table is short and stable (market regulation, authority 9: 1 enterprise,
 * 2 individual business, 3 farmers' cooperative); other authorities' type
 * tables have been extended by amendments, so for them only "a digit 1-9"
 * is required, which every published table satisfies.  The organization
 * code inside (positions 9-17, GB 11714) is not checked: individual
 * businesses carry bodies that are not organization codes.
 *
 * The CSV reader is a small RFC 4180 parser over a buffer that holds the
 * whole file (code tables are a few KB; anything over 16 MiB is refused).
 */
#include "ids.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define USCC_ALPHABET "0123456789ABCDEFGHJKLMNPQRTUWXY"
#define USCC_RADIX 31
#define CODES_FILE_MAX (16u << 20)

static const int uscc_weights[17] = {
    1,
    3,
    9,
    27,
    19,
    26,
    16,
    17,
    20,
    29,
    25,
    13,
    8,
    24,
    10,
    30,
    28,
};

/* Value of a character in the USCC alphabet, or -1. */
static int
uscc_value(unsigned char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(USCC_ALPHABET, c);
	return p ? (int)(p - USCC_ALPHABET) : -1;
}

static void set_reason(char *why, size_t whysize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_reason(char *why, size_t whysize, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysize == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
}

char
ids_uscc_check_char(const char *first17)
{
	int sum = 0;

	for (int i = 0; i < 17; i++) {
		int v = uscc_value((unsigned char)first17[i]);

		if (v < 0)
			return '\0';
		sum += v * uscc_weights[i];
	}
	return USCC_ALPHABET[(USCC_RADIX - sum % USCC_RADIX) % USCC_RADIX];
}

int
ids_uscc_check_n(const char *s, size_t len, char *why, size_t whysize)
{
	char want;

	if (s == NULL || len == 0) {
		set_reason(why, whysize, "empty code");
		return -1;
	}
	if (len != IDS_USCC_LEN) {
		set_reason(
		    why, whysize, "length %zu, want %d", len, IDS_USCC_LEN);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (uscc_value(c) >= 0)
			continue;
		if (c < 0x21 || c > 0x7e)
			set_reason(why, whysize,
			    "byte 0x%02X not allowed at position %zu", c,
			    i + 1);
		else if (c >= 'a' && c <= 'z' &&
		         uscc_value((unsigned char)(c - 'a' + 'A')) >= 0)
			set_reason(why, whysize,
			    "character '%c' not allowed at position %zu "
			    "(codes are upper case)",
			    c, i + 1);
		else
			set_reason(why, whysize,
			    "character '%c' not allowed at position %zu", c,
			    i + 1);
		return -1;
	}
	if (strchr("123456789ANY", s[0]) == NULL) {
		set_reason(why, whysize,
		    "registration authority '%c' at position 1 is not one of "
		    "1-9, A, N, Y",
		    s[0]);
		return -1;
	}
	if (s[1] < '1' || s[1] > '9') {
		set_reason(why, whysize,
		    "organization type '%c' at position 2 is not a digit 1-9",
		    s[1]);
		return -1;
	}
	if (s[0] == '9' && s[1] > '3') {
		set_reason(why, whysize,
		    "organization type '%c' at position 2 is not 1, 2 or 3 "
		    "for authority 9 (market regulation)",
		    s[1]);
		return -1;
	}
	for (int i = 2; i < 8; i++) {
		if (s[i] < '0' || s[i] > '9') {
			set_reason(why, whysize,
			    "area code at positions 3-8 must be 6 digits, "
			    "found '%c' at position %d",
			    s[i], i + 1);
			return -1;
		}
	}
	want = ids_uscc_check_char(s);
	if (s[17] != want) {
		set_reason(why, whysize,
		    "check character should be '%c', got '%c'", want, s[17]);
		return -1;
	}
	return 0;
}

int
ids_uscc_check(const char *s, char *why, size_t whysize)
{
	return ids_uscc_check_n(s, s ? strlen(s) : 0, why, whysize);
}

int
ids_gb2260_ok(const char *code)
{
	if (code == NULL)
		return 0;
	for (int i = 0; i < 6; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return code[6] == '\0';
}

/* GB 11714 check digit over an 8-character organization code body. */
static char
orgcode_check_char(const char *body8)
{
	static const int weights[8] = {3, 7, 9, 10, 5, 8, 4, 2};
	int sum = 0, c;

	for (int i = 0; i < 8; i++) {
		int v = body8[i] >= 'A' ? body8[i] - 'A' + 10 : body8[i] - '0';

		sum += v * weights[i];
	}
	c = 11 - sum % 11;
	if (c == 10)
		return 'X';
	if (c == 11)
		return '0';
	return (char)('0' + c);
}

int
ids_uscc_generate(uint64_t seed, const char *area, char out[IDS_USCC_SIZE])
{
	/* An affine map modulo 10^8 with a multiplier prime to 10 is a
	 * permutation, so distinct seeds below 10^8 give distinct bodies
	 * that still look scattered rather than counted. */
	const uint64_t modulus = 100000000u;
	const uint64_t mult = 73939133u, add = 27182818u;
	uint64_t body;

	if (!ids_gb2260_ok(area))
		return -1;
	body = ((seed % modulus) * mult + add) % modulus;
	out[0] = '9';
	out[1] = '1';
	memcpy(out + 2, area, 6);
	for (int i = 15; i >= 8; i--) {
		out[i] = (char)('0' + body % 10);
		body /= 10;
	}
	out[16] = orgcode_check_char(out + 8);
	out[17] = ids_uscc_check_char(out);
	out[18] = '\0';
	return 0;
}

/* --- code tables ---------------------------------------------------------- */

static void set_error(struct ids_error *err, const char *file, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
set_error(struct ids_error *err, const char *file, unsigned line,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* Offset of the first byte that breaks UTF-8, or -1 when all is valid.
 * Strict: no overlong forms, no surrogates, nothing above U+10FFFF. */
static long
utf8_invalid_at(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t need;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			return (long)i;
		}
		if (len - i <= need)
			return (long)i;
		/* Only the first continuation byte has the narrowed range. */
		if (s[i + 1] < lo || s[i + 1] > hi)
			return (long)i;
		for (size_t k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return (long)i;
		i += need + 1;
	}
	return -1;
}

struct strbuf {
	char *s;
	size_t len, cap;
};

static int
strbuf_put(struct strbuf *b, char c)
{
	if (b->len + 1 >= b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *s = realloc(b->s, cap);

		if (s == NULL)
			return -1;
		b->s = s;
		b->cap = cap;
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
	return 0;
}

static void
strbuf_reset(struct strbuf *b)
{
	b->len = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
}

/* One record: the first two fields are kept, the others only counted. */
struct csv_record {
	struct strbuf field[2];
	size_t nfields;
	int empty; /* a blank line */
};

struct csv_reader {
	const char *p, *end;
	unsigned line; /* line of the next byte */
};

enum { CSV_EOF = 0, CSV_RECORD = 1, CSV_ERROR = -1 };

/*
 * Read one field into buf (or skip it when buf is NULL).  Sets *at_end
 * when the field ended its record.  On error returns -1 with *why set.
 */
static int
csv_field(
    struct csv_reader *r, struct strbuf *buf, int *at_end, const char **why)
{
	*at_end = 0;
	if (r->p < r->end && *r->p == '"') {
		r->p++;
		for (;;) {
			char c;

			if (r->p == r->end) {
				*why = "quoted field is never closed";
				return -1;
			}
			c = *r->p++;
			if (c == '\0') {
				*why = "NUL byte in a field";
				return -1;
			}
			if (c == '"') {
				if (r->p < r->end && *r->p == '"') {
					r->p++;
				} else {
					break;
				}
			} else if (c == '\n') {
				r->line++;
			}
			if (buf != NULL && strbuf_put(buf, c) < 0) {
				*why = "out of memory";
				return -1;
			}
		}
		if (r->p == r->end) {
			*at_end = 1;
		} else if (*r->p == ',') {
			r->p++;
		} else if (*r->p == '\n') {
			r->p++;
			r->line++;
			*at_end = 1;
		} else if (*r->p == '\r' && r->p + 1 < r->end &&
		           r->p[1] == '\n') {
			r->p += 2;
			r->line++;
			*at_end = 1;
		} else {
			*why = "unexpected character after a closing quote";
			return -1;
		}
		return 0;
	}
	for (;;) {
		char c;

		if (r->p == r->end) {
			*at_end = 1;
			return 0;
		}
		c = *r->p;
		if (c == ',') {
			r->p++;
			return 0;
		}
		if (c == '\n') {
			r->p++;
			r->line++;
			*at_end = 1;
			return 0;
		}
		if (c == '\r') {
			if (r->p + 1 < r->end && r->p[1] == '\n') {
				r->p += 2;
				r->line++;
				*at_end = 1;
				return 0;
			}
			*why = "carriage return not followed by a line feed";
			return -1;
		}
		if (c == '\0') {
			*why = "NUL byte in a field";
			return -1;
		}
		if (c == '"') {
			*why = "quote inside an unquoted field (quote the "
			       "whole field and double the inner quote)";
			return -1;
		}
		if (buf != NULL && strbuf_put(buf, c) < 0) {
			*why = "out of memory";
			return -1;
		}
		r->p++;
	}
}

static int
csv_next(struct csv_reader *r, struct csv_record *rec, const char **why)
{
	int at_end = 0;
	int quoted_first;

	if (r->p == r->end)
		return CSV_EOF;
	strbuf_reset(&rec->field[0]);
	strbuf_reset(&rec->field[1]);
	rec->nfields = 0;
	quoted_first = *r->p == '"';
	while (!at_end) {
		struct strbuf *b =
		    rec->nfields < 2 ? &rec->field[rec->nfields] : NULL;

		if (csv_field(r, b, &at_end, why) < 0)
			return CSV_ERROR;
		rec->nfields++;
	}
	rec->empty =
	    rec->nfields == 1 && rec->field[0].len == 0 && !quoted_first;
	return CSV_RECORD;
}

static int
code_text_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int
name_text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
row_cmp(const void *a, const void *b)
{
	const struct ids_code *x = a, *y = b;
	int c = strcmp(x->code, y->code);

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

void
ids_codes_free(struct ids_codes *table)
{
	if (table == NULL)
		return;
	for (size_t i = 0; i < table->n; i++) {
		free(table->rows[i].code);
		free(table->rows[i].name);
	}
	free(table->rows);
	table->rows = NULL;
	table->n = 0;
}

/* Check one data row and append it to t; -1 with err set when bad. */
static int
add_row(struct ids_codes *t, size_t *cap, const struct csv_record *rec,
    unsigned line, unsigned flags, const char *name, struct ids_error *err)
{
	const char *code = rec->field[0].s ? rec->field[0].s : "";
	const char *label = rec->field[1].s ? rec->field[1].s : "";
	struct ids_code *row;
	long bad;

	if (rec->nfields < 2) {
		set_error(err, name, line,
		    "expected at least 2 fields (code,name), got %zu",
		    rec->nfields);
		return -1;
	}
	if (*code == '\0') {
		set_error(err, name, line, "empty code");
		return -1;
	}
	if (!code_text_ok(code)) {
		set_error(err, name, line,
		    "code '%.40s' has a space, control or non-ASCII character",
		    code);
		return -1;
	}
	if ((flags & IDS_CODES_GB2260) && !ids_gb2260_ok(code)) {
		set_error(err, name, line,
		    "code '%.40s' is not a GB/T 2260 area code (6 digits)",
		    code);
		return -1;
	}
	if (*label == '\0') {
		set_error(err, name, line, "empty name for code '%.40s'", code);
		return -1;
	}
	bad = utf8_invalid_at((const unsigned char *)label, rec->field[1].len);
	if (bad >= 0) {
		set_error(err, name, line,
		    "name of code '%.40s' is not valid UTF-8 (byte %ld)", code,
		    bad + 1);
		return -1;
	}
	if (!name_text_ok(label)) {
		set_error(err, name, line,
		    "name of code '%.40s' has a control character", code);
		return -1;
	}
	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		struct ids_code *rows = realloc(t->rows, ncap * sizeof(*rows));

		if (rows == NULL) {
			set_error(err, name, line, "out of memory");
			return -1;
		}
		t->rows = rows;
		*cap = ncap;
	}
	row = &t->rows[t->n];
	row->code = strdup(code);
	row->name = strdup(label);
	row->line = line;
	if (row->code == NULL || row->name == NULL) {
		free(row->code);
		free(row->name);
		set_error(err, name, line, "out of memory");
		return -1;
	}
	t->n++;
	return 0;
}

int
ids_codes_parse(const char *name, const char *text, size_t len, unsigned flags,
    struct ids_codes *table, struct ids_error *err)
{
	/* cppcheck-suppress pointerOutOfBoundsCond ; text+len is one past the end */
	struct csv_reader r = {text, text + len, 1};
	struct csv_record rec = {0};
	struct ids_codes t = {NULL, 0};
	size_t cap = 0;
	int have_header = 0, rc = -1;
	const char *why = NULL;

	table->rows = NULL;
	table->n = 0;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		r.p += 3;
	for (;;) {
		unsigned line = r.line;
		int got = csv_next(&r, &rec, &why);

		if (got == CSV_ERROR) {
			set_error(err, name, line, "%s", why);
			goto out;
		}
		if (got == CSV_EOF)
			break;
		if (rec.empty)
			continue;
		if (!have_header) {
			if (rec.nfields < 2 || rec.field[0].s == NULL ||
			    rec.field[1].s == NULL ||
			    strcmp(rec.field[0].s, "code") != 0 ||
			    strcmp(rec.field[1].s, "name") != 0) {
				set_error(err, name, line,
				    "header row should begin with code,name");
				goto out;
			}
			have_header = 1;
			continue;
		}
		if (add_row(&t, &cap, &rec, line, flags, name, err) < 0)
			goto out;
	}
	if (!have_header) {
		set_error(err, name, 0, "no header row (want code,name,...)");
		goto out;
	}
	if (t.n > 1)
		qsort(t.rows, t.n, sizeof(t.rows[0]), row_cmp);
	for (size_t i = 1; i < t.n; i++) {
		if (strcmp(t.rows[i - 1].code, t.rows[i].code) == 0) {
			set_error(err, name, t.rows[i].line,
			    "duplicate code '%.40s' (first on line %u)",
			    t.rows[i].code, t.rows[i - 1].line);
			goto out;
		}
	}
	*table = t;
	t.rows = NULL;
	t.n = 0;
	rc = 0;
out:
	ids_codes_free(&t);
	free(rec.field[0].s);
	free(rec.field[1].s);
	return rc;
}

int
ids_codes_load(const char *path, unsigned flags, struct ids_codes *table,
    struct ids_error *err)
{
	FILE *fp;
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc;

	table->rows = NULL;
	table->n = 0;
	fp = fopen(path, "rb");
	if (fp == NULL) {
		set_error(err, path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *grown;

			if (cap >= CODES_FILE_MAX) {
				set_error(err, path, 0,
				    "larger than %u bytes: not a code table",
				    CODES_FILE_MAX);
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			grown = realloc(text, cap);
			if (grown == NULL) {
				set_error(err, path, 0, "out of memory");
				goto fail;
			}
			text = grown;
		}
		got = fread(text + len, 1, cap - len, fp);
		len += got;
		if (got == 0) {
			if (ferror(fp)) {
				set_error(err, path, 0, "read error: %s",
				    strerror(errno));
				goto fail;
			}
			break;
		}
	}
	fclose(fp);
	rc = ids_codes_parse(path, text ? text : "", len, flags, table, err);
	free(text);
	return rc;
fail:
	fclose(fp);
	free(text);
	return -1;
}

const char *
ids_codes_name(const struct ids_codes *table, const char *code)
{
	size_t lo = 0, hi;

	if (table == NULL || code == NULL)
		return NULL;
	hi = table->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(code, table->rows[mid].code);

		if (c == 0)
			return table->rows[mid].name;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* --- tokens --------------------------------------------------------------- */

#define TOKEN_ALPHABET "abcdefghijklmnopqrstuvwxyz234567"
#define TOKEN_RANDOM_BYTES 25 /* 200 bits = 40 base32 characters */

int
ids_token_new(char out[IDS_TOKEN_SIZE])
{
	uint8_t raw[TOKEN_RANDOM_BYTES];
	size_t got = 0, o;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			out[0] = '\0';
			return -1;
		}
		got += (size_t)n;
	}
	memcpy(out, IDS_TOKEN_PREFIX, 3);
	o = 3;
	/* Base32: every 5 bytes make 8 characters of 5 bits each. */
	for (size_t i = 0; i < sizeof(raw); i += 5) {
		uint64_t v = 0;

		for (int k = 0; k < 5; k++)
			v = v << 8 | raw[i + k];
		for (int k = 7; k >= 0; k--)
			out[o++] = TOKEN_ALPHABET[(v >> (5 * k)) & 31];
	}
	out[o] = '\0';
	memset(raw, 0, sizeof(raw));
	return 0;
}

int
ids_token_format_ok(const char *s)
{
	if (s == NULL || strncmp(s, IDS_TOKEN_PREFIX, 3) != 0)
		return 0;
	for (int i = 3; i < IDS_TOKEN_LEN; i++)
		if (s[i] == '\0' || strchr(TOKEN_ALPHABET, s[i]) == NULL)
			return 0;
	return s[IDS_TOKEN_LEN] == '\0';
}

void
ids_token_hash(const char *token, uint8_t out[SHA256_DIGEST_LEN])
{
	sha256(token, strlen(token), out);
}

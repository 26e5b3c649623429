/*
 * json - strict JSON decoding on top of cJSON, UTF-8 checks, and typed
 * getters.
 *
 * json_parse() runs two cheap passes before cJSON sees the bytes: a UTF-8
 * check, then a scan that follows strings and counts nesting.  The scan is
 * where the precise refusals come from (depth, escapes, control characters,
 * number grammar, NaN/Infinity, overflow), each with a byte offset; cJSON
 * then builds the tree and reports plain syntax errors.  cJSON keeps a
 * global "last error" pointer that we never read, so parsing is safe on
 * several threads at once.  The tree belongs to the caller; the getters
 * only read it.  The writer, struct json_out, is in json_out.c.
 */
#include "json_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CJSON_DEPTH_MAX 1000
/* A number whose decimal exponent reaches this may overflow a double. */
#define DOUBLE_EXP10_RISK 308

static void err_set(struct json_err *err, long offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
err_set(struct json_err *err, long offset, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/*
 * Length of the well-formed UTF-8 sequence at p (avail bytes readable), or 0
 * when it is not one.  The ranges are those of RFC 3629 section 4.
 */
size_t
json_utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates U+D800..DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else
		return 0;
	if (avail < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

bool
json_utf8_valid(const char *buf, size_t len, size_t *bad_offset)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			uint64_t w;

			/* ASCII runs, the usual case, eight bytes at once. */
			while (i + 8 <= len) {
				memcpy(&w, p + i, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
				i += 8;
			}
			while (i < len && p[i] < 0x80)
				i++;
			continue;
		}
		n = json_utf8_seq_len(p + i, len - i);
		if (n == 0) {
			if (bad_offset != NULL)
				*bad_offset = i;
			return false;
		}
		i += n;
	}
	return true;
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The 4 hex digits of a \u escape at s[i], or -1. */
static long
hex4(const unsigned char *s, size_t len, size_t i)
{
	long v = 0;

	if (i + 4 > len)
		return -1;
	for (size_t k = 0; k < 4; k++) {
		int h = hex_value(s[i + k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static bool
word_is(const unsigned char *w, size_t n, const char *lit)
{
	return n == strlen(lit) && strncasecmp((const char *)w, lit, n) == 0;
}

static bool
word_is_nonfinite(const unsigned char *w, size_t n)
{
	return word_is(w, n, "nan") || word_is(w, n, "infinity") ||
	       word_is(w, n, "inf");
}

static size_t
word_end(const unsigned char *s, size_t len, size_t i)
{
	while (i < len && is_alpha(s[i]))
		i++;
	return i;
}

/* A string starting at s[*pos] (the quote); leaves *pos after it. */
static int
scan_string(const unsigned char *s, size_t len, size_t *pos, long base,
    struct json_err *err)
{
	size_t start = *pos, i = *pos + 1;
	long cp, lo;

	while (i < len) {
		unsigned char c = s[i];
		if (c == '"') {
			*pos = i + 1;
			return 0;
		}
		if (c < 0x20) {
			err_set(err, base + (long)i,
			    "control character 0x%02X inside a string at byte "
			    "%ld (escape it)",
			    c, base + (long)i);
			return -1;
		}
		if (c != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= len)
			break;
		switch (s[i + 1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			i += 2;
			continue;
		case 'u':
			break;
		default:
			err_set(err, base + (long)i,
			    "invalid escape in string at byte %ld",
			    base + (long)i);
			return -1;
		}
		cp = hex4(s, len, i + 2);
		if (cp < 0) {
			err_set(err, base + (long)i,
			    "invalid \\u escape at byte %ld (needs 4 hex "
			    "digits)",
			    base + (long)i);
			return -1;
		}
		if (cp == 0) {
			err_set(err, base + (long)i,
			    "\\u0000 (NUL) is not allowed in strings (byte "
			    "%ld)",
			    base + (long)i);
			return -1;
		}
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			err_set(err, base + (long)i,
			    "unpaired surrogate \\u%04lX at byte %ld", cp,
			    base + (long)i);
			return -1;
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			lo = -1;
			if (i + 7 < len && s[i + 6] == '\\' && s[i + 7] == 'u')
				lo = hex4(s, len, i + 8);
			if (lo < 0xdc00 || lo > 0xdfff) {
				err_set(err, base + (long)i,
				    "unpaired surrogate \\u%04lX at byte %ld",
				    cp, base + (long)i);
				return -1;
			}
			i += 12;
			continue;
		}
		i += 6;
	}
	err_set(err, base + (long)start,
	    "unterminated string starting at byte %ld", base + (long)start);
	return -1;
}

/*
 * A number starting at s[*pos], checked against the JSON grammar, the
 * length cJSON can read, and overflow to infinity.
 */
static int
scan_number(const unsigned char *s, size_t len, size_t *pos, long base,
    struct json_err *err)
{
	size_t start = *pos, i = *pos, int_digits = 0, frac_zeros = 0;
	bool int_zero = false, frac_nonzero = false, exp_neg = false;
	long exp = 0, mag;
	char tmp[JSON_NUMBER_MAX + 1];

	if (s[i] == '-')
		i++;
	if (i < len && is_alpha(s[i]) &&
	    word_is_nonfinite(s + i, word_end(s, len, i) - i)) {
		err_set(err, base + (long)start,
		    "NaN and Infinity are not valid JSON numbers (byte %ld)",
		    base + (long)start);
		return -1;
	}
	if (i >= len || !is_digit(s[i]))
		goto bad;
	if (s[i] == '0') {
		int_zero = true;
		i++;
		if (i < len && is_digit(s[i])) {
			err_set(err, base + (long)start,
			    "malformed number at byte %ld: leading zeros are "
			    "not allowed",
			    base + (long)start);
			return -1;
		}
	} else {
		while (i < len && is_digit(s[i])) {
			int_digits++;
			i++;
		}
	}
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || !is_digit(s[i]))
			goto bad;
		while (i < len && is_digit(s[i])) {
			if (s[i] != '0')
				frac_nonzero = true;
			else if (!frac_nonzero)
				frac_zeros++;
			i++;
		}
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			exp_neg = s[i++] == '-';
		if (i >= len || !is_digit(s[i]))
			goto bad;
		while (i < len && is_digit(s[i])) {
			if (exp < 100000)
				exp = exp * 10 + (s[i] - '0');
			i++;
		}
	}
	if (i - start > JSON_NUMBER_MAX) {
		err_set(err, base + (long)start,
		    "number at byte %ld is longer than %d characters",
		    base + (long)start, JSON_NUMBER_MAX);
		return -1;
	}
	*pos = i;
	if (exp_neg)
		exp = -exp;
	if (!int_zero)
		mag = (long)int_digits - 1 + exp;
	else if (frac_nonzero)
		mag = -(long)frac_zeros - 1 + exp;
	else
		return 0; /* zero, whatever its exponent */
	if (mag < DOUBLE_EXP10_RISK)
		return 0;
	memcpy(tmp, s + start, i - start);
	tmp[i - start] = '\0';
	if (isinf(strtod(tmp, NULL))) {
		err_set(err, base + (long)start,
		    "number at byte %ld is out of range (overflows a double)",
		    base + (long)start);
		return -1;
	}
	return 0;
bad:
	err_set(err, base + (long)start, "malformed number at byte %ld",
	    base + (long)start);
	return -1;
}

/*
 * A bare word: the three literals pass, NaN/Infinity get their own reason,
 * anything else is left for cJSON (or the trailing-data check) to refuse.
 */
static int
scan_word(const unsigned char *s, size_t len, size_t *pos, long base,
    struct json_err *err)
{
	size_t start = *pos, end = word_end(s, len, *pos);

	*pos = end;
	if (word_is_nonfinite(s + start, end - start)) {
		err_set(err, base + (long)start,
		    "NaN and Infinity are not valid JSON numbers (byte %ld)",
		    base + (long)start);
		return -1;
	}
	return 0;
}

/*
 * Walk the text once, following strings, so that nesting is counted only
 * on real brackets.  Anything the scan does not recognise is left for cJSON
 * to refuse.
 */
static int
prescan(const unsigned char *s, size_t len, int max_depth, long base,
    int *open_out, struct json_err *err)
{
	size_t i = 0;
	int depth = 0;

	while (i < len) {
		unsigned char c = s[i];
		int r = 0;

		if (c == '"')
			r = scan_string(s, len, &i, base, err);
		else if (c == '-' || is_digit(c))
			r = scan_number(s, len, &i, base, err);
		else if (is_alpha(c))
			r = scan_word(s, len, &i, base, err);
		else {
			if (c == '{' || c == '[') {
				if (++depth > max_depth) {
					err_set(err, base + (long)i,
					    "nesting deeper than %d levels at "
					    "byte %ld",
					    max_depth, base + (long)i);
					return -1;
				}
			} else if ((c == '}' || c == ']') && depth > 0)
				depth--;
			i++;
		}
		if (r < 0)
			return -1;
	}
	*open_out = depth;
	return 0;
}

static bool
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Describe the byte at an error position for a person. */
static void
describe_byte(
    const unsigned char *s, size_t len, size_t at, char *out, size_t size)
{
	size_t n;

	if (at >= len)
		snprintf(out, size, "end of input");
	else if (is_alpha(s[at])) {
		n = word_end(s, len, at) - at;
		snprintf(out, size, "'%.*s'", (int)(n > 20 ? 20 : n),
		    (const char *)s + at);
	} else if (s[at] >= 0x21 && s[at] <= 0x7e)
		snprintf(out, size, "'%c'", s[at]);
	else
		snprintf(out, size, "byte 0x%02X", s[at]);
}

cJSON *
json_parse_depth(
    const char *buf, size_t len, int max_depth, struct json_err *err)
{
	const unsigned char *s = (const unsigned char *)buf;
	const char *end = NULL;
	size_t skip = 0, bad, at;
	int open = 0;
	char what[32];
	cJSON *root;

	if (max_depth < 1)
		max_depth = 1;
	if (max_depth > CJSON_DEPTH_MAX)
		max_depth = CJSON_DEPTH_MAX;
	if (err != NULL) {
		err->msg[0] = '\0';
		err->offset = -1;
	}
	if (buf == NULL)
		len = 0;
	if (!json_utf8_valid(buf, len, &bad)) {
		err_set(err, (long)bad, "invalid UTF-8 at byte %zu", bad);
		return NULL;
	}
	/* A byte order mark means nothing in UTF-8; some tools add one. */
	if (len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		skip = 3;
	at = skip;
	while (at < len && is_ws(s[at]))
		at++;
	if (at == len) {
		err_set(err, 0, "empty body: expected a JSON value");
		return NULL;
	}
	if (prescan(s + skip, len - skip, max_depth, (long)skip, &open, err) <
	    0)
		return NULL;
	root = cJSON_ParseWithLengthOpts(buf + skip, len - skip, &end, 0);
	if (root == NULL) {
		at = end != NULL ? (size_t)(end - buf) : len;
		/*
		 * cJSON puts an error at the end of input on the last byte;
		 * brackets left open say the text was cut short.
		 */
		if (open > 0 && at + 1 >= len) {
			err_set(err, (long)len,
			    "JSON syntax error at byte %zu: unexpected end of "
			    "input (%d bracket%s left open)",
			    len, open, open == 1 ? "" : "s");
			return NULL;
		}
		describe_byte(s, len, at, what, sizeof(what));
		err_set(err, (long)at,
		    "JSON syntax error at byte %zu: unexpected %s", at, what);
		return NULL;
	}
	at = end != NULL ? (size_t)(end - buf) : len;
	while (at < len && is_ws(s[at]))
		at++;
	if (at < len) {
		describe_byte(s, len, at, what, sizeof(what));
		err_set(err, (long)at,
		    "unexpected data after the JSON value at byte %zu (%s)", at,
		    what);
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

cJSON *
json_parse(const char *buf, size_t len, struct json_err *err)
{
	return json_parse_depth(buf, len, JSON_DEPTH_DEFAULT, err);
}

const char *
json_type_name(const cJSON *item)
{
	if (item == NULL)
		return "nothing";
	if (cJSON_IsString(item))
		return "string";
	if (cJSON_IsNumber(item))
		return "number";
	if (cJSON_IsBool(item))
		return "boolean";
	if (cJSON_IsNull(item))
		return "null";
	if (cJSON_IsObject(item))
		return "object";
	if (cJSON_IsArray(item))
		return "array";
	return "unknown";
}

/*
 * Find key in obj: 1 found (in *item), 0 absent and optional, -1 error.
 * An explicit null counts as absent, so optional fields may be sent as null.
 */
static int
field(const cJSON *obj, const char *key, bool required, const cJSON **item,
    struct json_err *err)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj)) {
		err_set(err, -1, "expected a JSON object, got %s",
		    json_type_name(obj));
		return -1;
	}
	it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (it == NULL || cJSON_IsNull(it)) {
		if (!required)
			return 0;
		err_set(err, -1, "field '%s' is required%s", key,
		    it == NULL ? "" : ", got null");
		return -1;
	}
	*item = it;
	return 1;
}

static int
wrong_type(
    const char *key, const char *want, const cJSON *it, struct json_err *err)
{
	err_set(err, -1, "field '%s' must be %s, got %s", key, want,
	    json_type_name(it));
	return -1;
}

int
json_get_str(const cJSON *obj, const char *key, const char **out, bool required,
    struct json_err *err)
{
	const cJSON *it = NULL;
	int r = field(obj, key, required, &it, err);

	if (r <= 0)
		return r;
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return wrong_type(key, "a string", it, err);
	*out = it->valuestring;
	return 1;
}

int
json_get_int64(const cJSON *obj, const char *key, int64_t *out, bool required,
    struct json_err *err)
{
	const cJSON *it = NULL;
	int r = field(obj, key, required, &it, err);
	double v;

	if (r <= 0)
		return r;
	if (!cJSON_IsNumber(it))
		return wrong_type(key, "an integer", it, err);
	v = it->valuedouble;
	if (v != floor(v)) {
		char num[40];

		json_fmt_shortest(num, sizeof(num), v);
		err_set(
		    err, -1, "field '%s' must be an integer, got %s", key, num);
		return -1;
	}
	if (v > (double)JSON_INT_EXACT_MAX || v < -(double)JSON_INT_EXACT_MAX) {
		err_set(err, -1,
		    "field '%s' must be an integer between -%lld and %lld", key,
		    JSON_INT_EXACT_MAX, JSON_INT_EXACT_MAX);
		return -1;
	}
	*out = (int64_t)v;
	return 1;
}

int
json_get_double(const cJSON *obj, const char *key, double *out, bool required,
    struct json_err *err)
{
	const cJSON *it = NULL;
	int r = field(obj, key, required, &it, err);

	if (r <= 0)
		return r;
	if (!cJSON_IsNumber(it))
		return wrong_type(key, "a number", it, err);
	if (!isfinite(it->valuedouble)) {
		err_set(err, -1, "field '%s' must be a finite number", key);
		return -1;
	}
	*out = it->valuedouble;
	return 1;
}

int
json_get_bool(const cJSON *obj, const char *key, bool *out, bool required,
    struct json_err *err)
{
	const cJSON *it = NULL;
	int r = field(obj, key, required, &it, err);

	if (r <= 0)
		return r;
	if (!cJSON_IsBool(it))
		return wrong_type(key, "true or false", it, err);
	*out = cJSON_IsTrue(it);
	return 1;
}

int
json_get_obj(const cJSON *obj, const char *key, const cJSON **out,
    bool required, struct json_err *err)
{
	const cJSON *it = NULL;
	int r = field(obj, key, required, &it, err);

	if (r <= 0)
		return r;
	if (!cJSON_IsObject(it))
		return wrong_type(key, "an object", it, err);
	*out = it;
	return 1;
}

int
json_get_arr(const cJSON *obj, const char *key, const cJSON **out,
    bool required, struct json_err *err)
{
	const cJSON *it = NULL;
	int r = field(obj, key, required, &it, err);

	if (r <= 0)
		return r;
	if (!cJSON_IsArray(it))
		return wrong_type(key, "an array", it, err);
	*out = it;
	return 1;
}

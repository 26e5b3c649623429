/*
 * json_out - the JSON writer: a growable buffer that places the commas and
 * escapes every string.
 *
 * Every answer a daemon sends (http_reply_json(), http_reply_error(), the
 * services' handlers) is written with it, so none is built with printf of
 * unescaped text.  The caller owns the struct json_out, usually on its
 * stack, and releases its buffer with json_out_free().  The writer keeps
 * one bit per nesting level for "this level already has a member", which
 * is all it needs to place commas.  Nesting wrongly is a bug and asserts;
 * running out of memory sets a flag and later writes are ignored, so a
 * handler checks once, at the end.  Strings that are not UTF-8 get U+FFFD
 * in place of the bad bytes (json.c says where a sequence ends), and
 * doubles take the shortest form that reads back the same.
 */
#include "json_internal.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Numbers are written in this form; json.c quotes it in reasons. */
int
json_fmt_shortest(char *buf, size_t size, double v)
{
	int n = 0;

	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return n;
}

void
json_out_init(struct json_out *w)
{
	memset(w, 0, sizeof(*w));
}

void
json_out_free(struct json_out *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void
json_out_reset(struct json_out *w)
{
	char *buf = w->buf;
	size_t cap = w->cap;

	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	if (buf != NULL)
		buf[0] = '\0';
}

/* Room for n more bytes plus the terminating NUL. */
static bool
reserve(struct json_out *w, size_t n)
{
	size_t cap;
	char *nb;

	if (w->failed)
		return false;
	if (w->len + n + 1 <= w->cap)
		return true;
	cap = w->cap != 0 ? w->cap : 256;
	while (cap < w->len + n + 1) {
		if (cap > SIZE_MAX / 2) {
			w->failed = true;
			return false;
		}
		cap *= 2;
	}
	nb = realloc(w->buf, cap);
	if (nb == NULL) {
		w->failed = true;
		return false;
	}
	w->buf = nb;
	w->cap = cap;
	return true;
}

static void
append(struct json_out *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void
append_char(struct json_out *w, char c)
{
	append(w, &c, 1);
}

static uint64_t
level_bit(int depth)
{
	return (uint64_t)1 << (depth - 1);
}

/* Commas and the key/value discipline, before any value. */
static void
before_value(struct json_out *w)
{
	if (w->depth == 0)
		return;
	if (w->is_object & level_bit(w->depth)) {
		assert(
		    w->want_value && "json_out: value in object without key");
		w->want_value = false;
		return;
	}
	if (w->has_member & level_bit(w->depth))
		append_char(w, ',');
	w->has_member |= level_bit(w->depth);
}

static void
open_level(struct json_out *w, bool object)
{
	before_value(w);
	assert(w->depth < JSON_OUT_DEPTH_MAX && "json_out: nested too deep");
	w->depth++;
	w->has_member &= ~level_bit(w->depth);
	if (object)
		w->is_object |= level_bit(w->depth);
	else
		w->is_object &= ~level_bit(w->depth);
	append_char(w, object ? '{' : '[');
}

static void
close_level(struct json_out *w, bool object)
{
	assert(w->depth > 0 && "json_out: close without open");
	assert(((w->is_object & level_bit(w->depth)) != 0) == object &&
	       "json_out: close does not match open");
	assert(!w->want_value && "json_out: key without value");
	w->depth--;
	append_char(w, object ? '}' : ']');
}

void
json_out_obj_open(struct json_out *w)
{
	open_level(w, true);
}

void
json_out_obj_close(struct json_out *w)
{
	close_level(w, true);
}

void
json_out_arr_open(struct json_out *w)
{
	open_level(w, false);
}

void
json_out_arr_close(struct json_out *w)
{
	close_level(w, false);
}

static void
write_string(struct json_out *w, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, seq;
	char esc[6];

	append_char(w, '"');
	while (i < n) {
		unsigned char c = s[i];

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			seq = json_utf8_seq_len(s + i, n - i);
			if (seq != 0) {
				i += seq;
				continue;
			}
		}
		append(w, (const char *)s + run, i - run);
		if (c >= 0x80) {
			append(w, "\xef\xbf\xbd", 3); /* U+FFFD */
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			append(w, esc, 2);
		} else if (c == '\n') {
			append(w, "\\n", 2);
		} else if (c == '\r') {
			append(w, "\\r", 2);
		} else if (c == '\t') {
			append(w, "\\t", 2);
		} else if (c == '\b') {
			append(w, "\\b", 2);
		} else if (c == '\f') {
			append(w, "\\f", 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			append(w, esc, 6);
		}
		i++;
		run = i;
	}
	append(w, (const char *)s + run, i - run);
	append_char(w, '"');
}

void
json_out_key(struct json_out *w, const char *key)
{
	assert(w->depth > 0 && (w->is_object & level_bit(w->depth)) &&
	       "json_out: key outside an object");
	assert(!w->want_value && "json_out: two keys in a row");
	if (w->has_member & level_bit(w->depth))
		append_char(w, ',');
	w->has_member |= level_bit(w->depth);
	write_string(w, key, strlen(key));
	append_char(w, ':');
	w->want_value = true;
}

void
json_out_strn(struct json_out *w, const char *s, size_t n)
{
	before_value(w);
	write_string(w, s, n);
}

void
json_out_str(struct json_out *w, const char *s)
{
	if (s == NULL) {
		json_out_null(w);
		return;
	}
	json_out_strn(w, s, strlen(s));
}

void
json_out_int(struct json_out *w, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);

	before_value(w);
	append(w, tmp, (size_t)n);
}

void
json_out_double(struct json_out *w, double v)
{
	char tmp[40];
	int n;

	if (!isfinite(v)) {
		json_out_null(w);
		return;
	}
	n = json_fmt_shortest(tmp, sizeof(tmp), v);
	before_value(w);
	append(w, tmp, (size_t)n);
}

void
json_out_bool(struct json_out *w, bool v)
{
	before_value(w);
	if (v)
		append(w, "true", 4);
	else
		append(w, "false", 5);
}

void
json_out_null(struct json_out *w)
{
	before_value(w);
	append(w, "null", 4);
}

void
json_out_raw(struct json_out *w, const char *json, size_t n)
{
	before_value(w);
	append(w, json, n);
}

void
json_out_kv_str(struct json_out *w, const char *key, const char *s)
{
	json_out_key(w, key);
	json_out_str(w, s);
}

void
json_out_kv_int(struct json_out *w, const char *key, int64_t v)
{
	json_out_key(w, key);
	json_out_int(w, v);
}

void
json_out_kv_double(struct json_out *w, const char *key, double v)
{
	json_out_key(w, key);
	json_out_double(w, v);
}

void
json_out_kv_bool(struct json_out *w, const char *key, bool v)
{
	json_out_key(w, key);
	json_out_bool(w, v);
}

const char *
json_out_data(const struct json_out *w)
{
	if (w->failed || w->buf == NULL)
		return "";
	return w->buf;
}

size_t
json_out_len(const struct json_out *w)
{
	return w->failed ? 0 : w->len;
}

bool
json_out_failed(const struct json_out *w)
{
	return w->failed;
}

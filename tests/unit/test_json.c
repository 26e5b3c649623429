/*
 * test_json - unit tests for common/json: UTF-8 checking, json_parse()
 * refusals and their offsets, the typed getters' messages, and the writer.
 *
 * Inputs are copied into buffers of exactly their length (no NUL after
 * them) so that the sanitizer build catches any read past the end.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

/* Parse s from an exact-size heap copy; returns the tree or NULL. */
static cJSON *
parse_exact(const char *s, size_t len, int depth, struct json_err *err)
{
	char *copy = malloc(len != 0 ? len : 1);
	cJSON *root;

	assert_non_null(copy);
	memcpy(copy, s, len);
	root = json_parse_depth(copy, len, depth, err);
	free(copy);
	return root;
}

static cJSON *
parse_str(const char *s, struct json_err *err)
{
	return parse_exact(s, strlen(s), JSON_DEPTH_DEFAULT, err);
}

/* Expect s refused with a message containing want at offset at. */
static void
expect_refused(const char *s, size_t len, const char *want, long at)
{
	struct json_err err;
	cJSON *root = parse_exact(s, len, JSON_DEPTH_DEFAULT, &err);

	if (root != NULL) {
		cJSON_Delete(root);
		fail_msg("accepted: %.*s", (int)len, s);
	}
	if (strstr(err.msg, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	assert_int_equal(err.offset, at);
}

static void
test_utf8_valid(void **state)
{
	size_t off = 99;

	(void)state;
	assert_true(json_utf8_valid("plain ascii", 11, NULL));
	assert_true(json_utf8_valid("\xe5\xae\x89\xe5\x85\xa8", 6, &off));
	assert_true(json_utf8_valid("\xf0\x9f\x98\x80", 4, &off)); /* U+1F600 */
	assert_true(
	    json_utf8_valid("\xf4\x8f\xbf\xbf", 4, &off)); /* U+10FFFF */
	assert_true(json_utf8_valid("", 0, &off));
	assert_int_equal(off, 99);

	assert_false(json_utf8_valid("ab\xc0\x80", 4, &off)); /* overlong NUL */
	assert_int_equal(off, 2);
	assert_false(json_utf8_valid("\xc1\xbf", 2, &off));
	assert_int_equal(off, 0);
	assert_false(
	    json_utf8_valid("x\xe0\x80\xaf", 4, &off)); /* overlong / */
	assert_int_equal(off, 1);
	assert_false(json_utf8_valid("\xf0\x80\x80\xaf", 4, &off));
	assert_int_equal(off, 0);
	assert_false(json_utf8_valid("ok\xed\xa0\x80", 5, &off)); /* U+D800 */
	assert_int_equal(off, 2);
	assert_false(json_utf8_valid("\xed\xbf\xbf", 3, &off)); /* U+DFFF */
	assert_false(
	    json_utf8_valid("\xf4\x90\x80\x80", 4, &off)); /* >10FFFF */
	assert_false(json_utf8_valid("\xf5\x80\x80\x80", 4, &off));
	assert_false(json_utf8_valid("abc\x80", 4, &off)); /* stray */
	assert_int_equal(off, 3);
	assert_false(json_utf8_valid("\xe5\xae", 2, &off)); /* truncated */
	assert_int_equal(off, 0);
	assert_false(json_utf8_valid("\xe5\x41\x89", 3, &off));
	assert_false(json_utf8_valid("\xff", 1, &off));
}

static void
test_parse_ok(void **state)
{
	struct json_err err;
	cJSON *root;
	const char *doc = " {\"readings\":[{\"point\":\"P-1\",\"value\":12.5,"
	                  "\"quality\":\"good\",\"ok\":true,\"n\":null}]}\n";

	(void)state;
	root = parse_str(doc, &err);
	assert_non_null(root);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(root, "readings")));
	cJSON_Delete(root);

	/* Scalars at the top level are JSON too. */
	root = parse_str("42", &err);
	assert_non_null(root);
	assert_true(cJSON_IsNumber(root));
	cJSON_Delete(root);

	/* A byte order mark is skipped. */
	root = parse_str("\xef\xbb\xbf{\"a\":1}", &err);
	assert_non_null(root);
	cJSON_Delete(root);

	/* Numbers near the edges that still fit. */
	root = parse_str("[1e308,-1.7976931348623157e308,0e999999,1e-400,"
	                 "0.0000001e-5,-0,9007199254740991]",
	    &err);
	assert_non_null(root);
	cJSON_Delete(root);

	/* Escapes and a surrogate pair decode. */
	root = parse_str(
	    "[\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"]", &err);
	assert_non_null(root);
	assert_string_equal(cJSON_GetArrayItem(root, 0)->valuestring,
	    "a\"b\\c/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
	cJSON_Delete(root);
}

static void
test_parse_refusals(void **state)
{
	(void)state;
	expect_refused("", 0, "empty body", 0);
	expect_refused(" \n\t ", 4, "empty body", 0);
	expect_refused("{\"p\":\"\xe5\xae\"}", 9, "invalid UTF-8 at byte 6", 6);
	expect_refused(
	    "{\"a\":1} x", 9, "unexpected data after the JSON value", 8);
	expect_refused("{\"a\":1}\0", 8, "unexpected data after", 7);
	expect_refused("[1,2][3]", 8, "unexpected data after", 5);
	expect_refused("NaN", 3, "NaN and Infinity", 0);
	expect_refused("[1, nan]", 8, "NaN and Infinity", 4);
	expect_refused("{\"v\":Infinity}", 14, "NaN and Infinity", 5);
	expect_refused("{\"v\":-Infinity}", 15, "NaN and Infinity", 5);
	expect_refused("[-inf]", 6, "NaN and Infinity", 1);
	expect_refused("{\"v\":1e309}", 11, "out of range", 5);
	expect_refused("[-1e400]", 8, "out of range", 1);
	expect_refused("[123456789e301]", 15, "out of range", 1);
	expect_refused("[01]", 4, "leading zeros", 1);
	expect_refused("[1.]", 4, "malformed number", 1);
	expect_refused("[.5]", 4, "JSON syntax error at byte 1", 1);
	expect_refused("[1e]", 4, "malformed number", 1);
	expect_refused("[-]", 3, "malformed number", 1);
	expect_refused(
	    "[+1]", 4, "JSON syntax error at byte 1: unexpected '+'", 1);
	expect_refused("[0.1000000000000000000000000000000000000000000000000"
	               "0000000000001]",
	    66, "longer than 63", 1);
	expect_refused("[\"a\tb\"]", 7, "control character 0x09", 3);
	expect_refused("[\"a\\u0000\"]", 11, "\\u0000 (NUL)", 3);
	expect_refused("[\"\\ud800\"]", 10, "unpaired surrogate \\uD800", 2);
	expect_refused("[\"\\udc00\"]", 10, "unpaired surrogate \\uDC00", 2);
	expect_refused("[\"\\ud800\\u0041\"]", 16, "unpaired surrogate", 2);
	expect_refused("[\"\\x41\"]", 8, "invalid escape", 2);
	expect_refused("[\"\\u12G4\"]", 10, "invalid \\u escape", 2);
	expect_refused(
	    "[\"abc", 5, "unterminated string starting at byte 1", 1);
	expect_refused(
	    "{\"a\":}", 6, "JSON syntax error at byte 5: unexpected '}'", 5);
	expect_refused("{\"a\" 1}", 7, "JSON syntax error", 5);
	expect_refused(
	    "[1,2", 4, "unexpected end of input (1 bracket left open)", 4);
	expect_refused("{\"a\":[{\"b\":", 11, "(3 brackets left open)", 11);
	expect_refused(
	    "[True]", 6, "JSON syntax error at byte 1: unexpected 'True'", 1);
	expect_refused("{\"a\":1}truex", 12,
	    "after the JSON value at byte 7 ('truex')", 7);
	expect_refused("\xef\xbb\xbf", 3, "empty body", 0);
}

/* Nesting: just under, at and over the limit; brackets in strings ignored. */
static void
test_parse_depth(void **state)
{
	char buf[200];
	struct json_err err;
	cJSON *root;
	size_t n;

	(void)state;
	for (int depth = 31; depth <= 33; depth++) {
		n = 0;
		for (int i = 0; i < depth; i++)
			buf[n++] = '[';
		for (int i = 0; i < depth; i++)
			buf[n++] = ']';
		root = parse_exact(buf, n, JSON_DEPTH_DEFAULT, &err);
		if (depth <= JSON_DEPTH_DEFAULT) {
			assert_non_null(root);
			cJSON_Delete(root);
		} else {
			assert_null(root);
			assert_non_null(
			    strstr(err.msg, "nesting deeper than 32"));
			assert_int_equal(err.offset, 32);
		}
	}
	root = parse_str(
	    "{\"s\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", &err);
	assert_non_null(root);
	cJSON_Delete(root);
	/* A quote escaped inside a string does not end it. */
	root = parse_exact("[\"\\\"[[[\"]", 9, 2, &err);
	assert_non_null(root);
	cJSON_Delete(root);
	/* Another limit. */
	assert_null(parse_exact("[[[1]]]", 7, 2, &err));
	assert_int_equal(err.offset, 2);
	/* Far deeper than cJSON's own limit: refused early, no recursion. */
	{
		size_t big = 100000;
		char *deep = malloc(big);

		assert_non_null(deep);
		memset(deep, '[', big);
		root = json_parse(deep, big, &err);
		assert_null(root);
		assert_int_equal(err.offset, 32);
		free(deep);
	}
}

static void
test_getters(void **state)
{
	struct json_err err;
	const char *s = NULL;
	int64_t i = 0;
	double d = 0;
	bool b = false;
	const cJSON *o = NULL;
	cJSON *root = parse_str(
	    "{\"point\":\"P-1\",\"value\":\"12\",\"ts\":1764374400000,"
	    "\"frac\":12.5,\"big\":9007199254740992,\"neg\":-3,\"ok\":false,"
	    "\"data\":{\"k\":1},\"list\":[1],\"gone\":null}",
	    &err);

	(void)state;
	assert_non_null(root);
	assert_int_equal(json_get_str(root, "point", &s, true, &err), 1);
	assert_string_equal(s, "P-1");
	assert_int_equal(json_get_double(root, "value", &d, true, &err), -1);
	assert_string_equal(
	    err.msg, "field 'value' must be a number, got string");
	assert_int_equal(err.offset, -1);
	assert_int_equal(json_get_str(root, "missing", &s, true, &err), -1);
	assert_string_equal(err.msg, "field 'missing' is required");
	assert_int_equal(json_get_str(root, "missing", &s, false, &err), 0);
	assert_int_equal(json_get_str(root, "gone", &s, false, &err), 0);
	assert_int_equal(json_get_str(root, "gone", &s, true, &err), -1);
	assert_string_equal(err.msg, "field 'gone' is required, got null");
	assert_int_equal(json_get_str(root, "ts", &s, true, &err), -1);
	assert_string_equal(err.msg, "field 'ts' must be a string, got number");

	assert_int_equal(json_get_int64(root, "ts", &i, true, &err), 1);
	assert_true(i == INT64_C(1764374400000));
	assert_int_equal(json_get_int64(root, "neg", &i, true, &err), 1);
	assert_true(i == -3);
	assert_int_equal(json_get_int64(root, "frac", &i, true, &err), -1);
	assert_string_equal(
	    err.msg, "field 'frac' must be an integer, got 12.5");
	assert_int_equal(json_get_int64(root, "big", &i, true, &err), -1);
	assert_non_null(strstr(err.msg, "between -9007199254740991 and"));
	assert_int_equal(json_get_int64(root, "point", &i, true, &err), -1);
	assert_string_equal(
	    err.msg, "field 'point' must be an integer, got string");

	assert_int_equal(json_get_double(root, "frac", &d, true, &err), 1);
	assert_true(d == 12.5);
	assert_int_equal(json_get_bool(root, "ok", &b, true, &err), 1);
	assert_false(b);
	assert_int_equal(json_get_bool(root, "neg", &b, true, &err), -1);
	assert_string_equal(
	    err.msg, "field 'neg' must be true or false, got number");
	assert_int_equal(json_get_obj(root, "data", &o, true, &err), 1);
	assert_true(cJSON_IsObject(o));
	assert_int_equal(json_get_obj(root, "list", &o, true, &err), -1);
	assert_string_equal(
	    err.msg, "field 'list' must be an object, got array");
	assert_int_equal(json_get_arr(root, "list", &o, true, &err), 1);
	assert_int_equal(json_get_arr(root, "data", &o, true, &err), -1);
	assert_string_equal(
	    err.msg, "field 'data' must be an array, got object");

	/* Not an object at all. */
	assert_int_equal(json_get_str(cJSON_GetObjectItem(root, "list"), "x",
	                     &s, true, &err),
	    -1);
	assert_string_equal(err.msg, "expected a JSON object, got array");
	assert_int_equal(json_get_str(NULL, "x", &s, false, &err), -1);
	cJSON_Delete(root);
}

static void
test_writer_basic(void **state)
{
	struct json_out w;

	(void)state;
	json_out_init(&w);
	assert_string_equal(json_out_data(&w), "");
	json_out_obj_open(&w);
	json_out_kv_int(&w, "accepted", 3);
	json_out_kv_int(&w, "duplicates", 0);
	json_out_key(&w, "rejected");
	json_out_arr_open(&w);
	json_out_obj_open(&w);
	json_out_kv_int(&w, "index", 1);
	json_out_kv_str(&w, "error", "field 'value' must be a number");
	json_out_obj_close(&w);
	json_out_obj_open(&w);
	json_out_obj_close(&w);
	json_out_arr_close(&w);
	json_out_key(&w, "empty");
	json_out_arr_open(&w);
	json_out_arr_close(&w);
	json_out_kv_bool(&w, "t", true);
	json_out_kv_bool(&w, "f", false);
	json_out_key(&w, "n");
	json_out_null(&w);
	json_out_key(&w, "raw");
	json_out_raw(&w, "[1,2]", 5);
	json_out_kv_str(&w, "nil", NULL);
	json_out_obj_close(&w);
	assert_false(json_out_failed(&w));
	assert_string_equal(json_out_data(&w),
	    "{\"accepted\":3,\"duplicates\":0,\"rejected\":[{\"index\":1,"
	    "\"error\":\"field 'value' must be a number\"},{}],\"empty\":[],"
	    "\"t\":true,\"f\":false,\"n\":null,\"raw\":[1,2],\"nil\":null}");
	assert_int_equal(json_out_len(&w), strlen(json_out_data(&w)));

	json_out_reset(&w);
	assert_string_equal(json_out_data(&w), "");
	json_out_arr_open(&w);
	json_out_int(&w, INT64_MIN);
	json_out_int(&w, INT64_MAX);
	json_out_arr_close(&w);
	assert_string_equal(
	    json_out_data(&w), "[-9223372036854775808,9223372036854775807]");
	json_out_free(&w);
}

static void
test_writer_escapes(void **state)
{
	struct json_out w;
	const char raw[] = "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f end";

	(void)state;
	json_out_init(&w);
	json_out_strn(&w, raw, sizeof(raw) - 1);
	assert_string_equal(json_out_data(&w),
	    "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f end\"");
	json_out_reset(&w);
	/* An embedded NUL (counted length) is escaped, not a terminator. */
	json_out_strn(&w, "a\0b", 3);
	assert_string_equal(json_out_data(&w), "\"a\\u0000b\"");
	json_out_reset(&w);
	/* Invalid UTF-8 becomes U+FFFD; valid neighbours survive. */
	json_out_str(&w, "ok\xff\xe5\xae\x89\xc0\x80x");
	assert_string_equal(json_out_data(&w),
	    "\"ok\xef\xbf\xbd\xe5\xae\x89\xef\xbf\xbd\xef\xbf\xbdx\"");
	json_out_free(&w);
}

/* Chinese text goes out byte for byte and reads back the same. */
static void
test_writer_chinese_round_trip(void **state)
{
	const char *name = "济南市历下区安全生产委员会办公室 \xf0\x9f\x94\xa5 "
	                   "\"重大危险源\"";
	struct json_out w;
	struct json_err err;
	const char *back = NULL;
	cJSON *root;

	(void)state;
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_str(&w, "name", name);
	json_out_kv_str(&w, "键", "值");
	json_out_obj_close(&w);
	assert_non_null(strstr(json_out_data(&w), "济南市历下区"));
	root = json_parse(json_out_data(&w), json_out_len(&w), &err);
	assert_non_null(root);
	assert_int_equal(json_get_str(root, "name", &back, true, &err), 1);
	assert_string_equal(back, name);
	assert_int_equal(json_get_str(root, "键", &back, true, &err), 1);
	assert_string_equal(back, "值");
	cJSON_Delete(root);
	json_out_free(&w);
}

static void
test_writer_doubles(void **state)
{
	static const double vals[] = {0.1, 12.5, 1e21, 5e-324, -0.0, 3.0,
	    1.7976931348623157e308, 0.30000000000000004, 123456.789};
	struct json_out w;
	struct json_err err;
	cJSON *root;

	(void)state;
	json_out_init(&w);
	json_out_arr_open(&w);
	json_out_double(&w, 0.1);
	json_out_double(&w, 3.0);
	json_out_double(&w, NAN);
	json_out_double(&w, INFINITY);
	json_out_arr_close(&w);
	assert_string_equal(json_out_data(&w), "[0.1,3,null,null]");

	json_out_reset(&w);
	json_out_arr_open(&w);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		json_out_double(&w, vals[i]);
	json_out_arr_close(&w);
	root = json_parse(json_out_data(&w), json_out_len(&w), &err);
	assert_non_null(root);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		assert_true(
		    cJSON_GetArrayItem(root, (int)i)->valuedouble == vals[i]);
	cJSON_Delete(root);
	json_out_free(&w);
}

/* Growth past the first allocation many times over. */
static void
test_writer_large(void **state)
{
	struct json_out w;
	struct json_err err;
	cJSON *root;

	(void)state;
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_key(&w, "items");
	json_out_arr_open(&w);
	for (int i = 0; i < 20000; i++) {
		json_out_obj_open(&w);
		json_out_kv_int(&w, "i", i);
		json_out_kv_str(&w, "s", "安全");
		json_out_obj_close(&w);
	}
	json_out_arr_close(&w);
	json_out_obj_close(&w);
	assert_false(json_out_failed(&w));
	root = json_parse(json_out_data(&w), json_out_len(&w), &err);
	assert_non_null(root);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(root, "items")), 20000);
	cJSON_Delete(root);
	json_out_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_valid),
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test(test_parse_depth),
	    cmocka_unit_test(test_getters),
	    cmocka_unit_test(test_writer_basic),
	    cmocka_unit_test(test_writer_escapes),
	    cmocka_unit_test(test_writer_chinese_round_trip),
	    cmocka_unit_test(test_writer_doubles),
	    cmocka_unit_test(test_writer_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

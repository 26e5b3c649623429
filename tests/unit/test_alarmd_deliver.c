/*
 * test_alarmd_deliver - the pure parts of webhook delivery (deliver.c and
 * deliver_store.c): the receivers option, the backoff ladder, the text
 * kept as a receipt, notices read back from the store and the array
 * literals of the batched writes.
 *
 * The engine itself (connections, retries, fallback, the store) needs a
 * network and a database and is exercised by the system tests with
 * tests/system/webhook_sink.  Here every refusal of the receivers option
 * must name what is wrong and leave the caller's options as they were.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/alarmd/deliver.h"
#include "../../services/alarmd/deliver_internal.h"

/* --- deliver_receivers_parse ---------------------------------------------- */

static void
parse_good(void **state)
{
	struct deliver_opts o;
	char why[256] = "";

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(
	    deliver_receivers_parse("gateway=http://127.0.0.1:9000/hook,"
	                            "im_2-b=http://gw.example.cn/a/b?c=d",
	        &o, why, sizeof(why)),
	    0);
	assert_int_equal(o.nreceivers, 2);
	assert_string_equal(o.receivers[0].name, "gateway");
	assert_string_equal(o.receivers[0].url, "http://127.0.0.1:9000/hook");
	assert_string_equal(o.receivers[1].name, "im_2-b");
	assert_string_equal(o.receivers[1].url, "http://gw.example.cn/a/b?c=d");
}

static void
parse_blanks_trimmed(void **state)
{
	struct deliver_opts o;
	char why[256] = "";

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(
	    deliver_receivers_parse(
	        "  sms = http://10.0.0.1:8080 ,\tim=http://[::1]:81/x ", &o,
	        why, sizeof(why)),
	    0);
	assert_int_equal(o.nreceivers, 2);
	assert_string_equal(o.receivers[0].name, "sms");
	assert_string_equal(o.receivers[0].url, "http://10.0.0.1:8080");
	assert_string_equal(o.receivers[1].name, "im");
	assert_string_equal(o.receivers[1].url, "http://[::1]:81/x");
}

static void
parse_max_and_name_bounds(void **state)
{
	struct deliver_opts o;
	char spec[1024], why[256] = "";
	size_t n = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	for (int i = 0; i < DELIVER_RECEIVERS_MAX; i++)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n,
		    "%sr%d=http://127.0.0.1:%d/", i ? "," : "", i, 9000 + i);
	assert_int_equal(
	    deliver_receivers_parse(spec, &o, why, sizeof(why)), 0);
	assert_int_equal(o.nreceivers, DELIVER_RECEIVERS_MAX);
	assert_string_equal(o.receivers[7].name, "r7");
	/* 31 characters is the longest name. */
	assert_int_equal(
	    deliver_receivers_parse("abcdefghijklmnopqrstuvwxyz01234=http://h/",
	        &o, why, sizeof(why)),
	    0);
	assert_int_equal(o.nreceivers, 1);
	assert_string_equal(
	    o.receivers[0].name, "abcdefghijklmnopqrstuvwxyz01234");
}

static void
parse_empty_is_none(void **state)
{
	struct deliver_opts o;
	char why[256] = "";

	(void)state;
	memset(&o, 0, sizeof(o));
	o.nreceivers = 3;
	assert_int_equal(deliver_receivers_parse("", &o, why, sizeof(why)), 0);
	assert_int_equal(o.nreceivers, 0);
	o.nreceivers = 3;
	assert_int_equal(
	    deliver_receivers_parse(NULL, &o, why, sizeof(why)), 0);
	assert_int_equal(o.nreceivers, 0);
	o.nreceivers = 3;
	assert_int_equal(
	    deliver_receivers_parse(" \t ", &o, why, sizeof(why)), 0);
	assert_int_equal(o.nreceivers, 0);
}

/* spec must be refused with a reason holding `mention`, and o kept. */
static void
refused(const char *spec, const char *mention)
{
	struct deliver_opts o;
	char why[256] = "";

	memset(&o, 0, sizeof(o));
	o.nreceivers = 1;
	strcpy(o.receivers[0].name, "kept");
	strcpy(o.receivers[0].url, "http://kept/");
	if (deliver_receivers_parse(spec, &o, why, sizeof(why)) != -1)
		fail_msg("accepted: %s", spec);
	if (strstr(why, mention) == NULL)
		fail_msg(
		    "spec %s: reason \"%s\" lacks \"%s\"", spec, why, mention);
	assert_int_equal(o.nreceivers, 1);
	assert_string_equal(o.receivers[0].name, "kept");
	assert_string_equal(o.receivers[0].url, "http://kept/");
}

static void
parse_bad_names(void **state)
{
	(void)state;
	refused("Gateway=http://h/", "\"Gateway\"");
	refused("a.b=http://h/", "\"a.b\"");
	refused("短信=http://h/", "name");
	refused("=http://h/", "name \"\"");
	refused(" =http://h/", "name \"\"");
	refused("abcdefghijklmnopqrstuvwxyz012345=http://h/", "1 to 31");
	refused("a b=http://h/", "\"a b\"");
	refused("gw=http://h/,gw=http://i/", "named twice");
}

static void
parse_bad_urls(void **state)
{
	char longurl[400];

	(void)state;
	refused("gw=https://h/", "only http://");
	refused("gw=ftp://h/", "only http://");
	refused("gw=HTTP://h/", "only http://");
	refused("gw=h:80/x", "only http://");
	refused("gw=", "URL");
	refused("gw", "expected name=url");
	refused("gw=http://", "no host");
	refused("gw=http:///x", "no host");
	refused("gw=http://h:99999/", "not a valid URL");
	refused("gw=http://h:0/", "port 0");
	refused("gw=http://user:pw@h/", "user names");
	refused("gw=http://h/a b", "not a valid URL");
	snprintf(longurl, sizeof(longurl), "gw=http://h/%0300d", 7);
	refused(longurl, "1 to 255");
}

static void
parse_too_many(void **state)
{
	char spec[1024];
	size_t n = 0;

	(void)state;
	for (int i = 0; i <= DELIVER_RECEIVERS_MAX; i++)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n,
		    "%sr%d=http://127.0.0.1/", i ? "," : "", i);
	refused(spec, "more than 8");
}

static void
parse_empty_entries(void **state)
{
	(void)state;
	refused(",", "receiver 1 is empty");
	refused(",gw=http://h/", "receiver 1 is empty");
	refused("gw=http://h/,", "receiver 2 is empty");
	refused("gw=http://h/,,im=http://i/", "receiver 2 is empty");
	refused("gw=http://h/, ,im=http://i/", "receiver 2 is empty");
}

/* --- deliver_backoff_ms --------------------------------------------------- */

static void
backoff_steps(void **state)
{
	int64_t want = 500;

	(void)state;
	/* No failure yet: no wait. */
	assert_int_equal(deliver_backoff_ms(500, 300000, 0), 0);
	assert_int_equal(deliver_backoff_ms(500, 300000, -3), 0);
	/* min x 2^(n-1) up to the cap: 500 .. 256000, then 300000. */
	for (int n = 1; n <= 10; n++, want *= 2)
		assert_int_equal(deliver_backoff_ms(500, 300000, n), want);
	assert_int_equal(deliver_backoff_ms(500, 300000, 10), 256000);
	assert_int_equal(deliver_backoff_ms(500, 300000, 11), 300000);
	assert_int_equal(deliver_backoff_ms(500, 300000, 12), 300000);
	assert_int_equal(deliver_backoff_ms(500, 300000, 1000), 300000);
	assert_int_equal(deliver_backoff_ms(500, 300000, 2147483647), 300000);
}

static void
backoff_cap_edges(void **state)
{
	(void)state;
	/* A cap that is a step exactly is reached, not passed. */
	assert_int_equal(deliver_backoff_ms(100, 800, 3), 400);
	assert_int_equal(deliver_backoff_ms(100, 800, 4), 800);
	assert_int_equal(deliver_backoff_ms(100, 800, 5), 800);
	/* A cap below the minimum wins. */
	assert_int_equal(deliver_backoff_ms(500, 100, 1), 100);
	/* min == max: flat. */
	assert_int_equal(deliver_backoff_ms(250, 250, 1), 250);
	assert_int_equal(deliver_backoff_ms(250, 250, 9), 250);
	/* No minimum: no wait. */
	assert_int_equal(deliver_backoff_ms(0, 1000, 3), 0);
	/* No overflow on a huge cap. */
	assert_int_equal(
	    deliver_backoff_ms(1, INT64_MAX, 63), (int64_t)1 << 62);
	assert_int_equal(deliver_backoff_ms(1, INT64_MAX, 64), INT64_MAX);
	assert_int_equal(deliver_backoff_ms(1, INT64_MAX, 500), INT64_MAX);
}

/* --- receipts ------------------------------------------------------------- */

static void
text_clean_valid_and_cut(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(deliver_text_clean(out, sizeof(out), "ok", 2), 2);
	assert_string_equal(out, "ok");
	/* "已签收" is 9 bytes; 5 bytes of room keep one character whole. */
	assert_int_equal(deliver_text_clean(out, 5, "已签收", 9), 3);
	assert_string_equal(out, "已");
	assert_int_equal(deliver_text_clean(out, 7, "已签收", 9), 6);
	assert_string_equal(out, "已签");
	assert_int_equal(deliver_text_clean(out, 10, "已签收", 9), 9);
	assert_string_equal(out, "已签收");
	/* Four-byte characters pass whole. */
	assert_int_equal(
	    deliver_text_clean(out, sizeof(out), "\xF0\x9F\x98\x80", 4), 4);
	assert_memory_equal(out, "\xF0\x9F\x98\x80", 5);
	assert_int_equal(deliver_text_clean(out, 1, "abc", 3), 0);
	assert_string_equal(out, "");
	assert_int_equal(deliver_text_clean(out, 0, "abc", 3), 0);
}

static void
text_clean_invalid(void **state)
{
	char out[32];

	(void)state;
	/* NUL, a stray continuation byte, 0xFF. */
	assert_int_equal(
	    deliver_text_clean(out, sizeof(out), "a\0b\x80\xff", 5), 5);
	assert_string_equal(out, "a?b??");
	/* An overlong '/', a surrogate, beyond U+10FFFF. */
	deliver_text_clean(out, sizeof(out), "\xC0\xAF", 2);
	assert_string_equal(out, "??");
	deliver_text_clean(out, sizeof(out), "\xE0\x80\xAF", 3);
	assert_string_equal(out, "???");
	deliver_text_clean(out, sizeof(out), "\xED\xA0\x80", 3);
	assert_string_equal(out, "???");
	deliver_text_clean(out, sizeof(out), "\xF4\x90\x80\x80", 4);
	assert_string_equal(out, "????");
	/* A character cut short by the end of the input. */
	deliver_text_clean(out, sizeof(out), "x\xE7\xAD", 3);
	assert_string_equal(out, "x??");
	/* A lead byte followed by ASCII. */
	deliver_text_clean(out, sizeof(out), "\xE7z", 2);
	assert_string_equal(out, "?z");
}

/* --- notices read back from the store ------------------------------------- */

static void
compact_case(const char *in, const char *want)
{
	char buf[256];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", in);
	n = deliver_json_compact(buf, strlen(buf));
	assert_int_equal(n, strlen(want));
	assert_string_equal(buf, want);
}

static void
json_compact(void **state)
{
	(void)state;
	/* As jsonb prints: a blank after every ':' and ','. */
	compact_case("{\"a\": 1, \"b\": [1, 2, {\"c\": null}]}",
	    "{\"a\":1,\"b\":[1,2,{\"c\":null}]}");
	/* Blanks inside strings stay, escaped quotes do not end them. */
	compact_case("{\"t\": \"储罐: 液位, 高\", \"q\": \"a\\\", b\"}",
	    "{\"t\":\"储罐: 液位, 高\",\"q\":\"a\\\", b\"}");
	/* A backslash ending a string does not escape its closing quote. */
	compact_case("[\"x\\\\\", 1]", "[\"x\\\\\",1]");
	/* Already compact, and empty. */
	compact_case("{\"a\":1}", "{\"a\":1}");
	compact_case("", "");
}

/* --- array literals ------------------------------------------------------- */

static void
arrays(void **state)
{
	struct store_array a;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_string_equal(store_array_end(&a), "{}");
	store_array_free(&a);

	store_array_int64(&a, 1);
	store_array_int64(&a, -2);
	store_array_int64(&a, INT64_MAX);
	assert_string_equal(store_array_end(&a), "{1,-2,9223372036854775807}");
	store_array_free(&a);

	store_array_double(&a, 0.5);
	store_array_double(&a, NAN);
	store_array_double(&a, INFINITY);
	store_array_null(&a);
	assert_string_equal(store_array_end(&a), "{0.5,NULL,NULL,NULL}");
	store_array_free(&a);

	store_array_str(&a, "a\"b");
	store_array_str(&a, "c\\d");
	store_array_str(&a, NULL);
	store_array_str(&a, "");
	store_array_str(&a, "NULL");
	store_array_str(&a, "{x,y} 签收");
	assert_string_equal(store_array_end(&a),
	    "{\"a\\\"b\",\"c\\\\d\",NULL,\"\",\"NULL\",\"{x,y} 签收\"}");
	store_array_free(&a);
}

static void
arrays_long(void **state)
{
	struct store_array a;
	char *big = malloc(5001);
	const char *s;

	(void)state;
	assert_non_null(big);
	memset(big, 'q', 5000);
	big[5000] = '\0';
	memset(&a, 0, sizeof(a));
	for (int i = 0; i < 100; i++)
		store_array_str(&a, big);
	s = store_array_end(&a);
	assert_non_null(s);
	/* 100 x (5000 + 2 quotes) + 99 commas + 2 braces. */
	assert_int_equal(strlen(s), 100 * 5002 + 99 + 2);
	store_array_free(&a);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_good),
	    cmocka_unit_test(parse_blanks_trimmed),
	    cmocka_unit_test(parse_max_and_name_bounds),
	    cmocka_unit_test(parse_empty_is_none),
	    cmocka_unit_test(parse_bad_names),
	    cmocka_unit_test(parse_bad_urls),
	    cmocka_unit_test(parse_too_many),
	    cmocka_unit_test(parse_empty_entries),
	    cmocka_unit_test(backoff_steps),
	    cmocka_unit_test(backoff_cap_edges),
	    cmocka_unit_test(text_clean_valid_and_cut),
	    cmocka_unit_test(text_clean_invalid),
	    cmocka_unit_test(json_compact),
	    cmocka_unit_test(arrays),
	    cmocka_unit_test(arrays_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

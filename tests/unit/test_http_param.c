/*
 * test_http_param - the pure checks of query parameters, malformed input
 * first.
 *
 * The request functions only look a value up and call these, so the
 * checks are driven here directly: numbers, flags, words, USCCs, district
 * codes, the names of a raw query, and how a client's value is cut for a
 * message.  The texts are compared whole, because clients and the system
 * tests of ingestd and riskd read them.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http_param.h"
#include "ids.h"

static const char *const list_names[] = {
    "status", "district", "limit", "cursor", NULL};
static const char *const no_names[] = {NULL};

/* A valid USCC (published; its check character verified in test_ids). */
#define GOOD_USCC "91350100M000100Y43"

/* --- shown --------------------------------------------------------------- */

static void
test_shown_short(void **state)
{
	char buf[8];
	const char *v = "abcdefg";

	(void)state;
	/* Shorter than the buffer: the value itself, not a copy. */
	assert_ptr_equal(http_param_shown(v, buf, sizeof(buf)), v);
	assert_string_equal(http_param_shown("", buf, sizeof(buf)), "");
}

static void
test_shown_cut(void **state)
{
	char buf[8];

	(void)state;
	assert_string_equal(
	    http_param_shown("abcdefgh", buf, sizeof(buf)), "abcd...");
	assert_string_equal(
	    http_param_shown("abcdefghijklmnopqrstuvwxyz", buf, sizeof(buf)),
	    "abcd...");
}

static void
test_shown_utf8(void **state)
{
	char buf[8];

	(void)state;
	/* "历城区" is three 3-byte characters: four bytes would split the
	 * second, so only the first is kept. */
	assert_string_equal(
	    http_param_shown("历城区", buf, sizeof(buf)), "历...");
	/* "a历城x" cut after 4 bytes ends on a boundary. */
	assert_string_equal(
	    http_param_shown("a历城x", buf, sizeof(buf)), "a历...");
	/* Nothing whole fits before the cut: just the dots. */
	assert_string_equal(http_param_shown("历城区历城区", buf, 5), "...");
}

static void
test_shown_tiny_buffer(void **state)
{
	char buf[4];

	(void)state;
	assert_string_equal(http_param_shown("abcdef", buf, 3), "...");
	assert_string_equal(http_param_shown("abcdef", buf, 0), "...");
	assert_string_equal(http_param_shown("abcdef", buf, 4), "...");
	assert_string_equal(http_param_shown("ab", buf, 4), "ab");
}

/* --- names --------------------------------------------------------------- */

static void
names_ok(const char *query)
{
	char why[HTTP_PARAM_WHY_SIZE] = "";

	if (http_param_check_names(query, list_names, why, sizeof(why)) != 0)
		fail_msg("'%s' refused: %s", query, why);
}

static void
names_bad(const char *query, const char *const *names, const char *want)
{
	char why[HTTP_PARAM_WHY_SIZE] = "";

	if (http_param_check_names(query, names, why, sizeof(why)) != -1)
		fail_msg("'%s' accepted", query);
	if (strcmp(why, want) != 0)
		fail_msg("'%s': reason '%s', want '%s'", query, why, want);
}

static void
test_names_known(void **state)
{
	(void)state;
	names_ok(NULL);
	names_ok("");
	names_ok("status=open");
	names_ok("status=open&district=370112&limit=5&cursor=abc");
	/* Empty pairs and a name without '=' are no parameters twice. */
	names_ok("&&status=open&&limit=1&");
	names_ok("limit");
	names_ok("limit=");
	/* The name is compared decoded. */
	names_ok("%6Cimit=1");
	names_ok("st%61tus=x");
	/* A value may hold anything after its '='. */
	names_ok("cursor=a=b%26c");
}

static void
test_names_unknown(void **state)
{
	(void)state;
	names_bad("sort=found_at", list_names,
	    "unknown parameter 'sort': this route takes status, district, "
	    "limit, cursor");
	names_bad("limit=1&Limit=2", list_names,
	    "unknown parameter 'Limit': this route takes status, district, "
	    "limit, cursor");
	/* A route without parameters says so. */
	names_bad(
	    "x=1", no_names, "unknown parameter 'x': this route takes none");
	/* An empty name is a name. */
	names_bad("=1", list_names,
	    "unknown parameter '': this route takes status, district, limit, "
	    "cursor");
	/* '+' is a space; a bad escape stays as it was sent. */
	names_bad("sta+tus=1", list_names,
	    "unknown parameter 'sta tus': this route takes status, district, "
	    "limit, cursor");
	names_bad("%zzlimit=1", list_names,
	    "unknown parameter '%zzlimit': this route takes status, "
	    "district, limit, cursor");
	names_bad("limit%6=1", list_names,
	    "unknown parameter 'limit%6': this route takes status, district, "
	    "limit, cursor");
	names_bad("limit%=1", list_names,
	    "unknown parameter 'limit%': this route takes status, district, "
	    "limit, cursor");
	/* "%00" decodes to a NUL: the name ends there and is unknown. */
	names_bad("%00limit=1", list_names,
	    "unknown parameter '': this route takes status, district, limit, "
	    "cursor");
}

static void
test_names_long(void **state)
{
	char query[300], want[HTTP_PARAM_WHY_SIZE];

	(void)state;
	/* A long name is cut in the message, and so is a long UTF-8 one. */
	memset(query, 'k', 200);
	strcpy(query + 200, "=1");
	snprintf(want, sizeof(want),
	    "unknown parameter '%.36s...': this route takes status, "
	    "district, limit, cursor",
	    query);
	names_bad(query, list_names, want);
	query[0] = '\0';
	for (int i = 0; i < 30; i++)
		strcat(query, "%E5%8E%86");
	names_bad(query, list_names,
	    "unknown parameter '历历历历历历历历历历历历...': this route "
	    "takes status, district, limit, cursor");
}

static void
test_names_repeated(void **state)
{
	(void)state;
	names_bad("limit=1&limit=2", list_names,
	    "parameter 'limit' is given more than once");
	names_bad("status=open&limit=1&status=open", list_names,
	    "parameter 'status' is given more than once");
	/* Spelt differently, the same name once decoded. */
	names_bad("limit=1&%6cimit=1", list_names,
	    "parameter 'limit' is given more than once");
	names_bad("limit&limit", list_names,
	    "parameter 'limit' is given more than once");
}

static void
test_names_small_why(void **state)
{
	char why[12];

	(void)state;
	/* The reason is cut to the buffer, never past it. */
	assert_int_equal(
	    http_param_check_names("nope=1", list_names, why, sizeof(why)), -1);
	assert_string_equal(why, "unknown par");
}

/* --- numbers ------------------------------------------------------------- */

static void
int_ok(const char *v, long lo, long hi, long want)
{
	char why[HTTP_PARAM_WHY_SIZE] = "";
	long out = -12345;

	if (http_param_check_int("n", v, lo, hi, &out, why, sizeof(why)) != 0)
		fail_msg("'%s' refused: %s", v, why);
	assert_int_equal(out, want);
}

static void
int_bad(const char *v, long lo, long hi)
{
	char why[HTTP_PARAM_WHY_SIZE] = "", want[HTTP_PARAM_WHY_SIZE], sb[80];
	long out = -12345;

	if (http_param_check_int("n", v, lo, hi, &out, why, sizeof(why)) != -1)
		fail_msg("'%s' accepted as %ld", v, out);
	assert_int_equal(out, -12345);
	snprintf(want, sizeof(want),
	    "parameter 'n' must be a whole number from %ld to %ld; got '%s'",
	    lo, hi, http_param_shown(v, sb, sizeof(sb)));
	assert_string_equal(why, want);
}

static void
test_int_valid(void **state)
{
	char why[8] = "";
	long out = 77;

	(void)state;
	int_ok("1", 1, 1000, 1);
	int_ok("1000", 1, 1000, 1000);
	int_ok("0", 0, 5, 0);
	int_ok("2026", 1949, 2200, 2026);
	/* Leading zeros are the same number, however many. */
	int_ok("007", 1, 1000, 7);
	int_ok("00000000000000000000000000001", 1, 1000, 1);
	int_ok("9223372036854775807", 0, LONG_MAX, LONG_MAX);
	/* Absent: 0, *out left as the caller's default. */
	assert_int_equal(
	    http_param_check_int("n", NULL, 1, 5, &out, why, sizeof(why)), 0);
	assert_int_equal(out, 77);
}

static void
test_int_malformed(void **state)
{
	(void)state;
	int_bad("", 1, 1000);
	int_bad("0", 1, 1000);
	int_bad("1001", 1, 1000);
	int_bad("1800", 1949, 2200);
	int_bad("-1", 1, 1000);
	int_bad("-0", 0, 1000);
	int_bad("+5", 1, 1000);
	int_bad(" 5", 1, 1000);
	int_bad("5 ", 1, 1000);
	int_bad("10x", 1, 1000);
	int_bad("20x5", 1949, 2200);
	int_bad("ten", 1, 1000);
	int_bad("1.0", 1, 1000);
	int_bad("1e3", 1, 10000);
	int_bad("0x10", 1, 1000);
	int_bad("五", 1, 1000);
	int_bad("99999999999", 1, 1000);
	/* Past LONG_MAX: refused, not wrapped into range. */
	int_bad("9223372036854775808", 0, LONG_MAX);
	int_bad("18446744073709551617", 0, LONG_MAX);
	int_bad("99999999999999999999999999999999999999999", 1, 1000);
}

static void
test_int_message(void **state)
{
	char why[HTTP_PARAM_WHY_SIZE], v[200];
	long out;

	(void)state;
	assert_int_equal(http_param_check_int(
	                     "limit", "10x", 1, 1000, &out, why, sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "parameter 'limit' must be a whole number from 1 to 1000; got "
	    "'10x'");
	/* A long value is quoted cut to 76 bytes. */
	memset(v, '9', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	assert_int_equal(
	    http_param_check_int("limit", v, 1, 1000, &out, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "; got '"));
	assert_int_equal(strlen(strstr(why, "; got '")), 7 + 76 + 3 + 1);
}

/* --- flags and words ----------------------------------------------------- */

static void
test_flag(void **state)
{
	static const char *const bad[] = {
	    "", "2", "01", "10", "true", "yes", " 1", "1 ", "-1", NULL};
	char why[HTTP_PARAM_WHY_SIZE];
	int out = 5;

	(void)state;
	assert_int_equal(
	    http_param_check_flag("open", "1", &out, why, sizeof(why)), 0);
	assert_int_equal(out, 1);
	assert_int_equal(
	    http_param_check_flag("open", "0", &out, why, sizeof(why)), 0);
	assert_int_equal(out, 0);
	assert_int_equal(
	    http_param_check_flag("open", NULL, &out, why, sizeof(why)), 0);
	assert_int_equal(out, -1);
	for (size_t i = 0; bad[i] != NULL; i++) {
		char want[HTTP_PARAM_WHY_SIZE];

		out = 5;
		assert_int_equal(http_param_check_flag(
		                     "open", bad[i], &out, why, sizeof(why)),
		    -1);
		snprintf(want, sizeof(want),
		    "parameter 'open' must be 1 or 0; got '%s'", bad[i]);
		assert_string_equal(why, want);
	}
}

static void
test_enum(void **state)
{
	static const char *const kinds[] = {
	    "H", "HH", "L", "LL", "offline", "fault", NULL};
	char why[HTTP_PARAM_WHY_SIZE], v[8];
	const char *out = "x";

	(void)state;
	/* The word handed back is the list's, not the request's copy. */
	strcpy(v, "HH");
	assert_int_equal(
	    http_param_check_enum("kind", v, kinds, &out, why, sizeof(why)), 0);
	assert_ptr_equal(out, kinds[1]);
	assert_int_equal(
	    http_param_check_enum("kind", NULL, kinds, &out, why, sizeof(why)),
	    0);
	assert_null(out);
	assert_int_equal(
	    http_param_check_enum("kind", "HHH", kinds, &out, why, sizeof(why)),
	    -1);
	assert_null(out);
	assert_string_equal(why,
	    "parameter 'kind' must be one of H, HH, L, LL, offline, fault; "
	    "got 'HHH'");
	/* Case matters, and so do spaces. */
	assert_int_equal(
	    http_param_check_enum("kind", "hh", kinds, &out, why, sizeof(why)),
	    -1);
	assert_int_equal(
	    http_param_check_enum("kind", "H ", kinds, &out, why, sizeof(why)),
	    -1);
	assert_int_equal(
	    http_param_check_enum("kind", "", kinds, &out, why, sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "parameter 'kind' must be one of H, HH, L, LL, offline, fault; "
	    "got ''");
	assert_int_equal(http_param_check_enum(
	                     "kind", "x", no_names, &out, why, sizeof(why)),
	    -1);
	assert_string_equal(
	    why, "parameter 'kind' must be one of none; got 'x'");
}

/* --- codes --------------------------------------------------------------- */

static void
test_uscc(void **state)
{
	char why[HTTP_PARAM_WHY_SIZE], want[HTTP_PARAM_WHY_SIZE];
	char reason[IDS_REASON_SIZE];
	const char *out = "x";

	(void)state;
	assert_int_equal(
	    http_param_check_uscc("uscc", GOOD_USCC, &out, why, sizeof(why)),
	    0);
	assert_string_equal(out, GOOD_USCC);
	assert_int_equal(
	    http_param_check_uscc("uscc", NULL, &out, why, sizeof(why)), 0);
	assert_null(out);

	/* A query parameter: named, the value and the reason in brackets. */
	out = "x";
	assert_int_equal(http_param_check_uscc("uscc", "91350100M000100Y44",
	                     &out, why, sizeof(why)),
	    -1);
	assert_null(out);
	assert_int_equal(
	    ids_uscc_check("91350100M000100Y44", reason, sizeof(reason)), -1);
	snprintf(want, sizeof(want),
	    "parameter 'uscc' is not a valid unified social credit code "
	    "('91350100M000100Y44': %s)",
	    reason);
	assert_string_equal(why, want);

	/* A path segment: the value and the reason. */
	assert_int_equal(
	    http_param_check_uscc(NULL, "abc", &out, why, sizeof(why)), -1);
	assert_int_equal(ids_uscc_check("abc", reason, sizeof(reason)), -1);
	snprintf(want, sizeof(want),
	    "'abc' is not a valid unified social credit code: %s", reason);
	assert_string_equal(why, want);
	assert_int_equal(
	    http_param_check_uscc(NULL, GOOD_USCC, &out, why, sizeof(why)), 0);
	assert_string_equal(out, GOOD_USCC);

	/* Malformed: empty, lower case, too long, not ASCII. */
	assert_int_equal(
	    http_param_check_uscc("uscc", "", &out, why, sizeof(why)), -1);
	assert_int_equal(http_param_check_uscc("uscc", "91350100m000100y43",
	                     &out, why, sizeof(why)),
	    -1);
	assert_int_equal(http_param_check_uscc(
	                     "uscc", GOOD_USCC "0", &out, why, sizeof(why)),
	    -1);
	assert_int_equal(http_param_check_uscc(
	                     "uscc", "历城区历城区", &out, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "('历城区历城区': "));
}

static void
test_uscc_long_value(void **state)
{
	char why[HTTP_PARAM_WHY_SIZE], want[HTTP_PARAM_WHY_SIZE], v[300];
	char reason[IDS_REASON_SIZE];
	const char *out;

	(void)state;
	memset(v, 'A', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	assert_int_equal(
	    http_param_check_uscc("uscc", v, &out, why, sizeof(why)), -1);
	/* Codes are quoted cut to 36 bytes. */
	assert_int_equal(ids_uscc_check(v, reason, sizeof(reason)), -1);
	snprintf(want, sizeof(want),
	    "parameter 'uscc' is not a valid unified social credit code "
	    "('%.36s...': %s)",
	    v, reason);
	assert_string_equal(why, want);
}

static unsigned district_calls;

/* The test's city: two districts. */
static int
district_of_city(const char *code, const void *arg)
{
	const char *const *codes = arg;

	district_calls++;
	for (size_t i = 0; codes[i] != NULL; i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

static void
test_district_form(void **state)
{
	static const char *const bad[] = {"", "3701", "37011", "37011a",
	    "3701120", " 370112", "370112 ", "-37011", "３７０１１２", "历城区",
	    NULL};
	char why[HTTP_PARAM_WHY_SIZE], want[HTTP_PARAM_WHY_SIZE];
	const char *out = "x";

	(void)state;
	assert_int_equal(http_param_check_district("district", "370112", NULL,
	                     NULL, &out, why, sizeof(why)),
	    0);
	assert_string_equal(out, "370112");
	/* Without a table any code of the right form passes. */
	assert_int_equal(http_param_check_district("district", "999999", NULL,
	                     NULL, &out, why, sizeof(why)),
	    0);
	assert_int_equal(http_param_check_district("district", NULL, NULL, NULL,
	                     &out, why, sizeof(why)),
	    0);
	assert_null(out);
	for (size_t i = 0; bad[i] != NULL; i++) {
		out = "x";
		assert_int_equal(http_param_check_district("district", bad[i],
		                     NULL, NULL, &out, why, sizeof(why)),
		    -1);
		assert_null(out);
		snprintf(want, sizeof(want),
		    "parameter 'district' must be a 6-digit GB/T 2260 "
		    "district code (data/districts.csv); got '%s'",
		    bad[i]);
		assert_string_equal(why, want);
	}
}

static void
test_district_known(void **state)
{
	static const char *const city[] = {"370102", "370112", NULL};
	char why[HTTP_PARAM_WHY_SIZE];
	const char *out = NULL;

	(void)state;
	district_calls = 0;
	assert_int_equal(http_param_check_district("district", "370112",
	                     district_of_city, city, &out, why, sizeof(why)),
	    0);
	assert_string_equal(out, "370112");
	assert_int_equal(district_calls, 1);
	/* The right form, not one of the city's. */
	assert_int_equal(http_param_check_district("district", "999999",
	                     district_of_city, city, &out, why, sizeof(why)),
	    -1);
	assert_null(out);
	assert_string_equal(why,
	    "parameter 'district' must be the 6-digit code of one of the "
	    "city's districts (data/districts.csv); got '999999'");
	assert_int_equal(district_calls, 2);
	/* A malformed code is refused before the table is asked. */
	assert_int_equal(http_param_check_district("district", "历城",
	                     district_of_city, city, &out, why, sizeof(why)),
	    -1);
	assert_int_equal(district_calls, 2);
	assert_string_equal(why,
	    "parameter 'district' must be the 6-digit code of one of the "
	    "city's districts (data/districts.csv); got '历城'");
	/* Absent: no question to the table either. */
	assert_int_equal(http_param_check_district("district", NULL,
	                     district_of_city, city, &out, why, sizeof(why)),
	    0);
	assert_int_equal(district_calls, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shown_short),
	    cmocka_unit_test(test_shown_cut),
	    cmocka_unit_test(test_shown_utf8),
	    cmocka_unit_test(test_shown_tiny_buffer),
	    cmocka_unit_test(test_names_known),
	    cmocka_unit_test(test_names_unknown),
	    cmocka_unit_test(test_names_long),
	    cmocka_unit_test(test_names_repeated),
	    cmocka_unit_test(test_names_small_why),
	    cmocka_unit_test(test_int_valid),
	    cmocka_unit_test(test_int_malformed),
	    cmocka_unit_test(test_int_message),
	    cmocka_unit_test(test_flag),
	    cmocka_unit_test(test_enum),
	    cmocka_unit_test(test_uscc),
	    cmocka_unit_test(test_uscc_long_value),
	    cmocka_unit_test(test_district_form),
	    cmocka_unit_test(test_district_known),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

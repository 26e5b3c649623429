/*
 * test_timeutil - RFC 3339 and date parsing, city-time formatting, calendar.
 *
 * Expected epoch values were worked out independently of this code (by hand
 * and with another language's datetime library).  The calendar conversion is
 * checked against a day-by-day walk over the whole range 0001-01-01 ..
 * 9999-12-31, so every leap-year rule is exercised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "timeutil.h"

/* 2026-11-29T00:00:00+08:00 */
#define T_20261129_CITY INT64_C(1795881600000)

static int64_t
parse_ok(const char *s)
{
	int64_t ms = 0;
	const char *why = NULL;

	if (timeutil_parse_rfc3339_n(s, strlen(s), &ms, &why) != 0)
		fail_msg("'%s' refused: %s", s, why);
	assert_int_equal(timeutil_parse_rfc3339(s, &ms), 0);
	return ms;
}

/* The string is refused and the reason contains `reason_part`. */
static void
parse_bad(const char *s, const char *reason_part)
{
	int64_t ms = 42;
	const char *why = NULL;

	if (timeutil_parse_rfc3339_n(s, strlen(s), &ms, &why) == 0)
		fail_msg("'%s' accepted as %lld", s, (long long)ms);
	assert_non_null(why);
	if (strstr(why, reason_part) == NULL)
		fail_msg("'%s': reason '%s' lacks '%s'", s, why, reason_part);
	assert_int_equal(timeutil_parse_rfc3339(s, &ms), -1);
}

static void
test_rfc3339_basic(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-11-29T08:00:00+08:00"),
	    T_20261129_CITY + 8 * 3600000);
	assert_int_equal(
	    parse_ok("2026-11-29T00:00:00Z"), T_20261129_CITY + 8 * 3600000);
	assert_int_equal(
	    parse_ok("2026-11-29t00:00:00z"), T_20261129_CITY + 8 * 3600000);
	assert_int_equal(
	    parse_ok("2026-11-29T00:00:00+08:00"), T_20261129_CITY);
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
	assert_int_equal(parse_ok("1970-01-01T08:00:00+08:00"), 0);
	/* -00:00 (offset unknown) means the same instant as Z. */
	assert_int_equal(parse_ok("1970-01-01T00:00:00-00:00"), 0);
	assert_int_equal(
	    parse_ok("0001-01-01T00:00:00Z"), INT64_C(-62135596800000));
	assert_int_equal(
	    parse_ok("9999-12-31T23:59:59.999Z"), INT64_C(253402300799999));
}

static void
test_rfc3339_leap_years(void **state)
{
	(void)state;
	assert_int_equal(
	    parse_ok("2024-02-29T12:00:00Z"), INT64_C(1709208000000));
	parse_ok("2000-02-29T00:00:00Z");
	parse_bad("2026-02-29T00:00:00Z", "day out of range");
	parse_bad("1900-02-29T00:00:00Z", "day out of range");
	parse_bad("2100-02-29T00:00:00Z", "day out of range");
	parse_bad("2026-04-31T00:00:00Z", "day out of range");
	parse_bad("2026-01-32T00:00:00Z", "day out of range");
	parse_bad("2026-01-00T00:00:00Z", "day out of range");
	parse_bad("2026-13-01T00:00:00Z", "month out of range");
	parse_bad("2026-00-01T00:00:00Z", "month out of range");
	parse_bad("0000-01-01T00:00:00Z", "year 0000");
}

static void
test_rfc3339_time_fields(void **state)
{
	(void)state;
	parse_ok("2026-11-29T23:59:59+08:00");
	parse_bad("2026-11-29T24:00:00+08:00", "hour out of range");
	parse_bad("2026-11-29T23:60:00+08:00", "minute out of range");
	parse_bad("2026-12-31T23:59:60Z", "leap second");
	parse_bad("2026-11-29T23:59:61Z", "second out of range");
	parse_bad("2026-11-29T8:00:00+08:00", "HH:MM:SS");
	parse_bad("2026-11-29T08:00+08:00", "HH:MM:SS");
	parse_bad("2026-11-29T08-00-00+08:00", "HH:MM:SS");
	parse_bad("2026-11-29 08:00:00+08:00", "'T'");
	parse_bad("2026-11-29", "missing time of day");
}

static void
test_rfc3339_fractions(void **state)
{
	int64_t base = T_20261129_CITY;

	(void)state;
	assert_int_equal(parse_ok("2026-11-29T00:00:00.5+08:00"), base + 500);
	assert_int_equal(parse_ok("2026-11-29T00:00:00.05+08:00"), base + 50);
	assert_int_equal(parse_ok("2026-11-29T00:00:00.123+08:00"), base + 123);
	/* Sub-millisecond digits are truncated, never rounded up. */
	assert_int_equal(
	    parse_ok("2026-11-29T00:00:00.1239+08:00"), base + 123);
	assert_int_equal(
	    parse_ok("2026-11-29T00:00:00.999999999+08:00"), base + 999);
	assert_int_equal(parse_ok("2026-11-29T00:00:00.000000001+08:00"), base);
	/* Truncation before the epoch still moves towards the earlier ms. */
	assert_int_equal(parse_ok("1969-12-31T23:59:59.9999Z"), -1);
	parse_bad("2026-11-29T00:00:00.1234567891+08:00", "more than 9");
	parse_bad("2026-11-29T00:00:00.+08:00", "digits after the decimal");
	parse_bad("2026-11-29T00:00:00,5+08:00", "missing offset");
}

static void
test_rfc3339_offsets(void **state)
{
	int64_t utc = parse_ok("2026-11-29T00:00:00Z");

	(void)state;
	assert_int_equal(parse_ok("2026-11-29T14:00:00+14:00"), utc);
	assert_int_equal(parse_ok("2026-11-28T12:00:00-12:00"), utc);
	assert_int_equal(parse_ok("2026-11-29T05:45:00+05:45"), utc);
	assert_int_equal(parse_ok("2026-11-28T20:30:00-03:30"), utc);
	parse_bad("2026-11-29T00:00:00+14:01", "offset outside");
	parse_bad("2026-11-29T00:00:00-12:30", "offset outside");
	parse_bad("2026-11-29T00:00:00+23:00", "offset outside");
	parse_bad("2026-11-29T00:00:00+08:60", "offset minutes");
	parse_bad("2026-11-29T00:00:00+0800", "+HH:MM");
	parse_bad("2026-11-29T00:00:00+08", "+HH:MM");
	parse_bad("2026-11-29T00:00:00+8:00", "+HH:MM");
	parse_bad("2026-11-29T00:00:00", "missing offset");
	parse_bad("2026-11-29T00:00:00.250", "missing offset");
	parse_bad("2026-11-29T00:00:00 +08:00", "missing offset");
	parse_bad("2026-11-29T00:00:00Zjunk", "after the offset");
	parse_bad("2026-11-29T00:00:00+08:00 ", "after the offset");
	parse_bad("2026-11-29T00:00:00+08:00:00", "after the offset");
}

static void
test_rfc3339_garbage(void **state)
{
	int64_t ms;
	const char *why = NULL;

	(void)state;
	parse_bad("", "empty");
	parse_bad("hello", "expected RFC 3339");
	parse_bad("yesterday at noon", "YYYY-MM-DD");
	parse_bad(" 2026-11-29T00:00:00Z", "YYYY-MM-DD");
	parse_bad("2026/11/29T00:00:00Z", "YYYY-MM-DD");
	parse_bad("+2026-11-29T00:00:00Z", "YYYY-MM-DD");
	parse_bad("1795881600000", "YYYY-MM-DD");
	assert_int_equal(timeutil_parse_rfc3339(NULL, &ms), -1);
	assert_int_equal(timeutil_parse_rfc3339_n(NULL, 0, &ms, &why), -1);
	assert_non_null(why);
	/* A NUL inside the counted bytes is refused, not read past. */
	assert_int_equal(
	    timeutil_parse_rfc3339_n("2026-11-29T00:00:00\0Z", 21, &ms, NULL),
	    -1);
}

/* The counted variant reads only len bytes of a larger buffer. */
static void
test_rfc3339_counted(void **state)
{
	const char buf[] = "2026-11-29T00:00:00+08:00\",\"value\":1}";
	int64_t ms = 0;

	(void)state;
	assert_int_equal(timeutil_parse_rfc3339_n(buf, 25, &ms, NULL), 0);
	assert_int_equal(ms, T_20261129_CITY);
	assert_int_equal(timeutil_parse_rfc3339_n(buf, 26, &ms, NULL), -1);
	assert_int_equal(timeutil_parse_rfc3339_n(buf, 24, &ms, NULL), -1);
}

static void
test_format(void **state)
{
	char buf[TIMEUTIL_RFC3339_SIZE];

	(void)state;
	assert_int_equal(timeutil_format_rfc3339(0, buf, sizeof(buf)), 29);
	assert_string_equal(buf, "1970-01-01T08:00:00.000+08:00");
	timeutil_format_rfc3339(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T07:59:59.999+08:00");
	timeutil_format_rfc3339(
	    T_20261129_CITY + 8 * 3600000 + 7, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-29T08:00:00.007+08:00");
	timeutil_format_rfc3339(
	    parse_ok("2024-02-29T16:30:15.5Z"), buf, sizeof(buf));
	assert_string_equal(buf, "2024-03-01T00:30:15.500+08:00");
	/* Too small a buffer, or a year outside 0001..9999: nothing. */
	assert_int_equal(timeutil_format_rfc3339(0, buf, 29), 0);
	assert_string_equal(buf, "");
	/* The last millisecond of 9999 in city time, and one past it. */
	assert_int_equal(
	    timeutil_format_rfc3339(
	        INT64_C(253402300799999) - 8 * 3600000, buf, sizeof(buf)),
	    29);
	assert_string_equal(buf, "9999-12-31T23:59:59.999+08:00");
	assert_int_equal(
	    timeutil_format_rfc3339(
	        INT64_C(253402300799999) - 8 * 3600000 + 1, buf, sizeof(buf)),
	    0);
	assert_string_equal(buf, "");
	timeutil_format_rfc3339(
	    INT64_C(-62135596800000) - 8 * 3600000, buf, sizeof(buf));
	assert_string_equal(buf, "0001-01-01T00:00:00.000+08:00");
	assert_int_equal(
	    timeutil_format_rfc3339(
	        INT64_C(-62135596800000) - 8 * 3600000 - 1, buf, sizeof(buf)),
	    0);
	assert_int_equal(
	    timeutil_format_rfc3339(INT64_MAX, buf, sizeof(buf)), 0);
	assert_int_equal(
	    timeutil_format_rfc3339(INT64_MIN, buf, sizeof(buf)), 0);
	assert_int_equal(timeutil_format_rfc3339(0, NULL, 0), 0);
}

/* Whatever is formatted parses back to the same millisecond. */
static void
test_format_round_trip(void **state)
{
	char buf[TIMEUTIL_RFC3339_SIZE];
	uint64_t x = 88172645463325252u;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		int64_t ms, back;

		/* xorshift64: spread over roughly 1900..2100 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ms = (int64_t)(x % UINT64_C(6311433600000)) -
		     INT64_C(2208988800000);
		assert_int_equal(
		    timeutil_format_rfc3339(ms, buf, sizeof(buf)), 29);
		back = parse_ok(buf);
		assert_int_equal(back, ms);
	}
}

static void
test_date(void **state)
{
	int64_t days = -1;
	const char *why = NULL;
	char buf[TIMEUTIL_DATE_SIZE];

	(void)state;
	assert_int_equal(timeutil_parse_date("2026-11-29", &days), 0);
	assert_int_equal(days, 20786);
	assert_int_equal(timeutil_date_start_ms(days), T_20261129_CITY);
	assert_int_equal(timeutil_parse_date("1970-01-01", &days), 0);
	assert_int_equal(days, 0);
	assert_int_equal(timeutil_parse_date("1969-12-31", &days), 0);
	assert_int_equal(days, -1);
	assert_int_equal(timeutil_parse_date("2024-02-29", &days), 0);
	assert_int_equal(timeutil_format_date(days, buf, sizeof(buf)), 10);
	assert_string_equal(buf, "2024-02-29");

	assert_int_equal(
	    timeutil_parse_date_n("2026-02-29", 10, &days, &why), -1);
	assert_string_equal(why, "day out of range for the month");
	assert_int_equal(timeutil_parse_date_n("2026-1-5", 8, &days, &why), -1);
	assert_string_equal(why, "expected a date as YYYY-MM-DD");
	assert_int_equal(timeutil_parse_date("2026-11-29T00", &days), -1);
	assert_int_equal(timeutil_parse_date("2026-11-2x", &days), -1);
	assert_int_equal(timeutil_parse_date("20261129", &days), -1);
	assert_int_equal(timeutil_parse_date("", &days), -1);
	assert_int_equal(timeutil_parse_date(NULL, &days), -1);
	assert_int_equal(timeutil_parse_date("2026-13-01", &days), -1);

	assert_int_equal(timeutil_format_date(20786, buf, 10), 0);
	assert_int_equal(
	    timeutil_format_date(INT64_C(3000000), buf, sizeof(buf)), 0);
}

static void
test_city_days(void **state)
{
	int64_t start = T_20261129_CITY;
	int64_t day = 20786;

	(void)state;
	assert_int_equal(timeutil_city_day(start), day);
	assert_int_equal(timeutil_city_day(start - 1), day - 1);
	assert_int_equal(timeutil_city_day(start + 86399999), day);
	assert_int_equal(timeutil_city_day(start + 86400000), day + 1);
	assert_int_equal(timeutil_day_start_ms(start + 12345678), start);
	assert_int_equal(
	    timeutil_day_end_ms(start + 12345678), start + 86400000);
	assert_int_equal(timeutil_day_start_ms(start), start);
	assert_int_equal(timeutil_day_end_ms(start), start + 86400000);
	assert_int_equal(timeutil_day_start_ms(start - 1), start - 86400000);
	/* 16:00 UTC on the 28th is already the 29th in the city. */
	assert_int_equal(
	    timeutil_city_day(parse_ok("2026-11-28T16:00:00Z")), day);
	assert_int_equal(
	    timeutil_city_day(parse_ok("2026-11-28T15:59:59Z")), day - 1);
	/* Before the epoch: 1970-01-01T07:59 city time is still day 0. */
	assert_int_equal(timeutil_city_day(-1), 0);
	assert_int_equal(timeutil_city_day(-8 * 3600000), 0);
	assert_int_equal(timeutil_city_day(-8 * 3600000 - 1), -1);
	/* The ends of the range do not overflow. */
	assert_true(timeutil_city_day(INT64_MAX) > 0);
	assert_true(timeutil_city_day(INT64_MIN) < 0);
}

/* Walk every day of 0001..9999 and compare with both conversions. */
static void
test_calendar_exhaustive(void **state)
{
	int y = 1, m = 1, d = 1;
	int64_t n = timeutil_days_from_civil(1, 1, 1);

	(void)state;
	assert_int_equal(timeutil_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(timeutil_days_from_civil(2000, 3, 1), 11017);
	for (;;) {
		int cy, cm, cd;

		assert_int_equal(timeutil_days_from_civil(y, m, d), n);
		timeutil_civil_from_days(n, &cy, &cm, &cd);
		if (cy != y || cm != m || cd != d)
			fail_msg("day %lld: got %04d-%02d-%02d want "
			         "%04d-%02d-%02d",
			    (long long)n, cy, cm, cd, y, m, d);
		if (y == 9999 && m == 12 && d == 31)
			break;
		n++;
		if (++d > timeutil_days_in_month(y, m)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	assert_int_equal(n, timeutil_days_from_civil(9999, 12, 31));
}

static void
test_leap_rules(void **state)
{
	(void)state;
	assert_true(timeutil_is_leap(2024));
	assert_true(timeutil_is_leap(2000));
	assert_false(timeutil_is_leap(1900));
	assert_false(timeutil_is_leap(2026));
	assert_int_equal(timeutil_days_in_month(2024, 2), 29);
	assert_int_equal(timeutil_days_in_month(2026, 2), 28);
	assert_int_equal(timeutil_days_in_month(2026, 4), 30);
	assert_int_equal(timeutil_days_in_month(2026, 0), 0);
	assert_int_equal(timeutil_days_in_month(2026, 13), 0);
}

static void
test_clocks(void **state)
{
	int64_t wall_ms = timeutil_now_ms();
	int64_t wall_us = timeutil_now_us();
	int64_t sys = (int64_t)time(NULL) * 1000;
	int64_t m1 = timeutil_mono_us(), m2;

	(void)state;
	assert_true(wall_ms > sys - 2000 && wall_ms < sys + 2000);
	assert_true(wall_us / 1000 >= wall_ms);
	assert_true(wall_us / 1000 - wall_ms < 1000);
	m2 = timeutil_mono_us();
	assert_true(m2 >= m1);
	assert_true(timeutil_mono_ms() >= m2 / 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc3339_basic),
	    cmocka_unit_test(test_rfc3339_leap_years),
	    cmocka_unit_test(test_rfc3339_time_fields),
	    cmocka_unit_test(test_rfc3339_fractions),
	    cmocka_unit_test(test_rfc3339_offsets),
	    cmocka_unit_test(test_rfc3339_garbage),
	    cmocka_unit_test(test_rfc3339_counted),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_city_days),
	    cmocka_unit_test(test_calendar_exhaustive),
	    cmocka_unit_test(test_leap_rules),
	    cmocka_unit_test(test_clocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

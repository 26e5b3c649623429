/*
 * timeutil - clocks, RFC 3339 and calendar dates in the city's time zone.
 *
 * Calendar arithmetic is done here on plain integers (proleptic Gregorian,
 * day numbers counted from 0001-01-01 internally and from 1970-01-01 at the
 * interface) instead of timegm()/gmtime_r(), so that the results never depend
 * on the process's TZ or locale and so that the parser can reject impossible
 * dates itself rather than have them normalised away (timegm() would happily
 * turn 2026-02-29 into 2026-03-01).  City time is UTC+8: Asia/Shanghai has
 * observed no daylight saving since 1991, so a fixed offset is exact for
 * every time this system handles.
 */
#include "timeutil.h"

#include <string.h>
#include <time.h>

/* Day number of 1970-01-01 counted from 0001-01-01 (which is day 0). */
#define EPOCH_ORDINAL INT64_C(719162)
#define DAYS_PER_400Y 146097
#define DAYS_PER_100Y 36524
#define DAYS_PER_4Y 1461

static const int days_before_month_tab[13] = {
    0,
    0,
    31,
    59,
    90,
    120,
    151,
    181,
    212,
    243,
    273,
    304,
    334,
};

static int64_t
clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
timeutil_now_ms(void)
{
	return clock_us(CLOCK_REALTIME) / 1000;
}

int64_t
timeutil_now_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

int64_t
timeutil_mono_ms(void)
{
	return clock_us(CLOCK_MONOTONIC) / 1000;
}

int64_t
timeutil_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

/* Division rounding towards minus infinity, for dates before the epoch. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int
timeutil_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int
timeutil_days_in_month(int year, int month)
{
	static const int len[13] = {
	    0,
	    31,
	    28,
	    31,
	    30,
	    31,
	    30,
	    31,
	    31,
	    30,
	    31,
	    30,
	    31,
	};

	if (month < 1 || month > 12)
		return 0;
	if (month == 2 && timeutil_is_leap(year))
		return 29;
	return len[month];
}

int64_t
timeutil_days_from_civil(int year, int month, int day)
{
	int64_t y1 = (int64_t)year - 1;
	int64_t ordinal;

	ordinal = 365 * y1 + floor_div(y1, 4) - floor_div(y1, 100) +
	          floor_div(y1, 400);
	ordinal += days_before_month_tab[month];
	if (month > 2 && timeutil_is_leap(year))
		ordinal++;
	ordinal += day - 1;
	return ordinal - EPOCH_ORDINAL;
}

void
timeutil_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	int64_t n = days + EPOCH_ORDINAL;
	int64_t cycles400 = floor_div(n, DAYS_PER_400Y);
	int64_t n100, n4, n1;
	int y, m, leap;

	n -= cycles400 * DAYS_PER_400Y; /* 0 .. 146096 */
	n100 = n / DAYS_PER_100Y;
	n -= n100 * DAYS_PER_100Y;
	n4 = n / DAYS_PER_4Y;
	n -= n4 * DAYS_PER_4Y;
	n1 = n / 365;
	n -= n1 * 365;
	y = (int)(cycles400 * 400 + n100 * 100 + n4 * 4 + n1 + 1);
	/* The last day of a 4-year or 400-year cycle is December 31 of the
	 * leap year that ends it, which the divisions above overshoot. */
	if (n1 == 4 || n100 == 4) {
		*year = y - 1;
		*month = 12;
		*day = 31;
		return;
	}
	leap = timeutil_is_leap(y);
	for (m = 12; m > 1; m--) {
		int before = days_before_month_tab[m] + (m > 2 && leap);

		if (n >= before) {
			n -= before;
			break;
		}
	}
	*year = y;
	*month = m;
	*day = (int)n + 1;
}

/* Read exactly n decimal digits; -1 when any is not a digit. */
static int
read_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parse "YYYY-MM-DD" at s (at least 10 bytes readable) into a day number. */
static int
parse_date_fields(const char *s, int64_t *days, const char **why)
{
	int y, m, d;

	y = read_digits(s, 4);
	m = read_digits(s + 5, 2);
	d = read_digits(s + 8, 2);
	if (y < 0 || s[4] != '-' || m < 0 || s[7] != '-' || d < 0) {
		*why = "expected a date as YYYY-MM-DD";
		return -1;
	}
	if (y == 0) {
		*why = "year 0000 is not supported";
		return -1;
	}
	if (m < 1 || m > 12) {
		*why = "month out of range 01-12";
		return -1;
	}
	if (d < 1 || d > timeutil_days_in_month(y, m)) {
		*why = "day out of range for the month";
		return -1;
	}
	*days = timeutil_days_from_civil(y, m, d);
	return 0;
}

int
timeutil_parse_date_n(
    const char *s, size_t len, int64_t *days, const char **why)
{
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	if (s == NULL || len == 0) {
		*why = "empty date";
		return -1;
	}
	if (len != 10) {
		*why = "expected a date as YYYY-MM-DD";
		return -1;
	}
	return parse_date_fields(s, days, why);
}

int
timeutil_parse_date(const char *s, int64_t *days)
{
	return timeutil_parse_date_n(s, s ? strlen(s) : 0, days, NULL);
}

int
timeutil_parse_rfc3339_n(
    const char *s, size_t len, int64_t *ms, const char **why)
{
	const char *dummy;
	int64_t days, msec = 0, offset_min;
	int hh, mi, ss, oh, om;
	size_t pos;

	if (why == NULL)
		why = &dummy;
	if (s == NULL || len == 0) {
		*why = "empty time";
		return -1;
	}
	if (len < 10 || memchr(s, '\0', len) != NULL) {
		*why = "expected RFC 3339 time like 2026-11-29T08:00:00+08:00";
		return -1;
	}
	if (parse_date_fields(s, &days, why) < 0)
		return -1;
	if (len == 10) {
		*why = "missing time of day: expected YYYY-MM-DDTHH:MM:SS "
		       "and an offset";
		return -1;
	}
	if (s[10] != 'T' && s[10] != 't') {
		*why = "expected 'T' between date and time";
		return -1;
	}
	if (len < 19) {
		*why = "expected the time of day as HH:MM:SS";
		return -1;
	}
	hh = read_digits(s + 11, 2);
	mi = read_digits(s + 14, 2);
	ss = read_digits(s + 17, 2);
	if (hh < 0 || s[13] != ':' || mi < 0 || s[16] != ':' || ss < 0) {
		*why = "expected the time of day as HH:MM:SS";
		return -1;
	}
	if (hh > 23) {
		*why = "hour out of range 00-23";
		return -1;
	}
	if (mi > 59) {
		*why = "minute out of range 00-59";
		return -1;
	}
	if (ss == 60) {
		*why = "leap second 60 is not supported";
		return -1;
	}
	if (ss > 59) {
		*why = "second out of range 00-59";
		return -1;
	}
	pos = 19;
	if (pos < len && s[pos] == '.') {
		int ndigits = 0;

		pos++;
		/* Keep the first three digits (milliseconds); later ones are
		 * checked and dropped, which truncates. */
		while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
			if (ndigits < 3)
				msec = msec * 10 + (s[pos] - '0');
			ndigits++;
			pos++;
		}
		if (ndigits == 0) {
			*why = "expected digits after the decimal point";
			return -1;
		}
		if (ndigits > 9) {
			*why = "more than 9 fractional digits";
			return -1;
		}
		for (int i = ndigits; i < 3; i++)
			msec *= 10;
	}
	if (pos == len) {
		*why = "missing offset: add 'Z' or an offset like +08:00";
		return -1;
	}
	if (s[pos] == 'Z' || s[pos] == 'z') {
		offset_min = 0;
		pos++;
	} else if (s[pos] == '+' || s[pos] == '-') {
		if (len - pos < 6) {
			*why = "expected the offset as +HH:MM or -HH:MM";
			return -1;
		}
		oh = read_digits(s + pos + 1, 2);
		om = read_digits(s + pos + 4, 2);
		if (oh < 0 || s[pos + 3] != ':' || om < 0) {
			*why = "expected the offset as +HH:MM or -HH:MM";
			return -1;
		}
		if (om > 59) {
			*why = "offset minutes out of range 00-59";
			return -1;
		}
		offset_min = oh * 60 + om;
		if (s[pos] == '-')
			offset_min = -offset_min;
		/* Real zones span -12:00 .. +14:00; anything else is a
		 * mistake in the sender's clock setup. */
		if (offset_min > 14 * 60 || offset_min < -12 * 60) {
			*why = "offset outside -12:00..+14:00";
			return -1;
		}
		pos += 6;
	} else {
		*why = "missing offset: add 'Z' or an offset like +08:00";
		return -1;
	}
	if (pos != len) {
		*why = "unexpected characters after the offset";
		return -1;
	}
	*ms = days * TIMEUTIL_MS_PER_DAY +
	      ((int64_t)hh * 3600 + mi * 60 + ss) * 1000 + msec -
	      offset_min * 60000;
	return 0;
}

int
timeutil_parse_rfc3339(const char *s, int64_t *ms)
{
	return timeutil_parse_rfc3339_n(s, s ? strlen(s) : 0, ms, NULL);
}

/* Write a zero-padded decimal of exactly `width` digits. */
static void
put_digits(char *p, int v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Fill "YYYY-MM-DD" (10 bytes, no NUL); -1 when the year is not 1..9999. */
static int
put_date(char *p, int64_t days)
{
	int y, m, d;

	if (days < timeutil_days_from_civil(1, 1, 1) ||
	    days > timeutil_days_from_civil(9999, 12, 31))
		return -1;
	timeutil_civil_from_days(days, &y, &m, &d);
	put_digits(p, y, 4);
	p[4] = '-';
	put_digits(p + 5, m, 2);
	p[7] = '-';
	put_digits(p + 8, d, 2);
	return 0;
}

size_t
timeutil_format_date(int64_t days, char *buf, size_t size)
{
	if (size < TIMEUTIL_DATE_SIZE || put_date(buf, days) < 0) {
		if (size > 0)
			buf[0] = '\0';
		return 0;
	}
	buf[10] = '\0';
	return 10;
}

/*
 * Split epoch ms into the city-time day and the milliseconds into that day,
 * without overflow even at the ends of the int64_t range (epoch ms can come
 * from outside as any integer).
 */
static int64_t
city_day_split(int64_t ms, int64_t *in_day)
{
	int64_t q = ms / TIMEUTIL_MS_PER_DAY;
	int64_t r = ms % TIMEUTIL_MS_PER_DAY;

	if (r < 0) {
		r += TIMEUTIL_MS_PER_DAY;
		q--;
	}
	r += TIMEUTIL_CITY_OFFSET_MS;
	if (r >= TIMEUTIL_MS_PER_DAY) {
		q++;
		r -= TIMEUTIL_MS_PER_DAY;
	}
	if (in_day != NULL)
		*in_day = r;
	return q;
}

size_t
timeutil_format_rfc3339(int64_t ms, char *buf, size_t size)
{
	int64_t in_day;
	int64_t days = city_day_split(ms, &in_day);
	int secs = (int)(in_day / 1000);

	if (size < TIMEUTIL_RFC3339_SIZE || put_date(buf, days) < 0) {
		if (size > 0)
			buf[0] = '\0';
		return 0;
	}
	buf[10] = 'T';
	put_digits(buf + 11, secs / 3600, 2);
	buf[13] = ':';
	put_digits(buf + 14, secs / 60 % 60, 2);
	buf[16] = ':';
	put_digits(buf + 17, secs % 60, 2);
	buf[19] = '.';
	put_digits(buf + 20, (int)(in_day % 1000), 3);
	memcpy(buf + 23, "+08:00", 7); /* with the NUL */
	return 29;
}

int64_t
timeutil_date_start_ms(int64_t days)
{
	return days * TIMEUTIL_MS_PER_DAY - TIMEUTIL_CITY_OFFSET_MS;
}

int64_t
timeutil_city_day(int64_t ms)
{
	return city_day_split(ms, NULL);
}

int64_t
timeutil_day_start_ms(int64_t ms)
{
	return timeutil_date_start_ms(timeutil_city_day(ms));
}

int64_t
timeutil_day_end_ms(int64_t ms)
{
	return timeutil_date_start_ms(timeutil_city_day(ms) + 1);
}

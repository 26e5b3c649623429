/*
 * timeutil - clocks, RFC 3339 and calendar dates in the city's time zone.
 *
 * Everything outside the process speaks RFC 3339 with an explicit offset or
 * integer epoch milliseconds (DESIGN.md §4); inside, a time is an int64_t of
 * epoch milliseconds and a date is an int64_t count of days since
 * 1970-01-01.  The city is Asia/Shanghai, which has been UTC+8 all year,
 * without daylight saving, since 1991, so "city time" here is a fixed +08:00
 * offset: no tz database, no TZ variable, no localtime(), and nothing here
 * reads or changes the process's TZ.  Days in city time drive the daily
 * partitions of readings and every "today" in reports.
 *
 * Parsers are strict (fixed field widths, real calendar ranges, an offset is
 * required) and say why they refuse; callers such as the JSON getters and
 * the HTTP handlers turn that reason into their error message.
 */
#ifndef ANQUAN_TIMEUTIL_H
#define ANQUAN_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define TIMEUTIL_MS_PER_DAY INT64_C(86400000)
/* The city's offset from UTC: Asia/Shanghai, UTC+8 with no DST since 1991. */
#define TIMEUTIL_CITY_OFFSET_MS (INT64_C(8) * 3600 * 1000)
/* "2026-11-29T08:00:00.000+08:00" and its NUL. */
#define TIMEUTIL_RFC3339_SIZE 30
/* "2026-11-29" and its NUL. */
#define TIMEUTIL_DATE_SIZE 11

/* Wall-clock time (CLOCK_REALTIME) in epoch milliseconds / microseconds. */
int64_t timeutil_now_ms(void);
int64_t timeutil_now_us(void);

/* Monotonic time (CLOCK_MONOTONIC) for timeouts and durations; arbitrary
 * origin, never goes back. */
int64_t timeutil_mono_ms(void);
int64_t timeutil_mono_us(void);

/*
 * Parse a NUL-terminated RFC 3339 date-time with offset, e.g.
 * "2026-11-29T08:00:00+08:00", "2026-11-29t00:00:00.5z", into epoch ms.
 * Returns 0, or -1 when it is not one.
 */
int timeutil_parse_rfc3339(const char *s, int64_t *ms);

/*
 * The same on len bytes that need not be NUL-terminated.  On failure
 * returns -1 and, when why is not NULL, points it at a static sentence
 * saying what is wrong ("missing offset: ...").  Years 0001-9999; 'T'/'t'
 * and 'Z'/'z'; up to 9 fractional digits, truncated to the millisecond;
 * hour 00-23 (no 24:00), no leap second; offset within -12:00..+14:00.
 */
int timeutil_parse_rfc3339_n(
    const char *s, size_t len, int64_t *ms, const char **why);

/*
 * Format epoch ms as RFC 3339 in city time with milliseconds,
 * "2026-11-29T08:00:00.000+08:00".  Returns the length written (29), or 0
 * when size is below TIMEUTIL_RFC3339_SIZE or the year falls outside
 * 0001-9999 (buf is then "" if size allows).
 */
size_t timeutil_format_rfc3339(int64_t ms, char *buf, size_t size);

/* Parse "YYYY-MM-DD" (NUL-terminated) into days since 1970-01-01. */
int timeutil_parse_date(const char *s, int64_t *days);

/* The same on len bytes, with a reason on failure as above. */
int timeutil_parse_date_n(
    const char *s, size_t len, int64_t *days, const char **why);

/* Format days since 1970-01-01 as "YYYY-MM-DD"; returns 10, or 0 as above. */
size_t timeutil_format_date(int64_t days, char *buf, size_t size);

/* Epoch ms of 00:00 city time on the given day (years 0001-9999). */
int64_t timeutil_date_start_ms(int64_t days);

/* The city-time day (days since 1970-01-01) that contains epoch ms. */
int64_t timeutil_city_day(int64_t ms);

/* Start of the city-time day containing ms, and the end of it, which is
 * the next day's start (ranges are half-open: start <= t < end).  For times
 * within the years 0001-9999, as every parsed time is. */
int64_t timeutil_day_start_ms(int64_t ms);
int64_t timeutil_day_end_ms(int64_t ms);

/* Gregorian calendar helpers (proleptic; year 1..9999 where it matters). */
int timeutil_is_leap(int year);
int timeutil_days_in_month(int year, int month);
/* Days since 1970-01-01 of a valid calendar date. */
int64_t timeutil_days_from_civil(int year, int month, int day);
/* The calendar date of a day number. */
void timeutil_civil_from_days(int64_t days, int *year, int *month, int *day);

#endif

/*
 * test_alarmd_api - the pure parts of alarmd's HTTP API
 * (services/alarmd/api_pure.c), malformed input first.
 *
 * What a client sends is decoded here before the store is touched: an
 * id in a path, a silence's duration, the body of an acknowledgement or
 * resolution, the body of a new silence (every field, every refusal, the
 * bounds of 1 minute and 30 days exactly).  The roster gaps run through
 * route_gaps() piece by piece; they are checked against a minute-by-minute
 * reference on lists longer than a piece, with long shifts reaching over
 * several pieces, holes at the start, middle and end, and truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/alarmd/api.h"
#include "http_param.h"

/* A valid USCC (its check character verified in test_ids). */
#define GOOD_USCC "91350100M000100Y43"
#define NOW INT64_C(1795910400000) /* 2026-11-29T08:00:00+08:00 */
#define MIN INT64_C(60000)
#define HOUR INT64_C(3600000)
#define DAY INT64_C(86400000)

/* The reason of a refusal must contain want. */
#define assert_why(why, want)                                                  \
	do {                                                                   \
		if (strstr((why), (want)) == NULL)                             \
			fail_msg("reason '%s' lacks '%s'", (why), (want));     \
	} while (0)

/* --- ids ---------------------------------------------------------------- */

static void
test_id_bad(void **state)
{
	static const char *const bad[] = {"", "0", "01", "-1", "+1", "1a", " 1",
	    "1 ", "1.0", "0x10", "9223372036854775808", "99999999999999999999",
	    "１"};
	int64_t id = 7;

	(void)state;
	assert_int_equal(api_id_parse(NULL, &id), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (api_id_parse(bad[i], &id) != -1)
			fail_msg("'%s' accepted as an id", bad[i]);
	assert_int_equal(id, 7);
}

static void
test_id_good(void **state)
{
	int64_t id;

	(void)state;
	assert_int_equal(api_id_parse("1", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(api_id_parse("4096", &id), 0);
	assert_int_equal(id, 4096);
	assert_int_equal(api_id_parse("9223372036854775807", &id), 0);
	assert_true(id == INT64_MAX);
}

/* --- durations ---------------------------------------------------------- */

static void
test_duration_bad(void **state)
{
	static const char *const bad[] = {"", "2", "h", "2x", "2H", "1m1h",
	    "1h1h", "2 h", " 2h", "2h ", "-1h", "1.5h", "1e3s", "2hm",
	    "1234567890s", "999999999d", "2ms", "PT2H"};
	char why[HTTP_PARAM_WHY_SIZE];
	int64_t ms = 5;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (api_duration_parse(bad[i], &ms, why, sizeof(why)) != -1)
			fail_msg("'%s' accepted as a duration", bad[i]);
		assert_why(why, "is not a duration");
		assert_why(why, "units d, h, m, s");
	}
	assert_int_equal(api_duration_parse(NULL, &ms, why, sizeof(why)), -1);
	assert_int_equal(ms, 5);
}

static void
test_duration_good(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} good[] = {
	    {"30s", 30000},
	    {"1m", MIN},
	    {"90m", 90 * MIN},
	    {"2h", 2 * HOUR},
	    {"1h30m", 90 * MIN},
	    {"7d", 7 * DAY},
	    {"30d", 30 * DAY},
	    {"1d2h3m4s", DAY + 2 * HOUR + 3 * MIN + 4000},
	    {"0h", 0},
	    {"000000001h", HOUR},
	};
	char why[HTTP_PARAM_WHY_SIZE];
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (api_duration_parse(good[i].s, &ms, why, sizeof(why)) != 0)
			fail_msg("'%s' refused: %s", good[i].s, why);
		if (ms != good[i].ms)
			fail_msg("'%s' gave %lld ms", good[i].s, (long long)ms);
	}
}

/* --- notes -------------------------------------------------------------- */

static int
note(const char *body, char **out, char *why, size_t wlen)
{
	return api_note_parse(body, strlen(body), out, why, wlen);
}

static void
test_note_bad(void **state)
{
	static const struct {
		const char *body, *why;
	} bad[] = {
	    {"{", "the body is not JSON"},
	    {"note", "the body is not JSON"},
	    {"{\"note\":\"a\"} x", "the body is not JSON"},
	    {"[]", "must be a JSON object, got array"},
	    {"\"a\"", "must be a JSON object, got string"},
	    {"{\"note\":1}", "field 'note' must be a string, got number"},
	    {"{\"note\":[\"a\"]}", "field 'note' must be a string"},
	    {"{\"memo\":\"a\"}", "unknown field 'memo'"},
	    {"{\"note\":\"a\",\"note\":\"b\"}",
	        "field 'note' is given more than once"},
	};
	char why[HTTP_PARAM_WHY_SIZE + 200];
	char *out = (char *)1;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (note(bad[i].body, &out, why, sizeof(why)) != -1)
			fail_msg("'%s' accepted", bad[i].body);
		assert_null(out);
		assert_why(why, bad[i].why);
	}
}

static void
test_note_absent(void **state)
{
	static const char *const none[] = {
	    "", " \r\n\t", "{}", "{\"note\":null}", " { } "};
	char why[HTTP_PARAM_WHY_SIZE];
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		out = (char *)1;
		if (note(none[i], &out, why, sizeof(why)) != 0)
			fail_msg("'%s' refused: %s", none[i], why);
		assert_null(out);
	}
}

static void
test_note_text(void **state)
{
	char why[HTTP_PARAM_WHY_SIZE], *body, *out;
	size_t n;

	(void)state;
	assert_int_equal(note("{\"note\":\"已到场处置，\\n阀门已关闭\"}", &out,
	                     why, sizeof(why)),
	    0);
	assert_string_equal(out, "已到场处置，\n阀门已关闭");
	free(out);

	/* 2,000 characters of 3 bytes each are kept; one more is not. */
	n = API_NOTE_MAX_CHARS;
	body = malloc(n * 3 + 32);
	assert_non_null(body);
	strcpy(body, "{\"note\":\"");
	for (size_t i = 0; i < n; i++)
		strcat(body, "处");
	strcat(body, "\"}");
	assert_int_equal(note(body, &out, why, sizeof(why)), 0);
	assert_int_equal(strlen(out), n * 3);
	free(out);
	strcpy(body + strlen(body) - 2, "置\"}");
	assert_int_equal(note(body, &out, why, sizeof(why)), -1);
	assert_why(why, "field 'note' has 2001 characters; at most 2000");
	free(body);
}

/* --- silences ----------------------------------------------------------- */

static int
silence(const char *body, struct api_silence_in *in, char *why, size_t wlen)
{
	return api_silence_parse(body, strlen(body), NOW, in, why, wlen);
}

static void
test_silence_bad(void **state)
{
	static const struct {
		const char *body, *why;
	} bad[] = {
	    {"", "the body is not JSON"},
	    {"[1]", "must be a JSON object, got array"},
	    {"{\"reason\":\"r\",\"duration\":\"2h\"}",
	        "field 'matchers' is required"},
	    {"{\"matchers\":[],\"reason\":\"r\",\"duration\":\"2h\"}",
	        "field 'matchers' must be"},
	    {"{\"matchers\":{},\"reason\":\"r\",\"duration\":\"2h\"}",
	        "needs at least one of uscc, district, point, cause, level"},
	    {"{\"matchers\":{\"site\":\"x\"},\"reason\":\"r\",\"duration\":"
	     "\"2h\"}",
	        "unknown field 'site': matchers takes uscc, district, point, "
	        "cause, level"},
	    {"{\"matchers\":{\"level\":\"red\",\"level\":\"red\"},\"reason\":"
	     "\"r\",\"duration\":\"2h\"}",
	        "field 'level' is given more than once"},
	    {"{\"matchers\":{\"district\":370112},\"reason\":\"r\","
	     "\"duration\":\"2h\"}",
	        "field 'matchers.district' must be a string, got number"},
	    {"{\"matchers\":{\"uscc\":\"91350100M000100Y44\"},\"reason\":"
	     "\"r\",\"duration\":\"2h\"}",
	        "'matchers.uscc' is not a valid unified social credit code"},
	    {"{\"matchers\":{\"district\":\"37011\"},\"reason\":\"r\","
	     "\"duration\":\"2h\"}",
	        "'matchers.district' must be a 6-digit GB/T 2260"},
	    {"{\"matchers\":{\"point\":\"P 1\"},\"reason\":\"r\","
	     "\"duration\":\"2h\"}",
	        "field 'matchers.point' must be a monitoring point code"},
	    {"{\"matchers\":{\"point\":\"\"},\"reason\":\"r\","
	     "\"duration\":\"2h\"}",
	        "field 'matchers.point' must be"},
	    {"{\"matchers\":{\"cause\":\"fire\"},\"reason\":\"r\","
	     "\"duration\":\"2h\"}",
	        "field 'matchers.cause' must be alarm, device, risk"},
	    {"{\"matchers\":{\"cause\":\"warning:\"},\"reason\":\"r\","
	     "\"duration\":\"2h\"}",
	        "field 'matchers.cause' must be"},
	    {"{\"matchers\":{\"level\":\"purple\"},\"reason\":\"r\","
	     "\"duration\":\"2h\"}",
	        "field 'matchers.level' must be one of blue, yellow, orange, "
	        "red"},
	    {"{\"matchers\":{\"level\":\"red\"},\"duration\":\"2h\"}",
	        "field 'reason' is required"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\" \\n\","
	     "\"duration\":\"2h\"}",
	        "field 'reason' must say why"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":7,"
	     "\"duration\":\"2h\"}",
	        "field 'reason' must be a string, got number"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\"}",
	        "field 'duration' (such as \"2h\") or 'ends_at'"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"duration\":\"2h\",\"ends_at\":\"2026-11-29T10:00:00+08:00\"}",
	        "give either 'duration' or 'ends_at', not both"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"duration\":\"2 hours\"}",
	        "field 'duration': '2 hours' is not a duration"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"duration\":7200}",
	        "field 'duration' must be a string, got number"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"duration\":\"59s\"}",
	        "from 1 minute to 30 days; 'duration' is less than a minute"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"duration\":\"30d1s\"}",
	        "'duration' is more than 30 days away"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"ends_at\":\"2026-11-29T07:00:00+08:00\"}",
	        "'ends_at' is in the past"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"ends_at\":\"2026-11-29T08:00:59+08:00\"}",
	        "'ends_at' is less than a minute away"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"ends_at\":\"2026-12-29T08:00:01+08:00\"}",
	        "'ends_at' is more than 30 days away"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"ends_at\":\"2026-11-29 10:00\"}",
	        "field 'ends_at' must be an RFC 3339 time with an offset"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"ends_at\":\"2026-11-29T10:00:00\"}",
	        "field 'ends_at' must be an RFC 3339 time"},
	    {"{\"matchers\":{\"level\":\"red\"},\"reason\":\"r\","
	     "\"duration\":\"2h\",\"starts_at\":\"x\"}",
	        "unknown field 'starts_at': a silence takes matchers, reason, "
	        "duration, ends_at"},
	};
	struct api_silence_in in;
	char why[HTTP_PARAM_WHY_SIZE + 200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (silence(bad[i].body, &in, why, sizeof(why)) != -1)
			fail_msg("'%s' accepted", bad[i].body);
		assert_why(why, bad[i].why);
	}
}

static void
test_silence_reason_long(void **state)
{
	struct api_silence_in in;
	char why[HTTP_PARAM_WHY_SIZE + 200];
	char *body = malloc(API_REASON_MAX_CHARS * 3 + 200);
	size_t at;

	(void)state;
	assert_non_null(body);
	strcpy(body, "{\"matchers\":{\"level\":\"red\"},\"duration\":\"1h\","
	             "\"reason\":\"");
	for (int i = 0; i < API_REASON_MAX_CHARS; i++)
		strcat(body, "检");
	at = strlen(body);
	strcpy(body + at, "\"}");
	assert_int_equal(silence(body, &in, why, sizeof(why)), 0);
	assert_int_equal(strlen(in.reason), API_REASON_MAX_CHARS * 3);
	strcpy(body + at, "修\"}");
	assert_int_equal(silence(body, &in, why, sizeof(why)), -1);
	assert_why(why, "field 'reason' has 501 characters; at most 500");
	free(body);
}

static void
test_silence_duration(void **state)
{
	struct api_silence_in in;
	char why[HTTP_PARAM_WHY_SIZE + 200];
	struct json_out w;

	(void)state;
	assert_int_equal(
	    silence("{\"matchers\":{\"uscc\":\"" GOOD_USCC "\",\"district\":"
	            "\"370112\",\"point\":\"P-01.温度\",\"cause\":\"alarm\","
	            "\"level\":\"orange\"},\"reason\":\"停车检修\","
	            "\"duration\":\"2h\"}",
	        &in, why, sizeof(why)),
	    0);
	assert_string_equal(in.uscc, GOOD_USCC);
	assert_string_equal(in.district, "370112");
	assert_string_equal(in.point, "P-01.温度");
	assert_string_equal(in.cause, "alarm");
	assert_true(in.has_level);
	assert_int_equal(in.level, AL_ORANGE);
	assert_string_equal(in.reason, "停车检修");
	assert_true(in.starts_ms == NOW);
	assert_true(in.duration_ms == 2 * HOUR);
	assert_true(in.ends_ms == NOW + 2 * HOUR);

	json_out_init(&w);
	api_silence_matchers_json(&in, &w);
	assert_string_equal(json_out_data(&w),
	    "{\"uscc\":\"" GOOD_USCC "\",\"district\":\"370112\","
	    "\"point\":\"P-01.温度\",\"cause\":\"alarm\",\"level\":"
	    "\"orange\"}");
	json_out_free(&w);

	/* The bounds themselves are accepted. */
	assert_int_equal(silence("{\"matchers\":{\"level\":\"red\"},"
	                         "\"reason\":\"r\",\"duration\":\"1m\"}",
	                     &in, why, sizeof(why)),
	    0);
	assert_true(in.duration_ms == MIN);
	assert_int_equal(silence("{\"matchers\":{\"level\":\"red\"},"
	                         "\"reason\":\"r\",\"duration\":\"30d\"}",
	                     &in, why, sizeof(why)),
	    0);
	assert_true(in.ends_ms == NOW + 30 * DAY);
}

static void
test_silence_ends_at(void **state)
{
	static const char *const causes[] = {"device", "risk", "warning:HS-001",
	    "deadline:hazard_due:H-7", "roster_gap:370112"};
	struct api_silence_in in;
	char why[HTTP_PARAM_WHY_SIZE + 200], body[300];
	struct json_out w;

	(void)state;
	assert_int_equal(
	    silence("{\"matchers\":{\"district\":\"370112\"},\"reason\":\"r\","
	            "\"ends_at\":\"2026-11-29T02:30:00Z\"}",
	        &in, why, sizeof(why)),
	    0);
	assert_true(in.duration_ms == 0);
	assert_true(in.ends_ms == NOW + 2 * HOUR + 30 * MIN);
	assert_int_equal(in.has_level, 0);
	assert_string_equal(in.uscc, "");
	json_out_init(&w);
	api_silence_matchers_json(&in, &w);
	assert_string_equal(json_out_data(&w), "{\"district\":\"370112\"}");
	json_out_free(&w);

	/* Exactly a minute and exactly 30 days ahead. */
	assert_int_equal(silence("{\"matchers\":{\"level\":\"red\"},"
	                         "\"reason\":\"r\",\"ends_at\":"
	                         "\"2026-11-29T08:01:00+08:00\"}",
	                     &in, why, sizeof(why)),
	    0);
	assert_int_equal(silence("{\"matchers\":{\"level\":\"red\"},"
	                         "\"reason\":\"r\",\"ends_at\":"
	                         "\"2026-12-29T08:00:00+08:00\"}",
	                     &in, why, sizeof(why)),
	    0);

	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		snprintf(body, sizeof(body),
		    "{\"matchers\":{\"cause\":\"%s\"},\"reason\":\"r\","
		    "\"duration\":\"1h\"}",
		    causes[i]);
		if (silence(body, &in, why, sizeof(why)) != 0)
			fail_msg("cause '%s' refused: %s", causes[i], why);
		assert_string_equal(in.cause, causes[i]);
	}
}

/* --- roster gaps -------------------------------------------------------- */

/*
 * The reference: minute by minute over [from, to) (times in minutes), the
 * stretches no span covers.
 */
static size_t
ref_gaps(const struct api_span *s, size_t n, int64_t from, int64_t to,
    struct route_gap *out, size_t max)
{
	size_t count = 0;
	int in_gap = 0;

	for (int64_t t = from; t < to; t += MIN) {
		int covered = 0;

		for (size_t i = 0; i < n && !covered; i++)
			covered = s[i].start_ms <= t && t < s[i].end_ms;
		if (!covered && !in_gap) {
			if (count < max)
				out[count].from_ms = t;
			count++;
			in_gap = 1;
		}
		if (covered && in_gap) {
			if (count <= max)
				out[count - 1].to_ms = t;
			in_gap = 0;
		}
	}
	if (in_gap && count <= max)
		out[count - 1].to_ms = to;
	return count;
}

/* Compare api_unit_gaps() with the reference. */
static void
check_gaps(const struct api_span *s, size_t n, int64_t from, int64_t to)
{
	struct route_gap got[400], want[400];
	size_t ng = api_unit_gaps("370112", s, n, from, to, got, 400);
	size_t nw = ref_gaps(s, n, from, to, want, 400);

	if (ng != nw)
		fail_msg("%zu gaps, want %zu", ng, nw);
	for (size_t i = 0; i < ng && i < 400; i++)
		if (got[i].from_ms != want[i].from_ms ||
		    got[i].to_ms != want[i].to_ms)
			fail_msg("gap %zu: [%lld, %lld), want [%lld, %lld)", i,
			    (long long)got[i].from_ms, (long long)got[i].to_ms,
			    (long long)want[i].from_ms,
			    (long long)want[i].to_ms);
}

static void
test_gaps_simple(void **state)
{
	const struct api_span day[] = {
	    {NOW + 2 * HOUR, NOW + 8 * HOUR},   /* hole at the start */
	    {NOW + 8 * HOUR, NOW + 12 * HOUR},  /* adjacent: one cover */
	    {NOW + 10 * HOUR, NOW + 11 * HOUR}, /* inside another */
	    {NOW + 14 * HOUR, NOW + 20 * HOUR}, /* hole in the middle */
	};
	struct route_gap g[4];

	(void)state;
	/* Nobody at all: the whole period. */
	assert_int_equal(
	    api_unit_gaps("AWB", NULL, 0, NOW, NOW + DAY, g, 4), 1);
	assert_true(g[0].from_ms == NOW && g[0].to_ms == NOW + DAY);
	/* An empty period has no gap. */
	assert_int_equal(api_unit_gaps("AWB", day, 4, NOW, NOW, g, 4), 0);
	assert_int_equal(api_unit_gaps("AWB", day, 4, NOW + 1, NOW, g, 4), 0);

	assert_int_equal(api_unit_gaps("AWB", day, 4, NOW, NOW + DAY, g, 4), 3);
	assert_true(g[0].from_ms == NOW && g[0].to_ms == NOW + 2 * HOUR);
	assert_true(
	    g[1].from_ms == NOW + 12 * HOUR && g[1].to_ms == NOW + 14 * HOUR);
	assert_true(g[2].from_ms == NOW + 20 * HOUR && g[2].to_ms == NOW + DAY);
	check_gaps(day, 4, NOW, NOW + DAY);

	/* Covered throughout, shifts reaching outside the period. */
	assert_int_equal(
	    api_unit_gaps("AWB", day, 4, NOW + 3 * HOUR, NOW + 12 * HOUR, g, 4),
	    0);
	/* At most max written, all counted. */
	assert_int_equal(api_unit_gaps("AWB", day, 4, NOW, NOW + DAY, g, 1), 3);
	assert_true(g[0].from_ms == NOW && g[0].to_ms == NOW + 2 * HOUR);
}

static void
test_gaps_many_pieces(void **state)
{
	struct api_span s[300];
	size_t n = 0;

	(void)state;
	/* Before the period, and one long shift reaching over many
	 * pieces of short ones that start under it. */
	s[n++] = (struct api_span){NOW - 3 * HOUR, NOW + 30 * MIN};
	s[n++] = (struct api_span){NOW + HOUR, NOW + 40 * HOUR};
	for (int i = 0; i < 100; i++, n++)
		s[n] = (struct api_span){NOW + HOUR + i * 10 * MIN,
		    NOW + HOUR + i * 10 * MIN + 5 * MIN};
	/* Then short shifts with holes between some of them. */
	for (int i = 0; i < 150; i++, n++) {
		int64_t at = NOW + 41 * HOUR + i * 20 * MIN;

		s[n] = (struct api_span){at, at + (i % 3 == 0 ? 20 : 15) * MIN};
	}
	/* A shift of the same start as another, and one ending last. */
	s[n++] = (struct api_span){NOW + 91 * HOUR, NOW + 92 * HOUR};
	s[n++] = (struct api_span){NOW + 91 * HOUR, NOW + 100 * HOUR};
	check_gaps(s, n, NOW, NOW + 5 * DAY);
	check_gaps(s, n, NOW + 2 * HOUR, NOW + 60 * HOUR);
	check_gaps(s, n, NOW + 45 * HOUR, NOW + 46 * HOUR);
	check_gaps(s, n, NOW - DAY, NOW + 2 * DAY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_id_bad),
	    cmocka_unit_test(test_id_good),
	    cmocka_unit_test(test_duration_bad),
	    cmocka_unit_test(test_duration_good),
	    cmocka_unit_test(test_note_bad),
	    cmocka_unit_test(test_note_absent),
	    cmocka_unit_test(test_note_text),
	    cmocka_unit_test(test_silence_bad),
	    cmocka_unit_test(test_silence_reason_long),
	    cmocka_unit_test(test_silence_duration),
	    cmocka_unit_test(test_silence_ends_at),
	    cmocka_unit_test(test_gaps_simple),
	    cmocka_unit_test(test_gaps_many_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

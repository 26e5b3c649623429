/*
 * test_riskd_grade - risk levels and their tables (level.c) and the static
 * gradings of hazard sources and risk points (grade.c).
 *
 * Every bound the standards put a number on is checked on the bound and
 * just off it: R 10, 50 and 100, S 1, alpha's people counts, LEC D 70, 160
 * and 320, every LS product.  Figures sit exactly on a bound by choice of
 * inputs (q/Q with exact quotients), so the tests show the exact >= of
 * grade.h, and a few show why values are settled to 12 digits first.
 * Dates were worked out with another language's date library, and the
 * calendar is walked month by month over 0001..9999 against a month table
 * kept here.  Every parser is fed malformed specs, and a refusal must name
 * the entry and leave the caller's table as it was.
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

#include "../../services/riskd/grade.h"
#include "../../services/riskd/level.h"

/* Days since 1970-01-01 of the dates used below. */
#define D_0001_01_01 (-719162)
#define D_1899_02_28 (-25874)
#define D_1900_02_28 (-25509)
#define D_1904_02_29 (-24048)
#define D_1959_12_31 (-3654)
#define D_1960_03_31 (-3563)
#define D_1969_12_31 (-1)
#define D_1970_02_28 58
#define D_1996_02_29 9555
#define D_2000_02_29 11016
#define D_2023_01_31 19388
#define D_2023_02_28 19416
#define D_2024_01_31 19753
#define D_2024_02_29 19782
#define D_2024_03_31 19813
#define D_2024_10_31 20027
#define D_2024_11_30 20057
#define D_2024_12_31 20088
#define D_2025_02_28 20147
#define D_2026_02_28 20512
#define D_2026_11_29 20786
#define D_2029_11_29 21882
#define D_2096_02_29 46080
#define D_2100_02_28 47540
#define D_9999_12_01 2932866

/* Doubles compared bit for bit: the point of these tests is exactness. */
#define assert_exact(a, b)                                                     \
	do {                                                                   \
		double a_ = (a), b_ = (b);                                     \
		if (!(a_ == b_))                                               \
			fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);    \
	} while (0)

/* why contains part (case-sensitive). */
static void
assert_why(const char *why, const char *part)
{
	if (strstr(why, part) == NULL)
		fail_msg("reason '%s' lacks '%s'", why, part);
}

/* --- level names -------------------------------------------------------- */

static void
test_level_names(void **state)
{
	(void)state;
	assert_string_equal(level_name(LEVEL_BLUE), "blue");
	assert_string_equal(level_name(LEVEL_YELLOW), "yellow");
	assert_string_equal(level_name(LEVEL_ORANGE), "orange");
	assert_string_equal(level_name(LEVEL_RED), "red");
	assert_string_equal(level_colour_zh(LEVEL_BLUE), "蓝色");
	assert_string_equal(level_colour_zh(LEVEL_YELLOW), "黄色");
	assert_string_equal(level_colour_zh(LEVEL_ORANGE), "橙色");
	assert_string_equal(level_colour_zh(LEVEL_RED), "红色");
	assert_string_equal(level_risk_zh(LEVEL_BLUE), "低风险");
	assert_string_equal(level_risk_zh(LEVEL_YELLOW), "一般风险");
	assert_string_equal(level_risk_zh(LEVEL_ORANGE), "较大风险");
	assert_string_equal(level_risk_zh(LEVEL_RED), "重大风险");
	assert_string_equal(level_name((enum risk_level)4), "");
	assert_string_equal(level_colour_zh((enum risk_level) - 1), "");
	assert_string_equal(level_risk_zh((enum risk_level)LEVEL_COUNT), "");
}

static void
test_level_parse(void **state)
{
	enum risk_level l = LEVEL_BLUE;

	(void)state;
	assert_int_equal(level_parse("red", 3, &l), 0);
	assert_int_equal(l, LEVEL_RED);
	assert_int_equal(level_parse("orange", 6, &l), 0);
	assert_int_equal(l, LEVEL_ORANGE);
	assert_int_equal(level_parse("yellow", 6, &l), 0);
	assert_int_equal(l, LEVEL_YELLOW);
	assert_int_equal(level_parse("blue", 4, &l), 0);
	assert_int_equal(l, LEVEL_BLUE);
	/* len counts: a prefix of a longer string is the word it spells. */
	assert_int_equal(level_parse("redx", 3, &l), 0);
	assert_int_equal(l, LEVEL_RED);
	l = LEVEL_ORANGE;
	assert_int_equal(level_parse("redx", 4, &l), -1);
	assert_int_equal(level_parse("re", 2, &l), -1);
	assert_int_equal(level_parse("Red", 3, &l), -1);
	assert_int_equal(level_parse("", 0, &l), -1);
	assert_int_equal(level_parse("green", 5, &l), -1);
	assert_int_equal(level_parse(NULL, 0, &l), -1);
	assert_int_equal(l, LEVEL_ORANGE);
}

static void
test_level_raise_and_max(void **state)
{
	(void)state;
	assert_int_equal(level_raise(LEVEL_BLUE), LEVEL_YELLOW);
	assert_int_equal(level_raise(LEVEL_YELLOW), LEVEL_ORANGE);
	assert_int_equal(level_raise(LEVEL_ORANGE), LEVEL_RED);
	assert_int_equal(level_raise(LEVEL_RED), LEVEL_RED);
	assert_int_equal(level_max(LEVEL_BLUE, LEVEL_ORANGE), LEVEL_ORANGE);
	assert_int_equal(level_max(LEVEL_RED, LEVEL_YELLOW), LEVEL_RED);
	assert_int_equal(level_max(LEVEL_YELLOW, LEVEL_YELLOW), LEVEL_YELLOW);
}

/* --- spec helpers -------------------------------------------------------- */

static void
test_spec_next(void **state)
{
	const char *cur = " a , b,,c ", *e;
	size_t len;

	(void)state;
	assert_int_equal(level_spec_next(&cur, &e, &len), 1);
	assert_int_equal(len, 1);
	assert_memory_equal(e, "a", 1);
	assert_int_equal(level_spec_next(&cur, &e, &len), 1);
	assert_int_equal(len, 1);
	assert_memory_equal(e, "b", 1);
	assert_int_equal(level_spec_next(&cur, &e, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(level_spec_next(&cur, &e, &len), 1);
	assert_int_equal(len, 1);
	assert_memory_equal(e, "c", 1);
	assert_int_equal(level_spec_next(&cur, &e, &len), 0);
	assert_null(cur);
}

static void
test_spec_number(void **state)
{
	double v = 42;

	(void)state;
	assert_int_equal(level_spec_number("70", 2, &v), 0);
	assert_exact(v, 70);
	assert_int_equal(level_spec_number("0.5", 3, &v), 0);
	assert_exact(v, 0.5);
	assert_int_equal(level_spec_number("1e2", 3, &v), 0);
	assert_exact(v, 100);
	assert_int_equal(level_spec_number("-3", 2, &v), 0);
	assert_exact(v, -3);
	/* Only len bytes are read. */
	assert_int_equal(level_spec_number("160:orange", 3, &v), 0);
	assert_exact(v, 160);
	v = 42;
	assert_int_equal(level_spec_number("", 0, &v), -1);
	assert_int_equal(level_spec_number("inf", 3, &v), -1);
	assert_int_equal(level_spec_number("nan", 3, &v), -1);
	assert_int_equal(level_spec_number("0x10", 4, &v), -1);
	assert_int_equal(level_spec_number("1e999", 5, &v), -1);
	assert_int_equal(level_spec_number("7 0", 3, &v), -1);
	assert_int_equal(level_spec_number("1.2.3", 5, &v), -1);
	assert_int_equal(level_spec_number("e", 1, &v), -1);
	assert_int_equal(level_spec_number("1\0"
	                                   "2",
	                     3, &v),
	    -1);
	assert_exact(v, 42);
}

/* --- bands --------------------------------------------------------------- */

static void
test_bands_default_lec_bounds(void **state)
{
	struct risk_point_cfg c;

	(void)state;
	risk_point_cfg_init(&c);
	assert_int_equal(c.lec.n, 3);
	assert_int_equal(c.lec.otherwise, LEVEL_BLUE);
	assert_int_equal(bands_level(&c.lec, 10000), LEVEL_RED);
	assert_int_equal(bands_level(&c.lec, 320.5), LEVEL_RED);
	assert_int_equal(bands_level(&c.lec, nextafter(320, 1000)), LEVEL_RED);
	assert_int_equal(bands_level(&c.lec, 320), LEVEL_ORANGE);
	assert_int_equal(bands_level(&c.lec, 160), LEVEL_ORANGE);
	assert_int_equal(bands_level(&c.lec, nextafter(160, 0)), LEVEL_YELLOW);
	assert_int_equal(bands_level(&c.lec, 70), LEVEL_YELLOW);
	assert_int_equal(bands_level(&c.lec, 69.9), LEVEL_BLUE);
	assert_int_equal(bands_level(&c.lec, nextafter(70, 0)), LEVEL_BLUE);
	assert_int_equal(bands_level(&c.lec, 0), LEVEL_BLUE);
	assert_int_equal(bands_level(&c.lec, NAN), LEVEL_BLUE);
}

static void
test_bands_custom_spec(void **state)
{
	struct bands b;
	char why[256] = "";

	(void)state;
	/* LS variant B of standards.md 4.2, written with spaces. */
	if (bands_parse(" >= 20 : red ,\t> 8:orange,>=4 :  yellow ", &b, why,
	        sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_int_equal(b.n, 3);
	assert_exact(b.band[0].bound, 20);
	assert_int_equal(b.band[0].inclusive, 1);
	assert_int_equal(b.band[0].level, LEVEL_RED);
	assert_exact(b.band[1].bound, 8);
	assert_int_equal(b.band[1].inclusive, 0);
	assert_int_equal(b.band[1].level, LEVEL_ORANGE);
	assert_int_equal(b.band[2].level, LEVEL_YELLOW);
	assert_int_equal(b.otherwise, LEVEL_BLUE);
	assert_int_equal(bands_level(&b, 25), LEVEL_RED);
	assert_int_equal(bands_level(&b, 20), LEVEL_RED);
	assert_int_equal(bands_level(&b, 16), LEVEL_ORANGE);
	assert_int_equal(bands_level(&b, 9), LEVEL_ORANGE);
	assert_int_equal(bands_level(&b, 8), LEVEL_YELLOW); /* > 8 is strict */
	assert_int_equal(bands_level(&b, 4), LEVEL_YELLOW);
	assert_int_equal(bands_level(&b, 3), LEVEL_BLUE);

	/* A table may name blue itself and use any finite bound. */
	assert_int_equal(
	    bands_parse(">=1e3:red,>0:yellow,>=-5:blue", &b, why, sizeof(why)),
	    0);
	assert_int_equal(b.n, 3);
	assert_int_equal(bands_level(&b, 1000), LEVEL_RED);
	assert_int_equal(bands_level(&b, 0.001), LEVEL_YELLOW);
	assert_int_equal(bands_level(&b, 0), LEVEL_BLUE);
	assert_int_equal(bands_level(&b, -6), LEVEL_BLUE);

	/* BANDS_MAX entries are allowed. */
	assert_int_equal(bands_parse(">8:red,>7:red,>6:orange,>5:orange,"
	                             ">4:yellow,>3:yellow,>2:blue,>1:blue",
	                     &b, why, sizeof(why)),
	    0);
	assert_int_equal(b.n, BANDS_MAX);
	assert_int_equal(bands_level(&b, 6.5), LEVEL_ORANGE);
}

/* spec is refused with a reason containing part, and *out is untouched. */
static void
bands_bad(const char *spec, const char *part)
{
	struct bands b, before;
	char why[256] = "";

	memset(&b, 0x5a, sizeof(b));
	before = b;
	if (bands_parse(spec, &b, why, sizeof(why)) != -1)
		fail_msg("band spec '%s' accepted", spec ? spec : "(null)");
	assert_why(why, part);
	assert_memory_equal(&b, &before, sizeof(b));
}

static void
test_bands_parse_errors(void **state)
{
	(void)state;
	bands_bad("", "empty band table");
	bands_bad(" \t ", "empty band table");
	bands_bad(NULL, "empty band table");
	bands_bad("garbage", "band entry 1 \"garbage\": expected \">\"");
	bands_bad("70:red", "entry 1 \"70:red\": expected \">\" or \">=\"");
	bands_bad("=70:red", "expected \">\" or \">=\"");
	bands_bad("<70:red", "expected \">\" or \">=\"");
	bands_bad("> =70:red", "the bound \"=70\" is not a finite number");
	bands_bad(">=x:red", "entry 1 \">=x:red\": the bound \"x\"");
	bands_bad(">=:red", "the bound \"\" is not a finite number");
	bands_bad(">=inf:red", "\"inf\" is not a finite number");
	bands_bad(">=nan:red", "\"nan\" is not a finite number");
	bands_bad(">=1e999:red", "\"1e999\" is not a finite number");
	bands_bad(">=0x10:red", "\"0x10\" is not a finite number");
	bands_bad(">=70", "expected \":level\" after the bound");
	bands_bad(">=70 red", "expected \":level\" after the bound");
	bands_bad(">=70:", "\"\" is not a level (blue, yellow, orange, red)");
	bands_bad(">320:red,>=160:purple",
	    "band entry 2 \">=160:purple\": \"purple\" is not a level");
	bands_bad(">320:RED", "\"RED\" is not a level");
	bands_bad(">=70:red x", "unexpected \"x\" after the level");
	bands_bad(">=70:red;>=60:orange", "\"red;>=60:orange\" is not a level");
	bands_bad(">320:red,", "band entry 2 is empty");
	bands_bad(",>320:red", "band entry 1 is empty");
	bands_bad(">320:red,,>=70:yellow", "band entry 2 is empty");
	bands_bad(">=70:red,>=70:orange",
	    "band entry 2 \">=70:orange\": bound 70 is not below the previous "
	    "bound 70");
	bands_bad(">70:red,>=70:orange", "bounds must strictly decrease");
	bands_bad(">=70:yellow,>=160:orange,>320:red",
	    "band entry 2 \">=160:orange\": bound 160 is not below");
	bands_bad(">9:red,>8:red,>7:red,>6:orange,>5:orange,>4:yellow,"
	          ">3:yellow,>2:blue,>1:blue",
	    "band entry 9 \">1:blue\": more than 8 entries");
}

/* --- sector tables ------------------------------------------------------ */

static void
test_sector_levels(void **state)
{
	struct sector_levels t;
	char why[256] = "";

	(void)state;
	if (sector_levels_parse("hazchem:yellow,coal:yellow,noncoal_mine:"
	                        "yellow,metallurgy:yellow,*:blue",
	        &t, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_int_equal(t.n, 4);
	assert_string_equal(t.entry[2].sector, "noncoal_mine");
	assert_int_equal(sector_levels_get(&t, "hazchem"), LEVEL_YELLOW);
	assert_int_equal(sector_levels_get(&t, "metallurgy"), LEVEL_YELLOW);
	assert_int_equal(sector_levels_get(&t, "gas"), LEVEL_BLUE);
	assert_int_equal(sector_levels_get(&t, "hazche"), LEVEL_BLUE);
	assert_int_equal(sector_levels_get(&t, ""), LEVEL_BLUE);
	assert_int_equal(sector_levels_get(&t, NULL), LEVEL_BLUE);

	/* Spaces around tokens; "*" anywhere; the default is any level. */
	if (sector_levels_parse(" coal : red , * :orange,\tgas: blue ", &t, why,
	        sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.otherwise, LEVEL_ORANGE);
	assert_int_equal(sector_levels_get(&t, "coal"), LEVEL_RED);
	assert_int_equal(sector_levels_get(&t, "gas"), LEVEL_BLUE);
	assert_int_equal(sector_levels_get(&t, "fire"), LEVEL_ORANGE);

	/* "*" alone: every sector alike. */
	assert_int_equal(
	    sector_levels_parse("*:yellow", &t, why, sizeof(why)), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(sector_levels_get(&t, "coal"), LEVEL_YELLOW);
}

static void
sector_levels_bad(const char *spec, const char *part)
{
	struct sector_levels t, before;
	char why[256] = "";

	memset(&t, 0x5a, sizeof(t));
	before = t;
	if (sector_levels_parse(spec, &t, why, sizeof(why)) != -1)
		fail_msg("sector spec '%s' accepted", spec ? spec : "(null)");
	assert_why(why, part);
	assert_memory_equal(&t, &before, sizeof(t));
}

static void
test_sector_levels_errors(void **state)
{
	char spec[1024];
	size_t i, used = 0;

	(void)state;
	sector_levels_bad("", "empty sector level table");
	sector_levels_bad(NULL, "empty sector level table");
	sector_levels_bad("hazchem:yellow,coal:yellow", "no \"*:level\" entry");
	sector_levels_bad("*:blue,coal:red,*:yellow",
	    "sector entry 3 \"*:yellow\": a second \"*\" entry");
	sector_levels_bad("coal:red,coal:yellow,*:blue",
	    "sector entry 2 \"coal:yellow\": sector coal is already given");
	sector_levels_bad("Coal:red,*:blue",
	    "sector entry 1 \"Coal:red\": \"Coal\" is not a sector code");
	sector_levels_bad("coal-mine:red,*:blue", "\"coal-mine\" is not a "
	                                          "sector code");
	sector_levels_bad(":red,*:blue", "\"\" is not a sector code");
	sector_levels_bad("abcdefghijabcdefghijabcdefghijab:red,*:blue",
	    "is not a sector code (1 to 31 of a-z, 0-9, _)");
	sector_levels_bad("coal:purple,*:blue",
	    "sector entry 1 \"coal:purple\": \"purple\" is not a level");
	sector_levels_bad("coal red,*:blue", "expected \":level\" after the "
	                                     "sector");
	sector_levels_bad("coal,*:blue", "expected \":level\"");
	sector_levels_bad(
	    "coal:red extra,*:blue", "unexpected \"extra\" after the level");
	sector_levels_bad("coal:red,,*:blue", "sector entry 2 is empty");
	sector_levels_bad("coal:red,*:blue,", "sector entry 3 is empty");
	sector_levels_bad("garbage", "expected \":level\"");

	for (i = 0; i < SECTOR_LEVELS_MAX + 1; i++)
		used += (size_t)snprintf(
		    spec + used, sizeof(spec) - used, "s%zu:red,", i);
	snprintf(spec + used, sizeof(spec) - used, "*:blue");
	sector_levels_bad(spec, "sector entry 33 \"s32:red\": more than 32 "
	                        "sectors");
}

static void
test_sector_list(void **state)
{
	struct sector_list l;
	char why[256] = "";

	(void)state;
	if (sector_list_parse(" hazchem, coal ,\tnoncoal_mine,metallurgy", &l,
	        why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.sector[0], "hazchem");
	assert_string_equal(l.sector[1], "coal");
	assert_true(sector_list_has(&l, "coal"));
	assert_true(sector_list_has(&l, "metallurgy"));
	assert_false(sector_list_has(&l, "gas"));
	assert_false(sector_list_has(&l, "coa"));
	assert_false(sector_list_has(&l, NULL));

	/* Empty is the empty list: no sector is in scope by sector. */
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(sector_list_parse("  ", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 0);
	assert_false(sector_list_has(&l, "coal"));
	assert_int_equal(sector_list_parse("", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 0);
}

static void
sector_list_bad(const char *spec, const char *part)
{
	struct sector_list l, before;
	char why[256] = "";

	memset(&l, 0x5a, sizeof(l));
	before = l;
	if (sector_list_parse(spec, &l, why, sizeof(why)) != -1)
		fail_msg("sector list '%s' accepted", spec);
	assert_why(why, part);
	assert_memory_equal(&l, &before, sizeof(l));
}

static void
test_sector_list_errors(void **state)
{
	char spec[1024];
	size_t i, used = 0;

	(void)state;
	sector_list_bad("coal,,gas", "sector list item 2 is empty");
	sector_list_bad("coal,", "sector list item 2 is empty");
	sector_list_bad(",coal", "sector list item 1 is empty");
	sector_list_bad("haz chem",
	    "sector list item 1 \"haz chem\": \"haz chem\" is not a sector "
	    "code");
	sector_list_bad("coal;gas", "\"coal;gas\" is not a sector code");
	sector_list_bad("Coal", "\"Coal\" is not a sector code");
	sector_list_bad("coal:red", "\"coal:red\" is not a sector code");
	sector_list_bad(
	    "coal,gas,coal", "sector list item 3 \"coal\": listed twice");
	for (i = 0; i < SECTOR_LEVELS_MAX + 1; i++)
		used += (size_t)snprintf(spec + used, sizeof(spec) - used,
		    "%ss%zu", i > 0 ? "," : "", i);
	sector_list_bad(spec, "sector list item 33 \"s32\": more than 32 "
	                      "sectors");
}

/* --- alpha --------------------------------------------------------------- */

static void
test_alpha_people_bounds(void **state)
{
	struct source_grade_cfg c;

	(void)state;
	source_grade_cfg_init(&c);
	assert_int_equal(c.alpha.n, 5);
	assert_exact(alpha_for(&c.alpha, 0), 0.5);
	assert_exact(alpha_for(&c.alpha, 1), 1.0);
	assert_exact(alpha_for(&c.alpha, 29), 1.0);
	assert_exact(alpha_for(&c.alpha, 30), 1.2);
	assert_exact(alpha_for(&c.alpha, 49), 1.2);
	assert_exact(alpha_for(&c.alpha, 50), 1.5);
	assert_exact(alpha_for(&c.alpha, 99), 1.5);
	assert_exact(alpha_for(&c.alpha, 100), 2.0);
	assert_exact(alpha_for(&c.alpha, 1000000), 2.0);
	assert_exact(alpha_for(&c.alpha, -1), 0.5);
}

static void
test_alpha_table_parse(void **state)
{
	struct alpha_table t;
	char why[256] = "";

	(void)state;
	if (alpha_table_parse(
	        " 200 : 3 ,10:1.1,\t0 :0.25", &t, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.row[0].min_people, 200);
	assert_exact(t.row[0].alpha, 3);
	assert_int_equal(t.row[2].min_people, 0);
	assert_exact(t.row[2].alpha, 0.25);
	assert_exact(alpha_for(&t, 199), 1.1);
	assert_exact(alpha_for(&t, 200), 3);
	assert_exact(alpha_for(&t, 9), 0.25);
	/* A single row: one alpha for everyone. */
	assert_int_equal(alpha_table_parse("0:1", &t, why, sizeof(why)), 0);
	assert_exact(alpha_for(&t, 12345), 1);
}

static void
alpha_bad(const char *spec, const char *part)
{
	struct alpha_table t, before;
	char why[256] = "";

	memset(&t, 0x5a, sizeof(t));
	before = t;
	if (alpha_table_parse(spec, &t, why, sizeof(why)) != -1)
		fail_msg("alpha spec '%s' accepted", spec ? spec : "(null)");
	assert_why(why, part);
	assert_memory_equal(&t, &before, sizeof(t));
}

static void
test_alpha_table_errors(void **state)
{
	(void)state;
	alpha_bad("", "empty alpha table");
	alpha_bad(NULL, "empty alpha table");
	alpha_bad(
	    "garbage", "alpha row 1 \"garbage\": expected \"people:alpha\"");
	alpha_bad("100:2.0,50:1.5,30:1.2,1:1.0",
	    "the last row's minimum is 1, it must be 0");
	alpha_bad("50:1.5,100:2.0,0:0.5",
	    "alpha row 2 \"100:2.0\": minimum 100 is not below the previous "
	    "row's 50");
	alpha_bad("100:2,100:1.5,0:1", "minimums must strictly decrease");
	alpha_bad("100:0,0:1", "alpha row 1 \"100:0\": alpha \"0\" is not a "
	                       "finite number > 0");
	alpha_bad("100:-1,0:1", "alpha \"-1\" is not a finite number > 0");
	alpha_bad("100:nan,0:1", "alpha \"nan\"");
	alpha_bad("100:,0:1", "alpha \"\"");
	alpha_bad(
	    "-5:1,0:1", "the minimum people \"-5\" is not a whole number");
	alpha_bad("1.5:1,0:1", "the minimum people \"1.5\"");
	alpha_bad(":1", "the minimum people \"\"");
	alpha_bad("100 2.0,0:0.5", "expected \"people:alpha\"");
	alpha_bad("100:2.0 x,0:0.5", "alpha \"2.0 x\" is not a finite number");
	alpha_bad("100:2.0,,0:0.5", "alpha row 2 is empty");
	alpha_bad("100:2.0,0:0.5,", "alpha row 3 is empty");
	alpha_bad("8:1,7:1,6:1,5:1,4:1,3:1,2:1,1:1,0:1",
	    "alpha row 9 \"0:1\": more than 8 rows");
}

/* --- grade bounds -------------------------------------------------------- */

static void
test_grade_bounds_parse(void **state)
{
	struct source_grade_cfg c;
	char why[256] = "";

	(void)state;
	source_grade_cfg_init(&c);
	assert_exact(c.grade_min_r[0], 100);
	assert_exact(c.grade_min_r[1], 50);
	assert_exact(c.grade_min_r[2], 10);
	assert_exact(c.major_min_s, 1);
	assert_int_equal(c.reassess_months, 36);
	if (source_grade_bounds_parse(
	        " 200 , 80.5 ,20", &c, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_exact(c.grade_min_r[0], 200);
	assert_exact(c.grade_min_r[1], 80.5);
	assert_exact(c.grade_min_r[2], 20);
}

static void
grade_bounds_bad(const char *spec, const char *part)
{
	struct source_grade_cfg c, before;
	char why[256] = "";

	source_grade_cfg_init(&c);
	before = c;
	if (source_grade_bounds_parse(spec, &c, why, sizeof(why)) != -1)
		fail_msg("bounds '%s' accepted", spec ? spec : "(null)");
	assert_why(why, part);
	assert_memory_equal(&c, &before, sizeof(c));
}

static void
test_grade_bounds_errors(void **state)
{
	(void)state;
	grade_bounds_bad("", "empty grade bounds");
	grade_bounds_bad(NULL, "empty grade bounds");
	grade_bounds_bad("garbage", "grade bound 1 \"garbage\" is not a finite "
	                            "number");
	grade_bounds_bad("100,50", "2 given, three expected");
	grade_bounds_bad(
	    "100,50,10,5", "grade bound 4 \"5\": only three bounds");
	grade_bounds_bad("100,100,10",
	    "grade bound 2 \"100\" is not below the previous bound 100");
	grade_bounds_bad("10,50,100", "bounds must strictly decrease");
	grade_bounds_bad("100,x,10", "grade bound 2 \"x\"");
	grade_bounds_bad("100,50,0", "grade bound 3 \"0\" is not a finite "
	                             "number > 0");
	grade_bounds_bad("100,50,-1", "\"-1\" is not a finite number > 0");
	grade_bounds_bad("100,50,inf", "\"inf\"");
	grade_bounds_bad("100,50,10 x", "\"10 x\" is not a finite number");
	grade_bounds_bad("100,,10", "grade bound 2 \"\"");
}

/* --- source grading ------------------------------------------------------ */

static struct chemical
chem(const char *name, double q, double Q, double beta)
{
	struct chemical ch;

	memset(&ch, 0, sizeof(ch));
	snprintf(ch.name, sizeof(ch.name), "%s", name);
	ch.q = q;
	ch.Q = Q;
	ch.beta = beta;
	return ch;
}

/* Grade one chemical; fails the test on a refusal. */
static struct source_grade
grade1(int64_t people, double q, double Q, double beta)
{
	struct source_grade_cfg c;
	struct source_grade g;
	struct chemical ch = chem("x", q, Q, beta);
	char why[256] = "";

	source_grade_cfg_init(&c);
	if (source_grade_compute(
	        &c, people, &ch, 1, D_2026_11_29, &g, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	return g;
}

static void
test_source_r_10(void **state)
{
	struct source_grade g;

	(void)state;
	/* alpha 1.0, beta 1, q 10, Q 1: R 10. */
	g = grade1(1, 10, 1, 1);
	assert_exact(g.r, 10);
	assert_int_equal(g.grade, 3);
	/* Hydrogen sulphide (Q 5 t, beta 5), 10 t, 29 people: R 10. */
	g = grade1(29, 10, 5, 5);
	assert_exact(g.s, 2);
	assert_exact(g.alpha, 1.0);
	assert_exact(g.r, 10);
	assert_int_equal(g.grade, 3);
	/* One kilogram less: below the bound, 四级. */
	g = grade1(29, 9.999, 5, 5);
	assert_exact(g.r, 9.999);
	assert_int_equal(g.grade, 4);
	g = grade1(1, 9.999999, 1, 1);
	assert_int_equal(g.grade, 4);
}

static void
test_source_r_50(void **state)
{
	struct source_grade g;

	(void)state;
	/* H2S 25 t of 5 t (beta 5), 100 people (alpha 2): R 50. */
	g = grade1(100, 25, 5, 5);
	assert_exact(g.sum_bq, 25);
	assert_exact(g.alpha, 2.0);
	assert_exact(g.r, 50);
	assert_int_equal(g.grade, 2);
	g = grade1(100, 24.999, 5, 5);
	assert_exact(g.r, 49.998);
	assert_int_equal(g.grade, 3);
	/* A quotient binary cannot hold: 50 people (alpha 1.5), beta 4,
	 * 25 t of 3 t: 1.5 x 4 x 25/3 is 50 exactly, and so is R. */
	g = grade1(50, 25, 3, 4);
	assert_exact(g.r, 50);
	assert_int_equal(g.grade, 2);
}

static void
test_source_r_100(void **state)
{
	struct source_grade g;

	(void)state;
	/* Hydrogen cyanide (Q 1 t, beta 10), 5 t, 100 people: R 100. */
	g = grade1(100, 5, 1, 10);
	assert_exact(g.r, 100);
	assert_int_equal(g.grade, 1);
	g = grade1(100, 4.9999, 1, 10);
	assert_exact(g.r, 99.998);
	assert_int_equal(g.grade, 2);
	g = grade1(1000, 50, 1, 10);
	assert_exact(g.r, 1000);
	assert_int_equal(g.grade, 1);
}

static void
test_source_s_major(void **state)
{
	struct source_grade g;

	(void)state;
	g = grade1(0, 5, 5, 1);
	assert_exact(g.s, 1);
	assert_true(g.major);
	assert_exact(g.alpha, 0.5);
	assert_exact(g.r, 0.5);
	assert_int_equal(g.grade, 4);
	g = grade1(0, 4.999, 5, 1);
	assert_exact(g.s, 0.9998);
	assert_false(g.major);
	g = grade1(0, 0.999999, 1, 1);
	assert_false(g.major);
	g = grade1(0, 0, 1, 1);
	assert_exact(g.s, 0);
	assert_false(g.major);
	assert_int_equal(g.grade, 4);
}

static void
test_source_chemicals_summed(void **state)
{
	struct source_grade_cfg c;
	struct source_grade g;
	struct chemical ch[3];
	char why[256] = "";

	(void)state;
	source_grade_cfg_init(&c);
	ch[0] = chem("氯", 2, 5, 4);      /* 0.4, beta x 0.4 = 1.6 */
	ch[1] = chem("氨", 5, 10, 2);     /* 0.5, 1.0 */
	ch[2] = chem("甲醇", 50, 500, 1); /* 0.1, 0.1 */
	assert_int_equal(source_grade_compute(
	                     &c, 60, ch, 2, D_2026_11_29, &g, why, sizeof(why)),
	    0);
	assert_exact(g.s, 0.9);
	assert_false(g.major);
	assert_int_equal(source_grade_compute(
	                     &c, 60, ch, 3, D_2026_11_29, &g, why, sizeof(why)),
	    0);
	assert_exact(g.s, 1);
	assert_true(g.major);
	assert_exact(g.sum_bq, 2.7);
	assert_exact(g.alpha, 1.5);
	assert_exact(g.r, 4.05);
	assert_int_equal(g.grade, 4);

	/* 6.51/7 + 0.49/7 is 0.9999999999999999 in binary: settled, the
	 * unit holds exactly its critical quantity and is major. */
	ch[0] = chem("苯", 6.51, 7, 1);
	ch[1] = chem("甲苯", 0.49, 7, 1);
	assert_true(6.51 / 7 + 0.49 / 7 < 1);
	assert_int_equal(source_grade_compute(
	                     &c, 0, ch, 2, D_2026_11_29, &g, why, sizeof(why)),
	    0);
	assert_exact(g.s, 1);
	assert_true(g.major);

	/* Ten chemicals at a tenth each: R 10 exactly with alpha 1. */
	{
		struct chemical ten[10];
		size_t i;

		for (i = 0; i < 10; i++)
			ten[i] = chem("x", 0.1, 1, 10);
		assert_int_equal(source_grade_compute(&c, 1, ten, 10,
		                     D_2026_11_29, &g, why, sizeof(why)),
		    0);
		assert_exact(g.s, 1);
		assert_exact(g.r, 10);
		assert_int_equal(g.grade, 3);
	}
}

static void
test_source_custom_cfg(void **state)
{
	struct source_grade_cfg c;
	struct source_grade g;
	struct chemical ch = chem("氨", 20, 10, 2);
	char why[256] = "";

	(void)state;
	source_grade_cfg_init(&c);
	assert_int_equal(
	    source_grade_bounds_parse("8,4,2", &c, why, sizeof(why)), 0);
	assert_int_equal(
	    alpha_table_parse("10:2,0:1", &c.alpha, why, sizeof(why)), 0);
	c.major_min_s = 2;
	c.reassess_months = 12;
	/* S 2, sum 4; 9 people: alpha 1, R 4 -> 二级 under "8,4,2". */
	assert_int_equal(source_grade_compute(
	                     &c, 9, &ch, 1, D_2024_02_29, &g, why, sizeof(why)),
	    0);
	assert_true(g.major);
	assert_exact(g.r, 4);
	assert_int_equal(g.grade, 2);
	assert_int_equal(g.reassess_due_days, D_2025_02_28);
	/* 10 people: alpha 2, R 8 -> 一级. */
	assert_int_equal(source_grade_compute(&c, 10, &ch, 1, D_2024_02_29, &g,
	                     why, sizeof(why)),
	    0);
	assert_exact(g.r, 8);
	assert_int_equal(g.grade, 1);
}

static void
test_source_reassess_due(void **state)
{
	struct source_grade_cfg c;
	struct source_grade g;
	struct chemical ch = chem("氯", 10, 5, 4);
	char why[256] = "";

	(void)state;
	source_grade_cfg_init(&c);
	assert_int_equal(source_grade_compute(
	                     &c, 0, &ch, 1, D_2023_02_28, &g, why, sizeof(why)),
	    0);
	assert_int_equal(g.reassess_due_days, D_2026_02_28);
	assert_int_equal(source_grade_compute(
	                     &c, 0, &ch, 1, D_2026_11_29, &g, why, sizeof(why)),
	    0);
	assert_int_equal(g.reassess_due_days, D_2029_11_29);
	c.reassess_months = 12;
	assert_int_equal(source_grade_compute(
	                     &c, 0, &ch, 1, D_2024_02_29, &g, why, sizeof(why)),
	    0);
	assert_int_equal(g.reassess_due_days, D_2025_02_28);
}

/* The source is refused with a reason containing part; out untouched. */
static void
source_bad(
    int64_t people, const struct chemical *ch, size_t n, const char *part)
{
	struct source_grade_cfg c;
	struct source_grade g, before;
	char why[256] = "";

	source_grade_cfg_init(&c);
	memset(&g, 0x5a, sizeof(g));
	before = g;
	if (source_grade_compute(
	        &c, people, ch, n, D_2026_11_29, &g, why, sizeof(why)) != -1)
		fail_msg("source accepted (expected '%s')", part);
	assert_why(why, part);
	assert_memory_equal(&g, &before, sizeof(g));
}

static void
test_source_refusals(void **state)
{
	struct chemical ch[2];

	(void)state;
	ch[0] = chem("氯", 1, 5, 4);
	ch[1] = chem("氨", 1, 0, 2);
	source_bad(10, ch, 2,
	    "chemical 2 \"氨\": Q must be a finite critical quantity > 0 t, "
	    "got 0");
	ch[1].Q = -10;
	source_bad(10, ch, 2, "chemical 2 \"氨\": Q must be");
	ch[1].Q = NAN;
	source_bad(10, ch, 2,
	    "Q must be a finite critical quantity > 0 t, "
	    "got nan");
	ch[1].Q = INFINITY;
	source_bad(10, ch, 2, "Q must be");
	ch[1] = chem("氨", -1, 10, 2);
	source_bad(10, ch, 2,
	    "chemical 2 \"氨\": q must be a finite quantity "
	    ">= 0 t, got -1");
	ch[1].q = NAN;
	source_bad(10, ch, 2, "q must be a finite quantity >= 0 t, got nan");
	ch[1].q = INFINITY;
	source_bad(10, ch, 2, "q must be");
	ch[1] = chem("氨", 1, 10, 0);
	source_bad(10, ch, 2,
	    "chemical 2 \"氨\": beta must be a finite factor "
	    "> 0, got 0");
	ch[1].beta = NAN;
	source_bad(10, ch, 2, "beta must be");
	ch[0].beta = -2;
	source_bad(10, ch, 2, "chemical 1 \"氯\": beta must be");
	ch[0] = chem("氯", 1, 5, 4);
	source_bad(10, ch, 0, "no chemical given");
	source_bad(10, NULL, 0, "no chemical given");
	source_bad(-1, ch, 1,
	    "people within 500 m must be a count >= 0, got "
	    "-1");
	ch[0] = chem("氯", 1e308, 1e-300, 4);
	source_bad(10, ch, 1, "S or R is not finite");
}

static void
test_source_grade_names(void **state)
{
	(void)state;
	assert_string_equal(source_grade_zh(1), "一级");
	assert_string_equal(source_grade_zh(2), "二级");
	assert_string_equal(source_grade_zh(3), "三级");
	assert_string_equal(source_grade_zh(4), "四级");
	assert_string_equal(source_grade_zh(0), "");
	assert_string_equal(source_grade_zh(5), "");
	assert_int_equal(source_grade_level(1), LEVEL_RED);
	assert_int_equal(source_grade_level(2), LEVEL_ORANGE);
	assert_int_equal(source_grade_level(3), LEVEL_YELLOW);
	assert_int_equal(source_grade_level(4), LEVEL_BLUE);
	assert_int_equal(source_grade_level(0), LEVEL_BLUE);
}

/* --- calendar ------------------------------------------------------------ */

static void
test_days_add_months_cases(void **state)
{
	static const struct {
		int32_t from;
		int months;
		int32_t to;
	} cases[] = {
	    {D_2023_02_28, 36, D_2026_02_28},
	    {D_2024_02_29, 12, D_2025_02_28},  /* leap day, next year */
	    {D_2024_01_31, 1, D_2024_02_29},   /* clamped, leap year */
	    {D_2023_01_31, 1, D_2023_02_28},   /* clamped, common year */
	    {D_2024_03_31, -1, D_2024_02_29},  /* backwards */
	    {D_2024_02_29, -12, D_2023_02_28}, /* backwards, clamped */
	    {D_2024_10_31, 1, D_2024_11_30},   /* 30-day month */
	    {D_2024_12_31, 2, D_2025_02_28},   /* across a year end */
	    {D_1996_02_29, 48, D_2000_02_29},  /* 2000 is a leap year */
	    {D_2096_02_29, 48, D_2100_02_28},  /* 2100 is not */
	    {D_1904_02_29, -48, D_1900_02_28}, /* nor was 1900 */
	    {D_1899_02_28, 12, D_1900_02_28},
	    {D_1969_12_31, 2, D_1970_02_28}, /* before the epoch */
	    {D_1959_12_31, 3, D_1960_03_31},
	    {D_2026_11_29, 36, D_2029_11_29},
	    {D_2026_11_29, 0, D_2026_11_29},
	    {D_0001_01_01, 9998 * 12 + 11, D_9999_12_01},
	    {D_9999_12_01, -(9998 * 12 + 11), D_0001_01_01},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int32_t got = days_add_months(cases[i].from, cases[i].months);

		if (got != cases[i].to)
			fail_msg("case %zu: %d + %d months = %d, expected %d",
			    i, cases[i].from, cases[i].months, got,
			    cases[i].to);
	}
	assert_int_equal(days_add_months(INT32_MAX - 10, 12), INT32_MAX);
	assert_int_equal(days_add_months(INT32_MIN + 10, -12), INT32_MIN);
}

/* Independent of grade.c: the Gregorian rule as the standard words it. */
static int
walk_month_days(int y, int m)
{
	static const int days[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = y % 400 == 0 || (y % 100 != 0 && y % 4 == 0);

	return days[m - 1] + (m == 2 ? leap : 0);
}

/*
 * Walk every month of 0001-01 .. 9999-12 keeping our own count of days:
 * the first of each month plus one month is the first of the next, every
 * day plus 0 months is itself, and the last day of a month plus one month
 * is that day, or the next month's last when it is shorter.
 */
static void
test_days_add_months_walk(void **state)
{
	int32_t first = D_0001_01_01, next;
	int y, m, d, len, nlen;

	(void)state;
	for (y = 1; y <= 9999; y++) {
		for (m = 1; m <= 12; m++) {
			len = walk_month_days(y, m);
			next = first + len;
			nlen = walk_month_days(
			    m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
			if (days_add_months(first, 1) != next)
				fail_msg("%04d-%02d-01 + 1 month", y, m);
			for (d = 0; d < len; d++) {
				if (days_add_months(first + d, 0) != first + d)
					fail_msg(
					    "%04d-%02d-%02d + 0", y, m, d + 1);
			}
			if (days_add_months(first + len - 1, 1) !=
			    next + (len < nlen ? len : nlen) - 1)
				fail_msg("%04d-%02d-%02d + 1 month", y, m, len);
			first = next;
		}
	}
	assert_int_equal(first, D_9999_12_01 + 31);
}

/* --- risk points --------------------------------------------------------- */

static struct risk_point_grade
lec(double l, double e, double c)
{
	struct risk_point_cfg cfg;
	struct risk_point_grade g;
	struct risk_point_in in = {METHOD_LEC, l, e, c, 0};
	char why[256] = "";

	risk_point_cfg_init(&cfg);
	if (risk_point_grade(&cfg, &in, &g, why, sizeof(why)) != 0)
		fail_msg("LEC %g %g %g refused: %s", l, e, c, why);
	return g;
}

static void
test_lec_real_triples(void **state)
{
	struct risk_point_grade g;

	(void)state;
	/* 70 is the only bound a triple of the usual scales hits. */
	g = lec(10, 1, 7);
	assert_exact(g.value, 70);
	assert_int_equal(g.level, LEVEL_YELLOW);
	assert_string_equal(g.note, "");
	g = lec(1, 10, 7);
	assert_exact(g.value, 70);
	assert_int_equal(g.level, LEVEL_YELLOW);
	g = lec(3, 3, 7); /* 63 */
	assert_int_equal(g.level, LEVEL_BLUE);
	g = lec(10, 1, 15); /* 150 */
	assert_int_equal(g.level, LEVEL_YELLOW);
	g = lec(6, 6, 7); /* 252 */
	assert_int_equal(g.level, LEVEL_ORANGE);
	g = lec(10, 6, 3); /* 180 */
	assert_int_equal(g.level, LEVEL_ORANGE);
	g = lec(10, 2, 15); /* 300 */
	assert_exact(g.value, 300);
	assert_int_equal(g.level, LEVEL_ORANGE);
	g = lec(3, 3, 40); /* 360, the first product above 320 */
	assert_exact(g.value, 360);
	assert_int_equal(g.level, LEVEL_RED);
	assert_string_equal(g.note, "");
	g = lec(10, 10, 100);
	assert_int_equal(g.level, LEVEL_RED);
	g = lec(0.1, 0.5, 1);
	assert_exact(g.value, 0.05);
	assert_int_equal(g.level, LEVEL_BLUE);
	assert_string_equal(g.note, "");
}

static void
test_lec_exact_bounds_off_scale(void **state)
{
	struct risk_point_grade g;

	(void)state;
	/* No triple of the usual scales gives 160 or 320: C = 16 does,
	 * graded all the same, with a note. */
	g = lec(10, 2, 16);
	assert_exact(g.value, 320);
	assert_int_equal(g.level, LEVEL_ORANGE);
	assert_string_equal(g.note, "C=16 不在 LEC 常用取值内");
	g = lec(10, 2, 16.025);
	assert_exact(g.value, 320.5);
	assert_int_equal(g.level, LEVEL_RED);
	g = lec(10, 1, 16);
	assert_exact(g.value, 160);
	assert_int_equal(g.level, LEVEL_ORANGE);
	g = lec(10, 1, 15.99);
	assert_exact(g.value, 159.9);
	assert_int_equal(g.level, LEVEL_YELLOW);
	g = lec(10, 1, 6.99);
	assert_exact(g.value, 69.9);
	assert_int_equal(g.level, LEVEL_BLUE);
	g = lec(4, 4, 20);
	assert_exact(g.value, 320);
	assert_int_equal(g.level, LEVEL_ORANGE);
	assert_string_equal(g.note, "L=4、E=4、C=20 不在 LEC 常用取值内");
}

static void
test_lec_settled_product(void **state)
{
	struct risk_point_cfg cfg;
	struct risk_point_grade g;
	struct risk_point_in in = {METHOD_LEC, 0.1, 6, 100, 0};
	char why[256] = "";

	(void)state;
	/* 0.1 x 6 x 100 is 60.00000000000001 in binary; D is 60, so a
	 * strict "> 60" band does not take it. */
	assert_true(0.1 * 6 * 100 > 60);
	risk_point_cfg_init(&cfg);
	assert_int_equal(
	    bands_parse(">60:yellow", &cfg.lec, why, sizeof(why)), 0);
	assert_int_equal(risk_point_grade(&cfg, &in, &g, why, sizeof(why)), 0);
	assert_exact(g.value, 60);
	assert_int_equal(g.level, LEVEL_BLUE);
	in.l = 0.2;
	in.e = 3;
	assert_int_equal(risk_point_grade(&cfg, &in, &g, why, sizeof(why)), 0);
	assert_exact(g.value, 60);
	assert_int_equal(g.level, LEVEL_BLUE);
}

static void
test_ls_every_product(void **state)
{
	/* Expected level per product, DOMAIN.md 3.3: 20-25 red, 15-16
	 * orange, 9-12 yellow, 1-8 blue. */
	static const struct {
		int r;
		enum risk_level level;
	} want[] = {
	    {1, LEVEL_BLUE},
	    {2, LEVEL_BLUE},
	    {3, LEVEL_BLUE},
	    {4, LEVEL_BLUE},
	    {5, LEVEL_BLUE},
	    {6, LEVEL_BLUE},
	    {8, LEVEL_BLUE},
	    {9, LEVEL_YELLOW},
	    {10, LEVEL_YELLOW},
	    {12, LEVEL_YELLOW},
	    {15, LEVEL_ORANGE},
	    {16, LEVEL_ORANGE},
	    {20, LEVEL_RED},
	    {25, LEVEL_RED},
	};
	struct risk_point_cfg cfg;
	struct risk_point_grade g;
	struct risk_point_in in;
	char why[256] = "";
	int l, s, seen[sizeof(want) / sizeof(want[0])] = {0};
	size_t i;

	(void)state;
	risk_point_cfg_init(&cfg);
	memset(&in, 0, sizeof(in));
	in.method = METHOD_LS;
	for (l = 1; l <= 5; l++) {
		for (s = 1; s <= 5; s++) {
			in.l = l;
			in.s = s;
			assert_int_equal(
			    risk_point_grade(&cfg, &in, &g, why, sizeof(why)),
			    0);
			assert_exact(g.value, l * s);
			assert_string_equal(g.note, "");
			for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
				if (want[i].r == l * s)
					break;
			}
			if (i == sizeof(want) / sizeof(want[0])) {
				fail_msg("product %d not in the table", l * s);
				return;
			}
			if (g.level != want[i].level)
				fail_msg("L %d S %d: level %s, expected %s", l,
				    s, level_name(g.level),
				    level_name(want[i].level));
			seen[i] = 1;
		}
	}
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_true(seen[i]);
}

static void
test_ls_off_scale_note(void **state)
{
	struct risk_point_cfg cfg;
	struct risk_point_grade g;
	struct risk_point_in in = {METHOD_LS, 6, NAN, NAN, 5};
	char why[256] = "";

	(void)state;
	risk_point_cfg_init(&cfg);
	/* e and c are not read by LS. */
	assert_int_equal(risk_point_grade(&cfg, &in, &g, why, sizeof(why)), 0);
	assert_exact(g.value, 30);
	assert_int_equal(g.level, LEVEL_RED);
	assert_string_equal(g.note, "L=6 不在 LS 常用取值内");
	in.l = 2.5;
	in.s = 4;
	assert_int_equal(risk_point_grade(&cfg, &in, &g, why, sizeof(why)), 0);
	assert_exact(g.value, 10);
	assert_int_equal(g.level, LEVEL_YELLOW);
	assert_string_equal(g.note, "L=2.5 不在 LS 常用取值内");
	in.l = 0.5;
	in.s = 0.5;
	assert_int_equal(risk_point_grade(&cfg, &in, &g, why, sizeof(why)), 0);
	assert_int_equal(g.level, LEVEL_BLUE);
	assert_string_equal(g.note, "L=0.5、S=0.5 不在 LS 常用取值内");
}

static void
risk_point_bad(enum risk_method method, double l, double e, double c, double s,
    const char *part)
{
	struct risk_point_cfg cfg;
	struct risk_point_grade g, before;
	struct risk_point_in in = {method, l, e, c, s};
	char why[256] = "";

	risk_point_cfg_init(&cfg);
	memset(&g, 0x5a, sizeof(g));
	before = g;
	if (risk_point_grade(&cfg, &in, &g, why, sizeof(why)) != -1)
		fail_msg("risk point accepted (expected '%s')", part);
	assert_why(why, part);
	assert_memory_equal(&g, &before, sizeof(g));
}

static void
test_risk_point_refusals(void **state)
{
	(void)state;
	risk_point_bad(METHOD_LEC, 0, 6, 7, 0,
	    "LEC factor L must be a finite number > 0, got 0");
	risk_point_bad(METHOD_LEC, 3, -1, 7, 0, "LEC factor E must be");
	risk_point_bad(METHOD_LEC, 3, 6, NAN, 0,
	    "LEC factor C must be a finite number > 0, got nan");
	risk_point_bad(METHOD_LEC, INFINITY, 6, 7, 0, "LEC factor L must be");
	risk_point_bad(
	    METHOD_LEC, 1e200, 1e200, 1e200, 0, "LEC value is not finite");
	risk_point_bad(METHOD_LS, 3, 0, 0, 0,
	    "LS factor S must be a finite number > 0, got 0");
	risk_point_bad(METHOD_LS, -3, 0, 0, 4, "LS factor L must be");
	risk_point_bad(METHOD_LS, NAN, 0, 0, 4, "LS factor L must be");
	risk_point_bad(METHOD_LS, 1e200, 0, 0, 1e200, "LS value is not finite");
	risk_point_bad(
	    (enum risk_method)7, 3, 6, 7, 4, "unknown grading method 7");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_level_names),
	    cmocka_unit_test(test_level_parse),
	    cmocka_unit_test(test_level_raise_and_max),
	    cmocka_unit_test(test_spec_next),
	    cmocka_unit_test(test_spec_number),
	    cmocka_unit_test(test_bands_default_lec_bounds),
	    cmocka_unit_test(test_bands_custom_spec),
	    cmocka_unit_test(test_bands_parse_errors),
	    cmocka_unit_test(test_sector_levels),
	    cmocka_unit_test(test_sector_levels_errors),
	    cmocka_unit_test(test_sector_list),
	    cmocka_unit_test(test_sector_list_errors),
	    cmocka_unit_test(test_alpha_people_bounds),
	    cmocka_unit_test(test_alpha_table_parse),
	    cmocka_unit_test(test_alpha_table_errors),
	    cmocka_unit_test(test_grade_bounds_parse),
	    cmocka_unit_test(test_grade_bounds_errors),
	    cmocka_unit_test(test_source_r_10),
	    cmocka_unit_test(test_source_r_50),
	    cmocka_unit_test(test_source_r_100),
	    cmocka_unit_test(test_source_s_major),
	    cmocka_unit_test(test_source_chemicals_summed),
	    cmocka_unit_test(test_source_custom_cfg),
	    cmocka_unit_test(test_source_reassess_due),
	    cmocka_unit_test(test_source_refusals),
	    cmocka_unit_test(test_source_grade_names),
	    cmocka_unit_test(test_days_add_months_cases),
	    cmocka_unit_test(test_days_add_months_walk),
	    cmocka_unit_test(test_lec_real_triples),
	    cmocka_unit_test(test_lec_exact_bounds_off_scale),
	    cmocka_unit_test(test_lec_settled_product),
	    cmocka_unit_test(test_ls_every_product),
	    cmocka_unit_test(test_ls_off_scale_note),
	    cmocka_unit_test(test_risk_point_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

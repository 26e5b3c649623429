/*
 * test_riskd_warning - the early-warning rule table of a major hazard
 * source (services/riskd/warning.c): its parser and its evaluation.
 *
 * Each rule of DOMAIN.md 3.4 is tested at its boundary, mostly alone in a
 * one-rule table so that no other rule hides the edge, then the default
 * table as a whole: the highest level wins, the reasons name the facts,
 * unacked_orange lifts only an orange, and next_check_ms says when time
 * alone would change the answer.  The parser is fed every kind of bad
 * table and must name the rule by position and text.  Times are epoch
 * milliseconds around NOW; the texts are compared whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/riskd/warning.h"

#define NOW INT64_C(1795996800000)
#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static void
rules_ok(const char *spec, struct warn_rules *r)
{
	char why[256] = "";

	if (warn_rules_parse(spec, r, why, sizeof(why)) != 0)
		fail_msg("'%s' refused: %s", spec, why);
}

/* spec is refused, and the reason contains each of the parts given. */
static void
rules_bad(const char *spec, const char *part1, const char *part2)
{
	struct warn_rules r;
	char why[256] = "";

	memset(&r, 0x5a, sizeof(r));
	if (warn_rules_parse(spec, &r, why, sizeof(why)) == 0)
		fail_msg("'%s' accepted", spec);
	assert_int_equal(r.n, 0);
	if (strstr(why, part1) == NULL)
		fail_msg("'%s': '%s' does not say '%s'", spec, why, part1);
	if (part2 != NULL && strstr(why, part2) == NULL)
		fail_msg("'%s': '%s' does not say '%s'", spec, why, part2);
}

static void
evaluate(const char *spec, const struct warn_facts *f, struct warn_result *res)
{
	struct warn_rules r;

	rules_ok(spec, &r);
	warn_evaluate(&r, f, res);
}

static void
facts_init(struct warn_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->now_ms = NOW;
	f->npoints = 10;
}

static struct warn_alarm
alarm(const char *point, enum alarm_kind kind, int64_t start_ms, int acked)
{
	struct warn_alarm a = {kind, start_ms, acked, "id", point, 95.5, 90};

	return a;
}

/* The reasons contain one of rule kind with exactly text. */
static void
assert_reason(
    const struct warn_result *res, enum warn_rule_kind rule, const char *text)
{
	for (size_t i = 0; i < res->nreasons; i++)
		if (res->reason[i].rule == rule) {
			assert_string_equal(res->reason[i].text, text);
			assert_int_equal(res->reason[i].level, res->level);
			return;
		}
	fail_msg("no reason of rule %s", warn_rule_name(rule));
}

/* ---- the parser ------------------------------------------------------- */

static void
test_default_table_parses(void **state)
{
	struct warn_rules r;

	(void)state;
	rules_ok(WARN_RULES_DEFAULT, &r);
	assert_int_equal(r.n, 11);
	assert_int_equal(r.rule[0].level, LEVEL_RED);
	assert_int_equal(r.rule[0].kind, WR_HHLL_LASTING);
	assert_int_equal(r.rule[0].dur_ms, 10 * MIN);
	assert_int_equal(r.rule[1].kind, WR_HHLL_DURING_OPERATION);
	assert_int_equal(r.rule[1].nlist, 2);
	assert_string_equal(r.rule[1].list[0], "hot_work");
	assert_string_equal(r.rule[1].list[1], "confined_space");
	assert_int_equal(r.rule[2].kind, WR_HHLL_POINTS);
	assert_int_equal(r.rule[2].count, 3);
	assert_int_equal(r.rule[3].kind, WR_UNACKED_ORANGE);
	assert_int_equal(r.rule[3].dur_ms, 15 * MIN);
	assert_int_equal(r.rule[3].grades, (1u << 1) | (1u << 2));
	assert_int_equal(r.rule[4].level, LEVEL_ORANGE);
	assert_int_equal(r.rule[4].kind, WR_HHLL_ANY);
	assert_int_equal(r.rule[5].kind, WR_HL_POINTS);
	assert_int_equal(r.rule[6].kind, WR_HL_RAISED_IN);
	assert_int_equal(r.rule[6].dur_ms, DAY);
	assert_int_equal(r.rule[6].count, 10);
	assert_int_equal(r.rule[7].level, LEVEL_YELLOW);
	assert_int_equal(r.rule[7].kind, WR_HL_ANY);
	assert_int_equal(r.rule[8].kind, WR_OPERATION);
	assert_int_equal(r.rule[8].nlist, 3);
	assert_string_equal(r.rule[8].list[0], "hot_work/special");
	assert_string_equal(r.rule[8].list[2], "confined_space");
	assert_int_equal(r.rule[9].kind, WR_MAINTENANCE);
	assert_string_equal(r.rule[9].list[2], "trial");
	assert_int_equal(r.rule[10].kind, WR_OFFLINE_SHARE);
	assert_true(r.rule[10].share == 0.2);
	assert_int_equal(warn_rules_window_ms(&r), DAY);
}

static void
test_empty_table(void **state)
{
	struct warn_rules r;
	struct warn_facts f;
	struct warn_result res;
	struct warn_alarm a = alarm("TK-101", ALARM_HH, NOW - HOUR, 0);

	(void)state;
	rules_ok("", &r);
	assert_int_equal(r.n, 0);
	rules_ok("  \t ", &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(warn_rules_window_ms(&r), 0);
	facts_init(&f);
	f.alarms = &a;
	f.nalarms = 1;
	warn_evaluate(&r, &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	assert_int_equal(res.nreasons, 0);
	assert_int_equal(res.next_check_ms, 0);
}

static void
test_parse_spacing_and_units(void **state)
{
	struct warn_rules r;

	(void)state;
	rules_ok("red:hhll_lasting>=500ms;orange :hhll_lasting >= 30s;"
	         " yellow:  hhll_lasting>=2h ; red: hhll_lasting >= 1d ;"
	         "red: hl_raised_in 90m>=2; yellow: offline_share>=12.5%;"
	         "yellow: operation hot_work , lifting/first;"
	         "red: unacked_orange>=1h grade 4 , 3",
	    &r);
	assert_int_equal(r.n, 8);
	assert_int_equal(r.rule[0].dur_ms, 500);
	assert_int_equal(r.rule[1].level, LEVEL_ORANGE);
	assert_int_equal(r.rule[1].dur_ms, 30 * SEC);
	assert_int_equal(r.rule[2].dur_ms, 2 * HOUR);
	assert_int_equal(r.rule[3].dur_ms, DAY);
	assert_int_equal(r.rule[4].dur_ms, 90 * MIN);
	assert_int_equal(r.rule[4].count, 2);
	assert_true(r.rule[5].share == 0.125);
	assert_int_equal(r.rule[6].nlist, 2);
	assert_string_equal(r.rule[6].list[1], "lifting/first");
	assert_int_equal(r.rule[7].grades, (1u << 3) | (1u << 4));
	/* The longest raise window is the history riskd keeps. */
	rules_ok("red: hl_raised_in 1h >= 3; orange: hl_raised_in 2d >= 9", &r);
	assert_int_equal(warn_rules_window_ms(&r), 2 * DAY);
	assert_string_equal(warn_rule_name(WR_OFFLINE_SHARE), "offline_share");
	assert_string_equal(
	    warn_rule_name(WR_UNACKED_ORANGE), "unacked_orange");
}

static void
test_parse_bad_level(void **state)
{
	(void)state;
	rules_bad("blue: hl_any", "rule 1 (blue: hl_any)", "blue is not");
	rules_bad("purple: hl_any", "rule 1 (purple: hl_any)", "not a level");
	rules_bad(": hl_any", "rule 1", "expected a level");
	rules_bad("%%%", "rule 1 (%%%)", "expected a level");
	rules_bad("red hl_any", "rule 1", "expected ':'");
	rules_bad(
	    "orange: unacked_orange >= 15m grade 1", "rule 1", "must be red");
}

static void
test_parse_unknown_rule(void **state)
{
	(void)state;
	rules_bad("red: hhll_forever", "rule 1 (red: hhll_forever)",
	    "unknown rule 'hhll_forever'");
	rules_bad("red: hl_any; yellow: hl_anything",
	    "rule 2 (yellow: hl_anything)", "unknown rule");
	rules_bad("red:", "rule 1 (red:)", "no rule after the level");
	rules_bad("red: 42", "rule 1", "expected a rule name");
}

static void
test_parse_missing_args(void **state)
{
	(void)state;
	rules_bad(
	    "red: hhll_lasting", "rule 1 (red: hhll_lasting)", "expected '>='");
	rules_bad("red: hhll_lasting >=", "rule 1", "found the end");
	rules_bad("red: hhll_points >= ", "rule 1", "number of points");
	rules_bad("red: hl_points 3", "rule 1", "expected '>='");
	rules_bad("red: hl_raised_in >= 10", "rule 1", "window");
	rules_bad("red: hl_raised_in 24h", "rule 1", "expected '>='");
	rules_bad("red: hl_raised_in 24h >=", "rule 1", "number of alarms");
	rules_bad("yellow: operation", "rule 1", "operation types");
	rules_bad("yellow: maintenance ", "rule 1", "maintenance reasons");
	rules_bad("red: hhll_during_operation", "rule 1", "operation types");
	rules_bad("yellow: offline_share >=", "rule 1", "share");
	rules_bad("red: unacked_orange >= 15m", "rule 1", "grade");
	rules_bad("red: unacked_orange >= 15m grade", "rule 1", "source grade");
	rules_bad("red: unacked_orange 15m grade 1", "rule 1", "'>='");
}

static void
test_parse_trailing_junk(void **state)
{
	(void)state;
	rules_bad("red: hhll_any now", "rule 1 (red: hhll_any now)",
	    "unexpected 'now'");
	rules_bad("red: hhll_points >= 3 points", "rule 1", "unexpected");
	rules_bad("yellow: offline_share >= 20% extra", "rule 1",
	    "unexpected 'extra'");
	rules_bad("yellow: maintenance startup shutdown", "rule 1",
	    "unexpected 'shutdown'");
	rules_bad(
	    "red: unacked_orange >= 15m grade 1,2 x", "rule 1", "unexpected");
	rules_bad("red: hhll_any; orange: hl_any !", "rule 2", "unexpected");
}

static void
test_parse_bad_durations(void **state)
{
	(void)state;
	rules_bad("red: hhll_lasting >= 10", "rule 1", "no valid unit");
	rules_bad("red: hhll_lasting >= 10min", "rule 1", "no valid unit");
	rules_bad("red: hhll_lasting >= 10 m", "rule 1", "no valid unit");
	rules_bad("red: hhll_lasting >= 1.5h", "rule 1", "no valid unit");
	rules_bad("red: hhll_lasting >= m", "rule 1", "whole number");
	rules_bad("red: hhll_lasting >= -5m", "rule 1", "whole number");
	rules_bad("red: hhll_lasting >= 0m", "rule 1", "zero");
	rules_bad("red: hl_raised_in 3651d >= 1", "rule 1", "longer than");
	rules_bad("red: hhll_lasting >= 99999999999999999999s", "rule 1",
	    "whole number");
}

static void
test_parse_bad_counts(void **state)
{
	(void)state;
	rules_bad("red: hhll_points >= 0", "rule 1", "out of range");
	rules_bad("red: hhll_points >= -1", "rule 1", "whole number");
	rules_bad("red: hhll_points >= 1.5", "rule 1", "whole number");
	rules_bad("red: hhll_points >= 3x", "rule 1", "whole number");
	rules_bad("red: hl_raised_in 1h >= 1000001", "rule 1", "out of range");
	rules_bad("red: hl_points >= many", "rule 1", "whole number");
}

static void
test_parse_bad_percent(void **state)
{
	struct warn_rules r;

	(void)state;
	rules_bad("yellow: offline_share >= 0%", "rule 1", "out of range");
	rules_bad("yellow: offline_share >= 0.0%", "rule 1", "out of range");
	rules_bad("yellow: offline_share >= 100.1%", "rule 1", "out of range");
	rules_bad("yellow: offline_share >= 101%", "rule 1", "share like");
	rules_bad("yellow: offline_share >= 20", "rule 1", "share like");
	rules_bad("yellow: offline_share >= abc%", "rule 1", "share like");
	rules_bad("yellow: offline_share >= 20.%", "rule 1", "share like");
	rules_ok("yellow: offline_share >= 100%", &r);
	assert_true(r.rule[0].share == 1.0);
	rules_ok("yellow: offline_share >= 0.5%", &r);
	assert_true(r.rule[0].share == 0.005);
}

static void
test_parse_bad_lists(void **state)
{
	(void)state;
	rules_bad("yellow: maintenance a,b,c,d,e,f,g,h,i", "rule 1",
	    "more than 8 items");
	rules_bad("yellow: maintenance a_reason_that_is_far_too_long_for_it",
	    "rule 1", "longer than 31");
	rules_bad(
	    "yellow: maintenance Startup", "rule 1", "maintenance reasons");
	rules_bad("yellow: maintenance startup,", "rule 1", "found the end");
	rules_bad("yellow: maintenance start/up", "rule 1", "'/' is not");
	rules_bad("red: hhll_during_operation hot_work/first", "rule 1",
	    "'/' is not");
	rules_bad("yellow: operation hot_work/", "rule 1", "not type/level");
	rules_bad("yellow: operation /first", "rule 1", "not type/level");
	rules_bad("yellow: operation a/b/c", "rule 1", "two '/'");
	rules_bad(
	    "red: unacked_orange >= 15m grade 5", "rule 1", "source grade");
	rules_bad(
	    "red: unacked_orange >= 15m grade 0", "rule 1", "source grade");
	rules_bad(
	    "red: unacked_orange >= 15m grade 12", "rule 1", "source grade");
}

static void
test_parse_structure(void **state)
{
	char spec[2048];
	size_t len = 0;

	(void)state;
	rules_bad("red: hl_any;;yellow: hl_any", "rule 2 is empty", NULL);
	rules_bad("red: hl_any;", "rule 2 is empty", NULL);
	rules_bad(";", "rule 1 is empty", NULL);
	/* WARN_RULES_MAX rules parse; one more does not. */
	for (int i = 0; i < WARN_RULES_MAX; i++)
		len += (size_t)snprintf(spec + len, sizeof(spec) - len,
		    "%sred: hl_any", i > 0 ? ";" : "");
	{
		struct warn_rules r;

		rules_ok(spec, &r);
		assert_int_equal(r.n, WARN_RULES_MAX);
	}
	snprintf(spec + len, sizeof(spec) - len, "; yellow: hl_any");
	rules_bad(spec, "rule 33 (yellow: hl_any)", "more than 32 rules");
}

/* ---- the rules at their boundaries ------------------------------------ */

static void
test_hhll_lasting_boundary(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_alarm a[2] = {
	    alarm("TK-101", ALARM_HH, NOW - 10 * MIN, 0),
	    alarm("TK-102", ALARM_H, NOW - HOUR, 0),
	};

	(void)state;
	facts_init(&f);
	f.alarms = a;
	f.nalarms = 2;
	evaluate("red: hhll_lasting >= 10m", &f, &res);
	assert_int_equal(res.level, LEVEL_RED);
	assert_int_equal(res.nreasons, 1);
	assert_reason(&res, WR_HHLL_LASTING,
	    "点位 TK-101 HH 报警已持续 10 分钟（≥10 分钟）");
	assert_int_equal(res.next_check_ms, 0);

	/* 1 ms short: not yet; due exactly at start + 10 min.  An H alarm
	 * however old is not HH/LL. */
	a[0].start_ms = NOW - 10 * MIN + 1;
	evaluate("red: hhll_lasting >= 10m", &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	assert_int_equal(res.nreasons, 0);
	assert_int_equal(res.next_check_ms, NOW + 1);

	/* LL counts too; minutes are rounded down; two alarms past it. */
	a[0].start_ms = NOW - 12 * MIN - 59 * SEC;
	a[1] = alarm("TK-102", ALARM_LL, NOW - 11 * MIN, 0);
	evaluate("red: hhll_lasting >= 10m", &f, &res);
	assert_reason(&res, WR_HHLL_LASTING,
	    "点位 TK-101 HH 报警已持续 12 分钟（≥10 分钟），共 2 个 HH/LL "
	    "报警达到时限");
	/* A rule in hours still reports minutes lasted. */
	a[0].start_ms = NOW - 150 * MIN;
	evaluate("red: hhll_lasting >= 2h", &f, &res);
	assert_reason(&res, WR_HHLL_LASTING,
	    "点位 TK-101 HH 报警已持续 150 分钟（≥2 小时）");
}

static void
test_hhll_points_boundary(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_alarm a[4] = {
	    alarm("A", ALARM_HH, NOW - MIN, 0),
	    alarm("B", ALARM_LL, NOW - MIN, 0),
	    alarm("B", ALARM_HH, NOW - MIN, 0), /* one point, counted once */
	    alarm("C", ALARM_H, NOW - MIN, 0),  /* H is not HH/LL */
	};

	(void)state;
	facts_init(&f);
	f.alarms = a;
	f.nalarms = 4;
	evaluate("red: hhll_points >= 3", &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	a[3].kind = ALARM_LL;
	evaluate("red: hhll_points >= 3", &f, &res);
	assert_int_equal(res.level, LEVEL_RED);
	assert_reason(&res, WR_HHLL_POINTS, "3 个点位同时 HH/LL 报警：A、B、C");
}

static void
test_hl_points_and_any(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_alarm a[3] = {
	    alarm("A", ALARM_H, NOW - MIN, 0),
	    alarm("B", ALARM_L, NOW - 2 * MIN, 0),
	    alarm("C", ALARM_HH, NOW - 3 * MIN, 0),
	};

	(void)state;
	facts_init(&f);
	f.alarms = a;
	f.nalarms = 2;
	evaluate("orange: hl_points >= 3", &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	f.nalarms = 3; /* HH is past H: it counts */
	evaluate("orange: hl_points >= 3", &f, &res);
	assert_int_equal(res.level, LEVEL_ORANGE);
	assert_reason(
	    &res, WR_HL_POINTS, "3 个点位同时超限报警：A H、B L、C HH");

	/* Any: the oldest alarm is named, with its value and threshold. */
	evaluate("yellow: hl_any", &f, &res);
	assert_reason(
	    &res, WR_HL_ANY, "点位 C HH 报警（值 95.5，阈值 90）等 3 个点位");
	f.nalarms = 1;
	a[0].threshold = NAN;
	evaluate("yellow: hl_any", &f, &res);
	assert_reason(&res, WR_HL_ANY, "点位 A H 报警（值 95.5）");
	evaluate("orange: hhll_any", &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	a[0].kind = ALARM_LL;
	a[0].value = NAN;
	evaluate("orange: hhll_any", &f, &res);
	assert_reason(&res, WR_HHLL_ANY, "点位 A LL 报警");
	/* Offline and fault are not threshold alarms. */
	a[0].kind = ALARM_OFFLINE;
	evaluate("yellow: hl_any", &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
}

static void
test_hl_raised_in_boundary(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	int64_t raised[11];
	const char *spec = "orange: hl_raised_in 24h >= 10";

	(void)state;
	facts_init(&f);
	/* Nine inside the window, the oldest exactly 24 h old (outside). */
	raised[0] = NOW - DAY;
	for (int i = 1; i < 10; i++)
		raised[i] = NOW - (int64_t)i * HOUR;
	raised[10] = NOW; /* now itself is inside */
	f.raised_ms = raised;
	f.nraised = 10;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	/* The next change: the oldest inside leaves at raised + 24 h. */
	assert_int_equal(res.next_check_ms, NOW - 9 * HOUR + DAY);
	f.nraised = 11;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_ORANGE);
	assert_reason(
	    &res, WR_HL_RAISED_IN, "24 小时内 10 次超限报警（≥10 次）");
	/* The edge one just inside. */
	raised[0] = NOW - DAY + 1;
	f.nraised = 10;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_ORANGE);
	assert_int_equal(res.next_check_ms, NOW + 1);
	/* Windows of days are said in days past two of them. */
	f.nraised = 11;
	evaluate("orange: hl_raised_in 7d >= 2", &f, &res);
	assert_reason(&res, WR_HL_RAISED_IN, "7 天内 11 次超限报警（≥2 次）");
	evaluate("orange: hl_raised_in 90m >= 2", &f, &res);
	assert_reason(&res, WR_HL_RAISED_IN, "90 分钟内 2 次超限报警（≥2 次）");
}

static void
test_offline_share_boundary(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	const char *spec = "yellow: offline_share >= 20%";

	(void)state;
	facts_init(&f);
	f.npoints = 1000;
	f.noffline = 199;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	f.noffline = 200;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_YELLOW);
	assert_reason(&res, WR_OFFLINE_SHARE, "20% 的点位离线（200/1000）");
	f.npoints = 10;
	f.noffline = 2;
	evaluate(spec, &f, &res);
	assert_reason(&res, WR_OFFLINE_SHARE, "20% 的点位离线（2/10）");
	f.npoints = 3;
	f.noffline = 1;
	evaluate(spec, &f, &res);
	assert_reason(&res, WR_OFFLINE_SHARE, "33.3% 的点位离线（1/3）");
	/* A source without points has no share. */
	f.npoints = 0;
	f.noffline = 0;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
}

static void
test_operation_type_level(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_operation op = {"OP-7", "hot_work", "second"};
	const char *spec =
	    "yellow: operation hot_work/special,hot_work/first,confined_space";

	(void)state;
	facts_init(&f);
	f.ops = &op;
	f.nops = 1;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	op.level = NULL;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	op.level = "first";
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_YELLOW);
	assert_reason(&res, WR_OPERATION, "一级动火作业 OP-7 进行中");
	op.level = "special";
	evaluate(spec, &f, &res);
	assert_reason(&res, WR_OPERATION, "特级动火作业 OP-7 进行中");
	/* A bare type matches whatever the grade. */
	op.type = "confined_space";
	op.level = "";
	evaluate(spec, &f, &res);
	assert_reason(&res, WR_OPERATION, "受限空间作业 OP-7 进行中");
	op.type = "hot_work";
	op.level = "second";
	evaluate("yellow: operation hot_work", &f, &res);
	assert_reason(&res, WR_OPERATION, "二级动火作业 OP-7 进行中");
	op.type = "lifting";
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
}

static void
test_hhll_during_operation(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_operation ops[2] = {
	    {"OP-3", "lifting", NULL},
	    {"OP-7", "hot_work", "second"},
	};
	struct warn_alarm a = alarm("TK-101", ALARM_H, NOW - MIN, 0);
	const char *spec = "red: hhll_during_operation hot_work,confined_space";

	(void)state;
	facts_init(&f);
	f.alarms = &a;
	f.nalarms = 1;
	f.ops = ops;
	f.nops = 1;
	a.kind = ALARM_HH;
	evaluate(spec, &f, &res); /* lifting is not listed */
	assert_int_equal(res.level, LEVEL_BLUE);
	f.nops = 2;
	a.kind = ALARM_H; /* H is not HH/LL */
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	a.kind = ALARM_HH;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_RED);
	/* Types only: any grade of hot work. */
	assert_reason(&res, WR_HHLL_DURING_OPERATION,
	    "二级动火作业 OP-7 进行中时点位 TK-101 HH 报警");
	ops[1].level = NULL;
	evaluate(spec, &f, &res);
	assert_reason(&res, WR_HHLL_DURING_OPERATION,
	    "动火作业 OP-7 进行中时点位 TK-101 HH 报警");
}

static void
test_maintenance_reasons(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_maintenance m[3] = {
	    {"overhaul", NOW + HOUR}, {"startup", NOW + 2 * HOUR},
	    {"trial", NOW}, /* ended exactly now */
	};
	const char *spec = "yellow: maintenance startup,shutdown,trial";

	(void)state;
	facts_init(&f);
	f.maint = m;
	f.nmaint = 1;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_BLUE);
	f.nmaint = 3;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_YELLOW);
	assert_reason(&res, WR_MAINTENANCE, "开车/停车/试生产：startup");
	/* The next change is the first window to end. */
	assert_int_equal(res.next_check_ms, NOW + HOUR);
	m[2].ends_ms = 0; /* no end known: active */
	evaluate(spec, &f, &res);
	assert_reason(&res, WR_MAINTENANCE, "开车/停车/试生产：startup、trial");
	m[1].reason = "trial";
	evaluate(spec, &f, &res); /* the same reason named once */
	assert_reason(&res, WR_MAINTENANCE, "开车/停车/试生产：trial");
}

/* Three H/L alarms (orange by hl_points) on a source of the grade, the
 * first unacknowledged since start. */
static void
unacked_case(int grade, int acked, int64_t start, struct warn_result *res)
{
	struct warn_facts f;
	struct warn_alarm a[3] = {
	    alarm("TK-101", ALARM_H, start, acked),
	    alarm("TK-102", ALARM_L, NOW - MIN, 1),
	    alarm("TK-103", ALARM_H, NOW - MIN, 1),
	};

	facts_init(&f);
	f.grade = grade;
	f.alarms = a;
	f.nalarms = 3;
	evaluate(WARN_RULES_DEFAULT, &f, res);
}

static void
test_unacked_orange(void **state)
{
	struct warn_result res;

	(void)state;
	unacked_case(2, 0, NOW - 15 * MIN, &res);
	assert_int_equal(res.level, LEVEL_RED);
	assert_int_equal(res.nreasons, 2);
	assert_int_equal(res.reason[0].rule, WR_UNACKED_ORANGE);
	assert_int_equal(res.reason[0].level, LEVEL_RED);
	assert_string_equal(res.reason[0].text,
	    "二级重大危险源橙色预警中，点位 TK-101 H 报警 15 分钟未确认"
	    "（≥15 分钟）");
	/* The orange facts are kept after it. */
	assert_int_equal(res.reason[1].rule, WR_HL_POINTS);
	assert_int_equal(res.reason[1].level, LEVEL_ORANGE);
	unacked_case(1, 0, NOW - 20 * MIN, &res);
	assert_int_equal(res.level, LEVEL_RED);
	assert_string_equal(res.reason[0].text,
	    "一级重大危险源橙色预警中，点位 TK-101 H 报警 20 分钟未确认"
	    "（≥15 分钟）");

	/* Grade 3 and 4, an ungraded source, an acked alarm, 1 ms short. */
	unacked_case(3, 0, NOW - HOUR, &res);
	assert_int_equal(res.level, LEVEL_ORANGE);
	unacked_case(4, 0, NOW - HOUR, &res);
	assert_int_equal(res.level, LEVEL_ORANGE);
	unacked_case(0, 0, NOW - HOUR, &res);
	assert_int_equal(res.level, LEVEL_ORANGE);
	assert_int_equal(res.next_check_ms, 0);
	unacked_case(2, 1, NOW - HOUR, &res);
	assert_int_equal(res.level, LEVEL_ORANGE);
	assert_int_equal(res.nreasons, 1);
	unacked_case(2, 0, NOW - 15 * MIN + 1, &res);
	assert_int_equal(res.level, LEVEL_ORANGE);
	assert_int_equal(res.next_check_ms, NOW + 1);
}

static void
test_unacked_only_from_orange(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_alarm a[3] = {
	    alarm("TK-101", ALARM_H, NOW - HOUR, 0),
	    alarm("TK-102", ALARM_HH, NOW - 11 * MIN, 0),
	    alarm("TK-103", ALARM_HH, NOW - MIN, 0),
	};

	(void)state;
	facts_init(&f);
	f.grade = 1;
	f.alarms = a;
	/* Yellow (one H alarm): an unacknowledged hour lifts nothing. */
	f.nalarms = 1;
	evaluate(WARN_RULES_DEFAULT, &f, &res);
	assert_int_equal(res.level, LEVEL_YELLOW);
	assert_int_equal(res.nreasons, 1);
	assert_int_equal(res.reason[0].rule, WR_HL_ANY);
	/* Red already (HH for 11 min): reasons are the red rules only. */
	f.nalarms = 2;
	evaluate(WARN_RULES_DEFAULT, &f, &res);
	assert_int_equal(res.level, LEVEL_RED);
	assert_int_equal(res.nreasons, 1);
	assert_reason(&res, WR_HHLL_LASTING,
	    "点位 TK-102 HH 报警已持续 11 分钟（≥10 分钟）");
}

static void
test_highest_level_wins(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_alarm a[3] = {
	    alarm("A", ALARM_HH, NOW - MIN, 0),
	    alarm("B", ALARM_LL, NOW - 2 * MIN, 0),
	    alarm("C", ALARM_HH, NOW - 3 * MIN, 0),
	};
	struct warn_operation op = {"OP-9", "confined_space", NULL};
	struct warn_maintenance m = {"shutdown", NOW + HOUR};

	(void)state;
	facts_init(&f);
	f.alarms = a;
	f.nalarms = 3;
	f.ops = &op;
	f.nops = 1;
	f.maint = &m;
	f.nmaint = 1;
	f.noffline = 5;
	evaluate(WARN_RULES_DEFAULT, &f, &res);
	assert_int_equal(res.level, LEVEL_RED);
	/* Two red rules match (during operation, 3 points), in table order;
	 * the orange and yellow matches are not listed. */
	assert_int_equal(res.nreasons, 2);
	assert_int_equal(res.reason[0].rule, WR_HHLL_DURING_OPERATION);
	assert_string_equal(res.reason[0].text,
	    "受限空间作业 OP-9 进行中时点位 C HH 报警（共 "
	    "3 个点位 HH/LL 报警）");
	assert_int_equal(res.reason[1].rule, WR_HHLL_POINTS);
	assert_string_equal(
	    res.reason[1].text, "3 个点位同时 HH/LL 报警：A、B、C");
	/* When HH lasts 10 min, and when the maintenance ends. */
	assert_int_equal(res.next_check_ms, NOW - 3 * MIN + 10 * MIN);

	/* Without the HH alarms: yellow, with four reasons. */
	op.type = "hot_work";
	op.level = "special";
	a[0].kind = ALARM_H;
	f.nalarms = 1;
	evaluate(WARN_RULES_DEFAULT, &f, &res);
	assert_int_equal(res.level, LEVEL_YELLOW);
	assert_int_equal(res.nreasons, 4);
	assert_int_equal(res.reason[0].rule, WR_HL_ANY);
	assert_int_equal(res.reason[1].rule, WR_OPERATION);
	assert_int_equal(res.reason[2].rule, WR_MAINTENANCE);
	assert_int_equal(res.reason[3].rule, WR_OFFLINE_SHARE);
	assert_string_equal(res.reason[1].text, "特级动火作业 OP-9 进行中");
	assert_string_equal(res.reason[2].text, "开车/停车/试生产：shutdown");
	assert_string_equal(res.reason[3].text, "50% 的点位离线（5/10）");
	assert_int_equal(res.next_check_ms, NOW + HOUR);
}

static void
test_reasons_capped(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_alarm a = alarm("A", ALARM_H, NOW - MIN, 0);
	char spec[512];
	size_t len = 0;

	(void)state;
	for (int i = 0; i < 10; i++)
		len += (size_t)snprintf(spec + len, sizeof(spec) - len,
		    "%syellow: hl_points >= %d", i > 0 ? ";" : "", 1);
	facts_init(&f);
	f.alarms = &a;
	f.nalarms = 1;
	evaluate(spec, &f, &res);
	assert_int_equal(res.level, LEVEL_YELLOW);
	assert_int_equal(res.nreasons, WARN_REASONS_MAX);
}

/* 1 when s is valid UTF-8. */
static int
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		int n = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : 1;

		if (*p >= 0x80 && *p < 0xC0)
			return 0;
		p++;
		while (n-- > 0) {
			if ((*p & 0xC0) != 0x80)
				return 0;
			p++;
		}
	}
	return 1;
}

static void
test_long_texts_cut_cleanly(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_alarm a[12];
	char points[12][80];
	size_t len;

	(void)state;
	for (int i = 0; i < 12; i++) {
		snprintf(points[i], sizeof(points[i]),
		    "点位编号很长的监测点-%02d-XXXXXXXXXXXXXXXX", i);
		a[i] = alarm(points[i], ALARM_HH, NOW - MIN, 0);
	}
	facts_init(&f);
	f.alarms = a;
	f.nalarms = 12;
	evaluate("red: hhll_points >= 3", &f, &res);
	assert_int_equal(res.level, LEVEL_RED);
	len = strlen(res.reason[0].text);
	assert_true(len < sizeof(res.reason[0].text));
	assert_true(utf8_valid(res.reason[0].text));
	/* The list ends in "等" rather than in half a code. */
	assert_string_equal(res.reason[0].text + len - strlen("等"), "等");
	assert_non_null(strstr(res.reason[0].text, "12 个点位"));

	/* One code longer than the whole text: cut on a character. */
	{
		char huge[600];

		memset(huge, 0, sizeof(huge));
		for (size_t i = 0; i + 3 < sizeof(huge); i += 3)
			memcpy(huge + i, "点", 3);
		a[0].point = huge;
		f.nalarms = 1;
		evaluate("red: hhll_lasting >= 1m", &f, &res);
		assert_int_equal(res.level, LEVEL_RED);
		assert_true(
		    strlen(res.reason[0].text) < sizeof(res.reason[0].text));
		assert_true(utf8_valid(res.reason[0].text));
	}
}

static void
test_next_check(void **state)
{
	struct warn_facts f;
	struct warn_result res;
	struct warn_alarm a[2] = {
	    alarm("A", ALARM_H, NOW - 5 * MIN, 0),
	    alarm("B", ALARM_LL, NOW - 8 * MIN, 1),
	};
	int64_t raised[2] = {NOW - DAY + 30 * SEC, NOW - HOUR};
	struct warn_maintenance m = {"trial", NOW + 90 * SEC};

	(void)state;
	facts_init(&f);
	f.grade = 2;
	f.alarms = a;
	f.nalarms = 2;
	/* Nothing that time changes: 0. */
	evaluate("orange: hhll_any; yellow: hl_any", &f, &res);
	assert_int_equal(res.next_check_ms, 0);
	/* The LL alarm reaches 10 min in 2 min. */
	evaluate("red: hhll_lasting >= 10m", &f, &res);
	assert_int_equal(res.next_check_ms, NOW + 2 * MIN);
	/* The H alarm is unacknowledged 15 min in 10 min; the acked LL
	 * does not count. */
	evaluate("red: unacked_orange >= 15m grade 1,2", &f, &res);
	assert_int_equal(res.next_check_ms, NOW + 10 * MIN);
	f.grade = 3;
	evaluate("red: unacked_orange >= 15m grade 1,2", &f, &res);
	assert_int_equal(res.next_check_ms, 0);
	/* A raise leaves the 24 h window in 30 s. */
	f.raised_ms = raised;
	f.nraised = 2;
	evaluate("orange: hl_raised_in 24h >= 10", &f, &res);
	assert_int_equal(res.next_check_ms, NOW + 30 * SEC);
	/* The earliest of all of them. */
	f.maint = &m;
	f.nmaint = 1;
	evaluate(
	    "red: hhll_lasting >= 10m; yellow: maintenance trial", &f, &res);
	assert_int_equal(res.next_check_ms, NOW + 90 * SEC);
	evaluate("red: hhll_lasting >= 10m; orange: hl_raised_in 24h >= 10;"
	         "yellow: maintenance trial",
	    &f, &res);
	assert_int_equal(res.next_check_ms, NOW + 30 * SEC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_table_parses),
	    cmocka_unit_test(test_empty_table),
	    cmocka_unit_test(test_parse_spacing_and_units),
	    cmocka_unit_test(test_parse_bad_level),
	    cmocka_unit_test(test_parse_unknown_rule),
	    cmocka_unit_test(test_parse_missing_args),
	    cmocka_unit_test(test_parse_trailing_junk),
	    cmocka_unit_test(test_parse_bad_durations),
	    cmocka_unit_test(test_parse_bad_counts),
	    cmocka_unit_test(test_parse_bad_percent),
	    cmocka_unit_test(test_parse_bad_lists),
	    cmocka_unit_test(test_parse_structure),
	    cmocka_unit_test(test_hhll_lasting_boundary),
	    cmocka_unit_test(test_hhll_points_boundary),
	    cmocka_unit_test(test_hl_points_and_any),
	    cmocka_unit_test(test_hl_raised_in_boundary),
	    cmocka_unit_test(test_offline_share_boundary),
	    cmocka_unit_test(test_operation_type_level),
	    cmocka_unit_test(test_hhll_during_operation),
	    cmocka_unit_test(test_maintenance_reasons),
	    cmocka_unit_test(test_unacked_orange),
	    cmocka_unit_test(test_unacked_only_from_orange),
	    cmocka_unit_test(test_highest_level_wins),
	    cmocka_unit_test(test_reasons_capped),
	    cmocka_unit_test(test_long_texts_cut_cleanly),
	    cmocka_unit_test(test_next_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

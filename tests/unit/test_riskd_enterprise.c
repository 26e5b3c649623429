/*
 * test_riskd_enterprise - an enterprise's dynamic risk
 * (services/riskd/enterprise.c): inherent level, raises, direct red,
 * safety-director scope, the score and the reasons.
 *
 * Every case starts from a quiet enterprise (a blue sector, 50 staff, no
 * hazard source or risk point, a responsibility list uploaded) and adds
 * the facts under test, so each rule is seen alone before they are
 * stacked.  The configuration is the default of DOMAIN.md 3.5 unless a
 * test changes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/riskd/enterprise.h"

#define DAY INT64_C(86400000)

static void
quiet(struct ent_facts *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->sector, sizeof(f->sector), "trade");
	f->employees = 50;
	f->worst_warning = LEVEL_BLUE;
	f->resplist_uploaded = 1;
}

static void
compute(const struct ent_facts *f, struct ent_risk *out)
{
	struct ent_risk_cfg c;

	ent_risk_cfg_init(&c);
	ent_risk_compute(&c, f, out);
}

/* The reasons hold code with exactly text. */
static void
assert_reason(const struct ent_risk *r, const char *code, const char *text)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reason[i].code, code) == 0) {
			assert_string_equal(r->reason[i].text, text);
			return;
		}
	fail_msg("no reason %s", code);
}

static int
has_reason(const struct ent_risk *r, const char *code)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reason[i].code, code) == 0)
			return 1;
	return 0;
}

static void
test_cfg_defaults(void **state)
{
	struct ent_risk_cfg c;

	(void)state;
	ent_risk_cfg_init(&c);
	assert_int_equal(
	    sector_levels_get(&c.sector_default, "hazchem"), LEVEL_YELLOW);
	assert_int_equal(
	    sector_levels_get(&c.sector_default, "coal"), LEVEL_YELLOW);
	assert_int_equal(
	    sector_levels_get(&c.sector_default, "noncoal_mine"), LEVEL_YELLOW);
	assert_int_equal(
	    sector_levels_get(&c.sector_default, "metallurgy"), LEVEL_YELLOW);
	assert_int_equal(
	    sector_levels_get(&c.sector_default, "trade"), LEVEL_BLUE);
	assert_int_equal(c.director_sectors.n, 4);
	assert_true(sector_list_has(&c.director_sectors, "metallurgy"));
	assert_false(sector_list_has(&c.director_sectors, "trade"));
	assert_int_equal(c.director_min_employees, 300);
	assert_int_equal(c.death_window_ms, 365 * DAY);
	assert_int_equal(c.larger_accident_window_ms, 1095 * DAY);
	assert_true(c.raise_open_major_hazard && c.raise_overdue_hazard &&
	            c.raise_source_warning && c.raise_death_accident &&
	            c.raise_no_director && c.raise_no_resplist &&
	            c.direct_red_overdue_major && c.direct_red_larger_accident);
}

static void
test_quiet_is_blue(void **state)
{
	struct ent_facts f;
	struct ent_risk r;

	(void)state;
	quiet(&f);
	compute(&f, &r);
	assert_int_equal(r.inherent, LEVEL_BLUE);
	assert_int_equal(r.level, LEVEL_BLUE);
	assert_int_equal(r.score, 0);
	assert_int_equal(r.nreasons, 1);
	assert_string_equal(r.reason[0].code, "sector_default");
	assert_string_equal(r.reason[0].text, "行业 trade 默认低风险");
	f.sector[0] = '\0';
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_BLUE);
	assert_string_equal(r.reason[0].text, "行业未登记，默认低风险");
}

static void
test_inherent_from_source_grade(void **state)
{
	static const struct {
		int grade;
		enum risk_level level;
		const char *text;
	} cases[] = {
	    {1, LEVEL_RED, "重大危险源 HS-01 为一级"},
	    {2, LEVEL_ORANGE, "重大危险源 HS-01 为二级"},
	    {3, LEVEL_YELLOW, "重大危险源 HS-01 为三级"},
	    {4, LEVEL_BLUE, "重大危险源 HS-01 为四级"},
	};
	struct ent_facts f;
	struct ent_risk r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		quiet(&f);
		f.worst_source_grade = cases[i].grade;
		snprintf(f.worst_source, sizeof(f.worst_source), "HS-01");
		compute(&f, &r);
		assert_int_equal(r.inherent, cases[i].level);
		assert_int_equal(r.level, cases[i].level);
		assert_string_equal(r.reason[0].code, "source_grade");
		assert_string_equal(r.reason[0].text, cases[i].text);
		/* The blue sector is named only when it is the worst too. */
		assert_int_equal(has_reason(&r, "sector_default"),
		    cases[i].level == LEVEL_BLUE);
	}
}

static void
test_inherent_from_risk_point(void **state)
{
	struct ent_facts f;
	struct ent_risk r;

	(void)state;
	quiet(&f);
	f.has_risk_point = 1;
	f.worst_risk_point = LEVEL_ORANGE;
	snprintf(
	    f.worst_risk_point_code, sizeof(f.worst_risk_point_code), "RP-3");
	compute(&f, &r);
	assert_int_equal(r.inherent, LEVEL_ORANGE);
	assert_int_equal(r.level, LEVEL_ORANGE);
	assert_int_equal(r.nreasons, 1);
	assert_reason(&r, "risk_point", "风险点 RP-3 为较大风险");
	/* Without has_risk_point its level is not looked at. */
	f.has_risk_point = 0;
	f.worst_risk_point = LEVEL_RED;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_BLUE);
}

static void
test_inherent_from_sector(void **state)
{
	struct ent_facts f;
	struct ent_risk r;
	struct ent_risk_cfg c;
	char why[160];

	(void)state;
	quiet(&f);
	snprintf(f.sector, sizeof(f.sector), "hazchem");
	f.director_appointed = 1;
	compute(&f, &r);
	assert_int_equal(r.inherent, LEVEL_YELLOW);
	assert_int_equal(r.level, LEVEL_YELLOW);
	assert_int_equal(r.nreasons, 1);
	assert_reason(&r, "sector_default", "行业 hazchem 默认一般风险");

	/* The worst of the three: a yellow source and sector, an orange
	 * risk point; only what reaches the level is named. */
	f.worst_source_grade = 3;
	snprintf(f.worst_source, sizeof(f.worst_source), "HS-02");
	f.has_risk_point = 1;
	f.worst_risk_point = LEVEL_ORANGE;
	snprintf(
	    f.worst_risk_point_code, sizeof(f.worst_risk_point_code), "RP-9");
	compute(&f, &r);
	assert_int_equal(r.inherent, LEVEL_ORANGE);
	assert_int_equal(r.nreasons, 1);
	assert_reason(&r, "risk_point", "风险点 RP-9 为较大风险");
	/* Ties are all named, in the order source, risk point, sector. */
	f.worst_risk_point = LEVEL_YELLOW;
	compute(&f, &r);
	assert_int_equal(r.nreasons, 3);
	assert_string_equal(r.reason[0].code, "source_grade");
	assert_string_equal(r.reason[1].code, "risk_point");
	assert_string_equal(r.reason[2].code, "sector_default");

	/* A city's own sector table. */
	ent_risk_cfg_init(&c);
	assert_int_equal(sector_levels_parse("gas:orange,*:yellow",
	                     &c.sector_default, why, sizeof(why)),
	    0);
	quiet(&f);
	snprintf(f.sector, sizeof(f.sector), "gas");
	ent_risk_compute(&c, &f, &r);
	assert_int_equal(r.level, LEVEL_ORANGE);
	assert_reason(&r, "sector_default", "行业 gas 默认较大风险");
	snprintf(f.sector, sizeof(f.sector), "trade");
	ent_risk_compute(&c, &f, &r);
	assert_int_equal(r.level, LEVEL_YELLOW);
}

/* Each raise alone lifts a blue enterprise to yellow, with its reason. */
static void
test_each_raise_alone(void **state)
{
	struct ent_facts f;
	struct ent_risk r;

	(void)state;
	quiet(&f);
	f.open_major_hazards = 1;
	compute(&f, &r);
	assert_int_equal(r.inherent, LEVEL_BLUE);
	assert_int_equal(r.level, LEVEL_YELLOW);
	assert_int_equal(r.nreasons, 2);
	assert_reason(&r, "open_major_hazard", "1 项重大事故隐患尚未闭环");

	quiet(&f);
	f.overdue_hazards = 2;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_YELLOW);
	assert_reason(&r, "overdue_hazard", "2 项事故隐患逾期未整改");

	quiet(&f);
	f.worst_warning = LEVEL_YELLOW; /* yellow is no raise */
	snprintf(
	    f.worst_warning_source, sizeof(f.worst_warning_source), "HS-01");
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_BLUE);
	f.worst_warning = LEVEL_ORANGE;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_YELLOW);
	assert_reason(&r, "source_warning", "重大危险源 HS-01 当前橙色预警");
	f.worst_warning = LEVEL_RED;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_YELLOW);
	assert_reason(&r, "source_warning", "重大危险源 HS-01 当前红色预警");

	quiet(&f);
	f.deaths_accidents_in_window = 1;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_YELLOW);
	assert_reason(&r, "death_accident", "近 1 年内发生 1 起死亡事故");

	quiet(&f);
	f.employees = 400;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_YELLOW);
	assert_reason(&r, "no_director",
	    "从业人员 400 人（≥300 人）应配备安全总监，尚未任命");

	quiet(&f);
	f.resplist_uploaded = 0;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_YELLOW);
	assert_reason(&r, "no_resplist", "未上传全员安全生产责任清单");
}

static void
test_raises_stack_and_cap(void **state)
{
	struct ent_facts f;
	struct ent_risk r;

	(void)state;
	quiet(&f);
	f.open_major_hazards = 1;
	f.overdue_hazards = 1;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_ORANGE);
	f.resplist_uploaded = 0;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_RED);
	/* A fourth raise stays red, and is still said. */
	f.deaths_accidents_in_window = 2;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_RED);
	assert_int_equal(r.inherent, LEVEL_BLUE);
	assert_int_equal(r.nreasons, 5);
	assert_reason(&r, "death_accident", "近 1 年内发生 2 起死亡事故");
	/* From an inherent red, one raise changes nothing but the reasons. */
	quiet(&f);
	f.worst_source_grade = 1;
	snprintf(f.worst_source, sizeof(f.worst_source), "HS-01");
	f.overdue_hazards = 1;
	compute(&f, &r);
	assert_int_equal(r.inherent, LEVEL_RED);
	assert_int_equal(r.level, LEVEL_RED);
	assert_true(has_reason(&r, "overdue_hazard"));
	/* Orange inherent plus one: red. */
	f.worst_source_grade = 2;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_RED);
	/* Negative counts are read as none. */
	quiet(&f);
	f.open_major_hazards = -3;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_BLUE);
	assert_int_equal(r.score, 0);
}

static void
test_direct_red(void **state)
{
	struct ent_facts f;
	struct ent_risk r;

	(void)state;
	quiet(&f);
	f.overdue_major_hazards = 1;
	compute(&f, &r);
	assert_int_equal(r.inherent, LEVEL_BLUE);
	assert_int_equal(r.level, LEVEL_RED);
	assert_reason(&r, "overdue_major_hazard",
	    "1 项重大事故隐患逾期未整改，直接判定为重大风险");

	quiet(&f);
	f.larger_accidents_in_window = 1;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_RED);
	assert_int_equal(r.nreasons, 2);
	assert_reason(&r, "larger_accident",
	    "近 3 年内发生 1 起较大及以上事故，直接判定为重大风险");
}

static void
test_director_scope(void **state)
{
	struct ent_risk_cfg c;
	struct ent_facts f;
	struct ent_risk r;

	(void)state;
	ent_risk_cfg_init(&c);
	quiet(&f);
	/* By size: 299 is out, 300 in, unknown out. */
	f.employees = 299;
	assert_false(ent_director_in_scope(&c, &f));
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_BLUE);
	f.employees = 300;
	assert_true(ent_director_in_scope(&c, &f));
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_YELLOW);
	assert_reason(&r, "no_director",
	    "从业人员 300 人（≥300 人）应配备安全总监，尚未任命");
	f.director_appointed = 1;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_BLUE);
	f.director_appointed = 0;
	f.employees = -1;
	assert_false(ent_director_in_scope(&c, &f));

	/* By sector, however small. */
	snprintf(f.sector, sizeof(f.sector), "coal");
	f.employees = 12;
	assert_true(ent_director_in_scope(&c, &f));
	compute(&f, &r);
	assert_int_equal(r.inherent, LEVEL_YELLOW);
	assert_int_equal(r.level, LEVEL_ORANGE);
	assert_reason(&r, "no_director", "行业 coal 应配备安全总监，尚未任命");

	/* A size rule of 0 counts nobody by size. */
	c.director_min_employees = 0;
	snprintf(f.sector, sizeof(f.sector), "trade");
	f.employees = 5000;
	assert_false(ent_director_in_scope(&c, &f));
}

static void
test_disabled_raises(void **state)
{
	struct ent_risk_cfg c;
	struct ent_facts f;
	struct ent_risk r;

	(void)state;
	ent_risk_cfg_init(&c);
	c.raise_open_major_hazard = 0;
	c.raise_overdue_hazard = 0;
	c.raise_source_warning = 0;
	c.raise_death_accident = 0;
	c.raise_no_director = 0;
	c.raise_no_resplist = 0;
	c.direct_red_overdue_major = 0;
	c.direct_red_larger_accident = 0;
	quiet(&f);
	f.open_major_hazards = 1;
	f.overdue_hazards = 1;
	f.overdue_major_hazards = 1;
	f.worst_warning = LEVEL_RED;
	f.deaths_accidents_in_window = 1;
	f.larger_accidents_in_window = 1;
	f.employees = 1000;
	f.resplist_uploaded = 0;
	ent_risk_compute(&c, &f, &r);
	assert_int_equal(r.level, LEVEL_BLUE);
	assert_int_equal(r.nreasons, 1); /* the sector's default only */
	/* The hazards still weigh in the score (2 each). */
	assert_int_equal(r.score, 4);

	/* One switched back on at a time. */
	c.raise_no_resplist = 1;
	ent_risk_compute(&c, &f, &r);
	assert_int_equal(r.level, LEVEL_YELLOW);
	assert_true(has_reason(&r, "no_resplist"));
	c.raise_no_resplist = 0;
	c.direct_red_larger_accident = 1;
	ent_risk_compute(&c, &f, &r);
	assert_int_equal(r.level, LEVEL_RED);
	assert_int_equal(r.nreasons, 2);
	assert_true(has_reason(&r, "larger_accident"));

	/* Windows are said as configured. */
	ent_risk_cfg_init(&c);
	c.death_window_ms = 90 * DAY;
	quiet(&f);
	f.deaths_accidents_in_window = 1;
	ent_risk_compute(&c, &f, &r);
	assert_reason(&r, "death_accident", "近 90 天内发生 1 起死亡事故");
}

static void
test_all_reasons_fit(void **state)
{
	struct ent_facts f;
	struct ent_risk r;

	(void)state;
	quiet(&f);
	snprintf(f.sector, sizeof(f.sector), "hazchem");
	f.worst_source_grade = 3;
	f.has_risk_point = 1;
	f.worst_risk_point = LEVEL_YELLOW;
	f.open_major_hazards = 2;
	f.overdue_hazards = 3;
	f.overdue_major_hazards = 1;
	f.worst_warning = LEVEL_ORANGE;
	f.deaths_accidents_in_window = 1;
	f.larger_accidents_in_window = 1;
	f.resplist_uploaded = 0;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_RED);
	assert_int_equal(r.nreasons, 11);
	assert_true(r.nreasons <= ENT_REASONS_MAX);
	/* A fact without its code is still said whole. */
	assert_reason(&r, "source_grade", "重大危险源为三级");
	assert_reason(&r, "source_warning", "重大危险源当前橙色预警");
	assert_int_equal(r.score, 99);
}

/* The score: levels never overlap, and one more fact scores higher. */
static void
test_score_ordering(void **state)
{
	struct ent_facts f;
	struct ent_risk blue, yellow_min, yellow_more, orange_full, red_min,
	    red_more, r;
	int last;

	(void)state;
	/* With every raise on, a blue enterprise has nothing that weighs. */
	quiet(&f);
	f.worst_source_grade = 4;
	compute(&f, &blue);
	assert_int_equal(blue.level, LEVEL_BLUE);
	assert_int_equal(blue.score, 0);

	quiet(&f);
	snprintf(f.sector, sizeof(f.sector), "hazchem");
	f.director_appointed = 1;
	compute(&f, &yellow_min);
	assert_int_equal(yellow_min.level, LEVEL_YELLOW);
	assert_int_equal(yellow_min.score, 25 + 3);

	quiet(&f);
	f.resplist_uploaded = 0;
	compute(&f, &yellow_more);
	assert_int_equal(yellow_more.level, LEVEL_YELLOW);
	assert_int_equal(yellow_more.score, 25 + 6);

	/* An orange with everything short of red. */
	quiet(&f);
	f.worst_source_grade = 2;
	snprintf(f.worst_source, sizeof(f.worst_source), "HS-01");
	f.open_major_hazards = 0;
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_ORANGE);
	assert_int_equal(r.score, 50 + 6);
	quiet(&f);
	f.has_risk_point = 1;
	f.worst_risk_point = LEVEL_YELLOW;
	f.overdue_hazards = 40;
	compute(&f, &orange_full);
	assert_int_equal(orange_full.level, LEVEL_ORANGE);
	assert_int_equal(orange_full.score, 50 + 6 + 3 + 12); /* 6 hazards */

	/* The least red: a direct red on a blue enterprise. */
	quiet(&f);
	f.larger_accidents_in_window = 1;
	compute(&f, &red_min);
	assert_int_equal(red_min.level, LEVEL_RED);
	assert_int_equal(red_min.score, 75 + 6);
	f.overdue_major_hazards = 1;
	compute(&f, &red_more);
	assert_int_equal(red_more.score, 75 + 12);

	assert_true(blue.score < yellow_min.score);
	assert_true(yellow_min.score < yellow_more.score);
	assert_true(yellow_more.score < r.score);
	assert_true(r.score < orange_full.score);
	assert_true(orange_full.score < red_min.score);
	assert_true(red_min.score < red_more.score);
	assert_true(red_more.score <= 100);

	/* Within a level, each more fact scores higher until the cap: a
	 * yellow sector raised to orange by 1, 2, 3 overdue hazards, then
	 * by one raise more. */
	quiet(&f);
	snprintf(f.sector, sizeof(f.sector), "hazchem");
	f.director_appointed = 1;
	last = 0;
	for (int n = 1; n <= 3; n++) {
		f.overdue_hazards = n;
		compute(&f, &r);
		assert_int_equal(r.level, LEVEL_ORANGE);
		assert_int_equal(r.score, 50 + 6 + 3 + 2 * n);
		assert_true(r.score > last);
		last = r.score;
	}
	f.worst_warning = LEVEL_ORANGE; /* red now: a new level */
	compute(&f, &r);
	assert_int_equal(r.level, LEVEL_RED);
	assert_true(r.score > last);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cfg_defaults),
	    cmocka_unit_test(test_quiet_is_blue),
	    cmocka_unit_test(test_inherent_from_source_grade),
	    cmocka_unit_test(test_inherent_from_risk_point),
	    cmocka_unit_test(test_inherent_from_sector),
	    cmocka_unit_test(test_each_raise_alone),
	    cmocka_unit_test(test_raises_stack_and_cap),
	    cmocka_unit_test(test_direct_red),
	    cmocka_unit_test(test_director_scope),
	    cmocka_unit_test(test_disabled_raises),
	    cmocka_unit_test(test_all_reasons_fit),
	    cmocka_unit_test(test_score_ordering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_alarmd_policy - the rules of alert handling (services/alarmd/
 * policy.c): levels, the kind table, the ladder, the life cycle, noise.
 *
 * The ladder is tested the way core.c uses it: ask al_next_step() for the
 * next step, check it is not due a millisecond before its time and is due
 * exactly at it, then apply the step as the core would (notice sent, tier
 * raised, last step moved) and ask again.  Every expected time is worked
 * out by hand from DOMAIN.md section 6's figures (red 5 min, orange 15,
 * yellow 60; reminders 60 min, 4 h, 24 h; repeat 15 min; group wait 2 s),
 * not read back from the code.  Silences and flapping are checked on
 * both edges of their windows, the parser with malformed tables whose
 * refusal must name the entry and leave the caller's table alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/alarmd/policy.h"

#define T0 INT64_C(1795996800000)
#define SEC_MS INT64_C(1000)
#define MIN_MS INT64_C(60000)
#define HOUR_MS (60 * MIN_MS)

/* --- helpers ------------------------------------------------------------ */

static struct al_policy
defaults(void)
{
	struct al_policy p;

	memset(&p, 0x5a, sizeof(p));
	al_policy_init(&p);
	return p;
}

/* A firing incident of level l opened at T0 at its starting tier. */
static struct al_inc_view
fresh(enum al_level l)
{
	struct al_inc_view v;

	memset(&v, 0, sizeof(v));
	v.level = l;
	v.status = AL_FIRING;
	v.tier = al_start_tier(l);
	v.opened_ms = T0;
	return v;
}

/* The step due at now_ms, as the core's due scan sees it (next_step_at
 * <= now): AL_STEP_NONE when nothing is due yet. */
static enum al_step
due_at(const struct al_policy *p, const struct al_inc_view *v, int64_t now_ms)
{
	int64_t at = -1;
	enum al_step s = al_next_step(p, v, &at);

	if (s == AL_STEP_NONE) {
		assert_int_equal(at, 0);
		return AL_STEP_NONE;
	}
	return at <= now_ms ? s : AL_STEP_NONE;
}

/*
 * Check the next step is want at exactly want_at: not due a millisecond
 * before, due at it.  Then run it at want_at as core.c does.
 */
static void
expect_step(const struct al_policy *p, struct al_inc_view *v, enum al_step want,
    int64_t want_at)
{
	int64_t at = -1;

	assert_int_equal(al_next_step(p, v, &at), want);
	assert_int_equal(at, want_at);
	assert_int_equal(due_at(p, v, want_at - 1), AL_STEP_NONE);
	assert_int_equal(due_at(p, v, want_at), want);
	switch (want) {
	case AL_STEP_NOTIFY:
		v->notified = 1;
		v->notified_ms = want_at;
		break;
	case AL_STEP_ESCALATE:
		v->tier = al_escalate_tier(v->tier);
		v->last_step_ms = want_at;
		break;
	case AL_STEP_REMIND:
		v->last_step_ms = want_at;
		break;
	case AL_STEP_RESOLVE:
		v->status = AL_RESOLVED;
		break;
	case AL_STEP_NONE:
		break;
	}
}

static void
expect_none(const struct al_policy *p, const struct al_inc_view *v)
{
	int64_t at = -1;

	assert_int_equal(al_next_step(p, v, &at), AL_STEP_NONE);
	assert_int_equal(at, 0);
}

/* --- levels, defaults, names -------------------------------------------- */

static void
test_level_names(void **state)
{
	enum al_level l = AL_BLUE;

	(void)state;
	assert_string_equal(al_level_name(AL_BLUE), "blue");
	assert_string_equal(al_level_name(AL_YELLOW), "yellow");
	assert_string_equal(al_level_name(AL_ORANGE), "orange");
	assert_string_equal(al_level_name(AL_RED), "red");
	assert_string_equal(al_level_name((enum al_level)4), "");
	assert_string_equal(al_level_name((enum al_level) - 1), "");
	assert_string_equal(al_level_zh(AL_BLUE), "蓝色");
	assert_string_equal(al_level_zh(AL_YELLOW), "黄色");
	assert_string_equal(al_level_zh(AL_ORANGE), "橙色");
	assert_string_equal(al_level_zh(AL_RED), "红色");
	assert_string_equal(al_level_zh((enum al_level)9), "");

	assert_int_equal(al_level_parse("red", &l), 0);
	assert_int_equal(l, AL_RED);
	assert_int_equal(al_level_parse("orange", &l), 0);
	assert_int_equal(l, AL_ORANGE);
	assert_int_equal(al_level_parse("yellow", &l), 0);
	assert_int_equal(l, AL_YELLOW);
	assert_int_equal(al_level_parse("blue", &l), 0);
	assert_int_equal(l, AL_BLUE);
	l = AL_YELLOW;
	assert_int_equal(al_level_parse("Red", &l), -1);
	assert_int_equal(al_level_parse("re", &l), -1);
	assert_int_equal(al_level_parse("redd", &l), -1);
	assert_int_equal(al_level_parse(" red", &l), -1);
	assert_int_equal(al_level_parse("", &l), -1);
	assert_int_equal(al_level_parse("红色", &l), -1);
	assert_int_equal(al_level_parse(NULL, &l), -1);
	assert_int_equal(l, AL_YELLOW);
}

static void
test_policy_defaults(void **state)
{
	struct al_policy p = defaults();

	(void)state;
	assert_int_equal(p.ack_within_ms[AL_BLUE], 0);
	assert_int_equal(p.ack_within_ms[AL_YELLOW], 3600000);
	assert_int_equal(p.ack_within_ms[AL_ORANGE], 900000);
	assert_int_equal(p.ack_within_ms[AL_RED], 300000);
	assert_int_equal(p.resolve_within_ms[AL_BLUE], 0);
	assert_int_equal(p.resolve_within_ms[AL_YELLOW], 86400000);
	assert_int_equal(p.resolve_within_ms[AL_ORANGE], 14400000);
	assert_int_equal(p.resolve_within_ms[AL_RED], 3600000);
	assert_int_equal(p.repeat_ms, 900000);
	assert_int_equal(p.group_wait_ms, 2000);
	assert_int_equal(p.note_required[AL_BLUE], 0);
	assert_int_equal(p.note_required[AL_YELLOW], 0);
	assert_int_equal(p.note_required[AL_ORANGE], 1);
	assert_int_equal(p.note_required[AL_RED], 1);
	assert_int_equal(p.auto_resolve[AL_BLUE], 1);
	assert_int_equal(p.auto_resolve[AL_YELLOW], 1);
	assert_int_equal(p.auto_resolve[AL_ORANGE], 0);
	assert_int_equal(p.auto_resolve[AL_RED], 0);
	assert_int_equal(p.inhibit, 1);
	assert_int_equal(p.flap_window_ms, 600000);
	assert_int_equal(p.flap_count, 5);
}

static void
test_tiers(void **state)
{
	(void)state;
	/* DOMAIN.md 6: yellow the territory, orange plus the sector, red
	 * plus the city office; blue like yellow. */
	assert_int_equal(al_start_tier(AL_BLUE), 0);
	assert_int_equal(al_start_tier(AL_YELLOW), 0);
	assert_int_equal(al_start_tier(AL_ORANGE), 1);
	assert_int_equal(al_start_tier(AL_RED), 2);
	assert_int_equal(al_escalate_tier(0), 1);
	assert_int_equal(al_escalate_tier(1), 2);
	assert_int_equal(al_escalate_tier(2), 3);
	assert_int_equal(al_escalate_tier(3), AL_TIER_MAX);
	assert_int_equal(al_escalate_tier(7), AL_TIER_MAX);
	assert_int_equal(al_escalate_tier(-1), 1);
}

static void
test_step_names(void **state)
{
	static const char *const words[] = {
	    "none", "notify", "escalate", "remind", "resolve"};
	enum al_step s = AL_STEP_NONE;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		assert_string_equal(al_step_name((enum al_step)i), words[i]);
		assert_int_equal(al_step_parse(words[i], &s), 0);
		assert_int_equal(s, (enum al_step)i);
	}
	assert_string_equal(al_step_name(AL_STEP_ESCALATE), "escalate");
	assert_string_equal(al_step_name((enum al_step)5), "");
	s = AL_STEP_REMIND;
	assert_int_equal(al_step_parse("Notify", &s), -1);
	assert_int_equal(al_step_parse("", &s), -1);
	assert_int_equal(al_step_parse(NULL, &s), -1);
	assert_int_equal(s, AL_STEP_REMIND);
}

static void
test_alarm_cause(void **state)
{
	(void)state;
	assert_string_equal(al_alarm_cause("H"), "alarm");
	assert_string_equal(al_alarm_cause("HH"), "alarm");
	assert_string_equal(al_alarm_cause("L"), "alarm");
	assert_string_equal(al_alarm_cause("LL"), "alarm");
	assert_string_equal(al_alarm_cause("offline"), "device");
	assert_string_equal(al_alarm_cause("fault"), "device");
	assert_null(al_alarm_cause("hh"));
	assert_null(al_alarm_cause("HHH"));
	assert_null(al_alarm_cause("none"));
	assert_null(al_alarm_cause(""));
	assert_null(al_alarm_cause(NULL));
}

/* --- the kind table ----------------------------------------------------- */

static void
test_kind_levels_default(void **state)
{
	struct al_kind_levels t;
	enum al_level l = AL_RED;
	char why[256] = "";

	(void)state;
	assert_int_equal(
	    al_kind_levels_parse(AL_KIND_LEVELS_DEFAULT, &t, why, sizeof(why)),
	    0);
	assert_int_equal(t.n, 6);
	assert_int_equal(al_kind_level(&t, "HH", &l), 0);
	assert_int_equal(l, AL_ORANGE);
	assert_int_equal(al_kind_level(&t, "LL", &l), 0);
	assert_int_equal(l, AL_ORANGE);
	assert_int_equal(al_kind_level(&t, "H", &l), 0);
	assert_int_equal(l, AL_YELLOW);
	assert_int_equal(al_kind_level(&t, "L", &l), 0);
	assert_int_equal(l, AL_YELLOW);
	assert_int_equal(al_kind_level(&t, "offline", &l), 0);
	assert_int_equal(l, AL_BLUE);
	assert_int_equal(al_kind_level(&t, "fault", &l), 0);
	assert_int_equal(l, AL_BLUE);
	l = AL_RED;
	assert_int_equal(al_kind_level(&t, "hh", &l), -1);
	assert_int_equal(al_kind_level(&t, "", &l), -1);
	assert_int_equal(al_kind_level(&t, NULL, &l), -1);
	assert_int_equal(l, AL_RED);
}

static void
test_kind_levels_custom(void **state)
{
	struct al_kind_levels t;
	enum al_level l = AL_BLUE;
	char why[256] = "";

	(void)state;
	/* Spaces and tabs around every token; a partial table is allowed
	 * (an unlisted kind is the caller's decision). */
	assert_int_equal(
	    al_kind_levels_parse(
	        " HH : red ,\tLL:red\t, fault :yellow", &t, why, sizeof(why)),
	    0);
	assert_int_equal(t.n, 3);
	assert_int_equal(al_kind_level(&t, "HH", &l), 0);
	assert_int_equal(l, AL_RED);
	assert_int_equal(al_kind_level(&t, "LL", &l), 0);
	assert_int_equal(l, AL_RED);
	assert_int_equal(al_kind_level(&t, "fault", &l), 0);
	assert_int_equal(l, AL_YELLOW);
	assert_int_equal(al_kind_level(&t, "H", &l), -1);
	assert_int_equal(al_kind_level(&t, "offline", &l), -1);
}

/* spec is refused; why must hold each of the needles; t is untouched. */
static void
expect_kind_refusal(const char *spec, const char *needle1, const char *needle2)
{
	struct al_kind_levels t, before;
	char why[256];

	memset(&t, 0x3c, sizeof(t));
	before = t;
	why[0] = '\0';
	assert_int_equal(al_kind_levels_parse(spec, &t, why, sizeof(why)), -1);
	assert_true(why[0] != '\0');
	if (strstr(why, needle1) == NULL ||
	    (needle2 != NULL && strstr(why, needle2) == NULL))
		fail_msg("spec \"%s\": why \"%s\" lacks \"%s\"/\"%s\"",
		    spec != NULL ? spec : "(null)", why, needle1,
		    needle2 != NULL ? needle2 : "");
	assert_memory_equal(&t, &before, sizeof(t));
}

static void
test_kind_levels_errors(void **state)
{
	struct al_kind_levels t;

	(void)state;
	expect_kind_refusal(NULL, "empty kind level table", NULL);
	expect_kind_refusal("", "empty kind level table", NULL);
	expect_kind_refusal(" \t ", "empty kind level table", NULL);
	expect_kind_refusal("HH:red,,H:yellow", "kind entry 2 is empty", NULL);
	expect_kind_refusal("HH:red,", "kind entry 2 is empty", NULL);
	expect_kind_refusal(
	    "HH:red,H yellow", "kind entry 2 \"H yellow\"", "KIND:level");
	expect_kind_refusal(":red", "kind entry 1 \":red\"", "kind before");
	expect_kind_refusal(
	    "HH:red,HHH:red", "kind entry 2 \"HHH:red\"", "not an alarm kind");
	expect_kind_refusal(
	    "hh:red", "kind entry 1 \"hh:red\"", "\"hh\" is not an alarm kind");
	expect_kind_refusal("averyveryverylongkind:red",
	    "kind entry 1 \"averyveryverylongkind:red\"", "not an alarm kind");
	expect_kind_refusal("HH:purple", "kind entry 1 \"HH:purple\"",
	    "\"purple\" is not a level");
	expect_kind_refusal(
	    "HH:", "kind entry 1 \"HH:\"", "\"\" is not a level");
	expect_kind_refusal(
	    "HH:red orange", "kind entry 1", "\"red orange\" is not a level");
	expect_kind_refusal("HH:Red", "kind entry 1", "not a level");
	expect_kind_refusal("HH:red,H:yellow, HH :orange",
	    "kind entry 3 \"HH :orange\"", "kind HH is already given");

	/* A refusal with nowhere to write the reason still refuses. */
	assert_int_equal(al_kind_levels_parse("HH:purple", &t, NULL, 0), -1);
}

/* --- the ladder --------------------------------------------------------- */

static void
test_notify_after_group_wait(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v;
	int l;

	(void)state;
	for (l = AL_BLUE; l <= AL_RED; l++) {
		v = fresh((enum al_level)l);
		expect_step(&p, &v, AL_STEP_NOTIFY, T0 + 2 * SEC_MS);
		assert_int_equal(v.notified, 1);
	}
	/* No group wait: the first notice is due at once. */
	p.group_wait_ms = 0;
	v = fresh(AL_RED);
	expect_step(&p, &v, AL_STEP_NOTIFY, T0);
	/* Until the first notice went out, nothing else is planned, whatever
	 * else the row says. */
	p = defaults();
	v = fresh(AL_ORANGE);
	v.last_step_ms = T0 + HOUR_MS;
	expect_step(&p, &v, AL_STEP_NOTIFY, T0 + 2 * SEC_MS);
}

static void
test_red_ladder(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v = fresh(AL_RED);
	int64_t n = T0 + 2 * SEC_MS;

	(void)state;
	assert_int_equal(v.tier, 2);
	expect_step(&p, &v, AL_STEP_NOTIFY, n);
	/* 5 minutes unacknowledged: to tier 3 (the territorial and sector
	 * leaders). */
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 5 * MIN_MS);
	assert_int_equal(v.tier, 3);
	/* At the top, the notice repeats every 15 minutes; the tier stays. */
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 20 * MIN_MS);
	assert_int_equal(v.tier, 3);
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 35 * MIN_MS);
	assert_int_equal(v.tier, AL_TIER_MAX);
}

static void
test_orange_ladder(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v = fresh(AL_ORANGE);
	int64_t n = T0 + 2 * SEC_MS;

	(void)state;
	/* A repeat unlike the deadline shows which of the two is used. */
	p.repeat_ms = 7 * MIN_MS;
	assert_int_equal(v.tier, 1);
	expect_step(&p, &v, AL_STEP_NOTIFY, n);
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 15 * MIN_MS);
	assert_int_equal(v.tier, 2);
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 30 * MIN_MS);
	assert_int_equal(v.tier, 3);
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 37 * MIN_MS);
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 44 * MIN_MS);
	assert_int_equal(v.tier, 3);
}

static void
test_yellow_ladder(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v = fresh(AL_YELLOW);
	int64_t n = T0 + 2 * SEC_MS;

	(void)state;
	assert_int_equal(v.tier, 0);
	expect_step(&p, &v, AL_STEP_NOTIFY, n);
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 60 * MIN_MS);
	assert_int_equal(v.tier, 1);
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 120 * MIN_MS);
	assert_int_equal(v.tier, 2);
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 180 * MIN_MS);
	assert_int_equal(v.tier, 3);
	expect_step(&p, &v, AL_STEP_ESCALATE, n + 195 * MIN_MS);
	assert_int_equal(v.tier, 3);
}

static void
test_escalate_edges(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v = fresh(AL_RED);

	(void)state;
	v.notified = 1;
	v.notified_ms = T0 + 10 * SEC_MS;
	/* No step yet: the wait runs from the notice. */
	expect_step(&p, &v, AL_STEP_ESCALATE, T0 + 10 * SEC_MS + 5 * MIN_MS);
	/* A tier beyond the top counts as the top. */
	v = fresh(AL_RED);
	v.notified = 1;
	v.notified_ms = T0;
	v.tier = 9;
	expect_step(&p, &v, AL_STEP_ESCALATE, T0 + 15 * MIN_MS);
	/* No repeat configured: at the top there is nothing more to do. */
	p.repeat_ms = 0;
	v = fresh(AL_RED);
	v.notified = 1;
	v.notified_ms = T0;
	expect_step(&p, &v, AL_STEP_ESCALATE, T0 + 5 * MIN_MS);
	assert_int_equal(v.tier, 3);
	expect_none(&p, &v);
	/* A level whose deadline was configured away does not escalate. */
	p = defaults();
	p.ack_within_ms[AL_ORANGE] = 0;
	v = fresh(AL_ORANGE);
	expect_step(&p, &v, AL_STEP_NOTIFY, T0 + 2 * SEC_MS);
	expect_none(&p, &v);
}

static void
test_blue_is_information(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v = fresh(AL_BLUE);

	(void)state;
	expect_step(&p, &v, AL_STEP_NOTIFY, T0 + 2 * SEC_MS);
	/* Notified, no deadline: nothing until it clears. */
	expect_none(&p, &v);
	v.cleared = 1;
	v.cleared_ms = T0 + 3 * HOUR_MS;
	expect_step(&p, &v, AL_STEP_RESOLVE, T0 + 3 * HOUR_MS);
	expect_none(&p, &v);
	/* Acknowledged blue: no reminder (resolve_within 0). */
	v = fresh(AL_BLUE);
	v.notified = 1;
	v.notified_ms = T0;
	v.status = AL_ACKED;
	v.acked_ms = T0 + MIN_MS;
	expect_none(&p, &v);
}

static void
test_remind_after_ack(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v = fresh(AL_RED);
	int64_t a = T0 + 3 * MIN_MS;

	(void)state;
	v.notified = 1;
	v.notified_ms = T0 + 2 * SEC_MS;
	v.status = AL_ACKED;
	v.acked_ms = a;
	expect_step(&p, &v, AL_STEP_REMIND, a + 60 * MIN_MS);
	expect_step(&p, &v, AL_STEP_REMIND, a + 120 * MIN_MS);
	expect_step(&p, &v, AL_STEP_REMIND, a + 180 * MIN_MS);

	/* An escalation before the acknowledgement does not shorten the
	 * reminder's wait, whether or not the core cleared last_step. */
	v = fresh(AL_ORANGE);
	v.notified = 1;
	v.notified_ms = T0;
	v.tier = 2;
	v.last_step_ms = T0 + 15 * MIN_MS;
	v.status = AL_ACKED;
	v.acked_ms = T0 + 20 * MIN_MS;
	expect_step(&p, &v, AL_STEP_REMIND, T0 + 20 * MIN_MS + 4 * HOUR_MS);
	expect_step(&p, &v, AL_STEP_REMIND, T0 + 20 * MIN_MS + 8 * HOUR_MS);

	v = fresh(AL_YELLOW);
	v.notified = 1;
	v.notified_ms = T0;
	v.status = AL_ACKED;
	v.acked_ms = T0 + HOUR_MS;
	expect_step(&p, &v, AL_STEP_REMIND, T0 + 25 * HOUR_MS);

	/* No reminder configured for the level. */
	p.resolve_within_ms[AL_RED] = 0;
	v = fresh(AL_RED);
	v.notified = 1;
	v.status = AL_ACKED;
	v.acked_ms = T0;
	expect_none(&p, &v);
}

static void
test_auto_resolve_first(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v;

	(void)state;
	/* Firing and notified, cleared long before the deadline: resolve at
	 * the clearing, not escalate. */
	v = fresh(AL_YELLOW);
	v.notified = 1;
	v.notified_ms = T0 + 2 * SEC_MS;
	v.cleared = 1;
	v.cleared_ms = T0 + 10 * MIN_MS;
	expect_step(&p, &v, AL_STEP_RESOLVE, T0 + 10 * MIN_MS);
	assert_int_equal(v.status, AL_RESOLVED);
	expect_none(&p, &v);

	/* Came and went within the group wait: never sent, resolved. */
	v = fresh(AL_YELLOW);
	v.cleared = 1;
	v.cleared_ms = T0 + SEC_MS;
	expect_step(&p, &v, AL_STEP_RESOLVE, T0 + SEC_MS);

	/* Acknowledged and cleared: resolve, not remind. */
	v = fresh(AL_YELLOW);
	v.notified = 1;
	v.status = AL_ACKED;
	v.acked_ms = T0 + MIN_MS;
	v.cleared = 1;
	v.cleared_ms = T0 + 2 * MIN_MS;
	expect_step(&p, &v, AL_STEP_RESOLVE, T0 + 2 * MIN_MS);

	/* Orange and red wait for an officer even when cleared. */
	v = fresh(AL_ORANGE);
	v.notified = 1;
	v.notified_ms = T0;
	v.cleared = 1;
	v.cleared_ms = T0 + MIN_MS;
	expect_step(&p, &v, AL_STEP_ESCALATE, T0 + 15 * MIN_MS);
	v = fresh(AL_RED);
	v.notified = 1;
	v.status = AL_ACKED;
	v.acked_ms = T0;
	v.cleared = 1;
	v.cleared_ms = T0 + MIN_MS;
	expect_step(&p, &v, AL_STEP_REMIND, T0 + 60 * MIN_MS);

	/* Configured to resolve itself, red does too. */
	p.auto_resolve[AL_RED] = 1;
	v = fresh(AL_RED);
	v.notified = 1;
	v.notified_ms = T0;
	v.cleared = 1;
	v.cleared_ms = T0 + MIN_MS;
	expect_step(&p, &v, AL_STEP_RESOLVE, T0 + MIN_MS);
}

static void
test_no_step(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v;

	(void)state;
	v = fresh(AL_RED);
	v.status = AL_RESOLVED;
	expect_none(&p, &v);
	v.cleared = 1;
	v.cleared_ms = T0;
	v.level = AL_YELLOW;
	expect_none(&p, &v);
	/* Values no row can hold plan nothing. */
	v = fresh(AL_RED);
	v.status = 7;
	expect_none(&p, &v);
	v = fresh(AL_RED);
	v.level = (enum al_level)4;
	expect_none(&p, &v);
	/* at_ms may be left out. */
	v = fresh(AL_RED);
	assert_int_equal(al_next_step(&p, &v, NULL), AL_STEP_NOTIFY);
}

/* --- the life cycle ----------------------------------------------------- */

/* The check refuses with a reason holding needle; or accepts (NULL). */
static void
expect_transition(const struct al_policy *p, const struct al_inc_view *v,
    int to, const char *note, const char *needle)
{
	char why[256];
	int rc;

	strcpy(why, "untouched");
	rc = al_transition_check(p, v, to, note, why, sizeof(why));
	if (needle == NULL) {
		if (rc != 0)
			fail_msg("refused: %s", why);
		return;
	}
	assert_int_equal(rc, -1);
	if (strstr(why, needle) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", why, needle);
}

static void
test_transitions(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v;
	int l;

	(void)state;
	for (l = AL_BLUE; l <= AL_RED; l++) {
		v = fresh((enum al_level)l);
		expect_transition(&p, &v, AL_ACKED, NULL, NULL);
		expect_transition(
		    &p, &v, AL_RESOLVED, "已关闭阀门，读数恢复", NULL);
		v.status = AL_ACKED;
		expect_transition(&p, &v, AL_ACKED, NULL, "事件已签收");
		expect_transition(&p, &v, AL_RESOLVED, "已处置", NULL);
		v.status = AL_RESOLVED;
		expect_transition(&p, &v, AL_ACKED, NULL, "事件已办结");
		expect_transition(
		    &p, &v, AL_RESOLVED, "再次办结", "事件已办结");
	}
	v = fresh(AL_RED);
	expect_transition(&p, &v, AL_FIRING, NULL, "只能签收或办结");
	expect_transition(&p, &v, 9, NULL, "只能签收或办结");
	v.status = 5;
	expect_transition(&p, &v, AL_ACKED, NULL, "事件状态异常");
	/* No room for the reason: still refused, nothing written. */
	v = fresh(AL_RED);
	v.status = AL_RESOLVED;
	assert_int_equal(
	    al_transition_check(&p, &v, AL_ACKED, NULL, NULL, 0), -1);
}

static void
test_note_rule(void **state)
{
	struct al_policy p = defaults();
	struct al_inc_view v;

	(void)state;
	/* Blue and yellow resolve without a note. */
	v = fresh(AL_BLUE);
	expect_transition(&p, &v, AL_RESOLVED, NULL, NULL);
	expect_transition(&p, &v, AL_RESOLVED, "", NULL);
	v = fresh(AL_YELLOW);
	v.status = AL_ACKED;
	expect_transition(&p, &v, AL_RESOLVED, NULL, NULL);
	/* Orange and red need one, from firing and from acknowledged. */
	v = fresh(AL_ORANGE);
	expect_transition(
	    &p, &v, AL_RESOLVED, NULL, "橙色事件办结须填写处置说明");
	expect_transition(
	    &p, &v, AL_RESOLVED, "", "橙色事件办结须填写处置说明");
	v.status = AL_ACKED;
	expect_transition(
	    &p, &v, AL_RESOLVED, "  ", "橙色事件办结须填写处置说明");
	expect_transition(&p, &v, AL_RESOLVED, "现场确认为误报", NULL);
	v = fresh(AL_RED);
	expect_transition(
	    &p, &v, AL_RESOLVED, NULL, "红色事件办结须填写处置说明");
	expect_transition(
	    &p, &v, AL_RESOLVED, " \t\r\n ", "红色事件办结须填写处置说明");
	/* Ideographic spaces are spaces too. */
	expect_transition(&p, &v, AL_RESOLVED, "\xe3\x80\x80\xe3\x80\x80",
	    "红色事件办结须填写处置说明");
	expect_transition(&p, &v, AL_RESOLVED, " \xe3\x80\x80 x", NULL);
	expect_transition(&p, &v, AL_RESOLVED, "  已疏散人员 ", NULL);
	/* A lone 0xe3 byte is text, not a space. */
	expect_transition(&p, &v, AL_RESOLVED, "\xe3", NULL);
	/* Acknowledging never needs a note. */
	expect_transition(&p, &v, AL_ACKED, "", NULL);
	/* The rule is configuration, per level. */
	p.note_required[AL_YELLOW] = 1;
	p.note_required[AL_RED] = 0;
	v = fresh(AL_YELLOW);
	expect_transition(
	    &p, &v, AL_RESOLVED, " ", "黄色事件办结须填写处置说明");
	v = fresh(AL_RED);
	expect_transition(&p, &v, AL_RESOLVED, NULL, NULL);
}

/* --- noise -------------------------------------------------------------- */

static struct al_subject
subject(void)
{
	struct al_subject s = {
	    "91370100MA3C000001", "370112", "PT-001", "alarm", AL_ORANGE};

	return s;
}

static struct al_silence
open_silence(void)
{
	struct al_silence sil;

	memset(&sil, 0, sizeof(sil));
	sil.id = 1;
	sil.starts_ms = T0;
	sil.ends_ms = T0 + HOUR_MS;
	return sil;
}

static void
test_silence_window(void **state)
{
	struct al_silence sil = open_silence();
	struct al_subject s = subject();

	(void)state;
	/* [starts, ends) */
	assert_int_equal(al_silence_matches(&sil, &s, T0 - 1), 0);
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
	assert_int_equal(al_silence_matches(&sil, &s, T0 + HOUR_MS - 1), 1);
	assert_int_equal(al_silence_matches(&sil, &s, T0 + HOUR_MS), 0);
	/* No matcher at all: everything, including an incident of no
	 * enterprise and no single point. */
	s.uscc = NULL;
	s.district = NULL;
	s.point = NULL;
	s.level = AL_RED;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
}

static void
test_silence_matchers(void **state)
{
	struct al_silence sil;
	struct al_subject s = subject();

	(void)state;
	sil = open_silence();
	sil.uscc = "91370100MA3C000001";
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
	sil.uscc = "91370100MA3C000002";
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);
	s.uscc = NULL;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);

	s = subject();
	sil = open_silence();
	sil.district = "370112";
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
	sil.district = "370113";
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);
	s.district = NULL;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);

	s = subject();
	sil = open_silence();
	sil.point = "PT-001";
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
	sil.point = "PT-0011";
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);
	/* An incident of several points matches no point silence. */
	sil.point = "PT-001";
	s.point = NULL;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);

	s = subject();
	sil = open_silence();
	sil.cause = "alarm";
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
	sil.cause = "device";
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);

	/* Every matcher given must hold. */
	s = subject();
	sil = open_silence();
	sil.uscc = "91370100MA3C000001";
	sil.district = "370112";
	sil.point = "PT-001";
	sil.cause = "alarm";
	sil.has_level = 1;
	sil.level = AL_RED;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
	sil.cause = "device";
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);
	sil.cause = "alarm";
	assert_int_equal(al_silence_matches(&sil, &s, T0 + HOUR_MS), 0);
}

static void
test_silence_level(void **state)
{
	struct al_silence sil = open_silence();
	struct al_subject s = subject();

	(void)state;
	sil.has_level = 1;
	sil.level = AL_YELLOW;
	s.level = AL_BLUE;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
	s.level = AL_YELLOW;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
	s.level = AL_ORANGE;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);
	s.level = AL_RED;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);
	/* Blue silences blue only. */
	sil.level = AL_BLUE;
	s.level = AL_BLUE;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
	s.level = AL_YELLOW;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 0);
	/* has_level 0: the level field is not a matcher. */
	sil.has_level = 0;
	s.level = AL_RED;
	assert_int_equal(al_silence_matches(&sil, &s, T0), 1);
}

static void
test_inhibition(void **state)
{
	struct al_policy p = defaults();
	const enum al_level red[] = {AL_RED};
	const enum al_level mixed[] = {AL_BLUE, AL_YELLOW, AL_RED};
	const enum al_level lower[] = {AL_ORANGE, AL_YELLOW, AL_BLUE};

	(void)state;
	assert_int_equal(al_inhibited(&p, AL_BLUE, red, 1), 1);
	assert_int_equal(al_inhibited(&p, AL_YELLOW, red, 1), 1);
	assert_int_equal(al_inhibited(&p, AL_ORANGE, red, 1), 1);
	assert_int_equal(al_inhibited(&p, AL_ORANGE, mixed, 3), 1);
	/* A red incident is never muted, not even by another red one. */
	assert_int_equal(al_inhibited(&p, AL_RED, red, 1), 0);
	assert_int_equal(al_inhibited(&p, AL_RED, mixed, 3), 0);
	/* Only red mutes. */
	assert_int_equal(al_inhibited(&p, AL_YELLOW, lower, 3), 0);
	assert_int_equal(al_inhibited(&p, AL_BLUE, lower, 3), 0);
	assert_int_equal(al_inhibited(&p, AL_YELLOW, NULL, 0), 0);
	/* The red one must be among the nopen given. */
	assert_int_equal(al_inhibited(&p, AL_YELLOW, mixed, 2), 0);
	p.inhibit = 0;
	assert_int_equal(al_inhibited(&p, AL_YELLOW, red, 1), 0);
}

static void
test_flapping(void **state)
{
	struct al_policy p = defaults();
	int64_t now = T0 + HOUR_MS, w = 10 * MIN_MS;
	/* Five starts inside (now - 10 min, now]: the oldest 1 ms inside
	 * the window's open edge, the newest exactly at now. */
	int64_t five[] = {
	    now - w + 1, now - 8 * MIN_MS, now - 5 * MIN_MS, now - MIN_MS, now};
	int64_t edge[] = {
	    now - w, now - 8 * MIN_MS, now - 5 * MIN_MS, now - MIN_MS, now};
	int64_t older[] = {now - 3 * HOUR_MS, now - 2 * HOUR_MS,
	    now - 4 * MIN_MS, now - 3 * MIN_MS, now - 2 * MIN_MS, now - MIN_MS};

	(void)state;
	assert_int_equal(al_flapping(&p, five, 5, now), 1);
	/* Four is below the count. */
	assert_int_equal(al_flapping(&p, five + 1, 4, now), 0);
	/* now - window itself is outside. */
	assert_int_equal(al_flapping(&p, edge, 5, now), 0);
	/* A millisecond later the oldest of five has left the window. */
	assert_int_equal(al_flapping(&p, five, 5, now + 1), 0);
	/* A start after now is not counted. */
	assert_int_equal(al_flapping(&p, five, 5, now - 1), 0);
	/* Old starts do not count, recent ones do. */
	assert_int_equal(al_flapping(&p, older, 6, now), 0);
	p.flap_count = 4;
	assert_int_equal(al_flapping(&p, older, 6, now), 1);
	assert_int_equal(al_flapping(&p, older, 5, now), 0);
	assert_int_equal(al_flapping(&p, NULL, 0, now), 0);
	/* A count or window of zero turns detection off. */
	p.flap_count = 0;
	assert_int_equal(al_flapping(&p, five, 5, now), 0);
	p.flap_count = 5;
	p.flap_window_ms = 0;
	assert_int_equal(al_flapping(&p, five, 5, now), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_level_names),
	    cmocka_unit_test(test_policy_defaults),
	    cmocka_unit_test(test_tiers),
	    cmocka_unit_test(test_step_names),
	    cmocka_unit_test(test_alarm_cause),
	    cmocka_unit_test(test_kind_levels_default),
	    cmocka_unit_test(test_kind_levels_custom),
	    cmocka_unit_test(test_kind_levels_errors),
	    cmocka_unit_test(test_notify_after_group_wait),
	    cmocka_unit_test(test_red_ladder),
	    cmocka_unit_test(test_orange_ladder),
	    cmocka_unit_test(test_yellow_ladder),
	    cmocka_unit_test(test_escalate_edges),
	    cmocka_unit_test(test_blue_is_information),
	    cmocka_unit_test(test_remind_after_ack),
	    cmocka_unit_test(test_auto_resolve_first),
	    cmocka_unit_test(test_no_step),
	    cmocka_unit_test(test_transitions),
	    cmocka_unit_test(test_note_rule),
	    cmocka_unit_test(test_silence_window),
	    cmocka_unit_test(test_silence_matchers),
	    cmocka_unit_test(test_silence_level),
	    cmocka_unit_test(test_inhibition),
	    cmocka_unit_test(test_flapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

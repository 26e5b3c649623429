/*
 * test_riskd_alarm - the point alarm state machine, its defaults and the
 * gas default table (services/riskd/alarm.c).
 *
 * Each test drives one struct alarm_state with readings at chosen
 * millisecond times and checks the changes that come out, field by field
 * and in order, at every boundary DOMAIN.md 3.1 names: the deadband edge
 * (exactly at threshold - deadband clears, a hair above does not), the
 * delay (raised exactly at since + delay, not a millisecond before), the
 * offline time (exactly at 3 x the interval), and the HH/H, LL/L hand-overs
 * both ways.  Expected values are worked out by hand from the rules, not
 * taken from the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/riskd/alarm.h"

#define T0 INT64_C(1795996800000)
#define MIN_MS INT64_C(60000)

/* A point's changes, the running state and its parameters. */
struct run {
	struct alarm_params p;
	struct alarm_state s;
	struct alarm_change c[ALARM_CHANGES_MAX];
	size_t n;
};

/* Thresholds (NAN: absent), deadband and delay; range open, 3 min offline. */
static void
run_init(struct run *r, double ll, double l, double h, double hh, double db,
    int64_t delay_ms)
{
	memset(r, 0, sizeof(*r));
	r->p.ll = ll;
	r->p.l = l;
	r->p.h = h;
	r->p.hh = hh;
	r->p.range_lo = NAN;
	r->p.range_hi = NAN;
	r->p.deadband = db;
	r->p.delay_ms = delay_ms;
	r->p.offline_after_ms = 3 * MIN_MS;
	r->p.enabled = 1;
	alarm_state_init(&r->s, T0);
}

/* The usual high-side point: H 80, HH 90, deadband 2, no delay. */
static void
run_high(struct run *r, int64_t delay_ms)
{
	run_init(r, NAN, NAN, 80, 90, 2, delay_ms);
}

/* The usual low-side point: LL 10, L 20, deadband 2. */
static void
run_low(struct run *r, int64_t delay_ms)
{
	run_init(r, 10, 20, NAN, NAN, 2, delay_ms);
}

static size_t
feed_full(struct run *r, int64_t ts, double v, int has_value, int quality,
    int suppressed)
{
	struct alarm_reading rd = {ts, has_value ? v : NAN, has_value, quality};

	memset(r->c, 0xa5, sizeof(r->c));
	r->n = alarm_on_reading(&r->p, &r->s, &rd, suppressed, r->c);
	assert_true(r->n <= ALARM_CHANGES_MAX);
	return r->n;
}

/* A good reading of v at ts. */
static size_t
feed(struct run *r, int64_t ts, double v)
{
	return feed_full(r, ts, v, 1, 0, 0);
}

static size_t
check(struct run *r, int64_t now, int suppressed)
{
	memset(r->c, 0xa5, sizeof(r->c));
	r->n = alarm_check_offline(&r->p, &r->s, now, suppressed, r->c);
	assert_true(r->n <= ALARM_CHANGES_MAX);
	return r->n;
}

/* Equal doubles, NAN equal to NAN. */
static void
dbl_eq(double got, double want, const char *what)
{
	if (isnan(want) ? !isnan(got) : got != want)
		fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

/* Change i of the last call is what/kind/reason, from start at at. */
static void
expect(const struct run *r, size_t i, enum alarm_change_what what,
    enum alarm_kind kind, enum alarm_clear_reason reason, int64_t start,
    int64_t at)
{
	const struct alarm_change *c = &r->c[i];

	if (i >= r->n)
		fail_msg("change %zu expected, only %zu came", i, r->n);
	assert_int_equal(c->what, what);
	if (c->kind != kind)
		fail_msg("change %zu: kind %s, want %s", i,
		    alarm_kind_name(c->kind), alarm_kind_name(kind));
	assert_int_equal(c->reason, reason);
	assert_int_equal(c->start_ms, start);
	assert_int_equal(c->at_ms, at);
	if (what == ALARM_CLEARED)
		assert_int_equal(c->duration_ms, at - start);
	else
		assert_int_equal(c->duration_ms, 0);
}

static void
expect_raised(const struct run *r, size_t i, enum alarm_kind kind, int64_t at)
{
	expect(r, i, ALARM_RAISED, kind, CLEAR_NONE, at, at);
}

static void
expect_cleared(const struct run *r, size_t i, enum alarm_kind kind,
    enum alarm_clear_reason reason, int64_t start, int64_t at)
{
	expect(r, i, ALARM_CLEARED, kind, reason, start, at);
}

static void
expect_suppressed(
    const struct run *r, size_t i, enum alarm_kind kind, int64_t at)
{
	expect(r, i, ALARM_SUPPRESSED, kind, CLEAR_NONE, at, at);
}

/* --- names and ids -------------------------------------------------------- */

static void
test_kind_names(void **state)
{
	static const char *const names[] = {
	    "none", "H", "HH", "L", "LL", "offline", "fault"};
	enum alarm_kind k;
	int i;

	(void)state;
	for (i = 0; i < ALARM_KIND_COUNT; i++) {
		assert_string_equal(
		    alarm_kind_name((enum alarm_kind)i), names[i]);
		assert_int_equal(alarm_kind_parse(names[i], &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(alarm_kind_parse("hh", &k), -1);
	assert_int_equal(alarm_kind_parse("", &k), -1);
	assert_int_equal(alarm_kind_parse("HH ", &k), -1);
	assert_int_equal(alarm_kind_parse(NULL, &k), -1);
	assert_string_equal(alarm_kind_name((enum alarm_kind)99), "unknown");

	assert_true(alarm_kind_is_threshold(ALARM_H));
	assert_true(alarm_kind_is_threshold(ALARM_HH));
	assert_true(alarm_kind_is_threshold(ALARM_L));
	assert_true(alarm_kind_is_threshold(ALARM_LL));
	assert_false(alarm_kind_is_threshold(ALARM_NONE));
	assert_false(alarm_kind_is_threshold(ALARM_OFFLINE));
	assert_false(alarm_kind_is_threshold(ALARM_FAULT));
	assert_true(alarm_kind_is_second(ALARM_HH));
	assert_true(alarm_kind_is_second(ALARM_LL));
	assert_false(alarm_kind_is_second(ALARM_H));
	assert_false(alarm_kind_is_second(ALARM_L));
	assert_false(alarm_kind_is_second(ALARM_FAULT));
}

static void
test_point_kind_names(void **state)
{
	static const char *const names[] = {"level", "temperature", "pressure",
	    "flow", "gas_combustible", "gas_toxic", "oxygen", "methane",
	    "smoke", "elevator", "other"};
	enum point_kind k;
	int i;

	(void)state;
	for (i = 0; i < POINT_KIND_COUNT; i++) {
		assert_string_equal(
		    point_kind_name((enum point_kind)i), names[i]);
		assert_int_equal(point_kind_parse(names[i], &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(point_kind_parse("Gas_Combustible", &k), -1);
	assert_int_equal(point_kind_parse("gas", &k), -1);
	assert_int_equal(point_kind_parse("", &k), -1);
	assert_int_equal(point_kind_parse(NULL, &k), -1);
}

static void
test_clear_reason_names(void **state)
{
	(void)state;
	assert_string_equal(alarm_clear_reason_name(CLEAR_NONE), "none");
	assert_string_equal(alarm_clear_reason_name(CLEAR_NORMAL), "normal");
	assert_string_equal(
	    alarm_clear_reason_name(CLEAR_SUPERSEDED), "superseded");
	assert_string_equal(alarm_clear_reason_name(CLEAR_FAULT), "fault");
	assert_string_equal(alarm_clear_reason_name(CLEAR_OFFLINE), "offline");
	assert_string_equal(
	    alarm_clear_reason_name(CLEAR_SUPPRESSED), "suppressed");
	assert_string_equal(
	    alarm_clear_reason_name((enum alarm_clear_reason)42), "unknown");
}

static void
test_alarm_id(void **state)
{
	char buf[64];
	/* "GT-101:1795996800000:HH" is 23 bytes. */
	char exact[24], short1[23];

	(void)state;
	assert_int_equal(
	    alarm_id(buf, sizeof(buf), "GT-101", T0, ALARM_HH), 23);
	assert_string_equal(buf, "GT-101:1795996800000:HH");
	assert_int_equal(
	    alarm_id(exact, sizeof(exact), "GT-101", T0, ALARM_HH), 23);
	assert_string_equal(exact, "GT-101:1795996800000:HH");
	assert_int_equal(
	    alarm_id(short1, sizeof(short1), "GT-101", T0, ALARM_HH), -1);
	assert_int_equal(
	    alarm_id(buf, sizeof(buf), "P7", 1234, ALARM_OFFLINE), 15);
	assert_string_equal(buf, "P7:1234:offline");
	assert_int_equal(alarm_id(buf, sizeof(buf), "P7", 5, ALARM_FAULT), 10);
	assert_string_equal(buf, "P7:5:fault");
	assert_int_equal(alarm_id(buf, sizeof(buf), NULL, 5, ALARM_H), -1);
	assert_int_equal(alarm_id(buf, 0, "P7", 5, ALARM_H), -1);
}

static void
test_alarm_id_parse(void **state)
{
	char p[16], small[3];
	int64_t start = 0;
	enum alarm_kind k = ALARM_NONE;
	static const char *const bad[] = {"", ":", "P7", "P7:5", ":5:HH",
	    "P7::HH", "P7:5:", "P7:5:XX", "P7:x5:HH", "P7:5x:HH", "P7:0:HH",
	    "P7:-5:HH", "P7:+5:HH", "P7: 5:HH", "P7:5:hh",
	    "P7:5:none"};

	(void)state;
	assert_int_equal(
	    alarm_id_parse("GT-101:1795996800000:HH", p, sizeof(p), &start, &k),
	    0);
	assert_string_equal(p, "GT-101");
	assert_true(start == T0);
	assert_int_equal(k, ALARM_HH);
	/* A code that holds ':' is cut at the last two. */
	assert_int_equal(alarm_id_parse("A:B:7:offline", p, sizeof(p), &start,
			     &k),
	    0);
	assert_string_equal(p, "A:B");
	assert_true(start == 7);
	assert_int_equal(k, ALARM_OFFLINE);
	/* Round trip with alarm_id(). */
	{
		char id[64];

		assert_true(alarm_id(id, sizeof(id), "LT-9", 42, ALARM_LL) > 0);
		assert_int_equal(
		    alarm_id_parse(id, p, sizeof(p), &start, &k), 0);
		assert_string_equal(p, "LT-9");
		assert_true(start == 42);
		assert_int_equal(k, ALARM_LL);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    alarm_id_parse(bad[i], p, sizeof(p), &start, &k), -1);
	/* The point must fit. */
	assert_int_equal(
	    alarm_id_parse("GT-101:5:H", small, sizeof(small), &start, &k), -1);
	assert_int_equal(alarm_id_parse(NULL, p, sizeof(p), &start, &k), -1);
	assert_int_equal(alarm_id_parse("P7:5:H", p, 0, &start, &k), -1);
}

/* --- defaults and resolving ----------------------------------------------- */

static void
def_init(struct alarm_point_def *def, enum point_kind kind, const char *unit)
{
	memset(def, 0, sizeof(*def));
	def->kind = kind;
	snprintf(def->unit, sizeof(def->unit), "%s", unit);
	def->ll = def->l = def->h = def->hh = NAN;
	def->range_lo = def->range_hi = NAN;
	def->deadband = NAN;
	def->delay_s = -1;
	def->expected_interval_s = -1;
	def->enabled = 1;
}

static void
test_defaults_init(void **state)
{
	struct alarm_defaults d;

	(void)state;
	alarm_defaults_init(&d);
	dbl_eq(d.deadband_share, 0.02, "share");
	assert_int_equal(d.delay_ms, 0);
	assert_int_equal(d.expected_interval_ms, 60000);
	dbl_eq(d.offline_factor, 3, "factor");
	assert_int_equal(d.ngas, 4);
}

/* Resolve a kind/unit point that gives no thresholds under the defaults. */
static void
resolve_gas(enum point_kind kind, const char *unit, struct alarm_params *p,
    char *note, size_t nlen)
{
	struct alarm_defaults d;
	struct alarm_point_def def;

	alarm_defaults_init(&d);
	def_init(&def, kind, unit);
	alarm_params_resolve(&def, &d, p, note, nlen);
}

static void
test_gas_default_combustible(void **state)
{
	struct alarm_params p;
	char note[200] = "x";

	(void)state;
	resolve_gas(POINT_GAS_COMBUSTIBLE, "%LEL", &p, note, sizeof(note));
	assert_int_equal(p.defaulted, 1);
	assert_int_equal(p.no_thresholds, 0);
	assert_string_equal(note, "");
	dbl_eq(p.ll, NAN, "ll");
	dbl_eq(p.l, NAN, "l");
	dbl_eq(p.h, 25, "h");
	dbl_eq(p.hh, 50, "hh");
	/* No range: 2 % of the largest threshold, 50. */
	dbl_eq(p.deadband, 0.02 * 50, "deadband");
	assert_int_equal(p.delay_ms, 0);
	assert_int_equal(p.offline_after_ms, 180000);
	assert_int_equal(p.enabled, 1);
}

static void
test_gas_default_oxygen(void **state)
{
	struct alarm_params p;

	(void)state;
	resolve_gas(POINT_OXYGEN, "%VOL", &p, NULL, 0);
	assert_int_equal(p.defaulted, 1);
	dbl_eq(p.ll, NAN, "ll");
	dbl_eq(p.l, 19.5, "l");
	dbl_eq(p.h, 23.5, "h");
	dbl_eq(p.hh, NAN, "hh");
	dbl_eq(p.deadband, 0.02 * 23.5, "deadband");
}

static void
test_gas_default_methane(void **state)
{
	struct alarm_params p;

	(void)state;
	resolve_gas(POINT_METHANE, "%", &p, NULL, 0);
	assert_int_equal(p.defaulted, 1);
	dbl_eq(p.l, NAN, "l");
	dbl_eq(p.h, 1.0, "h");
	dbl_eq(p.hh, 1.5, "hh");
}

static void
test_gas_default_toxic(void **state)
{
	struct alarm_params p;

	(void)state;
	resolve_gas(POINT_GAS_TOXIC, "%OEL", &p, NULL, 0);
	assert_int_equal(p.defaulted, 1);
	dbl_eq(p.h, 100, "h");
	dbl_eq(p.hh, 200, "hh");
}

static void
test_gas_default_unit_spelling(void **state)
{
	static const char *const same[] = {
	    "%lel", "% LEL", " %Lel ", "%\tLEL", "% l e l"};
	struct alarm_params p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		resolve_gas(POINT_GAS_COMBUSTIBLE, same[i], &p, NULL, 0);
		if (p.defaulted != 1)
			fail_msg("unit '%s' not taken as %%LEL", same[i]);
		dbl_eq(p.h, 25, "h");
	}
}

static void
test_gas_default_unit_mismatch(void **state)
{
	struct alarm_params p;
	char note[200];

	(void)state;
	resolve_gas(POINT_GAS_COMBUSTIBLE, "ppm", &p, note, sizeof(note));
	assert_int_equal(p.defaulted, 0);
	assert_int_equal(p.no_thresholds, 1);
	dbl_eq(p.h, NAN, "h");
	dbl_eq(p.hh, NAN, "hh");
	assert_string_equal(note, "gas_combustible point in ppm: the default "
	                          "thresholds are in %LEL; none applied");
	dbl_eq(p.deadband, 0, "deadband without thresholds or range");

	resolve_gas(POINT_OXYGEN, "%LEL", &p, note, sizeof(note));
	assert_int_equal(p.no_thresholds, 1);
	assert_non_null(strstr(note, "%VOL"));
	/* "%" is not "%VOL" and methane's "%" is not "%LEL". */
	resolve_gas(POINT_METHANE, "%VOL", &p, note, sizeof(note));
	assert_int_equal(p.no_thresholds, 1);
	resolve_gas(POINT_GAS_TOXIC, "mg/m3", &p, note, sizeof(note));
	assert_int_equal(p.no_thresholds, 1);
	resolve_gas(POINT_GAS_TOXIC, "", &p, note, sizeof(note));
	assert_int_equal(p.no_thresholds, 1);
	assert_non_null(strstr(note, "without a unit"));
	/* A tiny note buffer is cut, never overrun. */
	resolve_gas(POINT_GAS_COMBUSTIBLE, "ppm", &p, note, 8);
	assert_string_equal(note, "gas_com");
}

static void
test_resolve_no_default_for_kind(void **state)
{
	struct alarm_params p;
	char note[200];

	(void)state;
	resolve_gas(POINT_LEVEL, "m", &p, note, sizeof(note));
	assert_int_equal(p.no_thresholds, 1);
	assert_int_equal(p.defaulted, 0);
	assert_non_null(strstr(note, "level point"));
}

static void
test_resolve_own_thresholds_win(void **state)
{
	struct alarm_defaults d;
	struct alarm_point_def def;
	struct alarm_params p;
	char note[100];

	(void)state;
	alarm_defaults_init(&d);
	/* One threshold of its own: no default at all, even in ppm. */
	def_init(&def, POINT_GAS_COMBUSTIBLE, "ppm");
	def.h = 20;
	alarm_params_resolve(&def, &d, &p, note, sizeof(note));
	assert_int_equal(p.defaulted, 0);
	assert_int_equal(p.no_thresholds, 0);
	assert_string_equal(note, "");
	dbl_eq(p.h, 20, "h");
	dbl_eq(p.hh, NAN, "hh");
	dbl_eq(p.ll, NAN, "ll");
}

static void
test_resolve_deadband(void **state)
{
	struct alarm_defaults d;
	struct alarm_point_def def;
	struct alarm_params p;

	(void)state;
	alarm_defaults_init(&d);
	def_init(&def, POINT_PRESSURE, "MPa");
	def.l = -3;
	def.h = 2;
	/* Given: taken as is, even 0. */
	def.deadband = 0.5;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	dbl_eq(p.deadband, 0.5, "given");
	def.deadband = 0;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	dbl_eq(p.deadband, 0, "given 0");
	/* Default with a range: 2 % of 10 - (-40). */
	def.deadband = NAN;
	def.range_lo = -40;
	def.range_hi = 10;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	dbl_eq(p.deadband, 0.02 * 50, "range share");
	dbl_eq(p.range_lo, -40, "range_lo");
	dbl_eq(p.range_hi, 10, "range_hi");
	/* Half a range: share of the largest |threshold|, |-3|. */
	def.range_hi = NAN;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	dbl_eq(p.deadband, 0.02 * 3, "threshold share");
	/* Another share. */
	d.deadband_share = 0.1;
	def.range_hi = 60;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	dbl_eq(p.deadband, 0.1 * 100, "share 0.1");
}

static void
test_resolve_delay_interval(void **state)
{
	struct alarm_defaults d;
	struct alarm_point_def def;
	struct alarm_params p;

	(void)state;
	alarm_defaults_init(&d);
	def_init(&def, POINT_TEMPERATURE, "C");
	def.h = 60;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	assert_int_equal(p.delay_ms, 0);
	assert_int_equal(p.offline_after_ms, 3 * 60000);
	def.delay_s = 15;
	def.expected_interval_s = 10;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	assert_int_equal(p.delay_ms, 15000);
	assert_int_equal(p.offline_after_ms, 30000);
	/* delay 0 given is 0 even when the default is not. */
	d.delay_ms = 5000;
	def.delay_s = 0;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	assert_int_equal(p.delay_ms, 0);
	def.delay_s = -1;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	assert_int_equal(p.delay_ms, 5000);
	/* Factor x interval rounded to ms: 2.5 x 1 s; 1.0006 x 1 s. */
	d.offline_factor = 2.5;
	def.expected_interval_s = 1;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	assert_int_equal(p.offline_after_ms, 2500);
	d.offline_factor = 1.0006;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	assert_int_equal(p.offline_after_ms, 1001);
	/* An interval of 0 is not a real one: the default. */
	d.offline_factor = 3;
	def.expected_interval_s = 0;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	assert_int_equal(p.offline_after_ms, 180000);
	/* Absurd delays saturate instead of overflowing. */
	def.delay_s = INT64_MAX / 10;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	assert_int_equal(p.delay_ms, INT64_MAX);
	def.enabled = 0;
	alarm_params_resolve(&def, &d, &p, NULL, 0);
	assert_int_equal(p.enabled, 0);
}

/* --- the gas default table ------------------------------------------------ */

static void
test_gas_parse_ok(void **state)
{
	struct alarm_defaults d;
	char why[200] = "";

	(void)state;
	alarm_defaults_init(&d);
	if (alarm_gas_defaults_parse("gas_combustible:%LEL:::20:40, "
	                             "oxygen : %VOL : : 18 : 25 : ,"
	                             "gas_toxic:ppm:::10.5:2e1",
	        &d, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
	assert_int_equal(d.ngas, 3);
	assert_int_equal(d.gas[0].kind, POINT_GAS_COMBUSTIBLE);
	assert_string_equal(d.gas[0].unit, "%LEL");
	dbl_eq(d.gas[0].ll, NAN, "0 ll");
	dbl_eq(d.gas[0].l, NAN, "0 l");
	dbl_eq(d.gas[0].h, 20, "0 h");
	dbl_eq(d.gas[0].hh, 40, "0 hh");
	assert_int_equal(d.gas[1].kind, POINT_OXYGEN);
	assert_string_equal(d.gas[1].unit, "%VOL");
	dbl_eq(d.gas[1].l, 18, "1 l");
	dbl_eq(d.gas[1].h, 25, "1 h");
	dbl_eq(d.gas[1].hh, NAN, "1 hh");
	assert_int_equal(d.gas[2].kind, POINT_GAS_TOXIC);
	dbl_eq(d.gas[2].h, 10.5, "2 h");
	dbl_eq(d.gas[2].hh, 20, "2 hh");
	/* The table replaces the old one wholly: methane is gone. */
	{
		struct alarm_point_def def;
		struct alarm_params p;

		def_init(&def, POINT_METHANE, "%");
		alarm_params_resolve(&def, &d, &p, NULL, 0);
		assert_int_equal(p.no_thresholds, 1);
		def_init(&def, POINT_GAS_TOXIC, "PPM");
		alarm_params_resolve(&def, &d, &p, NULL, 0);
		assert_int_equal(p.defaulted, 1);
		dbl_eq(p.h, 10.5, "toxic h from the table");
	}
	/* All four thresholds and a negative low. */
	assert_int_equal(alarm_gas_defaults_parse(
	                     "other:C:-20:-10:50:60", &d, why, sizeof(why)),
	    0);
	assert_int_equal(d.ngas, 1);
	dbl_eq(d.gas[0].ll, -20, "ll");
	dbl_eq(d.gas[0].hh, 60, "hh");
}

/* spec is refused, d is left alone and why contains part. */
static void
gas_bad(const char *spec, const char *part)
{
	struct alarm_defaults d, before;
	char why[200] = "";

	alarm_defaults_init(&d);
	before = d;
	if (alarm_gas_defaults_parse(spec, &d, why, sizeof(why)) == 0)
		fail_msg("'%s' accepted", spec);
	if (strstr(why, part) == NULL)
		fail_msg("'%s': reason '%s' lacks '%s'", spec, why, part);
	assert_int_equal(d.ngas, before.ngas);
	assert_memory_equal(&d, &before, sizeof(d));
}

static void
test_gas_parse_empty(void **state)
{
	(void)state;
	gas_bad("", "empty");
	gas_bad("   ", "empty");
	gas_bad(NULL, "empty");
}

static void
test_gas_parse_garbage(void **state)
{
	(void)state;
	gas_bad("hello", "entry 1 'hello': want kind:unit:ll:l:h:hh");
	gas_bad("gas_combustible:%LEL:25:50", "got 4");
	gas_bad("gas_combustible:%LEL:::25:50:", "got 7");
	gas_bad("gas:%LEL:::25:50", "entry 1: unknown point kind 'gas'");
	gas_bad("Oxygen:%VOL::19.5:23.5:", "unknown point kind 'Oxygen'");
	gas_bad(":%LEL:::25:50", "unknown point kind ''");
	gas_bad("gas_combustible_and_a_very_long_name:%LEL:::25:50",
	    "unknown point kind");
}

static void
test_gas_parse_unit(void **state)
{
	(void)state;
	gas_bad("gas_combustible::::25:50", "entry 1 (gas_combustible): the "
	                                    "unit must be 1 to 23 bytes");
	gas_bad("gas_combustible: :::25:50", "the unit must be");
	gas_bad("gas_combustible:abcdefghijklmnopqrstuvwxyz:::25:50",
	    "the unit must be");
}

static void
test_gas_parse_numbers(void **state)
{
	(void)state;
	gas_bad("oxygen:%VOL::abc:23.5:", "entry 1 (oxygen): l 'abc' is not "
	                                  "a finite number");
	gas_bad("oxygen:%VOL::19.5x:23.5:", "l '19.5x'");
	gas_bad("oxygen:%VOL::19.5:23.5 5:", "h '23.5 5'");
	gas_bad("oxygen:%VOL::19.5:inf:", "h 'inf'");
	gas_bad("oxygen:%VOL::nan:23.5:", "l 'nan'");
	gas_bad("oxygen:%VOL::19.5:1e999:", "h '1e999'");
	gas_bad(
	    "methane:%:::1.0:"
	    "1234567890123456789012345678901234567890123456789012345678901234"
	    "567890",
	    "hh '");
	gas_bad("methane:%::::", "entry 1 (methane): no threshold given");
}

static void
test_gas_parse_order(void **state)
{
	(void)state;
	gas_bad("methane:%:::1.5:1.0", "must rise strictly");
	gas_bad("methane:%:::1.0:1.0", "must rise strictly");
	gas_bad("oxygen:%VOL::23.5:19.5:", "must rise strictly");
	gas_bad("other:C:10:20::15", "must rise strictly");
	gas_bad("other:C:30:20::", "must rise strictly");
}

static void
test_gas_parse_entries(void **state)
{
	(void)state;
	gas_bad("methane:%:::1:1.5,,oxygen:%VOL::19.5:23.5:",
	    "gas defaults entry 2 is empty");
	gas_bad("methane:%:::1:1.5,", "entry 2 is empty");
	gas_bad(",methane:%:::1:1.5", "entry 1 is empty");
	gas_bad("methane:%:::1:1.5,oxygen:%VOL::19.5:23.5:,methane:%VOL:::1:2",
	    "entry 3: methane already given in entry 1");
	gas_bad("oxygen:%VOL::19.5:23.5:,methane:%:::1:1.5,smoke:x:::one:",
	    "entry 3 (smoke): h 'one'");
	gas_bad("level:m:::1:,temperature:C:::1:,pressure:MPa:::1:,"
	        "flow:m3/h:::1:,gas_combustible:%LEL:::1:,gas_toxic:%OEL:::1:,"
	        "oxygen:%VOL:::1:,methane:%:::1:,smoke:%:::1:",
	    "more than 8 entries");
}

static void
test_gas_parse_eight(void **state)
{
	struct alarm_defaults d;
	char why[200];

	(void)state;
	alarm_defaults_init(&d);
	if (alarm_gas_defaults_parse(
	        "level:m:::1:,temperature:C:::1:,pressure:MPa:::1:,"
	        "flow:m3/h:::1:,gas_combustible:%LEL:::1:,gas_toxic:%OEL:::1:,"
	        "oxygen:%VOL:::1:,methane:%:::1:",
	        &d, why, sizeof(why)) != 0)
		fail_msg("8 entries refused: %s", why);
	assert_int_equal(d.ngas, ALARM_GAS_DEFAULTS_MAX);
	assert_int_equal(d.gas[7].kind, POINT_METHANE);
}

/* --- deadband ------------------------------------------------------------- */

static void
test_high_raise_at_threshold(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	assert_int_equal(feed(&r, T0 + 1000, 79.999), 0);
	assert_int_equal(feed(&r, T0 + 2000, 80), 1);
	expect_raised(&r, 0, ALARM_H, T0 + 2000);
	dbl_eq(r.c[0].value, 80, "value");
	dbl_eq(r.c[0].threshold, 80, "threshold");
	dbl_eq(r.c[0].peak, 80, "peak");
	assert_int_equal(r.s.thr.kind, ALARM_H);
	assert_int_equal(r.s.thr.start_ms, T0 + 2000);
	/* Still above: nothing new. */
	assert_int_equal(feed(&r, T0 + 3000, 85), 0);
}

static void
test_high_deadband_edge(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 1000, 84);
	/* Below h but inside the deadband (h - db = 78): stays. */
	assert_int_equal(feed(&r, T0 + 2000, 79), 0);
	assert_int_equal(feed(&r, T0 + 3000, 78.000001), 0);
	assert_int_equal(r.s.thr.kind, ALARM_H);
	/* Exactly at threshold - deadband: clears. */
	assert_int_equal(feed(&r, T0 + 4000, 78), 1);
	expect_cleared(&r, 0, ALARM_H, CLEAR_NORMAL, T0 + 1000, T0 + 4000);
	dbl_eq(r.c[0].value, 78, "value");
	dbl_eq(r.c[0].threshold, 80, "threshold");
	dbl_eq(r.c[0].peak, 84, "peak");
	assert_int_equal(r.c[0].duration_ms, 3000);
	assert_int_equal(r.s.thr.kind, ALARM_NONE);
	/* Raises again at the threshold, not before. */
	assert_int_equal(feed(&r, T0 + 5000, 79.9), 0);
	assert_int_equal(feed(&r, T0 + 6000, 80), 1);
	expect_raised(&r, 0, ALARM_H, T0 + 6000);
}

static void
test_low_deadband_edge(void **state)
{
	struct run r;

	(void)state;
	run_low(&r, 0);
	assert_int_equal(feed(&r, T0 + 1000, 20.001), 0);
	assert_int_equal(feed(&r, T0 + 2000, 20), 1);
	expect_raised(&r, 0, ALARM_L, T0 + 2000);
	dbl_eq(r.c[0].threshold, 20, "threshold");
	assert_int_equal(feed(&r, T0 + 3000, 15), 0);
	assert_int_equal(feed(&r, T0 + 4000, 21.999999), 0);
	/* Exactly at threshold + deadband (22): clears. */
	assert_int_equal(feed(&r, T0 + 5000, 22), 1);
	expect_cleared(&r, 0, ALARM_L, CLEAR_NORMAL, T0 + 2000, T0 + 5000);
	dbl_eq(r.c[0].peak, 15, "peak is the lowest value");
	dbl_eq(r.c[0].value, 22, "value");
}

static void
test_zero_deadband(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, NAN, 20, 80, NAN, 0, 0);
	feed(&r, T0 + 1000, 80);
	expect_raised(&r, 0, ALARM_H, T0 + 1000);
	/* The threshold itself keeps it open; just under clears. */
	assert_int_equal(feed(&r, T0 + 2000, 80), 0);
	assert_int_equal(feed(&r, T0 + 3000, 79.99), 1);
	expect_cleared(&r, 0, ALARM_H, CLEAR_NORMAL, T0 + 1000, T0 + 3000);
	feed(&r, T0 + 4000, 20);
	expect_raised(&r, 0, ALARM_L, T0 + 4000);
	assert_int_equal(feed(&r, T0 + 5000, 20), 0);
	assert_int_equal(feed(&r, T0 + 6000, 20.01), 1);
	expect_cleared(&r, 0, ALARM_L, CLEAR_NORMAL, T0 + 4000, T0 + 6000);
}

static void
test_peak_high(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, NAN, NAN, 80, NAN, 2, 0);
	feed(&r, T0 + 1000, 81);
	feed(&r, T0 + 2000, 88.5);
	feed(&r, T0 + 3000, 83);
	dbl_eq(r.s.thr.peak, 88.5, "peak while open");
	dbl_eq(r.s.thr.value, 81, "value at start");
	feed(&r, T0 + 4000, 70);
	expect_cleared(&r, 0, ALARM_H, CLEAR_NORMAL, T0 + 1000, T0 + 4000);
	dbl_eq(r.c[0].peak, 88.5, "peak");
	dbl_eq(r.c[0].value, 70, "value");
}

/* --- delay ---------------------------------------------------------------- */

static void
test_delay_exact(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 10000);
	assert_int_equal(feed(&r, T0 + 1000, 82), 0);
	assert_int_equal(r.s.since_h, T0 + 1000);
	assert_int_equal(feed(&r, T0 + 5000, 85), 0);
	assert_int_equal(feed(&r, T0 + 10999, 83), 0); /* 1 ms before */
	assert_int_equal(feed(&r, T0 + 11000, 81), 1);
	expect_raised(&r, 0, ALARM_H, T0 + 11000);
	dbl_eq(r.c[0].value, 81, "value at the raise");
}

static void
test_delay_dip_resets(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 10000);
	feed(&r, T0 + 1000, 82);
	/* A dip under h (even inside the deadband) stops the clock. */
	assert_int_equal(feed(&r, T0 + 6000, 79.5), 0);
	assert_int_equal(r.s.since_h, 0);
	assert_int_equal(feed(&r, T0 + 7000, 82), 0);
	assert_int_equal(r.s.since_h, T0 + 7000);
	assert_int_equal(feed(&r, T0 + 11000, 82), 0); /* old clock: due */
	assert_int_equal(feed(&r, T0 + 16999, 82), 0);
	assert_int_equal(feed(&r, T0 + 17000, 82), 1);
	expect_raised(&r, 0, ALARM_H, T0 + 17000);
}

static void
test_delay_clear_is_immediate(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 10000);
	feed(&r, T0 + 1000, 82);
	feed(&r, T0 + 11000, 82);
	expect_raised(&r, 0, ALARM_H, T0 + 11000);
	/* Clearing needs no delay. */
	assert_int_equal(feed(&r, T0 + 12000, 70), 1);
	expect_cleared(&r, 0, ALARM_H, CLEAR_NORMAL, T0 + 11000, T0 + 12000);
}

static void
test_delay_low(void **state)
{
	struct run r;

	(void)state;
	run_low(&r, 5000);
	assert_int_equal(feed(&r, T0 + 1000, 19), 0);
	assert_int_equal(feed(&r, T0 + 3000, 20.5), 0); /* dip out */
	assert_int_equal(feed(&r, T0 + 4000, 18), 0);
	assert_int_equal(feed(&r, T0 + 8999, 18), 0);
	assert_int_equal(feed(&r, T0 + 9000, 18), 1);
	expect_raised(&r, 0, ALARM_L, T0 + 9000);
}

/* --- HH and H ------------------------------------------------------------- */

static void
test_h_to_hh(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 1000, 85);
	expect_raised(&r, 0, ALARM_H, T0 + 1000);
	assert_int_equal(feed(&r, T0 + 2000, 89.99), 0);
	assert_int_equal(feed(&r, T0 + 3000, 90), 2);
	/* H cleared first, then HH raised, at the same time. */
	expect_cleared(&r, 0, ALARM_H, CLEAR_SUPERSEDED, T0 + 1000, T0 + 3000);
	expect_raised(&r, 1, ALARM_HH, T0 + 3000);
	dbl_eq(r.c[0].threshold, 80, "H threshold");
	dbl_eq(r.c[1].threshold, 90, "HH threshold");
	dbl_eq(r.c[1].value, 90, "HH value");
	assert_int_equal(r.s.thr.kind, ALARM_HH);
}

static void
test_jump_straight_to_hh(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	assert_int_equal(feed(&r, T0 + 1000, 95), 1);
	expect_raised(&r, 0, ALARM_HH, T0 + 1000);
	/* With a delay on both, HH alone once both are due. */
	run_high(&r, 5000);
	assert_int_equal(feed(&r, T0 + 1000, 95), 0);
	assert_int_equal(feed(&r, T0 + 6000, 95), 1);
	expect_raised(&r, 0, ALARM_HH, T0 + 6000);
}

static void
test_hh_step_down_to_h(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 1000, 95);
	assert_int_equal(feed(&r, T0 + 2000, 97), 0);
	/* Inside HH's deadband (88 < v < 90): HH stays. */
	assert_int_equal(feed(&r, T0 + 3000, 88.5), 0);
	assert_int_equal(r.s.thr.kind, ALARM_HH);
	/* Exactly hh - deadband, still >= h: HH hands over to H. */
	assert_int_equal(feed(&r, T0 + 4000, 88), 2);
	expect_cleared(&r, 0, ALARM_HH, CLEAR_SUPERSEDED, T0 + 1000, T0 + 4000);
	dbl_eq(r.c[0].peak, 97, "HH peak");
	expect_raised(&r, 1, ALARM_H, T0 + 4000);
	dbl_eq(r.c[1].threshold, 80, "H threshold");
	dbl_eq(r.c[1].value, 88, "H value");
	assert_int_equal(r.s.thr.kind, ALARM_H);
	assert_int_equal(r.s.thr.start_ms, T0 + 4000);
}

static void
test_hh_step_down_ignores_delay(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 10000);
	feed(&r, T0 + 1000, 95);
	feed(&r, T0 + 11000, 95);
	expect_raised(&r, 0, ALARM_HH, T0 + 11000);
	/* H's condition has held all along: at once, no new delay. */
	assert_int_equal(feed(&r, T0 + 12000, 85), 2);
	expect_cleared(
	    &r, 0, ALARM_HH, CLEAR_SUPERSEDED, T0 + 11000, T0 + 12000);
	expect_raised(&r, 1, ALARM_H, T0 + 12000);
}

static void
test_hh_straight_down(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 1000, 95);
	/* Below h - deadband: HH clears, nothing else. */
	assert_int_equal(feed(&r, T0 + 2000, 78), 1);
	expect_cleared(&r, 0, ALARM_HH, CLEAR_NORMAL, T0 + 1000, T0 + 2000);
	assert_int_equal(r.s.thr.kind, ALARM_NONE);
	/* Below h but inside H's deadband: HH clears, H is not raised. */
	feed(&r, T0 + 3000, 95);
	assert_int_equal(feed(&r, T0 + 4000, 79), 1);
	expect_cleared(&r, 0, ALARM_HH, CLEAR_NORMAL, T0 + 3000, T0 + 4000);
	assert_int_equal(r.s.thr.kind, ALARM_NONE);
}

static void
test_h_to_hh_with_delay(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 10000);
	feed(&r, T0 + 1000, 85);
	feed(&r, T0 + 11000, 85);
	expect_raised(&r, 0, ALARM_H, T0 + 11000);
	/* HH's condition starts; H stays open while it is pending. */
	assert_int_equal(feed(&r, T0 + 12000, 92), 0);
	assert_int_equal(r.s.since_hh, T0 + 12000);
	/* A dip under hh restarts HH's clock (H is unaffected). */
	assert_int_equal(feed(&r, T0 + 15000, 89), 0);
	assert_int_equal(r.s.since_hh, 0);
	assert_int_equal(feed(&r, T0 + 16000, 92), 0);
	assert_int_equal(feed(&r, T0 + 25999, 93), 0);
	assert_int_equal(r.s.thr.kind, ALARM_H);
	assert_int_equal(feed(&r, T0 + 26000, 91), 2);
	expect_cleared(
	    &r, 0, ALARM_H, CLEAR_SUPERSEDED, T0 + 11000, T0 + 26000);
	dbl_eq(r.c[0].peak, 93, "H peak includes the readings over hh");
	expect_raised(&r, 1, ALARM_HH, T0 + 26000);
}

static void
test_hh_pending_keeps_h_open(void **state)
{
	struct run r;

	(void)state;
	/*
	 * The point is re-registered while H is open with an hh inside H's
	 * deadband (80 - 2 <= 78): at 78 H would clear, but HH's condition
	 * holds and is pending for its delay, so H stays until HH takes over.
	 */
	run_init(&r, NAN, NAN, 80, NAN, 2, 10000);
	feed(&r, T0 + 1000, 81);
	feed(&r, T0 + 11000, 81);
	expect_raised(&r, 0, ALARM_H, T0 + 11000);
	r.p.hh = 78;
	assert_int_equal(feed(&r, T0 + 12000, 78), 0);
	assert_int_equal(r.s.thr.kind, ALARM_H);
	assert_int_equal(r.s.since_hh, T0 + 12000);
	assert_int_equal(feed(&r, T0 + 21999, 78), 0);
	assert_int_equal(feed(&r, T0 + 22000, 78), 2);
	expect_cleared(
	    &r, 0, ALARM_H, CLEAR_SUPERSEDED, T0 + 11000, T0 + 22000);
	expect_raised(&r, 1, ALARM_HH, T0 + 22000);
}

static void
test_hh_only(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, NAN, NAN, NAN, 90, 2, 0);
	assert_int_equal(feed(&r, T0 + 1000, 89.9), 0);
	assert_int_equal(feed(&r, T0 + 2000, 90), 1);
	expect_raised(&r, 0, ALARM_HH, T0 + 2000);
	assert_int_equal(feed(&r, T0 + 3000, 88.1), 0);
	assert_int_equal(feed(&r, T0 + 4000, 88), 1);
	expect_cleared(&r, 0, ALARM_HH, CLEAR_NORMAL, T0 + 2000, T0 + 4000);
}

static void
test_h_only(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, NAN, NAN, 80, NAN, 2, 0);
	feed(&r, T0 + 1000, 85);
	expect_raised(&r, 0, ALARM_H, T0 + 1000);
	assert_int_equal(feed(&r, T0 + 2000, 1e6), 0);
	assert_int_equal(r.s.thr.kind, ALARM_H);
}

/* --- LL and L ------------------------------------------------------------- */

static void
test_l_to_ll(void **state)
{
	struct run r;

	(void)state;
	run_low(&r, 0);
	feed(&r, T0 + 1000, 15);
	expect_raised(&r, 0, ALARM_L, T0 + 1000);
	assert_int_equal(feed(&r, T0 + 2000, 10.01), 0);
	assert_int_equal(feed(&r, T0 + 3000, 10), 2);
	expect_cleared(&r, 0, ALARM_L, CLEAR_SUPERSEDED, T0 + 1000, T0 + 3000);
	expect_raised(&r, 1, ALARM_LL, T0 + 3000);
	dbl_eq(r.c[1].threshold, 10, "LL threshold");
}

static void
test_ll_step_up_to_l(void **state)
{
	struct run r;

	(void)state;
	run_low(&r, 0);
	feed(&r, T0 + 1000, 5);
	expect_raised(&r, 0, ALARM_LL, T0 + 1000);
	feed(&r, T0 + 2000, 3);
	assert_int_equal(feed(&r, T0 + 3000, 11.99), 0);
	/* Exactly ll + deadband, still <= l: LL hands over to L. */
	assert_int_equal(feed(&r, T0 + 4000, 12), 2);
	expect_cleared(&r, 0, ALARM_LL, CLEAR_SUPERSEDED, T0 + 1000, T0 + 4000);
	dbl_eq(r.c[0].peak, 3, "LL peak is the lowest");
	expect_raised(&r, 1, ALARM_L, T0 + 4000);
	/* LL straight up past l + deadband: LL clears, only that. */
	run_low(&r, 0);
	feed(&r, T0 + 1000, 5);
	assert_int_equal(feed(&r, T0 + 2000, 22), 1);
	expect_cleared(&r, 0, ALARM_LL, CLEAR_NORMAL, T0 + 1000, T0 + 2000);
	/* ...and into L's deadband: the same. */
	feed(&r, T0 + 3000, 5);
	assert_int_equal(feed(&r, T0 + 4000, 21), 1);
	expect_cleared(&r, 0, ALARM_LL, CLEAR_NORMAL, T0 + 3000, T0 + 4000);
}

static void
test_l_to_ll_with_delay(void **state)
{
	struct run r;

	(void)state;
	run_low(&r, 4000);
	feed(&r, T0 + 1000, 15);
	feed(&r, T0 + 5000, 15);
	expect_raised(&r, 0, ALARM_L, T0 + 5000);
	assert_int_equal(feed(&r, T0 + 6000, 8), 0);
	assert_int_equal(feed(&r, T0 + 9999, 8), 0);
	assert_int_equal(feed(&r, T0 + 10000, 8), 2);
	expect_cleared(&r, 0, ALARM_L, CLEAR_SUPERSEDED, T0 + 5000, T0 + 10000);
	expect_raised(&r, 1, ALARM_LL, T0 + 10000);
}

/* --- across sides --------------------------------------------------------- */

static void
test_high_straight_to_low(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, 10, 20, 80, 90, 2, 0);
	feed(&r, T0 + 1000, 85);
	assert_int_equal(feed(&r, T0 + 2000, 15), 2);
	expect_cleared(&r, 0, ALARM_H, CLEAR_NORMAL, T0 + 1000, T0 + 2000);
	expect_raised(&r, 1, ALARM_L, T0 + 2000);
	/* From HH to LL in one reading. */
	feed(&r, T0 + 3000, 95);
	expect_cleared(&r, 0, ALARM_L, CLEAR_NORMAL, T0 + 2000, T0 + 3000);
	expect_raised(&r, 1, ALARM_HH, T0 + 3000);
	assert_int_equal(feed(&r, T0 + 4000, 5), 2);
	expect_cleared(&r, 0, ALARM_HH, CLEAR_NORMAL, T0 + 3000, T0 + 4000);
	expect_raised(&r, 1, ALARM_LL, T0 + 4000);
}

static void
test_high_to_low_with_delay(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, 10, 20, 80, 90, 2, 3000);
	feed(&r, T0 + 1000, 85);
	feed(&r, T0 + 4000, 85);
	expect_raised(&r, 0, ALARM_H, T0 + 4000);
	/* The high clears at once; the low waits for its delay. */
	assert_int_equal(feed(&r, T0 + 5000, 15), 1);
	expect_cleared(&r, 0, ALARM_H, CLEAR_NORMAL, T0 + 4000, T0 + 5000);
	assert_int_equal(feed(&r, T0 + 7999, 15), 0);
	assert_int_equal(feed(&r, T0 + 8000, 15), 1);
	expect_raised(&r, 0, ALARM_L, T0 + 8000);
}

/* --- fault ---------------------------------------------------------------- */

static void
test_fault_bad_quality(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 1000, 85);
	assert_int_equal(feed_full(&r, T0 + 2000, 86, 1, 1, 0), 2);
	expect_cleared(&r, 0, ALARM_H, CLEAR_FAULT, T0 + 1000, T0 + 2000);
	expect_raised(&r, 1, ALARM_FAULT, T0 + 2000);
	dbl_eq(r.c[1].value, 86, "value");
	dbl_eq(r.c[1].peak, 86, "fault peak is the value at start");
	dbl_eq(r.c[1].threshold, NAN, "no threshold");
	assert_int_equal(r.s.since_h, 0);
	assert_int_equal(r.s.last_quality, 1);
	/* More bad readings: the fault stays, nothing new. */
	assert_int_equal(feed_full(&r, T0 + 3000, 99, 1, 1, 0), 0);
	assert_int_equal(feed_full(&r, T0 + 4000, 0, 0, 1, 0), 0);
	dbl_eq(r.s.fault.peak, 86, "peak unchanged");
}

static void
test_fault_maintenance_quality(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	assert_int_equal(feed_full(&r, T0 + 1000, 50, 1, 2, 0), 1);
	expect_raised(&r, 0, ALARM_FAULT, T0 + 1000);
	assert_int_equal(r.s.last_quality, 2);
	/* A quality no sector system sends is not good either. */
	run_high(&r, 0);
	assert_int_equal(feed_full(&r, T0 + 1000, 50, 1, 7, 0), 1);
	expect_raised(&r, 0, ALARM_FAULT, T0 + 1000);
}

static void
test_fault_without_value(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	assert_int_equal(feed_full(&r, T0 + 1000, 0, 0, 1, 0), 1);
	expect_raised(&r, 0, ALARM_FAULT, T0 + 1000);
	dbl_eq(r.c[0].value, NAN, "no value");
	dbl_eq(r.s.last_value, NAN, "last value");
	/* A value that is not a number is no measurement either. */
	run_high(&r, 0);
	assert_int_equal(feed_full(&r, T0 + 1000, NAN, 1, 0, 0), 1);
	expect_raised(&r, 0, ALARM_FAULT, T0 + 1000);
}

static void
test_fault_out_of_range(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	r.p.range_lo = 0;
	r.p.range_hi = 100;
	/* The bounds themselves are in range (100 raises HH). */
	assert_int_equal(feed(&r, T0 + 1000, 0), 0);
	assert_int_equal(feed(&r, T0 + 2000, 100), 1);
	expect_raised(&r, 0, ALARM_HH, T0 + 2000);
	assert_int_equal(feed(&r, T0 + 3000, 100.001), 2);
	expect_cleared(&r, 0, ALARM_HH, CLEAR_FAULT, T0 + 2000, T0 + 3000);
	expect_raised(&r, 1, ALARM_FAULT, T0 + 3000);
	dbl_eq(r.c[1].value, 100.001, "value");
	/* Recovery to 50: fault cleared, nothing else. */
	assert_int_equal(feed(&r, T0 + 4000, 50), 1);
	expect_cleared(&r, 0, ALARM_FAULT, CLEAR_NORMAL, T0 + 3000, T0 + 4000);
	dbl_eq(r.c[0].value, 50, "value");
	dbl_eq(r.c[0].peak, 100.001, "peak");
	assert_int_equal(feed(&r, T0 + 5000, -0.001), 1);
	expect_raised(&r, 0, ALARM_FAULT, T0 + 5000);
}

static void
test_fault_one_bound(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	r.p.range_lo = 0; /* range_hi absent */
	assert_int_equal(feed(&r, T0 + 1000, 1e9), 1);
	expect_raised(&r, 0, ALARM_HH, T0 + 1000);
	assert_int_equal(feed(&r, T0 + 2000, -1), 2);
	expect_raised(&r, 1, ALARM_FAULT, T0 + 2000);

	run_low(&r, 0);
	r.p.range_hi = 100; /* range_lo absent */
	assert_int_equal(feed(&r, T0 + 1000, -1e9), 1);
	expect_raised(&r, 0, ALARM_LL, T0 + 1000);
	assert_int_equal(feed(&r, T0 + 2000, 101), 2);
	expect_cleared(&r, 0, ALARM_LL, CLEAR_FAULT, T0 + 1000, T0 + 2000);
	expect_raised(&r, 1, ALARM_FAULT, T0 + 2000);
}

static void
test_fault_recovery_raises_threshold(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	feed_full(&r, T0 + 1000, 0, 0, 1, 0);
	/* Good and high: fault clears, then H is raised, same time. */
	assert_int_equal(feed(&r, T0 + 2000, 85), 2);
	expect_cleared(&r, 0, ALARM_FAULT, CLEAR_NORMAL, T0 + 1000, T0 + 2000);
	expect_raised(&r, 1, ALARM_H, T0 + 2000);

	/* With a delay, counted from the recovering reading. */
	run_high(&r, 5000);
	feed(&r, T0 + 1000, 85);
	feed_full(&r, T0 + 2000, 85, 1, 1, 0); /* fault stops H's clock */
	assert_int_equal(feed(&r, T0 + 6000, 85), 1);
	expect_cleared(&r, 0, ALARM_FAULT, CLEAR_NORMAL, T0 + 2000, T0 + 6000);
	assert_int_equal(r.s.since_h, T0 + 6000);
	assert_int_equal(feed(&r, T0 + 10999, 85), 0);
	assert_int_equal(feed(&r, T0 + 11000, 85), 1);
	expect_raised(&r, 0, ALARM_H, T0 + 11000);
}

/* --- stale ---------------------------------------------------------------- */

static void
test_stale_readings(void **state)
{
	struct run r;
	struct alarm_state before;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 5000, 85);
	before = r.s;
	/* Same time, older, bad, out of range: no change of any kind. */
	assert_int_equal(feed(&r, T0 + 5000, 50), 0);
	assert_int_equal(feed(&r, T0 + 4999, 95), 0);
	assert_int_equal(feed_full(&r, T0 + 1000, 0, 0, 1, 0), 0);
	assert_int_equal(feed_full(&r, T0 + 5000, 85, 1, 0, 1), 0);
	assert_memory_equal(&r.s, &before, sizeof(before));
	/* Not even an offline alarm is cleared by a stale reading. */
	check(&r, T0 + 5000 + 3 * MIN_MS, 0);
	expect_cleared(
	    &r, 0, ALARM_H, CLEAR_OFFLINE, T0 + 5000, T0 + 5000 + 3 * MIN_MS);
	before = r.s;
	assert_int_equal(feed(&r, T0 + 5000, 50), 0);
	assert_memory_equal(&r.s, &before, sizeof(before));
}

/* --- offline -------------------------------------------------------------- */

static void
test_offline_timing(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	/* No reading yet: measured from seen_ms (T0). */
	assert_int_equal(check(&r, T0 + 3 * MIN_MS - 1, 0), 0);
	assert_int_equal(check(&r, T0 + 3 * MIN_MS, 0), 1);
	expect_raised(&r, 0, ALARM_OFFLINE, T0 + 3 * MIN_MS);
	dbl_eq(r.c[0].value, NAN, "no value yet");
	dbl_eq(r.c[0].threshold, NAN, "no threshold");
	/* Checked again later: still the one alarm. */
	assert_int_equal(check(&r, T0 + 10 * MIN_MS, 0), 0);
	/* A reading clears it at its own time. */
	assert_int_equal(feed(&r, T0 + 11 * MIN_MS, 50), 1);
	expect_cleared(&r, 0, ALARM_OFFLINE, CLEAR_NORMAL, T0 + 3 * MIN_MS,
	    T0 + 11 * MIN_MS);
	dbl_eq(r.c[0].value, 50, "value of the reading");
	/* Now measured from that reading. */
	assert_int_equal(check(&r, T0 + 14 * MIN_MS - 1, 0), 0);
	assert_int_equal(check(&r, T0 + 14 * MIN_MS, 0), 1);
	expect_raised(&r, 0, ALARM_OFFLINE, T0 + 14 * MIN_MS);
	dbl_eq(r.c[0].value, 50, "last value");
	dbl_eq(r.c[0].peak, 50, "peak is the value at start");
}

static void
test_offline_start_is_deterministic(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 1000, 50);
	/* The timer runs late: the start is still last + 3 x interval. */
	assert_int_equal(check(&r, T0 + 1000 + 7 * MIN_MS + 123, 0), 1);
	expect_raised(&r, 0, ALARM_OFFLINE, T0 + 1000 + 3 * MIN_MS);
	/* seen_ms later than the last reading is the base. */
	run_high(&r, 0);
	feed(&r, T0 + 1000, 50);
	r.s.seen_ms = T0 + 60000;
	assert_int_equal(check(&r, T0 + 60000 + 3 * MIN_MS - 1, 0), 0);
	assert_int_equal(check(&r, T0 + 60000 + 3 * MIN_MS, 0), 1);
	expect_raised(&r, 0, ALARM_OFFLINE, T0 + 60000 + 3 * MIN_MS);
	/* A clock behind the last reading raises nothing. */
	run_high(&r, 0);
	feed(&r, T0 + 1000, 50);
	assert_int_equal(check(&r, T0, 0), 0);
}

static void
test_offline_clears_threshold(void **state)
{
	struct run r;
	int64_t start = T0 + 1000 + 3 * MIN_MS;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 1000, 85);
	assert_int_equal(check(&r, start, 0), 2);
	expect_cleared(&r, 0, ALARM_H, CLEAR_OFFLINE, T0 + 1000, start);
	dbl_eq(r.c[0].value, 85, "value then");
	expect_raised(&r, 1, ALARM_OFFLINE, start);
	dbl_eq(r.c[1].value, 85, "offline value at start");
	assert_int_equal(r.s.since_h, 0);
	/* Back, still high: offline clears, H is raised anew. */
	assert_int_equal(feed(&r, start + 5000, 86), 2);
	expect_cleared(&r, 0, ALARM_OFFLINE, CLEAR_NORMAL, start, start + 5000);
	expect_raised(&r, 1, ALARM_H, start + 5000);
}

static void
test_offline_fault_stays(void **state)
{
	struct run r;
	int64_t start = T0 + 1000 + 3 * MIN_MS;

	(void)state;
	run_high(&r, 0);
	feed_full(&r, T0 + 1000, 0, 0, 1, 0);
	assert_int_equal(check(&r, start, 0), 1);
	expect_raised(&r, 0, ALARM_OFFLINE, start);
	assert_int_equal(r.s.fault.kind, ALARM_FAULT);
	/* A good reading ends both, offline first. */
	assert_int_equal(feed(&r, start + 1000, 50), 2);
	expect_cleared(&r, 0, ALARM_OFFLINE, CLEAR_NORMAL, start, start + 1000);
	expect_cleared(
	    &r, 1, ALARM_FAULT, CLEAR_NORMAL, T0 + 1000, start + 1000);
}

static void
test_offline_late_reading(void **state)
{
	struct run r;
	int64_t start = T0 + 1000 + 3 * MIN_MS;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 1000, 50);
	check(&r, start, 0);
	/*
	 * A reading measured before the offline start arrives late: the
	 * alarm clears, but never before it began.
	 */
	assert_int_equal(feed(&r, start - 1000, 50), 1);
	expect_cleared(&r, 0, ALARM_OFFLINE, CLEAR_NORMAL, start, start);
	assert_int_equal(r.c[0].duration_ms, 0);
}

static void
test_offline_disabled_by_zero(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	r.p.offline_after_ms = 0;
	assert_int_equal(check(&r, T0 + 1000 * MIN_MS, 0), 0);
}

/* --- suppression ---------------------------------------------------------- */

static void
test_disabled_point(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	r.p.enabled = 0;
	assert_int_equal(feed(&r, T0 + 1000, 85), 1);
	expect_suppressed(&r, 0, ALARM_H, T0 + 1000);
	dbl_eq(r.c[0].threshold, 80, "threshold");
	dbl_eq(r.c[0].value, 85, "value");
	/* Recorded once per episode. */
	assert_int_equal(feed(&r, T0 + 2000, 86), 0);
	assert_int_equal(feed(&r, T0 + 3000, 79), 0); /* in the deadband */
	assert_int_equal(r.s.suppressed_kind, ALARM_H);
	assert_int_equal(r.s.thr.kind, ALARM_NONE);
	/* The point is alive all the same. */
	assert_int_equal(r.s.last_ts_ms, T0 + 3000);
	dbl_eq(r.s.last_value, 79, "last value");
	/* The condition ends, then comes back: recorded again. */
	assert_int_equal(feed(&r, T0 + 4000, 70), 0);
	assert_int_equal(r.s.suppressed_kind, ALARM_NONE);
	assert_int_equal(feed(&r, T0 + 5000, 81), 1);
	expect_suppressed(&r, 0, ALARM_H, T0 + 5000);
	/* Worse: HH would supersede, and is recorded. */
	assert_int_equal(feed(&r, T0 + 6000, 91), 1);
	expect_suppressed(&r, 0, ALARM_HH, T0 + 6000);
	assert_int_equal(feed(&r, T0 + 7000, 92), 0);
}

static void
test_disabled_clears_open(void **state)
{
	struct run r;

	(void)state;
	run_low(&r, 0);
	feed(&r, T0 + 1000, 5);
	expect_raised(&r, 0, ALARM_LL, T0 + 1000);
	r.p.enabled = 0;
	assert_int_equal(feed(&r, T0 + 2000, 15), 2);
	expect_cleared(&r, 0, ALARM_LL, CLEAR_SUPPRESSED, T0 + 1000, T0 + 2000);
	dbl_eq(r.c[0].value, 15, "value");
	expect_suppressed(&r, 1, ALARM_L, T0 + 2000);
	/* Enabled again and back to normal: nothing to clear or raise. */
	r.p.enabled = 1;
	assert_int_equal(feed(&r, T0 + 3000, 50), 0);
	assert_int_equal(r.s.suppressed_kind, ALARM_NONE);
}

static void
test_suppressed_clears_open(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 1000, 85);
	/* A maintenance window: H clears, the condition is recorded. */
	assert_int_equal(feed_full(&r, T0 + 2000, 86, 1, 0, 1), 2);
	expect_cleared(&r, 0, ALARM_H, CLEAR_SUPPRESSED, T0 + 1000, T0 + 2000);
	expect_suppressed(&r, 1, ALARM_H, T0 + 2000);
	assert_int_equal(feed_full(&r, T0 + 3000, 86, 1, 0, 1), 0);
	/* Window over, still high: raised at once with a new start. */
	assert_int_equal(feed(&r, T0 + 4000, 86), 1);
	expect_raised(&r, 0, ALARM_H, T0 + 4000);
	assert_int_equal(r.s.suppressed_kind, ALARM_NONE);
}

static void
test_suppressed_delay(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 10000);
	/* Would-be raises obey the delay too. */
	assert_int_equal(feed_full(&r, T0 + 1000, 85, 1, 0, 1), 0);
	assert_int_equal(feed_full(&r, T0 + 10999, 85, 1, 0, 1), 0);
	assert_int_equal(feed_full(&r, T0 + 11000, 85, 1, 0, 1), 1);
	expect_suppressed(&r, 0, ALARM_H, T0 + 11000);
	/* The condition held through the window: due at once after it. */
	assert_int_equal(feed(&r, T0 + 12000, 85), 1);
	expect_raised(&r, 0, ALARM_H, T0 + 12000);
}

static void
test_suppressed_fault(void **state)
{
	struct run r;

	(void)state;
	run_high(&r, 0);
	feed_full(&r, T0 + 1000, 0, 0, 1, 0);
	expect_raised(&r, 0, ALARM_FAULT, T0 + 1000);
	assert_int_equal(feed_full(&r, T0 + 2000, 0, 0, 2, 1), 2);
	expect_cleared(
	    &r, 0, ALARM_FAULT, CLEAR_SUPPRESSED, T0 + 1000, T0 + 2000);
	expect_suppressed(&r, 1, ALARM_FAULT, T0 + 2000);
	assert_int_equal(feed_full(&r, T0 + 3000, 0, 0, 2, 1), 0);
	/* Good again inside the window: the fault episode ends quietly. */
	assert_int_equal(feed_full(&r, T0 + 4000, 50, 1, 0, 1), 0);
	assert_int_equal(r.s.suppressed_kind, ALARM_NONE);
	assert_int_equal(feed_full(&r, T0 + 5000, 0, 0, 1, 1), 1);
	expect_suppressed(&r, 0, ALARM_FAULT, T0 + 5000);
}

static void
test_suppressed_offline(void **state)
{
	struct run r;
	int64_t start = T0 + 1000 + 3 * MIN_MS;

	(void)state;
	run_high(&r, 0);
	feed(&r, T0 + 1000, 85);
	assert_int_equal(check(&r, start - 1, 1), 0);
	assert_int_equal(check(&r, start, 1), 2);
	expect_cleared(&r, 0, ALARM_H, CLEAR_SUPPRESSED, T0 + 1000, start);
	expect_suppressed(&r, 1, ALARM_OFFLINE, start);
	dbl_eq(r.c[1].value, 85, "last value");
	assert_int_equal(r.s.offline.kind, ALARM_NONE);
	/* Once per episode. */
	assert_int_equal(check(&r, start + MIN_MS, 1), 0);
	/* A reading ends the episode; the next silence is recorded again. */
	assert_int_equal(feed_full(&r, start + 2 * MIN_MS, 50, 1, 0, 1), 0);
	assert_int_equal(r.s.suppressed_kind, ALARM_NONE);
	assert_int_equal(check(&r, start + 5 * MIN_MS, 1), 1);
	expect_suppressed(&r, 0, ALARM_OFFLINE, start + 5 * MIN_MS);
	/* Disabled points the same. */
	run_high(&r, 0);
	r.p.enabled = 0;
	assert_int_equal(check(&r, T0 + 3 * MIN_MS, 0), 1);
	expect_suppressed(&r, 0, ALARM_OFFLINE, T0 + 3 * MIN_MS);
	assert_int_equal(check(&r, T0 + 4 * MIN_MS, 0), 0);
}

/* --- close_all and replay ------------------------------------------------- */

static void
test_close_all(void **state)
{
	struct run r;
	int64_t start = T0 + 1000 + 3 * MIN_MS;

	(void)state;
	run_high(&r, 0);
	feed_full(&r, T0 + 1000, 0, 0, 1, 0);
	check(&r, start, 0);
	r.n = alarm_close_all(&r.s, start + 5000, CLEAR_SUPPRESSED, r.c);
	assert_int_equal(r.n, 2);
	expect_cleared(
	    &r, 0, ALARM_FAULT, CLEAR_SUPPRESSED, T0 + 1000, start + 5000);
	expect_cleared(
	    &r, 1, ALARM_OFFLINE, CLEAR_SUPPRESSED, start, start + 5000);
	assert_int_equal(
	    alarm_close_all(&r.s, start + 6000, CLEAR_NORMAL, r.c), 0);
	/* The next silence is measured from the close, a new start. */
	assert_int_equal(check(&r, start + 5000 + 3 * MIN_MS - 1, 0), 0);
	assert_int_equal(check(&r, start + 5000 + 3 * MIN_MS, 0), 1);
	expect_raised(&r, 0, ALARM_OFFLINE, start + 5000 + 3 * MIN_MS);

	run_high(&r, 0);
	feed(&r, T0 + 1000, 95);
	r.n = alarm_close_all(&r.s, T0 + 2000, CLEAR_SUPPRESSED, r.c);
	assert_int_equal(r.n, 1);
	expect_cleared(&r, 0, ALARM_HH, CLEAR_SUPPRESSED, T0 + 1000, T0 + 2000);
	dbl_eq(r.c[0].value, 95, "last value");
}

/* One reading of a replay script; check is a call of the offline timer. */
struct step {
	int64_t ts;
	double v;
	int has_value, quality, suppressed, check;
};

static size_t
replay(const struct step *st, size_t n, struct alarm_change *all, size_t max)
{
	struct run r;
	size_t i, j, k = 0;

	run_init(&r, 10, 20, 80, 90, 2, 2000);
	for (i = 0; i < n; i++) {
		if (st[i].check)
			check(&r, st[i].ts, st[i].suppressed);
		else
			feed_full(&r, st[i].ts, st[i].v, st[i].has_value,
			    st[i].quality, st[i].suppressed);
		for (j = 0; j < r.n; j++) {
			assert_true(k < max);
			all[k++] = r.c[j];
		}
	}
	return k;
}

static void
test_replay_same_changes(void **state)
{
	static const struct step script[] = {
	    {T0 + 1000, 85, 1, 0, 0, 0},
	    {T0 + 3000, 86, 1, 0, 0, 0},
	    {T0 + 4000, 95, 1, 0, 0, 0},
	    {T0 + 7000, 95, 1, 0, 0, 0},
	    {T0 + 7000, 5, 1, 0, 0, 0},
	    {T0 + 8000, 84, 1, 0, 0, 0},
	    {T0 + 9000, 0, 0, 1, 0, 0},
	    {T0 + 10000, 15, 1, 0, 0, 0},
	    {T0 + 13000, 15, 1, 0, 0, 0},
	    {T0 + 13000 + 3 * MIN_MS, 0, 0, 0, 0, 1},
	    {T0 + 14000 + 3 * MIN_MS, 5, 1, 0, 1, 0},
	    {T0 + 15000 + 3 * MIN_MS, 5, 1, 0, 0, 0},
	    {T0 + 17000 + 3 * MIN_MS, 5, 1, 0, 0, 0},
	};
	struct alarm_change a[64], b[64];
	size_t na, nb, i;
	char ida[80], idb[80];

	(void)state;
	na = replay(script, sizeof(script) / sizeof(script[0]), a, 64);
	nb = replay(script, sizeof(script) / sizeof(script[0]), b, 64);
	assert_int_equal(na, nb);
	assert_true(na >= 10);
	for (i = 0; i < na; i++) {
		assert_int_equal(a[i].what, b[i].what);
		assert_int_equal(a[i].kind, b[i].kind);
		assert_int_equal(a[i].reason, b[i].reason);
		assert_int_equal(a[i].start_ms, b[i].start_ms);
		assert_int_equal(a[i].at_ms, b[i].at_ms);
		dbl_eq(a[i].value, b[i].value, "value");
		dbl_eq(a[i].peak, b[i].peak, "peak");
		alarm_id(ida, sizeof(ida), "P1", a[i].start_ms, a[i].kind);
		alarm_id(idb, sizeof(idb), "P1", b[i].start_ms, b[i].kind);
		assert_string_equal(ida, idb);
	}
	/* Spot checks of the expected story. */
	assert_int_equal(a[0].what, ALARM_RAISED);
	assert_int_equal(a[0].kind, ALARM_H);
	assert_int_equal(a[0].start_ms, T0 + 3000);
	assert_int_equal(a[1].what, ALARM_CLEARED);
	assert_int_equal(a[1].reason, CLEAR_SUPERSEDED);
	assert_int_equal(a[2].kind, ALARM_HH);
	assert_int_equal(a[2].start_ms, T0 + 7000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kind_names),
	    cmocka_unit_test(test_point_kind_names),
	    cmocka_unit_test(test_clear_reason_names),
	    cmocka_unit_test(test_alarm_id),
	    cmocka_unit_test(test_alarm_id_parse),
	    cmocka_unit_test(test_defaults_init),
	    cmocka_unit_test(test_gas_default_combustible),
	    cmocka_unit_test(test_gas_default_oxygen),
	    cmocka_unit_test(test_gas_default_methane),
	    cmocka_unit_test(test_gas_default_toxic),
	    cmocka_unit_test(test_gas_default_unit_spelling),
	    cmocka_unit_test(test_gas_default_unit_mismatch),
	    cmocka_unit_test(test_resolve_no_default_for_kind),
	    cmocka_unit_test(test_resolve_own_thresholds_win),
	    cmocka_unit_test(test_resolve_deadband),
	    cmocka_unit_test(test_resolve_delay_interval),
	    cmocka_unit_test(test_gas_parse_ok),
	    cmocka_unit_test(test_gas_parse_empty),
	    cmocka_unit_test(test_gas_parse_garbage),
	    cmocka_unit_test(test_gas_parse_unit),
	    cmocka_unit_test(test_gas_parse_numbers),
	    cmocka_unit_test(test_gas_parse_order),
	    cmocka_unit_test(test_gas_parse_entries),
	    cmocka_unit_test(test_gas_parse_eight),
	    cmocka_unit_test(test_high_raise_at_threshold),
	    cmocka_unit_test(test_high_deadband_edge),
	    cmocka_unit_test(test_low_deadband_edge),
	    cmocka_unit_test(test_zero_deadband),
	    cmocka_unit_test(test_peak_high),
	    cmocka_unit_test(test_delay_exact),
	    cmocka_unit_test(test_delay_dip_resets),
	    cmocka_unit_test(test_delay_clear_is_immediate),
	    cmocka_unit_test(test_delay_low),
	    cmocka_unit_test(test_h_to_hh),
	    cmocka_unit_test(test_jump_straight_to_hh),
	    cmocka_unit_test(test_hh_step_down_to_h),
	    cmocka_unit_test(test_hh_step_down_ignores_delay),
	    cmocka_unit_test(test_hh_straight_down),
	    cmocka_unit_test(test_h_to_hh_with_delay),
	    cmocka_unit_test(test_hh_pending_keeps_h_open),
	    cmocka_unit_test(test_hh_only),
	    cmocka_unit_test(test_h_only),
	    cmocka_unit_test(test_l_to_ll),
	    cmocka_unit_test(test_ll_step_up_to_l),
	    cmocka_unit_test(test_l_to_ll_with_delay),
	    cmocka_unit_test(test_high_straight_to_low),
	    cmocka_unit_test(test_high_to_low_with_delay),
	    cmocka_unit_test(test_fault_bad_quality),
	    cmocka_unit_test(test_fault_maintenance_quality),
	    cmocka_unit_test(test_fault_without_value),
	    cmocka_unit_test(test_fault_out_of_range),
	    cmocka_unit_test(test_fault_one_bound),
	    cmocka_unit_test(test_fault_recovery_raises_threshold),
	    cmocka_unit_test(test_stale_readings),
	    cmocka_unit_test(test_offline_timing),
	    cmocka_unit_test(test_offline_start_is_deterministic),
	    cmocka_unit_test(test_offline_clears_threshold),
	    cmocka_unit_test(test_offline_fault_stays),
	    cmocka_unit_test(test_offline_late_reading),
	    cmocka_unit_test(test_offline_disabled_by_zero),
	    cmocka_unit_test(test_disabled_point),
	    cmocka_unit_test(test_disabled_clears_open),
	    cmocka_unit_test(test_suppressed_clears_open),
	    cmocka_unit_test(test_suppressed_delay),
	    cmocka_unit_test(test_suppressed_fault),
	    cmocka_unit_test(test_suppressed_offline),
	    cmocka_unit_test(test_close_all),
	    cmocka_unit_test(test_replay_same_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

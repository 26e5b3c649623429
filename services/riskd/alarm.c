/*
 * alarm - the alarm state machine of one monitoring point (DOMAIN.md 3.1).
 *
 * riskd owns one struct alarm_state per point and feeds it each reading
 * (alarm_on_reading) and, from a timer, the wall clock
 * (alarm_check_offline); this file turns those into alarm changes and
 * touches nothing else.  There is no clock, store or allocation here: the
 * same readings in the same order always give the same changes with the
 * same start times, which is what makes alarm ids (point, start, kind)
 * safe to replay after a crash.
 *
 * Within one call the clears come before the raises, so a consumer that
 * applies them in order never sees two threshold alarms open on a point.
 * The threshold logic is written once (thr_decide) and used twice: on the
 * real open alarm, and on the "virtual" alarm of a suppressed point, whose
 * kind is remembered in suppressed_kind so that what would have been
 * raised is reported once per episode and no more.
 *
 * The parameters the state machine reads (struct alarm_params) are made
 * in alarm_params.c, with the point kinds, the configured defaults and
 * the gas default table; this file holds the alarm kind and clear reason
 * names it reports with.
 */
#include "alarm.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- names ---------------------------------------------------------------- */

static const char *const kind_names[ALARM_KIND_COUNT] = {
    "none", "H", "HH", "L", "LL", "offline", "fault"};

static const char *const reason_names[] = {
    "none", "normal", "superseded", "fault", "offline", "suppressed"};

const char *
alarm_kind_name(enum alarm_kind k)
{
	if ((unsigned)k >= ALARM_KIND_COUNT)
		return "unknown";
	return kind_names[k];
}

int
alarm_kind_parse(const char *s, enum alarm_kind *out)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < ALARM_KIND_COUNT; i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (enum alarm_kind)i;
			return 0;
		}
	}
	return -1;
}

int
alarm_kind_is_threshold(enum alarm_kind k)
{
	return k == ALARM_H || k == ALARM_HH || k == ALARM_L || k == ALARM_LL;
}

int
alarm_kind_is_second(enum alarm_kind k)
{
	return k == ALARM_HH || k == ALARM_LL;
}

const char *
alarm_clear_reason_name(enum alarm_clear_reason r)
{
	if ((unsigned)r >= sizeof(reason_names) / sizeof(reason_names[0]))
		return "unknown";
	return reason_names[r];
}

/* --- changes -------------------------------------------------------------- */

/* The changes of one call, appended in order. */
struct emit {
	struct alarm_change *out;
	size_t n;
};

static struct alarm_change *
emit_next(struct emit *e)
{
	struct alarm_change *c;

	/* Every path appends at most four; more would be our own bug. */
	assert(e->n < ALARM_CHANGES_MAX);
	c = &e->out[e->n++];
	memset(c, 0, sizeof(*c));
	return c;
}

static void
open_reset(struct alarm_open *o)
{
	o->kind = ALARM_NONE;
	o->start_ms = 0;
	o->value = NAN;
	o->threshold = NAN;
	o->peak = NAN;
}

/* Append a change that begins now: raised, or suppressed instead. */
static void
emit_start(struct emit *e, enum alarm_change_what what, enum alarm_kind k,
    int64_t at_ms, double value, double threshold)
{
	struct alarm_change *c = emit_next(e);

	c->what = what;
	c->kind = k;
	c->reason = CLEAR_NONE;
	c->start_ms = at_ms;
	c->at_ms = at_ms;
	c->value = value;
	c->threshold = threshold;
	c->peak = value;
	c->duration_ms = 0;
}

/* Open the alarm k in slot at at_ms and report it raised. */
static void
emit_raised(struct emit *e, struct alarm_open *slot, enum alarm_kind k,
    int64_t at_ms, double value, double threshold)
{
	slot->kind = (uint8_t)k;
	slot->start_ms = at_ms;
	slot->value = value;
	slot->threshold = threshold;
	slot->peak = value;
	emit_start(e, ALARM_RAISED, k, at_ms, value, threshold);
}

/*
 * Close the alarm in slot at at_ms.  An alarm never ends before it began
 * (a late reading may be older than an offline alarm's start), so the
 * clear time is at least the start.
 */
static void
emit_cleared(struct emit *e, struct alarm_open *slot, int64_t at_ms,
    double value, enum alarm_clear_reason reason)
{
	struct alarm_change *c = emit_next(e);

	if (at_ms < slot->start_ms)
		at_ms = slot->start_ms;
	c->what = ALARM_CLEARED;
	c->kind = (enum alarm_kind)slot->kind;
	c->reason = reason;
	c->start_ms = slot->start_ms;
	c->at_ms = at_ms;
	c->value = value;
	c->threshold = slot->threshold;
	c->peak = slot->peak;
	c->duration_ms = at_ms - slot->start_ms;
	open_reset(slot);
}

/* Report that k would have been raised at at_ms on a suppressed point. */
static void
emit_suppressed(struct emit *e, enum alarm_kind k, int64_t at_ms, double value,
    double threshold)
{
	emit_start(e, ALARM_SUPPRESSED, k, at_ms, value, threshold);
}

/* --- state ---------------------------------------------------------------- */

void
alarm_state_init(struct alarm_state *s, int64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->seen_ms = now_ms;
	s->last_value = NAN;
	s->suppressed_kind = ALARM_NONE;
	open_reset(&s->thr);
	open_reset(&s->fault);
	open_reset(&s->offline);
}

static void
since_reset(struct alarm_state *s)
{
	s->since_h = s->since_hh = s->since_l = s->since_ll = 0;
}

/* --- thresholds ----------------------------------------------------------- */

static double
threshold_of(const struct alarm_params *p, enum alarm_kind k)
{
	switch (k) {
	case ALARM_H:
		return p->h;
	case ALARM_HH:
		return p->hh;
	case ALARM_L:
		return p->l;
	case ALARM_LL:
		return p->ll;
	default:
		return NAN;
	}
}

static int
is_high(enum alarm_kind k)
{
	return k == ALARM_H || k == ALARM_HH;
}

static int64_t *
since_of(struct alarm_state *s, enum alarm_kind k)
{
	switch (k) {
	case ALARM_H:
		return &s->since_h;
	case ALARM_HH:
		return &s->since_hh;
	case ALARM_L:
		return &s->since_l;
	default:
		return &s->since_ll;
	}
}

/* The condition of level k holds for v (an absent threshold never holds). */
static int
cond_holds(const struct alarm_params *p, enum alarm_kind k, double v)
{
	double t = threshold_of(p, k);

	if (isnan(t))
		return 0;
	return is_high(k) ? v >= t : v <= t;
}

static double
deadband_of(const struct alarm_params *p)
{
	return isfinite(p->deadband) && p->deadband > 0 ? p->deadband : 0;
}

/*
 * An open alarm of level k may clear at v: back inside by the deadband
 * (the boundary itself clears) and its condition no longer holding, so
 * that a zero deadband does not clear at the threshold it raises at.
 */
static int
back_inside(const struct alarm_params *p, enum alarm_kind k, double v)
{
	double t = threshold_of(p, k), db = deadband_of(p);

	if (isnan(t) || cond_holds(p, k, v))
		return 0;
	return is_high(k) ? v <= t - db : v >= t + db;
}

/* The condition of k has held continuously for the delay at ts. */
static int
held(const struct alarm_params *p, struct alarm_state *s, enum alarm_kind k,
    int64_t ts)
{
	int64_t since = *since_of(s, k);
	int64_t delay = p->delay_ms > 0 ? p->delay_ms : 0;

	return since != 0 && ts - since >= delay;
}

/* Start or stop the clock of each level's condition at this reading. */
static void
since_update(
    const struct alarm_params *p, struct alarm_state *s, double v, int64_t ts)
{
	static const enum alarm_kind levels[] = {
	    ALARM_H, ALARM_HH, ALARM_L, ALARM_LL};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		int64_t *since = since_of(s, levels[i]);

		if (!cond_holds(p, levels[i], v))
			*since = 0;
		else if (*since == 0)
			*since = ts;
	}
}

/* What becomes of the threshold alarm open (ALARM_NONE: none) at v. */
struct thr_step {
	int clear;                      /* the open alarm ends */
	enum alarm_clear_reason reason; /* why, when it ends */
	enum alarm_kind raise;          /* the level raised, ALARM_NONE */
};

/* The most severe level held long enough, second levels first. */
static enum alarm_kind
fresh_raise(const struct alarm_params *p, struct alarm_state *s, int64_t ts)
{
	static const enum alarm_kind order[] = {
	    ALARM_HH, ALARM_H, ALARM_LL, ALARM_L};
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (held(p, s, order[i], ts))
			return order[i];
	return ALARM_NONE;
}

/*
 * The rules of DOMAIN.md 3.1 for a good, in-range reading, as one
 * decision: the second level supersedes the first once it has held for
 * the delay; a pending second level keeps the first open; a second level
 * stepping back inside its deadband while the first still holds hands over
 * to the first at once; an alarm back inside clears, and the other side
 * may then be raised in the same reading.
 */
static struct thr_step
thr_decide(const struct alarm_params *p, struct alarm_state *s, double v,
    int64_t ts, enum alarm_kind open)
{
	struct thr_step st = {0, CLEAR_NONE, ALARM_NONE};
	enum alarm_kind first, second;

	if (open == ALARM_NONE) {
		st.raise = fresh_raise(p, s, ts);
		return st;
	}
	first = is_high(open) ? ALARM_H : ALARM_L;
	second = is_high(open) ? ALARM_HH : ALARM_LL;
	if (open == first) {
		if (held(p, s, second, ts)) {
			st.clear = 1;
			st.reason = CLEAR_SUPERSEDED;
			st.raise = second;
		} else if (back_inside(p, first, v) &&
		           !cond_holds(p, second, v)) {
			st.clear = 1;
			st.reason = CLEAR_NORMAL;
			st.raise = fresh_raise(p, s, ts);
		}
		return st;
	}
	if (back_inside(p, second, v)) {
		st.clear = 1;
		if (cond_holds(p, first, v)) {
			st.reason = CLEAR_SUPERSEDED;
			st.raise = first;
		} else {
			st.reason = CLEAR_NORMAL;
			st.raise = fresh_raise(p, s, ts);
		}
	}
	return st;
}

/* --- readings ------------------------------------------------------------- */

/*
 * A reading that is no measurement: quality not good, no (finite) value,
 * or a value outside the instrument's range.
 */
static int
reading_is_fault(const struct alarm_params *p, const struct alarm_reading *r)
{
	if (r->quality != 0 || !r->has_value || !isfinite(r->value))
		return 1;
	if (!isnan(p->range_lo) && r->value < p->range_lo)
		return 1;
	if (!isnan(p->range_hi) && r->value > p->range_hi)
		return 1;
	return 0;
}

/* A faulty reading: the fault is the alarm, threshold clocks stop. */
static void
on_fault(struct alarm_state *s, const struct alarm_reading *r, double v,
    int quiet, struct emit *e)
{
	since_reset(s);
	if (quiet) {
		if (s->suppressed_kind != ALARM_FAULT) {
			emit_suppressed(e, ALARM_FAULT, r->ts_ms, v, NAN);
			s->suppressed_kind = ALARM_FAULT;
		}
		return;
	}
	if (s->thr.kind != ALARM_NONE)
		emit_cleared(e, &s->thr, r->ts_ms, v, CLEAR_FAULT);
	if (s->fault.kind == ALARM_NONE)
		emit_raised(e, &s->fault, ALARM_FAULT, r->ts_ms, v, NAN);
}

/* Carry the furthest value of the open threshold alarm. */
static void
peak_update(struct alarm_open *o, double v)
{
	if (is_high((enum alarm_kind)o->kind) ? v > o->peak : v < o->peak)
		o->peak = v;
}

/* A good in-range reading on a point that may raise alarms. */
static void
on_value_live(const struct alarm_params *p, struct alarm_state *s, double v,
    int64_t ts, struct emit *e)
{
	struct thr_step st;

	if (s->fault.kind != ALARM_NONE)
		emit_cleared(e, &s->fault, ts, v, CLEAR_NORMAL);
	since_update(p, s, v, ts);
	if (s->thr.kind != ALARM_NONE)
		peak_update(&s->thr, v);
	st = thr_decide(p, s, v, ts, (enum alarm_kind)s->thr.kind);
	if (st.clear)
		emit_cleared(e, &s->thr, ts, v, st.reason);
	if (st.raise != ALARM_NONE)
		emit_raised(
		    e, &s->thr, st.raise, ts, v, threshold_of(p, st.raise));
}

/*
 * A good in-range reading on a suppressed point: the same decision on the
 * alarm that would be open, which only suppressed_kind records.
 */
static void
on_value_quiet(const struct alarm_params *p, struct alarm_state *s, double v,
    int64_t ts, struct emit *e)
{
	enum alarm_kind open = (enum alarm_kind)s->suppressed_kind;
	struct thr_step st;

	if (!alarm_kind_is_threshold(open))
		open = ALARM_NONE; /* a fault or offline episode has ended */
	s->suppressed_kind = (uint8_t)open;
	since_update(p, s, v, ts);
	st = thr_decide(p, s, v, ts, open);
	if (st.clear)
		s->suppressed_kind = ALARM_NONE;
	if (st.raise != ALARM_NONE) {
		emit_suppressed(e, st.raise, ts, v, threshold_of(p, st.raise));
		s->suppressed_kind = (uint8_t)st.raise;
	}
}

size_t
alarm_on_reading(const struct alarm_params *p, struct alarm_state *s,
    const struct alarm_reading *r, int suppressed, struct alarm_change *out)
{
	struct emit e = {out, 0};
	int quiet = suppressed || !p->enabled;
	double v = r->has_value ? r->value : NAN;

	if (r->ts_ms <= s->last_ts_ms)
		return 0;
	s->last_ts_ms = r->ts_ms;
	s->last_value = v;
	s->last_quality =
	    r->quality >= 0 && r->quality <= 2 ? (uint8_t)r->quality : 1;

	/* Any reading ends an offline episode, reported or suppressed. */
	if (s->offline.kind != ALARM_NONE)
		emit_cleared(&e, &s->offline, r->ts_ms, v, CLEAR_NORMAL);
	if (s->suppressed_kind == ALARM_OFFLINE || !quiet)
		s->suppressed_kind = ALARM_NONE;

	if (quiet) {
		if (s->thr.kind != ALARM_NONE)
			emit_cleared(
			    &e, &s->thr, r->ts_ms, v, CLEAR_SUPPRESSED);
		if (s->fault.kind != ALARM_NONE)
			emit_cleared(
			    &e, &s->fault, r->ts_ms, v, CLEAR_SUPPRESSED);
	}
	if (reading_is_fault(p, r))
		on_fault(s, r, v, quiet, &e);
	else if (quiet)
		on_value_quiet(p, s, v, r->ts_ms, &e);
	else
		on_value_live(p, s, v, r->ts_ms, &e);
	return e.n;
}

/* --- offline -------------------------------------------------------------- */

size_t
alarm_check_offline(const struct alarm_params *p, struct alarm_state *s,
    int64_t now_ms, int suppressed, struct alarm_change *out)
{
	struct emit e = {out, 0};
	int quiet = suppressed || !p->enabled;
	int64_t base, start;

	if (!quiet && s->suppressed_kind == ALARM_OFFLINE)
		s->suppressed_kind = ALARM_NONE;
	if (p->offline_after_ms <= 0 || s->offline.kind != ALARM_NONE)
		return 0;
	base = s->last_ts_ms > s->seen_ms ? s->last_ts_ms : s->seen_ms;
	/* Unsigned: now and base may lie far apart; now >= base is checked. */
	if (now_ms < base ||
	    (uint64_t)now_ms - (uint64_t)base < (uint64_t)p->offline_after_ms)
		return 0;
	start = base + p->offline_after_ms;

	if (quiet) {
		if (s->suppressed_kind == ALARM_OFFLINE)
			return 0; /* reported once this episode */
		since_reset(s);
		if (s->thr.kind != ALARM_NONE)
			emit_cleared(&e, &s->thr, start, s->last_value,
			    CLEAR_SUPPRESSED);
		if (s->fault.kind != ALARM_NONE)
			emit_cleared(&e, &s->fault, start, s->last_value,
			    CLEAR_SUPPRESSED);
		emit_suppressed(&e, ALARM_OFFLINE, start, s->last_value, NAN);
		s->suppressed_kind = ALARM_OFFLINE;
		return e.n;
	}
	since_reset(s);
	if (s->thr.kind != ALARM_NONE)
		emit_cleared(&e, &s->thr, start, s->last_value, CLEAR_OFFLINE);
	emit_raised(&e, &s->offline, ALARM_OFFLINE, start, s->last_value, NAN);
	return e.n;
}

size_t
alarm_close_all(struct alarm_state *s, int64_t at_ms,
    enum alarm_clear_reason reason, struct alarm_change *out)
{
	struct emit e = {out, 0};

	if (s->thr.kind != ALARM_NONE)
		emit_cleared(&e, &s->thr, at_ms, s->last_value, reason);
	if (s->fault.kind != ALARM_NONE)
		emit_cleared(&e, &s->fault, at_ms, s->last_value, reason);
	if (s->offline.kind != ALARM_NONE) {
		emit_cleared(&e, &s->offline, at_ms, s->last_value, reason);
		/*
		 * Measure a later silence from here: from the old base the
		 * next offline alarm would get the closed one's start, and so
		 * its id.
		 */
		if (s->seen_ms < at_ms)
			s->seen_ms = at_ms;
	}
	return e.n;
}

int
alarm_id(char *buf, size_t size, const char *point, int64_t start_ms,
    enum alarm_kind kind)
{
	int n;

	if (buf == NULL || size == 0 || point == NULL)
		return -1;
	n = snprintf(buf, size, "%s:%lld:%s", point, (long long)start_ms,
	    alarm_kind_name(kind));
	if (n < 0 || (size_t)n >= size) {
		buf[0] = '\0';
		return -1;
	}
	return n;
}

int
alarm_id_parse(const char *id, char *point, size_t psize, int64_t *start_ms,
    enum alarm_kind *kind)
{
	const char *k, *s;
	char *end;
	size_t n;

	if (id == NULL || point == NULL || psize == 0 ||
	    (k = strrchr(id, ':')) == NULL || k == id)
		return -1;
	for (s = k - 1; s > id && *s != ':'; s--)
		;
	if (s == id || s + 1 == k || alarm_kind_parse(k + 1, kind) < 0 ||
	    *kind == ALARM_NONE)
		return -1;
	*start_ms = strtoll(s + 1, &end, 10);
	if (end != k || *start_ms <= 0 || s[1] == '+' || s[1] == '-' ||
	    s[1] == ' ')
		return -1;
	n = (size_t)(s - id);
	if (n >= psize)
		return -1;
	memcpy(point, id, n);
	point[n] = '\0';
	return 0;
}

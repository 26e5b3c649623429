/*
 * alarm - the alarm state machine of one monitoring point (DOMAIN.md 3.1).
 *
 * Pure logic over plain structs: no store, no bus, no clock of its own.
 * riskd keeps one struct alarm_state per registered point and calls
 * alarm_on_reading() for each reading of it, in the order they come, and
 * alarm_check_offline() from a timer with the wall clock; both append the
 * alarm changes they cause to an array the caller provides.  The caller
 * makes those changes durable and publishes them (al.raised, al.cleared).
 *
 * The parameters of a point (struct alarm_params) are its registry row
 * with the configured defaults applied by alarm_params_resolve(): gas
 * defaults when a point gives no thresholds (only when its unit is the
 * default's unit: values are compared only in the point's own unit), a
 * deadband of a share of the range, delay 0, offline after 3 x the
 * expected interval.
 *
 * The rules, in order, for a reading at ts:
 *   - a reading not newer than the last one is stale: no effect;
 *   - an open offline alarm clears at ts;
 *   - quality bad or maintenance, or a value outside range_lo..range_hi,
 *     is a fault: a fault alarm is raised at once and any threshold alarm
 *     clears (the fault is the alarm); a good in-range reading clears it;
 *   - otherwise the value is compared with the thresholds: high side
 *     value >= h (HH: >= hh), low side value <= l (LL: <= ll); a level is
 *     raised once its condition has held continuously for delay (measured
 *     in reading time from the first reading that met it); HH supersedes
 *     H (H clears with reason "superseded" when HH is raised); an open
 *     alarm clears when the value is back inside by the deadband
 *     (high: value <= threshold - deadband, low: value >= threshold +
 *     deadband); from HH back under hh - deadband but still >= h, HH
 *     clears and H is raised at once (its condition has held all along);
 *   - a disabled or suppressed point (maintenance window) raises nothing:
 *     what would have been raised is reported once per episode as
 *     ALARM_SUPPRESSED, and open alarms clear with reason "suppressed".
 *
 * Alarm ids are deterministic: alarm_id() makes "<point>:<start_ms>:<kind>",
 * so replaying the same readings can never raise the same alarm twice.
 *
 * Within one call the clears come before the raises (H cleared, then HH
 * raised), all at the same at_ms.  A reading without a finite value, or
 * with a quality other than 0, 1, 2, is a fault too.  The condition clocks
 * (since_*) keep running on a suppressed point, so a condition that held
 * through a maintenance window raises at once at the first reading after
 * it; a fault or an offline episode stops them.
 */
#ifndef ANQUAN_RISKD_ALARM_H
#define ANQUAN_RISKD_ALARM_H

#include <stddef.h>
#include <stdint.h>

enum alarm_kind {
	ALARM_NONE = 0,
	ALARM_H,
	ALARM_HH,
	ALARM_L,
	ALARM_LL,
	ALARM_OFFLINE,
	ALARM_FAULT,
};

#define ALARM_KIND_COUNT 7

/* "H", "HH", "L", "LL", "offline", "fault" ("none" for ALARM_NONE). */
const char *alarm_kind_name(enum alarm_kind k);
/* Parse one of those names; 0 or -1. */
int alarm_kind_parse(const char *s, enum alarm_kind *out);
/* 1 for H, HH, L, LL. */
int alarm_kind_is_threshold(enum alarm_kind k);
/* 1 for HH and LL. */
int alarm_kind_is_second(enum alarm_kind k);

/* Point kinds of DOMAIN.md section 2 (point.upsert kind). */
enum point_kind {
	POINT_LEVEL = 0,
	POINT_TEMPERATURE,
	POINT_PRESSURE,
	POINT_FLOW,
	POINT_GAS_COMBUSTIBLE,
	POINT_GAS_TOXIC,
	POINT_OXYGEN,
	POINT_METHANE,
	POINT_SMOKE,
	POINT_ELEVATOR,
	POINT_OTHER,
};

#define POINT_KIND_COUNT 11

/* Parse a point kind word ("gas_combustible"); 0 or -1. */
int point_kind_parse(const char *s, enum point_kind *out);
const char *point_kind_name(enum point_kind k);

/* A point as registered: NAN for a parameter not given. */
struct alarm_point_def {
	enum point_kind kind;
	char unit[24];
	double ll, l, h, hh;
	double range_lo, range_hi;
	double deadband;        /* NAN: default */
	int64_t delay_s;        /* -1: default */
	int64_t expected_interval_s; /* -1: default */
	int enabled;
};

/*
 * The configured defaults.  A gas default applies to a point of that kind
 * that gives none of ll, l, h, hh, and only when the point's unit equals
 * the default's unit (compared ignoring case and spaces, so "%LEL",
 * "%lel" and "% LEL" are one unit).  NAN leaves a threshold absent.
 */
struct alarm_gas_default {
	enum point_kind kind;
	char unit[24];
	double ll, l, h, hh;
};

#define ALARM_GAS_DEFAULTS_MAX 8

struct alarm_defaults {
	double deadband_share;       /* of range_hi - range_lo [0.02] */
	int64_t delay_ms;            /* [0] */
	int64_t expected_interval_ms; /* [60000] */
	double offline_factor;       /* offline after factor x interval [3] */
	size_t ngas;
	struct alarm_gas_default gas[ALARM_GAS_DEFAULTS_MAX];
};

/*
 * Fill *d with DOMAIN.md 3.1's defaults: combustible gas %LEL H 25 HH 50;
 * oxygen %VOL L 19.5 H 23.5; methane % H 1.0 HH 1.5; toxic gas %OEL H 100
 * HH 200; deadband 2 %, delay 0, interval 60 s, factor 3.
 */
void alarm_defaults_init(struct alarm_defaults *d);

/*
 * Parse a gas default table "kind:unit:ll:l:h:hh,..." (empty fields for
 * absent thresholds, e.g. "gas_combustible:%LEL:::25:50") into d->gas.
 * 0, or -1 with why filled (naming the entry) and d untouched.  An entry
 * gives at least one threshold, in strictly rising order ll < l < h < hh;
 * a kind appears once; an empty table is refused.
 */
int alarm_gas_defaults_parse(
    const char *spec, struct alarm_defaults *d, char *why, size_t wlen);

/* A point's effective parameters (thresholds NAN when absent). */
struct alarm_params {
	double ll, l, h, hh;
	double range_lo, range_hi;
	double deadband;          /* absolute, in the point's unit */
	int64_t delay_ms;
	int64_t offline_after_ms; /* factor x expected interval */
	uint8_t enabled;
	uint8_t defaulted;        /* thresholds came from a gas default */
	uint8_t no_thresholds;    /* none given and no default applies */
};

/*
 * Apply the defaults to def.  When a gas default exists for the kind but
 * its unit differs from the point's, the thresholds stay absent,
 * no_thresholds is set and note says why (the unit mismatch is refused,
 * never converted).  The deadband default is deadband_share of the range;
 * without a range, of the largest absolute threshold.  note may be NULL.
 * An expected interval of 0 is taken as not given; offline_after_ms 0
 * (a factor of 0) turns offline detection off.
 */
void alarm_params_resolve(const struct alarm_point_def *def,
    const struct alarm_defaults *d, struct alarm_params *out, char *note,
    size_t nlen);

/* An alarm that is open on a point. */
struct alarm_open {
	uint8_t kind;     /* enum alarm_kind; ALARM_NONE when none */
	int64_t start_ms;
	double value;     /* at the start */
	double threshold; /* NAN for offline and fault */
	double peak;      /* furthest value since the start */
};

/* Everything riskd remembers of one point between readings. */
struct alarm_state {
	int64_t last_ts_ms; /* newest reading (0: none yet) */
	int64_t seen_ms;    /* offline is measured from max(last, seen) */
	double last_value;  /* NAN when the last reading had none */
	uint8_t last_quality; /* 0 good, 1 bad, 2 maintenance */
	uint8_t suppressed_kind; /* what was reported suppressed this episode */
	/* When each condition began to hold, in reading time (0: not now). */
	int64_t since_h, since_hh, since_l, since_ll;
	struct alarm_open thr;     /* H, HH, L or LL */
	struct alarm_open fault;
	struct alarm_open offline;
};

/* Start a point's state: nothing seen, seen_ms = now_ms. */
void alarm_state_init(struct alarm_state *s, int64_t now_ms);

enum alarm_change_what {
	ALARM_RAISED = 1,
	ALARM_CLEARED,
	ALARM_SUPPRESSED, /* would have been raised; recorded, not raised */
};

enum alarm_clear_reason {
	CLEAR_NONE = 0,
	CLEAR_NORMAL,     /* back inside by the deadband / reading again */
	CLEAR_SUPERSEDED, /* H replaced by HH, or HH stepped down to H */
	CLEAR_FAULT,      /* a fault took over */
	CLEAR_OFFLINE,    /* the point went offline */
	CLEAR_SUPPRESSED, /* disabled or in a maintenance window */
};

const char *alarm_clear_reason_name(enum alarm_clear_reason r);

struct alarm_change {
	enum alarm_change_what what;
	enum alarm_kind kind;
	enum alarm_clear_reason reason; /* CLEARED only */
	int64_t start_ms;    /* the alarm's start (its id) */
	int64_t at_ms;       /* when raised, cleared or suppressed */
	double value;        /* the value then (NAN when none) */
	double threshold;    /* NAN for offline and fault */
	double peak;         /* furthest value while open */
	int64_t duration_ms; /* CLEARED: at - start */
};

/* At most this many changes come of one call. */
#define ALARM_CHANGES_MAX 6

/* One reading as riskd sees it. */
struct alarm_reading {
	int64_t ts_ms;
	double value; /* NAN when has_value is 0 */
	int has_value;
	int quality; /* 0 good, 1 bad, 2 maintenance */
};

/*
 * Evaluate one reading.  suppressed is 1 when a maintenance window covers
 * the point at the reading's time (disabled points are p->enabled == 0).
 * Appends to out (room for ALARM_CHANGES_MAX); returns how many.
 */
size_t alarm_on_reading(const struct alarm_params *p, struct alarm_state *s,
    const struct alarm_reading *r, int suppressed, struct alarm_change *out);

/*
 * The offline check at wall-clock now_ms: raise offline (start = the last
 * reading or seen_ms, plus offline_after) once no reading came for
 * offline_after; open threshold alarms clear with reason offline.  A
 * disabled or suppressed point reports ALARM_SUPPRESSED instead.
 * Returns how many changes were appended.
 */
size_t alarm_check_offline(const struct alarm_params *p, struct alarm_state *s,
    int64_t now_ms, int suppressed, struct alarm_change *out);

/*
 * Close every open alarm of the point at at_ms with reason (a point
 * disabled, or a maintenance window beginning).  Returns how many.  When
 * it closes an offline alarm, seen_ms moves to at_ms, so that a silence
 * that goes on is a new offline episode with a new start (and id).
 */
size_t alarm_close_all(struct alarm_state *s, int64_t at_ms,
    enum alarm_clear_reason reason, struct alarm_change *out);

/*
 * The alarm's id "<point>:<start_ms>:<kind>" into buf; returns its length
 * or -1 when it does not fit.
 */
int alarm_id(char *buf, size_t size, const char *point, int64_t start_ms,
    enum alarm_kind kind);
/*
 * Read an id alarm_id() made back into its point (into point, psize
 * bytes; the code may hold ':'), start and kind; 0, or -1 when it is not
 * one (or the point does not fit).
 */
int alarm_id_parse(const char *id, char *point, size_t psize,
    int64_t *start_ms, enum alarm_kind *kind);

#endif

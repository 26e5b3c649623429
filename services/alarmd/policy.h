/*
 * policy - the rules of alert handling (DOMAIN.md section 6), pure.
 *
 * alarmd turns riskd's alarms and warnings into incidents and decides,
 * from configuration, what each one is worth and what happens when nobody
 * answers.  Everything here is plain functions over plain structs (no
 * store, no clock, no I/O), so every rule is unit-tested at its bounds:
 *   - an alarm's incident cause and level (a table "HH:orange,...");
 *   - the escalation ladder: which tier a level starts at, the deadline
 *     to acknowledge at each level, what happens when it passes;
 *   - the incident life cycle: firing -> acknowledged -> resolved, with a
 *     note required for orange and red, and which transitions are refused;
 *   - noise: inhibition (a red incident mutes the enterprise's lower
 *     ones), silences (matchers with author, reason, expiry), flapping
 *     (a point raising too often in a window).
 */
#ifndef ANQUAN_ALARMD_POLICY_H
#define ANQUAN_ALARMD_POLICY_H

#include <stddef.h>
#include <stdint.h>

enum al_level {
	AL_BLUE = 0,
	AL_YELLOW,
	AL_ORANGE,
	AL_RED,
};

#define AL_LEVELS 4

/* "blue", "yellow", "orange", "red". */
const char *al_level_name(enum al_level l);
/* 蓝色, 黄色, 橙色, 红色. */
const char *al_level_zh(enum al_level l);
/* Parse a level word; 0 or -1. */
int al_level_parse(const char *s, enum al_level *out);

/* --- alarms into incidents ---------------------------------------------- */

#define AL_KIND_LEVELS_MAX 8

/*
 * Which level an alarm of each kind is worth: "HH:orange,LL:orange,
 * H:yellow,L:yellow,offline:blue,fault:blue" (kinds of riskd's alarms).
 */
struct al_kind_levels {
	size_t n;
	struct {
		char kind[16];
		enum al_level level;
	} entry[AL_KIND_LEVELS_MAX];
};

#define AL_KIND_LEVELS_DEFAULT \
	"HH:orange,LL:orange,H:yellow,L:yellow,offline:blue,fault:blue"

/* Parse a table; 0 or -1 with why naming the entry. */
int al_kind_levels_parse(
    const char *spec, struct al_kind_levels *out, char *why, size_t wlen);
/* The level of kind; 0 with *out set, -1 for a kind not in the table. */
int al_kind_level(
    const struct al_kind_levels *t, const char *kind, enum al_level *out);

/*
 * The incident cause of an alarm kind: "alarm" for H, HH, L, LL and
 * "device" for offline and fault; NULL for an unknown kind.
 */
const char *al_alarm_cause(const char *kind);

/* --- the ladder --------------------------------------------------------- */

/*
 * Tiers of recipients (route.h fills them): 0 the territorial district's
 * duty officers; 1 plus the sector department's duty officers; 2 plus the
 * city office's duty leader; 3 plus the territorial and sector duty
 * leaders.  A yellow incident starts at tier 0, orange at 1, red at 2
 * (DOMAIN.md 6); blue at 0 with no deadline (information only).
 */
#define AL_TIER_MAX 3

struct al_policy {
	int64_t ack_within_ms[AL_LEVELS];     /* 0: no deadline (blue) */
	int64_t resolve_within_ms[AL_LEVELS]; /* reminder after ack; 0 none */
	int64_t repeat_ms;   /* at the top tier, notify again this often */
	int64_t group_wait_ms;
	int note_required[AL_LEVELS];   /* resolve needs a note */
	int auto_resolve[AL_LEVELS];    /* resolve itself once cleared */
	int inhibit;                    /* a red incident mutes lower ones */
	int64_t flap_window_ms;         /* a point raising flap_count times */
	int flap_count;                 /* in the window is flapping */
};

/* DOMAIN.md 6 defaults: ack red 5 min, orange 15, yellow 60, blue none;
 * resolve reminder red 60 min, orange 4 h, yellow 24 h; repeat 15 min;
 * group wait 2 s; note for orange and red; auto-resolve blue and yellow;
 * inhibit on; flapping 5 raises in 10 min. */
void al_policy_init(struct al_policy *p);

/* The tier an incident of level l starts at. */
int al_start_tier(enum al_level l);

/* What a due step does (incidents.next_step). */
enum al_step {
	AL_STEP_NONE = 0,
	AL_STEP_NOTIFY,   /* the group wait is over: first notice */
	AL_STEP_ESCALATE, /* not acknowledged in time */
	AL_STEP_REMIND,   /* acknowledged, not resolved in time */
	AL_STEP_RESOLVE,  /* cleared and auto-resolving */
};

const char *al_step_name(enum al_step s);
int al_step_parse(const char *s, enum al_step *out);

/* The state a plan works from: what the incident is now. */
struct al_inc_view {
	enum al_level level;
	int status;      /* AL_FIRING, AL_ACKED, AL_RESOLVED */
	int tier;
	int notified;    /* a first notice went out */
	int cleared;     /* every alarm of it is over */
	int64_t opened_ms, notified_ms, acked_ms, cleared_ms;
	int64_t last_step_ms; /* when the last escalate/remind ran */
};

enum { AL_FIRING = 0, AL_ACKED, AL_RESOLVED };

/* The next step and its time for an incident as it is now; AL_STEP_NONE
 * (and *at_ms 0) when nothing is due any more. */
enum al_step al_next_step(const struct al_policy *p,
    const struct al_inc_view *v, int64_t *at_ms);

/* The tier after an escalation from tier (capped at AL_TIER_MAX). */
int al_escalate_tier(int tier);

/*
 * May an officer move the incident to status to (AL_ACKED or
 * AL_RESOLVED) with note?  0, or -1 with why (in Chinese for the console:
 * "已办结的事件不能再签收", "橙色及以上事件办结须填写处置说明").
 * Acknowledging an acknowledged incident is refused; resolving a firing
 * one is allowed (it acknowledges it too).
 */
int al_transition_check(const struct al_policy *p,
    const struct al_inc_view *v, int to, const char *note, char *why,
    size_t wlen);

/* --- noise ------------------------------------------------------------- */

/* What a silence or an inhibition is matched against. */
struct al_subject {
	const char *uscc;     /* NULL for none */
	const char *district;
	const char *point;    /* NULL unless the incident has one point */
	const char *cause;
	enum al_level level;
};

#define AL_MATCHERS 5

/* A silence's matchers: NULL/absent fields match anything; level matches
 * that level and below. */
struct al_silence {
	int64_t id;
	const char *uscc, *district, *point, *cause;
	int has_level;
	enum al_level level;
	int64_t starts_ms, ends_ms;
};

/* 1 when the silence is in force at now_ms and matches s. */
int al_silence_matches(const struct al_silence *sil,
    const struct al_subject *s, int64_t now_ms);

/*
 * 1 when an incident of level `level` of an enterprise is muted by one of
 * that enterprise's open incidents (their levels in open[]): inhibition
 * mutes what is below a red one (policy inhibit on).
 */
int al_inhibited(const struct al_policy *p, enum al_level level,
    const enum al_level *open, size_t nopen);

/*
 * Flapping: times[] are the starts of a point's alarms, oldest first.  1
 * when at least flap_count fall within flap_window of now_ms.
 */
int al_flapping(const struct al_policy *p, const int64_t *times, size_t n,
    int64_t now_ms);

#endif

/*
 * policy - the rules of alert handling: levels, the kind table, the
 * escalation ladder, the incident life cycle and the noise rules.
 *
 * core.c asks these functions what an incident is worth, what its next
 * step is and when, whether an officer's action is allowed, and whether a
 * notice is held back (silence, inhibition, flapping); main.c parses the
 * kind table of [alarmd] here.  Nothing here reads a clock, the store or
 * the network: every function works on the structs it is given, which the
 * caller owns, so each rule is tested at its bounds without a daemon.
 * Reasons meant for duty officers (the life cycle) are Chinese; reasons
 * meant for operators (configuration) are English and name the entry.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* How much of a bad entry a reason quotes: the precision for "%.*s". */
#define QUOTE_MAX 60
#define Q(len) (int)((len) < QUOTE_MAX ? (len) : QUOTE_MAX)

#define MIN_MS INT64_C(60000)
#define HOUR_MS (60 * MIN_MS)

static const char *const level_words[AL_LEVELS] = {
    "blue", "yellow", "orange", "red"};
static const char *const level_words_zh[AL_LEVELS] = {
    "蓝色", "黄色", "橙色", "红色"};
static const char *const step_words[] = {
    "none", "notify", "escalate", "remind", "resolve"};

#define STEPS (sizeof(step_words) / sizeof(step_words[0]))

static int policy_refuse(char *why, size_t wlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
policy_refuse(char *why, size_t wlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (why != NULL && wlen > 0)
		vsnprintf(why, wlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
is_level(int l)
{
	return l >= 0 && l < AL_LEVELS;
}

const char *
al_level_name(enum al_level l)
{
	return is_level((int)l) ? level_words[l] : "";
}

const char *
al_level_zh(enum al_level l)
{
	return is_level((int)l) ? level_words_zh[l] : "";
}

/* A level word of exactly len bytes at s. */
static int
level_parse_len(const char *s, size_t len, enum al_level *out)
{
	int i;

	for (i = 0; i < AL_LEVELS; i++) {
		if (strlen(level_words[i]) == len &&
		    memcmp(s, level_words[i], len) == 0) {
			*out = (enum al_level)i;
			return 0;
		}
	}
	return -1;
}

int
al_level_parse(const char *s, enum al_level *out)
{
	if (s == NULL)
		return -1;
	return level_parse_len(s, strlen(s), out);
}

/* --- alarms into incidents ---------------------------------------------- */

/* The alarm kinds of riskd (services/riskd/alarm.h) and their causes. */
static const struct {
	const char *kind, *cause;
} alarm_kinds[] = {
    {"H", "alarm"},
    {"HH", "alarm"},
    {"L", "alarm"},
    {"LL", "alarm"},
    {"offline", "device"},
    {"fault", "device"},
};

#define ALARM_KINDS (sizeof(alarm_kinds) / sizeof(alarm_kinds[0]))

/* A table lists each kind at most once, so every table fits. */
_Static_assert(ALARM_KINDS <= AL_KIND_LEVELS_MAX,
    "AL_KIND_LEVELS_MAX must hold every alarm kind");

const char *
al_alarm_cause(const char *kind)
{
	size_t i;

	if (kind == NULL)
		return NULL;
	for (i = 0; i < ALARM_KINDS; i++) {
		if (strcmp(kind, alarm_kinds[i].kind) == 0)
			return alarm_kinds[i].cause;
	}
	return NULL;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The next comma-separated entry of a spec, trimmed of spaces and tabs
 * (possibly empty): 1, or 0 when the spec is used up.  *cursor starts at
 * the spec and becomes NULL after the last entry.
 */
static int
spec_next(const char **cursor, const char **entry, size_t *len)
{
	const char *p = *cursor, *end;

	if (p == NULL)
		return 0;
	end = strchr(p, ',');
	if (end == NULL) {
		end = p + strlen(p);
		*cursor = NULL;
	} else {
		*cursor = end + 1;
	}
	while (p < end && is_space(*p))
		p++;
	while (end > p && is_space(end[-1]))
		end--;
	*entry = p;
	*len = (size_t)(end - p);
	return 1;
}

static int
spec_blank(const char *spec)
{
	if (spec == NULL)
		return 1;
	while (is_space(*spec))
		spec++;
	return *spec == '\0';
}

/* One "KIND:level" entry (n counts from 1) into kind and *level. */
static int
kind_entry(const char *e, size_t len, size_t n, char *kind, size_t ksize,
    enum al_level *level, char *why, size_t wlen)
{
	const char *colon = memchr(e, ':', len), *k, *kend, *l, *lend;

	if (colon == NULL)
		return policy_refuse(why, wlen,
		    "kind entry %zu \"%.*s\": expected \"KIND:level\", such "
		    "as \"HH:orange\"",
		    n, Q(len), e);
	k = e;
	kend = colon;
	while (kend > k && is_space(kend[-1]))
		kend--;
	l = colon + 1;
	lend = e + len;
	while (l < lend && is_space(*l))
		l++;
	if (kend == k)
		return policy_refuse(why, wlen,
		    "kind entry %zu \"%.*s\": the kind before \":\" is empty",
		    n, Q(len), e);
	if ((size_t)(kend - k) >= ksize) {
		return policy_refuse(why, wlen,
		    "kind entry %zu \"%.*s\": \"%.*s\" is not an alarm kind "
		    "(H, HH, L, LL, offline, fault)",
		    n, Q(len), e, Q((size_t)(kend - k)), k);
	}
	memcpy(kind, k, (size_t)(kend - k));
	kind[kend - k] = '\0';
	if (al_alarm_cause(kind) == NULL)
		return policy_refuse(why, wlen,
		    "kind entry %zu \"%.*s\": \"%s\" is not an alarm kind "
		    "(H, HH, L, LL, offline, fault)",
		    n, Q(len), e, kind);
	if (level_parse_len(l, (size_t)(lend - l), level) != 0)
		return policy_refuse(why, wlen,
		    "kind entry %zu \"%.*s\": \"%.*s\" is not a level "
		    "(blue, yellow, orange, red)",
		    n, Q(len), e, Q((size_t)(lend - l)), l);
	return 0;
}

int
al_kind_levels_parse(
    const char *spec, struct al_kind_levels *out, char *why, size_t wlen)
{
	struct al_kind_levels t;
	const char *cur = spec, *e;
	char kind[sizeof(t.entry[0].kind)];
	enum al_level level = AL_BLUE;
	size_t len, n = 0, i;

	if (spec_blank(spec))
		return policy_refuse(why, wlen,
		    "empty kind level table: give entries such as \"%s\"",
		    AL_KIND_LEVELS_DEFAULT);
	memset(&t, 0, sizeof(t));
	while (spec_next(&cur, &e, &len)) {
		n++;
		if (len == 0)
			return policy_refuse(
			    why, wlen, "kind entry %zu is empty", n);
		if (kind_entry(
		        e, len, n, kind, sizeof(kind), &level, why, wlen) != 0)
			return -1;
		for (i = 0; i < t.n; i++) {
			if (strcmp(t.entry[i].kind, kind) == 0)
				return policy_refuse(why, wlen,
				    "kind entry %zu \"%.*s\": kind %s is "
				    "already given",
				    n, Q(len), e, kind);
		}
		memcpy(t.entry[t.n].kind, kind, sizeof(kind));
		t.entry[t.n].level = level;
		t.n++;
	}
	*out = t;
	return 0;
}

int
al_kind_level(
    const struct al_kind_levels *t, const char *kind, enum al_level *out)
{
	size_t i;

	if (kind == NULL)
		return -1;
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->entry[i].kind, kind) == 0) {
			*out = t->entry[i].level;
			return 0;
		}
	}
	return -1;
}

/* --- the ladder --------------------------------------------------------- */

void
al_policy_init(struct al_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->ack_within_ms[AL_BLUE] = 0;
	p->ack_within_ms[AL_YELLOW] = 60 * MIN_MS;
	p->ack_within_ms[AL_ORANGE] = 15 * MIN_MS;
	p->ack_within_ms[AL_RED] = 5 * MIN_MS;
	p->resolve_within_ms[AL_BLUE] = 0;
	p->resolve_within_ms[AL_YELLOW] = 24 * HOUR_MS;
	p->resolve_within_ms[AL_ORANGE] = 4 * HOUR_MS;
	p->resolve_within_ms[AL_RED] = 60 * MIN_MS;
	p->repeat_ms = 15 * MIN_MS;
	p->group_wait_ms = 2000;
	p->note_required[AL_ORANGE] = 1;
	p->note_required[AL_RED] = 1;
	p->auto_resolve[AL_BLUE] = 1;
	p->auto_resolve[AL_YELLOW] = 1;
	p->inhibit = 1;
	p->flap_window_ms = 10 * MIN_MS;
	p->flap_count = 5;
}

int
al_start_tier(enum al_level l)
{
	switch (l) {
	case AL_RED:
		return 2;
	case AL_ORANGE:
		return 1;
	case AL_YELLOW:
	case AL_BLUE:
		break;
	}
	return 0;
}

int
al_escalate_tier(int tier)
{
	if (tier < 0)
		return 1;
	return tier >= AL_TIER_MAX ? AL_TIER_MAX : tier + 1;
}

const char *
al_step_name(enum al_step s)
{
	return (int)s >= 0 && (size_t)s < STEPS ? step_words[s] : "";
}

int
al_step_parse(const char *s, enum al_step *out)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < STEPS; i++) {
		if (strcmp(s, step_words[i]) == 0) {
			*out = (enum al_step)i;
			return 0;
		}
	}
	return -1;
}

static int64_t
later(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static enum al_step
step_at(enum al_step s, int64_t when, int64_t *at_ms)
{
	if (at_ms != NULL)
		*at_ms = s == AL_STEP_NONE ? 0 : when;
	return s;
}

/*
 * The base of a repeating step is the later of the event that started the
 * wait (notice, acknowledgement) and the last escalate/remind: a step
 * that ran before an acknowledgement does not shorten the reminder's wait,
 * whether or not the caller cleared last_step_ms when the officer acted.
 */
enum al_step
al_next_step(
    const struct al_policy *p, const struct al_inc_view *v, int64_t *at_ms)
{
	int64_t wait;

	/* Resolved (or a value no row holds): nothing more to do. */
	if (!is_level((int)v->level) ||
	    (v->status != AL_FIRING && v->status != AL_ACKED))
		return step_at(AL_STEP_NONE, 0, at_ms);
	/* A cleared incident that resolves itself needs nobody any more:
	 * resolving comes before any notice, escalation or reminder (so an
	 * alarm that came and went within the group wait is never sent). */
	if (v->cleared && p->auto_resolve[v->level])
		return step_at(AL_STEP_RESOLVE, v->cleared_ms, at_ms);
	if (v->status == AL_ACKED) {
		wait = p->resolve_within_ms[v->level];
		if (wait <= 0)
			return step_at(AL_STEP_NONE, 0, at_ms);
		return step_at(AL_STEP_REMIND,
		    later(v->last_step_ms, v->acked_ms) + wait, at_ms);
	}
	if (!v->notified)
		return step_at(AL_STEP_NOTIFY,
		    v->opened_ms +
		        (p->group_wait_ms > 0 ? p->group_wait_ms : 0),
		    at_ms);
	/* A level with no deadline (blue) is information only. */
	if (p->ack_within_ms[v->level] <= 0)
		return step_at(AL_STEP_NONE, 0, at_ms);
	/* Below the top tier a missed deadline climbs one tier; at the top
	 * there is nobody further, so the core notifies again every repeat. */
	wait =
	    v->tier >= AL_TIER_MAX ? p->repeat_ms : p->ack_within_ms[v->level];
	if (wait <= 0)
		return step_at(AL_STEP_NONE, 0, at_ms);
	return step_at(AL_STEP_ESCALATE,
	    later(v->last_step_ms, v->notified_ms) + wait, at_ms);
}

/* 1 when note has something besides spaces (ASCII white space and the
 * ideographic space U+3000 that Chinese input methods type). */
static int
note_given(const char *note)
{
	const unsigned char *s = (const unsigned char *)note;

	if (s == NULL)
		return 0;
	while (*s != '\0') {
		if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
			s++;
		else if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
			s += 3;
		else
			return 1;
	}
	return 0;
}

int
al_transition_check(const struct al_policy *p, const struct al_inc_view *v,
    int to, const char *note, char *why, size_t wlen)
{
	if (to != AL_ACKED && to != AL_RESOLVED)
		return policy_refuse(why, wlen, "只能签收或办结事件");
	if (v->status == AL_RESOLVED)
		return policy_refuse(why, wlen,
		    to == AL_ACKED ? "事件已办结，不能再签收"
		                   : "事件已办结，不能再次办结");
	if (v->status != AL_FIRING && v->status != AL_ACKED)
		return policy_refuse(why, wlen, "事件状态异常，不能处理");
	if (to == AL_ACKED) {
		if (v->status == AL_ACKED)
			return policy_refuse(
			    why, wlen, "事件已签收，不能重复签收");
		return 0;
	}
	if (is_level((int)v->level) && p->note_required[v->level] &&
	    !note_given(note))
		return policy_refuse(why, wlen, "%s事件办结须填写处置说明",
		    al_level_zh(v->level));
	return 0;
}

/* --- noise ------------------------------------------------------------- */

/* A string matcher: absent (NULL) matches anything; otherwise the subject
 * must have the field, equal. */
static int
field_matches(const char *matcher, const char *value)
{
	if (matcher == NULL)
		return 1;
	return value != NULL && strcmp(matcher, value) == 0;
}

int
al_silence_matches(
    const struct al_silence *sil, const struct al_subject *s, int64_t now_ms)
{
	if (now_ms < sil->starts_ms || now_ms >= sil->ends_ms)
		return 0;
	if (sil->has_level && s->level > sil->level)
		return 0;
	return field_matches(sil->uscc, s->uscc) &&
	       field_matches(sil->district, s->district) &&
	       field_matches(sil->point, s->point) &&
	       field_matches(sil->cause, s->cause);
}

int
al_inhibited(const struct al_policy *p, enum al_level level,
    const enum al_level *open, size_t nopen)
{
	size_t i;

	if (!p->inhibit || level >= AL_RED)
		return 0;
	for (i = 0; i < nopen; i++) {
		if (open[i] == AL_RED)
			return 1;
	}
	return 0;
}

int
al_flapping(
    const struct al_policy *p, const int64_t *times, size_t n, int64_t now_ms)
{
	size_t i, in_window = 0;

	/* A zero count or window is flapping detection turned off. */
	if (p->flap_count <= 0 || p->flap_window_ms <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (times[i] > now_ms - p->flap_window_ms && times[i] <= now_ms)
			in_window++;
	}
	return in_window >= (size_t)p->flap_count;
}

/*
 * warning - the evaluation of the early-warning rule table of a major
 * hazard source (DOMAIN.md 3.4).
 *
 * riskd parses the table once from anquan.conf (warn_rules_parse, in
 * warning_parse.c) and, for each source, gathers the facts into struct
 * warn_facts and calls warn_evaluate() when a fact changes and again at
 * next_check_ms.  The facts are borrowed; the result is plain data the
 * caller owns.  Nothing here allocates, reads a clock or keeps state
 * between calls, so the same facts always give the same warning, word for
 * word.
 *
 * The reason texts are for the duty officer: Chinese, naming the points,
 * alarm kinds, durations, counts and operations that matched.  They are
 * built with a small appending writer that never cuts a UTF-8 sequence in
 * half when a long point list does not fit.
 */
#include "warning.h"
#include "warning_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- texts ------------------------------------------------------------ */

/* An appending writer into a fixed buffer; a cut never splits UTF-8, and
 * after a cut nothing more is added (no words after half a list). */
struct text {
	char *s;
	size_t size;
	size_t len;
	int full;
};

static void
text_init(struct text *t, char *buf, size_t size)
{
	t->s = buf;
	t->size = size;
	t->len = 0;
	t->full = 0;
	buf[0] = '\0';
}

/* Drop a trailing incomplete UTF-8 sequence from t. */
static void
text_trim_utf8(struct text *t)
{
	size_t i = t->len, need;
	unsigned char c;

	/* Back over at most three continuation bytes to the lead byte. */
	while (i > 0 && t->len - i < 3 &&
	       ((unsigned char)t->s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)t->s[i - 1];
	if (c < 0xC0)
		return; /* ASCII, or not UTF-8 at all: nothing to mend */
	need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
	if (t->len - (i - 1) < need) {
		t->len = i - 1;
		t->s[t->len] = '\0';
	}
}

static void text_add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full || t->len + 1 >= t->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->s + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->s[t->len] = '\0';
		return;
	}
	if ((size_t)n >= t->size - t->len) {
		t->len = t->size - 1;
		t->full = 1;
		text_trim_utf8(t);
	} else {
		t->len += (size_t)n;
	}
}

/* Room for about n more bytes (to end a list with "等" rather than cut). */
static int
text_room(const struct text *t, size_t n)
{
	return t->len + n < t->size;
}

static const char *
str_or(const char *s, const char *dflt)
{
	return s != NULL && s[0] != '\0' ? s : dflt;
}

/* The largest unit that divides ms exactly, to print a rule's duration;
 * days only past two of them, as "24 小时" is how a window is said. */
static int64_t
dur_unit(int64_t ms)
{
	static const int64_t units[] = {MS_HOUR, MS_MINUTE, MS_SECOND};

	if (ms % MS_DAY == 0 && ms > 2 * MS_DAY)
		return MS_DAY;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms % units[i] == 0)
			return units[i];
	return 1;
}

static const char *
unit_zh(int64_t unit)
{
	switch (unit) {
	case MS_DAY:
		return "天";
	case MS_HOUR:
		return "小时";
	case MS_MINUTE:
		return "分钟";
	case MS_SECOND:
		return "秒";
	}
	return "毫秒";
}

/* ms in unit (rounded down) as "12 分钟". */
static void
text_dur(struct text *t, int64_t ms, int64_t unit)
{
	text_add(t, "%" PRId64 " %s", ms / unit, unit_zh(unit));
}

/* How long an alarm has lasted, against a rule of dur: in the rule's unit,
 * but never coarser than minutes (150 分钟 says more than 2 小时). */
static int64_t
elapsed_unit(int64_t dur)
{
	int64_t u = dur_unit(dur);

	return u > MS_MINUTE ? MS_MINUTE : u;
}

static const char *
op_type_zh(const char *type)
{
	static const struct {
		const char *type, *zh;
	} tab[] = {
	    {"hot_work", "动火作业"},
	    {"confined_space", "受限空间作业"},
	    {"blinding", "盲板抽堵作业"},
	    {"height", "高处作业"},
	    {"lifting", "吊装作业"},
	    {"temporary_power", "临时用电作业"},
	    {"excavation", "动土作业"},
	    {"road_closure", "断路作业"},
	    {"blasting", "爆破作业"},
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].type, type) == 0)
			return tab[i].zh;
	return NULL;
}

static const char *
op_level_zh(const char *level)
{
	if (strcmp(level, "special") == 0)
		return "特级";
	if (strcmp(level, "first") == 0)
		return "一级";
	if (strcmp(level, "second") == 0)
		return "二级";
	return NULL;
}

/* "特级动火作业 OP-7" (or the English words when they have no name). */
static void
text_op(struct text *t, const struct warn_operation *op)
{
	const char *type = str_or(op->type, "?");
	const char *tzh = op_type_zh(type);
	const char *level = str_or(op->level, "");
	const char *lzh = level[0] != '\0' ? op_level_zh(level) : "";

	if (lzh == NULL)
		text_add(t, "%s级", level);
	else
		text_add(t, "%s", lzh);
	if (tzh != NULL)
		text_add(t, "%s", tzh);
	else
		text_add(t, "%s 作业", type);
	text_add(t, " %s", str_or(op->op_id, "?"));
}

static const char *
maint_reason_zh(const char *reason)
{
	static const struct {
		const char *reason, *zh;
	} tab[] = {
	    {"overhaul", "检修"},
	    {"startup", "开车"},
	    {"shutdown", "停车"},
	    {"trial", "试生产"},
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].reason, reason) == 0)
			return tab[i].zh;
	return reason;
}

static const char *
grade_zh(int grade)
{
	static const char *const zh[] = {
	    "未分级", "一级", "二级", "三级", "四级"};

	return grade >= 1 && grade <= 4 ? zh[grade] : zh[0];
}

/* A threshold value as the sensor gave it, without noise digits. */
static void
text_value(struct text *t, const char *label, double v)
{
	if (isfinite(v))
		text_add(t, "%s %.6g", label, v);
}

/* ---- the facts -------------------------------------------------------- */

static int
alarm_is_hhll(const struct warn_alarm *a)
{
	return alarm_kind_is_second(a->kind);
}

static int
alarm_is_hl(const struct warn_alarm *a)
{
	return alarm_kind_is_threshold(a->kind);
}

static int
same_point(const struct warn_alarm *a, const struct warn_alarm *b)
{
	return strcmp(str_or(a->point, ""), str_or(b->point, "")) == 0;
}

/* 1 when alarm i is the first of its point among those keep() takes, so
 * points are counted once even if one had two alarms open. */
static int
first_of_point(const struct warn_facts *f, size_t i,
    int (*keep)(const struct warn_alarm *))
{
	for (size_t j = 0; j < i; j++)
		if (keep(&f->alarms[j]) &&
		    same_point(&f->alarms[j], &f->alarms[i]))
			return 0;
	return 1;
}

static size_t
count_points(const struct warn_facts *f, int (*keep)(const struct warn_alarm *))
{
	size_t n = 0;

	for (size_t i = 0; i < f->nalarms; i++)
		if (keep(&f->alarms[i]) && first_of_point(f, i, keep))
			n++;
	return n;
}

/* The earliest-started alarm that keep() takes; NULL when none. */
static const struct warn_alarm *
oldest_alarm(const struct warn_facts *f, int (*keep)(const struct warn_alarm *))
{
	const struct warn_alarm *best = NULL;

	for (size_t i = 0; i < f->nalarms; i++)
		if (keep(&f->alarms[i]) &&
		    (best == NULL || f->alarms[i].start_ms < best->start_ms))
			best = &f->alarms[i];
	return best;
}

/* "A、B、C" (with kinds when with_kind), ending in "等" when full. */
static void
text_points(struct text *t, const struct warn_facts *f,
    int (*keep)(const struct warn_alarm *), int with_kind)
{
	size_t shown = 0;

	for (size_t i = 0; i < f->nalarms; i++) {
		const struct warn_alarm *a = &f->alarms[i];
		const char *point = str_or(a->point, "?");

		if (!keep(a) || !first_of_point(f, i, keep))
			continue;
		if (!text_room(t, strlen(point) + 16)) {
			text_add(t, "等");
			return;
		}
		text_add(t, "%s%s", shown > 0 ? "、" : "", point);
		if (with_kind)
			text_add(t, " %s", alarm_kind_name(a->kind));
		shown++;
	}
}

/* "点位 TK-101 HH 报警（值 95.5，阈值 90）" and "等 N 个点位" when more. */
static void
text_any(struct text *t, const struct warn_facts *f,
    int (*keep)(const struct warn_alarm *))
{
	const struct warn_alarm *a = oldest_alarm(f, keep);
	size_t n = count_points(f, keep);

	text_add(t, "点位 %s %s 报警", str_or(a->point, "?"),
	    alarm_kind_name(a->kind));
	if (isfinite(a->value)) {
		text_add(t, "（");
		text_value(t, "值", a->value);
		text_value(t, "，阈值", a->threshold);
		text_add(t, "）");
	}
	if (n > 1)
		text_add(t, "等 %zu 个点位", n);
}

static int
in_list(const struct warn_rule *r, const char *word)
{
	for (size_t i = 0; i < r->nlist; i++)
		if (strcmp(r->list[i], word) == 0)
			return 1;
	return 0;
}

/* An operation item "type" matches any grade; "type/level" that grade. */
static int
op_matches(const struct warn_rule *r, const struct warn_operation *op)
{
	const char *type = str_or(op->type, "");
	const char *level = str_or(op->level, "");
	size_t tlen = strlen(type);

	for (size_t i = 0; i < r->nlist; i++) {
		const char *item = r->list[i];
		const char *slash = strchr(item, '/');

		if (slash == NULL) {
			if (strcmp(item, type) == 0)
				return 1;
		} else if ((size_t)(slash - item) == tlen &&
		           memcmp(item, type, tlen) == 0 &&
		           strcmp(slash + 1, level) == 0) {
			return 1;
		}
	}
	return 0;
}

static int
maint_active(const struct warn_facts *f, const struct warn_maintenance *m)
{
	return m->ends_ms <= 0 || m->ends_ms > f->now_ms;
}

static int
raised_in_window(const struct warn_facts *f, int64_t raised, int64_t dur)
{
	return raised > f->now_ms - dur && raised <= f->now_ms;
}

/* ---- the rules -------------------------------------------------------- */

static int
eval_hhll_lasting(
    const struct warn_rule *r, const struct warn_facts *f, struct text *t)
{
	const struct warn_alarm *best = NULL;
	size_t n = 0;

	for (size_t i = 0; i < f->nalarms; i++) {
		const struct warn_alarm *a = &f->alarms[i];

		if (!alarm_is_hhll(a) || f->now_ms - a->start_ms < r->dur_ms)
			continue;
		n++;
		if (best == NULL || a->start_ms < best->start_ms)
			best = a;
	}
	if (best == NULL)
		return 0;
	text_add(t, "点位 %s %s 报警已持续 ", str_or(best->point, "?"),
	    alarm_kind_name(best->kind));
	text_dur(t, f->now_ms - best->start_ms, elapsed_unit(r->dur_ms));
	text_add(t, "（≥");
	text_dur(t, r->dur_ms, dur_unit(r->dur_ms));
	text_add(t, "）");
	if (n > 1)
		text_add(t, "，共 %zu 个 HH/LL 报警达到时限", n);
	return 1;
}

static int
eval_hhll_during_operation(
    const struct warn_rule *r, const struct warn_facts *f, struct text *t)
{
	const struct warn_alarm *a = oldest_alarm(f, alarm_is_hhll);
	size_t n;

	if (a == NULL)
		return 0;
	for (size_t i = 0; i < f->nops; i++) {
		if (!in_list(r, str_or(f->ops[i].type, "")))
			continue;
		text_op(t, &f->ops[i]);
		text_add(t, " 进行中时点位 %s %s 报警", str_or(a->point, "?"),
		    alarm_kind_name(a->kind));
		n = count_points(f, alarm_is_hhll);
		if (n > 1)
			text_add(t, "（共 %zu 个点位 HH/LL 报警）", n);
		return 1;
	}
	return 0;
}

static int
eval_points(const struct warn_rule *r, const struct warn_facts *f,
    struct text *t, int hhll)
{
	int (*keep)(const struct warn_alarm *) =
	    hhll ? alarm_is_hhll : alarm_is_hl;
	size_t n = count_points(f, keep);

	if ((int64_t)n < r->count)
		return 0;
	text_add(t, "%zu 个点位同时%s报警：", n, hhll ? " HH/LL " : "超限");
	text_points(t, f, keep, !hhll);
	return 1;
}

static int
eval_any(const struct warn_facts *f, struct text *t, int hhll)
{
	int (*keep)(const struct warn_alarm *) =
	    hhll ? alarm_is_hhll : alarm_is_hl;

	if (oldest_alarm(f, keep) == NULL)
		return 0;
	text_any(t, f, keep);
	return 1;
}

static int
eval_hl_raised_in(
    const struct warn_rule *r, const struct warn_facts *f, struct text *t)
{
	int64_t n = 0;

	for (size_t i = 0; i < f->nraised; i++)
		if (raised_in_window(f, f->raised_ms[i], r->dur_ms))
			n++;
	if (n < r->count)
		return 0;
	text_dur(t, r->dur_ms, dur_unit(r->dur_ms));
	text_add(
	    t, "内 %" PRId64 " 次超限报警（≥%" PRId64 " 次）", n, r->count);
	return 1;
}

static int
eval_operation(
    const struct warn_rule *r, const struct warn_facts *f, struct text *t)
{
	const struct warn_operation *first = NULL;
	size_t n = 0;

	for (size_t i = 0; i < f->nops; i++)
		if (op_matches(r, &f->ops[i]) && n++ == 0)
			first = &f->ops[i];
	if (first == NULL)
		return 0;
	text_op(t, first);
	text_add(t, " 进行中");
	if (n > 1)
		text_add(t, "等 %zu 项作业", n);
	return 1;
}

static int
eval_maintenance(
    const struct warn_rule *r, const struct warn_facts *f, struct text *t)
{
	size_t shown = 0;

	for (size_t i = 0; i < f->nmaint; i++) {
		const struct warn_maintenance *m = &f->maint[i];
		const char *reason = str_or(m->reason, "");
		int seen = 0;

		if (!maint_active(f, m) || !in_list(r, reason))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen =
			    maint_active(f, &f->maint[j]) &&
			    strcmp(str_or(f->maint[j].reason, ""), reason) == 0;
		if (seen)
			continue;
		if (shown == 0) {
			/* The rule's reasons name the kind of period. */
			for (size_t k = 0; k < r->nlist; k++)
				text_add(t, "%s%s", k > 0 ? "/" : "",
				    maint_reason_zh(r->list[k]));
			text_add(t, "：");
		}
		text_add(t, "%s%s", shown > 0 ? "、" : "", reason);
		shown++;
	}
	return shown > 0;
}

static int
eval_offline_share(
    const struct warn_rule *r, const struct warn_facts *f, struct text *t)
{
	double share;
	int64_t tenths;

	if (f->npoints == 0)
		return 0;
	share = (double)f->noffline / (double)f->npoints;
	if (!(share >= r->share))
		return 0;
	/* The share shown rounded down to 0.1 %, so it never overstates. */
	tenths = (int64_t)f->noffline * 1000 / (int64_t)f->npoints;
	if (tenths % 10 == 0)
		text_add(t, "%" PRId64 "%%", tenths / 10);
	else
		text_add(
		    t, "%" PRId64 ".%" PRId64 "%%", tenths / 10, tenths % 10);
	text_add(t, " 的点位离线（%zu/%zu）", f->noffline, f->npoints);
	return 1;
}

static int
grade_in(const struct warn_rule *r, int grade)
{
	return grade >= 1 && grade <= 4 && (r->grades & (1u << grade)) != 0;
}

static int
eval_unacked(
    const struct warn_rule *r, const struct warn_facts *f, struct text *t)
{
	const struct warn_alarm *best = NULL;

	if (!grade_in(r, f->grade))
		return 0;
	for (size_t i = 0; i < f->nalarms; i++) {
		const struct warn_alarm *a = &f->alarms[i];

		if (!alarm_is_hl(a) || a->acked ||
		    f->now_ms - a->start_ms < r->dur_ms)
			continue;
		if (best == NULL || a->start_ms < best->start_ms)
			best = a;
	}
	if (best == NULL)
		return 0;
	text_add(t, "%s重大危险源橙色预警中，点位 %s %s 报警 ",
	    grade_zh(f->grade), str_or(best->point, "?"),
	    alarm_kind_name(best->kind));
	text_dur(t, f->now_ms - best->start_ms, elapsed_unit(r->dur_ms));
	text_add(t, "未确认（≥");
	text_dur(t, r->dur_ms, dur_unit(r->dur_ms));
	text_add(t, "）");
	return 1;
}

/* 1 when rule r matches the facts, with its reason written to buf. */
static int
rule_eval(const struct warn_rule *r, const struct warn_facts *f, char *buf,
    size_t size)
{
	struct text t;

	text_init(&t, buf, size);
	switch (r->kind) {
	case WR_HHLL_LASTING:
		return eval_hhll_lasting(r, f, &t);
	case WR_HHLL_DURING_OPERATION:
		return eval_hhll_during_operation(r, f, &t);
	case WR_HHLL_POINTS:
		return eval_points(r, f, &t, 1);
	case WR_HHLL_ANY:
		return eval_any(f, &t, 1);
	case WR_HL_POINTS:
		return eval_points(r, f, &t, 0);
	case WR_HL_RAISED_IN:
		return eval_hl_raised_in(r, f, &t);
	case WR_HL_ANY:
		return eval_any(f, &t, 0);
	case WR_OPERATION:
		return eval_operation(r, f, &t);
	case WR_MAINTENANCE:
		return eval_maintenance(r, f, &t);
	case WR_OFFLINE_SHARE:
		return eval_offline_share(r, f, &t);
	case WR_UNACKED_ORANGE:
		return eval_unacked(r, f, &t);
	}
	return 0;
}

/* Consider a check at time at: keep the earliest one in the future. */
static void
next_check(int64_t *next, const struct warn_facts *f, int64_t at)
{
	if (at > f->now_ms && (*next == 0 || at < *next))
		*next = at;
}

/* When a time rule could change the result with no fact changing. */
static int64_t
rules_next_check(const struct warn_rules *r, const struct warn_facts *f)
{
	int64_t next = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct warn_rule *rule = &r->rule[i];

		switch (rule->kind) {
		case WR_HHLL_LASTING:
		case WR_UNACKED_ORANGE:
			if (rule->kind == WR_UNACKED_ORANGE &&
			    !grade_in(rule, f->grade))
				break;
			for (size_t j = 0; j < f->nalarms; j++) {
				const struct warn_alarm *a = &f->alarms[j];

				if (rule->kind == WR_HHLL_LASTING
				        ? alarm_is_hhll(a)
				        : (alarm_is_hl(a) && !a->acked))
					next_check(&next, f,
					    a->start_ms + rule->dur_ms);
			}
			break;
		case WR_HL_RAISED_IN:
			/* A raise leaves the window at raised + DUR (and
			 * one stamped ahead of now enters it at raised). */
			for (size_t j = 0; j < f->nraised; j++) {
				next_check(&next, f, f->raised_ms[j]);
				next_check(
				    &next, f, f->raised_ms[j] + rule->dur_ms);
			}
			break;
		case WR_MAINTENANCE:
			for (size_t j = 0; j < f->nmaint; j++)
				if (f->maint[j].ends_ms > 0)
					next_check(
					    &next, f, f->maint[j].ends_ms);
			break;
		default:
			break;
		}
	}
	return next;
}

/* Append reason to out when there is room. */
static void
add_reason(struct warn_result *out, const struct warn_rule *r, const char *text)
{
	struct warn_reason *w;

	if (out->nreasons == WARN_REASONS_MAX)
		return;
	w = &out->reason[out->nreasons++];
	w->level = r->level;
	w->rule = r->kind;
	snprintf(w->text, sizeof(w->text), "%s", text);
}

void
warn_evaluate(const struct warn_rules *r, const struct warn_facts *f,
    struct warn_result *out)
{
	struct warn_reason kept[WARN_REASONS_MAX];
	size_t nkept;
	enum risk_level top = LEVEL_BLUE;
	char buf[sizeof(out->reason[0].text)];
	int any = 0;

	memset(out, 0, sizeof(*out));
	out->level = LEVEL_BLUE;
	/* The level: the highest of the rules that match, unacked_orange
	 * aside (it only ever lifts an orange result). */
	for (size_t i = 0; i < r->n; i++)
		if (r->rule[i].kind != WR_UNACKED_ORANGE &&
		    r->rule[i].level > out->level &&
		    rule_eval(&r->rule[i], f, buf, sizeof(buf)))
			out->level = r->rule[i].level;
	if (out->level != LEVEL_BLUE)
		for (size_t i = 0; i < r->n; i++)
			if (r->rule[i].kind != WR_UNACKED_ORANGE &&
			    r->rule[i].level == out->level &&
			    rule_eval(&r->rule[i], f, buf, sizeof(buf)))
				add_reason(out, &r->rule[i], buf);
	out->next_check_ms = rules_next_check(r, f);
	if (out->level != LEVEL_ORANGE)
		return;

	for (size_t i = 0; i < r->n; i++)
		if (r->rule[i].kind == WR_UNACKED_ORANGE &&
		    r->rule[i].level > top &&
		    rule_eval(&r->rule[i], f, buf, sizeof(buf))) {
			top = r->rule[i].level;
			any = 1;
		}
	if (!any)
		return;
	/* Lifted: the unacknowledged alarm first, the orange facts after. */
	nkept = out->nreasons;
	memcpy(kept, out->reason, sizeof(kept));
	out->nreasons = 0;
	out->level = top;
	for (size_t i = 0; i < r->n; i++)
		if (r->rule[i].kind == WR_UNACKED_ORANGE &&
		    r->rule[i].level == top &&
		    rule_eval(&r->rule[i], f, buf, sizeof(buf)))
			add_reason(out, &r->rule[i], buf);
	for (size_t i = 0; i < nkept && out->nreasons < WARN_REASONS_MAX; i++)
		out->reason[out->nreasons++] = kept[i];
}

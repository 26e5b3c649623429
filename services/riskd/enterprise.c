/*
 * enterprise - an enterprise's dynamic risk from its facts (DOMAIN.md 3.5).
 *
 * riskd fills struct ent_facts from its grades, its source warnings and
 * the store's records, and calls ent_risk_compute(); the result (level,
 * score, reasons) is plain data it publishes on rk.* and stores.  The work
 * is done in the order the rule is written: the inherent level, then each
 * enabled raise that holds lifts one level (capped at red), then a direct
 * red overrides.  Every input that counted leaves one reason, with a
 * machine code in English and a text in Chinese, so a duty officer can see
 * why an enterprise is where it is.  Nothing here allocates or keeps
 * state; ent_risk_cfg is read-only configuration owned by the caller.
 */
#include "enterprise.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MS_DAY INT64_C(86400000)

void
ent_risk_cfg_init(struct ent_risk_cfg *c)
{
	char why[160];
	int rc;

	memset(c, 0, sizeof(*c));
	rc = sector_levels_parse(
	    ENT_SECTOR_DEFAULT_SPEC, &c->sector_default, why, sizeof(why));
	assert(rc == 0);
	rc = sector_list_parse(
	    ENT_DIRECTOR_SECTORS_SPEC, &c->director_sectors, why, sizeof(why));
	assert(rc == 0);
	(void)rc;
	c->director_min_employees = 300;
	c->death_window_ms = 365 * MS_DAY;
	c->larger_accident_window_ms = 1095 * MS_DAY;
	c->raise_open_major_hazard = 1;
	c->raise_overdue_hazard = 1;
	c->raise_source_warning = 1;
	c->raise_death_accident = 1;
	c->raise_no_director = 1;
	c->raise_no_resplist = 1;
	c->direct_red_overdue_major = 1;
	c->direct_red_larger_accident = 1;
}

int
ent_director_in_scope(const struct ent_risk_cfg *c, const struct ent_facts *f)
{
	if (sector_list_has(&c->director_sectors, f->sector))
		return 1;
	return c->director_min_employees > 0 && f->employees >= 0 &&
	       f->employees >= c->director_min_employees;
}

/* Drop a trailing incomplete UTF-8 sequence (after a cut). */
static void
utf8_trim(char *s)
{
	size_t len = strlen(s), i = len, need;
	unsigned char c;

	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0xC0)
		return;
	need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
	if (len - (i - 1) < need)
		s[i - 1] = '\0';
}

static void add_reason(struct ent_risk *out, const char *code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
add_reason(struct ent_risk *out, const char *code, const char *fmt, ...)
{
	struct ent_reason *r;
	va_list ap;

	if (out->nreasons == ENT_REASONS_MAX)
		return;
	r = &out->reason[out->nreasons++];
	snprintf(r->code, sizeof(r->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	utf8_trim(r->text);
}

/* A count from the facts; a negative one is a caller's slip, read as 0. */
static int
count(int n)
{
	return n > 0 ? n : 0;
}

/* A window as "1 年" or "90 天" (whole years when it is whole years). */
static void
window_zh(char *buf, size_t size, int64_t ms)
{
	if (ms > 0 && ms % (365 * MS_DAY) == 0)
		snprintf(buf, size, "%" PRId64 " 年", ms / (365 * MS_DAY));
	else if (ms % MS_DAY == 0)
		snprintf(buf, size, "%" PRId64 " 天", ms / MS_DAY);
	else
		snprintf(buf, size, "%" PRId64 " 小时", ms / (MS_DAY / 24));
}

static enum risk_level
grade_level(int grade)
{
	static const enum risk_level by_grade[] = {
	    LEVEL_BLUE, LEVEL_RED, LEVEL_ORANGE, LEVEL_YELLOW, LEVEL_BLUE};

	return by_grade[grade];
}

static const char *
grade_zh(int grade)
{
	static const char *const zh[] = {"", "一级", "二级", "三级", "四级"};

	return zh[grade];
}

/* The field as a C string of at most its array's length. */
#define FACT_STR(a) (int)strnlen((a), sizeof(a)), (a)

/*
 * " HS-01 " between Chinese words, or nothing when the code is empty, so
 * a fact without its code still reads whole.  code_part() writes into buf
 * (at least 80 bytes: codes are at most 63).
 */
static const char *
code_part(char *buf, size_t size, const char *code, size_t max)
{
	size_t len = strnlen(code, max);

	if (len == 0)
		return "";
	snprintf(buf, size, " %.*s ", (int)len, code);
	return buf;
}

#define CODE_PART(buf, a) code_part((buf), sizeof(buf), (a), sizeof(a))

/* The inherent level and a reason for each input that reaches it. */
static enum risk_level
inherent_level(const struct ent_risk_cfg *c, const struct ent_facts *f,
    struct ent_risk *out)
{
	int grade = f->worst_source_grade >= 1 && f->worst_source_grade <= 4
	                ? f->worst_source_grade
	                : 0;
	enum risk_level sector =
	    sector_levels_get(&c->sector_default, f->sector);
	enum risk_level l = sector;
	char code[80];

	if (grade != 0)
		l = level_max(l, grade_level(grade));
	if (f->has_risk_point)
		l = level_max(l, f->worst_risk_point);
	if (grade != 0 && grade_level(grade) == l)
		add_reason(out, "source_grade", "重大危险源%s为%s",
		    CODE_PART(code, f->worst_source), grade_zh(grade));
	if (f->has_risk_point && f->worst_risk_point == l)
		add_reason(out, "risk_point", "风险点%s为%s",
		    CODE_PART(code, f->worst_risk_point_code),
		    level_risk_zh(l));
	if (sector == l) {
		if (f->sector[0] != '\0')
			add_reason(out, "sector_default", "行业 %.*s 默认%s",
			    FACT_STR(f->sector), level_risk_zh(l));
		else
			add_reason(out, "sector_default", "行业未登记，默认%s",
			    level_risk_zh(l));
	}
	return l;
}

/* Each enabled raise that holds; returns how many held. */
static int
apply_raises(const struct ent_risk_cfg *c, const struct ent_facts *f,
    struct ent_risk *out)
{
	char win[32], code[80];
	int n = 0;

	if (c->raise_open_major_hazard && count(f->open_major_hazards) > 0) {
		add_reason(out, "open_major_hazard",
		    "%d 项重大事故隐患尚未闭环", count(f->open_major_hazards));
		n++;
	}
	if (c->raise_overdue_hazard && count(f->overdue_hazards) > 0) {
		add_reason(out, "overdue_hazard", "%d 项事故隐患逾期未整改",
		    count(f->overdue_hazards));
		n++;
	}
	if (c->raise_source_warning && f->worst_warning >= LEVEL_ORANGE) {
		add_reason(out, "source_warning", "重大危险源%s当前%s预警",
		    CODE_PART(code, f->worst_warning_source),
		    level_colour_zh(f->worst_warning));
		n++;
	}
	if (c->raise_death_accident &&
	    count(f->deaths_accidents_in_window) > 0) {
		window_zh(win, sizeof(win), c->death_window_ms);
		add_reason(out, "death_accident", "近 %s内发生 %d 起死亡事故",
		    win, count(f->deaths_accidents_in_window));
		n++;
	}
	if (c->raise_no_director && !f->director_appointed &&
	    ent_director_in_scope(c, f)) {
		if (sector_list_has(&c->director_sectors, f->sector))
			add_reason(out, "no_director",
			    "行业 %.*s 应配备安全总监，尚未任命",
			    FACT_STR(f->sector));
		else
			add_reason(out, "no_director",
			    "从业人员 %" PRId64 " 人（≥%" PRId64
			    " 人）应配备安全总监，尚未任命",
			    f->employees, c->director_min_employees);
		n++;
	}
	if (c->raise_no_resplist && !f->resplist_uploaded) {
		add_reason(out, "no_resplist", "未上传全员安全生产责任清单");
		n++;
	}
	return n;
}

/* Each enabled direct red that holds; returns how many held. */
static int
apply_direct_red(const struct ent_risk_cfg *c, const struct ent_facts *f,
    struct ent_risk *out)
{
	char win[32];
	int n = 0;

	if (c->direct_red_overdue_major &&
	    count(f->overdue_major_hazards) > 0) {
		add_reason(out, "overdue_major_hazard",
		    "%d 项重大事故隐患逾期未整改，直接判定为重大风险",
		    count(f->overdue_major_hazards));
		n++;
	}
	if (c->direct_red_larger_accident &&
	    count(f->larger_accidents_in_window) > 0) {
		window_zh(win, sizeof(win), c->larger_accident_window_ms);
		add_reason(out, "larger_accident",
		    "近 %s内发生 %d 起较大及以上事故，直接判定为重大风险", win,
		    count(f->larger_accidents_in_window));
		n++;
	}
	return n;
}

void
ent_risk_compute(const struct ent_risk_cfg *c, const struct ent_facts *f,
    struct ent_risk *out)
{
	int raises, direct, hazards, extra;

	memset(out, 0, sizeof(*out));
	out->inherent = inherent_level(c, f, out);
	out->level = out->inherent;
	raises = apply_raises(c, f, out);
	for (int i = 0; i < raises; i++)
		out->level = level_raise(out->level);
	direct = apply_direct_red(c, f, out);
	if (direct > 0)
		out->level = LEVEL_RED;

	/* The score (enterprise.h): the level's base, plus what else
	 * weighs, capped so that a level never overtakes the next. */
	hazards = count(f->open_major_hazards) + count(f->overdue_hazards);
	if (hazards > ENT_SCORE_HAZARDS_MAX)
		hazards = ENT_SCORE_HAZARDS_MAX;
	extra = 6 * (raises + direct) + 3 * (int)out->inherent + 2 * hazards;
	if (extra > 24)
		extra = 24;
	out->score = 25 * (int)out->level + extra;
}

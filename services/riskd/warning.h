/*
 * warning - the early warning of a major hazard source (DOMAIN.md 3.4):
 * a rule table from configuration, evaluated over the facts of one source.
 *
 * Pure logic.  riskd gathers a source's facts (its open threshold alarms,
 * the alarms raised on it lately, its active operations and maintenance
 * windows, how many of its points are offline) and calls warn_evaluate()
 * whenever one of them changes and on a timer for the rules that depend on
 * time.  The highest level whose rules match wins; the result carries
 * every fact that raised it, in Chinese for the duty officer, plus the
 * rule's name for machines.
 *
 * The table is one string, rules separated by ';', each "LEVEL: RULE ARGS"
 * (spaces free).  Rules:
 *   hhll_lasting >= DUR               an HH/LL alarm open for at least DUR
 *   hhll_during_operation T,T...      an HH/LL alarm while an operation of
 *                                     one of these types is active
 *   hhll_points >= N                  HH/LL alarms open on >= N points
 *   hhll_any                          any HH/LL alarm open
 *   hl_points >= N                    threshold alarms (any of H, HH, L,
 *                                     LL: HH is past H) open on >= N points
 *   hl_raised_in DUR >= N             >= N threshold alarms raised in the
 *                                     last DUR
 *   hl_any                            any threshold alarm open
 *   operation T[/LEVEL],...           an active operation of a listed type
 *                                     (and grade, when given)
 *   maintenance R,R...                an active maintenance window for one
 *                                     of these reasons
 *   offline_share >= P%               at least P % of its points offline
 *   unacked_orange >= DUR grade G,G   when the other rules give orange: a
 *                                     threshold alarm unacknowledged for
 *                                     DUR on a source of grade G raises it
 *                                     to the rule's level
 * DUR is a whole number followed by ms, s, m, h or d (1ms to 3650d); N a
 * whole number >= 1; P 0 < P <= 100 (decimals allowed); list items are of
 * a-z, 0-9 and _ ('/' only in operation's type/level).  Level words are
 * red, orange and yellow (blue is what no match gives); unacked_orange
 * must be red.  An empty table is no rules.  WARN_RULES_DEFAULT is
 * DOMAIN.md 3.4.
 */
#ifndef ANQUAN_RISKD_WARNING_H
#define ANQUAN_RISKD_WARNING_H

#include <stddef.h>
#include <stdint.h>

#include "alarm.h"
#include "level.h"

#define WARN_RULES_DEFAULT                                                   \
	"red: hhll_lasting >= 10m; "                                         \
	"red: hhll_during_operation hot_work,confined_space; "               \
	"red: hhll_points >= 3; "                                            \
	"red: unacked_orange >= 15m grade 1,2; "                             \
	"orange: hhll_any; "                                                 \
	"orange: hl_points >= 3; "                                           \
	"orange: hl_raised_in 24h >= 10; "                                   \
	"yellow: hl_any; "                                                   \
	"yellow: operation hot_work/special,hot_work/first,confined_space; " \
	"yellow: maintenance startup,shutdown,trial; "                       \
	"yellow: offline_share >= 20%"

enum warn_rule_kind {
	WR_HHLL_LASTING = 0,
	WR_HHLL_DURING_OPERATION,
	WR_HHLL_POINTS,
	WR_HHLL_ANY,
	WR_HL_POINTS,
	WR_HL_RAISED_IN,
	WR_HL_ANY,
	WR_OPERATION,
	WR_MAINTENANCE,
	WR_OFFLINE_SHARE,
	WR_UNACKED_ORANGE,
};

#define WARN_RULES_MAX 32
#define WARN_LIST_MAX 8

struct warn_rule {
	enum risk_level level;
	enum warn_rule_kind kind;
	int64_t dur_ms;  /* lasting, raised_in window, unacked */
	int64_t count;   /* points, raised_in */
	double share;    /* offline_share, 0..1 */
	size_t nlist;    /* operation types (type[/level]), reasons */
	char list[WARN_LIST_MAX][32];
	unsigned grades; /* unacked_orange: bit g set for grade g (1..4) */
};

struct warn_rules {
	size_t n;
	struct warn_rule rule[WARN_RULES_MAX];
};

/* Parse a table; 0, or -1 with why naming the rule (by position). */
int warn_rules_parse(
    const char *spec, struct warn_rules *out, char *why, size_t wlen);

/* The longest hl_raised_in window (how much raise history to keep). */
int64_t warn_rules_window_ms(const struct warn_rules *r);

/* The rule kind's name as written in the table. */
const char *warn_rule_name(enum warn_rule_kind k);

/* An open threshold alarm on one of the source's points (borrowed). */
struct warn_alarm {
	enum alarm_kind kind; /* H, HH, L or LL */
	int64_t start_ms;
	int acked;
	const char *id;
	const char *point;
	double value;
	double threshold;
};

/* An active operation on the source. */
struct warn_operation {
	const char *op_id;
	const char *type;  /* hot_work, confined_space, ... */
	const char *level; /* special, first, second; NULL or "" when none */
};

/* An active maintenance window on the source (or its points). */
struct warn_maintenance {
	const char *reason; /* overhaul, startup, shutdown, trial */
	int64_t ends_ms;    /* active while now < ends_ms; <= 0: no end known */
};

struct warn_facts {
	int64_t now_ms;
	int grade; /* 1..4, 0 when not graded */
	const struct warn_alarm *alarms;
	size_t nalarms;
	const int64_t *raised_ms; /* starts of threshold alarms raised lately */
	size_t nraised;
	const struct warn_operation *ops;
	size_t nops;
	const struct warn_maintenance *maint;
	size_t nmaint;
	size_t npoints;  /* the source's enabled points */
	size_t noffline; /* of which offline now */
};

#define WARN_REASONS_MAX 8

struct warn_reason {
	enum risk_level level;
	enum warn_rule_kind rule;
	char text[256]; /* Chinese, e.g. "点位 TK-101 HH 报警已持续 12 分钟 (≥10 分钟)" */
};

struct warn_result {
	enum risk_level level; /* blue when nothing matched */
	size_t nreasons;       /* the matches at the winning level */
	struct warn_reason reason[WARN_REASONS_MAX];
	/* Wall-clock time at which a time rule could change the result with
	 * no other fact changing (an alarm reaching a duration, a raise
	 * leaving the window, a window ending); 0 when none. */
	int64_t next_check_ms;
};

/* Evaluate the rules over facts. */
void warn_evaluate(const struct warn_rules *r, const struct warn_facts *f,
    struct warn_result *out);

#endif

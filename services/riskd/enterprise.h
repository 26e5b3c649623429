/*
 * enterprise - an enterprise's dynamic risk (DOMAIN.md 3.5): level, a
 * 0-100 score for ordering, and the reasons.
 *
 * Pure logic.  riskd gathers the facts of one enterprise (from its own
 * grades and warnings, and from the store's records: hidden hazards,
 * accidents, safety director, responsibility list) into struct
 * ent_facts and calls ent_risk_compute() whenever one of them changes
 * and on a timer for those that change with time (a deadline passing, an
 * accident leaving the 12-month window).  Which facts raise the level and
 * the windows are configuration (struct ent_risk_cfg); the result says in
 * Chinese why, one reason per fact that counted.
 *
 * The rules: inherent level = the worst of its hazard sources (一级 red ..
 * 四级 blue), its worst risk point and its sector's default.  Each of these
 * raises one level, capped at red: an open major hidden hazard; an overdue
 * hidden hazard; a red or orange source warning now; an accident with a
 * death in the last 12 months; in scope for a safety director and none
 * appointed; no responsibility list uploaded.  Direct red: an overdue major
 * hidden hazard, or a 较大 or worse accident in the last 3 years.
 *
 * The score orders enterprises within and across levels: the level's base
 * (blue 0, yellow 25, orange 50, red 75) plus points for what else weighs
 * (each raise, each open or overdue hazard, the inherent level), capped
 * at 24 so that a level never overtakes the next.  Exactly:
 *
 *   score = 25 x level
 *         + min(24, 6 x (raises that held + direct reds that held)
 *                   + 3 x inherent level (blue 0 .. red 3)
 *                   + 2 x min(ENT_SCORE_HAZARDS_MAX,
 *                             open major hazards + overdue hazards))
 *
 * A raise that held counts even when the level was already capped at red,
 * and only enabled raises count; the hazard counts weigh whether or not
 * their raises are enabled (they are facts either way).  So any red
 * (75..99) is above any orange (50..74), and so on, and within a level one
 * more fact scores higher until the cap.
 */
#ifndef ANQUAN_RISKD_ENTERPRISE_H
#define ANQUAN_RISKD_ENTERPRISE_H

#include <stddef.h>
#include <stdint.h>

#include "level.h"

/* The defaults of DOMAIN.md 3.5, as the config strings would give them. */
#define ENT_SECTOR_DEFAULT_SPEC \
	"hazchem:yellow,coal:yellow,noncoal_mine:yellow,metallurgy:yellow,*:blue"
#define ENT_DIRECTOR_SECTORS_SPEC "hazchem,coal,noncoal_mine,metallurgy"

/* Open major and overdue hazards count in the score up to this many. */
#define ENT_SCORE_HAZARDS_MAX 6

struct ent_risk_cfg {
	struct sector_levels sector_default; /* "hazchem:yellow,...,*:blue" */
	struct sector_list director_sectors; /* in scope by sector */
	int64_t director_min_employees;      /* or by size [300]; <= 0: not */
	int64_t death_window_ms;             /* [365 d] */
	int64_t larger_accident_window_ms;   /* [3 x 365 d] */
	/* Raises that count (1) or not (0), in the order of DOMAIN.md 3.5. */
	int raise_open_major_hazard;
	int raise_overdue_hazard;
	int raise_source_warning;
	int raise_death_accident;
	int raise_no_director;
	int raise_no_resplist;
	int direct_red_overdue_major;
	int direct_red_larger_accident;
};

/* Defaults of DOMAIN.md 3.5 (every raise on). */
void ent_risk_cfg_init(struct ent_risk_cfg *c);

struct ent_facts {
	char sector[32];
	int64_t employees;        /* -1 unknown */
	int worst_source_grade;   /* 1..4, 0: no major hazard source */
	char worst_source[72];    /* its code, for the reason */
	int has_risk_point;
	enum risk_level worst_risk_point;
	char worst_risk_point_code[72];
	int open_major_hazards;   /* reported, not closed */
	int overdue_hazards;      /* past deadline, not rectified */
	int overdue_major_hazards;
	enum risk_level worst_warning; /* of its sources now */
	char worst_warning_source[72];
	int deaths_accidents_in_window;  /* accidents with a death, 12 months */
	int larger_accidents_in_window;  /* 较大 or worse, 3 years */
	int director_appointed;
	int resplist_uploaded;
};

#define ENT_REASONS_MAX 12

struct ent_reason {
	char code[32];  /* machine word: "source_grade", "overdue_hazard", ... */
	char text[200]; /* Chinese */
};

struct ent_risk {
	enum risk_level inherent;
	enum risk_level level;
	int score; /* 0..100 */
	size_t nreasons;
	struct ent_reason reason[ENT_REASONS_MAX];
};

/* 1 when the enterprise must have a safety director (sector or size). */
int ent_director_in_scope(const struct ent_risk_cfg *c,
    const struct ent_facts *f);

void ent_risk_compute(const struct ent_risk_cfg *c, const struct ent_facts *f,
    struct ent_risk *out);

#endif

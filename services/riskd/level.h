/*
 * level - the four colours of risk (重大/较大/一般/低, red/orange/yellow/
 * blue) and the small tables built on them.
 *
 * Every grading of riskd ends in one of these levels: a risk point's LEC or
 * LS band, a hazard source's early warning, an enterprise's dynamic risk.
 * The order of the enum is the order of severity, so "the worst of" is a
 * max and "raise one level, capped at red" is a min.  The band tables of
 * DOMAIN.md 3.3 and 3.5 are configuration strings parsed here, so a city
 * that grades differently changes anquan.conf, not code.
 */
#ifndef ANQUAN_RISKD_LEVEL_H
#define ANQUAN_RISKD_LEVEL_H

#include <stddef.h>

enum risk_level {
	LEVEL_BLUE = 0, /* 低风险 / 蓝色 */
	LEVEL_YELLOW,   /* 一般风险 / 黄色 */
	LEVEL_ORANGE,   /* 较大风险 / 橙色 */
	LEVEL_RED,      /* 重大风险 / 红色 */
};

#define LEVEL_COUNT 4

/* "blue", "yellow", "orange", "red" (API and bus words); the three name
 * functions give "" for a value that is not a level. */
const char *level_name(enum risk_level l);

/* 蓝色, 黄色, 橙色, 红色 (what duty officers read). */
const char *level_colour_zh(enum risk_level l);

/* 低风险, 一般风险, 较大风险, 重大风险. */
const char *level_risk_zh(enum risk_level l);

/* Parse an English level word; 0, or -1 when it is not one. */
int level_parse(const char *s, size_t len, enum risk_level *out);

/* One level more severe, capped at red. */
enum risk_level level_raise(enum risk_level l);

static inline enum risk_level
level_max(enum risk_level a, enum risk_level b)
{
	return a > b ? a : b;
}

/*
 * A band table: value -> level, as "op bound:level" entries separated by
 * commas, tried in order; the first that holds wins, and a value matching
 * none is `otherwise`.  op is ">" or ">=".  Example (LEC, DOMAIN.md 3.3):
 * ">320:red,>=160:orange,>=70:yellow" with otherwise blue.
 */
#define BANDS_MAX 8

struct bands {
	size_t n;
	struct {
		double bound;
		int inclusive; /* 1: >=, 0: > */
		enum risk_level level;
	} band[BANDS_MAX];
	enum risk_level otherwise;
};

/*
 * Parse spec into *out (otherwise = blue).  0, or -1 with why filled (a
 * sentence naming the bad entry).  Bounds must strictly decrease, so the
 * table cannot hide an entry behind another.
 */
int bands_parse(const char *spec, struct bands *out, char *why, size_t wlen);

/* The level of value under b. */
enum risk_level bands_level(const struct bands *b, double value);

/*
 * A per-sector table "sector:level,...,*:level" (the * entry is the
 * default and is required).  Sector codes are those of
 * deploy/data/sectors.csv; unknown codes are not refused here (the table
 * is configuration, the codes data).
 */
#define SECTOR_LEVELS_MAX 32

struct sector_levels {
	size_t n;
	struct {
		char sector[32];
		enum risk_level level;
	} entry[SECTOR_LEVELS_MAX];
	enum risk_level otherwise;
};

int sector_levels_parse(
    const char *spec, struct sector_levels *out, char *why, size_t wlen);
enum risk_level sector_levels_get(
    const struct sector_levels *t, const char *sector);

/*
 * A sector list "hazchem,coal,..." (at most SECTOR_LEVELS_MAX); 0 or -1
 * with why.  sector_list_has() is 1 when sector is in it.
 */
struct sector_list {
	size_t n;
	char sector[SECTOR_LEVELS_MAX][32];
};

int sector_list_parse(
    const char *spec, struct sector_list *out, char *why, size_t wlen);
int sector_list_has(const struct sector_list *l, const char *sector);

/*
 * Every parser above leaves *out as it was when it refuses, so a reload
 * with a bad spec keeps the table in force.  Spaces and tabs may surround
 * every token.  An empty sector list spec is the empty list (no sector);
 * an empty band or sector-level spec is refused.
 *
 * The two helpers below are shared with grade.c's parsers.
 * level_spec_next() walks a comma-separated spec: *cursor starts at the
 * spec; each call gives the next entry trimmed of spaces (possibly empty)
 * and returns 1, or 0 when the spec is used up.  level_spec_number() reads
 * a finite decimal number filling exactly len bytes ("70", "0.5", "1e2";
 * no "inf", "nan" or hex): 0, or -1 when it is not one.
 */
int level_spec_next(const char **cursor, const char **entry, size_t *len);
int level_spec_number(const char *s, size_t len, double *out);

#endif

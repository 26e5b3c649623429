/*
 * grade - the static gradings: major hazard sources by GB 18218-2018
 * (S, R, alpha, beta, grade 一级..四级) and risk points by LEC or LS
 * (DOMAIN.md 3.2, 3.3).
 *
 * Pure functions over plain structs, called by riskd when a
 * hazard_source.upsert or risk_point.upsert arrives (and at start for every
 * row of the store).  Every table is configuration: the alpha table and the
 * grade bounds are strings parsed here, the LEC and LS bands are
 * struct bands (level.h).  Each result carries what it was computed from,
 * so the API can explain it; comparisons at the bounds are exact (>=) in
 * double, as the standard's boundaries (1, 10, 50, 100) are.
 *
 * Before that compare, S, sum beta q/Q, R and D are settled to 12
 * significant digits: binary floating point turns decimal inputs into
 * sums like 6.51/7 + 0.49/7 = 0.9999999999999999 or products like
 * 0.1 x 6 x 100 = 60.00000000000001, which would put a unit on the wrong
 * side of a bound it sits exactly on.  Inputs carry far fewer than 12
 * digits, so settling moves no honest value across a bound.
 */
#ifndef ANQUAN_RISKD_GRADE_H
#define ANQUAN_RISKD_GRADE_H

#include <stddef.h>
#include <stdint.h>

#include "level.h"

#define ALPHA_ROWS_MAX 8

/* The defaults of DOMAIN.md 3.2 and 3.3 as specs, for the config table. */
#define ALPHA_TABLE_DEFAULT "100:2.0,50:1.5,30:1.2,1:1.0,0:0.5"
#define SOURCE_GRADE_BOUNDS_DEFAULT "100,50,10"
#define RISK_LEC_BANDS_DEFAULT ">320:red,>=160:orange,>=70:yellow"
#define RISK_LS_BANDS_DEFAULT ">=20:red,>=15:orange,>=9:yellow"

/*
 * alpha by people within 500 m: rows of (minimum people, alpha), the
 * first row whose minimum is <= people wins.  Spec "100:2.0,50:1.5,30:1.2,
 * 1:1.0,0:0.5" (minimums strictly decreasing and ending at 0).
 */
struct alpha_table {
	size_t n;
	struct {
		int64_t min_people;
		double alpha;
	} row[ALPHA_ROWS_MAX];
};

/* Parse spec into *out; 0, or -1 with why naming the row (*out kept). */
int alpha_table_parse(
    const char *spec, struct alpha_table *out, char *why, size_t wlen);
/* alpha of the first row whose minimum is <= people (t must be parsed;
 * a negative count gets the last row's alpha). */
double alpha_for(const struct alpha_table *t, int64_t people_500m);

struct source_grade_cfg {
	struct alpha_table alpha;
	/* R bounds of 一级, 二级, 三级 (R >= bound), strictly decreasing;
	 * below the last is 四级.  Spec "100,50,10". */
	double grade_min_r[3];
	double major_min_s;    /* S >= this makes a major source [1] */
	int reassess_months;   /* re-assessment due after [36] */
};

/* Defaults of DOMAIN.md 3.2. */
void source_grade_cfg_init(struct source_grade_cfg *c);
/* Parse "100,50,10" into c->grade_min_r (three finite bounds > 0,
 * strictly decreasing); 0, or -1 with why and c unchanged. */
int source_grade_bounds_parse(
    const char *spec, struct source_grade_cfg *c, char *why, size_t wlen);

struct chemical {
	char name[64];
	double q;    /* actual quantity, t */
	double Q;    /* critical quantity, t */
	double beta; /* correction factor */
};

struct source_grade {
	double s;       /* sum q/Q */
	double sum_bq;  /* sum beta q/Q */
	double alpha;
	double r;       /* alpha x sum_bq */
	int major;      /* s >= major_min_s */
	int grade;      /* 1..4 (一级..四级) */
	/* assessed_on + reassess_months, as days since 1970-01-01. */
	int32_t reassess_due_days;
};

/*
 * Grade a source.  Every chemical must have q >= 0, Q > 0 and beta > 0
 * (finite); otherwise -1 with why naming the chemical by position and name.
 * A source with no chemical, a negative people_500m, or quantities so
 * large that S or R is not finite are refused too; *out is written only
 * on success.  assessed_days is assessed_on as days since 1970-01-01.
 */
int source_grade_compute(const struct source_grade_cfg *c,
    int64_t people_500m, const struct chemical *chem, size_t n,
    int32_t assessed_days, struct source_grade *out, char *why, size_t wlen);

/* "一级".."四级" for 1..4, "" otherwise. */
const char *source_grade_zh(int grade);

/* The level a source grade stands for (一级 red .. 四级 blue; blue for a
 * value outside 1..4). */
enum risk_level source_grade_level(int grade);

/* Days since 1970-01-01 plus months (may be negative), the day clamped to
 * the month's end: 2024-01-31 + 1 = 2024-02-29, 2024-02-29 + 12 =
 * 2025-02-28.  Proleptic Gregorian; a result beyond int32 saturates. */
int32_t days_add_months(int32_t days, int months);

enum risk_method { METHOD_LEC = 0, METHOD_LS };

struct risk_point_cfg {
	struct bands lec; /* on D = L E C */
	struct bands ls;  /* on R = L S */
};

/* Defaults of DOMAIN.md 3.3: LEC ">320:red,>=160:orange,>=70:yellow",
 * LS ">=20:red,>=15:orange,>=9:yellow". */
void risk_point_cfg_init(struct risk_point_cfg *c);

struct risk_point_in {
	enum risk_method method;
	double l, e, c; /* LEC */
	double s;       /* LS (l is shared) */
};

struct risk_point_grade {
	double value; /* D for LEC, R for LS */
	enum risk_level level;
	/* A factor off the method's usual scale (LEC L in {0.1, 0.2, 0.5, 1,
	 * 3, 6, 10} and so on; LS 1..5): graded all the same, and said. */
	char note[128];
};

/*
 * Grade a risk point.  Factors must be finite and > 0 (else -1 with why);
 * values off the usual scales are graded and noted (note in Chinese, ""
 * when every factor is on its scale).  LS ignores e and c.
 */
int risk_point_grade(const struct risk_point_cfg *c,
    const struct risk_point_in *in, struct risk_point_grade *out, char *why,
    size_t wlen);

#endif

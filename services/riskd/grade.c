/*
 * grade - the static gradings of riskd: major hazard sources by
 * GB 18218-2018 (S, R, alpha, 一级..四级, re-assessment date) and risk
 * points by LEC or LS.
 *
 * riskd calls source_grade_compute() and risk_point_grade() when a
 * hazard_source.upsert or risk_point.upsert arrives, and for every row at
 * start; the tables they use (alpha by people, the R bounds, the LEC and LS
 * bands) are parsed from anquan.conf once, here and in level.c.  Every
 * function is pure: no clock, no store, no allocation.  Results keep the
 * figures they came from, so the API can show why a source is 二级.
 *
 * Dates are days since 1970-01-01, as in timeutil; the re-assessment date
 * needs "plus N months, clamped to the month's end", which this file does
 * with its own small proleptic Gregorian calendar so riskd's pure modules
 * stay free of the common library.
 */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "grade.h"

#define Q(len) (int)((len) < 60 ? (len) : 60)

static int grade_refuse(char *why, size_t wlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
grade_refuse(char *why, size_t wlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (why != NULL && wlen > 0)
		vsnprintf(why, wlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Round v to 12 significant digits, so decimal inputs give the double of
 * their decimal result (see grade.h).  Outside 1e-9..1e12 nothing in this
 * domain sits on a bound, and the powers of ten used stay exact.
 */
static double
settle(double v)
{
	static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
	    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
	    1e19, 1e20, 1e21};
	double a = fabs(v);
	int e, k;

	if (!(a >= 1e-9 && a < 1e12))
		return v;
	e = (int)floor(log10(a));
	k = 11 - e;
	if (k < 0)
		k = 0;
	if (k > 21)
		k = 21;
	return round(v * pow10[k]) / pow10[k];
}

/* --- alpha table and grade bounds ---------------------------------------- */

/* A whole number >= 0 filling exactly len bytes. */
static int
spec_count(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (len == 0 || len > 15)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* One "min:alpha" row of the alpha table. */
static int
alpha_row(const char *e, size_t len, size_t n, int64_t *min, double *alpha,
    char *why, size_t wlen)
{
	const char *colon = memchr(e, ':', len), *a, *b;

	if (colon == NULL)
		return grade_refuse(why, wlen,
		    "alpha row %zu \"%.*s\": expected \"people:alpha\"", n,
		    Q(len), e);
	a = e;
	b = colon;
	while (b > a && is_space(b[-1]))
		b--;
	if (spec_count(a, (size_t)(b - a), min) != 0)
		return grade_refuse(why, wlen,
		    "alpha row %zu \"%.*s\": the minimum people \"%.*s\" is "
		    "not a whole number >= 0",
		    n, Q(len), e, Q((size_t)(b - a)), a);
	a = colon + 1;
	while (a < e + len && is_space(*a))
		a++;
	b = e + len;
	if (level_spec_number(a, (size_t)(b - a), alpha) != 0 || !(*alpha > 0))
		return grade_refuse(why, wlen,
		    "alpha row %zu \"%.*s\": alpha \"%.*s\" is not a finite "
		    "number > 0",
		    n, Q(len), e, Q((size_t)(b - a)), a);
	return 0;
}

int
alpha_table_parse(
    const char *spec, struct alpha_table *out, char *why, size_t wlen)
{
	struct alpha_table t;
	const char *cur = spec, *e;
	size_t len, n = 0;

	if (spec == NULL || spec[strspn(spec, " \t")] == '\0')
		return grade_refuse(why, wlen,
		    "empty alpha table: give rows such as \"%s\"",
		    ALPHA_TABLE_DEFAULT);
	memset(&t, 0, sizeof(t));
	while (level_spec_next(&cur, &e, &len)) {
		n++;
		if (len == 0)
			return grade_refuse(
			    why, wlen, "alpha row %zu is empty", n);
		if (t.n == ALPHA_ROWS_MAX)
			return grade_refuse(why, wlen,
			    "alpha row %zu \"%.*s\": more than %d rows", n,
			    Q(len), e, ALPHA_ROWS_MAX);
		if (alpha_row(e, len, n, &t.row[t.n].min_people,
		        &t.row[t.n].alpha, why, wlen) != 0)
			return -1;
		if (t.n > 0 &&
		    t.row[t.n].min_people >= t.row[t.n - 1].min_people)
			return grade_refuse(why, wlen,
			    "alpha row %zu \"%.*s\": minimum %lld is not below "
			    "the previous row's %lld (minimums must strictly "
			    "decrease)",
			    n, Q(len), e, (long long)t.row[t.n].min_people,
			    (long long)t.row[t.n - 1].min_people);
		t.n++;
	}
	if (t.row[t.n - 1].min_people != 0)
		return grade_refuse(why, wlen,
		    "alpha table: the last row's minimum is %lld, it must be "
		    "0 so that every count of people has an alpha",
		    (long long)t.row[t.n - 1].min_people);
	*out = t;
	return 0;
}

double
alpha_for(const struct alpha_table *t, int64_t people_500m)
{
	size_t i;

	assert(t->n > 0);
	for (i = 0; i < t->n; i++) {
		if (t->row[i].min_people <= people_500m)
			return t->row[i].alpha;
	}
	return t->row[t->n - 1].alpha;
}

void
source_grade_cfg_init(struct source_grade_cfg *c)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = alpha_table_parse(ALPHA_TABLE_DEFAULT, &c->alpha, NULL, 0);
	assert(rc == 0);
	rc = source_grade_bounds_parse(SOURCE_GRADE_BOUNDS_DEFAULT, c, NULL, 0);
	assert(rc == 0);
	(void)rc;
	c->major_min_s = 1.0;
	c->reassess_months = 36;
}

int
source_grade_bounds_parse(
    const char *spec, struct source_grade_cfg *c, char *why, size_t wlen)
{
	double r[3];
	const char *cur = spec, *e;
	size_t len, n = 0;

	if (spec == NULL || spec[strspn(spec, " \t")] == '\0')
		return grade_refuse(why, wlen,
		    "empty grade bounds: give the R of 一级, 二级 and 三级, "
		    "such as \"%s\"",
		    SOURCE_GRADE_BOUNDS_DEFAULT);
	while (level_spec_next(&cur, &e, &len)) {
		n++;
		if (n > 3)
			return grade_refuse(why, wlen,
			    "grade bound %zu \"%.*s\": only three bounds "
			    "(一级, 二级, 三级) are graded",
			    n, Q(len), e);
		if (level_spec_number(e, len, &r[n - 1]) != 0 ||
		    !(r[n - 1] > 0))
			return grade_refuse(why, wlen,
			    "grade bound %zu \"%.*s\" is not a finite number "
			    "> 0",
			    n, Q(len), e);
		if (n > 1 && !(r[n - 1] < r[n - 2]))
			return grade_refuse(why, wlen,
			    "grade bound %zu \"%.*s\" is not below the "
			    "previous bound %g (bounds must strictly "
			    "decrease)",
			    n, Q(len), e, r[n - 2]);
	}
	if (n != 3)
		return grade_refuse(why, wlen,
		    "grade bounds: %zu given, three expected (the R of "
		    "一级, 二级 and 三级)",
		    n);
	memcpy(c->grade_min_r, r, sizeof(r));
	return 0;
}

/* --- calendar ------------------------------------------------------------- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static int
leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Leap years among 1..y (extended below 1 by the same rule). */
static int64_t
leaps_through(int64_t y)
{
	return floor_div(y, 4) - floor_div(y, 100) + floor_div(y, 400);
}

/* Days from 1970-01-01 to January 1st of year y. */
static int64_t
year_start(int64_t y)
{
	return 365 * (y - 1970) + leaps_through(y - 1) - leaps_through(1969);
}

static const int month_start[12] = {
    0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

static int
days_in_month(int64_t y, int m)
{
	static const int len[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return len[m - 1] + (m == 2 && leap_year(y));
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	return year_start(y) + month_start[m - 1] + (m > 2 && leap_year(y)) +
	       d - 1;
}

static void
civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t yy, doy;
	int mm;

	/* 146097 days are 400 years: a guess off by at most one year. */
	yy = 1970 + floor_div(days * 400, 146097);
	while (year_start(yy) > days)
		yy--;
	while (year_start(yy + 1) <= days)
		yy++;
	doy = days - year_start(yy);
	for (mm = 12; mm > 1; mm--) {
		if (doy >= month_start[mm - 1] + (mm > 2 && leap_year(yy)))
			break;
	}
	*y = yy;
	*m = mm;
	*d = (int)(doy - month_start[mm - 1] - (mm > 2 && leap_year(yy))) + 1;
}

int32_t
days_add_months(int32_t days, int months)
{
	int64_t y, total, ny, r;
	int m, d, nm;

	civil_from_days(days, &y, &m, &d);
	total = y * 12 + (m - 1) + months;
	ny = floor_div(total, 12);
	nm = (int)(total - ny * 12) + 1;
	if (d > days_in_month(ny, nm))
		d = days_in_month(ny, nm);
	r = days_from_civil(ny, nm, d);
	if (r > INT32_MAX)
		return INT32_MAX;
	if (r < INT32_MIN)
		return INT32_MIN;
	return (int32_t)r;
}

/* --- major hazard sources ----------------------------------------------- */

static int
chemical_refuse(char *why, size_t wlen, size_t i, const struct chemical *ch,
    const char *field, double v, const char *rule)
{
	return grade_refuse(why, wlen,
	    "chemical %zu \"%.*s\": %s must be %s, got %g", i + 1,
	    (int)strnlen(ch->name, sizeof(ch->name)), ch->name, field, rule, v);
}

int
source_grade_compute(const struct source_grade_cfg *c, int64_t people_500m,
    const struct chemical *chem, size_t n, int32_t assessed_days,
    struct source_grade *out, char *why, size_t wlen)
{
	struct source_grade g;
	double s = 0, sum_bq = 0, ratio;
	size_t i;

	if (people_500m < 0)
		return grade_refuse(why, wlen,
		    "people within 500 m must be a count >= 0, got %lld",
		    (long long)people_500m);
	if (n == 0 || chem == NULL)
		return grade_refuse(why, wlen,
		    "no chemical given: S and R are sums over the unit's "
		    "chemicals");
	for (i = 0; i < n; i++) {
		const struct chemical *ch = &chem[i];

		if (!isfinite(ch->q) || ch->q < 0)
			return chemical_refuse(why, wlen, i, ch, "q", ch->q,
			    "a finite quantity >= 0 t");
		if (!isfinite(ch->Q) || !(ch->Q > 0))
			return chemical_refuse(why, wlen, i, ch, "Q", ch->Q,
			    "a finite critical quantity > 0 t");
		if (!isfinite(ch->beta) || !(ch->beta > 0))
			return chemical_refuse(why, wlen, i, ch, "beta",
			    ch->beta, "a finite factor > 0");
		ratio = ch->q / ch->Q;
		s += ratio;
		sum_bq += ch->beta * ratio;
	}
	memset(&g, 0, sizeof(g));
	g.s = settle(s);
	g.sum_bq = settle(sum_bq);
	g.alpha = alpha_for(&c->alpha, people_500m);
	/* From the unsettled sum: settling twice could round twice. */
	g.r = settle(g.alpha * sum_bq);
	if (!isfinite(g.s) || !isfinite(g.r))
		return grade_refuse(why, wlen,
		    "S or R is not finite: the quantities are too large "
		    "against their critical quantities");
	g.major = g.s >= c->major_min_s;
	if (g.r >= c->grade_min_r[0])
		g.grade = 1;
	else if (g.r >= c->grade_min_r[1])
		g.grade = 2;
	else if (g.r >= c->grade_min_r[2])
		g.grade = 3;
	else
		g.grade = 4;
	g.reassess_due_days =
	    days_add_months(assessed_days, c->reassess_months);
	*out = g;
	return 0;
}

const char *
source_grade_zh(int grade)
{
	static const char *const zh[4] = {"一级", "二级", "三级", "四级"};

	return grade >= 1 && grade <= 4 ? zh[grade - 1] : "";
}

enum risk_level
source_grade_level(int grade)
{
	switch (grade) {
	case 1:
		return LEVEL_RED;
	case 2:
		return LEVEL_ORANGE;
	case 3:
		return LEVEL_YELLOW;
	default:
		return LEVEL_BLUE;
	}
}

/* --- risk points --------------------------------------------------------- */

void
risk_point_cfg_init(struct risk_point_cfg *c)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = bands_parse(RISK_LEC_BANDS_DEFAULT, &c->lec, NULL, 0);
	assert(rc == 0);
	rc = bands_parse(RISK_LS_BANDS_DEFAULT, &c->ls, NULL, 0);
	assert(rc == 0);
	(void)rc;
}

static const double lec_l_scale[] = {0.1, 0.2, 0.5, 1, 3, 6, 10};
static const double lec_e_scale[] = {0.5, 1, 2, 3, 6, 10};
static const double lec_c_scale[] = {1, 3, 7, 15, 40, 100};

static int
on_scale(double v, const double *scale, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v == scale[i])
			return 1;
	}
	return 0;
}

static int
on_ls_scale(double v)
{
	return v >= 1 && v <= 5 && v == floor(v);
}

/* Append "L=4" to list, "、"-separated. */
static void
list_factor(char *list, size_t size, const char *name, double v)
{
	size_t used = strlen(list);

	snprintf(
	    list + used, size - used, "%s%s=%g", used > 0 ? "、" : "", name, v);
}

static int
factor_ok(
    const char *method, const char *name, double v, char *why, size_t wlen)
{
	if (isfinite(v) && v > 0)
		return 0;
	return grade_refuse(why, wlen,
	    "%s factor %s must be a finite number > 0, "
	    "got %g",
	    method, name, v);
}

int
risk_point_grade(const struct risk_point_cfg *c, const struct risk_point_in *in,
    struct risk_point_grade *out, char *why, size_t wlen)
{
	struct risk_point_grade g;
	char off[96] = "";
	const char *method;

	memset(&g, 0, sizeof(g));
	switch (in->method) {
	case METHOD_LEC:
		method = "LEC";
		if (factor_ok(method, "L", in->l, why, wlen) != 0 ||
		    factor_ok(method, "E", in->e, why, wlen) != 0 ||
		    factor_ok(method, "C", in->c, why, wlen) != 0)
			return -1;
		if (!on_scale(in->l, lec_l_scale, 7))
			list_factor(off, sizeof(off), "L", in->l);
		if (!on_scale(in->e, lec_e_scale, 6))
			list_factor(off, sizeof(off), "E", in->e);
		if (!on_scale(in->c, lec_c_scale, 6))
			list_factor(off, sizeof(off), "C", in->c);
		g.value = settle(in->l * in->e * in->c);
		break;
	case METHOD_LS:
		method = "LS";
		if (factor_ok(method, "L", in->l, why, wlen) != 0 ||
		    factor_ok(method, "S", in->s, why, wlen) != 0)
			return -1;
		if (!on_ls_scale(in->l))
			list_factor(off, sizeof(off), "L", in->l);
		if (!on_ls_scale(in->s))
			list_factor(off, sizeof(off), "S", in->s);
		g.value = settle(in->l * in->s);
		break;
	default:
		return grade_refuse(why, wlen,
		    "unknown grading method %d (LEC or LS)", (int)in->method);
	}
	if (!isfinite(g.value))
		return grade_refuse(why, wlen,
		    "%s value is not finite: the factors are too large",
		    method);
	g.level =
	    bands_level(in->method == METHOD_LEC ? &c->lec : &c->ls, g.value);
	if (off[0] != '\0')
		snprintf(g.note, sizeof(g.note), "%s 不在 %s 常用取值内", off,
		    method);
	*out = g;
	return 0;
}

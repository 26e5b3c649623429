/*
 * alarm_params - a point's alarm parameters: the point kinds, the
 * configured defaults, the gas default table and alarm_params_resolve().
 *
 * riskd fills a struct alarm_defaults once at start (alarm_defaults_init,
 * then alarm_gas_defaults_parse over the configured table, which refuses
 * a bad table with a reason naming the entry) and, whenever a point is
 * registered or changed, turns its registry row into the struct
 * alarm_params that the state machine in alarm.c reads.  Everything here
 * is plain data the caller owns: no allocation, no clock, no store.
 *
 * A gas default applies only when the point's unit is the default's unit,
 * compared ignoring case and blanks; a point in another unit gets no
 * thresholds and a note that says why, since a value is never converted
 * between units behind the duty officer's back.
 */
#include "alarm.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- point kinds ---------------------------------------------------------- */

static const char *const point_kind_names[POINT_KIND_COUNT] = {"level",
    "temperature", "pressure", "flow", "gas_combustible", "gas_toxic", "oxygen",
    "methane", "smoke", "elevator", "other"};

int
point_kind_parse(const char *s, enum point_kind *out)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < POINT_KIND_COUNT; i++) {
		if (strcmp(s, point_kind_names[i]) == 0) {
			*out = (enum point_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *
point_kind_name(enum point_kind k)
{
	if ((unsigned)k >= POINT_KIND_COUNT)
		return "unknown";
	return point_kind_names[k];
}
/* --- defaults ------------------------------------------------------------- */

static void
gas_set(struct alarm_gas_default *g, enum point_kind kind, const char *unit,
    double ll, double l, double h, double hh)
{
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	snprintf(g->unit, sizeof(g->unit), "%s", unit);
	g->ll = ll;
	g->l = l;
	g->h = h;
	g->hh = hh;
}

void
alarm_defaults_init(struct alarm_defaults *d)
{
	memset(d, 0, sizeof(*d));
	d->deadband_share = 0.02;
	d->delay_ms = 0;
	d->expected_interval_ms = 60000;
	d->offline_factor = 3;
	/* GB/T 50493-2019 5.5.2 and the coal mine safety rules. */
	gas_set(&d->gas[0], POINT_GAS_COMBUSTIBLE, "%LEL", NAN, NAN, 25, 50);
	gas_set(&d->gas[1], POINT_OXYGEN, "%VOL", NAN, 19.5, 23.5, NAN);
	gas_set(&d->gas[2], POINT_METHANE, "%", NAN, NAN, 1.0, 1.5);
	gas_set(&d->gas[3], POINT_GAS_TOXIC, "%OEL", NAN, NAN, 100, 200);
	d->ngas = 4;
}

/* --- the gas default table parser ----------------------------------------- */

static void why_set(char *why, size_t wlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
why_set(char *why, size_t wlen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || wlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, wlen, fmt, ap);
	va_end(ap);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Trim [*b, *e) of blanks on both sides. */
static void
trim(const char **b, const char **e)
{
	while (*b < *e && is_blank(**b))
		(*b)++;
	while (*e > *b && is_blank((*e)[-1]))
		(*e)--;
}

#define GAS_FIELDS 6
static const char *const gas_field_names[GAS_FIELDS] = {
    "kind", "unit", "ll", "l", "h", "hh"};

/*
 * One threshold field: empty is absent (NAN), else a finite number and
 * nothing after it.  0 or -1.
 */
static int
parse_threshold(const char *b, const char *e, double *out)
{
	char buf[64], *end;
	size_t len = (size_t)(e - b);

	if (len == 0) {
		*out = NAN;
		return 0;
	}
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, b, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	if (end == buf || *end != '\0' || errno != 0 || !isfinite(*out))
		return -1;
	return 0;
}

/* Thresholds in the order ll < l < h < hh, skipping the absent ones. */
static int
gas_ordered(const struct alarm_gas_default *g)
{
	double seq[4] = {g->ll, g->l, g->h, g->hh};
	double prev = NAN;
	int i;

	for (i = 0; i < 4; i++) {
		if (isnan(seq[i]))
			continue;
		if (!isnan(prev) && !(prev < seq[i]))
			return 0;
		prev = seq[i];
	}
	return 1;
}

/* Parse entry number idx (from 1), the text [b, e), into *g. */
static int
parse_gas_entry(const char *b, const char *e, size_t idx,
    struct alarm_gas_default *g, char *why, size_t wlen)
{
	const char *fb[GAS_FIELDS], *fe[GAS_FIELDS];
	double *thr[4] = {&g->ll, &g->l, &g->h, &g->hh};
	char word[32];
	const char *p;
	size_t nf = 0, len;
	int i;

	trim(&b, &e);
	if (b == e) {
		why_set(why, wlen, "gas defaults entry %zu is empty", idx);
		return -1;
	}
	for (p = b;; p++) {
		if (p == e || *p == ':') {
			if (nf < GAS_FIELDS) {
				fb[nf] = nf == 0 ? b : fe[nf - 1] + 1;
				fe[nf] = p;
			}
			nf++;
			if (p == e)
				break;
		}
	}
	if (nf != GAS_FIELDS) {
		why_set(why, wlen,
		    "gas defaults entry %zu '%.*s': want kind:unit:ll:l:h:hh "
		    "(6 fields), got %zu",
		    idx, (int)(e - b), b, nf);
		return -1;
	}
	for (i = 0; i < GAS_FIELDS; i++)
		trim(&fb[i], &fe[i]);

	memset(g, 0, sizeof(*g));
	len = (size_t)(fe[0] - fb[0]);
	if (len >= sizeof(word)) {
		why_set(why, wlen, "gas defaults entry %zu: unknown point kind",
		    idx);
		return -1;
	}
	memcpy(word, fb[0], len);
	word[len] = '\0';
	if (point_kind_parse(word, &g->kind) != 0) {
		why_set(why, wlen,
		    "gas defaults entry %zu: unknown point kind '%s'", idx,
		    word);
		return -1;
	}
	len = (size_t)(fe[1] - fb[1]);
	if (len == 0 || len >= sizeof(g->unit)) {
		why_set(why, wlen,
		    "gas defaults entry %zu (%s): the unit must be 1 to %zu "
		    "bytes",
		    idx, word, sizeof(g->unit) - 1);
		return -1;
	}
	memcpy(g->unit, fb[1], len);
	g->unit[len] = '\0';
	for (i = 0; i < 4; i++) {
		if (parse_threshold(fb[i + 2], fe[i + 2], thr[i]) != 0) {
			why_set(why, wlen,
			    "gas defaults entry %zu (%s): %s '%.*s' is not a "
			    "finite number",
			    idx, word, gas_field_names[i + 2],
			    (int)(fe[i + 2] - fb[i + 2]), fb[i + 2]);
			return -1;
		}
	}
	if (isnan(g->ll) && isnan(g->l) && isnan(g->h) && isnan(g->hh)) {
		why_set(why, wlen,
		    "gas defaults entry %zu (%s): no threshold given", idx,
		    word);
		return -1;
	}
	if (!gas_ordered(g)) {
		why_set(why, wlen,
		    "gas defaults entry %zu (%s): thresholds must rise "
		    "strictly ll < l < h < hh",
		    idx, word);
		return -1;
	}
	return 0;
}

int
alarm_gas_defaults_parse(
    const char *spec, struct alarm_defaults *d, char *why, size_t wlen)
{
	struct alarm_gas_default tab[ALARM_GAS_DEFAULTS_MAX];
	const char *p, *b, *e;
	size_t n = 0, idx, j;

	if (spec == NULL)
		spec = "";
	b = spec;
	e = spec + strlen(spec);
	trim(&b, &e);
	if (b == e) {
		why_set(why, wlen,
		    "the gas defaults table is empty: give "
		    "kind:unit:ll:l:h:hh entries separated by commas");
		return -1;
	}
	for (p = spec, idx = 1;; idx++) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);

		if (n == ALARM_GAS_DEFAULTS_MAX) {
			why_set(why, wlen, "gas defaults: more than %d entries",
			    ALARM_GAS_DEFAULTS_MAX);
			return -1;
		}
		if (parse_gas_entry(p, end, idx, &tab[n], why, wlen) != 0)
			return -1;
		for (j = 0; j < n; j++) {
			if (tab[j].kind == tab[n].kind) {
				why_set(why, wlen,
				    "gas defaults entry %zu: %s already given "
				    "in entry %zu",
				    idx, point_kind_name(tab[n].kind), j + 1);
				return -1;
			}
		}
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	memcpy(d->gas, tab, n * sizeof(tab[0]));
	d->ngas = n;
	return 0;
}

/* --- resolving a point's parameters --------------------------------------- */

/* Units are one when equal ignoring ASCII case and blanks. */
static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int
unit_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;
	int aend, bend;

	for (;;) {
		while (i < alen && a[i] != '\0' && is_blank(a[i]))
			i++;
		while (j < blen && b[j] != '\0' && is_blank(b[j]))
			j++;
		aend = i >= alen || a[i] == '\0';
		bend = j >= blen || b[j] == '\0';
		if (aend || bend)
			return aend && bend;
		if (ascii_lower(a[i]) != ascii_lower(b[j]))
			return 0;
		i++;
		j++;
	}
}

/* a x 1000, saturating (delays come from external point rows). */
static int64_t
seconds_to_ms(int64_t s)
{
	if (s > INT64_MAX / 1000)
		return INT64_MAX;
	return s * 1000;
}

static int64_t
double_to_ms(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 9.0e18)
		return INT64_MAX;
	return (int64_t)llround(x);
}

static const struct alarm_gas_default *
gas_default_for(const struct alarm_defaults *d, enum point_kind kind)
{
	size_t i;

	for (i = 0; i < d->ngas && i < ALARM_GAS_DEFAULTS_MAX; i++)
		if (d->gas[i].kind == kind)
			return &d->gas[i];
	return NULL;
}

static void
resolve_thresholds(const struct alarm_point_def *def,
    const struct alarm_defaults *d, struct alarm_params *out, char *note,
    size_t nlen)
{
	const struct alarm_gas_default *g;
	size_t ulen = strnlen(def->unit, sizeof(def->unit));

	out->ll = def->ll;
	out->l = def->l;
	out->h = def->h;
	out->hh = def->hh;
	if (!isnan(def->ll) || !isnan(def->l) || !isnan(def->h) ||
	    !isnan(def->hh))
		return;
	g = gas_default_for(d, def->kind);
	if (g == NULL) {
		out->no_thresholds = 1;
		why_set(note, nlen,
		    "%s point gives no thresholds and its kind has no "
		    "default: only offline and fault alarms",
		    point_kind_name(def->kind));
		return;
	}
	if (!unit_equal(def->unit, ulen, g->unit, sizeof(g->unit))) {
		out->no_thresholds = 1;
		if (ulen == 0)
			why_set(note, nlen,
			    "%s point without a unit: the default thresholds "
			    "are in %s; none applied",
			    point_kind_name(def->kind), g->unit);
		else
			why_set(note, nlen,
			    "%s point in %.*s: the default thresholds are in "
			    "%s; none applied",
			    point_kind_name(def->kind), (int)ulen, def->unit,
			    g->unit);
		return;
	}
	out->ll = g->ll;
	out->l = g->l;
	out->h = g->h;
	out->hh = g->hh;
	out->defaulted = 1;
}

static double
resolve_deadband(const struct alarm_point_def *def,
    const struct alarm_defaults *d, const struct alarm_params *out)
{
	double share = d->deadband_share, t[4], m = 0;
	int i;

	if (isfinite(def->deadband) && def->deadband >= 0)
		return def->deadband;
	if (!isfinite(share) || share < 0)
		share = 0;
	if (isfinite(def->range_lo) && isfinite(def->range_hi) &&
	    def->range_hi > def->range_lo)
		return share * (def->range_hi - def->range_lo);
	t[0] = out->ll;
	t[1] = out->l;
	t[2] = out->h;
	t[3] = out->hh;
	for (i = 0; i < 4; i++)
		if (isfinite(t[i]) && fabs(t[i]) > m)
			m = fabs(t[i]);
	return share * m;
}

void
alarm_params_resolve(const struct alarm_point_def *def,
    const struct alarm_defaults *d, struct alarm_params *out, char *note,
    size_t nlen)
{
	int64_t interval_ms;

	memset(out, 0, sizeof(*out));
	if (note != NULL && nlen > 0)
		note[0] = '\0';
	resolve_thresholds(def, d, out, note, nlen);
	out->range_lo = def->range_lo;
	out->range_hi = def->range_hi;
	out->deadband = resolve_deadband(def, d, out);
	if (def->delay_s >= 0)
		out->delay_ms = seconds_to_ms(def->delay_s);
	else
		out->delay_ms = d->delay_ms > 0 ? d->delay_ms : 0;
	/* A point cannot report continuously: 0 is "not given" too. */
	if (def->expected_interval_s > 0)
		interval_ms = seconds_to_ms(def->expected_interval_s);
	else
		interval_ms = d->expected_interval_ms;
	out->offline_after_ms = double_to_ms(d->offline_factor * interval_ms);
	out->enabled = def->enabled != 0;
}

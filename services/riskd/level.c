/*
 * level - the four risk levels, their names, and the band and sector
 * tables that configuration gives as strings.
 *
 * riskd's configuration code parses the specs of anquan.conf here at start
 * and on reload; grade.c, warning.c and enterprise.c then look levels up in
 * the parsed tables.  Nothing here allocates or keeps state: every table is
 * a fixed-size struct owned by the caller, and a parser that refuses a spec
 * leaves the caller's table untouched and says which entry is wrong and
 * why, in a sentence an operator can act on.  The spec scanner and the
 * number reader are exported for grade.c, whose specs share the grammar.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "level.h"

/* How much of a bad entry a reason quotes: the precision for "%.*s". */
#define QUOTE_MAX 60
#define Q(len) (int)((len) < QUOTE_MAX ? (len) : QUOTE_MAX)

static const char *const level_words[LEVEL_COUNT] = {
    "blue", "yellow", "orange", "red"};
static const char *const level_colours_zh[LEVEL_COUNT] = {
    "蓝色", "黄色", "橙色", "红色"};
static const char *const level_risks_zh[LEVEL_COUNT] = {
    "低风险", "一般风险", "较大风险", "重大风险"};

static int level_refuse(char *why, size_t wlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
level_refuse(char *why, size_t wlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (why != NULL && wlen > 0)
		vsnprintf(why, wlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
is_level(enum risk_level l)
{
	return (int)l >= 0 && (int)l < LEVEL_COUNT;
}

const char *
level_name(enum risk_level l)
{
	return is_level(l) ? level_words[l] : "";
}

const char *
level_colour_zh(enum risk_level l)
{
	return is_level(l) ? level_colours_zh[l] : "";
}

const char *
level_risk_zh(enum risk_level l)
{
	return is_level(l) ? level_risks_zh[l] : "";
}

int
level_parse(const char *s, size_t len, enum risk_level *out)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < LEVEL_COUNT; i++) {
		if (strlen(level_words[i]) == len &&
		    memcmp(s, level_words[i], len) == 0) {
			*out = (enum risk_level)i;
			return 0;
		}
	}
	return -1;
}

enum risk_level
level_raise(enum risk_level l)
{
	return l >= LEVEL_RED ? LEVEL_RED : (enum risk_level)(l + 1);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static const char *
skip_spaces(const char *p, const char *end)
{
	while (p < end && is_space(*p))
		p++;
	return p;
}

int
level_spec_next(const char **cursor, const char **entry, size_t *len)
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
	p = skip_spaces(p, end);
	while (end > p && is_space(end[-1]))
		end--;
	*entry = p;
	*len = (size_t)(end - p);
	return 1;
}

int
level_spec_number(const char *s, size_t len, double *out)
{
	char buf[64], *end;
	int digits = 0;
	double v;
	size_t i;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	/* Only the characters of a decimal number, so strtod cannot take
	 * "inf", "nan" or a hex float. */
	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (strchr("+-.eE", s[i]) == NULL || s[i] == '\0')
			return -1;
	}
	if (digits == 0)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, &end);
	if (end != buf + len || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* 1 when the whole spec is spaces (or NULL). */
static int
spec_blank(const char *spec)
{
	if (spec == NULL)
		return 1;
	while (is_space(*spec))
		spec++;
	return *spec == '\0';
}

/* The level word at *pp (up to a space or the end); *pp moves past it
 * and the spaces after it. */
static int
take_level(const char **pp, const char *end, enum risk_level *out,
    const char **bad, size_t *badlen)
{
	const char *p = *pp, *q = *pp;

	while (p < end && !is_space(*p))
		p++;
	*bad = q;
	*badlen = (size_t)(p - q);
	if (level_parse(q, (size_t)(p - q), out) != 0)
		return -1;
	*pp = skip_spaces(p, end);
	return 0;
}

static int
level_word_refuse(char *why, size_t wlen, const char *what, size_t n,
    const char *e, size_t elen, const char *bad, size_t badlen)
{
	return level_refuse(why, wlen,
	    "%s %zu \"%.*s\": \"%.*s\" is not a level "
	    "(blue, yellow, orange, red)",
	    what, n, Q(elen), e, Q(badlen), bad);
}

/* One "op bound:level" entry of a band table. */
static int
band_entry(const char *e, size_t len, size_t n, double *bound, int *inclusive,
    enum risk_level *level, char *why, size_t wlen)
{
	const char *p = e, *end = e + len, *q, *bad;
	size_t badlen;

	if (p == end || *p != '>')
		return level_refuse(why, wlen,
		    "band entry %zu \"%.*s\": expected \">\" or \">=\" "
		    "before the bound",
		    n, Q(len), e);
	p++;
	*inclusive = p < end && *p == '=';
	if (*inclusive)
		p++;
	p = skip_spaces(p, end);
	q = p;
	while (p < end && *p != ':' && !is_space(*p))
		p++;
	if (level_spec_number(q, (size_t)(p - q), bound) != 0)
		return level_refuse(why, wlen,
		    "band entry %zu \"%.*s\": the bound \"%.*s\" is not a "
		    "finite number",
		    n, Q(len), e, Q((size_t)(p - q)), q);
	p = skip_spaces(p, end);
	if (p == end || *p != ':')
		return level_refuse(why, wlen,
		    "band entry %zu \"%.*s\": expected \":level\" after the "
		    "bound",
		    n, Q(len), e);
	p = skip_spaces(p + 1, end);
	if (take_level(&p, end, level, &bad, &badlen) != 0)
		return level_word_refuse(
		    why, wlen, "band entry", n, e, len, bad, badlen);
	if (p != end)
		return level_refuse(why, wlen,
		    "band entry %zu \"%.*s\": unexpected \"%.*s\" after the "
		    "level",
		    n, Q(len), e, Q((size_t)(end - p)), p);
	return 0;
}

int
bands_parse(const char *spec, struct bands *out, char *why, size_t wlen)
{
	struct bands b;
	const char *cur = spec, *e;
	size_t len, n = 0;

	if (spec_blank(spec))
		return level_refuse(why, wlen,
		    "empty band table: give entries such as "
		    "\">320:red,>=160:orange,>=70:yellow\"");
	memset(&b, 0, sizeof(b));
	b.otherwise = LEVEL_BLUE;
	while (level_spec_next(&cur, &e, &len)) {
		n++;
		if (len == 0)
			return level_refuse(
			    why, wlen, "band entry %zu is empty", n);
		if (b.n == BANDS_MAX)
			return level_refuse(why, wlen,
			    "band entry %zu \"%.*s\": more than %d entries", n,
			    Q(len), e, BANDS_MAX);
		if (band_entry(e, len, n, &b.band[b.n].bound,
		        &b.band[b.n].inclusive, &b.band[b.n].level, why,
		        wlen) != 0)
			return -1;
		/* An entry not below its predecessor could never be
		 * reached (or would make the order matter silently). */
		if (b.n > 0 && !(b.band[b.n].bound < b.band[b.n - 1].bound))
			return level_refuse(why, wlen,
			    "band entry %zu \"%.*s\": bound %g is not below "
			    "the previous bound %g (bounds must strictly "
			    "decrease)",
			    n, Q(len), e, b.band[b.n].bound,
			    b.band[b.n - 1].bound);
		b.n++;
	}
	*out = b;
	return 0;
}

enum risk_level
bands_level(const struct bands *b, double value)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->band[i].inclusive ? value >= b->band[i].bound
		                         : value > b->band[i].bound)
			return b->band[i].level;
	}
	return b->otherwise;
}

/* A sector code as in deploy/data/sectors.csv: [a-z0-9_], 1..31 bytes. */
static int
sector_code_ok(const char *s, size_t len, size_t size)
{
	size_t i;

	if (len == 0 || len >= size)
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	}
	return 1;
}

static int
sector_code_refuse(char *why, size_t wlen, const char *what, size_t n,
    const char *e, size_t elen, const char *code, size_t codelen)
{
	return level_refuse(why, wlen,
	    "%s %zu \"%.*s\": \"%.*s\" is not a sector code (1 to %zu of "
	    "a-z, 0-9, _)",
	    what, n, Q(elen), e, Q(codelen), code,
	    sizeof(((struct sector_list *)0)->sector[0]) - 1);
}

/* One "sector:level" or "*:level" entry; *star says which. */
static int
sector_level_entry(const char *e, size_t len, size_t n, char *sector,
    size_t size, int *star, enum risk_level *level, char *why, size_t wlen)
{
	const char *p = e, *end = e + len, *bad;
	size_t badlen;

	while (p < end && *p != ':' && !is_space(*p))
		p++;
	*star = p - e == 1 && e[0] == '*';
	if (!*star && !sector_code_ok(e, (size_t)(p - e), size))
		return sector_code_refuse(
		    why, wlen, "sector entry", n, e, len, e, (size_t)(p - e));
	if (!*star) {
		memcpy(sector, e, (size_t)(p - e));
		sector[p - e] = '\0';
	}
	p = skip_spaces(p, end);
	if (p == end || *p != ':')
		return level_refuse(why, wlen,
		    "sector entry %zu \"%.*s\": expected \":level\" after "
		    "the sector",
		    n, Q(len), e);
	p = skip_spaces(p + 1, end);
	if (take_level(&p, end, level, &bad, &badlen) != 0)
		return level_word_refuse(
		    why, wlen, "sector entry", n, e, len, bad, badlen);
	if (p != end)
		return level_refuse(why, wlen,
		    "sector entry %zu \"%.*s\": unexpected \"%.*s\" after the "
		    "level",
		    n, Q(len), e, Q((size_t)(end - p)), p);
	return 0;
}

int
sector_levels_parse(
    const char *spec, struct sector_levels *out, char *why, size_t wlen)
{
	struct sector_levels t;
	const char *cur = spec, *e;
	char sector[sizeof(t.entry[0].sector)];
	enum risk_level level = LEVEL_BLUE;
	size_t len, n = 0, i;
	int star, have_star = 0;

	if (spec_blank(spec))
		return level_refuse(why, wlen,
		    "empty sector level table: give entries such as "
		    "\"hazchem:yellow,*:blue\"");
	memset(&t, 0, sizeof(t));
	while (level_spec_next(&cur, &e, &len)) {
		n++;
		if (len == 0)
			return level_refuse(
			    why, wlen, "sector entry %zu is empty", n);
		if (sector_level_entry(e, len, n, sector, sizeof(sector), &star,
		        &level, why, wlen) != 0)
			return -1;
		if (star) {
			if (have_star)
				return level_refuse(why, wlen,
				    "sector entry %zu \"%.*s\": a second "
				    "\"*\" entry",
				    n, Q(len), e);
			have_star = 1;
			t.otherwise = level;
			continue;
		}
		for (i = 0; i < t.n; i++) {
			if (strcmp(t.entry[i].sector, sector) == 0)
				return level_refuse(why, wlen,
				    "sector entry %zu \"%.*s\": sector %s is "
				    "already given",
				    n, Q(len), e, sector);
		}
		if (t.n == SECTOR_LEVELS_MAX)
			return level_refuse(why, wlen,
			    "sector entry %zu \"%.*s\": more than %d sectors",
			    n, Q(len), e, SECTOR_LEVELS_MAX);
		memcpy(t.entry[t.n].sector, sector, sizeof(sector));
		t.entry[t.n].level = level;
		t.n++;
	}
	if (!have_star)
		return level_refuse(why, wlen,
		    "no \"*:level\" entry: the level of every other sector "
		    "must be given");
	*out = t;
	return 0;
}

enum risk_level
sector_levels_get(const struct sector_levels *t, const char *sector)
{
	size_t i;

	if (sector == NULL)
		return t->otherwise;
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->entry[i].sector, sector) == 0)
			return t->entry[i].level;
	}
	return t->otherwise;
}

int
sector_list_parse(
    const char *spec, struct sector_list *out, char *why, size_t wlen)
{
	struct sector_list l;
	const char *cur = spec, *e;
	size_t len, n = 0, i;

	memset(&l, 0, sizeof(l));
	if (spec_blank(spec)) {
		*out = l;
		return 0;
	}
	while (level_spec_next(&cur, &e, &len)) {
		n++;
		if (len == 0)
			return level_refuse(
			    why, wlen, "sector list item %zu is empty", n);
		if (!sector_code_ok(e, len, sizeof(l.sector[0])))
			return sector_code_refuse(
			    why, wlen, "sector list item", n, e, len, e, len);
		for (i = 0; i < l.n; i++) {
			if (strlen(l.sector[i]) == len &&
			    memcmp(l.sector[i], e, len) == 0)
				return level_refuse(why, wlen,
				    "sector list item %zu \"%.*s\": listed "
				    "twice",
				    n, Q(len), e);
		}
		if (l.n == SECTOR_LEVELS_MAX)
			return level_refuse(why, wlen,
			    "sector list item %zu \"%.*s\": more than %d "
			    "sectors",
			    n, Q(len), e, SECTOR_LEVELS_MAX);
		memcpy(l.sector[l.n], e, len);
		l.sector[l.n][len] = '\0';
		l.n++;
	}
	*out = l;
	return 0;
}

int
sector_list_has(const struct sector_list *l, const char *sector)
{
	size_t i;

	if (sector == NULL)
		return 0;
	for (i = 0; i < l->n; i++) {
		if (strcmp(l->sector[i], sector) == 0)
			return 1;
	}
	return 0;
}

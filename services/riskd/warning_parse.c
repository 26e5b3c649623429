/*
 * warning_parse - the parser of the early-warning rule table
 * (DOMAIN.md 3.4), and the names of its rules.
 *
 * riskd calls warn_rules_parse() once on the table from anquan.conf (and
 * on a reload); a table that does not parse is refused whole, with a
 * reason that names the rule by position and quotes it, so the caller
 * keeps its old table and the operator knows what to fix.  The parsed
 * struct warn_rules is plain data the caller owns, read by warn_evaluate()
 * in warning.c.  warn_rule_name() gives the rule names the table is
 * written in, for the machine-readable side of a warning, and
 * warn_rules_window_ms() how much raise history the table needs.
 *
 * Each rule is read with a small cursor (struct scan) that stops at the
 * first error and says what it expected and what it found.
 */
#include "warning.h"
#include "warning_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Ten years: longer than any window a rule table needs, and far from
 * overflowing when added to a wall-clock time. */
#define WARN_DUR_MAX_MS (3650 * MS_DAY)
/* No source has a million points; larger counts are typing errors. */
#define WARN_COUNT_MAX INT64_C(1000000)

static const char *const rule_names[] = {
    [WR_HHLL_LASTING] = "hhll_lasting",
    [WR_HHLL_DURING_OPERATION] = "hhll_during_operation",
    [WR_HHLL_POINTS] = "hhll_points",
    [WR_HHLL_ANY] = "hhll_any",
    [WR_HL_POINTS] = "hl_points",
    [WR_HL_RAISED_IN] = "hl_raised_in",
    [WR_HL_ANY] = "hl_any",
    [WR_OPERATION] = "operation",
    [WR_MAINTENANCE] = "maintenance",
    [WR_OFFLINE_SHARE] = "offline_share",
    [WR_UNACKED_ORANGE] = "unacked_orange",
};

#define RULE_KINDS (sizeof(rule_names) / sizeof(rule_names[0]))

const char *
warn_rule_name(enum warn_rule_kind k)
{
	if ((size_t)k >= RULE_KINDS)
		return "unknown";
	return rule_names[k];
}

int64_t
warn_rules_window_ms(const struct warn_rules *r)
{
	int64_t w = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->rule[i].kind == WR_HL_RAISED_IN && r->rule[i].dur_ms > w)
			w = r->rule[i].dur_ms;
	return w;
}

/* ---- the parser ------------------------------------------------------- */

/* A cursor over one rule's text, with the message of the first error. */
struct scan {
	const char *p;
	const char *end;
	char *err;
	size_t elen;
};

static int scan_fail(struct scan *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
scan_fail(struct scan *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, s->elen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_item_char(char c)
{
	return is_lower(c) || is_digit(c) || c == '_' || c == '/';
}

static void
scan_skip(struct scan *s)
{
	while (s->p < s->end && is_space(*s->p))
		s->p++;
}

static int
scan_at_end(struct scan *s)
{
	scan_skip(s);
	return s->p == s->end;
}

/* Length of the word at p (letters, digits, '_', '/'), for messages. */
static int
word_len(const struct scan *s)
{
	const char *q = s->p;

	while (q < s->end && !is_space(*q) && *q != ',' && q - s->p < 40)
		q++;
	return q == s->p ? 1 : (int)(q - s->p);
}

/* Expect the literal lit after optional spaces. */
static int
scan_expect(struct scan *s, const char *lit, const char *after)
{
	size_t n = strlen(lit);

	scan_skip(s);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0) {
		if (s->p == s->end)
			return scan_fail(s,
			    "expected '%s' after %s, found the end", lit,
			    after);
		return scan_fail(s, "expected '%s' after %s, found '%.*s'", lit,
		    after, word_len(s), s->p);
	}
	s->p += n;
	return 0;
}

/* A whole number of at most 18 digits (so it cannot overflow). */
static int
scan_digits(struct scan *s, int64_t *out)
{
	int64_t v = 0;
	int n = 0;

	while (s->p < s->end && is_digit(*s->p)) {
		if (++n > 18)
			return -1;
		v = v * 10 + (*s->p - '0');
		s->p++;
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

/* DUR: a whole number followed at once by ms, s, m, h or d. */
static int
scan_dur(struct scan *s, const char *what, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"ms", 1}, {"s", MS_SECOND}, {"m", MS_MINUTE},
	    {"h", MS_HOUR}, {"d", MS_DAY}};
	const char *start;
	int64_t v;
	size_t ulen;

	scan_skip(s);
	start = s->p;
	if (s->p == s->end)
		return scan_fail(s,
		    "expected %s (a duration like 10m), found the end", what);
	if (scan_digits(s, &v) != 0) {
		s->p = start;
		return scan_fail(s,
		    "expected %s (a whole number with ms, s, m, h or d, like "
		    "10m), found '%.*s'",
		    what, word_len(s), s->p);
	}
	ulen = 0;
	while (s->p + ulen < s->end && is_lower(s->p[ulen]))
		ulen++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].unit) != ulen ||
		    memcmp(s->p, units[i].unit, ulen) != 0)
			continue;
		s->p += ulen;
		if (v == 0)
			return scan_fail(s,
			    "%s '%.*s' is zero: it must be at least 1ms", what,
			    (int)(s->p - start), start);
		if (v > WARN_DUR_MAX_MS / units[i].ms)
			return scan_fail(s, "%s '%.*s' is longer than 3650d",
			    what, (int)(s->p - start), start);
		*out = v * units[i].ms;
		return 0;
	}
	s->p = start;
	return scan_fail(s,
	    "%s '%.*s' has no valid unit: write ms, s, m, "
	    "h or d right after the number",
	    what, word_len(s), start);
}

/* N: a whole number >= 1. */
static int
scan_count(struct scan *s, const char *what, int64_t *out)
{
	const char *start;
	int64_t v;

	scan_skip(s);
	start = s->p;
	if (s->p == s->end)
		return scan_fail(s,
		    "expected %s (a whole number >= 1), found the end", what);
	if (scan_digits(s, &v) != 0 || (s->p < s->end && is_item_char(*s->p)) ||
	    (s->p < s->end && *s->p == '.')) {
		s->p = start;
		return scan_fail(s,
		    "expected %s (a whole number >= 1), found '%.*s'", what,
		    word_len(s), start);
	}
	if (v < 1 || v > WARN_COUNT_MAX)
		return scan_fail(s,
		    "%s %" PRId64 " is out of range (1 to %" PRId64 ")", what,
		    v, WARN_COUNT_MAX);
	*out = v;
	return 0;
}

/* P%: 0 < P <= 100, with at most 6 decimals, as a share 0..1. */
static int
scan_percent(struct scan *s, double *out)
{
	const char *start;
	int64_t whole = 0, frac = 0, scale = 1;

	scan_skip(s);
	start = s->p;
	if (s->p == s->end)
		return scan_fail(
		    s, "expected a share like 20%%, found the end");
	if (scan_digits(s, &whole) != 0 || whole > 100)
		goto bad;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		while (s->p < s->end && is_digit(*s->p)) {
			if (scale == 1000000)
				goto bad;
			frac = frac * 10 + (*s->p - '0');
			scale *= 10;
			s->p++;
		}
		if (scale == 1)
			goto bad;
	}
	if (s->p == s->end || *s->p != '%')
		goto bad;
	s->p++;
	whole = whole * scale + frac; /* the share in units of 1/(100 scale) */
	if (whole <= 0 || whole > 100 * scale)
		return scan_fail(s,
		    "share '%.*s' is out of range: it must be "
		    "above 0%% and at most 100%%",
		    (int)(s->p - start), start);
	/* One correctly rounded division, so 20% is exactly 2.0 / 10.0. */
	*out = (double)whole / (double)(100 * scale);
	return 0;
bad:
	s->p = start;
	return scan_fail(s,
	    "expected a share like 20%% or 12.5%%, found '%.*s'", word_len(s),
	    start);
}

/*
 * A list "a,b,c" of [a-z0-9_/] items into r->list.  slash: 1 when items
 * may be "type/level" (one '/', both sides non-empty), 0 when no '/' at
 * all.
 */
static int
scan_list(struct scan *s, struct warn_rule *r, int slash, const char *what)
{
	r->nlist = 0;
	for (;;) {
		const char *b, *slashp = NULL;
		size_t len;

		scan_skip(s);
		b = s->p;
		while (s->p < s->end && is_item_char(*s->p)) {
			if (*s->p == '/') {
				if (!slash)
					return scan_fail(s,
					    "'/' is not allowed in %s", what);
				if (slashp != NULL)
					return scan_fail(s,
					    "'%.*s' has two '/': "
					    "write type/level",
					    word_len(s), b);
				slashp = s->p;
			}
			s->p++;
		}
		len = (size_t)(s->p - b);
		if (len == 0) {
			if (s->p == s->end)
				return scan_fail(
				    s, "expected %s, found the end", what);
			return scan_fail(s,
			    "expected %s (a-z, 0-9 and _), found '%.*s'", what,
			    word_len(s), s->p);
		}
		if (slashp != NULL && (slashp == b || slashp == s->p - 1))
			return scan_fail(
			    s, "'%.*s' is not type/level", (int)len, b);
		if (len >= sizeof(r->list[0]))
			return scan_fail(s,
			    "'%.*s' is longer than %zu characters", (int)len, b,
			    sizeof(r->list[0]) - 1);
		if (r->nlist == WARN_LIST_MAX)
			return scan_fail(
			    s, "more than %d items in %s", WARN_LIST_MAX, what);
		memcpy(r->list[r->nlist], b, len);
		r->list[r->nlist][len] = '\0';
		r->nlist++;
		scan_skip(s);
		if (s->p == s->end || *s->p != ',')
			return 0;
		s->p++;
	}
}

/* "grade G,G" with G in 1..4, into r->grades. */
static int
scan_grades(struct scan *s, struct warn_rule *r)
{
	if (scan_expect(s, "grade", "the duration") != 0)
		return -1;
	r->grades = 0;
	for (;;) {
		scan_skip(s);
		if (s->p == s->end)
			return scan_fail(s, "expected a source grade (1 to 4), "
			                    "found the end");
		if (*s->p < '1' || *s->p > '4' ||
		    (s->p + 1 < s->end && is_item_char(s->p[1])))
			return scan_fail(s,
			    "expected a source grade (1 to 4), found '%.*s'",
			    word_len(s), s->p);
		r->grades |= 1u << (*s->p - '0');
		s->p++;
		scan_skip(s);
		if (s->p == s->end || *s->p != ',')
			return 0;
		s->p++;
	}
}

/* The arguments of r->kind, after its name. */
static int
scan_args(struct scan *s, struct warn_rule *r)
{
	const char *name = rule_names[r->kind];

	switch (r->kind) {
	case WR_HHLL_LASTING:
		if (scan_expect(s, ">=", name) != 0)
			return -1;
		return scan_dur(s, "the duration", &r->dur_ms);
	case WR_HHLL_DURING_OPERATION:
		return scan_list(s, r, 0, "operation types");
	case WR_HHLL_POINTS:
	case WR_HL_POINTS:
		if (scan_expect(s, ">=", name) != 0)
			return -1;
		return scan_count(s, "the number of points", &r->count);
	case WR_HHLL_ANY:
	case WR_HL_ANY:
		return 0;
	case WR_HL_RAISED_IN:
		if (scan_dur(s, "the window", &r->dur_ms) != 0 ||
		    scan_expect(s, ">=", "the window") != 0)
			return -1;
		return scan_count(s, "the number of alarms", &r->count);
	case WR_OPERATION:
		return scan_list(
		    s, r, 1, "operation types (type or type/level)");
	case WR_MAINTENANCE:
		return scan_list(s, r, 0, "maintenance reasons");
	case WR_OFFLINE_SHARE:
		if (scan_expect(s, ">=", name) != 0)
			return -1;
		return scan_percent(s, &r->share);
	case WR_UNACKED_ORANGE:
		if (r->level <= LEVEL_ORANGE)
			return scan_fail(s,
			    "unacked_orange raises an orange "
			    "warning, so its level must be red");
		if (scan_expect(s, ">=", name) != 0 ||
		    scan_dur(s, "the duration", &r->dur_ms) != 0)
			return -1;
		return scan_grades(s, r);
	}
	return scan_fail(s, "rule kind %d has no grammar", (int)r->kind);
}

/* One rule "LEVEL: RULE ARGS" in s. */
static int
parse_rule(struct scan *s, struct warn_rule *r)
{
	const char *b;
	size_t len, k;

	memset(r, 0, sizeof(*r));
	scan_skip(s);
	b = s->p;
	while (s->p < s->end &&
	       (is_lower(*s->p) || (*s->p >= 'A' && *s->p <= 'Z')))
		s->p++;
	len = (size_t)(s->p - b);
	if (len == 0)
		return scan_fail(s,
		    "expected a level (red, orange or yellow) "
		    "first, found '%.*s'",
		    word_len(s), s->p);
	if (level_parse(b, len, &r->level) != 0)
		return scan_fail(s,
		    "'%.*s' is not a level: write red, orange or yellow",
		    (int)len, b);
	if (r->level == LEVEL_BLUE)
		return scan_fail(s, "blue is not a warning level: a source is "
		                    "blue when no rule matches");
	if (scan_expect(s, ":", "the level") != 0)
		return -1;
	scan_skip(s);
	b = s->p;
	while (s->p < s->end &&
	       (is_lower(*s->p) ||
	           (s->p > b && (is_digit(*s->p) || *s->p == '_'))))
		s->p++;
	len = (size_t)(s->p - b);
	if (len == 0) {
		if (s->p == s->end)
			return scan_fail(s, "no rule after the level");
		return scan_fail(s,
		    "expected a rule name after the level, found '%.*s'",
		    word_len(s), s->p);
	}
	for (k = 0; k < RULE_KINDS; k++)
		if (strlen(rule_names[k]) == len &&
		    memcmp(rule_names[k], b, len) == 0)
			break;
	if (k == RULE_KINDS) {
		s->p = b;
		return scan_fail(s, "unknown rule '%.*s'", word_len(s), b);
	}
	r->kind = (enum warn_rule_kind)k;
	if (scan_args(s, r) != 0)
		return -1;
	if (!scan_at_end(s))
		return scan_fail(
		    s, "unexpected '%.*s' after the rule", word_len(s), s->p);
	return 0;
}

/* The rule's text without surrounding spaces, cut for a message. */
static void
rule_text(const char *b, const char *e, const char **tb, int *tlen)
{
	while (b < e && is_space(*b))
		b++;
	while (e > b && is_space(e[-1]))
		e--;
	*tb = b;
	*tlen = (int)(e - b > 120 ? 120 : e - b);
}

int
warn_rules_parse(
    const char *spec, struct warn_rules *out, char *why, size_t wlen)
{
	struct scan s;
	const char *p = spec, *e, *tb;
	size_t pos = 0;
	int tlen;
	char err[200];

	memset(out, 0, sizeof(*out));
	s.err = err;
	s.elen = sizeof(err);
	s.p = spec;
	s.end = spec + strlen(spec);
	if (scan_at_end(&s))
		return 0; /* no rules: every source stays blue */
	for (;;) {
		e = strchr(p, ';');
		if (e == NULL)
			e = p + strlen(p);
		pos++;
		rule_text(p, e, &tb, &tlen);
		if (tlen == 0) {
			snprintf(why, wlen,
			    "rule %zu is empty (two ';' in a row "
			    "or a ';' at the end)",
			    pos);
			goto fail;
		}
		if (pos > WARN_RULES_MAX) {
			snprintf(why, wlen,
			    "rule %zu (%.*s): more than %d rules", pos, tlen,
			    tb, WARN_RULES_MAX);
			goto fail;
		}
		s.p = p;
		s.end = e;
		if (parse_rule(&s, &out->rule[out->n]) != 0) {
			snprintf(why, wlen, "rule %zu (%.*s): %s", pos, tlen,
			    tb, err);
			goto fail;
		}
		out->n++;
		if (*e == '\0')
			return 0;
		p = e + 1;
	}
fail:
	/* Never half a table: the caller keeps its old one. */
	memset(out, 0, sizeof(*out));
	return -1;
}

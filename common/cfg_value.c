/*
 * cfg_value - the text of one configuration value, parsed and formatted.
 *
 * cfg.c hands every value it meets (a default from a table, a line of the
 * file, an override, a cfg_set() call) to cfg_value_parse(), which checks
 * the syntax of the key's type and its bounds and writes the C value into
 * a slot the caller owns; cfg_value_format() is the way back, used by
 * cfg_print, the reload report and cfg_value_text().  Formatting picks the
 * largest unit that divides a duration or size exactly and the shortest
 * decimal that reads back as the same double, so whatever is printed loads
 * again unchanged.  Nothing here allocates or touches a file.
 */
#include "cfg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parse an unsigned whole number at s; returns the end or NULL. */
static const char *
parse_whole(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return NULL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			v = UINT64_MAX; /* saturate: reported as too large */
		else
			v = v * 10 + d;
	}
	*out = v;
	return s;
}

/* A number with a unit suffix from `units`; the multiplied value must fit
 * in int64_t.  Returns 0, -1 for bad syntax, -2 for too large. */
struct unit {
	const char *suffix;
	int64_t mult;
};

static int
parse_with_unit(
    const char *s, const struct unit *units, size_t nunits, int64_t *out)
{
	uint64_t v;
	const char *end = parse_whole(s, &v);

	if (end == NULL)
		return -1;
	for (size_t i = 0; i < nunits; i++) {
		if (strcasecmp(end, units[i].suffix) != 0)
			continue;
		if (v > (uint64_t)INT64_MAX / (uint64_t)units[i].mult)
			return -2;
		*out = (int64_t)v * units[i].mult;
		return 0;
	}
	return -1;
}

static const struct unit duration_units[] = {
    {"", 1},
    {"ms", 1},
    {"s", 1000},
    {"m", 60000},
    {"h", 3600000},
};
static const struct unit size_units[] = {
    {"", 1},
    {"k", 1024},
    {"m", 1024 * 1024},
    {"g", 1024 * 1024 * 1024},
};

/* Text of an int64 in the key's natural unit (durations, sizes). */
static void
format_int(const struct cfg_key *k, int64_t v, char *buf, size_t size)
{
	const struct unit *units = NULL;
	size_t nunits = 0;

	if (k->type == CFG_T_DURATION_MS) {
		units = duration_units + 2; /* s, m, h */
		nunits = 3;
	} else if (k->type == CFG_T_SIZE) {
		units = size_units + 1; /* k, m, g */
		nunits = 3;
	}
	for (size_t i = nunits; i-- > 0;) {
		if (v != 0 && v % units[i].mult == 0) {
			snprintf(buf, size, "%lld%s",
			    (long long)(v / units[i].mult), units[i].suffix);
			return;
		}
	}
	snprintf(buf, size, "%lld%s", (long long)v,
	    k->type == CFG_T_DURATION_MS && v != 0 ? "ms" : "");
}

/* Shortest text that reads back as the same double. */
static void
format_double(double v, char *buf, size_t size)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

void
cfg_value_format(const struct cfg_key *k, const void *p, char *buf, size_t size)
{
	switch (k->type) {
	case CFG_T_INT:
	case CFG_T_DURATION_MS:
	case CFG_T_SIZE: {
		int64_t v;

		memcpy(&v, p, sizeof(v));
		format_int(k, v, buf, size);
		break;
	}
	case CFG_T_DOUBLE: {
		double v;

		memcpy(&v, p, sizeof(v));
		format_double(v, buf, size);
		break;
	}
	case CFG_T_BOOL:
		snprintf(buf, size, "%s", *(const bool *)p ? "true" : "false");
		break;
	case CFG_T_STRING:
		snprintf(buf, size, "%s", (const char *)p);
		break;
	case CFG_T_ENUM: {
		int v, nwords = 0;

		memcpy(&v, p, sizeof(v));
		while (k->words[nwords] != NULL)
			nwords++;
		snprintf(
		    buf, size, "%s", v >= 0 && v < nwords ? k->words[v] : "?");
		break;
	}
	}
}

static bool
has_bounds(const struct cfg_key *k)
{
	return k->min != 0 || k->max != 0;
}

/* Check an integer value against the key's bounds; reason into why. */
static int
check_int_range(const struct cfg_key *k, int64_t v, char *why, size_t size)
{
	char got[64], lim[64];

	if (!has_bounds(k))
		return 0;
	if ((double)v < k->min) {
		format_int(k, v, got, sizeof(got));
		format_int(k, (int64_t)k->min, lim, sizeof(lim));
		snprintf(why, size, "%s is below the minimum %s", got, lim);
		return -1;
	}
	if ((double)v > k->max) {
		format_int(k, v, got, sizeof(got));
		format_int(k, (int64_t)k->max, lim, sizeof(lim));
		snprintf(why, size, "%s is above the maximum %s", got, lim);
		return -1;
	}
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* A decimal number: sign, digits with an optional point, exponent.  Hex,
 * inf and nan, which strtod also takes, are refused. */
static bool
decimal_syntax_ok(const char *s)
{
	bool digits = false;

	if (*s == '+' || *s == '-')
		s++;
	for (; isdigit((unsigned char)*s); s++)
		digits = true;
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++)
			digits = true;
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

int
cfg_value_parse(
    const struct cfg_key *k, const char *s, void *p, char *why, size_t size)
{
	switch (k->type) {
	case CFG_T_INT: {
		int64_t v;
		char *end;

		if (*s == '\0' || isspace((unsigned char)*s)) {
			snprintf(
			    why, size, "expected a whole number, got '%s'", s);
			return -1;
		}
		errno = 0;
		v = strtoll(s, &end, 10);
		if (*end != '\0') {
			snprintf(
			    why, size, "expected a whole number, got '%s'", s);
			return -1;
		}
		if (errno == ERANGE) {
			snprintf(why, size, "number '%s' is too large", s);
			return -1;
		}
		if (check_int_range(k, v, why, size) < 0)
			return -1;
		memcpy(p, &v, sizeof(v));
		return 0;
	}
	case CFG_T_DOUBLE: {
		double v;

		if (!decimal_syntax_ok(s)) {
			snprintf(why, size,
			    "expected a decimal number, got '%s'", s);
			return -1;
		}
		v = strtod(s, NULL);
		if (!isfinite(v)) {
			snprintf(why, size, "number '%s' is too large", s);
			return -1;
		}
		if (has_bounds(k) && (v < k->min || v > k->max)) {
			snprintf(why, size, "%s is outside %g..%g", s, k->min,
			    k->max);
			return -1;
		}
		memcpy(p, &v, sizeof(v));
		return 0;
	}
	case CFG_T_BOOL: {
		bool v;

		if (parse_bool(s, &v) < 0) {
			snprintf(why, size,
			    "expected true or false (yes/no, on/off, 1/0), "
			    "got '%s'",
			    s);
			return -1;
		}
		*(bool *)p = v;
		return 0;
	}
	case CFG_T_STRING: {
		size_t len = strlen(s);

		if (len >= k->size) {
			snprintf(why, size,
			    "value is %zu bytes long, at most %zu allowed", len,
			    k->size - 1);
			return -1;
		}
		memcpy(p, s, len + 1);
		return 0;
	}
	case CFG_T_DURATION_MS:
	case CFG_T_SIZE: {
		bool dur = k->type == CFG_T_DURATION_MS;
		int64_t v;
		int rc = dur ? parse_with_unit(s, duration_units, 5, &v)
		             : parse_with_unit(s, size_units, 4, &v);

		if (rc == -2) {
			snprintf(why, size, "'%s' is too large", s);
			return -1;
		}
		if (rc < 0) {
			snprintf(why, size,
			    dur ? "bad duration '%s': use a whole number with "
			          "ms, s, m or h (250ms, 5s, 2m, 1h); a bare "
			          "number means milliseconds"
			        : "bad size '%s': use a whole number of bytes "
			          "with an optional k, m or g (512, 64k, 16m, "
			          "1g)",
			    s);
			return -1;
		}
		if (check_int_range(k, v, why, size) < 0)
			return -1;
		memcpy(p, &v, sizeof(v));
		return 0;
	}
	case CFG_T_ENUM: {
		size_t used = 0;

		for (int i = 0; k->words[i] != NULL; i++) {
			if (strcasecmp(s, k->words[i]) == 0) {
				memcpy(p, &i, sizeof(i));
				return 0;
			}
		}
		used = (size_t)snprintf(why, size, "'%s' is not one of:", s);
		for (int i = 0; k->words[i] != NULL && used < size; i++)
			used += (size_t)snprintf(why + used, size - used,
			    "%s %s", i ? "," : "", k->words[i]);
		return -1;
	}
	}
	snprintf(why, size, "key has an unknown type");
	return -1;
}

void
cfg_value_shown(const struct cfg_key *k, const void *p, char *buf, size_t size)
{
	/* An empty secret has nothing to hide, and saying so helps. */
	if ((k->flags & CFG_SECRET) &&
	    !(k->type == CFG_T_STRING && *(const char *)p == '\0'))
		snprintf(buf, size, "(hidden)");
	else
		cfg_value_format(k, p, buf, size);
}

const char *
cfg_value_text(const struct cfg_section *section, const struct cfg_key *key,
    char *buf, size_t size)
{
	cfg_value_format(
	    key, (const char *)section->base + key->offset, buf, size);
	return buf;
}

/*
 * records_fields - the field checks of the registry records.
 *
 * Called on ingestd's loop thread by the validators of the registry group
 * (records_registry.c, records_people.c; records_registry_internal.h says
 * how they fit).  Each check reads one member of a cJSON object, returns 0
 * or -1 with a reason naming the object and the field, and keeps nothing:
 * strings handed back point into the caller's tree.  The formats of the
 * city's codes live here once: department codes, district codes against
 * the in-memory registry, mainland phone numbers, CAS numbers with their
 * check digit, and a person {id, name, phone} as rosters list them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ingestd.h"
#include "json.h"
#include "kinds_internal.h"
#include "records_fields.h"
#include "timeutil.h"

int
records_fields_why_json(
    const char *at, const struct json_err *jerr, char *why, size_t whysize)
{
	snprintf(why, whysize, "%s: %s", at, jerr->msg);
	return -1;
}

/* Refuse members of o not in names (NULL-terminated). */
int
records_fields_only(const cJSON *o, const char *at, const char *const *names,
    char *why, size_t whysize)
{
	for (const cJSON *c = o->child; c != NULL; c = c->next) {
		size_t i;

		for (i = 0; names[i] != NULL; i++)
			if (strcmp(c->string, names[i]) == 0)
				break;
		if (names[i] == NULL) {
			snprintf(why, whysize, "%s: unknown field '%.40s'", at,
			    c->string);
			return -1;
		}
	}
	return 0;
}

/* A string of 1..max bytes (*out NULL when optional and absent). */
int
records_fields_text(const cJSON *o, const char *at, const char *key,
    bool required, size_t max, const char **out, char *why, size_t whysize)
{
	struct json_err jerr;
	int r;

	*out = NULL;
	r = json_get_str(o, key, out, required, &jerr);
	if (r < 0)
		return records_fields_why_json(at, &jerr, why, whysize);
	if (r == 1 && ((*out)[0] == '\0' || strlen(*out) > max)) {
		snprintf(why, whysize,
		    "%s: field '%s' must be 1 to %zu bytes long", at, key, max);
		return -1;
	}
	return 0;
}

/* A code: 1..64 bytes without spaces or control characters. */
int
records_fields_code(const cJSON *o, const char *at, const char *key,
    bool required, const char **out, char *why, size_t whysize)
{
	char reason[96];

	if (records_fields_text(o, at, key, required, 4 * INGEST_POINT_MAX, out,
	        why, whysize) != 0)
		return -1;
	if (*out != NULL &&
	    readings_point_ok(*out, reason, sizeof(reason)) != 0) {
		snprintf(why, whysize, "%s: field '%s' %s", at, key, reason);
		return -1;
	}
	return 0;
}

/* A number in (lo, hi] when lo_open, else [lo, hi]. */
int
records_fields_num(const cJSON *o, const char *at, const char *key,
    bool required, double lo, bool lo_open, double hi, double *out, bool *given,
    char *why, size_t whysize)
{
	struct json_err jerr;
	int r;

	r = json_get_double(o, key, out, required, &jerr);
	if (r < 0)
		return records_fields_why_json(at, &jerr, why, whysize);
	*given = r == 1;
	if (*given &&
	    ((lo_open ? !(*out > lo) : !(*out >= lo)) || !(*out <= hi))) {
		snprintf(why, whysize,
		    "%s: field '%s' must be %s %g and at most %g, got %g", at,
		    key, lo_open ? "above" : "at least", lo, hi, *out);
		return -1;
	}
	return 0;
}

int
records_fields_int(const cJSON *o, const char *at, const char *key,
    bool required, int64_t lo, int64_t hi, int64_t *out, bool *given, char *why,
    size_t whysize)
{
	struct json_err jerr;
	int r;

	r = json_get_int64(o, key, out, required, &jerr);
	if (r < 0)
		return records_fields_why_json(at, &jerr, why, whysize);
	*given = r == 1;
	if (*given && (*out < lo || *out > hi)) {
		snprintf(why, whysize,
		    "%s: field '%s' must be an integer from %lld to %lld, got "
		    "%lld",
		    at, key, (long long)lo, (long long)hi, (long long)*out);
		return -1;
	}
	return 0;
}

int
records_fields_bool(const cJSON *o, const char *key, bool required, bool *out,
    bool *given, char *why, size_t whysize)
{
	struct json_err jerr;
	int r;

	*out = false;
	r = json_get_bool(o, key, out, required, &jerr);
	if (r < 0)
		return records_fields_why_json("data", &jerr, why, whysize);
	*given = r == 1;
	return 0;
}

/* A date YYYY-MM-DD within [lo, hi] (days since 1970-01-01). */
int
records_fields_date(const cJSON *o, const char *key, int64_t lo, int64_t hi,
    int64_t *days, char *why, size_t whysize)
{
	const char *s, *perr = NULL;
	char a[TIMEUTIL_DATE_SIZE], b[TIMEUTIL_DATE_SIZE];

	if (records_fields_text(o, "data", key, true, 10, &s, why, whysize) !=
	    0)
		return -1;
	if (timeutil_parse_date_n(s, strlen(s), days, &perr) != 0) {
		snprintf(why, whysize,
		    "data: field '%s' is not a date YYYY-MM-DD: %s", key,
		    perr != NULL ? perr : "malformed");
		return -1;
	}
	if (*days < lo || *days > hi) {
		timeutil_format_date(lo, a, sizeof(a));
		timeutil_format_date(hi, b, sizeof(b));
		snprintf(why, whysize,
		    "data: field '%s' must be a date from %s to %s, got %s",
		    key, a, b, s);
		return -1;
	}
	return 0;
}

/* A time: RFC 3339 with an offset, or integer epoch milliseconds. */
int
records_fields_time(
    const cJSON *o, const char *key, int64_t *ms, char *why, size_t whysize)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	const char *perr = NULL;
	struct json_err jerr;

	if (it == NULL || cJSON_IsNull(it)) {
		snprintf(why, whysize, "data: field '%s' is required", key);
		return -1;
	}
	if (cJSON_IsString(it)) {
		if (timeutil_parse_rfc3339_n(it->valuestring,
		        strlen(it->valuestring), ms, &perr) == 0)
			return 0;
		snprintf(why, whysize,
		    "data: field '%s' is not an RFC 3339 time: %s", key,
		    perr != NULL ? perr : "malformed");
		return -1;
	}
	if (json_get_int64(o, key, ms, true, &jerr) == 1)
		return 0;
	snprintf(why, whysize,
	    "data: field '%s' must be an RFC 3339 string with offset or "
	    "integer epoch milliseconds",
	    key);
	return -1;
}

/* A department code's form; whether it exists is for apply. */
int
records_fields_dept(const cJSON *o, const char *key, bool required,
    const char **out, char *why, size_t whysize)
{
	size_t n;
	bool ok;

	if (records_fields_text(
	        o, "data", key, required, 64, out, why, whysize) != 0)
		return -1;
	if (*out == NULL)
		return 0;
	n = strlen(*out);
	ok = n >= 2 && n <= DEPT_CODE_MAX && (*out)[0] >= 'A' &&
	     (*out)[0] <= 'Z';
	for (size_t i = 1; ok && i < n; i++)
		ok = ((*out)[i] >= 'A' && (*out)[i] <= 'Z') ||
		     ((*out)[i] >= '0' && (*out)[i] <= '9');
	if (!ok) {
		snprintf(why, whysize,
		    "data: field '%s' '%.20s' is not a department code (like "
		    "YJJ, see departments.csv)",
		    key, *out);
		return -1;
	}
	return 0;
}

/* The registry index of a district code of the city, or -1 with why. */
int
records_fields_district(const struct ingest_ctx *ctx, const char *key,
    const char *code, char *why, size_t whysize)
{
	int d = registry_district(ctx->reg, code);

	if (d < 0)
		snprintf(why, whysize,
		    "data: field '%s' '%.20s' is not a district code of the "
		    "city",
		    key, code);
	return d;
}

/*
 * Plausible phone numbers: a mobile (11 digits, 1[3-9]..., "+86" allowed
 * before it), or a landline with its area code, "0531-86012345" or
 * "053186012345", optionally with "-" and an extension of up to 6 digits.
 */
bool
records_fields_phone_ok(const char *p)
{
	size_t n, a, l, x;

	if (strncmp(p, "+86", 3) == 0) {
		p += 3;
		if (*p == ' ' || *p == '-')
			p++;
		if (*p != '1')
			return false;
	}
	n = strspn(p, "0123456789");
	if (p[0] == '1')
		return n == 11 && p[n] == '\0' && p[1] >= '3' && p[1] <= '9';
	if (p[0] != '0' || p[1] == '0')
		return false;
	if (p[n] == '\0')
		return n >= 10 && n <= 12;
	if (p[n] != '-' || n < 3 || n > 4)
		return false;
	a = n + 1;
	l = strspn(p + a, "0123456789");
	if (l < 7 || l > 8)
		return false;
	if (p[a + l] == '\0')
		return true;
	if (p[a + l] != '-')
		return false;
	x = strspn(p + a + l + 1, "0123456789");
	return x >= 1 && x <= 6 && p[a + l + 1 + x] == '\0';
}

/* A CAS registry number, 2-7 digits, 2 digits, check digit (the sum of
 * the other digits weighted 1, 2, 3... from the right, modulo 10). */
bool
records_fields_cas_ok(const char *s)
{
	size_t a = strspn(s, "0123456789"), i;
	int sum = 0, w = 1;

	if (a < 2 || a > 7 || s[a] != '-' ||
	    strspn(s + a + 1, "0123456789") != 2 || s[a + 3] != '-' ||
	    s[a + 4] < '0' || s[a + 4] > '9' || s[a + 5] != '\0')
		return false;
	for (i = a + 2; i >= a + 1; i--)
		sum += (s[i] - '0') * w++;
	for (i = a; i-- > 0;)
		sum += (s[i] - '0') * w++;
	return sum % 10 == s[a + 4] - '0';
}

/* A person {id, name, phone} at `at`, written to w. */
int
records_fields_person(const cJSON *p, const char *at, struct json_out *w,
    char *why, size_t whysize)
{
	static const char *const fields[] = {"id", "name", "phone", NULL};
	const char *id, *name, *phone;

	if (!cJSON_IsObject(p)) {
		snprintf(why, whysize,
		    "%s must be an object {id, name, phone}, got %s", at,
		    json_type_name(p));
		return -1;
	}
	if (records_fields_only(p, at, fields, why, whysize) != 0 ||
	    records_fields_code(p, at, "id", true, &id, why, whysize) != 0 ||
	    records_fields_text(p, at, "name", true, PERSON_MAX_BYTES, &name,
	        why, whysize) != 0 ||
	    records_fields_text(p, at, "phone", true, PHONE_MAX_BYTES, &phone,
	        why, whysize) != 0)
		return -1;
	if (!records_fields_phone_ok(phone)) {
		snprintf(why, whysize,
		    "%s: phone '%.32s' is not plausible (a mobile 1xxxxxxxxxx "
		    "or a landline 0531-xxxxxxxx)",
		    at, phone);
		return -1;
	}
	json_out_obj_open(w);
	json_out_kv_str(w, "id", id);
	json_out_kv_str(w, "name", name);
	json_out_kv_str(w, "phone", phone);
	json_out_obj_close(w);
	return 0;
}

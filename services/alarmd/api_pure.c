/*
 * api_pure - the pure parts of alarmd's HTTP API: what a client sends,
 * decoded strictly, and the roster gaps over a unit's shifts.
 *
 * api.c calls these from its handlers; tests/unit/test_alarmd_api.c
 * drives them without a store, a clock or a network.  Bodies go through
 * json_parse() (common/json.h: strict UTF-8, no trailing garbage), then
 * every field is checked here: a field the body does not take, one given
 * twice, one of the wrong type or out of form is refused with a reason
 * that names it, so a mistaken silence is never created silently wider
 * or longer than meant.  Texts are counted in characters (the body is
 * valid UTF-8 by then), since a duty officer writes Chinese.
 *
 * The roster gaps: route_gaps() (route.c) takes an array of full shifts,
 * each with its leader and officers, so one unit's weeks of shifts would
 * cost a large array.  api_unit_gaps() feeds it a bounded piece at a
 * time: the shifts are sorted by start, so the piece from shift i to j
 * decides the gaps of [start of i, start of j) exactly once the coverage
 * of the earlier pieces, which all started before, is added as one shift
 * from the piece's start to the latest end seen so far.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "http_param.h"
#include "timeutil.h"

/* Shifts route_gaps() sees at once (one more: the coverage so far). */
#define GAPS_PIECE 32

/* Longest monitoring point code, in characters (points.code). */
#define POINT_MAX_CHARS 128

/* --- small helpers ------------------------------------------------------ */

/* Characters of valid UTF-8 text. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* 1 when s holds nothing but spaces, tabs and line ends. */
static int
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

/* Copy s into a buffer of size bytes; -1 when it does not fit. */
static int
copy_in(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

/*
 * Refuse a member of obj whose key is not in names (NULL-terminated, at
 * most 16) or that comes twice; what is "a silence", "matchers", ...
 */
static int
check_keys(const cJSON *obj, const char *const *names, const char *what,
    char *why, size_t wlen)
{
	unsigned seen = 0;
	char list[200], sb[64];
	size_t len = 0;

	list[0] = '\0';
	for (size_t i = 0; names[i] != NULL && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i ? ", " : "", names[i]);
	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		size_t i;

		for (i = 0; names[i] != NULL; i++)
			if (strcmp(c->string, names[i]) == 0)
				break;
		if (names[i] == NULL) {
			snprintf(why, wlen, "unknown field '%s': %s takes %s",
			    http_param_shown(c->string, sb, sizeof(sb)), what,
			    list);
			return -1;
		}
		if (seen & (1u << i)) {
			snprintf(why, wlen,
			    "field '%s' is given more than once", names[i]);
			return -1;
		}
		seen |= 1u << i;
	}
	return 0;
}

/* Parse a body that must be a JSON object; NULL with why. */
static cJSON *
parse_object(const char *body, size_t len, char *why, size_t wlen)
{
	struct json_err err;
	cJSON *root = json_parse(body, len, &err);

	if (root == NULL) {
		snprintf(why, wlen, "the body is not JSON: %s", err.msg);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(why, wlen, "the body must be a JSON object, got %s",
		    json_type_name(root));
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* --- ids and durations -------------------------------------------------- */

int
api_id_parse(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (s == NULL || s[0] < '1' || s[0] > '9')
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return 0;
}

int
api_duration_parse(const char *s, int64_t *ms, char *why, size_t wlen)
{
	static const char units[] = "dhms";
	static const int64_t unit_ms[] = {86400000, 3600000, 60000, 1000};
	const char *p = s;
	size_t next_unit = 0; /* units come largest first, each once */
	int64_t total = 0;
	char sb[64];

	if (s == NULL || *s == '\0')
		goto bad;
	while (*p != '\0') {
		int64_t v = 0;
		int digits = 0;
		const char *u;

		while (*p >= '0' && *p <= '9') {
			if (++digits > 9)
				goto bad;
			v = v * 10 + (*p++ - '0');
		}
		if (digits == 0 || *p == '\0' ||
		    (u = strchr(units + next_unit, *p)) == NULL)
			goto bad;
		next_unit = (size_t)(u - units) + 1;
		/* 9 digits of days fit: 999999999 * 86400000 < 2^63. */
		total += v * unit_ms[u - units];
		if (total > API_SILENCE_MAX_MS * 1000)
			goto bad;
		p++;
	}
	*ms = total;
	return 0;
bad:
	snprintf(why, wlen,
	    "'%s' is not a duration: write a number and a unit, largest unit "
	    "first, such as 90m, 2h, 1h30m or 7d (units d, h, m, s)",
	    http_param_shown(s != NULL ? s : "", sb, sizeof(sb)));
	return -1;
}

/* --- ack and resolve ---------------------------------------------------- */

int
api_note_parse(
    const char *body, size_t len, char **note, char *why, size_t wlen)
{
	static const char *const names[] = {"note", NULL};
	struct json_err err;
	const char *v = NULL;
	cJSON *root;
	size_t i;

	*note = NULL;
	for (i = 0; i < len; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\n' &&
		    body[i] != '\r')
			break;
	if (i == len)
		return 0;
	if ((root = parse_object(body, len, why, wlen)) == NULL)
		return -1;
	if (check_keys(root, names, "an acknowledgement or resolution", why,
	        wlen) != 0) {
		cJSON_Delete(root);
		return -1;
	}
	if (json_get_str(root, "note", &v, false, &err) < 0) {
		snprintf(why, wlen, "%s", err.msg);
		cJSON_Delete(root);
		return -1;
	}
	if (v != NULL && utf8_chars(v) > API_NOTE_MAX_CHARS) {
		snprintf(why, wlen,
		    "field 'note' has %zu characters; at most %d are kept",
		    utf8_chars(v), API_NOTE_MAX_CHARS);
		cJSON_Delete(root);
		return -1;
	}
	if (v != NULL && (*note = strdup(v)) == NULL) {
		snprintf(why, wlen, "out of memory reading the note");
		cJSON_Delete(root);
		return -1;
	}
	cJSON_Delete(root);
	return 0;
}

/* --- silences ----------------------------------------------------------- */

/* A cause as incidents.cause has them (0010_alarmd.sql). */
static int
cause_ok(const char *c)
{
	static const char *const words[] = {"alarm", "device", "risk", NULL};
	static const char *const prefixes[] = {
	    "warning:", "deadline:", "roster_gap:", NULL};

	for (size_t i = 0; words[i] != NULL; i++)
		if (strcmp(c, words[i]) == 0)
			return 1;
	for (size_t i = 0; prefixes[i] != NULL; i++) {
		size_t n = strlen(prefixes[i]);

		if (strncmp(c, prefixes[i], n) == 0 && c[n] != '\0')
			return !blank(c + n);
	}
	return 0;
}

/* The matchers object into out; -1 with why. */
static int
parse_matchers(
    const cJSON *m, struct api_silence_in *out, char *why, size_t wlen)
{
	static const char *const names[] = {
	    "uscc", "district", "point", "cause", "level", NULL};
	char sb[80];
	const char *got;

	if (check_keys(m, names, "matchers", why, wlen) != 0)
		return -1;
	if (m->child == NULL) {
		snprintf(why, wlen,
		    "field 'matchers' needs at least one of uscc, district, "
		    "point, cause, level: a silence of everything is refused");
		return -1;
	}
	for (const cJSON *c = m->child; c != NULL; c = c->next) {
		const char *k = c->string, *v;

		if (!cJSON_IsString(c) || c->valuestring == NULL) {
			snprintf(why, wlen,
			    "field 'matchers.%s' must be a string, got %s", k,
			    json_type_name(c));
			return -1;
		}
		v = c->valuestring;
		if (strcmp(k, "uscc") == 0) {
			if (http_param_check_uscc(
			        "matchers.uscc", v, &got, why, wlen) != 0)
				return -1;
			copy_in(out->uscc, sizeof(out->uscc), v);
		} else if (strcmp(k, "district") == 0) {
			if (http_param_check_district("matchers.district", v,
			        NULL, NULL, &got, why, wlen) != 0)
				return -1;
			copy_in(out->district, sizeof(out->district), v);
		} else if (strcmp(k, "point") == 0) {
			size_t n = utf8_chars(v);

			if (n == 0 || n > POINT_MAX_CHARS ||
			    strpbrk(v, " \t") ||
			    copy_in(out->point, sizeof(out->point), v) != 0) {
				snprintf(why, wlen,
				    "field 'matchers.point' must be a "
				    "monitoring point code of 1 to %d "
				    "characters without spaces; got '%s'",
				    POINT_MAX_CHARS,
				    http_param_shown(v, sb, sizeof(sb)));
				return -1;
			}
		} else if (strcmp(k, "cause") == 0) {
			if (!cause_ok(v) ||
			    copy_in(out->cause, sizeof(out->cause), v) != 0) {
				snprintf(why, wlen,
				    "field 'matchers.cause' must be alarm, "
				    "device, risk, warning:<source>, "
				    "deadline:<kind>:<key> or "
				    "roster_gap:<unit> (at most %zu bytes); "
				    "got '%s'",
				    sizeof(out->cause) - 1,
				    http_param_shown(v, sb, sizeof(sb)));
				return -1;
			}
		} else {
			if (al_level_parse(v, &out->level) != 0) {
				snprintf(why, wlen,
				    "field 'matchers.level' must be one of "
				    "blue, yellow, orange, red (it silences "
				    "that level and below); got '%s'",
				    http_param_shown(v, sb, sizeof(sb)));
				return -1;
			}
			out->has_level = 1;
		}
	}
	return 0;
}

/* When the silence ends, from duration or ends_at; -1 with why. */
static int
parse_end(const cJSON *root, int64_t now_ms, struct api_silence_in *out,
    char *why, size_t wlen)
{
	struct json_err err;
	const char *dur = NULL, *end = NULL, *twhy = NULL;
	char sb[64];
	int64_t len_ms;

	err.msg[0] = '\0';
	if (json_get_str(root, "duration", &dur, false, &err) < 0 ||
	    json_get_str(root, "ends_at", &end, false, &err) < 0) {
		snprintf(why, wlen, "%s", err.msg);
		return -1;
	}
	if (dur != NULL && end != NULL) {
		snprintf(
		    why, wlen, "give either 'duration' or 'ends_at', not both");
		return -1;
	}
	if (dur == NULL && end == NULL) {
		snprintf(why, wlen,
		    "field 'duration' (such as \"2h\") or 'ends_at' (RFC "
		    "3339) is required: a silence must end");
		return -1;
	}
	if (dur != NULL) {
		char dwhy[HTTP_PARAM_WHY_SIZE];

		if (api_duration_parse(dur, &len_ms, dwhy, sizeof(dwhy)) != 0) {
			snprintf(why, wlen, "field 'duration': %s", dwhy);
			return -1;
		}
		out->duration_ms = len_ms;
		out->ends_ms = now_ms + len_ms;
	} else {
		if (timeutil_parse_rfc3339_n(
		        end, strlen(end), &out->ends_ms, &twhy) != 0) {
			snprintf(why, wlen,
			    "field 'ends_at' must be an RFC 3339 time with "
			    "an offset, such as 2026-11-29T08:00:00+08:00 "
			    "(%s); got '%s'",
			    twhy != NULL ? twhy : "not a time",
			    http_param_shown(end, sb, sizeof(sb)));
			return -1;
		}
		len_ms = out->ends_ms - now_ms;
	}
	if (len_ms < API_SILENCE_MIN_MS || len_ms > API_SILENCE_MAX_MS) {
		snprintf(why, wlen,
		    "a silence lasts from 1 minute to 30 days; %s %s",
		    dur != NULL ? "'duration' is" : "'ends_at' is",
		    len_ms < 0                    ? "in the past"
		    : len_ms < API_SILENCE_MIN_MS ? "less than a minute away"
		                                  : "more than 30 days away");
		return -1;
	}
	out->starts_ms = now_ms;
	return 0;
}

int
api_silence_parse(const char *body, size_t len, int64_t now_ms,
    struct api_silence_in *out, char *why, size_t wlen)
{
	static const char *const names[] = {
	    "matchers", "reason", "duration", "ends_at", NULL};
	struct json_err err;
	const cJSON *m = NULL;
	const char *reason = NULL;
	cJSON *root;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if ((root = parse_object(body, len, why, wlen)) == NULL)
		return -1;
	if (check_keys(root, names, "a silence", why, wlen) != 0)
		goto done;
	err.msg[0] = '\0';
	if (json_get_obj(root, "matchers", &m, true, &err) < 0 ||
	    json_get_str(root, "reason", &reason, true, &err) < 0) {
		snprintf(why, wlen, "%s", err.msg);
		goto done;
	}
	if (parse_matchers(m, out, why, wlen) != 0)
		goto done;
	if (blank(reason)) {
		snprintf(why, wlen,
		    "field 'reason' must say why the notices are held back");
		goto done;
	}
	if (utf8_chars(reason) > API_REASON_MAX_CHARS ||
	    copy_in(out->reason, sizeof(out->reason), reason) != 0) {
		snprintf(why, wlen,
		    "field 'reason' has %zu characters; at most %d are kept",
		    utf8_chars(reason), API_REASON_MAX_CHARS);
		goto done;
	}
	if (parse_end(root, now_ms, out, why, wlen) != 0)
		goto done;
	rc = 0;
done:
	cJSON_Delete(root);
	return rc;
}

void
api_silence_matchers_json(const struct api_silence_in *in, struct json_out *w)
{
	json_out_obj_open(w);
	if (in->uscc[0] != '\0')
		json_out_kv_str(w, "uscc", in->uscc);
	if (in->district[0] != '\0')
		json_out_kv_str(w, "district", in->district);
	if (in->point[0] != '\0')
		json_out_kv_str(w, "point", in->point);
	if (in->cause[0] != '\0')
		json_out_kv_str(w, "cause", in->cause);
	if (in->has_level)
		json_out_kv_str(w, "level", al_level_name(in->level));
	json_out_obj_close(w);
}

/* --- roster gaps -------------------------------------------------------- */

/* Append gap g to out (merging it with the last when they touch). */
static void
gap_add(struct route_gap g, struct route_gap *out, size_t max, size_t *n,
    struct route_gap *last)
{
	if (*n > 0 && last->to_ms == g.from_ms) {
		last->to_ms = g.to_ms;
		if (*n <= max)
			out[*n - 1] = *last;
		return;
	}
	*last = g;
	if (*n < max)
		out[*n] = g;
	(*n)++;
}

size_t
api_unit_gaps(const char *unit, const struct api_span *shifts, size_t n,
    int64_t from_ms, int64_t to_ms, struct route_gap *out, size_t max)
{
	struct route_shift *piece;
	struct route_gap got[GAPS_PIECE + 2], last = {0, 0};
	int64_t covered_to = INT64_MIN; /* latest end of earlier pieces */
	int64_t w_from = from_ms;
	size_t count = 0;

	if (from_ms >= to_ms)
		return 0;
	if ((piece = calloc(GAPS_PIECE + 1, sizeof(*piece))) == NULL)
		return SIZE_MAX;
	for (size_t i = 0; i <= GAPS_PIECE; i++)
		snprintf(piece[i].unit, sizeof(piece[i].unit), "%s", unit);
	for (size_t i = 0;; i += GAPS_PIECE) {
		size_t k = 0, m;
		int64_t w_to;

		/* The piece decides up to the start of the next one. */
		w_to = i + GAPS_PIECE < n ? shifts[i + GAPS_PIECE].start_ms
		                          : to_ms;
		if (w_to > to_ms)
			w_to = to_ms;
		if (w_to < w_from)
			w_to = w_from;
		if (covered_to > w_from) {
			piece[k].start_ms = w_from;
			piece[k].end_ms = covered_to;
			k++;
		}
		for (size_t j = i; j < n && j < i + GAPS_PIECE; j++) {
			assert(j == 0 ||
			       shifts[j - 1].start_ms <= shifts[j].start_ms);
			piece[k].start_ms = shifts[j].start_ms;
			piece[k].end_ms = shifts[j].end_ms;
			if (shifts[j].end_ms > covered_to)
				covered_to = shifts[j].end_ms;
			k++;
		}
		if (w_to > w_from) {
			m = route_gaps(unit, piece, k, w_from, w_to, got,
			    sizeof(got) / sizeof(got[0]));
			assert(m <= sizeof(got) / sizeof(got[0]));
			for (size_t g = 0; g < m; g++)
				gap_add(got[g], out, max, &count, &last);
		}
		w_from = w_to;
		if (i + GAPS_PIECE >= n || w_from >= to_ms)
			break;
	}
	free(piece);
	return count;
}

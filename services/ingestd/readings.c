/*
 * readings - strict decoding and validation of readings into a job.
 *
 * api.c hands us the body of POST /v1/readings (a JSON object with a
 * "readings" array, or NDJSON with one reading a line); intake.c hands us
 * readings it unpacked from protobuf, one by one, through readings_check().
 * Each reading ends in exactly one place of the job: readings (a known
 * point, with the topic it will be published on), unknown (a point not yet
 * registered: quarantine, never dropped), or rejected (with its index and a
 * reason an integrator can act on).  Only a body that cannot be read at all
 * (not JSON, no "readings" array, too many items) fails as a whole.
 *
 * Everything here is pure: the registry, the caller's scope and the clock
 * come in struct ingest_ctx, and nothing touches the store, so the unit
 * tests drive it directly.  It runs on the loop thread for every reading,
 * so it stays allocation-free per reading: the job's arrays grow by
 * doubling, and the duplicate check uses one table per request.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingestd.h"
#include "json.h"
#include "timeutil.h"

static const char *const quality_names[] = {"good", "bad", "maintenance"};

int
readings_point_ok(const char *code, char *why, size_t whysize)
{
	const unsigned char *p = (const unsigned char *)code;
	bool ascii = true;
	size_t n;

	for (n = 0; p[n] != '\0'; n++) {
		if (p[n] <= 0x20 || p[n] == 0x7f) {
			snprintf(why, whysize,
			    "must not contain spaces or control characters "
			    "(byte %zu is 0x%02X)",
			    n + 1, p[n]);
			return -1;
		}
		if (p[n] >= 0x80)
			ascii = false;
	}
	if (n == 0) {
		snprintf(why, whysize, "is empty");
		return -1;
	}
	if (n > INGEST_POINT_MAX) {
		snprintf(why, whysize, "is %zu bytes long, at most %d allowed",
		    n, INGEST_POINT_MAX);
		return -1;
	}
	if (!ascii) {
		size_t bad;

		if (!json_utf8_valid(code, n, &bad)) {
			snprintf(why, whysize,
			    "is not valid UTF-8 (byte %zu)", bad + 1);
			return -1;
		}
		/* The spaces sector systems type by accident: no-break and
		 * ideographic space. */
		if (strstr(code, "\xc2\xa0") != NULL ||
		    strstr(code, "\xe3\x80\x80") != NULL) {
			snprintf(why, whysize, "must not contain spaces");
			return -1;
		}
	}
	return 0;
}

/* The scope refusal names the codes, so the integrator knows what to ask
 * the platform's operator for. */
static int
reject_scope(const struct ingest_ctx *ctx, uint32_t index, const char *point,
    const struct reg_point *p, struct ingest_job *job)
{
	const char *d = registry_district_code(ctx->reg, p->district);
	const char *s = registry_sector_code(ctx->reg, p->sector);

	if (ingest_job_reject(job, index,
		"point %s belongs to district %s / sector %s outside the scope "
		"of source %s",
		point, d ? d : "?", s ? s : "?", ctx->source->name) != 0)
		return -1;
	return 1;
}

int
readings_check(const struct ingest_ctx *ctx, uint32_t index,
    const char *point, int64_t ts_ms, double value, bool has_value,
    int quality, struct ingest_job *job)
{
	const struct reg_point *p;
	struct ingest_reading r;
	char why[96];

#define REFUSE(...)                                                            \
	return ingest_job_reject(job, index, __VA_ARGS__) == 0 ? 1 : -1

	if (readings_point_ok(point, why, sizeof(why)) != 0)
		REFUSE("field 'point' %s", why);
	if (quality < INGEST_Q_GOOD || quality > INGEST_Q_MAINTENANCE)
		REFUSE("field 'quality' must be good, bad or maintenance");
	if (has_value && !isfinite(value))
		REFUSE("field 'value' must be a finite number");
	if (!has_value && quality == INGEST_Q_GOOD)
		REFUSE("field 'value' is required when quality is good "
		       "(send quality bad or maintenance for a reading "
		       "without a value)");
	if (ctx->max_future_ms >= 0 && ts_ms > ctx->now_ms + ctx->max_future_ms)
		REFUSE("field 'ts' is %lld s in the future, at most %lld s "
		       "ahead is accepted (check the sender's clock)",
		    (long long)((ts_ms - ctx->now_ms + 999) / 1000),
		    (long long)(ctx->max_future_ms / 1000));
	if (ctx->retention_ms > 0 && ts_ms < ctx->now_ms - ctx->retention_ms)
		REFUSE("field 'ts' is older than the retention window of "
		       "%lld days",
		    (long long)(ctx->retention_ms / TIMEUTIL_MS_PER_DAY));
#undef REFUSE

	memset(&r, 0, sizeof(r));
	memcpy(r.point, point, strlen(point) + 1);
	r.ts_ms = ts_ms;
	r.value = has_value ? value : 0.0;
	r.has_value = has_value;
	r.quality = (uint8_t)quality;
	r.index = index;

	p = registry_point(ctx->reg, point);
	if (p == NULL)
		return ingest_job_add_unknown(job, &r) == 0 ? 0 : -1;
	/* A NULL source is a trusted intake inside the data center. */
	if (ctx->source != NULL &&
	    !registry_in_scope(ctx->source, p->district, p->sector))
		return reject_scope(ctx, index, point, p, job);
	r.topic = p->topic;
	return ingest_job_add_reading(job, &r) == 0 ? 0 : -1;
}

/* --- duplicates within one request ------------------------------------- */

static uint64_t
reading_hash(const struct ingest_reading *r)
{
	const unsigned char *p = (const unsigned char *)r->point;
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)r->ts_ms;

	for (; *p != '\0'; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h ^ (h >> 31);
}

/* Keep the first reading of each (point, ts) of arr, refuse the others;
 * *found tells whether any was refused. */
static int
dedupe_array(struct ingest_reading *arr, size_t *n, struct ingest_job *job,
    bool *found)
{
	uint32_t *slots;
	size_t cap = 16, i, out = 0, mask, s;

	if (*n < 2)
		return 0;
	while (cap < *n * 2)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	mask = cap - 1;
	for (i = 0; i < *n; i++) {
		const struct ingest_reading *first = NULL;

		for (s = reading_hash(&arr[i]) & mask; slots[s] != 0;
		     s = (s + 1) & mask) {
			const struct ingest_reading *e = &arr[slots[s] - 1];

			if (e->ts_ms == arr[i].ts_ms &&
			    strcmp(e->point, arr[i].point) == 0) {
				first = e;
				break;
			}
		}
		if (first != NULL) {
			*found = true;
			if (ingest_job_reject(job, arr[i].index,
				"duplicate of item %u in this request",
				first->index) != 0) {
				free(slots);
				return -1;
			}
			continue;
		}
		if (out != i)
			arr[out] = arr[i];
		slots[s] = (uint32_t)(++out);
	}
	*n = out;
	free(slots);
	return 0;
}

static int
reject_cmp(const void *a, const void *b)
{
	const struct ingest_reject *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

int
readings_dedupe(struct ingest_job *job)
{
	bool found = false;

	/* A point is either known or not for the whole request, so its
	 * duplicates are all in one of the two arrays. */
	if (dedupe_array(job->readings, &job->nreadings, job, &found) != 0 ||
	    dedupe_array(job->unknown, &job->nunknown, job, &found) != 0)
		return -1;
	if (found)
		qsort(job->rejected, job->nrejected, sizeof(*job->rejected),
		    reject_cmp);
	return 0;
}

/* --- JSON items ---------------------------------------------------------- */

/* ts: an RFC 3339 string with offset, or integer epoch milliseconds. */
static int
item_ts(const cJSON *ts, int64_t *ms, char *why, size_t whysize)
{
	const char *perr = NULL;
	double v;

	if (cJSON_IsString(ts)) {
		if (timeutil_parse_rfc3339_n(ts->valuestring,
			strlen(ts->valuestring), ms, &perr) != 0) {
			snprintf(why, whysize,
			    "field 'ts' is not an RFC 3339 time: %s",
			    perr ? perr : "malformed");
			return -1;
		}
		return 0;
	}
	if (!cJSON_IsNumber(ts)) {
		snprintf(why, whysize,
		    "field 'ts' must be an RFC 3339 string with offset or "
		    "integer epoch milliseconds, got %s",
		    json_type_name(ts));
		return -1;
	}
	v = ts->valuedouble;
	if (v != floor(v) || v > (double)JSON_INT_EXACT_MAX ||
	    v < -(double)JSON_INT_EXACT_MAX) {
		snprintf(why, whysize,
		    "field 'ts' as a number must be whole epoch milliseconds "
		    "(e.g. 1795996800000)");
		return -1;
	}
	*ms = (int64_t)v;
	return 0;
}

static int
item_quality(const cJSON *q, int *out, char *why, size_t whysize)
{
	size_t i;

	if (q == NULL || cJSON_IsNull(q)) {
		*out = INGEST_Q_GOOD;
		return 0;
	}
	if (cJSON_IsString(q)) {
		for (i = 0; i < 3; i++) {
			if (strcmp(q->valuestring, quality_names[i]) == 0) {
				*out = (int)i;
				return 0;
			}
		}
		snprintf(why, whysize,
		    "field 'quality' must be good, bad or maintenance, got "
		    "'%.40s'",
		    q->valuestring);
		return -1;
	}
	snprintf(why, whysize,
	    "field 'quality' must be the string good, bad or maintenance, "
	    "got %s",
	    json_type_name(q));
	return -1;
}

/*
 * One reading object.  Its members are walked once by
 * ingest_job_item_fields() (cJSON keeps them in a list, so four lookups by
 * name would walk it four times), which also catches unknown and repeated
 * fields.
 */
static int
reading_item(const struct ingest_ctx *ctx, uint32_t index, const cJSON *item,
    struct ingest_job *job)
{
	static const char *const reading_fields[] = {
	    "point", "ts", "value", "quality"};
	const cJSON *point, *ts, *value, *quality;
	const cJSON **const field[] = {&point, &ts, &value, &quality};
	char why[INGEST_REASON_MAX];
	int64_t ts_ms = 0;
	int q = INGEST_Q_GOOD;
	bool has_value = false;
	double v = 0;
	int rc;

#define REFUSE(...)                                                            \
	return ingest_job_reject(job, index, __VA_ARGS__) == 0 ? 1 : -1

	if ((rc = ingest_job_item_fields(job, index, item, "a reading",
		 reading_fields, field, 4)) != 0)
		return rc;
	if (point == NULL || cJSON_IsNull(point))
		REFUSE("field 'point' is required");
	if (!cJSON_IsString(point))
		REFUSE("field 'point' must be a string, got %s",
		    json_type_name(point));
	if (ts == NULL || cJSON_IsNull(ts))
		REFUSE("field 'ts' is required");
	if (item_ts(ts, &ts_ms, why, sizeof(why)) != 0)
		REFUSE("%s", why);
	if (item_quality(quality, &q, why, sizeof(why)) != 0)
		REFUSE("%s", why);
	if (value != NULL && !cJSON_IsNull(value)) {
		if (!cJSON_IsNumber(value))
			REFUSE("field 'value' must be a number, got %s",
			    json_type_name(value));
		v = value->valuedouble;
		has_value = true;
	}
#undef REFUSE
	return readings_check(
	    ctx, index, point->valuestring, ts_ms, v, has_value, q, job);
}

int
readings_from_json(const struct ingest_ctx *ctx, const char *body, size_t len,
    struct ingest_job *job, char *why, size_t whysize)
{
	const cJSON *arr = NULL, *c, *item;
	struct json_err jerr;
	uint32_t index = 0;
	cJSON *root;
	size_t n;

	root = json_parse(body, len, &jerr);
	if (root == NULL) {
		snprintf(why, whysize, "the body is not valid JSON: %s",
		    jerr.msg);
		return -1;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(why, whysize,
		    "the body must be a JSON object {\"readings\":[...]}, got "
		    "%s",
		    json_type_name(root));
		goto fail;
	}
	for (c = root->child; c != NULL; c = c->next) {
		if (strcmp(c->string, "readings") != 0) {
			snprintf(why, whysize,
			    "unknown top-level field '%.40s' (the body is "
			    "{\"readings\":[...]})",
			    c->string);
			goto fail;
		}
		if (arr != NULL) {
			snprintf(why, whysize,
			    "field 'readings' appears twice");
			goto fail;
		}
		arr = c;
	}
	if (arr == NULL || !cJSON_IsArray(arr)) {
		snprintf(why, whysize,
		    "the body needs a 'readings' array, got %s",
		    json_type_name(arr));
		goto fail;
	}
	n = (size_t)cJSON_GetArraySize(arr);
	if (ctx->max_items > 0 && n > ctx->max_items) {
		snprintf(why, whysize,
		    "%zu readings in one request, the limit is %zu: split the "
		    "batch",
		    n, ctx->max_items);
		goto fail;
	}
	for (item = arr->child; item != NULL; item = item->next) {
		if (reading_item(ctx, index, item, job) < 0)
			goto oom;
		index++;
	}
	job->nitems = index;
	cJSON_Delete(root);
	if (readings_dedupe(job) != 0) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	return 0;
oom:
	snprintf(why, whysize, "out of memory");
fail:
	cJSON_Delete(root);
	return -1;
}

static bool
line_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/*
 * One reading a line; blank lines do not count as items, so the index of
 * an item is what the sender counts when it skips them.  A line that is
 * not JSON refuses only that item.
 */
int
readings_from_ndjson(const struct ingest_ctx *ctx, const char *body,
    size_t len, struct ingest_job *job, char *why, size_t whysize)
{
	const char *p = body, *end = body + len, *nl;
	struct json_err jerr;
	uint32_t index = 0;
	size_t n;
	int rc;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (!line_blank(p, n)) {
			cJSON *item;

			if (ctx->max_items > 0 && index >= ctx->max_items) {
				snprintf(why, whysize,
				    "more than %zu readings in one request, the "
				    "limit: split the batch",
				    ctx->max_items);
				return -1;
			}
			item = json_parse(p, n, &jerr);
			if (item == NULL) {
				rc = ingest_job_reject(job, index,
				    "line is not valid JSON: %s", jerr.msg);
			} else {
				rc = reading_item(ctx, index, item, job);
				cJSON_Delete(item);
			}
			if (rc < 0) {
				snprintf(why, whysize, "out of memory");
				return -1;
			}
			index++;
		}
		p += n + 1;
	}
	if (index == 0) {
		snprintf(why, whysize,
		    "the body holds no readings (NDJSON: one JSON reading a "
		    "line)");
		return -1;
	}
	job->nitems = index;
	if (readings_dedupe(job) != 0) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * events - the decoding of POST /v1/events and the envelope of an event.
 *
 * api.c calls events_from_json() with a request body {"events":[...]}.
 * Here is what every event must be whatever its kind: an object of exactly
 * kind, id, at and data; a kind found in the table of kinds.c; an id of 1
 * to INGEST_EVENT_ID_MAX bytes without control characters, not used twice
 * in the request; at as RFC 3339 with an offset or integer epoch
 * milliseconds, not too far ahead of our clock; data an object without a
 * repeated field.  Only then does the kind's validator from kinds.c judge
 * data.  A valid event joins the job with its data as compact JSON and the
 * kind's parsed form; a refused one becomes a rejection by index with a
 * reason.  It runs on the loop thread; the job is the caller's, and owns
 * what is added to it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingestd.h"
#include "json.h"
#include "timeutil.h"

/* Bytes of an unknown kind quoted back in its rejection. */
#define KIND_NAME_SHOWN 60
/* No kind has more than a few dozen fields; the bound keeps the check
 * for repeated fields cheap. */
#define DATA_FIELDS_MAX 256

/*
 * The ids accepted so far in this request, to refuse a second event with
 * the same id: an open-addressing table of positions in job->events + 1.
 */
struct id_set {
	uint32_t *slots;
	size_t mask;
};

static uint64_t
id_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h ^ (h >> 31);
}

/* The event already accepted with this id, or NULL; *slot is where the
 * id goes when it is not there. */
static const struct ingest_event *
id_find(const struct id_set *set, const struct ingest_job *job, const char *id,
    size_t *slot)
{
	size_t s;

	for (s = id_hash(id) & set->mask; set->slots[s] != 0;
	     s = (s + 1) & set->mask) {
		const struct ingest_event *ev = &job->events[set->slots[s] - 1];

		if (strcmp(ev->id, id) == 0)
			return ev;
	}
	*slot = s;
	return NULL;
}

static int
event_at(const cJSON *at, int64_t *ms, char *why, size_t whysize)
{
	const char *perr = NULL;
	double v;

	if (cJSON_IsString(at)) {
		if (timeutil_parse_rfc3339_n(at->valuestring,
			strlen(at->valuestring), ms, &perr) == 0)
			return 0;
		snprintf(why, whysize, "field 'at' is not an RFC 3339 time: %s",
		    perr ? perr : "malformed");
		return -1;
	}
	if (cJSON_IsNumber(at)) {
		v = at->valuedouble;
		if (v == floor(v) && fabs(v) <= (double)JSON_INT_EXACT_MAX) {
			*ms = (int64_t)v;
			return 0;
		}
	}
	snprintf(why, whysize,
	    "field 'at' must be an RFC 3339 string with offset or integer "
	    "epoch milliseconds, got %s",
	    cJSON_IsNumber(at) ? "a fraction" : json_type_name(at));
	return -1;
}

static int
event_id_ok(const char *id, char *why, size_t whysize)
{
	size_t n;

	for (n = 0; id[n] != '\0'; n++) {
		if ((unsigned char)id[n] < 0x20 || id[n] == 0x7f) {
			snprintf(why, whysize,
			    "field 'id' must not contain control characters");
			return -1;
		}
	}
	if (n == 0 || n > INGEST_EVENT_ID_MAX) {
		snprintf(why, whysize, "field 'id' must be 1 to %d bytes long",
		    INGEST_EVENT_ID_MAX);
		return -1;
	}
	return 0;
}

/*
 * One event item: 0 taken, 1 refused (reason recorded), -1 out of memory.
 * ctx->job is this job, so validators see the events accepted before.
 */
static int
event_item(const struct ingest_ctx *ctx, uint32_t index, const cJSON *item,
    struct ingest_job *job, struct id_set *ids)
{
	static const char *const event_fields[] = {"kind", "id", "at", "data"};
	const cJSON *c, *kind, *id, *at, *data;
	const cJSON **const field[] = {&kind, &id, &at, &data};
	const struct ingest_event *first;
	struct ingest_event ev;
	char why[INGEST_REASON_MAX];
	size_t slot = 0;
	int rc;

#define REFUSE(...)                                                            \
	return ingest_job_reject(job, index, __VA_ARGS__) == 0 ? 1 : -1

	if ((rc = ingest_job_item_fields(job, index, item, "an event",
		 event_fields, field, 4)) != 0)
		return rc;
	if (kind == NULL || cJSON_IsNull(kind))
		REFUSE("field 'kind' is required");
	if (!cJSON_IsString(kind))
		REFUSE("field 'kind' must be a string, got %s",
		    json_type_name(kind));
	memset(&ev, 0, sizeof(ev));
	ev.kind = kinds_find(kind->valuestring);
	if (ev.kind == NULL)
		REFUSE("unknown kind '%.*s'", KIND_NAME_SHOWN,
		    kind->valuestring);
	if (id == NULL || cJSON_IsNull(id))
		REFUSE("field 'id' is required");
	if (!cJSON_IsString(id))
		REFUSE("field 'id' must be a string, got %s",
		    json_type_name(id));
	if (event_id_ok(id->valuestring, why, sizeof(why)) != 0)
		REFUSE("%s", why);
	if ((first = id_find(ids, job, id->valuestring, &slot)) != NULL)
		REFUSE("duplicate of item %u in this request", first->index);
	if (at == NULL || cJSON_IsNull(at))
		REFUSE("field 'at' is required");
	if (event_at(at, &ev.at_ms, why, sizeof(why)) != 0)
		REFUSE("%s", why);
	if (ctx->max_future_ms >= 0 &&
	    ev.at_ms > ctx->now_ms + ctx->max_future_ms)
		REFUSE("field 'at' is %lld s in the future, at most %lld s "
		       "ahead is accepted (check the sender's clock)",
		    (long long)((ev.at_ms - ctx->now_ms + 999) / 1000),
		    (long long)(ctx->max_future_ms / 1000));
	if (data == NULL || cJSON_IsNull(data))
		REFUSE("field 'data' is required");
	if (!cJSON_IsObject(data))
		REFUSE("field 'data' must be an object, got %s",
		    json_type_name(data));
	if (cJSON_GetArraySize(data) > DATA_FIELDS_MAX)
		REFUSE("field 'data' has more than %d fields", DATA_FIELDS_MAX);
	for (c = data->child; c != NULL; c = c->next) {
		const cJSON *o;

		/* cJSON keeps both members and the validators read the first,
		 * while jsonb keeps the last: refuse rather than guess. */
		for (o = data->child; o != c; o = o->next)
			if (strcmp(o->string, c->string) == 0)
				REFUSE("data: field '%.40s' appears twice",
				    c->string);
	}
	why[0] = '\0';
	if (ev.kind->validate(ctx, data, &ev.parsed, why, sizeof(why)) != 0)
		REFUSE("%s", why[0] ? why : "data refused");
#undef REFUSE

	memcpy(ev.id, id->valuestring, strlen(id->valuestring) + 1);
	ev.index = index;
	ev.data_json = cJSON_PrintUnformatted(data);
	if (ev.data_json == NULL || ingest_job_add_event(job, &ev) != 0) {
		cJSON_free(ev.data_json);
		if (ev.parsed != NULL && ev.kind->free != NULL)
			ev.kind->free(ev.parsed);
		return -1;
	}
	ids->slots[slot] = (uint32_t)job->nevents;
	return 0;
}

int
events_from_json(const struct ingest_ctx *ctx, const char *body, size_t len,
    struct ingest_job *job, char *why, size_t whysize)
{
	const cJSON *arr = NULL, *c, *item;
	struct ingest_ctx jctx = *ctx;
	struct id_set ids = {NULL, 0};
	struct json_err jerr;
	uint32_t index = 0;
	size_t n, cap = 16;
	cJSON *root;

	root = json_parse(body, len, &jerr);
	if (root == NULL) {
		snprintf(why, whysize, "the body is not valid JSON: %s",
		    jerr.msg);
		return -1;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(why, whysize,
		    "the body must be a JSON object {\"events\":[...]}, got %s",
		    json_type_name(root));
		goto fail;
	}
	for (c = root->child; c != NULL; c = c->next) {
		if (strcmp(c->string, "events") != 0) {
			snprintf(why, whysize,
			    "unknown top-level field '%.40s' (the body is "
			    "{\"events\":[...]})",
			    c->string);
			goto fail;
		}
		if (arr != NULL) {
			snprintf(why, whysize, "field 'events' appears twice");
			goto fail;
		}
		arr = c;
	}
	if (arr == NULL || !cJSON_IsArray(arr)) {
		snprintf(why, whysize, "the body needs an 'events' array, got %s",
		    json_type_name(arr));
		goto fail;
	}
	n = (size_t)cJSON_GetArraySize(arr);
	if (ctx->max_items > 0 && n > ctx->max_items) {
		snprintf(why, whysize,
		    "%zu events in one request, the limit is %zu: split the "
		    "batch",
		    n, ctx->max_items);
		goto fail;
	}
	while (cap < n * 2)
		cap *= 2;
	ids.slots = calloc(cap, sizeof(*ids.slots));
	if (ids.slots == NULL)
		goto oom;
	ids.mask = cap - 1;
	jctx.job = job;
	for (item = arr->child; item != NULL; item = item->next) {
		if (event_item(&jctx, index, item, job, &ids) < 0)
			goto oom;
		index++;
	}
	job->nitems = index;
	free(ids.slots);
	cJSON_Delete(root);
	return 0;
oom:
	snprintf(why, whysize, "out of memory");
fail:
	free(ids.slots);
	cJSON_Delete(root);
	return -1;
}

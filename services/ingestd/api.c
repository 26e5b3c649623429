/*
 * api - ingestd's HTTP API: readings and events in, answers after commit.
 *
 * POST /v1/readings takes {"readings":[...]} (or NDJSON with
 * Content-Type application/x-ndjson), POST /v1/events {"events":[...]},
 * both with a source's bearer token (DESIGN.md §4.1).  The handler runs on
 * the loop thread: it decodes and validates the body with readings.c or
 * events.c into a job (valid items, items for quarantine, rejections by
 * index), answers 400 at once when the body as a whole is unusable and 202
 * at once when nothing in it needs storing, and otherwise submits the job
 * to the writer.  The answer waits for the writer: 202 with the counts
 * once the group holding the job has committed, 503 with Retry-After when
 * the queue is full or the store is out of reach (nothing was kept, the
 * client sends again), 500 when the store refused the job.
 *
 * POST /v1/events?atomic=1 is all or nothing, for imports that must land
 * whole (safetyctl import --atomic): when any item fails validation the
 * answer is 422 with every rejection by index and nothing is submitted;
 * otherwise the job goes to the writer marked atomic, which takes all of
 * it back when one event is refused by its apply (state, unknown
 * reference), and the answer is again 422 naming that item.  main.c owns
 * the struct api; a job in flight carries its request in job->origin.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ids.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

/* Reason classes, in the order of struct api's m_rejected. */
static const char *const reject_classes[API_REJECT_CLASSES] = {"scope",
    "future", "too_old", "duplicate_in_request", "bad_value", "bad_time",
    "bad_point", "bad_quality", "unknown_kind", "store_refused",
    "malformed", "invalid"};

/* Statuses the handlers answer, in the order of m_status. */
static const int statuses[] = {202, 400, 422, 500, 503};

const char *
api_reject_class(const char *reason)
{
	static const struct {
		const char *needle;
		const char *cls;
	} rules[] = {
	    {"outside the scope", "scope"},
	    {"in the future", "future"},
	    {"older than", "too_old"},
	    {"duplicate of item", "duplicate_in_request"},
	    {"unknown kind", "unknown_kind"},
	    {"refused by the store", "store_refused"},
	    {"not valid JSON", "malformed"},
	    {"must be a JSON object", "malformed"},
	    {"'value'", "bad_value"},
	    {"'ts'", "bad_time"},
	    {"'at'", "bad_time"},
	    {"'point'", "bad_point"},
	    {"'quality'", "bad_quality"},
	};

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strstr(reason, rules[i].needle) != NULL)
			return rules[i].cls;
	return "invalid";
}

int
api_init(struct api *api, struct metrics *m)
{
	for (size_t i = 0; i < API_REJECT_CLASSES; i++) {
		const char *labels[] = {"reason", reject_classes[i], NULL};

		api->m_rejected[i] = metrics_counter(m,
		    "anquan_ingest_rejected_total", API_REJECTED_HELP, labels);
		if (api->m_rejected[i] == NULL)
			return -1;
	}
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		char code[8];
		const char *labels[] = {"status", code, NULL};

		snprintf(code, sizeof(code), "%d", statuses[i]);
		api->m_status[i] = metrics_counter(m,
		    "anquan_ingest_requests_total",
		    "ingest requests answered, by HTTP status", labels);
		if (api->m_status[i] == NULL)
			return -1;
	}
	return 0;
}

static void
count_status(struct api *api, int status)
{
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i] == status)
			metrics_inc(api->m_status[i]);
}

static void
count_rejections(struct api *api, const struct ingest_job *job)
{
	for (size_t i = 0; i < job->nrejected; i++) {
		const char *cls = api_reject_class(job->rejected[i].reason);

		for (size_t c = 0; c < API_REJECT_CLASSES; c++)
			if (strcmp(cls, reject_classes[c]) == 0) {
				metrics_inc(api->m_rejected[c]);
				break;
			}
	}
}

enum http_auth_verdict
api_auth(const char *token, const struct http_req *r, void *arg,
    const void **principal, char *why, size_t why_size)
{
	struct api *api = arg;
	uint8_t hash[SHA256_DIGEST_LEN];
	const struct reg_source *src;

	(void)r;
	if (!ids_token_format_ok(token)) {
		snprintf(why, why_size, "the bearer token is not an Anquan "
		                        "source token (aq_ and 40 characters)");
		return HTTP_AUTH_UNKNOWN;
	}
	ids_token_hash(token, hash);
	src = registry_token_fresh(api->reg, api->store, hash);
	if (src == NULL) {
		snprintf(why, why_size,
		    "unknown or revoked token: ask the operator for a valid "
		    "one (safetyctl token create)");
		return HTTP_AUTH_UNKNOWN;
	}
	*principal = src;
	return HTTP_AUTH_OK;
}

static int
reject_cmp(const void *a, const void *b)
{
	const struct ingest_reject *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* 202 {"accepted","duplicates","quarantined","rejected":[...]} */
static void
reply_counts(struct http_req *r, struct api *api, struct ingest_job *job)
{
	struct json_out out;

	if (job->nrejected > 1)
		qsort(job->rejected, job->nrejected, sizeof(*job->rejected),
		    reject_cmp);
	json_out_init(&out);
	json_out_obj_open(&out);
	json_out_kv_int(&out, "accepted", job->accepted);
	json_out_kv_int(&out, "duplicates", job->duplicates);
	json_out_kv_int(&out, "quarantined", job->quarantined);
	json_out_key(&out, "rejected");
	json_out_arr_open(&out);
	for (size_t i = 0; i < job->nrejected; i++) {
		json_out_obj_open(&out);
		json_out_kv_int(&out, "index", job->rejected[i].index);
		json_out_kv_str(&out, "error", job->rejected[i].reason);
		json_out_obj_close(&out);
	}
	json_out_arr_close(&out);
	json_out_obj_close(&out);
	count_rejections(api, job);
	count_status(api, 202);
	if (json_out_failed(&out))
		http_reply_error(r, 500, "internal", "out of memory while "
		                                     "writing the answer; the "
		                                     "items were stored");
	else
		http_reply_json(r, 202, &out);
	json_out_free(&out);
}

/*
 * 422 for an all-or-nothing request with refused items: nothing of it was
 * stored.  {"error","message","accepted":0,"duplicates","rejected":[...]}
 */
static void
reply_atomic_refused(struct http_req *r, struct api *api,
    struct ingest_job *job)
{
	struct json_out out;
	char msg[400];

	if (job->nrejected > 1)
		qsort(job->rejected, job->nrejected, sizeof(*job->rejected),
		    reject_cmp);
	snprintf(msg, sizeof(msg),
	    "%zu of %u items refused (the first: item %u); the request is "
	    "all or nothing (atomic=1), so nothing of it was stored: fix "
	    "the items listed and send the whole request again",
	    job->nrejected, job->nitems, job->rejected[0].index);
	json_out_init(&out);
	json_out_obj_open(&out);
	json_out_kv_str(&out, "error", "atomic_refused");
	json_out_kv_str(&out, "message", msg);
	json_out_kv_int(&out, "accepted", 0);
	json_out_kv_int(&out, "duplicates", job->duplicates);
	json_out_key(&out, "rejected");
	json_out_arr_open(&out);
	for (size_t i = 0; i < job->nrejected; i++) {
		json_out_obj_open(&out);
		json_out_kv_int(&out, "index", job->rejected[i].index);
		json_out_kv_str(&out, "error", job->rejected[i].reason);
		json_out_obj_close(&out);
	}
	json_out_arr_close(&out);
	json_out_obj_close(&out);
	count_rejections(api, job);
	count_status(api, 422);
	if (json_out_failed(&out))
		http_reply_error(r, 500, "internal", "out of memory while "
		                                     "writing the answer; "
		                                     "nothing was stored");
	else
		http_reply_json(r, 422, &out);
	json_out_free(&out);
}

static void
reply_unavailable(struct http_req *r, struct api *api, bool store_down,
    const char *detail)
{
	count_status(api, 503);
	http_set_retry_after(r, 1);
	if (store_down)
		http_reply_error(r, 503, "store_unavailable",
		    "the store is out of reach, nothing of this request was "
		    "kept; send it again%s%s",
		    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	else
		http_reply_error(r, 503, "overloaded",
		    "the ingest queue is full, nothing of this request was "
		    "kept; send it again after Retry-After");
}

/* The writer is done with the job (loop thread): answer, then free. */
static void
job_done(struct ingest_job *job)
{
	struct http_req *r = job->origin;
	struct api *api = http_req_arg(r);

	switch (job->status) {
	case INGEST_OK:
		if (job->atomic && job->nrejected > 0)
			reply_atomic_refused(r, api, job);
		else
			reply_counts(r, api, job);
		break;
	case INGEST_STORE_DOWN:
		reply_unavailable(r, api, true, job->error);
		break;
	case INGEST_OVERLOAD:
		reply_unavailable(r, api, false, NULL);
		break;
	default: {
		char q[300];

		count_status(api, 500);
		log_error("ingest.request_failed", "id=%s source=%s error=%s",
		    http_req_id(r), job->source,
		    log_quote(q, sizeof(q), job->error));
		http_reply_error(r, 500, "store_error",
		    "the store refused the request, nothing of it was kept: "
		    "%s",
		    job->error[0] ? job->error : "unknown error");
		break;
	}
	}
	ingest_job_free(job);
}

static bool
is_ndjson(const char *ctype)
{
	static const char nd[] = "application/x-ndjson";

	return ctype != NULL && strncasecmp(ctype, nd, sizeof(nd) - 1) == 0 &&
	    (ctype[sizeof(nd) - 1] == '\0' || ctype[sizeof(nd) - 1] == ';' ||
	        ctype[sizeof(nd) - 1] == ' ');
}

/* The atomic query parameter: 0 absent or off, 1 on, -1 malformed. */
static int
atomic_param(struct http_req *r)
{
	const char *v = http_req_query(r, "atomic");

	if (v == NULL || strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
		return 0;
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
		return 1;
	return -1;
}

static void
handle(struct http_req *r, struct api *api, enum ingest_job_kind kind)
{
	const struct reg_source *src = http_req_principal(r);
	struct ingest_ctx ctx = {0};
	struct ingest_job *job;
	const char *body;
	char why[512] = "", q[560];
	size_t len;
	int rc, atomic = 0;

	if (kind == INGEST_JOB_EVENTS && (atomic = atomic_param(r)) < 0) {
		count_status(api, 400);
		http_reply_error(r, 400, "invalid_query",
		    "query parameter 'atomic' must be 1 (all or nothing) or 0 "
		    "(item by item)");
		return;
	}
	ctx.reg = api->reg;
	ctx.source = src;
	ctx.now_ms = timeutil_now_ms();
	ctx.max_future_ms = api->max_future_ms;
	ctx.retention_ms = api->retention_ms;
	ctx.max_items = api->max_items;
	job = ingest_job_new(kind, src->name);
	if (job == NULL) {
		count_status(api, 503);
		http_set_retry_after(r, 1);
		http_reply_error(r, 503, "overloaded", "out of memory");
		return;
	}
	body = http_req_body(r, &len);
	if (kind == INGEST_JOB_EVENTS)
		rc = events_from_json(&ctx, body, len, job, why, sizeof(why));
	else if (is_ndjson(http_req_header(r, "Content-Type")))
		rc = readings_from_ndjson(
		    &ctx, body, len, job, why, sizeof(why));
	else
		rc = readings_from_json(&ctx, body, len, job, why, sizeof(why));
	if (rc != 0) {
		count_status(api, 400);
		metrics_inc(api->m_rejected[API_REJECT_CLASSES - 2]);
		log_info("ingest.refused", "id=%s source=%s why=%s",
		    http_req_id(r), src->name, log_quote(q, sizeof(q), why));
		http_reply_error(r, 400, "invalid_body", "%s",
		    why[0] ? why : "the body cannot be used");
		ingest_job_free(job);
		return;
	}
	job->atomic = atomic == 1;
	if (job->atomic && job->nrejected > 0) {
		log_info("ingest.atomic_refused", "id=%s source=%s items=%u "
		    "refused=%zu", http_req_id(r), src->name, job->nitems,
		    job->nrejected);
		reply_atomic_refused(r, api, job);
		ingest_job_free(job);
		return;
	}
	if (job->nreadings + job->nunknown + job->nevents == 0) {
		reply_counts(r, api, job);
		ingest_job_free(job);
		return;
	}
	job->done = job_done;
	job->origin = r;
	if (writer_submit(api->writer, job) != 0) {
		reply_unavailable(r, api, !writer_store_up(api->writer), NULL);
		ingest_job_free(job);
	}
}

static void
post_readings(struct http_req *r, void *arg)
{
	handle(r, arg, INGEST_JOB_READINGS);
}

static void
post_events(struct http_req *r, void *arg)
{
	handle(r, arg, INGEST_JOB_EVENTS);
}

const struct http_route api_routes[API_NROUTES] = {
	{"POST", "/v1/readings", post_readings, HTTP_ROUTE_AUTH},
	{"POST", "/v1/events", post_events, HTTP_ROUTE_AUTH},
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

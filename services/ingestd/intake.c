/*
 * intake - the ZeroMQ PULL intake of collector batches and their acks.
 *
 * A collector PUSHes one-frame Envelopes (bus_decode_push) whose payload is
 * a ReadingBatch or an EventBatch carrying its source, a batch_id of its own
 * and its bearer token.  For each batch the intake, on the loop thread:
 *
 *   1. decodes strictly; a frame it cannot address an ack to (not an
 *      envelope, no source or batch_id) is counted as malformed and logged,
 *      since there is nobody to answer;
 *   2. checks the token (registry_token, same rules as HTTP: unknown,
 *      revoked or another source's token refuses the whole batch) and the
 *      batch size;
 *   3. validates each item like the HTTP API (readings_check; the kinds
 *      table for events) into a job, bad items rejected by index;
 *   4. submits the job to the writer; when the writer refuses (queue full,
 *      store down) it acks OVERLOADED or STORE_UNAVAILABLE at once, never
 *      dropping a batch silently;
 *   5. in the job's done callback, publishes the IngestAck on ack.<source>.
 *
 * Backpressure: while the writer's queue holds pause_items or more, the
 * intake stops reading the PULL socket, so batches wait in ZeroMQ (and, past
 * its high-water mark, in the collectors) instead of turning into a tight
 * loop of OVERLOADED acks; a short timer and every finished job look at the
 * depth again.  proto/README.md §3.1 is the contract with collectors.
 */
#include "intake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "api.h"
#include "bus.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "sha256.h"
#include "timeutil.h"

#define RETRY_OVERLOAD_MS 100 /* re-send hint when the queue is full */
#define RETRY_STORE_MS 1000   /* re-send hint when the store is down */
#define RESUME_POLL_MS 2      /* how often a paused intake looks again */
#define DEFAULT_PAUSE_ITEMS 40000

/* The statuses an ack can carry, for the per-status counters. */
enum { ST_COMMITTED, ST_STORE, ST_OVERLOAD, ST_FAILED, ST_REFUSED, ST_COUNT };

static const char *const status_label[ST_COUNT] = {
    "committed",
    "store_unavailable",
    "overloaded",
    "failed",
    "refused",
};

struct intake {
	struct bus_sock *pull;
	struct bus_sock *ack_pub;
	struct registry *reg;
	struct writer *writer;
	struct intake_opts opts;
	struct event *resume_ev;
	int paused;
	int orphaned;     /* intake_free ran with jobs still out */
	size_t in_flight; /* jobs at the writer */

	struct metric *acks[ST_COUNT];
	struct metric *malformed;
	struct metric *items;
	struct metric *rejected;
	struct metric *pauses;
	struct metric *acks_unsent;
	time_t malformed_logged;
	uint64_t malformed_unlogged;
};

/* What a job in flight needs to address its ack. */
struct intake_origin {
	struct intake *in;
	char batch_id[INGEST_BATCH_ID_MAX + 1];
};

/* --- decoding (pure) ---------------------------------------------------- */

/* 1 when s is 1..max bytes of printable ASCII without spaces. */
static int
printable_word(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (; s[n] != '\0'; n++) {
		if (n >= max || s[n] <= ' ' || s[n] > '~')
			return 0;
	}
	return 1;
}

/* Source names follow the sources table: [a-z0-9][a-z0-9_.-]{0,63}. */
static int
source_name_ok(const char *s)
{
	size_t n;

	if (s == NULL ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= INGEST_SOURCE_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

int
intake_batch_header(const Anquan__Envelope *env, struct intake_batch *hdr,
    char *why, size_t whysize)
{
	const char *source, *batch_id;

	memset(hdr, 0, sizeof(*hdr));
	switch (env->payload_case) {
	case ANQUAN__ENVELOPE__PAYLOAD_READINGS:
		if (env->readings == NULL)
			goto empty;
		hdr->kind = INGEST_JOB_READINGS;
		source = env->readings->source;
		batch_id = env->readings->batch_id;
		hdr->token = env->readings->token;
		hdr->nitems = env->readings->n_readings;
		break;
	case ANQUAN__ENVELOPE__PAYLOAD_EVENTS:
		if (env->events == NULL)
			goto empty;
		hdr->kind = INGEST_JOB_EVENTS;
		source = env->events->source;
		batch_id = env->events->batch_id;
		hdr->token = env->events->token;
		hdr->nitems = env->events->n_events;
		break;
	default:
		snprintf(why, whysize,
		    "payload %s is not taken here (want readings or events)",
		    bus_payload_name(env->payload_case));
		return -1;
	}
	if (!source_name_ok(source)) {
		snprintf(why, whysize,
		    "batch source missing or not a source "
		    "name ([a-z0-9][a-z0-9_.-], at most %d bytes)",
		    INGEST_SOURCE_MAX);
		return -1;
	}
	if (!printable_word(batch_id, INGEST_BATCH_ID_MAX)) {
		snprintf(why, whysize,
		    "batch_id missing or not 1..%d bytes of "
		    "printable ASCII without spaces",
		    INGEST_BATCH_ID_MAX);
		return -1;
	}
	snprintf(hdr->source, sizeof(hdr->source), "%s", source);
	snprintf(hdr->batch_id, sizeof(hdr->batch_id), "%s", batch_id);
	if (hdr->token == NULL)
		hdr->token = "";
	return 0;
empty:
	snprintf(why, whysize, "envelope without its payload message");
	return -1;
}

int
intake_readings_to_job(const struct ingest_ctx *ctx,
    const Anquan__ReadingBatch *b, struct ingest_job *job)
{
	job->nitems = (uint32_t)b->n_readings;
	for (size_t i = 0; i < b->n_readings; i++) {
		const Anquan__Reading *r = b->readings[i];
		uint32_t idx = (uint32_t)i;
		int quality;
		int rc;

		switch (r->quality) {
		case ANQUAN__READING__QUALITY__GOOD:
			quality = INGEST_Q_GOOD;
			break;
		case ANQUAN__READING__QUALITY__BAD:
			quality = INGEST_Q_BAD;
			break;
		case ANQUAN__READING__QUALITY__MAINTENANCE:
			quality = INGEST_Q_MAINTENANCE;
			break;
		case ANQUAN__READING__QUALITY__QUALITY_UNSPECIFIED:
			rc = ingest_job_reject(job, idx,
			    "quality not given: "
			    "set GOOD, BAD or MAINTENANCE");
			if (rc < 0)
				return -1;
			continue;
		default:
			rc = ingest_job_reject(job, idx,
			    "quality %d is not "
			    "one of GOOD (1), BAD (2), MAINTENANCE (3)",
			    (int)r->quality);
			if (rc < 0)
				return -1;
			continue;
		}
		if (r->no_value && quality == INGEST_Q_GOOD) {
			if (ingest_job_reject(job, idx,
			        "a GOOD reading needs "
			        "a value (no_value is only for BAD or "
			        "MAINTENANCE)") < 0)
				return -1;
			continue;
		}
		if (readings_check(ctx, idx, r->point, r->ts_ms,
		        r->no_value ? 0.0 : r->value, !r->no_value, quality,
		        job) < 0)
			return -1;
	}
	/* The same (point, ts) twice in one batch: the later ones refused. */
	return readings_dedupe(job);
}

/* An event id: 1..INGEST_EVENT_ID_MAX bytes of UTF-8 without controls. */
static int
event_id_ok(const char *id, char *why, size_t whysize)
{
	size_t n = strlen(id);

	if (n == 0 || n > INGEST_EVENT_ID_MAX) {
		snprintf(why, whysize, "id must be 1..%d bytes, got %zu",
		    INGEST_EVENT_ID_MAX, n);
		return -1;
	}
	if (!json_utf8_valid(id, n, NULL)) {
		snprintf(why, whysize, "id is not valid UTF-8");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f) {
			snprintf(why, whysize,
			    "id holds a control character "
			    "at byte %zu",
			    i);
			return -1;
		}
	}
	return 0;
}

/* Check one event; 1 kept, 0 rejected (reason in the job), -1 no memory. */
static int
event_to_job(const struct ingest_ctx *ctx, const char *source,
    const Anquan__Event *e, uint32_t idx, struct ingest_job *job)
{
	const struct ingest_kind *kind;
	struct ingest_event ev;
	struct json_err jerr;
	char why[INGEST_REASON_MAX];
	cJSON *data;
	int rc;

	kind = kinds_find(e->kind);
	if (kind == NULL) {
		if (printable_word(e->kind, 40))
			return ingest_job_reject(job, idx,
			           "unknown event kind "
			           "\"%s\"",
			           e->kind) < 0
			           ? -1
			           : 0;
		return ingest_job_reject(job, idx,
		           "event kind missing or "
		           "not a kind name") < 0
		           ? -1
		           : 0;
	}
	if (event_id_ok(e->id, why, sizeof(why)) < 0)
		return ingest_job_reject(job, idx, "%s", why) < 0 ? -1 : 0;
	if (e->source[0] != '\0' && strcmp(e->source, source) != 0)
		return ingest_job_reject(job, idx,
		           "event source differs from "
		           "the batch's source %s (leave it empty)",
		           source) < 0
		           ? -1
		           : 0;
	if (e->at_ms <= 0)
		return ingest_job_reject(job, idx,
		           "at_ms must be a positive "
		           "epoch time in milliseconds") < 0
		           ? -1
		           : 0;
	if (e->at_ms > ctx->now_ms + ctx->max_future_ms)
		return ingest_job_reject(job, idx,
		           "at is %lld s in the future "
		           "(at most %lld s allowed; check the sender's clock)",
		           (long long)((e->at_ms - ctx->now_ms) / 1000),
		           (long long)(ctx->max_future_ms / 1000)) < 0
		           ? -1
		           : 0;
	if (e->data_case != ANQUAN__EVENT__DATA_JSON || e->json == NULL)
		return ingest_job_reject(job, idx,
		           "data missing: send the "
		           "kind's fields as a JSON object in json") < 0
		           ? -1
		           : 0;
	data = json_parse(e->json, strlen(e->json), &jerr);
	if (data == NULL)
		return ingest_job_reject(
		           job, idx, "data is not JSON: %s", jerr.msg) < 0
		           ? -1
		           : 0;
	if (!cJSON_IsObject(data)) {
		rc = ingest_job_reject(job, idx,
		    "data must be a JSON object, "
		    "got %s",
		    json_type_name(data));
		cJSON_Delete(data);
		return rc < 0 ? -1 : 0;
	}
	memset(&ev, 0, sizeof(ev));
	why[0] = '\0';
	if (kind->validate != NULL &&
	    kind->validate(ctx, data, &ev.parsed, why, sizeof(why)) < 0) {
		cJSON_Delete(data);
		return ingest_job_reject(job, idx, "%s", why) < 0 ? -1 : 0;
	}
	ev.kind = kind;
	snprintf(ev.id, sizeof(ev.id), "%s", e->id);
	ev.at_ms = e->at_ms;
	ev.index = idx;
	ev.data_json = cJSON_PrintUnformatted(data);
	cJSON_Delete(data);
	if (ev.data_json == NULL || ingest_job_add_event(job, &ev) < 0) {
		free(ev.data_json);
		if (ev.parsed != NULL && kind->free != NULL)
			kind->free(ev.parsed);
		return -1;
	}
	return 1;
}

int
intake_events_to_job(const struct ingest_ctx *ctx, const Anquan__EventBatch *b,
    struct ingest_job *job)
{
	job->nitems = (uint32_t)b->n_events;
	for (size_t i = 0; i < b->n_events; i++) {
		if (event_to_job(
		        ctx, job->source, b->events[i], (uint32_t)i, job) < 0)
			return -1;
	}
	/* The same (point, ts) twice in one batch: the later ones refused. */
	return readings_dedupe(job);
}

Anquan__IngestAck__Status
intake_ack_status(enum ingest_status st)
{
	switch (st) {
	case INGEST_OK:
		return ANQUAN__INGEST_ACK__STATUS__COMMITTED;
	case INGEST_STORE_DOWN:
		return ANQUAN__INGEST_ACK__STATUS__STORE_UNAVAILABLE;
	case INGEST_OVERLOAD:
		return ANQUAN__INGEST_ACK__STATUS__OVERLOADED;
	case INGEST_PENDING:
	case INGEST_FAILED:
	default:
		return ANQUAN__INGEST_ACK__STATUS__FAILED;
	}
}

uint8_t *
intake_ack_pack(const char *source, const char *batch_id,
    Anquan__IngestAck__Status status, const struct ingest_job *job,
    const char *message, uint32_t retry_after_ms, size_t *len)
{
	Anquan__Envelope env = ANQUAN__ENVELOPE__INIT;
	Anquan__IngestAck ack = ANQUAN__INGEST_ACK__INIT;
	Anquan__IngestAck__Rejected *rej = NULL, **rejp = NULL;
	char topic[BUS_TOPIC_MAX + 1];
	uint8_t *buf;
	size_t nrej = job != NULL ? job->nrejected : 0;

	snprintf(topic, sizeof(topic), "ack.%s", source);
	ack.batch_id = (char *)batch_id;
	ack.source = (char *)source;
	ack.status = status;
	ack.message = (char *)(message != NULL ? message : "");
	ack.retry_after_ms = retry_after_ms;
	if (job != NULL && status == ANQUAN__INGEST_ACK__STATUS__COMMITTED) {
		ack.accepted = job->accepted;
		ack.duplicates = job->duplicates;
		ack.quarantined = job->quarantined;
	}
	if (nrej > 0) {
		rej = calloc(nrej, sizeof(*rej));
		rejp = calloc(nrej, sizeof(*rejp));
		if (rej == NULL || rejp == NULL) {
			free(rej);
			free(rejp);
			return NULL;
		}
		for (size_t i = 0; i < nrej; i++) {
			anquan__ingest_ack__rejected__init(&rej[i]);
			rej[i].index = job->rejected[i].index;
			rej[i].reason = (char *)job->rejected[i].reason;
			rejp[i] = &rej[i];
		}
		ack.n_rejected = nrej;
		ack.rejected = rejp;
	}
	env.stream = topic;
	env.seq = 0;
	env.produced_at_ms = timeutil_now_ms();
	env.msg_id = (char *)batch_id;
	env.producer = (char *)"ingestd";
	env.version = BUS_VERSION;
	env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_ACK;
	env.ack = &ack;
	buf = bus_envelope_pack(&env, len);
	free(rej);
	free(rejp);
	return buf;
}

/* --- the loop side ------------------------------------------------------ */

static int
status_slot(Anquan__IngestAck__Status st)
{
	switch (st) {
	case ANQUAN__INGEST_ACK__STATUS__COMMITTED:
		return ST_COMMITTED;
	case ANQUAN__INGEST_ACK__STATUS__STORE_UNAVAILABLE:
		return ST_STORE;
	case ANQUAN__INGEST_ACK__STATUS__OVERLOADED:
		return ST_OVERLOAD;
	case ANQUAN__INGEST_ACK__STATUS__REFUSED:
		return ST_REFUSED;
	default:
		return ST_FAILED;
	}
}

static void
send_ack(struct intake *in, const char *source, const char *batch_id,
    Anquan__IngestAck__Status status, const struct ingest_job *job,
    const char *message, uint32_t retry_after_ms)
{
	struct bus_frame fr[2];
	char topic[BUS_TOPIC_MAX + 1];
	char qbuf[600];
	uint8_t *buf;
	size_t len;

	metrics_inc(in->acks[status_slot(status)]);
	if (status != ANQUAN__INGEST_ACK__STATUS__COMMITTED)
		log_info("intake.batch.not_stored",
		    "source=%s batch=%s "
		    "status=%s why=%s",
		    source, batch_id, status_label[status_slot(status)],
		    log_quote(
		        qbuf, sizeof(qbuf), message != NULL ? message : ""));
	if (in->ack_pub == NULL)
		return;
	buf = intake_ack_pack(
	    source, batch_id, status, job, message, retry_after_ms, &len);
	if (buf == NULL) {
		metrics_inc(in->acks_unsent);
		log_error(
		    "intake.ack.pack", "source=%s batch=%s", source, batch_id);
		return;
	}
	snprintf(topic, sizeof(topic), "ack.%s", source);
	fr[0].data = topic;
	fr[0].len = strlen(topic);
	fr[1].data = buf;
	fr[1].len = len;
	/* A lost ack costs the collector a re-send, which is idempotent. */
	if (bus_send(in->ack_pub, fr, 2) < 0)
		metrics_inc(in->acks_unsent);
	free(buf);
}

static void
note_malformed(struct intake *in, const char *why)
{
	char qbuf[600];
	time_t now = time(NULL);

	metrics_inc(in->malformed);
	in->malformed_unlogged++;
	/* One line a second at most: a broken collector must not flood. */
	if (now == in->malformed_logged)
		return;
	log_warn("intake.malformed", "n=%llu why=%s",
	    (unsigned long long)in->malformed_unlogged,
	    log_quote(qbuf, sizeof(qbuf), why));
	in->malformed_logged = now;
	in->malformed_unlogged = 0;
}

static void
check_pause(struct intake *in)
{
	size_t depth;

	if (in->pull == NULL)
		return;
	depth = writer_queue_depth(in->writer);
	if (!in->paused && depth >= in->opts.pause_items) {
		struct timeval tv = {0, RESUME_POLL_MS * 1000};

		in->paused = 1;
		metrics_inc(in->pauses);
		bus_sock_pause(in->pull, 1);
		evtimer_add(in->resume_ev, &tv);
	} else if (in->paused && depth <= in->opts.resume_items) {
		in->paused = 0;
		evtimer_del(in->resume_ev);
		bus_sock_pause(in->pull, 0);
	}
}

static void
resume_tick(evutil_socket_t fd, short what, void *arg)
{
	struct intake *in = arg;

	(void)fd;
	(void)what;
	check_pause(in);
	if (in->paused) {
		struct timeval tv = {0, RESUME_POLL_MS * 1000};

		evtimer_add(in->resume_ev, &tv);
	}
}

static void
intake_free_now(struct intake *in)
{
	if (in->resume_ev != NULL)
		event_free(in->resume_ev);
	free(in);
}

static void
job_done(struct ingest_job *job)
{
	struct intake_origin *o = job->origin;
	struct intake *in = o->in;

	in->in_flight--;
	if (!in->orphaned) {
		Anquan__IngestAck__Status st = intake_ack_status(job->status);
		uint32_t retry =
		    st == ANQUAN__INGEST_ACK__STATUS__OVERLOADED
		        ? RETRY_OVERLOAD_MS
		    : st == ANQUAN__INGEST_ACK__STATUS__STORE_UNAVAILABLE
		        ? RETRY_STORE_MS
		        : 0;

		metrics_add(in->items, job->accepted);
		send_ack(in, job->source, o->batch_id, st, job,
		    job->status == INGEST_OK ? NULL : job->error, retry);
		check_pause(in);
	} else if (in->in_flight == 0) {
		intake_free_now(in);
	}
	free(o);
	ingest_job_free(job);
}

static int
build_job(struct intake *in, const Anquan__Envelope *env,
    const struct reg_source *src, struct ingest_job *job)
{
	struct ingest_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.reg = in->reg;
	ctx.source = src;
	ctx.now_ms = timeutil_now_ms();
	ctx.max_future_ms = in->opts.max_future_ms;
	ctx.retention_ms = in->opts.retention_ms;
	ctx.max_items = in->opts.max_items;
	ctx.job = job; /* a point.upsert may name an enterprise just before */
	if (env->payload_case == ANQUAN__ENVELOPE__PAYLOAD_READINGS)
		return intake_readings_to_job(&ctx, env->readings, job);
	return intake_events_to_job(&ctx, env->events, job);
}

/*
 * Count refused items: the intake's own total, and the same per-reason
 * family as the HTTP API (anquan_ingest_rejected_total{reason}), so an
 * operator sees every refusal by its class whichever door it came in by.
 */
static void
count_rejected(struct intake *in, const struct ingest_job *job)
{
	metrics_add(in->rejected, job->nrejected);
	for (size_t i = 0; in->opts.metrics != NULL && i < job->nrejected; i++) {
		const char *labels[] = {"reason",
		    api_reject_class(job->rejected[i].reason), NULL};

		metrics_inc(metrics_counter(in->opts.metrics,
		    "anquan_ingest_rejected_total", API_REJECTED_HELP, labels));
	}
}

static void
take_batch(struct intake *in, const Anquan__Envelope *env)
{
	struct intake_batch hdr;
	const struct reg_source *src;
	struct intake_origin *o;
	struct ingest_job *job;
	uint8_t hash[SHA256_DIGEST_LEN];
	char why[256];

	if (intake_batch_header(env, &hdr, why, sizeof(why)) < 0) {
		note_malformed(in, why);
		return;
	}
	ids_token_hash(hdr.token, hash);
	src = hdr.token[0] != '\0' ? registry_token(in->reg, hash) : NULL;
	if (src == NULL) {
		send_ack(in, hdr.source, hdr.batch_id,
		    ANQUAN__INGEST_ACK__STATUS__REFUSED, NULL,
		    "token missing, unknown or revoked: ask the operator for "
		    "a source token (safetyctl token create)",
		    0);
		return;
	}
	if (strcmp(src->name, hdr.source) != 0) {
		snprintf(why, sizeof(why),
		    "the token belongs to source %s, "
		    "not to the batch's source %s",
		    src->name, hdr.source);
		send_ack(in, hdr.source, hdr.batch_id,
		    ANQUAN__INGEST_ACK__STATUS__REFUSED, NULL, why, 0);
		return;
	}
	if (in->opts.max_items > 0 && hdr.nitems > in->opts.max_items) {
		snprintf(why, sizeof(why),
		    "batch of %zu items is over the "
		    "limit of %zu: split it",
		    hdr.nitems, in->opts.max_items);
		send_ack(in, hdr.source, hdr.batch_id,
		    ANQUAN__INGEST_ACK__STATUS__REFUSED, NULL, why, 0);
		return;
	}
	job = ingest_job_new(hdr.kind, hdr.source);
	o = calloc(1, sizeof(*o));
	if (job == NULL || o == NULL || build_job(in, env, src, job) < 0) {
		send_ack(in, hdr.source, hdr.batch_id,
		    ANQUAN__INGEST_ACK__STATUS__FAILED, NULL,
		    "out of memory while validating the batch", RETRY_STORE_MS);
		free(o);
		if (job != NULL)
			ingest_job_free(job);
		return;
	}
	count_rejected(in, job);
	if (job->nreadings + job->nunknown + job->nevents == 0) {
		/* Every item refused: nothing to wait for. */
		job->status = INGEST_OK;
		send_ack(in, hdr.source, hdr.batch_id,
		    ANQUAN__INGEST_ACK__STATUS__COMMITTED, job, NULL, 0);
		free(o);
		ingest_job_free(job);
		return;
	}
	o->in = in;
	snprintf(o->batch_id, sizeof(o->batch_id), "%s", hdr.batch_id);
	job->done = job_done;
	job->origin = o;
	if (writer_submit(in->writer, job) < 0) {
		int up = writer_store_up(in->writer);

		send_ack(in, hdr.source, hdr.batch_id,
		    up ? ANQUAN__INGEST_ACK__STATUS__OVERLOADED
		       : ANQUAN__INGEST_ACK__STATUS__STORE_UNAVAILABLE,
		    NULL,
		    up ? "the ingest queue is full: re-send later"
		       : "the store is unavailable: re-send later",
		    up ? RETRY_OVERLOAD_MS : RETRY_STORE_MS);
		free(o);
		ingest_job_free(job);
		check_pause(in);
		return;
	}
	in->in_flight++;
	check_pause(in);
}

static void
on_pull(
    struct bus_sock *s, const struct bus_frame *frames, int nframes, void *arg)
{
	struct intake *in = arg;
	Anquan__Envelope *env = NULL;
	enum bus_decode_err e;

	(void)s;
	e = bus_decode_push(frames, nframes, &env);
	if (e == BUS_DECODE_OK)
		take_batch(in, env);
	else
		note_malformed(in, bus_decode_errstr(e));
	if (env != NULL)
		bus_envelope_free(env);
}

static void
register_metrics(struct intake *in, struct metrics *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++) {
		const char *labels[] = {"status", status_label[i], NULL};

		in->acks[i] = metrics_counter(m, "anquan_intake_batches_total",
		    "collector batches answered, by ack status", labels);
	}
	in->malformed = metrics_counter(m, "anquan_intake_malformed_total",
	    "collector frames dropped without an ack (undecodable, no "
	    "source or batch_id)",
	    NULL);
	in->items = metrics_counter(m, "anquan_intake_accepted_total",
	    "items from collector batches newly stored", NULL);
	in->rejected = metrics_counter(m, "anquan_intake_rejected_total",
	    "items of collector batches refused", NULL);
	in->pauses = metrics_counter(m, "anquan_intake_pauses_total",
	    "times the intake stopped reading for a full writer queue", NULL);
	in->acks_unsent = metrics_counter(m, "anquan_intake_acks_unsent_total",
	    "acks that could not be packed or sent", NULL);
}

struct intake *
intake_start(struct bus *bus, struct registry *reg, struct writer *writer,
    const struct intake_opts *opts)
{
	struct intake *in = calloc(1, sizeof(*in));

	if (in == NULL)
		return NULL;
	in->opts = *opts;
	if (in->opts.pause_items == 0)
		in->opts.pause_items = DEFAULT_PAUSE_ITEMS;
	if (in->opts.resume_items >= in->opts.pause_items)
		in->opts.resume_items = in->opts.pause_items / 2;
	in->reg = reg;
	in->writer = writer;
	in->ack_pub = opts->ack_pub;
	register_metrics(in, opts->metrics);
	in->resume_ev = evtimer_new(bus_base(bus), resume_tick, in);
	if (in->resume_ev == NULL) {
		intake_free_now(in);
		return NULL;
	}
	in->pull = bus_pull(bus, opts->endpoint, on_pull, in);
	if (in->pull == NULL) {
		log_error("intake.bind", "endpoint=%s", opts->endpoint);
		intake_free_now(in);
		return NULL;
	}
	log_info("intake.listening", "endpoint=%s pause_items=%zu",
	    opts->endpoint, in->opts.pause_items);
	return in;
}

void
intake_stop(struct intake *in)
{
	if (in == NULL || in->pull == NULL)
		return;
	evtimer_del(in->resume_ev);
	bus_sock_close(in->pull);
	in->pull = NULL;
	log_info("intake.stopped", "in_flight=%zu", in->in_flight);
}

void
intake_free(struct intake *in)
{
	if (in == NULL)
		return;
	intake_stop(in);
	if (in->in_flight > 0) {
		/* The writer still holds jobs whose origin points here. */
		in->orphaned = 1;
		in->ack_pub = NULL;
		return;
	}
	intake_free_now(in);
}

size_t
intake_in_flight(const struct intake *in)
{
	return in->in_flight;
}

/*
 * test_ingestd_intake - the pure half of ingestd's ZeroMQ intake.
 *
 * What a collector's envelope says before its items are looked at (and the
 * envelopes that cannot be answered at all), protobuf readings and events
 * turned into a job with every bad item refused by index, and the IngestAck
 * envelope read back field by field.  The socket side (PULL, PUB, writer)
 * is exercised against a real ingestd by tests/bench/ingest.sh.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus.h"
#include "../../services/ingestd/ingestd.h"
#include "../../services/ingestd/intake.h"
#include "timeutil.h"

#define NOW_MS 1764400000000LL

struct fixture {
	struct registry *reg;
	struct reg_source src;
	struct ingest_ctx ctx;
};

static int
setup(void **state)
{
	static const char *const districts[] = {"370102", "370103"};
	static const char *const sectors[] = {"hazchem", "gas"};
	struct fixture *f = calloc(1, sizeof(*f));
	struct reg_point p;
	uint8_t hash[32] = {1};

	assert_non_null(f);
	f->reg = registry_new();
	assert_non_null(f->reg);
	assert_int_equal(
	    registry_set_reference(f->reg, districts, 2, sectors, 2), 0);
	strcpy(f->src.name, "chem");
	f->src.all_districts = true;
	f->src.sector_mask = 1; /* hazchem only */
	assert_int_equal(registry_put_source(f->reg, &f->src, hash), 0);
	memset(&p, 0, sizeof(p));
	strcpy(p.code, "P1");
	strcpy(p.uscc, "91370100MA3C00000X");
	p.district = 0;
	p.sector = 0;
	p.enabled = true;
	assert_int_equal(registry_put_point(f->reg, &p), 0);
	strcpy(p.code, "GAS1");
	p.sector = 1;
	assert_int_equal(registry_put_point(f->reg, &p), 0);
	f->ctx.reg = f->reg;
	f->ctx.source = &f->src;
	f->ctx.now_ms = NOW_MS;
	f->ctx.max_future_ms = 300000;
	f->ctx.retention_ms = 400LL * 86400000;
	f->ctx.max_items = 1000;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	registry_free(f->reg);
	free(f);
	return 0;
}

static void
test_header(void **state)
{
	Anquan__Envelope env = ANQUAN__ENVELOPE__INIT;
	Anquan__ReadingBatch rb = ANQUAN__READING_BATCH__INIT;
	Anquan__EventBatch eb = ANQUAN__EVENT_BATCH__INIT;
	struct intake_batch hdr;
	char why[200];
	char longid[80];

	(void)state;
	/* No payload: nobody to answer. */
	assert_int_equal(intake_batch_header(&env, &hdr, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "none"));

	env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
	env.readings = &rb;
	rb.source = (char *)"chem";
	rb.batch_id = (char *)"b-1";
	rb.token = (char *)"aq_x";
	assert_int_equal(intake_batch_header(&env, &hdr, why, sizeof(why)), 0);
	assert_int_equal(hdr.kind, INGEST_JOB_READINGS);
	assert_string_equal(hdr.source, "chem");
	assert_string_equal(hdr.batch_id, "b-1");
	assert_string_equal(hdr.token, "aq_x");
	assert_int_equal(hdr.nitems, 0);

	rb.batch_id = (char *)"";
	assert_int_equal(intake_batch_header(&env, &hdr, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "batch_id"));
	rb.batch_id = (char *)"has space";
	assert_int_equal(intake_batch_header(&env, &hdr, why, sizeof(why)), -1);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	rb.batch_id = longid;
	assert_int_equal(intake_batch_header(&env, &hdr, why, sizeof(why)), -1);
	rb.batch_id = (char *)"b-1";
	rb.source = (char *)"Chem Works";
	assert_int_equal(intake_batch_header(&env, &hdr, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "source"));
	rb.source = (char *)"";
	assert_int_equal(intake_batch_header(&env, &hdr, why, sizeof(why)), -1);

	/* A payload case set without its message (a corrupt envelope). */
	env.readings = NULL;
	rb.source = (char *)"chem";
	assert_int_equal(intake_batch_header(&env, &hdr, why, sizeof(why)), -1);

	env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_EVENTS;
	env.events = &eb;
	eb.source = (char *)"chem";
	eb.batch_id = (char *)"e-7";
	eb.n_events = 3;
	assert_int_equal(intake_batch_header(&env, &hdr, why, sizeof(why)), 0);
	assert_int_equal(hdr.kind, INGEST_JOB_EVENTS);
	assert_int_equal(hdr.nitems, 3);
	assert_string_equal(hdr.token, "");
}

/* A frame that is not an envelope never reaches the header at all. */
static void
test_garbage_frames(void **state)
{
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x0f, 0x08, 0x01};
	struct bus_frame fr = {junk, sizeof(junk)};
	Anquan__Envelope *env = NULL;

	(void)state;
	assert_int_not_equal(bus_decode_push(&fr, 1, &env), BUS_DECODE_OK);
	assert_null(env);
	fr.len = 0;
	assert_int_not_equal(bus_decode_push(&fr, 1, &env), BUS_DECODE_OK);
	assert_null(env);
}

static void
reading(Anquan__Reading *r, const char *point, int64_t ts, double v,
    Anquan__Reading__Quality q, bool no_value)
{
	anquan__reading__init(r);
	r->point = (char *)point;
	r->ts_ms = ts;
	r->value = v;
	r->quality = q;
	r->no_value = no_value;
}

static const char *
reason_of(const struct ingest_job *job, uint32_t index)
{
	for (size_t i = 0; i < job->nrejected; i++)
		if (job->rejected[i].index == index)
			return job->rejected[i].reason;
	return NULL;
}

static void
test_readings(void **state)
{
	struct fixture *f = *state;
	Anquan__Reading r[10], *rp[10];
	Anquan__ReadingBatch rb = ANQUAN__READING_BATCH__INIT;
	struct ingest_job *job;

	reading(&r[0], "P1", NOW_MS - 1000, 12.5,
	    ANQUAN__READING__QUALITY__GOOD, false);
	reading(&r[1], "P1", NOW_MS - 2000, 1, 0, false);
	reading(&r[2], "P1", NOW_MS - 3000, 0, ANQUAN__READING__QUALITY__GOOD,
	    true);
	reading(&r[3], "P1", NOW_MS - 4000, 0,
	    ANQUAN__READING__QUALITY__MAINTENANCE, true);
	reading(&r[4], "NEW-7", NOW_MS - 1000, 3, ANQUAN__READING__QUALITY__BAD,
	    false);
	reading(&r[5], "P1", NOW_MS - 5000, NAN, ANQUAN__READING__QUALITY__GOOD,
	    false);
	reading(&r[6], "P1", NOW_MS + 3600000, 1,
	    ANQUAN__READING__QUALITY__GOOD, false);
	reading(&r[7], "P1", NOW_MS - 1000, 13, ANQUAN__READING__QUALITY__GOOD,
	    false);
	reading(&r[8], "GAS1", NOW_MS - 1000, 1, ANQUAN__READING__QUALITY__GOOD,
	    false);
	reading(&r[9], "P1", NOW_MS - 6000, 1, 9, false);
	for (int i = 0; i < 10; i++)
		rp[i] = &r[i];
	rb.readings = rp;
	rb.n_readings = 10;

	job = ingest_job_new(INGEST_JOB_READINGS, "chem");
	assert_non_null(job);
	assert_int_equal(intake_readings_to_job(&f->ctx, &rb, job), 0);
	assert_int_equal(job->nitems, 10);
	/* 0 and 3 stored, 4 quarantined, the rest refused with reasons. */
	assert_int_equal(job->nreadings, 2);
	assert_int_equal(job->readings[0].index, 0);
	assert_true(job->readings[0].value == 12.5);
	assert_int_equal(job->readings[1].index, 3);
	assert_false(job->readings[1].has_value);
	assert_int_equal(job->readings[1].quality, INGEST_Q_MAINTENANCE);
	assert_int_equal(job->nunknown, 1);
	assert_string_equal(job->unknown[0].point, "NEW-7");
	assert_int_equal(job->nrejected, 7);
	assert_non_null(strstr(reason_of(job, 1), "quality not given"));
	assert_non_null(strstr(reason_of(job, 2), "needs a value"));
	assert_non_null(strstr(reason_of(job, 5), "finite"));
	assert_non_null(strstr(reason_of(job, 6), "future"));
	assert_non_null(strstr(reason_of(job, 7), "duplicate"));
	assert_non_null(strstr(reason_of(job, 8), "scope"));
	assert_non_null(strstr(reason_of(job, 9), "quality 9"));
	ingest_job_free(job);
}

static void
event(Anquan__Event *e, const char *kind, const char *id, int64_t at,
    const char *json)
{
	anquan__event__init(e);
	e->kind = (char *)kind;
	e->id = (char *)id;
	e->at_ms = at;
	if (json != NULL) {
		e->data_case = ANQUAN__EVENT__DATA_JSON;
		e->json = (char *)json;
	}
}

static void
test_events(void **state)
{
	struct fixture *f = *state;
	Anquan__Event e[8], *ep[8];
	Anquan__EventBatch eb = ANQUAN__EVENT_BATCH__INIT;
	struct ingest_job *job;
	char longid[INGEST_EVENT_ID_MAX + 2];

	memset(longid, 'i', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	event(&e[0], "no.such.kind", "a", NOW_MS, "{}");
	event(&e[1], "hazard.reported", "", NOW_MS, "{}");
	event(&e[2], "hazard.reported", longid, NOW_MS, "{}");
	event(&e[3], "hazard.reported", "x\x01y", NOW_MS, "{}");
	event(&e[4], "hazard.reported", "b", NOW_MS + 3600000, "{}");
	event(&e[5], "hazard.reported", "c", NOW_MS, "{\"a\":");
	event(&e[6], "hazard.reported", "d", NOW_MS, "[1,2]");
	event(&e[7], "hazard.reported", "e", NOW_MS, NULL);
	for (int i = 0; i < 8; i++)
		ep[i] = &e[i];
	eb.events = ep;
	eb.n_events = 8;

	job = ingest_job_new(INGEST_JOB_EVENTS, "chem");
	assert_non_null(job);
	assert_int_equal(intake_events_to_job(&f->ctx, &eb, job), 0);
	assert_int_equal(job->nitems, 8);
	assert_int_equal(job->nevents, 0);
	assert_int_equal(job->nrejected, 8);
	assert_non_null(strstr(reason_of(job, 0), "unknown event kind"));
	assert_non_null(strstr(reason_of(job, 1), "id must be"));
	assert_non_null(strstr(reason_of(job, 2), "id must be"));
	assert_non_null(strstr(reason_of(job, 3), "control"));
	assert_non_null(strstr(reason_of(job, 4), "future"));
	assert_non_null(strstr(reason_of(job, 5), "not JSON"));
	assert_non_null(strstr(reason_of(job, 6), "object"));
	assert_non_null(strstr(reason_of(job, 7), "data missing"));
	ingest_job_free(job);

	/* Another source named on an event of this batch. */
	event(&e[0], "hazard.reported", "f", NOW_MS, "{}");
	e[0].source = (char *)"gasco";
	eb.n_events = 1;
	job = ingest_job_new(INGEST_JOB_EVENTS, "chem");
	assert_non_null(job);
	assert_int_equal(intake_events_to_job(&f->ctx, &eb, job), 0);
	assert_int_equal(job->nrejected, 1);
	assert_non_null(strstr(reason_of(job, 0), "differs"));
	ingest_job_free(job);
}

static Anquan__Envelope *
unpack_ack(uint8_t *buf, size_t len)
{
	Anquan__Envelope *env;

	assert_non_null(buf);
	env = anquan__envelope__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(env);
	assert_int_equal(env->payload_case, ANQUAN__ENVELOPE__PAYLOAD_ACK);
	assert_non_null(env->ack);
	return env;
}

static void
test_ack(void **state)
{
	struct ingest_job *job;
	Anquan__Envelope *env;
	uint8_t *buf;
	size_t len = 0;

	(void)state;
	job = ingest_job_new(INGEST_JOB_READINGS, "chem");
	assert_non_null(job);
	job->accepted = 3;
	job->duplicates = 1;
	job->quarantined = 2;
	assert_int_equal(ingest_job_reject(job, 4, "field 'value' bad"), 0);
	assert_int_equal(ingest_job_reject(job, 9, "another"), 0);

	buf = intake_ack_pack("chem", "b-42",
	    ANQUAN__INGEST_ACK__STATUS__COMMITTED, job, NULL, 0, &len);
	env = unpack_ack(buf, len);
	assert_string_equal(env->stream, "ack.chem");
	assert_int_equal(env->seq, 0);
	assert_int_equal(env->version, BUS_VERSION);
	assert_string_equal(env->msg_id, "b-42");
	assert_string_equal(env->producer, "ingestd");
	assert_string_equal(env->ack->batch_id, "b-42");
	assert_string_equal(env->ack->source, "chem");
	assert_int_equal(
	    env->ack->status, ANQUAN__INGEST_ACK__STATUS__COMMITTED);
	assert_int_equal(env->ack->accepted, 3);
	assert_int_equal(env->ack->duplicates, 1);
	assert_int_equal(env->ack->quarantined, 2);
	assert_int_equal(env->ack->n_rejected, 2);
	assert_int_equal(env->ack->rejected[0]->index, 4);
	assert_string_equal(env->ack->rejected[0]->reason, "field 'value' bad");
	assert_int_equal(env->ack->rejected[1]->index, 9);
	assert_string_equal(env->ack->message, "");
	anquan__envelope__free_unpacked(env, NULL);

	/* Not stored: no counts claimed, the reason and the retry hint. */
	buf = intake_ack_pack("chem", "b-43",
	    ANQUAN__INGEST_ACK__STATUS__STORE_UNAVAILABLE, job,
	    "the store is unavailable", 1000, &len);
	env = unpack_ack(buf, len);
	assert_int_equal(env->ack->accepted, 0);
	assert_int_equal(env->ack->duplicates, 0);
	assert_int_equal(env->ack->retry_after_ms, 1000);
	assert_string_equal(env->ack->message, "the store is unavailable");
	anquan__envelope__free_unpacked(env, NULL);

	/* Refused before any job existed. */
	buf =
	    intake_ack_pack("chem", "b-44", ANQUAN__INGEST_ACK__STATUS__REFUSED,
	        NULL, "token unknown", 0, &len);
	env = unpack_ack(buf, len);
	assert_int_equal(env->ack->status, ANQUAN__INGEST_ACK__STATUS__REFUSED);
	assert_int_equal(env->ack->n_rejected, 0);
	anquan__envelope__free_unpacked(env, NULL);
	ingest_job_free(job);
}

static void
test_ack_status(void **state)
{
	(void)state;
	assert_int_equal(intake_ack_status(INGEST_OK),
	    ANQUAN__INGEST_ACK__STATUS__COMMITTED);
	assert_int_equal(intake_ack_status(INGEST_STORE_DOWN),
	    ANQUAN__INGEST_ACK__STATUS__STORE_UNAVAILABLE);
	assert_int_equal(intake_ack_status(INGEST_OVERLOAD),
	    ANQUAN__INGEST_ACK__STATUS__OVERLOADED);
	assert_int_equal(intake_ack_status(INGEST_FAILED),
	    ANQUAN__INGEST_ACK__STATUS__FAILED);
	/* A job handed back still pending is a failure, never a commit. */
	assert_int_equal(intake_ack_status(INGEST_PENDING),
	    ANQUAN__INGEST_ACK__STATUS__FAILED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header),
	    cmocka_unit_test(test_garbage_frames),
	    cmocka_unit_test_setup_teardown(test_readings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	    cmocka_unit_test(test_ack),
	    cmocka_unit_test(test_ack_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_bus - unit tests of common/bus: envelopes, strict decoding, dispatch,
 * sequencing, and the sockets on a libevent loop over inproc://.
 *
 * No network and no database: the store halves (bus_log.c, bus_consumer.c)
 * are exercised by tests/system/t_bus_replay.sh against a real PostgreSQL;
 * what they decide without one (bus_seq_decide, bus_dispatch, the decoders)
 * is tested here, malformed input included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "bus.h"
#include "log.h"

/* --- fixtures ---------------------------------------------------------- */

struct readings_fx {
	Anquan__Envelope env;
	Anquan__ReadingBatch batch;
	Anquan__Reading r[3];
	Anquan__Reading *rp[3];
};

struct events_fx {
	Anquan__Envelope env;
	Anquan__EventBatch batch;
	Anquan__Event ev[2];
	Anquan__Event *evp[2];
};

static void
fill_readings(struct readings_fx *f, const char *stream, uint64_t seq)
{
	static const char *const points[3] = {"P-0001", "P-0002", "温度-03"};

	anquan__envelope__init(&f->env);
	anquan__reading_batch__init(&f->batch);
	for (int i = 0; i < 3; i++) {
		anquan__reading__init(&f->r[i]);
		f->r[i].point = (char *)points[i];
		f->r[i].ts_ms = 1795996800000LL + i * 1000;
		f->r[i].value = 12.5 + i;
		f->r[i].quality = ANQUAN__READING__QUALITY__GOOD + i;
		f->rp[i] = &f->r[i];
	}
	f->batch.source = "hazchem-sys";
	f->batch.batch_id = "b-42";
	f->batch.district = "370112";
	f->batch.sector = "hazchem";
	f->batch.n_readings = 3;
	f->batch.readings = f->rp;
	f->env.stream = (char *)stream;
	f->env.seq = seq;
	f->env.produced_at_ms = 1795996801234LL;
	f->env.msg_id = "0123456789abcdef0123456789abcdef";
	f->env.producer = "ingestd";
	f->env.version = BUS_VERSION;
	f->env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
	f->env.readings = &f->batch;
}

static void
fill_events(struct events_fx *f, const char *stream, uint64_t seq)
{
	anquan__envelope__init(&f->env);
	anquan__event_batch__init(&f->batch);
	for (int i = 0; i < 2; i++) {
		anquan__event__init(&f->ev[i]);
		f->ev[i].kind = "hazard.reported";
		f->ev[i].id = i == 0 ? "h-1" : "h-2";
		f->ev[i].at_ms = 1795996800000LL;
		f->ev[i].source = "dual-prevention";
		f->ev[i].received_at_ms = 1795996800500LL;
		f->ev[i].data_case = ANQUAN__EVENT__DATA_JSON;
		f->ev[i].json = "{\"level\":\"major\",\"名称\":\"储罐\"}";
		f->evp[i] = &f->ev[i];
	}
	f->batch.source = "dual-prevention";
	f->batch.batch_id = "e-7";
	f->batch.n_events = 2;
	f->batch.events = f->evp;
	f->env.stream = (char *)stream;
	f->env.seq = seq;
	f->env.produced_at_ms = 1795996801234LL;
	f->env.producer = "ingestd";
	f->env.version = BUS_VERSION;
	f->env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_EVENTS;
	f->env.events = &f->batch;
}

/* Decode [topic][packed env] as a subscriber would. */
static enum bus_decode_err
decode_as_pub(
    const char *topic, const uint8_t *buf, size_t len, Anquan__Envelope **out)
{
	struct bus_frame fr[2] = {{topic, strlen(topic)}, {buf, len}};
	char t[BUS_TOPIC_MAX + 1];

	return bus_decode_pub(fr, 2, t, out);
}

/* --- envelopes --------------------------------------------------------- */

static void
test_roundtrip_readings(void **state)
{
	struct readings_fx f;
	Anquan__Envelope *out;
	char topic[BUS_TOPIC_MAX + 1];
	struct bus_frame fr[2];
	uint8_t *buf;
	size_t len;

	(void)state;
	fill_readings(&f, "rd.370112.hazchem", 42);
	buf = bus_envelope_pack(&f.env, &len);
	assert_non_null(buf);
	fr[0].data = "rd.370112.hazchem";
	fr[0].len = strlen("rd.370112.hazchem");
	fr[1].data = buf;
	fr[1].len = len;
	assert_int_equal(bus_decode_pub(fr, 2, topic, &out), BUS_DECODE_OK);
	assert_string_equal(topic, "rd.370112.hazchem");
	assert_string_equal(out->stream, "rd.370112.hazchem");
	assert_int_equal(out->seq, 42);
	assert_int_equal(out->produced_at_ms, 1795996801234LL);
	assert_string_equal(out->msg_id, "0123456789abcdef0123456789abcdef");
	assert_string_equal(out->producer, "ingestd");
	assert_int_equal(out->version, BUS_VERSION);
	assert_int_equal(out->payload_case, ANQUAN__ENVELOPE__PAYLOAD_READINGS);
	assert_string_equal(out->readings->district, "370112");
	assert_string_equal(out->readings->sector, "hazchem");
	assert_string_equal(out->readings->batch_id, "b-42");
	assert_int_equal(out->readings->n_readings, 3);
	assert_string_equal(out->readings->readings[2]->point, "温度-03");
	assert_int_equal(out->readings->readings[1]->ts_ms, 1795996801000LL);
	assert_true(out->readings->readings[1]->value == 13.5);
	assert_int_equal(out->readings->readings[2]->quality,
	    ANQUAN__READING__QUALITY__MAINTENANCE);
	bus_envelope_free(out);
	free(buf);
}

static void
test_roundtrip_events(void **state)
{
	struct events_fx f;
	Anquan__Envelope *out;
	uint8_t *buf;
	size_t len;

	(void)state;
	fill_events(&f, "ev.hazard.reported", 7);
	buf = bus_envelope_pack(&f.env, &len);
	assert_non_null(buf);
	assert_int_equal(
	    bus_decode_stored("ev.hazard.reported", buf, len, &out),
	    BUS_DECODE_OK);
	assert_int_equal(out->payload_case, ANQUAN__ENVELOPE__PAYLOAD_EVENTS);
	assert_int_equal(out->events->n_events, 2);
	assert_string_equal(out->events->events[1]->id, "h-2");
	assert_int_equal(
	    out->events->events[0]->data_case, ANQUAN__EVENT__DATA_JSON);
	assert_string_equal(out->events->events[0]->json,
	    "{\"level\":\"major\",\"名称\":\"储罐\"}");
	assert_int_equal(
	    out->events->events[0]->received_at_ms, 1795996800500LL);
	bus_envelope_free(out);
	free(buf);
}

static void
test_decode_frames_and_topic(void **state)
{
	struct readings_fx f;
	Anquan__Envelope *out = (Anquan__Envelope *)&out;
	char topic[BUS_TOPIC_MAX + 1], longt[BUS_TOPIC_MAX + 2];
	struct bus_frame fr[3];
	uint8_t *buf;
	size_t len;

	(void)state;
	fill_readings(&f, "rd.1", 1);
	buf = bus_envelope_pack(&f.env, &len);
	fr[0].data = "rd.1";
	fr[0].len = 4;
	fr[1].data = buf;
	fr[1].len = len;
	fr[2] = fr[1];
	assert_int_equal(bus_decode_pub(fr, 1, topic, &out), BUS_DECODE_FRAMES);
	assert_null(out);
	assert_int_equal(bus_decode_pub(fr, 3, topic, &out), BUS_DECODE_FRAMES);
	assert_int_equal(bus_decode_pub(fr, 0, topic, &out), BUS_DECODE_FRAMES);

	fr[0].len = 0;
	assert_int_equal(bus_decode_pub(fr, 2, topic, &out), BUS_DECODE_TOPIC);
	fr[0].data = "rd 1";
	fr[0].len = 4;
	assert_int_equal(bus_decode_pub(fr, 2, topic, &out), BUS_DECODE_TOPIC);
	fr[0].data = "rd.\x01";
	assert_int_equal(bus_decode_pub(fr, 2, topic, &out), BUS_DECODE_TOPIC);
	fr[0].data = "rd.\xe4";
	assert_int_equal(bus_decode_pub(fr, 2, topic, &out), BUS_DECODE_TOPIC);
	memset(longt, 'a', sizeof(longt));
	fr[0].data = longt;
	fr[0].len = BUS_TOPIC_MAX + 1;
	assert_int_equal(bus_decode_pub(fr, 2, topic, &out), BUS_DECODE_TOPIC);
	assert_null(out);
	/* A topic of exactly the maximum is fine, but is not the stream. */
	fr[0].len = BUS_TOPIC_MAX;
	assert_int_equal(bus_decode_pub(fr, 2, topic, &out), BUS_DECODE_STREAM);
	assert_int_equal(strlen(topic), BUS_TOPIC_MAX);
	assert_null(out);
	free(buf);
}

static void
test_decode_size_and_garbage(void **state)
{
	Anquan__Envelope *out;
	uint8_t garbage[512];
	uint8_t *huge;
	unsigned seed = 12345;

	(void)state;
	assert_int_equal(decode_as_pub("rd.1", (const uint8_t *)"", 0, &out),
	    BUS_DECODE_SIZE);
	huge = calloc(1, BUS_ENVELOPE_MAX + 1);
	assert_non_null(huge);
	assert_int_equal(
	    decode_as_pub("rd.1", huge, BUS_ENVELOPE_MAX + 1, &out),
	    BUS_DECODE_SIZE);
	assert_null(out);
	free(huge);
	/* A length prefix that runs past the end. */
	assert_int_equal(decode_as_pub("rd.1",
	                     (const uint8_t *)"\x0a\x7f"
	                                      "ab",
	                     4, &out),
	    BUS_DECODE_PROTO);
	assert_null(out);
	/* Random bytes never crash, and never pass as an envelope. */
	for (int round = 0; round < 20000; round++) {
		size_t len = 1 + (size_t)(rand_r(&seed) % (int)sizeof(garbage));
		enum bus_decode_err e;

		for (size_t i = 0; i < len; i++)
			garbage[i] = (uint8_t)rand_r(&seed);
		e = decode_as_pub("rd.x", garbage, len, &out);
		assert_int_not_equal(e, BUS_DECODE_OK);
		assert_true(
		    e == BUS_DECODE_UNKNOWN ? out != NULL : out == NULL);
		bus_envelope_free(out);
	}
}

static void
test_decode_truncated(void **state)
{
	struct readings_fx f;
	Anquan__Envelope *out;
	uint8_t *buf;
	size_t len;

	(void)state;
	fill_readings(&f, "rd.370112.hazchem", 9);
	buf = bus_envelope_pack(&f.env, &len);
	/* Every proper prefix of a valid envelope is refused. */
	for (size_t cut = 0; cut < len; cut++) {
		enum bus_decode_err e =
		    decode_as_pub("rd.370112.hazchem", buf, cut, &out);

		assert_int_not_equal(e, BUS_DECODE_OK);
		bus_envelope_free(out);
	}
	assert_int_equal(
	    decode_as_pub("rd.370112.hazchem", buf, len, &out), BUS_DECODE_OK);
	bus_envelope_free(out);
	free(buf);
}

static void
test_decode_checks(void **state)
{
	struct readings_fx f;
	Anquan__Envelope *out;
	uint8_t *buf;
	size_t len;

	(void)state;
	fill_readings(&f, "rd.a", 3);
	f.env.version = 0;
	buf = bus_envelope_pack(&f.env, &len);
	assert_int_equal(
	    decode_as_pub("rd.a", buf, len, &out), BUS_DECODE_VERSION);
	assert_null(out);
	free(buf);

	f.env.version = BUS_VERSION + 1;
	buf = bus_envelope_pack(&f.env, &len);
	assert_int_equal(
	    decode_as_pub("rd.a", buf, len, &out), BUS_DECODE_VERSION);
	free(buf);

	f.env.version = BUS_VERSION;
	buf = bus_envelope_pack(&f.env, &len);
	assert_int_equal(
	    decode_as_pub("rd.b", buf, len, &out), BUS_DECODE_STREAM);
	assert_int_equal(
	    decode_as_pub("rd.", buf, len, &out), BUS_DECODE_STREAM);
	assert_int_equal(
	    bus_decode_stored("rd.ab", buf, len, &out), BUS_DECODE_STREAM);
	assert_null(out);
	free(buf);

	f.env.seq = 0;
	buf = bus_envelope_pack(&f.env, &len);
	assert_int_equal(decode_as_pub("rd.a", buf, len, &out), BUS_DECODE_SEQ);
	assert_null(out);
	free(buf);
}

static void
test_decode_unknown_payload(void **state)
{
	struct readings_fx f;
	Anquan__Envelope *out;
	uint8_t *buf, *more;
	size_t len;

	(void)state;
	/* No payload at all. */
	fill_readings(&f, "al.raised", 5);
	f.env.payload_case = ANQUAN__ENVELOPE__PAYLOAD__NOT_SET;
	buf = bus_envelope_pack(&f.env, &len);
	assert_int_equal(
	    decode_as_pub("al.raised", buf, len, &out), BUS_DECODE_UNKNOWN);
	assert_non_null(out);
	assert_int_equal(out->seq, 5);
	bus_envelope_free(out);

	/* Field 15 (a payload from a newer producer): tag 0x7a, 2 bytes. */
	more = malloc(len + 4);
	memcpy(more, buf, len);
	memcpy(more + len, "\x7a\x02\x08\x01", 4);
	assert_int_equal(decode_as_pub("al.raised", more, len + 4, &out),
	    BUS_DECODE_UNKNOWN);
	assert_non_null(out);
	assert_string_equal(bus_payload_name(out->payload_case), "none");
	bus_envelope_free(out);
	free(more);
	free(buf);

	assert_false(bus_payload_known(0));
	assert_false(bus_payload_known(15));
	assert_true(bus_payload_known(ANQUAN__ENVELOPE__PAYLOAD_NOTIFICATION));
	assert_false(bus_payload_known(ANQUAN__ENVELOPE__PAYLOAD_ACK));
	assert_true(bus_payload_known(ANQUAN__ENVELOPE__PAYLOAD_ALARM));
	assert_true(bus_payload_known(ANQUAN__ENVELOPE__PAYLOAD_RISK));
	assert_true(bus_payload_known(ANQUAN__ENVELOPE__PAYLOAD_WARNING));
	assert_true(bus_payload_known(ANQUAN__ENVELOPE__PAYLOAD_READINGS));
	assert_true(bus_payload_known(ANQUAN__ENVELOPE__PAYLOAD_EVENTS));
	assert_string_equal(bus_payload_name(15), "unknown");
	assert_string_equal(bus_payload_name(12), "alarm");
	assert_string_equal(
	    bus_payload_name(ANQUAN__ENVELOPE__PAYLOAD_EVENTS), "events");
}

static void
test_decode_push(void **state)
{
	struct readings_fx f;
	Anquan__Envelope *out;
	struct bus_frame fr[2];
	uint8_t *buf;
	size_t len;

	(void)state;
	fill_readings(&f, "", 0);
	f.env.msg_id = "";
	buf = bus_envelope_pack(&f.env, &len);
	fr[0].data = buf;
	fr[0].len = len;
	fr[1] = fr[0];
	assert_int_equal(bus_decode_push(fr, 1, &out), BUS_DECODE_OK);
	assert_int_equal(out->readings->n_readings, 3);
	bus_envelope_free(out);
	assert_int_equal(bus_decode_push(fr, 2, &out), BUS_DECODE_FRAMES);
	assert_null(out);
	free(buf);

	f.env.stream = "rd.1";
	buf = bus_envelope_pack(&f.env, &len);
	fr[0].data = buf;
	fr[0].len = len;
	assert_int_equal(bus_decode_push(fr, 1, &out), BUS_DECODE_STREAM);
	assert_null(out);
	free(buf);

	f.env.stream = "";
	f.env.seq = 4;
	buf = bus_envelope_pack(&f.env, &len);
	fr[0].data = buf;
	fr[0].len = len;
	assert_int_equal(bus_decode_push(fr, 1, &out), BUS_DECODE_SEQ);
	assert_null(out);
	free(buf);

	fr[0].data = "\xff\xff\xff";
	fr[0].len = 3;
	assert_int_equal(bus_decode_push(fr, 1, &out), BUS_DECODE_PROTO);
	assert_null(out);
}

static void
test_pack_oversize(void **state)
{
	struct events_fx f;
	size_t len = 0;
	char *big;

	(void)state;
	fill_events(&f, "ev.accident.reported", 1);
	big = malloc(BUS_ENVELOPE_MAX + 1);
	memset(big, 'x', BUS_ENVELOPE_MAX);
	big[BUS_ENVELOPE_MAX] = '\0';
	f.ev[0].json = big;
	assert_null(bus_envelope_pack(&f.env, &len));
	free(big);
}

static void
test_errstr(void **state)
{
	(void)state;
	for (int e = BUS_DECODE_OK; e <= BUS_DECODE_UNKNOWN; e++) {
		const char *s = bus_decode_errstr((enum bus_decode_err)e);

		assert_non_null(s);
		assert_true(strlen(s) > 1);
		assert_string_not_equal(s, "?");
	}
	assert_string_equal(bus_decode_errstr((enum bus_decode_err)99), "?");
}

/* --- topics, sequencing, dispatch -------------------------------------- */

static void
test_topics(void **state)
{
	const char *const pre[] = {"rd.3701", "ev.hazard.", NULL};
	const char *const all[] = {"", NULL};
	const char *const none[] = {NULL};

	(void)state;
	assert_true(bus_topic_valid("rd.370112.hazchem", 17));
	assert_true(bus_topic_valid("al.raised", 9));
	assert_false(bus_topic_valid("", 0));
	assert_false(bus_topic_valid("a b", 3));
	assert_false(bus_topic_valid("a\tb", 3));
	assert_false(bus_topic_valid("a\x7f", 2));
	assert_true(bus_topic_matches(pre, "rd.370112.hazchem"));
	assert_true(bus_topic_matches(pre, "ev.hazard.reported"));
	assert_false(bus_topic_matches(pre, "ev.accident.reported"));
	assert_false(bus_topic_matches(pre, "rd.3702.gas"));
	assert_false(bus_topic_matches(pre, "rd."));
	assert_true(bus_topic_matches(all, "pl.draw"));
	assert_false(bus_topic_matches(none, "pl.draw"));
	assert_false(bus_topic_matches(NULL, "pl.draw"));
}

static void
test_seq_decide(void **state)
{
	(void)state;
	assert_int_equal(bus_seq_decide(0, 1), BUS_SEQ_NEXT);
	assert_int_equal(bus_seq_decide(0, 2), BUS_SEQ_GAP);
	assert_int_equal(bus_seq_decide(5, 6), BUS_SEQ_NEXT);
	assert_int_equal(bus_seq_decide(5, 5), BUS_SEQ_DUP);
	assert_int_equal(bus_seq_decide(5, 1), BUS_SEQ_DUP);
	assert_int_equal(bus_seq_decide(5, 0), BUS_SEQ_DUP);
	assert_int_equal(bus_seq_decide(5, 1000000), BUS_SEQ_GAP);
	assert_int_equal(
	    bus_seq_decide(UINT64_MAX - 1, UINT64_MAX), BUS_SEQ_NEXT);
	assert_int_equal(bus_seq_decide(UINT64_MAX, UINT64_MAX), BUS_SEQ_DUP);
	assert_int_equal(bus_seq_decide(UINT64_MAX, 3), BUS_SEQ_DUP);
}

struct calls {
	int readings;
	int events;
	enum bus_verdict answer;
};

static enum bus_verdict
on_readings(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	struct calls *c = arg;

	assert_null(conn);
	assert_int_equal(
	    msg->env->payload_case, ANQUAN__ENVELOPE__PAYLOAD_READINGS);
	c->readings++;
	return c->answer;
}

static enum bus_verdict
on_events(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	struct calls *c = arg;

	(void)conn;
	assert_int_equal(msg->replayed, 1);
	c->events++;
	return c->answer;
}

static void
test_dispatch(void **state)
{
	static const struct bus_handler table[] = {
	    {ANQUAN__ENVELOPE__PAYLOAD_READINGS, on_readings},
	    {ANQUAN__ENVELOPE__PAYLOAD_EVENTS, on_events},
	    {0, NULL},
	};
	static const struct bus_handler only_events[] = {
	    {ANQUAN__ENVELOPE__PAYLOAD_EVENTS, on_events},
	    {0, NULL},
	};
	struct calls calls = {0, 0, BUS_OK};
	struct readings_fx rf;
	struct events_fx ef;
	struct bus_msg m;
	int unhandled = -1;

	(void)state;
	fill_readings(&rf, "rd.1", 1);
	fill_events(&ef, "ev.x", 1);
	m.topic = "rd.1";
	m.env = &rf.env;
	m.replayed = 0;
	assert_int_equal(
	    bus_dispatch(table, NULL, &m, &calls, &unhandled), BUS_OK);
	assert_int_equal(unhandled, 0);
	assert_int_equal(calls.readings, 1);
	assert_int_equal(calls.events, 0);

	calls.answer = BUS_RETRY;
	m.topic = "ev.x";
	m.env = &ef.env;
	m.replayed = 1;
	assert_int_equal(
	    bus_dispatch(table, NULL, &m, &calls, &unhandled), BUS_RETRY);
	assert_int_equal(calls.events, 1);

	calls.answer = BUS_SKIP;
	assert_int_equal(
	    bus_dispatch(table, NULL, &m, &calls, &unhandled), BUS_SKIP);
	assert_int_equal(unhandled, 0);
	assert_int_equal(calls.events, 2);

	/* A case with no row: skipped as unhandled, nobody called. */
	m.env = &rf.env;
	assert_int_equal(
	    bus_dispatch(only_events, NULL, &m, &calls, &unhandled), BUS_SKIP);
	assert_int_equal(unhandled, 1);
	rf.env.payload_case = ANQUAN__ENVELOPE__PAYLOAD__NOT_SET;
	assert_int_equal(
	    bus_dispatch(table, NULL, &m, &calls, &unhandled), BUS_SKIP);
	assert_int_equal(unhandled, 1);
	assert_int_equal(
	    bus_dispatch(NULL, NULL, &m, &calls, &unhandled), BUS_SKIP);
	assert_int_equal(unhandled, 1);
	assert_int_equal(calls.readings, 1);
	assert_int_equal(calls.events, 2);
}

/* --- sockets on a loop (inproc) ---------------------------------------- */

struct sink {
	int n; /* messages seen */
	int probes;
	int frames[64];
	uint64_t seqs[64];
	int bad;
	struct bus_sock *close_me;
};

static void
on_pub(struct bus_sock *s, const struct bus_frame *fr, int n, void *arg)
{
	struct sink *k = arg;
	char topic[BUS_TOPIC_MAX + 1];
	Anquan__Envelope *env;

	(void)s;
	if (n == 2 && fr[0].len == 8 &&
	    memcmp(fr[0].data, "rd.probe", 8) == 0) {
		k->probes++;
		return;
	}
	if (bus_decode_pub(fr, n, topic, &env) != BUS_DECODE_OK) {
		k->bad++;
		return;
	}
	if (k->n < 64)
		k->seqs[k->n] = env->seq;
	k->n++;
	bus_envelope_free(env);
}

static void
on_pull(struct bus_sock *s, const struct bus_frame *fr, int n, void *arg)
{
	struct sink *k = arg;
	Anquan__Envelope *env;

	if (k->n < 64)
		k->frames[k->n] = n;
	if (bus_decode_push(fr, n, &env) == BUS_DECODE_OK) {
		if (k->n < 64)
			k->seqs[k->n] = (uint64_t)env->produced_at_ms;
		bus_envelope_free(env);
	} else {
		k->bad++;
	}
	k->n++;
	if (k->close_me == s) {
		bus_sock_close(s);
		k->close_me = NULL;
	}
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Run the loop until *count reaches want or a 5 s deadline passes. */
static void
run_until(struct event_base *base, const int *count, int want)
{
	struct timeval tv = {5, 0};
	int expired = 0;
	struct event *ev = evtimer_new(base, on_deadline, &expired);

	evtimer_add(ev, &tv);
	while (*count < want && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
}

static void
send_push(struct bus_sock *s, int64_t mark)
{
	struct readings_fx f;

	fill_readings(&f, "", 0);
	f.env.produced_at_ms = mark;
	assert_true(bus_send_envelope(s, &f.env) >= 0);
}

static void
test_push_pull_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct bus *bus = bus_new(base);
	struct sink k = {0};
	struct bus_sock *pull, *push;

	(void)state;
	assert_non_null(bus);
	pull = bus_pull(bus, "inproc://pp", on_pull, &k);
	push = bus_push(bus, "inproc://pp");
	assert_non_null(pull);
	assert_non_null(push);
	for (int i = 0; i < 20; i++)
		send_push(push, 1000 + i);
	run_until(base, &k.n, 20);
	assert_int_equal(k.n, 20);
	assert_int_equal(k.bad, 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(k.frames[i], 1);
		assert_int_equal(k.seqs[i], 1000 + i);
	}
	assert_int_equal(bus_counters(bus)->sent, 20);
	assert_int_equal(bus_counters(bus)->received, 20);

	/* Closing a socket from inside its own callback is safe. */
	k.close_me = pull;
	send_push(push, 5000);
	send_push(push, 5001);
	run_until(base, &k.n, 21);
	assert_int_equal(k.n, 21);
	assert_null(k.close_me);
	bus_free(bus);
	event_base_free(base);
}

/* A PUSH with no peer: the outbox keeps order, bounds, and flushes. */
static void
test_outbox(void **state)
{
	struct event_base *base = event_base_new();
	struct bus *bus = bus_new(base);
	struct bus_sock_opts o = {.sndhwm = 2, .rcvhwm = 2, .outbox_max = 5};
	struct sink k = {0};
	struct bus_sock *push, *pull;
	int queued = 0, dropped = 0;

	(void)state;
	push = bus_socket(bus, ZMQ_PUSH, &o);
	assert_non_null(push);
	assert_int_equal(bus_connect(push, "inproc://ob"), 0);
	for (int i = 0; i < 12; i++) {
		struct readings_fx f;
		int r;

		fill_readings(&f, "", 0);
		f.env.produced_at_ms = i;
		r = bus_send_envelope(push, &f.env);
		queued += r == 1;
		dropped += r < 0;
	}
	assert_true(queued > 0);
	assert_int_equal(bus_sock_outbox(push), 5);
	assert_int_equal(bus_counters(bus)->queued, 5);
	assert_int_equal(dropped, 12 - 5 - (int)bus_counters(bus)->sent);
	assert_int_equal(bus_counters(bus)->dropped, (uint64_t)dropped);

	/* A peer arrives: the retry timer drains the outbox, in order. */
	pull = bus_socket(bus, ZMQ_PULL, &o);
	assert_int_equal(bus_bind(pull, "inproc://ob"), 0);
	bus_sock_on_recv(pull, on_pull, &k);
	run_until(base, &k.n, 12 - dropped);
	assert_int_equal(k.n, 12 - dropped);
	assert_int_equal(bus_sock_outbox(push), 0);
	assert_int_equal(bus_counters(bus)->queued, 0);
	/* The first messages in order; the drops are the newest. */
	for (int i = 0; i < k.n; i++)
		assert_int_equal(k.seqs[i], (uint64_t)i);
	bus_free(bus);
	event_base_free(base);
}

static void
send_probe(evutil_socket_t fd, short what, void *arg)
{
	struct bus_frame fr[2] = {{"rd.probe", 8}, {"x", 1}};

	(void)fd;
	(void)what;
	bus_send(arg, fr, 2);
}

static void
test_pub_sub_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct bus *bus = bus_new(base);
	struct bus_sock_opts so = {.recv_budget = 1};
	struct sink k = {0};
	struct bus_sock *pub, *sub;
	struct event *probe;
	struct timeval ms = {0, 1000};
	const struct bus_frame four[4] = {
	    {"rd.x", 4}, {"a", 1}, {"b", 1}, {"c", 1}};
	const struct bus_frame garbage[2] = {{"rd.x", 4}, {"\xff\x01", 2}};

	(void)state;
	pub = bus_socket(bus, ZMQ_PUB, NULL);
	assert_int_equal(bus_bind(pub, "inproc://ps"), 0);
	sub = bus_socket(bus, ZMQ_SUB, &so);
	assert_int_equal(bus_subscribe(sub, "rd."), 0);
	assert_int_equal(bus_connect(sub, "inproc://ps"), 0);
	bus_sock_on_recv(sub, on_pub, &k);

	/* Subscriptions travel asynchronously: probe until one arrives. */
	probe = event_new(base, -1, EV_PERSIST, send_probe, pub);
	event_add(probe, &ms);
	run_until(base, &k.probes, 1);
	event_free(probe);
	assert_true(k.probes >= 1);

	for (uint64_t i = 1; i <= 30; i++) {
		struct readings_fx f;
		struct bus_frame fr[2];
		size_t len;
		uint8_t *buf;

		fill_readings(&f, i % 2 ? "rd.1" : "rd.2", i);
		buf = bus_envelope_pack(&f.env, &len);
		fr[0].data = f.env.stream;
		fr[0].len = strlen(f.env.stream);
		fr[1].data = buf;
		fr[1].len = len;
		assert_int_equal(bus_send(pub, fr, 2), 0);
		free(buf);
	}
	/* Not subscribed: filtered by ZeroMQ, never seen. */
	assert_int_equal(
	    bus_send(pub, (struct bus_frame[2]){{"ev.a", 4}, {"x", 1}}, 2), 0);
	/* Wrong frame count and a bad envelope reach the decoder, refused. */
	assert_int_equal(bus_send(pub, four, 4), 0);
	assert_int_equal(bus_send(pub, garbage, 2), 0);
	/* A budget of one per wakeup still drains everything. */
	run_until(base, &k.n, 30);
	assert_int_equal(k.n, 30);
	for (int i = 0; i < 30; i++)
		assert_int_equal(k.seqs[i], (uint64_t)i + 1);
	run_until(base, &k.bad, 2);
	assert_int_equal(k.bad, 2);
	assert_int_equal(bus_counters(bus)->received, 32 + (uint64_t)k.probes);
	bus_free(bus);
	event_base_free(base);
}

/*
 * More frames than a message may have can only come from a foreign peer:
 * a raw ZeroMQ socket in its own context, over a Unix-socket ipc endpoint.
 */
static void
test_too_many_frames(void **state)
{
	struct event_base *base = event_base_new();
	struct bus *bus = bus_new(base);
	struct sink k = {0};
	struct readings_fx f;
	char ep[64];
	void *ctx, *raw;
	uint8_t *buf;
	size_t len;
	int linger = 0;

	(void)state;
	snprintf(
	    ep, sizeof(ep), "ipc:///tmp/anquan-test-bus-%d", (int)getpid());
	assert_non_null(bus_pull(bus, ep, on_pull, &k));
	ctx = zmq_ctx_new();
	raw = zmq_socket(ctx, ZMQ_PUSH);
	zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof(linger));
	assert_int_equal(zmq_connect(raw, ep), 0);
	for (int i = 0; i < BUS_MAX_FRAMES + 2; i++)
		assert_int_equal(zmq_send(raw, "f", 1,
		                     i < BUS_MAX_FRAMES + 1 ? ZMQ_SNDMORE : 0),
		    1);
	fill_readings(&f, "", 0);
	f.env.produced_at_ms = 77;
	buf = bus_envelope_pack(&f.env, &len);
	assert_int_equal(zmq_send(raw, buf, len, 0), (int)len);
	free(buf);
	run_until(base, &k.n, 1);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.bad, 0);
	assert_int_equal(k.seqs[0], 77);
	assert_int_equal(bus_counters(bus)->received, 2);
	assert_int_equal(bus_counters(bus)->malformed, 1);
	zmq_close(raw);
	zmq_ctx_term(ctx);
	bus_free(bus);
	event_base_free(base);
	unlink(ep + strlen("ipc://"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_readings),
	    cmocka_unit_test(test_roundtrip_events),
	    cmocka_unit_test(test_decode_frames_and_topic),
	    cmocka_unit_test(test_decode_size_and_garbage),
	    cmocka_unit_test(test_decode_truncated),
	    cmocka_unit_test(test_decode_checks),
	    cmocka_unit_test(test_decode_unknown_payload),
	    cmocka_unit_test(test_decode_push),
	    cmocka_unit_test(test_pack_oversize),
	    cmocka_unit_test(test_errstr),
	    cmocka_unit_test(test_topics),
	    cmocka_unit_test(test_seq_decide),
	    cmocka_unit_test(test_dispatch),
	    cmocka_unit_test(test_push_pull_loop),
	    cmocka_unit_test(test_outbox),
	    cmocka_unit_test(test_pub_sub_loop),
	    cmocka_unit_test(test_too_many_frames),
	};

	log_init("test_bus", LOGL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * alarm_e2e - the end-to-end leg of the alert benchmark: readings into
 * ingestd under load, a few of them crossing HH, timed to the webhook.
 *
 *   alarm_e2e PULL_EP INGESTD_PUB SOURCE TOKEN POINTS RATE SECONDS FIRST
 *             OUT
 *
 * A collector as proto/README.md §3.1 describes one: it subscribes to
 * ack.SOURCE on ingestd's PUB, proves the subscription with an empty probe
 * batch, then PUSHes ReadingBatches to ingestd's PULL every 10 ms, RATE
 * readings a second of background load over the points RP000000 ..
 * RP<POINTS-1> in turn, all normal (40..60; their H is 80, HH 90).  A
 * batch acked OVERLOADED or STORE_UNAVAILABLE is sent again after the
 * delay the ack asks; one not acked in 10 s is sent again.
 *
 * After 2 s of background alone, every 100 ms for SECONDS one batch also
 * carries a reading of 95 on a fresh point "bench-<FIRST+k, 8 digits>" (k
 * = 0, 1, ...), each of an enterprise of its own, registered by the
 * benchmark with HH 90: riskd raises an HH alarm on it, alarmd opens an
 * incident and notifies it, and tests/bench/alarm_sink.c notes the first
 * notice carrying that point's mark.  A crossing is accepted when the ack
 * COMMITTED of its batch arrives (ingestd answers after its COMMIT).
 *
 * OUT gets a line "n accepted_us sent_us" per crossing (epoch
 * microseconds, the sink's clock; accepted_us 0 when never acked); stdout
 * gets key=value lines.  Exits 1 when a batch was refused or not acked.
 * Run by tests/bench/alarm.sh, which joins OUT with the sink's notes.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "envelope.pb-c.h"
#include "timeutil.h"

#define TICK_US 10000
#define WARMUP_US 2000000
#define CROSS_EVERY_US 100000
#define ACK_TIMEOUT_US 10000000
#define DRAIN_US 15000000
#define WINDOW 256
#define BATCH_MAX 2000
#define CROSS_VALUE 95.0

/* A batch awaiting its ack, kept whole so it can be sent again. */
struct slot {
	int used;
	uint64_t seq;
	int64_t sent_us;
	int64_t resend_at_us; /* 0: waiting for its ack */
	int64_t ts_ms;
	size_t n;
	int point[BATCH_MAX]; /* background point numbers */
	double value[BATCH_MAX];
	long cross; /* the crossing it carries (index), or -1 */
};

struct crossing {
	int64_t sent_us;     /* first sent, epoch us */
	int64_t accepted_us; /* its COMMITTED ack, epoch us; 0: not yet */
};

struct e2e {
	void *push, *in;
	const char *source, *token;
	int npoints, batch;
	char (*codes)[16];
	Anquan__Reading rd[BATCH_MAX + 1];
	Anquan__Reading *rdp[BATCH_MAX + 1];
	char cross_code[24];
	uint8_t *buf;
	size_t bufcap;

	struct slot *slots;
	uint64_t next_seq;
	int inflight;
	int next_point;
	int64_t last_ts_ms;

	unsigned long first;
	struct crossing *cross;
	size_t ncross, maxcross;

	uint64_t sent, acked, dups, rejected, resends, refused, window_full;
};

static void
die(const char *what)
{
	fprintf(stderr, "alarm_e2e: %s\n", what);
	exit(1);
}

/* Pack slot s (or an empty probe) and push it. */
static void
push_slot(struct e2e *e, const struct slot *s, const char *batch_id)
{
	Anquan__Envelope env = ANQUAN__ENVELOPE__INIT;
	Anquan__ReadingBatch rb = ANQUAN__READING_BATCH__INIT;
	size_t len, n = 0;

	rb.source = (char *)e->source;
	rb.batch_id = (char *)batch_id;
	rb.token = (char *)e->token;
	if (s != NULL) {
		for (size_t i = 0; i < s->n; i++, n++) {
			e->rd[n].point = e->codes[s->point[i]];
			e->rd[n].ts_ms = s->ts_ms;
			e->rd[n].value = s->value[i];
		}
		if (s->cross >= 0) {
			snprintf(e->cross_code, sizeof(e->cross_code),
			    "bench-%08lu", e->first + (unsigned long)s->cross);
			e->rd[n].point = e->cross_code;
			e->rd[n].ts_ms = s->ts_ms;
			e->rd[n].value = CROSS_VALUE;
			n++;
		}
		rb.n_readings = n;
		rb.readings = e->rdp;
	}
	env.version = 1;
	env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
	env.readings = &rb;
	len = anquan__envelope__get_packed_size(&env);
	if (len > e->bufcap) {
		e->bufcap = len * 2;
		if ((e->buf = realloc(e->buf, e->bufcap)) == NULL)
			die("out of memory");
	}
	anquan__envelope__pack(&env, e->buf);
	if (zmq_send(e->push, e->buf, len, 0) < 0)
		die("zmq_send");
}

static void
send_slot(struct e2e *e, struct slot *s, int64_t now)
{
	char id[48];

	snprintf(id, sizeof(id), "e%d-%" PRIu64, (int)(s - e->slots), s->seq);
	push_slot(e, s, id);
	s->sent_us = now;
	s->resend_at_us = 0;
}

/* The next batch of background readings, with crossing cross (or -1). */
static void
send_batch(struct e2e *e, int64_t now, long cross)
{
	struct slot *s = NULL;

	for (int i = 0; i < WINDOW && s == NULL; i++)
		if (!e->slots[i].used)
			s = &e->slots[i];
	if (s == NULL) {
		e->window_full++;
		return;
	}
	memset(s, 0, offsetof(struct slot, point));
	s->used = 1;
	s->seq = e->next_seq++;
	s->ts_ms = timeutil_now_ms();
	if (s->ts_ms <= e->last_ts_ms)
		s->ts_ms = e->last_ts_ms + 1;
	e->last_ts_ms = s->ts_ms;
	for (int i = 0; i < e->batch; i++) {
		int p = e->next_point;

		e->next_point = (e->next_point + 1) % e->npoints;
		s->point[s->n] = p;
		s->value[s->n] = 40.0 + (double)((p * 7 + (int)s->seq) % 21);
		s->n++;
	}
	s->cross = cross;
	if (cross >= 0)
		e->cross[cross].sent_us = timeutil_now_us();
	e->sent += s->n + (cross >= 0);
	e->inflight++;
	send_slot(e, s, now);
}

static void
on_ack(struct e2e *e, const Anquan__IngestAck *a, int64_t now)
{
	unsigned si;
	unsigned long long seq;
	struct slot *s;

	if (sscanf(a->batch_id, "e%u-%llu", &si, &seq) != 2 || si >= WINDOW)
		return; /* the probe, or a stray */
	s = &e->slots[si];
	if (!s->used || s->seq != seq)
		return; /* a late ack of a batch sent again */
	switch (a->status) {
	case ANQUAN__INGEST_ACK__STATUS__COMMITTED:
		e->acked += a->accepted;
		e->dups += a->duplicates;
		e->rejected += a->n_rejected;
		if (a->n_rejected > 0 && e->rejected <= a->n_rejected)
			fprintf(stderr, "alarm_e2e: a reading rejected: %s\n",
			    a->rejected[0]->reason);
		if (s->cross >= 0 && e->cross[s->cross].accepted_us == 0)
			e->cross[s->cross].accepted_us = timeutil_now_us();
		s->used = 0;
		e->inflight--;
		break;
	case ANQUAN__INGEST_ACK__STATUS__OVERLOADED:
	case ANQUAN__INGEST_ACK__STATUS__STORE_UNAVAILABLE:
		e->resends++;
		s->resend_at_us = now + (int64_t)a->retry_after_ms * 1000;
		break;
	default:
		if (e->refused++ < 3)
			fprintf(stderr, "alarm_e2e: batch %s status %d: %s\n",
			    a->batch_id, (int)a->status, a->message);
		s->used = 0;
		e->inflight--;
		break;
	}
}

/* Read one [topic][envelope] message if one waits; 0 when none. */
static int
recv_one(struct e2e *e, const char *probe_id, int *probe_ok)
{
	zmq_msg_t topic, body;
	Anquan__Envelope *env;
	int64_t now;

	zmq_msg_init(&topic);
	if (zmq_msg_recv(&topic, e->in, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&topic);
		return 0;
	}
	now = timeutil_mono_us();
	zmq_msg_init(&body);
	if (zmq_msg_more(&topic) && zmq_msg_recv(&body, e->in, 0) >= 0 &&
	    (env = anquan__envelope__unpack(
	         NULL, zmq_msg_size(&body), zmq_msg_data(&body))) != NULL) {
		if (env->payload_case == ANQUAN__ENVELOPE__PAYLOAD_ACK) {
			if (probe_id != NULL &&
			    strcmp(env->ack->batch_id, probe_id) == 0) {
				if (env->ack->status !=
				    ANQUAN__INGEST_ACK__STATUS__COMMITTED) {
					fprintf(stderr,
					    "alarm_e2e: probe refused: %s\n",
					    env->ack->message);
					exit(1);
				}
				*probe_ok = 1;
			} else {
				on_ack(e, env->ack, now);
			}
		}
		anquan__envelope__free_unpacked(env, NULL);
	}
	zmq_msg_close(&topic);
	zmq_msg_close(&body);
	return 1;
}

/* Wait up to timeout_us for acks, then take every one that waits. */
static void
receive(struct e2e *e, int64_t timeout_us)
{
	zmq_pollitem_t it = {e->in, 0, ZMQ_POLLIN, 0};

	if (zmq_poll(&it, 1,
	        timeout_us > 0 ? (long)((timeout_us + 999) / 1000) : 0) <= 0)
		return;
	while (recv_one(e, NULL, NULL))
		;
}

/* Empty batches until one is acked: the ack subscription works. */
static void
probe(struct e2e *e)
{
	int64_t end = timeutil_mono_us() + 10000000;

	for (int k = 0; timeutil_mono_us() < end; k++) {
		zmq_pollitem_t it = {e->in, 0, ZMQ_POLLIN, 0};
		char id[32];
		int ok = 0;

		snprintf(id, sizeof(id), "probe-%d", k);
		push_slot(e, NULL, id);
		while (!ok && zmq_poll(&it, 1, 100) > 0)
			while (recv_one(e, id, &ok))
				;
		if (ok)
			return;
	}
	die("no ack for the probe batch within 10 s");
}

static void
resend_due(struct e2e *e, int64_t now)
{
	for (int i = 0; i < WINDOW; i++) {
		struct slot *s = &e->slots[i];

		if (!s->used)
			continue;
		if ((s->resend_at_us != 0 && s->resend_at_us <= now) ||
		    (s->resend_at_us == 0 &&
		        now - s->sent_us > ACK_TIMEOUT_US)) {
			if (s->resend_at_us == 0)
				e->resends++;
			send_slot(e, s, now);
		}
	}
}

int
main(int argc, char **argv)
{
	struct e2e e;
	void *ctx;
	char topic[128];
	int linger = 0;
	double rate, secs;
	int64_t start, cross_from, cross_to, stop_by, next_tick;
	uint64_t ticks = 0;
	FILE *out;
	size_t unacked = 0;

	if (argc != 10)
		die("usage: alarm_e2e PULL_EP INGESTD_PUB SOURCE TOKEN POINTS "
		    "RATE SECONDS FIRST OUT");
	memset(&e, 0, sizeof(e));
	e.source = argv[3];
	e.token = argv[4];
	e.npoints = atoi(argv[5]);
	rate = atof(argv[6]);
	secs = atof(argv[7]);
	e.first = strtoul(argv[8], NULL, 10);
	e.batch = (int)(rate * TICK_US / 1e6 + 0.5);
	if (e.npoints <= 0 || e.npoints > 1000000 || e.batch <= 0 ||
	    e.batch > BATCH_MAX || e.batch > e.npoints || secs <= 0 ||
	    secs > 3600 || e.first == 0 || e.first > 90000000)
		die("bad arguments (POINTS 1..1000000, RATE 100..200000 and at "
		    "most POINTS * 100 a second, SECONDS 0..3600, FIRST "
		    "1..90000000)");
	e.maxcross = (size_t)(secs * 1e6 / CROSS_EVERY_US + 0.5);
	e.codes = calloc((size_t)e.npoints, sizeof(*e.codes));
	e.slots = calloc(WINDOW, sizeof(*e.slots));
	e.cross = calloc(e.maxcross + 1, sizeof(*e.cross));
	if (e.codes == NULL || e.slots == NULL || e.cross == NULL)
		die("out of memory");
	for (int i = 0; i < e.npoints; i++)
		snprintf(e.codes[i], sizeof(e.codes[i]), "RP%06d", i);
	for (int i = 0; i <= BATCH_MAX; i++) {
		anquan__reading__init(&e.rd[i]);
		e.rd[i].quality = ANQUAN__READING__QUALITY__GOOD;
		e.rdp[i] = &e.rd[i];
	}

	ctx = zmq_ctx_new();
	e.push = zmq_socket(ctx, ZMQ_PUSH);
	e.in = zmq_socket(ctx, ZMQ_SUB);
	snprintf(topic, sizeof(topic), "ack.%s", e.source);
	zmq_setsockopt(e.push, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(e.in, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(e.in, ZMQ_SUBSCRIBE, topic, strlen(topic));
	if (zmq_connect(e.in, argv[2]) != 0 ||
	    zmq_connect(e.push, argv[1]) != 0)
		die("zmq_connect");
	probe(&e);

	start = timeutil_mono_us();
	cross_from = start + WARMUP_US;
	cross_to = cross_from + (int64_t)(secs * 1e6);
	stop_by = cross_to + DRAIN_US;
	next_tick = start;
	for (;;) {
		int64_t now = timeutil_mono_us();

		if (now >= next_tick && now < cross_to) {
			long cross = -1;

			if (now >= cross_from && e.ncross < e.maxcross &&
			    now - cross_from >=
			        (int64_t)e.ncross * CROSS_EVERY_US)
				cross = (long)e.ncross++;
			send_batch(&e, now, cross);
			ticks++;
			next_tick = start + (int64_t)ticks * TICK_US;
			if (next_tick < now - 10 * TICK_US)
				next_tick = now; /* fell behind: no burst */
		}
		resend_due(&e, now);
		receive(&e,
		    now < cross_to ? next_tick - timeutil_mono_us() : TICK_US);
		now = timeutil_mono_us();
		if ((now >= cross_to && e.inflight == 0) || now > stop_by)
			break;
	}

	if ((out = fopen(argv[9], "w")) == NULL)
		die("cannot write OUT");
	for (size_t i = 0; i < e.ncross; i++) {
		unacked += e.cross[i].accepted_us == 0;
		fprintf(out, "%lu %" PRId64 " %" PRId64 "\n", e.first + i,
		    e.cross[i].accepted_us, e.cross[i].sent_us);
	}
	if (fclose(out) != 0)
		die("cannot write OUT");
	printf("e2e_crossings=%zu\ne2e_crossings_unacked=%zu\n"
	       "e2e_offered_readings_per_s=%.0f\ne2e_readings_sent=%" PRIu64
	       "\ne2e_readings_accepted=%" PRIu64
	       "\ne2e_readings_duplicates=%" PRIu64
	       "\ne2e_readings_rejected=%" PRIu64 "\ne2e_resends=%" PRIu64
	       "\ne2e_refused=%" PRIu64 "\ne2e_window_full=%" PRIu64 "\n",
	    e.ncross, unacked,
	    (double)e.sent / ((double)(cross_to - start) / 1e6), e.sent,
	    e.acked, e.dups, e.rejected, e.resends, e.refused, e.window_full);
	zmq_close(e.push);
	zmq_close(e.in);
	zmq_ctx_term(ctx);
	free(e.codes);
	free(e.slots);
	free(e.cross);
	free(e.buf);
	return e.refused > 0 || unacked > 0 || e.inflight > 0 ? 1 : 0;
}

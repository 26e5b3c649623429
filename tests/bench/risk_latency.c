/*
 * risk_latency - the alarm latency of the riskd benchmark: from ingestd's
 * COMMIT of a reading above HH to riskd's al.raised for it.
 *
 *   risk_latency PULL_EP INGESTD_PUB RISKD_PUB SOURCE TOKEN POINTS RATE
 *                SECONDS
 *
 * A collector as proto/README.md §3.1 describes one: it subscribes to
 * ack.SOURCE on ingestd's PUB, proves the subscription with an empty probe
 * batch, then PUSHes ReadingBatches to ingestd's PULL at RATE readings a
 * second, 10 ms worth a batch, with acks (a batch acked OVERLOADED or
 * STORE_UNAVAILABLE, or not acked within 10 s, is sent again).  The points
 * are RP000000 .. RP<POINTS-1>, cycled in order, with normal values
 * (40..60; their H is 80, HH 90).
 *
 * After a warm-up of one pass over the points, and at least 2 s (the
 * connections settle, the subscriptions reach both publishers, and alarms
 * left open by an earlier phase clear), for SECONDS, 50 times a second one
 * point of the batch being made that is not in the benchmark's 5 % set
 * (RP<n>, n a multiple of 20) reads 95, above HH, and reads a normal value
 * again 1 s later, so its alarm clears.
 *
 * The same process subscribes to rd. on ingestd's PUB and to al.raised on
 * riskd's PUB.  ingestd publishes a batch's rd message right after its
 * COMMIT, so t0 is when the rd message holding a crossing arrived here, and
 * t1 when the al.raised of that point starting at the crossing's ts
 * arrived; the latency is t1 - t0.  Both sockets are drained at every
 * wakeup, ingestd's first, and each message is timed as it is read; an
 * al.raised read before its rd message (they come over two connections)
 * counts 0.  A crossing with no al.raised within 5 s is missing.
 *
 * Run by tests/bench/risk.sh; output is key=value lines.  Exits 1 when a
 * batch was refused or an alarm is missing.
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
#define CROSS_PER_S 50
#define CLEAR_AFTER_US 1000000
#define ALARM_WAIT_US 5000000
#define ACK_TIMEOUT_US 10000000
#define WINDOW 256
#define BATCH_MAX 2000
#define CLEARS_MAX 64
#define HIGH_EVERY 20
#define CROSS_VALUE 95.0
#define HH 90.0

/* One crossing: the reading above HH and when its messages came. */
struct crossing {
	int point;
	int64_t ts_ms;
	int64_t sent_us;
	int64_t t0_us; /* its rd message arrived (0: not yet) */
	int64_t t1_us; /* its al.raised arrived (0: not yet) */
};

/* A batch awaiting its ack, kept whole so it can be sent again. */
struct slot {
	int used;
	uint64_t seq;
	int64_t sent_us;
	int64_t resend_at_us; /* 0: waiting for its ack */
	size_t n;
	int point[BATCH_MAX + CLEARS_MAX];
	int64_t ts_ms;
	double value[BATCH_MAX + CLEARS_MAX];
};

struct pending_clear {
	int point;
	int64_t due_us;
};

struct lat {
	void *push, *in, *al;
	const char *source, *token;
	int npoints, batch;
	double rate, secs;
	char (*codes)[16];
	Anquan__Reading *rd;
	Anquan__Reading **rdp;
	uint8_t *buf;
	size_t bufcap;

	struct slot *slots;
	uint64_t next_seq;
	int inflight;
	int next_point;
	int64_t last_ts_ms;

	struct crossing *cross;
	size_t ncross, crosscap, first_open;
	struct pending_clear clears[CLEARS_MAX * 4];
	size_t clear_head, clear_len;

	/* Counters. */
	uint64_t sent_readings, window_readings, acked, dups, rejected, resends,
	    refused, full_window, other_alarms, rd_seen;
};

static void
die(const char *what)
{
	fprintf(stderr, "risk_latency: %s\n", what);
	exit(1);
}

static int
point_high(int n)
{
	return n % HIGH_EVERY == 0;
}

/* Pack the readings of slot s (or an empty probe) and push them. */
static void
push_slot(struct lat *l, const struct slot *s, const char *batch_id)
{
	Anquan__Envelope env = ANQUAN__ENVELOPE__INIT;
	Anquan__ReadingBatch rb = ANQUAN__READING_BATCH__INIT;
	size_t len;

	rb.source = (char *)l->source;
	rb.batch_id = (char *)batch_id;
	rb.token = (char *)l->token;
	if (s != NULL) {
		for (size_t i = 0; i < s->n; i++) {
			l->rd[i].point = l->codes[s->point[i]];
			l->rd[i].ts_ms = s->ts_ms;
			l->rd[i].value = s->value[i];
		}
		rb.n_readings = s->n;
		rb.readings = l->rdp;
	}
	env.version = 1;
	env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
	env.readings = &rb;
	len = anquan__envelope__get_packed_size(&env);
	if (len > l->bufcap) {
		l->bufcap = len * 2;
		l->buf = realloc(l->buf, l->bufcap);
		if (l->buf == NULL)
			die("out of memory");
	}
	anquan__envelope__pack(&env, l->buf);
	if (zmq_send(l->push, l->buf, len, 0) < 0)
		die("zmq_send");
}

static struct slot *
free_slot(struct lat *l)
{
	for (int i = 0; i < WINDOW; i++)
		if (!l->slots[i].used)
			return &l->slots[i];
	return NULL;
}

static void
send_slot(struct lat *l, struct slot *s, int64_t now)
{
	char id[48];

	snprintf(id, sizeof(id), "l%d-%" PRIu64, (int)(s - l->slots), s->seq);
	push_slot(l, s, id);
	s->sent_us = now;
	s->resend_at_us = 0;
}

static void
add_crossing(struct lat *l, int point, int64_t ts_ms, int64_t now)
{
	struct crossing *c;

	if (l->ncross == l->crosscap) {
		l->crosscap = l->crosscap ? l->crosscap * 2 : 1024;
		l->cross = realloc(l->cross, l->crosscap * sizeof(*l->cross));
		if (l->cross == NULL)
			die("out of memory");
	}
	c = &l->cross[l->ncross++];
	memset(c, 0, sizeof(*c));
	c->point = point;
	c->ts_ms = ts_ms;
	c->sent_us = now;
	if (l->clear_len < sizeof(l->clears) / sizeof(l->clears[0])) {
		size_t at = (l->clear_head + l->clear_len) %
		            (sizeof(l->clears) / sizeof(l->clears[0]));

		l->clears[at].point = point;
		l->clears[at].due_us = now + CLEAR_AFTER_US;
		l->clear_len++;
	}
}

/*
 * Make and send the next batch: the next `batch` points in order with
 * normal values, `cross` of them (not in the 5 % set) above HH, and the
 * normal readings of the points whose clear is due.
 */
static void
send_batch(struct lat *l, int64_t now, int cross, int measuring)
{
	struct slot *s = free_slot(l);
	size_t nq = sizeof(l->clears) / sizeof(l->clears[0]);
	int first = l->next_point;

	if (s == NULL) {
		l->full_window++;
		return;
	}
	memset(s, 0, offsetof(struct slot, point));
	s->used = 1;
	s->seq = l->next_seq++;
	s->ts_ms = timeutil_now_ms();
	if (s->ts_ms <= l->last_ts_ms)
		s->ts_ms = l->last_ts_ms + 1;
	l->last_ts_ms = s->ts_ms;
	for (int i = 0; i < l->batch; i++) {
		int p = l->next_point;

		l->next_point = (l->next_point + 1) % l->npoints;
		s->point[s->n] = p;
		s->value[s->n] = 40.0 + (double)((p * 7 + s->seq) % 21);
		if (cross > 0 && !point_high(p)) {
			s->value[s->n] = CROSS_VALUE;
			add_crossing(l, p, s->ts_ms, now);
			cross--;
		}
		s->n++;
	}
	while (l->clear_len > 0 && l->clears[l->clear_head].due_us <= now &&
	       s->n < BATCH_MAX + CLEARS_MAX) {
		int p = l->clears[l->clear_head].point;
		int in_batch =
		    ((p - first + l->npoints) % l->npoints) < l->batch;

		l->clear_head = (l->clear_head + 1) % nq;
		l->clear_len--;
		/* Its regular reading in this batch is normal already. */
		if (in_batch)
			continue;
		s->point[s->n] = p;
		s->value[s->n] = 50.0;
		s->n++;
	}
	l->sent_readings += s->n;
	if (measuring)
		l->window_readings += s->n;
	l->inflight++;
	send_slot(l, s, now);
}

static long
code_number(const char *code)
{
	char *end;
	long n;

	if (code == NULL || strncmp(code, "RP", 2) != 0)
		return -1;
	n = strtol(code + 2, &end, 10);
	return *end == '\0' ? n : -1;
}

/* The open crossing of point at ts, or NULL. */
static struct crossing *
find_crossing(struct lat *l, long point, int64_t ts_ms)
{
	for (size_t i = l->first_open; i < l->ncross; i++)
		if (l->cross[i].point == point && l->cross[i].ts_ms == ts_ms)
			return &l->cross[i];
	return NULL;
}

static void
on_ack(struct lat *l, const Anquan__IngestAck *a, int64_t now)
{
	unsigned si;
	unsigned long long seq;
	struct slot *s;

	if (sscanf(a->batch_id, "l%u-%llu", &si, &seq) != 2 || si >= WINDOW)
		return; /* the probe, or a stray */
	s = &l->slots[si];
	if (!s->used || s->seq != seq)
		return; /* a late ack of a batch sent again */
	switch (a->status) {
	case ANQUAN__INGEST_ACK__STATUS__COMMITTED:
		l->acked += a->accepted;
		l->dups += a->duplicates;
		l->rejected += a->n_rejected;
		if (a->n_rejected > 0 && l->rejected <= a->n_rejected)
			fprintf(stderr,
			    "risk_latency: a reading rejected: %s\n",
			    a->rejected[0]->reason);
		s->used = 0;
		l->inflight--;
		break;
	case ANQUAN__INGEST_ACK__STATUS__OVERLOADED:
	case ANQUAN__INGEST_ACK__STATUS__STORE_UNAVAILABLE:
		l->resends++;
		s->resend_at_us = now + (int64_t)a->retry_after_ms * 1000;
		break;
	default:
		l->refused++;
		if (l->refused <= 3)
			fprintf(stderr,
			    "risk_latency: batch %s status %d: %s\n",
			    a->batch_id, (int)a->status, a->message);
		s->used = 0;
		l->inflight--;
		break;
	}
}

static void
on_readings(struct lat *l, const Anquan__ReadingBatch *rb, int64_t now)
{
	l->rd_seen++;
	for (size_t i = 0; i < rb->n_readings; i++) {
		const Anquan__Reading *r = rb->readings[i];
		struct crossing *c;

		if (r->value < HH)
			continue;
		c = find_crossing(l, code_number(r->point), r->ts_ms);
		if (c != NULL && c->t0_us == 0)
			c->t0_us = now;
	}
}

static void
on_alarm(struct lat *l, const Anquan__Alarm *a, int64_t now)
{
	struct crossing *c =
	    find_crossing(l, code_number(a->point), a->started_at_ms);

	if (c == NULL) {
		l->other_alarms++;
		return;
	}
	if (c->t1_us == 0)
		c->t1_us = now;
}

/* Read one [topic][envelope] message if one waits; 0 when none. */
static int
recv_one(struct lat *l, void *sock, int64_t *at)
{
	zmq_msg_t topic, body;
	Anquan__Envelope *env;

	zmq_msg_init(&topic);
	if (zmq_msg_recv(&topic, sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&topic);
		return 0;
	}
	*at = timeutil_mono_us();
	zmq_msg_init(&body);
	if (!zmq_msg_more(&topic) || zmq_msg_recv(&body, sock, 0) < 0) {
		zmq_msg_close(&topic);
		zmq_msg_close(&body);
		return 1;
	}
	env = anquan__envelope__unpack(
	    NULL, zmq_msg_size(&body), zmq_msg_data(&body));
	if (env != NULL) {
		if (env->payload_case == ANQUAN__ENVELOPE__PAYLOAD_ACK)
			on_ack(l, env->ack, *at);
		else if (env->payload_case ==
		         ANQUAN__ENVELOPE__PAYLOAD_READINGS)
			on_readings(l, env->readings, *at);
		else if (env->payload_case == ANQUAN__ENVELOPE__PAYLOAD_ALARM)
			on_alarm(l, env->alarm, *at);
		anquan__envelope__free_unpacked(env, NULL);
	}
	zmq_msg_close(&topic);
	zmq_msg_close(&body);
	return 1;
}

/* Wait up to timeout_us for messages, then drain both sockets. */
static void
receive(struct lat *l, int64_t timeout_us)
{
	zmq_pollitem_t it[2] = {
	    {l->in, 0, ZMQ_POLLIN, 0},
	    {l->al, 0, ZMQ_POLLIN, 0},
	};
	int64_t at;
	int more;

	if (zmq_poll(it, 2,
	        timeout_us > 0 ? (long)((timeout_us + 999) / 1000) : 0) <= 0)
		return;
	do {
		more = 0;
		while (recv_one(l, l->in, &at))
			more = 1;
		while (recv_one(l, l->al, &at))
			more = 1;
	} while (more);
}

/*
 * Move first_open past crossings that are settled: both messages seen, or
 * waited for long enough.  The al.raised may be read before the rd
 * message, since they come over two connections, so seeing the alarm
 * alone does not settle a crossing.
 */
static void
settle(struct lat *l, int64_t now)
{
	while (l->first_open < l->ncross) {
		const struct crossing *c = &l->cross[l->first_open];
		int64_t from = c->t0_us ? c->t0_us : c->sent_us;

		if ((c->t0_us == 0 || c->t1_us == 0) &&
		    now - from <= ALARM_WAIT_US)
			break;
		l->first_open++;
	}
}

static void
resend_due(struct lat *l, int64_t now)
{
	for (int i = 0; i < WINDOW; i++) {
		struct slot *s = &l->slots[i];

		if (!s->used)
			continue;
		if (s->resend_at_us != 0 && s->resend_at_us <= now) {
			send_slot(l, s, now);
		} else if (s->resend_at_us == 0 &&
		           now - s->sent_us > ACK_TIMEOUT_US) {
			l->resends++;
			send_slot(l, s, now);
		}
	}
}

static void
probe(struct lat *l)
{
	int64_t end = timeutil_mono_us() + 10000000;

	for (int k = 0; timeutil_mono_us() < end; k++) {
		zmq_pollitem_t it = {l->in, 0, ZMQ_POLLIN, 0};
		char id[32];

		snprintf(id, sizeof(id), "probe-%d", k);
		push_slot(l, NULL, id);
		while (zmq_poll(&it, 1, 100) > 0) {
			zmq_msg_t topic, body;
			Anquan__Envelope *env;
			int ok = 0;

			zmq_msg_init(&topic);
			zmq_msg_init(&body);
			if (zmq_msg_recv(&topic, l->in, 0) >= 0 &&
			    zmq_msg_more(&topic) &&
			    zmq_msg_recv(&body, l->in, 0) >= 0 &&
			    (env = anquan__envelope__unpack(NULL,
			         zmq_msg_size(&body), zmq_msg_data(&body))) !=
			        NULL) {
				if (env->payload_case ==
				        ANQUAN__ENVELOPE__PAYLOAD_ACK &&
				    strncmp(env->ack->batch_id, "probe-", 6) ==
				        0) {
					if (env->ack->status !=
					    ANQUAN__INGEST_ACK__STATUS__COMMITTED) {
						fprintf(stderr,
						    "risk_latency: probe "
						    "refused: %s\n",
						    env->ack->message);
						exit(1);
					}
					ok = 1;
				}
				anquan__envelope__free_unpacked(env, NULL);
			}
			zmq_msg_close(&topic);
			zmq_msg_close(&body);
			if (ok)
				return;
		}
	}
	die("no ack for the probe batch within 10 s");
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(struct lat *l, double window_s)
{
	int64_t *lat = calloc(l->ncross + 1, sizeof(*lat));
	size_t n = 0, missing = 0, unseen = 0;

	if (lat == NULL)
		die("out of memory");
	for (size_t i = 0; i < l->ncross; i++) {
		const struct crossing *c = &l->cross[i];

		if (c->t0_us == 0)
			unseen++;
		if (c->t1_us == 0) {
			missing++;
			continue;
		}
		if (c->t0_us != 0)
			lat[n++] =
			    c->t1_us > c->t0_us ? c->t1_us - c->t0_us : 0;
	}
	qsort(lat, n, sizeof(*lat), cmp_i64);
	printf("crossings=%zu\nlatency_samples=%zu\nlatency_missing=%zu\n"
	       "crossings_rd_unseen=%zu\n",
	    l->ncross, n, missing, unseen);
	if (n > 0)
		printf("commit_to_alarm_p50_ms=%.2f\n"
		       "commit_to_alarm_p90_ms=%.2f\n"
		       "commit_to_alarm_p99_ms=%.2f\n"
		       "commit_to_alarm_max_ms=%.2f\n",
		    (double)lat[n / 2] / 1e3, (double)lat[(n * 9) / 10] / 1e3,
		    (double)lat[(n * 99) / 100] / 1e3,
		    (double)lat[n - 1] / 1e3);
	printf("offered_readings_per_s=%.0f\n"
	       "latency_readings_sent=%" PRIu64 "\n"
	       "latency_readings_accepted=%" PRIu64 "\n"
	       "latency_duplicates=%" PRIu64 "\nlatency_rejected=%" PRIu64
	       "\nlatency_resends=%" PRIu64 "\nlatency_refused=%" PRIu64
	       "\nlatency_window_full=%" PRIu64 "\n"
	       "latency_rd_messages=%" PRIu64 "\n"
	       "latency_other_alarms=%" PRIu64 "\n",
	    window_s > 0 ? (double)l->window_readings / window_s : 0,
	    l->sent_readings, l->acked, l->dups, l->rejected, l->resends,
	    l->refused, l->full_window, l->rd_seen, l->other_alarms);
	free(lat);
}

int
main(int argc, char **argv)
{
	struct lat l;
	void *ctx;
	char topic[128];
	int linger = 0;
	int64_t start, warmup_us, measure_from, measure_to, stop_by, next_tick;
	uint64_t ticks = 0, crossings_due;

	if (argc != 9)
		die("usage: risk_latency PULL_EP INGESTD_PUB RISKD_PUB SOURCE "
		    "TOKEN POINTS RATE SECONDS");
	memset(&l, 0, sizeof(l));
	l.source = argv[4];
	l.token = argv[5];
	l.npoints = atoi(argv[6]);
	l.rate = atof(argv[7]);
	l.secs = atof(argv[8]);
	l.batch = (int)(l.rate * TICK_US / 1e6 + 0.5);
	if (l.npoints <= 0 || l.npoints > 1000000 || l.batch <= 0 ||
	    l.batch > BATCH_MAX || l.batch * 2 > l.npoints || l.secs <= 0)
		die("bad arguments (POINTS 1..1000000, RATE 100..200000 and "
		    "at most POINTS * 50 a second, SECONDS > 0)");

	l.codes = calloc((size_t)l.npoints, sizeof(*l.codes));
	l.rd = calloc(BATCH_MAX + CLEARS_MAX, sizeof(*l.rd));
	l.rdp = calloc(BATCH_MAX + CLEARS_MAX, sizeof(*l.rdp));
	l.slots = calloc(WINDOW, sizeof(*l.slots));
	if (l.codes == NULL || l.rd == NULL || l.rdp == NULL || l.slots == NULL)
		die("out of memory");
	for (int i = 0; i < l.npoints; i++)
		snprintf(l.codes[i], sizeof(l.codes[i]), "RP%06d", i);
	for (int i = 0; i < BATCH_MAX + CLEARS_MAX; i++) {
		anquan__reading__init(&l.rd[i]);
		l.rd[i].quality = ANQUAN__READING__QUALITY__GOOD;
		l.rdp[i] = &l.rd[i];
	}

	ctx = zmq_ctx_new();
	l.push = zmq_socket(ctx, ZMQ_PUSH);
	l.in = zmq_socket(ctx, ZMQ_SUB);
	l.al = zmq_socket(ctx, ZMQ_SUB);
	snprintf(topic, sizeof(topic), "ack.%s", l.source);
	zmq_setsockopt(l.push, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(l.in, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(l.al, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(l.in, ZMQ_SUBSCRIBE, topic, strlen(topic));
	zmq_setsockopt(l.in, ZMQ_SUBSCRIBE, "rd.", 3);
	zmq_setsockopt(l.al, ZMQ_SUBSCRIBE, "al.raised", 9);
	if (zmq_connect(l.in, argv[2]) != 0 ||
	    zmq_connect(l.al, argv[3]) != 0 ||
	    zmq_connect(l.push, argv[1]) != 0)
		die("zmq_connect");
	probe(&l);

	warmup_us = (int64_t)((double)l.npoints / l.rate * 1e6);
	if (warmup_us < WARMUP_US)
		warmup_us = WARMUP_US;
	start = timeutil_mono_us();
	measure_from = start + warmup_us;
	measure_to = measure_from + (int64_t)(l.secs * 1e6);
	/* After the last crossing: its clear, then the wait for alarms. */
	stop_by = measure_to + CLEAR_AFTER_US + ALARM_WAIT_US;
	next_tick = start;
	for (;;) {
		int64_t now = timeutil_mono_us();

		if (now >= next_tick) {
			int measuring = now >= measure_from && now < measure_to;
			int cross = 0;

			if (measuring) {
				crossings_due =
				    (uint64_t)((now - measure_from) *
				               CROSS_PER_S / 1000000) +
				    1;
				if (crossings_due > l.ncross)
					cross = (int)(crossings_due - l.ncross);
			}
			/* Readings stop once the last clear is out. */
			if (now < measure_to + CLEAR_AFTER_US + TICK_US)
				send_batch(&l, now, cross, measuring);
			ticks++;
			next_tick = start + (int64_t)ticks * TICK_US;
			if (next_tick < now - 10 * TICK_US)
				next_tick = now; /* fell behind: no burst */
		}
		resend_due(&l, now);
		receive(&l, next_tick - timeutil_mono_us());
		now = timeutil_mono_us();
		settle(&l, now);
		if (now >= measure_to + CLEAR_AFTER_US + TICK_US &&
		    l.inflight == 0 && l.first_open == l.ncross)
			break;
		if (now > stop_by + ACK_TIMEOUT_US)
			break;
	}
	printf("latency_warmup_s=%.1f\n", (double)warmup_us / 1e6);
	report(&l, (double)(measure_to - measure_from) / 1e6);
	zmq_close(l.push);
	zmq_close(l.in);
	zmq_close(l.al);
	zmq_ctx_term(ctx);
	{
		int bad = l.refused > 0;

		for (size_t i = 0; i < l.ncross; i++)
			bad |= l.cross[i].t1_us == 0;
		free(l.codes);
		free(l.rd);
		free(l.rdp);
		free(l.slots);
		free(l.buf);
		free(l.cross);
		return bad ? 1 : 0;
	}
}

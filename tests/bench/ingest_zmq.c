/*
 * ingest_zmq - the ZeroMQ collector of the ingest benchmark.
 *
 *   ingest_zmq PULL_EP PUB_EP SOURCE TOKEN POINTS WINDOW SECONDS BASE_MS
 *
 * Behaves as proto/README.md §3.1 asks of a collector: it subscribes to
 * ack.SOURCE on ingestd's PUB socket, waits until a probe batch (no items)
 * is acknowledged (so the subscription is live), then PUSHes ReadingBatches
 * of 500 readings with at most WINDOW batches awaiting their ack, for
 * SECONDS, and waits for the last acks.  A batch acked OVERLOADED or
 * STORE_UNAVAILABLE, or not acked within 10 s, is sent again (idempotent).
 * Batch b holds the same rows as ingest_load's batch b (points (b mod G) *
 * 500 .. +499 at BASE_MS + (b div G) s), so the two phases are comparable.
 * Run by tests/bench/ingest.sh; output is key=value lines.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "envelope.pb-c.h"
#include "timeutil.h"

#define BATCH 500
#define WINDOW_MAX 256
#define ACK_TIMEOUT_US 10000000

struct slot {
	int used;
	uint64_t batch;
	int64_t sent_us;
	int64_t resend_at_us; /* 0: waiting for its ack */
};

struct coll {
	void *push, *sub;
	const char *source, *token;
	int ngroups;
	int64_t base_ms;
	char (*codes)[12];
	Anquan__Reading *rd;
	Anquan__Reading **rdp;
	uint8_t *buf;
	size_t bufcap;
	uint64_t *lat_us;
	size_t nlat, latcap;
};

static void
die(const char *what)
{
	fprintf(stderr, "ingest_zmq: %s\n", what);
	exit(1);
}

/* Pack and push batch b (or an empty probe when b is UINT64_MAX). */
static void
push_batch(struct coll *c, uint64_t b, const char *batch_id)
{
	Anquan__Envelope env = ANQUAN__ENVELOPE__INIT;
	Anquan__ReadingBatch rb = ANQUAN__READING_BATCH__INIT;
	size_t len;

	rb.source = (char *)c->source;
	rb.batch_id = (char *)batch_id;
	rb.token = (char *)c->token;
	if (b != UINT64_MAX) {
		int g = (int)(b % (uint64_t)c->ngroups);
		int64_t ts =
		    c->base_ms + (int64_t)(b / (uint64_t)c->ngroups) * 1000;

		for (int i = 0; i < BATCH; i++) {
			c->rd[i].point = c->codes[g * BATCH + i];
			c->rd[i].ts_ms = ts;
		}
		rb.n_readings = BATCH;
		rb.readings = c->rdp;
	}
	env.version = 1;
	env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
	env.readings = &rb;
	len = anquan__envelope__get_packed_size(&env);
	if (len > c->bufcap) {
		c->bufcap = len * 2;
		c->buf = realloc(c->buf, c->bufcap);
		if (c->buf == NULL)
			die("out of memory");
	}
	anquan__envelope__pack(&env, c->buf);
	if (zmq_send(c->push, c->buf, len, 0) < 0)
		die("zmq_send");
}

/* Wait up to timeout_ms for one ack; its envelope, or NULL. */
static Anquan__Envelope *
next_ack(struct coll *c, long timeout_ms)
{
	zmq_pollitem_t it = {c->sub, 0, ZMQ_POLLIN, 0};
	zmq_msg_t topic, body;
	Anquan__Envelope *env;

	if (zmq_poll(&it, 1, timeout_ms) <= 0)
		return NULL;
	zmq_msg_init(&topic);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&topic, c->sub, 0) < 0 || !zmq_msg_more(&topic) ||
	    zmq_msg_recv(&body, c->sub, 0) < 0) {
		zmq_msg_close(&topic);
		zmq_msg_close(&body);
		return NULL;
	}
	env = anquan__envelope__unpack(
	    NULL, zmq_msg_size(&body), zmq_msg_data(&body));
	zmq_msg_close(&topic);
	zmq_msg_close(&body);
	if (env != NULL &&
	    (env->payload_case != ANQUAN__ENVELOPE__PAYLOAD_ACK ||
	        env->ack == NULL)) {
		anquan__envelope__free_unpacked(env, NULL);
		return NULL;
	}
	return env;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct coll c;
	struct slot slots[WINDOW_MAX];
	void *ctx;
	char topic[128], id[32];
	int npoints, window, inflight = 0, linger = 0, probed = 0;
	double secs;
	uint64_t next = 0, ok = 0, resends = 0, refused = 0, readings = 0,
	         dups = 0, rejected = 0;
	int64_t start, end, last = 0, probe_end;

	if (argc != 9)
		die("usage: ingest_zmq PULL_EP PUB_EP SOURCE TOKEN POINTS "
		    "WINDOW SECONDS BASE_MS");
	memset(&c, 0, sizeof(c));
	memset(slots, 0, sizeof(slots));
	c.source = argv[3];
	c.token = argv[4];
	npoints = atoi(argv[5]);
	window = atoi(argv[6]);
	secs = atof(argv[7]);
	c.base_ms = atoll(argv[8]);
	c.ngroups = npoints / BATCH;
	if (c.ngroups <= 0 || npoints > 100000 || window <= 0 ||
	    window > WINDOW_MAX || secs <= 0)
		die("bad arguments");

	/* Everything a batch needs, made before the clock starts. */
	c.codes = calloc((size_t)npoints, sizeof(*c.codes));
	c.rd = calloc(BATCH, sizeof(*c.rd));
	c.rdp = calloc(BATCH, sizeof(*c.rdp));
	if (c.codes == NULL || c.rd == NULL || c.rdp == NULL)
		die("out of memory");
	for (int i = 0; i < npoints; i++)
		snprintf(c.codes[i], sizeof(c.codes[i]), "BP%05u",
		    (unsigned)i % 100000u);
	for (int i = 0; i < BATCH; i++) {
		anquan__reading__init(&c.rd[i]);
		c.rd[i].value = 20.0 + i % 50;
		c.rd[i].quality = ANQUAN__READING__QUALITY__GOOD;
		c.rdp[i] = &c.rd[i];
	}

	ctx = zmq_ctx_new();
	c.push = zmq_socket(ctx, ZMQ_PUSH);
	c.sub = zmq_socket(ctx, ZMQ_SUB);
	snprintf(topic, sizeof(topic), "ack.%s", c.source);
	zmq_setsockopt(c.push, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(c.sub, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(c.sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
	if (zmq_connect(c.sub, argv[2]) != 0 ||
	    zmq_connect(c.push, argv[1]) != 0)
		die("zmq_connect");

	/* The slow joiner: probe until an ack proves the subscription. */
	probe_end = timeutil_mono_us() + 10000000;
	for (int k = 0; !probed && timeutil_mono_us() < probe_end; k++) {
		Anquan__Envelope *env;

		snprintf(id, sizeof(id), "probe-%d", k);
		push_batch(&c, UINT64_MAX, id);
		while ((env = next_ack(&c, 100)) != NULL) {
			if (strncmp(env->ack->batch_id, "probe-", 6) == 0) {
				if (env->ack->status !=
				    ANQUAN__INGEST_ACK__STATUS__COMMITTED) {
					fprintf(stderr,
					    "ingest_zmq: probe "
					    "refused: %s\n",
					    env->ack->message);
					exit(1);
				}
				probed = 1;
			}
			anquan__envelope__free_unpacked(env, NULL);
		}
	}
	if (!probed)
		die("no ack for the probe batch within 10 s");

	start = timeutil_mono_us();
	end = start + (int64_t)(secs * 1e6);
	for (;;) {
		int64_t now = timeutil_mono_us();
		Anquan__Envelope *env;

		/* Fill the window, and re-send what asked for it. */
		for (int i = 0; i < window; i++) {
			struct slot *s = &slots[i];

			if (!s->used && now < end) {
				s->used = 1;
				s->batch = next++;
				s->resend_at_us = now;
				inflight++;
			}
			if (s->used && s->resend_at_us != 0 &&
			    s->resend_at_us <= now) {
				snprintf(id, sizeof(id), "b%d-%llu", i,
				    (unsigned long long)s->batch);
				push_batch(&c, s->batch, id);
				s->sent_us = now;
				s->resend_at_us = 0;
			} else if (s->used && s->resend_at_us == 0 &&
			           now - s->sent_us > ACK_TIMEOUT_US) {
				resends++;
				s->resend_at_us = now;
			}
		}
		if (inflight == 0 && now >= end)
			break;
		env = next_ack(&c, 5);
		if (env == NULL)
			continue;
		{
			Anquan__IngestAck *a = env->ack;
			unsigned si;
			unsigned long long bn;
			struct slot *s;

			now = timeutil_mono_us();
			if (sscanf(a->batch_id, "b%u-%llu", &si, &bn) != 2 ||
			    si >= (unsigned)window || !slots[si].used ||
			    slots[si].batch != bn) {
				anquan__envelope__free_unpacked(env, NULL);
				continue; /* a late ack of a re-sent batch */
			}
			s = &slots[si];
			switch (a->status) {
			case ANQUAN__INGEST_ACK__STATUS__COMMITTED:
				ok++;
				readings += a->accepted;
				dups += a->duplicates;
				rejected += a->n_rejected;
				if (c.nlat == c.latcap) {
					c.latcap =
					    c.latcap ? c.latcap * 2 : 4096;
					c.lat_us = realloc(c.lat_us,
					    c.latcap * sizeof(uint64_t));
					if (c.lat_us == NULL)
						die("out of memory");
				}
				c.lat_us[c.nlat++] =
				    (uint64_t)(now - s->sent_us);
				s->used = 0;
				inflight--;
				last = now;
				break;
			case ANQUAN__INGEST_ACK__STATUS__OVERLOADED:
			case ANQUAN__INGEST_ACK__STATUS__STORE_UNAVAILABLE:
				resends++;
				s->resend_at_us =
				    now + (int64_t)a->retry_after_ms * 1000;
				break;
			default:
				refused++;
				if (refused <= 3)
					fprintf(stderr,
					    "ingest_zmq: batch %s "
					    "status %d: %s\n",
					    a->batch_id, (int)a->status,
					    a->message);
				s->used = 0;
				inflight--;
				break;
			}
			anquan__envelope__free_unpacked(env, NULL);
		}
	}
	qsort(c.lat_us, c.nlat, sizeof(uint64_t), cmp_u64);
	printf("zmq_window=%d\nzmq_batches_ok=%llu\nzmq_readings_acked=%llu\n"
	       "zmq_duplicates=%llu\nzmq_rejected=%llu\nzmq_resends=%llu\n"
	       "zmq_refused=%llu\nzmq_elapsed_s=%.3f\n",
	    window, (unsigned long long)ok, (unsigned long long)readings,
	    (unsigned long long)dups, (unsigned long long)rejected,
	    (unsigned long long)resends, (unsigned long long)refused,
	    (double)(last - start) / 1e6);
	if (c.nlat > 0)
		printf("zmq_ack_p50_ms=%.1f\nzmq_ack_p99_ms=%.1f\n",
		    (double)c.lat_us[c.nlat / 2] / 1e3,
		    (double)c.lat_us[(c.nlat * 99) / 100] / 1e3);
	zmq_close(c.push);
	zmq_close(c.sub);
	zmq_ctx_term(ctx);
	free(c.codes);
	free(c.rd);
	free(c.rdp);
	free(c.buf);
	free(c.lat_us);
	return refused > 0 ? 1 : 0;
}

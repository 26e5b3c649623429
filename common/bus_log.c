/*
 * bus_log - the producer half of the bus: durable first, published after.
 *
 * A daemon that publishes (ingestd, riskd, alarmd, schedd) makes one
 * producer on its PUB socket.  Inside the transaction that makes its change,
 * it calls bus_producer_stage() per message: the stream's next seq comes
 * from an UPSERT on bus_streams (whose row lock orders concurrent producers
 * of a stream and gives a rolled-back number back, so a stream has no
 * holes), and the packed Envelope goes into bus_log.  After its COMMIT the
 * daemon calls bus_producer_publish(), after a ROLLBACK
 * bus_producer_discard().  Nothing is published before it is durable, and
 * whatever is lost after that (a crash before publishing, a drop at the
 * high-water mark) is in bus_log for consumers to replay (bus_consumer.c).
 *
 * The PGconn is the caller's, in the caller's transaction; these statements
 * run blocking on it like the rest of the caller's transaction.  The
 * producer owns the pending copies; the PUB socket is borrowed.
 */
#include "bus.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"

static const char SQL_NEXT_SEQ[] =
    "INSERT INTO bus_streams (stream, last_seq, updated_at) "
    "VALUES ($1, 1, now()) "
    "ON CONFLICT (stream) DO UPDATE "
    "SET last_seq = bus_streams.last_seq + 1, updated_at = now() "
    "RETURNING last_seq";

static const char SQL_APPEND[] =
    "INSERT INTO bus_log (stream, seq, produced_at, envelope) "
    "VALUES ($1, $2::bigint, to_timestamp($3::bigint / 1000.0), $4)";

/* A staged message: the topic and the envelope exactly as logged. */
struct pending {
	struct pending *next;
	size_t topic_len;
	size_t env_len;
	uint8_t *env;
	char topic[];
};

struct bus_producer {
	struct bus_sock *pub;
	char *name;
	struct pending *head, *tail;
	size_t npending;
};

struct bus_producer *
bus_producer_new(struct bus_sock *pub, const char *name)
{
	struct bus_producer *prod = calloc(1, sizeof(*prod));

	if (prod == NULL)
		return NULL;
	prod->pub = pub;
	prod->name = strdup(name);
	if (prod->name == NULL) {
		free(prod);
		return NULL;
	}
	return prod;
}

void
bus_producer_free(struct bus_producer *prod)
{
	if (prod == NULL)
		return;
	bus_producer_discard(prod);
	free(prod->name);
	free(prod);
}

size_t
bus_producer_pending(const struct bus_producer *prod)
{
	return prod->npending;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 32 hex digits of randomness: unique enough to trace one message. */
static void
make_msg_id(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	static uint64_t counter;
	unsigned char r[16];

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		/* Early boot without entropy: time and a counter still differ.
		 */
		uint64_t a = (uint64_t)now_ms(), b = ++counter;

		memcpy(r, &a, 8);
		memcpy(r + 8, &b, 8);
	}
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[32] = '\0';
}

static int
fail_res(PGresult *res, const char *what, char *err, size_t errlen)
{
	const char *msg = res ? PQresultErrorMessage(res) : "out of memory";
	size_t n;

	snprintf(err, errlen, "%s: %s", what, *msg ? msg : "no result");
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
	PQclear(res);
	return -1;
}

static int
take_seq(
    PGconn *conn, const char *topic, uint64_t *seq, char *err, size_t errlen)
{
	const char *params[1] = {topic};
	PGresult *res;

	res = PQexecParams(conn, SQL_NEXT_SEQ, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return fail_res(res, "bus_streams next seq", err, errlen);
	*seq = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int
append_log(PGconn *conn, const char *topic, uint64_t seq, int64_t at_ms,
    const uint8_t *env, size_t env_len, char *err, size_t errlen)
{
	char seqs[24], ats[24];
	const char *values[4] = {topic, seqs, ats, (const char *)env};
	int lengths[4] = {0, 0, 0, (int)env_len};
	int formats[4] = {0, 0, 0, 1};
	PGresult *res;

	snprintf(seqs, sizeof(seqs), "%" PRIu64, seq);
	snprintf(ats, sizeof(ats), "%" PRId64, at_ms);
	res = PQexecParams(
	    conn, SQL_APPEND, 4, NULL, values, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return fail_res(res, "bus_log append", err, errlen);
	PQclear(res);
	return 0;
}

int
bus_producer_stage(struct bus_producer *prod, PGconn *conn, const char *topic,
    const Anquan__Envelope *env, uint64_t *seq_out, char *err, size_t errlen)
{
	Anquan__Envelope e = *env;
	char msg_id[33];
	struct pending *p;
	size_t topic_len = strlen(topic), len = 0;
	uint8_t *buf;
	uint64_t seq = 0;

	if (!bus_topic_valid(topic, topic_len)) {
		snprintf(err, errlen,
		    "topic is not 1..%d printable ASCII bytes", BUS_TOPIC_MAX);
		return -1;
	}
	/* Outside a transaction the seq and the change would not be atomic. */
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		snprintf(
		    err, errlen, "stage needs the caller's open transaction");
		return -1;
	}
	if (take_seq(conn, topic, &seq, err, errlen) < 0)
		return -1;
	e.stream = (char *)topic;
	e.seq = seq;
	e.produced_at_ms = now_ms();
	e.producer = prod->name;
	e.version = BUS_VERSION;
	if (e.msg_id == NULL || e.msg_id[0] == '\0') {
		make_msg_id(msg_id);
		e.msg_id = msg_id;
	}
	buf = bus_envelope_pack(&e, &len);
	if (buf == NULL) {
		snprintf(
		    err, errlen, "envelope over %u bytes", BUS_ENVELOPE_MAX);
		return -1;
	}
	if (append_log(conn, topic, seq, e.produced_at_ms, buf, len, err,
	        errlen) < 0) {
		free(buf);
		return -1;
	}
	p = malloc(sizeof(*p) + topic_len + 1);
	if (p == NULL) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->next = NULL;
	p->topic_len = topic_len;
	memcpy(p->topic, topic, topic_len + 1);
	p->env = buf;
	p->env_len = len;
	if (prod->tail != NULL)
		prod->tail->next = p;
	else
		prod->head = p;
	prod->tail = p;
	prod->npending++;
	if (seq_out != NULL)
		*seq_out = seq;
	return 0;
}

size_t
bus_producer_publish(struct bus_producer *prod)
{
	size_t n = 0;

	while (prod->head != NULL) {
		struct pending *p = prod->head;
		struct bus_frame f[2] = {
		    {p->topic, p->topic_len},
		    {p->env, p->env_len},
		};

		/* A drop here is counted by bus_send and repaired by replay. */
		if (bus_send(prod->pub, f, 2) >= 0)
			n++;
		prod->head = p->next;
		free(p->env);
		free(p);
	}
	prod->tail = NULL;
	prod->npending = 0;
	return n;
}

void
bus_producer_discard(struct bus_producer *prod)
{
	while (prod->head != NULL) {
		struct pending *p = prod->head;

		prod->head = p->next;
		free(p->env);
		free(p);
	}
	prod->tail = NULL;
	prod->npending = 0;
}

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
#include "timeutil.h"

static const char SQL_NEXT_SEQ[] =
    "INSERT INTO bus_streams (stream, last_seq, updated_at) "
    "VALUES ($1, 1, now()) "
    "ON CONFLICT (stream) DO UPDATE "
    "SET last_seq = bus_streams.last_seq + 1, updated_at = now() "
    "RETURNING last_seq";

static const char SQL_APPEND[] =
    "INSERT INTO bus_log (stream, seq, produced_at, envelope) "
    "VALUES ($1, $2::bigint, to_timestamp($3::bigint / 1000.0), $4)";

/*
 * The seqs of many streams in one statement: each stream is bumped by the
 * number of its messages.  ORDER BY makes every producer lock the rows in
 * the same order.
 */
static const char SQL_NEXT_SEQS[] =
    "INSERT INTO bus_streams (stream, last_seq, updated_at) "
    "SELECT t.stream, count(*), now() "
    "FROM unnest($1::text[]) AS t(stream) "
    "GROUP BY t.stream ORDER BY t.stream "
    "ON CONFLICT (stream) DO UPDATE "
    "SET last_seq = bus_streams.last_seq + EXCLUDED.last_seq, "
    "updated_at = now() "
    "RETURNING stream, last_seq";

static const char SQL_COPY_LOG[] =
    "COPY bus_log (stream, seq, produced_at, envelope) FROM STDIN";

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

/* --- staging many messages at once --------------------------------------- */

/* A growable text buffer for the array literal and the COPY data. */
struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
sbuf_put(struct sbuf *b, const void *data, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_put(b, s, strlen(s));
}

/* A text[] literal of the topics; topics hold no spaces, but may hold
 * quotes and backslashes, which the literal escapes. */
static void
topics_literal(struct sbuf *b, size_t n, const char *const *topics)
{
	sbuf_put(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sbuf_put(b, ",", 1);
		sbuf_put(b, "\"", 1);
		for (const char *c = topics[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				sbuf_put(b, "\\", 1);
			sbuf_put(b, c, 1);
		}
		sbuf_put(b, "\"", 1);
	}
	sbuf_put(b, "}", 1);
}

/* One COPY text row of bus_log: the bytea goes as \\x and hex digits. */
static void
log_row(struct sbuf *b, const char *topic, uint64_t seq, const char *at,
    const uint8_t *env, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char num[24];
	size_t at_len;

	for (const char *c = topic; *c != '\0'; c++) {
		if (*c == '\\')
			sbuf_put(b, "\\", 1);
		sbuf_put(b, c, 1);
	}
	snprintf(num, sizeof(num), "\t%" PRIu64 "\t", seq);
	sbuf_str(b, num);
	at_len = strlen(at);
	sbuf_put(b, at, at_len);
	sbuf_put(b, "\t\\\\x", 4);
	for (size_t i = 0; i < len;) {
		char chunk[512];
		size_t k = 0;

		for (; i < len && k < sizeof(chunk); i++) {
			chunk[k++] = hex[env[i] >> 4];
			chunk[k++] = hex[env[i] & 15];
		}
		sbuf_put(b, chunk, k);
	}
	sbuf_put(b, "\n", 1);
}

/* Send the rows with COPY and read its result; 0 or -1 with err. */
static int
copy_rows(PGconn *conn, const struct sbuf *rows, char *err, size_t errlen)
{
	PGresult *res;
	int rc = 0;

	res = PQexec(conn, SQL_COPY_LOG);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		return fail_res(res, "bus_log copy", err, errlen);
	PQclear(res);
	if (PQputCopyData(conn, rows->p, (int)rows->len) != 1 ||
	    PQputCopyEnd(conn, NULL) != 1) {
		snprintf(err, errlen, "bus_log copy: %s", PQerrorMessage(conn));
		rc = -1;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) {
			fail_res(res, "bus_log copy", err, errlen);
			rc = -1;
			continue;
		}
		PQclear(res);
	}
	return rc;
}

/*
 * Give message i the seq of its stream: the streams' new last_seq come
 * back from SQL_NEXT_SEQS; a stream with k messages took last-k+1..last.
 */
static int
assign_seqs(PGresult *res, size_t n, const char *const *topics,
    uint64_t *seqs, char *err, size_t errlen)
{
	int rows = PQntuples(res);
	uint64_t *next = calloc((size_t)rows + 1, sizeof(*next));

	if (next == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int j = 0; j < rows; j++) {
		const char *stream = PQgetvalue(res, j, 0);
		uint64_t last = strtoull(PQgetvalue(res, j, 1), NULL, 10);
		uint64_t count = 0;

		for (size_t i = 0; i < n; i++)
			if (strcmp(topics[i], stream) == 0)
				count++;
		next[j] = last - count + 1;
	}
	for (size_t i = 0; i < n; i++) {
		int j;

		for (j = 0; j < rows; j++)
			if (strcmp(topics[i], PQgetvalue(res, j, 0)) == 0)
				break;
		if (j == rows) {
			free(next);
			snprintf(err, errlen, "bus_streams returned no seq for %s",
			    topics[i]);
			return -1;
		}
		seqs[i] = next[j]++;
	}
	free(next);
	return 0;
}

int
bus_producer_stage_many(struct bus_producer *prod, PGconn *conn, size_t n,
    const char *const *topics, const Anquan__Envelope *const *envs, char *err,
    size_t errlen)
{
	struct sbuf lit = {0}, rows = {0};
	struct pending **staged = NULL;
	uint64_t *seqs = NULL;
	int64_t at_ms = now_ms();
	char at[TIMEUTIL_RFC3339_SIZE];
	const char *params[1];
	PGresult *res;
	size_t done = 0;
	int rc = -1;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!bus_topic_valid(topics[i], strlen(topics[i]))) {
			snprintf(err, errlen,
			    "topic %zu is not 1..%d printable ASCII bytes", i,
			    BUS_TOPIC_MAX);
			return -1;
		}
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		snprintf(
		    err, errlen, "stage needs the caller's open transaction");
		return -1;
	}
	seqs = calloc(n, sizeof(*seqs));
	staged = calloc(n, sizeof(*staged));
	topics_literal(&lit, n, topics);
	if (seqs == NULL || staged == NULL || lit.failed) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	params[0] = lit.p;
	res = PQexecParams(conn, SQL_NEXT_SEQS, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fail_res(res, "bus_streams next seqs", err, errlen);
		goto out;
	}
	rc = assign_seqs(res, n, topics, seqs, err, errlen);
	PQclear(res);
	if (rc != 0)
		goto out;
	rc = -1;
	timeutil_format_rfc3339(at_ms, at, sizeof(at));
	for (done = 0; done < n; done++) {
		Anquan__Envelope e = *envs[done];
		size_t topic_len = strlen(topics[done]), len = 0;
		char msg_id[33];
		struct pending *p;
		uint8_t *buf;

		e.stream = (char *)topics[done];
		e.seq = seqs[done];
		e.produced_at_ms = at_ms;
		e.producer = prod->name;
		e.version = BUS_VERSION;
		if (e.msg_id == NULL || e.msg_id[0] == '\0') {
			make_msg_id(msg_id);
			e.msg_id = msg_id;
		}
		buf = bus_envelope_pack(&e, &len);
		if (buf == NULL) {
			snprintf(err, errlen, "envelope %zu over %u bytes",
			    done, BUS_ENVELOPE_MAX);
			goto out;
		}
		p = malloc(sizeof(*p) + topic_len + 1);
		if (p == NULL) {
			free(buf);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		p->next = NULL;
		p->topic_len = topic_len;
		memcpy(p->topic, topics[done], topic_len + 1);
		p->env = buf;
		p->env_len = len;
		staged[done] = p;
		log_row(&rows, topics[done], seqs[done], at, buf, len);
	}
	if (rows.failed) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (copy_rows(conn, &rows, err, errlen) != 0)
		goto out;
	/* Durable in the caller's transaction: keep them pending, in order. */
	for (size_t i = 0; i < n; i++) {
		if (prod->tail != NULL)
			prod->tail->next = staged[i];
		else
			prod->head = staged[i];
		prod->tail = staged[i];
		staged[i] = NULL;
	}
	prod->npending += n;
	rc = 0;
out:
	if (staged != NULL)
		for (size_t i = 0; i < n; i++)
			if (staged[i] != NULL) {
				free(staged[i]->env);
				free(staged[i]);
			}
	free(staged);
	free(seqs);
	free(lit.p);
	free(rows.p);
	return rc;
}

/*
 * bus_producer - a small producer for the bus system tests.
 *
 *   bus_producer -b ENDPOINT -n COUNT [-t TOPIC,TOPIC...] [-r PER_SECOND]
 *                [-k PER_TXN] [--sndhwm N] [--sndbuf BYTES] [--outbox N]
 *
 * It binds a PUB socket and, paced by a 10 ms timer, stages COUNT messages
 * (one ReadingBatch or EventBatch each, round-robin over the topics) with
 * bus_producer_stage in transactions of PER_TXN, commits each and then
 * publishes it, as a real daemon does.  When all are committed and the
 * outbox is empty it logs its counters (event bus_producer.done) and exits
 * 0; a store error exits 1.  The store is $ANQUAN_CONNINFO, on a connection
 * this program owns.  tests/system/t_bus_*.sh drive it.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "bus.h"
#include "log.h"

#define MAX_TOPICS 32
#define TICK_MS 10
/* Bound one tick's work so the loop (and the PUB socket) keep turning. */
#define MAX_PER_TICK 2000

struct producer {
	struct event_base *base;
	struct bus *bus;
	struct bus_sock *pub;
	struct bus_producer *prod;
	PGconn *conn;
	char *topics[MAX_TOPICS];
	int ntopics;
	long count, per_second, per_txn;
	long staged;
	struct timespec start;
	int failed;
};

static double
elapsed_s(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static int
exec_simple(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	char q[256];

	if (!ok)
		log_error("bus_producer.store", "sql=%s err=%s", sql,
		    log_quote(q, sizeof(q), PQerrorMessage(conn)));
	PQclear(res);
	return ok ? 0 : -1;
}

/* Stage message number i (0-based) on its topic. */
static int
stage_one(struct producer *p, long i)
{
	const char *topic = p->topics[i % p->ntopics];
	Anquan__Envelope env = ANQUAN__ENVELOPE__INIT;
	Anquan__ReadingBatch rb = ANQUAN__READING_BATCH__INIT;
	Anquan__Reading r = ANQUAN__READING__INIT, *rp = &r;
	Anquan__EventBatch eb = ANQUAN__EVENT_BATCH__INIT;
	Anquan__Event ev = ANQUAN__EVENT__INIT, *evp = &ev;
	char point[48], id[32], json[64], err[256], q[300];
	uint64_t seq;

	snprintf(point, sizeof(point), "P-%04ld", i % 5000);
	snprintf(id, sizeof(id), "e-%ld", i);
	snprintf(json, sizeof(json), "{\"n\":%ld}", i);
	if (strncmp(topic, "ev.", 3) == 0) {
		ev.kind = (char *)topic + 3;
		ev.id = id;
		ev.at_ms = 1795996800000LL + i;
		ev.source = "bus-test";
		ev.data_case = ANQUAN__EVENT__DATA_JSON;
		ev.json = json;
		eb.source = "bus-test";
		eb.batch_id = id;
		eb.n_events = 1;
		eb.events = &evp;
		env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_EVENTS;
		env.events = &eb;
	} else {
		r.point = point;
		r.ts_ms = 1795996800000LL + i;
		r.value = (double)i / 10.0;
		r.quality = ANQUAN__READING__QUALITY__GOOD;
		rb.source = "bus-test";
		rb.batch_id = id;
		rb.n_readings = 1;
		rb.readings = &rp;
		env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
		env.readings = &rb;
	}
	if (bus_producer_stage(
	        p->prod, p->conn, topic, &env, &seq, err, sizeof(err)) < 0) {
		log_error("bus_producer.stage", "topic=%s err=%s", topic,
		    log_quote(q, sizeof(q), err));
		return -1;
	}
	return 0;
}

/* One transaction of up to n messages: stage, COMMIT, publish. */
static int
produce_txn(struct producer *p, long n)
{
	if (exec_simple(p->conn, "BEGIN") < 0)
		return -1;
	for (long j = 0; j < n; j++) {
		if (stage_one(p, p->staged + j) < 0) {
			exec_simple(p->conn, "ROLLBACK");
			bus_producer_discard(p->prod);
			return -1;
		}
	}
	if (exec_simple(p->conn, "COMMIT") < 0) {
		bus_producer_discard(p->prod);
		return -1;
	}
	p->staged += n;
	bus_producer_publish(p->prod);
	return 0;
}

static void
finish(struct producer *p)
{
	const struct bus_counters *c = bus_counters(p->bus);

	log_info("bus_producer.done",
	    "staged=%ld sent=%" PRIu64 " dropped=%" PRIu64 " seconds=%.2f",
	    p->staged, c->sent, c->dropped, elapsed_s(&p->start));
	event_base_loopexit(p->base, NULL);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct producer *p = arg;
	long target, todo;

	(void)fd;
	(void)what;
	if (p->staged >= p->count) {
		if (bus_sock_outbox(p->pub) == 0)
			finish(p);
		return;
	}
	target = (long)(elapsed_s(&p->start) * (double)p->per_second) + 1;
	if (target > p->count)
		target = p->count;
	todo = target - p->staged;
	if (todo > MAX_PER_TICK)
		todo = MAX_PER_TICK;
	while (todo > 0) {
		long n = todo < p->per_txn ? todo : p->per_txn;

		if (produce_txn(p, n) < 0) {
			p->failed = 1;
			event_base_loopexit(p->base, NULL);
			return;
		}
		todo -= n;
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct producer *p = arg;

	(void)what;
	log_warn(
	    "bus_producer.signal", "sig=%d staged=%ld", (int)sig, p->staged);
	p->failed = 1;
	event_base_loopexit(p->base, NULL);
}

static int
split_topics(struct producer *p, char *list)
{
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		if (p->ntopics == MAX_TOPICS || !bus_topic_valid(t, strlen(t)))
			return -1;
		p->topics[p->ntopics++] = t;
	}
	return p->ntopics > 0 ? 0 : -1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bus_producer -b ENDPOINT -n COUNT "
	                "[-t TOPIC,...] [-r PER_SECOND] [-k PER_TXN]\n"
	                "       [--sndhwm N] [--sndbuf BYTES] [--outbox N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"sndhwm", required_argument, NULL, 'H'},
	    {"sndbuf", required_argument, NULL, 'B'},
	    {"outbox", required_argument, NULL, 'O'},
	    {NULL, 0, NULL, 0},
	};
	char default_topics[] = "rd.370112.hazchem,rd.370102.gas,ev.hazard."
	                        "reported";
	struct producer p = {.count = 1000, .per_second = 5000, .per_txn = 50};
	struct bus_sock_opts so = {0};
	const char *endpoint = NULL, *conninfo = getenv("ANQUAN_CONNINFO");
	char *topics = default_topics;
	struct event *tick, *sigint, *sigterm;
	struct timeval tv = {0, TICK_MS * 1000};
	char err[256];
	int c;

	while (
	    (c = getopt_long(argc, argv, "b:n:t:r:k:", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			endpoint = optarg;
			break;
		case 'n':
			p.count = atol(optarg);
			break;
		case 't':
			topics = optarg;
			break;
		case 'r':
			p.per_second = atol(optarg);
			break;
		case 'k':
			p.per_txn = atol(optarg);
			break;
		case 'H':
			so.sndhwm = atoi(optarg);
			break;
		case 'B':
			so.sndbuf = atoi(optarg);
			break;
		case 'O':
			so.outbox_max = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (endpoint == NULL || p.count < 1 || p.per_second < 1 ||
	    p.per_txn < 1 || split_topics(&p, topics) < 0)
		usage();
	log_init("bus_producer", LOGL_INFO);
	if (conninfo == NULL)
		log_fatal(
		    "bus_producer.config", "err=\"ANQUAN_CONNINFO not set\"");
	signal(SIGPIPE, SIG_IGN);

	p.conn = PQconnectdb(conninfo);
	if (PQstatus(p.conn) != CONNECTION_OK)
		log_fatal("bus_producer.store", "err=%s",
		    log_quote(err, sizeof(err), PQerrorMessage(p.conn)));
	p.base = event_base_new();
	p.bus = bus_new(p.base);
	if (p.bus == NULL)
		log_fatal("bus_producer.bus", "err=\"no ZeroMQ context\"");
	p.pub = bus_socket(p.bus, ZMQ_PUB, &so);
	if (p.pub == NULL || bus_bind(p.pub, endpoint) < 0)
		log_fatal("bus_producer.bind", "endpoint=%s", endpoint);
	p.prod = bus_producer_new(p.pub, "bus_producer");
	tick = event_new(p.base, -1, EV_PERSIST, on_tick, &p);
	sigint = evsignal_new(p.base, SIGINT, on_signal, &p);
	sigterm = evsignal_new(p.base, SIGTERM, on_signal, &p);
	event_add(tick, &tv);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	clock_gettime(CLOCK_MONOTONIC, &p.start);
	log_info("bus_producer.start",
	    "endpoint=%s count=%ld rate=%ld topics=%d", endpoint, p.count,
	    p.per_second, p.ntopics);

	event_base_dispatch(p.base);

	event_free(tick);
	event_free(sigint);
	event_free(sigterm);
	bus_producer_free(p.prod);
	bus_free(p.bus);
	event_base_free(p.base);
	PQfinish(p.conn);
	return p.failed ? 1 : 0;
}

/*
 * bus_consumer - a small consumer for the bus system tests.
 *
 *   bus_consumer -n NAME -c ENDPOINT [-c ...] -p PREFIX [-p ...]
 *                [--resync-ms N] [--batch N] [--rcvhwm N] [--rcvbuf BYTES]
 *                [--delay-us N]
 *
 * A bus_consumer (common/bus_consumer.c) named NAME whose only effect is a
 * row in bus_test_seen(consumer, stream, seq, msg_id, replayed) per message,
 * inserted in the consumer's transaction together with its cursor, so the
 * table shows exactly what was handled, how often, and whether it came live
 * or by replay.  It has no unique key on purpose: a double effect shows up
 * as a second row instead of being hidden by an error.  --delay-us makes
 * every message slow, so a publisher outruns it.
 *
 * It makes the table (a test table, not part of the schema) if missing.
 * SIGTERM or SIGINT ends it cleanly after logging its counters (event
 * bus_consumer.stats) for the test to read.  The connection is
 * $ANQUAN_CONNINFO and belongs to this program; the consumer borrows it.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "log.h"

#define MAX_LIST 16

static const char SQL_TABLE[] =
    "CREATE TABLE IF NOT EXISTS bus_test_seen ("
    " consumer text NOT NULL, stream text NOT NULL, seq bigint NOT NULL,"
    " msg_id text NOT NULL, replayed boolean NOT NULL,"
    " at timestamptz NOT NULL DEFAULT clock_timestamp())";

static const char SQL_SEEN[] =
    "INSERT INTO bus_test_seen (consumer, stream, seq, msg_id, replayed) "
    "VALUES ($1, $2, $3::bigint, $4, $5::boolean)";

struct app {
	const char *name;
	const char *conninfo;
	PGconn *conn;
	int delay_us;
	struct event_base *base;
};

static PGconn *
get_conn(void *arg)
{
	struct app *a = arg;

	if (PQstatus(a->conn) != CONNECTION_OK) {
		/* A test program may block here; a daemon's store would not. */
		PQreset(a->conn);
		if (PQstatus(a->conn) != CONNECTION_OK)
			return NULL;
	}
	return a->conn;
}

static enum bus_verdict
on_any(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	struct app *a = arg;
	char seq[24];
	const char *params[5] = {a->name, msg->topic, seq, msg->env->msg_id,
	    msg->replayed ? "true" : "false"};
	PGresult *res;
	enum bus_verdict v = BUS_OK;

	if (a->delay_us > 0)
		usleep((useconds_t)a->delay_us);
	snprintf(seq, sizeof(seq), "%" PRIu64, msg->env->seq);
	res = PQexecParams(conn, SQL_SEEN, 5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		v = BUS_RETRY;
	PQclear(res);
	return v;
}

static const struct bus_handler handlers[] = {
    {ANQUAN__ENVELOPE__PAYLOAD_READINGS, on_any},
    {ANQUAN__ENVELOPE__PAYLOAD_EVENTS, on_any},
    {0, NULL},
};

/* Two consumers may start together: make the table under a lock. */
static int
make_table(PGconn *conn)
{
	static const char *const steps[] = {
	    "BEGIN",
	    "SELECT pg_advisory_xact_lock(hashtext('bus_test_seen'))",
	    SQL_TABLE,
	    "COMMIT",
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		PGresult *res = PQexec(conn, steps[i]);
		ExecStatusType st = PQresultStatus(res);

		PQclear(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			return -1;
	}
	return 0;
}

/* The NOTICE of CREATE TABLE IF NOT EXISTS is not news. */
static void
quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct app *a = arg;

	(void)what;
	log_info("bus_consumer.signal", "sig=%d", (int)sig);
	event_base_loopexit(a->base, NULL);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bus_consumer -n NAME -c ENDPOINT [-c ...] -p PREFIX "
	    "[-p ...]\n"
	    "       [--resync-ms N] [--batch N] [--rcvhwm N] [--rcvbuf BYTES] "
	    "[--delay-us N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"resync-ms", required_argument, NULL, 'R'},
	    {"batch", required_argument, NULL, 'B'},
	    {"rcvhwm", required_argument, NULL, 'H'},
	    {"rcvbuf", required_argument, NULL, 'U'},
	    {"delay-us", required_argument, NULL, 'D'},
	    {NULL, 0, NULL, 0},
	};
	const char *endpoints[MAX_LIST + 1] = {NULL},
	                                 *prefixes[MAX_LIST + 1] = {NULL};
	struct bus_consumer_cfg cfg = {0};
	struct app a = {0};
	const struct bus_counters *k;
	struct bus_consumer *cons;
	struct event *sigint, *sigterm;
	struct bus *bus;
	char q[256];
	int c, ne = 0, np = 0;

	while ((c = getopt_long(argc, argv, "n:c:p:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			a.name = optarg;
			break;
		case 'c':
			if (ne == MAX_LIST)
				usage();
			endpoints[ne++] = optarg;
			break;
		case 'p':
			if (np == MAX_LIST)
				usage();
			prefixes[np++] = optarg;
			break;
		case 'R':
			cfg.resync_ms = atoi(optarg);
			break;
		case 'B':
			cfg.batch_max = atoi(optarg);
			break;
		case 'H':
			cfg.sub_opts.rcvhwm = atoi(optarg);
			break;
		case 'U':
			cfg.sub_opts.rcvbuf = atoi(optarg);
			break;
		case 'D':
			a.delay_us = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (a.name == NULL || ne == 0 || np == 0)
		usage();
	log_init("bus_consumer", LOGL_INFO);
	a.conninfo = getenv("ANQUAN_CONNINFO");
	if (a.conninfo == NULL)
		log_fatal(
		    "bus_consumer.config", "err=\"ANQUAN_CONNINFO not set\"");
	a.conn = PQconnectdb(a.conninfo);
	PQsetNoticeProcessor(a.conn, quiet_notice, NULL);
	if (PQstatus(a.conn) != CONNECTION_OK || make_table(a.conn) < 0)
		log_fatal("bus_consumer.store", "err=%s",
		    log_quote(q, sizeof(q), PQerrorMessage(a.conn)));

	a.base = event_base_new();
	bus = bus_new(a.base);
	if (bus == NULL)
		log_fatal("bus_consumer.bus", "err=\"no ZeroMQ context\"");
	cfg.name = a.name;
	cfg.endpoints = endpoints;
	cfg.prefixes = prefixes;
	cfg.handlers = handlers;
	cfg.get_conn = get_conn;
	cfg.arg = &a;
	cons = bus_consumer_new(bus, &cfg);
	if (cons == NULL)
		log_fatal("bus_consumer.start", "consumer=%s", a.name);
	sigint = evsignal_new(a.base, SIGINT, on_signal, &a);
	sigterm = evsignal_new(a.base, SIGTERM, on_signal, &a);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);

	event_base_dispatch(a.base);

	k = bus_counters(bus);
	log_info("bus_consumer.stats",
	    "consumer=%s received=%" PRIu64 " handled=%" PRIu64
	    " duplicates=%" PRIu64 " gaps=%" PRIu64 " replayed=%" PRIu64
	    " deferred=%" PRIu64 " retries=%" PRIu64 " malformed=%" PRIu64
	    " lost=%" PRIu64,
	    a.name, k->received, k->handled, k->duplicates, k->gaps,
	    k->replayed, k->deferred, k->retries, k->malformed, k->lost);
	bus_consumer_free(cons);
	event_free(sigint);
	event_free(sigterm);
	bus_free(bus);
	event_base_free(a.base);
	PQfinish(a.conn);
	return 0;
}

/*
 * ingestd - the ingest daemon: every feed of the city accepted, validated,
 * made durable and published (DESIGN.md §3, §4.1).
 *
 * This file is the daemon's table and its life cycle on the common
 * skeleton (common/daemon.h): the [ingestd] config keys, init (registry
 * from the store, the PUB socket, the writer thread, the ZeroMQ intake,
 * the refresh and partition timers), drain (stop the intake, let the
 * writer finish and answer what it holds), health and shutdown.  The work
 * itself is in api.c (HTTP), query.c (the read routes), intake.c (ZeroMQ),
 * readings.c, events.c and kinds.c (validation), registry.c and writer*.c
 * (group commit); ingestd.h says how they fit.  Everything made here is
 * owned here and freed in shutdown; the PUB socket belongs to the
 * skeleton's bus.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/event.h>
#include <zmq.h>

#include "api.h"
#include "bus.h"
#include "daemon.h"
#include "ingestd.h"
#include "ingestd_store.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "query.h"
#include "store.h"

struct ingestd_cfg {
	struct daemon_section_cfg daemon;
	int64_t queue_max_items;
	int64_t group_wait_ms;
	int64_t group_max_items;
	int64_t writer_connections;
	int64_t max_items;
	int64_t max_future_ms;
	int64_t retention_ms;
	int64_t registry_refresh_ms;
	int64_t partitions_ahead;
};

static struct ingestd_cfg cfg;

static const struct cfg_key ingestd_keys[] = {
	DAEMON_SECTION_KEYS(struct ingestd_cfg, daemon, "127.0.0.1:8101"),
	CFG_KEY_INT(struct ingestd_cfg, queue_max_items, "queue_max_items",
	    "200000", 1000, 10000000, 0,
	    "readings and events waiting for the writer; beyond, 503"),
	CFG_KEY_DURATION(struct ingestd_cfg, group_wait_ms, "group_wait",
	    "2ms", 0, 1000, 0,
	    "how long a group commit waits for more requests to join it"),
	CFG_KEY_INT(struct ingestd_cfg, group_max_items, "group_max_items",
	    "20000", 1, 1000000, 0, "a group commits once it holds this many"),
	CFG_KEY_INT(struct ingestd_cfg, writer_connections,
	    "writer_connections", "2", 1, 8, 0,
	    "writer threads, each committing groups on its own connection"),
	CFG_KEY_INT(struct ingestd_cfg, max_items, "max_items", "50000", 1,
	    1000000, 0, "items in one request or batch; more is a 400"),
	CFG_KEY_DURATION(struct ingestd_cfg, max_future_ms, "max_future", "5m",
	    0, 86400000, 0, "how far ahead of our clock a reading may be"),
	CFG_KEY_DURATION(struct ingestd_cfg, retention_ms, "retention",
	    "9600h", 3600000, 876000000000.0, 0,
	    "readings older than this are refused"),
	CFG_KEY_DURATION(struct ingestd_cfg, registry_refresh_ms,
	    "registry_refresh", "5s", 100, 3600000, 0,
	    "how often the registry re-reads sources, tokens and changes"),
	CFG_KEY_INT(struct ingestd_cfg, partitions_ahead, "partitions_ahead",
	    "8", 2, 366, 0, "daily readings partitions kept ready ahead"),
};

static struct api api;
static struct query query;
static struct registry *registry;
static struct writer *writer;
static struct intake *intake;
static struct bus_sock *pub;
static struct event *refresh_ev, *partitions_ev;
static struct metric *m_refresh_errors;

/* The writer hands each committed group's messages here (loop thread). */
static void
publish(void *arg, struct bus_producer *prod)
{
	(void)arg;
	bus_producer_publish(prod);
	bus_producer_free(prod);
}

static void
on_refresh(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct store_err err;
	char q[300];

	(void)fd;
	(void)what;
	if (registry_refresh(registry, daemon_store(d), &err) != 0) {
		metrics_inc(m_refresh_errors);
		log_warn("ingest.registry_refresh", "error=%s",
		    log_quote(q, sizeof(q), err.msg));
	}
}

static void
ensure_partitions(struct daemon *d)
{
	struct store_err err;
	int created = 0;
	char q[300];

	if (ingestd_store_ensure_partitions(daemon_store(d),
	        (int)cfg.partitions_ahead, &created, &err) != 0)
		log_warn("ingest.partitions", "error=%s",
		    log_quote(q, sizeof(q), err.msg));
	else if (created > 0)
		log_info("ingest.partitions", "created=%d", created);
}

static void
on_partitions(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ensure_partitions(arg);
}

static int
ingestd_init(struct daemon *d, void *arg)
{
	const struct daemon_shared_cfg *sh = daemon_shared(d);
	struct bus_sock_opts popts = {0};
	struct store_opts sopts = {0};
	struct writer_opts wopts = {0};
	struct intake_opts iopts = {0};
	struct store_err err;

	(void)arg;
	registry = registry_new();
	if (registry == NULL)
		log_fatal("ingest.start", "error=\"out of memory\"");
	if (registry_load(registry, daemon_store(d), &err) != 0) {
		if (strcmp(err.sqlstate, "42P01") == 0 ||
		    strcmp(err.sqlstate, "42883") == 0)
			log_fatal("ingest.schema_missing",
			    "error=\"%s\" hint=\"run safetyctl migrate "
			    "--dir deploy/sql first\"",
			    err.msg);
		log_fatal("ingest.registry_load", "error=\"%s\" hint=\"%s\"",
		    err.msg,
		    err.kind == STORE_ERR_CONN
		        ? "the store is out of reach: check [store] conninfo"
		        : "the registry in the store cannot be used");
	}
	popts.sndhwm = (int)sh->bus.sndhwm;
	pub = bus_socket(daemon_bus(d), ZMQ_PUB, &popts);
	if (pub == NULL || bus_bind(pub, sh->bus.ingestd_pub) != 0)
		log_fatal("ingest.pub", "endpoint=%s error=\"cannot bind the "
		                        "PUB socket ([bus] ingestd_pub)\"",
		    sh->bus.ingestd_pub);

	sopts.backoff_min_ms = (int)sh->store.backoff_min_ms;
	sopts.backoff_max_ms = (int)sh->store.backoff_max_ms;
	sopts.connect_timeout_s = (int)((sh->store.connect_timeout_ms + 999) /
	    1000);
	sopts.statement_timeout_ms = (int)sh->store.statement_timeout_ms;
	wopts.conninfo = daemon_conninfo(d);
	wopts.queue_max_items = (size_t)cfg.queue_max_items;
	wopts.group_wait_us = cfg.group_wait_ms * 1000;
	wopts.group_max_items = (size_t)cfg.group_max_items;
	wopts.connections = (size_t)cfg.writer_connections;
	wopts.store = &sopts;
	wopts.metrics = daemon_metrics(d);
	wopts.pub = pub;
	writer = writer_new(daemon_base(d), &wopts, registry, publish, NULL);
	if (writer == NULL)
		log_fatal("ingest.writer", "error=\"cannot start the writer\"");

	api.reg = registry;
	api.store = daemon_store(d);
	api.writer = writer;
	api.max_future_ms = cfg.max_future_ms;
	api.retention_ms = cfg.retention_ms;
	api.max_items = (size_t)cfg.max_items;
	if (api_init(&api, daemon_metrics(d)) != 0)
		log_fatal("ingest.metrics", "error=\"cannot register\"");
	/* The read routes (query.h) share the ingest routes' bearer tokens:
	 * the server's auth callback is api_auth for every table. */
	query.reg = registry;
	query.store = daemon_store(d);
	if (http_server_add_routes(daemon_http(d), query_routes,
	        QUERY_NROUTES, &query) != 0)
		log_fatal("ingest.query_routes",
		    "error=\"cannot register the read routes\"");

	iopts.endpoint = sh->bus.ingest_pull;
	iopts.ack_pub = pub;
	iopts.max_future_ms = cfg.max_future_ms;
	iopts.retention_ms = cfg.retention_ms;
	iopts.max_items = (size_t)cfg.max_items;
	iopts.pause_items = (size_t)cfg.queue_max_items * 3 / 4;
	iopts.resume_items = (size_t)cfg.queue_max_items / 4;
	iopts.metrics = daemon_metrics(d);
	intake = intake_start(daemon_bus(d), registry, writer, &iopts);
	if (intake == NULL)
		log_fatal("ingest.intake", "endpoint=%s error=\"cannot bind the "
		                           "collector intake ([bus] "
		                           "ingest_pull)\"",
		    sh->bus.ingest_pull);

	m_refresh_errors = metrics_counter(daemon_metrics(d),
	    "anquan_ingest_registry_refresh_errors_total",
	    "registry refreshes that failed (the old registry stays)", NULL);
	refresh_ev = daemon_every(d, cfg.registry_refresh_ms, on_refresh, d);
	partitions_ev = daemon_every(d, 24 * 3600 * 1000, on_partitions, d);
	ensure_partitions(d);
	log_info("ingest.ready", "queue_max_items=%lld group_wait_ms=%lld "
	    "group_max_items=%lld writer_connections=%lld pub=%s pull=%s",
	    (long long)cfg.queue_max_items, (long long)cfg.group_wait_ms,
	    (long long)cfg.group_max_items, (long long)cfg.writer_connections,
	    sh->bus.ingestd_pub,
	    sh->bus.ingest_pull);
	return 0;
}

static void
drained(void *arg)
{
	daemon_drained(arg);
}

static void
ingestd_drain(struct daemon *d, void *arg)
{
	(void)arg;
	if (refresh_ev != NULL)
		event_del(refresh_ev);
	if (partitions_ev != NULL)
		event_del(partitions_ev);
	intake_stop(intake);
	writer_drain(writer, drained, d);
}

static int
ingestd_health(struct daemon *d, void *arg, char *why, size_t size)
{
	(void)d;
	(void)arg;
	if (!writer_store_up(writer)) {
		snprintf(why, size, "the writer cannot reach the store");
		return -1;
	}
	if (writer_queue_depth(writer) >= (size_t)cfg.queue_max_items) {
		snprintf(why, size, "the ingest queue is full (%zu items)",
		    writer_queue_depth(writer));
		return -1;
	}
	return 0;
}

static void
ingestd_shutdown(struct daemon *d, void *arg)
{
	(void)d;
	(void)arg;
	if (refresh_ev != NULL)
		event_free(refresh_ev);
	if (partitions_ev != NULL)
		event_free(partitions_ev);
	intake_stop(intake);
	writer_free(writer);
	intake_free(intake);
	registry_free(registry);
}

static const struct daemon_spec spec = {
	.name = "ingestd",
	.keys = ingestd_keys,
	.nkeys = sizeof(ingestd_keys) / sizeof(ingestd_keys[0]),
	.cfg = &cfg,
	.section_cfg_offset = offsetof(struct ingestd_cfg, daemon),
	.init = ingestd_init,
	.drain = ingestd_drain,
	.shutdown = ingestd_shutdown,
	.health = ingestd_health,
	.routes = api_routes,
	.nroutes = API_NROUTES,
	.auth = api_auth,
	.arg = &api,
};

int
main(int argc, char **argv)
{
	return daemon_main(&spec, argc, argv);
}

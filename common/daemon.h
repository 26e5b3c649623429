/*
 * daemon - the skeleton every Anquan daemon stands on.
 *
 * A daemon is a table and one call: services/<name>/main.c fills a const
 * struct daemon_spec (name, its config table, init/shutdown/reload hooks,
 * HTTP routes, timers, health check, metrics) and calls daemon_main().  The
 * lifecycle lives here, once:
 *
 *   options      -f FILE, -n (check config), -nv (check and print the
 *                effective config), -d (foreground), -o section.key=value
 *   config       the shared sections [log] [store] [bus] declared here, the
 *                daemon's own section from its table; ANQUAN_CONNINFO
 *                overrides [store] conninfo
 *   logging      common/log, level from [log] level
 *   event base   one libevent loop; the daemon's work runs on it
 *   signals      SIGTERM/SIGINT drain (stop taking work, let the daemon
 *                finish what it holds, exit 0); SIGHUP reloads the config
 *                (keys marked CFG_RELOAD) and calls the reload hook
 *   store        one struct store for the loop's thread (lazy connect,
 *                reconnect with backoff)
 *   bus          one struct bus on the loop (sockets are the daemon's)
 *   http         the daemon's routes plus GET /healthz and GET /metrics
 *   timers       named periodic callbacks
 *
 * Errors at start (bad config, port taken, schema missing) are fatal with a
 * clear message before the loop runs; anything after start is logged and
 * counted, never fatal.
 */
#ifndef ANQUAN_DAEMON_H
#define ANQUAN_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "cfg.h"
#include "http.h"

struct daemon;
struct store;
struct bus;
struct metrics;

/*
 * The keys every daemon's own section has.  A daemon's config struct embeds
 * this struct and lists DAEMON_SECTION_KEYS(T, member) in its key table, so
 * one [name] section carries both the skeleton's keys and its own.
 */
struct daemon_section_cfg {
	char http_listen[64]; /* host:port of the HTTP server */
	int64_t http_timeout_ms;
	int64_t http_max_body;
	int64_t drain_timeout_ms;
};

#define DAEMON_SECTION_KEYS(T, m, listen)                                    \
	CFG_KEY_STRING(T, m.http_listen, "http_listen", listen, 0,           \
	    "address:port of the HTTP API, /healthz and /metrics"),          \
	    CFG_KEY_DURATION(T, m.http_timeout_ms, "http_timeout", "10s",    \
		1000, 600000, 0,                                             \
		"time a client has to send its headers and body"),           \
	    CFG_KEY_SIZE(T, m.http_max_body, "http_max_body", "16m", 1024,   \
		1073741824.0, 0, "largest request body accepted (413 above)"), \
	    CFG_KEY_DURATION(T, m.drain_timeout_ms, "drain_timeout", "10s",  \
		0, 600000, CFG_RELOAD,                                       \
		"on SIGTERM, how long in-flight work may take to finish")

/* The shared sections, read by every daemon. */
struct daemon_shared_cfg {
	struct {
		int level; /* enum log_level */
	} log;
	struct {
		char conninfo[512];
		int64_t statement_timeout_ms;
		int64_t connect_timeout_ms;
		int64_t backoff_min_ms;
		int64_t backoff_max_ms;
	} store;
	struct {
		char ingest_pull[128];
		char ingestd_pub[128];
		char riskd_pub[128];
		char alarmd_pub[128];
		char schedd_pub[128];
		int64_t sndhwm;
		int64_t resync_ms;
	} bus;
};

/* Every section name of the whole system, NULL-terminated. */
extern const char *const daemon_known_sections[];

#define DAEMON_SHARED_SECTIONS 3
/*
 * Fill out[0..DAEMON_SHARED_SECTIONS) with the tables of [log], [store] and
 * [bus] over *cfg (daemon_cfg.c); safetyctl reads them the same way.
 */
size_t daemon_shared_sections(struct daemon_shared_cfg *cfg,
    struct cfg_section *out);

/* A periodic callback on the loop. */
struct daemon_timer {
	const char *name;
	int64_t period_ms;
	void (*fn)(struct daemon *d, void *arg);
};

/* The daemon's description.  Only name and section are required. */
struct daemon_spec {
	const char *name; /* program name and config section */
	/* The daemon's own section: keys (with DAEMON_SECTION_KEYS), its
	 * struct, and where in it the embedded daemon_section_cfg is. */
	const struct cfg_key *keys;
	size_t nkeys;
	void *cfg;
	size_t section_cfg_offset;

	/* After config, log, loop, store, bus and HTTP exist; before the
	 * loop runs.  Non-zero is fatal (logged by the hook). */
	int (*init)(struct daemon *d, void *arg);
	/* SIGTERM: stop taking work and finish what is held; call
	 * daemon_drained() when done (or let drain_timeout expire). */
	void (*drain)(struct daemon *d, void *arg);
	/* After the loop ended: free what init made. */
	void (*shutdown)(struct daemon *d, void *arg);
	/* After a successful reload of the config. */
	void (*reload)(struct daemon *d, void *arg);
	/* Extra health: 0 healthy, else -1 with why filled. */
	int (*health)(struct daemon *d, void *arg, char *why, size_t size);

	const struct http_route *routes;
	size_t nroutes;
	/* Decides on bearer tokens for routes flagged HTTP_ROUTE_AUTH. */
	http_auth_fn auth;
	const struct daemon_timer *timers;
	size_t ntimers;

	unsigned flags;
	void *arg;
};

#define DAEMON_NO_STORE 0x1u /* do not open the store */
#define DAEMON_NO_HTTP 0x2u  /* no HTTP server (tests, tools) */
#define DAEMON_NO_DRAIN_WAIT 0x4u /* drain ends at once (no drain hook) */

/* Run the daemon: parse options, configure, run the loop, exit code. */
int daemon_main(const struct daemon_spec *spec, int argc, char **argv);

/* Accessors for hooks and handlers; the skeleton owns what they return. */
struct event_base *daemon_base(struct daemon *d);
struct store *daemon_store(struct daemon *d);
struct bus *daemon_bus(struct daemon *d);
struct metrics *daemon_metrics(struct daemon *d);
struct http_server *daemon_http(struct daemon *d);
const struct daemon_shared_cfg *daemon_shared(const struct daemon *d);
const char *daemon_name(const struct daemon *d);
/*
 * The connection string the loop's store uses ([store] conninfo, or the
 * private cluster's var/conninfo when that is empty), for a worker thread
 * that opens its own store; "" with DAEMON_NO_STORE.
 */
const char *daemon_conninfo(const struct daemon *d);
/*
 * A periodic callback on the loop every period_ms, for periods that come
 * from the daemon's config (spec timers have fixed periods).  Fatal when
 * the event cannot be made; the caller owns it (event_del at drain,
 * event_free at shutdown).
 */
struct event *daemon_every(struct daemon *d, int64_t period_ms,
    event_callback_fn fn, void *arg);

/* 1 once SIGTERM was received. */
int daemon_draining(const struct daemon *d);

/* The drain hook's work is done: the loop may end. */
void daemon_drained(struct daemon *d);

/* Ask the loop to stop as on SIGTERM (tests, fatal runtime conditions). */
void daemon_stop(struct daemon *d);

#endif

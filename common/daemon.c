/*
 * daemon - the lifecycle every Anquan daemon shares (see daemon.h).
 *
 * daemon_main() runs the same steps for each daemon: options, config (the
 * shared sections of daemon_cfg.c plus the daemon's own), -n/-nv, logging,
 * detaching unless -d, the event base, the store handle, the bus, the HTTP
 * server with /healthz and /metrics, timers, signals, the daemon's init
 * hook, and the loop.  SIGTERM starts a drain: the HTTP listener closes,
 * the drain hook finishes what the daemon holds and calls daemon_drained(),
 * or drain_timeout ends the loop anyway; a second SIGTERM ends it at once.
 * SIGHUP re-reads the file: reloadable keys change, the others are named in
 * the log as needing a restart, and a bad file changes nothing.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "bus.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"

#define DEFAULT_CONF "deploy/anquan.conf"
#define PRIVATE_CONNINFO_FILE "var/conninfo"

struct daemon_timer_ctx {
	struct daemon *d;
	const struct daemon_timer *timer;
	struct event *ev;
};

struct daemon {
	const struct daemon_spec *spec;
	const char *conf_path;
	int foreground;
	struct cfg_overrides ov;
	struct daemon_shared_cfg shared;
	struct cfg_section sections[DAEMON_SHARED_SECTIONS + 1];
	size_t nsections;
	char conninfo[sizeof(((struct daemon_shared_cfg *)0)->store.conninfo)];

	struct event_base *base;
	struct store *store;
	struct bus *bus;
	struct metrics *metrics;
	struct http_server *http;
	struct event *sig_term, *sig_int, *sig_hup, *drain_timer;
	struct daemon_timer_ctx *timers;
	int draining;
	int64_t started_ms;
	struct metric *reloads, *reload_errors;
};

static const struct daemon_section_cfg *
section_cfg(const struct daemon *d)
{
	return (const struct daemon_section_cfg *)((const char *)d->spec->cfg +
	    d->spec->section_cfg_offset);
}

struct event_base *
daemon_base(struct daemon *d)
{
	return d->base;
}

struct store *
daemon_store(struct daemon *d)
{
	return d->store;
}

struct bus *
daemon_bus(struct daemon *d)
{
	return d->bus;
}

struct metrics *
daemon_metrics(struct daemon *d)
{
	return d->metrics;
}

struct http_server *
daemon_http(struct daemon *d)
{
	return d->http;
}

const char *
daemon_conninfo(const struct daemon *d)
{
	return d->conninfo;
}

const struct daemon_shared_cfg *
daemon_shared(const struct daemon *d)
{
	return &d->shared;
}

const char *
daemon_name(const struct daemon *d)
{
	return d->spec->name;
}

int
daemon_draining(const struct daemon *d)
{
	return d->draining;
}

void
daemon_drained(struct daemon *d)
{
	log_info("daemon.drained", "name=%s", d->spec->name);
	event_base_loopexit(d->base, NULL);
}

/* --- options and config -------------------------------------------------- */

static void
usage(const char *name)
{
	fprintf(stderr,
	    "usage: %s [-d] [-n [-v]] [-f FILE] [-o section.key=value ...]\n"
	    "  -f FILE  config file (default %s)\n"
	    "  -n       check the config and exit; -nv also prints it\n"
	    "  -d       stay in the foreground\n"
	    "  -o S.K=V override one key, checked like the file\n",
	    name, DEFAULT_CONF);
}

static void
build_sections(struct daemon *d)
{
	const struct daemon_spec *spec = d->spec;

	d->nsections = daemon_shared_sections(&d->shared, d->sections);
	d->sections[d->nsections++] = (struct cfg_section){spec->name,
	    spec->keys, spec->nkeys, spec->cfg};
}

/*
 * The connection string: [store] conninfo (or ANQUAN_CONNINFO through the
 * overrides); empty means the private cluster of deploy/pgctl.sh, whose
 * string is in var/conninfo of the working folder.
 */
static void
resolve_conninfo(struct daemon *d)
{
	FILE *fp;

	snprintf(d->conninfo, sizeof(d->conninfo), "%s",
	    d->shared.store.conninfo);
	if (d->conninfo[0] != '\0')
		return;
	fp = fopen(PRIVATE_CONNINFO_FILE, "r");
	if (fp == NULL)
		return;
	if (fgets(d->conninfo, sizeof(d->conninfo), fp) != NULL)
		d->conninfo[strcspn(d->conninfo, "\r\n")] = '\0';
	else
		d->conninfo[0] = '\0';
	fclose(fp);
}

static int
split_listen(const char *listen, char *host, size_t hostsize, int *port)
{
	const char *colon = strrchr(listen, ':');
	char *end;
	long p;

	if (colon == NULL || colon == listen ||
	    (size_t)(colon - listen) >= hostsize)
		return -1;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || p < 0 ||
	    p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static int
check_section(const struct daemon *d, char *why, size_t size)
{
	char host[64];
	int port;

	if (d->spec->flags & DAEMON_NO_HTTP)
		return 0;
	if (split_listen(section_cfg(d)->http_listen, host, sizeof(host),
		&port) != 0) {
		snprintf(why, size,
		    "[%s] http_listen: want address:port, got \"%s\"",
		    d->spec->name, section_cfg(d)->http_listen);
		return -1;
	}
	return 0;
}

/* --- built-in routes ----------------------------------------------------- */

/*
 * A round trip to the store: an idle connection that the server dropped
 * looks alive until it is used, so /healthz uses it.  The statement is
 * trivial and the store is local; statement_timeout bounds it.
 */
static int
store_probe(struct daemon *d, char *why, size_t size)
{
	struct store_err err;

	if (store_exec(d->store, "SELECT 1", 0, NULL, NULL, &err) == 0)
		return 0;
	/* A dropped connection fails once, then reconnects: try again. */
	if (err.kind == STORE_ERR_CONN &&
	    store_exec(d->store, "SELECT 1", 0, NULL, NULL, &err) == 0)
		return 0;
	snprintf(why, size, "store unreachable: %.200s", err.msg);
	return -1;
}

static void
handle_healthz(struct http_req *r, void *arg)
{
	struct daemon *d = arg;
	struct json_out out;
	char why[256] = "";
	int ok = 1;

	if (d->store != NULL && store_probe(d, why, sizeof(why)) != 0)
		ok = 0;
	if (ok && d->draining) {
		ok = 0;
		snprintf(why, sizeof(why), "draining (shutting down)");
	}
	if (ok && d->spec->health != NULL &&
	    d->spec->health(d, d->spec->arg, why, sizeof(why)) != 0)
		ok = 0;
	if (!ok) {
		http_reply_error(r, 503, "unhealthy", "%s: %s", d->spec->name,
		    why[0] ? why : "not ready");
		return;
	}
	json_out_init(&out);
	json_out_obj_open(&out);
	json_out_kv_str(&out, "status", "ok");
	json_out_kv_str(&out, "name", d->spec->name);
	json_out_kv_int(&out, "uptime_s",
	    (timeutil_mono_ms() - d->started_ms) / 1000);
	json_out_obj_close(&out);
	http_reply_json(r, 200, &out);
	json_out_free(&out);
}

static const struct http_route builtin_routes[] = {
	{"GET", "/healthz", handle_healthz, 0},
	{"GET", "/metrics", http_handle_metrics, 0},
};

/* --- metrics of the skeleton --------------------------------------------- */

static uint64_t
store_stat(struct daemon *d, size_t off)
{
	struct store_stats st;

	if (d->store == NULL)
		return 0;
	store_get_stats(d->store, &st);
	return *(const uint64_t *)((const char *)&st + off);
}

#define STORE_STAT_FN(field)                                                 \
	static uint64_t store_stat_##field(void *arg)                        \
	{                                                                    \
		return store_stat(arg, offsetof(struct store_stats, field)); \
	}
STORE_STAT_FN(connects)
STORE_STAT_FN(reconnects)
STORE_STAT_FN(failures)
STORE_STAT_FN(refused)
STORE_STAT_FN(queries)
STORE_STAT_FN(errors)

static uint64_t
bus_stat(struct daemon *d, size_t off)
{
	if (d->bus == NULL)
		return 0;
	return *(const uint64_t *)((const char *)bus_counters(d->bus) + off);
}

#define BUS_STAT_FN(field)                                                   \
	static uint64_t bus_stat_##field(void *arg)                          \
	{                                                                    \
		return bus_stat(arg, offsetof(struct bus_counters, field));  \
	}
BUS_STAT_FN(sent)
BUS_STAT_FN(received)
BUS_STAT_FN(dropped)
BUS_STAT_FN(malformed)
BUS_STAT_FN(duplicates)
BUS_STAT_FN(gaps)
BUS_STAT_FN(replayed)
BUS_STAT_FN(handled)

static double
bus_queued(void *arg)
{
	return (double)bus_stat(arg, offsetof(struct bus_counters, queued));
}

static double
uptime_s(void *arg)
{
	struct daemon *d = arg;

	return (double)(timeutil_mono_ms() - d->started_ms) / 1000.0;
}

/* Resident set size from /proc/self/statm, in bytes. */
static double
rss_bytes(void *arg)
{
	long pages_total, pages_rss;
	FILE *fp;

	(void)arg;
	fp = fopen("/proc/self/statm", "r");
	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%ld %ld", &pages_total, &pages_rss) != 2)
		pages_rss = 0;
	fclose(fp);
	return (double)pages_rss * (double)sysconf(_SC_PAGESIZE);
}

/*
 * The loop's base.  libevent runs every active callback, including those
 * made active meanwhile, before it polls again: a socket that yields with
 * event_active() under a long backlog (the bus's receive budget) would
 * keep /healthz and /metrics unanswered until the backlog is gone.  So the
 * loop checks for new I/O and timers at least every 10 ms of callbacks.
 */
static struct event_base *
new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct timeval every = {0, 10000};
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_max_dispatch_interval(cfg, &every, -1, 0);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static void
register_metrics(struct daemon *d)
{
	static const struct {
		const char *name, *help;
		uint64_t (*fn)(void *);
	} counters[] = {
		{"store_connects_total", "connections made to the store",
		    store_stat_connects},
		{"store_reconnects_total", "connections made after one was lost",
		    store_stat_reconnects},
		{"store_connect_failures_total", "failed connection attempts",
		    store_stat_failures},
		{"store_refused_total", "calls refused while reconnect backoff ran",
		    store_stat_refused},
		{"store_queries_total", "statements sent to the store",
		    store_stat_queries},
		{"store_errors_total", "statements that failed", store_stat_errors},
		{"bus_sent_total", "messages handed to ZeroMQ", bus_stat_sent},
		{"bus_received_total", "messages taken from ZeroMQ",
		    bus_stat_received},
		{"bus_dropped_total", "sends given up (repaired by replay)",
		    bus_stat_dropped},
		{"bus_malformed_total", "messages rejected as malformed",
		    bus_stat_malformed},
		{"bus_duplicates_total", "live messages already handled",
		    bus_stat_duplicates},
		{"bus_gaps_total", "sequence gaps detected", bus_stat_gaps},
		{"bus_replayed_total", "messages read back from the store",
		    bus_stat_replayed},
		{"bus_handled_total", "messages whose effects committed",
		    bus_stat_handled},
	};

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		metrics_counter_fn(d->metrics, counters[i].name,
		    counters[i].help, NULL, counters[i].fn, d);
	metrics_gauge_fn(d->metrics, "bus_queued",
	    "messages waiting in bus outboxes", NULL, bus_queued, d);
	metrics_gauge_fn(d->metrics, "uptime_seconds",
	    "seconds since the daemon started", NULL, uptime_s, d);
	metrics_gauge_fn(d->metrics, "process_resident_bytes",
	    "resident set size of the process", NULL, rss_bytes, d);
	d->reloads = metrics_counter(d->metrics, "config_reloads_total",
	    "successful SIGHUP reloads", NULL);
	d->reload_errors = metrics_counter(d->metrics,
	    "config_reload_errors_total",
	    "SIGHUP reloads refused for a bad file", NULL);
}

/* --- signals, timers, drain ---------------------------------------------- */

static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	log_warn("daemon.drain_timeout", "name=%s inflight=%zu",
	    d->spec->name, d->http ? http_server_inflight(d->http) : 0);
	event_base_loopexit(d->base, NULL);
}

void
daemon_stop(struct daemon *d)
{
	const struct daemon_section_cfg *sc = section_cfg(d);
	struct timeval tv;

	if (d->draining) {
		log_warn("daemon.stop_now", "name=%s", d->spec->name);
		event_base_loopbreak(d->base);
		return;
	}
	d->draining = 1;
	log_info("daemon.draining", "name=%s timeout_ms=%lld", d->spec->name,
	    (long long)sc->drain_timeout_ms);
	if (d->http != NULL)
		http_server_close_listener(d->http);
	for (size_t i = 0; i < d->spec->ntimers; i++)
		event_del(d->timers[i].ev);
	if (d->spec->drain == NULL) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	tv.tv_sec = sc->drain_timeout_ms / 1000;
	tv.tv_usec = (sc->drain_timeout_ms % 1000) * 1000;
	d->drain_timer = evtimer_new(d->base, on_drain_timeout, d);
	if (d->drain_timer != NULL)
		evtimer_add(d->drain_timer, &tv);
	d->spec->drain(d, d->spec->arg);
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_info("daemon.signal", "name=%s signal=%s", d->spec->name,
	    sig == SIGINT ? "INT" : "TERM");
	daemon_stop(d);
}

static void
on_changed(void *arg, const struct cfg_section *section,
    const struct cfg_key *key, const char *old_text, const char *new_text,
    bool applied)
{
	char qo[160], qn[160];

	(void)arg;
	if (applied)
		log_info("config.changed", "key=%s.%s old=%s new=%s",
		    section->name, key->name, log_quote(qo, sizeof(qo), old_text),
		    log_quote(qn, sizeof(qn), new_text));
	else
		log_warn("config.needs_restart", "key=%s.%s old=%s new=%s",
		    section->name, key->name, log_quote(qo, sizeof(qo), old_text),
		    log_quote(qn, sizeof(qn), new_text));
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct cfg_error err;
	char msg[512];
	int restart;

	(void)sig;
	(void)what;
	restart = cfg_reload(d->conf_path, d->sections, d->nsections,
	    daemon_known_sections, &d->ov, &err, on_changed, d);
	if (restart < 0) {
		metrics_inc(d->reload_errors);
		log_error("config.reload_refused", "error=%s",
		    log_quote(msg, sizeof(msg),
			cfg_error_format(&err, msg, sizeof(msg))));
		return;
	}
	log_set_level((enum log_level)d->shared.log.level);
	metrics_inc(d->reloads);
	log_info("config.reloaded", "file=%s needs_restart=%d",
	    d->conf_path ? d->conf_path : "-", restart);
	if (d->spec->reload != NULL)
		d->spec->reload(d, d->spec->arg);
}

struct event *
daemon_every(struct daemon *d, int64_t period_ms, event_callback_fn fn,
    void *arg)
{
	struct timeval tv = {(time_t)(period_ms / 1000),
	    (suseconds_t)((period_ms % 1000) * 1000)};
	struct event *ev = event_new(d->base, -1, EV_PERSIST, fn, arg);

	if (ev == NULL || event_add(ev, &tv) != 0)
		log_fatal("daemon.timer", "name=%s error=\"cannot start a timer\"",
		    d->spec->name);
	return ev;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_timer_ctx *t = arg;

	(void)fd;
	(void)what;
	t->timer->fn(t->d, t->d->spec->arg);
}

static int
start_timers(struct daemon *d)
{
	const struct daemon_spec *spec = d->spec;

	if (spec->ntimers == 0)
		return 0;
	d->timers = calloc(spec->ntimers, sizeof(*d->timers));
	if (d->timers == NULL)
		return -1;
	for (size_t i = 0; i < spec->ntimers; i++) {
		const struct daemon_timer *t = &spec->timers[i];
		struct timeval tv = {(time_t)(t->period_ms / 1000),
		    (suseconds_t)((t->period_ms % 1000) * 1000)};

		d->timers[i].d = d;
		d->timers[i].timer = t;
		d->timers[i].ev = event_new(d->base, -1, EV_PERSIST, on_timer,
		    &d->timers[i]);
		if (d->timers[i].ev == NULL || t->period_ms <= 0 ||
		    event_add(d->timers[i].ev, &tv) != 0) {
			log_error("daemon.timer", "name=%s period_ms=%lld",
			    t->name, (long long)t->period_ms);
			return -1;
		}
	}
	return 0;
}

/* --- start and stop ------------------------------------------------------ */

static void
detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		log_fatal("daemon.fork", "error=%s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		log_fatal("daemon.setsid", "error=%s", strerror(errno));
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

static int
start_http(struct daemon *d)
{
	const struct daemon_section_cfg *sc = section_cfg(d);
	struct http_opts opts = {0};
	char host[64];
	int port;

	if (d->spec->flags & DAEMON_NO_HTTP)
		return 0;
	if (split_listen(sc->http_listen, host, sizeof(host), &port) != 0)
		return -1;
	opts.max_body_bytes = (size_t)sc->http_max_body;
	opts.timeout_s = (int)((sc->http_timeout_ms + 999) / 1000);
	opts.metrics = d->metrics;
	opts.auth = d->spec->auth;
	opts.auth_arg = d->spec->arg;
	d->http = http_server_new(d->base, host, port, &opts);
	if (d->http == NULL)
		return -1;
	if (http_server_add_routes(d->http, builtin_routes, 1, d) != 0 ||
	    http_server_add_routes(d->http, builtin_routes + 1, 1,
		d->metrics) != 0)
		return -1;
	if (d->spec->nroutes > 0 &&
	    http_server_add_routes(d->http, d->spec->routes, d->spec->nroutes,
		d->spec->arg) != 0)
		return -1;
	log_info("http.listening", "name=%s addr=%s:%d", d->spec->name, host,
	    http_server_port(d->http));
	return 0;
}

static void
teardown(struct daemon *d)
{
	if (d->timers != NULL) {
		for (size_t i = 0; i < d->spec->ntimers; i++)
			if (d->timers[i].ev != NULL)
				event_free(d->timers[i].ev);
		free(d->timers);
	}
	if (d->drain_timer != NULL)
		event_free(d->drain_timer);
	if (d->sig_term != NULL)
		event_free(d->sig_term);
	if (d->sig_int != NULL)
		event_free(d->sig_int);
	if (d->sig_hup != NULL)
		event_free(d->sig_hup);
	if (d->http != NULL)
		http_server_free(d->http);
	if (d->bus != NULL)
		bus_free(d->bus);
	if (d->store != NULL)
		store_close(d->store);
	if (d->metrics != NULL)
		metrics_free(d->metrics);
	if (d->base != NULL)
		event_base_free(d->base);
}

static int
parse_options(struct daemon *d, int argc, char **argv, int *check,
    int *print)
{
	struct cfg_error err;
	char msg[512];
	int c;

	optind = 1;
	while ((c = getopt(argc, argv, "f:ndvo:h")) != -1) {
		switch (c) {
		case 'f':
			d->conf_path = optarg;
			break;
		case 'n':
			*check = 1;
			break;
		case 'v':
			*print = 1;
			break;
		case 'd':
			d->foreground = 1;
			break;
		case 'o':
			if (cfg_override_option(&d->ov, optarg, &err) != 0) {
				fprintf(stderr, "%s: %s\n", d->spec->name,
				    cfg_error_format(&err, msg, sizeof(msg)));
				return -1;
			}
			break;
		case 'h':
			usage(d->spec->name);
			exit(0);
		default:
			usage(d->spec->name);
			return -1;
		}
	}
	if (optind != argc) {
		usage(d->spec->name);
		return -1;
	}
	return 0;
}

int
daemon_main(const struct daemon_spec *spec, int argc, char **argv)
{
	struct daemon dd, *d = &dd;
	struct cfg_error err;
	char msg[512];
	int check = 0, print = 0, rc = 0;
	struct store_opts sopts = {0};

	memset(d, 0, sizeof(*d));
	d->spec = spec;
	d->conf_path = DEFAULT_CONF;
	/* The environment first, so that -o options (applied later) win. */
	if (cfg_override_env(&d->ov, &err) != 0) {
		fprintf(stderr, "%s: %s\n", spec->name,
		    cfg_error_format(&err, msg, sizeof(msg)));
		return 1;
	}
	if (parse_options(d, argc, argv, &check, &print) != 0)
		return 2;
	build_sections(d);
	if (cfg_load(d->conf_path, d->sections, d->nsections,
		daemon_known_sections, &d->ov, &err) != 0) {
		fprintf(stderr, "%s: %s\n", spec->name,
		    cfg_error_format(&err, msg, sizeof(msg)));
		return 1;
	}
	if (check_section(d, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", spec->name, d->conf_path, msg);
		return 1;
	}
	if (check) {
		if (print)
			cfg_print(stdout, d->sections, d->nsections);
		else
			printf("%s: %s: configuration ok\n", spec->name,
			    d->conf_path);
		return 0;
	}

	log_init(spec->name, (enum log_level)d->shared.log.level);
	if (!d->foreground)
		detach();
	signal(SIGPIPE, SIG_IGN);
	d->started_ms = timeutil_mono_ms();
	/* Locking on, before the base exists: a daemon's worker thread (ingestd's
	 * writer) wakes the loop with event_active() from its own thread. */
	if (evthread_use_pthreads() != 0)
		log_fatal("daemon.start", "error=\"cannot enable libevent threads\"");
	d->base = new_base();
	d->metrics = metrics_new();
	if (d->base == NULL || d->metrics == NULL)
		log_fatal("daemon.start", "error=\"out of memory\"");
	register_metrics(d);

	if (!(spec->flags & DAEMON_NO_STORE)) {
		resolve_conninfo(d);
		sopts.backoff_min_ms = (int)d->shared.store.backoff_min_ms;
		sopts.backoff_max_ms = (int)d->shared.store.backoff_max_ms;
		sopts.connect_timeout_s =
		    (int)((d->shared.store.connect_timeout_ms + 999) / 1000);
		sopts.statement_timeout_ms =
		    (int)d->shared.store.statement_timeout_ms;
		sopts.application_name = spec->name;
		d->store = store_open(d->conninfo, &sopts);
		if (d->store == NULL)
			log_fatal("store.config", "error=\"bad conninfo\"");
		if (!store_ok(d->store))
			log_warn("store.unreachable",
			    "name=%s note=\"starting anyway; /healthz says 503 "
			    "until it answers\"",
			    spec->name);
	}
	d->bus = bus_new(d->base);
	if (d->bus == NULL)
		log_fatal("bus.start", "error=\"cannot make a ZeroMQ context\"");
	if (start_http(d) != 0)
		log_fatal("http.start", "name=%s listen=%s", spec->name,
		    section_cfg(d)->http_listen);

	d->sig_term = evsignal_new(d->base, SIGTERM, on_term, d);
	d->sig_int = evsignal_new(d->base, SIGINT, on_term, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
	if (d->sig_term == NULL || d->sig_int == NULL || d->sig_hup == NULL ||
	    evsignal_add(d->sig_term, NULL) != 0 ||
	    evsignal_add(d->sig_int, NULL) != 0 ||
	    evsignal_add(d->sig_hup, NULL) != 0)
		log_fatal("daemon.signals", "error=\"cannot watch signals\"");
	if (start_timers(d) != 0)
		log_fatal("daemon.timers", "name=%s", spec->name);

	if (spec->init != NULL && spec->init(d, spec->arg) != 0) {
		log_error("daemon.init_failed", "name=%s", spec->name);
		teardown(d);
		return 1;
	}
	log_info("daemon.started", "name=%s pid=%ld config=%s", spec->name,
	    (long)getpid(), d->conf_path);
	if (event_base_dispatch(d->base) < 0) {
		log_error("daemon.loop", "name=%s", spec->name);
		rc = 1;
	}
	if (spec->shutdown != NULL)
		spec->shutdown(d, spec->arg);
	log_info("daemon.stopped", "name=%s", spec->name);
	teardown(d);
	return rc;
}

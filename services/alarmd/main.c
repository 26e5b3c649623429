/*
 * alarmd - incidents, routing to duty officers, escalation, delivery and
 * the duty console (DESIGN.md 4.2, DOMAIN.md 6).
 *
 * This file is the daemon's table and life cycle on the common skeleton:
 * the [alarmd] keys (deadlines, ladder, noise control, receivers: every
 * rule a default here), init (policy, webhook engine, SSE hub, PUB socket,
 * the bus consumer of riskd's al.* and rk.* and ingestd's roster events),
 * the timers (due steps, roster gaps, deadline reminders), the console's
 * routes, health and shutdown.  alarmd.h says how the other files fit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <zmq.h>

#include "api.h"
#include "bus.h"
#include "console.h"
#include "core_internal.h"
#include "daemon.h"
#include "deliver.h"
#include "log.h"
#include "metrics.h"
#include "officers.h"
#include "sse.h"
#include "store.h"

struct alarmd_cfg {
	struct daemon_section_cfg daemon;
	int64_t ack_red_ms, ack_orange_ms, ack_yellow_ms;
	int64_t resolve_red_ms, resolve_orange_ms, resolve_yellow_ms;
	int64_t repeat_ms;
	int64_t group_wait_ms;
	char note_levels[64];
	char auto_resolve_levels[64];
	bool inhibit;
	int64_t flap_window_ms;
	int64_t flap_count;
	char alarm_levels[200];
	char warning_min_level[16];
	char gap_level[16];
	char console_url[200];
	char receivers[600];
	char fallback[300];
	int64_t attempts_before_fallback;
	int64_t backoff_min_ms, backoff_max_ms;
	int64_t delivery_timeout_ms;
	int64_t max_in_flight;
	int64_t tick_ms;
	int64_t gap_check_ms;
	int64_t reminder_check_ms;
	int64_t sse_max_clients;
};

static struct alarmd_cfg cfg;

#define T struct alarmd_cfg
static const struct cfg_key alarmd_keys[] = {
	DAEMON_SECTION_KEYS(T, daemon, "127.0.0.1:8301"),
	CFG_KEY_DURATION(T, ack_red_ms, "ack_red", "5m", 1000, 86400000, 0,
	    "a red incident must be acknowledged within this"),
	CFG_KEY_DURATION(T, ack_orange_ms, "ack_orange", "15m", 1000, 86400000,
	    0, "an orange incident must be acknowledged within this"),
	CFG_KEY_DURATION(T, ack_yellow_ms, "ack_yellow", "60m", 1000, 86400000,
	    0, "a yellow incident must be acknowledged within this"),
	CFG_KEY_DURATION(T, resolve_red_ms, "resolve_red", "60m", 0, 604800000,
	    0, "an acknowledged red incident reminds again after this (0 never)"),
	CFG_KEY_DURATION(T, resolve_orange_ms, "resolve_orange", "4h", 0,
	    604800000, 0, "the same for orange"),
	CFG_KEY_DURATION(T, resolve_yellow_ms, "resolve_yellow", "24h", 0,
	    604800000, 0, "the same for yellow"),
	CFG_KEY_DURATION(T, repeat_ms, "repeat", "15m", 1000, 86400000, 0,
	    "at the top tier, notify again this often until acknowledged"),
	CFG_KEY_DURATION(T, group_wait_ms, "group_wait", "2s", 0, 600000, 0,
	    "how long a new incident gathers alarms before its first notice"),
	CFG_KEY_STRING(T, note_levels, "note_levels", "orange,red", 0,
	    "levels whose resolution needs a disposition note"),
	CFG_KEY_STRING(T, auto_resolve_levels, "auto_resolve_levels",
	    "blue,yellow", 0, "levels resolved by themselves once cleared"),
	CFG_KEY_BOOL(T, inhibit, "inhibit", "true", 0,
	    "an enterprise's red incident mutes its lower ones"),
	CFG_KEY_DURATION(T, flap_window_ms, "flap_window", "10m", 1000,
	    86400000, 0, "window in which a point's alarms are counted"),
	CFG_KEY_INT(T, flap_count, "flap_count", "5", 0, 1000, 0,
	    "alarms of a point in the window that make it flapping (0 off)"),
	CFG_KEY_STRING(T, alarm_levels, "alarm_levels", AL_KIND_LEVELS_DEFAULT,
	    0, "the incident level of each alarm kind"),
	CFG_KEY_STRING(T, warning_min_level, "warning_min_level", "orange", 0,
	    "the lowest source warning that makes an incident"),
	CFG_KEY_STRING(T, gap_level, "gap_level", "yellow", 0,
	    "the level of a roster gap's incident"),
	CFG_KEY_STRING(T, console_url, "console_url", "http://127.0.0.1:8301/",
	    0, "the console's address, for ack_url in notices"),
	CFG_KEY_STRING(T, receivers, "receivers", "", 0,
	    "webhook receivers: name=http://host:port/path,..."),
	CFG_KEY_STRING(T, fallback, "fallback", "", 0,
	    "the receiver used when one keeps failing: name=url"),
	CFG_KEY_INT(T, attempts_before_fallback, "attempts_before_fallback",
	    "5", 1, 100, 0, "failed attempts before the fallback takes over"),
	CFG_KEY_DURATION(T, backoff_min_ms, "backoff_min", "500ms", 10,
	    600000, 0, "first retry delay (doubling after each failure)"),
	CFG_KEY_DURATION(T, backoff_max_ms, "backoff_max", "5m", 100, 3600000,
	    0, "longest retry delay"),
	CFG_KEY_DURATION(T, delivery_timeout_ms, "delivery_timeout", "5s", 100,
	    120000, 0, "one webhook attempt's limit"),
	CFG_KEY_INT(T, max_in_flight, "max_in_flight", "64", 1, 4096, 0,
	    "webhook requests in flight per receiver"),
	CFG_KEY_DURATION(T, tick_ms, "tick", "100ms", 10, 10000, 0,
	    "how often due steps are looked for"),
	CFG_KEY_DURATION(T, gap_check_ms, "gap_check", "60s", 1000, 3600000, 0,
	    "how often the rosters are checked for units nobody covers"),
	CFG_KEY_DURATION(T, reminder_check_ms, "reminder_check", "60s", 1000,
	    3600000, 0, "how often record deadlines are checked"),
	CFG_KEY_INT(T, sse_max_clients, "sse_max_clients", "256", 1, 100000,
	    0, "consoles connected at once"),
};
#undef T

static struct alarmd ad;
static struct event *tick_ev, *gap_ev, *rem_ev;
static const char *endpoints[3];
static const char *const prefixes[] = {"al.", "rk.", "ev.duty.roster", NULL};

struct store *
alarmd_store(struct alarmd *a)
{
	return a->st;
}

const struct al_policy *
alarmd_policy(const struct alarmd *a)
{
	return &a->policy;
}

struct sse *
alarmd_sse(struct alarmd *a)
{
	return a->sse;
}

void
alarmd_silences_changed(struct alarmd *a)
{
	a->sil_stale = 1;
}

void
alarmd_incident_changed(struct alarmd *a, int64_t incident_id)
{
	core_changed(a, incident_id);
	core_after_run(a);
}

/* "orange,red" into flags per level. */
static void
level_set(const char *spec, int *out, const char *key)
{
	char buf[64], *save = NULL;

	for (int i = 0; i < AL_LEVELS; i++)
		out[i] = 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, ", ", &save); t != NULL;
	     t = strtok_r(NULL, ", ", &save)) {
		enum al_level l;

		if (al_level_parse(t, &l) < 0)
			log_fatal("alarmd.config",
			    "key=alarmd.%s error=\"'%s' is not a level (blue, "
			    "yellow, orange, red)\"",
			    key, t);
		out[l] = 1;
	}
}

static enum al_level
level_of(const char *s, const char *key)
{
	enum al_level l;

	if (al_level_parse(s, &l) < 0)
		log_fatal("alarmd.config",
		    "key=alarmd.%s error=\"'%s' is not a level\"", key, s);
	return l;
}

static void
parse_policy(struct alarmd *a)
{
	struct al_policy *p = &a->policy;
	char why[200];

	al_policy_init(p);
	p->ack_within_ms[AL_RED] = cfg.ack_red_ms;
	p->ack_within_ms[AL_ORANGE] = cfg.ack_orange_ms;
	p->ack_within_ms[AL_YELLOW] = cfg.ack_yellow_ms;
	p->resolve_within_ms[AL_RED] = cfg.resolve_red_ms;
	p->resolve_within_ms[AL_ORANGE] = cfg.resolve_orange_ms;
	p->resolve_within_ms[AL_YELLOW] = cfg.resolve_yellow_ms;
	p->repeat_ms = cfg.repeat_ms;
	p->group_wait_ms = cfg.group_wait_ms;
	level_set(cfg.note_levels, p->note_required, "note_levels");
	level_set(cfg.auto_resolve_levels, p->auto_resolve, "auto_resolve_levels");
	p->inhibit = cfg.inhibit;
	p->flap_window_ms = cfg.flap_window_ms;
	p->flap_count = (int)cfg.flap_count;
	if (al_kind_levels_parse(cfg.alarm_levels, &a->kinds, why,
	        sizeof(why)) < 0)
		log_fatal("alarmd.config", "key=alarmd.alarm_levels error=\"%s\"",
		    why);
	a->warning_min = level_of(cfg.warning_min_level, "warning_min_level");
	a->gap_level = level_of(cfg.gap_level, "gap_level");
	snprintf(a->console_url, sizeof(a->console_url), "%s", cfg.console_url);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct alarmd *a = arg;

	(void)fd;
	(void)what;
	core_run_due(a, alarmd_now_ms());
}

static void
on_gaps(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	core_check_gaps(arg, alarmd_now_ms());
}

static void
on_reminders(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	core_check_reminders(arg, alarmd_now_ms());
}

static PGconn *
get_conn(void *arg)
{
	struct alarmd *a = arg;

	return store_conn(a->st);
}

static void
init_metrics(struct alarmd *a, struct metrics *m)
{
	static const double ack_buckets[] = {10, 30, 60, 120, 300, 600, 900,
	    1800, 3600, 7200};

	a->m.opened = metrics_counter(m, "anquan_alarmd_incidents_opened_total",
	    "incidents opened", NULL);
	a->m.joined = metrics_counter(m, "anquan_alarmd_alarms_joined_total",
	    "alarms that joined an open incident", NULL);
	a->m.notified = metrics_counter(m, "anquan_alarmd_notifications_total",
	    "notices sent to receivers", NULL);
	a->m.held = metrics_counter(m, "anquan_alarmd_notifications_held_total",
	    "notices held by a silence, inhibition or flapping", NULL);
	a->m.escalated = metrics_counter(m, "anquan_alarmd_escalations_total",
	    "escalations (a deadline missed, or a level raised)", NULL);
	a->m.acked = metrics_counter(m, "anquan_alarmd_acknowledged_total",
	    "incidents acknowledged by officers", NULL);
	a->m.resolved = metrics_counter(m, "anquan_alarmd_resolved_total",
	    "incidents resolved", NULL);
	a->m.ack_seconds = metrics_histogram(m,
	    "anquan_alarmd_time_to_acknowledge_seconds",
	    "from an incident's opening to its acknowledgement", NULL,
	    ack_buckets, sizeof(ack_buckets) / sizeof(ack_buckets[0]));
	a->m.gaps = metrics_counter(m, "anquan_alarmd_roster_gaps_total",
	    "roster gaps raised as incidents", NULL);
	a->m.reminders = metrics_counter(m, "anquan_alarmd_reminders_total",
	    "deadline reminders raised as incidents", NULL);
	a->m.step_errors = metrics_counter(m, "anquan_alarmd_step_errors_total",
	    "steps or checks rolled back (tried again)", NULL);
}

static int
alarmd_init(struct daemon *d, void *arg)
{
	const struct daemon_shared_cfg *sh = daemon_shared(d);
	struct alarmd *a = arg;
	struct deliver_opts dopts;
	struct bus_sock_opts popts = {0};
	struct bus_consumer_cfg cc = {0};
	struct bus_sock *pub;
	char why[200];

	a->d = d;
	a->st = daemon_store(d);
	audit_batch_init(&a->audit);
	a->nshifts = -1;
	parse_policy(a);
	init_metrics(a, daemon_metrics(d));
	memset(&dopts, 0, sizeof(dopts));
	if (deliver_receivers_parse(cfg.receivers, &dopts, why, sizeof(why)) < 0)
		log_fatal("alarmd.config", "key=alarmd.receivers error=\"%s\"",
		    why);
	if (cfg.fallback[0] != '\0') {
		struct deliver_opts fb;

		memset(&fb, 0, sizeof(fb));
		if (deliver_receivers_parse(cfg.fallback, &fb, why,
		        sizeof(why)) < 0)
			log_fatal("alarmd.config",
			    "key=alarmd.fallback error=\"%s\"", why);
		if (fb.nreceivers != 1)
			log_fatal("alarmd.config",
			    "key=alarmd.fallback error=\"want exactly one "
			    "name=url, got %zu\"",
			    fb.nreceivers);
		dopts.fallback = fb.receivers[0];
	}
	dopts.conninfo = daemon_conninfo(d);
	dopts.attempts_before_fallback = (int)cfg.attempts_before_fallback;
	dopts.backoff_min_ms = cfg.backoff_min_ms;
	dopts.backoff_max_ms = cfg.backoff_max_ms;
	dopts.timeout_ms = cfg.delivery_timeout_ms;
	dopts.max_in_flight = (int)cfg.max_in_flight;
	dopts.metrics = daemon_metrics(d);
	if ((a->dl = deliver_new(daemon_base(d), &dopts)) == NULL)
		log_fatal("alarmd.deliver", "error=\"cannot start delivery\"");
	if (deliver_load_pending(a->dl) < 0)
		log_fatal("alarmd.deliver",
		    "error=\"cannot read pending deliveries\" hint=\"is the "
		    "store reachable and migrated (safetyctl migrate)?\"");
	if ((a->sse = sse_new(daemon_base(d), (size_t)cfg.sse_max_clients)) ==
	    NULL)
		log_fatal("alarmd.start", "error=\"out of memory\"");
	sse_metrics(a->sse, daemon_metrics(d));
	if ((a->sse_ev = event_new(daemon_base(d), -1, 0, core_consoles_cb,
	         a)) == NULL)
		log_fatal("alarmd.start", "error=\"out of memory\"");
	popts.sndhwm = (int)sh->bus.sndhwm;
	pub = bus_socket(daemon_bus(d), ZMQ_PUB, &popts);
	if (pub == NULL || bus_bind(pub, sh->bus.alarmd_pub) != 0)
		log_fatal("alarmd.pub", "endpoint=%s error=\"cannot bind the "
		                        "PUB socket ([bus] alarmd_pub)\"",
		    sh->bus.alarmd_pub);
	if ((a->prod = bus_producer_new(pub, "alarmd")) == NULL)
		log_fatal("alarmd.start", "error=\"out of memory\"");
	endpoints[0] = sh->bus.riskd_pub;
	endpoints[1] = sh->bus.ingestd_pub;
	endpoints[2] = NULL;
	cc.name = "alarmd";
	cc.endpoints = endpoints;
	cc.prefixes = prefixes;
	cc.handlers = core_handlers;
	cc.get_conn = get_conn;
	cc.arg = a;
	cc.resync_ms = (int)sh->bus.resync_ms;
	cc.before_commit = core_before_commit;
	cc.after_commit = core_after_commit;
	cc.after_abort = core_after_abort;
	if ((a->cons = bus_consumer_new(daemon_bus(d), &cc)) == NULL)
		log_fatal("alarmd.consumer", "error=\"cannot start the bus "
		                             "consumer\"");
	officers_init(a->st);
	console_set(a->st, a->sse);
	api_set(a);
	if (http_server_add_routes(daemon_http(d), api_routes, api_nroutes, a) !=
	        0 ||
	    http_server_add_routes(daemon_http(d), console_routes,
	        console_nroutes, a) != 0)
		log_fatal("alarmd.routes", "error=\"cannot register the routes\"");
	tick_ev = daemon_every(d, cfg.tick_ms, on_tick, a);
	gap_ev = daemon_every(d, cfg.gap_check_ms, on_gaps, a);
	rem_ev = daemon_every(d, cfg.reminder_check_ms, on_reminders, a);
	log_info("alarmd.ready", "receivers=%zu fallback=%s sub=%s,%s pub=%s",
	    dopts.nreceivers, dopts.fallback.name[0] ? dopts.fallback.name : "-",
	    sh->bus.riskd_pub, sh->bus.ingestd_pub, sh->bus.alarmd_pub);
	return 0;
}

static void
alarmd_drain(struct daemon *d, void *arg)
{
	(void)arg;
	if (tick_ev != NULL)
		event_del(tick_ev);
	if (gap_ev != NULL)
		event_del(gap_ev);
	if (rem_ev != NULL)
		event_del(rem_ev);
	daemon_drained(d);
}

static int
alarmd_health(struct daemon *d, void *arg, char *why, size_t size)
{
	struct alarmd *a = arg;

	(void)d;
	if (a->cons == NULL || !bus_consumer_live(a->cons)) {
		snprintf(why, size, "the bus consumer is still replaying");
		return -1;
	}
	return 0;
}

static void
alarmd_shutdown(struct daemon *d, void *arg)
{
	struct alarmd *a = arg;

	(void)d;
	if (tick_ev != NULL)
		event_free(tick_ev);
	if (gap_ev != NULL)
		event_free(gap_ev);
	if (rem_ev != NULL)
		event_free(rem_ev);
	bus_consumer_free(a->cons);
	core_after_discard(a);
	bus_producer_free(a->prod);
	deliver_free(a->dl);
	if (a->sse_ev != NULL)
		event_free(a->sse_ev);
	free(a->to_consoles);
	sse_free(a->sse);
	free(a->after);
	free(a->changed);
	free(a->sil_block);
	audit_batch_free(&a->audit);
	cs_prepared_free();
	free(a->shifts);
	core_nt_free(a);
	free(a->nt);
	free(a->raised);
	free(a->cleared);
}

static const struct daemon_spec spec = {
	.name = "alarmd",
	.keys = alarmd_keys,
	.nkeys = sizeof(alarmd_keys) / sizeof(alarmd_keys[0]),
	.cfg = &cfg,
	.section_cfg_offset = offsetof(struct alarmd_cfg, daemon),
	.init = alarmd_init,
	.drain = alarmd_drain,
	.shutdown = alarmd_shutdown,
	.health = alarmd_health,
	.auth = officers_auth,
	.arg = &ad,
};

int
main(int argc, char **argv)
{
	return daemon_main(&spec, argc, argv);
}

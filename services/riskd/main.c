/*
 * riskd - the grading daemon: monitoring-point alarms, hazard-source
 * grades and early warnings, risk points and enterprise dynamic risk
 * (DESIGN.md section 1, DOMAIN.md section 3).
 *
 * This file is the daemon's table and life cycle on the common skeleton:
 * the [riskd] keys (every threshold, band and rule of DOMAIN.md 3 is a
 * default here, never a constant in the grading code), init (parse the
 * rule tables, load the model, bind the PUB socket, start the bus
 * consumer of rd.* and ev.*), a one-second tick (offline checks and the
 * rules that depend on time), health and shutdown.  riskd.h says how the
 * other files fit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <zmq.h>

#include "bus.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "riskd.h"
#include "store.h"
#include "timeutil.h"

struct riskd_cfg {
	struct daemon_section_cfg daemon;
	double deadband_share;
	int64_t default_delay_ms;
	int64_t default_interval_ms;
	double offline_factor;
	char gas_defaults[512];
	char alpha_table[256];
	char grade_bounds[128];
	double major_min_s;
	int64_t reassess_months;
	char lec_bands[256];
	char ls_bands[256];
	char warning_red[512];
	char warning_orange[512];
	char warning_yellow[512];
	char sector_levels[512];
	char director_sectors[256];
	int64_t director_min_employees;
	int64_t death_window_ms;
	int64_t larger_accident_window_ms;
	bool raise_open_major_hazard;
	bool raise_overdue_hazard;
	bool raise_source_warning;
	bool raise_death_accident;
	bool raise_no_director;
	bool raise_no_resplist;
	bool direct_red_overdue_major;
	bool direct_red_larger_accident;
	int64_t tick_ms;
	int64_t state_flush_ms;
	int64_t state_flush_max;
	int64_t batch_max;
	int64_t page_rows;
};

static struct riskd_cfg cfg;

#define T struct riskd_cfg
static const struct cfg_key riskd_keys[] = {
	DAEMON_SECTION_KEYS(T, daemon, "127.0.0.1:8201"),
	CFG_KEY_DOUBLE(T, deadband_share, "deadband_share", "0.02", 0, 0.5, 0,
	    "default deadband as a share of the point's range"),
	CFG_KEY_DURATION(T, default_delay_ms, "default_delay", "0s", 0,
	    3600000, 0, "how long a threshold condition must hold by default"),
	CFG_KEY_DURATION(T, default_interval_ms, "default_interval", "60s",
	    1000, 86400000, 0, "expected reading interval of a point by default"),
	CFG_KEY_DOUBLE(T, offline_factor, "offline_factor", "3", 1, 100, 0,
	    "a point is offline after this many expected intervals"),
	CFG_KEY_STRING(T, gas_defaults, "gas_defaults",
	    "gas_combustible:%LEL:::25:50,oxygen:%VOL::19.5:23.5:,"
	    "methane:%:::1.0:1.5,gas_toxic:%OEL:::100:200",
	    0, "thresholds of gas points that give none: kind:unit:ll:l:h:hh"),
	CFG_KEY_STRING(T, alpha_table, "alpha_table",
	    "100:2.0,50:1.5,30:1.2,1:1.0,0:0.5", 0,
	    "GB 18218 alpha by people within 500 m: min_people:alpha"),
	CFG_KEY_STRING(T, grade_bounds, "grade_bounds", "100,50,10", 0,
	    "R at or above which a source is grade 1, 2, 3 (else 4)"),
	CFG_KEY_DOUBLE(T, major_min_s, "major_min_s", "1", 0.000001, 1e9, 0,
	    "S = sum q/Q at or above which a unit is a major hazard source"),
	CFG_KEY_INT(T, reassess_months, "reassess_months", "36", 1, 600, 0,
	    "months after assessed_on that a re-assessment is due"),
	CFG_KEY_STRING(T, lec_bands, "lec_bands",
	    ">320:red,>=160:orange,>=70:yellow", 0,
	    "LEC D bands, first match wins, else blue"),
	CFG_KEY_STRING(T, ls_bands, "ls_bands", ">=20:red,>=15:orange,>=9:yellow",
	    0, "LS R bands, first match wins, else blue"),
	CFG_KEY_STRING(T, warning_red, "warning_red",
	    "hhll_lasting >= 10m; hhll_during_operation hot_work,confined_space; "
	    "hhll_points >= 3; unacked_orange >= 15m grade 1,2",
	    0, "early-warning rules of a major hazard source giving red"),
	CFG_KEY_STRING(T, warning_orange, "warning_orange",
	    "hhll_any; hl_points >= 3; hl_raised_in 24h >= 10", 0,
	    "early-warning rules giving orange"),
	CFG_KEY_STRING(T, warning_yellow, "warning_yellow",
	    "hl_any; operation hot_work/special,hot_work/first,confined_space; "
	    "maintenance startup,shutdown,trial; offline_share >= 20%",
	    0, "early-warning rules giving yellow"),
	CFG_KEY_STRING(T, sector_levels, "sector_levels",
	    "hazchem:yellow,coal:yellow,noncoal_mine:yellow,metallurgy:yellow,"
	    "*:blue",
	    0, "default inherent risk level by sector"),
	CFG_KEY_STRING(T, director_sectors, "director_sectors",
	    "hazchem,coal,noncoal_mine,metallurgy", 0,
	    "sectors whose enterprises must have a safety director"),
	CFG_KEY_INT(T, director_min_employees, "director_min_employees", "300",
	    1, 10000000, 0, "or enterprises with at least this many staff"),
	CFG_KEY_DURATION(T, death_window_ms, "death_window", "8760h", 86400000,
	    315360000000.0, 0, "how long an accident with a death raises risk"),
	CFG_KEY_DURATION(T, larger_accident_window_ms, "larger_accident_window",
	    "26280h", 86400000, 315360000000.0, 0,
	    "how long a 较大 or worse accident makes an enterprise red"),
	CFG_KEY_BOOL(T, raise_open_major_hazard, "raise_open_major_hazard",
	    "true", 0, "an open major hidden hazard raises one level"),
	CFG_KEY_BOOL(T, raise_overdue_hazard, "raise_overdue_hazard", "true", 0,
	    "an overdue hidden hazard raises one level"),
	CFG_KEY_BOOL(T, raise_source_warning, "raise_source_warning", "true", 0,
	    "a red or orange source warning raises one level"),
	CFG_KEY_BOOL(T, raise_death_accident, "raise_death_accident", "true", 0,
	    "an accident with a death in the window raises one level"),
	CFG_KEY_BOOL(T, raise_no_director, "raise_no_director", "true", 0,
	    "no safety director where one is required raises one level"),
	CFG_KEY_BOOL(T, raise_no_resplist, "raise_no_resplist", "true", 0,
	    "no responsibility list uploaded raises one level"),
	CFG_KEY_BOOL(T, direct_red_overdue_major, "direct_red_overdue_major",
	    "true", 0, "an overdue major hidden hazard makes it red"),
	CFG_KEY_BOOL(T, direct_red_larger_accident, "direct_red_larger_accident",
	    "true", 0, "a 较大 or worse accident in its window makes it red"),
	CFG_KEY_DURATION(T, tick_ms, "tick", "1s", 100, 60000, 0,
	    "how often offline points and time rules are checked"),
	CFG_KEY_DURATION(T, state_flush_ms, "state_flush", "30s", 1000,
	    3600000, 0, "how stale a point's stored newest reading may get"),
	CFG_KEY_INT(T, state_flush_max, "state_flush_max", "5000", 100,
	    1000000, 0, "such state rows written per transaction at most"),
	CFG_KEY_INT(T, batch_max, "batch_max", "200", 1, 100000, 0,
	    "live bus messages handled in one transaction"),
	CFG_KEY_INT(T, page_rows, "page_rows", "50", 1, 100000, 0,
	    "bus_log rows read back per transaction when replaying"),
};
#undef T

static struct riskd rk;
static struct event *tick_ev;
static const char *endpoints[3];
/* Readings and events from ingestd; the officers' acknowledgements from
 * alarmd (ack.c). */
static const char *const prefixes[] = {"rd.", "ev.", "nt.acknowledged",
    "nt.resolved", NULL};

int64_t
riskd_now_ms(void)
{
	return timeutil_now_ms();
}

/*
 * The three warning_<level> keys as one table for warn_rules_parse():
 * each rule of a key gets its level in front ("red: hhll_any").  A config
 * line is limited to 200 characters, hence a key per level.
 */
static void
rules_table(char *out, size_t size)
{
	const char *levels[3] = {"red", "orange", "yellow"};
	const char *lists[3] = {cfg.warning_red, cfg.warning_orange,
	    cfg.warning_yellow};
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < 3; i++) {
		const char *p = lists[i];

		while (*p != '\0') {
			const char *end = strchr(p, ';');
			size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
			const char *q = p;

			while (q < p + len && (*q == ' ' || *q == '\t'))
				q++;
			if (q < p + len) {
				int w = snprintf(out + n, size - n, "%s%s: %.*s",
				    n > 0 ? "; " : "", levels[i],
				    (int)(p + len - q), q);

				if (w < 0 || (size_t)w >= size - n)
					log_fatal("riskd.config",
					    "error=\"the warning rules are too "
					    "long\"");
				n += (size_t)w;
			}
			p = end != NULL ? end + 1 : p + len;
		}
	}
}

static void
parse_rules(struct riskd_rules *ru)
{
	char why[200], table[1600];

#define CHECK(call, key)                                                      \
	do {                                                                  \
		if ((call) < 0)                                               \
			log_fatal("riskd.config", "key=riskd.%s error=\"%s\"", \
			    key, why);                                        \
	} while (0)
	alarm_defaults_init(&ru->alarm);
	ru->alarm.deadband_share = cfg.deadband_share;
	ru->alarm.delay_ms = cfg.default_delay_ms;
	ru->alarm.expected_interval_ms = cfg.default_interval_ms;
	ru->alarm.offline_factor = cfg.offline_factor;
	CHECK(alarm_gas_defaults_parse(cfg.gas_defaults, &ru->alarm, why,
	          sizeof(why)),
	    "gas_defaults");
	source_grade_cfg_init(&ru->source);
	CHECK(alpha_table_parse(cfg.alpha_table, &ru->source.alpha, why,
	          sizeof(why)),
	    "alpha_table");
	CHECK(source_grade_bounds_parse(cfg.grade_bounds, &ru->source, why,
	          sizeof(why)),
	    "grade_bounds");
	ru->source.major_min_s = cfg.major_min_s;
	ru->source.reassess_months = (int)cfg.reassess_months;
	risk_point_cfg_init(&ru->rpoint);
	CHECK(bands_parse(cfg.lec_bands, &ru->rpoint.lec, why, sizeof(why)),
	    "lec_bands");
	CHECK(bands_parse(cfg.ls_bands, &ru->rpoint.ls, why, sizeof(why)),
	    "ls_bands");
	rules_table(table, sizeof(table));
	CHECK(warn_rules_parse(table, &ru->warn, why, sizeof(why)),
	    "warning_red, warning_orange or warning_yellow");
	ent_risk_cfg_init(&ru->ent);
	CHECK(sector_levels_parse(cfg.sector_levels, &ru->ent.sector_default,
	          why, sizeof(why)),
	    "sector_levels");
	CHECK(sector_list_parse(cfg.director_sectors, &ru->ent.director_sectors,
	          why, sizeof(why)),
	    "director_sectors");
#undef CHECK
	ru->ent.director_min_employees = cfg.director_min_employees;
	ru->ent.death_window_ms = cfg.death_window_ms;
	ru->ent.larger_accident_window_ms = cfg.larger_accident_window_ms;
	ru->ent.raise_open_major_hazard = cfg.raise_open_major_hazard;
	ru->ent.raise_overdue_hazard = cfg.raise_overdue_hazard;
	ru->ent.raise_source_warning = cfg.raise_source_warning;
	ru->ent.raise_death_accident = cfg.raise_death_accident;
	ru->ent.raise_no_director = cfg.raise_no_director;
	ru->ent.raise_no_resplist = cfg.raise_no_resplist;
	ru->ent.direct_red_overdue_major = cfg.direct_red_overdue_major;
	ru->ent.direct_red_larger_accident = cfg.direct_red_larger_accident;
	ru->state_flush_ms = cfg.state_flush_ms;
	ru->state_flush_max = cfg.state_flush_max;
}

/* The consumer's connection; reload the model first when it is stale. */
static PGconn *
get_conn(void *arg)
{
	struct riskd *r = arg;

	if (r->need_reload || !r->loaded) {
		if (model_load(r, riskd_now_ms()) < 0)
			return NULL;
		r->need_reload = 0;
		metrics_inc(r->m.reloads);
	}
	return store_conn(r->st);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct riskd *r = arg;
	int64_t now = riskd_now_ms();

	(void)fd;
	(void)what;
	if (get_conn(r) == NULL)
		return;
	/* Offline and time rules wait until the replay caught up: the
	 * readings riskd missed while away come first. */
	if (r->cons == NULL || !bus_consumer_live(r->cons))
		return;
	regrade_due(r, now);
	feed_check_offline(r, now);
	journal_run_own(r, now);
}

static double
gauge_points(void *arg)
{
	struct riskd *r = arg;

	return r->points != NULL ? (double)strmap_count(r->points) : 0;
}

static double
gauge_live(void *arg)
{
	struct riskd *r = arg;

	return r->cons != NULL && bus_consumer_live(r->cons) ? 1 : 0;
}

static void
init_metrics(struct riskd *r, struct metrics *m)
{
	static const double eval_buckets[] = {0.0001, 0.0005, 0.001, 0.005,
	    0.01, 0.05, 0.1};

	r->m.readings = metrics_counter(m, "anquan_riskd_readings_total",
	    "readings evaluated", NULL);
	r->m.stale = metrics_counter(m, "anquan_riskd_readings_stale_total",
	    "readings not newer than the point's last (no effect)", NULL);
	r->m.unknown = metrics_counter(m, "anquan_riskd_readings_unknown_total",
	    "readings of points not in the registry", NULL);
	r->m.events = metrics_counter(m, "anquan_riskd_events_total",
	    "events read from the bus", NULL);
	r->m.raised = metrics_counter(m, "anquan_riskd_alarms_raised_total",
	    "alarms raised", NULL);
	r->m.cleared = metrics_counter(m, "anquan_riskd_alarms_cleared_total",
	    "alarms cleared", NULL);
	r->m.suppressed = metrics_counter(m,
	    "anquan_riskd_alarms_suppressed_total",
	    "alarms recorded as suppressed (disabled point, maintenance)",
	    NULL);
	r->m.warn_changes = metrics_counter(m,
	    "anquan_riskd_warning_changes_total",
	    "hazard-source warning level changes", NULL);
	r->m.risk_changes = metrics_counter(m, "anquan_riskd_risk_changes_total",
	    "enterprise risk level changes", NULL);
	r->m.reloads = metrics_counter(m, "anquan_riskd_model_loads_total",
	    "times the model was loaded from the store", NULL);
	r->m.txn_errors = metrics_counter(m,
	    "anquan_riskd_transaction_errors_total",
	    "transactions rolled back (the model is reloaded)", NULL);
	r->m.open = metrics_gauge(m, "anquan_riskd_alarms_open",
	    "alarms open now", NULL);
	r->m.eval_seconds = metrics_histogram(m,
	    "anquan_riskd_batch_eval_seconds",
	    "time to evaluate one readings batch", NULL, eval_buckets,
	    sizeof(eval_buckets) / sizeof(eval_buckets[0]));
	r->m.npoints = metrics_gauge_fn(m, "anquan_riskd_points",
	    "monitoring points in the model", NULL, gauge_points, r);
	r->m.live = metrics_gauge_fn(m, "anquan_riskd_live",
	    "1 once the bus consumer has replayed and gone live", NULL,
	    gauge_live, r);
}

static int
riskd_init(struct daemon *d, void *arg)
{
	const struct daemon_shared_cfg *sh = daemon_shared(d);
	struct bus_sock_opts popts = {0};
	struct bus_consumer_cfg cc = {0};
	struct bus_sock *pub;
	struct riskd *r = arg;

	r->d = d;
	r->st = daemon_store(d);
	parse_rules(&r->rules);
	r->flush_budget = (size_t)r->rules.state_flush_max;
	init_metrics(r, daemon_metrics(d));
	if (model_init(r) < 0)
		log_fatal("riskd.start", "error=\"out of memory\"");
	if (model_load(r, riskd_now_ms()) < 0)
		log_fatal("riskd.load",
		    "error=\"cannot load the model from the store\" "
		    "hint=\"is the store reachable and migrated (safetyctl "
		    "migrate --dir deploy/sql)?\"");
	popts.sndhwm = (int)sh->bus.sndhwm;
	pub = bus_socket(daemon_bus(d), ZMQ_PUB, &popts);
	if (pub == NULL || bus_bind(pub, sh->bus.riskd_pub) != 0)
		log_fatal("riskd.pub", "endpoint=%s error=\"cannot bind the "
		                       "PUB socket ([bus] riskd_pub)\"",
		    sh->bus.riskd_pub);
	if ((r->prod = bus_producer_new(pub, "riskd")) == NULL)
		log_fatal("riskd.start", "error=\"out of memory\"");
	endpoints[0] = sh->bus.ingestd_pub;
	endpoints[1] = sh->bus.alarmd_pub;
	endpoints[2] = NULL;
	cc.name = "riskd";
	cc.endpoints = endpoints;
	cc.prefixes = prefixes;
	cc.handlers = feed_handlers;
	cc.get_conn = get_conn;
	cc.arg = r;
	cc.resync_ms = (int)sh->bus.resync_ms;
	cc.batch_max = (int)cfg.batch_max;
	cc.page_rows = (int)cfg.page_rows;
	cc.sub_opts.rcvhwm = 100000;
	cc.before_commit = journal_before_commit;
	cc.after_commit = journal_after_commit;
	cc.after_abort = journal_after_abort;
	if ((r->cons = bus_consumer_new(daemon_bus(d), &cc)) == NULL)
		log_fatal("riskd.consumer", "endpoint=%s error=\"cannot start "
		                            "the bus consumer\"",
		    sh->bus.ingestd_pub);
	api_set(r);
	if (http_server_add_routes(daemon_http(d), api_routes, api_nroutes, r) !=
	    0)
		log_fatal("riskd.routes", "error=\"cannot register the routes\"");
	tick_ev = daemon_every(d, cfg.tick_ms, on_tick, r);
	log_info("riskd.ready", "sub=%s,%s pub=%s warning_rules=%zu",
	    sh->bus.ingestd_pub, sh->bus.alarmd_pub, sh->bus.riskd_pub,
	    r->rules.warn.n);
	return 0;
}

static void
riskd_drain(struct daemon *d, void *arg)
{
	(void)arg;
	/* Every transaction completes inside one callback: nothing is held
	 * between them, so draining is stopping the tick. */
	if (tick_ev != NULL)
		event_del(tick_ev);
	daemon_drained(d);
}

static int
riskd_health(struct daemon *d, void *arg, char *why, size_t size)
{
	struct riskd *r = arg;

	(void)d;
	if (!r->loaded || r->need_reload) {
		snprintf(why, size, "the model is not loaded from the store");
		return -1;
	}
	if (r->cons == NULL || !bus_consumer_live(r->cons)) {
		snprintf(why, size, "the bus consumer is still replaying");
		return -1;
	}
	return 0;
}

static void
riskd_shutdown(struct daemon *d, void *arg)
{
	struct riskd *r = arg;

	(void)d;
	if (tick_ev != NULL)
		event_free(tick_ev);
	bus_consumer_free(r->cons);
	bus_producer_free(r->prod);
	model_free(r);
	free(r->alarms);
	rk_vec_free(&r->dirty_points);
	rk_vec_free(&r->dirty_sources);
	rk_vec_free(&r->dirty_ents);
	rk_vec_free(&r->warn_changes);
	rk_vec_free(&r->risk_changes);
	rk_vec_free(&r->grade_writes);
	rk_vec_free(&r->rpoint_writes);
}

static const struct daemon_spec spec = {
	.name = "riskd",
	.keys = riskd_keys,
	.nkeys = sizeof(riskd_keys) / sizeof(riskd_keys[0]),
	.cfg = &cfg,
	.section_cfg_offset = offsetof(struct riskd_cfg, daemon),
	.init = riskd_init,
	.drain = riskd_drain,
	.shutdown = riskd_shutdown,
	.health = riskd_health,
	.arg = &rk,
};

int
main(int argc, char **argv)
{
	return daemon_main(&spec, argc, argv);
}

/*
 * skeld - a small daemon on the common skeleton, for the skeleton's tests.
 *
 * It is what a real daemon is, minus the work: a config section [skeld]
 * with the skeleton's keys and two of its own (greeting, reloadable;
 * workers, restart-only), a route GET /v1/hello answering the greeting, a
 * timer counting ticks into /metrics, and a drain hook that finishes
 * "in-flight work" (a short delay) before it lets the loop end.
 * tests/system/t_daemon.sh drives it through options, config errors,
 * /healthz, /metrics, SIGHUP and SIGTERM.
 */
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "daemon.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "metrics.h"

struct skeld_cfg {
	struct daemon_section_cfg daemon;
	char greeting[64];
	int64_t workers;
	int64_t drain_work_ms;
};

static struct skeld_cfg cfg;

static const struct cfg_key skeld_keys[] = {
	DAEMON_SECTION_KEYS(struct skeld_cfg, daemon, "127.0.0.1:8901"),
	CFG_KEY_STRING(struct skeld_cfg, greeting, "greeting", "你好", CFG_RELOAD,
	    "what GET /v1/hello answers"),
	CFG_KEY_INT(struct skeld_cfg, workers, "workers", "2", 1, 64, 0,
	    "a key that needs a restart"),
	CFG_KEY_DURATION(struct skeld_cfg, drain_work_ms, "drain_work", "300ms",
	    0, 60000, 0, "how long the drain hook takes to finish"),
};

static struct metric *ticks;
static struct event *drain_ev;

static void
hello(struct http_req *r, void *arg)
{
	struct json_out out;

	(void)arg;
	json_out_init(&out);
	json_out_obj_open(&out);
	json_out_kv_str(&out, "greeting", cfg.greeting);
	json_out_kv_int(&out, "workers", cfg.workers);
	json_out_obj_close(&out);
	http_reply_json(r, 200, &out);
	json_out_free(&out);
}

static const struct http_route routes[] = {
	{"GET", "/v1/hello", hello, 0},
};

static void
tick(struct daemon *d, void *arg)
{
	(void)d;
	(void)arg;
	metrics_inc(ticks);
}

static const struct daemon_timer timers[] = {
	{"tick", 100, tick},
};

static int
skeld_init(struct daemon *d, void *arg)
{
	(void)arg;
	ticks = metrics_counter(daemon_metrics(d), "skeld_ticks_total",
	    "timer ticks", NULL);
	return ticks == NULL ? -1 : 0;
}

static void
drain_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	log_info("skeld.work_finished", "drain_work_ms=%lld",
	    (long long)cfg.drain_work_ms);
	daemon_drained(arg);
}

static void
skeld_drain(struct daemon *d, void *arg)
{
	struct timeval tv = {(time_t)(cfg.drain_work_ms / 1000),
	    (suseconds_t)((cfg.drain_work_ms % 1000) * 1000)};

	(void)arg;
	drain_ev = evtimer_new(daemon_base(d), drain_done, d);
	if (drain_ev == NULL || evtimer_add(drain_ev, &tv) != 0)
		daemon_drained(d);
}

static void
skeld_shutdown(struct daemon *d, void *arg)
{
	(void)d;
	(void)arg;
	if (drain_ev != NULL)
		event_free(drain_ev);
}

static void
skeld_reload(struct daemon *d, void *arg)
{
	(void)d;
	(void)arg;
	log_info("skeld.reloaded", "workers=%lld", (long long)cfg.workers);
}

static const struct daemon_spec spec = {
	.name = "skeld",
	.keys = skeld_keys,
	.nkeys = sizeof(skeld_keys) / sizeof(skeld_keys[0]),
	.cfg = &cfg,
	.section_cfg_offset = offsetof(struct skeld_cfg, daemon),
	.init = skeld_init,
	.drain = skeld_drain,
	.shutdown = skeld_shutdown,
	.reload = skeld_reload,
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.timers = timers,
	.ntimers = sizeof(timers) / sizeof(timers[0]),
};

int
main(int argc, char **argv)
{
	return daemon_main(&spec, argc, argv);
}

/*
 * alarm_post - the alarm stream of the alert benchmark, offered to
 * Prometheus Alertmanager through its v2 API.
 *
 *   alarm_post HOST:PORT DISTRICT FIRST COUNT RATE CONNS OUT
 *
 * The same alarms tests/bench/alarm_feed.c gives alarmd: alarm n (n =
 * FIRST .. FIRST+COUNT-1) is an HH alarm of point "bench-<n, 8 digits>"
 * (the mark tests/bench/alarm_sink.c counts) of an enterprise of its own
 * (a valid USCC of DISTRICT's area made from n, 基准企业<n>), value 95 over
 * 90, as an alert whose labels are alertname, point, uscc, enterprise,
 * district, sector, kind and severity, with a summary annotation and
 * startsAt.  Distinct labels, so with group_by ['...'] every alert is a
 * group of its own and one notice.
 *
 * They go as JSON arrays to POST /api/v2/alerts over CONNS keep-alive
 * connections (libevent's HTTP client).  RATE 0 (saturation): 100 alerts
 * a POST, every connection sending its next POST as soon as the previous
 * one is answered, until all are offered, so Alertmanager is offered as
 * much as its API takes.  RATE > 0 (latency): every 10 ms one POST of
 * RATE/100 alerts on the next connection.  An alert is offered when its
 * POST is handed to the connection.  OUT gets a line "n offered_us" per
 * alert (epoch microseconds, the sink's clock); stdout gets key=value
 * lines.  Exits 1 when a POST was not answered 200.  Run by
 * tests/bench/alarm.sh.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "ids.h"
#include "json.h"
#include "timeutil.h"

#define BURST_BATCH 100
#define TICK_US 10000
#define CONNS_MAX 64
#define TIMEOUT_S 60

struct post;

/* One keep-alive connection and the POST on it (at most one at a time in
 * saturation; queued by libevent in the steady offer). */
struct conn {
	struct post *p;
	struct evhttp_connection *http;
	int busy;
};

struct post {
	struct event_base *base;
	char host[64];
	int port;
	const char *district;
	struct conn conns[CONNS_MAX];
	int nconns, rr;
	struct event *tick;

	unsigned long first, count, next; /* next: the next to offer */
	double rate;
	int64_t *offered_us;
	int64_t start_us;
	uint64_t posts, answered, failed;
	struct json_out body;
};

static void
die(const char *what)
{
	fprintf(stderr, "alarm_post: %s\n", what);
	exit(1);
}

/* Append alert number n to the open array of p->body. */
static void
alert_json(struct post *p, unsigned long n, const char *starts_at)
{
	struct json_out *w = &p->body;
	char point[24], uscc[IDS_USCC_SIZE], name[48], summary[128];

	snprintf(point, sizeof(point), "bench-%08lu", n);
	snprintf(name, sizeof(name), "基准企业%lu", n);
	snprintf(summary, sizeof(summary), "点位 %s HH 报警：95 %%（阈值 90）",
	    point);
	if (ids_uscc_generate(n, p->district, uscc) < 0)
		die("DISTRICT is not a 6-digit area code");
	json_out_obj_open(w);
	json_out_key(w, "labels");
	json_out_obj_open(w);
	json_out_kv_str(w, "alertname", "MonitoringHH");
	json_out_kv_str(w, "point", point);
	json_out_kv_str(w, "uscc", uscc);
	json_out_kv_str(w, "enterprise", name);
	json_out_kv_str(w, "district", p->district);
	json_out_kv_str(w, "sector", "hazchem");
	json_out_kv_str(w, "kind", "HH");
	json_out_kv_str(w, "severity", "orange");
	json_out_obj_close(w);
	json_out_key(w, "annotations");
	json_out_obj_open(w);
	json_out_kv_str(w, "summary", summary);
	json_out_kv_str(w, "value", "95");
	json_out_kv_str(w, "threshold", "90");
	json_out_obj_close(w);
	json_out_kv_str(w, "startsAt", starts_at);
	json_out_obj_close(w);
}

static void on_answer(struct evhttp_request *req, void *arg);

/* POST the next n alerts on connection c. */
static void
send_batch(struct post *p, struct conn *c, unsigned long n)
{
	struct evhttp_request *req;
	char starts_at[40];
	int64_t at;

	timeutil_format_rfc3339(
	    timeutil_now_ms(), starts_at, sizeof(starts_at));
	json_out_reset(&p->body);
	json_out_arr_open(&p->body);
	for (unsigned long i = 0; i < n; i++)
		alert_json(p, p->first + p->next + i, starts_at);
	json_out_arr_close(&p->body);
	if (json_out_failed(&p->body))
		die("out of memory");
	if ((req = evhttp_request_new(on_answer, c)) == NULL)
		die("out of memory");
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Host", p->host);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req),
	    json_out_data(&p->body), json_out_len(&p->body));
	at = timeutil_now_us();
	if (evhttp_make_request(
	        c->http, req, EVHTTP_REQ_POST, "/api/v2/alerts") != 0)
		die("cannot send a POST to Alertmanager");
	for (unsigned long i = 0; i < n; i++)
		p->offered_us[p->next + i] = at;
	p->next += n;
	p->posts++;
	c->busy++;
}

static void
maybe_done(struct post *p)
{
	if (p->next >= p->count && p->answered == p->posts)
		event_base_loopbreak(p->base);
}

static void
on_answer(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;
	struct post *p = c->p;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	c->busy--;
	p->answered++;
	if (code != 200) {
		if (p->failed++ < 3)
			fprintf(stderr, "alarm_post: a POST was answered %d\n",
			    code);
	}
	if (p->rate <= 0 && p->next < p->count) {
		unsigned long n = p->count - p->next < BURST_BATCH
		                      ? p->count - p->next
		                      : BURST_BATCH;

		send_batch(p, c, n);
	}
	maybe_done(p);
}

/* One 10 ms step of the steady offer: the alerts due by now, one POST. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct post *p = arg;
	int64_t now = timeutil_mono_us();
	unsigned long want;

	(void)fd;
	(void)what;
	want = (unsigned long)((double)((now - p->start_us) / TICK_US + 1) *
	                           p->rate * TICK_US / 1e6 +
	                       0.5);
	if (want > p->count)
		want = p->count;
	if (want > p->next) {
		struct conn *c = &p->conns[p->rr];

		/* An idle connection if there is one, else the next. */
		for (int i = 0; i < p->nconns; i++)
			if (p->conns[(p->rr + i) % p->nconns].busy == 0) {
				c = &p->conns[(p->rr + i) % p->nconns];
				break;
			}
		p->rr = (int)(c - p->conns + 1) % p->nconns;
		send_batch(p, c, want - p->next);
	}
	if (p->next >= p->count)
		event_del(p->tick);
	maybe_done(p);
}

static unsigned long
number_arg(const char *s, unsigned long max, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (s[0] == '\0' || *end != '\0' || v > max) {
		fprintf(stderr,
		    "alarm_post: %s \"%s\" is not a number of at "
		    "most %lu\n",
		    what, s, max);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct post p;
	struct timeval tv = {0, TICK_US};
	char *colon;
	FILE *out;
	int64_t t0;

	if (argc != 8) {
		fprintf(stderr, "usage: alarm_post HOST:PORT DISTRICT FIRST "
		                "COUNT RATE CONNS OUT\n");
		return 2;
	}
	memset(&p, 0, sizeof(p));
	colon = strrchr(argv[1], ':');
	if (colon == NULL || (size_t)(colon - argv[1]) >= sizeof(p.host))
		die("HOST:PORT is needed");
	memcpy(p.host, argv[1], (size_t)(colon - argv[1]));
	p.port = (int)number_arg(colon + 1, 65535, "port");
	p.district = argv[2];
	p.first = number_arg(argv[3], 99000000, "FIRST");
	p.count = number_arg(argv[4], 1000000, "COUNT");
	p.rate = (double)number_arg(argv[5], 100000, "RATE");
	p.nconns = (int)number_arg(argv[6], CONNS_MAX, "CONNS");
	if (p.count == 0 || p.nconns == 0)
		die("COUNT and CONNS must be 1 or more");
	if ((p.offered_us = calloc(p.count, sizeof(*p.offered_us))) == NULL ||
	    (p.base = event_base_new()) == NULL)
		die("out of memory");
	json_out_init(&p.body);
	for (int i = 0; i < p.nconns; i++) {
		p.conns[i].p = &p;
		p.conns[i].http = evhttp_connection_base_new(
		    p.base, NULL, p.host, (unsigned short)p.port);
		if (p.conns[i].http == NULL)
			die("out of memory");
		evhttp_connection_set_timeout(p.conns[i].http, TIMEOUT_S);
	}
	p.tick = event_new(p.base, -1, EV_PERSIST, on_tick, &p);
	if (p.tick == NULL)
		die("out of memory");

	t0 = timeutil_mono_us();
	p.start_us = t0;
	if (p.rate <= 0) {
		for (int i = 0; i < p.nconns && p.next < p.count; i++)
			send_batch(&p, &p.conns[i],
			    p.count - p.next < BURST_BATCH ? p.count - p.next
			                                   : BURST_BATCH);
	} else {
		on_tick(-1, 0, &p);
		if (p.next < p.count)
			event_add(p.tick, &tv);
	}
	event_base_dispatch(p.base);
	printf("offer_s=%.2f\nposts=%" PRIu64 "\nposts_failed=%" PRIu64
	       "\noffered=%lu\n",
	    (double)(timeutil_mono_us() - t0) / 1e6, p.posts, p.failed, p.next);
	if ((out = fopen(argv[7], "w")) == NULL)
		die("cannot write OUT");
	for (unsigned long i = 0; i < p.next; i++)
		fprintf(out, "%lu %" PRId64 "\n", p.first + i, p.offered_us[i]);
	if (fclose(out) != 0)
		die("cannot write OUT");

	event_free(p.tick);
	for (int i = 0; i < p.nconns; i++)
		evhttp_connection_free(p.conns[i].http);
	event_base_free(p.base);
	json_out_free(&p.body);
	free(p.offered_us);
	return p.failed > 0 ? 1 : 0;
}

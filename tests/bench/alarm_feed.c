/*
 * alarm_feed - the alarm stream of the alert benchmark, offered to alarmd
 * the way riskd offers it.
 *
 *   alarm_feed CONNINFO PUB_EP ALARMD_HTTP DISTRICT FIRST COUNT RATE OUT
 *
 * Stands in for riskd's producer half: it binds a PUB socket on PUB_EP
 * (the [bus] riskd_pub alarmd was started with) and makes a bus producer
 * named "riskd" on it, so its al.raised messages continue riskd's stream
 * exactly as riskd would: staged in bus_log with bus_producer_stage_many()
 * inside BEGIN/COMMIT, published after the COMMIT.
 *
 * Alarm n (n = FIRST .. FIRST+COUNT-1) is an HH alarm of point
 * "bench-<n, 8 digits>" (the mark tests/bench/alarm_sink.c counts) of an
 * enterprise of its own (a valid USCC of DISTRICT's area made from n,
 * named 基准企业<n>, in DISTRICT, sector hazchem), value 95 over a
 * threshold of 90.  Distinct enterprises and points, so no alarm joins
 * another's incident: each makes one incident and one notice.
 *
 * First it makes sure alarmd hears the socket live: it publishes warm-up
 * alarms (numbers from 9,000,000) until alarmd's anquan_bus_received_total
 * moves (ALARMD_HTTP is its host:port), then waits until alarmd has
 * handled every one of them, up to 30 s in all: a message published
 * before alarmd's subscription arrived is a gap, filled from bus_log, and
 * live messages wait for that.
 *
 * RATE 0 (saturation): every alarm is staged first (transactions of
 * 10,000), then all are published at once; they are offered at that
 * moment.  RATE > 0 (latency): every 10 ms a transaction stages RATE/100
 * alarms, and each is offered when its COMMIT returned, just before it is
 * published.  OUT gets a line "n offered_us" per alarm (epoch
 * microseconds, the sink's clock); stdout gets key=value lines and then
 * "done".  The feed then keeps its socket open, so nothing queued in
 * ZeroMQ is lost, until SIGTERM or SIGINT.  Run by tests/bench/alarm.sh.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <zmq.h>

#include "bus.h"
#include "ids.h"
#include "log.h"
#include "risk.pb-c.h"
#include "timeutil.h"

#define CHUNK 1000       /* alarms per stage_many call */
#define TXN_ALARMS 10000 /* alarms per transaction when saturating */
#define TICK_US 10000
#define WARM_FIRST 9000000ul
#define WARM_WAIT_US 30000000
#define TOPIC "al.raised"

/* The messages of one stage_many call and the strings they point to. */
struct chunk {
	Anquan__Envelope env[CHUNK];
	Anquan__Alarm al[CHUNK];
	const Anquan__Envelope *envp[CHUNK];
	const char *topics[CHUNK];
	char id[CHUNK][64];
	char point[CHUNK][24];
	char uscc[CHUNK][IDS_USCC_SIZE];
	char name[CHUNK][48];
};

struct feed {
	PGconn *conn;
	struct event_base *base;
	struct bus *bus;
	struct bus_sock *pub;
	struct bus_producer *prod;
	const char *district;
	char http_host[64];
	int http_port;
	struct chunk *ck;

	unsigned long first, count, next; /* next: the next to offer */
	double rate;
	int64_t *offered_us; /* per alarm */
	int64_t tick_start_us;
	uint64_t ticks, late_ticks;
	int64_t commit_max_us;
	int done;
};

static void
die(const char *what, PGconn *conn)
{
	fprintf(stderr, "alarm_feed: %s%s%s\n", what, conn ? ": " : "",
	    conn ? PQerrorMessage(conn) : "");
	exit(1);
}

static void
exec_or_die(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		die(sql, conn);
	PQclear(res);
}

/* Fill slot i of the chunk with alarm number n, raised at at_ms. */
static void
make_alarm(struct feed *f, size_t i, unsigned long n, int64_t at_ms)
{
	struct chunk *c = f->ck;
	Anquan__Alarm *a = &c->al[i];

	snprintf(c->point[i], sizeof(c->point[i]), "bench-%08lu", n);
	snprintf(
	    c->id[i], sizeof(c->id[i]), "bench-%08lu:%" PRId64 ":HH", n, at_ms);
	snprintf(c->name[i], sizeof(c->name[i]), "基准企业%lu", n);
	if (ids_uscc_generate(n, f->district, c->uscc[i]) < 0)
		die("DISTRICT is not a 6-digit area code", NULL);
	anquan__alarm__init(a);
	a->id = c->id[i];
	a->state = ANQUAN__ALARM__STATE__RAISED;
	a->point = c->point[i];
	a->point_kind = (char *)"level";
	a->unit = (char *)"%";
	a->kind = (char *)"HH";
	a->uscc = c->uscc[i];
	a->enterprise = c->name[i];
	a->district = (char *)f->district;
	a->sector = (char *)"hazchem";
	a->value = 95;
	a->has_value = 1;
	a->threshold = 90;
	a->has_threshold = 1;
	a->peak = 95;
	a->started_at_ms = at_ms;
	a->at_ms = at_ms;
	anquan__envelope__init(&c->env[i]);
	c->env[i].payload_case = ANQUAN__ENVELOPE__PAYLOAD_ALARM;
	c->env[i].alarm = a;
	c->envp[i] = &c->env[i];
	c->topics[i] = TOPIC;
}

/* Stage alarms first .. first+n-1 (n <= CHUNK) in the open transaction. */
static void
stage(struct feed *f, unsigned long first, size_t n)
{
	int64_t at_ms = timeutil_now_ms();
	char err[512];

	for (size_t i = 0; i < n; i++)
		make_alarm(f, i, first + i, at_ms);
	if (bus_producer_stage_many(f->prod, f->conn, n, f->ck->topics,
	        f->ck->envp, err, sizeof(err)) != 0) {
		fprintf(stderr, "alarm_feed: staging: %s\n", err);
		exit(1);
	}
}

/* --- alarmd's /metrics ------------------------------------------------- */

/* GET /metrics from alarmd (HTTP/1.0, blocking) and sum the series of
 * family name; -1 when it cannot be read. */
static double
alarmd_metric(struct feed *f, const char *name)
{
	struct sockaddr_in sa = {0};
	char req[160], *buf = NULL, *p;
	size_t len = 0, cap = 0, nlen = strlen(name);
	double sum = -1;
	ssize_t got;
	int fd;

	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)f->http_port);
	if (inet_pton(AF_INET, f->http_host, &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	snprintf(req, sizeof(req), "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n",
	    f->http_host);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap)) == NULL)
				die("out of memory", NULL);
		}
		if ((got = read(fd, buf + len, cap - len - 1)) <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	if (buf == NULL)
		return -1;
	buf[len] = '\0';
	for (p = buf; (p = strstr(p, name)) != NULL; p += nlen) {
		char *q = p + nlen;

		if ((p != buf && p[-1] != '\n') || (*q != ' ' && *q != '{'))
			continue;
		if (*q == '{' && (q = strchr(q, '}')) != NULL)
			q++;
		if (q != NULL && *q == ' ')
			sum = (sum < 0 ? 0 : sum) + strtod(q + 1, NULL);
	}
	free(buf);
	return sum;
}

/*
 * Publish warm-up alarms until alarmd's received counter moves (its SUB is
 * then connected and subscribed), then wait until it has handled every
 * warm-up alarm: one published before the subscription arrived is a gap
 * that alarmd fills from bus_log, and until it has, live messages wait.
 */
static void
warm_up(struct feed *f)
{
	int64_t end = timeutil_mono_us() + WARM_WAIT_US;
	double handled0 = alarmd_metric(f, "anquan_bus_handled_total");
	unsigned long k = 0;
	int live = 0;

	while (!live && timeutil_mono_us() < end) {
		double before = alarmd_metric(f, "anquan_bus_received_total");

		exec_or_die(f->conn, "BEGIN");
		stage(f, WARM_FIRST + k++, 1);
		exec_or_die(f->conn, "COMMIT");
		bus_producer_publish(f->prod);
		for (int i = 0; i < 20 && !live; i++) {
			event_base_loop(f->base, EVLOOP_NONBLOCK);
			usleep(10000);
			live = before >= 0 &&
			       alarmd_metric(f, "anquan_bus_received_total") >
			           before;
		}
	}
	while (live && timeutil_mono_us() < end) {
		if (alarmd_metric(f, "anquan_bus_handled_total") >=
		    handled0 + (double)k) {
			printf("warmup_alarms=%lu\nwarmup_s=%.2f\n", k,
			    (double)(timeutil_mono_us() + WARM_WAIT_US - end) /
			        1e6);
			return;
		}
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(20000);
	}
	die("alarmd did not take the warm-up alarms within 30 s", NULL);
}

/* --- offering ----------------------------------------------------------- */

static void
saturate(struct feed *f)
{
	int64_t t0 = timeutil_mono_us(), at;
	unsigned long done = 0;
	size_t published;

	while (done < f->count) {
		unsigned long in_txn = 0;

		exec_or_die(f->conn, "BEGIN");
		while (done < f->count && in_txn < TXN_ALARMS) {
			size_t n = f->count - done < CHUNK
			               ? (size_t)(f->count - done)
			               : CHUNK;

			stage(f, f->first + done, n);
			done += n;
			in_txn += n;
		}
		exec_or_die(f->conn, "COMMIT");
	}
	printf("stage_s=%.2f\n", (double)(timeutil_mono_us() - t0) / 1e6);
	at = timeutil_now_us();
	published = bus_producer_publish(f->prod);
	for (unsigned long i = 0; i < f->count; i++)
		f->offered_us[i] = at;
	printf("published=%zu\n", published);
	f->next = f->count;
}

/* One 10 ms step of the steady offer: a transaction of RATE/100 alarms. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;
	int64_t now = timeutil_mono_us(), due, c0, at;
	unsigned long want;
	size_t n;

	(void)fd;
	(void)what;
	if (f->next >= f->count)
		return;
	/* How many should be out by now: a late tick catches up. */
	due = (now - f->tick_start_us) / TICK_US + 1;
	want = (unsigned long)((double)due * f->rate * TICK_US / 1e6 + 0.5);
	if (want > f->count)
		want = f->count;
	if (want <= f->next)
		return;
	if (want - f->next > (unsigned long)(f->rate * TICK_US / 1e6 + 0.5))
		f->late_ticks++;
	n = want - f->next > CHUNK ? CHUNK : (size_t)(want - f->next);
	c0 = timeutil_mono_us();
	exec_or_die(f->conn, "BEGIN");
	stage(f, f->first + f->next, n);
	exec_or_die(f->conn, "COMMIT");
	at = timeutil_now_us();
	if (timeutil_mono_us() - c0 > f->commit_max_us)
		f->commit_max_us = timeutil_mono_us() - c0;
	bus_producer_publish(f->prod);
	for (size_t i = 0; i < n; i++)
		f->offered_us[f->next + i] = at;
	f->next += n;
	f->ticks++;
	if (f->next >= f->count)
		event_base_loopbreak(f->base);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

static void
write_offered(struct feed *f, const char *path)
{
	FILE *out = fopen(path, "w");

	if (out == NULL)
		die("cannot write OUT", NULL);
	for (unsigned long i = 0; i < f->next; i++)
		fprintf(
		    out, "%lu %" PRId64 "\n", f->first + i, f->offered_us[i]);
	if (fclose(out) != 0)
		die("cannot write OUT", NULL);
}

static unsigned long
number_arg(const char *s, unsigned long max, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (s[0] == '\0' || *end != '\0' || v > max) {
		fprintf(stderr,
		    "alarm_feed: %s \"%s\" is not a number of at "
		    "most %lu\n",
		    what, s, max);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct bus_sock_opts opts = {0};
	struct event *tick, *sigterm, *sigint;
	struct timeval tv = {0, TICK_US};
	struct feed f;
	char *colon;
	int64_t t0;

	if (argc != 9) {
		fprintf(stderr, "usage: alarm_feed CONNINFO PUB_EP ALARMD_HTTP "
		                "DISTRICT FIRST COUNT RATE OUT\n");
		return 2;
	}
	memset(&f, 0, sizeof(f));
	colon = strrchr(argv[3], ':');
	if (colon == NULL || (size_t)(colon - argv[3]) >= sizeof(f.http_host))
		die("ALARMD_HTTP is host:port", NULL);
	memcpy(f.http_host, argv[3], (size_t)(colon - argv[3]));
	f.http_port = (int)number_arg(colon + 1, 65535, "port");
	f.district = argv[4];
	f.first = number_arg(argv[5], 8000000, "FIRST");
	f.count = number_arg(argv[6], 1000000, "COUNT");
	f.rate = (double)number_arg(argv[7], 100000, "RATE");
	if (f.count == 0 || f.first + f.count > WARM_FIRST)
		die("COUNT must be 1 or more, and FIRST+COUNT at most 9000000",
		    NULL);
	log_init("alarm_feed", LOGL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if ((f.ck = calloc(1, sizeof(*f.ck))) == NULL ||
	    (f.offered_us = calloc(f.count, sizeof(*f.offered_us))) == NULL)
		die("out of memory", NULL);

	f.conn = PQconnectdb(argv[1]);
	if (PQstatus(f.conn) != CONNECTION_OK)
		die("connecting to the store", f.conn);
	f.base = event_base_new();
	if (f.base == NULL || (f.bus = bus_new(f.base)) == NULL)
		die("cannot make the event loop or the bus", NULL);
	/* Room for the whole offer in ZeroMQ's queue and in the outbox. */
	opts.sndhwm = (int)f.count + 1000;
	opts.outbox_max = opts.sndhwm;
	f.pub = bus_socket(f.bus, ZMQ_PUB, &opts);
	if (f.pub == NULL || bus_bind(f.pub, argv[2]) != 0)
		die("cannot bind the PUB socket", NULL);
	if ((f.prod = bus_producer_new(f.pub, "riskd")) == NULL)
		die("out of memory", NULL);
	tick = event_new(f.base, -1, EV_PERSIST, on_tick, &f);
	sigterm = evsignal_new(f.base, SIGTERM, on_signal, f.base);
	sigint = evsignal_new(f.base, SIGINT, on_signal, f.base);
	if (tick == NULL || sigterm == NULL || sigint == NULL ||
	    evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0)
		die("cannot make the loop's events", NULL);

	warm_up(&f);
	t0 = timeutil_mono_us();
	if (f.rate <= 0) {
		saturate(&f);
	} else {
		f.tick_start_us = timeutil_mono_us();
		on_tick(-1, 0, &f);
		if (f.next < f.count) {
			event_add(tick, &tv);
			event_base_dispatch(f.base);
			event_del(tick);
		}
		printf("offer_s=%.2f\nticks=%" PRIu64 "\nlate_ticks=%" PRIu64
		       "\ncommit_max_ms=%.2f\n",
		    (double)(timeutil_mono_us() - t0) / 1e6, f.ticks,
		    f.late_ticks, (double)f.commit_max_us / 1e3);
	}
	write_offered(&f, argv[8]);
	printf("offered=%lu\ndone\n", f.next);
	fflush(stdout);
	/* Keep the socket until told: ZeroMQ may still hold the tail. */
	if (f.next == f.count)
		event_base_dispatch(f.base);

	event_free(tick);
	event_free(sigterm);
	event_free(sigint);
	bus_producer_free(f.prod);
	bus_free(f.bus);
	event_base_free(f.base);
	PQfinish(f.conn);
	free(f.ck);
	free(f.offered_us);
	return 0;
}

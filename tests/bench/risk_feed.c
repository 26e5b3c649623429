/*
 * risk_feed - the reading feed of the riskd benchmark: how many readings
 * riskd evaluates a second when the bus brings them as fast as it can.
 *
 *   risk_feed CONNINFO PUB_EP RISKD_HTTP ROUNDS [RISKD_PID]
 *
 * Stands in for ingestd's producer half: it binds a PUB socket on PUB_EP
 * (the [bus] ingestd_pub that riskd was started with) and makes a bus
 * producer named "ingestd" on it, so its messages continue ingestd's
 * rd.<district>.<sector> streams exactly as ingestd would.  It reads the
 * enabled points and their enterprises' district and sector from the store
 * and cuts them into ReadingBatches of at most 1,000 readings, one district
 * and sector each.  A round is one reading of every point, all at the same
 * ts; round r is one second after round r-1 and the last round is about
 * now.  Points named RP<n> with n a multiple of 20 (5 %) read 85, above
 * their H of 80, every round; the others read 40..60.
 *
 * Once riskd's GET /metrics says it is live, every round is staged in
 * bus_log (bus_producer_stage_many, one round per call, a few
 * transactions); then all of it is published at once and the loop runs until
 * the PUB socket's outbox is empty, so the feed is never what riskd waits
 * for.  Meanwhile anquan_riskd_readings_total is polled every 50 ms over
 * HTTP (RISKD_HTTP is riskd's host:port); the rate is the readings
 * evaluated after the publish over the time from the publish (riskd has
 * the first message a moment later) to the poll that saw all of them.  It is
 * not measured from the first poll that saw the count move, because riskd's
 * HTTP shares its loop with the consumer and may not answer at all while it
 * works through the backlog; the time to that first poll and the longest wait
 * for an answer are printed, since they show exactly that.  riskd must be live
 * before the feed commits, or it would read the staged messages back from
 * bus_log instead of taking them from the socket.  Given riskd's pid, it
 * also reports the share of a core riskd used from the publish to the last
 * reading, and how busy the host was meanwhile (/proc), which tell whether
 * riskd or the store was the limit.
 *
 * Run by tests/bench/risk.sh; output is key=value lines.  Exits 1 when
 * riskd did not evaluate every reading (stalled for 15 s).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <libpq-fe.h>
#include <zmq.h>

#include "bus.h"
#include "log.h"
#include "timeutil.h"

#define BATCH_MAX 1000
#define POLL_MS 50
#define STALL_US 15000000
#define HIGH_EVERY 20
#define HIGH_VALUE 85.0
#define TXN_MAX 4

static const char SQL_POINTS[] =
    "SELECT p.code, e.district, e.sector FROM points p "
    "JOIN enterprises e ON e.uscc = p.uscc WHERE p.enabled "
    "ORDER BY e.district, e.sector, p.code";

/*
 * Where the run is: riskd checked live before anything is committed, then
 * after staging the baseline count is read and everything is published.
 */
enum phase {
	PH_CHECK = 0, /* is riskd live? (before staging) */
	PH_BASE,      /* staged: read the count, then publish */
	PH_RUN,       /* published: polling until all are evaluated */
	PH_DONE,
};

/* One ReadingBatch of a round: its topic and its slice of the readings. */
struct batch {
	char topic[BUS_TOPIC_MAX + 1];
	char district[16];
	char sector[32];
	size_t first, n; /* into feed.rd */
};

struct feed {
	PGconn *conn;
	struct event_base *base;
	struct bus *bus;
	struct bus_sock *pub;
	struct bus_producer *prod;
	struct evhttp_connection *http;
	struct event *tick;
	const char *host;
	int port;

	/* The points, in batch order, and the batches of a round. */
	size_t npoints, nhigh;
	char **codes;
	unsigned char *high;
	Anquan__Reading *rd;
	Anquan__Reading **rdp;
	struct batch *batches;
	size_t nbatches;

	/* The run. */
	int rounds;
	uint64_t staged, published, expected;
	int polling; /* a GET is in flight */
	int phase;   /* enum phase */
	int failed;
	double base_count; /* before staging */
	double pub_count;  /* at the publish */
	double last_count;
	int64_t pub_us, outbox_empty_us, first_us, last_us, change_us;
	int64_t sent_us, max_wait_us; /* the GET in flight, the longest */
	double alarms_open;

	/* CPU: riskd's (jiffies) and the host's, at publish and at the end. */
	int riskd_pid;
	double cpu0, cpu1, busy0, busy1, total0, total1;
};

static void
die(const char *what, PGconn *conn)
{
	fprintf(stderr, "risk_feed: %s%s%s\n", what, conn ? ": " : "",
	    conn ? PQerrorMessage(conn) : "");
	exit(1);
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		die("out of memory", NULL);
	return p;
}

/* The number after "RP" in a point code, or -1 when it has none. */
static long
point_number(const char *code)
{
	char *end;
	long n;

	if (strncmp(code, "RP", 2) != 0 || code[2] < '0' || code[2] > '9')
		return -1;
	n = strtol(code + 2, &end, 10);
	return *end == '\0' ? n : -1;
}

/* Read the points and cut them into batches of one district and sector. */
static void
load_points(struct feed *f)
{
	PGresult *res = PQexec(f->conn, SQL_POINTS);
	struct batch *b = NULL;
	int n;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die("reading the points", f->conn);
	n = PQntuples(res);
	if (n == 0)
		die("no enabled points in the registry", NULL);
	f->npoints = (size_t)n;
	f->codes = xcalloc(f->npoints, sizeof(*f->codes));
	f->high = xcalloc(f->npoints, 1);
	f->rd = xcalloc(f->npoints, sizeof(*f->rd));
	f->rdp = xcalloc(f->npoints, sizeof(*f->rdp));
	/* At worst every point starts a batch. */
	f->batches = xcalloc(f->npoints, sizeof(*f->batches));
	for (int i = 0; i < n; i++) {
		const char *district = PQgetvalue(res, i, 1);
		const char *sector = PQgetvalue(res, i, 2);
		long num;

		if ((f->codes[i] = strdup(PQgetvalue(res, i, 0))) == NULL)
			die("out of memory", NULL);
		num = point_number(f->codes[i]);
		f->high[i] = num >= 0 && num % HIGH_EVERY == 0;
		f->nhigh += f->high[i];
		anquan__reading__init(&f->rd[i]);
		f->rd[i].point = f->codes[i];
		f->rd[i].quality = ANQUAN__READING__QUALITY__GOOD;
		f->rdp[i] = &f->rd[i];
		if (b == NULL || b->n == BATCH_MAX ||
		    strcmp(b->district, district) != 0 ||
		    strcmp(b->sector, sector) != 0) {
			b = &f->batches[f->nbatches++];
			if (strlen(district) >= sizeof(b->district) ||
			    strlen(sector) >= sizeof(b->sector))
				die("a district or sector code is too long",
				    NULL);
			strcpy(b->district, district);
			strcpy(b->sector, sector);
			snprintf(b->topic, sizeof(b->topic), "rd.%s.%s",
			    district, sector);
			b->first = (size_t)i;
		}
		b->n++;
	}
	PQclear(res);
}

/* A value between 40 and 60 (L 10, H 80) that varies by point and round. */
static double
normal_value(size_t point, int round)
{
	return 40.0 + (double)((point * 7 + (size_t)round * 13) % 21);
}

static void
exec_or_die(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		die(sql, conn);
	PQclear(res);
}

/*
 * Stage every round in bus_log: one stage_many call per round, the rounds
 * spread over at most TXN_MAX transactions.  Nothing is published yet.
 */
static void
stage_all(struct feed *f, int64_t base_ms)
{
	Anquan__Envelope *env = xcalloc(f->nbatches, sizeof(*env));
	Anquan__ReadingBatch *rb = xcalloc(f->nbatches, sizeof(*rb));
	const Anquan__Envelope **envs = xcalloc(f->nbatches, sizeof(*envs));
	const char **topics = xcalloc(f->nbatches, sizeof(*topics));
	char(*ids)[48] = xcalloc(f->nbatches, sizeof(*ids));
	int per_txn = (f->rounds + TXN_MAX - 1) / TXN_MAX;
	char err[512];

	for (size_t b = 0; b < f->nbatches; b++) {
		anquan__envelope__init(&env[b]);
		anquan__reading_batch__init(&rb[b]);
		rb[b].source = (char *)"bench";
		rb[b].batch_id = ids[b];
		rb[b].district = f->batches[b].district;
		rb[b].sector = f->batches[b].sector;
		rb[b].n_readings = f->batches[b].n;
		rb[b].readings = &f->rdp[f->batches[b].first];
		env[b].payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
		env[b].readings = &rb[b];
		envs[b] = &env[b];
		topics[b] = f->batches[b].topic;
	}
	for (int r = 0; r < f->rounds; r++) {
		int64_t ts = base_ms + (int64_t)r * 1000;

		if (r % per_txn == 0)
			exec_or_die(f->conn, "BEGIN");
		for (size_t i = 0; i < f->npoints; i++) {
			f->rd[i].ts_ms = ts;
			f->rd[i].value =
			    f->high[i] ? HIGH_VALUE : normal_value(i, r);
		}
		for (size_t b = 0; b < f->nbatches; b++)
			snprintf(ids[b], sizeof(ids[b]), "feed-%d-%zu", r, b);
		if (bus_producer_stage_many(f->prod, f->conn, f->nbatches,
		        topics, envs, err, sizeof(err)) != 0) {
			fprintf(stderr, "risk_feed: staging round %d: %s\n", r,
			    err);
			exit(1);
		}
		f->staged += f->nbatches;
		if (r % per_txn == per_txn - 1 || r == f->rounds - 1)
			exec_or_die(f->conn, "COMMIT");
	}
	free(env);
	free(rb);
	free(envs);
	free(topics);
	free(ids);
}

/* The sum of every series of family name in a /metrics text; -1: none. */
static double
metric_sum(const char *text, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = text, *end = text + len;
	double sum = -1;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q;

		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > nlen && memcmp(p, name, nlen) == 0 &&
		    (p[nlen] == ' ' || p[nlen] == '{')) {
			q = p + nlen;
			if (*q == '{')
				while (q < eol && *q != '}')
					q++;
			while (q < eol && *q != ' ')
				q++;
			if (q < eol) {
				char num[64];
				size_t k = (size_t)(eol - q - 1);

				if (k >= sizeof(num))
					k = sizeof(num) - 1;
				memcpy(num, q + 1, k);
				num[k] = '\0';
				sum = (sum < 0 ? 0 : sum) + strtod(num, NULL);
			}
		}
		p = eol + 1;
	}
	return sum;
}

/* riskd's user + system CPU time in jiffies; -1 when it cannot be read. */
static double
proc_cpu(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* The name may hold spaces: count fields after its ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2,
	        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
	        &st) != 2)
		return -1;
	return (double)(ut + st);
}

/* The host's busy and total jiffies (all CPUs), from /proc/stat. */
static void
host_cpu(double *busy, double *total)
{
	unsigned long long v[8] = {0};
	FILE *fp = fopen("/proc/stat", "r");

	*busy = *total = 0;
	if (fp == NULL)
		return;
	if (fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	        &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		*busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
		*total = *busy + (double)(v[3] + v[4]);
	}
	fclose(fp);
}

static void on_metrics(struct evhttp_request *req, void *arg);

static void
poll_metrics(struct feed *f)
{
	struct evhttp_request *req;

	if (f->polling)
		return;
	req = evhttp_request_new(on_metrics, f);
	if (req == NULL)
		die("out of memory", NULL);
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Host", f->host);
	if (evhttp_make_request(f->http, req, EVHTTP_REQ_GET, "/metrics") != 0)
		die("cannot send GET /metrics to riskd", NULL);
	f->polling = 1;
	f->sent_us = timeutil_mono_us();
}

static void
publish(struct feed *f)
{
	if (f->riskd_pid > 0) {
		f->cpu0 = proc_cpu(f->riskd_pid);
		host_cpu(&f->busy0, &f->total0);
	}
	f->pub_us = timeutil_mono_us();
	f->published = bus_producer_publish(f->prod);
	f->change_us = f->pub_us;
	f->phase = PH_RUN;
}

static void
on_metrics(struct evhttp_request *req, void *arg)
{
	struct feed *f = arg;
	int64_t now = timeutil_mono_us();
	struct evbuffer *in;
	const char *text;
	size_t len;
	double count;

	f->polling = 0;
	if (f->phase == PH_RUN && now - f->sent_us > f->max_wait_us)
		f->max_wait_us = now - f->sent_us;
	if (req == NULL || evhttp_request_get_response_code(req) != 200) {
		fprintf(stderr, "risk_feed: GET /metrics from riskd failed\n");
		f->failed = 1;
		event_base_loopbreak(f->base);
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	text = (const char *)evbuffer_pullup(in, -1);
	count = metric_sum(text, len, "anquan_riskd_readings_total");
	if (count < 0) {
		fprintf(stderr, "risk_feed: riskd's /metrics has no "
		                "anquan_riskd_readings_total\n");
		f->failed = 1;
		event_base_loopbreak(f->base);
		return;
	}
	if (f->phase == PH_CHECK || f->phase == PH_BASE) {
		if (metric_sum(text, len, "anquan_riskd_live") != 1) {
			fprintf(stderr, "risk_feed: riskd is not live\n");
			f->failed = 1;
			event_base_loopbreak(f->base);
			return;
		}
		if (f->phase == PH_CHECK) {
			f->base_count = count;
			event_base_loopbreak(f->base);
			return;
		}
		f->pub_count = f->last_count = count;
		publish(f);
		return;
	}
	f->alarms_open = metric_sum(text, len, "anquan_riskd_alarms_open");
	if (count != f->last_count)
		f->change_us = now;
	if (f->first_us == 0 && count > f->pub_count)
		f->first_us = now;
	f->last_count = count;
	if (count >= f->base_count + (double)f->expected) {
		f->last_us = now;
		f->phase = PH_DONE;
		if (f->riskd_pid > 0) {
			f->cpu1 = proc_cpu(f->riskd_pid);
			host_cpu(&f->busy1, &f->total1);
		}
		event_base_loopbreak(f->base);
	} else if (now - f->change_us > STALL_US) {
		fprintf(stderr,
		    "risk_feed: riskd stalled at %.0f of %" PRIu64
		    " readings for 15 s\n",
		    count - f->base_count, f->expected);
		f->failed = 1;
		event_base_loopbreak(f->base);
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;

	(void)fd;
	(void)what;
	if (f->phase == PH_RUN && f->outbox_empty_us == 0 &&
	    bus_sock_outbox(f->pub) == 0)
		f->outbox_empty_us = timeutil_mono_us();
	poll_metrics(f);
}

static void
report(const struct feed *f, double stage_s)
{
	double evaluated = f->last_count - f->base_count;
	double after = f->last_count - f->pub_count;

	printf("feed_points=%zu\nfeed_high_points=%zu\n"
	       "feed_batches_per_round=%zu\nfeed_rounds=%d\n"
	       "feed_messages=%" PRIu64 "\nfeed_readings=%" PRIu64 "\n"
	       "feed_stage_s=%.2f\nfeed_published=%" PRIu64 "\n",
	    f->npoints, f->nhigh, f->nbatches, f->rounds, f->staged,
	    f->expected, stage_s, f->published);
	if (f->outbox_empty_us > 0)
		printf("feed_publish_s=%.3f\n",
		    (double)(f->outbox_empty_us - f->pub_us) / 1e6);
	printf("readings_evaluated=%.0f\n", evaluated);
	/* Not zero when riskd read the backlog from bus_log while it was
	 * being staged: those readings are not in the rate. */
	printf("readings_evaluated_before_publish=%.0f\n", evaluated - after);
	if (f->phase == PH_DONE) {
		double window_s = (double)(f->last_us - f->pub_us) / 1e6;

		printf("publish_to_last_s=%.3f\n", window_s);
		printf("readings_evaluated_per_s=%.0f\n", after / window_s);
		printf("metrics_first_move_s=%.3f\n",
		    (double)(f->first_us - f->pub_us) / 1e6);
		printf("metrics_longest_wait_s=%.3f\n",
		    (double)f->max_wait_us / 1e6);
		if (f->riskd_pid > 0 && f->cpu0 >= 0 && f->cpu1 >= 0)
			printf("feed_riskd_cpu_cores=%.2f\n",
			    (f->cpu1 - f->cpu0) / (double)sysconf(_SC_CLK_TCK) /
			        ((double)(f->last_us - f->pub_us) / 1e6));
		if (f->total1 > f->total0)
			printf("feed_host_busy_pct=%.0f\n",
			    100 * (f->busy1 - f->busy0) /
			        (f->total1 - f->total0));
	}
	if (f->alarms_open >= 0)
		printf("feed_end_alarms_open=%.0f\n", f->alarms_open);
}

int
main(int argc, char **argv)
{
	struct bus_sock_opts opts = {0};
	struct feed f;
	struct timeval tv = {0, POLL_MS * 1000};
	char *colon;
	int64_t t0, now_s;
	double stage_s;
	int rc;

	if (argc != 5 && argc != 6)
		die("usage: risk_feed CONNINFO PUB_EP RISKD_HTTP ROUNDS "
		    "[RISKD_PID]",
		    NULL);
	memset(&f, 0, sizeof(f));
	f.riskd_pid = argc == 6 ? atoi(argv[5]) : 0;
	f.rounds = atoi(argv[4]);
	colon = strrchr(argv[3], ':');
	if (f.rounds <= 0 || f.rounds > 100000 || colon == NULL)
		die("bad arguments (ROUNDS 1..100000, RISKD_HTTP host:port)",
		    NULL);
	*colon = '\0';
	f.host = argv[3];
	f.port = atoi(colon + 1);
	log_init("risk_feed", LOGL_WARN);

	f.conn = PQconnectdb(argv[1]);
	if (PQstatus(f.conn) != CONNECTION_OK)
		die("connecting to the store", f.conn);
	load_points(&f);
	f.expected = (uint64_t)f.npoints * (uint64_t)f.rounds;

	f.base = event_base_new();
	if (f.base == NULL || (f.bus = bus_new(f.base)) == NULL)
		die("cannot make the event loop or the bus", NULL);
	/* Room for the whole run in ZeroMQ's queue and in the outbox. */
	opts.sndhwm = (int)(f.nbatches * (size_t)f.rounds) + 1000;
	opts.outbox_max = opts.sndhwm;
	f.pub = bus_socket(f.bus, ZMQ_PUB, &opts);
	if (f.pub == NULL || bus_bind(f.pub, argv[2]) != 0)
		die("cannot bind the PUB socket", NULL);
	f.prod = bus_producer_new(f.pub, "ingestd");
	f.http = evhttp_connection_base_new(
	    f.base, NULL, f.host, (unsigned short)f.port);
	f.tick = event_new(f.base, -1, EV_PERSIST, on_tick, &f);
	if (f.prod == NULL || f.http == NULL || f.tick == NULL)
		die("out of memory", NULL);
	f.alarms_open = -1;

	/* riskd must be live before anything is committed (see above). */
	poll_metrics(&f);
	event_base_dispatch(f.base);
	if (!f.failed) {
		f.phase = PH_BASE;
		/* The last round about now, each earlier one a second before.
		 */
		now_s = timeutil_now_ms() / 1000;
		t0 = timeutil_mono_us();
		stage_all(&f, (now_s - f.rounds) * 1000);
		stage_s = (double)(timeutil_mono_us() - t0) / 1e6;

		/* The first poll takes the baseline and publishes; the ticks
		 * poll until every reading is evaluated. */
		poll_metrics(&f);
		event_add(f.tick, &tv);
		event_base_dispatch(f.base);
		report(&f, stage_s);
	}
	rc = f.phase == PH_DONE && !f.failed ? 0 : 1;

	event_free(f.tick);
	evhttp_connection_free(f.http);
	bus_producer_free(f.prod);
	bus_free(f.bus);
	event_base_free(f.base);
	PQfinish(f.conn);
	for (size_t i = 0; i < f.npoints; i++)
		free(f.codes[i]);
	free(f.codes);
	free(f.high);
	free(f.rd);
	free(f.rdp);
	free(f.batches);
	return rc;
}

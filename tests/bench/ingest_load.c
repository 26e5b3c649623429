/*
 * ingest_load - the HTTP load generator of the ingest benchmark.
 *
 * tests/bench/ingest.sh runs it twice against a live ingestd:
 *
 *   ingest_load setup ADDR TOKEN POINTS DISTRICTS SECTORS
 *       registers enterprises (one per district x sector pair) and POINTS
 *       monitoring points BP00000.. spread over them, through POST
 *       /v1/events (enterprise.upsert, point.upsert), as a sector system
 *       would; fails unless every item is accepted or a duplicate;
 *   ingest_load http ADDR TOKEN POINTS CLIENTS SECONDS BASE_MS
 *       CLIENTS threads, each on its own keep-alive connection, post
 *       {"readings":[...]} bodies of 500 readings for SECONDS, then wait
 *       for their last answers.  Batch b holds points (b mod G)*500 .. +499
 *       (G = POINTS/500) at time BASE_MS + (b div G) s, so no two readings
 *       of the run share (point, ts).  A 503 is re-sent after a short
 *       pause, as a real client would.
 *
 * The bodies are built before the clock starts: one template per group of
 * points, whose 13-digit timestamps are patched in place per batch, so the
 * generator costs little of the two cores it shares with ingestd and
 * PostgreSQL.  Output: key=value lines (the script computes the rates from
 * the rows it counts in the table).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ids.h"
#include "timeutil.h"

#define BATCH 500
#define RESP_MAX (1 << 20)

struct conn {
	char host[64];
	int port;
	int fd;
	char *resp;
};

/* A request body with its timestamps' positions. */
struct tmpl {
	char *buf; /* header + body */
	size_t len;
	size_t hdr_len;
	size_t ts_off[BATCH];
};

struct run {
	const char *token;
	int npoints;
	int ngroups;
	int64_t base_ms;
	int64_t end_us;
	struct tmpl *tmpl;
	char host[64];
	int port;
	uint64_t next_batch; /* atomically taken */
};

struct client {
	pthread_t tid;
	struct run *run;
	uint64_t *lat_us;
	size_t nlat, latcap;
	uint64_t ok, rejected_items, s503, errors, readings_ok;
	int64_t last_us;
};

static void
die(const char *what)
{
	fprintf(stderr, "ingest_load: %s\n", what);
	exit(1);
}

static int
parse_addr(const char *addr, char *host, size_t hostsize, int *port)
{
	const char *colon = strrchr(addr, ':');

	if (colon == NULL || (size_t)(colon - addr) >= hostsize)
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port = atoi(colon + 1);
	return *port > 0 ? 0 : -1;
}

static int
conn_open(struct conn *c)
{
	struct sockaddr_in sa;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)c->port);
	if (inet_pton(AF_INET, c->host, &sa.sin_addr) != 1 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/*
 * Send one request and read its answer on a keep-alive connection; the
 * status, or -1 when the connection failed (it is then closed).  The body
 * of the answer is left NUL-terminated in c->resp, *body pointing at it.
 */
static int
conn_roundtrip(struct conn *c, const char *req, size_t len, char **body)
{
	size_t got = 0, need = 0, off = 0;
	char *hend = NULL;
	int status = -1, close_after = 0;

	if (c->fd < 0 && conn_open(c) < 0)
		return -1;
	while (off < len) {
		ssize_t n = send(c->fd, req + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto broken;
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n;

		if (got >= RESP_MAX - 1)
			goto broken;
		n = recv(c->fd, c->resp + got, RESP_MAX - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto broken;
		got += (size_t)n;
		c->resp[got] = '\0';
		if (hend == NULL) {
			char *cl;

			hend = strstr(c->resp, "\r\n\r\n");
			if (hend == NULL)
				continue;
			if (sscanf(c->resp, "HTTP/1.%*d %d", &status) != 1)
				goto broken;
			cl = strcasestr(c->resp, "\r\nContent-Length:");
			if (cl == NULL || cl > hend)
				goto broken;
			need = (size_t)(hend + 4 - c->resp) +
			       strtoul(cl + 17, NULL, 10);
			close_after = strcasestr(c->resp,
			                  "\r\nConnection: close") != NULL;
		}
		if (got >= need)
			break;
	}
	*body = hend + 4;
	if (close_after)
		conn_close(c);
	return status;
broken:
	conn_close(c);
	return -1;
}

static char *
xasprintf_body(size_t *len, const char *token, const char *path,
    const char *body, size_t bodylen)
{
	char *buf;
	int n;

	buf = malloc(bodylen + 512);
	if (buf == NULL)
		die("out of memory");
	n = snprintf(buf, 512,
	    "POST %s HTTP/1.1\r\nHost: bench\r\n"
	    "Authorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    path, token, bodylen);
	memcpy(buf + n, body, bodylen);
	*len = (size_t)n + bodylen;
	return buf;
}

/* --- setup: the registry through POST /v1/events ---------------------- */

static int
post_events(struct conn *c, const char *token, const char *body, size_t n)
{
	size_t len;
	char *req = xasprintf_body(&len, token, "/v1/events", body, n);
	char *resp = NULL;
	int st = conn_roundtrip(c, req, len, &resp);

	free(req);
	if (st != 202) {
		fprintf(stderr, "ingest_load: POST /v1/events: %d %s\n", st,
		    resp != NULL ? resp : "");
		return -1;
	}
	if (strstr(resp, "\"rejected\":[]") == NULL) {
		fprintf(stderr, "ingest_load: events rejected: %s\n", resp);
		return -1;
	}
	return 0;
}

static int
split(char *s, char **out, int max)
{
	int n = 0;

	for (char *t = strtok(s, ","); t != NULL && n < max;
	     t = strtok(NULL, ","))
		out[n++] = t;
	return n;
}

static int
cmd_setup(int argc, char **argv)
{
	struct conn c = {.fd = -1};
	char *districts[64], *sectors[64];
	char(*uscc)[IDS_USCC_SIZE];
	int nd, ns, ne, npoints;
	size_t cap = 1 << 20, len;
	char *body;
	int64_t now = timeutil_now_ms();

	if (argc != 7)
		die("usage: ingest_load setup ADDR TOKEN POINTS DISTRICTS "
		    "SECTORS");
	if (parse_addr(argv[2], c.host, sizeof(c.host), &c.port) < 0)
		die("bad address");
	npoints = atoi(argv[4]);
	nd = split(argv[5], districts, 64);
	ns = split(argv[6], sectors, 64);
	ne = nd * ns;
	if (npoints <= 0 || ne == 0)
		die("need points, districts and sectors");
	c.resp = malloc(RESP_MAX);
	body = malloc(cap);
	uscc = calloc((size_t)ne, sizeof(*uscc));
	if (c.resp == NULL || body == NULL || uscc == NULL)
		die("out of memory");

	len = (size_t)snprintf(body, cap, "{\"events\":[");
	for (int e = 0; e < ne; e++) {
		const char *d = districts[e / ns], *s = sectors[e % ns];

		if (ids_uscc_generate((uint64_t)(4200 + e), d, uscc[e]) < 0)
			die("cannot make a USCC");
		len += (size_t)snprintf(body + len, cap - len,
		    "%s{\"kind\":\"enterprise.upsert\",\"id\":\"bench-e%d\","
		    "\"at\":%lld,\"data\":{\"uscc\":\"%s\",\"name\":"
		    "\"Bench works %d\",\"district\":\"%s\",\"sector\":\"%s\","
		    "\"employees\":120,\"status\":\"operating\","
		    "\"enforcement_level\":\"district\"}}",
		    e > 0 ? "," : "", e, (long long)now, uscc[e], e, d, s);
	}
	len += (size_t)snprintf(body + len, cap - len, "]}");
	if (post_events(&c, argv[3], body, len) < 0)
		return 1;

	for (int p = 0; p < npoints; p += BATCH) {
		len = (size_t)snprintf(body, cap, "{\"events\":[");
		for (int i = p; i < p + BATCH && i < npoints; i++)
			len += (size_t)snprintf(body + len, cap - len,
			    "%s{\"kind\":\"point.upsert\",\"id\":\"bench-p%d\","
			    "\"at\":%lld,\"data\":{\"code\":\"BP%05d\","
			    "\"uscc\":\"%s\",\"kind\":\"temperature\","
			    "\"unit\":\"degC\",\"h\":80,\"hh\":95,"
			    "\"enabled\":true}}",
			    i > p ? "," : "", i, (long long)now, i,
			    uscc[i % ne]);
		len += (size_t)snprintf(body + len, cap - len, "]}");
		if (post_events(&c, argv[3], body, len) < 0)
			return 1;
	}
	printf("setup_enterprises=%d\nsetup_points=%d\n", ne, npoints);
	conn_close(&c);
	free(c.resp);
	free(body);
	free(uscc);
	return 0;
}

/* --- http: the timed load ---------------------------------------------- */

static void
build_templates(struct run *r)
{
	r->tmpl = calloc((size_t)r->ngroups, sizeof(*r->tmpl));
	if (r->tmpl == NULL)
		die("out of memory");
	for (int g = 0; g < r->ngroups; g++) {
		struct tmpl *t = &r->tmpl[g];
		size_t cap = BATCH * 96 + 64, len;
		char *body = malloc(cap);

		if (body == NULL)
			die("out of memory");
		len = (size_t)snprintf(body, cap, "{\"readings\":[");
		for (int i = 0; i < BATCH; i++) {
			int pt = g * BATCH + i;

			len += (size_t)snprintf(body + len, cap - len,
			    "%s{\"point\":\"BP%05d\",\"ts\":", i > 0 ? "," : "",
			    pt);
			t->ts_off[i] = len;
			len += (size_t)snprintf(body + len, cap - len,
			    "%013lld,\"value\":%d.%d,\"quality\":\"good\"}",
			    (long long)r->base_ms, 20 + pt % 50, pt % 10);
		}
		len += (size_t)snprintf(body + len, cap - len, "]}");
		t->buf = xasprintf_body(
		    &t->len, r->token, "/v1/readings", body, len);
		t->hdr_len = t->len - len;
		free(body);
	}
}

static void
patch_ts(char *p, int64_t ts)
{
	for (int i = 12; i >= 0; i--) {
		p[i] = (char)('0' + ts % 10);
		ts /= 10;
	}
}

static void
lat_add(struct client *cl, uint64_t us)
{
	if (cl->nlat == cl->latcap) {
		cl->latcap = cl->latcap ? cl->latcap * 2 : 4096;
		cl->lat_us = realloc(cl->lat_us, cl->latcap * sizeof(uint64_t));
		if (cl->lat_us == NULL)
			die("out of memory");
	}
	cl->lat_us[cl->nlat++] = us;
}

static void *
client_main(void *arg)
{
	struct client *cl = arg;
	struct run *r = cl->run;
	struct conn c = {.fd = -1, .port = r->port};
	size_t maxlen = 0;
	char *req;

	snprintf(c.host, sizeof(c.host), "%s", r->host);
	for (int g = 0; g < r->ngroups; g++)
		if (r->tmpl[g].len > maxlen)
			maxlen = r->tmpl[g].len;
	req = malloc(maxlen);
	c.resp = malloc(RESP_MAX);
	if (req == NULL || c.resp == NULL)
		die("out of memory");
	while (timeutil_mono_us() < r->end_us) {
		uint64_t b =
		    __atomic_fetch_add(&r->next_batch, 1, __ATOMIC_RELAXED);
		const struct tmpl *t = &r->tmpl[b % (uint64_t)r->ngroups];
		int64_t ts =
		    r->base_ms + (int64_t)(b / (uint64_t)r->ngroups) * 1000;

		memcpy(req, t->buf, t->len);
		for (int i = 0; i < BATCH; i++)
			patch_ts(req + t->hdr_len + t->ts_off[i], ts);
		for (;;) {
			int64_t t0 = timeutil_mono_us();
			char *resp = NULL;
			int st = conn_roundtrip(&c, req, t->len, &resp);
			int64_t t1 = timeutil_mono_us();

			lat_add(cl, (uint64_t)(t1 - t0));
			cl->last_us = t1;
			if (st == 202) {
				cl->ok++;
				cl->readings_ok += BATCH;
				if (strstr(resp, "\"rejected\":[]") == NULL)
					cl->rejected_items++;
				break;
			}
			if (st == 503 && t1 < r->end_us) {
				struct timespec ts5 = {0, 5000000};

				cl->s503++;
				nanosleep(&ts5, NULL);
				continue;
			}
			cl->errors++;
			if (cl->errors <= 3)
				fprintf(stderr,
				    "ingest_load: answer %d: %.200s\n", st,
				    resp != NULL ? resp : "(none)");
			if (st < 0) {
				struct timespec ts50 = {0, 50000000};

				nanosleep(&ts50, NULL);
			}
			break;
		}
	}
	conn_close(&c);
	free(req);
	free(c.resp);
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmd_http(int argc, char **argv)
{
	struct run r;
	struct client *cl;
	uint64_t *all, ok = 0, s503 = 0, errors = 0, rej = 0, readings = 0;
	size_t nall = 0;
	int nclients;
	int64_t start, last = 0;
	double secs;

	if (argc != 8)
		die("usage: ingest_load http ADDR TOKEN POINTS CLIENTS SECONDS "
		    "BASE_MS");
	memset(&r, 0, sizeof(r));
	if (parse_addr(argv[2], r.host, sizeof(r.host), &r.port) < 0)
		die("bad address");
	r.token = argv[3];
	r.npoints = atoi(argv[4]);
	nclients = atoi(argv[5]);
	secs = atof(argv[6]);
	r.base_ms = atoll(argv[7]);
	r.ngroups = r.npoints / BATCH;
	if (r.ngroups <= 0 || nclients <= 0 || nclients > 256 || secs <= 0 ||
	    r.base_ms < 1000000000000LL || r.base_ms > 9999999999999LL)
		die("bad arguments");
	build_templates(&r);
	cl = calloc((size_t)nclients, sizeof(*cl));
	if (cl == NULL)
		die("out of memory");
	start = timeutil_mono_us();
	r.end_us = start + (int64_t)(secs * 1e6);
	for (int i = 0; i < nclients; i++) {
		cl[i].run = &r;
		if (pthread_create(&cl[i].tid, NULL, client_main, &cl[i]) != 0)
			die("pthread_create");
	}
	for (int i = 0; i < nclients; i++) {
		pthread_join(cl[i].tid, NULL);
		ok += cl[i].ok;
		s503 += cl[i].s503;
		errors += cl[i].errors;
		rej += cl[i].rejected_items;
		readings += cl[i].readings_ok;
		nall += cl[i].nlat;
		if (cl[i].last_us > last)
			last = cl[i].last_us;
	}
	all = malloc((nall > 0 ? nall : 1) * sizeof(*all));
	if (all == NULL)
		die("out of memory");
	nall = 0;
	for (int i = 0; i < nclients; i++) {
		memcpy(all + nall, cl[i].lat_us, cl[i].nlat * sizeof(*all));
		nall += cl[i].nlat;
		free(cl[i].lat_us);
	}
	qsort(all, nall, sizeof(*all), cmp_u64);
	printf("http_clients=%d\nhttp_requests=%zu\nhttp_batches_ok=%llu\n"
	       "http_readings_acked=%llu\nhttp_batches_with_rejects=%llu\n"
	       "http_503=%llu\nhttp_errors=%llu\nhttp_elapsed_s=%.3f\n",
	    nclients, nall, (unsigned long long)ok,
	    (unsigned long long)readings, (unsigned long long)rej,
	    (unsigned long long)s503, (unsigned long long)errors,
	    (double)(last - start) / 1e6);
	if (nall > 0)
		printf("http_p50_ms=%.1f\nhttp_p99_ms=%.1f\nhttp_max_ms=%.1f\n",
		    (double)all[nall / 2] / 1e3,
		    (double)all[(nall * 99) / 100] / 1e3,
		    (double)all[nall - 1] / 1e3);
	free(all);
	free(cl);
	for (int g = 0; g < r.ngroups; g++)
		free(r.tmpl[g].buf);
	free(r.tmpl);
	return errors > 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "setup") == 0)
		return cmd_setup(argc, argv);
	if (argc > 1 && strcmp(argv[1], "http") == 0)
		return cmd_http(argc, argv);
	die("usage: ingest_load setup|http ...");
	return 1;
}

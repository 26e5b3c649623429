/*
 * alarm_sink - the webhook receiver of the alert benchmark: it stands in for
 * the SMS/IM gateway of both alarmd and Alertmanager, and counts.
 *
 *   alarm_sink PORT
 *
 * Listens on 127.0.0.1:PORT (0: a port of the kernel's choosing) and
 * answers every POST, whatever its path, with 200 {"ok":true}.  The
 * benchmark names every alarm it offers with a mark, "bench-" and a number
 * (its point code, so the mark is in alarmd's notice and in Alertmanager's
 * labels alike); the sink finds the first mark in each body and keeps, per
 * number, when the first notice of it came (epoch microseconds) and how
 * many came.  Memory is a table of blocks of 65,536 numbers made on first
 * use (16 bytes a number), so a run of a few hundred thousand alarms costs
 * a few MiB and nothing grows with the bodies.
 *
 * The benchmark script (tests/bench/alarm.sh) asks, for a range of numbers
 * [from, to):
 *   GET /stats?from=A&to=B  key=value lines: posts and unmarked (all POSTs
 *                           so far, and those with no mark), last_post_us,
 *                           and in the range: distinct, duplicates (notices
 *                           of a number already noticed), first_us and
 *                           last_us (the earliest and latest first notice);
 *   GET /dump?from=A&to=B   one line "number first_us count" per number of
 *                           the range that was noticed, in order.
 * It prints "ready" (or "ready PORT") on stdout once it listens; SIGTERM
 * or SIGINT stop it, and it frees everything.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h> /* before libevent's headers, which undefine it */
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "timeutil.h"

#define MARK "bench-"
#define MARK_DIGITS_MAX 9
#define BLOCK_BITS 16
#define BLOCK_SIZE (1u << BLOCK_BITS)
#define NUMBER_MAX 100000000u /* 9 digits, and 1,526 blocks at most */
#define BLOCKS ((NUMBER_MAX >> BLOCK_BITS) + 1)

/* What the sink knows of one alarm number. */
struct seen {
	int64_t first_us; /* 0: never noticed */
	uint32_t count;
};

struct sink {
	struct event_base *base;
	struct seen *block[BLOCKS];
	uint64_t posts, unmarked;
	int64_t last_post_us;
};

/* The number after the first mark in body[0..n), or -1 when none. */
static long
mark_of(const unsigned char *body, size_t n)
{
	size_t mlen = sizeof(MARK) - 1;
	const unsigned char *p = body, *end = body + n;

	while (p != NULL && (size_t)(end - p) > mlen) {
		const unsigned char *hit =
		    memmem(p, (size_t)(end - p), MARK, mlen);
		const unsigned char *d;
		long v = 0;
		int k = 0;

		if (hit == NULL)
			return -1;
		for (d = hit + mlen;
		     d < end && k < MARK_DIGITS_MAX && *d >= '0' && *d <= '9';
		     d++, k++)
			v = v * 10 + (*d - '0');
		if (k > 0 && (d == end || *d < '0' || *d > '9'))
			return v;
		p = hit + 1;
	}
	return -1;
}

/* The record of number, made on first use; NULL when out of memory. */
static struct seen *
seen_of(struct sink *k, unsigned long number)
{
	struct seen **b = &k->block[number >> BLOCK_BITS];

	if (*b == NULL && (*b = calloc(BLOCK_SIZE, sizeof(**b))) == NULL)
		return NULL;
	return &(*b)[number & (BLOCK_SIZE - 1)];
}

static void
on_post(struct sink *k, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	const unsigned char *body = n > 0 ? evbuffer_pullup(in, -1) : NULL;
	int64_t now = timeutil_now_us();
	long number = body != NULL ? mark_of(body, n) : -1;
	struct seen *s;
	struct evbuffer *out;

	k->posts++;
	k->last_post_us = now;
	if (number < 0 || (unsigned long)number >= NUMBER_MAX ||
	    (s = seen_of(k, (unsigned long)number)) == NULL) {
		k->unmarked++;
	} else {
		if (s->count == 0)
			s->first_us = now;
		s->count++;
	}
	if ((out = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add(out, "{\"ok\":true}", 11);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* from and to of the query, [0, NUMBER_MAX) by default; -1 when bad. */
static int
range_of(struct evhttp_request *req, unsigned long *from, unsigned long *to)
{
	struct evkeyvalq q;
	const char *query =
	    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	const char *f, *t;
	char *end;
	int rc = 0;

	*from = 0;
	*to = NUMBER_MAX;
	if (query == NULL)
		return 0;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) != 0)
		return -1;
	if ((f = evhttp_find_header(&q, "from")) != NULL) {
		errno = 0;
		*from = strtoul(f, &end, 10);
		rc |= errno != 0 || end == f || *end != '\0' ? -1 : 0;
	}
	if ((t = evhttp_find_header(&q, "to")) != NULL) {
		errno = 0;
		*to = strtoul(t, &end, 10);
		rc |= errno != 0 || end == t || *end != '\0' ? -1 : 0;
	}
	evhttp_clear_headers(&q);
	if (*to > NUMBER_MAX)
		*to = NUMBER_MAX;
	return rc != 0 || *from > *to ? -1 : 0;
}

static void
on_get(struct sink *k, struct evhttp_request *req, int dump)
{
	unsigned long from, to;
	uint64_t distinct = 0, dups = 0;
	int64_t first = 0, last = 0;
	struct evbuffer *out;

	if (range_of(req, &from, &to) < 0) {
		evhttp_send_error(
		    req, 400, "from and to are numbers, from <= to");
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	for (unsigned long num = from; num < to; num++) {
		const struct seen *b = k->block[num >> BLOCK_BITS], *s;

		if (b == NULL) {
			/* A block never made: nothing noticed in it. */
			num = (((num >> BLOCK_BITS) + 1) << BLOCK_BITS) - 1;
			continue;
		}
		s = &b[num & (BLOCK_SIZE - 1)];
		if (s->count == 0)
			continue;
		if (dump) {
			evbuffer_add_printf(out,
			    "%lu %" PRId64 " %" PRIu32 "\n", num, s->first_us,
			    s->count);
			continue;
		}
		distinct++;
		dups += s->count - 1;
		if (first == 0 || s->first_us < first)
			first = s->first_us;
		if (s->first_us > last)
			last = s->first_us;
	}
	if (!dump)
		evbuffer_add_printf(out,
		    "posts=%" PRIu64 "\nunmarked=%" PRIu64
		    "\nlast_post_us=%" PRId64 "\ndistinct=%" PRIu64
		    "\nduplicates=%" PRIu64 "\nfirst_us=%" PRId64
		    "\nlast_us=%" PRId64 "\n",
		    k->posts, k->unmarked, k->last_post_us, distinct, dups,
		    first, last);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct sink *k = arg;
	const char *path =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_POST:
		on_post(k, req);
		return;
	case EVHTTP_REQ_GET:
		if (path != NULL && strcmp(path, "/stats") == 0) {
			on_get(k, req, 0);
			return;
		}
		if (path != NULL && strcmp(path, "/dump") == 0) {
			on_get(k, req, 1);
			return;
		}
		evhttp_send_error(req, 404, "GET /stats or /dump");
		return;
	default:
		evhttp_send_error(
		    req, 405, "POST a notice, GET /stats or /dump");
		return;
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	static struct sink k;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *sigterm, *sigint;
	char *end;
	unsigned long port;

	if (argc != 2 || (port = strtoul(argv[1], &end, 10)) > 65535 ||
	    *end != '\0' || argv[1][0] == '\0') {
		fprintf(stderr, "usage: alarm_sink PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	k.base = event_base_new();
	http = k.base != NULL ? evhttp_new(k.base) : NULL;
	if (http == NULL) {
		fprintf(stderr, "alarm_sink: no event base\n");
		return 1;
	}
	/* Senders keep their connections open between notices. */
	evhttp_set_timeout(http, 3600);
	evhttp_set_max_body_size(http, 1 << 20);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
	evhttp_set_gencb(http, on_request, &k);
	bound = evhttp_bind_socket_with_handle(
	    http, "127.0.0.1", (unsigned short)port);
	if (bound == NULL) {
		fprintf(stderr, "alarm_sink: cannot listen on 127.0.0.1:%lu\n",
		    port);
		return 1;
	}
	sigterm = evsignal_new(k.base, SIGTERM, on_signal, k.base);
	sigint = evsignal_new(k.base, SIGINT, on_signal, k.base);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL)) {
		fprintf(stderr, "alarm_sink: cannot catch signals\n");
		return 1;
	}
	if (port == 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		getsockname(evhttp_bound_socket_get_fd(bound),
		    (struct sockaddr *)&ss, &sl);
		printf(
		    "ready %d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	} else {
		printf("ready\n");
	}
	fflush(stdout);
	event_base_dispatch(k.base);
	evhttp_free(http);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(k.base);
	for (size_t i = 0; i < BLOCKS; i++)
		free(k.block[i]);
	return 0;
}

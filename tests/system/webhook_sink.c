/*
 * webhook_sink - a webhook receiver for the alarmd system tests and the
 * alert benchmark: it stands in for the SMS/IM gateway.
 *
 *   webhook_sink PORT OUTFILE [--fail N] [--fail-status S] [--delay-ms D]
 *
 * Listens on 127.0.0.1:PORT (0: a port of the kernel's choosing) and
 * answers every POST with 200 {"ok":true,"seq":n}, n counting the POSTs
 * received; --fail N answers the first N with status S (default 500)
 * instead, --fail -1 all of them; --delay-ms D holds every answer D ms
 * (on a timer: the sink keeps taking requests meanwhile).  Each POST
 * appends one line to OUTFILE, flushed at once so a test can read it
 * while the sink runs:
 *   <epoch_ms> <path> <body on one line>
 * (line breaks in the body become spaces).  Other methods get 405 and no
 * line.  It prints "ready" on stdout once it listens ("ready PORT" when
 * the kernel chose the port).  SIGTERM or SIGINT stop it; it frees
 * everything, so the sanitizer build checks it for leaks too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

struct sink;

/* An answer held back by --delay-ms. */
struct held {
	struct sink *k;
	struct evhttp_request *req;
	struct event *ev;
	int status;
	long seq;
	struct held *prev, *next;
};

struct sink {
	struct event_base *base;
	FILE *out;
	long fail; /* answers left to fail; -1 all */
	int fail_status;
	long delay_ms;
	long seq;
	struct held *held;
};

static long long
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
answer(struct evhttp_request *req, int status, long seq)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(b, "{\"ok\":%s,\"seq\":%ld}",
	    status >= 200 && status <= 299 ? "true" : "false", seq);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(
	    req, status, status >= 200 && status <= 299 ? "OK" : "Failed", b);
	evbuffer_free(b);
}

static void
held_unlink(struct held *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		h->k->held = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	event_free(h->ev);
	free(h);
}

static void
held_due(evutil_socket_t fd, short what, void *arg)
{
	struct held *h = arg;

	(void)fd;
	(void)what;
	answer(h->req, h->status, h->seq);
	held_unlink(h);
}

/* Write the request's line: epoch ms, path, body on one line. */
static void
log_request(struct sink *k, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	unsigned char *body = n > 0 ? evbuffer_pullup(in, -1) : NULL;

	fprintf(k->out, "%lld %s ", now_ms(), evhttp_request_get_uri(req));
	for (size_t i = 0; i < n; i++)
		putc(
		    body[i] == '\n' || body[i] == '\r' ? ' ' : body[i], k->out);
	putc('\n', k->out);
	fflush(k->out);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct sink *k = arg;
	struct held *h;
	struct timeval tv;
	int status = 200;
	long seq;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_send_error(req, 405, "POST only");
		return;
	}
	seq = ++k->seq;
	log_request(k, req);
	if (k->fail != 0) {
		status = k->fail_status;
		if (k->fail > 0)
			k->fail--;
	}
	if (k->delay_ms <= 0) {
		answer(req, status, seq);
		return;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		answer(req, status, seq);
		return;
	}
	h->k = k;
	h->req = req;
	h->status = status;
	h->seq = seq;
	h->ev = evtimer_new(k->base, held_due, h);
	tv.tv_sec = k->delay_ms / 1000;
	tv.tv_usec = (k->delay_ms % 1000) * 1000;
	if (h->ev == NULL || evtimer_add(h->ev, &tv) != 0) {
		if (h->ev != NULL)
			event_free(h->ev);
		free(h);
		answer(req, status, seq);
		return;
	}
	h->next = k->held;
	if (k->held != NULL)
		k->held->prev = h;
	k->held = h;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

static int
usage(void)
{
	fprintf(stderr, "usage: webhook_sink PORT OUTFILE [--fail N] "
	                "[--fail-status S] [--delay-ms D]\n");
	return 2;
}

/* A whole decimal number within [lo, hi]; 0, or -1. */
static int
number(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct sink k = {.fail_status = 500};
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *sigterm, *sigint;
	long port, v;

	if (argc < 3 || number(argv[1], 0, 65535, &port) < 0)
		return usage();
	for (int i = 3; i < argc; i += 2) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--fail") == 0 &&
		    number(argv[i + 1], -1, 1000000000, &v) == 0)
			k.fail = v;
		else if (strcmp(argv[i], "--fail-status") == 0 &&
		         number(argv[i + 1], 100, 599, &v) == 0)
			k.fail_status = (int)v;
		else if (strcmp(argv[i], "--delay-ms") == 0 &&
		         number(argv[i + 1], 0, 3600000, &v) == 0)
			k.delay_ms = v;
		else
			return usage();
	}
	if ((k.out = fopen(argv[2], "a")) == NULL) {
		fprintf(
		    stderr, "webhook_sink: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	k.base = event_base_new();
	http = k.base != NULL ? evhttp_new(k.base) : NULL;
	if (http == NULL) {
		fprintf(stderr, "webhook_sink: no event base\n");
		return 1;
	}
	/* Keep-alive connections stay open as long as the sender wants. */
	evhttp_set_timeout(http, 3600);
	evhttp_set_max_body_size(http, 1 << 20);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_POST | EVHTTP_REQ_GET |
	                                     EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT);
	evhttp_set_gencb(http, on_request, &k);
	bound = evhttp_bind_socket_with_handle(
	    http, "127.0.0.1", (unsigned short)port);
	if (bound == NULL) {
		fprintf(stderr,
		    "webhook_sink: cannot listen on 127.0.0.1:%ld\n", port);
		return 1;
	}
	sigterm = evsignal_new(k.base, SIGTERM, on_signal, k.base);
	sigint = evsignal_new(k.base, SIGINT, on_signal, k.base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	if (port == 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		getsockname(evhttp_bound_socket_get_fd(bound),
		    (struct sockaddr *)&ss, &sl);
		printf(
		    "ready %d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	} else
		printf("ready\n");
	fflush(stdout);
	event_base_dispatch(k.base);
	/* Answer what is held (a request whose sender left is freed by
	 * that), then let evhttp free the connections. */
	for (struct held *h = k.held, *next; h != NULL; h = next) {
		next = h->next;
		answer(h->req, h->status, h->seq);
		event_free(h->ev);
		free(h);
	}
	k.held = NULL;
	evhttp_free(http);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(k.base);
	fclose(k.out);
	return 0;
}

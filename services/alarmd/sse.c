/*
 * sse - Server-Sent Events to the duty consoles.
 *
 * The hub owns a list of clients, each a detached evhttp request whose
 * chunked answer never ends.  Frames are made once per broadcast into a
 * scratch buffer and appended to every client's connection.  Ownership
 * of the evhttp objects follows libevent 2.1: while a stream is open the
 * connection owns the request; when the peer closes or times out, evhttp
 * unhooks the unfinished request from its connection before it frees the
 * connection and calls our close callback, and the request is then ours to
 * free (evhttp_send_reply_end on a request without a connection frees it).
 * When we drop a client ourselves we free its connection, which frees the
 * request with it; the close callback is unhooked first so it does not run
 * for a client already gone.
 *
 * How full a client's pipe is: the HTTP guard (common/http_guard.c) moves
 * everything evhttp writes straight into the socket's bufferevent under
 * its filter, so the backlog is the output of the underlying bufferevent
 * (plus the filter's own, which is normally empty).
 */
#include "sse.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

struct sse_client {
	struct sse *hub;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct sse_client *prev, *next;
	struct evbuffer_cb_entry *input_cb; /* drains what the client sends */
	uint64_t ignored;                   /* bytes it sent and we dropped */
	char peer[64];
};

struct sse {
	struct event_base *base;
	struct event *heartbeat;
	struct sse_client *clients;
	size_t nclients;
	size_t max_clients;
	size_t backlog_max;
	uint64_t last_id;
	struct evbuffer *scratch; /* one frame on its way to a client */
	char *frame;              /* the frame being broadcast */
	size_t frame_cap;
	struct metric *m_clients;
	struct metric *m_events;
	struct metric *m_refused;
	struct metric *m_drop_slow;
	struct metric *m_drop_error;
	struct metric *m_closed;
};

/* ========================================================================
 * Framing (pure)
 * ======================================================================== */

/* Append n bytes of s at *len, keeping what fits in dst. */
static void
put(char *dst, size_t size, size_t *len, const char *s, size_t n)
{
	if (*len < size) {
		size_t room = size - *len;
		size_t k = n < room ? n : room;

		memcpy(dst + *len, s, k);
	}
	*len += n;
}

static void
put_str(char *dst, size_t size, size_t *len, const char *s)
{
	put(dst, size, len, s, strlen(s));
}

/* NUL-terminate dst at len, or at its end when the frame did not fit. */
static size_t
finish(char *dst, size_t size, size_t len)
{
	if (size > 0)
		dst[len < size ? len : size - 1] = '\0';
	return len;
}

size_t
sse_frame(
    char *dst, size_t size, uint64_t id, const char *event, const char *data)
{
	size_t len = 0;
	const char *p;

	if (event != NULL &&
	    (strlen(event) > SSE_EVENT_MAX || strpbrk(event, "\r\n") != NULL))
		return (size_t)-1;
	if (id != 0) {
		char num[32];

		snprintf(
		    num, sizeof(num), "id: %llu\n", (unsigned long long)id);
		put_str(dst, size, &len, num);
	}
	if (event != NULL && event[0] != '\0') {
		put_str(dst, size, &len, "event: ");
		put_str(dst, size, &len, event);
		put_str(dst, size, &len, "\n");
	}
	/*
	 * One "data:" line per line of the payload.  The browser joins them
	 * with LF, so a payload whose lines end in CRLF or CR comes out with
	 * LF: the same JSON.  A payload that ends in a line break gets an
	 * empty last line, so the break survives.
	 */
	p = data != NULL ? data : "";
	for (;;) {
		size_t n = strcspn(p, "\r\n");

		put_str(dst, size, &len, "data: ");
		put(dst, size, &len, p, n);
		put_str(dst, size, &len, "\n");
		p += n;
		if (*p == '\0')
			break;
		if (p[0] == '\r' && p[1] == '\n')
			p += 2;
		else
			p++;
	}
	put_str(dst, size, &len, "\n");
	return finish(dst, size, len);
}

size_t
sse_comment(char *dst, size_t size, const char *text)
{
	size_t len = 0;

	if (text == NULL)
		text = "";
	if (strpbrk(text, "\r\n") != NULL)
		return (size_t)-1;
	put_str(dst, size, &len, ": ");
	put_str(dst, size, &len, text);
	put_str(dst, size, &len, "\n\n");
	return finish(dst, size, len);
}

/* ========================================================================
 * Clients
 * ======================================================================== */

static void
client_unlink(struct sse_client *c)
{
	struct sse *s = c->hub;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	s->nclients--;
	metrics_set(s->m_clients, (double)s->nclients);
}

/* The input buffer evhttp reads this connection from (the guard's). */
static struct evbuffer *
client_input(const struct sse_client *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);

	return bev != NULL ? bufferevent_get_input(bev) : NULL;
}

/*
 * A stream's client has nothing more to say after its request, and evhttp
 * does not read while it answers: whatever arrives (pipelined requests)
 * would pile up in the connection's input.  Throw it away as it comes.
 */
static void
client_input_added(
    struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct sse_client *c = arg;
	size_t n = evbuffer_get_length(buf);

	if (info->n_added == 0 || n == 0)
		return;
	if (c->ignored == 0)
		log_info("sse.input_ignored", "peer=%s bytes=%zu", c->peer, n);
	c->ignored += n;
	evbuffer_drain(buf, n);
}

/* Unhook what sse_attach hooked on the connection, before it goes. */
static void
client_unhook(struct sse_client *c)
{
	struct evbuffer *in = client_input(c);

	evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	if (c->input_cb != NULL && in != NULL)
		evbuffer_remove_cb_entry(in, c->input_cb);
	c->input_cb = NULL;
}

/*
 * evhttp is freeing the connection: the peer closed, a write timed out,
 * or the server is going away.  In the first two cases evhttp has already
 * unhooked our unfinished request, which is then ours to free; in the
 * last it is still on the connection and goes with it.
 */
static void
client_closed(struct evhttp_connection *evcon, void *arg)
{
	struct sse_client *c = arg;

	(void)evcon;
	log_info("sse.closed", "peer=%s clients=%zu ignored_bytes=%llu",
	    c->peer, c->hub->nclients - 1, (unsigned long long)c->ignored);
	metrics_inc(c->hub->m_closed);
	client_unhook(c);
	client_unlink(c);
	if (evhttp_request_get_connection(c->req) == NULL)
		evhttp_send_reply_end(c->req);
	free(c);
}

/* Close a client's connection ourselves (slow reader, write failure). */
static void
client_drop(struct sse_client *c, const char *why)
{
	struct sse *s = c->hub;

	log_warn("sse.dropped", "peer=%s reason=%s clients=%zu", c->peer, why,
	    s->nclients - 1);
	client_unlink(c);
	client_unhook(c);
	evhttp_connection_free(c->evcon);
	free(c);
}

/* Bytes written to this client and not yet taken by its socket. */
static size_t
client_backlog(const struct sse_client *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
	struct bufferevent *under;
	size_t n;

	if (bev == NULL)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(bev));
	under = bufferevent_get_underlying(bev);
	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

/*
 * Make the connection fit for a stream.  The server's timeouts are for
 * requests: its read timeout would end a stream whose client, rightly,
 * sends nothing after its request.  So a stream has no read timeout and a
 * write timeout of SSE_WRITE_TIMEOUT_S (the client stopped taking bytes).
 * A peer that vanished without closing (cable, sleep, NAT) is found by the
 * kernel: with TCP_USER_TIMEOUT a heartbeat unacknowledged for that long
 * fails the connection, and libevent reports the close.
 */
static void
client_tune(struct sse_client *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
	struct bufferevent *under;
	struct timeval wtv = {SSE_WRITE_TIMEOUT_S, 0};
	unsigned int ms = SSE_WRITE_TIMEOUT_S * 1000u;
	evutil_socket_t fd;

	if (bev == NULL)
		return;
	bufferevent_set_timeouts(bev, NULL, &wtv);
	under = bufferevent_get_underlying(bev);
	fd = bufferevent_getfd(under != NULL ? under : bev);
	if (fd >= 0 &&
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)) != 0)
		log_debug("sse.tune", "peer=%s error=\"no TCP_USER_TIMEOUT\"",
		    c->peer);
}

/*
 * Send len bytes of frame to c, or drop c when its backlog would pass
 * the bound.  Returns 0 when sent, -1 when c is gone.
 */
static int
client_send(struct sse_client *c, const char *frame, size_t len)
{
	struct sse *s = c->hub;

	if (client_backlog(c) + len > s->backlog_max) {
		metrics_inc(s->m_drop_slow);
		client_drop(c, "not_reading");
		return -1;
	}
	if (evbuffer_add(s->scratch, frame, len) != 0) {
		evbuffer_drain(s->scratch, evbuffer_get_length(s->scratch));
		metrics_inc(s->m_drop_error);
		client_drop(c, "out_of_memory");
		return -1;
	}
	evhttp_send_reply_chunk(c->req, s->scratch);
	/* evhttp takes the bytes; drain in case it could not. */
	evbuffer_drain(s->scratch, evbuffer_get_length(s->scratch));
	return 0;
}

/* Send frame to every client; clients that cannot take it are dropped. */
static void
send_all(struct sse *s, const char *frame, size_t len)
{
	struct sse_client *c = s->clients, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		(void)client_send(c, frame, len);
	}
}

/* ========================================================================
 * The hub
 * ======================================================================== */

static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct sse *s = arg;
	char frame[32];
	size_t len = sse_comment(frame, sizeof(frame), "heartbeat");

	(void)fd;
	(void)what;
	if (len < sizeof(frame))
		send_all(s, frame, len);
}

struct sse *
sse_new(struct event_base *base, size_t max_clients)
{
	struct sse *s = calloc(1, sizeof(*s));
	struct timeval tv = {SSE_HEARTBEAT_S, 0};

	if (s == NULL)
		return NULL;
	s->base = base;
	s->max_clients = max_clients;
	s->backlog_max = SSE_BACKLOG_DEFAULT;
	s->scratch = evbuffer_new();
	s->heartbeat = event_new(base, -1, EV_PERSIST, on_heartbeat, s);
	if (s->scratch == NULL || s->heartbeat == NULL ||
	    event_add(s->heartbeat, &tv) != 0) {
		sse_free(s);
		return NULL;
	}
	return s;
}

void
sse_set_backlog(struct sse *s, size_t bytes)
{
	s->backlog_max = bytes;
}

void
sse_metrics(struct sse *s, struct metrics *m)
{
	s->m_clients = metrics_gauge(m, "anquan_alarmd_sse_clients",
	    "Duty console streams open now.", NULL);
	s->m_events = metrics_counter(m, "anquan_alarmd_sse_events_total",
	    "Events broadcast to the duty consoles.", NULL);
	s->m_refused = metrics_counter(m, "anquan_alarmd_sse_refused_total",
	    "Streams refused because the hub was full.", NULL);
	s->m_closed = metrics_counter(m, "anquan_alarmd_sse_closed_total",
	    "Streams that ended: the console closed it or stopped answering.",
	    NULL);
	s->m_drop_slow = metrics_counter(m, "anquan_alarmd_sse_dropped_total",
	    "Streams dropped by the hub, by reason.",
	    (const char *[]){"reason", "not_reading", NULL});
	s->m_drop_error = metrics_counter(m, "anquan_alarmd_sse_dropped_total",
	    "Streams dropped by the hub, by reason.",
	    (const char *[]){"reason", "out_of_memory", NULL});
	metrics_set(s->m_clients, (double)s->nclients);
}

void
sse_attach(struct sse *s, struct http_req *r)
{
	struct sse_client *c;
	struct evhttp_request *req;
	struct evkeyvalq *out;
	char hello[64];
	size_t len;

	if (strcmp(http_req_method(r), "HEAD") == 0) {
		http_set_header(r, "Cache-Control", "no-cache");
		http_reply_text(r, 200, "text/event-stream", "", 0);
		return;
	}
	if (s->nclients >= s->max_clients) {
		metrics_inc(s->m_refused);
		log_warn("sse.full", "peer=%s clients=%zu", http_req_peer(r),
		    s->nclients);
		http_set_retry_after(r, 30);
		http_reply_error(r, 503, "too_many_streams",
		    "the duty console already has %zu live streams open, the "
		    "most this alarmd allows; close another console or try "
		    "again later",
		    s->nclients);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		http_set_retry_after(r, 5);
		http_reply_error(
		    r, 503, "unavailable", "out of memory for another stream");
		return;
	}
	snprintf(c->peer, sizeof(c->peer), "%s", http_req_peer(r));
	c->hub = s;
	req = http_req_detach(r);
	c->req = req;
	c->evcon = evhttp_request_get_connection(req);
	out = evhttp_request_get_output_headers(req);
	evhttp_add_header(
	    out, "Content-Type", "text/event-stream; charset=utf-8");
	evhttp_add_header(out, "Cache-Control", "no-cache");
	evhttp_add_header(out, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");
	evhttp_connection_set_closecb(c->evcon, client_closed, c);
	client_tune(c);
	if (client_input(c) != NULL) {
		c->input_cb =
		    evbuffer_add_cb(client_input(c), client_input_added, c);
		/* What came with the request already. */
		evbuffer_drain(
		    client_input(c), evbuffer_get_length(client_input(c)));
	}

	c->next = s->clients;
	if (s->clients != NULL)
		s->clients->prev = c;
	s->clients = c;
	s->nclients++;
	metrics_set(s->m_clients, (double)s->nclients);
	log_info("sse.attached", "peer=%s clients=%zu", c->peer, s->nclients);

	/* The reconnect delay, and a first comment so the browser sees the
	 * stream open at once. */
	len = (size_t)snprintf(
	    hello, sizeof(hello), "retry: %d\n: ready\n\n", SSE_RETRY_MS);
	(void)client_send(c, hello, len);
}

void
sse_broadcast(struct sse *s, const char *event, const char *data_json)
{
	size_t len;
	uint64_t id = s->last_id + 1;

	len = sse_frame(s->frame, s->frame_cap, id, event, data_json);
	if (len == (size_t)-1) {
		log_error("sse.bad_event",
		    "event_len=%zu error=\"event name "
		    "too long or holds a line break\"",
		    event != NULL ? strlen(event) : 0);
		return;
	}
	if (len >= s->frame_cap) {
		size_t cap = len + 1 > 4096 ? len + 1 : 4096;
		char *p = realloc(s->frame, cap);

		if (p == NULL) {
			log_error("sse.broadcast",
			    "id=%llu bytes=%zu "
			    "error=\"out of memory; event not sent\"",
			    (unsigned long long)id, len);
			return;
		}
		s->frame = p;
		s->frame_cap = cap;
		len = sse_frame(s->frame, s->frame_cap, id, event, data_json);
	}
	s->last_id = id;
	metrics_inc(s->m_events);
	send_all(s, s->frame, len);
}

size_t
sse_clients(const struct sse *s)
{
	return s->nclients;
}

uint64_t
sse_last_id(const struct sse *s)
{
	return s->last_id;
}

void
sse_free(struct sse *s)
{
	struct sse_client *c, *next;

	if (s == NULL)
		return;
	/* The metrics registry may already be gone at shutdown. */
	s->m_clients = NULL;
	for (c = s->clients; c != NULL; c = next) {
		next = c->next;
		client_unhook(c);
		evhttp_connection_free(c->evcon);
		free(c);
	}
	s->clients = NULL;
	s->nclients = 0;
	if (s->heartbeat != NULL)
		event_free(s->heartbeat);
	if (s->scratch != NULL)
		evbuffer_free(s->scratch);
	free(s->frame);
	free(s);
}

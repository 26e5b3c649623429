/*
 * bus - ZeroMQ sockets on a libevent loop; envelopes; dispatch.
 *
 * The daemon's loop owns the thread, so every socket is driven by an event
 * on its ZMQ_FD.  That descriptor is edge-triggered and only says "look at
 * ZMQ_EVENTS", so the rule (zmq_getsockopt(3), ZMQ_FD) is followed to the
 * letter: on every wakeup re-read ZMQ_EVENTS and receive until it no longer
 * shows POLLIN, at most recv_budget messages before yielding to the other
 * events (the socket re-activates itself); re-check after every send and
 * receive, since either may change readiness without a new edge; check once
 * right after the socket is set up, since messages may already wait.
 *
 * Sends never block: ZMQ_DONTWAIT always, and a message ZeroMQ refuses with
 * EAGAIN (a PUB at its high-water mark with ZMQ_XPUB_NODROP, a PUSH with no
 * peer) waits in the socket's bounded outbox, flushed in order on the next
 * wakeup or by a 10 ms retry timer; past the bound it is dropped and counted.
 * proto/README.md §4 says why that is safe.
 *
 * Decoding is strict and lives here once, as does dispatch by payload case;
 * bus_log.c (producer) and bus_consumer.c (consumer) build on both.
 */
#include "bus.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "log.h"

#define DEF_HWM 10000
#define DEF_LINGER_MS 250
#define DEF_OUTBOX 10000
#define DEF_BUDGET 256
#define RETRY_MS 10
/* ZeroMQ disconnects a peer that sends a larger frame. */
#define MAXMSGSIZE ((int64_t)BUS_ENVELOPE_MAX + 4096)

struct bus {
	struct event_base *base;
	void *ctx;
	struct bus_sock *socks;
	struct bus_counters counters;
};

/* A message waiting for ZeroMQ to take it; the frames live in buf. */
struct outmsg {
	struct outmsg *next;
	int nframes;
	size_t len[BUS_MAX_FRAMES];
	unsigned char *part[BUS_MAX_FRAMES];
	unsigned char buf[];
};

struct bus_sock {
	struct bus *bus;
	struct bus_sock *prev, *next;
	void *zs;
	int type;
	struct event *ev;    /* ZMQ_FD, EV_READ|EV_PERSIST */
	struct event *retry; /* outbox retry timer */
	bus_recv_fn fn;
	void *arg;
	int paused;
	int budget;
	size_t outbox_max;
	size_t outbox_len;
	struct outmsg *ob_head, *ob_tail;
	int in_cb; /* inside sock_ready: defer a close */
	int close_pending;
	time_t drop_logged; /* drops are logged at most once a second */
	uint64_t drops_unlogged;
};

/*
 * ZeroMQ's error text, quoted for a key=value line.  The buffer is per
 * thread, and each log line uses one call.
 */
static const char *
zerr(int err)
{
	static __thread char buf[160];

	return log_quote(buf, sizeof(buf), zmq_strerror(err));
}

static void sock_ready(evutil_socket_t fd, short what, void *arg);
static void sock_retry(evutil_socket_t fd, short what, void *arg);
static void sock_destroy(struct bus_sock *s);

static const char *
type_name(int type)
{
	switch (type) {
	case ZMQ_PUB:
		return "pub";
	case ZMQ_SUB:
		return "sub";
	case ZMQ_PUSH:
		return "push";
	case ZMQ_PULL:
		return "pull";
	default:
		return "other";
	}
}

struct bus *
bus_new(struct event_base *base)
{
	struct bus *bus;

	bus = calloc(1, sizeof(*bus));
	if (bus == NULL)
		return NULL;
	bus->base = base;
	bus->ctx = zmq_ctx_new();
	if (bus->ctx == NULL) {
		log_error("bus.ctx", "err=%s", zerr(errno));
		free(bus);
		return NULL;
	}
	/*
	 * Sockets start with no linger rather than an infinite one, so that
	 * zmq_ctx_term cannot hang on unsent messages; bus_socket then sets
	 * its own short bound.
	 */
	zmq_ctx_set(bus->ctx, ZMQ_BLOCKY, 0);
	return bus;
}

void
bus_free(struct bus *bus)
{
	if (bus == NULL)
		return;
	while (bus->socks != NULL)
		sock_destroy(bus->socks);
	while (zmq_ctx_term(bus->ctx) != 0 && errno == EINTR)
		;
	free(bus);
}

struct event_base *
bus_base(struct bus *bus)
{
	return bus->base;
}

const struct bus_counters *
bus_counters(const struct bus *bus)
{
	return &bus->counters;
}

struct bus_counters *
bus_counters_mut(struct bus *bus)
{
	return &bus->counters;
}

struct bus *
bus_sock_bus(struct bus_sock *s)
{
	return s->bus;
}

static int
setopt_int(struct bus_sock *s, int opt, int v, const char *name)
{
	if (zmq_setsockopt(s->zs, opt, &v, sizeof(v)) == 0)
		return 0;
	log_error(
	    "bus.sockopt", "opt=%s value=%d err=%s", name, v, zerr(errno));
	return -1;
}

static int
apply_opts(struct bus_sock *s, const struct bus_sock_opts *o)
{
	int64_t maxsz = MAXMSGSIZE;
	int receiver = s->type == ZMQ_SUB || s->type == ZMQ_PULL;
	int linger;

	/*
	 * A sender lingers briefly so a clean stop still delivers what it
	 * queued.  A receiver only has subscriptions to send, and those are
	 * not worth waiting for at exit.
	 */
	if (o->linger_ms > 0)
		linger = o->linger_ms;
	else if (o->linger_ms < 0 || receiver)
		linger = 0;
	else
		linger = DEF_LINGER_MS;

	if (setopt_int(s, ZMQ_LINGER, linger, "linger") < 0 ||
	    setopt_int(s, ZMQ_SNDHWM, o->sndhwm > 0 ? o->sndhwm : DEF_HWM,
	        "sndhwm") < 0 ||
	    setopt_int(s, ZMQ_RCVHWM, o->rcvhwm > 0 ? o->rcvhwm : DEF_HWM,
	        "rcvhwm") < 0)
		return -1;
	if (o->sndbuf > 0 && setopt_int(s, ZMQ_SNDBUF, o->sndbuf, "sndbuf") < 0)
		return -1;
	if (o->rcvbuf > 0 && setopt_int(s, ZMQ_RCVBUF, o->rcvbuf, "rcvbuf") < 0)
		return -1;
	if (s->type == ZMQ_PUB && !o->lossy &&
	    setopt_int(s, ZMQ_XPUB_NODROP, 1, "xpub_nodrop") < 0)
		return -1;
	if (receiver &&
	    zmq_setsockopt(s->zs, ZMQ_MAXMSGSIZE, &maxsz, sizeof(maxsz)) != 0) {
		log_error("bus.sockopt", "opt=maxmsgsize err=%s", zerr(errno));
		return -1;
	}
	return 0;
}

struct bus_sock *
bus_socket(struct bus *bus, int type, const struct bus_sock_opts *opts)
{
	static const struct bus_sock_opts defaults;
	struct bus_sock *s;
	size_t sz;
	int fd;

	if (opts == NULL)
		opts = &defaults;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->bus = bus;
	s->type = type;
	s->budget = opts->recv_budget > 0 ? opts->recv_budget : DEF_BUDGET;
	s->outbox_max = opts->outbox_max == 0  ? DEF_OUTBOX
	                : opts->outbox_max < 0 ? 0
	                                       : (size_t)opts->outbox_max;
	s->zs = zmq_socket(bus->ctx, type);
	if (s->zs == NULL) {
		log_error("bus.socket", "type=%s err=%s", type_name(type),
		    zerr(errno));
		free(s);
		return NULL;
	}
	sz = sizeof(fd);
	if (apply_opts(s, opts) < 0 ||
	    zmq_getsockopt(s->zs, ZMQ_FD, &fd, &sz) != 0) {
		zmq_close(s->zs);
		free(s);
		return NULL;
	}
	s->ev = event_new(bus->base, fd, EV_READ | EV_PERSIST, sock_ready, s);
	s->retry = evtimer_new(bus->base, sock_retry, s);
	if (s->ev == NULL || s->retry == NULL || event_add(s->ev, NULL) != 0) {
		if (s->ev != NULL)
			event_free(s->ev);
		if (s->retry != NULL)
			event_free(s->retry);
		zmq_close(s->zs);
		free(s);
		return NULL;
	}
	s->next = bus->socks;
	if (bus->socks != NULL)
		bus->socks->prev = s;
	bus->socks = s;
	/* Messages (or commands) may be waiting before the first edge. */
	event_active(s->ev, EV_READ, 0);
	return s;
}

static int
endpoint_op(struct bus_sock *s, const char *endpoint, int bind)
{
	char q[256];
	int rc;

	rc = bind ? zmq_bind(s->zs, endpoint) : zmq_connect(s->zs, endpoint);
	if (rc != 0) {
		log_error(bind ? "bus.bind" : "bus.connect",
		    "type=%s endpoint=%s err=%s", type_name(s->type),
		    log_quote(q, sizeof(q), endpoint), zerr(errno));
		return -1;
	}
	log_info(bind ? "bus.bind" : "bus.connect", "type=%s endpoint=%s",
	    type_name(s->type), log_quote(q, sizeof(q), endpoint));
	event_active(s->ev, EV_READ, 0);
	return 0;
}

int
bus_bind(struct bus_sock *s, const char *endpoint)
{
	return endpoint_op(s, endpoint, 1);
}

int
bus_connect(struct bus_sock *s, const char *endpoint)
{
	return endpoint_op(s, endpoint, 0);
}

int
bus_subscribe(struct bus_sock *s, const char *prefix)
{
	char q[256];

	if (zmq_setsockopt(s->zs, ZMQ_SUBSCRIBE, prefix, strlen(prefix)) != 0) {
		log_error("bus.subscribe", "prefix=%s err=%s",
		    log_quote(q, sizeof(q), prefix), zerr(errno));
		return -1;
	}
	return 0;
}

void
bus_sock_on_recv(struct bus_sock *s, bus_recv_fn fn, void *arg)
{
	s->fn = fn;
	s->arg = arg;
	event_active(s->ev, EV_READ, 0);
}

void
bus_sock_pause(struct bus_sock *s, int paused)
{
	s->paused = paused;
	/* No edge will come for messages that queued meanwhile. */
	if (!paused)
		event_active(s->ev, EV_READ, 0);
}

size_t
bus_sock_outbox(const struct bus_sock *s)
{
	return s->outbox_len;
}

static int
sock_events(struct bus_sock *s)
{
	int ev = 0;
	size_t sz = sizeof(ev);

	while (zmq_getsockopt(s->zs, ZMQ_EVENTS, &ev, &sz) != 0) {
		if (errno != EINTR)
			return 0;
	}
	return ev;
}

/* After any send or receive: readiness may have changed without an edge. */
static void
sock_recheck(struct bus_sock *s)
{
	if (s->in_cb || s->fn == NULL || s->paused)
		return;
	if (sock_events(s) & ZMQ_POLLIN)
		event_active(s->ev, EV_READ, 0);
}

static void
note_drop(struct bus_sock *s, const char *why)
{
	time_t now = time(NULL);

	s->bus->counters.dropped++;
	s->drops_unlogged++;
	if (now == s->drop_logged)
		return;
	log_warn("bus.send.dropped", "type=%s why=%s n=%llu outbox=%zu",
	    type_name(s->type), why, (unsigned long long)s->drops_unlogged,
	    s->outbox_len);
	s->drop_logged = now;
	s->drops_unlogged = 0;
}

/* 0 sent, 1 EAGAIN before anything went out, -1 failed. */
static int
try_send(struct bus_sock *s, const unsigned char *const *part,
    const size_t *len, int n)
{
	for (int i = 0; i < n; i++) {
		int flags = ZMQ_DONTWAIT | (i < n - 1 ? ZMQ_SNDMORE : 0);

		while (zmq_send(s->zs, part[i], len[i], flags) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && i == 0)
				return 1;
			/*
			 * ZeroMQ admits a message whole or not at all, so a
			 * later frame failing is a socket being torn down.
			 */
			log_error("bus.send", "type=%s frame=%d err=%s",
			    type_name(s->type), i, zerr(errno));
			return -1;
		}
	}
	return 0;
}

static void
outbox_pop(struct bus_sock *s)
{
	struct outmsg *m = s->ob_head;

	s->ob_head = m->next;
	if (s->ob_head == NULL)
		s->ob_tail = NULL;
	s->outbox_len--;
	s->bus->counters.queued--;
	free(m);
}

static void
outbox_flush(struct bus_sock *s)
{
	while (s->ob_head != NULL) {
		struct outmsg *m = s->ob_head;
		int r = try_send(s, (const unsigned char *const *)m->part,
		    m->len, m->nframes);

		if (r == 1)
			break;
		if (r == 0)
			s->bus->counters.sent++;
		else
			note_drop(s, "error");
		outbox_pop(s);
	}
	if (s->ob_head != NULL && !evtimer_pending(s->retry, NULL)) {
		struct timeval tv = {0, RETRY_MS * 1000};

		evtimer_add(s->retry, &tv);
	}
}

static int
outbox_push(struct bus_sock *s, const struct bus_frame *frames, int n)
{
	struct outmsg *m;
	size_t total = 0;
	unsigned char *p;

	for (int i = 0; i < n; i++)
		total += frames[i].len;
	m = malloc(sizeof(*m) + total);
	if (m == NULL)
		return -1;
	m->next = NULL;
	m->nframes = n;
	p = m->buf;
	for (int i = 0; i < n; i++) {
		m->part[i] = p;
		m->len[i] = frames[i].len;
		if (frames[i].len > 0)
			memcpy(p, frames[i].data, frames[i].len);
		p += frames[i].len;
	}
	if (s->ob_tail != NULL)
		s->ob_tail->next = m;
	else
		s->ob_head = m;
	s->ob_tail = m;
	s->outbox_len++;
	s->bus->counters.queued++;
	return 0;
}

int
bus_send(struct bus_sock *s, const struct bus_frame *frames, int nframes)
{
	const unsigned char *part[BUS_MAX_FRAMES];
	size_t len[BUS_MAX_FRAMES];
	int r;

	assert(nframes >= 1 && nframes <= BUS_MAX_FRAMES);
	if (s->ob_head == NULL) {
		for (int i = 0; i < nframes; i++) {
			part[i] = frames[i].data;
			len[i] = frames[i].len;
		}
		r = try_send(s, part, len, nframes);
		if (r == 0)
			s->bus->counters.sent++;
		sock_recheck(s);
		if (r == 0)
			return 0;
		if (r < 0) {
			note_drop(s, "error");
			return -1;
		}
	}
	/* Behind older messages, or refused: keep order, keep it bounded. */
	if (s->outbox_len >= s->outbox_max || outbox_push(s, frames, nframes)) {
		note_drop(s, "outbox_full");
		return -1;
	}
	outbox_flush(s);
	return 1;
}

/* Receive one multipart message into the callback; 0 when none waited. */
static int
recv_one(struct bus_sock *s)
{
	zmq_msg_t part[BUS_MAX_FRAMES];
	struct bus_frame fr[BUS_MAX_FRAMES];
	int n = 0, extra = 0, more = 1;

	while (more) {
		zmq_msg_t spill, *m = n < BUS_MAX_FRAMES ? &part[n] : &spill;

		zmq_msg_init(m);
		if (zmq_msg_recv(m, s->zs, ZMQ_DONTWAIT) < 0) {
			int err = errno;

			zmq_msg_close(m);
			if (err == EINTR)
				continue;
			for (int i = 0; i < n; i++)
				zmq_msg_close(&part[i]);
			if (n > 0 || extra > 0 || err != EAGAIN)
				log_warn("bus.recv", "type=%s err=%s",
				    type_name(s->type), zerr(err));
			return 0;
		}
		more = zmq_msg_more(m);
		if (m == &spill) {
			zmq_msg_close(m);
			extra++;
		} else {
			n++;
		}
	}

	s->bus->counters.received++;
	if (extra > 0) {
		s->bus->counters.malformed++;
		log_warn("bus.recv.malformed", "type=%s frames=%d max=%d",
		    type_name(s->type), n + extra, BUS_MAX_FRAMES);
	} else {
		for (int i = 0; i < n; i++) {
			fr[i].data = zmq_msg_data(&part[i]);
			fr[i].len = zmq_msg_size(&part[i]);
		}
		s->fn(s, fr, n, s->arg);
	}
	for (int i = 0; i < n; i++)
		zmq_msg_close(&part[i]);
	return 1;
}

static void
sock_ready(evutil_socket_t fd, short what, void *arg)
{
	struct bus_sock *s = arg;
	int budget = s->budget;

	(void)fd;
	(void)what;
	s->in_cb = 1;
	for (;;) {
		int ev = sock_events(s);

		if ((ev & ZMQ_POLLOUT) && s->ob_head != NULL)
			outbox_flush(s);
		if (!(ev & ZMQ_POLLIN) || s->fn == NULL || s->paused ||
		    s->close_pending)
			break;
		if (budget-- == 0) {
			/* Yield to the other events; come back at once. */
			event_active(s->ev, EV_READ, 0);
			break;
		}
		if (recv_one(s) == 0)
			break;
	}
	s->in_cb = 0;
	if (s->close_pending)
		sock_destroy(s);
}

static void
sock_retry(evutil_socket_t fd, short what, void *arg)
{
	struct bus_sock *s = arg;

	(void)fd;
	(void)what;
	outbox_flush(s);
	sock_recheck(s);
}

static void
sock_destroy(struct bus_sock *s)
{
	struct bus *bus = s->bus;

	if (s->outbox_len > 0)
		log_warn("bus.close.unsent", "type=%s n=%zu",
		    type_name(s->type), s->outbox_len);
	while (s->ob_head != NULL) {
		bus->counters.dropped++;
		outbox_pop(s);
	}
	event_free(s->ev);
	event_free(s->retry);
	zmq_close(s->zs);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		bus->socks = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	free(s);
}

void
bus_sock_close(struct bus_sock *s)
{
	if (s == NULL)
		return;
	if (s->in_cb) {
		s->close_pending = 1;
		return;
	}
	sock_destroy(s);
}

struct bus_sock *
bus_pull(struct bus *bus, const char *endpoint, bus_recv_fn fn, void *arg)
{
	struct bus_sock *s = bus_socket(bus, ZMQ_PULL, NULL);

	if (s == NULL)
		return NULL;
	if (bus_bind(s, endpoint) < 0) {
		bus_sock_close(s);
		return NULL;
	}
	bus_sock_on_recv(s, fn, arg);
	return s;
}

struct bus_sock *
bus_push(struct bus *bus, const char *endpoint)
{
	struct bus_sock *s = bus_socket(bus, ZMQ_PUSH, NULL);

	if (s == NULL)
		return NULL;
	if (bus_connect(s, endpoint) < 0) {
		bus_sock_close(s);
		return NULL;
	}
	return s;
}

int
bus_send_envelope(struct bus_sock *s, const Anquan__Envelope *env)
{
	struct bus_frame f;
	uint8_t *buf;
	size_t len;
	int r;

	buf = bus_envelope_pack(env, &len);
	if (buf == NULL) {
		note_drop(s, "too_large");
		return -1;
	}
	f.data = buf;
	f.len = len;
	r = bus_send(s, &f, 1);
	free(buf);
	return r;
}

/* --- envelopes --------------------------------------------------------- */

const char *
bus_decode_errstr(enum bus_decode_err e)
{
	switch (e) {
	case BUS_DECODE_OK:
		return "ok";
	case BUS_DECODE_FRAMES:
		return "wrong number of frames (want [topic][envelope], or "
		       "[envelope] on PULL)";
	case BUS_DECODE_TOPIC:
		return "topic empty, over 200 bytes or not printable ASCII";
	case BUS_DECODE_SIZE:
		return "envelope empty or over 8 MiB";
	case BUS_DECODE_PROTO:
		return "envelope is not a valid protobuf Envelope";
	case BUS_DECODE_VERSION:
		return "envelope version missing or newer than this build";
	case BUS_DECODE_STREAM:
		return "envelope stream does not match the topic";
	case BUS_DECODE_SEQ:
		return "envelope seq is 0 on a sequenced stream, or set on a "
		       "collector message";
	case BUS_DECODE_UNKNOWN:
		return "payload case not known to this build";
	}
	return "?";
}

int
bus_topic_valid(const char *topic, size_t len)
{
	if (len == 0 || len > BUS_TOPIC_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)topic[i] <= 0x20 ||
		    (unsigned char)topic[i] >= 0x7f)
			return 0;
	return 1;
}

int
bus_payload_known(int payload_case)
{
	/* ack is not here: it is never sequenced (proto/README.md 3.1). */
	return payload_case == ANQUAN__ENVELOPE__PAYLOAD_READINGS ||
	       payload_case == ANQUAN__ENVELOPE__PAYLOAD_EVENTS ||
	       payload_case == ANQUAN__ENVELOPE__PAYLOAD_ALARM ||
	       payload_case == ANQUAN__ENVELOPE__PAYLOAD_RISK ||
	       payload_case == ANQUAN__ENVELOPE__PAYLOAD_WARNING ||
	       payload_case == ANQUAN__ENVELOPE__PAYLOAD_NOTIFICATION;
}

const char *
bus_payload_name(int payload_case)
{
	switch (payload_case) {
	case ANQUAN__ENVELOPE__PAYLOAD_READINGS:
		return "readings";
	case ANQUAN__ENVELOPE__PAYLOAD_EVENTS:
		return "events";
	case ANQUAN__ENVELOPE__PAYLOAD_ALARM:
		return "alarm";
	case ANQUAN__ENVELOPE__PAYLOAD_RISK:
		return "risk";
	case ANQUAN__ENVELOPE__PAYLOAD_WARNING:
		return "warning";
	case ANQUAN__ENVELOPE__PAYLOAD_NOTIFICATION:
		return "notification";
	case ANQUAN__ENVELOPE__PAYLOAD_ACK:
		return "ack";
	case ANQUAN__ENVELOPE__PAYLOAD__NOT_SET:
		return "none";
	default:
		return "unknown";
	}
}

uint8_t *
bus_envelope_pack(const Anquan__Envelope *env, size_t *len)
{
	size_t n = anquan__envelope__get_packed_size(env);
	uint8_t *buf;

	if (n > BUS_ENVELOPE_MAX)
		return NULL;
	buf = malloc(n > 0 ? n : 1);
	if (buf == NULL)
		return NULL;
	*len = anquan__envelope__pack(env, buf);
	return buf;
}

void
bus_envelope_free(Anquan__Envelope *env)
{
	if (env != NULL)
		anquan__envelope__free_unpacked(env, NULL);
}

/* The checks every envelope passes, whatever socket or table it came from. */
static enum bus_decode_err
decode_envelope(const void *data, size_t len, Anquan__Envelope **out)
{
	Anquan__Envelope *env;

	*out = NULL;
	if (len == 0 || len > BUS_ENVELOPE_MAX)
		return BUS_DECODE_SIZE;
	env = anquan__envelope__unpack(NULL, len, data);
	if (env == NULL)
		return BUS_DECODE_PROTO;
	if (env->version == 0 || env->version > BUS_VERSION) {
		bus_envelope_free(env);
		return BUS_DECODE_VERSION;
	}
	*out = env;
	return BUS_DECODE_OK;
}

/* The sequenced-stream checks, shared by live and replayed messages. */
static enum bus_decode_err
check_sequenced(const char *stream, Anquan__Envelope **out)
{
	Anquan__Envelope *env = *out;
	enum bus_decode_err e = BUS_DECODE_OK;

	if (strcmp(env->stream, stream) != 0)
		e = BUS_DECODE_STREAM;
	else if (env->seq == 0)
		e = BUS_DECODE_SEQ;
	else if (!bus_payload_known(env->payload_case))
		return BUS_DECODE_UNKNOWN;
	if (e != BUS_DECODE_OK) {
		bus_envelope_free(env);
		*out = NULL;
	}
	return e;
}

enum bus_decode_err
bus_decode_pub(const struct bus_frame *frames, int nframes, char *topic,
    Anquan__Envelope **out)
{
	enum bus_decode_err e;

	*out = NULL;
	topic[0] = '\0';
	if (nframes != 2)
		return BUS_DECODE_FRAMES;
	if (!bus_topic_valid(frames[0].data, frames[0].len))
		return BUS_DECODE_TOPIC;
	memcpy(topic, frames[0].data, frames[0].len);
	topic[frames[0].len] = '\0';
	e = decode_envelope(frames[1].data, frames[1].len, out);
	if (e != BUS_DECODE_OK)
		return e;
	return check_sequenced(topic, out);
}

enum bus_decode_err
bus_decode_stored(
    const char *stream, const void *data, size_t len, Anquan__Envelope **out)
{
	enum bus_decode_err e;

	e = decode_envelope(data, len, out);
	if (e != BUS_DECODE_OK)
		return e;
	return check_sequenced(stream, out);
}

enum bus_decode_err
bus_decode_push(
    const struct bus_frame *frames, int nframes, Anquan__Envelope **out)
{
	enum bus_decode_err e = BUS_DECODE_OK;

	*out = NULL;
	if (nframes != 1)
		return BUS_DECODE_FRAMES;
	e = decode_envelope(frames[0].data, frames[0].len, out);
	if (e != BUS_DECODE_OK)
		return e;
	if ((*out)->stream[0] != '\0')
		e = BUS_DECODE_STREAM;
	else if ((*out)->seq != 0)
		e = BUS_DECODE_SEQ;
	else if (!bus_payload_known((*out)->payload_case))
		return BUS_DECODE_UNKNOWN;
	if (e != BUS_DECODE_OK) {
		bus_envelope_free(*out);
		*out = NULL;
	}
	return e;
}

/* --- dispatch and sequencing ------------------------------------------- */

enum bus_verdict
bus_dispatch(const struct bus_handler *table, PGconn *conn,
    const struct bus_msg *msg, void *arg, int *unhandled)
{
	*unhandled = 0;
	for (const struct bus_handler *h = table; h != NULL && h->fn != NULL;
	     h++) {
		if (h->payload_case == (int)msg->env->payload_case) {
			enum bus_verdict v = h->fn(conn, msg, arg);

			assert(v == BUS_OK || v == BUS_SKIP || v == BUS_RETRY);
			return v;
		}
	}
	*unhandled = 1;
	return BUS_SKIP;
}

enum bus_seq_verdict
bus_seq_decide(uint64_t cursor, uint64_t seq)
{
	if (seq <= cursor)
		return BUS_SEQ_DUP;
	if (seq == cursor + 1)
		return BUS_SEQ_NEXT;
	return BUS_SEQ_GAP;
}

int
bus_topic_matches(const char *const *prefixes, const char *topic)
{
	if (prefixes == NULL)
		return 0;
	for (; *prefixes != NULL; prefixes++)
		if (strncmp(topic, *prefixes, strlen(*prefixes)) == 0)
			return 1;
	return 0;
}

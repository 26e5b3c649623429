/*
 * deliver - webhook delivery: each receiver's queue and connections, the
 * attempts and their outcomes (DESIGN.md 4.2).
 *
 * alarmd's core commits a `deliveries` row and then calls deliver_submit();
 * from there the engine owns the delivery until its final outcome is in
 * the store.  Every receiver has its own ready queue and a pool of up to
 * max_in_flight keep-alive connections (libevent's evhttp client on the
 * daemon's loop), so a receiver that is slow or down only fills its own
 * queue.  A 2xx answer delivers (its body, cut at 1 KiB, is the receipt);
 * anything else, a timeout or a broken connection is a failed attempt,
 * tried again after deliver_backoff_ms(); after attempts_before_fallback
 * failures the delivery is failed and, when a fallback receiver is set and
 * this was not already a fallback delivery, a new delivery to it is made
 * in the statement that records the failure (deliver_store.c).  Outcomes
 * are written by deliver_store.c in batches; this file only appends them
 * to d->recs.  A receiver keeps at most DELIVER_ITEMS_MAX deliveries (and
 * its share of DELIVER_BYTES_MAX) in memory; the others wait in the store
 * and are read back in id order as its queue drains, so a flood of alarms
 * costs memory only up to that bound.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h> /* before libevent's headers, which undefine it */

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/http_struct.h> /* the answer's HTTP version */
#include <event2/keyvalq_struct.h>

#include "deliver_internal.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"

static const double SECONDS_BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800};

/* --- options -------------------------------------------------------------- */

static int
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 31)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		        s[i] == '-'))
			return 0;
	return 1;
}

/*
 * Split an http:// URL into host, port and request target; 0, or -1 with
 * the reason.  Parsing only, nothing is resolved.
 */
static int
url_split(const char *url, char *host, size_t hsize, int *port, char **target,
    char *why, size_t wlen)
{
	struct evhttp_uri *u;
	const char *h, *path, *query;
	size_t need;
	int rc = -1;

	if (strncmp(url, "http://", 7) != 0) {
		snprintf(why, wlen, "%s: only http:// URLs are supported", url);
		return -1;
	}
	u = evhttp_uri_parse_with_flags(url, 0);
	if (u == NULL) {
		snprintf(why, wlen, "%s: not a valid URL", url);
		return -1;
	}
	h = evhttp_uri_get_host(u);
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	if (h == NULL || *h == '\0')
		snprintf(why, wlen, "%s: the URL names no host", url);
	else if (strlen(h) >= hsize)
		snprintf(why, wlen, "%s: the host name is too long", url);
	else if (evhttp_uri_get_userinfo(u) != NULL)
		snprintf(
		    why, wlen, "%s: user names in URLs are not supported", url);
	else if (evhttp_uri_get_port(u) == 0)
		snprintf(why, wlen, "%s: port 0 is not a port", url);
	else
		rc = 0;
	if (rc == 0) {
		/* An IPv6 literal comes back without its brackets. */
		snprintf(host, hsize, "%s", h);
		*port =
		    evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
		if (target != NULL) {
			if (path == NULL || *path == '\0')
				path = "/";
			need =
			    strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
			if ((*target = malloc(need)) == NULL) {
				snprintf(why, wlen, "out of memory");
				rc = -1;
			} else
				snprintf(*target, need, "%s%s%s", path,
				    query ? "?" : "", query ? query : "");
		}
	}
	evhttp_uri_free(u);
	return rc;
}

/* The bounds of s[0..n) without blanks around it. */
static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

int
deliver_receivers_parse(
    const char *spec, struct deliver_opts *opts, char *why, size_t wlen)
{
	struct deliver_receiver out[DELIVER_RECEIVERS_MAX];
	const char *p = spec != NULL ? spec : "";
	size_t n = 0, all = strlen(p), entry = 0;
	char host[256];
	int port;

	trim(&p, &all);
	while (all > 0) {
		const char *comma = memchr(p, ',', all), *e = p, *eq, *url;
		size_t elen = comma ? (size_t)(comma - p) : all, nlen, ulen;

		entry++;
		p += elen + (comma ? 1 : 0);
		all -= elen + (comma ? 1 : 0);
		trim(&e, &elen);
		if (elen == 0 || (comma != NULL && all == 0)) {
			snprintf(why, wlen,
			    "receiver %zu is empty (receivers are name=url, "
			    "separated by commas)",
			    elen == 0 ? entry : entry + 1);
			return -1;
		}
		if (n == DELIVER_RECEIVERS_MAX) {
			snprintf(why, wlen, "more than %d receivers",
			    DELIVER_RECEIVERS_MAX);
			return -1;
		}
		if ((eq = memchr(e, '=', elen)) == NULL) {
			snprintf(why, wlen,
			    "receiver %zu \"%.*s\": expected name=url", entry,
			    (int)(elen > 64 ? 64 : elen), e);
			return -1;
		}
		nlen = (size_t)(eq - e);
		url = eq + 1;
		ulen = elen - nlen - 1;
		trim(&e, &nlen);
		trim(&url, &ulen);
		if (!name_ok(e, nlen)) {
			snprintf(why, wlen,
			    "receiver %zu: name \"%.*s\" must be 1 to 31 of "
			    "a-z, 0-9, _ and -",
			    entry, (int)(nlen > 64 ? 64 : nlen), e);
			return -1;
		}
		memcpy(out[n].name, e, nlen);
		out[n].name[nlen] = '\0';
		for (size_t i = 0; i < n; i++)
			if (strcmp(out[i].name, out[n].name) == 0) {
				snprintf(why, wlen,
				    "receiver \"%s\" is named twice",
				    out[n].name);
				return -1;
			}
		if (ulen == 0 || ulen >= sizeof(out[n].url)) {
			snprintf(why, wlen,
			    "receiver \"%s\": the URL must have 1 to %zu "
			    "characters",
			    out[n].name, sizeof(out[n].url) - 1);
			return -1;
		}
		memcpy(out[n].url, url, ulen);
		out[n].url[ulen] = '\0';
		if (url_split(out[n].url, host, sizeof(host), &port, NULL, why,
		        wlen) < 0)
			return -1;
		n++;
	}
	if (n > 0)
		memcpy(opts->receivers, out, n * sizeof(out[0]));
	opts->nreceivers = n;
	return 0;
}

int64_t
deliver_backoff_ms(int64_t min_ms, int64_t max_ms, int failures)
{
	int64_t v = min_ms;

	if (failures < 1 || min_ms <= 0)
		return 0;
	for (int i = 1; i < failures && v < max_ms; i++)
		v = v > INT64_MAX / 2 ? INT64_MAX : v * 2;
	return v < max_ms ? v : max_ms;
}

/* --- the index of items by id --------------------------------------------- */

static size_t
bucket_of(const struct deliver *d, int64_t id)
{
	uint64_t h = (uint64_t)id * UINT64_C(0x9E3779B97F4A7C15);

	return (size_t)(h >> 32) & (d->nbuckets - 1);
}

struct dl_item *
deliver_find(struct deliver *d, int64_t id)
{
	struct dl_item *it = d->buckets[bucket_of(d, id)];

	while (it != NULL && it->id != id)
		it = it->hnext;
	return it;
}

static void
index_grow(struct deliver *d)
{
	size_t old = d->nbuckets;
	struct dl_item **ob = d->buckets, **nb;

	if ((nb = calloc(old * 2, sizeof(struct dl_item *))) == NULL)
		return; /* longer chains, still correct */
	d->buckets = nb;
	d->nbuckets = old * 2;
	for (size_t i = 0; i < old; i++) {
		struct dl_item *it = ob[i], *next;

		for (; it != NULL; it = next) {
			size_t b = bucket_of(d, it->id);

			next = it->hnext;
			it->hnext = nb[b];
			nb[b] = it;
		}
	}
	free(ob);
}

static void
index_add(struct deliver *d, struct dl_item *it)
{
	size_t b;

	if (d->nindexed >= d->nbuckets)
		index_grow(d);
	b = bucket_of(d, it->id);
	it->hnext = d->buckets[b];
	d->buckets[b] = it;
	d->nindexed++;
}

static void
index_del(struct deliver *d, struct dl_item *it)
{
	struct dl_item **pp = &d->buckets[bucket_of(d, it->id)];

	while (*pp != NULL && *pp != it)
		pp = &(*pp)->hnext;
	if (*pp == it) {
		*pp = it->hnext;
		d->nindexed--;
	}
}

/* --- items ---------------------------------------------------------------- */

static void item_due(evutil_socket_t fd, short what, void *arg);

struct dl_recv *
deliver_recv_by_name(struct deliver *d, const char *name)
{
	for (size_t i = 0; i < d->nall; i++)
		if (strcmp(d->recv[i].name, name) == 0)
			return &d->recv[i];
	return NULL;
}

void
deliver_backlog_changed(struct deliver *d)
{
	metrics_set(d->m_backlog, (double)deliver_backlog(d));
}

/* A new item owning payload (the caller's malloc), indexed, not queued. */
static struct dl_item *
item_new(
    struct deliver *d, struct dl_recv *r, int64_t id, char *payload, size_t len)
{
	struct dl_item *it = calloc(1, sizeof(*it));

	if (it == NULL)
		return NULL;
	it->id = id;
	it->recv = r;
	it->payload = payload;
	it->len = len;
	it->is_fallback = r == d->fallback;
	it->since_us = timeutil_mono_us();
	evtimer_assign(&it->timer, d->base, item_due, it);
	index_add(d, it);
	r->nitems++;
	r->bytes += len;
	return it;
}

/* The item is no longer on its way (delivered or given up). */
static void
item_finished(struct dl_item *it)
{
	struct dl_recv *r = it->recv;

	r->nitems--;
	r->bytes -= it->len;
	it->state = DL_DONE;
}

void
deliver_release(struct deliver *d, struct dl_item *it)
{
	index_del(d, it);
	if (it->wants_fallback)
		d->fb_waiting--;
	if (it->state == DL_QUEUED)
		TAILQ_REMOVE(&it->recv->ready, it, q);
	if (it->state != DL_DONE)
		item_finished(it);
	event_del(&it->timer);
	free(it->payload);
	free(it);
}

static void
enqueue(struct dl_item *it)
{
	it->state = DL_QUEUED;
	TAILQ_INSERT_TAIL(&it->recv->ready, it, q);
}

/* Arm the item's timer to fire in wait_ms. */
static int
arm(struct dl_item *it, int64_t wait_ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(wait_ms / 1000);
	tv.tv_usec = (suseconds_t)(wait_ms % 1000) * 1000;
	return evtimer_add(&it->timer, &tv);
}

/* Queue it at due_ms (wall clock, the row's next_at), or at once when that
 * is not in the future. */
static void
schedule(struct dl_item *it, int64_t due_ms)
{
	int64_t wait = due_ms - timeutil_now_ms();

	it->due_ms = due_ms;
	if (wait <= 0) {
		enqueue(it);
		return;
	}
	it->state = DL_WAITING;
	if (arm(it, wait) != 0)
		enqueue(it);
}

static void
item_due(evutil_socket_t fd, short what, void *arg)
{
	struct dl_item *it = arg;
	int64_t early = it->due_ms - timeutil_now_ms();

	(void)fd;
	(void)what;
	/* The loop's coarse clock may wake us a few ms before next_at; a
	 * retry is never sent before the time its row gives (a larger gap
	 * is the wall clock stepping, not worth waiting for). */
	if (early > 0 && early <= 1000 && arm(it, early) == 0)
		return;
	enqueue(it);
	deliver_pump(it->recv);
}

/* Leave the delivery in the store; it is read back when r has room. */
static void
spill(struct dl_recv *r, int64_t id)
{
	if (r->refilling) {
		if (id < r->spill_next)
			r->spill_next = id;
	} else if (id < r->spill_from)
		r->spill_from = id;
	r->nspilled++;
}

static int
has_room(const struct deliver *d, const struct dl_recv *r, size_t len)
{
	return r->spill_from == INT64_MAX && !r->refilling &&
	       r->nitems < d->items_max && r->bytes + len <= d->bytes_max;
}

int
deliver_adopt(struct deliver *d, struct dl_recv *r, int64_t id, int is_fallback,
    int attempts, int64_t next_ms, const char *payload, size_t len)
{
	char *copy = malloc(len + 1);
	struct dl_item *it;

	if (copy != NULL) {
		memcpy(copy, payload, len);
		copy[len] = '\0';
		len = deliver_json_compact(copy, len);
	}
	if (copy == NULL || (it = item_new(d, r, id, copy, len)) == NULL) {
		free(copy);
		log_error("delivery.out_of_memory", "delivery=%" PRId64, id);
		return -1;
	}
	it->is_fallback = is_fallback || r == d->fallback;
	it->attempts = attempts;
	schedule(it, next_ms);
	return 0;
}

void
deliver_fallback_made(struct deliver *d, struct dl_item *item, int64_t fb_id)
{
	struct dl_recv *fr = d->fallback;
	struct dl_item *it;

	metrics_inc(d->m_fallback);
	log_info("delivery.fallback",
	    "delivery=%" PRId64 " receiver=%s fallback=%" PRId64
	    " fallback_receiver=%s",
	    item->id, item->recv->name, fb_id, fr->name);
	if (deliver_find(d, fb_id) != NULL)
		return;
	if (item->payload == NULL || !has_room(d, fr, item->len) ||
	    (it = item_new(d, fr, fb_id, item->payload, item->len)) == NULL) {
		spill(fr, fb_id);
		deliver_backlog_changed(d);
		return;
	}
	/* The payload moves to the fallback delivery. */
	item->payload = NULL;
	it->is_fallback = 1;
	enqueue(it);
	deliver_backlog_changed(d);
}

/* --- attempts ------------------------------------------------------------- */

/* A cleaned copy of at most DELIVER_RECEIPT_MAX bytes of buf, or NULL. */
static char *
body_text(struct evbuffer *buf)
{
	size_t n = buf != NULL ? evbuffer_get_length(buf) : 0;
	unsigned char *p;
	char text[DELIVER_RECEIPT_MAX + 1];

	if (n == 0)
		return NULL;
	if (n > DELIVER_RECEIPT_MAX + 4)
		n = DELIVER_RECEIPT_MAX + 4; /* enough to end a character */
	if ((p = evbuffer_pullup(buf, (ev_ssize_t)n)) == NULL)
		return NULL;
	deliver_text_clean(text, sizeof(text), (const char *)p, n);
	return strdup(text);
}

static void
record(struct deliver *d, struct dl_rec *rec)
{
	if (deliver_recs_push(&d->recs, rec) == 0)
		return;
	log_error("delivery.records_dropped",
	    "records=1 reason=out_of_memory delivery=%" PRId64, rec->id);
	metrics_inc(d->m_dropped);
	deliver_rec_clear(rec);
	if (rec->final != NULL)
		deliver_release(d, rec->final);
}

static void
delivered(struct dl_item *it, int status, double latency_ms, char *body)
{
	struct dl_recv *r = it->recv;
	struct deliver *d = r->d;
	struct dl_rec rec = {
	    .id = it->id,
	    .at_ms = it->sent_wall_ms,
	    .status = status,
	    .latency_ms = latency_ms,
	    .response = body,
	    .state = DELIVER_ST_DELIVERED,
	    .attempts = it->attempts,
	    .final = it,
	};

	if (r->failing)
		log_info("delivery.receiver_answers", "receiver=%s", r->name);
	r->failing = 0;
	item_finished(it);
	free(it->payload);
	it->payload = NULL;
	metrics_inc(d->m_delivered);
	metrics_observe(
	    d->m_seconds, (double)(timeutil_mono_us() - it->since_us) / 1e6);
	if (it->attempts > 0)
		log_info("delivery.delivered",
		    "delivery=%" PRId64 " receiver=%s attempts=%d", it->id,
		    r->name, it->attempts + 1);
	record(d, &rec);
	deliver_backlog_changed(d);
}

static void
failed(struct dl_item *it, int status, double latency_ms, const char *error,
    char *body)
{
	struct dl_recv *r = it->recv;
	struct deliver *d = r->d;
	struct dl_rec rec = {
	    .id = it->id,
	    .at_ms = it->sent_wall_ms,
	    .status = status,
	    .latency_ms = latency_ms,
	    .error = strdup(error),
	    .response = body,
	};
	char q[200];

	if (!r->failing)
		log_warn("delivery.receiver_failing", "receiver=%s err=%s",
		    r->name, log_quote(q, sizeof(q), error));
	r->failing = 1;
	it->attempts++;
	rec.attempts = it->attempts;
	if (it->attempts >= d->opts.attempts_before_fallback) {
		rec.state = DELIVER_ST_FAILED;
		rec.final = it;
		rec.fallback = d->fallback != NULL && !it->is_fallback;
		item_finished(it);
		if (rec.fallback) {
			it->wants_fallback = 1;
			d->fb_waiting++;
		} else {
			free(it->payload);
			it->payload = NULL;
		}
		metrics_inc(d->m_failed);
		/* Worth a warning when nobody else will carry the notice. */
		log_msg(rec.fallback ? LOGL_INFO : LOGL_WARN, "delivery.failed",
		    "delivery=%" PRId64
		    " receiver=%s attempts=%d err=%s fallback=%s",
		    it->id, r->name, it->attempts,
		    log_quote(q, sizeof(q), error),
		    rec.fallback ? d->fallback->name : "none");
	} else {
		int64_t wait = deliver_backoff_ms(d->opts.backoff_min_ms,
		    d->opts.backoff_max_ms, it->attempts);

		rec.state = DELIVER_ST_PENDING;
		rec.next_ms = timeutil_now_ms() + wait;
		schedule(it, rec.next_ms);
		metrics_inc(d->m_retried);
		log_debug("delivery.retry",
		    "delivery=%" PRId64
		    " receiver=%s attempts=%d wait_ms=%" PRId64 " err=%s",
		    it->id, r->name, it->attempts, wait,
		    log_quote(q, sizeof(q), error));
	}
	record(d, &rec);
	deliver_backlog_changed(d);
}

static const char *
evhttp_error_name(int e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		return "timeout";
	case EVREQ_HTTP_EOF:
		return "connection closed before the answer";
	case EVREQ_HTTP_INVALID_HEADER:
		return "invalid answer";
	case EVREQ_HTTP_BUFFER_ERROR:
		return "connection error";
	case EVREQ_HTTP_REQUEST_CANCEL:
		return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "answer too long";
	default:
		return "cannot connect";
	}
}

static void
on_error(enum evhttp_request_error e, void *arg)
{
	struct dl_slot *s = arg;

	s->error = (int)e;
}

/*
 * An HTTP/1.0 answer without "Connection: keep-alive" ends the connection,
 * which libevent 2.1 only knows from a "Connection: close" header; sending
 * the next request on it would fail.
 */
static int
answer_closes(struct evhttp_request *req)
{
	const char *c;

	if (req->major != 1 || req->minor != 0)
		return 0;
	c = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Connection");
	return c == NULL || evutil_ascii_strcasecmp(c, "keep-alive") != 0;
}

/* Free the connections the receiver closes (not from inside their own
 * callbacks, hence this event) and send on new ones. */
static void
renew_stale(evutil_socket_t fd, short what, void *arg)
{
	struct dl_recv *r = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < r->nslots; i++) {
		struct dl_slot *s = &r->slots[i];

		if (!s->stale)
			continue;
		if (s->conn != NULL)
			evhttp_connection_free(s->conn);
		s->conn = NULL;
		s->stale = 0;
	}
	deliver_pump(r);
}

static void
on_answer(struct evhttp_request *req, void *arg)
{
	struct dl_slot *s = arg;
	struct dl_recv *r = s->recv;
	struct dl_item *it = s->item;
	double latency_ms;
	int code;
	char err[64];

	if (it == NULL || r->d->closing)
		return;
	s->item = NULL;
	r->in_flight--;
	latency_ms = (double)(timeutil_mono_us() - it->sent_us) / 1000.0;
	code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (code > 0 && answer_closes(req)) {
		struct timeval now = {0, 0};

		s->stale = 1;
		evtimer_add(r->renew, &now);
	}
	if (code >= 200 && code <= 299) {
		delivered(it, code, latency_ms,
		    body_text(evhttp_request_get_input_buffer(req)));
	} else if (code > 0) {
		snprintf(err, sizeof(err), "HTTP %d", code);
		failed(it, code, latency_ms, err,
		    body_text(evhttp_request_get_input_buffer(req)));
	} else {
		failed(it, 0, latency_ms, evhttp_error_name(s->error), NULL);
	}
	deliver_pump(r);
}

static struct evhttp_connection *
slot_conn(struct dl_slot *s)
{
	struct dl_recv *r = s->recv;
	struct deliver *d = r->d;
	struct timeval tv;

	if (s->conn != NULL)
		return s->conn;
	s->conn = evhttp_connection_base_new(
	    d->base, d->dns, r->host, (unsigned short)r->port);
	if (s->conn == NULL)
		return NULL;
	tv.tv_sec = (time_t)(d->opts.timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(d->opts.timeout_ms % 1000) * 1000;
	evhttp_connection_set_timeout_tv(s->conn, &tv);
	evhttp_connection_set_max_body_size(s->conn, DELIVER_RESPONSE_MAX);
	evhttp_connection_set_max_headers_size(s->conn, 16384);
	return s->conn;
}

/* Put it on the wire on s; -1 when it could not even be tried (the item
 * is still the caller's), else 0 (on_answer has it, or had it already). */
static int
send_on(struct dl_slot *s, struct dl_item *it)
{
	struct dl_recv *r = s->recv;
	struct evhttp_connection *conn = slot_conn(s);
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char idbuf[24];

	if (conn == NULL || (req = evhttp_request_new(on_answer, s)) == NULL)
		return -1;
	evhttp_request_set_error_cb(req, on_error);
	h = evhttp_request_get_output_headers(req);
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, it->id);
	if (evhttp_add_header(h, "Host", r->hosthdr) != 0 ||
	    evhttp_add_header(h, "Content-Type", "application/json") != 0 ||
	    evhttp_add_header(h, "User-Agent", "anquan-alarmd") != 0 ||
	    evhttp_add_header(h, "X-Anquan-Delivery", idbuf) != 0 ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), it->payload,
	        it->len) != 0) {
		evhttp_request_free(req);
		return -1;
	}
	s->item = it;
	s->error = -1;
	it->state = DL_SENDING;
	it->sent_us = timeutil_mono_us();
	it->sent_wall_ms = timeutil_now_ms();
	r->in_flight++;
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, r->target) != 0 &&
	    s->item == it) {
		/* libevent freed the request without answering it. */
		s->item = NULL;
		r->in_flight--;
		return -1;
	}
	return 0;
}

void
deliver_pump(struct dl_recv *r)
{
	struct deliver *d = r->d;
	struct dl_item *it;

	/* Outcomes the store has not taken yet: no more attempts until it
	 * does, rather than make records that might have to be dropped. */
	if (d->recs.n + d->writing.n >= DELIVER_RECORDS_PAUSE) {
		if (!d->paused)
			log_warn("delivery.paused", "records=%zu reason=%s",
			    d->recs.n + d->writing.n,
			    "outcomes not yet written to the store");
		d->paused = 1;
		return;
	}
	if (d->paused)
		log_info("delivery.resumed", "records=%zu",
		    d->recs.n + d->writing.n);
	d->paused = 0;
	while (
	    r->in_flight < r->nslots && (it = TAILQ_FIRST(&r->ready)) != NULL) {
		struct dl_slot *s = NULL;

		for (int i = 0; i < r->nslots && s == NULL; i++)
			if (r->slots[i].item == NULL && !r->slots[i].stale)
				s = &r->slots[i];
		if (s == NULL)
			break;
		TAILQ_REMOVE(&r->ready, it, q);
		if (send_on(s, it) < 0) {
			it->sent_us = timeutil_mono_us();
			it->sent_wall_ms = timeutil_now_ms();
			failed(it, 0, 0, "cannot make the request", NULL);
		}
	}
}

/* --- the engine ----------------------------------------------------------- */

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	deliver_store_tick(arg);
}

static int
recv_init(
    struct deliver *d, struct dl_recv *r, const struct deliver_receiver *c)
{
	char why[300], q[320];

	r->d = d;
	snprintf(r->name, sizeof(r->name), "%s", c->name);
	snprintf(r->url, sizeof(r->url), "%s", c->url);
	TAILQ_INIT(&r->ready);
	r->spill_from = r->spill_next = INT64_MAX;
	if (url_split(r->url, r->host, sizeof(r->host), &r->port, &r->target,
	        why, sizeof(why)) < 0) {
		log_error("delivery.bad_receiver", "receiver=%s err=%s",
		    r->name, log_quote(q, sizeof(q), why));
		return -1;
	}
	if (strchr(r->host, ':') != NULL)
		snprintf(r->hosthdr, sizeof(r->hosthdr), "[%s]:%d", r->host,
		    r->port);
	else
		snprintf(
		    r->hosthdr, sizeof(r->hosthdr), "%s:%d", r->host, r->port);
	r->nslots = d->opts.max_in_flight;
	if ((r->slots = calloc((size_t)r->nslots, sizeof(*r->slots))) == NULL ||
	    (r->renew = evtimer_new(d->base, renew_stale, r)) == NULL)
		return -1;
	for (int i = 0; i < r->nslots; i++)
		r->slots[i].recv = r;
	return 0;
}

static int
host_is_numeric(const char *h)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, h, buf) == 1 ||
	       inet_pton(AF_INET6, h, buf) == 1;
}

static void
metrics_init(struct deliver *d)
{
	struct metrics *m = d->opts.metrics;
	static const char help[] =
	    "Webhook deliveries by outcome: delivered, failed (given up), "
	    "retried (an attempt failed, another follows), fallback (a "
	    "delivery to the fallback receiver made).";

	if (m == NULL)
		return;
	d->m_delivered = metrics_counter(m, "alarmd_deliveries_total", help,
	    (const char *[]){"outcome", "delivered", NULL});
	d->m_failed = metrics_counter(m, "alarmd_deliveries_total", help,
	    (const char *[]){"outcome", "failed", NULL});
	d->m_retried = metrics_counter(m, "alarmd_deliveries_total", help,
	    (const char *[]){"outcome", "retried", NULL});
	d->m_fallback = metrics_counter(m, "alarmd_deliveries_total", help,
	    (const char *[]){"outcome", "fallback", NULL});
	d->m_seconds = metrics_histogram(m, "alarmd_delivery_seconds",
	    "Time from queueing a delivery to the receiver's 2xx answer, "
	    "retries included.",
	    NULL, SECONDS_BUCKETS,
	    sizeof(SECONDS_BUCKETS) / sizeof(SECONDS_BUCKETS[0]));
	d->m_backlog = metrics_gauge(m, "alarmd_delivery_backlog",
	    "Deliveries queued, waiting to retry or in flight.", NULL);
	d->m_dropped = metrics_counter(m,
	    "alarmd_delivery_records_dropped_total",
	    "Attempt records given up unwritten (store away too long).", NULL);
	d->m_store_errors =
	    metrics_counter(m, "alarmd_delivery_store_errors_total",
	        "Failed writes and reads of the delivery engine's store "
	        "connection.",
	        NULL);
}

struct deliver *
deliver_new(struct event_base *base, const struct deliver_opts *opts)
{
	struct store_opts so = {
	    .connect_timeout_s = 2,
	    .statement_timeout_ms = 30000,
	    .application_name = "alarmd-deliver",
	};
	struct deliver *d = calloc(1, sizeof(*d));
	int need_dns = 0;
	struct timeval tick = {0, (suseconds_t)DELIVER_FLUSH_MS * 1000};

	if (d == NULL) {
		log_error("delivery.out_of_memory", "what=engine");
		return NULL;
	}
	d->base = base;
	d->opts = *opts;
	if (d->opts.attempts_before_fallback < 1)
		d->opts.attempts_before_fallback = 5;
	if (d->opts.backoff_min_ms < 1)
		d->opts.backoff_min_ms = 500;
	if (d->opts.backoff_max_ms < d->opts.backoff_min_ms)
		d->opts.backoff_max_ms = d->opts.backoff_min_ms > 300000
		                             ? d->opts.backoff_min_ms
		                             : 300000;
	if (d->opts.timeout_ms < 1)
		d->opts.timeout_ms = 5000;
	if (d->opts.max_in_flight < 1)
		d->opts.max_in_flight = 64;
	if (opts->nreceivers > DELIVER_RECEIVERS_MAX) {
		log_error("delivery.bad_options", "receivers=%zu max=%d",
		    opts->nreceivers, DELIVER_RECEIVERS_MAX);
		free(d);
		return NULL;
	}
	d->nrecv = opts->nreceivers;
	d->nall = d->nrecv + (opts->fallback.name[0] != '\0');
	for (size_t i = 0; i < d->nall; i++) {
		const struct deliver_receiver *c =
		    i < d->nrecv ? &opts->receivers[i] : &opts->fallback;

		for (size_t j = 0; j < i; j++)
			if (strcmp(d->recv[j].name, c->name) == 0) {
				log_error("delivery.bad_options",
				    "receiver=%s err=\"named twice (the "
				    "fallback must be another receiver)\"",
				    c->name);
				d->nall = i;
				deliver_free(d);
				return NULL;
			}
		if (recv_init(d, &d->recv[i], c) < 0) {
			d->nall = i + 1;
			deliver_free(d);
			return NULL;
		}
		need_dns |= !host_is_numeric(d->recv[i].host);
	}
	if (d->nall > d->nrecv)
		d->fallback = &d->recv[d->nrecv];
	d->items_max = DELIVER_ITEMS_MAX;
	d->bytes_max = DELIVER_BYTES_MAX / (d->nall ? d->nall : 1);
	d->nbuckets = 1024;
	metrics_init(d);
	d->buckets = calloc(d->nbuckets, sizeof(struct dl_item *));
	d->st = store_open(opts->conninfo, &so);
	d->tick = event_new(base, -1, EV_PERSIST, on_tick, d);
	if (need_dns)
		d->dns =
		    evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
		                             EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (d->buckets == NULL || d->st == NULL || d->tick == NULL ||
	    event_add(d->tick, &tick) != 0 || (need_dns && d->dns == NULL)) {
		log_error("delivery.start_failed",
		    "err=\"no memory, bad conninfo or no resolver\"");
		deliver_free(d);
		return NULL;
	}
	for (size_t i = 0; i < d->nall; i++)
		log_info("delivery.receiver", "receiver=%s url=%s role=%s",
		    d->recv[i].name, d->recv[i].url,
		    &d->recv[i] == d->fallback ? "fallback" : "primary");
	return d;
}

void
deliver_free(struct deliver *d)
{
	if (d == NULL)
		return;
	d->closing = 1;
	if (d->tick != NULL)
		event_free(d->tick);
	/* Requests in flight are dropped unanswered: their rows stay
	 * pending and the next start sends them again. */
	for (size_t i = 0; i < d->nall; i++)
		for (int k = 0; k < d->recv[i].nslots; k++)
			if (d->recv[i].slots[k].conn != NULL)
				evhttp_connection_free(
				    d->recv[i].slots[k].conn);
	if (d->st != NULL && d->buckets != NULL)
		deliver_store_finish(d);
	for (size_t b = 0; d->buckets != NULL && b < d->nbuckets; b++) {
		struct dl_item *it = d->buckets[b], *next;

		for (; it != NULL; it = next) {
			next = it->hnext;
			event_del(&it->timer);
			free(it->payload);
			free(it);
		}
	}
	for (size_t i = 0; i < d->nall; i++) {
		if (d->recv[i].renew != NULL)
			event_free(d->recv[i].renew);
		free(d->recv[i].slots);
		free(d->recv[i].target);
	}
	for (size_t i = 0; i < d->recs.n; i++)
		deliver_rec_clear(&d->recs.v[i]);
	for (size_t i = 0; i < d->writing.n; i++)
		deliver_rec_clear(&d->writing.v[i]);
	free(d->recs.v);
	free(d->writing.v);
	if (d->dns != NULL)
		evdns_base_free(d->dns, 0);
	store_close(d->st);
	free(d->buckets);
	free(d);
}

int
deliver_load_pending(struct deliver *d)
{
	if (deliver_store_count_pending(d) < 0)
		return -1;
	for (size_t i = 0; i < d->nall; i++) {
		struct dl_recv *r = &d->recv[i];
		int n;

		if (r->nitems >= d->items_max)
			continue;
		r->spill_from = 0;
		if ((n = deliver_store_load(
		         d, r, (int)(d->items_max - r->nitems))) < 0)
			return -1;
		if (n > 0)
			log_info("delivery.taken_over",
			    "receiver=%s deliveries=%d more_in_store=%s",
			    r->name, n,
			    r->spill_from != INT64_MAX ? "yes" : "no");
		deliver_pump(r);
	}
	return 0;
}

void
deliver_submit(struct deliver *d, int64_t delivery_id, const char *receiver,
    const char *payload, size_t len)
{
	struct dl_recv *r =
	    receiver != NULL ? deliver_recv_by_name(d, receiver) : NULL;
	struct dl_item *it;
	char *copy;
	char q[80];

	if (r == NULL) {
		log_warn("delivery.unknown_receiver",
		    "delivery=%" PRId64 " receiver=%s reason=not_configured",
		    delivery_id,
		    log_quote(q, sizeof(q), receiver ? receiver : "(none)"));
		return;
	}
	if (payload == NULL)
		len = 0;
	if (deliver_find(d, delivery_id) != NULL)
		return; /* already on its way (read back from the store) */
	if (!has_room(d, r, len) || (copy = malloc(len + 1)) == NULL) {
		spill(r, delivery_id);
		deliver_backlog_changed(d);
		return;
	}
	if (len > 0)
		memcpy(copy, payload, len);
	copy[len] = '\0';
	if ((it = item_new(d, r, delivery_id, copy, len)) == NULL) {
		free(copy);
		spill(r, delivery_id);
		deliver_backlog_changed(d);
		return;
	}
	enqueue(it);
	deliver_backlog_changed(d);
	deliver_pump(r);
}

size_t
deliver_receiver_count(const struct deliver *d)
{
	return d->nrecv;
}

const char *
deliver_receiver_name(const struct deliver *d, size_t i)
{
	return i < d->nrecv ? d->recv[i].name : NULL;
}

size_t
deliver_backlog(const struct deliver *d)
{
	size_t n = d->fb_waiting;

	for (size_t i = 0; i < d->nall; i++)
		n += d->recv[i].nitems + (size_t)d->recv[i].nspilled;
	return n;
}

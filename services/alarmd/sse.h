/*
 * sse - Server-Sent Events to the duty consoles (GET /v1/stream).
 *
 * The hub keeps the open streams of one daemon.  The route handler for
 * GET /v1/stream (console.c, after it checked the officer's token) hands
 * the request to sse_attach(), which takes it over from the HTTP server
 * (http_req_detach) and answers 200 text/event-stream without ever ending
 * the answer.  core.c calls sse_broadcast() with each incident that
 * changed; every stream gets the same frame, numbered with the hub's id
 * counter.  A comment line goes to every stream every 15 s so proxies and
 * browsers keep the connection and a dead peer is found.
 *
 * Nothing here waits on a client.  Frames are appended to each
 * connection's output buffer; a client that closed is forgotten when
 * libevent reports it, and one that stops reading (its pending output
 * over the backlog bound) is dropped at once.  The browser's EventSource
 * reconnects by itself and the console re-reads the incident list then,
 * so a dropped stream costs a reload of the list, never an incident.
 *
 * The framing (sse_frame) is pure and unit-tested: an event name, an id
 * and a payload become "id:", "event:" and one "data:" line per line of
 * the payload, so a payload with newlines (pretty-printed JSON) arrives
 * whole.  Everything runs on the loop's thread.
 */
#ifndef ANQUAN_ALARMD_SSE_H
#define ANQUAN_ALARMD_SSE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_req;
struct metrics;
struct sse;

/* Seconds between heartbeat comments. */
#define SSE_HEARTBEAT_S 15
/* Pending output a client may have before it is dropped, by default. */
#define SSE_BACKLOG_DEFAULT (1u << 20)
/* A client that takes no bytes (or acknowledges none) this long is gone. */
#define SSE_WRITE_TIMEOUT_S 60
/* What the browser waits before reconnecting (the "retry:" field). */
#define SSE_RETRY_MS 3000
/* Longest event name sse_frame accepts. */
#define SSE_EVENT_MAX 64

/*
 * A hub for at most max_clients streams on base, with its heartbeat
 * timer.  NULL when out of memory.
 */
struct sse *sse_new(struct event_base *base, size_t max_clients);

/*
 * Drop clients whose pending output exceeds bytes (default
 * SSE_BACKLOG_DEFAULT).  An addition to the contract for tests and config.
 */
void sse_set_backlog(struct sse *s, size_t bytes);

/*
 * Register the hub's metrics: anquan_alarmd_sse_clients (gauge),
 * anquan_alarmd_sse_events_total, anquan_alarmd_sse_dropped_total{reason}.
 * An addition to the contract; optional.
 */
void sse_metrics(struct sse *s, struct metrics *m);

/*
 * Take request r over as a stream (GET /v1/stream): 200 text/event-stream,
 * Cache-Control no-cache, the connection kept open.  When the hub is full
 * r is answered 503 with Retry-After instead; a HEAD request is answered
 * with the headers only.  Either way r is finished when this returns.
 */
void sse_attach(struct sse *s, struct http_req *r);

/*
 * Send event (a name without CR or LF) with data_json to every stream as
 * one frame with the next id.  A frame that cannot be made (bad name, out
 * of memory) is logged and dropped.
 */
void sse_broadcast(struct sse *s, const char *event, const char *data_json);

/* Streams open now. */
size_t sse_clients(const struct sse *s);

/* The id the last broadcast carried (0 before the first). */
uint64_t sse_last_id(const struct sse *s);

/* Close every stream and free the hub; NULL is fine. */
void sse_free(struct sse *s);

/* --- pure framing, exposed for the unit tests --------------------------- */

/*
 * Write the frame for (id, event, data) into dst (size bytes, always
 * NUL-terminated when size > 0) and return its length, like snprintf: a
 * return >= size means dst was too small.  id 0 leaves the "id:" line
 * out; event NULL or "" leaves "event:" out (the browser calls it
 * "message").  data is split into lines at CRLF, CR and LF, each sent as
 * "data: <line>"; NULL data counts as "".  Returns (size_t)-1 when event
 * is longer than SSE_EVENT_MAX or holds CR or LF.
 */
size_t sse_frame(
    char *dst, size_t size, uint64_t id, const char *event, const char *data);

/* A comment frame (": text\n\n"); (size_t)-1 when text holds CR or LF. */
size_t sse_comment(char *dst, size_t size, const char *text);

#endif

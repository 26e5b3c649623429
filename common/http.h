/*
 * http - the HTTP side of every daemon: an evhttp server with a route
 * table, one dispatcher, JSON answers, and a guard against clients that
 * are too big or too slow.
 *
 * daemon.c creates the server with http_server_new() and registers the
 * built-in routes (/healthz, /metrics); the service registers its own table
 * with another http_server_add_routes() call.  A route is a method and a
 * path with optional {param} segments; its handler gets a struct http_req
 * and must finish it with exactly one http_reply_*() call (at once or later
 * from the same loop, e.g. after a commit) or take it over with
 * http_req_detach() (server-sent events).  Until then the server owns the
 * request; afterwards the pointer is gone.
 *
 * Dispatch lives here once.  Every refusal is JSON
 *   {"error":"<code>","message":"<human text>"}
 * unknown path 404, wrong method 405 (with Allow), unusable path 400, path
 * too long 414, auth needed 401, refused by the auth callback 403, body
 * over max_body_bytes 413, header block over max_headers_bytes 431,
 * request not read within timeout_s 408, malformed framing 400/501/505.
 *
 * How that holds with evhttp 2.1, which answers protocol errors with HTML
 * and checks body sizes before any user code runs: each connection reads
 * through a bufferevent filter (http_guard.c) that holds every request head
 * until it is complete, checks it, and hands evhttp only what it accepts.
 * A request the filter refuses is replaced by a head carrying the reason,
 * which the dispatcher turns into the JSON answer.  Declared bodies over the
 * limit are refused before they are read and then discarded as they arrive
 * (the connection stays usable), or, with "Expect: 100-continue", refused
 * before the client sends them (the connection closes).  Chunked bodies are
 * collected by the filter up to the limit and handed to evhttp with a
 * Content-Length; one over the limit is discarded to its end and answered
 * 413.  The filter sends no "100 Continue" for chunked bodies: clients that
 * ask send the body after their own wait (curl: 1 s).  The read deadline
 * runs from the first byte of a request to the last byte of its body, so a
 * client trickling bytes cannot hold a connection: one still sending its
 * head (or a chunked or refused body) gets a JSON 408; one still sending a
 * Content-Length body that evhttp is already reading is dropped without an
 * answer.  Idle keep-alive connections close after idle_timeout_s, which
 * is also how long a client may take to read an answer.
 *
 * http_server_new() sets SIGPIPE to be ignored: a client that goes away
 * mid-answer must cost an error, not the process.
 */
#ifndef ANQUAN_HTTP_H
#define ANQUAN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct evhttp_request;
struct json_out;
struct metrics;

/* Longest path the router looks at, in bytes (longer: 414). */
#define HTTP_PATH_MAX 1024
/* Segments in a path, {param}s in a route, parameters in a query. */
#define HTTP_SEGMENTS_MAX 16
#define HTTP_PARAMS_MAX 8
#define HTTP_QUERY_MAX 32

#define HTTP_MAX_BODY_DEFAULT (4u << 20)
#define HTTP_MAX_HEADERS_DEFAULT (16u << 10)
#define HTTP_TIMEOUT_DEFAULT 10
#define HTTP_IDLE_TIMEOUT_DEFAULT 60

struct http_server;
struct http_req;

typedef void (*http_handler_fn)(struct http_req *r, void *arg);

/* Route flag: the request needs a bearer token the auth callback accepts. */
#define HTTP_ROUTE_AUTH 0x1u

/*
 * One route: method ("GET", "POST", ...), path ("/v1/enterprises/{uscc}"),
 * handler, flags.  Tables are static const arrays; the server keeps a
 * pointer.  A GET route also answers HEAD (evhttp drops the body).
 */
struct http_route {
	const char *method;
	const char *path;
	http_handler_fn handler;
	unsigned flags;
};

enum http_auth_verdict {
	HTTP_AUTH_OK,        /* *principal set; go on */
	HTTP_AUTH_UNKNOWN,   /* no such token: 401 */
	HTTP_AUTH_FORBIDDEN, /* known token, not allowed here: 403 */
};

/*
 * Decide on a bearer token for request r.  On HTTP_AUTH_OK store what the
 * handler should see as the principal (it must stay valid until the
 * request is answered); otherwise a reason may go into why.
 */
typedef enum http_auth_verdict (*http_auth_fn)(const char *token,
    const struct http_req *r, void *arg, const void **principal, char *why,
    size_t why_size);

/* Server options; zero fields take the defaults above. */
struct http_opts {
	size_t max_body_bytes;
	size_t max_headers_bytes; /* request line and headers together */
	int timeout_s;            /* to read one request, head and body */
	int idle_timeout_s;       /* idle keep-alive; also the write timeout */
	http_auth_fn auth; /* required if any route has HTTP_ROUTE_AUTH */
	void *auth_arg;
	struct metrics *metrics; /* counts answers, refusals, latency */
};

/*
 * Listen on addr:port (port 0: any free port, see http_server_port()).
 * Returns NULL, with the reason logged, if the address cannot be bound.
 */
struct http_server *http_server_new(struct event_base *base, const char *addr,
    int port, const struct http_opts *opts);
/*
 * Add a table of n routes whose handlers get arg.  Returns 0, or -1 (with
 * the reason logged) for a malformed route, a method+path that another
 * table already has, or an auth route without an auth callback.
 */
int http_server_add_routes(struct http_server *srv,
    const struct http_route *routes, size_t n, void *arg);
/* The port actually bound. */
int http_server_port(const struct http_server *srv);
/* Stop accepting connections (graceful stop); open ones are served. */
void http_server_close_listener(struct http_server *srv);
/* Requests handed to handlers and not yet answered. */
size_t http_server_inflight(const struct http_server *srv);
/*
 * Close every connection and free the server.  Requests still in handlers
 * are dropped with it: stop (drain) first.
 */
void http_server_free(struct http_server *srv);

/* --- what a handler sees ------------------------------------------------- */

/* "GET", "POST", ... (a HEAD request says "HEAD" on a GET route). */
const char *http_req_method(const struct http_req *r);
/* The path as sent, without the query (not percent-decoded). */
const char *http_req_path(const struct http_req *r);
/* A {param} of the route, percent-decoded UTF-8; NULL if no such param. */
const char *http_req_param(const struct http_req *r, const char *name);
/* The first query parameter of that name, decoded; NULL if absent. */
const char *http_req_query(const struct http_req *r, const char *name);
/* A request header (first of that name, any case), or NULL. */
const char *http_req_header(const struct http_req *r, const char *name);
/* The body (NUL-terminated for convenience) and its length; "" if none. */
const char *http_req_body(const struct http_req *r, size_t *len);
/* What the auth callback stored, or NULL on routes without auth. */
const void *http_req_principal(const struct http_req *r);
/* The arg given with the route table. */
void *http_req_arg(const struct http_req *r);
/* A request id for logs: the client's X-Request-Id if sane, else ours. */
const char *http_req_id(const struct http_req *r);
/* "address:port" of the client. */
const char *http_req_peer(const struct http_req *r);
/* The libevent request underneath (headers, connection). */
struct evhttp_request *http_req_evhttp(struct http_req *r);

/* Add a response header (before the reply). */
void http_set_header(struct http_req *r, const char *name, const char *value);
/* Retry-After for 503 answers: tell the client when to come back. */
void http_set_retry_after(struct http_req *r, int seconds);

/* --- answers: each ends the request --------------------------------------- */

/* JSON body, Content-Type application/json; charset=utf-8. */
void http_reply_json(
    struct http_req *r, int status, const struct json_out *body);
/* {"error":code,"message":<printf text>} */
void http_reply_error(struct http_req *r, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Any other content (CSV, HTML, metrics text); len bytes of data. */
void http_reply_text(struct http_req *r, int status, const char *content_type,
    const char *data, size_t len);
/* As http_reply_text, moving the contents of body (left empty). */
void http_reply_evbuffer(struct http_req *r, int status,
    const char *content_type, struct evbuffer *body);
/* No body (202/204 and the like). */
void http_reply_empty(struct http_req *r, int status);
/*
 * Take the libevent request over (to stream with evhttp_send_reply_start
 * and friends); the http_req is freed and no longer counted in flight.
 */
struct evhttp_request *http_req_detach(struct http_req *r);

/* A ready handler for GET /metrics; arg is the struct metrics registry. */
void http_handle_metrics(struct http_req *r, void *arg);

/* --- the router, pure (no network), exposed for tests -------------------- */

/* The route tables the router searches, in registration order. */
struct http_route_table {
	const struct http_route *routes;
	size_t n;
	void *arg;
};

enum http_match_status {
	HTTP_MATCH_OK,
	HTTP_MATCH_NOT_FOUND,  /* no route has this path */
	HTTP_MATCH_BAD_METHOD, /* the path exists, not with this method */
	HTTP_MATCH_BAD_PATH,   /* bad %-escape, NUL, not UTF-8, no leading / */
	HTTP_MATCH_TOO_LONG,   /* over HTTP_PATH_MAX */
};

struct http_param {
	const char *name; /* points into the route's path; name_len long */
	size_t name_len;
	const char *value; /* decoded, in the match's store */
};

struct http_match {
	enum http_match_status status;
	const struct http_route *route; /* HTTP_MATCH_OK */
	void *arg;                      /* the route's table arg */
	size_t nparams;
	struct http_param params[HTTP_PARAMS_MAX];
	char allow[96];      /* HTTP_MATCH_BAD_METHOD: "GET, HEAD, POST" */
	bool trailing_slash; /* NOT_FOUND, but exists without the last '/' */
	const char *why;     /* HTTP_MATCH_BAD_PATH: what is wrong */
	char store[HTTP_PATH_MAX + HTTP_SEGMENTS_MAX + 2];
};

/*
 * Match method and path (no query) against the tables.  Paths match
 * exactly, segment by segment after percent-decoding; a literal segment
 * beats a {param} at the same place; a trailing '/' makes another path.
 */
enum http_match_status http_route_match(const struct http_route_table *tables,
    size_t ntables, const char *method, const char *path, struct http_match *m);
/* The decoded value of a {param} in a match, or NULL. */
const char *http_match_param(const struct http_match *m, const char *name);
/* 0 if the route is well formed, else -1 with the reason in why. */
int http_route_check(
    const struct http_route *route, char *why, size_t why_size);

#endif

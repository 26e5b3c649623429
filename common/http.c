/*
 * http - the HTTP side of every daemon: an evhttp server with a route
 * table, one dispatcher, JSON answers, and a guard against clients that
 * are too big or too slow.
 *
 * This file is the server, its dispatcher and the answers.  The router
 * (pure functions over route tables) is in http_route.c, the request guard
 * (a bufferevent filter on every connection, which frames and checks
 * requests before evhttp sees them) in http_guard.c, and what the three
 * share in http_internal.h.  dispatch() is evhttp's one callback: it
 * answers in JSON what the guard refused, matches the route, decodes the
 * query, asks the auth callback, and hands the request to the handler.
 *
 * Ownership: the server owns its connections (freed by evhttp, which frees
 * the guard's per-connection state through the filter's free callback) and
 * every struct http_req until a handler answers it or detaches it.
 */
#include "http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "json.h"
#include "log.h"
#include "metrics.h"

#define TOKEN_MAX 512
#define REQUEST_ID_MAX 64
#define MSG_MAX 512

/* Count a refusal by its code (registered on first use). */
void
http_count_refusal(struct http_server *srv, const char *code)
{
	if (srv->metrics == NULL)
		return;
	metrics_inc(metrics_counter(srv->metrics, "http_refused_total",
	    "Requests refused before reaching a handler, by error code.",
	    (const char *[]){"code", code, NULL}));
}

/* ========================================================================
 * The server and the dispatcher
 * ======================================================================== */

struct http_req {
	struct http_server *srv;
	struct evhttp_request *ev;
	struct http_req *prev, *next;
	const char *method;
	const char *path;
	const struct http_route *route;
	void *arg;
	const void *principal;
	const char *body;
	size_t body_len;
	char *query; /* decoded copy of the query string */
	size_t nquery;
	const char *qkey[HTTP_QUERY_MAX];
	const char *qval[HTTP_QUERY_MAX];
	struct timespec start;
	char id[REQUEST_ID_MAX + 1];
	char peer[64];
	struct http_match match;
};

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return NULL;
}

static const char *
reason_phrase(int status)
{
	static const struct {
		int status;
		const char *text;
	} phrases[] = {{200, "OK"}, {201, "Created"}, {202, "Accepted"},
	    {204, "No Content"}, {400, "Bad Request"}, {401, "Unauthorized"},
	    {403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
	    {408, "Request Timeout"}, {409, "Conflict"},
	    {413, "Payload Too Large"}, {414, "URI Too Long"},
	    {415, "Unsupported Media Type"}, {417, "Expectation Failed"},
	    {422, "Unprocessable Entity"}, {429, "Too Many Requests"},
	    {431, "Request Header Fields Too Large"},
	    {500, "Internal Server Error"}, {501, "Not Implemented"},
	    {503, "Service Unavailable"}, {505, "HTTP Version Not Supported"}};

	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].status == status)
			return phrases[i].text;
	return status < 300 ? "OK" : status < 500 ? "Client Error" : "Error";
}

static void
req_release(struct http_req *r)
{
	struct http_server *srv = r->srv;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		srv->inflight = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	srv->ninflight--;
	free(r->query);
	free(r);
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Send the answer, count it, and let the request go. */
static void
req_finish(
    struct http_req *r, int status, const char *ctype, struct evbuffer *body)
{
	struct http_server *srv = r->srv;
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
	double secs = seconds_since(&r->start);
	char q[160];

	if (ctype != NULL)
		evhttp_add_header(out, "Content-Type", ctype);
	evhttp_add_header(out, "X-Request-Id", r->id);
	evhttp_send_reply(r->ev, status, reason_phrase(status), body);
	if (status >= 100 && status < 600)
		metrics_inc(srv->m_class[status / 100 - 1]);
	metrics_observe(srv->m_latency, secs);
	if (status >= 500)
		log_warn("http.reply",
		    "rid=%s peer=%s method=%s path=%s "
		    "status=%d ms=%.1f",
		    r->id, r->peer, r->method,
		    log_quote(q, sizeof(q), r->path != NULL ? r->path : ""),
		    status, secs * 1000);
	else
		log_debug("http.reply",
		    "rid=%s peer=%s method=%s path=%s "
		    "status=%d ms=%.1f",
		    r->id, r->peer, r->method,
		    log_quote(q, sizeof(q), r->path != NULL ? r->path : ""),
		    status, secs * 1000);
	req_release(r);
}

/* A refusal by the dispatcher itself: logged, counted, answered. */
static void dispatch_refuse(struct http_req *r, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
dispatch_refuse(
    struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[MSG_MAX], q[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("http.refuse",
	    "rid=%s peer=%s method=%s path=%s status=%d "
	    "code=%s",
	    r->id, r->peer, r->method,
	    log_quote(q, sizeof(q), r->path != NULL ? r->path : ""), status,
	    code);
	http_count_refusal(r->srv, code);
	http_reply_error(r, status, code, "%s", msg);
}

/* Answer the refusal the guard put in place of a request. */
static void
answer_guard_refusal(struct http_req *r, const char *v)
{
	char code[48];
	int status = 0, n = 0;
	bool keep;

	if (sscanf(v, "%3d %n", &status, &n) != 1 || n == 0)
		status = 400;
	v += n;
	keep = strncmp(v, "keep ", 5) == 0;
	v += strcspn(v, " ");
	v += strspn(v, " ");
	n = (int)strcspn(v, " ");
	snprintf(code, sizeof(code), "%.*s", n, v);
	v += n;
	v += strspn(v, " ");
	if (!keep)
		http_set_header(r, "Connection", "close");
	http_reply_error(
	    r, status, code[0] != '\0' ? code : "bad_request", "%s", v);
}

/* Percent-decode s in place ('+' is a space); false for a bad escape. */
static bool
query_decode(char *s)
{
	char *o = s;
	int hi, lo;

	for (char *p = s; *p != '\0'; p++) {
		if (*p == '+') {
			*o++ = ' ';
		} else if (*p == '%') {
			if ((hi = http_hexval((unsigned char)p[1])) < 0 ||
			    (lo = http_hexval((unsigned char)p[2])) < 0)
				return false;
			*o++ = (char)(hi * 16 + lo);
			p += 2;
		} else
			*o++ = *p;
	}
	*o = '\0';
	for (char *p = s; p < o; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return json_utf8_valid(s, (size_t)(o - s), NULL);
}

static int
parse_query(struct http_req *r, const char *raw, char *why, size_t size)
{
	char *p, *amp;

	if (raw == NULL || *raw == '\0')
		return 0;
	if ((r->query = strdup(raw)) == NULL)
		return http_check_fail(why, size, "out of memory");
	for (p = r->query; p != NULL; p = amp) {
		char *eq;

		amp = strchr(p, '&');
		if (amp != NULL)
			*amp++ = '\0';
		if (*p == '\0')
			continue;
		if (r->nquery == HTTP_QUERY_MAX)
			return http_check_fail(why, size,
			    "more than %d query parameters", HTTP_QUERY_MAX);
		eq = strchr(p, '=');
		if (eq != NULL)
			*eq++ = '\0';
		if (!query_decode(p) || (eq != NULL && !query_decode(eq)))
			return http_check_fail(why, size,
			    "query parameter %zu has a bad %%-escape or is not "
			    "UTF-8 text",
			    r->nquery + 1);
		r->qkey[r->nquery] = p;
		r->qval[r->nquery++] = eq != NULL ? eq : "";
	}
	return 0;
}

/* Bearer token check for routes that need it; false if answered. */
static bool
authorize(struct http_req *r)
{
	struct http_server *srv = r->srv;
	const char *h = http_req_header(r, "Authorization"), *tok;
	char why[200] = "";
	size_t n;

	if (h == NULL) {
		http_set_header(
		    r, "WWW-Authenticate", "Bearer realm=\"anquan\"");
		dispatch_refuse(r, 401, "unauthorized",
		    "this endpoint needs a token: send 'Authorization: Bearer "
		    "<token>'");
		return false;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		http_set_header(
		    r, "WWW-Authenticate", "Bearer realm=\"anquan\"");
		dispatch_refuse(r, 401, "unauthorized",
		    "the Authorization header must use the Bearer scheme");
		return false;
	}
	tok = h + 7;
	tok += strspn(tok, " ");
	n = strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                "0123456789-._~+/");
	n += strspn(tok + n, "=");
	if (n == 0 || n > TOKEN_MAX || tok[n] != '\0') {
		http_set_header(r, "WWW-Authenticate",
		    "Bearer realm=\"anquan\", error=\"invalid_token\"");
		dispatch_refuse(
		    r, 401, "unauthorized", "malformed bearer token");
		return false;
	}
	switch (
	    srv->auth(tok, r, srv->auth_arg, &r->principal, why, sizeof(why))) {
	case HTTP_AUTH_OK:
		return true;
	case HTTP_AUTH_FORBIDDEN:
		dispatch_refuse(r, 403, "forbidden", "%s",
		    why[0] != '\0' ? why
		                   : "this token may not use this endpoint");
		return false;
	case HTTP_AUTH_UNKNOWN:
	default:
		http_set_header(r, "WWW-Authenticate",
		    "Bearer realm=\"anquan\", error=\"invalid_token\"");
		dispatch_refuse(r, 401, "unauthorized", "%s",
		    why[0] != '\0' ? why : "unknown or revoked token");
		return false;
	}
}

/* The client's X-Request-Id when it is short and plain, else a new one. */
static void
set_request_id(struct http_req *r)
{
	const char *h = evhttp_find_header(
	    evhttp_request_get_input_headers(r->ev), "X-Request-Id");
	size_t n = h != NULL ? strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                 "abcdefghijklmnopqrstuvwxyz0123456789"
	                                 "-_.:")
	                     : 0;

	if (h != NULL && n > 0 && n <= REQUEST_ID_MAX && h[n] == '\0')
		snprintf(r->id, sizeof(r->id), "%s", h);
	else
		snprintf(r->id, sizeof(r->id), "%x-%llx", r->srv->id_prefix,
		    (unsigned long long)++r->srv->next_id);
}

/* Reply with JSON straight on an evhttp request we could not wrap. */
static void
reply_bare(struct evhttp_request *ev, int status, const char *json)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(ev), "Content-Type",
	    "application/json; charset=utf-8");
	if (b != NULL)
		evbuffer_add(b, json, strlen(json));
	evhttp_send_reply(ev, status, reason_phrase(status), b);
	if (b != NULL)
		evbuffer_free(b);
}

static void
dispatch(struct evhttp_request *ev, void *arg)
{
	struct http_server *srv = arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(ev);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *refusal = evhttp_find_header(in, HTTP_REJECT_HEADER);
	struct evbuffer *body = evhttp_request_get_input_buffer(ev);
	char *addr = NULL, why[200];
	ev_uint16_t port = 0;
	struct http_req *r = calloc(1, sizeof(*r));
	const char *path;

	if (r == NULL) {
		reply_bare(ev, 503,
		    "{\"error\":\"unavailable\",\"message\":\"out of "
		    "memory\"}");
		return;
	}
	r->srv = srv;
	r->ev = ev;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->next = srv->inflight;
	if (srv->inflight != NULL)
		srv->inflight->prev = r;
	srv->inflight = r;
	srv->ninflight++;
	set_request_id(r);
	evhttp_connection_get_peer(
	    evhttp_request_get_connection(ev), &addr, &port);
	snprintf(r->peer, sizeof(r->peer), "%s:%u", addr != NULL ? addr : "?",
	    (unsigned)port);
	r->method = method_name(evhttp_request_get_command(ev));
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	r->path = path != NULL && path[0] != '\0' ? path : "/";
	r->body = "";
	if (refusal != NULL) {
		r->method = r->method != NULL ? r->method : "?";
		answer_guard_refusal(r, refusal);
		return;
	}
	if (r->method == NULL) {
		r->method = "?";
		dispatch_refuse(
		    r, 501, "not_implemented", "this method is not supported");
		return;
	}
	switch (http_route_match(
	    srv->tables, srv->ntables, r->method, r->path, &r->match)) {
	case HTTP_MATCH_OK:
		break;
	case HTTP_MATCH_NOT_FOUND:
		dispatch_refuse(r, 404, "not_found", "no such path: %.200s%s",
		    r->path,
		    r->match.trailing_slash ? " (try it without the trailing "
		                              "'/')"
		                            : "");
		return;
	case HTTP_MATCH_BAD_METHOD:
		http_set_header(r, "Allow", r->match.allow);
		dispatch_refuse(r, 405, "method_not_allowed",
		    "%s is not allowed on %.200s; allowed: %s", r->method,
		    r->path, r->match.allow);
		return;
	case HTTP_MATCH_TOO_LONG:
		dispatch_refuse(r, 414, "uri_too_long",
		    "the path is longer than %d bytes", HTTP_PATH_MAX);
		return;
	case HTTP_MATCH_BAD_PATH:
	default:
		dispatch_refuse(r, 400, "bad_path", "%s", r->match.why);
		return;
	}
	r->route = r->match.route;
	r->arg = r->match.arg;
	if (parse_query(r, uri != NULL ? evhttp_uri_get_query(uri) : NULL, why,
	        sizeof(why)) < 0) {
		dispatch_refuse(r, 400, "bad_query", "%s", why);
		return;
	}
	if ((r->route->flags & HTTP_ROUTE_AUTH) && !authorize(r))
		return;
	r->body_len = evbuffer_get_length(body);
	if (r->body_len > 0) {
		/* A NUL after the body, for handlers that want a C string. */
		evbuffer_add(body, "", 1);
		r->body = (const char *)evbuffer_pullup(body, -1);
		if (r->body == NULL) {
			r->body = "";
			r->body_len = 0;
			dispatch_refuse(r, 503, "unavailable", "out of memory");
			return;
		}
	}
	r->route->handler(r, r->arg);
}

struct http_server *
http_server_new(struct event_base *base, const char *addr, int port,
    const struct http_opts *opts)
{
	static const char *const classes[] = {
	    "1xx", "2xx", "3xx", "4xx", "5xx"};
	struct http_server *srv = calloc(1, sizeof(*srv));
	struct http_opts o = {0};
	struct sockaddr_storage ss = {0};
	socklen_t sl = sizeof(ss);
	struct timespec now;

	if (opts != NULL)
		o = *opts;
	if (srv == NULL)
		return NULL;
	/* A client that goes away mid-answer must not kill the daemon. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		log_warn("http.sigpipe", "err=\"%s\"", strerror(errno));
	srv->base = base;
	srv->max_body =
	    o.max_body_bytes ? o.max_body_bytes : HTTP_MAX_BODY_DEFAULT;
	srv->max_headers = o.max_headers_bytes ? o.max_headers_bytes
	                                       : HTTP_MAX_HEADERS_DEFAULT;
	srv->timeout_s = o.timeout_s > 0 ? o.timeout_s : HTTP_TIMEOUT_DEFAULT;
	srv->idle_timeout_s =
	    o.idle_timeout_s > 0 ? o.idle_timeout_s : HTTP_IDLE_TIMEOUT_DEFAULT;
	srv->auth = o.auth;
	srv->auth_arg = o.auth_arg;
	srv->metrics = o.metrics;
	clock_gettime(CLOCK_REALTIME, &now);
	srv->id_prefix = (unsigned)now.tv_sec;
	srv->http = evhttp_new(base);
	if (srv->http == NULL) {
		free(srv);
		return NULL;
	}
	/* Every method reaches the dispatcher, which answers 405 in JSON. */
	evhttp_set_allowed_methods(srv->http, 0xffff);
	/* The guard enforces the real limits; evhttp's sit just above. */
	evhttp_set_max_headers_size(
	    srv->http, (ev_ssize_t)(srv->max_headers + 1024));
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)srv->max_body);
	evhttp_set_timeout(srv->http, srv->idle_timeout_s > srv->timeout_s
	                                  ? srv->idle_timeout_s
	                                  : srv->timeout_s + 1);
	evhttp_set_bevcb(srv->http, http_guard_new, srv);
	evhttp_set_gencb(srv->http, dispatch, srv);
	if (addr == NULL)
		addr = "127.0.0.1";
	srv->sock =
	    evhttp_bind_socket_with_handle(srv->http, addr, (ev_uint16_t)port);
	if (srv->sock == NULL) {
		log_error("http.bind", "addr=%s port=%d err=\"%s\"", addr, port,
		    strerror(errno));
		evhttp_free(srv->http);
		free(srv);
		return NULL;
	}
	if (getsockname(evhttp_bound_socket_get_fd(srv->sock),
	        (struct sockaddr *)&ss, &sl) == 0)
		srv->port = ntohs(ss.ss_family == AF_INET6
		                      ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                      : ((struct sockaddr_in *)&ss)->sin_port);
	if (srv->metrics != NULL) {
		for (int i = 0; i < 5; i++)
			srv->m_class[i] = metrics_counter(srv->metrics,
			    "http_responses_total",
			    "HTTP answers sent, by status class.",
			    (const char *[]){"class", classes[i], NULL});
		srv->m_latency =
		    metrics_histogram(srv->metrics, "http_request_seconds",
		        "Time from a complete request to its answer.", NULL,
		        metrics_latency_buckets, metrics_latency_nbuckets);
	}
	log_info("http.listen", "addr=%s port=%d max_body=%zu timeout_s=%d",
	    addr, srv->port, srv->max_body, srv->timeout_s);
	return srv;
}

/* Do two route patterns take the same paths ({a} and {b} alike)? */
static bool
same_pattern(const char *a, const char *b)
{
	for (;;) {
		size_t na = strcspn(a, "/"), nb = strcspn(b, "/");
		bool pa = a[0] == '{', pb = b[0] == '{';

		if (pa != pb || (!pa && (na != nb || memcmp(a, b, na) != 0)))
			return false;
		a += na;
		b += nb;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		a++;
		b++;
	}
}

int
http_server_add_routes(struct http_server *srv, const struct http_route *routes,
    size_t n, void *arg)
{
	struct http_route_table *nt;
	char why[200];

	for (size_t i = 0; i < n; i++) {
		const struct http_route *rt = &routes[i];

		if (http_route_check(rt, why, sizeof(why)) < 0) {
			log_error("http.route", "err=\"%s\"", why);
			return -1;
		}
		if ((rt->flags & HTTP_ROUTE_AUTH) && srv->auth == NULL) {
			log_error("http.route",
			    "path=%s err=\"needs auth but "
			    "the server has no auth "
			    "callback\"",
			    rt->path);
			return -1;
		}
		for (size_t t = 0; t <= srv->ntables; t++) {
			const struct http_route *set =
			    t < srv->ntables ? srv->tables[t].routes : routes;
			size_t m = t < srv->ntables ? srv->tables[t].n : i;

			for (size_t k = 0; k < m; k++)
				if (strcmp(set[k].method, rt->method) == 0 &&
				    same_pattern(set[k].path, rt->path)) {
					log_error("http.route",
					    "method=%s path=%s err=\"route "
					    "registered twice\"",
					    rt->method, rt->path);
					return -1;
				}
		}
	}
	nt = realloc(srv->tables, (srv->ntables + 1) * sizeof(*nt));
	if (nt == NULL)
		return -1;
	srv->tables = nt;
	nt[srv->ntables].routes = routes;
	nt[srv->ntables].n = n;
	nt[srv->ntables].arg = arg;
	srv->ntables++;
	return 0;
}

int
http_server_port(const struct http_server *srv)
{
	return srv->port;
}

void
http_server_close_listener(struct http_server *srv)
{
	if (srv->sock == NULL)
		return;
	evhttp_del_accept_socket(srv->http, srv->sock);
	srv->sock = NULL;
}

size_t
http_server_inflight(const struct http_server *srv)
{
	return srv->ninflight;
}

void
http_server_free(struct http_server *srv)
{
	struct http_req *r, *next;

	if (srv == NULL)
		return;
	/* evhttp_free() frees the requests too; ours only need freeing. */
	evhttp_free(srv->http);
	for (r = srv->inflight; r != NULL; r = next) {
		next = r->next;
		free(r->query);
		free(r);
	}
	free(srv->tables);
	free(srv);
}

/* ========================================================================
 * What handlers see, and the answers
 * ======================================================================== */

const char *
http_req_method(const struct http_req *r)
{
	return r->method;
}

const char *
http_req_path(const struct http_req *r)
{
	return r->path;
}

const char *
http_req_param(const struct http_req *r, const char *name)
{
	return http_match_param(&r->match, name);
}

const char *
http_req_query(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nquery; i++)
		if (strcmp(r->qkey[i], name) == 0)
			return r->qval[i];
	return NULL;
}

const char *
http_req_header(const struct http_req *r, const char *name)
{
	return evhttp_find_header(
	    evhttp_request_get_input_headers(r->ev), name);
}

const char *
http_req_body(const struct http_req *r, size_t *len)
{
	if (len != NULL)
		*len = r->body_len;
	return r->body;
}

const void *
http_req_principal(const struct http_req *r)
{
	return r->principal;
}

void *
http_req_arg(const struct http_req *r)
{
	return r->arg;
}

const char *
http_req_id(const struct http_req *r)
{
	return r->id;
}

const char *
http_req_peer(const struct http_req *r)
{
	return r->peer;
}

struct evhttp_request *
http_req_evhttp(struct http_req *r)
{
	return r->ev;
}

void
http_set_header(struct http_req *r, const char *name, const char *value)
{
	evhttp_add_header(
	    evhttp_request_get_output_headers(r->ev), name, value);
}

void
http_set_retry_after(struct http_req *r, int seconds)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", seconds > 0 ? seconds : 1);
	http_set_header(r, "Retry-After", v);
}

void
http_reply_text(struct http_req *r, int status, const char *content_type,
    const char *data, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || evbuffer_add(b, data, len) != 0) {
		if (b != NULL)
			evbuffer_free(b);
		req_finish(r, 503, NULL, NULL);
		return;
	}
	req_finish(r, status, content_type, b);
	evbuffer_free(b);
}

void
http_reply_evbuffer(struct http_req *r, int status, const char *content_type,
    struct evbuffer *body)
{
	req_finish(r, status, content_type, body);
}

void
http_reply_empty(struct http_req *r, int status)
{
	req_finish(r, status, NULL, NULL);
}

void
http_reply_json(struct http_req *r, int status, const struct json_out *body)
{
	if (json_out_failed(body)) {
		http_reply_error(r, 500, "internal",
		    "out of memory while building the answer");
		return;
	}
	http_reply_text(r, status, "application/json; charset=utf-8",
	    json_out_data(body), json_out_len(body));
}

void
http_reply_error(
    struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[MSG_MAX];
	struct json_out w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_str(&w, "error", code);
	json_out_kv_str(&w, "message", msg);
	json_out_obj_close(&w);
	if (json_out_failed(&w))
		req_finish(r, 503, NULL, NULL);
	else
		http_reply_text(r, status, "application/json; charset=utf-8",
		    json_out_data(&w), json_out_len(&w));
	json_out_free(&w);
}

struct evhttp_request *
http_req_detach(struct http_req *r)
{
	struct evhttp_request *ev = r->ev;

	req_release(r);
	return ev;
}

void
http_handle_metrics(struct http_req *r, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || metrics_render(arg, b) < 0) {
		if (b != NULL)
			evbuffer_free(b);
		http_reply_error(r, 503, "unavailable",
		    "out of memory while rendering metrics");
		return;
	}
	http_reply_evbuffer(
	    r, 200, "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

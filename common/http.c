/*
 * http - the HTTP side of every daemon: an evhttp server with a route
 * table, one dispatcher, JSON answers, and a guard against clients that
 * are too big or too slow.
 *
 * Four parts, in this order: the router (pure functions over route
 * tables, tested without a network); the request guard, a bufferevent
 * filter on every connection that frames requests itself before evhttp
 * sees them; the server and its dispatcher; the answers.
 *
 * Why a filter.  evhttp 2.1 has no hook between "headers read" and "body
 * read" for incoming requests (evhttp_set_newreqcb came in 2.2), refuses
 * oversized bodies and malformed heads with HTML pages of its own, and
 * times connections out only on inactivity, which a client sending a byte
 * a second never triggers.  So each connection's bytes pass through
 * conn_input() first.  It holds a request head until the blank line,
 * checks the request line and headers strictly, and decides on the body by
 * Content-Length or chunked framing, with a deadline from the first byte
 * to the last.  What it accepts it hands on unchanged (chunked bodies are
 * collected and handed on with a Content-Length); what it refuses it
 * replaces with a small head carrying an X-Anquan-Reject header, which the
 * dispatcher answers as JSON.  Client copies of that header are always
 * stripped, and every request passes the filter, so it cannot be forged.
 * The filter never holds bytes back inside the underlying buffer: whatever
 * it is given it consumes, so it is never left waiting for data that has
 * already arrived.
 *
 * Ownership: the server owns its connections (freed by evhttp, which frees
 * our per-connection state through the filter's free callback) and every
 * struct http_req until a handler answers it or detaches it.
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
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

#define REJECT_HEADER "X-Anquan-Reject"
#define METHOD_MAX 20
#define PARAM_NAME_MAX 32
#define CHUNK_LINE_MAX 1024
#define TOKEN_MAX 512
#define REQUEST_ID_MAX 64
#define MSG_MAX 512
#define BLANKS_MAX 8

/* ========================================================================
 * The router
 * ======================================================================== */

static bool
is_tchar(unsigned char c)
{
	return isalnum(c) ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int check_fail(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
check_fail(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && size > 0) {
		va_start(ap, fmt);
		vsnprintf(why, size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
http_route_check(const struct http_route *rt, char *why, size_t why_size)
{
	const char *p, *names[HTTP_PARAMS_MAX];
	size_t lens[HTTP_PARAMS_MAX], nparams = 0, nsegs = 0, n;

	if (rt == NULL || rt->handler == NULL || rt->method == NULL ||
	    rt->path == NULL)
		return check_fail(why, why_size,
		    "route without method, path "
		    "or handler");
	n = strlen(rt->method);
	if (n == 0 || n > METHOD_MAX)
		return check_fail(why, why_size, "bad method '%s'", rt->method);
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)rt->method[i]))
			return check_fail(
			    why, why_size, "bad method '%s'", rt->method);
	if (rt->path[0] != '/' || strlen(rt->path) > HTTP_PATH_MAX)
		return check_fail(why, why_size,
		    "path '%s' must start with '/' and be at most %d bytes",
		    rt->path, HTTP_PATH_MAX);
	if (strcmp(rt->path, "/") == 0)
		return 0;
	for (p = rt->path + 1;; p += n + 1) {
		n = strcspn(p, "/");
		if (n == 0)
			return check_fail(why, why_size,
			    "path '%s' has an empty segment or a trailing '/'",
			    rt->path);
		if (++nsegs > HTTP_SEGMENTS_MAX)
			return check_fail(why, why_size,
			    "path '%s' has more than %d segments", rt->path,
			    HTTP_SEGMENTS_MAX);
		if (p[0] == '{') {
			if (n < 3 || p[n - 1] != '}' || n - 2 > PARAM_NAME_MAX)
				return check_fail(why, why_size,
				    "path '%s': a parameter is a whole segment "
				    "{name}",
				    rt->path);
			for (size_t i = 1; i < n - 1; i++) {
				unsigned char c = (unsigned char)p[i];
				if (!(isalpha(c) || c == '_' ||
				        (i > 1 && isdigit(c))))
					return check_fail(why, why_size,
					    "path '%s': bad parameter name",
					    rt->path);
			}
			for (size_t k = 0; k < nparams; k++)
				if (lens[k] == n - 2 &&
				    memcmp(names[k], p + 1, n - 2) == 0)
					return check_fail(why, why_size,
					    "path '%s' repeats a parameter",
					    rt->path);
			if (nparams == HTTP_PARAMS_MAX)
				return check_fail(why, why_size,
				    "path '%s' has too many parameters",
				    rt->path);
			names[nparams] = p + 1;
			lens[nparams++] = n - 2;
		} else {
			for (size_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)p[i];
				if (c <= 0x20 || c >= 0x7f ||
				    strchr("{}%?#", c) != NULL)
					return check_fail(why, why_size,
					    "path '%s': literal segments are "
					    "plain ASCII without {}%%?#",
					    rt->path);
			}
		}
		if (p[n] == '\0')
			return 0;
	}
}

struct seg {
	const char *s;
	size_t n;
};

/*
 * Split path (after its leading '/') into segments, percent-decoding each
 * into m->store.  Returns the number of segments, -1 for a bad path
 * (m->why says why), or HTTP_SEGMENTS_MAX + 1 when there are too many.
 */
static int
split_path(const char *path, struct http_match *m, struct seg *segs)
{
	const char *p = path + 1;
	char *out = m->store;
	int nsegs = 0;

	if (*p == '\0')
		return 0;
	for (;;) {
		size_t n = strcspn(p, "/"), dn = 0;
		int hi, lo;

		if (nsegs == HTTP_SEGMENTS_MAX)
			return HTTP_SEGMENTS_MAX + 1;
		for (size_t i = 0; i < n; i++) {
			if (p[i] != '%') {
				out[dn++] = p[i];
				continue;
			}
			if (i + 2 >= n || (hi = hexval(p[i + 1])) < 0 ||
			    (lo = hexval(p[i + 2])) < 0) {
				m->why = "invalid percent-escape in the path";
				return -1;
			}
			if (hi == 0 && lo == 0) {
				m->why = "%00 (NUL) in the path";
				return -1;
			}
			out[dn++] = (char)(hi * 16 + lo);
			i += 2;
		}
		if (!json_utf8_valid(out, dn, NULL)) {
			m->why = "the path is not UTF-8 after percent-decoding";
			return -1;
		}
		out[dn] = '\0';
		segs[nsegs].s = out;
		segs[nsegs++].n = dn;
		out += dn + 1;
		if (p[n] == '\0')
			return nsegs;
		p += n + 1;
	}
}

/*
 * Does route rt take these segments?  *score has one bit per segment, set
 * for a {param}, most significant first, so that of two routes the one with
 * a literal earlier scores lower.  With fill, the params go into m.
 */
static bool
route_fits(const struct http_route *rt, const struct seg *segs, int nsegs,
    unsigned *score, struct http_match *m)
{
	const char *p = rt->path + 1;
	int i = 0;

	*score = 0;
	if (m != NULL)
		m->nparams = 0;
	if (*p == '\0')
		return nsegs == 0;
	for (;;) {
		size_t n = strcspn(p, "/");

		if (i >= nsegs)
			return false;
		if (p[0] == '{') {
			if (segs[i].n == 0)
				return false;
			*score = *score * 2 + 1;
			if (m != NULL && m->nparams < HTTP_PARAMS_MAX) {
				m->params[m->nparams].name = p + 1;
				m->params[m->nparams].name_len = n - 2;
				m->params[m->nparams++].value = segs[i].s;
			}
		} else {
			if (segs[i].n != n || memcmp(segs[i].s, p, n) != 0)
				return false;
			*score = *score * 2;
		}
		i++;
		if (p[n] == '\0')
			return i == nsegs;
		p += n + 1;
	}
}

static void
allow_add(struct http_match *m, const char *method)
{
	size_t n = strlen(method), len = strlen(m->allow);
	const char *p = m->allow;

	while (*p != '\0') {
		size_t k = strcspn(p, ",");
		if (k == n && memcmp(p, method, n) == 0)
			return;
		p += k;
		p += strspn(p, ", ");
	}
	if (len + n + 3 > sizeof(m->allow))
		return;
	snprintf(m->allow + len, sizeof(m->allow) - len, "%s%s",
	    len > 0 ? ", " : "", method);
}

enum http_match_status
http_route_match(const struct http_route_table *tables, size_t ntables,
    const char *method, const char *path, struct http_match *m)
{
	struct seg segs[HTTP_SEGMENTS_MAX];
	const struct http_route *best = NULL;
	void *best_arg = NULL;
	unsigned score, best_score = 0;
	int nsegs, best_cls = 0;
	bool any = false, is_head = strcmp(method, "HEAD") == 0;
	size_t len;

	memset(m, 0, offsetof(struct http_match, store));
	m->store[0] = '\0';
	if (path == NULL || path[0] != '/') {
		m->why = "the path must start with '/'";
		return m->status = HTTP_MATCH_BAD_PATH;
	}
	len = strlen(path);
	if (len > HTTP_PATH_MAX)
		return m->status = HTTP_MATCH_TOO_LONG;
	nsegs = split_path(path, m, segs);
	if (nsegs < 0)
		return m->status = HTTP_MATCH_BAD_PATH;
	if (nsegs > HTTP_SEGMENTS_MAX)
		return m->status = HTTP_MATCH_NOT_FOUND;
	for (size_t t = 0; t < ntables; t++) {
		for (size_t i = 0; i < tables[t].n; i++) {
			const struct http_route *rt = &tables[t].routes[i];
			int cls;

			if (!route_fits(rt, segs, nsegs, &score, NULL))
				continue;
			any = true;
			allow_add(m, rt->method);
			if (strcmp(rt->method, "GET") == 0)
				allow_add(m, "HEAD");
			if (strcmp(rt->method, method) == 0)
				cls = 0;
			else if (is_head && strcmp(rt->method, "GET") == 0)
				cls = 1; /* HEAD served by GET */
			else
				continue;
			if (best == NULL || cls < best_cls ||
			    (cls == best_cls && score < best_score)) {
				best = rt;
				best_arg = tables[t].arg;
				best_cls = cls;
				best_score = score;
			}
		}
	}
	if (best != NULL) {
		route_fits(best, segs, nsegs, &score, m);
		m->route = best;
		m->arg = best_arg;
		m->allow[0] = '\0';
		return m->status = HTTP_MATCH_OK;
	}
	if (any)
		return m->status = HTTP_MATCH_BAD_METHOD;
	/* Say so when only a trailing slash is in the way. */
	if (len > 1 && path[len - 1] == '/') {
		struct http_match *alt = malloc(sizeof(*alt));
		char *shorter = strndup(path, len - 1);

		if (alt != NULL && shorter != NULL) {
			enum http_match_status s = http_route_match(
			    tables, ntables, method, shorter, alt);
			m->trailing_slash =
			    s == HTTP_MATCH_OK || s == HTTP_MATCH_BAD_METHOD;
		}
		free(alt);
		free(shorter);
	}
	return m->status = HTTP_MATCH_NOT_FOUND;
}

const char *
http_match_param(const struct http_match *m, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < m->nparams; i++)
		if (m->params[i].name_len == n &&
		    memcmp(m->params[i].name, name, n) == 0)
			return m->params[i].value;
	return NULL;
}

/* ========================================================================
 * The request guard: a filter on each connection's input
 * ======================================================================== */

struct http_server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	int port;
	size_t max_body;
	size_t max_headers;
	int timeout_s;
	int idle_timeout_s;
	http_auth_fn auth;
	void *auth_arg;
	struct http_route_table *tables;
	size_t ntables;
	struct http_req *inflight;
	size_t ninflight;
	uint64_t next_id;
	unsigned id_prefix;
	struct metrics *metrics;
	struct metric *m_class[5];
	struct metric *m_latency;
};

enum conn_state {
	CS_HEAD,           /* collecting a request head */
	CS_BODY,           /* passing `left` body bytes to evhttp */
	CS_DISCARD,        /* dropping `left` bytes of a refused body */
	CS_CHUNK_SIZE,     /* chunked: expecting a size line */
	CS_CHUNK_DATA,     /* chunked: `left` bytes of chunk data */
	CS_CHUNK_DATA_END, /* chunked: the CRLF after the data */
	CS_CHUNK_TRAILER,  /* chunked: trailer lines up to a blank one */
	CS_SWALLOW,        /* refused for good: drop all until closed */
};

struct http_conn {
	struct http_server *srv;
	struct bufferevent *bev;   /* the filter, which evhttp uses */
	struct bufferevent *under; /* the socket underneath */
	struct event *deadline;
	enum conn_state state;
	char *head; /* the held request head */
	size_t head_len, head_cap;
	int nl;       /* end-of-head scan: 1 after LF, 2 after LF CR */
	int blanks;   /* blank-line bytes skipped before this request */
	bool line_ok; /* the head's request line passed the checks */
	uint64_t left;
	struct evbuffer *body; /* a chunked body being collected */
	uint64_t body_total;
	bool oversize;
	char line[CHUNK_LINE_MAX]; /* a chunk-size or trailer line */
	size_t line_len;
	bool line_done;
	size_t trailer_len;
	char peer[64];
};

/* What the checks of one request head found. */
struct head_info {
	bool body_ok; /* evhttp reads a body for this method */
	int ncl;
	uint64_t cl;
	int nte;
	bool chunked;
	bool expect_continue;
	int status; /* a refusal: status, code, message */
	const char *code;
	char msg[200];
};

static const char *
conn_peer(struct http_conn *c)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl = sizeof(ss);
	char addr[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	evutil_socket_t fd;

	if (c->peer[0] != '\0')
		return c->peer;
	fd = bufferevent_getfd(c->bev);
	if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(
			    AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%d", addr, port);
	return c->peer;
}

/* Count a refusal by its code (registered on first use). */
static void
count_refusal(struct http_server *srv, const char *code)
{
	if (srv->metrics == NULL)
		return;
	metrics_inc(metrics_counter(srv->metrics, "http_refused_total",
	    "Requests refused before reaching a handler, by error code.",
	    (const char *[]){"code", code, NULL}));
}

/* Copy client text into a message: printable ASCII only, bounded. */
static void
sanitize(char *out, size_t size, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (size > 0)
		out[o] = '\0';
}

static void
request_done(struct http_conn *c)
{
	event_del(c->deadline);
	c->state = CS_HEAD;
	c->head_len = 0;
	c->nl = 0;
	c->blanks = 0;
	c->line_ok = false;
	if (c->body != NULL)
		evbuffer_drain(c->body, evbuffer_get_length(c->body));
}

/* The next line of the held head from *pos: start and length sans EOL. */
static bool
head_line(
    const struct http_conn *c, size_t *pos, const char **line, size_t *len)
{
	const char *p = c->head + *pos, *nl;

	if (*pos >= c->head_len)
		return false;
	nl = memchr(p, '\n', c->head_len - *pos);
	if (nl == NULL)
		return false;
	*line = p;
	*len = (size_t)(nl - p);
	if (*len > 0 && p[*len - 1] == '\r')
		(*len)--;
	*pos = (size_t)(nl - c->head) + 1;
	return true;
}

/* Length of the header name before ':' (0 if the line is no header). */
static size_t
header_name(const char *line, size_t len)
{
	size_t n = 0;

	while (n < len && is_tchar((unsigned char)line[n]))
		n++;
	return (n > 0 && n < len && line[n] == ':') ? n : 0;
}

static bool
name_is(const char *line, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(line, name, n) == 0;
}

#define SKIP_FRAMING 0x1u /* Transfer-Encoding, Expect, Content-Length */
#define ONLY_CONNECTION 0x2u
#define NO_HEADERS 0x4u

/*
 * Write the held head to dst: its request line, then the header lines
 * (never a client's X-Anquan-Reject), then extra, then the blank line.
 */
static void
emit_head(struct http_conn *c, struct evbuffer *dst, unsigned how,
    const char *extra, bool synthetic_line)
{
	size_t pos = 0, len, n;
	const char *line;
	bool first = true;

	if (synthetic_line)
		evbuffer_add(dst, "GET / HTTP/1.1\r\n", 16);
	while (head_line(c, &pos, &line, &len) && len > 0) {
		if (first) {
			first = false;
			if (!synthetic_line) {
				evbuffer_add(dst, line, len);
				evbuffer_add(dst, "\r\n", 2);
			}
			continue;
		}
		n = header_name(line, len);
		if ((how & NO_HEADERS) || name_is(line, n, REJECT_HEADER))
			continue;
		if ((how & ONLY_CONNECTION) && !name_is(line, n, "Connection"))
			continue;
		if ((how & SKIP_FRAMING) &&
		    (name_is(line, n, "Transfer-Encoding") ||
		        name_is(line, n, "Expect") ||
		        name_is(line, n, "Content-Length")))
			continue;
		evbuffer_add(dst, line, len);
		evbuffer_add(dst, "\r\n", 2);
	}
	if (extra != NULL)
		evbuffer_add(dst, extra, strlen(extra));
	evbuffer_add(dst, "\r\n", 2);
}

/*
 * Refuse the current request: hand dst a head that carries the reason.
 * With keep the connection goes on afterwards (the caller sets what
 * happens to the body); without, everything else it sends is dropped and
 * the answer closes it.
 */
static void
conn_refuse(struct http_conn *c, struct evbuffer *dst, int status,
    const char *code, const char *msg, bool keep)
{
	char extra[400], q[300];

	snprintf(extra, sizeof(extra), "%s: %d %s %s %s\r\n%s", REJECT_HEADER,
	    status, keep ? "keep" : "close", code, msg,
	    keep ? "" : "Connection: close\r\n");
	emit_head(
	    c, dst, keep ? ONLY_CONNECTION : NO_HEADERS, extra, !c->line_ok);
	log_info("http.refuse", "peer=%s status=%d code=%s msg=%s",
	    conn_peer(c), status, code, log_quote(q, sizeof(q), msg));
	count_refusal(c->srv, code);
	if (!keep) {
		event_del(c->deadline);
		c->state = CS_SWALLOW;
		c->head_len = 0;
	}
}

/*
 * Take bytes of a request head from src into c->head.  Returns 1 when the
 * blank line ending it is in (src keeps what follows), 0 when src ran dry
 * first, -1 when the head outgrew max_headers.
 */
static int
head_take(struct http_conn *c, struct evbuffer *src)
{
	size_t max = c->srv->max_headers;
	struct timeval tv = {c->srv->timeout_s, 0};

	while (evbuffer_get_length(src) > 0) {
		size_t avail = evbuffer_get_length(src), n;
		char *nb;

		if (c->head_len == 0) {
			unsigned char first;

			/*
			 * A blank line or two between requests is allowed;
			 * endless ones would hold the connection without a
			 * deadline, so past a few they count as the head.
			 */
			evbuffer_copyout(src, &first, 1);
			if ((first == '\r' || first == '\n') &&
			    c->blanks < BLANKS_MAX) {
				evbuffer_drain(src, 1);
				c->blanks++;
				continue;
			}
			event_add(c->deadline, &tv);
		}
		if (c->head_len >= max)
			return -1;
		n = avail < max - c->head_len ? avail : max - c->head_len;
		if (c->head_len + n > c->head_cap) {
			size_t cap = c->head_cap != 0 ? c->head_cap : 1024;
			while (cap < c->head_len + n)
				cap *= 2;
			if ((nb = realloc(c->head, cap)) == NULL)
				return -1;
			c->head = nb;
			c->head_cap = cap;
		}
		evbuffer_copyout(src, c->head + c->head_len, n);
		for (size_t i = 0; i < n; i++) {
			char ch = c->head[c->head_len + i];
			if (ch == '\n' && c->nl != 0) {
				evbuffer_drain(src, i + 1);
				c->head_len += i + 1;
				c->nl = 0;
				return 1;
			}
			if (ch == '\n')
				c->nl = 1;
			else if (ch == '\r' && c->nl == 1)
				c->nl = 2;
			else
				c->nl = 0;
		}
		evbuffer_drain(src, n);
		c->head_len += n;
	}
	return 0;
}

static int head_refuse(struct head_info *h, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
head_refuse(
    struct head_info *h, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	h->status = status;
	h->code = code;
	va_start(ap, fmt);
	vsnprintf(h->msg, sizeof(h->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Methods whose bodies evhttp 2.1 reads; it reads none for the others. */
static bool
method_has_body(const char *m, size_t n)
{
	static const char *const with[] = {
	    "GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT"};

	for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++)
		if (n == strlen(with[i]) && memcmp(m, with[i], n) == 0)
			return true;
	return false;
}

/* Check the request line; sets c->line_ok and h->body_ok. */
static int
check_request_line(
    struct http_conn *c, const char *line, size_t len, struct head_info *h)
{
	size_t m = 0, t, v;
	char *target;
	struct evhttp_uri *uri;
	char shown[24];

	while (m < len && m <= METHOD_MAX && is_tchar((unsigned char)line[m]))
		m++;
	if (m == 0 || m > METHOD_MAX || m >= len || line[m] != ' ')
		return head_refuse(h, 400, "bad_request",
		    "malformed request line (want: METHOD /path HTTP/1.1)");
	t = m + 1;
	while (t < len && line[t] > 0x20 && line[t] < 0x7f)
		t++;
	if (t == m + 1 || t >= len || line[t] != ' ')
		return head_refuse(
		    h, 400, "bad_request", "malformed request target");
	v = t + 1;
	if (!(len - v == 8 && (memcmp(line + v, "HTTP/1.1", 8) == 0 ||
	                          memcmp(line + v, "HTTP/1.0", 8) == 0))) {
		if (len - v == 8 && memcmp(line + v, "HTTP/", 5) == 0) {
			sanitize(shown, sizeof(shown), line + v, len - v);
			return head_refuse(h, 505, "http_version_not_supported",
			    "%s is not supported; use HTTP/1.1", shown);
		}
		return head_refuse(h, 400, "bad_request",
		    "malformed request line (want: METHOD /path HTTP/1.1)");
	}
	/* The same URI check evhttp applies, so it never refuses after us. */
	/* (The head is not NUL-terminated: copy, do not strndup.) */
	target = malloc(t - m);
	if (target == NULL)
		return head_refuse(h, 503, "unavailable", "out of memory");
	memcpy(target, line + m + 1, t - m - 1);
	target[t - m - 1] = '\0';
	uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
	free(target);
	if (uri == NULL)
		return head_refuse(
		    h, 400, "bad_request", "malformed request target");
	evhttp_uri_free(uri);
	c->line_ok = true;
	h->body_ok = method_has_body(line, m);
	return 0;
}

/* A Content-Length value: digits only, not absurd. */
static bool
parse_length(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return true;
}

static int
check_header(const char *line, size_t len, struct head_info *h)
{
	size_t n = header_name(line, len), vs, ve;
	const char *v;
	uint64_t cl;
	char shown[48];

	if (len > 0 && (line[0] == ' ' || line[0] == '\t'))
		return head_refuse(h, 400, "bad_request",
		    "folded header lines are not accepted");
	if (n == 0) {
		sanitize(shown, sizeof(shown), line, len < 40 ? len : 40);
		return head_refuse(
		    h, 400, "bad_request", "malformed header line '%s'", shown);
	}
	vs = n + 1;
	while (vs < len && (line[vs] == ' ' || line[vs] == '\t'))
		vs++;
	ve = len;
	while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
		ve--;
	for (size_t i = vs; i < ve; i++) {
		unsigned char ch = (unsigned char)line[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			sanitize(shown, sizeof(shown), line, n);
			return head_refuse(h, 400, "bad_request",
			    "control character in header '%s'", shown);
		}
	}
	v = line + vs;
	if (name_is(line, n, "Content-Length")) {
		if (!parse_length(v, ve - vs, &cl))
			return head_refuse(h, 400, "bad_request",
			    "Content-Length must be a decimal byte count");
		if (h->ncl > 0 && cl != h->cl)
			return head_refuse(h, 400, "bad_request",
			    "conflicting Content-Length headers");
		h->cl = cl;
		h->ncl++;
	} else if (name_is(line, n, "Transfer-Encoding")) {
		h->nte++;
		h->chunked = h->nte == 1 && ve - vs == 7 &&
		             strncasecmp(v, "chunked", 7) == 0;
		if (!h->chunked) {
			sanitize(shown, sizeof(shown), v, ve - vs);
			return head_refuse(h, 501, "not_implemented",
			    "Transfer-Encoding '%s' is not supported (send "
			    "chunked or a Content-Length)",
			    shown);
		}
	} else if (name_is(line, n, "Expect")) {
		if (ve - vs == 12 && strncasecmp(v, "100-continue", 12) == 0)
			h->expect_continue = true;
		else {
			sanitize(shown, sizeof(shown), v, ve - vs);
			return head_refuse(h, 417, "expectation_failed",
			    "Expect '%s' is not supported", shown);
		}
	}
	return 0;
}

/* Check a complete held head; 0 with *h filled, or -1 with the refusal. */
static int
check_head(struct http_conn *c, struct head_info *h)
{
	size_t pos = 0, len;
	const char *line;

	memset(h, 0, sizeof(*h));
	c->line_ok = false;
	if (!head_line(c, &pos, &line, &len) ||
	    check_request_line(c, line, len, h) < 0)
		return -1;
	while (head_line(c, &pos, &line, &len) && len > 0)
		if (check_header(line, len, h) < 0)
			return -1;
	if (h->nte > 0 && h->ncl > 0)
		return head_refuse(h, 400, "bad_request",
		    "both Content-Length and Transfer-Encoding are present");
	if (!h->body_ok && (h->nte > 0 || h->cl > 0))
		return head_refuse(h, 400, "bad_request",
		    "a request with this method cannot carry a body");
	return 0;
}

/* A complete head is in: decide what evhttp gets and what comes next. */
static void
head_done(struct http_conn *c, struct evbuffer *dst)
{
	struct head_info h;
	char msg[200];

	if (check_head(c, &h) < 0) {
		conn_refuse(c, dst, h.status, h.code, h.msg, false);
		return;
	}
	if (h.chunked) {
		if (c->body == NULL && (c->body = evbuffer_new()) == NULL) {
			conn_refuse(
			    c, dst, 503, "unavailable", "out of memory", false);
			return;
		}
		c->body_total = 0;
		c->oversize = false;
		c->line_len = 0;
		c->line_done = false;
		c->trailer_len = 0;
		c->state = CS_CHUNK_SIZE;
		return;
	}
	if (h.cl > c->srv->max_body) {
		snprintf(msg, sizeof(msg),
		    "request body of %llu bytes is over the limit of %zu bytes",
		    (unsigned long long)h.cl, c->srv->max_body);
		/*
		 * A client waiting for 100 Continue has not sent the body and
		 * will not; anyone else is sending it, and reading it to the
		 * end keeps the answer from being lost to a connection reset.
		 */
		if (h.expect_continue) {
			conn_refuse(
			    c, dst, 413, "payload_too_large", msg, false);
			return;
		}
		conn_refuse(c, dst, 413, "payload_too_large", msg, true);
		c->state = CS_DISCARD;
		c->left = h.cl;
		return;
	}
	emit_head(c, dst, 0, NULL, false);
	if (h.cl > 0) {
		c->state = CS_BODY;
		c->left = h.cl;
	} else
		request_done(c);
}

/*
 * Take one line of chunked framing into c->line (without its EOL).
 * Returns 1 when complete, 0 when src ran dry, -1 when over the limit.
 */
static int
line_take(struct http_conn *c, struct evbuffer *src)
{
	struct evbuffer_ptr eol;
	size_t n;

	if (c->line_done) {
		c->line_len = 0;
		c->line_done = false;
	}
	eol = evbuffer_search(src, "\n", 1, NULL);
	n = eol.pos < 0 ? evbuffer_get_length(src) : (size_t)eol.pos;
	if (c->line_len + n > sizeof(c->line))
		return -1;
	evbuffer_remove(src, c->line + c->line_len, n);
	c->line_len += n;
	if (eol.pos < 0)
		return 0;
	evbuffer_drain(src, 1);
	if (c->line_len > 0 && c->line[c->line_len - 1] == '\r')
		c->line_len--;
	c->line_done = true;
	return 1;
}

/* The size of a chunk-size line ("1a3f" or "1a3f;ext=1"), or -1. */
static int64_t
chunk_size(const char *s, size_t n)
{
	int64_t v = 0;
	size_t i = 0;

	while (i < n && hexval((unsigned char)s[i]) >= 0) {
		if (i == 15)
			return -1;
		v = v * 16 + hexval((unsigned char)s[i]);
		i++;
	}
	if (i == 0)
		return -1;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return (i == n || s[i] == ';') ? v : -1;
}

/* The chunked body is complete: hand evhttp a head with its length. */
static void
chunked_done(struct http_conn *c, struct evbuffer *dst)
{
	char extra[64];

	if (c->oversize) {
		snprintf(extra, sizeof(extra),
		    "chunked request body is over the limit of %zu bytes",
		    c->srv->max_body);
		conn_refuse(c, dst, 413, "payload_too_large", extra, true);
		request_done(c);
		return;
	}
	snprintf(extra, sizeof(extra), "Content-Length: %llu\r\n",
	    (unsigned long long)c->body_total);
	emit_head(c, dst, SKIP_FRAMING, extra, false);
	evbuffer_add_buffer(dst, c->body);
	request_done(c);
}

static void
chunk_step(struct http_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
	int64_t size;
	size_t n;
	int r;

	switch (c->state) {
	case CS_CHUNK_SIZE:
		if ((r = line_take(c, src)) == 0)
			return;
		size = r < 0 ? -1 : chunk_size(c->line, c->line_len);
		if (size < 0) {
			conn_refuse(c, dst, 400, "bad_request",
			    "malformed chunk size line", false);
			return;
		}
		c->left = (uint64_t)size;
		c->trailer_len = 0;
		c->state = size == 0 ? CS_CHUNK_TRAILER : CS_CHUNK_DATA;
		return;
	case CS_CHUNK_DATA:
		n = evbuffer_get_length(src);
		if (n > c->left)
			n = (size_t)c->left;
		if (!c->oversize && c->body_total + n <= c->srv->max_body) {
			evbuffer_remove_buffer(src, c->body, n);
		} else {
			c->oversize = true;
			evbuffer_drain(c->body, evbuffer_get_length(c->body));
			evbuffer_drain(src, n);
		}
		c->body_total += n;
		c->left -= n;
		if (c->left == 0)
			c->state = CS_CHUNK_DATA_END;
		return;
	case CS_CHUNK_DATA_END:
		if ((r = line_take(c, src)) == 0)
			return;
		if (r < 0 || c->line_len != 0) {
			conn_refuse(c, dst, 400, "bad_request",
			    "chunk data is longer than its size line says",
			    false);
			return;
		}
		c->state = CS_CHUNK_SIZE;
		return;
	case CS_CHUNK_TRAILER:
		if ((r = line_take(c, src)) == 0)
			return;
		c->trailer_len += c->line_len + 2;
		if (r < 0 || c->trailer_len > c->srv->max_headers) {
			conn_refuse(c, dst, 431, "header_too_large",
			    "chunked trailer is too large", false);
			return;
		}
		if (c->line_len == 0)
			chunked_done(c, dst);
		return;
	default:
		return;
	}
}

/* The filter: everything a client sends passes here before evhttp. */
static enum bufferevent_filter_result
conn_input(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct http_conn *c = arg;
	char msg[100];
	size_t n;
	int r;

	(void)limit;
	(void)mode;
	/*
	 * evhttp reads on while it writes an answer, to notice a close; a
	 * client pipelining requests without reading the answers would make
	 * its buffer grow without end.  Legitimate use stays far below this.
	 * The refusal goes in between two requests, never inside a body.
	 */
	if (c->state == CS_HEAD && c->head_len == 0 &&
	    evbuffer_get_length(dst) >
	        2 * (c->srv->max_body + c->srv->max_headers)) {
		c->line_ok = false;
		conn_refuse(c, dst, 429, "too_many_requests",
		    "too many pipelined requests; read the answers first",
		    false);
	}
	while ((n = evbuffer_get_length(src)) > 0) {
		switch (c->state) {
		case CS_HEAD:
			r = head_take(c, src);
			if (r == 0)
				return BEV_OK;
			if (r < 0) {
				snprintf(msg, sizeof(msg),
				    "request head is over the limit of %zu "
				    "bytes",
				    c->srv->max_headers);
				c->line_ok = false;
				conn_refuse(c, dst, 431, "header_too_large",
				    msg, false);
			} else
				head_done(c, dst);
			break;
		case CS_BODY:
		case CS_DISCARD:
			if (n > c->left)
				n = (size_t)c->left;
			if (c->state == CS_BODY)
				evbuffer_remove_buffer(src, dst, n);
			else
				evbuffer_drain(src, n);
			c->left -= n;
			if (c->left == 0)
				request_done(c);
			break;
		case CS_SWALLOW:
			evbuffer_drain(src, n);
			break;
		default:
			chunk_step(c, src, dst);
			break;
		}
	}
	return BEV_OK;
}

/*
 * The read deadline passed.  While evhttp has not seen the request (its
 * head is still held, or its body is being collected or discarded here)
 * it is answered 408 through a refusal head; once evhttp is reading the
 * body itself, the connection can only be dropped.
 */
static void
conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	char msg[100];

	(void)fd;
	(void)what;
	if (c->state == CS_SWALLOW)
		return;
	snprintf(msg, sizeof(msg), "request not received within %d s",
	    c->srv->timeout_s);
	if (c->state == CS_BODY) {
		log_info("http.refuse",
		    "peer=%s status=0 code=request_timeout "
		    "msg=\"body not received in time; "
		    "connection dropped\"",
		    conn_peer(c));
		count_refusal(c->srv, "request_timeout");
		c->state = CS_SWALLOW;
		bufferevent_trigger_event(c->bev,
		    BEV_EVENT_READING | BEV_EVENT_TIMEOUT,
		    BEV_TRIG_DEFER_CALLBACKS);
		return;
	}
	c->line_ok = false;
	conn_refuse(c, bufferevent_get_input(c->bev), 408, "request_timeout",
	    msg, false);
	/*
	 * Only while evhttp is reading may its read callback run; when it is
	 * busy with an earlier request it finds the refusal in its buffer
	 * when it comes back to read.
	 */
	if (bufferevent_get_enabled(c->bev) & EV_READ)
		bufferevent_trigger(
		    c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

/*
 * The output side.  libevent 2.1's filter moves written data on only while
 * the filter's write side is enabled, and evhttp queues an answer before it
 * enables it; so answers could sit unsent until a timeout.  And had the
 * filter moved them, it would have reported the write finished as soon as
 * the bytes reached the socket's buffer, before the socket wrote them, and
 * evhttp frees a closing connection at that report.  So the guard moves
 * output itself: whatever evhttp adds goes straight to the socket's
 * buffer (conn_output_added), the filter's own output function moves
 * nothing, and evhttp hears "written" (its write callback) only when the
 * socket's buffer has drained into the kernel (conn_output_drained).
 */
static enum bufferevent_filter_result
conn_output(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	(void)src;
	(void)dst;
	(void)limit;
	(void)mode;
	(void)arg;
	return BEV_NEED_MORE;
}

static void
conn_output_added(
    struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct http_conn *c = arg;

	if (info->n_added > 0 && evbuffer_get_length(buf) > 0)
		evbuffer_add_buffer(bufferevent_get_output(c->under), buf);
}

static void
conn_output_drained(
    struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct http_conn *c = arg;

	if (info->n_deleted == 0 ||
	    !(bufferevent_get_enabled(c->bev) & EV_WRITE))
		return;
	/* Enabling again re-arms the write timeout: the client is reading. */
	bufferevent_enable(c->bev, EV_WRITE);
	if (evbuffer_get_length(buf) == 0)
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
}

static void
conn_free(void *arg)
{
	struct http_conn *c = arg;

	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->body != NULL)
		evbuffer_free(c->body);
	free(c->head);
	free(c);
}

/* evhttp asks for each new connection's bufferevent: give it the filter. */
static struct bufferevent *
conn_new(struct event_base *base, void *arg)
{
	struct http_conn *c = calloc(1, sizeof(*c));
	struct bufferevent *under = NULL;

	if (c == NULL)
		goto fail;
	c->srv = arg;
	c->deadline = evtimer_new(base, conn_deadline, c);
	under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->deadline == NULL || under == NULL)
		goto fail;
	c->bev = bufferevent_filter_new(under, conn_input, conn_output,
	    BEV_OPT_CLOSE_ON_FREE, conn_free, c);
	if (c->bev == NULL)
		goto fail;
	c->under = under;
	if (evbuffer_add_cb(
	        bufferevent_get_output(c->bev), conn_output_added, c) == NULL ||
	    evbuffer_add_cb(bufferevent_get_output(under), conn_output_drained,
	        c) == NULL) {
		/* Freeing the filter frees the socket and c with it. */
		bufferevent_free(c->bev);
		log_error("http.conn", "err=\"out of memory for the request "
		                       "guard\"");
		return NULL;
	}
	return c->bev;
fail:
	/* evhttp then makes a plain bufferevent: served, but unguarded. */
	log_error("http.conn", "err=\"out of memory for the request guard\"");
	if (under != NULL)
		bufferevent_free(under);
	if (c != NULL)
		conn_free(c);
	return NULL;
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
	count_refusal(r->srv, code);
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
			if ((hi = hexval((unsigned char)p[1])) < 0 ||
			    (lo = hexval((unsigned char)p[2])) < 0)
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
		return check_fail(why, size, "out of memory");
	for (p = r->query; p != NULL; p = amp) {
		char *eq;

		amp = strchr(p, '&');
		if (amp != NULL)
			*amp++ = '\0';
		if (*p == '\0')
			continue;
		if (r->nquery == HTTP_QUERY_MAX)
			return check_fail(why, size,
			    "more than %d query parameters", HTTP_QUERY_MAX);
		eq = strchr(p, '=');
		if (eq != NULL)
			*eq++ = '\0';
		if (!query_decode(p) || (eq != NULL && !query_decode(eq)))
			return check_fail(why, size,
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
	const char *refusal = evhttp_find_header(in, REJECT_HEADER);
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
	evhttp_set_bevcb(srv->http, conn_new, srv);
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

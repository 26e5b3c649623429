/*
 * http_guard - the request guard: a bufferevent filter on every connection
 * that frames requests itself before evhttp sees them.
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
 * dispatcher in http.c answers as JSON.  Client copies of that header are
 * always stripped, and every request passes the filter, so it cannot be
 * forged.  The filter never holds bytes back inside the underlying buffer:
 * whatever it is given it consumes, so it is never left waiting for data
 * that has already arrived.  On the way out the guard moves answers to the
 * socket itself (see conn_output()).
 *
 * Ownership: http.c hands http_guard_new() to evhttp as its bufferevent
 * callback; evhttp owns the filter it returns, and freeing the filter
 * frees the socket underneath and our struct http_conn (conn_free()).  The
 * server (struct http_server) outlives its connections and only its limits
 * are read here.
 */
#include "http_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "log.h"

#define CHUNK_LINE_MAX 1024
#define BLANKS_MAX 8

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

	while (n < len && http_is_tchar((unsigned char)line[n]))
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
		if ((how & NO_HEADERS) || name_is(line, n, HTTP_REJECT_HEADER))
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

	snprintf(extra, sizeof(extra), "%s: %d %s %s %s\r\n%s",
	    HTTP_REJECT_HEADER, status, keep ? "keep" : "close", code, msg,
	    keep ? "" : "Connection: close\r\n");
	emit_head(
	    c, dst, keep ? ONLY_CONNECTION : NO_HEADERS, extra, !c->line_ok);
	log_info("http.refuse", "peer=%s status=%d code=%s msg=%s",
	    conn_peer(c), status, code, log_quote(q, sizeof(q), msg));
	http_count_refusal(c->srv, code);
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

	while (m < len && m <= HTTP_METHOD_MAX &&
	       http_is_tchar((unsigned char)line[m]))
		m++;
	if (m == 0 || m > HTTP_METHOD_MAX || m >= len || line[m] != ' ')
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

	while (i < n && http_hexval((unsigned char)s[i]) >= 0) {
		if (i == 15)
			return -1;
		v = v * 16 + http_hexval((unsigned char)s[i]);
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
		http_count_refusal(c->srv, "request_timeout");
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
struct bufferevent *
http_guard_new(struct event_base *base, void *arg)
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

/*
 * citysim_feed - a small blocking HTTP/1.1 client for ingestd.
 *
 * The simulator talks to ingestd exactly as a sector system does: POST
 * with a bearer token, JSON in, JSON out.  It keeps one keep-alive
 * connection and blocks on it (a command-line tool has nothing else to
 * do).  DESIGN.md §3 says what a client must do with the answers: a 503
 * means "not kept, send it again after Retry-After", and a request whose
 * answer was lost may be sent again, because ingestd deduplicates events
 * by (source, id) and readings by (point, ts).  sim_feed_post() does both,
 * up to max_tries.  Answers are read by Content-Length or chunked
 * encoding, or to the end of the connection.  The caller owns the struct
 * sim_feed and each answer's body.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "citysim.h"

#define HEAD_MAX (64 * 1024)
#define RETRY_AFTER_MAX_S 10

int
sim_feed_init(struct sim_feed *f, const char *url, const char *token, char *why,
    size_t whysize)
{
	const char *host, *colon, *end;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->timeout_s = 60;
	f->max_tries = 30;
	if (strncmp(url, "http://", 7) != 0) {
		snprintf(
		    why, whysize, "url '%.100s' must start with http://", url);
		return -1;
	}
	host = url + 7;
	end = host + strcspn(host, "/");
	if (*end == '/' && end[1] != '\0') {
		snprintf(why, whysize,
		    "url '%.100s' must have no path: the "
		    "API paths are fixed",
		    url);
		return -1;
	}
	colon = memchr(host, ':', (size_t)(end - host));
	if (colon == NULL) {
		colon = end;
		snprintf(f->port, sizeof(f->port), "80");
	} else if (end - colon - 1 < 1 ||
	           end - colon - 1 >= (long)sizeof(f->port)) {
		snprintf(why, whysize, "url '%.100s': bad port", url);
		return -1;
	} else {
		memcpy(f->port, colon + 1, (size_t)(end - colon - 1));
	}
	if (colon == host || colon - host >= (long)sizeof(f->host)) {
		snprintf(why, whysize, "url '%.100s': bad host", url);
		return -1;
	}
	memcpy(f->host, host, (size_t)(colon - host));
	if (token == NULL || token[0] == '\0' ||
	    strlen(token) >= sizeof(f->token) || strpbrk(token, "\r\n ")) {
		snprintf(why, whysize,
		    "a source token is needed: --token T or "
		    "ANQUAN_TOKEN (safetyctl token create makes one)");
		return -1;
	}
	snprintf(f->token, sizeof(f->token), "%s", token);
	return 0;
}

void
sim_feed_close(struct sim_feed *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->buf);
	f->buf = NULL;
	f->len = f->cap = 0;
}

void
sim_answer_free(struct sim_answer *a)
{
	free(a->body);
	memset(a, 0, sizeof(*a));
}

static void
disconnect(struct sim_feed *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->len = 0;
}

static int
connect_to(struct sim_feed *f, char *why, size_t whysize)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = {f->timeout_s, 0};
	int one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(f->host, f->port, &hints, &res);
	if (rc != 0) {
		snprintf(why, whysize, "%s:%s: %s", f->host, f->port,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		f->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (f->fd < 0)
			continue;
		setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(f->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(f->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		snprintf(why, whysize, "connect to %s:%s: %s", f->host, f->port,
		    strerror(errno));
		close(f->fd);
		f->fd = -1;
	}
	freeaddrinfo(res);
	f->len = 0;
	return f->fd >= 0 ? 0 : -1;
}

static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read more bytes into the buffer: 1 read, 0 end of stream, -1 error. */
static int
fill(struct sim_feed *f)
{
	ssize_t n;

	if (f->cap - f->len < 16384) {
		size_t cap = f->cap ? f->cap * 2 : 65536;
		char *b = realloc(f->buf, cap);

		if (b == NULL)
			return -1;
		f->buf = b;
		f->cap = cap;
	}
	do
		n = recv(f->fd, f->buf + f->len, f->cap - f->len - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	f->len += (size_t)n;
	f->buf[f->len] = '\0';
	return n > 0;
}

/* Make sure the buffer holds at least want bytes. */
static int
fill_to(struct sim_feed *f, size_t want)
{
	while (f->len < want)
		if (fill(f) != 1)
			return -1;
	return 0;
}

static void
consume(struct sim_feed *f, size_t n)
{
	memmove(f->buf, f->buf + n, f->len - n);
	f->len -= n;
	if (f->buf != NULL)
		f->buf[f->len] = '\0';
}

static int
append(struct sim_answer *a, const char *p, size_t n)
{
	char *b = realloc(a->body, a->len + n + 1);

	if (b == NULL)
		return -1;
	a->body = b;
	memcpy(a->body + a->len, p, n);
	a->len += n;
	a->body[a->len] = '\0';
	return 0;
}

static int
read_chunked(struct sim_feed *f, struct sim_answer *a)
{
	for (;;) {
		char *eol;
		unsigned long size;

		while ((eol = f->len ? strstr(f->buf, "\r\n") : NULL) == NULL)
			if (fill(f) != 1 || f->len > HEAD_MAX)
				return -1;
		size = strtoul(f->buf, NULL, 16);
		consume(f, (size_t)(eol - f->buf) + 2);
		if (fill_to(f, size + 2) != 0)
			return -1;
		if (append(a, f->buf, size) != 0)
			return -1;
		consume(f, size + 2);
		if (size == 0)
			return 0; /* no trailers from evhttp */
	}
}

/* Read one answer.  Returns 0, or -1 when the connection failed. */
static int
read_answer(struct sim_feed *f, struct sim_answer *a, int *retry_after_s,
    bool *close_after)
{
	char *end, *line;
	long clen = -1;
	bool chunked = false;
	size_t head;

	while ((end = f->len ? strstr(f->buf, "\r\n\r\n") : NULL) == NULL) {
		if (f->len > HEAD_MAX || fill(f) != 1)
			return -1;
	}
	head = (size_t)(end - f->buf) + 4;
	*end = '\0';
	if (sscanf(f->buf, "HTTP/1.%*d %d", &a->status) != 1)
		return -1;
	*retry_after_s = 1;
	*close_after = strncmp(f->buf, "HTTP/1.0", 8) == 0;
	for (line = strstr(f->buf, "\r\n"); line != NULL;
	     line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;

		if (strncasecmp(h, "Content-Length:", 15) == 0)
			clen = strtol(h + 15, NULL, 10);
		else if (strncasecmp(h, "Retry-After:", 12) == 0)
			*retry_after_s = atoi(h + 12);
		else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 &&
		         strstr(h, "chunked") != NULL)
			chunked = true;
		else if (strncasecmp(h, "Connection:", 11) == 0 &&
		         strcasestr(h, "close") != NULL)
			*close_after = true;
	}
	consume(f, head);
	if (chunked)
		return read_chunked(f, a);
	if (clen >= 0) {
		if (fill_to(f, (size_t)clen) != 0 ||
		    append(a, f->buf, (size_t)clen) != 0)
			return -1;
		consume(f, (size_t)clen);
		return 0;
	}
	while (fill(f) == 1)
		;
	*close_after = true;
	return append(a, f->buf ? f->buf : "", f->len);
}

static void
sleep_s(int s)
{
	struct timespec ts = {s, 0};

	nanosleep(&ts, NULL);
}

int
sim_feed_post(struct sim_feed *f, const char *path, const char *body,
    size_t len, struct sim_answer *a, char *why, size_t whysize)
{
	char head[512];
	int n, tries;

	memset(a, 0, sizeof(*a));
	n = snprintf(head, sizeof(head),
	    "POST %s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n",
	    path, f->host, f->port, f->token, len);
	for (tries = 1; tries <= f->max_tries; tries++) {
		if (tries > 1 && f->stop != NULL && *f->stop) {
			snprintf(why, whysize, "stopped while resending");
			break;
		}
		int retry_after = 1;
		bool close_after = false;

		sim_answer_free(a);
		if (f->fd < 0 && connect_to(f, why, whysize) != 0) {
			f->retries++;
			sleep_s(1);
			continue;
		}
		if (send_all(f->fd, head, (size_t)n) != 0 ||
		    send_all(f->fd, body, len) != 0 ||
		    read_answer(f, a, &retry_after, &close_after) != 0) {
			/* The request may have been kept; a resend is a
			 * duplicate then, never a second copy. */
			snprintf(why, whysize, "connection to %s:%s lost: %s",
			    f->host, f->port,
			    errno ? strerror(errno) : "closed");
			disconnect(f);
			f->retries++;
			continue;
		}
		if (close_after)
			disconnect(f);
		if (a->status != 503)
			return 0;
		f->retries++;
		if (retry_after < 1)
			retry_after = 1;
		sleep_s(retry_after > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S
		                                        : retry_after);
	}
	if (a->status == 503) {
		snprintf(why, whysize,
		    "ingestd still answers 503 after %d "
		    "tries: %.200s",
		    f->max_tries, a->body ? a->body : "");
		sim_answer_free(a);
	}
	return -1;
}

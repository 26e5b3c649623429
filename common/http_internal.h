/*
 * http_internal - what the three files of the http module share.
 *
 * The http module is three files: http_route.c is the router, pure
 * functions over route tables; http_guard.c is the request guard, the
 * bufferevent filter every connection reads through before evhttp sees its
 * bytes; http.c is the server, its dispatcher and the answers.  The server
 * struct is here because the guard reads its limits and counts its
 * refusals through it; the server owns it.  This header is for those three
 * files only; programs include http.h.
 */
#ifndef ANQUAN_HTTP_INTERNAL_H
#define ANQUAN_HTTP_INTERNAL_H

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

struct bufferevent;
struct evhttp;
struct evhttp_bound_socket;
struct metric;

/*
 * The header the guard puts in place of a refused request, read by the
 * dispatcher: "<status> keep|close <code> <message>".  The guard strips
 * any copy a client sends, so it cannot be forged.
 */
#define HTTP_REJECT_HEADER "X-Anquan-Reject"
/* Longest method name the router and the guard accept. */
#define HTTP_METHOD_MAX 20

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

/* A token character of RFC 9110 (methods, header names). */
static inline bool
http_is_tchar(unsigned char c)
{
	return isalnum(c) ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The value of one hex digit, or -1. */
static inline int
http_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Put a reason into why (when there is room) and return -1. */
int http_check_fail(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Count a refusal in http_refused_total by its code (http.c). */
void http_count_refusal(struct http_server *srv, const char *code);

/*
 * The bufferevent evhttp reads a new connection through: the guard's
 * filter over a socket bufferevent (arg is the server).  evhttp owns it;
 * freeing it frees the guard's per-connection state.  NULL when memory
 * ran out, and evhttp then serves the connection unguarded.
 */
struct bufferevent *http_guard_new(struct event_base *base, void *arg);

#endif

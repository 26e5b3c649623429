/*
 * http_route - the router: which route of which table takes a request.
 *
 * Pure functions over the route tables the services declare, with no
 * network, no allocation that outlives a call and no state, so the unit
 * tests drive them directly.  http.c checks each route with
 * http_route_check() when a table is added and calls http_route_match()
 * once per request; a handler's http_req_param() is http_match_param() on
 * the request's match.  A path is split into segments and percent-decoded
 * into the caller's struct http_match, which owns every decoded value, and
 * matched segment by segment; a literal segment beats a {param} at the
 * same place, and a route of the request's method beats a GET route
 * serving HEAD.  When no route has the path, the match says whether it
 * exists without a trailing '/', so the 404 can say so.
 */
#include "http_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Longest {param} name in a route's path. */
#define PARAM_NAME_MAX 32

int
http_check_fail(char *why, size_t size, const char *fmt, ...)
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
		return http_check_fail(why, why_size,
		    "route without method, path "
		    "or handler");
	n = strlen(rt->method);
	if (n == 0 || n > HTTP_METHOD_MAX)
		return http_check_fail(
		    why, why_size, "bad method '%s'", rt->method);
	for (size_t i = 0; i < n; i++)
		if (!http_is_tchar((unsigned char)rt->method[i]))
			return http_check_fail(
			    why, why_size, "bad method '%s'", rt->method);
	if (rt->path[0] != '/' || strlen(rt->path) > HTTP_PATH_MAX)
		return http_check_fail(why, why_size,
		    "path '%s' must start with '/' and be at most %d bytes",
		    rt->path, HTTP_PATH_MAX);
	if (strcmp(rt->path, "/") == 0)
		return 0;
	for (p = rt->path + 1;; p += n + 1) {
		n = strcspn(p, "/");
		if (n == 0)
			return http_check_fail(why, why_size,
			    "path '%s' has an empty segment or a trailing '/'",
			    rt->path);
		if (++nsegs > HTTP_SEGMENTS_MAX)
			return http_check_fail(why, why_size,
			    "path '%s' has more than %d segments", rt->path,
			    HTTP_SEGMENTS_MAX);
		if (p[0] == '{') {
			if (n < 3 || p[n - 1] != '}' || n - 2 > PARAM_NAME_MAX)
				return http_check_fail(why, why_size,
				    "path '%s': a parameter is a whole segment "
				    "{name}",
				    rt->path);
			for (size_t i = 1; i < n - 1; i++) {
				unsigned char c = (unsigned char)p[i];
				if (!(isalpha(c) || c == '_' ||
				        (i > 1 && isdigit(c))))
					return http_check_fail(why, why_size,
					    "path '%s': bad parameter name",
					    rt->path);
			}
			for (size_t k = 0; k < nparams; k++)
				if (lens[k] == n - 2 &&
				    memcmp(names[k], p + 1, n - 2) == 0)
					return http_check_fail(why, why_size,
					    "path '%s' repeats a parameter",
					    rt->path);
			if (nparams == HTTP_PARAMS_MAX)
				return http_check_fail(why, why_size,
				    "path '%s' has too many parameters",
				    rt->path);
			names[nparams] = p + 1;
			lens[nparams++] = n - 2;
		} else {
			for (size_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)p[i];
				if (c <= 0x20 || c >= 0x7f ||
				    strchr("{}%?#", c) != NULL)
					return http_check_fail(why, why_size,
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
			if (i + 2 >= n || (hi = http_hexval(p[i + 1])) < 0 ||
			    (lo = http_hexval(p[i + 2])) < 0) {
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

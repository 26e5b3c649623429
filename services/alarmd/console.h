/*
 * console - the duty console: the page (GET /), its event stream
 * (GET /v1/stream) and the officer's "who am I" (GET /v1/whoami).
 *
 * The page is one self-contained HTML document in Chinese (inline CSS and
 * JavaScript, nothing from any other host), kept as a C string in
 * console_page.c because the build cannot embed files.  In the browser it
 * asks for the officer's token (kept in localStorage), checks it with
 * GET /v1/whoami, lists the open incidents by level from GET /v1/incidents
 * and keeps the list live from the stream: event "incident" carries one
 * incident as api.c renders it, upserted by id.  Details, 签收 and 办结
 * (POST /v1/incidents/{id}/ack, /resolve with {"note"}), history and
 * silences use the API of api.c.  Elements the browser test drives carry
 * data-testid attributes (tests/browser/console.mjs).
 *
 * The stream needs the officer's token too; the browser's EventSource
 * cannot send headers, so it comes as ?token= (an Authorization header is
 * taken as well), checked with officers_check() before the request is
 * handed to the SSE hub.  main.c registers console_routes (or the three
 * handlers in its own table) and calls console_set() in init.
 */
#ifndef ANQUAN_ALARMD_CONSOLE_H
#define ANQUAN_ALARMD_CONSOLE_H

#include <stddef.h>

#include "http.h"

struct sse;
struct store;

/* The page: console_page_len bytes of UTF-8 HTML (NUL after them). */
extern const char console_page[];
extern const size_t console_page_len;

/* The routes below, ready for http_server_add_routes (any arg). */
extern const struct http_route console_routes[];
extern const size_t console_nroutes;

/* The store the stream's token check asks and the hub streams go to. */
void console_set(struct store *st, struct sse *hub);

/* GET /: the page, text/html; charset=utf-8, no-cache. */
void console_handle(struct http_req *r, void *arg);

/*
 * GET /v1/stream?token=: 401 without a valid officer token, 503 when the
 * store cannot tell or the hub is full; else the SSE stream (sse_attach).
 */
void console_stream(struct http_req *r, void *arg);

/*
 * GET /v1/whoami (HTTP_ROUTE_AUTH, officers_auth): {"id","name"} of the
 * token's officer, for the page's login.
 */
void console_whoami(struct http_req *r, void *arg);

#endif

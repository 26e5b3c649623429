/*
 * http_echo - a small server on common/http for tests/system/t_http.sh.
 *
 *   http_echo PORTFILE [MAX_BODY_BYTES]
 *
 * Listens on 127.0.0.1 at a port of the kernel's choosing and writes that
 * port to PORTFILE once it is listening, so the test never races another
 * program for a port.  It registers two route tables, as a daemon does
 * (built-ins, then the service's), with a bearer-token callback, a 2 s read
 * deadline and small limits so that every refusal is easy to provoke.
 * SIGTERM or SIGINT stop the loop and free everything, so the sanitizer
 * build also checks for leaks.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "http.h"
#include "json.h"
#include "log.h"
#include "metrics.h"

struct later;

struct echo {
	struct event_base *base;
	struct metrics *metrics;
	struct later *pending; /* answers not yet sent, freed at exit */
};

static void
handle_health(struct http_req *r, void *arg)
{
	struct json_out w;

	(void)arg;
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_bool(&w, "ok", true);
	json_out_obj_close(&w);
	http_reply_json(r, 200, &w);
	json_out_free(&w);
}

/* Parse the body strictly and answer with its name field and the body. */
static void
handle_echo(struct http_req *r, void *arg)
{
	struct json_err err;
	struct json_out w;
	const char *body, *name = NULL;
	size_t len;
	cJSON *root;

	(void)arg;
	body = http_req_body(r, &len);
	root = json_parse(body, len, &err);
	if (root == NULL) {
		http_reply_error(r, 400, "bad_json", "%s", err.msg);
		return;
	}
	if (cJSON_IsObject(root) &&
	    json_get_str(root, "name", &name, false, &err) < 0) {
		cJSON_Delete(root);
		http_reply_error(r, 422, "bad_field", "%s", err.msg);
		return;
	}
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_int(&w, "bytes", (int64_t)len);
	json_out_kv_str(&w, "name", name);
	json_out_key(&w, "body");
	json_out_raw(&w, body, len);
	json_out_obj_close(&w);
	cJSON_Delete(root);
	http_reply_json(r, 200, &w);
	json_out_free(&w);
}

static void
handle_item(struct http_req *r, void *arg)
{
	struct json_out w;

	(void)arg;
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_str(&w, "id", http_req_param(r, "id"));
	json_out_kv_str(&w, "q", http_req_query(r, "q"));
	json_out_kv_str(&w, "method", http_req_method(r));
	json_out_obj_close(&w);
	http_reply_json(r, 200, &w);
	json_out_free(&w);
}

static void
handle_secure(struct http_req *r, void *arg)
{
	struct json_out w;

	(void)arg;
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_str(&w, "principal", http_req_principal(r));
	json_out_obj_close(&w);
	http_reply_json(r, 200, &w);
	json_out_free(&w);
}

static void
handle_busy(struct http_req *r, void *arg)
{
	(void)arg;
	http_set_retry_after(r, 5);
	http_reply_error(
	    r, 503, "overloaded", "the queue is full; retry after %d s", 5);
}

/* An answer that comes later, from a timer, as after a commit. */
struct later {
	struct echo *e;
	struct http_req *r;
	struct event *ev;
	struct later *next;
};

static void
later_free(struct later *l)
{
	struct later **pp = &l->e->pending;

	while (*pp != l)
		pp = &(*pp)->next;
	*pp = l->next;
	event_free(l->ev);
	free(l);
}

static void
answer_later(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;

	(void)fd;
	(void)what;
	http_reply_text(l->r, 200, "application/json; charset=utf-8",
	    "{\"slow\":true}", 13);
	later_free(l);
}

static void
handle_slow(struct http_req *r, void *arg)
{
	struct echo *e = arg;
	const char *ms = http_req_query(r, "ms");
	long v = ms != NULL ? strtol(ms, NULL, 10) : 1000;
	struct timeval tv = {v / 1000, (v % 1000) * 1000};
	struct later *l = calloc(1, sizeof(*l));

	if (l == NULL || v < 0 || v > 60000) {
		free(l);
		http_reply_error(r, 400, "bad_query", "ms must be 0..60000");
		return;
	}
	l->e = e;
	l->r = r;
	l->ev = evtimer_new(e->base, answer_later, l);
	l->next = e->pending;
	e->pending = l;
	evtimer_add(l->ev, &tv);
}

/* A streamed answer: the handler takes the libevent request over. */
static void
handle_stream(struct http_req *r, void *arg)
{
	struct evhttp_request *ev;
	struct evbuffer *b = evbuffer_new();

	(void)arg;
	http_set_header(r, "Content-Type", "text/event-stream");
	ev = http_req_detach(r);
	evhttp_send_reply_start(ev, 200, "OK");
	for (int i = 1; i <= 3; i++) {
		evbuffer_add_printf(b, "data: %d\n\n", i);
		evhttp_send_reply_chunk(ev, b);
	}
	evhttp_send_reply_end(ev);
	evbuffer_free(b);
}

static enum http_auth_verdict
check_token(const char *token, const struct http_req *r, void *arg,
    const void **principal, char *why, size_t why_size)
{
	(void)arg;
	if (strcmp(token, "good-token") == 0) {
		*principal = "gas-system";
		return HTTP_AUTH_OK;
	}
	if (strcmp(token, "readonly-token") == 0) {
		snprintf(why, why_size, "this token may only read, not %s",
		    http_req_method(r));
		return HTTP_AUTH_FORBIDDEN;
	}
	return HTTP_AUTH_UNKNOWN;
}

static const struct http_route builtin_routes[] = {
    {"GET", "/healthz", handle_health, 0},
    {"GET", "/metrics", http_handle_metrics, 0},
};

static const struct http_route service_routes[] = {
    {"POST", "/v1/echo", handle_echo, 0},
    {"GET", "/v1/items/{id}", handle_item, 0},
    {"GET", "/v1/items/special", handle_health, 0},
    {"POST", "/v1/secure", handle_secure, HTTP_ROUTE_AUTH},
    {"POST", "/v1/busy", handle_busy, 0},
    {"GET", "/v1/slow", handle_slow, 0},
    {"GET", "/v1/stream", handle_stream, 0},
};

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("echo.stop", "signal=%d", (int)sig);
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	struct http_opts opts = {0};
	struct echo e = {0};
	struct http_server *srv;
	struct event *sigterm, *sigint;
	char tmp[4096];
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: http_echo PORTFILE [MAX_BODY_BYTES]\n");
		return 2;
	}
	log_init("http_echo", LOGL_INFO);
	e.base = event_base_new();
	e.metrics = metrics_new();
	opts.max_body_bytes = argc > 2 ? strtoul(argv[2], NULL, 10) : 65536;
	opts.max_headers_bytes = 8192;
	opts.timeout_s = 2;
	opts.idle_timeout_s = 5;
	opts.auth = check_token;
	opts.metrics = e.metrics;
	srv = http_server_new(e.base, "127.0.0.1", 0, &opts);
	if (srv == NULL)
		log_fatal("echo.start", "err=\"cannot listen\"");
	if (http_server_add_routes(srv, builtin_routes, 2, e.metrics) < 0 ||
	    http_server_add_routes(srv, service_routes,
	        sizeof(service_routes) / sizeof(service_routes[0]), &e) < 0)
		log_fatal("echo.start", "err=\"bad routes\"");
	/* Write the port under another name, then rename: never half a file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%d\n", http_server_port(srv)) < 0 ||
	    fclose(f) != 0 || rename(tmp, argv[1]) != 0)
		log_fatal("echo.start", "err=\"cannot write %s\"", argv[1]);
	sigterm = evsignal_new(e.base, SIGTERM, on_signal, e.base);
	sigint = evsignal_new(e.base, SIGINT, on_signal, e.base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	event_base_dispatch(e.base);
	log_info("echo.exit", "inflight=%zu", http_server_inflight(srv));
	http_server_free(srv);
	while (e.pending != NULL)
		later_free(e.pending);
	event_free(sigterm);
	event_free(sigint);
	metrics_free(e.metrics);
	event_base_free(e.base);
	return 0;
}

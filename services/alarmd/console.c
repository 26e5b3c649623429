/*
 * console - serving the duty console: the page, its stream and whoami.
 *
 * The page itself is console_page.c.  The stream handler checks the
 * officer's token (console.h says why it may come in the query) and hands
 * the request to the SSE hub, which owns it from then on.  The store and
 * the hub are the daemon's, given once by console_set(); the handlers run
 * on the loop's thread.
 */
#include "console.h"

#include <string.h>
#include <strings.h>

#include "alarmd.h"
#include "json.h"
#include "log.h"
#include "officers.h"
#include "sse.h"

static struct store *console_store;
static struct sse *console_hub;

const struct http_route console_routes[] = {
    {"GET", "/", console_handle, 0},
    {"GET", "/v1/stream", console_stream, 0},
    {"GET", "/v1/whoami", console_whoami, HTTP_ROUTE_AUTH},
};
const size_t console_nroutes =
    sizeof(console_routes) / sizeof(console_routes[0]);

void
console_set(struct store *st, struct sse *hub)
{
	console_store = st;
	console_hub = hub;
}

void
console_handle(struct http_req *r, void *arg)
{
	(void)arg;
	http_set_header(r, "Cache-Control", "no-cache");
	/* Everything the page needs is inline; forbid anything else, so a
	 * slip (an external script, font or form target) fails loudly. */
	http_set_header(r, "Content-Security-Policy",
	    "default-src 'none'; script-src 'unsafe-inline'; "
	    "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' "
	    "data:; form-action 'none'; base-uri 'none'; "
	    "frame-ancestors 'none'");
	http_set_header(r, "X-Content-Type-Options", "nosniff");
	http_set_header(r, "Referrer-Policy", "no-referrer");
	http_reply_text(
	    r, 200, "text/html; charset=utf-8", console_page, console_page_len);
}

/* The token of a stream request: ?token=, else a Bearer header. */
static const char *
stream_token(struct http_req *r)
{
	const char *t = http_req_query(r, "token");
	const char *h;

	if (t != NULL && t[0] != '\0')
		return t;
	h = http_req_header(r, "Authorization");
	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		h += strspn(h, " ");
		return h;
	}
	return NULL;
}

void
console_stream(struct http_req *r, void *arg)
{
	const char *token = stream_token(r);
	struct officer who;

	(void)arg;
	if (console_hub == NULL) {
		http_set_retry_after(r, 5);
		http_reply_error(
		    r, 503, "unavailable", "实时推送尚未就绪，请稍后重试");
		return;
	}
	if (token == NULL) {
		http_reply_error(r, 401, "unauthorized",
		    "实时推送需要值班令牌：/v1/stream?token=<令牌>");
		return;
	}
	switch (officers_check(console_store, token, &who)) {
	case OFFICERS_OK:
		break;
	case OFFICERS_STORE:
		http_set_retry_after(r, 5);
		http_reply_error(r, 503, "store_unavailable",
		    "暂时无法核验令牌：数据库不可达，请稍后重试");
		return;
	default:
		http_reply_error(r, 401, "unauthorized",
		    "令牌不存在或已吊销：请向运维人员索取新令牌（safetyctl "
		    "officer create）");
		return;
	}
	log_info("console.stream", "rid=%s peer=%s officer=%s", http_req_id(r),
	    http_req_peer(r), who.id);
	sse_attach(console_hub, r);
}

void
console_whoami(struct http_req *r, void *arg)
{
	const struct officer *who = http_req_principal(r);
	struct json_out out;

	(void)arg;
	if (who == NULL) {
		http_reply_error(r, 401, "unauthorized", "需要值班令牌");
		return;
	}
	json_out_init(&out);
	json_out_obj_open(&out);
	json_out_kv_str(&out, "id", who->id);
	json_out_kv_str(&out, "name", who->name);
	json_out_obj_close(&out);
	if (json_out_failed(&out))
		http_reply_error(
		    r, 503, "unavailable", "服务内存不足，请稍后重试");
	else
		http_reply_json(r, 200, &out);
	json_out_free(&out);
}

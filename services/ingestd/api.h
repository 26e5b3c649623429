/*
 * api - ingestd's HTTP API: POST /v1/readings and POST /v1/events.
 *
 * main.c owns one struct api, fills its borrowed pointers (registry,
 * writer, metrics) and limits in init, and gives it as the daemon spec's
 * arg, so the route handlers and the bearer-token callback get it.  A
 * request is decoded and validated on the loop thread into a job, handed
 * to the writer, and answered from the job's done callback once the
 * writer committed it (202) or could not (503, 500).  The api owns
 * nothing but its metric handles; a job in flight owns its request.
 */
#ifndef ANQUAN_INGESTD_API_H
#define ANQUAN_INGESTD_API_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "ingestd.h"

struct metric;

/* Rejection classes counted in anquan_ingest_rejected_total{reason}. */
#define API_REJECT_CLASSES 12

struct api {
	struct registry *reg;
	struct store *store; /* the loop's: unknown tokens are looked up */
	struct writer *writer;
	int64_t max_future_ms;
	int64_t retention_ms;
	size_t max_items;
	struct metric *m_rejected[API_REJECT_CLASSES];
	struct metric *m_status[8];
};

/* Register the api's metrics; call once from init.  0 or -1. */
int api_init(struct api *api, struct metrics *m);

/* The routes (handlers take the struct api as arg) and their count. */
#define API_NROUTES 2
extern const struct http_route api_routes[API_NROUTES];
extern const size_t api_nroutes;

/* The bearer-token check for HTTP_ROUTE_AUTH routes (arg: struct api). */
enum http_auth_verdict api_auth(const char *token, const struct http_req *r,
    void *arg, const void **principal, char *why, size_t why_size);

/* The short class a rejection reason is counted under ("scope", ...). */
const char *api_reject_class(const char *reason);
/* The help line of anquan_ingest_rejected_total (the intake counts there too). */
#define API_REJECTED_HELP "items refused, by the class of their reason"


#endif

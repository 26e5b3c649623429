/*
 * metrics - a registry of counters, gauges and histograms, rendered in the
 * Prometheus text exposition format 0.0.4 for GET /metrics.
 *
 * Each daemon makes one registry at start (daemon.c) and hands it to the
 * modules that count things: the HTTP server, the bus, the store, the
 * service itself.  Registration returns a handle that stays valid until
 * metrics_free(); updating through a handle is a relaxed C11 atomic
 * operation, so any thread may count (ingestd's writer thread does) while
 * the loop thread renders.  Registration and rendering take a mutex;
 * registration normally happens once, at start.
 *
 * A series is a family name plus one optional label set, e.g.
 *   anquan_ingest_rejected_total{reason="bad_value"} 3
 * Several series with different label values share one family (one
 * # HELP and # TYPE).  Names get the "anquan_" prefix unless they already
 * carry it; names and label names are checked, label values and help text
 * escaped.  A registration that fails (bad name, kind clash) logs why and
 * returns NULL, and every update function accepts NULL and does nothing, so
 * a counting mistake never takes a daemon down.  Values that live in other
 * modules' plain structs are exposed with the *_fn variants, read at
 * render time on the rendering thread.
 */
#ifndef ANQUAN_METRICS_H
#define ANQUAN_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct metrics;
struct metric;

#define METRICS_PREFIX "anquan_"
/* Label pairs per series, buckets per histogram, characters per name. */
#define METRICS_LABELS_MAX 4
#define METRICS_BUCKETS_MAX 32
#define METRICS_NAME_MAX 100

/* Bucket bounds in seconds for request and commit latencies. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

/* An empty registry (NULL if out of memory). */
struct metrics *metrics_new(void);
/* Free the registry and every handle it gave out. */
void metrics_free(struct metrics *reg);

/*
 * Register a series.  labels is NULL or a NULL-terminated list of
 * name, value pairs: (const char *[]){"reason", "bad_value", NULL}.
 * Registering the same name and labels again returns the same handle.
 */
struct metric *metrics_counter(struct metrics *reg, const char *name,
    const char *help, const char *const *labels);
/* A value that goes up and down (queue depth, lag); starts at 0. */
struct metric *metrics_gauge(struct metrics *reg, const char *name,
    const char *help, const char *const *labels);
/* bounds: strictly increasing finite upper bounds; +Inf is implied. */
struct metric *metrics_histogram(struct metrics *reg, const char *name,
    const char *help, const char *const *labels, const double *bounds,
    size_t nbounds);
/* Series whose value fn(arg) returns at render time. */
struct metric *metrics_counter_fn(struct metrics *reg, const char *name,
    const char *help, const char *const *labels, uint64_t (*fn)(void *),
    void *arg);
/* The gauge counterpart; fn must not register metrics (deadlock). */
struct metric *metrics_gauge_fn(struct metrics *reg, const char *name,
    const char *help, const char *const *labels, double (*fn)(void *),
    void *arg);

/* Counters only go up. */
void metrics_inc(struct metric *counter);
/* Add n to a counter. */
void metrics_add(struct metric *counter, uint64_t n);
/* Set a gauge. */
void metrics_set(struct metric *gauge, double v);
/* Move a gauge by delta (negative to lower it). */
void metrics_gauge_add(struct metric *gauge, double delta);
/* Count v in the first bucket whose bound is >= v; NaN is ignored. */
void metrics_observe(struct metric *hist, double v);

/* Current values (0 for NULL), for tests and health checks. */
uint64_t metrics_counter_value(const struct metric *counter);
/* A gauge's current value (fn gauges are called). */
double metrics_gauge_value(const struct metric *gauge);

/* Append the exposition text to out; returns 0, or -1 if out of memory. */
int metrics_render(struct metrics *reg, struct evbuffer *out);
/*
 * Write the exposition text into buf (always NUL-terminated when size > 0);
 * returns the full length, which is >= size when it did not fit.
 */
size_t metrics_render_buf(struct metrics *reg, char *buf, size_t size);

#endif

/*
 * deliver - webhook delivery to the configured receivers (the SMS/IM
 * gateway): retries with exponential backoff, a fallback receiver for one
 * that keeps failing, every attempt recorded with the receiver's answer as
 * evidence (DESIGN.md 4.2).
 *
 * alarmd's core writes a notification and one `deliveries` row per
 * primary receiver in the transaction that decides it, and after COMMIT
 * hands each row to deliver_submit().  The engine POSTs the payload with
 * libevent's HTTP client, never blocking the loop and never letting a
 * slow or dead receiver hold up the others (each receiver has its own
 * connections and queue).  Outcomes are written to `deliveries` and
 * `delivery_attempts` in batches on the engine's own store connection.
 * After attempts_before_fallback failures the delivery is marked failed
 * and a new delivery to the fallback receiver is made (fallback_of), and
 * a delivery that keeps failing stays visible as failed.  At start
 * deliver_load_pending() takes over what a previous process left pending.
 */
#ifndef ANQUAN_ALARMD_DELIVER_H
#define ANQUAN_ALARMD_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct metrics;
struct deliver;

#define DELIVER_RECEIVERS_MAX 8

struct deliver_receiver {
	char name[32];
	char url[256]; /* http://host:port/path */
};

struct deliver_opts {
	const char *conninfo; /* the engine's own store connection */
	size_t nreceivers;    /* primary receivers (each notice to all) */
	struct deliver_receiver receivers[DELIVER_RECEIVERS_MAX];
	struct deliver_receiver fallback; /* name "" when none */
	int attempts_before_fallback;     /* [5] */
	int64_t backoff_min_ms;           /* [500] */
	int64_t backoff_max_ms;           /* [300000] */
	int64_t timeout_ms;               /* one attempt [5000] */
	int max_in_flight;                /* per receiver [64] */
	struct metrics *metrics;          /* anquan_alarmd_deliveries_* */
};

/*
 * Parse "name=url,name=url" into opts->receivers (at most
 * DELIVER_RECEIVERS_MAX; names [a-z0-9_-]{1,31}, urls http://); 0 or -1
 * with why.  An empty spec is no receiver.
 */
int deliver_receivers_parse(
    const char *spec, struct deliver_opts *opts, char *why, size_t wlen);

/* Make the engine on base; NULL (logged) on error. */
struct deliver *deliver_new(struct event_base *base,
    const struct deliver_opts *opts);

/* Stop sending, write what is recorded, free. */
void deliver_free(struct deliver *d);

/* Load the pending deliveries from the store and queue them; 0 or -1. */
int deliver_load_pending(struct deliver *d);

/*
 * Queue one delivery (its row is committed): the engine copies payload
 * (the JSON body) and sends it to receiver (a name from the options).
 */
void deliver_submit(struct deliver *d, int64_t delivery_id,
    const char *receiver, const char *payload, size_t len);

/* The primary receivers' names, for the rows the core writes. */
size_t deliver_receiver_count(const struct deliver *d);
const char *deliver_receiver_name(const struct deliver *d, size_t i);

/* Deliveries queued or in flight. */
size_t deliver_backlog(const struct deliver *d);

/* Backoff before attempt n+1 after n failures (pure, for tests):
 * min x 2^(n-1), capped at max, with no jitter. */
int64_t deliver_backoff_ms(int64_t min_ms, int64_t max_ms, int failures);

#endif

/*
 * deliver_internal - what deliver.c (the HTTP side of webhook delivery)
 * and deliver_store.c (its SQL) share.
 *
 * A delivery in memory is a dl_item, owned by the engine from
 * deliver_submit() (or a load from the store) until the store has its
 * final outcome: indexed by id (so nothing is queued twice), on its
 * receiver's ready queue, waiting out a backoff, in flight on one of the
 * receiver's connections, or done and waiting for the flush that records
 * it.  Every attempt leaves a dl_rec in the engine's record buffer; a
 * 20 ms timer writes the buffer in one statement (deliver_store.c) and
 * then lets go of the items whose story is over, queueing the fallback
 * deliveries that statement made.  A receiver holds a bounded number of
 * items; beyond that its deliveries stay in the store only (spilled) and
 * are read back, in id order, when its queue has drained to half.
 */
#ifndef ANQUAN_ALARMD_DELIVER_INTERNAL_H
#define ANQUAN_ALARMD_DELIVER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <libpq-fe.h>

#include "deliver.h"
#include "store.h"

struct evdns_base;
struct evhttp_connection;
struct metric;
struct store;

/* The receiver's answer kept as evidence, and the write period. */
#define DELIVER_RECEIPT_MAX 1024
#define DELIVER_FLUSH_MS 20
/* Records of attempts not yet written (the store away): beyond PAUSE no
 * attempt is made; beyond MAX (answers still arriving) the oldest go. */
#define DELIVER_RECORDS_PAUSE 50000
#define DELIVER_RECORDS_MAX 100000
/* Items and payload bytes one receiver keeps in memory before spilling. */
#define DELIVER_ITEMS_MAX 20000
#define DELIVER_BYTES_MAX ((size_t)64 << 20)
/* The largest answer body read from a receiver. */
#define DELIVER_RESPONSE_MAX 65536

enum dl_state {
	DL_QUEUED,  /* on the receiver's ready queue */
	DL_WAITING, /* backoff timer running */
	DL_SENDING, /* in flight on a connection */
	DL_DONE,    /* final outcome recorded, not yet written */
};

struct dl_recv;

struct dl_item {
	int64_t id;
	struct dl_recv *recv;
	struct dl_item *hnext; /* index chain */
	TAILQ_ENTRY(dl_item) q;
	struct event timer; /* the backoff wait */
	char *payload;      /* NULL once delivered or given up */
	size_t len;
	int attempts; /* failed attempts so far, the store's included */
	int is_fallback;
	int wants_fallback; /* failed; its fallback is not made yet */
	enum dl_state state;
	int64_t due_ms;       /* wall clock: not sent before (next_at) */
	int64_t since_us;     /* monotonic: queued in this process */
	int64_t sent_us;      /* monotonic: this attempt began */
	int64_t sent_wall_ms; /* the same on the wall clock, for the row */
};

TAILQ_HEAD(dl_queue, dl_item);

/* One connection of a receiver's pool, and the request it carries. */
struct dl_slot {
	struct dl_recv *recv;
	struct evhttp_connection *conn;
	struct dl_item *item; /* NULL when idle */
	int error;            /* evhttp's error kind, -1 when none */
	int stale;            /* the receiver closes it: make a new one */
};

struct dl_recv {
	struct deliver *d;
	char name[32];
	char url[256];
	char host[256];
	char hosthdr[300]; /* Host: header */
	char *target;      /* path and query */
	int port;
	struct dl_queue ready;
	struct dl_slot *slots;
	int nslots;
	struct event *renew; /* replaces stale connections, off the callback */
	int in_flight;
	size_t nitems; /* in memory and not done */
	size_t bytes;  /* their payloads */
	/* Deliveries from this id on may be in the store only; INT64_MAX
	 * when none are.  spill_next collects those spilled while a read
	 * back is running. */
	int64_t spill_from;
	int64_t spill_next;
	uint64_t nspilled; /* about how many, for the backlog */
	int refilling;
	int failing; /* its last attempt failed (logged once per episode) */
};

/* One attempt, and the delivery's state after it. */
struct dl_rec {
	int64_t id;
	int64_t at_ms; /* wall clock, attempt began */
	int status;    /* HTTP status, 0 when none came */
	double latency_ms;
	char *error;           /* NULL on success */
	char *response;        /* the answer's body (cut), or NULL */
	int state;             /* DELIVER_ST_* */
	int attempts;          /* failed attempts after this one */
	int64_t next_ms;       /* wall clock of the retry, 0 for none */
	struct dl_item *final; /* released once written */
	int fallback;          /* make a fallback delivery of it */
};

enum { DELIVER_ST_PENDING, DELIVER_ST_DELIVERED, DELIVER_ST_FAILED };

struct dl_recs {
	struct dl_rec *v;
	size_t n, cap;
};

enum dl_op { DL_OP_NONE, DL_OP_FLUSH, DL_OP_REFILL };

struct deliver {
	struct event_base *base;
	struct evdns_base *dns;
	struct store *st;
	struct deliver_opts opts;
	/* recv[0..nrecv-1] the primaries, then the fallback when set. */
	struct dl_recv recv[DELIVER_RECEIVERS_MAX + 1];
	size_t nrecv, nall;
	struct dl_recv *fallback;
	size_t items_max, bytes_max; /* per receiver */
	/* The index of items by id: chained buckets, a power of two. */
	struct dl_item **buckets;
	size_t nbuckets, nindexed;
	size_t fb_waiting;      /* failed items whose fallback is being made */
	struct dl_recs recs;    /* to write */
	struct dl_recs writing; /* being written */
	struct event *tick;
	/* The one statement in progress on the store connection. */
	enum dl_op op, last_op;
	struct dl_recv *op_recv;
	PGconn *op_conn;
	struct event *op_ev;
	PGresult *op_res;
	int64_t op_started_us;
	int op_limit;
	int sql_failures; /* batches refused in a row */
	int paused;       /* no attempts: too many records unwritten */
	/* Store trouble is logged when it starts, then every 10 s. */
	int64_t trouble_since_ms, trouble_logged_ms;
	uint64_t trouble_count;
	int closing;
	struct metric *m_delivered, *m_failed, *m_retried, *m_fallback;
	struct metric *m_seconds, *m_backlog, *m_dropped, *m_store_errors;
};

/* --- deliver.c: the engine, for deliver_store.c --------------------------- */

/* The item of id in memory, or NULL. */
struct dl_item *deliver_find(struct deliver *d, int64_t id);
/* Take over a delivery read from the store (its row is pending); the
 * payload (jsonb's text) is copied and compacted.  next_ms 0 or in the
 * past means now.  0, or -1 when out of memory (logged). */
int deliver_adopt(struct deliver *d, struct dl_recv *r, int64_t id,
    int is_fallback, int attempts, int64_t next_ms, const char *payload,
    size_t len);
/* Queue the fallback delivery fb_id the store made for item (whose payload
 * it takes), or spill it when the fallback receiver is full. */
void deliver_fallback_made(
    struct deliver *d, struct dl_item *item, int64_t fb_id);
/* The written record's item is done with: unindex and free it. */
void deliver_release(struct deliver *d, struct dl_item *item);
/* A receiver's queue may take more: send what it can. */
void deliver_pump(struct dl_recv *r);
/* Set the backlog gauge after a change of d->backlog. */
void deliver_backlog_changed(struct deliver *d);
/* The receiver of that name (a primary or the fallback), or NULL. */
struct dl_recv *deliver_recv_by_name(struct deliver *d, const char *name);

/* --- deliver_store.c ------------------------------------------------------ */

/* Free a record's strings. */
void deliver_rec_clear(struct dl_rec *rec);
/* Append a record (the strings are taken); -1 when out of memory. */
int deliver_recs_push(struct dl_recs *rs, const struct dl_rec *rec);
/* The timer: write the records, or read spilled deliveries back. */
void deliver_store_tick(struct deliver *d);
/* Read back up to limit of r's pending deliveries from id r->spill_from
 * on, waiting for the answer (at start); the count adopted, or -1. */
int deliver_store_load(struct deliver *d, struct dl_recv *r, int limit);
/* The number of pending rows per receiver, to seed the backlog; 0 or -1. */
int deliver_store_count_pending(struct deliver *d);
/* At the end: finish the statement in progress, write what is left,
 * waiting for the store. */
void deliver_store_finish(struct deliver *d);

/* --- pure helpers (unit-tested) ------------------------------------------- */

/*
 * Copy at most size - 1 bytes of src[0..len) into dst as text the store
 * accepts: invalid UTF-8 and NUL become '?', a character is never cut in
 * two.  Returns the length written.
 */
size_t deliver_text_clean(char *dst, size_t size, const char *src, size_t len);

/*
 * Drop the blanks that jsonb's text output puts after ':' and ',' (outside
 * strings) from s[0..len), in place, so a notice read back from the store
 * is as compact as the one the core handed over.  Returns the new length.
 */
size_t deliver_json_compact(char *s, size_t len);

#endif

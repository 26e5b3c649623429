/*
 * bus - ZeroMQ inside a libevent loop, and the sequenced, replayable
 * streams of proto/README.md on top of it.
 *
 * Three files, one prefix:
 *   bus.c           the context and its sockets on the caller's event_base
 *                   (ZMQ_FD edge-trigger rule, nonblocking sends with a
 *                   bounded outbox), envelope pack and strict decode,
 *                   dispatch by payload case, counters;
 *   bus_log.c       the producer half: stage an envelope in bus_log inside
 *                   the caller's transaction, publish after its COMMIT;
 *   bus_consumer.c  the consumer half: cursors in bus_cursors, replay from
 *                   bus_log on start, on a gap and on a periodic resync,
 *                   handlers and cursor in one transaction.
 *
 * Ownership: a daemon makes one struct bus per event_base and frees it last;
 * the bus owns the ZeroMQ context and every socket made from it (bus_free
 * closes what is still open).  Producers and consumers borrow a socket or the
 * bus; the PGconn always belongs to the caller (the daemon's store), the bus
 * never opens, resets or closes one.  Everything here runs on the loop's
 * thread.
 */
#ifndef ANQUAN_BUS_H
#define ANQUAN_BUS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "envelope.pb-c.h"

#define BUS_VERSION 1               /* Envelope.version we write and read */
#define BUS_TOPIC_MAX 200           /* bytes of a topic (= stream) */
#define BUS_ENVELOPE_MAX (8u << 20) /* bytes of a packed envelope */
#define BUS_MAX_FRAMES 4            /* frames kept of one message */

/* The default endpoints of proto/README.md §1. */
#define BUS_EP_INGEST_PULL "tcp://127.0.0.1:7100"
#define BUS_EP_INGESTD_PUB "tcp://127.0.0.1:7101"
#define BUS_EP_RISKD_PUB "tcp://127.0.0.1:7201"
#define BUS_EP_ALARMD_PUB "tcp://127.0.0.1:7301"
#define BUS_EP_SCHEDD_PUB "tcp://127.0.0.1:7401"

struct bus;
struct bus_sock;

/* Counters for /metrics; proto/README.md §8 says what each one means. */
struct bus_counters {
	uint64_t sent;       /* messages handed to ZeroMQ */
	uint64_t received;   /* messages taken from ZeroMQ */
	uint64_t queued;     /* gauge: messages waiting in outboxes */
	uint64_t dropped;    /* sends given up (outbox full, socket error) */
	uint64_t malformed;  /* received or replayed messages rejected */
	uint64_t unknown;    /* envelopes with a payload case not known */
	uint64_t duplicates; /* live messages at or below the cursor */
	uint64_t gaps;       /* live messages beyond cursor + 1 */
	uint64_t replayed;   /* messages read back from bus_log */
	uint64_t handled;    /* messages whose effects committed */
	uint64_t skipped;    /* messages a handler refused (SKIP) */
	uint64_t retries;    /* batches rolled back, to be tried again */
	uint64_t lost;       /* messages pruned before a consumer saw them */
	uint64_t deferred;   /* live messages left for replay */
};

/* One frame of a message: borrowed, valid during the callback only. */
struct bus_frame {
	const void *data;
	size_t len;
};

/* Socket options; zero fields take the defaults in brackets. */
struct bus_sock_opts {
	int sndhwm;      /* ZMQ_SNDHWM, messages [10000] */
	int rcvhwm;      /* ZMQ_RCVHWM, messages [10000] */
	int sndbuf;      /* ZMQ_SNDBUF, bytes [kernel default] */
	int rcvbuf;      /* ZMQ_RCVBUF, bytes [kernel default] */
	int linger_ms;   /* ZMQ_LINGER [250; SUB, PULL 0]; -1: 0 */
	int outbox_max;  /* messages kept on EAGAIN [10000]; -1: none */
	int lossy;       /* PUB: let ZeroMQ drop at the HWM [0: NODROP] */
	int recv_budget; /* messages received per wakeup [256] */
};

/*
 * Called for each message received on a socket; frames[0..nframes-1] are
 * borrowed.  A message of more than BUS_MAX_FRAMES frames is counted
 * malformed and never reaches the callback.
 */
typedef void (*bus_recv_fn)(
    struct bus_sock *s, const struct bus_frame *frames, int nframes, void *arg);

/* Make a bus on base; NULL (logged) when ZeroMQ cannot make a context. */
struct bus *bus_new(struct event_base *base);

/* Close every socket, end the context (bounded by linger) and free. */
void bus_free(struct bus *bus);

struct event_base *bus_base(struct bus *bus);

/* The counters, live; the bus owns them. */
const struct bus_counters *bus_counters(const struct bus *bus);

/* Let bus_consumer.c and bus_log.c bump the shared counters. */
struct bus_counters *bus_counters_mut(struct bus *bus);

/*
 * Make a socket of ZeroMQ type (ZMQ_PUB, ZMQ_SUB, ZMQ_PUSH, ZMQ_PULL) with
 * opts (NULL for defaults), registered on the loop.  NULL on error (logged).
 */
struct bus_sock *bus_socket(
    struct bus *bus, int type, const struct bus_sock_opts *opts);

/* Bind or connect to an endpoint; 0, or -1 with the reason logged. */
int bus_bind(struct bus_sock *s, const char *endpoint);
int bus_connect(struct bus_sock *s, const char *endpoint);

/* SUB: receive topics starting with prefix ("" for all). 0 or -1. */
int bus_subscribe(struct bus_sock *s, const char *prefix);

/* Set the receive callback; messages are read only once one is set. */
void bus_sock_on_recv(struct bus_sock *s, bus_recv_fn fn, void *arg);

/*
 * Stop or resume reading a socket (a consumer whose store is away).  The
 * messages stay in ZeroMQ's queue meanwhile.
 */
void bus_sock_pause(struct bus_sock *s, int paused);

/*
 * Send one message without blocking: 0 sent, 1 kept in the outbox (sent
 * later, in order), -1 dropped and counted.  The frames are copied.
 */
int bus_send(struct bus_sock *s, const struct bus_frame *frames, int nframes);

/* Messages waiting in this socket's outbox. */
size_t bus_sock_outbox(const struct bus_sock *s);

struct bus *bus_sock_bus(struct bus_sock *s);

/* Close and free a socket; safe from inside its own callback. */
void bus_sock_close(struct bus_sock *s);

/* PULL bound to endpoint, each message to fn: the collector intake. */
struct bus_sock *bus_pull(
    struct bus *bus, const char *endpoint, bus_recv_fn fn, void *arg);

/* PUSH connected to endpoint: a collector, or `safetyctl send`. */
struct bus_sock *bus_push(struct bus *bus, const char *endpoint);

/* Pack env and send it as one frame (PUSH); as bus_send. */
int bus_send_envelope(struct bus_sock *s, const Anquan__Envelope *env);

/* --- envelopes --------------------------------------------------------- */

enum bus_decode_err {
	BUS_DECODE_OK = 0,
	BUS_DECODE_FRAMES,  /* wrong number of frames */
	BUS_DECODE_TOPIC,   /* empty, too long or not printable ASCII */
	BUS_DECODE_SIZE,    /* envelope empty or over BUS_ENVELOPE_MAX */
	BUS_DECODE_PROTO,   /* not a parseable Envelope */
	BUS_DECODE_VERSION, /* version 0 or newer than BUS_VERSION */
	BUS_DECODE_STREAM,  /* stream differs from the topic */
	BUS_DECODE_SEQ,     /* seq 0 on a stream, or set on a PUSH */
	BUS_DECODE_UNKNOWN, /* payload case not known to this build */
};

/* A short phrase for a decode error, for logs. */
const char *bus_decode_errstr(enum bus_decode_err e);

/* 1 when topic is 1..BUS_TOPIC_MAX printable ASCII bytes, no spaces. */
int bus_topic_valid(const char *topic, size_t len);

/* 1 when the payload case is one this build knows. */
int bus_payload_known(int payload_case);

/* A name for a payload case ("readings", "events", "none", "unknown"). */
const char *bus_payload_name(int payload_case);

/*
 * Pack env into a malloc'd buffer (*len bytes); the caller frees it.  NULL
 * when it would exceed BUS_ENVELOPE_MAX.
 */
uint8_t *bus_envelope_pack(const Anquan__Envelope *env, size_t *len);

/*
 * Strictly decode a published message [topic][envelope].  On BUS_DECODE_OK
 * or BUS_DECODE_UNKNOWN *out holds the envelope (free it with
 * bus_envelope_free) and topic (NUL-terminated, at least BUS_TOPIC_MAX + 1
 * bytes) the topic; otherwise *out is NULL.
 */
enum bus_decode_err bus_decode_pub(const struct bus_frame *frames, int nframes,
    char *topic, Anquan__Envelope **out);

/*
 * Strictly decode an envelope read back from bus_log for stream: the same
 * checks as bus_decode_pub bar the framing.
 */
enum bus_decode_err bus_decode_stored(
    const char *stream, const void *data, size_t len, Anquan__Envelope **out);

/* Decode a collector's one-frame PUSH message (unsequenced). */
enum bus_decode_err bus_decode_push(
    const struct bus_frame *frames, int nframes, Anquan__Envelope **out);

void bus_envelope_free(Anquan__Envelope *env);

/* --- handlers and dispatch --------------------------------------------- */

enum bus_verdict {
	BUS_OK = 0, /* effects done; move the cursor */
	BUS_SKIP,   /* bad message: count it, move the cursor */
	BUS_RETRY,  /* cannot now: roll back, try again later */
};

/* A message handed to a handler; everything in it is borrowed. */
struct bus_msg {
	const char *topic; /* = env->stream */
	const Anquan__Envelope *env;
	int replayed; /* 1 when read back from bus_log */
};

/*
 * A handler does its effects with conn, inside the consumer's open
 * transaction, and never commits; arg is the consumer's.  When one of its
 * statements fails the transaction is aborted, so it answers BUS_RETRY.
 */
typedef enum bus_verdict (*bus_handler_fn)(
    PGconn *conn, const struct bus_msg *msg, void *arg);

/* One row of a handler table, keyed by payload case; {0, NULL} ends it. */
struct bus_handler {
	int payload_case; /* ANQUAN__ENVELOPE__PAYLOAD_* */
	bus_handler_fn fn;
};

/*
 * Run the handler for msg's payload case.  A case with no row is
 * BUS_SKIP with *unhandled set, since the consumer did subscribe to it but
 * has nothing to do with it.
 */
enum bus_verdict bus_dispatch(const struct bus_handler *table, PGconn *conn,
    const struct bus_msg *msg, void *arg, int *unhandled);

/* --- sequencing (pure) ------------------------------------------------- */

enum bus_seq_verdict {
	BUS_SEQ_DUP,  /* seq <= cursor: seen, drop */
	BUS_SEQ_NEXT, /* seq == cursor + 1: handle */
	BUS_SEQ_GAP,  /* seq > cursor + 1: replay the hole first */
};

/* Compare a live message's seq with the stream's cursor. */
enum bus_seq_verdict bus_seq_decide(uint64_t cursor, uint64_t seq);

/* 1 when topic starts with one of the NULL-terminated prefixes. */
int bus_topic_matches(const char *const *prefixes, const char *topic);

/* --- producer (bus_log.c) ---------------------------------------------- */

struct bus_producer;

/*
 * A producer named name ("ingestd") that publishes on pub, a PUB socket it
 * borrows.
 */
struct bus_producer *bus_producer_new(struct bus_sock *pub, const char *name);
void bus_producer_free(struct bus_producer *prod);

/*
 * Inside the caller's open transaction on conn: take the next seq of stream
 * topic, write a copy of env (stream, seq, produced_at_ms, msg_id when
 * empty, producer and version filled in) to bus_log and keep it pending.
 * env is not changed.  0 with *seq_out set, or -1 with err filled; after -1
 * the caller must roll back.
 */
int bus_producer_stage(struct bus_producer *prod, PGconn *conn,
    const char *topic, const Anquan__Envelope *env, uint64_t *seq_out,
    char *err, size_t errlen);

/*
 * bus_producer_stage() for n messages at once, in two round trips whatever
 * n is: one statement takes the seqs of every stream (a topic may appear
 * several times; its messages get consecutive seqs in array order) and one
 * COPY appends the log rows.  The streams are locked in name order, so two
 * producers staging overlapping sets cannot deadlock.  Same semantics and
 * ownership as bus_producer_stage(); envs are not changed.  0, or -1 with
 * err filled (nothing pending was added; the caller must roll back).
 */
int bus_producer_stage_many(struct bus_producer *prod, PGconn *conn,
    size_t n, const char *const *topics, const Anquan__Envelope *const *envs,
    char *err, size_t errlen);

/* After the caller's COMMIT: send the pending messages; returns how many. */
size_t bus_producer_publish(struct bus_producer *prod);

/* After the caller's ROLLBACK: forget the pending messages. */
void bus_producer_discard(struct bus_producer *prod);

/* Messages staged and not yet published or discarded. */
size_t bus_producer_pending(const struct bus_producer *prod);

/* --- consumer (bus_consumer.c) ----------------------------------------- */

struct bus_consumer;

/* Returns the daemon's connection, or NULL while the store is away. */
typedef PGconn *(*bus_get_conn_fn)(void *arg);

struct bus_consumer_cfg {
	const char *name;                   /* cursor owner, e.g. "riskd" */
	const char *const *endpoints;       /* PUBs to connect, NULL-ended */
	const char *const *prefixes;        /* topics, NULL-ended */
	const struct bus_handler *handlers; /* {0, NULL}-ended */
	bus_get_conn_fn get_conn;
	void *arg;                     /* for get_conn and handlers */
	int resync_ms;                 /* [1000] */
	int batch_max;                 /* live messages a txn [500] */
	int page_rows;                 /* replay rows a txn [1000] */
	struct bus_sock_opts sub_opts; /* the SUB socket's options */

	/*
	 * Optional transaction hooks, for a consumer that gathers its
	 * handlers' effects and writes them once per transaction (riskd's
	 * alarms and states).  before_commit runs inside the open
	 * transaction after the batch's handlers, before the cursors: 0, or
	 * -1 to roll the whole batch back.  after_commit runs once COMMIT
	 * succeeded (publish what was staged), after_abort after a rollback
	 * (forget what the batch did in memory).  arg is the consumer's.
	 */
	int (*before_commit)(PGconn *conn, void *arg);
	void (*after_commit)(void *arg);
	void (*after_abort)(void *arg);
};

/*
 * Subscribe, then (from the loop) load the cursors, replay and go live.
 * The strings and tables of cfg must outlive the consumer.  NULL on a bad
 * configuration (logged).
 */
struct bus_consumer *bus_consumer_new(
    struct bus *bus, const struct bus_consumer_cfg *cfg);
void bus_consumer_free(struct bus_consumer *c);

/*
 * Compare bus_streams with the cursors now and replay what is missing, as
 * the resync timer does; 0, or -1 when the store failed.  A long replay
 * returns after a page per stream and goes on from the loop (the resync
 * event is made active), so the loop keeps turning; the consumer goes
 * live once it has caught up.
 */
int bus_consumer_resync(struct bus_consumer *c);

/* The committed cursor of stream (0 when none); for tests and status. */
uint64_t bus_consumer_cursor(const struct bus_consumer *c, const char *stream);

/* 1 once the cursors are loaded and the first replay has completed. */
int bus_consumer_live(const struct bus_consumer *c);

#endif

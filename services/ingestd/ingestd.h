/*
 * ingestd - what the parts of the ingest daemon share.
 *
 * ingestd is the only door into Anquan for sector systems (DESIGN.md §3,
 * §4.1).  A request flows through these modules, each its own file:
 *
 *   api.c       HTTP handlers (POST /v1/readings, /v1/events), the bearer
 *               token check; turns a body into a job, submits it, answers
 *               when the job is done (202 only after commit)
 *   intake.c    the ZeroMQ PULL intake of protobuf batches and its acks
 *   readings.c  strict decoding and validation of readings (JSON, NDJSON,
 *               protobuf) into a job; pure, unit-tested
 *   events.c    strict decoding of {"events":[...]}: kind, id, at, data of
 *               each item, then the kind's validator
 *   kinds.c     the table of event kinds: one validator each (and, for the
 *               registry kinds, the SQL that applies it and the update of
 *               the in-memory registry after commit)
 *   records_*.c the city's records: one group of kinds per file, each with
 *               its tables, state machine and history (kinds_internal.h)
 *   query.c     GET /v1/enterprises/{uscc}, /v1/hazards, /v1/operations,
 *               /v1/accidents; query_store.c their SQL
 *   registry.c  the in-memory registry: districts, sectors, enterprises,
 *               points, sources and token hashes, loaded from the store and
 *               refreshed; lookups are O(1) on the loop thread
 *   writer.c    the writer thread: a bounded queue, group commit (jobs
 *               arriving within group_wait_ms share one COPY and one
 *               commit); hands finished jobs back to the loop, which
 *               publishes and answers.  writer_group.c is the transaction
 *               (readings, duplicates, quarantine, events), writer_bus.c
 *               the bus messages staged in it; ingestd_store.c their SQL
 *   main.c      the daemon spec, config table, init/drain/shutdown
 *
 * Threads: everything runs on the loop thread except the writer's threads
 * ([ingestd] writer_connections, each with its own store connection).  A
 * job belongs to the loop thread until writer_submit(), to the writer until
 * it is handed back, and to the loop again in its done callback, which
 * frees it (ingest_job_free).
 */
#ifndef ANQUAN_INGESTD_H
#define ANQUAN_INGESTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "store.h"

struct registry;
struct bus_producer;
struct bus_sock;
struct event_base;
struct metrics;

#define INGEST_POINT_MAX 64	 /* bytes of a monitoring point code */
#define INGEST_SOURCE_MAX 64	 /* bytes of a source name */
#define INGEST_EVENT_ID_MAX 200	 /* bytes of an event id */
#define INGEST_REASON_MAX 160	 /* bytes of a rejection reason */

enum ingest_quality {
	INGEST_Q_GOOD = 0,
	INGEST_Q_BAD = 1,
	INGEST_Q_MAINTENANCE = 2,
};

/* --- the registry (registry.c) ------------------------------------------ */

/* A source (sector system) and what its tokens may write. */
struct reg_source {
	char name[INGEST_SOURCE_MAX + 1];
	bool all_sectors;	/* sources.sectors IS NULL */
	bool all_districts;	/* sources.districts IS NULL */
	uint64_t sector_mask;	/* bit i: registry sector index i */
	uint64_t district_mask; /* bit i: registry district index i */
};

struct reg_enterprise {
	char uscc[19];
	uint16_t district; /* registry district index */
	uint16_t sector;   /* registry sector index */
};

struct reg_point {
	char code[INGEST_POINT_MAX + 1];
	char uscc[19];
	uint16_t district; /* of its enterprise */
	uint16_t sector;
	uint16_t topic; /* index of rd.<district>.<sector> */
	bool enabled;
};

struct registry *registry_new(void);
void registry_free(struct registry *reg);
/* Load everything from the store (at start); 0, or -1 with *err. */
int registry_load(struct registry *reg, struct store *st,
    struct store_err *err);
/* Re-read what changed since the last load or refresh (sources and
 * tokens whole; enterprises and points by updated_at); 0 or -1. */
int registry_refresh(struct registry *reg, struct store *st,
    struct store_err *err);

int registry_district(const struct registry *reg, const char *code);
int registry_sector(const struct registry *reg, const char *code);
const char *registry_district_code(const struct registry *reg, int idx);
const char *registry_sector_code(const struct registry *reg, int idx);
/* The topic rd.<district>.<sector> of a topic index, and the count. */
const char *registry_topic(const struct registry *reg, int topic);
int registry_ntopics(const struct registry *reg);

const struct reg_point *registry_point(const struct registry *reg,
    const char *code);
const struct reg_enterprise *registry_enterprise(const struct registry *reg,
    const char *uscc);
/* The source owning the token whose SHA-256 is hash, NULL if unknown or
 * revoked. */
const struct reg_source *registry_token(const struct registry *reg,
    const uint8_t hash[32]);
/*
 * registry_token, but on a miss re-read sources and tokens from st first
 * (at most once a second), so a token made a moment ago by safetyctl works
 * at once; revocations still wait for the periodic refresh.
 */
const struct reg_source *registry_token_fresh(struct registry *reg,
    struct store *st, const uint8_t hash[32]);
/* May the source write for this district and sector? */
bool registry_in_scope(const struct reg_source *src, int district,
    int sector);

/*
 * Set the reference codes (what registry_load reads from districts and
 * sectors); the topics are every district x sector pair, fixed from here
 * on, so the writer thread may read topic names without a lock.  For tests
 * and for registry_load itself.
 */
int registry_set_reference(struct registry *reg,
    const char *const *districts, size_t ndistricts,
    const char *const *sectors, size_t nsectors);
/* Add a source and one of its token hashes (tests, registry_load). */
int registry_put_source(struct registry *reg, const struct reg_source *src,
    const uint8_t hash[32]);

/* Add or replace after a committed upsert (loop thread). */
int registry_put_enterprise(struct registry *reg,
    const struct reg_enterprise *e);
int registry_put_point(struct registry *reg, const struct reg_point *p);

/* --- a job: one request or batch, from validation to its answer ---------- */

/* A reading that passed validation. */
struct ingest_reading {
	char point[INGEST_POINT_MAX + 1];
	int64_t ts_ms;
	double value;
	bool has_value; /* false only for quality bad/maintenance */
	uint8_t quality;
	uint16_t topic;	 /* registry topic index (known points) */
	uint32_t index;	 /* position in the request */
};

/* An item refused, with its position in the request. */
struct ingest_reject {
	uint32_t index;
	char reason[INGEST_REASON_MAX];
};

struct ingest_kind;

/* An event that passed validation. */
struct ingest_event {
	const struct ingest_kind *kind;
	char id[INGEST_EVENT_ID_MAX + 1];
	int64_t at_ms;
	char *data_json; /* the data object as compact JSON (owned) */
	void *parsed;	 /* the kind's validated form (owned, kind->free) */
	uint32_t index;
	bool duplicate; /* set by the writer: (source, id) already stored */
};

enum ingest_job_kind {
	INGEST_JOB_READINGS,
	INGEST_JOB_EVENTS,
};

enum ingest_status {
	INGEST_PENDING = 0,
	INGEST_OK,	   /* committed */
	INGEST_STORE_DOWN, /* not committed: store unreachable (503) */
	INGEST_OVERLOAD,   /* not queued: queue full (503) */
	INGEST_FAILED,	   /* not committed: another error (500) */
};

struct ingest_job;
typedef void (*ingest_done_fn)(struct ingest_job *job);

struct ingest_job {
	enum ingest_job_kind kind;
	char source[INGEST_SOURCE_MAX + 1];

	struct ingest_reading *readings; /* known points, to store */
	size_t nreadings, readings_cap;
	struct ingest_reading *unknown;	 /* unknown points: quarantine */
	size_t nunknown, unknown_cap;
	struct ingest_event *events;
	size_t nevents, events_cap;
	struct ingest_reject *rejected;
	size_t nrejected, rejected_cap;
	uint32_t nitems; /* items in the request */
	/* All or nothing (POST /v1/events?atomic=1): set by api.c before
	 * submitting; the writer then takes the whole job back when one of
	 * its events is refused by its apply. */
	bool atomic;

	/* Filled by the writer. */
	enum ingest_status status;
	uint32_t accepted, duplicates, quarantined;
	char error[256];
	int64_t submitted_us; /* monotonic, for the commit latency */

	/* Who answers: called on the loop thread once the job is done. */
	ingest_done_fn done;
	void *origin;
	struct ingest_job *next; /* the writer's queue link */
};

struct ingest_job *ingest_job_new(enum ingest_job_kind kind,
    const char *source);
void ingest_job_free(struct ingest_job *job);
/* Append an item; each returns 0, or -1 when memory ran out. */
int ingest_job_add_reading(struct ingest_job *job,
    const struct ingest_reading *r);
int ingest_job_add_unknown(struct ingest_job *job,
    const struct ingest_reading *r);
int ingest_job_add_event(struct ingest_job *job, struct ingest_event *ev);
int ingest_job_reject(struct ingest_job *job, uint32_t index,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Sort the members of item, one item of a request, by name: *out[i] is
 * set to the member called names[i], or NULL.  what ("a reading") names the item in
 * the reasons.  Returns 0, or refuses the item when it is not an object or
 * has an unknown or repeated field: 1 when that was recorded in job, -1
 * when memory ran out.
 */
int ingest_job_item_fields(struct ingest_job *job, uint32_t index,
    const cJSON *item, const char *what, const char *const *names,
    const cJSON **const *out, size_t nnames);

/* --- validation (readings.c, kinds.c) ------------------------------------ */

/* What validation needs: the registry, the caller's scope, the clock. */
struct ingest_ctx {
	const struct registry *reg;
	const struct reg_source *source;
	int64_t now_ms;
	int64_t max_future_ms; /* default 5 minutes */
	int64_t retention_ms;  /* older readings are refused */
	size_t max_items;      /* per request */
	/* Set by events_from_json to the job being filled, so a validator
	 * can see earlier items of the same request (a point.upsert naming
	 * an enterprise upserted just before it); NULL elsewhere. */
	const struct ingest_job *job;
};

/*
 * Decode a JSON body {"readings":[...]} or NDJSON (one reading a line)
 * into job: valid readings of known points, readings of unknown points
 * (for quarantine), and rejections by index with reasons.  Returns 0, or
 * -1 when the body as a whole is unusable (why says so: answer 400).
 */
int readings_from_json(const struct ingest_ctx *ctx, const char *body,
    size_t len, struct ingest_job *job, char *why, size_t whysize);
int readings_from_ndjson(const struct ingest_ctx *ctx, const char *body,
    size_t len, struct ingest_job *job, char *why, size_t whysize);
/*
 * Validate one decoded reading (shared by JSON and protobuf).  Returns 0
 * when it was taken (to store, or to quarantine for an unknown point), 1
 * when it was refused (the reason is in job->rejected), -1 when memory ran
 * out.
 */
int readings_check(const struct ingest_ctx *ctx, uint32_t index,
    const char *point, int64_t ts_ms, double value, bool has_value,
    int quality, struct ingest_job *job);
/*
 * After readings_check() of a whole batch: refuse the second and later
 * readings of the same point and time ("duplicate of item N in this
 * request") and keep the rejections in index order.  readings_from_json()
 * and readings_from_ndjson() call it themselves; a protobuf intake calls
 * it once per batch.  0, or -1 when memory ran out.
 */
int readings_dedupe(struct ingest_job *job);
/* Is code a well-formed point code (1..INGEST_POINT_MAX bytes of UTF-8,
 * no spaces or control characters)?  0, or -1 with the reason in why. */
int readings_point_ok(const char *code, char *why, size_t whysize);

struct ingest_kind {
	const char *name; /* "enterprise.upsert" */
	/* Check data (loop thread); on success *parsed may hold the kind's
	 * form.  Returns 0, or -1 with the reason in why. */
	int (*validate)(const struct ingest_ctx *ctx, const cJSON *data,
	    void **parsed, char *why, size_t whysize);
	/* Apply inside the writer's transaction (writer thread); NULL for
	 * kinds that are only stored.  0, or -1 with *err. */
	int (*apply)(struct store *st, const char *source,
	    const struct ingest_event *ev, struct store_err *err);
	/* After commit (loop thread): update the registry; may be NULL. */
	void (*committed)(struct registry *reg, const struct ingest_event *ev);
	void (*free)(void *parsed);
};

/* The kind named name, or NULL. */
const struct ingest_kind *kinds_find(const char *name);
/*
 * Decode {"events":[...]} into job (each item's kind, id, at, data
 * checked; the kind's validator run).  Returns 0, or -1 when the body as a
 * whole is unusable.
 */
int events_from_json(const struct ingest_ctx *ctx, const char *body,
    size_t len, struct ingest_job *job, char *why, size_t whysize);

/* --- the writer (writer.c) ----------------------------------------------- */

struct writer;

struct writer_opts {
	const char *conninfo;
	size_t queue_max_items;	 /* readings + events queued; beyond: 503 */
	int64_t group_wait_us;	 /* how long a group waits for company */
	size_t group_max_items;	 /* a group commits at this size */
	size_t connections;	 /* writer threads, one store connection each */
	const struct store_opts *store;
	struct metrics *metrics; /* commit latency, group sizes, outcomes */
	/* ingestd's PUB socket (borrowed): the writer stages each group's
	 * bus messages on a producer over it; NULL stages nothing. */
	struct bus_sock *pub;
};

/*
 * Start the writer thread.  done-callbacks run on base's loop; committed
 * bus messages are handed to publish(arg, producer) there, which sends
 * and frees them.
 */
struct writer *writer_new(struct event_base *base,
    const struct writer_opts *opts, struct registry *reg,
    void (*publish)(void *arg, struct bus_producer *prod), void *arg);
/* Queue a job (loop thread).  0, or -1 when the queue is full or the
 * store is known to be down: the job was not taken, the caller answers 503. */
int writer_submit(struct writer *w, struct ingest_job *job);
/* Items waiting, for /metrics and backpressure. */
size_t writer_queue_depth(const struct writer *w);
/* Last known state of the writer's connection. */
bool writer_store_up(const struct writer *w);
/* Stop taking jobs; done(arg) runs on the loop once the queue is empty. */
void writer_drain(struct writer *w, void (*done)(void *), void *arg);
/* Stop the thread (after drain) and free. */
void writer_free(struct writer *w);

#endif

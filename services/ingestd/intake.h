/*
 * intake - ingestd's ZeroMQ intake: collector batches in, acks out.
 *
 * Collectors inside the data center PUSH one-frame Envelopes holding a
 * ReadingBatch or an EventBatch to ingestd's PULL socket ([bus]
 * ingest_pull).  The intake checks the batch's token against the registry,
 * validates every item the way the HTTP API does (readings_check, the kinds
 * table), hands the job to the writer and, once the writer is done with it,
 * publishes an IngestAck on ingestd's PUB socket under ack.<source>
 * (proto/README.md §3.1).  main.c makes it after the writer and the PUB
 * socket and stops it first on drain; everything here runs on the loop
 * thread.  The intake owns its PULL socket and the jobs it has in flight
 * until their done callback; it borrows the bus, the registry, the writer
 * and the PUB socket.
 */
#ifndef ANQUAN_INGESTD_INTAKE_H
#define ANQUAN_INGESTD_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"
#include "ingestd.h"

struct bus;
struct bus_sock;
struct metrics;
struct writer;
struct intake;

#define INGEST_BATCH_ID_MAX 64 /* bytes of a collector's batch_id */

struct intake_opts {
	const char *endpoint;     /* PULL bind address, [bus] ingest_pull */
	struct bus_sock *ack_pub; /* ingestd's PUB socket (borrowed) */
	int64_t max_future_ms;    /* as the HTTP API's ingest_ctx */
	int64_t retention_ms;
	size_t max_items;        /* items per batch; more is refused */
	size_t pause_items;      /* writer queue depth that stops reading */
	size_t resume_items;     /* depth at which reading resumes */
	struct metrics *metrics; /* may be NULL (tests) */
};

/* What an envelope says about the batch before any item is looked at. */
struct intake_batch {
	enum ingest_job_kind kind;
	char source[INGEST_SOURCE_MAX + 1];
	char batch_id[INGEST_BATCH_ID_MAX + 1];
	const char *token; /* borrowed from the envelope */
	size_t nitems;
};

/*
 * Bind the PULL socket and start taking batches.  NULL (logged) when the
 * endpoint cannot be bound: a fatal start error for main.c.
 */
struct intake *intake_start(struct bus *bus, struct registry *reg,
    struct writer *writer, const struct intake_opts *opts);
/* Stop reading the PULL socket (drain); batches in flight still get acks. */
void intake_stop(struct intake *in);
/* Free (after the writer drained); jobs still out free it when done. */
void intake_free(struct intake *in);
/* Batches submitted whose ack is still to be sent. */
size_t intake_in_flight(const struct intake *in);

/*
 * Read source, batch_id, token and item count of a decoded collector
 * envelope.  0, or -1 with why filled when no ack can be addressed (no
 * payload we take, no or malformed source or batch_id).
 */
int intake_batch_header(const Anquan__Envelope *env, struct intake_batch *hdr,
    char *why, size_t whysize);
/*
 * Validate the readings of b into job (rejections by index with reasons).
 * 0, or -1 when memory ran out.
 */
int intake_readings_to_job(const struct ingest_ctx *ctx,
    const Anquan__ReadingBatch *b, struct ingest_job *job);
/* The same for the events of b (kind, id, time, data JSON, validator). */
int intake_events_to_job(const struct ingest_ctx *ctx,
    const Anquan__EventBatch *b, struct ingest_job *job);
/* The ack status of a writer outcome. */
Anquan__IngestAck__Status intake_ack_status(enum ingest_status st);
/*
 * Pack the Envelope carrying the IngestAck for a batch: the counts and
 * rejections of job (NULL for none), status, and message (NULL or why).
 * A malloc'd buffer of *len bytes the caller frees, or NULL.
 */
uint8_t *intake_ack_pack(const char *source, const char *batch_id,
    Anquan__IngestAck__Status status, const struct ingest_job *job,
    const char *message, uint32_t retry_after_ms, size_t *len);

#endif

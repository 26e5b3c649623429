/*
 * ingestd_store - the SQL of ingestd's writer, and the COPY rows it sends.
 *
 * writer_group.c decides what a group commit does; this file says how, in SQL:
 * the fast path (one COPY straight into readings under a savepoint), the
 * slow path for a group that holds rows already stored (COPY into a
 * temporary staging table, then one INSERT ... ON CONFLICT DO NOTHING that
 * reports which staged rows were new), the quarantine of readings of
 * unknown points, events deduplicated by (source, id), and the daily
 * partition call main.c makes.  Every statement is parameterised or
 * constant; the column order of each COPY lives next to its encoder here,
 * so the two cannot drift apart.  The struct store and the transaction are
 * the caller's.
 */
#ifndef ANQUAN_INGESTD_STORE_H
#define ANQUAN_INGESTD_STORE_H

#include <stdint.h>

#include "ingestd.h"
#include "store.h"

/* Told, for each staged row that was newly stored, its job and index. */
typedef void (*ingestd_store_row_fn)(void *arg, uint32_t job, uint32_t idx);

/* A reading as a row of COPY readings (point, ts, value, quality). */
int ingestd_store_reading_row(
    struct store_copy_buf *b, const struct ingest_reading *r);
/* A reading as a staging row (job, idx, source, point, ts, value, quality). */
int ingestd_store_staged_reading_row(struct store_copy_buf *b, uint32_t job,
    uint32_t idx, const char *source, const struct ingest_reading *r);
/* An event as a staging row (job, idx, source, id, kind, at, data). */
int ingestd_store_event_row(struct store_copy_buf *b, uint32_t job,
    uint32_t idx, const char *source, const struct ingest_event *ev);

/* SAVEPOINT, ROLLBACK TO and RELEASE of the writer's one savepoint. */
int ingestd_store_savepoint(struct store *st, struct store_err *err);
int ingestd_store_rollback_savepoint(struct store *st, struct store_err *err);
int ingestd_store_release_savepoint(struct store *st, struct store_err *err);

/* The fast path: COPY rows of ingestd_store_reading_row into readings;
 * the rows copied, or -1 (23505 when one was already stored). */
int64_t ingestd_store_copy_readings(struct store *st,
    const struct store_copy_buf *rows, struct store_err *err);

/*
 * The slow path: stage rows of ingestd_store_staged_reading_row and insert
 * those not stored yet; fn learns each staged row that was new (of rows
 * repeated within the staging, the first by job and idx).  0 or -1.
 */
int ingestd_store_insert_readings(struct store *st,
    const struct store_copy_buf *staged, ingestd_store_row_fn fn, void *arg,
    struct store_err *err);
/* The same into quarantine, reason 'unknown point', unique by (source,
 * point, ts). */
int ingestd_store_insert_quarantine(struct store *st,
    const struct store_copy_buf *staged, ingestd_store_row_fn fn, void *arg,
    struct store_err *err);
/* The same for events (rows of ingestd_store_event_row), unique by
 * (source, id). */
int ingestd_store_insert_events(struct store *st,
    const struct store_copy_buf *staged, ingestd_store_row_fn fn, void *arg,
    struct store_err *err);
/* Take back one event whose apply failed (inside the same transaction). */
int ingestd_store_delete_event(struct store *st, const char *source,
    const char *id, struct store_err *err);

/* Make the daily readings partitions from today (city time) for days
 * days; *created gets how many were new.  0 or -1. */
int ingestd_store_ensure_partitions(
    struct store *st, int days, int *created, struct store_err *err);

#endif

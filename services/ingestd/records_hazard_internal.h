/*
 * records_hazard_internal - what the files of the records with a life
 * share.
 *
 * The group of hidden hazards, dangerous operations and maintenance
 * windows (kinds_internal.h says how the groups fit) is one module over two
 * files: records_hazard.c holds the form and the helpers below, the hidden
 * hazards and the table records_hazard_kinds[]; records_operation.c the
 * dangerous operations and maintenance windows, whose validators and
 * applies that table names.  Only these two include this header.  A
 * validator runs on ingestd's loop thread and leaves a form as the event's
 * parsed value; an apply runs on the writer thread inside the transaction
 * that stores the event and reads it; the job owns the form and frees it
 * through the table's free.
 */
#ifndef ANQUAN_INGESTD_RECORDS_HAZARD_INTERNAL_H
#define ANQUAN_INGESTD_RECORDS_HAZARD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "ingestd.h"
#include "kinds_internal.h"
#include "store.h"
#include "timeutil.h"

#define RECORD_ID_MAX 100 /* bytes of a hazard or operation id */
#define PERSON_MAX 100
#define CODE_MAX 64  /* hazard source, risk point codes */
#define LIST_MAX 200 /* points or evidence items */
#define FORM_MAX_PARAMS 16

/* SQLSTATEs of our refusals: wrong state, already there, out of scope. */
#define STATE_WRONG "55000"
#define STATE_EXISTS "23505"
#define STATE_SCOPE "42501"

/* Whether the enterprise e lies in the scope of the source s; true when
 * either is unknown (a tool writing as itself has no sources row). */
#define SCOPE_SQL                                                              \
	"COALESCE((s.sectors IS NULL OR e.sector = ANY (s.sectors)) AND "      \
	"(s.districts IS NULL OR e.district = ANY (s.districts)), true)"
#define TIME_TEXT(col) "to_char(" col ", 'YYYY-MM-DD HH24:MI:SSOF')"

/*
 * A validated event: its statement parameters as text at offsets into text
 * (-1 for SQL NULL), the record's id for messages, and what apply chooses
 * by.
 */
struct records_hazard_form {
	int n;
	int off[FORM_MAX_PARAMS];
	size_t len, cap;
	char *text;
	bool failed;
	bool accepted; /* hazard.verified */
	char id[RECORD_ID_MAX + 1];
	char rule[160]; /* operation.filed: its record_rules duration name */
};

/* A new empty form, or NULL with "out of memory" in why. */
struct records_hazard_form *records_hazard_form_new(char *why, size_t whysize);
/* Append s as the next parameter (NULL: SQL NULL). */
void records_hazard_form_str(struct records_hazard_form *f, const char *s);
/* Append a time as RFC 3339 in city time, which PostgreSQL reads exactly. */
void records_hazard_form_time(struct records_hazard_form *f, int64_t ms);
/* Hand the form over as the parsed event (0), or free it and say why. */
int records_hazard_form_done(
    struct records_hazard_form *f, void **parsed, char *why, size_t whysize);
/* Run sql with the form's parameters followed by the extra ones (source,
 * event id, time...); *out as store_exec() leaves it. */
int records_hazard_form_exec(struct store *st, const char *sql,
    const struct records_hazard_form *f, const char *const *extra, int nextra,
    PGresult **out, struct store_err *err);

/* A record id: 1..RECORD_ID_MAX bytes, no control characters. */
int records_hazard_get_id(const cJSON *data, const char *key, const char **out,
    char *why, size_t whysize);
/* A time: RFC 3339 with offset or integer epoch ms, within 2000..2100. */
int records_hazard_get_time(const cJSON *data, const char *key, bool required,
    int64_t *ms, bool *given, char *why, size_t whysize);
/* data.uscc: valid, registered (or upserted earlier in the same request)
 * and within the source's scope. */
int records_hazard_get_enterprise(const struct ingest_ctx *ctx,
    const cJSON *data, const char **uscc, char *why, size_t whysize);

/* The event's own time as a parameter. */
void records_hazard_event_time(
    const struct ingest_event *ev, char buf[TIMEUTIL_RFC3339_SIZE]);
/* Clear res, a statement's result that must hold one row: 0, or -1 with
 * "<what> changed nothing". */
int records_hazard_one_row(
    PGresult *res, const char *what, struct store_err *err);

/* The kinds of records_operation.c, named by records_hazard_kinds[]. */
int records_operation_filed_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize);
int records_operation_filed_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err);
int records_operation_started_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize);
int records_operation_started_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err);
int records_operation_finished_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize);
int records_operation_finished_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err);
int records_operation_maintenance_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize);
int records_operation_maintenance_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err);

#endif

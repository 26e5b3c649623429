/*
 * kinds_internal - what the event-kind files of ingestd share.
 *
 * kinds.c holds the registry kinds ingestd itself needs (enterprise.upsert,
 * point.upsert), the helpers below and kinds_find(); the city's records are
 * grouped in records_*.c files, each exporting a table of its kinds:
 *   records_registry.c  hazard sources, risk points, responsibilities,
 *                       agencies, special equipment; records_people.c duty
 *                       rosters and inspectors; records_fields.c the field
 *                       checks they share
 *   records_hazard.c    hidden hazards; records_operation.c dangerous
 *                       operations and maintenance windows (the records
 *                       with a life)
 *   records_enforce.c   accidents, inspections, cases
 *   records_duty.c      responsibility lists, safety directors, training,
 *                       equipment inspections, self-checks
 * A validator runs on the loop thread against the registry; apply runs in
 * the writer's transaction (a refusal there rejects the item with its
 * reason and stores nothing of it); committed runs on the loop after.
 */
#ifndef ANQUAN_INGESTD_KINDS_INTERNAL_H
#define ANQUAN_INGESTD_KINDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "ids.h"
#include "ingestd.h"
#include "json.h"

#define FORM_PARAMS_MAX 18
#define FORM_TEXT_MAX 2048
#define NAME_MAX_BYTES 300
#define ADDRESS_MAX_BYTES 1000
#define UNIT_MAX_BYTES 32
#define TAG_MAX_BYTES 128

/*
 * The validated form of an upsert: its statement parameters as text (an
 * offset into text, -1 for SQL NULL) and what committed() needs.
 */
struct upsert_form {
	int nparams;
	int off[FORM_PARAMS_MAX];
	char uscc[IDS_USCC_SIZE];
	char code[INGEST_POINT_MAX + 1];
	int district, sector; /* enterprise.upsert */
	bool enabled;	      /* point.upsert */
	size_t len;
	char text[FORM_TEXT_MAX];
};

/* Append a parameter to the form (fmt NULL: SQL NULL); a string as is. */
void kinds_form_param(struct upsert_form *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void kinds_form_str(struct upsert_form *f, const char *s);
/* A heap copy of the form cut to its length (the parsed form), or NULL. */
void *kinds_form_finish(const struct upsert_form *f);
void kinds_form_free(void *parsed);
/* Run sql with the form's parameters, then source and event id. */
int kinds_form_exec(struct store *st, const char *sql,
    const struct upsert_form *f, const char *source,
    const struct ingest_event *ev, struct store_err *err);

/* "data: <reason>" from a JSON error; returns -1. */
int kinds_why_json(const struct json_err *jerr, char *why, size_t whysize);
/* Field getters: 0 found or absent-and-optional, -1 with the reason. */
int kinds_get_text(const cJSON *data, const char *key, bool required,
    size_t max, const char **out, char *why, size_t whysize);
int kinds_get_enum(const cJSON *data, const char *key, bool required,
    const char *const *allowed, const char **out, char *why, size_t whysize);
int kinds_get_num(const cJSON *data, const char *key, double lo, double hi,
    double *out, bool *given, char *why, size_t whysize);
int kinds_get_int(const cJSON *data, const char *key, bool required,
    int64_t lo, int64_t hi, int64_t *out, bool *given, char *why,
    size_t whysize);
/* Refuse fields of data not in names (NULL-terminated). */
int kinds_only_fields(const cJSON *data, const char *kind,
    const char *const *names, char *why, size_t whysize);
/* data.uscc, present and valid per GB 32100-2015. */
int kinds_get_uscc(const cJSON *data, const char **uscc, char *why,
    size_t whysize);
/* May the request's source write for this district and sector? */
int kinds_scope_check(const struct ingest_ctx *ctx, const char *what,
    int district, int sector, char *why, size_t whysize);
/* Required fields present; a known enterprise in data.uscc in scope. */
int kinds_generic_validate(const struct ingest_ctx *ctx, const cJSON *data,
    const char *kind, const char *const *required, char *why,
    size_t whysize);

/*
 * Refuse an event in apply: the reason a person can act on goes into err
 * with sqlstate (55000 when the record's state does not allow it); returns
 * -1, so `return kinds_refuse(err, "55000", ...)`.
 */
int kinds_refuse(struct store_err *err, const char *sqlstate,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A validator that checks only the required fields (the list after the
 * kind's name) with kinds_generic_validate(). */
#define STORED_KIND(fn, kname, ...)                                          \
	static const char *const fn##_required[] = {__VA_ARGS__, NULL};      \
	static int fn(const struct ingest_ctx *ctx, const cJSON *data,       \
	    void **parsed, char *why, size_t whysize)                        \
	{                                                                    \
		*parsed = NULL;                                              \
		return kinds_generic_validate(                               \
		    ctx, data, kname, fn##_required, why, whysize);          \
	}

/* The groups of records_*.c: their kinds and how many. */
extern const struct ingest_kind records_registry_kinds[];
extern const size_t records_registry_nkinds;
extern const struct ingest_kind records_hazard_kinds[];
extern const size_t records_hazard_nkinds;
extern const struct ingest_kind records_enforce_kinds[];
extern const size_t records_enforce_nkinds;
extern const struct ingest_kind records_duty_kinds[];
extern const size_t records_duty_nkinds;

/* The accident grading of records_enforce.c (国务院令第493号), also for the
 * unit tests: the grade, 0 general .. 3 especially major, that the worst
 * of deaths, serious injuries and direct loss reaches. */
int records_enforce_accident_grade(
    int64_t deaths, int64_t serious_injuries, double direct_loss_cny);
/* A grade's code ("especially_major"...), or NULL for no grade. */
const char *records_enforce_grade_code(int grade);
/* A grade's name in Chinese ("特别重大"...), or NULL for no grade. */
const char *records_enforce_grade_name(int grade);
/* Days after an accident of the sector within which casualties may still
 * be re-reported. */
int records_enforce_rereport_days(const char *sector);

#endif

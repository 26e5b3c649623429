/*
 * records_registry_internal - what the files of the registry records share.
 *
 * The registry group of event kinds (kinds_internal.h says how the groups
 * fit) is one module over three files: records_registry.c holds the form
 * below, the kinds of hazard sources, risk points, responsibilities,
 * agencies and special equipment, the one apply they all share and the
 * table records_registry_kinds[]; records_people.c the kinds about people,
 * duty rosters and inspectors, whose validators that table names;
 * records_fields.c the field checks of both.  Only these three include
 * this header.  A validator fills a form on the loop thread and hands it
 * over as the event's parsed value; apply reads it on the writer thread
 * inside the group's transaction; the job owns it and frees it through the
 * table's free.
 */
#ifndef ANQUAN_INGESTD_RECORDS_REGISTRY_INTERNAL_H
#define ANQUAN_INGESTD_RECORDS_REGISTRY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "ids.h"
#include "json.h"
#include "kinds_internal.h"
#include "records_fields.h"

#define REC_PARAMS_MAX 12
#define REC_DEPTS_MAX 2

/* The validated form of one event, for apply. */
struct records_registry_form {
	const char *sql; /* the upsert: params, then source and event id */
	int nparams;
	char *param[REC_PARAMS_MAX]; /* NULL: SQL NULL */
	char what[96];               /* "hazard source HS-1", for reasons */
	/* The enterprise that must exist ("" when none). */
	char owner[IDS_USCC_SIZE];
	/* When not NULL: SELECT uscc ... WHERE code = $1 FOR UPDATE, to
	 * refuse moving param[0] from another enterprise to owner. */
	const char *owner_sql;
	int ndepts;
	char dept[REC_DEPTS_MAX][DEPT_CODE_MAX + 1];
	const char *dept_field[REC_DEPTS_MAX];
	bool oom;
};

/* Append a copy of s (NULL: SQL NULL) as the next parameter. */
void records_registry_form_str(struct records_registry_form *f, const char *s);
/* Take the JSON text of w as the next parameter; frees w. */
void records_registry_form_json(
    struct records_registry_form *f, struct json_out *w);
/* A boolean parameter, SQL NULL when not given. */
void records_registry_form_bool(
    struct records_registry_form *f, bool given, bool v);
/* A time parameter as RFC 3339 in city time, which PostgreSQL reads
 * exactly. */
void records_registry_form_time(struct records_registry_form *f, int64_t ms);
/* A department code apply must find in departments; field names it in the
 * reason when it does not. */
void records_registry_form_dept(
    struct records_registry_form *f, const char *field, const char *code);
/* Hand a heap copy of the form over as *parsed (0), or free its
 * parameters (-1, "out of memory"). */
int records_registry_form_finish(
    struct records_registry_form *f, void **parsed, char *why, size_t whysize);
/* May the source write a record of district d (registry index; d < 0: a
 * city-wide record, for sources of all districts only)? */
int records_registry_district_scope(const struct ingest_ctx *ctx,
    const char *what, int d, char *why, size_t whysize);

/* The validators of records_people.c, named by records_registry_kinds[]. */
int records_people_roster_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize);
int records_people_inspector_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize);

#endif

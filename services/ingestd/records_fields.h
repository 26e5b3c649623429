/*
 * records_fields - the field checks of the registry records.
 *
 * The validators of the registry group (records_registry.c and
 * records_people.c, see records_registry_internal.h) read their events'
 * data with these on ingestd's loop thread: texts, codes, numbers,
 * booleans, dates and times, department and district codes, phones, CAS
 * numbers and the {id, name, phone} of a person.  Each returns 0, or -1
 * with a reason in why that names the object (`at`, or "data" where there
 * is no `at`) and the field.  None touches the store or keeps anything:
 * the strings handed back point into the caller's cJSON tree, and a
 * person is written into the caller's json_out.
 */
#ifndef ANQUAN_INGESTD_RECORDS_FIELDS_H
#define ANQUAN_INGESTD_RECORDS_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "json.h"
#include "kinds_internal.h"

#define DEPT_CODE_MAX 16
#define PERSON_MAX_BYTES 100
#define PHONE_MAX_BYTES 32

/* "<at>: <the JSON error>" in why; returns -1. */
int records_fields_why_json(
    const char *at, const struct json_err *jerr, char *why, size_t whysize);
/* Refuse members of o not in names (NULL-terminated). */
int records_fields_only(const cJSON *o, const char *at,
    const char *const *names, char *why, size_t whysize);
/* A string of 1..max bytes (*out NULL when optional and absent). */
int records_fields_text(const cJSON *o, const char *at, const char *key,
    bool required, size_t max, const char **out, char *why, size_t whysize);
/* A code: 1..64 bytes without spaces or control characters. */
int records_fields_code(const cJSON *o, const char *at, const char *key,
    bool required, const char **out, char *why, size_t whysize);
/* A number in (lo, hi] when lo_open, else [lo, hi]; *given if present. */
int records_fields_num(const cJSON *o, const char *at, const char *key,
    bool required, double lo, bool lo_open, double hi, double *out, bool *given,
    char *why, size_t whysize);
/* An integer in [lo, hi]; *given if present. */
int records_fields_int(const cJSON *o, const char *at, const char *key,
    bool required, int64_t lo, int64_t hi, int64_t *out, bool *given, char *why,
    size_t whysize);
/* A boolean of data (*out false when absent); *given if present. */
int records_fields_bool(const cJSON *o, const char *key, bool required,
    bool *out, bool *given, char *why, size_t whysize);
/* A required date YYYY-MM-DD of data within [lo, hi], in days since
 * 1970-01-01. */
int records_fields_date(const cJSON *o, const char *key, int64_t lo, int64_t hi,
    int64_t *days, char *why, size_t whysize);
/* A required time of data: RFC 3339 with an offset, or integer epoch ms. */
int records_fields_time(
    const cJSON *o, const char *key, int64_t *ms, char *why, size_t whysize);
/* A department code's form (like YJJ); whether it exists is for apply. */
int records_fields_dept(const cJSON *o, const char *key, bool required,
    const char **out, char *why, size_t whysize);
/* The registry index of a district code of the city, or -1 with why. */
int records_fields_district(const struct ingest_ctx *ctx, const char *key,
    const char *code, char *why, size_t whysize);
/* A plausible mobile or landline number of the mainland. */
bool records_fields_phone_ok(const char *p);
/* A CAS registry number with a valid check digit. */
bool records_fields_cas_ok(const char *s);
/* A person {id, name, phone} at `at`, written to w as an object. */
int records_fields_person(const cJSON *p, const char *at, struct json_out *w,
    char *why, size_t whysize);

#endif

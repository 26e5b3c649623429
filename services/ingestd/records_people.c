/*
 * records_people - the registry records about people: duty rosters and
 * inspectors.
 *
 * Part of the registry group of event kinds (records_registry_internal.h
 * says how its three files fit): the validators of duty.roster and
 * inspector.upsert, which records_registry_kinds[] names.  They run on
 * ingestd's loop thread like the rest of the group: fields checked with
 * records_fields_*(), districts against the in-memory registry and the
 * source's scope by district (neither record belongs to an enterprise; a
 * department's is city-wide).  Each leaves a struct records_registry_form
 * for the group's one apply in records_registry.c, which checks the
 * department codes against the store and upserts the row of
 * deploy/sql/0005_records_registry.sql.  The job owns the form.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "ingestd.h"
#include "json.h"
#include "kinds_internal.h"
#include "records_fields.h"
#include "records_registry_internal.h"
#include "timeutil.h"

#define OFFICERS_MAX 50
#define CONFLICTS_MAX 500
/* A roster row is one shift; a week covers the longest (a duty leader's
 * week) without letting a typo in a year stand for a shift. */
#define SHIFT_MAX_MS (INT64_C(7) * TIMEUTIL_MS_PER_DAY)
/* Rosters are planned ahead, but not years ahead. */
#define ROSTER_AHEAD_MS (INT64_C(400) * TIMEUTIL_MS_PER_DAY)
/* 2000-01-01T00:00:00+08:00: nothing on the platform is older. */
#define EPOCH_2000_MS INT64_C(946656000000)

/* --- duty.roster --------------------------------------------------------- */

static const char *const roster_fields[] = {
    "unit", "start", "end", "leader", "officers", NULL};

static const char roster_sql[] =
    "INSERT INTO duty_rosters (unit, unit_kind, start_at, end_at, leader, "
    "officers, source, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (unit, start_at) DO UPDATE SET "
    "unit_kind = EXCLUDED.unit_kind, end_at = EXCLUDED.end_at, "
    "leader = EXCLUDED.leader, officers = EXCLUDED.officers, "
    "source = EXCLUDED.source, event_id = EXCLUDED.event_id, "
    "received_at = now() "
    "WHERE (duty_rosters.end_at, duty_rosters.leader, "
    "duty_rosters.officers) IS DISTINCT FROM "
    "(EXCLUDED.end_at, EXCLUDED.leader, EXCLUDED.officers)";

/*
 * unit is a district of the city (checked here), or a department code
 * (AWB, the city office, is one; checked in apply).  A department's or the
 * city office's roster is city-wide.
 */
int
records_people_roster_validate(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	const char *unit;
	const cJSON *leader, *officers;
	struct json_out lw, ow;
	struct json_err jerr;
	struct records_registry_form f;
	int64_t start, end;
	int d, n;

	*parsed = NULL;
	if (kinds_only_fields(
	        data, "duty.roster", roster_fields, why, whysize) != 0 ||
	    records_fields_text(
	        data, "data", "unit", true, 64, &unit, why, whysize) != 0)
		return -1;
	d = registry_district(ctx->reg, unit);
	if (d < 0 && ids_gb2260_ok(unit)) {
		snprintf(why, whysize,
		    "data: field 'unit' '%.20s' is not a district code of the "
		    "city",
		    unit);
		return -1;
	}
	if (d < 0 &&
	    records_fields_dept(data, "unit", true, &unit, why, whysize) != 0) {
		snprintf(why, whysize,
		    "data: field 'unit' must be a district code, a department "
		    "code or AWB (the city office), got '%.20s'",
		    unit);
		return -1;
	}
	if (records_fields_time(data, "start", &start, why, whysize) != 0 ||
	    records_fields_time(data, "end", &end, why, whysize) != 0)
		return -1;
	if (start >= end) {
		snprintf(why, whysize, "data: 'start' must be before 'end'");
		return -1;
	}
	if (end - start > SHIFT_MAX_MS) {
		snprintf(why, whysize,
		    "data: a shift lasts at most 7 days, this one %lld hours",
		    (long long)((end - start) / 3600000));
		return -1;
	}
	if (start < EPOCH_2000_MS || end > ctx->now_ms + ROSTER_AHEAD_MS) {
		snprintf(why, whysize,
		    "data: a shift must lie between 2000 and 400 days from "
		    "now");
		return -1;
	}
	if (json_get_obj(data, "leader", &leader, true, &jerr) < 0 ||
	    json_get_arr(data, "officers", &officers, true, &jerr) < 0)
		return records_fields_why_json("data", &jerr, why, whysize);
	n = cJSON_GetArraySize(officers);
	if (n < 1 || n > OFFICERS_MAX) {
		snprintf(why, whysize,
		    "data: field 'officers' must list 1 to %d officers, got %d",
		    OFFICERS_MAX, n);
		return -1;
	}
	memset(&f, 0, sizeof(f));
	snprintf(f.what, sizeof(f.what), "duty roster of %s", unit);
	if (records_registry_district_scope(ctx, f.what, d, why, whysize) != 0)
		return -1;
	json_out_init(&lw);
	json_out_init(&ow);
	json_out_arr_open(&ow);
	if (records_fields_person(leader, "data.leader", &lw, why, whysize) !=
	    0)
		goto bad;
	for (int i = 0; i < n; i++) {
		char at[32];

		snprintf(at, sizeof(at), "data.officers[%d]", i);
		if (records_fields_person(cJSON_GetArrayItem(officers, i), at,
		        &ow, why, whysize) != 0)
			goto bad;
	}
	json_out_arr_close(&ow);
	f.sql = roster_sql;
	records_registry_form_str(&f, unit);
	records_registry_form_str(&f, d >= 0 ? "district" : "department");
	records_registry_form_time(&f, start);
	records_registry_form_time(&f, end);
	records_registry_form_json(&f, &lw);
	records_registry_form_json(&f, &ow);
	if (d < 0)
		records_registry_form_dept(&f, "unit", unit);
	return records_registry_form_finish(&f, parsed, why, whysize);
bad:
	json_out_free(&lw);
	json_out_free(&ow);
	return -1;
}

/* --- inspector.upsert ---------------------------------------------------- */

static const char *const inspector_fields[] = {
    "id", "name", "dept", "district", "active", "conflicts", NULL};

static const char inspector_sql[] =
    "INSERT INTO inspectors (id, name, dept, district, active, conflicts, "
    "source, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
    "dept = EXCLUDED.dept, district = EXCLUDED.district, "
    "active = EXCLUDED.active, conflicts = EXCLUDED.conflicts, "
    "source = EXCLUDED.source, event_id = EXCLUDED.event_id, "
    "received_at = now() "
    "WHERE (inspectors.name, inspectors.dept, inspectors.district, "
    "inspectors.active, inspectors.conflicts) IS DISTINCT FROM "
    "(EXCLUDED.name, EXCLUDED.dept, EXCLUDED.district, EXCLUDED.active, "
    "EXCLUDED.conflicts)";

/*
 * The conflicts (回避) as a PostgreSQL array literal; a valid USCC is
 * letters and digits only, so no element needs quoting.  The enterprises
 * need not be registered: a conflict may be declared before they are.
 */
static int
inspector_conflicts(const cJSON *arr, struct records_registry_form *f,
    char *why, size_t whysize)
{
	int n = cJSON_GetArraySize(arr);
	char reason[IDS_REASON_SIZE];
	char *lit;
	size_t len = 0;

	if (n > CONFLICTS_MAX) {
		snprintf(why, whysize,
		    "data: field 'conflicts' lists %d enterprises, at most %d",
		    n, CONFLICTS_MAX);
		return -1;
	}
	lit = malloc((size_t)n * IDS_USCC_SIZE + 3);
	if (lit == NULL) {
		f->oom = true;
		return 0;
	}
	lit[len++] = '{';
	for (int i = 0; i < n; i++) {
		const cJSON *c = cJSON_GetArrayItem(arr, i);

		if (!cJSON_IsString(c) || ids_uscc_check(c->valuestring, reason,
		                              sizeof(reason)) != 0) {
			snprintf(why, whysize,
			    "data: conflicts[%d] is not a valid unified social "
			    "credit code: %s",
			    i, cJSON_IsString(c) ? reason : "not a string");
			free(lit);
			return -1;
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(cJSON_GetArrayItem(arr, j)->valuestring,
			        c->valuestring) == 0) {
				snprintf(why, whysize,
				    "data: conflicts[%d] repeats conflicts[%d]",
				    i, j);
				free(lit);
				return -1;
			}
		}
		if (i > 0)
			lit[len++] = ',';
		memcpy(lit + len, c->valuestring, IDS_USCC_SIZE - 1);
		len += IDS_USCC_SIZE - 1;
	}
	lit[len++] = '}';
	lit[len] = '\0';
	records_registry_form_str(f, lit);
	free(lit);
	return 0;
}

int
records_people_inspector_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize)
{
	const char *id, *name, *dept, *district;
	const cJSON *conflicts;
	struct json_err jerr;
	struct records_registry_form f;
	bool active, given;
	int d = -1;

	*parsed = NULL;
	if (kinds_only_fields(data, "inspector.upsert", inspector_fields, why,
	        whysize) != 0 ||
	    records_fields_code(data, "data", "id", true, &id, why, whysize) !=
	        0 ||
	    records_fields_text(data, "data", "name", true, PERSON_MAX_BYTES,
	        &name, why, whysize) != 0 ||
	    records_fields_dept(data, "dept", true, &dept, why, whysize) != 0 ||
	    records_fields_text(data, "data", "district", false, 64, &district,
	        why, whysize) != 0 ||
	    records_fields_bool(
	        data, "active", true, &active, &given, why, whysize) != 0)
		return -1;
	if (district != NULL && (d = records_fields_district(ctx, "district",
	                             district, why, whysize)) < 0)
		return -1;
	if (json_get_arr(data, "conflicts", &conflicts, true, &jerr) < 0)
		return records_fields_why_json("data", &jerr, why, whysize);
	memset(&f, 0, sizeof(f));
	snprintf(f.what, sizeof(f.what), "inspector %.60s", id);
	if (records_registry_district_scope(ctx, f.what, d, why, whysize) != 0)
		return -1;
	f.sql = inspector_sql;
	records_registry_form_str(&f, id);
	records_registry_form_str(&f, name);
	records_registry_form_str(&f, dept);
	records_registry_form_str(&f, district);
	records_registry_form_bool(&f, true, active);
	if (inspector_conflicts(conflicts, &f, why, whysize) != 0) {
		for (int i = 0; i < f.nparams; i++)
			free(f.param[i]);
		return -1;
	}
	records_registry_form_dept(&f, "dept", dept);
	return records_registry_form_finish(&f, parsed, why, whysize);
}

/*
 * records_operation - dangerous operations (filed, started, finished) and
 * maintenance windows.
 *
 * Part of the group of the records with a life (records_hazard_internal.h
 * says how its two files fit): the validators and applies that
 * records_hazard_kinds[] names for these kinds.  A validator runs on
 * ingestd's loop thread and checks what needs no store: the operation's
 * type and level, its planned times in order, the responsible person's
 * name and phone, points that belong to the enterprise, the source's
 * scope; it leaves a form.  An apply runs on the writer thread inside the
 * transaction that stores the event: it locks the operation's row (SELECT
 * ... FOR UPDATE) and judges the transition against its stored state.  A
 * planned duration beyond the rule of its type and level (record_rules) is
 * refused; an operation started without a filing is recorded as such, an
 * alert rather than a refusal, and a filing that comes later fills in its
 * details.  A maintenance window is one row, without a life of its own.
 * The tables and rules are deploy/sql/0006_records_hazard.sql.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "kinds_internal.h"
#include "records_hazard_internal.h"
#include "store.h"
#include "timeutil.h"

#define PHONE_MAX 32

/* --- points of an enterprise --------------------------------------------- */

/* The enterprise of point code, from this request or the registry. */
static const char *
point_owner(const struct ingest_ctx *ctx, const char *code)
{
	const struct reg_point *p;
	size_t i;

	if (ctx->job != NULL) {
		for (i = ctx->job->nevents; i-- > 0;) {
			const struct ingest_event *ev = &ctx->job->events[i];
			const struct upsert_form *u = ev->parsed;

			if (u != NULL &&
			    strcmp(ev->kind->name, "point.upsert") == 0 &&
			    strcmp(u->code, code) == 0)
				return u->uscc;
		}
	}
	p = registry_point(ctx->reg, code);
	return p != NULL ? p->uscc : NULL;
}

/*
 * data.points: an optional array of distinct codes of points of the
 * enterprise uscc, as a JSON array text in *out ("[]" when absent).
 */
static int
get_points(const struct ingest_ctx *ctx, const cJSON *data, const char *uscc,
    struct json_out *out, char *why, size_t whysize)
{
	const cJSON *arr, *it, *o;
	struct json_err jerr;
	const char *owner;
	int r, n = 0;

	json_out_arr_open(out);
	r = json_get_arr(data, "points", &arr, false, &jerr);
	if (r < 0)
		return kinds_why_json(&jerr, why, whysize);
	if (r == 0) {
		json_out_arr_close(out);
		return 0;
	}
	cJSON_ArrayForEach(it, arr)
	{
		if (++n > LIST_MAX) {
			snprintf(why, whysize,
			    "data: field 'points' has more than %d codes",
			    LIST_MAX);
			return -1;
		}
		if (!cJSON_IsString(it)) {
			snprintf(why, whysize,
			    "data: field 'points' must hold point codes "
			    "(strings), got %s",
			    json_type_name(it));
			return -1;
		}
		for (o = arr->child; o != it; o = o->next) {
			if (strcmp(o->valuestring, it->valuestring) == 0) {
				snprintf(why, whysize,
				    "data: point '%.64s' appears twice in "
				    "'points'",
				    it->valuestring);
				return -1;
			}
		}
		owner = point_owner(ctx, it->valuestring);
		if (owner == NULL) {
			snprintf(why, whysize,
			    "data: point '%.64s' is not registered",
			    it->valuestring);
			return -1;
		}
		if (strcmp(owner, uscc) != 0) {
			snprintf(why, whysize,
			    "data: point '%.64s' belongs to enterprise %s, not "
			    "%s",
			    it->valuestring, owner, uscc);
			return -1;
		}
		json_out_str(out, it->valuestring);
	}
	json_out_arr_close(out);
	return 0;
}

/* --- operation.filed ----------------------------------------------------- */

static const char *const operation_filed_fields[] = {"op_id", "uscc", "type",
    "level", "location", "hazard_source", "points", "planned_start",
    "planned_end", "contractor", "responsible", NULL};
static const char *const operation_filed_required[] = {"op_id", "uscc", "type",
    "location", "planned_start", "planned_end", "contractor", "responsible",
    NULL};
static const char *const operation_types[] = {"hot_work", "confined_space",
    "blinding", "height", "lifting", "temporary_power", "excavation",
    "road_closure", "blasting", NULL};
static const char *const hot_work_levels[] = {
    "special", "first", "second", NULL};
static const char *const responsible_fields[] = {"name", "phone", NULL};

/* A phone number: digits with '+', '-', spaces and brackets. */
static int
phone_ok(const char *s)
{
	int digits = 0;

	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (strchr("+- ()", *s) == NULL)
			return 0;
	}
	return digits >= 3;
}

/* data.responsible: {name, phone}. */
static int
get_responsible(const cJSON *data, const char **name, const char **phone,
    char *why, size_t whysize)
{
	const cJSON *r;
	struct json_err jerr;

	if (json_get_obj(data, "responsible", &r, true, &jerr) < 0)
		return kinds_why_json(&jerr, why, whysize);
	if (kinds_only_fields(r, "operation.filed (in 'responsible')",
	        responsible_fields, why, whysize) != 0)
		return -1;
	if (kinds_get_text(r, "name", true, PERSON_MAX, name, why, whysize) !=
	        0 ||
	    kinds_get_text(r, "phone", true, PHONE_MAX, phone, why, whysize) !=
	        0) {
		/* The helpers name the field alone; say where it is. */
		size_t n = strlen(why);

		snprintf(why + n, whysize > n ? whysize - n : 0,
		    " (in 'responsible')");
		return -1;
	}
	if (!phone_ok(*phone)) {
		snprintf(why, whysize,
		    "data: responsible.phone '%.32s' is not a phone number",
		    *phone);
		return -1;
	}
	return 0;
}

int
records_operation_filed_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize)
{
	const char *id, *uscc, *type, *level, *location, *hsrc, *contractor;
	const char *rname, *rphone;
	int64_t start_ms, end_ms;
	bool has_start, has_end;
	struct json_out points;
	struct records_hazard_form *f;
	int rc = -1;

	*parsed = NULL;
	if (kinds_generic_validate(ctx, data, "operation.filed",
	        operation_filed_required, why, whysize) != 0 ||
	    kinds_only_fields(data, "operation.filed", operation_filed_fields,
	        why, whysize) != 0 ||
	    records_hazard_get_id(data, "op_id", &id, why, whysize) != 0 ||
	    records_hazard_get_enterprise(ctx, data, &uscc, why, whysize) !=
	        0 ||
	    kinds_get_enum(
	        data, "type", true, operation_types, &type, why, whysize) != 0)
		return -1;
	if (strcmp(type, "hot_work") == 0) {
		if (kinds_get_enum(data, "level", true, hot_work_levels, &level,
		        why, whysize) != 0)
			return -1;
	} else if (kinds_get_text(data, "level", false, CODE_MAX, &level, why,
	               whysize) != 0) {
		return -1;
	}
	if (kinds_get_text(data, "location", true, ADDRESS_MAX_BYTES, &location,
	        why, whysize) != 0 ||
	    kinds_get_text(data, "hazard_source", false, CODE_MAX, &hsrc, why,
	        whysize) != 0 ||
	    records_hazard_get_time(data, "planned_start", true, &start_ms,
	        &has_start, why, whysize) != 0 ||
	    records_hazard_get_time(data, "planned_end", true, &end_ms,
	        &has_end, why, whysize) != 0 ||
	    kinds_get_text(data, "contractor", true, NAME_MAX_BYTES,
	        &contractor, why, whysize) != 0 ||
	    get_responsible(data, &rname, &rphone, why, whysize) != 0)
		return -1;
	if (start_ms >= end_ms) {
		snprintf(why, whysize,
		    "data: 'planned_start' must come before 'planned_end'");
		return -1;
	}
	json_out_init(&points);
	if (get_points(ctx, data, uscc, &points, why, whysize) != 0 ||
	    (f = records_hazard_form_new(why, whysize)) == NULL)
		goto out;
	snprintf(f->id, sizeof(f->id), "%s", id);
	if (level != NULL)
		snprintf(f->rule, sizeof(f->rule),
		    "operation.%s.%s.max_duration", type, level);
	records_hazard_form_str(f, id);
	records_hazard_form_str(f, uscc);
	records_hazard_form_str(f, type);
	records_hazard_form_str(f, level);
	records_hazard_form_str(f, location);
	records_hazard_form_str(f, hsrc);
	records_hazard_form_str(f, json_out_data(&points));
	records_hazard_form_time(f, start_ms);
	records_hazard_form_time(f, end_ms);
	records_hazard_form_str(f, contractor);
	records_hazard_form_str(f, rname);
	records_hazard_form_str(f, rphone);
	if (json_out_failed(&points))
		f->failed = true;
	rc = records_hazard_form_done(f, parsed, why, whysize);
out:
	json_out_free(&points);
	return rc;
}

/* The validity rule of the operation's type and level, when there is one:
 * $1 rule name, $2 planned start, $3 planned end. */
static const char operation_rule_sql[] =
    "SELECT round(extract(epoch FROM value) / 3600, 1)::text, "
    "round(extract(epoch FROM $3::timestamptz - $2::timestamptz) / 3600, "
    "1)::text, $3::timestamptz - $2::timestamptz > value "
    "FROM record_rules WHERE name = $1";

/* $1..$12 the form, $13 source, $14 event, $15 the event's time. */
static const char operation_file_sql[] =
    "WITH o AS (INSERT INTO operations (op_id, uscc, type, level, location, "
    "hazard_source, points, planned_start, planned_end, contractor, "
    "responsible_name, responsible_phone, status, unfiled, filed_at, "
    "source, event_id) VALUES ($1, $2, $3, $4, $5, $6, "
    "ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8, $9, $10, $11, "
    "$12, 'filed', false, $15, $13, $14) ON CONFLICT (op_id) DO NOTHING "
    "RETURNING op_id, filed_at) "
    "INSERT INTO operation_transitions (op_id, kind, from_status, "
    "to_status, at, source, event_id) "
    "SELECT op_id, 'operation.filed', NULL, 'filed', filed_at, $13, $14 "
    "FROM o RETURNING op_id";

/* The operation's row locked: $1 id, $2 source, $3 the event's time. */
static const char operation_lock_sql[] =
    "SELECT o.status, o.uscc, o.unfiled, o.filed_at IS NOT "
    "NULL, " TIME_TEXT("o.started_at") ", " TIME_TEXT(
        "o.finished_at") ", " SCOPE_SQL ", e.district, e.sector, "
                         "o.started_at > $3::timestamptz "
                         "FROM operations o LEFT JOIN enterprises e ON "
                         "e.uscc = o.uscc "
                         "LEFT JOIN sources s ON s.name = $2 "
                         "WHERE o.op_id = $1 FOR UPDATE OF o";

enum {
	OP_STATUS,
	OP_USCC,
	OP_UNFILED,
	OP_FILED,
	OP_STARTED,
	OP_FINISHED,
	OP_SCOPE,
	OP_DISTRICT,
	OP_SECTOR,
	OP_AT_BEFORE_START
};

/* A filing after a start without one: the details fill in, the state and
 * the unfiled mark stay. */
static const char operation_file_late_sql[] =
    "WITH o AS (UPDATE operations SET uscc = $2, type = $3, level = $4, "
    "location = $5, hazard_source = $6, "
    "points = ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), "
    "planned_start = $8, planned_end = $9, contractor = $10, "
    "responsible_name = $11, responsible_phone = $12, filed_at = $15, "
    "source = $13, event_id = $14, received_at = now() "
    "WHERE op_id = $1 RETURNING op_id, status) "
    "INSERT INTO operation_transitions (op_id, kind, from_status, "
    "to_status, at, source, event_id, note) "
    "SELECT op_id, 'operation.filed', status, status, $15, $13, $14, "
    "'filed after it started' FROM o RETURNING op_id";

/* Lock operation id; 0 with the row in *res, 1 when there is none. */
static int
operation_lock(struct store *st, const char *source, const char *id,
    const char *at, PGresult **res, struct store_err *err)
{
	const char *p[3] = {id, source, at};

	if (store_exec(st, operation_lock_sql, 3, p, res, err) != 0)
		return -1;
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		return 1;
	}
	if (strcmp(PQgetvalue(*res, 0, OP_SCOPE), "t") != 0) {
		kinds_refuse(err, STATE_SCOPE,
		    "operation %.40s is of enterprise %s (%s / %s), outside "
		    "the "
		    "scope of source %.30s",
		    id, PQgetvalue(*res, 0, OP_USCC),
		    PQgetvalue(*res, 0, OP_DISTRICT),
		    PQgetvalue(*res, 0, OP_SECTOR), source);
		PQclear(*res);
		return -1;
	}
	return 0;
}

/* Refuse a planned duration beyond the rule of its type and level. */
static int
operation_rule_check(struct store *st, const struct records_hazard_form *f,
    struct store_err *err)
{
	const char *p[3];
	PGresult *res;
	int rc = 0;

	if (f->rule[0] == '\0')
		return 0;
	p[0] = f->rule;
	p[1] = f->text + f->off[7];
	p[2] = f->text + f->off[8];
	if (store_exec(st, operation_rule_sql, 3, p, &res, err) != 0)
		return -1;
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 2), "t") == 0)
		rc = kinds_refuse(err, STATE_WRONG,
		    "%s %s is valid for at most %s h, this one is planned for "
		    "%s h",
		    f->text + f->off[2], f->text + f->off[3],
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
	return rc;
}

int
records_operation_filed_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct records_hazard_form *f = ev->parsed;
	char at[TIMEUTIL_RFC3339_SIZE];
	const char *extra[3] = {source, ev->id, at};
	const char *uscc;
	PGresult *res;
	int n, rc;

	if (ev->duplicate || f == NULL)
		return 0;
	if (operation_rule_check(st, f, err) != 0)
		return -1;
	records_hazard_event_time(ev, at);
	if (records_hazard_form_exec(
	        st, operation_file_sql, f, extra, 3, &res, err) != 0)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	if (n == 1)
		return 0;
	rc = operation_lock(st, source, f->id, at, &res, err);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return kinds_refuse(err, STATE_EXISTS,
		    "operation %.40s was filed at the same moment by another "
		    "writer",
		    f->id);
	if (strcmp(PQgetvalue(res, 0, OP_FILED), "t") == 0) {
		kinds_refuse(err, STATE_EXISTS,
		    "operation %.40s was already filed (status %s)", f->id,
		    PQgetvalue(res, 0, OP_STATUS));
		PQclear(res);
		return -1;
	}
	uscc = PQgetvalue(res, 0, OP_USCC);
	if (!PQgetisnull(res, 0, OP_USCC) &&
	    strcmp(uscc, f->text + f->off[1]) != 0) {
		kinds_refuse(err, STATE_WRONG,
		    "operation %.40s started as one of enterprise %s, filed "
		    "for %s",
		    f->id, uscc, f->text + f->off[1]);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	if (records_hazard_form_exec(
	        st, operation_file_late_sql, f, extra, 3, &res, err) != 0)
		return -1;
	return records_hazard_one_row(res, "operation.filed", err);
}

/* --- operation.started, operation.finished ------------------------------- */

static const char *const operation_started_fields[] = {"op_id", "uscc", NULL};
static const char *const operation_started_required[] = {"op_id", NULL};
static const char *const operation_finished_fields[] = {"op_id", NULL};
static const char *const operation_finished_required[] = {"op_id", NULL};

int
records_operation_started_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize)
{
	const char *id, *uscc = NULL;
	const cJSON *u;
	struct records_hazard_form *f;

	*parsed = NULL;
	if (kinds_generic_validate(ctx, data, "operation.started",
	        operation_started_required, why, whysize) != 0 ||
	    kinds_only_fields(data, "operation.started",
	        operation_started_fields, why, whysize) != 0 ||
	    records_hazard_get_id(data, "op_id", &id, why, whysize) != 0)
		return -1;
	u = cJSON_GetObjectItemCaseSensitive(data, "uscc");
	if (u != NULL && !cJSON_IsNull(u) &&
	    records_hazard_get_enterprise(ctx, data, &uscc, why, whysize) != 0)
		return -1;
	if ((f = records_hazard_form_new(why, whysize)) == NULL)
		return -1;
	snprintf(f->id, sizeof(f->id), "%s", id);
	records_hazard_form_str(f, id);
	records_hazard_form_str(f, uscc);
	return records_hazard_form_done(f, parsed, why, whysize);
}

int
records_operation_finished_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize)
{
	const char *id;
	struct records_hazard_form *f;

	*parsed = NULL;
	if (kinds_generic_validate(ctx, data, "operation.finished",
	        operation_finished_required, why, whysize) != 0 ||
	    kinds_only_fields(data, "operation.finished",
	        operation_finished_fields, why, whysize) != 0 ||
	    records_hazard_get_id(data, "op_id", &id, why, whysize) != 0)
		return -1;
	if ((f = records_hazard_form_new(why, whysize)) == NULL)
		return -1;
	snprintf(f->id, sizeof(f->id), "%s", id);
	records_hazard_form_str(f, id);
	return records_hazard_form_done(f, parsed, why, whysize);
}

/* $1 id, $2 uscc or NULL, $3 source, $4 event, $5 the event's time. */
static const char operation_start_unfiled_sql[] =
    "WITH o AS (INSERT INTO operations (op_id, uscc, status, unfiled, "
    "started_at, source, event_id) VALUES ($1, $2, 'active', true, $5, $3, "
    "$4) RETURNING op_id, started_at) "
    "INSERT INTO operation_transitions (op_id, kind, from_status, "
    "to_status, at, source, event_id, note) "
    "SELECT op_id, 'operation.started', NULL, 'active', started_at, $3, $4, "
    "'started without filing' FROM o RETURNING op_id";

static const char operation_start_sql[] =
    "WITH o AS (UPDATE operations SET status = 'active', started_at = $5, "
    "uscc = COALESCE($2, uscc), source = $3, event_id = $4, "
    "received_at = now() WHERE op_id = $1 RETURNING op_id) "
    "INSERT INTO operation_transitions (op_id, kind, from_status, "
    "to_status, at, source, event_id) "
    "SELECT op_id, 'operation.started', 'filed', 'active', $5, $3, $4 "
    "FROM o RETURNING op_id";

/* $1 id, $2 source, $3 event, $4 the event's time. */
static const char operation_finish_sql[] =
    "WITH o AS (UPDATE operations SET status = 'finished', finished_at = "
    "$4, source = $2, event_id = $3, received_at = now() "
    "WHERE op_id = $1 RETURNING op_id) "
    "INSERT INTO operation_transitions (op_id, kind, from_status, "
    "to_status, at, source, event_id) "
    "SELECT op_id, 'operation.finished', 'active', 'finished', $4, $2, $3 "
    "FROM o RETURNING op_id";

int
records_operation_started_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct records_hazard_form *f = ev->parsed;
	char at[TIMEUTIL_RFC3339_SIZE];
	const char *extra[3] = {source, ev->id, at};
	const char *status, *given;
	PGresult *res;
	int rc;

	if (ev->duplicate || f == NULL)
		return 0;
	records_hazard_event_time(ev, at);
	rc = operation_lock(st, source, f->id, at, &res, err);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		/* Never filed: recorded as such, an alert and not a lie. */
		if (records_hazard_form_exec(st, operation_start_unfiled_sql, f,
		        extra, 3, &res, err) != 0)
			return -1;
		return records_hazard_one_row(res, "operation.started", err);
	}
	status = PQgetvalue(res, 0, OP_STATUS);
	given = f->off[1] < 0 ? NULL : f->text + f->off[1];
	if (strcmp(status, "active") == 0) {
		kinds_refuse(err, STATE_WRONG,
		    "operation %.40s already started at %s", f->id,
		    PQgetvalue(res, 0, OP_STARTED));
		PQclear(res);
		return -1;
	}
	if (strcmp(status, "finished") == 0) {
		kinds_refuse(err, STATE_WRONG,
		    "operation %.40s already finished at %s", f->id,
		    PQgetvalue(res, 0, OP_FINISHED));
		PQclear(res);
		return -1;
	}
	if (given != NULL && strcmp(given, PQgetvalue(res, 0, OP_USCC)) != 0) {
		kinds_refuse(err, STATE_WRONG,
		    "operation %.40s was filed for enterprise %s, not %s",
		    f->id, PQgetvalue(res, 0, OP_USCC), given);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	if (records_hazard_form_exec(
	        st, operation_start_sql, f, extra, 3, &res, err) != 0)
		return -1;
	return records_hazard_one_row(res, "operation.started", err);
}

int
records_operation_finished_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct records_hazard_form *f = ev->parsed;
	char at[TIMEUTIL_RFC3339_SIZE];
	const char *extra[3] = {source, ev->id, at};
	const char *status;
	PGresult *res;
	int rc;

	if (ev->duplicate || f == NULL)
		return 0;
	records_hazard_event_time(ev, at);
	rc = operation_lock(st, source, f->id, at, &res, err);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return kinds_refuse(err, STATE_WRONG,
		    "operation %.40s was never filed nor started", f->id);
	status = PQgetvalue(res, 0, OP_STATUS);
	if (strcmp(status, "filed") == 0)
		rc = kinds_refuse(err, STATE_WRONG,
		    "operation %.40s was filed but never started", f->id);
	else if (strcmp(status, "finished") == 0)
		rc = kinds_refuse(err, STATE_WRONG,
		    "operation %.40s already finished at %s", f->id,
		    PQgetvalue(res, 0, OP_FINISHED));
	else if (strcmp(PQgetvalue(res, 0, OP_AT_BEFORE_START), "t") == 0)
		rc = kinds_refuse(err, STATE_WRONG,
		    "operation %.40s cannot finish before it started (at %s)",
		    f->id, PQgetvalue(res, 0, OP_STARTED));
	PQclear(res);
	if (rc != 0)
		return -1;
	if (records_hazard_form_exec(
	        st, operation_finish_sql, f, extra, 3, &res, err) != 0)
		return -1;
	return records_hazard_one_row(res, "operation.finished", err);
}

/* --- maintenance.window -------------------------------------------------- */

static const char *const maintenance_fields[] = {
    "uscc", "points", "hazard_source", "start", "end", "reason", NULL};
static const char *const maintenance_required[] = {
    "uscc", "start", "end", "reason", NULL};
static const char *const maintenance_reasons[] = {
    "overhaul", "startup", "shutdown", "trial", NULL};

int
records_operation_maintenance_validate(const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize)
{
	const char *uscc, *hsrc, *reason;
	int64_t start_ms, end_ms;
	bool has_start, has_end;
	struct json_out points;
	struct records_hazard_form *f;
	int rc = -1;

	*parsed = NULL;
	if (kinds_generic_validate(ctx, data, "maintenance.window",
	        maintenance_required, why, whysize) != 0 ||
	    kinds_only_fields(data, "maintenance.window", maintenance_fields,
	        why, whysize) != 0 ||
	    records_hazard_get_enterprise(ctx, data, &uscc, why, whysize) !=
	        0 ||
	    kinds_get_text(data, "hazard_source", false, CODE_MAX, &hsrc, why,
	        whysize) != 0 ||
	    records_hazard_get_time(data, "start", true, &start_ms, &has_start,
	        why, whysize) != 0 ||
	    records_hazard_get_time(
	        data, "end", true, &end_ms, &has_end, why, whysize) != 0 ||
	    kinds_get_enum(data, "reason", true, maintenance_reasons, &reason,
	        why, whysize) != 0)
		return -1;
	if (start_ms >= end_ms) {
		snprintf(why, whysize, "data: 'start' must come before 'end'");
		return -1;
	}
	json_out_init(&points);
	if (get_points(ctx, data, uscc, &points, why, whysize) != 0 ||
	    (f = records_hazard_form_new(why, whysize)) == NULL)
		goto out;
	records_hazard_form_str(f, uscc);
	records_hazard_form_str(f, json_out_data(&points));
	records_hazard_form_str(f, hsrc);
	records_hazard_form_time(f, start_ms);
	records_hazard_form_time(f, end_ms);
	records_hazard_form_str(f, reason);
	if (json_out_failed(&points))
		f->failed = true;
	rc = records_hazard_form_done(f, parsed, why, whysize);
out:
	json_out_free(&points);
	return rc;
}

/* $1..$6 the form, $7 source, $8 event. */
static const char maintenance_sql[] =
    "INSERT INTO maintenance_windows (uscc, points, hazard_source, "
    "starts_at, ends_at, reason, source, event_id) VALUES ($1, "
    "ARRAY(SELECT jsonb_array_elements_text($2::jsonb)), $3, $4, $5, $6, "
    "$7, $8)";

int
records_operation_maintenance_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const char *extra[2] = {source, ev->id};

	if (ev->duplicate || ev->parsed == NULL)
		return 0;
	return records_hazard_form_exec(
	    st, maintenance_sql, ev->parsed, extra, 2, NULL, err);
}

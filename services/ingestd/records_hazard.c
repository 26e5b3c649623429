/*
 * records_hazard - the records with a life: hidden hazards (reported,
 * rectified, verified), and what the group's two files share.
 *
 * One group of the event kinds of DOMAIN.md §2 (kinds_internal.h says how
 * the groups fit); dangerous operations and maintenance windows are in
 * records_operation.c, and records_hazard_internal.h is what the two
 * share: the form and the helpers defined here, and the table
 * records_hazard_kinds[] below, which names the kinds of both.  Each
 * validator runs on ingestd's loop thread and checks what needs no store:
 * fields and their types, enums, times and their order, enterprises and
 * points known to the registry (or upserted earlier in the same request),
 * the source's scope.  It leaves a form holding the statement parameters
 * as text.  Each apply runs on the writer thread inside the transaction
 * that stores the event: it locks the record's row (SELECT ... FOR
 * UPDATE), judges the transition against the stored state, and changes the
 * current row together with a row of its transitions table, so a
 * transition that contradicts the state is refused with its reason and
 * leaves nothing behind (writer_group.c rolls the event back).  The
 * tables, views and the rules read here (default deadline, hot-work
 * validity) are deploy/sql/0006_records_hazard.sql.  The job owns the
 * forms and frees them through the kind's free.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kinds_internal.h"
#include "records_hazard_internal.h"
#include "store.h"
#include "timeutil.h"

#define LONG_TEXT_MAX 4000 /* description, measures */
#define NOTE_MAX 2000
/* Times before this (2000-01-01) or after 2100-01-01 are a sender's bug. */
#define TIME_MIN_MS INT64_C(946684800000)
#define TIME_MAX_MS INT64_C(4102444800000)

/* --- the form ------------------------------------------------------------ */

static void
records_hazard_form_free(void *parsed)
{
	struct records_hazard_form *f = parsed;

	if (f == NULL)
		return;
	free(f->text);
	free(f);
}

static void records_hazard_form_add(struct records_hazard_form *f,
    const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append a parameter (fmt NULL: SQL NULL); the buffer grows as needed. */
static void
records_hazard_form_add(struct records_hazard_form *f, const char *fmt, ...)
{
	va_list ap;
	int need;

	if (f->n >= FORM_MAX_PARAMS) {
		f->failed = true;
		return;
	}
	if (fmt == NULL || f->failed) {
		f->off[f->n++] = -1;
		return;
	}
	va_start(ap, fmt);
	need = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (need < 0) {
		f->failed = true;
		return;
	}
	if (f->len + (size_t)need + 1 > f->cap) {
		size_t cap = (f->len + (size_t)need + 1) * 2;
		char *p = realloc(f->text, cap);

		if (p == NULL) {
			f->failed = true;
			return;
		}
		f->text = p;
		f->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(f->text + f->len, f->cap - f->len, fmt, ap);
	va_end(ap);
	f->off[f->n++] = (int)f->len;
	f->len += (size_t)need + 1;
}

void
records_hazard_form_str(struct records_hazard_form *f, const char *s)
{
	if (s == NULL)
		records_hazard_form_add(f, NULL);
	else
		records_hazard_form_add(f, "%s", s);
}

/* A time as RFC 3339 in city time, which PostgreSQL reads exactly. */
void
records_hazard_form_time(struct records_hazard_form *f, int64_t ms)
{
	char buf[TIMEUTIL_RFC3339_SIZE];

	if (timeutil_format_rfc3339(ms, buf, sizeof(buf)) == 0)
		f->failed = true;
	records_hazard_form_str(f, buf);
}

/* Hand the form over as the parsed event, or free it and say why. */
int
records_hazard_form_done(
    struct records_hazard_form *f, void **parsed, char *why, size_t whysize)
{
	if (f->failed) {
		records_hazard_form_free(f);
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	*parsed = f;
	return 0;
}

/*
 * Run sql with the form's parameters followed by the extra ones (source,
 * event id, time...), each statement using all of them.
 */
int
records_hazard_form_exec(struct store *st, const char *sql,
    const struct records_hazard_form *f, const char *const *extra, int nextra,
    PGresult **out, struct store_err *err)
{
	const char *params[FORM_MAX_PARAMS + 4];
	int i, n = 0;

	for (i = 0; i < f->n; i++)
		params[n++] = f->off[i] < 0 ? NULL : f->text + f->off[i];
	for (i = 0; i < nextra && n < FORM_MAX_PARAMS + 4; i++)
		params[n++] = extra[i];
	return store_exec(st, sql, n, params, out, err);
}

struct records_hazard_form *
records_hazard_form_new(char *why, size_t whysize)
{
	struct records_hazard_form *f = calloc(1, sizeof(*f));

	if (f == NULL)
		snprintf(why, whysize, "out of memory");
	return f;
}

/* --- field helpers ------------------------------------------------------- */

/* A record id: 1..RECORD_ID_MAX bytes, no control characters. */
int
records_hazard_get_id(const cJSON *data, const char *key, const char **out,
    char *why, size_t whysize)
{
	const unsigned char *p;

	if (kinds_get_text(data, key, true, RECORD_ID_MAX, out, why, whysize) !=
	    0)
		return -1;
	for (p = (const unsigned char *)*out; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(why, whysize,
			    "data: field '%s' must not contain control "
			    "characters",
			    key);
			return -1;
		}
	}
	return 0;
}

/* A time: RFC 3339 with offset or integer epoch ms, within 2000..2100. */
int
records_hazard_get_time(const cJSON *data, const char *key, bool required,
    int64_t *ms, bool *given, char *why, size_t whysize)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(data, key);
	const char *perr = NULL;
	double v;

	*given = false;
	if (it == NULL || cJSON_IsNull(it)) {
		if (!required)
			return 0;
		snprintf(why, whysize, "data: field '%s' is required", key);
		return -1;
	}
	if (cJSON_IsString(it)) {
		if (timeutil_parse_rfc3339_n(it->valuestring,
		        strlen(it->valuestring), ms, &perr) != 0) {
			snprintf(why, whysize,
			    "data: field '%s' is not an RFC 3339 time: %s", key,
			    perr != NULL ? perr : "malformed");
			return -1;
		}
	} else if (cJSON_IsNumber(it) && (v = it->valuedouble) >= 0 &&
	           v <= (double)TIME_MAX_MS && (double)(int64_t)v == v) {
		*ms = (int64_t)v;
	} else {
		snprintf(why, whysize,
		    "data: field '%s' must be an RFC 3339 time with offset or "
		    "integer epoch milliseconds",
		    key);
		return -1;
	}
	if (*ms < TIME_MIN_MS || *ms >= TIME_MAX_MS) {
		snprintf(why, whysize,
		    "data: field '%s' must lie between 2000 and 2100", key);
		return -1;
	}
	*given = true;
	return 0;
}

/*
 * The district and sector of enterprise uscc: from an enterprise.upsert
 * accepted earlier in the same request (the latest wins, as it will in
 * the store), or from the registry.  0, or -1 when it is unknown.
 */
static int
find_enterprise(
    const struct ingest_ctx *ctx, const char *uscc, int *district, int *sector)
{
	const struct reg_enterprise *e;
	size_t i;

	if (ctx->job != NULL) {
		for (i = ctx->job->nevents; i-- > 0;) {
			const struct ingest_event *ev = &ctx->job->events[i];
			const struct upsert_form *u = ev->parsed;

			if (u != NULL &&
			    strcmp(ev->kind->name, "enterprise.upsert") == 0 &&
			    strcmp(u->uscc, uscc) == 0) {
				*district = u->district;
				*sector = u->sector;
				return 0;
			}
		}
	}
	e = registry_enterprise(ctx->reg, uscc);
	if (e == NULL)
		return -1;
	*district = e->district;
	*sector = e->sector;
	return 0;
}

/* data.uscc: valid, registered and within the source's scope. */
int
records_hazard_get_enterprise(const struct ingest_ctx *ctx, const cJSON *data,
    const char **uscc, char *why, size_t whysize)
{
	char what[64];
	int d, s;

	if (kinds_get_uscc(data, uscc, why, whysize) != 0)
		return -1;
	if (find_enterprise(ctx, *uscc, &d, &s) != 0) {
		snprintf(why, whysize,
		    "enterprise %s is not registered: send its "
		    "enterprise.upsert first",
		    *uscc);
		return -1;
	}
	snprintf(what, sizeof(what), "enterprise %s", *uscc);
	return kinds_scope_check(ctx, what, d, s, why, whysize);
}

/*
 * data.evidence: optional, a string or an array of strings (photos,
 * documents), as a JSON array text in *out, or *given false.
 */
static int
get_evidence(const cJSON *data, struct json_out *out, bool *given, char *why,
    size_t whysize)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(data, "evidence");
	const cJSON *it;
	int n = 0;

	*given = false;
	if (ev == NULL || cJSON_IsNull(ev))
		return 0;
	json_out_arr_open(out);
	if (cJSON_IsString(ev) && ev->valuestring[0] != '\0' &&
	    strlen(ev->valuestring) <= NOTE_MAX) {
		json_out_str(out, ev->valuestring);
	} else if (cJSON_IsArray(ev)) {
		cJSON_ArrayForEach(it, ev)
		{
			if (!cJSON_IsString(it) || it->valuestring[0] == '\0' ||
			    strlen(it->valuestring) > NOTE_MAX ||
			    ++n > LIST_MAX) {
				snprintf(why, whysize,
				    "data: field 'evidence' must hold up to %d "
				    "strings of 1 to %d bytes",
				    LIST_MAX, NOTE_MAX);
				return -1;
			}
			json_out_str(out, it->valuestring);
		}
	} else {
		snprintf(why, whysize,
		    "data: field 'evidence' must be a string or an array of "
		    "strings");
		return -1;
	}
	json_out_arr_close(out);
	*given = true;
	return 0;
}

/* --- applying: shared ---------------------------------------------------- */

/* The event's own time as a parameter. */
void
records_hazard_event_time(
    const struct ingest_event *ev, char buf[TIMEUTIL_RFC3339_SIZE])
{
	if (timeutil_format_rfc3339(ev->at_ms, buf, TIMEUTIL_RFC3339_SIZE) == 0)
		snprintf(buf, TIMEUTIL_RFC3339_SIZE, "1970-01-01T00:00:00Z");
}

/* A statement that must change one row: 0, or -1 (lost, which the row
 * lock makes impossible unless the schema changed under us). */
int
records_hazard_one_row(PGresult *res, const char *what, struct store_err *err)
{
	int n = PQntuples(res);

	PQclear(res);
	if (n == 1)
		return 0;
	return kinds_refuse(
	    err, STATE_WRONG, "%s changed nothing", what);
}

/* --- hazard.reported ----------------------------------------------------- */

static const char *const hazard_reported_fields[] = {"hazard_id", "uscc",
    "level", "source", "description", "found_at", "responsible_unit",
    "responsible_person", "measures", "deadline", "criteria_item", "risk_point",
    NULL};
static const char *const hazard_reported_required[] = {"hazard_id", "uscc",
    "level", "source", "description", "found_at", "responsible_unit",
    "responsible_person", "measures", NULL};
static const char *const hazard_levels[] = {"general", "major", NULL};
static const char *const hazard_found_by[] = {
    "self_check", "inspection", "report", "alarm", NULL};

static int
hazard_reported_validate(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	const char *id, *uscc, *level, *found_by, *desc, *unit, *person;
	const char *measures, *item, *risk_point;
	int64_t found_ms, deadline_ms;
	bool has_found, has_deadline;
	struct records_hazard_form *f;

	*parsed = NULL;
	if (kinds_generic_validate(ctx, data, "hazard.reported",
	        hazard_reported_required, why, whysize) != 0 ||
	    kinds_only_fields(data, "hazard.reported", hazard_reported_fields,
	        why, whysize) != 0 ||
	    records_hazard_get_id(data, "hazard_id", &id, why, whysize) != 0 ||
	    records_hazard_get_enterprise(ctx, data, &uscc, why, whysize) !=
	        0 ||
	    kinds_get_enum(data, "level", true, hazard_levels, &level, why,
	        whysize) != 0 ||
	    kinds_get_enum(data, "source", true, hazard_found_by, &found_by,
	        why, whysize) != 0 ||
	    kinds_get_text(data, "description", true, LONG_TEXT_MAX, &desc, why,
	        whysize) != 0 ||
	    records_hazard_get_time(data, "found_at", true, &found_ms,
	        &has_found, why, whysize) != 0 ||
	    kinds_get_text(data, "responsible_unit", true, NAME_MAX_BYTES,
	        &unit, why, whysize) != 0 ||
	    kinds_get_text(data, "responsible_person", true, PERSON_MAX,
	        &person, why, whysize) != 0 ||
	    kinds_get_text(data, "measures", true, LONG_TEXT_MAX, &measures,
	        why, whysize) != 0 ||
	    records_hazard_get_time(data, "deadline", false, &deadline_ms,
	        &has_deadline, why, whysize) != 0 ||
	    kinds_get_text(data, "criteria_item", false, NAME_MAX_BYTES, &item,
	        why, whysize) != 0 ||
	    kinds_get_text(data, "risk_point", false, CODE_MAX, &risk_point,
	        why, whysize) != 0)
		return -1;
	if (ctx->max_future_ms >= 0 &&
	    found_ms > ctx->now_ms + ctx->max_future_ms) {
		snprintf(why, whysize,
		    "data: field 'found_at' lies in the future (check the "
		    "sender's clock)");
		return -1;
	}
	if (!has_deadline && strcmp(level, "major") == 0) {
		snprintf(why, whysize,
		    "data: field 'deadline' is required for a major hazard "
		    "(its rectification plan sets it)");
		return -1;
	}
	if (has_deadline && deadline_ms <= found_ms) {
		snprintf(why, whysize,
		    "data: field 'deadline' must come after 'found_at'");
		return -1;
	}
	if ((f = records_hazard_form_new(why, whysize)) == NULL)
		return -1;
	snprintf(f->id, sizeof(f->id), "%s", id);
	records_hazard_form_str(f, id);
	records_hazard_form_str(f, uscc);
	records_hazard_form_str(f, level);
	records_hazard_form_str(f, found_by);
	records_hazard_form_str(f, desc);
	records_hazard_form_time(f, found_ms);
	records_hazard_form_str(f, unit);
	records_hazard_form_str(f, person);
	records_hazard_form_str(f, measures);
	if (has_deadline)
		records_hazard_form_time(f, deadline_ms);
	else
		records_hazard_form_add(f, NULL);
	records_hazard_form_str(f, item);
	records_hazard_form_str(f, risk_point);
	return records_hazard_form_done(f, parsed, why, whysize);
}

/* $1..$12 the form, $13 source, $14 event id, $15 the event's time.  The
 * insert and its transition in one statement; no row when the id exists. */
static const char hazard_report_sql[] =
    "WITH h AS (INSERT INTO hazards (hazard_id, uscc, level, found_by, "
    "description, found_at, responsible_unit, responsible_person, measures, "
    "deadline, deadline_given, criteria_item, risk_point, status, "
    "reported_at, reported_source, reported_event_id, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
    "COALESCE($10::timestamptz, $6::timestamptz + (SELECT value FROM "
    "record_rules WHERE name = 'hazard.general.deadline')), "
    "$10::timestamptz IS NOT NULL, $11, $12, 'rectifying', $15, $13, $14, "
    "$13, $14) ON CONFLICT (hazard_id) DO NOTHING "
    "RETURNING hazard_id, reported_at) "
    "INSERT INTO hazard_transitions (hazard_id, kind, from_status, "
    "to_status, at, source, event_id) "
    "SELECT hazard_id, 'hazard.reported', NULL, 'rectifying', reported_at, "
    "$13, $14 FROM h RETURNING hazard_id";

static const char hazard_reported_by_sql[] =
    "SELECT reported_source, reported_event_id, status FROM hazards "
    "WHERE hazard_id = $1";

static int
hazard_reported_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct records_hazard_form *f = ev->parsed;
	char at[TIMEUTIL_RFC3339_SIZE];
	const char *extra[3] = {source, ev->id, at};
	const char *key[1];
	PGresult *res;
	int n;

	if (ev->duplicate || f == NULL)
		return 0;
	records_hazard_event_time(ev, at);
	if (records_hazard_form_exec(
	        st, hazard_report_sql, f, extra, 3, &res, err) != 0)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	if (n == 1)
		return 0;
	key[0] = f->id;
	if (store_exec(st, hazard_reported_by_sql, 1, key, &res, err) != 0)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return kinds_refuse(err, STATE_EXISTS,
		    "hazard %.40s was reported at the same moment by another "
		    "writer",
		    f->id);
	}
	kinds_refuse(err, STATE_EXISTS,
	    "hazard %.40s was already reported (event %.40s of %.30s, now %s)",
	    f->id, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0),
	    PQgetvalue(res, 0, 2));
	PQclear(res);
	return -1;
}

/* --- hazard.rectified, hazard.verified ----------------------------------- */

/* The hazard's row locked, with whether the source may touch it. */
static const char hazard_lock_sql[] =
    "SELECT h.status, h.uscc, e.district, e.sector, " SCOPE_SQL
    ", " TIME_TEXT("h.rectified_at") ", " TIME_TEXT(
        "h.closed_at") " "
                       "FROM hazards h JOIN enterprises e ON e.uscc = h.uscc "
                       "LEFT JOIN sources s ON s.name = $2 "
                       "WHERE h.hazard_id = $1 FOR UPDATE OF h";

enum {
	HZ_STATUS,
	HZ_USCC,
	HZ_DISTRICT,
	HZ_SECTOR,
	HZ_SCOPE,
	HZ_RECTIFIED,
	HZ_CLOSED
};

/*
 * Lock hazard id for source: 0 with the row in *res (the caller's), or -1
 * with the reason (never reported, out of scope) or the store's error.
 */
static int
hazard_lock(struct store *st, const char *source, const char *id,
    PGresult **res, struct store_err *err)
{
	const char *p[2] = {id, source};

	if (store_exec(st, hazard_lock_sql, 2, p, res, err) != 0)
		return -1;
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		return kinds_refuse(
		    err, STATE_WRONG, "hazard %.40s was never reported", id);
	}
	if (strcmp(PQgetvalue(*res, 0, HZ_SCOPE), "t") != 0) {
		kinds_refuse(err, STATE_SCOPE,
		    "hazard %.40s is of enterprise %s (%s / %s), outside the "
		    "scope of source %.30s",
		    id, PQgetvalue(*res, 0, HZ_USCC),
		    PQgetvalue(*res, 0, HZ_DISTRICT),
		    PQgetvalue(*res, 0, HZ_SECTOR), source);
		PQclear(*res);
		return -1;
	}
	return 0;
}

static const char *const hazard_rectified_fields[] = {
    "hazard_id", "note", "evidence", NULL};
static const char *const hazard_rectified_required[] = {
    "hazard_id", "note", NULL};

static int
hazard_rectified_validate(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	const char *id, *note;
	struct json_out evidence;
	struct records_hazard_form *f;
	bool has_evidence;
	int rc = -1;

	*parsed = NULL;
	if (kinds_generic_validate(ctx, data, "hazard.rectified",
	        hazard_rectified_required, why, whysize) != 0 ||
	    kinds_only_fields(data, "hazard.rectified", hazard_rectified_fields,
	        why, whysize) != 0 ||
	    records_hazard_get_id(data, "hazard_id", &id, why, whysize) != 0 ||
	    kinds_get_text(data, "note", true, NOTE_MAX, &note, why, whysize) !=
	        0)
		return -1;
	json_out_init(&evidence);
	if (get_evidence(data, &evidence, &has_evidence, why, whysize) != 0 ||
	    (f = records_hazard_form_new(why, whysize)) == NULL)
		goto out;
	snprintf(f->id, sizeof(f->id), "%s", id);
	records_hazard_form_str(f, id);
	records_hazard_form_str(f, note);
	records_hazard_form_str(
	    f, has_evidence ? json_out_data(&evidence) : NULL);
	if (json_out_failed(&evidence))
		f->failed = true;
	rc = records_hazard_form_done(f, parsed, why, whysize);
out:
	json_out_free(&evidence);
	return rc;
}

/* $1 id, $2 note, $3 evidence (JSON array or NULL), $4 source, $5 event,
 * $6 the event's time. */
static const char hazard_rectify_sql[] =
    "WITH u AS (UPDATE hazards SET status = 'rectified', rectified_at = $6, "
    "source = $4, event_id = $5, received_at = now() "
    "WHERE hazard_id = $1 RETURNING hazard_id) "
    "INSERT INTO hazard_transitions (hazard_id, kind, from_status, "
    "to_status, at, source, event_id, note, evidence) "
    "SELECT hazard_id, 'hazard.rectified', 'rectifying', 'rectified', $6, "
    "$4, $5, $2, CASE WHEN $3::jsonb IS NULL THEN NULL ELSE ARRAY(SELECT "
    "jsonb_array_elements_text($3::jsonb)) END FROM u RETURNING hazard_id";

static int
hazard_rectified_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct records_hazard_form *f = ev->parsed;
	char at[TIMEUTIL_RFC3339_SIZE];
	const char *extra[3] = {source, ev->id, at};
	const char *status;
	PGresult *res;

	if (ev->duplicate || f == NULL)
		return 0;
	if (hazard_lock(st, source, f->id, &res, err) != 0)
		return -1;
	status = PQgetvalue(res, 0, HZ_STATUS);
	if (strcmp(status, "rectified") == 0) {
		kinds_refuse(err, STATE_WRONG,
		    "hazard %.40s is already rectified (at %s), awaiting "
		    "verification",
		    f->id, PQgetvalue(res, 0, HZ_RECTIFIED));
		PQclear(res);
		return -1;
	}
	if (strcmp(status, "closed") == 0) {
		kinds_refuse(err, STATE_WRONG,
		    "hazard %.40s was closed at %s: it takes no more "
		    "rectification",
		    f->id, PQgetvalue(res, 0, HZ_CLOSED));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	records_hazard_event_time(ev, at);
	if (records_hazard_form_exec(
	        st, hazard_rectify_sql, f, extra, 3, &res, err) != 0)
		return -1;
	return records_hazard_one_row(res, "hazard.rectified", err);
}

static const char *const hazard_verified_fields[] = {
    "hazard_id", "accepted", "verifier", "note", NULL};
static const char *const hazard_verified_required[] = {
    "hazard_id", "accepted", "verifier", NULL};

static int
hazard_verified_validate(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	const char *id, *verifier, *note;
	struct json_err jerr;
	struct records_hazard_form *f;
	bool accepted = false;

	*parsed = NULL;
	if (kinds_generic_validate(ctx, data, "hazard.verified",
	        hazard_verified_required, why, whysize) != 0 ||
	    kinds_only_fields(data, "hazard.verified", hazard_verified_fields,
	        why, whysize) != 0 ||
	    records_hazard_get_id(data, "hazard_id", &id, why, whysize) != 0)
		return -1;
	if (json_get_bool(data, "accepted", &accepted, true, &jerr) < 0)
		return kinds_why_json(&jerr, why, whysize);
	if (kinds_get_text(data, "verifier", true, PERSON_MAX, &verifier, why,
	        whysize) != 0 ||
	    kinds_get_text(
	        data, "note", false, NOTE_MAX, &note, why, whysize) != 0)
		return -1;
	if ((f = records_hazard_form_new(why, whysize)) == NULL)
		return -1;
	snprintf(f->id, sizeof(f->id), "%s", id);
	f->accepted = accepted;
	records_hazard_form_str(f, id);
	records_hazard_form_str(f, verifier);
	records_hazard_form_str(f, note);
	return records_hazard_form_done(f, parsed, why, whysize);
}

/* $1 id, $2 verifier, $3 note, $4 source, $5 event, $6 the event's time. */
static const char hazard_close_sql[] =
    "WITH u AS (UPDATE hazards SET status = 'closed', closed_at = $6, "
    "source = $4, event_id = $5, received_at = now() "
    "WHERE hazard_id = $1 RETURNING hazard_id) "
    "INSERT INTO hazard_transitions (hazard_id, kind, from_status, "
    "to_status, at, source, event_id, note, verifier, accepted) "
    "SELECT hazard_id, 'hazard.verified', 'rectified', 'closed', $6, $4, "
    "$5, $3, $2, true FROM u RETURNING hazard_id";

/* A failed verification: back under rectification, and counted. */
static const char hazard_reopen_sql[] =
    "WITH u AS (UPDATE hazards SET status = 'rectifying', "
    "failed_verifications = failed_verifications + 1, source = $4, "
    "event_id = $5, received_at = now() "
    "WHERE hazard_id = $1 RETURNING hazard_id) "
    "INSERT INTO hazard_transitions (hazard_id, kind, from_status, "
    "to_status, at, source, event_id, note, verifier, accepted) "
    "SELECT hazard_id, 'hazard.verified', 'rectified', 'rectifying', $6, "
    "$4, $5, $3, $2, false FROM u RETURNING hazard_id";

static int
hazard_verified_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct records_hazard_form *f = ev->parsed;
	char at[TIMEUTIL_RFC3339_SIZE];
	const char *extra[3] = {source, ev->id, at};
	const char *status;
	PGresult *res;

	if (ev->duplicate || f == NULL)
		return 0;
	if (hazard_lock(st, source, f->id, &res, err) != 0)
		return -1;
	status = PQgetvalue(res, 0, HZ_STATUS);
	if (strcmp(status, "rectifying") == 0) {
		kinds_refuse(err, STATE_WRONG,
		    "hazard %.40s is not rectified yet: verification follows "
		    "hazard.rectified",
		    f->id);
		PQclear(res);
		return -1;
	}
	if (strcmp(status, "closed") == 0) {
		kinds_refuse(err, STATE_WRONG,
		    "hazard %.40s was already closed at %s", f->id,
		    PQgetvalue(res, 0, HZ_CLOSED));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	records_hazard_event_time(ev, at);
	if (records_hazard_form_exec(st,
	        f->accepted ? hazard_close_sql : hazard_reopen_sql, f, extra, 3,
	        &res, err) != 0)
		return -1;
	return records_hazard_one_row(res, "hazard.verified", err);
}

const struct ingest_kind records_hazard_kinds[] = {
    {"hazard.reported", hazard_reported_validate, hazard_reported_apply, NULL,
        records_hazard_form_free},
    {"hazard.rectified", hazard_rectified_validate, hazard_rectified_apply,
        NULL, records_hazard_form_free},
    {"hazard.verified", hazard_verified_validate, hazard_verified_apply, NULL,
        records_hazard_form_free},
    {"operation.filed", records_operation_filed_validate,
        records_operation_filed_apply, NULL, records_hazard_form_free},
    {"operation.started", records_operation_started_validate,
        records_operation_started_apply, NULL, records_hazard_form_free},
    {"operation.finished", records_operation_finished_validate,
        records_operation_finished_apply, NULL, records_hazard_form_free},
    {"maintenance.window", records_operation_maintenance_validate,
        records_operation_maintenance_apply, NULL, records_hazard_form_free},
};

const size_t records_hazard_nkinds =
    sizeof(records_hazard_kinds) / sizeof(records_hazard_kinds[0]);

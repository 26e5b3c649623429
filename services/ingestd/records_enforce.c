/*
 * records_enforce - accidents (reported, updated), inspections and
 * enforcement cases.
 *
 * One group of the event kinds of DOMAIN.md §2 (kinds_internal.h says how
 * the groups fit); the tables are deploy/sql/0007_records_enforce.sql.
 * events.c runs each validator on the loop thread: it checks types, codes
 * (districts, sectors and enterprises against the in-memory registry),
 * times and USCCs without touching the store, computes what can be
 * computed there (an accident's grade and deadlines) and leaves a parsed
 * form of short text parameters.  writer_group.c runs apply inside the
 * group's transaction, under a savepoint: it locks the record's row, checks
 * the transition against the stored state (an accident updated before it
 * was reported, a case closed twice) and refuses it with a reason, or
 * writes it.  Long free texts (summaries, findings, violations) and the id
 * lists are read by the SQL from the event's data as validated, so the
 * form stays small.  The job owns the forms (kinds_form_free).
 *
 * The accident grading of 国务院令第493号 is a pure function over one
 * const table of thresholds, exported for the unit tests and for any
 * daemon that must grade the same way.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kinds_internal.h"
#include "log.h"
#include "timeutil.h"

#define ID_MAX_BYTES 128       /* accident, inspection, case ids */
#define PERSON_ID_MAX_BYTES 64 /* an inspector's id */
#define SUMMARY_MAX_BYTES 8000 /* summaries, findings, violations */
#define PLAN_ITEM_MAX_BYTES 200
#define INSPECTORS_MAX 50
#define HAZARDS_MAX 200
#define PEOPLE_MAX 1000000 /* casualties of one accident */
#define CNY_MAX 1e13       /* numeric(16, 2) holds below 1e14 */
#define MS_PER_HOUR (INT64_C(3600) * 1000)
#define MS_PER_DAY (24 * MS_PER_HOUR)

/* --- accident grading (DOMAIN.md 3.6) ------------------------------------ */

/*
 * The grades, most severe first: an accident takes the first row any of
 * whose criteria it meets ("以上" includes the bound).  These are the
 * defaults of 国务院令第493号; DOMAIN.md makes them configuration
 * defaults, so this one table is the only place that holds them.
 */
static const struct accident_grade_row {
	int grade; /* 0 general .. 3 especially major */
	const char *code;
	const char *name;
	int64_t min_deaths;
	int64_t min_serious;
	double min_loss_cny;
} accident_grades[] = {
    {3, "especially_major", "特别重大", 30, 100, 100000000.0},
    {2, "major", "重大", 10, 50, 50000000.0},
    {1, "larger", "较大", 3, 10, 10000000.0},
    {0, "general", "一般", 0, 0, 0.0},
};

#define NGRADES (sizeof(accident_grades) / sizeof(accident_grades[0]))

/* The grade (0 general .. 3 especially major) from the worst criterion. */
int
records_enforce_accident_grade(
    int64_t deaths, int64_t serious_injuries, double direct_loss_cny)
{
	for (size_t i = 0; i + 1 < NGRADES; i++) {
		const struct accident_grade_row *g = &accident_grades[i];

		if (deaths >= g->min_deaths ||
		    serious_injuries >= g->min_serious ||
		    direct_loss_cny >= g->min_loss_cny)
			return g->grade;
	}
	return accident_grades[NGRADES - 1].grade;
}

static const struct accident_grade_row *
grade_row(int grade)
{
	for (size_t i = 0; i < NGRADES; i++)
		if (accident_grades[i].grade == grade)
			return &accident_grades[i];
	return NULL;
}

const char *
records_enforce_grade_code(int grade)
{
	const struct accident_grade_row *g = grade_row(grade);

	return g != NULL ? g->code : NULL;
}

const char *
records_enforce_grade_name(int grade)
{
	const struct accident_grade_row *g = grade_row(grade);

	return g != NULL ? g->name : NULL;
}

/*
 * Days after the accident within which casualties may be re-reported:
 * 30, but 7 for road traffic and fire (DOMAIN.md 3.6; sector codes of
 * data/sectors.csv).  Configuration defaults, kept in this one table.
 */
static const struct {
	const char *sector;
	int days;
} rereport_windows[] = {
    {"road_traffic", 7},
    {"fire", 7},
};
#define REREPORT_DAYS_DEFAULT 30
/* The report to the county is due 1 h after the accident, and each level
 * up 2 h after that (the city is the next level). */
#define REPORT_COUNTY_MS (1 * MS_PER_HOUR)
#define REPORT_CITY_MS (3 * MS_PER_HOUR)

int
records_enforce_rereport_days(const char *sector)
{
	for (size_t i = 0;
	     i < sizeof(rereport_windows) / sizeof(rereport_windows[0]); i++)
		if (strcmp(sector, rereport_windows[i].sector) == 0)
			return rereport_windows[i].days;
	return REREPORT_DAYS_DEFAULT;
}

/* --- field helpers ---------------------------------------------------------
 */

/* A text of 1..max bytes without control characters (ids, codes). */
static int
get_id(const cJSON *data, const char *key, bool required, size_t max,
    const char **out, char *why, size_t whysize)
{
	if (kinds_get_text(data, key, required, max, out, why, whysize) != 0)
		return -1;
	for (const char *p = *out; p != NULL && *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(why, whysize,
			    "data: field '%s' must not contain control "
			    "characters",
			    key);
			return -1;
		}
	}
	return 0;
}

/* A required time: RFC 3339 with offset, or integer epoch milliseconds. */
static int
get_time(
    const cJSON *data, const char *key, int64_t *ms, char *why, size_t whysize)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(data, key);
	const char *perr = NULL;
	double v;

	if (it == NULL || cJSON_IsNull(it)) {
		snprintf(why, whysize, "data: field '%s' is required", key);
		return -1;
	}
	if (cJSON_IsString(it)) {
		if (timeutil_parse_rfc3339_n(it->valuestring,
		        strlen(it->valuestring), ms, &perr) == 0)
			return 0;
		snprintf(why, whysize,
		    "data: field '%s' is not an RFC 3339 time: %s", key,
		    perr != NULL ? perr : "malformed");
		return -1;
	}
	if (cJSON_IsNumber(it)) {
		v = it->valuedouble;
		if (v == floor(v) && fabs(v) <= (double)JSON_INT_EXACT_MAX) {
			*ms = (int64_t)v;
			return 0;
		}
	}
	snprintf(why, whysize,
	    "data: field '%s' must be an RFC 3339 string with offset or "
	    "integer epoch milliseconds, got %s",
	    key, cJSON_IsNumber(it) ? "a fraction" : json_type_name(it));
	return -1;
}

/* An array of distinct ids; required ones must not be empty. */
static int
get_id_list(const cJSON *data, const char *key, bool required, int max_items,
    size_t item_max, const cJSON **out, char *why, size_t whysize)
{
	struct json_err jerr;
	const cJSON *a, *b;
	int r, n;

	r = json_get_arr(data, key, out, required, &jerr);
	if (r < 0)
		return kinds_why_json(&jerr, why, whysize);
	if (r == 0) {
		*out = NULL;
		return 0;
	}
	n = cJSON_GetArraySize(*out);
	if ((required && n == 0) || n > max_items) {
		snprintf(why, whysize,
		    "data: field '%s' must list %d to %d ids", key,
		    required ? 1 : 0, max_items);
		return -1;
	}
	for (a = (*out)->child; a != NULL; a = a->next) {
		size_t len;

		if (!cJSON_IsString(a)) {
			snprintf(why, whysize,
			    "data: field '%s' must hold strings, got %s", key,
			    json_type_name(a));
			return -1;
		}
		len = strlen(a->valuestring);
		if (len == 0 || len > item_max) {
			snprintf(why, whysize,
			    "data: each id of '%s' must be 1 to %zu bytes long",
			    key, item_max);
			return -1;
		}
		for (const char *p = a->valuestring; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				snprintf(why, whysize,
				    "data: the ids of '%s' must not contain "
				    "control characters",
				    key);
				return -1;
			}
		}
		for (b = (*out)->child; b != a; b = b->next) {
			if (strcmp(a->valuestring, b->valuestring) == 0) {
				snprintf(why, whysize,
				    "data: field '%s' lists '%.64s' twice", key,
				    a->valuestring);
				return -1;
			}
		}
	}
	return 0;
}

/* data.uscc: valid, registered and in the source's scope. */
static int
get_enterprise(const struct ingest_ctx *ctx, const cJSON *data,
    const char **uscc, char *why, size_t whysize)
{
	const struct reg_enterprise *e;
	char what[64];

	if (kinds_get_uscc(data, uscc, why, whysize) != 0)
		return -1;
	e = registry_enterprise(ctx->reg, *uscc);
	if (e == NULL) {
		snprintf(why, whysize,
		    "enterprise %s is not registered: send its "
		    "enterprise.upsert first",
		    *uscc);
		return -1;
	}
	snprintf(what, sizeof(what), "enterprise %s", *uscc);
	return kinds_scope_check(
	    ctx, what, e->district, e->sector, why, whysize);
}

/* A department code as in data/departments.csv (known: checked in apply). */
static int
get_dept(const cJSON *data, const char **dept, char *why, size_t whysize)
{
	const char *p;

	if (kinds_get_text(data, "dept", true, 16, dept, why, whysize) != 0)
		return -1;
	for (p = *dept; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') ||
		        (p != *dept && *p >= '0' && *p <= '9')))
			break;
	if (*p != '\0' || strlen(*dept) < 2) {
		snprintf(why, whysize,
		    "data: field 'dept' '%.20s' is not a department code "
		    "(capital letters and digits, as in data/departments.csv)",
		    *dept);
		return -1;
	}
	return 0;
}

/* An amount of yuan, 0 to CNY_MAX, optional. */
static int
get_cny(const cJSON *data, const char *key, double *v, bool *given, char *why,
    size_t whysize)
{
	return kinds_get_num(data, key, 0, CNY_MAX, v, given, why, whysize);
}

static void *
finish(const struct upsert_form *f, char *why, size_t whysize)
{
	void *parsed;

	if (f->len >= sizeof(f->text)) {
		snprintf(
		    why, whysize, "data: the fields are too long together");
		return NULL;
	}
	parsed = kinds_form_finish(f);
	if (parsed == NULL)
		snprintf(why, whysize, "out of memory");
	return parsed;
}

/* --- apply helpers (writer thread) ------------------------------------------
 */

/* Parameter i of the form (NULL: SQL NULL). */
static const char *
fv(const struct upsert_form *f, int i)
{
	return f->off[i] < 0 ? NULL : f->text + f->off[i];
}

/* Is the department known?  0 yes, -1 refused or failed. */
static int
dept_known(struct store *st, const char *dept, struct store_err *err)
{
	PGresult *res;
	int n;

	if (store_exec(st, "SELECT 1 FROM departments WHERE code = $1", 1,
	        (const char *[]){dept}, &res, err) < 0)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	if (n == 0)
		return kinds_refuse(err, "55000",
		    "department %s is not a department of the city (see "
		    "data/departments.csv)",
		    dept);
	return 0;
}

/* --- accident.reported, accident.updated ------------------------------------
 */

static const char *const accident_fields[] = {"accident_id", "uscc", "district",
    "sector", "occurred_at", "deaths", "serious_injuries", "minor_injuries",
    "direct_loss_cny", "summary", NULL};

/* The form's parameters, in this order. */
enum {
	A_ID,
	A_USCC,
	A_DISTRICT,
	A_SECTOR,
	A_OCCURRED,
	A_DEATHS,
	A_SERIOUS,
	A_MINOR,
	A_LOSS,
	A_GRADE,
	A_GRADE_NAME,
	A_COUNTY_DUE,
	A_CITY_DUE,
	A_REREPORT_DUE,
	A_NPARAMS
};

static void
form_time(struct upsert_form *f, int64_t ms)
{
	char buf[TIMEUTIL_RFC3339_SIZE];

	timeutil_format_rfc3339(ms, buf, sizeof(buf));
	kinds_form_str(f, buf);
}

static int
accident_validate(const char *kind, const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize)
{
	const char *id, *uscc = NULL, *district, *sector, *summary;
	int64_t occurred, deaths, serious, minor;
	bool has_minor, has_loss, given;
	double loss;
	struct upsert_form f;
	int d, s, grade;
	char what[96];
	const cJSON *u;

	*parsed = NULL;
	if (kinds_only_fields(data, kind, accident_fields, why, whysize) != 0 ||
	    get_id(data, "accident_id", true, ID_MAX_BYTES, &id, why,
	        whysize) != 0)
		return -1;
	u = cJSON_GetObjectItemCaseSensitive(data, "uscc");
	if (u != NULL && !cJSON_IsNull(u) &&
	    kinds_get_uscc(data, &uscc, why, whysize) != 0)
		return -1;
	if (kinds_get_text(
	        data, "district", true, 16, &district, why, whysize) != 0 ||
	    kinds_get_text(data, "sector", true, 32, &sector, why, whysize) !=
	        0)
		return -1;
	d = registry_district(ctx->reg, district);
	if (d < 0) {
		snprintf(why, whysize,
		    "data: field 'district' '%.20s' is not a district code of "
		    "the city",
		    district);
		return -1;
	}
	s = registry_sector(ctx->reg, sector);
	if (s < 0) {
		snprintf(why, whysize,
		    "data: field 'sector' '%.40s' is not a sector code of the "
		    "city",
		    sector);
		return -1;
	}
	snprintf(what, sizeof(what), "accident %.60s", id);
	if (kinds_scope_check(ctx, what, d, s, why, whysize) != 0)
		return -1;
	if (get_time(data, "occurred_at", &occurred, why, whysize) != 0)
		return -1;
	if (ctx->max_future_ms >= 0 &&
	    occurred > ctx->now_ms + ctx->max_future_ms) {
		snprintf(why, whysize,
		    "data: field 'occurred_at' is in the future (check the "
		    "sender's clock)");
		return -1;
	}
	if (occurred < 0) {
		snprintf(why, whysize,
		    "data: field 'occurred_at' is before 1970: not an accident "
		    "this platform records");
		return -1;
	}
	if (kinds_get_int(data, "deaths", true, 0, PEOPLE_MAX, &deaths, &given,
	        why, whysize) != 0 ||
	    kinds_get_int(data, "serious_injuries", true, 0, PEOPLE_MAX,
	        &serious, &given, why, whysize) != 0 ||
	    kinds_get_int(data, "minor_injuries", false, 0, PEOPLE_MAX, &minor,
	        &has_minor, why, whysize) != 0 ||
	    get_cny(data, "direct_loss_cny", &loss, &has_loss, why, whysize) !=
	        0 ||
	    kinds_get_text(data, "summary", true, SUMMARY_MAX_BYTES, &summary,
	        why, whysize) != 0)
		return -1;

	grade = records_enforce_accident_grade(
	    deaths, serious, has_loss ? loss : 0.0);
	memset(&f, 0, offsetof(struct upsert_form, text));
	kinds_form_str(&f, id);
	kinds_form_str(&f, uscc);
	kinds_form_str(&f, district);
	kinds_form_str(&f, sector);
	form_time(&f, occurred);
	kinds_form_param(&f, "%lld", (long long)deaths);
	kinds_form_param(&f, "%lld", (long long)serious);
	has_minor ? kinds_form_param(&f, "%lld", (long long)minor)
	          : kinds_form_param(&f, NULL);
	has_loss ? kinds_form_param(&f, "%.2f", loss)
	         : kinds_form_param(&f, NULL);
	kinds_form_str(&f, records_enforce_grade_code(grade));
	kinds_form_str(&f, records_enforce_grade_name(grade));
	form_time(&f, occurred + REPORT_COUNTY_MS);
	form_time(&f, occurred + REPORT_CITY_MS);
	form_time(
	    &f, occurred + records_enforce_rereport_days(sector) * MS_PER_DAY);
	*parsed = finish(&f, why, whysize);
	return *parsed != NULL ? 0 : -1;
}

static int
v_accident_reported(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	return accident_validate(
	    "accident.reported", ctx, data, parsed, why, whysize);
}

static int
v_accident_updated(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	return accident_validate(
	    "accident.updated", ctx, data, parsed, why, whysize);
}

/* The form's parameters, then data, at, source and event id. */
static void
accident_params(const struct upsert_form *f, const char *source,
    const struct ingest_event *ev, const char *at, const char **p)
{
	for (int i = 0; i < A_NPARAMS; i++)
		p[i] = fv(f, i);
	p[A_NPARAMS] = ev->data_json;
	p[A_NPARAMS + 1] = at;
	p[A_NPARAMS + 2] = source;
	p[A_NPARAMS + 3] = ev->id;
}

static const char accident_lock_sql[] =
    "SELECT source, event_id FROM accidents WHERE accident_id = $1 "
    "FOR UPDATE";

static const char accident_insert_sql[] =
    "INSERT INTO accidents (accident_id, uscc, district, sector, "
    "occurred_at, deaths, serious_injuries, minor_injuries, "
    "direct_loss_cny, grade, grade_name, report_county_due_at, "
    "report_city_due_at, rereport_due_at, summary, reported_at, "
    "reported_late, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
    "$15::jsonb ->> 'summary', $16, $16::timestamptz > $12::timestamptz, "
    "$17, $18)";

static int
accident_reported_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct upsert_form *f = ev->parsed;
	const char *p[A_NPARAMS + 4];
	char at[TIMEUTIL_RFC3339_SIZE];
	PGresult *res;
	int rc = 0;

	if (ev->duplicate || f == NULL)
		return 0;
	if (store_exec(st, accident_lock_sql, 1, (const char *[]){fv(f, A_ID)},
	        &res, err) < 0)
		return -1;
	if (PQntuples(res) > 0)
		rc = kinds_refuse(err, "55000",
		    "accident %s was already reported (event %s of source "
		    "%s): send accident.updated to change it",
		    fv(f, A_ID), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0));
	PQclear(res);
	if (rc < 0)
		return -1;
	timeutil_format_rfc3339(ev->at_ms, at, sizeof(at));
	accident_params(f, source, ev, at, p);
	return store_exec(st, accident_insert_sql, A_NPARAMS + 4, p, NULL, err);
}

/* The latest version shows; the trigger keeps it as the next version. */
static const char accident_update_sql[] =
    "UPDATE accidents SET uscc = $2, district = $3, sector = $4, "
    "occurred_at = $5, deaths = $6, serious_injuries = $7, "
    "minor_injuries = $8, direct_loss_cny = $9, grade = $10, "
    "grade_name = $11, report_county_due_at = $12, "
    "report_city_due_at = $13, rereport_due_at = $14, "
    "summary = $15::jsonb ->> 'summary', updated_at = $16, "
    "reported_late = reported_at > $12::timestamptz, "
    "late = $16::timestamptz > $14::timestamptz, updates = updates + 1, "
    "received_at = now(), source = $17, event_id = $18 "
    "WHERE accident_id = $1 RETURNING late, grade";

static int
accident_updated_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct upsert_form *f = ev->parsed;
	const char *p[A_NPARAMS + 4];
	char at[TIMEUTIL_RFC3339_SIZE];
	PGresult *res;
	int n;

	if (ev->duplicate || f == NULL)
		return 0;
	if (store_exec(st, accident_lock_sql, 1, (const char *[]){fv(f, A_ID)},
	        &res, err) < 0)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	if (n == 0)
		return kinds_refuse(err, "55000",
		    "accident %s was never reported: send accident.reported "
		    "first",
		    fv(f, A_ID));
	timeutil_format_rfc3339(ev->at_ms, at, sizeof(at));
	accident_params(f, source, ev, at, p);
	if (store_exec(st, accident_update_sql, A_NPARAMS + 4, p, &res, err) <
	    0)
		return -1;
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		char q[256];

		log_info("records.accident_update_late",
		    "accident=%s grade=%s event=%s",
		    log_quote(q, sizeof(q), fv(f, A_ID)), PQgetvalue(res, 0, 1),
		    ev->id);
	}
	PQclear(res);
	return 0;
}

/* --- inspection.completed
 * ------------------------------------------------------ */

static const char *const inspection_fields[] = {"inspection_id", "uscc", "dept",
    "level", "inspectors", "kind", "plan_item", "findings", "result", "hazards",
    NULL};
static const char *const inspection_levels[] = {"city", "district", NULL};
static const char *const inspection_kinds[] = {
    "plan", "random", "special", "joint", "complaint", NULL};
static const char *const inspection_results[] = {
    "ok", "rectify", "penalty", NULL};

enum { I_ID, I_USCC, I_DEPT, I_LEVEL, I_KIND, I_RESULT, I_NPARAMS };

static int
v_inspection(const struct ingest_ctx *ctx, const cJSON *data, void **parsed,
    char *why, size_t whysize)
{
	const char *id, *uscc, *dept, *level, *kind, *plan_item, *findings;
	const char *result;
	const cJSON *inspectors, *hazards;
	struct upsert_form f;

	*parsed = NULL;
	if (kinds_only_fields(data, "inspection.completed", inspection_fields,
	        why, whysize) != 0 ||
	    get_id(data, "inspection_id", true, ID_MAX_BYTES, &id, why,
	        whysize) != 0 ||
	    get_enterprise(ctx, data, &uscc, why, whysize) != 0 ||
	    get_dept(data, &dept, why, whysize) != 0 ||
	    kinds_get_enum(data, "level", true, inspection_levels, &level, why,
	        whysize) != 0 ||
	    get_id_list(data, "inspectors", true, INSPECTORS_MAX,
	        PERSON_ID_MAX_BYTES, &inspectors, why, whysize) != 0 ||
	    kinds_get_enum(data, "kind", true, inspection_kinds, &kind, why,
	        whysize) != 0 ||
	    kinds_get_text(data, "plan_item", false, PLAN_ITEM_MAX_BYTES,
	        &plan_item, why, whysize) != 0 ||
	    kinds_get_text(data, "findings", true, SUMMARY_MAX_BYTES, &findings,
	        why, whysize) != 0 ||
	    kinds_get_enum(data, "result", true, inspection_results, &result,
	        why, whysize) != 0 ||
	    get_id_list(data, "hazards", false, HAZARDS_MAX, ID_MAX_BYTES,
	        &hazards, why, whysize) != 0)
		return -1;
	memset(&f, 0, offsetof(struct upsert_form, text));
	kinds_form_str(&f, id);
	kinds_form_str(&f, uscc);
	kinds_form_str(&f, dept);
	kinds_form_str(&f, level);
	kinds_form_str(&f, kind);
	kinds_form_str(&f, result);
	*parsed = finish(&f, why, whysize);
	return *parsed != NULL ? 0 : -1;
}

static const char inspection_insert_sql[] =
    "INSERT INTO inspections (inspection_id, uscc, dept, level, kind, "
    "result, plan_item, findings, hazards, completed_at, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb ->> 'plan_item', "
    "$7::jsonb ->> 'findings', ARRAY(SELECT jsonb_array_elements_text("
    "COALESCE($7::jsonb -> 'hazards', '[]'::jsonb))), $8, $9, $10)";

static const char inspectors_insert_sql[] =
    "INSERT INTO inspection_inspectors (inspection_id, inspector) "
    "SELECT $1, jsonb_array_elements_text($2::jsonb -> 'inspectors')";

static int
inspection_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct upsert_form *f = ev->parsed;
	const char *p[I_NPARAMS + 4];
	char at[TIMEUTIL_RFC3339_SIZE];
	PGresult *res;
	int rc = 0;

	if (ev->duplicate || f == NULL)
		return 0;
	if (dept_known(st, fv(f, I_DEPT), err) < 0)
		return -1;
	if (store_exec(st,
	        "SELECT source, event_id FROM inspections "
	        "WHERE inspection_id = $1 FOR UPDATE",
	        1, (const char *[]){fv(f, I_ID)}, &res, err) < 0)
		return -1;
	if (PQntuples(res) > 0)
		rc = kinds_refuse(err, "55000",
		    "inspection %s was already recorded (event %s of source "
		    "%s)",
		    fv(f, I_ID), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0));
	PQclear(res);
	if (rc < 0)
		return -1;
	timeutil_format_rfc3339(ev->at_ms, at, sizeof(at));
	for (int i = 0; i < I_NPARAMS; i++)
		p[i] = fv(f, i);
	p[I_NPARAMS] = ev->data_json;
	p[I_NPARAMS + 1] = at;
	p[I_NPARAMS + 2] = source;
	p[I_NPARAMS + 3] = ev->id;
	if (store_exec(st, inspection_insert_sql, I_NPARAMS + 4, p, NULL, err) <
	    0)
		return -1;
	return store_exec(st, inspectors_insert_sql, 2,
	    (const char *[]){fv(f, I_ID), ev->data_json}, NULL, err);
}

/* --- case.filed, case.closed
 * --------------------------------------------------- */

static const char *const case_fields[] = {"case_id", "uscc", "dept",
    "inspection_id", "violation", "penalty_cny", "publish", NULL};

enum { C_ID, C_USCC, C_DEPT, C_INSPECTION, C_PENALTY, C_PUBLISH, C_NPARAMS };

/*
 * Both kinds carry the same fields; a closing may restate the violation,
 * the penalty decided and publication, which then replace the filed ones.
 */
static int
case_validate(const char *kind, bool filing, const struct ingest_ctx *ctx,
    const cJSON *data, void **parsed, char *why, size_t whysize)
{
	const char *id, *uscc, *dept, *inspection, *violation;
	double penalty;
	bool has_penalty, publish = false;
	struct upsert_form f;
	struct json_err jerr;
	int has_publish;

	*parsed = NULL;
	if (kinds_only_fields(data, kind, case_fields, why, whysize) != 0 ||
	    get_id(data, "case_id", true, ID_MAX_BYTES, &id, why, whysize) !=
	        0 ||
	    get_enterprise(ctx, data, &uscc, why, whysize) != 0 ||
	    get_dept(data, &dept, why, whysize) != 0 ||
	    get_id(data, "inspection_id", false, ID_MAX_BYTES, &inspection, why,
	        whysize) != 0 ||
	    kinds_get_text(data, "violation", filing, SUMMARY_MAX_BYTES,
	        &violation, why, whysize) != 0 ||
	    get_cny(
	        data, "penalty_cny", &penalty, &has_penalty, why, whysize) != 0)
		return -1;
	if (filing && !has_penalty) {
		snprintf(why, whysize,
		    "data: field 'penalty_cny' is required for kind %s (0 when "
		    "there is no fine)",
		    kind);
		return -1;
	}
	has_publish = json_get_bool(data, "publish", &publish, false, &jerr);
	if (has_publish < 0)
		return kinds_why_json(&jerr, why, whysize);
	memset(&f, 0, offsetof(struct upsert_form, text));
	kinds_form_str(&f, id);
	kinds_form_str(&f, uscc);
	kinds_form_str(&f, dept);
	kinds_form_str(&f, inspection);
	has_penalty ? kinds_form_param(&f, "%.2f", penalty)
	            : kinds_form_param(&f, NULL);
	has_publish ? kinds_form_str(&f, publish ? "true" : "false")
	            : kinds_form_param(&f, NULL);
	*parsed = finish(&f, why, whysize);
	return *parsed != NULL ? 0 : -1;
}

static int
v_case_filed(const struct ingest_ctx *ctx, const cJSON *data, void **parsed,
    char *why, size_t whysize)
{
	return case_validate(
	    "case.filed", true, ctx, data, parsed, why, whysize);
}

static int
v_case_closed(const struct ingest_ctx *ctx, const cJSON *data, void **parsed,
    char *why, size_t whysize)
{
	return case_validate(
	    "case.closed", false, ctx, data, parsed, why, whysize);
}

static const char case_lock_sql[] =
    "SELECT status, uscc, dept, inspection_id, source, event_id "
    "FROM cases WHERE case_id = $1 FOR UPDATE";

static const char case_insert_sql[] =
    "INSERT INTO cases (case_id, uscc, dept, inspection_id, penalty_cny, "
    "publish, violation, status, filed_at, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, COALESCE($6::boolean, false), "
    "$7::jsonb ->> 'violation', 'filed', $8, $9, $10)";

static int
case_filed_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct upsert_form *f = ev->parsed;
	const char *p[C_NPARAMS + 4];
	char at[TIMEUTIL_RFC3339_SIZE];
	PGresult *res;
	int rc = 0;

	if (ev->duplicate || f == NULL)
		return 0;
	if (dept_known(st, fv(f, C_DEPT), err) < 0)
		return -1;
	if (store_exec(st, case_lock_sql, 1, (const char *[]){fv(f, C_ID)},
	        &res, err) < 0)
		return -1;
	if (PQntuples(res) > 0)
		rc = kinds_refuse(err, "55000",
		    "case %s was already filed (now %s, event %s of source "
		    "%s)",
		    fv(f, C_ID), PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 5),
		    PQgetvalue(res, 0, 4));
	PQclear(res);
	if (rc < 0)
		return -1;
	if (fv(f, C_INSPECTION) != NULL) {
		if (store_exec(st,
		        "SELECT uscc FROM inspections WHERE inspection_id = $1",
		        1, (const char *[]){fv(f, C_INSPECTION)}, &res,
		        err) < 0)
			return -1;
		if (PQntuples(res) == 0)
			rc = kinds_refuse(err, "55000",
			    "inspection %s is not recorded: send its "
			    "inspection.completed first",
			    fv(f, C_INSPECTION));
		else if (strcmp(PQgetvalue(res, 0, 0), fv(f, C_USCC)) != 0)
			rc = kinds_refuse(err, "55000",
			    "inspection %s was of enterprise %s, not of %s",
			    fv(f, C_INSPECTION), PQgetvalue(res, 0, 0),
			    fv(f, C_USCC));
		PQclear(res);
		if (rc < 0)
			return -1;
	}
	timeutil_format_rfc3339(ev->at_ms, at, sizeof(at));
	for (int i = 0; i < C_NPARAMS; i++)
		p[i] = fv(f, i);
	p[C_NPARAMS] = ev->data_json;
	p[C_NPARAMS + 1] = at;
	p[C_NPARAMS + 2] = source;
	p[C_NPARAMS + 3] = ev->id;
	return store_exec(st, case_insert_sql, C_NPARAMS + 4, p, NULL, err);
}

/* The trigger keeps the filed state in case_versions. */
static const char case_close_sql[] =
    "UPDATE cases SET status = 'closed', closed_at = $2, "
    "penalty_cny = COALESCE($3::numeric, penalty_cny), "
    "publish = COALESCE($4::boolean, publish), "
    "violation = COALESCE($5::jsonb ->> 'violation', violation), "
    "received_at = now(), source = $6, event_id = $7 WHERE case_id = $1";

/* The stored row must be this case's: same enterprise, department and,
 * when the closing names one, inspection. */
static int
case_same(
    const struct upsert_form *f, const PGresult *res, struct store_err *err)
{
	const char *id = fv(f, C_ID);

	if (strcmp(PQgetvalue(res, 0, 1), fv(f, C_USCC)) != 0)
		return kinds_refuse(err, "55000",
		    "case %s is of enterprise %s, not of %s", id,
		    PQgetvalue(res, 0, 1), fv(f, C_USCC));
	if (strcmp(PQgetvalue(res, 0, 2), fv(f, C_DEPT)) != 0)
		return kinds_refuse(err, "55000",
		    "case %s was filed by department %s, not by %s", id,
		    PQgetvalue(res, 0, 2), fv(f, C_DEPT));
	if (fv(f, C_INSPECTION) != NULL &&
	    (PQgetisnull(res, 0, 3) ||
	        strcmp(PQgetvalue(res, 0, 3), fv(f, C_INSPECTION)) != 0))
		return kinds_refuse(err, "55000",
		    "case %s was filed on inspection %s, not %s", id,
		    PQgetisnull(res, 0, 3) ? "(none)" : PQgetvalue(res, 0, 3),
		    fv(f, C_INSPECTION));
	return 0;
}

static int
case_closed_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct upsert_form *f = ev->parsed;
	char at[TIMEUTIL_RFC3339_SIZE];
	PGresult *res;
	int rc;

	if (ev->duplicate || f == NULL)
		return 0;
	if (store_exec(st, case_lock_sql, 1, (const char *[]){fv(f, C_ID)},
	        &res, err) < 0)
		return -1;
	if (PQntuples(res) == 0)
		rc = kinds_refuse(err, "55000",
		    "case %s was never filed: send case.filed first",
		    fv(f, C_ID));
	else if (strcmp(PQgetvalue(res, 0, 0), "closed") == 0)
		rc = kinds_refuse(
		    err, "55000", "case %s is already closed", fv(f, C_ID));
	else
		rc = case_same(f, res, err);
	PQclear(res);
	if (rc < 0)
		return -1;
	timeutil_format_rfc3339(ev->at_ms, at, sizeof(at));
	return store_exec(st, case_close_sql, 7,
	    (const char *[]){fv(f, C_ID), at, fv(f, C_PENALTY),
	        fv(f, C_PUBLISH), ev->data_json, source, ev->id},
	    NULL, err);
}

const struct ingest_kind records_enforce_kinds[] = {
    {"accident.reported", v_accident_reported, accident_reported_apply, NULL,
        kinds_form_free},
    {"accident.updated", v_accident_updated, accident_updated_apply, NULL,
        kinds_form_free},
    {"inspection.completed", v_inspection, inspection_apply, NULL,
        kinds_form_free},
    {"case.filed", v_case_filed, case_filed_apply, NULL, kinds_form_free},
    {"case.closed", v_case_closed, case_closed_apply, NULL, kinds_form_free},
};

const size_t records_enforce_nkinds =
    sizeof(records_enforce_kinds) / sizeof(records_enforce_kinds[0]);

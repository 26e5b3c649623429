/*
 * records_registry - the registry records: major hazard sources, risk
 * points, responsibilities, evaluation agencies and special equipment, and
 * the form, apply and table of the whole registry group.
 *
 * One group of the event kinds of DOMAIN.md §2 (kinds_internal.h says how
 * the groups fit); kinds.c finds them in records_registry_kinds[].  The
 * group spans three files (records_registry_internal.h): the validators of
 * duty rosters and inspectors are in records_people.c, the field checks
 * all validators use in records_fields.c.  Each kind has a validator, run
 * on the loop thread by events.c (and intake.c), that checks everything it
 * can without the store: fields and types, enums, dates and times sane,
 * phones plausible, USCCs valid, districts known in the in-memory
 * registry, the enterprise registered (or upserted earlier in the same
 * request) and within the source's scope.  It leaves a struct
 * records_registry_form: the statement and its parameters as text, plus
 * what apply must still check against the store.
 *
 * rec_apply() runs on the writer thread inside the group's transaction
 * (writer_group.c, under a savepoint per event): it checks what only the
 * store knows (the enterprise row, department codes, that a code is not
 * taken by another enterprise, locking that row FOR UPDATE), then upserts
 * one row of deploy/sql/0005_records_registry.sql.  A refusal returns -1
 * with a reason in err, which rejects the event and keeps nothing of it.
 * The tables keep the old row of every change in their *_versions twins
 * (by trigger), so nothing here deals with history.  None of these kinds
 * feeds the in-memory registry, so there is no committed() step.  The job
 * owns each form and frees it through rec_free().
 */
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "ids.h"
#include "ingestd.h"
#include "json.h"
#include "kinds_internal.h"
#include "records_fields.h"
#include "records_registry_internal.h"
#include "store.h"
#include "timeutil.h"

#define MEASURES_MAX_BYTES 4000
#define KIND_MAX_BYTES 64
#define CHEMICALS_MAX 100
/* People within 500 m: a generous bound on a count. */
#define PEOPLE_MAX 100000000
/* Tonnes of one chemical; no plant holds a billion. */
#define TONNES_MAX 1e9

/* --- the form ---------------------------------------------------------- */

void
records_registry_form_str(struct records_registry_form *f, const char *s)
{
	char *p = NULL;

	assert(f->nparams < REC_PARAMS_MAX);
	if (s != NULL && (p = strdup(s)) == NULL)
		f->oom = true;
	f->param[f->nparams++] = p;
}

static void records_registry_form_fmt(struct records_registry_form *f,
    const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
records_registry_form_fmt(struct records_registry_form *f, const char *fmt, ...)
{
	va_list ap;
	char *p;

	assert(f->nparams < REC_PARAMS_MAX);
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0) {
		p = NULL;
		f->oom = true;
	}
	va_end(ap);
	f->param[f->nparams++] = p;
}

/* Take the JSON text of w as the next parameter; frees w. */
void
records_registry_form_json(struct records_registry_form *f, struct json_out *w)
{
	if (json_out_failed(w)) {
		f->oom = true;
		records_registry_form_str(f, NULL);
	} else {
		records_registry_form_str(f, json_out_data(w));
	}
	json_out_free(w);
}

void
records_registry_form_bool(struct records_registry_form *f, bool given, bool v)
{
	records_registry_form_str(f, !given ? NULL : v ? "true" : "false");
}

static void
records_registry_form_num(struct records_registry_form *f, bool given, double v)
{
	if (given)
		records_registry_form_fmt(f, "%.17g", v);
	else
		records_registry_form_str(f, NULL);
}

static void
records_registry_form_date(struct records_registry_form *f, int64_t days)
{
	char day[TIMEUTIL_DATE_SIZE];

	timeutil_format_date(days, day, sizeof(day));
	records_registry_form_str(f, day);
}

/* A time as RFC 3339 in city time, which PostgreSQL reads exactly. */
void
records_registry_form_time(struct records_registry_form *f, int64_t ms)
{
	char t[TIMEUTIL_RFC3339_SIZE];

	timeutil_format_rfc3339(ms, t, sizeof(t));
	records_registry_form_str(f, t);
}

void
records_registry_form_dept(
    struct records_registry_form *f, const char *field, const char *code)
{
	assert(f->ndepts < REC_DEPTS_MAX);
	snprintf(f->dept[f->ndepts], sizeof(f->dept[0]), "%s", code);
	f->dept_field[f->ndepts++] = field;
}

static void
rec_free(void *parsed)
{
	struct records_registry_form *f = parsed;

	if (f == NULL)
		return;
	for (int i = 0; i < f->nparams; i++)
		free(f->param[i]);
	free(f);
}

/* Hand the form over as *parsed (0), or free its parameters (-1). */
int
records_registry_form_finish(
    struct records_registry_form *f, void **parsed, char *why, size_t whysize)
{
	struct records_registry_form *out;

	if (!f->oom && (out = malloc(sizeof(*out))) != NULL) {
		memcpy(out, f, sizeof(*out));
		*parsed = out;
		return 0;
	}
	for (int i = 0; i < f->nparams; i++)
		free(f->param[i]);
	snprintf(why, whysize, "out of memory");
	return -1;
}

/* --- scope --------------------------------------------------------------- */

/*
 * The enterprise uscc must be registered, or upserted earlier in the same
 * request, and within the source's scope.
 */
static int
rec_enterprise(const struct ingest_ctx *ctx, const char *uscc, const char *what,
    char *why, size_t whysize)
{
	const struct ingest_kind *ek = kinds_find("enterprise.upsert");
	const struct reg_enterprise *e;
	int d = -1, s = -1;

	if (ctx->job != NULL) {
		for (size_t i = ctx->job->nevents; i-- > 0 && d < 0;) {
			const struct ingest_event *ev = &ctx->job->events[i];
			const struct upsert_form *uf = ev->parsed;

			if (ev->kind == ek && uf != NULL &&
			    strcmp(uf->uscc, uscc) == 0) {
				d = uf->district;
				s = uf->sector;
			}
		}
	}
	if (d < 0) {
		e = registry_enterprise(ctx->reg, uscc);
		if (e == NULL) {
			snprintf(why, whysize,
			    "enterprise %s is not registered: send its "
			    "enterprise.upsert first",
			    uscc);
			return -1;
		}
		d = e->district;
		s = e->sector;
	}
	return kinds_scope_check(ctx, what, d, s, why, whysize);
}

/*
 * A record of district d (registry index) needs a source that may write
 * for it; a city-wide record (d < 0: a department's, or of no district of
 * the city) needs a source for all districts.
 */
int
records_registry_district_scope(const struct ingest_ctx *ctx, const char *what,
    int d, char *why, size_t whysize)
{
	const struct reg_source *src = ctx->source;

	if (src == NULL || src->all_districts ||
	    (d >= 0 && d < 64 && (src->district_mask >> d & 1) != 0))
		return 0;
	if (d < 0)
		snprintf(why, whysize,
		    "%s is city-wide: source %s may write for some districts "
		    "only",
		    what, src->name);
	else
		snprintf(why, whysize,
		    "%s belongs to district %s outside the scope of source %s",
		    what, registry_district_code(ctx->reg, d), src->name);
	return -1;
}

/* --- hazard_source.upsert ------------------------------------------------ */

static const char *const hazard_source_fields[] = {"code", "uscc", "name",
    "unit_type", "people_500m", "chemicals", "assessed_on", "responsible",
    NULL};
static const char *const unit_types[] = {"production", "storage", NULL};

static const char hazard_source_sql[] =
    "INSERT INTO hazard_sources (code, uscc, name, unit_type, people_500m, "
    "chemicals, assessed_on, responsible_main, responsible_technical, "
    "responsible_operational, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
    "ON CONFLICT (code) DO UPDATE SET uscc = EXCLUDED.uscc, "
    "name = EXCLUDED.name, unit_type = EXCLUDED.unit_type, "
    "people_500m = EXCLUDED.people_500m, chemicals = EXCLUDED.chemicals, "
    "assessed_on = EXCLUDED.assessed_on, "
    "responsible_main = EXCLUDED.responsible_main, "
    "responsible_technical = EXCLUDED.responsible_technical, "
    "responsible_operational = EXCLUDED.responsible_operational, "
    "source = EXCLUDED.source, event_id = EXCLUDED.event_id, "
    "received_at = now() "
    "WHERE (hazard_sources.name, hazard_sources.unit_type, "
    "hazard_sources.people_500m, hazard_sources.chemicals, "
    "hazard_sources.assessed_on, hazard_sources.responsible_main, "
    "hazard_sources.responsible_technical, "
    "hazard_sources.responsible_operational) IS DISTINCT FROM "
    "(EXCLUDED.name, EXCLUDED.unit_type, EXCLUDED.people_500m, "
    "EXCLUDED.chemicals, EXCLUDED.assessed_on, EXCLUDED.responsible_main, "
    "EXCLUDED.responsible_technical, EXCLUDED.responsible_operational)";

/* One chemical of data.chemicals, written to w. */
static int
hazard_chemical(
    const cJSON *c, int i, struct json_out *w, char *why, size_t whysize)
{
	static const char *const fields[] = {
	    "name", "cas", "q", "Q", "beta", NULL};
	const char *name, *cas;
	double q, cq, beta;
	bool given;
	char at[40];

	snprintf(at, sizeof(at), "data.chemicals[%d]", i);
	if (!cJSON_IsObject(c)) {
		snprintf(why, whysize,
		    "%s must be an object {name, cas?, q, Q, beta}, got %s", at,
		    json_type_name(c));
		return -1;
	}
	if (records_fields_only(c, at, fields, why, whysize) != 0 ||
	    records_fields_text(c, at, "name", true, NAME_MAX_BYTES, &name, why,
	        whysize) != 0 ||
	    records_fields_text(c, at, "cas", false, 16, &cas, why, whysize) !=
	        0)
		return -1;
	if (cas != NULL && !records_fields_cas_ok(cas)) {
		snprintf(why, whysize,
		    "%s: field 'cas' '%.16s' is not a CAS number with a valid "
		    "check digit (like 7782-50-5)",
		    at, cas);
		return -1;
	}
	if (records_fields_num(c, at, "q", true, 0, true, TONNES_MAX, &q,
	        &given, why, whysize) != 0 ||
	    records_fields_num(c, at, "Q", true, 0, true, TONNES_MAX, &cq,
	        &given, why, whysize) != 0 ||
	    records_fields_num(c, at, "beta", true, 0, true, 100, &beta, &given,
	        why, whysize) != 0)
		return -1;
	json_out_obj_open(w);
	json_out_kv_str(w, "name", name);
	if (cas != NULL)
		json_out_kv_str(w, "cas", cas);
	json_out_kv_double(w, "q", q);
	json_out_kv_double(w, "Q", cq);
	json_out_kv_double(w, "beta", beta);
	json_out_obj_close(w);
	return 0;
}

static int
hazard_source_validate(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	static const char *const resp_fields[] = {
	    "main", "technical", "operational", NULL};
	const char *code, *uscc, *name, *unit_type, *main_p, *tech_p, *op_p;
	const cJSON *chems, *resp;
	struct json_out w;
	struct json_err jerr;
	struct records_registry_form f;
	int64_t people, assessed;
	bool given;
	int n, r;

	*parsed = NULL;
	if (kinds_only_fields(data, "hazard_source.upsert",
	        hazard_source_fields, why, whysize) != 0 ||
	    records_fields_code(
	        data, "data", "code", true, &code, why, whysize) != 0 ||
	    kinds_get_uscc(data, &uscc, why, whysize) != 0 ||
	    records_fields_text(data, "data", "name", true, NAME_MAX_BYTES,
	        &name, why, whysize) != 0 ||
	    kinds_get_enum(data, "unit_type", true, unit_types, &unit_type, why,
	        whysize) != 0 ||
	    records_fields_int(data, "data", "people_500m", true, 0, PEOPLE_MAX,
	        &people, &given, why, whysize) != 0 ||
	    records_fields_date(data, "assessed_on",
	        timeutil_days_from_civil(1990, 1, 1),
	        timeutil_city_day(ctx->now_ms), &assessed, why, whysize) != 0)
		return -1;
	r = json_get_obj(data, "responsible", &resp, true, &jerr);
	if (r < 0)
		return records_fields_why_json("data", &jerr, why, whysize);
	if (records_fields_only(
	        resp, "data.responsible", resp_fields, why, whysize) != 0 ||
	    records_fields_text(resp, "data.responsible", "main", true,
	        PERSON_MAX_BYTES, &main_p, why, whysize) != 0 ||
	    records_fields_text(resp, "data.responsible", "technical", true,
	        PERSON_MAX_BYTES, &tech_p, why, whysize) != 0 ||
	    records_fields_text(resp, "data.responsible", "operational", true,
	        PERSON_MAX_BYTES, &op_p, why, whysize) != 0)
		return -1;
	r = json_get_arr(data, "chemicals", &chems, true, &jerr);
	if (r < 0)
		return records_fields_why_json("data", &jerr, why, whysize);
	n = cJSON_GetArraySize(chems);
	if (n < 1 || n > CHEMICALS_MAX) {
		snprintf(why, whysize,
		    "data: field 'chemicals' must list 1 to %d chemicals, got "
		    "%d",
		    CHEMICALS_MAX, n);
		return -1;
	}
	memset(&f, 0, sizeof(f));
	snprintf(f.what, sizeof(f.what), "hazard source %.60s", code);
	if (rec_enterprise(ctx, uscc, f.what, why, whysize) != 0)
		return -1;
	json_out_init(&w);
	json_out_arr_open(&w);
	for (int i = 0; i < n; i++) {
		if (hazard_chemical(cJSON_GetArrayItem(chems, i), i, &w, why,
		        whysize) != 0) {
			json_out_free(&w);
			return -1;
		}
	}
	json_out_arr_close(&w);

	f.sql = hazard_source_sql;
	records_registry_form_str(&f, code);
	records_registry_form_str(&f, uscc);
	records_registry_form_str(&f, name);
	records_registry_form_str(&f, unit_type);
	records_registry_form_fmt(&f, "%lld", (long long)people);
	records_registry_form_json(&f, &w);
	records_registry_form_date(&f, assessed);
	records_registry_form_str(&f, main_p);
	records_registry_form_str(&f, tech_p);
	records_registry_form_str(&f, op_p);
	snprintf(f.owner, sizeof(f.owner), "%s", uscc);
	f.owner_sql = "SELECT uscc FROM hazard_sources WHERE code = $1 "
	              "FOR UPDATE";
	return records_registry_form_finish(&f, parsed, why, whysize);
}

/* --- risk_point.upsert --------------------------------------------------- */

static const char *const risk_point_fields[] = {
    "code", "uscc", "name", "method", "L", "E", "C", "S", "measures", NULL};
static const char *const risk_methods[] = {"LEC", "LS", NULL};

static const char risk_point_sql[] =
    "INSERT INTO risk_points (uscc, code, name, method, l, e, c, s, "
    "measures, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (uscc, code) DO UPDATE SET name = EXCLUDED.name, "
    "method = EXCLUDED.method, l = EXCLUDED.l, e = EXCLUDED.e, "
    "c = EXCLUDED.c, s = EXCLUDED.s, measures = EXCLUDED.measures, "
    "source = EXCLUDED.source, event_id = EXCLUDED.event_id, "
    "received_at = now() "
    "WHERE (risk_points.name, risk_points.method, risk_points.l, "
    "risk_points.e, risk_points.c, risk_points.s, risk_points.measures) "
    "IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.method, EXCLUDED.l, "
    "EXCLUDED.e, EXCLUDED.c, EXCLUDED.s, EXCLUDED.measures)";

/* A factor that the method does not use is refused rather than ignored:
 * the sender meant something by it. */
static int
risk_factor_absent(const cJSON *data, const char *key, const char *method,
    const char *uses, char *why, size_t whysize)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(data, key);

	if (it == NULL || cJSON_IsNull(it))
		return 0;
	snprintf(why, whysize,
	    "data: field '%s' does not belong to method %s (which uses %s)",
	    key, method, uses);
	return -1;
}

/*
 * LEC factors take the values of its tables (L and E up to 10, C up to
 * 100); LS grades L and S 1 to 5 (reference/standards.md §4).
 */
static int
risk_point_validate(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	const char *code, *uscc, *name, *method, *measures;
	double l = 0, e = 0, c = 0;
	int64_t li = 0, si = 0;
	bool has_e = false, has_c = false, given;
	struct records_registry_form f;

	*parsed = NULL;
	if (kinds_only_fields(data, "risk_point.upsert", risk_point_fields, why,
	        whysize) != 0 ||
	    records_fields_code(
	        data, "data", "code", true, &code, why, whysize) != 0 ||
	    kinds_get_uscc(data, &uscc, why, whysize) != 0 ||
	    records_fields_text(data, "data", "name", true, NAME_MAX_BYTES,
	        &name, why, whysize) != 0 ||
	    kinds_get_enum(
	        data, "method", true, risk_methods, &method, why, whysize) != 0)
		return -1;
	if (strcmp(method, "LEC") == 0) {
		if (records_fields_num(data, "data", "L", true, 0, true, 10, &l,
		        &given, why, whysize) != 0 ||
		    records_fields_num(data, "data", "E", true, 0, true, 10, &e,
		        &has_e, why, whysize) != 0 ||
		    records_fields_num(data, "data", "C", true, 0, true, 100,
		        &c, &has_c, why, whysize) != 0 ||
		    risk_factor_absent(
		        data, "S", "LEC", "L, E, C", why, whysize) != 0)
			return -1;
	} else {
		if (records_fields_int(data, "data", "L", true, 1, 5, &li,
		        &given, why, whysize) != 0 ||
		    records_fields_int(data, "data", "S", true, 1, 5, &si,
		        &given, why, whysize) != 0 ||
		    risk_factor_absent(data, "E", "LS", "L, S", why, whysize) !=
		        0 ||
		    risk_factor_absent(data, "C", "LS", "L, S", why, whysize) !=
		        0)
			return -1;
	}
	if (records_fields_text(data, "data", "measures", true,
	        MEASURES_MAX_BYTES, &measures, why, whysize) != 0)
		return -1;
	memset(&f, 0, sizeof(f));
	snprintf(f.what, sizeof(f.what), "risk point %.60s", code);
	if (rec_enterprise(ctx, uscc, f.what, why, whysize) != 0)
		return -1;
	f.sql = risk_point_sql;
	records_registry_form_str(&f, uscc);
	records_registry_form_str(&f, code);
	records_registry_form_str(&f, name);
	records_registry_form_str(&f, method);
	if (strcmp(method, "LEC") == 0) {
		records_registry_form_num(&f, true, l);
		records_registry_form_num(&f, has_e, e);
		records_registry_form_num(&f, has_c, c);
		records_registry_form_str(&f, NULL);
	} else {
		records_registry_form_fmt(&f, "%lld", (long long)li);
		records_registry_form_str(&f, NULL);
		records_registry_form_str(&f, NULL);
		records_registry_form_fmt(&f, "%lld", (long long)si);
	}
	records_registry_form_str(&f, measures);
	snprintf(f.owner, sizeof(f.owner), "%s", uscc);
	return records_registry_form_finish(&f, parsed, why, whysize);
}

/* --- responsibility.upsert ----------------------------------------------- */

static const char *const responsibility_fields[] = {
    "uscc", "territorial", "sector_dept", "direct_dept", NULL};

static const char responsibility_sql[] =
    "INSERT INTO responsibilities (uscc, territorial, sector_dept, "
    "direct_dept, source, event_id) VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (uscc) DO UPDATE SET territorial = EXCLUDED.territorial, "
    "sector_dept = EXCLUDED.sector_dept, "
    "direct_dept = EXCLUDED.direct_dept, source = EXCLUDED.source, "
    "event_id = EXCLUDED.event_id, received_at = now() "
    "WHERE (responsibilities.territorial, responsibilities.sector_dept, "
    "responsibilities.direct_dept) IS DISTINCT FROM "
    "(EXCLUDED.territorial, EXCLUDED.sector_dept, EXCLUDED.direct_dept)";

/* Departments are not in the in-memory registry: apply checks them. */
static int
responsibility_validate(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	const char *uscc, *territorial, *sector_dept, *direct_dept;
	struct records_registry_form f;

	*parsed = NULL;
	if (kinds_only_fields(data, "responsibility.upsert",
	        responsibility_fields, why, whysize) != 0 ||
	    kinds_get_uscc(data, &uscc, why, whysize) != 0 ||
	    records_fields_text(data, "data", "territorial", true, 64,
	        &territorial, why, whysize) != 0 ||
	    records_fields_dept(
	        data, "sector_dept", true, &sector_dept, why, whysize) != 0 ||
	    records_fields_dept(
	        data, "direct_dept", true, &direct_dept, why, whysize) != 0)
		return -1;
	if (records_fields_district(
	        ctx, "territorial", territorial, why, whysize) < 0)
		return -1;
	memset(&f, 0, sizeof(f));
	snprintf(f.what, sizeof(f.what), "enterprise %s", uscc);
	if (rec_enterprise(ctx, uscc, f.what, why, whysize) != 0)
		return -1;
	snprintf(f.what, sizeof(f.what), "responsibility of %s", uscc);
	f.sql = responsibility_sql;
	records_registry_form_str(&f, uscc);
	records_registry_form_str(&f, territorial);
	records_registry_form_str(&f, sector_dept);
	records_registry_form_str(&f, direct_dept);
	records_registry_form_dept(&f, "sector_dept", sector_dept);
	records_registry_form_dept(&f, "direct_dept", direct_dept);
	snprintf(f.owner, sizeof(f.owner), "%s", uscc);
	return records_registry_form_finish(&f, parsed, why, whysize);
}

/* --- agency.upsert ------------------------------------------------------- */

static const char *const agency_fields[] = {
    "code", "name", "district", "kind", "out_of_province", NULL};

static const char agency_sql[] =
    "INSERT INTO agencies (code, name, district, kind, out_of_province, "
    "source, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, "
    "district = EXCLUDED.district, kind = EXCLUDED.kind, "
    "out_of_province = EXCLUDED.out_of_province, "
    "source = EXCLUDED.source, event_id = EXCLUDED.event_id, "
    "received_at = now() "
    "WHERE (agencies.name, agencies.district, agencies.kind, "
    "agencies.out_of_province) IS DISTINCT FROM "
    "(EXCLUDED.name, EXCLUDED.district, EXCLUDED.kind, "
    "EXCLUDED.out_of_province)";

/*
 * An agency of the province names a district of the city; one from
 * outside the province may name its home district anywhere (a well-formed
 * GB/T 2260 code), and is then a city-wide record.  kind is the agency's
 * line of work as the sender names it (evaluation, testing...): DOMAIN.md
 * fixes no list.
 */
static int
agency_validate(const struct ingest_ctx *ctx, const cJSON *data, void **parsed,
    char *why, size_t whysize)
{
	const char *code, *name, *district, *kind;
	struct records_registry_form f;
	bool outside, given;
	int d;

	*parsed = NULL;
	if (kinds_only_fields(
	        data, "agency.upsert", agency_fields, why, whysize) != 0 ||
	    records_fields_code(
	        data, "data", "code", true, &code, why, whysize) != 0 ||
	    records_fields_text(data, "data", "name", true, NAME_MAX_BYTES,
	        &name, why, whysize) != 0 ||
	    records_fields_text(data, "data", "district", true, 64, &district,
	        why, whysize) != 0 ||
	    records_fields_text(data, "data", "kind", true, KIND_MAX_BYTES,
	        &kind, why, whysize) != 0 ||
	    records_fields_bool(data, "out_of_province", true, &outside, &given,
	        why, whysize) != 0)
		return -1;
	d = registry_district(ctx->reg, district);
	if (d < 0 && !outside)
		return records_fields_district(
		    ctx, "district", district, why, whysize);
	if (d < 0 && !ids_gb2260_ok(district)) {
		snprintf(why, whysize,
		    "data: field 'district' '%.20s' is not a 6-digit GB/T 2260 "
		    "code",
		    district);
		return -1;
	}
	memset(&f, 0, sizeof(f));
	snprintf(f.what, sizeof(f.what), "agency %.60s", code);
	if (records_registry_district_scope(ctx, f.what, d, why, whysize) != 0)
		return -1;
	f.sql = agency_sql;
	records_registry_form_str(&f, code);
	records_registry_form_str(&f, name);
	records_registry_form_str(&f, district);
	records_registry_form_str(&f, kind);
	records_registry_form_bool(&f, true, outside);
	return records_registry_form_finish(&f, parsed, why, whysize);
}

/* --- equipment.upsert ---------------------------------------------------- */

static const char *const equipment_fields[] = {"code", "uscc", "kind",
    "rescue_code", "key_place", "next_due_on", "insured", "on_96333", NULL};
/* The special equipment of DOMAIN.md §1 (特种设备): elevators, boilers,
 * pressure vessels, cranes, pressure piping, ropeways, amusement rides and
 * in-site motor vehicles. */
static const char *const equipment_kinds[] = {"elevator", "boiler",
    "pressure_vessel", "crane", "pressure_piping", "ropeway", "amusement_ride",
    "site_vehicle", NULL};

static const char equipment_sql[] =
    "INSERT INTO equipment (code, uscc, kind, rescue_code, key_place, "
    "next_due_on, insured, on_96333, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "ON CONFLICT (code) DO UPDATE SET uscc = EXCLUDED.uscc, "
    "kind = EXCLUDED.kind, rescue_code = EXCLUDED.rescue_code, "
    "key_place = EXCLUDED.key_place, next_due_on = EXCLUDED.next_due_on, "
    "insured = EXCLUDED.insured, on_96333 = EXCLUDED.on_96333, "
    "source = EXCLUDED.source, event_id = EXCLUDED.event_id, "
    "received_at = now() "
    "WHERE (equipment.kind, equipment.rescue_code, equipment.key_place, "
    "equipment.next_due_on, equipment.insured, equipment.on_96333) "
    "IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.rescue_code, "
    "EXCLUDED.key_place, EXCLUDED.next_due_on, EXCLUDED.insured, "
    "EXCLUDED.on_96333)";

static int
equipment_validate(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	const char *code, *uscc, *kind, *rescue;
	struct records_registry_form f;
	bool key_place, insured, on_96333, given, has_ins, has_96333;
	int64_t due;

	*parsed = NULL;
	if (kinds_only_fields(data, "equipment.upsert", equipment_fields, why,
	        whysize) != 0 ||
	    records_fields_code(
	        data, "data", "code", true, &code, why, whysize) != 0 ||
	    kinds_get_uscc(data, &uscc, why, whysize) != 0 ||
	    kinds_get_enum(data, "kind", true, equipment_kinds, &kind, why,
	        whysize) != 0 ||
	    records_fields_text(data, "data", "rescue_code", false, 16, &rescue,
	        why, whysize) != 0 ||
	    records_fields_bool(data, "key_place", true, &key_place, &given,
	        why, whysize) != 0 ||
	    records_fields_date(data, "next_due_on",
	        timeutil_days_from_civil(2000, 1, 1),
	        timeutil_days_from_civil(2100, 12, 31), &due, why,
	        whysize) != 0 ||
	    records_fields_bool(data, "insured", false, &insured, &has_ins, why,
	        whysize) != 0 ||
	    records_fields_bool(data, "on_96333", false, &on_96333, &has_96333,
	        why, whysize) != 0)
		return -1;
	if (rescue != NULL &&
	    (strlen(rescue) != 6 || strspn(rescue, "0123456789") != 6)) {
		snprintf(why, whysize,
		    "data: field 'rescue_code' must be exactly 6 digits (the "
		    "96333 rescue code), got '%.16s'",
		    rescue);
		return -1;
	}
	if (strcmp(kind, "elevator") != 0 &&
	    (rescue != NULL || (has_96333 && on_96333))) {
		snprintf(why, whysize,
		    "data: only elevators are on 96333 or carry its rescue "
		    "code, this is a %s",
		    kind);
		return -1;
	}
	memset(&f, 0, sizeof(f));
	snprintf(f.what, sizeof(f.what), "equipment %.60s", code);
	if (rec_enterprise(ctx, uscc, f.what, why, whysize) != 0)
		return -1;
	f.sql = equipment_sql;
	records_registry_form_str(&f, code);
	records_registry_form_str(&f, uscc);
	records_registry_form_str(&f, kind);
	records_registry_form_str(&f, rescue);
	records_registry_form_bool(&f, true, key_place);
	records_registry_form_date(&f, due);
	records_registry_form_bool(&f, has_ins, insured);
	records_registry_form_bool(&f, has_96333, on_96333);
	snprintf(f.owner, sizeof(f.owner), "%s", uscc);
	f.owner_sql = "SELECT uscc FROM equipment WHERE code = $1 FOR UPDATE";
	return records_registry_form_finish(&f, parsed, why, whysize);
}

/* --- apply (writer thread) ----------------------------------------------- */

/* Run a check query of one parameter: its row count, or -1 with err. */
static int
check_rows(struct store *st, const char *sql, const char *param, char *first,
    size_t firstsize, struct store_err *err)
{
	const char *params[1] = {param};
	PGresult *res;
	int n;

	if (store_exec(st, sql, 1, params, &res, err) < 0)
		return -1;
	n = PQntuples(res);
	if (first != NULL && firstsize > 0)
		snprintf(
		    first, firstsize, "%s", n > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return n;
}

/*
 * What only the store knows, then the upsert.  The enterprise row is held
 * FOR KEY SHARE (as the foreign key would) so that it cannot go away
 * before the commit; a record keyed by its own code is locked FOR UPDATE
 * and must not belong to another enterprise: a scoped source could
 * otherwise take over a record of an enterprise outside its scope.  The
 * upsert itself is one INSERT ... ON CONFLICT, atomic under concurrency.
 */
static int
rec_apply(struct store *st, const char *source, const struct ingest_event *ev,
    struct store_err *err)
{
	const struct records_registry_form *f = ev->parsed;
	const char *params[REC_PARAMS_MAX + 2];
	char owner[IDS_USCC_SIZE + 8];
	int i, n;

	if (ev->duplicate || f == NULL)
		return 0;
	if (f->owner[0] != '\0') {
		n = check_rows(st,
		    "SELECT 1 FROM enterprises WHERE uscc = $1 FOR KEY SHARE",
		    f->owner, NULL, 0, err);
		if (n < 0)
			return -1;
		if (n == 0) {
			store_err_setf(err, STORE_ERR_SQL, "23503",
			    "enterprise %s is not registered", f->owner);
			return -1;
		}
	}
	for (i = 0; i < f->ndepts; i++) {
		n = check_rows(st, "SELECT 1 FROM departments WHERE code = $1",
		    f->dept[i], NULL, 0, err);
		if (n < 0)
			return -1;
		if (n == 0) {
			store_err_setf(err, STORE_ERR_SQL, "23503",
			    "field '%s': '%s' is not a department of the city",
			    f->dept_field[i], f->dept[i]);
			return -1;
		}
	}
	if (f->owner_sql != NULL) {
		n = check_rows(
		    st, f->owner_sql, f->param[0], owner, sizeof(owner), err);
		if (n < 0)
			return -1;
		if (n > 0 && strcmp(owner, f->owner) != 0) {
			store_err_setf(err, STORE_ERR_SQL, "23505",
			    "%s belongs to enterprise %s, not %s", f->what,
			    owner, f->owner);
			return -1;
		}
	}
	for (i = 0; i < f->nparams; i++)
		params[i] = f->param[i];
	params[i++] = source;
	params[i++] = ev->id;
	return store_exec(st, f->sql, i, params, NULL, err);
}

const struct ingest_kind records_registry_kinds[] = {
    {"hazard_source.upsert", hazard_source_validate, rec_apply, NULL, rec_free},
    {"risk_point.upsert", risk_point_validate, rec_apply, NULL, rec_free},
    {"responsibility.upsert", responsibility_validate, rec_apply, NULL,
        rec_free},
    {"duty.roster", records_people_roster_validate, rec_apply, NULL, rec_free},
    {"inspector.upsert", records_people_inspector_validate, rec_apply, NULL,
        rec_free},
    {"agency.upsert", agency_validate, rec_apply, NULL, rec_free},
    {"equipment.upsert", equipment_validate, rec_apply, NULL, rec_free},
};

const size_t records_registry_nkinds =
    sizeof(records_registry_kinds) / sizeof(records_registry_kinds[0]);

/*
 * records_duty - the duties of enterprises: responsibility lists, safety
 * directors, training records, equipment inspections, self-checks.
 *
 * One group of the event kinds of DOMAIN.md §2 (kinds_internal.h says how
 * the groups fit); the tables are deploy/sql/0008_records_duty.sql.
 * events.c runs each validator on the loop thread: types, enums, counts
 * that add up, sane years, dates and periods, and the enterprise known to
 * the in-memory registry and within the source's scope; the validated
 * values become the parsed form (struct upsert_form).  writer_group.c runs
 * apply inside the group's transaction: the upserts (one list and one
 * director per enterprise, a training record per enterprise, year and
 * role, a self-check per enterprise, kind and period) replace the row,
 * whose earlier state a trigger keeps in its *_versions table; an
 * equipment inspection is checked against the special-equipment registry
 * (its enterprise, and so the source's scope) and logged.  The job owns
 * the forms (kinds_form_free).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kinds_internal.h"
#include "timeutil.h"

#define COUNT_MAX 10000000 /* posts, people: far above any enterprise */
#define EQUIPMENT_CODE_MAX 64
#define YEAR_FIRST 2000 /* records before it are not kept here */
#define YEAR_LAST 2100

/* --- helpers
 * ------------------------------------------------------------------ */

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

/* The city's calendar year of now. */
static int
current_year(const struct ingest_ctx *ctx)
{
	int y, m, d;

	timeutil_civil_from_days(timeutil_city_day(ctx->now_ms), &y, &m, &d);
	return y;
}

static int
get_bool(
    const cJSON *data, const char *key, bool *out, char *why, size_t whysize)
{
	struct json_err jerr;

	if (json_get_bool(data, key, out, true, &jerr) < 0)
		return kinds_why_json(&jerr, why, whysize);
	return 0;
}

static void *
finish(struct upsert_form *f, char *why, size_t whysize)
{
	void *parsed = kinds_form_finish(f);

	if (parsed == NULL)
		snprintf(why, whysize, "out of memory");
	return parsed;
}

static void
form_start(struct upsert_form *f)
{
	memset(f, 0, offsetof(struct upsert_form, text));
}

/*
 * Run sql with the form's parameters, then the event's at, the source and
 * the event id ($n+1, $n+2, $n+3).
 */
static int
form_run(struct store *st, const char *sql, const char *source,
    const struct ingest_event *ev, PGresult **out, struct store_err *err)
{
	const struct upsert_form *f = ev->parsed;
	const char *p[FORM_PARAMS_MAX + 3];
	char at[TIMEUTIL_RFC3339_SIZE];
	int i;

	for (i = 0; i < f->nparams; i++)
		p[i] = f->off[i] < 0 ? NULL : f->text + f->off[i];
	timeutil_format_rfc3339(ev->at_ms, at, sizeof(at));
	p[i++] = at;
	p[i++] = source;
	p[i++] = ev->id;
	return store_exec(st, sql, i, p, out, err);
}

/* --- resplist.uploaded
 * -------------------------------------------------------- */

static const char *const resplist_fields[] = {
    "uscc", "posts", "posts_covered", NULL};

static int
v_resplist(const struct ingest_ctx *ctx, const cJSON *data, void **parsed,
    char *why, size_t whysize)
{
	const char *uscc;
	int64_t posts, covered;
	bool given;
	struct upsert_form f;

	*parsed = NULL;
	if (kinds_only_fields(data, "resplist.uploaded", resplist_fields, why,
	        whysize) != 0 ||
	    get_enterprise(ctx, data, &uscc, why, whysize) != 0 ||
	    kinds_get_int(data, "posts", true, 1, COUNT_MAX, &posts, &given,
	        why, whysize) != 0 ||
	    kinds_get_int(data, "posts_covered", true, 0, COUNT_MAX, &covered,
	        &given, why, whysize) != 0)
		return -1;
	if (covered > posts) {
		snprintf(why, whysize,
		    "data: posts_covered (%lld) cannot exceed posts (%lld)",
		    (long long)covered, (long long)posts);
		return -1;
	}
	form_start(&f);
	kinds_form_str(&f, uscc);
	kinds_form_param(&f, "%lld", (long long)posts);
	kinds_form_param(&f, "%lld", (long long)covered);
	*parsed = finish(&f, why, whysize);
	return *parsed != NULL ? 0 : -1;
}

static const char resplist_sql[] =
    "INSERT INTO resplists (uscc, posts, posts_covered, uploaded_at, "
    "source, event_id) VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (uscc) DO UPDATE SET posts = EXCLUDED.posts, "
    "posts_covered = EXCLUDED.posts_covered, "
    "uploaded_at = EXCLUDED.uploaded_at, received_at = now(), "
    "source = EXCLUDED.source, event_id = EXCLUDED.event_id";

static int
resplist_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	if (ev->duplicate || ev->parsed == NULL)
		return 0;
	return form_run(st, resplist_sql, source, ev, NULL, err);
}

/* --- director.appointed
 * --------------------------------------------------------- */

static const char *const director_fields[] = {
    "uscc", "name", "certified", NULL};

static int
v_director(const struct ingest_ctx *ctx, const cJSON *data, void **parsed,
    char *why, size_t whysize)
{
	const char *uscc, *name;
	bool certified;
	struct upsert_form f;

	*parsed = NULL;
	if (kinds_only_fields(data, "director.appointed", director_fields, why,
	        whysize) != 0 ||
	    get_enterprise(ctx, data, &uscc, why, whysize) != 0 ||
	    kinds_get_text(
	        data, "name", true, NAME_MAX_BYTES, &name, why, whysize) != 0 ||
	    get_bool(data, "certified", &certified, why, whysize) != 0)
		return -1;
	form_start(&f);
	kinds_form_str(&f, uscc);
	kinds_form_str(&f, name);
	kinds_form_str(&f, certified ? "true" : "false");
	*parsed = finish(&f, why, whysize);
	return *parsed != NULL ? 0 : -1;
}

static const char director_sql[] =
    "INSERT INTO safety_directors (uscc, name, certified, appointed_at, "
    "source, event_id) VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (uscc) DO UPDATE SET name = EXCLUDED.name, "
    "certified = EXCLUDED.certified, "
    "appointed_at = EXCLUDED.appointed_at, received_at = now(), "
    "source = EXCLUDED.source, event_id = EXCLUDED.event_id";

static int
director_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	if (ev->duplicate || ev->parsed == NULL)
		return 0;
	return form_run(st, director_sql, source, ev, NULL, err);
}

/* --- training.record
 * --------------------------------------------------------------- */

static const char *const training_fields[] = {
    "uscc", "year", "role", "required", "trained", "certified", NULL};
static const char *const training_roles[] = {
    "principal", "safety_manager", "special_worker", "employee", NULL};

static int
v_training(const struct ingest_ctx *ctx, const cJSON *data, void **parsed,
    char *why, size_t whysize)
{
	const char *uscc, *role;
	int64_t year, required, trained, certified;
	bool given;
	struct upsert_form f;

	*parsed = NULL;
	if (kinds_only_fields(
	        data, "training.record", training_fields, why, whysize) != 0 ||
	    get_enterprise(ctx, data, &uscc, why, whysize) != 0 ||
	    kinds_get_int(data, "year", true, YEAR_FIRST, current_year(ctx),
	        &year, &given, why, whysize) != 0 ||
	    kinds_get_enum(
	        data, "role", true, training_roles, &role, why, whysize) != 0 ||
	    kinds_get_int(data, "required", true, 0, COUNT_MAX, &required,
	        &given, why, whysize) != 0 ||
	    kinds_get_int(data, "trained", true, 0, COUNT_MAX, &trained, &given,
	        why, whysize) != 0 ||
	    kinds_get_int(data, "certified", true, 0, COUNT_MAX, &certified,
	        &given, why, whysize) != 0)
		return -1;
	/* Training and certification rates are shares of required
	 * (DOMAIN.md 8): a count above it is a counting error. */
	if (trained > required || certified > required) {
		snprintf(why, whysize,
		    "data: %s (%lld) cannot exceed required (%lld): the rates "
		    "are shares of the people required",
		    trained > required ? "trained" : "certified",
		    (long long)(trained > required ? trained : certified),
		    (long long)required);
		return -1;
	}
	form_start(&f);
	kinds_form_str(&f, uscc);
	kinds_form_param(&f, "%lld", (long long)year);
	kinds_form_str(&f, role);
	kinds_form_param(&f, "%lld", (long long)required);
	kinds_form_param(&f, "%lld", (long long)trained);
	kinds_form_param(&f, "%lld", (long long)certified);
	*parsed = finish(&f, why, whysize);
	return *parsed != NULL ? 0 : -1;
}

static const char training_sql[] =
    "INSERT INTO training_records (uscc, year, role, required, trained, "
    "certified, recorded_at, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (uscc, year, role) DO UPDATE SET "
    "required = EXCLUDED.required, trained = EXCLUDED.trained, "
    "certified = EXCLUDED.certified, recorded_at = EXCLUDED.recorded_at, "
    "received_at = now(), source = EXCLUDED.source, "
    "event_id = EXCLUDED.event_id";

static int
training_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	if (ev->duplicate || ev->parsed == NULL)
		return 0;
	return form_run(st, training_sql, source, ev, NULL, err);
}

/* --- equipment.inspected
 * ------------------------------------------------------------ */

static const char *const equipment_fields[] = {
    "code", "result", "next_due_on", NULL};
static const char *const equipment_results[] = {"pass", "fail", NULL};

static int
v_equipment_inspected(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	const char *code, *result, *due, *perr = NULL;
	int64_t days;
	int y, m, d;
	struct upsert_form f;

	(void)ctx;
	*parsed = NULL;
	if (kinds_only_fields(data, "equipment.inspected", equipment_fields,
	        why, whysize) != 0 ||
	    kinds_get_text(data, "code", true, EQUIPMENT_CODE_MAX, &code, why,
	        whysize) != 0)
		return -1;
	for (const char *p = code; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			snprintf(why, whysize,
			    "data: field 'code' must not contain spaces or "
			    "control characters");
			return -1;
		}
	}
	if (kinds_get_enum(data, "result", true, equipment_results, &result,
	        why, whysize) != 0 ||
	    kinds_get_text(data, "next_due_on", true, 16, &due, why, whysize) !=
	        0)
		return -1;
	if (timeutil_parse_date_n(due, strlen(due), &days, &perr) != 0) {
		snprintf(why, whysize,
		    "data: field 'next_due_on' is not a date YYYY-MM-DD: %s",
		    perr != NULL ? perr : "malformed");
		return -1;
	}
	timeutil_civil_from_days(days, &y, &m, &d);
	if (y < YEAR_FIRST || y > YEAR_LAST) {
		snprintf(why, whysize,
		    "data: field 'next_due_on' must fall in the years %d to "
		    "%d, "
		    "got %s",
		    YEAR_FIRST, YEAR_LAST, due);
		return -1;
	}
	form_start(&f);
	kinds_form_str(&f, code);
	kinds_form_str(&f, result);
	kinds_form_str(&f, due);
	*parsed = finish(&f, why, whysize);
	return *parsed != NULL ? 0 : -1;
}

/*
 * The equipment registry (table equipment, from equipment.upsert) belongs
 * to records_registry.c and its migration; when a database lacks it, no
 * equipment is known, and the inspection is refused saying so.
 */
static const char equipment_registry_sql[] =
    "SELECT to_regclass('equipment') IS NOT NULL";

/* The equipment's enterprise, and whether the source may write for it. */
static const char equipment_find_sql[] =
    "SELECT e.uscc, (s.sectors IS NULL OR e.sector = ANY (s.sectors)) AND "
    "(s.districts IS NULL OR e.district = ANY (s.districts)) "
    "FROM equipment q JOIN enterprises e ON e.uscc = q.uscc "
    "LEFT JOIN sources s ON s.name = $2 WHERE q.code = $1";

/*
 * Log the inspection and, when it is the latest one of that equipment,
 * make its next_due_on the equipment's (a pass moves the due date on; a
 * failed one may bring the re-inspection forward).  An inspection that
 * arrives after a later one leaves the due date alone.  The equipment's
 * versions table keeps the date it replaced.
 */
static const char equipment_log_sql[] =
    "WITH logged AS (INSERT INTO equipment_inspections (code, result, "
    "next_due_on, inspected_at, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, $6)) "
    "UPDATE equipment SET next_due_on = $3::date, source = $5, "
    "event_id = $6, received_at = now() "
    "WHERE code = $1 AND next_due_on IS DISTINCT FROM $3::date "
    "AND NOT EXISTS (SELECT 1 FROM equipment_inspections i "
    "WHERE i.code = $1 AND i.inspected_at > $4::timestamptz)";

static int
equipment_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	const struct upsert_form *f = ev->parsed;
	const char *code, *due;
	PGresult *res;
	int64_t due_days;
	int rc = 0;

	if (ev->duplicate || f == NULL)
		return 0;
	code = f->text + f->off[0];
	due = f->text + f->off[2];
	if (timeutil_parse_date(due, &due_days) == 0 &&
	    due_days <= timeutil_city_day(ev->at_ms))
		return kinds_refuse(err, "55000",
		    "equipment %s: next_due_on %s must come after the day of "
		    "the inspection (the event's at)",
		    code, due);
	if (store_exec(st, equipment_registry_sql, 0, NULL, &res, err) < 0)
		return -1;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		rc = kinds_refuse(err, "55000",
		    "equipment %s cannot be known: no special-equipment "
		    "registry (table equipment) on this platform yet",
		    code);
	PQclear(res);
	if (rc < 0)
		return -1;
	if (store_exec(st, equipment_find_sql, 2,
	        (const char *[]){code, source}, &res, err) < 0)
		return -1;
	if (PQntuples(res) == 0)
		rc = kinds_refuse(err, "55000",
		    "equipment %s is not registered: send its "
		    "equipment.upsert first",
		    code);
	else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
		rc = kinds_refuse(err, "55000",
		    "equipment %s of enterprise %s is outside the scope of "
		    "source %s",
		    code, PQgetvalue(res, 0, 0), source);
	PQclear(res);
	if (rc < 0)
		return -1;
	return form_run(st, equipment_log_sql, source, ev, NULL, err);
}

/* --- selfcheck.completed
 * ------------------------------------------------------------- */

static const char *const selfcheck_fields[] = {"uscc", "kind", "period", NULL};
static const char *const selfcheck_kinds[] = {"coal_quarterly",
    "coal_parent_semiannual", "hazard_source_technical", "other", NULL};

/*
 * A period: a year "2026", a half "2026H2", a quarter "2026Q3" or a month
 * "2026-11".  Sets *unit ('Y', 'H', 'Q', 'M') and the first day of the
 * period; 0, or -1 when it is none of these.
 */
static int
parse_period(const char *s, char *unit, int64_t *first_day)
{
	int year, n, month;
	size_t len = strlen(s);

	for (int i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	       (s[3] - '0');
	if (len == 4) {
		*unit = 'Y';
		month = 1;
	} else if (len == 6 && (s[4] == 'H' || s[4] == 'Q')) {
		n = s[5] - '0';
		if (n < 1 || n > (s[4] == 'H' ? 2 : 4))
			return -1;
		*unit = s[4];
		month = s[4] == 'H' ? 1 + (n - 1) * 6 : 1 + (n - 1) * 3;
	} else if (len == 7 && s[4] == '-' && s[5] >= '0' && s[5] <= '1' &&
	           s[6] >= '0' && s[6] <= '9') {
		month = (s[5] - '0') * 10 + (s[6] - '0');
		if (month < 1 || month > 12)
			return -1;
		*unit = 'M';
	} else {
		return -1;
	}
	if (year < YEAR_FIRST || year > YEAR_LAST)
		return -1;
	*first_day = timeutil_days_from_civil(year, month, 1);
	return 0;
}

static int
v_selfcheck(const struct ingest_ctx *ctx, const cJSON *data, void **parsed,
    char *why, size_t whysize)
{
	const char *uscc, *kind, *period;
	int64_t first_day;
	char unit;
	bool quarterly;
	struct upsert_form f;

	*parsed = NULL;
	if (kinds_only_fields(data, "selfcheck.completed", selfcheck_fields,
	        why, whysize) != 0 ||
	    get_enterprise(ctx, data, &uscc, why, whysize) != 0 ||
	    kinds_get_enum(data, "kind", true, selfcheck_kinds, &kind, why,
	        whysize) != 0 ||
	    kinds_get_text(data, "period", true, 16, &period, why, whysize) !=
	        0)
		return -1;
	if (parse_period(period, &unit, &first_day) != 0) {
		snprintf(why, whysize,
		    "data: field 'period' '%.16s' is not a period of the "
		    "years %d to %d: write 2026, 2026H2, 2026Q3 or 2026-11",
		    period, YEAR_FIRST, YEAR_LAST);
		return -1;
	}
	/* DOMAIN.md 7: coal mines self-check quarterly, their parent
	 * companies half-yearly. */
	quarterly = strcmp(kind, "coal_quarterly") == 0;
	if ((quarterly && unit != 'Q') ||
	    (strcmp(kind, "coal_parent_semiannual") == 0 && unit != 'H')) {
		snprintf(why, whysize,
		    "data: a %s self-check covers a %s, like %s, not '%.16s'",
		    kind, quarterly ? "quarter" : "half year",
		    quarterly ? "2026Q3" : "2026H2", period);
		return -1;
	}
	if (first_day > timeutil_city_day(ctx->now_ms)) {
		snprintf(why, whysize,
		    "data: period %s has not begun yet: a self-check is "
		    "reported once done",
		    period);
		return -1;
	}
	form_start(&f);
	kinds_form_str(&f, uscc);
	kinds_form_str(&f, kind);
	kinds_form_str(&f, period);
	*parsed = finish(&f, why, whysize);
	return *parsed != NULL ? 0 : -1;
}

static const char selfcheck_sql[] =
    "INSERT INTO selfchecks (uscc, kind, period, completed_at, source, "
    "event_id) VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (uscc, kind, period) DO UPDATE SET "
    "completed_at = EXCLUDED.completed_at, received_at = now(), "
    "source = EXCLUDED.source, event_id = EXCLUDED.event_id";

static int
selfcheck_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	if (ev->duplicate || ev->parsed == NULL)
		return 0;
	return form_run(st, selfcheck_sql, source, ev, NULL, err);
}

const struct ingest_kind records_duty_kinds[] = {
    {"resplist.uploaded", v_resplist, resplist_apply, NULL, kinds_form_free},
    {"director.appointed", v_director, director_apply, NULL, kinds_form_free},
    {"training.record", v_training, training_apply, NULL, kinds_form_free},
    {"equipment.inspected", v_equipment_inspected, equipment_apply, NULL,
        kinds_form_free},
    {"selfcheck.completed", v_selfcheck, selfcheck_apply, NULL,
        kinds_form_free},
};

const size_t records_duty_nkinds =
    sizeof(records_duty_kinds) / sizeof(records_duty_kinds[0]);

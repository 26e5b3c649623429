/*
 * kinds - the table of event kinds: a validator each, and what applies them.
 *
 * Every kind of DOMAIN.md §2 has one row here: its name, a validator that
 * runs on the loop thread when the event arrives, and for the registry
 * kinds that ingestd owns (enterprise.upsert, point.upsert) the statement
 * that applies it inside the writer's transaction and the update of the
 * in-memory registry once that transaction committed.  The other kinds are
 * checked for the fields DOMAIN.md requires and stored in the events table
 * only; the city-records work deepens them on this same table, one
 * validator and apply per kind.
 *
 * events.c checks the envelope of each event of POST /v1/events (kind, id,
 * at, data), then finds its kind here with kinds_find() and runs the
 * kind's validator on data; intake.c does the same for a protobuf
 * EventBatch.  writer_group.c calls each event's kind->apply; the loop
 * calls kind->committed after the commit.  A validated upsert keeps its
 * statement parameters as text in its parsed form (struct upsert_form), so
 * apply does no decoding on the writer thread.  The job owns the parsed
 * forms and frees them through kind->free.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "ingestd.h"
#include "json.h"
#include "log.h"
#include "kinds_internal.h"

/* Append a parameter (NULL: SQL NULL).  Every field's length is bounded
 * before it gets here, so the text cannot overflow; if it did, the
 * parameter would become NULL and the store refuse the row, no more. */
void
kinds_form_param(struct upsert_form *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (fmt == NULL) {
		f->off[f->nparams++] = -1;
		return;
	}
	if (f->len >= sizeof(f->text)) {
		f->off[f->nparams++] = -1;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(f->text + f->len, sizeof(f->text) - f->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(f->text) - f->len) {
		f->off[f->nparams++] = -1;
		f->len = sizeof(f->text);
		return;
	}
	f->off[f->nparams++] = (int)f->len;
	f->len += (size_t)n + 1;
}

void
kinds_form_str(struct upsert_form *f, const char *s)
{
	if (s == NULL)
		kinds_form_param(f, NULL);
	else
		kinds_form_param(f, "%s", s);
}

/* Copy the form into an allocation of its used size. */
void *
kinds_form_finish(const struct upsert_form *f)
{
	size_t size = offsetof(struct upsert_form, text) + f->len;
	struct upsert_form *out = malloc(size);

	if (out != NULL)
		memcpy(out, f, size);
	return out;
}

void
kinds_form_free(void *parsed)
{
	free(parsed);
}

int
kinds_form_exec(struct store *st, const char *sql, const struct upsert_form *f,
    const char *source, const struct ingest_event *ev, struct store_err *err)
{
	const char *params[FORM_PARAMS_MAX + 2];
	int i;

	for (i = 0; i < f->nparams; i++)
		params[i] = f->off[i] < 0 ? NULL : f->text + f->off[i];
	params[i++] = source;
	params[i++] = ev->id;
	return store_exec(st, sql, i, params, NULL, err);
}

/* --- field helpers: each returns 0, or -1 with why ------------------------ */

int
kinds_refuse(struct store_err *err, const char *sqlstate, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	store_err_vsetf(err, STORE_ERR_SQL, sqlstate, fmt, ap);
	va_end(ap);
	return -1;
}

int
kinds_why_json(const struct json_err *jerr, char *why, size_t whysize)
{
	snprintf(why, whysize, "data: %s", jerr->msg);
	return -1;
}

/* A string of 1..max bytes; required or optional (*out NULL). */
int
kinds_get_text(const cJSON *data, const char *key, bool required, size_t max,
    const char **out, char *why, size_t whysize)
{
	struct json_err jerr;
	int r;

	*out = NULL;
	r = json_get_str(data, key, out, required, &jerr);
	if (r < 0)
		return kinds_why_json(&jerr, why, whysize);
	if (r == 0)
		return 0;
	if ((*out)[0] == '\0' || strlen(*out) > max) {
		snprintf(why, whysize,
		    "data: field '%s' must be 1 to %zu bytes long", key, max);
		return -1;
	}
	return 0;
}

/* A string that must be one of the NULL-terminated list. */
int
kinds_get_enum(const cJSON *data, const char *key, bool required,
    const char *const *allowed, const char **out, char *why, size_t whysize)
{
	char list[200];
	size_t i, len = 0;

	if (kinds_get_text(data, key, required, 64, out, why, whysize) != 0)
		return -1;
	if (*out == NULL)
		return 0;
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(*out, allowed[i]) == 0)
			return 0;
	list[0] = '\0';
	for (i = 0; allowed[i] != NULL && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i ? ", " : "", allowed[i]);
	snprintf(why, whysize, "data: field '%s' must be one of %s, got '%.40s'",
	    key, list, *out);
	return -1;
}

/* An optional number within [lo, hi]; *given tells whether it was sent. */
int
kinds_get_num(const cJSON *data, const char *key, double lo, double hi, double *out,
    bool *given, char *why, size_t whysize)
{
	struct json_err jerr;
	int r;

	r = json_get_double(data, key, out, false, &jerr);
	if (r < 0)
		return kinds_why_json(&jerr, why, whysize);
	*given = r == 1;
	if (*given && (*out < lo || *out > hi)) {
		snprintf(why, whysize,
		    "data: field '%s' must be between %g and %g, got %g", key,
		    lo, hi, *out);
		return -1;
	}
	return 0;
}

/* An integer within [lo, hi]; required or optional (*given). */
int
kinds_get_int(const cJSON *data, const char *key, bool required, int64_t lo,
    int64_t hi, int64_t *out, bool *given, char *why, size_t whysize)
{
	struct json_err jerr;
	int r;

	r = json_get_int64(data, key, out, required, &jerr);
	if (r < 0)
		return kinds_why_json(&jerr, why, whysize);
	*given = r == 1;
	if (*given && (*out < lo || *out > hi)) {
		snprintf(why, whysize,
		    "data: field '%s' must be an integer from %lld to %lld, got "
		    "%lld",
		    key, (long long)lo, (long long)hi, (long long)*out);
		return -1;
	}
	return 0;
}

/* Every member of data must be one of the NULL-terminated names. */
int
kinds_only_fields(const cJSON *data, const char *kind, const char *const *names,
    char *why, size_t whysize)
{
	const cJSON *c;
	size_t i;

	for (c = data->child; c != NULL; c = c->next) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(c->string, names[i]) == 0)
				break;
		if (names[i] == NULL) {
			snprintf(why, whysize,
			    "data: unknown field '%.40s' for kind %s", c->string,
			    kind);
			return -1;
		}
	}
	return 0;
}

int
kinds_get_uscc(const cJSON *data, const char **uscc, char *why, size_t whysize)
{
	char reason[IDS_REASON_SIZE];

	if (kinds_get_text(data, "uscc", true, 64, uscc, why, whysize) != 0)
		return -1;
	if (ids_uscc_check(*uscc, reason, sizeof(reason)) != 0) {
		snprintf(why, whysize,
		    "data: field 'uscc' '%.20s' is not a valid unified social "
		    "credit code: %s",
		    *uscc, reason);
		return -1;
	}
	return 0;
}

int
kinds_scope_check(const struct ingest_ctx *ctx, const char *what, int district,
    int sector, char *why, size_t whysize)
{
	if (ctx->source == NULL ||
	    registry_in_scope(ctx->source, district, sector))
		return 0;
	snprintf(why, whysize,
	    "%s belongs to district %s / sector %s outside the scope of "
	    "source %s",
	    what, registry_district_code(ctx->reg, district),
	    registry_sector_code(ctx->reg, sector), ctx->source->name);
	return -1;
}

/* --- enterprise.upsert ------------------------------------------------------ */

static const char *const enterprise_fields[] = {"uscc", "name", "district",
	"sector", "employees", "status", "enforcement_level", "address", "lon",
	"lat", "credit", "standardization_level", NULL};
static const char *const enterprise_status[] = {
	"operating", "suspended", "closed", NULL};
static const char *const enforcement_levels[] = {"city", "district", NULL};
static const char *const credits[] = {
	"good", "normal", "poor", "dishonest", NULL};

static int
enterprise_validate(const struct ingest_ctx *ctx, const cJSON *data,
    void **parsed, char *why, size_t whysize)
{
	const char *uscc, *name, *district, *sector, *status, *level, *address;
	const char *credit;
	int64_t employees, stdlevel;
	double lon, lat;
	bool has_emp, has_lon, has_lat, has_std;
	struct upsert_form f;
	int d, s;
	char what[64];

	if (kinds_only_fields(data, "enterprise.upsert", enterprise_fields, why,
		whysize) != 0 ||
	    kinds_get_uscc(data, &uscc, why, whysize) != 0 ||
	    kinds_get_text(data, "name", true, NAME_MAX_BYTES, &name, why,
		whysize) != 0 ||
	    kinds_get_text(data, "district", true, 64, &district, why, whysize) != 0 ||
	    kinds_get_text(data, "sector", true, 64, &sector, why, whysize) != 0 ||
	    kinds_get_int(data, "employees", true, 0, INT32_MAX, &employees,
		&has_emp, why, whysize) != 0 ||
	    kinds_get_enum(data, "status", true, enterprise_status, &status, why,
		whysize) != 0 ||
	    kinds_get_enum(data, "enforcement_level", true, enforcement_levels,
		&level, why, whysize) != 0 ||
	    kinds_get_text(data, "address", false, ADDRESS_MAX_BYTES, &address, why,
		whysize) != 0 ||
	    kinds_get_num(data, "lon", -180, 180, &lon, &has_lon, why, whysize) != 0 ||
	    kinds_get_num(data, "lat", -90, 90, &lat, &has_lat, why, whysize) != 0 ||
	    kinds_get_enum(data, "credit", false, credits, &credit, why, whysize) !=
		0 ||
	    kinds_get_int(data, "standardization_level", false, 1, 3, &stdlevel,
		&has_std, why, whysize) != 0)
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
	snprintf(what, sizeof(what), "enterprise %s", uscc);
	if (kinds_scope_check(ctx, what, d, s, why, whysize) != 0)
		return -1;

	memset(&f, 0, offsetof(struct upsert_form, text));
	kinds_form_str(&f, uscc);
	kinds_form_str(&f, name);
	kinds_form_str(&f, district);
	kinds_form_str(&f, sector);
	kinds_form_param(&f, "%lld", (long long)employees);
	kinds_form_str(&f, status);
	kinds_form_str(&f, level);
	kinds_form_str(&f, address);
	has_lon ? kinds_form_param(&f, "%.17g", lon) : kinds_form_param(&f, NULL);
	has_lat ? kinds_form_param(&f, "%.17g", lat) : kinds_form_param(&f, NULL);
	kinds_form_str(&f, credit);
	has_std ? kinds_form_param(&f, "%lld", (long long)stdlevel) :
		  kinds_form_param(&f, NULL);
	snprintf(f.uscc, sizeof(f.uscc), "%s", uscc);
	f.district = d;
	f.sector = s;
	*parsed = kinds_form_finish(&f);
	if (*parsed == NULL) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	return 0;
}

/* An upsert that changes nothing leaves the row, and its history, alone. */
static const char enterprise_sql[] =
    "INSERT INTO enterprises (uscc, name, district, sector, employees, "
    "status, enforcement_level, address, lon, lat, credit, "
    "standardization_level, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
    "ON CONFLICT (uscc) DO UPDATE SET name = EXCLUDED.name, "
    "district = EXCLUDED.district, sector = EXCLUDED.sector, "
    "employees = EXCLUDED.employees, status = EXCLUDED.status, "
    "enforcement_level = EXCLUDED.enforcement_level, "
    "address = EXCLUDED.address, lon = EXCLUDED.lon, lat = EXCLUDED.lat, "
    "credit = EXCLUDED.credit, "
    "standardization_level = EXCLUDED.standardization_level, "
    "source = EXCLUDED.source, event_id = EXCLUDED.event_id, "
    "updated_at = now() "
    "WHERE (enterprises.name, enterprises.district, enterprises.sector, "
    "enterprises.employees, enterprises.status, "
    "enterprises.enforcement_level, enterprises.address, enterprises.lon, "
    "enterprises.lat, enterprises.credit, "
    "enterprises.standardization_level) IS DISTINCT FROM "
    "(EXCLUDED.name, EXCLUDED.district, EXCLUDED.sector, "
    "EXCLUDED.employees, EXCLUDED.status, EXCLUDED.enforcement_level, "
    "EXCLUDED.address, EXCLUDED.lon, EXCLUDED.lat, EXCLUDED.credit, "
    "EXCLUDED.standardization_level)";

static int
enterprise_apply(struct store *st, const char *source,
    const struct ingest_event *ev, struct store_err *err)
{
	if (ev->duplicate || ev->parsed == NULL)
		return 0;
	return kinds_form_exec(st, enterprise_sql, ev->parsed, source, ev, err);
}

static void
enterprise_committed(struct registry *reg, const struct ingest_event *ev)
{
	const struct upsert_form *f = ev->parsed;
	struct reg_enterprise e;

	if (ev->duplicate || f == NULL)
		return;
	memset(&e, 0, sizeof(e));
	memcpy(e.uscc, f->uscc, sizeof(e.uscc));
	e.district = (uint16_t)f->district;
	e.sector = (uint16_t)f->sector;
	if (registry_put_enterprise(reg, &e) != 0)
		log_error("registry.put_failed", "uscc=%s", e.uscc);
}

/* --- point.upsert ------------------------------------------------------------ */

static const char *const point_fields[] = {"code", "uscc", "kind", "unit",
	"ll", "l", "h", "hh", "range_lo", "range_hi", "deadband", "delay_s",
	"expected_interval_s", "hazard_source", "tag", "enabled", NULL};
static const char *const point_kinds[] = {"level", "temperature", "pressure",
	"flow", "gas_combustible", "gas_toxic", "oxygen", "methane", "smoke",
	"elevator", "other", NULL};
static const char *const threshold_names[] = {"ll", "l", "h", "hh"};

static const struct ingest_kind kind_enterprise;

/*
 * The district and sector of the enterprise uscc: from the registry, or
 * from an enterprise.upsert accepted earlier in the same request (the
 * latest one wins, as it will in the store).
 */
static int
point_enterprise(const struct ingest_ctx *ctx, const char *uscc, int *district,
    int *sector)
{
	const struct reg_enterprise *e;
	size_t i;

	if (ctx->job != NULL) {
		for (i = ctx->job->nevents; i-- > 0;) {
			const struct ingest_event *ev = &ctx->job->events[i];
			const struct upsert_form *f = ev->parsed;

			if (ev->kind == &kind_enterprise && f != NULL &&
			    strcmp(f->uscc, uscc) == 0) {
				*district = f->district;
				*sector = f->sector;
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

static int
point_validate(const struct ingest_ctx *ctx, const cJSON *data, void **parsed,
    char *why, size_t whysize)
{
	const char *code, *uscc, *kind, *unit, *hazard, *tag;
	double th[4], range_lo, range_hi, deadband;
	bool has_th[4], has_lo, has_hi, has_db, has_delay, has_int, enabled;
	int64_t delay_s, interval_s;
	struct upsert_form f;
	struct json_err jerr;
	char reason[96], what[128];
	int i, j, d, s, r;

	if (kinds_only_fields(data, "point.upsert", point_fields, why, whysize) != 0 ||
	    kinds_get_text(data, "code", true, 4 * INGEST_POINT_MAX, &code, why,
		whysize) != 0)
		return -1;
	if (readings_point_ok(code, reason, sizeof(reason)) != 0) {
		snprintf(why, whysize, "data: field 'code' %s", reason);
		return -1;
	}
	if (kinds_get_uscc(data, &uscc, why, whysize) != 0 ||
	    kinds_get_enum(data, "kind", true, point_kinds, &kind, why, whysize) !=
		0 ||
	    kinds_get_text(data, "unit", true, UNIT_MAX_BYTES, &unit, why,
		whysize) != 0)
		return -1;
	for (i = 0; i < 4; i++)
		if (kinds_get_num(data, threshold_names[i], -HUGE_VAL, HUGE_VAL,
			&th[i], &has_th[i], why, whysize) != 0)
			return -1;
	for (i = 0; i < 4; i++) {
		for (j = i + 1; j < 4; j++) {
			if (has_th[i] && has_th[j] && th[i] > th[j]) {
				snprintf(why, whysize,
				    "data: thresholds must be ordered ll <= l "
				    "<= h <= hh, got %s %g > %s %g",
				    threshold_names[i], th[i],
				    threshold_names[j], th[j]);
				return -1;
			}
		}
	}
	if (kinds_get_num(data, "range_lo", -HUGE_VAL, HUGE_VAL, &range_lo, &has_lo,
		why, whysize) != 0 ||
	    kinds_get_num(data, "range_hi", -HUGE_VAL, HUGE_VAL, &range_hi, &has_hi,
		why, whysize) != 0)
		return -1;
	if (has_lo && has_hi && !(range_lo < range_hi)) {
		snprintf(why, whysize,
		    "data: range_lo (%g) must be below range_hi (%g)", range_lo,
		    range_hi);
		return -1;
	}
	if (kinds_get_num(data, "deadband", 0, HUGE_VAL, &deadband, &has_db, why,
		whysize) != 0 ||
	    kinds_get_int(data, "delay_s", false, 0, INT32_MAX, &delay_s, &has_delay,
		why, whysize) != 0 ||
	    kinds_get_int(data, "expected_interval_s", false, 1, INT32_MAX,
		&interval_s, &has_int, why, whysize) != 0 ||
	    kinds_get_text(data, "hazard_source", false, 64, &hazard, why,
		whysize) != 0 ||
	    kinds_get_text(data, "tag", false, TAG_MAX_BYTES, &tag, why, whysize) != 0)
		return -1;
	enabled = true;
	r = json_get_bool(data, "enabled", &enabled, false, &jerr);
	if (r < 0)
		return kinds_why_json(&jerr, why, whysize);
	if (point_enterprise(ctx, uscc, &d, &s) != 0) {
		snprintf(why, whysize,
		    "enterprise %s is not registered: send its "
		    "enterprise.upsert first (earlier in the same request is "
		    "fine)",
		    uscc);
		return -1;
	}
	snprintf(what, sizeof(what), "point %s of enterprise %s", code, uscc);
	if (kinds_scope_check(ctx, what, d, s, why, whysize) != 0)
		return -1;

	memset(&f, 0, offsetof(struct upsert_form, text));
	kinds_form_str(&f, code);
	kinds_form_str(&f, uscc);
	kinds_form_str(&f, kind);
	kinds_form_str(&f, unit);
	for (i = 0; i < 4; i++)
		has_th[i] ? kinds_form_param(&f, "%.17g", th[i]) :
			    kinds_form_param(&f, NULL);
	has_lo ? kinds_form_param(&f, "%.17g", range_lo) : kinds_form_param(&f, NULL);
	has_hi ? kinds_form_param(&f, "%.17g", range_hi) : kinds_form_param(&f, NULL);
	has_db ? kinds_form_param(&f, "%.17g", deadband) : kinds_form_param(&f, NULL);
	has_delay ? kinds_form_param(&f, "%lld", (long long)delay_s) :
		    kinds_form_param(&f, NULL);
	has_int ? kinds_form_param(&f, "%lld", (long long)interval_s) :
		  kinds_form_param(&f, NULL);
	kinds_form_str(&f, hazard);
	kinds_form_str(&f, tag);
	kinds_form_str(&f, enabled ? "true" : "false");
	snprintf(f.uscc, sizeof(f.uscc), "%s", uscc);
	snprintf(f.code, sizeof(f.code), "%s", code);
	f.enabled = enabled;
	*parsed = kinds_form_finish(&f);
	if (*parsed == NULL) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	return 0;
}

static const char point_sql[] =
    "INSERT INTO points (code, uscc, kind, unit, ll, l, h, hh, range_lo, "
    "range_hi, deadband, delay_s, expected_interval_s, hazard_source, tag, "
    "enabled, source, event_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
    "$15, $16, $17, $18) "
    "ON CONFLICT (code) DO UPDATE SET uscc = EXCLUDED.uscc, "
    "kind = EXCLUDED.kind, unit = EXCLUDED.unit, ll = EXCLUDED.ll, "
    "l = EXCLUDED.l, h = EXCLUDED.h, hh = EXCLUDED.hh, "
    "range_lo = EXCLUDED.range_lo, range_hi = EXCLUDED.range_hi, "
    "deadband = EXCLUDED.deadband, delay_s = EXCLUDED.delay_s, "
    "expected_interval_s = EXCLUDED.expected_interval_s, "
    "hazard_source = EXCLUDED.hazard_source, tag = EXCLUDED.tag, "
    "enabled = EXCLUDED.enabled, source = EXCLUDED.source, "
    "event_id = EXCLUDED.event_id, updated_at = now() "
    "WHERE (points.uscc, points.kind, points.unit, points.ll, points.l, "
    "points.h, points.hh, points.range_lo, points.range_hi, "
    "points.deadband, points.delay_s, points.expected_interval_s, "
    "points.hazard_source, points.tag, points.enabled) IS DISTINCT FROM "
    "(EXCLUDED.uscc, EXCLUDED.kind, EXCLUDED.unit, EXCLUDED.ll, EXCLUDED.l, "
    "EXCLUDED.h, EXCLUDED.hh, EXCLUDED.range_lo, EXCLUDED.range_hi, "
    "EXCLUDED.deadband, EXCLUDED.delay_s, EXCLUDED.expected_interval_s, "
    "EXCLUDED.hazard_source, EXCLUDED.tag, EXCLUDED.enabled)";

static int
point_apply(struct store *st, const char *source, const struct ingest_event *ev,
    struct store_err *err)
{
	if (ev->duplicate || ev->parsed == NULL)
		return 0;
	return kinds_form_exec(st, point_sql, ev->parsed, source, ev, err);
}

/* The point takes its enterprise's district and sector, which is in the
 * registry by now: committed() runs in request order. */
static void
point_committed(struct registry *reg, const struct ingest_event *ev)
{
	const struct upsert_form *f = ev->parsed;
	const struct reg_enterprise *e;
	struct reg_point p;

	if (ev->duplicate || f == NULL)
		return;
	e = registry_enterprise(reg, f->uscc);
	if (e == NULL) {
		log_error("registry.point_orphan", "point=%s uscc=%s", f->code,
		    f->uscc);
		return;
	}
	memset(&p, 0, sizeof(p));
	memcpy(p.code, f->code, sizeof(p.code));
	memcpy(p.uscc, f->uscc, sizeof(p.uscc));
	p.district = e->district;
	p.sector = e->sector;
	p.enabled = f->enabled;
	if (registry_put_point(reg, &p) != 0)
		log_error("registry.put_failed", "point=%s", p.code);
}

/* --- the kinds only stored here ------------------------------------------ */

/*
 * Check the fields DOMAIN.md marks required, and, when data names a known
 * enterprise, that it lies in the source's scope.
 */
int
kinds_generic_validate(const struct ingest_ctx *ctx, const cJSON *data,
    const char *kind, const char *const *required, char *why, size_t whysize)
{
	const struct reg_enterprise *e;
	const cJSON *uscc;
	char what[64];
	size_t i;

	if (!cJSON_IsObject(data)) {
		snprintf(why, whysize, "field 'data' must be an object, got %s",
		    json_type_name(data));
		return -1;
	}
	for (i = 0; required[i] != NULL; i++) {
		const cJSON *it =
		    cJSON_GetObjectItemCaseSensitive(data, required[i]);

		if (it == NULL || cJSON_IsNull(it)) {
			snprintf(why, whysize,
			    "data: field '%s' is required for kind %s",
			    required[i], kind);
			return -1;
		}
	}
	uscc = cJSON_GetObjectItemCaseSensitive(data, "uscc");
	if (cJSON_IsString(uscc) &&
	    (e = registry_enterprise(ctx->reg, uscc->valuestring)) != NULL) {
		snprintf(what, sizeof(what), "enterprise %s", e->uscc);
		return kinds_scope_check(ctx, what, e->district, e->sector, why,
		    whysize);
	}
	return 0;
}

static const struct ingest_kind kind_enterprise = {"enterprise.upsert",
	enterprise_validate, enterprise_apply, enterprise_committed,
	kinds_form_free};

/* The kinds of this file, then the groups of records.c files. */
static const struct ingest_kind kinds[] = {
	{"point.upsert", point_validate, point_apply, point_committed,
	    kinds_form_free},
};

static const struct {
	const struct ingest_kind *kinds;
	const size_t *n;
} groups[] = {
	{kinds, NULL},
	{records_registry_kinds, &records_registry_nkinds},
	{records_hazard_kinds, &records_hazard_nkinds},
	{records_enforce_kinds, &records_enforce_nkinds},
	{records_duty_kinds, &records_duty_nkinds},
};

const struct ingest_kind *
kinds_find(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, kind_enterprise.name) == 0)
		return &kind_enterprise;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		size_t n = groups[g].n != NULL ? *groups[g].n
					       : sizeof(kinds) / sizeof(kinds[0]);

		for (size_t i = 0; i < n; i++)
			if (strcmp(name, groups[g].kinds[i].name) == 0)
				return &groups[g].kinds[i];
	}
	return NULL;
}

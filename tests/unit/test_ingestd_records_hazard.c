/*
 * test_ingestd_records_hazard - the validators of hidden hazards, dangerous
 * operations and maintenance windows (services/ingestd/records_hazard.c).
 *
 * No store: the state machines live in apply() and are walked against
 * PostgreSQL by tests/system/t_records_hazard.sh.  Here each kind goes
 * through events_from_json() as a request would, against a registry of two
 * districts, two sectors, one enterprise with two points and a second
 * enterprise with one, and we check what is accepted, what is refused and
 * with which reason, including malformed and hostile input.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingestd_fixture.h"

/* 2026-12-01T00:00:00+08:00 */
#define NOW_MS INT64_C(1796054400000)

struct fixture {
	struct registry *reg;
	struct ingest_ctx ctx;
	struct ingest_job *job;
	char plant[IDS_USCC_SIZE];    /* 370102 / hazchem, points LT-1, LT-2 */
	char other[IDS_USCC_SIZE];    /* 370112 / gas, point GT-1 */
	char fresh[IDS_USCC_SIZE];    /* valid, not registered */
	char bad[IDS_USCC_SIZE];      /* wrong check character */
	const struct reg_source *gas; /* may write sector gas only */
	char why[256];
	char body[16384];
};

static void
put_point(
    struct registry *reg, const char *code, const char *uscc, int d, int s)
{
	struct reg_point p;

	memset(&p, 0, sizeof(p));
	snprintf(p.code, sizeof(p.code), "%s", code);
	memcpy(p.uscc, uscc, sizeof(p.uscc));
	p.district = (uint16_t)d;
	p.sector = (uint16_t)s;
	p.enabled = true;
	assert_int_equal(registry_put_point(reg, &p), 0);
}

static int
setup(void **state)
{
	static const char *const sectors[] = {"gas", "hazchem"};
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->reg = fixture_city(sectors, 2, 21, f->plant, f->fresh, f->bad);
	assert_int_equal(ids_uscc_generate(23, "370112", f->other), 0);
	fixture_enterprise(f->reg, f->other, 1, 0);
	put_point(f->reg, "LT-1", f->plant, 0, 1);
	put_point(f->reg, "LT-2", f->plant, 0, 1);
	put_point(f->reg, "GT-1", f->other, 1, 0);
	f->gas = fixture_source(f->reg, "gas-system", 2, 0, 1);
	fixture_context(&f->ctx, f->reg, NOW_MS);
	fixture_new_job(&f->job);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ingest_job_free(f->job);
	registry_free(f->reg);
	free(f);
	return 0;
}

/*
 * Send one event of kind with data (a JSON object text) in a fresh job.
 * Returns 0 when it was accepted, 1 when refused (the reason in f->why).
 */
static int one(struct fixture *f, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
one(struct fixture *f, const char *kind, const char *fmt, ...)
{
	char data[12288];
	const char *reason;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(data, sizeof(data), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(data));
	reason = fixture_one(&f->ctx, &f->job, f->body, sizeof(f->body), f->why,
	    sizeof(f->why), kind, "x-1", "\"2026-11-30T10:00:00+08:00\"", data);
	if (reason == NULL)
		return 0;
	snprintf(f->why, sizeof(f->why), "%s", reason);
	return 1;
}

/* Refused, and the reason contains want. */
#define REFUSED(f, want, ...)                                                  \
	do {                                                                   \
		assert_int_equal(one(f, __VA_ARGS__), 1);                      \
		if (strstr((f)->why, (want)) == NULL)                          \
			fail_msg("reason '%s' lacks '%s'", (f)->why, (want));  \
	} while (0)

#define HAZARD_BASE                                                                \
	"\"hazard_id\":\"H-1\",\"uscc\":\"%s\",\"level\":\"%s\","                  \
	"\"source\":\"self_check\",\"description\":\"储罐区防火堤破损\","  \
	"\"found_at\":\"2026-11-30T09:00:00+08:00\","                              \
	"\"responsible_unit\":\"储运车间\",\"responsible_person\":\"王工\"," \
	"\"measures\":\"修补防火堤\""

/* Every required field, with id, uscc, source, description and found_at
 * as given (JSON values except uscc and source). */
#define HAZARD_ANY                                                             \
	"\"hazard_id\":%s,\"uscc\":\"%s\",\"level\":\"general\","              \
	"\"source\":\"%s\",\"description\":%s,\"found_at\":%s,"                \
	"\"responsible_unit\":\"u\",\"responsible_person\":\"p\","             \
	"\"measures\":\"m\""

static void
test_kinds_have_apply(void **state)
{
	static const char *const names[] = {"hazard.reported",
	    "hazard.rectified", "hazard.verified", "operation.filed",
	    "operation.started", "operation.finished", "maintenance.window"};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct ingest_kind *k = kinds_find(names[i]);

		assert_non_null(k);
		assert_non_null(k->validate);
		assert_non_null(k->apply);
		assert_non_null(k->free);
	}
}

static void
test_hazard_reported_good(void **state)
{
	struct fixture *f = *state;

	/* General without deadline: the store's default applies. */
	assert_int_equal(
	    one(f, "hazard.reported", "{" HAZARD_BASE "}", f->plant, "general"),
	    0);
	/* Major with its deadline, the optional fields, epoch ms times. */
	assert_int_equal(one(f, "hazard.reported",
	                     "{" HAZARD_BASE ",\"deadline\":1796659200000,"
	                     "\"criteria_item\":\"GB 50160 6.2.17\","
	                     "\"risk_point\":\"RP-7\"}",
	                     f->plant, "major"),
	    0);
}

static void
test_hazard_reported_bad(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "'deadline' is required for a major", "hazard.reported",
	    "{" HAZARD_BASE "}", f->plant, "major");
	REFUSED(f, "must be one of general, major", "hazard.reported",
	    "{" HAZARD_BASE "}", f->plant, "huge");
	REFUSED(f, "'deadline' must come after 'found_at'", "hazard.reported",
	    "{" HAZARD_BASE ",\"deadline\":\"2026-11-29T09:00:00+08:00\"}",
	    f->plant, "general");
	REFUSED(f, "not an RFC 3339 time", "hazard.reported",
	    "{" HAZARD_BASE ",\"deadline\":\"next week\"}", f->plant,
	    "general");
	REFUSED(f, "not registered", "hazard.reported", "{" HAZARD_BASE "}",
	    f->fresh, "general");
	REFUSED(f, "not a valid unified social credit code", "hazard.reported",
	    "{" HAZARD_BASE "}", f->bad, "general");
	REFUSED(f, "unknown field 'colour'", "hazard.reported",
	    "{" HAZARD_BASE ",\"colour\":\"red\"}", f->plant, "general");
	REFUSED(f, "'hazard_id' is required", "hazard.reported",
	    "{\"uscc\":\"%s\",\"level\":\"general\"}", f->plant);
	REFUSED(f, "'description' is required", "hazard.reported",
	    "{\"hazard_id\":\"H-1\",\"uscc\":\"%s\",\"level\":\"general\","
	    "\"source\":\"alarm\"}",
	    f->plant);
	REFUSED(f, "must be one of self_check, inspection, report, alarm",
	    "hazard.reported", "{" HAZARD_ANY "}", "\"H-1\"", f->plant,
	    "rumour", "\"d\"", "1796000000000");
	/* found tomorrow, or in 1970, is a sender's clock, not a hazard. */
	REFUSED(f, "lies in the future", "hazard.reported", "{" HAZARD_ANY "}",
	    "\"H-1\"", f->plant, "alarm", "\"d\"",
	    "\"2026-12-02T09:00:00+08:00\"");
	REFUSED(f, "between 2000 and 2100", "hazard.reported",
	    "{" HAZARD_ANY "}", "\"H-1\"", f->plant, "alarm", "\"d\"", "5");
	REFUSED(f, "integer epoch milliseconds", "hazard.reported",
	    "{" HAZARD_ANY "}", "\"H-1\"", f->plant, "alarm", "\"d\"", "1.5");
	REFUSED(f, "integer epoch milliseconds", "hazard.reported",
	    "{" HAZARD_ANY "}", "\"H-1\"", f->plant, "alarm", "\"d\"", "true");
	REFUSED(f, "must be a string", "hazard.reported", "{" HAZARD_ANY "}",
	    "7", f->plant, "alarm", "\"d\"", "1796000000000");
	REFUSED(f, "control characters", "hazard.reported", "{" HAZARD_ANY "}",
	    "\"H\\u0001\"", f->plant, "alarm", "\"d\"", "1796000000000");
	REFUSED(f, "1 to 4000 bytes", "hazard.reported", "{" HAZARD_ANY "}",
	    "\"H-1\"", f->plant, "alarm", "\"\"", "1796000000000");
	REFUSED(f, "'description' must be a string", "hazard.reported",
	    "{" HAZARD_ANY "}", "\"H-1\"", f->plant, "alarm", "[\"d\"]",
	    "1796000000000");
}

static void
test_hazard_reported_scope(void **state)
{
	struct fixture *f = *state;

	f->ctx.source = f->gas;
	REFUSED(f, "outside the scope of source gas-system", "hazard.reported",
	    "{" HAZARD_BASE "}", f->plant, "general");
	/* The gas enterprise is the gas system's own. */
	assert_int_equal(
	    one(f, "hazard.reported", "{" HAZARD_BASE "}", f->other, "general"),
	    0);
}

/* An enterprise upserted earlier in the same request is known. */
static void
test_hazard_same_request(void **state)
{
	struct fixture *f = *state;
	int n;

	n = snprintf(f->body, sizeof(f->body),
	    "{\"events\":[{\"kind\":\"enterprise.upsert\",\"id\":\"e-1\","
	    "\"at\":1796050000000,\"data\":{\"uscc\":\"%s\",\"name\":\"新厂\","
	    "\"district\":\"370112\",\"sector\":\"hazchem\",\"employees\":5,"
	    "\"status\":\"operating\",\"enforcement_level\":\"district\"}},"
	    "{\"kind\":\"hazard.reported\",\"id\":\"h-1\",\"at\":1796050000000,"
	    "\"data\":{" HAZARD_BASE "}}]}",
	    f->fresh, f->fresh, "general");
	assert_true(n > 0 && (size_t)n < sizeof(f->body));
	assert_int_equal(events_from_json(&f->ctx, f->body, (size_t)n, f->job,
	                     f->why, sizeof(f->why)),
	    0);
	assert_int_equal(f->job->nrejected, 0);
	assert_int_equal(f->job->nevents, 2);
}

static void
test_hazard_rectified(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(one(f, "hazard.rectified",
	                     "{\"hazard_id\":\"H-1\",\"note\":\"已修补\"}"),
	    0);
	assert_int_equal(one(f, "hazard.rectified",
	                     "{\"hazard_id\":\"H-1\",\"note\":\"done\","
	                     "\"evidence\":\"photo-1.jpg\"}"),
	    0);
	assert_int_equal(one(f, "hazard.rectified",
	                     "{\"hazard_id\":\"H-1\",\"note\":\"done\","
	                     "\"evidence\":[\"a.jpg\",\"b.pdf\"]}"),
	    0);
	REFUSED(f, "'note' is required", "hazard.rectified",
	    "{\"hazard_id\":\"H-1\"}");
	REFUSED(f, "'evidence' must hold up to", "hazard.rectified",
	    "{\"hazard_id\":\"H-1\",\"note\":\"n\",\"evidence\":[1]}");
	REFUSED(f, "'evidence' must hold up to", "hazard.rectified",
	    "{\"hazard_id\":\"H-1\",\"note\":\"n\",\"evidence\":[\"\"]}");
	REFUSED(f, "'evidence' must be a string or an array",
	    "hazard.rectified",
	    "{\"hazard_id\":\"H-1\",\"note\":\"n\",\"evidence\":{}}");
	REFUSED(f, "unknown field 'accepted'", "hazard.rectified",
	    "{\"hazard_id\":\"H-1\",\"note\":\"n\",\"accepted\":true}");
	REFUSED(f, "'hazard_id' must be 1 to 100 bytes", "hazard.rectified",
	    "{\"hazard_id\":\"%0101d\",\"note\":\"n\"}", 0);
}

static void
test_hazard_verified(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(one(f, "hazard.verified",
	                     "{\"hazard_id\":\"H-1\",\"accepted\":true,"
	                     "\"verifier\":\"李检查\"}"),
	    0);
	assert_int_equal(one(f, "hazard.verified",
	                     "{\"hazard_id\":\"H-1\",\"accepted\":false,"
	                     "\"verifier\":\"李检查\",\"note\":\"未完成\"}"),
	    0);
	REFUSED(f, "'accepted'", "hazard.verified",
	    "{\"hazard_id\":\"H-1\",\"verifier\":\"v\"}");
	REFUSED(f, "'accepted'", "hazard.verified",
	    "{\"hazard_id\":\"H-1\",\"accepted\":\"yes\",\"verifier\":\"v\"}");
	REFUSED(f, "'accepted'", "hazard.verified",
	    "{\"hazard_id\":\"H-1\",\"accepted\":1,\"verifier\":\"v\"}");
	REFUSED(f, "'verifier' is required", "hazard.verified",
	    "{\"hazard_id\":\"H-1\",\"accepted\":true}");
}

#define OP_BASE                                                                \
	"\"op_id\":\"OP-1\",\"uscc\":\"%s\",\"type\":\"%s\","                  \
	"\"location\":\"2号罐区\",\"contractor\":\"某安装公司\","      \
	"\"responsible\":{\"name\":\"张三\",\"phone\":\"+86 531-8888 0000\"}"

static void
test_operation_filed_good(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(one(f, "operation.filed",
	                     "{" OP_BASE ",\"level\":\"special\","
	                     "\"planned_start\":\"2026-12-01T08:00:00+08:00\","
	                     "\"planned_end\":\"2026-12-01T16:00:00+08:00\","
	                     "\"hazard_source\":\"HS-1\","
	                     "\"points\":[\"LT-1\",\"LT-2\"]}",
	                     f->plant, "hot_work"),
	    0);
	/* Other types may carry a level of their own, or none. */
	assert_int_equal(one(f, "operation.filed",
	                     "{" OP_BASE ",\"planned_start\":1796083200000,"
	                     "\"planned_end\":1796256000000}",
	                     f->plant, "confined_space"),
	    0);
	assert_int_equal(one(f, "operation.filed",
	                     "{" OP_BASE ",\"level\":\"II\","
	                     "\"planned_start\":1796083200000,"
	                     "\"planned_end\":1796256000000}",
	                     f->plant, "height"),
	    0);
}

static void
test_operation_filed_bad(void **state)
{
	struct fixture *f = *state;
	const char *times = ",\"planned_start\":\"2026-12-01T08:00:00+08:00\","
	                    "\"planned_end\":\"2026-12-01T10:00:00+08:00\"";

	REFUSED(f, "'level' is required", "operation.filed", "{" OP_BASE "%s}",
	    f->plant, "hot_work", times);
	REFUSED(f, "must be one of special, first, second", "operation.filed",
	    "{" OP_BASE ",\"level\":\"third\"%s}", f->plant, "hot_work", times);
	REFUSED(f, "must be one of hot_work, confined_space", "operation.filed",
	    "{" OP_BASE "%s}", f->plant, "juggling", times);
	REFUSED(f, "'planned_start' must come before 'planned_end'",
	    "operation.filed",
	    "{" OP_BASE ",\"planned_start\":1796083200000,"
	    "\"planned_end\":1796083200000}",
	    f->plant, "lifting");
	REFUSED(f, "'planned_end' is required", "operation.filed",
	    "{" OP_BASE ",\"planned_start\":1796083200000}", f->plant,
	    "lifting");
	REFUSED(f, "point 'XX-9' is not registered", "operation.filed",
	    "{" OP_BASE ",\"points\":[\"LT-1\",\"XX-9\"]%s}", f->plant,
	    "lifting", times);
	REFUSED(f, "belongs to enterprise", "operation.filed",
	    "{" OP_BASE ",\"points\":[\"GT-1\"]%s}", f->plant, "lifting",
	    times);
	REFUSED(f, "appears twice in 'points'", "operation.filed",
	    "{" OP_BASE ",\"points\":[\"LT-1\",\"LT-1\"]%s}", f->plant,
	    "lifting", times);
	REFUSED(f, "must hold point codes", "operation.filed",
	    "{" OP_BASE ",\"points\":[null]%s}", f->plant, "lifting", times);
	REFUSED(f, "'points'", "operation.filed",
	    "{" OP_BASE ",\"points\":\"LT-1\"%s}", f->plant, "lifting", times);
	REFUSED(f, "not a phone number", "operation.filed",
	    "{\"op_id\":\"OP-1\",\"uscc\":\"%s\",\"type\":\"lifting\","
	    "\"location\":\"l\",\"contractor\":\"c\",\"responsible\":"
	    "{\"name\":\"n\",\"phone\":\"call me\"}%s}",
	    f->plant, times);
	REFUSED(f, "(in 'responsible')", "operation.filed",
	    "{\"op_id\":\"OP-1\",\"uscc\":\"%s\",\"type\":\"lifting\","
	    "\"location\":\"l\",\"contractor\":\"c\",\"responsible\":"
	    "{\"name\":\"n\"}%s}",
	    f->plant, times);
	REFUSED(f, "unknown field 'email'", "operation.filed",
	    "{\"op_id\":\"OP-1\",\"uscc\":\"%s\",\"type\":\"lifting\","
	    "\"location\":\"l\",\"contractor\":\"c\",\"responsible\":"
	    "{\"name\":\"n\",\"phone\":\"110\",\"email\":\"x\"}%s}",
	    f->plant, times);
	REFUSED(f, "'responsible'", "operation.filed",
	    "{\"op_id\":\"OP-1\",\"uscc\":\"%s\",\"type\":\"lifting\","
	    "\"location\":\"l\",\"contractor\":\"c\",\"responsible\":\"me\"%s}",
	    f->plant, times);
	f->ctx.source = f->gas;
	REFUSED(f, "outside the scope", "operation.filed", "{" OP_BASE "%s}",
	    f->plant, "lifting", times);
}

static void
test_operation_started_finished(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
	    one(f, "operation.started", "{\"op_id\":\"OP-1\"}"), 0);
	assert_int_equal(one(f, "operation.started",
	                     "{\"op_id\":\"OP-1\",\"uscc\":\"%s\"}", f->plant),
	    0);
	assert_int_equal(
	    one(f, "operation.finished", "{\"op_id\":\"OP-1\"}"), 0);
	REFUSED(f, "not registered", "operation.started",
	    "{\"op_id\":\"OP-1\",\"uscc\":\"%s\"}", f->fresh);
	REFUSED(f, "not a valid unified", "operation.started",
	    "{\"op_id\":\"OP-1\",\"uscc\":\"%s\"}", f->bad);
	REFUSED(f, "unknown field 'uscc'", "operation.finished",
	    "{\"op_id\":\"OP-1\",\"uscc\":\"%s\"}", f->plant);
	REFUSED(f, "'op_id' is required", "operation.finished", "{}");
	REFUSED(f, "'op_id' must be 1 to 100", "operation.started",
	    "{\"op_id\":\"\"}");
	REFUSED(f, "must be an object", "operation.started", "[1]");
}

static void
test_maintenance(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(one(f, "maintenance.window",
	                     "{\"uscc\":\"%s\",\"points\":[\"LT-1\"],"
	                     "\"hazard_source\":\"HS-1\","
	                     "\"start\":\"2026-12-02T08:00:00+08:00\","
	                     "\"end\":\"2026-12-05T08:00:00+08:00\","
	                     "\"reason\":\"overhaul\"}",
	                     f->plant),
	    0);
	assert_int_equal(one(f, "maintenance.window",
	                     "{\"uscc\":\"%s\",\"start\":1796083200000,"
	                     "\"end\":1796256000000,\"reason\":\"trial\"}",
	                     f->other),
	    0);
	REFUSED(f, "'start' must come before 'end'", "maintenance.window",
	    "{\"uscc\":\"%s\",\"start\":1796256000000,"
	    "\"end\":1796083200000,\"reason\":\"trial\"}",
	    f->plant);
	REFUSED(f, "must be one of overhaul, startup, shutdown, trial",
	    "maintenance.window",
	    "{\"uscc\":\"%s\",\"start\":1796083200000,"
	    "\"end\":1796256000000,\"reason\":\"holiday\"}",
	    f->plant);
	REFUSED(f, "belongs to enterprise", "maintenance.window",
	    "{\"uscc\":\"%s\",\"points\":[\"LT-1\"],\"start\":1796083200000,"
	    "\"end\":1796256000000,\"reason\":\"trial\"}",
	    f->other);
	REFUSED(f, "'end' is required", "maintenance.window",
	    "{\"uscc\":\"%s\",\"start\":1796083200000,\"reason\":\"trial\"}",
	    f->plant);
	REFUSED(f, "'uscc' is required", "maintenance.window",
	    "{\"start\":1796083200000,\"end\":1796256000000,"
	    "\"reason\":\"trial\"}");
}

/*
 * Send kind with data's field replaced by value: 1 refused, 0 accepted
 * where that is fine (null for an optional field, an empty optional
 * list), -1 when value is the field's good value and nothing was tried.
 */
static int
try_replaced(struct fixture *f, const char *kind, const cJSON *data,
    const cJSON *field, const char *value)
{
	cJSON *bad = cJSON_Parse(value), *copy;
	bool empty_list_ok;
	char *text;
	int r;

	assert_non_null(bad);
	if (cJSON_Compare(bad, field, 1)) {
		cJSON_Delete(bad);
		return -1;
	}
	copy = cJSON_Duplicate(data, 1);
	assert_non_null(copy);
	assert_true(
	    cJSON_ReplaceItemInObjectCaseSensitive(copy, field->string, bad));
	text = cJSON_PrintUnformatted(copy);
	assert_non_null(text);
	r = one(f, kind, "%s", text);
	free(text);
	cJSON_Delete(copy);
	empty_list_ok = strcmp(value, "[]") == 0 &&
	                (strcmp(field->string, "points") == 0 ||
	                    strcmp(field->string, "evidence") == 0);
	if (r == 0 && !empty_list_ok && strcmp(value, "null") != 0)
		fail_msg("%s accepted %s = %s", kind, field->string, value);
	return r;
}

/*
 * A valid event of each kind with one field at a time replaced by a value
 * of a wrong type or shape: refused, never a crash (the SAN=1 build checks
 * memory).  Only the optional lists may take an empty array.
 */
static void
test_hostile_types(void **state)
{
	static const char *const values[] = {"{}", "[]", "true", "-1e308",
	    "\"\"", "[[[]]]", "{\"a\":{}}", "null", "\"\\u0000x\""};
	struct fixture *f = *state;
	char good[7][1024];
	static const char *const kinds[] = {"hazard.reported",
	    "hazard.rectified", "hazard.verified", "operation.filed",
	    "operation.started", "operation.finished", "maintenance.window"};
	size_t refused = 0, tried = 0;

	snprintf(good[0], sizeof(good[0]),
	    "{" HAZARD_BASE ",\"deadline\":1796659200000,"
	    "\"criteria_item\":\"c\",\"risk_point\":\"RP-7\"}",
	    f->plant, "major");
	snprintf(good[1], sizeof(good[1]),
	    "{\"hazard_id\":\"H-1\",\"note\":\"n\",\"evidence\":[\"a\"]}");
	snprintf(good[2], sizeof(good[2]),
	    "{\"hazard_id\":\"H-1\",\"accepted\":true,\"verifier\":\"v\","
	    "\"note\":\"n\"}");
	snprintf(good[3], sizeof(good[3]),
	    "{" OP_BASE ",\"level\":\"first\",\"hazard_source\":\"HS\","
	    "\"points\":[\"LT-1\"],\"planned_start\":1796083200000,"
	    "\"planned_end\":1796090400000}",
	    f->plant, "hot_work");
	snprintf(good[4], sizeof(good[4]),
	    "{\"op_id\":\"OP-1\",\"uscc\":\"%s\"}", f->plant);
	snprintf(good[5], sizeof(good[5]), "{\"op_id\":\"OP-1\"}");
	snprintf(good[6], sizeof(good[6]),
	    "{\"uscc\":\"%s\",\"points\":[\"LT-1\"],\"hazard_source\":\"HS\","
	    "\"start\":1796083200000,\"end\":1796256000000,"
	    "\"reason\":\"overhaul\"}",
	    f->plant);
	for (size_t k = 0; k < 7; k++) {
		cJSON *data = cJSON_Parse(good[k]);
		const cJSON *field;

		assert_non_null(data);
		assert_int_equal(one(f, kinds[k], "%s", good[k]), 0);
		cJSON_ArrayForEach(field, data)
		{
			for (size_t v = 0;
			     v < sizeof(values) / sizeof(values[0]); v++) {
				int r = try_replaced(
				    f, kinds[k], data, field, values[v]);

				refused += r == 1;
				tried += r >= 0;
			}
		}
		cJSON_Delete(data);
	}
	assert_true(tried > 300);
	assert_true(refused > tried * 8 / 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kinds_have_apply),
	    cmocka_unit_test_setup_teardown(
	        test_hazard_reported_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_hazard_reported_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_hazard_reported_scope, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_hazard_same_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_hazard_rectified, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_hazard_verified, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_operation_filed_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_operation_filed_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_operation_started_finished, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_maintenance, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_hostile_types, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_ingestd_kinds - the table of event kinds and POST /v1/events
 * decoding (kinds.c).
 *
 * No store: apply() is the writer's and runs against PostgreSQL in the
 * system tests; here we check what validation accepts and refuses, the
 * parsed forms it leaves for apply, and that committed() updates the
 * registry.  The city is two districts and two sectors; USCCs come from
 * ids_uscc_generate(), so they are valid, and a bad one is made by changing
 * only the check character.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingestd_fixture.h"

#define NOW_MS INT64_C(1795996800000)

struct fixture {
	struct registry *reg;
	struct ingest_ctx ctx;
	struct ingest_job *job;
	char known[IDS_USCC_SIZE];   /* registered: 370102 / hazchem */
	char fresh[IDS_USCC_SIZE];   /* not registered */
	char bad[IDS_USCC_SIZE];     /* fresh with a wrong check character */
	const struct reg_source *gas; /* may write sector gas only */
	char why[256];
	char body[8192];
};

static int
setup(void **state)
{
	static const char *const sectors[] = {"gas", "hazchem"};
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->reg = fixture_city(sectors, 2, 11, f->known, f->fresh, f->bad);
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

static int
events(struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
events(struct fixture *f, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = fixture_vsend(&f->ctx, f->job, f->body, sizeof(f->body), f->why,
	    sizeof(f->why), fmt, ap);
	va_end(ap);
	return rc;
}

static const char *
reason_of(const struct fixture *f, uint32_t index)
{
	size_t i;

	for (i = 0; i < f->job->nrejected; i++)
		if (f->job->rejected[i].index == index)
			return f->job->rejected[i].reason;
	fail_msg("item %u was not refused", index);
	return NULL;
}

/* An enterprise.upsert item for uscc in district d, with extra fields. */
#define ENT(id, uscc, d, extra)                                                \
	"{\"kind\":\"enterprise.upsert\",\"id\":\"" id "\","                   \
	"\"at\":\"2026-11-30T07:00:00+08:00\",\"data\":{\"uscc\":\"" uscc     \
	"\",\"name\":\"Jinan Chemical Co.\",\"district\":\"" d "\","          \
	"\"sector\":\"hazchem\",\"employees\":120,\"status\":\"operating\","  \
	"\"enforcement_level\":\"city\"" extra "}}"

#define POINT(id, code, uscc, extra)                                           \
	"{\"kind\":\"point.upsert\",\"id\":\"" id "\",\"at\":1795996000000,"   \
	"\"data\":{\"code\":\"" code "\",\"uscc\":\"" uscc "\","              \
	"\"kind\":\"level\",\"unit\":\"m\"" extra "}}"

static void
test_table(void **state)
{
	static const char *const names[] = {"enterprise.upsert",
		"point.upsert", "hazard_source.upsert", "risk_point.upsert",
		"responsibility.upsert", "duty.roster", "inspector.upsert",
		"agency.upsert", "equipment.upsert", "hazard.reported",
		"hazard.rectified", "hazard.verified", "operation.filed",
		"operation.started", "operation.finished",
		"maintenance.window", "accident.reported", "accident.updated",
		"inspection.completed", "case.filed", "case.closed",
		"resplist.uploaded", "director.appointed", "training.record",
		"equipment.inspected", "selfcheck.completed"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct ingest_kind *k = kinds_find(names[i]);

		assert_non_null(k);
		assert_string_equal(k->name, names[i]);
		assert_non_null(k->validate);
	}
	assert_int_equal(sizeof(names) / sizeof(names[0]), 26);
	assert_non_null(kinds_find("enterprise.upsert")->apply);
	assert_non_null(kinds_find("point.upsert")->committed);
	/* The records with a life are applied to their own tables. */
	assert_non_null(kinds_find("hazard.reported")->apply);
	assert_null(kinds_find("enterprise.delete"));
	assert_null(kinds_find(""));
	assert_null(kinds_find(NULL));
}

static void
test_enterprise_good(void **state)
{
	struct fixture *f = *state;
	const struct reg_enterprise *e;

	assert_int_equal(events(f,
	    "{\"events\":[" ENT("e-1", "%s", "370112",
		",\"address\":\"1 Gongye Rd\",\"lon\":117.1,\"lat\":36.6,"
		"\"credit\":\"good\",\"standardization_level\":2") "]}",
	    f->fresh), 0);
	assert_int_equal(f->job->nrejected, 0);
	assert_int_equal(f->job->nevents, 1);
	assert_int_equal(f->job->nitems, 1);
	assert_ptr_equal(f->job->events[0].kind, kinds_find("enterprise.upsert"));
	assert_string_equal(f->job->events[0].id, "e-1");
	assert_true(f->job->events[0].at_ms == NOW_MS - 3600000);
	assert_non_null(f->job->events[0].parsed);
	assert_non_null(strstr(f->job->events[0].data_json,
	    "\"district\":\"370112\",\"sector\":\"hazchem\""));
	assert_null(strchr(f->job->events[0].data_json, '\n'));

	/* After commit the registry knows it. */
	assert_null(registry_enterprise(f->reg, f->fresh));
	f->job->events[0].kind->committed(f->reg, &f->job->events[0]);
	e = registry_enterprise(f->reg, f->fresh);
	assert_non_null(e);
	assert_int_equal(e->district, 1);
	assert_int_equal(e->sector, 1);
}

static void
test_enterprise_bad(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(events(f,
	    "{\"events\":["
	    ENT("e-1", "%s", "370112", "") ","
	    ENT("e-2", "%s", "999999", "") ","
	    ENT("e-3", "%s", "370112", ",\"status\":\"bankrupt\"") ","
	    ENT("e-4", "%s", "370112", ",\"lat\":91") ","
	    ENT("e-5", "%s", "370112", ",\"phone\":\"1\"") ","
	    ENT("e-6", "%s", "370112", ",\"standardization_level\":4") ","
	    "{\"kind\":\"enterprise.upsert\",\"id\":\"e-7\",\"at\":1,"
	    "\"data\":{\"uscc\":\"%s\",\"name\":\"X\",\"district\":\"370112\","
	    "\"sector\":\"hazchem\",\"employees\":-1,\"status\":\"closed\","
	    "\"enforcement_level\":\"district\"}},"
	    "{\"kind\":\"enterprise.upsert\",\"id\":\"e-8\",\"at\":1,"
	    "\"data\":{\"uscc\":\"%s\",\"name\":\"X\",\"district\":\"370112\","
	    "\"sector\":\"bakery\",\"employees\":1,\"status\":\"closed\","
	    "\"enforcement_level\":\"district\"}}"
	    "]}",
	    f->bad, f->fresh, f->fresh, f->fresh, f->fresh, f->fresh, f->fresh,
	    f->fresh), 0);
	assert_int_equal(f->job->nevents, 0);
	assert_int_equal(f->job->nrejected, 8);
	assert_non_null(strstr(reason_of(f, 0), "check character should be"));
	assert_non_null(strstr(reason_of(f, 0), "not a valid unified social"));
	assert_string_equal(reason_of(f, 1),
	    "data: field 'district' '999999' is not a district code of the "
	    "city");
	assert_string_equal(
	    reason_of(f, 2), "data: field 'status' appears twice");
	assert_non_null(strstr(reason_of(f, 3), "field 'lat' must be between"));
	assert_string_equal(reason_of(f, 4),
	    "data: unknown field 'phone' for kind enterprise.upsert");
	assert_non_null(strstr(reason_of(f, 5), "from 1 to 3, got 4"));
	assert_non_null(strstr(reason_of(f, 6), "'employees'"));
	assert_string_equal(reason_of(f, 7),
	    "data: field 'sector' 'bakery' is not a sector code of the city");
}

static void
test_enterprise_scope(void **state)
{
	struct fixture *f = *state;
	char want[200];

	f->ctx.source = f->gas;
	assert_int_equal(events(f, "{\"events\":[" ENT("e-1", "%s", "370112", "")
	    "]}", f->fresh), 0);
	snprintf(want, sizeof(want),
	    "enterprise %s belongs to district 370112 / sector hazchem outside "
	    "the scope of source gas-system",
	    f->fresh);
	assert_string_equal(reason_of(f, 0), want);
}

static void
test_point_good(void **state)
{
	struct fixture *f = *state;
	const struct reg_point *p;

	assert_int_equal(events(f,
	    "{\"events\":[" POINT("p-1", "LT-101", "%s",
		",\"ll\":0.5,\"l\":1,\"hh\":9,\"range_lo\":0,\"range_hi\":10,"
		"\"deadband\":0.1,\"delay_s\":5,\"expected_interval_s\":60,"
		"\"tag\":\"tank 3\",\"enabled\":false") ","
	    POINT("p-2", "LT-102", "%s", "") "]}",
	    f->known, f->known), 0);
	assert_int_equal(f->job->nrejected, 0);
	assert_int_equal(f->job->nevents, 2);
	f->job->events[0].kind->committed(f->reg, &f->job->events[0]);
	f->job->events[1].kind->committed(f->reg, &f->job->events[1]);
	p = registry_point(f->reg, "LT-101");
	assert_non_null(p);
	assert_false(p->enabled);
	assert_string_equal(p->uscc, f->known);
	assert_string_equal(registry_topic(f->reg, p->topic),
	    "rd.370102.hazchem");
	/* enabled defaults to true. */
	assert_true(registry_point(f->reg, "LT-102")->enabled);
	/* A duplicate (already stored) changes nothing after commit. */
	f->job->events[0].duplicate = true;
	f->job->events[0].kind->committed(f->reg, &f->job->events[0]);
	assert_false(registry_point(f->reg, "LT-101")->enabled);
}

static void
test_point_bad(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(events(f,
	    "{\"events\":["
	    POINT("p-1", "LT-1", "%s", ",\"l\":5,\"h\":3") ","
	    POINT("p-2", "LT-2", "%s", ",\"ll\":5,\"hh\":3") ","
	    POINT("p-3", "LT-3", "%s", ",\"range_lo\":5,\"range_hi\":5") ","
	    POINT("p-4", "LT-4", "%s", ",\"deadband\":-1") ","
	    POINT("p-5", "LT-5", "%s", ",\"expected_interval_s\":0") ","
	    POINT("p-6", "LT 6", "%s", "") ","
	    POINT("p-7", "LT-7", "%s", "") ","
	    POINT("p-8", "LT-8", "%s", ",\"enabled\":1") ","
	    "{\"kind\":\"point.upsert\",\"id\":\"p-9\",\"at\":1,\"data\":{"
	    "\"code\":\"LT-9\",\"uscc\":\"%s\",\"kind\":\"radar\","
	    "\"unit\":\"m\"}}"
	    "]}",
	    f->known, f->known, f->known, f->known, f->known, f->known,
	    f->fresh, f->known, f->known), 0);
	assert_int_equal(f->job->nevents, 0);
	assert_string_equal(reason_of(f, 0),
	    "data: thresholds must be ordered ll <= l <= h <= hh, got l 5 > h "
	    "3");
	assert_non_null(strstr(reason_of(f, 1), "got ll 5 > hh 3"));
	assert_string_equal(reason_of(f, 2),
	    "data: range_lo (5) must be below range_hi (5)");
	assert_non_null(strstr(reason_of(f, 3), "'deadband'"));
	assert_non_null(strstr(reason_of(f, 4), "'expected_interval_s'"));
	assert_non_null(strstr(reason_of(f, 5),
	    "data: field 'code' must not contain spaces"));
	assert_non_null(strstr(reason_of(f, 6), "is not registered"));
	assert_non_null(strstr(reason_of(f, 7), "'enabled' must be"));
	assert_non_null(strstr(reason_of(f, 8), "must be one of level,"));
}

static void
test_point_after_enterprise_same_request(void **state)
{
	struct fixture *f = *state;
	const struct reg_point *p;

	assert_int_equal(events(f,
	    "{\"events\":["
	    POINT("p-0", "FT-0", "%s", "") ","
	    ENT("e-1", "%s", "370112", "") ","
	    POINT("p-1", "FT-1", "%s", "") "]}",
	    f->fresh, f->fresh, f->fresh), 0);
	/* Before its enterprise: refused; after it: taken. */
	assert_int_equal(f->job->nrejected, 1);
	assert_non_null(strstr(reason_of(f, 0), "is not registered"));
	assert_int_equal(f->job->nevents, 2);
	assert_int_equal(f->job->events[1].index, 2);
	/* committed() runs in request order: the enterprise first. */
	f->job->events[0].kind->committed(f->reg, &f->job->events[0]);
	f->job->events[1].kind->committed(f->reg, &f->job->events[1]);
	p = registry_point(f->reg, "FT-1");
	assert_non_null(p);
	assert_string_equal(registry_topic(f->reg, p->topic),
	    "rd.370112.hazchem");
}

static void
test_generic_kinds(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(events(f,
	    "{\"events\":["
	    "{\"kind\":\"hazard.rectified\",\"id\":\"h-1\",\"at\":1,"
	    "\"data\":{\"hazard_id\":\"H1\",\"note\":\"fixed\"}},"
	    "{\"kind\":\"hazard.rectified\",\"id\":\"h-2\",\"at\":1,"
	    "\"data\":{\"hazard_id\":\"H1\"}},"
	    "{\"kind\":\"operation.started\",\"id\":\"o-1\",\"at\":1,"
	    "\"data\":{\"op_id\":null}},"
	    "{\"kind\":\"director.appointed\",\"id\":\"d-1\",\"at\":1,"
	    "\"data\":{\"uscc\":\"%s\",\"name\":\"Li\",\"certified\":true}},"
	    "{\"kind\":\"hazard.deleted\",\"id\":\"x-1\",\"at\":1,"
	    "\"data\":{}},"
	    "{\"kind\":\"case.filed\",\"id\":\"c-1\",\"at\":1,\"data\":[]}"
	    "]}",
	    f->known), 0);
	assert_int_equal(f->job->nevents, 2);
	assert_non_null(f->job->events[0].parsed);
	assert_string_equal(f->job->events[0].data_json,
	    "{\"hazard_id\":\"H1\",\"note\":\"fixed\"}");
	assert_string_equal(reason_of(f, 1),
	    "data: field 'note' is required for kind hazard.rectified");
	assert_string_equal(reason_of(f, 2),
	    "data: field 'op_id' is required for kind operation.started");
	assert_string_equal(reason_of(f, 4), "unknown kind 'hazard.deleted'");
	assert_string_equal(
	    reason_of(f, 5), "field 'data' must be an object, got array");
}

static void
test_generic_scope(void **state)
{
	struct fixture *f = *state;

	f->ctx.source = f->gas;
	assert_int_equal(events(f,
	    "{\"events\":[{\"kind\":\"director.appointed\",\"id\":\"d-1\","
	    "\"at\":1,\"data\":{\"uscc\":\"%s\",\"name\":\"Li\","
	    "\"certified\":true}}]}",
	    f->known), 0);
	assert_int_equal(f->job->nevents, 0);
	assert_non_null(strstr(reason_of(f, 0), "outside the scope of source "
						"gas-system"));
}

static void
test_envelope(void **state)
{
	struct fixture *f = *state;
	char longid[260];

	memset(longid, 'x', 201);
	longid[201] = '\0';
	assert_int_equal(events(f,
	    "{\"events\":["
	    "{\"kind\":\"operation.started\",\"id\":\"o-1\",\"at\":1,"
	    "\"data\":{\"op_id\":\"A\"}},"
	    "{\"kind\":\"operation.started\",\"id\":\"o-1\",\"at\":1,"
	    "\"data\":{\"op_id\":\"B\"}},"
	    "{\"kind\":\"operation.started\",\"id\":\"%s\",\"at\":1,"
	    "\"data\":{\"op_id\":\"C\"}},"
	    "{\"kind\":\"operation.started\",\"id\":\"o-4\","
	    "\"at\":\"2026-11-30T08:06:00+08:00\",\"data\":{\"op_id\":\"D\"}},"
	    "{\"kind\":\"operation.started\",\"id\":\"o-5\",\"at\":\"soon\","
	    "\"data\":{\"op_id\":\"E\"}},"
	    "{\"kind\":\"operation.started\",\"id\":\"o-6\",\"at\":1,"
	    "\"data\":{\"op_id\":\"F\"},\"extra\":1},"
	    "{\"id\":\"o-7\",\"at\":1,\"data\":{}},"
	    "{\"kind\":\"operation.started\",\"id\":7,\"at\":1,\"data\":{}},"
	    "{\"kind\":\"operation.started\",\"id\":\"o-9\",\"data\":{}},"
	    "\"event\","
	    "{\"kind\":\"operation.started\",\"id\":\"o-11\",\"at\":1.5,"
	    "\"data\":{\"op_id\":\"G\"}},"
	    "{\"kind\":\"operation.started\",\"id\":\"o-\\u0001\",\"at\":1,"
	    "\"data\":{\"op_id\":\"H\"}}"
	    "]}",
	    longid), 0);
	assert_int_equal(f->job->nitems, 12);
	assert_int_equal(f->job->nevents, 1);
	assert_string_equal(
	    reason_of(f, 1), "duplicate of item 0 in this request");
	assert_string_equal(
	    reason_of(f, 2), "field 'id' must be 1 to 200 bytes long");
	assert_string_equal(reason_of(f, 3),
	    "field 'at' is 360 s in the future, at most 300 s ahead is "
	    "accepted (check the sender's clock)");
	assert_non_null(strstr(reason_of(f, 4), "not an RFC 3339 time"));
	assert_non_null(strstr(reason_of(f, 5), "unknown field 'extra'"));
	assert_string_equal(reason_of(f, 6), "field 'kind' is required");
	assert_string_equal(
	    reason_of(f, 7), "field 'id' must be a string, got number");
	assert_string_equal(reason_of(f, 8), "field 'at' is required");
	assert_string_equal(
	    reason_of(f, 9), "an event must be a JSON object, got string");
	assert_non_null(strstr(reason_of(f, 10), "got a fraction"));
	assert_non_null(strstr(reason_of(f, 11), "control characters"));
}

static void
test_whole_body(void **state)
{
	struct fixture *f = *state;
	size_t len = 0;
	int i;

	assert_int_equal(events(f, "%s", "{\"events\":"), -1);
	assert_non_null(strstr(f->why, "not valid JSON"));
	assert_int_equal(events(f, "%s", "{\"readings\":[]}"), -1);
	assert_non_null(strstr(f->why, "unknown top-level field 'readings'"));
	assert_int_equal(events(f, "%s", "{\"events\":7}"), -1);
	assert_string_equal(f->why, "the body needs an 'events' array, got number");
	assert_int_equal(events(f, "%s", "\"x\""), -1);
	len += (size_t)snprintf(f->body, sizeof(f->body), "{\"events\":[");
	for (i = 0; i < 51; i++)
		len += (size_t)snprintf(f->body + len, sizeof(f->body) - len,
		    "%s{}", i ? "," : "");
	snprintf(f->body + len, sizeof(f->body) - len, "]}");
	assert_int_equal(events_from_json(&f->ctx, f->body, strlen(f->body),
	    f->job, f->why, sizeof(f->why)), -1);
	assert_string_equal(f->why,
	    "51 events in one request, the limit is 50: split the batch");
	assert_int_equal(events(f, "%s", "{\"events\":[]}"), 0);
	assert_int_equal(f->job->nitems, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test_setup_teardown(
		    test_enterprise_good, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_enterprise_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_enterprise_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_point_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_point_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_point_after_enterprise_same_request, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_generic_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_generic_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envelope, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_whole_body, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

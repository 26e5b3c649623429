/*
 * test_ingestd_readings - decoding and validation of readings (readings.c).
 *
 * A small city is built in memory with registry_set_reference() and
 * registry_put_*(): two districts, two sectors, three points, a source
 * limited to one sector.  Each test feeds a body or a decoded reading and
 * checks where every item ended: stored, quarantined, or refused with its
 * index and reason.  The clock is fixed, so time limits are exact.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ids.h"
#include "../../services/ingestd/ingestd.h"

/* 2026-11-30T00:00:00Z */
#define NOW_MS INT64_C(1795996800000)
#define DAY_MS INT64_C(86400000)

struct fixture {
	struct registry *reg;
	struct ingest_ctx ctx;
	struct ingest_job *job;
	const struct reg_source *chem; /* hazchem sector only */
	char why[256];
};

static const uint8_t chem_hash[32] = {1};
static const uint8_t all_hash[32] = {2};

static int
setup(void **state)
{
	static const char *const districts[] = {"370102", "370112"};
	static const char *const sectors[] = {"gas", "hazchem"};
	struct fixture *f = calloc(1, sizeof(*f));
	struct reg_enterprise e = {0};
	struct reg_point p = {0};
	struct reg_source s = {0};

	assert_non_null(f);
	f->reg = registry_new();
	assert_non_null(f->reg);
	assert_int_equal(
	    registry_set_reference(f->reg, districts, 2, sectors, 2), 0);
	assert_int_equal(ids_uscc_generate(1, "370102", e.uscc), 0);
	e.district = 0;
	e.sector = 1;
	assert_int_equal(registry_put_enterprise(f->reg, &e), 0);
	snprintf(p.uscc, sizeof(p.uscc), "%s", e.uscc);
	p.district = 0;
	p.sector = 1;
	p.enabled = true;
	snprintf(p.code, sizeof(p.code), "T-101");
	assert_int_equal(registry_put_point(f->reg, &p), 0);
	snprintf(p.code, sizeof(p.code), "T-102");
	assert_int_equal(registry_put_point(f->reg, &p), 0);
	p.district = 1;
	p.sector = 0;
	snprintf(p.code, sizeof(p.code), "GAS-7");
	assert_int_equal(registry_put_point(f->reg, &p), 0);

	snprintf(s.name, sizeof(s.name), "chem-system");
	s.all_districts = true;
	s.sector_mask = UINT64_C(1) << 1;
	assert_int_equal(registry_put_source(f->reg, &s, chem_hash), 0);
	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "city");
	s.all_districts = s.all_sectors = true;
	assert_int_equal(registry_put_source(f->reg, &s, all_hash), 0);
	f->chem = registry_token(f->reg, chem_hash);
	assert_non_null(f->chem);

	f->ctx.reg = f->reg;
	f->ctx.source = registry_token(f->reg, all_hash);
	f->ctx.now_ms = NOW_MS;
	f->ctx.max_future_ms = 5 * 60 * 1000;
	f->ctx.retention_ms = 90 * DAY_MS;
	f->ctx.max_items = 100;
	f->job = ingest_job_new(INGEST_JOB_READINGS, "city");
	assert_non_null(f->job);
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
json(struct fixture *f, const char *body)
{
	return readings_from_json(
	    &f->ctx, body, strlen(body), f->job, f->why, sizeof(f->why));
}

static int
ndjson(struct fixture *f, const char *body)
{
	return readings_from_ndjson(
	    &f->ctx, body, strlen(body), f->job, f->why, sizeof(f->why));
}

/* The reason item index was refused with, failing when it was not. */
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

static void
test_mix_keeps_good(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(json(f,
	    "{\"readings\":["
	    "{\"point\":\"T-101\",\"ts\":1795996700000,\"value\":12.5},"
	    "{\"point\":\"T-102\",\"ts\":1795996700000,\"value\":\"high\"},"
	    "{\"point\":\"T-102\",\"value\":3},"
	    "{\"point\":\"NEW-1\",\"ts\":\"2026-11-30T07:58:00+08:00\","
	    "\"value\":1},"
	    "{\"point\":\"GAS-7\",\"ts\":1795996700000,\"quality\":\"bad\"}"
	    "]}"), 0);
	assert_int_equal(f->job->nitems, 5);
	assert_int_equal(f->job->nreadings, 2);
	assert_string_equal(f->job->readings[0].point, "T-101");
	assert_int_equal(f->job->readings[0].index, 0);
	assert_true(f->job->readings[0].value == 12.5);
	assert_true(f->job->readings[0].has_value);
	assert_int_equal(f->job->readings[0].quality, INGEST_Q_GOOD);
	assert_string_equal(registry_topic(f->reg, f->job->readings[0].topic),
	    "rd.370102.hazchem");
	assert_string_equal(f->job->readings[1].point, "GAS-7");
	assert_int_equal(f->job->readings[1].index, 4);
	assert_false(f->job->readings[1].has_value);
	assert_int_equal(f->job->readings[1].quality, INGEST_Q_BAD);
	assert_string_equal(registry_topic(f->reg, f->job->readings[1].topic),
	    "rd.370112.gas");
	assert_int_equal(f->job->nunknown, 1);
	assert_string_equal(f->job->unknown[0].point, "NEW-1");
	assert_int_equal(f->job->unknown[0].index, 3);
	assert_true(f->job->unknown[0].ts_ms == NOW_MS - 120000);
	assert_int_equal(f->job->nrejected, 2);
	assert_string_equal(
	    reason_of(f, 1), "field 'value' must be a number, got string");
	assert_string_equal(reason_of(f, 2), "field 'ts' is required");
}

static void
test_overflow_and_nan(void **state)
{
	struct fixture *f = *state;

	/* JSON cannot carry NaN; an overflowing number spoils the body. */
	assert_int_equal(json(f,
	    "{\"readings\":[{\"point\":\"T-101\",\"ts\":1795996700000,"
	    "\"value\":1e999}]}"), -1);
	assert_non_null(strstr(f->why, "out of range"));
	assert_int_equal(json(f,
	    "{\"readings\":[{\"point\":\"T-101\",\"ts\":1795996700000,"
	    "\"value\":NaN}]}"), -1);
	assert_non_null(strstr(f->why, "NaN"));
	/* Through the protobuf path NaN is possible and refused. */
	assert_int_equal(readings_check(&f->ctx, 0, "T-101", NOW_MS, NAN, true,
	    INGEST_Q_GOOD, f->job), 1);
	assert_int_equal(readings_check(&f->ctx, 1, "T-101", NOW_MS, INFINITY,
	    true, INGEST_Q_BAD, f->job), 1);
	assert_string_equal(
	    reason_of(f, 0), "field 'value' must be a finite number");
	assert_string_equal(
	    reason_of(f, 1), "field 'value' must be a finite number");
	assert_int_equal(f->job->nreadings, 0);
}

static void
test_wrong_types(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(json(f,
	    "{\"readings\":["
	    "{\"point\":7,\"ts\":1795996700000,\"value\":1},"
	    "{\"point\":\"T-101\",\"ts\":true,\"value\":1},"
	    "{\"point\":\"T-101\",\"ts\":1795996700000,\"value\":1,"
	    "\"quality\":\"great\"},"
	    "{\"point\":\"T-101\",\"ts\":1795996700000,\"value\":1,"
	    "\"quality\":1},"
	    "[1,2],"
	    "{\"point\":\"T-101\",\"ts\":1795996700000,\"value\":1,"
	    "\"unit\":\"C\"},"
	    "{\"point\":\"T-101\",\"point\":\"T-102\",\"ts\":1795996700000,"
	    "\"value\":1},"
	    "{\"ts\":1795996700000,\"value\":1},"
	    "{\"point\":\"T-101\",\"ts\":1795996700000.5,\"value\":1},"
	    "{\"point\":\"T-101\",\"ts\":\"2026-11-29 08:00\",\"value\":1},"
	    "{\"point\":\"T-101\",\"ts\":1795996700000,\"value\":null}"
	    "]}"), 0);
	assert_int_equal(f->job->nrejected, 11);
	assert_int_equal(f->job->nreadings, 0);
	assert_string_equal(
	    reason_of(f, 0), "field 'point' must be a string, got number");
	assert_non_null(strstr(reason_of(f, 1), "got boolean"));
	assert_string_equal(reason_of(f, 2),
	    "field 'quality' must be good, bad or maintenance, got 'great'");
	assert_non_null(strstr(reason_of(f, 3), "got number"));
	assert_string_equal(
	    reason_of(f, 4), "a reading must be a JSON object, got array");
	assert_non_null(strstr(reason_of(f, 5), "unknown field 'unit'"));
	assert_string_equal(reason_of(f, 6), "field 'point' appears twice");
	assert_string_equal(reason_of(f, 7), "field 'point' is required");
	assert_non_null(strstr(reason_of(f, 8), "whole epoch milliseconds"));
	assert_non_null(strstr(reason_of(f, 9), "not an RFC 3339 time"));
	assert_non_null(strstr(reason_of(f, 10),
	    "'value' is required when quality is good"));
}

static void
test_time_limits(void **state)
{
	struct fixture *f = *state;
	char body[512];

	snprintf(body, sizeof(body),
	    "{\"readings\":["
	    "{\"point\":\"T-101\",\"ts\":%lld,\"value\":1},"
	    "{\"point\":\"T-101\",\"ts\":%lld,\"value\":1},"
	    "{\"point\":\"T-101\",\"ts\":%lld,\"value\":1},"
	    "{\"point\":\"T-101\",\"ts\":%lld,\"value\":1},"
	    "{\"point\":\"T-101\",\"ts\":\"2026-11-30T08:05:00+08:00\","
	    "\"value\":1}]}",
	    (long long)(NOW_MS + 301000), (long long)(NOW_MS + 299000),
	    (long long)(NOW_MS - 91 * DAY_MS),
	    (long long)(NOW_MS - 89 * DAY_MS));
	assert_int_equal(json(f, body), 0);
	assert_int_equal(f->job->nreadings, 3);
	assert_int_equal(f->job->readings[0].index, 1);
	assert_int_equal(f->job->readings[1].index, 3);
	/* Exactly the limit is still accepted. */
	assert_int_equal(f->job->readings[2].index, 4);
	assert_string_equal(reason_of(f, 0),
	    "field 'ts' is 301 s in the future, at most 300 s ahead is "
	    "accepted (check the sender's clock)");
	assert_string_equal(reason_of(f, 2),
	    "field 'ts' is older than the retention window of 90 days");
}

static void
test_scope(void **state)
{
	struct fixture *f = *state;

	f->ctx.source = f->chem;
	assert_int_equal(json(f,
	    "{\"readings\":["
	    "{\"point\":\"T-101\",\"ts\":1795996700000,\"value\":1},"
	    "{\"point\":\"GAS-7\",\"ts\":1795996700000,\"value\":1},"
	    "{\"point\":\"NEW-9\",\"ts\":1795996700000,\"value\":1}]}"),
	    0);
	assert_int_equal(f->job->nreadings, 1);
	assert_int_equal(f->job->nunknown, 1);
	assert_string_equal(reason_of(f, 1),
	    "point GAS-7 belongs to district 370112 / sector gas outside the "
	    "scope of source chem-system");
	/* A trusted intake (no source) is not limited. */
	f->ctx.source = NULL;
	assert_int_equal(readings_check(&f->ctx, 3, "GAS-7", NOW_MS, 2, true,
	    INGEST_Q_GOOD, f->job), 0);
	assert_int_equal(f->job->nreadings, 2);
}

static void
test_unknown_to_quarantine(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(json(f,
	    "{\"readings\":["
	    "{\"point\":\"X-1\",\"ts\":1795996700000,\"value\":1},"
	    "{\"point\":\"X-2\",\"ts\":1795996700000,"
	    "\"quality\":\"maintenance\"}]}"),
	    0);
	assert_int_equal(f->job->nreadings, 0);
	assert_int_equal(f->job->nrejected, 0);
	assert_int_equal(f->job->nunknown, 2);
	assert_string_equal(f->job->unknown[1].point, "X-2");
	assert_int_equal(f->job->unknown[1].quality, INGEST_Q_MAINTENANCE);
	assert_false(f->job->unknown[1].has_value);
}

static void
test_ndjson(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ndjson(f,
	    "{\"point\":\"T-101\",\"ts\":1795996700000,\"value\":1}\n"
	    "\n"
	    "{\"point\":\"T-102\",\"ts\":1795996700000,\"value\":\n"
	    "   \r\n"
	    "{\"point\":\"T-102\",\"ts\":1795996700000,\"value\":2}\r\n"
	    "{\"point\":\"T-101\",\"ts\":1795996760000,\"value\":1e999}\n"
	    "\"just a string\"\n"
	    "{\"point\":\"NEW-3\",\"ts\":1795996700000,\"value\":3}"),
	    0);
	assert_int_equal(f->job->nitems, 6);
	assert_int_equal(f->job->nreadings, 2);
	assert_int_equal(f->job->readings[1].index, 2);
	assert_int_equal(f->job->nunknown, 1);
	assert_int_equal(f->job->unknown[0].index, 5);
	assert_int_equal(f->job->nrejected, 3);
	assert_non_null(strstr(reason_of(f, 1), "line is not valid JSON"));
	assert_non_null(strstr(reason_of(f, 3), "out of range"));
	assert_string_equal(
	    reason_of(f, 4), "a reading must be a JSON object, got string");
	/* Invalid UTF-8 spoils its line only. */
	ingest_job_free(f->job);
	f->job = ingest_job_new(INGEST_JOB_READINGS, "city");
	assert_int_equal(ndjson(f,
	    "{\"point\":\"T-\xff\",\"ts\":1795996700000,\"value\":1}\n"
	    "{\"point\":\"T-101\",\"ts\":1795996700000,\"value\":1}\n"),
	    0);
	assert_int_equal(f->job->nreadings, 1);
	assert_non_null(strstr(reason_of(f, 0), "UTF-8"));
	/* Nothing at all is a whole-body error. */
	assert_int_equal(ndjson(f, "\n \n"), -1);
	assert_non_null(strstr(f->why, "no readings"));
}

static void
test_max_items(void **state)
{
	struct fixture *f = *state;
	char *body = malloc(200 * 64), *nd = malloc(200 * 64);
	size_t len = 0, ndlen = 0;
	int i;

	assert_non_null(body);
	assert_non_null(nd);
	len += (size_t)sprintf(body + len, "{\"readings\":[");
	for (i = 0; i < 101; i++) {
		len += (size_t)sprintf(body + len,
		    "%s{\"point\":\"P%d\",\"ts\":1795996700000,\"value\":1}",
		    i ? "," : "", i);
		ndlen += (size_t)sprintf(nd + ndlen,
		    "{\"point\":\"P%d\",\"ts\":1795996700000,\"value\":1}\n",
		    i);
	}
	sprintf(body + len, "]}");
	assert_int_equal(json(f, body), -1);
	assert_string_equal(f->why,
	    "101 readings in one request, the limit is 100: split the batch");
	assert_int_equal(ndjson(f, nd), -1);
	assert_non_null(strstr(f->why, "more than 100 readings"));
	/* Exactly the limit passes. */
	ingest_job_free(f->job);
	f->job = ingest_job_new(INGEST_JOB_READINGS, "city");
	f->ctx.max_items = 101;
	assert_int_equal(json(f, body), 0);
	assert_int_equal(f->job->nunknown, 101);
	free(body);
	free(nd);
}

static void
test_duplicates(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(json(f,
	    "{\"readings\":["
	    "{\"point\":\"T-101\",\"ts\":1795996700000,\"value\":1},"
	    "{\"point\":\"T-101\",\"ts\":\"2026-11-30T07:58:20+08:00\","
	    "\"value\":2},"
	    "{\"point\":\"T-101\",\"ts\":1795996700001,\"value\":3},"
	    "{\"point\":\"X-1\",\"ts\":1795996700000,\"value\":1},"
	    "{\"point\":\"X-1\",\"ts\":1795996700000,\"value\":1},"
	    "{\"point\":\"T-102\",\"ts\":true},"
	    "{\"point\":\"T-101\",\"ts\":1795996700000,\"value\":4}]}"),
	    0);
	assert_int_equal(f->job->nreadings, 2);
	assert_true(f->job->readings[0].value == 1);
	assert_true(f->job->readings[1].value == 3);
	assert_int_equal(f->job->nunknown, 1);
	assert_int_equal(f->job->nrejected, 4);
	assert_string_equal(
	    reason_of(f, 1), "duplicate of item 0 in this request");
	assert_string_equal(
	    reason_of(f, 4), "duplicate of item 3 in this request");
	assert_string_equal(
	    reason_of(f, 6), "duplicate of item 0 in this request");
	/* Rejections stay in index order. */
	assert_int_equal(f->job->rejected[0].index, 1);
	assert_int_equal(f->job->rejected[1].index, 4);
	assert_int_equal(f->job->rejected[2].index, 5);
	assert_int_equal(f->job->rejected[3].index, 6);
}

static void
test_whole_body(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(json(f, "{\"readings\":[{\"point\":"), -1);
	assert_non_null(strstr(f->why, "not valid JSON"));
	assert_int_equal(json(f, "[]"), -1);
	assert_non_null(strstr(f->why, "got array"));
	assert_int_equal(json(f, "{}"), -1);
	assert_string_equal(
	    f->why, "the body needs a 'readings' array, got nothing");
	assert_int_equal(json(f, "{\"readings\":{}}"), -1);
	assert_string_equal(
	    f->why, "the body needs a 'readings' array, got object");
	assert_int_equal(json(f, "{\"readings\":[],\"x\":1}"), -1);
	assert_non_null(strstr(f->why, "unknown top-level field 'x'"));
	assert_int_equal(json(f, "{\"readings\":[],\"readings\":[]}"), -1);
	assert_int_equal(json(f, "{\"readings\":[\"\xc3\x28\"]}"), -1);
	assert_non_null(strstr(f->why, "UTF-8"));
	assert_int_equal(readings_from_json(&f->ctx, "{\"readings\":[]}\0x",
	    17, f->job, f->why, sizeof(f->why)), -1);
	/* An empty batch is valid and takes nothing. */
	assert_int_equal(json(f, "{\"readings\":[]}"), 0);
	assert_int_equal(f->job->nitems, 0);
	assert_int_equal(f->job->nrejected, 0);
}

static void
test_point_codes(void **state)
{
	struct fixture *f = *state;
	char why[96], long_code[80];

	memset(long_code, 'a', 65);
	long_code[65] = '\0';
	assert_int_equal(readings_point_ok("plant-07/line-03/T1", why,
	    sizeof(why)), 0);
	assert_int_equal(readings_point_ok("储罐区-T1", why, sizeof(why)), 0);
	assert_int_equal(readings_point_ok("", why, sizeof(why)), -1);
	assert_string_equal(why, "is empty");
	assert_int_equal(readings_point_ok("a b", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "spaces"));
	assert_int_equal(readings_point_ok("a\tb", why, sizeof(why)), -1);
	assert_int_equal(
	    readings_point_ok("a\xe3\x80\x80" "b", why, sizeof(why)), -1);
	assert_int_equal(readings_point_ok("a\xc3", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "UTF-8"));
	assert_int_equal(readings_point_ok(long_code, why, sizeof(why)), -1);
	assert_string_equal(why, "is 65 bytes long, at most 64 allowed");
	long_code[64] = '\0';
	assert_int_equal(readings_point_ok(long_code, why, sizeof(why)), 0);

	assert_int_equal(readings_check(&f->ctx, 0, "a b", NOW_MS, 1, true,
	    INGEST_Q_GOOD, f->job), 1);
	assert_int_equal(readings_check(&f->ctx, 1, "T-101", NOW_MS, 1, true,
	    7, f->job), 1);
	assert_int_equal(readings_check(&f->ctx, 2, "T-101", NOW_MS, 0, false,
	    INGEST_Q_GOOD, f->job), 1);
	assert_int_equal(readings_check(&f->ctx, 3, "T-101", NOW_MS, 0, false,
	    INGEST_Q_MAINTENANCE, f->job), 0);
	assert_non_null(strstr(reason_of(f, 0), "field 'point' must not"));
	assert_string_equal(reason_of(f, 1),
	    "field 'quality' must be good, bad or maintenance");
	assert_non_null(strstr(reason_of(f, 2), "required when quality"));
	assert_int_equal(f->job->nreadings, 1);
}

/* Many readings through the JSON path: the job grows and keeps order. */
static void
test_large_batch(void **state)
{
	struct fixture *f = *state;
	size_t cap = 5000 * 80, len = 0;
	char *body = malloc(cap);
	int i;

	assert_non_null(body);
	f->ctx.max_items = 5000;
	len += (size_t)snprintf(body + len, cap - len, "{\"readings\":[");
	for (i = 0; i < 5000; i++)
		len += (size_t)snprintf(body + len, cap - len,
		    "%s{\"point\":\"T-10%d\",\"ts\":%lld,\"value\":%d}",
		    i ? "," : "", 1 + i % 2,
		    (long long)(NOW_MS - 1000 * (i / 2)), i);
	snprintf(body + len, cap - len, "]}");
	assert_int_equal(json(f, body), 0);
	assert_int_equal(f->job->nreadings, 5000);
	assert_int_equal(f->job->nrejected, 0);
	for (i = 0; i < 5000; i++) {
		assert_int_equal(f->job->readings[i].index, i);
		assert_true(f->job->readings[i].value == i);
	}
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_mix_keeps_good, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_overflow_and_nan, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_wrong_types, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_time_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unknown_to_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ndjson, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_max_items, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_whole_body, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_point_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_large_batch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

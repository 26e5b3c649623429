/*
 * test_ingestd_store - the COPY rows ingestd's writer sends, and the
 * classes its API counts rejections under.
 *
 * The writer's SQL needs a server (tests/system/t_ingest_*.sh drive it);
 * what can be checked without one is the text it copies: the column order
 * each COPY statement names, times in the city's offset to the
 * millisecond, NULL for a reading without a value, and the escaping of
 * tabs, newlines and backslashes that arrive in point codes, event ids or
 * event data.  api_reject_class() is pure too: every reason readings.c
 * and kinds.c write must land in a class that says something.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/ingestd/api.h"
#include "../../services/ingestd/ingestd_store.h"

/* 2026-11-29T08:00:00.123+08:00 */
#define TS_MS INT64_C(1795910400123)

static void
buf_is(const struct store_copy_buf *b, const char *want)
{
	assert_false(b->failed);
	assert_int_equal(b->len, strlen(want));
	assert_memory_equal(b->data, want, b->len);
}

static void
test_reading_row(void **state)
{
	struct store_copy_buf b;
	struct ingest_reading r = {0};

	(void)state;
	store_copy_buf_init(&b);
	strcpy(r.point, "P-001");
	r.ts_ms = TS_MS;
	r.value = 12.5;
	r.has_value = true;
	r.quality = INGEST_Q_GOOD;
	assert_int_equal(ingestd_store_reading_row(&b, &r), 0);
	buf_is(&b, "P-001\t2026-11-29T08:00:00.123+08:00\t12.5\t0\n");
	assert_int_equal(b.rows, 1);
	store_copy_buf_free(&b);
}

static void
test_reading_without_value(void **state)
{
	struct store_copy_buf b;
	struct ingest_reading r = {0};

	(void)state;
	store_copy_buf_init(&b);
	strcpy(r.point, "P-002");
	r.ts_ms = TS_MS - 123;
	r.has_value = false;
	r.quality = INGEST_Q_MAINTENANCE;
	assert_int_equal(ingestd_store_reading_row(&b, &r), 0);
	buf_is(&b, "P-002\t2026-11-29T08:00:00.000+08:00\t\\N\t2\n");
	store_copy_buf_free(&b);
}

/* A point code with a backslash cannot end the field or the row early. */
static void
test_reading_escaped(void **state)
{
	struct store_copy_buf b;
	struct ingest_reading r = {0};

	(void)state;
	store_copy_buf_init(&b);
	strcpy(r.point, "a\\b");
	r.ts_ms = 0;
	r.value = -0.5;
	r.has_value = true;
	r.quality = INGEST_Q_BAD;
	assert_int_equal(ingestd_store_reading_row(&b, &r), 0);
	buf_is(&b, "a\\\\b\t1970-01-01T08:00:00.000+08:00\t-0.5\t1\n");
	store_copy_buf_free(&b);
}

static void
test_staged_row(void **state)
{
	struct store_copy_buf b;
	struct ingest_reading r = {0};

	(void)state;
	store_copy_buf_init(&b);
	strcpy(r.point, "X");
	r.ts_ms = TS_MS;
	r.value = 1;
	r.has_value = true;
	assert_int_equal(
	    ingestd_store_staged_reading_row(&b, 3, 41, "city", &r), 0);
	assert_int_equal(
	    ingestd_store_staged_reading_row(&b, 4, 0, "gas\tco", &r), 0);
	buf_is(&b, "3\t41\tcity\tX\t2026-11-29T08:00:00.123+08:00\t1\t0\n"
	           "4\t0\tgas\\tco\tX\t2026-11-29T08:00:00.123+08:00\t1\t0\n");
	assert_int_equal(b.rows, 2);
	store_copy_buf_free(&b);
}

static void
test_event_row(void **state)
{
	static const struct ingest_kind kind = {.name = "hazard.reported"};
	struct store_copy_buf b;
	struct ingest_event ev = {0};

	(void)state;
	store_copy_buf_init(&b);
	ev.kind = &kind;
	strcpy(ev.id, "h-1\n2");
	ev.at_ms = TS_MS;
	ev.data_json = (char *)"{\"note\":\"a\\\"b\"}";
	assert_int_equal(ingestd_store_event_row(&b, 0, 7, "city", &ev), 0);
	buf_is(&b, "0\t7\tcity\th-1\\n2\thazard.reported\t"
	           "2026-11-29T08:00:00.123+08:00\t{\"note\":\"a\\\\\"b\"}\n");
	/* No data: an empty object, never a NULL the table refuses. */
	store_copy_buf_reset(&b);
	ev.data_json = NULL;
	assert_int_equal(ingestd_store_event_row(&b, 1, 0, "s", &ev), 0);
	assert_non_null(memmem(b.data, b.len, "\t{}\n", 4));
	store_copy_buf_free(&b);
}

static void
test_reject_class(void **state)
{
	static const struct {
		const char *reason, *cls;
	} cases[] = {
	    {"point P-1 belongs to district 370112 / sector hazchem outside "
	     "the scope of source gasco",
	        "scope"},
	    {"field 'ts' is 3600 s in the future, at most 300 s ahead is "
	     "accepted (check the sender's clock)",
	        "future"},
	    {"field 'ts' is older than the retention window of 400 days",
	        "too_old"},
	    {"duplicate of item 3 in this request", "duplicate_in_request"},
	    {"field 'value' must be a finite number", "bad_value"},
	    {"field 'ts' is not an RFC 3339 time: bad month", "bad_time"},
	    {"field 'point' is required", "bad_point"},
	    {"field 'quality' must be good, bad or maintenance", "bad_quality"},
	    {"unknown kind 'x.y'", "unknown_kind"},
	    {"point.upsert refused by the store: violates foreign key",
	        "store_refused"},
	    {"line is not valid JSON: unexpected end", "malformed"},
	    {"a reading must be a JSON object, got array", "malformed"},
	    {"something else entirely", "invalid"},
	    {"", "invalid"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(
		    api_reject_class(cases[i].reason), cases[i].cls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reading_row),
	    cmocka_unit_test(test_reading_without_value),
	    cmocka_unit_test(test_reading_escaped),
	    cmocka_unit_test(test_staged_row),
	    cmocka_unit_test(test_event_row),
	    cmocka_unit_test(test_reject_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

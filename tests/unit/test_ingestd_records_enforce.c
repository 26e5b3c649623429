/*
 * test_ingestd_records_enforce - the accident grading and the validators of
 * accidents, inspections, cases and the duties of enterprises
 * (records_enforce.c, records_duty.c).
 *
 * No store: apply runs against PostgreSQL in tests/system/
 * t_records_enforce.sh; here the grading table is checked at every
 * boundary, and each kind's validator is fed good and malformed events
 * through events_from_json(), as POST /v1/events does, with the parsed
 * forms it leaves for apply checked where they carry computed values (an
 * accident's grade and deadlines).  The city is two districts and three
 * sectors; USCCs come from ids_uscc_generate().
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
#include "../../services/ingestd/kinds_internal.h"

/* 2026-11-30T08:00:00+08:00 */
#define NOW_MS INT64_C(1795996800000)

struct fixture {
	struct registry *reg;
	struct ingest_ctx ctx;
	struct ingest_job *job;
	char known[IDS_USCC_SIZE];    /* registered: 370102 / hazchem */
	char fresh[IDS_USCC_SIZE];    /* valid, not registered */
	char bad[IDS_USCC_SIZE];      /* fresh with a wrong check character */
	const struct reg_source *gas; /* may write sector gas only */
	char why[256];
	char body[16384];
};

static int
setup(void **state)
{
	static const char *const sectors[] = {"gas", "hazchem", "road_traffic"};
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->reg = fixture_city(sectors, 3, 21, f->known, f->fresh, f->bad);
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

/* Validate one event of kind with data (a JSON object's members, printf
 * style); returns its reason, or NULL when it was taken. */
static const char *one(struct fixture *f, const char *kind, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static const char *
one(struct fixture *f, const char *kind, const char *fmt, ...)
{
	char data[8192], at[24];
	va_list ap;
	int n;

	/* fmt is the members of data; the braces are added here. */
	data[0] = '{';
	va_start(ap, fmt);
	n = vsnprintf(data + 1, sizeof(data) - 2, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(data) - 2);
	memcpy(data + 1 + n, "}", 2);
	snprintf(at, sizeof(at), "%lld", (long long)NOW_MS);
	return fixture_one(&f->ctx, &f->job, f->body, sizeof(f->body), f->why,
	    sizeof(f->why), kind, "e-1", at, data);
}

/* Expect the event refused with a reason containing want. */
#define REFUSED(want, r)                                                       \
	do {                                                                   \
		const char *r_ = (r);                                          \
		assert_non_null(r_);                                           \
		if (strstr(r_, (want)) == NULL)                                \
			fail_msg("reason '%s' lacks '%s'", r_, (want));        \
	} while (0)

/* Parameter i of the parsed form of the event taken. */
static const char *
param(const struct fixture *f, int i)
{
	const struct upsert_form *u = f->job->events[0].parsed;

	assert_true(i < u->nparams);
	return u->off[i] < 0 ? NULL : u->text + u->off[i];
}

/* --- the grading ------------------------------------------------------------
 */

static void
test_grade_deaths(void **state)
{
	(void)state;
	assert_int_equal(records_enforce_accident_grade(0, 0, 0), 0);
	assert_int_equal(records_enforce_accident_grade(2, 0, 0), 0);
	assert_int_equal(records_enforce_accident_grade(3, 0, 0), 1);
	assert_int_equal(records_enforce_accident_grade(9, 0, 0), 1);
	assert_int_equal(records_enforce_accident_grade(10, 0, 0), 2);
	assert_int_equal(records_enforce_accident_grade(29, 0, 0), 2);
	assert_int_equal(records_enforce_accident_grade(30, 0, 0), 3);
	assert_int_equal(records_enforce_accident_grade(300, 0, 0), 3);
}

static void
test_grade_serious(void **state)
{
	(void)state;
	assert_int_equal(records_enforce_accident_grade(0, 9, 0), 0);
	assert_int_equal(records_enforce_accident_grade(0, 10, 0), 1);
	assert_int_equal(records_enforce_accident_grade(0, 49, 0), 1);
	assert_int_equal(records_enforce_accident_grade(0, 50, 0), 2);
	assert_int_equal(records_enforce_accident_grade(0, 99, 0), 2);
	assert_int_equal(records_enforce_accident_grade(0, 100, 0), 3);
}

static void
test_grade_loss(void **state)
{
	(void)state;
	/* 999.99万 / 1000万, 4999万 / 5000万, 9999万 / 1亿 yuan. */
	assert_int_equal(records_enforce_accident_grade(0, 0, 9999900.0), 0);
	assert_int_equal(records_enforce_accident_grade(0, 0, 9999999.99), 0);
	assert_int_equal(records_enforce_accident_grade(0, 0, 10000000.0), 1);
	assert_int_equal(records_enforce_accident_grade(0, 0, 49990000.0), 1);
	assert_int_equal(records_enforce_accident_grade(0, 0, 50000000.0), 2);
	assert_int_equal(records_enforce_accident_grade(0, 0, 99990000.0), 2);
	assert_int_equal(records_enforce_accident_grade(0, 0, 100000000.0), 3);
}

static void
test_grade_worst_criterion(void **state)
{
	(void)state;
	/* One death, but 60 seriously injured: 重大. */
	assert_int_equal(records_enforce_accident_grade(1, 60, 0), 2);
	/* No one hurt, but 1.2亿 lost: 特别重大. */
	assert_int_equal(records_enforce_accident_grade(0, 0, 1.2e8), 3);
	/* 3 deaths and 9 serious: the deaths decide, 较大. */
	assert_int_equal(records_enforce_accident_grade(3, 9, 9999900.0), 1);
	assert_int_equal(records_enforce_accident_grade(10, 10, 1e7), 2);
}

static void
test_grade_names(void **state)
{
	(void)state;
	assert_string_equal(records_enforce_grade_code(0), "general");
	assert_string_equal(records_enforce_grade_code(1), "larger");
	assert_string_equal(records_enforce_grade_code(2), "major");
	assert_string_equal(records_enforce_grade_code(3), "especially_major");
	assert_string_equal(records_enforce_grade_name(0), "一般");
	assert_string_equal(records_enforce_grade_name(1), "较大");
	assert_string_equal(records_enforce_grade_name(2), "重大");
	assert_string_equal(records_enforce_grade_name(3), "特别重大");
	assert_null(records_enforce_grade_code(4));
	assert_null(records_enforce_grade_name(-1));
	assert_int_equal(records_enforce_rereport_days("road_traffic"), 7);
	assert_int_equal(records_enforce_rereport_days("fire"), 7);
	assert_int_equal(records_enforce_rereport_days("hazchem"), 30);
	assert_int_equal(records_enforce_rereport_days("transport"), 30);
}

static void
test_table(void **state)
{
	static const char *const names[] = {"accident.reported",
	    "accident.updated", "inspection.completed", "case.filed",
	    "case.closed", "resplist.uploaded", "director.appointed",
	    "training.record", "equipment.inspected", "selfcheck.completed"};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct ingest_kind *k = kinds_find(names[i]);

		assert_non_null(k);
		assert_non_null(k->validate);
		assert_non_null(k->apply);
		assert_non_null(k->free);
	}
	assert_int_equal(records_enforce_nkinds, 5);
	assert_int_equal(records_duty_nkinds, 5);
}

/* --- accidents ---------------------------------------------------------------
 */

#define ACC(extra)                                                             \
	"\"accident_id\":\"A-1\",\"district\":\"370112\","                     \
	"\"sector\":\"hazchem\",\"occurred_at\":\"2026-11-29T10:00:00+08:"     \
	"00\","                                                                \
	"\"deaths\":1,\"serious_injuries\":12,\"summary\":"                    \
	"\"储罐区爆燃\"" extra

static void
test_accident_good(void **state)
{
	struct fixture *f = *state;

	assert_null(one(f, "accident.reported",
	    ACC(",\"uscc\":\"%s\",\"minor_injuries\":4,"
	        "\"direct_loss_cny\":2500000.5"),
	    f->known));
	assert_string_equal(param(f, 0), "A-1");
	assert_string_equal(param(f, 1), f->known);
	assert_string_equal(param(f, 4), "2026-11-29T10:00:00.000+08:00");
	assert_string_equal(param(f, 5), "1");
	assert_string_equal(param(f, 6), "12");
	assert_string_equal(param(f, 7), "4");
	assert_string_equal(param(f, 8), "2500000.50");
	/* 12 seriously injured: 较大, although one death alone is 一般. */
	assert_string_equal(param(f, 9), "larger");
	assert_string_equal(param(f, 10), "较大");
	assert_string_equal(param(f, 11), "2026-11-29T11:00:00.000+08:00");
	assert_string_equal(param(f, 12), "2026-11-29T13:00:00.000+08:00");
	assert_string_equal(param(f, 13), "2026-12-29T10:00:00.000+08:00");

	/* Optional fields absent; epoch ms; road traffic has 7 days. */
	assert_null(one(f, "accident.updated",
	    "\"accident_id\":\"A-2\",\"district\":\"370102\","
	    "\"sector\":\"road_traffic\",\"occurred_at\":%lld,\"deaths\":3,"
	    "\"serious_injuries\":0,\"summary\":\"客车侧翻\"",
	    (long long)(NOW_MS - 3600000)));
	assert_null(param(f, 1));
	assert_null(param(f, 7));
	assert_null(param(f, 8));
	assert_string_equal(param(f, 9), "larger");
	assert_string_equal(param(f, 13), "2026-12-07T07:00:00.000+08:00");
}

static void
test_accident_bad(void **state)
{
	struct fixture *f = *state;

	REFUSED("'district' '999999' is not a district code",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A-1\",\"district\":\"999999\","
	        "\"sector\":\"hazchem\",\"occurred_at\":1,\"deaths\":0,"
	        "\"serious_injuries\":0,\"summary\":\"x\""));
	REFUSED("'sector' 'bakery' is not a sector code",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A-1\",\"district\":\"370112\","
	        "\"sector\":\"bakery\",\"occurred_at\":1,\"deaths\":0,"
	        "\"serious_injuries\":0,\"summary\":\"x\""));
	REFUSED("'occurred_at' is in the future",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A-1\",\"district\":\"370112\","
	        "\"sector\":\"hazchem\",\"occurred_at\":%lld,\"deaths\":0,"
	        "\"serious_injuries\":0,\"summary\":\"x\"",
	        (long long)(NOW_MS + 3600000)));
	REFUSED("'occurred_at' is not an RFC 3339 time",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A-1\",\"district\":\"370112\","
	        "\"sector\":\"hazchem\",\"occurred_at\":\"yesterday\","
	        "\"deaths\":0,\"serious_injuries\":0,\"summary\":\"x\""));
	REFUSED("'occurred_at' must be an RFC 3339 string",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A-1\",\"district\":\"370112\","
	        "\"sector\":\"hazchem\",\"occurred_at\":1.5,"
	        "\"deaths\":0,\"serious_injuries\":0,\"summary\":\"x\""));
	REFUSED("before 1970",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A-1\",\"district\":\"370112\","
	        "\"sector\":\"hazchem\",\"occurred_at\":-1000,"
	        "\"deaths\":0,\"serious_injuries\":0,\"summary\":\"x\""));
	REFUSED("'deaths' must be an integer from 0",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A-1\",\"district\":\"370112\","
	        "\"sector\":\"hazchem\",\"occurred_at\":1,\"deaths\":-1,"
	        "\"serious_injuries\":0,\"summary\":\"x\""));
	REFUSED("'deaths' must be an integer",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A-1\",\"district\":\"370112\","
	        "\"sector\":\"hazchem\",\"occurred_at\":1,\"deaths\":1.5,"
	        "\"serious_injuries\":0,\"summary\":\"x\""));
	REFUSED("'serious_injuries' is required",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A-1\",\"district\":\"370112\","
	        "\"sector\":\"hazchem\",\"occurred_at\":1,\"deaths\":1,"
	        "\"summary\":\"x\""));
	REFUSED("'direct_loss_cny' must be between 0",
	    one(f, "accident.reported", ACC(",\"direct_loss_cny\":-1")));
	REFUSED("'minor_injuries' must be an integer",
	    one(f, "accident.reported", ACC(",\"minor_injuries\":\"4\"")));
	REFUSED("not a valid unified social credit code",
	    one(f, "accident.reported", ACC(",\"uscc\":\"%s\""), f->bad));
	REFUSED("unknown field 'victims' for kind accident.updated",
	    one(f, "accident.updated", ACC(",\"victims\":[]")));
	REFUSED("'summary' must be 1 to",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A-1\",\"district\":\"370112\","
	        "\"sector\":\"hazchem\",\"occurred_at\":1,\"deaths\":1,"
	        "\"serious_injuries\":0,\"summary\":\"\""));
	REFUSED("'accident_id' must not contain control characters",
	    one(f, "accident.reported",
	        "\"accident_id\":\"A\\n1\",\"district\":\"370112\","
	        "\"sector\":\"hazchem\",\"occurred_at\":1,\"deaths\":1,"
	        "\"serious_injuries\":0,\"summary\":\"x\""));
	f->ctx.source = f->gas;
	REFUSED("outside the scope of source gas-system",
	    one(f, "accident.reported", ACC("")));
}

/* --- inspections
 * ---------------------------------------------------------------- */

#define INSP(uscc, extra)                                                      \
	"\"inspection_id\":\"I-1\",\"uscc\":\"" uscc "\",\"dept\":\"YJJ\","    \
	"\"level\":\"city\",\"kind\":\"random\",\"findings\":"                 \
	"\"消防通道堵塞\","                                              \
	"\"result\":\"rectify\"" extra

static void
test_inspection(void **state)
{
	struct fixture *f = *state;

	assert_null(one(f, "inspection.completed",
	    INSP("%s", ",\"inspectors\":[\"P-1\",\"P-2\"],"
	               "\"hazards\":[\"H-1\"],\"plan_item\":\"2026-YJJ-17\""),
	    f->known));
	assert_string_equal(param(f, 0), "I-1");
	assert_string_equal(param(f, 2), "YJJ");
	assert_string_equal(param(f, 5), "rectify");
	assert_non_null(strstr(
	    f->job->events[0].data_json, "\"inspectors\":[\"P-1\",\"P-2\"]"));

	REFUSED("is not registered: send its enterprise.upsert first",
	    one(f, "inspection.completed",
	        INSP("%s", ",\"inspectors\":[\"P-1\"]"), f->fresh));
	REFUSED("'inspectors' must list 1 to 50 ids",
	    one(f, "inspection.completed", INSP("%s", ",\"inspectors\":[]"),
	        f->known));
	REFUSED("'inspectors' is required",
	    one(f, "inspection.completed", INSP("%s", ""), f->known));
	REFUSED("'inspectors' lists 'P-1' twice",
	    one(f, "inspection.completed",
	        INSP("%s", ",\"inspectors\":[\"P-1\",\"P-1\"]"), f->known));
	REFUSED("'inspectors' must hold strings, got number",
	    one(f, "inspection.completed", INSP("%s", ",\"inspectors\":[7]"),
	        f->known));
	REFUSED("'hazards' must hold strings, got object",
	    one(f, "inspection.completed",
	        INSP("%s", ",\"inspectors\":[\"P-1\"],\"hazards\":[{}]"),
	        f->known));
	REFUSED("'hazards' must be an array",
	    one(f, "inspection.completed",
	        INSP("%s", ",\"inspectors\":[\"P-1\"],\"hazards\":\"H-1\""),
	        f->known));
	REFUSED("'dept' 'yjj' is not a department code",
	    one(f, "inspection.completed",
	        "\"inspection_id\":\"I-1\",\"uscc\":\"%s\",\"dept\":\"yjj\","
	        "\"level\":\"city\",\"kind\":\"random\",\"findings\":\"x\","
	        "\"result\":\"ok\",\"inspectors\":[\"P-1\"]",
	        f->known));
	REFUSED("'level' must be one of city, district, got 'province'",
	    one(f, "inspection.completed",
	        "\"inspection_id\":\"I-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\","
	        "\"level\":\"province\",\"kind\":\"random\",\"findings\":\"x\","
	        "\"result\":\"ok\",\"inspectors\":[\"P-1\"]",
	        f->known));
	REFUSED("'kind' must be one of plan, random",
	    one(f, "inspection.completed",
	        "\"inspection_id\":\"I-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\","
	        "\"level\":\"city\",\"kind\":\"surprise\",\"findings\":\"x\","
	        "\"result\":\"ok\",\"inspectors\":[\"P-1\"]",
	        f->known));
	REFUSED("'result' must be one of ok, rectify, penalty",
	    one(f, "inspection.completed",
	        "\"inspection_id\":\"I-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\","
	        "\"level\":\"city\",\"kind\":\"plan\",\"findings\":\"x\","
	        "\"result\":\"fine\",\"inspectors\":[\"P-1\"]",
	        f->known));
	f->ctx.source = f->gas;
	REFUSED("outside the scope of source gas-system",
	    one(f, "inspection.completed",
	        INSP("%s", ",\"inspectors\":[\"P-1\"]"), f->known));
}

/* --- cases
 * -------------------------------------------------------------------------- */

static void
test_case(void **state)
{
	struct fixture *f = *state;

	assert_null(one(f, "case.filed",
	    "\"case_id\":\"C-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\","
	    "\"inspection_id\":\"I-1\",\"violation\":\"未按规定培训\","
	    "\"penalty_cny\":20000,\"publish\":true",
	    f->known));
	assert_string_equal(param(f, 3), "I-1");
	assert_string_equal(param(f, 4), "20000.00");
	assert_string_equal(param(f, 5), "true");
	/* Closing needs only the ids; the rest, if sent, replaces. */
	assert_null(one(f, "case.closed",
	    "\"case_id\":\"C-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\"", f->known));
	assert_null(param(f, 3));
	assert_null(param(f, 4));
	assert_null(param(f, 5));

	REFUSED("'penalty_cny' is required for kind case.filed",
	    one(f, "case.filed",
	        "\"case_id\":\"C-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\","
	        "\"violation\":\"x\"",
	        f->known));
	REFUSED("'violation' is required",
	    one(f, "case.filed",
	        "\"case_id\":\"C-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\","
	        "\"penalty_cny\":0",
	        f->known));
	REFUSED("'penalty_cny' must be between 0",
	    one(f, "case.filed",
	        "\"case_id\":\"C-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\","
	        "\"violation\":\"x\",\"penalty_cny\":-5",
	        f->known));
	REFUSED("'publish' must be",
	    one(f, "case.filed",
	        "\"case_id\":\"C-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\","
	        "\"violation\":\"x\",\"penalty_cny\":5,\"publish\":\"yes\"",
	        f->known));
	REFUSED("'case_id' is required",
	    one(f, "case.closed", "\"uscc\":\"%s\",\"dept\":\"YJJ\"",
	        f->known));
	REFUSED("not a valid unified social credit code",
	    one(f, "case.closed",
	        "\"case_id\":\"C-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\"",
	        f->bad));
	REFUSED("unknown field 'fine' for kind case.closed",
	    one(f, "case.closed",
	        "\"case_id\":\"C-1\",\"uscc\":\"%s\",\"dept\":\"YJJ\","
	        "\"fine\":1",
	        f->known));
}

/* --- duties
 * -----------------------------------------------------------------------------
 */

static void
test_resplist_director(void **state)
{
	struct fixture *f = *state;

	assert_null(one(f, "resplist.uploaded",
	    "\"uscc\":\"%s\",\"posts\":40,\"posts_covered\":40", f->known));
	assert_null(one(f, "resplist.uploaded",
	    "\"uscc\":\"%s\",\"posts\":40,\"posts_covered\":0", f->known));
	REFUSED("posts_covered (41) cannot exceed posts (40)",
	    one(f, "resplist.uploaded",
	        "\"uscc\":\"%s\",\"posts\":40,\"posts_covered\":41", f->known));
	REFUSED("'posts' must be an integer from 1",
	    one(f, "resplist.uploaded",
	        "\"uscc\":\"%s\",\"posts\":0,\"posts_covered\":0", f->known));
	REFUSED("'posts_covered' must be an integer from 0",
	    one(f, "resplist.uploaded",
	        "\"uscc\":\"%s\",\"posts\":3,\"posts_covered\":-1", f->known));
	REFUSED("is not registered",
	    one(f, "resplist.uploaded",
	        "\"uscc\":\"%s\",\"posts\":3,\"posts_covered\":1", f->fresh));

	assert_null(one(f, "director.appointed",
	    "\"uscc\":\"%s\",\"name\":\"王建国\",\"certified\":false",
	    f->known));
	assert_string_equal(param(f, 2), "false");
	REFUSED("'certified' must be",
	    one(f, "director.appointed",
	        "\"uscc\":\"%s\",\"name\":\"Li\",\"certified\":\"yes\"",
	        f->known));
	REFUSED("'certified' is required",
	    one(f, "director.appointed", "\"uscc\":\"%s\",\"name\":\"Li\"",
	        f->known));
	REFUSED("'name' must be 1 to",
	    one(f, "director.appointed",
	        "\"uscc\":\"%s\",\"name\":\"\",\"certified\":true", f->known));
	f->ctx.source = f->gas;
	REFUSED("outside the scope of source gas-system",
	    one(f, "director.appointed",
	        "\"uscc\":\"%s\",\"name\":\"Li\",\"certified\":true",
	        f->known));
}

#define TRAIN(year, role, req, tr, cert)                                       \
	"\"uscc\":\"%s\",\"year\":" year ",\"role\":\"" role "\","             \
	"\"required\":" req ",\"trained\":" tr ",\"certified\":" cert

static void
test_training(void **state)
{
	struct fixture *f = *state;

	assert_null(one(f, "training.record",
	    TRAIN("2026", "special_worker", "12", "12", "10"), f->known));
	assert_null(one(f, "training.record",
	    TRAIN("2000", "employee", "0", "0", "0"), f->known));
	/* Certified from an earlier year's training counts. */
	assert_null(one(f, "training.record",
	    TRAIN("2025", "principal", "2", "1", "2"), f->known));
	REFUSED("trained (13) cannot exceed required (12)",
	    one(f, "training.record",
	        TRAIN("2026", "employee", "12", "13", "0"), f->known));
	REFUSED("certified (3) cannot exceed required (2)",
	    one(f, "training.record", TRAIN("2026", "principal", "2", "2", "3"),
	        f->known));
	REFUSED("'year' must be an integer from 2000 to 2026, got 2027",
	    one(f, "training.record", TRAIN("2027", "employee", "1", "1", "1"),
	        f->known));
	REFUSED("'year' must be an integer from 2000",
	    one(f, "training.record", TRAIN("1999", "employee", "1", "1", "1"),
	        f->known));
	REFUSED("'role' must be one of principal, safety_manager",
	    one(f, "training.record", TRAIN("2026", "boss", "1", "1", "1"),
	        f->known));
	REFUSED("'required' must be an integer from 0",
	    one(f, "training.record", TRAIN("2026", "employee", "-1", "0", "0"),
	        f->known));
	REFUSED("'trained' must be an integer",
	    one(f, "training.record",
	        TRAIN("2026", "employee", "3", "\"2\"", "0"), f->known));
}

static void
test_equipment_inspected(void **state)
{
	struct fixture *f = *state;

	assert_null(one(f, "equipment.inspected",
	    "\"code\":\"EL-3701-0001\",\"result\":\"pass\","
	    "\"next_due_on\":\"2027-11-30\""));
	assert_string_equal(param(f, 2), "2027-11-30");
	REFUSED("'next_due_on' is not a date YYYY-MM-DD",
	    one(f, "equipment.inspected",
	        "\"code\":\"EL-1\",\"result\":\"pass\","
	        "\"next_due_on\":\"2027-02-30\""));
	REFUSED("'next_due_on' is not a date YYYY-MM-DD",
	    one(f, "equipment.inspected",
	        "\"code\":\"EL-1\",\"result\":\"pass\","
	        "\"next_due_on\":\"next year\""));
	REFUSED("must fall in the years 2000 to 2100, got 2207-01-01",
	    one(f, "equipment.inspected",
	        "\"code\":\"EL-1\",\"result\":\"fail\","
	        "\"next_due_on\":\"2207-01-01\""));
	REFUSED("'result' must be one of pass, fail",
	    one(f, "equipment.inspected",
	        "\"code\":\"EL-1\",\"result\":\"ok\","
	        "\"next_due_on\":\"2027-01-01\""));
	REFUSED("'code' must not contain spaces",
	    one(f, "equipment.inspected",
	        "\"code\":\"EL 1\",\"result\":\"pass\","
	        "\"next_due_on\":\"2027-01-01\""));
	REFUSED("'next_due_on' must be a string",
	    one(f, "equipment.inspected",
	        "\"code\":\"EL-1\",\"result\":\"pass\",\"next_due_on\":"
	        "20270101"));
}

static void
test_selfcheck(void **state)
{
	struct fixture *f = *state;
	static const char *const good[][2] = {
	    {"coal_quarterly", "2026Q3"},
	    {"coal_quarterly", "2026Q4"},
	    {"coal_parent_semiannual", "2026H2"},
	    {"hazard_source_technical", "2026-11"},
	    {"other", "2026"},
	    {"other", "2001-01"},
	};
	static const char *const bad_period[] = {"2026Q5", "2026Q0", "2026H3",
	    "2026-13", "2026-00", "26Q1", "2026q3", "2026-1", "1999", "2026Q",
	    "2026-11-01", "abcd"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_null(one(f, "selfcheck.completed",
		    "\"uscc\":\"%s\",\"kind\":\"%s\",\"period\":\"%s\"",
		    f->known, good[i][0], good[i][1]));
	for (size_t i = 0; i < sizeof(bad_period) / sizeof(bad_period[0]); i++)
		REFUSED("is not a period of the years 2000 to 2100",
		    one(f, "selfcheck.completed",
		        "\"uscc\":\"%s\",\"kind\":\"other\",\"period\":\"%s\"",
		        f->known, bad_period[i]));
	REFUSED("a coal_quarterly self-check covers a quarter, like 2026Q3, "
	        "not '2026H2'",
	    one(f, "selfcheck.completed",
	        "\"uscc\":\"%s\",\"kind\":\"coal_quarterly\","
	        "\"period\":\"2026H2\"",
	        f->known));
	REFUSED("a coal_parent_semiannual self-check covers a half year",
	    one(f, "selfcheck.completed",
	        "\"uscc\":\"%s\",\"kind\":\"coal_parent_semiannual\","
	        "\"period\":\"2026-07\"",
	        f->known));
	REFUSED("period 2026-12 has not begun yet",
	    one(f, "selfcheck.completed",
	        "\"uscc\":\"%s\",\"kind\":\"other\",\"period\":\"2026-12\"",
	        f->known));
	REFUSED("period 2027Q1 has not begun yet",
	    one(f, "selfcheck.completed",
	        "\"uscc\":\"%s\",\"kind\":\"coal_quarterly\","
	        "\"period\":\"2027Q1\"",
	        f->known));
	REFUSED("'kind' must be one of coal_quarterly",
	    one(f, "selfcheck.completed",
	        "\"uscc\":\"%s\",\"kind\":\"monthly\",\"period\":\"2026\"",
	        f->known));
	REFUSED("'period' must be a string",
	    one(f, "selfcheck.completed",
	        "\"uscc\":\"%s\",\"kind\":\"other\",\"period\":2026",
	        f->known));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grade_deaths),
	    cmocka_unit_test(test_grade_serious),
	    cmocka_unit_test(test_grade_loss),
	    cmocka_unit_test(test_grade_worst_criterion),
	    cmocka_unit_test(test_grade_names),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test_setup_teardown(
	        test_accident_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accident_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inspection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_case, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_resplist_director, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_training, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_equipment_inspected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_selfcheck, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

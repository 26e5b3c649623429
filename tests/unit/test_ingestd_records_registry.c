/*
 * test_ingestd_records_registry - the validators of the registry records
 * (services/ingestd/records_registry.c): hazard sources, risk points,
 * responsibilities, duty rosters, inspectors, agencies, special equipment.
 *
 * No store: each event goes through events_from_json() as a request would,
 * against a small city (two districts, two sectors, one registered
 * enterprise), and we check what is accepted and, for what is refused,
 * that the reason names the field and the fault.  apply() runs against
 * PostgreSQL in tests/system/t_records_registry.sh.
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

/* 2026-11-30T00:00:00+08:00 */
#define NOW_MS INT64_C(1795968000000)

struct fixture {
	struct registry *reg;
	struct ingest_ctx ctx;
	struct ingest_job *job;
	char known[IDS_USCC_SIZE]; /* registered: 370102 / hazchem */
	char fresh[IDS_USCC_SIZE]; /* not registered */
	char bad[IDS_USCC_SIZE];   /* fresh with a wrong check character */
	const struct reg_source *city;
	const struct reg_source *d370112; /* district 370112 only */
	char why[256];
	char body[16384];
};

static int
setup(void **state)
{
	static const char *const sectors[] = {"gas", "hazchem"};
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->reg = fixture_city(sectors, 2, 21, f->known, f->fresh, f->bad);
	f->d370112 = fixture_source(f->reg, "licheng", 2, 2, 0);
	assert_non_null(f->d370112);
	fixture_context(&f->ctx, f->reg, NOW_MS);
	f->city = f->ctx.source;
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

static void send_events(struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Run a whole body {"events":[...]} through a fresh job. */
static void
send_events(struct fixture *f, const char *fmt, ...)
{
	va_list ap;
	int rc;

	fixture_new_job(&f->job);
	va_start(ap, fmt);
	rc = fixture_vsend(&f->ctx, f->job, f->body, sizeof(f->body), f->why,
	    sizeof(f->why), fmt, ap);
	va_end(ap);
	assert_int_equal(rc, 0);
}

static const char *one(struct fixture *f, const char *kind, const char *datafmt,
    ...) __attribute__((format(printf, 3, 4)));

/*
 * Send one event of kind with data; NULL when it was accepted (and then
 * it must carry a parsed form for apply), else the reason.
 */
static const char *
one(struct fixture *f, const char *kind, const char *datafmt, ...)
{
	char data[12000];
	const char *reason;
	va_list ap;
	int n;

	va_start(ap, datafmt);
	n = vsnprintf(data, sizeof(data), datafmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(data));
	reason = fixture_one(&f->ctx, &f->job, f->body, sizeof(f->body), f->why,
	    sizeof(f->why), kind, "ev-1", "1795960000000", data);
	if (reason != NULL)
		return reason;
	assert_non_null(f->job->events[0].kind->apply);
	assert_non_null(f->job->events[0].kind->free);
	return NULL;
}

/* The event was refused and its reason contains want. */
#define REFUSED(reason, want)                                                  \
	do {                                                                   \
		const char *r_ = (reason);                                     \
		if (r_ == NULL)                                                \
			fail_msg("accepted, want refusal with '%s'", want);    \
		if (strstr(r_, want) == NULL)                                  \
			fail_msg("reason '%s' lacks '%s'", r_, want);          \
	} while (0)

#define ACCEPTED(reason)                                                       \
	do {                                                                   \
		const char *r_ = (reason);                                     \
		if (r_ != NULL)                                                \
			fail_msg("refused: %s", r_);                           \
	} while (0)

/* --- hazard_source.upsert ------------------------------------------------ */

#define CHLORINE                                                                \
	"{\"name\":\"液氯\",\"cas\":\"7782-50-5\",\"q\":20,\"Q\":5,\"beta\":" \
	"4}"
#define RESP                                                                   \
	"{\"main\":\"张三\",\"technical\":\"李四\",\"operational\":\"王五\"}"

static const char *
hazard_source(struct fixture *f, const char *uscc, const char *people,
    const char *chems, const char *assessed, const char *resp)
{
	return one(f, "hazard_source.upsert",
	    "{\"code\":\"HS-1\",\"uscc\":\"%s\",\"name\":\"液氯储罐区\","
	    "\"unit_type\":\"storage\",\"people_500m\":%s,\"chemicals\":%s,"
	    "\"assessed_on\":\"%s\",\"responsible\":%s}",
	    uscc, people, chems, assessed, resp);
}

static void
test_hazard_source(void **state)
{
	struct fixture *f = *state;

	ACCEPTED(hazard_source(f, f->known, "120",
	    "[" CHLORINE ",{\"name\":\"液氨\",\"q\":3.5,\"Q\":10,\"beta\":2}]",
	    "2025-06-01", RESP));
	/* Today (city time) is sane; tomorrow is not. */
	ACCEPTED(hazard_source(
	    f, f->known, "0", "[" CHLORINE "]", "2026-11-30", RESP));
	REFUSED(hazard_source(
	            f, f->known, "0", "[" CHLORINE "]", "2026-12-01", RESP),
	    "'assessed_on' must be a date from 1990-01-01 to 2026-11-30");
	REFUSED(hazard_source(
	            f, f->known, "0", "[" CHLORINE "]", "2026-02-30", RESP),
	    "'assessed_on' is not a date");
	REFUSED(hazard_source(
	            f, f->known, "-1", "[" CHLORINE "]", "2025-06-01", RESP),
	    "'people_500m' must be an integer from 0");
	REFUSED(hazard_source(f, f->known, "\"many\"", "[" CHLORINE "]",
	            "2025-06-01", RESP),
	    "people_500m");
	REFUSED(hazard_source(f, f->known, "1", "[]", "2025-06-01", RESP),
	    "'chemicals' must list 1 to");
	REFUSED(hazard_source(f, f->known, "1", "{}", "2025-06-01", RESP),
	    "chemicals");
	REFUSED(hazard_source(f, f->known, "1",
	            "[{\"name\":\"液氯\",\"q\":0,\"Q\":5,\"beta\":4}]",
	            "2025-06-01", RESP),
	    "data.chemicals[0]: field 'q' must be above 0");
	REFUSED(hazard_source(f, f->known, "1",
	            "[" CHLORINE ",{\"name\":\"x\",\"q\":1,\"beta\":1}]",
	            "2025-06-01", RESP),
	    "data.chemicals[1]");
	REFUSED(hazard_source(f, f->known, "1",
	            "[{\"name\":\"液氯\",\"cas\":\"7782-50-4\",\"q\":1,"
	            "\"Q\":5,\"beta\":4}]",
	            "2025-06-01", RESP),
	    "not a CAS number");
	REFUSED(hazard_source(f, f->known, "1",
	            "[{\"name\":\"液氯\",\"q\":1,\"Q\":5,\"beta\":4,\"S\":1}]",
	            "2025-06-01", RESP),
	    "data.chemicals[0]: unknown field 'S'");
	REFUSED(
	    hazard_source(f, f->known, "1", "[\"液氯\"]", "2025-06-01", RESP),
	    "data.chemicals[0] must be an object");
	REFUSED(hazard_source(f, f->known, "1", "[" CHLORINE "]", "2025-06-01",
	            "{\"main\":\"张三\",\"operational\":\"王五\"}"),
	    "technical");
	REFUSED(
	    hazard_source(f, f->bad, "1", "[" CHLORINE "]", "2025-06-01", RESP),
	    "not a valid unified social credit code");
	REFUSED(hazard_source(
	            f, f->fresh, "1", "[" CHLORINE "]", "2025-06-01", RESP),
	    "is not registered");
	REFUSED(one(f, "hazard_source.upsert",
	            "{\"code\":\"HS 1\",\"uscc\":\"%s\"}", f->known),
	    "'code' must not contain spaces");
	REFUSED(one(f, "hazard_source.upsert",
	            "{\"code\":\"HS-1\",\"uscc\":\"%s\",\"name\":\"x\","
	            "\"unit_type\":\"warehouse\"}",
	            f->known),
	    "'unit_type' must be one of production, storage");
	REFUSED(
	    one(f, "hazard_source.upsert",
	        "{\"code\":\"HS-1\",\"uscc\":\"%s\",\"grade\":1}", f->known),
	    "unknown field 'grade'");
	/* S and R are riskd's, not the sender's. */
	REFUSED(
	    one(f, "hazard_source.upsert", "{\"R\":12}"), "unknown field 'R'");
}

/* An enterprise upserted earlier in the request counts as registered, and
 * the source's scope applies to it. */
static void
test_enterprise_in_same_request(void **state)
{
	struct fixture *f = *state;

	send_events(f,
	    "{\"events\":[{\"kind\":\"enterprise.upsert\",\"id\":\"e-1\","
	    "\"at\":1795960000000,\"data\":{\"uscc\":\"%s\",\"name\":"
	    "\"新企业\","
	    "\"district\":\"370112\",\"sector\":\"gas\",\"employees\":5,"
	    "\"status\":\"operating\",\"enforcement_level\":\"district\"}},"
	    "{\"kind\":\"equipment.upsert\",\"id\":\"q-1\","
	    "\"at\":1795960000000,\"data\":{\"code\":\"EQ-9\",\"uscc\":\"%s\","
	    "\"kind\":\"boiler\",\"key_place\":false,"
	    "\"next_due_on\":\"2027-01-01\"}}]}",
	    f->fresh, f->fresh);
	assert_int_equal(f->job->nrejected, 0);
	assert_int_equal(f->job->nevents, 2);

	/* licheng (370112 only) may not write for the 370102 enterprise. */
	f->ctx.source = f->d370112;
	REFUSED(hazard_source(
	            f, f->known, "1", "[" CHLORINE "]", "2025-06-01", RESP),
	    "outside the scope of source licheng");
	f->ctx.source = f->city;
}

/* --- risk_point.upsert --------------------------------------------------- */

static const char *
risk_point(struct fixture *f, const char *factors)
{
	return one(f, "risk_point.upsert",
	    "{\"code\":\"RP-1\",\"uscc\":\"%s\",\"name\":\"装卸区\",%s,"
	    "\"measures\":\"双人作业，静电接地\"}",
	    f->known, factors);
}

static void
test_risk_point(void **state)
{
	struct fixture *f = *state;

	ACCEPTED(risk_point(f, "\"method\":\"LEC\",\"L\":3,\"E\":6,\"C\":15"));
	ACCEPTED(
	    risk_point(f, "\"method\":\"LEC\",\"L\":0.5,\"E\":0.5,\"C\":1"));
	ACCEPTED(risk_point(f, "\"method\":\"LS\",\"L\":4,\"S\":5"));
	REFUSED(risk_point(f, "\"method\":\"LEC\",\"L\":3,\"C\":15"),
	    "'E' is required");
	REFUSED(risk_point(f, "\"method\":\"LEC\",\"L\":3,\"E\":6,\"C\":15,"
	                      "\"S\":2"),
	    "'S' does not belong to method LEC");
	REFUSED(risk_point(f, "\"method\":\"LEC\",\"L\":3,\"E\":0,\"C\":15"),
	    "'E' must be above 0");
	REFUSED(risk_point(f, "\"method\":\"LEC\",\"L\":3,\"E\":6,\"C\":150"),
	    "'C' must be above 0 and at most 100");
	REFUSED(risk_point(f, "\"method\":\"LEC\",\"L\":\"3\",\"E\":6,\"C\":1"),
	    "'L' must be a number");
	REFUSED(risk_point(f, "\"method\":\"LS\",\"L\":6,\"S\":1"),
	    "'L' must be an integer from 1 to 5");
	REFUSED(risk_point(f, "\"method\":\"LS\",\"L\":2.5,\"S\":1"), "'L'");
	REFUSED(risk_point(f, "\"method\":\"LS\",\"L\":2,\"S\":1,\"E\":1"),
	    "'E' does not belong to method LS");
	REFUSED(risk_point(f, "\"method\":\"LS\",\"L\":2"), "'S' is required");
	REFUSED(risk_point(f, "\"method\":\"ABC\",\"L\":2"),
	    "'method' must be one of LEC, LS");
	REFUSED(one(f, "risk_point.upsert",
	            "{\"code\":\"RP-1\",\"uscc\":\"%s\",\"name\":\"x\","
	            "\"method\":\"LS\",\"L\":2,\"S\":2}",
	            f->known),
	    "'measures' is required");
}

/* --- responsibility.upsert ----------------------------------------------- */

static void
test_responsibility(void **state)
{
	struct fixture *f = *state;

	ACCEPTED(one(f, "responsibility.upsert",
	    "{\"uscc\":\"%s\",\"territorial\":\"370102\","
	    "\"sector_dept\":\"YJJ\",\"direct_dept\":\"SCJG\"}",
	    f->known));
	/* Departments are checked in apply: a well-formed unknown one
	 * passes here. */
	ACCEPTED(one(f, "responsibility.upsert",
	    "{\"uscc\":\"%s\",\"territorial\":\"370102\","
	    "\"sector_dept\":\"NOPE\",\"direct_dept\":\"YJJ\"}",
	    f->known));
	REFUSED(one(f, "responsibility.upsert",
	            "{\"uscc\":\"%s\",\"territorial\":\"370199\","
	            "\"sector_dept\":\"YJJ\",\"direct_dept\":\"YJJ\"}",
	            f->known),
	    "'territorial' '370199' is not a district code of the city");
	REFUSED(one(f, "responsibility.upsert",
	            "{\"uscc\":\"%s\",\"territorial\":\"370102\","
	            "\"sector_dept\":\"yjj\",\"direct_dept\":\"YJJ\"}",
	            f->known),
	    "'sector_dept' 'yjj' is not a department code");
	REFUSED(one(f, "responsibility.upsert",
	            "{\"uscc\":\"%s\",\"territorial\":\"370102\","
	            "\"sector_dept\":\"YJJ\"}",
	            f->known),
	    "'direct_dept' is required");
	REFUSED(one(f, "responsibility.upsert",
	            "{\"uscc\":\"%s\",\"territorial\":\"370102\","
	            "\"sector_dept\":\"YJJ\",\"direct_dept\":\"YJJ\"}",
	            f->bad),
	    "not a valid unified social credit code");
	REFUSED(one(f, "responsibility.upsert",
	            "{\"uscc\":\"%s\",\"territorial\":370102,"
	            "\"sector_dept\":\"YJJ\",\"direct_dept\":\"YJJ\"}",
	            f->known),
	    "'territorial' must be a string");
}

/* --- duty.roster --------------------------------------------------------- */

#define LEADER "{\"id\":\"L-1\",\"name\":\"赵局长\",\"phone\":\"13900000001\"}"

static const char *
roster(struct fixture *f, const char *unit, const char *start, const char *end,
    const char *leader, const char *officers)
{
	return one(f, "duty.roster",
	    "{\"unit\":\"%s\",\"start\":%s,\"end\":%s,\"leader\":%s,"
	    "\"officers\":%s}",
	    unit, start, end, leader, officers);
}

static const char *
roster_phone(struct fixture *f, const char *phone)
{
	char officer[200];

	snprintf(officer, sizeof(officer),
	    "[{\"id\":\"O-1\",\"name\":\"钱\",\"phone\":\"%s\"}]", phone);
	return roster(f, "370112", "\"2026-11-30T08:00:00+08:00\"",
	    "\"2026-11-30T20:00:00+08:00\"", LEADER, officer);
}

static void
test_roster(void **state)
{
	struct fixture *f = *state;

	ACCEPTED(roster(f, "370112", "\"2026-11-30T08:00:00+08:00\"",
	    "\"2026-11-30T20:00:00+08:00\"", LEADER,
	    "[" LEADER ",{\"id\":\"O-2\",\"name\":\"孙\","
	    "\"phone\":\"0531-86012345\"}]"));
	/* The city office and departments, with epoch milliseconds. */
	ACCEPTED(roster(f, "AWB", "1795996800000", "1796040000000", LEADER,
	    "[" LEADER "]"));
	ACCEPTED(roster(f, "YJJ", "1795996800000", "1796040000000", LEADER,
	    "[" LEADER "]"));
	REFUSED(roster(f, "370199", "1795996800000", "1796040000000", LEADER,
	            "[" LEADER "]"),
	    "'unit' '370199' is not a district code of the city");
	REFUSED(roster(f, "awb!", "1795996800000", "1796040000000", LEADER,
	            "[" LEADER "]"),
	    "'unit' must be a district code, a department code or AWB");
	REFUSED(roster(f, "AWB", "1796040000000", "1796040000000", LEADER,
	            "[" LEADER "]"),
	    "'start' must be before 'end'");
	REFUSED(roster(f, "AWB", "\"2026-11-30T08:00:00+08:00\"",
	            "\"2026-12-08T08:00:00+08:00\"", LEADER, "[" LEADER "]"),
	    "a shift lasts at most 7 days, this one 192 hours");
	REFUSED(roster(f, "AWB", "\"2026-11-30 08:00\"", "1796040000000",
	            LEADER, "[" LEADER "]"),
	    "'start' is not an RFC 3339 time");
	REFUSED(roster(f, "AWB", "1795996800000.5", "1796040000000", LEADER,
	            "[" LEADER "]"),
	    "'start' must be an RFC 3339 string with offset or integer");
	REFUSED(roster(f, "AWB", "\"2028-11-30T08:00:00+08:00\"",
	            "\"2028-11-30T20:00:00+08:00\"", LEADER, "[" LEADER "]"),
	    "400 days");
	REFUSED(
	    roster(f, "AWB", "1795996800000", "1796040000000", LEADER, "[]"),
	    "'officers' must list 1 to 50 officers, got 0");
	REFUSED(
	    roster(f, "AWB", "1795996800000", "1796040000000",
	        "{\"id\":\"L-1\",\"phone\":\"13900000001\"}", "[" LEADER "]"),
	    "data.leader: field 'name' is required");
	REFUSED(roster(f, "AWB", "1795996800000", "1796040000000", LEADER,
	            "[" LEADER ",{\"id\":\"O-2\",\"name\":\"孙\","
	            "\"phone\":\"13900000002\",\"wechat\":\"x\"}]"),
	    "data.officers[1]: unknown field 'wechat'");
	REFUSED(roster(f, "AWB", "1795996800000", "1796040000000", "[]",
	            "[" LEADER "]"),
	    "'leader' must be an object");

	/* Phones: mobiles, landlines with area code and extension. */
	ACCEPTED(roster_phone(f, "+8613912345678"));
	ACCEPTED(roster_phone(f, "+86-13912345678"));
	ACCEPTED(roster_phone(f, "053186012345"));
	ACCEPTED(roster_phone(f, "010-12345678"));
	ACCEPTED(roster_phone(f, "0531-6012345-801"));
	REFUSED(roster_phone(f, "12345"), "phone '12345' is not plausible");
	REFUSED(roster_phone(f, "1391234567"), "is not plausible");
	REFUSED(roster_phone(f, "12912345678"), "is not plausible");
	REFUSED(roster_phone(f, "0531-123"), "is not plausible");
	REFUSED(roster_phone(f, "0531-86012345-"), "is not plausible");
	REFUSED(roster_phone(f, "+86053186012345"), "is not plausible");
	REFUSED(roster_phone(f, "139 1234 5678"), "is not plausible");

	/* Scope: a district source writes its district's roster only. */
	f->ctx.source = f->d370112;
	ACCEPTED(roster(f, "370112", "1795996800000", "1796040000000", LEADER,
	    "[" LEADER "]"));
	REFUSED(roster(f, "370102", "1795996800000", "1796040000000", LEADER,
	            "[" LEADER "]"),
	    "belongs to district 370102 outside the scope of source licheng");
	REFUSED(roster(f, "AWB", "1795996800000", "1796040000000", LEADER,
	            "[" LEADER "]"),
	    "duty roster of AWB is city-wide");
	f->ctx.source = f->city;
}

/* --- inspector.upsert ----------------------------------------------------- */

static void
test_inspector(void **state)
{
	struct fixture *f = *state;

	ACCEPTED(one(f, "inspector.upsert",
	    "{\"id\":\"I-1\",\"name\":\"周\",\"dept\":\"YJJ\","
	    "\"district\":\"370112\",\"active\":true,"
	    "\"conflicts\":[\"%s\",\"%s\"]}",
	    f->known, f->fresh));
	ACCEPTED(one(f, "inspector.upsert",
	    "{\"id\":\"I-2\",\"name\":\"吴\",\"dept\":\"YJJ\","
	    "\"active\":false,\"conflicts\":[]}"));
	REFUSED(one(f, "inspector.upsert",
	            "{\"id\":\"I-1\",\"name\":\"周\",\"dept\":\"YJJ\","
	            "\"active\":true,\"conflicts\":[\"%s\"]}",
	            f->bad),
	    "conflicts[0] is not a valid unified social credit code");
	REFUSED(one(f, "inspector.upsert",
	            "{\"id\":\"I-1\",\"name\":\"周\",\"dept\":\"YJJ\","
	            "\"active\":true,\"conflicts\":[\"%s\",\"%s\"]}",
	            f->known, f->known),
	    "conflicts[1] repeats conflicts[0]");
	REFUSED(one(f, "inspector.upsert",
	            "{\"id\":\"I-1\",\"name\":\"周\",\"dept\":\"YJJ\","
	            "\"active\":true,\"conflicts\":[42]}"),
	    "conflicts[0] is not a valid");
	REFUSED(one(f, "inspector.upsert",
	            "{\"id\":\"I-1\",\"name\":\"周\",\"dept\":\"YJJ\","
	            "\"active\":\"yes\",\"conflicts\":[]}"),
	    "'active' must be");
	REFUSED(
	    one(f, "inspector.upsert",
	        "{\"id\":\"I-1\",\"name\":\"周\",\"dept\":\"YJJ\","
	        "\"district\":\"370199\",\"active\":true,\"conflicts\":[]}"),
	    "'district' '370199' is not a district code of the city");
	REFUSED(one(f, "inspector.upsert",
	            "{\"id\":\"I-1\",\"name\":\"周\",\"dept\":\"Y\","
	            "\"active\":true,\"conflicts\":[]}"),
	    "'dept' 'Y' is not a department code");
	REFUSED(one(f, "inspector.upsert",
	            "{\"id\":\"I-1\",\"name\":\"周\",\"dept\":\"YJJ\","
	            "\"active\":true}"),
	    "'conflicts' is required");
}

/* --- agency.upsert ----------------------------------------------------------
 */

static void
test_agency(void **state)
{
	struct fixture *f = *state;

	ACCEPTED(one(f, "agency.upsert",
	    "{\"code\":\"AG-1\",\"name\":\"山东安评中心\",\"district\":"
	    "\"370112\","
	    "\"kind\":\"evaluation\",\"out_of_province\":false}"));
	ACCEPTED(one(f, "agency.upsert",
	    "{\"code\":\"AG-2\",\"name\":\"北京检测\",\"district\":\"110101\","
	    "\"kind\":\"testing\",\"out_of_province\":true}"));
	REFUSED(one(f, "agency.upsert",
	            "{\"code\":\"AG-2\",\"name\":\"北京检测\","
	            "\"district\":\"110101\",\"kind\":\"testing\","
	            "\"out_of_province\":false}"),
	    "'district' '110101' is not a district code of the city");
	REFUSED(one(f, "agency.upsert",
	            "{\"code\":\"AG-2\",\"name\":\"x\",\"district\":\"1101\","
	            "\"kind\":\"testing\",\"out_of_province\":true}"),
	    "not a 6-digit GB/T 2260 code");
	REFUSED(one(f, "agency.upsert",
	            "{\"code\":\"AG-2\",\"name\":\"x\",\"district\":\"370112\","
	            "\"kind\":\"testing\"}"),
	    "'out_of_province' is required");
	REFUSED(one(f, "agency.upsert",
	            "{\"code\":\"AG-2\",\"name\":\"\",\"district\":\"370112\","
	            "\"kind\":\"testing\",\"out_of_province\":false}"),
	    "'name' must be 1 to");
}

/* --- equipment.upsert --------------------------------------------------------
 */

static const char *
equipment(
    struct fixture *f, const char *kind, const char *extra, const char *due)
{
	return one(f, "equipment.upsert",
	    "{\"code\":\"EQ-1\",\"uscc\":\"%s\",\"kind\":\"%s\","
	    "\"key_place\":true,\"next_due_on\":\"%s\"%s}",
	    f->known, kind, due, extra);
}

static void
test_equipment(void **state)
{
	struct fixture *f = *state;

	ACCEPTED(equipment(f, "elevator",
	    ",\"rescue_code\":\"370123\",\"insured\":true,\"on_96333\":true",
	    "2027-03-01"));
	ACCEPTED(equipment(f, "boiler", ",\"on_96333\":false", "2027-03-01"));
	ACCEPTED(equipment(f, "site_vehicle", "", "2026-01-01"));
	REFUSED(equipment(
	            f, "elevator", ",\"rescue_code\":\"37012\"", "2027-03-01"),
	    "'rescue_code' must be exactly 6 digits");
	REFUSED(equipment(
	            f, "elevator", ",\"rescue_code\":\"37012a\"", "2027-03-01"),
	    "'rescue_code' must be exactly 6 digits");
	REFUSED(
	    equipment(f, "elevator", ",\"rescue_code\":370123", "2027-03-01"),
	    "'rescue_code' must be a string");
	REFUSED(
	    equipment(f, "boiler", ",\"rescue_code\":\"370123\"", "2027-03-01"),
	    "only elevators are on 96333");
	REFUSED(equipment(f, "crane", ",\"on_96333\":true", "2027-03-01"),
	    "only elevators are on 96333");
	REFUSED(equipment(f, "forklift", "", "2027-03-01"),
	    "'kind' must be one of elevator, boiler");
	REFUSED(equipment(f, "boiler", "", "2027-02-30"),
	    "'next_due_on' is not a date");
	REFUSED(equipment(f, "boiler", "", "27-02-01"),
	    "'next_due_on' is not a date");
	REFUSED(equipment(f, "boiler", ",\"insured\":\"no\"", "2027-02-01"),
	    "'insured' must be");
	REFUSED(one(f, "equipment.upsert",
	            "{\"code\":\"EQ-1\",\"uscc\":\"%s\",\"kind\":\"boiler\","
	            "\"next_due_on\":\"2027-02-01\"}",
	            f->known),
	    "'key_place' is required");
	REFUSED(one(f, "equipment.upsert",
	            "{\"code\":\"EQ-1\",\"uscc\":\"%s\",\"kind\":\"boiler\","
	            "\"key_place\":true,\"next_due_on\":\"2027-02-01\"}",
	            f->fresh),
	    "is not registered");
}

/* Malformed data of every kind is refused, never crashes. */
static void
test_malformed(void **state)
{
	static const char *const kinds[] = {"hazard_source.upsert",
	    "risk_point.upsert", "responsibility.upsert", "duty.roster",
	    "inspector.upsert", "agency.upsert", "equipment.upsert"};
	static const char *const datas[] = {"{}", "{\"code\":null}",
	    "{\"uscc\":[]}", "{\"unit\":{}}", "{\"id\":\"\"}",
	    "{\"code\":\"x\",\"uscc\":\"\\u00e9\"}", "{\"code\":1e300}"};
	struct fixture *f = *state;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		for (size_t d = 0; d < sizeof(datas) / sizeof(datas[0]); d++)
			assert_non_null(one(f, kinds[k], "%s", datas[d]));
	REFUSED(one(f, "duty.roster", "[]"), "'data' must be an object");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_hazard_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_enterprise_in_same_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_risk_point, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_responsibility, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roster, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inspector, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_agency, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_equipment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

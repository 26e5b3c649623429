/*
 * test_alarmd_route - routing by responsibility and duty rosters, and the
 * gaps in the rosters (services/alarmd/route.c).
 *
 * A small city: district 370112 (历城区), sector department YJJ (应急局),
 * direct department ZJJ (住建局), and the city office AWB, each with a day
 * shift whose leader and officers are named after their unit and role
 * ("370112-L", "370112-O1"), so a wrong unit or role shows in the id.  Each
 * tier's recipients are checked person by person, in order, with role and
 * unit, as DOMAIN.md section 6 reads: yellow the territory's officers,
 * orange plus the sector's, red plus the city office's leader, the top
 * tier plus the territorial and sector leaders.  Gap tests put holes at
 * the start, middle and end of a period, with overlapping, adjacent and
 * out-of-order shifts and shifts of other units in the way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/alarmd/route.h"

#define T0 INT64_C(1795996800000) /* a midnight, city time */
#define HOUR_MS INT64_C(3600000)
#define DAY_MS (24 * HOUR_MS)
#define NOON (T0 + 12 * HOUR_MS)

#define TERR "370112"
#define SECTOR "YJJ"
#define DIRECT "ZJJ"

/* --- fixtures ----------------------------------------------------------- */

static void
person(struct route_person *p, const char *id)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->name, sizeof(p->name), "值班人员%s", id);
	snprintf(p->phone, sizeof(p->phone), "1380000%s", id);
}

/* A shift of unit over [start, end) with leader "<tag>-L" and officers
 * "<tag>-O1".."<tag>-On". */
static struct route_shift
shift(const char *unit, const char *tag, int64_t start, int64_t end,
    size_t nofficers)
{
	struct route_shift sh;
	char id[64];
	size_t i;

	memset(&sh, 0, sizeof(sh));
	snprintf(sh.unit, sizeof(sh.unit), "%s", unit);
	sh.start_ms = start;
	sh.end_ms = end;
	snprintf(id, sizeof(id), "%s-L", tag);
	person(&sh.leader, id);
	sh.nofficers = nofficers;
	for (i = 0; i < nofficers; i++) {
		snprintf(id, sizeof(id), "%s-O%zu", tag, i + 1);
		person(&sh.officers[i], id);
	}
	return sh;
}

static struct route_resp
resp(const char *terr, const char *sector, const char *direct)
{
	struct route_resp r;

	memset(&r, 0, sizeof(r));
	snprintf(r.territorial, sizeof(r.territorial), "%s", terr);
	snprintf(r.sector_dept, sizeof(r.sector_dept), "%s", sector);
	snprintf(r.direct_dept, sizeof(r.direct_dept), "%s", direct);
	return r;
}

/* The day shifts of the whole city, with a night shift of another
 * district and another department in the way. */
static size_t
city_day(struct route_shift *sh)
{
	size_t n = 0;

	sh[n++] = shift("370102", "370102", T0, T0 + DAY_MS, 2);
	sh[n++] = shift(TERR, TERR, T0, T0 + DAY_MS, 2);
	sh[n++] = shift(SECTOR, SECTOR, T0, T0 + DAY_MS, 2);
	sh[n++] = shift(DIRECT, DIRECT, T0, T0 + DAY_MS, 1);
	sh[n++] = shift("AWB", "AWB", T0, T0 + DAY_MS, 2);
	sh[n++] = shift("GXJ", "GXJ", T0, T0 + DAY_MS, 1);
	return n;
}

/* One expected recipient: person id, role, unit. */
struct want {
	const char *id;
	enum route_role role;
	const char *unit;
};

static void
expect_recipients(
    const struct route_result *out, const struct want *w, size_t n)
{
	size_t i;

	if (out->n != n) {
		for (i = 0; i < out->n; i++)
			print_message("  got %s %s %s\n", out->r[i].person.id,
			    route_role_name(out->r[i].role), out->r[i].unit);
		fail_msg("%zu recipients, want %zu", out->n, n);
	}
	for (i = 0; i < n; i++) {
		assert_string_equal(out->r[i].person.id, w[i].id);
		assert_int_equal(out->r[i].role, w[i].role);
		assert_string_equal(out->r[i].unit, w[i].unit);
	}
}

static void
expect_gaps(const struct route_result *out, const char *const *units, size_t n)
{
	size_t i;

	assert_int_equal(out->ngaps, n);
	for (i = 0; i < n; i++)
		assert_string_equal(out->gaps[i], units[i]);
}

/* --- names -------------------------------------------------------------- */

static void
test_role_names(void **state)
{
	(void)state;
	assert_string_equal(
	    route_role_name(ROLE_TERRITORIAL_OFFICER), "territorial_officer");
	assert_string_equal(
	    route_role_name(ROLE_SECTOR_OFFICER), "sector_officer");
	assert_string_equal(route_role_name(ROLE_CITY_LEADER), "city_leader");
	assert_string_equal(
	    route_role_name(ROLE_TERRITORIAL_LEADER), "territorial_leader");
	assert_string_equal(
	    route_role_name(ROLE_SECTOR_LEADER), "sector_leader");
	assert_string_equal(route_role_name(ROLE_CITY_OFFICER), "city_officer");
	assert_string_equal(route_role_name((enum route_role)6), "");
	assert_string_equal(route_role_name((enum route_role) - 1), "");
	assert_string_equal(
	    route_role_zh(ROLE_TERRITORIAL_OFFICER), "属地值班员");
	assert_string_equal(
	    route_role_zh(ROLE_SECTOR_OFFICER), "行业部门值班员");
	assert_string_equal(
	    route_role_zh(ROLE_CITY_LEADER), "市安委办带班领导");
	assert_string_equal(
	    route_role_zh(ROLE_TERRITORIAL_LEADER), "属地带班领导");
	assert_string_equal(
	    route_role_zh(ROLE_SECTOR_LEADER), "行业部门带班领导");
	assert_string_equal(route_role_zh(ROLE_CITY_OFFICER), "市安委办值班员");
	assert_string_equal(route_role_zh((enum route_role)6), "");
}

/* --- each tier ---------------------------------------------------------- */

static const struct want tier0[] = {
    {"370112-O1", ROLE_TERRITORIAL_OFFICER, TERR},
    {"370112-O2", ROLE_TERRITORIAL_OFFICER, TERR},
};
static const struct want tier1[] = {
    {"370112-O1", ROLE_TERRITORIAL_OFFICER, TERR},
    {"370112-O2", ROLE_TERRITORIAL_OFFICER, TERR},
    {"YJJ-O1", ROLE_SECTOR_OFFICER, SECTOR},
    {"YJJ-O2", ROLE_SECTOR_OFFICER, SECTOR},
};
static const struct want tier2[] = {
    {"370112-O1", ROLE_TERRITORIAL_OFFICER, TERR},
    {"370112-O2", ROLE_TERRITORIAL_OFFICER, TERR},
    {"YJJ-O1", ROLE_SECTOR_OFFICER, SECTOR},
    {"YJJ-O2", ROLE_SECTOR_OFFICER, SECTOR},
    {"AWB-L", ROLE_CITY_LEADER, "AWB"},
};
static const struct want tier3[] = {
    {"370112-O1", ROLE_TERRITORIAL_OFFICER, TERR},
    {"370112-O2", ROLE_TERRITORIAL_OFFICER, TERR},
    {"YJJ-O1", ROLE_SECTOR_OFFICER, SECTOR},
    {"YJJ-O2", ROLE_SECTOR_OFFICER, SECTOR},
    {"AWB-L", ROLE_CITY_LEADER, "AWB"},
    {"370112-L", ROLE_TERRITORIAL_LEADER, TERR},
    {"YJJ-L", ROLE_SECTOR_LEADER, SECTOR},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_each_tier(void **state)
{
	struct route_shift sh[16];
	struct route_resp r = resp(TERR, SECTOR, DIRECT);
	struct route_result out;
	size_t n = city_day(sh);

	(void)state;
	/* Tier 0: a yellow incident. */
	route_recipients(&r, 0, sh, n, NOON, &out);
	expect_recipients(&out, tier0, N(tier0));
	assert_int_equal(out.ngaps, 0);
	/* Tier 1: orange. */
	route_recipients(&r, 1, sh, n, NOON, &out);
	expect_recipients(&out, tier1, N(tier1));
	assert_int_equal(out.ngaps, 0);
	/* Tier 2: red. */
	route_recipients(&r, 2, sh, n, NOON, &out);
	expect_recipients(&out, tier2, N(tier2));
	assert_int_equal(out.ngaps, 0);
	/* Tier 3: red, escalated. */
	route_recipients(&r, 3, sh, n, NOON, &out);
	expect_recipients(&out, tier3, N(tier3));
	assert_int_equal(out.ngaps, 0);
	/* Beyond the cap is the top tier; below 0 is tier 0. */
	route_recipients(&r, 9, sh, n, NOON, &out);
	expect_recipients(&out, tier3, N(tier3));
	route_recipients(&r, -1, sh, n, NOON, &out);
	expect_recipients(&out, tier0, N(tier0));
}

static void
test_direct_dept_when_no_sector(void **state)
{
	struct route_shift sh[16];
	struct route_resp r = resp(TERR, "", DIRECT);
	struct route_result out;
	size_t n = city_day(sh);
	const struct want w[] = {
	    {"370112-O1", ROLE_TERRITORIAL_OFFICER, TERR},
	    {"370112-O2", ROLE_TERRITORIAL_OFFICER, TERR},
	    {"ZJJ-O1", ROLE_SECTOR_OFFICER, DIRECT},
	    {"AWB-L", ROLE_CITY_LEADER, "AWB"},
	    {"370112-L", ROLE_TERRITORIAL_LEADER, TERR},
	    {"ZJJ-L", ROLE_SECTOR_LEADER, DIRECT},
	};

	(void)state;
	route_recipients(&r, 3, sh, n, NOON, &out);
	expect_recipients(&out, w, N(w));
	assert_int_equal(out.ngaps, 0);
	/* With a sector department the direct one is not told. */
	r = resp(TERR, SECTOR, DIRECT);
	route_recipients(&r, 3, sh, n, NOON, &out);
	expect_recipients(&out, tier3, N(tier3));
}

static void
test_duplicates(void **state)
{
	struct route_shift sh[16];
	struct route_resp r = resp(TERR, SECTOR, DIRECT);
	struct route_result out;
	size_t n = city_day(sh);
	/* sh[1] is the territory's shift, sh[2] the sector's, sh[4] the
	 * city office's. */
	const struct want first_role[] = {
	    {"370112-O1", ROLE_TERRITORIAL_OFFICER, TERR},
	    {"370112-O2", ROLE_TERRITORIAL_OFFICER, TERR},
	    {"YJJ-O1", ROLE_SECTOR_OFFICER, SECTOR},
	    {"YJJ-L", ROLE_SECTOR_OFFICER, SECTOR},
	    {"370112-L", ROLE_TERRITORIAL_LEADER, TERR},
	};
	const struct want twice_in_shift[] = {
	    {"370112-O1", ROLE_TERRITORIAL_OFFICER, TERR},
	    {"YJJ-O1", ROLE_SECTOR_OFFICER, SECTOR},
	    {"370112-O2", ROLE_CITY_LEADER, "AWB"},
	    {"370112-L", ROLE_TERRITORIAL_LEADER, TERR},
	    {"YJJ-L", ROLE_SECTOR_LEADER, SECTOR},
	};

	(void)state;
	/* The territory's O1 also stands on the sector's shift, its O2 is
	 * the city office's leader today, and the sector lists its leader
	 * among its officers too: each is told once, in the first role. */
	person(&sh[2].officers[1], "370112-O1");
	sh[2].nofficers = 3;
	person(&sh[2].officers[2], "YJJ-L");
	person(&sh[4].leader, "370112-O2");
	route_recipients(&r, 3, sh, n, NOON, &out);
	expect_recipients(&out, first_role, N(first_role));

	/* The same officer twice in one shift is one recipient (and O2,
	 * now not on the territory's shift, is the city's leader). */
	sh[2].nofficers = 2;
	person(&sh[1].officers[0], "370112-O1");
	person(&sh[1].officers[1], "370112-O1");
	route_recipients(&r, 3, sh, n, NOON, &out);
	expect_recipients(&out, twice_in_shift, N(twice_in_shift));
}

static void
test_people_without_ids(void **state)
{
	struct route_shift sh[1];
	struct route_resp r = resp(TERR, SECTOR, DIRECT);
	struct route_result out;

	(void)state;
	sh[0] = shift(TERR, TERR, T0, T0 + DAY_MS, 4);
	/* Two entries with no id but the same name and phone are one
	 * person; a different phone is another; an empty entry nobody. */
	memset(&sh[0].officers[0], 0, sizeof(sh[0].officers[0]));
	snprintf(sh[0].officers[0].name, 64, "%s", "张三");
	snprintf(sh[0].officers[0].phone, 32, "%s", "13800000001");
	sh[0].officers[1] = sh[0].officers[0];
	sh[0].officers[2] = sh[0].officers[0];
	snprintf(sh[0].officers[2].phone, 32, "%s", "13800000002");
	memset(&sh[0].officers[3], 0, sizeof(sh[0].officers[3]));
	route_recipients(&r, 0, sh, 1, NOON, &out);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.r[0].person.phone, "13800000001");
	assert_string_equal(out.r[0].person.name, "张三");
	assert_string_equal(out.r[1].person.phone, "13800000002");
	assert_int_equal(out.r[1].role, ROLE_TERRITORIAL_OFFICER);
}

static void
test_officer_count_capped(void **state)
{
	struct route_shift sh[1];
	struct route_resp r = resp(TERR, SECTOR, DIRECT);
	struct route_result out;
	size_t i;
	char id[64];

	(void)state;
	sh[0] = shift(TERR, TERR, T0, T0 + DAY_MS, ROUTE_OFFICERS_MAX);
	/* A count beyond the array is read as the array's size. */
	sh[0].nofficers = ROUTE_OFFICERS_MAX + 5;
	route_recipients(&r, 0, sh, 1, NOON, &out);
	assert_int_equal(out.n, ROUTE_OFFICERS_MAX);
	for (i = 0; i < ROUTE_OFFICERS_MAX; i++) {
		snprintf(id, sizeof(id), "370112-O%zu", i + 1);
		assert_string_equal(out.r[i].person.id, id);
	}
}

/* --- which shift -------------------------------------------------------- */

static void
test_overlapping_shifts(void **state)
{
	struct route_shift sh[4];
	struct route_resp r = resp(TERR, SECTOR, DIRECT);
	struct route_result out;

	(void)state;
	/* A day shift and a swap that started later within it: the later
	 * start wins, whichever comes first in the array. */
	sh[0] = shift(TERR, "swap", T0 + 10 * HOUR_MS, T0 + 14 * HOUR_MS, 1);
	sh[1] = shift(TERR, "day", T0 + 8 * HOUR_MS, T0 + 20 * HOUR_MS, 1);
	sh[2] = shift(TERR, "night", T0 - 4 * HOUR_MS, T0 + 8 * HOUR_MS, 1);
	route_recipients(&r, 0, sh, 3, NOON, &out);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.r[0].person.id, "swap-O1");
	sh[3] = sh[0];
	sh[0] = sh[1];
	sh[1] = sh[3];
	route_recipients(&r, 0, sh, 3, NOON, &out);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.r[0].person.id, "swap-O1");
	/* [start, end): the swap's end belongs to the day shift, the day
	 * shift's start to it and not to the night shift. */
	route_recipients(&r, 0, sh, 3, T0 + 14 * HOUR_MS, &out);
	assert_string_equal(out.r[0].person.id, "day-O1");
	route_recipients(&r, 0, sh, 3, T0 + 14 * HOUR_MS - 1, &out);
	assert_string_equal(out.r[0].person.id, "swap-O1");
	route_recipients(&r, 0, sh, 3, T0 + 8 * HOUR_MS, &out);
	assert_string_equal(out.r[0].person.id, "day-O1");
	route_recipients(&r, 0, sh, 3, T0 + 8 * HOUR_MS - 1, &out);
	assert_string_equal(out.r[0].person.id, "night-O1");
	/* After the last shift's end: nobody, a gap. */
	route_recipients(&r, 0, sh, 3, T0 + 20 * HOUR_MS, &out);
	assert_int_equal(out.n, 0);
	assert_int_equal(out.ngaps, 1);
	assert_string_equal(out.gaps[0], TERR);
}

/* --- gaps --------------------------------------------------------------- */

static void
test_gap_each_tier(void **state)
{
	struct route_shift all[16], sh[16];
	struct route_resp r = resp(TERR, SECTOR, DIRECT);
	struct route_result out;
	size_t n = city_day(all), i, m;
	const char *const terr_gap[] = {TERR};
	const char *const sector_gap[] = {SECTOR};
	const char *const city_gap[] = {"AWB"};
	const char *const all_gaps[] = {TERR, SECTOR, "AWB"};
	const struct want no_terr[] = {
	    {"YJJ-O1", ROLE_SECTOR_OFFICER, SECTOR},
	    {"YJJ-O2", ROLE_SECTOR_OFFICER, SECTOR},
	    {"AWB-L", ROLE_CITY_LEADER, "AWB"},
	    {"YJJ-L", ROLE_SECTOR_LEADER, SECTOR},
	};

	(void)state;
	/* The territory uncovered: a gap from tier 0 on. */
	for (i = 0, m = 0; i < n; i++)
		if (strcmp(all[i].unit, TERR) != 0)
			sh[m++] = all[i];
	route_recipients(&r, 0, sh, m, NOON, &out);
	assert_int_equal(out.n, 0);
	expect_gaps(&out, terr_gap, 1);
	route_recipients(&r, 3, sh, m, NOON, &out);
	expect_recipients(&out, no_terr, N(no_terr));
	expect_gaps(&out, terr_gap, 1);

	/* The sector uncovered: no gap at tier 0 (not asked), one from 1. */
	for (i = 0, m = 0; i < n; i++)
		if (strcmp(all[i].unit, SECTOR) != 0)
			sh[m++] = all[i];
	route_recipients(&r, 0, sh, m, NOON, &out);
	expect_recipients(&out, tier0, N(tier0));
	assert_int_equal(out.ngaps, 0);
	route_recipients(&r, 1, sh, m, NOON, &out);
	expect_recipients(&out, tier0, N(tier0));
	expect_gaps(&out, sector_gap, 1);

	/* The city office uncovered: a gap from tier 2. */
	for (i = 0, m = 0; i < n; i++)
		if (strcmp(all[i].unit, "AWB") != 0)
			sh[m++] = all[i];
	route_recipients(&r, 1, sh, m, NOON, &out);
	expect_recipients(&out, tier1, N(tier1));
	assert_int_equal(out.ngaps, 0);
	route_recipients(&r, 2, sh, m, NOON, &out);
	expect_recipients(&out, tier1, N(tier1));
	expect_gaps(&out, city_gap, 1);

	/* Nobody anywhere: each unit once, in tier order. */
	route_recipients(&r, 3, NULL, 0, NOON, &out);
	assert_int_equal(out.n, 0);
	expect_gaps(&out, all_gaps, 3);

	/* A unit both territorial and sector (a data error) is one gap. */
	r = resp(TERR, TERR, DIRECT);
	route_recipients(&r, 3, NULL, 0, NOON, &out);
	{
		const char *const two[] = {TERR, "AWB"};
		expect_gaps(&out, two, 2);
	}
	/* The sector being the city office itself: one gap. */
	r = resp(TERR, "AWB", DIRECT);
	route_recipients(&r, 3, NULL, 0, NOON, &out);
	{
		const char *const two[] = {TERR, "AWB"};
		expect_gaps(&out, two, 2);
	}
	/* Unknown units (empty) are no roster's gap. */
	r = resp("", "", "");
	route_recipients(&r, 3, all, n, NOON, &out);
	{
		const struct want city_only[] = {
		    {"AWB-L", ROLE_CITY_LEADER, "AWB"}};
		expect_recipients(&out, city_only, 1);
	}
	assert_int_equal(out.ngaps, 0);
}

static void
test_no_enterprise(void **state)
{
	struct route_shift sh[16];
	struct route_result out;
	size_t n = city_day(sh);
	const struct want w[] = {
	    {"AWB-O1", ROLE_CITY_OFFICER, "AWB"},
	    {"AWB-O2", ROLE_CITY_OFFICER, "AWB"},
	    {"AWB-L", ROLE_CITY_LEADER, "AWB"},
	};
	const char *const city_gap[] = {"AWB"};
	int tier;

	(void)state;
	for (tier = 0; tier <= 3; tier++) {
		route_recipients(NULL, tier, sh, n, NOON, &out);
		expect_recipients(&out, w, N(w));
		assert_int_equal(out.ngaps, 0);
	}
	/* The city office itself uncovered. */
	route_recipients(NULL, 2, sh, 4, NOON, &out);
	assert_int_equal(out.n, 0);
	expect_gaps(&out, city_gap, 1);
}

/* --- route_gaps --------------------------------------------------------- */

static void
expect_holes(
    const struct route_gap *g, size_t n, const int64_t *want, size_t nwant)
{
	size_t i;

	assert_int_equal(n, nwant);
	for (i = 0; i < nwant; i++) {
		assert_int_equal(g[i].from_ms, want[2 * i]);
		assert_int_equal(g[i].to_ms, want[2 * i + 1]);
	}
}

#define H(x) (T0 + (x)*HOUR_MS)

static void
test_gaps_holes(void **state)
{
	struct route_shift sh[8];
	struct route_gap g[8];
	size_t n;

	(void)state;
	/* Covered all through, by shifts reaching beyond both ends. */
	sh[0] = shift(TERR, "a", H(-8), H(8), 1);
	sh[1] = shift(TERR, "b", H(8), H(32), 1);
	n = route_gaps(TERR, sh, 2, H(0), H(24), g, 8);
	assert_int_equal(n, 0);

	/* A hole at the start. */
	sh[0] = shift(TERR, "a", H(2), H(24), 1);
	n = route_gaps(TERR, sh, 1, H(0), H(24), g, 8);
	{
		const int64_t w[] = {H(0), H(2)};
		expect_holes(g, n, w, 1);
	}
	/* A hole in the middle. */
	sh[0] = shift(TERR, "a", H(0), H(8), 1);
	sh[1] = shift(TERR, "b", H(9), H(24), 1);
	n = route_gaps(TERR, sh, 2, H(0), H(24), g, 8);
	{
		const int64_t w[] = {H(8), H(9)};
		expect_holes(g, n, w, 1);
	}
	/* A hole at the end, one millisecond long. */
	sh[0] = shift(TERR, "a", H(0), H(24) - 1, 1);
	n = route_gaps(TERR, sh, 1, H(0), H(24), g, 8);
	{
		const int64_t w[] = {H(24) - 1, H(24)};
		expect_holes(g, n, w, 1);
	}
	/* No shift at all: the whole period. */
	n = route_gaps(TERR, sh, 0, H(0), H(24), g, 8);
	{
		const int64_t w[] = {H(0), H(24)};
		expect_holes(g, n, w, 1);
	}
	/* All three at once, shifts out of order. */
	sh[0] = shift(TERR, "b", H(12), H(20), 1);
	sh[1] = shift(TERR, "a", H(1), H(10), 1);
	n = route_gaps(TERR, sh, 2, H(0), H(24), g, 8);
	{
		const int64_t w[] = {H(0), H(1), H(10), H(12), H(20), H(24)};
		expect_holes(g, n, w, 3);
	}
	/* An empty or reversed period has no gap. */
	assert_int_equal(route_gaps(TERR, sh, 0, H(5), H(5), g, 8), 0);
	assert_int_equal(route_gaps(TERR, sh, 0, H(6), H(5), g, 8), 0);
}

static void
test_gaps_overlap_adjacent(void **state)
{
	struct route_shift sh[8];
	struct route_gap g[8];
	size_t n;

	(void)state;
	/* Adjacent shifts leave no gap at the seam. */
	sh[0] = shift(TERR, "a", H(0), H(8), 1);
	sh[1] = shift(TERR, "b", H(8), H(16), 1);
	sh[2] = shift(TERR, "c", H(16), H(24), 1);
	assert_int_equal(route_gaps(TERR, sh, 3, H(0), H(24), g, 8), 0);
	/* Overlapping ones merge: one inside another, one reaching past
	 * the end of the first; the hole after them is one gap. */
	sh[0] = shift(TERR, "a", H(0), H(10), 1);
	sh[1] = shift(TERR, "b", H(2), H(6), 1);
	sh[2] = shift(TERR, "c", H(9), H(14), 1);
	sh[3] = shift(TERR, "d", H(13), H(15), 1);
	sh[4] = shift(TERR, "e", H(18), H(30), 1);
	n = route_gaps(TERR, sh, 5, H(0), H(24), g, 8);
	{
		const int64_t w[] = {H(15), H(18)};
		expect_holes(g, n, w, 1);
	}
	/* A shift ending where another starts within an overlap. */
	sh[0] = shift(TERR, "a", H(0), H(12), 1);
	sh[1] = shift(TERR, "b", H(4), H(12), 1);
	sh[2] = shift(TERR, "c", H(12), H(24), 1);
	assert_int_equal(route_gaps(TERR, sh, 3, H(0), H(24), g, 8), 0);
	/* A malformed shift (end not after start) covers nothing. */
	sh[0] = shift(TERR, "a", H(0), H(12), 1);
	sh[1] = shift(TERR, "b", H(20), H(12), 1);
	sh[2] = shift(TERR, "c", H(14), H(14), 1);
	n = route_gaps(TERR, sh, 3, H(0), H(24), g, 8);
	{
		const int64_t w[] = {H(12), H(24)};
		expect_holes(g, n, w, 1);
	}
}

static void
test_gaps_other_units(void **state)
{
	struct route_shift sh[8];
	struct route_gap g[8];
	size_t n;

	(void)state;
	/* Another district, a department and a unit whose code starts like
	 * ours fill the hole; they are not ours. */
	sh[0] = shift(TERR, "a", H(0), H(8), 1);
	sh[1] = shift("370102", "x", H(8), H(16), 1);
	sh[2] = shift(SECTOR, "y", H(0), H(24), 1);
	sh[3] = shift("3701120", "z", H(8), H(16), 1);
	sh[4] = shift(TERR, "b", H(16), H(24), 1);
	n = route_gaps(TERR, sh, 5, H(0), H(24), g, 8);
	{
		const int64_t w[] = {H(8), H(16)};
		expect_holes(g, n, w, 1);
	}
	n = route_gaps(SECTOR, sh, 5, H(0), H(24), g, 8);
	assert_int_equal(n, 0);
	n = route_gaps("AWB", sh, 5, H(0), H(24), g, 8);
	{
		const int64_t w[] = {H(0), H(24)};
		expect_holes(g, n, w, 1);
	}
}

static void
test_gaps_truncated(void **state)
{
	struct route_shift sh[8];
	struct route_gap g[4];
	size_t n;

	(void)state;
	/* Four holes: [0,1) [2,3) [4,5) [6,24). */
	sh[0] = shift(TERR, "a", H(1), H(2), 1);
	sh[1] = shift(TERR, "b", H(3), H(4), 1);
	sh[2] = shift(TERR, "c", H(5), H(6), 1);
	memset(g, 0x77, sizeof(g));
	n = route_gaps(TERR, sh, 3, H(0), H(24), g, 2);
	assert_int_equal(n, 4);
	assert_int_equal(g[0].from_ms, H(0));
	assert_int_equal(g[0].to_ms, H(1));
	assert_int_equal(g[1].from_ms, H(2));
	assert_int_equal(g[1].to_ms, H(3));
	/* Nothing written past max. */
	assert_int_equal(g[2].from_ms, INT64_C(0x7777777777777777));
	assert_int_equal(g[3].to_ms, INT64_C(0x7777777777777777));
	/* Counting only. */
	assert_int_equal(route_gaps(TERR, sh, 3, H(0), H(24), NULL, 0), 4);
	/* Room for all. */
	n = route_gaps(TERR, sh, 3, H(0), H(24), g, 4);
	{
		const int64_t w[] = {
		    H(0), H(1), H(2), H(3), H(4), H(5), H(6), H(24)};
		expect_holes(g, n, w, 4);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_role_names),
	    cmocka_unit_test(test_each_tier),
	    cmocka_unit_test(test_direct_dept_when_no_sector),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_people_without_ids),
	    cmocka_unit_test(test_officer_count_capped),
	    cmocka_unit_test(test_overlapping_shifts),
	    cmocka_unit_test(test_gap_each_tier),
	    cmocka_unit_test(test_no_enterprise),
	    cmocka_unit_test(test_gaps_holes),
	    cmocka_unit_test(test_gaps_overlap_adjacent),
	    cmocka_unit_test(test_gaps_other_units),
	    cmocka_unit_test(test_gaps_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

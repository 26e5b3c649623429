/*
 * route - who is told: responsibility and duty rosters into recipients,
 * and the gaps in the rosters (DOMAIN.md sections 1 and 6).
 *
 * Pure.  An enterprise's responsibility row names its territorial district,
 * its sector department and its direct department; the duty roster of
 * each unit (a district code, a department code, AWB for the city office)
 * says who is on duty in each shift.  route_recipients() builds the
 * recipients of a tier (policy.h) from the shifts covering a moment and
 * says which unit had nobody; route_gaps() finds the uncovered stretches
 * of a unit's shifts over a period, so a gap is visible days ahead.
 */
#ifndef ANQUAN_ALARMD_ROUTE_H
#define ANQUAN_ALARMD_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#define ROUTE_CITY_UNIT "AWB" /* 市安委办 */
#define ROUTE_OFFICERS_MAX 8
#define ROUTE_RECIPIENTS_MAX 32

struct route_person {
	char id[64];
	char name[64];
	char phone[32];
};

struct route_shift {
	char unit[16];
	int64_t start_ms, end_ms; /* [start, end) */
	struct route_person leader;
	size_t nofficers;
	struct route_person officers[ROUTE_OFFICERS_MAX];
};

/* An enterprise's responsibility; empty strings when unknown. */
struct route_resp {
	char territorial[16]; /* district code */
	char sector_dept[16]; /* department code */
	char direct_dept[16];
};

enum route_role {
	ROLE_TERRITORIAL_OFFICER = 0, /* 属地值班员 */
	ROLE_SECTOR_OFFICER,          /* 行业部门值班员 */
	ROLE_CITY_LEADER,             /* 市安委办带班领导 */
	ROLE_TERRITORIAL_LEADER,      /* 属地带班领导 */
	ROLE_SECTOR_LEADER,           /* 行业部门带班领导 */
	ROLE_CITY_OFFICER,            /* 市安委办值班员 (gaps, no enterprise) */
};

/* "territorial_officer", ... (API words) and 属地值班员, ... (console). */
const char *route_role_name(enum route_role r);
const char *route_role_zh(enum route_role r);

struct route_recipient {
	struct route_person person;
	enum route_role role;
	char unit[16];
};

struct route_result {
	size_t n;
	struct route_recipient r[ROUTE_RECIPIENTS_MAX];
	/* Units that should have had someone on duty at the moment and had
	 * no shift covering it (each once). */
	size_t ngaps;
	char gaps[4][16];
};

/*
 * The recipients of tier (0..3, policy.h) for an enterprise with
 * responsibility resp at now_ms, from shifts (any units, any times: those
 * not covering now_ms are skipped; when two shifts of a unit overlap, the
 * one that started last wins).  Tier 0: the territorial officers; 1: plus
 * the sector department's officers (direct_dept's when sector_dept is
 * empty); 2: plus the city office's leader; 3: plus the territorial and
 * sector leaders.  A person is listed once, in their first role.  With
 * resp NULL (an incident of no enterprise, such as a roster gap) the city
 * office's officers and leader are the recipients whatever the tier.
 */
void route_recipients(const struct route_resp *resp, int tier,
    const struct route_shift *shifts, size_t nshifts, int64_t now_ms,
    struct route_result *out);

struct route_gap {
	int64_t from_ms, to_ms;
};

/*
 * The stretches of [from_ms, to_ms) that no shift of unit covers, in
 * order, merged; at most max written, the count of all returned.
 */
size_t route_gaps(const char *unit, const struct route_shift *shifts,
    size_t nshifts, int64_t from_ms, int64_t to_ms, struct route_gap *out,
    size_t max);

#endif

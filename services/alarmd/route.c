/*
 * route - who is told about an incident, and where the duty rosters have
 * holes.
 *
 * core.c reads an enterprise's responsibility and the shifts of its units
 * from the store (core_store.c) and asks route_recipients() who the tier
 * reaches now; api.c asks route_gaps() for the stretches of the coming
 * days that no shift of a unit covers (GET /v1/rosters/gaps).  Both work
 * on the caller's arrays and fill the caller's structs: nothing here
 * allocates, reads a clock or touches the store.  The order of the roles
 * in enum route_role is the order recipients are listed in, so "a person
 * is listed once, in their first role" keeps the nearest responsibility.
 */
#include <string.h>

#include "route.h"

static const char *const role_words[] = {
    "territorial_officer",
    "sector_officer",
    "city_leader",
    "territorial_leader",
    "sector_leader",
    "city_officer",
};
static const char *const role_words_zh[] = {
    "属地值班员",
    "行业部门值班员",
    "市安委办带班领导",
    "属地带班领导",
    "行业部门带班领导",
    "市安委办值班员",
};

#define ROLES (sizeof(role_words) / sizeof(role_words[0]))

const char *
route_role_name(enum route_role r)
{
	return (int)r >= 0 && (size_t)r < ROLES ? role_words[r] : "";
}

const char *
route_role_zh(enum route_role r)
{
	return (int)r >= 0 && (size_t)r < ROLES ? role_words_zh[r] : "";
}

/* Copy a unit code into a field of 16 bytes, always terminated. */
static void
unit_copy(char dst[16], const char *unit)
{
	size_t len = strnlen(unit, 15);

	memcpy(dst, unit, len);
	dst[len] = '\0';
}

/* unit names the shift's unit. */
static int
shift_of(const struct route_shift *sh, const char *unit)
{
	return strncmp(sh->unit, unit, sizeof(sh->unit)) == 0;
}

/*
 * The shift of unit covering now_ms: of those whose [start, end) holds
 * it, the one that started last (a later shift replaces an earlier one it
 * overlaps, as a swap of duty does); NULL when none does.
 */
static const struct route_shift *
covering_shift(const char *unit, const struct route_shift *shifts,
    size_t nshifts, int64_t now_ms)
{
	const struct route_shift *best = NULL;
	size_t i;

	for (i = 0; i < nshifts; i++) {
		const struct route_shift *sh = &shifts[i];

		if (!shift_of(sh, unit) || now_ms < sh->start_ms ||
		    now_ms >= sh->end_ms)
			continue;
		if (best == NULL || sh->start_ms > best->start_ms)
			best = sh;
	}
	return best;
}

/* The same person: the same id, or with no id the same name and phone. */
static int
same_person(const struct route_person *a, const struct route_person *b)
{
	if (a->id[0] != '\0' || b->id[0] != '\0')
		return strcmp(a->id, b->id) == 0;
	return strcmp(a->name, b->name) == 0 && strcmp(a->phone, b->phone) == 0;
}

static void
add_person(struct route_result *out, const struct route_person *p,
    enum route_role role, const char *unit)
{
	size_t i;

	/* A roster entry with nothing in it names nobody to tell. */
	if (p->id[0] == '\0' && p->name[0] == '\0' && p->phone[0] == '\0')
		return;
	for (i = 0; i < out->n; i++) {
		if (same_person(&out->r[i].person, p))
			return;
	}
	if (out->n == ROUTE_RECIPIENTS_MAX)
		return;
	out->r[out->n].person = *p;
	out->r[out->n].role = role;
	unit_copy(out->r[out->n].unit, unit);
	out->n++;
}

static void
add_officers(struct route_result *out, const struct route_shift *sh,
    enum route_role role)
{
	size_t i, n;

	if (sh == NULL)
		return;
	n = sh->nofficers < ROUTE_OFFICERS_MAX ? sh->nofficers
	                                       : ROUTE_OFFICERS_MAX;
	for (i = 0; i < n; i++)
		add_person(out, &sh->officers[i], role, sh->unit);
}

static void
add_leader(struct route_result *out, const struct route_shift *sh,
    enum route_role role)
{
	if (sh != NULL)
		add_person(out, &sh->leader, role, sh->unit);
}

static void
add_gap(struct route_result *out, const char *unit)
{
	size_t i;

	for (i = 0; i < out->ngaps; i++) {
		if (strncmp(out->gaps[i], unit, sizeof(out->gaps[i])) == 0)
			return;
	}
	if (out->ngaps == sizeof(out->gaps) / sizeof(out->gaps[0]))
		return;
	unit_copy(out->gaps[out->ngaps], unit);
	out->ngaps++;
}

/*
 * The shift of a unit that should be on duty now; a unit with nobody is
 * a gap.  An empty unit code (responsibility not known) has no roster to
 * look in and is not a gap of any roster: the caller sees it in resp.
 */
static const struct route_shift *
on_duty(const char *unit, const struct route_shift *shifts, size_t nshifts,
    int64_t now_ms, struct route_result *out)
{
	const struct route_shift *sh;

	if (unit[0] == '\0')
		return NULL;
	sh = covering_shift(unit, shifts, nshifts, now_ms);
	if (sh == NULL)
		add_gap(out, unit);
	return sh;
}

void
route_recipients(const struct route_resp *resp, int tier,
    const struct route_shift *shifts, size_t nshifts, int64_t now_ms,
    struct route_result *out)
{
	const struct route_shift *terr = NULL, *sector = NULL, *city = NULL;
	char tunit[16], sunit[16];

	memset(out, 0, sizeof(*out));
	if (resp == NULL) {
		city = on_duty(ROUTE_CITY_UNIT, shifts, nshifts, now_ms, out);
		add_officers(out, city, ROLE_CITY_OFFICER);
		add_leader(out, city, ROLE_CITY_LEADER);
		return;
	}
	unit_copy(tunit, resp->territorial);
	unit_copy(sunit, resp->sector_dept[0] != '\0' ? resp->sector_dept
	                                              : resp->direct_dept);
	terr = on_duty(tunit, shifts, nshifts, now_ms, out);
	if (tier >= 1)
		sector = on_duty(sunit, shifts, nshifts, now_ms, out);
	if (tier >= 2)
		city = on_duty(ROUTE_CITY_UNIT, shifts, nshifts, now_ms, out);
	add_officers(out, terr, ROLE_TERRITORIAL_OFFICER);
	add_officers(out, sector, ROLE_SECTOR_OFFICER);
	add_leader(out, city, ROLE_CITY_LEADER);
	if (tier >= 3) {
		add_leader(out, terr, ROLE_TERRITORIAL_LEADER);
		add_leader(out, sector, ROLE_SECTOR_LEADER);
	}
}

/*
 * The gaps are found by walking a cursor from from_ms: while a shift of
 * the unit holds the cursor, jump to the furthest end among those that
 * do; when none does, the stretch up to the next start (or to_ms) is a
 * gap, and the walk goes on from that start.  Each step leaves a shift
 * behind or reaches one, so for m shifts of the unit the walk takes at
 * most 2m + 1 passes over the array, with no copy or sort of it.
 */
size_t
route_gaps(const char *unit, const struct route_shift *shifts, size_t nshifts,
    int64_t from_ms, int64_t to_ms, struct route_gap *out, size_t max)
{
	int64_t cursor = from_ms, reach, next;
	size_t i, count = 0;
	int covered;

	while (cursor < to_ms) {
		covered = 0;
		reach = cursor;
		next = to_ms;
		for (i = 0; i < nshifts; i++) {
			const struct route_shift *sh = &shifts[i];

			if (!shift_of(sh, unit) || sh->end_ms <= sh->start_ms)
				continue;
			if (sh->start_ms <= cursor && cursor < sh->end_ms) {
				covered = 1;
				if (sh->end_ms > reach)
					reach = sh->end_ms;
			} else if (sh->start_ms > cursor &&
			           sh->start_ms < next) {
				next = sh->start_ms;
			}
		}
		if (covered) {
			cursor = reach;
			continue;
		}
		if (count < max) {
			out[count].from_ms = cursor;
			out[count].to_ms = next;
		}
		count++;
		cursor = next;
	}
	return count;
}

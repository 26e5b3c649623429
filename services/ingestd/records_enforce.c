/*
 * records_enforce - accidents (reported, updated), inspections and enforcement cases.
 *
 * One group of the event kinds of DOMAIN.md §2 (kinds_internal.h says how
 * the groups fit).  Each kind here is, so far, checked for the fields
 * DOMAIN.md requires and stored in the events table; its own table, state
 * and history come with its validator and apply.
 */
#include <stddef.h>

#include "kinds_internal.h"

STORED_KIND(v_accident_reported, "accident.reported", "accident_id",
    "district", "sector", "occurred_at", "deaths", "serious_injuries",
    "summary")
STORED_KIND(v_accident_updated, "accident.updated", "accident_id",
    "district", "sector", "occurred_at", "deaths", "serious_injuries",
    "summary")
STORED_KIND(v_inspection, "inspection.completed", "inspection_id", "uscc",
    "dept", "level", "inspectors", "kind", "findings", "result")
STORED_KIND(v_case_filed, "case.filed", "case_id", "uscc", "dept",
    "violation", "penalty_cny")
STORED_KIND(v_case_closed, "case.closed", "case_id", "uscc", "dept",
    "violation", "penalty_cny")

const struct ingest_kind records_enforce_kinds[] = {
	{"accident.reported", v_accident_reported, NULL, NULL, NULL},
	{"accident.updated", v_accident_updated, NULL, NULL, NULL},
	{"inspection.completed", v_inspection, NULL, NULL, NULL},
	{"case.filed", v_case_filed, NULL, NULL, NULL},
	{"case.closed", v_case_closed, NULL, NULL, NULL},
};

const size_t records_enforce_nkinds = sizeof(records_enforce_kinds) / sizeof(records_enforce_kinds[0]);

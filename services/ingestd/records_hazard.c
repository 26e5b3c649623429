/*
 * records_hazard - the records with a life: hidden hazards (reported, rectified, verified), dangerous operations (filed, started, finished) and maintenance windows.
 *
 * One group of the event kinds of DOMAIN.md §2 (kinds_internal.h says how
 * the groups fit).  Each kind here is, so far, checked for the fields
 * DOMAIN.md requires and stored in the events table; its own table, state
 * and history come with its validator and apply.
 */
#include <stddef.h>

#include "kinds_internal.h"

STORED_KIND(v_hazard_reported, "hazard.reported", "hazard_id", "uscc",
    "level", "source", "description", "found_at", "responsible_unit",
    "responsible_person", "measures", "deadline")
STORED_KIND(v_hazard_rectified, "hazard.rectified", "hazard_id", "note")
STORED_KIND(v_hazard_verified, "hazard.verified", "hazard_id", "accepted",
    "verifier")
STORED_KIND(v_operation_filed, "operation.filed", "op_id", "uscc", "type",
    "location", "planned_start", "planned_end", "contractor", "responsible")
STORED_KIND(v_operation_started, "operation.started", "op_id")
STORED_KIND(v_operation_finished, "operation.finished", "op_id")
STORED_KIND(v_maintenance, "maintenance.window", "uscc", "start", "end",
    "reason")

const struct ingest_kind records_hazard_kinds[] = {
	{"hazard.reported", v_hazard_reported, NULL, NULL, NULL},
	{"hazard.rectified", v_hazard_rectified, NULL, NULL, NULL},
	{"hazard.verified", v_hazard_verified, NULL, NULL, NULL},
	{"operation.filed", v_operation_filed, NULL, NULL, NULL},
	{"operation.started", v_operation_started, NULL, NULL, NULL},
	{"operation.finished", v_operation_finished, NULL, NULL, NULL},
	{"maintenance.window", v_maintenance, NULL, NULL, NULL},
};

const size_t records_hazard_nkinds = sizeof(records_hazard_kinds) / sizeof(records_hazard_kinds[0]);

/*
 * records_duty - the duties of enterprises: responsibility lists, safety directors, training records, equipment inspections, self-checks.
 *
 * One group of the event kinds of DOMAIN.md §2 (kinds_internal.h says how
 * the groups fit).  Each kind here is, so far, checked for the fields
 * DOMAIN.md requires and stored in the events table; its own table, state
 * and history come with its validator and apply.
 */
#include <stddef.h>

#include "kinds_internal.h"

STORED_KIND(v_resplist, "resplist.uploaded", "uscc", "posts", "posts_covered")
STORED_KIND(v_director, "director.appointed", "uscc", "name", "certified")
STORED_KIND(v_training, "training.record", "uscc", "year", "role", "required",
    "trained", "certified")
STORED_KIND(v_equipment_inspected, "equipment.inspected", "code", "result",
    "next_due_on")
STORED_KIND(v_selfcheck, "selfcheck.completed", "uscc", "kind", "period")

const struct ingest_kind records_duty_kinds[] = {
	{"resplist.uploaded", v_resplist, NULL, NULL, NULL},
	{"director.appointed", v_director, NULL, NULL, NULL},
	{"training.record", v_training, NULL, NULL, NULL},
	{"equipment.inspected", v_equipment_inspected, NULL, NULL, NULL},
	{"selfcheck.completed", v_selfcheck, NULL, NULL, NULL},
};

const size_t records_duty_nkinds = sizeof(records_duty_kinds) / sizeof(records_duty_kinds[0]);

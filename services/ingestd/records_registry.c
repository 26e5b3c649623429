/*
 * records_registry - registry records: hazard sources, risk points, responsibilities, duty rosters, inspectors, agencies, special equipment.
 *
 * One group of the event kinds of DOMAIN.md §2 (kinds_internal.h says how
 * the groups fit).  Each kind here is, so far, checked for the fields
 * DOMAIN.md requires and stored in the events table; its own table, state
 * and history come with its validator and apply.
 */
#include <stddef.h>

#include "kinds_internal.h"

STORED_KIND(v_hazard_source, "hazard_source.upsert", "code", "uscc", "name",
    "unit_type", "people_500m", "chemicals", "assessed_on", "responsible")
STORED_KIND(v_risk_point, "risk_point.upsert", "code", "uscc", "name",
    "method", "L", "measures")
STORED_KIND(v_responsibility, "responsibility.upsert", "uscc", "territorial",
    "sector_dept", "direct_dept")
STORED_KIND(v_duty_roster, "duty.roster", "unit", "start", "end", "leader",
    "officers")
STORED_KIND(v_inspector, "inspector.upsert", "id", "name", "dept", "active",
    "conflicts")
STORED_KIND(v_agency, "agency.upsert", "code", "name", "district", "kind",
    "out_of_province")
STORED_KIND(v_equipment, "equipment.upsert", "code", "uscc", "kind",
    "key_place", "next_due_on")

const struct ingest_kind records_registry_kinds[] = {
	{"hazard_source.upsert", v_hazard_source, NULL, NULL, NULL},
	{"risk_point.upsert", v_risk_point, NULL, NULL, NULL},
	{"responsibility.upsert", v_responsibility, NULL, NULL, NULL},
	{"duty.roster", v_duty_roster, NULL, NULL, NULL},
	{"inspector.upsert", v_inspector, NULL, NULL, NULL},
	{"agency.upsert", v_agency, NULL, NULL, NULL},
	{"equipment.upsert", v_equipment, NULL, NULL, NULL},
};

const size_t records_registry_nkinds = sizeof(records_registry_kinds) / sizeof(records_registry_kinds[0]);

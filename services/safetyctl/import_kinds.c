/*
 * import_kinds - the table of event kinds that `safetyctl import` knows,
 * with the type of every field.
 *
 * The fields and their types follow DOMAIN.md §2 and what ingestd's kinds
 * accept: a field that ingestd reads as a number is a number here, a code
 * that may have leading zeros ("001") is text.  A field left out of a kind
 * is refused as an unknown column, so adding a field to an event kind means
 * adding its line here too.  The table is constant; the functions below only
 * look it up (import_csv.c for headers, cmd_import.c for -h and KIND).
 */
#include <stdio.h>
#include <string.h>

#include "import_kinds.h"

static const char *const ftype_names[] = {"text", "whole number", "number",
    "boolean", "date", "time", "JSON object", "JSON array",
    "list (JSON array or a;b;c)"};

/* --- the kinds of DOMAIN.md §2 and the types of their fields -------------- */

static const struct import_field f_enterprise[] = {{"uscc", IMPORT_F_STR},
    {"name", IMPORT_F_STR}, {"district", IMPORT_F_STR},
    {"sector", IMPORT_F_STR}, {"employees", IMPORT_F_INT},
    {"status", IMPORT_F_STR}, {"enforcement_level", IMPORT_F_STR},
    {"address", IMPORT_F_STR}, {"lon", IMPORT_F_NUM}, {"lat", IMPORT_F_NUM},
    {"credit", IMPORT_F_STR}, {"standardization_level", IMPORT_F_INT},
    {NULL, IMPORT_F_STR}};
static const struct import_field f_point[] = {{"code", IMPORT_F_STR},
    {"uscc", IMPORT_F_STR}, {"kind", IMPORT_F_STR}, {"unit", IMPORT_F_STR},
    {"ll", IMPORT_F_NUM}, {"l", IMPORT_F_NUM}, {"h", IMPORT_F_NUM},
    {"hh", IMPORT_F_NUM}, {"range_lo", IMPORT_F_NUM},
    {"range_hi", IMPORT_F_NUM}, {"deadband", IMPORT_F_NUM},
    {"delay_s", IMPORT_F_INT}, {"expected_interval_s", IMPORT_F_INT},
    {"hazard_source", IMPORT_F_STR}, {"tag", IMPORT_F_STR},
    {"enabled", IMPORT_F_BOOL}, {NULL, IMPORT_F_STR}};
static const struct import_field f_hazard_source[] = {{"code", IMPORT_F_STR},
    {"uscc", IMPORT_F_STR}, {"name", IMPORT_F_STR}, {"unit_type", IMPORT_F_STR},
    {"people_500m", IMPORT_F_INT}, {"chemicals", IMPORT_F_ARR},
    {"assessed_on", IMPORT_F_DATE}, {"responsible", IMPORT_F_OBJ},
    {NULL, IMPORT_F_STR}};
static const struct import_field f_risk_point[] = {{"code", IMPORT_F_STR},
    {"uscc", IMPORT_F_STR}, {"name", IMPORT_F_STR}, {"method", IMPORT_F_STR},
    {"L", IMPORT_F_NUM}, {"E", IMPORT_F_NUM}, {"C", IMPORT_F_NUM},
    {"S", IMPORT_F_NUM}, {"measures", IMPORT_F_STR}, {NULL, IMPORT_F_STR}};
static const struct import_field f_responsibility[] = {{"uscc", IMPORT_F_STR},
    {"territorial", IMPORT_F_STR}, {"sector_dept", IMPORT_F_STR},
    {"direct_dept", IMPORT_F_STR}, {NULL, IMPORT_F_STR}};
static const struct import_field f_roster[] = {{"unit", IMPORT_F_STR},
    {"start", IMPORT_F_TIME}, {"end", IMPORT_F_TIME}, {"leader", IMPORT_F_OBJ},
    {"officers", IMPORT_F_ARR}, {NULL, IMPORT_F_STR}};
static const struct import_field f_inspector[] = {{"id", IMPORT_F_STR},
    {"name", IMPORT_F_STR}, {"dept", IMPORT_F_STR}, {"district", IMPORT_F_STR},
    {"active", IMPORT_F_BOOL}, {"conflicts", IMPORT_F_LIST},
    {NULL, IMPORT_F_STR}};
static const struct import_field f_agency[] = {{"code", IMPORT_F_STR},
    {"name", IMPORT_F_STR}, {"district", IMPORT_F_STR}, {"kind", IMPORT_F_STR},
    {"out_of_province", IMPORT_F_BOOL}, {NULL, IMPORT_F_STR}};
static const struct import_field f_equipment[] = {{"code", IMPORT_F_STR},
    {"uscc", IMPORT_F_STR}, {"kind", IMPORT_F_STR},
    {"rescue_code", IMPORT_F_STR}, {"key_place", IMPORT_F_BOOL},
    {"next_due_on", IMPORT_F_DATE}, {"insured", IMPORT_F_BOOL},
    {"on_96333", IMPORT_F_BOOL}, {NULL, IMPORT_F_STR}};
static const struct import_field f_hazard_reported[] = {
    {"hazard_id", IMPORT_F_STR}, {"uscc", IMPORT_F_STR},
    {"level", IMPORT_F_STR}, {"source", IMPORT_F_STR},
    {"description", IMPORT_F_STR}, {"found_at", IMPORT_F_TIME},
    {"responsible_unit", IMPORT_F_STR}, {"responsible_person", IMPORT_F_STR},
    {"measures", IMPORT_F_STR}, {"deadline", IMPORT_F_TIME},
    {"criteria_item", IMPORT_F_STR}, {"risk_point", IMPORT_F_STR},
    {NULL, IMPORT_F_STR}};
static const struct import_field f_hazard_rectified[] = {
    {"hazard_id", IMPORT_F_STR}, {"note", IMPORT_F_STR},
    {"evidence", IMPORT_F_STR}, {NULL, IMPORT_F_STR}};
static const struct import_field f_hazard_verified[] = {
    {"hazard_id", IMPORT_F_STR}, {"accepted", IMPORT_F_BOOL},
    {"verifier", IMPORT_F_STR}, {"note", IMPORT_F_STR}, {NULL, IMPORT_F_STR}};
static const struct import_field f_op_filed[] = {{"op_id", IMPORT_F_STR},
    {"uscc", IMPORT_F_STR}, {"type", IMPORT_F_STR}, {"level", IMPORT_F_STR},
    {"location", IMPORT_F_STR}, {"hazard_source", IMPORT_F_STR},
    {"points", IMPORT_F_LIST}, {"planned_start", IMPORT_F_TIME},
    {"planned_end", IMPORT_F_TIME}, {"contractor", IMPORT_F_STR},
    {"responsible", IMPORT_F_OBJ}, {NULL, IMPORT_F_STR}};
static const struct import_field f_op_id[] = {
    {"op_id", IMPORT_F_STR}, {NULL, IMPORT_F_STR}};
static const struct import_field f_maintenance[] = {{"uscc", IMPORT_F_STR},
    {"points", IMPORT_F_LIST}, {"hazard_source", IMPORT_F_STR},
    {"start", IMPORT_F_TIME}, {"end", IMPORT_F_TIME}, {"reason", IMPORT_F_STR},
    {NULL, IMPORT_F_STR}};
static const struct import_field f_accident[] = {{"accident_id", IMPORT_F_STR},
    {"uscc", IMPORT_F_STR}, {"district", IMPORT_F_STR},
    {"sector", IMPORT_F_STR}, {"occurred_at", IMPORT_F_TIME},
    {"deaths", IMPORT_F_INT}, {"serious_injuries", IMPORT_F_INT},
    {"minor_injuries", IMPORT_F_INT}, {"direct_loss_cny", IMPORT_F_NUM},
    {"summary", IMPORT_F_STR}, {NULL, IMPORT_F_STR}};
static const struct import_field f_inspection[] = {
    {"inspection_id", IMPORT_F_STR}, {"uscc", IMPORT_F_STR},
    {"dept", IMPORT_F_STR}, {"level", IMPORT_F_STR},
    {"inspectors", IMPORT_F_LIST}, {"kind", IMPORT_F_STR},
    {"plan_item", IMPORT_F_STR}, {"findings", IMPORT_F_STR},
    {"result", IMPORT_F_STR}, {"hazards", IMPORT_F_LIST}, {NULL, IMPORT_F_STR}};
static const struct import_field f_case[] = {{"case_id", IMPORT_F_STR},
    {"uscc", IMPORT_F_STR}, {"dept", IMPORT_F_STR},
    {"inspection_id", IMPORT_F_STR}, {"violation", IMPORT_F_STR},
    {"penalty_cny", IMPORT_F_NUM}, {"publish", IMPORT_F_BOOL},
    {NULL, IMPORT_F_STR}};
static const struct import_field f_resplist[] = {{"uscc", IMPORT_F_STR},
    {"posts", IMPORT_F_INT}, {"posts_covered", IMPORT_F_INT},
    {NULL, IMPORT_F_STR}};
static const struct import_field f_director[] = {{"uscc", IMPORT_F_STR},
    {"name", IMPORT_F_STR}, {"certified", IMPORT_F_BOOL}, {NULL, IMPORT_F_STR}};
static const struct import_field f_training[] = {{"uscc", IMPORT_F_STR},
    {"year", IMPORT_F_INT}, {"role", IMPORT_F_STR}, {"required", IMPORT_F_INT},
    {"trained", IMPORT_F_INT}, {"certified", IMPORT_F_INT},
    {NULL, IMPORT_F_STR}};
static const struct import_field f_equipment_inspected[] = {
    {"code", IMPORT_F_STR}, {"result", IMPORT_F_STR},
    {"next_due_on", IMPORT_F_DATE}, {NULL, IMPORT_F_STR}};
static const struct import_field f_selfcheck[] = {{"uscc", IMPORT_F_STR},
    {"kind", IMPORT_F_STR}, {"period", IMPORT_F_STR}, {NULL, IMPORT_F_STR}};

static const struct import_kind kinds[] = {
    {"enterprise.upsert", f_enterprise},
    {"point.upsert", f_point},
    {"hazard_source.upsert", f_hazard_source},
    {"risk_point.upsert", f_risk_point},
    {"responsibility.upsert", f_responsibility},
    {"duty.roster", f_roster},
    {"inspector.upsert", f_inspector},
    {"agency.upsert", f_agency},
    {"equipment.upsert", f_equipment},
    {"hazard.reported", f_hazard_reported},
    {"hazard.rectified", f_hazard_rectified},
    {"hazard.verified", f_hazard_verified},
    {"operation.filed", f_op_filed},
    {"operation.started", f_op_id},
    {"operation.finished", f_op_id},
    {"maintenance.window", f_maintenance},
    {"accident.reported", f_accident},
    {"accident.updated", f_accident},
    {"inspection.completed", f_inspection},
    {"case.filed", f_case},
    {"case.closed", f_case},
    {"resplist.uploaded", f_resplist},
    {"director.appointed", f_director},
    {"training.record", f_training},
    {"equipment.inspected", f_equipment_inspected},
    {"selfcheck.completed", f_selfcheck},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

const struct import_kind *
import_kind_find(const char *name)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

const struct import_kind *
import_kind_at(size_t i)
{
	return i < NKINDS ? &kinds[i] : NULL;
}

const struct import_field *
import_kind_field(const struct import_kind *k, const char *name)
{
	for (const struct import_field *f = k->fields; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

const char *
import_ftype_name(enum import_ftype type)
{
	if ((size_t)type >= sizeof(ftype_names) / sizeof(ftype_names[0]))
		return "?";
	return ftype_names[type];
}

void
import_kind_print_fields(FILE *fp, const struct import_kind *k)
{
	for (const struct import_field *f = k->fields; f->name != NULL; f++)
		fprintf(fp, "%s%s (%s)", f == k->fields ? "" : ", ", f->name,
		    ftype_names[f->type]);
	fputc('\n', fp);
}

/*
 * citysim_emit - the demo city's records as events of DOMAIN.md §2.
 *
 * citysim_load.c asks, phase by phase, for event i and gets it appended to
 * its request body: {"kind","id","at","data"} with exactly the fields and
 * types DOMAIN.md §2 gives each kind, so the city passes the same
 * validators a sector system's feed does.  Event ids are derived from the
 * record (the USCC, the point code, the roster's unit and shift), so a
 * second load of the same city is all duplicates and a load on the next
 * day adds only the new shifts.  Every event is dated at 00:00 of the
 * city's day p.today, the day its dates count from.
 *
 * The duty rosters are made here rather than in the city: they are shifts
 * (08:00-20:00 and 20:00-08:00 city time) from last night to seven days
 * ahead, for every district, every department and so the city office,
 * each from its own stable pool of leaders and officers taking turns.
 */
#include <stdio.h>
#include <string.h>

#include "citysim.h"
#include "timeutil.h"

#define ROSTER_LEADERS 6
#define ROSTER_OFFICERS 12

static const char *const phase_names[SIM_PH_COUNT] = {"enterprises",
    "responsibilities", "hazard sources", "risk points", "monitoring points",
    "special equipment", "inspectors", "agencies", "duty rosters"};

const char *
sim_emit_phase_name(enum sim_phase ph)
{
	return ph < SIM_PH_COUNT ? phase_names[ph] : "?";
}

static size_t
roster_units(const struct sim_city *c)
{
	return c->ref->districts.n + c->ref->departments.n;
}

size_t
sim_emit_count(const struct sim_city *c, enum sim_phase ph)
{
	switch (ph) {
	case SIM_PH_ENTERPRISES:
	case SIM_PH_RESPONSIBILITIES:
		return c->nents;
	case SIM_PH_SOURCES:
		return c->nsources;
	case SIM_PH_RISK_POINTS:
		return c->nrisks;
	case SIM_PH_POINTS:
		return c->npoints;
	case SIM_PH_EQUIPMENT:
		return c->nequipment;
	case SIM_PH_INSPECTORS:
		return c->ninspectors;
	case SIM_PH_AGENCIES:
		return c->nagencies;
	case SIM_PH_ROSTERS:
		return roster_units(c) * SIM_ROSTER_SHIFTS;
	default:
		return 0;
	}
}

/* The envelope up to the opening of data. */
static void
open_event(const struct sim_city *c, struct json_out *w, const char *kind,
    const char *id)
{
	char at[TIMEUTIL_RFC3339_SIZE];

	timeutil_format_rfc3339(
	    timeutil_date_start_ms(c->p.today), at, sizeof(at));
	json_out_obj_open(w);
	json_out_kv_str(w, "kind", kind);
	json_out_kv_str(w, "id", id);
	json_out_kv_str(w, "at", at);
	json_out_key(w, "data");
	json_out_obj_open(w);
}

static void
close_event(struct json_out *w)
{
	json_out_obj_close(w);
	json_out_obj_close(w);
}

static void
kv_date(struct json_out *w, const char *key, int64_t days)
{
	char d[TIMEUTIL_DATE_SIZE];

	timeutil_format_date(days, d, sizeof(d));
	json_out_kv_str(w, key, d);
}

static void
emit_enterprise(const struct sim_city *c, size_t i, struct json_out *w,
    char *id, size_t idsize)
{
	const struct sim_enterprise *e = &c->ents[i];

	snprintf(id, idsize, "ent:%s", e->uscc);
	open_event(c, w, "enterprise.upsert", id);
	json_out_kv_str(w, "uscc", e->uscc);
	json_out_kv_str(w, "name", e->name);
	json_out_kv_str(
	    w, "district", c->ref->districts.rows[e->district].code);
	json_out_kv_str(w, "sector", c->ref->sectors.rows[e->sector].code);
	json_out_kv_int(w, "employees", e->employees);
	json_out_kv_str(w, "status", e->status);
	json_out_kv_str(w, "enforcement_level", e->enforcement_level);
	json_out_kv_str(w, "address", e->address);
	json_out_kv_double(w, "lon", e->lon);
	json_out_kv_double(w, "lat", e->lat);
	if (e->credit != NULL)
		json_out_kv_str(w, "credit", e->credit);
	if (e->standardization_level > 0)
		json_out_kv_int(
		    w, "standardization_level", e->standardization_level);
	close_event(w);
}

static void
emit_responsibility(const struct sim_city *c, size_t i, struct json_out *w,
    char *id, size_t idsize)
{
	const struct sim_enterprise *e = &c->ents[i];
	const struct sim_ref *ref = c->ref;

	snprintf(id, idsize, "resp:%s", e->uscc);
	open_event(c, w, "responsibility.upsert", id);
	json_out_kv_str(w, "uscc", e->uscc);
	json_out_kv_str(
	    w, "territorial", ref->districts.rows[e->district].code);
	json_out_kv_str(w, "sector_dept", ref->sectors.rows[e->sector].extra);
	json_out_kv_str(
	    w, "direct_dept", ref->departments.rows[e->direct_dept].code);
	close_event(w);
}

static void
emit_source(const struct sim_city *c, size_t i, struct json_out *w, char *id,
    size_t idsize)
{
	const struct sim_source *s = &c->sources[i];

	snprintf(id, idsize, "hs:%s", s->code);
	open_event(c, w, "hazard_source.upsert", id);
	json_out_kv_str(w, "code", s->code);
	json_out_kv_str(w, "uscc", c->ents[s->enterprise].uscc);
	json_out_kv_str(w, "name", s->name);
	json_out_kv_str(w, "unit_type", s->unit_type);
	json_out_kv_int(w, "people_500m", s->people_500m);
	json_out_key(w, "chemicals");
	json_out_arr_open(w);
	for (int k = 0; k < s->nchem; k++) {
		json_out_obj_open(w);
		json_out_kv_str(w, "name", s->chem[k].name);
		if (s->chem[k].cas != NULL)
			json_out_kv_str(w, "cas", s->chem[k].cas);
		json_out_kv_double(w, "q", s->chem[k].q);
		json_out_kv_double(w, "Q", s->chem[k].Q);
		json_out_kv_double(w, "beta", s->chem[k].beta);
		json_out_obj_close(w);
	}
	json_out_arr_close(w);
	kv_date(w, "assessed_on", s->assessed_on);
	json_out_key(w, "responsible");
	json_out_obj_open(w);
	json_out_kv_str(w, "main", s->main);
	json_out_kv_str(w, "technical", s->technical);
	json_out_kv_str(w, "operational", s->operational);
	json_out_obj_close(w);
	close_event(w);
}

static void
emit_risk(const struct sim_city *c, size_t i, struct json_out *w, char *id,
    size_t idsize)
{
	const struct sim_risk_point *rp = &c->risks[i];

	snprintf(id, idsize, "rp:%s", rp->code);
	open_event(c, w, "risk_point.upsert", id);
	json_out_kv_str(w, "code", rp->code);
	json_out_kv_str(w, "uscc", c->ents[rp->enterprise].uscc);
	json_out_kv_str(w, "name", rp->name);
	json_out_kv_str(w, "method", rp->lec ? "LEC" : "LS");
	json_out_kv_double(w, "L", rp->L);
	if (rp->lec) {
		json_out_kv_double(w, "E", rp->E);
		json_out_kv_double(w, "C", rp->C);
	} else {
		json_out_kv_double(w, "S", rp->S);
	}
	json_out_kv_str(w, "measures", rp->measures);
	close_event(w);
}

static void
emit_point(const struct sim_city *c, size_t i, struct json_out *w, char *id,
    size_t idsize)
{
	const struct sim_point *p = &c->points[i];

	snprintf(id, idsize, "pt:%s", p->code);
	open_event(c, w, "point.upsert", id);
	json_out_kv_str(w, "code", p->code);
	json_out_kv_str(w, "uscc", c->ents[p->enterprise].uscc);
	json_out_kv_str(w, "kind", sim_city_point_kind_name(p->kind));
	json_out_kv_str(w, "unit", p->unit);
	if (p->has_ll)
		json_out_kv_double(w, "ll", p->ll);
	if (p->has_l)
		json_out_kv_double(w, "l", p->l);
	if (p->has_h)
		json_out_kv_double(w, "h", p->h);
	if (p->has_hh)
		json_out_kv_double(w, "hh", p->hh);
	json_out_kv_double(w, "range_lo", p->range_lo);
	json_out_kv_double(w, "range_hi", p->range_hi);
	if (p->deadband >= 0)
		json_out_kv_double(w, "deadband", p->deadband);
	if (p->delay_s > 0)
		json_out_kv_int(w, "delay_s", p->delay_s);
	json_out_kv_int(w, "expected_interval_s", p->interval_s);
	if (p->hazard_source >= 0)
		json_out_kv_str(
		    w, "hazard_source", c->sources[p->hazard_source].code);
	if (p->tag != NULL)
		json_out_kv_str(w, "tag", p->tag);
	json_out_kv_bool(w, "enabled", true);
	close_event(w);
}

static void
emit_equipment(const struct sim_city *c, size_t i, struct json_out *w, char *id,
    size_t idsize)
{
	const struct sim_equipment *q = &c->equipment[i];

	snprintf(id, idsize, "eq:%s", q->code);
	open_event(c, w, "equipment.upsert", id);
	json_out_kv_str(w, "code", q->code);
	json_out_kv_str(w, "uscc", c->ents[q->enterprise].uscc);
	json_out_kv_str(w, "kind", q->kind);
	if (q->rescue_code[0] != '\0')
		json_out_kv_str(w, "rescue_code", q->rescue_code);
	json_out_kv_bool(w, "key_place", q->key_place);
	kv_date(w, "next_due_on", q->next_due_on);
	if (q->rescue_code[0] != '\0') {
		json_out_kv_bool(w, "insured", q->insured);
		json_out_kv_bool(w, "on_96333", q->on_96333);
	}
	close_event(w);
}

static void
emit_inspector(const struct sim_city *c, size_t i, struct json_out *w, char *id,
    size_t idsize)
{
	const struct sim_inspector *in = &c->inspectors[i];

	snprintf(id, idsize, "insp:%s", in->id);
	open_event(c, w, "inspector.upsert", id);
	json_out_kv_str(w, "id", in->id);
	json_out_kv_str(w, "name", in->name);
	json_out_kv_str(w, "dept", c->ref->departments.rows[in->dept].code);
	if (in->district >= 0)
		json_out_kv_str(
		    w, "district", c->ref->districts.rows[in->district].code);
	json_out_kv_bool(w, "active", in->active);
	json_out_key(w, "conflicts");
	json_out_arr_open(w);
	for (int k = 0; k < in->nconflicts; k++)
		json_out_str(w, c->ents[in->conflicts[k]].uscc);
	json_out_arr_close(w);
	close_event(w);
}

static void
emit_agency(const struct sim_city *c, size_t i, struct json_out *w, char *id,
    size_t idsize)
{
	const struct sim_agency *a = &c->agencies[i];

	snprintf(id, idsize, "ag:%s", a->code);
	open_event(c, w, "agency.upsert", id);
	json_out_kv_str(w, "code", a->code);
	json_out_kv_str(w, "name", a->name);
	json_out_kv_str(
	    w, "district", c->ref->districts.rows[a->district].code);
	json_out_kv_str(w, "kind", a->kind);
	json_out_kv_bool(w, "out_of_province", a->out_of_province);
	close_event(w);
}

/* One member of a unit's staff pool: the pool is drawn from the unit's own
 * stream, so member k is the same person every day and every load. */
static void
staff(const struct sim_city *c, const char *unit, bool leader, unsigned k,
    struct json_out *w)
{
	char stream[64], id[48], name[16], phone[16];
	struct sim_rng r;

	snprintf(stream, sizeof(stream), "roster:%s:%s:%u", unit,
	    leader ? "leader" : "officer", k);
	sim_rng_init(&r, c->p.seed, stream);
	snprintf(id, sizeof(id), "%s-%c%02u", unit, leader ? 'L' : 'O', k + 1);
	sim_names_person(&r, name, sizeof(name));
	sim_names_phone(&r, phone, sizeof(phone));
	json_out_obj_open(w);
	json_out_kv_str(w, "id", id);
	json_out_kv_str(w, "name", name);
	json_out_kv_str(w, "phone", phone);
	json_out_obj_close(w);
}

static void
emit_roster(const struct sim_city *c, size_t i, struct json_out *w, char *id,
    size_t idsize)
{
	const struct sim_ref *ref = c->ref;
	size_t u = i / SIM_ROSTER_SHIFTS, s = i % SIM_ROSTER_SHIFTS;
	const char *unit =
	    u < ref->districts.n
	        ? ref->districts.rows[u].code
	        : ref->departments.rows[u - ref->districts.n].code;
	/* Shift 0 is last night's; then day and night from today on. */
	int64_t day = c->p.today + (s == 0 ? -1 : (int64_t)(s - 1) / 2);
	bool night = s == 0 || (s - 1) % 2 == 1;
	int64_t start =
	    timeutil_date_start_ms(day) + (night ? 20 : 8) * INT64_C(3600000);
	int64_t turn = day * 2 + (night ? 1 : 0);
	unsigned nofficers = strcmp(unit, "AWB") == 0 ? 3 : 2;
	char from[TIMEUTIL_RFC3339_SIZE], to[TIMEUTIL_RFC3339_SIZE];
	char date[TIMEUTIL_DATE_SIZE];

	timeutil_format_date(day, date, sizeof(date));
	snprintf(
	    id, idsize, "roster:%s:%s:%s", unit, date, night ? "night" : "day");
	timeutil_format_rfc3339(start, from, sizeof(from));
	timeutil_format_rfc3339(start + 12 * INT64_C(3600000), to, sizeof(to));
	open_event(c, w, "duty.roster", id);
	json_out_kv_str(w, "unit", unit);
	json_out_kv_str(w, "start", from);
	json_out_kv_str(w, "end", to);
	json_out_key(w, "leader");
	staff(c, unit, true, (unsigned)(turn % ROSTER_LEADERS), w);
	json_out_key(w, "officers");
	json_out_arr_open(w);
	for (unsigned k = 0; k < nofficers; k++)
		staff(c, unit, false,
		    (unsigned)((turn * nofficers + k) % ROSTER_OFFICERS), w);
	json_out_arr_close(w);
	close_event(w);
}

void
sim_emit_event(const struct sim_city *c, enum sim_phase ph, size_t i,
    struct json_out *w, char *id, size_t idsize)
{
	switch (ph) {
	case SIM_PH_ENTERPRISES:
		emit_enterprise(c, i, w, id, idsize);
		break;
	case SIM_PH_RESPONSIBILITIES:
		emit_responsibility(c, i, w, id, idsize);
		break;
	case SIM_PH_SOURCES:
		emit_source(c, i, w, id, idsize);
		break;
	case SIM_PH_RISK_POINTS:
		emit_risk(c, i, w, id, idsize);
		break;
	case SIM_PH_POINTS:
		emit_point(c, i, w, id, idsize);
		break;
	case SIM_PH_EQUIPMENT:
		emit_equipment(c, i, w, id, idsize);
		break;
	case SIM_PH_INSPECTORS:
		emit_inspector(c, i, w, id, idsize);
		break;
	case SIM_PH_AGENCIES:
		emit_agency(c, i, w, id, idsize);
		break;
	case SIM_PH_ROSTERS:
		emit_roster(c, i, w, id, idsize);
		break;
	default:
		break;
	}
}

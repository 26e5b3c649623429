/*
 * citysim_city - the demo city, built in memory from a seed.
 *
 * sim_city_build() makes every record the city registers: enterprises over
 * the districts and sectors of deploy/data (many shops and small factories,
 * fewer chemical plants, gas companies and mines, placed where Jinan has
 * them), their monitoring points (kinds by sector, plausible units and
 * thresholds), the major hazard sources of the chemical and gas companies
 * (GB 18218 critical quantities, so S >= 1 for each), risk points, special
 * equipment, the departments' inspectors and the evaluation agencies.  Each
 * kind draws from its own random stream, so the same seed and counts give
 * the same city, byte for byte.  Dates count from p.today.  The city owns
 * all of it until sim_city_free(); citysim_emit.c turns it into events and
 * citysim_play.c plays readings for its points.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "citysim.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Where each district lies, kept inside the city's box (116.8-117.4 E,
 * 36.4-36.9 N), and how many enterprises it has, relatively. */
static const struct {
	const char *code;
	double lon, lat, weight;
} district_geo[] = {
    {"370102", 117.08, 36.67, 10},
    {"370103", 116.99, 36.63, 8},
    {"370104", 116.90, 36.66, 7},
    {"370105", 116.99, 36.71, 8},
    {"370112", 117.16, 36.69, 14},
    {"370113", 116.85, 36.55, 7},
    {"370114", 117.34, 36.70, 11},
    {"370115", 117.18, 36.85, 7},
    {"370116", 117.33, 36.46, 9},
    {"370117", 117.25, 36.42, 5},
    {"370124", 116.84, 36.43, 4},
    {"370126", 117.12, 36.87, 4},
    {"370171", 117.13, 36.68, 8},
};

/* How common each sector is, how big its enterprises are (log of the
 * median staff) and how many points it has for its size. */
static const struct {
	const char *code;
	double weight, log_staff, points;
	const char *districts; /* where it may be; NULL anywhere */
} sector_mix[] = {
    {"hazchem", 8, 4.5, 30, NULL},
    {"gas", 3, 4.8, 15, NULL},
    {"coal", 0.6, 6.2, 40, "370114 370116 370117"},
    {"noncoal_mine", 2, 3.9, 12, "370113 370114 370116 370117 370124"},
    {"metallurgy", 3, 5.3, 25, NULL},
    {"road_traffic", 5, 4.6, 3, NULL},
    {"transport", 8, 4.0, 4, NULL},
    {"construction", 12, 4.7, 4, NULL},
    {"special_equipment", 7, 3.6, 8, NULL},
    {"fire", 14, 3.8, 6, NULL},
    {"other", 37, 3.4, 3, NULL},
};

/* Point kinds by sector, as weights in enum order: level temperature
 * pressure flow gas_combustible gas_toxic oxygen methane smoke elevator
 * other. */
static const struct {
	const char *sector;
	double w[SIM_PK_COUNT];
} point_mix[] = {
    {"hazchem", {3, 3, 3, 1, 4, 2, 0, 0, 0, 0, 0}},
    {"gas", {0, 0, 4, 2, 4, 0, 0, 0, 0, 0, 0}},
    {"coal", {0, 1, 0, 0, 0, 2, 2, 5, 0, 0, 1}},
    {"noncoal_mine", {2, 0, 1, 0, 0, 1, 0, 0, 0, 0, 3}},
    {"metallurgy", {1, 4, 1, 0, 2, 3, 0, 0, 0, 0, 0}},
    {"road_traffic", {1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 2}},
    {"transport", {1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 2}},
    {"construction", {0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4}},
    {"special_equipment", {0, 2, 3, 0, 0, 0, 0, 0, 0, 5, 0}},
    {"fire", {2, 1, 3, 0, 0, 0, 0, 0, 5, 0, 0}},
    {"other", {0, 2, 0, 0, 2, 0, 0, 0, 3, 2, 1}},
};

static const char *const kind_names[SIM_PK_COUNT] = {"level", "temperature",
    "pressure", "flow", "gas_combustible", "gas_toxic", "oxygen", "methane",
    "smoke", "elevator", "other"};
static const char *const kind_abbr[SIM_PK_COUNT] = {
    "LT", "TT", "PT", "FT", "GC", "GT", "OX", "CH", "SM", "EL", "OT"};

/* Toxic gases watched by detectors: ppm thresholds from their OELs. */
static const struct {
	const char *tag;
	double h, hh, range_hi;
} toxic_gases[] = {
    {"CO", 24, 48, 500},
    {"H2S", 10, 20, 100},
    {"NH3", 25, 50, 200},
    {"Cl2", 1, 2, 20},
};

/* Chemicals of major hazard sources, critical quantity Q (t) and β per
 * GB 18218-2018; the sector they are found in. */
static const struct {
	const char *name, *cas;
	double Q, beta;
	const char *sector;
} chemicals[] = {
    {"液氯", "7782-50-5", 5, 4, "hazchem"},
    {"液氨", "7664-41-7", 10, 2, "hazchem"},
    {"甲醇", "67-56-1", 500, 1, "hazchem"},
    {"汽油", "86290-81-5", 200, 1.5, "hazchem"},
    {"苯", "71-43-2", 50, 1, "hazchem"},
    {"甲苯", "108-88-3", 500, 1, "hazchem"},
    {"环氧乙烷", "75-21-8", 10, 2, "hazchem"},
    {"硫化氢", "7783-06-4", 5, 5, "hazchem"},
    {"氢", "1333-74-0", 5, 1.5, "hazchem"},
    {"液化石油气", "68476-85-7", 50, 1.5, "gas"},
    {"天然气", "8006-14-2", 50, 1.5, "gas"},
    {"煤气", NULL, 20, 2, "metallurgy"},
    {"氧(液化)", "7782-44-7", 200, 1, "metallurgy"},
};

static const char *const risk_names[] = {"储罐区", "装卸作业", "反应釜区",
    "配电室", "有限空间作业(污水池)", "动火作业", "高处作业", "叉车作业",
    "粉尘作业区", "锅炉房", "气瓶间", "液氨制冷机房", "仓库", "生产车间",
    "吊装作业", "井下采掘工作面", "尾矿库", "煤气区域"};
static const char *const risk_measures[] = {
    "定期巡检，可燃气体报警联锁，作业票证管理",
    "岗位责任到人，每班点检，应急物资定点存放",
    "设置警示标志，严禁烟火，配备消防器材",
    "有限空间先通风再检测后作业，专人监护",
    "特种作业人员持证上岗，作业前安全交底",
    "视频监控全覆盖，异常即时上报，每月演练"};
static const double lec_L[] = {0.5, 1, 1, 3, 3, 6, 10};
static const double lec_E[] = {1, 2, 3, 3, 6, 6, 10};
static const double lec_C[] = {1, 3, 7, 7, 15, 15, 40};

static const char *const credits[] = {"good", "normal", "poor", "dishonest"};
static const double credit_w[] = {50, 40, 8, 2};

const char *
sim_city_point_kind_name(enum sim_point_kind k)
{
	return k < SIM_PK_COUNT ? kind_names[k] : "other";
}

/* x to a multiple of step, as a person would write it: 2.01, not
 * 2.0100000000000002 (steps below 1 are exact powers of ten's inverses). */
static double
round_to(double x, double step)
{
	double inv;

	if (step >= 1)
		return round(x / step) * step;
	inv = round(1.0 / step);
	return round(x * inv) / inv;
}

static int
sector_mix_of(const char *code)
{
	for (size_t i = 0; i < N(sector_mix); i++)
		if (strcmp(sector_mix[i].code, code) == 0)
			return (int)i;
	return -1;
}

static bool
hazardous(const char *sector)
{
	return strcmp(sector, "hazchem") == 0 || strcmp(sector, "gas") == 0 ||
	       strcmp(sector, "coal") == 0 ||
	       strcmp(sector, "noncoal_mine") == 0 ||
	       strcmp(sector, "metallurgy") == 0;
}

/* --- enterprises ---------------------------------------------------------- */

static void
place(struct sim_rng *r, const char *district, double *lon, double *lat)
{
	double x = 117.1, y = 36.65;

	for (size_t i = 0; i < N(district_geo); i++)
		if (strcmp(district_geo[i].code, district) == 0) {
			x = district_geo[i].lon;
			y = district_geo[i].lat;
		}
	x += sim_rng_gauss(r) * 0.025;
	y += sim_rng_gauss(r) * 0.02;
	*lon = round_to(fmin(fmax(x, 116.80), 117.40), 0.000001);
	*lat = round_to(fmin(fmax(y, 36.40), 36.90), 0.000001);
}

static int
pick_district(struct sim_rng *r, const struct sim_ref *ref, int mix, double *w)
{
	const char *only = mix >= 0 ? sector_mix[mix].districts : NULL;
	double total = 0;

	for (size_t d = 0; d < ref->districts.n; d++) {
		const char *code = ref->districts.rows[d].code;

		w[d] = 5;
		for (size_t i = 0; i < N(district_geo); i++)
			if (strcmp(district_geo[i].code, code) == 0)
				w[d] = district_geo[i].weight;
		if (only != NULL && strstr(only, code) == NULL)
			w[d] = 0;
		total += w[d];
	}
	if (total <= 0)
		for (size_t d = 0; d < ref->districts.n; d++)
			w[d] = 1;
	return (int)sim_rng_weighted(r, w, ref->districts.n);
}

static int
build_enterprises(struct sim_city *c, double *w)
{
	const struct sim_ref *ref = c->ref;
	int yjj = sim_ref_find(&ref->departments, "YJJ");
	uint64_t base = (c->p.seed * 0x9E3779B97F4A7C15ULL) % 50000000u;
	struct sim_rng r;

	sim_rng_init(&r, c->p.seed, "enterprises");
	c->ents =
	    calloc(c->p.enterprises ? c->p.enterprises : 1, sizeof(*c->ents));
	if (c->ents == NULL)
		return -1;
	for (size_t i = 0; i < c->p.enterprises; i++) {
		struct sim_enterprise *e = &c->ents[i];
		const char *sector;
		int mix, lead;
		double staff;

		for (size_t s = 0; s < ref->sectors.n; s++) {
			mix = sector_mix_of(ref->sectors.rows[s].code);
			w[s] = mix >= 0 ? sector_mix[mix].weight : 2;
		}
		e->sector = (int)sim_rng_weighted(&r, w, ref->sectors.n);
		sector = ref->sectors.rows[e->sector].code;
		mix = sector_mix_of(sector);
		e->district = pick_district(&r, ref, mix, w);
		if (ids_uscc_generate(base + i,
		        ref->districts.rows[e->district].code, e->uscc) != 0)
			return -1;
		sim_names_enterprise(&r, sector, e->name, sizeof(e->name));
		sim_names_address(&r, ref->districts.rows[e->district].name,
		    e->address, sizeof(e->address));
		place(&r, ref->districts.rows[e->district].code, &e->lon,
		    &e->lat);
		staff = exp((mix >= 0 ? sector_mix[mix].log_staff : 4) +
		            sim_rng_gauss(&r) * 0.9);
		e->employees = (int)fmin(fmax(staff, 3), 20000);
		switch (sim_rng_below(&r, 50)) {
		case 0:
			e->status = "closed";
			break;
		case 1:
		case 2:
		case 3:
			e->status = "suspended";
			break;
		default:
			e->status = "operating";
		}
		e->enforcement_level =
		    e->employees >= 300 ||
		            (hazardous(sector) && e->employees >= 100)
		        ? "city"
		        : "district";
		e->credit =
		    sim_rng_chance(&r, 0.6)
		        ? credits[sim_rng_weighted(&r, credit_w, N(credit_w))]
		        : NULL;
		e->standardization_level =
		    hazardous(sector) && sim_rng_chance(&r, 0.7)
		        ? 1 + (int)sim_rng_weighted(
		                  &r, (const double[]){1, 4, 5}, 3)
		        : 0;
		/* The direct supervisor enforces: the lead department when
		 * it does, else the emergency bureau. */
		lead = sim_ref_find(
		    &ref->departments, ref->sectors.rows[e->sector].extra);
		e->direct_dept = lead;
		if (strcmp(ref->departments.rows[lead].extra, "yes") != 0 &&
		    yjj >= 0)
			e->direct_dept = yjj;
	}
	c->nents = c->p.enterprises;
	return 0;
}

/* --- hazard sources ------------------------------------------------------- */

static size_t
pick_chemical(struct sim_rng *r, const char *sector)
{
	size_t idx[N(chemicals)] = {0}, n = 0;

	for (size_t i = 0; i < N(chemicals); i++)
		if (strcmp(chemicals[i].sector, sector) == 0)
			idx[n++] = i;
	return n ? idx[sim_rng_below(r, (uint32_t)n)]
	         : sim_rng_below(r, N(chemicals));
}

static void
make_source(struct sim_city *c, struct sim_rng *r, struct sim_source *s,
    int ent, int nth)
{
	const char *sector = c->ref->sectors.rows[c->ents[ent].sector].code;
	double S = 0;
	size_t first;

	s->enterprise = ent;
	snprintf(s->code, sizeof(s->code), "%s-MHS%d", c->ents[ent].uscc, nth);
	s->unit_type = sim_rng_chance(r, 0.55) ? "storage" : "production";
	s->nchem = 1 + (int)sim_rng_weighted(r, (const double[]){6, 3, 1}, 3);
	first = pick_chemical(r, sector);
	for (int k = 0; k < s->nchem; k++) {
		size_t ci = k == 0 ? first : pick_chemical(r, sector);
		struct sim_chemical *ch = &s->chem[k];

		ch->name = chemicals[ci].name;
		ch->cas = chemicals[ci].cas;
		ch->Q = chemicals[ci].Q;
		ch->beta = chemicals[ci].beta;
		ch->q = fmax(0.1,
		    round_to(ch->Q * (k == 0 ? sim_rng_uniform(r, 0.8, 6.0)
		                             : sim_rng_uniform(r, 0.05, 1.2)),
		        0.1));
	}
	/* One chemical is listed once: drop repeats (never the first). */
	for (int k = 1; k < s->nchem; k++)
		for (int j = 0; j < k; j++)
			if (strcmp(s->chem[j].name, s->chem[k].name) == 0) {
				s->chem[k] = s->chem[s->nchem - 1];
				s->nchem--;
				k--;
				break;
			}
	/* A registered major hazard source holds at least its critical
	 * quantity (S >= 1). */
	for (int k = 0; k < s->nchem; k++)
		S += s->chem[k].q / s->chem[k].Q;
	if (S < 1)
		s->chem[0].q = round_to(s->chem[0].Q * 1.2, 0.1);
	snprintf(s->name, sizeof(s->name), "%s%s", s->chem[0].name,
	    strcmp(s->unit_type, "storage") == 0 ? "储罐区" : "生产装置");
	switch (sim_rng_below(r, 20)) {
	case 0:
	case 1:
		s->people_500m = 0;
		break;
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
		s->people_500m = 1 + (int)sim_rng_below(r, 29);
		break;
	case 7:
	case 8:
	case 9:
		s->people_500m = 30 + (int)sim_rng_below(r, 20);
		break;
	case 10:
	case 11:
	case 12:
	case 13:
		s->people_500m = 50 + (int)sim_rng_below(r, 50);
		break;
	default:
		s->people_500m = 100 + (int)sim_rng_below(r, 2900);
	}
	s->assessed_on = c->p.today - 30 - sim_rng_below(r, 1170);
	sim_names_person(r, s->main, sizeof(s->main));
	sim_names_person(r, s->technical, sizeof(s->technical));
	sim_names_person(r, s->operational, sizeof(s->operational));
}

/* About one source per 15 enterprises, on the chemical plants first, then
 * gas companies and steel works; at most three per enterprise. */
static int
build_sources(struct sim_city *c)
{
	size_t want = (c->nents + 7) / 15, ncand = 0;
	int *cand;
	struct sim_rng r;

	sim_rng_init(&r, c->p.seed, "sources");
	cand = calloc(c->nents + 1, sizeof(*cand));
	c->sources = calloc(want + 1, sizeof(*c->sources));
	if (cand == NULL || c->sources == NULL) {
		free(cand);
		return -1;
	}
	for (size_t i = 0; i < c->nents; i++) {
		const char *s = c->ref->sectors.rows[c->ents[i].sector].code;

		if (strcmp(c->ents[i].status, "closed") != 0 &&
		    (strcmp(s, "hazchem") == 0 ||
		        (sim_rng_chance(&r, 0.5) &&
		            (strcmp(s, "gas") == 0 ||
		                strcmp(s, "metallurgy") == 0))))
			cand[ncand++] = (int)i;
	}
	/* Shuffle, then deal sources round by round. */
	for (size_t i = ncand; i > 1; i--) {
		size_t j = sim_rng_below(&r, (uint32_t)i);
		int t = cand[i - 1];

		cand[i - 1] = cand[j];
		cand[j] = t;
	}
	for (int round_ = 1; round_ <= 3 && c->nsources < want; round_++)
		for (size_t k = 0; k < ncand && c->nsources < want; k++) {
			if (round_ > 1 && !sim_rng_chance(&r, 0.5))
				continue;
			make_source(
			    c, &r, &c->sources[c->nsources++], cand[k], round_);
		}
	free(cand);
	return 0;
}

/* --- monitoring points ---------------------------------------------------- */

static void
set_th(struct sim_point *p, double ll, double l, double h, double hh)
{
	p->has_ll = !isnan(ll);
	p->has_l = !isnan(l);
	p->has_h = !isnan(h);
	p->has_hh = !isnan(hh);
	p->ll = ll;
	p->l = l;
	p->h = h;
	p->hh = hh;
}

/* Units, thresholds and range of a point of kind k, and where it runs. */
static void
make_point_spec(struct sim_point *p, struct sim_rng *r, const char *sector)
{
	double n, rated;
	size_t g;

	switch (p->kind) {
	case SIM_PK_LEVEL:
		p->unit = "m";
		n = round_to(sim_rng_uniform(r, 3.5, 5.5), 0.1);
		set_th(p, 0.5, 1.0, 8.0, 9.0);
		p->range_lo = 0, p->range_hi = 10;
		p->normal = n, p->noise = 0.05;
		break;
	case SIM_PK_TEMPERATURE:
		p->unit = "℃";
		n = round_to(sim_rng_uniform(r, 30, 90), 1);
		set_th(p, sim_rng_chance(r, 0.5) ? n - 40 : NAN, n - 25, n + 20,
		    n + 35);
		p->range_lo = -20, p->range_hi = 200;
		p->normal = n, p->noise = 0.6;
		break;
	case SIM_PK_PRESSURE:
		p->unit = "MPa";
		n = round_to(sim_rng_uniform(r, 0.4, 1.6), 0.05);
		set_th(p, round_to(n * 0.3, 0.01), round_to(n * 0.5, 0.01),
		    round_to(n * 1.3, 0.01), round_to(n * 1.6, 0.01));
		p->range_lo = 0, p->range_hi = 4;
		p->normal = n, p->noise = n * 0.01;
		break;
	case SIM_PK_FLOW:
		p->unit = "m³/h";
		n = round_to(sim_rng_uniform(r, 100, 280), 5);
		set_th(p, NAN, round_to(n * 0.3, 1), round_to(n * 1.4, 1),
		    round_to(n * 1.6, 1));
		p->range_lo = 0, p->range_hi = 500;
		p->normal = n, p->noise = n * 0.015;
		break;
	case SIM_PK_GAS_COMBUSTIBLE:
		p->unit = "%LEL";
		set_th(p, NAN, NAN, 25, 50);
		p->range_lo = 0, p->range_hi = 100;
		p->normal = round_to(sim_rng_uniform(r, 0, 3), 0.1);
		p->noise = 0.4;
		break;
	case SIM_PK_GAS_TOXIC:
		g = strcmp(sector, "hazchem") == 0
		        ? sim_rng_below(r, N(toxic_gases))
		    : strcmp(sector, "noncoal_mine") == 0 ? sim_rng_below(r, 2)
		                                          : 0;
		p->unit = "ppm";
		p->tag = toxic_gases[g].tag;
		set_th(p, NAN, NAN, toxic_gases[g].h, toxic_gases[g].hh);
		p->range_lo = 0, p->range_hi = toxic_gases[g].range_hi;
		p->normal = toxic_gases[g].h * sim_rng_uniform(r, 0.02, 0.15);
		p->noise = toxic_gases[g].h * 0.02;
		break;
	case SIM_PK_OXYGEN:
		p->unit = "%VOL";
		set_th(p, 18.0, 19.5, 23.5, 25.0);
		p->range_lo = 0, p->range_hi = 30;
		p->normal = 20.9, p->noise = 0.05;
		break;
	case SIM_PK_METHANE:
		p->unit = "%CH4";
		set_th(p, NAN, NAN, 1.0, 1.5);
		p->range_lo = 0, p->range_hi = 4;
		p->normal = round_to(sim_rng_uniform(r, 0.05, 0.4), 0.01);
		p->noise = 0.02;
		break;
	case SIM_PK_SMOKE:
		p->unit = "%obs/m";
		set_th(p, NAN, NAN, 2.0, 4.0);
		p->range_lo = 0, p->range_hi = 20;
		p->normal = 0.1, p->noise = 0.03;
		break;
	case SIM_PK_ELEVATOR:
		/* Car speed: the governor trips at 115 % of rated speed. */
		p->unit = "m/s";
		rated =
		    (const double[]){1.0, 1.5, 1.75, 2.5}[sim_rng_below(r, 4)];
		set_th(p, NAN, NAN, round_to(rated * 1.15, 0.01),
		    round_to(rated * 1.4, 0.01));
		p->range_lo = 0, p->range_hi = rated * 2;
		p->normal = rated * 0.85, p->noise = rated * 0.03;
		break;
	default:
		/* Crane or hoist load, in percent of rated load. */
		p->unit = "%";
		set_th(p, NAN, NAN, 90, 100);
		p->range_lo = 0, p->range_hi = 130;
		p->normal = round_to(sim_rng_uniform(r, 35, 65), 1);
		p->noise = 2;
		break;
	}
	p->deadband = sim_rng_chance(r, 0.6)
	                  ? round_to((p->range_hi - p->range_lo) * 0.02, 0.001)
	                  : -1;
	p->delay_s =
	    sim_rng_chance(r, 0.3) ? 5 * (1 + (int)sim_rng_below(r, 2)) : 0;
	p->interval_s =
	    (const int[]){10, 15, 20, 30, 30, 60}[sim_rng_below(r, 6)];
}

/* Points are dealt by weight (sector and size), remainders one each. */
static int
build_points(struct sim_city *c, double *w)
{
	size_t total = c->p.points, given = 0;
	size_t *alloc;
	double sum = 0;
	struct sim_rng r;

	sim_rng_init(&r, c->p.seed, "points");
	alloc = calloc(c->nents + 1, sizeof(*alloc));
	c->points = calloc(total + 1, sizeof(*c->points));
	if (alloc == NULL || c->points == NULL) {
		free(alloc);
		return -1;
	}
	for (size_t i = 0; i < c->nents; i++) {
		int mix =
		    sector_mix_of(c->ref->sectors.rows[c->ents[i].sector].code);

		w[i] = (mix >= 0 ? sector_mix[mix].points : 3) *
		       (1 + c->ents[i].employees / 400.0);
		sum += w[i];
	}
	for (size_t i = 0; i < c->nents && sum > 0; i++) {
		alloc[i] = (size_t)floor((double)total * w[i] / sum);
		given += alloc[i];
	}
	/* What rounding left over goes round the enterprises one by one. */
	if (c->nents > 0) {
		size_t nents = c->nents;

		for (size_t i = 0; given < total; i = (i + 1) % nents) {
			alloc[i]++;
			given++;
		}
	}
	for (size_t i = 0; i < c->nents; i++) {
		const char *sector =
		    c->ref->sectors.rows[c->ents[i].sector].code;
		const double *kw = point_mix[N(point_mix) - 1].w;
		int nsrc = 0, src[3];

		for (size_t k = 0; k < N(point_mix); k++)
			if (strcmp(point_mix[k].sector, sector) == 0)
				kw = point_mix[k].w;
		for (size_t s = 0; s < c->nsources; s++)
			if (c->sources[s].enterprise == (int)i && nsrc < 3)
				src[nsrc++] = (int)s;
		for (size_t k = 0; k < alloc[i]; k++) {
			struct sim_point *p = &c->points[c->npoints++];

			p->enterprise = (int)i;
			p->kind = (enum sim_point_kind)sim_rng_weighted(
			    &r, kw, SIM_PK_COUNT);
			snprintf(p->code, sizeof(p->code), "%s-%s%03zu",
			    c->ents[i].uscc, kind_abbr[p->kind], k + 1);
			make_point_spec(p, &r, sector);
			p->hazard_source = -1;
			if (nsrc > 0 && p->kind <= SIM_PK_GAS_TOXIC &&
			    sim_rng_chance(&r, 0.8))
				p->hazard_source =
				    src[sim_rng_below(&r, (uint32_t)nsrc)];
		}
	}
	free(alloc);
	return 0;
}

/* --- risk points, equipment ----------------------------------------------- */

static int
build_risks(struct sim_city *c)
{
	struct sim_rng r;

	sim_rng_init(&r, c->p.seed, "risk_points");
	c->risks = calloc(4 * c->nents + 1, sizeof(*c->risks));
	if (c->risks == NULL)
		return -1;
	for (size_t i = 0; i < c->nents; i++) {
		const char *sector =
		    c->ref->sectors.rows[c->ents[i].sector].code;
		uint32_t n;

		if (!hazardous(sector) && !sim_rng_chance(&r, 0.3))
			continue;
		n = 1 + sim_rng_below(&r, 4);
		for (uint32_t k = 0; k < n; k++) {
			struct sim_risk_point *rp = &c->risks[c->nrisks++];

			rp->enterprise = (int)i;
			snprintf(rp->code, sizeof(rp->code), "%s-RP%02u",
			    c->ents[i].uscc, k + 1);
			rp->name = risk_names[sim_rng_below(&r, N(risk_names))];
			rp->measures =
			    risk_measures[sim_rng_below(&r, N(risk_measures))];
			rp->lec = sim_rng_chance(&r, 0.75);
			if (rp->lec) {
				rp->L = lec_L[sim_rng_below(&r, N(lec_L))];
				rp->E = lec_E[sim_rng_below(&r, N(lec_E))];
				rp->C = lec_C[sim_rng_below(&r, N(lec_C))];
			} else {
				rp->L = 1 + sim_rng_below(&r, 5);
				rp->S = 1 + sim_rng_below(&r, 5);
			}
		}
	}
	return 0;
}

static int
build_equipment(struct sim_city *c)
{
	uint32_t rescue_base, nelev = 0;
	struct sim_rng r;

	sim_rng_init(&r, c->p.seed, "equipment");
	rescue_base = sim_rng_below(&r, 900000);
	c->equipment = calloc(12 * c->nents + 1, sizeof(*c->equipment));
	if (c->equipment == NULL)
		return -1;
	for (size_t i = 0; i < c->nents; i++) {
		const char *sector =
		    c->ref->sectors.rows[c->ents[i].sector].code;
		const char *kinds[3] = {"elevator", NULL, NULL};
		uint32_t n[3] = {0, 0, 0}, seq = 0;

		if (strcmp(sector, "hazchem") == 0 ||
		    strcmp(sector, "gas") == 0) {
			kinds[0] = "pressure_vessel",
			n[0] = 1 + sim_rng_below(&r, 5);
			kinds[1] = "pressure_piping",
			n[1] = sim_rng_below(&r, 3);
			kinds[2] = "boiler", n[2] = sim_rng_below(&r, 2);
		} else if (strcmp(sector, "metallurgy") == 0 ||
		           strcmp(sector, "construction") == 0) {
			kinds[0] = "crane", n[0] = 1 + sim_rng_below(&r, 4);
			kinds[1] = "boiler", n[1] = sim_rng_below(&r, 2);
		} else if (strcmp(sector, "special_equipment") == 0) {
			n[0] = 2 + sim_rng_below(&r, 6);
			kinds[1] = "boiler", n[1] = sim_rng_below(&r, 2);
		} else if (strcmp(sector, "fire") == 0) {
			n[0] = 1 + sim_rng_below(&r, 5);
		} else if (!hazardous(sector)) {
			n[0] = sim_rng_chance(&r, 0.4)
			           ? 1 + sim_rng_below(&r, 3)
			           : 0;
		}
		for (int k = 0; k < 3; k++)
			for (uint32_t j = 0; j < n[k]; j++) {
				struct sim_equipment *q =
				    &c->equipment[c->nequipment++];
				bool elevator =
				    strcmp(kinds[k], "elevator") == 0;

				q->enterprise = (int)i;
				q->kind = kinds[k];
				snprintf(q->code, sizeof(q->code), "%s-EQ%02u",
				    c->ents[i].uscc, ++seq);
				q->key_place = sim_rng_chance(&r,
				    elevator && (strcmp(sector, "fire") == 0)
				        ? 0.6
				        : 0.1);
				q->next_due_on =
				    c->p.today - 40 + sim_rng_below(&r, 405);
				if (elevator) {
					/* Distinct 6-digit codes: a step
					 * coprime with 900000. */
					snprintf(q->rescue_code,
					    sizeof(q->rescue_code), "%06u",
					    100000 + (rescue_base +
					                 nelev++ * 7919u) %
					                 900000);
					q->on_96333 = sim_rng_chance(&r, 0.92);
					q->insured = sim_rng_chance(
					    &r, q->key_place ? 0.85 : 0.3);
				}
			}
	}
	return 0;
}

/* --- inspectors, agencies ------------------------------------------------- */

static void
add_conflicts(struct sim_city *c, struct sim_rng *r, struct sim_inspector *in)
{
	if (c->nents == 0 || !sim_rng_chance(r, 0.06))
		return;
	in->nconflicts = 1 + (int)sim_rng_below(r, 2);
	for (int k = 0; k < in->nconflicts; k++) {
		int e = (int)sim_rng_below(r, (uint32_t)c->nents);

		/* Prefer an enterprise of the inspector's own district,
		 * where a conflict matters. */
		for (int t = 0; t < 20 && in->district >= 0 &&
		                c->ents[e].district != in->district;
		     t++)
			e = (int)sim_rng_below(r, (uint32_t)c->nents);
		if (k == 1 && e == in->conflicts[0]) {
			in->nconflicts = 1;
			break;
		}
		in->conflicts[k] = e;
	}
}

static int
build_inspectors(struct sim_city *c)
{
	static const char *const district_depts[] = {
	    "YJJ", "SCJG", "XFZD", "ZJJ"};
	const struct sim_ref *ref = c->ref;
	size_t cap =
	    ref->departments.n * 13 + ref->districts.n * N(district_depts) * 5;
	struct sim_rng r;

	sim_rng_init(&r, c->p.seed, "inspectors");
	c->inspectors = calloc(cap + 1, sizeof(*c->inspectors));
	if (c->inspectors == NULL)
		return -1;
	for (size_t d = 0; d < ref->departments.n; d++) {
		const struct sim_ref_row *dep = &ref->departments.rows[d];
		uint32_t n;

		if (strcmp(dep->extra, "yes") != 0)
			continue;
		n = 6 + sim_rng_below(&r, 7);
		for (uint32_t k = 0; k < n; k++) {
			struct sim_inspector *in =
			    &c->inspectors[c->ninspectors++];

			snprintf(in->id, sizeof(in->id), "%s-%03u", dep->code,
			    k + 1);
			sim_names_person(&r, in->name, sizeof(in->name));
			in->dept = (int)d;
			in->district = -1;
			in->active = sim_rng_chance(&r, 0.95);
			add_conflicts(c, &r, in);
		}
		for (size_t k = 0; k < N(district_depts); k++) {
			if (strcmp(dep->code, district_depts[k]) != 0)
				continue;
			for (size_t dd = 0; dd < ref->districts.n; dd++) {
				uint32_t m = 2 + sim_rng_below(&r, 3);

				for (uint32_t j = 0; j < m; j++) {
					struct sim_inspector *in =
					    &c->inspectors[c->ninspectors++];

					snprintf(in->id, sizeof(in->id),
					    "%s-%s-%02u", dep->code,
					    ref->districts.rows[dd].code,
					    j + 1);
					sim_names_person(
					    &r, in->name, sizeof(in->name));
					in->dept = (int)d;
					in->district = (int)dd;
					in->active = sim_rng_chance(&r, 0.95);
					add_conflicts(c, &r, in);
				}
			}
		}
	}
	return 0;
}

static int
build_agencies(struct sim_city *c, double *w)
{
	size_t n = 20 + c->nents / 100;
	struct sim_rng r;

	sim_rng_init(&r, c->p.seed, "agencies");
	c->agencies = calloc(n, sizeof(*c->agencies));
	if (c->agencies == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct sim_agency *a = &c->agencies[i];
		bool testing = sim_rng_chance(&r, 0.4);

		snprintf(a->code, sizeof(a->code), "%s-%03zu",
		    testing ? "AQJC" : "AQPJ", i + 1);
		a->out_of_province = sim_rng_chance(&r, 0.15);
		a->kind = testing ? "testing" : "evaluation";
		a->district = pick_district(&r, c->ref, -1, w);
		sim_names_agency(
		    &r, testing, a->out_of_province, a->name, sizeof(a->name));
	}
	c->nagencies = n;
	return 0;
}

int
sim_city_build(struct sim_city *c, const struct sim_ref *ref,
    const struct sim_params *p, char *why, size_t whysize)
{
	size_t wn = p->enterprises + ref->districts.n + ref->sectors.n + 1;
	double *w;
	int rc;

	memset(c, 0, sizeof(*c));
	c->p = *p;
	c->ref = ref;
	if (ref->districts.n == 0 || ref->sectors.n == 0 ||
	    ref->departments.n == 0) {
		snprintf(why, whysize, "the code tables are empty");
		return -1;
	}
	w = calloc(wn, sizeof(*w));
	rc = w == NULL || build_enterprises(c, w) != 0 ||
	     build_sources(c) != 0 || build_points(c, w) != 0 ||
	     build_risks(c) != 0 || build_equipment(c) != 0 ||
	     build_inspectors(c) != 0 || build_agencies(c, w) != 0;
	free(w);
	if (rc) {
		snprintf(why, whysize,
		    "cannot build the city: out of memory "
		    "or a district code that is not 6 digits");
		sim_city_free(c);
		return -1;
	}
	return 0;
}

void
sim_city_free(struct sim_city *c)
{
	free(c->ents);
	free(c->points);
	free(c->sources);
	free(c->risks);
	free(c->equipment);
	free(c->inspectors);
	free(c->agencies);
	memset(c, 0, sizeof(*c));
}

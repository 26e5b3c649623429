/*
 * citysim - what the parts of the demo city simulator share.
 *
 * citysim makes a believable city for demos, tests and benchmarks and feeds
 * it to Anquan through the public API only, as a sector system would
 * (DESIGN.md §4.1, issue 4 §6).  Its parts, each its own file:
 *
 *   citysim_rng.c    the pseudo-random generator (xoshiro256**, seeded by
 *                    splitmix64): the same seed gives the same city
 *   citysim_ref.c    the code tables of deploy/data (districts, sectors and
 *                    their lead departments, departments)
 *   citysim_city.c   the city itself, built in memory from the seed:
 *                    enterprises, monitoring points, hazard sources, risk
 *                    points, equipment, inspectors, agencies
 *   citysim_names.c  Chinese names of people, enterprises, places
 *   citysim_emit.c   each record as the JSON event of DOMAIN.md §2, and the
 *                    duty rosters of the coming week
 *   citysim_feed.c   a small blocking HTTP/1.1 client (keep-alive, 503 with
 *                    Retry-After waited out and resent)
 *   citysim_load.c   `citysim load` and `citysim dump`: the city's events in
 *                    batches, the answers counted
 *   citysim_play.c   `citysim play`: readings at a rate, with noise,
 *                    excursions past H and HH, silent points, bad quality
 *   main.c           options and the choice of command
 *
 * citysim is a command-line tool, not a daemon: it blocks on its one
 * connection, which is all a feeder needs.  The city (struct sim_city) owns
 * every record; the emitters write into the caller's json_out.
 */
#ifndef ANQUAN_CITYSIM_H
#define ANQUAN_CITYSIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "json.h"

/* --- citysim_rng.c ----------------------------------------------------------
 */

/* xoshiro256** state. */
struct sim_rng {
	uint64_t s[4];
};

/* Seed a stream from the city seed and a stream name, so each kind of
 * record has its own stream and one count changing leaves the others. */
void sim_rng_init(struct sim_rng *r, uint64_t seed, const char *stream);
/* The next 64 random bits. */
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, n) (n > 0), without modulo bias. */
uint32_t sim_rng_below(struct sim_rng *r, uint32_t n);
/* Uniform in [lo, hi). */
double sim_rng_uniform(struct sim_rng *r, double lo, double hi);
/* Standard normal (mean 0, deviation 1). */
double sim_rng_gauss(struct sim_rng *r);
/* True with probability p. */
bool sim_rng_chance(struct sim_rng *r, double p);
/* An index drawn by the n weights (their sum must be positive). */
size_t sim_rng_weighted(struct sim_rng *r, const double *w, size_t n);
/* A 64-bit hash of a string (FNV-1a, mixed): seeds for named streams. */
uint64_t sim_rng_hash(const char *s);

/* --- citysim_ref.c ----------------------------------------------------------
 */

#define SIM_CODE_MAX 32
#define SIM_NAME_MAX 96

struct sim_ref_row {
	char code[SIM_CODE_MAX];
	char name[SIM_NAME_MAX];
	char extra[SIM_CODE_MAX]; /* sectors: lead; departments: enforces */
};

struct sim_ref_table {
	struct sim_ref_row *rows;
	size_t n;
};

/* The three code tables of deploy/data. */
struct sim_ref {
	struct sim_ref_table districts, sectors, departments;
};

/* Read districts.csv, sectors.csv and departments.csv from dir.  Returns 0,
 * or -1 with the file and reason in why. */
int sim_ref_load(
    struct sim_ref *ref, const char *dir, char *why, size_t whysize);
void sim_ref_free(struct sim_ref *ref);
/* The row index of code in t, or -1. */
int sim_ref_find(const struct sim_ref_table *t, const char *code);

/* --- citysim_names.c --------------------------------------------------------
 */

/* A person's name (2 or 3 characters) into buf. */
void sim_names_person(struct sim_rng *r, char *buf, size_t size);
/* A mobile number of 11 digits starting 1[3-9]. */
void sim_names_phone(struct sim_rng *r, char *buf, size_t size);
/* 济南 + trade name + the sector's trade + company form. */
void sim_names_enterprise(
    struct sim_rng *r, const char *sector, char *buf, size_t size);
/* 济南市 + district + road + number. */
void sim_names_address(
    struct sim_rng *r, const char *district_name, char *buf, size_t size);
/* A safety evaluation or testing agency; out_of_province picks a
 * province other than Shandong. */
void sim_names_agency(struct sim_rng *r, bool testing, bool out_of_province,
    char *buf, size_t size);

/* --- citysim_city.c ---------------------------------------------------------
 */

/* What a point measures and how it behaves; kinds of DOMAIN.md §2. */
enum sim_point_kind {
	SIM_PK_LEVEL,
	SIM_PK_TEMPERATURE,
	SIM_PK_PRESSURE,
	SIM_PK_FLOW,
	SIM_PK_GAS_COMBUSTIBLE,
	SIM_PK_GAS_TOXIC,
	SIM_PK_OXYGEN,
	SIM_PK_METHANE,
	SIM_PK_SMOKE,
	SIM_PK_ELEVATOR,
	SIM_PK_OTHER,
	SIM_PK_COUNT
};

struct sim_enterprise {
	char uscc[IDS_USCC_SIZE];
	char name[160];
	char address[200];
	int district; /* row of ref.districts */
	int sector;   /* row of ref.sectors */
	int employees;
	const char *status;
	const char *enforcement_level;
	const char *credit;
	int standardization_level; /* 0: not given */
	double lon, lat;
	int direct_dept; /* row of ref.departments */
};

struct sim_point {
	char code[48];
	int enterprise;
	enum sim_point_kind kind;
	const char *unit;
	const char *tag; /* the gas of a toxic-gas point, else NULL */
	bool has_ll, has_l, has_h, has_hh;
	double ll, l, h, hh;
	double range_lo, range_hi;
	double normal; /* the operating value the player centres on */
	double noise;  /* standard deviation of the player's noise */
	double deadband;
	int delay_s;
	int interval_s;
	int hazard_source; /* index in city.sources, or -1 */
};

#define SIM_CHEM_MAX 3

struct sim_chemical {
	const char *name;
	const char *cas;
	double q, Q, beta; /* tonnes held, critical tonnes, correction */
};

struct sim_source {
	char code[40];
	char name[64];
	int enterprise;
	const char *unit_type;
	int people_500m;
	int nchem;
	struct sim_chemical chem[SIM_CHEM_MAX];
	int64_t assessed_on; /* days since 1970-01-01 */
	char main[16], technical[16], operational[16];
};

struct sim_risk_point {
	char code[40];
	int enterprise;
	const char *name;
	bool lec;
	double L, E, C, S;
	const char *measures;
};

struct sim_equipment {
	char code[40];
	int enterprise;
	const char *kind;
	char rescue_code[8]; /* elevators only, else "" */
	bool key_place, insured, on_96333;
	int64_t next_due_on; /* days */
};

#define SIM_CONFLICTS_MAX 3

struct sim_inspector {
	char id[80];
	char name[16];
	int dept;     /* row of ref.departments */
	int district; /* row of ref.districts, -1 for city level */
	bool active;
	int nconflicts;
	int conflicts[SIM_CONFLICTS_MAX]; /* enterprise indexes */
};

struct sim_agency {
	char code[24];
	char name[128];
	int district;
	const char *kind;
	bool out_of_province;
};

/* How big a city, from which seed, on which day. */
struct sim_params {
	uint64_t seed;
	size_t enterprises;
	size_t points;
	int64_t today; /* city day the dates are counted from */
};

struct sim_city {
	struct sim_params p;
	const struct sim_ref *ref;
	struct sim_enterprise *ents;
	size_t nents;
	struct sim_point *points;
	size_t npoints;
	struct sim_source *sources;
	size_t nsources;
	struct sim_risk_point *risks;
	size_t nrisks;
	struct sim_equipment *equipment;
	size_t nequipment;
	struct sim_inspector *inspectors;
	size_t ninspectors;
	struct sim_agency *agencies;
	size_t nagencies;
};

/* Build the city of p over the code tables (which must outlive it).
 * Returns 0, or -1 with the reason in why (out of memory, empty tables). */
int sim_city_build(struct sim_city *c, const struct sim_ref *ref,
    const struct sim_params *p, char *why, size_t whysize);
void sim_city_free(struct sim_city *c);
/* The kind's name as DOMAIN.md §2 spells it. */
const char *sim_city_point_kind_name(enum sim_point_kind k);

/* --- citysim_emit.c ---------------------------------------------------------
 */

/* The groups of events in the order they are loaded: enterprises before
 * anything that names them, hazard sources before the points on them. */
enum sim_phase {
	SIM_PH_ENTERPRISES,
	SIM_PH_RESPONSIBILITIES,
	SIM_PH_SOURCES,
	SIM_PH_RISK_POINTS,
	SIM_PH_POINTS,
	SIM_PH_EQUIPMENT,
	SIM_PH_INSPECTORS,
	SIM_PH_AGENCIES,
	SIM_PH_ROSTERS,
	SIM_PH_COUNT
};

/* Shifts per unit in the rosters: last night's, then day and night for
 * today and the next 7 days. */
#define SIM_ROSTER_SHIFTS 17

/* The name of a phase, for reports. */
const char *sim_emit_phase_name(enum sim_phase ph);
/* How many events a phase has. */
size_t sim_emit_count(const struct sim_city *c, enum sim_phase ph);
/* Append event i of the phase to w (inside the events array); its id
 * goes into id (at most idsize bytes). */
void sim_emit_event(const struct sim_city *c, enum sim_phase ph, size_t i,
    struct json_out *w, char *id, size_t idsize);

/* --- citysim_feed.c ---------------------------------------------------------
 */

/* One keep-alive connection to ingestd. */
struct sim_feed {
	char host[128];
	char port[8];
	char token[128];
	int fd;
	char *buf; /* bytes read and not yet consumed */
	size_t len, cap;
	int timeout_s;
	int max_tries;    /* per request, for 503 and lost connections */
	unsigned retries; /* 503s waited out and connections redone */
	/* When set and non-zero (a signal came), stop resending. */
	volatile sig_atomic_t *stop;
};

/* An answer: the status and its body (owned, NUL-terminated). */
struct sim_answer {
	int status;
	char *body;
	size_t len;
};

/* Parse url (http://host:port) and keep token; no connection yet.
 * Returns 0, or -1 with the reason. */
int sim_feed_init(struct sim_feed *f, const char *url, const char *token,
    char *why, size_t whysize);
/* POST body to path as JSON, resending on 503 (after Retry-After) and on a
 * lost connection; a resend is safe since ingestd deduplicates.  Returns 0
 * with the final answer in *a (free with sim_answer_free), or -1 with the
 * reason when no answer came. */
int sim_feed_post(struct sim_feed *f, const char *path, const char *body,
    size_t len, struct sim_answer *a, char *why, size_t whysize);
void sim_feed_close(struct sim_feed *f);
void sim_answer_free(struct sim_answer *a);

/* --- citysim_load.c, citysim_play.c ----------------------------------------
 */

/* What load, dump and play are told on the command line. */
struct sim_opts {
	struct sim_params city;
	const char *url;
	const char *token;
	const char *data_dir;
	size_t batch;      /* events per request */
	double rate;       /* readings per second */
	double duration_s; /* play: 0 runs until a signal */
	double excursions_per_min;
	bool quiet;
};

/* Exit statuses beyond 0 and 1. */
#define SIM_EXIT_USAGE 2
#define SIM_EXIT_AUTH 3 /* the token was refused: make a new one */

/* Build the city and send it; returns the process exit status. */
int sim_load_run(const struct sim_opts *o);
/* Print the request bodies load would send, one per line. */
int sim_load_dump(const struct sim_opts *o);
/* Play readings until the duration ends or a signal comes. */
int sim_play_run(const struct sim_opts *o);

#endif

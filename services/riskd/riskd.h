/*
 * riskd - the daemon's model in memory and how its files fit.
 *
 * riskd keeps the registry it grades in memory (points, enterprises,
 * major hazard sources, risk points, active operations, maintenance
 * windows), loaded from the store at start and refreshed from the store
 * whenever an ev.* message says a record changed.  Readings (rd.*) run the
 * alarm state machine of each point (alarm.c); a batch's effects are
 * gathered in a journal and written, with the al.* / rk.* messages that
 * report them, in the bus consumer's transaction (before_commit), so the
 * store always matches the cursors and a replay after kill -9 raises
 * nothing twice.  A failed transaction throws the in-memory model away
 * and reloads it from the store before anything else is handled.
 *
 * Files:
 *   main.c         the daemon table, config, life cycle, timers
 *   ack.c          the officers' acknowledgements, heard from alarmd
 *   vec.c          a pointer vector (the maps are common/strmap.c)
 *   model.c        the model: lookups, links, load from the store
 *   model_store.c  the SQL that reads the registry and riskd's tables
 *   feed.c         bus handlers: readings into alarms, events into reloads
 *   regrade.c      source grades and warnings, enterprise risk, timers
 *   journal.c      the transaction's effects: rows and bus messages
 *   api.c          the HTTP API
 * Pure grading logic lives apart: alarm.c, grade.c, level.c, warning.c,
 * enterprise.c.  Everything runs on the loop's thread.
 */
#ifndef ANQUAN_RISKD_H
#define ANQUAN_RISKD_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "alarm.h"
#include "bus.h"
#include "enterprise.h"
#include "grade.h"
#include "http.h"
#include "level.h"
#include "strmap.h"
#include "warning.h"

struct daemon;
struct store;
struct metric;

/* --- vec.c ------------------------------------------------------------- */

struct rk_vec {
	void **v;
	size_t n, cap;
};

int rk_vec_push(struct rk_vec *v, void *p);
/* Remove the first occurrence of p (order not kept); 1 if found. */
int rk_vec_remove(struct rk_vec *v, const void *p);
void rk_vec_free(struct rk_vec *v);

/* --- the model --------------------------------------------------------- */

struct rk_ent;
struct rk_source;

struct rk_point {
	char *code;
	struct rk_ent *ent;
	struct rk_source *source; /* NULL: on none, or not registered yet */
	char *source_code;        /* as registered; NULL when none */
	struct alarm_params params;
	struct alarm_state st;
	uint8_t kind;             /* enum point_kind */
	char unit[24];
	/* Start of the open threshold alarm the duty officers acknowledged
	 * (alarmd's nt.acknowledged / nt.resolved), 0 when none: the
	 * unacked_orange rule leaves it out. */
	int64_t acked_start_ms;
	uint8_t state_dirty;      /* durable state changed: write it */
	uint8_t in_dirty;         /* on riskd.dirty_points */
	int64_t flushed_ms;       /* reading time of the last state write */
};

struct rk_window {
	int64_t id;
	int64_t starts_ms, ends_ms;
	char reason[16];
	char *hazard_source; /* NULL: not by source */
	char **points;       /* NULL when none listed */
	size_t npoints;
};

struct rk_op {
	char *op_id;
	char type[24];
	char level[16];
	struct rk_source *source; /* the source it runs on */
	char *source_code;
};

#define RK_RAISED_MAX 256

struct rk_source {
	char *code;
	char *name;
	struct rk_ent *ent;
	int64_t people_500m;
	int32_t assessed_days;
	struct chemical *chem;
	size_t nchem;
	struct source_grade grade;
	int graded;        /* grade holds a result */
	char error[160];   /* why it could not be graded */
	struct rk_vec points; /* struct rk_point * */
	struct rk_vec ops;    /* struct rk_op *, active */
	/* Starts of threshold alarms raised lately, oldest first. */
	int64_t raised[RK_RAISED_MAX];
	size_t nraised;
	struct warn_result warn;
	int warned;           /* warn holds the committed result */
	int64_t warn_since_ms;
	int64_t next_check_ms;
	enum risk_level warn_prev; /* level before the change being written */
	uint8_t in_dirty;
	uint8_t grade_pending;     /* on riskd.grade_writes */
	uint8_t warn_pending;      /* on riskd.warn_changes */
};

struct rk_rpoint {
	char *key; /* "<uscc>/<code>" */
	char code[72];
	char name[128];
	struct rk_ent *ent;
	struct risk_point_in in;
	struct risk_point_grade grade;
	int graded;
	char error[160];
	uint8_t grade_pending; /* on riskd.rpoint_writes */
};

struct rk_ent {
	char uscc[19];
	char *name;
	char district[16];
	char sector[32];
	int64_t employees;
	struct rk_vec sources; /* struct rk_source * */
	struct rk_vec rpoints; /* struct rk_rpoint * */
	struct rk_vec windows; /* struct rk_window *, owned */
	/* The facts that come from the store's records (hazards, accidents,
	 * director, list); the rest are filled from the model. */
	struct ent_facts facts;
	int facts_loaded;
	int64_t recheck_ms; /* when time alone changes those facts (0 never) */
	struct ent_risk risk;
	int graded;         /* risk holds the committed grade */
	int64_t risk_since_ms;
	enum risk_level risk_prev; /* level before the change being written */
	uint8_t in_dirty;
	uint8_t facts_stale; /* reload the store facts before grading */
	uint8_t risk_pending; /* on riskd.risk_changes */
};

/* The parsed configuration (main.c fills it from [riskd]). */
struct riskd_rules {
	struct alarm_defaults alarm;
	struct source_grade_cfg source;
	struct risk_point_cfg rpoint;
	struct warn_rules warn;
	struct ent_risk_cfg ent;
	int64_t state_flush_ms;
	int64_t state_flush_max; /* state rows written a transaction, beyond
				  * those that must be */
};

/* One alarm change waiting for the transaction. */
struct rk_alarm_row {
	struct rk_point *point;
	struct alarm_change ch;
};

struct riskd {
	struct daemon *d;
	struct store *st;
	struct riskd_rules rules;

	struct strmap *points;   /* code -> rk_point */
	struct strmap *ents;     /* uscc -> rk_ent */
	struct strmap *sources;  /* code -> rk_source */
	struct strmap *rpoints;  /* "uscc/code" -> rk_rpoint */
	struct strmap *ops;      /* op_id -> rk_op (active only) */
	size_t nalarms_open;

	/* The open transaction's effects. */
	struct rk_alarm_row *alarms;
	size_t nalarm_rows, alarm_rows_cap;
	struct rk_vec dirty_points;
	struct rk_vec dirty_sources;
	struct rk_vec dirty_ents;
	struct rk_vec warn_changes; /* struct rk_source * whose level moved */
	struct rk_vec risk_changes; /* struct rk_ent * whose level moved */
	struct rk_vec grade_writes; /* struct rk_source * regraded */
	struct rk_vec rpoint_writes; /* struct rk_rpoint * regraded */

	struct bus_producer *prod;
	struct bus_consumer *cons;
	int64_t last_due_ms; /* regrade_due's previous run */
	int64_t load_ms;     /* when the model was last loaded */
	size_t flush_budget; /* state rows still allowed in this transaction */
	int loaded;      /* the model matches the store */
	int need_reload; /* a transaction failed: reload before going on */

	struct {
		struct metric *readings, *stale, *unknown, *raised, *cleared,
		    *suppressed, *warn_changes, *risk_changes, *reloads,
		    *txn_errors, *events;
		struct metric *open, *npoints, *live, *eval_seconds;
	} m;
};

/* --- model.c ----------------------------------------------------------- */

/* Make an empty model (maps); 0 or -1. */
int model_init(struct riskd *r);
/* Free every entry and map. */
void model_free(struct riskd *r);
/* Throw the model away and load it all from the store; 0 or -1. */
int model_load(struct riskd *r, int64_t now_ms);

struct rk_ent *model_ent(struct riskd *r, const char *uscc);
struct rk_point *model_point(struct riskd *r, const char *code);
struct rk_source *model_source(struct riskd *r, const char *code);

/*
 * Reload from the store (inside the open transaction on conn) the rows
 * named: enterprises by uscc, points by code, sources by code, risk points
 * by uscc (all of one enterprise), operations by op_id, maintenance
 * windows by uscc.  Marks what changed dirty.  0 or -1 (the transaction is
 * then aborted).
 */
int model_reload_ents(struct riskd *r, PGconn *conn, const char *const *uscc,
    size_t n);
int model_reload_points(struct riskd *r, PGconn *conn,
    const char *const *codes, size_t n);
int model_reload_sources(struct riskd *r, PGconn *conn,
    const char *const *codes, size_t n);
int model_reload_rpoints(struct riskd *r, PGconn *conn,
    const char *const *uscc, size_t n);
int model_reload_ops(struct riskd *r, PGconn *conn,
    const char *const *op_ids, size_t n);
int model_reload_windows(struct riskd *r, PGconn *conn,
    const char *const *uscc, size_t n);
/* Read the store facts of these enterprises (hazards, accidents, ...). */
int model_load_facts(struct riskd *r, PGconn *conn, struct rk_ent **ents,
    size_t n, int64_t now_ms);

/* 1 when a maintenance window covers point p at ts_ms. */
int model_point_suppressed(const struct rk_point *p, int64_t ts_ms);

void model_mark_point(struct riskd *r, struct rk_point *p);
void model_mark_source(struct riskd *r, struct rk_source *s);
void model_mark_ent(struct riskd *r, struct rk_ent *e);

/* --- feed.c ------------------------------------------------------------ */

/* The bus handler table (rd.* readings, ev.* events, alarmd's
 * acknowledgements). */
extern const struct bus_handler feed_handlers[];

/* ack.c: alarmd's nt.acknowledged / nt.resolved: the incident's open
 * threshold alarms acknowledged (their sources re-evaluated). */
enum bus_verdict ack_on_notification(PGconn *conn, const struct bus_msg *msg,
    void *arg);

/* Apply one point's alarm changes to the model and the journal. */
void feed_apply_changes(struct riskd *r, struct rk_point *p,
    const struct alarm_change *ch, size_t n);

/* The offline check of every point at now_ms (a timer). */
void feed_check_offline(struct riskd *r, int64_t now_ms);

/* --- regrade.c --------------------------------------------------------- */

/* Grade a source from its registry fields (no I/O). */
void regrade_source(struct riskd *r, struct rk_source *s);
/* Grade a risk point (no I/O). */
void regrade_rpoint(struct riskd *r, struct rk_rpoint *rp);
/*
 * Re-evaluate the dirty sources' warnings and the dirty enterprises' risk
 * at now_ms, loading stale store facts on conn; level changes go to the
 * journal.  0 or -1.
 */
int regrade_dirty(struct riskd *r, PGconn *conn, int64_t now_ms);
/* Mark sources and enterprises whose time rules are due at now_ms. */
void regrade_due(struct riskd *r, int64_t now_ms);

/* --- journal.c --------------------------------------------------------- */

int journal_add_alarm(
    struct riskd *r, struct rk_point *p, const struct alarm_change *ch);
/*
 * Write the journal (alarm rows, point states, grades, warnings, risk)
 * and stage its bus messages, inside the open transaction on conn.  0 or
 * -1.
 */
int journal_write(struct riskd *r, PGconn *conn, int64_t now_ms);
/* After COMMIT: publish, forget the journal. */
void journal_committed(struct riskd *r);
/* After ROLLBACK: forget the journal and the model (reload follows). */
void journal_aborted(struct riskd *r);
/*
 * Run regrade_dirty + journal_write in a transaction of riskd's own (a
 * timer's changes); 0 or -1 (the model is then reloaded).
 */
int journal_run_own(struct riskd *r, int64_t now_ms);

/* The consumer's transaction hooks. */
int journal_before_commit(PGconn *conn, void *arg);
void journal_after_commit(void *arg);
void journal_after_abort(void *arg);

/* --- api.c ------------------------------------------------------------- */

extern const struct http_route api_routes[];
extern const size_t api_nroutes;
/* The riskd the routes serve (set by main.c before the loop runs). */
void api_set(struct riskd *r);

int64_t riskd_now_ms(void);

#endif

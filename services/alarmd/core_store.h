/*
 * core_store - the SQL of alarmd's core (core.c): incidents, their
 * alarms, notifications and deliveries, routing facts.
 *
 * Every function runs one parameterised statement on conn, inside the
 * caller's transaction, and returns 0 (or a count) or -1 with the
 * reason logged; after -1 the caller rolls back.
 */
#ifndef ANQUAN_ALARMD_CORE_STORE_H
#define ANQUAN_ALARMD_CORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "policy.h"
#include "route.h"

/* An incident row as the core works with it. */
struct inc {
	int64_t id;
	char uscc[19];      /* "" for none */
	char enterprise[160];
	char district[16];
	char sector[32];
	char cause[240];
	enum al_level level;
	int status;         /* AL_FIRING, AL_ACKED, AL_RESOLVED */
	int tier;
	int alarm_count, open_alarms;
	char title[256];
	char summary[1024];
	char reasons[4096]; /* JSON array text */
	int64_t opened_ms, notified_ms, acked_ms, resolved_ms, cleared_ms;
	int64_t last_step_ms;
	char acked_by[64];
	char resolved_by[64];
	char resolution[1024];
	int flapping;
	int64_t silenced_by, inhibited_by;
	enum al_step next_step;
	int64_t next_step_ms;
	int step_count;
};

/* Forget the statements prepared on the connection (at shutdown). */
void cs_prepared_free(void);

/* Shared by core_store*.c: run a statement (prepared once per connection)
 * and log its failure; the result, or NULL. */
PGresult *cs_run(PGconn *c, const char *what, const char *sql, int n,
    const char *const *params);
/* A statement to run with others in one pipeline (cs_read_pipe): its
 * parameters owned (freed by cs_read_free), its result once run. */
#define CS_READ_PARAMS 32
struct cs_read {
	const char *what, *sql;
	int np;
	char *params[CS_READ_PARAMS];
	PGresult *res;
};
/* Run q[0..n) (n <= 8) in one pipeline, one round trip; each q[i].res is
 * its result, NULL for a failed one (logged).  0, or -1 when one failed
 * (the transaction is then aborted). */
int cs_read_pipe(PGconn *c, struct cs_read *q, size_t n);
/* Free the parameters and results of q[0..n). */
void cs_read_free(struct cs_read *q, size_t n);

/* Close the arrays a[0..n) (n <= 32), run sql with them as its
 * parameters, and free them; the result, or NULL.  Between
 * cs_defer_begin() and cs_defer_end() the statement is queued instead
 * (an empty COMMAND_OK result comes back) and cs_defer_end() sends the
 * queue in one pipeline, one round trip: 0, or -1 when one failed. */
void cs_defer_begin(void);
int cs_defer_end(PGconn *c);
struct store_array;
PGresult *cs_run_arrays(PGconn *c, const char *what, const char *sql,
    struct store_array *a, int n);
int64_t cs_i64(const PGresult *r, int row, int col);
void cs_cpy(char *dst, size_t size, const PGresult *r, int row, int col);

/* --- incidents, by the set (core_store.c) --------------------------------- */

/* The open incidents of the keys (uscc[i], cause[i]), i < n ("" for no
 * enterprise), locked FOR UPDATE in id order, into a malloc'd array
 * (*out, the caller frees); count or -1. */
int cs_open_incidents(PGconn *c, const char *const *uscc,
    const char *const *cause, size_t n, struct inc **out);
/* The same as a statement of a pipeline: its parameters into q (0 or -1),
 * then, once run, its rows (as cs_open_incidents; the result is taken). */
int cs_open_incidents_q(struct cs_read *q, const char *const *uscc,
    const char *const *cause, size_t n);
int cs_open_incidents_take(struct cs_read *q, struct inc **out);
/* The incidents ids[0..n), locked FOR UPDATE; as cs_open_incidents. */
int cs_lock_incidents(PGconn *c, const int64_t *ids, size_t n,
    struct inc **out);
/* n fresh ids of table ("incidents", "notifications", "deliveries"). */
int cs_new_ids(PGconn *c, const char *table, int64_t *ids, size_t n);
/* Fresh ids of the three at once: counts[k] into ids[k] (k: incidents,
 * notifications, deliveries), in one statement. */
int cs_new_ids3(PGconn *c, const size_t counts[3], int64_t *const ids[3]);
/* The same as a statement of a pipeline, then its ids (0 or -1). */
int cs_new_ids3_q(struct cs_read *q, const size_t counts[3]);
int cs_new_ids3_take(const struct cs_read *q, const size_t counts[3],
    int64_t *const ids[3]);
/* Write incs[0..n) whole: a new id (cs_new_ids) is inserted, a known one
 * has every mutable column written back.  One statement. */
int cs_write_incidents(PGconn *c, struct inc *const *incs, size_t n);

/* One incident at a time, for the rarer paths (warnings, gaps, actions):
 * the open incident of (uscc, cause) or the incident id, locked: 1 found,
 * 0 none, -1; insert (id filled); write back. */
int cs_open_incident(PGconn *c, const char *uscc, const char *cause,
    struct inc *out);
int cs_lock_incident(PGconn *c, int64_t id, struct inc *out);
int cs_insert_incident(PGconn *c, struct inc *in);
int cs_update_incident(PGconn *c, const struct inc *in);

/* An alarm of an incident (ref unique in it). */
struct cs_alarm {
	int64_t incident;
	const char *ref, *point, *kind; /* point may be NULL */
	enum al_level level;
	double value, threshold;
	int has_value, has_threshold;
	int64_t at_ms;
	int known; /* set by cs_known_alarms */
};
/* Mark the alarms already held by their incident (a replay); count. */
int cs_known_alarms(PGconn *c, struct cs_alarm *al, size_t n);
/* Insert the alarms not marked known (one statement); 0 or -1. */
int cs_insert_alarms(PGconn *c, const struct cs_alarm *al, size_t n);
/* One alarm: 1 added, 0 known, -1. */
int cs_add_alarm(PGconn *c, int64_t incident, const char *ref,
    const char *point, const char *kind, enum al_level level, double value,
    int has_value, double threshold, int has_threshold, int64_t at_ms);
/* Mark the open alarms cl[0..n) cleared (those of open incidents); the
 * incident of each one marked into a malloc'd *hits (an incident once
 * per alarm); count or -1. */
struct cleared {
	char *ref;
	int64_t at_ms;
};
int cs_clear_alarms(PGconn *c, const struct cleared *cl, size_t n,
    int64_t **hits);
/* Alarms of each point points[i] started in (now - window, now]: the
 * statement of a pipeline, then counts[i] (0 or -1). */
int cs_point_raises_q(struct cs_read *q, const char *const *points, size_t n,
    int64_t window_ms);
int cs_point_raises_take(const struct cs_read *q, size_t n, int *counts);

/* Put the incident's due step off by delay_ms (it failed). */
int cs_defer_step(PGconn *c, int64_t id, int64_t delay_ms);
/* Due incidents (next_step_at <= now), oldest first; count or -1. */
int cs_due(PGconn *c, int64_t *ids, size_t max);

/* --- what a notice needs (core_store_notify.c) ---------------------------- */

/* An alarm as the webhook lists it. */
struct cs_alarm_row {
	int64_t incident;
	char *ref, *point, *kind; /* point may be NULL */
	double value, threshold;
	int has_value, has_threshold;
	int64_t at_ms;
};
/* The newest max alarms of each incident ids[0..n), newest first within
 * an incident, into a malloc'd array (*out; free with
 * cs_alarm_rows_free); count or -1. */
int cs_alarm_rows(PGconn *c, const int64_t *ids, size_t n, int max,
    struct cs_alarm_row **out);
void cs_alarm_rows_free(struct cs_alarm_row *rows, size_t n);

/* An open incident of an enterprise (for inhibition). */
struct cs_open_inc {
	char uscc[19];
	int64_t id;
	enum al_level level;
};
/* What a notice needs of the enterprises uscc[0..n), in one statement:
 * each one's responsibility into resp[i] (found[i] 1 when it has one) and
 * their open incidents (for inhibition) into a malloc'd *opens; the count
 * of those, or -1. */
int cs_enterprise_facts(PGconn *c, const char *const *uscc, size_t n,
    struct route_resp *resp, int *found, struct cs_open_inc **opens);
/* Every shift (any unit) covering a moment of [from_ms, to_ms) (at most
 * max); count or -1. */
int cs_shifts_all(PGconn *c, int64_t from_ms, int64_t to_ms,
    struct route_shift *out, size_t max);
/* The name of a unit (district or department), into out. */
int cs_unit_name(PGconn *c, const char *unit, char *out, size_t size);

/* A notification row; id from cs_new_ids. */
struct cs_notification {
	int64_t id, incident;
	const char *status;
	enum al_level level;
	int tier;
	const char *recipients, *payload, *held; /* held may be NULL */
};
int cs_insert_notifications(PGconn *c, const struct cs_notification *n,
    size_t count);
/* Pending deliveries ids[i] of notification[i] to receiver[i]. */
int cs_insert_deliveries(PGconn *c, const int64_t *ids,
    const int64_t *notification, const char *const *receiver, size_t n);

/* Silences in force now, as struct al_silence with their strings kept in
 * a malloc'd block (*block, the caller frees); count or -1. */
int cs_silences(PGconn *c, struct al_silence *out, size_t max, char **block);

/* Deadline reminders due now (see core_remind.c); each row is one key. */
struct cs_reminder {
	char key[200];
	char kind[32];  /* hazard_due, hazard_overdue, accident_late, ... */
	char uscc[19];
	enum al_level level;
	char title[256];
	char summary[512];
};
/* Rows whose key is not in reminders_raised yet (at most max). */
int cs_reminders_due(PGconn *c, struct cs_reminder *out, size_t max);
/* Record a raised reminder. */
int cs_reminder_raised(PGconn *c, const char *key, int64_t incident);

/* Enterprise facts for an incident: name, district, sector (1 found). */
int cs_enterprise(PGconn *c, const char *uscc, char *name, size_t nsize,
    char *district, size_t dsize, char *sector, size_t ssize);

/* Open roster-gap incidents whose unit is covered again (ids). */
int cs_gaps_covered(PGconn *c, int64_t *ids, size_t max);

/* Units that must always have someone on duty without a shift now. */
int cs_units_uncovered(PGconn *c, char (*out)[16], size_t max);

#endif

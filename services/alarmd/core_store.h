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

/* The open incident of (uscc, cause), locked: 1 found, 0 none, -1. */
int cs_open_incident(PGconn *c, const char *uscc, const char *cause,
    struct inc *out);
/* The incident id, locked FOR UPDATE: 1 found, 0 none, -1. */
int cs_lock_incident(PGconn *c, int64_t id, struct inc *out);
/* Insert *in (id is filled). */
int cs_insert_incident(PGconn *c, struct inc *in);
/* Write back every mutable column of *in. */
int cs_update_incident(PGconn *c, const struct inc *in);

/* Add an alarm (ref unique in the incident); 1 added, 0 known, -1. */
int cs_add_alarm(PGconn *c, int64_t incident, const char *ref,
    const char *point, const char *kind, enum al_level level, double value,
    int has_value, double threshold, int has_threshold, int64_t at_ms);
/* Mark the open alarm ref cleared; *incident set when one was (1). */
int cs_clear_alarm(PGconn *c, const char *ref, int64_t at_ms,
    int64_t *incident);
/* Alarms of a point started in (now - window, now]. */
int cs_point_raises(PGconn *c, const char *point, int64_t window_ms);
/* The alarms of an incident as the webhook's "alarms" array (newest
 * max), into a malloc'd JSON text. */
char *cs_alarms_json(PGconn *c, int64_t incident, int max);
/* Levels of the enterprise's other open incidents (at most max). */
int cs_open_levels(PGconn *c, const char *uscc, int64_t except,
    enum al_level *out, size_t max);

/* Responsibility of an enterprise: 1 found, 0 none, -1. */
int cs_responsibility(PGconn *c, const char *uscc, struct route_resp *out);
/* Every shift (any unit) covering at_ms (at most max); count or -1. */
int cs_shifts_all(PGconn *c, int64_t at_ms, struct route_shift *out,
    size_t max);
/* The name of a unit (district or department), into out. */
int cs_unit_name(PGconn *c, const char *unit, char *out, size_t size);

/* Put the incident's due step off by delay_ms (it failed). */
int cs_defer_step(PGconn *c, int64_t id, int64_t delay_ms);

/* Due incidents (next_step_at <= now), oldest first; count or -1. */
int cs_due(PGconn *c, int64_t *ids, size_t max);

/* A notification; *id set. */
int cs_insert_notification(PGconn *c, int64_t incident, const char *status,
    enum al_level level, int tier, const char *recipients_json,
    const char *payload_json, const char *held, int64_t *id);
/* A pending delivery of notification to receiver; *id set. */
int cs_insert_delivery(PGconn *c, int64_t notification, const char *receiver,
    int64_t *id);

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

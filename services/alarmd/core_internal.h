/*
 * core_internal - the struct alarmd that main.c and the core_*.c files
 * share.  Not for the other parts (they use alarmd.h).
 */
#ifndef ANQUAN_ALARMD_CORE_INTERNAL_H
#define ANQUAN_ALARMD_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "alarmd.h"
#include "audit.h"
#include "bus.h"
#include "core_store.h"
#include "policy.h"
#include "route.h"
#include "risk.pb-c.h"

struct deliver;
struct metric;
struct nt_pending;
struct raised;


/* A delivery to hand to the engine once its row is committed. */
struct pending_delivery {
	int64_t id;
	char receiver[32];
	char *payload;
	size_t len;
};

struct alarmd {
	struct daemon *d;
	struct store *st;
	struct al_policy policy;
	struct al_kind_levels kinds;
	enum al_level warning_min;
	char console_url[256];
	int64_t gap_level;           /* enum al_level of roster gaps */

	struct bus_producer *prod;
	struct bus_consumer *cons;
	struct deliver *dl;
	struct sse *sse;

	/* Raised alarms of the open transaction not yet taken into
	 * incidents (core.c's intake). */
	struct raised *raised;
	size_t nraised, raised_cap;
	struct cleared *cleared;
	size_t ncleared, cleared_cap;

	/* What the open transaction will do after its COMMIT. */
	struct pending_delivery *after;
	size_t nafter, after_cap;
	int64_t *changed;
	size_t nchanged, changed_cap;
	/* Incidents committed and not yet sent to the consoles: sent from
	 * sse_ev, once the loop has turned and the webhooks of the same
	 * commit are on their way (core_txn.c). */
	int64_t *to_consoles;
	size_t nto_consoles, to_consoles_cap;
	struct event *sse_ev;

	/* The open transaction's journal entries, appended just before
	 * its COMMIT in one call (core_journal). */
	struct audit_batch audit;
	/* Its nt.* messages, staged in bus_log just before its COMMIT in
	 * two round trips whatever their number (core_journal). */
	struct nt_pending *nt;
	size_t nnt, nt_cap;

	/* The duty shifts covering the open transaction's moment, read once
	 * for all its notices (every unit; routing picks its own). */
	struct route_shift *shifts;
	int nshifts;       /* -1: not read in this transaction */
	int64_t shifts_ms;

	/* Silences in force (re-read when stale). */
	struct al_silence sil[64];
	size_t nsil;
	char *sil_block;
	int sil_stale;
	int64_t sil_read_ms;

	struct {
		struct metric *opened, *joined, *notified, *escalated, *held,
		    *acked, *resolved, *ack_seconds, *gaps, *reminders,
		    *step_errors;
	} m;
	/* Counts of the open transaction, added to the metrics only once it
	 * committed (a rolled-back step is tried again, not counted twice). */
	struct {
		uint64_t opened, joined, notified, escalated, held, acked,
		    resolved, gaps, reminders;
		double ack_seconds[64];
		size_t nack;
	} pend;
};

int64_t alarmd_now_ms(void);

/* core.c: the consumer's handlers and hooks. */
extern const struct bus_handler core_handlers[];
int core_before_commit(PGconn *conn, void *arg);
void core_after_commit(void *arg);
void core_after_abort(void *arg);
/* core_intake.c: gather a raised / cleared alarm for the intake (BUS_OK,
 * BUS_SKIP when it makes no incident, BUS_RETRY out of memory); take
 * what was gathered into incidents in the open transaction (0 or -1);
 * forget it (a rollback, or shutdown). */
enum bus_verdict core_intake_add(struct alarmd *a, const Anquan__Alarm *m);
enum bus_verdict core_intake_clear_add(struct alarmd *a,
    const Anquan__Alarm *m);
int core_intake_flush(struct alarmd *a, PGconn *conn);
void core_intake_clear(struct alarmd *a);
/* Run the due steps (a timer); returns how many ran. */
int core_run_due(struct alarmd *a, int64_t now_ms);
/* Raise gap incidents for units nobody covers now, and reminders. */
void core_check_gaps(struct alarmd *a, int64_t now_ms);
void core_check_reminders(struct alarmd *a, int64_t now_ms);

/* core_notify.c */

/* A notice to give in the open transaction: status ("firing", ...) of
 * inc.  alarms: the incident's alarms when all are in memory (it opened
 * in this transaction), else NULL and they are read from the store.  The
 * rest is filled by notify_prepare. */
struct notice {
	struct inc *inc;
	const char *status;
	const struct cs_alarm *const *alarms;
	size_t nalarms;
	const char *held;       /* why it is held back, or NULL */
	char *payload;          /* DESIGN.md 4.2 body */
	size_t paylen;
	char *recipients;       /* JSON array */
	size_t nrecipients;
};

/* Read what ns[0..n) need (responsibility, shifts, other open incidents
 * with mem[0..nmem), the transaction's own, in place of the store's,
 * alarms) in one statement each, decide holds (setting silenced_by and
 * inhibited_by of each incident) and build each payload.  No notice row
 * is written: the incidents may not be in the store yet.  0 or -1 (then
 * nothing is kept). */
int notify_prepare(struct alarmd *a, PGconn *conn, struct notice *ns,
    size_t n, struct inc *const *mem, size_t nmem, int64_t now_ms);
/* Write the prepared notices (their incidents are in the store): the
 * notifications, their deliveries, nt.* messages and audit entries, in a
 * few statements whatever n.  0 or -1. */
/* Ids drawn beforehand for notify_write (n of notifications, d of
 * deliveries); NULL: it draws its own. */
struct notice_ids {
	const int64_t *n, *d;
	size_t nn, nd;
};
int notify_write(struct alarmd *a, PGconn *conn, struct notice *ns,
    size_t n, const struct notice_ids *pre, int64_t now_ms);
void notify_free(struct notice *ns, size_t n);
/* One notice, prepared and written. */
int notify_incident(struct alarmd *a, PGconn *conn, struct inc *inc,
    const char *status, int64_t now_ms);
/* The duty rosters changed: read the shifts again. */
void core_shifts_changed(struct alarmd *a);
/* Note that an incident changed (for the consoles, after COMMIT). */
void core_changed(struct alarmd *a, int64_t id);
/* The consoles' turn (sse_ev's callback). */
void core_consoles_cb(evutil_socket_t fd, short what, void *arg);
/* Forget or run what waits for COMMIT. */
void core_after_discard(struct alarmd *a);
void core_after_run(struct alarmd *a);
/* Open (or find) the incident of a roster gap of unit. */
int core_gap_incident(struct alarmd *a, PGconn *conn, const char *unit,
    int64_t now_ms);
/* The next step of inc at now_ms, from the policy. */
void core_plan(const struct alarmd *a, struct inc *inc);
/* Note one audit entry for the open transaction (written by
 * core_journal() before its COMMIT). */
int core_audit(struct alarmd *a, const char *actor, const char *action,
    int64_t incident, const char *detail_json);
/* Write what the open transaction gathered for its end: the audit
 * entries and the nt.* messages; 0 or -1. */
int core_journal(struct alarmd *a, PGconn *conn);
/* Free the gathered nt.* messages (after COMMIT, or a rollback). */
void core_nt_free(struct alarmd *a);
/* Hand delivery id of payload to receiver once the transaction commits. */
int core_after_add(struct alarmd *a, int64_t id, const char *receiver,
    const char *payload, size_t len);
/* Gather the nt.<status> message of notification nid (core_journal
 * stages it). */
int core_stage_nt(struct alarmd *a, const struct inc *inc,
    const char *status, int64_t nid, size_t nrecipients, const char *held,
    const char *payload, int64_t now_ms);

#endif

/*
 * core - incidents: riskd's alarms and warnings into incidents, the due
 * steps (notify after the group wait, escalate, remind, auto-resolve),
 * the officers' actions, roster gaps and deadline reminders.
 *
 * The bus handlers run inside the consumer's transaction (common/bus.h);
 * the steps, actions and checks each run a transaction of their own.
 * Every change to an incident is written with its audit entry and nt.*
 * message in the same transaction, and what needs the COMMIT (webhooks,
 * the consoles) waits for it (core_notify.c).  The rules are policy.c's;
 * the SQL is core_store.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.pb-c.h"
#include "audit.h"
#include "core_internal.h"
#include "deliver.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "risk.pb-c.h"
#include "store.h"
#include "strmap.h"
#include "timeutil.h"

int64_t
alarmd_now_ms(void)
{
	return timeutil_now_ms();
}

static enum bus_verdict
on_alarm(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	const Anquan__Alarm *m = msg->env->alarm;

	if (m == NULL)
		return BUS_SKIP;
	(void)conn;
	if (m->state == ANQUAN__ALARM__STATE__RAISED)
		return core_intake_add(arg, m);
	if (m->state == ANQUAN__ALARM__STATE__CLEARED)
		return core_intake_clear_add(arg, m);
	return BUS_SKIP;
}

/* --- hazard-source warnings --------------------------------------------- */

static void
reasons_json(const Anquan__SourceWarning *w, char *out, size_t size)
{
	struct json_out j;

	json_out_init(&j);
	json_out_arr_open(&j);
	for (size_t i = 0; i < w->n_reasons; i++) {
		json_out_obj_open(&j);
		json_out_kv_str(&j, "code", w->reasons[i]->code);
		json_out_kv_str(&j, "text", w->reasons[i]->text);
		json_out_obj_close(&j);
	}
	json_out_arr_close(&j);
	snprintf(out, size, "%s",
	    json_out_failed(&j) || json_out_len(&j) >= size ? "[]"
							    : json_out_data(&j));
	json_out_free(&j);
}

static void
warning_texts(struct inc *inc, const Anquan__SourceWarning *w)
{
	size_t o = 0;

	snprintf(inc->title, sizeof(inc->title), "%s 重大危险源 %s %s预警",
	    inc->enterprise, w->name, al_level_zh(inc->level));
	inc->summary[0] = '\0';
	for (size_t i = 0; i < w->n_reasons && o + 2 < sizeof(inc->summary);
	     i++) {
		int n = snprintf(inc->summary + o, sizeof(inc->summary) - o,
		    "%s%s", i > 0 ? "；" : "", w->reasons[i]->text);

		if (n < 0)
			break;
		o += (size_t)n;
	}
	if (o >= sizeof(inc->summary))
		inc->summary[sizeof(inc->summary) - 1] = '\0';
	if (inc->summary[0] == '\0')
		snprintf(inc->summary, sizeof(inc->summary), "预警已解除");
}

/* What inc held is over (nothing of it open any more): written back
 * with its next step (auto-resolve, say).  0 or -1. */
static int
inc_over(struct alarmd *a, PGconn *conn, struct inc *inc, int64_t now_ms)
{
	inc->open_alarms = 0;
	inc->cleared_ms = now_ms;
	core_plan(a, inc);
	if (cs_update_incident(conn, inc) < 0)
		return -1;
	core_changed(a, inc->id);
	return 0;
}

static enum bus_verdict
on_warning(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	struct alarmd *a = arg;
	const Anquan__SourceWarning *w = msg->env->warning;
	int64_t now = alarmd_now_ms();
	char cause[120], ref[160];
	enum al_level lvl;
	struct inc inc;
	int found, raised;

	if (w == NULL || w->uscc[0] == '\0' ||
	    al_level_parse(w->level, &lvl) < 0)
		return BUS_SKIP;
	if (core_intake_flush(a, conn) < 0)
		return BUS_RETRY;
	snprintf(cause, sizeof(cause), "warning:%s", w->source);
	if ((found = cs_open_incident(conn, w->uscc, cause, &inc)) < 0)
		return BUS_RETRY;
	if (lvl < a->warning_min) {
		/* Below what makes an incident: an open one is over. */
		if (!found || inc.open_alarms == 0)
			return BUS_OK;
		return inc_over(a, conn, &inc, now) < 0 ? BUS_RETRY : BUS_OK;
	}
	snprintf(ref, sizeof(ref), "warning:%s:%" PRId64, w->source, w->at_ms);
	if (!found) {
		memset(&inc, 0, sizeof(inc));
		snprintf(inc.uscc, sizeof(inc.uscc), "%s", w->uscc);
		snprintf(inc.enterprise, sizeof(inc.enterprise), "%s",
		    w->enterprise);
		snprintf(inc.district, sizeof(inc.district), "%s", w->district);
		snprintf(inc.cause, sizeof(inc.cause), "%s", cause);
		inc.level = lvl;
		inc.tier = al_start_tier(lvl);
		inc.status = AL_FIRING;
		inc.opened_ms = now;
	}
	inc.alarm_count++;
	inc.open_alarms = 1;
	inc.cleared_ms = 0;
	reasons_json(w, inc.reasons, sizeof(inc.reasons));
	raised = found && lvl > inc.level;
	if (raised) {
		inc.level = lvl;
		if (inc.tier < al_start_tier(lvl))
			inc.tier = al_start_tier(lvl);
	}
	warning_texts(&inc, w);
	core_plan(a, &inc);
	if (!found) {
		if (cs_insert_incident(conn, &inc) < 0)
			return BUS_RETRY;
		a->pend.opened++;
	} else {
		/* Told again only when it got worse; a milder warning
		 * updates the reasons the console shows. */
		if (raised && inc.notified_ms > 0 &&
		    inc.status != AL_RESOLVED) {
			if (notify_incident(a, conn, &inc, "escalated", now) < 0)
				return BUS_RETRY;
			inc.last_step_ms = now;
			a->pend.escalated++;
			core_plan(a, &inc);
		}
		if (cs_update_incident(conn, &inc) < 0)
			return BUS_RETRY;
	}
	if (cs_add_alarm(conn, inc.id, ref, NULL, "warning", lvl, 0, 0, 0, 0,
	        w->at_ms) < 0 ||
	    core_audit(a, "alarmd", found ? "incident.joined"
					     : "incident.opened",
	        inc.id, "{\"from\":\"rk.warning\"}") < 0)
		return BUS_RETRY;
	core_changed(a, inc.id);
	return BUS_OK;
}

static enum bus_verdict
on_risk(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	/* Enterprise risk is shown by riskd's API; no incident of its own
	 * (the warnings and alarms behind a change are the incidents). */
	(void)conn;
	(void)msg;
	(void)arg;
	return BUS_OK;
}

static enum bus_verdict
on_events(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	struct alarmd *a = arg;
	const Anquan__EventBatch *b = msg->env->events;

	(void)conn;
	if (b == NULL)
		return BUS_SKIP;
	/* Roster changes are journaled: who changed which shift, when. */
	for (size_t i = 0; i < b->n_events; i++) {
		const Anquan__Event *ev = b->events[i];
		struct json_out d;
		char subject[300];
		int rc;

		if (strcmp(ev->kind, "duty.roster") != 0)
			continue;
		core_shifts_changed(a);
		json_out_init(&d);
		json_out_obj_open(&d);
		json_out_kv_str(&d, "source", ev->source);
		json_out_kv_str(&d, "event", ev->id);
		json_out_key(&d, "data");
		if (ev->data_case == ANQUAN__EVENT__DATA_JSON)
			json_out_raw(&d, ev->json, strlen(ev->json));
		else
			json_out_null(&d);
		json_out_obj_close(&d);
		snprintf(subject, sizeof(subject), "roster:%s/%s", ev->source,
		    ev->id);
		rc = json_out_failed(&d) ? -1
					 : audit_batch_add(&a->audit, ev->source,
					       "roster.changed", subject,
					       json_out_data(&d));
		json_out_free(&d);
		if (rc < 0)
			return BUS_RETRY;
	}
	return BUS_OK;
}

const struct bus_handler core_handlers[] = {
	{ANQUAN__ENVELOPE__PAYLOAD_ALARM, on_alarm},
	{ANQUAN__ENVELOPE__PAYLOAD_WARNING, on_warning},
	{ANQUAN__ENVELOPE__PAYLOAD_RISK, on_risk},
	{ANQUAN__ENVELOPE__PAYLOAD_EVENTS, on_events},
	{0, NULL},
};

int
core_before_commit(PGconn *conn, void *arg)
{
	if (core_intake_flush(arg, conn) < 0)
		return -1;
	return core_journal(arg, conn);
}

void
core_after_commit(void *arg)
{
	core_after_run(arg);
}

void
core_after_abort(void *arg)
{
	core_after_discard(arg);
}

/* --- own transactions ---------------------------------------------------- */

static int
txn(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK &&
		 (strcmp(sql, "COMMIT") != 0 ||
		     strcmp(PQcmdStatus(r), "COMMIT") == 0);

	PQclear(r);
	return ok ? 0 : -1;
}

static void
rollback(struct alarmd *a, PGconn *conn)
{
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		txn(conn, "ROLLBACK");
	core_after_discard(a);
}

/* Apply the step due on inc at now (its effects on the incident); the
 * status of the notice it gives, or NULL; *action its journal word. */
static const char *
step_apply(struct alarmd *a, struct inc *inc, int64_t now,
    const char **action)
{
	const char *status = NULL;

	*action = "incident.notified";
	switch (inc->next_step) {
	case AL_STEP_NOTIFY:
		status = "firing";
		inc->notified_ms = now;
		break;
	case AL_STEP_ESCALATE:
		status = "escalated";
		inc->tier = al_escalate_tier(inc->tier);
		inc->step_count++;
		inc->last_step_ms = now;
		a->pend.escalated++;
		*action = "incident.escalated";
		break;
	case AL_STEP_REMIND:
		status = "reminder";
		inc->step_count++;
		inc->last_step_ms = now;
		*action = "incident.reminded";
		break;
	case AL_STEP_RESOLVE:
		inc->status = AL_RESOLVED;
		inc->resolved_ms = now;
		snprintf(inc->resolved_by, sizeof(inc->resolved_by), "alarmd");
		snprintf(inc->resolution, sizeof(inc->resolution),
		    "报警已全部恢复，自动办结");
		if (inc->notified_ms > 0)
			status = "resolved";
		a->pend.resolved++;
		*action = "incident.resolved";
		break;
	case AL_STEP_NONE:
		break;
	}
	return status;
}

/* The steps due on ids[0..n) inside the open transaction, together: the
 * incidents locked in one statement, their notices prepared and written
 * as a set, the incidents written back in one.  0, or -1 (the caller
 * rolls back). */
static int
steps_in_txn(struct alarmd *a, PGconn *conn, const int64_t *ids, int n,
    int64_t now)
{
	struct inc *incs = NULL, **all = NULL;
	struct notice *ns = NULL;
	const char **actions = NULL;
	size_t nns = 0, k = 0;
	int m, rc = -1, wrc;

	if ((m = cs_lock_incidents(conn, ids, (size_t)n, &incs)) < 0)
		return -1;
	all = calloc((size_t)m + 1, sizeof(*all));
	ns = calloc((size_t)m + 1, sizeof(*ns));
	actions = calloc((size_t)m + 1, sizeof(*actions));
	if (all == NULL || ns == NULL || actions == NULL)
		goto out;
	for (int i = 0; i < m; i++) {
		struct inc *inc = &incs[i];
		const char *status;

		if (inc->next_step == AL_STEP_NONE || inc->next_step_ms > now)
			continue; /* done meanwhile */
		status = step_apply(a, inc, now, &actions[k]);
		all[k++] = inc;
		if (status != NULL) {
			ns[nns].inc = inc;
			ns[nns].status = status;
			nns++;
		}
	}
	if (notify_prepare(a, conn, ns, nns, all, k, now) < 0)
		goto out;
	for (size_t i = 0; i < k; i++)
		core_plan(a, all[i]);
	cs_defer_begin();
	wrc = cs_write_incidents(conn, all, k) < 0 ||
	    notify_write(a, conn, ns, nns, NULL, now) < 0;
	if (cs_defer_end(conn) < 0 || wrc)
		goto out;
	for (size_t i = 0; i < k; i++) {
		if (core_audit(a, "alarmd", actions[i], all[i]->id,
		        "{\"by\":\"schedule\"}") < 0)
			goto out;
		core_changed(a, all[i]->id);
	}
	rc = 0;
out:
	notify_free(ns, nns);
	free(ns);
	free(all);
	free(actions);
	free(incs);
	return rc;
}

/* Steps of ids[0..n) in one transaction; 0, or -1 (rolled back). */
static int
run_steps(struct alarmd *a, PGconn *conn, const int64_t *ids, int n,
    int64_t now)
{
	if (txn(conn, "BEGIN") < 0)
		return -1;
	if (steps_in_txn(a, conn, ids, n, now) < 0)
		goto fail;
	if (core_journal(a, conn) < 0 || txn(conn, "COMMIT") < 0)
		goto fail;
	core_after_run(a);
	return 0;
fail:
	rollback(a, conn);
	return -1;
}

int
core_run_due(struct alarmd *a, int64_t now_ms)
{
	PGconn *conn = store_conn(a->st);
	int64_t ids[1000];
	int n, done = 0;

	if (conn == NULL || (n = cs_due(conn, ids, 1000)) < 0)
		return -1;
	if (n == 0)
		return 0;
	/* The due steps of a tick share one commit; when the batch fails,
	 * each is tried alone, so one that cannot be done does not hold up
	 * the others (it is counted, and tried again next tick). */
	if (run_steps(a, conn, ids, n, now_ms) == 0)
		return n;
	metrics_inc(a->m.step_errors);
	for (int i = 0; i < n; i++) {
		if (run_steps(a, conn, &ids[i], 1, now_ms) == 0) {
			done++;
			continue;
		}
		/* It cannot be done now: try it again later rather than
		 * let it hold the head of the queue at every tick. */
		metrics_inc(a->m.step_errors);
		if (cs_defer_step(conn, ids[i], 30000) < 0)
			break;
		log_warn("alarmd.step_deferred",
		    "incident=%" PRId64 " retry_in_ms=30000", ids[i]);
	}
	return done;
}

int
alarmd_act(struct alarmd *a, int64_t incident_id, int to,
    const struct officer *who, const char *note, int *status, char *why,
    size_t wlen)
{
	PGconn *conn = store_conn(a->st);
	int64_t now = alarmd_now_ms();
	struct al_inc_view v;
	struct json_out d;
	struct inc inc;
	int r;

	if (conn == NULL || txn(conn, "BEGIN") < 0) {
		*status = 503;
		snprintf(why, wlen, "the store is out of reach");
		return -1;
	}
	if ((r = cs_lock_incident(conn, incident_id, &inc)) <= 0) {
		rollback(a, conn);
		*status = r < 0 ? 503 : 404;
		snprintf(why, wlen, r < 0 ? "the store failed" : "没有这个事件");
		return -1;
	}
	v = (struct al_inc_view){.level = inc.level, .status = inc.status,
	    .tier = inc.tier, .notified = inc.notified_ms > 0,
	    .cleared = inc.open_alarms == 0 && inc.cleared_ms > 0,
	    .opened_ms = inc.opened_ms, .notified_ms = inc.notified_ms,
	    .acked_ms = inc.acked_ms, .cleared_ms = inc.cleared_ms,
	    .last_step_ms = inc.last_step_ms};
	if (al_transition_check(&a->policy, &v, to, note, why, wlen) < 0) {
		rollback(a, conn);
		*status = 409;
		return -1;
	}
	if (inc.status == AL_FIRING) {
		inc.status = AL_ACKED;
		inc.acked_ms = now;
		snprintf(inc.acked_by, sizeof(inc.acked_by), "%s", who->id);
		a->pend.acked++;
		if (a->pend.nack < sizeof(a->pend.ack_seconds) /
		        sizeof(a->pend.ack_seconds[0]))
			a->pend.ack_seconds[a->pend.nack++] =
			    (double)(now - inc.opened_ms) / 1000.0;
	}
	if (to == AL_RESOLVED) {
		inc.status = AL_RESOLVED;
		inc.resolved_ms = now;
		snprintf(inc.resolved_by, sizeof(inc.resolved_by), "%s", who->id);
		snprintf(inc.resolution, sizeof(inc.resolution), "%s",
		    note != NULL ? note : "");
		a->pend.resolved++;
	}
	json_out_init(&d);
	json_out_obj_open(&d);
	json_out_kv_str(&d, "officer", who->id);
	json_out_kv_str(&d, "name", who->name);
	if (note != NULL && note[0] != '\0')
		json_out_kv_str(&d, "note", note);
	json_out_obj_close(&d);
	core_plan(a, &inc);
	if (notify_incident(a, conn, &inc,
	        to == AL_RESOLVED ? "resolved" : "acknowledged", now) < 0 ||
	    cs_update_incident(conn, &inc) < 0 ||
	    core_audit(a, who->id,
	        to == AL_RESOLVED ? "incident.resolved" : "incident.acknowledged",
	        inc.id, json_out_data(&d)) < 0 ||
	    core_journal(a, conn) < 0 || txn(conn, "COMMIT") < 0) {
		json_out_free(&d);
		rollback(a, conn);
		*status = 503;
		snprintf(why, wlen, "the store failed; nothing was changed");
		return -1;
	}
	json_out_free(&d);
	core_changed(a, inc.id);
	core_after_run(a);
	return 0;
}

/* --- periodic checks ------------------------------------------------------ */

void
core_check_gaps(struct alarmd *a, int64_t now_ms)
{
	PGconn *conn = store_conn(a->st);
	char units[64][16];
	int64_t covered[64];
	int n;

	if (conn == NULL || txn(conn, "BEGIN") < 0)
		return;
	if ((n = cs_units_uncovered(conn, units, 64)) < 0)
		goto fail;
	for (int i = 0; i < n; i++)
		if (core_gap_incident(a, conn, units[i], now_ms) < 0)
			goto fail;
	/* Gaps now covered: their incidents are over. */
	if ((n = cs_gaps_covered(conn, covered, 64)) < 0)
		goto fail;
	for (int i = 0; i < n; i++) {
		struct inc inc;

		if (cs_lock_incident(conn, covered[i], &inc) <= 0)
			continue;
		if (inc_over(a, conn, &inc, now_ms) < 0)
			goto fail;
	}
	if (core_journal(a, conn) < 0 || txn(conn, "COMMIT") < 0)
		goto fail;
	core_after_run(a);
	return;
fail:
	rollback(a, conn);
	metrics_inc(a->m.step_errors);
}

void
core_check_reminders(struct alarmd *a, int64_t now_ms)
{
	PGconn *conn = store_conn(a->st);
	struct cs_reminder *rem;
	int n;

	if (conn == NULL || (rem = calloc(100, sizeof(*rem))) == NULL)
		return;
	if (txn(conn, "BEGIN") < 0 || (n = cs_reminders_due(conn, rem, 100)) < 0)
		goto fail;
	for (int i = 0; i < n; i++) {
		struct inc inc;
		char cause[sizeof(inc.cause)];
		int found;

		/* One incident per enterprise and kind of deadline: each record
		 * is an alarm of it, so 600 overdue elevators of a city are
		 * not 600 incidents. */
		snprintf(cause, sizeof(cause), "deadline:%s", rem[i].kind);
		if ((found = cs_open_incident(conn, rem[i].uscc, cause, &inc)) < 0)
			goto fail;
		if (!found) {
			memset(&inc, 0, sizeof(inc));
			snprintf(inc.uscc, sizeof(inc.uscc), "%s", rem[i].uscc);
			if (cs_enterprise(conn, rem[i].uscc, inc.enterprise,
			        sizeof(inc.enterprise), inc.district,
			        sizeof(inc.district), inc.sector,
			        sizeof(inc.sector)) < 0)
				goto fail;
			snprintf(inc.cause, sizeof(inc.cause), "%s", cause);
			snprintf(inc.reasons, sizeof(inc.reasons), "[]");
			inc.level = rem[i].level;
			inc.tier = al_start_tier(inc.level);
			inc.status = AL_FIRING;
			inc.opened_ms = now_ms;
			snprintf(inc.title, sizeof(inc.title), "%.120s %.120s",
			    inc.enterprise, rem[i].title);
		}
		if (found) {
			int added = cs_add_alarm(conn, inc.id, rem[i].key, NULL,
			    rem[i].kind, rem[i].level, 0, 0, 0, 0, now_ms);

			if (added < 0)
				goto fail;
			if (added == 0) {
				/* Known to the incident already. */
				if (cs_reminder_raised(conn, rem[i].key,
				        inc.id) < 0)
					goto fail;
				continue;
			}
		}
		inc.alarm_count++;
		inc.open_alarms++;
		inc.cleared_ms = 0;
		if (rem[i].level > inc.level) {
			inc.level = rem[i].level;
			if (inc.tier < al_start_tier(inc.level))
				inc.tier = al_start_tier(inc.level);
		}
		if (inc.alarm_count == 1)
			snprintf(inc.summary, sizeof(inc.summary), "%s",
			    rem[i].summary);
		else
			snprintf(inc.summary, sizeof(inc.summary),
			    "%.900s 等 %d 项", rem[i].summary, inc.alarm_count);
		core_plan(a, &inc);
		if (!found) {
			if (cs_insert_incident(conn, &inc) < 0 ||
			    cs_add_alarm(conn, inc.id, rem[i].key, NULL,
			        rem[i].kind, rem[i].level, 0, 0, 0, 0,
			        now_ms) < 0 ||
			    core_audit(a, "alarmd", "incident.opened", inc.id,
			        "{\"from\":\"deadline\"}") < 0)
				goto fail;
			a->pend.opened++;
		} else if (cs_update_incident(conn, &inc) < 0 ||
		    core_audit(a, "alarmd", "incident.joined", inc.id,
		        "{\"from\":\"deadline\"}") < 0) {
			goto fail;
		}
		a->pend.reminders++;
		core_changed(a, inc.id);
		if (cs_reminder_raised(conn, rem[i].key, inc.id) < 0)
			goto fail;
	}
	if (core_journal(a, conn) < 0 || txn(conn, "COMMIT") < 0)
		goto fail;
	free(rem);
	core_after_run(a);
	return;
fail:
	free(rem);
	rollback(a, conn);
	metrics_inc(a->m.step_errors);
}

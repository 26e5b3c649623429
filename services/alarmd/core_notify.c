/*
 * core_notify - the notice of an incident: who is told (route.c over the
 * responsibility and the duty shifts covering now), whether it is held
 * (a silence, inhibition, a flapping point), the webhook body of DESIGN.md
 * 4.2, the notification and its deliveries, the nt.* message and the
 * audit entry, all in the caller's transaction; and what waits for its
 * COMMIT (deliveries handed to the engine, consoles told).
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
#include "route.h"
#include "sse.h"
#include "store.h"
#include "timeutil.h"
#include "api.h"

void
core_plan(const struct alarmd *a, struct inc *inc)
{
	struct al_inc_view v = {
	    .level = inc->level,
	    .status = inc->status,
	    .tier = inc->tier,
	    .notified = inc->notified_ms > 0,
	    .cleared = inc->open_alarms == 0 && inc->cleared_ms > 0,
	    .opened_ms = inc->opened_ms,
	    .notified_ms = inc->notified_ms,
	    .acked_ms = inc->acked_ms,
	    .cleared_ms = inc->cleared_ms,
	    .last_step_ms = inc->last_step_ms,
	};
	int64_t at = 0;

	inc->next_step = al_next_step(&a->policy, &v, &at);
	inc->next_step_ms = inc->next_step == AL_STEP_NONE ? 0 : at;
}

int
core_audit(struct alarmd *a, const char *actor, const char *action,
    int64_t incident, const char *detail_json)
{
	char subject[40];

	snprintf(subject, sizeof(subject), "incident:%" PRId64, incident);
	return audit_batch_add(&a->audit, actor, action, subject, detail_json);
}

static int nt_flush(struct alarmd *a, PGconn *conn);

int
core_journal(struct alarmd *a, PGconn *conn)
{
	int rc = nt_flush(a, conn);

	if (audit_batch_flush(conn, &a->audit) < 0)
		rc = -1;
	return rc;
}

void
core_changed(struct alarmd *a, int64_t id)
{
	for (size_t i = 0; i < a->nchanged; i++)
		if (a->changed[i] == id)
			return;
	if (a->nchanged == a->changed_cap) {
		size_t cap = a->changed_cap ? a->changed_cap * 2 : 64;
		int64_t *n = realloc(a->changed, cap * sizeof(*n));

		if (n == NULL)
			return;
		a->changed = n;
		a->changed_cap = cap;
	}
	a->changed[a->nchanged++] = id;
}

static int
after_add(struct alarmd *a, int64_t id, const char *receiver,
    const char *payload, size_t len)
{
	struct pending_delivery *p;

	if (a->nafter == a->after_cap) {
		size_t cap = a->after_cap ? a->after_cap * 2 : 64;
		struct pending_delivery *n = realloc(a->after, cap * sizeof(*n));

		if (n == NULL)
			return -1;
		a->after = n;
		a->after_cap = cap;
	}
	p = &a->after[a->nafter];
	if ((p->payload = malloc(len + 1)) == NULL)
		return -1;
	memcpy(p->payload, payload, len);
	p->payload[len] = '\0';
	p->len = len;
	p->id = id;
	snprintf(p->receiver, sizeof(p->receiver), "%s", receiver);
	a->nafter++;
	return 0;
}

static void
pend_commit(struct alarmd *a)
{
	metrics_add(a->m.opened, a->pend.opened);
	metrics_add(a->m.joined, a->pend.joined);
	metrics_add(a->m.notified, a->pend.notified);
	metrics_add(a->m.escalated, a->pend.escalated);
	metrics_add(a->m.held, a->pend.held);
	metrics_add(a->m.acked, a->pend.acked);
	metrics_add(a->m.resolved, a->pend.resolved);
	metrics_add(a->m.gaps, a->pend.gaps);
	metrics_add(a->m.reminders, a->pend.reminders);
	for (size_t i = 0; i < a->pend.nack; i++)
		metrics_observe(a->m.ack_seconds, a->pend.ack_seconds[i]);
	memset(&a->pend, 0, sizeof(a->pend));
}

void
core_after_discard(struct alarmd *a)
{
	a->nshifts = -1;
	memset(&a->pend, 0, sizeof(a->pend));
	for (size_t i = 0; i < a->nafter; i++)
		free(a->after[i].payload);
	a->nafter = 0;
	a->nchanged = 0;
	audit_batch_clear(&a->audit);
	core_nt_free(a);
	bus_producer_discard(a->prod);
}

void
core_after_run(struct alarmd *a)
{
	struct json_out w;

	a->nshifts = -1;
	pend_commit(a);
	bus_producer_publish(a->prod);
	for (size_t i = 0; i < a->nafter; i++) {
		deliver_submit(a->dl, a->after[i].id, a->after[i].receiver,
		    a->after[i].payload, a->after[i].len);
		free(a->after[i].payload);
	}
	a->nafter = 0;
	if (a->nchanged > 0 && a->sse != NULL && sse_clients(a->sse) > 0) {
		json_out_init(&w);
		for (size_t i = 0; i < a->nchanged; i++) {
			json_out_reset(&w);
			if (api_incident_json(a->st, a->changed[i], &w) == 0 &&
			    !json_out_failed(&w))
				sse_broadcast(a->sse, "incident",
				    json_out_data(&w));
		}
		json_out_free(&w);
	}
	a->nchanged = 0;
}

/* --- holds -------------------------------------------------------------- */

static void
silences_refresh(struct alarmd *a, PGconn *conn, int64_t now_ms)
{
	int n;

	if (!a->sil_stale && now_ms - a->sil_read_ms < 5000)
		return;
	free(a->sil_block);
	a->sil_block = NULL;
	a->nsil = 0;
	n = cs_silences(conn, a->sil, sizeof(a->sil) / sizeof(a->sil[0]),
	    &a->sil_block);
	if (n >= 0) {
		a->nsil = (size_t)n;
		a->sil_stale = 0;
		a->sil_read_ms = now_ms;
	}
}

/* Why inc's notice is held ("silenced", "inhibited", "flapping"), or
 * NULL; sets silenced_by / inhibited_by. */
static const char *
hold_of(struct alarmd *a, PGconn *conn, struct inc *inc, int64_t now_ms)
{
	struct al_subject s = {
	    .uscc = inc->uscc[0] != '\0' ? inc->uscc : NULL,
	    .district = inc->district[0] != '\0' ? inc->district : NULL,
	    .point = NULL,
	    .cause = inc->cause,
	    .level = inc->level,
	};
	enum al_level open[32];
	int n;

	inc->silenced_by = 0;
	inc->inhibited_by = 0;
	silences_refresh(a, conn, now_ms);
	for (size_t i = 0; i < a->nsil; i++)
		if (al_silence_matches(&a->sil[i], &s, now_ms)) {
			inc->silenced_by = a->sil[i].id;
			return "silenced";
		}
	if (inc->uscc[0] != '\0' &&
	    (n = cs_open_levels(conn, inc->uscc, inc->id, open, 32)) > 0 &&
	    al_inhibited(&a->policy, inc->level, open, (size_t)n)) {
		inc->inhibited_by = 1;
		return "inhibited";
	}
	if (inc->flapping)
		return "flapping";
	return NULL;
}

/* --- recipients ---------------------------------------------------------- */

#define SHIFTS_MAX 512

/* Every shift covering now_ms, read once per transaction. */
static int
shifts_now(struct alarmd *a, PGconn *conn, int64_t now_ms)
{
	if (a->nshifts >= 0 && a->shifts_ms == now_ms)
		return a->nshifts;
	if (a->shifts == NULL &&
	    (a->shifts = calloc(SHIFTS_MAX, sizeof(*a->shifts))) == NULL)
		return -1;
	a->nshifts = cs_shifts_all(conn, now_ms, a->shifts, SHIFTS_MAX);
	a->shifts_ms = now_ms;
	return a->nshifts;
}

static int
recipients_of(struct alarmd *a, PGconn *conn, const struct inc *inc,
    int64_t now_ms, struct route_result *rr)
{
	struct route_resp resp;
	int n, found = 0;

	if (inc->uscc[0] != '\0') {
		if ((found = cs_responsibility(conn, inc->uscc, &resp)) < 0)
			return -1;
		if (!found)
			snprintf(resp.territorial, sizeof(resp.territorial),
			    "%s", inc->district);
	}
	if ((n = shifts_now(a, conn, now_ms)) < 0)
		return -1;
	route_recipients(inc->uscc[0] != '\0' ? &resp : NULL, inc->tier,
	    a->shifts, (size_t)n, now_ms, rr);
	return 0;
}

static void
time_text(char *buf, size_t size, int64_t ms)
{
	timeutil_format_rfc3339(ms, buf, size);
}

/* The webhook body of DESIGN.md 4.2. */
static void
payload_of(struct alarmd *a, const struct inc *inc, const char *status,
    const struct route_result *rr, const char *alarms_json,
    struct json_out *w)
{
	char id[24], t[40], url[320];

	snprintf(id, sizeof(id), "%" PRId64, inc->id);
	json_out_obj_open(w);
	json_out_kv_str(w, "incident", id);
	/* The contract's four statuses; a reminder is an acknowledged
	 * incident's notice, flagged. */
	json_out_kv_str(w, "status",
	    strcmp(status, "reminder") == 0 ? "acknowledged" : status);
	if (strcmp(status, "reminder") == 0)
		json_out_kv_bool(w, "reminder", true);
	json_out_kv_str(w, "level", al_level_name(inc->level));
	json_out_key(w, "enterprise");
	if (inc->uscc[0] != '\0') {
		json_out_obj_open(w);
		json_out_kv_str(w, "uscc", inc->uscc);
		json_out_kv_str(w, "name", inc->enterprise);
		json_out_kv_str(w, "district", inc->district);
		json_out_obj_close(w);
	} else {
		json_out_null(w);
	}
	json_out_kv_str(w, "title", inc->title);
	json_out_kv_str(w, "summary", inc->summary);
	json_out_key(w, "alarms");
	json_out_raw(w, alarms_json, strlen(alarms_json));
	json_out_key(w, "recipients");
	json_out_arr_open(w);
	for (size_t i = 0; i < rr->n; i++) {
		json_out_obj_open(w);
		json_out_kv_str(w, "officer", rr->r[i].person.id);
		json_out_kv_str(w, "name", rr->r[i].person.name);
		json_out_kv_str(w, "phone", rr->r[i].person.phone);
		json_out_kv_str(w, "role", route_role_name(rr->r[i].role));
		json_out_kv_str(w, "unit", rr->r[i].unit);
		json_out_obj_close(w);
	}
	json_out_arr_close(w);
	time_text(t, sizeof(t), inc->opened_ms);
	json_out_kv_str(w, "started_at", t);
	json_out_kv_int(w, "tier", inc->tier);
	json_out_kv_int(w, "alarm_count", inc->alarm_count);
	snprintf(url, sizeof(url), "%s#/incidents/%" PRId64, a->console_url,
	    inc->id);
	json_out_kv_str(w, "ack_url", url);
	json_out_obj_close(w);
}

static void
recipients_json(const struct route_result *rr, struct json_out *w)
{
	json_out_arr_open(w);
	for (size_t i = 0; i < rr->n; i++) {
		json_out_obj_open(w);
		json_out_kv_str(w, "officer", rr->r[i].person.id);
		json_out_kv_str(w, "name", rr->r[i].person.name);
		json_out_kv_str(w, "phone", rr->r[i].person.phone);
		json_out_kv_str(w, "role", route_role_name(rr->r[i].role));
		json_out_kv_str(w, "unit", rr->r[i].unit);
		json_out_obj_close(w);
	}
	json_out_arr_close(w);
}

/* An nt.* message waiting for the end of its transaction; it owns its
 * strings. */
struct nt_pending {
	char topic[40];
	char incident[24];
	char status[16];
	char level[8];
	char uscc[19];
	char *enterprise, *district, *title, *held, *payload;
	int64_t nid;
	int tier;
	int recipients;
	int64_t at_ms;
};

static int
stage_nt(struct alarmd *a, const struct inc *inc, const char *status,
    int64_t nid, size_t nrecipients, const char *held, const char *payload,
    int64_t now_ms)
{
	struct nt_pending *p;

	if (a->nnt == a->nt_cap) {
		size_t cap = a->nt_cap ? a->nt_cap * 2 : 64;
		struct nt_pending *n = realloc(a->nt, cap * sizeof(*n));

		if (n == NULL)
			return -1;
		a->nt = n;
		a->nt_cap = cap;
	}
	p = &a->nt[a->nnt];
	memset(p, 0, sizeof(*p));
	snprintf(p->topic, sizeof(p->topic), "nt.%s", status);
	snprintf(p->incident, sizeof(p->incident), "%" PRId64, inc->id);
	snprintf(p->status, sizeof(p->status), "%s", status);
	snprintf(p->level, sizeof(p->level), "%s", al_level_name(inc->level));
	snprintf(p->uscc, sizeof(p->uscc), "%s", inc->uscc);
	p->enterprise = strdup(inc->enterprise);
	p->district = strdup(inc->district);
	p->title = strdup(inc->title);
	p->held = strdup(held != NULL ? held : "");
	p->payload = strdup(payload);
	p->nid = nid;
	p->tier = inc->tier;
	p->recipients = (int)nrecipients;
	p->at_ms = now_ms;
	a->nnt++;
	if (p->enterprise == NULL || p->district == NULL || p->title == NULL ||
	    p->held == NULL || p->payload == NULL)
		return -1;
	return 0;
}

void
core_nt_free(struct alarmd *a)
{
	for (size_t i = 0; i < a->nnt; i++) {
		free(a->nt[i].enterprise);
		free(a->nt[i].district);
		free(a->nt[i].title);
		free(a->nt[i].held);
		free(a->nt[i].payload);
	}
	a->nnt = 0;
}

/* Stage the gathered nt.* messages in bus_log in one go. */
static int
nt_flush(struct alarmd *a, PGconn *conn)
{
	Anquan__Notification *m;
	Anquan__Envelope *env;
	const Anquan__Envelope **envs;
	const char **topics;
	char err[200];
	int rc = -1;

	if (a->nnt == 0)
		return 0;
	m = calloc(a->nnt, sizeof(*m));
	env = calloc(a->nnt, sizeof(*env));
	envs = calloc(a->nnt, sizeof(*envs));
	topics = calloc(a->nnt, sizeof(*topics));
	if (m == NULL || env == NULL || envs == NULL || topics == NULL)
		goto out;
	for (size_t i = 0; i < a->nnt; i++) {
		struct nt_pending *p = &a->nt[i];

		anquan__notification__init(&m[i]);
		m[i].notification_id = p->nid;
		m[i].incident = p->incident;
		m[i].status = p->status;
		m[i].level = p->level;
		m[i].tier = p->tier;
		m[i].uscc = p->uscc;
		m[i].enterprise = p->enterprise;
		m[i].district = p->district;
		m[i].title = p->title;
		m[i].recipients = p->recipients;
		m[i].held = p->held;
		m[i].at_ms = p->at_ms;
		m[i].payload_json = p->payload;
		anquan__envelope__init(&env[i]);
		env[i].payload_case = ANQUAN__ENVELOPE__PAYLOAD_NOTIFICATION;
		env[i].notification = &m[i];
		envs[i] = &env[i];
		topics[i] = p->topic;
	}
	rc = bus_producer_stage_many(a->prod, conn, a->nnt, topics, envs, err,
	    sizeof(err));
	if (rc < 0)
		log_warn("alarmd.stage", "error=\"%s\"", err);
out:
	free(m);
	free(env);
	free(envs);
	free(topics);
	core_nt_free(a);
	return rc;
}

int
notify_incident(struct alarmd *a, PGconn *conn, struct inc *inc,
    const char *status, int64_t now_ms)
{
	struct route_result rr;
	struct json_out pay, rec, det;
	const char *held;
	char *alarms;
	int64_t nid;
	int rc = -1;

	if (recipients_of(a, conn, inc, now_ms, &rr) < 0)
		return -1;
	/* Nobody on duty where someone should be: that is an alert itself
	 * (not for a gap's own incident, which goes to the city office). */
	if (strncmp(inc->cause, "roster_gap:", 11) != 0)
		for (size_t i = 0; i < rr.ngaps; i++)
			if (core_gap_incident(a, conn, rr.gaps[i], now_ms) < 0)
				return -1;
	held = hold_of(a, conn, inc, now_ms);
	if ((alarms = cs_alarms_json(conn, inc->id, 20)) == NULL)
		return -1;
	json_out_init(&pay);
	json_out_init(&rec);
	json_out_init(&det);
	payload_of(a, inc, status, &rr, alarms, &pay);
	recipients_json(&rr, &rec);
	free(alarms);
	if (json_out_failed(&pay) || json_out_failed(&rec))
		goto out;
	if (cs_insert_notification(conn, inc->id, status, inc->level,
	        inc->tier, json_out_data(&rec), json_out_data(&pay), held,
	        &nid) < 0)
		goto out;
	if (held == NULL)
		for (size_t i = 0; i < deliver_receiver_count(a->dl); i++) {
			const char *rcv = deliver_receiver_name(a->dl, i);
			int64_t did;

			if (cs_insert_delivery(conn, nid, rcv, &did) < 0 ||
			    after_add(a, did, rcv, json_out_data(&pay),
			        json_out_len(&pay)) < 0)
				goto out;
		}
	if (stage_nt(a, inc, status, nid, rr.n, held, json_out_data(&pay),
	        now_ms) < 0)
		goto out;
	json_out_obj_open(&det);
	json_out_kv_int(&det, "notification", nid);
	json_out_kv_str(&det, "status", status);
	json_out_kv_str(&det, "level", al_level_name(inc->level));
	json_out_kv_int(&det, "tier", inc->tier);
	json_out_kv_int(&det, "recipients", (int64_t)rr.n);
	if (held != NULL)
		json_out_kv_str(&det, "held", held);
	json_out_obj_close(&det);
	if (core_audit(a, "alarmd", "notification.sent", inc->id,
	        json_out_data(&det)) < 0)
		goto out;
	if (held != NULL)
		a->pend.held++;
	else
		a->pend.notified++;
	core_changed(a, inc->id);
	rc = 0;
out:
	json_out_free(&pay);
	json_out_free(&rec);
	json_out_free(&det);
	return rc;
}

int
core_gap_incident(struct alarmd *a, PGconn *conn, const char *unit,
    int64_t now_ms)
{
	struct inc inc;
	char cause[64], name[128];
	int found;

	snprintf(cause, sizeof(cause), "roster_gap:%s", unit);
	if ((found = cs_open_incident(conn, "", cause, &inc)) < 0)
		return -1;
	if (found) {
		if (inc.open_alarms == 0) {
			/* The gap is back: the incident holds again. */
			inc.open_alarms = 1;
			inc.cleared_ms = 0;
			core_plan(a, &inc);
			if (cs_update_incident(conn, &inc) < 0)
				return -1;
			core_changed(a, inc.id);
		}
		return 0;
	}
	cs_unit_name(conn, unit, name, sizeof(name));
	memset(&inc, 0, sizeof(inc));
	snprintf(inc.cause, sizeof(inc.cause), "%s", cause);
	inc.level = (enum al_level)a->gap_level;
	inc.tier = 0;
	inc.status = AL_FIRING;
	inc.alarm_count = 1;
	inc.open_alarms = 1;
	inc.opened_ms = now_ms;
	snprintf(inc.title, sizeof(inc.title), "%s 当前无人值班", name);
	snprintf(inc.summary, sizeof(inc.summary),
	    "值班表在此时段没有覆盖 %s（%s），报警无法送达其值班人员，"
	    "请市安委办安排值班。",
	    name, unit);
	snprintf(inc.reasons, sizeof(inc.reasons), "[]");
	core_plan(a, &inc);
	if (cs_insert_incident(conn, &inc) < 0 ||
	    cs_add_alarm(conn, inc.id, cause, NULL, "roster_gap", inc.level, 0,
	        0, 0, 0, now_ms) < 0 ||
	    core_audit(a, "alarmd", "incident.opened", inc.id,
	        "{\"cause\":\"roster_gap\"}") < 0)
		return -1;
	a->pend.gaps++;
	a->pend.opened++;
	core_changed(a, inc.id);
	return 0;
}

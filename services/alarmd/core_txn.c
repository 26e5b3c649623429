/*
 * core_txn - what a transaction of alarmd's core gathers for its end: the
 * audit entries and nt.* messages written just before its COMMIT (a few
 * statements whatever their number), and what waits for the COMMIT
 * (deliveries handed to the engine, the consoles told, the metrics
 * counted), or is forgotten on a rollback.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.pb-c.h"
#include "api.h"
#include "audit.h"
#include "core_internal.h"
#include "deliver.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "sse.h"

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

int
core_stage_nt(struct alarmd *a, const struct inc *inc, const char *status,
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
	rc = bus_producer_stage_many(
	    a->prod, conn, a->nnt, topics, envs, err, sizeof(err));
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
core_audit(struct alarmd *a, const char *actor, const char *action,
    int64_t incident, const char *detail_json)
{
	char subject[40];

	snprintf(subject, sizeof(subject), "incident:%" PRId64, incident);
	return audit_batch_add(&a->audit, actor, action, subject, detail_json);
}

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

int
core_after_add(struct alarmd *a, int64_t id, const char *receiver,
    const char *payload, size_t len)
{
	struct pending_delivery *p;

	if (a->nafter == a->after_cap) {
		size_t cap = a->after_cap ? a->after_cap * 2 : 64;
		struct pending_delivery *n =
		    realloc(a->after, cap * sizeof(*n));

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
	core_intake_clear(a);
	memset(&a->pend, 0, sizeof(a->pend));
	for (size_t i = 0; i < a->nafter; i++)
		free(a->after[i].payload);
	a->nafter = 0;
	a->nchanged = 0;
	audit_batch_clear(&a->audit);
	core_nt_free(a);
	bus_producer_discard(a->prod);
}

/* Incidents changed by one transaction above which the consoles are told
 * to read the list again rather than each one. */
#define SSE_BATCH_MAX 100

static void
broadcast(const char *json, void *arg)
{
	sse_broadcast(arg, "incident", json);
}

/*
 * The consoles hear of every incident changed since their last turn, read
 * back in one statement; of a storm's many, one "refresh" (they read the
 * open list again), so that a thousand frames at once neither hold the
 * loop nor overflow a console's backlog.
 */
void
core_consoles_cb(evutil_socket_t fd, short what, void *arg)
{
	struct alarmd *a = arg;

	(void)fd;
	(void)what;
	if (a->nto_consoles == 0 || sse_clients(a->sse) == 0) {
		a->nto_consoles = 0;
		return;
	}
	if (a->nto_consoles > SSE_BATCH_MAX) {
		char n[48];

		snprintf(n, sizeof(n), "{\"changed\":%zu}", a->nto_consoles);
		sse_broadcast(a->sse, "refresh", n);
	} else {
		api_incidents_json(a->st, a->to_consoles, a->nto_consoles,
		    broadcast, a->sse);
	}
	a->nto_consoles = 0;
}

void
core_after_run(struct alarmd *a)
{
	pend_commit(a);
	bus_producer_publish(a->prod);
	for (size_t i = 0; i < a->nafter; i++) {
		deliver_submit(a->dl, a->after[i].id, a->after[i].receiver,
		    a->after[i].payload, a->after[i].len);
		free(a->after[i].payload);
	}
	a->nafter = 0;
	/* The consoles' turn comes once the loop has sent the webhooks. */
	if (a->nchanged > 0 && a->sse != NULL && sse_clients(a->sse) > 0 &&
	    a->sse_ev != NULL) {
		size_t need = a->nto_consoles + a->nchanged;

		if (need > a->to_consoles_cap) {
			size_t cap = need * 2;
			int64_t *n = realloc(a->to_consoles, cap * sizeof(*n));

			if (n != NULL) {
				a->to_consoles = n;
				a->to_consoles_cap = cap;
			}
		}
		if (need <= a->to_consoles_cap) {
			memcpy(a->to_consoles + a->nto_consoles, a->changed,
			    a->nchanged * sizeof(*a->changed));
			a->nto_consoles = need;
			event_active(a->sse_ev, EV_TIMEOUT, 0);
		}
	}
	a->nchanged = 0;
}

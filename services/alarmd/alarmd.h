/*
 * alarmd - what the daemon's parts share (DESIGN.md 4.2, DOMAIN.md 6).
 *
 * alarmd consumes riskd's al.* and rk.* streams (bus consumer "alarmd"),
 * groups alarms and warnings into incidents, routes each to the duty
 * officers responsible (route.h), escalates what nobody acknowledges
 * (policy.h), delivers webhooks (deliver.h), feeds the duty console (SSE)
 * and journals every change (audit.h).  All durable state is in the store
 * (deploy/sql/0010_alarmd.sql); the steps due are columns of the incidents
 * themselves, so after a kill -9 each runs once, on time.
 *
 * Files:
 *   main.c       the daemon table, config, life cycle
 *   core.c       incidents: intake from the bus, due steps, officers'
 *                actions, notifications (the rules are policy.c)
 *   core_store.c the SQL of core.c
 *   policy.c     pure rules: levels, ladder, life cycle, noise
 *   route.c      pure routing by responsibility and duty rosters
 *   deliver.c    webhook delivery (deliver_store.c: its SQL)
 *   audit.c      the hash-chained journal
 *   sse.c        Server-Sent Events to consoles
 *   console.c    the duty console page (GET /)
 *   officers.c   officers' tokens (console login)
 *   api.c        the HTTP API (incidents, silences, roster gaps)
 * Everything runs on the loop's thread.
 */
#ifndef ANQUAN_ALARMD_H
#define ANQUAN_ALARMD_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "policy.h"

struct alarmd;
struct store;
struct sse;

/* The daemon's store connection (the loop's). */
struct store *alarmd_store(struct alarmd *a);
/* The policy in force (from [alarmd]). */
const struct al_policy *alarmd_policy(const struct alarmd *a);
/* The SSE hub (console streams). */
struct sse *alarmd_sse(struct alarmd *a);

/* An officer, as a console token names them. */
struct officer {
	char id[64];
	char name[64];
};

/*
 * An officer acts on an incident: to is AL_ACKED (签收) or AL_RESOLVED
 * (办结, note required for the levels policy says).  In one transaction:
 * the incident row, its next step, a notification to its recipients
 * (status acknowledged or resolved), the audit entry, the nt.* message;
 * then the consoles hear of it.  0; or -1 with *status (404 no such
 * incident, 409 refused by the life cycle, 503 store) and why (Chinese
 * for 409, the reason for 503).
 */
int alarmd_act(struct alarmd *a, int64_t incident_id, int to,
    const struct officer *who, const char *note, int *status, char *why,
    size_t wlen);

/* The silences changed (api.c made or expired one): re-read them. */
void alarmd_silences_changed(struct alarmd *a);

/*
 * Tell the consoles that an incident changed: event "incident" with the
 * incident as the API shows it (api.c renders it from the store).
 */
void alarmd_incident_changed(struct alarmd *a, int64_t incident_id);

#endif

/*
 * core_notify - the notice of an incident: who is told (route.c over the
 * responsibility and the duty shifts covering now), whether it is held
 * (a silence, inhibition, a flapping point), the webhook body of DESIGN.md
 * 4.2, the notification and its deliveries, the nt.* message and the
 * audit entry, all in the caller's transaction (what waits for its
 * COMMIT is core_txn.c's).  Notices are built and written by the set: a
 * transaction's notices share one statement per read and per write.
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
#include "strmap.h"
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

/* The open incidents of the notices' enterprises, sorted by uscc: the
 * store's, with the transaction's own (in memory, maybe newer) in place
 * of theirs. */
struct open_set {
	struct cs_open_inc *v;
	size_t n;
};

static int
open_cmp(const void *x, const void *y)
{
	const struct cs_open_inc *a = x, *b = y;
	int c = strcmp(a->uscc, b->uscc);

	if (c != 0)
		return c;
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
id_cmp(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

/* The open set from the store's rows db[0..n) (taken over) and the
 * transaction's own incidents mem[0..nmem), which win. */
static int
open_set_build(struct cs_open_inc *db, size_t n, struct inc *const *mem,
    size_t nmem, struct open_set *o)
{
	struct cs_open_inc *v = calloc(n + nmem + 1, sizeof(*v));
	int64_t *ids = calloc(nmem + 1, sizeof(*ids));
	size_t k = 0;

	o->v = NULL;
	o->n = 0;
	if (v == NULL || ids == NULL) {
		free(v);
		free(ids);
		free(db);
		return -1;
	}
	for (size_t i = 0; i < nmem; i++) {
		ids[i] = mem[i]->id;
		if (mem[i]->uscc[0] == '\0' || mem[i]->status == AL_RESOLVED)
			continue;
		snprintf(v[k].uscc, sizeof(v[k].uscc), "%s", mem[i]->uscc);
		v[k].id = mem[i]->id;
		v[k].level = mem[i]->level;
		k++;
	}
	qsort(ids, nmem, sizeof(*ids), id_cmp);
	for (size_t i = 0; i < n; i++)
		if (bsearch(&db[i].id, ids, nmem, sizeof(*ids), id_cmp) == NULL)
			v[k++] = db[i];
	free(ids);
	free(db);
	qsort(v, k, sizeof(*v), open_cmp);
	o->v = v;
	o->n = k;
	return 0;
}

/* The levels of uscc's open incidents other than id, into out. */
static size_t
open_levels_of(const struct open_set *o, const char *uscc, int64_t id,
    enum al_level *out, size_t max)
{
	size_t lo = 0, hi = o->n, n = 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(o->v[mid].uscc, uscc) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < o->n && strcmp(o->v[lo].uscc, uscc) == 0 && n < max; lo++)
		if (o->v[lo].id != id)
			out[n++] = o->v[lo].level;
	return n;
}

/* Why inc's notice is held ("silenced", "inhibited", "flapping"), or
 * NULL; sets silenced_by / inhibited_by. */
static const char *
hold_of(struct alarmd *a, PGconn *conn, struct inc *inc,
    const struct open_set *open_set, int64_t now_ms)
{
	struct al_subject s = {
	    .uscc = inc->uscc[0] != '\0' ? inc->uscc : NULL,
	    .district = inc->district[0] != '\0' ? inc->district : NULL,
	    .point = NULL,
	    .cause = inc->cause,
	    .level = inc->level,
	};
	enum al_level open[32];
	size_t n;

	inc->silenced_by = 0;
	inc->inhibited_by = 0;
	silences_refresh(a, conn, now_ms);
	for (size_t i = 0; i < a->nsil; i++)
		if (al_silence_matches(&a->sil[i], &s, now_ms)) {
			inc->silenced_by = a->sil[i].id;
			return "silenced";
		}
	if (inc->uscc[0] != '\0' &&
	    (n = open_levels_of(open_set, inc->uscc, inc->id, open, 32)) > 0 &&
	    al_inhibited(&a->policy, inc->level, open, n)) {
		inc->inhibited_by = 1;
		return "inhibited";
	}
	if (inc->flapping)
		return "flapping";
	return NULL;
}

/* --- recipients ---------------------------------------------------------- */

#define SHIFTS_MAX 512

/* How long the shifts read are used: the read takes every shift that
 * covers any moment of it, and routing picks by the moment itself, so a
 * shift starting or ending within it is right; a roster change heard on
 * the bus drops them at once (core_shifts_changed). */
#define SHIFTS_TTL_MS 5000

/* The shifts covering now_ms: read at most every SHIFTS_TTL_MS. */
static int
shifts_now(struct alarmd *a, PGconn *conn, int64_t now_ms)
{
	if (a->nshifts >= 0 && now_ms >= a->shifts_ms &&
	    now_ms < a->shifts_ms + SHIFTS_TTL_MS)
		return a->nshifts;
	if (a->shifts == NULL &&
	    (a->shifts = calloc(SHIFTS_MAX, sizeof(*a->shifts))) == NULL)
		return -1;
	a->nshifts = cs_shifts_all(conn, now_ms, now_ms + SHIFTS_TTL_MS,
	    a->shifts, SHIFTS_MAX);
	a->shifts_ms = now_ms;
	return a->nshifts;
}

void
core_shifts_changed(struct alarmd *a)
{
	a->nshifts = -1;
}

static void
time_text(char *buf, size_t size, int64_t ms)
{
	timeutil_format_rfc3339(ms, buf, size);
}

/* The recipients as the webhook and the notification row list them. */
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

/* The webhook body of DESIGN.md 4.2, with the alarms and recipients
 * arrays already written (the recipients are also kept on their own). */
static void
payload_of(struct alarmd *a, const struct inc *inc, const char *status,
    const char *recipients, const char *alarms_json, struct json_out *w)
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
	json_out_raw(w, recipients, strlen(recipients));
	time_text(t, sizeof(t), inc->opened_ms);
	json_out_kv_str(w, "started_at", t);
	json_out_kv_int(w, "tier", inc->tier);
	json_out_kv_int(w, "alarm_count", inc->alarm_count);
	snprintf(url, sizeof(url), "%s#/incidents/%" PRId64, a->console_url,
	    inc->id);
	json_out_kv_str(w, "ack_url", url);
	json_out_obj_close(w);
}

/* --- the alarms a notice lists ----------------------------------------- */

#define NOTICE_ALARMS 20

static void
alarm_item(struct json_out *w, const char *ref, const char *point,
    const char *kind, int has_value, double value, int has_threshold,
    double threshold, int64_t at_ms)
{
	char t[40];

	json_out_obj_open(w);
	json_out_kv_str(w, "id", ref);
	json_out_key(w, "point");
	if (point != NULL && point[0] != '\0')
		json_out_str(w, point);
	else
		json_out_null(w);
	json_out_kv_str(w, "kind", kind);
	json_out_key(w, "value");
	if (has_value)
		json_out_double(w, value);
	else
		json_out_null(w);
	json_out_key(w, "threshold");
	if (has_threshold)
		json_out_double(w, threshold);
	else
		json_out_null(w);
	time_text(t, sizeof(t), at_ms);
	json_out_kv_str(w, "at", t);
	json_out_obj_close(w);
}

static int
mem_alarm_cmp(const void *x, const void *y)
{
	const struct cs_alarm *a = *(const struct cs_alarm *const *)x;
	const struct cs_alarm *b = *(const struct cs_alarm *const *)y;

	if (a->at_ms != b->at_ms)
		return a->at_ms > b->at_ms ? -1 : 1;
	return strcmp(a->ref, b->ref);
}

static int
row_cmp(const void *x, const void *y)
{
	const struct cs_alarm_row *a = x, *b = y;

	if (a->incident != b->incident)
		return a->incident < b->incident ? -1 : 1;
	if (a->at_ms != b->at_ms)
		return a->at_ms > b->at_ms ? -1 : 1;
	return strcmp(a->ref, b->ref);
}

/* The "alarms" array of notice n: its alarms in memory, or its rows. */
static int
alarms_json(const struct notice *n, const struct cs_alarm_row *rows,
    size_t nrows, struct json_out *w)
{
	size_t lo = 0, hi = nrows, k = 0;

	json_out_arr_open(w);
	if (n->alarms != NULL) {
		const struct cs_alarm **v = malloc(
		    (n->nalarms + 1) * sizeof(*v));

		if (v == NULL)
			return -1;
		memcpy(v, n->alarms, n->nalarms * sizeof(*v));
		qsort(v, n->nalarms, sizeof(*v), mem_alarm_cmp);
		for (size_t i = 0; i < n->nalarms && i < NOTICE_ALARMS; i++)
			alarm_item(w, v[i]->ref, v[i]->point, v[i]->kind,
			    v[i]->has_value, v[i]->value, v[i]->has_threshold,
			    v[i]->threshold, v[i]->at_ms);
		free(v);
	} else {
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (rows[mid].incident < n->inc->id)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < nrows && rows[lo].incident == n->inc->id &&
		     k < NOTICE_ALARMS;
		     lo++, k++)
			alarm_item(w, rows[lo].ref, rows[lo].point, rows[lo].kind,
			    rows[lo].has_value, rows[lo].value,
			    rows[lo].has_threshold, rows[lo].threshold,
			    rows[lo].at_ms);
	}
	json_out_arr_close(w);
	return 0;
}

/* --- notices, by the set ------------------------------------------------- */

/* The distinct enterprises of the notices (borrowed strings). */
static size_t
notice_usccs(const struct notice *ns, size_t n, const char **out,
    struct strmap *seen)
{
	size_t k = 0;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		const char *u = ns[i].inc->uscc;

		if (u[0] == '\0' || strmap_get(seen, u) != NULL)
			continue;
		strmap_put(seen, u, (void *)(uintptr_t)(k + 1), &err);
		out[k++] = u;
	}
	return err ? 0 : k;
}

void
notify_free(struct notice *ns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ns[i].payload);
		free(ns[i].recipients);
		ns[i].payload = ns[i].recipients = NULL;
	}
}

int
notify_prepare(struct alarmd *a, PGconn *conn, struct notice *ns, size_t n,
    struct inc *const *mem, size_t nmem, int64_t now_ms)
{
	const char **usccs = NULL;
	struct route_resp *resp = NULL;
	int *found = NULL, nshift, nopen, rc = -1;
	struct cs_open_inc *opens = NULL;
	struct strmap *seen = strmap_new();
	struct open_set open = {0};
	struct cs_alarm_row *rows = NULL;
	int64_t *ids = NULL;
	size_t nu = 0, nids = 0;
	int nrows = 0;
	struct json_out pay, rec, al;

	json_out_init(&pay);
	json_out_init(&rec);
	json_out_init(&al);
	if (n == 0) {
		rc = 0;
		goto out;
	}
	usccs = calloc(n, sizeof(*usccs));
	resp = calloc(n, sizeof(*resp));
	found = calloc(n, sizeof(*found));
	ids = calloc(n, sizeof(*ids));
	if (seen == NULL || usccs == NULL || resp == NULL || found == NULL ||
	    ids == NULL)
		goto out;
	nu = notice_usccs(ns, n, usccs, seen);
	if ((nopen = cs_enterprise_facts(conn, usccs, nu, resp, found,
	         &opens)) < 0 ||
	    open_set_build(opens, (size_t)nopen, mem, nmem, &open) < 0 ||
	    (nshift = shifts_now(a, conn, now_ms)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (ns[i].alarms == NULL)
			ids[nids++] = ns[i].inc->id;
	if ((nrows = cs_alarm_rows(conn, ids, nids, NOTICE_ALARMS, &rows)) < 0)
		goto out;
	if (nrows > 0)
		qsort(rows, (size_t)nrows, sizeof(*rows), row_cmp);
	for (size_t i = 0; i < n; i++) {
		struct notice *no = &ns[i];
		struct inc *inc = no->inc;
		struct route_resp own, *rp = NULL;
		struct route_result rr;

		if (inc->uscc[0] != '\0') {
			size_t k = (size_t)(uintptr_t)strmap_get(seen, inc->uscc);

			rp = &own;
			if (k > 0 && found[k - 1])
				own = resp[k - 1];
			else {
				memset(&own, 0, sizeof(own));
				snprintf(own.territorial, sizeof(own.territorial),
				    "%s", inc->district);
			}
		}
		route_recipients(rp, inc->tier, a->shifts, (size_t)nshift,
		    now_ms, &rr);
		/* Nobody on duty where someone should be: that is an alert
		 * itself (not for a gap's own incident, which goes to the
		 * city office). */
		if (strncmp(inc->cause, "roster_gap:", 11) != 0)
			for (size_t g = 0; g < rr.ngaps; g++)
				if (core_gap_incident(a, conn, rr.gaps[g], now_ms) <
				    0)
					goto out;
		no->held = hold_of(a, conn, inc, &open, now_ms);
		json_out_reset(&pay);
		json_out_reset(&rec);
		json_out_reset(&al);
		recipients_json(&rr, &rec);
		if (alarms_json(no, rows, (size_t)nrows, &al) < 0 ||
		    json_out_failed(&al) || json_out_failed(&rec))
			goto out;
		payload_of(a, inc, no->status, json_out_data(&rec),
		    json_out_data(&al), &pay);
		if (json_out_failed(&pay))
			goto out;
		no->paylen = json_out_len(&pay);
		no->payload = strdup(json_out_data(&pay));
		no->recipients = strdup(json_out_data(&rec));
		no->nrecipients = rr.n;
		if (no->payload == NULL || no->recipients == NULL)
			goto out;
	}
	rc = 0;
out:
	json_out_free(&pay);
	json_out_free(&rec);
	json_out_free(&al);
	strmap_free(seen, NULL);
	free(usccs);
	free(resp);
	free(found);
	free(ids);
	free(open.v);
	cs_alarm_rows_free(rows, nrows > 0 ? (size_t)nrows : 0);
	if (rc < 0)
		notify_free(ns, n);
	return rc;
}

int
notify_write(struct alarmd *a, PGconn *conn, struct notice *ns, size_t n,
    const struct notice_ids *pre, int64_t now_ms)
{
	size_t nrcv = deliver_receiver_count(a->dl), nd = 0, k = 0;
	struct cs_notification *rows = NULL;
	int64_t *nids = NULL, *dids = NULL, *dn = NULL;
	const char **drcv = NULL;
	struct json_out det;
	int rc = -1;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (ns[i].held == NULL)
			nd += nrcv;
	rows = calloc(n, sizeof(*rows));
	nids = calloc(n, sizeof(*nids));
	dids = calloc(nd + 1, sizeof(*dids));
	dn = calloc(nd + 1, sizeof(*dn));
	drcv = calloc(nd + 1, sizeof(*drcv));
	json_out_init(&det);
	if (rows == NULL || nids == NULL || dids == NULL || dn == NULL ||
	    drcv == NULL)
		goto out;
	if (pre != NULL && pre->nn >= n && pre->nd >= nd) {
		memcpy(nids, pre->n, n * sizeof(*nids));
		memcpy(dids, pre->d, nd * sizeof(*dids));
	} else {
		size_t counts[3] = {0, n, nd};
		int64_t *into[3] = {NULL, nids, dids};

		if (cs_new_ids3(conn, counts, into) < 0)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct inc *inc = ns[i].inc;

		rows[i] = (struct cs_notification){.id = nids[i],
		    .incident = inc->id, .status = ns[i].status,
		    .level = inc->level, .tier = inc->tier,
		    .recipients = ns[i].recipients, .payload = ns[i].payload,
		    .held = ns[i].held};
		if (ns[i].held != NULL)
			continue;
		for (size_t r = 0; r < nrcv; r++) {
			dn[k] = nids[i];
			drcv[k] = deliver_receiver_name(a->dl, r);
			k++;
		}
	}
	if (cs_insert_notifications(conn, rows, n) < 0 ||
	    cs_insert_deliveries(conn, dids, dn, drcv, nd) < 0)
		goto out;
	k = 0;
	for (size_t i = 0; i < n; i++) {
		struct notice *no = &ns[i];
		const struct inc *inc = no->inc;

		if (no->held == NULL)
			for (size_t r = 0; r < nrcv; r++, k++)
				if (core_after_add(a, dids[k], drcv[k], no->payload,
				        no->paylen) < 0)
					goto out;
		if (core_stage_nt(a, inc, no->status, nids[i], no->nrecipients,
		        no->held, no->payload, now_ms) < 0)
			goto out;
		json_out_reset(&det);
		json_out_obj_open(&det);
		json_out_kv_int(&det, "notification", nids[i]);
		json_out_kv_str(&det, "status", no->status);
		json_out_kv_str(&det, "level", al_level_name(inc->level));
		json_out_kv_int(&det, "tier", inc->tier);
		json_out_kv_int(&det, "recipients", (int64_t)no->nrecipients);
		if (no->held != NULL)
			json_out_kv_str(&det, "held", no->held);
		json_out_obj_close(&det);
		if (json_out_failed(&det) ||
		    core_audit(a, "alarmd", "notification.sent", inc->id,
		        json_out_data(&det)) < 0)
			goto out;
		if (no->held != NULL)
			a->pend.held++;
		else
			a->pend.notified++;
		core_changed(a, inc->id);
	}
	rc = 0;
out:
	json_out_free(&det);
	free(rows);
	free(nids);
	free(dids);
	free(dn);
	free(drcv);
	return rc;
}

int
notify_incident(struct alarmd *a, PGconn *conn, struct inc *inc,
    const char *status, int64_t now_ms)
{
	struct notice n = {.inc = inc, .status = status};
	int rc = notify_prepare(a, conn, &n, 1, &inc, 1, now_ms);

	if (rc == 0)
		rc = notify_write(a, conn, &n, 1, NULL, now_ms);
	notify_free(&n, 1);
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

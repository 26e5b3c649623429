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

static void
fmt_value(char *buf, size_t size, double v)
{
	snprintf(buf, size, "%.6g", v);
}

/* Title and summary of an alarm incident (Chinese, for duty officers). */
static void
alarm_texts(struct inc *inc, const Anquan__Alarm *m)
{
	char v[32], t[32];
	int device = strcmp(inc->cause, "device") == 0;

	snprintf(inc->title, sizeof(inc->title), "%s %s", inc->enterprise,
	    device ? "监测设备异常" : "监测报警");
	fmt_value(v, sizeof(v), m->value);
	fmt_value(t, sizeof(t), m->threshold);
	if (strcmp(m->kind, "offline") == 0)
		snprintf(inc->summary, sizeof(inc->summary),
		    "点位 %s 离线；本事件共 %d 条报警，%d 条未恢复", m->point,
		    inc->alarm_count, inc->open_alarms);
	else if (strcmp(m->kind, "fault") == 0)
		snprintf(inc->summary, sizeof(inc->summary),
		    "点位 %s 故障（数据异常或超量程）；本事件共 %d 条报警，"
		    "%d 条未恢复",
		    m->point, inc->alarm_count, inc->open_alarms);
	else
		snprintf(inc->summary, sizeof(inc->summary),
		    "点位 %s %s 报警：%s %s（阈值 %s）；本事件共 %d 条报警，"
		    "%d 条未恢复",
		    m->point, m->kind, v, m->unit, t, inc->alarm_count,
		    inc->open_alarms);
}

/* --- alarms ------------------------------------------------------------- */

/*
 * Raised alarms are not handled one by one: they are gathered
 * (intake_add) and taken into incidents together (intake_flush) before
 * the consumer's COMMIT, or before any other message that could see
 * their effect (a clear, a warning), so their order is kept.  A batch of
 * hundreds of alarms costs the store about a dozen statements, not a
 * dozen per alarm.
 */
struct raised {
	char *id, *point, *kind, *unit, *uscc, *enterprise, *district, *sector;
	char *key;          /* uscc "\x1f" cause: its incident's key */
	const char *cause;
	enum al_level level;
	double value, threshold;
	int has_value, has_threshold;
	int64_t started_ms;
};

static void
raised_free(struct raised *r)
{
	free(r->id);
	free(r->point);
	free(r->kind);
	free(r->unit);
	free(r->uscc);
	free(r->enterprise);
	free(r->district);
	free(r->sector);
	free(r->key);
}

void
core_intake_clear(struct alarmd *a)
{
	for (size_t i = 0; i < a->nraised; i++)
		raised_free(&a->raised[i]);
	a->nraised = 0;
}

static enum bus_verdict
intake_add(struct alarmd *a, const Anquan__Alarm *m)
{
	const char *cause = al_alarm_cause(m->kind);
	enum al_level lvl;
	struct raised *r;

	if (cause == NULL || al_kind_level(&a->kinds, m->kind, &lvl) < 0 ||
	    m->uscc[0] == '\0')
		return BUS_SKIP;
	if (a->nraised == a->raised_cap) {
		size_t cap = a->raised_cap ? a->raised_cap * 2 : 256;
		struct raised *n = realloc(a->raised, cap * sizeof(*n));

		if (n == NULL)
			return BUS_RETRY;
		a->raised = n;
		a->raised_cap = cap;
	}
	r = &a->raised[a->nraised];
	memset(r, 0, sizeof(*r));
	r->cause = cause;
	r->level = lvl;
	r->value = m->value;
	r->has_value = m->has_value;
	r->threshold = m->threshold;
	r->has_threshold = m->has_threshold;
	r->started_ms = m->started_at_ms;
	r->id = strdup(m->id);
	r->point = strdup(m->point);
	r->kind = strdup(m->kind);
	r->unit = strdup(m->unit);
	r->uscc = strdup(m->uscc);
	r->enterprise = strdup(m->enterprise);
	r->district = strdup(m->district);
	r->sector = strdup(m->sector);
	if (r->uscc != NULL &&
	    (r->key = malloc(strlen(r->uscc) + strlen(cause) + 2)) != NULL)
		sprintf(r->key, "%s\x1f%s", r->uscc, cause);
	if (r->id == NULL || r->point == NULL || r->kind == NULL ||
	    r->unit == NULL || r->uscc == NULL || r->enterprise == NULL ||
	    r->district == NULL || r->sector == NULL || r->key == NULL) {
		raised_free(r);
		return BUS_RETRY;
	}
	a->nraised++;
	return BUS_OK;
}

/* An incident of the batch: one per key. */
struct slot {
	struct inc inc;
	int is_new;
	int touched;
	int joined;            /* alarms it gained (an existing one) */
	int escalate;          /* its level rose past a notice given */
	size_t first, nalarms; /* its alarms in the new-alarm list */
};

/* The summary of an alarm (Anquan__Alarm's fields, kept in a raised). */
static void
raised_texts(struct inc *inc, const struct raised *r)
{
	Anquan__Alarm m = ANQUAN__ALARM__INIT;

	m.point = r->point;
	m.kind = r->kind;
	m.unit = r->unit;
	m.value = r->value;
	m.threshold = r->threshold;
	alarm_texts(inc, &m);
}

/* Whether each raised alarm's point is flapping (flap[i]): its raises in
 * the window, in the store and earlier in the batch. */
static int
intake_flapping(struct alarmd *a, PGconn *conn, int *flap)
{
	size_t n = a->nraised, np = 0;
	const char **pts = calloc(n + 1, sizeof(*pts));
	int *counts = calloc(n + 1, sizeof(*counts));
	size_t *idx = calloc(n + 1, sizeof(*idx));
	struct strmap *m = strmap_new();
	int rc = -1, err = 0;

	if (pts == NULL || counts == NULL || idx == NULL || m == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *p = a->raised[i].point;
		void *v;

		flap[i] = 0;
		if (p[0] == '\0')
			continue;
		if ((v = strmap_get(m, p)) == NULL) {
			pts[np] = p;
			strmap_put(m, p, (void *)(uintptr_t)(np + 1), &err);
			v = (void *)(uintptr_t)(++np);
		}
		idx[i] = (size_t)(uintptr_t)v;
	}
	if (err || cs_point_raises(conn, pts, np, a->policy.flap_window_ms,
	               counts) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (idx[i] == 0)
			continue;
		/* This raise counts too, as do those before it. */
		counts[idx[i] - 1]++;
		flap[i] = counts[idx[i] - 1] >= a->policy.flap_count;
	}
	rc = 0;
out:
	strmap_free(m, NULL);
	free(pts);
	free(counts);
	free(idx);
	return rc;
}

static void
slot_new(struct alarmd *a, struct slot *s, const struct raised *r,
    int flapping, int64_t now)
{
	struct inc *inc = &s->inc;

	memset(s, 0, sizeof(*s));
	s->is_new = 1;
	s->touched = 1;
	snprintf(inc->uscc, sizeof(inc->uscc), "%s", r->uscc);
	snprintf(inc->enterprise, sizeof(inc->enterprise), "%s", r->enterprise);
	snprintf(inc->district, sizeof(inc->district), "%s", r->district);
	snprintf(inc->sector, sizeof(inc->sector), "%s", r->sector);
	snprintf(inc->cause, sizeof(inc->cause), "%s", r->cause);
	snprintf(inc->reasons, sizeof(inc->reasons), "[]");
	inc->level = r->level;
	inc->tier = al_start_tier(r->level);
	inc->status = AL_FIRING;
	inc->opened_ms = now;
	inc->flapping = flapping;
	(void)a;
}

/* One more alarm r of slot s (new to its incident). */
static void
slot_join(struct slot *s, const struct raised *r, int flapping)
{
	struct inc *inc = &s->inc;

	inc->alarm_count++;
	inc->open_alarms++;
	inc->cleared_ms = 0;
	inc->flapping = inc->flapping || flapping;
	raised_texts(inc, r);
	if (r->level > inc->level) {
		inc->level = r->level;
		if (inc->tier < al_start_tier(r->level))
			inc->tier = al_start_tier(r->level);
		/* Acknowledged or not: the officers knew a milder one. */
		if (!s->is_new && inc->notified_ms > 0 &&
		    inc->status != AL_RESOLVED)
			s->escalate = 1;
	}
	s->touched = 1;
}

struct intake {
	struct slot *slots;
	size_t nslots;
	struct cs_alarm *old, *fresh; /* alarms of existing / new incidents */
	size_t nold, nfresh;
	size_t *old_of, *fresh_of;    /* raised index of each */
	const struct cs_alarm **by_slot;
	struct inc **all;
	struct notice *ns;
	size_t nns;
	int *flap;
	size_t *slot_of;
	struct strmap *keys, *refs;
};

static void
intake_free(struct intake *t)
{
	if (t->ns != NULL)
		notify_free(t->ns, t->nns);
	free(t->slots);
	free(t->old);
	free(t->fresh);
	free(t->old_of);
	free(t->fresh_of);
	free(t->by_slot);
	free(t->all);
	free(t->ns);
	free(t->flap);
	free(t->slot_of);
	strmap_free(t->keys, NULL);
	strmap_free(t->refs, NULL);
}

static void
alarm_of(struct cs_alarm *al, const struct raised *r, int64_t incident)
{
	*al = (struct cs_alarm){.incident = incident, .ref = r->id,
	    .point = r->point, .kind = r->kind, .level = r->level,
	    .value = r->value, .threshold = r->threshold,
	    .has_value = r->has_value, .has_threshold = r->has_threshold,
	    .at_ms = r->started_ms};
}

/* Find or lock every incident the batch's alarms belong to. */
static int
intake_slots(struct alarmd *a, PGconn *conn, struct intake *t)
{
	size_t n = a->nraised, nk = 0;
	const char **u = calloc(n + 1, sizeof(*u));
	const char **c = calloc(n + 1, sizeof(*c));
	struct inc *found = NULL;
	int nf, err = 0, rc = -1;
	char key[260];

	if (u == NULL || c == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct raised *r = &a->raised[i];
		void *v = strmap_get(t->keys, r->key);

		if (v == NULL) {
			u[nk] = r->uscc;
			c[nk] = r->cause;
			strmap_put(t->keys, r->key, (void *)(uintptr_t)(nk + 1),
			    &err);
			v = (void *)(uintptr_t)(++nk);
		}
		t->slot_of[i] = (size_t)(uintptr_t)v - 1;
	}
	if (err || (t->slots = calloc(nk + 1, sizeof(*t->slots))) == NULL ||
	    (nf = cs_open_incidents(conn, u, c, nk, &found)) < 0)
		goto out;
	t->nslots = nk;
	for (int i = 0; i < nf; i++) {
		void *v;

		snprintf(key, sizeof(key), "%s\x1f%s", found[i].uscc,
		    found[i].cause);
		if ((v = strmap_get(t->keys, key)) == NULL)
			continue;
		t->slots[(uintptr_t)v - 1].inc = found[i];
	}
	rc = 0;
out:
	free(found);
	free(u);
	free(c);
	return rc;
}

static int
intake_flush(struct alarmd *a, PGconn *conn)
{
	size_t n = a->nraised, nnew = 0, k, nrcv, counts[3];
	int64_t now = alarmd_now_ms();
	struct intake t = {0};
	int64_t *ids = NULL, *nids = NULL, *dids = NULL, *into[3];
	struct notice_ids pre;
	int rc = -1, err = 0;

	if (n == 0)
		return 0;
	t.flap = calloc(n, sizeof(*t.flap));
	t.slot_of = calloc(n, sizeof(*t.slot_of));
	t.old = calloc(n, sizeof(*t.old));
	t.fresh = calloc(n, sizeof(*t.fresh));
	t.old_of = calloc(n, sizeof(*t.old_of));
	t.fresh_of = calloc(n, sizeof(*t.fresh_of));
	t.keys = strmap_new();
	t.refs = strmap_new();
	if (t.flap == NULL || t.slot_of == NULL || t.old == NULL ||
	    t.fresh == NULL || t.old_of == NULL || t.fresh_of == NULL ||
	    t.keys == NULL || t.refs == NULL)
		goto out;
	if (a->policy.flap_count > 0 && intake_flapping(a, conn, t.flap) < 0)
		goto out;
	if (intake_slots(a, conn, &t) < 0)
		goto out;
	/* The alarms of incidents already open are added in the store first
	 * (a replayed one is known and joins nothing); those of incidents
	 * this batch opens are counted here and written with them. */
	for (size_t i = 0; i < n; i++) {
		const struct raised *r = &a->raised[i];
		struct slot *s = &t.slots[t.slot_of[i]];

		/* The same alarm twice in one batch counts once. */
		if (strmap_get(t.refs, r->id) != NULL)
			continue;
		strmap_put(t.refs, r->id, (void *)r, &err);
		if (s->inc.id > 0 && !s->is_new) {
			alarm_of(&t.old[t.nold], r, s->inc.id);
			t.old_of[t.nold++] = i;
			continue;
		}
		if (!s->is_new) {
			slot_new(a, s, r, t.flap[i], now);
			nnew++;
		}
		slot_join(s, r, t.flap[i]);
		alarm_of(&t.fresh[t.nfresh], r, 0);
		t.fresh_of[t.nfresh++] = i;
		s->nalarms++;
	}
	if (err || cs_known_alarms(conn, t.old, t.nold) < 0 ||
	    cs_insert_alarms(conn, t.old, t.nold) < 0)
		goto out;
	for (size_t j = 0; j < t.nold; j++) {
		struct slot *s = &t.slots[t.slot_of[t.old_of[j]]];

		if (t.old[j].known)
			continue; /* seen already (a replay of the same alarm) */
		slot_join(s, &a->raised[t.old_of[j]], t.flap[t.old_of[j]]);
		s->joined++;
	}
	/* Each new incident's alarms listed together (for its first notice,
	 * built without reading them back). */
	if ((t.by_slot = calloc(t.nfresh + 1, sizeof(*t.by_slot))) == NULL ||
	    (t.all = calloc(t.nslots + 1, sizeof(*t.all))) == NULL ||
	    (t.ns = calloc(t.nslots + 1, sizeof(*t.ns))) == NULL)
		goto out;
	for (size_t i = 0, pos = 0; i < t.nslots; i++) {
		struct slot *s = &t.slots[i];

		if (s->is_new) {
			s->first = pos;
			pos += s->nalarms;
			s->nalarms = 0;
		}
	}
	for (size_t j = 0; j < t.nfresh; j++) {
		struct slot *s = &t.slots[t.slot_of[t.fresh_of[j]]];

		t.by_slot[s->first + s->nalarms++] = &t.fresh[j];
	}
	/* What each incident does now: a new one is told at once when the
	 * group wait is over (0), a worse one is told it got worse. */
	k = 0;
	for (size_t i = 0; i < t.nslots; i++) {
		struct slot *s = &t.slots[i];
		struct notice *no = &t.ns[t.nns];

		if (!s->touched)
			continue;
		t.all[k++] = &s->inc;
		core_plan(a, &s->inc);
		if (s->is_new && s->inc.next_step == AL_STEP_NOTIFY &&
		    s->inc.next_step_ms <= now) {
			s->inc.notified_ms = now;
			no->inc = &s->inc;
			no->status = "firing";
			no->alarms = &t.by_slot[s->first];
			no->nalarms = s->nalarms;
			t.nns++;
		} else if (s->escalate) {
			s->inc.last_step_ms = now;
			no->inc = &s->inc;
			no->status = "escalated";
			t.nns++;
			a->pend.escalated++;
		}
		core_plan(a, &s->inc);
	}
	/* Every id the batch may need, in one statement. */
	nrcv = deliver_receiver_count(a->dl);
	counts[0] = nnew;
	counts[1] = t.nns;
	counts[2] = t.nns * nrcv;
	if ((ids = calloc(counts[0] + 1, sizeof(*ids))) == NULL ||
	    (nids = calloc(counts[1] + 1, sizeof(*nids))) == NULL ||
	    (dids = calloc(counts[2] + 1, sizeof(*dids))) == NULL)
		goto out;
	into[0] = ids;
	into[1] = nids;
	into[2] = dids;
	if (cs_new_ids3(conn, counts, into) < 0)
		goto out;
	pre = (struct notice_ids){.n = nids, .d = dids, .nn = counts[1],
	    .nd = counts[2]};
	for (size_t i = 0, m = 0; i < t.nslots; i++)
		if (t.slots[i].is_new)
			t.slots[i].inc.id = ids[m++];
	for (size_t j = 0; j < t.nfresh; j++)
		t.fresh[j].incident = t.slots[t.slot_of[t.fresh_of[j]]].inc.id;
	if (notify_prepare(a, conn, t.ns, t.nns, t.all, k, now) < 0)
		goto out;
	if (cs_write_incidents(conn, t.all, k) < 0 ||
	    cs_insert_alarms(conn, t.fresh, t.nfresh) < 0 ||
	    notify_write(a, conn, t.ns, t.nns, &pre, now) < 0)
		goto out;
	for (size_t i = 0; i < t.nslots; i++) {
		struct slot *s = &t.slots[i];
		char det[96];

		if (!s->touched)
			continue;
		snprintf(det, sizeof(det),
		    "{\"from\":\"al.raised\",\"alarms\":%zu}",
		    s->is_new ? s->nalarms : (size_t)s->joined);
		if (core_audit(a, "alarmd",
		        s->is_new ? "incident.opened" : "incident.joined",
		        s->inc.id, det) < 0)
			goto out;
		if (s->is_new)
			a->pend.opened++;
		else
			a->pend.joined += (uint64_t)s->joined;
		core_changed(a, s->inc.id);
	}
	rc = 0;
out:
	free(ids);
	free(nids);
	free(dids);
	intake_free(&t);
	core_intake_clear(a);
	return rc;
}

static enum bus_verdict
alarm_cleared(struct alarmd *a, PGconn *conn, const Anquan__Alarm *m)
{
	int64_t now = alarmd_now_ms(), id = 0;
	struct inc inc;
	int r;

	if ((r = cs_clear_alarm(conn, m->id, m->at_ms, &id)) < 0)
		return BUS_RETRY;
	if (r == 0)
		return BUS_OK; /* not ours, or already cleared */
	if ((r = cs_lock_incident(conn, id, &inc)) <= 0)
		return r < 0 ? BUS_RETRY : BUS_OK;
	if (inc.open_alarms > 0)
		inc.open_alarms--;
	if (inc.open_alarms == 0)
		inc.cleared_ms = now;
	core_plan(a, &inc);
	if (cs_update_incident(conn, &inc) < 0)
		return BUS_RETRY;
	core_changed(a, inc.id);
	return BUS_OK;
}

static enum bus_verdict
on_alarm(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	const Anquan__Alarm *m = msg->env->alarm;

	if (m == NULL)
		return BUS_SKIP;
	if (m->state == ANQUAN__ALARM__STATE__RAISED)
		return intake_add(arg, m);
	if (m->state == ANQUAN__ALARM__STATE__CLEARED)
		return intake_flush(arg, conn) < 0 ? BUS_RETRY
						    : alarm_cleared(arg, conn, m);
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
	if (intake_flush(a, conn) < 0)
		return BUS_RETRY;
	snprintf(cause, sizeof(cause), "warning:%s", w->source);
	if ((found = cs_open_incident(conn, w->uscc, cause, &inc)) < 0)
		return BUS_RETRY;
	if (lvl < a->warning_min) {
		/* Below what makes an incident: an open one is over. */
		if (!found || inc.open_alarms == 0)
			return BUS_OK;
		inc.open_alarms = 0;
		inc.cleared_ms = now;
		core_plan(a, &inc);
		if (cs_update_incident(conn, &inc) < 0)
			return BUS_RETRY;
		core_changed(a, inc.id);
		return BUS_OK;
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
	if (intake_flush(arg, conn) < 0)
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
	int m, rc = -1;

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
	if (cs_write_incidents(conn, all, k) < 0 ||
	    notify_write(a, conn, ns, nns, NULL, now) < 0)
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
		inc.open_alarms = 0;
		inc.cleared_ms = now_ms;
		core_plan(a, &inc);
		if (cs_update_incident(conn, &inc) < 0)
			goto fail;
		core_changed(a, inc.id);
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

/*
 * core_intake - riskd's alarms into incidents, by the set.
 *
 * Raised and cleared alarms are not handled one by one: the consumer's
 * handlers (core.c) gather them (core_intake_add, core_intake_clear_add)
 * and core_intake_flush takes them into incidents together, before the
 * consumer's COMMIT or before any other message that could see their
 * effect (a warning), so their order is kept where it matters.  A batch of
 * hundreds of alarms costs the store about a dozen statements, not a
 * dozen per alarm.  The incidents of a batch are found and locked in one
 * statement, the alarms of those open already added in one, and every new
 * or changed incident written in one; a new incident whose group wait is
 * zero is told at once, its notice built from the alarms in memory.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "deliver.h"
#include "risk.pb-c.h"
#include "strmap.h"

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

struct raised {
	char *id, *point, *kind, *unit, *uscc, *enterprise, *district, *sector;
	char *key; /* uscc "\x1f" cause: its incident's key */
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
	for (size_t i = 0; i < a->ncleared; i++)
		free(a->cleared[i].ref);
	a->ncleared = 0;
}

enum bus_verdict
core_intake_add(struct alarmd *a, const Anquan__Alarm *m)
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

struct intake {
	struct slot *slots;
	size_t nslots;
	struct cs_alarm *old, *fresh; /* alarms of existing / new incidents */
	size_t nold, nfresh;
	size_t *old_of, *fresh_of; /* raised index of each */
	const struct cs_alarm **by_slot;
	struct inc **all;
	struct notice *ns;
	size_t nns;
	int *flap;
	size_t *slot_of;
	struct strmap *keys, *refs;
	const char **pts, **ku, **kc; /* distinct points; keys' uscc, cause */
	size_t npts, *pt_of;
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
	free(t->pts);
	free(t->pt_of);
	free(t->ku);
	free(t->kc);
	strmap_free(t->keys, NULL);
	strmap_free(t->refs, NULL);
}

/* The distinct points of the batch (t->pts) and each alarm's (t->pt_of,
 * 1-based; 0 for none). */
static int
flap_points(struct alarmd *a, struct intake *t)
{
	size_t n = a->nraised;
	struct strmap *m = strmap_new();
	int err = 0;

	if (m == NULL || (t->pts = calloc(n + 1, sizeof(*t->pts))) == NULL ||
	    (t->pt_of = calloc(n + 1, sizeof(*t->pt_of))) == NULL) {
		strmap_free(m, NULL);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *p = a->raised[i].point;
		void *v;

		if (p[0] == '\0')
			continue;
		if ((v = strmap_get(m, p)) == NULL) {
			t->pts[t->npts] = p;
			strmap_put(
			    m, p, (void *)(uintptr_t)(t->npts + 1), &err);
			v = (void *)(uintptr_t)(++t->npts);
		}
		t->pt_of[i] = (size_t)(uintptr_t)v;
	}
	strmap_free(m, NULL);
	return err ? -1 : 0;
}

/* Whether each raised alarm's point is flapping (t->flap[i]): its raises
 * in the window, in the store (q's answer) and earlier in the batch. */
static int
flap_apply(struct alarmd *a, struct intake *t, const struct cs_read *q)
{
	int *counts = calloc(t->npts + 1, sizeof(*counts));

	if (counts == NULL || cs_point_raises_take(q, t->npts, counts) < 0) {
		free(counts);
		return -1;
	}
	for (size_t i = 0; i < a->nraised; i++) {
		if (t->pt_of[i] == 0)
			continue;
		/* This raise counts too, as do those before it. */
		counts[t->pt_of[i] - 1]++;
		t->flap[i] = counts[t->pt_of[i] - 1] >= a->policy.flap_count;
	}
	free(counts);
	return 0;
}
static void
slot_new(struct slot *s, const struct raised *r, int flapping, int64_t now)
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

static void
alarm_of(struct cs_alarm *al, const struct raised *r, int64_t incident)
{
	*al = (struct cs_alarm){.incident = incident,
	    .ref = r->id,
	    .point = r->point,
	    .kind = r->kind,
	    .level = r->level,
	    .value = r->value,
	    .threshold = r->threshold,
	    .has_value = r->has_value,
	    .has_threshold = r->has_threshold,
	    .at_ms = r->started_ms};
}

static int
slot_keys(struct alarmd *a, struct intake *t)
{
	size_t n = a->nraised, nk = 0;
	int err = 0;

	if ((t->ku = calloc(n + 1, sizeof(*t->ku))) == NULL ||
	    (t->kc = calloc(n + 1, sizeof(*t->kc))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct raised *r = &a->raised[i];
		void *v = strmap_get(t->keys, r->key);

		if (v == NULL) {
			t->ku[nk] = r->uscc;
			t->kc[nk] = r->cause;
			strmap_put(
			    t->keys, r->key, (void *)(uintptr_t)(nk + 1), &err);
			v = (void *)(uintptr_t)(++nk);
		}
		t->slot_of[i] = (size_t)(uintptr_t)v - 1;
	}
	if (err || (t->slots = calloc(nk + 1, sizeof(*t->slots))) == NULL)
		return -1;
	t->nslots = nk;
	return 0;
}

/* Put each open incident q found into the slot of its key. */
static int
slot_fill(struct intake *t, struct cs_read *q)
{
	struct inc *found = NULL;
	char key[260];
	int nf;

	if ((nf = cs_open_incidents_take(q, &found)) < 0)
		return -1;
	for (int i = 0; i < nf; i++) {
		void *v;

		snprintf(key, sizeof(key), "%s\x1f%s", found[i].uscc,
		    found[i].cause);
		if ((v = strmap_get(t->keys, key)) == NULL)
			continue;
		t->slots[(uintptr_t)v - 1].inc = found[i];
	}
	free(found);
	return 0;
}
static int
raised_flush(struct alarmd *a, PGconn *conn)
{
	size_t n = a->nraised, nnew = 0, k, nrcv, counts[3], nq = 0;
	int64_t now = alarmd_now_ms();
	struct intake t = {0};
	struct cs_read q[3];
	int qf, qo, qi;
	int64_t *ids = NULL, *nids = NULL, *dids = NULL, *into[3];
	struct notice_ids pre;
	int rc = -1, err = 0, wrc;

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
	/* One round trip for what the batch must know first: the points'
	 * recent raises (flapping), its open incidents (locked), and every
	 * id it may need (one incident, one notice and its deliveries per
	 * key at most; an id not used is a gap in the sequence, no more). */
	nrcv = deliver_receiver_count(a->dl);
	if (slot_keys(a, &t) < 0 || flap_points(a, &t) < 0)
		goto out;
	counts[0] = counts[1] = t.nslots;
	counts[2] = t.nslots * nrcv;
	if ((ids = calloc(counts[0] + 1, sizeof(*ids))) == NULL ||
	    (nids = calloc(counts[1] + 1, sizeof(*nids))) == NULL ||
	    (dids = calloc(counts[2] + 1, sizeof(*dids))) == NULL)
		goto out;
	into[0] = ids;
	into[1] = nids;
	into[2] = dids;
	qf = -1;
	if (a->policy.flap_count > 0 && t.npts > 0) {
		if (cs_point_raises_q(
		        &q[nq], t.pts, t.npts, a->policy.flap_window_ms) < 0)
			goto out_q;
		qf = (int)nq++;
	}
	qo = (int)nq;
	if (cs_open_incidents_q(&q[nq++], t.ku, t.kc, t.nslots) < 0)
		goto out_q;
	qi = (int)nq;
	if (cs_new_ids3_q(&q[nq++], counts) < 0 ||
	    cs_read_pipe(conn, q, nq) < 0 ||
	    (qf >= 0 && flap_apply(a, &t, &q[qf]) < 0) ||
	    slot_fill(&t, &q[qo]) < 0 ||
	    cs_new_ids3_take(&q[qi], counts, into) < 0)
		goto out_q;
	cs_read_free(q, nq);
	nq = 0;
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
			slot_new(s, r, t.flap[i], now);
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
			continue; /* seen already (a replay of the same alarm)
			           */
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
	pre = (struct notice_ids){
	    .n = nids, .d = dids, .nn = counts[1], .nd = counts[2]};
	for (size_t i = 0, m = 0; i < t.nslots; i++)
		if (t.slots[i].is_new)
			t.slots[i].inc.id = ids[m++];
	for (size_t j = 0; j < t.nfresh; j++)
		t.fresh[j].incident = t.slots[t.slot_of[t.fresh_of[j]]].inc.id;
	if (notify_prepare(a, conn, t.ns, t.nns, t.all, k, now) < 0)
		goto out;
	/* The batch's writes in one round trip. */
	cs_defer_begin();
	wrc = cs_write_incidents(conn, t.all, k) < 0 ||
	      cs_insert_alarms(conn, t.fresh, t.nfresh) < 0 ||
	      notify_write(a, conn, t.ns, t.nns, &pre, now) < 0;
	if (cs_defer_end(conn) < 0 || wrc)
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
out_q:
	cs_read_free(q, nq);
out:
	free(ids);
	free(nids);
	free(dids);
	intake_free(&t);
	core_intake_clear(a);
	return rc;
}

/* --- clears ------------------------------------------------------------- */

enum bus_verdict
core_intake_clear_add(struct alarmd *a, const Anquan__Alarm *m)
{
	struct cleared *c;

	if (a->ncleared == a->cleared_cap) {
		size_t cap = a->cleared_cap ? a->cleared_cap * 2 : 256;
		struct cleared *n = realloc(a->cleared, cap * sizeof(*n));

		if (n == NULL)
			return BUS_RETRY;
		a->cleared = n;
		a->cleared_cap = cap;
	}
	c = &a->cleared[a->ncleared];
	if ((c->ref = strdup(m->id)) == NULL)
		return BUS_RETRY;
	c->at_ms = m->at_ms;
	a->ncleared++;
	return BUS_OK;
}

/* The gathered clears: the alarms marked in one statement, their open
 * incidents locked in one, counted down and written back in one.  An
 * alarm not ours, or cleared already, changes nothing. */
static int
cleared_flush(struct alarmd *a, PGconn *conn)
{
	int64_t now = alarmd_now_ms(), *hits = NULL;
	struct inc *incs = NULL, **all = NULL;
	int nh, m = -1, rc = -1;

	if (a->ncleared == 0)
		return 0;
	if ((nh = cs_clear_alarms(conn, a->cleared, a->ncleared, &hits)) < 0)
		goto out;
	if (nh == 0) {
		rc = 0;
		goto out;
	}
	if ((m = cs_lock_incidents(conn, hits, (size_t)nh, &incs)) < 0 ||
	    (all = calloc((size_t)m + 1, sizeof(*all))) == NULL)
		goto out;
	for (int i = 0; i < m; i++) {
		struct inc *inc = &incs[i];

		for (int j = 0; j < nh; j++)
			if (hits[j] == inc->id && inc->open_alarms > 0)
				inc->open_alarms--;
		if (inc->open_alarms == 0)
			inc->cleared_ms = now;
		core_plan(a, inc);
		all[i] = inc;
		core_changed(a, inc->id);
	}
	if (cs_write_incidents(conn, all, (size_t)m) < 0)
		goto out;
	rc = 0;
out:
	free(hits);
	free(incs);
	free(all);
	for (size_t i = 0; i < a->ncleared; i++)
		free(a->cleared[i].ref);
	a->ncleared = 0;
	return rc;
}

int
core_intake_flush(struct alarmd *a, PGconn *conn)
{
	/* Raises first: a clear in the same batch finds its alarm. */
	int rc = raised_flush(a, conn);

	if (cleared_flush(a, conn) < 0)
		rc = -1;
	return rc;
}

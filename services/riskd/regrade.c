/*
 * regrade - grading what changed: hazard-source grades, risk-point
 * grades, source early warnings and enterprise dynamic risk.
 *
 * The pure rules are in grade.c, warning.c and enterprise.c; this file
 * gathers their facts from the model, calls them, and notes in the
 * journal what moved.  The journal's hook calls regrade_dirty() once per
 * transaction, after the batch's handlers, so a burst of alarms on one
 * source is graded once.  Levels are published only when they change; the
 * reasons shown by the API are always the latest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "model_internal.h"
#include "riskd.h"

void
regrade_source(struct riskd *r, struct rk_source *s)
{
	char why[160];

	if (source_grade_compute(&r->rules.source, s->people_500m, s->chem,
	        s->nchem, s->assessed_days, &s->grade, why, sizeof(why)) == 0) {
		s->graded = 1;
		s->error[0] = '\0';
	} else {
		s->graded = 0;
		snprintf(s->error, sizeof(s->error), "%s", why);
	}
	if (!s->grade_pending && rk_vec_push(&r->grade_writes, s) == 0)
		s->grade_pending = 1;
}

void
regrade_rpoint(struct riskd *r, struct rk_rpoint *rp)
{
	char why[160];

	if (risk_point_grade(&r->rules.rpoint, &rp->in, &rp->grade, why,
	        sizeof(why)) == 0) {
		rp->graded = 1;
		rp->error[0] = '\0';
	} else {
		rp->graded = 0;
		snprintf(rp->error, sizeof(rp->error), "%s", why);
	}
	if (!rp->grade_pending && rk_vec_push(&r->rpoint_writes, rp) == 0)
		rp->grade_pending = 1;
}

/* --- source warnings ---------------------------------------------------- */

#define FACT_ALARMS_MAX 256
#define FACT_OPS_MAX 32
#define FACT_MAINT_MAX 16

static int
window_on_source(const struct rk_window *w, const struct rk_source *s)
{
	if (w->npoints == 0 && w->hazard_source == NULL)
		return 1;
	if (w->hazard_source != NULL && strcmp(w->hazard_source, s->code) == 0)
		return 1;
	for (size_t i = 0; i < w->npoints; i++)
		for (size_t j = 0; j < s->points.n; j++)
			if (strcmp(w->points[i],
			        ((struct rk_point *)s->points.v[j])->code) == 0)
				return 1;
	return 0;
}

static void
warn_source(struct riskd *r, struct rk_source *s, int64_t now_ms)
{
	static struct warn_alarm al[FACT_ALARMS_MAX];
	static char ids[FACT_ALARMS_MAX][200];
	struct warn_operation ops[FACT_OPS_MAX];
	struct warn_maintenance mt[FACT_MAINT_MAX];
	struct warn_facts f;
	struct warn_result res;
	size_t na = 0, nop = 0, nm = 0, npoints = 0, noff = 0;

	for (size_t i = 0; i < s->points.n; i++) {
		struct rk_point *p = s->points.v[i];
		const struct alarm_open *o = &p->st.thr;

		if (!p->params.enabled)
			continue;
		npoints++;
		if (p->st.offline.kind != ALARM_NONE)
			noff++;
		if (o->kind == ALARM_NONE || na == FACT_ALARMS_MAX)
			continue;
		alarm_id(ids[na], sizeof(ids[na]), p->code, o->start_ms,
		    (enum alarm_kind)o->kind);
		al[na] = (struct warn_alarm){
		    .kind = (enum alarm_kind)o->kind,
		    .start_ms = o->start_ms,
		    .acked = p->acked_start_ms != 0 &&
			     p->acked_start_ms == o->start_ms,
		    .id = ids[na],
		    .point = p->code,
		    .value = p->st.last_value,
		    .threshold = o->threshold,
		};
		na++;
	}
	for (size_t i = 0; i < s->ops.n && nop < FACT_OPS_MAX; i++) {
		const struct rk_op *op = s->ops.v[i];

		ops[nop++] = (struct warn_operation){
		    op->op_id, op->type, op->level};
	}
	for (size_t i = 0; i < s->ent->windows.n && nm < FACT_MAINT_MAX; i++) {
		const struct rk_window *w = s->ent->windows.v[i];

		if (now_ms >= w->starts_ms && now_ms < w->ends_ms &&
		    window_on_source(w, s))
			mt[nm++] = (struct warn_maintenance){w->reason, w->ends_ms};
	}
	f = (struct warn_facts){
	    .now_ms = now_ms,
	    .grade = s->graded ? s->grade.grade : 0,
	    .alarms = al,
	    .nalarms = na,
	    .raised_ms = s->raised,
	    .nraised = s->nraised,
	    .ops = ops,
	    .nops = nop,
	    .maint = mt,
	    .nmaint = nm,
	    .npoints = npoints,
	    .noffline = noff,
	};
	warn_evaluate(&r->rules.warn, &f, &res);
	if (!s->warned || res.level != s->warn.level) {
		if (!s->warn_pending) {
			s->warn_prev = s->warned ? s->warn.level : LEVEL_BLUE;
			if (rk_vec_push(&r->warn_changes, s) == 0)
				s->warn_pending = 1;
		}
		s->warn_since_ms = now_ms;
		model_mark_ent(r, s->ent);
	}
	s->warn = res;
	s->warned = 1;
	s->next_check_ms = res.next_check_ms;
}

/* --- enterprise risk ---------------------------------------------------- */

static void
ent_fill(struct ent_facts *f, const struct rk_ent *e)
{
	snprintf(f->sector, sizeof(f->sector), "%s", e->sector);
	f->employees = e->employees;
	f->worst_source_grade = 0;
	f->worst_source[0] = '\0';
	for (size_t i = 0; i < e->sources.n; i++) {
		const struct rk_source *s = e->sources.v[i];

		if (!s->graded || !s->grade.major)
			continue;
		if (f->worst_source_grade == 0 ||
		    s->grade.grade < f->worst_source_grade) {
			f->worst_source_grade = s->grade.grade;
			snprintf(f->worst_source, sizeof(f->worst_source), "%s",
			    s->code);
		}
	}
	f->has_risk_point = 0;
	f->worst_risk_point = LEVEL_BLUE;
	f->worst_risk_point_code[0] = '\0';
	for (size_t i = 0; i < e->rpoints.n; i++) {
		const struct rk_rpoint *rp = e->rpoints.v[i];

		if (!rp->graded)
			continue;
		if (!f->has_risk_point || rp->grade.level > f->worst_risk_point) {
			f->worst_risk_point = rp->grade.level;
			snprintf(f->worst_risk_point_code,
			    sizeof(f->worst_risk_point_code), "%s", rp->code);
		}
		f->has_risk_point = 1;
	}
	f->worst_warning = LEVEL_BLUE;
	f->worst_warning_source[0] = '\0';
	for (size_t i = 0; i < e->sources.n; i++) {
		const struct rk_source *s = e->sources.v[i];

		if (s->warned && s->warn.level > f->worst_warning) {
			f->worst_warning = s->warn.level;
			snprintf(f->worst_warning_source,
			    sizeof(f->worst_warning_source), "%s", s->code);
		}
	}
}

static void
grade_ent(struct riskd *r, struct rk_ent *e, int64_t now_ms)
{
	struct ent_risk res;

	ent_fill(&e->facts, e);
	ent_risk_compute(&r->rules.ent, &e->facts, &res);
	if (!e->graded || res.level != e->risk.level) {
		if (!e->risk_pending) {
			e->risk_prev = e->graded ? e->risk.level : LEVEL_BLUE;
			if (rk_vec_push(&r->risk_changes, e) == 0)
				e->risk_pending = 1;
		}
		e->risk_since_ms = now_ms;
	}
	e->risk = res;
	e->graded = 1;
}

int
regrade_dirty(struct riskd *r, PGconn *conn, int64_t now_ms)
{
	struct rk_ent **stale = NULL;
	size_t nstale = 0;

	/* Sources first: their warnings feed their enterprises. */
	for (size_t i = 0; i < r->dirty_sources.n; i++) {
		struct rk_source *s = r->dirty_sources.v[i];

		s->in_dirty = 0;
		warn_source(r, s, now_ms);
	}
	r->dirty_sources.n = 0;
	if (r->dirty_ents.n == 0)
		return 0;
	stale = calloc(r->dirty_ents.n, sizeof(*stale));
	if (stale == NULL)
		return -1;
	for (size_t i = 0; i < r->dirty_ents.n; i++) {
		struct rk_ent *e = r->dirty_ents.v[i];

		if (e->facts_stale || !e->facts_loaded)
			stale[nstale++] = e;
	}
	if (nstale > 0 &&
	    model_load_facts(r, conn, stale, nstale, now_ms) < 0) {
		free(stale);
		return -1;
	}
	free(stale);
	/* model_load_facts marks what it loaded; those are on the list. */
	for (size_t i = 0; i < r->dirty_ents.n; i++) {
		struct rk_ent *e = r->dirty_ents.v[i];

		e->in_dirty = 0;
		grade_ent(r, e, now_ms);
	}
	r->dirty_ents.n = 0;
	return 0;
}

struct due_ctx {
	struct riskd *r;
	int64_t now_ms;
};

static void
due_source(void *s_, void *arg)
{
	struct rk_source *s = s_;
	struct due_ctx *c = arg;

	if (s->next_check_ms > 0 && s->next_check_ms <= c->now_ms)
		model_mark_source(c->r, s);
}

static void
due_ent(void *e_, void *arg)
{
	struct rk_ent *e = e_;
	struct due_ctx *c = arg;
	int64_t prev = c->r->last_due_ms;
	size_t keep = 0;

	if (e->recheck_ms > 0 && e->recheck_ms <= c->now_ms) {
		e->facts_stale = 1;
		model_mark_ent(c->r, e);
	}
	/* A window that began or ended since the last run changes what is
	 * suppressed and the warnings of the sources it covers; an ended
	 * window is forgotten an hour later (late readings still see it). */
	for (size_t i = 0; i < e->windows.n; i++) {
		struct rk_window *w = e->windows.v[i];
		int crossed = (w->starts_ms > prev && w->starts_ms <= c->now_ms) ||
			      (w->ends_ms > prev && w->ends_ms <= c->now_ms);

		if (crossed)
			for (size_t j = 0; j < e->sources.n; j++)
				model_mark_source(c->r, e->sources.v[j]);
		if (w->ends_ms + 3600000 < c->now_ms)
			model_window_free(w);
		else
			e->windows.v[keep++] = w;
	}
	e->windows.n = keep;
}

void
regrade_due(struct riskd *r, int64_t now_ms)
{
	struct due_ctx c = {r, now_ms};

	if (r->last_due_ms == 0)
		r->last_due_ms = now_ms;
	strmap_each(r->sources, due_source, &c);
	strmap_each(r->ents, due_ent, &c);
	r->last_due_ms = now_ms;
}

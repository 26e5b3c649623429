/*
 * model - riskd's registry in memory: points, enterprises, hazard
 * sources, risk points, active operations and maintenance windows, and
 * the links between them.
 *
 * model_store.c reads rows from the store and hands them here; this file
 * owns every struct of the model and keeps the links right when a row
 * changes (a point moving to another source, a source registered after
 * its points).  Whatever changes is marked dirty, so regrade.c grades it
 * again before the transaction commits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model_internal.h"
#include "riskd.h"

static void
point_free(void *p_)
{
	struct rk_point *p = p_;

	free(p->code);
	free(p->source_code);
	free(p);
}

void
model_window_free(struct rk_window *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->npoints; i++)
		free(w->points[i]);
	free(w->points);
	free(w->hazard_source);
	free(w);
}

void
model_drop_windows(struct rk_ent *e)
{
	for (size_t i = 0; i < e->windows.n; i++)
		model_window_free(e->windows.v[i]);
	e->windows.n = 0;
}

static void
ent_free(void *e_)
{
	struct rk_ent *e = e_;

	model_drop_windows(e);
	rk_vec_free(&e->windows);
	rk_vec_free(&e->sources);
	rk_vec_free(&e->rpoints);
	free(e->name);
	free(e);
}

static void
source_free(void *s_)
{
	struct rk_source *s = s_;

	rk_vec_free(&s->points);
	rk_vec_free(&s->ops);
	free(s->code);
	free(s->name);
	free(s->chem);
	free(s);
}

static void
rpoint_free(void *rp_)
{
	struct rk_rpoint *rp = rp_;

	free(rp->key);
	free(rp);
}

static void
op_free(void *op_)
{
	struct rk_op *op = op_;

	free(op->op_id);
	free(op->source_code);
	free(op);
}

int
model_init(struct riskd *r)
{
	r->points = strmap_new();
	r->ents = strmap_new();
	r->sources = strmap_new();
	r->rpoints = strmap_new();
	r->ops = strmap_new();
	if (r->points == NULL || r->ents == NULL || r->sources == NULL ||
	    r->rpoints == NULL || r->ops == NULL)
		return -1;
	return 0;
}

void
model_free(struct riskd *r)
{
	strmap_free(r->points, point_free);
	strmap_free(r->sources, source_free);
	strmap_free(r->rpoints, rpoint_free);
	strmap_free(r->ops, op_free);
	strmap_free(r->ents, ent_free);
	r->points = r->ents = r->sources = r->rpoints = r->ops = NULL;
	r->dirty_points.n = r->dirty_sources.n = r->dirty_ents.n = 0;
	r->nalarms_open = 0;
}

struct rk_ent *
model_ent(struct riskd *r, const char *uscc)
{
	return strmap_get(r->ents, uscc);
}

struct rk_point *
model_point(struct riskd *r, const char *code)
{
	return strmap_get(r->points, code);
}

struct rk_source *
model_source(struct riskd *r, const char *code)
{
	return strmap_get(r->sources, code);
}

void
model_mark_point(struct riskd *r, struct rk_point *p)
{
	if (!p->in_dirty && rk_vec_push(&r->dirty_points, p) == 0)
		p->in_dirty = 1;
}

void
model_mark_source(struct riskd *r, struct rk_source *s)
{
	if (s != NULL && !s->in_dirty && rk_vec_push(&r->dirty_sources, s) == 0)
		s->in_dirty = 1;
}

void
model_mark_ent(struct riskd *r, struct rk_ent *e)
{
	if (e != NULL && !e->in_dirty && rk_vec_push(&r->dirty_ents, e) == 0)
		e->in_dirty = 1;
}

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Link p to the source its row names, if that source is known. */
static void
link_point_source(struct riskd *r, struct rk_point *p)
{
	struct rk_source *s =
	    p->source_code != NULL ? model_source(r, p->source_code) : NULL;

	if (s == p->source)
		return;
	if (p->source != NULL) {
		rk_vec_remove(&p->source->points, p);
		model_mark_source(r, p->source);
	}
	p->source = NULL;
	if (s != NULL && s->ent == p->ent && rk_vec_push(&s->points, p) == 0) {
		p->source = s;
		model_mark_source(r, s);
	}
}

struct rk_point *
model_put_point(struct riskd *r, const struct rk_point_row *row)
{
	struct rk_ent *e = model_ent(r, row->uscc);
	struct rk_point *p;
	int fresh = 0, err;

	if (e == NULL)
		return NULL;
	p = model_point(r, row->code);
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL || (p->code = strdup(row->code)) == NULL) {
			free(p);
			return NULL;
		}
		alarm_state_init(&p->st, row->seen_ms);
		fresh = 1;
	}
	p->ent = e;
	p->kind = (uint8_t)row->def.kind;
	snprintf(p->unit, sizeof(p->unit), "%s", row->def.unit);
	alarm_params_resolve(&row->def, &r->rules.alarm, &p->params, NULL, 0);
	if (p->st.seen_ms < row->seen_ms)
		p->st.seen_ms = row->seen_ms;
	if (!same(p->source_code, row->source_code)) {
		free(p->source_code);
		p->source_code = dup_or_null(row->source_code);
	}
	if (fresh) {
		strmap_put(r->points, p->code, p, &err);
		if (err) {
			point_free(p);
			return NULL;
		}
	}
	link_point_source(r, p);
	if (p->source != NULL)
		model_mark_source(r, p->source);
	return p;
}

struct rk_ent *
model_put_ent(struct riskd *r, const struct rk_ent_row *row)
{
	struct rk_ent *e = model_ent(r, row->uscc);
	int err;

	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return NULL;
		snprintf(e->uscc, sizeof(e->uscc), "%s", row->uscc);
		strmap_put(r->ents, e->uscc, e, &err);
		if (err) {
			free(e);
			return NULL;
		}
		e->facts_stale = 1;
	}
	if (e->name == NULL || strcmp(e->name, row->name) != 0) {
		char *n = strdup(row->name);

		if (n != NULL) {
			free(e->name);
			e->name = n;
		}
	}
	snprintf(e->district, sizeof(e->district), "%s", row->district);
	snprintf(e->sector, sizeof(e->sector), "%s", row->sector);
	e->employees = row->employees;
	model_mark_ent(r, e);
	return e;
}

struct rk_source *
model_put_source(struct riskd *r, const char *code, const char *name,
    struct rk_ent *e, int64_t people_500m, int32_t assessed_days,
    struct chemical *chem, size_t nchem)
{
	struct rk_source *s = model_source(r, code);
	int fresh = 0, err;

	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL || (s->code = strdup(code)) == NULL) {
			free(s);
			free(chem);
			return NULL;
		}
		fresh = 1;
	}
	if (s->ent != e) {
		if (s->ent != NULL) {
			rk_vec_remove(&s->ent->sources, s);
			model_mark_ent(r, s->ent);
		}
		s->ent = e;
		rk_vec_push(&e->sources, s);
	}
	free(s->name);
	s->name = strdup(name);
	s->people_500m = people_500m;
	s->assessed_days = assessed_days;
	free(s->chem);
	s->chem = chem;
	s->nchem = nchem;
	if (fresh) {
		strmap_put(r->sources, s->code, s, &err);
		if (err) {
			rk_vec_remove(&e->sources, s);
			source_free(s);
			return NULL;
		}
	}
	regrade_source(r, s);
	model_mark_source(r, s);
	model_mark_ent(r, e);
	return s;
}

/* A source that arrives after its points: link the points that name it. */
struct link_ctx {
	struct riskd *r;
	const char *code;
};

static void
link_one(void *p_, void *arg)
{
	struct rk_point *p = p_;
	struct link_ctx *c = arg;

	if (p->source == NULL && p->source_code != NULL &&
	    strcmp(p->source_code, c->code) == 0)
		link_point_source(c->r, p);
}

void
model_link_source_points(struct riskd *r, struct rk_source *s)
{
	struct link_ctx c = {r, s->code};

	strmap_each(r->points, link_one, &c);
}

void
model_drop_rpoints(struct riskd *r, struct rk_ent *e)
{
	for (size_t i = 0; i < e->rpoints.n; i++) {
		struct rk_rpoint *rp = e->rpoints.v[i];

		strmap_del(r->rpoints, rp->key);
		rpoint_free(rp);
	}
	e->rpoints.n = 0;
	model_mark_ent(r, e);
}

struct rk_rpoint *
model_put_rpoint(struct riskd *r, struct rk_ent *e, const char *code,
    const char *name, const struct risk_point_in *in)
{
	struct rk_rpoint *rp = calloc(1, sizeof(*rp));
	size_t klen = strlen(e->uscc) + strlen(code) + 2;
	int err;

	if (rp == NULL || (rp->key = malloc(klen)) == NULL) {
		free(rp);
		return NULL;
	}
	snprintf(rp->key, klen, "%s/%s", e->uscc, code);
	snprintf(rp->code, sizeof(rp->code), "%s", code);
	snprintf(rp->name, sizeof(rp->name), "%s", name);
	rp->ent = e;
	rp->in = *in;
	strmap_put(r->rpoints, rp->key, rp, &err);
	if (err || rk_vec_push(&e->rpoints, rp) < 0) {
		if (!err)
			strmap_del(r->rpoints, rp->key);
		rpoint_free(rp);
		return NULL;
	}
	regrade_rpoint(r, rp);
	model_mark_ent(r, e);
	return rp;
}

void
model_drop_op(struct riskd *r, const char *op_id)
{
	struct rk_op *op = strmap_del(r->ops, op_id);

	if (op == NULL)
		return;
	if (op->source != NULL) {
		rk_vec_remove(&op->source->ops, op);
		model_mark_source(r, op->source);
	}
	op_free(op);
}

struct rk_op *
model_put_op(struct riskd *r, const char *op_id, const char *type,
    const char *level, const char *source_code, const char *first_point)
{
	struct rk_op *op;
	int err;

	model_drop_op(r, op_id);
	op = calloc(1, sizeof(*op));
	if (op == NULL || (op->op_id = strdup(op_id)) == NULL) {
		free(op);
		return NULL;
	}
	snprintf(op->type, sizeof(op->type), "%s", type != NULL ? type : "");
	snprintf(op->level, sizeof(op->level), "%s", level != NULL ? level : "");
	if (source_code != NULL) {
		op->source_code = strdup(source_code);
		op->source = model_source(r, source_code);
	} else if (first_point != NULL) {
		/* An operation filed on points runs on their source. */
		struct rk_point *p = model_point(r, first_point);

		if (p != NULL && p->source != NULL) {
			op->source = p->source;
			op->source_code = strdup(p->source->code);
		}
	}
	strmap_put(r->ops, op->op_id, op, &err);
	if (err) {
		op_free(op);
		return NULL;
	}
	if (op->source != NULL) {
		rk_vec_push(&op->source->ops, op);
		model_mark_source(r, op->source);
	}
	return op;
}

int
model_add_window(struct riskd *r, struct rk_ent *e, struct rk_window *w)
{
	if (rk_vec_push(&e->windows, w) < 0) {
		model_window_free(w);
		return -1;
	}
	/* The sources it covers change their warning facts. */
	for (size_t i = 0; i < e->sources.n; i++)
		model_mark_source(r, e->sources.v[i]);
	return 0;
}

static int
window_covers(const struct rk_window *w, const struct rk_point *p)
{
	if (w->npoints == 0 && w->hazard_source == NULL)
		return 1; /* the whole enterprise */
	if (w->hazard_source != NULL && p->source_code != NULL &&
	    strcmp(w->hazard_source, p->source_code) == 0)
		return 1;
	for (size_t i = 0; i < w->npoints; i++)
		if (strcmp(w->points[i], p->code) == 0)
			return 1;
	return 0;
}

int
model_point_suppressed(const struct rk_point *p, int64_t ts_ms)
{
	const struct rk_ent *e = p->ent;

	for (size_t i = 0; i < e->windows.n; i++) {
		const struct rk_window *w = e->windows.v[i];

		if (ts_ms >= w->starts_ms && ts_ms < w->ends_ms &&
		    window_covers(w, p))
			return 1;
	}
	return 0;
}

void
model_note_raise(struct rk_source *s, int64_t start_ms, int64_t keep_ms)
{
	size_t drop = 0;

	/* Forget what left the longest window, and the oldest when full. */
	while (drop < s->nraised && s->raised[drop] <= start_ms - keep_ms)
		drop++;
	if (s->nraised - drop == RK_RAISED_MAX)
		drop++;
	if (drop > 0) {
		memmove(s->raised, s->raised + drop,
		    (s->nraised - drop) * sizeof(s->raised[0]));
		s->nraised -= drop;
	}
	s->raised[s->nraised++] = start_ms;
}

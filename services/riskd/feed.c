/*
 * feed - riskd's bus handlers: readings into alarms, events into reloads,
 * and the offline check.
 *
 * The consumer (common/bus_consumer.c) calls these inside its open
 * transaction.  A readings batch runs each point's alarm state machine
 * (alarm.c) and puts what changed in the journal; the journal is written
 * before the transaction commits (journal.c), so nothing here touches the
 * store except to read the rows an event names.  A reading of a point the
 * model does not know yet (its point.upsert still on the way) loads the
 * point from the store first: ingestd only publishes readings of
 * registered points.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bus.h"
#include "log.h"
#include "metrics.h"
#include "model_internal.h"
#include "riskd.h"
#include "store.h"
#include "timeutil.h"

/* --- alarm changes ------------------------------------------------------ */

void
feed_apply_changes(struct riskd *r, struct rk_point *p,
    const struct alarm_change *ch, size_t n)
{
	int64_t keep = warn_rules_window_ms(&r->rules.warn);

	for (size_t i = 0; i < n; i++) {
		journal_add_alarm(r, p, &ch[i]);
		switch (ch[i].what) {
		case ALARM_RAISED:
			metrics_inc(r->m.raised);
			r->nalarms_open++;
			if (p->source != NULL &&
			    alarm_kind_is_threshold(ch[i].kind) && keep > 0)
				model_note_raise(p->source, ch[i].start_ms, keep);
			break;
		case ALARM_CLEARED:
			metrics_inc(r->m.cleared);
			if (r->nalarms_open > 0)
				r->nalarms_open--;
			break;
		case ALARM_SUPPRESSED:
			metrics_inc(r->m.suppressed);
			break;
		}
	}
	if (n > 0 && p->source != NULL)
		model_mark_source(r, p->source);
	metrics_set(r->m.open, (double)r->nalarms_open);
}

/* Mark p for a state write: always when its durable part changed, else
 * when its newest reading was last written long enough ago. */
static void
note_state(struct riskd *r, struct rk_point *p, int durable)
{
	if (durable) {
		p->state_dirty = 1;
		model_mark_point(r, p);
	} else if (!p->in_dirty &&
	    p->st.last_ts_ms - p->flushed_ms >= r->rules.state_flush_ms &&
	    r->flush_budget > 0) {
		r->flush_budget--;
		model_mark_point(r, p);
	}
}

static int
quality_of(const Anquan__Reading *rd)
{
	switch (rd->quality) {
	case ANQUAN__READING__QUALITY__BAD:
		return 1;
	case ANQUAN__READING__QUALITY__MAINTENANCE:
		return 2;
	default:
		return 0;
	}
}

static void
evaluate(struct riskd *r, struct rk_point *p, const Anquan__Reading *rd)
{
	struct alarm_change ch[ALARM_CHANGES_MAX];
	struct alarm_reading ar;
	int64_t s_h = p->st.since_h, s_hh = p->st.since_hh;
	int64_t s_l = p->st.since_l, s_ll = p->st.since_ll;
	uint8_t s_sup = p->st.suppressed_kind;
	int sup;
	size_t n;

	if (rd->ts_ms <= p->st.last_ts_ms) {
		metrics_inc(r->m.stale);
		return;
	}
	ar.ts_ms = rd->ts_ms;
	ar.has_value = !rd->no_value && isfinite(rd->value);
	ar.value = ar.has_value ? rd->value : NAN;
	ar.quality = quality_of(rd);
	sup = p->ent->windows.n > 0 ? model_point_suppressed(p, rd->ts_ms) : 0;
	n = alarm_on_reading(&p->params, &p->st, &ar, sup, ch);
	if (n > 0)
		feed_apply_changes(r, p, ch, n);
	note_state(r, p,
	    s_h != p->st.since_h || s_hh != p->st.since_hh ||
	        s_l != p->st.since_l || s_ll != p->st.since_ll ||
	        s_sup != p->st.suppressed_kind);
}

static enum bus_verdict
on_readings(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	struct riskd *r = arg;
	const Anquan__ReadingBatch *b = msg->env->readings;
	const char **missing = NULL;
	size_t nmissing = 0;
	int64_t t0 = timeutil_mono_us();

	if (b == NULL)
		return BUS_SKIP;
	for (size_t i = 0; i < b->n_readings; i++)
		if (model_point(r, b->readings[i]->point) == NULL) {
			if (missing == NULL &&
			    (missing = calloc(b->n_readings, sizeof(*missing))) ==
			        NULL)
				return BUS_RETRY;
			missing[nmissing++] = b->readings[i]->point;
		}
	if (nmissing > 0) {
		int rc = model_reload_points(r, conn, missing, nmissing);

		free(missing);
		if (rc < 0)
			return BUS_RETRY;
	}
	for (size_t i = 0; i < b->n_readings; i++) {
		struct rk_point *p = model_point(r, b->readings[i]->point);

		if (p == NULL) {
			metrics_inc(r->m.unknown);
			continue;
		}
		evaluate(r, p, b->readings[i]);
	}
	metrics_add(r->m.readings, b->n_readings);
	metrics_observe(r->m.eval_seconds,
	    (double)(timeutil_mono_us() - t0) / 1e6);
	return BUS_OK;
}

/* --- events ------------------------------------------------------------- */

/* A set of keys (copied), to reload in one statement per kind. */
struct keys {
	char **v;
	size_t n, cap;
};

static int
keys_add(struct keys *k, const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i], s) == 0)
			return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		char **nv = realloc(k->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		k->v = nv;
		k->cap = cap;
	}
	if ((k->v[k->n] = strdup(s)) == NULL)
		return -1;
	k->n++;
	return 0;
}

static void
keys_free(struct keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
}

struct wanted {
	struct keys ents, facts, points, sources, rpoints, ops, windows,
	    hazards, accidents;
};

static const char *
field(const cJSON *data, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
want_event(struct wanted *w, const char *kind, const cJSON *data)
{
	const char *uscc = field(data, "uscc");

	if (strcmp(kind, "enterprise.upsert") == 0)
		return keys_add(&w->ents, uscc);
	if (strcmp(kind, "point.upsert") == 0)
		return keys_add(&w->ents, uscc) |
		       keys_add(&w->points, field(data, "code"));
	if (strcmp(kind, "hazard_source.upsert") == 0)
		return keys_add(&w->ents, uscc) |
		       keys_add(&w->sources, field(data, "code"));
	if (strcmp(kind, "risk_point.upsert") == 0)
		return keys_add(&w->rpoints, uscc);
	if (strcmp(kind, "hazard.reported") == 0 ||
	    strcmp(kind, "director.appointed") == 0 ||
	    strcmp(kind, "resplist.uploaded") == 0)
		return keys_add(&w->facts, uscc);
	if (strcmp(kind, "hazard.rectified") == 0 ||
	    strcmp(kind, "hazard.verified") == 0)
		return keys_add(&w->hazards, field(data, "hazard_id"));
	if (strncmp(kind, "operation.", 10) == 0)
		return keys_add(&w->ops, field(data, "op_id"));
	if (strcmp(kind, "maintenance.window") == 0)
		return keys_add(&w->windows, uscc);
	if (strncmp(kind, "accident.", 9) == 0)
		return keys_add(&w->facts, uscc) |
		       keys_add(&w->accidents, field(data, "accident_id"));
	return 0;
}

static const char SQL_HAZARD_USCC[] =
    "SELECT DISTINCT uscc FROM hazards WHERE hazard_id = ANY($1)";
static const char SQL_ACCIDENT_USCC[] =
    "SELECT DISTINCT uscc FROM accidents "
    "WHERE accident_id = ANY($1) AND uscc IS NOT NULL";

/* Turn hazard or accident ids into the enterprises they belong to. */
static int
owners(PGconn *conn, const char *sql, const struct keys *ids,
    struct keys *out)
{
	char *arr;
	const char *params[1];
	PGresult *res;
	int rc = 0;

	if (ids->n == 0)
		return 0;
	if ((arr = store_text_array((const char *const *)ids->v, ids->n)) == NULL)
		return -1;
	params[0] = arr;
	res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
	free(arr);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = -1;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++)
		rc = keys_add(out, PQgetvalue(res, i, 0));
	PQclear(res);
	return rc;
}

static int
apply_wanted(struct riskd *r, PGconn *conn, struct wanted *w)
{
#define KEYS(k) ((const char *const *)(k).v), (k).n
	if (w->ents.n > 0 && model_reload_ents(r, conn, KEYS(w->ents)) < 0)
		return -1;
	if (w->sources.n > 0 &&
	    model_reload_sources(r, conn, KEYS(w->sources)) < 0)
		return -1;
	if (w->points.n > 0 && model_reload_points(r, conn, KEYS(w->points)) < 0)
		return -1;
	if (w->rpoints.n > 0 &&
	    model_reload_rpoints(r, conn, KEYS(w->rpoints)) < 0)
		return -1;
	if (w->ops.n > 0 && model_reload_ops(r, conn, KEYS(w->ops)) < 0)
		return -1;
	if (w->windows.n > 0 &&
	    model_reload_windows(r, conn, KEYS(w->windows)) < 0)
		return -1;
	if (owners(conn, SQL_HAZARD_USCC, &w->hazards, &w->facts) < 0 ||
	    owners(conn, SQL_ACCIDENT_USCC, &w->accidents, &w->facts) < 0)
		return -1;
	for (size_t i = 0; i < w->facts.n; i++) {
		struct rk_ent *e = model_ent(r, w->facts.v[i]);

		if (e != NULL) {
			e->facts_stale = 1;
			model_mark_ent(r, e);
		}
	}
	return 0;
#undef KEYS
}

static enum bus_verdict
on_events(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	struct riskd *r = arg;
	const Anquan__EventBatch *b = msg->env->events;
	struct wanted w;
	int rc = 0;

	if (b == NULL)
		return BUS_SKIP;
	memset(&w, 0, sizeof(w));
	for (size_t i = 0; rc == 0 && i < b->n_events; i++) {
		const Anquan__Event *ev = b->events[i];
		cJSON *data;

		if (ev->data_case != ANQUAN__EVENT__DATA_JSON)
			continue;
		if ((data = cJSON_Parse(ev->json)) == NULL)
			continue; /* ingestd validated it; nothing to act on */
		rc = want_event(&w, ev->kind, data) != 0 ? -1 : 0;
		cJSON_Delete(data);
	}
	metrics_add(r->m.events, b->n_events);
	if (rc == 0)
		rc = apply_wanted(r, conn, &w);
	keys_free(&w.ents);
	keys_free(&w.facts);
	keys_free(&w.points);
	keys_free(&w.sources);
	keys_free(&w.rpoints);
	keys_free(&w.ops);
	keys_free(&w.windows);
	keys_free(&w.hazards);
	keys_free(&w.accidents);
	return rc == 0 ? BUS_OK : BUS_RETRY;
}

const struct bus_handler feed_handlers[] = {
	{ANQUAN__ENVELOPE__PAYLOAD_READINGS, on_readings},
	{ANQUAN__ENVELOPE__PAYLOAD_EVENTS, on_events},
	{ANQUAN__ENVELOPE__PAYLOAD_NOTIFICATION, ack_on_notification},
	{0, NULL},
};

/* --- offline ------------------------------------------------------------ */

struct offline_ctx {
	struct riskd *r;
	int64_t now_ms;
};

static int
offline_due(const struct rk_point *p, int64_t now_ms)
{
	int64_t base = p->st.last_ts_ms > p->st.seen_ms ? p->st.last_ts_ms
							 : p->st.seen_ms;

	return p->params.offline_after_ms > 0 &&
	       p->st.offline.kind == ALARM_NONE &&
	       now_ms - base >= p->params.offline_after_ms;
}

static void
check_one(struct riskd *r, struct rk_point *p, int64_t now_ms)
{
	struct alarm_change ch[ALARM_CHANGES_MAX];
	uint8_t s_sup = p->st.suppressed_kind;
	int sup = p->ent->windows.n > 0 ? model_point_suppressed(p, now_ms) : 0;
	size_t n = alarm_check_offline(&p->params, &p->st, now_ms, sup, ch);

	if (n > 0)
		feed_apply_changes(r, p, ch, n);
	if (s_sup != p->st.suppressed_kind)
		note_state(r, p, 1);
}

static void
offline_one(void *p_, void *arg)
{
	struct rk_point *p = p_;
	struct offline_ctx *c = arg;

	if (offline_due(p, c->now_ms))
		check_one(c->r, p, c->now_ms);
}

void
feed_check_offline(struct riskd *r, int64_t now_ms)
{
	struct offline_ctx c = {r, now_ms};

	strmap_each(r->points, offline_one, &c);
}

/*
 * api - riskd's HTTP API: what riskd knows, read by consoles and systems.
 *
 *   GET /v1/points/{code}            a monitoring point: its parameters as
 *                                    resolved, its state and open alarms
 *   GET /v1/alarms                   alarms from the store, newest first
 *                                    (open, suppressed, uscc, district,
 *                                    point, kind, limit)
 *   GET /v1/sources/{code}           a major hazard source: grade, what it
 *                                    was computed from, early warning
 *   GET /v1/risk-points/{code}       a risk point's LEC / LS grade (uscc=
 *                                    picks the enterprise: codes are unique
 *                                    per enterprise only)
 *   GET /v1/enterprises/{uscc}/risk  an enterprise's dynamic risk
 *
 * main.c registers api_routes and calls api_set() with the daemon's struct
 * riskd before the loop runs; the handlers run on the loop's thread, so
 * they read the model (riskd.h) directly, between two bus transactions,
 * and change nothing of it.  Only the alarm list goes to the store (the
 * model keeps the open alarms only), through api_store.c on the daemon's
 * connection; while the store is away it is a 503 with Retry-After, as are
 * the model routes while the model is being (re)loaded.
 *
 * The alarm list's flags: open=1 is what is raised and not cleared now
 * (never a suppressed record), open=0 what is cleared; suppressed=1 only
 * the records of what a disabled point or one in a maintenance window
 * would have raised, suppressed=0 none of them; absent, no filter.  The
 * answer is {"alarms":[...],"count":n,"more":bool}: count is the number
 * listed, more says that limit cut the list.  The routes need no token:
 * riskd listens on the loopback by default and keeps no token registry.
 *
 * Every query parameter is checked before anything is read, with the
 * checks ingestd's read routes use (common/http_param.c): one the route
 * does not take, one given twice or a bad value is a 400 "bad_parameter"
 * whose message names it.  Times are RFC
 * 3339 in the city's +08:00, printed as PostgreSQL prints a timestamptz
 * (the fraction only when not zero), so the model's times and the store's
 * look alike; epoch ms 0 is null, as is a number that is absent (NaN).
 * Answers are written with json_out; nothing allocated outlives a handler.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api_store.h"
#include "http_param.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "riskd.h"
#include "timeutil.h"

/* Longest monitoring point code (points.code in 0002_registry.sql). */
#define POINT_CODE_MAX_CHARS 128
/* Enterprises named in a 409 for an ambiguous risk point code. */
#define AMBIGUOUS_SHOWN 16

static struct riskd *api_r;

void
api_set(struct riskd *r)
{
	api_r = r;
}

/* --- parameters ---------------------------------------------------------- */

/* A point code as points.code allows: 1..128 characters, no space (the
 * dispatcher has refused control characters and invalid UTF-8). */
static int
param_point(struct http_req *r, const char **out, char *why, size_t whysize)
{
	const char *v = http_req_query(r, "point");
	size_t chars = 0;
	char sb[80];

	*out = NULL;
	if (v == NULL)
		return 0;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t')
			chars = POINT_CODE_MAX_CHARS + 1;
		if (((unsigned char)*p & 0xc0) != 0x80)
			chars++;
	}
	if (chars == 0 || chars > POINT_CODE_MAX_CHARS) {
		snprintf(why, whysize,
		    "parameter 'point' must be a monitoring point code of 1 "
		    "to %d characters without spaces; got '%s'",
		    POINT_CODE_MAX_CHARS, http_param_shown(v, sb, sizeof(sb)));
		return -1;
	}
	*out = v;
	return 0;
}

/* --- answers ------------------------------------------------------------- */

/*
 * The model routes answer only from a model that matches the store: not
 * before the first load, nor between a failed transaction and the reload.
 * Returns 1 when it answered 503.
 */
static int
model_unready(struct http_req *r)
{
	if (api_r != NULL && api_r->loaded && !api_r->need_reload)
		return 0;
	http_set_retry_after(r, 1);
	http_reply_error(r, 503, "not_ready",
	    "riskd is loading its model from the store; ask again shortly");
	return 1;
}

/* Send w, or a 500 when memory ran out while writing it. */
static void
reply_out(struct http_req *r, int status, struct json_out *w)
{
	if (json_out_failed(w)) {
		log_error("api.oom", "id=%s path=%s", http_req_id(r),
		    http_req_path(r));
		http_reply_error(r, 500, "out_of_memory",
		    "riskd ran out of memory writing the answer");
	} else
		http_reply_json(r, status, w);
	json_out_free(w);
}

/* --- JSON pieces --------------------------------------------------------- */

/*
 * Epoch ms as RFC 3339 in city time the way PostgreSQL prints a
 * timestamptz in Asia/Shanghai ("2026-11-29T08:00:00+08:00", a fraction
 * only when not zero, without trailing zeros); null for 0.
 */
static void
out_time(struct json_out *w, const char *key, int64_t ms)
{
	char buf[TIMEUTIL_RFC3339_SIZE];
	char *frac = buf + 19; /* ".mmm" */
	int keep = 3;

	json_out_key(w, key);
	if (ms == 0 || timeutil_format_rfc3339(ms, buf, sizeof(buf)) == 0) {
		json_out_null(w);
		return;
	}
	while (keep > 0 && frac[keep] == '0')
		keep--;
	memmove(
	    frac + (keep > 0 ? keep + 1 : 0), frac + 4, strlen(frac + 4) + 1);
	json_out_str(w, buf);
}

/* Days since 1970-01-01 as YYYY-MM-DD. */
static void
out_date(struct json_out *w, const char *key, int64_t days)
{
	char buf[TIMEUTIL_DATE_SIZE];

	json_out_key(w, key);
	if (timeutil_format_date(days, buf, sizeof(buf)) == 0)
		json_out_null(w);
	else
		json_out_str(w, buf);
}

/* A string that may be empty: "" is null. */
static void
out_text(struct json_out *w, const char *key, const char *s)
{
	json_out_kv_str(w, key, s != NULL && s[0] != '\0' ? s : NULL);
}

/* uscc, enterprise (its name) and district of the owning enterprise. */
static void
out_owner(struct json_out *w, const struct rk_ent *e)
{
	json_out_kv_str(w, "uscc", e != NULL ? e->uscc : NULL);
	json_out_kv_str(w, "enterprise", e != NULL ? e->name : NULL);
	json_out_kv_str(w, "district", e != NULL ? e->district : NULL);
}

static const char *
quality_name(int q)
{
	switch (q) {
	case 0:
		return "good";
	case 1:
		return "bad";
	case 2:
		return "maintenance";
	}
	return "unknown";
}

/* --- GET /v1/points/{code} ----------------------------------------------- */

/*
 * One word for the point now, the first that holds: disabled, suppressed
 * (a maintenance window covers it), offline, fault, alarm, normal.
 */
static const char *
point_state(const struct rk_point *p, int64_t now_ms)
{
	if (!p->params.enabled)
		return "disabled";
	if (model_point_suppressed(p, now_ms))
		return "suppressed";
	if (p->st.offline.kind != ALARM_NONE)
		return "offline";
	if (p->st.fault.kind != ALARM_NONE)
		return "fault";
	if (p->st.thr.kind != ALARM_NONE)
		return "alarm";
	return "normal";
}

static void
out_open_alarm(
    struct json_out *w, const struct rk_point *p, const struct alarm_open *a)
{
	char id[640];

	if (a->kind == ALARM_NONE)
		return;
	json_out_obj_open(w);
	json_out_kv_str(w, "id",
	    alarm_id(id, sizeof(id), p->code, a->start_ms,
	        (enum alarm_kind)a->kind) >= 0
	        ? id
	        : NULL);
	json_out_kv_str(w, "kind", alarm_kind_name((enum alarm_kind)a->kind));
	out_time(w, "started_at", a->start_ms);
	json_out_kv_double(w, "value", a->value);
	json_out_kv_double(w, "threshold", a->threshold);
	json_out_kv_double(w, "peak", a->peak);
	json_out_obj_close(w);
}

static void
get_point(struct http_req *r, void *arg)
{
	static const char *const names[] = {NULL};
	const char *code = http_req_param(r, "code");
	const struct rk_point *p;
	const struct alarm_params *pp;
	struct json_out w;
	char why[HTTP_PARAM_WHY_SIZE], sb[80];

	(void)arg;
	if (http_param_known(r, names, why, sizeof(why)) != 0) {
		http_param_refuse(r, "api.refused", why);
		return;
	}
	if (model_unready(r))
		return;
	if ((p = model_point(api_r, code)) == NULL) {
		http_reply_error(r, 404, "not_found",
		    "no monitoring point '%s' is registered (point.upsert adds "
		    "it)",
		    http_param_shown(code, sb, sizeof(sb)));
		return;
	}
	pp = &p->params;
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_str(&w, "code", p->code);
	out_owner(&w, p->ent);
	json_out_kv_str(&w, "kind", point_kind_name((enum point_kind)p->kind));
	json_out_kv_str(&w, "unit", p->unit);
	json_out_kv_str(&w, "hazard_source", p->source_code);
	json_out_kv_bool(&w, "enabled", pp->enabled != 0);
	json_out_key(&w, "thresholds");
	json_out_obj_open(&w);
	json_out_kv_double(&w, "ll", pp->ll);
	json_out_kv_double(&w, "l", pp->l);
	json_out_kv_double(&w, "h", pp->h);
	json_out_kv_double(&w, "hh", pp->hh);
	json_out_obj_close(&w);
	json_out_key(&w, "range");
	json_out_obj_open(&w);
	json_out_kv_double(&w, "lo", pp->range_lo);
	json_out_kv_double(&w, "hi", pp->range_hi);
	json_out_obj_close(&w);
	json_out_kv_double(&w, "deadband", pp->deadband);
	json_out_kv_double(&w, "delay_s", (double)pp->delay_ms / 1000.0);
	json_out_kv_double(
	    &w, "offline_after_s", (double)pp->offline_after_ms / 1000.0);
	json_out_kv_bool(&w, "defaulted", pp->defaulted != 0);
	json_out_kv_bool(&w, "no_thresholds", pp->no_thresholds != 0);
	json_out_kv_str(&w, "state", point_state(p, riskd_now_ms()));
	json_out_key(&w, "last");
	if (p->st.last_ts_ms == 0)
		json_out_null(&w);
	else {
		json_out_obj_open(&w);
		out_time(&w, "ts", p->st.last_ts_ms);
		json_out_kv_double(&w, "value", p->st.last_value);
		json_out_kv_str(
		    &w, "quality", quality_name(p->st.last_quality));
		json_out_obj_close(&w);
	}
	/* In the order of the state words: offline, fault, threshold. */
	json_out_key(&w, "open_alarms");
	json_out_arr_open(&w);
	out_open_alarm(&w, p, &p->st.offline);
	out_open_alarm(&w, p, &p->st.fault);
	out_open_alarm(&w, p, &p->st.thr);
	json_out_arr_close(&w);
	json_out_obj_close(&w);
	reply_out(r, 200, &w);
}

/* --- GET /v1/alarms ------------------------------------------------------ */

static void
get_alarms(struct http_req *r, void *arg)
{
	static const char *const names[] = {"open", "suppressed", "uscc",
	    "district", "point", "kind", "limit", NULL};
	static const char *const kinds[] = {
	    "H", "HH", "L", "LL", "offline", "fault", NULL};
	struct api_alarm_filter f = {0};
	long limit = API_ALARMS_LIMIT_DEFAULT;
	struct store_err err;
	const char *json = NULL;
	PGresult *res = NULL;
	char why[HTTP_PARAM_WHY_SIZE], q[300];

	(void)arg;
	if (http_param_known(r, names, why, sizeof(why)) != 0 ||
	    http_param_flag(r, "open", &f.open, why, sizeof(why)) != 0 ||
	    http_param_flag(r, "suppressed", &f.suppressed, why, sizeof(why)) !=
	        0 ||
	    http_param_uscc(r, "uscc", &f.uscc, why, sizeof(why)) != 0 ||
	    http_param_district(r, "district", NULL, NULL, &f.district, why,
	        sizeof(why)) != 0 ||
	    param_point(r, &f.point, why, sizeof(why)) != 0 ||
	    http_param_enum(r, "kind", kinds, &f.kind, why, sizeof(why)) != 0 ||
	    http_param_int(r, "limit", 1, API_ALARMS_LIMIT_MAX, &limit, why,
	        sizeof(why)) != 0) {
		http_param_refuse(r, "api.refused", why);
		return;
	}
	f.limit = (int)limit;
	if (f.open == 1 && f.suppressed == 1) {
		/* Said rather than answered with an always empty list. */
		http_param_refuse(r, "api.refused",
		    "parameters 'open=1' and 'suppressed=1' exclude each "
		    "other: a suppressed record is never open (it is closed "
		    "when written); ask for one or the other");
		return;
	}
	if (api_r == NULL || api_r->st == NULL) {
		http_set_retry_after(r, 1);
		http_reply_error(r, 503, "not_ready", "riskd is starting");
		return;
	}
	if (api_store_alarms(api_r->st, &f, &res, &json, &err) == 0) {
		http_reply_text(r, 200, "application/json; charset=utf-8", json,
		    strlen(json));
		PQclear(res);
		return;
	}
	log_warn("api.alarms_failed", "id=%s sqlstate=%s error=%s",
	    http_req_id(r), err.sqlstate, log_quote(q, sizeof(q), err.msg));
	if (err.kind == STORE_ERR_CONN) {
		http_set_retry_after(r, 1);
		http_reply_error(r, 503, "store_unavailable",
		    "the store is out of reach; ask again shortly");
	} else if (strcmp(err.sqlstate, "57014") == 0) {
		http_set_retry_after(r, 1);
		http_reply_error(r, 503, "too_slow",
		    "the list ran longer than %d ms and was stopped; narrow it "
		    "with filters or a smaller limit",
		    API_STATEMENT_TIMEOUT_MS);
	} else if (strcmp(err.sqlstate, "42P01") == 0 ||
	           strcmp(err.sqlstate, "42703") == 0) {
		http_reply_error(r, 503, "schema_outdated",
		    "the store's schema lacks what the list reads (%s): the "
		    "operator should run safetyctl migrate",
		    err.msg);
	} else {
		http_reply_error(r, 500, "store_error",
		    "the store could not answer: %s", err.msg);
	}
}

/* --- GET /v1/sources/{code} ---------------------------------------------- */

static void
out_warning(struct json_out *w, const struct rk_source *s)
{
	char name[64];

	json_out_key(w, "warning");
	if (!s->warned) {
		json_out_null(w);
		return;
	}
	json_out_obj_open(w);
	json_out_kv_str(w, "level", level_name(s->warn.level));
	snprintf(name, sizeof(name), "%s预警", level_colour_zh(s->warn.level));
	json_out_kv_str(w, "level_name", name);
	out_time(w, "since", s->warn_since_ms);
	json_out_key(w, "reasons");
	json_out_arr_open(w);
	for (size_t i = 0; i < s->warn.nreasons && i < WARN_REASONS_MAX; i++) {
		const struct warn_reason *wr = &s->warn.reason[i];

		json_out_obj_open(w);
		json_out_kv_str(w, "level", level_name(wr->level));
		json_out_kv_str(w, "rule", warn_rule_name(wr->rule));
		json_out_kv_str(w, "text", wr->text);
		json_out_obj_close(w);
	}
	json_out_arr_close(w);
	json_out_obj_close(w);
}

static void
get_source(struct http_req *r, void *arg)
{
	static const char *const names[] = {NULL};
	const char *code = http_req_param(r, "code");
	const struct rk_source *s;
	const struct source_grade *g;
	struct json_out w;
	char why[HTTP_PARAM_WHY_SIZE], sb[80];
	size_t offline = 0;

	(void)arg;
	if (http_param_known(r, names, why, sizeof(why)) != 0) {
		http_param_refuse(r, "api.refused", why);
		return;
	}
	if (model_unready(r))
		return;
	if ((s = model_source(api_r, code)) == NULL) {
		http_reply_error(r, 404, "not_found",
		    "no major hazard source '%s' is registered "
		    "(hazard_source.upsert adds it)",
		    http_param_shown(code, sb, sizeof(sb)));
		return;
	}
	g = &s->grade;
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_str(&w, "code", s->code);
	json_out_kv_str(&w, "name", s->name);
	out_owner(&w, s->ent);
	json_out_kv_int(&w, "people_500m", s->people_500m);
	json_out_kv_double(&w, "alpha", s->graded ? g->alpha : NAN);
	json_out_key(&w, "chemicals");
	json_out_arr_open(&w);
	for (size_t i = 0; i < s->nchem; i++) {
		const struct chemical *c = &s->chem[i];

		json_out_obj_open(&w);
		json_out_kv_str(&w, "name", c->name);
		json_out_kv_double(&w, "q", c->q);
		json_out_kv_double(&w, "Q", c->Q);
		json_out_kv_double(&w, "beta", c->beta);
		json_out_kv_double(
		    &w, "q_over_Q", c->Q > 0 ? c->q / c->Q : NAN);
		json_out_obj_close(&w);
	}
	json_out_arr_close(&w);
	json_out_kv_double(&w, "s", s->graded ? g->s : NAN);
	json_out_kv_double(&w, "r", s->graded ? g->r : NAN);
	json_out_key(&w, "major");
	if (s->graded)
		json_out_bool(&w, g->major != 0);
	else
		json_out_null(&w);
	json_out_key(&w, "grade");
	if (s->graded)
		json_out_int(&w, g->grade);
	else
		json_out_null(&w);
	out_text(
	    &w, "grade_name", s->graded ? source_grade_zh(g->grade) : NULL);
	out_date(&w, "assessed_on", s->assessed_days);
	out_date(&w, "reassess_due",
	    s->graded ? g->reassess_due_days
	              : days_add_months(s->assessed_days,
	                    api_r->rules.source.reassess_months));
	out_text(&w, "error", s->graded ? NULL : s->error);
	out_warning(&w, s);
	for (size_t i = 0; i < s->points.n; i++) {
		const struct rk_point *p = s->points.v[i];

		if (p->st.offline.kind != ALARM_NONE)
			offline++;
	}
	json_out_kv_int(&w, "points", (int64_t)s->points.n);
	json_out_kv_int(&w, "points_offline", (int64_t)offline);
	json_out_key(&w, "active_operations");
	json_out_arr_open(&w);
	for (size_t i = 0; i < s->ops.n; i++) {
		const struct rk_op *op = s->ops.v[i];

		json_out_obj_open(&w);
		json_out_kv_str(&w, "op_id", op->op_id);
		json_out_kv_str(&w, "type", op->type);
		out_text(&w, "level", op->level);
		json_out_obj_close(&w);
	}
	json_out_arr_close(&w);
	json_out_obj_close(&w);
	reply_out(r, 200, &w);
}

/* --- GET /v1/risk-points/{code} ------------------------------------------ */

/* The risk points of one code across enterprises, the first few by USCC. */
struct rp_matches {
	const char *code;
	size_t n; /* all matches */
	const struct rk_rpoint *shown[AMBIGUOUS_SHOWN];
	size_t nshown;
};

static void
rp_match(void *value, void *arg)
{
	const struct rk_rpoint *rp = value;
	struct rp_matches *m = arg;
	size_t at;

	if (strcmp(rp->code, m->code) != 0)
		return;
	m->n++;
	/* Keep the AMBIGUOUS_SHOWN smallest USCCs, sorted: the answer is
	 * the same whatever order the map walks in. */
	for (at = m->nshown; at > 0; at--)
		if (rp->ent == NULL || m->shown[at - 1]->ent == NULL ||
		    strcmp(m->shown[at - 1]->ent->uscc, rp->ent->uscc) <= 0)
			break;
	if (at == AMBIGUOUS_SHOWN)
		return;
	if (m->nshown < AMBIGUOUS_SHOWN)
		m->nshown++;
	for (size_t i = m->nshown - 1; i > at; i--)
		m->shown[i] = m->shown[i - 1];
	m->shown[at] = rp;
}

/* 409: the code names a risk point at several enterprises. */
static void
ambiguous(struct http_req *r, const struct rp_matches *m)
{
	struct json_out w;
	char msg[HTTP_PARAM_WHY_SIZE + 200], sb[80];
	size_t len;

	len = (size_t)snprintf(msg, sizeof(msg),
	    "risk point code '%s' exists at %zu enterprises (",
	    http_param_shown(m->code, sb, sizeof(sb)), m->n);
	for (size_t i = 0; i < m->nshown && len < sizeof(msg); i++) {
		const struct rk_ent *e = m->shown[i]->ent;

		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s %s",
		    i ? ", " : "", e != NULL ? e->uscc : "?",
		    e != NULL && e->name != NULL ? e->name : "");
	}
	if (len < sizeof(msg))
		snprintf(msg + len, sizeof(msg) - len,
		    "%s): name one with ?uscc=",
		    m->n > m->nshown ? ", ..." : "");
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_str(&w, "error", "ambiguous");
	json_out_kv_str(&w, "message", msg);
	json_out_key(&w, "enterprises");
	json_out_arr_open(&w);
	for (size_t i = 0; i < m->nshown; i++) {
		const struct rk_ent *e = m->shown[i]->ent;

		json_out_obj_open(&w);
		json_out_kv_str(&w, "uscc", e != NULL ? e->uscc : NULL);
		json_out_kv_str(&w, "name", e != NULL ? e->name : NULL);
		json_out_obj_close(&w);
	}
	json_out_arr_close(&w);
	json_out_obj_close(&w);
	reply_out(r, 409, &w);
}

static void
out_rpoint(struct json_out *w, const struct rk_rpoint *rp)
{
	const struct risk_point_in *in = &rp->in;
	int ls = in->method == METHOD_LS;

	json_out_obj_open(w);
	json_out_kv_str(w, "code", rp->code);
	json_out_kv_str(w, "name", rp->name);
	json_out_kv_str(w, "uscc", rp->ent != NULL ? rp->ent->uscc : NULL);
	json_out_kv_str(
	    w, "enterprise", rp->ent != NULL ? rp->ent->name : NULL);
	json_out_kv_str(w, "method", ls ? "LS" : "LEC");
	json_out_key(w, "inputs");
	json_out_obj_open(w);
	json_out_kv_double(w, "L", in->l);
	if (ls)
		json_out_kv_double(w, "S", in->s);
	else {
		json_out_kv_double(w, "E", in->e);
		json_out_kv_double(w, "C", in->c);
	}
	json_out_obj_close(w);
	json_out_kv_double(w, "value", rp->graded ? rp->grade.value : NAN);
	json_out_kv_str(w, "value_name", ls ? "R" : "D");
	json_out_kv_str(
	    w, "level", rp->graded ? level_name(rp->grade.level) : NULL);
	json_out_kv_str(w, "level_name",
	    rp->graded ? level_risk_zh(rp->grade.level) : NULL);
	out_text(w, "note", rp->graded ? rp->grade.note : NULL);
	out_text(w, "error", rp->graded ? NULL : rp->error);
	json_out_obj_close(w);
}

static void
get_risk_point(struct http_req *r, void *arg)
{
	static const char *const names[] = {"uscc", NULL};
	const char *code = http_req_param(r, "code");
	const struct rk_rpoint *rp;
	const char *uscc;
	struct json_out w;
	char why[HTTP_PARAM_WHY_SIZE], sb[80];

	(void)arg;
	if (http_param_known(r, names, why, sizeof(why)) != 0 ||
	    http_param_uscc(r, "uscc", &uscc, why, sizeof(why)) != 0) {
		http_param_refuse(r, "api.refused", why);
		return;
	}
	if (model_unready(r))
		return;
	if (uscc != NULL) {
		char key[IDS_USCC_SIZE + HTTP_PATH_MAX + 2];

		snprintf(key, sizeof(key), "%s/%s", uscc, code);
		rp = strmap_get(api_r->rpoints, key);
		if (rp == NULL) {
			http_reply_error(r, 404, "not_found",
			    "enterprise %s has no risk point '%s' "
			    "(risk_point.upsert adds it)",
			    uscc, http_param_shown(code, sb, sizeof(sb)));
			return;
		}
	} else {
		struct rp_matches m = {.code = code};

		strmap_each(api_r->rpoints, rp_match, &m);
		if (m.n == 0) {
			http_reply_error(r, 404, "not_found",
			    "no enterprise has a risk point '%s' "
			    "(risk_point.upsert adds it)",
			    http_param_shown(code, sb, sizeof(sb)));
			return;
		}
		if (m.n > 1) {
			ambiguous(r, &m);
			return;
		}
		rp = m.shown[0];
	}
	json_out_init(&w);
	out_rpoint(&w, rp);
	reply_out(r, 200, &w);
}

/* --- GET /v1/enterprises/{uscc}/risk ------------------------------------- */

static void
out_facts(struct json_out *w, const struct ent_facts *f)
{
	json_out_key(w, "facts");
	json_out_obj_open(w);
	json_out_key(w, "worst_source_grade");
	if (f->worst_source_grade >= 1 && f->worst_source_grade <= 4)
		json_out_int(w, f->worst_source_grade);
	else
		json_out_null(w);
	json_out_kv_str(w, "worst_risk_point",
	    f->has_risk_point ? level_name(f->worst_risk_point) : NULL);
	json_out_kv_int(w, "open_major_hazards", f->open_major_hazards);
	json_out_kv_int(w, "overdue_hazards", f->overdue_hazards);
	json_out_kv_int(w, "overdue_major_hazards", f->overdue_major_hazards);
	json_out_kv_str(w, "worst_warning", level_name(f->worst_warning));
	json_out_kv_int(
	    w, "death_accidents_12m", f->deaths_accidents_in_window);
	json_out_kv_int(
	    w, "larger_accidents_3y", f->larger_accidents_in_window);
	json_out_kv_bool(w, "director_in_scope",
	    ent_director_in_scope(&api_r->rules.ent, f) != 0);
	json_out_kv_bool(w, "director_appointed", f->director_appointed != 0);
	json_out_kv_bool(w, "resplist_uploaded", f->resplist_uploaded != 0);
	json_out_obj_close(w);
}

static void
get_enterprise_risk(struct http_req *r, void *arg)
{
	static const char *const names[] = {NULL};
	const char *uscc;
	const struct rk_ent *e;
	const struct ent_risk *k;
	struct json_out w;
	char why[HTTP_PARAM_WHY_SIZE];

	(void)arg;
	if (http_param_known(r, names, why, sizeof(why)) != 0 ||
	    http_param_check_uscc(NULL, http_req_param(r, "uscc"), &uscc, why,
	        sizeof(why)) != 0) {
		http_param_refuse(r, "api.refused", why);
		return;
	}
	if (model_unready(r))
		return;
	if ((e = model_ent(api_r, uscc)) == NULL) {
		http_reply_error(r, 404, "not_found",
		    "no enterprise %s is registered (enterprise.upsert adds "
		    "it)",
		    uscc);
		return;
	}
	if (!e->graded) {
		http_reply_error(r, 404, "not_graded",
		    "enterprise %s is registered but its risk is not graded "
		    "yet; ask again shortly",
		    uscc);
		return;
	}
	k = &e->risk;
	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_str(&w, "uscc", e->uscc);
	json_out_kv_str(&w, "name", e->name);
	json_out_kv_str(&w, "district", e->district);
	json_out_kv_str(&w, "sector", e->sector);
	json_out_kv_str(&w, "level", level_name(k->level));
	json_out_kv_str(&w, "level_name", level_risk_zh(k->level));
	json_out_kv_str(&w, "inherent_level", level_name(k->inherent));
	json_out_kv_int(&w, "score", k->score);
	out_time(&w, "since", e->risk_since_ms);
	json_out_key(&w, "reasons");
	json_out_arr_open(&w);
	for (size_t i = 0; i < k->nreasons && i < ENT_REASONS_MAX; i++) {
		json_out_obj_open(&w);
		json_out_kv_str(&w, "code", k->reason[i].code);
		json_out_kv_str(&w, "text", k->reason[i].text);
		json_out_obj_close(&w);
	}
	json_out_arr_close(&w);
	out_facts(&w, &e->facts);
	json_out_obj_close(&w);
	reply_out(r, 200, &w);
}

/* --- the table ----------------------------------------------------------- */

const struct http_route api_routes[] = {
    {"GET", "/v1/points/{code}", get_point, 0},
    {"GET", "/v1/alarms", get_alarms, 0},
    {"GET", "/v1/sources/{code}", get_source, 0},
    {"GET", "/v1/risk-points/{code}", get_risk_point, 0},
    {"GET", "/v1/enterprises/{uscc}/risk", get_enterprise_risk, 0},
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

/*
 * journal - the effects of one transaction: alarm rows, point states,
 * grades, warnings and enterprise risk, and the al.* / rk.* messages that
 * report them.
 *
 * Handlers and timers change the model and note here what changed;
 * journal_before_commit() (the bus consumer's hook, or journal_run_own()
 * for a timer's own transaction) grades what is dirty, writes it all with
 * a few statements (arrays through unnest, so a burst of thousands of
 * alarms is still one round trip) and stages the messages in bus_log.
 * After COMMIT they are published; after a ROLLBACK the model is thrown
 * away and reloaded, because it already holds the changes that were not
 * kept.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "riskd.h"
#include "store.h"
#include "timeutil.h"

static int
exec(PGconn *conn, const char *what, const char *sql, int n,
    const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
		 PQresultStatus(res) == PGRES_TUPLES_OK;
	char q[300];

	if (!ok)
		log_warn("riskd.store", "what=%s error=%s", what,
		    log_quote(q, sizeof(q), PQresultErrorMessage(res)));
	PQclear(res);
	return ok ? 0 : -1;
}

/* --- alarms ------------------------------------------------------------- */

int
journal_add_alarm(
    struct riskd *r, struct rk_point *p, const struct alarm_change *ch)
{
	if (r->nalarm_rows == r->alarm_rows_cap) {
		size_t cap = r->alarm_rows_cap ? r->alarm_rows_cap * 2 : 64;
		struct rk_alarm_row *n = realloc(r->alarms, cap * sizeof(*n));

		if (n == NULL)
			return -1;
		r->alarms = n;
		r->alarm_rows_cap = cap;
	}
	r->alarms[r->nalarm_rows].point = p;
	r->alarms[r->nalarm_rows].ch = *ch;
	r->nalarm_rows++;
	return 0;
}

static const char SQL_ALARMS_INSERT[] =
    "INSERT INTO alarms (id, point, uscc, hazard_source, kind, suppressed, "
    "unit, started_at, value, threshold, peak, cleared_at, clear_reason) "
    "SELECT u.id, u.point, u.uscc, u.src, u.kind, u.sup, u.unit, "
    "to_timestamp(u.start / 1000.0), u.v, u.thr, u.v, "
    "CASE WHEN u.sup THEN to_timestamp(u.start / 1000.0) END, "
    "CASE WHEN u.sup THEN 'suppressed' END "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
    "$6::boolean[], $7::text[], $8::bigint[], $9::float8[], $10::float8[]) "
    "AS u(id, point, uscc, src, kind, sup, unit, start, v, thr) "
    "ON CONFLICT (id) DO NOTHING";

static const char SQL_ALARMS_CLEAR[] =
    "UPDATE alarms a SET cleared_at = to_timestamp(u.at / 1000.0), "
    "clear_reason = u.reason, clear_value = u.v, peak = u.peak, "
    "duration_ms = u.dur "
    "FROM unnest($1::text[], $2::bigint[], $3::text[], $4::float8[], "
    "$5::float8[], $6::bigint[]) AS u(id, at, reason, v, peak, dur) "
    "WHERE a.id = u.id AND a.cleared_at IS NULL";

static int
write_alarms(struct riskd *r, PGconn *conn)
{
	struct store_array in[10], cl[6];
	const char *pin[10], *pcl[6];
	size_t nin = 0, ncl = 0;
	char id[512];
	int rc = 0;

	memset(in, 0, sizeof(in));
	memset(cl, 0, sizeof(cl));
	for (size_t i = 0; i < r->nalarm_rows && rc == 0; i++) {
		const struct rk_alarm_row *a = &r->alarms[i];
		const struct rk_point *p = a->point;

		if (alarm_id(id, sizeof(id), p->code, a->ch.start_ms,
		        a->ch.kind) < 0) {
			rc = -1;
			break;
		}
		if (a->ch.what == ALARM_CLEARED) {
			store_array_str(&cl[0], id);
			store_array_int64(&cl[1], a->ch.at_ms);
			store_array_str(&cl[2],
			    alarm_clear_reason_name(a->ch.reason));
			store_array_double(&cl[3], a->ch.value);
			store_array_double(&cl[4], a->ch.peak);
			store_array_int64(&cl[5], a->ch.duration_ms);
			ncl++;
			continue;
		}
		/* A suppressed record may share its start and kind with the
		 * alarm raised once the window is over (a point silent through
		 * it): it gets its own id, so neither hides the other. */
		if (a->ch.what == ALARM_SUPPRESSED &&
		    strlen(id) + sizeof(":suppressed") <= sizeof(id))
			strcat(id, ":suppressed");
		store_array_str(&in[0], id);
		store_array_str(&in[1], p->code);
		store_array_str(&in[2], p->ent->uscc);
		store_array_str(&in[3], p->source_code);
		store_array_str(&in[4], alarm_kind_name(a->ch.kind));
		store_array_str(&in[5], a->ch.what == ALARM_SUPPRESSED ? "t" : "f");
		store_array_str(&in[6], p->unit);
		store_array_int64(&in[7], a->ch.start_ms);
		store_array_double(&in[8], a->ch.value);
		store_array_double(&in[9], a->ch.threshold);
		nin++;
	}
	if (rc == 0 && nin > 0) {
		for (int i = 0; i < 10; i++)
			if ((pin[i] = store_array_end(&in[i])) == NULL)
				rc = -1;
		if (rc == 0)
			rc = exec(conn, "alarms insert", SQL_ALARMS_INSERT, 10,
			    pin);
	}
	if (rc == 0 && ncl > 0) {
		for (int i = 0; i < 6; i++)
			if ((pcl[i] = store_array_end(&cl[i])) == NULL)
				rc = -1;
		if (rc == 0)
			rc = exec(conn, "alarms clear", SQL_ALARMS_CLEAR, 6, pcl);
	}
	for (int i = 0; i < 10; i++)
		store_array_free(&in[i]);
	for (int i = 0; i < 6; i++)
		store_array_free(&cl[i]);
	return rc;
}

/* --- point states ------------------------------------------------------- */

static const char SQL_STATES[] =
    "INSERT INTO risk_point_states (point, last_ts_ms, last_value, "
    "last_quality, since_h_ms, since_hh_ms, since_l_ms, since_ll_ms, "
    "suppressed_kind, updated_at) "
    "SELECT u.*, now() FROM unnest($1::text[], $2::bigint[], $3::float8[], "
    "$4::smallint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], "
    "$9::smallint[]) AS u "
    "ON CONFLICT (point) DO UPDATE SET last_ts_ms = EXCLUDED.last_ts_ms, "
    "last_value = EXCLUDED.last_value, last_quality = EXCLUDED.last_quality, "
    "since_h_ms = EXCLUDED.since_h_ms, since_hh_ms = EXCLUDED.since_hh_ms, "
    "since_l_ms = EXCLUDED.since_l_ms, since_ll_ms = EXCLUDED.since_ll_ms, "
    "suppressed_kind = EXCLUDED.suppressed_kind, updated_at = now()";

static int
write_states(struct riskd *r, PGconn *conn)
{
	struct store_array c[9];
	const char *pv[9];
	int rc = 0;

	/* A transaction that carries alarms is on the alarm path: it writes
	 * only the states that must be (a condition's start, a suppression),
	 * and the routine refresh of the newest reading waits for a quieter
	 * one (those points stay due, so their next reading marks them). */
	if (r->nalarm_rows > 0) {
		size_t keep = 0;

		for (size_t i = 0; i < r->dirty_points.n; i++) {
			struct rk_point *p = r->dirty_points.v[i];

			if (p->state_dirty)
				r->dirty_points.v[keep++] = p;
			else
				p->in_dirty = 0;
		}
		r->dirty_points.n = keep;
	}
	if (r->dirty_points.n == 0)
		return 0;
	memset(c, 0, sizeof(c));
	for (size_t i = 0; i < r->dirty_points.n && rc == 0; i++) {
		const struct rk_point *p = r->dirty_points.v[i];
		const struct alarm_state *s = &p->st;

		store_array_str(&c[0], p->code);
		store_array_int64(&c[1], s->last_ts_ms);
		store_array_double(&c[2], s->last_value);
		store_array_int64(&c[3], s->last_quality);
		store_array_int64(&c[4], s->since_h);
		store_array_int64(&c[5], s->since_hh);
		store_array_int64(&c[6], s->since_l);
		store_array_int64(&c[7], s->since_ll);
		store_array_int64(&c[8], s->suppressed_kind);
	}
	for (int i = 0; i < 9; i++)
		if ((pv[i] = store_array_end(&c[i])) == NULL)
			rc = -1;
	if (rc == 0)
		rc = exec(conn, "point states", SQL_STATES, 9, pv);
	for (int i = 0; i < 9; i++)
		store_array_free(&c[i]);
	return rc;
}

/* --- grades ------------------------------------------------------------- */

static const char SQL_SOURCE_GRADE[] =
    "INSERT INTO source_grades (code, uscc, s, sum_bq, alpha, people_500m, "
    "r, major, grade, assessed_on, reassess_due, error, graded_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
    "date '1970-01-01' + $10::int, date '1970-01-01' + $11::int, $12, now()) "
    "ON CONFLICT (code) DO UPDATE SET uscc = EXCLUDED.uscc, s = EXCLUDED.s, "
    "sum_bq = EXCLUDED.sum_bq, alpha = EXCLUDED.alpha, "
    "people_500m = EXCLUDED.people_500m, r = EXCLUDED.r, "
    "major = EXCLUDED.major, grade = EXCLUDED.grade, "
    "assessed_on = EXCLUDED.assessed_on, "
    "reassess_due = EXCLUDED.reassess_due, error = EXCLUDED.error, "
    "graded_at = now()";

static const char SQL_RPOINT_GRADE[] =
    "INSERT INTO risk_point_grades (uscc, code, method, value, level, note, "
    "error, graded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now()) "
    "ON CONFLICT (uscc, code) DO UPDATE SET method = EXCLUDED.method, "
    "value = EXCLUDED.value, level = EXCLUDED.level, note = EXCLUDED.note, "
    "error = EXCLUDED.error, graded_at = now()";

static void
fmt_dbl(char *b, size_t n, double v)
{
	snprintf(b, n, "%.17g", v);
}

static int
write_grades(struct riskd *r, PGconn *conn)
{
	char s[40], bq[40], al[40], ppl[24], rv[40], gr[8], ad[16], due[16];

	for (size_t i = 0; i < r->grade_writes.n; i++) {
		const struct rk_source *src = r->grade_writes.v[i];
		const struct source_grade *g = &src->grade;
		const char *pv[12] = {src->code, src->ent->uscc};

		snprintf(ppl, sizeof(ppl), "%" PRId64, src->people_500m);
		snprintf(ad, sizeof(ad), "%" PRId32, src->assessed_days);
		pv[5] = ppl;
		pv[9] = ad;
		if (src->graded) {
			fmt_dbl(s, sizeof(s), g->s);
			fmt_dbl(bq, sizeof(bq), g->sum_bq);
			fmt_dbl(al, sizeof(al), g->alpha);
			fmt_dbl(rv, sizeof(rv), g->r);
			snprintf(gr, sizeof(gr), "%d", g->grade);
			snprintf(due, sizeof(due), "%" PRId32,
			    g->reassess_due_days);
			pv[2] = s;
			pv[3] = bq;
			pv[4] = al;
			pv[6] = rv;
			pv[7] = g->major ? "t" : "f";
			pv[8] = gr;
			pv[10] = due;
		} else {
			pv[11] = src->error;
		}
		if (exec(conn, "source grade", SQL_SOURCE_GRADE, 12, pv) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->rpoint_writes.n; i++) {
		const struct rk_rpoint *rp = r->rpoint_writes.v[i];
		const char *pv[7] = {rp->ent->uscc, rp->code,
		    rp->in.method == METHOD_LS ? "LS" : "LEC"};

		if (rp->graded) {
			fmt_dbl(rv, sizeof(rv), rp->grade.value);
			pv[3] = rv;
			pv[4] = level_name(rp->grade.level);
			pv[5] = rp->grade.note[0] != '\0' ? rp->grade.note : NULL;
		} else {
			pv[6] = rp->error;
		}
		if (exec(conn, "risk point grade", SQL_RPOINT_GRADE, 7, pv) < 0)
			return -1;
	}
	return 0;
}

/* --- warnings and risk -------------------------------------------------- */

static const char SQL_WARNING[] =
    "INSERT INTO source_warnings (code, uscc, level, reasons, since, "
    "updated_at) VALUES ($1, $2, $3, $4::jsonb, "
    "to_timestamp($5::bigint / 1000.0), now()) "
    "ON CONFLICT (code) DO UPDATE SET uscc = EXCLUDED.uscc, "
    "level = EXCLUDED.level, reasons = EXCLUDED.reasons, "
    "since = EXCLUDED.since, updated_at = now()";

static const char SQL_WARNING_HISTORY[] =
    "INSERT INTO source_warning_history (code, uscc, level, previous_level, "
    "reasons, at) VALUES ($1, $2, $3, $4, $5::jsonb, "
    "to_timestamp($6::bigint / 1000.0))";

static const char SQL_RISK[] =
    "INSERT INTO enterprise_risk (uscc, level, inherent_level, score, "
    "reasons, since, updated_at) VALUES ($1, $2, $3, $4::smallint, "
    "$5::jsonb, to_timestamp($6::bigint / 1000.0), now()) "
    "ON CONFLICT (uscc) DO UPDATE SET level = EXCLUDED.level, "
    "inherent_level = EXCLUDED.inherent_level, score = EXCLUDED.score, "
    "reasons = EXCLUDED.reasons, since = EXCLUDED.since, updated_at = now()";

static const char SQL_RISK_HISTORY[] =
    "INSERT INTO enterprise_risk_history (uscc, level, previous_level, "
    "score, reasons, at) VALUES ($1, $2, $3, $4::smallint, $5::jsonb, "
    "to_timestamp($6::bigint / 1000.0))";

static void
warn_reasons_json(struct json_out *w, const struct warn_result *res)
{
	json_out_arr_open(w);
	for (size_t i = 0; i < res->nreasons; i++) {
		json_out_obj_open(w);
		json_out_kv_str(w, "rule", warn_rule_name(res->reason[i].rule));
		json_out_kv_str(w, "level", level_name(res->reason[i].level));
		json_out_kv_str(w, "text", res->reason[i].text);
		json_out_obj_close(w);
	}
	json_out_arr_close(w);
}

static void
risk_reasons_json(struct json_out *w, const struct ent_risk *res)
{
	json_out_arr_open(w);
	for (size_t i = 0; i < res->nreasons; i++) {
		json_out_obj_open(w);
		json_out_kv_str(w, "code", res->reason[i].code);
		json_out_kv_str(w, "text", res->reason[i].text);
		json_out_obj_close(w);
	}
	json_out_arr_close(w);
}

static int
write_warnings(struct riskd *r, PGconn *conn, int64_t now_ms)
{
	struct json_out w;
	char since[24], at[24];
	int rc = 0;

	(void)now_ms;
	json_out_init(&w);
	for (size_t i = 0; i < r->warn_changes.n && rc == 0; i++) {
		const struct rk_source *s = r->warn_changes.v[i];
		const char *lv = level_name(s->warn.level);
		const char *prev = level_name(s->warn_prev);

		json_out_reset(&w);
		warn_reasons_json(&w, &s->warn);
		snprintf(since, sizeof(since), "%" PRId64, s->warn_since_ms);
		snprintf(at, sizeof(at), "%" PRId64, s->warn_since_ms);
		{
			const char *p1[5] = {s->code, s->ent->uscc, lv,
			    json_out_data(&w), since};
			const char *p2[6] = {s->code, s->ent->uscc, lv, prev,
			    json_out_data(&w), at};

			rc = exec(conn, "warning", SQL_WARNING, 5, p1);
			if (rc == 0)
				rc = exec(conn, "warning history",
				    SQL_WARNING_HISTORY, 6, p2);
		}
	}
	for (size_t i = 0; i < r->risk_changes.n && rc == 0; i++) {
		const struct rk_ent *e = r->risk_changes.v[i];
		char score[8];

		json_out_reset(&w);
		risk_reasons_json(&w, &e->risk);
		snprintf(score, sizeof(score), "%d", e->risk.score);
		snprintf(since, sizeof(since), "%" PRId64, e->risk_since_ms);
		{
			const char *p1[6] = {e->uscc, level_name(e->risk.level),
			    level_name(e->risk.inherent), score,
			    json_out_data(&w), since};
			const char *p2[6] = {e->uscc, level_name(e->risk.level),
			    level_name(e->risk_prev), score, json_out_data(&w),
			    since};

			rc = exec(conn, "risk", SQL_RISK, 6, p1);
			if (rc == 0)
				rc = exec(conn, "risk history", SQL_RISK_HISTORY,
				    6, p2);
		}
	}
	json_out_free(&w);
	return rc;
}

/* --- bus messages ------------------------------------------------------- */

#define TOPIC_RK_MAX 32

struct staged {
	Anquan__Alarm *alarms;
	char (*alarm_ids)[512];
	Anquan__SourceWarning *warns;
	Anquan__RiskChange *risks;
	Anquan__RiskReason *reasons;
	Anquan__RiskReason **reason_ptrs;
	char (*rk_topics)[TOPIC_RK_MAX];
};

static void
fill_alarm(Anquan__Alarm *m, char *id, const struct rk_alarm_row *a)
{
	const struct rk_point *p = a->point;
	const struct alarm_change *c = &a->ch;

	anquan__alarm__init(m);
	alarm_id(id, 512, p->code, c->start_ms, c->kind);
	m->id = id;
	m->state = c->what == ALARM_RAISED ? ANQUAN__ALARM__STATE__RAISED
					   : ANQUAN__ALARM__STATE__CLEARED;
	m->point = p->code;
	m->point_kind = (char *)point_kind_name((enum point_kind)p->kind);
	m->unit = (char *)p->unit;
	m->kind = (char *)alarm_kind_name(c->kind);
	m->uscc = (char *)p->ent->uscc;
	m->enterprise = p->ent->name != NULL ? p->ent->name : "";
	m->district = (char *)p->ent->district;
	m->sector = (char *)p->ent->sector;
	m->hazard_source = p->source_code != NULL ? p->source_code : "";
	m->has_value = isfinite(c->value);
	m->value = m->has_value ? c->value : 0;
	m->has_threshold = isfinite(c->threshold);
	m->threshold = m->has_threshold ? c->threshold : 0;
	m->peak = isfinite(c->peak) ? c->peak : 0;
	m->started_at_ms = c->start_ms;
	m->at_ms = c->at_ms;
	if (c->what == ALARM_CLEARED) {
		m->duration_ms = c->duration_ms;
		m->reason = (char *)alarm_clear_reason_name(c->reason);
	}
}

static int
stage_messages(struct riskd *r, PGconn *conn)
{
	size_t nal = 0, nw = r->warn_changes.n, nr = r->risk_changes.n;
	size_t nreasons = 0, k = 0, ri = 0;
	struct staged s;
	const char **topics = NULL;
	const Anquan__Envelope **envs = NULL;
	Anquan__Envelope *env = NULL;
	char err[256];
	int rc = -1;

	for (size_t i = 0; i < r->nalarm_rows; i++)
		if (r->alarms[i].ch.what != ALARM_SUPPRESSED)
			nal++;
	for (size_t i = 0; i < nw; i++)
		nreasons += ((struct rk_source *)r->warn_changes.v[i])->warn.nreasons;
	for (size_t i = 0; i < nr; i++)
		nreasons += ((struct rk_ent *)r->risk_changes.v[i])->risk.nreasons;
	if (nal + nw + nr == 0)
		return 0;
	memset(&s, 0, sizeof(s));
	s.alarms = calloc(nal + 1, sizeof(*s.alarms));
	s.alarm_ids = calloc(nal + 1, sizeof(*s.alarm_ids));
	s.warns = calloc(nw + 1, sizeof(*s.warns));
	s.risks = calloc(nr + 1, sizeof(*s.risks));
	s.reasons = calloc(nreasons + 1, sizeof(*s.reasons));
	s.reason_ptrs = calloc(nreasons + 1, sizeof(*s.reason_ptrs));
	s.rk_topics = calloc(nw + nr + 1, sizeof(*s.rk_topics));
	topics = calloc(nal + nw + nr, sizeof(*topics));
	envs = calloc(nal + nw + nr, sizeof(*envs));
	env = calloc(nal + nw + nr, sizeof(*env));
	if (!s.alarms || !s.alarm_ids || !s.warns || !s.risks || !s.reasons ||
	    !s.reason_ptrs || !s.rk_topics || !topics || !envs || !env)
		goto out;
	for (size_t i = 0, j = 0; i < r->nalarm_rows; i++) {
		const struct rk_alarm_row *a = &r->alarms[i];

		if (a->ch.what == ALARM_SUPPRESSED)
			continue;
		fill_alarm(&s.alarms[j], s.alarm_ids[j], a);
		anquan__envelope__init(&env[k]);
		env[k].payload_case = ANQUAN__ENVELOPE__PAYLOAD_ALARM;
		env[k].alarm = &s.alarms[j];
		topics[k] = a->ch.what == ALARM_RAISED ? "al.raised"
						       : "al.cleared";
		envs[k] = &env[k];
		k++;
		j++;
	}
	for (size_t i = 0; i < nw; i++) {
		const struct rk_source *src = r->warn_changes.v[i];
		Anquan__SourceWarning *m = &s.warns[i];

		anquan__source_warning__init(m);
		m->source = src->code;
		m->name = src->name != NULL ? src->name : "";
		m->uscc = (char *)src->ent->uscc;
		m->enterprise = src->ent->name != NULL ? src->ent->name : "";
		m->district = (char *)src->ent->district;
		m->grade = src->graded ? src->grade.grade : 0;
		m->level = (char *)level_name(src->warn.level);
		m->previous_level = (char *)level_name(src->warn_prev);
		m->at_ms = src->warn_since_ms;
		m->reasons = &s.reason_ptrs[ri];
		for (size_t q = 0; q < src->warn.nreasons; q++, ri++) {
			anquan__risk_reason__init(&s.reasons[ri]);
			s.reasons[ri].code =
			    (char *)warn_rule_name(src->warn.reason[q].rule);
			s.reasons[ri].text = (char *)src->warn.reason[q].text;
			s.reason_ptrs[ri] = &s.reasons[ri];
		}
		m->n_reasons = src->warn.nreasons;
		snprintf(s.rk_topics[i], TOPIC_RK_MAX, "rk.%s",
		    src->ent->district);
		anquan__envelope__init(&env[k]);
		env[k].payload_case = ANQUAN__ENVELOPE__PAYLOAD_WARNING;
		env[k].warning = m;
		topics[k] = s.rk_topics[i];
		envs[k] = &env[k];
		k++;
	}
	for (size_t i = 0; i < nr; i++) {
		const struct rk_ent *e = r->risk_changes.v[i];
		Anquan__RiskChange *m = &s.risks[i];

		anquan__risk_change__init(m);
		m->uscc = (char *)e->uscc;
		m->name = e->name != NULL ? e->name : "";
		m->district = (char *)e->district;
		m->sector = (char *)e->sector;
		m->level = (char *)level_name(e->risk.level);
		m->previous_level = (char *)level_name(e->risk_prev);
		m->inherent_level = (char *)level_name(e->risk.inherent);
		m->score = e->risk.score;
		m->at_ms = e->risk_since_ms;
		m->reasons = &s.reason_ptrs[ri];
		for (size_t q = 0; q < e->risk.nreasons; q++, ri++) {
			anquan__risk_reason__init(&s.reasons[ri]);
			s.reasons[ri].code = (char *)e->risk.reason[q].code;
			s.reasons[ri].text = (char *)e->risk.reason[q].text;
			s.reason_ptrs[ri] = &s.reasons[ri];
		}
		m->n_reasons = e->risk.nreasons;
		snprintf(s.rk_topics[nw + i], TOPIC_RK_MAX, "rk.%s", e->district);
		anquan__envelope__init(&env[k]);
		env[k].payload_case = ANQUAN__ENVELOPE__PAYLOAD_RISK;
		env[k].risk = m;
		topics[k] = s.rk_topics[nw + i];
		envs[k] = &env[k];
		k++;
	}
	rc = bus_producer_stage_many(
	    r->prod, conn, k, topics, envs, err, sizeof(err));
	if (rc < 0) {
		char q[300];

		log_warn("riskd.stage", "error=%s",
		    log_quote(q, sizeof(q), err));
	}
out:
	free(s.alarms);
	free(s.alarm_ids);
	free(s.warns);
	free(s.risks);
	free(s.reasons);
	free(s.reason_ptrs);
	free(s.rk_topics);
	free(topics);
	free(envs);
	free(env);
	return rc;
}

/* --- the transaction ---------------------------------------------------- */

int
journal_write(struct riskd *r, PGconn *conn, int64_t now_ms)
{
	if (regrade_dirty(r, conn, now_ms) < 0 || write_alarms(r, conn) < 0 ||
	    write_states(r, conn) < 0 || write_grades(r, conn) < 0 ||
	    write_warnings(r, conn, now_ms) < 0 || stage_messages(r, conn) < 0)
		return -1;
	return 0;
}

static void
forget(struct riskd *r)
{
	for (size_t i = 0; i < r->grade_writes.n; i++)
		((struct rk_source *)r->grade_writes.v[i])->grade_pending = 0;
	for (size_t i = 0; i < r->rpoint_writes.n; i++)
		((struct rk_rpoint *)r->rpoint_writes.v[i])->grade_pending = 0;
	for (size_t i = 0; i < r->warn_changes.n; i++)
		((struct rk_source *)r->warn_changes.v[i])->warn_pending = 0;
	for (size_t i = 0; i < r->risk_changes.n; i++)
		((struct rk_ent *)r->risk_changes.v[i])->risk_pending = 0;
	r->nalarm_rows = 0;
	r->grade_writes.n = r->rpoint_writes.n = 0;
	r->warn_changes.n = r->risk_changes.n = 0;
	r->flush_budget = (size_t)r->rules.state_flush_max;
}

void
journal_committed(struct riskd *r)
{
	metrics_add(r->m.warn_changes, r->warn_changes.n);
	metrics_add(r->m.risk_changes, r->risk_changes.n);
	for (size_t i = 0; i < r->dirty_points.n; i++) {
		struct rk_point *p = r->dirty_points.v[i];

		p->flushed_ms = p->st.last_ts_ms;
		p->state_dirty = 0;
		p->in_dirty = 0;
	}
	r->dirty_points.n = 0;
	forget(r);
	bus_producer_publish(r->prod);
}

void
journal_aborted(struct riskd *r)
{
	bus_producer_discard(r->prod);
	metrics_inc(r->m.txn_errors);
	r->dirty_points.n = 0;
	forget(r);
	/* The model holds changes the store does not: start again from it. */
	r->need_reload = 1;
}

int
journal_before_commit(PGconn *conn, void *arg)
{
	struct riskd *r = arg;

	return journal_write(r, conn, riskd_now_ms());
}

void
journal_after_commit(void *arg)
{
	journal_committed(arg);
}

void
journal_after_abort(void *arg)
{
	journal_aborted(arg);
}

static int
pending(const struct riskd *r)
{
	return r->nalarm_rows > 0 || r->dirty_points.n > 0 ||
	       r->dirty_sources.n > 0 || r->dirty_ents.n > 0 ||
	       r->grade_writes.n > 0 || r->rpoint_writes.n > 0;
}

int
journal_run_own(struct riskd *r, int64_t now_ms)
{
	PGconn *conn;
	PGresult *res;
	int ok;

	if (!pending(r))
		return 0;
	if ((conn = store_conn(r->st)) == NULL) {
		journal_aborted(r);
		return -1;
	}
	res = PQexec(conn, "BEGIN");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (ok && journal_write(r, conn, now_ms) == 0) {
		res = PQexec(conn, "COMMIT");
		ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
		     strcmp(PQcmdStatus(res), "COMMIT") == 0;
		PQclear(res);
		if (ok) {
			journal_committed(r);
			return 0;
		}
	}
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		res = PQexec(conn, "ROLLBACK");
		PQclear(res);
	}
	journal_aborted(r);
	return -1;
}

/*
 * ack - the duty officers' acknowledgements, heard from alarmd, into the
 * model.
 *
 * DOMAIN.md 3.4: a 一级 or 二级 source's orange warning turns red when its
 * alarm stays unacknowledged (the unacked_orange rule, warning.c).  Who
 * acknowledges is alarmd's business: an officer acknowledges (or resolves)
 * an incident there, and alarmd publishes nt.acknowledged (nt.resolved).
 * riskd follows those two streams; for each it reads which of riskd's
 * alarms the incident held open (alarmd's incident_alarms, by the alarm
 * ids riskd gave them), marks the points' open threshold alarms
 * acknowledged, records it in alarms.acknowledged_at (read back when the
 * model loads) and re-evaluates their sources' warnings before the
 * consumer's COMMIT.  An alarm that joins an incident after its
 * acknowledgement is not acknowledged by it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.pb-c.h"
#include "bus.h"
#include "log.h"
#include "riskd.h"
#include "store.h"

static const char SQL_REFS[] =
    "SELECT ref FROM incident_alarms WHERE incident_id = $1::bigint "
    "AND point IS NOT NULL AND cleared_at IS NULL";

static const char SQL_ACK[] =
    "UPDATE alarms SET acknowledged_at = to_timestamp($2::bigint / 1000.0) "
    "WHERE id = ANY ($1::text[]) AND acknowledged_at IS NULL";

/* Mark the open alarm id acknowledged when the model holds it; 1 if so. */
static int
ack_one(struct riskd *r, const char *id)
{
	char code[200];
	int64_t start;
	enum alarm_kind kind;
	struct rk_point *p;

	if (alarm_id_parse(id, code, sizeof(code), &start, &kind) < 0 ||
	    !alarm_kind_is_threshold(kind) ||
	    (p = model_point(r, code)) == NULL)
		return 0;
	if (p->st.thr.kind != (uint8_t)kind || p->st.thr.start_ms != start ||
	    p->acked_start_ms == start)
		return 0;
	p->acked_start_ms = start;
	if (p->source != NULL)
		model_mark_source(r, p->source);
	return 1;
}

enum bus_verdict
ack_on_notification(PGconn *conn, const struct bus_msg *msg, void *arg)
{
	struct riskd *r = arg;
	const Anquan__Notification *n = msg->env->notification;
	const char **ids = NULL;
	const char *p[2];
	char at[24], *arr = NULL, q[120];
	PGresult *res = NULL, *up = NULL;
	size_t k = 0;
	enum bus_verdict v = BUS_RETRY;

	if (n == NULL || n->incident == NULL || n->incident[0] == '\0')
		return BUS_SKIP;
	if (strcmp(n->status, "acknowledged") != 0 &&
	    strcmp(n->status, "resolved") != 0)
		return BUS_OK;
	p[0] = n->incident;
	res = PQexecParams(conn, SQL_REFS, 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("riskd.ack", "incident=%s error=%s", n->incident,
		    log_quote(q, sizeof(q), PQresultErrorMessage(res)));
		goto out;
	}
	if ((ids = calloc((size_t)PQntuples(res) + 1, sizeof(*ids))) == NULL)
		goto out;
	for (int i = 0; i < PQntuples(res); i++)
		if (ack_one(r, PQgetvalue(res, i, 0)))
			ids[k++] = PQgetvalue(res, i, 0);
	if (k > 0) {
		if ((arr = store_text_array(ids, k)) == NULL)
			goto out;
		snprintf(at, sizeof(at), "%" PRId64,
		    n->at_ms > 0 ? n->at_ms : riskd_now_ms());
		p[0] = arr;
		p[1] = at;
		up = PQexecParams(conn, SQL_ACK, 2, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(up) != PGRES_COMMAND_OK) {
			log_warn("riskd.ack", "incident=%s error=%s",
			    n->incident,
			    log_quote(q, sizeof(q), PQresultErrorMessage(up)));
			goto out;
		}
		log_info("riskd.acknowledged", "incident=%s alarms=%zu",
		    n->incident, k);
	}
	v = BUS_OK;
out:
	PQclear(res);
	PQclear(up);
	free(ids);
	free(arr);
	return v;
}

/*
 * writer_group - the transaction of one group commit in ingestd's writer.
 *
 * writer.c takes a group of jobs off its queue and, on one of the writer's
 * threads, calls writer_group_write(), which makes the whole group durable
 * in ONE transaction on that thread's connection: readings by one COPY
 * (the fast path) or, when some were stored before (a retried batch),
 * through a staging table that tells new rows from duplicates; readings
 * of unknown points into quarantine; events deduplicated by (source, id) and applied
 * by their kind in request order, each apply under a savepoint so that a
 * refusal costs its own event only (an all-or-nothing job's events share
 * one savepoint, and a refusal costs the whole job, other jobs going on);
 * and last the group's bus messages,
 * staged by writer_bus.c.  After the COMMIT it counts each job's accepted
 * and duplicate items; when the group fails it tells a store out of reach
 * (the writer goes down until a probe answers) from any other error, and
 * says which in every job.  The SQL is in ingestd_store.c.  The group, its
 * jobs, the connection and the writer are writer.c's, lent for the call;
 * the producer it returns (and its bus-order ticket) is the caller's.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "ingestd.h"
#include "ingestd_store.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"
#include "writer_internal.h"

/* --- the transaction of a group (writer thread) ------------------------------ */

/* Context for the row callbacks: the connection and its group. */
struct rowctx {
	struct writer_conn *conn;
	struct writer_group *g;
};

static void
on_new_reading(void *arg, uint32_t job, uint32_t idx)
{
	struct rowctx *ctx = arg;

	if (job < ctx->g->njobs && idx < ctx->g->jobs[job]->nreadings)
		ctx->conn->stored[ctx->g->off[job] + idx] = 1;
}

static void
on_new_quarantined(void *arg, uint32_t job, uint32_t idx)
{
	struct rowctx *ctx = arg;

	if (job < ctx->g->njobs && idx < ctx->g->jobs[job]->nunknown)
		ctx->g->jobs[job]->quarantined++;
}

static void
on_new_event(void *arg, uint32_t job, uint32_t idx)
{
	struct rowctx *ctx = arg;

	if (job < ctx->g->njobs && idx < ctx->g->jobs[job]->nevents)
		ctx->g->jobs[job]->events[idx].duplicate = false;
}

/* Readings: the fast path, or the slow one when some were stored before. */
static int
write_readings(struct writer_conn *c, struct writer_group *g, struct store_err *err)
{
	struct rowctx ctx = {c, g};
	struct store_err e2;

	if (g->nreadings == 0)
		return 0;
	store_copy_buf_reset(&c->rows);
	for (size_t j = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nreadings; i++)
			ingestd_store_reading_row(
			    &c->rows, &g->jobs[j]->readings[i]);
	if (c->rows.failed) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		return -1;
	}
	if (ingestd_store_savepoint(c->st, err) < 0)
		return -1;
	if (ingestd_store_copy_readings(c->st, &c->rows, err) >= 0) {
		memset(c->stored, 1, g->nreadings);
		return 0;
	}
	if (err->kind != STORE_ERR_SQL || strcmp(err->sqlstate, "23505") != 0)
		return -1;
	/* A retried batch: find out row by row, in one statement. */
	if (ingestd_store_rollback_savepoint(c->st, &e2) < 0) {
		*err = e2;
		return -1;
	}
	memset(c->stored, 0, g->nreadings);
	store_copy_buf_reset(&c->staged);
	for (size_t j = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nreadings; i++)
			ingestd_store_staged_reading_row(&c->staged,
			    (uint32_t)j, (uint32_t)i, g->jobs[j]->source,
			    &g->jobs[j]->readings[i]);
	if (c->staged.failed) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		return -1;
	}
	return ingestd_store_insert_readings(
	    c->st, &c->staged, on_new_reading, &ctx, err);
}

static int
write_quarantine(struct writer_conn *c, struct writer_group *g,
    struct store_err *err)
{
	struct rowctx ctx = {c, g};

	if (g->nunknown == 0)
		return 0;
	store_copy_buf_reset(&c->staged);
	for (size_t j = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nunknown; i++)
			ingestd_store_staged_reading_row(&c->staged,
			    (uint32_t)j, (uint32_t)i, g->jobs[j]->source,
			    &g->jobs[j]->unknown[i]);
	if (c->staged.failed) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		return -1;
	}
	return ingestd_store_insert_quarantine(
	    c->st, &c->staged, on_new_quarantined, &ctx, err);
}

/* Run one new event's apply under a savepoint; a refusal takes the event
 * back and rejects it, the rest of the group goes on. */
static int
apply_event(struct writer_conn *c, struct ingest_job *job, struct ingest_event *ev,
    struct store_err *err)
{
	struct store_err aerr;

	if (ingestd_store_savepoint(c->st, err) < 0)
		return -1;
	if (ev->kind->apply(c->st, job->source, ev, &aerr) == 0)
		return 0;
	if (aerr.kind == STORE_ERR_CONN) {
		*err = aerr;
		return -1;
	}
	if (ingestd_store_rollback_savepoint(c->st, err) < 0 ||
	    ingestd_store_delete_event(c->st, job->source, ev->id, err) < 0)
		return -1;
	{
		char qid[256], qmsg[320];

		log_warn("ingest.apply_refused",
		    "source=%s event=%s kind=%s error=%s", job->source,
		    log_quote(qid, sizeof(qid), ev->id), ev->kind->name,
		    log_quote(qmsg, sizeof(qmsg), aerr.msg));
	}
	ingest_job_reject(job, ev->index, "%s refused by the store: %s",
	    ev->kind->name, aerr.msg);
	/* Neither stored nor published nor applied to the registry. */
	ev->duplicate = true;
	return 1;
}

/*
 * The new events of an all-or-nothing job (POST /v1/events?atomic=1),
 * applied under one savepoint of their own.  The first refusal takes the
 * whole job back: its applies by the rollback, its event rows (inserted
 * for the group before the savepoint) by deleting them, so nothing of it
 * is stored, published or put in the registry; that item is rejected with
 * its reason and the later ones are not tried.  The other jobs of the
 * group are untouched.  0 done (accepted or taken back), -1 with err when
 * the group cannot go on.
 */
static int
write_atomic_job(struct writer_conn *c, struct ingest_job *job,
    struct store_err *err)
{
	struct ingest_event *bad = NULL;
	struct store_err aerr = {0};
	uint32_t fresh = 0, dup = 0;
	char qid[256], qmsg[320];

	for (size_t i = 0; i < job->nevents; i++)
		job->events[i].duplicate ? dup++ : fresh++;
	job->duplicates += dup;
	if (fresh == 0)
		return 0;
	/* No per-event savepoints inside: this one is the newest of its
	 * name, which is the one a rollback returns to. */
	if (ingestd_store_savepoint(c->st, err) < 0)
		return -1;
	for (size_t i = 0; i < job->nevents && bad == NULL; i++) {
		struct ingest_event *ev = &job->events[i];

		if (ev->duplicate || ev->kind->apply == NULL)
			continue;
		if (ev->kind->apply(c->st, job->source, ev, &aerr) != 0)
			bad = ev;
	}
	if (bad == NULL) {
		job->accepted += fresh;
		return 0;
	}
	if (aerr.kind == STORE_ERR_CONN) {
		*err = aerr;
		return -1;
	}
	if (ingestd_store_rollback_savepoint(c->st, err) < 0)
		return -1;
	for (size_t i = 0; i < job->nevents; i++) {
		struct ingest_event *ev = &job->events[i];

		if (ev->duplicate)
			continue;
		if (ingestd_store_delete_event(c->st, job->source, ev->id,
		        err) < 0)
			return -1;
		/* Neither stored nor published nor applied to the registry. */
		ev->duplicate = true;
	}
	log_warn("ingest.atomic_refused",
	    "source=%s event=%s kind=%s undone=%u error=%s", job->source,
	    log_quote(qid, sizeof(qid), bad->id), bad->kind->name, fresh,
	    log_quote(qmsg, sizeof(qmsg), aerr.msg));
	ingest_job_reject(job, bad->index, "%s refused by the store: %s",
	    bad->kind->name, aerr.msg);
	return 0;
}

static int
write_events(struct writer_conn *c, struct writer_group *g, struct store_err *err)
{
	struct rowctx ctx = {c, g};

	if (g->nevents == 0)
		return 0;
	store_copy_buf_reset(&c->staged);
	for (size_t j = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nevents; i++) {
			g->jobs[j]->events[i].duplicate = true;
			ingestd_store_event_row(&c->staged, (uint32_t)j,
			    (uint32_t)i, g->jobs[j]->source,
			    &g->jobs[j]->events[i]);
		}
	if (c->staged.failed) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		return -1;
	}
	if (ingestd_store_insert_events(c->st, &c->staged, on_new_event, &ctx,
	        err) < 0)
		return -1;
	/* In request order, so an enterprise lands before its points. */
	for (size_t j = 0; j < g->njobs; j++) {
		struct ingest_job *job = g->jobs[j];

		if (job->atomic) {
			if (write_atomic_job(c, job, err) < 0)
				return -1;
			continue;
		}
		for (size_t i = 0; i < job->nevents; i++) {
			struct ingest_event *ev = &job->events[i];
			int rc;

			if (ev->duplicate) {
				job->duplicates++;
				continue;
			}
			if (ev->kind->apply != NULL) {
				rc = apply_event(c, job, ev, err);
				if (rc < 0)
					return -1;
				if (rc > 0)
					continue;
			}
			job->accepted++;
		}
	}
	return 0;
}

/*
 * The whole transaction of a group.  0 with every job's counts set and the
 * staged bus messages in *prod with their *ticket, or -1 with err (rolled
 * back, *prod NULL); *at_commit says the COMMIT itself failed, whose
 * outcome is unknown.  The ticket is taken after staging, while this
 * transaction holds its streams' bus_streams rows, and before the COMMIT
 * that frees them: a later transaction of the same stream waits on those
 * rows, so it takes a later ticket, and the loop publishes in seq order.
 */
static int
commit_group(struct writer_conn *c, struct writer_group *g,
    struct bus_producer **prod, uint64_t *ticket, struct store_err *err,
    bool *at_commit)
{
	bool ticketed = false;

	struct store_err rb;

	*prod = NULL;
	*at_commit = false;
	for (size_t j = 0; j < g->njobs; j++) {
		g->jobs[j]->accepted = 0;
		g->jobs[j]->duplicates = 0;
		g->jobs[j]->quarantined = 0;
	}
	if (store_begin(c->st, err) < 0)
		return -1;
	if (write_readings(c, g, err) < 0 || write_quarantine(c, g, err) < 0 ||
	    write_events(c, g, err) < 0 ||
	    writer_bus_stage(c, g, prod, err) < 0)
		goto fail;
	if (*prod != NULL) {
		*ticket = writer_take_ticket(c->w);
		ticketed = true;
	}
	if (store_commit(c->st, err) < 0) {
		*at_commit = true;
		goto fail;
	}
	for (size_t j = 0, k = 0; j < g->njobs; j++) {
		struct ingest_job *job = g->jobs[j];
		uint32_t fresh = 0;

		for (size_t i = 0; i < job->nreadings; i++, k++)
			fresh += c->stored[k];
		job->accepted += fresh;
		job->duplicates += (uint32_t)job->nreadings - fresh +
		    (uint32_t)job->nunknown - job->quarantined;
	}
	return 0;
fail:
	store_rollback(c->st, &rb);
	if (ticketed)
		writer_drop_ticket(c->w, *ticket);
	if (*prod != NULL) {
		bus_producer_free(*prod);
		*prod = NULL;
	}
	return -1;
}

int
writer_group_init(struct writer_conn *c, struct writer_group *g,
    struct ingest_job *jobs)
{
	size_t n = 0, k = 0;

	memset(g, 0, sizeof(*g));
	for (struct ingest_job *j = jobs; j != NULL; j = j->next)
		n++;
	g->jobs = calloc(n, sizeof(*g->jobs));
	g->off = calloc(n, sizeof(*g->off));
	if (g->jobs == NULL || g->off == NULL)
		return -1;
	for (struct ingest_job *j = jobs; j != NULL; j = j->next) {
		g->off[k] = g->nreadings;
		g->jobs[k++] = j;
		g->nreadings += j->nreadings;
		g->nunknown += j->nunknown;
		g->nevents += j->nevents;
	}
	g->njobs = n;
	g->items = g->nreadings + g->nunknown + g->nevents;
	if (g->nreadings + 1 > c->stored_cap) {
		uint8_t *p = realloc(c->stored, g->nreadings + 1);

		if (p == NULL)
			return -1;
		c->stored = p;
		c->stored_cap = g->nreadings + 1;
	}
	return 0;
}

void
writer_group_free(struct writer_group *g)
{
	free(g->jobs);
	free(g->off);
}

static void
set_status(struct writer_group *g, enum ingest_status st, const char *why,
    const size_t *nrej)
{
	for (size_t j = 0; j < g->njobs; j++) {
		g->jobs[j]->status = st;
		if (why != NULL)
			snprintf(g->jobs[j]->error, sizeof(g->jobs[j]->error),
			    "%s", why);
		if (st != INGEST_OK && nrej != NULL)
			g->jobs[j]->nrejected = nrej[j];
	}
}

struct bus_producer *
writer_group_write(struct writer_conn *c, struct writer_group *g,
    const size_t *nrej, uint64_t *ticket)
{
	struct bus_producer *prod = NULL;
	struct store_err err;
	char q[320];
	bool at_commit;
	int64_t t0 = timeutil_mono_us();
	int rc;

	rc = commit_group(c, g, &prod, ticket, &err, &at_commit);
	/* A connection the server dropped while idle fails once: retry at
	 * once, unless the COMMIT itself was lost (its outcome unknown). */
	if (rc < 0 && err.kind == STORE_ERR_CONN && !at_commit) {
		for (size_t j = 0; j < g->njobs; j++)
			g->jobs[j]->nrejected = nrej[j];
		rc = commit_group(c, g, &prod, ticket, &err, &at_commit);
	}
	if (rc == 0) {
		metrics_observe(
		    c->w->m_commit, (double)(timeutil_mono_us() - t0) / 1e6);
		set_status(g, INGEST_OK, NULL, nrej);
		return prod;
	}
	if (err.kind == STORE_ERR_CONN) {
		writer_conn_lost(c, err.msg);
		metrics_inc(c->w->m_store_down);
		set_status(g, INGEST_STORE_DOWN, err.msg, nrej);
		return NULL;
	}
	log_error("ingest.group_failed", "jobs=%zu items=%zu sqlstate=%s "
	    "error=%s", g->njobs, g->items, err.sqlstate, log_quote(q, sizeof(q), err.msg));
	metrics_inc(c->w->m_failed);
	set_status(g, INGEST_FAILED, err.msg, nrej);
	return NULL;
}

/*
 * writer - ingestd's writer thread: a bounded queue and group commit.
 *
 * api.c and intake.c validate a request into a job on the loop thread and
 * hand it over with writer_submit().  The writer thread takes the first
 * job waiting, lets others join it for up to group_wait_us (or until the
 * group holds group_max_items), and makes the whole group durable in ONE
 * transaction on its own connection: readings by one COPY (the fast path)
 * or, when some were stored before (a retried batch), through a staging
 * table that tells new rows from duplicates; readings of unknown points
 * into quarantine; events deduplicated by (source, id) and applied by
 * their kind; and the group's bus messages staged in bus_log.  After the
 * COMMIT it hands the jobs and the bus producer back to the loop (a
 * mutex-protected list and event_active), where the committed hooks update
 * the registry, the messages are published and every job's done callback
 * answers.  So nothing is answered 202, and nothing published, before it
 * is on disk.  The SQL itself is in ingestd_store.c.
 *
 * When the store is out of reach the group's jobs end INGEST_STORE_DOWN,
 * the writer says so (writer_store_up) and refuses new jobs, and the
 * thread probes the store until it answers again: recovery needs no
 * restart.  A group that fails for another reason is retried job by job,
 * so one bad job cannot sink the others.
 *
 * Ownership: the queue, the thread and its store are the writer's; a job
 * is the writer's from writer_submit() until its done callback, which gets
 * it back on the loop thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bus.h"
#include "ingestd.h"
#include "ingestd_store.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

/* How often a writer whose store is down tries it again. */
#define PROBE_PERIOD_MS 100

/* A committed (or failed) group on its way back to the loop. */
struct done_batch {
	struct done_batch *next;
	struct ingest_job *jobs; /* linked by job->next, in queue order */
	struct bus_producer *prod;
};

struct writer {
	struct event_base *base;
	struct registry *reg;
	void (*publish)(void *arg, struct bus_producer *prod);
	void *publish_arg;
	struct bus_sock *pub;
	size_t queue_max, group_max;
	int64_t group_wait_us;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu. */
	struct ingest_job *qhead, *qtail;
	size_t qitems;
	bool stopping, draining, busy;
	struct done_batch *dhead, *dtail;
	/* Read without the lock by the loop's accessors. */
	atomic_size_t depth;
	atomic_bool down;

	/* Loop thread. */
	struct event *done_ev;
	void (*drain_cb)(void *arg);
	void *drain_arg;
	bool drain_called;

	/* Writer thread. */
	struct store *st;
	struct store_copy_buf rows, staged;
	uint8_t *stored; /* per reading of the group: 1 when newly stored */
	size_t stored_cap;
	uint64_t groups;

	struct metric *m_accepted, *m_duplicates, *m_quarantined;
	struct metric *m_queue, *m_commit, *m_group, *m_store_down,
	    *m_failed;
};

/* Bounds of the group size histogram, in items. */
static const double group_buckets[] = {1, 10, 100, 500, 1000, 2000, 5000,
    10000, 20000, 50000, 100000};

/* The group being written: its jobs and where each one's readings start. */
struct group {
	struct ingest_job **jobs;
	size_t njobs;
	size_t *off; /* index of each job's first reading in w->stored */
	size_t nreadings, nunknown, nevents, items;
};

static size_t
job_items(const struct ingest_job *job)
{
	return job->nreadings + job->nunknown + job->nevents;
}

/* --- the loop side --------------------------------------------------------- */

static void
maybe_drained(struct writer *w)
{
	bool idle;

	if (w->drain_cb == NULL || w->drain_called)
		return;
	pthread_mutex_lock(&w->mu);
	idle = w->draining && w->qhead == NULL && !w->busy &&
	    w->dhead == NULL;
	pthread_mutex_unlock(&w->mu);
	if (idle) {
		w->drain_called = true;
		w->drain_cb(w->drain_arg);
	}
}

/* Registry updates of the events a group stored (loop thread only). */
static void
run_committed(struct writer *w, struct ingest_job *job)
{
	if (job->status != INGEST_OK)
		return;
	for (size_t i = 0; i < job->nevents; i++) {
		struct ingest_event *ev = &job->events[i];

		if (!ev->duplicate && ev->kind != NULL &&
		    ev->kind->committed != NULL)
			ev->kind->committed(w->reg, ev);
	}
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct writer *w = arg;
	struct done_batch *b;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->mu);
	b = w->dhead;
	w->dhead = w->dtail = NULL;
	pthread_mutex_unlock(&w->mu);
	while (b != NULL) {
		struct done_batch *next = b->next;
		struct ingest_job *job;

		for (job = b->jobs; job != NULL; job = job->next)
			run_committed(w, job);
		if (b->prod != NULL)
			w->publish(w->publish_arg, b->prod);
		job = b->jobs;
		while (job != NULL) {
			struct ingest_job *jn = job->next;

			job->next = NULL;
			if (job->done != NULL)
				job->done(job);
			else
				ingest_job_free(job);
			job = jn;
		}
		free(b);
		b = next;
	}
	maybe_drained(w);
}

int
writer_submit(struct writer *w, struct ingest_job *job)
{
	size_t items = job_items(job);

	pthread_mutex_lock(&w->mu);
	if (w->stopping || w->draining || atomic_load(&w->down) ||
	    (w->qhead != NULL && w->qitems + items > w->queue_max)) {
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	job->status = INGEST_PENDING;
	job->submitted_us = timeutil_mono_us();
	job->next = NULL;
	if (w->qtail != NULL)
		w->qtail->next = job;
	else
		w->qhead = job;
	w->qtail = job;
	w->qitems += items;
	atomic_store(&w->depth, w->qitems);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	metrics_set(w->m_queue, (double)atomic_load(&w->depth));
	return 0;
}

size_t
writer_queue_depth(const struct writer *w)
{
	return atomic_load(&((struct writer *)w)->depth);
}

bool
writer_store_up(const struct writer *w)
{
	return !atomic_load(&((struct writer *)w)->down);
}

void
writer_drain(struct writer *w, void (*done)(void *), void *arg)
{
	pthread_mutex_lock(&w->mu);
	w->draining = true;
	pthread_mutex_unlock(&w->mu);
	w->drain_cb = done;
	w->drain_arg = arg;
	/* Let on_done judge on the loop, where drain_cb must run. */
	event_active(w->done_ev, EV_READ, 0);
}

/* --- the transaction of a group (writer thread) ------------------------------ */

/* Context for the row callbacks: the writer and its group. */
struct rowctx {
	struct writer *w;
	struct group *g;
};

static void
on_new_reading(void *arg, uint32_t job, uint32_t idx)
{
	struct rowctx *c = arg;

	if (job < c->g->njobs && idx < c->g->jobs[job]->nreadings)
		c->w->stored[c->g->off[job] + idx] = 1;
}

static void
on_new_quarantined(void *arg, uint32_t job, uint32_t idx)
{
	struct rowctx *c = arg;

	if (job < c->g->njobs && idx < c->g->jobs[job]->nunknown)
		c->g->jobs[job]->quarantined++;
}

static void
on_new_event(void *arg, uint32_t job, uint32_t idx)
{
	struct rowctx *c = arg;

	if (job < c->g->njobs && idx < c->g->jobs[job]->nevents)
		c->g->jobs[job]->events[idx].duplicate = false;
}

/* Readings: the fast path, or the slow one when some were stored before. */
static int
write_readings(struct writer *w, struct group *g, struct store_err *err)
{
	struct rowctx c = {w, g};
	struct store_err e2;

	if (g->nreadings == 0)
		return 0;
	store_copy_buf_reset(&w->rows);
	for (size_t j = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nreadings; i++)
			ingestd_store_reading_row(
			    &w->rows, &g->jobs[j]->readings[i]);
	if (w->rows.failed) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		return -1;
	}
	if (ingestd_store_savepoint(w->st, err) < 0)
		return -1;
	if (ingestd_store_copy_readings(w->st, &w->rows, err) >= 0) {
		memset(w->stored, 1, g->nreadings);
		return 0;
	}
	if (err->kind != STORE_ERR_SQL || strcmp(err->sqlstate, "23505") != 0)
		return -1;
	/* A retried batch: find out row by row, in one statement. */
	if (ingestd_store_rollback_savepoint(w->st, &e2) < 0) {
		*err = e2;
		return -1;
	}
	memset(w->stored, 0, g->nreadings);
	store_copy_buf_reset(&w->staged);
	for (size_t j = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nreadings; i++)
			ingestd_store_staged_reading_row(&w->staged,
			    (uint32_t)j, (uint32_t)i, g->jobs[j]->source,
			    &g->jobs[j]->readings[i]);
	if (w->staged.failed) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		return -1;
	}
	return ingestd_store_insert_readings(
	    w->st, &w->staged, on_new_reading, &c, err);
}

static int
write_quarantine(struct writer *w, struct group *g, struct store_err *err)
{
	struct rowctx c = {w, g};

	if (g->nunknown == 0)
		return 0;
	store_copy_buf_reset(&w->staged);
	for (size_t j = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nunknown; i++)
			ingestd_store_staged_reading_row(&w->staged,
			    (uint32_t)j, (uint32_t)i, g->jobs[j]->source,
			    &g->jobs[j]->unknown[i]);
	if (w->staged.failed) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		return -1;
	}
	return ingestd_store_insert_quarantine(
	    w->st, &w->staged, on_new_quarantined, &c, err);
}

/* Run one new event's apply under a savepoint; a refusal takes the event
 * back and rejects it, the rest of the group goes on. */
static int
apply_event(struct writer *w, struct ingest_job *job, struct ingest_event *ev,
    struct store_err *err)
{
	struct store_err aerr;

	if (ingestd_store_savepoint(w->st, err) < 0)
		return -1;
	if (ev->kind->apply(w->st, job->source, ev, &aerr) == 0)
		return 0;
	if (aerr.kind == STORE_ERR_CONN) {
		*err = aerr;
		return -1;
	}
	if (ingestd_store_rollback_savepoint(w->st, err) < 0 ||
	    ingestd_store_delete_event(w->st, job->source, ev->id, err) < 0)
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

static int
write_events(struct writer *w, struct group *g, struct store_err *err)
{
	struct rowctx c = {w, g};

	if (g->nevents == 0)
		return 0;
	store_copy_buf_reset(&w->staged);
	for (size_t j = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nevents; i++) {
			g->jobs[j]->events[i].duplicate = true;
			ingestd_store_event_row(&w->staged, (uint32_t)j,
			    (uint32_t)i, g->jobs[j]->source,
			    &g->jobs[j]->events[i]);
		}
	if (w->staged.failed) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		return -1;
	}
	if (ingestd_store_insert_events(w->st, &w->staged, on_new_event, &c,
	        err) < 0)
		return -1;
	/* In request order, so an enterprise lands before its points. */
	for (size_t j = 0; j < g->njobs; j++) {
		struct ingest_job *job = g->jobs[j];

		for (size_t i = 0; i < job->nevents; i++) {
			struct ingest_event *ev = &job->events[i];
			int rc;

			if (ev->duplicate) {
				job->duplicates++;
				continue;
			}
			if (ev->kind->apply != NULL) {
				rc = apply_event(w, job, ev, err);
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

/* --- bus messages of a group ------------------------------------------------- */

static Anquan__Reading__Quality
proto_quality(uint8_t q)
{
	switch (q) {
	case INGEST_Q_BAD:
		return ANQUAN__READING__QUALITY__BAD;
	case INGEST_Q_MAINTENANCE:
		return ANQUAN__READING__QUALITY__MAINTENANCE;
	default:
		return ANQUAN__READING__QUALITY__GOOD;
	}
}

/* What the messages of one group point into, freed after staging. */
struct busmsgs {
	size_t n, cap;
	const char **topics;
	Anquan__Envelope **envs;
	Anquan__Envelope *env_store;
	Anquan__ReadingBatch *rb;
	Anquan__EventBatch *eb;
	char (*names)[BUS_TOPIC_MAX + 1];
	char (*parts)[2][32];
	Anquan__Reading *readings;
	Anquan__Reading **rptr;
	Anquan__Event *events;
	Anquan__Event **eptr;
};

static void
busmsgs_free(struct busmsgs *m)
{
	free(m->topics);
	free(m->envs);
	free(m->env_store);
	free(m->rb);
	free(m->eb);
	free(m->names);
	free(m->parts);
	free(m->readings);
	free(m->rptr);
	free(m->events);
	free(m->eptr);
}

/* The source of a message when all its items share one, else "". */
static const char *
common_source(const char *cur, const char *src)
{
	if (cur == NULL)
		return src;
	return strcmp(cur, src) == 0 ? cur : "";
}

/* One ReadingBatch per topic of the readings the group newly stored. */
static int
build_reading_msgs(struct writer *w, struct group *g, struct busmsgs *m,
    const char *batch_id)
{
	int ntopics = registry_ntopics(w->reg);
	size_t *start, nstored = 0;
	const char **src;

	start = calloc((size_t)ntopics + 1, sizeof(*start));
	src = calloc((size_t)ntopics + 1, sizeof(*src));
	if (start == NULL || src == NULL)
		goto oom;
	for (size_t j = 0, k = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nreadings; i++, k++) {
			const struct ingest_reading *r =
			    &g->jobs[j]->readings[i];

			if (!w->stored[k] || r->topic >= ntopics)
				continue;
			start[r->topic + 1]++;
			nstored++;
		}
	m->readings = calloc(nstored + 1, sizeof(*m->readings));
	m->rptr = calloc(nstored + 1, sizeof(*m->rptr));
	if (m->readings == NULL || m->rptr == NULL)
		goto oom;
	for (int t = 0; t < ntopics; t++)
		start[t + 1] += start[t];
	/* Counting sort by topic, in request order within a topic. */
	for (size_t j = 0, k = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nreadings; i++, k++) {
			const struct ingest_reading *r =
			    &g->jobs[j]->readings[i];
			Anquan__Reading pr = ANQUAN__READING__INIT;
			size_t at;

			if (!w->stored[k] || r->topic >= ntopics)
				continue;
			at = start[r->topic]++;
			pr.point = (char *)r->point;
			pr.ts_ms = r->ts_ms;
			pr.value = r->has_value ? r->value : 0;
			pr.quality = proto_quality(r->quality);
			m->readings[at] = pr;
			m->rptr[at] = &m->readings[at];
			src[r->topic] = common_source(src[r->topic],
			    g->jobs[j]->source);
		}
	/* start[t] is now the end of topic t; its beginning is start[t-1]. */
	for (int t = 0; t < ntopics; t++) {
		size_t lo = t == 0 ? 0 : start[t - 1], hi = start[t];
		Anquan__ReadingBatch rb = ANQUAN__READING_BATCH__INIT;
		Anquan__Envelope env = ANQUAN__ENVELOPE__INIT;
		const char *name = registry_topic(w->reg, t);
		const char *d, *s;
		size_t n = m->n;

		if (hi == lo || name == NULL)
			continue;
		snprintf(m->names[n], sizeof(m->names[n]), "%s", name);
		/* rd.<district>.<sector> */
		d = strchr(name, '.');
		s = d != NULL ? strchr(d + 1, '.') : NULL;
		if (d != NULL && s != NULL) {
			snprintf(m->parts[n][0], sizeof(m->parts[n][0]),
			    "%.*s", (int)(s - d - 1), d + 1);
			snprintf(m->parts[n][1], sizeof(m->parts[n][1]), "%s",
			    s + 1);
		}
		rb.source = (char *)(src[t] != NULL ? src[t] : "");
		rb.batch_id = (char *)batch_id;
		rb.district = m->parts[n][0];
		rb.sector = m->parts[n][1];
		rb.n_readings = hi - lo;
		rb.readings = &m->rptr[lo];
		m->rb[n] = rb;
		env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
		env.readings = &m->rb[n];
		m->env_store[n] = env;
		m->envs[n] = &m->env_store[n];
		m->topics[n] = m->names[n];
		m->n++;
	}
	free(start);
	free(src);
	return 0;
oom:
	free(start);
	free(src);
	return -1;
}

/* One EventBatch per kind of the events the group newly stored. */
static int
build_event_msgs(struct writer *w, struct group *g, struct busmsgs *m,
    const char *batch_id)
{
	size_t nnew = 0, at = 0;
	int64_t now = timeutil_now_ms();

	(void)w;
	for (size_t j = 0; j < g->njobs; j++)
		for (size_t i = 0; i < g->jobs[j]->nevents; i++)
			nnew += !g->jobs[j]->events[i].duplicate;
	if (nnew == 0)
		return 0;
	m->events = calloc(nnew, sizeof(*m->events));
	m->eptr = calloc(nnew, sizeof(*m->eptr));
	if (m->events == NULL || m->eptr == NULL)
		return -1;
	/* Kinds are few: a pass over the events per kind found. */
	for (size_t j0 = 0; j0 < g->njobs; j0++)
		for (size_t i0 = 0; i0 < g->jobs[j0]->nevents; i0++) {
			const struct ingest_kind *kind;
			Anquan__EventBatch eb = ANQUAN__EVENT_BATCH__INIT;
			Anquan__Envelope env = ANQUAN__ENVELOPE__INIT;
			const char *src = NULL;
			size_t first = at, n = m->n;
			bool seen = false;

			if (g->jobs[j0]->events[i0].duplicate)
				continue;
			kind = g->jobs[j0]->events[i0].kind;
			for (size_t k = 0; k < n && !seen; k++)
				seen = m->eb[k].n_events > 0 &&
				    strcmp(m->names[k] + 3, kind->name) == 0;
			if (seen)
				continue;
			for (size_t j = j0; j < g->njobs; j++)
				for (size_t i = j == j0 ? i0 : 0;
				     i < g->jobs[j]->nevents; i++) {
					struct ingest_event *ev =
					    &g->jobs[j]->events[i];
					Anquan__Event pe = ANQUAN__EVENT__INIT;

					if (ev->duplicate || ev->kind != kind)
						continue;
					pe.kind = (char *)kind->name;
					pe.id = ev->id;
					pe.at_ms = ev->at_ms;
					pe.source = g->jobs[j]->source;
					pe.received_at_ms = now;
					pe.data_case = ANQUAN__EVENT__DATA_JSON;
					pe.json = ev->data_json != NULL
					    ? ev->data_json
					    : (char *)"{}";
					m->events[at] = pe;
					m->eptr[at] = &m->events[at];
					at++;
					src = common_source(
					    src, g->jobs[j]->source);
				}
			snprintf(m->names[n], sizeof(m->names[n]), "ev.%s",
			    kind->name);
			eb.source = (char *)(src != NULL ? src : "");
			eb.batch_id = (char *)batch_id;
			eb.n_events = at - first;
			eb.events = &m->eptr[first];
			m->eb[n] = eb;
			env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_EVENTS;
			env.events = &m->eb[n];
			m->env_store[n] = env;
			m->envs[n] = &m->env_store[n];
			m->topics[n] = m->names[n];
			m->n++;
		}
	return 0;
}

/* Stage the group's messages in bus_log on a new producer (*prod). */
static int
stage_messages(struct writer *w, struct group *g, struct bus_producer **prod,
    struct store_err *err)
{
	struct busmsgs m = {0};
	char batch_id[48], why[256];
	size_t cap;
	PGconn *conn;
	int rc = -1;

	*prod = NULL;
	if (w->pub == NULL)
		return 0;
	cap = (size_t)registry_ntopics(w->reg) + g->nevents + 1;
	m.topics = calloc(cap, sizeof(*m.topics));
	m.envs = calloc(cap, sizeof(*m.envs));
	m.env_store = calloc(cap, sizeof(*m.env_store));
	m.rb = calloc(cap, sizeof(*m.rb));
	m.eb = calloc(cap, sizeof(*m.eb));
	m.names = calloc(cap, sizeof(*m.names));
	m.parts = calloc(cap, sizeof(*m.parts));
	snprintf(batch_id, sizeof(batch_id), "ingestd-%ld-%" PRIu64,
	    (long)getpid(), w->groups);
	if (m.topics == NULL || m.envs == NULL || m.env_store == NULL ||
	    m.rb == NULL || m.eb == NULL || m.names == NULL ||
	    m.parts == NULL || build_reading_msgs(w, g, &m, batch_id) < 0 ||
	    build_event_msgs(w, g, &m, batch_id) < 0) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		goto out;
	}
	if (m.n == 0) {
		rc = 0;
		goto out;
	}
	*prod = bus_producer_new(w->pub, "ingestd");
	conn = store_conn(w->st);
	if (*prod == NULL || conn == NULL) {
		store_err_set(err, conn == NULL ? STORE_ERR_CONN : STORE_ERR_SQL,
		    conn == NULL ? "08006" : "53200",
		    conn == NULL ? "connection lost" : "out of memory");
		goto out;
	}
	if (bus_producer_stage_many(*prod, conn, m.n, m.topics,
	        (const Anquan__Envelope *const *)m.envs, why,
	        sizeof(why)) < 0) {
		bool lost = PQstatus(conn) == CONNECTION_BAD;

		store_err_set(err, lost ? STORE_ERR_CONN : STORE_ERR_SQL,
		    lost ? "08006" : "XX000", why);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && *prod != NULL) {
		bus_producer_free(*prod);
		*prod = NULL;
	}
	busmsgs_free(&m);
	return rc;
}

/*
 * The whole transaction of a group.  0 with every job's counts set and the
 * staged bus messages in *prod, or -1 with err (rolled back, *prod NULL);
 * *at_commit says the COMMIT itself failed, whose outcome is unknown.
 */
static int
commit_group(struct writer *w, struct group *g, struct bus_producer **prod,
    struct store_err *err, bool *at_commit)
{
	struct store_err rb;

	*prod = NULL;
	*at_commit = false;
	for (size_t j = 0; j < g->njobs; j++) {
		g->jobs[j]->accepted = 0;
		g->jobs[j]->duplicates = 0;
		g->jobs[j]->quarantined = 0;
	}
	if (store_begin(w->st, err) < 0)
		return -1;
	if (write_readings(w, g, err) < 0 || write_quarantine(w, g, err) < 0 ||
	    write_events(w, g, err) < 0 || stage_messages(w, g, prod, err) < 0)
		goto fail;
	if (store_commit(w->st, err) < 0) {
		*at_commit = true;
		goto fail;
	}
	for (size_t j = 0, k = 0; j < g->njobs; j++) {
		struct ingest_job *job = g->jobs[j];
		uint32_t fresh = 0;

		for (size_t i = 0; i < job->nreadings; i++, k++)
			fresh += w->stored[k];
		job->accepted += fresh;
		job->duplicates += (uint32_t)job->nreadings - fresh +
		    (uint32_t)job->nunknown - job->quarantined;
	}
	return 0;
fail:
	store_rollback(w->st, &rb);
	if (*prod != NULL) {
		bus_producer_free(*prod);
		*prod = NULL;
	}
	return -1;
}

static int
group_init(struct writer *w, struct group *g, struct ingest_job *jobs)
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
	if (g->nreadings + 1 > w->stored_cap) {
		uint8_t *p = realloc(w->stored, g->nreadings + 1);

		if (p == NULL)
			return -1;
		w->stored = p;
		w->stored_cap = g->nreadings + 1;
	}
	return 0;
}

static void
group_free(struct group *g)
{
	free(g->jobs);
	free(g->off);
}

static void
set_status(struct group *g, enum ingest_status st, const char *why,
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

/* Write a group; on failure, say why per job.  Returns the producer. */
static struct bus_producer *
write_group(struct writer *w, struct group *g, const size_t *nrej)
{
	struct bus_producer *prod = NULL;
	struct store_err err;
	char q[320];
	bool at_commit;
	int64_t t0 = timeutil_mono_us();
	int rc;

	rc = commit_group(w, g, &prod, &err, &at_commit);
	/* A connection the server dropped while idle fails once: retry at
	 * once, unless the COMMIT itself was lost (its outcome unknown). */
	if (rc < 0 && err.kind == STORE_ERR_CONN && !at_commit) {
		for (size_t j = 0; j < g->njobs; j++)
			g->jobs[j]->nrejected = nrej[j];
		rc = commit_group(w, g, &prod, &err, &at_commit);
	}
	if (rc == 0) {
		metrics_observe(
		    w->m_commit, (double)(timeutil_mono_us() - t0) / 1e6);
		set_status(g, INGEST_OK, NULL, nrej);
		return prod;
	}
	if (err.kind == STORE_ERR_CONN) {
		if (!atomic_exchange(&w->down, true))
			log_warn("ingest.store_down", "error=%s",
			    log_quote(q, sizeof(q), err.msg));
		metrics_inc(w->m_store_down);
		set_status(g, INGEST_STORE_DOWN, err.msg, nrej);
		return NULL;
	}
	log_error("ingest.group_failed", "jobs=%zu items=%zu sqlstate=%s "
	    "error=%s", g->njobs, g->items, err.sqlstate, log_quote(q, sizeof(q), err.msg));
	metrics_inc(w->m_failed);
	set_status(g, INGEST_FAILED, err.msg, nrej);
	return NULL;
}

/* Commit a group; if it fails for its content, each job on its own. */
static void
process(struct writer *w, struct ingest_job *jobs)
{
	struct done_batch *head = NULL, *tail = NULL;
	struct group g;
	size_t *nrej = NULL;

	w->groups++;
	if (group_init(w, &g, jobs) < 0 ||
	    (nrej = calloc(g.njobs + 1, sizeof(*nrej))) == NULL) {
		for (struct ingest_job *j = jobs; j != NULL; j = j->next) {
			j->status = INGEST_FAILED;
			snprintf(j->error, sizeof(j->error), "out of memory");
		}
		head = calloc(1, sizeof(*head));
		group_free(&g);
		if (head == NULL)
			log_fatal("ingest.oom", "what=done_batch");
		head->jobs = jobs;
		tail = head;
		goto hand_back;
	}
	metrics_observe(w->m_group, (double)g.items);
	for (size_t j = 0; j < g.njobs; j++)
		nrej[j] = g.jobs[j]->nrejected;
	head = calloc(1, sizeof(*head));
	if (head == NULL)
		log_fatal("ingest.oom", "what=done_batch");
	head->jobs = jobs;
	tail = head;
	head->prod = write_group(w, &g, nrej);
	if (g.njobs > 1 && g.jobs[0]->status == INGEST_FAILED) {
		/* Split the group: every job alone, its own answer. */
		for (size_t j = 0; j < g.njobs; j++) {
			struct group one = g;

			one.jobs = &g.jobs[j];
			one.off = &(size_t){0};
			one.njobs = 1;
			one.nreadings = g.jobs[j]->nreadings;
			one.nunknown = g.jobs[j]->nunknown;
			one.nevents = g.jobs[j]->nevents;
			one.items = job_items(g.jobs[j]);
			if (j == 0) {
				head->prod = write_group(w, &one, &nrej[j]);
				continue;
			}
			tail->next = calloc(1, sizeof(*tail));
			if (tail->next == NULL)
				log_fatal("ingest.oom", "what=done_batch");
			tail = tail->next;
			tail->prod = write_group(w, &one, &nrej[j]);
		}
		/* Each batch answers its own job: cut the chain. */
		for (size_t j = 0; j < g.njobs; j++)
			g.jobs[j]->next = NULL;
		{
			struct done_batch *b = head;

			for (size_t j = 0; j < g.njobs; j++, b = b->next)
				b->jobs = g.jobs[j];
		}
	}
	for (size_t j = 0; j < g.njobs; j++) {
		metrics_add(w->m_accepted, g.jobs[j]->accepted);
		metrics_add(w->m_duplicates, g.jobs[j]->duplicates);
		metrics_add(w->m_quarantined, g.jobs[j]->quarantined);
	}
	group_free(&g);
	free(nrej);
hand_back:
	pthread_mutex_lock(&w->mu);
	if (w->dtail != NULL)
		w->dtail->next = head;
	else
		w->dhead = head;
	w->dtail = tail;
	w->busy = false;
	pthread_mutex_unlock(&w->mu);
	event_active(w->done_ev, EV_READ, 0);
}

/* --- the thread ---------------------------------------------------------------- */

static void
deadline_after_us(struct timespec *ts, int64_t us)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(us / 1000000);
	ts->tv_nsec += (long)(us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Try the store (writer thread): up again when it answers. */
static void
probe(struct writer *w)
{
	struct store_err err;

	if (store_exec(w->st, "SELECT 1", 0, NULL, NULL, &err) == 0) {
		if (atomic_exchange(&w->down, false))
			log_info("ingest.store_up", "note=\"accepting again\"");
	} else {
		atomic_store(&w->down, true);
	}
}

/* Take a group from the queue (mu held): the first job, and whoever comes
 * within group_wait_us, up to group_max items. */
static struct ingest_job *
take_group(struct writer *w)
{
	struct ingest_job *head = NULL, *tail = NULL;
	struct timespec deadline;
	size_t items = 0;
	bool waited = false;

	deadline_after_us(&deadline, w->group_wait_us);
	for (;;) {
		while (w->qhead != NULL && items < w->group_max) {
			struct ingest_job *job = w->qhead;

			w->qhead = job->next;
			if (w->qhead == NULL)
				w->qtail = NULL;
			job->next = NULL;
			w->qitems -= job_items(job);
			items += job_items(job);
			if (tail != NULL)
				tail->next = job;
			else
				head = job;
			tail = job;
		}
		if (items >= w->group_max || w->stopping || w->draining ||
		    w->group_wait_us <= 0)
			break;
		if (pthread_cond_timedwait(&w->cv, &w->mu, &deadline) ==
		    ETIMEDOUT) {
			if (waited || w->qhead == NULL)
				break;
			waited = true;
		}
	}
	atomic_store(&w->depth, w->qitems);
	return head;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	probe(w);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct ingest_job *jobs;

		while (w->qhead == NULL && !w->stopping) {
			if (atomic_load(&w->down)) {
				struct timespec ts;

				deadline_after_us(&ts, PROBE_PERIOD_MS * 1000);
				pthread_cond_timedwait(&w->cv, &w->mu, &ts);
				pthread_mutex_unlock(&w->mu);
				probe(w);
				pthread_mutex_lock(&w->mu);
			} else {
				pthread_cond_wait(&w->cv, &w->mu);
			}
		}
		if (w->qhead == NULL && w->stopping)
			break;
		jobs = take_group(w);
		w->busy = true;
		pthread_mutex_unlock(&w->mu);
		metrics_set(w->m_queue, (double)atomic_load(&w->depth));
		process(w, jobs);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* --- life cycle ---------------------------------------------------------------- */

static void
register_metrics(struct writer *w, struct metrics *m)
{
	w->m_accepted = metrics_counter(m, "anquan_ingest_accepted_total",
	    "items newly stored (readings and events)", NULL);
	w->m_duplicates = metrics_counter(m, "anquan_ingest_duplicates_total",
	    "items already stored (a retried batch), answered as duplicates",
	    NULL);
	w->m_quarantined = metrics_counter(m,
	    "anquan_ingest_quarantined_total",
	    "readings of unknown points kept in quarantine", NULL);
	w->m_queue = metrics_gauge(m, "anquan_ingest_queue_items",
	    "items waiting for the writer", NULL);
	w->m_commit = metrics_histogram(m, "anquan_ingest_commit_seconds",
	    "duration of a group commit, from BEGIN to COMMIT", NULL,
	    metrics_latency_buckets, metrics_latency_nbuckets);
	w->m_group = metrics_histogram(m, "anquan_ingest_group_items",
	    "items per group commit", NULL, group_buckets,
	    sizeof(group_buckets) / sizeof(group_buckets[0]));
	w->m_store_down = metrics_counter(m,
	    "anquan_ingest_store_down_total",
	    "groups that failed because the store was out of reach", NULL);
	w->m_failed = metrics_counter(m, "anquan_ingest_group_failed_total",
	    "groups the store refused for another reason", NULL);
}

struct writer *
writer_new(struct event_base *base, const struct writer_opts *opts,
    struct registry *reg, void (*publish)(void *arg, struct bus_producer *prod),
    void *arg)
{
	struct writer *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	struct store_opts sopts = {0};

	if (w == NULL)
		return NULL;
	w->base = base;
	w->reg = reg;
	w->publish = publish;
	w->publish_arg = arg;
	w->pub = opts->pub;
	w->queue_max = opts->queue_max_items > 0 ? opts->queue_max_items : 1;
	w->group_max = opts->group_max_items > 0 ? opts->group_max_items : 1;
	w->group_wait_us = opts->group_wait_us;
	atomic_init(&w->depth, 0);
	atomic_init(&w->down, false);
	store_copy_buf_init(&w->rows);
	store_copy_buf_init(&w->staged);
	if (opts->store != NULL)
		sopts = *opts->store;
	sopts.application_name = "ingestd-writer";
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (opts->metrics != NULL)
		register_metrics(w, opts->metrics);
	w->st = store_open(opts->conninfo, &sopts);
	w->done_ev = event_new(base, -1, 0, on_done, w);
	if (w->st == NULL || w->done_ev == NULL)
		goto fail;
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		log_error("ingest.writer_thread", "error=%s", strerror(errno));
		goto fail;
	}
	w->thread_started = true;
	return w;
fail:
	writer_free(w);
	return NULL;
}

void
writer_free(struct writer *w)
{
	struct done_batch *b;

	if (w == NULL)
		return;
	if (w->thread_started) {
		pthread_mutex_lock(&w->mu);
		w->stopping = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	/*
	 * When drain timed out: what committed is still published and
	 * answered, what never ran is answered as not kept.
	 */
	w->drain_called = true;
	if (w->done_ev != NULL)
		on_done(-1, 0, w);
	while (w->qhead != NULL) {
		struct ingest_job *job = w->qhead;

		w->qhead = job->next;
		job->next = NULL;
		job->status = INGEST_OVERLOAD;
		snprintf(job->error, sizeof(job->error), "shutting down");
		if (job->done != NULL)
			job->done(job);
		else
			ingest_job_free(job);
	}
	while ((b = w->dhead) != NULL) {
		w->dhead = b->next;
		while (b->jobs != NULL) {
			struct ingest_job *job = b->jobs;

			b->jobs = job->next;
			ingest_job_free(job);
		}
		bus_producer_free(b->prod);
		free(b);
	}
	if (w->done_ev != NULL)
		event_free(w->done_ev);
	store_close(w->st);
	store_copy_buf_free(&w->rows);
	store_copy_buf_free(&w->staged);
	free(w->stored);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

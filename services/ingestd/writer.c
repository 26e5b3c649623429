/*
 * writer - ingestd's writer threads: a bounded queue and group commit.
 *
 * api.c and intake.c validate a request into a job on the loop thread and
 * hand it over with writer_submit().  The writer runs writer_connections
 * threads, each with a store connection of its own, all taking from the
 * one queue: a thread takes the first job waiting, lets others join it for
 * up to group_wait_us (or until the group holds group_max_items), and
 * makes the whole group durable in ONE transaction on its connection:
 * readings by one COPY (the fast path) or, when some were stored before
 * (a retried batch), through a staging table that tells new rows from
 * duplicates; readings of unknown points into quarantine; events
 * deduplicated by (source, id) and applied by their kind; and the group's
 * bus messages staged in bus_log.  After the COMMIT it hands the jobs and
 * the bus producer back to the loop (a mutex-protected list and
 * event_active), where the committed hooks update the registry, the
 * messages are published and every job's done callback answers.  So
 * nothing is answered 202, and nothing published, before it is on disk.
 * Groups of different threads commit in any order, but their bus messages
 * reach the loop in the order of their streams' seqs (the tickets of
 * struct writer).
 *
 * This file is the queue, the threads, the hand-back and the life cycle.
 * The transaction of a group is in writer_group.c, the bus messages it
 * stages in writer_bus.c, the SQL in ingestd_store.c; writer_internal.h is
 * what the three writer files share.
 *
 * When the store is out of reach the group's jobs end INGEST_STORE_DOWN,
 * the writer says so (writer_store_up) and refuses new jobs, and every
 * thread whose connection failed probes it until it answers again; the
 * writer is up once all of them do: recovery needs no restart.  A group
 * that fails for another reason is retried job by job, so one bad job
 * cannot sink the others.
 *
 * Ownership: the queue, the threads and their stores are the writer's; a
 * job is the writer's from writer_submit() until its done callback, which
 * gets it back on the loop thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "bus.h"
#include "ingestd.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"
#include "writer_internal.h"

/* How often a writer whose store is down tries it again. */
#define PROBE_PERIOD_MS 100

/* A committed (or failed) group on its way back to the loop. */
struct done_batch {
	struct done_batch *next;
	struct ingest_job *jobs; /* linked by job->next, in queue order */
	struct bus_producer *prod;
	uint64_t ticket; /* place in the bus order, when prod is set */
	bool marker;	 /* a dropped ticket: nothing to hand back */
};

/* Bounds of the group size histogram, in items. */
static const double group_buckets[] = {1, 10, 100, 500, 1000, 2000, 5000,
    10000, 20000, 50000, 100000};

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
	idle = w->draining && w->qhead == NULL && w->nbusy == 0 &&
	    w->dhead == NULL && w->held == NULL;
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
	/* Wake the collecting thread, whichever it is. */
	pthread_cond_broadcast(&w->cv);
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

/* --- the bus order and the hand-back ------------------------------------ */

static void
append_done(struct writer *w, struct done_batch *b)
{
	b->next = NULL;
	if (w->dtail != NULL)
		w->dtail->next = b;
	else
		w->dhead = b;
	w->dtail = b;
}

/* Hold a ticketed batch in ticket order, then pass on to the loop every
 * one whose predecessors all came back. */
static void
hold_ticketed(struct writer *w, struct done_batch *b)
{
	struct done_batch **pp = &w->held;

	while (*pp != NULL && (*pp)->ticket < b->ticket)
		pp = &(*pp)->next;
	b->next = *pp;
	*pp = b;
	while (w->held != NULL && w->held->ticket == w->next_release) {
		struct done_batch *r = w->held;

		w->held = r->next;
		w->next_release++;
		if (r->marker)
			free(r);
		else
			append_done(w, r);
	}
}

uint64_t
writer_take_ticket(struct writer *w)
{
	uint64_t t;

	pthread_mutex_lock(&w->mu);
	t = w->next_ticket++;
	pthread_mutex_unlock(&w->mu);
	return t;
}

void
writer_drop_ticket(struct writer *w, uint64_t ticket)
{
	struct done_batch *b = calloc(1, sizeof(*b));

	/* Without it the bus order would wait for this ticket forever. */
	if (b == NULL)
		log_fatal("ingest.oom", "what=done_batch");
	b->ticket = ticket;
	b->marker = true;
	pthread_mutex_lock(&w->mu);
	hold_ticketed(w, b);
	pthread_mutex_unlock(&w->mu);
	/* It may have let other threads' batches through. */
	event_active(w->done_ev, EV_READ, 0);
}

void
writer_conn_lost(struct writer_conn *c, const char *why)
{
	struct writer *w = c->w;
	char q[320];
	bool was_down;

	pthread_mutex_lock(&w->mu);
	if (!c->lost) {
		c->lost = true;
		w->nlost++;
	}
	was_down = atomic_exchange(&w->down, true);
	pthread_mutex_unlock(&w->mu);
	if (!was_down)
		log_warn("ingest.store_down", "conn=%u error=%s", c->index,
		    log_quote(q, sizeof(q), why));
}

/* Commit a group; if it fails for its content, each job on its own. */
static void
process(struct writer_conn *c, struct ingest_job *jobs)
{
	struct writer *w = c->w;
	struct done_batch *head = NULL, *tail = NULL;
	struct writer_group g;
	size_t *nrej = NULL;

	c->groups++;
	if (writer_group_init(c, &g, jobs) < 0 ||
	    (nrej = calloc(g.njobs + 1, sizeof(*nrej))) == NULL) {
		for (struct ingest_job *j = jobs; j != NULL; j = j->next) {
			j->status = INGEST_FAILED;
			snprintf(j->error, sizeof(j->error), "out of memory");
		}
		head = calloc(1, sizeof(*head));
		writer_group_free(&g);
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
	head->prod = writer_group_write(c, &g, nrej, &head->ticket);
	if (g.njobs > 1 && g.jobs[0]->status == INGEST_FAILED) {
		/* Split the group: every job alone, its own answer. */
		for (size_t j = 0; j < g.njobs; j++) {
			struct writer_group one = g;

			one.jobs = &g.jobs[j];
			one.off = &(size_t){0};
			one.njobs = 1;
			one.nreadings = g.jobs[j]->nreadings;
			one.nunknown = g.jobs[j]->nunknown;
			one.nevents = g.jobs[j]->nevents;
			one.items = job_items(g.jobs[j]);
			if (j == 0) {
				head->prod = writer_group_write(
				    c, &one, &nrej[j], &head->ticket);
				continue;
			}
			tail->next = calloc(1, sizeof(*tail));
			if (tail->next == NULL)
				log_fatal("ingest.oom", "what=done_batch");
			tail = tail->next;
			tail->prod = writer_group_write(
			    c, &one, &nrej[j], &tail->ticket);
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
	writer_group_free(&g);
	free(nrej);
hand_back:
	pthread_mutex_lock(&w->mu);
	while (head != NULL) {
		struct done_batch *next = head->next;

		if (head->prod != NULL)
			hold_ticketed(w, head);
		else
			append_done(w, head);
		head = next;
	}
	w->nbusy--;
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

/* Try c's connection (its thread, mu not held): the writer is up again
 * when this was the last connection lost. */
static void
probe(struct writer_conn *c)
{
	struct writer *w = c->w;
	struct store_err err;
	bool up = false;

	if (store_exec(c->st, "SELECT 1", 0, NULL, NULL, &err) != 0) {
		pthread_mutex_lock(&w->mu);
		if (!c->lost) {
			c->lost = true;
			w->nlost++;
		}
		atomic_store(&w->down, true);
		pthread_mutex_unlock(&w->mu);
		return;
	}
	pthread_mutex_lock(&w->mu);
	if (c->lost) {
		c->lost = false;
		w->nlost--;
	}
	if (w->nlost == 0)
		up = atomic_exchange(&w->down, false);
	pthread_mutex_unlock(&w->mu);
	if (up)
		log_info("ingest.store_up", "conn=%u note=\"accepting again\"",
		    c->index);
}

/*
 * Take a group from the queue (mu held): the first job, and whoever comes
 * within group_wait_us, up to group_max items.  One thread collects at a
 * time, so that jobs arriving meanwhile join its group rather than start
 * small ones on the other threads; what it leaves goes to the next.
 */
static struct ingest_job *
take_group(struct writer *w)
{
	struct ingest_job *head = NULL, *tail = NULL;
	struct timespec deadline;
	size_t items = 0;
	bool waited = false;

	w->collecting = true;
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
	w->collecting = false;
	if (w->qhead != NULL)
		pthread_cond_broadcast(&w->cv);
	atomic_store(&w->depth, w->qitems);
	return head;
}

static void *
writer_main(void *arg)
{
	struct writer_conn *c = arg;
	struct writer *w = c->w;

	probe(c);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct ingest_job *jobs;

		while (!w->stopping && (w->qhead == NULL || w->collecting)) {
			if (c->lost) {
				struct timespec ts;

				deadline_after_us(&ts, PROBE_PERIOD_MS * 1000);
				pthread_cond_timedwait(&w->cv, &w->mu, &ts);
				pthread_mutex_unlock(&w->mu);
				probe(c);
				pthread_mutex_lock(&w->mu);
			} else {
				pthread_cond_wait(&w->cv, &w->mu);
			}
		}
		if (w->qhead == NULL)
			break; /* stopping, and nothing left */
		jobs = take_group(w);
		if (jobs == NULL)
			continue;
		w->nbusy++;
		pthread_mutex_unlock(&w->mu);
		metrics_set(w->m_queue, (double)atomic_load(&w->depth));
		process(c, jobs);
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
	w->nconns = opts->connections > 0 ? opts->connections : 1;
	atomic_init(&w->depth, 0);
	atomic_init(&w->down, false);
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
	w->done_ev = event_new(base, -1, 0, on_done, w);
	w->conns = calloc(w->nconns, sizeof(*w->conns));
	if (w->done_ev == NULL || w->conns == NULL)
		goto fail;
	for (size_t i = 0; i < w->nconns; i++) {
		struct writer_conn *c = &w->conns[i];

		c->w = w;
		c->index = (unsigned)i;
		store_copy_buf_init(&c->rows);
		store_copy_buf_init(&c->staged);
		c->st = store_open(opts->conninfo, &sopts);
		if (c->st == NULL)
			goto fail;
	}
	for (size_t i = 0; i < w->nconns; i++) {
		struct writer_conn *c = &w->conns[i];
		int rc = pthread_create(&c->thread, NULL, writer_main, c);

		if (rc != 0) {
			log_error("ingest.writer_thread", "error=%s",
			    strerror(rc));
			goto fail;
		}
		c->thread_started = true;
	}
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
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; w->conns != NULL && i < w->nconns; i++)
		if (w->conns[i].thread_started)
			pthread_join(w->conns[i].thread, NULL);
	/* Every ticket came back with its thread's last group: none held. */
	while ((b = w->held) != NULL) {
		w->held = b->next;
		append_done(w, b);
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
	for (size_t i = 0; w->conns != NULL && i < w->nconns; i++) {
		struct writer_conn *c = &w->conns[i];

		store_close(c->st);
		store_copy_buf_free(&c->rows);
		store_copy_buf_free(&c->staged);
		free(c->stored);
	}
	free(w->conns);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/*
 * writer_bus - the bus messages of a group commit, staged before COMMIT.
 *
 * Inside the transaction of a group, writer_group.c calls
 * writer_bus_stage() to build what subscribers learn of the items the group
 * newly stored: one ReadingBatch per topic rd.<district>.<sector> (the
 * readings sorted by topic, in request order within one) and one
 * EventBatch per ev.<kind>; duplicates and events the store refused are
 * left out.  All of them are staged in bus_log on one new bus producer over
 * ingestd's PUB socket, so they commit or roll back with the rows they
 * describe; after the COMMIT, writer.c hands the producer to the loop,
 * which publishes and frees it.  The messages point into the jobs and into
 * arrays that live here only until staging; the producer is the caller's.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "ingestd.h"
#include "store.h"
#include "timeutil.h"
#include "writer_internal.h"

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
build_reading_msgs(struct writer_conn *c, struct writer_group *g,
    struct busmsgs *m, const char *batch_id)
{
	struct writer *w = c->w;
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

			if (!c->stored[k] || r->topic >= ntopics)
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

			if (!c->stored[k] || r->topic >= ntopics)
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
build_event_msgs(struct writer *w, struct writer_group *g, struct busmsgs *m,
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

int
writer_bus_stage(struct writer_conn *c, struct writer_group *g,
    struct bus_producer **prod, struct store_err *err)
{
	struct writer *w = c->w;
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
	/* Unique per group: the connection's number and its group count. */
	snprintf(batch_id, sizeof(batch_id), "ingestd-%ld-%u-%" PRIu64,
	    (long)getpid(), c->index, c->groups);
	if (m.topics == NULL || m.envs == NULL || m.env_store == NULL ||
	    m.rb == NULL || m.eb == NULL || m.names == NULL ||
	    m.parts == NULL || build_reading_msgs(c, g, &m, batch_id) < 0 ||
	    build_event_msgs(w, g, &m, batch_id) < 0) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		goto out;
	}
	if (m.n == 0) {
		rc = 0;
		goto out;
	}
	*prod = bus_producer_new(w->pub, "ingestd");
	conn = store_conn(c->st);
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

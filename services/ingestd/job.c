/*
 * job - one request or batch of ingestd, from validation to its answer.
 *
 * A job collects what validation made of a request (readings of known
 * points, readings for quarantine, events, rejections by index) and what
 * the writer made of it (status, counts).  readings.c and events.c fill it
 * on the loop thread, writer.c stores it, api.c and intake.c answer from
 * it and free it in their done callback.  The arrays grow by doubling, so
 * a batch of n readings costs O(log n) allocations, not n.  The job owns
 * every event's data_json and parsed form; ingest_job_free() releases
 * them, the latter through the event's kind.  ingest_job_item_fields()
 * is the first check of every JSON item, shared by readings.c and
 * events.c, so both refuse a stray or repeated field in the same words.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingestd.h"
#include "json.h"

/* First capacity of an array: one small request fits without a regrowth. */
#define JOB_CAP_MIN 16

/*
 * Make room for one more element of size elem in *arr (n used, *cap
 * allocated).  Doubling keeps appends amortised O(1).
 */
static int
job_grow(void **arr, size_t n, size_t *cap, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? JOB_CAP_MIN : *cap * 2;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return -1;
	p = realloc(*arr, ncap * elem);
	if (p == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

struct ingest_job *
ingest_job_new(enum ingest_job_kind kind, const char *source)
{
	struct ingest_job *job;

	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return NULL;
	job->kind = kind;
	if (source != NULL)
		snprintf(job->source, sizeof(job->source), "%s", source);
	job->status = INGEST_PENDING;
	return job;
}

void
ingest_job_free(struct ingest_job *job)
{
	size_t i;

	if (job == NULL)
		return;
	for (i = 0; i < job->nevents; i++) {
		struct ingest_event *ev = &job->events[i];

		cJSON_free(ev->data_json);
		if (ev->parsed != NULL && ev->kind != NULL &&
		    ev->kind->free != NULL)
			ev->kind->free(ev->parsed);
	}
	free(job->readings);
	free(job->unknown);
	free(job->events);
	free(job->rejected);
	free(job);
}

int
ingest_job_add_reading(struct ingest_job *job, const struct ingest_reading *r)
{
	if (job_grow((void **)&job->readings, job->nreadings,
		&job->readings_cap, sizeof(*job->readings)) != 0)
		return -1;
	job->readings[job->nreadings++] = *r;
	return 0;
}

int
ingest_job_add_unknown(struct ingest_job *job, const struct ingest_reading *r)
{
	if (job_grow((void **)&job->unknown, job->nunknown, &job->unknown_cap,
		sizeof(*job->unknown)) != 0)
		return -1;
	job->unknown[job->nunknown++] = *r;
	return 0;
}

/*
 * The job takes ownership of ev->data_json and ev->parsed only on success;
 * on failure they stay the caller's to release.
 */
int
ingest_job_add_event(struct ingest_job *job, struct ingest_event *ev)
{
	if (job_grow((void **)&job->events, job->nevents, &job->events_cap,
		sizeof(*job->events)) != 0)
		return -1;
	job->events[job->nevents++] = *ev;
	return 0;
}

int
ingest_job_reject(struct ingest_job *job, uint32_t index, const char *fmt, ...)
{
	struct ingest_reject *rj;
	va_list ap;

	if (job_grow((void **)&job->rejected, job->nrejected,
		&job->rejected_cap, sizeof(*job->rejected)) != 0)
		return -1;
	rj = &job->rejected[job->nrejected++];
	rj->index = index;
	va_start(ap, fmt);
	vsnprintf(rj->reason, sizeof(rj->reason), fmt, ap);
	va_end(ap);
	return 0;
}

/* "kind, id, at and data": the fields an item may have, for a reason
 * that shows the sender what was meant. */
static void
job_field_list(const char *const *names, size_t nnames, char *buf,
    size_t bufsize)
{
	const char *sep;
	size_t i, len = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < nnames && len < bufsize; i++) {
		sep = i == 0 ? "" : i + 1 == nnames ? " and " : ", ";
		n = snprintf(buf + len, bufsize - len, "%s%s", sep, names[i]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

int
ingest_job_item_fields(struct ingest_job *job, uint32_t index,
    const cJSON *item, const char *what, const char *const *names,
    const cJSON **const *out, size_t nnames)
{
	char known[INGEST_REASON_MAX];
	const cJSON *c;
	size_t i;

#define REFUSE(...)                                                            \
	return ingest_job_reject(job, index, __VA_ARGS__) == 0 ? 1 : -1

	if (!cJSON_IsObject(item))
		REFUSE("%s must be a JSON object, got %s", what,
		    json_type_name(item));
	for (i = 0; i < nnames; i++)
		*out[i] = NULL;
	for (c = item->child; c != NULL; c = c->next) {
		for (i = 0; i < nnames; i++)
			if (strcmp(c->string, names[i]) == 0)
				break;
		if (i == nnames) {
			job_field_list(names, nnames, known, sizeof(known));
			REFUSE("unknown field '%.40s' (%s has %s)", c->string,
			    what, known);
		}
		if (*out[i] != NULL)
			REFUSE("field '%s' appears twice", c->string);
		*out[i] = c;
	}
#undef REFUSE
	return 0;
}

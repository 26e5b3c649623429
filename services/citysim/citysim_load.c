/*
 * citysim_load - `citysim load` and `citysim dump`: the city, sent whole.
 *
 * load builds the city of the seed and sends it through POST /v1/events in
 * batches (o->batch events a request), phase by phase in the order of enum
 * sim_phase, so every record arrives after the enterprise it names: ingestd
 * answers only once a batch is committed and in its registry.  Each answer
 * is counted (accepted, duplicates, rejected); every rejection is printed
 * with the event's id and ingestd's reason, since the city should have
 * none, and makes the exit status 1.  A refused token exits with
 * SIM_EXIT_AUTH so deploy/run.sh can make a new one.  The time taken is
 * measured and printed: the issue wants the city in under a minute.
 *
 * dump prints the same request bodies, one per line, without sending:
 * what makes "same seed, same city, byte for byte" checkable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "citysim.h"
#include "timeutil.h"

#define ID_MAX 128
/* Rejections printed in full; the rest are counted. */
#define SHOW_REJECTED 50

struct load {
	const struct sim_opts *o;
	struct sim_city city;
	struct sim_feed feed;
	bool dump;
	struct json_out w;
	char (*ids)[ID_MAX]; /* of the events in the batch */
	size_t n;            /* events in the batch */
	long accepted, duplicates, rejected;
	size_t answered; /* events of the batches answered 202 */
	long ph_accepted, ph_duplicates, ph_rejected;
	int auth_refused;
};

static void
batch_open(struct load *l)
{
	json_out_reset(&l->w);
	json_out_obj_open(&l->w);
	json_out_key(&l->w, "events");
	json_out_arr_open(&l->w);
	l->n = 0;
}

/* Count one 202 answer; print its rejections. */
static int
count_answer(struct load *l, enum sim_phase ph, const struct sim_answer *a)
{
	cJSON *root = cJSON_ParseWithLength(a->body, a->len);
	const cJSON *acc, *dup, *rej, *it;

	acc = cJSON_GetObjectItemCaseSensitive(root, "accepted");
	dup = cJSON_GetObjectItemCaseSensitive(root, "duplicates");
	rej = cJSON_GetObjectItemCaseSensitive(root, "rejected");
	if (!cJSON_IsNumber(acc) || !cJSON_IsNumber(dup) ||
	    !cJSON_IsArray(rej)) {
		fprintf(stderr,
		    "citysim: %s: an answer citysim cannot read: "
		    "%.300s\n",
		    sim_emit_phase_name(ph), a->body);
		cJSON_Delete(root);
		return -1;
	}
	l->ph_accepted += (long)acc->valuedouble;
	l->ph_duplicates += (long)dup->valuedouble;
	cJSON_ArrayForEach(it, rej)
	{
		const cJSON *idx =
		    cJSON_GetObjectItemCaseSensitive(it, "index");
		const cJSON *err =
		    cJSON_GetObjectItemCaseSensitive(it, "error");
		size_t i = cJSON_IsNumber(idx) ? (size_t)idx->valuedouble : 0;

		if (l->rejected + l->ph_rejected < SHOW_REJECTED)
			fprintf(stderr, "citysim: rejected %s: %s\n",
			    i < l->n ? l->ids[i] : "?",
			    cJSON_IsString(err) ? err->valuestring : "?");
		l->ph_rejected++;
	}
	cJSON_Delete(root);
	return 0;
}

static int
batch_send(struct load *l, enum sim_phase ph)
{
	struct sim_answer a;
	char why[512];
	int rc = 0;

	if (l->n == 0)
		return 0;
	json_out_arr_close(&l->w);
	json_out_obj_close(&l->w);
	if (json_out_failed(&l->w)) {
		fprintf(stderr, "citysim: out of memory\n");
		return -1;
	}
	if (l->dump) {
		fwrite(json_out_data(&l->w), 1, json_out_len(&l->w), stdout);
		putchar('\n');
		return 0;
	}
	if (sim_feed_post(&l->feed, "/v1/events", json_out_data(&l->w),
	        json_out_len(&l->w), &a, why, sizeof(why)) != 0) {
		fprintf(
		    stderr, "citysim: %s: %s\n", sim_emit_phase_name(ph), why);
		return -1;
	}
	if (a.status == 202) {
		rc = count_answer(l, ph, &a);
		l->answered += l->n;
	} else {
		fprintf(stderr, "citysim: %s: ingestd answered %d: %.300s\n",
		    sim_emit_phase_name(ph), a.status, a.body);
		if (a.status == 401 || a.status == 403)
			l->auth_refused = 1;
		rc = -1;
	}
	sim_answer_free(&a);
	return rc;
}

static int
run_phase(struct load *l, enum sim_phase ph)
{
	size_t count = sim_emit_count(&l->city, ph);
	int64_t t0 = timeutil_mono_ms();

	l->ph_accepted = l->ph_duplicates = l->ph_rejected = 0;
	batch_open(l);
	for (size_t i = 0; i < count; i++) {
		sim_emit_event(&l->city, ph, i, &l->w, l->ids[l->n], ID_MAX);
		l->n++;
		if (l->n == l->o->batch || i + 1 == count) {
			if (batch_send(l, ph) != 0)
				return -1;
			batch_open(l);
		}
	}
	l->accepted += l->ph_accepted;
	l->duplicates += l->ph_duplicates;
	l->rejected += l->ph_rejected;
	if (!l->dump && !l->o->quiet)
		printf("  %-18s %6zu events: %6ld accepted, %6ld duplicates, "
		       "%ld rejected (%.1f s)\n",
		    sim_emit_phase_name(ph), count, l->ph_accepted,
		    l->ph_duplicates, l->ph_rejected,
		    (double)(timeutil_mono_ms() - t0) / 1000.0);
	fflush(stdout);
	return 0;
}

static int
run(const struct sim_opts *o, bool dump)
{
	struct sim_ref ref;
	struct load l;
	char why[512];
	int64_t t0 = timeutil_mono_ms();
	size_t total = 0;
	int rc = 0;

	memset(&l, 0, sizeof(l));
	l.o = o;
	l.dump = dump;
	l.feed.fd = -1; /* nothing to close unless connected */
	json_out_init(&l.w);
	if (sim_ref_load(&ref, o->data_dir, why, sizeof(why)) != 0) {
		fprintf(stderr, "citysim: %s\n", why);
		return 1;
	}
	if (!dump &&
	    sim_feed_init(&l.feed, o->url, o->token, why, sizeof(why)) != 0) {
		fprintf(stderr, "citysim: %s\n", why);
		sim_ref_free(&ref);
		return SIM_EXIT_USAGE;
	}
	if (sim_city_build(&l.city, &ref, &o->city, why, sizeof(why)) != 0) {
		fprintf(stderr, "citysim: %s\n", why);
		sim_feed_close(&l.feed);
		sim_ref_free(&ref);
		return 1;
	}
	l.ids = calloc(o->batch, sizeof(*l.ids));
	if (l.ids == NULL) {
		fprintf(stderr, "citysim: out of memory\n");
		rc = 1;
		goto out;
	}
	for (int ph = 0; ph < SIM_PH_COUNT; ph++)
		total += sim_emit_count(&l.city, (enum sim_phase)ph);
	if (!dump && !o->quiet)
		printf("citysim load: seed %llu, %zu enterprises, %zu points, "
		       "%zu hazard sources, %zu events to %s in batches of "
		       "%zu\n",
		    (unsigned long long)o->city.seed, l.city.nents,
		    l.city.npoints, l.city.nsources, total, o->url, o->batch);
	for (int ph = 0; ph < SIM_PH_COUNT; ph++) {
		if (run_phase(&l, (enum sim_phase)ph) != 0) {
			rc = l.auth_refused ? SIM_EXIT_AUTH : 1;
			break;
		}
	}
	if (!dump) {
		double secs = (double)(timeutil_mono_ms() - t0) / 1000.0;

		if (rc != 0)
			printf("citysim load: STOPPED after %zu of %zu events "
			       "in %.1f s: %ld accepted, %ld duplicates, %ld "
			       "rejected; %u resends\n",
			    l.answered, total, secs, l.accepted, l.duplicates,
			    l.rejected, l.feed.retries);
		else
			printf("citysim load: %zu events in %.1f s (%.0f/s): "
			       "%ld accepted, %ld duplicates, %ld rejected; %u "
			       "resends\n",
			    total, secs, secs > 0 ? (double)total / secs : 0.0,
			    l.accepted, l.duplicates, l.rejected,
			    l.feed.retries);
		if (rc == 0 && l.rejected > 0) {
			fprintf(stderr,
			    "citysim: %ld events rejected: the "
			    "city and ingestd's validators disagree\n",
			    l.rejected);
			rc = 1;
		}
	}
out:
	free(l.ids);
	json_out_free(&l.w);
	sim_city_free(&l.city);
	sim_feed_close(&l.feed);
	sim_ref_free(&ref);
	return rc;
}

int
sim_load_run(const struct sim_opts *o)
{
	return run(o, false);
}

int
sim_load_dump(const struct sim_opts *o)
{
	return run(o, true);
}

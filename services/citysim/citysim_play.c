/*
 * citysim_play - `citysim play`: the city's sensors, live.
 *
 * The player rebuilds the city of the seed (the same points load sent; no
 * database needed) and posts readings for its points to /v1/readings at
 * o->rate readings a second, in batches every TICK_MS, going round the
 * points so each is read every npoints/rate seconds, with ts = now.  A
 * point reads its operating value with noise and a slow drift; a few
 * points a minute (o->excursions_per_min) leave it for tens of seconds,
 * past H, past HH, or below L, so riskd has alarms to raise and clear; a
 * few points fall silent for the whole run (offline); now and then a
 * reading comes with quality bad.  A line every 10 s says what was sent
 * and what ingestd made of it.  SIGINT and SIGTERM stop it after the
 * request in flight, with a final line.  Everything here is owned by
 * sim_play_run().
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "citysim.h"
#include "timeutil.h"

#define TICK_MS 100
#define REPORT_MS 10000
/* One point in SILENT_EVERY falls silent. */
#define SILENT_EVERY 500
#define BAD_QUALITY_P 0.0005
#define EXCURSION_MIN_S 20
#define EXCURSION_MAX_S 90

static volatile sig_atomic_t stop_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

/* What the player keeps per point. */
struct pstate {
	int64_t excursion_end_ms; /* 0: none */
	double target;            /* where the excursion heads */
	int64_t last_ts;
	double phase; /* of the slow drift */
	bool silent;
};

struct play {
	const struct sim_opts *o;
	struct sim_city city;
	struct sim_feed feed;
	struct pstate *st;
	struct sim_rng rng;
	struct json_out w;
	size_t cursor;
	long sent, accepted, duplicates, quarantined, rejected, failed;
	long above_h, excursions, silent;
};

/* Start an excursion on a random live point that has an H threshold:
 * up past H, past HH, or down below L. */
static void
start_excursion(struct play *p, int64_t now)
{
	for (int tries = 0; tries < 50; tries++) {
		size_t i = sim_rng_below(&p->rng, (uint32_t)p->city.npoints);
		const struct sim_point *pt = &p->city.points[i];
		struct pstate *s = &p->st[i];
		double u = sim_rng_uniform(&p->rng, 0, 1);

		if (s->silent || s->excursion_end_ms != 0 || !pt->has_h)
			continue;
		if (u < 0.15 && pt->has_l)
			s->target = pt->l - fabs(pt->normal - pt->l) * 0.3;
		else if (u < 0.5 && pt->has_hh)
			s->target = pt->hh + (pt->hh - pt->h) * 0.3;
		else
			s->target =
			    pt->has_hh ? (pt->h + pt->hh) / 2 : pt->h * 1.1;
		s->target = fmin(fmax(s->target, pt->range_lo), pt->range_hi);
		s->excursion_end_ms =
		    now +
		    1000 * (int64_t)(EXCURSION_MIN_S +
		                     sim_rng_below(&p->rng,
		                         EXCURSION_MAX_S - EXCURSION_MIN_S));
		p->excursions++;
		return;
	}
}

static double
value_of(struct play *p, size_t i, int64_t now)
{
	const struct sim_point *pt = &p->city.points[i];
	struct pstate *s = &p->st[i];
	double v =
	    pt->normal +
	    pt->noise * (sim_rng_gauss(&p->rng) +
	                    2.0 * sin((double)now / 600000.0 + s->phase));

	if (s->excursion_end_ms != 0) {
		if (now >= s->excursion_end_ms)
			s->excursion_end_ms = 0;
		else
			v = s->target + pt->noise * sim_rng_gauss(&p->rng);
	}
	v = fmin(fmax(v, pt->range_lo), pt->range_hi);
	return round(v * 1000.0) / 1000.0;
}

static void
count_answer(struct play *p, const struct sim_answer *a)
{
	cJSON *root = cJSON_ParseWithLength(a->body, a->len);
	const cJSON *it;

	if ((it = cJSON_GetObjectItemCaseSensitive(root, "accepted")) &&
	    cJSON_IsNumber(it))
		p->accepted += (long)it->valuedouble;
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "duplicates")) &&
	    cJSON_IsNumber(it))
		p->duplicates += (long)it->valuedouble;
	if ((it = cJSON_GetObjectItemCaseSensitive(root, "quarantined")) &&
	    cJSON_IsNumber(it))
		p->quarantined += (long)it->valuedouble;
	it = cJSON_GetObjectItemCaseSensitive(root, "rejected");
	if (cJSON_IsArray(it)) {
		const cJSON *first = cJSON_GetArrayItem(it, 0);
		const cJSON *err =
		    cJSON_GetObjectItemCaseSensitive(first, "error");

		if (p->rejected == 0 && cJSON_IsString(err))
			fprintf(stderr,
			    "citysim play: a reading rejected: %s\n",
			    err->valuestring);
		p->rejected += cJSON_GetArraySize(it);
	}
	cJSON_Delete(root);
}

/* Send n readings; 0, or -1 when ingestd cannot be reached at all. */
static int
send_batch(struct play *p, size_t n, int64_t now)
{
	struct sim_answer a;
	char why[512];
	size_t np = p->city.npoints;

	json_out_reset(&p->w);
	json_out_obj_open(&p->w);
	json_out_key(&p->w, "readings");
	json_out_arr_open(&p->w);
	for (size_t k = 0, guard = 0; k < n && guard < 2 * np + n; guard++) {
		size_t i = p->cursor;
		struct pstate *s = &p->st[i];
		const struct sim_point *pt = &p->city.points[i];
		int64_t ts = now > s->last_ts ? now : s->last_ts + 1;

		p->cursor = (p->cursor + 1) % np;
		if (s->silent)
			continue;
		s->last_ts = ts;
		json_out_obj_open(&p->w);
		json_out_kv_str(&p->w, "point", pt->code);
		json_out_kv_int(&p->w, "ts", ts);
		if (sim_rng_chance(&p->rng, BAD_QUALITY_P)) {
			json_out_kv_str(&p->w, "quality", "bad");
		} else {
			double v = value_of(p, i, now);

			if (pt->has_h && v > pt->h)
				p->above_h++;
			json_out_kv_double(&p->w, "value", v);
		}
		json_out_obj_close(&p->w);
		k++;
		p->sent++;
	}
	json_out_arr_close(&p->w);
	json_out_obj_close(&p->w);
	if (sim_feed_post(&p->feed, "/v1/readings", json_out_data(&p->w),
	        json_out_len(&p->w), &a, why, sizeof(why)) != 0) {
		fprintf(stderr, "citysim play: %s\n", why);
		p->failed++;
		return -1;
	}
	if (a.status == 202) {
		count_answer(p, &a);
	} else {
		fprintf(stderr, "citysim play: ingestd answered %d: %.300s\n",
		    a.status, a.body);
		p->failed++;
		if (a.status == 401 || a.status == 403) {
			sim_answer_free(&a);
			return -1;
		}
	}
	sim_answer_free(&a);
	return 0;
}

static void
report(const struct play *p, double secs, const char *what)
{
	printf("citysim play: %s t=%.0fs sent=%ld accepted=%ld duplicates=%ld "
	       "quarantined=%ld rejected=%ld failed=%ld above_h=%ld "
	       "excursions=%ld silent=%ld\n",
	    what, secs, p->sent, p->accepted, p->duplicates, p->quarantined,
	    p->rejected, p->failed, p->above_h, p->excursions, p->silent);
	fflush(stdout);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = {
	    (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	if (ms > 0)
		nanosleep(&ts, NULL);
}

static int
play_loop(struct play *p)
{
	const struct sim_opts *o = p->o;
	int64_t t0 = timeutil_mono_ms(), next_report = t0 + REPORT_MS;
	double due = 0, exc_due = 0;
	size_t cap = (size_t)fmax(1, o->rate); /* at most 1 s a request */
	int64_t last = t0;

	for (;;) {
		int64_t mono = timeutil_mono_ms(), now = timeutil_now_ms();
		double dt = (double)(mono - last) / 1000.0;

		if (stop_signal ||
		    (o->duration_s > 0 &&
		        (double)(mono - t0) >= o->duration_s * 1000.0))
			break;
		last = mono;
		due = fmin(due + o->rate * dt, (double)cap);
		exc_due += o->excursions_per_min * dt / 60.0;
		while (exc_due >= 1) {
			start_excursion(p, now);
			exc_due -= 1;
		}
		if (due >= 1) {
			size_t n = (size_t)due;

			due -= (double)n;
			if (send_batch(p, n, now) != 0 && p->accepted == 0 &&
			    p->failed > 3) {
				fprintf(stderr, "citysim play: giving up: "
				                "nothing accepted yet\n");
				return 1;
			}
		}
		if (mono >= next_report) {
			report(p, (double)(mono - t0) / 1000.0, "");
			next_report += REPORT_MS;
		}
		sleep_ms(TICK_MS - (timeutil_mono_ms() - mono));
	}
	report(p, (double)(timeutil_mono_ms() - t0) / 1000.0,
	    stop_signal ? "stopped by signal," : "done,");
	return 0;
}

int
sim_play_run(const struct sim_opts *o)
{
	struct sim_ref ref;
	struct play p;
	struct sigaction sa;
	char why[512];
	int rc;

	memset(&p, 0, sizeof(p));
	p.o = o;
	p.feed.fd = -1;
	json_out_init(&p.w);
	if (sim_ref_load(&ref, o->data_dir, why, sizeof(why)) != 0) {
		fprintf(stderr, "citysim: %s\n", why);
		return 1;
	}
	if (sim_feed_init(&p.feed, o->url, o->token, why, sizeof(why)) != 0) {
		fprintf(stderr, "citysim: %s\n", why);
		sim_ref_free(&ref);
		return SIM_EXIT_USAGE;
	}
	if (sim_city_build(&p.city, &ref, &o->city, why, sizeof(why)) != 0 ||
	    p.city.npoints == 0) {
		fprintf(stderr, "citysim: %s\n",
		    p.city.npoints == 0 ? "the city has no points" : why);
		sim_city_free(&p.city);
		sim_feed_close(&p.feed);
		sim_ref_free(&ref);
		return 1;
	}
	p.st = calloc(p.city.npoints, sizeof(*p.st));
	if (p.st == NULL) {
		fprintf(stderr, "citysim: out of memory\n");
		rc = 1;
		goto out;
	}
	/* The player's own stream: the city stays the seed's. */
	sim_rng_init(&p.rng, o->city.seed, "play");
	for (size_t i = 0; i < p.city.npoints; i++) {
		p.st[i].phase = sim_rng_uniform(&p.rng, 0, 2 * M_PI);
		p.st[i].silent = sim_rng_below(&p.rng, SILENT_EVERY) == 0;
		p.silent += p.st[i].silent;
	}
	/* Start as a city that has been running: the excursions that would
	 * be under way already. */
	for (double k = 0;
	     k < o->excursions_per_min * (EXCURSION_MIN_S + EXCURSION_MAX_S) /
	             2.0 / 60.0;
	     k++)
		start_excursion(&p, timeutil_now_ms());
	p.feed.stop = &stop_signal;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("citysim play: %zu points (%ld silent) at %.0f readings/s to "
	       "%s, about %.1f s between readings of a point\n",
	    p.city.npoints, p.silent, o->rate, o->url,
	    (double)p.city.npoints / o->rate);
	fflush(stdout);
	rc = play_loop(&p);
out:
	free(p.st);
	json_out_free(&p.w);
	sim_city_free(&p.city);
	sim_feed_close(&p.feed);
	sim_ref_free(&ref);
	return rc;
}

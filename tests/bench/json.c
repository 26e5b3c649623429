/*
 * json - how fast cJSON and jansson parse the ingest API's reading batches.
 *
 * The choice of cJSON for the HTTP front end rests on this measurement
 * (DESIGN.md §8, reference limits.md §3).  It builds a set of request
 * bodies shaped like POST /v1/readings, {"readings":[{"point":..,"ts":..,
 * "value":..,"quality":..}, ...]}, then, in alternating rounds of a fixed
 * duration on one thread, parses every body with each library and reads the
 * four fields of every reading out of the tree, as the handler will.  Both
 * libraries must extract the same totals, or the run fails.
 *
 * Output is key=value lines, the last three being cjson_readings_per_s,
 * jansson_readings_per_s and cjson_vs_jansson (medians over the rounds).
 * Run by tests/bench/json.sh (make bench-json).
 */
#include <cJSON.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timeutil.h"

struct body {
	char *text;
	size_t len;
};

/* What a parse pass extracted; both libraries must agree. */
struct totals {
	uint64_t readings;
	uint64_t point_bytes;
	int64_t ts_sum;
	double value_sum;
	uint64_t good;
};

struct opts {
	int per_batch;
	int batches;
	double seconds;
	int rounds;
};

static const char *const qualities[] = {"good", "good", "good", "good", "good",
    "good", "good", "bad", "maintenance"};

static uint64_t
next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* One body of n readings: points of a few plants, a reading a second. */
static struct body
make_body(int n, int batch, uint64_t *rng)
{
	size_t cap = (size_t)n * 128 + 64, len = 0;
	char *s = malloc(cap);
	struct body b = {NULL, 0};

	if (s == NULL)
		return b;
	len += (size_t)snprintf(s + len, cap - len, "{\"readings\":[");
	for (int i = 0; i < n; i++) {
		uint64_t r = next_random(rng);
		double value = (double)(r % 2000000) / 1000.0 - 100.0;

		len += (size_t)snprintf(s + len, cap - len,
		    "%s{\"point\":\"370112-HC%04d-PT%03d\",\"ts\":%lld,"
		    "\"value\":%.3f,\"quality\":\"%s\"}",
		    i ? "," : "", (int)(r >> 20) % 400, i % 256,
		    (long long)(INT64_C(1795881600000) +
		                (int64_t)batch * 500000 + i * 1000),
		    value, qualities[(r >> 40) % 9]);
	}
	len += (size_t)snprintf(s + len, cap - len, "]}");
	b.text = s;
	b.len = len;
	return b;
}

static int
parse_cjson(const struct body *b, struct totals *t)
{
	cJSON *doc = cJSON_ParseWithLength(b->text, b->len);
	const cJSON *arr, *item;

	if (doc == NULL)
		return -1;
	arr = cJSON_GetObjectItemCaseSensitive(doc, "readings");
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(doc);
		return -1;
	}
	cJSON_ArrayForEach(item, arr)
	{
		const cJSON *point =
		    cJSON_GetObjectItemCaseSensitive(item, "point");
		const cJSON *ts = cJSON_GetObjectItemCaseSensitive(item, "ts");
		const cJSON *value =
		    cJSON_GetObjectItemCaseSensitive(item, "value");
		const cJSON *quality =
		    cJSON_GetObjectItemCaseSensitive(item, "quality");

		if (!cJSON_IsString(point) || !cJSON_IsNumber(ts) ||
		    !cJSON_IsNumber(value) || !cJSON_IsString(quality)) {
			cJSON_Delete(doc);
			return -1;
		}
		t->readings++;
		t->point_bytes += strlen(point->valuestring);
		t->ts_sum += (int64_t)ts->valuedouble;
		t->value_sum += value->valuedouble;
		t->good += strcmp(quality->valuestring, "good") == 0;
	}
	cJSON_Delete(doc);
	return 0;
}

static int
parse_jansson(const struct body *b, struct totals *t)
{
	json_error_t error;
	json_t *doc = json_loadb(b->text, b->len, 0, &error);
	json_t *arr, *item;
	size_t i;

	if (doc == NULL)
		return -1;
	arr = json_object_get(doc, "readings");
	if (!json_is_array(arr)) {
		json_decref(doc);
		return -1;
	}
	json_array_foreach(arr, i, item)
	{
		json_t *point = json_object_get(item, "point");
		json_t *ts = json_object_get(item, "ts");
		json_t *value = json_object_get(item, "value");
		json_t *quality = json_object_get(item, "quality");

		if (!json_is_string(point) || !json_is_integer(ts) ||
		    !json_is_number(value) || !json_is_string(quality)) {
			json_decref(doc);
			return -1;
		}
		t->readings++;
		t->point_bytes += json_string_length(point);
		t->ts_sum += (int64_t)json_integer_value(ts);
		t->value_sum += json_number_value(value);
		t->good += strcmp(json_string_value(quality), "good") == 0;
	}
	json_decref(doc);
	return 0;
}

typedef int (*parse_fn)(const struct body *b, struct totals *t);

/* Parse every body over and over for about `seconds`; readings per second. */
static double
run_round(parse_fn fn, const struct body *bodies, int n, double seconds)
{
	struct totals t = {0};
	int64_t start = timeutil_mono_us(), elapsed;

	do {
		for (int i = 0; i < n; i++)
			if (fn(&bodies[i], &t) < 0)
				return -1;
		elapsed = timeutil_mono_us() - start;
	} while (elapsed < (int64_t)(seconds * 1e6));
	return (double)t.readings / ((double)elapsed / 1e6);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
positive_arg(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int c;
	double v;

	o->per_batch = 500;
	o->batches = 32;
	o->seconds = 0.5;
	o->rounds = 5;
	while ((c = getopt(argc, argv, "n:b:s:r:")) != -1) {
		if (c == '?' || positive_arg(optarg, c == 's' ? 0.01 : 1,
		                    c == 'n' ? 100000 : 10000, &v) < 0) {
			fprintf(stderr,
			    "usage: json [-n readings per batch (500)] "
			    "[-b batches (32)] [-s seconds per round (0.5)] "
			    "[-r rounds per library (5)]\n");
			return -1;
		}
		if (c == 'n')
			o->per_batch = (int)v;
		else if (c == 'b')
			o->batches = (int)v;
		else if (c == 's')
			o->seconds = v;
		else
			o->rounds = (int)v;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct body *bodies;
	struct totals tc = {0}, tj = {0};
	double *rc, *rj, *ratio;
	size_t bytes = 0;
	uint64_t rng = 0x2545F4914F6CDD1Du;
	int status = 1;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	bodies = calloc((size_t)o.batches, sizeof(*bodies));
	rc = calloc((size_t)o.rounds, sizeof(double));
	rj = calloc((size_t)o.rounds, sizeof(double));
	ratio = calloc((size_t)o.rounds, sizeof(double));
	if (bodies == NULL || rc == NULL || rj == NULL || ratio == NULL)
		goto out;
	for (int i = 0; i < o.batches; i++) {
		bodies[i] = make_body(o.per_batch, i, &rng);
		if (bodies[i].text == NULL)
			goto out;
		bytes += bodies[i].len;
	}

	/* One checked pass each: the same numbers must come out. */
	for (int i = 0; i < o.batches; i++) {
		if (parse_cjson(&bodies[i], &tc) < 0 ||
		    parse_jansson(&bodies[i], &tj) < 0) {
			fprintf(stderr, "json: body %d did not parse\n", i);
			goto out;
		}
	}
	if (tc.readings != tj.readings || tc.point_bytes != tj.point_bytes ||
	    tc.ts_sum != tj.ts_sum || tc.good != tj.good ||
	    fabs(tc.value_sum - tj.value_sum) >
	        1e-9 * fmax(1.0, fabs(tc.value_sum))) {
		fprintf(stderr, "json: cJSON and jansson extracted different "
		                "values\n");
		goto out;
	}

	/* Alternate the libraries so that drifts of the machine (frequency,
	 * neighbours) fall on both alike. */
	for (int r = 0; r < o.rounds; r++) {
		rc[r] = run_round(parse_cjson, bodies, o.batches, o.seconds);
		rj[r] = run_round(parse_jansson, bodies, o.batches, o.seconds);
		if (rc[r] <= 0 || rj[r] <= 0)
			goto out;
		ratio[r] = rc[r] / rj[r];
	}

	printf("cjson_version=%s\n", cJSON_Version());
	printf("jansson_version=%s\n", JANSSON_VERSION);
	printf("batch_readings=%d\n", o.per_batch);
	printf("batches=%d\n", o.batches);
	printf("bytes_per_reading=%.1f\n",
	    (double)bytes / ((double)o.batches * o.per_batch));
	printf("rounds=%d\n", o.rounds);
	printf("seconds_per_round=%.2f\n", o.seconds);
	qsort(ratio, (size_t)o.rounds, sizeof(double), cmp_double);
	printf("ratio_min=%.2f\n", ratio[0]);
	printf("ratio_max=%.2f\n", ratio[o.rounds - 1]);
	printf("cjson_readings_per_s=%.0f\n", median(rc, o.rounds));
	printf("jansson_readings_per_s=%.0f\n", median(rj, o.rounds));
	printf("cjson_vs_jansson=%.2f\n", median(ratio, o.rounds));
	status = 0;
out:
	for (int i = 0; bodies != NULL && i < o.batches; i++)
		free(bodies[i].text);
	free(bodies);
	free(rc);
	free(rj);
	free(ratio);
	return status;
}

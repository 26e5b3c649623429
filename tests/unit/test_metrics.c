/*
 * test_metrics - unit tests for common/metrics: the exact exposition text
 * for counters (plain and labelled), gauges and histograms (bucket
 * boundaries included), refusals of bad names and labels, escaping, the
 * render-into-a-buffer contract, and counting from several threads.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "log.h"
#include "metrics.h"

static char *
render(struct metrics *reg)
{
	size_t n = metrics_render_buf(reg, NULL, 0);
	char *buf = malloc(n + 1);

	assert_non_null(buf);
	assert_int_equal(metrics_render_buf(reg, buf, n + 1), n);
	return buf;
}

static void
test_counter(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric *c;
	char *text;

	(void)state;
	c = metrics_counter(
	    reg, "ingest_batches_total", "Batches accepted.", NULL);
	assert_non_null(c);
	metrics_inc(c);
	metrics_add(c, 41);
	assert_int_equal(metrics_counter_value(c), 42);
	text = render(reg);
	assert_string_equal(text,
	    "# HELP anquan_ingest_batches_total Batches accepted.\n"
	    "# TYPE anquan_ingest_batches_total counter\n"
	    "anquan_ingest_batches_total 42\n");
	free(text);
	metrics_free(reg);
}

static void
test_labelled_counter(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric *bad, *unknown, *again, *two;
	char *text;

	(void)state;
	bad = metrics_counter(reg, "ingest_rejected_total",
	    "Readings rejected, by reason.",
	    (const char *[]){"reason", "bad_value", NULL});
	unknown = metrics_counter(reg, "ingest_rejected_total",
	    "Readings rejected, by reason.",
	    (const char *[]){"reason", "unknown_point", NULL});
	/* The same series again is the same handle. */
	again = metrics_counter(reg, "anquan_ingest_rejected_total", "x",
	    (const char *[]){"reason", "bad_value", NULL});
	two = metrics_counter(reg, "bus_messages_total", "Bus messages.",
	    (const char *[]){"dir", "sent", "topic", "rd.\"370112\"\\x", NULL});
	assert_non_null(bad);
	assert_non_null(unknown);
	assert_ptr_equal(again, bad);
	assert_non_null(two);
	metrics_add(bad, 3);
	metrics_inc(again);
	metrics_inc(two);
	text = render(reg);
	assert_string_equal(text,
	    "# HELP anquan_ingest_rejected_total Readings rejected, by "
	    "reason.\n"
	    "# TYPE anquan_ingest_rejected_total counter\n"
	    "anquan_ingest_rejected_total{reason=\"bad_value\"} 4\n"
	    "anquan_ingest_rejected_total{reason=\"unknown_point\"} 0\n"
	    "# HELP anquan_bus_messages_total Bus messages.\n"
	    "# TYPE anquan_bus_messages_total counter\n"
	    "anquan_bus_messages_total{dir=\"sent\",topic=\"rd."
	    "\\\"370112\\\"\\\\x\"} 1\n");
	free(text);
	metrics_free(reg);
}

static void
test_gauge(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric *q, *lag;
	char *text;

	(void)state;
	q = metrics_gauge(reg, "ingest_queue_depth",
	    "Requests waiting.\nFor "
	    "commit \\ now.",
	    NULL);
	lag = metrics_gauge(reg, "bus_lag_seconds", "Lag.",
	    (const char *[]){"stream", "ingest", NULL});
	metrics_set(q, 17);
	metrics_gauge_add(q, -2);
	metrics_set(lag, 0.25);
	metrics_gauge_add(lag, 0.125);
	assert_true(metrics_gauge_value(q) == 15);
	text = render(reg);
	assert_string_equal(text,
	    "# HELP anquan_ingest_queue_depth Requests waiting.\\nFor commit "
	    "\\\\ now.\n"
	    "# TYPE anquan_ingest_queue_depth gauge\n"
	    "anquan_ingest_queue_depth 15\n"
	    "# HELP anquan_bus_lag_seconds Lag.\n"
	    "# TYPE anquan_bus_lag_seconds gauge\n"
	    "anquan_bus_lag_seconds{stream=\"ingest\"} 0.375\n");
	free(text);
	metrics_set(q, NAN);
	metrics_set(lag, -INFINITY);
	text = render(reg);
	assert_non_null(strstr(text, "anquan_ingest_queue_depth NaN\n"));
	assert_non_null(strstr(text, "{stream=\"ingest\"} -Inf\n"));
	free(text);
	metrics_free(reg);
}

/* A value equal to a bound lands in that bucket (le = less or equal). */
static void
test_histogram(void **state)
{
	static const double bounds[] = {0.25, 0.5, 1};
	struct metrics *reg = metrics_new();
	struct metric *h;
	char *text;

	(void)state;
	h = metrics_histogram(reg, "http_request_seconds", "Request latency.",
	    (const char *[]){"route", "/v1/readings", NULL}, bounds, 3);
	assert_non_null(h);
	metrics_observe(h, 0.25);  /* on the first bound */
	metrics_observe(h, 0.375); /* between the first two */
	metrics_observe(h, 0.5);
	metrics_observe(h, 1);
	metrics_observe(h, 1.5); /* only +Inf */
	metrics_observe(h, -3);  /* below everything: first bucket */
	metrics_observe(h, NAN); /* ignored */
	text = render(reg);
	assert_string_equal(text,
	    "# HELP anquan_http_request_seconds Request latency.\n"
	    "# TYPE anquan_http_request_seconds histogram\n"
	    "anquan_http_request_seconds_bucket{route=\"/v1/"
	    "readings\",le=\"0.25\"} 2\n"
	    "anquan_http_request_seconds_bucket{route=\"/v1/"
	    "readings\",le=\"0.5\"} 4\n"
	    "anquan_http_request_seconds_bucket{route=\"/v1/"
	    "readings\",le=\"1\"} 5\n"
	    "anquan_http_request_seconds_bucket{route=\"/v1/"
	    "readings\",le=\"+Inf\"} 6\n"
	    "anquan_http_request_seconds_sum{route=\"/v1/readings\"} 0.625\n"
	    "anquan_http_request_seconds_count{route=\"/v1/readings\"} 6\n");
	free(text);
	metrics_free(reg);
}

static void
test_histogram_plain(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric *h;
	char *text;

	(void)state;
	h = metrics_histogram(reg, "store_commit_seconds", "Commit time.", NULL,
	    (const double[]){0.25, 2.5}, 2);
	assert_non_null(h);
	text = render(reg);
	assert_string_equal(text,
	    "# HELP anquan_store_commit_seconds Commit time.\n"
	    "# TYPE anquan_store_commit_seconds histogram\n"
	    "anquan_store_commit_seconds_bucket{le=\"0.25\"} 0\n"
	    "anquan_store_commit_seconds_bucket{le=\"2.5\"} 0\n"
	    "anquan_store_commit_seconds_bucket{le=\"+Inf\"} 0\n"
	    "anquan_store_commit_seconds_sum 0\n"
	    "anquan_store_commit_seconds_count 0\n");
	free(text);
	/* A decimal bound holds exactly the value written the same way. */
	metrics_observe(h, 0.25);
	metrics_observe(h, nextafter(0.25, 1));
	metrics_observe(h, 2.5);
	metrics_observe(h, nextafter(2.5, 3));
	text = render(reg);
	assert_non_null(strstr(text, "_bucket{le=\"0.25\"} 1\n"));
	assert_non_null(strstr(text, "_bucket{le=\"2.5\"} 3\n"));
	assert_non_null(strstr(text, "_bucket{le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(text, "_count 4\n"));
	free(text);
	/* The shared latency buckets are usable as they are. */
	assert_non_null(metrics_histogram(reg, "x_seconds", "x", NULL,
	    metrics_latency_buckets, metrics_latency_nbuckets));
	metrics_free(reg);
}

static uint64_t
read_u64(void *arg)
{
	return *(uint64_t *)arg;
}

static double
read_double(void *arg)
{
	return *(double *)arg;
}

static void
test_fn_series(void **state)
{
	struct metrics *reg = metrics_new();
	uint64_t sent = 7;
	double depth = 2.5;
	char *text;

	(void)state;
	assert_non_null(metrics_counter_fn(
	    reg, "bus_sent_total", "Sent.", NULL, read_u64, &sent));
	assert_non_null(metrics_counter(reg, "bus_sent_total", "Sent.",
	    (const char *[]){"kind", "replay", NULL}));
	assert_non_null(metrics_gauge_fn(
	    reg, "store_pool_busy", "Busy.", NULL, read_double, &depth));
	/* A second owner for the same value is refused. */
	assert_null(metrics_counter_fn(
	    reg, "bus_sent_total", "Sent.", NULL, read_u64, &sent));
	sent = 9;
	text = render(reg);
	assert_string_equal(text, "# HELP anquan_bus_sent_total Sent.\n"
	                          "# TYPE anquan_bus_sent_total counter\n"
	                          "anquan_bus_sent_total 9\n"
	                          "anquan_bus_sent_total{kind=\"replay\"} 0\n"
	                          "# HELP anquan_store_pool_busy Busy.\n"
	                          "# TYPE anquan_store_pool_busy gauge\n"
	                          "anquan_store_pool_busy 2.5\n");
	free(text);
	metrics_free(reg);
}

static void
test_refusals(void **state)
{
	struct metrics *reg = metrics_new();
	char *text;

	(void)state;
	assert_null(metrics_counter(reg, "", "x", NULL));
	assert_null(metrics_counter(reg, "9lives", "x", NULL));
	assert_null(metrics_counter(reg, "has-dash", "x", NULL));
	assert_null(metrics_counter(reg, "has:colon", "x", NULL));
	assert_null(metrics_counter(reg, "空", "x", NULL));
	assert_null(metrics_counter(reg, NULL, "x", NULL));
	assert_null(metrics_counter(
	    reg, "ok_total", "x", (const char *[]){"bad-label", "v", NULL}));
	assert_null(metrics_counter(
	    reg, "ok_total", "x", (const char *[]){"__reserved", "v", NULL}));
	assert_null(metrics_counter(
	    reg, "ok_total", "x", (const char *[]){"k", "tab\there", NULL}));
	assert_null(metrics_counter(
	    reg, "ok_total", "x", (const char *[]){"k", "bad\xff utf8", NULL}));
	assert_null(metrics_counter(reg, "ok_total", "x",
	    (const char *[]){
	        "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", NULL}));
	assert_null(metrics_histogram(reg, "h", "x",
	    (const char *[]){"le", "1", NULL}, (const double[]){1}, 1));
	assert_null(
	    metrics_histogram(reg, "h", "x", NULL, (const double[]){1, 1}, 2));
	assert_null(
	    metrics_histogram(reg, "h", "x", NULL, (const double[]){2, 1}, 2));
	assert_null(metrics_histogram(
	    reg, "h", "x", NULL, (const double[]){INFINITY}, 1));
	assert_null(metrics_histogram(reg, "h", "x", NULL, NULL, 0));
	/* A name registered as a counter cannot become a gauge. */
	assert_non_null(metrics_counter(reg, "clash", "x", NULL));
	assert_null(metrics_gauge(reg, "clash", "x", NULL));
	/* Chinese in label values is fine. */
	assert_non_null(metrics_counter(reg, "zh_total", "中文说明",
	    (const char *[]){"district", "历下区", NULL}));
	/* Updates through a failed registration are harmless. */
	metrics_inc(NULL);
	metrics_add(NULL, 5);
	metrics_set(NULL, 1);
	metrics_gauge_add(NULL, 1);
	metrics_observe(NULL, 1);
	assert_int_equal(metrics_counter_value(NULL), 0);
	text = render(reg);
	assert_string_equal(text, "# HELP anquan_clash x\n"
	                          "# TYPE anquan_clash counter\n"
	                          "anquan_clash 0\n"
	                          "# HELP anquan_zh_total 中文说明\n"
	                          "# TYPE anquan_zh_total counter\n"
	                          "anquan_zh_total{district=\"历下区\"} 0\n");
	free(text);
	metrics_free(reg);
	metrics_free(NULL);
}

static void
test_render_targets(void **state)
{
	struct metrics *reg = metrics_new();
	struct evbuffer *eb = evbuffer_new();
	char small[16];
	size_t full;

	(void)state;
	metrics_counter(reg, "a_total", "A.", NULL);
	full = metrics_render_buf(reg, small, sizeof(small));
	assert_true(full >= sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "# HELP anquan_a", 15);
	assert_int_equal(metrics_render(reg, eb), 0);
	assert_int_equal(evbuffer_get_length(eb), full);
	evbuffer_free(eb);
	metrics_free(reg);
}

#define THREADS 4
#define ROUNDS 50000

struct shared {
	struct metric *c, *g, *h;
};

static void *
worker(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; i < ROUNDS; i++) {
		metrics_inc(s->c);
		metrics_gauge_add(s->g, 1);
		metrics_observe(s->h, (i % 2) ? 0.5 : 2);
	}
	return NULL;
}

/* Counting from several threads loses nothing. */
static void
test_threads(void **state)
{
	struct metrics *reg = metrics_new();
	struct shared s;
	pthread_t t[THREADS];
	char *text;

	(void)state;
	s.c = metrics_counter(reg, "n_total", "n", NULL);
	s.g = metrics_gauge(reg, "g", "g", NULL);
	s.h = metrics_histogram(reg, "h", "h", NULL, (const double[]){1}, 1);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, &s), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(metrics_counter_value(s.c), THREADS * ROUNDS);
	assert_true(metrics_gauge_value(s.g) == THREADS * ROUNDS);
	text = render(reg);
	assert_non_null(strstr(text, "anquan_h_bucket{le=\"1\"} 100000\n"));
	assert_non_null(strstr(text, "anquan_h_bucket{le=\"+Inf\"} 200000\n"));
	assert_non_null(strstr(text, "anquan_h_sum 250000\n"));
	assert_non_null(strstr(text, "anquan_h_count 200000\n"));
	free(text);
	metrics_free(reg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counter),
	    cmocka_unit_test(test_labelled_counter),
	    cmocka_unit_test(test_gauge),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_histogram_plain),
	    cmocka_unit_test(test_fn_series),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_render_targets),
	    cmocka_unit_test(test_threads),
	};

	/* Refusals log on purpose; keep the test output readable. */
	log_init("test_metrics", LOGL_ERROR + 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

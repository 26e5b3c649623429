/*
 * metrics - a registry of counters, gauges and histograms, rendered in the
 * Prometheus text exposition format 0.0.4 for GET /metrics.
 *
 * The registry is a list of families in registration order, each a list of
 * series; the label text of a series ({reason="bad_value"}) is escaped and
 * stored once at registration, so rendering only formats numbers.  Series
 * are allocated one by one and never move, which is what lets a handle be
 * updated with atomics while another thread renders under the mutex.
 * Doubles (gauges, histogram sums) are kept as their bit patterns in 64-bit
 * atomics and added to with a compare-and-swap loop.
 */
#include "metrics.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "json.h"
#include "log.h"

enum metric_kind {
	MK_COUNTER,
	MK_GAUGE,
	MK_HISTOGRAM,
	MK_COUNTER_FN,
	MK_GAUGE_FN,
};

struct metric {
	enum metric_kind kind;
	struct metric *next;
	char *labels;                /* `a="x",b="y"` (escaped), or "" */
	atomic_uint_least64_t value; /* count, or the bits of a double */
	/* histograms */
	size_t nbounds;
	double *bounds;
	atomic_uint_least64_t *buckets; /* nbounds + 1, not cumulative */
	atomic_uint_least64_t sum_bits;
	/* *_fn kinds */
	uint64_t (*count_fn)(void *);
	double (*gauge_fn)(void *);
	void *fn_arg;
};

struct family {
	struct family *next;
	char *name;
	char *help; /* escaped */
	enum metric_kind kind;
	struct metric *series, *last;
};

struct metrics {
	pthread_mutex_t lock;
	struct family *families, *last;
};

const double metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const size_t metrics_latency_nbuckets =
    sizeof(metrics_latency_buckets) / sizeof(metrics_latency_buckets[0]);

/* --- a growable string for building text --------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *np;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap != 0 ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, tmp,
		    (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Prometheus float text: NaN, +Inf, -Inf, else the shortest exact form. */
static void
sb_double(struct sbuf *b, double v)
{
	char tmp[40];

	if (isnan(v)) {
		sb_str(b, "NaN");
		return;
	}
	if (isinf(v)) {
		sb_str(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	sb_str(b, tmp);
}

/* Escape for a label value (\\, \", \n) or help text (\\, \n). */
static void
sb_escaped(struct sbuf *b, const char *s, bool quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			sb_add(b, "\\\\", 2);
		else if (*s == '\n')
			sb_add(b, "\\n", 2);
		else if (*s == '"' && quote)
			sb_add(b, "\\\"", 2);
		else
			sb_add(b, s, 1);
	}
}

/* --- registration -------------------------------------------------------- */

static bool
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > METRICS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             c == '_';
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/*
 * Label values must be UTF-8 text (a scraper refuses the whole page
 * otherwise), without control characters other than \n.
 */
static bool
valid_label_value(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++)
		if (*p < 0x20 && *p != '\n')
			return false;
	return json_utf8_valid(s, strlen(s), NULL);
}

static double
bits_to_double(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static uint64_t
double_to_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static const char *
kind_type(enum metric_kind k)
{
	switch (k) {
	case MK_COUNTER:
	case MK_COUNTER_FN:
		return "counter";
	case MK_GAUGE:
	case MK_GAUGE_FN:
		return "gauge";
	case MK_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

/* Build `a="x",b="y"`; NULL with a logged reason when a label is bad. */
static char *
label_text(const char *full, const char *const *labels, bool histogram)
{
	struct sbuf b = {0};
	size_t pairs = 0;

	sb_add(&b, "", 0);
	for (size_t i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		const char *ln = labels[i], *lv = labels[i + 1];

		if (lv == NULL || ++pairs > METRICS_LABELS_MAX ||
		    !valid_name(ln) || strncmp(ln, "__", 2) == 0 ||
		    (histogram && strcmp(ln, "le") == 0) ||
		    !valid_label_value(lv)) {
			log_error("metrics.bad_label", "metric=%s label=%s",
			    full, ln);
			free(b.p);
			return NULL;
		}
		if (i > 0)
			sb_add(&b, ",", 1);
		sb_str(&b, ln);
		sb_add(&b, "=\"", 2);
		sb_escaped(&b, lv, true);
		sb_add(&b, "\"", 1);
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static void
metric_free(struct metric *m)
{
	free(m->labels);
	free(m->bounds);
	free(m->buckets);
	free(m);
}

/* Find or make the family; NULL (logged) when kind or help clash. */
static struct family *
family_get(struct metrics *reg, const char *full, const char *help,
    enum metric_kind kind)
{
	struct family *f;
	struct sbuf h = {0};

	for (f = reg->families; f != NULL; f = f->next) {
		if (strcmp(f->name, full) != 0)
			continue;
		/* Plain and _fn series of one type may share a family. */
		if (strcmp(kind_type(f->kind), kind_type(kind)) != 0) {
			log_error("metrics.kind_clash",
			    "metric=%s was=%s now=%s", full, kind_type(f->kind),
			    kind_type(kind));
			return NULL;
		}
		return f;
	}
	f = calloc(1, sizeof(*f));
	sb_escaped(&h, help != NULL ? help : "", false);
	sb_add(&h, "", 0);
	if (f == NULL || h.failed || (f->name = strdup(full)) == NULL) {
		free(f);
		free(h.p);
		return NULL;
	}
	f->help = h.p;
	f->kind = kind;
	if (reg->last != NULL)
		reg->last->next = f;
	else
		reg->families = f;
	reg->last = f;
	return f;
}

/* The common part of every registration; m is adopted or freed. */
static struct metric *
add_series(struct metrics *reg, const char *name, const char *help,
    const char *const *labels, struct metric *m)
{
	char full[sizeof(METRICS_PREFIX) + METRICS_NAME_MAX];
	struct family *f;
	struct metric *old;
	bool is_fn = m->kind == MK_COUNTER_FN || m->kind == MK_GAUGE_FN;

	if (reg == NULL || name == NULL || !valid_name(name)) {
		log_error("metrics.bad_name", "metric=%s",
		    name != NULL ? name : "(null)");
		metric_free(m);
		return NULL;
	}
	snprintf(full, sizeof(full), "%s%s",
	    strncmp(name, METRICS_PREFIX, strlen(METRICS_PREFIX)) == 0
	        ? ""
	        : METRICS_PREFIX,
	    name);
	m->labels = label_text(full, labels, m->kind == MK_HISTOGRAM);
	if (m->labels == NULL) {
		metric_free(m);
		return NULL;
	}
	pthread_mutex_lock(&reg->lock);
	f = family_get(reg, full, help, m->kind);
	if (f == NULL) {
		pthread_mutex_unlock(&reg->lock);
		metric_free(m);
		return NULL;
	}
	for (old = f->series; old != NULL; old = old->next) {
		if (strcmp(old->labels, m->labels) != 0)
			continue;
		pthread_mutex_unlock(&reg->lock);
		metric_free(m);
		if (is_fn) {
			/* Two owners for one value cannot both be right. */
			log_error("metrics.duplicate", "metric=%s", full);
			return NULL;
		}
		return old;
	}
	if (f->last != NULL)
		f->last->next = m;
	else
		f->series = m;
	f->last = m;
	pthread_mutex_unlock(&reg->lock);
	return m;
}

static struct metric *
metric_new(enum metric_kind kind)
{
	struct metric *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->kind = kind;
	atomic_init(&m->value, 0);
	atomic_init(&m->sum_bits, double_to_bits(0.0));
	return m;
}

struct metrics *
metrics_new(void)
{
	struct metrics *reg = calloc(1, sizeof(*reg));

	if (reg == NULL)
		return NULL;
	pthread_mutex_init(&reg->lock, NULL);
	return reg;
}

void
metrics_free(struct metrics *reg)
{
	struct family *f, *fn;
	struct metric *m, *mn;

	if (reg == NULL)
		return;
	for (f = reg->families; f != NULL; f = fn) {
		fn = f->next;
		for (m = f->series; m != NULL; m = mn) {
			mn = m->next;
			metric_free(m);
		}
		free(f->name);
		free(f->help);
		free(f);
	}
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

struct metric *
metrics_counter(struct metrics *reg, const char *name, const char *help,
    const char *const *labels)
{
	struct metric *m = metric_new(MK_COUNTER);

	return m != NULL ? add_series(reg, name, help, labels, m) : NULL;
}

struct metric *
metrics_gauge(struct metrics *reg, const char *name, const char *help,
    const char *const *labels)
{
	struct metric *m = metric_new(MK_GAUGE);

	if (m != NULL)
		atomic_store(&m->value, double_to_bits(0.0));
	return m != NULL ? add_series(reg, name, help, labels, m) : NULL;
}

struct metric *
metrics_histogram(struct metrics *reg, const char *name, const char *help,
    const char *const *labels, const double *bounds, size_t nbounds)
{
	struct metric *m;

	if (bounds == NULL || nbounds == 0 || nbounds > METRICS_BUCKETS_MAX) {
		log_error("metrics.bad_buckets", "metric=%s n=%zu",
		    name != NULL ? name : "(null)", nbounds);
		return NULL;
	}
	for (size_t i = 0; i < nbounds; i++) {
		if (!isfinite(bounds[i]) ||
		    (i > 0 && bounds[i] <= bounds[i - 1])) {
			log_error("metrics.bad_buckets",
			    "metric=%s reason=\"bounds must be finite and "
			    "increasing\"",
			    name != NULL ? name : "(null)");
			return NULL;
		}
	}
	m = metric_new(MK_HISTOGRAM);
	if (m == NULL)
		return NULL;
	m->nbounds = nbounds;
	m->bounds = malloc(nbounds * sizeof(*m->bounds));
	m->buckets = calloc(nbounds + 1, sizeof(*m->buckets));
	if (m->bounds == NULL || m->buckets == NULL) {
		metric_free(m);
		return NULL;
	}
	memcpy(m->bounds, bounds, nbounds * sizeof(*bounds));
	for (size_t i = 0; i <= nbounds; i++)
		atomic_init(&m->buckets[i], 0);
	return add_series(reg, name, help, labels, m);
}

struct metric *
metrics_counter_fn(struct metrics *reg, const char *name, const char *help,
    const char *const *labels, uint64_t (*fn)(void *), void *arg)
{
	struct metric *m;

	assert(fn != NULL);
	m = metric_new(MK_COUNTER_FN);
	if (m == NULL)
		return NULL;
	m->count_fn = fn;
	m->fn_arg = arg;
	return add_series(reg, name, help, labels, m);
}

struct metric *
metrics_gauge_fn(struct metrics *reg, const char *name, const char *help,
    const char *const *labels, double (*fn)(void *), void *arg)
{
	struct metric *m;

	assert(fn != NULL);
	m = metric_new(MK_GAUGE_FN);
	if (m == NULL)
		return NULL;
	m->gauge_fn = fn;
	m->fn_arg = arg;
	return add_series(reg, name, help, labels, m);
}

/* --- updates -------------------------------------------------------------- */

void
metrics_add(struct metric *c, uint64_t n)
{
	if (c == NULL)
		return;
	assert(c->kind == MK_COUNTER);
	atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

void
metrics_inc(struct metric *c)
{
	metrics_add(c, 1);
}

void
metrics_set(struct metric *g, double v)
{
	if (g == NULL)
		return;
	assert(g->kind == MK_GAUGE);
	atomic_store_explicit(
	    &g->value, double_to_bits(v), memory_order_relaxed);
}

/* Add to a double kept as bits, with a compare-and-swap loop. */
static void
atomic_double_add(atomic_uint_least64_t *a, double d)
{
	uint64_t old = atomic_load_explicit(a, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(a, &old,
	    double_to_bits(bits_to_double(old) + d), memory_order_relaxed,
	    memory_order_relaxed))
		;
}

void
metrics_gauge_add(struct metric *g, double delta)
{
	if (g == NULL)
		return;
	assert(g->kind == MK_GAUGE);
	atomic_double_add(&g->value, delta);
}

void
metrics_observe(struct metric *h, double v)
{
	size_t lo = 0, hi;

	if (h == NULL || isnan(v))
		return;
	assert(h->kind == MK_HISTOGRAM);
	/* First bound >= v, by bisection; past the last is the +Inf bucket. */
	hi = h->nbounds;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->bounds[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	atomic_fetch_add_explicit(&h->buckets[lo], 1, memory_order_relaxed);
	atomic_double_add(&h->sum_bits, v);
}

uint64_t
metrics_counter_value(const struct metric *c)
{
	if (c == NULL)
		return 0;
	if (c->kind == MK_COUNTER_FN)
		return c->count_fn(c->fn_arg);
	return atomic_load_explicit(
	    &((struct metric *)c)->value, memory_order_relaxed);
}

double
metrics_gauge_value(const struct metric *g)
{
	if (g == NULL)
		return 0;
	if (g->kind == MK_GAUGE_FN)
		return g->gauge_fn(g->fn_arg);
	return bits_to_double(atomic_load_explicit(
	    &((struct metric *)g)->value, memory_order_relaxed));
}

/* --- rendering ------------------------------------------------------------ */

static void
series_name(struct sbuf *b, const char *name, const char *suffix,
    const char *labels, const char *le)
{
	sb_str(b, name);
	sb_str(b, suffix);
	if (labels[0] == '\0' && le == NULL) {
		sb_add(b, " ", 1);
		return;
	}
	sb_add(b, "{", 1);
	sb_str(b, labels);
	if (le != NULL) {
		if (labels[0] != '\0')
			sb_add(b, ",", 1);
		sb_add(b, "le=\"", 4);
		sb_str(b, le);
		sb_add(b, "\"", 1);
	}
	sb_add(b, "} ", 2);
}

static void
render_histogram(struct sbuf *b, const struct family *f, struct metric *m)
{
	struct sbuf le = {0};
	uint64_t cum = 0;

	/* _count is the sum of the buckets read, so the two always agree. */
	for (size_t i = 0; i <= m->nbounds; i++) {
		cum +=
		    atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
		le.len = 0;
		if (i < m->nbounds)
			sb_double(&le, m->bounds[i]);
		else
			sb_str(&le, "+Inf");
		series_name(
		    b, f->name, "_bucket", m->labels, le.failed ? "?" : le.p);
		sb_printf(b, "%llu\n", (unsigned long long)cum);
	}
	free(le.p);
	series_name(b, f->name, "_sum", m->labels, NULL);
	sb_double(b, bits_to_double(atomic_load_explicit(
	                 &m->sum_bits, memory_order_relaxed)));
	sb_add(b, "\n", 1);
	series_name(b, f->name, "_count", m->labels, NULL);
	sb_printf(b, "%llu\n", (unsigned long long)cum);
}

static void
render_all(struct metrics *reg, struct sbuf *b)
{
	pthread_mutex_lock(&reg->lock);
	for (struct family *f = reg->families; f != NULL; f = f->next) {
		sb_str(b, "# HELP ");
		sb_str(b, f->name);
		sb_add(b, " ", 1);
		sb_str(b, f->help);
		sb_str(b, "\n# TYPE ");
		sb_str(b, f->name);
		sb_add(b, " ", 1);
		sb_str(b, kind_type(f->kind));
		sb_add(b, "\n", 1);
		for (struct metric *m = f->series; m != NULL; m = m->next) {
			if (m->kind == MK_HISTOGRAM) {
				render_histogram(b, f, m);
				continue;
			}
			series_name(b, f->name, "", m->labels, NULL);
			if (m->kind == MK_COUNTER || m->kind == MK_COUNTER_FN)
				sb_printf(b, "%llu",
				    (unsigned long long)metrics_counter_value(
				        m));
			else
				sb_double(b, metrics_gauge_value(m));
			sb_add(b, "\n", 1);
		}
	}
	pthread_mutex_unlock(&reg->lock);
	sb_add(b, "", 0);
}

int
metrics_render(struct metrics *reg, struct evbuffer *out)
{
	struct sbuf b = {0};
	int r = -1;

	render_all(reg, &b);
	if (!b.failed && evbuffer_add(out, b.p, b.len) == 0)
		r = 0;
	free(b.p);
	return r;
}

size_t
metrics_render_buf(struct metrics *reg, char *buf, size_t size)
{
	struct sbuf b = {0};
	size_t n;

	render_all(reg, &b);
	n = b.failed ? 0 : b.len;
	if (size > 0) {
		size_t copy = n < size ? n : size - 1;
		if (copy > 0)
			memcpy(buf, b.p, copy);
		buf[copy] = '\0';
	}
	free(b.p);
	return n;
}

/*
 * ingest_collector - a collector of ingestd's ZeroMQ intake, for system tests.
 *
 *   ingest_collector --push EP --sub EP --source S --token T --batch-id B
 *       [--points P1,P2,... --ts-ms N [--count K] [--step-ms MS]
 *        [--value V]]
 *       [--readings FILE|-] [--events-json FILE|-]
 *       [--until STATUS] [--timeout-ms MS] [--resend-ms MS]
 *   ingest_collector --push EP --garbage
 *
 * It does what proto/README.md §3.1 asks of a collector, one batch per
 * run: it connects a SUB to ingestd's PUB (--sub) for ack.S and a PUSH to
 * the intake (--push), pushes empty probe batches until one is answered
 * (so the subscription is live: ZeroMQ's slow joiner), then pushes the
 * batch and waits for the ack quoting its batch_id, pushing it again when
 * none comes within --resend-ms (a re-send is idempotent).  The batch is
 * either readings (K readings of each point of --points at N, N + step,
 * ..., then the lines of --readings: POINT TS_MS VALUE QUALITY, where a
 * POINT of "-" is empty, a VALUE of "-" is no_value (nan and inf are
 * taken as such) and QUALITY is good, bad, maintenance, unspecified or a
 * number), or events (--events-json: a JSON array of {kind, id, at, data,
 * source}; an object data is sent as its JSON text, a string data as is).
 *
 * The ack is printed as one line of key=value pairs: batch, status
 * (COMMITTED, STORE_UNAVAILABLE, OVERLOADED, FAILED, REFUSED, or NONE
 * when none came), accepted, duplicates, quarantined, rejected_n,
 * rejected_idx (comma-separated indexes), retry_after_ms, sends (pushes of
 * the batch), then message="..." and rejected=[index:reason,...], which
 * hold spaces and so come last.  Exit 0 when an ack came (with --until,
 * when one of that status came: other statuses but REFUSED make it push
 * again after the ack's retry_after_ms), 1 when none did by --timeout-ms
 * (with --until: the last ack seen is printed), 2 on bad arguments or a
 * local error.
 *
 * --garbage pushes five frames the intake cannot answer (not an envelope,
 * two frames, a wrong version, an ack payload, a batch without batch_id)
 * and exits; ingestd must count them as malformed and carry on.
 *
 * tests/system/t_ingest_zmq.sh and t_ingest_limits.sh drive it.
 * Everything it allocates is its own and freed before it exits (it runs
 * under the sanitizers too).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <zmq.h>

#include "envelope.pb-c.h"
#include "json.h"
#include "timeutil.h"

#define PROBE_WAIT_MS 200       /* how long one probe waits for its ack */
#define PROBE_DEADLINE_MS 10000 /* how long the probing may take */
#define LINE_MAX_BYTES 1024

struct opts {
	const char *push_ep, *sub_ep, *source, *token, *batch_id;
	const char *points, *readings_file, *events_file;
	int64_t ts_ms, step_ms;
	long count;
	double value;
	int until; /* wanted status, 0: any */
	int64_t timeout_ms, resend_ms;
	int garbage;
};

/* The batch being sent and every string it points to. */
struct batch {
	Anquan__Reading **rd;
	size_t nrd, caprd;
	Anquan__Event **ev;
	size_t nev, capev;
	char **strs; /* owned strings, freed at the end */
	size_t nstrs, capstrs;
};

struct coll {
	void *ctx, *push, *sub;
	const struct opts *o;
	uint8_t *buf;
	size_t bufcap;
};

/* IngestAck.Status by number, as envelope.proto names them. */
static const char *const status_names[] = {"STATUS_UNSPECIFIED", "COMMITTED",
    "STORE_UNAVAILABLE", "OVERLOADED", "FAILED", "REFUSED"};
#define NSTATUS (int)(sizeof(status_names) / sizeof(status_names[0]))

static void
usage(void)
{
	fprintf(stderr,
	    "usage: ingest_collector --push EP --sub EP --source S "
	    "--token T --batch-id B\n"
	    "           [--points P1,P2 --ts-ms N [--count K] [--step-ms MS] "
	    "[--value V]]\n"
	    "           [--readings FILE|-] [--events-json FILE|-]\n"
	    "           [--until STATUS] [--timeout-ms MS] [--resend-ms MS]\n"
	    "       ingest_collector --push EP --garbage\n");
	exit(2);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Bad arguments or input: say why and exit 2. */
static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ingest_collector: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL) {
		fprintf(stderr, "ingest_collector: out of memory\n");
		exit(1);
	}
	return q;
}

/* --- building the batch ------------------------------------------------- */

/* Keep a copy of s (n bytes) with the batch; the copy is returned. */
static char *
keep_str(struct batch *b, const char *s, size_t n)
{
	char *c = xrealloc(NULL, n + 1);

	memcpy(c, s, n);
	c[n] = '\0';
	if (b->nstrs == b->capstrs) {
		b->capstrs = b->capstrs ? b->capstrs * 2 : 32;
		b->strs = xrealloc(b->strs, b->capstrs * sizeof(*b->strs));
	}
	b->strs[b->nstrs++] = c;
	return c;
}

static Anquan__Reading *
add_reading(struct batch *b)
{
	Anquan__Reading *r = xrealloc(NULL, sizeof(*r));

	anquan__reading__init(r);
	if (b->nrd == b->caprd) {
		b->caprd = b->caprd ? b->caprd * 2 : 64;
		b->rd = xrealloc(b->rd, b->caprd * sizeof(*b->rd));
	}
	b->rd[b->nrd++] = r;
	return r;
}

static int64_t
parse_int(const char *s, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0)
		die("%s is not a whole number", what);
	return v;
}

static int
parse_quality(const char *s)
{
	if (strcasecmp(s, "good") == 0)
		return ANQUAN__READING__QUALITY__GOOD;
	if (strcasecmp(s, "bad") == 0)
		return ANQUAN__READING__QUALITY__BAD;
	if (strcasecmp(s, "maintenance") == 0)
		return ANQUAN__READING__QUALITY__MAINTENANCE;
	if (strcasecmp(s, "unspecified") == 0)
		return ANQUAN__READING__QUALITY__QUALITY_UNSPECIFIED;
	return (int)parse_int(s, "a quality");
}

/* --points, --ts-ms, --count: K readings of each point, time by time. */
static void
generate_readings(struct batch *b, const struct opts *o)
{
	const char *p = o->points;
	size_t npoints = 0;
	char **codes = NULL;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		codes = xrealloc(codes, (npoints + 1) * sizeof(*codes));
		codes[npoints++] = keep_str(b, p, n);
		p += n;
		if (*p == ',')
			p++;
	}
	for (long k = 0; k < o->count; k++) {
		for (size_t i = 0; i < npoints; i++) {
			Anquan__Reading *r = add_reading(b);

			r->point = codes[i];
			r->ts_ms = o->ts_ms + k * o->step_ms;
			r->value = o->value + (double)k;
			r->quality = ANQUAN__READING__QUALITY__GOOD;
		}
	}
	free(codes);
}

/* One line of --readings: POINT TS_MS VALUE QUALITY. */
static void
parse_reading_line(struct batch *b, char *line, long lineno)
{
	char *f[5], *save = NULL, *tok, *end;
	Anquan__Reading *r;
	int n = 0;

	for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL && n < 5;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		f[n++] = tok;
	if (n == 0 || f[0][0] == '#')
		return;
	if (n != 4)
		die("line %ld: want POINT TS_MS VALUE QUALITY", lineno);
	r = add_reading(b);
	r->point = strcmp(f[0], "-") == 0 ? keep_str(b, "", 0)
	                                  : keep_str(b, f[0], strlen(f[0]));
	r->ts_ms = parse_int(f[1], "TS_MS");
	if (strcmp(f[2], "-") == 0) {
		r->no_value = 1;
	} else {
		r->value = strtod(f[2], &end);
		if (*end != '\0' || end == f[2])
			die("line %ld: VALUE \"%s\" is not a number", lineno,
			    f[2]);
	}
	r->quality = parse_quality(f[3]);
}

static FILE *
open_input(const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");

	if (fp == NULL)
		die("cannot open %s", path);
	return fp;
}

static void
read_readings(struct batch *b, const char *path)
{
	FILE *fp = open_input(path);
	char line[LINE_MAX_BYTES];
	long lineno = 0;

	while (fgets(line, sizeof(line), fp) != NULL)
		parse_reading_line(b, line, ++lineno);
	if (fp != stdin)
		fclose(fp);
}

/* The whole of a file (or stdin), NUL-terminated; *len bytes. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = open_input(path);
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	do {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n - 1, fp);
		n += got;
	} while (got > 0);
	if (fp != stdin)
		fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* A string member of o kept with the batch, or "" when absent. */
static char *
event_str(struct batch *b, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v))
		return keep_str(b, "", 0);
	return keep_str(b, v->valuestring, strlen(v->valuestring));
}

static void
read_events(struct batch *b, const char *path)
{
	struct json_err jerr;
	const cJSON *item;
	size_t len;
	char *text = slurp(path, &len);
	cJSON *root = json_parse(text, len, &jerr);

	free(text);
	if (root == NULL || !cJSON_IsArray(root))
		die("%s is not a JSON array of events", path);
	cJSON_ArrayForEach(item, root)
	{
		Anquan__Event *e = xrealloc(NULL, sizeof(*e));
		const cJSON *data, *at;

		anquan__event__init(e);
		if (b->nev == b->capev) {
			b->capev = b->capev ? b->capev * 2 : 16;
			b->ev = xrealloc(b->ev, b->capev * sizeof(*b->ev));
		}
		b->ev[b->nev++] = e;
		if (!cJSON_IsObject(item))
			continue; /* an empty event, for ingestd to refuse */
		e->kind = event_str(b, item, "kind");
		e->id = event_str(b, item, "id");
		e->source = event_str(b, item, "source");
		at = cJSON_GetObjectItemCaseSensitive(item, "at");
		if (cJSON_IsNumber(at))
			e->at_ms = (int64_t)at->valuedouble;
		data = cJSON_GetObjectItemCaseSensitive(item, "data");
		if (cJSON_IsString(data)) {
			e->data_case = ANQUAN__EVENT__DATA_JSON;
			e->json = keep_str(
			    b, data->valuestring, strlen(data->valuestring));
		} else if (data != NULL) {
			char *json = cJSON_PrintUnformatted(data);

			if (json == NULL)
				die("out of memory");
			e->data_case = ANQUAN__EVENT__DATA_JSON;
			e->json = keep_str(b, json, strlen(json));
			cJSON_free(json);
		}
	}
	cJSON_Delete(root);
}

static void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->nrd; i++)
		free(b->rd[i]);
	for (size_t i = 0; i < b->nev; i++)
		free(b->ev[i]);
	for (size_t i = 0; i < b->nstrs; i++)
		free(b->strs[i]);
	free(b->rd);
	free(b->ev);
	free(b->strs);
}

/* --- the wire ----------------------------------------------------------- */

/* Pack env into c->buf and push it as one frame. */
static void
push_envelope(struct coll *c, const Anquan__Envelope *env)
{
	size_t len = anquan__envelope__get_packed_size(env);

	if (len > c->bufcap) {
		c->bufcap = len * 2;
		c->buf = xrealloc(c->buf, c->bufcap);
	}
	anquan__envelope__pack(env, c->buf);
	if (zmq_send(c->push, c->buf, len, 0) < 0)
		die("zmq_send: %s", zmq_strerror(zmq_errno()));
}

/* Push the batch (b NULL: an empty probe batch) under batch_id. */
static void
push_batch(struct coll *c, const struct batch *b, const char *batch_id)
{
	Anquan__Envelope env = ANQUAN__ENVELOPE__INIT;
	Anquan__ReadingBatch rb = ANQUAN__READING_BATCH__INIT;
	Anquan__EventBatch eb = ANQUAN__EVENT_BATCH__INIT;

	env.version = 1;
	if (b != NULL && b->nev > 0) {
		eb.source = (char *)c->o->source;
		eb.batch_id = (char *)batch_id;
		eb.token = (char *)c->o->token;
		eb.n_events = b->nev;
		eb.events = b->ev;
		env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_EVENTS;
		env.events = &eb;
	} else {
		rb.source = (char *)c->o->source;
		rb.batch_id = (char *)batch_id;
		rb.token = (char *)c->o->token;
		if (b != NULL) {
			rb.n_readings = b->nrd;
			rb.readings = b->rd;
		}
		env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
		env.readings = &rb;
	}
	push_envelope(c, &env);
}

/* The next ack within timeout_ms (an IngestAck envelope), or NULL. */
static Anquan__Envelope *
next_ack(struct coll *c, int64_t timeout_ms)
{
	zmq_pollitem_t it = {c->sub, 0, ZMQ_POLLIN, 0};
	zmq_msg_t topic, body;
	Anquan__Envelope *env = NULL;

	if (timeout_ms < 0)
		timeout_ms = 0;
	if (zmq_poll(&it, 1, (long)timeout_ms) <= 0)
		return NULL;
	zmq_msg_init(&topic);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&topic, c->sub, 0) >= 0 && zmq_msg_more(&topic) &&
	    zmq_msg_recv(&body, c->sub, 0) >= 0)
		env = anquan__envelope__unpack(
		    NULL, zmq_msg_size(&body), zmq_msg_data(&body));
	/* Whatever else the message had is read and dropped. */
	while (zmq_msg_more(&body) && zmq_msg_recv(&body, c->sub, 0) >= 0)
		;
	zmq_msg_close(&topic);
	zmq_msg_close(&body);
	if (env != NULL &&
	    (env->payload_case != ANQUAN__ENVELOPE__PAYLOAD_ACK ||
	        env->ack == NULL)) {
		fprintf(stderr,
		    "ingest_collector: a message on ack.%s that "
		    "is not an IngestAck\n",
		    c->o->source);
		anquan__envelope__free_unpacked(env, NULL);
		env = NULL;
	}
	return env;
}

/* Probe until an ack shows the subscription is live; 0, or -1. */
static int
probe(struct coll *c)
{
	int64_t end = timeutil_mono_ms() + PROBE_DEADLINE_MS;
	char prefix[32], id[48];

	snprintf(prefix, sizeof(prefix), "probe.%ld.", (long)getpid());
	for (int k = 0; timeutil_mono_ms() < end; k++) {
		int64_t until = timeutil_mono_ms() + PROBE_WAIT_MS;
		Anquan__Envelope *env;

		snprintf(id, sizeof(id), "%s%d", prefix, k);
		push_batch(c, NULL, id);
		while (
		    (env = next_ack(c, until - timeutil_mono_ms())) != NULL) {
			int ours = strncmp(env->ack->batch_id, prefix,
			               strlen(prefix)) == 0;

			anquan__envelope__free_unpacked(env, NULL);
			if (ours)
				return 0;
		}
	}
	return -1;
}

/* The name of an ack status; a number this build does not know is UNKNOWN. */
static const char *
status_name(int st)
{
	return st >= 0 && st < NSTATUS ? status_names[st] : "UNKNOWN";
}

/* Print a string in double quotes, escaping quotes and backslashes. */
static void
print_quoted(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s == '\n' ? ' ' : *s);
	}
	putchar('"');
}

static void
print_ack(const char *batch_id, const Anquan__IngestAck *a, int sends)
{
	if (a == NULL) {
		printf("batch=%s status=NONE sends=%d\n", batch_id, sends);
		return;
	}
	printf("batch=%s status=%s accepted=%u duplicates=%u quarantined=%u "
	       "rejected_n=%zu rejected_idx=",
	    a->batch_id, status_name((int)a->status), a->accepted,
	    a->duplicates, a->quarantined, a->n_rejected);
	for (size_t i = 0; i < a->n_rejected; i++)
		printf("%s%u", i ? "," : "", a->rejected[i]->index);
	printf(
	    " retry_after_ms=%u sends=%d message=", a->retry_after_ms, sends);
	print_quoted(a->message != NULL ? a->message : "");
	printf(" rejected=[");
	for (size_t i = 0; i < a->n_rejected; i++)
		printf("%s%u:%s", i ? "," : "", a->rejected[i]->index,
		    a->rejected[i]->reason);
	printf("]\n");
}

/*
 * Push the batch and wait for its ack, re-sending on silence and (with
 * --until) on a retryable status.  0 when the wanted ack came.
 */
static int
exchange(struct coll *c, const struct batch *b)
{
	const struct opts *o = c->o;
	int64_t now = timeutil_mono_ms();
	int64_t end = now + o->timeout_ms, resend_at = now;
	Anquan__Envelope *last = NULL;
	int sends = 0, rc = 1;

	for (;;) {
		Anquan__Envelope *env;

		now = timeutil_mono_ms();
		if (now >= end)
			break;
		if (now >= resend_at) {
			push_batch(c, b, o->batch_id);
			sends++;
			resend_at = now + o->resend_ms;
		}
		env = next_ack(c, (resend_at < end ? resend_at : end) - now);
		if (env == NULL)
			continue;
		if (strcmp(env->ack->batch_id, o->batch_id) != 0) {
			anquan__envelope__free_unpacked(env, NULL);
			continue; /* a late probe ack, or another batch's */
		}
		if (last != NULL)
			anquan__envelope__free_unpacked(last, NULL);
		last = env;
		if (o->until == 0 || (int)env->ack->status == o->until) {
			rc = 0;
			break;
		}
		if (env->ack->status == ANQUAN__INGEST_ACK__STATUS__REFUSED)
			break; /* re-sending it unchanged is no use */
		fprintf(stderr,
		    "ingest_collector: batch %s: %s (%s), again "
		    "in %u ms\n",
		    o->batch_id, status_name((int)env->ack->status),
		    env->ack->message, env->ack->retry_after_ms);
		resend_at =
		    timeutil_mono_ms() + (env->ack->retry_after_ms > 0
		                                 ? env->ack->retry_after_ms
		                                 : 100);
	}
	print_ack(o->batch_id, last != NULL ? last->ack : NULL, sends);
	if (last != NULL)
		anquan__envelope__free_unpacked(last, NULL);
	return rc;
}

/* Five frames nobody can be answered for. */
static void
push_garbage(struct coll *c)
{
	static const char junk[] = "this is not an envelope \xff\xfe";
	Anquan__Envelope env = ANQUAN__ENVELOPE__INIT;
	Anquan__ReadingBatch rb = ANQUAN__READING_BATCH__INIT;
	Anquan__IngestAck ack = ANQUAN__INGEST_ACK__INIT;

	if (zmq_send(c->push, junk, sizeof(junk) - 1, 0) < 0 ||
	    zmq_send(c->push, "two", 3, ZMQ_SNDMORE) < 0 ||
	    zmq_send(c->push, "frames", 6, 0) < 0)
		die("zmq_send: %s", zmq_strerror(zmq_errno()));
	rb.source = (char *)"garbage";
	rb.batch_id = (char *)"g-1";
	env.version = 99;
	env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
	env.readings = &rb;
	push_envelope(c, &env);
	env.version = 1;
	ack.batch_id = (char *)"g-2";
	env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_ACK;
	env.readings = NULL;
	env.ack = &ack;
	push_envelope(c, &env);
	rb.batch_id = (char *)"";
	env.payload_case = ANQUAN__ENVELOPE__PAYLOAD_READINGS;
	env.ack = NULL;
	env.readings = &rb;
	push_envelope(c, &env);
	printf("garbage_sent=5\n");
}

/* --- main --------------------------------------------------------------- */

static int
parse_status(const char *s)
{
	for (int i = 1; i < NSTATUS; i++)
		if (strcasecmp(s, status_names[i]) == 0)
			return i;
	die("--until %s: not an ack status", s);
	return 0;
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"push", required_argument, NULL, 'p'},
	    {"sub", required_argument, NULL, 's'},
	    {"source", required_argument, NULL, 'S'},
	    {"token", required_argument, NULL, 'T'},
	    {"batch-id", required_argument, NULL, 'b'},
	    {"points", required_argument, NULL, 'P'},
	    {"ts-ms", required_argument, NULL, 't'},
	    {"count", required_argument, NULL, 'k'},
	    {"step-ms", required_argument, NULL, 'e'},
	    {"value", required_argument, NULL, 'v'},
	    {"readings", required_argument, NULL, 'r'},
	    {"events-json", required_argument, NULL, 'E'},
	    {"until", required_argument, NULL, 'u'},
	    {"timeout-ms", required_argument, NULL, 'w'},
	    {"resend-ms", required_argument, NULL, 'R'},
	    {"garbage", no_argument, NULL, 'g'},
	    {NULL, 0, NULL, 0},
	};
	int ch, have_ts = 0;
	char *end;

	memset(o, 0, sizeof(*o));
	o->count = 1;
	o->step_ms = 1000;
	o->timeout_ms = 10000;
	o->resend_ms = 3000;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			o->push_ep = optarg;
			break;
		case 's':
			o->sub_ep = optarg;
			break;
		case 'S':
			o->source = optarg;
			break;
		case 'T':
			o->token = optarg;
			break;
		case 'b':
			o->batch_id = optarg;
			break;
		case 'P':
			o->points = optarg;
			break;
		case 't':
			o->ts_ms = parse_int(optarg, "--ts-ms");
			have_ts = 1;
			break;
		case 'k':
			o->count = (long)parse_int(optarg, "--count");
			break;
		case 'e':
			o->step_ms = parse_int(optarg, "--step-ms");
			break;
		case 'v':
			o->value = strtod(optarg, &end);
			if (*end != '\0' || end == optarg)
				die("--value %s is not a number", optarg);
			break;
		case 'r':
			o->readings_file = optarg;
			break;
		case 'E':
			o->events_file = optarg;
			break;
		case 'u':
			o->until = parse_status(optarg);
			break;
		case 'w':
			o->timeout_ms = parse_int(optarg, "--timeout-ms");
			break;
		case 'R':
			o->resend_ms = parse_int(optarg, "--resend-ms");
			break;
		case 'g':
			o->garbage = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o->push_ep == NULL)
		usage();
	if (o->garbage)
		return;
	if (o->sub_ep == NULL || o->source == NULL || o->token == NULL ||
	    o->batch_id == NULL)
		usage();
	if (o->points != NULL && !have_ts)
		die("--points needs --ts-ms");
	if (o->events_file != NULL &&
	    (o->points != NULL || o->readings_file != NULL))
		die("a batch holds readings or events, not both");
	if (o->count < 0 || o->timeout_ms <= 0 || o->resend_ms <= 0)
		die("--count, --timeout-ms and --resend-ms must be positive");
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct batch b;
	struct coll c;
	char topic[128];
	int linger = 1000, rc = 1;

	parse_args(argc, argv, &o);
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	c.o = &o;
	if (o.points != NULL)
		generate_readings(&b, &o);
	if (o.readings_file != NULL)
		read_readings(&b, o.readings_file);
	if (o.events_file != NULL)
		read_events(&b, o.events_file);

	c.ctx = zmq_ctx_new();
	c.push = zmq_socket(c.ctx, ZMQ_PUSH);
	if (c.ctx == NULL || c.push == NULL)
		die("cannot make ZeroMQ sockets");
	/* Linger, so what was pushed reaches ingestd before we exit. */
	zmq_setsockopt(c.push, ZMQ_LINGER, &linger, sizeof(linger));
	if (o.garbage) {
		if (zmq_connect(c.push, o.push_ep) != 0)
			die("cannot connect to %s", o.push_ep);
		push_garbage(&c);
		rc = 0;
		goto out;
	}
	/* SUB before PUSH: the slow joiner (proto/README.md §3.1). */
	c.sub = zmq_socket(c.ctx, ZMQ_SUB);
	linger = 0;
	snprintf(topic, sizeof(topic), "ack.%s", o.source);
	if (c.sub == NULL ||
	    zmq_setsockopt(c.sub, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(c.sub, ZMQ_SUBSCRIBE, topic, strlen(topic)) != 0 ||
	    zmq_connect(c.sub, o.sub_ep) != 0)
		die("cannot subscribe at %s", o.sub_ep);
	if (zmq_connect(c.push, o.push_ep) != 0)
		die("cannot connect to %s", o.push_ep);
	if (probe(&c) < 0) {
		fprintf(stderr,
		    "ingest_collector: no ack of a probe batch "
		    "within %d ms\n",
		    PROBE_DEADLINE_MS);
		print_ack(o.batch_id, NULL, 0);
		goto out;
	}
	rc = exchange(&c, &b);
out:
	if (c.sub != NULL)
		zmq_close(c.sub);
	zmq_close(c.push);
	zmq_ctx_term(c.ctx);
	free(c.buf);
	batch_free(&b);
	return rc;
}

/*
 * cmd_tail - `safetyctl tail [PREFIX...] [--connect ENDPOINT ...]
 * [--count N]`: print what passes on the bus.
 *
 * Operators use it to see the live traffic; the system tests use it to see
 * that a daemon publishes.  It subscribes a SUB socket to the prefixes
 * (none: everything) on the given PUB endpoints (default: the four of the
 * [bus] section that main.c read, proto/README.md §1), and prints one line
 * per message on stdout:
 *
 *   rd.370112.hazchem stream=rd.370112.hazchem seq=42
 *     produced_at=2026-11-29T08:00:00.123+08:00 producer=ingestd
 *     msg_id=... readings n=3 [P-0001 12.5 good, ...]
 *
 * (on one line), the first three items of the payload summarised.  A message
 * that fails strict decoding is reported on stderr with the reason and
 * tailing goes on.  It only listens: no store, no cursor, so it shows what
 * passes now, not what was missed.  SIGINT or SIGTERM (or --count) ends it
 * with status 0.  It runs its own libevent loop with common/bus.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "bus.h"
#include "log.h"
#include "safetyctl.h"

#define TAIL_MAX_LIST 16
#define TAIL_ITEMS 3      /* payload items shown per line */
#define TAIL_FIELD_MAX 64 /* bytes of one external string shown */
#define CITY_OFFSET_S (8 * 3600)

struct tail {
	struct event_base *base;
	long count; /* stop after this many lines; 0: never */
	long printed;
};

/* Epoch milliseconds as RFC 3339 in the city's zone (+08:00). */
static void
fmt_time(char *buf, size_t size, int64_t ms)
{
	int64_t msec = ms % 1000, secs = ms / 1000;
	time_t local;
	struct tm tm;
	size_t n;

	if (msec < 0) {
		msec += 1000;
		secs--;
	}
	local = (time_t)(secs + CITY_OFFSET_S);
	if (gmtime_r(&local, &tm) == NULL ||
	    (n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		snprintf(buf, size, "%" PRId64 "ms", ms);
		return;
	}
	snprintf(buf + n, size - n, ".%03d+08:00", (int)msec);
}

/*
 * Print an external string safely: control bytes become '?', at most
 * TAIL_FIELD_MAX bytes (cut on a UTF-8 boundary), quoted when it holds a
 * space or is empty so the line still splits into fields.
 */
static void
put_field(FILE *fp, const char *s)
{
	size_t len = strlen(s), n = len < TAIL_FIELD_MAX ? len : TAIL_FIELD_MAX;
	int quote = len == 0 || strpbrk(s, " \"") != NULL;

	while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	if (quote)
		fputc('"', fp);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		fputc(c < 0x20 || c == 0x7f || c == '"' ? '?' : c, fp);
	}
	if (n < len)
		fputs("...", fp);
	if (quote)
		fputc('"', fp);
}

static const char *
quality_name(int q)
{
	switch (q) {
	case ANQUAN__READING__QUALITY__GOOD:
		return "good";
	case ANQUAN__READING__QUALITY__BAD:
		return "bad";
	case ANQUAN__READING__QUALITY__MAINTENANCE:
		return "maintenance";
	default:
		return "unspecified";
	}
}

static void
put_readings(FILE *fp, const Anquan__ReadingBatch *rb)
{
	fprintf(fp, " readings n=%zu [", rb->n_readings);
	for (size_t i = 0; i < rb->n_readings && i < TAIL_ITEMS; i++) {
		const Anquan__Reading *r = rb->readings[i];

		fputs(i ? ", " : "", fp);
		put_field(fp, r->point);
		fprintf(fp, " %.10g %s", r->value, quality_name(r->quality));
	}
	fputs(rb->n_readings > TAIL_ITEMS ? ", ...]" : "]", fp);
}

static void
put_events(FILE *fp, const Anquan__EventBatch *eb)
{
	fprintf(fp, " events n=%zu [", eb->n_events);
	for (size_t i = 0; i < eb->n_events && i < TAIL_ITEMS; i++) {
		const Anquan__Event *e = eb->events[i];

		fputs(i ? ", " : "", fp);
		put_field(fp, e->kind);
		fputc(' ', fp);
		put_field(fp, e->id);
	}
	fputs(eb->n_events > TAIL_ITEMS ? ", ...]" : "]", fp);
}

static void
print_message(const char *topic, const Anquan__Envelope *env)
{
	char at[48];

	fmt_time(at, sizeof(at), env->produced_at_ms);
	fputs(topic, stdout);
	fputs(" stream=", stdout);
	put_field(stdout, env->stream);
	printf(" seq=%" PRIu64 " produced_at=%s producer=", env->seq, at);
	put_field(stdout, env->producer);
	fputs(" msg_id=", stdout);
	put_field(stdout, env->msg_id);
	switch (env->payload_case) {
	case ANQUAN__ENVELOPE__PAYLOAD_READINGS:
		put_readings(stdout, env->readings);
		break;
	case ANQUAN__ENVELOPE__PAYLOAD_EVENTS:
		put_events(stdout, env->events);
		break;
	default:
		fputs(" unknown payload (newer producer?)", stdout);
		break;
	}
	fputc('\n', stdout);
	/* A pipe or file reader wants each line as it comes. */
	fflush(stdout);
}

static void
on_message(
    struct bus_sock *s, const struct bus_frame *frames, int nframes, void *arg)
{
	struct tail *t = arg;
	char topic[BUS_TOPIC_MAX + 1];
	Anquan__Envelope *env;
	enum bus_decode_err e;

	/* The loop exits after this wakeup; print nothing past --count. */
	if (t->count > 0 && t->printed >= t->count)
		return;
	e = bus_decode_pub(frames, nframes, topic, &env);
	if (e != BUS_DECODE_OK && e != BUS_DECODE_UNKNOWN) {
		ctl_error("tail", "message on \"%s\" rejected: %s", topic,
		    bus_decode_errstr(e));
		return;
	}
	print_message(topic, env);
	bus_envelope_free(env);
	if (t->count > 0 && ++t->printed >= t->count) {
		bus_sock_pause(s, 1);
		event_base_loopexit(t->base, NULL);
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct tail *t = arg;

	(void)sig;
	(void)what;
	event_base_loopexit(t->base, NULL);
}

/* Subscribe and connect; 0, or -1 after saying why. */
static int
tail_socket(struct bus *bus, const char *const *prefixes, int np,
    const char *const *endpoints, struct tail *t)
{
	struct bus_sock *sub = bus_socket(bus, ZMQ_SUB, NULL);

	if (sub == NULL) {
		ctl_error("tail", "cannot make a ZeroMQ socket");
		return -1;
	}
	if (np == 0 && bus_subscribe(sub, "") < 0)
		return -1;
	for (int i = 0; i < np; i++) {
		if (!bus_topic_valid(prefixes[i], strlen(prefixes[i]))) {
			ctl_error("tail",
			    "prefix \"%s\" is not printable ASCII "
			    "of at most %d bytes",
			    prefixes[i], BUS_TOPIC_MAX);
			return -1;
		}
		if (bus_subscribe(sub, prefixes[i]) < 0)
			return -1;
	}
	for (const char *const *e = endpoints; *e != NULL; e++) {
		if (bus_connect(sub, *e) < 0) {
			ctl_error("tail",
			    "cannot connect to \"%s\" (an endpoint "
			    "looks like tcp://127.0.0.1:7101)",
			    *e);
			return -1;
		}
	}
	bus_sock_on_recv(sub, on_message, t);
	return 0;
}

/*
 * The four PUB endpoints of the config into list; a field left empty (no
 * config read) takes the contract's default.
 */
static void
default_endpoints(const struct ctl *ctl, const char **list)
{
	const char *conf[4] = {ctl->shared.bus.ingestd_pub,
	    ctl->shared.bus.riskd_pub, ctl->shared.bus.alarmd_pub,
	    ctl->shared.bus.schedd_pub};
	const char *builtin[4] = {BUS_EP_INGESTD_PUB, BUS_EP_RISKD_PUB,
	    BUS_EP_ALARMD_PUB, BUS_EP_SCHEDD_PUB};

	for (int i = 0; i < 4; i++)
		list[i] = conf[i][0] != '\0' ? conf[i] : builtin[i];
	list[4] = NULL;
}

int
cmd_tail(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"connect", required_argument, NULL, 'e'},
	    {"count", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *endpoints[TAIL_MAX_LIST + 1] = {NULL};
	struct tail t = {0};
	struct event *sigint = NULL, *sigterm = NULL;
	struct bus *bus = NULL;
	char *end;
	int c, ne = 0, rc = CTL_FAIL;

	while ((c = getopt_long(argc, argv, "e:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (ne == TAIL_MAX_LIST) {
				ctl_error("tail", "at most %d endpoints",
				    TAIL_MAX_LIST);
				return CTL_USAGE;
			}
			endpoints[ne++] = optarg;
			break;
		case 'n':
			t.count = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || t.count < 1) {
				ctl_error("tail",
				    "--count wants a positive "
				    "number, not \"%s\"",
				    optarg);
				return CTL_USAGE;
			}
			break;
		case 'h':
			printf("usage: safetyctl tail [PREFIX...] [--connect "
			       "ENDPOINT ...] [--count N]\n"
			       "Print the bus messages whose topic starts with "
			       "a PREFIX (none: all).\n");
			return CTL_OK;
		default:
			return ctl_usage("tail");
		}
	}
	if (ne == 0)
		default_endpoints(ctl, endpoints);
	t.base = event_base_new();
	if (t.base == NULL || (bus = bus_new(t.base)) == NULL) {
		ctl_error("tail", "cannot set up the event loop or ZeroMQ");
		goto out;
	}
	if (tail_socket(bus, (const char *const *)argv + optind, argc - optind,
	        endpoints, &t) < 0)
		goto out;
	sigint = evsignal_new(t.base, SIGINT, on_signal, &t);
	sigterm = evsignal_new(t.base, SIGTERM, on_signal, &t);
	if (sigint == NULL || sigterm == NULL || event_add(sigint, NULL) ||
	    event_add(sigterm, NULL))
		goto out;
	event_base_dispatch(t.base);
	rc = CTL_OK;
out:
	if (sigint != NULL)
		event_free(sigint);
	if (sigterm != NULL)
		event_free(sigterm);
	bus_free(bus);
	if (t.base != NULL)
		event_base_free(t.base);
	return rc;
}

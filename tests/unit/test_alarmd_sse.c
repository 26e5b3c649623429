/*
 * test_alarmd_sse - the framing of alarmd's console stream
 * (services/alarmd/sse.c) and the hub without clients.
 *
 * Expected frames are written out by hand from the event-stream format
 * (one "field: value" per line, a blank line ending the event), not taken
 * from the code.  A small decoder written here after the browser's rules
 * (lines end at CRLF, LF or CR; "data" values are joined with LF; one
 * space after the colon is dropped) reads frames back, so payloads with
 * every kind of line break, leading spaces, colons and Chinese text are
 * checked to arrive as sent.  Malformed input: event names with line
 * breaks or too long, comments with line breaks, buffers too small.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "../../services/alarmd/sse.h"

#define BIG 4096

static void
frame_is(uint64_t id, const char *event, const char *data, const char *want)
{
	char buf[BIG];
	size_t n = sse_frame(buf, sizeof(buf), id, event, data);

	assert_int_equal(n, strlen(want));
	assert_string_equal(buf, want);
}

static void
test_frame_basic(void **state)
{
	(void)state;
	frame_is(1, "incident", "{\"id\":\"1\"}",
	    "id: 1\nevent: incident\ndata: {\"id\":\"1\"}\n\n");
	frame_is(18446744073709551615ULL, "x", "y",
	    "id: 18446744073709551615\nevent: x\ndata: y\n\n");
}

static void
test_frame_optional_fields(void **state)
{
	(void)state;
	/* id 0: no id line; no event name: the browser's "message". */
	frame_is(0, NULL, "a", "data: a\n\n");
	frame_is(0, "", "a", "data: a\n\n");
	frame_is(7, NULL, "a", "id: 7\ndata: a\n\n");
	/* No data at all still makes one (empty) data line. */
	frame_is(0, "ping", NULL, "event: ping\ndata: \n\n");
	frame_is(0, "ping", "", "event: ping\ndata: \n\n");
}

static void
test_frame_line_breaks(void **state)
{
	(void)state;
	frame_is(2, "incident", "{\n  \"id\": \"2\"\n}",
	    "id: 2\nevent: incident\ndata: {\ndata:   \"id\": \"2\"\ndata: "
	    "}\n\n");
	/* CRLF counts as one break, a lone CR as one. */
	frame_is(
	    0, NULL, "a\r\nb\rc\nd", "data: a\ndata: b\ndata: c\ndata: d\n\n");
	/* Two breaks in a row: an empty line between. */
	frame_is(0, NULL, "a\n\nb", "data: a\ndata: \ndata: b\n\n");
	frame_is(0, NULL, "a\r\rb", "data: a\ndata: \ndata: b\n\n");
	/* A final break survives as an empty last line. */
	frame_is(0, NULL, "a\n", "data: a\ndata: \n\n");
	frame_is(0, NULL, "\n", "data: \ndata: \n\n");
	/* CR LF CR: one CRLF, then a lone CR. */
	frame_is(0, NULL, "a\r\n\rb", "data: a\ndata: \ndata: b\n\n");
}

static void
test_frame_keeps_text(void **state)
{
	(void)state;
	/* A leading space of the payload stays: we add exactly one. */
	frame_is(0, NULL, " x", "data:  x\n\n");
	/* Colons and field-like text inside data are data. */
	frame_is(0, NULL, "event: fake\nid: 99",
	    "data: event: fake\ndata: id: 99\n\n");
	frame_is(0, "incident", "{\"title\":\"液氨储罐液位高高报警\"}",
	    "event: incident\ndata: {\"title\":\"液氨储罐液位高高报警\"}\n\n");
	/* Colons in an event name are fine. */
	frame_is(0, "a:b", "x", "event: a:b\ndata: x\n\n");
}

static void
test_frame_bad_event(void **state)
{
	char buf[BIG], name[SSE_EVENT_MAX + 2];

	(void)state;
	assert_int_equal(
	    sse_frame(buf, sizeof(buf), 1, "in\ncident", "x"), (size_t)-1);
	assert_int_equal(
	    sse_frame(buf, sizeof(buf), 1, "x\r", "x"), (size_t)-1);
	assert_int_equal(sse_frame(buf, sizeof(buf), 1, "\n", "x"), (size_t)-1);
	memset(name, 'e', SSE_EVENT_MAX + 1);
	name[SSE_EVENT_MAX + 1] = '\0';
	assert_int_equal(sse_frame(buf, sizeof(buf), 1, name, "x"), (size_t)-1);
	name[SSE_EVENT_MAX] = '\0';
	assert_int_equal(sse_frame(buf, sizeof(buf), 0, name, ""),
	    strlen("event: \ndata: \n\n") + SSE_EVENT_MAX);
}

static void
test_frame_small_buffer(void **state)
{
	const char *want = "id: 3\nevent: incident\ndata: abc\n\n";
	size_t full = strlen(want);
	char buf[16];

	(void)state;
	/* Like snprintf: the length it needs, the prefix that fits. */
	assert_int_equal(
	    sse_frame(buf, sizeof(buf), 3, "incident", "abc"), full);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, want, sizeof(buf) - 1);
	/* Size 0 writes nothing at all. */
	assert_int_equal(sse_frame(NULL, 0, 3, "incident", "abc"), full);
	buf[0] = 'Z';
	assert_int_equal(sse_frame(buf, 1, 3, "incident", "abc"), full);
	assert_int_equal(buf[0], '\0');
	/* Exactly the frame and its NUL. */
	{
		char exact[64];

		assert_true(full + 1 <= sizeof(exact));
		assert_int_equal(
		    sse_frame(exact, full + 1, 3, "incident", "abc"), full);
		assert_string_equal(exact, want);
		assert_int_equal(
		    sse_frame(exact, full, 3, "incident", "abc"), full);
		assert_int_equal(strlen(exact), full - 1);
	}
}

static void
test_comment(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(sse_comment(buf, sizeof(buf), "heartbeat"),
	    strlen(": heartbeat\n\n"));
	assert_string_equal(buf, ": heartbeat\n\n");
	assert_int_equal(sse_comment(buf, sizeof(buf), NULL), 4);
	assert_string_equal(buf, ": \n\n");
	assert_int_equal(sse_comment(buf, sizeof(buf), "a\nb"), (size_t)-1);
	assert_int_equal(sse_comment(buf, sizeof(buf), "a\r"), (size_t)-1);
}

/* --- a decoder after the browser's rules ---------------------------------- */

struct decoded {
	char event[128];
	char id[64];
	char data[BIG];
	int events;
};

/* Handle one line (without its end) of an event stream. */
static void
decode_line(struct decoded *d, const char *line, size_t n, char *buf,
    size_t *blen, int *has_data)
{
	const char *colon = memchr(line, ':', n);
	size_t flen = colon != NULL ? (size_t)(colon - line) : n;
	const char *val = colon != NULL ? colon + 1 : line + n;
	size_t vlen = n - (size_t)(val - line);

	if (n == 0) {
		/* Dispatch: drop the last LF of the data buffer. */
		if (*has_data) {
			if (*blen > 0 && buf[*blen - 1] == '\n')
				(*blen)--;
			memcpy(d->data, buf, *blen);
			d->data[*blen] = '\0';
			d->events++;
		}
		*blen = 0;
		*has_data = 0;
		return;
	}
	if (flen == 0)
		return; /* a comment */
	if (vlen > 0 && val[0] == ' ') {
		val++;
		vlen--;
	}
	if (flen == 4 && memcmp(line, "data", 4) == 0) {
		assert_true(*blen + vlen + 1 < BIG);
		memcpy(buf + *blen, val, vlen);
		*blen += vlen;
		buf[(*blen)++] = '\n';
		*has_data = 1;
	} else if (flen == 5 && memcmp(line, "event", 5) == 0) {
		assert_true(vlen < sizeof(d->event));
		memcpy(d->event, val, vlen);
		d->event[vlen] = '\0';
	} else if (flen == 2 && memcmp(line, "id", 2) == 0) {
		assert_true(vlen < sizeof(d->id));
		memcpy(d->id, val, vlen);
		d->id[vlen] = '\0';
	}
}

static void
decode(const char *stream, struct decoded *d)
{
	char buf[BIG];
	size_t blen = 0;
	int has_data = 0;
	const char *p = stream;

	memset(d, 0, sizeof(*d));
	while (*p != '\0') {
		size_t n = strcspn(p, "\r\n");

		decode_line(d, p, n, buf, &blen, &has_data);
		p += n;
		if (p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (*p != '\0')
			p++;
	}
}

/* What the browser hands the page: the payload with breaks as LF. */
static void
normalise(const char *in, char *out)
{
	while (*in != '\0') {
		if (in[0] == '\r' && in[1] == '\n') {
			*out++ = '\n';
			in += 2;
		} else if (*in == '\r') {
			*out++ = '\n';
			in++;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
}

static void
round_trip(uint64_t id, const char *event, const char *data)
{
	char frame[BIG], want[BIG], idtext[32];
	struct decoded d;
	size_t n = sse_frame(frame, sizeof(frame), id, event, data);

	assert_true(n < sizeof(frame));
	decode(frame, &d);
	assert_int_equal(d.events, 1);
	normalise(data, want);
	assert_string_equal(d.data, want);
	assert_string_equal(d.event, event);
	snprintf(idtext, sizeof(idtext), "%llu", (unsigned long long)id);
	assert_string_equal(d.id, idtext);
}

static void
test_round_trip(void **state)
{
	static const char *const cases[] = {
	    "{\"id\":\"42\",\"level\":\"red\"}",
	    "{\n\t\"title\": \"一号罐区浓度超限\",\n\t\"n\": 1\n}\n",
	    "  two leading spaces",
	    ": looks like a comment",
	    "data: looks like a field",
	    "\r\n\r\n",
	    "mixed\rline\r\nbreaks\n",
	    "",
	    "x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		round_trip(i + 1, "incident", cases[i]);
}

/* Payloads of random bytes from an alphabet rich in breaks and colons. */
static void
test_round_trip_random(void **state)
{
	static const char alphabet[] = "ab :{}\"\r\n\n\r \xe7\xba\xa2";
	char data[600];
	uint32_t seed = 12345;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % (sizeof(data) - 1);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			data[i] =
			    alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		data[n] = '\0';
		round_trip((uint64_t)round + 1, "incident", data);
	}
}

/* A stream of several frames and heartbeats decodes to the last event. */
static void
test_stream_of_frames(void **state)
{
	char stream[BIG], *p = stream;
	size_t left = sizeof(stream), n;
	struct decoded d;

	(void)state;
	n = sse_comment(p, left, "heartbeat");
	p += n;
	left -= n;
	n = sse_frame(p, left, 1, "incident", "{\"id\":\"1\"}");
	p += n;
	left -= n;
	n = sse_comment(p, left, "heartbeat");
	p += n;
	left -= n;
	n = sse_frame(p, left, 2, "incident", "{\"id\":\n\"2\"}");
	assert_true(n < left);
	decode(stream, &d);
	assert_int_equal(d.events, 2);
	assert_string_equal(d.id, "2");
	assert_string_equal(d.data, "{\"id\":\n\"2\"}");
}

/* The hub without clients: broadcasts number frames and go nowhere. */
static void
test_hub_without_clients(void **state)
{
	struct event_base *base = event_base_new();
	struct sse *s;

	(void)state;
	assert_non_null(base);
	s = sse_new(base, 4);
	assert_non_null(s);
	assert_int_equal(sse_clients(s), 0);
	assert_int_equal(sse_last_id(s), 0);
	sse_broadcast(s, "incident", "{\"id\":\"1\"}");
	sse_broadcast(s, "incident", "{\"id\":\"2\"}");
	assert_int_equal(sse_last_id(s), 2);
	/* A bad event name is not sent and uses no id. */
	sse_broadcast(s, "bad\nname", "{}");
	assert_int_equal(sse_last_id(s), 2);
	/* A payload larger than the first frame buffer. */
	{
		size_t n = 100000;
		char *big = malloc(n + 1);

		assert_non_null(big);
		memset(big, 'q', n);
		big[n] = '\0';
		sse_broadcast(s, "incident", big);
		free(big);
	}
	assert_int_equal(sse_last_id(s), 3);
	sse_free(s);
	sse_free(NULL);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_basic),
	    cmocka_unit_test(test_frame_optional_fields),
	    cmocka_unit_test(test_frame_line_breaks),
	    cmocka_unit_test(test_frame_keeps_text),
	    cmocka_unit_test(test_frame_bad_event),
	    cmocka_unit_test(test_frame_small_buffer),
	    cmocka_unit_test(test_comment),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_round_trip_random),
	    cmocka_unit_test(test_stream_of_frames),
	    cmocka_unit_test(test_hub_without_clients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * log - one line per event, key=value, to stderr.
 *
 * The line is built in a stack buffer and written with one write(2), so lines
 * from several threads never interleave.  Time is wall-clock in the city's
 * zone (+08:00), to the millisecond.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
#define CITY_OFFSET_S (8 * 3600)

static char log_prog[32] = "anquan";
static enum log_level log_min = LOGL_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
log_init(const char *prog, enum log_level min)
{
	snprintf(log_prog, sizeof(log_prog), "%s", prog ? prog : "anquan");
	log_min = min;
}

void
log_set_level(enum log_level min)
{
	log_min = min;
}

enum log_level
log_get_level(void)
{
	return log_min;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level l)
{
	if ((unsigned)l >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[l];
}

static void
log_vwrite(enum log_level l, const char *event, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	time_t local;
	size_t n;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	local = ts.tv_sec + CITY_OFFSET_S;
	gmtime_r(&local, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ld+08:00 %s[%ld] %s event=%s ",
	    ts.tv_nsec / 1000000, log_prog, (long)getpid(), log_level_name(l),
	    event);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (fmt != NULL && n < sizeof(line) - 2) {
		r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
		if (r > 0)
			n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r
							     : sizeof(line) - n - 2;
	}
	while (n > 0 && line[n - 1] == ' ')
		n--;
	line[n++] = '\n';
	/* A short write to stderr is not worth a retry loop: lines are small. */
	if (write(STDERR_FILENO, line, n) < 0)
		errno = 0;
}

void
log_msg(enum log_level l, const char *event, const char *fmt, ...)
{
	va_list ap;

	if (l < log_min)
		return;
	va_start(ap, fmt);
	log_vwrite(l, event, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOGL_ERROR, event, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *
log_quote(char *buf, size_t size, const char *s)
{
	size_t o = 0;
	int plain = *s != '\0';

	if (size == 0)
		return buf;
	for (const char *p = s; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    (unsigned char)*p < 0x20)
			plain = 0;
	if (plain) {
		snprintf(buf, size, "%s", s);
		return buf;
	}
	if (size < 3) {
		buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	/* Each step needs its bytes plus the closing quote and the NUL. */
	for (const char *p = s; *p && o + 3 <= size; p++) {
		unsigned char c = (unsigned char)*p;
		int pair = c == '"' || c == '\\' || c == '\n';

		if (pair && o + 4 > size)
			break;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c < 0x20) {
			buf[o++] = '?';
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

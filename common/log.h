/*
 * log - one line per event, key=value, to stderr.
 *
 * Every daemon and tool logs through here.  A line reads
 *   2026-11-29T08:00:00.123+08:00 ingestd[4242] warn event=store.down err="..." retry_ms=400
 * The first field after the level is the event name (a correlation id, when
 * there is one, is the first key=value after it).  Values holding spaces,
 * quotes or '=' are quoted with log_quote().  The minimum level is set at
 * start and on reload; lines below it cost one comparison.
 */
#ifndef ANQUAN_LOG_H
#define ANQUAN_LOG_H

#include <stddef.h>

enum log_level {
	LOGL_DEBUG = 0,
	LOGL_INFO,
	LOGL_WARN,
	LOGL_ERROR,
};

/* Set the program name shown on every line and the minimum level. */
void log_init(const char *prog, enum log_level min);
void log_set_level(enum log_level min);
enum log_level log_get_level(void);

/* Parse "debug|info|warn|error"; returns 0, or -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level l);

/* Log one event: `event` is a dotted name, fmt the key=value rest. */
void log_msg(enum log_level l, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Log at error level and exit(1): for a bad environment at start only. */
void log_fatal(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/*
 * Quote a value for a key=value line into buf ("..." with \" \\ \n escaped
 * when needed, as is otherwise); truncates to fit.  Returns buf.
 */
const char *log_quote(char *buf, size_t size, const char *s);

#define log_debug(ev, ...)                                                   \
	do {                                                                 \
		if (log_get_level() <= LOGL_DEBUG)                           \
			log_msg(LOGL_DEBUG, ev, __VA_ARGS__);                \
	} while (0)
#define log_info(ev, ...) log_msg(LOGL_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_msg(LOGL_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_msg(LOGL_ERROR, ev, __VA_ARGS__)

#endif

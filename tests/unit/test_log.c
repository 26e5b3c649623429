/*
 * test_log - the log module: level names, quoting of values, and the shape
 * of a line (time in the city's zone, program, pid, level, event, the
 * key=value rest), read back through a pipe standing in for stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void
test_levels(void **state)
{
	enum log_level l;

	(void)state;
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOGL_DEBUG);
	assert_int_equal(log_level_parse("error", &l), 0);
	assert_int_equal(l, LOGL_ERROR);
	assert_int_equal(log_level_parse("ERROR", &l), -1);
	assert_int_equal(log_level_parse("", &l), -1);
	assert_int_equal(log_level_parse("warning", &l), -1);
	assert_string_equal(log_level_name(LOGL_WARN), "warn");
	assert_string_equal(log_level_name((enum log_level)42), "?");
}

static void
test_quote(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(log_quote(buf, sizeof(buf), "plain"), "plain");
	assert_string_equal(log_quote(buf, sizeof(buf), "two words"),
	    "\"two words\"");
	assert_string_equal(log_quote(buf, sizeof(buf), "a=b"), "\"a=b\"");
	assert_string_equal(log_quote(buf, sizeof(buf), "say \"hi\""),
	    "\"say \\\"hi\\\"\"");
	assert_string_equal(log_quote(buf, sizeof(buf), "back\\slash"),
	    "\"back\\\\slash\"");
	assert_string_equal(log_quote(buf, sizeof(buf), "line\nbreak"),
	    "\"line\\nbreak\"");
	assert_string_equal(log_quote(buf, sizeof(buf), "bell\a"),
	    "\"bell?\"");
	assert_string_equal(log_quote(buf, sizeof(buf), ""), "\"\"");
	/* UTF-8 passes through untouched. */
	assert_string_equal(log_quote(buf, sizeof(buf), "历下区"), "历下区");
	/* Truncation keeps the closing quote and the terminator in bounds. */
	assert_string_equal(log_quote(buf, 8, "a b c d e f g"), "\"a b c\"");
	assert_string_equal(log_quote(buf, 2, "a b"), "");
}

/* Run fn with stderr sent into a pipe; return what it wrote. */
static void
capture(void (*fn)(void), char *out, size_t size)
{
	int fds[2], saved;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
	fn();
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, size - 1);
	close(fds[0]);
	out[n > 0 ? n : 0] = '\0';
}

static void
emit_lines(void)
{
	log_init("testd", LOGL_INFO);
	log_debug("hidden.event", "n=%d", 1);
	log_info("store.connected", "host=%s port=%d", "/tmp/run", 5544);
	log_warn("bare.event", " ");
	log_set_level(LOGL_ERROR);
	log_warn("also.hidden", "n=2");
	log_error("bad.thing", "why=\"disk full\"");
}

static void
test_lines(void **state)
{
	char out[4096], *second, *third;
	regex_t re;

	(void)state;
	capture(emit_lines, out, sizeof(out));
	assert_null(strstr(out, "hidden"));
	assert_int_equal(regcomp(&re,
	    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}"
	    "\\+08:00 testd\\[[0-9]+\\] info event=store.connected "
	    "host=/tmp/run port=5544\n",
	    REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
	regfree(&re);
	second = strchr(out, '\n');
	assert_non_null(second);
	second++;
	/* Trailing blanks are trimmed: the line ends with the event. */
	assert_non_null(strstr(second, " warn event=bare.event\n"));
	third = strchr(second, '\n');
	assert_non_null(third);
	assert_non_null(strstr(third + 1, " error event=bad.thing why=\"disk full\"\n"));
	assert_int_equal(log_get_level(), LOGL_ERROR);
}

static void
emit_long(void)
{
	static char big[10000];

	memset(big, 'x', sizeof(big) - 1);
	log_init("testd", LOGL_INFO);
	log_info("long.value", "v=%s", big);
}

static void
test_long_line_is_cut(void **state)
{
	char out[16384];
	size_t n;

	(void)state;
	capture(emit_long, out, sizeof(out));
	n = strlen(out);
	/* One line, cut to the module's 4 KiB, still ending in a newline. */
	assert_true(n <= 4096);
	assert_int_equal(out[n - 1], '\n');
	assert_ptr_equal(strchr(out, '\n'), out + n - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_long_line_is_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

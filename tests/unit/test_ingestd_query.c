/*
 * test_ingestd_query - the cursor of the query API's lists.
 *
 * A cursor is what the previous page's "next" said: base64url (no padding)
 * of "<sort time in microseconds>:<record id>".  query_cursor_parse() must
 * take back exactly what the SQL made and refuse anything else with one
 * reason that tells the client what to do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "../../services/ingestd/query.h"

static int
parse(const char *text, struct query_page *page, char *why, size_t size)
{
	memset(page, 0, sizeof(*page));
	why[0] = '\0';
	return query_cursor_parse(text, page, why, size);
}

static void
test_good_cursors(void **state)
{
	struct query_page page;
	char why[256];

	(void)state;
	/* "1764000000123456:H-1" */
	assert_int_equal(parse("MTc2NDAwMDAwMDEyMzQ1NjpILTE", &page, why,
	    sizeof(why)), 0);
	assert_true(page.has_cursor);
	assert_int_equal(page.cursor_us, 1764000000123456LL);
	assert_string_equal(page.cursor_id, "H-1");
	/* "-5:x": times before 1970 sort too. */
	assert_int_equal(parse("LTU6eA", &page, why, sizeof(why)), 0);
	assert_int_equal(page.cursor_us, -5);
	assert_string_equal(page.cursor_id, "x");
	/* "17:隐患-1": ids keep their UTF-8. */
	assert_int_equal(parse("MTc66ZqQ5oKjLTE", &page, why, sizeof(why)), 0);
	assert_int_equal(page.cursor_us, 17);
	assert_string_equal(page.cursor_id, "隐患-1");
}

static void
test_bad_cursors(void **state)
{
	static const char *const bad[] = {
	    "",				  /* empty */
	    "YWJjOkg",			  /* "abc:H": time not a number */
	    "MTI",			  /* "12": no id */
	    "Okg",			  /* ":H": no time */
	    "MTI6",			  /* "12:": empty id */
	    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTpI", /* 19 digits: too long */
	    "MTI6SA==",			  /* padding is not base64url */
	    "MTI6S",			  /* a length no encoder makes */
	    "MTI6SB",			  /* leftover bits not zero */
	    "MTI+SA",			  /* '+' is base64, not base64url */
	    "not a cursor",
	};
	struct query_page page;
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &page, why, sizeof(why)), -1);
		assert_false(page.has_cursor);
		assert_non_null(strstr(why, "parameter 'cursor'"));
		assert_non_null(strstr(why, "\"next\""));
	}
}

static void
test_overlong_cursor(void **state)
{
	char text[QUERY_CURSOR_MAX + 8];
	struct query_page page;
	char why[256];

	(void)state;
	memset(text, 'A', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(parse(text, &page, why, sizeof(why)), -1);
	assert_false(page.has_cursor);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_cursors),
		cmocka_unit_test(test_bad_cursors),
		cmocka_unit_test(test_overlong_cursor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

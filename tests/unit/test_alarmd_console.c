/*
 * test_alarmd_console - the duty console's page and the parts of officers'
 * token checks that need no database (services/alarmd/console_page.c,
 * officers.c).
 *
 * The page must be one self-contained document: valid UTF-8, declared as
 * such, nothing loaded from another host (no http:// or https:// at all,
 * no src= attributes, no CSS imports or url()), and it must carry the
 * elements and calls the browser test and the API rely on.  The token
 * checks must refuse malformed tokens without asking the store, and say
 * "the store cannot tell" rather than "unknown" when there is no store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

#include "../../services/alarmd/console.h"
#include "../../services/alarmd/officers.h"

/* A well-formed token nobody issued: "aq_" and 40 base32 characters. */
#define TOKEN_FORM "aq_abcdefghijklmnopqrstuvwxyz234567abcdefgh"

static void
test_page_is_text(void **state)
{
	size_t bad = 0;

	(void)state;
	assert_true(console_page_len > 1000);
	assert_int_equal(strlen(console_page), console_page_len);
	assert_true(json_utf8_valid(console_page, console_page_len, &bad));
	assert_int_equal(strncmp(console_page, "<!DOCTYPE html>", 15), 0);
	assert_non_null(strstr(console_page, "<meta charset=\"utf-8\">"));
	assert_non_null(strstr(console_page, "<html lang=\"zh-CN\">"));
	assert_non_null(strstr(console_page, "</html>\n"));
}

static void
test_page_is_self_contained(void **state)
{
	(void)state;
	assert_null(strstr(console_page, "http://"));
	assert_null(strstr(console_page, "https://"));
	assert_null(strstr(console_page, " src="));
	assert_null(strstr(console_page, "@import"));
	assert_null(strstr(console_page, "url("));
	assert_null(strstr(console_page, "<link rel=\"stylesheet\""));
	/* The one link is the empty inline icon (no /favicon.ico request). */
	assert_non_null(
	    strstr(console_page, "<link rel=\"icon\" href=\"data:,\">"));
	/* Inline style and script. */
	assert_non_null(strstr(console_page, "<style>"));
	assert_non_null(strstr(console_page, "<script>"));
}

static void
test_page_has_what_the_test_drives(void **state)
{
	static const char *const ids[] = {
	    "data-testid=\"login-token\"",
	    "data-testid=\"login-submit\"",
	    "data-testid=\"login-error\"",
	    "data-testid=\"conn-state\"",
	    "data-testid=\"officer\"",
	    "'data-testid': 'incident-' + id",
	    "'data-testid': 'incident-title'",
	    "'data-testid': 'incident-status'",
	    "data-testid=\"detail\"",
	    "'data-testid': 'detail-title'",
	    "'data-testid': 'detail-status'",
	    "'data-testid': 'detail-reasons'",
	    "'data-testid': 'btn-ack'",
	    "'data-testid': 'btn-resolve'",
	    "'data-testid': 'resolve-note'",
	    "'data-testid': 'resolve-submit'",
	    "'data-testid': 'action-error'",
	    "data-testid=\"count-red\"",
	    "data-testid=\"count-orange\"",
	    "data-testid=\"count-yellow\"",
	    "data-testid=\"count-blue\"",
	    "data-testid=\"tab-history\"",
	    "data-testid=\"tab-silences\"",
	    "data-testid=\"silence-submit\"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strstr(console_page, ids[i]) == NULL)
			fail_msg("the page has no %s", ids[i]);
}

static void
test_page_speaks_the_api(void **state)
{
	static const char *const calls[] = {
	    "new EventSource('/v1/stream?token=' + encodeURIComponent(",
	    "addEventListener('incident'",
	    "'/v1/incidents?status=open",
	    "'/v1/incidents/' + encodeURIComponent(id) + '/' + what",
	    "'status=resolved'",
	    "'/v1/silences'",
	    "'DELETE', '/v1/silences/",
	    "'GET', '/v1/whoami'",
	    "'Authorization': 'Bearer ' + st.token",
	    "localStorage",
	    "{ note: note.value.trim() }",
	};
	static const char *const words[] = {
	    "红色",
	    "橙色",
	    "黄色",
	    "蓝色",
	    "签收",
	    "办结",
	    "待签收",
	    "已签收",
	    "已办结",
	    "历史警情",
	    "静默",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (strstr(console_page, calls[i]) == NULL)
			fail_msg("the page does not contain %s", calls[i]);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(console_page, words[i]) == NULL)
			fail_msg("the page does not say %s", words[i]);
	/* Data goes in as text, never as markup. */
	assert_null(strstr(console_page, "innerHTML"));
	assert_null(strstr(console_page, "insertAdjacentHTML"));
	assert_null(strstr(console_page, "document.write"));
	assert_null(strstr(console_page, "eval("));
}

static void
test_routes(void **state)
{
	int seen = 0;

	(void)state;
	assert_int_equal(console_nroutes, 3);
	for (size_t i = 0; i < console_nroutes; i++) {
		char why[128];
		const struct http_route *rt = &console_routes[i];

		assert_int_equal(http_route_check(rt, why, sizeof(why)), 0);
		assert_string_equal(rt->method, "GET");
		if (strcmp(rt->path, "/") == 0 && rt->flags == 0)
			seen |= 1;
		if (strcmp(rt->path, "/v1/stream") == 0 && rt->flags == 0)
			seen |= 2;
		if (strcmp(rt->path, "/v1/whoami") == 0 &&
		    rt->flags == HTTP_ROUTE_AUTH)
			seen |= 4;
	}
	assert_int_equal(seen, 7);
}

static void
test_token_prefix(void **state)
{
	char p[OFFICERS_PREFIX_LEN + 1];

	(void)state;
	assert_int_equal(officers_token_prefix(TOKEN_FORM, p), 0);
	assert_string_equal(p, "abcdefgh");
	assert_int_equal(officers_token_prefix("aq_abc", p), -1);
	assert_int_equal(officers_token_prefix("", p), -1);
	assert_int_equal(officers_token_prefix(NULL, p), -1);
	/* Upper case and 0/1/8/9 are not in the alphabet. */
	assert_int_equal(officers_token_prefix(
	                     "aq_ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGH", p),
	    -1);
	assert_int_equal(officers_token_prefix(
	                     "aq_abcdefghijklmnopqrstuvwxyz234567abcdefg1", p),
	    -1);
	/* One character too many. */
	assert_int_equal(officers_token_prefix(TOKEN_FORM "a", p), -1);
	assert_int_equal(officers_token_prefix(
	                     "xx_abcdefghijklmnopqrstuvwxyz234567abcdefgh", p),
	    -1);
}

static void
test_check_without_store(void **state)
{
	struct officer who;

	(void)state;
	officers_cache_clear();
	memset(&who, 0x5a, sizeof(who));
	/* Malformed: refused before any lookup (a NULL store is not asked). */
	assert_int_equal(
	    officers_check(NULL, "aq_short", &who), OFFICERS_UNKNOWN);
	assert_int_equal(officers_check(NULL, "", &who), OFFICERS_UNKNOWN);
	assert_int_equal(officers_check(NULL, NULL, &who), OFFICERS_UNKNOWN);
	assert_int_equal(
	    officers_check(NULL, "Bearer " TOKEN_FORM, &who), OFFICERS_UNKNOWN);
	/* Well formed, but nobody can tell: the store's fault, not the
	 * token's. */
	assert_int_equal(
	    officers_check(NULL, TOKEN_FORM, &who), OFFICERS_STORE);
	/* *out is left alone when nothing was found. */
	assert_int_equal((unsigned char)who.id[0], 0x5a);
}

static void
test_auth_without_store(void **state)
{
	const void *principal = NULL;
	char why[200];

	(void)state;
	officers_init(NULL);
	officers_cache_clear();
	why[0] = '\0';
	assert_int_equal(
	    officers_auth("aq_nope", NULL, NULL, &principal, why, sizeof(why)),
	    HTTP_AUTH_UNKNOWN);
	assert_null(principal);
	assert_non_null(strstr(why, "aq_"));
	assert_true(json_utf8_valid(why, strlen(why), NULL));
	why[0] = '\0';
	assert_int_equal(
	    officers_auth(TOKEN_FORM, NULL, NULL, &principal, why, sizeof(why)),
	    HTTP_AUTH_UNKNOWN);
	assert_null(principal);
	assert_non_null(strstr(why, "数据库不可达"));
	/* A small reason buffer is cut, not overrun. */
	{
		char small[16];

		memset(small, 'x', sizeof(small));
		officers_auth(
		    TOKEN_FORM, NULL, NULL, &principal, small, sizeof(small));
		assert_true(memchr(small, '\0', sizeof(small)) != NULL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_page_is_text),
	    cmocka_unit_test(test_page_is_self_contained),
	    cmocka_unit_test(test_page_has_what_the_test_drives),
	    cmocka_unit_test(test_page_speaks_the_api),
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_token_prefix),
	    cmocka_unit_test(test_check_without_store),
	    cmocka_unit_test(test_auth_without_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_http - unit tests for the router in common/http: exact paths,
 * {param} segments and their percent-decoding, literal-over-param
 * precedence, 404 versus 405 (and the Allow list), HEAD served by GET,
 * the trailing-slash policy, malformed and overlong paths, several route
 * tables, and the checks on route definitions.  No network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

/* Handlers are never called here; distinct functions tell routes apart. */
static void
h_list(struct http_req *r, void *arg)
{
	(void)r;
	(void)arg;
}

static void
h_get(struct http_req *r, void *arg)
{
	(void)r;
	(void)arg;
}

static void
h_current(struct http_req *r, void *arg)
{
	(void)r;
	(void)arg;
}

static void
h_post(struct http_req *r, void *arg)
{
	(void)r;
	(void)arg;
}

static void
h_other(struct http_req *r, void *arg)
{
	(void)r;
	(void)arg;
}

static const struct http_route builtin[] = {
    {"GET", "/", h_other, 0},
    {"GET", "/healthz", h_other, 0},
    {"GET", "/metrics", h_other, 0},
};

static const struct http_route service[] = {
    {"GET", "/v1/enterprises", h_list, 0},
    {"POST", "/v1/enterprises", h_post, HTTP_ROUTE_AUTH},
    {"GET", "/v1/enterprises/{uscc}", h_get, 0},
    {"GET", "/v1/enterprises/current", h_current, 0},
    {"POST", "/v1/incidents/{id}/ack", h_post, 0},
    {"GET", "/v1/plans/{year}/{dept}", h_get, 0},
    {"GET", "/v1/plans/{year}/all", h_current, 0},
    {"HEAD", "/v1/probe", h_current, 0},
    {"GET", "/v1/probe", h_get, 0},
};

static int builtin_arg, service_arg;

static const struct http_route_table tables[] = {
    {builtin, sizeof(builtin) / sizeof(builtin[0]), &builtin_arg},
    {service, sizeof(service) / sizeof(service[0]), &service_arg},
};

static enum http_match_status
match(const char *method, const char *path, struct http_match *m)
{
	return http_route_match(tables, 2, method, path, m);
}

static void
test_exact(void **state)
{
	struct http_match m;

	(void)state;
	assert_int_equal(match("GET", "/healthz", &m), HTTP_MATCH_OK);
	assert_ptr_equal(m.route, &builtin[1]);
	assert_ptr_equal(m.arg, &builtin_arg);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(match("GET", "/", &m), HTTP_MATCH_OK);
	assert_ptr_equal(m.route, &builtin[0]);
	assert_int_equal(match("GET", "/v1/enterprises", &m), HTTP_MATCH_OK);
	assert_ptr_equal(m.route->handler, h_list);
	assert_ptr_equal(m.arg, &service_arg);
	assert_int_equal(match("POST", "/v1/enterprises", &m), HTTP_MATCH_OK);
	assert_ptr_equal(m.route->handler, h_post);
	assert_true(m.route->flags & HTTP_ROUTE_AUTH);
	/* Case matters in paths and in methods. */
	assert_int_equal(match("GET", "/HEALTHZ", &m), HTTP_MATCH_NOT_FOUND);
	assert_int_equal(match("get", "/healthz", &m), HTTP_MATCH_BAD_METHOD);
}

static void
test_params(void **state)
{
	struct http_match m;

	(void)state;
	assert_int_equal(match("GET", "/v1/enterprises/91370100MA3C12345X", &m),
	    HTTP_MATCH_OK);
	assert_ptr_equal(m.route->handler, h_get);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(http_match_param(&m, "uscc"), "91370100MA3C12345X");
	assert_null(http_match_param(&m, "id"));
	assert_null(http_match_param(&m, "usc"));

	assert_int_equal(
	    match("POST", "/v1/incidents/inc-42/ack", &m), HTTP_MATCH_OK);
	assert_string_equal(http_match_param(&m, "id"), "inc-42");

	assert_int_equal(
	    match("GET", "/v1/plans/2026/safety-office", &m), HTTP_MATCH_OK);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(http_match_param(&m, "year"), "2026");
	assert_string_equal(http_match_param(&m, "dept"), "safety-office");
	/* An empty segment is no value for a parameter. */
	assert_int_equal(
	    match("POST", "/v1/incidents//ack", &m), HTTP_MATCH_NOT_FOUND);
	assert_int_equal(
	    match("GET", "/v1/plans/2026", &m), HTTP_MATCH_NOT_FOUND);
	assert_int_equal(
	    match("GET", "/v1/plans/2026/a/b", &m), HTTP_MATCH_NOT_FOUND);
}

/* A literal segment wins over a {param} at the same place. */
static void
test_literal_beats_param(void **state)
{
	struct http_match m;

	(void)state;
	assert_int_equal(
	    match("GET", "/v1/enterprises/current", &m), HTTP_MATCH_OK);
	assert_ptr_equal(m.route->handler, h_current);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(match("GET", "/v1/plans/2026/all", &m), HTTP_MATCH_OK);
	assert_ptr_equal(m.route->handler, h_current);
	assert_string_equal(http_match_param(&m, "year"), "2026");
	assert_null(http_match_param(&m, "dept"));
	/* Decoding happens before comparing: %63 is 'c'. */
	assert_int_equal(
	    match("GET", "/v1/enterprises/%63urrent", &m), HTTP_MATCH_OK);
	assert_ptr_equal(m.route->handler, h_current);
}

static void
test_method_not_allowed(void **state)
{
	struct http_match m;

	(void)state;
	assert_int_equal(
	    match("DELETE", "/healthz", &m), HTTP_MATCH_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD");
	assert_null(m.route);
	assert_int_equal(
	    match("PUT", "/v1/enterprises", &m), HTTP_MATCH_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD, POST");
	assert_int_equal(
	    match("GET", "/v1/incidents/7/ack", &m), HTTP_MATCH_BAD_METHOD);
	assert_string_equal(m.allow, "POST");
	/* Both the literal and the param route take this path. */
	assert_int_equal(match("POST", "/v1/enterprises/current", &m),
	    HTTP_MATCH_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD");
	/* Unknown path: 404, not 405. */
	assert_int_equal(
	    match("DELETE", "/v1/nothing", &m), HTTP_MATCH_NOT_FOUND);
	assert_string_equal(m.allow, "");
}

static void
test_head(void **state)
{
	struct http_match m;

	(void)state;
	/* HEAD is served by the GET route... */
	assert_int_equal(match("HEAD", "/v1/enterprises/x", &m), HTTP_MATCH_OK);
	assert_ptr_equal(m.route->handler, h_get);
	assert_string_equal(http_match_param(&m, "uscc"), "x");
	/* ...unless the path has a HEAD route of its own. */
	assert_int_equal(match("HEAD", "/v1/probe", &m), HTTP_MATCH_OK);
	assert_ptr_equal(m.route->handler, h_current);
	assert_int_equal(match("GET", "/v1/probe", &m), HTTP_MATCH_OK);
	assert_ptr_equal(m.route->handler, h_get);
	assert_int_equal(match("POST", "/v1/probe", &m), HTTP_MATCH_BAD_METHOD);
	assert_string_equal(m.allow, "HEAD, GET");
	/* HEAD does not reach POST-only routes. */
	assert_int_equal(
	    match("HEAD", "/v1/incidents/1/ack", &m), HTTP_MATCH_BAD_METHOD);
}

/* A trailing slash is another path; the 404 says the other one exists. */
static void
test_trailing_slash(void **state)
{
	struct http_match m;

	(void)state;
	assert_int_equal(match("GET", "/healthz/", &m), HTTP_MATCH_NOT_FOUND);
	assert_true(m.trailing_slash);
	assert_int_equal(
	    match("GET", "/v1/enterprises/", &m), HTTP_MATCH_NOT_FOUND);
	assert_true(m.trailing_slash);
	/* Also when the shorter path exists only with another method. */
	assert_int_equal(
	    match("GET", "/v1/incidents/1/ack/", &m), HTTP_MATCH_NOT_FOUND);
	assert_true(m.trailing_slash);
	assert_int_equal(match("GET", "/nothing/", &m), HTTP_MATCH_NOT_FOUND);
	assert_false(m.trailing_slash);
	assert_int_equal(match("GET", "/nothing//", &m), HTTP_MATCH_NOT_FOUND);
	assert_false(m.trailing_slash);
	/* "//" is "/" with a slash added, and "/" exists. */
	assert_int_equal(match("GET", "//", &m), HTTP_MATCH_NOT_FOUND);
	assert_true(m.trailing_slash);
}

static void
test_percent_decoding(void **state)
{
	struct http_match m;

	(void)state;
	/* UTF-8 Chinese, an encoded slash and an encoded space in params. */
	assert_int_equal(
	    match("GET", "/v1/enterprises/%E6%B5%8E%E5%8D%97%2F1%20A", &m),
	    HTTP_MATCH_OK);
	assert_string_equal(http_match_param(&m, "uscc"), "济南/1 A");
	/* Raw UTF-8 (not encoded) is taken as is. */
	assert_int_equal(
	    match("GET", "/v1/enterprises/历下", &m), HTTP_MATCH_OK);
	assert_string_equal(http_match_param(&m, "uscc"), "历下");
	/* '+' means '+' in a path. */
	assert_int_equal(
	    match("GET", "/v1/enterprises/a+b", &m), HTTP_MATCH_OK);
	assert_string_equal(http_match_param(&m, "uscc"), "a+b");

	assert_int_equal(
	    match("GET", "/v1/enterprises/%zz", &m), HTTP_MATCH_BAD_PATH);
	assert_non_null(strstr(m.why, "percent-escape"));
	assert_int_equal(
	    match("GET", "/v1/enterprises/ab%4", &m), HTTP_MATCH_BAD_PATH);
	assert_int_equal(
	    match("GET", "/v1/enterprises/ab%", &m), HTTP_MATCH_BAD_PATH);
	assert_int_equal(
	    match("GET", "/v1/enterprises/a%00b", &m), HTTP_MATCH_BAD_PATH);
	assert_non_null(strstr(m.why, "NUL"));
	assert_int_equal(
	    match("GET", "/v1/enterprises/%FF%FE", &m), HTTP_MATCH_BAD_PATH);
	assert_non_null(strstr(m.why, "UTF-8"));
	assert_int_equal(
	    match("GET", "/v1/enterprises/%C0%AF", &m), HTTP_MATCH_BAD_PATH);
	assert_int_equal(
	    match("GET", "/v1/enterprises/\xe5\xae", &m), HTTP_MATCH_BAD_PATH);
	/* A bad escape anywhere spoils the path, even where nothing routes. */
	assert_int_equal(match("GET", "/nothing/%g1", &m), HTTP_MATCH_BAD_PATH);
}

static void
test_overlong_and_odd(void **state)
{
	struct http_match m;
	char path[HTTP_PATH_MAX + 2];

	(void)state;
	/* Exactly at the limit: looked at (and not found). */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[HTTP_PATH_MAX] = '\0';
	assert_int_equal(match("GET", path, &m), HTTP_MATCH_NOT_FOUND);
	/* One over: too long. */
	path[HTTP_PATH_MAX] = 'a';
	path[HTTP_PATH_MAX + 1] = '\0';
	assert_int_equal(match("GET", path, &m), HTTP_MATCH_TOO_LONG);
	/* A parameter as long as the whole path fits the store. */
	memcpy(path, "/v1/enterprises/", 16);
	path[HTTP_PATH_MAX] = '\0';
	assert_int_equal(match("GET", path, &m), HTTP_MATCH_OK);
	assert_int_equal(
	    strlen(http_match_param(&m, "uscc")), HTTP_PATH_MAX - 16);
	/* More segments than any route may have. */
	assert_int_equal(
	    match("GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r", &m),
	    HTTP_MATCH_NOT_FOUND);
	/* Not a path at all. */
	assert_int_equal(match("GET", "healthz", &m), HTTP_MATCH_BAD_PATH);
	assert_int_equal(match("OPTIONS", "*", &m), HTTP_MATCH_BAD_PATH);
	assert_int_equal(match("GET", NULL, &m), HTTP_MATCH_BAD_PATH);
	assert_int_equal(match("GET", "", &m), HTTP_MATCH_BAD_PATH);
	/* No tables: nothing is found. */
	assert_int_equal(http_route_match(tables, 0, "GET", "/healthz", &m),
	    HTTP_MATCH_NOT_FOUND);
}

static void
test_route_check(void **state)
{
	static const struct http_route good[] = {
	    {"GET", "/", h_get, 0},
	    {"GET", "/a/b-c_d.e~f", h_get, 0},
	    {"POST", "/v1/x/{id}/y/{other_2}", h_get, 0},
	    {"M-SEARCH", "/x", h_get, 0},
	};
	static const struct http_route bad[] = {
	    {"GET", "", h_get, 0},
	    {"GET", "v1", h_get, 0},
	    {"GET", "/v1/", h_get, 0},
	    {"GET", "/v1//x", h_get, 0},
	    {"GET", "//", h_get, 0},
	    {"GET", "/v1/{}", h_get, 0},
	    {"GET", "/v1/{a-b}", h_get, 0},
	    {"GET", "/v1/{1a}", h_get, 0},
	    {"GET", "/v1/x{id}", h_get, 0},
	    {"GET", "/v1/{id}x", h_get, 0},
	    {"GET", "/v1/{id}/{id}", h_get, 0},
	    {"GET", "/v1/a%20b", h_get, 0},
	    {"GET", "/v1/a b", h_get, 0},
	    {"GET", "/v1/a?b", h_get, 0},
	    {"GET", "/v1/历", h_get, 0},
	    {"GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", h_get, 0},
	    {"GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h_get, 0},
	    {"G ET", "/x", h_get, 0},
	    {"", "/x", h_get, 0},
	    {"GET", "/x", NULL, 0},
	    {NULL, "/x", h_get, 0},
	    {"GET", NULL, h_get, 0},
	};
	char why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (http_route_check(&good[i], why, sizeof(why)) != 0)
			fail_msg("refused %s: %s", good[i].path, why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (http_route_check(&bad[i], why, sizeof(why)) == 0)
			fail_msg("accepted bad route %zu (%s)", i,
			    bad[i].path != NULL ? bad[i].path : "NULL");
		assert_true(why[0] != '\0');
	}
	assert_int_equal(http_route_check(NULL, why, sizeof(why)), -1);
	assert_int_equal(http_route_check(&bad[0], NULL, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact),
	    cmocka_unit_test(test_params),
	    cmocka_unit_test(test_literal_beats_param),
	    cmocka_unit_test(test_method_not_allowed),
	    cmocka_unit_test(test_head),
	    cmocka_unit_test(test_trailing_slash),
	    cmocka_unit_test(test_percent_decoding),
	    cmocka_unit_test(test_overlong_and_odd),
	    cmocka_unit_test(test_route_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

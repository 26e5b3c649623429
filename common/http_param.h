/*
 * http_param - query parameters of the read routes, checked strictly.
 *
 * ingestd's read routes (services/ingestd/query.c) and riskd's API
 * (services/riskd/api.c) take their filters as query parameters.  A
 * parameter the route does not take, one given twice, or a value out of
 * form is a 400 "bad_parameter" whose message names the parameter and says
 * what is allowed, so a client's mistake is never silently ignored or
 * turned into an empty list.  The checks and their texts live here once,
 * so every daemon refuses alike.
 *
 * Each check comes twice.  http_param_check_*() is pure: a value (NULL when
 * the parameter is absent) or the raw query string in, 0 or -1 and a reason
 * out; the unit tests drive these.  http_param_*() looks the parameter up
 * in a struct http_req and calls the check.  By then the dispatcher
 * (http.c) has percent-decoded the query and refused bad escapes, control
 * characters and invalid UTF-8, so the checks only judge the meaning.
 * Values handed back point into the request or into the caller's list of
 * allowed words and live as long as those.  Reasons go into the caller's
 * buffer (HTTP_PARAM_WHY_SIZE bytes hold every one); http_param_refuse()
 * logs one and answers the 400.  Nothing here allocates or keeps state.
 */
#ifndef ANQUAN_HTTP_PARAM_H
#define ANQUAN_HTTP_PARAM_H

#include <stddef.h>

struct http_req;

/* A why buffer that holds every reason written here. */
#define HTTP_PARAM_WHY_SIZE 400

/*
 * 1 when code names one of the city's districts, else 0; arg is what the
 * caller gave http_param_district() (ingestd: its registry).
 */
typedef int (*http_param_district_fn)(const char *code, const void *arg);

/*
 * v as it may appear in a message: whole when shorter than size bytes,
 * else cut at a UTF-8 character boundary into buf with "..." appended.
 * Returns v or buf.
 */
const char *http_param_shown(const char *v, char *buf, size_t size);

/* --- pure checks: v is NULL when the parameter is absent ----------------- */

/*
 * Refuse a name in the raw query (not decoded; NULL or "" when none) that
 * is not in the NULL-terminated names, and a name given twice.
 */
int http_param_check_names(
    const char *query, const char *const *names, char *why, size_t whysize);
/*
 * A whole number of decimal digits only (no sign, no space) from lo to hi
 * (0 <= lo <= hi), into *out; *out untouched when absent.
 */
int http_param_check_int(const char *name, const char *v, long lo, long hi,
    long *out, char *why, size_t whysize);
/* "1" or "0" into *out as 1 or 0; -1 when absent. */
int http_param_check_flag(
    const char *name, const char *v, int *out, char *why, size_t whysize);
/*
 * One of the NULL-terminated allowed words; *out is that word of the list
 * (NULL when absent).
 */
int http_param_check_enum(const char *name, const char *v,
    const char *const *allowed, const char **out, char *why, size_t whysize);
/*
 * A unified social credit code with its check character (ids_uscc_check);
 * *out is v (NULL when absent).  name NULL: v is a path segment, and the
 * message names the value only.
 */
int http_param_check_uscc(const char *name, const char *v, const char **out,
    char *why, size_t whysize);
/*
 * A GB/T 2260 district code; with known, also one the city has (known
 * NULL: the form only, for a daemon without the code table).  *out is v
 * (NULL when absent).
 */
int http_param_check_district(const char *name, const char *v,
    http_param_district_fn known, const void *arg, const char **out, char *why,
    size_t whysize);

/* --- the same on a request ----------------------------------------------- */

/* http_param_check_names() on the request's raw query. */
int http_param_known(
    struct http_req *r, const char *const *names, char *why, size_t whysize);
/* http_param_check_int() on the parameter name of r. */
int http_param_int(const struct http_req *r, const char *name, long lo, long hi,
    long *out, char *why, size_t whysize);
/* http_param_check_flag() on the parameter name of r. */
int http_param_flag(const struct http_req *r, const char *name, int *out,
    char *why, size_t whysize);
/* http_param_check_enum() on the parameter name of r. */
int http_param_enum(const struct http_req *r, const char *name,
    const char *const *allowed, const char **out, char *why, size_t whysize);
/* http_param_check_uscc() on the parameter name of r. */
int http_param_uscc(const struct http_req *r, const char *name,
    const char **out, char *why, size_t whysize);
/* http_param_check_district() on the parameter name of r. */
int http_param_district(const struct http_req *r, const char *name,
    http_param_district_fn known, const void *arg, const char **out, char *why,
    size_t whysize);

/* Log why under event ("query.refused") and answer 400 bad_parameter. */
void http_param_refuse(struct http_req *r, const char *event, const char *why);

#endif

/*
 * http_param - query parameters of the read routes, checked strictly.
 *
 * The pure checks come first, then the thin functions that take the value
 * out of a struct http_req, then the 400 answer.  The texts are the
 * contract with the clients and the system tests of ingestd's and riskd's
 * read routes (t_records_query.sh, t_riskd_api.sh): change them there too.
 * A value a client sent is quoted in a message through http_param_shown(),
 * cut so that a long one cannot crowd out the reason; codes and names are
 * cut shorter than numbers and words, which a person reads whole.
 */
#include "http_param.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "http.h"
#include "ids.h"
#include "log.h"

/* How much of a client's value a message quotes: codes, then the rest. */
#define SHOWN_CODE 40
#define SHOWN_VALUE 80
/* Longest parameter name compared; longer ones are cut (and unknown). */
#define KEY_MAX 64

const char *
http_param_shown(const char *v, char *buf, size_t size)
{
	size_t n = strlen(v);

	if (n < size)
		return v;
	if (size < 4)
		return "...";
	n = size - 4;
	/* Cut at a character boundary, not inside a UTF-8 sequence. */
	while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
		n--;
	snprintf(buf, size, "%.*s...", (int)n, v);
	return buf;
}

/*
 * Percent-decode the key of a query pair (len bytes at s) into out ('+' is
 * a space); an escape without two hex digits stays as it is.
 */
static void
key_decode(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < size; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = {s[i + 1], s[i + 2], '\0'};

			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			out[o++] = s[i] == '+' ? ' ' : s[i];
	}
	out[o] = '\0';
}

/* names as "a, b, c", or "none" for an empty list. */
static void
list_words(const char *const *names, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; names[i] != NULL && len < size; i++)
		len += (size_t)snprintf(
		    out + len, size - len, "%s%s", i ? ", " : "", names[i]);
	if (out[0] == '\0')
		snprintf(out, size, "none");
}

int
http_param_check_names(
    const char *query, const char *const *names, char *why, size_t whysize)
{
	/* The dispatcher refuses more than HTTP_QUERY_MAX parameters. */
	char seen[HTTP_QUERY_MAX][KEY_MAX];
	size_t nseen = 0;
	const char *q = query;

	if (q == NULL)
		return 0;
	while (*q != '\0') {
		size_t len = strcspn(q, "&"), klen = strcspn(q, "=&");
		char key[KEY_MAX], sb[SHOWN_CODE], list[200];
		size_t i;

		if (len > 0) {
			key_decode(q, klen, key, sizeof(key));
			for (i = 0; names[i] != NULL; i++)
				if (strcmp(key, names[i]) == 0)
					break;
			if (names[i] == NULL) {
				list_words(names, list, sizeof(list));
				snprintf(why, whysize,
				    "unknown parameter '%s': this route "
				    "takes %s",
				    http_param_shown(key, sb, sizeof(sb)),
				    list);
				return -1;
			}
			for (size_t j = 0; j < nseen; j++)
				if (strcmp(seen[j], key) == 0) {
					snprintf(why, whysize,
					    "parameter '%s' is given more "
					    "than once",
					    key);
					return -1;
				}
			if (nseen < HTTP_QUERY_MAX)
				snprintf(
				    seen[nseen++], sizeof(seen[0]), "%s", key);
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return 0;
}

int
http_param_check_int(const char *name, const char *v, long lo, long hi,
    long *out, char *why, size_t whysize)
{
	char sb[SHOWN_VALUE];
	bool over = false;
	long n = 0;
	size_t i;

	if (v == NULL)
		return 0;
	/* Leading zeros are a number still; past LONG_MAX it is too big. */
	for (i = 0; v[i] >= '0' && v[i] <= '9'; i++) {
		int d = v[i] - '0';

		if (n > (LONG_MAX - d) / 10)
			over = true;
		else
			n = n * 10 + d;
	}
	if (i == 0 || v[i] != '\0' || over || n < lo || n > hi) {
		snprintf(why, whysize,
		    "parameter '%s' must be a whole number from %ld to %ld; "
		    "got '%s'",
		    name, lo, hi, http_param_shown(v, sb, sizeof(sb)));
		return -1;
	}
	*out = n;
	return 0;
}

int
http_param_check_flag(
    const char *name, const char *v, int *out, char *why, size_t whysize)
{
	char sb[SHOWN_VALUE];

	*out = -1;
	if (v == NULL)
		return 0;
	if (strcmp(v, "1") == 0 || strcmp(v, "0") == 0) {
		*out = v[0] - '0';
		return 0;
	}
	snprintf(why, whysize, "parameter '%s' must be 1 or 0; got '%s'", name,
	    http_param_shown(v, sb, sizeof(sb)));
	return -1;
}

int
http_param_check_enum(const char *name, const char *v,
    const char *const *allowed, const char **out, char *why, size_t whysize)
{
	char list[300], sb[SHOWN_VALUE];

	*out = NULL;
	if (v == NULL)
		return 0;
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcmp(v, allowed[i]) == 0) {
			*out = allowed[i];
			return 0;
		}
	list_words(allowed, list, sizeof(list));
	snprintf(why, whysize, "parameter '%s' must be one of %s; got '%s'",
	    name, list, http_param_shown(v, sb, sizeof(sb)));
	return -1;
}

int
http_param_check_uscc(const char *name, const char *v, const char **out,
    char *why, size_t whysize)
{
	char reason[IDS_REASON_SIZE], sb[SHOWN_CODE];

	*out = NULL;
	if (v == NULL)
		return 0;
	if (ids_uscc_check(v, reason, sizeof(reason)) == 0) {
		*out = v;
		return 0;
	}
	if (name == NULL)
		snprintf(why, whysize,
		    "'%s' is not a valid unified social credit code: %s",
		    http_param_shown(v, sb, sizeof(sb)), reason);
	else
		snprintf(why, whysize,
		    "parameter '%s' is not a valid unified social credit "
		    "code ('%s': %s)",
		    name, http_param_shown(v, sb, sizeof(sb)), reason);
	return -1;
}

int
http_param_check_district(const char *name, const char *v,
    http_param_district_fn known, const void *arg, const char **out, char *why,
    size_t whysize)
{
	char sb[SHOWN_CODE];

	*out = NULL;
	if (v == NULL)
		return 0;
	if (ids_gb2260_ok(v) && (known == NULL || known(v, arg))) {
		*out = v;
		return 0;
	}
	if (known != NULL)
		snprintf(why, whysize,
		    "parameter '%s' must be the 6-digit code of one of the "
		    "city's districts (data/districts.csv); got '%s'",
		    name, http_param_shown(v, sb, sizeof(sb)));
	else
		snprintf(why, whysize,
		    "parameter '%s' must be a 6-digit GB/T 2260 district code "
		    "(data/districts.csv); got '%s'",
		    name, http_param_shown(v, sb, sizeof(sb)));
	return -1;
}

/* --- on a request -------------------------------------------------------- */

int
http_param_known(
    struct http_req *r, const char *const *names, char *why, size_t whysize)
{
	/* http_req_query() gives only the first of a name, so the names are
	 * read from the raw query the dispatcher has already checked. */
	const struct evhttp_uri *uri =
	    evhttp_request_get_evhttp_uri(http_req_evhttp(r));

	return http_param_check_names(
	    uri != NULL ? evhttp_uri_get_query(uri) : NULL, names, why,
	    whysize);
}

int
http_param_int(const struct http_req *r, const char *name, long lo, long hi,
    long *out, char *why, size_t whysize)
{
	return http_param_check_int(
	    name, http_req_query(r, name), lo, hi, out, why, whysize);
}

int
http_param_flag(const struct http_req *r, const char *name, int *out, char *why,
    size_t whysize)
{
	return http_param_check_flag(
	    name, http_req_query(r, name), out, why, whysize);
}

int
http_param_enum(const struct http_req *r, const char *name,
    const char *const *allowed, const char **out, char *why, size_t whysize)
{
	return http_param_check_enum(
	    name, http_req_query(r, name), allowed, out, why, whysize);
}

int
http_param_uscc(const struct http_req *r, const char *name, const char **out,
    char *why, size_t whysize)
{
	return http_param_check_uscc(
	    name, http_req_query(r, name), out, why, whysize);
}

int
http_param_district(const struct http_req *r, const char *name,
    http_param_district_fn known, const void *arg, const char **out, char *why,
    size_t whysize)
{
	return http_param_check_district(
	    name, http_req_query(r, name), known, arg, out, why, whysize);
}

void
http_param_refuse(struct http_req *r, const char *event, const char *why)
{
	char q[HTTP_PARAM_WHY_SIZE + 40];

	log_info(event, "id=%s path=%s why=%s", http_req_id(r),
	    http_req_path(r), log_quote(q, sizeof(q), why));
	http_reply_error(r, 400, "bad_parameter", "%s", why);
}

/*
 * store_array - PostgreSQL array literals ('{1,NULL,"a\"b"}') for
 * parameters that a statement unnests, so many rows travel in one round
 * trip as text parameters (INSERT ... SELECT FROM unnest($1::bigint[],
 * ...)).  Elements are appended in order; text is quoted and escaped, a
 * NULL string or a non-finite number is SQL NULL.  An allocation failure
 * is remembered and reported by store_array_end(), so callers check once.
 * riskd's journal, alarmd's delivery engine and audit journal build their
 * batches with it.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static void
arr_put(struct store_array *a, const char *s, size_t n)
{
	if (a->failed)
		return;
	if (a->n + n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		char *ns;

		while (a->n + n + 2 > cap)
			cap *= 2;
		if ((ns = realloc(a->s, cap)) == NULL) {
			a->failed = 1;
			return;
		}
		a->s = ns;
		a->cap = cap;
	}
	memcpy(a->s + a->n, s, n);
	a->n += n;
	a->s[a->n] = '\0';
}

static void
arr_sep(struct store_array *a)
{
	arr_put(a, a->count++ == 0 ? "{" : ",", 1);
}

void
store_array_int64(struct store_array *a, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);

	arr_sep(a);
	arr_put(a, b, (size_t)n);
}

void
store_array_double(struct store_array *a, double v)
{
	char b[40];
	int n;

	if (!isfinite(v)) {
		store_array_null(a);
		return;
	}
	n = snprintf(b, sizeof(b), "%.17g", v);
	arr_sep(a);
	arr_put(a, b, (size_t)n);
}

void
store_array_null(struct store_array *a)
{
	arr_sep(a);
	arr_put(a, "NULL", 4);
}

void
store_array_str(struct store_array *a, const char *s)
{
	const char *run;

	if (s == NULL) {
		store_array_null(a);
		return;
	}
	arr_sep(a);
	arr_put(a, "\"", 1);
	/* Copy runs between the characters that need a backslash. */
	for (run = s; *s != '\0'; s++) {
		if (*s != '"' && *s != '\\')
			continue;
		arr_put(a, run, (size_t)(s - run));
		arr_put(a, "\\", 1);
		run = s;
	}
	arr_put(a, run, (size_t)(s - run));
	arr_put(a, "\"", 1);
}

const char *
store_array_end(struct store_array *a)
{
	if (a->count == 0)
		arr_put(a, "{", 1);
	arr_put(a, "}", 1);
	return a->failed ? NULL : a->s;
}

char *
store_array_take(struct store_array *a)
{
	char *s = store_array_end(a) != NULL ? a->s : NULL;

	if (s != NULL)
		a->s = NULL;
	store_array_free(a);
	return s;
}

void
store_array_free(struct store_array *a)
{
	free(a->s);
	memset(a, 0, sizeof(*a));
}

char *
store_text_array(const char *const *items, size_t n)
{
	struct store_array a = {0};

	for (size_t i = 0; i < n; i++)
		store_array_str(&a, items[i]);
	return store_array_take(&a);
}

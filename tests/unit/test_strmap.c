/*
 * test_strmap - the string-keyed map of common/strmap.c: insert, replace,
 * look up, delete with backward shifting (every other key still found),
 * growth past many table sizes, and iteration seeing each value once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strmap.h"

#define N 5000

struct item {
	char key[16];
	int n;
	int seen;
};

static void
count_each(void *value, void *arg)
{
	struct item *it = value;

	it->seen++;
	(*(int *)arg)++;
}

static void
test_put_get_replace(void **state)
{
	struct strmap *m = strmap_new();
	struct item a = {"a", 1, 0}, b = {"b", 2, 0}, a2 = {"a", 3, 0};
	int err = 0;

	(void)state;
	assert_non_null(m);
	assert_null(strmap_get(m, "a"));
	assert_null(strmap_put(m, a.key, &a, &err));
	assert_null(strmap_put(m, b.key, &b, &err));
	assert_int_equal(err, 0);
	assert_ptr_equal(strmap_get(m, "a"), &a);
	assert_ptr_equal(strmap_get(m, "b"), &b);
	/* Replacing hands back the old value and keeps the count. */
	assert_ptr_equal(strmap_put(m, a2.key, &a2, &err), &a);
	assert_ptr_equal(strmap_get(m, "a"), &a2);
	assert_int_equal(strmap_count(m), 2);
	assert_null(strmap_get(m, ""));
	assert_null(strmap_del(m, "zz"));
	strmap_free(m, NULL);
}

static void
test_grow_delete_each(void **state)
{
	struct strmap *m = strmap_new();
	struct item *it = calloc(N, sizeof(*it));
	int err = 0, seen = 0;

	(void)state;
	assert_non_null(m);
	assert_non_null(it);
	for (int i = 0; i < N; i++) {
		snprintf(it[i].key, sizeof(it[i].key), "k%d", i);
		it[i].n = i;
		assert_null(strmap_put(m, it[i].key, &it[i], &err));
	}
	assert_int_equal(err, 0);
	assert_int_equal(strmap_count(m), N);
	/* Every third key out: the rest must still be found. */
	for (int i = 0; i < N; i += 3)
		assert_ptr_equal(strmap_del(m, it[i].key), &it[i]);
	for (int i = 0; i < N; i++) {
		struct item *got = strmap_get(m, it[i].key);

		if (i % 3 == 0)
			assert_null(got);
		else
			assert_ptr_equal(got, &it[i]);
	}
	strmap_each(m, count_each, &seen);
	assert_int_equal(seen, (int)strmap_count(m));
	for (int i = 0; i < N; i++)
		assert_int_equal(it[i].seen, i % 3 == 0 ? 0 : 1);
	strmap_free(m, NULL);
	free(it);
}

static void
free_item(void *p)
{
	free(p);
}

static void
test_free_values(void **state)
{
	struct strmap *m = strmap_new();
	int err = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		struct item *x = calloc(1, sizeof(*x));

		assert_non_null(x);
		snprintf(x->key, sizeof(x->key), "v%d", i);
		assert_null(strmap_put(m, x->key, x, &err));
	}
	/* free_fn frees every value (the sanitizer's leak check sees it). */
	strmap_free(m, free_item);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_get_replace),
	    cmocka_unit_test(test_grow_delete_each),
	    cmocka_unit_test(test_free_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

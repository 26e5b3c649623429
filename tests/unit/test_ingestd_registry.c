/*
 * test_ingestd_registry - the in-memory registry of ingestd (registry.c).
 *
 * No store: the registry is filled with registry_set_reference() and
 * registry_put_*(), the way registry_load() fills it from rows.  Covers the
 * code tables and topics, the 64-code limit of the scope masks, a table of
 * 100,000 points (every one found, pointers stable while it grows), an
 * enterprise moving with its points, tokens and scopes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ids.h"
#include "../../services/ingestd/ingestd.h"

static const char *const districts[] = {"370102", "370103", "370112"};
static const char *const sectors[] = {"gas", "hazchem", "mining", "fire"};

static struct registry *
city(void)
{
	struct registry *reg = registry_new();

	assert_non_null(reg);
	assert_int_equal(
	    registry_set_reference(reg, districts, 3, sectors, 4), 0);
	return reg;
}

static void
test_reference_and_topics(void **state)
{
	struct registry *reg = city();

	(void)state;
	assert_int_equal(registry_district(reg, "370103"), 1);
	assert_int_equal(registry_district(reg, "999999"), -1);
	assert_int_equal(registry_sector(reg, "fire"), 3);
	assert_int_equal(registry_sector(reg, ""), -1);
	assert_string_equal(registry_district_code(reg, 2), "370112");
	assert_null(registry_district_code(reg, 3));
	assert_null(registry_district_code(reg, -1));
	assert_string_equal(registry_sector_code(reg, 1), "hazchem");
	assert_null(registry_sector_code(reg, 4));
	assert_int_equal(registry_ntopics(reg), 12);
	assert_string_equal(registry_topic(reg, 0), "rd.370102.gas");
	assert_string_equal(registry_topic(reg, 1 * 4 + 2), "rd.370103.mining");
	assert_string_equal(registry_topic(reg, 11), "rd.370112.fire");
	assert_null(registry_topic(reg, 12));
	assert_null(registry_topic(reg, -1));
	/* Fixed once set: the writer thread reads topics without a lock. */
	assert_int_equal(
	    registry_set_reference(reg, districts, 1, sectors, 1), -1);
	assert_int_equal(registry_ntopics(reg), 12);
	registry_free(reg);
}

static void
test_too_many_codes(void **state)
{
	char names[65][12];
	const char *codes[65];
	struct registry *reg = registry_new();
	int i;

	(void)state;
	for (i = 0; i < 65; i++) {
		snprintf(names[i], sizeof(names[i]), "%06d", 370100 + i);
		codes[i] = names[i];
	}
	assert_int_equal(registry_set_reference(reg, codes, 65, sectors, 4), -1);
	assert_int_equal(registry_set_reference(reg, districts, 3, codes, 65),
	    -1);
	assert_int_equal(registry_ntopics(reg), 0);
	/* 64 is the most a mask holds, and is fine. */
	assert_int_equal(registry_set_reference(reg, codes, 64, codes, 64), 0);
	assert_int_equal(registry_ntopics(reg), 64 * 64);
	assert_string_equal(registry_topic(reg, 64 * 64 - 1),
	    "rd.370163.370163");
	registry_free(reg);
}

static void
test_many_points(void **state)
{
	struct registry *reg = city();
	const struct reg_point *first = NULL, *p;
	struct reg_point pt;
	int i;

	(void)state;
	memset(&pt, 0, sizeof(pt));
	snprintf(pt.uscc, sizeof(pt.uscc), "91370102MA3C000001");
	for (i = 0; i < 100000; i++) {
		snprintf(pt.code, sizeof(pt.code), "plant-%03d/line-%02d/T%d",
		    i % 997, i % 13, i);
		pt.district = (uint16_t)(i % 3);
		pt.sector = (uint16_t)(i % 4);
		pt.topic = 999; /* ignored: derived from district and sector */
		pt.enabled = i % 2 == 0;
		assert_int_equal(registry_put_point(reg, &pt), 0);
		if (i == 0)
			first = registry_point(reg, pt.code);
	}
	p = registry_point(reg, "plant-000/line-00/T0");
	assert_ptr_equal(p, first);
	assert_int_equal(p->topic, 0);
	for (i = 0; i < 100000; i++) {
		snprintf(pt.code, sizeof(pt.code), "plant-%03d/line-%02d/T%d",
		    i % 997, i % 13, i);
		p = registry_point(reg, pt.code);
		assert_non_null(p);
		assert_string_equal(p->code, pt.code);
		assert_int_equal(p->topic, (i % 3) * 4 + i % 4);
		assert_int_equal(p->enabled, i % 2 == 0);
	}
	assert_null(registry_point(reg, "plant-000/line-00/T100000"));
	assert_null(registry_point(reg, ""));
	/* Replacing keeps the entry where it was. */
	snprintf(pt.code, sizeof(pt.code), "plant-000/line-00/T0");
	pt.district = 2;
	pt.sector = 3;
	assert_int_equal(registry_put_point(reg, &pt), 0);
	assert_ptr_equal(registry_point(reg, pt.code), first);
	assert_int_equal(first->topic, 11);
	/* Codes outside the reference are refused. */
	pt.district = 3;
	assert_int_equal(registry_put_point(reg, &pt), -1);
	pt.district = 0;
	pt.code[0] = '\0';
	assert_int_equal(registry_put_point(reg, &pt), -1);
	registry_free(reg);
}

static void
test_enterprise_moves_points(void **state)
{
	struct registry *reg = city();
	struct reg_enterprise e = {0}, other = {0};
	struct reg_point p = {0};
	const struct reg_enterprise *got;

	(void)state;
	assert_int_equal(ids_uscc_generate(7, "370102", e.uscc), 0);
	assert_int_equal(ids_uscc_generate(8, "370102", other.uscc), 0);
	e.district = 0;
	e.sector = 1;
	other.district = 0;
	other.sector = 1;
	assert_int_equal(registry_put_enterprise(reg, &e), 0);
	assert_int_equal(registry_put_enterprise(reg, &other), 0);
	memcpy(p.uscc, e.uscc, sizeof(p.uscc));
	p.district = 0;
	p.sector = 1;
	snprintf(p.code, sizeof(p.code), "A1");
	assert_int_equal(registry_put_point(reg, &p), 0);
	memcpy(p.uscc, other.uscc, sizeof(p.uscc));
	snprintf(p.code, sizeof(p.code), "B1");
	assert_int_equal(registry_put_point(reg, &p), 0);

	e.district = 2;
	e.sector = 0;
	assert_int_equal(registry_put_enterprise(reg, &e), 0);
	got = registry_enterprise(reg, e.uscc);
	assert_non_null(got);
	assert_int_equal(got->district, 2);
	assert_string_equal(
	    registry_topic(reg, registry_point(reg, "A1")->topic),
	    "rd.370112.gas");
	/* Another enterprise's point stays. */
	assert_string_equal(
	    registry_topic(reg, registry_point(reg, "B1")->topic),
	    "rd.370102.hazchem");
	assert_null(registry_enterprise(reg, "91370102MA3C00000X"));
	e.sector = 9;
	assert_int_equal(registry_put_enterprise(reg, &e), -1);
	registry_free(reg);
}

static void
test_tokens_and_scope(void **state)
{
	struct registry *reg = city();
	struct reg_source s = {0};
	const struct reg_source *a, *b;
	uint8_t h1[32], h2[32], h3[32];

	(void)state;
	ids_token_hash("aq_one", h1);
	ids_token_hash("aq_two", h2);
	ids_token_hash("aq_three", h3);
	snprintf(s.name, sizeof(s.name), "gas-system");
	s.district_mask = UINT64_C(1) << 2;
	s.sector_mask = UINT64_C(1) << 0;
	assert_int_equal(registry_put_source(reg, &s, h1), 0);
	assert_int_equal(registry_put_source(reg, &s, h2), 0);
	a = registry_token(reg, h1);
	assert_non_null(a);
	assert_ptr_equal(registry_token(reg, h2), a);
	assert_null(registry_token(reg, h3));
	assert_string_equal(a->name, "gas-system");

	assert_true(registry_in_scope(a, 2, 0));
	assert_false(registry_in_scope(a, 1, 0));
	assert_false(registry_in_scope(a, 2, 1));
	assert_false(registry_in_scope(a, -1, 0));
	assert_false(registry_in_scope(a, 2, 64));
	assert_false(registry_in_scope(NULL, 0, 0));

	/* Widening the source updates it where it is. */
	s.all_districts = true;
	assert_int_equal(registry_put_source(reg, &s, NULL), 0);
	assert_true(registry_in_scope(a, 1, 0));
	assert_false(registry_in_scope(a, 1, 3));
	s.all_sectors = true;
	assert_int_equal(registry_put_source(reg, &s, NULL), 0);
	assert_true(registry_in_scope(a, 0, 3));

	/* A token moved to another source follows it. */
	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "fire-system");
	assert_int_equal(registry_put_source(reg, &s, h2), 0);
	b = registry_token(reg, h2);
	assert_string_equal(b->name, "fire-system");
	assert_ptr_equal(registry_token(reg, h1), a);
	/* Empty masks, not all: nothing in scope. */
	assert_false(registry_in_scope(b, 0, 0));
	registry_free(reg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_and_topics),
		cmocka_unit_test(test_too_many_codes),
		cmocka_unit_test(test_many_points),
		cmocka_unit_test(test_enterprise_moves_points),
		cmocka_unit_test(test_tokens_and_scope),
	};

	registry_free(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

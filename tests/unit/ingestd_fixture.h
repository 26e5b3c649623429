/*
 * ingestd_fixture - the small city the unit tests of event kinds start from.
 *
 * test_ingestd_kinds.c and the test_ingestd_records_*.c files each build
 * the same registry (districts 370102 and 370112, a few sectors, one
 * registered enterprise, the source "city" that may write everywhere), a
 * validation context around it and a job of events, then send events
 * through events_from_json() as POST /v1/events does.  Those steps live
 * here once, as static functions, so each test keeps only what its own
 * city adds.  The tests own their fixture struct and pass its members in;
 * every function fails the running test (cmocka) instead of returning an
 * error.  Include after <cmocka.h> and its prerequisites.
 */
#ifndef ANQUAN_INGESTD_FIXTURE_H
#define ANQUAN_INGESTD_FIXTURE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ids.h"
#include "../../services/ingestd/ingestd.h"

/* The token hash of the source "city" (its first byte; the rest zero). */
#define FIXTURE_CITY_HASH 1

/* Register a source; masks of 0 mean every district or every sector. */
static inline const struct reg_source *
fixture_source(struct registry *reg, const char *name, uint8_t hash_byte,
    uint64_t district_mask, uint64_t sector_mask)
{
	uint8_t hash[32] = {0};
	struct reg_source s;

	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", name);
	s.all_districts = district_mask == 0;
	s.all_sectors = sector_mask == 0;
	s.district_mask = district_mask;
	s.sector_mask = sector_mask;
	hash[0] = hash_byte;
	assert_int_equal(registry_put_source(reg, &s, hash), 0);
	return registry_token(reg, hash);
}

/* Register the enterprise uscc in district and sector (registry indexes). */
static inline void
fixture_enterprise(struct registry *reg, const char *uscc, int district,
    int sector)
{
	struct reg_enterprise e;

	memset(&e, 0, sizeof(e));
	memcpy(e.uscc, uscc, sizeof(e.uscc));
	e.district = (uint16_t)district;
	e.sector = (uint16_t)sector;
	assert_int_equal(registry_put_enterprise(reg, &e), 0);
}

/*
 * A registry of districts 370102 and 370112 and the sectors given, with
 * the source "city".  known gets the USCC made from seed in 370102,
 * registered there under sector 1; fresh the one from seed + 1 in 370112,
 * not registered; bad is fresh with a wrong check character.  The caller
 * frees the registry.
 */
static inline struct registry *
fixture_city(const char *const *sectors, size_t nsectors, uint64_t seed,
    char known[IDS_USCC_SIZE], char fresh[IDS_USCC_SIZE],
    char bad[IDS_USCC_SIZE])
{
	static const char *const districts[] = {"370102", "370112"};
	struct registry *reg;

	reg = registry_new();
	assert_non_null(reg);
	assert_int_equal(
	    registry_set_reference(reg, districts, 2, sectors, nsectors), 0);
	assert_int_equal(ids_uscc_generate(seed, "370102", known), 0);
	assert_int_equal(ids_uscc_generate(seed + 1, "370112", fresh), 0);
	memcpy(bad, fresh, IDS_USCC_SIZE);
	bad[17] = bad[17] == '0' ? '1' : '0';
	fixture_enterprise(reg, known, 0, 1);
	assert_non_null(
	    fixture_source(reg, "city", FIXTURE_CITY_HASH, 0, 0));
	return reg;
}

/* Validation as the source "city" at now_ms, with ingestd's defaults. */
static inline void
fixture_context(struct ingest_ctx *ctx, const struct registry *reg,
    int64_t now_ms)
{
	static const uint8_t city_hash[32] = {FIXTURE_CITY_HASH};

	memset(ctx, 0, sizeof(*ctx));
	ctx->reg = reg;
	ctx->source = registry_token(reg, city_hash);
	assert_non_null(ctx->source);
	ctx->now_ms = now_ms;
	ctx->max_future_ms = 300000;
	ctx->max_items = 50;
}

/* Replace *job (NULL at first) with an empty job of events from "city". */
static inline void
fixture_new_job(struct ingest_job **job)
{
	ingest_job_free(*job);
	*job = ingest_job_new(INGEST_JOB_EVENTS, "city");
	assert_non_null(*job);
}

/*
 * Send the body printed from fmt (into body) through events_from_json()
 * into job; its result, with the reason for a whole-body refusal in why.
 */
static inline int
fixture_vsend(const struct ingest_ctx *ctx, struct ingest_job *job,
    char *body, size_t bodysize, char *why, size_t whysize, const char *fmt,
    va_list ap) __attribute__((format(printf, 7, 0)));

static inline int
fixture_vsend(const struct ingest_ctx *ctx, struct ingest_job *job,
    char *body, size_t bodysize, char *why, size_t whysize, const char *fmt,
    va_list ap)
{
	int n;

	n = vsnprintf(body, bodysize, fmt, ap);
	assert_true(n > 0 && (size_t)n < bodysize);
	return events_from_json(ctx, body, (size_t)n, job, why, whysize);
}

/*
 * Send one event {kind, id, at, data} (at and data as JSON text) in a
 * fresh *job.  Returns NULL when it was accepted (with the parsed form its
 * apply needs), else the reason it was refused, which lives in *job.
 */
static inline const char *
fixture_one(const struct ingest_ctx *ctx, struct ingest_job **job,
    char *body, size_t bodysize, char *why, size_t whysize, const char *kind,
    const char *id, const char *at, const char *data)
{
	int n;

	fixture_new_job(job);
	n = snprintf(body, bodysize,
	    "{\"events\":[{\"kind\":\"%s\",\"id\":\"%s\",\"at\":%s,"
	    "\"data\":%s}]}",
	    kind, id, at, data);
	assert_true(n > 0 && (size_t)n < bodysize);
	assert_int_equal(
	    events_from_json(ctx, body, (size_t)n, *job, why, whysize), 0);
	assert_int_equal((*job)->nevents + (*job)->nrejected, 1);
	if ((*job)->nrejected == 1)
		return (*job)->rejected[0].reason;
	assert_non_null((*job)->events[0].parsed);
	return NULL;
}

#endif

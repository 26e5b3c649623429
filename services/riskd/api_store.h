/*
 * api_store - the SQL of riskd's HTTP API: the alarm list.
 *
 * Every other route of api.c answers from the model in memory; the alarm
 * list reads the store, because the model keeps only the alarms open now
 * while the list also shows cleared and suppressed records.  api.c checks
 * the parameters, fills a struct api_alarm_filter and calls
 * api_store_alarms() on the daemon's store (the loop waits for it: one
 * bounded, indexed, read-only statement).
 */
#ifndef ANQUAN_RISKD_API_STORE_H
#define ANQUAN_RISKD_API_STORE_H

#include <libpq-fe.h>

#include "store.h"

/* Page size of GET /v1/alarms. */
#define API_ALARMS_LIMIT_DEFAULT 100
#define API_ALARMS_LIMIT_MAX 1000
/* Longest the statement may run: riskd's loop (and its alarms) waits. */
#define API_STATEMENT_TIMEOUT_MS 1000

/* Filters of GET /v1/alarms; NULL or -1: not filtered.  Strings borrowed. */
struct api_alarm_filter {
	int open;       /* 1: open and not suppressed; 0: not open */
	int suppressed; /* 1: suppressed records only; 0: none of them */
	const char *uscc;
	const char *district;
	const char *point;
	const char *kind; /* H, HH, L, LL, offline, fault */
	int limit;        /* 1..API_ALARMS_LIMIT_MAX */
};

/*
 * Run the list in a read-only transaction under API_STATEMENT_TIMEOUT_MS:
 * 0 with {"alarms":[...],"count":n,"more":bool} in *json (text held by
 * *res, which the caller PQclear()s), or -1 with *err (*res NULL).
 */
int api_store_alarms(struct store *st, const struct api_alarm_filter *f,
    PGresult **res, const char **json, struct store_err *err);

#endif

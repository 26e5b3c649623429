/*
 * cmd_quarantine - `safetyctl quarantine list|release`: readings of
 * monitoring points that were not registered when they arrived.
 *
 *   quarantine list [--source S] [--point P] [--limit N] [--json]
 *   quarantine release --point P | --id N | --all
 *
 * ingestd never drops a reading of an unknown point: it keeps it in the
 * quarantine table (deploy/sql/0003) and counts it in its answer.  The
 * operator lists what waits here, has the sector system register the
 * point (point.upsert), and releases: the waiting rows whose point now
 * exists move into readings (INSERT ... SELECT ... ON CONFLICT DO NOTHING,
 * so a reading already stored counts as a duplicate, never twice) and get
 * released_at, all in one transaction.  A row stays waiting when its point
 * is still unknown, or when the point belongs to a district or sector that
 * the source which sent the reading may not write for: a token's scope
 * (DESIGN.md 4.1) must not be side-stepped by sending readings before the
 * point exists.
 *
 * Released readings are stored, not published on the bus: they are late by
 * definition, and riskd and reportd read the readings table for history.
 * The help says so.  Every statement is parameterised; the filters travel
 * as parameters that are NULL when not given.
 */
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "safetyctl.h"

#define QUARANTINE_LIMIT_DEFAULT 100
#define QUARANTINE_LIMIT_MAX 100000

/* A timestamptz as RFC 3339 with milliseconds, in the session's zone. */
#define SQL_TS(col) "to_char(" col ", 'YYYY-MM-DD\"T\"HH24:MI:SS.MSTZH:TZM')"

/* The waiting rows that $1 (source), $2 (point), $3 (id) select; a NULL
 * parameter does not filter. */
#define SQL_WAITING                                                            \
	" q.released_at IS NULL"                                               \
	" AND ($1::text IS NULL OR q.source = $1)"                             \
	" AND ($2::text IS NULL OR q.point = $2)"                              \
	" AND ($3::bigint IS NULL OR q.id = $3::bigint)"

/* Of those, the ones that may be released: the point is registered and
 * lies in the scope of the source that sent the reading. */
#define SQL_RELEASABLE                                                         \
	" FROM quarantine q"                                                   \
	" JOIN points p ON p.code = q.point"                                   \
	" JOIN enterprises e ON e.uscc = p.uscc"                               \
	" LEFT JOIN sources s ON s.name = q.source"                            \
	" WHERE" SQL_WAITING " AND s.name IS NOT NULL"                         \
	" AND (s.sectors IS NULL OR e.sector = ANY (s.sectors))"               \
	" AND (s.districts IS NULL OR e.district = ANY (s.districts))"

static const char *const quality_names[] = {"good", "bad", "maintenance"};

static void
quarantine_help(void)
{
	printf("usage: safetyctl quarantine list [--source S] [--point P] "
	       "[--limit N] [--json]\n"
	       "       safetyctl quarantine release --point P | --id N | "
	       "--all\n"
	       "\n"
	       "list     readings of unknown monitoring points waiting in "
	       "quarantine, oldest\n"
	       "         first (at most --limit, default %d): id, source, "
	       "point, ts, value,\n"
	       "         quality, received_at, reason.  --json prints one "
	       "JSON object.\n"
	       "release  move the waiting readings whose point is now "
	       "registered into readings\n"
	       "         and mark them released.  Reports how many were "
	       "released, how many of\n"
	       "         those were already stored (duplicates), and how "
	       "many stay waiting:\n"
	       "         point still unknown, or outside the scope of the "
	       "source that sent them.\n"
	       "         Released readings are stored, not published on the "
	       "bus: consumers\n"
	       "         that need them (riskd history, reportd) read the "
	       "readings table.\n",
	    QUARANTINE_LIMIT_DEFAULT);
}

/* A decimal id or limit in 1..max; false after saying what is wrong. */
static bool
parse_count(const char *what, const char *s, long long max, long long *out)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9') {
		ctl_error("quarantine", "%s \"%s\" is not a positive number",
		    what, s);
		return false;
	}
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 1 || v > max) {
		ctl_error("quarantine",
		    "%s \"%s\": give a number from 1 to %lld", what, s, max);
		return false;
	}
	*out = v;
	return true;
}

static const char *
quality_name(const char *q)
{
	int v = atoi(q);

	return v >= 0 && v <= 2 ? quality_names[v] : q;
}

static void
print_json(const PGresult *res, long long waiting)
{
	struct json_out w;

	json_out_init(&w);
	json_out_obj_open(&w);
	json_out_kv_int(&w, "waiting", waiting);
	json_out_key(&w, "readings");
	json_out_arr_open(&w);
	for (int r = 0; r < PQntuples(res); r++) {
		json_out_obj_open(&w);
		json_out_kv_int(
		    &w, "id", strtoll(PQgetvalue(res, r, 0), NULL, 10));
		json_out_kv_str(&w, "source", PQgetvalue(res, r, 1));
		json_out_kv_str(&w, "point", PQgetvalue(res, r, 2));
		json_out_kv_str(&w, "ts", PQgetvalue(res, r, 3));
		json_out_key(&w, "value");
		if (PQgetisnull(res, r, 4))
			json_out_null(&w);
		else
			json_out_double(
			    &w, strtod(PQgetvalue(res, r, 4), NULL));
		json_out_kv_str(
		    &w, "quality", quality_name(PQgetvalue(res, r, 5)));
		json_out_kv_str(&w, "received_at", PQgetvalue(res, r, 6));
		json_out_kv_str(&w, "reason", PQgetvalue(res, r, 7));
		json_out_obj_close(&w);
	}
	json_out_arr_close(&w);
	json_out_obj_close(&w);
	if (json_out_failed(&w))
		ctl_error("quarantine", "out of memory writing JSON");
	else
		printf("%.*s\n", (int)json_out_len(&w), json_out_data(&w));
	json_out_free(&w);
}

static void
print_table(const PGresult *res, long long waiting)
{
	static const char *const titles[] = {"ID", "SOURCE", "POINT", "TS",
	    "VALUE", "QUALITY", "RECEIVED", "REASON"};
	size_t width[8];
	int n = PQntuples(res);

	if (n == 0) {
		printf("nothing waiting in quarantine\n");
		return;
	}
	for (int c = 0; c < 8; c++) {
		width[c] = strlen(titles[c]);
		for (int r = 0; r < n; r++) {
			size_t len =
			    c == 5 ? strlen(quality_name(PQgetvalue(res, r, c)))
			           : (size_t)PQgetlength(res, r, c);
			if (len > width[c])
				width[c] = len;
		}
	}
	for (int c = 0; c < 8; c++)
		printf("%-*s%s", c < 7 ? (int)width[c] : 0, titles[c],
		    c < 7 ? "  " : "\n");
	for (int r = 0; r < n; r++)
		for (int c = 0; c < 8; c++) {
			const char *v =
			    PQgetisnull(res, r, c) ? "-"
			    : c == 5 ? quality_name(PQgetvalue(res, r, c))
			             : PQgetvalue(res, r, c);
			printf("%-*s%s", c < 7 ? (int)width[c] : 0, v,
			    c < 7 ? "  " : "\n");
		}
	if (waiting > n)
		printf("(%d shown of %lld waiting: --limit shows more)\n", n,
		    waiting);
}

static int
quarantine_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"source", required_argument, NULL, 's'},
	    {"point", required_argument, NULL, 'p'},
	    {"limit", required_argument, NULL, 'l'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *vals[4] = {NULL, NULL, NULL, NULL};
	char limit_text[24];
	long long limit = QUARANTINE_LIMIT_DEFAULT, waiting;
	bool json = false;
	struct store_err err;
	PGresult *res = NULL, *count = NULL;
	struct store *st;
	int c;

	while (
	    (c = getopt_long(argc, argv, "hs:p:l:j", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			quarantine_help();
			return CTL_OK;
		case 's':
			vals[0] = optarg;
			break;
		case 'p':
			vals[1] = optarg;
			break;
		case 'l':
			if (!parse_count("--limit", optarg,
			        QUARANTINE_LIMIT_MAX, &limit))
				return CTL_USAGE;
			break;
		case 'j':
			json = true;
			break;
		default:
			return ctl_usage("quarantine");
		}
	}
	if (optind < argc) {
		ctl_error(
		    "quarantine", "unexpected argument \"%s\"", argv[optind]);
		return ctl_usage("quarantine");
	}
	snprintf(limit_text, sizeof(limit_text), "%lld", limit);
	vals[3] = limit_text;
	if ((st = ctl_store_open(ctl, "quarantine")) == NULL)
		return CTL_FAIL;
	if (store_exec(st,
	        "SELECT q.id, q.source, q.point, " SQL_TS(
	            "q.ts") ", q.value,"
	                    " q.quality, " SQL_TS(
	                        "q.received_at") ", q.reason"
	                                         " FROM quarantine q "
	                                         "WHERE" SQL_WAITING
	                                         " ORDER BY q.received_at, "
	                                         "q.id LIMIT $4::bigint",
	        4, vals, &res, &err) < 0 ||
	    store_exec(st,
	        "SELECT count(*) FROM quarantine q WHERE" SQL_WAITING, 3, vals,
	        &count, &err) < 0) {
		ctl_error("quarantine", "%s", err.msg);
		PQclear(res);
		store_close(st);
		return CTL_FAIL;
	}
	waiting = strtoll(PQgetvalue(count, 0, 0), NULL, 10);
	if (json)
		print_json(res, waiting);
	else
		print_table(res, waiting);
	PQclear(res);
	PQclear(count);
	store_close(st);
	return CTL_OK;
}

/* Roll back, say why, close. */
static int
release_fail(struct store *st, const struct store_err *err)
{
	ctl_error(
	    "quarantine", "release failed, nothing changed: %s", err->msg);
	store_rollback(st, NULL);
	store_close(st);
	return CTL_FAIL;
}

static int
quarantine_release(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"point", required_argument, NULL, 'p'},
	    {"id", required_argument, NULL, 'i'},
	    {"all", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	/* $1 source (never filtered here), $2 point, $3 id. */
	const char *vals[3] = {NULL, NULL, NULL};
	char id_text[24];
	long long id;
	int c, chosen = 0;
	struct store_err err;
	PGresult *moved = NULL, *kept = NULL;
	struct store *st;

	while ((c = getopt_long(argc, argv, "hp:i:a", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			quarantine_help();
			return CTL_OK;
		case 'p':
			vals[1] = optarg;
			chosen++;
			break;
		case 'i':
			if (!parse_count("--id", optarg, LLONG_MAX, &id))
				return CTL_USAGE;
			snprintf(id_text, sizeof(id_text), "%lld", id);
			vals[2] = id_text;
			chosen++;
			break;
		case 'a':
			chosen++;
			break;
		default:
			return ctl_usage("quarantine");
		}
	}
	if (optind < argc || chosen != 1) {
		ctl_error("quarantine", "release takes exactly one of --point "
		                        "P, --id N or --all");
		return ctl_usage("quarantine");
	}
	if ((st = ctl_store_open(ctl, "quarantine")) == NULL)
		return CTL_FAIL;
	store_err_clear(&err);
	/*
	 * One statement moves and marks, so the counts describe exactly what
	 * this transaction did; FOR UPDATE makes a second release running at
	 * the same time wait and then find nothing left to move.  Two waiting
	 * rows of the same point and time (sent by two sources) insert once:
	 * DO NOTHING also covers conflicts within the statement.
	 */
	if (store_begin(st, &err) < 0 ||
	    store_exec(st,
	        "WITH todo AS (SELECT q.id, q.point, q.ts, q.value, q.quality,"
	        " q.received_at" SQL_RELEASABLE " FOR UPDATE OF q),"
	        " ins AS (INSERT INTO readings (point, ts, value, quality,"
	        " received_at) SELECT point, ts, value, quality, received_at"
	        " FROM todo ON CONFLICT DO NOTHING RETURNING 1),"
	        " upd AS (UPDATE quarantine q SET released_at = now()"
	        " FROM todo WHERE q.id = todo.id RETURNING 1)"
	        " SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM "
	        "ins)",
	        3, vals, &moved, &err) < 0)
		return release_fail(st, &err);
	if (store_exec(st,
	        "SELECT count(*) FILTER (WHERE p.code IS NULL),"
	        " count(*) FILTER (WHERE p.code IS NOT NULL)"
	        " FROM quarantine q LEFT JOIN points p ON p.code = q.point"
	        " WHERE" SQL_WAITING,
	        3, vals, &kept, &err) < 0 ||
	    store_commit(st, &err) < 0) {
		PQclear(moved);
		return release_fail(st, &err);
	}
	{
		long long released = strtoll(PQgetvalue(moved, 0, 0), NULL, 10);
		long long stored = strtoll(PQgetvalue(moved, 0, 1), NULL, 10);
		long long unknown = strtoll(PQgetvalue(kept, 0, 0), NULL, 10);
		long long scope = strtoll(PQgetvalue(kept, 0, 1), NULL, 10);

		printf("released=%lld stored=%lld duplicates=%lld "
		       "kept_unknown=%lld kept_out_of_scope=%lld\n",
		    released, stored, released - stored, unknown, scope);
		if (released == 0 && unknown == 0 && scope == 0 &&
		    vals[2] != NULL)
			printf("note: no waiting reading has id %s\n", vals[2]);
		if (unknown > 0)
			printf("note: %lld reading%s for a point not yet "
			       "registered (point.upsert)\n",
			    unknown, unknown == 1 ? " waits" : "s wait");
		if (scope > 0)
			printf("note: %lld reading%s in quarantine: the "
			       "point lies outside the sectors or districts "
			       "of the source that sent %s\n",
			    scope, scope == 1 ? " stays" : "s stay",
			    scope == 1 ? "it" : "them");
	}
	PQclear(moved);
	PQclear(kept);
	store_close(st);
	return CTL_OK;
}

int
cmd_quarantine(struct ctl *ctl, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "list") == 0)
		return quarantine_list(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "release") == 0)
		return quarantine_release(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 ||
	    strcmp(sub, "help") == 0) {
		quarantine_help();
		return CTL_OK;
	}
	if (sub[0] == '\0')
		ctl_error("quarantine", "which: list or release?");
	else
		ctl_error("quarantine",
		    "unknown subcommand \"%s\" (list, release)", sub);
	return ctl_usage("quarantine");
}

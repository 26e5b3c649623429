/*
 * ingest_copy - the reference of the ingest benchmark: plain libpq COPY.
 *
 *   ingest_copy CONNINFO POINTS COMMIT_ROWS SECONDS BASE_MS
 *
 * Loads the same rows as ingest_load and ingest_zmq (batch b: points
 * (b mod G) * 500 .. +499 at BASE_MS + (b div G) s) into the same readings
 * table with COPY (point, ts, value, quality) FROM STDIN, one transaction
 * of COMMIT_ROWS rows at a time (the group size ingestd committed in the
 * HTTP phase, read from its /metrics by tests/bench/ingest.sh), for
 * SECONDS.  No validation, no answers, no bus: what ingestd's rates are
 * compared with.  Output: copy_rows, copy_commits, copy_elapsed_s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "timeutil.h"

#define BATCH 500

static void
die(const char *what, PGconn *conn)
{
	fprintf(stderr, "ingest_copy: %s%s%s\n", what, conn ? ": " : "",
	    conn ? PQerrorMessage(conn) : "");
	exit(1);
}

static void
exec_ok(PGconn *conn, const char *sql, ExecStatusType want)
{
	PGresult *res = PQexec(conn, sql);

	if (PQresultStatus(res) != want) {
		fprintf(stderr, "ingest_copy: %s: %s", sql,
		    PQresultErrorMessage(res));
		exit(1);
	}
	PQclear(res);
}

/* ts as COPY text, UTC: "2026-11-29 00:00:00.000+00". */
static size_t
format_ts(char *out, size_t size, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
	n += (size_t)snprintf(out + n, size - n, ".%03d+00", (int)(ms % 1000));
	return n;
}

int
main(int argc, char **argv)
{
	PGconn *conn;
	int npoints, ngroups;
	long commit_rows;
	double secs;
	int64_t base_ms, start, end, last;
	uint64_t b = 0, rows = 0, commits = 0;
	char *buf;
	size_t cap = (size_t)BATCH * 64;

	if (argc != 6)
		die("usage: ingest_copy CONNINFO POINTS COMMIT_ROWS SECONDS "
		    "BASE_MS",
		    NULL);
	npoints = atoi(argv[2]);
	commit_rows = atol(argv[3]);
	secs = atof(argv[4]);
	base_ms = atoll(argv[5]);
	ngroups = npoints / BATCH;
	if (ngroups <= 0 || commit_rows < BATCH || secs <= 0)
		die("bad arguments (COMMIT_ROWS at least 500)", NULL);
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
		die("connect", conn);
	exec_ok(conn, "SET synchronous_commit = on", PGRES_COMMAND_OK);
	buf = malloc(cap);
	if (buf == NULL)
		die("out of memory", NULL);

	start = timeutil_mono_us();
	end = start + (int64_t)(secs * 1e6);
	while (timeutil_mono_us() < end) {
		long in_txn = 0;

		exec_ok(conn, "BEGIN", PGRES_COMMAND_OK);
		exec_ok(conn,
		    "COPY readings (point, ts, value, quality) FROM "
		    "STDIN",
		    PGRES_COPY_IN);
		while (in_txn < commit_rows) {
			int g = (int)(b % (uint64_t)ngroups);
			char ts[48];
			size_t tslen = format_ts(ts, sizeof(ts),
			    base_ms + (int64_t)(b / (uint64_t)ngroups) * 1000);
			size_t len = 0;

			for (int i = 0; i < BATCH; i++) {
				int pt = g * BATCH + i;

				len += (size_t)snprintf(
				    buf + len, cap - len, "BP%05d\t", pt);
				memcpy(buf + len, ts, tslen);
				len += tslen;
				len += (size_t)snprintf(buf + len, cap - len,
				    "\t%d.%d\t0\n", 20 + pt % 50, pt % 10);
			}
			if (PQputCopyData(conn, buf, (int)len) != 1)
				die("PQputCopyData", conn);
			in_txn += BATCH;
			b++;
		}
		if (PQputCopyEnd(conn, NULL) != 1)
			die("PQputCopyEnd", conn);
		{
			PGresult *res;

			while ((res = PQgetResult(conn)) != NULL) {
				if (PQresultStatus(res) != PGRES_COMMAND_OK) {
					fprintf(stderr, "ingest_copy: COPY: %s",
					    PQresultErrorMessage(res));
					exit(1);
				}
				PQclear(res);
			}
		}
		exec_ok(conn, "COMMIT", PGRES_COMMAND_OK);
		rows += (uint64_t)in_txn;
		commits++;
	}
	last = timeutil_mono_us();
	/* Whole batches of 500 make a commit: the size actually used. */
	printf("copy_commit_rows=%ld\ncopy_rows=%llu\ncopy_commits=%llu\n"
	       "copy_elapsed_s=%.3f\n",
	    (commit_rows + BATCH - 1) / BATCH * BATCH, (unsigned long long)rows,
	    (unsigned long long)commits, (double)(last - start) / 1e6);
	free(buf);
	PQfinish(conn);
	return 0;
}

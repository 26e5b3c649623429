/*
 * deliver_store - the SQL of webhook delivery: outcomes written in
 * batches, pending deliveries read back.
 *
 * deliver.c records every attempt in d->recs; every DELIVER_FLUSH_MS the
 * tick hands the batch to one statement whose data-modifying WITH clauses
 * insert the attempts, update the deliveries and make the fallback
 * deliveries, all as arrays through unnest: a burst of thousands is one
 * round trip and one transaction, and the fallbacks' ids come back to be
 * queued once it has committed.  The statement runs asynchronously on the
 * engine's own connection (libpq nonblocking, its socket watched by the
 * loop), so the loop never waits for a commit; only the read at start and
 * the last write at shutdown wait.  A batch that fails stays in memory,
 * ahead of newer records, and is tried again on the next tick; meanwhile
 * deliver.c makes no new attempts beyond DELIVER_RECORDS_PAUSE records,
 * and beyond DELIVER_RECORDS_MAX the oldest are dropped, logged and
 * counted.  The same connection reads back the deliveries a receiver
 * spilled when it was full.  The text helpers here make what receivers
 * answer fit a text column, and what jsonb prints as compact as what the
 * core sent.
 *
 * Writes are idempotent where a lost COMMIT could repeat them: a delivery
 * is updated only while pending and only forwards (more attempts, or an
 * end), its attempts are inserted only when it was, and the fallback of a
 * delivery is made only by the update that fails it.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_internal.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"

/* A batch that the server refuses (not a lost connection) this many times
 * in a row is dropped, so one bad record cannot stop all the others. */
#define SQL_FAILURES_MAX 3

static const char SQL_FLUSH[] =
    "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], "
    "$3::integer[], $4::float8[], $5::text[], $6::text[], $7::text[], "
    "$8::integer[], $9::bigint[]) WITH ORDINALITY "
    "AS u(id, at, status, latency, error, response, state, attempts, "
    "next_at, ord)), "
    "l AS (SELECT DISTINCT ON (id) * FROM u ORDER BY id, ord DESC), "
    "e AS (SELECT DISTINCT ON (id) id, error FROM u "
    "WHERE error IS NOT NULL ORDER BY id, ord DESC), "
    "w AS (UPDATE deliveries d SET state = l.state, attempts = l.attempts, "
    "next_at = to_timestamp(l.next_at / 1000.0), "
    "last_error = coalesce(e.error, d.last_error), "
    "delivered_at = CASE WHEN l.state = 'delivered' "
    "THEN to_timestamp((l.at + l.latency) / 1000.0) END, "
    "receipt = CASE WHEN l.state = 'delivered' THEN l.response "
    "ELSE d.receipt END "
    "FROM l LEFT JOIN e ON e.id = l.id "
    "WHERE d.id = l.id AND d.state = 'pending' "
    "AND (l.state <> 'pending' OR d.attempts < l.attempts) "
    "RETURNING d.id, d.notification_id, l.state), "
    "a AS (INSERT INTO delivery_attempts (delivery_id, at, http_status, "
    "latency_ms, error, response) "
    "SELECT u.id, to_timestamp(u.at / 1000.0), nullif(u.status, 0), "
    "u.latency, u.error, u.response FROM u JOIN w ON w.id = u.id "
    "ORDER BY u.ord), "
    "f AS (INSERT INTO deliveries (notification_id, receiver, state, "
    "fallback_of) SELECT w.notification_id, $10, 'pending', w.id FROM w "
    "WHERE w.state = 'failed' AND w.id = ANY ($11::bigint[]) ORDER BY w.id "
    "RETURNING id, fallback_of) "
    "SELECT id, fallback_of FROM f";

/* The payload comes from a subquery per row: an index probe each, where
 * a join would read the whole notifications table to find a few. */
static const char SQL_LOAD[] =
    "SELECT d.id, d.fallback_of IS NOT NULL, d.attempts, "
    "(extract(epoch FROM d.next_at) * 1000)::bigint, "
    "(SELECT n.payload::text FROM notifications n "
    "WHERE n.id = d.notification_id) "
    "FROM deliveries d "
    "WHERE d.state = 'pending' AND d.receiver = $1 AND d.id >= $2 "
    "ORDER BY d.id LIMIT $3";

static const char SQL_COUNT[] =
    "SELECT receiver, count(*) FROM deliveries WHERE state = 'pending' "
    "GROUP BY receiver";

static const char *const STATE_NAMES[] = {"pending", "delivered", "failed"};

/* --- text to and from the store ------------------------------------------ */

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned min;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, cp = s[0] & 0x1F, min = 0x80;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, cp = s[0] & 0x0F, min = 0x800;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

size_t
deliver_text_clean(char *dst, size_t size, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, i = 0;

	if (size == 0)
		return 0;
	while (i < len) {
		size_t k = s[i] == 0 ? 0 : utf8_seq(s + i, len - i);

		if (o + (k ? k : 1) > size - 1)
			break;
		if (k == 0) {
			dst[o++] = '?';
			i++;
			continue;
		}
		memcpy(dst + o, s + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
	return o;
}

size_t
deliver_json_compact(char *s, size_t len)
{
	size_t o = 0;
	int in_str = 0, esc = 0;
	char prev = '\0';

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == ' ' && (prev == ':' || prev == ',')) {
			continue;
		}
		s[o++] = c;
		prev = c;
	}
	if (o < len)
		s[o] = '\0';
	return o;
}

void
deliver_rec_clear(struct dl_rec *rec)
{
	free(rec->error);
	free(rec->response);
	rec->error = rec->response = NULL;
}

int
deliver_recs_push(struct dl_recs *rs, const struct dl_rec *rec)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 256;
		struct dl_rec *v = realloc(rs->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *rec;
	return 0;
}

/* Append b's records to a (b is emptied); -1 when out of memory. */
static int
recs_append(struct dl_recs *a, struct dl_recs *b)
{
	if (a->n + b->n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		struct dl_rec *v;

		while (cap < a->n + b->n)
			cap *= 2;
		if ((v = realloc(a->v, cap * sizeof(*v))) == NULL)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	if (b->n > 0)
		memcpy(a->v + a->n, b->v, b->n * sizeof(*b->v));
	a->n += b->n;
	b->n = 0;
	return 0;
}

/* Let go of the first n records of rs: their items are released. */
static void
recs_forget(struct deliver *d, struct dl_recs *rs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rs->v[i].final != NULL)
			deliver_release(d, rs->v[i].final);
		deliver_rec_clear(&rs->v[i]);
	}
	memmove(rs->v, rs->v + n, (rs->n - n) * sizeof(*rs->v));
	rs->n -= n;
	deliver_backlog_changed(d);
}

/* --- store trouble, logged without flooding the log ----------------------- */

#define TROUBLE_LOG_EVERY_MS 10000

static void
trouble(struct deliver *d, const char *what, const struct store_err *err,
    size_t records)
{
	int64_t now = timeutil_mono_ms();
	char q[300];

	metrics_inc(d->m_store_errors);
	d->trouble_count++;
	if (d->trouble_since_ms == 0)
		d->trouble_since_ms = now;
	else if (now - d->trouble_logged_ms < TROUBLE_LOG_EVERY_MS)
		return;
	d->trouble_logged_ms = now;
	log_warn("delivery.store_failed",
	    "what=%s kind=%s records=%zu failures=%" PRIu64 " for_ms=%" PRId64
	    " err=%s",
	    what, err->kind == STORE_ERR_CONN ? "conn" : "sql", records,
	    d->trouble_count, now - d->trouble_since_ms,
	    log_quote(q, sizeof(q), err->msg));
}

static void
trouble_over(struct deliver *d)
{
	if (d->trouble_since_ms == 0)
		return;
	log_info("delivery.store_recovered",
	    "failures=%" PRIu64 " after_ms=%" PRId64 " records=%zu",
	    d->trouble_count, timeutil_mono_ms() - d->trouble_since_ms,
	    d->writing.n);
	d->trouble_since_ms = d->trouble_logged_ms = 0;
	d->trouble_count = 0;
}

/* --- the flush ------------------------------------------------------------ */

/* The eleven parameters of SQL_FLUSH for the records in d->writing. */
struct flush_params {
	struct store_array a[10];
	const char *v[11];
};

static int
flush_params_build(struct deliver *d, struct flush_params *p)
{
	const struct dl_recs *rs = &d->writing;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < rs->n; i++) {
		const struct dl_rec *r = &rs->v[i];

		store_array_int64(&p->a[0], r->id);
		store_array_int64(&p->a[1], r->at_ms);
		store_array_int64(&p->a[2], r->status);
		store_array_double(&p->a[3], r->latency_ms);
		store_array_str(&p->a[4], r->error);
		store_array_str(&p->a[5], r->response);
		store_array_str(&p->a[6], STATE_NAMES[r->state]);
		store_array_int64(&p->a[7], r->attempts);
		if (r->next_ms > 0)
			store_array_int64(&p->a[8], r->next_ms);
		else
			store_array_null(&p->a[8]);
		if (r->fallback)
			store_array_int64(&p->a[9], r->id);
	}
	for (int i = 0; i < 9; i++)
		p->v[i] = store_array_end(&p->a[i]);
	p->v[9] = d->fallback != NULL ? d->fallback->name : NULL;
	p->v[10] = store_array_end(&p->a[9]);
	for (int i = 0; i < 11; i++)
		if (i != 9 && p->v[i] == NULL)
			return -1;
	return 0;
}

static void
flush_params_free(struct flush_params *p)
{
	for (int i = 0; i < 10; i++)
		store_array_free(&p->a[i]);
}

/* The batch is in the store: queue the fallbacks it made, release. */
static void
flush_done(struct deliver *d, const PGresult *res)
{
	int rows = res != NULL ? PQntuples(res) : 0;

	trouble_over(d);
	d->sql_failures = 0;
	for (int i = 0; i < rows && !d->closing; i++) {
		int64_t fb = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		int64_t of = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		struct dl_item *it = deliver_find(d, of);

		if (it != NULL && it->state == DL_DONE)
			deliver_fallback_made(d, it, fb);
	}
	recs_forget(d, &d->writing, d->writing.n);
	/* The fallbacks just made, and whatever waited for the records to
	 * be written. */
	for (size_t i = 0; i < d->nall && !d->closing; i++)
		deliver_pump(&d->recv[i]);
}

/*
 * The batch did not land: put it back ahead of the newer records, drop the
 * oldest beyond the bound, and after a lost COMMIT (which may have landed
 * with its fallback rows) look for fallbacks in the store.
 */
static void
flush_failed(struct deliver *d, const struct store_err *err)
{
	size_t n = d->writing.n, drop = 0;
	int had_fallback = 0;

	for (size_t i = 0; i < n; i++)
		had_fallback |= d->writing.v[i].fallback;
	trouble(d, "write", err, n + d->recs.n);
	if (err->kind == STORE_ERR_SQL) {
		if (++d->sql_failures >= SQL_FAILURES_MAX) {
			log_error("delivery.records_dropped",
			    "records=%zu reason=refused_by_store", n);
			metrics_add(d->m_dropped, n);
			recs_forget(d, &d->writing, n);
			d->sql_failures = 0;
			return;
		}
	} else if (had_fallback && d->fallback != NULL) {
		d->fallback->spill_from = 0;
	}
	if (recs_append(&d->writing, &d->recs) < 0) {
		/* Out of memory: keep what is older. */
		drop = d->recs.n;
		log_error("delivery.records_dropped",
		    "records=%zu reason=out_of_memory", drop);
		metrics_add(d->m_dropped, drop);
		recs_forget(d, &d->recs, drop);
	}
	/* writing now holds everything, oldest first: make it the buffer. */
	{
		struct dl_recs t = d->recs;

		d->recs = d->writing;
		d->writing = t;
	}
	if (d->recs.n > DELIVER_RECORDS_MAX) {
		drop = d->recs.n - DELIVER_RECORDS_MAX;
		log_error("delivery.records_dropped",
		    "records=%zu reason=store_unavailable kept=%d", drop,
		    DELIVER_RECORDS_MAX);
		metrics_add(d->m_dropped, drop);
		recs_forget(d, &d->recs, drop);
	}
}

/* --- reading pending deliveries back -------------------------------------- */

/* Adopt the rows of SQL_LOAD for r; the count adopted. */
static int
load_rows(struct deliver *d, struct dl_recv *r, const PGresult *res)
{
	int rows = PQntuples(res), adopted = 0;
	int64_t last = -1;

	for (int i = 0; i < rows; i++) {
		int64_t id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		int fb = PQgetvalue(res, i, 1)[0] == 't';
		int att = atoi(PQgetvalue(res, i, 2));
		int64_t next = PQgetisnull(res, i, 3)
		                   ? 0
		                   : strtoll(PQgetvalue(res, i, 3), NULL, 10);

		last = id;
		if (deliver_find(d, id) != NULL)
			continue;
		if (deliver_adopt(d, r, id, fb, att, next,
		        PQgetvalue(res, i, 4),
		        (size_t)PQgetlength(res, i, 4)) == 0)
			adopted++;
	}
	r->nspilled = r->nspilled > (uint64_t)adopted
	                  ? r->nspilled - (uint64_t)adopted
	                  : 0;
	if (rows == d->op_limit && last >= 0)
		r->spill_from =
		    last + 1 < r->spill_next ? last + 1 : r->spill_next;
	else
		r->spill_from = r->spill_next;
	r->spill_next = INT64_MAX;
	r->refilling = 0;
	if (r->spill_from == INT64_MAX)
		r->nspilled = 0;
	deliver_backlog_changed(d);
	return adopted;
}

static void
load_failed(struct dl_recv *r, const struct store_err *err)
{
	if (r->spill_next < r->spill_from)
		r->spill_from = r->spill_next;
	r->spill_next = INT64_MAX;
	r->refilling = 0;
	trouble(r->d, "read", err, r->d->recs.n);
}

int
deliver_store_load(struct deliver *d, struct dl_recv *r, int limit)
{
	char from[24], lim[16];
	const char *v[3] = {r->name, from, lim};
	struct store_err err;
	PGresult *res;
	int n;

	snprintf(from, sizeof(from), "%" PRId64, r->spill_from);
	snprintf(lim, sizeof(lim), "%d", limit);
	r->refilling = 1;
	r->spill_next = INT64_MAX;
	d->op_limit = limit;
	if (store_exec(d->st, SQL_LOAD, 3, v, &res, &err) < 0) {
		load_failed(r, &err);
		return -1;
	}
	n = load_rows(d, r, res);
	PQclear(res);
	return n;
}

int
deliver_store_count_pending(struct deliver *d)
{
	struct store_err err;
	PGresult *res;
	char q[300];

	if (store_exec(d->st, SQL_COUNT, 0, NULL, &res, &err) < 0) {
		log_warn("delivery.load_failed", "err=%s",
		    log_quote(q, sizeof(q), err.msg));
		metrics_inc(d->m_store_errors);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		uint64_t n = strtoull(PQgetvalue(res, i, 1), NULL, 10);
		struct dl_recv *r = deliver_recv_by_name(d, name);

		if (r == NULL) {
			log_warn("delivery.unknown_receiver",
			    "receiver=%s pending=%" PRIu64
			    " reason=not_configured",
			    log_quote(q, sizeof(q), name), n);
			continue;
		}
		r->nspilled = n > r->nitems ? n - r->nitems : 0;
	}
	PQclear(res);
	deliver_backlog_changed(d);
	return 0;
}

/* --- one statement at a time, asynchronously ------------------------------ */

static void op_cb(evutil_socket_t fd, short what, void *arg);

/* Watch the connection's socket: for reading, and for writing while
 * libpq still has some of the statement to send. */
static int
op_watch(struct deliver *d, PGconn *conn, int want_write)
{
	if (d->op_ev != NULL)
		event_free(d->op_ev);
	d->op_ev = event_new(d->base, PQsocket(conn),
	    EV_READ | EV_PERSIST | (want_write ? EV_WRITE : 0), op_cb, d);
	if (d->op_ev == NULL || event_add(d->op_ev, NULL) != 0)
		return -1;
	return 0;
}

/* The statement is over (res NULL: the connection failed under it). */
static void
op_end(struct deliver *d, PGresult *res)
{
	struct store_err err;
	enum dl_op op = d->op;
	struct dl_recv *r = d->op_recv;
	PGconn *conn = d->op_conn;

	if (d->op_ev != NULL) {
		event_free(d->op_ev);
		d->op_ev = NULL;
	}
	d->op = DL_OP_NONE;
	d->op_recv = NULL;
	d->op_conn = NULL;
	log_debug("delivery.store_op", "op=%s records=%zu rows=%d ms=%.1f",
	    op == DL_OP_FLUSH ? "write" : "read", d->writing.n,
	    res != NULL ? PQntuples(res) : -1,
	    (double)(timeutil_mono_us() - d->op_started_us) / 1000.0);
	if (PQstatus(conn) == CONNECTION_OK)
		PQsetnonblocking(conn, 0);
	/* This may drop the connection (and close the socket watched above,
	 * hence the event went first). */
	if (store_result_check(d->st, res, &err) < 0) {
		if (op == DL_OP_FLUSH)
			flush_failed(d, &err);
		else
			load_failed(r, &err);
	} else if (op == DL_OP_FLUSH) {
		flush_done(d, res);
	} else {
		trouble_over(d);
		load_rows(d, r, res);
		if (!d->closing)
			deliver_pump(r);
	}
	PQclear(res);
}

/* Wait here for what remains of the statement's answer, then end it. */
static void
op_finish_waiting(struct deliver *d)
{
	PGresult *res = d->op_res, *more;

	d->op_res = NULL;
	if (PQstatus(d->op_conn) == CONNECTION_OK) {
		PQsetnonblocking(d->op_conn, 0);
		while ((more = PQgetResult(d->op_conn)) != NULL) {
			if (res == NULL)
				res = more;
			else
				PQclear(more);
		}
	}
	op_end(d, res);
}

static void
op_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deliver *d = arg;
	PGconn *conn = d->op_conn;
	PGresult *res;

	(void)fd;
	if (what & EV_WRITE) {
		int fl = PQflush(conn);

		if (fl < 0 || (fl == 0 && op_watch(d, conn, 0) < 0))
			goto broken;
	}
	if ((what & EV_READ) && !PQconsumeInput(conn))
		goto broken;
	while (!PQisBusy(conn)) {
		if ((res = PQgetResult(conn)) == NULL) {
			res = d->op_res;
			d->op_res = NULL;
			op_end(d, res);
			return;
		}
		/* One statement, one result; keep the first (an error
		 * comes alone). */
		if (d->op_res == NULL)
			d->op_res = res;
		else
			PQclear(res);
	}
	return;
broken:
	/* The connection failed: whatever came is not the whole answer. */
	PQclear(d->op_res);
	d->op_res = NULL;
	op_end(d, NULL);
}

/* Send sql; the answer comes to op_cb.  0, or -1 with *err. */
static int
op_start(struct deliver *d, enum dl_op op, const char *sql, int n,
    const char *const *v, struct store_err *err)
{
	PGconn *conn = store_conn(d->st);
	int fl = -1;

	store_err_clear(err);
	if (conn == NULL) {
		store_err_set(
		    err, STORE_ERR_CONN, "08006", "the store is out of reach");
		return -1;
	}
	if (PQsetnonblocking(conn, 1) != 0 ||
	    !PQsendQueryParams(conn, sql, n, NULL, v, NULL, NULL, 0) ||
	    (fl = PQflush(conn)) < 0) {
		if (PQstatus(conn) == CONNECTION_OK)
			PQsetnonblocking(conn, 0);
		store_result_check(d->st, NULL, err);
		return -1;
	}
	d->op = op;
	d->op_conn = conn;
	d->op_started_us = timeutil_mono_us();
	d->op_res = NULL;
	if (op_watch(d, conn, fl == 1) < 0) {
		/* No way to hear the answer from the loop: wait for it. */
		log_warn("delivery.watch_failed", "op=%d", (int)op);
		op_finish_waiting(d);
	}
	return 0;
}

static void
start_flush(struct deliver *d)
{
	struct flush_params p;
	struct store_err err;
	struct dl_recs t = d->writing;

	d->writing = d->recs;
	d->recs = t;
	d->recs.n = 0;
	if (flush_params_build(d, &p) < 0) {
		store_err_set(&err, STORE_ERR_CONN, "53200",
		    "out of memory building the batch");
		flush_params_free(&p);
		flush_failed(d, &err);
		return;
	}
	if (op_start(d, DL_OP_FLUSH, SQL_FLUSH, 11, p.v, &err) < 0)
		flush_failed(d, &err);
	flush_params_free(&p);
}

static void
start_load(struct deliver *d, struct dl_recv *r, int limit)
{
	char from[24], lim[16];
	const char *v[3] = {r->name, from, lim};
	struct store_err err;

	snprintf(from, sizeof(from), "%" PRId64, r->spill_from);
	snprintf(lim, sizeof(lim), "%d", limit);
	r->refilling = 1;
	r->spill_next = INT64_MAX;
	d->op_limit = limit;
	d->op_recv = r;
	if (op_start(d, DL_OP_REFILL, SQL_LOAD, 3, v, &err) < 0) {
		d->op_recv = NULL;
		load_failed(r, &err);
	}
}

/* A receiver whose queue has drained to half while some of its
 * deliveries wait in the store, or NULL. */
static struct dl_recv *
wants_refill(struct deliver *d)
{
	for (size_t i = 0; i < d->nall; i++) {
		struct dl_recv *r = &d->recv[i];

		if (r->spill_from != INT64_MAX && !r->refilling &&
		    r->nitems <= d->items_max / 2 &&
		    r->bytes <= d->bytes_max / 2)
			return r;
	}
	return NULL;
}

void
deliver_store_tick(struct deliver *d)
{
	struct dl_recv *r;

	if (d->op != DL_OP_NONE)
		return;
	/* Writes and reads take turns, so that a steady stream of outcomes
	 * never keeps a drained queue waiting for its refill. */
	r = wants_refill(d);
	if (r != NULL && (d->recs.n == 0 || d->last_op == DL_OP_FLUSH)) {
		d->last_op = DL_OP_REFILL;
		start_load(d, r, (int)(d->items_max - r->nitems));
	} else if (d->recs.n > 0) {
		d->last_op = DL_OP_FLUSH;
		start_flush(d);
	}
}

void
deliver_store_finish(struct deliver *d)
{
	struct flush_params p;
	struct store_err err;
	PGresult *res;

	if (d->op != DL_OP_NONE)
		op_finish_waiting(d);
	for (int tries = 0; d->recs.n > 0 && tries < SQL_FAILURES_MAX;
	     tries++) {
		struct dl_recs t = d->writing;

		d->writing = d->recs;
		d->recs = t;
		d->recs.n = 0;
		res = NULL;
		if (flush_params_build(d, &p) < 0) {
			store_err_set(&err, STORE_ERR_SQL, "53200",
			    "out of memory building the batch");
		} else if (store_exec(d->st, SQL_FLUSH, 11, p.v, &res, &err) ==
		           0) {
			flush_done(d, res);
			PQclear(res);
			flush_params_free(&p);
			break;
		}
		flush_params_free(&p);
		flush_failed(d, &err);
	}
	if (d->recs.n > 0) {
		log_error("delivery.records_dropped",
		    "records=%zu reason=shutdown_store_unavailable", d->recs.n);
		metrics_add(d->m_dropped, d->recs.n);
		recs_forget(d, &d->recs, d->recs.n);
	}
}

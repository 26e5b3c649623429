/*
 * bus_consumer - the consumer half of the bus: cursors, replay, dedupe.
 *
 * A daemon that consumes (riskd, alarmd, schedd) makes one consumer per
 * name with its handler table.  The consumer subscribes first, then, from
 * the loop, loads its cursors from bus_cursors and replays from bus_log
 * every stream of bus_streams matching its prefixes that is beyond its
 * cursor; only then does it handle live messages.  A live message at or
 * below the cursor is a duplicate; one beyond cursor + 1 reveals a gap,
 * replayed from bus_log before it is handled; a resync timer catches a lost
 * tail and streams never seen live.  proto/README.md §5 is the contract.
 *
 * Effects and cursors commit together: a batch of live messages (or a page
 * of replayed ones) runs its handlers inside one transaction on the
 * daemon's connection, then upserts the cursors with a compare-and-set on
 * the committed values and commits.  Any failure rolls back, puts the
 * in-memory cursors back to the committed ones and leaves the messages to
 * replay after a pause of one resync period.
 *
 * The store is reached with plain blocking libpq on the loop's thread: the
 * handlers' effects are blocking by contract, and replay reads bus_log by
 * primary key in bounded pages (page_rows) on the local store, so one page
 * holds the loop for milliseconds.  The PGconn belongs to the daemon
 * (get_conn); the consumer never opens, resets or closes it.
 */
#include "bus.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "log.h"

#define DEF_RESYNC_MS 1000
#define DEF_BATCH 500
#define DEF_PAGE 1000
#define NAME_MAX_LEN 64

static const char SQL_LOAD[] =
    "SELECT stream, seq FROM bus_cursors WHERE consumer = $1";

static const char SQL_STREAMS[] =
    "SELECT stream, last_seq FROM bus_streams WHERE starts_with(stream, $1)";

static const char SQL_PAGE[] =
    "SELECT seq, envelope FROM bus_log "
    "WHERE stream = $1 AND seq > $2::bigint AND seq <= $3::bigint "
    "ORDER BY seq LIMIT $4::int";

/* Compare-and-set: a second process under the same name loses, not doubles. */
static const char SQL_CURSOR[] =
    "INSERT INTO bus_cursors (consumer, stream, seq, updated_at) "
    "VALUES ($1, $2, $3::bigint, now()) "
    "ON CONFLICT (consumer, stream) DO UPDATE "
    "SET seq = EXCLUDED.seq, updated_at = now() "
    "WHERE bus_cursors.seq = $4::bigint";

struct stream {
	char *name;
	uint64_t committed; /* as in bus_cursors */
	uint64_t cursor;    /* including the open transaction */
	int touched;        /* cursor moved in the open transaction */
};

/* A once-a-second log line for events that can come by the thousand. */
struct ratelog {
	time_t at;
	uint64_t n;
};

struct bus_consumer {
	struct bus *bus;
	struct bus_counters *ctr;
	struct bus_consumer_cfg cfg;
	struct bus_sock *sub;
	struct event *resync_ev;
	/* A replay going on over several turns of the loop: replayed at its
	 * start (for its log line). */
	int turning;
	uint64_t turn_before;
	struct event *process_ev;

	struct stream **tab; /* open addressing, power-of-two size */
	size_t tab_size, nstreams;

	struct stream **touched;
	size_t ntouched, touched_cap;
	uint64_t txn_handled, txn_skipped;

	Anquan__Envelope **inbox;
	size_t ninbox;

	PGconn *conn; /* during a pass only */
	int in_txn;
	int loaded;        /* cursors loaded */
	int live;          /* first full replay done */
	time_t hold_until; /* after a failure, wait for the resync */
	int store_down_logged;
	struct ratelog rl_gap, rl_dup, rl_bad, rl_defer;
};

static uint64_t
ratelog_take(struct ratelog *rl)
{
	time_t now = time(NULL);
	uint64_t n;

	rl->n++;
	if (now == rl->at)
		return 0;
	rl->at = now;
	n = rl->n;
	rl->n = 0;
	return n;
}

/* --- streams ----------------------------------------------------------- */

static size_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static int
tab_grow(struct bus_consumer *c)
{
	size_t size = c->tab_size ? c->tab_size * 2 : 64;
	struct stream **tab = calloc(size, sizeof(*tab));

	if (tab == NULL)
		return -1;
	for (size_t i = 0; i < c->tab_size; i++) {
		struct stream *st = c->tab[i];
		size_t j;

		if (st == NULL)
			continue;
		for (j = hash_str(st->name) & (size - 1); tab[j] != NULL;
		     j = (j + 1) & (size - 1))
			;
		tab[j] = st;
	}
	free(c->tab);
	c->tab = tab;
	c->tab_size = size;
	return 0;
}

static struct stream *
stream_find(const struct bus_consumer *c, const char *name)
{
	if (c->tab_size == 0)
		return NULL;
	for (size_t j = hash_str(name) & (c->tab_size - 1); c->tab[j] != NULL;
	     j = (j + 1) & (c->tab_size - 1))
		if (strcmp(c->tab[j]->name, name) == 0)
			return c->tab[j];
	return NULL;
}

/* The stream's state, made (cursor 0) on first sight; NULL when out of memory.
 */
static struct stream *
stream_get(struct bus_consumer *c, const char *name)
{
	struct stream *st = stream_find(c, name);
	size_t j;

	if (st != NULL)
		return st;
	if ((c->nstreams + 1) * 10 >= c->tab_size * 7 && tab_grow(c) < 0)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->name = strdup(name)) == NULL) {
		free(st);
		return NULL;
	}
	for (j = hash_str(name) & (c->tab_size - 1); c->tab[j] != NULL;
	     j = (j + 1) & (c->tab_size - 1))
		;
	c->tab[j] = st;
	c->nstreams++;
	return st;
}

uint64_t
bus_consumer_cursor(const struct bus_consumer *c, const char *stream)
{
	const struct stream *st = stream_find(c, stream);

	return st ? st->committed : 0;
}

int
bus_consumer_live(const struct bus_consumer *c)
{
	return c->live;
}

/* --- store ------------------------------------------------------------- */

static void
log_pq(struct bus_consumer *c, const char *event, const char *what,
    const char *msg)
{
	char q[256], line[256];
	size_t n = 0;

	/* libpq's messages span lines; a log event is one line. */
	for (const char *p = msg && *msg ? msg : "no result";
	     *p != '\0' && n < sizeof(line) - 1; p++) {
		if ((unsigned char)*p <= ' ') {
			if (n > 0 && line[n - 1] != ' ')
				line[n++] = ' ';
		} else {
			line[n++] = *p;
		}
	}
	while (n > 0 && line[n - 1] == ' ')
		n--;
	line[n] = '\0';
	log_warn(event, "consumer=%s step=%s err=%s", c->cfg.name, what,
	    log_quote(q, sizeof(q), line));
}

/* Run a statement that returns no rows; 0 or -1 (logged). */
static int
exec_cmd(struct bus_consumer *c, const char *sql, const char *what)
{
	PGresult *res = PQexec(c->conn, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		log_pq(c, "bus.consumer.store", what,
		    res ? PQresultErrorMessage(res) : PQerrorMessage(c->conn));
	PQclear(res);
	return ok ? 0 : -1;
}

/* The daemon's connection, idle and usable, or NULL. */
static PGconn *
take_conn(struct bus_consumer *c)
{
	PGconn *conn = c->cfg.get_conn(c->cfg.arg);

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK ||
	    PQtransactionStatus(conn) != PQTRANS_IDLE) {
		if (!c->store_down_logged)
			log_warn("bus.consumer.store_unavailable",
			    "consumer=%s conn=%s", c->cfg.name,
			    conn == NULL                      ? "none"
			    : PQstatus(conn) != CONNECTION_OK ? "bad"
			                                      : "busy");
		c->store_down_logged = 1;
		return NULL;
	}
	if (c->store_down_logged)
		log_info("bus.consumer.store_back", "consumer=%s", c->cfg.name);
	c->store_down_logged = 0;
	return conn;
}

static int
load_cursors(struct bus_consumer *c)
{
	const char *params[1] = {c->cfg.name};
	PGresult *res;
	int n;

	res = PQexecParams(c->conn, SQL_LOAD, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_pq(c, "bus.consumer.store", "load_cursors",
		    PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct stream *st = stream_get(c, PQgetvalue(res, i, 0));

		if (st == NULL) {
			PQclear(res);
			return -1;
		}
		st->committed = st->cursor =
		    strtoull(PQgetvalue(res, i, 1), NULL, 10);
	}
	PQclear(res);
	c->loaded = 1;
	log_info(
	    "bus.consumer.cursors", "consumer=%s streams=%d", c->cfg.name, n);
	return 0;
}

static int
txn_begin(struct bus_consumer *c)
{
	if (exec_cmd(c, "BEGIN", "begin") < 0)
		return -1;
	c->in_txn = 1;
	c->ntouched = 0;
	c->txn_handled = c->txn_skipped = 0;
	return 0;
}

static void
txn_abort(struct bus_consumer *c)
{
	PGresult *res;

	if (!c->in_txn)
		return;
	/* After a failed COMMIT there is nothing left to roll back. */
	if (PQtransactionStatus(c->conn) != PQTRANS_IDLE) {
		res = PQexec(c->conn, "ROLLBACK");
		PQclear(res);
	}
	for (size_t i = 0; i < c->ntouched; i++) {
		c->touched[i]->cursor = c->touched[i]->committed;
		c->touched[i]->touched = 0;
	}
	c->ntouched = 0;
	c->in_txn = 0;
	c->ctr->retries++;
	if (c->cfg.after_abort != NULL)
		c->cfg.after_abort(c->cfg.arg);
	/* Give the store (or the handler's dependency) a resync period. */
	c->hold_until = time(NULL) + (c->cfg.resync_ms + 999) / 1000;
}

static int
upsert_cursor(struct bus_consumer *c, const struct stream *st)
{
	char seq[24], expect[24];
	const char *params[4] = {c->cfg.name, st->name, seq, expect};
	PGresult *res;
	int rc = -1;

	snprintf(seq, sizeof(seq), "%" PRIu64, st->cursor);
	snprintf(expect, sizeof(expect), "%" PRIu64, st->committed);
	res = PQexecParams(c->conn, SQL_CURSOR, 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_pq(c, "bus.consumer.store", "cursor",
		    PQresultErrorMessage(res));
	} else if (strcmp(PQcmdTuples(res), "1") != 0) {
		/* Someone else moved our cursor: reload rather than double. */
		log_error("bus.consumer.cursor_moved",
		    "consumer=%s stream=%s expected=%s "
		    "hint=\"another process runs under this consumer name\"",
		    c->cfg.name, st->name, expect);
		c->loaded = 0;
	} else {
		rc = 0;
	}
	PQclear(res);
	return rc;
}

static int
txn_commit(struct bus_consumer *c)
{
	PGresult *res;
	int ok;

	if (c->cfg.before_commit != NULL &&
	    c->cfg.before_commit(c->conn, c->cfg.arg) < 0) {
		log_warn("bus.consumer.retry",
		    "consumer=%s reason=\"the transaction hook failed\"",
		    c->cfg.name);
		txn_abort(c);
		return -1;
	}
	for (size_t i = 0; i < c->ntouched; i++)
		if (upsert_cursor(c, c->touched[i]) < 0) {
			txn_abort(c);
			return -1;
		}
	res = PQexec(c->conn, "COMMIT");
	/* A COMMIT of a failed transaction answers ROLLBACK, not an error. */
	ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
	     strcmp(PQcmdStatus(res), "COMMIT") == 0;
	if (!ok)
		log_pq(c, "bus.consumer.store", "commit",
		    PQresultStatus(res) == PGRES_COMMAND_OK
		        ? "transaction was aborted inside a handler"
		        : PQresultErrorMessage(res));
	PQclear(res);
	if (!ok) {
		/* Nothing to roll back any more, but the cursors go back. */
		txn_abort(c);
		return -1;
	}
	for (size_t i = 0; i < c->ntouched; i++) {
		c->touched[i]->committed = c->touched[i]->cursor;
		c->touched[i]->touched = 0;
	}
	c->ntouched = 0;
	c->in_txn = 0;
	c->ctr->handled += c->txn_handled;
	c->ctr->skipped += c->txn_skipped;
	if (c->cfg.after_commit != NULL)
		c->cfg.after_commit(c->cfg.arg);
	return 0;
}

static int
advance(struct bus_consumer *c, struct stream *st, uint64_t seq)
{
	if (!st->touched) {
		if (c->ntouched == c->touched_cap) {
			size_t cap = c->touched_cap ? c->touched_cap * 2 : 16;
			struct stream **t =
			    realloc(c->touched, cap * sizeof(*t));

			if (t == NULL)
				return -1;
			c->touched = t;
			c->touched_cap = cap;
		}
		c->touched[c->ntouched++] = st;
		st->touched = 1;
	}
	st->cursor = seq;
	return 0;
}

/* --- handling ---------------------------------------------------------- */

/* Run the handler for one in-order message inside the open transaction. */
static int
handle_one(struct bus_consumer *c, struct stream *st,
    const Anquan__Envelope *env, int replayed)
{
	struct bus_msg m = {st->name, env, replayed};
	enum bus_verdict v;
	int unhandled;

	v = bus_dispatch(c->cfg.handlers, c->conn, &m, c->cfg.arg, &unhandled);
	if (v == BUS_RETRY) {
		log_warn("bus.consumer.retry",
		    "consumer=%s stream=%s seq=%" PRIu64 " replayed=%d",
		    c->cfg.name, st->name, env->seq, replayed);
		return -1;
	}
	if (v == BUS_SKIP && !unhandled) {
		c->txn_skipped++;
		log_warn("bus.consumer.skip",
		    "consumer=%s stream=%s seq=%" PRIu64
		    " msg_id=%s payload=%s",
		    c->cfg.name, st->name, env->seq, env->msg_id,
		    bus_payload_name(env->payload_case));
	} else if (v == BUS_OK) {
		c->txn_handled++;
	}
	return advance(c, st, env->seq);
}

/* One stored row: decode strictly, step over what cannot be handled. */
static int
replay_row(struct bus_consumer *c, struct stream *st, uint64_t seq,
    const void *data, size_t len)
{
	Anquan__Envelope *env = NULL;
	enum bus_decode_err e;
	char why[128];
	int rc;

	e = bus_decode_stored(st->name, data, len, &env);
	if (e == BUS_DECODE_OK && env->seq != seq)
		e = BUS_DECODE_SEQ;
	if (e != BUS_DECODE_OK) {
		if (e == BUS_DECODE_UNKNOWN)
			c->ctr->unknown++;
		else
			c->ctr->malformed++;
		log_warn("bus.replay.bad",
		    "consumer=%s stream=%s seq=%" PRIu64 " why=%s", c->cfg.name,
		    st->name, seq,
		    log_quote(why, sizeof(why), bus_decode_errstr(e)));
		bus_envelope_free(env);
		/* It will not get better by waiting: move past it. */
		return advance(c, st, seq);
	}
	rc = handle_one(c, st, env, 1);
	bus_envelope_free(env);
	return rc;
}

static uint64_t
be64(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | u[i];
	return v;
}

/* Note messages that retention removed before this consumer saw them. */
static void
note_pruned(
    struct bus_consumer *c, struct stream *st, uint64_t from, uint64_t to)
{
	if (st->cursor == 0) {
		/* A new consumer starts at the oldest retained message. */
		log_info("bus.replay.start",
		    "consumer=%s stream=%s first=%" PRIu64, c->cfg.name,
		    st->name, to + 1);
		return;
	}
	c->ctr->lost += to - from + 1;
	log_warn("bus.replay.lost",
	    "consumer=%s stream=%s from=%" PRIu64 " to=%" PRIu64
	    " hint=\"pruned from bus_log before it was consumed; "
	    "rebuild from the tables\"",
	    c->cfg.name, st->name, from, to);
}

/* Handle one page of (cursor, upto] in the open transaction; rows or -1. */
static int
replay_page(struct bus_consumer *c, struct stream *st, uint64_t upto)
{
	char after[24], last[24], limit[16];
	const char *params[4] = {st->name, after, last, limit};
	PGresult *res;
	int n;

	snprintf(after, sizeof(after), "%" PRIu64, st->cursor);
	snprintf(last, sizeof(last), "%" PRIu64, upto);
	snprintf(limit, sizeof(limit), "%d", c->cfg.page_rows);
	res = PQexecParams(c->conn, SQL_PAGE, 4, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_pq(c, "bus.consumer.store", "replay",
		    PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		uint64_t seq;

		if (PQgetlength(res, i, 0) != 8) {
			PQclear(res);
			return -1;
		}
		seq = be64(PQgetvalue(res, i, 0));
		if (seq > st->cursor + 1)
			note_pruned(c, st, st->cursor + 1, seq - 1);
		c->ctr->replayed++;
		if (replay_row(c, st, seq, PQgetvalue(res, i, 1),
		        (size_t)PQgetlength(res, i, 1)) < 0) {
			PQclear(res);
			return -1;
		}
	}
	PQclear(res);
	return n;
}

/*
 * Replay (committed, upto] in page-sized transactions, at most
 * TURN_PAGES of them: 0 caught up, 1 more to do, -1.  A long replay (a
 * consumer back from an outage, a burst past the socket's high-water
 * mark) gives the loop back between pages, so what the handlers' commits
 * started (webhooks, HTTP answers, /healthz) goes on meanwhile; the
 * resync event comes back for the rest at once.
 */
#define TURN_PAGES 1

static int
catch_up(struct bus_consumer *c, struct stream *st, uint64_t upto)
{
	int pages = 0;

	while (st->committed < upto) {
		int n;

		if (pages++ == TURN_PAGES)
			return 1;
		if (txn_begin(c) < 0)
			return -1;
		n = replay_page(c, st, upto);
		if (n < 0) {
			txn_abort(c);
			return -1;
		}
		if (n == 0) {
			/* upto is committed, so the rows were pruned. */
			note_pruned(c, st, st->cursor + 1, upto);
			if (advance(c, st, upto) < 0) {
				txn_abort(c);
				return -1;
			}
		}
		if (txn_commit(c) < 0)
			return -1;
	}
	return 0;
}

/* Empty the inbox; messages from index unread on were not handled. */
static void
free_inbox(struct bus_consumer *c, size_t unread)
{
	uint64_t n;

	for (size_t i = 0; i < c->ninbox; i++)
		bus_envelope_free(c->inbox[i]);
	if (unread < c->ninbox) {
		c->ctr->deferred += c->ninbox - unread;
		if ((n = ratelog_take(&c->rl_defer)) > 0)
			log_info("bus.consumer.deferred",
			    "consumer=%s batches=%" PRIu64 " last=%zu "
			    "reason=\"store unavailable or last batch failed; "
			    "replay will bring them\"",
			    c->cfg.name, n, c->ninbox - unread);
	}
	c->ninbox = 0;
}

/* Handle the live messages received so far, as one transaction. */
static void
process_inbox(struct bus_consumer *c)
{
	size_t i;
	uint64_t n;
	int more;

	if (c->ninbox == 0)
		return;
	if (!c->live || time(NULL) < c->hold_until ||
	    (c->conn = take_conn(c)) == NULL) {
		free_inbox(c, 0);
		return;
	}
	for (i = 0; i < c->ninbox; i++) {
		Anquan__Envelope *env = c->inbox[i];
		struct stream *st = stream_get(c, env->stream);

		if (st == NULL)
			goto fail;
		switch (bus_seq_decide(st->cursor, env->seq)) {
		case BUS_SEQ_DUP:
			c->ctr->duplicates++;
			if ((n = ratelog_take(&c->rl_dup)) > 0)
				log_debug("bus.consumer.duplicate",
				    "consumer=%s n=%" PRIu64, c->cfg.name, n);
			continue;
		case BUS_SEQ_GAP:
			c->ctr->gaps++;
			if ((n = ratelog_take(&c->rl_gap)) > 0)
				log_info("bus.consumer.gap",
				    "consumer=%s stream=%s cursor=%" PRIu64
				    " seq=%" PRIu64 " gaps=%" PRIu64,
				    c->cfg.name, st->name, st->cursor, env->seq,
				    n);
			if (c->in_txn && txn_commit(c) < 0)
				goto fail;
			if ((more = catch_up(c, st, env->seq - 1)) < 0)
				goto fail;
			if (more) {
				/* The rest of the hole and this message and
				 * those after it come by replay, from the
				 * resync event, once the loop has turned. */
				for (size_t k = 0; k < c->ninbox; k++)
					bus_envelope_free(c->inbox[k]);
				c->ninbox = 0;
				c->conn = NULL;
				event_active(c->resync_ev, EV_TIMEOUT, 0);
				return;
			}
			break;
		case BUS_SEQ_NEXT:
			break;
		}
		if (!c->in_txn && txn_begin(c) < 0)
			goto fail;
		if (handle_one(c, st, env, 0) < 0)
			goto fail;
	}
	if (c->in_txn && txn_commit(c) < 0)
		goto fail;
	free_inbox(c, c->ninbox);
	c->conn = NULL;
	return;
fail:
	txn_abort(c);
	/* The rolled-back and the unread messages all come again by replay. */
	free_inbox(c, i);
	c->conn = NULL;
}

static void
on_process(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	process_inbox(arg);
}

static void
on_message(
    struct bus_sock *s, const struct bus_frame *frames, int nframes, void *arg)
{
	struct bus_consumer *c = arg;
	char topic[BUS_TOPIC_MAX + 1], qt[BUS_TOPIC_MAX + 8], why[128];
	Anquan__Envelope *env;
	enum bus_decode_err e;
	uint64_t n;

	(void)s;
	e = bus_decode_pub(frames, nframes, topic, &env);
	if (e != BUS_DECODE_OK) {
		if (e == BUS_DECODE_UNKNOWN)
			c->ctr->unknown++;
		else
			c->ctr->malformed++;
		if ((n = ratelog_take(&c->rl_bad)) > 0)
			log_warn("bus.consumer.rejected",
			    "consumer=%s topic=%s why=%s n=%" PRIu64,
			    c->cfg.name, log_quote(qt, sizeof(qt), topic),
			    log_quote(why, sizeof(why), bus_decode_errstr(e)),
			    n);
		bus_envelope_free(env);
		return;
	}
	if (!bus_topic_matches(c->cfg.prefixes, topic)) {
		bus_envelope_free(env);
		return;
	}
	c->inbox[c->ninbox++] = env;
	if (c->ninbox == (size_t)c->cfg.batch_max)
		process_inbox(c);
	else
		event_active(c->process_ev, EV_TIMEOUT, 0);
}

/* --- resync ------------------------------------------------------------ */

/* Catch up every stream under one prefix; 0 or -1. */
static int
resync_prefix(struct bus_consumer *c, const char *prefix, uint64_t *nstreams,
    int *more)
{
	const char *params[1] = {prefix};
	PGresult *res;
	int n;

	res =
	    PQexecParams(c->conn, SQL_STREAMS, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_pq(c, "bus.consumer.store", "streams",
		    PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct stream *st = stream_get(c, PQgetvalue(res, i, 0));
		uint64_t last = strtoull(PQgetvalue(res, i, 1), NULL, 10);

		if (st == NULL) {
			PQclear(res);
			return -1;
		}
		if (last <= st->committed)
			continue;
		(*nstreams)++;
		switch (catch_up(c, st, last)) {
		case 0:
			break;
		case 1:
			*more = 1;
			break;
		default:
			PQclear(res);
			return -1;
		}
	}
	PQclear(res);
	return 0;
}

int
bus_consumer_resync(struct bus_consumer *c)
{
	uint64_t before, nstreams = 0;
	int rc = 0, more = 0;

	if (!c->turning)
		c->turn_before = c->ctr->replayed;
	before = c->turn_before;

	/* Live messages first, so the resync sees the cursors they moved. */
	if (c->live)
		process_inbox(c);
	c->conn = take_conn(c);
	if (c->conn == NULL)
		return -1;
	if (!c->loaded && load_cursors(c) < 0)
		rc = -1;
	for (const char *const *p = c->cfg.prefixes; rc == 0 && *p != NULL; p++)
		if (resync_prefix(c, *p, &nstreams, &more) < 0)
			rc = -1;
	c->conn = NULL;
	c->turning = rc == 0 && more;
	if (rc == 0 && more) {
		/* Part of the way: the loop turns, then on from here. */
		c->hold_until = 0;
		event_active(c->resync_ev, EV_TIMEOUT, 0);
	} else if (rc == 0) {
		c->hold_until = 0;
		if (!c->live)
			log_info("bus.consumer.live",
			    "consumer=%s streams=%zu "
			    "replayed=%" PRIu64,
			    c->cfg.name, c->nstreams,
			    c->ctr->replayed - before);
		else if (nstreams > 0)
			log_info("bus.consumer.resync",
			    "consumer=%s streams=%" PRIu64 " replayed=%" PRIu64,
			    c->cfg.name, nstreams, c->ctr->replayed - before);
		c->live = 1;
	}
	return rc;
}

static void
on_resync(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bus_consumer_resync(arg);
}

/* --- life -------------------------------------------------------------- */

static int
cfg_check(const struct bus_consumer_cfg *cfg)
{
	const char *why = NULL;
	char q[128];

	if (cfg->name == NULL || cfg->name[0] == '\0' ||
	    strlen(cfg->name) > NAME_MAX_LEN)
		why = "name must be 1..64 characters";
	else if (cfg->endpoints == NULL || cfg->endpoints[0] == NULL)
		why = "no endpoint to connect to";
	else if (cfg->prefixes == NULL || cfg->prefixes[0] == NULL)
		why = "no topic prefix to subscribe to";
	else if (cfg->handlers == NULL || cfg->get_conn == NULL)
		why = "handler table and get_conn are required";
	for (const char *const *p = cfg->prefixes; why == NULL && *p != NULL;
	     p++)
		if (**p != '\0' && !bus_topic_valid(*p, strlen(*p)))
			why = "a prefix is not printable ASCII of at most 200 "
			      "bytes";
	if (why != NULL) {
		log_error("bus.consumer.config", "consumer=%s err=%s",
		    cfg->name ? cfg->name : "(none)",
		    log_quote(q, sizeof(q), why));
		return -1;
	}
	return 0;
}

struct bus_consumer *
bus_consumer_new(struct bus *bus, const struct bus_consumer_cfg *cfg)
{
	struct bus_consumer *c;
	struct timeval tv;

	if (cfg_check(cfg) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->bus = bus;
	c->ctr = bus_counters_mut(bus);
	c->cfg = *cfg;
	if (c->cfg.resync_ms <= 0)
		c->cfg.resync_ms = DEF_RESYNC_MS;
	if (c->cfg.batch_max <= 0)
		c->cfg.batch_max = DEF_BATCH;
	if (c->cfg.page_rows <= 0)
		c->cfg.page_rows = DEF_PAGE;
	c->inbox = calloc((size_t)c->cfg.batch_max, sizeof(*c->inbox));
	c->process_ev = event_new(bus_base(bus), -1, 0, on_process, c);
	c->resync_ev = event_new(bus_base(bus), -1, EV_PERSIST, on_resync, c);
	c->sub = bus_socket(bus, ZMQ_SUB, &c->cfg.sub_opts);
	if (c->inbox == NULL || c->process_ev == NULL || c->resync_ev == NULL ||
	    c->sub == NULL)
		goto fail;
	/* Subscribe before the first replay, as in Clone: nothing falls
	 * between. */
	for (const char *const *p = cfg->prefixes; *p != NULL; p++)
		if (bus_subscribe(c->sub, *p) < 0)
			goto fail;
	for (const char *const *e = cfg->endpoints; *e != NULL; e++)
		if (bus_connect(c->sub, *e) < 0)
			goto fail;
	bus_sock_on_recv(c->sub, on_message, c);
	tv.tv_sec = c->cfg.resync_ms / 1000;
	tv.tv_usec = (c->cfg.resync_ms % 1000) * 1000;
	if (event_add(c->resync_ev, &tv) != 0)
		goto fail;
	/* The first replay runs from the loop, not inside the constructor. */
	event_active(c->resync_ev, EV_TIMEOUT, 0);
	log_info("bus.consumer.start", "consumer=%s resync_ms=%d batch=%d",
	    c->cfg.name, c->cfg.resync_ms, c->cfg.batch_max);
	return c;
fail:
	bus_consumer_free(c);
	return NULL;
}

void
bus_consumer_free(struct bus_consumer *c)
{
	if (c == NULL)
		return;
	if (c->inbox != NULL)
		free_inbox(c, c->ninbox);
	free(c->inbox);
	if (c->process_ev != NULL)
		event_free(c->process_ev);
	if (c->resync_ev != NULL)
		event_free(c->resync_ev);
	bus_sock_close(c->sub);
	for (size_t i = 0; i < c->tab_size; i++)
		if (c->tab[i] != NULL) {
			free(c->tab[i]->name);
			free(c->tab[i]);
		}
	free(c->tab);
	free(c->touched);
	free(c);
}

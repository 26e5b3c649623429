/*
 * audit - appending to the hash-chained journal (audit.h).
 *
 * The chain itself is made by the SQL function audit_append()
 * (deploy/sql/0011_audit.sql): it takes the journal's lock, numbers the
 * entries and hashes them in the caller's transaction.  This file only
 * carries entries to it, four array parameters in one call, however many
 * entries there are.  Arrays travel as PostgreSQL array literals (text
 * parameters, never SQL text), built by audit_pg_array().
 *
 * What an actor or subject holds can come from outside (a feed's event id,
 * an officer's id), and a journal that refuses an entry would make the
 * change it records fail with it, again and again on every retry.  So the
 * two are cleaned here into the form the table's checks accept instead of
 * being refused; the action, always a constant of the caller's code, is
 * checked and a bad one refused as the bug it is.
 *
 * Callers: core.c, core_notify.c (incidents, notifications, rosters) and
 * api_store.c (silences), on the loop's connection.  The batch copies its
 * entries; everything else works on the caller's memory.
 */
#include "audit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"

/* Grow the batch's arrays by this much at first. */
#define AUDIT_BATCH_FIRST 16

/*
 * The code point of the UTF-8 character at p and its length, or 0 when the
 * bytes there are not one (a stray continuation, truncated, overlong, a
 * surrogate, beyond U+10FFFF).  p is NUL-terminated, so a truncated
 * sequence stops at the NUL.
 */
static size_t
utf8_decode(const unsigned char *p, uint32_t *cp)
{
	size_t len;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07u;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3fu);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* The characters the table's checks refuse besides '|'. */
static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 ||
	       cp == 0x2029;
}

int
audit_field_clean(char out[AUDIT_FIELD_SIZE], const char *in)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t used = 0, chars = 0;

	out[0] = '\0';
	if (in == NULL)
		return -1;
	while (*p != '\0' && chars < AUDIT_FIELD_MAX) {
		uint32_t cp = 0;
		size_t len = utf8_decode(p, &cp);

		if (len == 0) {
			out[used++] = '?';
			p++;
		} else if (cp == '|') {
			out[used++] = '/';
			p++;
		} else if (is_control(cp)) {
			out[used++] = '?';
			p += len;
		} else {
			memcpy(out + used, p, len);
			used += len;
			p += len;
		}
		chars++;
	}
	if (used == 0)
		out[used++] = '-';
	out[used] = '\0';
	return (int)used;
}

int
audit_action_ok(const char *action)
{
	size_t words = 0, len;
	const char *p;

	if (action == NULL || (len = strlen(action)) == 0 ||
	    len > AUDIT_ACTION_MAX)
		return 0;
	for (p = action;; p++) {
		/* A word: a letter, then letters and underscores. */
		if (*p < 'a' || *p > 'z')
			return 0;
		while ((*p >= 'a' && *p <= 'z') || *p == '_')
			p++;
		words++;
		if (*p == '\0')
			break;
		if (*p != '.')
			return 0;
	}
	return words >= 2;
}

char *
audit_pg_array(size_t n, const char *const *items, int clean)
{
	struct store_array a = {0};
	char field[AUDIT_FIELD_SIZE];

	for (size_t i = 0; i < n; i++) {
		const char *item = items != NULL ? items[i] : NULL;

		if (item == NULL && clean) {
			store_array_free(&a);
			return NULL;
		}
		if (item != NULL && clean) {
			audit_field_clean(field, item);
			item = field;
		}
		store_array_str(&a, item);
	}
	return store_array_take(&a);
}

int
audit_append(PGconn *conn, const char *actor, const char *action,
    const char *subject, const char *detail_json)
{
	return audit_append_many(
	    conn, 1, &actor, &action, &subject, &detail_json);
}

/* Refuse what would be a bug of the caller's before any round trip, so
 * its transaction stays usable; 0 when every entry may be sent. */
static int
entries_check(size_t n, const char *const *actors, const char *const *actions,
    const char *const *subjects)
{
	char q[AUDIT_ACTION_MAX + 16];

	if (actors == NULL || actions == NULL || subjects == NULL) {
		log_warn("audit.refused",
		    "n=%zu reason=\"no actors, actions "
		    "or subjects\"",
		    n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!audit_action_ok(actions[i])) {
			log_warn("audit.refused",
			    "entry=%zu action=%s reason=\"an action is dotted "
			    "lower-case words, like incident.acknowledged\"",
			    i,
			    log_quote(q, sizeof(q),
			        actions[i] ? actions[i] : "(null)"));
			return -1;
		}
		if (actors[i] == NULL || subjects[i] == NULL) {
			log_warn("audit.refused",
			    "entry=%zu action=%s reason=\"no %s\"", i,
			    actions[i],
			    actors[i] == NULL ? "actor" : "subject");
			return -1;
		}
	}
	return 0;
}

int
audit_append_many(PGconn *conn, size_t n, const char *const *actors,
    const char *const *actions, const char *const *subjects,
    const char *const *details)
{
	static const char sql[] = "SELECT audit_append($1::text[], "
	                          "$2::text[], $3::text[], $4::jsonb[])";
	const char *vals[4] = {NULL, NULL, NULL, NULL};
	char *arrays[4] = {NULL, NULL, NULL, NULL};
	PGresult *res = NULL;
	int rc = -1;

	if (n == 0)
		return 0;
	if (conn == NULL) {
		log_warn("audit.refused", "n=%zu reason=\"no connection\"", n);
		return -1;
	}
	if (entries_check(n, actors, actions, subjects) < 0)
		return -1;
	arrays[0] = audit_pg_array(n, actors, 1);
	arrays[1] = audit_pg_array(n, actions, 0);
	arrays[2] = audit_pg_array(n, subjects, 1);
	arrays[3] = audit_pg_array(n, details, 0);
	for (size_t i = 0; i < 4; i++) {
		if (arrays[i] == NULL) {
			log_warn("audit.refused",
			    "n=%zu reason=\"out of memory\"", n);
			goto out;
		}
		vals[i] = arrays[i];
	}
	res = PQexecParams(conn, sql, 4, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		log_debug("audit.appended", "n=%zu action=%s last_seq=%s", n,
		    actions[n - 1], PQgetvalue(res, 0, 0));
		rc = 0;
	} else {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *msg =
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		char q[300];

		log_warn("audit.append_failed",
		    "n=%zu action=%s sqlstate=%s error=%s", n, actions[0],
		    state ? state : "-",
		    log_quote(q, sizeof(q), msg ? msg : PQerrorMessage(conn)));
	}
	PQclear(res);
out:
	for (size_t i = 0; i < 4; i++)
		free(arrays[i]);
	return rc;
}

void
audit_batch_init(struct audit_batch *b)
{
	memset(b, 0, sizeof(*b));
}

/* Make room for one more entry; 0 or -1. */
static int
batch_grow(struct audit_batch *b)
{
	char ***arrays[4] = {&b->actor, &b->action, &b->subject, &b->detail};
	size_t cap;

	if (b->n < b->cap)
		return 0;
	cap = b->cap ? b->cap * 2 : AUDIT_BATCH_FIRST;
	for (size_t i = 0; i < 4; i++) {
		char **np = realloc(*arrays[i], cap * sizeof(char *));

		if (np == NULL)
			return -1; /* the arrays grown so far keep the room */
		*arrays[i] = np;
	}
	b->cap = cap;
	return 0;
}

int
audit_batch_add(struct audit_batch *b, const char *actor, const char *action,
    const char *subject, const char *detail_json)
{
	char *actor_c, *action_c, *subject_c, *detail_c = NULL;

	if (actor == NULL || action == NULL || subject == NULL) {
		char q[AUDIT_ACTION_MAX + 16];

		log_warn("audit.refused", "action=%s reason=\"no %s\"",
		    log_quote(q, sizeof(q), action ? action : "(null)"),
		    action == NULL ? "action"
		                   : (actor == NULL ? "actor" : "subject"));
		b->failed = 1;
		return -1;
	}
	if (batch_grow(b) < 0) {
		b->failed = 1;
		return -1;
	}
	actor_c = strdup(actor);
	action_c = strdup(action);
	subject_c = strdup(subject);
	if (detail_json != NULL)
		detail_c = strdup(detail_json);
	if (actor_c == NULL || action_c == NULL || subject_c == NULL ||
	    (detail_json != NULL && detail_c == NULL)) {
		free(actor_c);
		free(action_c);
		free(subject_c);
		free(detail_c);
		b->failed = 1;
		return -1;
	}
	b->actor[b->n] = actor_c;
	b->action[b->n] = action_c;
	b->subject[b->n] = subject_c;
	b->detail[b->n] = detail_c;
	b->n++;
	return 0;
}

int
audit_batch_flush(PGconn *conn, struct audit_batch *b)
{
	int rc;

	if (b->failed) {
		log_warn("audit.refused",
		    "n=%zu reason=\"an entry of the batch was lost: out of "
		    "memory\"",
		    b->n);
		audit_batch_clear(b);
		return -1;
	}
	rc = audit_append_many(conn, b->n, (const char *const *)b->actor,
	    (const char *const *)b->action, (const char *const *)b->subject,
	    (const char *const *)b->detail);
	audit_batch_clear(b);
	return rc;
}

void
audit_batch_clear(struct audit_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->actor[i]);
		free(b->action[i]);
		free(b->subject[i]);
		free(b->detail[i]);
	}
	b->n = 0;
	b->failed = 0;
}

void
audit_batch_free(struct audit_batch *b)
{
	audit_batch_clear(b);
	free(b->actor);
	free(b->action);
	free(b->subject);
	free(b->detail);
	audit_batch_init(b);
}

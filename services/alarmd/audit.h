/*
 * audit - the hash-chained journal of everything alarmd and the duty
 * officers do (issue 6, item 8; deploy/sql/0011_audit.sql).
 *
 * An entry is (seq, at, actor, action, subject, detail): who did what to
 * which thing, with a JSON object of particulars.  The store appends it
 * with the SQL function audit_append(), inside the transaction that makes
 * the change, so the entry commits with the change or not at all; the
 * function serialises appenders and computes each entry's hash from the
 * previous one's.  `safetyctl audit verify` recomputes every hash with
 * audit_hash() below and finds an entry edited, removed or re-linked.
 *
 * The core (incidents, notifications, rosters) and the API (silences) call
 * audit_append() on the loop's connection; many entries in one round trip
 * go through audit_append_many() or an audit_batch flushed before commit.
 * A failure aborts the caller's transaction (the server raised), so the
 * caller rolls back; the reason is logged here and, for a server error,
 * left in PQerrorMessage(conn).
 *
 * Actions (dotted lower case; the SQL refuses any other form):
 *   incident.opened        an incident was opened (subject incident:<id>)
 *   incident.joined        an alarm joined an open incident
 *   incident.notified      its first notice went out (after the group wait)
 *   incident.escalated     an acknowledgement deadline passed: one tier up
 *   incident.acknowledged  an officer took it (签收)
 *   incident.resolved      an officer closed it (办结), or it auto-resolved
 *   incident.reminded      acknowledged but not resolved in time: reminded
 *   notification.sent      a notice was made for its recipients
 *   silence.created        a silence was set (subject silence:<id>)
 *   silence.expired        a silence was ended early or ran out
 *   roster.changed         a duty roster shift arrived or was replaced
 *   officer.token_created  safetyctl officer create (subject officer:<id>)
 *   officer.token_revoked  safetyctl officer revoke
 * Actors: "alarmd" for the daemon's own steps, an officer's id, a source's
 * name for what a feed sent, "safetyctl:<os user>" for the operator.
 */
#ifndef ANQUAN_ALARMD_AUDIT_H
#define ANQUAN_ALARMD_AUDIT_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "sha256.h"

#define AUDIT_HASH_LEN SHA256_DIGEST_LEN
/* actor and subject: at most this many characters (the SQL's limit). */
#define AUDIT_FIELD_MAX 200
/* Bytes that hold a cleaned actor or subject (4-byte UTF-8) and its NUL. */
#define AUDIT_FIELD_SIZE (AUDIT_FIELD_MAX * 4 + 1)
/* action: at most this many bytes. */
#define AUDIT_ACTION_MAX 64

/*
 * Append one entry in the caller's open transaction: actor, action and
 * subject as above, detail_json a JSON object (NULL: {}).  0, or -1 with
 * the reason logged; after -1 the transaction is aborted when the server
 * got the call.
 */
int audit_append(PGconn *conn, const char *actor, const char *action,
    const char *subject, const char *detail_json);

/*
 * Append n entries in that order, in one round trip (one SQL call): entry
 * i is actors[i], actions[i], subjects[i], details[i] (details[i] or the
 * whole details NULL: {}).  n == 0 does nothing.  0 or -1 as above.
 *
 * actor and subject are recorded cleaned (audit_field_clean): an empty one
 * becomes "-", '|' becomes '/', control characters (C0, DEL, C1, U+2028,
 * U+2029) and bytes that are not UTF-8 become '?', and they are cut to
 * AUDIT_FIELD_MAX characters, so text that came from outside (an event id
 * in a subject) never makes the append fail; a NULL actor or subject, or an
 * action of the wrong form, is a bug and is refused.
 */
int audit_append_many(PGconn *conn, size_t n, const char *const *actors,
    const char *const *actions, const char *const *subjects,
    const char *const *details);

/*
 * Entries collected during a transaction and appended in one call just
 * before it commits (bus_consumer's before_commit hook), so a transaction
 * that touches many incidents makes one round trip for its journal.  The
 * batch copies what it is given.  Zero-initialise or audit_batch_init().
 */
struct audit_batch {
	size_t n, cap;
	/* Entry i: actor[i], action[i], subject[i], detail[i] (may be NULL),
	 * copies the batch owns. */
	char **actor, **action, **subject, **detail;
	int failed; /* an entry was lost (memory, a NULL field): the next
	             * flush refuses, so the journal never silently lacks it */
};

void audit_batch_init(struct audit_batch *b);
/* Add an entry (detail_json NULL: {}); 0, or -1 when memory ran out or
 * actor, action or subject is NULL (the entry is lost: see failed). */
int audit_batch_add(struct audit_batch *b, const char *actor,
    const char *action, const char *subject, const char *detail_json);
/* Append every entry (audit_append_many) and empty the batch, whatever
 * the outcome; 0 (also when empty) or -1 (also when an entry was lost). */
int audit_batch_flush(PGconn *conn, struct audit_batch *b);
/* Drop the entries without appending them (after a rollback). */
void audit_batch_clear(struct audit_batch *b);
/* Free the batch's memory; it is empty and reusable afterwards. */
void audit_batch_free(struct audit_batch *b);

/*
 * Copy an actor or subject into out (AUDIT_FIELD_SIZE bytes) as it will be
 * recorded (see audit_append_many).  Returns the bytes written, or -1 when
 * in is NULL (out is then "").
 */
int audit_field_clean(char out[AUDIT_FIELD_SIZE], const char *in);

/* 1 when action has the form the SQL accepts (incident.acknowledged:
 * [a-z][a-z_]* words joined by dots, at least two, AUDIT_ACTION_MAX bytes
 * at most), else 0. */
int audit_action_ok(const char *action);

/*
 * A PostgreSQL array literal of n strings ({"a","b\"c",NULL}: every item
 * quoted, '"' and '\' escaped, a NULL item SQL NULL; items NULL: n NULLs),
 * cleaned with audit_field_clean when clean is 1.  The caller frees it;
 * NULL when memory ran out or clean is 1 and an item is NULL.
 */
char *audit_pg_array(size_t n, const char *const *items, int clean);

/*
 * The hash of an entry: SHA-256 of prev (32 bytes) followed by the UTF-8
 * text "seq|at_us|actor|action|subject|detail_text", seq and at_us in
 * decimal, at_us the epoch microseconds of `at`, detail_text the stored
 * jsonb's text as PostgreSQL prints it (detail::text).  A NULL string
 * counts as empty.  The same computation as the SQL function's; it lives in
 * this header so safetyctl's verifier, built from its own folder, compiles
 * the very same code as alarmd.
 */
static inline void
audit_hash(const uint8_t prev[AUDIT_HASH_LEN], int64_t seq, int64_t at_us,
    const char *actor, const char *action, const char *subject,
    const char *detail_text, uint8_t out[AUDIT_HASH_LEN])
{
	const char *const fields[4] = {actor, action, subject, detail_text};
	struct sha256_ctx ctx;
	char num[48];
	int len;

	sha256_init(&ctx);
	sha256_update(&ctx, prev, AUDIT_HASH_LEN);
	len = snprintf(num, sizeof(num), "%" PRId64 "|%" PRId64, seq, at_us);
	sha256_update(&ctx, num, (size_t)len);
	for (size_t i = 0; i < 4; i++) {
		sha256_update(&ctx, "|", 1);
		if (fields[i] != NULL)
			sha256_update(&ctx, fields[i], strlen(fields[i]));
	}
	sha256_final(&ctx, out);
}

#endif

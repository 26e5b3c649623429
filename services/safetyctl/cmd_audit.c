/*
 * cmd_audit - `safetyctl audit verify|tail`: check and read the audit
 * journal (deploy/sql/0011_audit.sql).
 *
 *   audit verify [--from SEQ] [--anchor SEQ:HASH]
 *   audit tail [N]
 *
 * verify reads audit_log in seq order, a page at a time, in one
 * REPEATABLE READ snapshot (so entries appended meanwhile neither show up
 * half nor count as missing), and recomputes every entry's hash in C with
 * audit_hash() from services/alarmd/audit.h, the code alarmd is built
 * with, over the text PostgreSQL gives back (detail::text, the epoch
 * microseconds of `at`).  It checks, for each entry: seq follows the one
 * before (none missing), the hash matches the content, the content splits
 * one way only (no '|' in actor, action or subject), and prev_hash is the
 * hash of the entry before (32 zero bytes for seq 1).  The first entry
 * that fails is named and the exit status is 1; otherwise it prints
 *   audit: N entries, chain intact (last seq S, hash H)
 * and exits 0.
 *
 * The chain cannot show by itself that entries were cut from its end, nor
 * that the whole chain was rewritten from some entry on with new hashes:
 * the defence is to note the last seq and hash that verify prints
 * somewhere else and to pass them later as --anchor SEQ:HASH, which must
 * then still be in the journal, unchanged.  --from SEQ starts at SEQ,
 * linking it to the stored hash of SEQ - 1 (which it does not recompute).
 *
 * tail prints the last N entries (default 20), oldest first.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alarmd/audit.h"
#include "safetyctl.h"

/* Entries read per round trip. */
#define AUDIT_PAGE 2000
#define AUDIT_TAIL_DEFAULT 20
#define AUDIT_TAIL_MAX 100000

/* The columns verify reads, in this order. */
#define SQL_AUDIT_COLUMNS                                                      \
	"seq, (extract(epoch FROM at) * 1000000)::bigint, actor, action,"      \
	" subject, detail::text, encode(prev_hash, 'hex'),"                    \
	" encode(hash, 'hex')"

/* What the walk knows about the entry before the next one. */
struct walk {
	int64_t from;     /* the first seq asked for */
	int64_t expected; /* the seq the next entry must have */
	bool have_prev;   /* prev is the hash of entry expected - 1 */
	uint8_t prev[AUDIT_HASH_LEN];
	int64_t checked;    /* entries verified */
	int64_t anchor_seq; /* 0: no anchor */
	uint8_t anchor[AUDIT_HASH_LEN];
	bool anchor_seen;
};

static void
audit_help(void)
{
	printf("usage: safetyctl audit verify [--from SEQ] [--anchor "
	       "SEQ:HASH]\n"
	       "       safetyctl audit tail [N]\n"
	       "\n"
	       "verify  recompute the hash chain of the audit journal and "
	       "name the first\n"
	       "        entry edited, missing or re-linked (exit 1); else "
	       "print the number of\n"
	       "        entries and the last seq and hash (exit 0).  Keep "
	       "that seq and hash\n"
	       "        elsewhere and pass them later as --anchor SEQ:HASH: "
	       "the chain alone\n"
	       "        cannot show entries cut from its end.  --from SEQ "
	       "checks from SEQ on.\n"
	       "tail    print the last N entries (default %d), oldest "
	       "first.\n",
	    AUDIT_TAIL_DEFAULT);
}

/* A decimal in 1..max; 0, or -1 when s is not one. */
static int
parse_count(const char *s, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2 * AUDIT_HASH_LEN hex digits into out; 0 or -1. */
static int
hash_from_hex(const char *hex, uint8_t out[AUDIT_HASH_LEN])
{
	if (strlen(hex) != (size_t)2 * AUDIT_HASH_LEN)
		return -1;
	for (size_t i = 0; i < AUDIT_HASH_LEN; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* SEQ:HASH of --anchor; 0 or -1. */
static int
parse_anchor(const char *arg, struct walk *w)
{
	const char *colon = strchr(arg, ':');
	char seq[24];

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(seq))
		return -1;
	memcpy(seq, arg, (size_t)(colon - arg));
	seq[colon - arg] = '\0';
	if (parse_count(seq, INT64_MAX, &w->anchor_seq) < 0 ||
	    hash_from_hex(colon + 1, w->anchor) < 0)
		return -1;
	return 0;
}

static void broken(const struct walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print the verdict on a bad entry, and how far the chain was good. */
static void
broken(const struct walk *w, const char *fmt, ...)
{
	va_list ap;

	printf("audit: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\naudit: %" PRId64 " entr%s before it verified intact\n",
	    w->checked, w->checked == 1 ? "y" : "ies");
}

/* "seq 41 missing" or "seq 41 to 43 missing". */
static void
report_gap(const struct walk *w, int64_t first, int64_t last, const char *why)
{
	if (first == last)
		broken(w, "seq %" PRId64 " missing%s", first, why);
	else
		broken(w, "seq %" PRId64 " to %" PRId64 " missing%s", first,
		    last, why);
}

/*
 * Check one entry (row r of a page) against what came before; 0 when it
 * is good (the walk moves past it), -1 after naming what is wrong.
 */
static int
check_entry(struct walk *w, const PGresult *res, int r)
{
	static const uint8_t zero[AUDIT_HASH_LEN];
	int64_t seq = strtoll(PQgetvalue(res, r, 0), NULL, 10);
	int64_t at_us = strtoll(PQgetvalue(res, r, 1), NULL, 10);
	const char *actor = PQgetvalue(res, r, 2);
	const char *action = PQgetvalue(res, r, 3);
	const char *subject = PQgetvalue(res, r, 4);
	const char *detail = PQgetvalue(res, r, 5);
	uint8_t prev[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
	uint8_t want[AUDIT_HASH_LEN];

	if (seq > w->expected) {
		report_gap(w, w->expected, seq - 1, "");
		return -1;
	}
	if (hash_from_hex(PQgetvalue(res, r, 7), hash) < 0) {
		broken(w, "seq %" PRId64 ": hash is not %d bytes — edited", seq,
		    AUDIT_HASH_LEN);
		return -1;
	}
	if (hash_from_hex(PQgetvalue(res, r, 6), prev) < 0) {
		broken(w, "seq %" PRId64 ": prev_hash is not %d bytes — edited",
		    seq, AUDIT_HASH_LEN);
		return -1;
	}
	audit_hash(prev, seq, at_us, actor, action, subject, detail, want);
	if (memcmp(want, hash, AUDIT_HASH_LEN) != 0) {
		broken(w,
		    "seq %" PRId64 ": hash does not match its content — "
		    "edited",
		    seq);
		return -1;
	}
	/* With a '|' inside a field, the same text (so the same hash)
	 * could be read as another entry. */
	if (actor[0] == '\0' || action[0] == '\0' || subject[0] == '\0' ||
	    strchr(actor, '|') || strchr(action, '|') || strchr(subject, '|')) {
		broken(w,
		    "seq %" PRId64 ": its actor, action or subject is "
		    "empty or holds '|', which audit_append never "
		    "stores — edited",
		    seq);
		return -1;
	}
	if (seq == 1 && memcmp(prev, zero, AUDIT_HASH_LEN) != 0) {
		broken(w, "seq 1: prev_hash is not %d zero bytes — edited",
		    AUDIT_HASH_LEN);
		return -1;
	}
	if (seq > 1 && w->have_prev &&
	    memcmp(prev, w->prev, AUDIT_HASH_LEN) != 0) {
		broken(w,
		    "seq %" PRId64 ": prev_hash does not match seq %" PRId64,
		    seq, seq - 1);
		return -1;
	}
	if (seq == w->anchor_seq) {
		if (memcmp(hash, w->anchor, AUDIT_HASH_LEN) != 0) {
			broken(w,
			    "seq %" PRId64 ": hash differs from the "
			    "anchor given — the chain was rewritten up "
			    "to here",
			    seq);
			return -1;
		}
		w->anchor_seen = true;
	}
	memcpy(w->prev, hash, AUDIT_HASH_LEN);
	w->have_prev = true;
	w->expected = seq + 1;
	w->checked++;
	return 0;
}

/* Roll back the read-only snapshot and close. */
static int
verify_done(struct store *st, int rc)
{
	store_rollback(st, NULL);
	store_close(st);
	return rc;
}

static int
verify_fail(struct store *st, const struct store_err *err)
{
	ctl_error("audit", "%s", err->msg);
	return verify_done(st, CTL_FAIL);
}

/*
 * Before the walk from w->from > 1: the stored hash of entry from - 1,
 * which the first entry must link to.  0 found, 1 there is none, -1 with
 * *err.
 */
static int
verify_link_before(struct store *st, struct walk *w, struct store_err *err)
{
	char seq[24];
	const char *vals[1] = {seq};
	PGresult *res = NULL;
	int rc = 1;

	snprintf(seq, sizeof(seq), "%" PRId64, w->from - 1);
	if (store_exec(st,
	        "SELECT encode(hash, 'hex') FROM audit_log WHERE seq = $1", 1,
	        vals, &res, err) < 0)
		return -1;
	if (PQntuples(res) == 1 &&
	    hash_from_hex(PQgetvalue(res, 0, 0), w->prev) == 0) {
		w->have_prev = true;
		rc = 0;
	} else if (PQntuples(res) == 1) {
		rc = 0; /* malformed: the first entry's link is not checked */
	}
	PQclear(res);
	return rc;
}

/* The last seq in the journal (0 when empty); -1 with *err. */
static int
last_seq(struct store *st, int64_t *out, struct store_err *err)
{
	PGresult *res = NULL;

	if (store_exec(st, "SELECT coalesce(max(seq), 0) FROM audit_log", 0,
	        NULL, &res, err) < 0)
		return -1;
	*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int
audit_verify(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"anchor", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct walk w = {.from = 1};
	char page[16], next[24], hex[SHA256_HEX_LEN];
	const char *vals[2] = {next, page};
	struct store_err err;
	struct store *st;
	int c, before = 0;

	while ((c = getopt_long(argc, argv, "hf:a:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			audit_help();
			return CTL_OK;
		case 'f':
			if (parse_count(optarg, INT64_MAX - 1, &w.from) < 0) {
				ctl_error("audit",
				    "--from \"%s\": want a seq, 1 or more",
				    optarg);
				return CTL_USAGE;
			}
			break;
		case 'a':
			if (parse_anchor(optarg, &w) < 0) {
				ctl_error("audit",
				    "--anchor \"%s\": want SEQ:HASH, the seq "
				    "and the 64 hex digits verify printed",
				    optarg);
				return CTL_USAGE;
			}
			break;
		default:
			return ctl_usage("audit");
		}
	}
	if (optind < argc) {
		ctl_error("audit", "unexpected argument \"%s\"", argv[optind]);
		return ctl_usage("audit");
	}
	if (w.anchor_seq != 0 && w.anchor_seq < w.from) {
		ctl_error("audit",
		    "--anchor names seq %" PRId64 ", before --from %" PRId64,
		    w.anchor_seq, w.from);
		return CTL_USAGE;
	}
	w.expected = w.from;
	if ((st = ctl_store_open(ctl, "audit")) == NULL)
		return CTL_FAIL;
	if (store_begin(st, &err) < 0 ||
	    store_exec(st,
	        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0,
	        NULL, NULL, &err) < 0)
		return verify_fail(st, &err);
	if (w.from > 1 && (before = verify_link_before(st, &w, &err)) < 0)
		return verify_fail(st, &err);
	snprintf(page, sizeof(page), "%d", AUDIT_PAGE);
	for (;;) {
		PGresult *res = NULL;
		int n;

		snprintf(next, sizeof(next), "%" PRId64, w.expected);
		if (store_exec(st,
		        "SELECT " SQL_AUDIT_COLUMNS " FROM audit_log"
		        " WHERE seq >= $1 ORDER BY seq LIMIT $2",
		        2, vals, &res, &err) < 0)
			return verify_fail(st, &err);
		n = PQntuples(res);
		if (n > 0 && w.checked == 0 && before == 1) {
			/* Entries from --from on, but not the one before. */
			PQclear(res);
			report_gap(&w, w.from - 1, w.from - 1,
			    " (the entry before --from)");
			return verify_done(st, CTL_FAIL);
		}
		for (int r = 0; r < n; r++) {
			if (check_entry(&w, res, r) < 0) {
				PQclear(res);
				return verify_done(st, CTL_FAIL);
			}
		}
		PQclear(res);
		if (n < AUDIT_PAGE)
			break;
	}
	if (w.anchor_seq != 0 && !w.anchor_seen) {
		report_gap(&w, w.expected, w.anchor_seq,
		    " (the anchor names a later seq: entries were cut from "
		    "the end)");
		return verify_done(st, CTL_FAIL);
	}
	if (w.checked == 0 && w.from > 1) {
		int64_t last;

		if (last_seq(st, &last, &err) < 0)
			return verify_fail(st, &err);
		printf("audit: no entries from seq %" PRId64
		       " (the journal ends at seq %" PRId64 ")\n",
		    w.from, last);
		return verify_done(st, last == w.from - 1 ? CTL_OK : CTL_FAIL);
	}
	if (w.checked == 0) {
		printf("audit: 0 entries, chain intact (empty journal)\n");
		return verify_done(st, CTL_OK);
	}
	sha256_hex(w.prev, hex);
	if (w.from > 1)
		printf("audit: %" PRId64 " entries from seq %" PRId64
		       ", chain intact (last seq %" PRId64 ", hash %s)\n",
		    w.checked, w.from, w.expected - 1, hex);
	else
		printf("audit: %" PRId64 " entries, chain intact (last seq "
		       "%" PRId64 ", hash %s)\n",
		    w.checked, w.expected - 1, hex);
	return verify_done(st, CTL_OK);
}

static int
audit_tail(struct ctl *ctl, int argc, char **argv)
{
	static const char *const titles[] = {
	    "SEQ", "AT", "ACTOR", "ACTION", "SUBJECT", "DETAIL"};
	int64_t count = AUDIT_TAIL_DEFAULT;
	char nbuf[24];
	const char *vals[1] = {nbuf};
	struct store_err err;
	PGresult *res = NULL;
	struct store *st;

	if (argc > 1 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		audit_help();
		return CTL_OK;
	}
	if (argc > 2) {
		ctl_error("audit", "tail takes at most one N");
		return ctl_usage("audit");
	}
	if (argc == 2 && parse_count(argv[1], AUDIT_TAIL_MAX, &count) < 0) {
		ctl_error("audit", "tail \"%s\": want a count of 1 to %d",
		    argv[1], AUDIT_TAIL_MAX);
		return CTL_USAGE;
	}
	snprintf(nbuf, sizeof(nbuf), "%" PRId64, count);
	if ((st = ctl_store_open(ctl, "audit")) == NULL)
		return CTL_FAIL;
	if (store_exec(st,
	        "SELECT seq, to_char(at, "
	        "'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'),"
	        " actor, action, subject, detail::text FROM ("
	        "SELECT * FROM audit_log ORDER BY seq DESC LIMIT $1) l"
	        " ORDER BY seq",
	        1, vals, &res, &err) < 0) {
		ctl_error("audit", "%s", err.msg);
		store_close(st);
		return CTL_FAIL;
	}
	if (PQntuples(res) == 0) {
		printf("the audit journal is empty\n");
	} else {
		ctl_table_print(stdout, res, titles, 6);
	}
	PQclear(res);
	store_close(st);
	return CTL_OK;
}

int
cmd_audit(struct ctl *ctl, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	/* main.c reset getopt; the subcommand's vector starts at its name. */
	if (strcmp(sub, "verify") == 0)
		return audit_verify(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "tail") == 0)
		return audit_tail(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 ||
	    strcmp(sub, "help") == 0) {
		audit_help();
		return CTL_OK;
	}
	if (sub[0] == '\0')
		ctl_error("audit", "which: verify or tail?");
	else
		ctl_error(
		    "audit", "unknown subcommand \"%s\" (verify, tail)", sub);
	return ctl_usage("audit");
}

/*
 * cmd_token - `safetyctl token create|list|revoke`: the credentials of the
 * feed sources.
 *
 *   token create --source NAME --sectors LIST --districts LIST
 *                [--description TEXT]
 *   token list [--source NAME]
 *   token revoke PREFIX|ID|TOKEN
 *
 * A source is a sector system allowed to write to ingestd; its scope (the
 * sectors and districts it may write for) lives on its row in `sources`,
 * so it holds for all its tokens.  create checks every code against the
 * reference tables (an unknown one is refused by name, with the codes that
 * exist), inserts or updates the source with that scope, and makes a token
 * with ids_token_new() -- all in one transaction.  The store keeps only the
 * token's SHA-256 (ids_token_hash(), what ingestd looks up) and its first
 * TOKEN_SHOWN_PREFIX characters, which name it in lists, logs and revoke;
 * the token itself is printed once, on a line of its own starting "aq_",
 * and is gone when the command ends.  "*" as a list means every sector or
 * every district (NULL in the table), now and added later.
 *
 * revoke takes the id or the prefix that list shows, or the token itself
 * (found by its hash); revoking twice is harmless and says so.  All SQL is
 * parameterised; lists travel as one comma-separated text parameter that
 * the server splits with string_to_array().
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "safetyctl.h"
#include "sha256.h"

/* "aq_" and 9 characters (45 random bits): enough to tell tokens apart. */
#define TOKEN_SHOWN_PREFIX 12
#define TOKEN_LIST_MAX 4096
#define TOKEN_DESCRIPTION_MAX 500

/* A timestamptz as RFC 3339 in the session's zone (Asia/Shanghai). */
#define SQL_RFC3339(col) "to_char(" col ", 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"

/* Revoke the tokens that cond selects (locked first, so that the answer
 * says whether this call revoked them or an earlier one did). */
#define SQL_REVOKE(cond)                                                       \
	"WITH hit AS (SELECT id, revoked_at FROM tokens WHERE " cond           \
	" FOR UPDATE)"                                                         \
	" UPDATE tokens t SET revoked_at = coalesce(t.revoked_at, now())"      \
	" FROM hit WHERE t.id = hit.id"                                        \
	" RETURNING t.id, t.prefix, t.source,"                                 \
	" hit.revoked_at IS NULL, " SQL_RFC3339("t.revoked_at")

/* The codes a token may write for, as given on the command line. */
struct scope_list {
	const char *what;  /* "sector", "district" */
	const char *table; /* for messages only: the SQL names it itself */
	const char *arg;   /* "gas,hazchem" or "*" */
	char joined[TOKEN_LIST_MAX]; /* normalised: no blanks, no repeats */
	bool all;
};

/* Check a comma list and normalise it; -1 after saying what is wrong. */
static int
scope_parse(struct scope_list *l)
{
	char copy[TOKEN_LIST_MAX], *save = NULL;
	size_t used = 0;

	l->joined[0] = '\0';
	l->all = strcmp(l->arg, "*") == 0;
	if (l->all)
		return 0;
	if (strlen(l->arg) >= sizeof(copy)) {
		ctl_error("token", "the %s list is too long", l->what);
		return -1;
	}
	snprintf(copy, sizeof(copy), "%s", l->arg);
	if (copy[0] == '\0' || copy[0] == ',' ||
	    copy[strlen(copy) - 1] == ',' || strstr(copy, ",,") != NULL) {
		ctl_error("token",
		    "the %s list \"%s\" has an empty item: give codes "
		    "separated by commas, or \"*\" for all",
		    l->what, l->arg);
		return -1;
	}
	for (char *c = strtok_r(copy, ",", &save); c != NULL;
	     c = strtok_r(NULL, ",", &save)) {
		char padded[TOKEN_LIST_MAX + 2];

		if (strcmp(c, "*") == 0 || strpbrk(c, " \t") != NULL) {
			ctl_error("token",
			    "%s \"%s\": a list holds codes without blanks; "
			    "\"*\" stands alone for all",
			    l->what, c);
			return -1;
		}
		/* Repeats are dropped, so the stored array stays tidy. */
		snprintf(padded, sizeof(padded), ",%s,", c);
		if (used > 0) {
			char within[TOKEN_LIST_MAX + 2];

			snprintf(within, sizeof(within), ",%s,", l->joined);
			if (strstr(within, padded) != NULL)
				continue;
		}
		used += (size_t)snprintf(l->joined + used,
		    sizeof(l->joined) - used, "%s%s", used ? "," : "", c);
	}
	return 0;
}

/* Every code of the list must be in its table: 0 when they are, -1 after
 * naming those that are not (and the codes there are), -2 with *err set
 * when the store failed. */
static int
scope_check(struct store *st, const struct scope_list *l, struct store_err *err)
{
	static const char *const sql_unknown[] = {
	    "SELECT string_agg(c, ', ' ORDER BY i)"
	    " FROM unnest(string_to_array($1, ',')) WITH ORDINALITY AS u(c, i)"
	    " WHERE c NOT IN (SELECT code FROM sectors)",
	    "SELECT string_agg(c, ', ' ORDER BY i)"
	    " FROM unnest(string_to_array($1, ',')) WITH ORDINALITY AS u(c, i)"
	    " WHERE c NOT IN (SELECT code FROM districts)",
	};
	static const char *const sql_known[] = {
	    "SELECT string_agg(code, ' ' ORDER BY code) FROM sectors",
	    "SELECT string_agg(code, ' ' ORDER BY code) FROM districts",
	};
	int which = strcmp(l->table, "sectors") == 0 ? 0 : 1;
	const char *vals[1] = {l->joined};
	PGresult *res = NULL, *known = NULL;
	int rc = 0;

	if (l->all)
		return 0;
	if (store_exec(st, sql_unknown[which], 1, vals, &res, err) < 0)
		return -2;
	if (!PQgetisnull(res, 0, 0)) {
		const char *bad = PQgetvalue(res, 0, 0);

		if (store_exec(st, sql_known[which], 0, NULL, &known, err) <
		    0) {
			PQclear(res);
			return -2;
		}
		ctl_error("token",
		    "unknown %s code%s: %s (the %s table has: %s)", l->what,
		    strchr(bad, ',') ? "s" : "", bad, l->table,
		    PQgetisnull(known, 0, 0) ? "nothing"
		                             : PQgetvalue(known, 0, 0));
		PQclear(known);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static bool
source_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static void
hex_encode(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Roll back, and say why unless the reason was already printed. */
static int
token_fail(struct store *st, const struct store_err *err, int rc)
{
	if (rc == -2 || err->kind != STORE_OK)
		ctl_error("token", "%s", err->msg);
	store_rollback(st, NULL);
	store_close(st);
	return CTL_FAIL;
}

static void
token_help(void)
{
	printf("usage: safetyctl token create --source NAME --sectors LIST "
	       "--districts LIST\n"
	       "                              [--description TEXT]\n"
	       "       safetyctl token list [--source NAME]\n"
	       "       safetyctl token revoke PREFIX|ID|TOKEN\n"
	       "\n"
	       "create  add or update the source NAME with the scope given (it "
	       "holds for all of\n"
	       "        its tokens) and make a token for it.  LIST is "
	       "comma-separated codes of\n"
	       "        the sectors / districts tables, or \"*\" for all, "
	       "including ones added\n"
	       "        later.  The token is printed once; only its SHA-256 is "
	       "kept.\n"
	       "list    every token: id, prefix, source, scope, created, "
	       "revoked.\n"
	       "revoke  refuse a token from now on, named by its id or prefix "
	       "(as list shows)\n"
	       "        or by the token itself.\n");
}

static int
token_create(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"source", required_argument, NULL, 's'},
	    {"sectors", required_argument, NULL, 'S'},
	    {"districts", required_argument, NULL, 'D'},
	    {"description", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct scope_list sectors = {"sector", "sectors", NULL, "", false};
	struct scope_list districts = {
	    "district", "districts", NULL, "", false};
	const char *source = NULL, *description = NULL, *vals[5];
	char token[IDS_TOKEN_SIZE], prefix[TOKEN_SHOWN_PREFIX + 1];
	char hash_hex[2 * SHA256_DIGEST_LEN + 1];
	uint8_t hash[SHA256_DIGEST_LEN];
	struct store_err err;
	PGresult *src = NULL, *tok = NULL;
	struct store *st;
	int c, rc;

	while (
	    (c = getopt_long(argc, argv, "hs:S:D:d:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			token_help();
			return CTL_OK;
		case 's':
			source = optarg;
			break;
		case 'S':
			sectors.arg = optarg;
			break;
		case 'D':
			districts.arg = optarg;
			break;
		case 'd':
			description = optarg;
			break;
		default:
			return ctl_usage("token");
		}
	}
	if (optind < argc || source == NULL || sectors.arg == NULL ||
	    districts.arg == NULL) {
		ctl_error("token", "create needs --source, --sectors and "
		                   "--districts (\"*\" for all)");
		return ctl_usage("token");
	}
	if (!source_name_ok(source)) {
		ctl_error("token",
		    "source name \"%s\": 1 to 64 characters of a-z, 0-9, "
		    "'_', '.' and '-', starting with a letter or digit",
		    source);
		return CTL_USAGE;
	}
	if (description != NULL &&
	    strlen(description) > TOKEN_DESCRIPTION_MAX) {
		ctl_error("token", "--description is longer than %d bytes",
		    TOKEN_DESCRIPTION_MAX);
		return CTL_USAGE;
	}
	if (scope_parse(&sectors) < 0 || scope_parse(&districts) < 0)
		return CTL_USAGE;
	if ((st = ctl_store_open(ctl, "token")) == NULL)
		return CTL_FAIL;
	store_err_clear(&err);
	if (store_begin(st, &err) < 0)
		return token_fail(st, &err, -2);
	if ((rc = scope_check(st, &sectors, &err)) < 0 ||
	    (rc = scope_check(st, &districts, &err)) < 0)
		return token_fail(st, &err, rc);
	vals[0] = source;
	vals[1] = description;
	vals[2] = sectors.all ? NULL : sectors.joined;
	vals[3] = districts.all ? NULL : districts.joined;
	if (store_exec(st,
	        "INSERT INTO sources AS s (name, description, sectors,"
	        " districts) VALUES ($1, coalesce($2, ''),"
	        " string_to_array($3, ','), string_to_array($4, ','))"
	        " ON CONFLICT (name) DO UPDATE SET sectors = EXCLUDED.sectors,"
	        " districts = EXCLUDED.districts,"
	        " description = coalesce($2, s.description)"
	        " RETURNING xmax = 0, disabled_at IS NOT NULL",
	        4, vals, &src, &err) < 0)
		return token_fail(st, &err, -2);
	if (ids_token_new(token) < 0) {
		PQclear(src);
		ctl_error("token", "the kernel gave no random bytes");
		return token_fail(st, &err, -1);
	}
	ids_token_hash(token, hash);
	hex_encode(hash, sizeof(hash), hash_hex);
	memcpy(prefix, token, TOKEN_SHOWN_PREFIX);
	prefix[TOKEN_SHOWN_PREFIX] = '\0';
	vals[0] = source;
	vals[1] = hash_hex;
	vals[2] = prefix;
	if (store_exec(st,
	        "INSERT INTO tokens (source, token_hash, prefix)"
	        " VALUES ($1, decode($2, 'hex'), $3) RETURNING id",
	        3, vals, &tok, &err) < 0 ||
	    store_commit(st, &err) < 0) {
		PQclear(src);
		PQclear(tok);
		explicit_bzero(token, sizeof(token));
		return token_fail(st, &err, -2);
	}
	printf("source %s %s: sectors %s; districts %s\n", source,
	    strcmp(PQgetvalue(src, 0, 0), "t") == 0 ? "created" : "updated",
	    sectors.all ? "* (all)" : sectors.joined,
	    districts.all ? "* (all)" : districts.joined);
	if (strcmp(PQgetvalue(src, 0, 1), "t") == 0)
		printf("note: source %s is disabled: its tokens are refused "
		       "until it is enabled again\n",
		    source);
	printf("token %s (prefix %s) created for source %s:\n%s\n"
	       "This token is shown only now and cannot be shown again: the "
	       "platform keeps only its SHA-256.\n"
	       "Hand it to the source's system now; if it is lost, create "
	       "another and revoke this one.\n",
	    PQgetvalue(tok, 0, 0), prefix, source, token);
	fflush(stdout);
	explicit_bzero(token, sizeof(token));
	PQclear(src);
	PQclear(tok);
	store_close(st);
	return CTL_OK;
}

static int
token_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"source", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const titles[] = {"ID", "PREFIX", "SOURCE",
	    "SECTORS", "DISTRICTS", "CREATED", "REVOKED"};
	const char *vals[1] = {NULL};
	struct store_err err;
	PGresult *res = NULL;
	struct store *st;
	int c;

	while ((c = getopt_long(argc, argv, "hs:", longopts, NULL)) != -1) {
		if (c == 'h') {
			token_help();
			return CTL_OK;
		}
		if (c != 's')
			return ctl_usage("token");
		vals[0] = optarg;
	}
	if (optind < argc) {
		ctl_error("token", "unexpected argument \"%s\"", argv[optind]);
		return ctl_usage("token");
	}
	if ((st = ctl_store_open(ctl, "token")) == NULL)
		return CTL_FAIL;
	if (store_exec(st,
	        "SELECT t.id, t.prefix, t.source,"
	        " CASE WHEN s.sectors IS NULL THEN '*'"
	        "  WHEN cardinality(s.sectors) = 0 THEN '(none)'"
	        "  ELSE array_to_string(s.sectors, ',') END,"
	        " CASE WHEN s.districts IS NULL THEN '*'"
	        "  WHEN cardinality(s.districts) = 0 THEN '(none)'"
	        "  ELSE array_to_string(s.districts, ',') END,"
	        " " SQL_RFC3339(
	            "t.created_at") ","
	                            " coalesce(" SQL_RFC3339(
	                                "t.revoked_at") ","
	                                                "  CASE WHEN "
	                                                "s.disabled_at IS NULL "
	                                                "THEN '-'"
	                                                "  ELSE '(source "
	                                                "disabled)' END)"
	                                                " FROM tokens t JOIN "
	                                                "sources s ON s.name = "
	                                                "t.source"
	                                                " WHERE $1::text IS "
	                                                "NULL OR t.source = $1 "
	                                                "ORDER BY t.id",
	        1, vals, &res, &err) < 0) {
		ctl_error("token", "%s", err.msg);
		store_close(st);
		return CTL_FAIL;
	}
	if (PQntuples(res) == 0 && vals[0] != NULL) {
		printf("no tokens for source %s\n", vals[0]);
	} else if (PQntuples(res) == 0) {
		printf("no tokens\n");
	} else {
		ctl_table_print(stdout, res, titles, 7);
	}
	PQclear(res);
	store_close(st);
	return CTL_OK;
}

static int
token_revoke(struct ctl *ctl, int argc, char **argv)
{
	const char *arg, *vals[1], *sql;
	char hash_hex[2 * SHA256_DIGEST_LEN + 1], missing[160];
	uint8_t hash[SHA256_DIGEST_LEN];
	struct store_err err;
	PGresult *res = NULL;
	struct store *st;
	int rc = CTL_FAIL;

	if (argc != 2 || argv[1][0] == '-') {
		ctl_error("token", "revoke takes one PREFIX, ID or token");
		return ctl_usage("token");
	}
	arg = argv[1];
	if (arg[0] != '\0' && strspn(arg, "0123456789") == strlen(arg)) {
		if (strlen(arg) > 18) {
			ctl_error("token", "no token with id %s", arg);
			return CTL_FAIL;
		}
		sql = SQL_REVOKE("id = $1::bigint");
		snprintf(missing, sizeof(missing), "no token with id %s", arg);
		vals[0] = arg;
	} else if (ids_token_format_ok(arg)) {
		ids_token_hash(arg, hash);
		hex_encode(hash, sizeof(hash), hash_hex);
		sql = SQL_REVOKE("token_hash = decode($1, 'hex')");
		snprintf(missing, sizeof(missing),
		    "no token matches the token given");
		vals[0] = hash_hex;
	} else {
		sql = SQL_REVOKE("prefix = $1");
		snprintf(missing, sizeof(missing),
		    "no token with prefix \"%.64s\" (safetyctl token list "
		    "shows "
		    "them)",
		    arg);
		vals[0] = arg;
	}
	if ((st = ctl_store_open(ctl, "token")) == NULL)
		return CTL_FAIL;
	if (store_begin(st, &err) < 0 ||
	    store_exec(st, sql, 1, vals, &res, &err) < 0)
		return token_fail(st, &err, -2);
	if (PQntuples(res) == 0) {
		ctl_error("token", "%s", missing);
	} else if (PQntuples(res) > 1) {
		ctl_error("token",
		    "%d tokens have prefix \"%s\": revoke them by id "
		    "(safetyctl "
		    "token list)",
		    PQntuples(res), arg);
	} else if (store_commit(st, &err) < 0) {
		PQclear(res);
		return token_fail(st, &err, -2);
	} else {
		if (strcmp(PQgetvalue(res, 0, 3), "t") == 0)
			printf("revoked token %s (%s) of source %s\n",
			    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
			    PQgetvalue(res, 0, 2));
		else
			printf("token %s (%s) of source %s was already revoked "
			       "at %s\n",
			    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
			    PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 4));
		rc = CTL_OK;
	}
	PQclear(res);
	if (rc != CTL_OK)
		store_rollback(st, NULL);
	store_close(st);
	return rc;
}

int
cmd_token(struct ctl *ctl, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	/* main.c reset getopt; the subcommand's vector starts at its name. */
	if (strcmp(sub, "create") == 0)
		return token_create(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return token_list(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "revoke") == 0)
		return token_revoke(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 ||
	    strcmp(sub, "help") == 0) {
		token_help();
		return CTL_OK;
	}
	if (sub[0] == '\0')
		ctl_error("token", "which: create, list or revoke?");
	else
		ctl_error("token",
		    "unknown subcommand \"%s\" (create, list, "
		    "revoke)",
		    sub);
	return ctl_usage("token");
}

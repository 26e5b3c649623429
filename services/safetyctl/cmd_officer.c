/*
 * cmd_officer - `safetyctl officer create|list|revoke`: the duty officers'
 * console tokens.
 *
 *   officer create --id ID --name NAME
 *   officer list [--id ID]
 *   officer revoke PREFIX|TOKEN
 *
 * A duty officer signs in to alarmd's console with a bearer token of the
 * same form as a feed source's (common/ids.h ids_token_new: "aq_" and 40
 * base32 characters).  The store keeps only its SHA-256 (ids_token_hash,
 * what alarmd's officers.c looks up) in officer_tokens (0010_alarmd.sql),
 * with the 8 characters after "aq_" as the prefix that names it in lists
 * and in revoke; the token is printed once and is gone when the command
 * ends.  ID is the officer's id as the duty rosters carry it (it is what
 * the audit journal and the incidents record as who acknowledged), NAME
 * the name the console shows.  An officer may hold several tokens.  list
 * pads its columns by terminal columns (ctl_table.c), not bytes, so that
 * Chinese names keep the columns after them in line.
 *
 * create and revoke each append their audit entry (officer.token_created,
 * officer.token_revoked; subject officer:<id>, actor safetyctl:<os user>)
 * with the SQL function audit_append() in the same transaction as the
 * change.  Revoking twice is harmless, says so, and journals nothing the
 * second time.  alarmd trusts a token it checked for up to a minute
 * (OFFICERS_CACHE_S), so a revocation is complete within that time.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ids.h"
#include "json.h"
#include "safetyctl.h"
#include "sha256.h"

/* Characters of the prefix, after "aq_" (alarmd's OFFICERS_PREFIX_LEN). */
#define OFFICER_PREFIX_LEN 8
/* alarmd holds id and name in 64-byte fields (struct officer). */
#define OFFICER_FIELD_MAX 63
/* What alarmd's cache allows a revoked token (OFFICERS_CACHE_S). */
#define OFFICER_CACHE_S 60

/* A timestamptz as RFC 3339 in the session's zone (Asia/Shanghai). */
#define SQL_RFC3339(col) "to_char(" col ", 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"

/* The audit entry of a change to officer_tokens: $1 actor, $2 action,
 * $3 officer id, $4 name, $5 prefix. */
#define SQL_OFFICER_AUDIT                                                      \
	"SELECT audit_append(ARRAY[$1::text], ARRAY[$2::text],"                \
	" ARRAY['officer:' || $3::text], ARRAY[jsonb_build_object("            \
	"'officer', $3::text, 'name', $4::text, 'prefix', $5::text)])"

/* Revoke the token that cond selects, locked first so that the answer
 * says whether this call revoked it or an earlier one did. */
#define SQL_REVOKE(cond)                                                       \
	"WITH hit AS (SELECT prefix, revoked_at FROM officer_tokens "          \
	"WHERE " cond " FOR UPDATE)"                                           \
	" UPDATE officer_tokens t"                                             \
	" SET revoked_at = coalesce(t.revoked_at, now())"                      \
	" FROM hit WHERE t.prefix = hit.prefix"                                \
	" RETURNING t.prefix, t.officer, t.name, hit.revoked_at IS "           \
	"NULL, " SQL_RFC3339("t.revoked_at")

static void
officer_help(void)
{
	printf("usage: safetyctl officer create --id ID --name NAME\n"
	       "       safetyctl officer list [--id ID]\n"
	       "       safetyctl officer revoke PREFIX|TOKEN\n"
	       "\n"
	       "create  make a console token for the duty officer ID (as "
	       "the duty rosters\n"
	       "        name them), shown by the console as NAME.  The token "
	       "is printed once;\n"
	       "        only its SHA-256 is kept.  Journaled as "
	       "officer.token_created.\n"
	       "list    every officer token: prefix, officer, name, "
	       "created, revoked.\n"
	       "revoke  refuse a token from now on (alarmd within %d s), "
	       "named by its prefix\n"
	       "        (as list shows) or by the token itself.  Journaled "
	       "as officer.token_revoked.\n",
	    OFFICER_CACHE_S);
}

/* An officer id: 1..63 bytes of letters, digits and "_.:@-", starting
 * with a letter or digit (roster ids such as 370102-O01). */
static bool
officer_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > OFFICER_FIELD_MAX || strchr("_.:@-", s[0]) != NULL)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789_.:@-") == n;
}

/* A name: 1..63 bytes of UTF-8 without control characters, not blank. */
static bool
officer_name_ok(const char *s)
{
	size_t n = strlen(s);
	bool visible = false;

	if (n == 0 || n > OFFICER_FIELD_MAX || !json_utf8_valid(s, n, NULL))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p != ' ')
			visible = true;
	}
	return visible;
}

/* "safetyctl:<login>" of whoever runs the command, for the journal. */
static void
actor_name(char *out, size_t size)
{
	const struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL && pw->pw_name[0] != '\0' &&
	    strcspn(pw->pw_name, "|\t\n\r") == strlen(pw->pw_name) &&
	    strlen(pw->pw_name) < 64)
		snprintf(out, size, "safetyctl:%s", pw->pw_name);
	else
		snprintf(out, size, "safetyctl:uid%u", (unsigned)geteuid());
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

/* Roll back, say why (when err holds a reason) and close. */
static int
officer_fail(struct store *st, const struct store_err *err)
{
	if (err != NULL && err->kind != STORE_OK)
		ctl_error("officer", "%s", err->msg);
	store_rollback(st, NULL);
	store_close(st);
	return CTL_FAIL;
}

/*
 * Insert a new token for the officer; 0 with token and prefix filled, -1
 * with *err.  A prefix already taken (1 in 2^40 per token held) only
 * means another draw.
 */
static int
token_insert(struct store *st, const char *id, const char *name,
    char token[IDS_TOKEN_SIZE], char prefix[OFFICER_PREFIX_LEN + 1],
    struct store_err *err)
{
	char hash_hex[2 * SHA256_DIGEST_LEN + 1];
	uint8_t hash[SHA256_DIGEST_LEN];
	const char *vals[4] = {prefix, hash_hex, id, name};

	for (int attempt = 0; attempt < 5; attempt++) {
		PGresult *res = NULL;
		int inserted;

		if (ids_token_new(token) < 0) {
			store_err_set(err, STORE_ERR_SQL, "58000",
			    "the kernel gave no random bytes for the token");
			return -1;
		}
		ids_token_hash(token, hash);
		hex_encode(hash, sizeof(hash), hash_hex);
		memcpy(prefix, token + strlen(IDS_TOKEN_PREFIX),
		    OFFICER_PREFIX_LEN);
		prefix[OFFICER_PREFIX_LEN] = '\0';
		if (store_exec(st,
		        "INSERT INTO officer_tokens (prefix, hash, officer, "
		        "name)"
		        " VALUES ($1, decode($2, 'hex'), $3, $4)"
		        " ON CONFLICT DO NOTHING RETURNING 1",
		        4, vals, &res, err) < 0) {
			explicit_bzero(token, IDS_TOKEN_SIZE);
			return -1;
		}
		inserted = PQntuples(res);
		PQclear(res);
		if (inserted == 1)
			return 0;
	}
	explicit_bzero(token, IDS_TOKEN_SIZE);
	store_err_set(err, STORE_ERR_SQL, "23505",
	    "five new tokens in a row had a prefix already in use: is "
	    "officer_tokens sane?");
	return -1;
}

static int
officer_create(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"name", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *id = NULL, *name = NULL, *vals[5];
	char token[IDS_TOKEN_SIZE], prefix[OFFICER_PREFIX_LEN + 1];
	char actor[96];
	struct store_err err;
	PGresult *roster = NULL;
	struct store *st;
	bool on_roster;
	int c;

	while ((c = getopt_long(argc, argv, "hi:n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			officer_help();
			return CTL_OK;
		case 'i':
			id = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		default:
			return ctl_usage("officer");
		}
	}
	if (optind < argc || id == NULL || name == NULL) {
		ctl_error("officer", "create needs --id and --name");
		return ctl_usage("officer");
	}
	if (!officer_id_ok(id)) {
		ctl_error("officer",
		    "officer id \"%s\": 1 to %d characters of letters, digits, "
		    "'_', '.', ':', '@' and '-', starting with a letter or "
		    "digit (as the duty rosters name officers)",
		    id, OFFICER_FIELD_MAX);
		return CTL_USAGE;
	}
	if (!officer_name_ok(name)) {
		ctl_error("officer",
		    "--name: 1 to %d bytes of UTF-8 text without control "
		    "characters, not blank",
		    OFFICER_FIELD_MAX);
		return CTL_USAGE;
	}
	actor_name(actor, sizeof(actor));
	if ((st = ctl_store_open(ctl, "officer")) == NULL)
		return CTL_FAIL;
	store_err_clear(&err);
	if (store_begin(st, &err) < 0 ||
	    token_insert(st, id, name, token, prefix, &err) < 0)
		return officer_fail(st, &err);
	vals[0] = actor;
	vals[1] = "officer.token_created";
	vals[2] = id;
	vals[3] = name;
	vals[4] = prefix;
	if (store_exec(st, SQL_OFFICER_AUDIT, 5, vals, NULL, &err) < 0) {
		explicit_bzero(token, sizeof(token));
		return officer_fail(st, &err);
	}
	/* Is the officer on any shift yet?  Only a note: tokens may be made
	 * before the rosters arrive. */
	vals[0] = id;
	if (store_exec(st,
	        "SELECT EXISTS (SELECT 1 FROM duty_rosters WHERE"
	        " leader->>'id' = $1 OR officers @> jsonb_build_array("
	        "jsonb_build_object('id', $1::text)))",
	        1, vals, &roster, &err) < 0 ||
	    store_commit(st, &err) < 0) {
		PQclear(roster);
		explicit_bzero(token, sizeof(token));
		return officer_fail(st, &err);
	}
	on_roster = strcmp(PQgetvalue(roster, 0, 0), "t") == 0;
	PQclear(roster);
	printf("officer token %s created for %s (%s):\n%s\n"
	       "This token is shown only now and cannot be shown again: the "
	       "platform keeps only its SHA-256.\n"
	       "Hand it to the officer now; if it is lost, create another "
	       "and revoke this one.\n",
	    prefix, id, name, token);
	if (!on_roster)
		printf("note: no duty roster names officer %s yet; the "
		       "console accepts the token all the same\n",
		    id);
	fflush(stdout);
	explicit_bzero(token, sizeof(token));
	store_close(st);
	return CTL_OK;
}

/* The columns of officer list. */
#define LIST_COLUMNS 5

static int
officer_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const titles[LIST_COLUMNS] = {
	    "PREFIX", "OFFICER", "NAME", "CREATED", "REVOKED"};
	const char *vals[1] = {NULL};
	struct store_err err;
	PGresult *res = NULL;
	struct store *st;
	int c;

	while ((c = getopt_long(argc, argv, "hi:", longopts, NULL)) != -1) {
		if (c == 'h') {
			officer_help();
			return CTL_OK;
		}
		if (c != 'i')
			return ctl_usage("officer");
		vals[0] = optarg;
	}
	if (optind < argc) {
		ctl_error(
		    "officer", "unexpected argument \"%s\"", argv[optind]);
		return ctl_usage("officer");
	}
	if ((st = ctl_store_open(ctl, "officer")) == NULL)
		return CTL_FAIL;
	if (store_exec(st,
	        "SELECT prefix, officer, name,"
	        " to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM'),"
	        " coalesce(to_char(revoked_at,"
	        " 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM'), '-')"
	        " FROM officer_tokens WHERE $1::text IS NULL OR officer = $1"
	        " ORDER BY officer, created_at, prefix",
	        1, vals, &res, &err) < 0) {
		ctl_error("officer", "%s", err.msg);
		store_close(st);
		return CTL_FAIL;
	}
	if (PQntuples(res) == 0) {
		if (vals[0] != NULL)
			printf("no tokens for officer %s\n", vals[0]);
		else
			printf("no officer tokens\n");
	} else
		ctl_table_print(stdout, res, titles, LIST_COLUMNS);
	PQclear(res);
	store_close(st);
	return CTL_OK;
}

static int
officer_revoke(struct ctl *ctl, int argc, char **argv)
{
	const char *arg, *vals[5], *sql;
	char hash_hex[2 * SHA256_DIGEST_LEN + 1], actor[96], missing[128];
	uint8_t hash[SHA256_DIGEST_LEN];
	struct store_err err;
	PGresult *res = NULL;
	struct store *st;
	bool newly;

	if (argc != 2 || argv[1][0] == '-') {
		ctl_error("officer", "revoke takes one PREFIX or token");
		return ctl_usage("officer");
	}
	arg = argv[1];
	if (ids_token_format_ok(arg)) {
		ids_token_hash(arg, hash);
		hex_encode(hash, sizeof(hash), hash_hex);
		vals[0] = hash_hex;
		sql = SQL_REVOKE("hash = decode($1, 'hex')");
		snprintf(missing, sizeof(missing),
		    "no officer token matches the token given");
	} else if (strlen(arg) == OFFICER_PREFIX_LEN) {
		vals[0] = arg;
		sql = SQL_REVOKE("prefix = $1");
		snprintf(missing, sizeof(missing),
		    "no officer token has prefix \"%s\" (safetyctl officer "
		    "list shows them)",
		    arg);
	} else {
		ctl_error("officer",
		    "\"%.64s\" is neither a token nor a prefix of %d "
		    "characters (safetyctl officer list shows them)",
		    arg, OFFICER_PREFIX_LEN);
		return CTL_FAIL;
	}
	if ((st = ctl_store_open(ctl, "officer")) == NULL)
		return CTL_FAIL;
	if (store_begin(st, &err) < 0 ||
	    store_exec(st, sql, 1, vals, &res, &err) < 0)
		return officer_fail(st, &err);
	if (PQntuples(res) == 0) {
		PQclear(res);
		ctl_error("officer", "%s", missing);
		return officer_fail(st, NULL);
	}
	newly = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	if (newly) {
		actor_name(actor, sizeof(actor));
		vals[0] = actor;
		vals[1] = "officer.token_revoked";
		vals[2] = PQgetvalue(res, 0, 1);
		vals[3] = PQgetvalue(res, 0, 2);
		vals[4] = PQgetvalue(res, 0, 0);
		if (store_exec(st, SQL_OFFICER_AUDIT, 5, vals, NULL, &err) <
		    0) {
			PQclear(res);
			return officer_fail(st, &err);
		}
	}
	if (store_commit(st, &err) < 0) {
		PQclear(res);
		return officer_fail(st, &err);
	}
	if (newly)
		printf("revoked officer token %s of %s (%s); alarmd refuses it "
		       "within %d s\n",
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
		    PQgetvalue(res, 0, 2), OFFICER_CACHE_S);
	else
		printf(
		    "officer token %s of %s (%s) was already revoked at %s\n",
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
		    PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 4));
	PQclear(res);
	store_close(st);
	return CTL_OK;
}

int
cmd_officer(struct ctl *ctl, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	/* main.c reset getopt; the subcommand's vector starts at its name. */
	if (strcmp(sub, "create") == 0)
		return officer_create(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return officer_list(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "revoke") == 0)
		return officer_revoke(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 ||
	    strcmp(sub, "help") == 0) {
		officer_help();
		return CTL_OK;
	}
	if (sub[0] == '\0')
		ctl_error("officer", "which: create, list or revoke?");
	else
		ctl_error("officer",
		    "unknown subcommand \"%s\" (create, list, revoke)", sub);
	return ctl_usage("officer");
}

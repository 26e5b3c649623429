/*
 * test_alarmd_audit - the audit journal's pure parts (services/alarmd/
 * audit.h): the entry hash, the cleaning of actors and subjects, the
 * action form, the array literals sent to PostgreSQL, the batch, and the
 * refusals that need no server.
 *
 * The hash vectors were computed apart from this code, with coreutils'
 * sha256sum over the bytes prev || "seq|at_us|actor|action|subject|detail"
 * written out by printf (prev from xxd -r -p or /dev/zero); the first one
 * is also what deploy/sql/0011_audit.sql stored for that entry in a test
 * cluster.  A connection to a socket that does not exist stands in for a
 * broken store: nothing here touches the network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/alarmd/audit.h"
#include "log.h"

static const char *const DETAIL_1 =
    "{\"level\": \"red\", \"title\": \"氯气 泄漏|x\"}";
static const char *const HASH_1 =
    "eaeefe57635daa42e6de75829c650e5175dd96190a0081ebe5393403dd89e537";

static void
hash_hex(const uint8_t prev[AUDIT_HASH_LEN], int64_t seq, int64_t at_us,
    const char *actor, const char *action, const char *subject,
    const char *detail, char hex[SHA256_HEX_LEN])
{
	uint8_t out[AUDIT_HASH_LEN];

	audit_hash(prev, seq, at_us, actor, action, subject, detail, out);
	sha256_hex(out, hex);
}

static void
from_hex(const char *hex, uint8_t out[AUDIT_HASH_LEN])
{
	for (size_t i = 0; i < AUDIT_HASH_LEN; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* --- audit_hash ----------------------------------------------------------- */

static void
test_hash_first_entry(void **state)
{
	static const uint8_t zero[AUDIT_HASH_LEN];
	char hex[SHA256_HEX_LEN];

	(void)state;
	hash_hex(zero, 1, 1795957678809308LL, "alarmd", "incident.opened",
	    "incident:1", DETAIL_1, hex);
	assert_string_equal(hex, HASH_1);
}

static void
test_hash_chained_entry(void **state)
{
	uint8_t prev[AUDIT_HASH_LEN];
	char hex[SHA256_HEX_LEN];

	(void)state;
	from_hex(HASH_1, prev);
	/* JSON escapes (\" and \\n) are part of the text as stored. */
	hash_hex(prev, 2, 1795957678812086LL, "officer:370102-O01",
	    "incident.acknowledged", "incident:1",
	    "{\"note\": \"已到现场，\\\"阀门\\\"关闭\\\\n\", \"tier\": 0}",
	    hex);
	assert_string_equal(hex,
	    "94706b973f4a378a65f14c258468335a697eb05264966cb384bdedcbc699d37f");
}

static void
test_hash_null_fields_are_empty(void **state)
{
	static const uint8_t zero[AUDIT_HASH_LEN];
	char a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];

	(void)state;
	/* "7|-1||||": a negative time still prints as the SQL's text. */
	hash_hex(zero, 7, -1, NULL, NULL, NULL, NULL, a);
	assert_string_equal(a,
	    "111022768f96cab16815f8adeef273f761f350c2d19afa3a9eb74ae4e7ef6ec2");
	hash_hex(zero, 7, -1, "", "", "", "", b);
	assert_string_equal(a, b);
}

static void
test_hash_extremes(void **state)
{
	uint8_t prev[AUDIT_HASH_LEN];
	char hex[SHA256_HEX_LEN];

	(void)state;
	memset(prev, 0xff, sizeof(prev));
	hash_hex(prev, INT64_MAX, INT64_MIN, "a", "b.c", "d", "{}", hex);
	assert_string_equal(hex,
	    "3058af0ed4f77d1662e20dcaede57bf0894944f8b4164efb436e7954b1f9793f");
}

static void
test_hash_sees_every_change(void **state)
{
	static const uint8_t zero[AUDIT_HASH_LEN];
	uint8_t prev[AUDIT_HASH_LEN];
	char base[SHA256_HEX_LEN], hex[SHA256_HEX_LEN];

	(void)state;
	hash_hex(zero, 1, 1795957678809308LL, "alarmd", "incident.opened",
	    "incident:1", DETAIL_1, base);
	/* One character of the detail ('x' -> 'y'), checked by sha256sum. */
	hash_hex(zero, 1, 1795957678809308LL, "alarmd", "incident.opened",
	    "incident:1", "{\"level\": \"red\", \"title\": \"氯气 泄漏|y\"}",
	    hex);
	assert_string_equal(hex,
	    "9e38fbb3d8afa41ec34dd4ba5602ae44b278852c48642d380eb682da8d978100");
	/* seq, time, each field and the previous hash all count. */
	hash_hex(zero, 2, 1795957678809308LL, "alarmd", "incident.opened",
	    "incident:1", DETAIL_1, hex);
	assert_string_not_equal(hex, base);
	hash_hex(zero, 1, 1795957678809309LL, "alarmd", "incident.opened",
	    "incident:1", DETAIL_1, hex);
	assert_string_not_equal(hex, base);
	hash_hex(zero, 1, 1795957678809308LL, "alarmD", "incident.opened",
	    "incident:1", DETAIL_1, hex);
	assert_string_not_equal(hex, base);
	hash_hex(zero, 1, 1795957678809308LL, "alarmd", "incident.joined",
	    "incident:1", DETAIL_1, hex);
	assert_string_not_equal(hex, base);
	hash_hex(zero, 1, 1795957678809308LL, "alarmd", "incident.opened",
	    "incident:2", DETAIL_1, hex);
	assert_string_not_equal(hex, base);
	memset(prev, 0, sizeof(prev));
	prev[31] = 1;
	hash_hex(prev, 1, 1795957678809308LL, "alarmd", "incident.opened",
	    "incident:1", DETAIL_1, hex);
	assert_string_not_equal(hex, base);
}

static void
test_hash_bar_is_why_fields_refuse_it(void **state)
{
	static const uint8_t zero[AUDIT_HASH_LEN];
	char a[SHA256_HEX_LEN], b[SHA256_HEX_LEN];

	(void)state;
	/* Moving a '|' from one field into the next keeps the canonical
	 * text, hence the hash: the reason the table, the cleaning and
	 * the verifier keep '|' out of actor, action and subject. */
	hash_hex(zero, 3, 10, "a|b", "c.d", "e", "{}", a);
	hash_hex(zero, 3, 10, "a", "b|c.d", "e", "{}", b);
	assert_string_equal(a, b);
}

/* --- audit_field_clean ---------------------------------------------------- */

static void
check_clean(const char *in, const char *want)
{
	char out[AUDIT_FIELD_SIZE];
	int n = audit_field_clean(out, in);

	assert_string_equal(out, want);
	assert_int_equal(n, (int)strlen(want));
}

static void
test_clean_keeps_good_text(void **state)
{
	(void)state;
	check_clean("alarmd", "alarmd");
	check_clean("officer:370102-O01", "officer:370102-O01");
	check_clean("roster:城市/值班 表", "roster:城市/值班 表");
	check_clean("🚒 U+1F692", "🚒 U+1F692");
	check_clean("a\"b\\c{x,y}", "a\"b\\c{x,y}");
}

static void
test_clean_replaces_what_the_table_refuses(void **state)
{
	(void)state;
	check_clean("roster:src/ev|1", "roster:src/ev/1");
	check_clean("||", "//");
	check_clean("tab\there\nnl\r\x1f\x7f", "tab?here?nl???");
	/* C1 controls, U+2028 and U+2029 are controls too. */
	check_clean("a\302\200b\302\205c\302\237d", "a?b?c?d");
	check_clean("\xe2\x80\xa8x\xe2\x80\xa9", "?x?");
	/* U+00A0 and U+200B are not. */
	check_clean("\xc2\xa0\xe2\x80\x8b", "\xc2\xa0\xe2\x80\x8b");
	check_clean("", "-");
}

static void
test_clean_malformed_utf8(void **state)
{
	(void)state;
	check_clean("\xff\xfe", "??");
	check_clean("a\x80z", "a?z");            /* stray continuation */
	check_clean("\xe4\xb8", "??");           /* truncated at the end */
	check_clean("\xe4\xb8z", "??z");         /* truncated inside */
	check_clean("\xc0\xaf", "??");           /* overlong '/' */
	check_clean("\xe0\x80\xaf", "???");      /* overlong, 3 bytes */
	check_clean("\xed\xa0\x80", "???");      /* a surrogate */
	check_clean("\xf4\x90\x80\x80", "????"); /* beyond U+10FFFF */
	check_clean("\xf0\x9f\x9a", "???");      /* 4-byte cut short */
}

static void
test_clean_cuts_at_the_character_limit(void **state)
{
	char in[AUDIT_FIELD_MAX * 4 + 64], out[AUDIT_FIELD_SIZE], want[900];
	size_t i;

	(void)state;
	/* 250 three-byte characters: 200 are kept, whole. */
	for (i = 0; i < 250; i++)
		memcpy(in + 3 * i, "氯", 3);
	in[3 * i] = '\0';
	assert_int_equal(audit_field_clean(out, in), 600);
	assert_int_equal(strlen(out), 600);
	assert_memory_equal(out, in, 600);
	/* The widest case fills the buffer exactly: 200 four-byte ones. */
	for (i = 0; i < 210; i++)
		memcpy(in + 4 * i, "\xf0\x9f\x9a\x92", 4);
	in[4 * i] = '\0';
	assert_int_equal(audit_field_clean(out, in), AUDIT_FIELD_SIZE - 1);
	/* 200 ASCII characters stay, the 201st goes. */
	memset(want, 'a', 201);
	want[201] = '\0';
	assert_int_equal(audit_field_clean(out, want), 200);
	want[200] = '\0';
	assert_string_equal(out, want);
}

static void
test_clean_null(void **state)
{
	char out[AUDIT_FIELD_SIZE];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(audit_field_clean(out, NULL), -1);
	assert_string_equal(out, "");
}

/* --- audit_action_ok ------------------------------------------------------ */

static void
test_action_form(void **state)
{
	static const char *const good[] = {"incident.opened",
	    "incident.acknowledged", "officer.token_created", "a.b",
	    "silence.expired", "a.b.c", "x_.y__"};
	static const char *const bad[] = {"", "incident", "Incident.opened",
	    "incident.Opened", ".opened", "incident.", "incident..opened",
	    "incident.opened ", " incident.opened", "incident._x", "_a.b",
	    "1a.b", "a.1b", "incident.ope|ned", "incident-opened.x",
	    "事件.打开", "a.b\n"};
	char longest[AUDIT_ACTION_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(audit_action_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(audit_action_ok(bad[i]));
	assert_false(audit_action_ok(NULL));
	/* AUDIT_ACTION_MAX bytes pass, one more does not. */
	memset(longest, 'a', sizeof(longest));
	longest[1] = '.';
	longest[AUDIT_ACTION_MAX] = '\0';
	assert_true(audit_action_ok(longest));
	longest[AUDIT_ACTION_MAX] = 'a';
	longest[AUDIT_ACTION_MAX + 1] = '\0';
	assert_false(audit_action_ok(longest));
}

/* --- audit_pg_array ------------------------------------------------------- */

static void
check_array(size_t n, const char *const *items, int clean, const char *want)
{
	char *got = audit_pg_array(n, items, clean);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_array_quoting(void **state)
{
	static const char *const items[] = {
	    "alarmd", "a\"b", "c\\d", "{x,y}", NULL, "NULL", "", "中文"};
	static const char *const json[] = {"{\"k\": \"v\\n\"}", NULL, "{}"};

	(void)state;
	check_array(8, items, 0,
	    "{\"alarmd\",\"a\\\"b\",\"c\\\\d\",\"{x,y}\",NULL,\"NULL\",\"\","
	    "\"中文\"}");
	check_array(
	    3, json, 0, "{\"{\\\"k\\\": \\\"v\\\\n\\\"}\",NULL,\"{}\"}");
	check_array(0, items, 0, "{}");
	check_array(0, NULL, 1, "{}");
	/* No items at all: n NULLs (details left out). */
	check_array(2, NULL, 0, "{NULL,NULL}");
}

static void
test_array_cleaned(void **state)
{
	static const char *const items[] = {"x|y", "", "a\tb\"", "ok"};
	static const char *const with_null[] = {"a", NULL};

	(void)state;
	check_array(4, items, 1, "{\"x/y\",\"-\",\"a?b\\\"\",\"ok\"}");
	/* A missing actor or subject cannot be cleaned into one. */
	assert_null(audit_pg_array(2, with_null, 1));
}

static void
test_array_large(void **state)
{
	enum { N = 5000 };
	const char **items = calloc(N, sizeof(*items));
	char *got;

	(void)state;
	assert_non_null(items);
	for (size_t i = 0; i < N; i++)
		items[i] = "incident:\"42\"";
	got = audit_pg_array(N, items, 0);
	assert_non_null(got);
	/* Each item: 2 quotes, 2 backslashes, 13 characters, 1 comma. */
	assert_int_equal(strlen(got), 2 + N * 18 - 1);
	free(got);
	free(items);
}

/* --- refusals without a server -------------------------------------------- */

/* A connection whose socket does not exist: it never connects. */
static PGconn *
dead_conn(void)
{
	PGconn *c = PQconnectdb(
	    "host=/nonexistent-anquan-test dbname=x connect_timeout=2");

	assert_non_null(c);
	assert_int_not_equal(PQstatus(c), CONNECTION_OK);
	return c;
}

static void
test_append_refusals(void **state)
{
	const char *actors[] = {"alarmd", "alarmd"};
	const char *actions[] = {"incident.opened", "Bad Action"};
	const char *subjects[] = {"incident:1", "incident:2"};
	const char *no_actor[] = {"alarmd", NULL};
	PGconn *c = dead_conn();

	(void)state;
	/* Nothing to append: nothing to do, whatever the connection. */
	assert_int_equal(audit_append_many(NULL, 0, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(
	    audit_append(NULL, "alarmd", "incident.opened", "incident:1", NULL),
	    -1);
	assert_int_equal(
	    audit_append_many(c, 2, actors, actions, subjects, NULL), -1);
	assert_int_equal(
	    audit_append_many(c, 2, no_actor, actions, subjects, NULL), -1);
	assert_int_equal(
	    audit_append_many(c, 1, NULL, actions, subjects, NULL), -1);
	assert_int_equal(
	    audit_append(c, "alarmd", NULL, "incident:1", NULL), -1);
	assert_int_equal(
	    audit_append(c, "alarmd", "incident.opened", NULL, "{}"), -1);
	/* Well formed, but the store is not there: -1, no crash. */
	assert_int_equal(audit_append(c, "alarmd", "incident.opened",
	                     "incident:1", "{\"level\": \"red\"}"),
	    -1);
	PQfinish(c);
}

/* --- audit_batch ---------------------------------------------------------- */

static void
test_batch_copies_and_grows(void **state)
{
	struct audit_batch b;
	char subject[32];

	(void)state;
	audit_batch_init(&b);
	for (int i = 0; i < 100; i++) {
		snprintf(subject, sizeof(subject), "incident:%d", i);
		assert_int_equal(
		    audit_batch_add(&b, "alarmd", "incident.reminded", subject,
		        i % 2 ? "{\"i\": 1}" : NULL),
		    0);
	}
	/* The batch holds copies: the caller's buffer is its own. */
	strcpy(subject, "changed");
	assert_int_equal(b.n, 100);
	assert_true(b.cap >= 100);
	assert_string_equal(b.subject[0], "incident:0");
	assert_string_equal(b.subject[99], "incident:99");
	assert_null(b.detail[0]);
	assert_string_equal(b.detail[1], "{\"i\": 1}");
	audit_batch_clear(&b);
	assert_int_equal(b.n, 0);
	assert_int_equal(audit_batch_add(&b, "alarmd", "incident.opened",
	                     "incident:1", NULL),
	    0);
	assert_int_equal(b.n, 1);
	audit_batch_free(&b);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.cap, 0);
	assert_null(b.actor);
	/* Free leaves it usable. */
	assert_int_equal(audit_batch_add(&b, "alarmd", "incident.opened",
	                     "incident:2", "{}"),
	    0);
	audit_batch_free(&b);
}

static void
test_batch_refusals(void **state)
{
	struct audit_batch b = {0};
	PGconn *c = dead_conn();

	(void)state;
	/* An empty batch flushes to nothing, even without a store. */
	assert_int_equal(audit_batch_flush(NULL, &b), 0);
	/* A missing field loses the entry: the flush must then refuse,
	 * or the journal would silently lack it. */
	assert_int_equal(audit_batch_add(&b, "alarmd", "incident.opened",
	                     "incident:1", NULL),
	    0);
	assert_int_equal(
	    audit_batch_add(&b, NULL, "incident.opened", "incident:2", NULL),
	    -1);
	assert_int_equal(
	    audit_batch_add(&b, "alarmd", NULL, "incident:2", NULL), -1);
	assert_int_equal(
	    audit_batch_add(&b, "alarmd", "incident.opened", NULL, NULL), -1);
	assert_int_equal(b.n, 1);
	assert_int_equal(audit_batch_flush(c, &b), -1);
	/* Whatever the outcome, the batch is empty afterwards. */
	assert_int_equal(b.n, 0);
	assert_int_equal(b.failed, 0);
	assert_int_equal(audit_batch_add(&b, "alarmd", "incident.opened",
	                     "incident:3", NULL),
	    0);
	assert_int_equal(audit_batch_flush(c, &b), -1);
	assert_int_equal(b.n, 0);
	audit_batch_free(&b);
	PQfinish(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_first_entry),
	    cmocka_unit_test(test_hash_chained_entry),
	    cmocka_unit_test(test_hash_null_fields_are_empty),
	    cmocka_unit_test(test_hash_extremes),
	    cmocka_unit_test(test_hash_sees_every_change),
	    cmocka_unit_test(test_hash_bar_is_why_fields_refuse_it),
	    cmocka_unit_test(test_clean_keeps_good_text),
	    cmocka_unit_test(test_clean_replaces_what_the_table_refuses),
	    cmocka_unit_test(test_clean_malformed_utf8),
	    cmocka_unit_test(test_clean_cuts_at_the_character_limit),
	    cmocka_unit_test(test_clean_null),
	    cmocka_unit_test(test_action_form),
	    cmocka_unit_test(test_array_quoting),
	    cmocka_unit_test(test_array_cleaned),
	    cmocka_unit_test(test_array_large),
	    cmocka_unit_test(test_append_refusals),
	    cmocka_unit_test(test_batch_copies_and_grows),
	    cmocka_unit_test(test_batch_refusals),
	};

	/* The refusals are logged; only errors would be noise here. */
	log_init("test_alarmd_audit", LOGL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

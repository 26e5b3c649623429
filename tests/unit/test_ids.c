/*
 * test_ids - USCC checks and generator, GB/T 2260 form, CSV code tables,
 * tokens.
 *
 * The valid USCCs are published ones whose check characters were verified
 * with an independent implementation of the GB 32100 weights; each kind of
 * bad code is made from a valid one by breaking exactly one rule.  The
 * shipped code tables under deploy/data are loaded from $ANQUAN_ROOT (the
 * test runner sets it) or from the current directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ids.h"

static void
uscc_ok(const char *s)
{
	char why[IDS_REASON_SIZE] = "";

	if (ids_uscc_check(s, why, sizeof(why)) != 0)
		fail_msg("'%s' refused: %s", s, why);
}

static void
uscc_bad(const char *s, const char *want_reason)
{
	char why[IDS_REASON_SIZE] = "";

	if (ids_uscc_check(s, why, sizeof(why)) == 0)
		fail_msg("'%s' accepted", s);
	if (strcmp(why, want_reason) != 0)
		fail_msg("'%s': reason '%s', want '%s'", s, why, want_reason);
	/* The reason is optional. */
	assert_int_equal(ids_uscc_check(s, NULL, 0), -1);
}

static void
test_uscc_valid(void **state)
{
	(void)state;
	uscc_ok("91350100M000100Y43");
	uscc_ok("91110000600037341L");
	uscc_ok("12100000400010398P");
	assert_int_equal(ids_uscc_check_char("91350100M000100Y4"), '3');
	assert_int_equal(ids_uscc_check_char("91110000600037341"), 'L');
	assert_int_equal(ids_uscc_check_char("9135010OM000100Y4"), '\0');
}

static void
test_uscc_length(void **state)
{
	(void)state;
	uscc_bad("91350100M000100Y4", "length 17, want 18");
	uscc_bad("91350100M000100Y433", "length 19, want 18");
	uscc_bad("", "empty code");
	uscc_bad(NULL, "empty code");
}

static void
test_uscc_characters(void **state)
{
	(void)state;
	uscc_bad(
	    "9135O100M000100Y43", "character 'O' not allowed at position 5");
	uscc_bad(
	    "91350100M0001I0Y43", "character 'I' not allowed at position 14");
	uscc_bad(
	    "91350100S000100Y43", "character 'S' not allowed at position 9");
	uscc_bad(
	    "91350100M000100V43", "character 'V' not allowed at position 16");
	uscc_bad(
	    "91350100M000100Y4Z", "character 'Z' not allowed at position 18");
	uscc_bad("91350100m000100Y43",
	    "character 'm' not allowed at position 9 (codes are upper case)");
	uscc_bad(
	    "91350100M000100-43", "character '-' not allowed at position 16");
	uscc_bad("91350100 000100Y43", "byte 0x20 not allowed at position 9");
	uscc_bad("91350100\xE4\xB8\xAD"
	         "0100Y43",
	    "byte 0xE4 not allowed at position 9");
}

static void
test_uscc_structure(void **state)
{
	(void)state;
	uscc_bad("01350100M000100Y43",
	    "registration authority '0' at position 1 is not one of 1-9, A, "
	    "N, Y");
	uscc_bad("B1350100M000100Y43",
	    "registration authority 'B' at position 1 is not one of 1-9, A, "
	    "N, Y");
	uscc_bad("5A350100M000100Y43",
	    "organization type 'A' at position 2 is not a digit 1-9");
	uscc_bad("50350100M000100Y43",
	    "organization type '0' at position 2 is not a digit 1-9");
	uscc_bad("94350100M000100Y43",
	    "organization type '4' at position 2 is not 1, 2 or 3 for "
	    "authority 9 (market regulation)");
	uscc_bad("9135A100M000100Y43",
	    "area code at positions 3-8 must be 6 digits, found 'A' at "
	    "position 5");
}

static void
test_uscc_check_character(void **state)
{
	(void)state;
	uscc_bad(
	    "91350100M000100Y44", "check character should be '3', got '4'");
	uscc_bad(
	    "91110000600037341K", "check character should be 'L', got 'K'");
	/* A single changed body character is always caught. */
	uscc_bad(
	    "91350100M000200Y43", "check character should be 'T', got '3'");
}

static void
test_uscc_counted(void **state)
{
	const char buf[] = "91350100M000100Y43,\"name\"";
	char why[IDS_REASON_SIZE];

	(void)state;
	assert_int_equal(ids_uscc_check_n(buf, 18, why, sizeof(why)), 0);
	assert_int_equal(ids_uscc_check_n(buf, 19, why, sizeof(why)), -1);
	assert_string_equal(why, "length 19, want 18");
	/* A NUL inside counted bytes is a bad character, not an end. */
	assert_int_equal(
	    ids_uscc_check_n("91350100\0000100Y43", 18, why, sizeof(why)), -1);
	assert_string_equal(why, "byte 0x00 not allowed at position 9");
	/* A reason that does not fit is cut, never overflowed. */
	assert_int_equal(ids_uscc_check("91350100M000100Y44", why, 8), -1);
	assert_string_equal(why, "check c");
}

static int
cmp_codes(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_uscc_generator(void **state)
{
	enum { N = 5000 };
	char(*codes)[IDS_USCC_SIZE] = calloc(N, IDS_USCC_SIZE);
	char again[IDS_USCC_SIZE], other[IDS_USCC_SIZE];

	(void)state;
	assert_non_null(codes);
	for (int i = 0; i < N; i++) {
		assert_int_equal(
		    ids_uscc_generate((uint64_t)i, "370102", codes[i]), 0);
		uscc_ok(codes[i]);
		assert_memory_equal(codes[i], "91370102", 8);
	}
	/* Deterministic: the same seed makes the same code. */
	assert_int_equal(ids_uscc_generate(1234, "370102", again), 0);
	assert_string_equal(again, codes[1234]);
	/* Another area, another code. */
	assert_int_equal(ids_uscc_generate(1234, "370112", other), 0);
	uscc_ok(other);
	assert_string_not_equal(other, again);
	/* Pairwise distinct. */
	qsort(codes, N, IDS_USCC_SIZE, cmp_codes);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(codes[i - 1], codes[i]);
	free(codes);
	/* Large seeds are fine too. */
	assert_int_equal(ids_uscc_generate(UINT64_MAX, "370171", again), 0);
	uscc_ok(again);

	assert_int_equal(ids_uscc_generate(1, "37010", again), -1);
	assert_int_equal(ids_uscc_generate(1, "3701021", again), -1);
	assert_int_equal(ids_uscc_generate(1, "37O102", again), -1);
}

static void
test_gb2260(void **state)
{
	(void)state;
	assert_true(ids_gb2260_ok("370102"));
	assert_true(ids_gb2260_ok("110000"));
	assert_false(ids_gb2260_ok("37010"));
	assert_false(ids_gb2260_ok("3701021"));
	assert_false(ids_gb2260_ok("37O102"));
	assert_false(ids_gb2260_ok(" 370102"));
	assert_false(ids_gb2260_ok(""));
	assert_false(ids_gb2260_ok(NULL));
}

/* Path of a shipped data file, under $ANQUAN_ROOT or the current dir. */
static const char *
data_path(char *buf, size_t size, const char *file)
{
	const char *root = getenv("ANQUAN_ROOT");

	snprintf(buf, size, "%s/deploy/data/%s", root ? root : ".", file);
	return buf;
}

static void
test_codes_shipped(void **state)
{
	struct ids_codes t = {0};
	struct ids_error err = {0};
	char path[512];

	(void)state;
	if (ids_codes_load(data_path(path, sizeof(path), "districts.csv"),
	        IDS_CODES_GB2260, &t, &err) != 0)
		fail_msg("%s:%u: %s (set ANQUAN_ROOT to the checkout)",
		    err.file, err.line, err.message);
	assert_int_equal(t.n, 13);
	assert_string_equal(ids_codes_name(&t, "370102"), "历下区");
	assert_string_equal(
	    ids_codes_name(&t, "370171"), "济南高新技术产业开发区");
	assert_null(ids_codes_name(&t, "370199"));
	assert_null(ids_codes_name(&t, ""));
	assert_null(ids_codes_name(&t, NULL));
	ids_codes_free(&t);
	assert_int_equal(t.n, 0);

	assert_int_equal(
	    ids_codes_load(
	        data_path(path, sizeof(path), "departments.csv"), 0, &t, &err),
	    0);
	assert_string_equal(ids_codes_name(&t, "AWB"), "市安委办");
	assert_string_equal(ids_codes_name(&t, "YJJ"), "市应急局");
	ids_codes_free(&t);

	assert_int_equal(
	    ids_codes_load(
	        data_path(path, sizeof(path), "sectors.csv"), 0, &t, &err),
	    0);
	assert_string_equal(ids_codes_name(&t, "hazchem"), "危险化学品");
	assert_string_equal(ids_codes_name(&t, "noncoal_mine"), "非煤矿山");
	ids_codes_free(&t);

	/* Departments are not area codes: the GB/T 2260 flag refuses them,
	 * naming the first data row. */
	assert_int_equal(
	    ids_codes_load(data_path(path, sizeof(path), "departments.csv"),
	        IDS_CODES_GB2260, &t, &err),
	    -1);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.message, "GB/T 2260"));
	assert_int_equal(t.n, 0);
}

static int
parse_text(const char *text, unsigned flags, struct ids_codes *t,
    struct ids_error *err)
{
	return ids_codes_parse("t.csv", text, strlen(text), flags, t, err);
}

static void
test_codes_quoting(void **state)
{
	struct ids_codes t = {0};
	struct ids_error err = {0};
	const char *text = "\xEF\xBB\xBF"
	                   "code,name,extra\r\n"
	                   "A1,\"Name, with comma\",x\r\n"
	                   "\r\n"
	                   "\"B2\",\"say \"\"hi\"\"\"\r\n"
	                   "C3,危险化学品,\"multi\nline extra\"\n"
	                   "D4,\"\",\n";

	(void)state;
	/* D4 has an empty name: refused, on line 7 (the quoted newline in
	 * row C3 counts). */
	assert_int_equal(parse_text(text, 0, &t, &err), -1);
	assert_string_equal(err.file, "t.csv");
	assert_int_equal(err.line, 7);
	assert_string_equal(err.message, "empty name for code 'D4'");

	text = "\xEF\xBB\xBF"
	       "code,name,extra\r\n"
	       "A1,\"Name, with comma\",x\r\n"
	       "\r\n"
	       "\"B2\",\"say \"\"hi\"\"\"\r\n"
	       "C3,危险化学品,\"multi\nline extra\"\n"
	       "D4,last row without newline";
	assert_int_equal(parse_text(text, 0, &t, &err), 0);
	assert_int_equal(t.n, 4);
	assert_string_equal(ids_codes_name(&t, "A1"), "Name, with comma");
	assert_string_equal(ids_codes_name(&t, "B2"), "say \"hi\"");
	assert_string_equal(ids_codes_name(&t, "C3"), "危险化学品");
	assert_string_equal(
	    ids_codes_name(&t, "D4"), "last row without newline");
	ids_codes_free(&t);
}

struct bad_csv {
	const char *text;
	unsigned flags;
	unsigned line;
	const char *message;
};

static void
test_codes_bad_rows(void **state)
{
	static const struct bad_csv cases[] = {
	    {"code,name\n370102,历下区\n370103\n", 0, 3,
	        "expected at least 2 fields (code,name), got 1"},
	    {"code,name\n370102,历下区\n,无码\n", 0, 3, "empty code"},
	    {"code,name\nA 1,x\n", 0, 2,
	        "code 'A 1' has a space, control or non-ASCII character"},
	    {"code,name\nA1,\"never closed\n", 0, 2,
	        "quoted field is never closed"},
	    {"code,name\nA1,ab\"c\n", 0, 2,
	        "quote inside an unquoted field (quote the whole field and "
	        "double the inner quote)"},
	    {"code,name\nA1,\"ab\"c\n", 0, 2,
	        "unexpected character after a closing quote"},
	    {"code,name\nA1,a\rb\n", 0, 2,
	        "carriage return not followed by a line feed"},
	    {"code,name\nA1,x\nB2,y\nA1,z\n", 0, 4,
	        "duplicate code 'A1' (first on line 2)"},
	    {"code,name\nA1,\xE5\x8E\n", 0, 2,
	        "name of code 'A1' is not valid UTF-8 (byte 1)"},
	    {"code,name\nA1,ok\xC0\xAF\n", 0, 2,
	        "name of code 'A1' is not valid UTF-8 (byte 3)"},
	    {"code,name\nA1,\xED\xA0\x80\n", 0, 2,
	        "name of code 'A1' is not valid UTF-8 (byte 1)"},
	    {"code,name\nA1,\"two\nlines\"\n", 0, 2,
	        "name of code 'A1' has a control character"},
	    {"code,name\n370102,历下区\n37010,短\n", IDS_CODES_GB2260, 3,
	        "code '37010' is not a GB/T 2260 area code (6 digits)"},
	    {"name,code\nA1,x\n", 0, 1,
	        "header row should begin with code,name"},
	    {"code\nA1\n", 0, 1, "header row should begin with code,name"},
	    {"", 0, 0, "no header row (want code,name,...)"},
	    {"\n\n", 0, 0, "no header row (want code,name,...)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ids_codes t = {0};
		struct ids_error err = {0};

		if (parse_text(cases[i].text, cases[i].flags, &t, &err) == 0)
			fail_msg("case %zu accepted", i);
		if (err.line != cases[i].line ||
		    strcmp(err.message, cases[i].message) != 0)
			fail_msg("case %zu: got %u '%s', want %u '%s'", i,
			    err.line, err.message, cases[i].line,
			    cases[i].message);
		assert_int_equal(t.n, 0);
		assert_null(t.rows);
	}
}

static void
test_codes_nul_and_header_only(void **state)
{
	static const char nul_plain[] = "code,name\nA1,x\0y\n";
	static const char nul_quoted[] = "code,name\nA1,\"x\0\"\n";
	struct ids_codes t = {0};
	struct ids_error err = {0};

	(void)state;
	/* A NUL byte is refused, not taken as the end of a name. */
	assert_int_equal(ids_codes_parse("t.csv", nul_plain,
	                     sizeof(nul_plain) - 1, 0, &t, &err),
	    -1);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.message, "NUL byte in a field");
	assert_int_equal(ids_codes_parse("t.csv", nul_quoted,
	                     sizeof(nul_quoted) - 1, 0, &t, &err),
	    -1);
	assert_string_equal(err.message, "NUL byte in a field");
	assert_int_equal(parse_text("code,name\n", 0, &t, &err), 0);
	assert_int_equal(t.n, 0);
	assert_null(ids_codes_name(&t, "A1"));
	ids_codes_free(&t);
}

static void
test_codes_missing_file(void **state)
{
	struct ids_codes t = {0};
	struct ids_error err = {0};

	(void)state;
	assert_int_equal(
	    ids_codes_load("/nonexistent/districts.csv", 0, &t, &err), -1);
	assert_string_equal(err.file, "/nonexistent/districts.csv");
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.message, "cannot open"));
	assert_int_equal(t.n, 0);
}

static void
test_tokens(void **state)
{
	char a[IDS_TOKEN_SIZE], b[IDS_TOKEN_SIZE];
	uint8_t digest[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN];
	int seen[256] = {0}, distinct = 0;

	(void)state;
	assert_int_equal(ids_token_new(a), 0);
	assert_int_equal(ids_token_new(b), 0);
	assert_int_equal(strlen(a), IDS_TOKEN_LEN);
	assert_memory_equal(a, "aq_", 3);
	assert_true(ids_token_format_ok(a));
	assert_true(ids_token_format_ok(b));
	assert_string_not_equal(a, b);
	/* Over a few hundred tokens every base32 character turns up. */
	for (int i = 0; i < 300; i++) {
		assert_int_equal(ids_token_new(a), 0);
		for (int k = 3; k < IDS_TOKEN_LEN; k++)
			seen[(unsigned char)a[k]] = 1;
	}
	for (int c = 0; c < 256; c++)
		distinct += seen[c];
	assert_int_equal(distinct, 32);

	ids_token_hash("aq_abcdefghijklmnopqrstuvwxyz234567abcdefgh", digest);
	sha256_hex(digest, hex);
	assert_string_equal(hex,
	    "857b689ec3b99ecb69d78501a0e52ce935fa540b269a1d02bb5b6c3ec245ceac");
}

static void
test_token_format(void **state)
{
	(void)state;
	assert_true(
	    ids_token_format_ok("aq_abcdefghijklmnopqrstuvwxyz234567abcdefgh"));
	assert_false(
	    ids_token_format_ok("aq_abcdefghijklmnopqrstuvwxyz234567abcdefg"));
	assert_false(ids_token_format_ok(
	    "aq_abcdefghijklmnopqrstuvwxyz234567abcdefghi"));
	assert_false(
	    ids_token_format_ok("xx_abcdefghijklmnopqrstuvwxyz234567abcdefgh"));
	assert_false(
	    ids_token_format_ok("aq_Abcdefghijklmnopqrstuvwxyz234567abcdefgh"));
	assert_false(
	    ids_token_format_ok("aq_abcdefghijklmnopqrstuvwxyz234561abcdefgh"));
	assert_false(
	    ids_token_format_ok("aq_abcdefghijklmnopqrstuvwxyz23456 abcdefgh"));
	assert_false(ids_token_format_ok("aq_"));
	assert_false(ids_token_format_ok(""));
	assert_false(ids_token_format_ok(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uscc_valid),
	    cmocka_unit_test(test_uscc_length),
	    cmocka_unit_test(test_uscc_characters),
	    cmocka_unit_test(test_uscc_structure),
	    cmocka_unit_test(test_uscc_check_character),
	    cmocka_unit_test(test_uscc_counted),
	    cmocka_unit_test(test_uscc_generator),
	    cmocka_unit_test(test_gb2260),
	    cmocka_unit_test(test_codes_shipped),
	    cmocka_unit_test(test_codes_quoting),
	    cmocka_unit_test(test_codes_bad_rows),
	    cmocka_unit_test(test_codes_nul_and_header_only),
	    cmocka_unit_test(test_codes_missing_file),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_token_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

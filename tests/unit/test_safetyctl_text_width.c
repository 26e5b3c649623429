/*
 * test_safetyctl_text_width - the terminal columns of UTF-8 text
 * (services/safetyctl/text_width.c), which `safetyctl officer list` pads
 * its columns by.
 *
 * The code point table at the edges of every range that matters here
 * (controls, CJK, kana, hangul, fullwidth forms, combining and zero-width
 * characters); whole strings as the store sends them (Chinese names,
 * mixed with ASCII, with fullwidth punctuation); a length that cuts the
 * string; and malformed UTF-8 (stray continuation bytes, overlong forms,
 * surrogates, values above U+10FFFF, sequences cut short), each byte of
 * which must count as one column.  text_pad() is checked on a memory
 * stream: what it writes, a cell wider than its column, and a stream that
 * refuses the write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/safetyctl/text_width.h"

/* The columns of the NUL-terminated s. */
static size_t
width_of(const char *s)
{
	return text_width(s, strlen(s));
}

static void
test_code_points(void **state)
{
	static const struct {
		uint32_t cp;
		int cols;
	} cases[] = {
	    {0x00, 0},
	    {0x09, 0},
	    {0x1F, 0},
	    {0x20, 1},
	    {'A', 1},
	    {0x7E, 1},
	    {0x7F, 0},
	    {0x9F, 0},
	    {0xA0, 1},
	    {0xE9, 1},
	    {0x2FF, 1},
	    {0x300, 0}, /* combining grave */
	    {0x36F, 0},
	    {0x370, 1},
	    {0x10FF, 1},
	    {0x1100, 2},
	    {0x115F, 2}, /* hangul initial consonants */
	    {0x1160, 0},
	    {0x11FF, 0},
	    {0x1200, 1},
	    {0x200A, 1},
	    {0x200B, 0},
	    {0x200D, 0},
	    {0x2010, 1},
	    {0x2328, 1},
	    {0x2329, 2},
	    {0x232A, 2},
	    {0x232B, 1},
	    {0x2E7F, 1},
	    {0x2E80, 2},
	    {0x3000, 2}, /* ideographic space */
	    {0x3001, 2}, /* 、 */
	    {0x302A, 0},
	    {0x302D, 0},
	    {0x302E, 2},
	    {0x303E, 2},
	    {0x303F, 1},
	    {0x3040, 1},
	    {0x3041, 2},
	    {0x3099, 0},
	    {0x309A, 0},
	    {0x309B, 2},
	    {0x30AB, 2}, /* カ */
	    {0x33FF, 2},
	    {0x3400, 2},
	    {0x4DBF, 2},
	    {0x4DC0, 1},
	    {0x4DFF, 1},
	    {0x4E00, 2},
	    {0x5386, 2}, /* 历 */
	    {0x9FFF, 2},
	    {0xA4CF, 2},
	    {0xA4D0, 1},
	    {0xAC00, 2},
	    {0xD55C, 2},
	    {0xD7A3, 2},
	    {0xD7A4, 1},
	    {0xF8FF, 1},
	    {0xF900, 2},
	    {0xFAFF, 2},
	    {0xFB00, 1},
	    {0xFE0F, 0},
	    {0xFE10, 2},
	    {0xFE19, 2},
	    {0xFE1A, 1},
	    {0xFE30, 2},
	    {0xFE6F, 2},
	    {0xFE70, 1},
	    {0xFEFF, 0},
	    {0xFF00, 2},
	    {0xFF08, 2}, /* （ */
	    {0xFF11, 2},
	    {0xFF60, 2},
	    {0xFF61, 1}, /* halfwidth 。 */
	    {0xFF9F, 1},
	    {0xFFE0, 2},
	    {0xFFE6, 2},
	    {0xFFE7, 1},
	    {0xFFFD, 1},
	    {0x10000, 1},
	    {0x1F2FF, 1},
	    {0x1F300, 2},
	    {0x1F600, 2},
	    {0x1F64F, 2},
	    {0x1F650, 1},
	    {0x20000, 2},
	    {0x2A6DF, 2},
	    {0x2FFFD, 2},
	    {0x2FFFE, 1},
	    {0x30000, 2},
	    {0x3FFFD, 2},
	    {0x3FFFE, 1},
	    {0xE0100, 0},
	    {0xE01EF, 0},
	    {0xE01F0, 1},
	    {0x10FFFF, 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = text_width_cp(cases[i].cp);

		if (got != cases[i].cols)
			fail_msg("U+%04X: %d columns, want %d",
			    (unsigned)cases[i].cp, got, cases[i].cols);
	}
}

static void
test_strings(void **state)
{
	(void)state;
	assert_int_equal(width_of(""), 0);
	assert_int_equal(width_of("PREFIX"), 6);
	assert_int_equal(width_of("李值班"), 6);
	assert_int_equal(strlen("李值班"), 9);
	assert_int_equal(width_of("值班员甲"), 8);
	assert_int_equal(width_of("O-370112 李值班"), 15);
	assert_int_equal(width_of("历下区"), 6);
	assert_int_equal(width_of("危险化学品"), 10);
	assert_int_equal(width_of("市自然资源和规划局"), 18);
	/* Fullwidth punctuation and digits as the console's texts use. */
	assert_int_equal(width_of("历城区（370112）"), 6 + 2 + 6 + 2);
	assert_int_equal(width_of("１２３"), 6);
	assert_int_equal(width_of("张三，李四。"), 12);
	/* Latin with accents, precomposed and combining. */
	assert_int_equal(width_of("caf\xc3\xa9"), 4);
	assert_int_equal(width_of("cafe\xcc\x81"), 4);
	/* Kana, hangul, an emoji, an extension B ideograph. */
	assert_int_equal(width_of("カタカナ"), 8);
	assert_int_equal(width_of("한국"), 4);
	assert_int_equal(width_of("\xf0\x9f\x98\x80"), 2);
	assert_int_equal(width_of("\xf0\xa0\x80\x80"), 2);
	/* Zero-width and control characters take nothing. */
	assert_int_equal(width_of("a\xe2\x80\x8b"
	                          "b"),
	    2);
	assert_int_equal(width_of("\xef\xbb\xbf"
	                          "abc"),
	    3);
	assert_int_equal(width_of("a\tb\n"), 2);
	/* Only the bytes asked for, past a NUL too. */
	assert_int_equal(text_width("李值班", 6), 4);
	assert_int_equal(text_width("李值班", 0), 0);
	assert_int_equal(text_width("a\0b", 3), 2);
}

static void
test_malformed(void **state)
{
	(void)state;
	/* Every byte that is not valid UTF-8 counts as one column. */
	assert_int_equal(width_of("\x80"), 1); /* stray continuation */
	assert_int_equal(width_of("\xbf\xbf"), 2);
	assert_int_equal(width_of("\xff"), 1); /* never a lead byte */
	assert_int_equal(width_of("\xfe\xff"), 2);
	assert_int_equal(width_of("\xc0\xaf"), 2); /* overlong '/' */
	assert_int_equal(width_of("\xc1\xbf"), 2);
	assert_int_equal(width_of("\xe0\x80\xaf"), 3);     /* overlong */
	assert_int_equal(width_of("\xf0\x80\x80\xaf"), 4); /* overlong */
	assert_int_equal(width_of("\xed\xa0\x80"), 3);     /* surrogate */
	assert_int_equal(width_of("\xf4\x90\x80\x80"), 4); /* above U+10FFFF */
	assert_int_equal(width_of("\xf5\x80\x80\x80"), 4);
	/* A sequence cut short, then text that is whole again. */
	assert_int_equal(text_width("李", 2), 2);
	assert_int_equal(width_of("\xe6\x9d"
	                          "a"),
	    3);
	assert_int_equal(width_of("\xe6"
	                          "李"),
	    3);
	assert_int_equal(width_of("\xf0\x9f\x98"
	                          "ok"),
	    5);
	/* A continuation byte out of place inside a sequence. */
	assert_int_equal(width_of("\xe6\x41\x8e"), 3);
	/* The largest valid values still decode. */
	assert_int_equal(width_of("\xf4\x8f\xbf\xbf"), 1);
	assert_int_equal(width_of("\xef\xbf\xbd"), 1);
}

/* What text_pad writes for s in columns, as a malloc'd string. */
static char *
padded(const char *s, size_t columns)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(text_pad(f, s, columns), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
test_pad(void **state)
{
	static const char *const names[] = {
	    "NAME", "李值班", "值班员甲", "Wang Wei", "张三（副）", ""};
	char *out;

	(void)state;
	out = padded("李值班", 8);
	assert_string_equal(out, "李值班  ");
	free(out);
	out = padded("abc", 5);
	assert_string_equal(out, "abc  ");
	free(out);
	out = padded("", 3);
	assert_string_equal(out, "   ");
	free(out);
	/* Wider than its column: whole, nothing after it. */
	out = padded("值班员甲", 4);
	assert_string_equal(out, "值班员甲");
	free(out);
	out = padded("abc", 0);
	assert_string_equal(out, "abc");
	free(out);
	/* Every cell of a column ends at the same terminal column. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		out = padded(names[i], 10);
		assert_int_equal(width_of(out), 10);
		free(out);
	}
}

static void
test_pad_fails(void **state)
{
	char buf[8] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "r");

	(void)state;
	assert_non_null(f);
	/* A stream opened for reading refuses the write. */
	assert_int_equal(text_pad(f, "李值班", 8), -1);
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_code_points),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_pad),
	    cmocka_unit_test(test_pad_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

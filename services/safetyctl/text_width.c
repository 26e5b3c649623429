/*
 * text_width - how many terminal columns UTF-8 text takes (text_width.h).
 *
 * Not wcwidth(3): that depends on the locale the operator's shell happens
 * to run in (a C locale, common under sudo and in cron, calls every
 * Chinese character unprintable), while the store always answers UTF-8.
 * So the text is decoded here and each code point looked up in two short
 * tables of ranges: the ones that take no column and the wide ones, after
 * Unicode's East Asian Width property (UAX #11) as terminals apply it.
 * The tables cover what the platform's data holds (Chinese names of
 * people, enterprises, districts and departments, with their punctuation
 * and fullwidth digits) and the common neighbours (kana, hangul, the
 * emoji blocks); a rarer script's character counts as one column, which
 * is what it takes in most terminals.
 */
#include <string.h>

#include "text_width.h"

/* A closed range of code points. */
struct cp_range {
	uint32_t lo, hi;
};

/* No column: combining marks, zero-width and format characters; sorted. */
static const struct cp_range zero_width[] = {
    {0x0300, 0x036F},   /* combining diacritical marks */
    {0x0483, 0x0489},   /* Cyrillic combining */
    {0x0591, 0x05BD},   /* Hebrew points */
    {0x0610, 0x061A},   /* Arabic signs */
    {0x064B, 0x065F},   /* Arabic vowel marks */
    {0x1160, 0x11FF},   /* hangul medial vowels and finals (conjoining) */
    {0x1AB0, 0x1AFF},   /* combining diacritical marks extended */
    {0x1DC0, 0x1DFF},   /* combining diacritical marks supplement */
    {0x200B, 0x200F},   /* zero width space, joiners, direction marks */
    {0x202A, 0x202E},   /* bidirectional embeddings */
    {0x2060, 0x2064},   /* word joiner, invisible operators */
    {0x20D0, 0x20FF},   /* combining marks for symbols */
    {0x302A, 0x302D},   /* ideographic tone marks */
    {0x3099, 0x309A},   /* combining kana voiced sound marks */
    {0xFE00, 0xFE0F},   /* variation selectors */
    {0xFE20, 0xFE2F},   /* combining half marks */
    {0xFEFF, 0xFEFF},   /* zero width no-break space (BOM) */
    {0xE0100, 0xE01EF}, /* variation selectors supplement */
};

/* Two columns: East Asian Wide and Fullwidth; sorted. */
static const struct cp_range wide[] = {
    {0x1100, 0x115F},   /* hangul initial consonants */
    {0x2329, 0x232A},   /* angle brackets */
    {0x2E80, 0x303E},   /* CJK radicals, Kangxi, CJK symbols and punctuation */
    {0x3041, 0x33FF},   /* kana, bopomofo, hangul jamo, enclosed CJK */
    {0x3400, 0x4DBF},   /* CJK extension A */
    {0x4E00, 0xA4CF},   /* CJK unified ideographs, Yi */
    {0xA960, 0xA97F},   /* hangul jamo extended A */
    {0xAC00, 0xD7A3},   /* hangul syllables */
    {0xF900, 0xFAFF},   /* CJK compatibility ideographs */
    {0xFE10, 0xFE19},   /* vertical forms */
    {0xFE30, 0xFE6F},   /* CJK compatibility forms, small forms */
    {0xFF00, 0xFF60},   /* fullwidth forms */
    {0xFFE0, 0xFFE6},   /* fullwidth signs */
    {0x1B000, 0x1B2FF}, /* kana supplement and extensions */
    {0x1F300, 0x1F64F}, /* pictographs, emoticons */
    {0x1F680, 0x1F6FF}, /* transport and map symbols */
    {0x1F900, 0x1F9FF}, /* supplemental symbols and pictographs */
    {0x1FA70, 0x1FAFF}, /* symbols and pictographs extended A */
    {0x20000, 0x2FFFD}, /* CJK extensions B to F, compatibility supplement */
    {0x30000, 0x3FFFD}, /* CJK extensions G and H */
};

/* Whether cp lies in one of the n sorted ranges r. */
static int
in_ranges(uint32_t cp, const struct cp_range *r, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < r[mid].lo)
			hi = mid;
		else if (cp > r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

int
text_width_cp(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
		return 0;
	if (cp < 0x300)
		return 1;
	if (in_ranges(
	        cp, zero_width, sizeof(zero_width) / sizeof(zero_width[0])))
		return 0;
	if (in_ranges(cp, wide, sizeof(wide) / sizeof(wide[0])))
		return 2;
	return 1;
}

/*
 * Decode the UTF-8 sequence at s (n > 0 bytes left) into *cp; the bytes it
 * takes, or 0 when it is not valid UTF-8 (a stray continuation byte, a
 * lead byte that cannot start one, a sequence cut short, an overlong form,
 * a surrogate, a value above U+10FFFF).
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xC2 && b <= 0xDF) {
		len = 2;
		*cp = b & 0x1F;
	} else if (b >= 0xE0 && b <= 0xEF) {
		len = 3;
		*cp = b & 0x0F;
		if (b == 0xE0)
			lo = 0xA0; /* no overlong forms */
		else if (b == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		len = 4;
		*cp = b & 0x07;
		if (b == 0xF0)
			lo = 0x90; /* no overlong forms */
		else if (b == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (i > 1 && (s[i] < 0x80 || s[i] > 0xBF))
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	return len;
}

size_t
text_width(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t cols = 0, i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);

		if (n == 0) {
			/* Shown as one replacement character. */
			cols++;
			i++;
			continue;
		}
		cols += (size_t)text_width_cp(cp);
		i += n;
	}
	return cols;
}

int
text_pad(FILE *out, const char *s, size_t columns)
{
	size_t w = text_width(s, strlen(s));

	if (fputs(s, out) == EOF)
		return -1;
	for (; w < columns; w++)
		if (putc(' ', out) == EOF)
			return -1;
	return 0;
}

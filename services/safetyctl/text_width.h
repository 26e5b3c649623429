/*
 * text_width - how many terminal columns UTF-8 text takes, for safetyctl's
 * tables.
 *
 * printf's "%-*s" pads by bytes, so a column of Chinese names (three bytes
 * and two columns a character) comes out ragged.  The commands that print
 * tables (cmd_officer.c) measure each cell with text_width() and pad it
 * with text_pad().  Wide are the East Asian Wide and Fullwidth characters
 * (CJK ideographs and punctuation, kana, hangul, fullwidth forms, the
 * pictographs terminals draw double); combining marks, zero-width
 * characters and controls take none; everything else one.  A byte that is
 * not part of valid UTF-8 counts as one column, as the replacement
 * character a terminal shows for it.  Pure functions: no locale, no
 * allocation; the caller owns the text.
 */
#ifndef ANQUAN_SAFETYCTL_TEXT_WIDTH_H
#define ANQUAN_SAFETYCTL_TEXT_WIDTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Columns code point cp takes: 0, 1 or 2. */
int text_width_cp(uint32_t cp);

/* Columns the first len bytes of s take (s need not end in a NUL). */
size_t text_width(const char *s, size_t len);

/*
 * Print the NUL-terminated s on out, then spaces up to columns; a wider s
 * is printed whole, with no space after it.  0, or -1 when out failed.
 */
int text_pad(FILE *out, const char *s, size_t columns);

#endif

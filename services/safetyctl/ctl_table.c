/*
 * ctl_table - the column-aligned listings of safetyctl (token list,
 * officer list, audit tail).
 *
 * A column is as wide as its widest cell in terminal columns
 * (text_width.h): officers' names, units and audit subjects are Chinese,
 * two columns a character in three bytes, so padding by bytes would skew
 * the rest of the line.  The last column is not padded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetyctl.h"
#include "text_width.h"

void
ctl_table_print(FILE *out, const PGresult *res, const char *const *titles,
    int ncols)
{
	size_t *width = calloc((size_t)ncols + 1, sizeof(*width));
	int rows = PQntuples(res);

	if (width == NULL)
		return;
	for (int col = 0; col < ncols; col++) {
		width[col] = text_width(titles[col], strlen(titles[col]));
		for (int r = 0; r < rows; r++) {
			size_t w = text_width(PQgetvalue(res, r, col),
			    (size_t)PQgetlength(res, r, col));

			if (w > width[col])
				width[col] = w;
		}
	}
	for (int r = -1; r < rows; r++)
		for (int col = 0; col < ncols; col++) {
			const char *cell =
			    r < 0 ? titles[col] : PQgetvalue(res, r, col);

			if (col < ncols - 1) {
				text_pad(out, cell, width[col]);
				fputs("  ", out);
			} else {
				fprintf(out, "%s\n", cell);
			}
		}
	free(width);
}

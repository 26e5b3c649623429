/*
 * import_csv - a spreadsheet saved as CSV, read and turned into the data of
 * events, for `safetyctl import`.
 *
 * cmd_import.c owns the file's bytes and the command; this module owns the
 * pure steps in between, none of which prints or talks to the network: the
 * CSV reader (import_csv_*), the header checked against a kind's fields
 * (import_header_*), a record's cells checked, hashed into an event id and
 * converted into the event's data object (import_row_*), and the cell
 * conversion of each type (import_cell_convert).  Every rejection comes back
 * as a reason a person can act on, in a buffer the caller gives; cmd_import.c
 * adds the file and line.  Memory: struct import_cells and struct
 * import_header own their buffers (freed by import_csv_cells_free and
 * import_header_free); a cJSON returned belongs to the caller.
 */
#ifndef ANQUAN_SAFETYCTL_IMPORT_CSV_H
#define ANQUAN_SAFETYCTL_IMPORT_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "import_kinds.h"

#define IMPORT_COLUMNS_MAX 64
#define IMPORT_DEPTH_MAX 4  /* segments of a dotted header */
#define IMPORT_BASE_MAX 120 /* bytes of the file name kept in ids */
#define IMPORT_ID_SIZE (IMPORT_BASE_MAX + 64) /* an event id and its NUL */
#define IMPORT_REASON_MAX 400 /* a rejection's reason, with its NUL */

/* The file being read: bytes, position, the current physical line. */
struct import_csv {
	const char *data;
	size_t len, pos;
	long line;
};

/* One record's cells: NUL-separated in buf, starts in off. */
struct import_cells {
	char *buf;
	size_t len, cap;
	size_t off[IMPORT_COLUMNS_MAX + 1];
	size_t n;      /* cells kept, at most IMPORT_COLUMNS_MAX */
	bool too_many; /* the record had more than that */
};

/* A column: the path its header names in data, and the cell's type. */
struct import_column {
	char *name;   /* the header as written */
	char *segbuf; /* name with '.' cut to NULs */
	const char *seg[IMPORT_DEPTH_MAX];
	int depth;
	enum import_ftype type;
};

/* The header row read against a kind. */
struct import_header {
	const struct import_kind *kind;
	struct import_column cols[IMPORT_COLUMNS_MAX];
	size_t ncols;
};

/*
 * Start reading len bytes of data (not copied: they must outlive f) at line
 * 1, past a UTF-8 BOM.  Returns 0, or -1 when the data is UTF-16.
 */
int import_csv_open(struct import_csv *f, const char *data, size_t len);

/*
 * The next record into c (blank lines skipped), its first line in *line:
 * 1 read, 0 end of file, -1 malformed (why says so; the reader is past it),
 * -2 out of memory.  Quoted fields may hold commas, doubled quotes and line
 * ends; a CRLF inside one is read as LF.
 */
int import_csv_record(struct import_csv *f, struct import_cells *c, long *line,
    char *why, size_t whysize);

/* Cell i (< c->n) of the last record, NUL-terminated. */
const char *import_csv_cell(const struct import_cells *c, size_t i);

/* Free the cells' buffer; c may be read into again after. */
void import_csv_cells_free(struct import_cells *c);

/* Cut leading and trailing blanks (space, tab) of s in place; the start. */
char *import_trim(char *s);

/*
 * The first record c as the header of kind k into h (zeroed by the
 * caller): 0, or -1 with why (an unknown, empty, too deep or repeated
 * column, a dotted part of a field that is no object, not UTF-8, more than
 * IMPORT_COLUMNS_MAX columns).  Trims c's cells in place.  h owns copies
 * of the names even on failure: free it with import_header_free.
 */
int import_header_read(struct import_header *h, const struct import_kind *k,
    struct import_cells *c, char *why, size_t whysize);

/* Free the names that import_header_read copied. */
void import_header_free(struct import_header *h);

/*
 * Check a data record against the header and trim its cells in place:
 * 1 a row to convert, 0 no row at all (every cell blank, as spreadsheets
 * leave below a table), -1 a bad row (wrong number of fields, a cell not
 * UTF-8) with why.
 */
int import_row_check(const struct import_header *h, struct import_cells *c,
    char *why, size_t whysize);

/*
 * The event id of a checked row: import:<idbase>:<line>:<12 hex>, the hex
 * from a SHA-256 over the kind, the headers and the trimmed cells, so the
 * same row of the same file always has the same id.
 */
void import_row_id(const struct import_header *h, const char *idbase, long line,
    const struct import_cells *c, char *out, size_t size);

/*
 * The data object of a checked row: each non-blank cell converted by its
 * column's type and put at its path (dotted columns make objects).  NULL
 * with why when a cell does not convert, NULL with why[0] == '\0' when out
 * of memory.  May modify the cells (a;b;c lists are cut in place).
 */
cJSON *import_row_data(const struct import_header *h, struct import_cells *c,
    char *why, size_t whysize);

/*
 * One non-blank, trimmed cell s as JSON of col's type; s may be modified.
 * NULL with why when it does not convert, with why untouched when out of
 * memory (so set why[0] = '\0' first to tell them apart).
 */
cJSON *import_cell_convert(
    const struct import_column *col, char *s, char *why, size_t whysize);

#endif

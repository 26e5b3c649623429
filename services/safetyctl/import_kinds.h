/*
 * import_kinds - the event kinds `safetyctl import` knows and the type of
 * each of their fields.
 *
 * A spreadsheet cell is text; the kinds of DOMAIN.md §2 want numbers,
 * booleans, dates, times, objects and lists in their data.  This table says,
 * per kind and field, how import_csv.c turns a cell into JSON.  It is the
 * only place that lists the fields: cmd_import.c looks a kind up here and
 * prints its fields for `safetyctl import -h KIND`, import_csv.c checks a
 * header against it.  Everything here is constant and owned by the module.
 */
#ifndef ANQUAN_SAFETYCTL_IMPORT_KINDS_H
#define ANQUAN_SAFETYCTL_IMPORT_KINDS_H

#include <stddef.h>
#include <stdio.h>

/* How a cell becomes JSON. */
enum import_ftype {
	IMPORT_F_STR,  /* the text as is (a code "001" stays a string) */
	IMPORT_F_INT,  /* a whole number */
	IMPORT_F_NUM,  /* a number */
	IMPORT_F_BOOL, /* true/false, yes/no, 1/0, y/n, 是/否 */
	IMPORT_F_DATE, /* YYYY-MM-DD (also YYYY/M/D), sent as YYYY-MM-DD */
	IMPORT_F_TIME, /* RFC 3339, city-time YYYY-MM-DD HH:MM[:SS], epoch ms */
	IMPORT_F_OBJ,  /* a JSON object in the cell, or dotted columns */
	IMPORT_F_ARR,  /* a JSON array in the cell */
	IMPORT_F_LIST, /* a JSON array, or strings separated by ';' */
};

struct import_field {
	const char *name;
	enum import_ftype type;
};

struct import_kind {
	const char *name;                  /* "enterprise.upsert", ... */
	const struct import_field *fields; /* ends with a NULL name */
};

/* The kind named name, or NULL. */
const struct import_kind *import_kind_find(const char *name);

/* The i-th kind in DOMAIN.md's order, or NULL past the last. */
const struct import_kind *import_kind_at(size_t i);

/* The field of k named name (a header's first dotted part), or NULL. */
const struct import_field *import_kind_field(
    const struct import_kind *k, const char *name);

/* A type's name for people: "whole number", "date", ... */
const char *import_ftype_name(enum import_ftype type);

/* Print k's fields and their types on one line: "uscc (text), ...". */
void import_kind_print_fields(FILE *fp, const struct import_kind *k);

#endif

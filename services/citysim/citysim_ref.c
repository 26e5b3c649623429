/*
 * citysim_ref - the code tables the demo city is built on.
 *
 * The city has the districts, sectors and departments of deploy/data, the
 * same files the store's reference tables are migrated from, so every code
 * citysim sends is one ingestd knows.  common/ids.c reads only code and
 * name; the simulator also needs each sector's lead department and whether
 * a department enforces, the third column, so it reads the files itself.
 * The files are plain (no quoted fields); a line citysim cannot read stops
 * it with the file and line.  sim_ref_load() fills a struct sim_ref that
 * the caller frees with sim_ref_free().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "citysim.h"

/* Copy field into dst (of size), refusing what does not fit. */
static int
field_copy(char *dst, size_t size, const char *src, size_t n)
{
	if (n == 0 || n >= size)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* One data line: code,name[,extra[,...]]. */
static int
parse_line(const char *line, struct sim_ref_row *row)
{
	const char *c1 = strchr(line, ',');
	const char *c2, *end;

	if (c1 == NULL || strchr(line, '"') != NULL)
		return -1;
	memset(row, 0, sizeof(*row));
	if (field_copy(
	        row->code, sizeof(row->code), line, (size_t)(c1 - line)) != 0)
		return -1;
	c2 = strchr(c1 + 1, ',');
	end = c2 != NULL ? c2 : c1 + 1 + strlen(c1 + 1);
	if (field_copy(row->name, sizeof(row->name), c1 + 1,
	        (size_t)(end - c1 - 1)) != 0)
		return -1;
	if (c2 != NULL) {
		const char *c3 = strchr(c2 + 1, ',');
		size_t n = c3 != NULL ? (size_t)(c3 - c2 - 1) : strlen(c2 + 1);

		if (n > 0 &&
		    field_copy(row->extra, sizeof(row->extra), c2 + 1, n) != 0)
			return -1;
	}
	return 0;
}

static int
load_table(struct sim_ref_table *t, const char *dir, const char *file,
    char *why, size_t whysize)
{
	char path[1024], line[512];
	unsigned lineno = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fp = fopen(path, "r");
	if (fp == NULL) {
		snprintf(why, whysize,
		    "%s: %s (use --data DIR to name the "
		    "folder of districts.csv, sectors.csv, departments.csv)",
		    path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t n = strcspn(line, "\r\n");
		struct sim_ref_row *rows;

		lineno++;
		line[n] = '\0';
		if (lineno == 1 || n == 0)
			continue; /* the header, blank lines */
		rows = realloc(t->rows, (t->n + 1) * sizeof(*rows));
		if (rows == NULL) {
			snprintf(why, whysize, "out of memory");
			fclose(fp);
			return -1;
		}
		t->rows = rows;
		if (parse_line(line, &t->rows[t->n]) != 0) {
			snprintf(why, whysize,
			    "%s:%u: expected code,name[,...] without quotes "
			    "and within %d bytes a field",
			    path, lineno, SIM_NAME_MAX - 1);
			fclose(fp);
			return -1;
		}
		t->n++;
	}
	fclose(fp);
	if (t->n == 0) {
		snprintf(why, whysize, "%s: no rows", path);
		return -1;
	}
	return 0;
}

int
sim_ref_load(struct sim_ref *ref, const char *dir, char *why, size_t whysize)
{
	memset(ref, 0, sizeof(*ref));
	if (load_table(&ref->districts, dir, "districts.csv", why, whysize) !=
	        0 ||
	    load_table(&ref->sectors, dir, "sectors.csv", why, whysize) != 0 ||
	    load_table(
	        &ref->departments, dir, "departments.csv", why, whysize) != 0) {
		sim_ref_free(ref);
		return -1;
	}
	for (size_t i = 0; i < ref->sectors.n; i++) {
		if (sim_ref_find(
		        &ref->departments, ref->sectors.rows[i].extra) < 0) {
			snprintf(why, whysize,
			    "sectors.csv: sector %s names lead department "
			    "'%s', which departments.csv lacks",
			    ref->sectors.rows[i].code,
			    ref->sectors.rows[i].extra);
			sim_ref_free(ref);
			return -1;
		}
	}
	return 0;
}

void
sim_ref_free(struct sim_ref *ref)
{
	free(ref->districts.rows);
	free(ref->sectors.rows);
	free(ref->departments.rows);
	memset(ref, 0, sizeof(*ref));
}

int
sim_ref_find(const struct sim_ref_table *t, const char *code)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].code, code) == 0)
			return (int)i;
	return -1;
}

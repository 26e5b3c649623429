/*
 * store_migrate - apply deploy/sql/NNNN_name.sql once each, in order.
 *
 * safetyctl migrate, make run and every system test call store_migrate().
 * The schema lives only in those numbered files; the one table made here,
 * schema_migrations, is the runner's own ledger, which must exist before the
 * first file can be recorded in it.
 *
 * A run: list the folder (NNNN_name.sql; other files are ignored, a
 * malformed NNNN name or a number used twice is an error), read every file
 * and the CSVs it loads, and compute a checksum of those bytes (FNV-1a 64:
 * not for security, only to notice an edit).  Then, under an advisory lock,
 * compare with what schema_migrations holds: an applied file whose checksum
 * changed stops the run before anything is applied, since the databases
 * already migrated would silently differ from new ones.  Each pending file
 * then runs in its own transaction together with its ledger row, taking the
 * lock again, so two runners started at once apply each file exactly once.
 *
 * A line "-- load: TABLE FILE.csv" splits a file: the SQL before it runs,
 * then FILE.csv (from ../data/ next to the folder) is sent by COPY FROM
 * STDIN in CSV format with its header naming the columns, then the SQL
 * after it.  Reference data is thus never retyped as INSERTs, and the
 * migration does not depend on where the files sit on the server's disk.
 */
#include "store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "log.h"

#define FILE_MAX_BYTES (64L * 1024 * 1024)
#define IDENT_MAX 63
#define COLUMNS_MAX 2048
#define LOAD_PREFIX "-- load:"
/* The runner's advisory lock: one constant, used nowhere else. */
#define MIGRATE_LOCK_KEY "4242000000000001"

/* --- names ---------------------------------------------------------------- */

int
store_migration_name_parse(
    const char *fname, int *version, char *why, size_t whysize)
{
	size_t len = strlen(fname), i;

	/* Hidden files are editors' and tools' business, as are files with
	 * another suffix (README, 0001_x.sql.orig, 0001_x.sql~). */
	if (fname[0] == '.' || len < 4 || strcasecmp(fname + len - 4, ".sql"))
		return 0;
	if (strcmp(fname + len - 4, ".sql") != 0) {
		snprintf(
		    why, whysize, "the suffix must be \".sql\" in lower case");
		return -1;
	}
	if (len >= STORE_MIGRATION_FILE_MAX) {
		snprintf(why, whysize, "name longer than %d bytes",
		    STORE_MIGRATION_FILE_MAX - 1);
		return -1;
	}
	for (i = 0; isdigit((unsigned char)fname[i]); i++)
		;
	if (i != 4 || fname[4] != '_') {
		snprintf(why, whysize,
		    "a migration is named NNNN_name.sql: four digits, an "
		    "underscore, a name");
		return -1;
	}
	if (len == 5 + 4) {
		snprintf(why, whysize, "the name after NNNN_ is empty");
		return -1;
	}
	for (i = 5; i < len - 4; i++) {
		unsigned char c = (unsigned char)fname[i];
		if (!isalnum(c) && c != '_' && c != '-') {
			snprintf(why, whysize,
			    "character %zu of the name is not a letter, digit, "
			    "'_' or '-'",
			    i + 1);
			return -1;
		}
	}
	*version = (fname[0] - '0') * 1000 + (fname[1] - '0') * 100 +
	           (fname[2] - '0') * 10 + (fname[3] - '0');
	if (*version == 0) {
		snprintf(why, whysize, "0000 is not a version: start at 0001");
		return -1;
	}
	return 1;
}

static int
by_version(const void *a, const void *b)
{
	const struct store_migration *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->file, y->file);
}

int
store_migrations_sort(
    struct store_migration *list, size_t n, struct store_err *err)
{
	size_t i;

	store_err_clear(err);
	if (n > 1)
		qsort(list, n, sizeof(*list), by_version);
	for (i = 1; i < n; i++) {
		if (list[i].version == list[i - 1].version) {
			store_err_setf(err, STORE_ERR_SQL, "42710",
			    "%s and %s share the number %04d: renumber one",
			    list[i - 1].file, list[i].file, list[i].version);
			return -1;
		}
	}
	return 0;
}

int
store_migrations_scan(const char *dir, struct store_migration **list, size_t *n,
    struct store_err *err)
{
	struct store_migration *v = NULL, *p;
	struct dirent *de;
	char why[160];
	size_t count = 0, cap = 0;
	int version, r;
	DIR *d;

	store_err_clear(err);
	*list = NULL;
	*n = 0;
	d = opendir(dir);
	if (d == NULL) {
		store_err_setf(err, STORE_ERR_SQL, "58P01",
		    "cannot open the migrations folder %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		r = store_migration_name_parse(
		    de->d_name, &version, why, sizeof(why));
		if (r == 0)
			continue;
		if (r < 0) {
			store_err_setf(err, STORE_ERR_SQL, "42602", "%s/%s: %s",
			    dir, de->d_name, why);
			goto fail;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			p = realloc(v, cap * sizeof(*v));
			if (p == NULL) {
				store_err_set(err, STORE_ERR_SQL, "53200",
				    "out of memory listing migrations");
				goto fail;
			}
			v = p;
		}
		v[count].version = version;
		/* name_parse() checked that it fits. */
		memcpy(v[count].file, de->d_name, strlen(de->d_name) + 1);
		count++;
	}
	closedir(d);
	if (store_migrations_sort(v, count, err) < 0) {
		free(v);
		return -1;
	}
	*list = v;
	*n = count;
	return 0;
fail:
	closedir(d);
	free(v);
	return -1;
}

/* --- the pure helpers ----------------------------------------------------- */

uint64_t
store_fnv1a64(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int
store_line_of_position(const char *text, size_t len, int pos)
{
	int line = 1, chars = 0;
	size_t i;

	for (i = 0; i < len && pos > 0; i++) {
		/* Count characters at their first byte, as the server does. */
		if (((unsigned char)text[i] & 0xC0) != 0x80 && ++chars == pos)
			break;
		if (text[i] == '\n')
			line++;
	}
	return line;
}

/*
 * The scanner below finds statements that would end the runner's
 * transaction.  It knows what can hide a word from the server: comments
 * (nested), quoted strings (E'' with backslashes), quoted identifiers and
 * dollar quotes (function bodies, where BEGIN and END are plpgsql's).  The
 * body of a BEGIN ATOMIC function is not dollar-quoted; like psql, count
 * CASE ... END inside it so its END is not taken for a COMMIT.
 */
static size_t
skip_quoted(const char *s, size_t len, size_t i, int backslashes, int *line)
{
	char q = s[i];

	for (i++; i < len; i++) {
		if (backslashes && s[i] == '\\' && i + 1 < len) {
			if (s[++i] == '\n')
				(*line)++;
		} else if (s[i] == q) {
			if (i + 1 < len && s[i + 1] == q)
				i++;
			else
				return i + 1;
		} else if (s[i] == '\n') {
			(*line)++;
		}
	}
	return len;
}

static size_t
skip_comment(const char *s, size_t len, size_t i, int *line)
{
	int depth = 0;

	if (s[i] == '-') {
		while (i < len && s[i] != '\n')
			i++;
		return i;
	}
	while (i < len) {
		if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
			depth++;
			i += 2;
		} else if (s[i] == '*' && i + 1 < len && s[i + 1] == '/') {
			i += 2;
			if (--depth == 0)
				return i;
		} else {
			if (s[i] == '\n')
				(*line)++;
			i++;
		}
	}
	return len;
}

/* At $: skip a $tag$...$tag$ quote and return past it, or 0 if none. */
static size_t
skip_dollar(const char *s, size_t len, size_t i, int *line)
{
	size_t j = i + 1, taglen, k;

	if (j < len && isdigit((unsigned char)s[j]))
		return 0; /* a parameter, $1 */
	while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '_'))
		j++;
	if (j >= len || s[j] != '$')
		return 0;
	taglen = j - i + 1;
	for (k = j + 1; k + taglen <= len; k++) {
		if (s[k] == '$' && memcmp(s + k, s + i, taglen) == 0) {
			for (j = i; j < k; j++)
				if (s[j] == '\n')
					(*line)++;
			return k + taglen;
		}
	}
	return len;
}

static int
word_start(unsigned char c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

int
store_sql_txn_control(const char *s, size_t len, char *word, size_t wordsize)
{
	static const char *const ends[] = {
	    "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"};
	char w[16], prev[16] = "";
	int line = 1, first = 1, atomic = 0;
	size_t i = 0, j, k, n;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') {
			line++;
			i++;
		} else if ((c == '-' && i + 1 < len && s[i + 1] == '-') ||
		           (c == '/' && i + 1 < len && s[i + 1] == '*')) {
			i = skip_comment(s, len, i, &line);
		} else if (c == '\'' || c == '"') {
			i = skip_quoted(s, len, i, 0, &line);
			first = 0;
		} else if (c == '$' && (j = skip_dollar(s, len, i, &line))) {
			i = j;
			first = 0;
		} else if (c == ';') {
			if (atomic == 0)
				first = 1;
			i++;
		} else if (word_start(c)) {
			for (j = i;
			     j < len &&
			     (word_start((unsigned char)s[j]) ||
			         isdigit((unsigned char)s[j]) || s[j] == '$');
			     j++)
				;
			n = j - i < sizeof(w) - 1 ? j - i : 0;
			for (k = 0; k < n; k++)
				w[k] = (char)toupper((unsigned char)s[i + k]);
			w[n] = '\0';
			if (j - i == 1 && (c == 'E' || c == 'e') && j < len &&
			    s[j] == '\'') {
				i = skip_quoted(s, len, j, 1, &line);
				first = 0;
				continue;
			}
			if (first) {
				for (k = 0; k < sizeof(ends) / sizeof(ends[0]);
				     k++)
					if (strcmp(w, ends[k]) == 0) {
						snprintf(
						    word, wordsize, "%s", w);
						return line;
					}
				first = 0;
			} else if (strcmp(prev, "BEGIN") == 0 &&
			           strcmp(w, "ATOMIC") == 0) {
				atomic++;
			} else if (atomic > 0 && strcmp(w, "CASE") == 0) {
				atomic++;
			} else if (atomic > 0 && strcmp(w, "END") == 0) {
				atomic--;
			}
			memcpy(prev, w, n + 1);
			i = j;
		} else {
			if (!isspace(c))
				first = 0;
			i++;
		}
	}
	return 0;
}

/* A plain lower-case SQL name, so quoting it can change nothing. */
static int
is_ident(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > IDENT_MAX ||
	    !(islower((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* A bare file name in the data folder: no path, no hidden file. */
static int
is_csv_name(const char *s, size_t n)
{
	size_t i;

	if (n < 5 || n >= 128 || s[0] == '.' || strncmp(s + n - 4, ".csv", 4))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

int
store_load_directive_parse(const char *line, size_t len, char *table,
    size_t tablesize, char *file, size_t filesize, char *why, size_t whysize)
{
	const char *p = line, *end = line + len, *tok;
	size_t plen = strlen(LOAD_PREFIX);

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p < 2 || p[0] != '-' || p[1] != '-')
		return 0;
	/* Near misses ("--load:", "-- LOAD :") would silently load
	 * nothing: recognise them and refuse. */
	{
		const char *q = p + 2;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q < 4 || strncasecmp(q, "load", 4) != 0)
			return 0;
		q += 4;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q == end || *q != ':')
			return 0;
	}
	if ((size_t)(end - p) < plen || memcmp(p, LOAD_PREFIX, plen) != 0) {
		snprintf(why, whysize,
		    "write the directive exactly as \"-- load: TABLE "
		    "FILE.csv\"");
		return -1;
	}
	p += plen;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (tok = p; p < end && *p != ' ' && *p != '\t' && *p != '\r'; p++)
		;
	if (!is_ident(tok, (size_t)(p - tok)) ||
	    (size_t)(p - tok) >= tablesize) {
		snprintf(why, whysize,
		    "the table must be a plain lower-case name (a-z, 0-9, _)");
		return -1;
	}
	memcpy(table, tok, (size_t)(p - tok));
	table[p - tok] = '\0';
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (tok = p; p < end && *p != ' ' && *p != '\t' && *p != '\r'; p++)
		;
	if (!is_csv_name(tok, (size_t)(p - tok)) ||
	    (size_t)(p - tok) >= filesize) {
		snprintf(why, whysize,
		    "the file must be a bare NAME.csv from the data folder "
		    "(letters, digits, '_', '-', '.')");
		return -1;
	}
	memcpy(file, tok, (size_t)(p - tok));
	file[p - tok] = '\0';
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p != end) {
		snprintf(why, whysize, "unexpected text after the file name");
		return -1;
	}
	return 1;
}

int
store_csv_header_columns(const char *csv, size_t len, char *out, size_t outsize,
    char *why, size_t whysize)
{
	const char *p = csv, *end, *col, *c;
	const char *seen[COLUMNS_MAX / 4];
	size_t seen_len[COLUMNS_MAX / 4];
	size_t used = 0, n, k, ncols = 0;

	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* a BOM; COPY skips the whole header line anyway */
	end = memchr(p, '\n', len - (size_t)(p - csv));
	if (end == NULL)
		end = csv + len;
	if (end > p && end[-1] == '\r')
		end--;
	if (end == p) {
		snprintf(why, whysize, "the header line is empty");
		return -1;
	}
	for (col = p;; col = c + 1) {
		c = memchr(col, ',', (size_t)(end - col));
		if (c == NULL)
			c = end;
		n = (size_t)(c - col);
		if (!is_ident(col, n)) {
			snprintf(why, whysize,
			    "header column %zu (\"%.*s\") is not a plain "
			    "lower-case name",
			    ncols + 1, (int)(n > 40 ? 40 : n), col);
			return -1;
		}
		/* COPY would refuse it too, but less clearly. */
		for (k = 0; k < ncols; k++)
			if (seen_len[k] == n && memcmp(seen[k], col, n) == 0) {
				snprintf(why, whysize,
				    "header column \"%.*s\" appears twice",
				    (int)n, col);
				return -1;
			}
		if (ncols == sizeof(seen) / sizeof(seen[0]) ||
		    used + n + 4 > outsize) {
			snprintf(why, whysize, "the header is too long");
			return -1;
		}
		seen[ncols] = col;
		seen_len[ncols++] = n;
		used += (size_t)snprintf(out + used, outsize - used,
		    "%s\"%.*s\"", used ? "," : "", (int)n, col);
		if (c == end)
			return 0;
	}
}

/* --- reading the files ---------------------------------------------------- */

struct step {
	int is_load;
	int line;  /* where the step starts in its file */
	char *sql; /* SQL steps: NUL-terminated, inside the file text */
	char table[IDENT_MAX + 1];
	char file[128];
	char columns[COLUMNS_MAX];
	char *csv;
	size_t csv_len;
};

struct mfile {
	struct store_migration m;
	char *text;
	size_t len;
	struct step *steps;
	size_t nsteps;
	char checksum[17];
};

static void
mfile_free(struct mfile *f)
{
	size_t i;

	for (i = 0; i < f->nsteps; i++)
		free(f->steps[i].csv);
	free(f->steps);
	free(f->text);
}

static int
read_fail(
    struct store_err *err, const char *state, const char *path, const char *why)
{
	store_err_setf(
	    err, STORE_ERR_SQL, state, "cannot read %s: %s", path, why);
	return -1;
}

/* Read a whole regular file, NUL-terminated; 0, or -1 with *err. */
static int
read_all(const char *path, char **out, size_t *len, struct store_err *err)
{
	struct stat sb;
	size_t got;
	FILE *fp;
	char *buf;

	fp = fopen(path, "rb");
	if (fp == NULL)
		return read_fail(err, "58P01", path, strerror(errno));
	if (fstat(fileno(fp), &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > FILE_MAX_BYTES) {
		fclose(fp);
		return read_fail(
		    err, "58030", path, "not a regular file of at most 64 MB");
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		fclose(fp);
		return read_fail(err, "53200", path, "out of memory");
	}
	got = fread(buf, 1, (size_t)sb.st_size, fp);
	fclose(fp);
	if (got != (size_t)sb.st_size) {
		free(buf);
		return read_fail(err, "58030", path, "short read");
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static struct step *
add_step(struct mfile *f, struct store_err *err)
{
	struct step *p = realloc(f->steps, (f->nsteps + 1) * sizeof(*p));

	if (p == NULL) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		return NULL;
	}
	f->steps = p;
	p = &f->steps[f->nsteps++];
	memset(p, 0, sizeof(*p));
	return p;
}

/*
 * Put the file name (and line, when known) in front of the message.  The
 * arguments may point into *err itself; a connection failure stays one.
 */
static int file_err(struct store_err *err, const char *state,
    const struct mfile *f, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
file_err(struct store_err *err, const char *state, const struct mfile *f,
    int line, const char *fmt, ...)
{
	enum store_err_kind kind =
	    err->kind == STORE_ERR_CONN ? STORE_ERR_CONN : STORE_ERR_SQL;
	char text[sizeof(err->msg)], code[6];
	va_list ap;

	snprintf(code, sizeof(code), "%s", state);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (line > 0)
		store_err_setf(
		    err, kind, code, "%s line %d: %s", f->m.file, line, text);
	else if (line < 0)
		store_err_setf(err, kind, code,
		    "%s (statements from line %d): %s", f->m.file, -line, text);
	else
		store_err_setf(err, kind, code, "%s: %s", f->m.file, text);
	return -1;
}

/* The CSV a load step names, its columns, and its share of the checksum. */
static int
load_csv(const char *dir, struct mfile *f, struct step *s, int line,
    uint64_t *h, struct store_err *err)
{
	char path[4096], why[200];

	snprintf(path, sizeof(path), "%s/../data/%s", dir, s->file);
	if (read_all(path, &s->csv, &s->csv_len, err) < 0)
		return file_err(err, err->sqlstate, f, line, "%s", err->msg);
	if (store_csv_header_columns(s->csv, s->csv_len, s->columns,
	        sizeof(s->columns), why, sizeof(why)) < 0)
		return file_err(err, "22P04", f, line, "%s: %s", s->file, why);
	*h = store_fnv1a64(*h, s->file, strlen(s->file) + 1);
	*h = store_fnv1a64(*h, s->csv, s->csv_len);
	return 0;
}

/* Read one migration, split it at its load directives, checksum it all. */
static int
mfile_read(const char *dir, struct mfile *f, struct store_err *err)
{
	char path[4096], why[200], table[IDENT_MAX + 1], file[128];
	size_t ls, le, seg = 0, i;
	int line = 1, seg_line = 1, r;
	struct step *s;
	uint64_t h;

	snprintf(path, sizeof(path), "%s/%s", dir, f->m.file);
	if (read_all(path, &f->text, &f->len, err) < 0)
		return -1;
	if (memchr(f->text, '\0', f->len) != NULL)
		return file_err(err, "22021", f, 0, "contains a NUL byte");
	h = store_fnv1a64(STORE_FNV1A64_INIT, f->text, f->len);
	for (ls = 0; ls < f->len; ls = le + 1, line++) {
		const char *nl = memchr(f->text + ls, '\n', f->len - ls);
		le = nl ? (size_t)(nl - f->text) : f->len;
		r = store_load_directive_parse(f->text + ls, le - ls, table,
		    sizeof(table), file, sizeof(file), why, sizeof(why));
		if (r < 0)
			return file_err(err, "42601", f, line, "%s", why);
		if (r == 0)
			continue;
		if ((s = add_step(f, err)) == NULL)
			return -1;
		s->sql = f->text + seg;
		s->line = seg_line;
		f->text[ls] = '\0'; /* ends the SQL before the directive */
		if ((s = add_step(f, err)) == NULL)
			return -1;
		s->is_load = 1;
		s->line = line;
		memcpy(s->table, table, sizeof(s->table));
		memcpy(s->file, file, sizeof(s->file));
		if (load_csv(dir, f, s, line, &h, err) < 0)
			return -1;
		seg = le < f->len ? le + 1 : f->len;
		seg_line = line + 1;
	}
	if ((s = add_step(f, err)) == NULL)
		return -1;
	s->sql = f->text + seg;
	s->line = seg_line;
	snprintf(f->checksum, sizeof(f->checksum), "%016" PRIx64, h);
	/* Refuse before running anything: once executed, a COMMIT would
	 * have kept half the file. */
	for (i = 0; i < f->nsteps; i++) {
		char word[16];
		if (f->steps[i].is_load)
			continue;
		r = store_sql_txn_control(f->steps[i].sql,
		    strlen(f->steps[i].sql), word, sizeof(word));
		if (r > 0)
			return file_err(err, "25000", f,
			    f->steps[i].line + r - 1,
			    "%s would end the transaction each file runs in: "
			    "remove it, the runner begins and commits",
			    word);
	}
	return 0;
}

/* --- applying ------------------------------------------------------------- */

/* BEGIN, no statement timeout, and the runner's lock for this transaction. */
static int
begin_locked(struct store *st, struct store_err *err)
{
	const char *key[1] = {MIGRATE_LOCK_KEY};

	if (store_begin(st, err) < 0)
		return -1;
	if (store_exec(st,
	        "SELECT set_config('statement_timeout', '0', true),"
	        " pg_advisory_xact_lock($1::bigint)",
	        1, key, NULL, err) < 0) {
		store_rollback(st, NULL);
		return -1;
	}
	return 0;
}

static int
run_step(
    struct store *st, struct mfile *f, struct step *s, struct store_err *err)
{
	char sql[COLUMNS_MAX + 200];
	int64_t rows;
	PGconn *conn;

	if (!s->is_load) {
		if (store_exec_script(st, s->sql, err) < 0) {
			/* Without a position (errors inside a function body),
			 * point at the start of the statements instead. */
			int line = -s->line;
			if (err->position > 0)
				line = s->line - 1 +
				       store_line_of_position(s->sql,
				           strlen(s->sql), err->position);
			return file_err(err, err->sqlstate, f, line,
			    "%s (SQLSTATE %s)", err->msg, err->sqlstate);
		}
		conn = store_conn(st);
		if (conn && PQtransactionStatus(conn) != PQTRANS_INTRANS)
			return file_err(err, "25000", f, -s->line,
			    "the file ends the transaction itself (COMMIT or "
			    "ROLLBACK): remove that, each file runs in one "
			    "transaction");
		return 0;
	}
	/* COPY cannot take its table or columns as parameters.  Both are
	 * checked to be plain lower-case names and are double-quoted, so the
	 * statement can only ever name a table and its columns. */
	snprintf(sql, sizeof(sql),
	    "COPY \"%s\" (%s) FROM STDIN WITH (FORMAT csv, HEADER true)",
	    s->table, s->columns);
	rows = store_copy_data(st, sql, s->csv, s->csv_len, err);
	if (rows < 0) {
		return file_err(err, err->sqlstate, f, s->line,
		    "loading %s into %s: %s (SQLSTATE %s)", s->file, s->table,
		    err->msg, err->sqlstate);
	}
	log_info("store.migration_loaded", "file=%s table=%s csv=%s rows=%lld",
	    f->m.file, s->table, s->file, (long long)rows);
	return 0;
}

/* Apply one file: 1 applied, 0 found applied meanwhile, -1 error. */
static int
apply_file(struct store *st, struct mfile *f, struct store_err *err)
{
	const char *vals[3];
	char version[12];
	PGresult *res = NULL;
	size_t i;

	snprintf(version, sizeof(version), "%d", f->m.version);
	vals[0] = version;
	if (begin_locked(st, err) < 0)
		return file_err(err, err->sqlstate, f, 0, "%s", err->msg);
	if (store_exec(st,
	        "SELECT checksum FROM schema_migrations WHERE version = $1", 1,
	        vals, &res, err) < 0)
		goto fail;
	if (PQntuples(res) == 1) {
		/* Another runner applied it while we waited for the lock. */
		int same = strcmp(PQgetvalue(res, 0, 0), f->checksum) == 0;
		PQclear(res);
		store_rollback(st, NULL);
		if (same)
			return 0;
		return file_err(err, "XX001", f, 0,
		    "applied meanwhile with another checksum than %s",
		    f->checksum);
	}
	PQclear(res);
	for (i = 0; i < f->nsteps; i++)
		if (run_step(st, f, &f->steps[i], err) < 0) {
			store_rollback(st, NULL);
			return -1;
		}
	vals[1] = f->m.file;
	vals[2] = f->checksum;
	if (store_exec(st,
	        "INSERT INTO schema_migrations (version, name, checksum)"
	        " VALUES ($1, $2, $3)",
	        3, vals, NULL, err) < 0 ||
	    store_commit(st, err) < 0)
		goto fail;
	log_info("store.migration_applied", "file=%s checksum=%s", f->m.file,
	    f->checksum);
	return 1;
fail:
	store_rollback(st, NULL);
	return file_err(err, err->sqlstate, f, 0, "%s", err->msg);
}

/*
 * Make the ledger if needed and read it.  Returns the result (version,
 * name, checksum, applied_at) or NULL with *err.
 */
static PGresult *
read_ledger(struct store *st, struct store_err *err)
{
	PGresult *res = NULL;

	if (begin_locked(st, err) < 0)
		return NULL;
	if (store_exec(st,
	        "CREATE TABLE IF NOT EXISTS schema_migrations ("
	        " version integer PRIMARY KEY,"
	        " name text NOT NULL,"
	        " checksum text NOT NULL,"
	        " applied_at timestamptz NOT NULL DEFAULT now())",
	        0, NULL, NULL, err) < 0 ||
	    store_exec(st,
	        "SELECT version, name, checksum, applied_at"
	        " FROM schema_migrations ORDER BY version",
	        0, NULL, &res, err) < 0 ||
	    store_commit(st, err) < 0) {
		PQclear(res);
		store_rollback(st, NULL);
		return NULL;
	}
	return res;
}

/*
 * Refuse a run when an applied file changed; warn about applied versions
 * whose file is gone.  Returns the highest applied version, or -1.
 */
static int
check_ledger(const PGresult *ledger, const struct mfile *files, size_t n,
    struct store_err *err)
{
	int row, version, highest = 0;
	size_t i;

	for (row = 0; row < PQntuples(ledger); row++) {
		version = atoi(PQgetvalue(ledger, row, 0));
		if (version > highest)
			highest = version;
		for (i = 0; i < n && files[i].m.version != version; i++)
			;
		if (i == n) {
			log_warn("store.migration_missing",
			    "version=%d name=%s applied_at=%s", version,
			    PQgetvalue(ledger, row, 1),
			    PQgetvalue(ledger, row, 3));
			continue;
		}
		if (strcmp(PQgetvalue(ledger, row, 2), files[i].checksum)) {
			store_err_setf(err, STORE_ERR_SQL, "XX001",
			    "%s was changed after it was applied on %.19s "
			    "(checksum %s, recorded %s): put the change in a "
			    "new migration",
			    files[i].m.file, PQgetvalue(ledger, row, 3),
			    files[i].checksum, PQgetvalue(ledger, row, 2));
			return -1;
		}
	}
	return highest;
}

static int
is_recorded(const PGresult *ledger, int version)
{
	int row;

	for (row = 0; row < PQntuples(ledger); row++)
		if (atoi(PQgetvalue(ledger, row, 0)) == version)
			return 1;
	return 0;
}

int
store_migrate_run(struct store *st, const char *dir, store_migrate_fn fn,
    void *arg, int *applied, struct store_err *err)
{
	struct store_migration *list = NULL;
	struct mfile *files = NULL;
	PGresult *ledger = NULL;
	size_t n = 0, i;
	int rc = -1, r, highest, count = 0;

	store_err_clear(err);
	if (applied)
		*applied = 0;
	if (store_migrations_scan(dir, &list, &n, err) < 0)
		return -1;
	files = calloc(n ? n : 1, sizeof(*files));
	if (files == NULL) {
		store_err_set(err, STORE_ERR_SQL, "53200", "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		files[i].m = list[i];
		if (mfile_read(dir, &files[i], err) < 0)
			goto out;
	}
	if ((ledger = read_ledger(st, err)) == NULL)
		goto out;
	if ((highest = check_ledger(ledger, files, n, err)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (is_recorded(ledger, files[i].m.version))
			continue;
		if (files[i].m.version < highest)
			log_warn("store.migration_out_of_order",
			    "file=%s highest_applied=%d", files[i].m.file,
			    highest);
		r = apply_file(st, &files[i], err);
		if (r < 0)
			goto out;
		if (r == 1) {
			count++;
			if (applied)
				*applied = count;
			if (fn)
				fn(arg, files[i].m.version, files[i].m.file);
		}
	}
	rc = 0;
out:
	PQclear(ledger);
	for (i = 0; files && i < n; i++)
		mfile_free(&files[i]);
	free(files);
	free(list);
	return rc;
}

int
store_migrate(
    struct store *st, const char *dir, int *applied, struct store_err *err)
{
	return store_migrate_run(st, dir, NULL, NULL, applied, err);
}

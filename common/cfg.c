/*
 * cfg - declarative configuration tables over one INI file.
 *
 * A load runs in three layers over scratch storage: each key's default,
 * then the file, then the overrides.  The scratch holds one slot per key
 * (the key's own size), so nothing needs to know the size of the caller's
 * structs, and a failed load or reload leaves them exactly as they were.
 *
 * libinih does the splitting of "key = value" and the inline comments.  It
 * reads lines through our reader, which counts them (the Debian build does
 * not pass line numbers to handlers), strips leading whitespace (so inih's
 * continuation lines never happen), checks section headers and line
 * lengths itself, and hands inih a blank line instead of a header or of a
 * line it has already refused.  The handler then only sees well-formed key
 * lines and records the first error with its line number.
 *
 * The text of single values (syntax, units, bounds, and formatting them
 * back) is cfg_value.c's business, through cfg_internal.h; this file knows
 * sections, keys, layers and errors.
 */
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_internal.h"

/* Environment variables that stand for a key (cfg_override_env). */
static const struct {
	const char *env, *section, *key;
} env_overrides[] = {
    {"ANQUAN_CONNINFO", "store", "conninfo"},
};

/* Scratch storage for one load: a slot per key of every section. */
struct cfg_scratch {
	const struct cfg_section *sections;
	size_t n;
	size_t *first; /* index of each section's first key */
	size_t *slot;  /* offset of each key's slot in data */
	int *set_line; /* line where the file set the key, or 0 */
	unsigned char *data;
};

/* State of one pass over the file. */
struct cfg_parse {
	struct cfg_scratch *sc;
	const char *const *known;
	const char *path;
	struct cfg_error *err;
	FILE *fp;
	char *buf;
	size_t bufcap;
	int line;
	long section;  /* index into sections, or -1 */
	bool skipping; /* in another program's or a refused section */
	char section_name[64];
};

/* --- errors --------------------------------------------------------------- */

static void cfg_fail(struct cfg_error *err, const char *file, int line,
    const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Record an error; only the first one is described, all are counted. */
static void
cfg_fail(struct cfg_error *err, const char *file, int line, const char *section,
    const char *key, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	if (err->count++ > 0)
		return;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	snprintf(
	    err->section, sizeof(err->section), "%s", section ? section : "");
	snprintf(err->key, sizeof(err->key), "%s", key ? key : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static void
cfg_error_clear(struct cfg_error *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
}

const char *
cfg_error_format(const struct cfg_error *err, char *buf, size_t size)
{
	char where[320] = "", what[160] = "", more[48] = "";

	if (err->file[0] != '\0' && err->line > 0)
		snprintf(where, sizeof(where), "%s:%d: ", err->file, err->line);
	else if (err->file[0] != '\0')
		snprintf(where, sizeof(where), "%s: ", err->file);
	if (err->section[0] != '\0' && err->key[0] != '\0')
		snprintf(
		    what, sizeof(what), "[%s] %s: ", err->section, err->key);
	else if (err->section[0] != '\0')
		snprintf(what, sizeof(what), "[%s]: ", err->section);
	else if (err->key[0] != '\0')
		snprintf(what, sizeof(what), "%s: ", err->key);
	if (err->count > 1)
		snprintf(more, sizeof(more), " (and %d more error%s)",
		    err->count - 1, err->count > 2 ? "s" : "");
	snprintf(buf, size, "%s%s%s%s", where, what, err->message, more);
	return buf;
}

/* --- tables and scratch --------------------------------------------------- */

static size_t
expected_size(enum cfg_type t)
{
	switch (t) {
	case CFG_T_INT:
	case CFG_T_DURATION_MS:
	case CFG_T_SIZE:
		return sizeof(int64_t);
	case CFG_T_DOUBLE:
		return sizeof(double);
	case CFG_T_BOOL:
		return sizeof(bool);
	case CFG_T_ENUM:
		return sizeof(int);
	case CFG_T_STRING:
		return 0;
	}
	return 0;
}

/* Our own mistakes in a table are reported like file errors, so that a
 * daemon stops at start with a message rather than misbehaving later. */
static int
check_tables(const struct cfg_section *secs, size_t n, struct cfg_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct cfg_section *sec = &secs[i];

		if (sec->name == NULL || sec->base == NULL ||
		    (sec->nkeys > 0 && sec->keys == NULL)) {
			cfg_fail(err, "(table)", 0, sec->name, NULL,
			    "section needs a name, keys and a base");
			return -1;
		}
		for (size_t j = 0; j < sec->nkeys; j++) {
			const struct cfg_key *k = &sec->keys[j];
			size_t want = expected_size(k->type);

			if (k->name == NULL || k->name[0] == '\0') {
				cfg_fail(err, "(table)", 0, sec->name, NULL,
				    "key %zu has no name", j);
				return -1;
			}
			if ((want != 0 && k->size != want) || k->size == 0 ||
			    (k->type == CFG_T_ENUM &&
			        (k->words == NULL || k->words[0] == NULL)) ||
			    (k->def == NULL && k->type != CFG_T_STRING) ||
			    k->min > k->max) {
				cfg_fail(err, "(table)", 0, sec->name, k->name,
				    "bad table entry (size, words, default "
				    "or bounds)");
				return -1;
			}
			for (size_t m = 0; m < j; m++) {
				if (strcmp(sec->keys[m].name, k->name) == 0) {
					cfg_fail(err, "(table)", 0, sec->name,
					    k->name, "key declared twice");
					return -1;
				}
			}
		}
	}
	return 0;
}

static void
scratch_free(struct cfg_scratch *sc)
{
	free(sc->first);
	free(sc->slot);
	free(sc->set_line);
	free(sc->data);
	memset(sc, 0, sizeof(*sc));
}

/* Make the scratch and fill every slot with its key's default. */
static int
scratch_init(struct cfg_scratch *sc, const struct cfg_section *secs, size_t n,
    struct cfg_error *err)
{
	size_t nkeys = 0, bytes = 0, idx = 0;

	memset(sc, 0, sizeof(*sc));
	if (check_tables(secs, n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		nkeys += secs[i].nkeys;
	sc->sections = secs;
	sc->n = n;
	sc->first = calloc(n + 1, sizeof(*sc->first));
	sc->slot = calloc(nkeys + 1, sizeof(*sc->slot));
	sc->set_line = calloc(nkeys + 1, sizeof(*sc->set_line));
	for (size_t i = 0; i < n && sc->first && sc->slot; i++) {
		sc->first[i] = idx;
		for (size_t j = 0; j < secs[i].nkeys; j++, idx++) {
			sc->slot[idx] = bytes;
			/* Keep every slot aligned for int64_t and double. */
			bytes += (secs[i].keys[j].size + 7) & ~(size_t)7;
		}
	}
	sc->data = calloc(bytes + 8, 1);
	if (sc->first == NULL || sc->slot == NULL || sc->set_line == NULL ||
	    sc->data == NULL) {
		cfg_fail(err, NULL, 0, NULL, NULL, "out of memory");
		scratch_free(sc);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < secs[i].nkeys; j++) {
			const struct cfg_key *k = &secs[i].keys[j];
			void *p = sc->data + sc->slot[sc->first[i] + j];
			char why[CFG_WHY_MAX];

			if (cfg_value_parse(k, k->def ? k->def : "", p, why,
			        sizeof(why)) < 0) {
				cfg_fail(err, "(default)", 0, secs[i].name,
				    k->name, "%s", why);
				scratch_free(sc);
				return -1;
			}
		}
	}
	return 0;
}

static void *
scratch_slot(const struct cfg_scratch *sc, size_t sec, size_t key)
{
	return sc->data + sc->slot[sc->first[sec] + key];
}

static long
find_section(const struct cfg_section *secs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(secs[i].name, name) == 0)
			return (long)i;
	return -1;
}

static long
find_key(const struct cfg_section *sec, const char *name)
{
	for (size_t j = 0; j < sec->nkeys; j++)
		if (strcmp(sec->keys[j].name, name) == 0)
			return (long)j;
	return -1;
}

static bool
is_known(const char *const *known, const char *name)
{
	for (; known != NULL && *known != NULL; known++)
		if (strcmp(*known, name) == 0)
			return true;
	return false;
}

/* --- the file ------------------------------------------------------------- */

static bool
section_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

/* A "[name]" line: decide what the keys under it are for. */
static void
parse_header(struct cfg_parse *ps, const char *s)
{
	const char *close = strchr(s, ']');
	const char *rest;
	size_t len;

	ps->section = -1;
	ps->skipping = true;
	ps->section_name[0] = '\0';
	if (close == NULL) {
		cfg_fail(ps->err, ps->path, ps->line, NULL, NULL,
		    "section header without a closing ']'");
		return;
	}
	len = (size_t)(close - s - 1);
	for (rest = close + 1; isspace((unsigned char)*rest); rest++)
		;
	if (*rest != '\0' && *rest != ';' && *rest != '#') {
		cfg_fail(ps->err, ps->path, ps->line, NULL, NULL,
		    "unexpected text after the section header");
		return;
	}
	if (!section_name_ok(s + 1, len)) {
		cfg_fail(ps->err, ps->path, ps->line, NULL, NULL,
		    "bad section name '%.*s' (letters, digits, '_', '-')",
		    (int)(len > 64 ? 64 : len), s + 1);
		return;
	}
	memcpy(ps->section_name, s + 1, len);
	ps->section_name[len] = '\0';
	ps->section =
	    find_section(ps->sc->sections, ps->sc->n, ps->section_name);
	if (ps->section >= 0) {
		ps->skipping = false;
		return;
	}
	if (!is_known(ps->known, ps->section_name))
		cfg_fail(ps->err, ps->path, ps->line, ps->section_name, NULL,
		    "unknown section");
}

/* inih's line source: one physical line per call, checked first. */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *ps = stream;
	ssize_t got = getline(&ps->buf, &ps->bufcap, ps->fp);
	char *s;
	size_t len;

	if (got < 0)
		return NULL;
	ps->line++;
	s = ps->buf;
	len = (size_t)got;
	if (memchr(s, '\0', len) != NULL) {
		cfg_fail(ps->err, ps->path, ps->line, NULL, NULL,
		    "line holds a NUL byte");
		goto blank;
	}
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (ps->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		len -= 3;
	}
	while (isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	if (*s == '\0' || *s == ';' || *s == '#')
		goto blank;
	if (*s == '[') {
		/* The reader, not inih, tracks the current section. */
		parse_header(ps, s);
		goto blank;
	}
	/* Other programs' sections are theirs to check. */
	if (ps->skipping)
		goto blank;
	if (len + 3 > (size_t)num) {
		cfg_fail(ps->err, ps->path, ps->line, NULL, NULL,
		    "line is longer than %d characters", num - 3);
		goto blank;
	}
	if (strpbrk(s, "=:") == NULL) {
		cfg_fail(ps->err, ps->path, ps->line,
		    ps->section >= 0 ? ps->section_name : NULL, NULL,
		    "expected 'key = value' or '[section]'");
		goto blank;
	}
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
blank:
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

/* inih's handler: one "key = value" line of the current section. */
static int
cfg_handler(
    void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse *ps = user;
	const struct cfg_section *sec;
	const struct cfg_key *k;
	long j;
	size_t idx;
	char why[CFG_WHY_MAX];

	(void)section; /* always "": the reader keeps headers from inih */
	if (ps->section < 0) {
		cfg_fail(ps->err, ps->path, ps->line, NULL, name,
		    "key outside any [section]");
		return 0;
	}
	sec = &ps->sc->sections[ps->section];
	if (name[0] == '\0') {
		cfg_fail(ps->err, ps->path, ps->line, sec->name, NULL,
		    "missing key name before '='");
		return 0;
	}
	j = find_key(sec, name);
	if (j < 0 && (sec->flags & CFG_SECTION_PARTIAL))
		return 1; /* the owner of the section judges its other keys */
	if (j < 0) {
		cfg_fail(ps->err, ps->path, ps->line, sec->name, name,
		    "unknown key");
		return 0;
	}
	k = &sec->keys[j];
	idx = ps->sc->first[ps->section] + (size_t)j;
	if (ps->sc->set_line[idx] > 0) {
		cfg_fail(ps->err, ps->path, ps->line, sec->name, name,
		    "duplicate key (first set on line %d)",
		    ps->sc->set_line[idx]);
		return 0;
	}
	ps->sc->set_line[idx] = ps->line;
	if (cfg_value_parse(k, value,
	        scratch_slot(ps->sc, (size_t)ps->section, (size_t)j), why,
	        sizeof(why)) < 0) {
		cfg_fail(
		    ps->err, ps->path, ps->line, sec->name, name, "%s", why);
		return 0;
	}
	return 1;
}

static int
parse_file(struct cfg_scratch *sc, const char *path, const char *const *known,
    struct cfg_error *err)
{
	struct cfg_parse ps = {0};
	int rc;

	ps.sc = sc;
	ps.known = known;
	ps.path = path;
	ps.err = err;
	ps.section = -1;
	ps.fp = fopen(path, "r");
	if (ps.fp == NULL) {
		cfg_fail(err, path, 0, NULL, NULL, "cannot open: %s",
		    strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(cfg_reader, &ps, cfg_handler, &ps);
	if (ferror(ps.fp))
		cfg_fail(err, path, ps.line, NULL, NULL, "read error: %s",
		    strerror(errno));
	fclose(ps.fp);
	free(ps.buf);
	/* The reader sees every malformed line first, so inih should find
	 * nothing of its own; if it does, say where. */
	if (rc > 0 && err->count == 0)
		cfg_fail(err, path, rc, NULL, NULL, "syntax error");
	else if (rc < 0 && err->count == 0)
		cfg_fail(err, path, 0, NULL, NULL, "out of memory");
	return err->count > 0 ? -1 : 0;
}

static int
apply_overrides(struct cfg_scratch *sc, const char *const *known,
    const struct cfg_overrides *ov, struct cfg_error *err)
{
	for (size_t i = 0; ov != NULL && i < ov->n; i++) {
		const struct cfg_override *o = &ov->item[i];
		long si = find_section(sc->sections, sc->n, o->section);
		long kj;
		char why[CFG_WHY_MAX];

		if (si < 0) {
			if (o->ambient)
				continue;
			cfg_fail(err, o->origin, 0, o->section, o->key, "%s",
			    is_known(known, o->section)
			        ? "this program does not read that section"
			        : "unknown section");
			continue;
		}
		kj = find_key(&sc->sections[si], o->key);
		if (kj < 0) {
			cfg_fail(err, o->origin, 0, o->section, o->key,
			    "unknown key");
			continue;
		}
		if (cfg_value_parse(&sc->sections[si].keys[kj], o->value,
		        scratch_slot(sc, (size_t)si, (size_t)kj), why,
		        sizeof(why)) < 0)
			cfg_fail(
			    err, o->origin, 0, o->section, o->key, "%s", why);
	}
	return err->count > 0 ? -1 : 0;
}

/* All three layers into fresh scratch. */
static int
build_scratch(struct cfg_scratch *sc, const char *path,
    const struct cfg_section *secs, size_t n, const char *const *known,
    const struct cfg_overrides *ov, struct cfg_error *err)
{
	if (scratch_init(sc, secs, n, err) < 0)
		return -1;
	if ((path != NULL && parse_file(sc, path, known, err) < 0) ||
	    apply_overrides(sc, known, ov, err) < 0) {
		scratch_free(sc);
		return -1;
	}
	return 0;
}

static void *
live_field(const struct cfg_section *sec, const struct cfg_key *k)
{
	return (char *)sec->base + k->offset;
}

static bool
slot_differs(const struct cfg_key *k, const void *live, const void *slot)
{
	if (k->type == CFG_T_STRING)
		return strcmp(live, slot) != 0;
	return memcmp(live, slot, k->size) != 0;
}

static void
copy_slot(const struct cfg_key *k, void *live, const void *slot)
{
	if (k->type == CFG_T_STRING)
		memcpy(live, slot, strlen(slot) + 1);
	else
		memcpy(live, slot, k->size);
}

int
cfg_load(const char *path, const struct cfg_section *sections, size_t n,
    const char *const *known, const struct cfg_overrides *ov,
    struct cfg_error *err)
{
	struct cfg_error local;
	struct cfg_scratch sc;

	if (err == NULL)
		err = &local;
	cfg_error_clear(err);
	if (build_scratch(&sc, path, sections, n, known, ov, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < sections[i].nkeys; j++)
			copy_slot(&sections[i].keys[j],
			    live_field(&sections[i], &sections[i].keys[j]),
			    scratch_slot(&sc, i, j));
	scratch_free(&sc);
	return 0;
}

int
cfg_reload(const char *path, const struct cfg_section *sections, size_t n,
    const char *const *known, const struct cfg_overrides *ov,
    struct cfg_error *err, cfg_changed_fn changed, void *arg)
{
	struct cfg_error local;
	struct cfg_scratch sc;
	int need_restart = 0;

	if (err == NULL)
		err = &local;
	cfg_error_clear(err);
	if (build_scratch(&sc, path, sections, n, known, ov, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sections[i].nkeys; j++) {
			const struct cfg_key *k = &sections[i].keys[j];
			void *live = live_field(&sections[i], k);
			const void *slot = scratch_slot(&sc, i, j);
			char old_text[CFG_VALUE_MAX], new_text[CFG_VALUE_MAX];
			bool apply = (k->flags & CFG_RELOAD) != 0;

			if (!slot_differs(k, live, slot))
				continue;
			cfg_value_shown(k, live, old_text, sizeof(old_text));
			cfg_value_shown(k, slot, new_text, sizeof(new_text));
			if (apply)
				copy_slot(k, live, slot);
			else
				need_restart++;
			if (changed != NULL)
				changed(arg, &sections[i], k, old_text,
				    new_text, apply);
		}
	}
	scratch_free(&sc);
	return need_restart;
}

int
cfg_set(const struct cfg_section *sections, size_t n, const char *section,
    const char *key, const char *value, struct cfg_error *err)
{
	struct cfg_error local;
	long si, kj;
	const struct cfg_key *k;
	void *tmp;
	char why[CFG_WHY_MAX];
	int rc = -1;

	if (err == NULL)
		err = &local;
	cfg_error_clear(err);
	si = find_section(sections, n, section);
	if (si < 0) {
		cfg_fail(err, NULL, 0, section, key, "unknown section");
		return -1;
	}
	kj = find_key(&sections[si], key);
	if (kj < 0) {
		cfg_fail(err, NULL, 0, section, key, "unknown key");
		return -1;
	}
	k = &sections[si].keys[kj];
	if (check_tables(&sections[si], 1, err) < 0)
		return -1;
	/* Parse aside first so that a bad value leaves the live one alone. */
	tmp = calloc(1, k->size + 8);
	if (tmp == NULL) {
		cfg_fail(err, NULL, 0, section, key, "out of memory");
		return -1;
	}
	if (cfg_value_parse(k, value ? value : "", tmp, why, sizeof(why)) < 0) {
		cfg_fail(err, NULL, 0, section, key, "%s", why);
	} else {
		copy_slot(k, live_field(&sections[si], k), tmp);
		rc = 0;
	}
	free(tmp);
	return rc;
}

/* --- overrides ------------------------------------------------------------ */

int
cfg_override_add(struct cfg_overrides *ov, const char *origin,
    const char *section, const char *key, const char *value, bool ambient,
    struct cfg_error *err)
{
	struct cfg_override *o;

	cfg_error_clear(err);
	if (ov->n >= CFG_OVERRIDES_MAX) {
		cfg_fail(err, origin, 0, section, key, "more than %d overrides",
		    CFG_OVERRIDES_MAX);
		return -1;
	}
	if (strlen(section) >= sizeof(o->section) ||
	    strlen(key) >= sizeof(o->key) ||
	    strlen(value) >= sizeof(o->value)) {
		cfg_fail(err, origin, 0, NULL, NULL,
		    "section, key or value too long");
		return -1;
	}
	o = &ov->item[ov->n++];
	snprintf(o->origin, sizeof(o->origin), "%s", origin);
	snprintf(o->section, sizeof(o->section), "%s", section);
	snprintf(o->key, sizeof(o->key), "%s", key);
	snprintf(o->value, sizeof(o->value), "%s", value);
	o->ambient = ambient;
	return 0;
}

int
cfg_override_option(
    struct cfg_overrides *ov, const char *arg, struct cfg_error *err)
{
	const char *dot = strchr(arg, '.');
	const char *eq = strchr(arg, '=');
	char section[64], key[64];
	size_t slen, klen;

	cfg_error_clear(err);
	if (dot == NULL || eq == NULL || dot > eq || dot == arg ||
	    eq == dot + 1) {
		cfg_fail(err, "-o", 0, NULL, NULL,
		    "expected section.key=value, got '%.100s'", arg);
		return -1;
	}
	slen = (size_t)(dot - arg);
	klen = (size_t)(eq - dot - 1);
	if (slen >= sizeof(section) || klen >= sizeof(key)) {
		cfg_fail(err, "-o", 0, NULL, NULL,
		    "section or key name too long in '%.100s'", arg);
		return -1;
	}
	memcpy(section, arg, slen);
	section[slen] = '\0';
	memcpy(key, dot + 1, klen);
	key[klen] = '\0';
	return cfg_override_add(ov, "-o", section, key, eq + 1, false, err);
}

int
cfg_override_env(struct cfg_overrides *ov, struct cfg_error *err)
{
	cfg_error_clear(err);
	for (size_t i = 0; i < sizeof(env_overrides) / sizeof(env_overrides[0]);
	     i++) {
		const char *v = getenv(env_overrides[i].env);
		char origin[48];

		if (v == NULL || *v == '\0')
			continue;
		snprintf(
		    origin, sizeof(origin), "env %s", env_overrides[i].env);
		if (cfg_override_add(ov, origin, env_overrides[i].section,
		        env_overrides[i].key, v, true, err) < 0)
			return -1;
	}
	return 0;
}

/* --- printing ------------------------------------------------------------- */

void
cfg_print(FILE *out, const struct cfg_section *sections, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct cfg_section *sec = &sections[i];

		fprintf(out, "%s[%s]\n", i ? "\n" : "", sec->name);
		for (size_t j = 0; j < sec->nkeys; j++) {
			const struct cfg_key *k = &sec->keys[j];
			char text[CFG_VALUE_MAX];

			cfg_value_shown(
			    k, live_field(sec, k), text, sizeof(text));
			if (k->help != NULL)
				fprintf(out, "; %s%s\n", k->help,
				    k->flags & CFG_RELOAD ? " (reloadable)"
				                          : "");
			fprintf(out, "%s =%s%s\n", k->name, text[0] ? " " : "",
			    text);
		}
	}
}

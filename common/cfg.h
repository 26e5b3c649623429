/*
 * cfg - declarative configuration tables over one INI file.
 *
 * Every daemon and safetyctl read deploy/anquan.conf: shared sections
 * ([log], [store], [bus]) and one section per program.  A program
 * declares, for each section it reads, a table of keys: name, type, where
 * the value goes in its own struct, a default (text, parsed by the same
 * code as the file), bounds, whether SIGHUP may change it, and a help line.
 * cfg_load() applies the defaults, then the file, then the overrides
 * (environment, -o section.key=value), all into scratch storage, and copies
 * into the caller's structs only when everything was valid; cfg_reload()
 * does the same and then applies only CFG_RELOAD keys.  Sections of other
 * programs (named in the caller's list of known sections) are skipped
 * unread; anything else unexpected is an error with file and line.  A
 * tool that needs a few keys of another program's section (safetyctl and
 * each daemon's http_listen) declares just those, flagged
 * CFG_SECTION_PARTIAL, and the section's other keys pass unread.
 *
 * Strings live in fixed char arrays inside the caller's struct, so there is
 * nothing to free.  The common/daemon skeleton declares the shared
 * sections' tables; this module holds only the mechanism, in two files:
 * cfg.c (the file, the layers, the errors) and cfg_value.c (the text of
 * one value), so a build names both (MODULES="... cfg cfg_value").
 *
 * Value syntax: INT a decimal integer; DOUBLE a finite decimal number;
 * BOOL true/false, yes/no, on/off, 1/0; DURATION_MS a whole number with
 * ms, s, m or h (a bare number is milliseconds); SIZE a whole number of
 * bytes with an optional k, m or g (powers of 1024); ENUM one of the key's
 * words; STRING the rest of the line.  Comments are lines starting with ';'
 * or '#', or " ;" after a value.  Leading whitespace is ignored, so there
 * are no continuation lines.  inih limits a line to 197 characters.
 */
#ifndef ANQUAN_CFG_H
#define ANQUAN_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Value types, and the C type of the field each one fills. */
enum cfg_type {
	CFG_T_INT,         /* int64_t */
	CFG_T_DOUBLE,      /* double */
	CFG_T_BOOL,        /* bool */
	CFG_T_STRING,      /* char[size], NUL-terminated */
	CFG_T_DURATION_MS, /* int64_t milliseconds */
	CFG_T_SIZE,        /* int64_t bytes */
	CFG_T_ENUM,        /* int: index into words */
};

/* The key may change on SIGHUP without a restart. */
#define CFG_RELOAD 0x1u
/* cfg_print and the reload report show "(hidden)" instead of the value
 * (unless it is an empty string). */
#define CFG_SECRET 0x2u

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t offset;            /* of the field in the section's struct */
	size_t size;              /* of the field (for STRING, the array) */
	const char *def;          /* default as text; NULL means "" (STRING) */
	double min, max;          /* bounds for numbers; both 0: none */
	const char *const *words; /* ENUM: allowed words, NULL-terminated */
	unsigned flags;           /* CFG_RELOAD, CFG_SECRET */
	const char *help;         /* one line, shown by cfg_print */
};

/* The table names only some keys of a section that another program owns:
 * keys of the file not in the table are skipped instead of refused (lines
 * that are not "key = value" are still errors). */
#define CFG_SECTION_PARTIAL 0x1u

struct cfg_section {
	const char *name;
	const struct cfg_key *keys;
	size_t nkeys;
	void *base; /* the caller's struct that the keys' offsets refer to */
	unsigned flags; /* CFG_SECTION_PARTIAL */
};

/* The first error found, and how many there were in all. */
struct cfg_error {
	char file[256];   /* the file, an override's origin, or "" */
	int line;         /* 0 when not about a line of the file */
	char section[64]; /* "" when not about a section */
	char key[64];     /* "" when not about a key */
	char message[256];
	int count;
};

/*
 * Table entries.  Each checks at compile time that the field has the C type
 * its value type fills, and takes the field's size and offset.
 */
#define CFG_FIELD_CHECK_(T, field, ctype)                                      \
	(offsetof(T, field) +                                                  \
	    0 * sizeof(char[__builtin_types_compatible_p(                      \
	                        __typeof__(((T *)0)->field), ctype)            \
	                        ? 1                                            \
	                        : -1]))
#define CFG_KEY_INT(T, field, name, def, min, max, flags, help)                \
	{                                                                      \
		name, CFG_T_INT, CFG_FIELD_CHECK_(T, field, int64_t),          \
		    sizeof(int64_t), def, min, max, NULL, flags, help          \
	}
#define CFG_KEY_DOUBLE(T, field, name, def, min, max, flags, help)             \
	{                                                                      \
		name, CFG_T_DOUBLE, CFG_FIELD_CHECK_(T, field, double),        \
		    sizeof(double), def, min, max, NULL, flags, help           \
	}
#define CFG_KEY_BOOL(T, field, name, def, flags, help)                         \
	{                                                                      \
		name, CFG_T_BOOL, CFG_FIELD_CHECK_(T, field, bool),            \
		    sizeof(bool), def, 0, 0, NULL, flags, help                 \
	}
#define CFG_KEY_STRING(T, field, name, def, flags, help)                       \
	{                                                                      \
		name, CFG_T_STRING,                                            \
		    CFG_FIELD_CHECK_(T, field, char[sizeof(((T *)0)->field)]), \
		    sizeof(((T *)0)->field), def, 0, 0, NULL, flags, help      \
	}
#define CFG_KEY_DURATION(T, field, name, def, min_ms, max_ms, flags, help)     \
	{                                                                      \
		name, CFG_T_DURATION_MS, CFG_FIELD_CHECK_(T, field, int64_t),  \
		    sizeof(int64_t), def, min_ms, max_ms, NULL, flags, help    \
	}
#define CFG_KEY_SIZE(T, field, name, def, min, max, flags, help)               \
	{                                                                      \
		name, CFG_T_SIZE, CFG_FIELD_CHECK_(T, field, int64_t),         \
		    sizeof(int64_t), def, min, max, NULL, flags, help          \
	}
#define CFG_KEY_ENUM(T, field, name, def, words, flags, help)                  \
	{                                                                      \
		name, CFG_T_ENUM, CFG_FIELD_CHECK_(T, field, int),             \
		    sizeof(int), def, 0, 0, words, flags, help                 \
	}

/* Overrides applied after the file, kept by the caller so that a reload
 * applies them again.  Fixed size: nothing to free. */
#define CFG_OVERRIDES_MAX 32
#define CFG_VALUE_MAX 1024
struct cfg_override {
	char origin[48]; /* "-o", "env ANQUAN_CONNINFO" */
	char section[64];
	char key[64];
	char value[CFG_VALUE_MAX];
	bool ambient; /* from the environment: ignored when the program
	                 does not read that section */
};
struct cfg_overrides {
	size_t n;
	struct cfg_override item[CFG_OVERRIDES_MAX];
};

/*
 * Defaults, then the file at path (skipped when path is NULL), then the
 * overrides (ov may be NULL), into the sections' structs.  known lists the
 * names of every section of the whole system (NULL-terminated, may be
 * NULL): those not among `sections` are skipped.  Returns 0, or -1 with
 * err set and the structs untouched.
 */
int cfg_load(const char *path, const struct cfg_section *sections, size_t n,
    const char *const *known, const struct cfg_overrides *ov,
    struct cfg_error *err);

/* Told about each key whose value differs after a reload; old_text and
 * new_text are the values as cfg_print shows them; applied is false when
 * the key needs a restart (and so kept its old value). */
typedef void (*cfg_changed_fn)(void *arg, const struct cfg_section *section,
    const struct cfg_key *key, const char *old_text, const char *new_text,
    bool applied);

/*
 * Read the file again as cfg_load() does, and when all of it is valid apply
 * the changed CFG_RELOAD keys, calling changed (may be NULL) for every
 * changed key.  Returns the number of changed keys that need a restart, or
 * -1 with err set and nothing changed.  Call it from the thread that owns
 * the structs (the daemon's loop).
 */
int cfg_reload(const char *path, const struct cfg_section *sections, size_t n,
    const char *const *known, const struct cfg_overrides *ov,
    struct cfg_error *err, cfg_changed_fn changed, void *arg);

/* Set one key of the live structs from text, with the same validation as
 * the file.  Returns 0, or -1 with err set and the value unchanged. */
int cfg_set(const struct cfg_section *sections, size_t n, const char *section,
    const char *key, const char *value, struct cfg_error *err);

/* Record an override (validated when it is applied by load or reload). */
int cfg_override_add(struct cfg_overrides *ov, const char *origin,
    const char *section, const char *key, const char *value, bool ambient,
    struct cfg_error *err);

/* Record a "-o section.key=value" command-line option. */
int cfg_override_option(
    struct cfg_overrides *ov, const char *arg, struct cfg_error *err);

/* Record the overrides the environment asks for: ANQUAN_CONNINFO, when set
 * and not empty, stands for [store] conninfo. */
int cfg_override_env(struct cfg_overrides *ov, struct cfg_error *err);

/* Print the sections' effective values as INI with their help lines (the
 * -nv output).  Secret values are shown as "(hidden)". */
void cfg_print(FILE *out, const struct cfg_section *sections, size_t n);

/* The live value of one key as text, as cfg_print shows it (not hidden).
 * Returns buf. */
const char *cfg_value_text(const struct cfg_section *section,
    const struct cfg_key *key, char *buf, size_t size);

/* "FILE:LINE: [section] key: message (and N more errors)" into buf.
 * Returns buf. */
const char *cfg_error_format(
    const struct cfg_error *err, char *buf, size_t size);

#endif

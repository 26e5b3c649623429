/*
 * test_cfg - configuration tables: defaults, the file, overrides, reload,
 * printing, and every kind of refusal with its file, line and reason.
 *
 * The tables below are a small imitation of a daemon's: a shared [store]
 * section, a [log] section and a [svc] section with one key of every type.
 * Config files are written to a temporary folder and removed afterwards.
 * The shipped deploy/anquan.conf is parsed too (from $ANQUAN_ROOT or the
 * current directory), to keep its syntax and section names honest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"

struct t_log {
	int level;
};

struct t_store {
	char conninfo[128];
	int64_t statement_timeout_ms;
	int64_t backoff_min_ms;
};

struct t_svc {
	char listen[32];
	int64_t workers;
	double ratio;
	bool verbose;
	int64_t max_body;
	int64_t flush_ms;
	char password[16];
};

static const char *const level_words[] = {
    "debug", "info", "warn", "error", NULL};

static const struct cfg_key log_keys[] = {
    CFG_KEY_ENUM(struct t_log, level, "level", "info", level_words, CFG_RELOAD,
        "minimum level logged"),
};

static const struct cfg_key store_keys[] = {
    CFG_KEY_STRING(
        struct t_store, conninfo, "conninfo", "", 0, "libpq connection string"),
    CFG_KEY_DURATION(struct t_store, statement_timeout_ms, "statement_timeout",
        "30s", 100, 3600000, CFG_RELOAD, "longest a statement may run"),
    CFG_KEY_DURATION(struct t_store, backoff_min_ms, "backoff_min", "100ms", 1,
        60000, 0, "first reconnect delay"),
};

static const struct cfg_key svc_keys[] = {
    CFG_KEY_STRING(struct t_svc, listen, "http_listen", "127.0.0.1:8101", 0,
        "address and port of the HTTP API"),
    CFG_KEY_INT(
        struct t_svc, workers, "workers", "2", 1, 64, 0, "worker threads"),
    CFG_KEY_DOUBLE(
        struct t_svc, ratio, "ratio", "0.05", 0, 1, CFG_RELOAD, "share drawn"),
    CFG_KEY_BOOL(struct t_svc, verbose, "verbose", "false", CFG_RELOAD,
        "log each request"),
    CFG_KEY_SIZE(struct t_svc, max_body, "max_body", "16m", 1024,
        1024.0 * 1024 * 1024, 0, "largest request body"),
    CFG_KEY_DURATION(struct t_svc, flush_ms, "flush", "5ms", 0, 0, CFG_RELOAD,
        "group commit window"),
    CFG_KEY_STRING(
        struct t_svc, password, "password", "", CFG_SECRET, "a secret"),
};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const system_sections[] = {"log", "store", "bus", "ingestd",
    "riskd", "alarmd", "schedd", "reportd", "safetyctl", NULL};

struct world {
	struct t_log log;
	struct t_store store;
	struct t_svc svc;
	struct cfg_section sec[3];
	char path[256];
	char dir[128];
};

static void
world_init(struct world *w)
{
	memset(&w->log, 0x5a, sizeof(w->log));
	memset(&w->store, 0x5a, sizeof(w->store));
	memset(&w->svc, 0x5a, sizeof(w->svc));
	w->store.conninfo[0] = '\0';
	w->svc.listen[0] = '\0';
	w->svc.password[0] = '\0';
	w->sec[0] =
	    (struct cfg_section){"log", log_keys, NKEYS(log_keys), &w->log};
	w->sec[1] = (struct cfg_section){
	    "store", store_keys, NKEYS(store_keys), &w->store};
	w->sec[2] =
	    (struct cfg_section){"svc", svc_keys, NKEYS(svc_keys), &w->svc};
}

static int
setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	const char *tmp = getenv("TMPDIR");

	if (w == NULL)
		return -1;
	snprintf(
	    w->dir, sizeof(w->dir), "%s/test_cfg.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(w->dir) == NULL)
		return -1;
	snprintf(w->path, sizeof(w->path), "%s/t.conf", w->dir);
	world_init(w);
	unsetenv("ANQUAN_CONNINFO");
	*state = w;
	return 0;
}

static int
teardown(void **state)
{
	struct world *w = *state;

	unlink(w->path);
	rmdir(w->dir);
	free(w);
	return 0;
}

static void
write_conf(struct world *w, const char *text)
{
	FILE *fp = fopen(w->path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
}

static int
load_text(struct world *w, const char *text, struct cfg_error *err)
{
	write_conf(w, text);
	return cfg_load(w->path, w->sec, 3, system_sections, NULL, err);
}

static void
test_defaults(void **state)
{
	struct world *w = *state;
	struct cfg_error err;

	assert_int_equal(cfg_load(NULL, w->sec, 3, NULL, NULL, &err), 0);
	assert_int_equal(err.count, 0);
	assert_int_equal(w->log.level, 1);
	assert_string_equal(w->store.conninfo, "");
	assert_int_equal(w->store.statement_timeout_ms, 30000);
	assert_int_equal(w->store.backoff_min_ms, 100);
	assert_string_equal(w->svc.listen, "127.0.0.1:8101");
	assert_int_equal(w->svc.workers, 2);
	assert_true(w->svc.ratio == 0.05);
	assert_false(w->svc.verbose);
	assert_int_equal(w->svc.max_body, 16 * 1024 * 1024);
	assert_int_equal(w->svc.flush_ms, 5);
}

static void
test_good_file(void **state)
{
	struct world *w = *state;
	struct cfg_error err;
	const char *text = "\xEF\xBB\xBF; a comment\n"
	                   "# another comment\n"
	                   "\n"
	                   "[log]\n"
	                   "level = WARN\n"
	                   "  [store]   ; indented header and a comment\n"
	                   "\tconninfo = host=/tmp port=5432 dbname=anquan\n"
	                   "statement_timeout=2m\r\n"
	                   "backoff_min = 250 ; bare number: milliseconds\n"
	                   "[riskd]\n"
	                   "anything = goes here, riskd checks it\n"
	                   "not even a key line\n"
	                   "[svc]\n"
	                   "http_listen = 0.0.0.0:9000\n"
	                   "workers = 8\n"
	                   "ratio = 0.25\n"
	                   "verbose = yes\n"
	                   "max_body = 64k\n"
	                   "flush = 1h\n";

	(void)state;
	assert_int_equal(load_text(w, text, &err), 0);
	assert_int_equal(w->log.level, 2);
	assert_string_equal(
	    w->store.conninfo, "host=/tmp port=5432 dbname=anquan");
	assert_int_equal(w->store.statement_timeout_ms, 120000);
	assert_int_equal(w->store.backoff_min_ms, 250);
	assert_string_equal(w->svc.listen, "0.0.0.0:9000");
	assert_int_equal(w->svc.workers, 8);
	assert_true(w->svc.ratio == 0.25);
	assert_true(w->svc.verbose);
	assert_int_equal(w->svc.max_body, 65536);
	assert_int_equal(w->svc.flush_ms, 3600000);
}

static void
test_units(void **state)
{
	static const struct {
		const char *key, *value;
		int64_t want;
	} cases[] = {
	    {"flush", "0", 0},
	    {"flush", "250", 250},
	    {"flush", "250ms", 250},
	    {"flush", "250MS", 250},
	    {"flush", "5s", 5000},
	    {"flush", "2m", 120000},
	    {"flush", "1h", 3600000},
	    {"max_body", "2048", 2048},
	    {"max_body", "1024", 1024},
	    {"max_body", "64k", 65536},
	    {"max_body", "16M", 16777216},
	    {"max_body", "1g", 1073741824},
	};
	struct world *w = *state;

	for (size_t i = 0; i < NKEYS(cases); i++) {
		struct cfg_error err;
		char text[128];

		snprintf(text, sizeof(text), "[svc]\n%s = %s\n", cases[i].key,
		    cases[i].value);
		if (load_text(w, text, &err) != 0)
			fail_msg("%s = %s refused: %s", cases[i].key,
			    cases[i].value, err.message);
		if (strcmp(cases[i].key, "flush") == 0)
			assert_int_equal(w->svc.flush_ms, cases[i].want);
		else
			assert_int_equal(w->svc.max_body, cases[i].want);
	}
}

struct bad_case {
	const char *text;
	int line;
	const char *section, *key, *message;
};

static const struct bad_case bad_cases[] = {
    {"[log]\nlevel = info\n[nosuch]\nkey = 1\n", 3, "nosuch", "",
        "unknown section"},
    {"[svc]\n\n; comment\nthreads = 4\n", 4, "svc", "threads", "unknown key"},
    {"[svc]\nworkers = 12x\n", 2, "svc", "workers",
        "expected a whole number, got '12x'"},
    {"[svc]\nworkers = 0x10\n", 2, "svc", "workers",
        "expected a whole number, got '0x10'"},
    {"[svc]\nworkers = 65\n", 2, "svc", "workers",
        "65 is above the maximum 64"},
    {"[svc]\nworkers = -1\n", 2, "svc", "workers", "-1 is below the minimum 1"},
    {"[svc]\nworkers = 99999999999999999999\n", 2, "svc", "workers",
        "number '99999999999999999999' is too large"},
    {"[svc]\nworkers =\n", 2, "svc", "workers",
        "expected a whole number, got ''"},
    {"[svc]\nratio = 1.5\n", 2, "svc", "ratio", "1.5 is outside 0..1"},
    {"[svc]\nratio = nan\n", 2, "svc", "ratio",
        "expected a decimal number, got 'nan'"},
    {"[svc]\nratio = 0x1p-2\n", 2, "svc", "ratio",
        "expected a decimal number, got '0x1p-2'"},
    {"[svc]\nratio = 1e999\n", 2, "svc", "ratio",
        "number '1e999' is too large"},
    {"[svc]\nverbose = maybe\n", 2, "svc", "verbose",
        "expected true or false (yes/no, on/off, 1/0), got 'maybe'"},
    {"[log]\nlevel = verbose\n", 2, "log", "level",
        "'verbose' is not one of: debug, info, warn, error"},
    {"[svc]\nflush = 5 s\n", 2, "svc", "flush",
        "bad duration '5 s': use a whole number with ms, s, m or h (250ms, "
        "5s, 2m, 1h); a bare number means milliseconds"},
    {"[svc]\nflush = 1.5s\n", 2, "svc", "flush", "bad duration '1.5s'"},
    {"[svc]\nflush = 2d\n", 2, "svc", "flush", "bad duration '2d'"},
    {"[svc]\nflush = -5s\n", 2, "svc", "flush", "bad duration '-5s'"},
    {"[svc]\nflush = s\n", 2, "svc", "flush", "bad duration 's'"},
    {"[svc]\nflush =\n", 2, "svc", "flush", "bad duration ''"},
    {"[svc]\nflush = 9999999999999999h\n", 2, "svc", "flush",
        "'9999999999999999h' is too large"},
    {"[store]\nstatement_timeout = 50ms\n", 2, "store", "statement_timeout",
        "50ms is below the minimum 100ms"},
    {"[store]\nstatement_timeout = 2h\n", 2, "store", "statement_timeout",
        "2h is above the maximum 1h"},
    {"[svc]\nmax_body = 64kb\n", 2, "svc", "max_body",
        "bad size '64kb': use a whole number of bytes with an optional k, m "
        "or g (512, 64k, 16m, 1g)"},
    {"[svc]\nmax_body = 1t\n", 2, "svc", "max_body", "bad size '1t'"},
    {"[svc]\nmax_body = 512\n", 2, "svc", "max_body",
        "512 is below the minimum 1k"},
    {"[svc]\nmax_body = 2g\n", 2, "svc", "max_body",
        "2g is above the maximum 1g"},
    {"[svc]\nhttp_listen = 0123456789012345678901234567890123456789\n", 2,
        "svc", "http_listen", "value is 40 bytes long, at most 31 allowed"},
    {"[svc]\nworkers = 4\nratio = 0.5\nworkers = 5\n", 4, "svc", "workers",
        "duplicate key (first set on line 2)"},
    {"workers = 4\n[svc]\n", 1, "", "workers", "key outside any [section]"},
    {"[svc]\nworkers 4\n", 2, "svc", "",
        "expected 'key = value' or '[section]'"},
    {"[svc]\n= 4\n", 2, "svc", "", "missing key name before '='"},
    {"[store\nconninfo = x\n", 1, "", "",
        "section header without a closing ']'"},
    {"[bad name]\n", 1, "", "",
        "bad section name 'bad name' (letters, digits, '_', '-')"},
    {"[]\n", 1, "", "", "bad section name ''"},
    {"[store] x = 1\n", 1, "", "", "unexpected text after the section header"},
};

static void
test_bad_values(void **state)
{
	struct world *w = *state;

	for (size_t i = 0; i < NKEYS(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct cfg_error err;

		world_init(w);
		w->svc.workers = 777;
		if (load_text(w, c->text, &err) == 0)
			fail_msg("case %zu accepted:\n%s", i, c->text);
		if (err.line != c->line || strcmp(err.section, c->section) ||
		    strcmp(err.key, c->key) ||
		    strncmp(err.message, c->message, strlen(c->message)))
			fail_msg("case %zu: got %d [%s] %s: %s\nwant %d [%s] "
			         "%s: %s",
			    i, err.line, err.section, err.key, err.message,
			    c->line, c->section, c->key, c->message);
		assert_string_equal(err.file, w->path);
		/* A refused file leaves the structs as they were. */
		assert_int_equal(w->svc.workers, 777);
	}
}

static void
test_line_limits(void **state)
{
	struct world *w = *state;
	struct cfg_error err;
	char text[600];
	static const char nul_text[] = "[svc]\nworkers = 4\0junk\n";
	FILE *fp;

	/* 197 characters fit; 198 do not. */
	snprintf(text, sizeof(text), "[svc]\nhttp_listen = %0*d\n", 183, 0);
	assert_int_equal(load_text(w, text, &err), -1);
	assert_string_equal(err.message, "value is 183 bytes long, at most 31 "
	                                 "allowed");
	snprintf(text, sizeof(text), "[svc]\nhttp_listen = %0*d\n", 184, 0);
	assert_int_equal(load_text(w, text, &err), -1);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.message, "line is longer than 197 characters");
	/* Long lines in another program's section are not ours to judge. */
	snprintf(text, sizeof(text), "[riskd]\nx = %0*d\n[svc]\nworkers = 3\n",
	    400, 0);
	assert_int_equal(load_text(w, text, &err), 0);
	assert_int_equal(w->svc.workers, 3);

	fp = fopen(w->path, "w");
	assert_non_null(fp);
	fwrite(nul_text, 1, sizeof(nul_text) - 1, fp);
	fclose(fp);
	assert_int_equal(cfg_load(w->path, w->sec, 3, NULL, NULL, &err), -1);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.message, "line holds a NUL byte");
}

static void
test_error_count_and_format(void **state)
{
	struct world *w = *state;
	struct cfg_error err;
	char buf[512];

	assert_int_equal(load_text(w,
	                     "[store]\n"
	                     "statement_timeout = 10x\n"
	                     "[svc]\n"
	                     "workers = 0\n"
	                     "nokey = 1\n",
	                     &err),
	    -1);
	assert_int_equal(err.count, 3);
	assert_int_equal(err.line, 2);
	cfg_error_format(&err, buf, sizeof(buf));
	assert_true(strncmp(buf, w->path, strlen(w->path)) == 0);
	assert_string_equal(buf + strlen(w->path),
	    ":2: [store] statement_timeout: bad duration '10x': use a whole "
	    "number with ms, s, m or h (250ms, 5s, 2m, 1h); a bare number "
	    "means milliseconds (and 2 more errors)");

	assert_int_equal(
	    cfg_load("/nonexistent/anquan.conf", w->sec, 3, NULL, NULL, &err),
	    -1);
	cfg_error_format(&err, buf, sizeof(buf));
	assert_string_equal(buf, "/nonexistent/anquan.conf: cannot open: No "
	                         "such file or directory");
}

static void
test_known_sections(void **state)
{
	struct world *w = *state;
	struct cfg_error err;
	const char *text = "[alarmd]\nhttp_listen = 1\n[svc]\nworkers = 5\n";

	/* Without the list of the system's sections, [alarmd] is unknown. */
	write_conf(w, text);
	assert_int_equal(cfg_load(w->path, w->sec, 3, NULL, NULL, &err), -1);
	assert_int_equal(err.line, 1);
	assert_string_equal(err.section, "alarmd");
	assert_int_equal(
	    cfg_load(w->path, w->sec, 3, system_sections, NULL, &err), 0);
	assert_int_equal(w->svc.workers, 5);
}

static void
test_overrides(void **state)
{
	struct world *w = *state;
	struct cfg_overrides *ov = calloc(1, sizeof(*ov));
	struct cfg_error err;

	assert_non_null(ov);
	write_conf(w, "[store]\nconninfo = host=file\n[svc]\nworkers = 3\n");

	/* Empty means unset. */
	setenv("ANQUAN_CONNINFO", "", 1);
	assert_int_equal(cfg_override_env(ov, &err), 0);
	assert_int_equal(ov->n, 0);
	setenv("ANQUAN_CONNINFO", "host=/run/test port=5999", 1);
	assert_int_equal(cfg_override_env(ov, &err), 0);
	assert_int_equal(ov->n, 1);
	assert_string_equal(ov->item[0].origin, "env ANQUAN_CONNINFO");
	assert_int_equal(cfg_override_option(ov, "svc.workers=9", &err), 0);
	assert_int_equal(
	    cfg_override_option(ov, "svc.http_listen=a=b:1", &err), 0);
	assert_int_equal(cfg_load(w->path, w->sec, 3, NULL, ov, &err), 0);
	assert_string_equal(w->store.conninfo, "host=/run/test port=5999");
	assert_int_equal(w->svc.workers, 9);
	assert_string_equal(w->svc.listen, "a=b:1");

	/* A program without [store] ignores the environment's conninfo... */
	w->svc.workers = 0;
	assert_int_equal(
	    cfg_load(w->path, &w->sec[2], 1, system_sections, ov, &err), 0);
	assert_int_equal(w->svc.workers, 9);
	/* ...but not a -o for a section it does not read. */
	ov->n = 1;
	assert_int_equal(cfg_override_option(ov, "riskd.x=1", &err), 0);
	assert_int_equal(
	    cfg_load(w->path, w->sec, 3, system_sections, ov, &err), -1);
	assert_string_equal(err.file, "-o");
	assert_string_equal(err.section, "riskd");
	assert_string_equal(
	    err.message, "this program does not read that section");
	ov->n = 1;
	assert_int_equal(cfg_override_option(ov, "nosuch.x=1", &err), 0);
	assert_int_equal(
	    cfg_load(w->path, w->sec, 3, system_sections, ov, &err), -1);
	assert_string_equal(err.message, "unknown section");
	ov->n = 1;
	assert_int_equal(cfg_load(NULL, &w->sec[2], 1, NULL, ov, &err), 0);

	/* Overrides are validated like the file. */
	ov->n = 0;
	assert_int_equal(cfg_override_option(ov, "svc.workers=100", &err), 0);
	w->svc.workers = 777;
	assert_int_equal(cfg_load(w->path, w->sec, 3, NULL, ov, &err), -1);
	assert_string_equal(err.file, "-o");
	assert_int_equal(err.line, 0);
	assert_string_equal(err.message, "100 is above the maximum 64");
	assert_int_equal(w->svc.workers, 777);
	ov->n = 0;
	assert_int_equal(cfg_override_option(ov, "svc.nokey=1", &err), 0);
	assert_int_equal(cfg_load(w->path, w->sec, 3, NULL, ov, &err), -1);
	assert_string_equal(err.message, "unknown key");

	/* Malformed -o options are refused when given. */
	assert_int_equal(cfg_override_option(ov, "workers=4", &err), -1);
	assert_string_equal(
	    err.message, "expected section.key=value, got 'workers=4'");
	assert_int_equal(cfg_override_option(ov, ".workers=4", &err), -1);
	assert_int_equal(cfg_override_option(ov, "svc.=4", &err), -1);
	assert_int_equal(cfg_override_option(ov, "svc.workers", &err), -1);
	assert_int_equal(cfg_override_option(ov, "a=b.c", &err), -1);
	ov->n = CFG_OVERRIDES_MAX;
	assert_int_equal(cfg_override_option(ov, "svc.workers=4", &err), -1);
	assert_string_equal(err.message, "more than 32 overrides");

	unsetenv("ANQUAN_CONNINFO");
	free(ov);
}

static void
test_set(void **state)
{
	struct world *w = *state;
	struct cfg_error err;

	assert_int_equal(cfg_load(NULL, w->sec, 3, NULL, NULL, &err), 0);
	assert_int_equal(
	    cfg_set(w->sec, 3, "store", "conninfo", "host=/tmp dbname=x", &err),
	    0);
	assert_string_equal(w->store.conninfo, "host=/tmp dbname=x");
	assert_int_equal(cfg_set(w->sec, 3, "svc", "flush", "2s", &err), 0);
	assert_int_equal(w->svc.flush_ms, 2000);
	assert_int_equal(cfg_set(w->sec, 3, "svc", "flush", "2 s", &err), -1);
	assert_string_equal(err.section, "svc");
	assert_string_equal(err.key, "flush");
	assert_int_equal(w->svc.flush_ms, 2000);
	assert_int_equal(cfg_set(w->sec, 3, "svc", "listen", "x", &err), -1);
	assert_string_equal(err.message, "unknown key");
	assert_int_equal(cfg_set(w->sec, 3, "nosuch", "listen", "x", &err), -1);
	assert_string_equal(err.message, "unknown section");
}

struct change {
	char key[32], old_text[64], new_text[64];
	bool applied;
};

struct changes {
	int n;
	struct change c[8];
};

static void
record_change(void *arg, const struct cfg_section *section,
    const struct cfg_key *key, const char *old_text, const char *new_text,
    bool applied)
{
	struct changes *ch = arg;
	struct change *c = &ch->c[ch->n++];

	assert_true(ch->n <= 8);
	snprintf(c->key, sizeof(c->key), "%s.%s", section->name, key->name);
	snprintf(c->old_text, sizeof(c->old_text), "%s", old_text);
	snprintf(c->new_text, sizeof(c->new_text), "%s", new_text);
	c->applied = applied;
}

static void
test_reload(void **state)
{
	struct world *w = *state;
	struct cfg_overrides ov = {0};
	struct cfg_error err;
	struct changes ch = {0};
	int rc;

	setenv("ANQUAN_CONNINFO", "host=env", 1);
	assert_int_equal(cfg_override_env(&ov, &err), 0);
	write_conf(w, "[log]\nlevel = info\n[store]\nconninfo = host=file\n"
	              "[svc]\nworkers = 3\npassword = old\n");
	assert_int_equal(cfg_load(w->path, w->sec, 3, NULL, &ov, &err), 0);
	assert_string_equal(w->store.conninfo, "host=env");

	/* Same file: nothing changes, the override still wins. */
	assert_int_equal(
	    cfg_reload(w->path, w->sec, 3, NULL, &ov, &err, record_change, &ch),
	    0);
	assert_int_equal(ch.n, 0);

	write_conf(w, "[log]\nlevel = debug\n[store]\nconninfo = host=other\n"
	              "[svc]\nworkers = 4\nverbose = on\nflush = 5ms\n"
	              "password = new\n");
	rc =
	    cfg_reload(w->path, w->sec, 3, NULL, &ov, &err, record_change, &ch);
	/* workers and password need a restart; level and verbose apply. */
	assert_int_equal(rc, 2);
	assert_int_equal(ch.n, 4);
	assert_string_equal(ch.c[0].key, "log.level");
	assert_string_equal(ch.c[0].old_text, "info");
	assert_string_equal(ch.c[0].new_text, "debug");
	assert_true(ch.c[0].applied);
	assert_string_equal(ch.c[1].key, "svc.workers");
	assert_false(ch.c[1].applied);
	assert_string_equal(ch.c[2].key, "svc.verbose");
	assert_string_equal(ch.c[2].new_text, "true");
	assert_true(ch.c[2].applied);
	assert_string_equal(ch.c[3].key, "svc.password");
	assert_string_equal(ch.c[3].old_text, "(hidden)");
	assert_string_equal(ch.c[3].new_text, "(hidden)");
	assert_false(ch.c[3].applied);
	assert_int_equal(w->log.level, 0);
	assert_true(w->svc.verbose);
	assert_int_equal(w->svc.workers, 3);
	assert_string_equal(w->svc.password, "old");
	assert_string_equal(w->store.conninfo, "host=env");

	/* A bad file changes nothing and says why. */
	ch.n = 0;
	write_conf(w, "[log]\nlevel = error\n[svc]\nverbose = perhaps\n");
	assert_int_equal(
	    cfg_reload(w->path, w->sec, 3, NULL, &ov, &err, record_change, &ch),
	    -1);
	assert_int_equal(err.line, 4);
	assert_int_equal(ch.n, 0);
	assert_int_equal(w->log.level, 0);
	unsetenv("ANQUAN_CONNINFO");
}

static char *
print_to_string(struct world *w)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	cfg_print(fp, w->sec, 3);
	assert_int_equal(fclose(fp), 0);
	return text;
}

static void
test_print_round_trip(void **state)
{
	struct world *w = *state;
	struct world *again = calloc(1, sizeof(*again));
	struct cfg_error err;
	char *text;
	char buf[64];

	assert_non_null(again);
	assert_int_equal(load_text(w,
	                     "[store]\nstatement_timeout = 90000\n"
	                     "backoff_min = 1500\n[svc]\nratio = 0.1\n"
	                     "max_body = 3072\nflush = 0\n",
	                     &err),
	    0);
	/* An empty secret prints as empty: there is nothing to hide. */
	text = print_to_string(w);
	assert_non_null(strstr(text, "\npassword =\n"));
	free(text);
	assert_int_equal(
	    cfg_set(w->sec, 3, "svc", "password", "s3cret", &err), 0);
	text = print_to_string(w);
	assert_non_null(strstr(text, "[log]\n; minimum level logged "
	                             "(reloadable)\nlevel = info\n"));
	assert_non_null(strstr(text, "\nconninfo =\n"));
	assert_non_null(strstr(text, "\nstatement_timeout = 90s\n"));
	assert_non_null(strstr(text, "\nbackoff_min = 1500ms\n"));
	assert_non_null(strstr(text, "\nhttp_listen = 127.0.0.1:8101\n"));
	assert_non_null(strstr(text, "\nratio = 0.1\n"));
	assert_non_null(strstr(text, "\nverbose = false\n"));
	assert_non_null(strstr(text, "\nmax_body = 3k\n"));
	assert_non_null(strstr(text, "\nflush = 0\n"));
	assert_non_null(strstr(text, "\npassword = (hidden)\n"));
	assert_null(strstr(text, "s3cret"));
	assert_string_equal(
	    cfg_value_text(&w->sec[2], &svc_keys[6], buf, sizeof(buf)),
	    "s3cret");

	/* What is printed reads back as the same values (secret aside). */
	snprintf(again->dir, sizeof(again->dir), "%s", w->dir);
	snprintf(again->path, sizeof(again->path), "%s", w->path);
	world_init(again);
	write_conf(again, text);
	assert_int_equal(
	    cfg_load(again->path, again->sec, 3, NULL, NULL, &err), 0);
	assert_int_equal(again->log.level, w->log.level);
	assert_string_equal(again->store.conninfo, w->store.conninfo);
	assert_int_equal(
	    again->store.statement_timeout_ms, w->store.statement_timeout_ms);
	assert_int_equal(again->store.backoff_min_ms, w->store.backoff_min_ms);
	assert_string_equal(again->svc.listen, w->svc.listen);
	assert_int_equal(again->svc.workers, w->svc.workers);
	assert_true(again->svc.ratio == w->svc.ratio);
	assert_int_equal(again->svc.verbose, w->svc.verbose);
	assert_int_equal(again->svc.max_body, w->svc.max_body);
	assert_int_equal(again->svc.flush_ms, w->svc.flush_ms);
	assert_string_equal(again->svc.password, "(hidden)");
	free(text);
	free(again);
}

struct bad_table {
	int64_t n;
};

static void
test_bad_tables(void **state)
{
	static const char *const no_words[] = {NULL};
	struct bad_table t;
	struct cfg_error err;
	const struct cfg_key bad_default[] = {
	    CFG_KEY_INT(struct bad_table, n, "n", "ten", 0, 0, 0, "x"),
	};
	const struct cfg_key out_of_range_default[] = {
	    CFG_KEY_INT(struct bad_table, n, "n", "100", 1, 10, 0, "x"),
	};
	const struct cfg_key twice[] = {
	    CFG_KEY_INT(struct bad_table, n, "n", "1", 0, 0, 0, "x"),
	    CFG_KEY_INT(struct bad_table, n, "n", "1", 0, 0, 0, "x"),
	};
	const struct cfg_key enum_without_words[] = {
	    {"e", CFG_T_ENUM, 0, sizeof(int), "a", 0, 0, no_words, 0, "x"},
	};
	const struct cfg_key no_default[] = {
	    CFG_KEY_INT(struct bad_table, n, "n", NULL, 0, 0, 0, "x"),
	};
	struct cfg_section sec = {"t", bad_default, 1, &t};

	(void)state;
	assert_int_equal(cfg_load(NULL, &sec, 1, NULL, NULL, &err), -1);
	assert_string_equal(err.file, "(default)");
	assert_string_equal(err.message, "expected a whole number, got 'ten'");
	sec.keys = out_of_range_default;
	assert_int_equal(cfg_load(NULL, &sec, 1, NULL, NULL, &err), -1);
	assert_string_equal(err.message, "100 is above the maximum 10");
	sec.keys = twice;
	sec.nkeys = 2;
	assert_int_equal(cfg_load(NULL, &sec, 1, NULL, NULL, &err), -1);
	assert_string_equal(err.message, "key declared twice");
	sec.keys = enum_without_words;
	sec.nkeys = 1;
	assert_int_equal(cfg_load(NULL, &sec, 1, NULL, NULL, &err), -1);
	assert_string_equal(err.file, "(table)");
	sec.keys = no_default;
	assert_int_equal(cfg_load(NULL, &sec, 1, NULL, NULL, &err), -1);
	assert_string_equal(err.file, "(table)");
}

/* What a tool reads of another program's section: one key of it. */
struct t_peer {
	char listen[32];
};

static const struct cfg_key peer_keys[] = {
    CFG_KEY_STRING(struct t_peer, listen, "http_listen", "127.0.0.1:8201", 0,
        "where riskd listens"),
};

static int
load_partial(const char *path, struct t_peer *peer, unsigned flags,
    const struct cfg_overrides *ov, struct cfg_error *err)
{
	struct cfg_section sec = {
	    "riskd", peer_keys, NKEYS(peer_keys), peer, flags};

	return cfg_load(path, &sec, 1, system_sections, ov, err);
}

static void
test_partial_section(void **state)
{
	struct world *w = *state;
	struct cfg_overrides ov = {0};
	struct t_peer peer;
	struct cfg_error err;

	write_conf(w, "[riskd]\n"
	              "http_timeout = 10s\n"
	              "http_listen = 10.0.0.5:9201\n"
	              "grade_window = 15m\n");
	/* Without the flag, riskd's own keys are unknown to the table... */
	memset(&peer, 0, sizeof(peer));
	assert_int_equal(load_partial(w->path, &peer, 0, NULL, &err), -1);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.key, "http_timeout");
	assert_string_equal(err.message, "unknown key");
	assert_string_equal(peer.listen, "");
	/* ...with it they pass unread, and the one key we know is read. */
	assert_int_equal(
	    load_partial(w->path, &peer, CFG_SECTION_PARTIAL, NULL, &err), 0);
	assert_int_equal(err.count, 0);
	assert_string_equal(peer.listen, "10.0.0.5:9201");

	/* A section absent from the file leaves the default. */
	write_conf(w, "[log]\nlevel = info\n");
	assert_int_equal(
	    load_partial(w->path, &peer, CFG_SECTION_PARTIAL, NULL, &err), 0);
	assert_string_equal(peer.listen, "127.0.0.1:8201");

	/* The keys we do read are checked as ever. */
	write_conf(w, "[riskd]\nhttp_listen = "
	              "0123456789012345678901234567890123456789\n");
	assert_int_equal(
	    load_partial(w->path, &peer, CFG_SECTION_PARTIAL, NULL, &err), -1);
	assert_int_equal(err.line, 2);
	assert_string_equal(
	    err.message, "value is 40 bytes long, at most 31 allowed");
	write_conf(w, "[riskd]\nhttp_listen = a:1\nx = 1\nhttp_listen = b:2\n");
	assert_int_equal(
	    load_partial(w->path, &peer, CFG_SECTION_PARTIAL, NULL, &err), -1);
	assert_int_equal(err.line, 4);
	assert_string_equal(err.message, "duplicate key (first set on line 2)");

	/* A line that is no "key = value" at all is still refused. */
	write_conf(w, "[riskd]\nhttp_listen = a:1\njust words\n");
	assert_int_equal(
	    load_partial(w->path, &peer, CFG_SECTION_PARTIAL, NULL, &err), -1);
	assert_int_equal(err.line, 3);
	assert_string_equal(
	    err.message, "expected 'key = value' or '[section]'");
	assert_string_equal(peer.listen, "127.0.0.1:8201");

	/* An override is an explicit request: an unknown key stays an error. */
	write_conf(w, "[riskd]\nhttp_listen = a:1\n");
	assert_int_equal(
	    cfg_override_option(&ov, "riskd.grade_window=1m", &err), 0);
	assert_int_equal(
	    load_partial(w->path, &peer, CFG_SECTION_PARTIAL, &ov, &err), -1);
	assert_string_equal(err.file, "-o");
	assert_string_equal(err.message, "unknown key");
	ov.n = 0;
	assert_int_equal(
	    cfg_override_option(&ov, "riskd.http_listen=c:3", &err), 0);
	assert_int_equal(
	    load_partial(w->path, &peer, CFG_SECTION_PARTIAL, &ov, &err), 0);
	assert_string_equal(peer.listen, "c:3");
}

/* The shipped file parses and holds only the system's sections. */
static void
test_shipped_file(void **state)
{
	const char *root = getenv("ANQUAN_ROOT");
	char path[512];
	struct cfg_error err;
	char buf[600];
	int dummy = 0;
	struct cfg_section none = {"(none)", NULL, 0, &dummy};

	(void)state;
	snprintf(
	    path, sizeof(path), "%s/deploy/anquan.conf", root ? root : ".");
	if (cfg_load(path, &none, 1, system_sections, NULL, &err) != 0)
		fail_msg("%s (set ANQUAN_ROOT to the checkout)",
		    cfg_error_format(&err, buf, sizeof(buf)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_good_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_units, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_line_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_error_count_and_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_known_sections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_print_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_partial_section, setup, teardown),
	    cmocka_unit_test(test_bad_tables),
	    cmocka_unit_test(test_shipped_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

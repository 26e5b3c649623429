/*
 * ctl_conf - safetyctl's reading of anquan.conf.
 *
 * The operator's tool reads the same file as the daemons, with the same
 * tables, so that it talks to the store and the bus the daemons use and
 * finds each daemon where it listens.  It reads the shared sections [log],
 * [store] and [bus] in full (daemon_shared_sections()), of each daemon's
 * section only http_listen (the sections are flagged CFG_SECTION_PARTIAL:
 * their other keys are the daemon's to check), and its own [safetyctl],
 * which has no keys yet, so anything written there is refused.
 *
 * Layers, lowest first: the tables' defaults; the file (-f FILE, else
 * deploy/anquan.conf when it exists, else none); $ANQUAN_CONNINFO; the
 * -o section.key=value options in their order; -c CONNINFO.  When [store]
 * conninfo is still empty, var/conninfo (written by deploy/pgctl.sh for the
 * private cluster of `make run`) names the database, as anquan.conf says.
 * main.c calls ctl_conf_load() once, before the command; the result lives
 * in struct ctl, which the commands only read.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "safetyctl.h"

#define CTL_DEFAULT_CONFIG "deploy/anquan.conf"
#define CTL_PRIVATE_CONNINFO "var/conninfo"

/* One table per daemon: only the default address differs. */
#define CTL_LISTEN_KEYS(var, listen)                                           \
	static const struct cfg_key var[] = {                                  \
	    CFG_KEY_STRING(struct ctl_daemon, http_listen, "http_listen",      \
	        listen, 0, "address:port of its HTTP API and /healthz"),       \
	}

CTL_LISTEN_KEYS(ingestd_keys, "127.0.0.1:8101");
CTL_LISTEN_KEYS(riskd_keys, "127.0.0.1:8201");
CTL_LISTEN_KEYS(alarmd_keys, "127.0.0.1:8301");
CTL_LISTEN_KEYS(schedd_keys, "127.0.0.1:8401");
CTL_LISTEN_KEYS(reportd_keys, "127.0.0.1:8501");

static const struct {
	const char *name;
	const struct cfg_key *keys;
} daemon_tables[CTL_NDAEMONS] = {
    {"ingestd", ingestd_keys},
    {"riskd", riskd_keys},
    {"alarmd", alarmd_keys},
    {"schedd", schedd_keys},
    {"reportd", reportd_keys},
};

/* The overrides are large (32 values of 1 KB); one load per run. */
static struct cfg_overrides overrides;

static void
conf_error(const struct cfg_error *err)
{
	char text[800];

	fprintf(stderr, "safetyctl: %s\n",
	    cfg_error_format(err, text, sizeof(text)));
}

/* Environment, then -o in order, then -c: the last one set wins. */
static int
build_overrides(const struct ctl_options *opts, struct cfg_overrides *ov)
{
	struct cfg_error err;

	memset(ov, 0, sizeof(*ov));
	if (cfg_override_env(ov, &err) < 0)
		goto fail;
	for (size_t i = 0; i < opts->nset; i++)
		if (cfg_override_option(ov, opts->set[i], &err) < 0)
			goto fail;
	if (opts->conninfo != NULL &&
	    cfg_override_add(
	        ov, "-c", "store", "conninfo", opts->conninfo, false, &err) < 0)
		goto fail;
	return 0;
fail:
	conf_error(&err);
	return -1;
}

/* The private cluster's connection string, when deploy/pgctl.sh made one
 * here; a missing or empty file simply means there is none. */
static const char *
private_conninfo(struct ctl *ctl)
{
	FILE *fp = fopen(CTL_PRIVATE_CONNINFO, "r");
	char *s = ctl->private_conninfo;
	size_t len;

	if (fp == NULL)
		return NULL;
	if (fgets(s, sizeof(ctl->private_conninfo), fp) == NULL)
		s[0] = '\0';
	fclose(fp);
	len = strcspn(s, "\r\n");
	s[len] = '\0';
	if (len == 0)
		return NULL;
	log_info("ctl.conninfo", "from=%s", CTL_PRIVATE_CONNINFO);
	return s;
}

/* [log] level, but a tool stays quiet below warn unless -v asks. */
static void
apply_log_level(const struct ctl *ctl)
{
	enum log_level level = (enum log_level)ctl->shared.log.level;

	if (!ctl->verbose && level < LOGL_WARN)
		level = LOGL_WARN;
	if (ctl->verbose && level > LOGL_INFO)
		level = LOGL_INFO;
	log_set_level(level);
}

int
ctl_conf_load(struct ctl *ctl, const struct ctl_options *opts)
{
	struct cfg_section secs[DAEMON_SHARED_SECTIONS + CTL_NDAEMONS + 1];
	const char *path = opts->file;
	struct cfg_error err;
	char quoted[300];
	size_t n;

	if (path == NULL && access(CTL_DEFAULT_CONFIG, F_OK) == 0)
		path = CTL_DEFAULT_CONFIG;
	n = daemon_shared_sections(&ctl->shared, secs);
	for (size_t i = 0; i < CTL_NDAEMONS; i++) {
		ctl->daemons[i].name = daemon_tables[i].name;
		secs[n++] = (struct cfg_section){daemon_tables[i].name,
		    daemon_tables[i].keys, 1, &ctl->daemons[i],
		    CFG_SECTION_PARTIAL};
	}
	secs[n++] = (struct cfg_section){"safetyctl", NULL, 0, ctl, 0};
	if (build_overrides(opts, &overrides) < 0)
		return -1;
	if (cfg_load(path, secs, n, daemon_known_sections, &overrides, &err) <
	    0) {
		conf_error(&err);
		return -1;
	}
	ctl->config = path;
	apply_log_level(ctl);
	log_info("ctl.config", "file=%s",
	    log_quote(quoted, sizeof(quoted),
	        path != NULL ? path : "(none: built-in defaults)"));
	ctl->conninfo = ctl->shared.store.conninfo[0] != '\0'
	                    ? ctl->shared.store.conninfo
	                    : private_conninfo(ctl);
	return 0;
}

const struct ctl_daemon *
ctl_daemon_find(const struct ctl *ctl, const char *name)
{
	for (size_t i = 0; i < CTL_NDAEMONS; i++)
		if (strcmp(ctl->daemons[i].name, name) == 0)
			return &ctl->daemons[i];
	return NULL;
}

/*
 * safetyctl - the operator's command-line tool: what the commands share.
 *
 * main.c reads the global options (-f FILE, -c CONNINFO, -o S.K=V, -v, -h),
 * finds the command in its table, reads the config (ctl_conf.c) into struct
 * ctl and calls the command; each command lives in its own cmd_NAME.c and
 * owns its options and output.  To add one: write cmd_NAME.c defining
 * `int cmd_NAME(struct ctl *ctl, int argc, char **argv)`, declare it at the
 * end of this file, and add its line to the table in main.c.
 *
 * A command gets argv[0] = its name and the arguments after it; getopt() and
 * getopt_long() can be used directly (main.c resets them).  It prints
 * results on stdout, problems on stderr (ctl_error), and returns an exit
 * status: CTL_OK, CTL_FAIL (it could not do it; the message says why) or
 * CTL_USAGE (bad arguments).
 */
#ifndef ANQUAN_SAFETYCTL_H
#define ANQUAN_SAFETYCTL_H

#include <stdio.h>

#include <libpq-fe.h>

#include "daemon.h"
#include "store.h"

enum {
	CTL_OK = 0,
	CTL_FAIL = 1,
	CTL_USAGE = 2,
};

/* The daemons whose sections safetyctl reads (http_listen only). */
#define CTL_NDAEMONS 5

struct ctl_daemon {
	const char *name;     /* "ingestd", ... in the order of DESIGN.md */
	char http_listen[64]; /* host:port of its HTTP server */
};

/* What main.c resolved for every command. */
struct ctl {
	/* [store] conninfo after -c, $ANQUAN_CONNINFO and the file, else
	 * var/conninfo (the private cluster); NULL if none of them. */
	const char *conninfo;
	int verbose;        /* -v: info-level logs on stderr */
	const char *config; /* the file read; NULL: built-in defaults */
	struct daemon_shared_cfg shared; /* [log] [store] [bus] */
	struct ctl_daemon daemons[CTL_NDAEMONS];
	char private_conninfo[512]; /* read from var/conninfo */
};

/* The global options that shape the config, as main.c collected them. */
#define CTL_SETS_MAX 16
struct ctl_options {
	const char *file;     /* -f; NULL: deploy/anquan.conf if present */
	const char *conninfo; /* -c: wins over everything */
	const char *set[CTL_SETS_MAX]; /* -o section.key=value, in order */
	size_t nset;
};

struct ctl_command {
	const char *name;
	const char *args; /* usage after the name, e.g. "[--dir DIR]" */
	const char *help; /* one line for `safetyctl -h` */
	int (*fn)(struct ctl *ctl, int argc, char **argv);
};

/* Print "safetyctl: CMD: message" on stderr. */
void ctl_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print the usage line of cmd on stderr; returns CTL_USAGE. */
int ctl_usage(const char *cmd);

/* Print res under titles (ncols columns) on out, each column as wide as
 * its widest cell in terminal columns (ctl_table.c). */
void ctl_table_print(FILE *out, const PGresult *res,
    const char *const *titles, int ncols);

/* Open the store for ctl->conninfo, or print why not and return NULL. */
struct store *ctl_store_open(const struct ctl *ctl, const char *cmd);

/*
 * Read the config into ctl (ctl_conf.c): defaults, the file, then
 * $ANQUAN_CONNINFO, -o and -c.  Returns 0, or -1 after printing the error
 * (FILE:LINE: [section] key: reason) on stderr.
 */
int ctl_conf_load(struct ctl *ctl, const struct ctl_options *opts);

/* The daemon named name in ctl->daemons, or NULL. */
const struct ctl_daemon *ctl_daemon_find(
    const struct ctl *ctl, const char *name);

/* The commands, one per cmd_NAME.c. */
int cmd_migrate(struct ctl *ctl, int argc, char **argv);
int cmd_tail(struct ctl *ctl, int argc, char **argv);
int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_token(struct ctl *ctl, int argc, char **argv);
int cmd_quarantine(struct ctl *ctl, int argc, char **argv);
int cmd_import(struct ctl *ctl, int argc, char **argv);
int cmd_audit(struct ctl *ctl, int argc, char **argv);
int cmd_officer(struct ctl *ctl, int argc, char **argv);

#endif

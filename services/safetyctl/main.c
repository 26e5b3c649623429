/*
 * safetyctl - the operator's command-line tool.
 *
 *   safetyctl [-v] [-f FILE] [-c CONNINFO] [-o S.K=V] COMMAND [ARGS...]
 *
 * The operator (and make run, and the system tests) use it to migrate the
 * store, and later to inspect and drive the platform.  This file holds only
 * the global options and the command table; each command is a cmd_NAME.c
 * declared in safetyctl.h.  Before the command runs, ctl_conf.c reads the
 * config (-f FILE, else deploy/anquan.conf when present) with the
 * daemons' own tables; the database is -c CONNINFO, else $ANQUAN_CONNINFO,
 * else [store] conninfo (a libpq connection string or URI).  Logs go to
 * stderr, warnings and errors only unless -v is given; results go to
 * stdout.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "safetyctl.h"

/* One line per command: name, arguments, help, function. */
static const struct ctl_command commands[] = {
	{"migrate", "[--dir DIR]",
	    "apply the pending SQL migrations (default deploy/sql)",
	    cmd_migrate},
	{"tail", "[PREFIX...] [--connect ENDPOINT ...] [--count N]",
	    "print bus messages whose topic starts with PREFIX", cmd_tail},
	{"status", "[--json] [--require NAME,...] [--timeout SECONDS]",
	    "health of each daemon and of the store", cmd_status},
	{"token", "create|list|revoke ... (safetyctl token -h)",
	    "make, list and revoke the bearer tokens of feed sources",
	    cmd_token},
	{"quarantine", "list|release ... (safetyctl quarantine -h)",
	    "list readings of unknown points; release those now registered",
	    cmd_quarantine},
	{"import", "KIND FILE.csv [--atomic] [--url URL] [--token T] [--batch N]",
	    "send a CSV sheet's rows as KIND events through ingestd",
	    cmd_import},
	{"audit", "verify [--from SEQ] [--anchor SEQ:HASH] | tail [N]",
	    "check the audit journal's hash chain; print its last entries",
	    cmd_audit},
	{"officer", "create|list|revoke ... (safetyctl officer -h)",
	    "make, list and revoke duty officers' console tokens",
	    cmd_officer},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct ctl_command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: safetyctl [-v] [-f FILE] [-c CONNINFO] [-o S.K=V] COMMAND "
	    "[ARGS...]\n"
	    "\n"
	    "  -f FILE      the config (default deploy/anquan.conf when it "
	    "exists,\n"
	    "               else built-in defaults)\n"
	    "  -c CONNINFO  the database (libpq string or URI); default "
	    "$ANQUAN_CONNINFO,\n"
	    "               else [store] conninfo, else var/conninfo\n"
	    "  -o S.K=V     set key K of section S, checked like the file\n"
	    "  -v           log at info level on stderr\n"
	    "  -h           this help (safetyctl COMMAND -h: the "
	    "command's)\n"
	    "\n"
	    "commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-10s %s\n             %s\n", commands[i].name,
		    commands[i].args, commands[i].help);
}

void
ctl_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "safetyctl: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
ctl_usage(const char *cmd)
{
	const struct ctl_command *c = find_command(cmd);

	if (c)
		fprintf(stderr, "usage: safetyctl [options] %s %s\n", c->name,
		    c->args);
	return CTL_USAGE;
}

struct store *
ctl_store_open(const struct ctl *ctl, const char *cmd)
{
	struct store_opts opts = {0};
	struct store *st;

	if (ctl->conninfo == NULL) {
		ctl_error(cmd, "no database: give -c CONNINFO, set "
			       "ANQUAN_CONNINFO or [store] conninfo");
		return NULL;
	}
	/* A tool runs one job and exits: the configured connect timeout
	 * (libpq's unit is the second, at least 2), no retries. */
	opts.application_name = "safetyctl";
	opts.connect_timeout_s =
	    (int)((ctl->shared.store.connect_timeout_ms + 999) / 1000);
	opts.statement_timeout_ms = (int)ctl->shared.store.statement_timeout_ms;
	st = store_open(ctl->conninfo, &opts);
	if (st == NULL)
		ctl_error(cmd, "the connection string is malformed (see the "
			       "log line above)");
	return st;
}

int
main(int argc, char **argv)
{
	const struct ctl_command *cmd;
	static struct ctl ctl;
	struct ctl_options opts = {0};
	int c;

	/* '+': stop at the command name; what follows is the command's. */
	while ((c = getopt(argc, argv, "+c:f:ho:v")) != -1) {
		switch (c) {
		case 'c':
			opts.conninfo = optarg;
			break;
		case 'f':
			opts.file = optarg;
			break;
		case 'o':
			if (opts.nset == CTL_SETS_MAX) {
				fprintf(stderr,
				    "safetyctl: at most %d -o options\n",
				    CTL_SETS_MAX);
				return CTL_USAGE;
			}
			opts.set[opts.nset++] = optarg;
			break;
		case 'v':
			ctl.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return CTL_OK;
	}
	cmd = find_command(argv[optind]);
	if (cmd == NULL) {
		fprintf(stderr, "safetyctl: unknown command \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return CTL_USAGE;
	}
	log_init("safetyctl", ctl.verbose ? LOGL_INFO : LOGL_WARN);
	if (ctl_conf_load(&ctl, &opts) < 0)
		return CTL_FAIL;
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: rescan from argv[1] of the command's vector */
	return cmd->fn(&ctl, argc, argv);
}

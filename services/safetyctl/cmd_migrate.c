/*
 * cmd_migrate - `safetyctl migrate [--dir DIR]`: bring the schema up to date.
 *
 * Applies the files of DIR (default deploy/sql, relative to the current
 * folder) that the database has not seen, through store_migrate_run(), and
 * prints "applied FILE" for each as it commits, then "N applied".  Exit 0
 * when the schema is current; otherwise 1 with the reason on stderr (the
 * file, the line, the server's message).  Safe to run again and to run
 * twice at once: what is applied stays applied exactly once.
 */
#include <getopt.h>
#include <stdio.h>

#include "safetyctl.h"

static void
print_applied(void *arg, int version, const char *file)
{
	(void)arg;
	(void)version;
	printf("applied %s\n", file);
	fflush(stdout);
}

int
cmd_migrate(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = "deploy/sql";
	struct store_err err;
	struct store *st;
	int c, applied = 0, rc;

	while ((c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			printf("usage: safetyctl migrate [--dir DIR]\n"
			       "Apply the NNNN_name.sql files of DIR (default "
			       "deploy/sql) not yet applied.\n");
			return CTL_OK;
		default:
			return ctl_usage("migrate");
		}
	}
	if (optind < argc) {
		ctl_error(
		    "migrate", "unexpected argument \"%s\"", argv[optind]);
		return ctl_usage("migrate");
	}
	st = ctl_store_open(ctl, "migrate");
	if (st == NULL)
		return CTL_FAIL;
	rc = store_migrate_run(st, dir, print_applied, NULL, &applied, &err);
	if (rc == 0)
		printf("%d applied\n", applied);
	else if (applied > 0)
		printf("%d applied before the failure\n", applied);
	if (rc < 0)
		ctl_error("migrate", "%s", err.msg);
	store_close(st);
	return rc < 0 ? CTL_FAIL : CTL_OK;
}

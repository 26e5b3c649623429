/*
 * citysim - the demo city and its feed player.
 *
 *   citysim load [--seed N] [--url URL] [--token T] [--enterprises N]
 *                [--points N] [--batch N] [--today DATE] [--data DIR]
 *   citysim play [--rate R] [--duration S] [--excursions N] (and the above)
 *   citysim dump (the options of load, without url and token)
 *
 * load registers a whole city (enterprises, responsibilities, hazard
 * sources, risk points, points, equipment, inspectors, agencies, duty
 * rosters) through POST /v1/events; play sends readings for its points
 * through POST /v1/readings; dump prints what load would send.  The city
 * is a function of the seed, the counts and the day (DATE, default today
 * in the city), so play, given the same seed and counts as load, knows
 * the points without asking the store.  The token is --token or
 * $ANQUAN_TOKEN, a token of a source allowed every sector and district.
 * `make run` uses it through deploy/run.sh, the system test
 * tests/system/t_citysim.sh with a smaller city.  This file holds only the
 * options; citysim.h lists the parts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "citysim.h"
#include "timeutil.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: citysim load|play|dump [options]\n"
	    "  load   register the demo city through POST /v1/events\n"
	    "  play   send readings for its points through POST /v1/readings\n"
	    "  dump   print the request bodies load would send, one a line\n"
	    "options:\n"
	    "  --seed N          the city (default 1)\n"
	    "  --enterprises N   how many enterprises (default 3000)\n"
	    "  --points N        how many monitoring points (default 30000)\n"
	    "  --today DATE      day the dates count from (default today)\n"
	    "  --url URL         ingestd (default http://127.0.0.1:8101)\n"
	    "  --token T         source token (default $ANQUAN_TOKEN)\n"
	    "  --data DIR        districts/sectors/departments.csv "
	    "(default deploy/data)\n"
	    "  --batch N         events a request (load, default 2000)\n"
	    "  --rate R          readings a second (play, default 2000)\n"
	    "  --duration S      seconds to play (default: until a signal)\n"
	    "  --excursions N    excursions past limits a minute (play, "
	    "default 4)\n"
	    "  --quiet           only the summary line (load)\n");
}

/* A number within [lo, hi]; 0, or -1 with a message. */
static int
number(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || *out < lo || *out > hi) {
		fprintf(stderr,
		    "citysim: --%s must be a number from %g to %g, "
		    "got '%s'\n",
		    opt, lo, hi, s);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"seed", required_argument, NULL, 's'},
	    {"enterprises", required_argument, NULL, 'e'},
	    {"points", required_argument, NULL, 'p'},
	    {"today", required_argument, NULL, 'D'},
	    {"url", required_argument, NULL, 'u'},
	    {"token", required_argument, NULL, 't'},
	    {"data", required_argument, NULL, 'd'},
	    {"batch", required_argument, NULL, 'b'},
	    {"rate", required_argument, NULL, 'r'},
	    {"duration", required_argument, NULL, 'T'},
	    {"excursions", required_argument, NULL, 'x'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sim_opts o;
	const char *cmd;
	double v;
	int c;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? SIM_EXIT_USAGE : 0;
	}
	cmd = argv[1];
	memset(&o, 0, sizeof(o));
	o.city.seed = 1;
	o.city.enterprises = 3000;
	o.city.points = 30000;
	o.city.today = timeutil_city_day(timeutil_now_ms());
	o.url = "http://127.0.0.1:8101";
	o.token = getenv("ANQUAN_TOKEN");
	o.data_dir = "deploy/data";
	o.batch = 2000;
	o.rate = 2000;
	o.excursions_per_min = 4;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (number("seed", optarg, 0, 9007199254740991.0, &v))
				return SIM_EXIT_USAGE;
			o.city.seed = (uint64_t)v;
			break;
		case 'e':
			if (number("enterprises", optarg, 1, 1000000, &v))
				return SIM_EXIT_USAGE;
			o.city.enterprises = (size_t)v;
			break;
		case 'p':
			if (number("points", optarg, 0, 10000000, &v))
				return SIM_EXIT_USAGE;
			o.city.points = (size_t)v;
			break;
		case 'D':
			if (timeutil_parse_date(optarg, &o.city.today) != 0) {
				fprintf(stderr,
				    "citysim: --today must be a "
				    "date YYYY-MM-DD, got '%s'\n",
				    optarg);
				return SIM_EXIT_USAGE;
			}
			break;
		case 'u':
			o.url = optarg;
			break;
		case 't':
			o.token = optarg;
			break;
		case 'd':
			o.data_dir = optarg;
			break;
		case 'b':
			if (number("batch", optarg, 1, 50000, &v))
				return SIM_EXIT_USAGE;
			o.batch = (size_t)v;
			break;
		case 'r':
			if (number("rate", optarg, 1, 1000000, &v))
				return SIM_EXIT_USAGE;
			o.rate = v;
			break;
		case 'T':
			if (number("duration", optarg, 0, 1e9, &v))
				return SIM_EXIT_USAGE;
			o.duration_s = v;
			break;
		case 'x':
			if (number("excursions", optarg, 0, 10000, &v))
				return SIM_EXIT_USAGE;
			o.excursions_per_min = v;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return SIM_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "citysim: unexpected argument '%s'\n",
		    argv[optind]);
		return SIM_EXIT_USAGE;
	}
	if (strcmp(cmd, "load") == 0)
		return sim_load_run(&o);
	if (strcmp(cmd, "play") == 0)
		return sim_play_run(&o);
	if (strcmp(cmd, "dump") == 0)
		return sim_load_dump(&o);
	fprintf(
	    stderr, "citysim: unknown command '%s' (load, play, dump)\n", cmd);
	usage(stderr);
	return SIM_EXIT_USAGE;
}

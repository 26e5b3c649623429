/*
 * risk_uscc - enterprise credit codes for the riskd benchmark's registry.
 *
 *   risk_uscc AREA COUNT
 *
 * Prints COUNT lines "N<TAB>USCC" for N = 0 .. COUNT-1, each USCC the valid
 * unified social credit code (GB 32100-2015 check character) that
 * ids_uscc_generate() makes for the 6-digit AREA and seed N.
 * tests/bench/risk.sh loads the lines with psql's \copy into a temporary
 * table and registers its enterprises with one INSERT ... SELECT, so the
 * registry holds codes ingestd would accept without a thousand requests.
 * Exits 2 on bad arguments.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ids.h"

int
main(int argc, char **argv)
{
	char code[IDS_USCC_SIZE], *end;
	unsigned long count;

	if (argc != 3) {
		fprintf(stderr, "usage: risk_uscc AREA COUNT\n");
		return 2;
	}
	count = strtoul(argv[2], &end, 10);
	if (*end != '\0' || argv[2][0] == '\0' || count > 100000000ul) {
		fprintf(stderr,
		    "risk_uscc: count \"%s\" is not a number "
		    "of at most 100000000\n",
		    argv[2]);
		return 2;
	}
	for (unsigned long n = 0; n < count; n++) {
		if (ids_uscc_generate(n, argv[1], code) < 0) {
			fprintf(stderr,
			    "risk_uscc: area \"%s\" is not 6 digits\n",
			    argv[1]);
			return 2;
		}
		printf("%lu\t%s\n", n, code);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * ingest_uscc - print enterprise credit codes for the ingestd system tests.
 *
 *   ingest_uscc [-b] AREA SEED
 *
 * Prints the valid unified social credit code (GB 32100-2015) that
 * ids_uscc_generate() makes for the 6-digit AREA and SEED; with -b, the
 * same code with a wrong check character, which ingestd must refuse.  The
 * tests/system/t_ingest_*.sh scripts register enterprises through
 * POST /v1/events and need codes whose check digit is right (and one that
 * is not) without hard-coding them.  Exits 2 on bad arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"

/* The alphabet of the check character, in the order of GB 32100-2015. */
static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

int
main(int argc, char **argv)
{
	char code[IDS_USCC_SIZE], *end;
	unsigned long long seed;
	int bad = 0, arg = 1;

	if (argc > 1 && strcmp(argv[1], "-b") == 0) {
		bad = 1;
		arg = 2;
	}
	if (argc - arg != 2) {
		fprintf(stderr, "usage: ingest_uscc [-b] AREA SEED\n");
		return 2;
	}
	seed = strtoull(argv[arg + 1], &end, 10);
	if (*end != '\0' || argv[arg + 1][0] == '\0') {
		fprintf(stderr, "ingest_uscc: seed \"%s\" is not a number\n",
		    argv[arg + 1]);
		return 2;
	}
	if (ids_uscc_generate(seed, argv[arg], code) < 0) {
		fprintf(stderr, "ingest_uscc: area \"%s\" is not 6 digits\n",
		    argv[arg]);
		return 2;
	}
	if (bad) {
		/* The next character of the alphabet is a valid character
		 * but the wrong check for this body. */
		const char *at = strchr(uscc_alphabet, code[IDS_USCC_LEN - 1]);
		size_t i = at ? (size_t)(at - uscc_alphabet) : 0;

		code[IDS_USCC_LEN - 1] =
		    uscc_alphabet[(i + 1) % (sizeof(uscc_alphabet) - 1)];
	}
	printf("%s\n", code);
	return 0;
}

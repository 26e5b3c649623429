/*
 * json_internal - what the reader and the writer of the json module share.
 *
 * The json module is two files: json.c checks UTF-8, parses and reads
 * trees; json_out.c writes JSON text.  Both need to know where a UTF-8
 * sequence ends (the parser to refuse bad input, the writer to replace it
 * with U+FFFD) and how a double is shown (the writer's numbers, the
 * getters' reasons).  This header is for those two files only; programs
 * include json.h.
 */
#ifndef ANQUAN_JSON_INTERNAL_H
#define ANQUAN_JSON_INTERNAL_H

#include <stddef.h>

#include "json.h"

/*
 * Length of the well-formed UTF-8 sequence at p (avail bytes readable), or
 * 0 when it is not one (json.c).
 */
size_t json_utf8_seq_len(const unsigned char *p, size_t avail);

/*
 * Write into buf the shortest of %.15g..%.17g that reads back to exactly v;
 * returns what snprintf returned (json_out.c).
 */
int json_fmt_shortest(char *buf, size_t size, double v);

#endif

/*
 * cfg_internal - what the two halves of the cfg module share.
 *
 * The cfg module is two files: cfg.c reads the file, applies the layers
 * and keeps the caller's structs consistent; cfg_value.c turns the text of
 * one value into the C value its key declares, and back.  This header is
 * for those two files only; programs include cfg.h.
 */
#ifndef ANQUAN_CFG_INTERNAL_H
#define ANQUAN_CFG_INTERNAL_H

#include <stddef.h>

#include "cfg.h"

/* Room for any reason cfg_value_parse() gives. */
#define CFG_WHY_MAX 200

/* Parse text s for key k into the field or slot at p (k->size bytes).
 * Returns 0, or -1 with a reason a person can act on in why. */
int cfg_value_parse(
    const struct cfg_key *k, const char *s, void *p, char *why, size_t size);

/* The value at p as text that cfg_value_parse() reads back the same. */
void cfg_value_format(
    const struct cfg_key *k, const void *p, char *buf, size_t size);

/* As cfg_value_format(), but "(hidden)" for a non-empty CFG_SECRET key. */
void cfg_value_shown(
    const struct cfg_key *k, const void *p, char *buf, size_t size);

#endif

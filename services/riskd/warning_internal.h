/*
 * warning_internal - what warning_parse.c and warning.c share: the time
 * units of a rule's durations.  The parser reads "10m" in them and the
 * reason texts print "10 分钟" in them, so they are defined once.  Not
 * for the rest of riskd.
 */
#ifndef ANQUAN_RISKD_WARNING_INTERNAL_H
#define ANQUAN_RISKD_WARNING_INTERNAL_H

#include <stdint.h>

#define MS_SECOND INT64_C(1000)
#define MS_MINUTE (60 * MS_SECOND)
#define MS_HOUR (60 * MS_MINUTE)
#define MS_DAY (24 * MS_HOUR)

#endif

#!/bin/sh
# json.sh - the JSON parser benchmark behind the choice of cJSON.
#
#   tests/bench/json.sh BUILD [-n READINGS] [-b BATCHES] [-s SECONDS] [-r ROUNDS]
#
# Runs BUILD/bench/json (tests/bench/json.c): 500-reading bodies of the
# ingest API parsed by cJSON and by jansson in alternating rounds on one
# core, printing key=value lines that end with cjson_readings_per_s,
# jansson_readings_per_s and cjson_vs_jansson.  `make bench-json` builds and
# runs it.  Compare with /work/shared/reference/limits.md §3 (cJSON about
# 4x jansson here).
set -eu
build=${1:?usage: tests/bench/json.sh BUILD [options]}
shift
prog=$build/bench/json
if [ ! -x "$prog" ]; then
	echo "json.sh: $prog is not built (make $prog)" >&2
	exit 1
fi
echo "bench=json"
echo "host_cpus=$(nproc)"
# One core, so that the figure is per core whatever the machine runs.
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
	exec taskset -c 0 "$prog" "$@"
fi
exec "$prog" "$@"

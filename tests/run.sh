#!/bin/sh
# run.sh - run the unit and system tests against one build tree.
#
#   tests/run.sh BUILD [unit|system]
#
# Unit tests are the cmocka programs $BUILD/tests/test_*; system tests are the
# scripts tests/system/t_*.sh, each starting its own private PostgreSQL and the
# real programs (tests/system/lib.sh).  Each program's output goes to
# $BUILD/test-logs/; a failure prints its log.  Ends with "N passed, N failed".
set -u
build=${1:?usage: tests/run.sh BUILD [unit|system]}
only=${2:-all}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
logs=$build/test-logs
mkdir -p "$logs/unit" "$logs/system"
export ANQUAN_ROOT="$root" ANQUAN_BUILD="$build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TZ=Asia/Shanghai

passed=0; failed=0; failures=""
run_one() {
	name=$1; shift
	start=$(date +%s)
	if "$@" >"$logs/$name.log" 2>&1; then
		passed=$((passed + 1))
		printf 'PASS %-40s %3ss\n' "$name" $(( $(date +%s) - start ))
	else
		failed=$((failed + 1))
		failures="$failures $name"
		printf 'FAIL %-40s %3ss\n' "$name" $(( $(date +%s) - start ))
		sed 's/^/    | /' "$logs/$name.log" | tail -60
	fi
}

if [ "$only" = all ] || [ "$only" = unit ]; then
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "unit/$(basename "$t")" "$t"
	done
fi
if [ "$only" = all ] || [ "$only" = system ]; then
	for t in "$root"/tests/system/t_*.sh; do
		[ -f "$t" ] || continue
		run_one "system/$(basename "$t" .sh)" sh "$t"
	done
fi

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

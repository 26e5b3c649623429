# bench_lib.sh - shared setup of the benchmark scripts (sourced by
# tests/bench/ingest.sh, risk.sh and alarm.sh).
#
# Each of those benchmarks makes its own PostgreSQL cluster in a temporary
# folder on a free port, migrates it, starts daemons and helper programs
# in the background, and must stop them by pid and destroy the cluster
# however the run ends, keeping the folder with its logs when it failed.
# That frame lives here once; what a benchmark measures stays in its
# script.  Unlike tests/system/lib.sh, every message goes to stderr, as
# "NAME.sh: ...", since stdout is the benchmark's key=value lines.  The
# file only defines functions: nothing runs when it is sourced.
#
# Provides:
#   bench_init BUILD        $BENCH (the script's name, for messages), $ROOT,
#                           $build (BUILD made absolute) and $BIN
#   bench_need PROG...      exits unless every PROG is built
#   bench_cluster STOP KEPT at exit, run the function STOP (it stops what
#                           the script started, by pid), destroy the cluster
#                           and remove $T, or keep $T when the run failed and
#                           say so with KEPT (which files to look at); then
#                           make $T, a cluster in it on a free port, $CONN
#                           and $ANQUAN_CONNINFO, and migrate it
#   sql SQL                 one statement on $CONN, unaligned, no header
#   die MSG                 "NAME.sh: MSG" on stderr, exit 1
#   free_port               a TCP port nobody listens on
#   wait_until SECS WHAT CMD...   poll CMD every 50 ms, die after SECS
#   stop PID                TERM, up to 10 s to finish, then KILL; "" is
#                           nothing to stop
#   metric NAME ADDR        the sum of a family's series on the /metrics of
#                           the daemon at ADDR (host:port); empty when the
#                           family is missing
#   cpu_s PID               CPU seconds (user + system) PID has used
#   host_jiffies            the host's busy and total jiffies (steal counts
#                           as busy), to tell how loaded the machine was

bench_init() {
	BENCH=${0##*/}
	ROOT=$(cd "$(dirname "$0")/../.." && pwd)
	build=$1
	case $build in /*) ;; *) build=$ROOT/$build ;; esac
	BIN=$build/bin
	BENCH_HZ=$(getconf CLK_TCK)
}

bench_need() {
	for bench_p in "$@"; do
		[ -x "$bench_p" ] || die "$bench_p is not built (make BUILD=$build build-all)"
	done
}

die() { echo "$BENCH: $*" >&2; exit 1; }

free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 25000 ))
		if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
			echo "$p"; return
		fi
	done
}

wait_until() {
	s=$1; what=$2; shift 2
	end=$(( $(date +%s) + s ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && die "timed out waiting for $what"
		sleep 0.05
	done
}

stop() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || true
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# The trap's handler: $? on entry is the script's exit status.
bench_cleanup() {
	rc=$?
	$BENCH_STOP
	if [ -n "$T" ] && [ "${ANQUAN_PG_STATS:-0}" = 1 ]; then
		# The statements that took the store's time, to stderr.
		psql "$CONN" -XAq -F' | ' -c "SELECT calls, round(total_exec_time)
		    AS ms, round((total_exec_time / calls)::numeric, 3) AS ms_each,
		    rows, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
		    FROM pg_stat_statements ORDER BY total_exec_time DESC
		    LIMIT 25" >&2 2>/dev/null || true
	fi
	if [ -n "$T" ]; then
		"$ROOT/deploy/pgctl.sh" destroy "$T/db" >/dev/null 2>&1 || true
		if [ $rc = 0 ]; then rm -rf "$T"; else echo "$BENCH: kept $T ($BENCH_KEPT)" >&2; fi
	fi
	exit $rc
}

bench_cluster() {
	BENCH_STOP=$1
	BENCH_KEPT=$2
	T=""
	trap bench_cleanup EXIT INT TERM
	T=$(mktemp -d /tmp/anquan-bench.XXXXXX)
	chmod 755 "$T"
	"$ROOT/deploy/pgctl.sh" init "$T/db" "$(free_port)" >/dev/null
	CONN=$(cat "$T/db/conninfo")
	ANQUAN_CONNINFO=$CONN
	export ANQUAN_CONNINFO
	"$BIN/safetyctl" -c "$CONN" migrate --dir "$ROOT/deploy/sql" >"$T/migrate.log" 2>&1 \
	    || { cat "$T/migrate.log" >&2; exit 1; }
	if [ "${ANQUAN_PG_STATS:-0}" = 1 ]; then
		sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
	fi
}

sql() { psql "$CONN" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

metric() {
	curl -sf "http://$2/metrics" |
	    awk -v n="$1" '$1 ~ "^"n"(\\{.*\\})?$" { s += $2; f = 1 } END { if (f) printf "%.0f\n", s }'
}

# Fields 14 and 15 of /proc/PID/stat, counted after the command name (which
# may hold spaces) is cut off.
cpu_s() { awk -v hz="$BENCH_HZ" '{ sub(/.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"; }

host_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

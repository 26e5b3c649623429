# lib.sh - shared helpers for system tests (sourced by tests/system/t_*.sh).
#
# sys_setup makes a private temporary folder with its own PostgreSQL cluster
# (migrated), exports ANQUAN_CONNINFO, and arranges that everything started
# with sys_spawn is stopped, by pid, when the script exits.  Waits poll with a
# deadline (wait_for); no sleep is ever an assertion.
set -eu

ROOT=${ANQUAN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${ANQUAN_BUILD:-$ROOT/build/asan}
BIN=$BUILD/bin
SYS=$BUILD/tests/sys
T=""
PIDS=""

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }
pass() { log "ok: $*"; }

# A TCP port nobody listens on, picked at random in 20000..44999 (ss is
# from iproute2; /bin/sh has no /dev/tcp).
free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 25000 ))
		if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
			echo "$p"; return
		fi
	done
}

sys_cleanup() {
	rc=$?
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ -n "$T" ]; then
		"$ROOT/deploy/pgctl.sh" destroy "$T/db" >/dev/null 2>&1 || true
		[ $rc = 0 ] && rm -rf "$T"
	fi
	exit $rc
}

# sys_setup [nomigrate]: temp folder, cluster, migrations (unless nomigrate).
sys_setup() {
	T=$(mktemp -d /tmp/anquan-test.XXXXXX)
	chmod 755 "$T"
	trap sys_cleanup EXIT INT TERM
	PGPORT_T=$(free_port)
	"$ROOT/deploy/pgctl.sh" init "$T/db" "$PGPORT_T" >/dev/null
	ANQUAN_CONNINFO=$(cat "$T/db/conninfo")
	export ANQUAN_CONNINFO
	if [ "${1:-}" != nomigrate ]; then
		"$BIN/safetyctl" -c "$ANQUAN_CONNINFO" migrate --dir "$ROOT/deploy/sql" >"$T/migrate.log" 2>&1 \
		    || { cat "$T/migrate.log"; fail "migrations"; }
	fi
	log "setup: $T, PostgreSQL on port $PGPORT_T"
}

sql() { psql "$ANQUAN_CONNINFO" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# sys_spawn NAME CMD...: start CMD in the background, output to $T/NAME.log;
# its pid is in $LAST_PID and is stopped at exit.
sys_spawn() {
	name=$1; shift
	"$@" >>"$T/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 50 ms until it succeeds.
wait_for() {
	secs=$1; what=$2; shift 2
	end=$(( $(date +%s) + secs ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && fail "timed out after ${secs}s waiting for $what"
		sleep 0.05
	done
}

assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
	pass "$3"
}

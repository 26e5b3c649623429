#!/bin/sh
# run.sh - start and stop the local Anquan: private PostgreSQL and the daemons.
#
#   deploy/run.sh start    cluster under ./var (created on first use), migrations,
#                          every daemon built so far, then a summary of what runs
#   deploy/run.sh stop     stop the daemons (by pid) and the cluster
#   deploy/run.sh status   what runs
#
# Called by `make run` and `make stop`.  State: var/pg (the cluster), var/run
# (pid files), var/log (daemon logs).  The config is deploy/anquan.conf unless
# ANQUAN_CONF names another; the cluster's connection string is handed to the
# daemons through ANQUAN_CONNINFO.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
VAR=$root/var
CONF=${ANQUAN_CONF:-$root/deploy/anquan.conf}
PGPORT=${ANQUAN_PGPORT:-5544}
DAEMONS="ingestd riskd alarmd schedd reportd"

conf_get() {	# conf_get SECTION KEY DEFAULT: a value of the INI file
	awk -F= -v s="[$1]" -v k="$2" -v d="$3" '
	    /^[ \t]*\[/ { gsub(/[ \t]/, ""); insec = ($0 == s); next }
	    insec && $1 ~ "^[ \t]*" k "[ \t]*$" { v = $2; sub(/^[ \t]*/, "", v); sub(/[ \t]*(;.*)?$/, "", v); print v; found = 1; exit }
	    END { if (!found) print d }' "$CONF"
}

start() {
	mkdir -p "$VAR/run" "$VAR/log"
	"$root/deploy/pgctl.sh" init "$VAR" "$PGPORT"
	"$root/deploy/pgctl.sh" start "$VAR"
	ANQUAN_CONNINFO=$(cat "$VAR/conninfo")
	export ANQUAN_CONNINFO
	"$BUILD/bin/safetyctl" -c "$ANQUAN_CONNINFO" migrate --dir deploy/sql >"$VAR/log/migrate.log" 2>&1 \
	    || { cat "$VAR/log/migrate.log" >&2; exit 1; }
	started=""
	for d in $DAEMONS; do
		[ -x "$BUILD/bin/$d" ] || continue
		pidf=$VAR/run/$d.pid
		if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
			started="$started $d"
			continue
		fi
		"$BUILD/bin/$d" -d -f "$CONF" >>"$VAR/log/$d.log" 2>&1 &
		echo $! >"$pidf"
		started="$started $d"
	done
	status
}

status() {
	echo "Anquan (config $CONF)"
	if "$root/deploy/pgctl.sh" status "$VAR" 2>/dev/null; then
		echo "  PostgreSQL   running   $(cat "$VAR/conninfo")"
	else
		echo "  PostgreSQL   stopped"
	fi
	for d in $DAEMONS; do
		pidf=$VAR/run/$d.pid
		if [ ! -x "$BUILD/bin/$d" ]; then
			printf '  %-12s not built yet\n' "$d"
		elif [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
			printf '  %-12s running   pid %s  http://%s  log var/log/%s.log\n' "$d" \
			    "$(cat "$pidf")" "$(conf_get "$d" http_listen '?')" "$d"
		else
			printf '  %-12s stopped   log var/log/%s.log\n' "$d" "$d"
		fi
	done
	echo "  safetyctl    $BUILD/bin/safetyctl status    (the operator's tool; -h lists its commands)"
}

stop() {
	for d in $DAEMONS; do
		pidf=$VAR/run/$d.pid
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf")
		if kill -TERM "$pid" 2>/dev/null; then
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
			kill -KILL "$pid" 2>/dev/null || true
			echo "stopped $d (pid $pid)"
		fi
		rm -f "$pidf"
	done
	if "$root/deploy/pgctl.sh" status "$VAR" 2>/dev/null; then
		"$root/deploy/pgctl.sh" stop "$VAR" && echo "stopped PostgreSQL"
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*) echo "usage: deploy/run.sh start|stop|status" >&2; exit 2 ;;
esac

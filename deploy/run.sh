#!/bin/sh
# run.sh - start and stop the local Anquan: private PostgreSQL and the daemons.
#
#   deploy/run.sh start    cluster under ./var (created on first use), migrations,
#                          every daemon built so far, the demo city, then a
#                          summary of what runs
#   deploy/run.sh stop     stop the feed player, the daemons (by pid) and the
#                          cluster
#   deploy/run.sh status   what runs
#
# Called by `make run` and `make stop`.  State: var/pg (the cluster), var/run
# (pid files), var/log (daemon logs), var/demo.token (the demo source's
# token, mode 600), var/officer.token (the demo duty officer's console
# token, mode 600).  The config is deploy/anquan.conf unless ANQUAN_CONF
# names another; the cluster's connection string is handed to the daemons
# through ANQUAN_CONNINFO.
#
# The demo city (services/citysim): once ingestd answers /healthz, `citysim
# load` registers the city through the public API on every start (a city
# already loaded comes back as duplicates in seconds, and the duty rosters
# move on to the coming week), then `citysim play` feeds its sensors in the
# background until `make stop`.  CITYSIM_SEED, CITYSIM_ENTERPRISES,
# CITYSIM_POINTS and CITYSIM_RATE choose another city or pace; CITYSIM=off
# starts none of it.
#
# The duty console (alarmd's GET /, http://127.0.0.1:8301/): when alarmd is
# built, a console token for the demo duty officer (id demo-officer, shown
# as 演示值班员) is made once with `safetyctl officer create` and kept in
# var/officer.token; a token the store no longer holds (a new cluster, or
# revoked) is replaced.  The summary prints the console's address and
# where the token is.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
VAR=$root/var
CONF=${ANQUAN_CONF:-$root/deploy/anquan.conf}
PGPORT=${ANQUAN_PGPORT:-5544}
DAEMONS="ingestd riskd alarmd schedd reportd"
CITYSIM_SEED=${CITYSIM_SEED:-1}
CITYSIM_ENTERPRISES=${CITYSIM_ENTERPRISES:-3000}
CITYSIM_POINTS=${CITYSIM_POINTS:-30000}
CITYSIM_RATE=${CITYSIM_RATE:-2000}

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
	[ "${CITYSIM:-on}" = off ] || demo
	officer_token || true
	status
}

running() {	# running NAME: its pid file names a live process
	[ -f "$VAR/run/$1.pid" ] && kill -0 "$(cat "$VAR/run/$1.pid")" 2>/dev/null
}

# The demo source's token, made once and kept in var/demo.token (600).
demo_token() {
	if [ ! -s "$VAR/demo.token" ]; then
		( umask 077
		  "$BUILD/bin/safetyctl" -c "$ANQUAN_CONNINFO" token create --source demo \
		      --sectors '*' --districts '*' | grep '^aq_' >"$VAR/demo.token.new" ) \
		    || { echo "  demo city: cannot make a token (safetyctl token create failed)" >&2; return 1; }
		mv "$VAR/demo.token.new" "$VAR/demo.token"
	fi
	chmod 600 "$VAR/demo.token"
}

OFFICER_ID=demo-officer
OFFICER_NAME=演示值班员

# 0 when var/officer.token is a token the store holds and has not revoked
# (officer list shows its prefix, the 8 characters after "aq_", with "-"
# as revoked).
officer_token_valid() {
	[ -s "$VAR/officer.token" ] || return 1
	prefix=$(cut -c4-11 "$VAR/officer.token")
	"$BUILD/bin/safetyctl" -c "$ANQUAN_CONNINFO" officer list --id "$OFFICER_ID" 2>/dev/null |
	    awk -v p="$prefix" '$1 == p && $NF == "-" { ok = 1 } END { exit !ok }'
}

# The demo duty officer's console token, made once and kept in
# var/officer.token (600).
officer_token() {
	[ -x "$BUILD/bin/alarmd" ] || return 0
	officer_token_valid && { chmod 600 "$VAR/officer.token"; return 0; }
	[ -s "$VAR/officer.token" ] && echo "  duty console: var/officer.token is not a valid token of this store; making another"
	( umask 077
	  "$BUILD/bin/safetyctl" -c "$ANQUAN_CONNINFO" officer create --id "$OFFICER_ID" \
	      --name "$OFFICER_NAME" | grep '^aq_' >"$VAR/officer.token.new" ) \
	    || { rm -f "$VAR/officer.token.new"
	         echo "  duty console: cannot make an officer token (safetyctl officer create failed)" >&2
	         return 1; }
	mv "$VAR/officer.token.new" "$VAR/officer.token"
	chmod 600 "$VAR/officer.token"
}

# Load the demo city through ingestd, then start the feed player.
demo() {
	[ -x "$BUILD/bin/citysim" ] || { echo "  demo city: citysim not built"; return 0; }
	running ingestd || { echo "  demo city: ingestd is not running, nothing loaded"; return 0; }
	url=http://$(conf_get ingestd http_listen 127.0.0.1:8101)
	i=0
	until curl -fsS -m 2 "$url/healthz" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -ge 60 ] && { echo "  demo city: ingestd not healthy after 30 s, see var/log/ingestd.log"; return 0; }
		sleep 0.5
	done
	demo_token || return 0
	city="--seed $CITYSIM_SEED --enterprises $CITYSIM_ENTERPRISES --points $CITYSIM_POINTS --url $url"
	rc=0
	# shellcheck disable=SC2086
	ANQUAN_TOKEN=$(cat "$VAR/demo.token") "$BUILD/bin/citysim" load $city \
	    >"$VAR/log/citysim-load.log" 2>&1 || rc=$?
	if [ $rc = 3 ]; then
		# The token was refused: the cluster is new since it was
		# made.  Make another and load again, after the second in
		# which ingestd re-reads tokens at most once.
		rm -f "$VAR/demo.token"
		demo_token || return 0
		sleep 1.5
		rc=0
		# shellcheck disable=SC2086
		ANQUAN_TOKEN=$(cat "$VAR/demo.token") "$BUILD/bin/citysim" load $city \
		    >"$VAR/log/citysim-load.log" 2>&1 || rc=$?
	fi
	echo "  demo city: $(grep '^citysim load: .* events in ' "$VAR/log/citysim-load.log" || tail -n 1 "$VAR/log/citysim-load.log")"
	if [ $rc != 0 ]; then
		echo "  demo city: load failed (exit $rc), see var/log/citysim-load.log; no feed player"
		return 0
	fi
	running citysim && return 0
	# shellcheck disable=SC2086
	ANQUAN_TOKEN=$(cat "$VAR/demo.token") "$BUILD/bin/citysim" play $city --rate "$CITYSIM_RATE" \
	    >>"$VAR/log/citysim.log" 2>&1 &
	echo $! >"$VAR/run/citysim.pid"
	echo "  demo city: feed player started, $CITYSIM_RATE readings/s"
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
	if running citysim; then
		printf '  %-12s running   pid %s  seed %s, %s enterprises, %s points, %s readings/s  log var/log/citysim.log\n' \
		    citysim "$(cat "$VAR/run/citysim.pid")" "$CITYSIM_SEED" "$CITYSIM_ENTERPRISES" \
		    "$CITYSIM_POINTS" "$CITYSIM_RATE"
	else
		printf '  %-12s stopped   (the demo feed player) log var/log/citysim.log\n' citysim
	fi
	if running alarmd; then
		echo "  duty console http://$(conf_get alarmd http_listen 127.0.0.1:8301)/  sign in with the token in" \
		    "var/officer.token ($OFFICER_NAME, $OFFICER_ID)"
	fi
	echo "  safetyctl    $BUILD/bin/safetyctl status    (the operator's tool; -h lists its commands)"
}

stop() {
	# The player first: it feeds ingestd.
	for d in citysim $DAEMONS; do
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

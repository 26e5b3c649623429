#!/bin/sh
# pgctl.sh - a private PostgreSQL 15 cluster for development, the demo and tests.
#
#   pgctl.sh init DIR [PORT]   initdb a cluster for DIR (idempotent), database "anquan"
#   pgctl.sh start DIR         start it (Unix socket + 127.0.0.1:PORT), wait until ready
#   pgctl.sh stop DIR          stop it (fast shutdown), wait until gone
#   pgctl.sh status DIR        exit 0 when running
#   pgctl.sh conninfo DIR      print the libpq connection string
#   pgctl.sh psql DIR [ARGS]   psql against it
#
# initdb and postgres refuse to run as root, so as root the cluster belongs to
# the unprivileged system user "anquan" (created when missing).  When that user
# cannot reach DIR (a checkout under a private home), the data lives under
# /var/lib/anquan/clusters/ and DIR/pg links to it.  DIR/conninfo holds the
# connection string the daemons, safetyctl and the tests use.
set -eu

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
RUNAS=anquan

die() { echo "pgctl: $*" >&2; exit 1; }

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$RUNAS" -- "$@"
	else
		"$@"
	fi
}

ensure_user() {
	[ "$(id -u)" = 0 ] || return 0
	id "$RUNAS" >/dev/null 2>&1 && return 0
	useradd --system --user-group --home-dir /nonexistent --no-create-home \
	    --shell /usr/sbin/nologin "$RUNAS"
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pgctl.sh init|start|stop|status|conninfo|psql DIR [PORT|ARGS]"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# The cluster's home: DIR/pg, or a stand-in the owner can reach.
home_of() {
	if [ -L "$dir/pg" ] || [ -d "$dir/pg" ]; then
		readlink -f "$dir/pg"
		return
	fi
	echo ""
}

case "$cmd" in
init)
	port=${3:-5544}
	ensure_user
	home=$(home_of)
	if [ -n "$home" ] && [ -f "$home/data/PG_VERSION" ]; then
		exit 0
	fi
	if [ "$(id -u)" = 0 ] && ! runuser -u "$RUNAS" -- test -x "$dir"; then
		key=$(echo "$dir" | md5sum | cut -c1-12)
		home=/var/lib/anquan/clusters/$key
		rm -rf "$home"
		mkdir -p "$home"
		ln -sfn "$home" "$dir/pg"
	else
		home=$dir/pg
		mkdir -p "$home"
	fi
	if [ "$(id -u)" = 0 ]; then
		chown "$RUNAS:$RUNAS" "$home"
		chmod 700 "$home"
	fi
	as_owner mkdir -p "$home/run"
	as_owner "$PGBIN/initdb" -D "$home/data" -U anquan -A trust -E UTF8 \
	    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
	as_owner sh -c "cat >> '$home/data/postgresql.conf'" <<CONF
# --- anquan private cluster ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$home/run'
unix_socket_permissions = 0777
max_connections = 100
shared_buffers = 256MB
synchronous_commit = on
fsync = on
max_wal_size = 4GB
checkpoint_timeout = 15min
logging_collector = off
log_min_messages = warning
timezone = 'Asia/Shanghai'
CONF
	# ANQUAN_PG_STATS=1: the statements' counts and times are kept
	# (pg_stat_statements), for a benchmark to tell where the time went.
	if [ "${ANQUAN_PG_STATS:-0}" = 1 ]; then
		echo "shared_preload_libraries = 'pg_stat_statements'" |
		    as_owner sh -c "cat >> '$home/data/postgresql.conf'"
	fi
	echo "host=$home/run port=$port dbname=anquan user=anquan" >"$dir/conninfo"
	"$0" start "$dir"
	as_owner "$PGBIN/psql" -q -h "$home/run" -p "$port" -U anquan -d postgres \
	    -c "CREATE DATABASE anquan ENCODING 'UTF8'" >/dev/null
	;;
start)
	home=$(home_of); [ -n "$home" ] || die "no cluster in $dir (run init)"
	if as_owner "$PGBIN/pg_ctl" -D "$home/data" status >/dev/null 2>&1; then
		exit 0
	fi
	as_owner "$PGBIN/pg_ctl" -D "$home/data" -l "$home/postgres.log" -w -t 60 \
	    start >/dev/null || { tail -20 "$home/postgres.log" >&2; die "start failed"; }
	;;
stop)
	home=$(home_of); [ -n "$home" ] || exit 0
	[ -f "$home/data/PG_VERSION" ] || exit 0
	as_owner "$PGBIN/pg_ctl" -D "$home/data" status >/dev/null 2>&1 || exit 0
	as_owner "$PGBIN/pg_ctl" -D "$home/data" -m fast -w -t 60 stop >/dev/null
	;;
status)
	home=$(home_of); [ -n "$home" ] || exit 1
	as_owner "$PGBIN/pg_ctl" -D "$home/data" status >/dev/null 2>&1
	;;
conninfo)
	[ -f "$dir/conninfo" ] || die "no cluster in $dir"
	cat "$dir/conninfo"
	;;
psql)
	shift 2
	exec psql "$(cat "$dir/conninfo")" "$@"
	;;
destroy)
	"$0" stop "$dir" || true
	home=$(home_of)
	[ -n "$home" ] && rm -rf "$home"
	rm -rf "$dir/pg" "$dir/conninfo" "$dir/initdb.log"
	;;
*)
	die "unknown command $cmd"
	;;
esac

#!/bin/sh
# t_store - one store handle through a database outage, COPY and pipelines.
#
# store_probe keeps a single struct store open for the whole test and
# answers commands written to a FIFO.  While the cluster runs: a query, the
# session settings, COPY of awkward text round-tripped, a pipeline with a
# failing batch.  With the cluster stopped: every call fails with
# STORE_ERR_CONN at once (no call waits), and the backoff holds most calls
# back from even trying.  Started again: the same handle works without a
# restart.  A transaction open when the connection broke stays refused until
# it is rolled back, and nothing of it was kept.
. "$(dirname "$0")/lib.sh"

sys_setup
sql "CREATE TABLE probe_tx (v text)" >/dev/null

mkfifo "$T/probe.in"
# Held open read-write, so neither side blocks on open and the probe sees
# end of input only when the script goes away.
exec 3<>"$T/probe.in"
sys_spawn probe sh -c 'exec "$1" <"$2"' sh "$SYS/store_probe" "$T/probe.in"
PROBE_PID=$LAST_PID

seq=0
# probe CMD...: send a command, wait for its numbered answer, put it in $ANS.
probe() {
	seq=$((seq + 1))
	echo "$*" >&3
	wait_for 60 "the probe's answer to '$*'" grep -q "^$seq " "$T/probe.log"
	ANS=$(grep "^$seq " "$T/probe.log" | cut -d' ' -f2-)
	log "probe $*: $ANS"
}

# field NAME: the value of NAME=... in $ANS.
field() {
	printf '%s\n' "$ANS" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

probe query
assert_eq "$ANS" "ok 42" "a parameterised query"

probe settings
assert_eq "$ANS" "ok on Asia/Shanghai UTF8 store_probe 10s" \
    "synchronous_commit, TimeZone, client_encoding, application_name, statement_timeout"

probe copy
assert_eq "$(field rows)" 16 "COPY of awkward text, numbers and NULL round-trips"
assert_eq "$(field badcopy)" 22P02 "a refused COPY row is an SQL error"
# The table holds exactly the characters sent, as the server sees them.
assert_eq "$(sql "SELECT s FROM probe_copy WHERE id = 8")" "历城区 危险化学品" \
    "Chinese text intact"
assert_eq "$(sql "SELECT octet_length(s) || ' ' || strpos(s, chr(92)) FROM probe_copy WHERE id = 0")" "10 5" \
    "a backslash arrives as one backslash"
assert_eq "$(sql "SELECT s = chr(92) || chr(9) || chr(10) || chr(13) || chr(92) FROM probe_copy WHERE id = 11")" t \
    "backslash, tab, newline, carriage return intact"
assert_eq "$(sql "SELECT count(*) FILTER (WHERE s IS NULL) || ' ' || count(*) FILTER (WHERE s = '') FROM probe_copy")" "1 1" \
    "NULL stays NULL, empty stays empty"
assert_eq "$(sql "SELECT s FROM probe_copy WHERE id = 5")" '\N' "the text \\N is not NULL"
assert_eq "$(sql "SELECT octet_length(s) FROM probe_copy WHERE id = 15")" 360000 \
    "a value spanning several COPY chunks"

probe pipeline
assert_eq "$ANS" "ok first=1001 seen=1000 second=22012 rows=1000" \
    "pipeline: a clean batch commits, a failing one is undone as a whole"

# --- the database goes away --------------------------------------------------
"$ROOT/deploy/pgctl.sh" stop "$T/db"
log "cluster stopped"

probe down 40 10
assert_eq "$(field conn)" 40 "with the database down every call fails with STORE_ERR_CONN"
max_ms=$(field max_ms)
[ "$max_ms" -lt 500 ] || fail "a call took ${max_ms} ms with the database down"
pass "no call waited (slowest ${max_ms} ms)"
attempts=$(field attempts)
[ "$attempts" -ge 1 ] && [ "$attempts" -le 10 ] || \
    fail "expected a few reconnect attempts under backoff, got $attempts"
[ "$(field refused)" -ge 20 ] || fail "the backoff refused only $(field refused) calls"
pass "backoff: $attempts attempts, $(field refused) calls refused at once"

# --- and comes back ----------------------------------------------------------
"$ROOT/deploy/pgctl.sh" start "$T/db"
log "cluster started"
probe await 30
case "$ANS" in ok*) ;; *) fail "no reconnect: $ANS" ;; esac
[ "$(field reconnects)" -ge 1 ] || fail "reconnect not counted: $ANS"
pass "the same handle reconnected after $(field waited_ms) ms"
probe query
assert_eq "$ANS" "ok 42" "queries work again"
probe settings
assert_eq "$ANS" "ok on Asia/Shanghai UTF8 store_probe 10s" "a new connection gets the settings too"

# --- a transaction open when the connection breaks ---------------------------
probe begin
assert_eq "$ANS" ok "begin"
probe insert before-outage
assert_eq "$ANS" "ok before-outage" "insert inside the transaction"
"$ROOT/deploy/pgctl.sh" stop "$T/db"
probe insert during-outage
case "$ANS" in "err conn "*) pass "the broken transaction reports a connection error" ;;
	*) fail "expected a connection error, got: $ANS" ;; esac
"$ROOT/deploy/pgctl.sh" start "$T/db"
probe insert after-outage
case "$ANS" in "err conn 08003 the connection broke inside a transaction"*)
	pass "no statement runs outside the lost transaction" ;;
	*) fail "a statement ran after the transaction was lost: $ANS" ;; esac
probe rollback
assert_eq "$ANS" ok "rollback clears the lost transaction"
probe await 30
case "$ANS" in ok*) ;; *) fail "no reconnect after rollback: $ANS" ;; esac
probe count
assert_eq "$ANS" "ok 0" "nothing of the lost transaction was kept"

probe stats
log "probe counters: $ANS"
probe quit
assert_eq "$ANS" "ok bye" "quit"
# Its exit status also carries the sanitizers' verdict (leaks included).
wait "$PROBE_PID" || fail "store_probe exited with status $?"
pass "store_probe exited cleanly"

#!/bin/sh
# t_bus_replay - nothing is lost or doubled when a consumer dies mid-stream,
# and a subscriber that comes late catches up (proto/README.md §4-5).
#
# A consumer subscribes; the producer commits and publishes 20,000 messages
# over several topics; the consumer is killed with SIGKILL part-way, the
# producer goes on, the consumer is restarted under the same name and must
# end with every (stream, seq) of bus_log handled exactly once.  Then a
# second consumer started after the producer finished must do the same, all
# by replay.  Meanwhile `safetyctl tail` prints what passes.  Helpers:
# tests/system/bus_producer.c, bus_consumer.c.
. "$(dirname "$0")/lib.sh"

N=20000
TOPICS=rd.370112.hazchem,rd.370112.gas,rd.370102.mine,ev.hazard.reported,ev.accident.reported

sys_setup
EP=tcp://127.0.0.1:$(free_port)

seen() {
	sql "SELECT count(*) FROM bus_test_seen WHERE consumer = '$1'"
}
seen_at_least() {
	[ "$(seen "$1")" -ge "$2" ]
}
logged_at_least() {
	[ "$(sql 'SELECT count(*) FROM bus_log')" -ge "$1" ]
}
live() {
	grep -q 'event=bus.consumer.live' "$T/$1.log"
}
# The value of key $2 on the bus_consumer.stats line of log $1.
stat() {
	sed -n "s/.*event=bus_consumer.stats.* $2=\([0-9]*\).*/\1/p" "$T/$1.log"
}

# Every (stream, seq) in bus_log handled by consumer $1 once, nothing else.
check_exactly_once() {
	assert_eq "$(seen "$1")" "$N" "$1: rows handled"
	assert_eq "$(sql "SELECT count(*) FROM (SELECT stream, seq FROM bus_test_seen
	    WHERE consumer = '$1' GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 \
	    "$1: no (stream, seq) handled twice"
	assert_eq "$(sql "SELECT count(*) FROM bus_log l WHERE NOT EXISTS (
	    SELECT 1 FROM bus_test_seen s WHERE s.consumer = '$1'
	    AND s.stream = l.stream AND s.seq = l.seq)")" 0 \
	    "$1: none of bus_log missing"
	assert_eq "$(sql "SELECT count(*) FROM bus_lag
	    WHERE consumer = '$1' AND behind <> 0")" 0 "$1: cursors at the end"
}

# --- a consumer killed with SIGKILL mid-stream, then restarted -------------
sys_spawn cons-a1 "$SYS/bus_consumer" -n a -c "$EP" -p rd. -p ev.
CONS=$LAST_PID
wait_for 20 "consumer a to go live" live cons-a1

sys_spawn tail "$BIN/safetyctl" tail rd.370112. --connect "$EP" --count 5
TAILP=$LAST_PID
sys_spawn producer "$SYS/bus_producer" -b "$EP" -n $N -r 5000 -k 50 -t $TOPICS
PROD=$LAST_PID

wait_for 60 "consumer a to handle 3000" seen_at_least a 3000
kill -KILL "$CONS"
wait "$CONS" 2>/dev/null || true
at_kill=$(seen a)
log "consumer a killed after $at_kill messages"

# The producer goes on without it.
target=$(( $(sql 'SELECT count(*) FROM bus_log') + 3000 ))
[ $target -gt $N ] && target=$N
wait_for 60 "the producer to go on" logged_at_least $target
assert_eq "$(seen a)" "$at_kill" "nothing handled while consumer a is dead"

sys_spawn cons-a2 "$SYS/bus_consumer" -n a -c "$EP" -p rd. -p ev.
CONS=$LAST_PID

if wait "$PROD"; then prc=0; else prc=$?; fi
assert_eq "$prc" 0 "producer exit status"
assert_eq "$(sql 'SELECT count(*) FROM bus_log')" "$N" "messages logged"
assert_eq "$(sql 'SELECT sum(last_seq) FROM bus_streams')" "$N" \
    "stream sequences have no holes"

# --- safetyctl tail printed five messages of its prefix, one line each -------
if wait "$TAILP"; then trc=0; else trc=$?; fi
assert_eq "$trc" 0 "tail exits 0 after --count 5"
assert_eq "$(grep -cE '^rd\.370112\.(hazchem|gas) stream=rd\.370112\.(hazchem|gas) seq=[0-9]+ produced_at=20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+08:00 producer=bus_producer msg_id=[0-9a-f]{32} readings n=1 \[P-[0-9]{4} [0-9.e+-]+ good\]$' "$T/tail.log")" 5 \
    "tail: five well-formed lines"
set -- $(head -1 "$T/tail.log")
tstream=${2#stream=}; tseq=${3#seq=}; tat=${4#produced_at=}
assert_eq "$tat" "$(sql "SELECT to_char(produced_at AT TIME ZONE 'Asia/Shanghai',
    'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+08:00\"') FROM bus_log
    WHERE stream = '$tstream' AND seq = $tseq")" "tail: produced_at as logged"

wait_for 120 "consumer a to handle all $N" seen_at_least a $N
kill -TERM "$CONS"
if wait "$CONS"; then crc=0; else crc=$?; fi
assert_eq "$crc" 0 "consumer a stops cleanly on SIGTERM"
check_exactly_once a
replayed=$(sql "SELECT count(*) FROM bus_test_seen WHERE consumer = 'a' AND replayed")
[ "$replayed" -gt 0 ] || fail "consumer a replayed nothing after its restart"
pass "consumer a caught up by replay ($replayed messages)"
[ "$(stat cons-a2 replayed)" -gt 0 ] || fail "restarted consumer counted no replay"
pass "restarted consumer counted replayed=$(stat cons-a2 replayed)"

# --- a late subscriber: everything comes by replay --------------------------
sys_spawn cons-late "$SYS/bus_consumer" -n late -c "$EP" -p rd. -p ev. --resync-ms 200
CONS=$LAST_PID
wait_for 120 "the late subscriber to handle all $N" seen_at_least late $N
kill -TERM "$CONS"
wait "$CONS" || fail "late consumer exit status"
check_exactly_once late
assert_eq "$(sql "SELECT count(*) FROM bus_test_seen
    WHERE consumer = 'late' AND NOT replayed")" 0 "late: all by replay"
assert_eq "$(stat cons-late replayed)" "$N" "late: replayed counter"

# --- prefixes select streams: a shard sees only its own ---------------------
sys_spawn cons-shard "$SYS/bus_consumer" -n shard -c "$EP" -p rd.370112.
CONS=$LAST_PID
want=$(sql "SELECT sum(last_seq) FROM bus_streams WHERE stream LIKE 'rd.370112.%'")
wait_for 60 "the shard to handle its $want" seen_at_least shard "$want"
kill -TERM "$CONS"
wait "$CONS" || fail "shard consumer exit status"
assert_eq "$(seen shard)" "$want" "shard: exactly its streams' messages"
assert_eq "$(sql "SELECT count(*) FROM bus_test_seen
    WHERE consumer = 'shard' AND stream NOT LIKE 'rd.370112.%'")" 0 \
    "shard: nothing outside its prefix"

pass "t_bus_replay"

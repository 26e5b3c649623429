#!/bin/sh
# t_bus_drops - messages the bus drops are repaired from the store
# (proto/README.md §4-5, reference/limits.md §1).
#
# The producer's PUB has a high-water mark of 1, tiny kernel buffers and no
# outbox, so everything a slow consumer cannot take at once is dropped (and
# counted); the consumer is made slow on purpose.  It must still handle
# every (stream, seq) exactly once: gaps are replayed from bus_log when a
# later message reveals them, and the lost tail by the periodic resync.
. "$(dirname "$0")/lib.sh"

N=20000
TOPICS=rd.370112.hazchem,rd.370102.gas,ev.hazard.reported,ev.case.filed

sys_setup
EP=tcp://127.0.0.1:$(free_port)

seen_at_least() {
	[ "$(sql "SELECT count(*) FROM bus_test_seen WHERE consumer = 'slow'")" -ge "$1" ]
}
live() {
	grep -q 'event=bus.consumer.live' "$T/$1.log"
}
stat() {
	sed -n "s/.*event=$2.* $3=\([0-9]*\).*/\1/p" "$T/$1.log"
}

sys_spawn cons "$SYS/bus_consumer" -n slow -c "$EP" -p rd. -p ev. \
    --rcvhwm 1 --rcvbuf 4096 --delay-us 100 --resync-ms 500
CONS=$LAST_PID
wait_for 20 "the consumer to go live" live cons

sys_spawn producer "$SYS/bus_producer" -b "$EP" -n $N -r 10000 -k 100 \
    -t $TOPICS --sndhwm 1 --sndbuf 4096 --outbox -1
PROD=$LAST_PID
if wait "$PROD"; then prc=0; else prc=$?; fi
assert_eq "$prc" 0 "producer exit status"

wait_for 180 "the consumer to handle all $N" seen_at_least $N
kill -TERM "$CONS"
wait "$CONS" || fail "consumer exit status"

dropped=$(stat producer bus_producer.done dropped)
gaps=$(stat cons bus_consumer.stats gaps)
log "producer dropped $dropped, consumer saw $gaps gaps, replayed $(stat cons bus_consumer.stats replayed)"
[ "$dropped" -gt 0 ] || fail "the PUB dropped nothing; the test did not stress it"
pass "the PUB dropped and counted $dropped messages"
[ "$gaps" -gt 0 ] || fail "the consumer detected no gap"
pass "the consumer detected $gaps gaps"

assert_eq "$(sql "SELECT count(*) FROM bus_test_seen WHERE consumer = 'slow'")" \
    "$N" "rows handled"
assert_eq "$(sql "SELECT count(*) FROM (SELECT stream, seq FROM bus_test_seen
    WHERE consumer = 'slow' GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 \
    "no (stream, seq) handled twice"
assert_eq "$(sql "SELECT count(*) FROM bus_log l WHERE NOT EXISTS (
    SELECT 1 FROM bus_test_seen s WHERE s.consumer = 'slow'
    AND s.stream = l.stream AND s.seq = l.seq)")" 0 "none of bus_log missing"
assert_eq "$(sql "SELECT count(*) FROM bus_lag WHERE consumer = 'slow' AND behind <> 0")" \
    0 "cursors at the end"
pass "t_bus_drops"

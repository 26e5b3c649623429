#!/bin/sh
# t_bus_faults - a consumer survives the store going away, and two
# processes under one consumer name do not double an effect
# (proto/README.md §5).
#
# Twins: two bus_consumer processes share the name "twin" while a producer
# runs; the compare-and-set on bus_cursors makes the loser of each race roll
# back, so the effects are still exactly once.  Store away: a consumer
# keeps running while PostgreSQL is stopped, says so, and when it is back
# catches up with what was produced after.  Retention: bus_log_prune drops
# old rows, a consumer whose cursor is older counts them lost and goes on, a
# new consumer starts at the oldest retained row.  Helpers: bus_producer.c,
# bus_consumer.c.
. "$(dirname "$0")/lib.sh"

N=3000
TOPICS=rd.370112.hazchem,rd.370102.gas,ev.hazard.reported

sys_setup
EP=tcp://127.0.0.1:$(free_port)

seen() {
	sql "SELECT count(*) FROM bus_test_seen WHERE consumer = '$1'"
}
seen_at_least() {
	[ "$(seen "$1")" -ge "$2" ]
}
in_log() {
	grep -q "event=$2" "$T/$1.log"
}
check_exactly_once() {
	assert_eq "$(seen "$1")" "$2" "$1: rows handled"
	assert_eq "$(sql "SELECT count(*) FROM (SELECT stream, seq FROM bus_test_seen
	    WHERE consumer = '$1' GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 \
	    "$1: no (stream, seq) handled twice"
	assert_eq "$(sql "SELECT count(*) FROM bus_log l WHERE NOT EXISTS (
	    SELECT 1 FROM bus_test_seen s WHERE s.consumer = '$1'
	    AND s.stream = l.stream AND s.seq = l.seq)")" 0 \
	    "$1: none of bus_log missing"
}

# --- twins ------------------------------------------------------------------
sys_spawn twin1 "$SYS/bus_consumer" -n twin -c "$EP" -p rd. -p ev. --batch 20
T1=$LAST_PID
sys_spawn twin2 "$SYS/bus_consumer" -n twin -c "$EP" -p rd. -p ev. --batch 20
T2=$LAST_PID
wait_for 20 "twin 1 to go live" in_log twin1 bus.consumer.live
wait_for 20 "twin 2 to go live" in_log twin2 bus.consumer.live

sys_spawn producer "$SYS/bus_producer" -b "$EP" -n $N -r 3000 -k 10 -t $TOPICS
if wait "$LAST_PID"; then prc=0; else prc=$?; fi
assert_eq "$prc" 0 "producer exit status"
wait_for 60 "the twins to handle all $N" seen_at_least twin $N
kill -TERM "$T1" "$T2"
wait "$T1" || fail "twin 1 exit status"
wait "$T2" || fail "twin 2 exit status"
check_exactly_once twin $N
if in_log twin1 bus.consumer.cursor_moved || in_log twin2 bus.consumer.cursor_moved; then
	pass "the twins collided and the loser rolled back"
else
	log "the twins never collided this run (the check above still holds)"
fi

# --- the store goes away and comes back ---------------------------------------
sys_spawn steady "$SYS/bus_consumer" -n steady -c "$EP" -p rd. -p ev. --resync-ms 200
CONS=$LAST_PID
wait_for 60 "the steady consumer to catch up" seen_at_least steady $N

"$ROOT/deploy/pgctl.sh" stop "$T/db"
wait_for 20 "the consumer to notice the store is away" \
    in_log steady bus.consumer.store_unavailable
kill -0 "$CONS" || fail "the consumer died with the store"
pass "the consumer runs on without the store"

"$ROOT/deploy/pgctl.sh" start "$T/db"
sys_spawn producer2 "$SYS/bus_producer" -b "$EP" -n $N -r 3000 -t $TOPICS
if wait "$LAST_PID"; then prc=0; else prc=$?; fi
assert_eq "$prc" 0 "second producer exit status"
assert_eq "$(sql 'SELECT sum(last_seq) FROM bus_streams')" $((2 * N)) \
    "sequences continue across producers"
wait_for 60 "the steady consumer to handle all $((2 * N))" \
    seen_at_least steady $((2 * N))
in_log steady bus.consumer.store_back || fail "no store_back line"
kill -TERM "$CONS"
wait "$CONS" || fail "steady consumer exit status"
check_exactly_once steady $((2 * N))

# --- retention: pruning, a cursor older than the log, a new consumer ----------
if sql "SELECT bus_log_prune(0)" 2>/dev/null; then
	fail "bus_log_prune(0) was accepted"
fi
pass "bus_log_prune refuses to keep less than a day"
assert_eq "$(sql 'SELECT bus_log_prune(7)')" 0 "nothing younger than 7 days pruned"
sql "UPDATE bus_log SET produced_at = now() - interval '8 days' WHERE seq <= 100"
assert_eq "$(sql 'SELECT bus_log_prune(7)')" 300 "the 300 old rows pruned"
assert_eq "$(sql 'SELECT sum(last_seq) FROM bus_streams')" $((2 * N)) \
    "streams keep their numbering"

stat() {
	sed -n "s/.*event=bus_consumer.stats.* $2=\([0-9]*\).*/\1/p" "$T/$1.log"
}
sql "INSERT INTO bus_cursors (consumer, stream, seq) SELECT 'old', stream, 10 FROM bus_streams"
sys_spawn old "$SYS/bus_consumer" -n old -c "$EP" -p rd. -p ev.
CONS=$LAST_PID
wait_for 60 "the old consumer to handle what is left" seen_at_least old $((2 * N - 300))
kill -TERM "$CONS"
wait "$CONS" || fail "old consumer exit status"
check_exactly_once old $((2 * N - 300))
assert_eq "$(stat old lost)" 270 "old: the pruned seqs 11..100 of 3 streams counted lost"
in_log old bus.replay.lost || fail "old: no bus.replay.lost line"

sys_spawn fresh "$SYS/bus_consumer" -n fresh -c "$EP" -p rd. -p ev.
CONS=$LAST_PID
wait_for 60 "a new consumer to handle the retained log" seen_at_least fresh $((2 * N - 300))
kill -TERM "$CONS"
wait "$CONS" || fail "fresh consumer exit status"
check_exactly_once fresh $((2 * N - 300))
assert_eq "$(stat fresh lost)" 0 "fresh: starting at the oldest retained is no loss"
in_log fresh bus.replay.start || fail "fresh: no bus.replay.start line"
pass "t_bus_faults"

#!/bin/sh
# t_ingest_basic.sh - ingestd end to end, the short tour: a batch with good
# and bad items keeps the good ones and names the bad; the same batch again
# adds nothing (all duplicates); a subscriber sees the committed batch on
# rd.<district>.<sector>; the store stopped gives 503 with Retry-After and
# an unhealthy /healthz, the store started gives 202 again without a
# restart; SIGTERM drains and exits 0, and a sanitizer build reports
# nothing in the daemon's log.  t_ingest_batch.sh and t_ingest_store.sh go
# deeper on each.
. "$(dirname "$0")/lib.sh"
sys_setup

ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }
HTTP_PORT=$(free_port)
PUB_PORT=$(free_port)
PULL_PORT=$(free_port)
CONF=$T/anquan.conf
cat >"$CONF" <<CONF
[store]
backoff_min = 50ms
backoff_max = 300ms
[bus]
ingestd_pub = tcp://127.0.0.1:$PUB_PORT
ingest_pull = tcp://127.0.0.1:$PULL_PORT
[ingestd]
http_listen = 127.0.0.1:$HTTP_PORT
group_wait = 1ms
CONF
U=http://127.0.0.1:$HTTP_PORT
NOW_MS=$(( $(date +%s) * 1000 ))

post() {	# post PATH DATA: status on stdout, body in $T/out, headers in $T/hdr
	curl -s -m 30 -o "$T/out" -D "$T/hdr" -w '%{http_code}' \
	    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
	    --data-binary "$2" "$U$1"
}
field() { jq -r "$1" "$T/out"; }

TOKEN=$(ctl token create --source basic --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
pass "ingestd up"

# A token made while ingestd runs works at once (an unknown token makes
# ingestd re-read the tokens), not only after the periodic refresh.
FIRST=$TOKEN
TOKEN=$(ctl token create --source late --sectors '*' --districts '*' | grep '^aq_') \
    || fail "second token"
assert_eq "$(post /v1/readings '{"readings":[]}')" 202 "a token made a moment ago is accepted"
TOKEN=$FIRST

USCC=$("$SYS/ingest_uscc" 370112 7)
code=$(post /v1/events "{\"events\":[
 {\"kind\":\"enterprise.upsert\",\"id\":\"e-1\",\"at\":$NOW_MS,\"data\":{\"uscc\":\"$USCC\",\"name\":\"化工厂\",\"district\":\"370112\",\"sector\":\"hazchem\",\"employees\":80,\"status\":\"operating\",\"enforcement_level\":\"city\"}},
 {\"kind\":\"point.upsert\",\"id\":\"p-1\",\"at\":$NOW_MS,\"data\":{\"code\":\"T-1\",\"uscc\":\"$USCC\",\"kind\":\"temperature\",\"unit\":\"degC\",\"h\":80,\"hh\":95,\"enabled\":true}}]}")
assert_eq "$code/$(field .accepted)" 202/2 "enterprise and point registered"

# The subscriber joins late (ZeroMQ subscriptions take a moment): warm up
# with single readings until it shows one.
sys_spawn tail "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" tail rd. --connect "tcp://127.0.0.1:$PUB_PORT"
W=0
warm_up() {
	W=$((W + 1))
	post /v1/readings "{\"readings\":[{\"point\":\"T-1\",\"ts\":$((NOW_MS - 86400000 + W)),\"value\":20}]}" >/dev/null
	grep -q 'readings n=' "$T/tail.log"
}
wait_for 20 "the subscriber to see a batch" warm_up
pass "subscriber live after $W posts"

# Good and bad items: 3 good (one of them for an unknown point, kept in
# quarantine), 2 bad, named by index.
B=$((NOW_MS - 600000))
BATCH="{\"readings\":[
 {\"point\":\"T-1\",\"ts\":$B,\"value\":21.5},
 {\"point\":\"T-1\",\"ts\":$((B + 1000)),\"value\":\"hot\"},
 {\"point\":\"T-1\",\"ts\":$((B + 2000)),\"value\":22.25,\"quality\":\"good\"},
 {\"point\":\"NOPE-1\",\"ts\":$B,\"value\":1},
 {\"point\":\"T-1\",\"ts\":$((NOW_MS + 3600000)),\"value\":1}
]}"
code=$(post /v1/readings "$BATCH")
assert_eq "$code" 202 "mixed batch answered 202"
assert_eq "$(field .accepted)/$(field .duplicates)/$(field .quarantined)" 2/0/1 "mixed batch counts"
assert_eq "$(field '[.rejected[].index]|map(tostring)|join(",")')" "1,4" "bad items named by index"
[ "$(field '[.rejected[].error|select(length > 10)]|length')" = 2 ] || fail "reasons: $(cat "$T/out")"
assert_eq "$(sql "SELECT count(*) FROM readings WHERE ts >= to_timestamp($B / 1000.0)")" 2 "two readings stored"
assert_eq "$(sql "SELECT count(*) FROM quarantine WHERE point = 'NOPE-1'")" 1 "unknown point quarantined"
see_batch() { grep -q "rd.370112.hazchem.*readings n=2" "$T/tail.log"; }
wait_for 10 "the subscriber to see the batch of 2" see_batch
pass "subscriber saw the committed batch on rd.370112.hazchem"

# The same batch again: nothing new.
code=$(post /v1/readings "$BATCH")
assert_eq "$code/$(field .accepted)/$(field .duplicates)/$(field .quarantined)" 202/0/3/0 "retry: all duplicates"
assert_eq "$(sql "SELECT count(*) FROM readings WHERE ts >= to_timestamp($B / 1000.0)")" 2 "retry added no reading"
assert_eq "$(sql "SELECT count(*) FROM quarantine")" 1 "retry added no quarantine row"
assert_eq "$(sql "SELECT count(*) FROM bus_log WHERE stream = 'rd.370112.hazchem'")" "$((W + 1))" "duplicates not logged for the bus"

# The store goes away: 503 with Retry-After, /healthz says so.
"$ROOT/deploy/pgctl.sh" stop "$T/db" >/dev/null
N=0
down() {
	N=$((N + 1))
	[ "$(post /v1/readings "{\"readings\":[{\"point\":\"T-1\",\"ts\":$((B + 100000 + N)),\"value\":1}]}")" = 503 ]
}
wait_for 30 "503 with the store down" down
grep -qi '^Retry-After: *1' "$T/hdr" || fail "503 without Retry-After: $(cat "$T/hdr")"
assert_eq "$(field .error)" store_unavailable "503 says why"
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")
assert_eq "$code" 503 "/healthz unhealthy with the store down"

# Back: accepted again, same process.
"$ROOT/deploy/pgctl.sh" start "$T/db" >/dev/null
up() { [ "$(post /v1/readings "{\"readings\":[{\"point\":\"T-1\",\"ts\":$((B + 200000)),\"value\":5}]}")" = 202 ]; }
wait_for 30 "202 with the store back" up
kill -0 "$INGESTD" || fail "ingestd died"
pass "store back: accepting without a restart"
wait_for 10 "/healthz healthy again" curl -fsS "$U/healthz"

# SIGTERM drains and exits 0.
kill -TERM "$INGESTD"
i=0
while kill -0 "$INGESTD" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -0 "$INGESTD" 2>/dev/null && fail "ingestd still running 10 s after SIGTERM"
wait "$INGESTD" && rc=0 || rc=$?
assert_eq "$rc" 0 "SIGTERM: clean exit"
if grep -q 'Sanitizer' "$T/ingestd.log"; then
	sed -n '/Sanitizer/,$p' "$T/ingestd.log" | head -40
	fail "sanitizer report in ingestd's log"
fi
pass "t_ingest_basic done"

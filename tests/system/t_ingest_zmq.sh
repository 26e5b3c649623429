#!/bin/sh
# t_ingest_zmq.sh - ingestd's collector intake over ZeroMQ (proto/README.md
# §3.1), driven by tests/system/ingest_collector the way a collector in the
# data center would: an EventBatch of enterprise.upsert and point.upsert is
# applied (rows in enterprises and points, bad events named by index) and a
# reading of the new point is accepted at once; readings are stored and
# acked COMMITTED with exact counts; the same batch re-sent is acked with
# duplicates and adds no row; a missing, unknown or other source's token is
# REFUSED with a reason and stores nothing, and a token cannot write outside
# its scope; a batch with bad items keeps the good ones and names the bad by
# index; unknown points are quarantined; frames nobody can be answered for
# are counted (anquan_intake_malformed_total) and do not hurt ingestd; the
# intake's counters match the acks; the store stopped gives
# STORE_UNAVAILABLE (never COMMITTED), started gives COMMITTED again without
# a restart, and nothing refused is stored; a live subscriber sees every
# committed reading once, and acks never reach bus_log.
. "$(dirname "$0")/lib.sh"
sys_setup

ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }
HTTP_PORT=$(free_port)
PUB_PORT=$(free_port)
PULL_PORT=$(free_port)
CONF=$T/anquan.conf
cat >"$CONF" <<CONF
[log]
level = info
[store]
backoff_min = 50ms
backoff_max = 500ms
connect_timeout = 2s
[bus]
ingestd_pub = tcp://127.0.0.1:$PUB_PORT
ingest_pull = tcp://127.0.0.1:$PULL_PORT
[ingestd]
http_listen = 127.0.0.1:$HTTP_PORT
group_wait = 1ms
CONF
U=http://127.0.0.1:$HTTP_PORT
NOW_MS=$(( $(date +%s) * 1000 ))

# send SOURCE TOKEN BATCH_ID ARGS...: one batch through the collector; its
# ack line in $ACK (and appended to $T/acks.log), its exit status in $RC.
send() {
	s_src=$1 s_tok=$2 s_id=$3
	shift 3
	RC=0
	ACK=$("$SYS/ingest_collector" --push "tcp://127.0.0.1:$PULL_PORT" \
	    --sub "tcp://127.0.0.1:$PUB_PORT" --source "$s_src" \
	    --token "$s_tok" --batch-id "$s_id" "$@" 2>>"$T/collector.err") || RC=$?
	printf '%s\n' "$ACK" >>"$T/acks.log"
}
# kv KEY: the value of KEY= in the last ack line (the first occurrence).
kv() {
	printf '%s\n' "$ACK" | awk -v k="$1=" '{ for (i = 1; i <= NF; i++)
	    if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }'
}
msg() { printf '%s\n' "$ACK" | sed -n 's/.* message="\(.*\)" rejected=\[.*/\1/p'; }
counts() { echo "$(kv status) $(kv accepted)/$(kv duplicates)/$(kv quarantined)/$(kv rejected_n)"; }
# metric NAME: its value on /metrics ("absent" when not there).
metric() {
	curl -fsS "$U/metrics" | awk -v m="$1" '$1 == m { print $2; f = 1 }
	    END { if (!f) print "absent" }'
}
rows() { sql "SELECT count(*) FROM readings WHERE ts >= to_timestamp($1 / 1000.0) AND ts < to_timestamp($2 / 1000.0)"; }

CITY=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for city"
GAS=$(ctl token create --source gasco --sectors gas --districts 370102 | grep '^aq_') \
    || fail "token for gasco"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
pass "ingestd up"
assert_eq "$(metric anquan_intake_malformed_total)" 0 "malformed counter starts at 0"

# (1) The registry by an EventBatch: one enterprise, two points, and three
# bad events (unknown kind, data that is not JSON, a bad credit code)
# named by index.
U1=$("$SYS/ingest_uscc" 370112 1)
BADU=$("$SYS/ingest_uscc" -b 370112 2)
cat >"$T/events.json" <<JSON
[
 {"kind":"enterprise.upsert","id":"e-1","at":$NOW_MS,"data":{"uscc":"$U1","name":"化工厂","district":"370112","sector":"hazchem","employees":120,"status":"operating","enforcement_level":"city"}},
 {"kind":"point.upsert","id":"p-1","at":$NOW_MS,"data":{"code":"Z-001","uscc":"$U1","kind":"level","unit":"m","h":8,"hh":9,"enabled":true}},
 {"kind":"point.upsert","id":"p-2","at":$NOW_MS,"data":{"code":"Z-002","uscc":"$U1","kind":"gas_combustible","unit":"%LEL","enabled":true}},
 {"kind":"hazard.imagined","id":"x-1","at":$NOW_MS,"data":{}},
 {"kind":"enterprise.upsert","id":"e-2","at":$NOW_MS,"data":"{not json"},
 {"kind":"enterprise.upsert","id":"e-3","at":$NOW_MS,"data":{"uscc":"$BADU","name":"坏代码","district":"370112","sector":"hazchem","employees":5,"status":"operating","enforcement_level":"city"}}
]
JSON
send city "$CITY" ev-1 --events-json "$T/events.json"
[ "$RC" = 0 ] || fail "no ack for the EventBatch: $ACK $(tail -3 "$T/collector.err")"
assert_eq "$(counts)" "COMMITTED 3/0/0/3" "EventBatch acked: three applied, three refused"
assert_eq "$(kv rejected_idx)" "3,4,5" "bad events named by index"
printf '%s\n' "$ACK" | grep -q 'rejected=\[3:[^,]*hazard.imagined' || fail "unknown kind not named: $ACK"
assert_eq "$(sql "SELECT count(*) FROM enterprises")/$(sql "SELECT string_agg(code, ',' ORDER BY code) FROM points")" \
    "1/Z-001,Z-002" "enterprise and points applied"
assert_eq "$(sql "SELECT string_agg(id, ',' ORDER BY id) FROM events WHERE source = 'city'")" "e-1,p-1,p-2" "the three events stored"
send city "$CITY" ev-1 --events-json "$T/events.json"
assert_eq "$(counts)" "COMMITTED 0/3/0/3" "EventBatch re-sent: duplicates"
assert_eq "$(sql "SELECT count(*) FROM events")" 3 "no event stored twice"

# A reading of the point just registered is accepted, not quarantined.
R0=$((NOW_MS - 7200000))
send city "$CITY" r-new --points Z-001 --ts-ms "$R0" --value 4.5
assert_eq "$(counts)" "COMMITTED 1/0/0/0" "a reading of the new point accepted"
assert_eq "$(sql "SELECT value FROM readings WHERE point = 'Z-001'")" 4.5 "and stored"

# A live subscriber on rd.: it joins late, so warm up with readings of
# Z-002 (before B) until it shows one.
sys_spawn tail "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" tail rd. --connect "tcp://127.0.0.1:$PUB_PORT"
WARM=0
warm_up() {
	WARM=$((WARM + 1))
	send city "$CITY" "warm-$WARM" --points Z-002 --ts-ms "$((R0 + WARM))"
	grep -q 'readings n=' "$T/tail.log"
}
wait_for 20 "the subscriber to see a batch" warm_up
TAIL0=$(grep -c 'readings n=' "$T/tail.log")
pass "subscriber joined after $WARM warm-up batches"

# (2) Readings stored and acked with exact counts; the same batch again is
# all duplicates and adds nothing.
B=$((NOW_MS - 3600000))
send city "$CITY" rb-1 --points Z-001,Z-002 --ts-ms "$B" --count 5 --value 10
assert_eq "$(counts)" "COMMITTED 10/0/0/0" "ten readings acked COMMITTED"
assert_eq "$(kv sends)" 1 "acked on the first push"
assert_eq "$(rows "$B" $((B + 5000)))" 10 "ten rows stored"
assert_eq "$(sql "SELECT string_agg(value::text, ',' ORDER BY ts) FROM readings WHERE point = 'Z-002' AND ts >= to_timestamp($B / 1000.0)")" \
    "10,11,12,13,14" "values stored as sent"
send city "$CITY" rb-1 --points Z-001,Z-002 --ts-ms "$B" --count 5 --value 10
assert_eq "$(counts)" "COMMITTED 0/10/0/0" "re-sent batch: all duplicates"
assert_eq "$(rows "$B" $((B + 5000)))" 10 "re-send added no row"
send city "$CITY" rb-2 --points Z-001 --ts-ms "$((B + 3000))" --count 4 --value 10
assert_eq "$(counts)" "COMMITTED 2/2/0/0" "half old, half new"

# (3) Tokens: missing, unknown, another source's: REFUSED with a reason,
# nothing stored; a token writes only inside its scope.
BT=$((NOW_MS - 3000000))
send city "" tok-1 --points Z-001 --ts-ms "$BT"
assert_eq "$(kv status)" REFUSED "no token: REFUSED"
msg | grep -qi token || fail "refusal without a reason about the token: $ACK"
send city "aq_NOTATOKENNOTATOKENNOTATOKENNOTATOKEN12345" tok-2 --points Z-001 --ts-ms "$((BT + 1000))"
assert_eq "$(kv status)/$(kv accepted)" REFUSED/0 "unknown token: REFUSED"
msg | grep -qi 'token' || fail "unknown token without a reason: $ACK"
log "reason: $(msg)"
send city "$GAS" tok-3 --points Z-001 --ts-ms "$((BT + 2000))"
assert_eq "$(kv status)" REFUSED "another source's token: REFUSED"
msg | grep -q 'gasco' || fail "refusal does not name the token's source: $ACK"
send gasco "$GAS" tok-4 --points Z-001 --ts-ms "$((BT + 3000))"
assert_eq "$(counts)" "COMMITTED 0/0/0/1" "gasco writing for a hazchem point: item refused"
printf '%s\n' "$ACK" | grep -q 'rejected=\[0:.*scope' || fail "scope refusal does not say scope: $ACK"
assert_eq "$(rows "$BT" $((BT + 10000)))" 0 "nothing stored for refused tokens or out of scope"

# (4) Good and bad items in one batch: the good kept, the bad named by
# index, the unknown point quarantined.
B2=$((NOW_MS - 2400000))
cat >"$T/mixed" <<MIXED
# point ts value quality
Z-001 $B2 1.5 good
Z-001 $((B2 + 1000)) nan good
Z-001 $((B2 + 2000)) - good
Z-001 $((B2 + 3000)) 2 unspecified
Z-001 $((NOW_MS + 3600000)) 1 good
Q-404 $B2 7 good
Z-002 $B2 - bad
Z-001 $B2 9 good
- $B2 1 good
Z-002 $((B2 + 1000)) inf maintenance
Z-001 $((B2 + 4000)) 3 7
MIXED
send city "$CITY" mixed-1 --readings "$T/mixed"
assert_eq "$(counts)" "COMMITTED 2/0/1/8" "mixed batch: two kept, one quarantined, eight refused"
assert_eq "$(kv rejected_idx)" "1,2,3,4,7,8,9,10" "bad items named by index"
log "reasons: $(printf '%s\n' "$ACK" | sed -n 's/.* rejected=//p')"
printf '%s\n' "$ACK" | grep -q '4:[^,]*future' || fail "future reading: reason does not say so: $ACK"
printf '%s\n' "$ACK" | grep -q '7:[^,]*duplicate' || fail "repeated reading: reason does not say so: $ACK"
assert_eq "$(sql "SELECT string_agg(point || '/' || coalesce(value::text, 'null') || '/' || quality, ',' ORDER BY point) FROM readings WHERE ts >= to_timestamp($B2 / 1000.0) AND ts < to_timestamp($((B2 + 10000)) / 1000.0)")" \
    "Z-001/1.5/0,Z-002/null/1" "only the good items stored, as sent"
assert_eq "$(sql "SELECT count(*) FROM quarantine WHERE point = 'Q-404' AND source = 'city'")" 1 "unknown point in quarantine"
# Re-sent: the reading already in quarantine counts as a duplicate too.
send city "$CITY" mixed-1 --readings "$T/mixed"
assert_eq "$(counts)" "COMMITTED 0/3/0/8" "mixed batch re-sent"
assert_eq "$(sql "SELECT count(*) FROM quarantine WHERE point = 'Q-404'")" 1 "re-send adds no quarantine row"
# Nothing good at all: acked at once, every item named.
printf 'Z-001 %s nan good\nZ-001 %s 1 unspecified\n' "$B2" "$B2" >"$T/allbad"
send city "$CITY" allbad-1 --readings "$T/allbad"
assert_eq "$(counts)/$(kv rejected_idx)" "COMMITTED 0/0/0/2/0,1" "batch of bad items only"

# (5) Frames nobody can be answered for are counted, and ingestd goes on.
"$SYS/ingest_collector" --push "tcp://127.0.0.1:$PULL_PORT" --garbage >/dev/null \
    || fail "could not push the garbage frames"
malformed_5() { [ "$(metric anquan_intake_malformed_total)" -ge 5 ]; }
wait_for 10 "anquan_intake_malformed_total to count the garbage" malformed_5
assert_eq "$(metric anquan_intake_malformed_total)" 5 "five malformed frames counted"
kill -0 "$INGESTD" || fail "ingestd died of garbage"
grep -q 'intake.malformed' "$T/ingestd.log" || fail "no intake.malformed log line"
send city "$CITY" after-garbage --points Z-001 --ts-ms "$((B + 60000))"
assert_eq "$(counts)" "COMMITTED 1/0/0/0" "a good batch after the garbage"

# (6) The store stops: every batch is acked STORE_UNAVAILABLE (the first
# may be the one that finds out), never COMMITTED; nothing is stored.
BD=$((NOW_MS - 1800000))
"$ROOT/deploy/pgctl.sh" stop "$T/db"
D=0
: >"$T/down.log"
down_ack() {
	D=$((D + 1))
	send city "$CITY" "down-$D" --points Z-001,Z-002 --ts-ms "$((BD + D * 10000))" --count 2 --timeout-ms 8000
	printf '%s\n' "$ACK" >>"$T/down.log"
	[ "$(kv status)" = STORE_UNAVAILABLE ]
}
wait_for 30 "an ack STORE_UNAVAILABLE" down_ack
n=0
while [ $n -lt 5 ]; do
	n=$((n + 1))
	down_ack || fail "batch $D with the store down: $ACK"
done
[ "$(kv retry_after_ms)" -gt 0 ] || fail "STORE_UNAVAILABLE without retry_after_ms: $ACK"
[ -n "$(msg)" ] || fail "STORE_UNAVAILABLE without a message: $ACK"
grep -q 'status=COMMITTED' "$T/down.log" && fail "COMMITTED with the store down: $(grep COMMITTED "$T/down.log")"
pass "store down: $D batches, none COMMITTED, retry after $(kv retry_after_ms) ms: $(msg)"
kill -0 "$INGESTD" || fail "ingestd died with the store down"

# The store comes back: the first refused batch, re-sent until it is
# COMMITTED, is stored; ingestd was not restarted.
"$ROOT/deploy/pgctl.sh" start "$T/db"
send city "$CITY" down-1 --points Z-001,Z-002 --ts-ms "$((BD + 10000))" --count 2 --until COMMITTED --timeout-ms 30000
assert_eq "$(counts)" "COMMITTED 4/0/0/0" "store back: the refused batch committed"
kill -0 "$INGESTD" || fail "ingestd gone after the store came back"
assert_eq "$(rows "$BD" $((BD + (D + 1) * 10000)))" 4 "only the committed batch of the down time stored"
assert_eq "$(rows $((BD + 10000)) $((BD + 20000)))" 4 "and it is the re-sent one"

# (7) The subscriber saw each committed reading once (stored since B:
# nothing published twice, duplicates not at all); acks are not logged.
want=$(sql "SELECT count(*) FROM readings WHERE ts >= to_timestamp($B / 1000.0)")
seen() { tail -n +"$((TAIL0 + 1))" "$T/tail.log" | awk -F'readings n=' 'NF > 1 { split($2, a, " "); s += a[1] } END { print s + 0 }'; }
seen_enough() { [ "$(seen)" -ge "$want" ]; }
wait_for 10 "the subscriber to see $want readings" seen_enough
assert_eq "$(seen)" "$want" "subscriber saw every committed reading once"
assert_eq "$(sql "SELECT count(*) FROM bus_log WHERE stream LIKE 'ack.%'")" 0 "acks are not in bus_log"
[ "$(sql "SELECT count(*) FROM bus_log WHERE stream LIKE 'ev.%'")" -ge 2 ] || fail "events not published to bus_log"
pass "events in bus_log"

# (8) The intake's counters agree with the acks it sent (the batches of
# the down time carried no bad items, so they change nothing here).
sum_acks() { awk -v k="$1=" '/status=COMMITTED/ { for (i = 1; i <= NF; i++)
    if (index($i, k) == 1) s += substr($i, length(k) + 1) } END { print s + 0 }' "$T/acks.log"; }
assert_eq "$(metric anquan_intake_accepted_total)" "$(sum_acks accepted)" "anquan_intake_accepted_total = accepted in the acks"
assert_eq "$(metric anquan_intake_rejected_total)" "$(sum_acks rejected_n)" "anquan_intake_rejected_total = rejected in the acks"
refused=$(grep -c 'status=REFUSED' "$T/acks.log")
[ "$(metric 'anquan_intake_batches_total{status="refused"}')" -ge "$refused" ] \
    || fail "anquan_intake_batches_total{status=\"refused\"} below the $refused refusals seen"
pass "refused batches counted"

grep -q 'AddressSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error' "$T/collector.err" && fail "sanitizer report from ingest_collector"
kill -TERM "$INGESTD"
i=0
while kill -0 "$INGESTD" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "ingestd did not exit within 20 s of SIGTERM"
	sleep 0.1
done
rc=0; wait "$INGESTD" || rc=$?
assert_eq "$rc" 0 "ingestd exit status after SIGTERM"
grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
pass "t_ingest_zmq done"

#!/bin/sh
# t_ingest_batch.sh - ingestd's answers item by item, against the tables:
# a batch of good and bad readings keeps the good ones and names the bad by
# index; a retried batch adds nothing (all duplicates); a token cannot write
# outside its source's sectors and districts; readings of unknown points are
# quarantined, listed by `safetyctl quarantine list` and moved by `release`
# once the point is registered; events are stored once by (source, id) and an
# unknown kind is refused with its name; a live subscriber sees each reading
# committed exactly once.
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
[bus]
ingestd_pub = tcp://127.0.0.1:$PUB_PORT
ingest_pull = tcp://127.0.0.1:$PULL_PORT
[ingestd]
http_listen = 127.0.0.1:$HTTP_PORT
CONF
U=http://127.0.0.1:$HTTP_PORT
NOW_MS=$(( $(date +%s) * 1000 ))

# post TOKEN PATH DATA [CONTENT-TYPE]: the status on stdout, the body in
# $T/out, the headers in $T/hdr.  DATA may be @file.
post() {
	curl -s -m 30 -o "$T/out" -D "$T/hdr" -w '%{http_code}' \
	    -H "Authorization: Bearer $1" -H "Content-Type: ${4:-application/json}" \
	    --data-binary "$3" "$U$2"
}
field() { jq -r "$1" "$T/out"; }
# expect_202 WHAT: the last answer was 202, else fail with its body.
expect() { [ "$1" = "$2" ] || fail "$3: status $1, want $2: $(cat "$T/out")"; }

CITY=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for city"
GAS=$(ctl token create --source gasco --sectors gas --districts 370102 | grep '^aq_') \
    || fail "token for gasco"

sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
pass "ingestd up"

# The registry: a hazchem plant in 370112 with two points, a gas company in
# 370102 with one, all sent by the city-wide source.
U1=$("$SYS/ingest_uscc" 370112 1)
U2=$("$SYS/ingest_uscc" 370102 2)
ent() {	# ent ID USCC DISTRICT SECTOR
	printf '{"kind":"enterprise.upsert","id":"%s","at":%s,"data":{"uscc":"%s","name":"企业 %s","district":"%s","sector":"%s","employees":120,"status":"operating","enforcement_level":"city"}}' \
	    "$1" "$NOW_MS" "$2" "$1" "$3" "$4"
}
pt() {	# pt ID CODE USCC
	printf '{"kind":"point.upsert","id":"%s","at":%s,"data":{"code":"%s","uscc":"%s","kind":"level","unit":"m","h":8,"hh":9,"enabled":true}}' \
	    "$1" "$NOW_MS" "$2" "$3"
}
code=$(post "$CITY" /v1/events "{\"events\":[$(ent e-1 "$U1" 370112 hazchem),$(ent e-2 "$U2" 370102 gas),$(pt p-1 P-001 "$U1"),$(pt p-2 P-002 "$U1"),$(pt p-3 G-001 "$U2")]}")
expect "$code" 202 "registry events"
assert_eq "$(field .accepted)/$(field '.rejected|length')" 5/0 "five registry events accepted"
assert_eq "$(sql "SELECT count(*) FROM enterprises")/$(sql "SELECT count(*) FROM points")" 2/3 "enterprises and points applied"

# A live subscriber on rd.: it joins late (ZeroMQ subscriptions take a
# moment), so warm up with readings of P-002 until it shows one.
sys_spawn tail "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" tail rd. --connect "tcp://127.0.0.1:$PUB_PORT"
WARM=0
warm_up() {
	WARM=$((WARM + 1))
	post "$CITY" /v1/readings "{\"readings\":[{\"point\":\"P-002\",\"ts\":$((NOW_MS - 7200000 + WARM)),\"value\":1}]}" >/dev/null
	grep -q 'readings n=' "$T/tail.log"
}
wait_for 20 "the subscriber to see a batch" warm_up
TAIL0=$(grep -c 'readings n=' "$T/tail.log")
pass "subscriber joined after $WARM warm-up posts"

# (a) Good and bad items in one batch: the good ones are stored, the bad
# are named by index with a reason, nothing of a bad item is written.
B=$((NOW_MS - 3600000))
BATCH="{\"readings\":[
 {\"point\":\"P-001\",\"ts\":$B,\"value\":12.5,\"quality\":\"good\"},
 {\"point\":\"P-001\",\"ts\":$((B + 1000)),\"value\":\"high\"},
 {\"point\":\"P-001\",\"ts\":$((B + 2000)),\"value\":3.25},
 {\"point\":\"P-001\",\"ts\":$((B + 3000)),\"quality\":\"good\"},
 {\"point\":\"P-001\",\"ts\":$((NOW_MS + 3600000)),\"value\":1},
 {\"point\":\"P-001\",\"ts\":$((B + 5000)),\"value\":1,\"quality\":\"excellent\"},
 {\"point\":\"P-001\",\"ts\":\"yesterday\",\"value\":1},
 {\"point\":\"P-001\",\"ts\":$((B + 7000)),\"quality\":\"maintenance\"},
 {\"ts\":$((B + 8000)),\"value\":1}
]}"
code=$(post "$CITY" /v1/readings "$BATCH")
expect "$code" 202 "mixed batch"
assert_eq "$(field .accepted)" 3 "mixed batch: good items accepted"
assert_eq "$(field '[.rejected[].index]|sort|map(tostring)|join(",")')" "1,3,4,5,6,8" "mixed batch: bad items named by index"
[ "$(field '[.rejected[]|select((.error|length) < 5)]|length')" = 0 ] || fail "a rejection without a reason: $(cat "$T/out")"
log "reasons: $(field '[.rejected[]|"\(.index): \(.error)"]|join("; ")')"
assert_eq "$(sql "SELECT count(*) FROM readings WHERE point = 'P-001'")" 3 "three rows stored"
assert_eq "$(sql "SELECT string_agg(coalesce(value::text, 'null') || '/' || quality, ',' ORDER BY ts) FROM readings WHERE point = 'P-001'")" \
    "12.5/0,3.25/0,null/2" "values and qualities stored as sent"
assert_eq "$(sql "SELECT (extract(epoch FROM min(ts)) * 1000)::bigint FROM readings WHERE point = 'P-001'")" "$B" "time stored to the millisecond"

# (b) The same batch again: nothing new, every good item a duplicate.
code=$(post "$CITY" /v1/readings "$BATCH")
expect "$code" 202 "retried batch"
assert_eq "$(field .accepted)/$(field .duplicates)/$(field '.rejected|length')" 0/3/6 "retry: all duplicates"
assert_eq "$(sql "SELECT count(*) FROM readings WHERE point = 'P-001'")" 3 "retry added no row"
# Half old, half new: only the new ones count as accepted.
code=$(post "$CITY" /v1/readings "{\"readings\":[{\"point\":\"P-001\",\"ts\":$B,\"value\":12.5},{\"point\":\"P-001\",\"ts\":$((B + 9000)),\"value\":4}]}")
expect "$code" 202 "half-duplicate batch"
assert_eq "$(field .accepted)/$(field .duplicates)" 1/1 "half-duplicate batch"
assert_eq "$(sql "SELECT count(*) FROM readings WHERE point = 'P-001'")" 4 "one new row"
# NDJSON, with one bad line among good ones.
printf '{"point":"P-002","ts":%s,"value":1}\n\n{"point":"P-002","ts":%s,"value":[]}\n{"point":"P-002","ts":%s,"value":2}\n' \
    "$B" "$((B + 1000))" "$((B + 2000))" >"$T/nd"
code=$(post "$CITY" /v1/readings @"$T/nd" application/x-ndjson)
expect "$code" 202 "NDJSON"
assert_eq "$(field .accepted)/$(field '.rejected|length')" 2/1 "NDJSON: good lines kept, bad one named"

# (f) Scope: gasco may write for gas in 370102 only.
code=$(post "$GAS" /v1/readings "{\"readings\":[{\"point\":\"G-001\",\"ts\":$B,\"value\":1},{\"point\":\"P-001\",\"ts\":$((B + 50000)),\"value\":2}]}")
if [ "$code" = 403 ]; then
	fail "a whole batch refused with 403 although one item was in scope: $(cat "$T/out")"
fi
expect "$code" 202 "gasco batch"
assert_eq "$(field .accepted)/$(field '[.rejected[].index]|sort|map(tostring)|join(",")')" 1/1 "out-of-scope reading refused item by item"
field '.rejected[0].error' | grep -qi 'scope' || fail "scope rejection does not say scope: $(cat "$T/out")"
assert_eq "$(sql "SELECT count(*) FROM readings WHERE point = 'P-001' AND ts = to_timestamp($((B + 50000)) / 1000.0)")" 0 "out-of-scope reading not stored"
code=$(post "$GAS" /v1/events "{\"events\":[$(ent e-3 "$("$SYS/ingest_uscc" 370112 3)" 370112 hazchem)]}")
expect "$code" 202 "gasco enterprise.upsert out of scope"
assert_eq "$(field .accepted)/$(field '.rejected|length')" 0/1 "out-of-scope enterprise refused"
assert_eq "$(sql "SELECT count(*) FROM enterprises")" 2 "no enterprise added out of scope"
code=$(post "aq_NOTATOKENNOTATOKENNOTATOKENNOTATOKEN12345" /v1/readings '{"readings":[]}')
assert_eq "$code" 401 "unknown token"
jq -e .error "$T/out" >/dev/null || fail "401 without a JSON error: $(cat "$T/out")"
code=$(curl -s -o "$T/out" -w '%{http_code}' --data-binary '{"readings":[]}' "$U/v1/readings")
assert_eq "$code" 401 "no token"

# (h) Unknown points go to quarantine, never dropped; release moves them.
Q=$((NOW_MS - 1800000))
QB="{\"readings\":[{\"point\":\"Q-001\",\"ts\":$Q,\"value\":1.5},{\"point\":\"Q-001\",\"ts\":$((Q + 1000)),\"value\":2.5},{\"point\":\"P-001\",\"ts\":$Q,\"value\":7},{\"point\":\"Q-001\",\"ts\":$((Q + 2000)),\"quality\":\"bad\"}]}"
code=$(post "$CITY" /v1/readings "$QB")
expect "$code" 202 "batch with unknown points"
assert_eq "$(field .accepted)/$(field .quarantined)" 1/3 "unknown points quarantined, known one accepted"
assert_eq "$(sql "SELECT count(*) FROM quarantine WHERE point = 'Q-001' AND released_at IS NULL")" 3 "quarantine rows"
code=$(post "$CITY" /v1/readings "$QB")
expect "$code" 202 "quarantine batch retried"
assert_eq "$(sql "SELECT count(*) FROM quarantine WHERE point = 'Q-001'")" 3 "retry adds no quarantine row"
out=$(ctl quarantine list)
echo "$out" | grep -q 'Q-001' || fail "quarantine list lacks Q-001: $out"
assert_eq "$(echo "$out" | grep -c 'Q-001')" 3 "quarantine list shows the three"
assert_eq "$(ctl quarantine list --json --point Q-001 | jq -r '.waiting, (.readings|map(.quality)|join(","))' | paste -sd/)" \
    "3/good,good,bad" "quarantine list --json"
assert_eq "$(ctl quarantine list --limit 1 | grep -c 'Q-001')" 1 "--limit"
assert_eq "$(ctl quarantine list --source gasco)" "nothing waiting in quarantine" "--source filters"
out=$(ctl quarantine release --all)
echo "$out" | grep -q '^released=0 .*kept_unknown=3' || fail "release before registering: $out"
pass "release keeps readings of points still unknown"
code=$(post "$CITY" /v1/events "{\"events\":[$(pt p-4 Q-001 "$U1")]}")
expect "$code" 202 "register Q-001"
out=$(ctl quarantine release --point Q-001)
assert_eq "$out" "released=3 stored=3 duplicates=0 kept_unknown=0 kept_out_of_scope=0" "release moves them"
assert_eq "$(sql "SELECT count(*) FROM readings WHERE point = 'Q-001'")" 3 "released readings stored"
assert_eq "$(ctl quarantine list --point Q-001)" "nothing waiting in quarantine" "nothing left waiting"
assert_eq "$(ctl quarantine release --point Q-001 | cut -d' ' -f1)" "released=0" "release twice moves nothing"
# A reading of an unknown point sent by gasco, then the point registered on
# the hazchem plant: gasco may not write there, so it stays.
code=$(post "$GAS" /v1/readings "{\"readings\":[{\"point\":\"Q-002\",\"ts\":$Q,\"value\":1}]}")
expect "$code" 202 "gasco unknown point"
assert_eq "$(field .quarantined)" 1 "gasco reading quarantined"
post "$CITY" /v1/events "{\"events\":[$(pt p-5 Q-002 "$U1")]}" >/dev/null
out=$(ctl quarantine release --all)
echo "$out" | grep -q '^released=0 .*kept_out_of_scope=1' || fail "release out of scope: $out"
assert_eq "$(sql "SELECT count(*) FROM readings WHERE point = 'Q-002'")" 0 "out-of-scope quarantined reading not released"
ctl quarantine release --id abc >/dev/null 2>&1 && fail "release --id abc accepted"
ctl quarantine release >/dev/null 2>&1 && fail "release without a selector accepted"
pass "release refuses bad arguments"

# (i) Events: (source, id) is stored once; an unknown kind is named.
EV="{\"events\":[$(ent e-1 "$U1" 370112 hazchem),{\"kind\":\"hazard.imagined\",\"id\":\"x-1\",\"at\":$NOW_MS,\"data\":{}},$(ent e-9 "$("$SYS/ingest_uscc" -b 370112 9)" 370112 hazchem)]}"
code=$(post "$CITY" /v1/events "$EV")
expect "$code" 202 "events batch"
assert_eq "$(field .accepted)/$(field .duplicates)/$(field '[.rejected[].index]|sort|map(tostring)|join(",")')" "0/1/1,2" "duplicate event, unknown kind, bad USCC"
field '.rejected[]|select(.index==1)|.error' | grep -q 'hazard.imagined' || fail "unknown kind not named: $(cat "$T/out")"
field '.rejected[]|select(.index==2)|.error' | grep -qi 'uscc\|check' || fail "bad USCC reason: $(cat "$T/out")"
assert_eq "$(sql "SELECT count(*) FROM events WHERE source = 'city' AND id = 'e-1'")" 1 "event stored once"
assert_eq "$(sql "SELECT count(*) FROM events WHERE id IN ('x-1', 'e-9')")" 0 "refused events not stored"

# (e) The subscriber saw each committed reading once: the readings it was
# told about since the warm-up equal the rows stored since then (released
# quarantine rows excepted: release stores, it does not publish).
want=$(sql "SELECT count(*) FROM readings WHERE point <> 'Q-001' AND ts >= to_timestamp($B / 1000.0)")
seen() { tail -n +"$((TAIL0 + 1))" "$T/tail.log" | awk -F'readings n=' 'NF > 1 { split($2, a, " "); s += a[1] } END { print s + 0 }'; }
seen_enough() { [ "$(seen)" -ge "$want" ]; }
wait_for 10 "the subscriber to see $want readings" seen_enough
assert_eq "$(seen)" "$want" "subscriber saw every stored reading once"

grep -q 'AddressSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
curl -fsS "$U/healthz" >/dev/null || fail "ingestd unhealthy at the end"
# SIGTERM: drains and exits 0; under the sanitizers, with no report (leaks
# are reported at exit).
kill -TERM "$INGESTD"
i=0
while kill -0 "$INGESTD" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "ingestd did not exit within 20 s of SIGTERM"
	sleep 0.1
done
rc=0; wait "$INGESTD" || rc=$?
assert_eq "$rc" 0 "ingestd exit status after SIGTERM"
grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
pass "t_ingest_batch done"

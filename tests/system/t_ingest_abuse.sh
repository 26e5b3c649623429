#!/bin/sh
# t_ingest_abuse.sh - what a broken or hostile sector system can send to
# ingestd: an oversized body (413), malformed JSON, NaN and Infinity, deep
# nesting, invalid UTF-8, too many items (400 with a reason each), wrong
# types (refused item by item, the good items kept), and a client that
# sends one byte at a time, which must not hold up anyone else.  ingestd
# stays up and healthy through all of it, and stores nothing it refused.
. "$(dirname "$0")/lib.sh"
sys_setup

ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }
HTTP_PORT=$(free_port)
PUB_PORT=$(free_port)
PULL_PORT=$(free_port)
MAX_ITEMS=50
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
http_timeout = 2s
http_max_body = 64k
max_items = $MAX_ITEMS
CONF
"$BIN/ingestd" -n -f "$CONF" >"$T/check.log" 2>&1 || fail "ingestd -n refused the test config: $(cat "$T/check.log")"
U=http://127.0.0.1:$HTTP_PORT
NOW_MS=$(( $(date +%s) * 1000 ))
B=$((NOW_MS - 600000))

post() {	# post DATA [CONTENT-TYPE]: status on stdout, body in $T/out
	curl -s -m 30 -o "$T/out" -D "$T/hdr" -w '%{http_code}' \
	    -H "Authorization: Bearer $TOKEN" -H "Content-Type: ${2:-application/json}" \
	    --data-binary "$1" "$U/v1/readings"
}
field() { jq -r "$1" "$T/out"; }
expect() { [ "$1" = "$2" ] || fail "$3: status $1, want $2: $(head -c 400 "$T/out")"; }
# refused STATUS WHAT DATA [CONTENT-TYPE]: the body gets STATUS and a JSON
# error with a message.
refused() {
	st=$1; what=$2; shift 2
	code=$(post "$@")
	expect "$code" "$st" "$what"
	jq -e '(.error|length) > 0 and (.message|length) > 0' "$T/out" >/dev/null \
	    || fail "$what: not a JSON error with a message: $(head -c 400 "$T/out")"
	pass "$what: $st, $(field .message)"
}

TOKEN=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') || fail "token"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
USCC=$("$SYS/ingest_uscc" 370112 1)
code=$(curl -s -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" --data-binary \
    "{\"events\":[{\"kind\":\"enterprise.upsert\",\"id\":\"e-1\",\"at\":$NOW_MS,\"data\":{\"uscc\":\"$USCC\",\"name\":\"化工厂\",\"district\":\"370112\",\"sector\":\"hazchem\",\"employees\":50,\"status\":\"operating\",\"enforcement_level\":\"district\"}},{\"kind\":\"point.upsert\",\"id\":\"p-1\",\"at\":$NOW_MS,\"data\":{\"code\":\"P-001\",\"uscc\":\"$USCC\",\"kind\":\"pressure\",\"unit\":\"MPa\",\"enabled\":true}}]}" \
    "$U/v1/events")
expect "$code" 202 "registry events"
assert_eq "$(field .accepted)" 2 "enterprise and point registered"

# Over the size limit: 413, as JSON, before anything is parsed.
{
	printf '{"readings":['
	i=0
	while [ $i -lt 2000 ]; do
		printf '{"point":"P-001","ts":%s,"value":%s},' $((B + i)) $i
		i=$((i + 1))
	done
	printf '{"point":"P-001","ts":%s,"value":0}]}' $((B + i))
} >"$T/big"
[ "$(wc -c <"$T/big")" -gt 65536 ] || fail "the big body is not over 64k"
refused 413 "body over http_max_body" @"$T/big"

# Whole-body errors: 400 with a reason.
refused 400 "truncated JSON" '{"readings":[{"point":"P-001"'
refused 400 "not JSON at all" 'point=P-001&value=1'
refused 400 "empty body" ''
refused 400 "NaN literal" "{\"readings\":[{\"point\":\"P-001\",\"ts\":$B,\"value\":NaN}]}"
refused 400 "Infinity literal" "{\"readings\":[{\"point\":\"P-001\",\"ts\":$B,\"value\":-Infinity}]}"
# A number beyond a double cannot be read as the sender meant it: the
# strict parser refuses the body (common/json), as it does NaN.
refused 400 "a value overflowing a double" "{\"readings\":[{\"point\":\"P-001\",\"ts\":$B,\"value\":1e999}]}"
refused 400 "readings not an array" '{"readings":{"point":"P-001"}}'
refused 400 "a JSON array instead of an object" '[{"point":"P-001"}]'
printf '{"readings":[{"point":"P-\377\376","ts":%s,"value":1}]}' "$B" >"$T/utf8"
refused 400 "invalid UTF-8" @"$T/utf8"
awk 'BEGIN { printf "{\"readings\":"; for (i = 0; i < 5000; i++) printf "["; for (i = 0; i < 5000; i++) printf "]"; printf "}" }' >"$T/deep"
refused 400 "deep nesting" @"$T/deep"
awk -v n=$((MAX_ITEMS + 1)) -v b="$B" 'BEGIN { printf "{\"readings\":["; for (i = 0; i < n; i++) printf "%s{\"point\":\"P-001\",\"ts\":%.0f,\"value\":1}", (i ? "," : ""), b + 100000 + i; printf "]}" }' >"$T/many"
refused 400 "more than max_items readings" @"$T/many"
assert_eq "$(sql "SELECT count(*) FROM readings")" 0 "nothing stored from refused bodies"

# Exactly max_items is fine.
awk -v n=$MAX_ITEMS -v b="$B" 'BEGIN { printf "{\"readings\":["; for (i = 0; i < n; i++) printf "%s{\"point\":\"P-001\",\"ts\":%.0f,\"value\":1}", (i ? "," : ""), b + 100000 + i; printf "]}" }' >"$T/max"
code=$(post @"$T/max")
expect "$code" 202 "max_items readings"
assert_eq "$(field .accepted)" "$MAX_ITEMS" "max_items readings accepted"

# Wrong types: each item refused with its reason, the good ones kept.
code=$(post "{\"readings\":[
 {\"point\":\"P-001\",\"ts\":$B,\"value\":1.5},
 {\"point\":\"P-001\",\"ts\":$((B + 1)),\"value\":\"12\"},
 {\"point\":42,\"ts\":$((B + 2)),\"value\":1},
 {\"point\":\"P-001\",\"ts\":true,\"value\":1},
 {\"point\":\"P-001\",\"ts\":$((B + 4)),\"value\":1,\"quality\":7},
 \"P-001\",
 {\"point\":\"P-001\",\"ts\":$((B + 6)),\"value\":-0.0},
 {\"point\":\"P-001\",\"ts\":$((B + 7)),\"value\":2.5}
]}")
expect "$code" 202 "wrong types"
assert_eq "$(field .accepted)/$(field '[.rejected[].index]|sort|map(tostring)|join(",")')" "3/1,2,3,4,5" "wrong types refused by index"
[ "$(field '[.rejected[]|select((.error|length) < 5)]|length')" = 0 ] || fail "a rejection without a reason: $(cat "$T/out")"
log "reasons: $(field '[.rejected[]|"\(.index): \(.error)"]|join("; ")')"

# NDJSON with a malformed line: that line is refused, the others kept.
printf '{"point":"P-001","ts":%s,"value":3}\n{"point":"P-001",\n{"point":"P-001","ts":%s,"value":NaN}\n{"point":"P-001","ts":%s,"value":4}\n' \
    $((B + 10)) $((B + 11)) $((B + 12)) >"$T/nd"
code=$(post @"$T/nd" application/x-ndjson)
expect "$code" 202 "NDJSON with bad lines"
assert_eq "$(field .accepted)/$(field '[.rejected[].index]|sort|map(tostring)|join(",")')" "2/1,2" "NDJSON bad lines refused by index"

# A client that sends one byte every 300 ms holds a connection, not the
# daemon: others are answered meanwhile, and the slow one is cut off by
# http_timeout.
"$SYS/http_slow" "$HTTP_PORT" 300 "POST /v1/readings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $TOKEN\r\nContent-Length: 100\r\n\r\n{\"readings\":[" >"$T/slow.out" 2>&1 &
SLOW=$!
PIDS="$PIDS $SLOW"
wait_for 5 "the slow client to connect" sh -c "ss -Htn state established '( dport = :$HTTP_PORT )' | grep -q ."
t0=$(date +%s%N)
code=$(post "{\"readings\":[{\"point\":\"P-001\",\"ts\":$((B + 20)),\"value\":5}]}")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect "$code" 202 "post beside a slow client"
[ "$ms" -lt 1500 ] || fail "a post took ${ms} ms beside a slow client"
pass "post answered in ${ms} ms beside a slow client"
wait "$SLOW" || fail "the slow client was never cut off: $(cat "$T/slow.out")"
closed=$(sed -n 's/^closed_after_ms=//p' "$T/slow.out")
{ [ -n "$closed" ] && [ "$closed" -lt 10000 ]; } || fail "slow client closed after '$closed' ms: $(cat "$T/slow.out")"
pass "slow client cut off after ${closed} ms"

# Through all of it: alive, healthy, counted.
kill -0 "$INGESTD" || fail "ingestd died"
curl -fsS "$U/healthz" >/dev/null || fail "ingestd unhealthy"
grep -q 'AddressSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
curl -fsS "$U/metrics" | grep -q '^anquan_ingest_rejected_total' || fail "/metrics lacks anquan_ingest_rejected_total"
assert_eq "$(sql "SELECT count(*) FROM readings")" $((MAX_ITEMS + 3 + 2 + 1)) "exactly the accepted readings stored"
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
pass "t_ingest_abuse done"

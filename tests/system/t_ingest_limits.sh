#!/bin/sh
# t_ingest_limits.sh - ingestd at its limits, against the tables and
# /metrics: with a tiny queue ([ingestd] queue_max_items) and the writer
# held up by a lock on readings that a psql session keeps, requests pile up
# until one is answered 503 with Retry-After, and the ZeroMQ intake stops
# reading (a collector's batch waits for its ack); once the lock goes,
# every request that waited is answered 202 (the batch acked COMMITTED) and
# stored, and nothing answered 503 is; a revoked token is refused (401, and
# REFUSED on the intake) once the registry is refreshed ([ingestd]
# registry_refresh) and a token made while ingestd runs starts working
# then, both without a restart; /metrics counts what was sent:
# accepted, duplicates, quarantined, rejected by reason, answers by
# status, the commit histogram and the queue depth gauge.
. "$(dirname "$0")/lib.sh"
sys_setup

ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }
HTTP_PORT=$(free_port)
PUB_PORT=$(free_port)
PULL_PORT=$(free_port)
QMAX=1000	# the smallest queue ingestd takes
PER=300		# readings a request of the queue phase
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
queue_max_items = $QMAX
; one writer: the test holds it on a lock to fill the queue behind it
writer_connections = 1
registry_refresh = 300ms
CONF
U=http://127.0.0.1:$HTTP_PORT
NOW_MS=$(( $(date +%s) * 1000 ))

# post TOKEN PATH DATA: the status on stdout, the body in $T/out, the
# headers in $T/hdr; the body of every 202 is kept in $T/answers.
post() {
	p_code=$(curl -s -m 30 -o "$T/out" -D "$T/hdr" -w '%{http_code}' \
	    -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
	    --data-binary "$3" "$U$2")
	[ "$p_code" = 202 ] && jq -c . "$T/out" >>"$T/answers"
	echo "$p_code"
}
field() { jq -r "$1" "$T/out"; }
expect() { [ "$1" = "$2" ] || fail "$3: status $1, want $2: $(cat "$T/out")"; }
# metric NAME: its value on /metrics ("absent" when not there).
metric() {
	curl -fsS "$U/metrics" | awk -v m="$1" '$1 == m { print $2; f = 1 }
	    END { if (!f) print "absent" }'
}
# readings POINT T0 N: a JSON body of N readings of POINT, 10 ms apart.
readings() {
	awk -v p="$1" -v t0="$2" -v n="$3" 'BEGIN { printf "{\"readings\":["
	    for (i = 0; i < n; i++)
		printf "%s{\"point\":\"%s\",\"ts\":%.0f,\"value\":%d}", i ? "," : "", p, t0 + i * 10, i
	    print "]}" }'
}
# collect SOURCE TOKEN BATCH_ID ARGS...: one batch through the ZeroMQ
# intake (ingest_collector); the ack line in $ACK; the readings it got
# accepted are added to $ZACC (zacc ACK-LINE does that for any ack line).
ZACC=0
collect() {
	c_src=$1 c_tok=$2 c_id=$3
	shift 3
	ACK=$("$SYS/ingest_collector" --push "tcp://127.0.0.1:$PULL_PORT" \
	    --sub "tcp://127.0.0.1:$PUB_PORT" --source "$c_src" --token "$c_tok" \
	    --batch-id "$c_id" "$@" 2>>"$T/collector.err") || true
	zacc "$ACK"
}
zacc() {
	case "$1" in
	*status=COMMITTED*) ZACC=$((ZACC + $(printf '%s\n' "$1" | sed -n 's/.* accepted=\([0-9]*\) .*/\1/p'))) ;;
	esac
}
rows() { sql "SELECT count(*) FROM readings WHERE ts >= to_timestamp($1 / 1000.0) AND ts < to_timestamp($2 / 1000.0)"; }

CITY=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') || fail "token for city"
GAS=$(ctl token create --source gasco --sectors gas --districts 370102 | grep '^aq_') || fail "token for gasco"
OLD=$(ctl token create --source oldco --sectors '*' --districts '*' | grep '^aq_') || fail "token for oldco"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
pass "ingestd up"

USCC=$("$SYS/ingest_uscc" 370112 4)
code=$(post "$CITY" /v1/events "{\"events\":[
 {\"kind\":\"enterprise.upsert\",\"id\":\"e-1\",\"at\":$NOW_MS,\"data\":{\"uscc\":\"$USCC\",\"name\":\"化工厂\",\"district\":\"370112\",\"sector\":\"hazchem\",\"employees\":60,\"status\":\"operating\",\"enforcement_level\":\"city\"}},
 {\"kind\":\"point.upsert\",\"id\":\"p-1\",\"at\":$NOW_MS,\"data\":{\"code\":\"L-001\",\"uscc\":\"$USCC\",\"kind\":\"level\",\"unit\":\"m\",\"h\":8,\"hh\":9,\"enabled\":true}}]}")
expect "$code" 202 "registry events"
assert_eq "$(field .accepted)" 2 "enterprise and point registered"

# (1) The queue fills.  A psql session holds readings locked; the first
# request's group waits for the lock inside the writer, the next ones wait
# in the queue, and the one that would take the queue past QMAX items is
# refused at once.
mkfifo "$T/lock.fifo"
sys_spawn locker sh -c 'exec psql "$1" -XAtq -v ON_ERROR_STOP=1 <"$2"' sh "$ANQUAN_CONNINFO" "$T/lock.fifo"
exec 3>"$T/lock.fifo"
echo "BEGIN; LOCK TABLE readings IN ACCESS EXCLUSIVE MODE; SELECT 'locked';" >&3
wait_for 10 "the lock on readings" grep -q locked "$T/locker.log"
pass "readings locked by another session"

QB=$((NOW_MS - 1800000))
# post_bg K: request K (PER readings of L-001 from QB + K * 10 s) in the
# background; its status lands in $T/post-K.log when it is answered.
post_bg() {
	readings L-001 $((QB + $1 * 10000)) "$PER" >"$T/body-$1.json"
	sys_spawn "post-$1" curl -s -m 40 -o "$T/out-$1" -D "$T/hdr-$1" -w '%{http_code}' \
	    -H "Authorization: Bearer $CITY" -H "Content-Type: application/json" \
	    --data-binary @"$T/body-$1.json" "$U/v1/readings"
}
answered() { [ -s "$T/post-$1.log" ]; }
writer_blocked() { [ "$(sql "SELECT count(*) FROM pg_locks WHERE NOT granted")" -gt 0 ]; }
post_bg 0
wait_for 10 "the writer to wait for the lock" writer_blocked
answered 0 && fail "request 0 answered while the writer cannot write: $(cat "$T/post-0.log")"
pass "the writer waits for the lock with request 0"
QUEUED=0
K=0
REFUSED_FROM=""
while [ -z "$REFUSED_FROM" ]; do
	K=$((K + 1))
	[ $K -le 10 ] || fail "no 503 after $K requests of $PER with a queue of $QMAX"
	post_bg $K
	in_queue() { answered $K || [ "$(metric anquan_ingest_queue_items)" = $((QUEUED + PER)) ]; }
	wait_for 10 "request $K to be queued or answered" in_queue
	if answered $K; then
		REFUSED_FROM=$K
	else
		QUEUED=$((QUEUED + PER))
	fi
done
assert_eq "$(cat "$T/post-$K.log")" 503 "request $K answered 503 with $QUEUED items queued"
assert_eq "$((QUEUED + PER > QMAX))" 1 "refused only past queue_max_items"
grep -qi '^Retry-After: *[0-9]' "$T/hdr-$K" || fail "503 without Retry-After: $(cat "$T/hdr-$K")"
jq -e '.error == "overloaded" and (.message|length) > 10' "$T/out-$K" >/dev/null \
    || fail "503 body: $(cat "$T/out-$K")"
pass "503 overloaded, Retry-After $(sed -n 's/^Retry-After: *//Ip' "$T/hdr-$K" | tr -d '\r')"
N503=1
for k in $((K + 1)) $((K + 2)); do
	readings L-001 $((QB + k * 10000)) "$PER" >"$T/body-$k.json"
	code=$(post "$CITY" /v1/readings @"$T/body-$k.json")
	expect "$code" 503 "request $k with the queue full"
	N503=$((N503 + 1))
done
LAST=$((K + 2))
for k in $(seq 0 $((K - 1))); do
	answered "$k" && fail "request $k answered before the lock went: $(cat "$T/post-$k.log")"
done
pass "requests 0..$((K - 1)) still waiting, none answered"
# A collector's batch waits as well: the intake stops reading while the
# queue is over three quarters full, and its ack comes after the commit.
sys_spawn held "$SYS/ingest_collector" --push "tcp://127.0.0.1:$PULL_PORT" \
    --sub "tcp://127.0.0.1:$PUB_PORT" --source city --token "$CITY" --batch-id held-1 \
    --points L-001 --ts-ms $((QB - 60000)) --until COMMITTED --timeout-ms 30000
HELD=$LAST_PID
paused() { [ "$(metric anquan_intake_pauses_total)" -ge 1 ]; }
wait_for 10 "the intake to stop reading" paused
grep -q 'status=' "$T/held.log" && fail "collector batch answered while the writer cannot write: $(cat "$T/held.log")"
pass "the intake paused; the collector's batch waits"

# The lock goes: every waiting request is answered 202 and stored, the
# refused ones are not stored.
echo "COMMIT;" >&3
exec 3>&-
all_answered() { for k in $(seq 0 $((K - 1))); do answered "$k" || return 1; done; }
wait_for 30 "the waiting requests to be answered" all_answered
for k in $(seq 0 $((K - 1))); do
	assert_eq "$(cat "$T/post-$k.log")/$(jq -r .accepted "$T/out-$k")" "202/$PER" "request $k: 202 after the lock"
	jq -c . "$T/out-$k" >>"$T/answers"
	assert_eq "$(rows $((QB + k * 10000)) $((QB + k * 10000 + 5000)))" "$PER" "request $k stored"
done
for k in $(seq "$K" "$LAST"); do
	assert_eq "$(rows $((QB + k * 10000)) $((QB + k * 10000 + 5000)))" 0 "request $k (503) not stored"
done
rc=0; wait "$HELD" || rc=$?
assert_eq "$rc/$(sed -n 's/.* status=\([A-Z_]*\) accepted=\([0-9]*\) .*/\1 \2/p' "$T/held.log")" "0/COMMITTED 1" "the collector's batch committed after the lock"
zacc "$(grep 'status=' "$T/held.log")"
code=$(post "$CITY" /v1/readings @"$T/body-$K.json")
expect "$code" 202 "a refused request sent again"
assert_eq "$(field .accepted)" "$PER" "stored now"
assert_eq "$(metric anquan_ingest_queue_items)" 0 "queue empty again"

# (2) Tokens follow the registry without a restart: revoked, refused with
# 401 after a refresh; made while running, accepted after one.
code=$(post "$OLD" /v1/readings "$(readings L-001 $((NOW_MS - 1700000)) 1)")
expect "$code" 202 "oldco before the revocation"
ctl token revoke "$OLD" >/dev/null || fail "token revoke"
REV=0
revoked() {
	REV=$((REV + 1))
	[ "$(post "$OLD" /v1/readings "$(readings L-001 $((NOW_MS - 1699000 + REV)) 1)")" = 401 ]
}
wait_for 10 "the revoked token to be refused" revoked
jq -e '(.error|length) > 0' "$T/out" >/dev/null || fail "401 without a JSON error: $(cat "$T/out")"
pass "revoked token refused with 401: $(jq -r .message "$T/out")"
collect oldco "$OLD" rev-1 --points L-001 --ts-ms $((NOW_MS - 1698000))
case "$ACK" in *status=REFUSED*) pass "revoked token refused on the ZeroMQ intake too" ;;
*) fail "revoked token on the ZeroMQ intake: $ACK" ;; esac
assert_eq "$(rows $((NOW_MS - 1699000 + REV)) $((NOW_MS - 1699000 + REV + 1)))" 0 "nothing stored by the refused request"
NEW=$(ctl token create --source newco --sectors hazchem --districts 370112 | grep '^aq_') || fail "token for newco"
works() { [ "$(post "$NEW" /v1/readings "$(readings L-001 $((NOW_MS - 1600000)) 1)")" = 202 ]; }
wait_for 10 "the new token to be accepted" works
pass "a token made while ingestd runs is accepted"
collect newco "$NEW" new-1 --points L-001 --ts-ms $((NOW_MS - 1599000))
case "$ACK" in *status=COMMITTED\ accepted=1\ *) pass "and on the ZeroMQ intake" ;;
*) fail "new token on the ZeroMQ intake: $ACK" ;; esac
kill -0 "$INGESTD" || fail "ingestd restarted"

# (3) What /metrics must count: a batch of known rejections, a re-sent
# batch (duplicates) and readings of unknown points (quarantine).
MB=$((NOW_MS - 900000))
code=$(post "$CITY" /v1/readings "{\"readings\":[
 {\"point\":\"L-001\",\"ts\":$MB,\"value\":1},
 {\"point\":\"L-001\",\"ts\":$((NOW_MS + 3600000)),\"value\":1},
 {\"point\":\"L-001\",\"ts\":$((NOW_MS + 7200000)),\"value\":1},
 {\"point\":\"L-001\",\"ts\":$((NOW_MS - 401 * 86400000)),\"value\":1},
 {\"point\":\"L-001\",\"ts\":$((MB + 1000)),\"value\":\"x\"},
 {\"point\":\"L-001\",\"ts\":$MB,\"value\":2},
 {\"point\":\"L-001\",\"ts\":$((MB + 2000)),\"value\":1,\"quality\":\"excellent\"},
 {\"point\":\"L-404\",\"ts\":$MB,\"value\":1},
 {\"point\":\"L-404\",\"ts\":$((MB + 1000)),\"value\":1}
]}")
expect "$code" 202 "batch of known rejections"
assert_eq "$(field .accepted)/$(field .quarantined)/$(field '[.rejected[].index]|map(tostring)|join(",")')" \
    "1/2/1,2,3,4,5,6" "good, quarantined and refused items"
code=$(post "$GAS" /v1/readings "{\"readings\":[{\"point\":\"L-001\",\"ts\":$((MB + 3000)),\"value\":1}]}")
expect "$code" 202 "gasco out of scope"
assert_eq "$(field '.rejected|length')" 1 "out-of-scope reading refused"
code=$(post "$CITY" /v1/readings @"$T/body-0.json")
expect "$code" 202 "request 0 again"
assert_eq "$(field .duplicates)" "$PER" "all duplicates"

sum() { jq -s "map($1)|add" "$T/answers"; }
assert_eq "$(metric anquan_ingest_accepted_total)" "$(($(sum .accepted) + ZACC))" "anquan_ingest_accepted_total = accepted in the answers and acks"
assert_eq "$(metric anquan_ingest_duplicates_total)" "$(sum .duplicates)" "anquan_ingest_duplicates_total = duplicates in the answers"
assert_eq "$(metric anquan_ingest_quarantined_total)" "$(sum .quarantined)" "anquan_ingest_quarantined_total = quarantined in the answers"
stored=$(sql "SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM events) + (SELECT count(*) FROM quarantine)")
assert_eq "$(( $(sum .accepted) + ZACC + $(sum .quarantined) ))" "$stored" "the answers' counts are the rows in the store"
for r in future:2 too_old:1 bad_value:1 duplicate_in_request:1 bad_quality:1 scope:1; do
	assert_eq "$(metric "anquan_ingest_rejected_total{reason=\"${r%%:*}\"}")" "${r#*:}" "rejected{reason=${r%%:*}}"
done
all=$(curl -fsS "$U/metrics" | awk '$1 ~ /^anquan_ingest_rejected_total\{/ { s += $2 } END { print s + 0 }')
assert_eq "$all" "$(sum '.rejected|length')" "rejections by reason add up to those answered"
assert_eq "$(metric 'anquan_ingest_requests_total{status="503"}')" "$N503" "503 answers counted"
assert_eq "$(metric 'anquan_ingest_requests_total{status="202"}')" "$(wc -l <"$T/answers" | tr -d ' ')" "202 answers counted"
[ "$(metric anquan_ingest_commit_seconds_count)" -gt 0 ] || fail "commit histogram empty: $(metric anquan_ingest_commit_seconds_count)"
pass "commit histogram: $(metric anquan_ingest_commit_seconds_count) commits"
[ "$(metric anquan_ingest_queue_items)" != absent ] || fail "no queue depth gauge"
pass "queue depth gauge present"

grep -q 'AddressSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
pass "t_ingest_limits done"

#!/bin/sh
# t_alarmd_deliver.sh - webhook delivery (services/alarmd/deliver.c) on a
# real alarmd fed through ingestd and riskd, against four receivers that
# misbehave each in its own way and a fallback receiver:
#   ok     answers at once: delivered within a second although the others
#          fail, its answer kept as the receipt, the body as the notice;
#   down   nobody listens: three attempts refused, spaced by the backoff,
#          then failed and handed to the fallback receiver;
#   slow   answers after the delivery timeout: three timeouts, the same;
#   flaky  fails its first two requests with 503: delivered on the third;
# with every attempt recorded and /metrics agreeing with the tables.  Then
# alarmd is killed -9 while deliveries wait out their backoff; restarted,
# it takes them over from the store, sends each once and not before its
# next_at, and counts the attempts on from the stored ones; a fallback
# receiver that fails too leaves the delivery failed, never a fallback of
# a fallback.  Last, the store goes away while an answer is on its way:
# the outcome is kept and written once the store is back.
. "$(dirname "$0")/lib.sh"
sys_setup

ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }
IPORT=$(free_port)
RPORT=$(free_port)
APORT=$(free_port)
OK=$(free_port)
DN=$(free_port)
SL=$(free_port)
FL=$(free_port)
BK=$(free_port)
OK2=$(free_port)
CONF=$T/anquan.conf
BUSCONF="ingestd_pub = tcp://127.0.0.1:$(free_port)
ingest_pull = tcp://127.0.0.1:$(free_port)
riskd_pub = tcp://127.0.0.1:$(free_port)
alarmd_pub = tcp://127.0.0.1:$(free_port)"

# write_conf RECEIVERS BACKOFF_MIN BACKOFF_MAX TIMEOUT
write_conf() {
	cat >"$CONF" <<CONF
[log]
level = info
[store]
backoff_min = 50ms
backoff_max = 300ms
[bus]
$BUSCONF
resync = 500ms
[ingestd]
http_listen = 127.0.0.1:$IPORT
[riskd]
http_listen = 127.0.0.1:$RPORT
tick = 200ms
[alarmd]
http_listen = 127.0.0.1:$APORT
group_wait = 200ms
ack_red = 1h
ack_orange = 1h
ack_yellow = 1h
repeat = 1h
tick = 100ms
receivers = $1
fallback = backup=http://127.0.0.1:$BK/fallback
attempts_before_fallback = 3
backoff_min = $2
backoff_max = $3
delivery_timeout = $4
CONF
}
ALL="ok=http://127.0.0.1:$OK/hook,down=http://127.0.0.1:$DN/hook,slow=http://127.0.0.1:$SL/hook,flaky=http://127.0.0.1:$FL/hook"
write_conf "$ALL" 200ms 400ms 500ms
U=http://127.0.0.1:$IPORT
A=http://127.0.0.1:$APORT
NOW_MS=$(date +%s%3N)
H_MS=3600000

post() {
	curl -s -m 30 -o "$T/out" -w '%{http_code}' \
	    -H "Authorization: Bearer $CITY" -H "Content-Type: application/json" \
	    --data-binary "$2" "$U/v1/$1"
}
events() {
	body=$(printf '%s,' "$@")
	code=$(post events "{\"events\":[${body%,}]}")
	[ "$code" = 202 ] || fail "events: status $code: $(cat "$T/out")"
	[ "$(jq '.rejected|length' "$T/out")" = 0 ] || fail "events refused: $(cat "$T/out")"
}
ev() { printf '{"kind":"%s","id":"%s","at":%s,"data":%s}' "$1" "$2" "$NOW_MS" "$3"; }
reading() {	# reading POINT VALUE
	code=$(post readings "{\"readings\":[{\"point\":\"$1\",\"ts\":$(date +%s%3N),\"value\":$2,\"quality\":\"good\"}]}")
	[ "$code" = 202 ] || fail "reading: status $code: $(cat "$T/out")"
}
person() { printf '{"id":"%s","name":"%s","phone":"%s"}' "$1" "$2" "$3"; }
roster() {	# roster ID UNIT LEADER_ID OFFICER_ID
	events "$(ev duty.roster "$1" "$(printf '{"unit":"%s","start":%s,"end":%s,"leader":%s,"officers":[%s]}' \
	    "$2" "$((NOW_MS - H_MS))" "$((NOW_MS + 3 * H_MS))" "$(person "$3" "领导$3" 13900000001)" "$(person "$4" "值班员$4" 13900000002)")")"
}
point() {	# point CODE USCC
	printf '{"code":"%s","uscc":"%s","kind":"level","unit":"m","h":80,"hh":90,"range_lo":0,"range_hi":100,"deadband":1,"expected_interval_s":3600,"enabled":true}' "$1" "$2"
}
sql_is() { [ "$(sql "$1")" = "$2" ]; }
metric() {	# metric SERIES: its value in alarmd's /metrics
	curl -fsS "$A/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }
# The delivery of notification N to receiver R: "state/attempts".
dl() { sql "SELECT state || '/' || attempts FROM deliveries WHERE notification_id = $1 AND receiver = '$2' AND fallback_of IS NULL"; }
dl_id() { sql "SELECT id FROM deliveries WHERE notification_id = $1 AND receiver = '$2' AND fallback_of IS NULL"; }
# The gaps in ms between the attempts of delivery D, oldest first.
gaps() {
	sql "SELECT string_agg(g::text, ' ' ORDER BY at) FROM (SELECT at, round(extract(epoch FROM at - lag(at) OVER (ORDER BY at)) * 1000)::int AS g FROM delivery_attempts WHERE delivery_id = $1) x WHERE g IS NOT NULL"
}
# The body of the webhook line(s) of a sink's log for incident I, as
# canonical JSON.
bodies() { grep "\"incident\":\"$2\"" "$1" | sed 's/^[0-9]* [^ ]* //' | jq -cS .; }
settled() { sql_is "SELECT count(*) FROM deliveries WHERE state = 'pending'" 0; }

CITY=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for city"
E1=$("$SYS/ingest_uscc" 370112 51)
E2=$("$SYS/ingest_uscc" 370112 52)

sys_spawn ok "$SYS/webhook_sink" "$OK" "$T/ok.hooks"
sys_spawn slow "$SYS/webhook_sink" "$SL" "$T/slow.hooks" --delay-ms 3000
sys_spawn flaky "$SYS/webhook_sink" "$FL" "$T/flaky.hooks" --fail 2 --fail-status 503
sys_spawn backup "$SYS/webhook_sink" "$BK" "$T/backup.hooks"
BACKUP=$LAST_PID
for f in ok slow flaky backup; do
	wait_for 10 "the $f receiver" grep -q ready "$T/$f.log"
done
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
events \
    "$(ev enterprise.upsert e1 "{\"uscc\":\"$E1\",\"name\":\"齐鲁化工\",\"district\":\"370112\",\"sector\":\"hazchem\",\"employees\":120,\"status\":\"operating\",\"enforcement_level\":\"district\"}")" \
    "$(ev enterprise.upsert e2 "{\"uscc\":\"$E2\",\"name\":\"历城化工\",\"district\":\"370112\",\"sector\":\"hazchem\",\"employees\":80,\"status\":\"operating\",\"enforcement_level\":\"district\"}")"
events \
    "$(ev responsibility.upsert r1 "{\"uscc\":\"$E1\",\"territorial\":\"370112\",\"sector_dept\":\"YJJ\",\"direct_dept\":\"YJJ\"}")" \
    "$(ev responsibility.upsert r2 "{\"uscc\":\"$E2\",\"territorial\":\"370112\",\"sector_dept\":\"YJJ\",\"direct_dept\":\"YJJ\"}")"
events "$(ev point.upsert p1 "$(point P-1 "$E1")")" "$(ev point.upsert p2 "$(point P-2 "$E2")")"
roster d1 370112 L-370112 O-370112
roster d2 YJJ L-YJJ O-YJJ
roster d3 AWB L-AWB O-AWB
sys_spawn riskd "$BIN/riskd" -d -f "$CONF"
wait_for 30 "riskd /healthz" curl -fsS "http://127.0.0.1:$RPORT/healthz"
sys_spawn alarmd "$BIN/alarmd" -d -f "$CONF"
ALARMD=$LAST_PID
wait_for 30 "alarmd /healthz" curl -fsS "$A/healthz"

# --- one notice, four receivers -------------------------------------------
reading P-1 85
wait_for 10 "the first notice" sql_is "SELECT count(*) FROM notifications" 1
N1=$(sql "SELECT id FROM notifications")
I1=$(sql "SELECT incident_id FROM notifications WHERE id = $N1")
assert_eq "$(sql "SELECT string_agg(receiver, ',' ORDER BY receiver) FROM deliveries WHERE notification_id = $N1")" \
    "down,flaky,ok,slow" "one delivery per receiver"
wait_for 10 "ok's delivery" sql_is "SELECT state FROM deliveries WHERE notification_id = $N1 AND receiver = 'ok'" delivered
# While down refuses and slow holds its answers, ok is not kept waiting.
assert_eq "$(sql "SELECT extract(epoch FROM delivered_at - created_at) < 1 FROM deliveries WHERE notification_id = $N1 AND receiver = 'ok'")" t \
    "ok delivered within a second, the others failing"
assert_eq "$(sql "SELECT receipt FROM deliveries WHERE notification_id = $N1 AND receiver = 'ok'")" '{"ok":true,"seq":1}' \
    "the receiver's answer kept as the receipt"
assert_eq "$(bodies "$T/ok.hooks" "$I1")" "$(sql "SELECT payload FROM notifications WHERE id = $N1" | jq -cS .)" \
    "the body is the notification's payload"
assert_eq "$(sql "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N1" ok) AND http_status = 200 AND error IS NULL")" 1 \
    "ok: one attempt recorded"

wait_for 20 "every delivery of the first notice settled" settled
assert_eq "$(dl "$N1" down)" failed/3 "down: failed after three attempts"
assert_eq "$(sql "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N1" down) AND http_status IS NULL AND error = 'cannot connect'")" 3 \
    "down: three refused attempts recorded"
set -- $(gaps "$(dl_id "$N1" down)")
[ "$#" = 2 ] && [ "$1" -ge 190 ] && [ "$2" -ge 390 ] && [ "$2" -lt 2000 ] \
    || fail "down: attempts not spaced 200 ms then 400 ms: $*"
pass "down: the backoff doubles ($1 ms, $2 ms)"
assert_eq "$(dl "$N1" slow)" failed/3 "slow: failed after three attempts"
assert_eq "$(sql "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N1" slow) AND error = 'timeout' AND latency_ms >= 450")" 3 \
    "slow: three timeouts recorded"
assert_eq "$(dl "$N1" flaky)" delivered/2 "flaky: delivered on the third attempt"
assert_eq "$(sql "SELECT string_agg(coalesce(http_status::text, '-'), ',' ORDER BY at) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N1" flaky)")" \
    503,503,200 "flaky: its attempts as answered"
assert_eq "$(sql "SELECT last_error FROM deliveries WHERE id = $(dl_id "$N1" flaky)")" "HTTP 503" "flaky: the last error kept"
assert_eq "$(sql "SELECT string_agg(p.receiver || '>' || f.receiver || ':' || f.state, ',' ORDER BY p.receiver) FROM deliveries f JOIN deliveries p ON p.id = f.fallback_of WHERE p.notification_id = $N1")" \
    "down>backup:delivered,slow>backup:delivered" "the failed ones handed to the fallback, delivered"
assert_eq "$(bodies "$T/backup.hooks" "$I1" | sort -u)" "$(bodies "$T/ok.hooks" "$I1")" "the fallback got the same notice"
assert_eq "$(grep -c "\"incident\":\"$I1\"" "$T/backup.hooks")" 2 "the fallback got it once per failed delivery"
assert_eq "$(awk '{ print $2 }' "$T/backup.hooks" | sort -u)" /fallback "the fallback's own path"

# /metrics agrees with the tables.
wait_for 5 "the backlog gauge at 0" metric_is anquan_alarmd_delivery_backlog 0
assert_eq "$(metric 'anquan_alarmd_deliveries_total{outcome="delivered"}')" 4 "metrics: delivered (ok, flaky, two fallbacks)"
assert_eq "$(metric 'anquan_alarmd_deliveries_total{outcome="failed"}')" 2 "metrics: failed"
assert_eq "$(metric 'anquan_alarmd_deliveries_total{outcome="retried"}')" 6 "metrics: retried"
assert_eq "$(metric 'anquan_alarmd_deliveries_total{outcome="fallback"}')" 2 "metrics: fallback"
assert_eq "$(metric anquan_alarmd_delivery_seconds_count)" 4 "metrics: the delivery time of each delivered one"

# --- kill -9 during the backoff; the next process takes over --------------
# A long backoff, the fallback failing as well.
kill -TERM "$BACKUP"
wait_for 10 "the first fallback receiver stopped" sh -c "! kill -0 $BACKUP"
sys_spawn backup2 "$SYS/webhook_sink" "$BK" "$T/backup2.hooks" --fail -1
wait_for 10 "the failing fallback" grep -q ready "$T/backup2.log"
kill -9 "$ALARMD"
write_conf "$ALL" 3s 3s 500ms
sys_spawn alarmd2 "$BIN/alarmd" -d -f "$CONF"
ALARMD=$LAST_PID
wait_for 30 "alarmd back" curl -fsS "$A/healthz"
reading P-2 85
wait_for 10 "E2's notice" sql_is "SELECT count(*) FROM notifications" 2
N2=$(sql "SELECT max(id) FROM notifications")
I2=$(sql "SELECT incident_id FROM notifications WHERE id = $N2")
wait_for 10 "down's first failure of it, written" sql_is "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N2" down)" 1
wait_for 10 "slow's first failure of it, written" sql_is "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N2" slow)" 1
wait_for 10 "ok's delivery of it, written" sql_is "SELECT state FROM deliveries WHERE id = $(dl_id "$N2" ok)" delivered
assert_eq "$(dl "$N2" down)" pending/1 "down: pending after one failure"
DUE=$(sql "SELECT (extract(epoch FROM next_at) * 1000)::bigint FROM deliveries WHERE id = $(dl_id "$N2" down)")
kill -9 "$ALARMD"
log "alarmd killed -9 with deliveries waiting out their backoff"
# down comes up meanwhile.
sys_spawn down "$SYS/webhook_sink" "$DN" "$T/down.hooks"
wait_for 10 "down listening" grep -q ready "$T/down.log"
sys_spawn alarmd3 "$BIN/alarmd" -d -f "$CONF"
ALARMD=$LAST_PID
wait_for 30 "alarmd back again" curl -fsS "$A/healthz"
wait_for 15 "down's delivery taken over" sql_is "SELECT state FROM deliveries WHERE id = $(dl_id "$N2" down)" delivered
assert_eq "$(dl "$N2" down)" delivered/1 "down: delivered, its earlier failure counted"
assert_eq "$(grep -c "\"incident\":\"$I2\"" "$T/down.hooks")" 1 "down: sent once by the new process"
AT=$(awk '{ print $1; exit }' "$T/down.hooks")
[ "$AT" -ge "$DUE" ] || fail "down: sent at $AT, before its next_at $DUE"
pass "down: sent after its next_at ($((AT - DUE)) ms)"
assert_eq "$(sql "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N2" down)")" 2 "down: both attempts recorded"
# slow keeps failing: three attempts over both processes, then the
# fallback, which fails too, and nothing more.
wait_for 30 "slow's delivery given up" sql_is "SELECT state FROM deliveries WHERE id = $(dl_id "$N2" slow)" failed
assert_eq "$(dl "$N2" slow)" failed/3 "slow: three attempts across the restart"
wait_for 30 "its fallback given up" sql_is "SELECT state || '/' || attempts FROM deliveries WHERE fallback_of = $(dl_id "$N2" slow)" failed/3
wait_for 10 "nothing pending" settled
assert_eq "$(sql "SELECT count(*) FROM deliveries f JOIN deliveries p ON p.id = f.fallback_of WHERE p.fallback_of IS NOT NULL")" 0 \
    "no fallback of a fallback"
assert_eq "$(grep -c "\"incident\":\"$I2\"" "$T/ok.hooks")" 1 "ok: E2's notice once, the restarts notwithstanding"
assert_eq "$(grep -c '' "$T/ok.hooks")" 2 "ok: one line per notice"

# --- the store away while an answer is on its way ---------------------------
# ok alone, now a receiver that takes 1.5 s to answer.
sys_spawn ok2 "$SYS/webhook_sink" "$OK2" "$T/ok2.hooks" --delay-ms 1500
OK2PID=$LAST_PID
wait_for 10 "the slow-answering ok" grep -q ready "$T/ok2.log"
kill -TERM "$ALARMD"
wait_for 15 "alarmd stopped" sh -c "! kill -0 $ALARMD"
write_conf "ok=http://127.0.0.1:$OK2/hook" 200ms 400ms 5s
sys_spawn alarmd4 "$BIN/alarmd" -d -f "$CONF"
ALARMD=$LAST_PID
wait_for 30 "alarmd with the new ok" curl -fsS "$A/healthz"
reading P-1 95
wait_for 10 "the request at ok" grep -q '"status":"escalated"' "$T/ok2.hooks"
"$ROOT/deploy/pgctl.sh" stop "$T/db" >/dev/null
log "the store stopped while ok holds its answer"
wait_for 10 "the answer, with the store away" metric_is 'anquan_alarmd_deliveries_total{outcome="delivered"}' 1
wait_for 10 "a write refused" sh -c "[ \"\$(curl -fsS '$A/metrics' | awk '\$1 == \"anquan_alarmd_delivery_store_errors_total\" { print \$2 }')\" -gt 0 ]"
"$ROOT/deploy/pgctl.sh" start "$T/db" >/dev/null
N3=$(sql "SELECT max(id) FROM notifications")
wait_for 15 "the outcome written after all" sql_is "SELECT state FROM deliveries WHERE id = $(dl_id "$N3" ok)" delivered
assert_eq "$(sql "SELECT receipt FROM deliveries WHERE id = $(dl_id "$N3" ok)")" '{"ok":true,"seq":1}' "its receipt kept"
assert_eq "$(sql "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N3" ok)")" 1 "its attempt recorded once"
assert_eq "$(grep -c '' "$T/ok2.hooks")" 1 "sent once"
curl -fsS "$A/healthz" >/dev/null || fail "alarmd unhealthy after the store came back"

# A clean stop, and nothing for the sanitizers to report.
kill -TERM "$ALARMD" "$OK2PID"
rc=0; wait "$ALARMD" || rc=$?
assert_eq "$rc" 0 "alarmd exits 0 on SIGTERM"
rc=0; wait "$OK2PID" || rc=$?
assert_eq "$rc" 0 "the receiver exits 0 on SIGTERM"
if grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$T"/alarmd3.log \
    "$T"/alarmd4.log "$T"/backup.log "$T"/ok2.log; then
	grep -h -A20 'Sanitizer\|runtime error' "$T"/*.log | head -60
	fail "sanitizer report"
fi
pass "no sanitizer report"
pass "alarmd: webhook delivery, retries, fallback, takeover after kill -9, store away"

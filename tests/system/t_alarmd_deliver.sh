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
. "$(dirname "$0")/alert_lib.sh"
sys_setup
al_init
OK=$(free_port)
DN=$(free_port)
SL=$(free_port)
FL=$(free_port)
BK=$(free_port)
OK2=$(free_port)

# write_conf RECEIVERS BACKOFF_MIN BACKOFF_MAX TIMEOUT
write_conf() {
	al_conf <<CONF
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
# The notices of incident I in a sink's log, as canonical JSON.
bodies() { al_hook_bodies "$1" "$2" | jq -cS .; }
settled() { al_sql_is "SELECT count(*) FROM deliveries WHERE state = 'pending'" 0; }

al_city_token
E1=$("$SYS/ingest_uscc" 370112 51)
E2=$("$SYS/ingest_uscc" 370112 52)

al_sink ok "$OK"
al_sink slow "$SL" --delay-ms 3000
al_sink flaky "$FL" --fail 2 --fail-status 503
al_sink backup "$BK"
BACKUP=$LAST_PID
al_start_ingestd
al_events "$(al_enterprise e1 "$E1" 齐鲁化工 370112 hazchem 120)" "$(al_enterprise e2 "$E2" 历城化工 370112 hazchem 80)"
al_events "$(al_responsibility r1 "$E1" 370112 YJJ)" "$(al_responsibility r2 "$E2" 370112 YJJ)"
al_events "$(al_point p1 P-1 "$E1")" "$(al_point p2 P-2 "$E2")"
al_roster d1 370112
al_roster d2 YJJ
al_roster d3 AWB
al_start_riskd
al_start_alarmd

# --- one notice, four receivers -------------------------------------------
al_reading P-1 85
wait_for 10 "the first notice" al_sql_is "SELECT count(*) FROM notifications" 1
N1=$(sql "SELECT id FROM notifications")
I1=$(sql "SELECT incident_id FROM notifications WHERE id = $N1")
assert_eq "$(sql "SELECT string_agg(receiver, ',' ORDER BY receiver) FROM deliveries WHERE notification_id = $N1")" \
    "down,flaky,ok,slow" "one delivery per receiver"
wait_for 10 "ok's delivery" al_sql_is "SELECT state FROM deliveries WHERE notification_id = $N1 AND receiver = 'ok'" delivered
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
assert_eq "$(al_hook_count "$T/backup.hooks" "$I1")" 2 "the fallback got it once per failed delivery"
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
al_sink backup2 "$BK" --fail -1
kill -9 "$ALARMD"
write_conf "$ALL" 3s 3s 500ms
al_start_alarmd alarmd2
al_reading P-2 85
wait_for 10 "E2's notice" al_sql_is "SELECT count(*) FROM notifications" 2
N2=$(sql "SELECT max(id) FROM notifications")
I2=$(sql "SELECT incident_id FROM notifications WHERE id = $N2")
wait_for 10 "down's first failure of it, written" al_sql_is "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N2" down)" 1
wait_for 10 "slow's first failure of it, written" al_sql_is "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N2" slow)" 1
wait_for 10 "ok's delivery of it, written" al_sql_is "SELECT state FROM deliveries WHERE id = $(dl_id "$N2" ok)" delivered
assert_eq "$(dl "$N2" down)" pending/1 "down: pending after one failure"
DUE=$(sql "SELECT (extract(epoch FROM next_at) * 1000)::bigint FROM deliveries WHERE id = $(dl_id "$N2" down)")
kill -9 "$ALARMD"
log "alarmd killed -9 with deliveries waiting out their backoff"
# down comes up meanwhile.
al_sink down "$DN"
al_start_alarmd alarmd3
wait_for 15 "down's delivery taken over" al_sql_is "SELECT state FROM deliveries WHERE id = $(dl_id "$N2" down)" delivered
assert_eq "$(dl "$N2" down)" delivered/1 "down: delivered, its earlier failure counted"
assert_eq "$(al_hook_count "$T/down.hooks" "$I2")" 1 "down: sent once by the new process"
AT=$(awk '{ print $1; exit }' "$T/down.hooks")
[ "$AT" -ge "$DUE" ] || fail "down: sent at $AT, before its next_at $DUE"
pass "down: sent after its next_at ($((AT - DUE)) ms)"
assert_eq "$(sql "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N2" down)")" 2 "down: both attempts recorded"
# slow keeps failing: three attempts over both processes, then the
# fallback, which fails too, and nothing more.
wait_for 30 "slow's delivery given up" al_sql_is "SELECT state FROM deliveries WHERE id = $(dl_id "$N2" slow)" failed
assert_eq "$(dl "$N2" slow)" failed/3 "slow: three attempts across the restart"
wait_for 30 "its fallback given up" al_sql_is "SELECT state || '/' || attempts FROM deliveries WHERE fallback_of = $(dl_id "$N2" slow)" failed/3
wait_for 10 "nothing pending" settled
assert_eq "$(sql "SELECT count(*) FROM deliveries f JOIN deliveries p ON p.id = f.fallback_of WHERE p.fallback_of IS NOT NULL")" 0 \
    "no fallback of a fallback"
assert_eq "$(al_hook_count "$T/ok.hooks" "$I2")" 1 "ok: E2's notice once, the restarts notwithstanding"
assert_eq "$(grep -c '' "$T/ok.hooks")" 2 "ok: one line per notice"

# --- the store away while an answer is on its way ---------------------------
# ok alone, now a receiver that takes 1.5 s to answer.
al_sink ok2 "$OK2" --delay-ms 1500
OK2PID=$LAST_PID
kill -TERM "$ALARMD"
wait_for 15 "alarmd stopped" sh -c "! kill -0 $ALARMD"
write_conf "ok=http://127.0.0.1:$OK2/hook" 200ms 400ms 5s
al_start_alarmd alarmd4
al_reading P-1 95
wait_for 10 "the request at ok" grep -q '"status":"escalated"' "$T/ok2.hooks"
"$ROOT/deploy/pgctl.sh" stop "$T/db" >/dev/null
log "the store stopped while ok holds its answer"
wait_for 10 "the answer, with the store away" metric_is 'anquan_alarmd_deliveries_total{outcome="delivered"}' 1
wait_for 10 "a write refused" sh -c "[ \"\$(curl -fsS '$A/metrics' | awk '\$1 == \"anquan_alarmd_delivery_store_errors_total\" { print \$2 }')\" -gt 0 ]"
"$ROOT/deploy/pgctl.sh" start "$T/db" >/dev/null
N3=$(sql "SELECT max(id) FROM notifications")
wait_for 15 "the outcome written after all" al_sql_is "SELECT state FROM deliveries WHERE id = $(dl_id "$N3" ok)" delivered
assert_eq "$(sql "SELECT receipt FROM deliveries WHERE id = $(dl_id "$N3" ok)")" '{"ok":true,"seq":1}' "its receipt kept"
assert_eq "$(sql "SELECT count(*) FROM delivery_attempts WHERE delivery_id = $(dl_id "$N3" ok)")" 1 "its attempt recorded once"
assert_eq "$(grep -c '' "$T/ok2.hooks")" 1 "sent once"
curl -fsS "$A/healthz" >/dev/null || fail "alarmd unhealthy after the store came back"

# A clean stop, and nothing for the sanitizers to report.
kill -TERM "$ALARMD" "$OK2PID"
al_exited_zero "$ALARMD" "alarmd exits 0 on SIGTERM"
al_exited_zero "$OK2PID" "the receiver exits 0 on SIGTERM"
al_no_sanitizer_report "$T"/alarmd3.log "$T"/alarmd4.log "$T"/backup.log "$T"/ok2.log
pass "alarmd: webhook delivery, retries, fallback, takeover after kill -9, store away"

#!/bin/sh
# t_riskd.sh - riskd end to end: readings posted to ingestd raise and clear
# alarms, the hazard source's warning and the enterprise's risk follow, and
# a kill -9 of riskd in the middle of a stream of readings leaves neither a
# duplicate nor a missing alarm once it is back (DESIGN.md section 2: the
# cursor and the effects commit together; alarm ids come from point, start
# and kind).  Also: a point going offline by the timer, a maintenance
# window recording what it suppresses, and a restart that raises nothing
# again.
. "$(dirname "$0")/lib.sh"
sys_setup

ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }
IPORT=$(free_port)
RPORT=$(free_port)
CONF=$T/anquan.conf
cat >"$CONF" <<CONF
[log]
level = info
[store]
backoff_min = 50ms
backoff_max = 500ms
[bus]
ingestd_pub = tcp://127.0.0.1:$(free_port)
ingest_pull = tcp://127.0.0.1:$(free_port)
riskd_pub = tcp://127.0.0.1:$(free_port)
resync = 500ms
[ingestd]
http_listen = 127.0.0.1:$IPORT
[riskd]
http_listen = 127.0.0.1:$RPORT
tick = 200ms
CONF
U=http://127.0.0.1:$IPORT
R=http://127.0.0.1:$RPORT
NOW_MS=$(( $(date +%s) * 1000 ))

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
# readings P TS:V ...: one request of readings of point P.
readings() {
	p=$1; shift
	body=""
	for tv in "$@"; do
		body="$body{\"point\":\"$p\",\"ts\":${tv%%:*},\"value\":${tv#*:},\"quality\":\"good\"},"
	done
	code=$(post readings "{\"readings\":[${body%,}]}")
	[ "$code" = 202 ] || fail "readings: status $code: $(cat "$T/out")"
	[ "$(jq .accepted "$T/out")" = $# ] || fail "readings not all accepted: $(cat "$T/out")"
}
get() { curl -fsS -m 10 "$R$1"; }
risk_level() { get "/v1/enterprises/$E/risk" | jq -r .level; }
warn_level() { get "/v1/sources/HS-1" | jq -r .warning.level; }
# sql_is QUERY WANT / api_is PATH JQ WANT: for wait_for.
sql_is() { [ "$(sql "$1")" = "$2" ]; }
api_is() { [ "$(curl -fsS -m 10 "$R$1" | jq -r "$2")" = "$3" ]; }
cursor_done() {
	[ "$(sql "SELECT count(*) FROM bus_streams s LEFT JOIN bus_cursors c ON c.consumer = 'riskd' AND c.stream = s.stream WHERE (s.stream LIKE 'rd.%' OR s.stream LIKE 'ev.%') AND coalesce(c.seq, 0) < s.last_seq")" = 0 ]
}

CITY=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for city"
E=$("$SYS/ingest_uscc" 370112 21)
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"

# A hazchem plant (inherent yellow) with a director and a list (no raise),
# one 三级 source (alpha 1.5 x 10 = 15), and its points.
events \
    "$(ev enterprise.upsert e1 "{\"uscc\":\"$E\",\"name\":\"齐鲁化工\",\"district\":\"370112\",\"sector\":\"hazchem\",\"employees\":120,\"status\":\"operating\",\"enforcement_level\":\"district\"}")"
events \
    "$(ev director.appointed d1 "{\"uscc\":\"$E\",\"name\":\"李总监\",\"certified\":true}")" \
    "$(ev resplist.uploaded l1 "{\"uscc\":\"$E\",\"posts\":10,\"posts_covered\":10}")" \
    "$(ev hazard_source.upsert s1 "{\"code\":\"HS-1\",\"uscc\":\"$E\",\"name\":\"液氨储罐区\",\"unit_type\":\"storage\",\"people_500m\":60,\"chemicals\":[{\"name\":\"氨\",\"q\":100,\"Q\":10,\"beta\":1}],\"assessed_on\":\"2025-06-01\",\"responsible\":{\"main\":\"张三\",\"technical\":\"李四\",\"operational\":\"王五\"}}")"
pts=""
for i in $(seq 1 12); do
	pts="$pts $(ev point.upsert p$i "{\"code\":\"LT-$i\",\"uscc\":\"$E\",\"kind\":\"level\",\"unit\":\"m\",\"l\":10,\"ll\":5,\"h\":80,\"hh\":90,\"range_lo\":0,\"range_hi\":100,\"deadband\":1,\"expected_interval_s\":3600,\"hazard_source\":\"HS-1\",\"enabled\":true}")"
done
# shellcheck disable=SC2086
events $pts

sys_spawn riskd "$BIN/riskd" -d -f "$CONF"
RISKD=$LAST_PID
wait_for 30 "riskd /healthz" curl -fsS "$R/healthz"
wait_for 10 "the enterprise graded" curl -fsS "$R/v1/enterprises/$E/risk"
assert_eq "$(risk_level)" yellow "inherent risk of a hazchem plant with a 三级 source"
assert_eq "$(get /v1/sources/HS-1 | jq -r '.grade_name')" "三级" "source grade"
assert_eq "$(warn_level)" blue "no warning yet"

# H then HH: HH supersedes H; the source warns orange, the plant goes orange.
t=$NOW_MS
readings LT-1 "$((t + 1000)):50" "$((t + 2000)):85"
wait_for 10 "H on LT-1" sql_is "SELECT count(*) FROM alarms WHERE point = 'LT-1' AND kind = 'H' AND cleared_at IS NULL" 1
readings LT-1 "$((t + 3000)):95"
wait_for 10 "HH on LT-1" sql_is "SELECT coalesce(string_agg(kind, ','), '') FROM alarms WHERE point = 'LT-1' AND cleared_at IS NULL" HH
assert_eq "$(sql "SELECT clear_reason FROM alarms WHERE point = 'LT-1' AND kind = 'H'")" superseded "H superseded by HH"
assert_eq "$(sql "SELECT id FROM alarms WHERE point = 'LT-1' AND kind = 'HH'")" "LT-1:$((t + 3000)):HH" "deterministic alarm id"
wait_for 10 "orange warning" api_is /v1/sources/HS-1 .warning.level orange
wait_for 10 "orange risk" api_is "/v1/enterprises/$E/risk" .level orange
get "/v1/enterprises/$E/risk" | jq -r '.reasons[].text' | grep -q "橙色" \
    || get "/v1/enterprises/$E/risk" | jq -r '.reasons[].code' | grep -q source_warning \
    || fail "the risk reasons do not name the source warning: $(get /v1/enterprises/$E/risk)"
get /v1/sources/HS-1 | jq -r '.warning.reasons[].text' | grep -q 'LT-1' \
    || fail "the warning reasons do not name the point"
assert_eq "$(get /v1/points/LT-1 | jq -r .state)" alarm "point state"

# Back under hh - deadband and h - deadband: cleared, and the risk follows.
readings LT-1 "$((t + 4000)):50"
wait_for 10 "LT-1 cleared" sql_is "SELECT count(*) FROM alarms WHERE point = 'LT-1' AND cleared_at IS NULL" 0
wait_for 10 "risk back to yellow" api_is "/v1/enterprises/$E/risk" .level yellow
assert_eq "$(sql "SELECT string_agg(level, ',' ORDER BY id) FROM enterprise_risk_history WHERE uscc = '$E'")" "yellow,orange,yellow" "risk history"
# The bus carried each change once, in order.
assert_eq "$(sql "SELECT count(*) FROM bus_log WHERE stream = 'al.raised'")" 2 "al.raised messages (H, HH)"
assert_eq "$(sql "SELECT count(*) FROM bus_log WHERE stream = 'al.cleared'")" 2 "al.cleared messages"
assert_eq "$(sql "SELECT count(*) FROM bus_log WHERE stream = 'rk.370112'")" "$(sql "SELECT (SELECT count(*) FROM enterprise_risk_history) + (SELECT count(*) FROM source_warning_history)")" "one rk message per level change"

# A stream of readings, with riskd killed -9 in the middle of it.  Points
# LT-2..LT-11 alternate 95 and 50 every second (in the last minute: the
# 24-hour raise count of the source is by wall clock): each 95 raises one
# HH, each 50 clears it.
rounds=40
i=1
while [ $i -le $rounds ]; do
	ts=$((t - 60000 + i * 1000))
	v=50
	[ $((i % 2)) = 1 ] && v=95
	body=""
	for p in 2 3 4 5 6 7 8 9 10 11; do
		body="$body{\"point\":\"LT-$p\",\"ts\":$ts,\"value\":$v,\"quality\":\"good\"},"
	done
	code=$(post readings "{\"readings\":[${body%,}]}")
	[ "$code" = 202 ] || fail "stream: status $code"
	if [ $i = 15 ]; then
		kill -9 "$RISKD"
		log "riskd killed -9 after round $i"
	fi
	i=$((i + 1))
done
assert_eq "$(sql "SELECT count(*) FROM readings WHERE point LIKE 'LT-%' AND point <> 'LT-1'")" $((rounds * 10)) "readings stored"
sys_spawn riskd2 "$BIN/riskd" -d -f "$CONF"
RISKD=$LAST_PID
wait_for 30 "riskd back" curl -fsS "$R/healthz"
wait_for 30 "riskd caught up" cursor_done
want=$((rounds / 2 * 10))
assert_eq "$(sql "SELECT count(*) FROM alarms WHERE point <> 'LT-1' AND point LIKE 'LT-%' AND kind = 'HH'")" $want "one HH per crossing, none missing"
assert_eq "$(sql "SELECT count(DISTINCT (point, started_at)) FROM alarms WHERE point <> 'LT-1' AND point LIKE 'LT-%'")" $want "no duplicate alarm"
assert_eq "$(sql "SELECT count(*) FROM alarms WHERE point <> 'LT-1' AND point LIKE 'LT-%' AND cleared_at IS NULL")" 0 "every HH cleared"
assert_eq "$(sql "SELECT count(*) FROM bus_log WHERE stream = 'al.raised'")" $((2 + want)) "one al.raised per alarm"
assert_eq "$(sql "SELECT count(*) FROM bus_log WHERE stream = 'al.cleared'")" $((2 + want)) "one al.cleared per alarm"
# Every published al.raised names a distinct alarm (decoded by safetyctl's
# view of the log is not needed: the ids are in the alarms table).
assert_eq "$(get '/v1/alarms?uscc='"$E"'&limit=1000' | jq .count)" $((2 + want)) "the alarm list"

# Offline by the timer: GAS-1 (expected every 2 s) reports once, then not.
# It is registered only now: offline counts from its registration too.
events "$(ev point.upsert g1 "{\"code\":\"GAS-1\",\"uscc\":\"$E\",\"kind\":\"gas_combustible\",\"unit\":\"%LEL\",\"expected_interval_s\":2,\"enabled\":true}")"
readings GAS-1 "$(date +%s%3N):3"
wait_for 20 "GAS-1 offline" sql_is "SELECT count(*) FROM alarms WHERE point = 'GAS-1' AND kind = 'offline' AND cleared_at IS NULL" 1
readings GAS-1 "$(date +%s%3N):30"
wait_for 10 "GAS-1 back, H by the %LEL default" sql_is "SELECT string_agg(kind || '/' || coalesce(clear_reason, 'open'), ',' ORDER BY kind) FROM alarms WHERE point = 'GAS-1'" H/open,offline/normal
assert_eq "$(sql "SELECT threshold FROM alarms WHERE point = 'GAS-1' AND kind = 'H'")" 25 "combustible gas H default 25 %LEL"

# A maintenance window: LT-12 over HH is recorded as suppressed, not raised.
events "$(ev maintenance.window m1 "{\"uscc\":\"$E\",\"points\":[\"LT-12\"],\"start\":$((t - 60000)),\"end\":$((t + 3600000)),\"reason\":\"overhaul\"}")"
wait_for 10 "riskd read the window" cursor_done
readings LT-12 "$((t + 500)):95"
wait_for 10 "LT-12 suppressed record" sql_is "SELECT count(*) FROM alarms WHERE point = 'LT-12' AND suppressed" 1
assert_eq "$(sql "SELECT count(*) FROM alarms WHERE point = 'LT-12' AND NOT suppressed")" 0 "nothing raised in the window"

# Disabling a point closes what it has open (it may never report again).
readings LT-1 "$((t + 5000)):95"
wait_for 10 "HH on LT-1 again" sql_is "SELECT count(*) FROM alarms WHERE point = 'LT-1' AND cleared_at IS NULL" 1
events "$(ev point.upsert p1-off "{\"code\":\"LT-1\",\"uscc\":\"$E\",\"kind\":\"level\",\"unit\":\"m\",\"l\":10,\"ll\":5,\"h\":80,\"hh\":90,\"range_lo\":0,\"range_hi\":100,\"deadband\":1,\"expected_interval_s\":3600,\"hazard_source\":\"HS-1\",\"enabled\":false}")"
wait_for 10 "LT-1 closed when disabled" sql_is "SELECT string_agg(kind || '/' || coalesce(clear_reason, 'open'), ',') FROM alarms WHERE point = 'LT-1' AND started_at = to_timestamp($((t + 5000)) / 1000.0)" HH/suppressed
assert_eq "$(get /v1/points/LT-1 | jq -r .state)" disabled "a disabled point's state"

# A clean restart raises nothing again: the bus log holds one al.raised per
# alarm and one al.cleared per cleared alarm, and the histories did not
# grow.  (GAS-1 may go offline meanwhile: that is a new alarm, counted in
# both.)
hist() { sql "SELECT (SELECT count(*) FROM enterprise_risk_history) || '/' || (SELECT count(*) FROM source_warning_history)"; }
consistent() {
	[ "$(sql "SELECT count(*) FROM bus_log WHERE stream = 'al.raised'")" = \
	    "$(sql "SELECT count(*) FROM alarms WHERE NOT suppressed")" ] &&
	[ "$(sql "SELECT count(*) FROM bus_log WHERE stream = 'al.cleared'")" = \
	    "$(sql "SELECT count(*) FROM alarms WHERE NOT suppressed AND cleared_at IS NOT NULL")" ]
}
h0=$(hist)
consistent || fail "al.* messages and alarms differ before the restart"
kill -TERM "$RISKD"
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_for 20 "riskd stopped" gone "$RISKD"
sys_spawn riskd3 "$BIN/riskd" -d -f "$CONF"
wait_for 30 "riskd up again" curl -fsS "$R/healthz"
wait_for 10 "riskd caught up again" cursor_done
# Give its tick a few rounds to regrade (polling: nothing may appear).
i=0
while [ $i -lt 10 ]; do
	consistent || fail "al.* messages and alarms differ after the restart"
	assert_eq "$(hist)" "$h0" "no warning or risk change after a restart"
	sleep 0.2
	i=$((i + 1))
done
pass "riskd: alarms, warnings, risk, kill -9 and restart"

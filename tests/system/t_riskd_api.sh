#!/bin/sh
# t_riskd_api.sh - riskd's HTTP API (services/riskd/api.c) on a real riskd
# fed by a real ingestd: a city of two enterprises registered through
# POST /v1/events (points of every state, a major hazard source with an
# active hot-work operation, risk points by LEC and LS, one code at both
# enterprises, a maintenance window), readings that raise and clear alarms,
# then every route read back: GET /v1/points/{code} (parameters resolved,
# gas defaults, a unit that takes none, each state word, open alarms with
# their ids), /v1/alarms (every filter, limit and "more", against the
# alarms table), /v1/sources/{code} (the GB 18218 figures and the early
# warning), /v1/risk-points/{code} (with and without uscc, 409 when
# ambiguous) and /v1/enterprises/{uscc}/risk.  Every 400 names its
# parameter, 404 and 409 say what is missing; the alarm list answers 503
# with Retry-After while the store is down and recovers when it is back;
# Chinese texts come through as UTF-8 (not \u escapes); SIGTERM exits 0
# with no sanitizer report.
. "$(dirname "$0")/lib.sh"
sys_setup

ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }
HTTP_PORT=$(free_port)
RISK_PORT=$(free_port)
PUB_PORT=$(free_port)
PULL_PORT=$(free_port)
RPUB_PORT=$(free_port)
CONF=$T/anquan.conf
cat >"$CONF" <<CONF
[log]
level = info
[store]
backoff_min = 50ms
backoff_max = 300ms
[bus]
ingestd_pub = tcp://127.0.0.1:$PUB_PORT
ingest_pull = tcp://127.0.0.1:$PULL_PORT
riskd_pub = tcp://127.0.0.1:$RPUB_PORT
resync = 200ms
[ingestd]
http_listen = 127.0.0.1:$HTTP_PORT
group_wait = 1ms
[riskd]
http_listen = 127.0.0.1:$RISK_PORT
tick = 200ms
CONF
U=http://127.0.0.1:$HTTP_PORT
R=http://127.0.0.1:$RISK_PORT
NOW_MS=$(( $(date +%s) * 1000 ))
H_MS=3600000

# post PATH BODY: ingestd's status on stdout, its answer in $T/out.
post() {
	curl -s -m 30 -o "$T/out" -w '%{http_code}' \
	    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
	    --data-binary "$2" "$U$1"
}
# get PATH: riskd's status on stdout, the body in $T/body, headers in $T/hdr.
get() { curl -s -m 30 -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$R$1"; }
j() { jq -r "$@" "$T/body"; }
# expect_get PATH STATUS WHAT: GET and check the status.
expect_get() {
	code=$(get "$1")
	[ "$code" = "$2" ] || fail "$3: GET $1 gave $code, want $2: $(cat "$T/body")"
}
# refused PATH STATUS ERROR TEXT WHAT: an error answer whose message holds TEXT.
refused() {
	expect_get "$1" "$2" "$5"
	assert_eq "$(j .error)" "$3" "$5: error code"
	case "$(j .message)" in
	*"$4"*) pass "$5: message names it" ;;
	*) fail "$5: message '$(j .message)' lacks '$4'" ;;
	esac
}
# rfc MS: epoch ms (whole seconds) as riskd and PostgreSQL print it.
rfc() { TZ=Asia/Shanghai date -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%S+08:00; }
ev() { printf '{"kind":"%s","id":"%s","at":%s,"data":%s}' "$1" "$2" "$NOW_MS" "$3"; }
# send ITEM...: post the events as one batch; every one must be accepted.
send() {
	body=$(printf '%s,' "$@")
	code=$(post /v1/events "{\"events\":[${body%,}]}")
	[ "$code" = 202 ] && [ "$(jq -r '.rejected|length' "$T/out")" = 0 ] \
	    || fail "events: status $code: $(cat "$T/out")"
	assert_eq "$(jq -r .accepted "$T/out")" "$#" "$# events accepted"
}

TOKEN=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"

# --- the city --------------------------------------------------------------
U1=$("$SYS/ingest_uscc" 370112 1)
U2=$("$SYS/ingest_uscc" 370102 2)
U9=$("$SYS/ingest_uscc" 370112 9)
N1=济南明德化工有限公司
N2=济南华通燃气有限公司
ent() {	# ent ID USCC NAME DISTRICT SECTOR
	ev enterprise.upsert "$1" "$(printf '{"uscc":"%s","name":"%s","district":"%s","sector":"%s","employees":120,"status":"operating","enforcement_level":"city"}' "$2" "$3" "$4" "$5")"
}
pt() {	# pt CODE KIND UNIT EXTRA
	ev point.upsert "p-$1" "$(printf '{"code":"%s","uscc":"%s","kind":"%s","unit":"%s"%s}' "$1" "$U1" "$2" "$3" "$4")"
}
rp() {	# rp ID USCC CODE NAME METHOD FACTORS
	ev risk_point.upsert "$1" "$(printf '{"code":"%s","uscc":"%s","name":"%s","method":"%s",%s,"measures":"双人作业，静电接地"}' "$3" "$2" "$4" "$5" "$6")"
}
send "$(ent e-1 "$U1" "$N1" 370112 hazchem)" "$(ent e-2 "$U2" "$N2" 370102 gas)"
send "$(ev hazard_source.upsert h-1 "$(printf '{"code":"HS-1","uscc":"%s","name":"液氯储罐区","unit_type":"storage","people_500m":120,"chemicals":[{"name":"液氯","cas":"7782-50-5","q":20,"Q":5,"beta":4},{"name":"液氨","q":3.5,"Q":10,"beta":2}],"assessed_on":"2025-06-01","responsible":{"main":"张三","technical":"李四","operational":"王五"}}' "$U1")")"
send "$(pt TK-1 level m ',"ll":5,"l":10,"h":80,"hh":90,"range_lo":0,"range_hi":100,"hazard_source":"HS-1","enabled":true')" \
    "$(pt GAS-1 gas_combustible %LEL ',"range_lo":0,"range_hi":100,"enabled":true')" \
    "$(pt GAS-2 gas_combustible ppm ',"enabled":true')" \
    "$(pt OFF-1 temperature degC ',"h":60,"enabled":false')" \
    "$(pt MT-1 pressure MPa ',"h":1.6,"range_lo":0,"range_hi":4,"enabled":true')" \
    "$(pt FLT-1 flow m3/h ',"h":100,"range_lo":0,"range_hi":200,"enabled":true')" \
    "$(pt OL-1 temperature degC ',"h":60,"expected_interval_s":1,"enabled":true')" \
    "$(pt LT/罐-1 level m ',"h":8,"enabled":true')"
send "$(rp r-1 "$U1" RP-1 装卸作业区 LEC '"L":3,"E":6,"C":15')" \
    "$(rp r-2 "$U2" RP-1 调压站 LEC '"L":2,"E":1,"C":1')" \
    "$(rp r-3 "$U1" RP-2 液氯充装 LS '"L":4,"S":5')"
send "$(ev operation.filed o-1 "$(printf '{"op_id":"OP-1","uscc":"%s","type":"hot_work","level":"first","location":"2号罐区","hazard_source":"HS-1","planned_start":%s,"planned_end":%s,"contractor":"某安装公司","responsible":{"name":"张三","phone":"13800000000"}}' "$U1" "$NOW_MS" $((NOW_MS + 8 * H_MS)))")" \
    "$(ev operation.started s-1 '{"op_id":"OP-1"}')" \
    "$(ev maintenance.window m-1 "$(printf '{"uscc":"%s","points":["MT-1"],"start":%s,"end":%s,"reason":"overhaul"}' "$U1" $((NOW_MS - H_MS)) $((NOW_MS + 24 * H_MS)))")"

sys_spawn riskd "$BIN/riskd" -d -f "$CONF"
RISKD=$LAST_PID
wait_for 60 "riskd /healthz" curl -fsS "$R/healthz"
pass "riskd up"

# --- readings: TK-1 goes H, back, then HH; MT-1 in its window; FLT-1 bad -----
B=$((NOW_MS - 600000))
code=$(post /v1/readings "{\"readings\":[
 {\"point\":\"TK-1\",\"ts\":$B,\"value\":85},
 {\"point\":\"TK-1\",\"ts\":$((B + 1000)),\"value\":50},
 {\"point\":\"TK-1\",\"ts\":$((B + 2000)),\"value\":95},
 {\"point\":\"GAS-1\",\"ts\":$B,\"value\":10},
 {\"point\":\"MT-1\",\"ts\":$B,\"value\":2},
 {\"point\":\"FLT-1\",\"ts\":$B,\"value\":50,\"quality\":\"bad\"}]}")
assert_eq "$code/$(jq -r .accepted "$T/out")" 202/6 "readings accepted"
tk1_hh() { get /v1/points/TK-1 >/dev/null && [ "$(j '.open_alarms[0].kind')" = HH ]; }
wait_for 30 "TK-1's HH alarm" tk1_hh
flt1_fault() { get /v1/points/FLT-1 >/dev/null && [ "$(j .state)" = fault ]; }
wait_for 30 "FLT-1's fault" flt1_fault
ol1_offline() { get /v1/points/OL-1 >/dev/null && [ "$(j .state)" = offline ]; }
wait_for 30 "OL-1 offline" ol1_offline
mt1_recorded() { [ "$(sql "SELECT count(*) FROM alarms WHERE point = 'MT-1'")" = 1 ]; }
wait_for 30 "MT-1's suppressed record" mt1_recorded

# --- GET /v1/points/{code} ----------------------------------------------------
expect_get /v1/points/TK-1 200 "TK-1"
grep -qi '^content-type: application/json; charset=utf-8' "$T/hdr" || fail "TK-1: content type: $(cat "$T/hdr")"
assert_eq "$(j '[.code, .uscc, .enterprise, .district, .kind, .unit, .hazard_source, .enabled] | join("/")')" \
    "TK-1/$U1/$N1/370112/level/m/HS-1/true" "TK-1: identity, enterprise name in UTF-8"
assert_eq "$(j '[.thresholds.ll, .thresholds.l, .thresholds.h, .thresholds.hh, .range.lo, .range.hi] | join(",")')" \
    "5,10,80,90,0,100" "TK-1: thresholds and range"
assert_eq "$(j '[.deadband, .delay_s, .offline_after_s, .defaulted, .no_thresholds] | join(",")')" \
    "2,0,180,false,false" "TK-1: deadband 2 % of the range, delay, 3 x 60 s offline"
assert_eq "$(j '[.state, .last.ts, .last.value, .last.quality] | join(",")')" \
    "alarm,$(rfc $((B + 2000))),95,good" "TK-1: state alarm, last reading"
assert_eq "$(j '.open_alarms | length')" 1 "TK-1: one open alarm"
assert_eq "$(j '.open_alarms[0] | [.id, .kind, .started_at, .value, .threshold, .peak] | join(",")')" \
    "TK-1:$((B + 2000)):HH,HH,$(rfc $((B + 2000))),95,90,95" "TK-1: the HH alarm, id point:start:kind"
assert_eq "$(sql "SELECT count(*) FROM alarms WHERE id = 'TK-1:$((B + 2000)):HH' AND cleared_at IS NULL")" 1 \
    "TK-1: the same id in the alarms table"

expect_get /v1/points/GAS-1 200 "GAS-1"
assert_eq "$(j '[.defaulted, .no_thresholds, .thresholds.ll, .thresholds.l, .thresholds.h, .thresholds.hh, .state] | map(tostring) | join(",")')" \
    "true,false,null,null,25,50,normal" "GAS-1: combustible gas defaults in %LEL"
expect_get /v1/points/GAS-2 200 "GAS-2"
assert_eq "$(j '[.defaulted, .no_thresholds, .thresholds.h, .thresholds.hh, .range.lo, .last] | map(tostring) | join(",")')" \
    "false,true,null,null,null,null" "GAS-2: ppm takes no %LEL default; never read"
expect_get /v1/points/OFF-1 200 "OFF-1"
assert_eq "$(j '[.state, .enabled] | map(tostring) | join(",")')" "disabled,false" "OFF-1: disabled"
expect_get /v1/points/MT-1 200 "MT-1"
assert_eq "$(j '[.state, (.open_alarms | length)] | map(tostring) | join(",")')" "suppressed,0" "MT-1: in its maintenance window"
expect_get /v1/points/FLT-1 200 "FLT-1"
assert_eq "$(j '[.last.quality, .open_alarms[0].kind, .open_alarms[0].id, (.open_alarms[0].threshold | tostring)] | join(",")')" \
    "bad,fault,FLT-1:$B:fault,null" "FLT-1: bad quality is a fault, no threshold"
expect_get /v1/points/OL-1 200 "OL-1"
assert_eq "$(j '[.offline_after_s, .open_alarms[0].kind, (.open_alarms[0].value | tostring), (.last | tostring)] | join(",")')" \
    "3,offline,null,null" "OL-1: offline after 3 x 1 s, never read"

# A code with a '/' and Chinese: percent-encoded in the path.
expect_get /v1/points/LT%2F%E7%BD%90-1 200 "LT/罐-1"
assert_eq "$(j '[.code, .kind, .thresholds.h, .state] | map(tostring) | join(",")')" "LT/罐-1,level,8,normal" \
    "a code with '/' and Chinese, %-encoded"
refused /v1/points/NOPE-1 404 not_found "'NOPE-1'" "unknown point"
refused /v1/points/%E7%BD%90-9 404 not_found "'罐-9'" "unknown point, UTF-8 code in the message"
refused "/v1/points/TK-1?verbose=1" 400 bad_parameter "'verbose'" "points: unknown parameter"

# --- GET /v1/alarms -----------------------------------------------------------
expect_get /v1/alarms 200 "alarm list"
assert_eq "$(j .count)" "$(sql "SELECT count(*) FROM alarms")" "all alarms: count as in the table"
assert_eq "$(j '[.alarms[] | .started_at] == ([.alarms[] | .started_at] | sort | reverse)')" true "newest first"
assert_eq "$(j .more)" false "all shown"
ALL=$(sql "SELECT string_agg(id, ',' ORDER BY id) FROM alarms")
assert_eq "$(j '[.alarms[].id] | sort | join(",")')" "$ALL" "every alarm of the table listed"

expect_get "/v1/alarms?open=1" 200 "open alarms"
assert_eq "$(j '[.alarms[].id] | sort | join(",")')" \
    "$(sql "SELECT string_agg(id, ',' ORDER BY id) FROM alarms WHERE cleared_at IS NULL AND NOT suppressed")" "open=1: as the table says"
for id in "TK-1:$((B + 2000)):HH" "FLT-1:$B:fault"; do
	assert_eq "$(j --arg id "$id" '[.alarms[] | select(.id == $id)] | length')" 1 "open=1 holds $id"
done
assert_eq "$(j '[.alarms[] | select(.point == "OL-1" and .kind == "offline")] | length')" 1 "open=1 holds OL-1 offline"
assert_eq "$(j '[.alarms[] | select(.point == "MT-1" or .cleared_at != null or .suppressed)] | length')" 0 "open=1: nothing cleared or suppressed"

expect_get "/v1/alarms?suppressed=1" 200 "suppressed records"
assert_eq "$(j '.alarms | map([.point, .kind, .suppressed, .clear_reason] | map(tostring) | join("/")) | join(",")')" \
    "MT-1/H/true/suppressed" "suppressed=1: MT-1's H, recorded not raised"
expect_get "/v1/alarms?suppressed=0" 200 "not suppressed"
assert_eq "$(j '[.alarms[] | select(.suppressed)] | length')/$(j .count)" \
    "0/$(sql "SELECT count(*) FROM alarms WHERE NOT suppressed")" "suppressed=0: the others"

expect_get "/v1/alarms?point=TK-1" 200 "TK-1's alarms"
assert_eq "$(j '.alarms[0] | [.id, .uscc, .enterprise, .district, .hazard_source, .unit, (.cleared_at | tostring)] | join(",")')" \
    "TK-1:$((B + 2000)):HH,$U1,$N1,370112,HS-1,m,null" "point=TK-1: the open HH first, with its enterprise"
assert_eq "$(j --arg id "TK-1:$B:H" '.alarms[] | select(.id == $id) | [.started_at, .value, .threshold, .peak, .cleared_at, .clear_reason, .duration_s, .suppressed, (.acknowledged_at | tostring)] | map(tostring) | join(",")')" \
    "$(rfc "$B"),85,80,85,$(rfc $((B + 1000))),normal,1,false,null" "point=TK-1: the H raised at 85 and cleared at 50 a second later"
expect_get "/v1/alarms?open=0&point=TK-1" 200 "TK-1's closed alarms"
assert_eq "$(j '[.alarms[] | select(.cleared_at == null)] | length')/$(j .count)" \
    "0/$(sql "SELECT count(*) FROM alarms WHERE point = 'TK-1' AND cleared_at IS NOT NULL")" "open=0: cleared ones only"
expect_get "/v1/alarms?kind=HH&uscc=$U1&district=370112&point=TK-1&open=1&suppressed=0&limit=5" 200 "every filter at once"
assert_eq "$(j '[.alarms[].id] | join(",")')/$(j .count)" "TK-1:$((B + 2000)):HH/1" "every filter: the one HH"
expect_get "/v1/alarms?kind=fault" 200 "kind=fault"
assert_eq "$(j '[.alarms[].point] | join(",")')" FLT-1 "kind=fault: FLT-1"
expect_get "/v1/alarms?district=370102" 200 "another district"
assert_eq "$(j .count)/$(j '.alarms | length')/$(j .more)" 0/0/false "district=370102: none"
expect_get "/v1/alarms?uscc=$U2" 200 "another enterprise"
assert_eq "$(j .count)" 0 "uscc=U2: none"
expect_get "/v1/alarms?limit=1" 200 "limit=1"
assert_eq "$(j .count)/$(j '.alarms | length')/$(j .more)" 1/1/true "limit=1: one, and more"
assert_eq "$(j '.alarms[0].id')" "$(sql "SELECT id FROM alarms ORDER BY started_at DESC, id DESC LIMIT 1")" "limit=1: the newest"
expect_get "/v1/alarms?limit=1000" 200 "limit=1000"

refused "/v1/alarms?open=2" 400 bad_parameter "'open'" "open=2"
refused "/v1/alarms?suppressed=yes" 400 bad_parameter "'suppressed'" "suppressed=yes"
refused "/v1/alarms?open=1&suppressed=1" 400 bad_parameter "exclude each other" "open=1 with suppressed=1"
refused "/v1/alarms?uscc=91370112000000000X" 400 bad_parameter "'uscc'" "uscc with a bad check character"
refused "/v1/alarms?uscc=9137" 400 bad_parameter "'uscc'" "uscc too short"
refused "/v1/alarms?district=3701" 400 bad_parameter "'district'" "district of 4 digits"
refused "/v1/alarms?district=37011a" 400 bad_parameter "'district'" "district with a letter"
refused "/v1/alarms?point=TK%201" 400 bad_parameter "'point'" "point with a space"
refused "/v1/alarms?point=" 400 bad_parameter "'point'" "empty point"
refused "/v1/alarms?kind=HHH" 400 bad_parameter "'kind'" "kind=HHH"
refused "/v1/alarms?kind=none" 400 bad_parameter "'kind'" "kind=none"
refused "/v1/alarms?limit=0" 400 bad_parameter "'limit'" "limit=0"
refused "/v1/alarms?limit=1001" 400 bad_parameter "'limit'" "limit=1001"
refused "/v1/alarms?limit=-1" 400 bad_parameter "'limit'" "limit=-1"
refused "/v1/alarms?limit=10x" 400 bad_parameter "'limit'" "limit=10x"
refused "/v1/alarms?limit=99999999999" 400 bad_parameter "'limit'" "limit too long"
refused "/v1/alarms?status=open" 400 bad_parameter "'status'" "unknown parameter"
refused "/v1/alarms?limit=1&limit=2" 400 bad_parameter "'limit' is given more than once" "repeated parameter"

# --- GET /v1/sources/{code} ---------------------------------------------------
src_red() { get /v1/sources/HS-1 >/dev/null && [ "$(j .warning.level)" = red ]; }
wait_for 30 "HS-1's red warning" src_red
expect_get /v1/sources/HS-1 200 "HS-1"
assert_eq "$(j '[.code, .name, .uscc, .enterprise, .district, .people_500m, .alpha] | map(tostring) | join("/")')" \
    "HS-1/液氯储罐区/$U1/$N1/370112/120/2" "HS-1: identity, alpha 2.0 for 120 people"
assert_eq "$(j '.chemicals | map([.name, .q, .Q, .beta, .q_over_Q] | map(tostring) | join(":")) | join(",")')" \
    "液氯:20:5:4:4,液氨:3.5:10:2:0.35" "HS-1: chemicals with q/Q"
assert_eq "$(j '[.s, .r, .major, .grade, .grade_name, .assessed_on, .reassess_due, .error] | map(tostring) | join("/")')" \
    "4.35/33.4/true/3/三级/2025-06-01/2028-06-01/null" "HS-1: S 4.35, R = 2 x 16.7, 三级, re-assessment in 3 years"
assert_eq "$(j '[.warning.level, .warning.level_name] | join("/")')" "red/红色预警" "HS-1: 红色预警"
assert_eq "$(j '[.warning.reasons[] | select(.rule == "hhll_during_operation" and .level == "red")] | length')" 1 \
    "HS-1: red for the HH during the hot work"
case "$(j '.warning.reasons[] | select(.rule == "hhll_during_operation") | .text')" in
*TK-1*) pass "HS-1: the reason names the point" ;;
*) fail "HS-1: reason text: $(j .warning.reasons)" ;;
esac
[ "$(j .warning.since)" != null ] || fail "HS-1: warning without since"
assert_eq "$(j '[.points, .points_offline] | join("/")')" "1/0" "HS-1: one point, none offline"
assert_eq "$(j '.active_operations | map([.op_id, .type, .level] | join(":")) | join(",")')" "OP-1:hot_work:first" "HS-1: the hot work"
grep -q '红色预警' "$T/body" && grep -q '液氯储罐区' "$T/body" || fail "HS-1: Chinese not sent as UTF-8 bytes"
pass "HS-1: Chinese as UTF-8 bytes"

refused /v1/sources/HS-9 404 not_found "'HS-9'" "unknown source"
refused "/v1/sources/HS-1?level=red" 400 bad_parameter "'level'" "sources: unknown parameter"

# --- GET /v1/risk-points/{code} -----------------------------------------------
refused /v1/risk-points/RP-1 409 ambiguous "$U1" "RP-1 at two enterprises"
case "$(j .message)" in *"$U2"*) pass "409 names both enterprises" ;; *) fail "409 message: $(j .message)" ;; esac
assert_eq "$(j '.enterprises | map(.uscc + ":" + .name) | join(",")')" \
    "$(printf '%s\n%s\n' "$U1:$N1" "$U2:$N2" | sort | paste -sd,)" "409 lists them, by USCC"

expect_get "/v1/risk-points/RP-1?uscc=$U1" 200 "RP-1 of U1"
assert_eq "$(j '[.code, .name, .uscc, .enterprise, .method, .inputs.L, .inputs.E, .inputs.C, .value, .value_name, .level, .level_name, .note, .error] | map(tostring) | join("/")')" \
    "RP-1/装卸作业区/$U1/$N1/LEC/3/6/15/270/D/orange/较大风险/null/null" "RP-1 of U1: D = 270, 较大风险"
expect_get "/v1/risk-points/RP-1?uscc=$U2" 200 "RP-1 of U2"
assert_eq "$(j '[.enterprise, .value, .level, .level_name, (.note != null)] | map(tostring) | join("/")')" \
    "$N2/2/blue/低风险/true" "RP-1 of U2: D = 2, 低风险, L off the scale noted"
expect_get /v1/risk-points/RP-2 200 "RP-2, one enterprise"
assert_eq "$(j '[.uscc, .method, .inputs.L, .inputs.S, (.inputs | has("E")), .value, .value_name, .level, .level_name] | map(tostring) | join("/")')" \
    "$U1/LS/4/5/false/20/R/red/重大风险" "RP-2: LS R = 20, 重大风险"
refused /v1/risk-points/RP-9 404 not_found "'RP-9'" "unknown risk point"
refused "/v1/risk-points/RP-2?uscc=$U2" 404 not_found "$U2" "risk point not at that enterprise"
refused "/v1/risk-points/RP-1?uscc=91370112000000000X" 400 bad_parameter "'uscc'" "risk point: bad uscc"
refused "/v1/risk-points/RP-1?method=LEC" 400 bad_parameter "'method'" "risk point: unknown parameter"

# --- GET /v1/enterprises/{uscc}/risk ------------------------------------------
ent_red() { get "/v1/enterprises/$U1/risk" >/dev/null && [ "$(j .facts.worst_warning)" = red ]; }
wait_for 30 "U1 graded with HS-1's red warning" ent_red
expect_get "/v1/enterprises/$U1/risk" 200 "U1 risk"
assert_eq "$(j '[.uscc, .name, .district, .sector, .level, .level_name, .inherent_level] | join("/")')" \
    "$U1/$N1/370112/hazchem/red/重大风险/red" "U1: red, inherent red from RP-2"
[ "$(j .score)" -ge 75 ] && [ "$(j .score)" -le 100 ] || fail "U1: score $(j .score) not in red's 75..100"
[ "$(j .since)" != null ] || fail "U1: no since"
assert_eq "$(j '.facts | [.worst_source_grade, .worst_risk_point, .open_major_hazards, .overdue_hazards, .overdue_major_hazards, .worst_warning, .death_accidents_12m, .larger_accidents_3y, .director_in_scope, .director_appointed, .resplist_uploaded] | map(tostring) | join(",")')" \
    "3,red,0,0,0,red,0,0,true,false,false" "U1: the facts"
[ "$(j '.reasons | length')" -ge 1 ] || fail "U1: no reasons"
assert_eq "$(j '[.reasons[] | select((.code | length) > 0 and (.text | test("[\\p{Han}]")))] | length')" "$(j '.reasons | length')" \
    "U1: every reason has a code and a Chinese text"
grep -q '重大风险' "$T/body" || fail "U1: 重大风险 not as UTF-8 bytes"

ent2() { get "/v1/enterprises/$U2/risk" >/dev/null && [ "$(j .level)" != null ]; }
wait_for 30 "U2 graded" ent2
assert_eq "$(j '[.name, .sector, .facts.worst_source_grade, .facts.worst_risk_point, .facts.director_in_scope] | map(tostring) | join("/")')" \
    "$N2/gas/null/blue/false" "U2: no source, a blue risk point, no director needed"

refused "/v1/enterprises/$U9/risk" 404 not_found "$U9" "unregistered enterprise"
refused /v1/enterprises/91370112000000000X/risk 400 bad_parameter "check character" "malformed USCC"
refused /v1/enterprises/abc/risk 400 bad_parameter "'abc'" "USCC of 3 characters"
refused "/v1/enterprises/$U1/risk?x=1" 400 bad_parameter "'x'" "enterprise risk: unknown parameter"

# --- the store away: the list answers 503 and comes back -----------------------
"$ROOT/deploy/pgctl.sh" stop "$T/db" >/dev/null
alarms_503() { [ "$(get /v1/alarms)" = 503 ]; }
wait_for 30 "503 from the alarm list" alarms_503
assert_eq "$(j .error)" store_unavailable "store down: error code"
grep -qi '^retry-after: [0-9]' "$T/hdr" || fail "store down: no Retry-After: $(cat "$T/hdr")"
pass "store down: Retry-After"
# The model routes answer from memory; should a transaction have failed
# as the store went (the model is then reloaded), they say "not ready".
code=$(get /v1/points/TK-1)
case "$code/$(j .state)/$(j .error)" in
200/alarm/null) pass "store down: the point answered from memory" ;;
503/null/not_ready)
	grep -qi '^retry-after: [0-9]' "$T/hdr" || fail "not_ready without Retry-After"
	pass "store down: the model is reloading, 503 not_ready" ;;
*) fail "store down: GET /v1/points/TK-1 gave $code: $(cat "$T/body")" ;;
esac
"$ROOT/deploy/pgctl.sh" start "$T/db" >/dev/null
alarms_200() { [ "$(get /v1/alarms?open=1)" = 200 ]; }
wait_for 30 "the alarm list back" alarms_200
pass "store back: the list answers"
model_200() { [ "$(get /v1/points/TK-1)" = 200 ] && [ "$(j .state)" = alarm ]; }
wait_for 30 "the model routes back" model_200
pass "store back: the model answers"

# --- SIGTERM: clean exit, nothing from the sanitizers ---------------------------
kill -TERM "$RISKD"
i=0
while kill -0 "$RISKD" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "riskd did not exit within 20 s of SIGTERM"
	sleep 0.1
done
rc=0; wait "$RISKD" || rc=$?
assert_eq "$rc" 0 "riskd exit status after SIGTERM"
grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error' "$T/riskd.log" && fail "sanitizer report in riskd.log"
grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
pass "t_riskd_api done"

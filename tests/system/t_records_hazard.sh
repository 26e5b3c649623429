#!/bin/sh
# t_records_hazard.sh - the records with a life, through POST /v1/events:
# every legal and illegal transition of a hidden hazard (reported ->
# rectifying -> rectified -> closed, a failed verification back to
# rectifying) and of a dangerous operation (filed -> active -> finished,
# started without filing recorded as such), the hot-work validity rule,
# maintenance windows, the derived views (hazards_overdue,
# operations_overrun), the history (transitions, *_as_of) and the reasons
# given in the 202 answers.  A refused transition leaves neither its event
# nor any change behind; a resent event is a duplicate.
. "$(dirname "$0")/lib.sh"
sys_setup

ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }
HTTP_PORT=$(free_port)
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
[ingestd]
http_listen = 127.0.0.1:$HTTP_PORT
CONF
U=http://127.0.0.1:$HTTP_PORT
NOW_MS=$(( $(date +%s) * 1000 ))
H_MS=3600000
DAY_MS=$((24 * H_MS))

# post TOKEN BODY: the status on stdout, the body in $T/out.
post() {
	curl -s -m 30 -o "$T/out" -w '%{http_code}' \
	    -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
	    --data-binary "$2" "$U/v1/events"
}
field() { jq -r "$1" "$T/out"; }
# ev KIND ID DATA [AT_MS]: one event item.
ev() { printf '{"kind":"%s","id":"%s","at":%s,"data":%s}' "$1" "$2" "${4:-$NOW_MS}" "$3"; }
# send TOKEN ITEM...: post the items as one request; fail unless 202.
send() {
	tok=$1; shift
	body=$(printf '%s,' "$@")
	code=$(post "$tok" "{\"events\":[${body%,}]}")
	[ "$code" = 202 ] || fail "status $code, want 202: $(cat "$T/out")"
}
# accepted WHAT ITEM...: one request whose every item is accepted.
accepted() {
	what=$1; shift
	send "$CITY" "$@"
	[ "$(field '.rejected|length')" = 0 ] || fail "$what: refused: $(cat "$T/out")"
	assert_eq "$(field .accepted)" "$#" "$what"
}
# refused WHAT TEXT ITEM: a single item refused with a reason holding TEXT,
# and its event not stored.
refused() {
	what=$1 text=$2 item=$3
	send "${TOKEN:-$CITY}" "$item"
	assert_eq "$(field .accepted)/$(field '.rejected|length')" 0/1 "$what: refused"
	reason=$(field '.rejected[0].error')
	case $reason in
	*"$text"*) pass "$what: reason '$reason'" ;;
	*) fail "$what: reason '$reason' lacks '$text'" ;;
	esac
	id=$(echo "$item" | jq -r .id)
	assert_eq "$(sql "SELECT count(*) FROM events WHERE id = '$id'")" 0 "$what: event not stored"
}
hz() { sql "SELECT $2 FROM hazards WHERE hazard_id = '$1'"; }
op() { sql "SELECT $2 FROM operations WHERE op_id = '$1'"; }

CITY=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for city"
GAS=$(ctl token create --source gasco --sectors gas --districts '*' | grep '^aq_') \
    || fail "token for gasco"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"

# The city: a chemical plant with two points, a gas company with one.
U1=$("$SYS/ingest_uscc" 370112 11)
U2=$("$SYS/ingest_uscc" 370102 12)
ent() { printf '{"uscc":"%s","name":"企业 %s","district":"%s","sector":"%s","employees":80,"status":"operating","enforcement_level":"district"}' "$1" "$1" "$2" "$3"; }
pt() { printf '{"code":"%s","uscc":"%s","kind":"level","unit":"m","h":8,"hh":9,"enabled":true}' "$1" "$2"; }
accepted "registry" "$(ev enterprise.upsert e-1 "$(ent "$U1" 370112 hazchem)")" \
    "$(ev enterprise.upsert e-2 "$(ent "$U2" 370102 gas)")" \
    "$(ev point.upsert p-1 "$(pt P-1 "$U1")")" "$(ev point.upsert p-2 "$(pt P-2 "$U1")")" \
    "$(ev point.upsert p-3 "$(pt G-1 "$U2")")"

# --- hidden hazards -----------------------------------------------------------

# hazard ID USCC LEVEL FOUND_MS [EXTRA]: the data of a hazard.reported.
hazard() {
	printf '{"hazard_id":"%s","uscc":"%s","level":"%s","source":"inspection","description":"储罐区防火堤破损","found_at":%s,"responsible_unit":"储运车间","responsible_person":"王工","measures":"修补防火堤"%s}' \
	    "$1" "$2" "$3" "$4" "${5:-}"
}
rectify() { printf '{"hazard_id":"%s","note":"%s","evidence":["%s.jpg"]}' "$1" "$2" "$2"; }
verify() { printf '{"hazard_id":"%s","accepted":%s,"verifier":"李检查","note":"%s"}' "$1" "$2" "$3"; }

refused "verify a hazard never reported" "hazard H-9 was never reported" \
    "$(ev hazard.verified v-0 "$(verify H-9 true x)")"
refused "rectify a hazard never reported" "hazard H-9 was never reported" \
    "$(ev hazard.rectified r-0 "$(rectify H-9 x)")"
assert_eq "$(sql "SELECT count(*) FROM hazards")/$(sql "SELECT count(*) FROM hazard_transitions")" 0/0 "nothing stored of them"

# Reported: under rectification at once, the general default deadline.
FOUND=$((NOW_MS - 2 * H_MS))
R1=$(ev hazard.reported h-1 "$(hazard H-1 "$U1" general "$FOUND")")
accepted "report H-1" "$R1"
assert_eq "$(hz H-1 "status || '/' || deadline_given || '/' || (deadline - found_at)")" "rectifying/false/7 days" "H-1 rectifying, deadline found_at + 7 days"
assert_eq "$(hz H-1 "(extract(epoch FROM reported_at) * 1000)::bigint")" "$NOW_MS" "reported_at is the event's time"
assert_eq "$(hz H-1 "reported_source || '/' || reported_event_id || '/' || (received_at IS NOT NULL)")" "city/h-1/true" "who reported it"
send "$CITY" "$R1"
assert_eq "$(field .accepted)/$(field .duplicates)/$(field '.rejected|length')" 0/1/0 "the same report again is a duplicate"
refused "re-report H-1 under a new event" "hazard H-1 was already reported (event h-1 of city" \
    "$(ev hazard.reported h-1b "$(hazard H-1 "$U1" general "$FOUND")")"
refused "verify H-1 before rectification" "hazard H-1 is not rectified yet" \
    "$(ev hazard.verified v-1 "$(verify H-1 true early)")"

accepted "rectify H-1" "$(ev hazard.rectified r-1 "$(rectify H-1 first)" $((NOW_MS + 1000)))"
assert_eq "$(hz H-1 status)" rectified "H-1 rectified"
AS_OF_RECTIFIED=$(sql "SELECT clock_timestamp()")
refused "rectify H-1 twice" "hazard H-1 is already rectified" \
    "$(ev hazard.rectified r-1b "$(rectify H-1 again)")"

accepted "failed verification" "$(ev hazard.verified v-2 "$(verify H-1 false 未完成)" $((NOW_MS + 2000)))"
assert_eq "$(hz H-1 "status || '/' || failed_verifications")" "rectifying/1" "failed verification: back to rectifying, counted"
accepted "rectify H-1 again" "$(ev hazard.rectified r-2 "$(rectify H-1 second)" $((NOW_MS + 3000)))"
accepted "verify H-1" "$(ev hazard.verified v-3 "$(verify H-1 true 合格)" $((NOW_MS + 4000)))"
assert_eq "$(hz H-1 "status || '/' || failed_verifications || '/' || (extract(epoch FROM closed_at) * 1000)::bigint")" \
    "closed/1/$((NOW_MS + 4000))" "H-1 closed at the verification's time"
assert_eq "$(hz H-1 "source || '/' || event_id")" "city/v-3" "the row names its last change"
refused "verify a closed hazard" "hazard H-1 was already closed" \
    "$(ev hazard.verified v-4 "$(verify H-1 true again)")"
refused "rectify a closed hazard" "it takes no more rectification" \
    "$(ev hazard.rectified r-3 "$(rectify H-1 late)")"

# The history: every transition, who sent it, notes and evidence.
assert_eq "$(sql "SELECT string_agg(kind || ':' || coalesce(from_status, '-') || '>' || to_status, ' ' ORDER BY id) FROM hazard_transitions WHERE hazard_id = 'H-1'")" \
    "hazard.reported:->rectifying hazard.rectified:rectifying>rectified hazard.verified:rectified>rectifying hazard.rectified:rectifying>rectified hazard.verified:rectified>closed" \
    "H-1 transitions"
assert_eq "$(sql "SELECT string_agg(event_id || '=' || coalesce(array_to_string(evidence, ','), '') || '=' || coalesce(verifier, '') || '=' || coalesce(accepted::text, ''), ' ' ORDER BY id) FROM hazard_transitions WHERE hazard_id = 'H-1' AND kind <> 'hazard.reported'")" \
    "r-1=first.jpg== v-2==李检查=false r-2=second.jpg== v-3==李检查=true" "transition details"
assert_eq "$(sql "SELECT count(*) FROM hazard_transitions WHERE received_at IS NULL OR source <> 'city'")" 0 "every transition names source and receive time"
assert_eq "$(sql "SELECT status || '/' || failed_verifications FROM hazards_as_of('$AS_OF_RECTIFIED') WHERE hazard_id = 'H-1'")" \
    "rectified/0" "what we knew after the first rectification"
assert_eq "$(sql "SELECT status || '/' || failed_verifications FROM hazards_as_of(now()) WHERE hazard_id = 'H-1'")" \
    "closed/1" "what we know now"

# Major hazards need their deadline; overdue is derived from it.
refused "major without deadline" "'deadline' is required for a major hazard" \
    "$(ev hazard.reported h-2x "$(hazard H-2 "$U1" major "$FOUND")")"
accepted "report major H-2, due yesterday" \
    "$(ev hazard.reported h-2 "$(hazard H-2 "$U1" major $((NOW_MS - 10 * DAY_MS)) ",\"deadline\":$((NOW_MS - DAY_MS)),\"criteria_item\":\"GB 50160\",\"risk_point\":\"RP-1\"")")"
accepted "report general H-3 found 8 days ago" \
    "$(ev hazard.reported h-3 "$(hazard H-3 "$U1" general $((NOW_MS - 8 * DAY_MS)))")"
assert_eq "$(sql "SELECT string_agg(hazard_id || ':' || level || ':' || district, ',' ORDER BY hazard_id) FROM hazards_overdue")" \
    "H-2:major:370112,H-3:general:370112" "overdue: past the deadline and rectifying"
accepted "rectify H-3" "$(ev hazard.rectified r-h3 "$(rectify H-3 fixed)")"
assert_eq "$(sql "SELECT string_agg(hazard_id, ',') FROM hazards_overdue")" "H-2" "a rectified hazard is not overdue"

# Scope: the gas system may not touch the chemical plant's hazards.
TOKEN=$GAS
refused "rectify out of scope" "outside the scope of source gasco" \
    "$(ev hazard.rectified r-gas "$(rectify H-2 gas)")"
TOKEN=
assert_eq "$(hz H-2 status)" rectifying "H-2 unchanged"

# A report and its rectification in one request; a refusal among good
# items costs only itself.
accepted "report and rectify H-4 in one request" \
    "$(ev hazard.reported h-4 "$(hazard H-4 "$U2" general "$FOUND")")" \
    "$(ev hazard.rectified r-4 "$(rectify H-4 same)")"
send "$CITY" "$(ev hazard.rectified r-5 "$(rectify H-5 never)")" \
    "$(ev hazard.reported h-6 "$(hazard H-6 "$U2" general "$FOUND")")"
assert_eq "$(field .accepted)/$(field '[.rejected[].index]|map(tostring)|join(",")')" "1/0" "mixed batch: the refusal alone"
assert_eq "$(hz H-6 status)/$(sql "SELECT count(*) FROM events WHERE id = 'r-5'")" "rectifying/0" "mixed batch: the good item applied"

# --- dangerous operations -----------------------------------------------------

# operation ID TYPE LEVEL START_MS END_MS [EXTRA]
operation() {
	lvl=""; [ -n "$3" ] && lvl=",\"level\":\"$3\""
	printf '{"op_id":"%s","uscc":"%s","type":"%s"%s,"location":"2号罐区","planned_start":%s,"planned_end":%s,"contractor":"某安装公司","responsible":{"name":"张三","phone":"13800000000"}%s}' \
	    "$1" "$U1" "$2" "$lvl" "$4" "$5" "${6:-}"
}
opid() { printf '{"op_id":"%s"}' "$1"; }

refused "finish an operation never filed" "operation OP-9 was never filed nor started" \
    "$(ev operation.finished f-0 "$(opid OP-9)")"
accepted "file OP-1" "$(ev operation.filed o-1 "$(operation OP-1 hot_work second "$NOW_MS" $((NOW_MS + 8 * H_MS)) ',"points":["P-1"],"hazard_source":"HS-1"')")"
assert_eq "$(op OP-1 "status || '/' || unfiled || '/' || array_to_string(points, ',') || '/' || hazard_source")" "filed/false/P-1/HS-1" "OP-1 filed"
refused "file OP-1 twice" "operation OP-1 was already filed" \
    "$(ev operation.filed o-1b "$(operation OP-1 hot_work second "$NOW_MS" $((NOW_MS + H_MS)))")"
refused "finish OP-1 never started" "operation OP-1 was filed but never started" \
    "$(ev operation.finished f-1x "$(opid OP-1)")"
accepted "start OP-1" "$(ev operation.started s-1 "$(opid OP-1)" $((NOW_MS + 60000)))"
assert_eq "$(op OP-1 "status || '/' || (extract(epoch FROM started_at) * 1000)::bigint")" "active/$((NOW_MS + 60000))" "OP-1 active since the event's time"
refused "start OP-1 twice" "operation OP-1 already started" \
    "$(ev operation.started s-1b "$(opid OP-1)")"
refused "finish before the start" "cannot finish before it started" \
    "$(ev operation.finished f-1e "$(opid OP-1)" "$NOW_MS")"
accepted "finish OP-1" "$(ev operation.finished f-1 "$(opid OP-1)" $((NOW_MS + 120000)))"
assert_eq "$(op OP-1 status)" finished "OP-1 finished"
refused "finish OP-1 twice" "operation OP-1 already finished" \
    "$(ev operation.finished f-1b "$(opid OP-1)")"
refused "start a finished operation" "operation OP-1 already finished" \
    "$(ev operation.started s-1c "$(opid OP-1)")"
assert_eq "$(sql "SELECT string_agg(coalesce(from_status, '-') || '>' || to_status || '@' || event_id, ' ' ORDER BY id) FROM operation_transitions WHERE op_id = 'OP-1'")" \
    "->filed@o-1 filed>active@s-1 active>finished@f-1" "OP-1 transitions"

# Hot-work validity (record_rules): special and first 8 h, second 72 h.
refused "special hot work for 9 h" "hot_work special is valid for at most 8.0 h, this one is planned for 9.0 h" \
    "$(ev operation.filed o-2 "$(operation OP-2 hot_work special "$NOW_MS" $((NOW_MS + 9 * H_MS)))")"
refused "second-grade hot work for 73 h" "valid for at most 72.0 h" \
    "$(ev operation.filed o-3 "$(operation OP-3 hot_work second "$NOW_MS" $((NOW_MS + 73 * H_MS)))")"
assert_eq "$(sql "SELECT count(*) FROM operations WHERE op_id IN ('OP-2', 'OP-3')")" 0 "refused filings not stored"
accepted "first-grade hot work for 8 h" "$(ev operation.filed o-4 "$(operation OP-4 hot_work first "$NOW_MS" $((NOW_MS + 8 * H_MS)))")"
accepted "confined space for 5 days" "$(ev operation.filed o-5 "$(operation OP-5 confined_space "" "$NOW_MS" $((NOW_MS + 5 * DAY_MS)))")"

# Started without filing: recorded, flagged, not refused; a filing after
# the start fills it in and keeps the flag.
accepted "start OP-U never filed" "$(ev operation.started s-u "$(opid OP-U)")"
assert_eq "$(op OP-U "status || '/' || unfiled || '/' || coalesce(uscc, 'unknown') || '/' || (filed_at IS NULL)")" "active/true/unknown/true" "OP-U recorded as started without filing"
assert_eq "$(sql "SELECT note FROM operation_transitions WHERE op_id = 'OP-U'")" "started without filing" "OP-U transition says so"
accepted "start OP-V never filed, enterprise given" "$(ev operation.started s-v "{\"op_id\":\"OP-V\",\"uscc\":\"$U1\"}")"
assert_eq "$(op OP-V "unfiled || '/' || uscc")" "true/$U1" "OP-V keeps its enterprise"
accepted "late filing of OP-V" "$(ev operation.filed o-v "$(operation OP-V lifting "" $((NOW_MS - H_MS)) $((NOW_MS + H_MS)))")"
assert_eq "$(op OP-V "status || '/' || unfiled || '/' || type || '/' || (filed_at IS NOT NULL)")" "active/true/lifting/true" "late filing: details in, still unfiled"
refused "file OP-V again" "operation OP-V was already filed (status active)" \
    "$(ev operation.filed o-v2 "$(operation OP-V lifting "" $((NOW_MS - H_MS)) $((NOW_MS + H_MS)))")"

# Running past planned_end shows in operations_overrun.
accepted "file and start OP-6, planned to end an hour ago" \
    "$(ev operation.filed o-6 "$(operation OP-6 height "" $((NOW_MS - 3 * H_MS)) $((NOW_MS - H_MS)))")" \
    "$(ev operation.started s-6 "$(opid OP-6)" $((NOW_MS - 3 * H_MS)))"
assert_eq "$(sql "SELECT string_agg(op_id || ':' || district, ',' ORDER BY op_id) FROM operations_overrun")" "OP-6:370112" "overrun view"
assert_eq "$(sql "SELECT status FROM operations_as_of(now()) WHERE op_id = 'OP-6'")" active "operations_as_of"

# --- maintenance windows --------------------------------------------------------

win() { printf '{"uscc":"%s","points":[%s],"start":%s,"end":%s,"reason":"%s"}' "$1" "$2" "$3" "$4" "$5"; }
accepted "maintenance window" "$(ev maintenance.window m-1 "$(win "$U1" '"P-1","P-2"' "$NOW_MS" $((NOW_MS + DAY_MS)) overhaul)")"
assert_eq "$(sql "SELECT array_to_string(points, ',') || '/' || reason || '/' || source || '/' || event_id FROM maintenance_windows")" \
    "P-1,P-2/overhaul/city/m-1" "window stored with its sender"
refused "window ending before it starts" "'start' must come before 'end'" \
    "$(ev maintenance.window m-2 "$(win "$U1" '"P-1"' $((NOW_MS + DAY_MS)) "$NOW_MS" startup)")"
refused "window naming another enterprise's point" "belongs to enterprise" \
    "$(ev maintenance.window m-3 "$(win "$U1" '"G-1"' "$NOW_MS" $((NOW_MS + DAY_MS)) trial)")"
refused "window with an unknown reason" "must be one of overhaul" \
    "$(ev maintenance.window m-4 "$(win "$U1" '' "$NOW_MS" $((NOW_MS + DAY_MS)) holiday)")"

grep -q 'AddressSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
kill -TERM "$INGESTD"
i=0
while kill -0 "$INGESTD" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "ingestd did not exit within 20 s of SIGTERM"
	sleep 0.1
done
rc=0; wait "$INGESTD" || rc=$?
assert_eq "$rc" 0 "ingestd exit status after SIGTERM"
grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
pass "t_records_hazard done"

#!/bin/sh
# t_records_enforce.sh - accidents, inspections, cases and the duties of
# enterprises through ingestd's POST /v1/events, against the tables of
# 0007/0008: each kind good and bad; an accident graded from its worst
# criterion, its updates kept as versions, an update after the re-report
# window stored but flagged late, an update of an accident never reported
# refused; the case machine walked through every legal and illegal
# transition (close before filing, file twice, close twice, close under
# another department); upserts of lists, directors, training and
# self-checks keeping the replaced row; equipment inspections checked
# against the equipment registry and the source's scope; a resent event a
# duplicate, a refused one stored nowhere.
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
H_MS=3600000
D_MS=$((24 * H_MS))
YEAR=$(TZ=Asia/Shanghai date +%Y)
NEXT_YEAR_DAY="$((YEAR + 1))-06-30"

# post TOKEN ITEMS: POST /v1/events with the comma-separated ITEMS; the
# status on stdout, the body in $T/out.
post() {
	curl -s -m 30 -o "$T/out" -w '%{http_code}' \
	    -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
	    --data-binary "{\"events\":[$2]}" "$U/v1/events"
}
field() { jq -r "$1" "$T/out"; }
# ev KIND ID DATA [AT_MS]: one event item.
ev() { printf '{"kind":"%s","id":"%s","at":%s,"data":{%s}}' "$1" "$2" "${4:-$NOW_MS}" "$3"; }
# send TOKEN ITEMS WANT_ACCEPTED WANT_DUPLICATES WANT_REJECTED WHAT
send() {
	code=$(post "$1" "$2")
	[ "$code" = 202 ] || fail "$6: status $code: $(cat "$T/out")"
	assert_eq "$(field .accepted)/$(field .duplicates)/$(field '.rejected|length')" "$3/$4/$5" "$6"
}
# refused INDEX TEXT WHAT: item INDEX of the last answer was refused saying TEXT.
refused() {
	why=$(field ".rejected[]|select(.index==$1)|.error")
	case "$why" in
	*"$2"*) pass "$3 ($why)" ;;
	*) fail "$3: want a reason with '$2', got '$why' in $(cat "$T/out")" ;;
	esac
}

CITY=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for city"
GAS=$(ctl token create --source gasco --sectors gas --districts 370102 | grep '^aq_') \
    || fail "token for gasco"

sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
pass "ingestd up"

# The registry: a hazchem plant in 370112 (U1) with an elevator, a gas
# company in 370102 (U2); U3 is valid but never registered.
U1=$("$SYS/ingest_uscc" 370112 1)
U2=$("$SYS/ingest_uscc" 370102 2)
U3=$("$SYS/ingest_uscc" 370112 3)
ent() {	# ent ID USCC DISTRICT SECTOR
	ev enterprise.upsert "$1" "\"uscc\":\"$2\",\"name\":\"企业 $1\",\"district\":\"$3\",\"sector\":\"$4\",\"employees\":120,\"status\":\"operating\",\"enforcement_level\":\"city\""
}
send "$CITY" "$(ent e-1 "$U1" 370112 hazchem),$(ent e-2 "$U2" 370102 gas)" 2 0 0 "two enterprises registered"
send "$CITY" "$(ev equipment.upsert q-1 "\"code\":\"EL-1\",\"uscc\":\"$U1\",\"kind\":\"elevator\",\"key_place\":true,\"next_due_on\":\"$YEAR-12-31\"")" \
    1 0 0 "an elevator registered"

# --- accidents ---------------------------------------------------------------

# A-1: 2 h ago (its 1-hour report is late), 1 death but 12 seriously
# injured: 较大.  A-2: road traffic 10 days ago, 2 deaths: 一般.  A-3: no
# one hurt, 1亿 lost, 40 minutes ago: 特别重大, reported in time.
acc() {	# acc ACCIDENT_ID SECTOR OCCURRED_MS DEATHS SERIOUS LOSS
	printf '"accident_id":"%s","uscc":"%s","district":"370112","sector":"%s","occurred_at":%s,"deaths":%s,"serious_injuries":%s,"minor_injuries":1,"direct_loss_cny":%s,"summary":"储罐区爆燃，%s 人死亡"' \
	    "$1" "$U1" "$2" "$3" "$4" "$5" "$6" "$4"
}
T1=$((NOW_MS - 2 * H_MS))
T2=$((NOW_MS - 10 * D_MS))
T3=$((NOW_MS - 40 * 60000))
send "$CITY" "$(ev accident.reported a-1 "$(acc A-1 hazchem $T1 1 12 2500000)"),$(ev accident.reported a-2 "$(acc A-2 road_traffic $T2 2 0 0)"),$(ev accident.reported a-3 "$(acc A-3 hazchem $T3 0 0 100000000)"),$(ev accident.reported a-4 "$(acc A-4 hazchem $((NOW_MS + H_MS)) 0 0 0)"),$(ev accident.reported a-5 "\"accident_id\":\"A-5\",\"district\":\"999999\",\"sector\":\"hazchem\",\"occurred_at\":$T1,\"deaths\":0,\"serious_injuries\":0,\"summary\":\"x\""),$(ev accident.reported a-6 "$(acc A-6 hazchem $T1 -1 0 0)")" \
    3 0 3 "accidents: three good, three bad"
refused 3 "'occurred_at' is in the future" "an accident in the future refused"
refused 4 "'district' '999999' is not a district code" "an unknown district refused"
refused 5 "'deaths' must be an integer from 0" "negative deaths refused"
assert_eq "$(sql "SELECT string_agg(accident_id || ':' || grade || ':' || grade_name, ' ' ORDER BY accident_id) FROM accidents")" \
    "A-1:larger:较大 A-2:general:一般 A-3:especially_major:特别重大" "grades from the worst criterion, Chinese names intact"
assert_eq "$(sql "SELECT string_agg(accident_id || ':' || reported_late, ' ' ORDER BY accident_id) FROM accidents")" \
    "A-1:true A-2:true A-3:false" "the 1-hour report deadline judged"
assert_eq "$(sql "SELECT (extract(epoch FROM report_county_due_at - occurred_at))::int || '/' || (extract(epoch FROM report_city_due_at - occurred_at))::int FROM accidents WHERE accident_id = 'A-1'")" \
    "3600/10800" "county due in 1 h, city in 3 h"
assert_eq "$(sql "SELECT string_agg(accident_id || ':' || extract(day FROM rereport_due_at - occurred_at), ' ' ORDER BY accident_id) FROM accidents")" \
    "A-1:30 A-2:7 A-3:30" "re-report window: 30 days, 7 for road traffic"
assert_eq "$(sql "SELECT source || '/' || event_id || '/' || (received_at IS NOT NULL) || '/' || summary FROM accidents WHERE accident_id = 'A-1'")" \
    "city/a-1/true/储罐区爆燃，1 人死亡" "who sent what and when"
assert_eq "$(sql "SELECT count(*) FROM events WHERE id IN ('a-4', 'a-5', 'a-6')")" 0 "refused accidents stored nowhere"

# The same event again: a duplicate.  The same accident under a new id:
# refused, it was reported already.
send "$CITY" "$(ev accident.reported a-1 "$(acc A-1 hazchem $T1 1 12 2500000)"),$(ev accident.reported a-1b "$(acc A-1 hazchem $T1 1 12 2500000)")" \
    0 1 1 "a resent report is a duplicate, a second report refused"
refused 1 "accident A-1 was already reported (event a-1 of source city)" "second report of A-1"

# Updates: A-1 twice (the deaths rise to 10: 重大), A-2 after its 7-day
# window (kept, flagged late), A-9 never reported (refused).
send "$CITY" "$(ev accident.updated u-1 "$(acc A-1 hazchem $T1 3 12 2500000)"),$(ev accident.updated u-2 "$(acc A-1 hazchem $T1 10 12 2500000)"),$(ev accident.updated u-3 "$(acc A-2 road_traffic $T2 2 1 0)"),$(ev accident.updated u-4 "$(acc A-9 hazchem $T1 1 0 0)"),$(ev accident.updated u-5 "$(acc A-3 hazchem $T3 0 0 100000000)")" \
    4 0 1 "updates: four taken, one refused"
refused 3 "accident A-9 was never reported: send accident.reported first" "update of an accident never reported"
assert_eq "$(sql "SELECT deaths || '/' || grade || '/' || grade_name || '/' || updates || '/' || late || '/' || event_id FROM accidents WHERE accident_id = 'A-1'")" \
    "10/major/重大/2/false/u-2" "A-1 shows its latest version, regraded"
assert_eq "$(sql "SELECT string_agg(version || ':' || deaths || ':' || grade || ':' || event_id, ' ' ORDER BY version) FROM accident_versions WHERE accident_id = 'A-1'")" \
    "1:1:larger:a-1 2:3:larger:u-1 3:10:major:u-2" "A-1 keeps every version"
assert_eq "$(sql "SELECT late || '/' || serious_injuries || '/' || updates FROM accidents WHERE accident_id = 'A-2'")" \
    "true/1/1" "a road-traffic update after 7 days is kept, flagged late"
assert_eq "$(sql "SELECT late::text FROM accidents WHERE accident_id = 'A-3'")" false "an update within the window is not late"
assert_eq "$(sql "SELECT count(*) FROM accident_versions WHERE accident_id = 'A-9'")/$(sql "SELECT count(*) FROM events WHERE id = 'u-4'")" \
    "0/0" "the refused update is stored nowhere"

# Scope: the gas company's token may not report a hazchem accident.
send "$GAS" "$(ev accident.reported g-1 "$(acc A-7 hazchem $T1 0 0 0)")" 0 0 1 "out-of-scope accident refused"
refused 0 "outside the scope of source gasco" "scope named"

# --- inspections ---------------------------------------------------------------

insp() {	# insp INSPECTION_ID USCC DEPT INSPECTORS [EXTRA]
	printf '"inspection_id":"%s","uscc":"%s","dept":"%s","level":"city","inspectors":%s,"kind":"random","findings":"消防通道堵塞","result":"penalty"%s' \
	    "$1" "$2" "$3" "$4" "${5:-}"
}
send "$CITY" "$(ev inspection.completed i-1 "$(insp I-1 "$U1" YJJ '["P-1","P-2"]' ',"hazards":["H-1"],"plan_item":"2026-YJJ-17"')"),$(ev inspection.completed i-2 "$(insp I-2 "$U1" ZZZ '["P-1"]')"),$(ev inspection.completed i-3 "$(insp I-3 "$U3" YJJ '["P-1"]')"),$(ev inspection.completed i-4 "$(insp I-4 "$U1" YJJ '[]')"),$(ev inspection.completed i-1b "$(insp I-1 "$U1" YJJ '["P-3"]')")" \
    1 0 4 "inspections: one good, four bad"
refused 1 "department ZZZ is not a department of the city" "unknown department refused"
refused 2 "is not registered" "unregistered enterprise refused"
refused 3 "'inspectors' must list 1 to 50 ids" "no inspectors refused"
refused 4 "inspection I-1 was already recorded" "an inspection recorded twice refused"
assert_eq "$(sql "SELECT dept || '/' || result || '/' || plan_item || '/' || array_to_string(hazards, ',') || '/' || findings FROM inspections WHERE inspection_id = 'I-1'")" \
    "YJJ/penalty/2026-YJJ-17/H-1/消防通道堵塞" "inspection stored"
assert_eq "$(sql "SELECT string_agg(inspector, ',' ORDER BY inspector) FROM inspection_inspectors WHERE inspection_id = 'I-1'")" \
    "P-1,P-2" "its inspectors listed, the refused second one's not"

# --- the case machine ----------------------------------------------------------

case_d() {	# case_d CASE_ID USCC DEPT [EXTRA]
	printf '"case_id":"%s","uscc":"%s","dept":"%s"%s' "$1" "$2" "$3" "${4:-}"
}
FILE=',"violation":"未按规定开展安全培训","penalty_cny":20000,"publish":true'
send "$CITY" "$(ev case.closed c-0 "$(case_d C-1 "$U1" YJJ)")" 0 0 1 "close before filing"
refused 0 "case C-1 was never filed: send case.filed first" "a case never filed cannot close"
send "$CITY" "$(ev case.filed c-1 "$(case_d C-1 "$U1" YJJ ",\"inspection_id\":\"I-1\"$FILE")")" 1 0 0 "case filed"
assert_eq "$(sql "SELECT status || '/' || penalty_cny || '/' || publish || '/' || inspection_id || '/' || (closed_at IS NULL) FROM cases WHERE case_id = 'C-1'")" \
    "filed/20000.00/true/I-1/true" "the case is filed"
send "$CITY" "$(ev case.filed c-1b "$(case_d C-1 "$U1" YJJ "$FILE")"),$(ev case.filed c-2 "$(case_d C-2 "$U1" YJJ ",\"inspection_id\":\"I-9\"$FILE")"),$(ev case.filed c-3 "$(case_d C-3 "$U2" YJJ ",\"inspection_id\":\"I-1\"$FILE")"),$(ev case.filed c-4 "$(case_d C-4 "$U1" YJJ ',"violation":"x","penalty_cny":-1')")" \
    0 0 4 "bad filings refused"
refused 0 "case C-1 was already filed (now filed" "filing twice"
refused 1 "inspection I-9 is not recorded" "filing on an unknown inspection"
refused 2 "inspection I-1 was of enterprise $U1, not of $U2" "filing on another enterprise's inspection"
refused 3 "'penalty_cny' must be between 0" "negative penalty"
send "$CITY" "$(ev case.closed c-5 "$(case_d C-1 "$U1" SCJG)"),$(ev case.closed c-6 "$(case_d C-1 "$U2" YJJ)")" 0 0 2 "closing under other ids"
refused 0 "case C-1 was filed by department YJJ, not by SCJG" "another department cannot close it"
refused 1 "case C-1 is of enterprise $U1, not of $U2" "another enterprise's case"
send "$CITY" "$(ev case.closed c-7 "$(case_d C-1 "$U1" YJJ ',"penalty_cny":15000')")" 1 0 0 "case closed"
assert_eq "$(sql "SELECT status || '/' || penalty_cny || '/' || publish || '/' || (closed_at IS NOT NULL) || '/' || event_id FROM cases WHERE case_id = 'C-1'")" \
    "closed/15000.00/true/true/c-7" "closed with the penalty decided"
assert_eq "$(sql "SELECT string_agg(status || ':' || penalty_cny || ':' || event_id, ' ') FROM case_versions WHERE case_id = 'C-1'")" \
    "filed:20000.00:c-1" "the filed state kept as history"
send "$CITY" "$(ev case.closed c-7 "$(case_d C-1 "$U1" YJJ ',"penalty_cny":15000')"),$(ev case.closed c-8 "$(case_d C-1 "$U1" YJJ)")" \
    0 1 1 "closing again: a duplicate, and a refusal"
refused 1 "case C-1 is already closed" "a case closed twice"
assert_eq "$(sql "SELECT count(*) FROM events WHERE id IN ('c-0', 'c-1b', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6', 'c-8')")" 0 "refused case events stored nowhere"

# --- duties ----------------------------------------------------------------------

send "$CITY" "$(ev resplist.uploaded r-1 "\"uscc\":\"$U1\",\"posts\":40,\"posts_covered\":38"),$(ev resplist.uploaded r-2 "\"uscc\":\"$U1\",\"posts\":40,\"posts_covered\":40"),$(ev resplist.uploaded r-3 "\"uscc\":\"$U1\",\"posts\":40,\"posts_covered\":41"),$(ev resplist.uploaded r-4 "\"uscc\":\"$U3\",\"posts\":4,\"posts_covered\":4")" \
    2 0 2 "responsibility lists"
refused 2 "posts_covered (41) cannot exceed posts (40)" "more posts covered than there are"
refused 3 "is not registered" "list of an unregistered enterprise"
assert_eq "$(sql "SELECT posts_covered || '/' || event_id FROM resplists WHERE uscc = '$U1'")/$(sql "SELECT string_agg(posts_covered || ':' || event_id, ' ') FROM resplist_versions WHERE uscc = '$U1'")" \
    "40/r-2/38:r-1" "the latest list wins, the first kept"

send "$CITY" "$(ev director.appointed d-1 "\"uscc\":\"$U1\",\"name\":\"王建国\",\"certified\":false"),$(ev director.appointed d-2 "\"uscc\":\"$U1\",\"name\":\"李明\",\"certified\":true"),$(ev director.appointed d-3 "\"uscc\":\"$U1\",\"name\":\"赵\",\"certified\":\"yes\"")" \
    2 0 1 "safety directors"
refused 2 "'certified' must be" "certified must be a boolean"
assert_eq "$(sql "SELECT name || '/' || certified FROM safety_directors WHERE uscc = '$U1'")/$(sql "SELECT string_agg(name || ':' || certified, ' ') FROM safety_director_versions WHERE uscc = '$U1'")" \
    "李明/true/王建国:false" "the latest director, the earlier kept"

trn() {	# trn YEAR ROLE REQUIRED TRAINED CERTIFIED
	printf '"uscc":"%s","year":%s,"role":"%s","required":%s,"trained":%s,"certified":%s' "$U1" "$1" "$2" "$3" "$4" "$5"
}
send "$CITY" "$(ev training.record t-1 "$(trn "$YEAR" special_worker 12 10 9)"),$(ev training.record t-2 "$(trn "$YEAR" special_worker 12 12 10)"),$(ev training.record t-3 "$(trn "$YEAR" principal 2 2 2)"),$(ev training.record t-4 "$(trn "$YEAR" employee 12 13 0)"),$(ev training.record t-5 "$(trn $((YEAR + 1)) employee 1 1 1)"),$(ev training.record t-6 "$(trn "$YEAR" boss 1 1 1)")" \
    3 0 3 "training records"
refused 3 "trained (13) cannot exceed required (12)" "more trained than required"
refused 4 "'year' must be an integer from 2000 to $YEAR" "a year to come"
refused 5 "'role' must be one of principal" "an unknown role"
assert_eq "$(sql "SELECT string_agg(role || ':' || trained || ':' || certified, ' ' ORDER BY role) FROM training_records WHERE uscc = '$U1' AND year = $YEAR")/$(sql "SELECT count(*) FROM training_record_versions")" \
    "principal:2:2 special_worker:12:10/1" "training per role, the corrected count kept"

eqi() {	# eqi CODE RESULT NEXT_DUE
	printf '"code":"%s","result":"%s","next_due_on":"%s"' "$1" "$2" "$3"
}
send "$CITY" "$(ev equipment.inspected q-i1 "$(eqi EL-1 pass "$NEXT_YEAR_DAY")"),$(ev equipment.inspected q-i2 "$(eqi EL-404 pass "$NEXT_YEAR_DAY")"),$(ev equipment.inspected q-i3 "$(eqi EL-1 fail 2020-01-01)"),$(ev equipment.inspected q-i4 "$(eqi EL-1 pass 2027-02-30)")" \
    1 0 3 "equipment inspections"
refused 1 "equipment EL-404 is not registered: send its equipment.upsert first" "unknown equipment"
refused 2 "next_due_on 2020-01-01 must come after the day of the inspection" "a due date already past"
refused 3 "'next_due_on' is not a date" "an impossible date"
assert_eq "$(sql "SELECT code || '/' || result || '/' || next_due_on || '/' || source || '/' || event_id FROM equipment_inspections")" \
    "EL-1/pass/$NEXT_YEAR_DAY/city/q-i1" "the inspection logged"
assert_eq "$(sql "SELECT next_due_on FROM equipment WHERE code = 'EL-1'")" "$NEXT_YEAR_DAY" \
    "the inspection moved the equipment's due date"
assert_eq "$(sql "SELECT next_due_on FROM equipment_versions WHERE code = 'EL-1' ORDER BY replaced_at DESC LIMIT 1")" \
    "$YEAR-12-31" "the replaced due date is kept as a version"
send "$GAS" "$(ev equipment.inspected g-q1 "$(eqi EL-1 pass "$NEXT_YEAR_DAY")")" 0 0 1 "out-of-scope equipment refused"
refused 0 "equipment EL-1 of enterprise $U1 is outside the scope of source gasco" "equipment scope named"

sc() {	# sc KIND PERIOD
	printf '"uscc":"%s","kind":"%s","period":"%s"' "$U1" "$1" "$2"
}
send "$CITY" "$(ev selfcheck.completed s-1 "$(sc coal_quarterly "${YEAR}Q1")"),$(ev selfcheck.completed s-2 "$(sc coal_parent_semiannual "${YEAR}H1")"),$(ev selfcheck.completed s-3 "$(sc hazard_source_technical "$YEAR-01")"),$(ev selfcheck.completed s-4 "$(sc coal_quarterly "${YEAR}Q1")"),$(ev selfcheck.completed s-5 "$(sc coal_quarterly "${YEAR}H1")"),$(ev selfcheck.completed s-6 "$(sc other "$((YEAR + 1))Q1")"),$(ev selfcheck.completed s-7 "$(sc other "${YEAR}Q5")")" \
    4 0 3 "self-checks"
refused 4 "a coal_quarterly self-check covers a quarter" "a quarterly check needs a quarter"
refused 5 "has not begun yet" "a period to come"
refused 6 "is not a period" "a malformed period"
assert_eq "$(sql "SELECT count(*) FROM selfchecks WHERE uscc = '$U1'")/$(sql "SELECT event_id FROM selfchecks WHERE kind = 'coal_quarterly'")/$(sql "SELECT event_id FROM selfcheck_versions")" \
    "3/s-4/s-1" "self-checks per kind and period, the resent one replacing"

log "PASS t_records_enforce"

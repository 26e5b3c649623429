#!/bin/sh
# t_records_registry.sh - the registry records through ingestd, against the
# tables of deploy/sql/0005_records_registry.sql: one good event of each
# kind (hazard source, risk point, responsibility, duty roster, inspector,
# agency, equipment) lands in its table with source, event id and receive
# time; bad ones are refused item by item with their reasons, by the
# validator (fields, codes, dates, phones, USCCs) or by apply (unknown
# departments, a code of another enterprise), and leave nothing behind; a
# re-sent batch is all duplicates; upserts keep every earlier version and
# <table>_as_of(t) answers what we knew at t; a district's token writes its
# own district's records only.
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
TODAY=$(TZ=Asia/Shanghai date +%Y-%m-%d)

# post TOKEN BODY: the status on stdout, the answer in $T/out.
post() {
	curl -s -m 30 -o "$T/out" -w '%{http_code}' \
	    -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
	    --data-binary "$2" "$U/v1/events"
}
field() { jq -r "$1" "$T/out"; }
expect() { [ "$1" = "$2" ] || fail "$3: status $1, want $2: $(cat "$T/out")"; }
# reason I: the rejection reason of item I of the last answer.
reason() { jq -r --argjson i "$1" '.rejected[] | select(.index == $i) | .error' "$T/out"; }
# has_reason I TEXT WHAT: item I was refused with a reason containing TEXT.
has_reason() {
	r=$(reason "$1")
	case "$r" in
	*"$2"*) pass "$3" ;;
	*) fail "$3: item $1 reason '$r' lacks '$2' (answer: $(cat "$T/out"))" ;;
	esac
}
# ev KIND ID DATA: one event item.
ev() { printf '{"kind":"%s","id":"%s","at":%s,"data":%s}' "$1" "$2" "$NOW_MS" "$3"; }

CITY=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for city"
LICHENG=$(ctl token create --source licheng --sectors '*' --districts 370112 | grep '^aq_') \
    || fail "token for licheng"

sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
pass "ingestd up"

U1=$("$SYS/ingest_uscc" 370112 1)
U2=$("$SYS/ingest_uscc" 370102 2)
U3=$("$SYS/ingest_uscc" 370112 3)
ent() {	# ent ID USCC DISTRICT SECTOR
	ev enterprise.upsert "$1" "$(printf '{"uscc":"%s","name":"济南%s化工有限公司","district":"%s","sector":"%s","employees":120,"status":"operating","enforcement_level":"city"}' "$2" "$1" "$3" "$4")"
}
code=$(post "$CITY" "{\"events\":[$(ent e-1 "$U1" 370112 hazchem),$(ent e-2 "$U2" 370102 gas)]}")
expect "$code" 202 "enterprises"
assert_eq "$(field .accepted)" 2 "two enterprises registered"

# --- one good event of each kind -----------------------------------------
hs() {	# hs ID USCC PEOPLE: hazard source HS-1
	ev hazard_source.upsert "$1" "$(printf '{"code":"HS-1","uscc":"%s","name":"液氯储罐区","unit_type":"storage","people_500m":%s,"chemicals":[{"name":"液氯","cas":"7782-50-5","q":20,"Q":5,"beta":4},{"name":"液氨","q":3.5,"Q":10,"beta":2}],"assessed_on":"2025-06-01","responsible":{"main":"张三","technical":"李四","operational":"王五"}}' "$2" "$3")"
}
rp() {	# rp ID FACTORS
	ev risk_point.upsert "$1" "$(printf '{"code":"RP-1","uscc":"%s","name":"装卸作业区","method":"LEC",%s,"measures":"双人作业，静电接地"}' "$U1" "$2")"
}
resp() {	# resp ID USCC SECTOR_DEPT DIRECT_DEPT
	ev responsibility.upsert "$1" "$(printf '{"uscc":"%s","territorial":"370112","sector_dept":"%s","direct_dept":"%s"}' "$2" "$3" "$4")"
}
person() { printf '{"id":"%s","name":"%s","phone":"%s"}' "$1" "$2" "$3"; }
roster() {	# roster ID UNIT START END OFFICER_PHONE
	ev duty.roster "$1" "$(printf '{"unit":"%s","start":"%s","end":"%s","leader":%s,"officers":[%s,%s]}' \
	    "$2" "$3" "$4" "$(person L-1 赵局长 13900000001)" "$(person O-1 钱科长 0531-86012345)" "$(person O-2 孙 "$5")")"
}
insp() {	# insp ID DEPT CONFLICTS
	ev inspector.upsert "$1" "$(printf '{"id":"I-1","name":"周执法","dept":"%s","district":"370112","active":true,"conflicts":%s}' "$2" "$3")"
}
agency() {	# agency ID DISTRICT OUTSIDE
	ev agency.upsert "$1" "$(printf '{"code":"AG-1","name":"山东安评中心","district":"%s","kind":"evaluation","out_of_province":%s}' "$2" "$3")"
}
equip() {	# equip ID USCC KIND EXTRA
	ev equipment.upsert "$1" "$(printf '{"code":"EQ-1","uscc":"%s","kind":"%s","key_place":true,"next_due_on":"2027-03-01"%s}' "$2" "$3" "$4")"
}
S1="${TODAY}T08:00:00+08:00"
E1="${TODAY}T20:00:00+08:00"
GOOD="{\"events\":[$(hs h-1 "$U1" 120),$(rp r-1 '"L":3,"E":6,"C":15'),$(resp s-1 "$U1" YJJ SCJG),$(roster d-1 370112 "$S1" "$E1" 13900000002),$(insp i-1 YJJ "[\"$U2\"]"),$(agency a-1 370112 false),$(equip q-1 "$U1" elevator ',"rescue_code":"370123","insured":true,"on_96333":true')]}"
code=$(post "$CITY" "$GOOD")
expect "$code" 202 "one of each kind"
assert_eq "$(field .accepted)/$(field .duplicates)/$(field '.rejected|length')" 7/0/0 "seven records accepted"
for t in hazard_sources risk_points responsibilities duty_rosters inspectors agencies equipment; do
	assert_eq "$(sql "SELECT count(*) FROM $t WHERE source = 'city' AND event_id IS NOT NULL AND received_at <= now()")" 1 "$t: one row with source, event id, receive time"
done
assert_eq "$(sql "SELECT name || '/' || responsible_main || '/' || people_500m FROM hazard_sources")" "液氯储罐区/张三/120" "hazard source, Chinese names intact"
assert_eq "$(sql "SELECT string_agg(name || ':' || quantity_t || '/' || critical_t || '/' || beta, ',' ORDER BY position) FROM hazard_source_chemicals WHERE hazard_source = 'HS-1'")" \
    "液氯:20/5/4,液氨:3.5/10/2" "chemicals as rows"
assert_eq "$(sql "SELECT method || ' ' || l || ' ' || e || ' ' || c || ' ' || coalesce(s::text, '-') FROM risk_points")" "LEC 3 6 15 -" "risk point factors"
assert_eq "$(sql "SELECT territorial || ' ' || sector_dept || ' ' || direct_dept FROM responsibilities WHERE uscc = '$U1'")" "370112 YJJ SCJG" "responsibility"
assert_eq "$(sql "SELECT unit_kind || ' ' || (end_at - start_at) || ' ' || (leader->>'name') || ' ' || jsonb_array_length(officers) FROM duty_rosters")" "district 12:00:00 赵局长 2" "duty roster shift"
assert_eq "$(sql "SELECT count(*) FROM duty_rosters WHERE unit = '370112' AND start_at <= '$S1'::timestamptz + interval '1 hour' AND end_at > '$S1'::timestamptz + interval '1 hour'")" 1 "on duty at 09:00"
assert_eq "$(sql "SELECT dept || ' ' || active || ' ' || array_to_string(conflicts, ',') FROM inspectors")" "YJJ true $U2" "inspector and conflicts"
assert_eq "$(sql "SELECT kind || ' ' || rescue_code || ' ' || next_due_on || ' ' || on_96333 FROM equipment")" "elevator 370123 2027-03-01 true" "equipment"

# --- the same batch again: duplicates, nothing changes ----------------------
code=$(post "$CITY" "$GOOD")
expect "$code" 202 "re-sent batch"
assert_eq "$(field .accepted)/$(field .duplicates)/$(field '.rejected|length')" 0/7/0 "re-sent batch: all duplicates"
assert_eq "$(sql "SELECT (SELECT count(*) FROM hazard_source_versions) + (SELECT count(*) FROM duty_roster_versions) + (SELECT count(*) FROM equipment_versions)")" 0 "no versions from duplicates"

# --- refused by the validator -----------------------------------------------
BAD="{\"events\":[$(hs b-0 "$U1" -1),$(rp b-1 '"L":3,"E":6'),$(resp b-2 "$U1" yjj SCJG),$(roster b-3 370112 "$S1" "$E1" 12345),$(insp b-4 YJJ '["91370112000000000X"]'),$(agency b-5 110101 false),$(equip b-6 "$U1" boiler ',"rescue_code":"370123"'),$(equip b-7 "$U3" boiler ''),$(roster b-8 370112 "$E1" "$S1" 13900000002)]}"
code=$(post "$CITY" "$BAD")
expect "$code" 202 "bad batch"
assert_eq "$(field .accepted)/$(field '.rejected|length')" 0/9 "nine refused"
has_reason 0 "'people_500m' must be an integer from 0" "negative people refused"
has_reason 1 "'C' is required" "LEC without C refused"
has_reason 2 "'sector_dept' 'yjj' is not a department code" "malformed department refused"
has_reason 3 "phone '12345' is not plausible" "implausible phone refused"
has_reason 4 "conflicts[0] is not a valid unified social credit code" "bad conflict USCC refused"
has_reason 5 "'district' '110101' is not a district code of the city" "agency district refused"
has_reason 6 "only elevators are on 96333" "boiler with rescue code refused"
has_reason 7 "enterprise $U3 is not registered" "unknown enterprise refused"
has_reason 8 "'start' must be before 'end'" "reversed shift refused"
assert_eq "$(sql "SELECT count(*) FROM events WHERE id LIKE 'b-%'")" 0 "refused events not stored"

# --- refused by apply: what only the store knows ----------------------------
APPLY="{\"events\":[$(resp x-1 "$U1" NOPE SCJG),$(roster x-2 XYZ "$S1" "$E1" 13900000002),$(insp x-3 ABC '[]'),$(hs x-4 "$U2" 10),$(equip x-5 "$U2" elevator ''),$(agency x-6 370112 false)]}"
code=$(post "$CITY" "$APPLY")
expect "$code" 202 "apply batch"
assert_eq "$(field .accepted)/$(field '.rejected|length')" 1/5 "five refused by apply, the sixth kept"
has_reason 0 "field 'sector_dept': 'NOPE' is not a department of the city" "unknown sector department"
has_reason 1 "field 'unit': 'XYZ' is not a department of the city" "unknown roster unit"
has_reason 2 "field 'dept': 'ABC' is not a department of the city" "unknown inspector department"
has_reason 3 "hazard source HS-1 belongs to enterprise $U1, not $U2" "hazard source of another enterprise"
has_reason 4 "equipment EQ-1 belongs to enterprise $U1, not $U2" "equipment of another enterprise"
assert_eq "$(sql "SELECT count(*) FROM events WHERE id IN ('x-1','x-2','x-3','x-4','x-5')")" 0 "refused by apply: events not stored"
assert_eq "$(sql "SELECT uscc || ' ' || sector_dept FROM responsibilities")/$(sql "SELECT uscc FROM hazard_sources")/$(sql "SELECT count(*) FROM duty_rosters")" \
    "$U1 YJJ/$U1/1" "refused by apply: tables untouched"
assert_eq "$(sql "SELECT count(*) FROM events WHERE id = 'x-6'")" 1 "the good one of the batch stored"

# --- history: upserts keep every version; what we knew at a time -----------
T0=$(sql "SELECT now()")
code=$(post "$CITY" "{\"events\":[$(hs h-2 "$U1" 200)]}")
expect "$code" 202 "hazard source change"
assert_eq "$(field .accepted)" 1 "change accepted"
T1=$(sql "SELECT now()")
# The same content under a new event id changes nothing and adds no version.
code=$(post "$CITY" "{\"events\":[$(hs h-3 "$U1" 200)]}")
assert_eq "$(field .accepted)/$(sql "SELECT count(*) FROM hazard_source_versions")" 1/1 "same content: no new version"
code=$(post "$CITY" "{\"events\":[$(hs h-4 "$U1" 300)]}")
assert_eq "$(field .accepted)" 1 "second change accepted"
assert_eq "$(sql "SELECT string_agg(people_500m || ':' || event_id || ':' || ended_by, ',' ORDER BY replaced_at) FROM hazard_source_versions WHERE code = 'HS-1'")" \
    "120:h-1:update,200:h-2:update" "two versions kept, each with its event"
assert_eq "$(sql "SELECT people_500m || ':' || event_id FROM hazard_sources")" "300:h-4" "the live row is the latest"
assert_eq "$(sql "SELECT people_500m FROM hazard_sources_as_of('$T0')")" 120 "as of T0: the first version"
assert_eq "$(sql "SELECT people_500m FROM hazard_sources_as_of('$T1')")" 200 "as of T1: the second version"
assert_eq "$(sql "SELECT people_500m FROM hazard_sources_as_of(now())")" 300 "as of now: the latest"
assert_eq "$(sql "SELECT count(*) FROM hazard_sources_as_of('2000-01-01')")" 0 "as of 2000: not known yet"

# A roster sent again for the same unit and start replaces the shift.
code=$(post "$CITY" "{\"events\":[$(roster d-2 370112 "$S1" "$E1" 13900000009)]}")
assert_eq "$(field .accepted)" 1 "roster replaced"
assert_eq "$(sql "SELECT count(*) FROM duty_rosters")/$(sql "SELECT officers->1->>'phone' FROM duty_rosters")" "1/13900000009" "one shift, the new officers"
assert_eq "$(sql "SELECT officers->1->>'phone' || ':' || event_id FROM duty_roster_versions")" "13900000002:d-1" "the old shift kept as a version"
assert_eq "$(sql "SELECT officers->1->>'phone' FROM duty_rosters_as_of('$T0')")" 13900000002 "roster as of T0"

# Risk point re-graded to LS: its factors change with the method.
code=$(post "$CITY" "{\"events\":[$(rp r-2 '"L":2,"S":4' | sed 's/"LEC"/"LS"/')]}")
assert_eq "$(field .accepted)" 1 "risk point re-graded"
assert_eq "$(sql "SELECT method || ' ' || l || ' ' || coalesce(e::text, '-') || ' ' || s FROM risk_points")/$(sql "SELECT method FROM risk_point_versions")" \
    "LS 2 - 4/LEC" "risk point LS, the LEC version kept"

# --- scope: a district's token ----------------------------------------------
S2="${TODAY}T20:00:00+08:00"
E2=$(TZ=Asia/Shanghai date -d "$TODAY + 1 day" +%Y-%m-%d)T08:00:00+08:00
code=$(post "$LICHENG" "{\"events\":[$(roster l-1 370112 "$S2" "$E2" 13900000003),$(roster l-2 370102 "$S2" "$E2" 13900000003),$(roster l-3 AWB "$S2" "$E2" 13900000003),$(resp l-4 "$U2" YJJ YJJ)]}")
expect "$code" 202 "licheng batch"
assert_eq "$(field .accepted)/$(field '.rejected|length')" 1/3 "licheng: its own district only"
has_reason 1 "outside the scope of source licheng" "other district's roster refused"
has_reason 2 "duty roster of AWB is city-wide" "city office roster refused"
has_reason 3 "outside the scope of source licheng" "other district's enterprise refused"
assert_eq "$(sql "SELECT count(*) FROM duty_rosters WHERE source = 'licheng'")" 1 "licheng's roster stored"

# SIGTERM: drains and exits 0; under the sanitizers with no report (leaks
# are reported at exit, so a form kept or freed twice shows here).
kill -TERM "$INGESTD"
i=0
while kill -0 "$INGESTD" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "ingestd did not exit within 20 s of SIGTERM"
	sleep 0.1
done
rc=0; wait "$INGESTD" || rc=$?
assert_eq "$rc" 0 "ingestd exit status after SIGTERM"
grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
pass "t_records_registry done"

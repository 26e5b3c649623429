#!/bin/sh
# t_records_query.sh - the read routes of ingestd (services/ingestd/query.h):
# records posted through POST /v1/events are read back with
# GET /v1/enterprises/{uscc}, /v1/hazards, /v1/operations and /v1/accidents;
# every filter is checked against the tables, pages are walked to the end
# with their cursors (no record twice, none missed, in order), Chinese names
# come back byte for byte, a bad parameter is a 400 naming it, an unknown
# enterprise a 404, a missing token a 401, and a token scoped to another
# district may still read.
#
# The records' tables are filled by the kinds of services/ingestd/records_*.c;
# the expected lists are read from those tables, so the routes are checked
# against what ingestd stored, whatever the kinds decide.
. "$(dirname "$0")/lib.sh"
sys_setup

ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }
HTTP_PORT=$(free_port)
PUB_PORT=$(free_port)
PULL_PORT=$(free_port)
CONF=$T/anquan.conf
cat >"$CONF" <<CONF
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

CITY=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for city"
GAS=$(ctl token create --source gasco --sectors gas --districts 370102 | grep '^aq_') \
    || fail "token for gasco"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
pass "ingestd up"

# post JSON: POST /v1/events as the city; status on stdout, body in $T/out.
post() {
	curl -s -m 30 -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $CITY" \
	    -H "Content-Type: application/json" --data-binary "$1" "$U/v1/events"
}
# get PATH [TOKEN]: GET with the city's token (or TOKEN, "-" for none).
get() {
	tok=${2:-$CITY}
	if [ "$tok" = - ]; then
		curl -s -m 30 -o "$T/out" -w '%{http_code}' "$U$1"
	else
		curl -s -m 30 -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $tok" "$U$1"
	fi
}
field() { jq -r "$1" "$T/out"; }
expect() { [ "$1" = "$2" ] || fail "$3: status $1, want $2: $(cat "$T/out")"; }
# events KIND ID DATA...: one envelope per (id, data) pair, as a batch.
ev() { printf '{"kind":"%s","id":"%s","at":%s,"data":%s}' "$1" "$2" "$NOW_MS" "$3"; }
post_all() {	# post_all WHAT EVENT...: all accepted, or fail with the reasons
	what=$1; shift
	body=$(printf '%s,' "$@")
	code=$(post "{\"events\":[${body%,}]}")
	expect "$code" 202 "$what"
	[ "$(field '.rejected|length')" = 0 ] \
	    || log "$what: refused by ingestd: $(field '[.rejected[]|"\(.index): \(.error)"]|join("; ")')"
}
# applied TABLE: the table holds rows, else fail (its kind stored nothing).
applied() {
	[ "$(sql "SELECT count(*) > 0 FROM $1")" = t ] \
	    || fail "ingestd stored no rows in $1 from the events posted"
}

# --- the registry ---------------------------------------------------------
U1=$("$SYS/ingest_uscc" 370112 1)
U2=$("$SYS/ingest_uscc" 370102 2)
U3=$("$SYS/ingest_uscc" 370102 3)
UNKNOWN=$("$SYS/ingest_uscc" 370112 9)
NAME1="济南华泰化工有限公司（历城）"
ent() {	# ent ID USCC NAME DISTRICT SECTOR
	ev enterprise.upsert "$1" "{\"uscc\":\"$2\",\"name\":\"$3\",\"district\":\"$4\",\"sector\":\"$5\",\"employees\":320,\"status\":\"operating\",\"enforcement_level\":\"city\",\"address\":\"历城区工业北路 88 号\",\"credit\":\"good\"}"
}
pt() {	# pt ID CODE USCC
	ev point.upsert "$1" "{\"code\":\"$2\",\"uscc\":\"$3\",\"kind\":\"level\",\"unit\":\"m\",\"l\":1,\"h\":8,\"hh\":9,\"enabled\":true}"
}
post_all "registry" "$(ent e1 "$U1" "$NAME1" 370112 hazchem)" \
    "$(ent e2 "$U2" "燃气公司" 370102 gas)" "$(ent e3 "$U3" "加气站" 370102 gas)" \
    "$(pt p1 T-003 "$U1")" "$(pt p2 T-001 "$U1")" "$(pt p3 T-002 "$U1")" \
    "$(pt p4 G-001 "$U2")"
assert_eq "$(sql "SELECT count(*) FROM enterprises")/$(sql "SELECT count(*) FROM points")" 3/4 "registry stored"
DEPT=$(sql "SELECT lead FROM sectors WHERE code = 'hazchem'")
post_all "responsibility and hazard source" \
    "$(ev responsibility.upsert r1 "{\"uscc\":\"$U1\",\"territorial\":\"370112\",\"sector_dept\":\"$DEPT\",\"direct_dept\":\"$DEPT\"}")" \
    "$(ev hazard_source.upsert hs1 "{\"code\":\"HS-01\",\"uscc\":\"$U1\",\"name\":\"液氨储罐区\",\"unit_type\":\"storage\",\"people_500m\":60,\"chemicals\":[{\"name\":\"液氨\",\"cas\":\"7664-41-7\",\"q\":50,\"Q\":10,\"beta\":2}],\"assessed_on\":\"2025-05-01\",\"responsible\":{\"main\":\"张三\",\"technical\":\"李四\",\"operational\":\"王五\"}}")"

# --- GET /v1/enterprises/{uscc} -------------------------------------------
code=$(get "/v1/enterprises/$U1")
expect "$code" 200 "enterprise"
assert_eq "$(field .name)" "$NAME1" "enterprise: Chinese name intact"
assert_eq "$(field .address)" "历城区工业北路 88 号" "enterprise: address intact"
assert_eq "$(field .uscc)/$(field .district)/$(field .sector)/$(field .employees)/$(field .credit)" \
    "$U1/370112/hazchem/320/good" "enterprise: columns"
assert_eq "$(field .district_name)" "$(sql "SELECT name FROM districts WHERE code = '370112'")" "enterprise: district name"
assert_eq "$(field .sector_name)" "$(sql "SELECT name FROM sectors WHERE code = 'hazchem'")" "enterprise: sector name"
assert_eq "$(field '[.points[].code]|join(",")')" "T-001,T-002,T-003" "enterprise: its points, by code"
assert_eq "$(field '.points[0]|"\(.kind)/\(.unit)/\(.l)/\(.h)/\(.hh)/\(.ll)/\(.enabled)"')" "level/m/1/8/9/null/true" "enterprise: point thresholds"
assert_eq "$(field .source)/$(field .event_id)" "city/e1" "enterprise: who sent it"
assert_eq "$(field .counts.points)" 3 "enterprise: point count"
applied responsibilities
assert_eq "$(field .responsibility.territorial.code)/$(field .responsibility.sector_dept.code)" "370112/$DEPT" "enterprise: responsibility"
assert_eq "$(field .responsibility.sector_dept.name)" "$(sql "SELECT name FROM departments WHERE code = '$DEPT'")" "enterprise: department name"
applied hazard_sources
assert_eq "$(field '.hazard_sources|map("\(.code)/\(.name)/\(.unit_type)/\(.assessed_on)")|join(",")')" \
    "HS-01/液氨储罐区/storage/2025-05-01" "enterprise: major hazard sources"
code=$(get "/v1/enterprises/$U1" "$GAS")
expect "$code" 200 "a token of another district and sector may read"
code=$(get "/v1/enterprises/$U1" -)
expect "$code" 401 "no token"
code=$(get "/v1/enterprises/$UNKNOWN")
expect "$code" 404 "unknown enterprise"
assert_eq "$(field .error)" not_found "unknown enterprise: JSON error"
code=$(get "/v1/enterprises/91370112MA3C4XYZ1Q")
expect "$code" 400 "malformed USCC"
field .message | grep -q 'unified social credit code' || fail "malformed USCC: $(cat "$T/out")"
code=$(get "/v1/enterprises/$U1?points=all")
expect "$code" 400 "enterprise: unknown parameter"

# --- hidden hazards -------------------------------------------------------
# Five at U1, two at U2 (370102); H-03 and H-04 are past their deadline,
# H-05 is rectified and H-06 rectified then closed by verification.
hz() {	# hz ID LEVEL USCC FOUND DEADLINE
	ev hazard.reported "r-$1" "{\"hazard_id\":\"$1\",\"uscc\":\"$3\",\"level\":\"$2\",\"source\":\"self_check\",\"description\":\"储罐区防火堤裂缝 $1\",\"found_at\":\"$4\",\"responsible_unit\":\"设备部\",\"responsible_person\":\"赵六\",\"measures\":\"修补防火堤\",\"deadline\":\"$5\"}"
}
# hours N, day N: now plus N hours or days, RFC 3339.
hours() { date -u -d "@$(( $(date +%s) + $1 * 3600 ))" +%Y-%m-%dT%H:%M:%SZ; }
day() { hours $(($1 * 24)); }
post_all "hazards reported" "$(hz H-01 general "$U1" "$(day -1)" "$(day 6)")" \
    "$(hz H-02 major "$U1" "$(day -2)" "$(day 20)")" \
    "$(hz H-03 general "$U1" "$(day -10)" "$(day -3)")" \
    "$(hz H-04 major "$U2" "$(day -12)" "$(day -2)")" \
    "$(hz H-05 general "$U2" "$(day -5)" "$(day 2)")" \
    "$(hz H-06 general "$U1" "$(day -6)" "$(day 1)")" \
    "$(hz H-07 general "$U1" "$(day -7)" "$(day 3)")"
post_all "hazards rectified" \
    "$(ev hazard.rectified f-5 '{"hazard_id":"H-05","note":"已修补"}')" \
    "$(ev hazard.rectified f-6 '{"hazard_id":"H-06","note":"已修补"}')"
post_all "hazard verified" "$(ev hazard.verified v-6 '{"hazard_id":"H-06","accepted":true,"verifier":"钱七"}')"
# ids of a GET /v1/hazards answer, and the same from the table.
ids() { field "[.items[].$1]|join(\",\")"; }
applied hazards
# The table's view of each filter, in the routes' order.
hq() { sql "SELECT coalesce(string_agg(hazard_id, ',' ORDER BY found_at DESC, hazard_id DESC), '') FROM hazards h JOIN enterprises e USING (uscc) WHERE $1"; }
for case in "|true" "status=open|h.status <> 'closed'" "status=closed|h.status = 'closed'" \
    "status=rectified|h.status = 'rectified'" "level=major|h.level = 'major'" \
    "district=370102|e.district = '370102'" "uscc=$U1|h.uscc = '$U1'" \
    "overdue=1|h.status = 'rectifying' AND h.deadline < now()" \
    "overdue=0|NOT (h.status = 'rectifying' AND h.deadline < now())" \
    "overdue=1&district=370102&level=major|h.status = 'rectifying' AND h.deadline < now() AND e.district = '370102' AND h.level = 'major'"; do
	q=${case%%|*}; cond=${case#*|}
	code=$(get "/v1/hazards?$q")
	expect "$code" 200 "hazards?$q"
	assert_eq "$(ids hazard_id)" "$(hq "$cond")" "hazards?$q: the table's rows, newest first"
	assert_eq "$(field .total)" "$(sql "SELECT count(*) FROM hazards h JOIN enterprises e USING (uscc) WHERE $cond")" "hazards?$q: total"
done
assert_eq "$(hq "h.status = 'rectifying' AND h.deadline < now()")" "H-03,H-04" "overdue hazards are H-03 and H-04"
assert_eq "$(hq "h.status = 'rectified'")/$(hq "h.status = 'closed'")" "H-05/H-06" "H-05 rectified, H-06 closed"
get "/v1/hazards?overdue=1" >/dev/null
assert_eq "$(field '[.items[].overdue]|unique|map(tostring)|join(",")')" true "overdue flag set"
assert_eq "$(field '.items[0].description')" "储罐区防火堤裂缝 H-03" "hazard text intact"
code=$(get "/v1/enterprises/$U1")
assert_eq "$(field '[.open_hazards[].hazard_id]|join(",")')" "$(hq "h.uscc = '$U1' AND h.status <> 'closed'")" "enterprise: open hazards"
assert_eq "$(field '[.open_hazards[]|select(.overdue)|.hazard_id]|join(",")')" "H-03" "enterprise: overdue derived"

# --- dangerous operations ------------------------------------------------
opf() {	# opf ID TYPE LEVEL START_HOURS END_HOURS USCC
	ev operation.filed "of-$1" "{\"op_id\":\"$1\",\"uscc\":\"$6\",\"type\":\"$2\",\"level\":\"$3\",\"location\":\"二号罐区\",\"planned_start\":\"$(hours "$4")\",\"planned_end\":\"$(hours "$5")\",\"contractor\":\"安装公司\",\"responsible\":{\"name\":\"孙八\",\"phone\":\"13800000000\"}}"
}
post_all "operations filed" "$(opf OP-1 hot_work first 1 5 "$U1")" \
    "$(opf OP-2 confined_space first 1 20 "$U1")" "$(opf OP-3 hot_work second 24 48 "$U2")"
post_all "operations started" "$(ev operation.started os-1 '{"op_id":"OP-1"}')" \
    "$(ev operation.started os-2 '{"op_id":"OP-2"}')"
post_all "operation finished" "$(ev operation.finished of-2 '{"op_id":"OP-2"}')"
applied operations
oq() { sql "SELECT coalesce(string_agg(op_id, ',' ORDER BY coalesce(planned_start, started_at, received_at) DESC, op_id DESC), '') FROM operations WHERE $1"; }
for case in "|true" "active=1|status = 'active'" "active=0|status <> 'active'" \
    "type=hot_work|type = 'hot_work'" "uscc=$U2|uscc = '$U2'" \
    "active=1&type=hot_work&uscc=$U1|status = 'active' AND type = 'hot_work' AND uscc = '$U1'"; do
	q=${case%%|*}; cond=${case#*|}
	code=$(get "/v1/operations?$q")
	expect "$code" 200 "operations?$q"
	assert_eq "$(ids op_id)" "$(oq "$cond")" "operations?$q: the table's rows"
	assert_eq "$(field .total)" "$(sql "SELECT count(*) FROM operations WHERE $cond")" "operations?$q: total"
done
assert_eq "$(oq "status = 'active'")/$(oq "status = 'finished'")/$(oq "status = 'filed'")" "OP-1/OP-2/OP-3" "OP-1 active, OP-2 finished, OP-3 filed"
get "/v1/operations?active=1" >/dev/null
assert_eq "$(field '.items[0].location')/$(field '.items[0].responsible.name')" "二号罐区/孙八" "operation text intact"
code=$(get "/v1/enterprises/$U1")
assert_eq "$(field '[.active_operations[].op_id]|join(",")')" "$(oq "uscc = '$U1' AND status = 'active'")" "enterprise: active operations"

# --- accidents -------------------------------------------------------------
acc() {	# acc ID WHEN DISTRICT SECTOR DEATHS SERIOUS
	ev accident.reported "a-$1" "{\"accident_id\":\"$1\",\"district\":\"$3\",\"sector\":\"$4\",\"occurred_at\":\"$2\",\"deaths\":$5,\"serious_injuries\":$6,\"summary\":\"$1 号事故：管道泄漏引发火灾\"}"
}
THIS_YEAR=$(TZ=Asia/Shanghai date +%Y)
LAST_YEAR=$((THIS_YEAR - 1))
post_all "accidents" "$(acc A-1 "$LAST_YEAR-03-01T10:00:00+08:00" 370112 hazchem 0 1)" \
    "$(acc A-2 "$LAST_YEAR-07-15T09:30:00+08:00" 370102 gas 4 0)" \
    "$(acc A-3 "$LAST_YEAR-12-31T23:30:00+08:00" 370112 hazchem 1 0)" \
    "$(acc A-4 "$THIS_YEAR-01-01T00:30:00+08:00" 370102 gas 0 0)" \
    "$(acc A-5 "$(day -1)" 370112 hazchem 0 2)"
applied accidents
aq() { sql "SELECT coalesce(string_agg(accident_id, ',' ORDER BY occurred_at DESC, accident_id DESC), '') FROM accidents WHERE $1"; }
Y0="make_timestamptz($LAST_YEAR, 1, 1, 0, 0, 0, 'Asia/Shanghai')"
Y1="make_timestamptz($THIS_YEAR, 1, 1, 0, 0, 0, 'Asia/Shanghai')"
for case in "|true" "year=$LAST_YEAR|occurred_at >= $Y0 AND occurred_at < $Y1" \
    "district=370102|district = '370102'" "grade=larger|grade = 'larger'" \
    "grade=general&district=370112&year=$LAST_YEAR|grade = 'general' AND district = '370112' AND occurred_at >= $Y0 AND occurred_at < $Y1"; do
	q=${case%%|*}; cond=${case#*|}
	code=$(get "/v1/accidents?$q")
	expect "$code" 200 "accidents?$q"
	assert_eq "$(ids accident_id)" "$(aq "$cond")" "accidents?$q: the table's rows"
	assert_eq "$(field .total)" "$(sql "SELECT count(*) FROM accidents WHERE $cond")" "accidents?$q: total"
done
assert_eq "$(aq "grade = 'larger'")" "A-2" "four deaths make A-2 a larger accident"
get "/v1/accidents?year=$LAST_YEAR" >/dev/null
assert_eq "$(ids accident_id)" "A-3,A-2,A-1" "the year is the city's calendar year (A-3 at 23:30 +08:00)"
assert_eq "$(field '.items[0].summary')" "A-3 号事故：管道泄漏引发火灾" "accident text intact"
assert_eq "$(field '.items[0].district_name')" "$(sql "SELECT name FROM districts WHERE code = '370112'")" "accident district name"

# --- paging ---------------------------------------------------------------
# walk PATH LIMIT IDFIELD: every page's ids, one per line, to the end.
walk() {
	cursor=""; pages=0
	: >"$T/walk"
	while :; do
		sep='?'; case $1 in *\?*) sep='&';; esac
		code=$(get "$1${sep}limit=$2${cursor:+&cursor=$cursor}")
		expect "$code" 200 "page $pages of $1"
		n=$(field '.items|length')
		[ "$n" -le "$2" ] || fail "a page of $n items with limit $2"
		field ".items[].$3" >>"$T/walk"
		pages=$((pages + 1))
		cursor=$(field '.next // empty')
		[ -n "$cursor" ] || break
		[ "$pages" -le 100 ] || fail "paging does not end"
	done
	echo "$pages"
}
for route in "hazards|hazard_id" "operations|op_id" "accidents|accident_id"; do
	path=/v1/${route%%|*}; idf=${route#*|}
	get "$path" >/dev/null
	all=$(ids "$idf"); total=$(field .total)
	[ "$total" -ge 3 ] || fail "$path: $total records, too few to page"
	pages=$(walk "$path" 2 "$idf")
	assert_eq "$(paste -sd, "$T/walk")" "$all" "$path: pages of 2 give every record once, in order"
	assert_eq "$pages" "$(( (total + 1) / 2 ))" "$path: $pages pages of 2 for $total"
	pages=$(walk "$path" 1 "$idf")
	assert_eq "$(paste -sd, "$T/walk")" "$all" "$path: pages of 1 likewise"
done
code=$(get "/v1/hazards?limit=1000")
expect "$code" 200 "limit 1000 allowed"

# --- bad parameters: each a 400 naming the parameter ------------------------
bad() {	# bad PATH PARAM
	code=$(get "$1")
	expect "$code" 400 "$1"
	assert_eq "$(field .error)" bad_parameter "$1: error code"
	field .message | grep -q "'$2'" || fail "$1: message does not name '$2': $(cat "$T/out")"
}
bad "/v1/hazards?limit=0" limit
bad "/v1/hazards?limit=1001" limit
bad "/v1/hazards?limit=ten" limit
bad "/v1/hazards?limit=-1" limit
bad "/v1/hazards?limit=" limit
bad "/v1/hazards?cursor=not-a-cursor" cursor
bad "/v1/hazards?cursor=" cursor
bad "/v1/hazards?cursor=MTIzOg" cursor
bad "/v1/hazards?status=pending" status
bad "/v1/hazards?level=MAJOR" level
bad "/v1/hazards?district=999999" district
bad "/v1/hazards?district=%E5%8E%86%E5%9F%8E" district
bad "/v1/hazards?uscc=91370112MA3C4XYZ1Q" uscc
bad "/v1/hazards?overdue=yes" overdue
bad "/v1/hazards?overdue=2" overdue
bad "/v1/hazards?sort=found_at" sort
bad "/v1/hazards?status=open&status=closed" status
bad "/v1/operations?active=true" active
bad "/v1/operations?type=welding" type
bad "/v1/operations?uscc=abc" uscc
bad "/v1/operations?status=active" status
bad "/v1/accidents?year=1800" year
bad "/v1/accidents?year=20x5" year
bad "/v1/accidents?grade=%E4%B8%80%E8%88%AC" grade
bad "/v1/accidents?district=37011" district
bad "/v1/accidents?overdue=1" overdue
code=$(get "/v1/hazards" "aq_NOTATOKENNOTATOKENNOTATOKENNOTATOKEN12345")
expect "$code" 401 "unknown token"
code=$(curl -s -m 30 -o "$T/out" -w '%{http_code}' -X POST -H "Authorization: Bearer $CITY" "$U/v1/hazards")
expect "$code" 405 "POST on a read route"

kill -0 "$(echo $PIDS | awk '{print $1}')" || fail "ingestd died"
if grep -Eq ' error event=|runtime error|AddressSanitizer' "$T/ingestd.log"; then
	fail "ingestd logged errors: $(grep -E ' error event=|runtime error|AddressSanitizer' "$T/ingestd.log" | head -3)"
fi
pass "t_records_query"

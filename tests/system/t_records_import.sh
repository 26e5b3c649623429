#!/bin/sh
# t_records_import.sh - `safetyctl import`: a spreadsheet's rows into the
# city's records through ingestd's public API.
#
# Row by row: a CSV of enterprise.upsert rows (BOM, CRLF, quoted fields,
# Chinese names) with a bad USCC check digit on line 4, an unknown district
# on line 7 and text in a number field on line 8 keeps the good rows and
# names the bad ones FILE:LINE: reason; importing it again finds only
# duplicates.  --atomic (POST /v1/events?atomic=1): a file with a row that
# does not convert sends nothing; a file with a row that ingestd refuses
# while validating stores nothing (422); a file with a row that the store
# refuses while applying (a foreign key) stores nothing either, its other
# rows and another client's concurrent rows aside; a good file stores all.
# Then points referencing the imported enterprises (a code "001" stays
# text), a hazard source with a JSON cell and dotted columns, and the
# malformed CSV cases (unclosed quote, stray quote, wrong field count,
# unknown column, UTF-16, not UTF-8).
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
[bus]
ingestd_pub = tcp://127.0.0.1:$PUB_PORT
ingest_pull = tcp://127.0.0.1:$PULL_PORT
[ingestd]
http_listen = 127.0.0.1:$HTTP_PORT
max_items = 40
group_wait = 200ms
CONF
U=http://127.0.0.1:$HTTP_PORT

ANQUAN_TOKEN=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for city"
export ANQUAN_TOKEN
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
pass "ingestd up"

# import KIND FILE [OPTIONS]: the exit status in $RC, stdout in $T/out,
# stderr in $T/err.
import() {
	RC=0
	"$BIN/safetyctl" -c "$ANQUAN_CONNINFO" import "$@" --url "$U" \
	    >"$T/out" 2>"$T/err" || RC=$?
	log "import $*: rc=$RC $(cat "$T/out")"
	sed 's/^/    | /' "$T/err"
}
# has_line FILE:LINE TEXT: stderr reports that line with that text.
has_line() {
	grep -F "$1: " "$T/err" | grep -qF "$2" ||
	    fail "stderr lacks '$1: ...$2...': $(cat "$T/err")"
	pass "reported $1 ($2)"
}
count() { sql "SELECT count(*) FROM $1"; }

U1=$("$SYS/ingest_uscc" 370112 1)
U2=$("$SYS/ingest_uscc" 370112 2)
U3=$("$SYS/ingest_uscc" 370102 3)
U4=$("$SYS/ingest_uscc" 370103 4)
U5=$("$SYS/ingest_uscc" 370104 5)
BAD=$("$SYS/ingest_uscc" -b 370112 6)

# (a) Row by row: BOM, CRLF, a quoted address with a comma, a doubled
# quote, Chinese names; bad rows on lines 4, 7 and 8.
ENT=$T/enterprises.csv
{
	printf '\357\273\277uscc,name,district,sector,employees,status,enforcement_level,address,lon,lat,credit\r\n'
	printf '%s,济南华能化工有限公司,370112,hazchem,120,operating,city,"历城区, 工业北路 8 号",117.12,36.68,good\r\n' "$U1"
	printf '%s,济南泉城燃气有限公司,370112,gas, 45 ,operating,district,,,,\r\n' "$U2"
	printf '%s,济南坏码有限公司,370112,other,10,operating,district,,,,\r\n' "$BAD"
	printf '%s,"济南""明湖""机械有限公司",370102,metallurgy,300,operating,city,,,,normal\r\n' "$U3"
	printf '%s,济南天桥建筑有限公司,370103,construction,80,suspended,district,,,,\r\n' "$U4"
	printf '%s,济南未知区有限公司,379999,other,10,operating,district,,,,\r\n' "$("$SYS/ingest_uscc" 370112 7)"
	printf '%s,济南数字有限公司,370112,other,many,operating,district,,,,\r\n' "$("$SYS/ingest_uscc" 370112 8)"
	printf '%s,济南槐荫物流有限公司,370104,transport,15,operating,district,,,,\r\n' "$U5"
	printf ',,,,,,,,,,\r\n'
} >"$ENT"
import enterprise.upsert "$ENT"
assert_eq "$RC" 1 "row-wise with bad rows: exit 1"
assert_eq "$(cat "$T/out")" "$ENT: rows 8, accepted 5, duplicates 0, rejected 3" "row-wise summary"
has_line "$ENT:4" "not a valid unified social credit code"
has_line "$ENT:7" "'district' '379999' is not a district code"
has_line "$ENT:8" "column 'employees': 'many' is not a whole number"
assert_eq "$(grep -c "^$ENT:" "$T/err")" 3 "exactly three bad rows reported"
assert_eq "$(count enterprises)" 5 "the five good rows stored"
assert_eq "$(sql "SELECT name || '|' || address FROM enterprises WHERE uscc = '$U1'")" \
    "济南华能化工有限公司|历城区, 工业北路 8 号" "Chinese name and quoted address intact"
assert_eq "$(sql "SELECT name FROM enterprises WHERE uscc = '$U3'")" '济南"明湖"机械有限公司' "doubled quote kept once"
assert_eq "$(sql "SELECT employees FROM enterprises WHERE uscc = '$U2'")" 45 "blanks around a number ignored"
assert_eq "$(sql "SELECT count(*) FROM events WHERE kind = 'enterprise.upsert' AND source = 'city' AND id LIKE 'import:enterprises.csv:%'")" 5 \
    "each row an event import:FILE:LINE:HASH"
assert_eq "$(sql "SELECT id ~ '^import:enterprises\.csv:2:[0-9a-f]{12}$' FROM events WHERE data->>'uscc' = '$U1'")" t "id of line 2"

# (b) The same file again: duplicates, not copies.
import enterprise.upsert "$ENT"
assert_eq "$(cat "$T/out")" "$ENT: rows 8, accepted 0, duplicates 5, rejected 3" "re-import: all duplicates"
assert_eq "$(count events)/$(count enterprises)/$(count enterprise_versions)" 5/5/0 "re-import stored nothing new"

# (c) --atomic, a row that does not convert: nothing is sent.
U6=$("$SYS/ingest_uscc" 370113 6)
U7=$("$SYS/ingest_uscc" 370113 7)
U8=$("$SYS/ingest_uscc" 370113 8)
A1=$T/atomic_bad_cell.csv
printf 'uscc,name,district,sector,employees,status,enforcement_level\n%s,长清一厂,370113,other,10,operating,district\n%s,长清二厂,370113,other,ten,operating,district\n' \
    "$U6" "$U7" >"$A1"
import enterprise.upsert "$A1" --atomic
assert_eq "$RC" 1 "atomic, unconvertible row: exit 1"
has_line "$A1:3" "'ten' is not a whole number"
grep -q "nothing was sent" "$T/err" || fail "atomic: no 'nothing was sent': $(cat "$T/err")"
assert_eq "$(count enterprises)" 5 "atomic, unconvertible row: nothing stored"

# (d) --atomic, a row that ingestd refuses while validating: 422, nothing.
A2=$T/atomic_bad_row.csv
printf 'uscc,name,district,sector,employees,status,enforcement_level\n%s,长清一厂,370113,other,10,operating,district\n%s,长清二厂,370113,other,11,operating,district\n%s,长清三厂,370113,nosuch,12,operating,district\n' \
    "$U6" "$U7" "$U8" >"$A2"
import enterprise.upsert "$A2" --atomic
assert_eq "$RC" 1 "atomic, invalid row: exit 1"
has_line "$A2:4" "'sector' 'nosuch' is not a sector code"
assert_eq "$(cat "$T/out")" "$A2: rows 3, accepted 0, duplicates 0, rejected 1 (atomic: nothing stored)" "atomic refused summary"
assert_eq "$(count enterprises)/$(count events)" 5/5 "atomic, invalid row: nothing stored"
# The same through the API: the answer names the item and stores nothing.
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $ANQUAN_TOKEN" \
    --data-binary "{\"events\":[{\"kind\":\"enterprise.upsert\",\"id\":\"x-1\",\"at\":1,\"data\":{\"uscc\":\"$U6\",\"name\":\"x\",\"district\":\"370113\",\"sector\":\"other\",\"employees\":1,\"status\":\"operating\",\"enforcement_level\":\"city\"}},{\"kind\":\"nosuch.kind\",\"id\":\"x-2\",\"at\":1,\"data\":{}}]}" \
    "$U/v1/events?atomic=1")
assert_eq "$code/$(jq -r '.error + " " + ([.rejected[].index]|map(tostring)|join(","))' "$T/body")" "422/atomic_refused 1" "API atomic=1: 422 naming item 1"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $ANQUAN_TOKEN" \
    --data-binary '{"events":[]}' "$U/v1/events?atomic=maybe")
assert_eq "$code/$(jq -r .error "$T/body")" "400/invalid_query" "atomic=maybe refused"

# (e) --atomic, a good file: all stored.
A3=$T/atomic_good.csv
head -3 "$A2" >"$A3"
import enterprise.upsert "$A3" --atomic
assert_eq "$RC/$(cat "$T/out")" "0/$A3: rows 2, accepted 2, duplicates 0, rejected 0 (atomic)" "atomic good file"
assert_eq "$(count enterprises)" 7 "atomic good file: both stored"

# (f) Points of the imported enterprises: codes stay text ("001"),
# numbers, booleans; a point of an unknown enterprise is refused.
PTS=$T/points.csv
{
	echo 'code,uscc,kind,unit,ll,l,h,hh,range_lo,range_hi,enabled,tag'
	echo "001,$U1,level,m,,0.5,8,9.5,0,10,yes,储罐 T-1 液位"
	echo "002,$U1,gas_combustible,%LEL,,,25,50,0,100,1,"
	echo "G-001,$U2,pressure,MPa,,,0.4,0.6,,,是,"
	echo "X-001,$U8,level,m,,,,,,,true,"
	echo "003,$U3,temperature,°C,,,hot,,,,true,"
} >"$PTS"
import point.upsert "$PTS"
assert_eq "$RC/$(cat "$T/out")" "1/$PTS: rows 5, accepted 3, duplicates 0, rejected 2" "points row-wise"
has_line "$PTS:5" "is not registered"
has_line "$PTS:6" "column 'h': 'hot' is not a number"
assert_eq "$(sql "SELECT string_agg(code || '/' || uscc || '/' || h || '/' || enabled, ',' ORDER BY code) FROM points")" \
    "001/$U1/8/true,002/$U1/25/true,G-001/$U2/0.4/true" "points stored with text codes"
assert_eq "$(sql "SELECT tag FROM points WHERE code = '001'")" "储罐 T-1 液位" "Chinese tag intact"

# (g) --atomic and a refusal while applying: the enterprise of one point
# is gone from the store (ingestd's registry still knows it), so its
# insert breaks a foreign key inside the writer.  The whole file is taken
# back, the point of the good line too.
sql "DELETE FROM enterprises WHERE uscc = '$U7'" >/dev/null
P2=$T/points_fk.csv
printf 'code,uscc,kind,unit,enabled\nFK-1,%s,level,m,true\nFK-2,%s,level,m,true\n' "$U6" "$U7" >"$P2"
import point.upsert "$P2" --atomic
assert_eq "$RC" 1 "atomic, apply refused: exit 1"
has_line "$P2:3" "refused by the store"
assert_eq "$(cat "$T/out")" "$P2: rows 2, accepted 0, duplicates 0, rejected 1 (atomic: nothing stored)" "atomic apply refusal summary"
assert_eq "$(sql "SELECT count(*) FROM points WHERE code LIKE 'FK-%'")/$(sql "SELECT count(*) FROM events WHERE id LIKE 'import:points_fk.csv:%'")" \
    0/0 "atomic, apply refused: no point, no event"
# Row by row the same file keeps its good line.
import point.upsert "$P2"
assert_eq "$(cat "$T/out")" "$P2: rows 2, accepted 1, duplicates 0, rejected 1" "row-wise keeps the good line"
assert_eq "$(sql "SELECT string_agg(code, ',') FROM points WHERE code LIKE 'FK-%'")" FK-1 "FK-1 stored row-wise"

# Two clients at once (group_wait lets them share one group commit): the
# all-or-nothing job is taken back whole, the other job keeps its point.
pev() {	# pev ID CODE USCC
	printf '{"kind":"point.upsert","id":"%s","at":%s,"data":{"code":"%s","uscc":"%s","kind":"level","unit":"m","enabled":true}}' \
	    "$1" "$(( $(date +%s) * 1000 ))" "$2" "$3"
}
groups() { curl -fsS "$U/metrics" | awk '$1 == "anquan_ingest_group_items_count" {print $2}'; }
G0=$(groups)
curl -s -o "$T/a.json" -H "Authorization: Bearer $ANQUAN_TOKEN" \
    --data-binary "{\"events\":[$(pev gc-1 GC-1 "$U6"),$(pev gc-2 GC-2 "$U7")]}" "$U/v1/events?atomic=1" &
CA=$!
curl -s -o "$T/b.json" -H "Authorization: Bearer $ANQUAN_TOKEN" \
    --data-binary "{\"events\":[$(pev gc-3 GC-3 "$U6")]}" "$U/v1/events" &
CB=$!
wait "$CA" "$CB"
assert_eq "$(( $(groups) - G0 ))" 1 "both requests in one group commit"
assert_eq "$(jq -r '.error + " " + ([.rejected[].index]|map(tostring)|join(","))' "$T/a.json")" "atomic_refused 1" "concurrent atomic job refused at item 1"
assert_eq "$(jq -r '.accepted' "$T/b.json")" 1 "concurrent row-wise job accepted"
assert_eq "$(sql "SELECT string_agg(code, ',' ORDER BY code) FROM points WHERE code LIKE 'GC-%'")" GC-3 "only the other job's point stored"

# (h) Nested values: a JSON array cell and dotted columns build objects.
HS=$T/hazard_sources.csv
{
	echo 'code,uscc,name,unit_type,people_500m,chemicals,assessed_on,responsible.main,responsible.technical,responsible.operational'
	echo "HS-1,$U1,液氯储罐区,storage,120,\"[{\"\"name\"\":\"\"液氯\"\",\"\"cas\"\":\"\"7782-50-5\"\",\"\"q\"\":20,\"\"Q\"\":5,\"\"beta\"\":4}]\",2025/6/1,张伟,李娜,王强"
} >"$HS"
import hazard_source.upsert "$HS"
assert_eq "$RC/$(cat "$T/out")" "0/$HS: rows 1, accepted 1, duplicates 0, rejected 0" "hazard source imported"
assert_eq "$(sql "SELECT data->'responsible'->>'main' || '|' || (data->'chemicals'->0->>'name') || '|' || (data->>'assessed_on') || '|' || jsonb_typeof(data->'people_500m') FROM events WHERE kind = 'hazard_source.upsert'")" \
    "张伟|液氯|2025-06-01|number" "dotted columns and JSON cells as sent"

# (i) Malformed files: each bad record named by its line, the rest read.
M=$T/malformed.csv
{
	echo 'uscc,name,district,sector,employees,status,enforcement_level'
	echo "$U1,\"多行
名称\",370112,hazchem,120,operating,city"
	echo "$U2,济南\"错\"引号,370112,gas,45,operating,district"
	echo "$U3,字段太少"
	echo "$U4,\"未闭合,370103,construction,80,suspended,district"
	echo "$U5,x,370104,transport,15,operating,district"
} >"$M"
import enterprise.upsert "$M"
assert_eq "$(cat "$T/out")" "$M: rows 4, accepted 1, duplicates 0, rejected 3" "malformed: summary"
has_line "$M:4" "has a quote but does not start with one"
has_line "$M:5" "2 fields, the header has 7"
has_line "$M:6" "opened on line 6 is never closed"
assert_eq "$(sql "SELECT name FROM enterprises WHERE uscc = '$U1'")" "多行
名称" "a quoted field over two lines"
printf 'uscc,name,colour\n' >"$T/unknown.csv"
import enterprise.upsert "$T/unknown.csv"
assert_eq "$RC" 1 "unknown column: exit 1"
grep -q "unknown.csv:1: column 'colour' is not a field of enterprise.upsert" "$T/err" || fail "unknown column: $(cat "$T/err")"
printf '\377\376u\000' >"$T/utf16.csv"
import enterprise.upsert "$T/utf16.csv"
grep -q "UTF-16" "$T/err" || fail "UTF-16 not named: $(cat "$T/err")"
printf 'uscc,name,district,sector,employees,status,enforcement_level\n%s,\326\320\316\304,370112,other,1,operating,district\n' "$U6" >"$T/gbk.csv"
import enterprise.upsert "$T/gbk.csv"
has_line "$T/gbk.csv:2" "is not UTF-8 text"
import nosuch.kind "$ENT"
assert_eq "$RC" 2 "unknown kind: usage error"
RC=0; ANQUAN_TOKEN='' "$BIN/safetyctl" import enterprise.upsert "$ENT" --url "$U" 2>"$T/err" || RC=$?
assert_eq "$RC" 2 "no token: usage error"
RC=0; "$BIN/safetyctl" import enterprise.upsert "$ENT" --url "$U" \
    --token aq_0000000000000000000000000000000000000000 >"$T/out" 2>"$T/err" || RC=$?
assert_eq "$RC" 1 "unknown token: exit 1"
grep -q "HTTP 401: " "$T/err" || fail "unknown token: $(cat "$T/err")"
RC=0; "$BIN/safetyctl" import enterprise.upsert "$ENT" --url "http://127.0.0.1:$(free_port)" >"$T/out" 2>"$T/err" || RC=$?
assert_eq "$RC" 1 "ingestd unreachable: exit 1"
grep -q "no answer from ingestd" "$T/err" || fail "unreachable: $(cat "$T/err")"
# More rows than ingestd's max_items: --atomic cannot, row by row can.
BIG=$T/big.csv
{
	echo 'uscc,name,district,sector,employees,status,enforcement_level'
	i=100
	while [ $i -lt 145 ]; do
		echo "$("$SYS/ingest_uscc" 370124 $i),平阴企业$i,370124,other,$i,operating,district"
		i=$((i + 1))
	done
} >"$BIG"
import enterprise.upsert "$BIG" --atomic
assert_eq "$RC" 1 "atomic over max_items: exit 1"
grep -q "the limit is 40" "$T/err" && grep -q "split the file" "$T/err" || fail "atomic over max_items: $(cat "$T/err")"
assert_eq "$(sql "SELECT count(*) FROM enterprises WHERE district = '370124'")" 0 "atomic over max_items: nothing stored"
import enterprise.upsert "$BIG" --batch 20
assert_eq "$RC/$(cat "$T/out")" "0/$BIG: rows 45, accepted 45, duplicates 0, rejected 0" "row-wise in batches of 20"

# ingestd survived all of it, and stops cleanly (no sanitizer report).
curl -fsS "$U/healthz" >/dev/null || fail "ingestd unhealthy at the end"
kill -TERM "$INGESTD"
stopped() { ! kill -0 "$INGESTD" 2>/dev/null; }
wait_for 20 "ingestd to stop" stopped
if grep -E "Sanitizer|runtime error" "$T/ingestd.log"; then fail "sanitizer report in ingestd.log"; fi
pass "ingestd stopped cleanly"
pass "t_records_import"

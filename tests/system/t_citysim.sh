#!/bin/sh
# t_citysim.sh - the demo city and its feed player against a real ingestd:
# the same seed dumps the same events byte for byte (another seed does
# not); a small city loads through POST /v1/events with no rejection; a
# second load is all duplicates; the records are consistent (every point's
# enterprise exists, every enterprise has its responsibility, and a duty
# roster of its district covers now, as does one of the city office);
# `citysim play --duration 5` stores readings, some above their H; play
# stops cleanly on SIGTERM; a refused token exits 3, which deploy/run.sh
# relies on.
# $CITY is a list of options: split on purpose.
# shellcheck disable=SC2086
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
CONF
U=http://127.0.0.1:$HTTP_PORT
CITY="--seed 7 --enterprises 200 --points 2000 --data $ROOT/deploy/data"
sim() { "$BIN/citysim" "$@"; }

# Determinism: a function of seed, counts and day, nothing else.
D1=$(sim dump $CITY --today 2026-11-29 | md5sum)
D2=$(sim dump $CITY --today 2026-11-29 | md5sum)
D3=$(sim dump --seed 8 --enterprises 200 --points 2000 --data "$ROOT/deploy/data" --today 2026-11-29 | md5sum)
assert_eq "$D2" "$D1" "same seed, same events byte for byte"
[ "$D3" != "$D1" ] || fail "seeds 7 and 8 made the same city"
pass "another seed, another city"
sim dump $CITY --today 2026-11-29 >"$T/dump"
assert_eq "$(jq -r '.events[].kind' "$T/dump" | grep -c '^enterprise.upsert$')" 200 "200 enterprises in the dump"
assert_eq "$(jq -r '.events[].kind' "$T/dump" | grep -c '^point.upsert$')" 2000 "2000 points in the dump"
sim load --seed x >/dev/null 2>&1 && fail "a seed that is no number accepted"
rc=0; sim frobnicate >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "unknown command: usage error"
for bad in ftp://127.0.0.1:1 http://127.0.0.1:99999999 http:// http://127.0.0.1:1/v1; do
	rc=0; sim load --url "$bad" --token aq_x >"$T/url.out" 2>&1 || rc=$?
	[ "$rc" = 2 ] && grep -q "url" "$T/url.out" || fail "url '$bad': exit $rc, $(cat "$T/url.out")"
done
rc=0; env -u ANQUAN_TOKEN "$BIN/citysim" load >"$T/tok.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "token" "$T/tok.out" || fail "no token: exit $rc, $(cat "$T/tok.out")"
rc=0; sim dump --data "$T/nowhere" >"$T/data.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "districts.csv" "$T/data.out" || fail "missing data folder: exit $rc, $(cat "$T/data.out")"
pass "bad urls, no token and a missing data folder are refused with a reason"

TOKEN=$(ctl token create --source demo --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for the demo source"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
pass "ingestd up"

# A refused token: exit 3, nothing stored.
rc=0
sim load $CITY --url "$U" --token aq_NOTATOKENNOTATOKENNOTATOKENNOTATOKEN12345 >"$T/bad.out" 2>&1 || rc=$?
assert_eq "$rc" 3 "refused token exits 3"
assert_eq "$(sql "SELECT count(*) FROM events")" 0 "nothing stored with a refused token"

# The load: no rejection, and it says how long it took.
rc=0
ANQUAN_TOKEN=$TOKEN sim load $CITY --url "$U" >"$T/load1.out" 2>&1 || rc=$?
cat "$T/load1.out"
assert_eq "$rc" 0 "first load exits 0"
SUMMARY=$(grep '^citysim load: .* events in ' "$T/load1.out") || fail "no summary line"
echo "$SUMMARY" | grep -q ', 0 duplicates, 0 rejected;' || fail "first load: $SUMMARY"
TOTAL=$(echo "$SUMMARY" | awk '{ print $3 }')
echo "$SUMMARY" | grep -q ": $TOTAL accepted," || fail "first load did not accept all $TOTAL: $SUMMARY"
assert_eq "$(sql "SELECT count(*) FROM events WHERE source = 'demo'")" "$TOTAL" "every event stored once"
assert_eq "$(sql "SELECT count(*) FROM enterprises")/$(sql "SELECT count(*) FROM points")" 200/2000 "enterprises and points in the registry"

# The same city again: all duplicates, nothing new.
ANQUAN_TOKEN=$TOKEN sim load $CITY --url "$U" --quiet >"$T/load2.out" 2>&1 || fail "second load: $(cat "$T/load2.out")"
grep -q "^citysim load: $TOTAL events in .*: 0 accepted, $TOTAL duplicates, 0 rejected;" "$T/load2.out" \
    || fail "second load not all duplicates: $(cat "$T/load2.out")"
pass "second load: all $TOTAL duplicates"
assert_eq "$(sql "SELECT count(*) FROM events WHERE source = 'demo'")" "$TOTAL" "second load stored nothing"

# Consistency of the records.
assert_eq "$(sql "SELECT count(*) FROM points p WHERE NOT EXISTS (SELECT 1 FROM enterprises e WHERE e.uscc = p.uscc)")" 0 \
    "every point's enterprise exists"
assert_eq "$(sql "SELECT count(*) FROM points WHERE hazard_source IS NOT NULL AND hazard_source NOT IN (SELECT code FROM hazard_sources)")" 0 \
    "every point's hazard source exists"
assert_eq "$(sql "SELECT count(*) FROM enterprises e WHERE NOT EXISTS (SELECT 1 FROM responsibilities r WHERE r.uscc = e.uscc AND r.territorial = e.district)")" 0 \
    "every enterprise has a responsibility with its own district"
assert_eq "$(sql "SELECT count(*) FROM enterprises e WHERE NOT EXISTS (SELECT 1 FROM duty_rosters d WHERE d.unit = e.district AND d.start_at <= now() AND now() < d.end_at)")" 0 \
    "a roster of every enterprise's district covers now"
assert_eq "$(sql "SELECT count(*) FROM duty_rosters WHERE unit = 'AWB' AND start_at <= now() AND now() < end_at")" 1 \
    "the city office has its duty now"
assert_eq "$(sql "SELECT count(DISTINCT unit) FROM duty_rosters WHERE end_at >= now() + interval '6 days'")" \
    "$(sql "SELECT (SELECT count(*) FROM districts) + (SELECT count(*) FROM departments)")" \
    "every district and department has rosters a week ahead"
assert_eq "$(sql "SELECT count(*) FROM hazard_source_chemicals GROUP BY hazard_source HAVING sum(quantity_t / critical_t) < 1")" "" \
    "every hazard source holds its critical quantity (S >= 1)"
assert_eq "$(sql "SELECT count(*) FROM enterprises WHERE lon NOT BETWEEN 116.8 AND 117.4 OR lat NOT BETWEEN 36.4 AND 36.9")" 0 \
    "every enterprise inside the city"
sql "SELECT name FROM enterprises ORDER BY uscc LIMIT 1" | grep -q '^济南.*公司$' || fail "enterprise names: $(sql "SELECT name FROM enterprises LIMIT 3")"
pass "enterprise names read like Jinan's"

# The player: readings stored, some above H, for 5 seconds.
BEFORE=$(sql "SELECT count(*) FROM readings")
ANQUAN_TOKEN=$TOKEN sim play $CITY --url "$U" --rate 1000 --duration 5 >"$T/play.out" 2>&1 || fail "play: $(cat "$T/play.out")"
cat "$T/play.out"
grep -q '^citysim play: done, .* rejected=0 failed=0 ' "$T/play.out" || fail "play: $(tail -1 "$T/play.out")"
AFTER=$(sql "SELECT count(*) FROM readings")
[ "$AFTER" -ge $((BEFORE + 3000)) ] || fail "play stored $((AFTER - BEFORE)) readings, want >= 3000"
pass "play stored $((AFTER - BEFORE)) readings"
HIGH=$(sql "SELECT count(*) FROM readings r JOIN points p ON p.code = r.point WHERE r.value > p.h")
[ "$HIGH" -gt 0 ] || fail "no reading above H"
pass "$HIGH readings above H"
assert_eq "$(sql "SELECT count(*) FROM readings r WHERE NOT EXISTS (SELECT 1 FROM points p WHERE p.code = r.point)")" 0 "readings only for registered points"
assert_eq "$(sql "SELECT count(*) FROM quarantine")" 0 "nothing quarantined"

# SIGTERM stops play cleanly, with its last line.
sys_spawn play "$BIN/citysim" play $CITY --url "$U" --token "$TOKEN" --rate 500
PLAY=$LAST_PID
N0=$(sql "SELECT count(*) FROM readings")
grows() { [ "$(sql "SELECT count(*) FROM readings")" -gt "$N0" ]; }
wait_for 20 "play to store readings" grows
kill -TERM "$PLAY"
rc=0; wait "$PLAY" || rc=$?
assert_eq "$rc" 0 "play exit status after SIGTERM"
grep -q '^citysim play: stopped by signal,' "$T/play.log" || fail "no final line: $(cat "$T/play.log")"
pass "play stops on SIGTERM"

for f in "$T"/*.log "$T"/*.out; do
	grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error' "$f" && fail "sanitizer report in $f"
done
pass "t_citysim done"

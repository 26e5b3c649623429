#!/bin/sh
# t_alarmd_console.sh - the duty console in a real browser: Debian's
# Chromium, headless, driven by tests/browser/console.sh (playwright-core).
#
# A cluster, ingestd, riskd and alarmd with an enterprise, its
# responsibility, the duty rosters of its district, sector department and
# the city office, and a monitoring point.  An officer of the district's
# roster gets a console token (safetyctl officer create).  The browser
# opens alarmd's GET /, logs in with that token, and, once the live stream
# is open, runs a callback that posts a reading over HH to ingestd; riskd
# raises the alarm, alarmd opens an incident, and the page must show it
# arrive live (no reload) and take the officer's 签收.  Then the store must
# say the same: the incident acknowledged by that officer, the audit entry
# incident.acknowledged by that officer (and a chain that verifies), a
# notification 'acknowledged', delivered to the webhook receiver.
#
# Needs node, npm and /usr/bin/chromium (deploy/install-deps.sh installs
# them); without them this test fails and says what is missing.  The page
# as the browser last saw it is kept as console.png in the test's folder
# (kept when the test fails).
. "$(dirname "$0")/lib.sh"

BROWSER=$ROOT/tests/browser
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM
command -v node >/dev/null 2>&1 ||
    fail "node is missing: the console's browser test needs Node.js and npm (run deploy/install-deps.sh, or apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 ||
    fail "npm is missing: the console's browser test installs playwright-core with it (run deploy/install-deps.sh, or apt-get install npm)"
[ -x "$CHROMIUM" ] ||
    fail "$CHROMIUM is missing: the console's browser test needs Debian's Chromium (run deploy/install-deps.sh, or apt-get install chromium)"

sys_setup

ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }
IPORT=$(free_port)
RPORT=$(free_port)
APORT=$(free_port)
GW=$(free_port)
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
alarmd_pub = tcp://127.0.0.1:$(free_port)
resync = 500ms
[ingestd]
http_listen = 127.0.0.1:$IPORT
[riskd]
http_listen = 127.0.0.1:$RPORT
tick = 200ms
[alarmd]
http_listen = 127.0.0.1:$APORT
console_url = http://127.0.0.1:$APORT/
group_wait = 300ms
tick = 100ms
receivers = gw=http://127.0.0.1:$GW/hook
backoff_min = 100ms
backoff_max = 400ms
delivery_timeout = 2s
CONF
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
roster() {	# roster ID UNIT LEADER_ID LEADER_NAME OFFICER_ID OFFICER_NAME
	events "$(ev duty.roster "$1" "$(printf '{"unit":"%s","start":%s,"end":%s,"leader":%s,"officers":[%s]}' \
	    "$2" "$((NOW_MS - H_MS))" "$((NOW_MS + 3 * H_MS))" "$(person "$3" "$4" 13900000001)" "$(person "$5" "$6" 13900000002)")")"
}
point() {	# point CODE USCC
	printf '{"code":"%s","uscc":"%s","kind":"level","unit":"m","h":80,"hh":90,"range_lo":0,"range_hi":100,"deadband":1,"expected_interval_s":3600,"enabled":true}' \
	    "$1" "$2"
}
sql_is() { [ "$(sql "$1")" = "$2" ]; }

CITY=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
    || fail "token for city"
OFFICER=$(ctl officer create --id O-370112 --name 李值班 | grep '^aq_') \
    || fail "officer token (safetyctl officer create)"
E1=$("$SYS/ingest_uscc" 370112 41)
E2=$("$SYS/ingest_uscc" 370112 42)

sys_spawn gw "$SYS/webhook_sink" "$GW" "$T/gw.hooks"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
events \
    "$(ev enterprise.upsert e1 "{\"uscc\":\"$E1\",\"name\":\"齐鲁化工有限公司\",\"district\":\"370112\",\"sector\":\"hazchem\",\"employees\":120,\"status\":\"operating\",\"enforcement_level\":\"district\"}")" \
    "$(ev enterprise.upsert e2 "{\"uscc\":\"$E2\",\"name\":\"历城仓储物流\",\"district\":\"370112\",\"sector\":\"other\",\"employees\":40,\"status\":\"operating\",\"enforcement_level\":\"district\"}")"
events \
    "$(ev responsibility.upsert r1 "{\"uscc\":\"$E1\",\"territorial\":\"370112\",\"sector_dept\":\"YJJ\",\"direct_dept\":\"YJJ\"}")" \
    "$(ev responsibility.upsert r2 "{\"uscc\":\"$E2\",\"territorial\":\"370112\",\"sector_dept\":\"SWJ\",\"direct_dept\":\"SWJ\"}")"
events "$(ev point.upsert p1 "$(point LT-101 "$E1")")" "$(ev point.upsert p2 "$(point LT-201 "$E2")")"
roster d1 370112 L-370112 王带班 O-370112 李值班
roster d2 YJJ L-YJJ 赵带班 O-YJJ 钱值班
roster d3 SWJ L-SWJ 孙带班 O-SWJ 周值班
roster d4 AWB L-AWB 吴带班 O-AWB 郑值班

sys_spawn riskd "$BIN/riskd" -d -f "$CONF"
wait_for 30 "riskd /healthz" curl -fsS "http://127.0.0.1:$RPORT/healthz"
wait_for 10 "riskd knows LT-101" curl -fsS "http://127.0.0.1:$RPORT/v1/points/LT-101"
sys_spawn alarmd "$BIN/alarmd" -d -f "$CONF"
wait_for 30 "alarmd /healthz" curl -fsS "$A/healthz"

# An incident already open when the officer logs in (another enterprise),
# so the page has one to list and the new one must be told apart.
reading LT-201 85
wait_for 15 "the incident open before login" sql_is "SELECT count(*) FROM incidents WHERE uscc = '$E2' AND notified_at IS NOT NULL" 1
PRE=$(sql "SELECT id FROM incidents WHERE uscc = '$E2'")

# The callback the browser runs once its stream is open: a reading of
# LT-101 over HH (90), stamped when it runs.
cat >"$T/callback.sh" <<CB
#!/bin/sh
set -eu
body="{\"readings\":[{\"point\":\"LT-101\",\"ts\":\$(date +%s%3N),\"value\":96.5,\"quality\":\"good\"}]}"
code=\$(curl -s -m 10 -o '$T/callback.out' -w '%{http_code}' -H 'Authorization: Bearer $CITY' \\
    -H 'Content-Type: application/json' --data-binary "\$body" '$U/v1/readings')
echo "POST /v1/readings LT-101 96.5: \$code \$(cat '$T/callback.out')"
[ "\$code" = 202 ]
CB
chmod 755 "$T/callback.sh"

log "browser: tests/browser/console.sh $A/ (officer O-370112)"
rc=0
sh "$BROWSER/console.sh" "$A/" "$OFFICER" "sh $T/callback.sh" --match 齐鲁化工 --timeout 45 \
    --screenshot "$T/console.png" >"$T/browser.out" 2>"$T/browser.err" || rc=$?
sed 's/^/  browser| /' "$T/browser.out"
sed 's/^/  browser! /' "$T/browser.err"
case $rc in
0) pass "the browser saw the incident arrive live and acknowledged it" ;;
2) fail "the browser test could not run (exit 2): $(tail -n 3 "$T/browser.err" | tr '\n' ' ')" ;;
*) fail "the browser test failed (exit $rc); the page is in $T/console.png" ;;
esac

# What the page said it did (its one line that is not "console: ...").
LAST=$(grep '^incident=' "$T/browser.out" | tail -n 1)
ID=$(printf '%s\n' "$LAST" | sed -n 's/^incident=\([0-9][0-9]*\) level=\([a-z]*\) status=\([a-z]*\)$/\1/p')
[ -n "$ID" ] || fail "the browser printed no 'incident=ID level=L status=S' line: $(tail -n 1 "$T/browser.out")"
assert_eq "$(printf '%s\n' "$LAST" | sed 's/.* status=//')" acknowledged "the page shows it acknowledged"
[ "$ID" != "$PRE" ] || fail "the page acknowledged the incident that was already open ($PRE), not the new one"

# The store says the same.
assert_eq "$(sql "SELECT uscc || '/' || cause || '/' || level FROM incidents WHERE id = $ID")" "$E1/alarm/orange" \
    "the incident is LT-101's HH alarm (orange)"
assert_eq "$(sql "SELECT count(*) FROM incident_alarms WHERE incident_id = $ID AND point = 'LT-101' AND kind = 'HH'")" 1 \
    "it holds the HH alarm of LT-101"
assert_eq "$(sql "SELECT status || '/' || acknowledged_by FROM incidents WHERE id = $ID")" acknowledged/O-370112 \
    "acknowledged by the officer who logged in"
assert_eq "$(printf '%s\n' "$LAST" | sed 's/.* level=\([a-z]*\) .*/\1/')" "$(sql "SELECT level FROM incidents WHERE id = $ID")" \
    "the page showed the store's level"
assert_eq "$(sql "SELECT count(*) FROM audit_log WHERE action = 'incident.acknowledged' AND actor = 'O-370112' AND subject = 'incident:$ID'")" 1 \
    "the acknowledgement is in the audit journal, by that officer"
assert_eq "$(sql "SELECT count(*) FROM audit_log WHERE action = 'incident.acknowledged'")" 1 \
    "nothing else was acknowledged"
assert_eq "$(sql "SELECT status FROM incidents WHERE id = $PRE")" firing "the other incident is untouched"
assert_eq "$(sql "SELECT count(*) FROM notifications WHERE incident_id = $ID AND status = 'acknowledged'")" 1 \
    "a notification 'acknowledged'"
wait_for 10 "the 'acknowledged' notice at the receiver" sh -c \
    "sed 's/^[0-9]* [^ ]* //' '$T/gw.hooks' | jq -e 'select(.incident == \"$ID\" and .status == \"acknowledged\")' | grep -q ."
pass "the receiver got the 'acknowledged' notice"
ctl audit verify >"$T/verify" 2>&1 || fail "audit verify: $(cat "$T/verify")"
pass "audit verify: $(cat "$T/verify")"
pass "alarmd console: live incident in Chromium, 签收 by O-370112, journaled and notified"

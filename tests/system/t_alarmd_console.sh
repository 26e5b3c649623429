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
. "$(dirname "$0")/alert_lib.sh"

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
al_init
GW=$(free_port)
al_conf <<CONF
console_url = $A/
group_wait = 300ms
tick = 100ms
receivers = gw=http://127.0.0.1:$GW/hook
backoff_min = 100ms
backoff_max = 400ms
delivery_timeout = 2s
CONF

al_city_token
OFFICER=$(al_officer O-370112 李值班) || fail "officer token (safetyctl officer create)"
E1=$("$SYS/ingest_uscc" 370112 41)
E2=$("$SYS/ingest_uscc" 370112 42)

al_sink gw "$GW"
al_start_ingestd
al_events "$(al_enterprise e1 "$E1" 齐鲁化工有限公司 370112 hazchem 120)" "$(al_enterprise e2 "$E2" 历城仓储物流 370112 other 40)"
al_events "$(al_responsibility r1 "$E1" 370112 YJJ)" "$(al_responsibility r2 "$E2" 370112 SWJ)"
al_events "$(al_point p1 LT-101 "$E1")" "$(al_point p2 LT-201 "$E2")"
al_roster d1 370112 L-370112 O-370112 王带班 李值班
al_roster d2 YJJ L-YJJ O-YJJ 赵带班 钱值班
al_roster d3 SWJ L-SWJ O-SWJ 孙带班 周值班
al_roster d4 AWB L-AWB O-AWB 吴带班 郑值班

al_start_riskd
wait_for 10 "riskd knows LT-101" curl -fsS "$R/v1/points/LT-101"
al_start_alarmd

# An incident already open when the officer logs in (another enterprise),
# so the page has one to list and the new one must be told apart.
al_reading LT-201 85
wait_for 15 "the incident open before login" al_sql_is "SELECT count(*) FROM incidents WHERE uscc = '$E2' AND notified_at IS NOT NULL" 1
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
ack_notice() { al_hook_bodies "$T/gw.hooks" | jq -e "select(.incident == \"$ID\" and .status == \"acknowledged\")" | grep -q .; }
wait_for 10 "the 'acknowledged' notice at the receiver" ack_notice
pass "the receiver got the 'acknowledged' notice"
al_audit_verifies
pass "alarmd console: live incident in Chromium, 签收 by O-370112, journaled and notified"

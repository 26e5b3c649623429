#!/bin/sh
# t_alarmd_api.sh - alarmd's HTTP API (services/alarmd/api.c) on a real
# alarmd and a real store: incidents of every status and level written as
# the core writes them (one with alarms, a notification, a failed delivery,
# its fallback and their attempts), then every route: GET /v1/incidents
# (each filter, limit, "more" and the before cursor), GET
# /v1/incidents/{id} (alarms newest first, notifications with deliveries
# and attempts' outcomes), the enterprise's district and sector as codes
# with their names beside them (null for codes the reference tables do not
# hold), POST .../ack and .../resolve with an officer's
# token (401 without one, 409 with the life cycle's reason in Chinese, the
# note required for orange, the change, its notification and its audit
# entry in the store), silences created with a duration and with ends_at,
# listed (with the name of the district matched), expired (409 the second
# time) and audited, and the roster gaps
# of every unit over the coming days.  Every 400 names its parameter or
# field; with the store stopped every route answers 503 with Retry-After
# and recovers when it is back; Chinese comes through as UTF-8 (not \u
# escapes); the audit journal verifies; SIGTERM exits 0 with no sanitizer
# report.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert_lib.sh"
sys_setup
al_init
al_conf <<CONF
gap_check = 1s
CONF

# call METHOD PATH [BODY] [TOKEN]: the status on stdout, the body in
# $T/body, the headers in $T/hdr.
call() {
	set -- "$1" "$2" "${3:-}" "${4-$TOKEN}"
	if [ -n "$3" ]; then
		curl -s -m 30 -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$1" \
		    ${4:+-H "Authorization: Bearer $4"} \
		    -H "Content-Type: application/json" --data-binary "$3" "$A$2"
	else
		curl -s -m 30 -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$1" \
		    ${4:+-H "Authorization: Bearer $4"} "$A$2"
	fi
}
j() { jq -r "$@" "$T/body"; }
# expect STATUS WHAT METHOD PATH [BODY] [TOKEN]
expect() {
	want=$1; what=$2; shift 2
	code=$(call "$@")
	[ "$code" = "$want" ] || fail "$what: $1 $2 gave $code, want $want: $(cat "$T/body")"
}
# refused STATUS ERROR TEXT WHAT METHOD PATH [BODY] [TOKEN]: an error
# answer whose message holds TEXT.
refused() {
	st=$1; err=$2; text=$3; what=$4; shift 4
	expect "$st" "$what" "$@"
	assert_eq "$(j .error)" "$err" "$what: error code"
	case "$(j .message)" in
	*"$text"*) pass "$what: the message says it" ;;
	*) fail "$what: message '$(j .message)' lacks '$text'" ;;
	esac
}
# ts SQL: a timestamptz expression as the API prints it.
ts() { sql "SELECT to_json($1)#>>'{}'"; }

E1=$("$SYS/ingest_uscc" 370112 41)
E2=$("$SYS/ingest_uscc" 370103 42)

# An officer's console token, stored as safetyctl officer create stores
# it: the SHA-256 of the text, the 8 characters after "aq_" as prefix.
TOKEN=aq_$(head -c 25 /dev/urandom | base32 | tr 'A-Z' 'a-z' | tr -d '=\n' | cut -c1-40)
sql "INSERT INTO officer_tokens (prefix, hash, officer, name) VALUES
    (substr('$TOKEN', 4, 8), sha256(convert_to('$TOKEN', 'UTF8')), 'O-1', '值班员甲')"
OTHER=aq_$(head -c 25 /dev/urandom | base32 | tr 'A-Z' 'a-z' | tr -d '=\n' | cut -c1-40)

# Every unit on duty now (so the core raises no roster gap), for the
# coming day; then 370112 again from a day and two hours on for two days,
# and the city office for 40 days.
sql "INSERT INTO duty_rosters (unit, unit_kind, start_at, end_at, leader, officers, source)
    SELECT u.code, u.kind, date_trunc('second', now()) - interval '1 hour',
        date_trunc('second', now()) + interval '1 day',
        '{\"id\":\"L\",\"name\":\"领导\",\"phone\":\"139\"}',
        '[{\"id\":\"O\",\"name\":\"值班员\",\"phone\":\"138\"}]', 'test'
      FROM (SELECT code, 'district' AS kind FROM districts
            UNION ALL SELECT code, 'department' FROM departments
             WHERE code <> 'AWB') u;
    INSERT INTO duty_rosters (unit, unit_kind, start_at, end_at, leader, officers, source) VALUES
    ('370112', 'district', date_trunc('second', now()) + interval '26 hours',
        date_trunc('second', now()) + interval '3 days',
        '{\"id\":\"L\",\"name\":\"领导\"}', '[{\"id\":\"O\",\"name\":\"值班员\"}]', 'test'),
    ('AWB', 'department', date_trunc('second', now()) - interval '1 hour',
        date_trunc('second', now()) + interval '40 days',
        '{\"id\":\"L\",\"name\":\"领导\"}', '[{\"id\":\"O\",\"name\":\"值班员\"}]', 'test')"
BASE=$(sql "SELECT date_trunc('second', min(end_at) - interval '1 day') FROM duty_rosters WHERE unit = '370102'")

# Incidents as the core writes them: I1 orange firing at E1 with two
# alarms and a notification (a failed delivery and its fallback); I2
# yellow firing at E2; I3 red acknowledged at E1; I4 blue resolved with
# no enterprise; I5 yellow firing at E1.
new_incident() {	# new_incident USCC NAME DISTRICT CAUSE LEVEL STATUS TITLE
	sql "INSERT INTO incidents (uscc, enterprise, district, sector, cause, level,
        title, summary, reasons, status, tier, alarm_count, open_alarms, opened_at,
        notified_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by)
    VALUES (NULLIF('$1', ''), NULLIF('$2', ''), NULLIF('$3', ''),
        CASE WHEN '$1' = '' THEN NULL ELSE 'hazchem' END, '$4', '$5', '$7',
        '$7：详情', '[{\"code\":\"r1\",\"text\":\"液位高高\"}]', '$6', 0, 2, 1,
        now() - interval '10 minutes', now() - interval '9 minutes',
        CASE WHEN '$6' <> 'firing' THEN now() END,
        CASE WHEN '$6' <> 'firing' THEN 'O-9' END,
        CASE WHEN '$6' = 'resolved' THEN now() END,
        CASE WHEN '$6' = 'resolved' THEN 'O-9' END)
    RETURNING id"
}
I1=$(new_incident "$E1" 齐鲁化工 370112 alarm orange firing 液位高高报警)
I2=$(new_incident "$E2" 泉城燃气 370103 device yellow firing 点位离线)
I3=$(new_incident "$E1" 齐鲁化工 370112 warning:HS-1 red acknowledged 红色预警)
I4=$(new_incident "" "" "" roster_gap:370105 blue resolved 值班空档)
I5=$(new_incident "$E1" 齐鲁化工 370112 risk yellow firing 风险升高)
sql "INSERT INTO incident_alarms (incident_id, ref, point, kind, level, value, threshold, at) VALUES
    ($I1, 'P-1:1000:HH', 'P-1', 'HH', 'orange', 'NaN', 90, now() - interval '10 minutes'),
    ($I1, 'P-2:2000:H', 'P-2', 'H', 'yellow', 85.5, 80, now() - interval '5 minutes');
    INSERT INTO notifications (incident_id, status, level, tier, recipients, payload) VALUES
    ($I1, 'firing', 'orange', 1, '[{\"officer\":\"O-370112\",\"name\":\"张三\",\"phone\":\"13800000000\",\"role\":\"territorial_officer\"}]', '{}');
    INSERT INTO deliveries (notification_id, receiver, state, attempts, last_error)
        SELECT id, 'gw', 'failed', 2, 'HTTP 500' FROM notifications WHERE incident_id = $I1;
    INSERT INTO deliveries (notification_id, receiver, state, attempts, delivered_at, receipt, fallback_of)
        SELECT notification_id, 'backup', 'delivered', 1, now(), '{\"ok\":true}', id FROM deliveries;
    INSERT INTO delivery_attempts (delivery_id, at, http_status, latency_ms, error)
        SELECT id, now(), CASE WHEN receiver = 'gw' THEN 500 ELSE 200 END, 2.5,
            CASE WHEN receiver = 'gw' THEN 'HTTP 500' END FROM deliveries"

al_start_alarmd

# --- GET /v1/incidents -------------------------------------------------
expect 200 "list" GET /v1/incidents
assert_eq "$(j '[.incidents[].id] | join(",")')" "$I5,$I4,$I3,$I2,$I1" "every incident, newest first"
assert_eq "$(j '.count, .more, .next_before' | tr '\n' ' ')" "5 false null " "count, more, next_before"
assert_eq "$(j ".incidents[] | select(.id == \"$I1\") | [.status, .level, .cause, .enterprise.uscc, .enterprise.name, .enterprise.district, .enterprise.sector, .title, .reasons[0].text, .alarm_count, .open_alarms, .tier, .silenced, .inhibited, .flapping] | map(tostring) | join(\"|\")")" \
    "firing|orange|alarm|$E1|齐鲁化工|370112|hazchem|液位高高报警|液位高高|2|1|0|false|false|false" "an incident's fields"
assert_eq "$(j ".incidents[] | select(.id == \"$I1\") | .enterprise | [.district, .district_name, .sector, .sector_name] | join(\"|\")")" \
    "370112|历城区|hazchem|危险化学品" "the district's and the sector's names beside their codes"
assert_eq "$(j ".incidents[] | select(.id == \"$I2\") | .enterprise | [.district, .district_name] | join(\"|\")")" \
    "370103|市中区" "each incident's own district"
assert_eq "$(j ".incidents[] | select(.id == \"$I4\") | .enterprise")" "null" "no enterprise: null"
assert_eq "$(j ".incidents[] | select(.id == \"$I1\") | .opened_at")" \
    "$(ts "(SELECT opened_at FROM incidents WHERE id = $I1)")" "times in RFC 3339 with +08:00"
grep -q '齐鲁化工' "$T/body" || fail "Chinese is not sent as UTF-8"
pass "Chinese as UTF-8"
expect 200 "firing" GET '/v1/incidents?status=firing'
assert_eq "$(j '[.incidents[].id] | join(",")')" "$I5,$I2,$I1" "status=firing"
expect 200 "open" GET '/v1/incidents?status=open'
assert_eq "$(j '[.incidents[].id] | join(",")')" "$I5,$I3,$I2,$I1" "status=open: all but the resolved"
expect 200 "acknowledged" GET '/v1/incidents?status=acknowledged'
assert_eq "$(j '[.incidents[].id] | join(",")')" "$I3" "status=acknowledged"
expect 200 "resolved" GET '/v1/incidents?status=resolved'
assert_eq "$(j '[.incidents[].id] | join(",")')" "$I4" "status=resolved"
expect 200 "level" GET '/v1/incidents?level=yellow'
assert_eq "$(j '[.incidents[].id] | join(",")')" "$I5,$I2" "level=yellow"
expect 200 "district" GET '/v1/incidents?district=370103'
assert_eq "$(j '[.incidents[].id] | join(",")')" "$I2" "district="
expect 200 "uscc" GET "/v1/incidents?uscc=$E1&status=firing"
assert_eq "$(j '[.incidents[].id] | join(",")')" "$I5,$I1" "uscc= with status="
expect 200 "page 1" GET '/v1/incidents?limit=2'
assert_eq "$(j '([.incidents[].id] | join(",")), .count, .more, .next_before' | tr '\n' ' ')" "$I5,$I4 2 true $I4 " "limit: first page"
expect 200 "page 2" GET "/v1/incidents?limit=2&before=$I4"
assert_eq "$(j '([.incidents[].id] | join(",")), .more, .next_before' | tr '\n' ' ')" "$I3,$I2 true $I2 " "before: second page"
expect 200 "page 3" GET "/v1/incidents?limit=2&before=$I2"
assert_eq "$(j '([.incidents[].id] | join(",")), .more, .next_before' | tr '\n' ' ')" "$I1 false null " "before: last page"
expect 200 "none" GET '/v1/incidents?district=370171'
assert_eq "$(j '.incidents | length')" 0 "a filter matching nothing: an empty list"

refused 400 bad_parameter "'status'" "status=bogus" GET '/v1/incidents?status=bogus'
refused 400 bad_parameter "'level'" "level=pink" GET '/v1/incidents?level=pink'
refused 400 bad_parameter "'district'" "district=37" GET '/v1/incidents?district=37'
refused 400 bad_parameter "'uscc'" "uscc=bad" GET '/v1/incidents?uscc=91370100MA3C00000X'
refused 400 bad_parameter "'limit'" "limit=0" GET '/v1/incidents?limit=0'
refused 400 bad_parameter "'limit'" "limit=1001" GET '/v1/incidents?limit=1001'
refused 400 bad_parameter "'before'" "before=0" GET '/v1/incidents?before=0'
refused 400 bad_parameter "'before'" "before=x" GET '/v1/incidents?before=x'
refused 400 bad_parameter "unknown parameter 'sort'" "unknown parameter" GET '/v1/incidents?sort=id'
refused 400 bad_parameter "more than once" "parameter twice" GET '/v1/incidents?level=red&level=blue'

# --- GET /v1/incidents/{id} --------------------------------------------
expect 200 "detail" GET "/v1/incidents/$I1"
assert_eq "$(j '.id, .status, .title' | tr '\n' ' ')" "$I1 firing 液位高高报警 " "detail: the incident"
assert_eq "$(j '.enterprise | [.district, .district_name, .sector, .sector_name] | join("|")')" \
    "370112|历城区|hazchem|危险化学品" "detail: the names beside the codes"
assert_eq "$(j '([.alarms[].id] | join(",")), .alarms_more' | tr '\n' ' ')" "P-2:2000:H,P-1:1000:HH false " "detail: alarms newest first"
assert_eq "$(j '.alarms[0] | [.point, .kind, .level, .value, .threshold] | map(tostring) | join("|")')" "P-2|H|yellow|85.5|80" "detail: an alarm's fields"
assert_eq "$(j '.alarms[1].value')" "null" "detail: NaN is null"
assert_eq "$(j '.notifications | length')" 1 "detail: one notification"
assert_eq "$(j '.notifications[0] | [.status, .level, .tier, .recipients[0].name] | map(tostring) | join("|")')" "firing|orange|1|张三" "detail: the notification"
assert_eq "$(j '.notifications[0].deliveries | map(.receiver + ":" + .state + ":" + (.attempts|tostring)) | join(",")')" "gw:failed:2,backup:delivered:1" "detail: its deliveries"
assert_eq "$(j '.notifications[0].deliveries[1].fallback_of == .notifications[0].deliveries[0].id')" "true" "detail: the fallback names the failed delivery"
assert_eq "$(j '.notifications[0].deliveries | map(.outcomes[0].outcome + ":" + (.outcomes[0].http_status|tostring)) | join(",")')" "failed:500,delivered:200" "detail: attempts' outcomes"
assert_eq "$(j '.notifications[0].deliveries[1].receipt')" '{"ok":true}' "detail: the receipt kept"
# An incident whose codes the reference tables do not hold (a district
# since merged away, a sector retired): no names, the codes as they are.
I6=$(new_incident "$E2" 泉城燃气 370199 deadline:hazard blue resolved 隐患逾期)
sql "UPDATE incidents SET sector = 'retired' WHERE id = $I6"
expect 200 "unknown codes" GET "/v1/incidents/$I6"
assert_eq "$(j '.enterprise | [.district, .district_name, .sector, .sector_name] | map(tostring) | join("|")')" \
    "370199|null|retired|null" "codes the reference tables lack: names null, codes kept"
expect 200 "unknown codes, listed" GET "/v1/incidents?uscc=$E2&status=resolved"
assert_eq "$(j '.incidents[0].enterprise | [.district_name, .sector_name] | map(tostring) | join("|")')" \
    "null|null" "unknown codes, listed: names null"
refused 404 not_found "no incident 999999" "unknown incident" GET /v1/incidents/999999
refused 400 bad_parameter "'id'" "id=abc" GET /v1/incidents/abc
refused 400 bad_parameter "'id'" "id=0" GET /v1/incidents/0
refused 400 bad_parameter "unknown parameter" "detail takes no parameter" GET "/v1/incidents/$I1?x=1"

# --- ack and resolve ---------------------------------------------------
expect 401 "ack without a token" POST "/v1/incidents/$I1/ack" "" ""
expect 401 "ack with an unknown token" POST "/v1/incidents/$I1/ack" "" "$OTHER"
assert_eq "$(sql "SELECT status FROM incidents WHERE id = $I1")" firing "refused: nothing changed"
refused 400 invalid_body "field 'note' must be a string" "note not a string" POST "/v1/incidents/$I1/ack" '{"note":1}'
refused 400 invalid_body "not JSON" "body not JSON" POST "/v1/incidents/$I1/ack" '{"note":'
refused 400 invalid_body "unknown field 'who'" "unknown field" POST "/v1/incidents/$I1/ack" '{"who":"me"}'
refused 400 bad_parameter "'id'" "ack id=x" POST /v1/incidents/x/ack
expect 404 "ack of no incident" POST /v1/incidents/999999/ack
assert_eq "$(j .error)" not_found "ack of no incident: not_found"
expect 405 "GET on ack" GET "/v1/incidents/$I1/ack"

expect 200 "ack" POST "/v1/incidents/$I1/ack" '{"note":"已收到，正在核实"}'
assert_eq "$(j '.id, .status, .acknowledged_by' | tr '\n' ' ')" "$I1 acknowledged O-1 " "ack: the incident as it now is"
assert_eq "$(j '.enterprise | [.district_name, .sector_name] | join("|")')" "历城区|危险化学品" \
    "ack: the incident read back as the stream sends it, with the names"
assert_eq "$(sql "SELECT status || '/' || acknowledged_by FROM incidents WHERE id = $I1")" "acknowledged/O-1" "ack: in the store"
assert_eq "$(sql "SELECT count(*) FROM notifications WHERE incident_id = $I1 AND status = 'acknowledged'")" 1 "ack: a notification to its recipients"
assert_eq "$(sql "SELECT actor FROM audit_log WHERE action = 'incident.acknowledged' AND subject = 'incident:$I1'")" O-1 "ack: audited with the officer"
refused 409 refused "事件已签收" "ack twice" POST "/v1/incidents/$I1/ack"
refused 409 refused "须填写处置说明" "orange resolved without a note" POST "/v1/incidents/$I1/resolve"
refused 409 refused "须填写处置说明" "orange resolved with a blank note" POST "/v1/incidents/$I1/resolve" '{"note":"  "}'
assert_eq "$(sql "SELECT status FROM incidents WHERE id = $I1")" acknowledged "refused: still acknowledged"
expect 200 "resolve" POST "/v1/incidents/$I1/resolve" '{"note":"液位计故障，已更换"}'
assert_eq "$(j '.status, .resolved_by, .resolution' | tr '\n' ' ')" "resolved O-1 液位计故障，已更换 " "resolve: the incident as it now is"
assert_eq "$(sql "SELECT status || '/' || resolution FROM incidents WHERE id = $I1")" "resolved/液位计故障，已更换" "resolve: in the store"
refused 409 refused "事件已办结" "ack of a resolved incident" POST "/v1/incidents/$I1/ack"
expect 200 "yellow resolved straight from firing, no note" POST "/v1/incidents/$I5/resolve" ""
assert_eq "$(j '.status, .acknowledged_by, .resolved_by' | tr '\n' ' ')" "resolved O-1 O-1 " "resolve of a firing incident acknowledges it too"

# --- silences ----------------------------------------------------------
S='{"matchers":{"district":"370112","level":"orange"},"reason":"停车检修","duration":"2h"}'
expect 401 "silence without a token" POST /v1/silences "$S" ""
refused 400 invalid_body "at least one of" "no matcher" POST /v1/silences '{"matchers":{},"reason":"r","duration":"2h"}'
refused 400 invalid_body "'matchers.level'" "bad level" POST /v1/silences '{"matchers":{"level":"pink"},"reason":"r","duration":"2h"}'
refused 400 invalid_body "field 'reason' is required" "no reason" POST /v1/silences '{"matchers":{"level":"red"},"duration":"2h"}'
refused 400 invalid_body "from 1 minute to 30 days" "too short" POST /v1/silences '{"matchers":{"level":"red"},"reason":"r","duration":"30s"}'
refused 400 invalid_body "from 1 minute to 30 days" "too long" POST /v1/silences '{"matchers":{"level":"red"},"reason":"r","duration":"31d"}'
refused 400 invalid_body "not both" "duration and ends_at" POST /v1/silences '{"matchers":{"level":"red"},"reason":"r","duration":"2h","ends_at":"2030-01-01T00:00:00+08:00"}'
assert_eq "$(sql "SELECT count(*) FROM silences")" 0 "refused: no silence written"

expect 201 "silence" POST /v1/silences "$S"
S1=$(j .id)
assert_eq "$(j '.author, .reason, .state, .active, .matchers.district, .matchers.level' | tr '\n' ' ')" "O-1 停车检修 active true 370112 orange " "silence: as created"
assert_eq "$(j .district_name)" "历城区" "silence: the name of the district it matches"
assert_eq "$(sql "SELECT ends_at - starts_at = interval '2 hours' AND author = 'O-1' FROM silences WHERE id = $S1")" t "silence: two hours in the store"
assert_eq "$(sql "SELECT actor || ' ' || (detail->>'reason') FROM audit_log WHERE action = 'silence.created' AND subject = 'silence:$S1'")" "O-1 停车检修" "silence: audited"
END=$(sql "SELECT to_char(now() + interval '3 days', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '+08:00'")
expect 201 "silence with ends_at" POST /v1/silences "{\"matchers\":{\"uscc\":\"$E2\",\"cause\":\"device\"},\"reason\":\"通讯改造\",\"ends_at\":\"$END\"}"
S2=$(j .id)
assert_eq "$(sql "SELECT ends_at = '$END'::timestamptz FROM silences WHERE id = $S2")" t "silence: ends_at as given"

expect 200 "silences" GET /v1/silences
assert_eq "$(j '([.silences[].id] | join(",")), .count, .more' | tr '\n' ' ')" "$S2,$S1 2 false " "silences: newest first"
assert_eq "$(j '[.silences[].district_name | tostring] | join(",")')" "null,历城区" "silences: a district's name, null without a district"
expect 200 "active" GET '/v1/silences?active=1'
assert_eq "$(j '.count')" 2 "active=1"
expect 200 "inactive" GET '/v1/silences?active=0'
assert_eq "$(j '.count')" 0 "active=0"
expect 200 "limit" GET '/v1/silences?limit=1'
assert_eq "$(j '([.silences[].id] | join(",")), .more' | tr '\n' ' ')" "$S2 true " "silences: limit and more"
refused 400 bad_parameter "'active'" "active=yes" GET '/v1/silences?active=yes'
refused 400 bad_parameter "'limit'" "silences limit=0" GET '/v1/silences?limit=0'

expect 401 "expire without a token" DELETE "/v1/silences/$S1" "" ""
expect 200 "expire" DELETE "/v1/silences/$S1"
assert_eq "$(j '.state, .active, .expired_by' | tr '\n' ' ')" "expired false O-1 " "expire: the silence as it now is"
assert_eq "$(sql "SELECT expired_by FROM silences WHERE id = $S1 AND expired_at IS NOT NULL")" O-1 "expire: in the store"
assert_eq "$(sql "SELECT actor FROM audit_log WHERE action = 'silence.expired' AND subject = 'silence:$S1'")" O-1 "expire: audited"
refused 409 refused "expired already, by O-1" "expire twice" DELETE "/v1/silences/$S1"
assert_eq "$(j .silence.id)" "$S1" "409: the silence as it is"
refused 404 not_found "no silence 999999" "expire of no silence" DELETE /v1/silences/999999
refused 400 bad_parameter "'id'" "expire id=x" DELETE /v1/silences/x
expect 200 "inactive after expiry" GET '/v1/silences?active=0'
assert_eq "$(j '[.silences[].id] | join(",")')" "$S1" "active=0 after expiry"

# --- GET /v1/rosters/gaps ----------------------------------------------
UNITS=$(sql "SELECT (SELECT count(*) FROM districts) + (SELECT count(*) FROM departments)")
expect 200 "gaps" GET '/v1/rosters/gaps?days=2'
assert_eq "$(j '.days, .units, .truncated' | tr '\n' ' ')" "2 $UNITS false " "gaps: every unit looked at"
assert_eq "$(j '.count')" "$((UNITS - 1))" "gaps: every unit but the city office has one"
assert_eq "$(j '[.gaps[] | select(.unit == "AWB")] | length')" 0 "gaps: the city office is covered throughout"
assert_eq "$(j '.gaps[] | select(.unit == "370112") | [.unit_name, .unit_kind, .from, .to, .hours] | map(tostring) | join("|")')" \
    "历城区|district|$(ts "'$BASE'::timestamptz + interval '1 day'")|$(ts "'$BASE'::timestamptz + interval '26 hours'")|2" \
    "gaps: the hole between two shifts, exactly"
assert_eq "$(j '.gaps[] | select(.unit == "YJJ") | [.unit_name, .unit_kind, .from] | join("|")')" \
    "市应急局|department|$(ts "'$BASE'::timestamptz + interval '1 day'")" "gaps: a department's from the end of its shift"
assert_eq "$(j '.gaps[] | select(.unit == "YJJ") | .to == $top.to' --argjson top "$(cat "$T/body")")" true "gaps: to the end of the period"
expect 200 "gaps default" GET /v1/rosters/gaps
assert_eq "$(j '.days')" 7 "gaps: 7 days by default"
assert_eq "$(j '[.gaps[] | select(.unit == "370112")] | length')" 2 "gaps: 370112 has two holes in a week"
refused 400 bad_parameter "'days'" "days=0" GET '/v1/rosters/gaps?days=0'
refused 400 bad_parameter "'days'" "days=32" GET '/v1/rosters/gaps?days=32'
refused 400 bad_parameter "'days'" "days=x" GET '/v1/rosters/gaps?days=x'
refused 400 bad_parameter "unknown parameter 'unit'" "gaps: unknown parameter" GET '/v1/rosters/gaps?unit=AWB'

# --- the store away ----------------------------------------------------
"$ROOT/deploy/pgctl.sh" stop "$T/db" >/dev/null
refused 503 store_unavailable "out of reach" "list, store down" GET /v1/incidents
grep -qi '^retry-after: 1' "$T/hdr" || fail "503 without Retry-After"
pass "503 with Retry-After"
expect 503 "detail, store down" GET "/v1/incidents/$I2"
expect 503 "ack, store down" POST "/v1/incidents/$I2/ack"
assert_eq "$(j .error)" store_unavailable "ack, store down: store_unavailable"
grep -qi '^retry-after:' "$T/hdr" || fail "ack 503 without Retry-After"
expect 503 "silence, store down" POST /v1/silences "$S"
expect 503 "silences, store down" GET /v1/silences
expect 503 "gaps, store down" GET /v1/rosters/gaps
"$ROOT/deploy/pgctl.sh" start "$T/db" >/dev/null
wait_for 30 "the list back" sh -c "curl -fsS '$A/v1/incidents' >/dev/null"
expect 200 "ack, store back" POST "/v1/incidents/$I2/ack"
assert_eq "$(j .status)" acknowledged "ack works again"

# --- the journal, and a clean stop ---------------------------------------
al_audit_verifies
kill -TERM "$ALARMD"
al_exited_zero "$ALARMD" "SIGTERM: exit 0"
al_no_sanitizer_report "$T/alarmd.log"

#!/bin/sh
# t_riskd_ack.sh - riskd hears the duty officers' acknowledgements from
# alarmd (services/riskd/ack.c).  DOMAIN.md 3.4: a 一级 source's orange
# warning turns red when its alarm stays unacknowledged (here the rule
# unacked_orange >= 3s, for the test's pace).  An HH alarm on point A-1 is
# acknowledged on the console's API before 3 s: it is marked in riskd's
# alarms table and the source stays orange for it.  Then A-2 raises HH and
# nobody acknowledges it: the source turns red, and the reason names A-2,
# not the older but acknowledged A-1 (the rule names the oldest
# unacknowledged alarm).  After a restart riskd still knows A-1 was
# acknowledged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert_lib.sh"
sys_setup
al_init
IM=$(free_port)
al_conf <<CONF
group_wait = 0
tick = 100ms
receivers = im=http://127.0.0.1:$IM/hook
CONF
# riskd's red rule: only the unacknowledged one, with a short duration.
sed -i '/^\[riskd\]$/a warning_red = unacked_orange >= 3s grade 1,2' "$CONF"

al_city_token
E1=$("$SYS/ingest_uscc" 370112 61)
al_sink im "$IM"
al_start_ingestd
# A 一级 source: q/Q = 100 (S = 100), 120 people within 500 m (alpha 2).
al_events "$(al_enterprise e1 "$E1" 丙化工厂 370112 hazchem 200)" \
    "$(al_responsibility r1 "$E1" 370112 AWB)" \
    "$(al_ev hazard_source.upsert s1 "{\"code\":\"HS-A\",\"uscc\":\"$E1\",\"name\":\"液氯储罐区\",\"unit_type\":\"storage\",\"people_500m\":120,\"chemicals\":[{\"name\":\"氯\",\"q\":1000,\"Q\":10,\"beta\":1}],\"assessed_on\":\"2025-06-01\",\"responsible\":{\"main\":\"赵一\",\"technical\":\"钱二\",\"operational\":\"孙三\"}}")"
al_events "$(al_point pa1 A-1 "$E1" HS-A)" "$(al_point pa2 A-2 "$E1" HS-A)"
al_roster d1 370112
al_roster d2 AWB
OFFICER=$(al_officer O-370112 值班员甲) || fail "officer token"
al_start_riskd
al_start_alarmd
src() { curl -fsS -m 10 "$R/v1/sources/HS-A"; }
wait_for 15 "HS-A graded" sh -c "curl -fsS '$R/v1/sources/HS-A' >/dev/null"
assert_eq "$(src | jq -r .grade_name)" "一级" "a 一级 source"

# HH on A-1: orange; acknowledged within the 3 s.
al_reading A-1 95
wait_for 10 "orange" al_sql_is "SELECT level FROM source_warnings WHERE code = 'HS-A'" orange
I1=$(sql "SELECT incident_id FROM incident_alarms WHERE point = 'A-1'")
[ -n "$I1" ] || fail "no incident for A-1"
code=$(curl -s -o "$T/ack" -w '%{http_code}' -X POST -H "Authorization: Bearer $OFFICER" \
    -H 'Content-Type: application/json' --data '{}' "$A/v1/incidents/$I1/ack")
assert_eq "$code" 200 "A-1's incident acknowledged: $(cat "$T/ack")"
wait_for 10 "riskd marks A-1 acknowledged" al_sql_is "SELECT acknowledged_at IS NOT NULL FROM alarms WHERE point = 'A-1' AND cleared_at IS NULL" t

# HH on A-2, not acknowledged: red after 3 s, for A-2.
al_reading A-2 95
wait_for 20 "red for the unacknowledged alarm" al_sql_is "SELECT level FROM source_warnings WHERE code = 'HS-A'" red
reason=$(src | jq -r '.warning.reasons[0].text')
case $reason in
*"点位 A-2 "*未确认*) pass "red for A-2: $reason" ;;
*) fail "the red reason is not A-2's being unacknowledged: $reason" ;;
esac
assert_eq "$(sql "SELECT acknowledged_at IS NULL FROM alarms WHERE point = 'A-2' AND cleared_at IS NULL")" t "A-2 not acknowledged"

# A restart: A-1 still acknowledged in the model (the reason still A-2).
kill -TERM "$RISKD"
al_exited_zero "$RISKD" "riskd stopped"
al_start_riskd riskd2
wait_for 15 "HS-A re-evaluated" sh -c "curl -fsS '$R/v1/sources/HS-A' | jq -e '.warning.level == \"red\" and .warning.reasons[0].text != null' >/dev/null"
reason=$(src | jq -r '.warning.reasons[0].text')
case $reason in
*"点位 A-2 "*未确认*) pass "after the restart A-1 is still acknowledged: $reason" ;;
*) fail "after the restart the red reason is not A-2's: $reason" ;;
esac
al_no_sanitizer_report "$T"/riskd*.log "$T"/alarmd*.log
pass "riskd: acknowledgements from alarmd keep an acknowledged alarm from turning its source red"

#!/bin/sh
# t_alarmd_noise.sh - alarmd's noise control and its reminders from the
# records: a point raising again and again is held back as flapping (its
# incident counts every alarm, one incident for the storm), and the
# deadlines of DOMAIN.md 6 (a hidden hazard due within 24 h, a major one
# overdue, special equipment past its inspection date) each open one
# incident routed like an alarm, raised once however often the check runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert_lib.sh"
sys_setup
al_init
IM=$(free_port)
al_conf <<CONF
group_wait = 300ms
tick = 100ms
flap_count = 3
flap_window = 10m
auto_resolve_levels = blue
reminder_check = 1s
gap_check = 1h
receivers = im=http://127.0.0.1:$IM/hook
CONF
DAY_MS=$((24 * H_MS))

al_city_token
E1=$("$SYS/ingest_uscc" 370112 41)
al_sink im "$IM"
al_start_ingestd
al_events "$(al_enterprise e1 "$E1" 历城机械厂 370112 other 40)"
al_events "$(al_responsibility r1 "$E1" 370112 AWB)" \
    "$(al_ev point.upsert p1 "{\"code\":\"F-1\",\"uscc\":\"$E1\",\"kind\":\"pressure\",\"unit\":\"MPa\",\"h\":1.6,\"hh\":2.0,\"range_lo\":0,\"range_hi\":4,\"deadband\":0.05,\"expected_interval_s\":3600,\"enabled\":true}")"
al_roster d1 370112
al_roster d2 AWB

al_start_riskd
al_start_alarmd

# A flapping point: H, clear, H, clear, H within the window (yellow
# incidents do not resolve themselves here, so the storm stays one
# incident).  One incident holds all three alarms; from the third on it
# is flapping and its notices are held.
for i in 1 2 3; do
	al_reading F-1 1.7
	wait_for 10 "raise $i" al_sql_is "SELECT count(*) FROM incident_alarms WHERE point = 'F-1'" "$i"
	al_reading F-1 1.0
	wait_for 10 "clear $i" al_sql_is "SELECT count(*) FROM incident_alarms WHERE point = 'F-1' AND cleared_at IS NOT NULL" "$i"
done
assert_eq "$(sql "SELECT count(DISTINCT incident_id) FROM incident_alarms WHERE point = 'F-1'")" 1 "one incident for the storm"
I=$(sql "SELECT incident_id FROM incident_alarms WHERE point = 'F-1' LIMIT 1")
assert_eq "$(sql "SELECT alarm_count || '/' || flapping FROM incidents WHERE id = $I")" 3/true "counted, and flapping"
al_reading F-1 2.1
wait_for 10 "the escalated notice held as flapping" al_sql_is "SELECT count(*) > 0 FROM notifications WHERE incident_id = $I AND held = 'flapping'" t
assert_eq "$(curl -fsS "$A/v1/incidents/$I" | jq -r .flapping)" true "the API shows it"

# The records' deadlines: a general hazard due in 3 h, a major one a day
# overdue, two elevators past their inspection dates (one incident per
# enterprise and kind of deadline, each record an alarm of it).
al_events \
    "$(al_ev hazard.reported h1 "{\"hazard_id\":\"HZ-1\",\"uscc\":\"$E1\",\"level\":\"general\",\"source\":\"self_check\",\"description\":\"配电箱门锁损坏\",\"found_at\":$((NOW_MS - DAY_MS)),\"deadline\":$((NOW_MS + 3 * H_MS)),\"responsible_unit\":\"动力车间\",\"responsible_person\":\"周工\",\"measures\":\"更换门锁\"}")" \
    "$(al_ev hazard.reported h2 "{\"hazard_id\":\"HZ-2\",\"uscc\":\"$E1\",\"level\":\"major\",\"source\":\"inspection\",\"description\":\"压力容器安全阀失效\",\"found_at\":$((NOW_MS - 10 * DAY_MS)),\"deadline\":$((NOW_MS - DAY_MS)),\"responsible_unit\":\"设备科\",\"responsible_person\":\"吴工\",\"measures\":\"更换安全阀并校验\"}")" \
    "$(al_ev equipment.upsert q1 "{\"code\":\"EL-1\",\"uscc\":\"$E1\",\"kind\":\"elevator\",\"rescue_code\":\"123456\",\"key_place\":false,\"next_due_on\":\"2026-01-01\"}")" \
    "$(al_ev equipment.upsert q2 "{\"code\":\"EL-2\",\"uscc\":\"$E1\",\"kind\":\"elevator\",\"rescue_code\":\"123457\",\"key_place\":false,\"next_due_on\":\"2026-02-01\"}")"
wait_for 15 "three deadline incidents" al_sql_is "SELECT count(*) FROM incidents WHERE uscc = '$E1' AND cause LIKE 'deadline:%'" 3
assert_eq "$(sql "SELECT string_agg(split_part(cause, ':', 2) || '/' || level, ',' ORDER BY cause) FROM incidents WHERE uscc = '$E1' AND cause LIKE 'deadline:%'")" \
    "equipment_overdue/yellow,hazard_due/yellow,hazard_overdue/orange" "each deadline's kind and level"
sql "SELECT title FROM incidents WHERE cause = 'deadline:hazard_overdue'" | grep -q '重大隐患逾期未整改' || fail "the overdue hazard's title"
wait_for 10 "both elevators in one incident" al_sql_is "SELECT alarm_count FROM incidents WHERE uscc = '$E1' AND cause = 'deadline:equipment_overdue'" 2
sql "SELECT summary FROM incidents WHERE cause = 'deadline:equipment_overdue'" | grep -q '等 2 项' || fail "the grouped summary"
wait_for 10 "their notices" al_sql_is "SELECT count(DISTINCT n.incident_id) FROM notifications n JOIN incidents i ON i.id = n.incident_id WHERE i.cause LIKE 'deadline:%' AND n.held IS NULL" 3
# Raised once: later checks find them in reminders_raised.
n0=$(sql "SELECT count(*) FROM incidents WHERE cause LIKE 'deadline:%'")
i=0
while [ $i -lt 15 ]; do
	assert_eq "$(sql "SELECT count(*) FROM incidents WHERE cause LIKE 'deadline:%'")" "$n0" "each deadline raised once"
	sleep 0.2
	i=$((i + 1))
done
assert_eq "$(sql "SELECT count(*) FROM reminders_raised")" 4 "four reminders recorded (two elevators)"
pass "alarmd: flapping held, one incident for a storm, deadline reminders raised once"

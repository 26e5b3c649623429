#!/bin/sh
# t_alarmd_batch.sh - alarms that reach alarmd together are taken into
# incidents as one set (services/alarmd/core.c, the intake).  With alarmd
# stopped, riskd raises a burst of alarms for two plants; started again,
# alarmd takes the burst from the bus log.  The plant whose incident is
# open already has every alarm joined to it, counted once, and is told
# once that it got worse (H was yellow, HH is orange); the other plant
# gets one new incident holding all its alarms, told once, the notice
# listing what it counts.  Both notices reach the receiver once each, and
# a restart of alarmd afterwards adds nothing.  Then a storm over 120
# plants at once: a duty console open on the live stream is told to read
# the list again ("refresh"), not sent 120 frames, and stays connected.
# Last, the store refuses the notices of a batch (a trigger, as a full
# disk would): the batch's pipelined writes roll back whole, nothing of it
# is seen, and once the store takes them again the alarm is an incident
# told once.  And the store stopped while alarmd is half-way through a
# burst of 60 plants it replays from the log (its notices held up by a
# sleeping trigger): once the store is back, every alarm is in an
# incident, each incident told and delivered exactly once.
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

al_city_token
E1=$("$SYS/ingest_uscc" 370112 51)
E2=$("$SYS/ingest_uscc" 370112 52)
al_sink im "$IM"
al_start_ingestd
al_events "$(al_enterprise e1 "$E1" 甲化工厂 370112 hazchem 80)" \
    "$(al_enterprise e2 "$E2" 乙化工厂 370112 hazchem 60)" \
    "$(al_responsibility r1 "$E1" 370112 AWB)" \
    "$(al_responsibility r2 "$E2" 370112 AWB)"
pts=""
for i in 0 1 2 3 4 5 6 7 8 9; do pts="$pts $(al_point pa$i A-$i "$E1")"; done
for i in 0 1 2 3 4; do pts="$pts $(al_point pb$i B-$i "$E2")"; done
# shellcheck disable=SC2086
al_events $pts
al_roster d1 370112
al_roster d2 AWB
al_start_riskd
al_start_alarmd

# The first plant's incident: one H alarm (yellow), told.
al_reading A-0 85
wait_for 15 "the first incident told" al_sql_is "SELECT count(*) FROM notifications n JOIN incidents i ON i.id = n.incident_id WHERE i.uscc = '$E1'" 1
I1=$(sql "SELECT id FROM incidents WHERE uscc = '$E1'")
assert_eq "$(sql "SELECT level || '/' || alarm_count FROM incidents WHERE id = $I1")" yellow/1 "yellow, one alarm"

# alarmd away; a burst of HH alarms: nine for the first plant, five for
# the second, in one batch of readings.
kill -TERM "$ALARMD"
al_exited_zero "$ALARMD" "alarmd stopped"
now=$(date +%s%3N)
body=""
for p in A-1 A-2 A-3 A-4 A-5 A-6 A-7 A-8 A-9 B-0 B-1 B-2 B-3 B-4; do
	body="$body{\"point\":\"$p\",\"ts\":$now,\"value\":95,\"quality\":\"good\"},"
done
code=$(al_post readings "{\"readings\":[${body%,}]}")
assert_eq "$code" 202 "the burst taken by ingestd"
wait_for 15 "riskd raised the burst" al_sql_is "SELECT count(*) FROM alarms WHERE kind = 'HH' AND uscc IN ('$E1', '$E2')" 14

al_start_alarmd alarmd2
wait_for 15 "the burst taken" al_sql_is "SELECT count(*) FROM incident_alarms" 15
assert_eq "$(sql "SELECT count(*) FROM incidents WHERE uscc = '$E1'")" 1 "the first plant: still one incident"
assert_eq "$(sql "SELECT level || '/' || alarm_count || '/' || open_alarms FROM incidents WHERE id = $I1")" orange/10/10 "raised to orange, every alarm counted once"
wait_for 15 "told it got worse" al_sql_is "SELECT count(*) FROM notifications WHERE incident_id = $I1 AND status = 'escalated'" 1
assert_eq "$(sql "SELECT count(*) FROM notifications WHERE incident_id = $I1")" 2 "the first plant: two notices in all"
assert_eq "$(sql "SELECT sum((detail->>'alarms')::int) FROM audit_log WHERE subject = 'incident:$I1' AND action = 'incident.joined'")" 9 "the joins journaled with their counts"

assert_eq "$(sql "SELECT count(*) FROM incidents WHERE uscc = '$E2'")" 1 "the second plant: one incident for five alarms"
I2=$(sql "SELECT id FROM incidents WHERE uscc = '$E2'")
assert_eq "$(sql "SELECT level || '/' || alarm_count FROM incidents WHERE id = $I2")" orange/5 "orange, five alarms"
wait_for 15 "the second plant told" al_notified "$T/im.hooks" "$I2"
assert_eq "$(sql "SELECT count(*) FROM notifications WHERE incident_id = $I2")" 1 "the second plant: one notice"
n2=$(al_hook_bodies "$T/im.hooks" "$I2" | head -1)
assert_eq "$(printf '%s' "$n2" | jq -r '.status + "/" + .level')" firing/orange "its notice: firing, orange"
assert_eq "$(printf '%s' "$n2" | jq '(.alarms | length) == .alarm_count')" true "the notice lists what it counts"
assert_eq "$(printf '%s' "$n2" | jq -r '[.alarms[].point] | sort | join(",")')" \
    "$(sql "SELECT string_agg(point, ',' ORDER BY point) FROM incident_alarms WHERE incident_id = $I2 AND at <= (SELECT created_at FROM notifications WHERE incident_id = $I2)")" \
    "its alarms are the incident's"
assert_eq "$(printf '%s' "$n2" | jq -r '[.recipients[].officer] | sort | join(",")')" "O-370112,O-AWB" \
    "routed for orange: the district's officer and the department's"

wait_for 15 "every notice delivered" al_sql_is "SELECT count(*) FROM deliveries WHERE state = 'delivered'" 3
assert_eq "$(wc -l <"$T/im.hooks")" 3 "the receiver got three notices, once each"

# A restart takes nothing again.
kill -TERM "$ALARMD"
al_exited_zero "$ALARMD" "alarmd2 stopped"
al_start_alarmd alarmd3
sleep 1
assert_eq "$(sql "SELECT count(*) FROM notifications")" 3 "no notice after the restart"
assert_eq "$(sql "SELECT sum(alarm_count) FROM incidents")" 15 "no alarm counted twice"

# A storm over 120 plants, alarmd away while riskd raises it.
evs=""
rds=""
i=100
while [ $i -lt 220 ]; do
	u=$("$SYS/ingest_uscc" 370112 "$i")
	evs="$evs $(al_enterprise s$i "$u" 风暴企业$i 370112 hazchem 10) $(al_responsibility sr$i "$u" 370112 AWB) $(al_point sp$i S-$i "$u")"
	rds="$rds{\"point\":\"S-$i\",\"ts\":$(date +%s%3N),\"value\":95,\"quality\":\"good\"},"
	i=$((i + 1))
done
# shellcheck disable=SC2086
al_events $evs
OFFICER=$(al_officer O-370112 值班员甲) || fail "officer token"
kill -TERM "$ALARMD"
al_exited_zero "$ALARMD" "alarmd3 stopped"
code=$(al_post readings "{\"readings\":[${rds%,}]}")
assert_eq "$code" 202 "the storm taken by ingestd"
wait_for 20 "riskd raised the storm" al_sql_is "SELECT count(*) FROM alarms WHERE point LIKE 'S-%'" 120
# alarmd back with a group wait: the storm's incidents open together (one
# replayed page), and their first notices are due together 2 s later, one
# transaction of 120 changes with the console connected.
al_conf <<CONF
group_wait = 2s
tick = 100ms
receivers = im=http://127.0.0.1:$IM/hook
CONF
al_start_alarmd alarmd4
curl -sN "$A/v1/stream?token=$OFFICER" >"$T/console.sse" 2>/dev/null &
SSE=$!
wait_for 10 "the console connected" sh -c "curl -s '$A/metrics' | grep -q '^anquan_alarmd_sse_clients 1'"
wait_for 20 "the storm told" al_sql_is "SELECT count(*) FROM notifications n JOIN incidents i ON i.id = n.incident_id JOIN enterprises e ON e.uscc = i.uscc WHERE e.name LIKE '风暴企业%'" 120
wait_for 10 "the console told to read the list again" grep -q '^event: refresh' "$T/console.sse"
assert_eq "$(grep -c '^event: incident' "$T/console.sse")" 0 "no frame per incident of the storm"
assert_eq "$(curl -s "$A/metrics" | awk '/^anquan_alarmd_sse_clients/ { print $2 }')" 1 "the console still connected"
kill "$SSE" 2>/dev/null || true
wait "$SSE" 2>/dev/null || true

# The store refuses notices for a while.
F=$("$SYS/ingest_uscc" 370112 300)
al_events "$(al_enterprise f1 "$F" 丁化工厂 370112 hazchem 10)" \
    "$(al_responsibility fr1 "$F" 370112 AWB)" "$(al_point fp1 F-1 "$F")"
sql "CREATE TABLE test_refuse (on_ boolean);
INSERT INTO test_refuse VALUES (true);
CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF EXISTS (SELECT 1 FROM test_refuse) THEN
		RAISE EXCEPTION 'the test refuses notices';
	END IF;
	RETURN NULL;
END \$\$;
CREATE TRIGGER test_refuse BEFORE INSERT ON notifications
	FOR EACH STATEMENT EXECUTE FUNCTION test_refuse();" >/dev/null
# No group wait again: the alarm's incident and its notice are one batch.
kill -TERM "$ALARMD"
al_exited_zero "$ALARMD" "alarmd4 stopped"
al_conf <<CONF
group_wait = 0
tick = 100ms
receivers = im=http://127.0.0.1:$IM/hook
CONF
al_start_alarmd alarmd5
al_reading F-1 95
wait_for 15 "the batch refused" grep -q "the test refuses notices" "$T/alarmd5.log"
wait_for 15 "refused again on retry" sh -c "[ \$(grep -c 'the test refuses notices' '$T/alarmd5.log') -ge 2 ]"
assert_eq "$(sql "SELECT count(*) FROM incidents WHERE uscc = '$F'")" 0 "nothing of the refused batch kept"
assert_eq "$(sql "SELECT count(*) FROM incident_alarms WHERE point = 'F-1'")" 0 "not even its alarm"
sql "DELETE FROM test_refuse" >/dev/null
wait_for 15 "taken once the store takes it" al_sql_is "SELECT count(*) FROM notifications n JOIN incidents i ON i.id = n.incident_id WHERE i.uscc = '$F'" 1
I3=$(sql "SELECT id FROM incidents WHERE uscc = '$F'")
wait_for 15 "its notice delivered" al_notified "$T/im.hooks" "$I3"
assert_eq "$(al_hook_count "$T/im.hooks" "$I3")" 1 "delivered once"
assert_eq "$(sql "SELECT alarm_count FROM incidents WHERE id = $I3")" 1 "its alarm counted once"

# The store away in the middle of a burst.
evs=""
rds=""
i=400
while [ $i -lt 460 ]; do
	u=$("$SYS/ingest_uscc" 370112 "$i")
	evs="$evs $(al_enterprise g$i "$u" 断电企业$i 370112 hazchem 10) $(al_responsibility gr$i "$u" 370112 AWB) $(al_point gp$i G-$i "$u")"
	rds="$rds{\"point\":\"G-$i\",\"ts\":$(date +%s%3N),\"value\":95,\"quality\":\"good\"},"
	i=$((i + 1))
done
# shellcheck disable=SC2086
al_events $evs
kill -TERM "$ALARMD"
al_exited_zero "$ALARMD" "alarmd5 stopped"
code=$(al_post readings "{\"readings\":[${rds%,}]}")
assert_eq "$code" 202 "the burst taken by ingestd"
wait_for 20 "riskd raised the burst" al_sql_is "SELECT count(*) FROM alarms WHERE point LIKE 'G-%'" 60
# The notices of a batch take their time (a trigger sleeps), so alarmd's
# batch is half-way (its incidents written, its notices not) when the
# store goes away.
sql "CREATE TABLE test_slow (on_ boolean);
INSERT INTO test_slow VALUES (true);
CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF EXISTS (SELECT 1 FROM test_slow) THEN
		PERFORM pg_sleep(20);
	END IF;
	RETURN NULL;
END \$\$;
CREATE TRIGGER test_slow BEFORE INSERT ON notifications
	FOR EACH STATEMENT EXECUTE FUNCTION test_slow();" >/dev/null
G0="SELECT i.id FROM incidents i JOIN enterprises e ON e.uscc = i.uscc WHERE e.name LIKE '断电企业%'"
sys_spawn alarmd6 "$BIN/alarmd" -d -f "$CONF"
ALARMD=$LAST_PID
wait_for 15 "alarmd's batch half-way" al_sql_is "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'PgSleep'" t
assert_eq "$(sql "SELECT count(*) FROM ($G0) g")" 0 "nothing of the burst committed yet"
"$ROOT/deploy/pgctl.sh" stop "$T/db" >/dev/null
"$ROOT/deploy/pgctl.sh" start "$T/db" >/dev/null
sql "DELETE FROM test_slow" >/dev/null
G="SELECT i.id FROM incidents i JOIN enterprises e ON e.uscc = i.uscc WHERE e.name LIKE '断电企业%'"
wait_for 30 "the burst taken after the store came back" al_sql_is "SELECT count(*) FROM ($G) g" 60
wait_for 30 "each told" al_sql_is "SELECT count(*) FROM notifications WHERE incident_id IN ($G)" 60
assert_eq "$(sql "SELECT count(*) FROM incident_alarms WHERE point LIKE 'G-%'")" 60 "every alarm of the burst in an incident"
assert_eq "$(sql "SELECT count(DISTINCT incident_id) FROM notifications WHERE incident_id IN ($G)")" 60 "one notice each"
wait_for 30 "each delivered" al_sql_is "SELECT count(*) FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.incident_id IN ($G) AND d.state = 'delivered'" 60
dups=$(sql "$G" | while read -r id; do al_hook_count "$T/im.hooks" "$id"; done | sort | uniq -c | awk '$2 != 1 { n += $1 } END { print n + 0 }')
assert_eq "$dups" 0 "the receiver got each of them exactly once"

al_audit_verifies
al_no_sanitizer_report "$T"/alarmd*.log
pass "alarmd: a burst taken as a set, joined, counted and told once"

#!/bin/sh
# t_ingest_crash.sh - accepted means durable, even across kill -9.  A client
# posts numbered batches in a loop and records each one answered 202; ingestd
# is killed with SIGKILL right after an acknowledgement, mid-stream, and
# started again while the client keeps going.  Every acknowledged reading
# must be in the table, and every batch is all or nothing (a group commit is
# one transaction).  A bus consumer (tests/system/bus_consumer, with its
# cursor and replay) must see every message ingestd logged, exactly once,
# the crash notwithstanding.
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
resync = 200ms
[ingestd]
http_listen = 127.0.0.1:$HTTP_PORT
CONF
U=http://127.0.0.1:$HTTP_PORT
NOW_MS=$(( $(date +%s) * 1000 ))
BATCHES=120
PER=20	# readings per batch: 5 points x 4 times

TOKEN=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') || fail "token"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"

# Five points on two enterprises in two districts, so batches span topics.
U1=$("$SYS/ingest_uscc" 370112 1)
U2=$("$SYS/ingest_uscc" 370102 2)
EV="{\"events\":[
 {\"kind\":\"enterprise.upsert\",\"id\":\"e-1\",\"at\":$NOW_MS,\"data\":{\"uscc\":\"$U1\",\"name\":\"一厂\",\"district\":\"370112\",\"sector\":\"hazchem\",\"employees\":10,\"status\":\"operating\",\"enforcement_level\":\"city\"}},
 {\"kind\":\"enterprise.upsert\",\"id\":\"e-2\",\"at\":$NOW_MS,\"data\":{\"uscc\":\"$U2\",\"name\":\"燃气公司\",\"district\":\"370102\",\"sector\":\"gas\",\"employees\":10,\"status\":\"operating\",\"enforcement_level\":\"city\"}}"
for p in 1 2 3 4 5; do
	u=$U1; [ $p -gt 3 ] && u=$U2
	EV="$EV,{\"kind\":\"point.upsert\",\"id\":\"p-$p\",\"at\":$NOW_MS,\"data\":{\"code\":\"K-$p\",\"uscc\":\"$u\",\"kind\":\"temperature\",\"unit\":\"degC\",\"enabled\":true}}"
done
EV="$EV]}"
code=$(curl -s -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" --data-binary "$EV" "$U/v1/events")
[ "$code" = 202 ] || fail "registry events: $code $(cat "$T/out")"
assert_eq "$(jq -r .accepted "$T/out")" 7 "registry of 2 enterprises and 5 points"

sys_spawn consumer "$SYS/bus_consumer" -n crashtest -c "tcp://127.0.0.1:$PUB_PORT" -p rd. --resync-ms 200
wait_for 20 "the consumer's table" sql "SELECT 1 FROM bus_test_seen LIMIT 0"

# The client: batch k holds readings at B + k*1000 + j (j < 4) for K-1..K-5.
# A batch answered 202 goes to acked; any other answer (or none, while
# ingestd is dead) is retried until it is acknowledged or 15 s pass.
B=$((NOW_MS - 3000000))
cat >"$T/client.sh" <<'CLIENT'
k=0
while [ $k -lt "$BATCHES" ]; do
	body='{"readings":['
	sep=''
	for p in 1 2 3 4 5; do
		for j in 0 1 2 3; do
			body="$body$sep{\"point\":\"K-$p\",\"ts\":$((B + k * 1000 + j)),\"value\":$k.$j}"
			sep=','
		done
	done
	body="$body]}"
	end=$(( $(date +%s) + 15 ))
	while :; do
		code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		    --data-binary "$body" "$U/v1/readings" || true)
		echo "$k $code" >>"$T/answers"
		if [ "$code" = 202 ]; then echo "$k" >>"$T/acked"; break; fi
		[ "$(date +%s)" -ge "$end" ] && break
		sleep 0.05
	done
	k=$((k + 1))
done
echo done >"$T/client.done"
CLIENT
: >"$T/acked"
export BATCHES B T U TOKEN
sh "$T/client.sh" >"$T/client.log" 2>&1 &
CLIENT=$!
PIDS="$PIDS $CLIENT"

# Kill -9 right after the 40th acknowledgement.
acked_40() { [ "$(wc -l <"$T/acked")" -ge 40 ]; }
wait_for 30 "40 acknowledged batches" acked_40
kill -KILL "$INGESTD"
n_at_kill=$(wc -l <"$T/acked")
log "killed ingestd with SIGKILL after $n_at_kill acknowledged batches"
while kill -0 "$INGESTD" 2>/dev/null; do sleep 0.05; done
# Nothing answers while it is dead (the client records the failures).
wait_for 10 "the client to notice" sh -c "grep -q ' 000\$' '$T/answers'"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
wait_for 30 "ingestd /healthz after the restart" curl -fsS "$U/healthz"
wait_for 60 "the client to finish" test -f "$T/client.done"
wait "$CLIENT" || true
n_acked=$(wc -l <"$T/acked")
[ "$n_acked" -gt "$n_at_kill" ] || fail "no batch acknowledged after the restart"
pass "$n_acked of $BATCHES batches acknowledged"

# Every acknowledged batch is whole in the table; every batch is all or
# nothing; no row outside the batches.
sql "SELECT ((extract(epoch FROM ts) * 1000)::bigint - $B) / 1000 AS k, count(*) FROM readings GROUP BY 1 ORDER BY 1" >"$T/stored"
missing=""
for k in $(sort -n "$T/acked"); do
	got=$(awk -F'|' -v k="$k" '$1 == k { print $2 }' "$T/stored")
	[ "$got" = "$PER" ] || missing="$missing $k:${got:-0}"
done
[ -z "$missing" ] || fail "acknowledged batches not (wholly) stored, batch:rows =$missing"
pass "every acknowledged reading is stored"
partial=$(awk -F'|' -v per="$PER" '$2 != per' "$T/stored")
[ -z "$partial" ] || fail "batches stored in part: $partial"
pass "no batch stored in part"
assert_eq "$(sql "SELECT count(*) FROM readings")" $(( $(wc -l <"$T/stored") * PER )) "no stray rows"

# The consumer saw every logged rd.* message exactly once.
logged=$(sql "SELECT count(*) FROM bus_log WHERE stream LIKE 'rd.%'")
[ "$logged" -gt 0 ] || fail "ingestd logged no rd.* message"
seen_all() { [ "$(sql "SELECT count(DISTINCT (stream, seq)) FROM bus_test_seen WHERE consumer = 'crashtest'")" = "$logged" ]; }
wait_for 30 "the consumer to see all $logged messages" seen_all
assert_eq "$(sql "SELECT count(*) FROM bus_test_seen WHERE consumer = 'crashtest'")" "$logged" "each message handled once"
assert_eq "$(sql "SELECT count(*) FROM bus_log l WHERE stream LIKE 'rd.%' AND NOT EXISTS (SELECT 1 FROM bus_test_seen s WHERE s.consumer = 'crashtest' AND s.stream = l.stream AND s.seq = l.seq)")" 0 "no logged message missed"
live=$(sql "SELECT count(*) FROM bus_test_seen WHERE consumer = 'crashtest' AND NOT replayed")
[ "$live" -gt 0 ] || fail "the consumer got everything by replay: ingestd did not publish live"
pass "$live of $logged messages came live, the rest by replay"
assert_eq "$(sql "SELECT count(DISTINCT stream) FROM bus_log WHERE stream LIKE 'rd.%'")" 2 "two topics (370112.hazchem, 370102.gas)"
sql "SELECT stream FROM bus_log WHERE stream LIKE 'rd.%' GROUP BY 1 ORDER BY 1" | paste -sd' ' | grep -qx 'rd.370102.gas rd.370112.hazchem' \
    || fail "unexpected topics: $(sql "SELECT DISTINCT stream FROM bus_log")"
pass "topics are rd.<district>.<sector>"
grep -q 'AddressSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
pass "t_ingest_crash done"

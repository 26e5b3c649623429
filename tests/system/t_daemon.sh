#!/bin/sh
# t_daemon.sh - the daemon skeleton, through a real daemon (skeld) built on it:
# -n / -nv, config errors with file:line:key, -o overrides, /healthz and
# /metrics, the store going away and coming back, SIGHUP reload, SIGTERM drain.
. "$(dirname "$0")/lib.sh"
sys_setup

SKELD=$SYS/skeld
PORT=$(free_port)
CONF=$T/anquan.conf
write_conf() {	# write_conf GREETING WORKERS
	cat >"$CONF" <<CONF
; test configuration
[log]
level = debug

[store]
backoff_min = 50ms
backoff_max = 200ms

[ingestd]
http_listen = 127.0.0.1:1

[skeld]
http_listen = 127.0.0.1:$PORT
greeting = $1
workers = $2
CONF
}

# -n: a good file.
write_conf "你好" 2
out=$("$SKELD" -n -f "$CONF") || fail "-n on a good config exited $?"
pass "-n accepts a good config: $out"

# -nv prints the effective config, defaults included.
out=$("$SKELD" -nv -f "$CONF")
echo "$out" | grep -q '^greeting = 你好' || fail "-nv lacks greeting: $out"
echo "$out" | grep -q '^drain_work = 300ms' || fail "-nv lacks the default drain_work"
echo "$out" | grep -q '^\[store\]' || fail "-nv lacks [store]"
pass "-nv prints the effective config"

# -n: an unknown key names the file, the line and the key.
cp "$CONF" "$T/bad.conf"
printf 'greting = typo\n' >>"$T/bad.conf"
line=$(wc -l <"$T/bad.conf")
if err=$("$SKELD" -n -f "$T/bad.conf" 2>&1); then fail "-n accepted an unknown key"; fi
echo "$err" | grep -q "$T/bad.conf:$line: \[skeld\] greting" || fail "unknown key error lacks file:line:key: $err"
pass "unknown key: $err"

# -n: a value out of range, and an unknown section.
sed 's/^workers = 2/workers = 500/' "$CONF" >"$T/range.conf"
line=$(grep -n '^workers' "$T/range.conf" | cut -d: -f1)
if err=$("$SKELD" -n -f "$T/range.conf" 2>&1); then fail "-n accepted workers = 500"; fi
echo "$err" | grep -q "range.conf:$line: \[skeld\] workers" || fail "range error lacks file:line:key: $err"
pass "out of range: $err"
printf '[ingsetd]\nhttp_listen = 1\n' >"$T/sec.conf"
if err=$("$SKELD" -n -f "$T/sec.conf" 2>&1); then fail "-n accepted an unknown section"; fi
echo "$err" | grep -q "sec.conf:1" || fail "section error lacks the line: $err"
pass "unknown section: $err"

# -o overrides are checked like the file.
if err=$("$SKELD" -n -f "$CONF" -o skeld.workers=0 2>&1); then fail "-o accepted workers=0"; fi
echo "$err" | grep -q "workers" || fail "-o error lacks the key: $err"
"$SKELD" -nv -f "$CONF" -o skeld.greeting=hi | grep -q '^greeting = hi' || fail "-o did not apply"
pass "-o overrides"

# The shipped config passes -n (skeld reads only the shared sections there).
"$SKELD" -n -f "$ROOT/deploy/anquan.conf" >/dev/null || fail "deploy/anquan.conf fails -n"
pass "deploy/anquan.conf passes -n"

# Run it in the foreground.
sys_spawn skeld "$SKELD" -d -f "$CONF"
SKELD_PID=$LAST_PID
URL=http://127.0.0.1:$PORT
wait_for 20 "skeld /healthz" curl -fsS "$URL/healthz"
body=$(curl -fsS "$URL/healthz")
echo "$body" | grep -q '"status":"ok"' || fail "healthz body: $body"
assert_eq "$(curl -fsS "$URL/v1/hello")" '{"greeting":"你好","workers":2}' "route answers with the config, UTF-8 intact"
code=$(curl -s -o "$T/nf.json" -w '%{http_code}' "$URL/v1/nothing")
assert_eq "$code" 404 "unknown path is 404"
grep -q '"error"' "$T/nf.json" || fail "404 body is not a JSON error: $(cat "$T/nf.json")"

# Metrics: the timer ticks, the skeleton's own series are there.
wait_for 10 "ticks in /metrics" sh -c "curl -fsS $URL/metrics | grep -Eq '^anquan_skeld_ticks_total [1-9]'"
m=$(curl -fsS "$URL/metrics")
for s in anquan_store_connects_total anquan_bus_sent_total anquan_uptime_seconds anquan_process_resident_bytes; do
	echo "$m" | grep -q "^$s " || fail "/metrics lacks $s"
done
echo "$m" | grep -q '^# TYPE anquan_skeld_ticks_total counter' || fail "/metrics lacks TYPE line"
pass "/metrics has the daemon's and the skeleton's series"

# The store goes away: /healthz says 503 with a reason; it comes back: 200.
"$ROOT/deploy/pgctl.sh" stop "$T/db"
wait_for 20 "healthz 503 with the store down" sh -c "test \$(curl -s -o /dev/null -w '%{http_code}' $URL/healthz) = 503"
curl -s "$URL/healthz" | grep -q '"error":"unhealthy"' || fail "503 body is not the JSON error"
kill -0 "$SKELD_PID" || fail "skeld died with the store down"
pass "store down: 503, daemon alive"
"$ROOT/deploy/pgctl.sh" start "$T/db"
wait_for 30 "healthz 200 again" curl -fsS "$URL/healthz"
pass "store back: 200 without a restart"

# SIGHUP: a reloadable key changes; a restart-only key is kept and named.
write_conf "早上好" 8
kill -HUP "$SKELD_PID"
wait_for 10 "new greeting" sh -c "curl -fsS $URL/v1/hello | grep -q 早上好"
assert_eq "$(curl -fsS "$URL/v1/hello")" '{"greeting":"早上好","workers":2}' "reload applied greeting, kept workers"
wait_for 5 "needs_restart log" grep -q 'config.needs_restart key=skeld.workers' "$T/skeld.log"
pass "SIGHUP reload"

# A bad file on SIGHUP changes nothing and the daemon keeps running.
printf 'bogus = 1\n' >>"$CONF"
kill -HUP "$SKELD_PID"
wait_for 5 "reload refused log" grep -q 'config.reload_refused' "$T/skeld.log"
assert_eq "$(curl -fsS "$URL/v1/hello")" '{"greeting":"早上好","workers":2}' "bad reload changed nothing"
curl -fsS "$URL/metrics" | grep -q '^anquan_config_reload_errors_total 1' || fail "reload error not counted"

# SIGTERM: drains (the hook finishes its work), exits 0.
kill -TERM "$SKELD_PID"
i=0
while kill -0 "$SKELD_PID" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "skeld did not exit within 10 s of SIGTERM"
	sleep 0.1
done
wait "$SKELD_PID"; rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
grep -q 'skeld.work_finished' "$T/skeld.log" || fail "drain hook did not finish its work"
grep -q 'daemon.stopped' "$T/skeld.log" || fail "no daemon.stopped line"
pass "SIGTERM drains and exits 0"

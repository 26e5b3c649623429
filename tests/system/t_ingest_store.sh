#!/bin/sh
# t_ingest_store.sh - the store goes away under ingestd: every post is
# answered 503 with Retry-After and a JSON reason, never 202, and /healthz
# says so; the store comes back: ingestd accepts again by itself, without a
# restart, and a batch refused while the store was down, sent again, is
# stored once.
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
connect_timeout = 2s
[bus]
ingestd_pub = tcp://127.0.0.1:$PUB_PORT
ingest_pull = tcp://127.0.0.1:$PULL_PORT
[ingestd]
http_listen = 127.0.0.1:$HTTP_PORT
CONF
U=http://127.0.0.1:$HTTP_PORT
NOW_MS=$(( $(date +%s) * 1000 ))
B=$((NOW_MS - 900000))

post() {	# post DATA: status on stdout, body in $T/out, headers in $T/hdr
	curl -s -m 30 -o "$T/out" -D "$T/hdr" -w '%{http_code}' \
	    -H "Authorization: Bearer $TOKEN" --data-binary "$1" "$U/v1/readings"
}
reading() { printf '{"readings":[{"point":"S-001","ts":%s,"value":%s}]}' $((B + $1)) "$1"; }

TOKEN=$(ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') || fail "token"
sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
INGESTD=$LAST_PID
wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
USCC=$("$SYS/ingest_uscc" 370112 1)
code=$(curl -s -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" --data-binary \
    "{\"events\":[{\"kind\":\"enterprise.upsert\",\"id\":\"e-1\",\"at\":$NOW_MS,\"data\":{\"uscc\":\"$USCC\",\"name\":\"化工厂\",\"district\":\"370112\",\"sector\":\"hazchem\",\"employees\":50,\"status\":\"operating\",\"enforcement_level\":\"district\"}},{\"kind\":\"point.upsert\",\"id\":\"p-1\",\"at\":$NOW_MS,\"data\":{\"code\":\"S-001\",\"uscc\":\"$USCC\",\"kind\":\"gas_combustible\",\"unit\":\"%LEL\",\"enabled\":true}}]}" \
    "$U/v1/events")
[ "$code" = 202 ] || fail "registry events: $code $(cat "$T/out")"
code=$(post "$(reading 0)")
assert_eq "$code" 202 "accepting with the store up"

# The store stops.  The first post may be the one that finds out; from
# then on every post is refused with 503, Retry-After and a JSON reason.
"$ROOT/deploy/pgctl.sh" stop "$T/db"
i=1
is_503() { i=$((i + 1)); [ "$(post "$(reading "$i")")" = 503 ]; }
wait_for 30 "503 with the store down" is_503
grep -qi '^Retry-After: *[0-9]' "$T/hdr" || fail "503 without Retry-After: $(cat "$T/hdr")"
jq -e '(.error|length) > 0 and (.message|length) > 0' "$T/out" >/dev/null || fail "503 body: $(cat "$T/out")"
pass "store down: 503, Retry-After $(sed -n 's/^Retry-After: *//Ip' "$T/hdr" | tr -d '\r'), $(jq -r .error "$T/out")"
DOWN_FROM=$i
n=0
while [ $n -lt 10 ]; do
	i=$((i + 1)); n=$((n + 1))
	code=$(post "$(reading "$i")")
	[ "$code" = 503 ] || fail "post $n with the store down answered $code: $(cat "$T/out")"
done
pass "ten more posts with the store down: all 503"
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")
assert_eq "$code" 503 "/healthz with the store down"
kill -0 "$INGESTD" || fail "ingestd died with the store down"

# The store comes back: ingestd accepts again on its own.
"$ROOT/deploy/pgctl.sh" start "$T/db"
LAST=$i
is_202() { [ "$(post "$(reading "$LAST")")" = 202 ]; }
wait_for 30 "202 with the store back" is_202
pass "store back: accepting again without a restart"
wait_for 10 "/healthz 200 again" curl -fsS "$U/healthz"
# Nothing answered 503 was stored; the batch retried after recovery was
# stored once.
stored=$(sql "SELECT string_agg(value::text, ',' ORDER BY ts) FROM readings WHERE point = 'S-001'")
assert_eq "$stored" "0,$LAST" "only the acknowledged readings are stored"
code=$(post "$(reading "$DOWN_FROM")")
assert_eq "$code" 202 "a batch refused while down, sent again"
assert_eq "$(jq -r .accepted "$T/out")" 1 "stored now"
assert_eq "$(sql "SELECT count(*) FROM readings WHERE point = 'S-001'")" 3 "stored once"
grep -q 'AddressSanitizer\|runtime error' "$T/ingestd.log" && fail "sanitizer report in ingestd.log"
pass "t_ingest_store done"

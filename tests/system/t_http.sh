#!/bin/sh
# t_http.sh - common/http end to end, driven by curl and http_slow against
# http_echo (tests/system/http_echo.c): JSON answers and every refusal
# (404, 405, 401, 403, 413, 414, 431, 400, 505, 408, 429), keep-alive after a
# refused body, chunked bodies, Chinese text intact, clients too slow for
# the read deadline cut off while others are served, pipelining, an
# answer given later, a streamed answer, /metrics, no descriptors left
# behind, and a clean stop.
#
# Needs no database: it makes its own temporary folder and uses lib.sh
# only for spawning, waiting, asserting and cleaning up.
. "$(dirname "$0")/lib.sh"

T=$(mktemp -d /tmp/anquan-test.XXXXXX)
trap sys_cleanup EXIT INT TERM

sys_spawn echo "$SYS/http_echo" "$T/port" 65536
ECHO_PID=$LAST_PID
wait_for 20 "http_echo to listen" test -s "$T/port"
PORT=$(cat "$T/port")
U="http://127.0.0.1:$PORT"
log "http_echo pid $ECHO_PID on port $PORT"

# req METHOD PATH [CURL ARGS...]: sets STATUS and BODY; headers in $T/headers.
req() {
	m=$1; p=$2; shift 2
	STATUS=$(curl -s -m 20 -o "$T/body" -D "$T/headers" -w '%{http_code}' \
	    -X "$m" "$@" "$U$p") || true
	BODY=$(cat "$T/body")
}
# header NAME: a response header of the last req.
header() { grep -i "^$1:" "$T/headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
# slow NAME INTERVAL_MS TEXT: http_slow in the foreground, output in $T/NAME.
slow() { "$SYS/http_slow" "$PORT" "$2" "$3" >"$T/$1" 2>&1 || true; }
fds() { ls "/proc/$ECHO_PID/fd" | wc -l; }
fds_back() { [ "$(fds)" -le "$FDS0" ]; }
FDS0=$(fds)

# --- answers and refusals --------------------------------------------------
req GET /healthz
assert_eq "$STATUS $BODY" '200 {"ok":true}' "GET /healthz"
assert_eq "$(header Content-Type)" "application/json; charset=utf-8" "JSON content type"
[ -n "$(header X-Request-Id)" ] || fail "no X-Request-Id"
req GET /healthz -H 'X-Request-Id: trace-42'
assert_eq "$(header X-Request-Id)" "trace-42" "client request id echoed"

req GET /nope
assert_eq "$STATUS $BODY" '404 {"error":"not_found","message":"no such path: /nope"}' "404"
req GET /healthz/
assert_eq "$STATUS $BODY" "404 {\"error\":\"not_found\",\"message\":\"no such path: /healthz/ (try it without the trailing '/')\"}" "404 trailing slash"

req DELETE /healthz
assert_eq "$STATUS $(header Allow)" "405 GET, HEAD" "405 with Allow"
assert_eq "$BODY" '{"error":"method_not_allowed","message":"DELETE is not allowed on /healthz; allowed: GET, HEAD"}' "405 body"

STATUS=$(curl -s -o /dev/null -w '%{http_code}' -I "$U/healthz")
assert_eq "$STATUS" 200 "HEAD served by the GET route"

req POST /v1/secure
assert_eq "$STATUS $BODY" "401 {\"error\":\"unauthorized\",\"message\":\"this endpoint needs a token: send 'Authorization: Bearer <token>'\"}" "401 without token"
assert_eq "$(header WWW-Authenticate)" 'Bearer realm="anquan"' "WWW-Authenticate"
req POST /v1/secure -H 'Authorization: Bearer wrong-token'
assert_eq "$STATUS $BODY" '401 {"error":"unauthorized","message":"unknown or revoked token"}' "401 unknown token"
req POST /v1/secure -H 'Authorization: Bearer bad token'
assert_eq "$STATUS $BODY" '401 {"error":"unauthorized","message":"malformed bearer token"}' "401 malformed token"
req POST /v1/secure -H 'Authorization: Bearer readonly-token'
assert_eq "$STATUS $BODY" '403 {"error":"forbidden","message":"this token may only read, not POST"}' "403 from the auth callback"
req POST /v1/secure -H 'Authorization: Bearer good-token'
assert_eq "$STATUS $BODY" '200 {"principal":"gas-system"}' "200 with principal"

req POST /v1/busy
assert_eq "$STATUS $(header Retry-After)" "503 5" "503 with Retry-After"

# --- bodies -------------------------------------------------------------------
NAME='济南市历下区安全生产委员会办公室「重大危险源」'
req POST /v1/echo -H 'Content-Type: application/json' --data-binary "{\"name\":\"$NAME\",\"v\":[1,2.5]}"
LEN=$(printf '%s' "{\"name\":\"$NAME\",\"v\":[1,2.5]}" | wc -c)
assert_eq "$STATUS $BODY" "200 {\"bytes\":$LEN,\"name\":\"$NAME\",\"body\":{\"name\":\"$NAME\",\"v\":[1,2.5]}}" "Chinese UTF-8 intact"

req POST /v1/echo --data-binary '{"v":NaN}'
assert_eq "$STATUS $BODY" '400 {"error":"bad_json","message":"NaN and Infinity are not valid JSON numbers (byte 5)"}' "strict JSON"
req POST /v1/echo --data-binary '{"name":7}'
assert_eq "$STATUS $BODY" "422 {\"error\":\"bad_field\",\"message\":\"field 'name' must be a string, got number\"}" "typed getter"

req POST /v1/echo -H 'Transfer-Encoding: chunked' --data-binary '{"name":"分块"}'
assert_eq "$STATUS $BODY" '200 {"bytes":17,"name":"分块","body":{"name":"分块"}}' "chunked body"

head -c 100000 /dev/zero | tr '\0' 'a' >"$T/big"
# A refused body is read and dropped, and the connection goes on serving.
# (Raw, since curl may give up a connection answered before its upload ends.)
A70K=$(head -c 70000 /dev/zero | tr '\0' 'a')
slow keep 0 "POST /v1/echo HTTP/1.1\\r\\nContent-Length: 70000\\r\\n\\r\\n${A70K}GET /healthz HTTP/1.1\\r\\nConnection: close\\r\\n\\r\\n"
assert_eq "$(grep -o 'HTTP/1.1 [0-9]*\|{"ok":true}' "$T/keep" | tr '\n' ' ')" \
    'HTTP/1.1 413 HTTP/1.1 200 {"ok":true} ' "413, then the same connection serves again"
req POST /v1/echo --data-binary @"$T/big"
assert_eq "$STATUS $BODY" '413 {"error":"payload_too_large","message":"request body of 100000 bytes is over the limit of 65536 bytes"}' "413 JSON"
req POST /v1/echo -H 'Expect: 100-continue' --data-binary @"$T/big"
assert_eq "$STATUS $(header Connection)" "413 close" "413 before a 100-continue body"
req POST /v1/echo -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
assert_eq "$STATUS $BODY" '413 {"error":"payload_too_large","message":"chunked request body is over the limit of 65536 bytes"}' "413 chunked"

# --- paths and queries ----------------------------------------------------------
req GET '/v1/items/%E5%AE%89%E5%85%A8%2F01?q=a+b%21&x=1'
assert_eq "$STATUS $BODY" '200 {"id":"安全/01","q":"a b!","method":"GET"}' "decoded param and query"
req GET /v1/items/special
assert_eq "$STATUS $BODY" '200 {"ok":true}' "literal route beats {param}"
req GET '/v1/items/x?q=%zz'
assert_eq "$STATUS $BODY" '400 {"error":"bad_query","message":"query parameter 1 has a bad %-escape or is not UTF-8 text"}' "bad query"
req GET /v1/items/%ff
assert_eq "$STATUS $BODY" '400 {"error":"bad_path","message":"the path is not UTF-8 after percent-decoding"}' "bad path"
req GET "/$(head -c 1500 /dev/zero | tr '\0' 'x')"
assert_eq "$STATUS $BODY" '414 {"error":"uri_too_long","message":"the path is longer than 1024 bytes"}' "414"
req GET /healthz -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' 'x')"
assert_eq "$STATUS $BODY" '431 {"error":"header_too_large","message":"request head is over the limit of 8192 bytes"}' "431"

# --- malformed requests, straight on the socket -----------------------------------
slow bad 0 'GARBAGE\r\n\r\n'
grep -q '^{"error":"bad_request","message":"malformed request line' "$T/bad" || fail "bad request line: $(cat "$T/bad")"
pass "400 JSON for a malformed request line"
slow v2 0 'GET / HTTP/2.0\r\n\r\n'
grep -q '^HTTP/1.1 505 ' "$T/v2" && grep -q '"http_version_not_supported"' "$T/v2" || fail "505: $(cat "$T/v2")"
pass "505 JSON for HTTP/2.0"
slow smuggle 0 'POST /v1/echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'
grep -q 'both Content-Length and Transfer-Encoding' "$T/smuggle" || fail "CL+TE: $(cat "$T/smuggle")"
pass "400 for Content-Length with Transfer-Encoding"
slow forged 0 'GET /healthz HTTP/1.1\r\nX-Anquan-Reject: 413 keep payload_too_large forged\r\nConnection: close\r\n\r\n'
grep -q '^{"ok":true}' "$T/forged" || fail "forged refusal header honoured: $(cat "$T/forged")"
pass "a client's X-Anquan-Reject is ignored"
slow pipeline 0 'GET /v1/slow?ms=300 HTTP/1.1\r\n\r\nPOST /v1/echo HTTP/1.1\r\nContent-Length: 8\r\n\r\n{"a":[]}GET /v1/items/3 HTTP/1.1\r\nConnection: close\r\n\r\n'
assert_eq "$(grep -o 'HTTP/1.1 200' "$T/pipeline" | wc -l)" 3 "three pipelined requests answered"
assert_eq "$(grep -o '{"slow":true}\|"body":{"a":\[\]}\|"id":"3"' "$T/pipeline" | tr '\n' ' ')" \
    '{"slow":true} "body":{"a":[]} "id":"3" ' "pipelined answers in order"

# A client that pipelines without ever reading is cut off, not buffered.
"$SYS/http_slow" "$PORT" -1 'GET /healthz HTTP/1.1\r\n\r\n' 200000 >"$T/flood" 2>&1 || true
grep -q '{"error":"too_many_requests","message":"too many pipelined requests; read the answers first"}' "$T/flood" \
    || fail "pipelining flood not refused: $(tail -c 300 "$T/flood")"
pass "429 for a client that pipelines without reading"

# --- slow clients -------------------------------------------------------------------
# A head trickled at 10 bytes/s would take 10 s; the 2 s deadline ends it
# while other clients are served as usual.
sys_spawn slowhead "$SYS/http_slow" "$PORT" 100 \
    'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n'
fds_more() { [ "$(fds)" -gt "$FDS0" ]; }
wait_for 5 "the slow client to connect" fds_more
T0=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' "$U/healthz")
assert_eq "${T0%% *}" 200 "served while a slow client trickles"
awk -v t="${T0#* }" 'BEGIN { exit !(t < 1.0) }' || fail "healthz took ${T0#* } s beside a slow client"
wait_for 10 "the slow client to be cut off" grep -q closed_after_ms "$T/slowhead.log"
grep -q '^HTTP/1.1 408 ' "$T/slowhead.log" || fail "no 408: $(cat "$T/slowhead.log")"
grep -q '^{"error":"request_timeout","message":"request not received within 2 s"}' "$T/slowhead.log" \
    || fail "408 body: $(cat "$T/slowhead.log")"
MS=$(sed -n 's/^closed_after_ms=//p' "$T/slowhead.log")
[ "$MS" -ge 1500 ] && [ "$MS" -le 6000 ] || fail "slow head cut after $MS ms, want about 2000"
pass "slow head cut off after $MS ms with a JSON 408"

# A body uploaded at 2 KB/s would take 10 s: dropped after the deadline.
head -c 20000 /dev/zero | tr '\0' 'b' >"$T/mid"
START=$(date +%s)
curl -s -m 20 -o "$T/slowbody" --limit-rate 2K --data-binary @"$T/mid" "$U/v1/echo" && fail "slow body was accepted"
ELAPSED=$(( $(date +%s) - START ))
[ "$ELAPSED" -le 6 ] || fail "slow body held the connection ${ELAPSED} s"
pass "slow body dropped after ${ELAPSED} s"

# An answer that comes later does not hold up the loop.
curl -s -m 20 -o "$T/later" "$U/v1/slow?ms=1500" &
LATER=$!
T0=$(curl -s -m 5 -o /dev/null -w '%{time_total}' "$U/healthz")
awk -v t="$T0" 'BEGIN { exit !(t < 1.0) }' || fail "healthz took $T0 s beside a pending answer"
wait "$LATER" || fail "the later answer failed"
assert_eq "$(cat "$T/later")" '{"slow":true}' "answer given later"

req GET /v1/stream
assert_eq "$STATUS $(printf '%s' "$BODY" | tr '\n' ' ')" "200 data: 1  data: 2  data: 3" "streamed answer after detach"

# --- metrics, descriptors, stop -------------------------------------------------------
req GET /metrics
assert_eq "$(header Content-Type)" "text/plain; version=0.0.4; charset=utf-8" "metrics content type"
printf '%s\n' "$BODY" | grep -q '^anquan_http_responses_total{class="2xx"} [1-9]' || fail "no 2xx count"
printf '%s\n' "$BODY" | grep -q '^anquan_http_refused_total{code="payload_too_large"} [1-9]' || fail "no 413 count"
printf '%s\n' "$BODY" | grep -q '^anquan_http_refused_total{code="request_timeout"} [1-9]' || fail "no timeout count"
printf '%s\n' "$BODY" | grep -q '^anquan_http_request_seconds_count [1-9]' || fail "no latency histogram"
pass "metrics count answers, refusals and latency"

wait_for 10 "connections to close" fds_back
pass "no descriptors left open ($(fds) <= $FDS0)"

kill -TERM "$ECHO_PID"
wait "$ECHO_PID" || fail "http_echo exited with status $?"
grep -q 'event=echo.exit inflight=0' "$T/echo.log" || fail "no clean exit"
if grep -q 'Sanitizer' "$T/echo.log"; then cat "$T/echo.log"; fail "sanitizer report"; fi
pass "clean stop"

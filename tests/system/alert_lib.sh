# alert_lib.sh - shared setup of the alert path's system tests (sourced by
# tests/system/t_alarmd*.sh, after lib.sh and sys_setup).
#
# The alarmd tests all build the same small city before they check
# anything: one configuration for ingestd, riskd and alarmd on free ports,
# a city-wide source token, enterprises, their responsibilities,
# monitoring points and duty rosters posted to ingestd's /v1/events as a
# sector system would post them, webhook receivers (tests/system/
# webhook_sink.c) and the three daemons started in order.  Those shapes
# live here once; what a test asserts stays in the test.  The file only
# defines things: nothing runs when it is sourced.  It is not named t_*.sh,
# so tests/run.sh does not take it for a test.
#
# Provides (every function's name starts with al_):
#   al_init                  after sys_setup: ports, $CONF, the base URLs
#                            $U (ingestd), $R (riskd), $A (alarmd), and
#                            $NOW_MS, $H_MS for events' times
#   al_conf < LINES          writes $CONF: [log], [store], [bus], [ingestd],
#                            [riskd] and [alarmd] with its http_listen, then
#                            LINES (more [alarmd] keys); may be called again
#                            (the ports stay)
#   al_ctl ARGS...           safetyctl on the test's cluster
#   al_city_token            $CITY: a source token for every sector and district
#   al_officer ID NAME       prints a new officer's console token
#   al_post PATH BODY        POST to ingestd /v1/PATH as the city: prints the
#                            status, the answer in $T/out
#   al_events EVENT...       posts events in one batch; fails unless all taken
#   al_ev KIND ID DATA       one event (JSON), stamped $NOW_MS
#   al_enterprise ID USCC NAME DISTRICT SECTOR EMPLOYEES    an enterprise.upsert
#   al_responsibility ID USCC TERRITORIAL DEPT              a responsibility.upsert
#   al_point ID CODE USCC [SOURCE]   a point.upsert: a level point, H 80, HH 90
#   al_roster ID UNIT [LEADER_ID OFFICER_ID [LEADER_NAME OFFICER_NAME]]
#                            posts a duty.roster covering now (an hour back,
#                            three ahead); the ids default to L-UNIT and
#                            O-UNIT, the names to 领导<id> and 值班员<id>
#   al_reading POINT VALUE   posts one good reading stamped now
#   al_sink NAME PORT [ARGS...]      starts a webhook_sink (log $T/NAME.log,
#                            notices $T/NAME.hooks), waits until it listens
#   al_hook_bodies FILE [INCIDENT]   a sink's notices as JSON, one a line
#   al_hook_count FILE INCIDENT      how many notices of INCIDENT FILE holds
#   al_notified FILE INCIDENT [N]    true once FILE holds N (1) of them
#   al_start_ingestd, al_start_riskd [NAME], al_start_alarmd [NAME]
#                            sys_spawn the daemon on $CONF and wait for its
#                            /healthz; riskd's pid is left in $RISKD,
#                            alarmd's in $ALARMD
#   al_sql_is SQL WANT       true when the query prints WANT (for wait_for)
#   al_audit_verifies        safetyctl audit verify passes
#   al_exited_zero PID WHAT  waits for PID (already signalled): exit status 0
#   al_no_sanitizer_report LOG...    no ASan/LSan/UBSan report in the logs
#
# Temporaries are named al_* so that a test's own variables are left alone.

al_init() {
	AL_IPORT=$(free_port)
	AL_RPORT=$(free_port)
	AL_APORT=$(free_port)
	AL_INGESTD_PUB=tcp://127.0.0.1:$(free_port)
	AL_INGEST_PULL=tcp://127.0.0.1:$(free_port)
	AL_RISKD_PUB=tcp://127.0.0.1:$(free_port)
	AL_ALARMD_PUB=tcp://127.0.0.1:$(free_port)
	CONF=$T/anquan.conf
	U=http://127.0.0.1:$AL_IPORT
	R=http://127.0.0.1:$AL_RPORT
	A=http://127.0.0.1:$AL_APORT
	NOW_MS=$(date +%s%3N)
	H_MS=3600000
}

# The store's backoff is short because some tests stop the store and wait
# for the daemons to come back; riskd's tick is short so that its timers
# (offline points, warnings' durations) follow the tests' pace.
al_conf() {
	{
		cat <<CONF
[log]
level = info
[store]
backoff_min = 50ms
backoff_max = 300ms
[bus]
ingestd_pub = $AL_INGESTD_PUB
ingest_pull = $AL_INGEST_PULL
riskd_pub = $AL_RISKD_PUB
alarmd_pub = $AL_ALARMD_PUB
resync = 500ms
[ingestd]
http_listen = 127.0.0.1:$AL_IPORT
[riskd]
http_listen = 127.0.0.1:$AL_RPORT
tick = 200ms
[alarmd]
http_listen = 127.0.0.1:$AL_APORT
CONF
		cat
	} >"$CONF"
}

al_ctl() { "$BIN/safetyctl" -c "$ANQUAN_CONNINFO" "$@"; }

al_city_token() {
	CITY=$(al_ctl token create --source city --sectors '*' --districts '*' | grep '^aq_') \
	    || fail "token for city"
}

# Used as OFFICER=$(al_officer ID NAME) || fail ...: a fail inside the
# command substitution would only end the subshell.
al_officer() { al_ctl officer create --id "$1" --name "$2" | grep '^aq_'; }

al_post() {
	curl -s -m 30 -o "$T/out" -w '%{http_code}' \
	    -H "Authorization: Bearer $CITY" -H "Content-Type: application/json" \
	    --data-binary "$2" "$U/v1/$1"
}

al_events() {
	al_body=$(printf '%s,' "$@")
	al_code=$(al_post events "{\"events\":[${al_body%,}]}")
	[ "$al_code" = 202 ] || fail "events: status $al_code: $(cat "$T/out")"
	[ "$(jq '.rejected|length' "$T/out")" = 0 ] || fail "events refused: $(cat "$T/out")"
}

al_ev() { printf '{"kind":"%s","id":"%s","at":%s,"data":%s}' "$1" "$2" "$NOW_MS" "$3"; }

al_enterprise() {
	al_ev enterprise.upsert "$1" "$(printf '{"uscc":"%s","name":"%s","district":"%s","sector":"%s","employees":%s,"status":"operating","enforcement_level":"district"}' \
	    "$2" "$3" "$4" "$5" "$6")"
}

al_responsibility() {
	al_ev responsibility.upsert "$1" "$(printf '{"uscc":"%s","territorial":"%s","sector_dept":"%s","direct_dept":"%s"}' \
	    "$2" "$3" "$4" "$4")"
}

al_point() {
	al_ev point.upsert "$1" "$(printf '{"code":"%s","uscc":"%s","kind":"level","unit":"m","h":80,"hh":90,"range_lo":0,"range_hi":100,"deadband":1,"expected_interval_s":3600,%s"enabled":true}' \
	    "$2" "$3" "${4:+\"hazard_source\":\"$4\",}")"
}

al_person() { printf '{"id":"%s","name":"%s","phone":"%s"}' "$1" "$2" "$3"; }

al_roster() {
	al_leader=${3:-L-$2}
	al_officer_id=${4:-O-$2}
	al_events "$(al_ev duty.roster "$1" "$(printf '{"unit":"%s","start":%s,"end":%s,"leader":%s,"officers":[%s]}' \
	    "$2" "$((NOW_MS - H_MS))" "$((NOW_MS + 3 * H_MS))" \
	    "$(al_person "$al_leader" "${5:-领导$al_leader}" 13900000001)" \
	    "$(al_person "$al_officer_id" "${6:-值班员$al_officer_id}" 13900000002)")")"
}

al_reading() {
	al_code=$(al_post readings "{\"readings\":[{\"point\":\"$1\",\"ts\":$(date +%s%3N),\"value\":$2,\"quality\":\"good\"}]}")
	[ "$al_code" = 202 ] || fail "reading: status $al_code: $(cat "$T/out")"
}

al_sink() {
	al_name=$1; al_port=$2; shift 2
	sys_spawn "$al_name" "$SYS/webhook_sink" "$al_port" "$T/$al_name.hooks" "$@"
	wait_for 10 "the $al_name receiver" grep -q ready "$T/$al_name.log"
}

# A sink's line is "<epoch_ms> <path> <body>"; the body is the notice.
al_hook_bodies() {
	if [ $# -ge 2 ]; then
		grep "\"incident\":\"$2\"" "$1" | sed 's/^[0-9]* [^ ]* //'
	else
		sed 's/^[0-9]* [^ ]* //' "$1"
	fi
}

al_hook_count() { grep -c "\"incident\":\"$2\"" "$1"; }

al_notified() { [ "$(al_hook_count "$1" "$2")" -ge "${3:-1}" ]; }

al_start_ingestd() {
	sys_spawn ingestd "$BIN/ingestd" -d -f "$CONF"
	wait_for 30 "ingestd /healthz" curl -fsS "$U/healthz"
}

al_start_riskd() {
	sys_spawn "${1:-riskd}" "$BIN/riskd" -d -f "$CONF"
	RISKD=$LAST_PID
	wait_for 30 "${1:-riskd} /healthz" curl -fsS "$R/healthz"
}

al_start_alarmd() {
	sys_spawn "${1:-alarmd}" "$BIN/alarmd" -d -f "$CONF"
	# shellcheck disable=SC2034 # for the test: it kills or waits for alarmd
	ALARMD=$LAST_PID
	wait_for 30 "${1:-alarmd} /healthz" curl -fsS "$A/healthz"
}

al_sql_is() { [ "$(sql "$1")" = "$2" ]; }

al_audit_verifies() {
	al_ctl audit verify >"$T/verify" 2>&1 || fail "audit verify: $(cat "$T/verify")"
	pass "audit verify: $(cat "$T/verify")"
}

al_exited_zero() {
	al_rc=0
	wait "$1" || al_rc=$?
	assert_eq "$al_rc" 0 "$2"
}

al_no_sanitizer_report() {
	if grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$@"; then
		grep -h -A20 'Sanitizer\|runtime error' "$@" | head -60
		fail "sanitizer report"
	fi
	pass "no sanitizer report"
}

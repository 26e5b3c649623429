#!/bin/sh
# alarm.sh - alarmd against Prometheus Alertmanager on the same alarm stream,
# and a reading's way from ingestd to the webhook (issue 6's benchmark).
#
#   tests/bench/alarm.sh BUILD [ANQUAN_ALARMS] [ALERTMANAGER_ALARMS]
#
# Makes its own PostgreSQL cluster in a temporary folder on a free port,
# migrates it and gives every district and department (AWB, the city
# office, among them) a duty roster covering the run, so every notice has
# recipients and no roster gap is raised.  One webhook sink
# (BUILD/bench/alarm_sink) takes the notices of both systems, each on its
# own path; every alarm offered carries a mark (its point code,
# "bench-<number>") that the sink counts, noting when the first notice of
# each number came and how many came.  Every alarm is an HH alarm of a
# point and an enterprise of its own (distinct labels), so nothing groups:
# one alarm, one incident, one notice.  Phases, in this order:
#   1. end to end (Anquan): 1,000 enterprises x 100 points registered by
#      SQL (RP000000..RP099999, H 80, HH 90) plus one fresh enterprise
#      (with its responsibility) and point per crossing; ingestd, riskd and
#      alarmd run, and BUILD/bench/alarm_e2e pushes 20,000 readings a second
#      as a collector with acks for E2E_SECONDS (default 20), every 100 ms
#      one of them 95 on a fresh point: reading_to_webhook_* is from the
#      ack COMMITTED of its batch to the sink's first notice of that point;
#   2. saturation (Anquan): BUILD/bench/alarm_feed stands in for riskd (its
#      PUB on alarmd's [bus] riskd_pub, al.raised staged in bus_log and
#      published after COMMIT); ANQUAN_ALARMS (default 20,000) are
#      staged, then published at once (more than the bus's high-water
#      mark, so most are read back from bus_log as a replay, as after an
#      outage): anquan_alarms_per_s = distinct alarms noticed /
#      (last first notice - publish);
#   3. latency (Anquan): RATE (default 1,000) alarms a second for
#      SECONDS_STEADY (default 10), a transaction every 10 ms, each alarm
#      offered when its COMMIT returned: alarm_to_webhook_* is offered ->
#      first notice;
#   4. latency and 5. saturation (Alertmanager, Debian's
#      /usr/bin/prometheus-alertmanager): the same alarms as alerts to
#      POST /api/v2/alerts (BUILD/bench/alarm_post; JSON arrays over
#      AM_CONNS, default 8, keep-alive connections; saturation:
#      ALERTMANAGER_ALARMS, default 50,000, 100 a POST, each connection
#      posting again as soon as it is answered, so Alertmanager takes them
#      as fast as its API can), route group_by ['...'], group_wait 0s,
#      group_interval AM_GROUP_INTERVAL (default 5m, its best delivered
#      rate; 1s delivers fewer, some twice), one webhook receiver,
#      send_resolved off, no cluster (--cluster.listen-address=).
# A phase ends once the sink has taken no new notice of it for QUIET
# seconds (default 5) and, for alarmd, its store has nothing left to do for
# the phase's alarms (alarmd delivers in bursts while its loop is busy with
# due steps, so a silence is not its end; *_longest_silence_s shows the
# longest), or PHASE_CAP seconds (default 150) after it began (*_capped=1).
# A duty console (curl on /v1/stream with an officer's token) is open on
# alarmd through phases 1-3; console_events counts the incident events it
# got, console_refreshes the "read the list again" of large transactions,
# console_dropped the streams alarmd dropped for a full backlog.  Then: duplicates = notices of a number already noticed; lost = offered -
# distinct noticed (alarmd's *_pending_at_end: what its store still had to
# do, late rather than lost since it is durable); p50/p99/max over the
# alarms noticed; peak RSS is VmHWM of alarmd (phases 1-3) and of
# Alertmanager (4-5).  For alarmd the store tells where the time went: when
# the incidents were opened (intake), first notified (the due-step loop)
# and delivered, as rates, with the CPU alarmd and PostgreSQL used.
#
# E2E=0 leaves phase 1 out, ALERTMANAGER=0 phases 4 and 5 (a quicker
# run while working on alarmd; their figures are then missing or 0).
# The machine may be shared: host_load_1m and *_host_busy_pct say how busy
# it was.  Prints key=value lines and the targets as a comment; fails only
# when a tool fails (a figure that misses its target is a result).
# Everything it starts is stopped by pid at exit and the cluster destroyed
# (kept, with the logs, when the run failed).  `make bench-alarm` runs it;
# deploy/install-deps.sh --bench installs Alertmanager, and this script
# calls it when /usr/bin/prometheus-alertmanager is missing.
set -eu
build=${1:?usage: tests/bench/alarm.sh BUILD [ANQUAN_ALARMS] [ALERTMANAGER_ALARMS]}
aq_alarms=${2:-20000}
am_alarms=${3:-50000}
rate=${RATE:-1000}
secs=${SECONDS_STEADY:-10}
e2e_secs=${E2E_SECONDS:-20}
quiet=${QUIET:-5}
cap=${PHASE_CAP:-150}
am_interval=${AM_GROUP_INTERVAL:-5m}
am_conns=${AM_CONNS:-8}
enterprises=1000
per_enterprise=100
points=$((enterprises * per_enterprise))
e2e_rate=20000
district=370102
crossings=$((e2e_secs * 10))
# The sink's numbers of each phase (the alarms' marks).
E2E_FIRST=5000000
AQ_LAT_FIRST=1000000
AQ_SAT_FIRST=2000000
AM_LAT_FIRST=3000000
AM_SAT_FIRST=4000000
# shellcheck source=SCRIPTDIR/bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"
bench_init "$build"
AM_BIN=/usr/bin/prometheus-alertmanager
bench_need "$BIN/alarmd" "$BIN/riskd" "$BIN/ingestd" "$BIN/safetyctl" \
    "$build/bench/alarm_sink" "$build/bench/alarm_feed" \
    "$build/bench/alarm_post" "$build/bench/alarm_e2e" \
    "$build/bench/risk_uscc"
[ -x "$AM_BIN" ] || "$ROOT/deploy/install-deps.sh" --bench
[ -x "$AM_BIN" ] || die "$AM_BIN is missing (deploy/install-deps.sh --bench)"

SINK=""; APID=""; RPID=""; IPID=""; FPID=""; MPID=""; CPID=""
stop_all() { for p in "$CPID" "$FPID" "$APID" "$RPID" "$IPID" "$MPID" "$SINK"; do stop "$p"; done; }
bench_cluster stop_all "*.log, *.out"

sink_port=$(free_port)
alarmd_http=127.0.0.1:$(free_port)
riskd_http=127.0.0.1:$(free_port)
ingestd_http=127.0.0.1:$(free_port)
am_http=127.0.0.1:$(free_port)
pull_ep=tcp://127.0.0.1:$(free_port)
ipub_ep=tcp://127.0.0.1:$(free_port)
rpub_ep=tcp://127.0.0.1:$(free_port)
apub_ep=tcp://127.0.0.1:$(free_port)
SINK_URL=http://127.0.0.1:$sink_port

# metric NAME ADDR: the sum of a family's series on a daemon's /metrics.
metric() {
	curl -sf "http://$2/metrics" |
	    awk -v n="$1" '$1 ~ "^"n"(\\{.*\\})?$" { s += $2; f = 1 } END { if (f) printf "%.0f\n", s }'
}
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
cpu_s() { awk -v hz="$hz" '{ sub(/.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"; }
# The CPU seconds of the cluster's server processes (the postmaster's
# children: backends, writer, WAL writer).
pm_pid=""
pg_cpu_s() {
	[ -n "$pm_pid" ] || pm_pid=$(head -1 "$(readlink -f "$T/db/pg")/data/postmaster.pid")
	# shellcheck disable=SC2013 # the file is a list of pids
	for c in $(cat /proc/"$pm_pid"/task/*/children 2>/dev/null); do
		cpu_s "$c" 2>/dev/null || true
	done | awk '{ s += $1 } END { printf "%.2f\n", s }'
}
host_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
stat_of() { curl -sf "$SINK_URL/stats?from=$2&to=$3" | sed -n "s/^$1=//p"; }

# wait_quiet PREFIX FROM TO STARTED_S [PENDING_CMD]: until the sink took
# no notice of [FROM, TO) for $quiet s and PENDING_CMD (when given) prints
# 0, or until $cap s after STARTED_S (epoch s); prints PREFIX_capped.
wait_quiet() {
	last=-1; still=0; capped=0
	while :; do
		posts=$(stat_of distinct "$2" "$3")_$(stat_of duplicates "$2" "$3")
		if [ "$posts" = "$last" ]; then still=$((still + 1)); else still=0; last=$posts; fi
		if [ $still -ge $((quiet * 4)) ] &&
		    { [ $# -lt 5 ] || [ "$($5 "$2" "$3")" = 0 ]; }; then
			break
		fi
		if [ $(( $(date +%s) - $4 )) -ge "$cap" ]; then capped=1; break; fi
		sleep 0.25
	done
	echo "$1_capped=$capped"
}

# summary PREFIX FROM TO OFFERED_FILE: the sink's figures of [FROM, TO)
# against the alarms offered ("n offered_us" lines): offered, delivered
# (distinct noticed), duplicates, lost, the rate (first offer -> last first
# notice), the longest silence between two first notices, and latency
# percentiles over the alarms delivered (nearest rank).
summary() {
	curl -sf "$SINK_URL/dump?from=$2&to=$3" >"$T/$1.dump"
	awk 'NR == FNR { off[$1] = $2; next } ($1 in off) { print ($2 - off[$1]) / 1000 }' \
	    "$4" "$T/$1.dump" | sort -n >"$T/$1.lat"
	awk '{ print $2 }' "$T/$1.dump" | sort -n >"$T/$1.first"
	offered=$(wc -l <"$4")
	delivered=$(wc -l <"$T/$1.lat")
	first=$(sort -n -k2 "$4" | awk 'NR == 1 { print $2 }')
	echo "$1_offered=$offered"
	echo "$1_delivered=$delivered"
	echo "$1_duplicates=$(stat_of duplicates "$2" "$3")"
	echo "$1_lost=$((offered - delivered))"
	[ "$delivered" -gt 0 ] || return 0
	awk -v p="$1" -v first="$first" '
	{ if (NR > 1 && $1 - prev > gap) gap = $1 - prev; prev = $1 }
	END {
		if (prev > first)
			printf "%s_per_s=%.0f\n", p, NR / ((prev - first) / 1e6)
		printf "%s_first_to_last_s=%.2f\n", p, (prev - first) / 1e6
		printf "%s_longest_silence_s=%.2f\n", p, gap / 1e6
	}' "$T/$1.first"
	awk -v p="$1" '{ v[NR] = $1 }
	function rank(q,   i) { i = int(q * NR + 0.999999); return v[i < 1 ? 1 : i] }
	END {
		printf "%s_p50_ms=%.2f\n%s_p99_ms=%.2f\n%s_max_ms=%.2f\n",
		    p, rank(0.50), p, rank(0.99), p, v[NR]
	}' "$T/$1.lat"
}
kv() { sed -n "s/^$1=//p" "$2" 2>/dev/null || true; }

echo "bench=alarm"
echo "host_cpus=$(nproc)"
echo "host_load_1m=$(cut -d' ' -f1 /proc/loadavg)"
echo "anquan_alarms=$aq_alarms"
echo "alertmanager_alarms=$am_alarms"
echo "steady_rate=$rate"
echo "steady_seconds=$secs"
echo "alertmanager_group_interval=$am_interval"

# --- registry: rosters, the e2e enterprises and points ------------------------
"$build/bench/risk_uscc" 370100 "$enterprises" >"$T/uscc.tsv"
"$build/bench/risk_uscc" "$district" "$crossings" >"$T/uscc_cross.tsv"
psql "$CONN" -XAtq -v ON_ERROR_STOP=1 -v points="$points" \
    -v per="$per_enterprise" -v first="$E2E_FIRST" -v district="$district" \
    >/dev/null <<EOF
BEGIN;
INSERT INTO duty_rosters (unit, unit_kind, start_at, end_at, leader,
    officers, source)
SELECT u.code, u.kind, now() - interval '1 hour', now() + interval '1 day',
    jsonb_build_object('id', 'L-' || u.code, 'name', '带班领导' || u.code,
        'phone', '13900000001'),
    jsonb_build_array(jsonb_build_object('id', 'O-' || u.code,
        'name', '值班员' || u.code, 'phone', '13900000002')),
    'bench'
  FROM (SELECT code, 'district' AS kind FROM districts
        UNION ALL SELECT code, 'department' FROM departments) u;
CREATE TEMP TABLE bench_uscc (n integer PRIMARY KEY, uscc char(18)) ON COMMIT DROP;
\copy bench_uscc FROM '$T/uscc.tsv'
CREATE TEMP TABLE bench_cross (n integer PRIMARY KEY, uscc char(18)) ON COMMIT DROP;
\copy bench_cross FROM '$T/uscc_cross.tsv'
INSERT INTO enterprises (uscc, name, district, sector, status,
    enforcement_level, source)
SELECT u.uscc, '基准企业' || u.n, d.code, 'hazchem', 'operating', 'district',
    'bench'
  FROM bench_uscc u
  JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS i
          FROM districts) d
    ON d.i = (u.n / 10) % (SELECT count(*) FROM districts);
INSERT INTO points (code, uscc, kind, unit, ll, l, h, hh, range_lo, range_hi,
    expected_interval_s, source)
SELECT 'RP' || lpad(i::text, 6, '0'), u.uscc, 'level', '%', 5, 10, 80, 90,
    0, 100, 3600, 'bench'
  FROM generate_series(0, :points - 1) AS i
  JOIN bench_uscc u ON u.n = i / :per;
INSERT INTO enterprises (uscc, name, district, sector, status,
    enforcement_level, source)
SELECT uscc, '报警企业' || n, :'district', 'hazchem', 'operating', 'district',
    'bench'
  FROM bench_cross;
INSERT INTO points (code, uscc, kind, unit, ll, l, h, hh, range_lo, range_hi,
    expected_interval_s, source)
SELECT 'bench-' || lpad((:first + n)::text, 8, '0'), uscc, 'level', '%', 5,
    10, 80, 90, 0, 100, 3600, 'bench'
  FROM bench_cross;
INSERT INTO responsibilities (uscc, territorial, sector_dept, direct_dept,
    source)
SELECT uscc, :'district', 'YJJ', 'YJJ', 'bench' FROM bench_cross;
COMMIT;
EOF
all_points=$((points + crossings))
[ "$(sql "SELECT count(*) FROM points")" = "$all_points" ] || die "the points were not all registered"
token=$("$BIN/safetyctl" -c "$CONN" token create --source bench \
    --sectors '*' --districts '*' | grep '^aq_')

# --- the sink and the three daemons -------------------------------------------
"$build/bench/alarm_sink" "$sink_port" >"$T/sink.out" 2>&1 &
SINK=$!
wait_until 10 "the sink" grep -q ready "$T/sink.out"
common="-o bus.ingest_pull=$pull_ep -o bus.ingestd_pub=$ipub_ep -o bus.riskd_pub=$rpub_ep -o bus.alarmd_pub=$apub_ep"
# shellcheck disable=SC2086
"$BIN/ingestd" -d -f "$ROOT/deploy/anquan.conf" $common \
    -o "ingestd.http_listen=$ingestd_http" >"$T/ingestd.log" 2>&1 &
IPID=$!
# shellcheck disable=SC2086
"$BIN/riskd" -d -f "$ROOT/deploy/anquan.conf" $common \
    -o "riskd.http_listen=$riskd_http" >"$T/riskd.log" 2>&1 &
RPID=$!
# shellcheck disable=SC2086
"$BIN/alarmd" -d -f "$ROOT/deploy/anquan.conf" $common \
    -o "alarmd.http_listen=$alarmd_http" -o alarmd.group_wait=0 \
    -o alarmd.tick=10ms -o "alarmd.receivers=sink=$SINK_URL/anquan" \
    >"$T/alarmd.log" 2>&1 &
APID=$!
riskd_ready() {
	curl -sf "http://$riskd_http/healthz" >/dev/null &&
	    [ "$(metric anquan_riskd_live "$riskd_http")" = 1 ] &&
	    [ "$(metric anquan_riskd_points "$riskd_http")" = "$all_points" ]
}
wait_until 30 "ingestd /healthz" curl -sf "http://$ingestd_http/healthz"
wait_until 90 "riskd to load $all_points points" riskd_ready
wait_until 30 "alarmd /healthz" curl -sf "http://$alarmd_http/healthz"
# A duty console stays open on alarmd's live stream through its phases,
# as one would in a duty room: every incident changed is sent to it.
console_token=$("$BIN/safetyctl" -c "$CONN" officer create --id bench-officer \
    --name 基准值班员 | grep '^aq_') || die "officer token"
curl -sN "http://$alarmd_http/v1/stream?token=$console_token" >"$T/console.sse" 2>/dev/null &
CPID=$!

# --- 1. end to end --------------------------------------------------------------
if [ "${E2E:-1}" = 1 ]; then
h0=$(host_jiffies)
"$build/bench/alarm_e2e" "$pull_ep" "$ipub_ep" bench "$token" "$points" \
    "$e2e_rate" "$e2e_secs" "$E2E_FIRST" "$T/e2e.tsv" >"$T/e2e.out" 2>"$T/e2e.err" ||
	{ cat "$T/e2e.out" "$T/e2e.err" >&2; die "alarm_e2e failed"; }
cat "$T/e2e.out"
# The last crossings' notices: up to 15 s more.
i=0
while [ "$(stat_of distinct "$E2E_FIRST" $((E2E_FIRST + crossings)))" -lt "$crossings" ] && [ $i -lt 150 ]; do
	sleep 0.1; i=$((i + 1))
done
# shellcheck disable=SC2046,SC2086 # two numbers each, split on purpose
set -- $h0 $(host_jiffies)
awk -v b0="$1" -v t0="$2" -v b1="$3" -v t1="$4" 'BEGIN {
	printf "e2e_host_busy_pct=%.0f\n", (t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0) }'
# Accepted (the ack) -> the first notice; crossings never acked are left out.
awk '$2 > 0 { print $1, $2 }' "$T/e2e.tsv" >"$T/e2e.acc"
summary reading_to_webhook "$E2E_FIRST" $((E2E_FIRST + crossings)) "$T/e2e.acc" >"$T/e2e.all"
grep -v '_per_s=\|_first_to_last_s=' "$T/e2e.all" >"$T/e2e.kv" || true
cat "$T/e2e.kv"
fi
stop "$RPID"; RPID=""
stop "$IPID"; IPID=""

# The SQL of the alarms of [:from, :to) (point codes) in alarmd's store.
PHASE_SQL="WITH a AS (
	SELECT i.id, i.opened_at, i.notified_at
	  FROM incident_alarms x JOIN incidents i ON i.id = x.incident_id
	 WHERE x.point >= :'from' AND x.point < :'to'),
d AS (
	SELECT d.delivered_at, d.state
	  FROM a JOIN notifications n ON n.incident_id = a.id
	  JOIN deliveries d ON d.notification_id = n.id)"
phase_sql() {	# phase_sql FROM TO [-v ...] < query
	f=$1; t=$2; shift 2
	psql "$CONN" -XAtq -F' ' -v from="bench-$(printf %08d "$f")" \
	    -v to="bench-$(printf %08d "$t")" "$@"
}

# What alarmd has still to do for the alarms of [FROM, TO): not yet a
# notified incident, or a delivery pending.
aq_pending() {
	phase_sql "$1" "$2" -v n=$(($2 - $1)) <<EOF
$PHASE_SQL
SELECT :n - count(notified_at) + (SELECT count(*) FROM d WHERE state = 'pending')
  FROM a
EOF
}

# Where alarmd's time went for the alarms of [FROM, TO), offered from
# OFFERED_US: intake (incident opened), the first notice (the due-step
# loop) and the delivery, as rates over each stretch, and what was still
# to do when the phase ended.
store_phases() {
	phase_sql "$2" "$3" -v off="$4" -v n=$(($3 - $2)) <<EOF |
$PHASE_SQL
SELECT count(*),
    coalesce(extract(epoch FROM max(opened_at)) - :off / 1e6, 0),
    coalesce(extract(epoch FROM max(notified_at) - min(notified_at)), 0),
    count(notified_at),
    (SELECT count(*) FROM d WHERE state = 'delivered'),
    coalesce((SELECT extract(epoch FROM max(delivered_at) - min(delivered_at)) FROM d), 0),
    :n - count(notified_at) + (SELECT count(*) FROM d WHERE state = 'pending')
  FROM a
EOF
	awk -v p="$1" '{
		printf "%s_incidents=%d\n", p, $1
		if ($2 > 0) printf "%s_intake_per_s=%.0f\n", p, $1 / $2
		if ($3 > 0) printf "%s_notify_per_s=%.0f\n", p, $4 / $3
		if ($6 > 0) printf "%s_store_delivered_per_s=%.0f\n", p, $5 / $6
		printf "%s_pending_at_end=%d\n", p, $7
	}'
}

# run_feed PREFIX FIRST COUNT RATE: alarm_feed offers, the sink goes quiet.
run_feed() {
	start_s=$(date +%s)
	ac0=$(cpu_s "$APID"); pc0=$(pg_cpu_s); h0=$(host_jiffies); w0=$(date +%s.%N)
	: >"$T/$1.out"
	"$build/bench/alarm_feed" "$CONN" "$rpub_ep" "$alarmd_http" "$district" \
	    "$2" "$3" "$4" "$T/$1.tsv" >"$T/$1.out" 2>"$T/$1.err" &
	FPID=$!
	i=0
	while ! grep -q '^done$' "$T/$1.out"; do
		kill -0 "$FPID" 2>/dev/null || { cat "$T/$1.err" >&2; die "alarm_feed failed"; }
		[ $i -lt 6000 ] || die "alarm_feed did not finish its offer in 10 min"
		sleep 0.1; i=$((i + 1))
	done
	wait_quiet "$1" "$2" $(($2 + $3)) "$start_s" aq_pending
	# shellcheck disable=SC2046,SC2086 # two numbers each, split on purpose
	set -- "$@" $h0 $(host_jiffies)
	awk -v p="$1" -v a0="$ac0" -v a1="$(cpu_s "$APID")" -v c0="$pc0" \
	    -v c1="$(pg_cpu_s)" -v w0="$w0" -v w1="$(date +%s.%N)" \
	    -v b0="$5" -v t0="$6" -v b1="$7" -v t1="$8" 'BEGIN {
		printf "%s_alarmd_cpu_s=%.2f\n%s_postgres_cpu_s=%.2f\n", p, a1 - a0, p, c1 - c0
		printf "%s_wall_s=%.2f\n", p, w1 - w0
		printf "%s_host_busy_pct=%.0f\n", p, (t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0)
	}'
	stop "$FPID"; FPID=""
	sed -n '/^done$/!s/^/'"$1"'_feed_/p' "$T/$1.out"
	store_phases "$1" "$2" $(($2 + $3)) "$(awk 'NR == 1 { print $2 }' "$T/$1.tsv")"
	summary "$1" "$2" $(($2 + $3)) "$T/$1.tsv"
}

# --- 2. and 3. alarmd: saturation, then latency --------------------------------
# (Into files, not through a pipe: a phase that dies must end the run.)
run_feed anquan_saturation "$AQ_SAT_FIRST" "$aq_alarms" 0 >"$T/aq_sat.kv"
cat "$T/aq_sat.kv"
# The saturation phase leaves the store work to do (autovacuum of the
# tables it filled, a checkpoint); done now, so that the steady phase
# measures alarmd at 1,000/s and not the saturation's aftermath.
sql "VACUUM ANALYZE" >/dev/null
sql "CHECKPOINT" >/dev/null
run_feed anquan_latency "$AQ_LAT_FIRST" $((rate * secs)) "$rate" >"$T/aq_lat.kv"
cat "$T/aq_lat.kv"
alarmd_hwm=$(hwm_kib "$APID")
for c in received handled duplicates gaps replayed; do
	echo "alarmd_bus_${c}=$(metric "anquan_bus_${c}_total" "$alarmd_http")"
done
echo "alarmd_deliveries_retried=$(curl -sf "http://$alarmd_http/metrics" |
    awk '/^anquan_alarmd_deliveries_total\{outcome="retried"\}/ { print $2; f = 1 } END { if (!f) print 0 }')"
echo "alarmd_step_errors=$(metric anquan_alarmd_step_errors_total "$alarmd_http")"
echo "console_events=$(grep -c '^event: incident' "$T/console.sse" || true)"
echo "console_refreshes=$(grep -c '^event: refresh' "$T/console.sse" || true)"
echo "console_dropped=$(curl -sf "http://$alarmd_http/metrics" |
    awk '/^anquan_alarmd_sse_dropped_total/ { s += $2 } END { print s + 0 }')"
stop "$APID"; APID=""

# --- 4. and 5. Alertmanager -------------------------------------------------------
if [ "${ALERTMANAGER:-1}" = 1 ]; then
cat >"$T/alertmanager.yml" <<EOF
route:
  receiver: sink
  group_by: ['...']
  group_wait: 0s
  group_interval: $am_interval
  repeat_interval: 4h
receivers:
  - name: sink
    webhook_configs:
      - url: $SINK_URL/alertmanager
        send_resolved: false
EOF
"$AM_BIN" --config.file="$T/alertmanager.yml" --storage.path="$T/alertmanager" \
    --web.listen-address="$am_http" --cluster.listen-address= \
    --log.level=warn >"$T/alertmanager.log" 2>&1 &
MPID=$!
wait_until 30 "Alertmanager /-/ready" curl -sf "http://$am_http/-/ready"
echo "alertmanager_version=$("$AM_BIN" --version 2>&1 | awk 'NR == 1 { print $3 }')"

# run_post PREFIX FIRST COUNT RATE: alarm_post offers, the sink goes quiet.
run_post() {
	start_s=$(date +%s)
	mc0=$(cpu_s "$MPID"); h0=$(host_jiffies); w0=$(date +%s.%N)
	"$build/bench/alarm_post" "$am_http" "$district" "$2" "$3" "$4" "$am_conns" \
	    "$T/$1.tsv" >"$T/$1.out" 2>"$T/$1.err" ||
		{ cat "$T/$1.out" "$T/$1.err" >&2; die "alarm_post failed"; }
	wait_quiet "$1" "$2" $(($2 + $3)) "$start_s"
	# shellcheck disable=SC2046,SC2086 # two numbers each, split on purpose
	set -- "$@" $h0 $(host_jiffies)
	awk -v p="$1" -v m0="$mc0" -v m1="$(cpu_s "$MPID")" -v w0="$w0" \
	    -v w1="$(date +%s.%N)" -v b0="$5" -v t0="$6" -v b1="$7" -v t1="$8" 'BEGIN {
		printf "%s_alertmanager_cpu_s=%.2f\n%s_wall_s=%.2f\n", p, m1 - m0, p, w1 - w0
		printf "%s_host_busy_pct=%.0f\n", p, (t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0)
	}'
	sed "s/^/$1_post_/" "$T/$1.out"
	summary "$1" "$2" $(($2 + $3)) "$T/$1.tsv"
}
run_post alertmanager_latency "$AM_LAT_FIRST" $((rate * secs)) "$rate" >"$T/am_lat.kv"
cat "$T/am_lat.kv"
run_post alertmanager_saturation "$AM_SAT_FIRST" "$am_alarms" 0 >"$T/am_sat.kv"
cat "$T/am_sat.kv"
am_hwm=$(hwm_kib "$MPID")
echo "alertmanager_failed_notifications=$(metric alertmanager_notifications_failed_total "$am_http")"
stop "$MPID"; MPID=""
fi
echo "sink_unmarked_notices=$(stat_of unmarked 0 1)"

# --- the figures of the issue -----------------------------------------------------
aq_rate=$(kv anquan_saturation_per_s "$T/aq_sat.kv")
am_rate=$(kv alertmanager_saturation_per_s "$T/am_sat.kv")
awk -v a="${aq_rate:-0}" -v m="${am_rate:-0}" 'BEGIN {
	printf "anquan_alarms_per_s=%d\nalertmanager_alarms_per_s=%d\n", a, m
	printf "anquan_vs_alertmanager=%.2f\n", (m > 0 ? a / m : 0)
}'
echo "alarm_to_webhook_p50_ms=$(kv anquan_latency_p50_ms "$T/aq_lat.kv")"
echo "alarm_to_webhook_p99_ms=$(kv anquan_latency_p99_ms "$T/aq_lat.kv")"
echo "alertmanager_alarm_to_webhook_p50_ms=$(kv alertmanager_latency_p50_ms "$T/am_lat.kv")"
echo "alertmanager_alarm_to_webhook_p99_ms=$(kv alertmanager_latency_p99_ms "$T/am_lat.kv")"
echo "duplicates=$(kv anquan_saturation_duplicates "$T/aq_sat.kv")"
echo "lost=$(kv anquan_saturation_lost "$T/aq_sat.kv")"
echo "alertmanager_duplicates=$(kv alertmanager_saturation_duplicates "$T/am_sat.kv")"
echo "alertmanager_lost=$(kv alertmanager_saturation_lost "$T/am_sat.kv")"
awk -v a="$alarmd_hwm" -v m="${am_hwm:-0}" 'BEGIN {
	printf "alarmd_rss_mib=%.1f\nalertmanager_rss_mib=%.1f\n", a / 1024, m / 1024 }'
echo "reading_to_webhook_p50_ms=$(kv reading_to_webhook_p50_ms "$T/e2e.kv")"
echo "reading_to_webhook_p99_ms=$(kv reading_to_webhook_p99_ms "$T/e2e.kv")"
echo "# targets: anquan_alarms_per_s >= 3 x alertmanager_alarms_per_s and >= 20000, alarm_to_webhook_p99_ms <= 10 at 1000/s, duplicates = 0, lost = 0, alarmd_rss_mib <= 256, reading_to_webhook_p99_ms <= 50 under 20000 readings/s"

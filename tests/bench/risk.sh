#!/bin/sh
# risk.sh - what riskd costs a point, how fast it evaluates readings, and how
# soon an alarm follows the reading that causes it (issue 5's benchmark).
#
#   tests/bench/risk.sh BUILD [SECONDS]
#
# Makes its own PostgreSQL cluster in a temporary folder on a free port and
# migrates it, then:
#   1. memory: starts BUILD/bin/riskd on the empty registry and reads its
#      VmRSS once /healthz answers; registers 1,000 enterprises x 100 points
#      (RP000000..RP099999; H 80, HH 90, L 10, LL 5, range 0..100, expected
#      every 3600 s) by SQL, starts riskd again, reads VmRSS once
#      anquan_riskd_points is 100000 and it is live:
#      bytes_per_point = (rss_loaded - rss_empty) / 100000;
#   2. throughput: BUILD/bench/risk_feed binds riskd's [bus] ingestd_pub as
#      ingestd's producer, stages 3 x SECONDS rounds of a reading for every
#      point (5 % above H) in bus_log, then publishes them all at once and
#      polls riskd's anquan_riskd_readings_total every 50 ms until all are
#      evaluated: readings_evaluated_per_s = readings / publish_to_last_s.
#      riskd runs with [bus] resync = 10m here (RISK_FEED_RESYNC overrides):
#      the whole run is committed before it is published, and a resync
#      during it would read the backlog back from bus_log instead of the
#      socket, so the figure would be the replay path's.  The anquan_bus_*
#      counters show which path it took (feed_live_path=yes: no replay, no
#      gap, no duplicate); alarms_open must end at 5,000;
#   3. latency: riskd again with the default configuration, and
#      BUILD/bin/ingestd; BUILD/bench/risk_latency pushes readings as a
#      collector at 20,000 a second for SECONDS (default 20), 50 of them a
#      second above HH, and times each from ingestd's rd message (sent after
#      its COMMIT) to riskd's al.raised: commit_to_alarm_p50_ms and _p99_ms.
# Prints key=value lines, and the targets as a comment; fails when
# alarms_open is not 5,000, a collector batch was refused or an alarm is
# missing.  Everything it
# starts is stopped by pid at exit and the cluster destroyed (kept, with the
# daemons' logs, when the run failed).  `make bench-risk` runs it.
set -eu
build=${1:?usage: tests/bench/risk.sh BUILD [SECONDS]}
secs=${2:-20}
enterprises=1000
per_enterprise=100
points=$((enterprises * per_enterprise))
high_points=$((points / 20))
rate=20000
rounds=$((secs * 3))
[ "$rounds" -ge 5 ] || rounds=5
feed_resync=${RISK_FEED_RESYNC:-10m}
# shellcheck source=SCRIPTDIR/bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"
bench_init "$build"
bench_need "$BIN/riskd" "$BIN/ingestd" "$BIN/safetyctl" "$build/bench/risk_feed" \
    "$build/bench/risk_latency" "$build/bench/risk_uscc"
RPID=""
IPID=""
stop_all() { stop "$RPID"; stop "$IPID"; }
bench_cluster stop_all "riskd-*.log, ingestd.log"

pub_port=$(free_port)
riskd_pub_port=$(free_port)
riskd_http=127.0.0.1:$(free_port)
ingestd_http=127.0.0.1:$(free_port)
pull_port=$(free_port)
PUB_EP=tcp://127.0.0.1:$pub_port

# riskd_metric NAME: the sum of a family's series on riskd's /metrics;
# empty when the family is missing.
riskd_metric() { metric "$1" "$riskd_http"; }
metric_is() { [ "$(riskd_metric "$1")" = "$2" ]; }
riskd_healthy() { curl -sf "http://$riskd_http/healthz" >/dev/null; }
riskd_ready() { riskd_healthy && metric_is anquan_riskd_live 1 && metric_is anquan_riskd_points "$1"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# start_riskd NAME [-o KEY=VALUE ...]: riskd on our endpoints, log $T/NAME.log.
start_riskd() {
	name=$1; shift
	"$BIN/riskd" -d -f "$ROOT/deploy/anquan.conf" \
	    -o "bus.ingestd_pub=$PUB_EP" \
	    -o "bus.riskd_pub=tcp://127.0.0.1:$riskd_pub_port" \
	    -o "riskd.http_listen=$riskd_http" "$@" >"$T/$name.log" 2>&1 &
	RPID=$!
}

# The anquan_bus_* counters that tell whether riskd took the live path.
bus_counters() {
	for c in received handled duplicates gaps replayed dropped malformed; do
		echo "$1_bus_${c}=$(riskd_metric "anquan_bus_${c}_total")"
	done
}

echo "bench=risk"
echo "host_cpus=$(nproc)"
echo "seconds=$secs"
echo "points=$points"

# 1. Memory: riskd empty, then loaded.
start_riskd riskd-empty
wait_until 30 "riskd /healthz (empty registry)" riskd_ready 0
rss_empty=$(rss_kib "$RPID")
stop "$RPID"; RPID=""

"$build/bench/risk_uscc" 370100 "$enterprises" >"$T/uscc.tsv"
# Ten enterprises (1,000 points) share a district and sector, so the feed's
# batches of 1,000 each hold one rd.<district>.<sector> stream.
psql "$CONN" -XAtq -v ON_ERROR_STOP=1 -v points="$points" \
    -v per="$per_enterprise" >/dev/null <<EOF
BEGIN;
CREATE TEMP TABLE bench_uscc (n integer PRIMARY KEY, uscc char(18)) ON COMMIT DROP;
\copy bench_uscc FROM '$T/uscc.tsv'
INSERT INTO enterprises (uscc, name, district, sector, status,
    enforcement_level, source)
SELECT u.uscc, '基准企业' || u.n, d.code, s.code, 'operating', 'district',
    'bench'
  FROM bench_uscc u
  JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS i
          FROM districts) d
    ON d.i = (u.n / 10) % (SELECT count(*) FROM districts)
  JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS i
          FROM sectors) s
    ON s.i = (u.n / 10 / (SELECT count(*) FROM districts))
             % (SELECT count(*) FROM sectors);
INSERT INTO points (code, uscc, kind, unit, ll, l, h, hh, range_lo, range_hi,
    expected_interval_s, source)
SELECT 'RP' || lpad(i::text, 6, '0'), u.uscc, 'level', '%', 5, 10, 80, 90,
    0, 100, 3600, 'bench'
  FROM generate_series(0, :points - 1) AS i
  JOIN bench_uscc u ON u.n = i / :per;
COMMIT;
EOF
registered=$(sql "SELECT count(*) FROM points WHERE code LIKE 'RP%'")
[ "$registered" = "$points" ] || die "$registered of $points points registered"

start_riskd riskd-feed -o "bus.resync=$feed_resync"
t0=$(date +%s.%N)
wait_until 60 "riskd to load $points points" riskd_ready "$points"
t1=$(date +%s.%N)
rss_loaded=$(rss_kib "$RPID")
awk -v e="$rss_empty" -v l="$rss_loaded" -v n="$points" -v a="$t0" -v b="$t1" 'BEGIN {
	printf "riskd_load_s=%.2f\n", b - a
	printf "rss_empty_kib=%d\nrss_loaded_kib=%d\n", e, l
	printf "bytes_per_point=%.0f\n", (l - e) * 1024 / n
}'

# 2. Throughput: the feed stages, then publishes as fast as the socket goes.
echo "feed_riskd_resync=$feed_resync"
feed_rc=0
"$build/bench/risk_feed" "$CONN" "$PUB_EP" "$riskd_http" "$rounds" "$RPID" \
    >"$T/feed.out" 2>"$T/feed.err" || feed_rc=$?
cat "$T/feed.out"
cat "$T/feed.err" >&2
[ "$feed_rc" = 0 ] || die "risk_feed failed ($feed_rc); riskd log: $T/riskd-feed.log"
# The alarms are committed with the readings' cursors: give the gauge a
# moment, but report what it says either way.
i=0
while ! metric_is anquan_riskd_alarms_open "$high_points" && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
alarms_open=$(riskd_metric anquan_riskd_alarms_open)
echo "alarms_open=$alarms_open"
echo "alarms_raised=$(riskd_metric anquan_riskd_alarms_raised_total)"
bus_counters feed | tee "$T/feed_bus.kv"
kv() { sed -n "s/^$1=//p" "$2"; }
if [ "$(kv feed_bus_replayed "$T/feed_bus.kv")" = 0 ] &&
    [ "$(kv feed_bus_gaps "$T/feed_bus.kv")" = 0 ] &&
    [ "$(kv feed_bus_duplicates "$T/feed_bus.kv")" = 0 ]; then
	echo "feed_live_path=yes"
else
	echo "feed_live_path=no"
fi
# Its peak includes the backlog waiting in ZeroMQ's queue.
echo "feed_riskd_peak_rss_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$RPID/status")"
stop "$RPID"; RPID=""

# 3. Latency: ingestd takes collector batches and publishes rd.*, riskd
# (default configuration) raises al.raised.
token=$("$BIN/safetyctl" -c "$CONN" token create --source bench \
    --sectors '*' --districts '*' | grep '^aq_')
"$BIN/ingestd" -d -f "$ROOT/deploy/anquan.conf" \
    -o "bus.ingest_pull=tcp://127.0.0.1:$pull_port" \
    -o "bus.ingestd_pub=$PUB_EP" \
    -o "ingestd.http_listen=$ingestd_http" >"$T/ingestd.log" 2>&1 &
IPID=$!
start_riskd riskd-latency
wait_until 30 "ingestd /healthz" curl -sf "http://$ingestd_http/healthz"
wait_until 60 "riskd to load $points points" riskd_ready "$points"
lat_rc=0
rc0=$(cpu_s "$RPID"); ic0=$(cpu_s "$IPID"); h0=$(host_jiffies); w0=$(date +%s.%N)
"$build/bench/risk_latency" "tcp://127.0.0.1:$pull_port" "$PUB_EP" \
    "tcp://127.0.0.1:$riskd_pub_port" bench "$token" "$points" "$rate" \
    "$secs" >"$T/latency.out" 2>"$T/latency.err" || lat_rc=$?
set -- $h0 $(host_jiffies)
cat "$T/latency.out"
cat "$T/latency.err" >&2
# The daemons' share of a core and the host's load over the whole run.
awk -v r0="$rc0" -v r1="$(cpu_s "$RPID")" -v i0="$ic0" -v i1="$(cpu_s "$IPID")" \
    -v w0="$w0" -v w1="$(date +%s.%N)" -v b0="$1" -v t0="$2" -v b1="$3" -v t1="$4" 'BEGIN {
	printf "latency_riskd_cpu_cores=%.2f\n", (r1 - r0) / (w1 - w0)
	printf "latency_ingestd_cpu_cores=%.2f\n", (i1 - i0) / (w1 - w0)
	printf "latency_host_busy_pct=%.0f\n", (t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0)
}'
bus_counters latency
echo "latency_alarms_open_end=$(riskd_metric anquan_riskd_alarms_open)"

echo "# targets: readings_evaluated_per_s >= 500000, commit_to_alarm_p99_ms <= 10"
[ "$alarms_open" = "$high_points" ] ||
	die "alarms_open ended at $alarms_open after the feed, not $high_points"
[ "$lat_rc" = 0 ] || die "risk_latency failed ($lat_rc): refused batches or missing alarms"

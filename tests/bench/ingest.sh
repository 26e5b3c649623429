#!/bin/sh
# ingest.sh - how fast ingestd makes readings durable, by HTTP and by ZeroMQ,
# against a plain COPY of the same rows (issue 3's benchmark).
#
#   tests/bench/ingest.sh BUILD [SECONDS] [CLIENTS] [WINDOW]
#
# Makes its own PostgreSQL cluster in a temporary folder on a free port,
# migrates it, creates a source token, starts BUILD/bin/ingestd on free
# ports, registers 10,000 points over 9 enterprises (3 districts x 3
# sectors) through POST /v1/events, then runs three phases of SECONDS
# (default 10) each (four runs), TRUNCATE readings between them:
#   1. HTTP: CLIENTS (default 4) keep-alive clients post 500-reading JSON
#      batches (BUILD/bench/ingest_load); p50/p99 request latency;
#   2. ZeroMQ: 500-reading protobuf batches PUSHed with WINDOW (default 64)
#      batches awaiting their ack (BUILD/bench/ingest_zmq); a window of 64
#      (32,000 readings in flight) keeps the writer's groups full while
#      the previous group commits, as a busy collector would;
#   3. COPY: the same rows by plain libpq COPY (BUILD/bench/ingest_copy),
#      twice: committed in groups the mean size ingestd's writer used in
#      phase 1 (copy_*, the reference of http_vs_copy), then in phase 2
#      (copy_zmq_*, the reference of zmq_vs_copy).
# Rates count the rows found in the table afterwards, over the phase's
# elapsed time.  Prints key=value lines, among them http_readings_per_s,
# http_p50_ms, http_p99_ms, zmq_readings_per_s, copy_readings_per_s,
# http_vs_copy, zmq_vs_copy and ingestd_rss_mib (peak, VmHWM).  Everything
# it starts is stopped by pid at exit.  `make bench-ingest` runs it.
# WRITER_CONNECTIONS=N in the environment sets ingestd's [ingestd]
# writer_connections (else its default); the value used is printed.
set -eu
build=${1:?usage: tests/bench/ingest.sh BUILD [SECONDS] [CLIENTS] [WINDOW]}
secs=${2:-10}
clients=${3:-4}
window=${4:-64}
points=10000
# shellcheck source=SCRIPTDIR/bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"
bench_init "$build"
bench_need "$BIN/ingestd" "$BIN/safetyctl" "$build/bench/ingest_load" \
    "$build/bench/ingest_zmq" "$build/bench/ingest_copy"
IPID=""
stop_all() { stop "$IPID"; }
bench_cluster stop_all ingestd.log

districts=$(sql "SELECT string_agg(code, ',') FROM (SELECT code FROM districts ORDER BY code LIMIT 3) d")
sectors=$(sql "SELECT string_agg(code, ',') FROM (SELECT code FROM sectors ORDER BY code LIMIT 3) s")
token=$("$BIN/safetyctl" -c "$CONN" token create --source bench \
    --sectors "$sectors" --districts "$districts" | grep '^aq_')

http_port=$(free_port)
pull_port=$(free_port)
pub_port=$(free_port)
cat >"$T/anquan.conf" <<EOF
[store]
conninfo = $CONN
[bus]
ingest_pull = tcp://127.0.0.1:$pull_port
ingestd_pub = tcp://127.0.0.1:$pub_port
[ingestd]
http_listen = 127.0.0.1:$http_port
EOF
[ -z "${WRITER_CONNECTIONS:-}" ] ||
	echo "writer_connections = $WRITER_CONNECTIONS" >>"$T/anquan.conf"
"$BIN/ingestd" -d -f "$T/anquan.conf" >"$T/ingestd.log" 2>&1 &
IPID=$!
wait_until 20 "ingestd /healthz" curl -sf "http://127.0.0.1:$http_port/healthz"

echo "bench=ingest"
echo "host_cpus=$(nproc)"
echo "seconds=$secs"
echo "writer_connections=$(sed -n 's/.*ingest\.ready.* writer_connections=\([0-9]*\).*/\1/p' "$T/ingestd.log" | head -n 1)"
echo "points=$points"
"$build/bench/ingest_load" setup "127.0.0.1:$http_port" "$token" "$points" \
    "$districts" "$sectors"
registered=$(sql "SELECT count(*) FROM points WHERE code LIKE 'BP%'")
[ "$registered" = "$points" ] || { echo "ingest.sh: $registered of $points points registered" >&2; exit 1; }

# Readings three hours back, one second apart per round: inside the daily
# partitions, distinct (point, ts) across the whole run.
base_ms=$(( ($(date +%s) - 3 * 3600) * 1000 ))

# CPU seconds ingestd has used, and the host's busy and total jiffies: per
# phase they show whether ingestd or PostgreSQL is what the rate hits.
ingestd_cpu() { cpu_s "$IPID"; }
# phase_cpu NAME CPU0 "BUSY0 TOTAL0": ingestd's share of one core and the
# host's busy share over the phase.
phase_cpu() {
	c1=$(ingestd_cpu); set -- "$1" "$2" $3 $(host_jiffies)
	awk -v n="$1" -v c0="$2" -v c1="$c1" -v b0="$3" -v t0="$4" -v b1="$5" -v t1="$6" -v s="$secs" 'BEGIN {
		printf "%s_ingestd_cpu_cores=%.2f\n", n, (c1 - c0) / s
		printf "%s_host_busy_pct=%.0f\n", n, (t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0)
	}'
}

# key VALUE from a key=value file.
kv() { sed -n "s/^$1=//p" "$2" | tail -n 1; }
# metric_sum NAME: a family's sum on ingestd's /metrics, 0 when missing.
metric_sum() {
	bench_m=$(metric "$1" "127.0.0.1:$http_port")
	echo "${bench_m:-0}"
}

# 1. HTTP
c0=$(ingestd_cpu); h0=$(host_jiffies)
"$build/bench/ingest_load" http "127.0.0.1:$http_port" "$token" "$points" \
    "$clients" "$secs" "$base_ms" >"$T/http.out"
cat "$T/http.out"
phase_cpu http "$c0" "$h0"
http_rows=$(sql "SELECT count(*) FROM readings")
http_s=$(kv http_elapsed_s "$T/http.out")
group_sum=$(metric_sum anquan_ingest_group_items_sum)
group_n=$(metric_sum anquan_ingest_group_items_count)
if [ "${group_n:-0}" -gt 0 ]; then
	# Whole batches of 500, as the COPY client sends them.
	commit_rows=$(( (group_sum / group_n + 250) / 500 * 500 ))
else
	commit_rows=10000
fi
[ "$commit_rows" -ge 500 ] || commit_rows=500
echo "http_rows=$http_rows"
echo "ingestd_mean_group_items=$commit_rows"

# 2. ZeroMQ
sql "TRUNCATE readings"
c0=$(ingestd_cpu); h0=$(host_jiffies)
"$build/bench/ingest_zmq" "tcp://127.0.0.1:$pull_port" "tcp://127.0.0.1:$pub_port" \
    bench "$token" "$points" "$window" "$secs" "$base_ms" >"$T/zmq.out"
cat "$T/zmq.out"
phase_cpu zmq "$c0" "$h0"
zmq_rows=$(sql "SELECT count(*) FROM readings")
zmq_s=$(kv zmq_elapsed_s "$T/zmq.out")
echo "zmq_rows=$zmq_rows"
zsum=$(( $(metric_sum anquan_ingest_group_items_sum) - group_sum ))
zn=$(( $(metric_sum anquan_ingest_group_items_count) - group_n ))
[ "$zn" -gt 0 ] && echo "ingestd_zmq_mean_group_items=$(( zsum / zn ))"
rss_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$IPID/status")

# 3. COPY, once at the HTTP phase's mean group size and once at the ZeroMQ
# phase's, so each ratio compares equal commit sizes.
zmq_commit_rows=10000
[ "${zn:-0}" -gt 0 ] && zmq_commit_rows=$(( (zsum / zn + 250) / 500 * 500 ))
[ "$zmq_commit_rows" -ge 500 ] || zmq_commit_rows=500
# copy_phase NAME COMMIT_ROWS: one COPY run, its key=value lines in $T/NAME.kv.
copy_phase() {
	sql "TRUNCATE readings"
	h0=$(host_jiffies)
	"$build/bench/ingest_copy" "$CONN" "$points" "$2" "$secs" "$base_ms" >"$T/$1.out"
	{
		sed "s/^copy_/$1_/" "$T/$1.out"
		set -- "$1" $h0 $(host_jiffies)
		awk -v n="$1" -v b0="$2" -v t0="$3" -v b1="$4" -v t1="$5" 'BEGIN {
			printf "%s_host_busy_pct=%.0f\n", n, (t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0)
		}'
		echo "$1_table_rows=$(sql "SELECT count(*) FROM readings")"
	} >"$T/$1.kv"
	cat "$T/$1.kv"
}
copy_phase copy "$commit_rows"
copy_phase copy_zmq "$zmq_commit_rows"
copy_rows=$(kv copy_table_rows "$T/copy.kv")
copy_s=$(kv copy_elapsed_s "$T/copy.kv")
copyz_rows=$(kv copy_zmq_table_rows "$T/copy_zmq.kv")
copyz_s=$(kv copy_zmq_elapsed_s "$T/copy_zmq.kv")
awk -v hr="$http_rows" -v hs="$http_s" -v zr="$zmq_rows" -v zs="$zmq_s" \
    -v cr="$copy_rows" -v cs="$copy_s" -v rss="$rss_kib" \
    -v czr="$copyz_rows" -v czs="$copyz_s" \
    -v p50="$(kv http_p50_ms "$T/http.out")" -v p99="$(kv http_p99_ms "$T/http.out")" '
BEGIN {
	h = hs > 0 ? hr / hs : 0
	z = zs > 0 ? zr / zs : 0
	c = cs > 0 ? cr / cs : 0
	cz = czs > 0 ? czr / czs : 0
	printf "http_readings_per_s=%.0f\n", h
	printf "http_p50_ms=%s\n", p50
	printf "http_p99_ms=%s\n", p99
	printf "zmq_readings_per_s=%.0f\n", z
	printf "copy_readings_per_s=%.0f\n", c
	printf "copy_zmq_readings_per_s=%.0f\n", cz
	printf "http_vs_copy=%.2f\n", (c > 0 ? h / c : 0)
	printf "zmq_vs_copy=%.2f\n", (cz > 0 ? z / cz : 0)
	printf "ingestd_rss_mib=%.1f\n", rss / 1024
}'

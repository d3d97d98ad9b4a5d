#!/bin/bash
# Benchmark: cairn-auth's CDN steering (GeoIP/ECS) against its own static answers and
# against gdnsd's geoip plugin, same zone, same map, same GeoIP database, same run.
#
# The zone and map are the gdnsd cross-check's (tests/fixtures/steer-gdnsd: 9
# datacenters, GeoLite2-City-Test.mmdb, 8 operator networks); gdnsd's config is written
# from the same map by tests/fixtures/steer-gdnsd/gen.py. Query files (dnsperf -B, raw
# packets, bench/steering/gen_queries.py) carry an EDNS Client Subnet option cycling over
# 10000 distinct client subnets (IPv4 /24s and IPv6 /48s, from the database's networks
# and random space):
#   steered   www.steer.test A  -- cairn-auth: the map chooses per subnet
#   static    web.steer.test A  -- cairn-auth: plain zone data, the same packets otherwise
#   gdnsd     www.steer.test A  -- gdnsd: its geoip plugin (city-auto mode)
#   gdnsd-static  web.steer.test A  -- gdnsd: plain zone data (for reference)
# Each server runs one worker (cairn-auth --threads 1; gdnsd udp_threads 1) pinned to
# CPU 0 (taskset), dnsperf pinned to CPU 1, one load after the other, BENCH_SECONDS each,
# BENCH_ROUNDS rounds (order reversed every other round; the table sums the rounds).
# Reported: queries per second, mean latency, lost queries, the server's CPU seconds
# during the load (utime + stime of all its threads, /proc/PID/stat) and answers per
# server CPU-second -- dnsperf on its own core is often the limit, so qps understate a
# fast server and answers per CPU-second is the fair comparison. Ratios: steered /
# static (goal >= 0.8) and cairn-auth steered / gdnsd (goal >= 1.0).
# The table goes to stdout and to bench/steering/results.md (dated).
#
# Environment:
#   BENCH_SECONDS   seconds of load per query file and round (default 10)
#   BENCH_ROUNDS    rounds (default 3)
#   BENCH_QUERIES   packets per query file (default 20000; the file is replayed)
#   BENCH_CLIENTS, BENCH_OUTSTANDING   dnsperf -c and -q (default 4 and 200)
#   CAIRN_AUTH      the cairn-auth binary (default build/release/bin/cairn-auth)
#   BENCH_WORK      scratch dir (default build/bench-steering)
#   BENCH_RESULT    where the table goes (default bench/steering/results.md)
# Servers: cairn-auth 127.62.2.1, gdnsd 127.62.2.2, port BENCH_PORT (default 5300).
# Run it under the build lock on a shared machine (make bench LOCK=/tmp/cairn-build.lock).
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
NQUERIES=${BENCH_QUERIES:-20000}
CLIENTS=${BENCH_CLIENTS:-4}
OUTSTANDING=${BENCH_OUTSTANDING:-200}
CAIRN_AUTH=${CAIRN_AUTH:-$SRC/build/release/bin/cairn-auth}
WORK=${BENCH_WORK:-$SRC/build/bench-steering}
RESULT=${BENCH_RESULT:-$SRC/bench/steering/results.md}
PORT=${BENCH_PORT:-5300}
FIX=$SRC/tests/fixtures/steer-gdnsd
MAP=$FIX/map.json
MMDB=$SRC/tests/fixtures/mmdb/GeoLite2-City-Test.mmdb
CAIRN_ADDR=127.62.2.1
GDNSD_ADDR=127.62.2.2
READY_SECONDS=20
SERVER_CPU=0
LOAD_CPU=1
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

say() { printf 'bench/steering: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"

case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
bench_need_tools dnsperf dig taskset gdnsd
[ -x "$CAIRN_AUTH" ] || die "$CAIRN_AUTH missing: run 'make build' first"
"$CAIRN_AUTH" --help 2>&1 | grep -q -- '--map' || die "$CAIRN_AUTH has no --map: steering not built in"
[ -f "$MMDB" ] || die "missing $MMDB"
[ "$(nproc)" -ge 2 ] || { LOAD_CPU=0; say "one CPU only: server and dnsperf share it"; }

rm -rf "$WORK"
mkdir -p "$WORK"

# --- query files ---------------------------------------------------------------------------
"$PY" "$SRC/bench/steering/gen_queries.py" "$FIX/clients.txt" www.steer.test "$NQUERIES" \
	"$WORK/www.bin"
"$PY" "$SRC/bench/steering/gen_queries.py" "$FIX/clients.txt" web.steer.test "$NQUERIES" \
	"$WORK/web.bin"
[ "$(stat -c %s "$WORK/www.bin")" = "$(stat -c %s "$WORK/web.bin")" ] ||
	die "steered and static query files differ in size"

# --- servers -------------------------------------------------------------------------------
PID=""

start_cairn() {
	taskset -c "$SERVER_CPU" "$CAIRN_AUTH" --listen "$CAIRN_ADDR@$PORT" \
		--zone "steer.test.=$FIX/steer.test.zone" --map "$MAP" --threads 1 \
		>"$WORK/cairn-auth.log" 2>&1 &
	PID=$!
}

start_gdnsd() {
	local dir=$WORK/gdnsd
	rm -rf "$dir"
	mkdir -p "$dir/zones"
	"$PY" "$FIX/gen.py" gdnsd-config "$MAP" "$MMDB" "$GDNSD_ADDR" "$PORT" "$dir" >"$dir/config"
	cp "$FIX/steer.test.gdnsd.zone" "$dir/zones/steer.test"
	taskset -c "$SERVER_CPU" gdnsd -c "$dir" start >"$WORK/gdnsd.log" 2>&1 &
	PID=$!
}

# cpu_ticks: utime + stime of the server process (all its threads), in clock ticks.
cpu_ticks() { bench_pid_ticks "$PID"; }

stop_server() { bench_stop_server; }
trap stop_server EXIT
trap 'exit 130' INT TERM

wait_ready() { bench_wait_auth "$1" "$2" steer.test; } # NAME ADDR

# Steering really happens: two subnets on two continents get two datacenters.
check_steers() { # NAME ADDR
	local a b
	a=$(dig +short +norec -p "$PORT" @"$2" www.steer.test A +subnet=89.160.20.112/28)
	b=$(dig +short +norec -p "$PORT" @"$2" www.steer.test A +subnet=175.16.199.0/24)
	if [ -z "$a" ] || [ -z "$b" ] || [ "$a" = "$b" ]; then
		die "$1 does not steer: Linkoping gets '$a', Changchun '$b'"
	fi
}

TICK=$(getconf CLK_TCK)
declare -A COMPLETED LOST TIME LATSUM TICKS RCODES

# measure LOAD FILE ADDR: one dnsperf run; adds to LOAD's totals.
measure() {
	local load=$1 file=$2 addr=$3 out c0 c1
	say "$load: dnsperf on CPU $LOAD_CPU for ${SECONDS_EACH}s against $addr@$PORT (round $round)"
	out="$WORK/dnsperf-$load-$round.txt"
	c0=$(cpu_ticks)
	timeout $((SECONDS_EACH + 30)) taskset -c "$LOAD_CPU" dnsperf -B -s "$addr" -p "$PORT" \
		-d "$file" -l "$SECONDS_EACH" -c "$CLIENTS" -q "$OUTSTANDING" -t 2 \
		>"$out" 2>&1 || say "dnsperf ($load) exited with $?"
	c1=$(cpu_ticks)
	grep -q 'Queries completed:' "$out" || { say "no dnsperf result for $load:"; tail -n 5 "$out" >&2; return 1; }
	bench_dnsperf_add "$load" "$out" $((c1 - c0))
	RCODES[$load]=$(sed -n 's/^ *Response codes: *//p' "$out")
}

# One server, started once per round, measured with both of its query files.
run_cairn() {
	start_cairn
	wait_ready cairn-auth "$CAIRN_ADDR" || die "cairn-auth did not start"
	check_steers cairn-auth "$CAIRN_ADDR"
	if [ $((round % 2)) -eq 1 ]; then
		measure steered "$WORK/www.bin" "$CAIRN_ADDR"
		measure static "$WORK/web.bin" "$CAIRN_ADDR"
	else
		measure static "$WORK/web.bin" "$CAIRN_ADDR"
		measure steered "$WORK/www.bin" "$CAIRN_ADDR"
	fi
	stop_server
}
run_gdnsd() {
	start_gdnsd
	wait_ready gdnsd "$GDNSD_ADDR" || die "gdnsd did not start"
	check_steers gdnsd "$GDNSD_ADDR"
	if [ $((round % 2)) -eq 1 ]; then
		measure gdnsd "$WORK/www.bin" "$GDNSD_ADDR"
		measure gdnsd-static "$WORK/web.bin" "$GDNSD_ADDR"
	else
		measure gdnsd-static "$WORK/web.bin" "$GDNSD_ADDR"
		measure gdnsd "$WORK/www.bin" "$GDNSD_ADDR"
	fi
	stop_server
}

for round in $(seq "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then run_cairn; run_gdnsd; else run_gdnsd; run_cairn; fi
done

# --- the table -----------------------------------------------------------------------------
declare -A QPS LAT CPU APC
LOADS="steered static gdnsd gdnsd-static"
for l in $LOADS; do
	bench_dnsperf_totals "$l"
done
ratio() { bench_ratio "$1" "$2"; } # VALUE BASE
# per_round: qps of each load in each round (from the dnsperf outputs), and the
# steered / gdnsd ratio per round: how far the machine's noise moves a single run.
per_round() {
	local l r q
	printf '| round |'
	for l in $LOADS; do printf ' %s |' "$l"; done
	printf ' steered / static | steered / gdnsd |\n|---:|'
	for l in $LOADS; do printf -- '---:|'; done
	printf -- '---:|---:|\n'
	for r in $(seq "$ROUNDS"); do
		printf '| %s |' "$r"
		declare -A RQ=()
		for l in $LOADS; do
			q=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$WORK/dnsperf-$l-$r.txt" 2>/dev/null)
			RQ[$l]=${q:-0}
			printf ' %s |' "${RQ[$l]}"
		done
		printf ' %s | %s |\n' "$(ratio "${RQ[steered]}" "${RQ[static]}")" "$(ratio "${RQ[steered]}" "${RQ[gdnsd]}")"
		unset RQ
	done
}
desc() {
	case $1 in
	steered) echo "cairn-auth, www.steer.test (steered by the map)" ;;
	static) echo "cairn-auth, web.steer.test (zone data)" ;;
	gdnsd) echo "gdnsd, www.steer.test (geoip plugin)" ;;
	gdnsd-static) echo "gdnsd, web.steer.test (zone data)" ;;
	esac
}
{
	echo "# CDN steering benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "\`bench/steering/run.sh\`: zone and map of tests/fixtures/steer-gdnsd (9 datacenters,"
	echo "GeoLite2-City-Test.mmdb, 8 operator networks), the same for gdnsd $(gdnsd -V 2>&1 | sed -n 's/^gdnsd version \([^ ]*\).*/\1/p')."
	echo "$NQUERIES raw queries per file (dnsperf -B), each with ECS from 10000 distinct subnets"
	echo "(IPv4 /24s and IPv6 /48s; database networks and random space). dnsperf -c $CLIENTS"
	echo "-q $OUTSTANDING for ${SECONDS_EACH}s per load and round, $ROUNDS round(s), order alternating,"
	echo "on CPU $LOAD_CPU; each server one worker on CPU $SERVER_CPU."
	echo "Machine: $(bench_machine)."
	echo "cairn-auth: $("$CAIRN_AUTH" --version 2>&1 | head -1), $(git -C "$SRC" log -1 --format='commit %h (%cd)' --date=format:'%Y-%m-%d %H:%M' 2>/dev/null)."
	echo
	echo "| load | qps | mean latency ms | lost | server CPU s | answers / CPU-s |"
	echo "|---|---:|---:|---:|---:|---:|"
	for l in $LOADS; do
		echo "| $(desc "$l") | ${QPS[$l]} | ${LAT[$l]} | ${LOST[$l]} | ${CPU[$l]} | ${APC[$l]} |"
	done
	echo
	echo "| ratio | qps | answers / CPU-s | goal |"
	echo "|---|---:|---:|---:|"
	echo "| cairn-auth steered / static | $(ratio "${QPS[steered]}" "${QPS[static]}") | $(ratio "${APC[steered]}" "${APC[static]}") | ≥ 0.8 |"
	echo "| cairn-auth steered / gdnsd geoip | $(ratio "${QPS[steered]}" "${QPS[gdnsd]}") | $(ratio "${APC[steered]}" "${APC[gdnsd]}") | ≥ 1.0 |"
	echo "| gdnsd geoip / gdnsd static (reference) | $(ratio "${QPS[gdnsd]}" "${QPS[gdnsd-static]}") | $(ratio "${APC[gdnsd]}" "${APC[gdnsd-static]}") | |"
	echo
	echo "qps per round:"
	echo
	per_round
	echo
	echo "Response codes (last round): steered: ${RCODES[steered]:-?}; static: ${RCODES[static]:-?};"
	echo "gdnsd: ${RCODES[gdnsd]:-?}; gdnsd-static: ${RCODES[gdnsd-static]:-?}."
	echo "When a server's CPU seconds are well under the run time, dnsperf (on its own core)"
	echo "was the limit and qps understate the server: answers per CPU-second is the fair"
	echo "comparison then. gdnsd's CPU time counts all its threads (the idle monitoring and TCP"
	echo "threads included), cairn-auth's likewise."
} | tee "$RESULT"
say "written to $RESULT"

#!/bin/bash
# Benchmark: cairn-auth against NSD and knotd, serving the same zone, in the same run.
#
# Each server runs with one worker, pinned to CPU 0 (taskset -c 0); dnsperf runs pinned to
# CPU 1, one server after the other, for BENCH_SECONDS each, over the same query file.
# Reported per server: queries per second, mean latency, lost queries, the server's CPU
# time during the run (utime + stime from /proc/PID/stat, summed over the server's
# processes) and answers per server CPU-second -- on a 2-core machine dnsperf saturates
# its core before a fast server does, so answers per CPU-second is the fair comparison.
# Ratios are against NSD. The table goes to stdout and to bench/results/auth-<date>.md.
#
# Environment:
#   BENCH_SECONDS   seconds of load per server and round (default 15)
#   BENCH_ROUNDS    rounds, each running every server once, order reversed every other
#                   round (default 1); the table sums the rounds
#   BENCH_NAMES     names in the generated zone (default 5000)
#   BENCH_QUERIES   queries in the generated query file (default 20000)
#   BENCH_CLIENTS, BENCH_OUTSTANDING   dnsperf -c and -q (default 4 and 200)
#   BENCH_SERVERS   which servers, in order (default "cairn-auth nsd knotd")
#   CAIRN_AUTH      the cairn-auth binary (default build/release/bin/cairn-auth)
#   BENCH_WORK      scratch dir (default build/bench-auth)
# Servers listen on 127.55.1.1 (cairn-auth), 127.55.1.2 (NSD), 127.55.1.3 (knotd), port
# BENCH_PORT (default 5300): no root needed, nothing near 127.0.0.1:53.
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${BENCH_SECONDS:-15}
ROUNDS=${BENCH_ROUNDS:-1}
NAMES=${BENCH_NAMES:-5000}
NQUERIES=${BENCH_QUERIES:-20000}
CLIENTS=${BENCH_CLIENTS:-4}
OUTSTANDING=${BENCH_OUTSTANDING:-200}
SERVERS=${BENCH_SERVERS:-cairn-auth nsd knotd}
CAIRN_AUTH=${CAIRN_AUTH:-$SRC/build/release/bin/cairn-auth}
WORK=${BENCH_WORK:-$SRC/build/bench-auth}
PORT=${BENCH_PORT:-5300}
ORIGIN=bench.test
READY_SECONDS=20
SERVER_CPU=0
LOAD_CPU=1

say() { printf 'bench/auth: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"

bench_need_tools dnsperf dig taskset nsd knotd
[ "$(nproc)" -ge 2 ] || { SERVER_CPU=0; LOAD_CPU=0; say "one CPU only: server and dnsperf share it"; }

rm -rf "$WORK"
mkdir -p "$WORK" "$SRC/bench/results"
ZONE="$WORK/$ORIGIN.zone"
QUERIES="$WORK/queries.txt"

# --- the zone: a realistic mix -------------------------------------------------------------
# hosts with A (some with two addresses, a third with AAAA), CNAMEs to hosts, mail names with
# MX and their exchangers, TXT, SRV, a wildcard, and delegations with glue.
gen_zone() {
	awk -v n="$NAMES" -v origin="$ORIGIN" 'BEGIN {
		srand(2);
		printf "$ORIGIN %s.\n$TTL 3600\n", origin;
		printf "@ IN SOA ns1 hostmaster 2026112701 3600 900 604800 300\n";
		printf "@ IN NS ns1\n@ IN NS ns2\nns1 IN A 127.55.0.1\nns2 IN A 127.55.0.2\n";
		printf "@ IN A 192.0.2.1\n@ IN MX 10 mx0\n@ IN TXT \"v=spf1 mx -all\"\n";
		printf "*.wild IN A 192.0.2.99\n";
		hosts = int(n * 0.6); cnames = int(n * 0.15); mails = int(n * 0.1);
		txts = int(n * 0.1); subs = int(n * 0.05);
		for (i = 0; i < hosts; i++) {
			printf "host%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256;
			if (i % 4 == 0) printf "host%d IN A 10.200.%d.%d\n", i, int(i / 256) % 256, i % 256;
			if (i % 3 == 0) printf "host%d IN AAAA 2001:db8::%x\n", i, i;
		}
		for (i = 0; i < cnames; i++) printf "www%d IN CNAME host%d\n", i, int(rand() * hosts);
		for (i = 0; i < mails; i++) {
			printf "mail%d IN MX 10 mx%d\nmail%d IN MX 20 mx%d\n", i, i, i, (i + 1) % mails;
			printf "mx%d IN A 172.16.%d.%d\n", i, int(i / 256) % 256, i % 256;
		}
		for (i = 0; i < txts; i++) printf "txt%d IN TXT \"id=%d; some text of a realistic length for a verification token\"\n", i, i;
		for (i = 0; i < subs; i++) {
			printf "sub%d IN NS ns1.sub%d\nsub%d IN NS ns2.sub%d\n", i, i, i, i;
			printf "ns1.sub%d IN A 198.51.%d.%d\nns2.sub%d IN A 198.51.%d.%d\n", i, int(i/256)%256, (2*i)%256, i, int(i/256)%256, (2*i+1)%256;
		}
		printf "_sip._udp IN SRV 0 5 5060 host1\n";
	}' >"$ZONE"
}

# --- the queries: mostly hits, some misses ------------------------------------------------
# 55% A hits, 10% AAAA (half of them NODATA), 10% NXDOMAIN, 8% CNAME, 6% MX, 5% TXT,
# 3% referrals into the delegations, 3% wildcard matches; names in mixed case now and then.
gen_queries() {
	awk -v n="$NAMES" -v q="$NQUERIES" -v origin="$ORIGIN" 'BEGIN {
		srand(3);
		hosts = int(n * 0.6); cnames = int(n * 0.15); mails = int(n * 0.1);
		txts = int(n * 0.1); subs = int(n * 0.05);
		for (k = 0; k < q; k++) {
			r = rand() * 100;
			if (r < 55)      { name = "host" int(rand() * hosts); t = "A" }
			else if (r < 65) { name = "host" int(rand() * hosts); t = "AAAA" }
			else if (r < 75) { name = "nx" int(rand() * 100000); t = "A" }
			else if (r < 83) { name = "www" int(rand() * cnames); t = "A" }
			else if (r < 89) { name = "mail" int(rand() * mails); t = "MX" }
			else if (r < 94) { name = "txt" int(rand() * txts); t = "TXT" }
			else if (r < 97) { name = "host" int(rand() * 50) ".sub" int(rand() * subs); t = "A" }
			else             { name = "x" int(rand() * 1000) ".wild"; t = "A" }
			fqdn = name "." origin;
			if (k % 10 == 0) fqdn = toupper(substr(fqdn, 1, 1)) substr(fqdn, 2);
			print fqdn, t;
		}
	}' >"$QUERIES"
}

gen_zone
gen_queries
nsd-checkzone "$ORIGIN" "$ZONE" >/dev/null || die "generated zone does not pass nsd-checkzone"

# --- servers -------------------------------------------------------------------------------
PID="" # the server being measured (its process group leader for NSD)

# start_<server> ADDR: start it pinned to SERVER_CPU, set PID.
start_cairn-auth() {
	taskset -c "$SERVER_CPU" "$CAIRN_AUTH" --listen "$1@$PORT" --zone "$ORIGIN.=$ZONE" \
		--threads 1 >"$WORK/cairn-auth.log" 2>&1 &
	PID=$!
}

start_nsd() {
	local conf="$WORK/nsd.conf"
	cat >"$conf" <<EOF
server:
	ip-address: $1@$PORT
	server-count: 1
	database: ""
	zonelistfile: ""
	username: ""
	pidfile: ""
	chroot: ""
	xfrdfile: "$WORK/nsd.xfrd"
	verbosity: 0
	# Debian's NSD has response rate limiting on (200 qps per /24): off for a benchmark.
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "$ORIGIN"
	zonefile: "$ZONE"
EOF
	nsd-checkconf "$conf" || die "bad NSD config"
	# NSD forks its server and transfer processes: a session of its own, stopped as a group.
	setsid taskset -c "$SERVER_CPU" nsd -d -c "$conf" >"$WORK/nsd.log" 2>&1 &
	PID=$!
}

start_knotd() {
	local conf="$WORK/knot.conf"
	mkdir -p "$WORK/knot"
	cat >"$conf" <<EOF
server:
    listen: $1@$PORT
    rundir: "$WORK/knot"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "$WORK/knot/knot.sock"
database:
    storage: "$WORK/knot"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$WORK/knot"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: $ORIGIN
    file: "$ZONE"
EOF
	knotc -c "$conf" conf-check >/dev/null || die "bad knotd config"
	taskset -c "$SERVER_CPU" knotd -c "$conf" >"$WORK/knotd.log" 2>&1 &
	PID=$!
}

# server_pids: PID and, for NSD, the processes it forked (same session).
server_pids() {
	echo "$PID"
	ps -e -o pid=,sid= | awk -v s="$PID" '$2 == s && $1 != s { print $1 }'
}

# cpu_ticks: utime + stime of the server's processes, in clock ticks.
cpu_ticks() {
	local p total=0 t
	for p in $(server_pids); do
		t=$(bench_pid_ticks "$p") || t=0
		total=$((total + ${t:-0}))
	done
	echo "$total"
}

stop_server() { bench_stop_server; }
trap stop_server EXIT
trap 'exit 130' INT TERM

wait_ready() { bench_wait_auth "$1" "$2" "$ORIGIN"; } # NAME ADDR

# Same answers? A few probes, compared across servers after the runs (rcode and answer count).
probe() { # ADDR
	local q
	for q in "host1 A" "host3 AAAA" "host1 AAAA" "nx1 A" "www1 A" "mail1 MX" "txt1 TXT" \
		"host1.sub1 A" "abc.wild A"; do
		set -- $q
		dig +norec +time=2 +tries=1 -p "$PORT" @"$ADDR" "$1.$ORIGIN" "$2" |
			awk -v q="$q" '/status:/ { s = $6 } /^;; flags:/ { a = $0; sub(/.*ANSWER: /, "", a);
				sub(/,.*/, "", a); f = $0; sub(/;; flags: /, "", f); sub(/;.*/, "", f) }
				END { printf "%s: %s %s ans=%s\n", q, s, f, a }'
	done
}

TICK=$(getconf CLK_TCK)
declare -A QPS LAT LOST CPU APC COMPLETED RCODES PROBES
ran=""
skipped=""
addr_of() { case $1 in cairn-auth) echo 127.55.1.1 ;; nsd) echo 127.55.1.2 ;; knotd) echo 127.55.1.3 ;; esac; }

# One measured run of server $1 on $ADDR; adds to the totals of the server.
measure() {
	local s=$1 out c0 c1
	say "$s on $ADDR@$PORT (CPU $SERVER_CPU), dnsperf on CPU $LOAD_CPU for ${SECONDS_EACH}s (round $round)"
	"start_$s" "$ADDR"
	if ! wait_ready "$s" "$ADDR"; then
		stop_server
		return 1
	fi
	[ -n "${PROBES[$s]:-}" ] || PROBES[$s]=$(probe)
	out="$WORK/dnsperf-$s-$round.txt"
	c0=$(cpu_ticks)
	timeout $((SECONDS_EACH + 30)) taskset -c "$LOAD_CPU" dnsperf -s "$ADDR" -p "$PORT" \
		-d "$QUERIES" -l "$SECONDS_EACH" -c "$CLIENTS" -q "$OUTSTANDING" -e -t 2 \
		>"$out" 2>&1 || say "dnsperf against $s exited with $?"
	c1=$(cpu_ticks)
	stop_server
	grep -q 'Queries completed:' "$out" || { say "no dnsperf result for $s:"; tail -n 5 "$out" >&2; return 1; }
	bench_dnsperf_add "$s" "$out" $((c1 - c0))
	RCODES[$s]="${RCODES[$s]:+${RCODES[$s]}; }$(sed -n 's/^ *Response codes: *//p' "$out")"
}

declare -A TIME LATSUM TICKS
order=""
for s in $SERVERS; do
	[ -n "$(addr_of "$s")" ] || die "unknown server $s"
	if [ "$s" = cairn-auth ] && [ ! -x "$CAIRN_AUTH" ]; then
		say "skipping cairn-auth: $CAIRN_AUTH not built (make build)"
		skipped="$skipped cairn-auth"
		continue
	fi
	order="$order $s"
done
# Several rounds alternate the order, so that a burst of noise on the machine does not
# always fall on the same server.
for round in $(seq "$ROUNDS"); do
	list=$order
	[ $((round % 2)) -eq 0 ] && list=$(printf '%s\n' $order | tac | tr '\n' ' ')
	for s in $list; do
		case " $skipped " in *" $s "*) continue ;; esac
		ADDR=$(addr_of "$s")
		measure "$s" || { skipped="$skipped $s"; continue; }
	done
done
for s in $order; do
	case " $skipped " in *" $s "*) continue ;; esac
	[ -n "${COMPLETED[$s]:-}" ] || continue
	bench_dnsperf_totals "$s"
	ran="$ran $s"
done

[ -n "$ran" ] || die "no server ran"

# --- the table -----------------------------------------------------------------------------
ratio() { bench_ratio "$1" "$2" ×; } # VALUE BASE
base=nsd
[ -n "${QPS[nsd]:-}" ] || base=${ran%% *}
base=${base# }
RESULT="$SRC/bench/results/auth-$(date -u +%Y%m%d-%H%M%S).md"
{
	echo "# cairn-auth benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Zone \`$ORIGIN\`: $(grep -vc '^\$' "$ZONE") records ($NAMES names, generated);"
	echo "$NQUERIES queries (55% A hits, 10% AAAA, 10% NXDOMAIN, 8% CNAME, 6% MX, 5% TXT,"
	echo "3% referrals, 3% wildcard; EDNS0). dnsperf -c $CLIENTS -q $OUTSTANDING for ${SECONDS_EACH}s"
	echo "per server and round ($ROUNDS round(s), order alternating) on CPU $LOAD_CPU; each server one"
	echo "worker on CPU $SERVER_CPU."
	echo "Machine: $(bench_machine)."
	echo "Versions: $(nsd -v 2>&1 | head -1), $(knotd --version | head -1), $(dnsperf -h 2>&1 | sed -n 's/^Version/dnsperf/p')."
	echo
	echo "| server | qps | mean latency (ms) | lost | server CPU (s) | server busy | answers per CPU-second | qps vs $base | per CPU-second vs $base |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in $ran; do
		echo "| $s | ${QPS[$s]:-?} | ${LAT[$s]:-?} | ${LOST[$s]:-?} | ${CPU[$s]} | $(awk -v c="${CPU[$s]}" -v t="${TIME[$s]}" 'BEGIN { if (t > 0) printf "%.0f%%", 100 * c / t; else print "?" }') | ${APC[$s]} | $(ratio "${QPS[$s]:-0}" "${QPS[$base]:-0}") | $(ratio "${APC[$s]}" "${APC[$base]}") |"
	done
	[ -z "$skipped" ] || { echo; echo "Skipped:$skipped."; }
	echo
	echo "Response codes (the servers should agree, since they serve the same zone):"
	echo
	for s in $ran; do echo "- $s: ${RCODES[$s]:-?}"; done
	echo
	bench_probes_md "rcode, flags, answer count" queries server
	echo
	echo "Server busy = server CPU time / load time: below 100% the server had idle time and"
	echo "dnsperf (on its own core) was the limit, so qps understate the server; answers per"
	echo "CPU-second is the fair comparison then."
} | tee "$RESULT"
say "written to $RESULT"

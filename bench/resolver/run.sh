#!/bin/bash
# Benchmark: cairn-resolver against Unbound and Knot Resolver (kresd), one thread each, in
# the same run, resolving through the same loopback hierarchy of cairn-auth servers.
#
# Hierarchy (cairn-auth, one thread each, on port 53 of 127.58.x.y -- see "Why port 53"):
#   .            127.58.0.1   delegates test.
#   test.        127.58.1.1   delegates bench.test.
#   bench.test.  127.58.2.1   BENCH_NAMES hosts (host<N> A, every third also AAAA), plus
#                             CNAMEs, MX, TXT for the cache-hit mix
# Resolvers listen on 127.58.9.1 (cairn-resolver), .2 (Unbound), .3 (kresd), port 5300.
#
# Per resolver, one after the other, the resolver pinned to CPU 0 (taskset -c 0) and
# dnsperf and the authoritative servers on CPU 1:
#   1. start it fresh; ask bench.test. SOA (ready, and the delegation is cached);
#   2. cache-miss run: every host<N> A once (dnsperf -n 1, shuffled, bounded by
#      BENCH_SECONDS); a fresh resolver has none of them cached, so every query is a miss
#      that costs one upstream query (the zone cut bench.test. is known);
#      VmRSS before and after gives the resident memory and the memory per cached name;
#   3. cache-hit run: a mix of BENCH_HIT_NAMES questions (A, AAAA incl. NODATA, NXDOMAIN,
#      CNAME, MX, TXT) asked once to warm the cache, then dnsperf over them for
#      BENCH_SECONDS: qps, the resolver's CPU time (utime + stime from /proc/PID/stat) and
#      answers per server CPU-second -- on 2 cores dnsperf saturates its core before a fast
#      resolver does, so answers per CPU-second is the fair comparison;
#   4. after all of them: every resolver restarted at once (empty caches, ". NS" asked),
#      then BENCH_COLD uncached names one query at a time, each name asked of every
#      resolver in turn (rotating who goes first) by a small Python client timing each
#      answer in microseconds: cold-resolution latency, median and p95. Interleaving puts
#      the resolvers under the same machine noise: one-at-a-time latency on a VM varies by
#      several times from one second to the next (idle vCPUs waking up), so running them
#      one after the other compared phases of the machine, not resolvers. The first name
#      also walks the referrals test. -> bench.test. (reported apart as "first").
# Ratios are against Unbound. The table goes to stdout and to bench/results/resolver-<date>.md.
#
# Why port 53: Unbound and kresd ask the servers named in referrals (glue) on port 53
# only, so the hierarchy listens on port 53 of 127.58.x.y (needs root; never
# 127.0.0.1:53) and cairn-resolver is told --upstream-port 53.
#
# Environment:
#   BENCH_SECONDS     bound of the miss run and length of the hit run, per resolver (default 15)
#   BENCH_ROUNDS      rounds of steps 1-3, each running every resolver once (fresh), the
#                     order reversed every other round (default 1); hit and miss figures
#                     sum the rounds, the memory figures are the last round's
#   BENCH_NAMES       hosts in bench.test. (default 100000)
#   BENCH_HIT_NAMES   distinct questions of the cache-hit mix (default 5000)
#   BENCH_COLD        names of the cold-latency run (default 300)
#   BENCH_CLIENTS, BENCH_OUTSTANDING   dnsperf -c and -q of the hit and miss runs (default 4, 100)
#   BENCH_RESOLVERS   which resolvers, in order (default "cairn-resolver unbound kresd")
#   CAIRN_AUTH, CAIRN_RESOLVER   binaries (default build/release/bin/...)
#   BENCH_WORK        scratch dir (default build/bench-resolver)
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${BENCH_SECONDS:-15}
ROUNDS=${BENCH_ROUNDS:-1}
NAMES=${BENCH_NAMES:-100000}
HIT_NAMES=${BENCH_HIT_NAMES:-5000}
COLD=${BENCH_COLD:-300}
CLIENTS=${BENCH_CLIENTS:-4}
OUTSTANDING=${BENCH_OUTSTANDING:-100}
RESOLVERS=${BENCH_RESOLVERS:-cairn-resolver unbound kresd}
CAIRN_AUTH=${CAIRN_AUTH:-$SRC/build/release/bin/cairn-auth}
CAIRN_RESOLVER=${CAIRN_RESOLVER:-$SRC/build/release/bin/cairn-resolver}
WORK=${BENCH_WORK:-$SRC/build/bench-resolver}
PORT=5300
UPSTREAM_PORT=53
ROOT_ADDR=127.58.0.1
TLD_ADDR=127.58.1.1
ZONE_ADDR=127.58.2.1
ORIGIN=bench.test
CACHE_MB=512
READY_SECONDS=20
SERVER_CPU=0
LOAD_CPU=1

say() { printf 'bench/resolver: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"

bench_need_tools dnsperf dig taskset shuf
[ -x "$CAIRN_AUTH" ] || die "$CAIRN_AUTH not built (make build): it serves the hierarchy"
[ "$(id -u)" -eq 0 ] || die "needs root: the hierarchy listens on port 53 of 127.58.x.y"
[ "$(nproc)" -ge 2 ] || { SERVER_CPU=0; LOAD_CPU=0; say "one CPU only: resolver and load share it"; }

rm -rf "$WORK"
mkdir -p "$WORK" "$SRC/bench/results"

# --- the hierarchy -------------------------------------------------------------------------
cat >"$WORK/root.zone" <<EOF
\$ORIGIN .
\$TTL 86400
.                    SOA a.root-servers.test. hostmaster.test. 1 3600 600 86400 3600
.                    NS  a.root-servers.test.
test.                NS  ns1.test.
ns1.test.            A   $TLD_ADDR
a.root-servers.test. A   $ROOT_ADDR
EOF
cat >"$WORK/test.zone" <<EOF
\$ORIGIN test.
\$TTL 86400
@               SOA ns1.test. hostmaster.test. 1 3600 600 86400 3600
@               NS  ns1
ns1             A   $TLD_ADDR
a.root-servers  A   $ROOT_ADDR
bench           NS  ns1.bench
ns1.bench       A   $ZONE_ADDR
EOF
cat >"$WORK/root.hints" <<EOF
.                     3600000  NS  A.ROOT-SERVERS.TEST.
A.ROOT-SERVERS.TEST.  3600000  A   $ROOT_ADDR
EOF
# bench.test.: NAMES hosts; the extras (www CNAME, mail MX, txt TXT) serve the hit mix.
# Every TTL is a day and the SOA minimum an hour: nothing expires during the run.
awk -v n="$NAMES" -v origin="$ORIGIN" -v ns="$ZONE_ADDR" 'BEGIN {
	srand(5);
	printf "$ORIGIN %s.\n$TTL 86400\n", origin;
	printf "@ SOA ns1 hostmaster 1 3600 600 86400 3600\n@ NS ns1\nns1 A %s\n", ns;
	for (i = 0; i < n; i++) {
		printf "host%d A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256;
		if (i % 3 == 0) printf "host%d AAAA 2001:db8::%x:%x\n", i, int(i / 65536), i % 65536;
	}
	for (i = 0; i < 1000; i++) printf "www%d CNAME host%d\n", i, int(rand() * n);
	for (i = 0; i < 500; i++) printf "mail%d MX 10 host%d\n", i, i;
	for (i = 0; i < 500; i++) printf "txt%d TXT \"id=%d; a verification token of a realistic length\"\n", i, i;
}' >"$WORK/$ORIGIN.zone"

# The miss set: every host once, shuffled (the same order for every resolver).
awk -v n="$NAMES" -v o="$ORIGIN" 'BEGIN { for (i = 0; i < n; i++) printf "host%d.%s A\n", i, o }' |
	shuf --random-source=<(yes) >"$WORK/miss.txt"
# The hit mix: 60% A, 10% AAAA (a third with data, the rest NODATA), 10% NXDOMAIN,
# 8% CNAME, 6% MX, 6% TXT; distinct questions, a tenth with an upper-case first letter.
awk -v n="$NAMES" -v q="$HIT_NAMES" -v o="$ORIGIN" 'BEGIN {
	srand(7);
	for (k = 0; k < q; k++) {
		r = rand() * 100;
		if (r < 60)      { name = "host" int(rand() * n); t = "A" }
		else if (r < 70) { name = "host" int(rand() * n); t = "AAAA" }
		else if (r < 80) { name = "nx" k; t = "A" }
		else if (r < 88) { name = "www" int(rand() * 1000); t = "A" }
		else if (r < 94) { name = "mail" int(rand() * 500); t = "MX" }
		else             { name = "txt" int(rand() * 500); t = "TXT" }
		fqdn = name "." o;
		if (k % 10 == 0) fqdn = toupper(substr(fqdn, 1, 1)) substr(fqdn, 2);
		print fqdn, t;
	}
}' | sort -uf >"$WORK/hit.txt"
# The cold set: hosts from the end of the shuffled miss set (a restarted resolver has
# nothing cached).
tail -n "$COLD" "$WORK/miss.txt" >"$WORK/cold.txt"

# --- processes -----------------------------------------------------------------------------
AUTH_PIDS=""
PID="" # the resolver being measured

stop_pid() { bench_stop_pid "$1"; }
stop_server() { bench_stop_server; }
COLD_PIDS=""
cleanup() {
	stop_server
	for p in $COLD_PIDS; do stop_pid "$p"; done
	COLD_PIDS=""
	for p in $AUTH_PIDS; do stop_pid "$p"; done
	AUTH_PIDS=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_auth() { # NAME ADDR ZONE FILE
	taskset -c "$LOAD_CPU" "$CAIRN_AUTH" --listen "$2@$UPSTREAM_PORT" --zone "$3=$4" \
		--threads 1 >"$WORK/auth-$1.log" 2>&1 &
	AUTH_PIDS="$AUTH_PIDS $!"
	local deadline=$(($(date +%s) + READY_SECONDS))
	until dig +time=1 +tries=1 +norec -p "$UPSTREAM_PORT" @"$2" "$3" SOA 2>/dev/null |
		grep -q 'flags: qr aa'; do
		[ "$(date +%s)" -lt "$deadline" ] || { tail -n 5 "$WORK/auth-$1.log" >&2; die "cairn-auth for $3 not answering on $2@$UPSTREAM_PORT"; }
		sleep 0.2
	done
}
say "serving the hierarchy ($NAMES hosts in $ORIGIN.) on 127.58.x.y@$UPSTREAM_PORT"
start_auth root "$ROOT_ADDR" . "$WORK/root.zone"
start_auth test "$TLD_ADDR" test. "$WORK/test.zone"
start_auth bench "$ZONE_ADDR" "$ORIGIN." "$WORK/$ORIGIN.zone"

# start_<resolver> ADDR: start it with an empty cache, pinned to SERVER_CPU, set PID.
start_cairn-resolver() {
	taskset -c "$SERVER_CPU" "$CAIRN_RESOLVER" --listen "$1@$PORT" --root-hints "$WORK/root.hints" \
		--upstream-port "$UPSTREAM_PORT" --no-ipv6 --threads 1 --cache-size "${CACHE_MB}M" \
		--log-level warn >>"$WORK/cairn-resolver.log" 2>&1 &
	PID=$!
}

start_unbound() {
	local conf="$WORK/unbound.conf"
	cat >"$conf" <<EOF
server:
	interface: $1@$PORT
	num-threads: 1
	do-daemonize: no
	username: ""
	chroot: ""
	directory: "$WORK"
	pidfile: ""
	use-syslog: no
	logfile: ""
	verbosity: 0
	do-ip6: no
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	module-config: "iterator"
	local-zone: "test." nodefault
	root-hints: "$WORK/root.hints"
	# Caches large enough for every name of the run (the defaults, 4m each, would evict).
	msg-cache-size: $((CACHE_MB / 3))m
	rrset-cache-size: $((CACHE_MB * 2 / 3))m
	num-queries-per-thread: 4096
	outgoing-range: 8192
remote-control:
	control-enable: no
EOF
	unbound-checkconf "$conf" >/dev/null || die "bad Unbound config"
	taskset -c "$SERVER_CPU" unbound -d -c "$conf" >>"$WORK/unbound.log" 2>&1 &
	PID=$!
}

start_kresd() {
	local conf="$WORK/kresd.conf"
	rm -rf "$WORK/kresd"
	mkdir -p "$WORK/kresd"
	cat >"$conf" <<EOF
net.ipv6 = false
net.listen('$1', $PORT, { kind = 'dns' })
trust_anchors.remove('.')
cache.open($CACHE_MB * MB, 'lmdb://$WORK/kresd/cache')
modules.load('hints > iterate')
hints.root({['a.root-servers.test.'] = '$ROOT_ADDR'})
policy.add(policy.all(policy.FLAGS({'ALLOW_LOCAL'})))
policy.add(policy.suffix(policy.PASS, {todname('test.')}))
EOF
	taskset -c "$SERVER_CPU" kresd -n -q -c "$conf" "$WORK/kresd" >>"$WORK/kresd.log" 2>&1 &
	PID=$!
}

cpu_ticks() { bench_pid_ticks "$PID"; } # utime + stime of PID, in clock ticks
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }

wait_ready() { # NAME ADDR QNAME QTYPE: until the resolver answers NOERROR
	local deadline=$(($(date +%s) + READY_SECONDS))
	until dig +time=2 +tries=1 -p "$PORT" @"$2" "$3" "$4" 2>/dev/null | grep -q 'status: NOERROR'; do
		kill -0 "$PID" 2>/dev/null || { say "$1 exited:"; tail -n 20 "$WORK/$1.log" >&2; return 1; }
		[ "$(date +%s)" -lt "$deadline" ] || { say "$1 not resolving $3 $4 after ${READY_SECONDS}s"; tail -n 20 "$WORK/$1.log" >&2; return 1; }
		sleep 0.2
	done
}

probe() { # ADDR: rcode, answer count of a few questions
	local q
	for q in "host1 A" "host3 AAAA" "host1 AAAA" "nx1 A" "www1 A" "mail1 MX" "txt1 TXT"; do
		set -- $q
		dig +time=5 +tries=1 -p "$PORT" @"$ADDR" "$1.$ORIGIN" "$2" |
			awk -v q="$q" '/status:/ { s = $6 } /^;; flags:/ { a = $0; sub(/.*ANSWER: /, "", a); sub(/,.*/, "", a) }
				END { printf "%s: %s ans=%s\n", q, s, a }'
	done
}

# dnsperf_run NAME FILE OUT ARGS...: dnsperf on LOAD_CPU, bounded in time.
dnsperf_run() {
	local s=$1 file=$2 out=$3
	shift 3
	timeout $((SECONDS_EACH + 60)) taskset -c "$LOAD_CPU" dnsperf -s "$ADDR" -p "$PORT" \
		-d "$file" -t 2 "$@" >"$out" 2>&1 || say "dnsperf against $s exited with $?"
	grep -q 'Queries completed:' "$out" || { say "no dnsperf result for $s:"; tail -n 5 "$out" >&2; return 1; }
}

TICK=$(getconf CLK_TCK)
declare -A HQPS HCPU HAPC HBUSY HLOST HRC HDONE HTIME HTICKS MQPS MCPU MBUSY MDONE MLOST MRC
declare -A MTIME MTICKS RSS0 RSS1 PERNAME
declare -A CMED CP95 CFIRST CLOST PROBES
ran=""
skipped=""
addr_of() { case $1 in cairn-resolver) echo 127.58.9.1 ;; unbound) echo 127.58.9.2 ;; kresd) echo 127.58.9.3 ;; esac; }

measure() {
	local s=$1 out c0 c1 r0 r1
	"start_$s" "$ADDR"
	wait_ready "$s" "$ADDR" "$ORIGIN." SOA || { stop_server; return 1; }
	PROBES[$s]=$(probe)

	# (2) cache misses, and the memory they cost.
	say "$s on $ADDR@$PORT (CPU $SERVER_CPU): cache-miss run, $(wc -l <"$WORK/miss.txt") names, at most ${SECONDS_EACH}s"
	r0=$(rss_kb)
	out="$WORK/miss-$s.txt"
	c0=$(cpu_ticks)
	dnsperf_run "$s" "$WORK/miss.txt" "$out" -n 1 -l "$SECONDS_EACH" -c "$CLIENTS" -q "$OUTSTANDING" || { stop_server; return 1; }
	c1=$(cpu_ticks)
	r1=$(rss_kb)
	# shellcheck disable=SC2046 # numbers, split on purpose
	set -- $(bench_dnsperf_stats "$out")
	MDONE[$s]=$(( ${MDONE[$s]:-0} + $1 ))
	MLOST[$s]=$(( ${MLOST[$s]:-0} + $2 ))
	MTIME[$s]=$(awk -v a="${MTIME[$s]:-0}" -v b="$3" 'BEGIN { printf "%.6f", a + b }')
	MTICKS[$s]=$(( ${MTICKS[$s]:-0} + c1 - c0 ))
	MRC[$s]="${MRC[$s]:+${MRC[$s]}; }$(sed -n 's/^ *Response codes: *//p' "$out")"
	RSS0[$s]=$r0
	RSS1[$s]=$r1
	PERNAME[$s]=$(awk -v a="$r0" -v b="$r1" -v n="$1" 'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1024 / n; else print "?" }')

	# (1) cache hits: warm the mix once, then load.
	say "$s: warming $(wc -l <"$WORK/hit.txt") questions, then cache-hit run for ${SECONDS_EACH}s"
	dnsperf_run "$s" "$WORK/hit.txt" "$WORK/warm-$s.txt" -n 1 -l "$SECONDS_EACH" -c 1 -q 50 || { stop_server; return 1; }
	out="$WORK/hit-$s.txt"
	c0=$(cpu_ticks)
	dnsperf_run "$s" "$WORK/hit.txt" "$out" -l "$SECONDS_EACH" -c "$CLIENTS" -q "$OUTSTANDING" || { stop_server; return 1; }
	c1=$(cpu_ticks)
	# shellcheck disable=SC2046 # numbers, split on purpose
	set -- $(bench_dnsperf_stats "$out")
	HDONE[$s]=$(( ${HDONE[$s]:-0} + $1 ))
	HLOST[$s]=$(( ${HLOST[$s]:-0} + $2 ))
	HTIME[$s]=$(awk -v a="${HTIME[$s]:-0}" -v b="$3" 'BEGIN { printf "%.6f", a + b }')
	HTICKS[$s]=$(( ${HTICKS[$s]:-0} + c1 - c0 ))
	HRC[$s]="${HRC[$s]:+${HRC[$s]}; }$(sed -n 's/^ *Response codes: *//p' "$out")"
	stop_server
}

order=""
for s in $RESOLVERS; do
	[ -n "$(addr_of "$s")" ] || die "unknown resolver $s"
	case $s in
	cairn-resolver) [ -x "$CAIRN_RESOLVER" ] || { say "skipping $s: $CAIRN_RESOLVER not built (make build)"; skipped="$skipped $s (not built)"; continue; } ;;
	*) command -v "${s}" >/dev/null || { say "skipping $s: not installed (scripts/install-deps)"; skipped="$skipped $s (not installed)"; continue; } ;;
	esac
	order="$order $s"
done
# Several rounds alternate the order, so that a burst of noise on the machine does not
# always fall on the same resolver; the hit and miss figures sum the rounds.
failed=""
for round in $(seq "$ROUNDS"); do
	list=$order
	[ $((round % 2)) -eq 0 ] && list=$(printf '%s\n' $order | tac | tr '\n' ' ')
	for s in $list; do
		case " $failed " in *" $s "*) continue ;; esac
		ADDR=$(addr_of "$s")
		say "round $round/$ROUNDS: $s"
		measure "$s" || { failed="$failed $s"; skipped="$skipped $s (failed, see $WORK/$s.log)"; }
	done
done
for s in $order; do
	case " $failed " in *" $s "*) continue ;; esac
	MQPS[$s]=$(awk -v n="${MDONE[$s]}" -v t="${MTIME[$s]}" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
	MCPU[$s]=$(awk -v t="${MTICKS[$s]}" -v hz="$TICK" 'BEGIN { printf "%.2f", t / hz }')
	MBUSY[$s]=$(awk -v c="${MCPU[$s]}" -v t="${MTIME[$s]}" 'BEGIN { if (t > 0) printf "%.0f%%", 100 * c / t; else print "?" }')
	HQPS[$s]=$(awk -v n="${HDONE[$s]}" -v t="${HTIME[$s]}" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
	HCPU[$s]=$(awk -v t="${HTICKS[$s]}" -v hz="$TICK" 'BEGIN { printf "%.2f", t / hz }')
	HBUSY[$s]=$(awk -v c="${HCPU[$s]}" -v t="${HTIME[$s]}" 'BEGIN { if (t > 0) printf "%.0f%%", 100 * c / t; else print "?" }')
	HAPC[$s]=$(awk -v n="${HDONE[$s]}" -v t="${HTICKS[$s]}" -v hz="$TICK" 'BEGIN { if (t > 0) printf "%.0f", n / (t / hz); else print "n/a" }')
	ran="$ran $s"
done
[ -n "$ran" ] || die "no resolver ran"

# (3) cold resolutions: every resolver restarted, the names asked of each in turn.
say "cold resolutions: $COLD names, one query at a time, interleaved over:$ran"
cold_ok=""
for s in $ran; do
	ADDR=$(addr_of "$s")
	"start_$s" "$ADDR"
	COLD_PIDS="$COLD_PIDS $PID"
	if wait_ready "$s" "$ADDR" . NS; then cold_ok="$cold_ok $s"; fi
	PID=""
done
cat >"$WORK/cold.py" <<'PYEOF'
# cold.py PORT NAMEFILE OUTDIR NAME=ADDR...: ask each name (type A, RD) of every resolver in
# turn, one query in flight; OUTDIR/cold-lat-NAME.txt gets one latency (ms) per NOERROR
# answer, in order; OUTDIR/cold-bad-NAME.txt counts the others (timeouts, other rcodes).
import os, random, socket, struct, sys, time

port, namefile, outdir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
servers = [a.split("=", 1) for a in sys.argv[4:]]
names = [l.split()[0] for l in open(namefile) if l.strip()]
lat = {n: [] for n, _ in servers}
bad = {n: 0 for n, _ in servers}
socks = {}
for n, addr in servers:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.settimeout(2.0)
    socks[n] = s
rng = random.Random(11)
for i, name in enumerate(names):
    qname = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
    order = servers[i % len(servers):] + servers[:i % len(servers)]
    for n, _ in order:
        qid = rng.randrange(65536)
        msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)
        s = socks[n]
        t0 = time.perf_counter_ns()
        s.send(msg)
        try:
            while True:
                r = s.recv(4096)
                if len(r) >= 12 and struct.unpack(">H", r[:2])[0] == qid:
                    break
        except OSError:
            bad[n] += 1
            continue
        ms = (time.perf_counter_ns() - t0) / 1e6
        if r[3] & 0x0F == 0:
            lat[n].append(ms)
        else:
            bad[n] += 1
for n, _ in servers:
    with open(os.path.join(outdir, "cold-lat-%s.txt" % n), "w") as f:
        f.write("".join("%.4f\n" % v for v in lat[n]))
    with open(os.path.join(outdir, "cold-bad-%s.txt" % n), "w") as f:
        f.write("%d\n" % bad[n])
PYEOF
args=()
for s in $cold_ok; do args+=("$s=$(addr_of "$s")"); done
if [ ${#args[@]} -gt 0 ]; then
	timeout $((COLD * ${#args[@]} * 2 + 60)) taskset -c "$LOAD_CPU" python3 "$WORK/cold.py" "$PORT" \
		"$WORK/cold.txt" "$WORK" "${args[@]}" || say "cold client exited with $?"
fi
for p in $COLD_PIDS; do stop_pid "$p"; done
COLD_PIDS=""
for s in $cold_ok; do
	[ -s "$WORK/cold-lat-$s.txt" ] || continue
	CFIRST[$s]=$(awk 'NR == 1 { printf "%.3f", $1 }' "$WORK/cold-lat-$s.txt")
	# shellcheck disable=SC2046 # two numbers, split on purpose
	set -- $(sort -g "$WORK/cold-lat-$s.txt" | awk '{ v[NR] = $1 } END {
		m = int((NR + 1) / 2); p = int(NR * 0.95 + 0.999); if (p < 1) p = 1;
		printf "%.3f %.3f", v[m], v[p] }')
	CMED[$s]=$1
	CP95[$s]=$2
	CLOST[$s]=$(cat "$WORK/cold-bad-$s.txt")
done

# --- the table -----------------------------------------------------------------------------
ratio() { bench_ratio "$1" "$2" ×; } # VALUE BASE
base=unbound
case " $ran " in *" unbound "*) ;; *) base=${ran# }; base=${base%% *} ;; esac
RESULT="$SRC/bench/results/resolver-$(date -u +%Y%m%d-%H%M%S).md"
{
	echo "# cairn-resolver benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Hierarchy . → test. → $ORIGIN. served by cairn-auth (one thread each, CPU $LOAD_CPU) on"
	echo "127.58.x.y@$UPSTREAM_PORT; $ORIGIN. holds $NAMES hosts. Each resolver one thread on CPU $SERVER_CPU,"
	echo "cache $CACHE_MB MB; dnsperf on CPU $LOAD_CPU (-c $CLIENTS -q $OUTSTANDING, timeout 2 s)."
	echo "Machine: $(bench_machine)."
	echo "Versions: $(unbound -V 2>/dev/null | sed -n 's/^Version /Unbound /p'), $(kresd --version 2>/dev/null | head -1), $(dnsperf -h 2>&1 | sed -n 's/^Version/dnsperf/p')."
	echo
	echo "## Cache hits ($(wc -l <"$WORK/hit.txt") warmed questions, ${SECONDS_EACH}s × $ROUNDS round(s))"
	echo
	echo "| resolver | qps | lost | server CPU (s) | server busy | answers per CPU-second | qps vs $base | per CPU-second vs $base |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for s in $ran; do
		echo "| $s | ${HQPS[$s]} | ${HLOST[$s]} | ${HCPU[$s]} | ${HBUSY[$s]} | ${HAPC[$s]} | $(ratio "${HQPS[$s]}" "${HQPS[$base]}") | $(ratio "${HAPC[$s]}" "${HAPC[$base]}") |"
	done
	echo
	echo "## Cache misses (unique names, each one upstream query; at most ${SECONDS_EACH}s × $ROUNDS round(s)) and memory (last round)"
	echo
	echo "| resolver | answered | lost | qps | server CPU (s) | server busy | qps vs $base | RSS before (MB) | RSS after (MB) | bytes per cached name | per name vs $base |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in $ran; do
		echo "| $s | ${MDONE[$s]} | ${MLOST[$s]} | ${MQPS[$s]} | ${MCPU[$s]} | ${MBUSY[$s]} | $(ratio "${MQPS[$s]}" "${MQPS[$base]}") | $(awk -v k="${RSS0[$s]}" 'BEGIN { printf "%.1f", k / 1024 }') | $(awk -v k="${RSS1[$s]}" 'BEGIN { printf "%.1f", k / 1024 }') | ${PERNAME[$s]} | $(ratio "${PERNAME[$s]}" "${PERNAME[$base]}") |"
	done
	echo
	echo "## Cold resolutions ($COLD uncached names, one query at a time, resolvers restarted, interleaved)"
	echo
	echo "| resolver | median (ms) | p95 (ms) | first, via 2 referrals (ms) | not NOERROR |"
	echo "|---|---:|---:|---:|---:|"
	for s in $ran; do
		echo "| $s | ${CMED[$s]:-?} | ${CP95[$s]:-?} | ${CFIRST[$s]:-?} | ${CLOST[$s]:-?} |"
	done
	[ -z "$skipped" ] || { echo; echo "Skipped:$skipped."; }
	echo
	echo "Response codes (the resolvers should agree):"
	echo
	for s in $ran; do echo "- $s: hits ${HRC[$s]:-?}; misses ${MRC[$s]:-?}"; done
	echo
	bench_probes_md "rcode, answer count" questions resolver
	echo
	echo "Server busy = resolver CPU time / load time: below 100% the resolver had idle time and"
	echo "dnsperf (or, for misses, the authoritative server and dnsperf sharing CPU $LOAD_CPU) was"
	echo "the limit, so qps understate the resolver; answers per CPU-second is the fair comparison"
	echo "then. Bytes per cached name = (VmRSS after the miss run - VmRSS before) / names answered;"
	echo "kresd's cache is an LMDB file mapped shared and written through the mapping (rw-s), so"
	echo "the pages it fills count in its VmRSS (as file pages); kresd keeps RRsets (and negative"
	echo "answers) only, where cairn-resolver and Unbound also keep whole answers (message cache)."
} | tee "$RESULT"
say "written to $RESULT"

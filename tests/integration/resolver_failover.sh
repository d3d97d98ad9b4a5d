#!/usr/bin/env bash
# resolver_failover.sh -- cairn-resolver against dead and awkward servers:
#   - a zone with three name servers, one where nothing listens (the kernel
#     refuses at once), one that swallows queries (a socket nobody reads), one
#     that answers: names under it resolve;
#   - a zone whose only server swallows queries: the client gets SERVFAIL within
#     the iterator's budget (never a hang) and the timeouts are counted;
#   - a zone whose only server is closed: SERVFAIL quickly;
#   - an answer over 1232 bytes: the upstream reply is truncated, the resolver
#     retries over TCP, a UDP client gets TC and its TCP retry the whole answer;
#   - identical queries sent at once are all answered.
# Every server on port 5300 (the port of the root hint, --upstream-port).
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hierarchy.sh"

hier_need python3

PORT=5300
ROOT=127.57.10.1
TLD=127.57.11.1
CLOSED=127.57.13.1
BLACKHOLE=127.57.13.2
RSV=127.57.19.1
METRICS_PORT=9357

for a in $ROOT $TLD $CLOSED $BLACKHOLE $RSV; do wait_port_free $a $PORT; done
wait_port_free $RSV $METRICS_PORT

tmp=$(make_tmpdir)

big=""
for i in $(seq 1 12); do big="$big \"$(printf 'chunk%02d-%0120d' "$i" 0)\""; done
cat >"$tmp/dead.zone" <<EOF
\$ORIGIN dead.test.
\$TTL 3600
@        SOA ns3.dead.test. hostmaster.test. 1 3600 600 86400 300
@        NS  ns1
@        NS  ns2
@        NS  ns3
ns1      A   $CLOSED
ns2      A   $BLACKHOLE
ns3      A   $TLD
EOF
for i in $(seq 1 8); do printf 'h%d A 192.0.2.%d\n' "$i" "$i" >>"$tmp/dead.zone"; done

start_hierarchy "$tmp" $PORT $ROOT $TLD --zone dead.test.="$tmp/dead.zone" <<EOF
big             TXT $big
dead            NS  ns1.dead
dead            NS  ns2.dead
dead            NS  ns3.dead
ns1.dead        A   $CLOSED
ns2.dead        A   $BLACKHOLE
ns3.dead        A   $TLD
black           NS  ns.black
ns.black        A   $BLACKHOLE
closed          NS  ns.closed
ns.closed       A   $CLOSED
EOF
pid_root=$HIER_PID_ROOT
pid_tld=$HIER_PID_TLD

# The blackhole: a bound UDP and TCP socket that nobody ever reads or accepts.
start_bg "$tmp/blackhole.log" python3 -c '
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((sys.argv[1], int(sys.argv[2])))
print("blackhole ready", flush=True)
time.sleep(600)
' $BLACKHOLE $PORT
pid_bh=$LAST_BG_PID
wait_log $pid_bh 'blackhole ready'

start_resolver "$tmp" $RSV $PORT $METRICS_PORT
pid_rsv=$HIER_PID_RSV

# Names under the zone with dead servers resolve, whichever server is tried first.
for i in 1 2 3 4; do
	out=$(q h$i.dead.test A +noall +comments +answer)
	[ "$(status_of "$out")" = NOERROR ] && grep -Eq "A[[:space:]]+192\.0\.2\.$i\$" <<<"$out" ||
		{ printf '%s\n' "$out" >&2; bg_log_tail $pid_rsv; fail "h$i.dead.test A not resolved"; }
done
say "names under a zone with a closed and a silent server resolve"

# Only a silent server: SERVFAIL within the budget, timeouts counted. Three
# clients ask at once: they are joined into one resolution and all answered.
t0=$SECONDS
pids=()
for i in 1 2 3; do
	q www.black.test A +noall +comments >"$tmp/black.$i" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for i in 1 2 3; do
	[ "$(status_of "$(cat "$tmp/black.$i")")" = SERVFAIL ] ||
		{ cat "$tmp/black.$i" >&2; fail "www.black.test client $i: not SERVFAIL"; }
done
# (within the budget: each client's dig gives up after HIER_QUERY_TIME, 15 s)
metric_get timeouts cairn_resolver_upstream_timeouts_total
((timeouts >= 2)) || fail "upstream timeouts counted: $timeouts"
metric_get joined cairn_resolver_joined_total
((joined >= 2)) || fail "identical queries in flight not joined (joined_total $joined)"
say "silent server: SERVFAIL after $((SECONDS - t0)) s to 3 joined clients, $timeouts timeouts counted"

# Only a closed port: SERVFAIL without waiting for timeouts (the ICMP refusal is
# taken as the answer: no upstream timeout is counted for it).
t0=$SECONDS
metric_get timeouts0 cairn_resolver_upstream_timeouts_total
out=$(q www.closed.test A +noall +comments)
[ "$(status_of "$out")" = SERVFAIL ] || { printf '%s\n' "$out" >&2; fail "www.closed.test: not SERVFAIL"; }
metric_get timeouts1 cairn_resolver_upstream_timeouts_total
((timeouts1 == timeouts0)) || fail "www.closed.test waited for $((timeouts1 - timeouts0)) timeout(s)"
metric_get refused cairn_resolver_upstream_send_errors_total
((refused >= 1)) || fail "refused upstream queries counted: $refused"
say "closed port: SERVFAIL after $((SECONDS - t0)) s"

# Over 1232 bytes: truncated upstream, retried over TCP; the UDP client gets TC.
out=$(q big.test TXT +ignore +noall +comments)
grep -q 'flags:.* tc' <<<"$out" || { printf '%s\n' "$out" >&2; fail "big.test over UDP: no TC"; }
out=$(q big.test TXT +tcp +noall +comments +answer)
[ "$(status_of "$out")" = NOERROR ] && [ "$(grep -o 'chunk[0-9]*' <<<"$out" | sort -u | wc -l)" = 12 ] ||
	{ printf '%s\n' "$out" >&2; fail "big.test over TCP: incomplete"; }
metric_get tcpq 'cairn_resolver_upstream_queries_total{transport="tcp"}'
((tcpq >= 1)) || fail "no upstream TCP query counted"
say "large answer: upstream TCP after TC, TC to the UDP client, whole answer over TCP"

# Identical questions at once: every client answered (joined into one resolution).
pids=()
for i in 1 2 3 4 5; do
	q h5.dead.test A +noall +answer >"$tmp/join.$i" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for i in 1 2 3 4 5; do
	grep -q '192\.0\.2\.5$' "$tmp/join.$i" || { cat "$tmp/join.$i" >&2; fail "concurrent client $i unanswered"; }
done
metric_get joined cairn_resolver_joined_total
say "concurrent identical queries answered (joined: $joined)"

# SIGTERM while a resolution waits on the silent server: a clean exit (the
# sanitizers would report a leak or a use after free in the log).
metric_get jobs0 cairn_resolver_resolutions_total
q www2.black.test A +noall +comments >"$tmp/inflight" &
qpid=$!
deadline=$((SECONDS + 10))
while metric_get jobs cairn_resolver_resolutions_total && ((jobs == jobs0)); do
	((SECONDS < deadline)) || fail "the in-flight resolution never started"
	sleep 0.05
done
check_alive $pid_root $pid_tld $pid_rsv
stop_resolver "$tmp"
# docs/cairn-resolver.md: resolutions in flight end with SERVFAIL to their clients
wait $qpid || fail "the in-flight client got no answer (dig exit $?)"
[ "$(status_of "$(cat "$tmp/inflight")")" = SERVFAIL ] ||
	{ cat "$tmp/inflight" >&2; fail "the in-flight client on SIGTERM: not SERVFAIL"; }
say "SIGTERM: the in-flight client got SERVFAIL, clean exit"
stop_hierarchy "$tmp"
say "PASS"

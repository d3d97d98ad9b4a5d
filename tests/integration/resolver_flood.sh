#!/usr/bin/env bash
# resolver_flood.sh -- an off-path attacker floods cairn-resolver with forged
# replies while it waits on a slow authoritative server (issue 3, defence 1):
# none is accepted, the cache holds only the true answer, and the metrics
# count the forgeries.
#
# Hierarchy (every server on port 5300, --upstream-port):
#   .          on 127.57.40.1 (cairn-auth, delegates test.)
#   test.      on 127.57.40.2 (cairn-auth, delegates slow.test.)
#   slow.test. on 127.57.40.3 (a Python UDP server below: every answer ~2 s late)
# The resolver listens on 127.57.40.9@5300, metrics on 127.57.40.9@9359.
#
# The attacker (tools/spoof_flood.py, root, a raw IPPROTO_RAW socket with
# hand-built IPv4+UDP headers) reads /proc/net/udp for the resolver's upstream
# sockets connected to 127.57.40.3:5300 and floods each with thousands of
# forged answers host.slow.test. A 6.6.6.6 whose source is 127.57.40.3:5300
# (random 0x20 case, random IDs -- never the query's own: the attacker peeks
# at the query on lo to leave it out, since a blind flood hits the right ID
# with odds ~3000/65536 per query and would make the outcome random), plus
# some from port 5301 (dropped by the kernel: the upstream sockets are
# connected). It stops by itself.
#
# RESOLVER_FLOOD_LUCKY=1 also has the attacker answer each query it sees with
# the right ID and port but the question in the opposite case -- what a lucky
# ID guess looks like -- to exercise the 0x20 check. Not on by default: today
# one such reply makes the resolver mark the server "does not keep case"
# (remembered: 0x20 stays off for it) and re-ask without backing off, so
# against a 2 s server the client gets SERVFAIL (the poison is still never
# accepted). A blind flood triggers the same with odds ~3000/65536 per query.
#
# Skips (77) without root or when raw sockets are refused.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hierarchy.sh"

hier_need
PY=/usr/bin/python3
[ -x "$PY" ] || skip "$PY not found"
[ "$(id -u)" = 0 ] || skip "the attacker needs root for raw sockets"
"$PY" -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).close()' \
	2>/dev/null || skip "raw sockets are not permitted here"

PORT=5300
ROOT=127.57.40.1
TLD=127.57.40.2
SLOW=127.57.40.3
RSV=127.57.40.9
METRICS_PORT=9359
QNAME=host.slow.test
TRUE_ADDR=192.0.2.77
POISON=6.6.6.6
FLOOD=$CAIRN_SRC/tests/integration/tools/spoof_flood.py

for a in $ROOT $TLD $SLOW $RSV; do wait_port_free "$a" $PORT; done
wait_port_free $RSV $METRICS_PORT

tmp=$(make_tmpdir)

start_hierarchy "$tmp" $PORT $ROOT $TLD <<EOF
slow            NS  ns.slow
ns.slow         A   $SLOW
EOF
pid_root=$HIER_PID_ROOT
pid_tld=$HIER_PID_TLD

cat >"$tmp/slow.py" <<'EOF'
# A slow but honest authoritative server for slow.test. (resolver_flood.sh):
# every query is answered correctly (ID and question echoed) after DELAY s.
import socket, struct, sys, threading
from dnsmini import wire, rr, parse_query

addr, port, true_addr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
DELAY = 2.0
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((addr, port))
lock = threading.Lock()

SOA = wire("ns.slow.test") + wire("hostmaster.slow.test") + struct.pack("!IIIII", 1, 3600, 600, 86400, 300)
ADDRS = {"host.slow.test": true_addr, "ns.slow.test": addr}

def answer(data, peer):
    qid, question, qtype, name = parse_query(data)
    an, ns, flags = [], [], 0x8400
    if name == "slow.test" and qtype == 2:
        an = [rr(name, 2, wire("ns.slow.test"))]
    elif name in ADDRS and qtype == 1:
        an = [rr(name, 1, socket.inet_aton(ADDRS[name]))]
    elif name in ADDRS or name == "slow.test":
        ns = [rr("slow.test", 6, SOA)]
    else:
        ns, flags = [rr("slow.test", 6, SOA)], 0x8403
    hdr = struct.pack("!HHHHHH", qid, flags, 1, len(an), len(ns), 0)
    with lock:
        sock.sendto(hdr + question + b"".join(an) + b"".join(ns), peer)
        print("answered %s %d to %s:%d" % (name, qtype, peer[0], peer[1]), flush=True)

print("slow ready", flush=True)
while True:
    data, peer = sock.recvfrom(4096)
    if len(data) < 17:
        continue
    with lock:
        print("query %s:%d" % peer, flush=True)
    t = threading.Timer(DELAY, answer, (data, peer))
    t.daemon = True
    t.start()
EOF

start_bg "$tmp/slow.log" env PYTHONPATH="$CAIRN_SRC/tests/integration/lib" "$PY" "$tmp/slow.py" $SLOW $PORT $TRUE_ADDR
pid_slow=$LAST_BG_PID
wait_log "$pid_slow" 'slow ready'

start_resolver "$tmp" $RSV $PORT $METRICS_PORT
pid_rsv=$HIER_PID_RSV

# The attacker: armed before the client asks, stops by itself after 12 s.
lucky=
[ "${RESOLVER_FLOOD_LUCKY:-0}" = 1 ] && lucky=lucky
start_bg "$tmp/flood.log" "$PY" "$FLOOD" "$pid_rsv" $SLOW $PORT $QNAME $POISON 12 $lucky
pid_flood=$LAST_BG_PID
wait_log "$pid_flood" 'flood armed'

t0=$SECONDS
out=$(q $QNAME A +noall +comments +answer)
took=$((SECONDS - t0))
printf '%s\n' "$out" >"$tmp/dig1.out"

# The attacker ends by itself (bounded: 12 s from its start).
wait_log "$pid_flood" 'flood done'
wait_exit "$pid_flood" 10
flood_rc=$?
cat "$tmp/flood.log" >&2
((flood_rc == 0)) || fail "the attacker found no upstream socket to flood (status $flood_rc)"
ports=$(grep -c '^flooding ' "$tmp/flood.log")

grep -q "$POISON" <<<"$out" && { printf '%s\n' "$out" >&2; fail "$QNAME: a forged reply was accepted"; }
if [ "$(status_of "$out")" != NOERROR ] || ! grep -Eq "A[[:space:]]+${TRUE_ADDR//./\\.}\$" <<<"$out"; then
	printf '%s\n' "$out" >&2
	bg_log_tail "$pid_slow"
	fail "$QNAME: no true answer under the flood"
fi
say "under the flood ($ports upstream ports flooded) the client got $TRUE_ADDR in ${took}s"

metric_get forged 'cairn_resolver_replies_dropped_total{reason="forged"}'
metric_get case0x20 'cairn_resolver_replies_dropped_total{reason="case"}'
dropped=$((forged + case0x20))
((forged > 0)) || fail "no forged reply counted (forged=$forged case=$case0x20)"
if [ -n "$lucky" ]; then
	((case0x20 > 0)) || fail "no wrong-case reply counted (forged=$forged case=$case0x20)"
fi
say "dropped replies counted: $forged forged, $case0x20 wrong case"

# From the cache: the true answer, no upstream query, never the poison.
metric_get up0 'cairn_resolver_upstream_queries_total{transport="udp"}'
out=$(q $QNAME A +noall +comments +answer)
metric_get up1 'cairn_resolver_upstream_queries_total{transport="udp"}'
grep -q "$POISON" <<<"$out" && { printf '%s\n' "$out" >&2; fail "$QNAME: the cache holds the forged answer"; }
grep -Eq "A[[:space:]]+${TRUE_ADDR//./\\.}\$" <<<"$out" ||
	{ printf '%s\n' "$out" >&2; fail "$QNAME: the cached answer is not $TRUE_ADDR"; }
((up1 == up0)) || fail "the second query was not answered from the cache ($((up1 - up0)) upstream queries)"
say "the cache holds only $TRUE_ADDR"

check_alive "$pid_root" "$pid_tld" "$pid_slow" "$pid_rsv"
stop_resolver "$tmp"
stop_hierarchy "$tmp"
say "PASS ($dropped forged replies dropped)"

#!/usr/bin/env bash
# resolver_adversarial.sh -- cairn-resolver against a scripted malicious
# authoritative server for evil.test. (a small Python UDP server below):
#   (1) for slow.evil.test it first sends forged replies to the resolver's
#       port -- a wrong ID, the right ID with the question in another case
#       (0x20), and the right ID and question from another source port -- and
#       only then the true answer: only the true answer is used and cached, the
#       dropped replies are counted;
#   (2) for www.evil.test it adds an out-of-bailiwick address record for
#       victim.test. and a promiscuous NS set for test.: neither is cached or used;
#   (3) under sub.evil.test it refers to 100 glueless name servers: the
#       resolution ends after a bounded number of upstream queries.
# Every server on port 5300 (--upstream-port).
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hierarchy.sh"

hier_need python3

PORT=5300
ROOT=127.57.20.1
TLD=127.57.21.1
EVIL=127.57.22.1
RSV=127.57.29.1
METRICS_PORT=9358

for a in $ROOT $TLD $EVIL $RSV; do wait_port_free $a $PORT; done
wait_port_free $EVIL $((PORT + 1))
wait_port_free $RSV $METRICS_PORT

tmp=$(make_tmpdir)

start_hierarchy "$tmp" $PORT $ROOT $TLD <<EOF
victim          A   192.0.2.99
evil            NS  ns.evil
ns.evil         A   $EVIL
EOF
pid_root=$HIER_PID_ROOT
pid_tld=$HIER_PID_TLD

cat >"$tmp/evil.py" <<'EOF'
# A malicious authoritative server for evil.test. (see resolver_adversarial.sh).
import socket, struct, sys, time
from dnsmini import wire, rr, parse_query

addr, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((addr, port))
other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
other.bind((addr, port + 1))  # a second source port: the right reply from the wrong port

def a(ip):
    return socket.inet_aton(ip)

SOA = wire("ns.evil.test") + wire("hostmaster.evil.test") + struct.pack("!IIIII", 1, 3600, 600, 86400, 300)

def reply(qid, flags, question, an=(), ns=(), ar=()):
    hdr = struct.pack("!HHHHHH", qid, flags, 1, len(an), len(ns), len(ar))
    return hdr + question + b"".join(an) + b"".join(ns) + b"".join(ar)

print("evil ready", flush=True)
while True:
    data, peer = sock.recvfrom(4096)
    if len(data) < 17:
        continue
    qid, question, qtype, name = parse_query(data)
    AA, REF, NX = 0x8400, 0x8000, 0x8403
    if name == "slow.evil.test":
        forged = [rr(name, 1, a("6.6.6.6"))]
        # (1) wrong ID
        sock.sendto(reply(qid ^ 0x5555, AA, question, forged), peer)
        # (1) right ID, the question in another case (0x20)
        swapped = question[:-4].swapcase() + question[-4:]
        sock.sendto(reply(qid, AA, swapped, forged), peer)
        # (1) right ID and question from another port (the connected socket drops it)
        other.sendto(reply(qid, AA, question, forged), peer)
        time.sleep(0.15)
        sock.sendto(reply(qid, AA, question, [rr(name, 1, a("192.0.2.77"))]), peer)
    elif name == "www.evil.test":
        # (2) out-of-bailiwick address and a promiscuous NS set for the parent
        sock.sendto(reply(qid, AA, question, [rr(name, 1, a("192.0.2.66"))],
                          [rr("test", 2, wire("ns.evil.test"))],
                          [rr("victim.test", 1, a("6.6.6.6")), rr("ns1.test", 1, a("6.6.6.6"))]), peer)
    elif name == "sub.evil.test" or name.endswith(".sub.evil.test"):
        # (3) a referral to 100 glueless name servers
        nsset = [rr("sub.evil.test", 2, wire("ns%d.nowhere%d.test" % (i, i))) for i in range(100)]
        sock.sendto(reply(qid, REF, question, (), nsset), peer)
    elif name == "evil.test" and qtype == 2:
        sock.sendto(reply(qid, AA, question, [rr(name, 2, wire("ns.evil.test"))]), peer)
    elif name == "evil.test" or name == "ns.evil.test":
        ans = [rr(name, 1, a(addr))] if name == "ns.evil.test" and qtype == 1 else []
        sock.sendto(reply(qid, AA, question, ans, [] if ans else [rr("evil.test", 6, SOA)]), peer)
    else:
        sock.sendto(reply(qid, NX, question, (), [rr("evil.test", 6, SOA)]), peer)
EOF

start_bg "$tmp/evil.log" env PYTHONPATH="$CAIRN_SRC/tests/integration/lib" python3 "$tmp/evil.py" $EVIL $PORT
pid_evil=$LAST_BG_PID
wait_log $pid_evil 'evil ready'

start_resolver "$tmp" $RSV $PORT $METRICS_PORT
pid_rsv=$HIER_PID_RSV

# (1) forged replies before the true one
out=$(q slow.evil.test A +noall +comments +answer)
[ "$(status_of "$out")" = NOERROR ] && grep -Eq 'A[[:space:]]+192\.0\.2\.77$' <<<"$out" &&
	! grep -q '6\.6\.6\.6' <<<"$out" || { printf '%s\n' "$out" >&2; fail "slow.evil.test: forged reply used"; }
metric_get forged 'cairn_resolver_replies_dropped_total{reason="forged"}'
metric_get case0x20 'cairn_resolver_replies_dropped_total{reason="case"}'
((forged >= 1)) || fail "wrong-ID reply not counted as forged ($forged)"
((case0x20 >= 1)) || fail "wrong-case reply not counted ($case0x20)"
out=$(q slow.evil.test A +noall +answer)
grep -Eq '192\.0\.2\.77$' <<<"$out" && ! grep -q '6\.6\.6\.6' <<<"$out" ||
	{ printf '%s\n' "$out" >&2; fail "slow.evil.test: the cache holds a forged answer"; }
say "(1) forged replies dropped ($forged wrong ID, $case0x20 wrong case), only the true answer cached"

# (2) out-of-bailiwick data and a promiscuous NS set
out=$(q www.evil.test A +noall +comments +answer)
grep -Eq 'A[[:space:]]+192\.0\.2\.66$' <<<"$out" || { printf '%s\n' "$out" >&2; fail "www.evil.test not answered"; }
out=$(q victim.test A +noall +comments +answer)
grep -Eq 'A[[:space:]]+192\.0\.2\.99$' <<<"$out" && ! grep -q '6\.6\.6\.6' <<<"$out" ||
	{ printf '%s\n' "$out" >&2; fail "victim.test poisoned by out-of-bailiwick data"; }
out=$(q ns1.test A +noall +comments +answer)
grep -Eq "A[[:space:]]+${TLD//./\\.}\$" <<<"$out" && ! grep -q '6\.6\.6\.6' <<<"$out" ||
	{ printf '%s\n' "$out" >&2; fail "ns1.test poisoned by out-of-bailiwick data"; }
out=$(q test NS +noall +comments +answer)
grep -q 'ns1\.test\.$' <<<"$out" && ! grep -q 'ns\.evil\.test' <<<"$out" ||
	{ printf '%s\n' "$out" >&2; fail "test. NS taken from evil.test's promiscuous NS set"; }
metric_get scrubbed cairn_resolver_scrubbed_records_total
((scrubbed >= 1)) || fail "no scrubbed record counted"
say "(2) out-of-bailiwick records and the promiscuous NS set not used ($scrubbed scrubbed)"

# (3) 100 glueless name servers: bounded work
metric_get up0 'cairn_resolver_upstream_queries_total{transport="udp"}'
out=$(q x.sub.evil.test A +noall +comments)
# docs/cairn-resolver.md: a handful of upstream queries, then SERVFAIL
[ "$(status_of "$out")" = SERVFAIL ] ||
	{ printf '%s\n' "$out" >&2; fail "x.sub.evil.test: not SERVFAIL"; }
metric_get up1 'cairn_resolver_upstream_queries_total{transport="udp"}'
((up1 - up0 <= 45)) || fail "100 glueless NS caused $((up1 - up0)) upstream queries"
say "(3) referral to 100 glueless NS: $((up1 - up0)) upstream queries, $(status_of "$out")"

check_alive $pid_root $pid_tld $pid_evil $pid_rsv
stop_resolver "$tmp"
stop_hierarchy "$tmp"
say "PASS"

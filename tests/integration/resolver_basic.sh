#!/usr/bin/env bash
# resolver_basic.sh -- cairn-resolver resolves from the root down through a tiny
# hierarchy served by cairn-auth instances, answers repeats from its cache,
# refuses clients outside its access list, traces one resolution, and exits 0
# on SIGTERM.
#
# Hierarchy (every server on port 5300: the iterator asks each server on the
# port of the first root hint, given with --upstream-port):
#   .          on 127.57.0.1  (root, delegates test.)
#   test.      on 127.57.1.1  (delegates leaf.test., has a CNAME into it)
#   leaf.test. on 127.57.2.1  (A, AAAA, MX, TXT)
# The resolver listens on 127.57.9.1@5300; 127.57.9.96/28 is denied except 127.57.9.98.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hierarchy.sh"

hier_need

PORT=5300
ROOT=127.57.0.1
TLD=127.57.1.1
LEAF=127.57.2.1
RSV=127.57.9.1
DENIED=127.57.9.99   # in --deny 127.57.9.96/28
EXCEPT=127.57.9.98   # also in --allow 127.57.9.98/32: the longer prefix wins
METRICS_PORT=9357
HIER_QUERY_TIME=5          # q: short timeouts

for a in $ROOT $TLD $LEAF $RSV; do wait_port_free $a $PORT; done
wait_port_free $RSV $METRICS_PORT

tmp=$(make_tmpdir)

start_hierarchy "$tmp" $PORT $ROOT $TLD <<EOF
leaf            NS  ns1.leaf
ns1.leaf        A   $LEAF
alias           CNAME www.leaf.test.
EOF
pid_root=$HIER_PID_ROOT
pid_tld=$HIER_PID_TLD

cat >"$tmp/leaf.zone" <<EOF
\$ORIGIN leaf.test.
\$TTL 3600
@        SOA ns1.leaf.test. hostmaster.leaf.test. 1 3600 600 86400 300
@        NS  ns1
@        MX  10 mail
ns1      A   $LEAF
mail     A   192.0.2.25
www      A   192.0.2.20
www      AAAA 2001:db8::20
txt      TXT "hello resolver"
EOF

start_bg "$tmp/leaf.log" "$CAIRN_AUTH" --listen $LEAF@$PORT --zone leaf.test.="$tmp/leaf.zone"
pid_leaf=$LAST_BG_PID
wait_udp $LEAF $PORT leaf.test.

# --trace: one resolution from an empty cache, every step printed.
trace=$(timeout 20 "$CAIRN_RESOLVER" --trace www.leaf.test A --root-hints "$tmp/root.hints" \
	--upstream-port $PORT --no-ipv6 2>&1) || { printf '%s\n' "$trace" >&2; fail "--trace failed"; }
for want in "ask $ROOT@$PORT" "referral to test." "ask $TLD@$PORT" "referral to leaf.test." \
	"ask $LEAF@$PORT" "192.0.2.20"; do
	case $trace in *"$want"*) ;; *) printf '%s\n' "$trace" >&2; fail "--trace lacks '$want'" ;; esac
done
say "--trace shows the referral walk"

start_resolver "$tmp" $RSV $PORT $METRICS_PORT --deny 127.57.9.96/28 --allow $EXCEPT/32 --threads 2
pid_rsv=$HIER_PID_RSV
wait_udp $RSV $PORT leaf.test. SOA

# expect_answer NAME TYPE REGEX: NOERROR and an answer line matching REGEX.
expect_answer() {
	local out
	out=$(q "$1" "$2" +noall +comments +answer)
	[ "$(status_of "$out")" = NOERROR ] || { printf '%s\n' "$out" >&2; fail "$1 $2: not NOERROR"; }
	grep -Eq "$3" <<<"$out" || { printf '%s\n' "$out" >&2; fail "$1 $2: no answer matching /$3/"; }
	grep -q 'flags:.* ra' <<<"$out" || { printf '%s\n' "$out" >&2; fail "$1 $2: RA not set"; }
}

expect_answer www.leaf.test A '^www\.leaf\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.20$'
expect_answer www.leaf.test AAAA 'IN[[:space:]]+AAAA[[:space:]]+2001:db8::20$'
expect_answer leaf.test MX 'IN[[:space:]]+MX[[:space:]]+10 mail\.leaf\.test\.$'
expect_answer txt.leaf.test TXT '"hello resolver"'
say "A, AAAA, MX, TXT resolved"

# A CNAME in test. pointing into leaf.test.: the whole chain comes back.
out=$(q alias.test A +noall +comments +answer)
grep -Eq '^alias\.test\..*CNAME[[:space:]]+www\.leaf\.test\.$' <<<"$out" &&
	grep -Eq '^www\.leaf\.test\..*A[[:space:]]+192\.0\.2\.20$' <<<"$out" ||
	{ printf '%s\n' "$out" >&2; fail "CNAME across zones: chain incomplete"; }
say "CNAME across zones followed"

out=$(q nope.leaf.test A +noall +comments +authority)
[ "$(status_of "$out")" = NXDOMAIN ] || { printf '%s\n' "$out" >&2; fail "nope.leaf.test: not NXDOMAIN"; }
grep -q 'SOA' <<<"$out" || { printf '%s\n' "$out" >&2; fail "NXDOMAIN without SOA"; }
out=$(q www.leaf.test TXT +noall +comments +authority)
[ "$(status_of "$out")" = NOERROR ] && grep -q 'ANSWER: 0' <<<"$out" && grep -q SOA <<<"$out" ||
	{ printf '%s\n' "$out" >&2; fail "www.leaf.test TXT: not NODATA"; }
say "NXDOMAIN and NODATA"

# A repeat comes from the message cache: the hit counter moves, the upstream count does not.
metric_get hits0 'cairn_resolver_cache_hits_total{cache="message"}'
metric_get up0 'cairn_resolver_upstream_queries_total{transport="udp"}'
[ "$hits0" != missing ] && [ "$up0" != missing ] || fail "metrics endpoint lacks the cache/upstream counters"
for i in 1 2 3; do expect_answer www.leaf.test A '192\.0\.2\.20$'; done
# different case (0x20 in the client's own question) is the same entry, echoed as asked
out=$(q WwW.LeAf.TeSt A +noall +comments +question +answer)
grep -q '^;WwW\.LeAf\.TeSt\.' <<<"$out" && grep -Eq '^WwW\.LeAf\.TeSt\..*192\.0\.2\.20$' <<<"$out" ||
	{ printf '%s\n' "$out" >&2; fail "cached answer does not echo the client's case"; }
metric_get hits1 'cairn_resolver_cache_hits_total{cache="message"}'
metric_get up1 'cairn_resolver_upstream_queries_total{transport="udp"}'
((hits1 >= hits0 + 4)) || fail "message cache hits went from $hits0 to $hits1 for 4 repeats"
((up1 == up0)) || fail "repeats caused upstream queries ($up0 -> $up1)"
metric_get lat 'cairn_resolver_answer_latency_seconds_count'
[ "$lat" != missing ] && ((lat > 0)) || fail "latency histogram empty"
say "repeats answered from the cache ($hits0 -> $hits1 hits, no upstream query)"

# A client outside the access list gets REFUSED.
out=$(q www.leaf.test A -b $DENIED +noall +comments)
[ "$(status_of "$out")" = REFUSED ] || { printf '%s\n' "$out" >&2; fail "denied client not REFUSED"; }
out=$(q www.leaf.test A -b $EXCEPT +noall +comments)
[ "$(status_of "$out")" = NOERROR ] || { printf '%s\n' "$out" >&2; fail "client allowed by a longer prefix not served"; }
out=$(q www.leaf.test A +tcp +noall +comments +answer)
[ "$(status_of "$out")" = NOERROR ] || { printf '%s\n' "$out" >&2; fail "TCP query failed"; }
metric_get refused cairn_resolver_refused_acl_total
((refused >= 1)) || fail "refused_acl_total is $refused"
say "access list: $DENIED refused, $EXCEPT served (longest prefix), TCP served"

check_alive $pid_root $pid_tld $pid_leaf $pid_rsv
stop_resolver "$tmp"
say "SIGTERM: clean exit"
stop_hierarchy "$tmp"
stop_checked "$pid_leaf" "$tmp/leaf.log" "cairn-auth for leaf.test."
say "PASS"

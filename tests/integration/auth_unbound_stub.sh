#!/usr/bin/env bash
# Interop: Unbound, configured with a stub zone pointing at cairn-auth, resolves
# names from it (A, AAAA, MX, a CNAME chain, NXDOMAIN, over the resolver's own
# UDP/TCP logic) -- what a real resolver makes of our answers.
set -u
. "$(dirname "$0")/lib/common.sh"
need_cmd dig unbound curl
need_bin cairn-auth

fx=$CAIRN_SRC/tests/fixtures/ops
tmp=$(make_tmpdir)
AUTH=127.54.3.1 UB=127.54.3.2 PORT=5300

cat >"$tmp/ops.zone" <<'ZONE'
$ORIGIN ops.test.
$TTL 300
@	IN SOA ns1 hostmaster 1 3600 600 86400 60
	IN NS ns1
	IN MX 10 mail
ns1	IN A 192.0.2.53
www	IN A 192.0.2.1
www	IN AAAA 2001:db8::1
mail	IN A 192.0.2.25
alias	IN CNAME alias2
alias2	IN CNAME www
big	IN TXT "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua." "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat." "Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur."
big	IN TXT "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum." "Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem aperiam."
ZONE

start_bg "$tmp/auth.log" "$CAIRN_AUTH" --listen "$AUTH@$PORT" --zone "ops.test=$tmp/ops.zone" \
	--metrics "$AUTH@9302"
auth_pid=$LAST_BG_PID
wait_udp "$AUTH" "$PORT" ops.test.

cat >"$tmp/unbound.conf" <<CONF
server:
	interface: $UB@$PORT
	port: $PORT
	num-threads: 1
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	module-config: "iterator"
	username: ""
	chroot: ""
	directory: "$tmp"
	pidfile: ""
	use-syslog: no
	logfile: ""
	verbosity: 1
	local-zone: "test." nodefault
	edns-buffer-size: 512
stub-zone:
	name: "ops.test."
	stub-addr: $AUTH@$PORT
CONF
unbound-checkconf "$tmp/unbound.conf" >/dev/null || fail "unbound-checkconf"
start_bg "$tmp/unbound.log" unbound -d -c "$tmp/unbound.conf"
ub_pid=$LAST_BG_PID
wait_udp "$UB" "$PORT" ops.test.

q() { dig +short @"$UB" -p "$PORT" "$@"; }
[ "$(q www.ops.test A)" = 192.0.2.1 ] || fail "A via unbound: $(q www.ops.test A)"
[ "$(q www.ops.test AAAA)" = 2001:db8::1 ] || fail "AAAA via unbound"
[ "$(q ops.test MX)" = "10 mail.ops.test." ] || fail "MX via unbound: $(q ops.test MX)"
chain=$(q alias.ops.test A | tr '\n' ' ')
[ "$chain" = "alias2.ops.test. www.ops.test. 192.0.2.1 " ] || fail "CNAME chain via unbound: '$chain'"
st=$(dig @"$UB" -p "$PORT" nope.ops.test A | grep -o 'status: [A-Z]*')
[ "$st" = "status: NXDOMAIN" ] || fail "NXDOMAIN via unbound: $st"
# With a 512-byte EDNS buffer towards us, Unbound gets TC and must retry over TCP.
n=$(q big.ops.test TXT | wc -l)
[ "$n" = 2 ] || fail "big TXT via unbound (TC then TCP): $n records"
m=$(curl -sf "http://$AUTH:9302/metrics") || fail "metrics"
printf '%s\n' "$m" | grep -Eq '^cairn_auth_truncated_total [1-9]' || fail "no truncated answer was sent"
printf '%s\n' "$m" | grep -Eq '^cairn_auth_queries_total\{transport="tcp"\} [1-9]' || fail "unbound did not retry over TCP"
say "unbound resolved A, AAAA, MX, a CNAME chain, NXDOMAIN and a TC->TCP answer from cairn-auth"

stop_bg "$ub_pid" || true
stop_bg "$auth_pid" || fail "cairn-auth did not exit cleanly"
say "PASS"

#!/usr/bin/env bash
# resolver_demo.sh -- cairn-resolver over the demo internet in zones/ (the
# layout of zones/demo.servers, started here on port 5300 of 127.53.x.y with
# --upstream-port 5300, each server a child of this test): A, AAAA,
# MX, TXT, CNAME chains in a zone and across zones, wildcards, an answer over
# 1232 bytes (TCP), NXDOMAIN, NODATA, a glueless delegation, a lame delegation,
# dead servers among the NS (one closed, one silent), a delegation whose only
# server is lame and one whose servers are all dead (SERVFAIL, bounded), a
# CNAME loop. Served first by cairn-auth, then by NSD (interop) when installed.
set -u
. "$(dirname "$0")/lib/common.sh"

need_cmd dig python3
need_bin cairn-auth
need_bin cairn-resolver

PORT=5300
RSV=127.57.39.1
for a in 127.53.0.1 127.53.1.1 127.53.2.1 127.53.9.2 $RSV; do wait_port_free $a $PORT; done

servers=(cairn)
if command -v nsd >/dev/null 2>&1; then servers+=(nsd); else say "nsd not installed: cairn-auth only"; fi

ZONES=$CAIRN_SRC/zones
# start_demo SERVER: one server per line of zones/demo.servers ("closed": nothing;
# "blackhole": a UDP socket nobody reads), then wait until each answers.
start_demo() {
	local server=$1 name addrs what a z args
	demo_pids=()
	while read -r name addrs what; do
		case $what in
		closed) continue ;;
		blackhole)
			start_bg "$tmp/$name.log" python3 -c '
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((sys.argv[1], int(sys.argv[2])))
time.sleep(3600)
' "${addrs%%,*}" $PORT
			;;
		*)
			if [ "$server" = nsd ]; then
				nsd_start "$name" "$addrs" $PORT "$ZONES" $what
			else
				args=()
				for a in ${addrs//,/ }; do args+=(--listen "$a@$PORT"); done
				for z in $what; do args+=(--zone "${z%%=*}=$ZONES/${z#*=}"); done
				start_bg "$tmp/$name.log" "$CAIRN_AUTH" "${args[@]}"
			fi
			;;
		esac
		demo_pids+=("$LAST_BG_PID")
	done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$ZONES/demo.servers")
	while read -r name addrs what; do
		case $what in closed | blackhole) continue ;; esac
		for z in $what; do wait_udp "${addrs%%,*}" $PORT "${z%%=*}"; done
	done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$ZONES/demo.servers")
}

q() {
	local name=$1 type=$2
	shift 2
	dig @$RSV -p $PORT +tries=1 +time=15 +nocookie "$@" "$name" "$type" 2>&1
}
status_of() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$1" | head -n1; }
# expect STATUS NAME TYPE [REGEX]: the status, and an answer line matching REGEX.
expect() {
	local st=$1 name=$2 type=$3 re=${4:-} out
	out=$(q "$name" "$type" +noall +comments +answer +authority)
	[ "$(status_of "$out")" = "$st" ] || { printf '%s\n' "$out" >&2; fail "[$server] $name $type: not $st"; }
	[ -z "$re" ] || grep -Eq -- "$re" <<<"$out" ||
		{ printf '%s\n' "$out" >&2; fail "[$server] $name $type: nothing matches /$re/"; }
}

for server in "${servers[@]}"; do
	tmp=$(make_tmpdir)
	start_demo $server
	start_bg "$tmp/resolver.log" "$CAIRN_RESOLVER" --listen $RSV@$PORT \
		--root-hints "$CAIRN_SRC/zones/root.hints" --upstream-port $PORT --no-ipv6
	pid_rsv=$LAST_BG_PID
	wait_log $pid_rsv 'ready'

	expect NOERROR www.example.test A 'IN[[:space:]]+A[[:space:]]+127\.54\.2\.80$'
	expect NOERROR www.example.test AAAA 'AAAA[[:space:]]+fd00:53:2::80$'
	expect NOERROR example.test MX 'MX[[:space:]]+10 mx1\.mail\.test\.$'
	expect NOERROR example.test TXT '"v=spf1 mx -all"'
	expect NOERROR deep.example.test A 'A[[:space:]]+127\.54\.2\.80$'
	expect NOERROR www.chain.test A 'hop\.alias\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+www\.example\.test\.$'
	expect NOERROR www.chain.test A 'A[[:space:]]+127\.54\.2\.80$'
	expect NOERROR anything.wild.example.test A 'A[[:space:]]+127\.54\.2\.99$'
	expect NXDOMAIN nope.example.test A 'SOA'
	out=$(q www.example.test MX +noall +comments +authority)
	[ "$(status_of "$out")" = NOERROR ] && grep -q 'ANSWER: 0' <<<"$out" && grep -q SOA <<<"$out" ||
		{ printf '%s\n' "$out" >&2; fail "[$server] www.example.test MX: not NODATA"; }
	expect NOERROR glueless.example.test TXT 'reached through a glueless delegation'
	expect NOERROR www.lame.test A 'A[[:space:]]+127\.54\.8\.80$'
	expect NOERROR www.dead.test A 'A[[:space:]]+127\.54\.9\.80$'
	say "[$server] A, AAAA, MX, TXT, CNAME chains, wildcard, NXDOMAIN, NODATA, glueless, lame, dead servers"

	out=$(q big.example.test TXT +ignore +noall +comments)
	grep -q 'flags:.* tc' <<<"$out" || { printf '%s\n' "$out" >&2; fail "[$server] big TXT over UDP: no TC"; }
	out=$(q big.example.test TXT +tcp +noall +answer)
	[ "$(grep -c 'part [0-9] of the big record' <<<"$out")" = 6 ] ||
		{ printf '%s\n' "$out" >&2; fail "[$server] big TXT over TCP: not 6 records"; }
	say "[$server] answer over 1232 bytes: TC over UDP, whole over TCP"

	t0=$SECONDS
	expect SERVFAIL www.broken.test A
	expect SERVFAIL www.unreachable.test A
	expect SERVFAIL loop.chain.test A
	say "[$server] lame-only, all-dead and CNAME loop: SERVFAIL in $((SECONDS - t0)) s"

	check_alive $pid_rsv
	stop_bg $pid_rsv || fail "[$server] cairn-resolver exited with status $? on SIGTERM"
	grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error' "$tmp/resolver.log" &&
		{ cat "$tmp/resolver.log" >&2; fail "sanitizer report in the resolver log"; }
	for p in "${demo_pids[@]}"; do stop_bg "$p" >/dev/null 2>&1 || true; done
done
say "PASS"

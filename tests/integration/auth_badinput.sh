#!/usr/bin/env bash
# auth_badinput.sh — cairn-auth against malformed packets (issue 2, "Bad input").
#
# Every packet of tests/fixtures/badpkt/*.hex (hex text, see its README) is
# sent to cairn-auth (127.54.1.1@5300 and ::1@15356) over UDP and over TCP
# (2-byte framing) with tests/integration/tools/udpsend.c (cairn-udpsend),
# 4 sends per packet. Each file states
# its expected outcome on a line "# expect: A|B": an RCODE name (FORMERR,
# BADVERS, NOTIMP, NOERROR, REFUSED, NXDOMAIN) or DROP (no reply: a UDP
# timeout, or a TCP connection closed or left silent). Every reply must have
# QR set and copy the query's ID. After each packet a normal query (dig) must
# still be answered, over the same transport. Then the whole corpus is sent
# as a burst, 1500 randomly damaged variants of the well-formed queries
# follow (fixed seeds), TCP connections are abused (closed mid-frame, opened
# and left empty), and at the end the server must stop cleanly on SIGTERM
# with no sanitizer report in its log.
#
#   CAIRN_BADINPUT_SELFTEST=1   run the corpus against NSD instead and only
#                               report where NSD's outcome differs from the
#                               expectation (it does not fail on those)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"

need_cmd dig nsd-checkzone
need_bin cairn-udpsend
MODE=${CAIRN_BADINPUT_SELFTEST:-0}
[ "$MODE" = 0 ] && need_bin cairn-auth

FIX=$CAIRN_SRC/tests/fixtures/badpkt
ADDR=127.54.1.1
PORT=5300
# The corpus also goes over IPv6 (UDP and TCP) to ::1 on its own port.
ADDR6=::1
PORT6=15356
tmp=$(make_tmpdir)

wait_port_free "$ADDR" "$PORT"
wait_port_free "$ADDR6" "$PORT6"
if [ "$MODE" = 0 ]; then
	"$CAIRN_AUTH" --check-zone bad.test. "$FIX/bad.test.zone" ||
		fail "cairn-auth --check-zone rejects $FIX/bad.test.zone"
	start_bg "$tmp/server.log" "$CAIRN_AUTH" --listen "$ADDR@$PORT" \
		--listen "$ADDR6@$PORT6" \
		--zone "bad.test.=$FIX/bad.test.zone"
	SERVER=cairn-auth
else
	need_cmd nsd
	nsd_start bad "$ADDR,$ADDR6@$PORT6" "$PORT" "$FIX" bad.test.=bad.test.zone
	SERVER=nsd
fi
PID=$LAST_BG_PID
wait_udp "$ADDR" "$PORT" bad.test.
wait_tcp "$ADDR" "$PORT" bad.test.
wait_udp "$ADDR6" "$PORT6" bad.test.

# health TRANSPORT CONTEXT: a normal query must get its normal answer;
# TRANSPORT is udp, tcp, udp6 or tcp6.
health() {
	local out opt=+notcp a=$ADDR p=$PORT
	case $1 in tcp*) opt=+tcp ;; esac
	case $1 in *6) a=$ADDR6 p=$PORT6 ;; esac
	out=$(dig @"$a" -p "$p" "$opt" +tries=1 +time=2 +norec +nocookie \
		+noall +comments +answer bad.test. A 2>&1)
	case $out in
	*'status: NOERROR'*'192.0.2.1'*) return 0 ;;
	esac
	check_alive "$PID"
	bg_log_tail "$PID"
	printf '%s\n' "$out" >&2
	fail "no normal answer over $1 after $2"
}

# outcome: map udpsend's line to DROP or the RCODE name.
outcome() {
	case $1 in
	timeout | closed) echo DROP ;;
	reply\ *) sed 's/^reply rcode=\([^ ]*\).*/\1/' <<<"$1" ;;
	*) echo "ERROR($1)" ;;
	esac
}

total=0 bad=0 nsd_diff=0
results=$tmp/results
: >"$results"
for f in "$FIX"/*.hex; do
	base=$(basename "$f" .hex)
	expect=$(sed -n 's/^# expect: *//p' "$f" | head -n1)
	what=$(sed -n '1s/^# *//p' "$f")
	[ -n "$expect" ] || fail "$f has no '# expect:' line"
	nbytes=$(grep -v '^[#;]' "$f" | tr -d ' \t\n' | wc -c)
	nbytes=$((nbytes / 2))
	for tr in udp tcp udp6 tcp6; do
		total=$((total + 1))
		args=(--timeout 700)
		case $tr in tcp*) args+=(--tcp) ;; esac
		case $tr in
		*6) line=$("$CAIRN_UDPSEND" "${args[@]}" "$ADDR6" "$PORT6" "$f" 2>&1) ;;
		*) line=$("$CAIRN_UDPSEND" "${args[@]}" "$ADDR" "$PORT" "$f" 2>&1) ;;
		esac
		got=$(outcome "$line")
		problem=""
		case "|$expect|" in
		*"|$got|"*) ;;
		*) problem="expected $expect, got $got" ;;
		esac
		case $line in reply\ *)
			# A reply is a response (QR) to this query (same ID, RFC 1035
			# §4.1.1); a header too short to hold an ID gets no reply.
			case $line in *' flags=qr'*) ;; *) problem+=" reply without QR" ;; esac
			if ((nbytes >= 2)); then
				case $line in *' id=0xcafe '*) ;; *) problem+=" reply ID not copied" ;; esac
			else
				problem+=" reply to a message without an ID"
			fi
			;;
		esac
		printf '%-28s %-4s %-14s %s\n' "$base" "$tr" "$got" "${problem:-ok}" >>"$results"
		if [ -n "$problem" ]; then
			if [ "$MODE" = 0 ]; then
				bad=$((bad + 1))
				printf 'FAIL  %s over %s: %s\n      (%s)\n      sender: %s\n' \
					"$base" "$tr" "$problem" "$what" "$line"
			else
				nsd_diff=$((nsd_diff + 1))
			fi
		fi
		health "$tr" "$base over $tr"
	done
done

# A burst: the whole corpus back to back without waiting for replies, twice
# over UDP and once over TCP, then the server must still answer.
for _ in 1 2; do
	for f in "$FIX"/*.hex; do
		"$CAIRN_UDPSEND" --timeout 1 "$ADDR" "$PORT" "$f" >/dev/null 2>&1
	done
done
for f in "$FIX"/*.hex; do
	"$CAIRN_UDPSEND" --tcp --timeout 1 "$ADDR" "$PORT" "$f" >/dev/null 2>&1
done
health udp "a burst of the whole corpus"
health tcp "a burst of the whole corpus"

# Random damage (deterministic seeds): 1 to 4 bytes replaced, sometimes cut
# short, 300 variants of each well-formed query; the server may answer or
# drop each, but must live and keep answering.
seed=1
for f in "$FIX"/*-ok-*.hex; do
	out=$("$CAIRN_UDPSEND" --mutate 300 "$seed" "$ADDR" "$PORT" "$f" 2>&1) ||
		fail "cairn-udpsend --mutate on $f: $out"
	say "$(basename "$f" .hex): $out"
	seed=$((seed + 1))
	health udp "mutations of $(basename "$f")"
done

# TCP framing abuse (RFC 7766 §8): a length prefix promising 100 bytes
# followed by 5 and a close; a lone first byte of a length prefix; a
# connection opened and closed without data.
tcp_raw() { # tcp_raw PRINTF-FORMAT: send raw bytes on a new connection, close
	exec 3<>"/dev/tcp/$ADDR/$PORT" || fail "cannot connect over TCP"
	# shellcheck disable=SC2059 # the format is the payload
	printf "$1" >&3
	exec 3>&-
}
tcp_raw '\000\144\312\376\000\000\000'
tcp_raw '\000'
tcp_raw ''
health tcp "TCP connections closed mid-frame"
health udp "TCP connections closed mid-frame"

echo
echo "=== $SERVER bad input: $total packet sends ($(find "$FIX" -name "*.hex" | wc -l) packets x udp/tcp over IPv4/IPv6)"
cat "$results"

check_alive "$PID"
rc=0
stop_bg "$PID" || rc=$?
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/server.log" 2>/dev/null; then
	bg_log_tail "$PID" 60
	fail "sanitizer report in the server log"
fi
if [ "$MODE" != 0 ]; then
	say "selftest against NSD: $nsd_diff outcomes differ from the expectations (reported, not failed)"
	say "PASS (NSD kept answering)"
	exit 0
fi
[ "$rc" = 0 ] || { bg_log_tail "$PID" 40; fail "cairn-auth exited with status $rc on SIGTERM"; }
((bad == 0)) || fail "$bad of $total sends did not get the expected outcome"
say "PASS: $total sends, every outcome as expected, server kept answering"

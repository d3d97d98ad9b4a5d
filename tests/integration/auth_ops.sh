#!/usr/bin/env bash
# cairn-auth operations: several listen addresses (IPv4 and IPv6), threads, a
# config file, --check-zone errors as file:line, bad configuration, SIGHUP
# reload (a good file is picked up, a bad one keeps the old version serving and
# queries are answered throughout), metrics, clean shutdown on SIGTERM.
set -u
. "$(dirname "$0")/lib/common.sh"
need_cmd dig curl
need_bin cairn-auth

fx=$CAIRN_SRC/tests/fixtures/ops
tmp=$(make_tmpdir)
A4=127.54.2.1 A4b=127.54.2.2 PORT=5300 MPORT=9301

# --- --check-zone: good file, then every bad one names file:line and reason.
out=$("$CAIRN_AUTH" --check-zone ops.test "$fx/ops.test.zone") || fail "check-zone rejected a good zone: $out"
case $out in *"serial 1"*) ;; *) fail "check-zone summary: $out" ;; esac
check_bad() { # FILE EXPECTED-LINE-PATTERN
	local msg
	if msg=$("$CAIRN_AUTH" --check-zone ops.test "$fx/$1" 2>&1); then
		fail "check-zone accepted $1"
	fi
	printf '%s\n' "$msg" | grep -Eq "$2" || fail "check-zone $1: expected /$2/, got: $msg"
	say "check-zone $1: $(printf '%s' "$msg" | head -1)"
}
check_bad bad-cname.zone 'bad-cname\.zone:7: .*CNAME'
check_bad bad-syntax.zone 'bad-syntax\.zone:6: '
check_bad bad-outside.zone 'bad-outside\.zone:6: .*(outside|out of)'
check_bad bad-noglue.zone 'bad-noglue\.zone:6: .*glue'

# --- bad configuration exits 1 with a message naming the file and line.
printf 'listen %s@%s\nthreads lots\n' "$A4" "$PORT" >"$tmp/bad.conf"
if msg=$("$CAIRN_AUTH" --config "$tmp/bad.conf" 2>&1); then fail "bad config accepted"; fi
printf '%s' "$msg" | grep -q "bad.conf:2: " || fail "bad config message: $msg"
if msg=$("$CAIRN_AUTH" --listen "$A4@$PORT" --zone ops.test="$tmp/missing.zone" 2>&1); then
	fail "missing zone file accepted"
fi
printf '%s' "$msg" | grep -q "missing.zone" || fail "missing zone message: $msg"

# --- start from a config file: two IPv4 addresses, IPv6 loopback, two threads, metrics.
cp "$fx/ops.test.zone" "$tmp/ops.zone"
# A zone big enough that reloading it takes a while: queries must be answered meanwhile.
awk 'BEGIN { print "$ORIGIN big.test.\n$TTL 300\n@ IN SOA ns1 h 1 3600 600 86400 60\n IN NS ns1\nns1 IN A 192.0.2.1";
	for (i = 1; i <= 60000; i++) printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536), int(i / 256) % 256, i % 256 }' >"$tmp/big.zone"
cat >"$tmp/auth.conf" <<CONF
# cairn-auth test configuration
listen $A4@$PORT
listen $A4b@$PORT
listen ::1@$PORT
zone ops.test=$tmp/ops.zone
zone big.test=$tmp/big.zone
threads 2
metrics $A4@$MPORT
CONF
start_bg "$tmp/auth.log" "$CAIRN_AUTH" --config "$tmp/auth.conf"
pid=$LAST_BG_PID
wait_udp "$A4" "$PORT" ops.test.
for a in "$A4" "$A4b" ::1; do
	got=$(dig +short +norec @"$a" -p "$PORT" www.ops.test A)
	[ "$got" = 192.0.2.1 ] || fail "www.ops.test via $a (udp): '$got'"
	got=$(dig +short +norec +tcp @"$a" -p "$PORT" www.ops.test A)
	[ "$got" = 192.0.2.1 ] || fail "www.ops.test via $a (tcp): '$got'"
done
say "answers on $A4, $A4b and ::1 over UDP and TCP"

serial() { dig +short +norec @"$A4" -p "$PORT" ops.test SOA | awk '{print $3}'; }
[ "$(serial)" = 1 ] || fail "initial serial $(serial)"

# Queries are answered throughout the reloads: a client loop counts failures.
(
	fails=0 n=0
	while [ ! -e "$tmp/stop" ]; do
		r=$(dig +short +norec +tries=1 +time=1 @"$A4" -p "$PORT" www.ops.test A)
		n=$((n + 1))
		[ "$r" = 192.0.2.1 ] || fails=$((fails + 1))
	done
	echo "$n $fails" >"$tmp/loop.result"
) &
looper=$!

# --- a good reload: new serial and new record.
sed -e 's/hostmaster 1 /hostmaster 2 /' "$fx/ops.test.zone" >"$tmp/ops.zone.new"
echo 'new IN A 192.0.2.2' >>"$tmp/ops.zone.new"
mv "$tmp/ops.zone.new" "$tmp/ops.zone"
touch "$tmp/big.zone" # changed: reloaded too, which takes a while
kill -HUP "$pid"
serial_is() { [ "$(serial)" = "$1" ]; }
poll_until "serial 2 after a good reload" serial_is 2
[ "$(dig +short +norec @"$A4" -p "$PORT" new.ops.test A)" = 192.0.2.2 ] || fail "new record not served"
say "good reload: serial 2 serving"

# --- a bad reload: the error is logged as file:line and serial 2 keeps serving.
cp "$fx/bad-cname.zone" "$tmp/ops.zone"
touch "$tmp/big.zone"
kill -HUP "$pid"
reloads_done() { [ "$(grep -c 'reload done' "$tmp/auth.log")" -ge "$1" ]; }
poll_until "the second reload" reloads_done 2
grep -q "ops.zone:7: .*CNAME" "$tmp/auth.log" || { bg_log_tail "$pid"; fail "bad reload error not logged as file:line"; }
grep -q "keeping serial 2" "$tmp/auth.log" || fail "bad reload did not say it keeps serial 2"
[ "$(serial)" = 2 ] || fail "serial after bad reload: $(serial)"
say "bad reload: error logged, serial 2 still serving"

touch "$tmp/stop"
wait "$looper"
read -r n fails <"$tmp/loop.result"
say "$n queries during the reloads, $fails failed"
[ "$n" -gt 0 ] && [ "$fails" -eq 0 ] || fail "$fails of $n queries failed during reloads"
[ "$(grep -c 'zone big.test.: serial 1, 60003 records' "$tmp/auth.log")" -ge 3 ] ||
	fail "the big zone was not reloaded each time"

# --- metrics: counters and the zone serial.
m=$(curl -sf "http://$A4:$MPORT/metrics") || fail "metrics endpoint"
printf '%s\n' "$m" | grep -q '^cairn_auth_zone_serial{zone="ops.test."} 2$' || fail "serial metric"
printf '%s\n' "$m" | grep -Eq '^cairn_auth_queries_by_type_total\{type="A"\} [1-9]' || fail "type metric"
printf '%s\n' "$m" | grep -q '^cairn_auth_reload_failures_total 1$' || fail "reload failure metric"
printf '%s\n' "$m" | grep -q '^cairn_auth_zone_records{zone="big.test."} 60003$' || fail "big zone records metric"
say "metrics ok"

stop_bg "$pid" || fail "cairn-auth did not exit cleanly on SIGTERM"
grep -q "shutting down" "$tmp/auth.log" || fail "no shutdown line"

# --- a secondary whose kept copy is older than EXPIRE and whose primary is
# gone answers SERVFAIL, not stale data (RFC 1035 3.3.13); others still answer.
sed -e 's/^\$ORIGIN ops.test./$ORIGIN sec.test./' -e 's/hostmaster 1 3600 600 86400 60/hostmaster 7 3600 600 120 60/' \
	"$fx/ops.test.zone" >"$tmp/sec.zone"
touch -d '1 hour ago' "$tmp/sec.zone"
start_bg "$tmp/sec.log" "$CAIRN_AUTH" --listen "$A4@$PORT" --zone "ops.test=$fx/ops.test.zone" \
	--zone "sec.test=$tmp/sec.zone" --primary "sec.test=127.54.2.9@$PORT"
pid=$LAST_BG_PID
wait_udp "$A4" "$PORT" ops.test.
wait_log "$pid" "expired, answering SERVFAIL"
st=$(dig +norec @"$A4" -p "$PORT" www.sec.test A | grep -o 'status: [A-Z]*')
[ "$st" = "status: SERVFAIL" ] || { bg_log_tail "$pid"; fail "expired secondary: $st"; }
[ "$(dig +short +norec @"$A4" -p "$PORT" www.ops.test A)" = 192.0.2.1 ] || fail "other zone after expiry"
stop_bg "$pid" || fail "cairn-auth (secondary) did not exit cleanly"
say "expired secondary zone answers SERVFAIL"
say "PASS"

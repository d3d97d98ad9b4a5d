#!/usr/bin/env bash
# auth_steer: CDN steering in the running cairn-auth, end to end with dig.
#
#   - --explain prints the placement; maps that do not fit the zones are
#     refused at start (CNAME at the name, below a zone cut or a DNAME, no zone);
#   - dig +subnet from many client networks (GeoIP London / Linköping / Milton /
#     Changchun / San Diego, operator networks, unknown ones, IPv6) gets the
#     expected datacenter and ECS scope; without ECS the source address
#     decides and no ECS comes back; static names and the zone's other types
#     at a steered name have scope 0; a CNAME from another zone is followed;
#     a malformed ECS option is FORMERR;
#   - health checks (HTTP and TCP, interval 0.2 s, fall 2, rise 2) against
#     python3 http.server endpoints: one London replica down -> the other one
#     with the degraded TTL; both down -> answers move to Stockholm (the time
#     it took is printed), the London-only name fails open (logged); both back
#     -> London again;
#   - CH TXT explanations from an allowed source, REFUSED from another;
#   - SIGHUP with a bad map keeps the old one; an edited map file is picked
#     up by the file watch; metrics per datacenter and per replica;
#   - clean shutdown.
# Addresses: 127.61.0.0/16 (server 127.61.0.1, replicas 127.61.1-3.x).
set -u
. "$(dirname "$0")/lib/common.sh"
need_cmd dig curl python3
need_bin cairn-auth

fx=$CAIRN_SRC/tests/fixtures/steer
mmdb=$CAIRN_SRC/tests/fixtures/mmdb/GeoLite2-City-Test.mmdb
[ -r "$mmdb" ] || skip "$mmdb missing"
tmp=$(make_tmpdir)
A=127.61.0.1 PORT=5300 MPORT=9161 HPORT=18081
LON1=127.61.1.1 LON2=127.61.1.2

# The map with the GeoIP path made absolute (the copy lives in $tmp).
sed "s#\"../mmdb/#\"$CAIRN_SRC/tests/fixtures/mmdb/#" "$fx/map.json" >"$tmp/map.json"
cp "$tmp/map.json" "$tmp/good.json"
ZONES=(--zone "cdn.example=$fx/cdn.example.zone" --zone "other.example=$fx/other.example.zone")

# --- --explain: the placement of a client, without starting a server.
out=$("$CAIRN_AUTH" --explain www.cdn.example 81.2.69.142/31 "${ZONES[@]}" --map "$tmp/map.json" 2>&1) ||
	fail "--explain failed: $out"
printf '%s\n' "$out" | grep -q 'placed by geoip: GeoIP 81.2.69.142/31 London' || fail "--explain placement: $out"
printf '%s\n' "$out" | grep -Eq '^answer: 127\.61\.1\.[12] \(eu-london\), ttl 30, scope 31' || fail "--explain answer: $out"
say "--explain www.cdn.example 81.2.69.142/31:"
printf '%s\n' "$out" | sed -n '1,/^$/p' | sed 's/^/    /' >&2
out=$("$CAIRN_AUTH" --explain www.cdn.example 81.2.69.142/24 "${ZONES[@]}" --map "$tmp/map.json" 2>&1) ||
	fail "--explain /24 failed: $out"
printf '%s\n' "$out" | grep -q 'client 81.2.69.0/24 (ECS)' || fail "--explain /24: $out"
if out=$("$CAIRN_AUTH" --explain static.cdn.example 10.0.0.1 "${ZONES[@]}" --map "$tmp/map.json" 2>&1); then
	fail "--explain of a name that is not steered succeeded: $out"
fi
say "--explain static.cdn.example: $out"

# --- maps that do not fit the zones are refused at start with FILE: names["X"]: reason.
bad_map() { # NAME-JSON EXPECTED-REGEX
	local f=$tmp/badstart.json msg
	python3 - "$tmp/good.json" "$1" >"$f" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["names"][sys.argv[2]] = {"ttl": 30}
print(json.dumps(m, indent=1))
PY
	if msg=$("$CAIRN_AUTH" --listen "$A@$PORT" "${ZONES[@]}" --map "$f" 2>&1); then
		fail "a map steering $1 was accepted"
	fi
	printf '%s\n' "$msg" | grep -Eq "$2" || fail "map steering $1: expected /$2/, got: $msg"
	say "start refused: $(printf '%s\n' "$msg" | grep -E "$2" | sed 's/^.*\] error: //')"
}
bad_map cdn.other.example 'badstart\.json: names\["cdn\.other\.example"\]: zone other\.example\. has a CNAME'
bad_map www.sub.cdn.example 'badstart\.json: names\["www\.sub\.cdn\.example"\]: at or below the zone cut sub\.cdn\.example\.'
bad_map www.legacy.cdn.example 'badstart\.json: names\["www\.legacy\.cdn\.example"\]: below the DNAME at legacy\.cdn\.example\.'
bad_map www.nowhere.example 'badstart\.json: names\["www\.nowhere\.example"\]: not inside any zone'

# --- health endpoints for the two London replicas (HTTP on .1, TCP on .2).
mkdir -p "$tmp/www" && echo ok >"$tmp/www/health"
declare -A HPID=()
start_health() { # ADDR
	start_bg "$tmp/health-$1.log" python3 -m http.server --bind "$1" "$HPORT" --directory "$tmp/www"
	HPID[$1]=$LAST_BG_PID
	local deadline=$((SECONDS + CAIRN_WAIT_SECS))
	until curl -sf -o /dev/null "http://$1:$HPORT/health"; do
		((SECONDS < deadline)) || fail "health endpoint $1:$HPORT did not come up"
		check_alive "${HPID[$1]}"
		sleep 0.05
	done
}
stop_health() { stop_bg "${HPID[$1]}" || true; }
wait_port_free "$LON1" "$HPORT"
wait_port_free "$LON2" "$HPORT"
wait_port_free "$A" "$PORT"
start_health "$LON1"
start_health "$LON2"

# --- the server: only 127.0.0.1 may ask for explanations; map polled every second.
start_bg "$tmp/auth.log" "$CAIRN_AUTH" --listen "$A@$PORT" "${ZONES[@]}" --map "$tmp/map.json" \
	--explain-allow 127.0.0.1/32 --map-check-interval 1 --metrics "$A@$MPORT" --threads 2
apid=$LAST_BG_PID
wait_udp "$A" "$PORT" cdn.example.
log=$tmp/auth.log
grep -q 'names\["www.cdn.example"\]: the zone.s static A/AAAA records at this name are shadowed' "$log" ||
	fail "no shadowing warning for the static A at www.cdn.example"
grep -q 'map loaded: 3 datacenters, 2 names' "$log" || fail "no map summary in the log"

# q ARGS...: one dig against the server; ANS = its A/AAAA data (sorted, space
# separated), TTL = the first one's TTL, SCOPE = the ECS scope ("" if no ECS),
# RCODE = the status.
q() {
	local out
	out=$(dig @"$A" -p "$PORT" +norec +tries=2 +time=1 "$@" 2>&1)
	# the answer section only (the additional section has NS addresses)
	local answer
	answer=$(printf '%s\n' "$out" | awk '/^;; ANSWER SECTION:/ { a = 1; next } /^$/ { a = 0 }
		a && ($4 == "A" || $4 == "AAAA")')
	ANS=$(printf '%s\n' "$answer" | awk 'NF { print $5 }' | sort | tr '\n' ' ')
	ANS=${ANS% }
	TTL=$(printf '%s\n' "$answer" | awk 'NF { print $2; exit }')
	SCOPE=$(printf '%s\n' "$out" | sed -n 's#^; CLIENT-SUBNET: .*/\([0-9]*\)$#\1#p')
	RCODE=$(printf '%s\n' "$out" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
	OUT=$out
}

# --- ECS from many client networks: SUBNET TYPE EXPECTED-ADDRESSES(regex) SCOPE(regex) WHAT
LONDON4='127\.61\.1\.[12]' STOCK4='127\.61\.2\.[12]' SD4='127\.61\.3\.1'
n=0
ecs_case() {
	q www.cdn.example "$2" +subnet="$1"
	[ "$RCODE" = NOERROR ] || fail "$1 $2: status $RCODE"
	[[ $ANS =~ ^$3$ ]] || fail "$1 $2 ($5): got '$ANS', expected /$3/"
	[[ $SCOPE =~ ^($4)$ ]] || fail "$1 $2 ($5): ECS scope '$SCOPE', expected /$4/"
	printf '    %-20s %-4s -> %-18s scope %-3s %s\n' "$1" "$2" "$ANS" "$SCOPE" "$5" >&2
	n=$((n + 1))
}
say "ECS answers (client subnet, type -> replica, scope):"
ecs_case 81.2.69.142/31 A "$LONDON4" 31 'GeoIP London /31'
ecs_case 81.2.69.142/32 AAAA '2001:db8:61:1::1' 31 'GeoIP London, IPv6 replica'
ecs_case 89.160.20.112/28 A "$STOCK4" 28 'GeoIP Linköping /28'
ecs_case 216.160.83.56/29 A "$SD4" 29 'GeoIP Milton WA /29'
ecs_case 175.16.199.0/24 A "$STOCK4" 24 'GeoIP Changchun (Stockholm is nearest)'
ecs_case 2001:480::/48 AAAA '2001:db8:61:3::1' 43 'GeoIP San Diego 2001:480::/43'
ecs_case 2001:480::1/128 A "$SD4" 43 'IPv6 client, IPv4 answer'
ecs_case 10.1.2.0/24 A "$LONDON4" 16 'operator network 10.1/16 -> eu-london'
ecs_case 10.2.3.0/24 A "$STOCK4" 16 'operator network 10.2/16 at Oslo'
ecs_case 2001:db8:aa::/56 AAAA '2001:db8:61:2::1' 48 'operator network 2001:db8:aa::/48'
ecs_case 10.0.0.1/24 A "$SD4" 16 'unknown (10.0.0.1 not in GeoIP): default order'
ecs_case 192.0.2.0/24 A "$SD4" '[0-9]|1[0-9]|2[0-4]' 'unknown: default order, scope <= source'
ecs_case 81.2.69.0/24 A "$SD4" '2[5-9]|3[01]' 'zero-filled /24 is not London: scope > source (RFC 7871 7.2.1)'
ecs_case 2001:db8:ffff::/48 AAAA '2001:db8:61:3::1' '[0-9]|[1-3][0-9]|4[0-8]' 'unknown IPv6: default order'
say "$n client networks answered as expected"

# --- without ECS the source address decides, and no ECS comes back.
q www.cdn.example -b 127.61.10.5
[[ $ANS =~ ^$STOCK4$ ]] || fail "source 127.61.10.5 (network -> eu-stockholm): '$ANS'"
[ -z "$SCOPE" ] || fail "source 127.61.10.5: an ECS option came back without one asked"
q www.cdn.example -b 127.61.0.9
[[ $ANS =~ ^$SD4$ ]] || fail "source 127.61.0.9 (default order): '$ANS'"
[ -z "$SCOPE" ] || fail "source 127.61.0.9: ECS in the reply"
q www.cdn.example +subnet=0.0.0.0/0 -b 127.61.10.5
[[ $ANS =~ ^$STOCK4$ ]] || fail "ECS /0 from 127.61.10.5 must use the source: '$ANS'"
[ "$SCOPE" = 0 ] || fail "ECS /0: scope '$SCOPE'"
say "no ECS: 127.61.10.5 -> eu-stockholm, 127.61.0.9 -> us-sandiego, no ECS option in the replies; ECS /0 -> source, scope 0"

# --- static data: scope 0; other types at the steered name from the zone; CNAME from another zone.
q static.cdn.example A +subnet=10.1.2.0/24
[ "$ANS" = 192.0.2.10 ] && [ "$SCOPE" = 0 ] || fail "static.cdn.example: '$ANS' scope '$SCOPE'"
q www.cdn.example TXT +subnet=10.1.2.0/24
printf '%s\n' "$OUT" | grep -q '"steered by cairn-auth"' && [ "$SCOPE" = 0 ] ||
	fail "TXT at the steered name (scope '$SCOPE'): $OUT"
q www.cdn.example MX +subnet=10.1.2.0/24
printf '%s\n' "$OUT" | grep -Eq 'MX[[:space:]]+10 mail\.cdn\.example\.' || fail "MX at the steered name: $OUT"
q cdn.other.example A +subnet=10.1.2.0/24
printf '%s\n' "$OUT" | grep -Eq 'CNAME[[:space:]]+www\.cdn\.example\.' && [[ $ANS =~ ^$LONDON4$ ]] &&
	[ "$SCOPE" = 16 ] || fail "CNAME from other.example: '$ANS' scope '$SCOPE': $OUT"
q nothere.cdn.example A +subnet=10.1.2.0/24
[ "$RCODE" = NXDOMAIN ] && [ "$SCOPE" = 0 ] || fail "NXDOMAIN next to a steered name: $RCODE scope '$SCOPE'"
say "static A scope 0; TXT and MX at www from the zone (scope 0); cdn.other.example CNAME -> $ANS scope 16"

# --- a malformed ECS option (24-bit source prefix, one address octet) is FORMERR.
q www.cdn.example +ednsopt=8:0001180001
[ "$RCODE" = FORMERR ] || fail "malformed ECS: $RCODE"
q www.cdn.example +ednsopt=8:0003180001020304
[ "$RCODE" = FORMERR ] || fail "ECS with family 3: $RCODE"
say "malformed ECS options -> FORMERR"

# --- CH TXT explanations: allowed from 127.0.0.1, REFUSED from elsewhere.
out=$(dig @"$A" -p "$PORT" -b 127.0.0.1 +norec CH TXT www.cdn.example +subnet=81.2.69.142/31)
printf '%s\n' "$out" | grep -q 'status: NOERROR' || fail "CH TXT from 127.0.0.1: $out"
printf '%s\n' "$out" | grep -q 'placed by geoip: GeoIP 81.2.69.142/31 London' || fail "CH TXT placement: $out"
printf '%s\n' "$out" | grep -Eq '"answer: 127\.61\.1\.[12] \(eu-london\)' || fail "CH TXT answer: $out"
say "CH TXT www.cdn.example from 127.0.0.1:"
printf '%s\n' "$out" | awk '$3 == "CH" && $4 == "TXT"' | sed 's/^/    /' >&2
out=$(dig @"$A" -p "$PORT" -b 127.61.0.9 +norec CH TXT www.cdn.example +subnet=81.2.69.142/31)
printf '%s\n' "$out" | grep -q 'status: REFUSED' || fail "CH TXT from 127.61.0.9 not refused: $out"
out=$(dig @"$A" -p "$PORT" -b 127.0.0.1 +norec CH TXT static.cdn.example)
printf '%s\n' "$out" | grep -q 'status: REFUSED' || fail "CH TXT of a name that is not steered: $out"
say "CH TXT from 127.61.0.9 (not in --explain-allow): REFUSED; of a static name: REFUSED"

# --- health. until DESC CMD...: run CMD (sets globals via q) until it succeeds,
# within CAIRN_WAIT_SECS; dig itself paces the loop.
until_ok() {
	local desc=$1 deadline=$((SECONDS + CAIRN_WAIT_SECS))
	shift
	until "$@"; do
		((SECONDS < deadline)) || { bg_log_tail "$apid"; fail "timed out waiting: $desc (last: '$ANS' ttl $TTL)"; }
		check_alive "$apid"
		sleep 0.02
	done
}
london_is() { q www.cdn.example +subnet=81.2.69.142/31; [[ $ANS =~ ^$1$ ]] && [ "$TTL" = "$2" ]; }
now_ms() { date +%s%3N; }

until_ok "London answers with the healthy TTL" london_is "$LONDON4" 30
stop_health "$LON1"
t0=$(now_ms)
until_ok "only $LON2 while $LON1 is down, degraded TTL 5" london_is "$LON2" 5
t1=$(now_ms)
say "HTTP check of $LON1 failing: answers only $LON2 with the degraded TTL 5 after $((t1 - t0)) ms (interval 200 ms x fall 2)"
for i in 1 2 3 4 5 6; do
	london_is "$LON2" 5 || fail "London answer with one replica down: '$ANS' ttl $TTL"
done
stop_health "$LON2"
t0=$(now_ms)
until_ok "answers move to eu-stockholm" london_is "$STOCK4" 5
t1=$(now_ms)
say "both London replicas down: London clients moved to eu-stockholm after $((t1 - t0)) ms (expected about 400 ms: interval x fall)"
wait_log "$apid" 'health: eu-london 127\.61\.1\.2 tcp:18081 down \(2 failures\)'
wait_log "$apid" 'health: eu-london 127\.61\.1\.1 http://127\.61\.1\.1:18081/health down \(2 failures\)'
# The London-only name fails open: the nearest replicas anyway, degraded TTL, logged.
q eu.cdn.example A +subnet=89.160.20.112/28
[ "$ANS" = "$LON1 $LON2" ] && [ "$TTL" = 7 ] || fail "eu.cdn.example fail open: '$ANS' ttl $TTL"
wait_log "$apid" 'eu\.cdn\.example: every replica down, answering with the nearest anyway \(fail open\)'
say "eu.cdn.example (pool eu-london only) fails open: '$ANS' ttl $TTL, logged"
m=$(curl -sf "http://$A:$MPORT/metrics") || fail "metrics scrape"
printf '%s\n' "$m" | grep -q "cairn_auth_replica_up{datacenter=\"eu-london\",address=\"$LON1\"} 0" ||
	fail "metrics: $LON1 not down: $(printf '%s\n' "$m" | grep replica_up)"
printf '%s\n' "$m" | grep -Eq 'cairn_auth_steer_fail_open_total\{name="eu.cdn.example"\} [1-9]' ||
	fail "metrics: no fail-open count"
start_health "$LON1"
start_health "$LON2"
t0=$(now_ms)
until_ok "back to London with the healthy TTL" london_is "$LONDON4" 30
t1=$(now_ms)
wait_log "$apid" 'health: eu-london 127\.61\.1\.1 http://127\.61\.1\.1:18081/health up \(2 successes\)'
say "endpoints back: London answers again with TTL 30 after $((t1 - t0)) ms (interval x rise)"

# --- metrics: answers per datacenter, replica health, check counters.
m=$(curl -sf "http://$A:$MPORT/metrics") || fail "metrics scrape"
for dc in eu-london eu-stockholm us-sandiego; do
	printf '%s\n' "$m" | grep -Eq "^cairn_auth_steer_answers_total\{datacenter=\"$dc\"\} [1-9]" ||
		fail "metrics: no answers counted for $dc"
done
printf '%s\n' "$m" | grep -q "cairn_auth_replica_up{datacenter=\"eu-london\",address=\"$LON1\"} 1" ||
	fail "metrics: $LON1 not up again"
printf '%s\n' "$m" | grep -Eq "cairn_auth_health_check_failures_total\{datacenter=\"eu-london\",address=\"$LON2\"\} [1-9]" ||
	fail "metrics: no failed checks counted for $LON2"
printf '%s\n' "$m" | grep -Eq "cairn_auth_health_check_seconds\{datacenter=\"eu-london\",address=\"$LON1\"\} [0-9.]+" ||
	fail "metrics: no check latency for $LON1"
say "metrics:"
printf '%s\n' "$m" | grep -E '^cairn_auth_(steer|replica_up|health_checks_total)' | sed 's/^/    /' >&2

# --- SIGHUP with a bad map: rejected with FILE: reason, the old map keeps serving.
sed 's/"ttl": 30/"ttl": "thirty"/' "$tmp/good.json" >"$tmp/map.new" && mv "$tmp/map.new" "$tmp/map.json"
kill -HUP "$apid"
wait_log "$apid" 'reloading 2 zones'
wait_log "$apid" 'map\.json: names.*ttl.*'
wait_log "$apid" 'keeping the map serving now'
q www.cdn.example +subnet=81.2.69.142/31
[[ $ANS =~ ^$LONDON4$ ]] && [ "$TTL" = 30 ] || fail "after a bad map: '$ANS' ttl $TTL"
q www.cdn.example +subnet=192.0.2.0/24
[[ $ANS =~ ^$SD4$ ]] || fail "after a bad map, default order changed: '$ANS'"
say "bad map on SIGHUP: '$(grep -m1 -E 'error: .*map\.json: names' "$log" | sed 's/^.*\] error: //')'; old map still serving"

# --- an edited map (another default order) is picked up by the file watch, and the
# health of the replicas it keeps is carried over: $LON1 is down across the reload.
stop_health "$LON1"
until_ok "only $LON2 before the map reload" london_is "$LON2" 5
sed 's/"order": \["us-sandiego", "eu-stockholm", "eu-london"\]/"order": ["eu-london", "eu-stockholm", "us-sandiego"]/' \
	"$tmp/good.json" >"$tmp/map.new"
grep -q '"order": \["eu-london"' "$tmp/map.new" || fail "could not edit the map's default order"
mv "$tmp/map.new" "$tmp/map.json"
wait_log "$apid" 'map reloaded: 3 datacenters, 2 names, tree [0-9]+ nodes'
# at once: a replica reset to "up" would be answered until fall x interval (400 ms) passed
london_is "$LON2" 5 || fail "health not carried over the map reload: London answered '$ANS' ttl $TTL"
say "health carried over the map reload: $LON1 still down, only $LON2 answered"
wait_default_london() { q www.cdn.example +subnet=192.0.2.0/24; [[ $ANS =~ ^$LONDON4$ ]]; }
until_ok "the new default order (eu-london first) to answer" wait_default_london
say "map file edited: $(grep -m1 'map reloaded' "$log" | sed 's/^.*\] info: //'); unknown clients now get eu-london ($ANS)"
start_health "$LON1"
until_ok "London whole again after the reload" london_is "$LONDON4" 30

m=$(curl -sf "http://$A:$MPORT/metrics") || fail "metrics scrape"
printf '%s\n' "$m" | grep -Eq '^cairn_auth_map_reloads_total [2-9]' || fail "metrics: map reloads not counted"
printf '%s\n' "$m" | grep -Eq '^cairn_auth_map_reload_failures_total [1-9]' || fail "metrics: map reload failures not counted"

stop_bg "$apid" || fail "cairn-auth did not shut down cleanly (exit $?)"
if grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error' "$log"; then
	fail "sanitizer report in the server log"
fi
say "PASS"

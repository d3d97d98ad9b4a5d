#!/usr/bin/env bash
# e2e_stack.sh -- the whole stack end to end (issue 5), with ordinary clients.
#
# Inside a private network namespace whose resolv.conf says `nameserver 127.0.0.1`
# (lib/netns.sh; the recipe ../shared/recipes/full-stack-e2e.md):
#   - the demo internet: one cairn-auth per line of zones/demo.servers on port 53 of its
#     127.53.x.y addresses; the cdn.test server steers www.cdn.test with a map derived from
#     maps/demo.json (only the datacenters whose replica is one of our three edges, health
#     checks every 0.3 s with fall 2 / rise 2, TTL 2 s, so a failover shows quickly);
#   - cairn-resolver on 127.0.0.1@53 with --root-hints zones/root.hints;
#   - two cairn-origin (origin.cdn.test 127.54.3.10, and 127.54.3.11) and three edges on
#     127.54.3.1-3 port 80: cairn-edge when $CAIRN_BIN/cairn-edge exists ("edge" mode),
#     else cairn-origin instances standing in at the edge addresses ("origin" mode);
#     E2E_MODE=edge|origin forces one;
#   - an SMTP sink (aiosmtpd) at mail.test's best MX host, an FTP server (pyftpdlib) at
#     ftp.files.test.
# Then, with clients that know nothing of cairn:
#   Web:  curl http://www.cdn.test/... through the edge cairn-auth chose for the resolver's
#         place (checked against its CH TXT explanation and the resolver's answer); second
#         request X-Cache: HIT (edge mode); stop that edge -> once the health check has
#         failed and the TTL run out, the next-nearest edge serves; restart -> back.
#   Mail: swaks (its own MX lookup) and exim4 (one-shot, own config) deliver to bob@mail.test.
#   FTP:  curl ftp:// and lftp fetch a file from ftp.files.test.
# And the machine's /etc/resolv.conf is untouched, its resolution of www.cdn.test unchanged.
set -u
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/netns.sh"

ns_need
# The clients and sinks are dependencies (scripts/install-deps), not optional extras: a
# missing one fails the test instead of skipping it.
for c in dig curl swaks lftp exim4 ss; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] ||
		fail "command '$c' not found: run scripts/install-deps"
done
PY=/usr/bin/python3 # Debian's, with the aiosmtpd and pyftpdlib modules (not a pyenv one)
for m in aiosmtpd pyftpdlib; do
	$PY -c "import $m" 2>/dev/null || fail "$PY has no module $m: run scripts/install-deps"
done
# Only a missing root or `ip netns` skips; missing programs fail.
for b in cairn-auth cairn-resolver cairn-origin; do
	[ -x "$CAIRN_BIN/$b" ] || fail "$CAIRN_BIN/$b not built"
done
CAIRN_AUTH=$CAIRN_BIN/cairn-auth
CAIRN_RESOLVER=$CAIRN_BIN/cairn-resolver
CAIRN_ORIGIN=$CAIRN_BIN/cairn-origin

MODE=${E2E_MODE:-auto}
if [ "$MODE" = auto ]; then
	if [ -x "$CAIRN_BIN/cairn-edge" ]; then MODE=edge; else MODE=origin; fi
fi
case $MODE in
edge) [ -x "$CAIRN_BIN/cairn-edge" ] || fail "E2E_MODE=edge but no $CAIRN_BIN/cairn-edge"; CAIRN_EDGE=$CAIRN_BIN/cairn-edge ;;
origin) ;;
*) fail "E2E_MODE must be edge, origin or auto" ;;
esac

ZONES=$CAIRN_SRC/zones
EDGES=(127.54.3.1 127.54.3.2 127.54.3.3)
ORIGINS=(127.54.3.10 127.54.3.11) # origin.cdn.test, and a second one
TTL=2
T0=$SECONDS
tmp=$(make_tmpdir)
chmod 755 "$CAIRN_TMPROOT" "$tmp" # exim drops root for -C and runs as Debian-exim: its spool is in here

# step MSG: a one-line summary of a step that passed.
step() { printf '%s: [%3ds] %s\n' "$CAIRN_TEST_NAME" $((SECONDS - T0)) "$*" >&2; }

# --- the machine's own resolution, before -----------------------------------------------
host_sum=$(sha256sum /etc/resolv.conf | cut -d' ' -f1)
host_before=$(timeout 10 getent hosts www.cdn.test; echo "rc=$?")
step "host: /etc/resolv.conf sha256 ${host_sum:0:16}..., host lookup of www.cdn.test: ${host_before##*$'\n'}"

NS=cairn-e2e-$$
test_cleanup() { ns_teardown; }
ns_create "$NS"
step "namespace $NS: lo up, /etc/netns/$NS/{resolv.conf,hosts,nsswitch.conf} (nameserver 127.0.0.1)"
[ "$(nsx cat /etc/resolv.conf)" != "$(cat /etc/resolv.conf)" ] ||
	fail "the namespace sees the host's resolv.conf"

# --- the steering map: maps/demo.json, reduced to our edges, with health checks ---------
$PY - "$CAIRN_SRC/maps/demo.json" "$tmp/map.json" "$MODE" "$TTL" "${EDGES[@]}" <<-'EOF' ||
	import json, os, sys
	src, out, mode, ttl = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
	edges = set(sys.argv[5:])
	m = json.load(open(src))
	if "geoip" in m and not os.path.isabs(m["geoip"]):
	    m["geoip"] = os.path.join(os.path.dirname(os.path.abspath(src)), m["geoip"])
	m["health"] = {"interval": 0.3, "timeout": 0.3, "rise": 2, "fall": 2}
	dcs = []
	for dc in m["datacenters"]:
	    dc["replicas"] = [r for r in dc["replicas"] if r["address"] in edges]
	    for r in dc["replicas"]:
	        r["check"] = ({"http": "http://%s:80/health" % r["address"]} if mode == "edge"
	                      else {"tcp": 80})
	    if dc["replicas"]:
	        dcs.append(dc)
	m["datacenters"] = dcs
	keep = {dc["name"] for dc in dcs}
	kept = lambda l: [d for d in l if d in keep]
	for n in m.get("names", {}).values():
	    n["ttl"] = ttl
	    n["degraded_ttl"] = ttl
	    if "pool" in n:
	        n["pool"] = kept(n["pool"])
	for k, v in list(m.get("networks", {}).items()):
	    if "datacenters" in v:
	        v["datacenters"] = kept(v["datacenters"])
	        if not v["datacenters"]:
	            del m["networks"][k]
	d = m.get("defaults", {})
	if "order" in d:
	    d["order"] = kept(d["order"])
	for key in ("countries", "continents"):
	    for k, v in list(d.get(key, {}).items()):
	        d[key][k] = kept(v)
	        if not d[key][k]:
	            del d[key][k]
	json.dump(m, open(out, "w"), indent=1)
EOF
	fail "could not derive the map from maps/demo.json"
step "map: $($PY -c 'import json,sys; m=json.load(open(sys.argv[1])); print(", ".join("%s %s" % (d["name"], d["replicas"][0]["address"]) for d in m["datacenters"]))' "$tmp/map.json"); checks $([ $MODE = edge ] && echo 'HTTP /health' || echo 'TCP 80') every 0.3 s, fall 2, rise 2; ttl ${TTL}s"

# --- the demo internet ---------------------------------------------------------------------
layout() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$ZONES/demo.servers"; }
declare -A AUTH_PID=()
nservers=0
while read -r name addrs what; do
	case $what in
	closed) continue ;;
	blackhole)
		# Reads queries and never answers (a dead name server that swallows them).
		ns_start_bg "$tmp/$name.log" $PY -c '
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((sys.argv[1], 53))
time.sleep(3600)
' "${addrs%%,*}"
		;;
	*)
		args=()
		for a in ${addrs//,/ }; do args+=(--listen "$a@53"); done
		for z in $what; do
			args+=(--zone "${z%%=*}=$ZONES/${z#*=}")
			[ "${z%%=*}" = cdn.test. ] && args+=(--map "$tmp/map.json")
		done
		ns_start_bg "$tmp/$name.log" "$CAIRN_AUTH" "${args[@]}" --threads 1
		;;
	esac
	AUTH_PID[$name]=$LAST_BG_PID
	nservers=$((nservers + 1))
done < <(layout)
while read -r name addrs what; do
	case $what in
	closed) continue ;;
	blackhole) ns_wait_listen udp "${addrs%%,*}" 53 "${AUTH_PID[$name]}" ;;
	*) for a in ${addrs//,/ }; do for z in $what; do ns_wait_dns "$a" 53 "${z%%=*}"; done; done ;;
	esac
done < <(layout)
step "demo internet: $nservers name servers of zones/demo.servers answer on 127.53.x.y@53"

ns_start_bg "$tmp/resolver.log" "$CAIRN_RESOLVER" --listen 127.0.0.1@53 \
	--root-hints "$ZONES/root.hints" --no-ipv6
pid_rsv=$LAST_BG_PID
wait_log $pid_rsv 'ready'
ns_wait_dns 127.0.0.1 53 test.
out=$(nsx getent hosts www.example.test) || fail "getent hosts www.example.test in $NS failed"
step "cairn-resolver on 127.0.0.1@53; glibc in the namespace: $(echo $out)"

# --- origins and edges -------------------------------------------------------------------
www=$tmp/www
mkdir -p "$www/static"
head -c 200000 /dev/urandom >"$www/static/file.bin"
printf 'cairn e2e %s\n' "$$" >"$www/index.html"
# origin_start ADDR: a cairn-origin serving $www on ADDR@80; sets LAST_BG_PID.
origin_start() {
	ns_start_bg "$tmp/origin-$1.log" "$CAIRN_ORIGIN" --listen "$1@80" --root "$www" \
		--cache-control '/=public, max-age=300'
	ns_wait_listen tcp "$1" 80 "$LAST_BG_PID"
}
declare -A EDGE_PID=()
# edge_start I: the edge at EDGES[I] (cairn-edge in front of an origin, or a cairn-origin
# standing in); records EDGE_PID.
edge_start() {
	local a=${EDGES[$1]} o=${ORIGINS[$(($1 % 2))]}
	if [ $MODE = edge ]; then
		# drain-delay above the checks' interval x fall (0.6 s): on SIGTERM /health
		# says 503 while the edge still serves, as an operator would run it.
		ns_start_bg "$tmp/edge-$a.log" "$CAIRN_EDGE" --listen "$a@80" \
			--origin "www.cdn.test=$o@80" --drain-delay 700
	else
		ns_start_bg "$tmp/edge-$a.log" "$CAIRN_ORIGIN" --listen "$a@80" --root "$www" \
			--cache-control '/=public, max-age=300'
	fi
	EDGE_PID[$a]=$LAST_BG_PID
	ns_wait_listen tcp "$a" 80 "$LAST_BG_PID"
}
declare -A ORIGIN_PID=()
for o in "${ORIGINS[@]}"; do origin_start "$o"; ORIGIN_PID[$o]=$LAST_BG_PID; done
for i in 0 1 2; do edge_start $i; done
if [ $MODE = edge ]; then
	step "MODE edge: cairn-edge on ${EDGES[*]} (port 80) in front of cairn-origin ${ORIGINS[*]}"
else
	step "MODE origin (no cairn-edge in $CAIRN_BIN): cairn-origin stands in on the edge addresses ${EDGES[*]}; origins ${ORIGINS[*]}"
fi
got=$(nsx curl -sS --max-time 10 "http://origin.cdn.test/index.html") ||
	fail "curl http://origin.cdn.test/ failed"
[ "$got" = "cairn e2e $$" ] || fail "origin.cdn.test served '$got'"
step "curl http://origin.cdn.test/index.html: origin reached by name"

# --- Web ---------------------------------------------------------------------------------
# explain: the cdn.test server's own explanation (CH TXT) for an asker at 127.0.0.1, the
# resolver's address in the namespace (the resolver sends no ECS).
explain() { nsx dig @127.53.3.1 +short +tries=1 +time=2 CH TXT www.cdn.test; }
# chosen: the address the explanation's answer line names.
chosen() { sed -n 's/^"answer: \([0-9.]*\) .*/\1/p' <<<"$1"; }
# resolved: the resolver's A answer for www.cdn.test (one line per address).
resolved() { nsx dig @127.0.0.1 +short +tries=1 +time=2 www.cdn.test A; }
# fetch TAG: curl http://www.cdn.test/static/file.bin; sets F_IP, F_CODE, F_XCACHE and
# checks the body is the file.
fetch() {
	local w
	w=$(nsx curl -sS --max-time 10 -o "$tmp/got-$1" -D "$tmp/head-$1" \
		-w '%{remote_ip} %{http_code}' http://www.cdn.test/static/file.bin) ||
		fail "web $1: curl http://www.cdn.test/static/file.bin failed"
	F_IP=${w% *}
	F_CODE=${w#* }
	F_XCACHE=$(sed -n 's/^[Xx]-[Cc]ache: *\([A-Za-z]*\).*/\1/p' "$tmp/head-$1" | tr -d '\r')
	[ "$F_CODE" = 200 ] || { cat "$tmp/head-$1" >&2; fail "web $1: status $F_CODE from $F_IP"; }
	cmp -s "$tmp/got-$1" "$www/static/file.bin" || fail "web $1: body differs from the file"
}
# looked_up: the addresses glibc's getaddrinfo gives for www.cdn.test in the namespace,
# as curl will get them.
looked_up() { nsx getent ahosts www.cdn.test | awk '{ print $1 }' | sort -u; }
# wait_answer ADDR WHAT: poll (bounded, 20 s) until getaddrinfo gives ADDR for
# www.cdn.test. Polled through glibc, not dig: the resolver caches whole answers per query
# shape (EDNS, flags), so dig's question and glibc's may each see a copy still within its
# TTL, answered before the change.
wait_answer() {
	local deadline=$((SECONDS + 20)) a
	while ((SECONDS < deadline)); do
		a=$(looked_up)
		[ "$a" = "$1" ] && return 0
		check_alive $pid_rsv "${AUTH_PID[cdn]}"
		sleep 0.1
	done
	explain >&2
	fail "web: getaddrinfo still gives '$a' for www.cdn.test, not $1 ($2), after 20 s"
}

# The edges started after cairn-auth, whose first checks may have found them down: wait
# (bounded) until its explanation has every edge up again.
deadline=$((SECONDS + 20))
while :; do
	x=$(explain)
	ups=0
	for a in "${EDGES[@]}"; do grep -q " ${a//./\\.} up" <<<"$x" && ups=$((ups + 1)); done
	((ups == ${#EDGES[@]})) && break
	((SECONDS < deadline)) || { printf '%s\n' "$x" >&2; fail "web: cairn-auth does not see every edge up after 20 s"; }
	check_alive "${AUTH_PID[cdn]}"
	sleep 0.1
done
if [ $MODE = edge ]; then
	for a in "${EDGES[@]}"; do
		out=$(nsx curl -sS --max-time 5 "http://$a/health") || fail "web: GET http://$a/health failed"
		head -n1 <<<"$out" | grep -q serving || fail "web: $a/health says '$(head -n1 <<<"$out")'"
	done
	step "health: cairn-auth sees the three edges up (HTTP /health: 'serving')"
else
	step "health: cairn-auth sees the three edges up (TCP 80)"
fi
first=$(chosen "$x")
[ -n "$first" ] || { printf '%s\n' "$x" >&2; fail "web: no answer line in the CH TXT explanation"; }
grep -q 'placed by' <<<"$x" || { printf '%s\n' "$x" >&2; fail "web: explanation without placement"; }
# The next-nearest: the first address of the explanation's order that is not $first.
next=$(grep -Eo '"  *[0-9]+\. .*' <<<"$x" | grep -Eo '127\.54\.3\.[0-9]+' | grep -vxF "$first" | head -n1)
[ -n "$next" ] || { printf '%s\n' "$x" >&2; fail "web: no second datacenter in the explanation"; }
step "cdn.test explains (asker 127.0.0.1): $(grep -o 'placed by [^;"]*' <<<"$x" | head -n1); answer $first, next-nearest $next"
[ "$(resolved)" = "$first" ] || fail "web: the resolver answers '$(resolved)', cairn-auth chose $first"
out=$(looked_up)
[ "$out" = "$first" ] || fail "web: getent ahosts in the namespace gives '$out', not $first"
fetch 1
[ "$F_IP" = "$first" ] || fail "web: curl connected to $F_IP, cairn-auth chose $first"
[ $MODE = origin ] || [ "$F_XCACHE" = MISS ] ||
	{ cat "$tmp/head-1" >&2; fail "web: first request X-Cache '$F_XCACHE', not MISS"; }
step "curl http://www.cdn.test/static/file.bin -> 200 from $F_IP (the chosen edge), 200000 bytes identical${F_XCACHE:+, X-Cache: $F_XCACHE}"
fetch 2
[ "$F_IP" = "$first" ] || fail "web: second request went to $F_IP, not $first"
if [ $MODE = edge ]; then
	[ "$F_XCACHE" = HIT ] || { cat "$tmp/head-2" >&2; fail "web: second request X-Cache '$F_XCACHE', not HIT"; }
	# The edge asked its origin once (the MISS), not for the HIT.
	n=$(cat "$tmp"/origin-*.log | grep -c '"GET /static/file.bin HTTP/1.1" 200')
	[ "$n" = 1 ] || fail "web: the origins logged $n GETs of /static/file.bin after a MISS and a HIT, not 1"
	step "second request: X-Cache: HIT from $F_IP (the origins saw 1 GET in all)"
else
	step "second request: 200 from $F_IP (origin mode: no cache to check)"
fi

# Failover: stop the chosen edge.
t=$SECONDS
stop_bg "${EDGE_PID[$first]}" || fail "web: the edge on $first exited with status $? on SIGTERM"
ns_wait_free tcp "$first" 80
wait_answer "$next" "after stopping the edge on $first"
grep -q "health: .* $first .*down" "$tmp/cdn.log" ||
	{ tail -n 20 "$tmp/cdn.log" >&2; fail "web: cairn-auth did not log $first down"; }
fetch 3
[ "$F_IP" = "$next" ] || fail "web: after the failover curl connected to $F_IP, not $next"
step "edge $first stopped: health check down, getaddrinfo gives $next after $((SECONDS - t)) s; curl -> 200 from $F_IP${F_XCACHE:+ (X-Cache: $F_XCACHE)}"

# Recovery: start it again.
t=$SECONDS
for i in 0 1 2; do [ "${EDGES[$i]}" = "$first" ] && edge_start $i; done
wait_answer "$first" "after restarting the edge on $first"
grep -q "health: .* $first .*up" "$tmp/cdn.log" ||
	{ tail -n 20 "$tmp/cdn.log" >&2; fail "web: cairn-auth did not log $first up"; }
fetch 4
[ "$F_IP" = "$first" ] || fail "web: after the restart curl connected to $F_IP, not $first"
step "edge $first restarted: health check up, getaddrinfo gives $first after $((SECONDS - t)) s; curl -> 200 from $F_IP${F_XCACHE:+ (X-Cache: $F_XCACHE)}"

# --- Mail --------------------------------------------------------------------------------
# The best MX of mail.test and its address, from the zone file itself.
mx_host=$(awk '$0 !~ /^;/ && $3 == "MX" { print $4, $5 } $0 !~ /^;/ && $4 == "MX" { print $5, $6 }' \
	"$ZONES/mail.test.zone" | sort -n | head -n1 | cut -d' ' -f2)
mx_addr=$(awk -v h="$mx_host" '$1 == h && ($3 == "A" || $4 == "A") { print $NF }' "$ZONES/mail.test.zone")
[ -n "$mx_addr" ] || fail "mail: no address for the best MX '$mx_host' in mail.test.zone"
out=$(nsx dig @127.0.0.1 +short mail.test MX | sort -n | head -n1)
[ "$out" = "10 $mx_host.mail.test." ] || fail "mail: the resolver's best MX is '$out'"
[ "$(nsx dig @127.0.0.1 +short "$mx_host.mail.test" A)" = "$mx_addr" ] ||
	fail "mail: the resolver's $mx_host.mail.test is not $mx_addr"
mbox=$tmp/mailbox
mkdir -p "$mbox/tmp" "$mbox/new" "$mbox/cur"
ns_start_bg "$tmp/smtp.log" $PY -m aiosmtpd -n -l "$mx_addr:25" -c aiosmtpd.handlers.Mailbox "$mbox"
ns_wait_listen tcp "$mx_addr" 25 "$LAST_BG_PID"
step "mail: SMTP sink (aiosmtpd Mailbox) on $mx_addr:25, the best MX $mx_host.mail.test"

nsx swaks --to bob@mail.test --from alice@example.test --helo client.e2e.test \
	--header "Subject: cairn e2e swaks $$" --body "token-swaks-$$" --timeout 20 \
	>"$tmp/swaks.out" 2>&1 || { cat "$tmp/swaks.out" >&2; fail "mail: swaks failed"; }
# swaks names the host it looked up; the sink at $mx_addr only receives it if the
# name led there (the mailbox is checked below).
grep -q "Connected to $mx_host.mail.test" "$tmp/swaks.out" &&
	[ "$(grep -c '^<-  250 OK' "$tmp/swaks.out")" -ge 3 ] ||
	{ cat "$tmp/swaks.out" >&2; fail "mail: swaks did not deliver through $mx_host.mail.test"; }
step "swaks --to bob@mail.test (its own MX lookup): connected to $mx_host.mail.test, 250 OK after DATA"

ex=$tmp/exim
mkdir -p "$ex/spool" "$ex/log"
chown -R Debian-exim:Debian-exim "$ex" 2>/dev/null
cat >"$ex/exim.conf" <<-EOF
	# One-shot exim for the e2e test: one dnslookup router (MX through the resolver
	# of the namespace) without Debian's ignore_target_hosts, which drops loopback MX hosts.
	primary_hostname = client.e2e.test
	qualify_domain = e2e.test
	spool_directory = $ex/spool
	log_file_path = $ex/log/%slog
	keep_environment =
	disable_ipv6 = true
	tls_advertise_hosts =
	begin routers
	mx:
	  driver = dnslookup
	  domains = mail.test
	  transport = remote_smtp
	  # The MX host is an address of this namespace's lo: deliver to it anyway.
	  self = send
	  no_more
	begin transports
	remote_smtp:
	  driver = smtp
	  allow_localhost
	begin retry
	* * F,1m,1m
EOF
nsx /usr/sbin/exim4 -C "$ex/exim.conf" -bt bob@mail.test >"$tmp/exim-bt.out" 2>&1 ||
	{ cat "$tmp/exim-bt.out" >&2; fail "mail: exim4 -bt bob@mail.test failed"; }
grep -q "host $mx_host.mail.test \[$mx_addr\] MX=10" "$tmp/exim-bt.out" ||
	{ cat "$tmp/exim-bt.out" >&2; fail "mail: exim4 -bt does not route to $mx_host.mail.test [$mx_addr]"; }
step "exim4 -bt bob@mail.test: $(grep -m1 -o "host $mx_host.mail.test \[$mx_addr\] MX=10" "$tmp/exim-bt.out")"
printf 'To: bob@mail.test\nSubject: cairn e2e exim %s\n\ntoken-exim-%s\n' "$$" "$$" |
	nsx /usr/sbin/exim4 -C "$ex/exim.conf" -odf -oi bob@mail.test >"$tmp/exim.out" 2>&1 ||
	{ cat "$tmp/exim.out" "$ex/log/mainlog" >&2; fail "mail: exim4 -odf failed"; }
grep -q "=> bob@mail.test .*H=$mx_host.mail.test \[$mx_addr\]" "$ex/log/mainlog" ||
	{ cat "$tmp/exim.out" "$ex/log/"* >&2; fail "mail: exim did not deliver to $mx_addr"; }
step "exim4 -odf (one-shot MTA): $(grep -m1 -o "=> bob@mail.test .*H=[^ ]* \[[0-9.]*\]" "$ex/log/mainlog")"
for tok in token-swaks-$$ token-exim-$$; do
	grep -lq "$tok" "$mbox"/new/* 2>/dev/null || fail "mail: no message with $tok in the mailbox $mbox/new"
done
step "mailbox: both messages delivered ($(ls "$mbox/new" | wc -l) in $mbox/new)"

# --- FTP ---------------------------------------------------------------------------------
ftp_addr=$(awk '$1 == "ftp" && ($3 == "A" || $4 == "A") { print $NF }' "$ZONES/files.test.zone")
[ -n "$ftp_addr" ] || fail "ftp: no address of ftp in files.test.zone"
[ "$(nsx dig @127.0.0.1 +short ftp.files.test A)" = "$ftp_addr" ] ||
	fail "ftp: the resolver's ftp.files.test is not $ftp_addr"
pub=$tmp/ftp
mkdir -p "$pub"
head -c 100000 /dev/urandom >"$pub/pub.bin"
ns_start_bg "$tmp/ftpd.log" $PY -m pyftpdlib -i "$ftp_addr" -p 21 -d "$pub"
ns_wait_listen tcp "$ftp_addr" 21 "$LAST_BG_PID"
step "ftp: pyftpdlib (anonymous, read-only) on $ftp_addr:21, ftp.files.test's address"
nsx curl -sS --max-time 20 -o "$tmp/ftp-curl.bin" ftp://ftp.files.test/pub.bin ||
	fail "ftp: curl ftp://ftp.files.test/pub.bin failed"
cmp -s "$tmp/ftp-curl.bin" "$pub/pub.bin" || fail "ftp: curl's copy differs"
step "curl ftp://ftp.files.test/pub.bin: 100000 bytes identical"
nsx lftp -c "set ftp:ssl-allow no; set net:max-retries 2; set net:timeout 10; \
	open ftp.files.test; get pub.bin -o $tmp/ftp-lftp.bin" >"$tmp/lftp.out" 2>&1 ||
	{ cat "$tmp/lftp.out" >&2; fail "ftp: lftp failed"; }
cmp -s "$tmp/ftp-lftp.bin" "$pub/pub.bin" || fail "ftp: lftp's copy differs"
step "lftp -c 'open ftp.files.test; get pub.bin': 100000 bytes identical"

# --- teardown, clean exits, and the host untouched ---------------------------------------
check_alive "${CAIRN_BG_PIDS[@]}"
for p in $pid_rsv "${AUTH_PID[cdn]}" "${ORIGIN_PID[@]}" "${EDGE_PID[@]}"; do
	stop_bg "$p" || fail "pid $p (log ${CAIRN_BG_LOGS[$p]}) exited with status $? on SIGTERM"
done
if grep -El 'ERROR: (Address|Leak)Sanitizer|runtime error' "$tmp"/*.log; then
	fail "sanitizer report in the logs above"
fi
ns_teardown
[ -e "/etc/netns/$NS" ] && fail "/etc/netns/$NS still exists"
ip netns list | grep -qw "$NS" && fail "namespace $NS still exists"
[ "$(sha256sum /etc/resolv.conf | cut -d' ' -f1)" = "$host_sum" ] || fail "the host's /etc/resolv.conf changed"
host_after=$(timeout 10 getent hosts www.cdn.test; echo "rc=$?")
# Unaffected: never one of the namespace's answers; the same answer if it had one (a
# failing lookup may fail differently, the host's DNS is not ours to judge).
case $host_after in *127.54.*) fail "the host resolves www.cdn.test as the namespace does: $host_after" ;; esac
case $host_before in
*rc=0) [ "$host_after" = "$host_before" ] ||
	fail "the host's lookup of www.cdn.test changed: '$host_before' -> '$host_after'" ;;
*) case $host_after in *rc=0) fail "the host's lookup of www.cdn.test now succeeds: $host_after" ;; esac ;;
esac
step "teardown: clean exits, no sanitizer report, namespace and /etc/netns/$NS gone; host /etc/resolv.conf unchanged, host lookup of www.cdn.test unchanged (${host_after##*$'\n'})"
say "PASS ($MODE mode, $((SECONDS - T0)) s)"

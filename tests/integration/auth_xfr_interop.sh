#!/usr/bin/env bash
# auth_xfr_interop.sh -- zone replication between cairn-auth and real peers.
#
# One cairn-auth on 127.55.0.1 is at once
#   - the primary of p.test., transferred to an NSD secondary on 127.55.0.2
#     (NSD: request-xfr from cairn-auth, allow-notify from it; NSD fetches its
#     first copy by AXFR, later ones by IXFR, which cairn-auth answers with the
#     whole zone, AXFR-style, as RFC 1995 4 allows), and
#   - a secondary of k.test., whose primary is knotd on 127.55.0.3.
# Checked:
#   1. NSD gets p.test. by AXFR from cairn-auth; the allow-transfer ACL refuses
#      other clients; IXFR over TCP gets the whole zone. Then the zone file
#      changes, cairn-auth reloads (SIGHUP) and NOTIFYs NSD, which fetches the
#      new serial. NSD's SOA REFRESH is a day, so only the NOTIFY explains it.
#      A second cairn-auth on 127.55.0.4 is a secondary of p.test. too and
#      follows the same NOTIFY (cairn-auth to cairn-auth).
#   2. cairn-auth fetches k.test. from knotd at start-up. knotd reloads a new
#      version and NOTIFYs cairn-auth, which fetches it (REFRESH is a day too).
#   3. knotd stops, cairn-auth restarts: it serves k.test. from its kept copy.
# Every wait is a bounded poll with dig, never a fixed sleep.
set -u
. "$(dirname "$0")/lib/common.sh"

need_cmd dig nsd nsd-checkconf knotd knotc
need_bin cairn-auth

AUTH=127.55.0.1   # cairn-auth
NSD=127.55.0.2    # NSD, secondary of cairn-auth for p.test.
KNOT=127.55.0.3   # knotd, primary of cairn-auth for k.test.
AUTH2=127.55.0.4  # a second cairn-auth, secondary of the first for p.test.
OTHER=127.55.0.9  # a client outside allow-transfer
PORT=5300

for a in "$AUTH" "$NSD" "$KNOT" "$AUTH2"; do wait_port_free "$a" "$PORT"; done
tmp=$(make_tmpdir)
mkdir -p "$tmp/auth" "$tmp/auth2" "$tmp/nsd" "$tmp/nsd-state" "$tmp/knot"

# ---- helpers ------------------------------------------------------------------

# dig_short ADDR NAME TYPE [DIG OPTIONS]: the answer's RDATA, one per line.
dig_short() {
	local addr=$1 name=$2 type=$3
	shift 3
	dig @"$addr" -p "$PORT" +tries=1 +time=1 +norec +nocookie +short "$@" "$name" "$type" 2>/dev/null
}

# serial_of ADDR ZONE: the SOA serial ADDR serves (empty if none).
serial_of() { dig_short "$1" "$2" SOA | awk 'NR == 1 { print $3 }'; }

# poll_for DESC WANT CMD...: run CMD until its output equals WANT, for at most
# CAIRN_WAIT_SECS seconds; fail the test (with logs) otherwise.
poll_for() {
	local desc=$1 want=$2 deadline out
	shift 2
	deadline=$((SECONDS + CAIRN_WAIT_SECS))
	while ((SECONDS < deadline)); do
		out=$("$@")
		[ "$out" = "$want" ] && return 0
		check_alive "${CAIRN_BG_PIDS[@]}"
		sleep 0.1
	done
	local p
	for p in "${CAIRN_BG_PIDS[@]}"; do bg_log_tail "$p" 40; done
	fail "$desc: wanted '$want', last got '$out' after ${CAIRN_WAIT_SECS}s"
}

# log_has FILE TEXT: the log file contains the fixed string TEXT.
log_has() { grep -qF -- "$2" "$1"; }

# axfr_count ADDR ZONE [DIG OPTIONS]: records in an AXFR (both SOAs counted);
# 0 when the transfer failed.
axfr_count() {
	local addr=$1 zone=$2 out
	shift 2
	out=$(dig @"$addr" -p "$PORT" +tries=1 +time=3 +nocookie "$@" "$zone" AXFR 2>&1)
	case $out in *'Transfer failed'*|*'failed'*) echo 0; return ;; esac
	printf '%s\n' "$out" | grep -v '^;' | grep -c .
}

# bulk PREFIX N: N host records with long TXT data, so a transfer of the zone
# needs several messages (each at most 64 KiB).
bulk() {
	local i f
	for ((i = 0; i < $2; i++)); do
		printf -v f 'filler-%04d-' "$i"
		printf '%s%d A 10.1.%d.%d\n' "$1" "$i" $((i / 256)) $((i % 256))
		printf '%s%d TXT "%s"\n' "$1" "$i" "$f$f$f$f$f$f$f$f"
	done
}

# ---- zones ----------------------------------------------------------------------

# p.test.: served by cairn-auth (primary). REFRESH 86400: NSD would not look
# again for a day on its own.
write_p_zone() {
	local serial=$1 extra=${2:-}
	cat >"$tmp/auth/p.test.zone.new" <<EOF
\$ORIGIN p.test.
\$TTL 300
@       SOA   ns1 hostmaster $serial 86400 3600 604800 300
@       NS    ns1
@       MX    10 mail
ns1     A     $AUTH
mail    A     192.0.2.25
www     A     192.0.2.80
www     AAAA  2001:db8::80
alias   CNAME www
txt     TXT   "replicated by AXFR" "two strings"
_sip._tcp SRV 10 60 5060 www
$extra
EOF
	mv "$tmp/auth/p.test.zone.new" "$tmp/auth/p.test.zone"
}
write_p_zone 1

# k.test.: served by knotd (primary); cairn-auth's copy lives in auth/k.test.zone.
write_k_zone() {
	local serial=$1 extra=${2:-}
	cat >"$tmp/knot/k.test.zone.new" <<EOF
\$ORIGIN k.test.
\$TTL 300
@       SOA   ns1 hostmaster $serial 86400 3600 604800 300
@       NS    ns1
ns1     A     $KNOT
www     A     192.0.2.1
text    TXT   "from knot"
$extra
EOF
	mv "$tmp/knot/k.test.zone.new" "$tmp/knot/k.test.zone"
}
write_k_zone 1

# ---- knotd: primary of k.test., NOTIFY to cairn-auth ---------------------------------

cat >"$tmp/knot/knot.conf" <<EOF
server:
    listen: $KNOT@$PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    rundir: "$tmp/knot"
control:
    listen: "$tmp/knot/knot.sock"
log:
  - target: stderr
    any: info
database:
    storage: "$tmp/knot"
remote:
  - id: cairn
    address: $AUTH@$PORT
    via: $KNOT
acl:
  - id: cairn_xfr
    address: $AUTH
    action: transfer
template:
  - id: default
    storage: "$tmp/knot"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: k.test.
    file: "$tmp/knot/k.test.zone"
    notify: cairn
    acl: cairn_xfr
EOF
knotc -c "$tmp/knot/knot.conf" conf-check >/dev/null || fail "knotc conf-check"
start_bg "$tmp/knot/knotd.log" knotd -c "$tmp/knot/knot.conf"
knot_pid=$LAST_BG_PID
poll_for "knotd serves k.test." 1 serial_of "$KNOT" k.test.

# ---- cairn-auth: primary of p.test., secondary of k.test. ------------------------------

auth_args=(--listen "$AUTH@$PORT" --log-level info
	--zone "p.test.=$tmp/auth/p.test.zone" --notify "p.test.=$NSD@$PORT"
	--notify "p.test.=$AUTH2@$PORT" --allow-transfer "$NSD/32" --allow-transfer "$AUTH2/32"
	--zone "k.test.=$tmp/auth/k.test.zone" --primary "k.test.=$KNOT@$PORT")
start_bg "$tmp/auth/auth.log" "$CAIRN_AUTH" "${auth_args[@]}"
auth_pid=$LAST_BG_PID
wait_udp "$AUTH" "$PORT" p.test.

# ---- NSD: secondary of p.test. ----------------------------------------------------------

cat >"$tmp/nsd/nsd.conf" <<EOF
server:
  ip-address: $NSD@$PORT
  server-count: 1
  do-ip6: no
  verbosity: 2
  database: ""
  zonelistfile: ""
  username: ""
  pidfile: ""
  xfrdfile: ""
  xfrdir: "$tmp/nsd-state"
  zonesdir: "$tmp/nsd"
remote-control:
  control-enable: no
zone:
  name: "p.test."
  zonefile: "p.test.zone"
  request-xfr: $AUTH@$PORT NOKEY
  allow-notify: $AUTH NOKEY
  outgoing-interface: $NSD
EOF
nsd-checkconf "$tmp/nsd/nsd.conf" || fail "nsd-checkconf"
BG_CWD=$tmp/nsd start_bg "$tmp/nsd/nsd.log" nsd -d -c "$tmp/nsd/nsd.conf"
nsd_pid=$LAST_BG_PID

# ---- a second cairn-auth: secondary of p.test. ------------------------------------------

start_bg "$tmp/auth2/auth.log" "$CAIRN_AUTH" --listen "$AUTH2@$PORT" \
	--zone "p.test.=$tmp/auth2/p.test.zone" --primary "p.test.=$AUTH@$PORT"
auth2_pid=$LAST_BG_PID

# ---- 1. cairn-auth primary -> NSD secondary ---------------------------------------------

say "1. cairn-auth primary -> NSD secondary"
poll_for "NSD has p.test. serial 1 from cairn-auth" 1 serial_of "$NSD" p.test.
poll_for "the second cairn-auth has p.test. serial 1" 1 serial_of "$AUTH2" p.test.
[ "$(dig_short "$NSD" www.p.test. A)" = 192.0.2.80 ] || fail "NSD's copy lacks www.p.test. A"
[ "$(dig_short "$NSD" txt.p.test. TXT)" = '"replicated by AXFR" "two strings"' ] ||
	fail "NSD's copy has a different TXT: $(dig_short "$NSD" txt.p.test. TXT)"
[ "$(dig_short "$NSD" _sip._tcp.p.test. SRV)" = "10 60 5060 www.p.test." ] ||
	fail "NSD's copy has a different SRV"
# (cairn-auth logs a transfer once it is sent: NSD may have it first.)
wait_log "$auth_pid" "zone p\.test\.: AXFR to $NSD@"

# The ACL: a client outside allow-transfer is refused, one inside gets the zone
# (10 records + the closing SOA), and IXFR over TCP gets the whole zone too.
n=$(axfr_count "$AUTH" p.test. -b "$OTHER")
[ "$n" = 0 ] || fail "AXFR from $OTHER (not in allow-transfer) was not refused ($n records)"
log_has "$tmp/auth/auth.log" "AXFR refused to $OTHER@" || fail "refusal not logged"
n=$(axfr_count "$AUTH" p.test. -b "$NSD")
[ "$n" = 11 ] || fail "AXFR from $NSD: $n records, wanted 11"
out=$(dig @"$AUTH" -p "$PORT" +tcp +nocookie -b "$NSD" p.test. IXFR=0 2>&1 | grep -v '^;' | grep -c .)
[ "$out" = 11 ] || fail "IXFR over TCP: $out records, wanted the whole zone (11)"

# A new version, big enough for a multi-message transfer: SIGHUP -> reload ->
# NOTIFY -> NSD checks the SOA and fetches.
write_p_zone 2 "new     A     192.0.2.77
$(bulk h 1500)"
kill -HUP "$auth_pid"
poll_for "cairn-auth serves p.test. serial 2 after SIGHUP" 2 serial_of "$AUTH" p.test.
poll_for "NSD fetched serial 2 after NOTIFY" 2 serial_of "$NSD" p.test.
[ "$(dig_short "$NSD" new.p.test. A)" = 192.0.2.77 ] || fail "NSD's copy lacks new.p.test."
[ "$(dig_short "$NSD" h1499.p.test. A)" = 10.1.5.219 ] || fail "NSD's copy lacks h1499.p.test."
poll_for "the second cairn-auth fetched serial 2 after NOTIFY" 2 serial_of "$AUTH2" p.test.
# two empty answers (both servers failing) must not count as agreeing
want=$(dig_short "$AUTH" h1499.p.test. TXT)
[ -n "$want" ] || fail "the primary has no h1499.p.test. TXT"
[ "$(dig_short "$AUTH2" h1499.p.test. TXT)" = "$want" ] ||
	fail "the second cairn-auth's copy differs for h1499.p.test. TXT"
log_has "$tmp/auth2/auth.log" "zone p.test.: NOTIFY from $AUTH@" ||
	fail "the second cairn-auth did not log the NOTIFY"
stop_bg "$auth2_pid" || fail "second cairn-auth exit status $?"
wait_log "$auth_pid" "NOTIFY serial 2 acknowledged by $NSD@$PORT"
wait_log "$auth_pid" \
	"zone p\.test\.: (AXFR|IXFR) to $NSD@[0-9]+: serial 2, 3011 records in [2-9] messages"
say "1. ok: NSD and a cairn-auth secondary followed serial 1 -> 2 on NOTIFY"

# ---- 2. knotd primary -> cairn-auth secondary --------------------------------------------

say "2. knotd primary -> cairn-auth secondary"
poll_for "cairn-auth fetched k.test. serial 1 from knotd" 1 serial_of "$AUTH" k.test.
[ "$(dig_short "$AUTH" text.k.test. TXT)" = '"from knot"' ] || fail "cairn-auth's copy lacks text.k.test."
[ -s "$tmp/auth/k.test.zone" ] || fail "no kept copy of k.test. in $tmp/auth/k.test.zone"
log_has "$tmp/auth/auth.log" "zone k.test.: serial 1 from $KNOT@$PORT" ||
	fail "the transfer was not logged"

# A NOTIFY from an address that is not the primary is refused, and one for a
# zone that is not a secondary here gets NOTAUTH (RFC 1996 4.7).
udpsend=$CAIRN_BIN/cairn-udpsend
if [ -x "$udpsend" ]; then
	# id cafe, opcode NOTIFY + AA, question k.test./SOA/IN (sent from 127.0.0.1).
	echo 'cafe 2400 0001 0000 0000 0000 016b 0474657374 00 0006 0001' >"$tmp/notify-k.hex"
	echo 'cafe 2400 0001 0000 0000 0000 0170 0474657374 00 0006 0001' >"$tmp/notify-p.hex"
	out=$("$udpsend" "$AUTH" "$PORT" "$tmp/notify-k.hex")
	case $out in *rcode=REFUSED*) ;; *) fail "NOTIFY from a stranger: $out" ;; esac
	out=$("$udpsend" "$AUTH" "$PORT" "$tmp/notify-p.hex")
	case $out in *rcode=NOTAUTH*) ;; *) fail "NOTIFY for a zone we are primary of: $out" ;; esac
else
	say "cairn-udpsend not built: NOTIFY refusals not checked"
fi

write_k_zone 2 "fresh   A     192.0.2.99
$(bulk k 1500)"
knotc -c "$tmp/knot/knot.conf" zone-reload k.test. >/dev/null || fail "knotc zone-reload"
poll_for "knotd serves k.test. serial 2" 2 serial_of "$KNOT" k.test.
poll_for "cairn-auth fetched serial 2 after knotd's NOTIFY" 2 serial_of "$AUTH" k.test.
[ "$(dig_short "$AUTH" fresh.k.test. A)" = 192.0.2.99 ] || fail "cairn-auth's copy lacks fresh.k.test."
log_has "$tmp/auth/auth.log" "zone k.test.: NOTIFY from $KNOT@" ||
	fail "cairn-auth did not log knotd's NOTIFY"
[ "$(dig_short "$AUTH" k1499.k.test. A)" = 10.1.5.219 ] || fail "cairn-auth's copy lacks k1499.k.test."
grep -qE "zone k.test.: serial 2 from $KNOT@$PORT \(3006 records, ([2-9]|[1-9][0-9]+) messages" \
	"$tmp/auth/auth.log" || fail "serial 2 did not come as a multi-message AXFR"
grep -q 'fresh.k.test.' "$tmp/auth/k.test.zone" || fail "the kept copy was not updated"
say "2. ok: cairn-auth followed knotd serial 1 -> 2 on NOTIFY"

# ---- 3. restart with the primary down: the kept copy is served ---------------------------

say "3. restart cairn-auth while knotd is down"
stop_bg "$knot_pid" || fail "knotd exit status $?"
stop_bg "$auth_pid" || fail "cairn-auth exit status $? on SIGTERM"
start_bg "$tmp/auth/auth2.log" "$CAIRN_AUTH" "${auth_args[@]}"
auth_pid=$LAST_BG_PID
wait_udp "$AUTH" "$PORT" k.test.
[ "$(serial_of "$AUTH" k.test.)" = 2 ] || fail "after restart k.test. serial is '$(serial_of "$AUTH" k.test.)', not 2"
[ "$(dig_short "$AUTH" fresh.k.test. A)" = 192.0.2.99 ] || fail "the kept copy lacks fresh.k.test."
[ "$(dig_short "$AUTH" k1499.k.test. TXT)" = '"filler-1499-filler-1499-filler-1499-filler-1499-filler-1499-filler-1499-filler-1499-filler-1499-"' ] ||
	fail "the kept copy has k1499.k.test. TXT '$(dig_short "$AUTH" k1499.k.test. TXT)'"
log_has "$tmp/auth/auth2.log" "serving kept serial 2" || fail "start-up did not report the kept copy"
# The failed check against the dead primary does not drop the copy.
wait_log "$auth_pid" 'k\.test\.: (no SOA answer|primary .* gave no SOA|cannot send)'
[ "$(serial_of "$AUTH" k.test.)" = 2 ] || fail "k.test. lost after the failed check"
stop_bg "$auth_pid" || fail "cairn-auth exit status $? on SIGTERM"
stop_bg "$nsd_pid" || true
say "3. ok: kept copy served across a restart"
say "PASS"

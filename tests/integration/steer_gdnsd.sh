#!/usr/bin/env bash
# steer_gdnsd.sh — cross-check of cairn-auth's CDN steering against gdnsd's
# geoip plugin (city-auto mode).
#
# Both servers get the same 9 datacenters (real coordinates on 6 continents,
# one replica each whose address names the datacenter), the same GeoIP
# database (tests/fixtures/mmdb/GeoLite2-City-Test.mmdb), the same operator
# networks and the same zone: cairn-auth with --map tests/fixtures/steer-gdnsd/
# map.json, gdnsd with the config gen.py writes from that same map (one source
# of truth). Every client subnet of tests/fixtures/steer-gdnsd/clients.txt
# (each network of the database with coordinates, IPv4 and IPv6; shorter ECS
# source prefixes; addresses the database does not know; operator networks;
# IPv4 in IPv6 alias forms) plus two queries without ECS is asked for
# www.steer.test A with `dig +subnet=NET` from both; the datacenter of the
# answer is compared, and the ECS scope each returns is reported.
#
# A difference in datacenter passes only when a rule of the ALLOW LIST below
# explains it; any other fails the test. The summary prints N subnets, how
# many are identical, the differences with their explanation, and how often
# the ECS scopes agree. Both merge sibling networks with the same datacenter
# order into one tree leaf, whose depth is the scope: for the clients of kinds
# db, net and none the scopes must agree (the test fails otherwise); for the
# shorter source prefixes and the IPv4-in-IPv6 forms the two trees differ by
# construction and the scopes are only reported.
#
#   CAIRN_STEER_VERBOSE=1   print every client with both answers
#   CAIRN_STEER_SELFTEST=1  a second gdnsd in cairn-auth's place: proves the
#                           machinery (expected: every answer identical)
#   Servers: cairn-auth 127.62.1.1@5300, gdnsd 127.62.1.2@5300; dig binds
#   127.62.1.3 for the queries without ECS (operator network 127.62.0.0/16).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"

need_cmd dig gdnsd awk sha256sum
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip "python3 missing"
SELFTEST=${CAIRN_STEER_SELFTEST:-0}
if [ "$SELFTEST" = 0 ]; then
	need_bin cairn-auth
fi

FIX=$CAIRN_SRC/tests/fixtures/steer-gdnsd
MAP=$FIX/map.json
MMDB=$CAIRN_SRC/tests/fixtures/mmdb/GeoLite2-City-Test.mmdb
CLIENTS=$FIX/clients.txt
CAIRN_ADDR=127.62.1.1
GDNSD_ADDR=127.62.1.2
SRC_ADDR=127.62.1.3
PORT=5300
NAME=www.steer.test
[ -f "$MMDB" ] || fail "missing $MMDB"
[ -f "$CLIENTS" ] || fail "missing $CLIENTS"

# The clients were computed from this database: say so if it changed.
want=$(sed -n '1s/.*mmdb sha256 \([0-9a-f]*\).*/\1/p' "$CLIENTS")
have=$(sha256sum "$MMDB" | cut -d' ' -f1)
[ "$want" = "$have" ] ||
	fail "$MMDB is not the database clients.txt was made from (regenerate with gen.py, see its header)"

tmp=$(make_tmpdir)

# ---------------------------------------------------------------------------
# ALLOW LIST: differences with a known cause. Each rule:
#   allow 'SUBNET-GLOB' CAIRN-DC GDNSD-DC "reason"    a deliberate difference
#   gap   'SUBNET-GLOB' CAIRN-DC GDNSD-DC "reason"    a known gap of cairn-auth,
#                                                     to be fixed (printed as such)
# matching the client subnet (shell glob) and both datacenters (* for any);
# the first matching rule wins. Keep each rule as narrow as the cause; the
# summary counts how often each one fired, and a rule that never fires is
# reported (stale, e.g. the gap was fixed: remove the rule).
# ---------------------------------------------------------------------------
RULES=()
# allow PATTERN CAIRN GDNSD WHY: a difference explained. PATTERN is a glob on the
# client subnet, or a bash regex after '~'; GDNSD EXPECTED means gdnsd must give the
# haversine oracle's datacenter (the column "expected" of clients.txt). Every rule
# must fire, and nothing wider than its reason may match.
allow() { RULES+=("$1|$2|$3|explained|$4"); }
gap() { RULES+=("$1|$2|$3|KNOWN GAP|$4"); }

# gdnsd folds every IPv4-in-IPv6 form to its IPv4 address before the lookup
# (gdnsd-plugin-geoip(8), "IPv4 Compatible Addresses"): v4compat ::a.b.c.d,
# SIIT ::ffff:0:a.b.c.d, the well-known NAT64 prefix 64:ff9b::/96 (RFC 6052),
# Teredo (RFC 4380 §4: the client's IPv4 is the last 32 bits, inverted) and
# 6to4 2002:a.b.c.d::/48 (RFC 3056). cairn-auth looks the ECS address up as it
# is (RFC 7871 §6: the address as sent), in the tree it built from the
# database, which keeps IPv4 at ::ffff:0:0/96 (v4mapped ::ffff:a.b.c.d agrees
# with gdnsd). For the forms below the database itself has no record, so
# cairn-auth gives the default order and gdnsd the IPv4 address's place.
# These forms are rare as ECS addresses: resolvers send the client's own
# address, not a translated one.
allow '::ffff:0:*/128' eu-london EXPECTED "SIIT ::ffff:0:a.b.c.d (RFC 2765): gdnsd folds it to IPv4; the database has no record there (mmdblookup: not found)"
allow '~^::[0-9a-f]{1,4}:[0-9a-f]{1,4}/128$' eu-london EXPECTED "v4compat ::a.b.c.d (RFC 4291, deprecated): gdnsd folds it to IPv4; cairn-auth's tree keeps IPv4 at ::ffff:0:0/96 only"
allow '64:ff9b::*/128' eu-london EXPECTED "NAT64 64:ff9b::/96 (RFC 6052): gdnsd folds it to IPv4; the database has no record there (mmdblookup: not found)"
allow '2001:0:4136:e378:*/128' eu-london EXPECTED "Teredo (RFC 4380): gdnsd takes the client's inverted IPv4 from the last 32 bits; the database's own 2001::/32 alias would take bits 32-63 (the Teredo server 65.54.227.120: not in the database) and cairn-auth's tree leaves that alias out: default order"
# (Teredo with a located IPv4 in the server field, 2001:0:a.b.c.d::/64: the
# database's alias would place it there, but both leave that alias out and
# agree on the default order: no rule.)
# 6to4 2002:a.b.c.d::/48 (RFC 3056) agrees: the database aliases 2002::/16 to
# IPv4, gdnsd folds it, and cairn-auth places it as the IPv4 address inside
# (this was a gap until da03e8b; the ECS scopes agree too). No known gap now;
# a new one is added with gap, never with allow.

# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------
wait_port_free "$CAIRN_ADDR" "$PORT"
wait_port_free "$GDNSD_ADDR" "$PORT"

# start_gdnsd DIR ADDR: gdnsd with its own config dir (config + zones/), run
# and state dirs under DIR; never /etc/gdnsd, never the system service.
start_gdnsd() {
	mkdir -p "$1/zones"
	"$PY" "$FIX/gen.py" gdnsd-config "$MAP" "$MMDB" "$2" "$PORT" "$1" \
		>"$1/config" || fail "gen.py gdnsd-config"
	cp "$FIX/steer.test.gdnsd.zone" "$1/zones/steer.test"
	gdnsd -c "$1" checkconf >"$1.checkconf.log" 2>&1 ||
		{ cat "$1.checkconf.log" >&2; fail "gdnsd checkconf"; }
	start_bg "$1.log" gdnsd -c "$1" start
}

if [ "$SELFTEST" = 0 ]; then
	start_bg "$tmp/cairn-auth.log" "$CAIRN_AUTH" --listen "$CAIRN_ADDR@$PORT" \
		--zone "steer.test.=$FIX/steer.test.zone" --map "$MAP" --threads 1
else
	say "SELFTEST: a second gdnsd in cairn-auth's place"
	start_gdnsd "$tmp/gdnsd2" "$CAIRN_ADDR"
fi
CAIRN_PID=$LAST_BG_PID
start_gdnsd "$tmp/gdnsd" "$GDNSD_ADDR"
GDNSD_PID=$LAST_BG_PID

wait_udp "$CAIRN_ADDR" "$PORT" steer.test.
wait_udp "$GDNSD_ADDR" "$PORT" steer.test.

# ---------------------------------------------------------------------------
# queries: one dig batch per server, one query per client, answers in order
# ---------------------------------------------------------------------------
# clients: SUBNET KIND EXPECTED MARGIN (from clients.txt) plus two without ECS.
grep -v '^#' "$CLIENTS" | awk '{ print $1, $2, $3, $4 }' >"$tmp/clients"
printf 'src:%s src us-east -\n' "$SRC_ADDR" >>"$tmp/clients"
printf 'src0:%s src us-east -\n' "$SRC_ADDR" >>"$tmp/clients"
N=$(wc -l <"$tmp/clients")

# batch ADDR: a dig -f file asking ADDR once per client.
batch() {
	local s
	while read -r s _; do
		case $s in
		src:*) printf -- '-b %s @%s -p %s +norec +nocookie +noall +comments +answer %s A\n' \
			"${s#src:}" "$1" "$PORT" "$NAME" ;;
		src0:*) printf -- '-b %s @%s -p %s +norec +nocookie +noall +comments +answer +subnet=0.0.0.0/0 %s A\n' \
			"${s#src0:}" "$1" "$PORT" "$NAME" ;;
		*) printf -- '-b %s @%s -p %s +norec +nocookie +noall +comments +answer +subnet=%s %s A\n' \
			"$SRC_ADDR" "$1" "$PORT" "$s" "$NAME" ;;
		esac
	done <"$tmp/clients"
}

# parse: one line per answer, in order: "STATUS ADDRESS SCOPE"
# ("-" when absent; "TIMEOUT - -" when no answer came).
parse() {
	awk '
		function flush() { if (open) print st, (a == "" ? "-" : a), (sc == "" ? "-" : sc); open = 0 }
		/^;; Got answer:/ { flush(); open = 1; st = "?"; a = ""; sc = ""; next }
		/no servers could be reached/ { flush(); print "TIMEOUT - -"; next }
		/status:/ { st = $6; sub(/,$/, "", st) }
		/; CLIENT-SUBNET:/ { n = split($3, p, "/"); sc = p[n] }
		$4 == "A" && $3 == "IN" { a = (a == "" ? $5 : a "," $5) }
		END { flush() }'
}

# dc ADDRESS: the datacenter an answer address belongs to (from the map).
declare -A DC_OF=()
while read -r dcname addr; do DC_OF[$addr]=$dcname; done < <("$PY" -c '
import json, sys
for d in json.load(open(sys.argv[1]))["datacenters"]:
	print(d["name"], d["replicas"][0]["address"])' "$MAP")

for who in cairn gdnsd; do
	addr=$CAIRN_ADDR
	[ "$who" = gdnsd ] && addr=$GDNSD_ADDR
	batch "$addr" >"$tmp/$who.batch"
	dig -f "$tmp/$who.batch" >"$tmp/$who.out" 2>&1
	parse <"$tmp/$who.out" >"$tmp/$who.ans"
	got=$(wc -l <"$tmp/$who.ans")
	[ "$got" -eq "$N" ] || fail "$who: $got answers for $N queries (see $tmp/$who.out)"
done
check_alive "$CAIRN_PID" "$GDNSD_PID"

# ---------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------
same=0 diff=0 explained=0 gaps=0 unexplained=0 scope_same=0 scope_n=0 scope_bad=0
cairn_oracle=0 gdnsd_oracle=0
declare -A KIND_N=() KIND_SAME=() KIND_SCOPE=() RULE_HITS=()
report=()
verbose=${CAIRN_STEER_VERBOSE:-0}
dcname() { # STATUS ADDRS -> datacenter name, or a description
	case $1 in
	NOERROR) ;;
	*) echo "$1"; return ;;
	esac
	case $2 in
	-) echo NODATA ;;
	*,*) echo "several:$2" ;;
	*) echo "${DC_OF[$2]:-unknown:$2}" ;;
	esac
}
# rule_matches PATTERN CAIRN GDNSD: does the rule cover this row ($subnet, $c, $g,
# $expect of the loop below)?
rule_matches() {
	if [[ $1 == "~"* ]]; then
		[[ $subnet =~ ${1#\~} ]] || return 1
	else
		# shellcheck disable=SC2053 # globs on purpose
		[[ $subnet == $1 ]] || return 1
	fi
	[ "$c" = "$2" ] || return 1
	if [ "$3" = EXPECTED ]; then [ "$g" = "$expect" ]; else [ "$g" = "$3" ]; fi
}
oracle_bad=() unused=()
exec 3<"$tmp/clients" 4<"$tmp/cairn.ans" 5<"$tmp/gdnsd.ans"
while read -r subnet kind expect margin <&3 && read -r cst caddr cscope <&4 &&
	read -r gst gaddr gscope <&5; do
	c=$(dcname "$cst" "$caddr")
	g=$(dcname "$gst" "$gaddr")
	KIND_N[$kind]=$(( ${KIND_N[$kind]:-0} + 1 ))
	[ "$c" = "$expect" ] && cairn_oracle=$((cairn_oracle + 1))
	[ "$g" = "$expect" ] && gdnsd_oracle=$((gdnsd_oracle + 1))
	if [ "$cscope" != - ] || [ "$gscope" != - ]; then
		scope_n=$((scope_n + 1))
		if [ "$cscope" = "$gscope" ]; then
			scope_same=$((scope_same + 1))
			KIND_SCOPE[$kind]=$(( ${KIND_SCOPE[$kind]:-0} + 1 ))
		else
			case $kind in
			db | net | none)
				# Both merge sibling networks with the same datacenter
				# order into one leaf (gdnsd: the full list, as
				# auto_dc_limit covers every datacenter), so for a
				# plain address the leaf depth must agree.
				scope_bad=$((scope_bad + 1))
				report+=("  SCOPE: $subnet ($kind): cairn-auth /$cscope, gdnsd /$gscope") ;;
			esac
		fi
	fi
	[ "$verbose" = 1 ] &&
		printf '  %-42s %-8s cairn %-16s /%-4s gdnsd %-16s /%-4s expected %s (margin %s km)\n' \
			"$subnet" "$kind" "$c" "$cscope" "$g" "$gscope" "$expect" "$margin" >&2
	# two servers that both gave no answer do not agree: both failed
	[ "$c" = TIMEOUT ] && [ "$g" = TIMEOUT ] && fail "$subnet: neither cairn-auth nor gdnsd answered"
	if [ "$c" = "$g" ]; then
		same=$((same + 1))
		KIND_SAME[$kind]=$(( ${KIND_SAME[$kind]:-0} + 1 ))
		continue
	fi
	diff=$((diff + 1))
	why="" what=""
	for r in "${RULES[@]}"; do
		IFS='|' read -r rglob rc rg rwhat rwhy <<<"$r"
		if rule_matches "$rglob" "$rc" "$rg"; then
			why=$rwhy what=$rwhat
			RULE_HITS[$rglob]=$(( ${RULE_HITS[$rglob]:-0} + 1 ))
			break
		fi
	done
	line=$(printf '%-42s %-8s cairn-auth %-16s gdnsd %-16s expected %-16s margin %s km' \
		"$subnet" "$kind" "$c" "$g" "$expect" "$margin")
	# the independent oracle: cairn-auth may differ from it only where a rule says why
	[ -z "$why" ] && [ "$c" != "$expect" ] && oracle_bad+=("$subnet: cairn-auth $c, oracle $expect")
	if [ -n "$why" ]; then
		if [ "$what" = explained ]; then explained=$((explained + 1)); else gaps=$((gaps + 1)); fi
		report+=("  $what: $line"$'\n'"      why: $why")
	else
		unexplained=$((unexplained + 1))
		report+=("  UNEXPLAINED: $line")
	fi
done
exec 3<&- 4<&- 5<&-

{
	echo
	echo "steer_gdnsd: cairn-auth vs gdnsd $(gdnsd -V 2>&1 | sed -n 's/^gdnsd version \([^ ]*\).*/\1/p'), $NAME A, datacenter of the answer"
	printf '  %-10s %6s %10s %10s\n' kind subnets identical 'same scope'
	for k in db db-short none net alias src; do
		[ -n "${KIND_N[$k]:-}" ] || continue
		printf '  %-10s %6d %10d %10d\n' "$k" "${KIND_N[$k]}" "${KIND_SAME[$k]:-0}" "${KIND_SCOPE[$k]:-0}"
	done
	printf '  %-10s %6d %10d %10d\n' total "$N" "$same" "$scope_same"
	echo "  N=$N subnets, $same identical, $diff different ($explained explained, $gaps known gap(s) of cairn-auth, $unexplained unexplained)"
	echo "  agreement with the haversine expectation of gen.py: cairn-auth $cairn_oracle/$N, gdnsd $gdnsd_oracle/$N"
	echo "  ECS scope: the same in $scope_same of $scope_n answers carrying ECS; $scope_bad differ where they must agree (kinds db, net, none)"
	if [ "${#report[@]}" -gt 0 ]; then
		echo "  differences:"
		printf '%s\n' "${report[@]}"
	fi
	for r in "${RULES[@]}"; do
		[ "$SELFTEST" = 0 ] || break
		IFS='|' read -r rglob _ _ _ _ <<<"$r"
		[ -n "${RULE_HITS[$rglob]:-}" ] || unused+=("$rglob")
	done
} >&2

# The scopes, side by side, for the record when they differ (first 15).
if [ "$scope_same" -lt "$scope_n" ]; then
	echo "  ECS scope differences (subnet kind cairn gdnsd), first 15:" >&2
	paste -d' ' "$tmp/clients" "$tmp/cairn.ans" "$tmp/gdnsd.ans" |
		awk '$7 != $10 { printf "    %-42s %-8s /%s /%s\n", $1, $2, $7, $10; if (++n == 15) exit }' >&2
fi

if [ "$SELFTEST" = 0 ]; then
	stop_bg "$CAIRN_PID" || fail "cairn-auth exited with status $? on SIGTERM"
else
	stop_bg "$CAIRN_PID" || true
	[ "$diff" -eq 0 ] || fail "SELFTEST: gdnsd differs from gdnsd"
fi
stop_bg "$GDNSD_PID" || true
[ "$same" -gt 0 ] || fail "no identical answer at all"
[ "$unexplained" -eq 0 ] || fail "$unexplained difference(s) not in the allow list"
[ "$scope_bad" -eq 0 ] || fail "$scope_bad ECS scope(s) differ for plain addresses"
if [ "$SELFTEST" = 0 ]; then
	[ "${#unused[@]}" -eq 0 ] || fail "allow rule(s) that explain nothing (stale, or wider than their reason): ${unused[*]}"
	[ "${#oracle_bad[@]}" -eq 0 ] ||
		fail "cairn-auth differs from the haversine oracle with no rule saying why: ${oracle_bad[*]}"
fi
say "PASS: $N subnets, $same identical, $explained explained difference(s), $gaps known gap(s)"

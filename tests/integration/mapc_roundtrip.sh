#!/usr/bin/env bash
# mapc_roundtrip.sh — cairn-mapc compiles tests/fixtures/mapc/networks.json and
# libmaxminddb's own tool, mmdblookup (Debian mmdb-bin), reads the result:
# field values for IPv4, IPv4-mapped and IPv6 addresses (nested networks: the
# most specific wins), addresses in no network are not found, --verbose shows
# the metadata; the same input and SOURCE_DATE_EPOCH give the same bytes; bad
# input exits 1 with "FILE: path: reason" and leaves no output file (nor an
# earlier good one damaged). No network, no ports.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"

need_cmd mmdblookup cmp
need_bin cairn-mapc

FIX=$CAIRN_SRC/tests/fixtures/mapc/networks.json
tmp=$(make_tmpdir)
out=$tmp/map.mmdb
export SOURCE_DATE_EPOCH=1700000000

summary=$("$CAIRN_MAPC" "$FIX" -o "$out") || fail "cairn-mapc failed on $FIX"
say "$summary"
case $summary in
"$out: 7 networks, 7 distinct records, "*" nodes, record size 24, "*" bytes") ;;
*) fail "unexpected summary: $summary" ;;
esac
[ -f "$out" ] || fail "no output file"
[ ! -e "$out.tmp" ] || fail "$out.tmp left behind"

# value ADDR PATH...: the value mmdblookup prints, without indentation, type
# and quotes; empty when the address or the path has no data.
value() {
	local ip=$1
	shift
	mmdblookup -f "$out" -i "$ip" "$@" 2>/dev/null |
		sed -n 's/^ *"\{0,1\}\([^"<]*[^" <]\)"\{0,1\} <[a-z0-9_]*>$/\1/p' | head -n 1
}

# expect ADDR WANT PATH...: the field at PATH for ADDR is WANT ("" = absent).
checks=0
expect() {
	local ip=$1 want=$2 got
	shift 2
	got=$(value "$ip" "$@")
	[ "$got" = "$want" ] || fail "$ip $*: got '$got', want '$want'"
	checks=$((checks + 1))
}

# expect_none ADDR: no record at all for ADDR.
expect_none() {
	local err
	err=$(mmdblookup -f "$out" -i "$1" 2>&1 >/dev/null)
	case $err in
	*"Could not find an entry"*) ;;
	*) fail "$1: expected no entry, mmdblookup said: $err" ;;
	esac
	checks=$((checks + 1))
}

# the /16
expect 10.1.0.1 59.330000 location latitude
expect 10.1.0.1 18.060000 location longitude
expect 10.1.0.1 SE country iso_code
expect 10.1.0.1 EU continent code
expect 10.1.255.254 Stockholm city names en
expect 10.1.0.1 "" datacenter
# the /24 inside it: its own record only (no location)
expect 10.1.2.1 eu-london datacenter
expect 10.1.2.127 eu-london datacenter
expect 10.1.2.1 "" location latitude
expect 10.1.2.1 "" city names en
# the /25 inside the /24
expect 10.1.2.128 London city names en
expect 10.1.2.255 51.510000 location latitude
expect 10.1.2.200 -0.130000 location longitude
expect 10.1.2.200 GB country iso_code
expect 10.1.2.200 eu-london datacenter
# IPv4-mapped: the same records
expect ::ffff:10.1.2.200 London city names en
expect ::ffff:10.1.0.1 59.330000 location latitude
expect ::ffff:10.1.2.1 eu-london datacenter
expect ::ffff:192.0.2.9 Paris city names en
# a separate /24 and a /32
expect 192.0.2.0 Paris city names en
expect 192.0.2.255 2.350000 location longitude
expect 198.51.100.7 us-west datacenter
# IPv6: /48 inside /32
expect 2001:db8::1 JP country iso_code
expect 2001:db8:ffff::1 139.690000 location longitude
expect 2001:db8:1::9 "San Francisco" city names en
expect 2001:db8:1:ffff::1 -122.420000 location longitude
expect 2001:db8:1::9 NA continent code
expect 2001:db8:1::9 us-west datacenter
# outside every network
expect_none 10.0.255.255
expect_none 10.2.0.0
expect_none 198.51.100.6
expect_none 198.51.100.8
expect_none ::ffff:198.51.100.8
expect_none 2001:db9::
expect_none 2001:db7:ffff:ffff::1
expect_none 8.8.8.8
say "$checks lookups as expected"

# the metadata, as libmaxminddb reports it
meta=$(mmdblookup --verbose -f "$out" -i 10.1.0.1 2>&1)
for want in "Type:          cairn-Map" "IP version:    IPv6" "Record size:   24 bits" \
	"Binary format: 2.0" "Build epoch:   1700000000 " "Languages:     en" \
	"en:   cairn-mapc integration fixture"; do
	case $meta in
	*"$want"*) ;;
	*) fail "metadata lacks '$want': $meta" ;;
	esac
done
nodes=$(printf '%s\n' "$meta" | sed -n 's/^ *Node count: *\([0-9]*\)$/\1/p')
case $summary in
*", $nodes nodes,"*) ;;
*) fail "node count $nodes is not the summary's: $summary" ;;
esac

# reproducible: the same input and epoch give the same bytes
"$CAIRN_MAPC" "$FIX" -o "$tmp/again.mmdb" >/dev/null || fail "second compile failed"
cmp -s "$out" "$tmp/again.mmdb" || fail "two compiles of the same input differ"

# the other record layouts, asked for with --record-size
for rs in 28 32; do
	"$CAIRN_MAPC" --record-size "$rs" "$FIX" -o "$tmp/rs$rs.mmdb" >/dev/null || fail "--record-size $rs"
	mmdblookup --verbose -f "$tmp/rs$rs.mmdb" -i 10.1.2.200 2>&1 | grep -q "Record size:   $rs bits" ||
		fail "--record-size $rs: not in the metadata"
	got=$(mmdblookup -f "$tmp/rs$rs.mmdb" -i ::ffff:10.1.2.200 city names en | sed -n 's/^ *"\(.*\)" <utf8_string>$/\1/p')
	[ "$got" = London ] || fail "--record-size $rs: got '$got'"
	got=$(mmdblookup -f "$tmp/rs$rs.mmdb" -i 2001:db8:1::9 datacenter | sed -n 's/^ *"\(.*\)" <utf8_string>$/\1/p')
	[ "$got" = us-west ] || fail "--record-size $rs: got '$got'"
done
"$CAIRN_MAPC" --record-size 30 "$FIX" -o "$tmp/rs30.mmdb" >/dev/null 2>&1 && fail "--record-size 30 accepted"
[ ! -e "$tmp/rs30.mmdb" ] || fail "output written for --record-size 30"

# bad input: exit 1, the message, no output; an existing output is kept intact
bad=$tmp/bad.json
printf '{"networks": {"10.1.2.3/16": {"country": "SE"}}}\n' >"$bad"
cp "$out" "$tmp/keep.mmdb"
err=$("$CAIRN_MAPC" "$bad" -o "$out" 2>&1 >/dev/null)
rc=$?
[ "$rc" = 1 ] || fail "bad input: exit status $rc, want 1"
[ "$err" = "$bad: networks[\"10.1.2.3/16\"]: host bits are set (the network is 10.1.0.0/16)" ] ||
	fail "bad input message: $err"
cmp -s "$out" "$tmp/keep.mmdb" || fail "the old output was changed by a failed compile"
[ ! -e "$out.tmp" ] || fail "$out.tmp left behind after a failure"

printf '{"networks": {\n  "10.0.0.0/8": { "country": "SE" }\n' >"$bad"
err=$("$CAIRN_MAPC" "$bad" -o "$tmp/new.mmdb" 2>&1 >/dev/null)
rc=$?
[ "$rc" = 1 ] || fail "syntax error: exit status $rc, want 1"
case $err in
"$bad:3:0: "*) ;;
*) fail "syntax error message: $err" ;;
esac
[ ! -e "$tmp/new.mmdb" ] && [ ! -e "$tmp/new.mmdb.tmp" ] || fail "output written for bad input"

printf '{"networks": {"10.0.0.0/8": {"lat": 1}}, "nets": {}}\n' >"$bad"
err=$("$CAIRN_MAPC" "$bad" -o "$tmp/new.mmdb" 2>&1 >/dev/null)
[ "$err" = "$bad: unknown key \"nets\"" ] || fail "unknown key message: $err"
[ ! -e "$tmp/new.mmdb" ] || fail "output written for bad input"

# libmaxminddb refuses build_epoch 0: SOURCE_DATE_EPOCH=0 is an error, not a broken file
SOURCE_DATE_EPOCH=0 "$CAIRN_MAPC" "$FIX" -o "$tmp/zero.mmdb" >/dev/null 2>&1 &&
	fail "SOURCE_DATE_EPOCH=0 accepted"
[ ! -e "$tmp/zero.mmdb" ] || fail "output written with build_epoch 0"

# usage errors
"$CAIRN_MAPC" "$FIX" >/dev/null 2>&1 && fail "no -o accepted"
err=$("$CAIRN_MAPC" "$tmp/missing.json" -o "$tmp/new.mmdb" 2>&1 >/dev/null) &&
	fail "missing input accepted"
case $err in
"$tmp/missing.json: "*) ;;
*) fail "missing input message: $err" ;;
esac
"$CAIRN_MAPC" "$FIX" -o "$tmp/no/such/dir/x.mmdb" >/dev/null 2>&1 && fail "unwritable output accepted"
"$CAIRN_MAPC" --version | grep -q '^cairn-mapc ' || fail "--version"
"$CAIRN_MAPC" --help | grep -q -- '--output' || fail "--help"
say "PASS"

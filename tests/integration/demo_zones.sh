#!/usr/bin/env bash
# The demo data can't rot: every zone named in zones/demo.servers passes
# `cairn-auth --check-zone`, and every *.zone file in zones/ is named there.
set -u
. "$(dirname "$0")/lib/common.sh"
need_bin cairn-auth

zones=$CAIRN_SRC/zones
layout=$zones/demo.servers
[ -f "$layout" ] || fail "missing $layout"
checked=0
declare -A named=()
while read -r _ _ spec; do
	for item in $spec; do
		case $item in
		*=*)
			origin=${item%%=*} file=${item#*=}
			named[$file]=1
			out=$("$CAIRN_AUTH" --check-zone "$origin" "$zones/$file" 2>&1) ||
				fail "demo zone $origin ($file): $out"
			checked=$((checked + 1))
			;;
		esac
	done
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$layout")
for f in "$zones"/*.zone; do
	[ -n "${named[$(basename "$f")]:-}" ] || fail "$(basename "$f") is not served by any line of demo.servers"
done
[ "$checked" -gt 0 ] || fail "no zone checked"

# The demo's steering map (scripts/demo gives it to the server of cdn.test) loads with
# that zone and steers: --explain places a London client and a Changchun client in
# different datacenters.
map=$CAIRN_SRC/maps/demo.json
for client in 81.2.69.142 175.16.199.0/24; do
	out=$("$CAIRN_AUTH" --explain www.cdn.test "$client" \
		--zone "cdn.test=$zones/cdn.test.zone" --map "$map" 2>&1) ||
		fail "cairn-auth --explain www.cdn.test $client with maps/demo.json: $out"
	# The first "answer:" line is the A query's: "answer: ADDR (DC), ...".
	ans=$(printf '%s\n' "$out" | grep -m 1 '^answer:')
	case $client in
	81.*) want='127.54.3.1 (eu-london)' ;;
	*) want='127.54.3.3 (ap-tokyo)' ;;
	esac
	case $ans in
	*"$want"*) ;;
	*) fail "maps/demo.json: $client should get $want: $out" ;;
	esac
done
# The map's health checks ask the demo's edges (scripts/demo starts one cairn-edge per
# datacenter on 127.54.3.1-5 port 80): every replica is checked by HTTP on its own address's
# /health, and the replicas are exactly the EDGES of scripts/demo.
edges=$(sed -n 's/^EDGES=(\(.*\))$/\1/p' "$CAIRN_SRC/scripts/demo")
[ -n "$edges" ] || fail "no EDGES=(...) line in scripts/demo"
# shellcheck disable=SC2086 # the edges are separate arguments
out=$(python3 - "$map" $edges <<-'EOF' 2>&1
	import json, sys
	m = json.load(open(sys.argv[1]))
	edges, seen = sys.argv[2:], []
	for dc in m["datacenters"]:
	    for r in dc["replicas"]:
	        a = r["address"]
	        want = "http://%s:80/health" % a
	        got = r.get("check", {}).get("http")
	        if got != want:
	            sys.exit("%s (%s): check %r, not %r" % (a, dc["name"], got, want))
	        seen.append(a)
	if sorted(seen) != sorted(edges):
	    sys.exit("replicas %s are not the edges of scripts/demo %s" % (seen, edges))
	print(len(seen))
EOF
) || fail "maps/demo.json: $out"
say "PASS: $checked demo zone loads checked, maps/demo.json steers, its $out HTTP checks ask the demo's edges' /health"

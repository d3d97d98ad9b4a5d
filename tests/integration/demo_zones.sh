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
say "PASS: $checked demo zone loads checked"

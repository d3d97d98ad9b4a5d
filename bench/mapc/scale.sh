#!/usr/bin/env bash
# scale.sh -- cairn-mapc on large random maps: time, memory, file size, and
# spot checks of lookups with mmdblookup against the record the most specific
# network must give (computed by gen_networks.py, independently of cairn-mapc).
#   [MAPC_SCALE_MODES="mixed v6-hosts"] bench/mapc/scale.sh BUILD_BIN_DIR [N]
set -eu
BIN=$1
N=${2:-200000}
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/cairn-mapc-scale.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1700000000
for mode in ${MAPC_SCALE_MODES:-mixed v6-hosts}; do
	extra=""
	[ "$mode" = v6-hosts ] && extra=--v6-hosts
	python3 "$HERE/gen_networks.py" "$N" 7 "$tmp/$mode.json" $extra --checks "$tmp/$mode.chk" --nchecks 300
	in_size=$(stat -c %s "$tmp/$mode.json")
	/usr/bin/time -f "%e s elapsed, %M KB max RSS" -o "$tmp/time" \
		"$BIN/cairn-mapc" "$tmp/$mode.json" -o "$tmp/$mode.mmdb" >"$tmp/summary"
	echo "$mode: input $in_size bytes of JSON; $(cat "$tmp/summary"); $(cat "$tmp/time")"
	ok=0 bad=0
	while IFS='|' read -r ip cc dc lat; do
		got_cc=$(mmdblookup -f "$tmp/$mode.mmdb" -i "$ip" country iso_code 2>/dev/null | sed -n 's/^ *"\(.*\)" <utf8_string>$/\1/p')
		got_dc=$(mmdblookup -f "$tmp/$mode.mmdb" -i "$ip" datacenter 2>/dev/null | sed -n 's/^ *"\(.*\)" <utf8_string>$/\1/p')
		got_lat=$(mmdblookup -f "$tmp/$mode.mmdb" -i "$ip" location latitude 2>/dev/null | sed -n 's/^ *\([-0-9.]*\) <double>$/\1/p')
		if [ "$got_cc" = "$cc" ] && [ "$got_dc" = "$dc" ] && [ "$got_lat" = "$lat" ]; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "  MISMATCH $ip: want '$cc' '$dc' '$lat', got '$got_cc' '$got_dc' '$got_lat'"
		fi
	done <"$tmp/$mode.chk"
	echo "$mode: spot checks $ok right, $bad wrong"
	SOURCE_DATE_EPOCH=1700000000 "$BIN/cairn-mapc" "$tmp/$mode.json" -o "$tmp/$mode.2.mmdb" >/dev/null
	cmp -s "$tmp/$mode.mmdb" "$tmp/$mode.2.mmdb" && echo "$mode: rebuilt byte-identical" ||
		echo "$mode: REBUILD DIFFERS"
done

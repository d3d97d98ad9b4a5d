# tests/integration/lib/dnsdiff.sh — run one query against two servers and
# classify the differences between their answers. Sourced by
# auth_diff_nsd.sh; usable by any test comparing a cairn program with a peer.
#
# Needs lib/common.sh sourced first (for fail/say).
#
# A query is written "NAME TYPE OPTS", OPTS a comma-separated list of:
#   udp | tcp           transport (default udp)
#   edns=N | noedns     EDNS0 with payload size N (RFC 6891), or none
#   rd                  set RD (default: clear)
#   do                  set the DO bit (RFC 3225)
#   ch                  class CH instead of IN
#   cd | ad             set the CD / AD bit (RFC 4035 §3.2.2, RFC 6840 §5.7)
#   opcode=N            send opcode N (dig +opcode)
#   ednsver=N           EDNS version N (RFC 6891 §6.1.3)
#   ednsopt=CODE:HEX    add an EDNS option
#   subnet=ADDR/LEN     add an ECS option (RFC 7871)
#   cookie | nsid       add a client COOKIE (RFC 7873) / NSID request (RFC 5001)
# Options are applied in order, so "edns=1232,ednsver=1" works.
# e.g. "WwW.diff.test. A udp,edns=1232" or "big.diff.test. A tcp,noedns".
#
# dnsdiff_query ADDR PORT QUERY OUTFILE   run dig and write the normalised
#                                         answer (lib/dignorm.awk) to OUTFILE
# dnsdiff_classify TEST REF               print one "difference category" per
#                                         line (nothing when they are equal)
#
# Categories (TEST is the program under test, REF the reference peer):
#   timeout-test / timeout-ref   one side did not answer
#   opcode status flags edns opt warn question   a header/pseudo-section field
#   ede:C1,C2          REF sends Extended DNS Errors with codes C1,C2 (RFC 8914),
#                      TEST none
#   ede                the Extended DNS Error lines differ otherwise
#   opt-ecs0           TEST alone echoes the ECS option, with SCOPE 0 (RFC 7871)
#   edns-size          only the OPT record's advertised UDP size differs
#   edns               the OPT record's presence, version or flags differ
#   S-order            section S (an, ns, ar) has the same RRs in another
#                      RRset order
#   S-case             section S has the same RRs but some names differ in
#                      case (outside the question; e.g. NSD compresses zone
#                      names against the query name and so copies its case)
#   S-missing:T1,T2    REF has RRs of types T1,T2 in S that TEST lacks
#   S-extra:T1,T2      TEST has RRs of types T1,T2 in S that REF lacks
#
# dnsdiff_allowed CATEGORY QUERY     true when an allow rule explains it;
#   rules are registered with
#     dnsdiff_allow CATEGORY-PATTERN QUERY-GLOB REASON
#   CATEGORY-PATTERN is a category name, or "S-missing:TYPES" / "S-extra:TYPES"
#   meaning "only RRs of these types" (a subset test), or "S-missing:*".
#   QUERY-GLOB is a bash glob matched against the query with its name in
#   lower case, e.g. '* any *'. DNSDIFF_RULE is set to the rule's index and
#   dnsdiff_reason prints its reason.

DNSDIFF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DNSDIFF_CATS=()
DNSDIFF_GLOBS=()
DNSDIFF_REASONS=()

dnsdiff_query() {
	local addr=$1 port=$2 q=$3 out=$4 name type opts o class=IN
	# Two tries: one lost datagram on a busy machine is not a difference.
	local args=(+tries=2 +time=2 +nocookie +noadflag +ignore +noidnin +noidnout
		+noall +comments +question +answer +authority +additional +norec)
	read -r name type opts <<<"$q"
	local IFS=,
	for o in ${opts:-udp}; do
		case $o in
		udp) args+=(+notcp) ;;
		tcp) args+=(+tcp) ;;
		noedns) args+=(+noedns) ;;
		edns=*) args+=(+edns=0 "+bufsize=${o#edns=}") ;;
		rd) args+=(+rec) ;;
		do) args+=(+dnssec) ;;
		ch) class=CH ;;
		cd) args+=(+cdflag) ;;
		ad) args+=(+adflag) ;;
		opcode=*) args+=("+opcode=${o#opcode=}") ;;
		ednsver=*) args+=("+edns=${o#ednsver=}") ;;
		ednsopt=*) args+=("+ednsopt=${o#ednsopt=}") ;;
		subnet=*) args+=("+subnet=${o#subnet=}") ;;
		cookie) args+=(+cookie) ;;
		nsid) args+=(+nsid) ;;
		*) fail "unknown query option '$o' in '$q'" ;;
		esac
	done
	unset IFS
	# Positional NAME CLASS TYPE: dig mis-parses "-c CLASS" before the name.
	dig @"$addr" -p "$port" "${args[@]}" "$name" "$class" "$type" 2>&1 |
		awk -f "$DNSDIFF_DIR/dignorm.awk" >"$out"
}

# section_lines FILE SEC: the RR lines of one section, prefix removed.
section_lines() { sed -n "s/^$2 //p" "$1"; }

# types_of: read RR lines on stdin, print their unique types comma-joined.
types_of() { awk '{ print $4 }' | sort -u | paste -sd, -; }

dnsdiff_classify() {
	local t=$1 r=$2 f s S a b miss extra
	# A silent reference is always reported: two timeouts are not agreement.
	if grep -qx 'H timeout' "$r"; then
		echo timeout-ref
		return 0
	fi
	grep -qx 'H timeout' "$t" && { echo timeout-test; return 0; }
	for f in opcode status flags; do
		[ "$(grep "^H $f " "$t")" = "$(grep "^H $f " "$r")" ] || echo "$f"
	done
	# The advertised UDP size alone is "edns-size"; presence, version,
	# flags of the OPT record are "edns".
	if [ "$(grep '^E ' "$t")" != "$(grep '^E ' "$r")" ]; then
		if [ "$(grep '^E ' "$t" | sed 's/; udp: [0-9]*$//')" = \
			"$(grep '^E ' "$r" | sed 's/; udp: [0-9]*$//')" ]; then
			echo edns-size
		else
			echo edns
		fi
	fi
	# The OPT pseudo-section. Extended DNS Errors (RFC 8914) are told apart
	# from the other lines, and an ECS option that TEST alone echoes with
	# SCOPE 0 from the rest, so that a rule can name exactly those.
	local to ro te re
	to=$(grep '^O ' "$t" | grep -v '^O ; EDE:')
	ro=$(grep '^O ' "$r" | grep -v '^O ; EDE:')
	if [ "$to" != "$ro" ]; then
		if [ "$(grep -v '^O ; CLIENT-SUBNET: .*/0$' <<<"$to")" = "$ro" ] &&
			! grep -q '^O ; CLIENT-SUBNET:' <<<"$ro"; then
			echo opt-ecs0
		else
			echo opt
		fi
	fi
	te=$(grep '^O ; EDE:' "$t")
	re=$(grep '^O ; EDE:' "$r")
	if [ "$te" != "$re" ]; then
		if [ -z "$te" ]; then
			echo "ede:$(sed 's/^O ; EDE: \([0-9]*\).*/\1/' <<<"$re" | sort -u | paste -sd, -)"
		else
			echo ede
		fi
	fi
	[ "$(grep '^W ' "$t")" = "$(grep '^W ' "$r")" ] || echo warn
	[ "$(grep '^Q ' "$t")" = "$(grep '^Q ' "$r")" ] || echo question
	for S in AN NS AR; do
		s=$(printf '%s' "$S" | tr A-Z a-z)
		a=$(section_lines "$t" "$S")
		b=$(section_lines "$r" "$S")
		[ "$a" = "$b" ] && continue
		if [ "$(sort <<<"$a")" = "$(sort <<<"$b")" ]; then
			echo "$s-order"
			continue
		fi
		if [ "$(tr A-Z a-z <<<"$a" | sort)" = "$(tr A-Z a-z <<<"$b" | sort)" ]; then
			echo "$s-case"
			continue
		fi
		miss=$(comm -13 <(sort <<<"$a") <(sort <<<"$b") | sed '/^$/d' | types_of)
		extra=$(comm -23 <(sort <<<"$a") <(sort <<<"$b") | sed '/^$/d' | types_of)
		[ -n "$miss" ] && echo "$s-missing:$miss"
		[ -n "$extra" ] && echo "$s-extra:$extra"
	done
	return 0
}

dnsdiff_allow() {
	DNSDIFF_CATS+=("$1")
	DNSDIFF_GLOBS+=("$2")
	DNSDIFF_REASONS+=("$3")
}

dnsdiff_reason() { printf '%s' "${DNSDIFF_REASONS[$1]}"; }

# subset_of LIST ALLOWED: true when every comma item of LIST is in ALLOWED.
subset_of() {
	local x
	[ "$2" = '*' ] && return 0
	for x in ${1//,/ }; do
		case ",$2," in *",$x,"*) ;; *) return 1 ;; esac
	done
}

dnsdiff_allowed() {
	local cat=$1 q=$2 i p name rest
	read -r name rest <<<"$q"
	q="$(printf '%s' "$name" | tr A-Z a-z) $rest"
	for i in "${!DNSDIFF_CATS[@]}"; do
		p=${DNSDIFF_CATS[$i]}
		# shellcheck disable=SC2053 # the glob is intended
		[[ $q == ${DNSDIFF_GLOBS[$i]} ]] || continue
		case $p in
		*:*)
			[ "${cat%%:*}" = "${p%%:*}" ] || continue
			subset_of "${cat#*:}" "${p#*:}" || continue
			;;
		*) [ "$cat" = "$p" ] || continue ;;
		esac
		# shellcheck disable=SC2034 # read by the caller
		DNSDIFF_RULE=$i
		return 0
	done
	return 1
}

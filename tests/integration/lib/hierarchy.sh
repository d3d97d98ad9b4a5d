# tests/integration/lib/hierarchy.sh — the small DNS tree the resolver tests walk:
# a root zone on one cairn-auth delegating test. to a second cairn-auth, the root hints
# naming the first, and a cairn-resolver started on those hints.
#
# Source it after common.sh (bash only):
#
#   . "$(dirname "$0")/lib/common.sh"
#   . "$(dirname "$0")/lib/hierarchy.sh"
#   hier_need python3                               # skip (77) unless all is there
#   start_hierarchy "$tmp" $PORT $ROOT $TLD <<EOF    # the records of test. below its apex
#   leaf            NS  ns1.leaf
#   ns1.leaf        A   $LEAF
#   EOF
#   pid_root=$HIER_PID_ROOT pid_tld=$HIER_PID_TLD
#   start_resolver "$tmp" $RSV $PORT $METRICS_PORT [EXTRA ARGS...]
#   pid_rsv=$HIER_PID_RSV
#   out=$(q www.leaf.test A +noall +comments +answer)   # ask the resolver
#   [ "$(status_of "$out")" = NOERROR ] ...
#   metric_get n cairn_resolver_joined_total            # read one of its counters
#   ...
#   stop_resolver "$tmp"                                # SIGTERM, clean exit, no sanitizer report
#   stop_hierarchy "$tmp"                               # the same for its cairn-auth servers
#
# Why every server shares one port: the iterator asks each server on the port of the
# first root hint (--upstream-port), so all of the tree lives on PORT, on distinct
# loopback addresses given by the test (each test its own range).

[ -n "${CAIRN_HIERARCHY_SH:-}" ] && return 0
CAIRN_HIERARCHY_SH=1

# Set by start_hierarchy / start_resolver: the pids of the root and test. servers and
# of the resolver; the resolver's address, port and metrics port (read by q and metric).
HIER_PID_ROOT=
HIER_PID_TLD=
HIER_PID_RSV=
HIER_RSV=
HIER_PORT=
HIER_METRICS_PORT=
# The dig timeout of q (seconds).
: "${HIER_QUERY_TIME:=15}"

# hier_need [CMD...]: skip the test (exit 77) unless dig, curl and every CMD are on
# PATH and cairn-auth and cairn-resolver are built; sets CAIRN_AUTH and CAIRN_RESOLVER.
hier_need() {
	need_cmd dig curl "$@"
	need_bin cairn-auth
	need_bin cairn-resolver
}

# start_hierarchy DIR PORT ROOT TLD [ARGS...]: write DIR/root.zone (. on ROOT,
# delegating test. to ns1.test. at TLD), DIR/root.hints (A.ROOT-SERVERS.TEST. at ROOT)
# and DIR/test.zone (its SOA, NS and the two name server addresses, then the records
# read from stdin); start cairn-auth for . on ROOT@PORT and for test. on TLD@PORT (ARGS
# are more arguments for the latter, e.g. --zone sub.test.=FILE); wait until both
# answer. Sets HIER_PID_ROOT and HIER_PID_TLD. Not inside $(...).
start_hierarchy() {
	local dir=$1 port=$2 root=$3 tld=$4
	shift 4
	cat >"$dir/root.zone" <<-EOF
		\$ORIGIN .
		\$TTL 3600
		.                    SOA a.root-servers.test. hostmaster.test. 1 3600 600 86400 300
		.                    NS  a.root-servers.test.
		test.                NS  ns1.test.
		ns1.test.            A   $tld
		a.root-servers.test. A   $root
	EOF
	{
		cat <<-EOF
			\$ORIGIN test.
			\$TTL 3600
			@               SOA ns1.test. hostmaster.test. 1 3600 600 86400 300
			@               NS  ns1
			ns1             A   $tld
			a.root-servers  A   $root
		EOF
		cat
	} >"$dir/test.zone"
	cat >"$dir/root.hints" <<-EOF
		; the test hierarchy's root
		.                     3600000  NS  A.ROOT-SERVERS.TEST.
		A.ROOT-SERVERS.TEST.  3600000  A   $root
	EOF
	start_bg "$dir/root.log" "$CAIRN_AUTH" --listen "$root@$port" --zone .="$dir/root.zone"
	HIER_PID_ROOT=$LAST_BG_PID
	start_bg "$dir/test.log" "$CAIRN_AUTH" --listen "$tld@$port" --zone test.="$dir/test.zone" "$@"
	HIER_PID_TLD=$LAST_BG_PID
	wait_udp "$root" "$port" .
	wait_udp "$tld" "$port" test.
}

# start_resolver DIR ADDR PORT METRICS_PORT [ARGS...]: start cairn-resolver on
# ADDR@PORT with the hints DIR/root.hints, every upstream asked on PORT, IPv4 only,
# metrics on ADDR@METRICS_PORT, log DIR/resolver.log, plus ARGS; wait for its 'ready'
# line. Sets HIER_PID_RSV, HIER_RSV, HIER_PORT, HIER_METRICS_PORT. Not inside $(...).
start_resolver() {
	local dir=$1
	HIER_RSV=$2 HIER_PORT=$3 HIER_METRICS_PORT=$4
	shift 4
	start_bg "$dir/resolver.log" "$CAIRN_RESOLVER" --listen "$HIER_RSV@$HIER_PORT" \
		--root-hints "$dir/root.hints" --upstream-port "$HIER_PORT" --no-ipv6 \
		--metrics "$HIER_RSV@$HIER_METRICS_PORT" "$@"
	HIER_PID_RSV=$LAST_BG_PID
	wait_log "$HIER_PID_RSV" 'ready'
}

# q NAME TYPE [DIGOPTS...]: ask the resolver (recursion desired), one try of
# HIER_QUERY_TIME seconds; prints dig's output (and its errors).
q() {
	local name=$1 type=$2
	shift 2
	dig @"$HIER_RSV" -p "$HIER_PORT" +tries=1 +time="$HIER_QUERY_TIME" +nocookie "$@" "$name" "$type" 2>&1
}

# status_of DIG_OUTPUT: the rcode of the first header in it (NOERROR, SERVFAIL...).
status_of() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$1" | head -n1; }

# metric_get VAR NAME: set VAR to the value of the resolver's metric NAME (with its
# labels, exactly as exposed). The test fails when the endpoint does not answer or does
# not expose NAME: a renamed or vanished counter must not read as 0.
metric_get() {
	local value
	value=$(curl -s --max-time 5 "http://$HIER_RSV:$HIER_METRICS_PORT/metrics" |
		awk -v m="$2" '$1 == m { print $2; found = 1 } END { exit !found }') ||
		fail "metric $2 is not exposed"
	printf -v "$1" '%s' "$value"
}

# stop_resolver DIR: SIGTERM the resolver started by start_resolver and fail the test
# unless it exits with status 0 and DIR/resolver.log holds no sanitizer report.
stop_resolver() {
	stop_checked "$HIER_PID_RSV" "$1/resolver.log" cairn-resolver
}

# stop_hierarchy DIR: SIGTERM the cairn-auth servers of start_hierarchy (root, test.)
# and fail the test unless both exit 0 with no sanitizer report in their logs.
stop_hierarchy() {
	stop_checked "$HIER_PID_ROOT" "$1/root.log" "cairn-auth for ."
	stop_checked "$HIER_PID_TLD" "$1/test.log" "cairn-auth for test."
}

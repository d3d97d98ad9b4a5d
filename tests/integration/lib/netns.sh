# tests/integration/lib/netns.sh — run a test's servers and clients inside a private
# network namespace (the recipe in ../shared/recipes/full-stack-e2e.md).
#
# Source it after common.sh (bash only):
#
#   . "$(dirname "$0")/lib/common.sh"
#   . "$(dirname "$0")/lib/netns.sh"
#   ns_need                          # skip (exit 77) unless root and `ip netns` works
#   ns_create "cairn-e2e-$$"         # namespace, lo up, /etc/netns/NAME/{resolv.conf,...}
#   test_cleanup() { ns_teardown; }  # common.sh's EXIT trap calls it first
#   ns_start_bg "$tmp/auth.log" "$CAIRN_AUTH" --listen 127.53.0.1@53 ...
#   ns_wait_dns 127.53.0.1 53 .      # bounded poll with dig inside the namespace
#   ns_wait_listen tcp 127.54.3.1 80 # bounded poll until a TCP socket listens there
#   nsx curl -s http://www.cdn.test/ # any command inside the namespace
#   ns_teardown                      # stop everything, delete the namespace (idempotent)
#
# Why a namespace: `ip netns exec NAME CMD` runs CMD with every file of /etc/netns/NAME/
# bind-mounted over the same name in /etc (in a mount namespace of its own), so an ordinary
# client inside (glibc's getaddrinfo, curl, swaks, exim, lftp) resolves through whatever the
# namespace's resolv.conf names, while the machine's own /etc/resolv.conf is never touched.
# The namespace has only `lo`, which holds 127.0.0.0/8: any 127.x.y.z can be bound inside,
# port 53 included, without clashing with the host's servers, and nothing leaks to a real
# network.
#
# Processes: `ip netns exec` execs CMD (no fork), so the pid start_bg records is CMD's own
# and stop_bg / the cleanup trap stop it as usual.

[ -n "${CAIRN_NETNS_SH:-}" ] && return 0
CAIRN_NETNS_SH=1

# The namespace made by ns_create (empty: none).
CAIRN_NS=

# ns_need: skip the test (exit 77) unless we are root and `ip netns` is usable.
ns_need() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, ports below 1024)"
	command -v ip >/dev/null 2>&1 || skip "no ip(8) (iproute2)"
	ip netns list >/dev/null 2>&1 || skip "ip netns is not available here"
}

# ns_create NAME [NAMESERVER]: create network namespace NAME with `lo` up, and
# /etc/netns/NAME/ holding resolv.conf (nameserver NAMESERVER, default 127.0.0.1),
# hosts (localhost only, so nothing shadows DNS) and nsswitch.conf (`hosts: files dns`,
# no systemd/nscd module through which a lookup could escape to the host). Fails the test
# if the namespace or its /etc/netns directory already exists (never reuses another
# run's).
ns_create() {
	local name=$1 ns=${2:-127.0.0.1}
	[ -e "/etc/netns/$name" ] && fail "/etc/netns/$name already exists"
	ip netns add "$name" || fail "ip netns add $name"
	CAIRN_NS=$name
	ip netns exec "$name" ip link set lo up || fail "ip link set lo up in $name"
	mkdir -p "/etc/netns/$name" || fail "mkdir /etc/netns/$name"
	printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$ns" >"/etc/netns/$name/resolv.conf"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"/etc/netns/$name/hosts"
	cat >"/etc/netns/$name/nsswitch.conf" <<-'EOF'
		# Written by tests/integration/lib/netns.sh for a test namespace.
		passwd:    files
		group:     files
		shadow:    files
		hosts:     files dns
		networks:  files
		protocols: files
		services:  files
	EOF
}

# nsx CMD [ARGS...]: run CMD in the foreground inside the namespace.
nsx() { ip netns exec "$CAIRN_NS" "$@"; }

# ns_start_bg LOGFILE CMD [ARGS...]: start_bg (common.sh) inside the namespace. Sets
# LAST_BG_PID (CMD's pid: ip execs it). Not inside $(...).
ns_start_bg() {
	local log=$1
	shift
	start_bg "$log" ip netns exec "$CAIRN_NS" "$@"
}

# ns_wait_dns ADDR PORT NAME [TYPE]: poll ADDR@PORT from inside the namespace with dig
# (UDP) until any DNS answer arrives for NAME/TYPE (default SOA); fails the test after
# CAIRN_WAIT_SECS or as soon as a process started by start_bg has died.
ns_wait_dns() { wait_dns "$1" "$2" "$3" "${4:-SOA}" +notcp ip netns exec "$CAIRN_NS"; }

# ns_listening tcp|udp ADDR PORT: true when a socket of that protocol is bound to
# ADDR:PORT inside the namespace (listening, for TCP).
ns_listening() {
	local opt=-Hltn
	[ "$1" = udp ] && opt=-Hlun
	[ -n "$(nsx ss "$opt" src "$2:$3" 2>/dev/null)" ]
}

# ns_wait_listen tcp|udp ADDR PORT [PID]: wait (bounded by CAIRN_WAIT_SECS) until a
# socket listens on ADDR:PORT inside the namespace; fails early if PID (default: every
# process started by start_bg) has died.
ns_wait_listen() {
	local proto=$1 addr=$2 port=$3 deadline
	deadline=$((SECONDS + CAIRN_WAIT_SECS))
	while ((SECONDS < deadline)); do
		ns_listening "$proto" "$addr" "$port" && return 0
		if [ -n "${4:-}" ]; then check_alive "$4"; else check_alive "${CAIRN_BG_PIDS[@]}"; fi
		sleep 0.1
	done
	[ -n "${4:-}" ] && bg_log_tail "$4"
	fail "nothing listens on $proto $addr:$port in $CAIRN_NS within ${CAIRN_WAIT_SECS}s"
}

# ns_wait_free tcp|udp ADDR PORT: wait (bounded) until nothing listens there any more
# (a stopped server's socket is gone).
ns_wait_free() {
	local deadline=$((SECONDS + CAIRN_WAIT_SECS))
	while ns_listening "$@"; do
		((SECONDS < deadline)) || fail "$1 $2:$3 in $CAIRN_NS still in use"
		sleep 0.1
	done
}

# ns_teardown: stop every process started by start_bg (TERM, then KILL), kill whatever
# else still runs in the namespace (all of it was started by this test), delete the
# namespace and /etc/netns/NAME. Safe to call twice (the EXIT trap calls it again).
ns_teardown() {
	local p i
	for p in "${CAIRN_BG_PIDS[@]}"; do stop_bg "$p" >/dev/null 2>&1 || true; done
	[ -n "$CAIRN_NS" ] || return 0
	if ip netns pids "$CAIRN_NS" >/dev/null 2>&1; then
		for p in $(ip netns pids "$CAIRN_NS"); do kill -TERM "$p" 2>/dev/null; done
		for p in $(ip netns pids "$CAIRN_NS"); do
			for ((i = 0; i < 30; i++)); do bg_alive "$p" || break; sleep 0.1; done
			bg_alive "$p" && kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$CAIRN_NS" 2>/dev/null || say "ip netns del $CAIRN_NS failed"
	fi
	rm -rf "/etc/netns/${CAIRN_NS:?}"
	CAIRN_NS=
}

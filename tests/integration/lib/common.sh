# tests/integration/lib/common.sh — shared helpers for the integration tests.
#
# Source it from a test script (bash only):
#
#   . "$(dirname "$0")/lib/common.sh"
#   need_cmd dig nsd             # skip (exit 77) when a tool is missing
#   need_bin cairn-auth          # sets CAIRN_AUTH=$CAIRN_BIN/cairn-auth, or skips
#   tmp=$(make_tmpdir)           # removed by the EXIT trap
#   start_bg "$tmp/auth.log" "$CAIRN_AUTH" --listen 127.54.9.1@5300 ...
#   pid=$LAST_BG_PID
#   wait_udp 127.54.9.1 5300 diff.test.      # bounded poll with dig, fails the test
#   ...
#   wait_log "$pid" 'serving'    # or: poll its log for a line (bounded)
#   stop_bg "$pid"               # SIGTERM, bounded wait; returns the exit status
#   wait_exit "$pid" 10          # a process already told to stop (or ending by itself):
#                                # wait for it, no second signal; returns the exit status
#   nsd_start ref 127.54.9.2 5300 "$dir" example.=example.zone   # an NSD peer
#
# What it guarantees:
#   - every process started with start_bg runs in its own session/process group
#     (setsid), so daemons that fork (NSD forks a transfer process) are stopped
#     as a whole by signalling the group;
#   - on exit (normal, failure or signal) the `cleanup` trap stops every process
#     still running and removes every directory made by make_tmpdir;
#   - nothing sleeps a fixed time to stand in for readiness: wait_udp/wait_tcp
#     poll the server with dig in a bounded loop and fail early if the server
#     process has died.
#
# Exit codes used: 0 pass, 1 fail, 77 skip (the ctest SKIP_RETURN_CODE).
#
# Environment read: CAIRN_BIN (directory of the built programs), CAIRN_SRC
# (source tree, defaults to the tree this file is in), CAIRN_KEEP_TMP=1 keeps
# the temporary directories for debugging, CAIRN_WAIT_SECS (default 20) bounds
# the readiness polls.

# Guard against double sourcing.
[ -n "${CAIRN_COMMON_SH:-}" ] && return 0
CAIRN_COMMON_SH=1

: "${CAIRN_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
: "${CAIRN_BIN:=$CAIRN_SRC/build/bin}"
: "${CAIRN_WAIT_SECS:=20}"
export CAIRN_SRC CAIRN_BIN

# One collation for sort/comm/tr in every test, whatever the caller's locale.
export LC_ALL=C

# The name of the running test, for messages.
CAIRN_TEST_NAME=$(basename "${0%.sh}")

# Pids started by start_bg (process group leaders), their log files, and the
# temporary directories to remove.
CAIRN_BG_PIDS=()
declare -A CAIRN_BG_LOGS=()
CAIRN_TMPDIRS=()

# say MSG...: progress message on stderr, prefixed with the test name.
say() { printf '%s: %s\n' "$CAIRN_TEST_NAME" "$*" >&2; }

# fail MSG...: print FAIL and exit 1 (the EXIT trap cleans up).
fail() { printf '%s: FAIL: %s\n' "$CAIRN_TEST_NAME" "$*" >&2; exit 1; }

# skip MSG...: print SKIP and exit 77 (ctest reports the test as skipped). With
# CAIRN_NO_SKIP=1 (.ci/run sets it: CI has every tool and runs as root) a test that
# would skip fails instead, so a missing install step or privilege cannot pass as green.
skip() {
	[ "${CAIRN_NO_SKIP:-0}" = 1 ] && fail "would skip, and CAIRN_NO_SKIP=1: $*"
	printf '%s: SKIP: %s\n' "$CAIRN_TEST_NAME" "$*" >&2
	exit 77
}

# need_cmd CMD...: skip the test unless every command is on PATH (or /usr/sbin).
need_cmd() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$c" ]; then
			skip "command '$c' not found (scripts/install-deps installs it)"
		fi
	done
}
# NSD and friends live in /usr/sbin, which is not always on a test's PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac

# need_bin NAME: skip unless $CAIRN_BIN/NAME is executable; sets the variable
# named after it in upper case with '-' -> '_' (cairn-auth -> CAIRN_AUTH).
need_bin() {
	local var
	[ -x "$CAIRN_BIN/$1" ] || skip "$CAIRN_BIN/$1 not built"
	var=$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')
	printf -v "$var" '%s' "$CAIRN_BIN/$1"
}

# make_tmpdir: create a temporary directory and print its path. Safe inside
# $(...): every such directory lives under one per-test parent, made here and
# removed by the EXIT trap, so nothing needs registering from the subshell.
CAIRN_TMPROOT=$(mktemp -d "${TMPDIR:-/tmp}/cairn-${CAIRN_TEST_NAME}.XXXXXX")
CAIRN_TMPDIRS+=("$CAIRN_TMPROOT")
make_tmpdir() { mktemp -d "$CAIRN_TMPROOT/d.XXXXXX"; }

# start_bg LOGFILE CMD [ARGS...]: start CMD in the background in a new session
# (its own process group), stdout and stderr to LOGFILE, working directory
# $BG_CWD if set. Sets LAST_BG_PID. Do not call it inside $(...) or ( ): the
# pid must be recorded by the main shell.
start_bg() {
	local log=$1
	shift
	# In a non-interactive shell the background child is not a group leader,
	# so setsid(1) calls setsid() and execs CMD without forking; with the
	# subshell's exec that makes $! CMD's pid and also its process group id.
	(cd "${BG_CWD:-.}" && exec setsid "$@") >"$log" 2>&1 </dev/null &
	LAST_BG_PID=$!
	CAIRN_BG_PIDS+=("$LAST_BG_PID")
	CAIRN_BG_LOGS[$LAST_BG_PID]=$log
}

# bg_alive PID: true while the process PID is running (not a zombie).
bg_alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ "$st" != Z ] && [ -n "$st" ]
}

# bg_log_tail PID [N]: print the last N (default 30) lines of PID's log.
bg_log_tail() {
	local log=${CAIRN_BG_LOGS[$1]:-}
	[ -n "$log" ] && [ -f "$log" ] || return 0
	printf -- '--- last lines of %s ---\n' "$log" >&2
	tail -n "${2:-30}" "$log" >&2
	printf -- '---\n' >&2
}

# stop_bg PID [SIGNAL]: send SIGNAL (default TERM) to PID's process group,
# wait up to 10 s for PID to exit, then SIGKILL the group. Returns PID's exit
# status (128+signal if it died by a signal), so a test can assert a clean
# shutdown: `stop_bg "$pid" || fail "exit status $?"`.
stop_bg() {
	local pid=$1 sig=${2:-TERM}
	kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null
	wait_exit "$pid" 10
}

# stop_checked PID LOG WHAT: stop_bg PID and fail the test unless it exited 0 and its
# LOG holds no sanitizer report (LeakSanitizer writes at exit: read LOG only after).
stop_checked() {
	stop_bg "$1" || fail "$3 exited with status $? on SIGTERM"
	if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error' "$2"; then
		cat "$2" >&2
		fail "sanitizer report in the log of $3"
	fi
	return 0
}

# bg_forget PID: take PID off the cleanup list (it has been waited for).
bg_forget() {
	local keep=() p
	for p in "${CAIRN_BG_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	CAIRN_BG_PIDS=("${keep[@]}")
}

# wait_exit PID [SECONDS]: wait up to SECONDS (default 10) for PID to exit, without
# signalling it: for a process already sent SIGTERM, or one that ends by itself. A
# second SIGTERM could reach it on its exit path, after it stopped watching the
# signal, and kill it (status 143) although it was stopping cleanly. Past the
# deadline the group is killed and the status is that of the kill. Returns PID's
# exit status.
wait_exit() {
	local pid=$1 secs=${2:-10} rc=0 deadline
	deadline=$((SECONDS + secs))
	while bg_alive "$pid" && ((SECONDS < deadline)); do
		sleep 0.1
	done
	if bg_alive "$pid"; then
		say "pid $pid did not exit within ${secs} s; killing it"
		kill -KILL -- "-$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || rc=$?
	bg_forget "$pid"
	return "$rc"
}

# cleanup: the EXIT trap. Stops every background process still recorded
# (TERM, then KILL after a short grace) and removes the temporary directories
# unless CAIRN_KEEP_TMP=1. Installed automatically when this file is sourced;
# a test that needs more cleanup defines test_cleanup(), called first.
cleanup() {
	local rc=$? p i
	trap - EXIT
	if declare -F test_cleanup >/dev/null; then test_cleanup || true; fi
	for p in "${CAIRN_BG_PIDS[@]}"; do
		kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
	done
	for p in "${CAIRN_BG_PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do bg_alive "$p" || break; sleep 0.1; done
		bg_alive "$p" && kill -KILL -- "-$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CAIRN_BG_PIDS=()
	if [ "${CAIRN_KEEP_TMP:-0}" = 1 ]; then
		say "keeping ${CAIRN_TMPDIRS[*]}"
	else
		rm -rf "${CAIRN_TMPDIRS[@]}"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# check_alive PID...: fail the test (with the log tail) if a process died.
check_alive() {
	local p
	for p in "$@"; do
		if ! bg_alive "$p"; then
			bg_log_tail "$p"
			fail "process $p (log ${CAIRN_BG_LOGS[$p]:-?}) is not running"
		fi
	done
}

# wait_udp ADDR PORT NAME [TYPE]: poll ADDR@PORT over UDP with dig until any
# DNS answer (whatever the rcode) arrives for NAME/TYPE (default SOA); fails
# the test after CAIRN_WAIT_SECS seconds or as soon as a process started by
# start_bg has died.
wait_udp() { wait_dns "$1" "$2" "$3" "${4:-SOA}" +notcp; }

# wait_tcp ADDR PORT NAME [TYPE]: the same over TCP.
wait_tcp() { wait_dns "$1" "$2" "$3" "${4:-SOA}" +tcp; }

# wait_dns ADDR PORT NAME TYPE DIGOPT [CMD...]: the loop behind wait_udp/wait_tcp
# (and netns.sh's ns_wait_dns); dig runs under CMD when given (e.g. `ip netns exec NS`,
# to ask from inside a network namespace).
wait_dns() {
	local addr=$1 port=$2 name=$3 type=$4 opt=$5 deadline out
	shift 5
	deadline=$((SECONDS + CAIRN_WAIT_SECS))
	while ((SECONDS < deadline)); do
		out=$("$@" dig @"$addr" -p "$port" "$opt" +tries=1 +time=1 +norec \
			+nocookie +noall +comments "$name" "$type" 2>/dev/null)
		case $out in *'status: '*) return 0 ;; esac
		check_alive "${CAIRN_BG_PIDS[@]}"
		# dig already waited up to 1 s on a silent socket; an ICMP
		# port-unreachable returns at once, so pace the loop a little.
		sleep 0.1
	done
	for p in "${CAIRN_BG_PIDS[@]}"; do bg_log_tail "$p"; done
	fail "no DNS answer from $addr@$port ($opt${*:+, under $*}) for $name $type within ${CAIRN_WAIT_SECS}s"
}

# wait_port_free ADDR PORT: wait (up to CAIRN_PORT_WAIT_SECS, default 180)
# until nothing listens on ADDR@PORT over UDP or TCP, e.g. while a colleague's
# run of the same test still holds its fixed address; then fail clearly
# instead of letting the server die with "Address already in use".
wait_port_free() {
	local addr=$1 port=$2 deadline said=0 sa
	deadline=$((SECONDS + ${CAIRN_PORT_WAIT_SECS:-180}))
	command -v ss >/dev/null 2>&1 || return 0
	sa="$addr:$port"
	case $addr in *:*) sa="[$addr]:$port" ;; esac
	while [ -n "$(ss -Hlnu src "$sa"; ss -Hlnt src "$sa")" ]; do
		((SECONDS < deadline)) ||
			fail "$addr@$port is still in use (another run of this test?)"
		((said)) || say "waiting for $addr@$port to be free (in use by another process)"
		said=1
		sleep 0.5
	done
}

# poll_until WHAT CMD...: run CMD every 0.05 s until it succeeds; fail the test with
# WHAT once CAIRN_WAIT_SECS have passed. Bounded by time, not by a count of tries
# (how fast a try is depends on the machine and the build).
poll_until() {
	local what=$1 deadline=$((SECONDS + CAIRN_WAIT_SECS))
	shift
	until "$@"; do
		((SECONDS < deadline)) || fail "$what: not within ${CAIRN_WAIT_SECS} s"
		sleep 0.05
	done
}

# wait_log PID REGEX: poll PID's log (from start_bg) until a line matches the
# extended regex REGEX; fails after CAIRN_WAIT_SECS or when PID has died.
wait_log() {
	local pid=$1 re=$2 deadline log=${CAIRN_BG_LOGS[$1]:-}
	[ -n "$log" ] || fail "wait_log: no log recorded for pid $pid"
	deadline=$((SECONDS + CAIRN_WAIT_SECS))
	while ((SECONDS < deadline)); do
		grep -Eq -- "$re" "$log" 2>/dev/null && return 0
		check_alive "$pid"
		sleep 0.1
	done
	bg_log_tail "$pid"
	fail "no line matching /$re/ in $log within ${CAIRN_WAIT_SECS}s"
}

# nsd_start NAME ADDR PORT DIR ORIGIN=FILE...: write NAME.conf (in a fresh
# temporary directory) for an NSD serving the zones, check it with
# nsd-checkconf and start `nsd -d` with start_bg. Sets LAST_BG_PID.
# ADDR may be a comma-separated list; an item may carry its own port
# ("127.54.0.2,::1@15355" listens on 127.54.0.2@PORT and ::1@15355); IPv6 is
# enabled when an item is an IPv6 address. Zone file paths relative to DIR
# work: DIR is NSD's zonesdir and working directory, so $INCLUDE paths resolve
# against DIR. Extra `server:` lines may be passed in NSD_EXTRA.
nsd_start() {
	local name=$1 addr=$2 port=$3 dir=$4 state conf z a ip6=no
	shift 4
	state=$(make_tmpdir)
	conf=$state/$name.conf
	case $addr in *:*) ip6=yes ;; esac
	{
		printf 'server:\n'
		for a in ${addr//,/ }; do
			case $a in
			*@*) printf '  ip-address: %s\n' "$a" ;;
			*) printf '  ip-address: %s@%s\n' "$a" "$port" ;;
			esac
		done
		printf '  server-count: 1\n  do-ip6: %s\n  verbosity: 1\n' "$ip6"
		printf '  database: ""\n  zonelistfile: ""\n  username: ""\n'
		printf '  pidfile: ""\n  xfrdfile: ""\n  xfrdir: "%s"\n' "$state"
		printf '  zonesdir: "%s"\n  hide-version: yes\n  hide-identity: yes\n' "$dir"
		[ -n "${NSD_EXTRA:-}" ] && printf '%s\n' "$NSD_EXTRA"
		printf 'remote-control:\n  control-enable: no\n'
		for z in "$@"; do
			printf 'zone:\n  name: "%s"\n  zonefile: "%s"\n' "${z%%=*}" "${z#*=}"
		done
	} >"$conf"
	nsd-checkconf "$conf" || fail "nsd-checkconf $conf"
	BG_CWD=$dir start_bg "$state/nsd.log" nsd -d -c "$conf"
}

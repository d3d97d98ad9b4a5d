# bench/lib.sh -- plumbing shared by the benchmark scripts (sourced, not run).
# shellcheck shell=bash
#
# The caller defines say and die (messages carry its own prefix) and, for the
# helpers that use them, PID (the server being measured), WORK (scratch dir,
# where NAME.log is the server's log), READY_SECONDS and TICK (getconf CLK_TCK).

# bench_need_tools TOOL...: die unless every tool is on PATH.
bench_need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || die "$tool missing: run scripts/install-deps"
	done
}

# bench_pid_ticks PID: utime + stime of one process (all its threads), in clock
# ticks; nothing when it is gone.
bench_pid_ticks() {
	# Fields after the ")" of the command name: utime is the 12th, stime the 13th.
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

# bench_stop_pid PID: SIGTERM (to its whole process group when it leads a
# session, as a forking server started with setsid does), up to 5 s to exit,
# then SIGKILL; reaped either way.
bench_stop_pid() {
	local p=$1
	if kill -0 "$p" 2>/dev/null; then
		if [ "$(ps -o sid= -p "$p" | tr -d ' ')" = "$p" ]; then
			kill -TERM -- "-$p" 2>/dev/null || true
		else
			kill -TERM "$p" 2>/dev/null || true
		fi
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	fi
	wait "$p" 2>/dev/null || true
}

# bench_stop_server: stop the server in PID, if any, and clear PID.
bench_stop_server() {
	[ -z "$PID" ] || bench_stop_pid "$PID"
	PID=""
}

# bench_wait_auth NAME ADDR ZONE: until the server in PID answers ZONE's SOA
# authoritatively on ADDR@PORT; fails (with its log's tail) when it exits or
# READY_SECONDS pass.
bench_wait_auth() {
	local deadline=$(($(date +%s) + READY_SECONDS))
	until dig +time=1 +tries=1 +norec -p "$PORT" @"$2" "$3" SOA 2>/dev/null |
		grep -q 'flags: qr aa'; do
		kill -0 "$PID" 2>/dev/null || { say "$1 exited:"; tail -n 20 "$WORK/$1.log" >&2; return 1; }
		[ "$(date +%s)" -lt "$deadline" ] || { say "$1 not answering after ${READY_SECONDS}s"; return 1; }
		sleep 0.2
	done
}

# bench_dnsperf_stats FILE: "completed lost runtime mean-latency" of a dnsperf output.
bench_dnsperf_stats() {
	awk '/Queries completed:/ { n = $3 } /Queries lost:/ { l = $3 }
		/Run time \(s\):/ { t = $4 } /Average Latency \(s\):/ { a = $4 }
		END { printf "%d %d %.6f %.9f", n, l, t, a }' "$1"
}

# bench_dnsperf_add KEY FILE TICKS: add a dnsperf run (FILE) during which the
# server used TICKS clock ticks to KEY's totals in the associative arrays
# COMPLETED, LOST, TIME (s), LATSUM (latency-seconds) and TICKS.
bench_dnsperf_add() {
	local key=$1 ticks=$3
	# shellcheck disable=SC2046 # four numbers, split on purpose
	set -- $(bench_dnsperf_stats "$2")
	COMPLETED[$key]=$(( ${COMPLETED[$key]:-0} + $1 ))
	LOST[$key]=$(( ${LOST[$key]:-0} + $2 ))
	TIME[$key]=$(awk -v a="${TIME[$key]:-0}" -v b="$3" 'BEGIN { printf "%.6f", a + b }')
	LATSUM[$key]=$(awk -v a="${LATSUM[$key]:-0}" -v n="$1" -v l="$4" 'BEGIN { printf "%.6f", a + n * l }')
	TICKS[$key]=$(( ${TICKS[$key]:-0} + ticks ))
}

# bench_dnsperf_totals KEY: from KEY's totals, QPS (queries per second), LAT
# (mean latency, ms), CPU (server seconds) and APC (answers per CPU-second).
bench_dnsperf_totals() {
	local k=$1
	QPS[$k]=$(awk -v n="${COMPLETED[$k]}" -v t="${TIME[$k]}" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
	LAT[$k]=$(awk -v s="${LATSUM[$k]}" -v n="${COMPLETED[$k]}" 'BEGIN { printf "%.3f", (n > 0 ? s / n * 1000 : 0) }')
	CPU[$k]=$(awk -v t="${TICKS[$k]}" -v hz="$TICK" 'BEGIN { printf "%.2f", t / hz }')
	APC[$k]=$(awk -v n="${COMPLETED[$k]}" -v t="${TICKS[$k]}" -v hz="$TICK" \
		'BEGIN { if (t > 0) printf "%.0f", n / (t / hz); else print "n/a" }')
}

# bench_ratio VALUE BASE [SUFFIX]: VALUE / BASE to two decimals, then SUFFIX; "–"
# when either is not positive.
bench_ratio() {
	awk -v v="$1" -v b="$2" -v x="${3:-}" 'BEGIN { if (b + 0 > 0 && v + 0 > 0) printf "%.2f%s", v / b, x; else print "–" }'
}

# bench_machine: "N CPUs, model name" of this machine.
bench_machine() {
	echo "$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
}

# bench_probes_md FIELDS UNIT WHO: whether the probe answers (PROBES[s] for each
# s in $ran) agree, as Markdown: "Probes (FIELDS of N UNIT): the same from every
# WHO." or the differing answers.
bench_probes_md() {
	local s first same=1
	first=${ran# }; first=${first%% *}
	for s in $ran; do [ "${PROBES[$s]}" = "${PROBES[$first]}" ] || same=0; done
	if [ "$same" = 1 ]; then
		echo "Probes ($1 of $(printf '%s\n' "${PROBES[$first]}" | wc -l) $2): the same from every $3."
	else
		echo "Probes ($1) DIFFER between ${3}s:"
		echo
		echo '```'
		for s in $ran; do echo "$s"; printf '%s\n' "${PROBES[$s]}" | sed 's/^/  /'; done
		echo '```'
	fi
}

#!/bin/bash
# Benchmark: cairn-edge against nginx (proxy_cache) serving cached objects from the same
# cairn-origin, in the same run.
#
# One cairn-origin serves a 1 KB and a 100 KB object (Cache-Control: max-age=3600). In
# front of it: cairn-edge, and nginx 1 worker configured as a caching proxy (proxy_cache on
# its own cache directory, keep-alive to the origin, access log off; cairn-edge with its
# access log off too: --log-level warn). Each proxy is pinned to CPU 0 (taskset), wrk to
# CPU 1, keep-alive connections; each object is fetched once first (and checked to be a
# HIT on the second fetch), then wrk runs BENCH_SECONDS per proxy and object, the proxies
# alternating (BENCH_ROUNDS rounds, the order reversed every other round; the table sums
# the rounds and averages the latencies). Reported: requests/s, mean and p99 latency, the proxy's CPU time during
# the run (utime + stime from /proc/PID/stat) and requests per proxy CPU-second -- on 2
# cores wrk may saturate its core before the proxy does, so requests per CPU-second is
# the fairer comparison. Ratios: cairn-edge / nginx. The table goes to stdout and to
# bench/results/http-<date>.md.
#
# Run it under the build lock, so no build steals the cores:
#   flock /tmp/cairn-build.lock bench/http/run.sh
#
# Environment:
#   BENCH_SECONDS      seconds of load per proxy and object (default 10)
#   BENCH_ROUNDS       rounds (default 2)
#   BENCH_CONNECTIONS  wrk -c (default 50); wrk runs one thread
#   CAIRN_EDGE, CAIRN_ORIGIN  binaries (default build/release/bin/...)
#   BENCH_WORK         scratch dir (default build/bench-http)
# Addresses: origin 127.65.1.11, cairn-edge 127.65.1.1, nginx 127.65.1.2, port
# BENCH_PORT (default 8080). nginx runs from its own config with -p/-c (Debian's nginx
# service is never started).
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-50}
ROUNDS=${BENCH_ROUNDS:-2}
CAIRN_EDGE=${CAIRN_EDGE:-$SRC/build/release/bin/cairn-edge}
CAIRN_ORIGIN=${CAIRN_ORIGIN:-$SRC/build/release/bin/cairn-origin}
WORK=${BENCH_WORK:-$SRC/build/bench-http}
PORT=${BENCH_PORT:-8080}
ORIGIN_ADDR=127.65.1.11
EDGE_ADDR=127.65.1.1
NGINX_ADDR=127.65.1.2
HOST=bench.test
SERVER_CPU=0
LOAD_CPU=1
NGINX=${NGINX:-/usr/sbin/nginx}

say() { printf 'bench/http: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"

bench_need_tools wrk curl taskset "$NGINX"
[ -x "$CAIRN_EDGE" ] || die "$CAIRN_EDGE not built (cmake -DCMAKE_BUILD_TYPE=Release)"
[ -x "$CAIRN_ORIGIN" ] || die "$CAIRN_ORIGIN not built"
[ "$(nproc)" -ge 2 ] || { LOAD_CPU=0; say "one CPU only: proxy and wrk share it"; }

rm -rf "$WORK"
mkdir -p "$WORK/root" "$WORK/nginx/cache" "$WORK/nginx/tmp" "$SRC/bench/results"
head -c 1024 /dev/urandom >"$WORK/root/small.bin"
head -c 102400 /dev/urandom >"$WORK/root/medium.bin"

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_http() { # URL: until it answers (bounded)
	local i
	for ((i = 0; i < 200; i++)); do
		curl -s -o /dev/null -H "Host: $HOST" "$1" && return 0
		sleep 0.05
	done
	die "no answer from $1"
}

"$CAIRN_ORIGIN" --listen "$ORIGIN_ADDR@$PORT" --root "$WORK/root" \
	--cache-control /=max-age=3600 --log-level warn 2>"$WORK/origin.log" &
pids+=($!)
taskset -c "$SERVER_CPU" "$CAIRN_EDGE" --listen "$EDGE_ADDR@$PORT" \
	--origin "$HOST=$ORIGIN_ADDR@$PORT" --cache-size 256M --log-level warn 2>"$WORK/edge.log" &
edge_pid=$!
pids+=($edge_pid)

cat >"$WORK/nginx/nginx.conf" <<EOF
# nginx as a caching reverse proxy in front of the same cairn-origin: one worker.
user root;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $WORK/nginx/tmp/body;
	proxy_temp_path $WORK/nginx/tmp/proxy;
	fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
	uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
	scgi_temp_path $WORK/nginx/tmp/scgi;
	proxy_cache_path $WORK/nginx/cache levels=1:2 keys_zone=edge:16m max_size=256m
		inactive=60m use_temp_path=off;
	upstream origin {
		server $ORIGIN_ADDR:$PORT;
		keepalive 32;
	}
	server {
		listen $NGINX_ADDR:$PORT;
		keepalive_requests 1000000;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_cache edge;
			add_header X-Cache \$upstream_cache_status;
		}
	}
}
EOF
"$NGINX" -t -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" ||
	die "nginx -t failed"
taskset -c "$SERVER_CPU" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
	-e "$WORK/nginx/error.log" -g 'daemon off;' &
nginx_master=$!
pids+=($nginx_master)

wait_http "http://$ORIGIN_ADDR:$PORT/small.bin"
wait_http "http://$EDGE_ADDR:$PORT/health"
wait_http "http://$NGINX_ADDR:$PORT/small.bin"
# The one worker (the master also runs a cache manager and loader): its CPU is measured.
nginx_pid=$(pgrep -P "$nginx_master" -f 'worker process' | head -1)
[ -n "$nginx_pid" ] || die "no nginx worker process"

# Warm both caches; the second fetch must be a hit.
for obj in small.bin medium.bin; do
	for a in $EDGE_ADDR $NGINX_ADDR; do
		curl -s -o /dev/null -H "Host: $HOST" "http://$a:$PORT/$obj"
		x=$(curl -s -o "$WORK/check" -D - -H "Host: $HOST" "http://$a:$PORT/$obj" |
			tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')
		[ "$x" = HIT ] || die "$a/$obj: X-Cache '$x' on the second fetch, not HIT"
		cmp -s "$WORK/check" "$WORK/root/$obj" || die "$a/$obj: wrong body"
	done
done

cpu_ticks() { bench_pid_ticks "$1"; }
hz=$(getconf CLK_TCK)

# ms VALUE: a wrk latency ("812.5us", "1.2ms", "1.01s") in milliseconds.
ms() { awk -v v="$1" 'BEGIN{u=v; sub(/^[0-9.]+/, "", u); x=v+0;
	printf "%.3f", u=="us" ? x/1000 : u=="s" ? x*1000 : u=="m" ? x*60000 : x}'; }

# run NAME PID ADDR OBJ ROUND: one wrk run; prints "requests lat_mean_ms p99_ms cpu_s"
run() {
	local name=$1 pid=$2 addr=$3 obj=$4 round=$5 t0 t1 out req lat p99
	t0=$(cpu_ticks "$pid")
	out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${SECONDS_EACH}s" --latency \
		-H "Host: $HOST" "http://$addr:$PORT/$obj")
	t1=$(cpu_ticks "$pid")
	printf '%s\n' "$out" >"$WORK/wrk-$name-$obj-$round.txt"
	if printf '%s\n' "$out" | grep -q 'Non-2xx'; then die "$name $obj: non-2xx answers"; fi
	req=$(printf '%s\n' "$out" | awk '/requests in/{print $1}')
	lat=$(ms "$(printf '%s\n' "$out" | awk '/^ +Latency/{print $2; exit}')")
	p99=$(ms "$(printf '%s\n' "$out" | awk '$1=="99%"{print $2}')")
	echo "$req $lat $p99 $(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN{printf "%.2f", t / hz}')"
}

declare -A R
for obj in small.bin medium.bin; do
	for name in cairn-edge nginx; do R[$name,$obj]="0 0 0 0"; done
done
for ((round = 1; round <= ROUNDS; round++)); do
	order="cairn-edge nginx"
	((round % 2 == 0)) && order="nginx cairn-edge"
	for obj in small.bin medium.bin; do
		for name in $order; do
			case $name in
			cairn-edge) one=$(run "$name" "$edge_pid" "$EDGE_ADDR" "$obj" "$round") ;;
			nginx) one=$(run "$name" "$nginx_pid" "$NGINX_ADDR" "$obj" "$round") ;;
			esac
			say "round $round: $name $obj: requests, mean ms, p99 ms, CPU s: $one"
			R[$name,$obj]=$(awk -v a="${R[$name,$obj]}" -v b="$one" 'BEGIN{split(a, x); split(b, y);
				printf "%d %.3f %.3f %.2f", x[1] + y[1], x[2] + y[2], x[3] + y[3], x[4] + y[4]}')
		done
	done
done

# The edge answered every request from its cache: one origin fetch per object.
hits=$(curl -s -H "Host: $HOST" "http://$EDGE_ADDR:$PORT/health" | awk '$1=="fetches"{print $2}')

out="$SRC/bench/results/http-$(date -u +%Y%m%d-%H%M%S).md"
{
	echo "# bench/http: cairn-edge vs nginx proxy_cache, cached objects"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)),"
	echo "proxy pinned to CPU $SERVER_CPU, wrk -t1 -c$CONNS on CPU $LOAD_CPU, keep-alive, $ROUNDS rounds of ${SECONDS_EACH}s per proxy and object (order alternating), summed;"
	echo "$($NGINX -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | head -1 | awk '{print "wrk " $2}');"
	echo "cairn-edge origin fetches during the whole run: $hits (one per object)."
	echo
	echo "| object | proxy | requests/s | mean latency ms | p99 ms | proxy CPU s | requests per CPU-s | ratio req/s | ratio req/CPU-s |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for obj in small.bin medium.bin; do
		size=$([ $obj = small.bin ] && echo "1 KB" || echo "100 KB")
		read -r nq nl np nc <<<"${R[nginx,$obj]}"
		for name in cairn-edge nginx; do
			read -r q l p c <<<"${R[$name,$obj]}"
			awk -v o="$size" -v n="$name" -v q="$q" -v l="$l" -v p="$p" -v c="$c" -v nq="$nq" \
				-v nc="$nc" -v t=$((SECONDS_EACH * ROUNDS)) -v k="$ROUNDS" 'BEGIN{
				per = c > 0 ? q / c : 0
				nper = nc > 0 ? nq / nc : 0
				printf "| %s | %s | %.0f | %.2f | %.2f | %.2f | %.0f | %.2fx | %.2fx |\n", o, n, q / t,
					l / k, p / k, c, per, q / nq, (nper > 0 ? per / nper : 0)
			}'
		done
	done
} | tee "$out"
say "table written to $out"

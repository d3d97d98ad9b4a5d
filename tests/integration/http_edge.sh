#!/usr/bin/env bash
# http_edge.sh -- cairn-edge end to end: real cairn-origins (and a small stub
# origin for what cairn-origin cannot send) behind a real cairn-edge, with curl.
#
# Addresses (127.65.0.0/16 only): edge 127.65.0.1@8080; origin a.test
# 127.65.0.11@8080, origin b.test 127.65.0.12@8080, stub origin stub.test
# 127.65.0.13@8080; PURGE allowed from 127.65.0.50 only; 127.65.0.99 is a
# client that may not PURGE.
#
# Checks: MISS then HIT with a growing Age; routing by Host and by
# /ORIGIN-HOST/path to two different origins (the two forms share one cache
# entry), unknown host 404; ranges of stored objects (206, 416, If-Range); Vary: Accept-Encoding keeps separate entries;
# no-store is never a HIT; max-age=1 goes stale and is REVALIDATED (the origin
# logs a 304); a client's If-None-Match is answered 304 from the cache;
# request collapsing (20 concurrent misses on a held origin: one fetch, while
# other clients are served); a silent origin gives 504; stale-while-revalidate
# answers STALE at once and refreshes the entry in the background; HEAD;
# a POST invalidates the URL; chunked origin bodies; objects above max-object
# streamed intact; origin stopped: STALE within stale-if-error, else 502;
# PURGE from an allowed address then MISS, 403 from another; /health;
# the cache-size bound (the oldest objects evicted, bytes within the limit);
# pipelining (a miss and hits behind it, in order);
# SIGTERM: /health 503 during the drain delay, a long download in flight
# completes, exit 0.
. "$(dirname "$0")/lib/common.sh"
need_cmd curl cmp ss python3
need_bin cairn-origin
need_bin cairn-edge
need_bin cairn-httppipe

EDGE=127.65.0.1
OA=127.65.0.11
OB=127.65.0.12
OS=127.65.0.13
PORT=8080
URL=http://$EDGE:$PORT
STUB=$CAIRN_SRC/tests/integration/tools/edge_stub_origin.py
tmp=$(make_tmpdir)
rootA=$tmp/a
rootB=$tmp/b
mkdir -p "$rootA/short" "$rootA/nostore" "$rootA/sie" "$rootA/nosie" "$rootA/fill" "$rootB" "$tmp/stub"

printf 'object A\n' >"$rootA/obj.txt"
printf 'short-lived\n' >"$rootA/short/s.txt"
printf 'never stored\n' >"$rootA/nostore/n.txt"
printf 'stale is fine\n' >"$rootA/sie/x.txt"
printf 'stale is not fine\n' >"$rootA/nosie/y.txt"
printf 'object B\n' >"$rootB/b.txt"
printf 'pipe one\n' >"$rootB/pipe1.txt"
mkdir -p "$rootA/swr"
printf 'revalidated in the background\n' >"$rootA/swr/w.txt"
head -c 300000 /dev/urandom >"$rootA/large.bin"        # above max-object: streamed
head -c 8000000 /dev/urandom >"$rootA/big.bin"         # the download in flight at SIGTERM
for i in $(seq 1 30); do head -c 100000 /dev/urandom >"$rootA/fill/f$i.bin"; done

# hdr FILE NAME: the value of header NAME in a curl -D dump (last response).
hdr() { tr -d '\r' <"$1" | awk -v n="$(printf '%s' "$2" | tr 'A-Z' 'a-z')" \
	'BEGIN{FS=": "} /^HTTP\//{v=""} tolower($1)==n{v=substr($0, length($1)+3)} END{print v}'; }
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
# get NAME HOST PATH [curl args]: GET through the edge; body in $tmp/NAME.body,
# head in $tmp/NAME.h; prints the status and X-Cache.
get() {
	local name=$1 host=$2 path=$3
	shift 3
	curl -s -H "Host: $host" -D "$tmp/$name.h" -o "$tmp/$name.body" "$@" "$URL$path" ||
		fail "curl $host$path failed"
	printf '%s %s' "$(head -1 "$tmp/$name.h" | cut -d' ' -f2)" "$(hdr "$tmp/$name.h" X-Cache)"
}
start_origin_a() {
	start_bg "$tmp/origin-a.log" "$CAIRN_ORIGIN" --listen "$OA@$PORT" --root "$rootA" \
		--cache-control /=max-age=300 --cache-control /short/=max-age=1 \
		--cache-control /nostore/=no-store \
		--cache-control '/sie/=max-age=1, stale-if-error=300' --cache-control /nosie/=max-age=1 \
		--cache-control '/swr/=max-age=1, stale-while-revalidate=300'
	pid_a=$LAST_BG_PID
	wait_log "$pid_a" "listening on 127\.65\.0\.11@$PORT"
}

for a in $EDGE $OA $OB $OS; do wait_port_free "$a" "$PORT"; done
start_origin_a
start_bg "$tmp/origin-b.log" "$CAIRN_ORIGIN" --listen "$OB@$PORT" --root "$rootB" \
	--cache-control /=max-age=300
pid_b=$LAST_BG_PID
start_bg "$tmp/stub.log" python3 "$STUB" "$OS" "$PORT" "$tmp/stub"
pid_s=$LAST_BG_PID
start_bg "$tmp/edge.log" "$CAIRN_EDGE" --listen "$EDGE@$PORT" \
	--origin a.test=$OA@$PORT --origin b.test=$OB@$PORT --origin stub.test=$OS@$PORT \
	--cache-size 1M --max-object 128K --purge-allow 127.65.0.50/32 \
	--connect-timeout 1000 --origin-timeout 5000 --drain-delay 2000 --log-level debug
pid_e=$LAST_BG_PID
wait_log "$pid_b" "listening on 127\.65\.0\.12@$PORT"
wait_log "$pid_s" "stub origin listening"
wait_log "$pid_e" "listening on 127\.65\.0\.1@$PORT"

# --- MISS then HIT, Age grows ------------------------------------------------
expect "first GET" "$(get m1 a.test /obj.txt)" "200 MISS"
expect "first body" "$(cat "$tmp/m1.body")" "object A"
expect "second GET" "$(get m2 a.test /obj.txt)" "200 HIT"
expect "second body" "$(cat "$tmp/m2.body")" "object A"
age1=$(hdr "$tmp/m2.h" Age)
[[ $age1 =~ ^[0-9]+$ ]] || fail "no Age on a HIT: '$age1'"
sleep 2 # time must pass for Age to grow (not a readiness wait)
expect "third GET" "$(get m3 a.test /obj.txt)" "200 HIT"
age3=$(hdr "$tmp/m3.h" Age)
((age3 >= age1 + 1)) || fail "Age did not grow: $age1 then $age3"
expect "origin fetched once" "$(grep -c '"GET /obj.txt ' "$tmp/origin-a.log")" 1
grep -qE '"GET /obj.txt HTTP/1.1" 200 9 [0-9]+ HIT$' "$tmp/edge.log" || fail "no HIT in the access log"
grep -qE '"GET /obj.txt HTTP/1.1" 200 9 [0-9]+ MISS$' "$tmp/edge.log" || fail "no MISS in the access log"
[ -z "$(hdr "$tmp/m2.h" Connection)" ] || fail "hop-by-hop Connection passed on"
say "MISS then HIT (Age $age1 -> $age3)"

# --- pipelining: a miss (answered later) and hits behind it, in order -----------------
printf 'GET /pipe1.txt HTTP/1.1\r\nHost: b.test\r\n\r\nGET /obj.txt HTTP/1.1\r\nHost: a.test\r\n\r\nGET /b.test/pipe1.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	"$CAIRN_HTTPPIPE" "$EDGE" "$PORT" >"$tmp/pipe"
expect "pipelined answers" "$(grep -ac '^HTTP/1.1 200 OK' "$tmp/pipe")" 3
expect "pipelined order" "$(grep -aE '^(pipe one|object A)$' "$tmp/pipe" | tr '\n' ,)" "pipe one,object A,pipe one,"
expect "pipelined X-Cache" "$(tr -d '\r' <"$tmp/pipe" | sed -n 's/^X-Cache: //p' | tr '\n' ,)" "MISS,HIT,HIT,"
say "pipelined miss + hits answered in order"

# --- routing -------------------------------------------------------------------
expect "Host b.test" "$(get r1 b.test /b.txt)" "200 MISS"
expect "Host b.test body" "$(cat "$tmp/r1.body")" "object B"
expect "Host with port" "$(get r2 b.test:8080 /b.txt)" "200 HIT"
# URL rewriting: http://EDGE/ORIGIN-HOST/path -> ORIGIN-HOST's /path (same entry).
expect "rewrite to b" "$(get r3 "$EDGE:$PORT" /b.test/b.txt)" "200 HIT"
expect "rewrite b body" "$(cat "$tmp/r3.body")" "object B"
expect "rewrite to a" "$(get r4 "$EDGE:$PORT" /a.test/obj.txt)" "200 HIT"
expect "rewrite a body" "$(cat "$tmp/r4.body")" "object A"
expect "unknown host" "$(get r5 nowhere.test /b.txt)" "404 MISS"
grep -q "no origin for host 'nowhere.test'" "$tmp/r5.body" || fail "404 body does not say why"
expect "b fetched once" "$(grep -c '"GET /b.txt ' "$tmp/origin-b.log")" 1
say "routing by Host and by /ORIGIN-HOST/path ok"

# --- Vary ----------------------------------------------------------------------
expect "vary gzip" "$(get v1 stub.test /vary -H 'Accept-Encoding: gzip')" "200 MISS"
expect "vary gzip body" "$(cat "$tmp/v1.body")" "enc=gzip"
expect "vary identity" "$(get v2 stub.test /vary -H 'Accept-Encoding: identity')" "200 MISS"
expect "vary identity body" "$(cat "$tmp/v2.body")" "enc=identity"
expect "vary gzip again" "$(get v3 stub.test /vary -H 'Accept-Encoding: gzip')" "200 HIT"
expect "vary gzip again body" "$(cat "$tmp/v3.body")" "enc=gzip"
expect "vary identity again" "$(get v4 stub.test /vary -H 'Accept-Encoding: identity')" "200 HIT"
expect "vary identity again body" "$(cat "$tmp/v4.body")" "enc=identity"
expect "vary fetches" "$(grep -c '^REQ GET /vary$' "$tmp/stub.log")" 2
# An unsafe method invalidates the URL (RFC 9111 4.4): both variants.
expect "POST" "$(curl -s -H 'Host: stub.test' -d x=1 "$URL/vary")" "posted"
expect "after POST" "$(get v5 stub.test /vary -H 'Accept-Encoding: gzip')" "200 MISS"
expect "after POST identity" "$(get v6 stub.test /vary -H 'Accept-Encoding: identity')" "200 MISS"
# Chunked from the origin: stored, answered with a length.
expect "chunked" "$(get c1 stub.test /chunked)" "200 MISS"
expect "chunked body" "$(cat "$tmp/c1.body")" "one two three"
expect "chunked again" "$(get c2 stub.test /chunked)" "200 HIT"
expect "chunked length" "$(hdr "$tmp/c2.h" Content-Length)" 14
say "Vary, POST invalidation, chunked ok"

# --- no-store, large objects ----------------------------------------------------
expect "no-store 1" "$(get n1 a.test /nostore/n.txt)" "200 MISS"
expect "no-store 2" "$(get n2 a.test /nostore/n.txt)" "200 MISS"
expect "no-store body" "$(cat "$tmp/n2.body")" "never stored"
expect "no-store fetches" "$(grep -c '"GET /nostore/n.txt ' "$tmp/origin-a.log")" 2
expect "large 1" "$(get l1 a.test /large.bin)" "200 MISS"
cmp "$tmp/l1.body" "$rootA/large.bin" || fail "large object (streamed) differs"
expect "large 2" "$(get l2 a.test /large.bin)" "200 MISS"
cmp "$tmp/l2.body" "$rootA/large.bin" || fail "large object (streamed) differs"
# A range of a streamed object is cut from the stream.
expect "streamed range" "$(get l3 a.test /large.bin -r 1000-1999)" "206 MISS"
expect "streamed Content-Range" "$(hdr "$tmp/l3.h" Content-Range)" "bytes 1000-1999/300000"
tail -c +1001 "$rootA/large.bin" | head -c 1000 | cmp - "$tmp/l3.body" || fail "streamed range differs"
expect "streamed range tail" "$(get l4 a.test /large.bin -r -10)" "206 MISS"
tail -c 10 "$rootA/large.bin" | cmp - "$tmp/l4.body" || fail "streamed suffix range differs"
expect "streamed range unsatisfiable" "$(get l5 a.test /large.bin -r 400000-)" "416 MISS"
say "no-store never HIT; objects above max-object streamed (ranges cut from the stream)"

# --- revalidation, clients' conditionals ---------------------------------------------
expect "short 1" "$(get s1 a.test /short/s.txt)" "200 MISS"
etag=$(hdr "$tmp/s1.h" ETag)
[ -n "$etag" ] || fail "no ETag"
sleep 2 # let max-age=1 run out
expect "short stale" "$(get s2 a.test /short/s.txt)" "200 REVALIDATED"
expect "short body" "$(cat "$tmp/s2.body")" "short-lived"
grep -qE '"GET /short/s.txt HTTP/1.1" 304 ' "$tmp/origin-a.log" || fail "the origin did not answer 304"
expect "short fetches" "$(grep -c '"GET /short/s.txt ' "$tmp/origin-a.log")" 2
# The client's If-None-Match, answered by the edge.
expect "INM from cache" "$(get i1 a.test /obj.txt -H "If-None-Match: $(hdr "$tmp/m1.h" ETag)")" "304 HIT"
[ ! -s "$tmp/i1.body" ] || fail "304 with a body"
expect "INM mismatch" "$(get i2 a.test /obj.txt -H 'If-None-Match: "other"')" "200 HIT"
expect "IMS from cache" "$(get i3 a.test /obj.txt -H "If-Modified-Since: $(hdr "$tmp/m1.h" Last-Modified)")" "304 HIT"
# Ranges of a stored object, from the cache.
expect "range" "$(get g1 a.test /obj.txt -r 0-5)" "206 HIT"
expect "range body" "$(cat "$tmp/g1.body")" "object"
expect "Content-Range" "$(hdr "$tmp/g1.h" Content-Range)" "bytes 0-5/9"
expect "suffix range" "$(get g2 a.test /obj.txt -r -2)" "206 HIT"
expect "suffix body" "$(cat "$tmp/g2.body")" "A"
expect "unsatisfiable range" "$(get g3 a.test /obj.txt -r 100-)" "416 HIT"
expect "If-Range other" "$(get g4 a.test /obj.txt -r 0-5 -H 'If-Range: "other"')" "200 HIT"
expect "If-Range other body" "$(cat "$tmp/g4.body")" "object A"
expect "obj still fetched once" "$(grep -c '"GET /obj.txt ' "$tmp/origin-a.log")" 1
say "REVALIDATED after max-age=1 (origin 304); client conditionals 304 from the cache"

# --- request collapsing ----------------------------------------------------------------
cpids=()
for i in $(seq 1 20); do
	curl -s -H 'Host: stub.test' -D "$tmp/col$i.h" -o "$tmp/col$i.body" "$URL/hold/c1" &
	cpids+=($!)
done
# 19 of them join the first one's fetch (the stub holds it until released).
deadline=$((SECONDS + 20))
while (($(grep -c 'stub.test /hold/c1: joins the fetch in flight' "$tmp/edge.log") < 19)); do
	((SECONDS < deadline)) || fail "only $(grep -c 'joins the fetch' "$tmp/edge.log") requests collapsed"
	check_alive "$pid_e"
	sleep 0.05
done
# Meanwhile the edge serves others: a held origin fetch blocks nobody else.
expect "HIT while a fetch is held" "$(get h1 a.test /obj.txt --max-time 5)" "200 HIT"
expect "MISS while a fetch is held" "$(get h2 b.test /b2.txt --max-time 5)" "404 MISS"
touch "$tmp/stub/release-c1"
for p in "${cpids[@]}"; do wait "$p" || fail "a collapsed request failed"; done
for i in $(seq 1 20); do
	expect "collapsed body $i" "$(cat "$tmp/col$i.body")" "held c1"
	expect "collapsed status $i" "$(head -1 "$tmp/col$i.h" | cut -d' ' -f2)" 200
done
expect "one fetch for 20 clients" "$(grep -c '^REQ GET /hold/c1$' "$tmp/stub.log")" 1
say "20 concurrent misses, 1 origin fetch; others served meanwhile"

# --- an origin that does not answer: 504 after --origin-timeout --------------------------
expect "origin timeout" "$(get t1 stub.test /hold/never)" "504 MISS"
say "silent origin: 504"

# --- stale-while-revalidate --------------------------------------------------------------
expect "swr prime" "$(get w1 a.test /swr/w.txt)" "200 MISS"
sleep 2 # let max-age=1 run out
expect "swr stale" "$(get w2 a.test /swr/w.txt)" "200 STALE"
expect "swr body" "$(cat "$tmp/w2.body")" "revalidated in the background"
# The background revalidation reaches the origin (304) and refreshes the entry.
deadline=$((SECONDS + 20))
until grep -qE '"GET /swr/w.txt HTTP/1.1" 304 ' "$tmp/origin-a.log"; do
	((SECONDS < deadline)) || fail "no background revalidation"
	sleep 0.05
done
deadline=$((SECONDS + 20))
until [ "$(get w3 a.test /swr/w.txt)" = "200 HIT" ]; do
	((SECONDS < deadline)) || fail "entry not refreshed by the background revalidation"
	sleep 0.05
done
# HEAD of a stored object: the head alone. (Of /obj.txt, fresh for 300 s: /swr/w.txt
# is fresh for 1 s only, a window a slow run can miss.)
expect "HEAD hit" "$(get hd a.test /obj.txt -I)" "200 HIT"
expect "HEAD length" "$(hdr "$tmp/hd.h" Content-Length)" 9
say "stale-while-revalidate: STALE at once, refreshed in the background"

# --- stale-if-error --------------------------------------------------------------------
expect "sie prime" "$(get e1 a.test /sie/x.txt)" "200 MISS"
expect "nosie prime" "$(get e2 a.test /nosie/y.txt)" "200 MISS"
stop_bg "$pid_a" || fail "origin a exit status $?"
sleep 2 # let max-age=1 run out
expect "origin down, stale-if-error" "$(get e3 a.test /sie/x.txt)" "200 STALE"
expect "stale body" "$(cat "$tmp/e3.body")" "stale is fine"
expect "origin down, no stale-if-error" "$(get e4 a.test /nosie/y.txt)" "502 MISS"
expect "origin down, fresh still HIT" "$(get e5 a.test /obj.txt)" "200 HIT"
expect "origin down, miss" "$(get e6 a.test /fill/f1.bin)" "502 MISS"
start_origin_a
expect "origin back" "$(get e7 a.test /nosie/y.txt)" "200 REVALIDATED"
say "origin down: STALE within stale-if-error, else 502"

# --- PURGE -----------------------------------------------------------------------------
purge() { curl -s -o /dev/null -w '%{http_code}' -X PURGE -H "Host: $1" --interface "$2" "$URL$3"; }
expect "PURGE refused" "$(purge a.test 127.65.0.99 /obj.txt)" 403
expect "still cached" "$(get p1 a.test /obj.txt)" "200 HIT"
expect "PURGE" "$(purge a.test 127.65.0.50 /obj.txt)" 200
expect "PURGE again" "$(purge a.test 127.65.0.50 /obj.txt)" 404
expect "after PURGE" "$(get p2 a.test /obj.txt)" "200 MISS"
# Every variant goes.
get p3 stub.test /vary -H 'Accept-Encoding: gzip' >/dev/null
get p4 stub.test /vary -H 'Accept-Encoding: identity' >/dev/null
curl -s -X PURGE -H 'Host: stub.test' --interface 127.65.0.50 "$URL/vary" >"$tmp/purge.out"
expect "PURGE variants" "$(cat "$tmp/purge.out")" "purged 2"
expect "PURGE via rewrite form" "$(purge "$EDGE" 127.65.0.50 /stub.test/chunked)" 200
say "PURGE ok (403 from 127.65.0.99)"

# --- health, cache-size bound --------------------------------------------------------------
curl -s -D "$tmp/health.h" "$URL/health" -o "$tmp/health"
expect "health" "$(head -1 "$tmp/health.h" | cut -d' ' -f2)" 200
expect "health says" "$(head -1 "$tmp/health")" serving
for i in $(seq 1 30); do
	get f$i a.test /fill/f$i.bin >/dev/null
	cmp "$tmp/f$i.body" "$rootA/fill/f$i.bin" || fail "fill object $i differs"
done
curl -s "$URL/health" -o "$tmp/health2"
bytes=$(awk '$1=="bytes"{print $2}' "$tmp/health2")
maxb=$(awk '$1=="max-bytes"{print $2}' "$tmp/health2")
evict=$(awk '$1=="evictions"{print $2}' "$tmp/health2")
((bytes <= maxb)) || fail "cache holds $bytes bytes, more than $maxb"
((evict >= 20)) || fail "only $evict evictions after 3 MB through a 1 MB cache"
expect "newest still cached" "$(get f30b a.test /fill/f30.bin)" "200 HIT"
expect "oldest evicted" "$(get f1b a.test /fill/f1.bin)" "200 MISS"
rss=$(awk '/^VmRSS/{print $2}' "/proc/$pid_e/status")
say "cache bounded: $bytes of $maxb bytes, $evict evictions (RSS ${rss} kB, with ASan)"

# --- SIGTERM: health 503, the download in flight completes, exit 0 -----------------------
curl -s -H 'Host: a.test' --limit-rate 2M "$URL/big.bin" -o "$tmp/big.out" &
slow=$!
for ((i = 0; i < 200; i++)); do
	[ -s "$tmp/big.out" ] && break
	sleep 0.05
done
[ -s "$tmp/big.out" ] || fail "slow download did not start"
kill -TERM "$pid_e"
wait_log "$pid_e" 'signal 15: shutting down'
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/health" || true)
expect "health while draining" "$c" 503
wait "$slow" || fail "download failed during the drain"
cmp "$rootA/big.bin" "$tmp/big.out" || fail "download cut short by SIGTERM"
wait_exit "$pid_e" 10 || fail "cairn-edge exit status $? after SIGTERM"
grep -q 'stopped:' "$tmp/edge.log" || fail "no clean stop in the log"
say "SIGTERM: health 503 while draining, download finished, exit 0"
say PASS

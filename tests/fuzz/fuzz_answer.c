/*
 * fuzz_answer.c -- libFuzzer target for the answer engine: any bytes as a
 * query to auth_answer() over a small fixed zone set (CNAME chains and a loop,
 * DNAME, wildcards, a delegation with glue, a large RRset, two zones).
 *
 * Input: byte 0 chooses the transport (bit 0: TCP) and the output buffer size
 * (bit 1: 512 instead of 65535); the rest is the DNS message.
 * Checks: never a crash or sanitizer report; the reply fits the size limit
 * (512 / EDNS size clamped to 1232 / 65535), is a response with the query's
 * ID and at most one question, and when a reply is given for a query that
 * parsed, its header counts match what the bytes hold (parsed back with our
 * own reader).
 *
 * Built by `make fuzz` (tests/fuzz/CMakeLists.txt) with the other targets.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth_answer.h"
#include "auth_zone.h"
#include "dns_cursor.h"
#include "dns_err.h"
#include "dns_mem.h"
#include "dns_name.h"
#include "dns_pkt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct auth_zoneset *set;

static const char zone_a[] =
	"$TTL 3600\n"
	"@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
	"  NS ns1\n  NS ns2.fuzz.test.\n  MX 10 mail\n"
	"ns1 A 192.0.2.53\nns2 A 192.0.2.54\n  AAAA 2001:db8::54\n"
	"mail A 192.0.2.25\nwww A 192.0.2.80\n  TXT \"hello\"\n"
	"alias CNAME www\nc1 CNAME c2\nc2 CNAME alias\nl1 CNAME l2\nl2 CNAME l1\n"
	"ext CNAME www.other.test.\n"
	"*.wild A 192.0.2.99\n*.wc CNAME www\na.b.ent A 192.0.2.7\n"
	"_s._udp SRV 0 5 5060 www\n"
	"dn DNAME target.fuzz.test.\ntarget A 192.0.2.111\nx.target A 192.0.2.112\n"
	"long DNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.\n"
	"sub NS ns.sub\nsub NS ns.elsewhere.test.\nsub DS 1 8 2 00\nns.sub A 192.0.2.200\n"
	"big TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n"
	"big TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n"
	"big TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"\n"
	"big TXT \"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"\n"
	"big TXT \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"\n"
	"big TXT \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"\n";

static const char zone_b[] =
	"$TTL 600\n@ SOA ns h 7 3600 600 86400 60\n  NS ns\nns A 198.51.100.1\n"
	"www A 198.51.100.80\nback CNAME alias.fuzz.test.\n";

static struct auth_zone *load(const char *origin, const char *text)
{
	uint8_t o[DNS_NAME_MAX];
	size_t ol;
	struct auth_zone *z = NULL;
	char err[1024];
	require(dns_name_from_str(origin, NULL, o, &ol) == 0);
	if (auth_zone_load_string(dns_mm_std(), o, text, origin, &z, err, sizeof(err)) != 0)
		abort(); /* the fixed zones must load */
	return z;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct auth_zoneset_builder *b;
	struct auth_zone *a = load("fuzz.test.", zone_a), *o = load("other.test.", zone_b);
	require(auth_zoneset_builder_new(dns_mm_std(), &b) == 0);
	require(auth_zoneset_builder_add(b, a) == 0);
	require(auth_zoneset_builder_add(b, o) == 0);
	require(auth_zoneset_builder_finish(b, &set) == 0);
	auth_zone_unref(a);
	auth_zone_unref(o);
	return 0;
}

/* Walk the reply's sections with the bounds-checked reader: counts must match. */
static void check_reply(const uint8_t *r, size_t len)
{
	struct dns_header h;
	struct dns_cursor c;
	require(dns_header_parse(r, len, &h) == 0);
	require(h.flags & DNS_FLAG_QR);
	require(h.qdcount <= 1);
	dns_cursor_init(&c, r, len);
	c.pos = DNS_HEADER_LEN;
	if (h.qdcount) {
		require(dns_cursor_skip_name(&c) == 0);
		require(dns_cursor_skip(&c, 4) == 0);
	}
	unsigned n = (unsigned)h.ancount + h.nscount + h.arcount;
	for (unsigned i = 0; i < n; i++) {
		uint16_t rdlen;
		require(dns_cursor_skip_name(&c) == 0);
		require(dns_cursor_skip(&c, 8) == 0);
		require(dns_cursor_u16(&c, &rdlen) == 0);
		require(dns_cursor_skip(&c, rdlen) == 0);
	}
	require(dns_cursor_left(&c) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_MSG_MAX];
	struct auth_client client = { .family = 4, .addr = { 192, 0, 2, 1 } };
	struct auth_answer_info info;
	size_t outlen, cap;

	if (size < 1)
		return 0;
	client.tcp = data[0] & 1;
	cap = (data[0] & 2) ? DNS_UDP_MIN : sizeof(out);
	data++;
	size--;

	require(auth_answer(set, data, size, &client, NULL, out, cap, &outlen, &info) == 0);
	if (outlen == 0) {
		require(info.dropped);
		return 0;
	}
	require(outlen <= cap);
	if (!client.tcp) {
		struct dns_query q;
		size_t limit = DNS_UDP_MIN;
		/* without EDNS 512; with it the client's size clamped to [512, AUTH_EDNS_SIZE]
		 * (auth_answer.h) -- a server ignoring a client's 600-byte limit fails here */
		if (dns_query_parse(data, size, &q, NULL) == DNS_QUERY_OK && q.has_opt) {
			limit = q.edns.udp_size;
			if (limit < DNS_UDP_MIN)
				limit = DNS_UDP_MIN;
			if (limit > AUTH_EDNS_SIZE)
				limit = AUTH_EDNS_SIZE;
		}
		require(outlen <= limit);
	}
	require(out[0] == data[0] && out[1] == data[1]); /* the query's ID */
	check_reply(out, outlen);
	return 0;
}

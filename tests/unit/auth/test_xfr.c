/*
 * Unit tests of auth_xfr: serial arithmetic, AXFR out and in (round trips over
 * one and many messages, compressed RDATA, rejected responses), NOTIFY and SOA
 * query messages, the kept-copy text form and the refresh state machine with a
 * fake clock. No sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth_xfr.h"
#include "auth_zone.h"
#include "dns_err.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"

/* ---- helpers ------------------------------------------------------------------ */

#include "test_mm.h"

static const char zone_text[] =
	"$ORIGIN example.test.\n"
	"$TTL 3600\n"
	"@ IN SOA ns1 hostmaster 7 3600 600 86400 300\n"
	"@ NS ns1\n"
	"@ NS ns2.other.test.\n"
	"@ MX 10 mail\n"
	"@ TXT \"v=spf1 -all\"\n"
	"ns1 A 192.0.2.1\n"
	"mail A 192.0.2.2\n"
	"mail AAAA 2001:db8::2\n"
	"www CNAME ns1\n"
	"_sip._tcp SRV 10 60 5060 mail\n"
	"ptr PTR www.example.test.\n"
	"caa CAA 0 issue \"ca.test\"\n"
	"unk TYPE65280 \\# 4 0a000001\n"
	"sub NS ns.sub\n"
	"ns.sub A 192.0.2.53\n"
	"*.wild A 192.0.2.9\n"
	"naptr NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp\n"
	"sshfp SSHFP 1 1 123456789abcdef67890123456789abcdef67890\n"
	"tlsa TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"quote TXT \"a \\\"quoted\\\" word; and a semicolon\" \"\\010\"\n"
	"loc LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m\n"
	"hinfo HINFO \"PC\" \"Linux\"\n"
	"ds DS 12345 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";

static struct auth_zone *load(const char *origin_text, const char *text)
{
	uint8_t origin[DNS_NAME_MAX];
	struct auth_zone *z = NULL;
	char err[1024] = "";

	assert_int_equal(dns_name_from_str(origin_text, NULL, origin, NULL), 0);
	int r = auth_zone_load_string(&tmm, origin, text, "test", &z, err, sizeof(err));
	if (r != 0)
		fail_msg("load: %s", err);
	return z;
}

static void name_of(const char *text, uint8_t *out)
{
	assert_int_equal(dns_name_from_str(text, NULL, out, NULL), 0);
}

/* An AXFR query for the zone, parsed as the server would see it. */
static void axfr_query(struct dns_query *q, const char *zone, uint16_t id)
{
	uint8_t name[DNS_NAME_MAX], buf[512];
	name_of(zone, name);
	int len = auth_xfr_axfr_query_write(buf, sizeof(buf), id, name);
	assert_true(len > 0);
	assert_int_equal(dns_query_parse(buf, (size_t)len, q, NULL), DNS_QUERY_OK);
	assert_int_equal(q->qtype, DNS_T_AXFR);
}

/* Same records in the same AXFR order. */
static void assert_zones_equal(const struct auth_zone *a, const struct auth_zone *b)
{
	struct auth_zone_iter ia, ib;
	struct auth_rr_view ra, rb;
	size_t n = 0;

	auth_zone_iter_init(&ia, a);
	auth_zone_iter_init(&ib, b);
	for (;;) {
		bool ha = auth_zone_iter_next(&ia, &ra), hb = auth_zone_iter_next(&ib, &rb);
		assert_int_equal(ha, hb);
		if (!ha)
			break;
		assert_true(dns_name_eq(ra.owner, rb.owner));
		assert_int_equal(ra.type, rb.type);
		assert_int_equal(ra.ttl, rb.ttl);
		assert_int_equal(ra.rdlen, rb.rdlen);
		assert_memory_equal(ra.rdata, rb.rdata, ra.rdlen);
		n++;
	}
	assert_int_equal(n, auth_zone_rr_count(a) + 1);
}

/* Send z as an AXFR in messages of cap bytes and receive it back. */
static void round_trip(const struct auth_zone *z, size_t cap, size_t *msgs_out)
{
	static uint8_t buf[65535];
	struct dns_query q;
	struct auth_axfr_out o;
	struct auth_axfr_in in;
	struct auth_zone *copy = NULL;
	char err[512];
	int r, done = 0;
	size_t msgs = 0;

	/* The writer compresses case-insensitively, so RDATA names pointing at a
	 * question in another case would take its case: ask in the zone's. */
	axfr_query(&q, "example.test.", 0x4242);
	auth_axfr_out_init(&o, z, &q);
	assert_int_equal(auth_axfr_in_init(&in, &tmm, auth_zone_origin(z), 0x4242), 0);
	while ((r = auth_axfr_out_next(&o, buf, cap)) > 0) {
		struct dns_header h;
		assert_true((size_t)r <= cap);
		assert_int_equal(dns_header_parse(buf, (size_t)r, &h), 0);
		assert_int_equal(h.id, 0x4242);
		assert_true(h.flags & DNS_FLAG_QR);
		assert_true(h.flags & DNS_FLAG_AA);
		assert_int_equal(h.qdcount, msgs == 0 ? 1 : 0);
		assert_true(h.ancount > 0);
		assert_int_equal(done, 0);
		done = auth_axfr_in_feed(&in, buf, (size_t)r);
		if (done < 0)
			fail_msg("feed: %s", in.why);
		msgs++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(done, 1);
	assert_int_equal(o.rrs, auth_zone_rr_count(z) + 1);
	assert_int_equal(in.rrs, o.rrs);
	assert_int_equal(in.serial, auth_zone_serial(z));
	r = auth_axfr_in_finish(&in, &copy, err, sizeof(err));
	if (r != 0)
		fail_msg("finish: %s", err);
	auth_axfr_in_deinit(&in);
	assert_zones_equal(z, copy);
	auth_zone_unref(copy);
	*msgs_out = msgs;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_serial(void **state)
{
	(void)state;
	assert_int_equal(auth_serial_cmp(1, 1), 0);
	assert_true(auth_serial_cmp(1, 2) < 0);
	assert_true(auth_serial_cmp(2, 1) > 0);
	/* RFC 1982 3.2: wrapping around. */
	assert_true(auth_serial_cmp(0xffffffffu, 0) < 0);
	assert_true(auth_serial_cmp(0, 0xffffffffu) > 0);
	assert_true(auth_serial_cmp(0x7fffffffu, 0) > 0);
	assert_true(auth_serial_cmp(0x80000001u, 0) < 0);
	/* Exactly 2^31 apart: undefined, never taken as newer. */
	assert_true(auth_serial_cmp(0x80000000u, 0) < 0);
	assert_true(auth_serial_cmp(0, 0x80000000u) < 0);
}

static void test_axfr_single_message(void **state)
{
	size_t msgs;
	(void)state;
	struct auth_zone *z = load("example.test.", zone_text);
	round_trip(z, 65535, &msgs);
	assert_int_equal(msgs, 1);
	auth_zone_unref(z);
}

static void test_axfr_many_messages(void **state)
{
	size_t msgs;
	(void)state;
	struct auth_zone *z = load("example.test.", zone_text);
	round_trip(z, 160, &msgs);
	assert_true(msgs > 3);

	/* A bigger zone: 2000 hosts over 64K messages. */
	size_t cap = 2000 * 200 + 1024;
	char *big = malloc(cap), *p = big;
	p += sprintf(p, "%s", zone_text);
	for (int i = 0; i < 2000; i++)
		p += sprintf(p, "host%d A 10.%d.%d.%d\nhost%d TXT \"%0120d\"\n", i, i >> 16,
			(i >> 8) & 255, i & 255, i, i);
	struct auth_zone *zb = load("example.test.", big);
	round_trip(zb, 65535, &msgs);
	assert_true(msgs > 1);
	auth_zone_unref(zb);
	free(big);
	auth_zone_unref(z);
}

static void test_axfr_out_edns_and_space(void **state)
{
	static uint8_t buf[65535];
	struct dns_query q;
	struct auth_axfr_out o;
	uint8_t qbuf[512], origin[DNS_NAME_MAX];
	(void)state;
	struct auth_zone *z = load("example.test.", zone_text);

	/* A query with EDNS gets an OPT in each message. */
	name_of("example.test.", origin);
	struct dns_writer w;
	dns_writer_init(&w, qbuf, sizeof(qbuf));
	assert_int_equal(dns_writer_question(&w, origin, DNS_T_AXFR, DNS_CLASS_IN), 0);
	assert_int_equal(dns_writer_opt(&w, 1232, 0, 0, NULL, 0), 0);
	size_t ql = dns_writer_finish(&w, 7, 0);
	assert_int_equal(dns_query_parse(qbuf, ql, &q, NULL), DNS_QUERY_OK);
	auth_axfr_out_init(&o, z, &q);
	int r, n = 0;
	while ((r = auth_axfr_out_next(&o, buf, 200)) > 0) {
		struct dns_header h;
		dns_header_parse(buf, (size_t)r, &h);
		assert_int_equal(h.arcount, 1);
		assert_true(r <= 200);
		n++;
	}
	assert_int_equal(r, 0);
	assert_true(n > 2);

	/* A record that cannot fit even alone. */
	auth_axfr_out_init(&o, z, &q);
	assert_int_equal(auth_axfr_out_next(&o, buf, 40), DNS_E_SPACE);
	auth_zone_unref(z);
}

/* Build a response message by hand: header, question, then raw answer bytes. */
static size_t hand_msg(uint8_t *buf, uint16_t id, uint16_t flags, bool question,
	uint16_t ancount, const uint8_t *answers, size_t alen)
{
	static const uint8_t q[] = "\7example\4test\0\0\xfc\0\1";
	size_t n = DNS_HEADER_LEN;
	struct dns_header h = { .id = id, .flags = flags, .qdcount = question ? 1 : 0,
		.ancount = ancount };
	dns_header_write(buf, &h);
	if (question) {
		memcpy(buf + n, q, sizeof(q) - 1);
		n += sizeof(q) - 1;
	}
	if (alen)
		memcpy(buf + n, answers, alen);
	return n + alen;
}

/*
 * Answer records written against a message whose question name sits at offset
 * 12 (pointer c0 0c = example.test.).
 */
static const uint8_t soa_rr[] = {
	0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 0x0e, 0x10, 0, 28,
	3, 'n', 's', '1', 0xc0, 0x0c,   /* mname ns1.example.test. compressed */
	0xc0, 0x0c,                     /* rname example.test. compressed */
	0, 0, 0, 9, 0, 0, 0x0e, 0x10, 0, 0, 0x02, 0x58, 0, 1, 0x51, 0x80, 0, 0, 1, 0x2c,
};
static const uint8_t ns_rr[] = {
	0xc0, 0x0c, 0, 2, 0, 1, 0, 0, 0x0e, 0x10, 0, 6,
	3, 'n', 's', '1', 0xc0, 0x0c,
};
static const uint8_t a_rr[] = {
	3, 'n', 's', '1', 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1,
};
/* SRV with a compressed target (SHOULD be decompressed, RFC 3597 4). */
static const uint8_t srv_rr[] = {
	4, '_', 's', 'i', 'p', 0xc0, 0x0c, 0, 33, 0, 1, 0, 0, 0x0e, 0x10, 0, 12,
	0, 10, 0, 60, 0x13, 0xc4, 3, 'n', 's', '1', 0xc0, 0x0c,
};

static void test_axfr_in_compressed_multi(void **state)
{
	uint8_t m1[512], m2[512], m3[512], ans[256];
	size_t l1, l2, l3, n;
	struct auth_axfr_in in;
	struct auth_zone *z = NULL;
	char err[512];
	uint8_t origin[DNS_NAME_MAX];
	(void)state;

	name_of("EXAMPLE.test.", origin);
	/* Message 1: SOA and NS. */
	n = 0;
	memcpy(ans + n, soa_rr, sizeof(soa_rr)), n += sizeof(soa_rr);
	memcpy(ans + n, ns_rr, sizeof(ns_rr)), n += sizeof(ns_rr);
	l1 = hand_msg(m1, 99, DNS_FLAG_QR | DNS_FLAG_AA, true, 2, ans, n);
	/* Message 2: A and SRV, question repeated. */
	n = 0;
	memcpy(ans + n, a_rr, sizeof(a_rr)), n += sizeof(a_rr);
	memcpy(ans + n, srv_rr, sizeof(srv_rr)), n += sizeof(srv_rr);
	l2 = hand_msg(m2, 99, DNS_FLAG_QR | DNS_FLAG_AA, true, 2, ans, n);
	/* Message 3: the closing SOA alone. */
	l3 = hand_msg(m3, 99, DNS_FLAG_QR | DNS_FLAG_AA, true, 1, soa_rr, sizeof(soa_rr));

	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 99), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m1, l1), 0);
	assert_int_equal(in.serial, 9);
	assert_int_equal(auth_axfr_in_feed(&in, m2, l2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m3, l3), 1);
	assert_int_equal(in.rrs, 5);
	assert_int_equal(auth_axfr_in_finish(&in, &z, err, sizeof(err)), 0);
	auth_axfr_in_deinit(&in);

	struct auth_zone *want = load("example.test.",
		"$ORIGIN example.test.\n"
		"@ 3600 SOA ns1 example.test. 9 3600 600 86400 300\n"
		"@ 3600 NS ns1\n"
		"ns1 3600 A 192.0.2.1\n"
		"_sip 3600 SRV 10 60 5060 ns1\n");
	assert_zones_equal(want, z);
	struct auth_soa soa;
	auth_zone_soa(z, &soa);
	assert_int_equal(soa.serial, 9);
	assert_int_equal(soa.refresh, 3600);
	assert_int_equal(soa.retry, 600);
	assert_int_equal(soa.expire, 86400);
	auth_zone_unref(want);
	auth_zone_unref(z);
}

/* Rejected by the first message's header or question. */
static void rejects_first_message(const uint8_t *origin)
{
	uint8_t m[1024];
	struct auth_axfr_in in;
	struct auth_zone *z = NULL;
	char err[256];
	size_t l;

	/* Wrong ID. */
	l = hand_msg(m, 1, DNS_FLAG_QR | DNS_FLAG_AA, true, 1, soa_rr, sizeof(soa_rr));
	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l), DNS_E_FORMAT);
	assert_int_equal(in.state, AUTH_AXFR_IN_FAILED);
	assert_non_null(in.why);
	/* Once failed, stays failed; finish refuses. */
	assert_int_equal(auth_axfr_in_feed(&in, m, l), DNS_E_FORMAT);
	assert_int_equal(auth_axfr_in_finish(&in, &z, err, sizeof(err)), DNS_E_FORMAT);
	assert_null(z);
	auth_axfr_in_deinit(&in);
	auth_axfr_in_deinit(&in);

	/* REFUSED. */
	l = hand_msg(m, 2, DNS_FLAG_QR | DNS_RC_REFUSED, true, 0, NULL, 0);
	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l), DNS_E_UNSUPPORTED);
	assert_int_equal(in.rcode, DNS_RC_REFUSED);
	auth_axfr_in_deinit(&in);

	/* First record not the SOA. */
	l = hand_msg(m, 2, DNS_FLAG_QR | DNS_FLAG_AA, true, 1, ns_rr, sizeof(ns_rr));
	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l), DNS_E_FORMAT);
	auth_axfr_in_deinit(&in);

	/* Question for another zone. */
	uint8_t other[DNS_NAME_MAX];
	name_of("other.test.", other);
	l = hand_msg(m, 2, DNS_FLAG_QR | DNS_FLAG_AA, true, 1, soa_rr, sizeof(soa_rr));
	assert_int_equal(auth_axfr_in_init(&in, &tmm, other, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l), DNS_E_FORMAT);
	auth_axfr_in_deinit(&in);

	/* No question in the first message. */
	l = hand_msg(m, 2, DNS_FLAG_QR | DNS_FLAG_AA, false, 0, NULL, 0);
	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l), DNS_E_FORMAT);
	auth_axfr_in_deinit(&in);
}

/* Rejected by the records and the messages that follow the first SOA. */
static void rejects_records(const uint8_t *origin)
{
	uint8_t m[1024], ans[256];
	struct auth_axfr_in in;
	struct auth_zone *z = NULL;
	char err[256];
	size_t l, n;

	/* Records after the closing SOA, in the same message. */
	n = 0;
	memcpy(ans + n, soa_rr, sizeof(soa_rr)), n += sizeof(soa_rr);
	memcpy(ans + n, ns_rr, sizeof(ns_rr)), n += sizeof(ns_rr);
	memcpy(ans + n, soa_rr, sizeof(soa_rr)), n += sizeof(soa_rr);
	memcpy(ans + n, a_rr, sizeof(a_rr)), n += sizeof(a_rr);
	l = hand_msg(m, 2, DNS_FLAG_QR | DNS_FLAG_AA, true, 4, ans, n);
	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l), DNS_E_FORMAT);
	auth_axfr_in_deinit(&in);

	/* A message after the end. */
	l = hand_msg(m, 2, DNS_FLAG_QR | DNS_FLAG_AA, true, 3, ans, n - sizeof(a_rr));
	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l), 1);
	assert_int_equal(auth_axfr_in_feed(&in, m, l), DNS_E_FORMAT);
	auth_axfr_in_deinit(&in);

	/* Truncated message (RDATA cut), and trailing garbage. */
	l = hand_msg(m, 2, DNS_FLAG_QR | DNS_FLAG_AA, true, 1, soa_rr, sizeof(soa_rr));
	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l - 3), DNS_E_FORMAT);
	auth_axfr_in_deinit(&in);
	m[l] = 0;
	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l + 1), DNS_E_FORMAT);
	auth_axfr_in_deinit(&in);

	/* Incomplete transfer: finish refuses. */
	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l), 0);
	assert_int_equal(auth_axfr_in_finish(&in, &z, err, sizeof(err)), DNS_E_FORMAT);
	auth_axfr_in_deinit(&in);

	/* A complete transfer of a bad zone (no NS): the zone checks report it. */
	memcpy(ans, soa_rr, sizeof(soa_rr));
	memcpy(ans + sizeof(soa_rr), a_rr, sizeof(a_rr));
	memcpy(ans + sizeof(soa_rr) + sizeof(a_rr), soa_rr, sizeof(soa_rr));
	l = hand_msg(m, 2, DNS_FLAG_QR | DNS_FLAG_AA, true, 3, ans,
		2 * sizeof(soa_rr) + sizeof(a_rr));
	assert_int_equal(auth_axfr_in_init(&in, &tmm, origin, 2), 0);
	assert_int_equal(auth_axfr_in_feed(&in, m, l), 1);
	assert_int_equal(auth_axfr_in_finish(&in, &z, err, sizeof(err)), DNS_E_ZONE);
	assert_non_null(strstr(err, "NS"));
	assert_null(z);
	auth_axfr_in_deinit(&in);
}

static void test_axfr_in_rejects(void **state)
{
	uint8_t origin[DNS_NAME_MAX];
	(void)state;

	name_of("example.test.", origin);
	rejects_first_message(origin);
	rejects_records(origin);
}

static void test_notify_messages(void **state)
{
	uint8_t buf[512], rep[512];
	struct dns_query q;
	uint8_t rcode;
	(void)state;
	struct auth_zone *z = load("example.test.", zone_text);

	int len = auth_xfr_notify_write(buf, sizeof(buf), 0x1234, z);
	assert_true(len > 0);
	/* The server side parses it as a query with opcode NOTIFY. */
	assert_int_equal(dns_query_parse(buf, (size_t)len, &q, NULL), DNS_QUERY_OK);
	assert_int_equal(DNS_OPCODE(q.hdr.flags), DNS_OP_NOTIFY);
	assert_true(q.hdr.flags & DNS_FLAG_AA);
	assert_int_equal(q.qtype, DNS_T_SOA);
	assert_int_equal(q.hdr.ancount, 1);
	assert_true(dns_name_eq(q.qname, auth_zone_origin(z)));

	/* The reply echoes it; the sender accepts that and only that. */
	int rl = auth_xfr_reply_write(rep, sizeof(rep), &q, DNS_RC_NOERROR);
	assert_true(rl > 0);
	struct dns_header h;
	dns_header_parse(rep, (size_t)rl, &h);
	assert_true(h.flags & DNS_FLAG_QR);
	assert_true(h.flags & DNS_FLAG_AA);
	assert_int_equal(DNS_OPCODE(h.flags), DNS_OP_NOTIFY);
	assert_int_equal(h.qdcount, 1);
	assert_int_equal(auth_xfr_notify_reply_check(rep, (size_t)rl, 0x1234,
		auth_zone_origin(z), &rcode), 0);
	assert_int_equal(rcode, DNS_RC_NOERROR);
	assert_int_equal(auth_xfr_notify_reply_check(rep, (size_t)rl, 0x1235,
		auth_zone_origin(z), &rcode), DNS_E_FORMAT);
	uint8_t other[DNS_NAME_MAX];
	name_of("other.test.", other);
	assert_int_equal(auth_xfr_notify_reply_check(rep, (size_t)rl, 0x1234, other, &rcode),
		DNS_E_FORMAT);
	/* Our own NOTIFY (QR clear) is not a reply. */
	assert_int_equal(auth_xfr_notify_reply_check(buf, (size_t)len, 0x1234,
		auth_zone_origin(z), &rcode), DNS_E_FORMAT);

	/* A NOTAUTH reply carries its rcode and no AA. */
	rl = auth_xfr_reply_write(rep, sizeof(rep), &q, DNS_RC_NOTAUTH);
	dns_header_parse(rep, (size_t)rl, &h);
	assert_false(h.flags & DNS_FLAG_AA);
	assert_int_equal(auth_xfr_notify_reply_check(rep, (size_t)rl, 0x1234,
		auth_zone_origin(z), &rcode), 0);
	assert_int_equal(rcode, DNS_RC_NOTAUTH);
	auth_zone_unref(z);
}

static void test_soa_query_reply(void **state)
{
	uint8_t buf[512], rep[512], origin[DNS_NAME_MAX];
	struct dns_query q;
	struct dns_writer w;
	uint32_t serial = 0;
	uint8_t rcode;
	(void)state;

	name_of("example.test.", origin);
	int len = auth_xfr_soa_query_write(buf, sizeof(buf), 77, origin);
	assert_true(len > 0);
	assert_int_equal(dns_query_parse(buf, (size_t)len, &q, NULL), DNS_QUERY_OK);
	assert_int_equal(q.qtype, DNS_T_SOA);
	assert_false(q.hdr.flags & DNS_FLAG_RD);

	/* A reply with the SOA, compressed as servers send it. */
	static const uint8_t soa_rd[] = "\3ns1\7example\4test\0\4host\7example\4test\0"
		"\0\0\0\x2a\0\0\x0e\x10\0\0\x02\x58\0\1\x51\x80\0\0\1\x2c";
	dns_writer_init(&w, rep, sizeof(rep));
	dns_writer_question(&w, origin, DNS_T_SOA, DNS_CLASS_IN);
	dns_writer_section(&w, DNS_SEC_ANSWER);
	assert_int_equal(dns_writer_rr(&w, origin, DNS_T_SOA, DNS_CLASS_IN, 3600, soa_rd,
		sizeof(soa_rd) - 1), 0);
	size_t rl = dns_writer_finish(&w, 77, DNS_FLAG_QR | DNS_FLAG_AA);
	assert_int_equal(auth_xfr_soa_reply_parse(rep, rl, 77, origin, &serial, &rcode), 0);
	assert_int_equal(serial, 42);
	assert_int_equal(auth_xfr_soa_reply_parse(rep, rl, 78, origin, &serial, &rcode),
		DNS_E_FORMAT);
	/* Not authoritative: no good. */
	rl = dns_writer_finish(&w, 77, DNS_FLAG_QR);
	assert_int_equal(auth_xfr_soa_reply_parse(rep, rl, 77, origin, &serial, &rcode),
		DNS_E_UNSUPPORTED);
	/* REFUSED. */
	dns_writer_init(&w, rep, sizeof(rep));
	dns_writer_question(&w, origin, DNS_T_SOA, DNS_CLASS_IN);
	rl = dns_writer_finish(&w, 77, DNS_FLAG_QR | DNS_RC_REFUSED);
	assert_int_equal(auth_xfr_soa_reply_parse(rep, rl, 77, origin, &serial, &rcode),
		DNS_E_UNSUPPORTED);
	assert_int_equal(rcode, DNS_RC_REFUSED);
	/* Truncated. */
	assert_int_equal(auth_xfr_soa_reply_parse(rep, 5, 77, origin, &serial, &rcode),
		DNS_E_FORMAT);

	/* IXFR over UDP gets the SOA alone, which our own parser reads. */
	struct auth_zone *z = load("example.test.", zone_text);
	dns_writer_init(&w, buf, sizeof(buf));
	dns_writer_question(&w, origin, DNS_T_IXFR, DNS_CLASS_IN);
	size_t ql = dns_writer_finish(&w, 5, 0);
	assert_int_equal(dns_query_parse(buf, ql, &q, NULL), DNS_QUERY_OK);
	int sl = auth_xfr_soa_only_write(rep, sizeof(rep), &q, z);
	assert_true(sl > 0);
	struct dns_header h;
	dns_header_parse(rep, (size_t)sl, &h);
	assert_int_equal(h.ancount, 1);
	assert_true(h.flags & DNS_FLAG_AA);
	rep[DNS_HEADER_LEN + 15] = DNS_T_SOA; /* pretend it was a SOA question */
	assert_int_equal(auth_xfr_soa_reply_parse(rep, (size_t)sl, 5, origin, &serial,
		&rcode), 0);
	assert_int_equal(serial, 7);
	auth_zone_unref(z);
}

static void test_rr_text_round_trip(void **state)
{
	struct auth_zone_iter it;
	struct auth_rr_view rr;
	char *text = malloc(65536), line[8192];
	size_t n = 0;
	bool first = true;
	(void)state;
	struct auth_zone *z = load("example.test.", zone_text);

	n += (size_t)sprintf(text, "$ORIGIN example.test.\n");
	auth_zone_iter_init(&it, z);
	while (auth_zone_iter_next(&it, &rr)) {
		if (rr.type == DNS_T_SOA && !first)
			continue; /* the closing SOA */
		first = false;
		int l = auth_xfr_rr_text(&rr, line, sizeof(line));
		assert_true(l > 0);
		assert_int_equal(line[l - 1], '\n');
		memcpy(text + n, line, (size_t)l + 1);
		n += (size_t)l;
	}
	struct auth_zone *back = load("example.test.", text);
	assert_zones_equal(z, back);
	assert_non_null(strstr(text, "TYPE65280"));

	/* A record ldns cannot parse for its type gets the RFC 3597 form. */
	uint8_t owner[DNS_NAME_MAX];
	name_of("x.example.test.", owner);
	static const uint8_t bad_a[3] = {1, 2, 3};
	struct auth_rr_view v = { owner, DNS_T_A, DNS_CLASS_IN, 60, bad_a, 3 };
	int l = auth_xfr_rr_text(&v, line, sizeof(line));
	assert_true(l > 0);
	assert_string_equal(line, "x.example.test.\t60\tIN\tTYPE1\t\\# 3 010203\n");
	assert_int_equal(auth_xfr_rr_text(&v, line, 10), DNS_E_SPACE);

	auth_zone_unref(back);
	auth_zone_unref(z);
	free(text);
}

/* No copy yet: transfers, backing off, until one works; returns the time it ends at. */
static uint64_t refresh_first_copy(struct auth_refresh *r, const struct auth_soa *soa,
	uint64_t t)
{
	/* No copy: the first fetch is a transfer, at once. */
	auth_refresh_init(r, t, NULL, 0);
	assert_int_equal(auth_refresh_next(r), t);
	assert_int_equal(auth_refresh_poll(r, t), AUTH_REFRESH_START_AXFR);
	assert_int_equal(r->state, AUTH_REFRESH_AXFR);
	assert_int_equal(auth_refresh_poll(r, t), AUTH_REFRESH_NONE);
	assert_int_equal(auth_refresh_next(r), UINT64_MAX);
	/* It fails: back off 5 s, 10 s, 20 s. */
	auth_refresh_on_fail(r, t);
	assert_int_equal(auth_refresh_next(r), t + 5000);
	assert_int_equal(auth_refresh_poll(r, t + 4999), AUTH_REFRESH_NONE);
	assert_int_equal(auth_refresh_poll(r, t + 5000), AUTH_REFRESH_START_AXFR);
	t += 5000;
	auth_refresh_on_fail(r, t);
	assert_int_equal(auth_refresh_next(r), t + 10000);
	t += 10000;
	assert_int_equal(auth_refresh_poll(r, t), AUTH_REFRESH_START_AXFR);
	auth_refresh_on_fail(r, t);
	assert_int_equal(auth_refresh_next(r), t + 20000);
	t += 20000;
	assert_int_equal(auth_refresh_poll(r, t), AUTH_REFRESH_START_AXFR);
	/* It works: next check after REFRESH, a SOA query this time. */
	auth_refresh_on_axfr(r, t, soa);
	assert_true(r->have_zone);
	assert_int_equal(r->failures, 0);
	assert_int_equal(auth_refresh_next(r), t + 100000);
	t += 100000;
	assert_int_equal(auth_refresh_poll(r, t), AUTH_REFRESH_SEND_SOA);
	return t;
}

/* With a copy: SOA checks after REFRESH and on NOTIFY; returns the time they end at. */
static uint64_t refresh_soa_checks(struct auth_refresh *r, struct auth_soa *soa, uint64_t t)
{
	/* Same serial: confirmed, expiry pushed back, next after REFRESH. */
	assert_int_equal(auth_refresh_on_soa(r, t, 5), AUTH_REFRESH_NONE);
	assert_int_equal(r->expire_at, t + 1000000);
	assert_int_equal(auth_refresh_next(r), t + 100000);
	/* An older serial does not cause a transfer either. */
	t += 100000;
	assert_int_equal(auth_refresh_poll(r, t), AUTH_REFRESH_SEND_SOA);
	assert_int_equal(auth_refresh_on_soa(r, t, 4), AUTH_REFRESH_NONE);
	/* NOTIFY: checked at once, not after REFRESH. */
	t += 3000;
	auth_refresh_on_notify(r, t);
	assert_int_equal(auth_refresh_next(r), t);
	assert_int_equal(auth_refresh_poll(r, t), AUTH_REFRESH_SEND_SOA);
	/* Another NOTIFY during the check: remembered. */
	auth_refresh_on_notify(r, t + 1);
	assert_int_equal(auth_refresh_on_soa(r, t + 2, 6), AUTH_REFRESH_START_AXFR);
	soa->serial = 6;
	auth_refresh_on_axfr(r, t + 3, soa);
	assert_int_equal(r->serial, 6);
	assert_int_equal(auth_refresh_next(r), t + 3);
	assert_int_equal(auth_refresh_poll(r, t + 3), AUTH_REFRESH_SEND_SOA);
	t += 3;
	return t;
}

/* Checks failing from t until EXPIRE, then a whole new copy. */
static void refresh_expiry(struct auth_refresh *r, const struct auth_soa *soa, uint64_t t)
{
	/* Failures: retry after RETRY until EXPIRE has passed since the last good check. */
	auth_refresh_on_fail(r, t);
	assert_int_equal(auth_refresh_next(r), t + 10000);
	uint64_t exp = r->expire_at;
	assert_int_equal(exp, t + 1000000);
	for (;;) {
		uint64_t when = auth_refresh_next(r);
		enum auth_refresh_action a = auth_refresh_poll(r, when);
		if (a == AUTH_REFRESH_EXPIRE) {
			assert_int_equal(when, exp);
			break;
		}
		assert_int_equal(a, AUTH_REFRESH_SEND_SOA);
		auth_refresh_on_fail(r, when);
		assert_true(when < exp);
	}
	assert_true(r->expired);
	assert_false(r->have_zone);
	/* Reported once; then it tries to fetch a whole new copy. */
	t = exp;
	enum auth_refresh_action a = auth_refresh_poll(r, t);
	assert_true(a == AUTH_REFRESH_NONE || a == AUTH_REFRESH_START_AXFR);
	if (a == AUTH_REFRESH_NONE) {
		t = auth_refresh_next(r);
		assert_int_equal(auth_refresh_poll(r, t), AUTH_REFRESH_START_AXFR);
	}
	auth_refresh_on_axfr(r, t, soa);
	assert_false(r->expired);
}

static void test_refresh_timers(void **state)
{
	struct auth_refresh r;
	struct auth_soa soa = { .ttl = 3600, .serial = 5, .refresh = 100, .retry = 10,
		.expire = 1000, .minimum = 60 };
	uint64_t t = 50000;
	(void)state;

	t = refresh_first_copy(&r, &soa, t);
	t = refresh_soa_checks(&r, &soa, t);
	refresh_expiry(&r, &soa, t);

	/* A kept copy loaded at start: SOA check first; its age counts. */
	auth_refresh_init(&r, 1000, &soa, 400000);
	assert_int_equal(r.expire_at, 1000 + 1000000 - 400000);
	assert_int_equal(auth_refresh_poll(&r, 1000), AUTH_REFRESH_SEND_SOA);
	/* A copy older than EXPIRE expires at once. */
	auth_refresh_init(&r, 1000, &soa, 5000000);
	assert_int_equal(auth_refresh_poll(&r, 1000), AUTH_REFRESH_EXPIRE);
	assert_int_equal(auth_refresh_poll(&r, 1000), AUTH_REFRESH_START_AXFR);
	/* Answers out of state are ignored. */
	assert_int_equal(auth_refresh_on_soa(&r, 1000, 99), AUTH_REFRESH_NONE);
	assert_string_equal(auth_refresh_state_name(AUTH_REFRESH_AXFR), "axfr");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_axfr_single_message),
		cmocka_unit_test(test_axfr_many_messages),
		cmocka_unit_test(test_axfr_out_edns_and_space),
		cmocka_unit_test(test_axfr_in_compressed_multi),
		cmocka_unit_test(test_axfr_in_rejects),
		cmocka_unit_test(test_notify_messages),
		cmocka_unit_test(test_soa_query_reply),
		cmocka_unit_test(test_rr_text_round_trip),
		cmocka_unit_test(test_refresh_timers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

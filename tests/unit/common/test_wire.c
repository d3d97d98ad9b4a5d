/* Unit tests of the common wire core: cursor, names, query parsing, EDNS, writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns_cursor.h"
#include "dns_edns.h"
#include "dns_err.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"

static void name_of(const char *text, uint8_t *out)
{
	assert_int_equal(dns_name_from_str(text, NULL, out, NULL), 0);
}

static void test_name_text(void **state)
{
	uint8_t n[DNS_NAME_MAX], origin[DNS_NAME_MAX];
	char buf[DNS_NAME_TEXT_MAX];
	size_t len;

	(void)state;
	assert_int_equal(dns_name_from_str("www.Example.COM", NULL, n, &len), 0);
	assert_int_equal(len, 17);
	assert_memory_equal(n, "\3www\7Example\3COM\0", 17);
	assert_int_equal(dns_name_to_str(n, buf, sizeof(buf)), 16);
	assert_string_equal(buf, "www.Example.COM.");

	name_of("example.com.", origin);
	assert_int_equal(dns_name_from_str("a.b", origin, n, &len), 0);
	assert_int_equal(dns_name_to_str(n, buf, sizeof(buf)) > 0, 1);
	assert_string_equal(buf, "a.b.example.com.");
	assert_int_equal(dns_name_from_str("abs.", origin, n, &len), 0);
	assert_int_equal(len, 5);
	assert_int_equal(dns_name_from_str(".", origin, n, &len), 0);
	assert_int_equal(len, 1);

	/* Escapes round trip. */
	assert_int_equal(dns_name_from_str("a\\.b\\032c.d.", NULL, n, &len), 0);
	assert_memory_equal(n, "\5a.b c\1d\0", 9);
	dns_name_to_str(n, buf, sizeof(buf));
	assert_string_equal(buf, "a\\.b\\032c.d.");

	/* Errors: empty label, label of 64, name over 255. */
	assert_int_equal(dns_name_from_str("a..b.", NULL, n, &len), DNS_E_SYNTAX);
	char l64[80];
	memset(l64, 'x', 64);
	strcpy(l64 + 64, ".");
	assert_int_equal(dns_name_from_str(l64, NULL, n, &len), DNS_E_LABEL);
	char big[400] = "";
	for (int i = 0; i < 26; i++)
		strcat(big, "abcdefghi.");
	assert_int_equal(dns_name_from_str(big, NULL, n, &len), DNS_E_NAMELEN);
}

static void test_name_compare(void **state)
{
	uint8_t a[DNS_NAME_MAX], b[DNS_NAME_MAX], z[DNS_NAME_MAX];
	(void)state;

	name_of("WWW.example.com.", a);
	name_of("www.EXAMPLE.com.", b);
	assert_true(dns_name_eq(a, b));
	assert_int_equal(dns_name_cmp(a, b), 0);
	name_of("example.com.", z);
	assert_true(dns_name_is_sub(a, z));
	assert_true(dns_name_is_sub(z, z));
	assert_false(dns_name_is_sub(z, a));
	name_of("xample.com.", b);
	assert_false(dns_name_is_sub(b, z)); /* label boundary, not string suffix */
	assert_int_equal(dns_name_labels(a), 3);
	assert_true(dns_name_eq(dns_name_strip(a, 1), z));

	/* RFC 4034 6.1 example order. */
	const char *order[] = {"example.", "a.example.", "yljkjljk.a.example.",
		"Z.a.example.", "zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.",
		"*.z.example.", "\\200.z.example."};
	for (size_t i = 0; i + 1 < sizeof(order) / sizeof(order[0]); i++) {
		name_of(order[i], a);
		name_of(order[i + 1], b);
		assert_true(dns_name_cmp(a, b) < 0);
		assert_true(dns_name_cmp(b, a) > 0);
	}
	uint8_t low[DNS_NAME_MAX];
	name_of("MiXeD.CaSe.", a);
	dns_name_lower(low, a);
	assert_memory_equal(low, "\5mixed\4case\0", 12);
	name_of("*.w.", a);
	assert_true(dns_name_is_wildcard(a));
}

/* A query packet builder for the tests: header + question (+ raw tail). */
static size_t make_query(uint8_t *pkt, const char *name, uint16_t type, uint16_t flags,
	const uint8_t *tail, size_t tail_len, uint16_t arcount)
{
	uint8_t qn[DNS_NAME_MAX];
	size_t ql;
	struct dns_header h = {.id = 0x1234, .flags = flags, .qdcount = 1, .arcount = arcount};
	dns_name_from_str(name, NULL, qn, &ql);
	dns_header_write(pkt, &h);
	memcpy(pkt + 12, qn, ql);
	pkt[12 + ql] = (uint8_t)(type >> 8);
	pkt[13 + ql] = (uint8_t)type;
	pkt[14 + ql] = 0;
	pkt[15 + ql] = 1;
	if (tail_len)
		memcpy(pkt + 16 + ql, tail, tail_len);
	return 16 + ql + tail_len;
}

static void test_query_parse(void **state)
{
	uint8_t pkt[600];
	struct dns_query q;
	int err;
	(void)state;

	size_t n = make_query(pkt, "Www.Example.com.", DNS_T_AAAA, DNS_FLAG_RD, NULL, 0, 0);
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_OK);
	assert_int_equal(q.hdr.id, 0x1234);
	assert_int_equal(q.qtype, DNS_T_AAAA);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_int_equal(q.qname_len, 17);
	assert_memory_equal(q.qname, "\3Www\7Example\3com\0", 17);
	assert_false(q.has_opt);
	assert_int_equal(q.question_end, n);

	/* Short header is dropped; QR set is dropped. */
	assert_int_equal(dns_query_parse(pkt, 11, &q, &err), DNS_QUERY_DROP);
	pkt[2] |= 0x80;
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_DROP);
	pkt[2] &= 0x7f;

	/* Trailing garbage. */
	pkt[n] = 0xff;
	assert_int_equal(dns_query_parse(pkt, n + 1, &q, &err), DNS_QUERY_FORMERR);
	assert_int_equal(err, DNS_E_TRAILING);
	/* Truncated question. */
	assert_int_equal(dns_query_parse(pkt, n - 1, &q, &err), DNS_QUERY_FORMERR);

	/* QDCOUNT 0 and 2. */
	pkt[5] = 0;
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_FORMERR);
	pkt[5] = 2;
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_FORMERR);
	pkt[5] = 1;

	/* Compression pointer to itself and forward. */
	static const uint8_t loop[] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		0xc0, 12, 0, 1, 0, 1};
	assert_int_equal(dns_query_parse(loop, sizeof(loop), &q, &err), DNS_QUERY_FORMERR);
	assert_int_equal(err, DNS_E_POINTER);
	static const uint8_t fwd[] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		0xc0, 14, 0, 0, 1, 0, 1};
	assert_int_equal(dns_query_parse(fwd, sizeof(fwd), &q, &err), DNS_QUERY_FORMERR);
	/* Label type 0x40 and label length 64 (0x40 is the same byte). */
	static const uint8_t lab[] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		0x40, 'a', 0, 0, 1, 0, 1};
	assert_int_equal(dns_query_parse(lab, sizeof(lab), &q, &err), DNS_QUERY_FORMERR);
	assert_int_equal(err, DNS_E_LABEL);

	/* A name over 255 octets: 5 labels of 63. */
	uint8_t longq[400] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t pos = 12;
	for (int i = 0; i < 5; i++) {
		longq[pos++] = 63;
		memset(longq + pos, 'a', 63);
		pos += 63;
	}
	longq[pos++] = 0;
	memcpy(longq + pos, "\0\1\0\1", 4);
	pos += 4;
	assert_int_equal(dns_query_parse(longq, pos, &q, &err), DNS_QUERY_FORMERR);
	assert_int_equal(err, DNS_E_NAMELEN);

	/* A backward pointer is fine: second RR in answer pointing at the qname. */
}

/* One OPT record with ECS and a cookie: parsed, and bad option contents refused. */
static void edns_options(void)
{
	uint8_t pkt[600];
	struct dns_query q;
	int err;

	/* OPT: size 4096, DO, ECS 192.0.2.0/24, a client cookie. */
	static const uint8_t opt[] = {0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 20,
		0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2,
		0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
		/* padding to test rdlen accounting */ };
	uint8_t fixed[sizeof(opt)];
	memcpy(fixed, opt, sizeof(opt));
	fixed[10] = (uint8_t)(sizeof(opt) - 11);
	size_t n = make_query(pkt, "a.", DNS_T_A, 0, fixed, sizeof(fixed), 1);
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_OK);
	assert_true(q.has_opt);
	assert_int_equal(q.edns.udp_size, 4096);
	assert_int_equal(q.edns.version, 0);
	assert_true(q.edns.flags & DNS_EDNS_DO);
	assert_true(q.edns.has_ecs);
	assert_int_equal(q.edns.ecs.family, 1);
	assert_int_equal(q.edns.ecs.source, 24);
	assert_memory_equal(q.edns.ecs.addr, "\xc0\x00\x02\x00", 4);
	assert_true(q.edns.has_cookie);
	assert_int_equal(q.edns.cookie.server_len, 0);

	/* ECS with host bits set beyond the prefix: FORMERR-worthy. */
	fixed[21] = 3; /* 192.0.3.0/23: the last bit of the third octet is past the prefix */
	fixed[17] = 23;
	n = make_query(pkt, "a.", DNS_T_A, 0, fixed, sizeof(fixed), 1);
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_BADOPT);
	fixed[17] = 24;
	fixed[21] = 2;
	/* ECS family 3. */
	uint8_t bad[sizeof(opt)];
	memcpy(bad, fixed, sizeof(bad));
	bad[16] = 3;
	n = make_query(pkt, "a.", DNS_T_A, 0, bad, sizeof(bad), 1);
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_BADOPT);
	/* ECS source /33 for IPv4. */
	memcpy(bad, fixed, sizeof(bad));
	bad[17] = 33;
	n = make_query(pkt, "a.", DNS_T_A, 0, bad, sizeof(bad), 1);
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_BADOPT);
	/* Option length running past rdata. */
	memcpy(bad, fixed, sizeof(bad));
	bad[14] = 40;
	n = make_query(pkt, "a.", DNS_T_A, 0, bad, sizeof(bad), 1);
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_BADOPT);
	/* Cookie of 9 octets. */
	static const uint8_t badcookie[] = {0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 13,
		0, 10, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	n = make_query(pkt, "a.", DNS_T_A, 0, badcookie, sizeof(badcookie), 1);
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_BADOPT);
}

/* The OPT record itself: one only, owned by the root; another version parses. */
static void opt_records(void)
{
	uint8_t pkt[600];
	struct dns_query q;
	int err;
	size_t n;

	/* Two OPT records. */
	static const uint8_t plain[] = {0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0};
	uint8_t two[2 * sizeof(plain)];
	memcpy(two, plain, sizeof(plain));
	memcpy(two + sizeof(plain), plain, sizeof(plain));
	n = make_query(pkt, "a.", DNS_T_A, 0, two, sizeof(two), 2);
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_BADOPT);
	/* OPT owned by a non-root name. */
	static const uint8_t owned[] = {1, 'x', 0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0};
	n = make_query(pkt, "a.", DNS_T_A, 0, owned, sizeof(owned), 1);
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_BADOPT);
	/* Version 1 parses (the server answers BADVERS). */
	uint8_t v1[sizeof(plain)];
	memcpy(v1, plain, sizeof(plain));
	v1[6] = 1;
	n = make_query(pkt, "a.", DNS_T_A, 0, v1, sizeof(v1), 1);
	assert_int_equal(dns_query_parse(pkt, n, &q, &err), DNS_QUERY_OK);
	assert_int_equal(q.edns.version, 1);
}

static void test_edns(void **state)
{
	(void)state;
	edns_options();
	opt_records();

	/* ECS write masks bits past the prefix. */
	struct dns_ecs e = {.family = 1, .source = 20, .scope = 16,
		.addr = {10, 1, 0xff, 0xff}};
	uint8_t out[20];
	assert_int_equal(dns_ecs_write(&e, out, sizeof(out)), 7);
	assert_memory_equal(out, "\0\1\x14\x10\x0a\x01\xf0", 7);
}

/* Parse a written message back with the cursor and check an RR's owner. */
static void test_writer_compression(void **state)
{
	uint8_t buf[512], qn[DNS_NAME_MAX], mx[64], owner[DNS_NAME_MAX];
	struct dns_writer w;
	(void)state;

	dns_writer_init(&w, buf, sizeof(buf));
	name_of("WWW.Example.com.", qn);
	assert_int_equal(dns_writer_question(&w, qn, DNS_T_MX, DNS_CLASS_IN), 0);
	dns_writer_section(&w, DNS_SEC_ANSWER);
	name_of("www.example.com.", owner);
	mx[0] = 0, mx[1] = 10;
	size_t ml;
	dns_name_from_str("mail.example.com.", NULL, mx + 2, &ml);
	assert_int_equal(dns_writer_rr(&w, owner, DNS_T_MX, DNS_CLASS_IN, 300, mx,
		(uint16_t)(2 + ml)), 0);
	size_t len = dns_writer_finish(&w, 7, DNS_FLAG_QR | DNS_FLAG_AA);
	/* header 12 + question 17+4 + answer: ptr 2 + 10 + rdata (2 + "mail" 5 + ptr 2). */
	assert_int_equal(len, 12 + 21 + 2 + 10 + 9);

	struct dns_cursor c;
	uint8_t name[DNS_NAME_MAX];
	dns_cursor_init(&c, buf, len);
	c.pos = 33;
	assert_int_equal(dns_cursor_name(&c, name, NULL), 0);
	/* The owner points at the question: the client's case is kept. */
	assert_memory_equal(name, "\3WWW\7Example\3com\0", 17);
	assert_int_equal(dns_cursor_skip(&c, 10), 0);
	assert_int_equal(dns_cursor_skip(&c, 2), 0);
	assert_int_equal(dns_cursor_name(&c, name, NULL), 0);
	assert_memory_equal(name, "\4mail\7Example\3com\0", 18);
	struct dns_header h;
	dns_header_parse(buf, len, &h);
	assert_int_equal(h.ancount, 1);
	assert_int_equal(h.flags, DNS_FLAG_QR | DNS_FLAG_AA);

	/* SRV targets are not compressed (RFC 3597 4). */
	uint8_t srv[64] = {0, 1, 0, 2, 0, 80};
	dns_name_from_str("www.example.com.", NULL, srv + 6, &ml);
	dns_writer_init(&w, buf, sizeof(buf));
	dns_writer_question(&w, qn, DNS_T_SRV, DNS_CLASS_IN);
	dns_writer_section(&w, DNS_SEC_ANSWER);
	dns_writer_rr(&w, owner, DNS_T_SRV, DNS_CLASS_IN, 1, srv, (uint16_t)(6 + ml));
	len = dns_writer_finish(&w, 1, DNS_FLAG_QR);
	assert_int_equal(len, 12 + 21 + 2 + 10 + 6 + 17);
}

static void test_writer_space(void **state)
{
	uint8_t buf[64], qn[DNS_NAME_MAX], a[4] = {192, 0, 2, 1};
	struct dns_writer w;
	struct dns_writer_mark m;
	(void)state;

	dns_writer_init(&w, buf, sizeof(buf));
	name_of("a.example.", qn);
	assert_int_equal(dns_writer_question(&w, qn, DNS_T_A, DNS_CLASS_IN), 0); /* 12 + 11 + 4 = 27 */
	dns_writer_section(&w, DNS_SEC_ANSWER);
	dns_writer_mark(&w, &m);
	assert_int_equal(dns_writer_rr(&w, qn, DNS_T_A, DNS_CLASS_IN, 1, a, 4), 0); /* + 16 = 43 */
	assert_int_equal(dns_writer_rr(&w, qn, DNS_T_A, DNS_CLASS_IN, 1, a, 4), 0); /* 59 */
	size_t before = w.len;
	assert_int_equal(dns_writer_rr(&w, qn, DNS_T_A, DNS_CLASS_IN, 1, a, 4), DNS_E_SPACE);
	assert_int_equal(w.len, before);
	assert_int_equal(w.count[DNS_SEC_ANSWER], 2);
	dns_writer_rollback(&w, &m);
	assert_int_equal(w.count[DNS_SEC_ANSWER], 0);
	assert_int_equal(w.len, 27);
	dns_writer_limit(&w, 40);
	assert_int_equal(dns_writer_rr(&w, qn, DNS_T_A, DNS_CLASS_IN, 1, a, 4), DNS_E_SPACE);
	assert_int_equal(dns_writer_opt(&w, 1232, 0, 0, NULL, 0), 0);
	assert_int_equal(w.count[DNS_SEC_ADDITIONAL], 1);
}

static void test_cursor(void **state)
{
	static const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7};
	struct dns_cursor c;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	const uint8_t *p;
	(void)state;

	dns_cursor_init(&c, data, sizeof(data));
	assert_int_equal(dns_cursor_u8(&c, &v8), 0);
	assert_int_equal(v8, 1);
	assert_int_equal(dns_cursor_u16(&c, &v16), 0);
	assert_int_equal(v16, 0x0203);
	assert_int_equal(dns_cursor_u32(&c, &v32), 0);
	assert_int_equal(v32, 0x04050607);
	assert_int_equal(dns_cursor_left(&c), 0);
	assert_int_equal(dns_cursor_u8(&c, &v8), DNS_E_SHORT);
	assert_int_equal(dns_cursor_bytes(&c, 1, &p), DNS_E_SHORT);
	c.pos = 5;
	assert_int_equal(dns_cursor_u32(&c, &v32), DNS_E_SHORT);
	assert_int_equal(c.pos, 5);
	assert_string_equal(dns_strerror(DNS_E_POINTER),
		"compression pointer does not point backwards");
	assert_string_equal(dns_strerror(-2), "No such file or directory");
}

static void test_type_names(void **state)
{
	char buf[16];
	(void)state;
	assert_string_equal(dns_type_name(DNS_T_AAAA, buf), "AAAA");
	assert_string_equal(dns_type_name(65280, buf), "TYPE65280");
	assert_int_equal(dns_type_from_str("caa"), DNS_T_CAA);
	assert_int_equal(dns_type_from_str("TYPE65280"), 65280);
	assert_int_equal(dns_type_from_str("BOGUS"), DNS_E_NOTFOUND);
	assert_string_equal(dns_rcode_name(3, buf), "NXDOMAIN");
	assert_string_equal(dns_rcode_name(16, buf), "BADVERS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_name_text),
		cmocka_unit_test(test_name_compare),
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test(test_edns),
		cmocka_unit_test(test_writer_compression),
		cmocka_unit_test(test_writer_space),
		cmocka_unit_test(test_type_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

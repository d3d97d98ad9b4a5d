/*
 * test_answer_edns.c -- the answer engine's errors, EDNS and sizes, packets
 * in and packets out, no sockets: FORMERR and dropped packets, NOTIMP, EDNS
 * (RFC 6891: payload size, DO, BADVERS), truncation to the client's size, and
 * the limits (long DNAME targets, CNAME chains, answers that barely fit).
 * Fixtures and helpers: answer_fixture.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "auth_answer.h"
#include "dns_err.h"
#include "dns_log.h"
#include "dns_pkt.h"

#include "answer_fixture.h"

static void test_formerr_and_drop(void **state)
{
	(void)state;
	uint8_t q[600];
	size_t n = mkquery(q, sizeof(q), "www.example.", DNS_T_A, NULL);

	/* trailing garbage: FORMERR with the question echoed */
	q[n] = 0xff;
	ask_raw(both, q, n + 1, false);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_qdcount(R.p), 1);
	assert_false(ldns_pkt_aa(R.p));
	assert_int_equal(R.info.rcode, DNS_RC_FORMERR);

	/* QDCOUNT 0: FORMERR, header only */
	uint8_t h[12] = { 0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 };
	ask_raw(both, h, sizeof(h), false);
	assert_int_equal(R.len, 12);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_FORMERR);
	assert_true(ldns_pkt_rd(R.p));
	assert_int_equal(ldns_pkt_qdcount(R.p), 0);

	/* a compression loop in the question */
	static const uint8_t loop[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 0xc0, 12, 0, 1, 0, 1 };
	ask_raw(both, loop, sizeof(loop), false);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_FORMERR);

	/* a malformed OPT: FORMERR without OPT */
	struct qopt o = { .edns = 1232 };
	n = mkquery(q, sizeof(q), "www.example.", DNS_T_A, &o);
	q[n - 2] = 0; q[n - 1] = 4; /* RDLENGTH 4, but no RDATA follows */
	ask_raw(both, q, n, false);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_FORMERR);

	/* dropped: a response, a short packet */
	n = mkquery(q, sizeof(q), "www.example.", DNS_T_A, &(struct qopt){ .flags = DNS_FLAG_QR });
	ask_raw(both, q, n, false);
	assert_int_equal(R.len, 0);
	assert_true(R.info.dropped);
	ask_raw(both, q, 5, false);
	assert_int_equal(R.len, 0);
	assert_true(R.info.dropped);

	/* a buffer below 512 is the caller's bug */
	size_t len;
	uint8_t small[100];
	assert_int_equal(auth_answer(both, q, 5, NULL, NULL, small, sizeof(small), &len, NULL),
		-EINVAL);
}

static void test_notimp(void **state)
{
	(void)state;
	struct qopt o = { .flags = DNS_OP_STATUS << 11 };
	ask_in(both, "www.example.", DNS_T_A, &o);
	expect(LDNS_RCODE_NOTIMPL, false, false);
	assert_int_equal(ldns_pkt_get_opcode(R.p), LDNS_PACKET_STATUS);
	/* NOTIFY is recognised for the io layer; if it reaches us, NOTIMP */
	uint8_t q[512];
	size_t n = mkquery(q, sizeof(q), "example.", DNS_T_SOA,
		&(struct qopt){ .flags = DNS_OP_NOTIFY << 11 | DNS_FLAG_AA });
	assert_true(auth_is_notify(q, n));
	ask_raw(both, q, n, false);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_NOTIMPL);
	n = mkquery(q, sizeof(q), "example.", DNS_T_SOA, NULL);
	assert_false(auth_is_notify(q, n));
	assert_false(auth_is_notify(q, 3));
}

static void test_edns(void **state)
{
	(void)state;
	struct qopt o = { .edns = 4096, .eflags = DNS_EDNS_DO };
	ask_in(both, "nx.example.", DNS_T_A, &o);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	assert_true(R.info.edns);
	assert_int_equal(ldns_pkt_edns_udp_size(R.p), AUTH_EDNS_SIZE);
	assert_int_equal(ldns_pkt_edns_version(R.p), 0);
	assert_true(ldns_pkt_edns_do(R.p)); /* DO echoed (RFC 3225 3) */
	/* BADVERS (RFC 6891 6.1.3): OPT version 0, extended RCODE 1, no AA */
	o = (struct qopt){ .edns = 1232, .version = 1 };
	ask_in(both, "www.example.", DNS_T_A, &o);
	assert_int_equal(R.info.rcode, DNS_RC_BADVERS);
	assert_int_equal(ldns_pkt_get_rcode(R.p), 0);
	assert_int_equal(ldns_pkt_edns_extended_rcode(R.p), 1);
	assert_int_equal(ldns_pkt_edns_version(R.p), 0);
	assert_false(ldns_pkt_aa(R.p));
	assert_string_equal(ANSWER(), "");
	/* RD copied, CD and AD not echoed */
	o = (struct qopt){ .flags = DNS_FLAG_RD | DNS_FLAG_CD | DNS_FLAG_AD };
	ask_in(both, "www.example.", DNS_T_A, &o);
	assert_true(ldns_pkt_rd(R.p));
	assert_false(ldns_pkt_cd(R.p));
	assert_false(ldns_pkt_ad(R.p));
	assert_false(ldns_pkt_ra(R.p));
}

static void test_truncation(void **state)
{
	(void)state;
	/* six 100-octet TXT records (~670 octets) do not fit in 512 */
	ask("big.example.", DNS_T_TXT);
	expect(LDNS_RCODE_NOERROR, true, true);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), "");
	assert_string_equal(ADDITIONAL(), "");
	assert_true(R.len <= 512);
	/* EDNS 600 is still too small; the OPT stays */
	struct qopt o = { .edns = 600 };
	ask_in(both, "big.example.", DNS_T_TXT, &o);
	expect(LDNS_RCODE_NOERROR, true, true);
	assert_int_equal(ldns_pkt_edns_udp_size(R.p), AUTH_EDNS_SIZE);
	/* EDNS below 512 counts as 512 (RFC 6891 6.2.3) */
	o.edns = 100;
	ask_in(both, "www.example.", DNS_T_A, &o);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ADDITIONAL(), NS_ADDL);
	/* EDNS 1232: everything fits */
	o.edns = 1232;
	ask_in(both, "big.example.", DNS_T_TXT, &o);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(R.p)), 6);
	assert_string_equal(AUTHORITY(), NS_AUTH);
	assert_string_equal(ADDITIONAL(), NS_ADDL);
	assert_true(R.len > 512 && R.len <= 1232);
	/* a larger EDNS size is clamped to ours, still fits */
	o.edns = 65000;
	ask_in(both, "big.example.", DNS_T_TXT, &o);
	expect(LDNS_RCODE_NOERROR, true, false);
	/* TCP: 65535, no EDNS needed */
	o = (struct qopt){ .tcp = true };
	ask_in(both, "big.example.", DNS_T_TXT, &o);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(R.p)), 6);
	assert_string_equal(ADDITIONAL(), NS_ADDL);
}

static void test_limits(void **state)
{
	(void)state;
	/* RFC 6672 2.2: a synthesised name longer than 255 octets: YXDOMAIN */
	ask_in(edgeset, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.long.edge.test.",
		DNS_T_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(R.p), 6 /* YXDOMAIN */);
	assert_string_equal(ANSWER(),
		"long.edge.test. 60 in dname aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
		"ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.");
	/* a CNAME chain is followed AUTH_CHAIN_MAX hops, then left to the client */
	struct qopt tcp = { .tcp = true };
	ask_in(edgeset, "c0.edge.test.", DNS_T_A, &tcp);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(R.p)), AUTH_CHAIN_MAX);
	ask_in(edgeset, "c10.edge.test.", DNS_T_A, &tcp);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(R.p)), 11);
	/* the answer fits 512 but the zone's NS does not: left out, no TC
	 * (optional data, RFC 2181 9; NSD does the same) */
	ask_in(edgeset, "fit.edge.test.", DNS_T_TXT, NULL);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(R.p)), 1);
	assert_string_equal(AUTHORITY(), "");
	assert_string_equal(ADDITIONAL(), "");
	assert_true(R.len <= 512);
	/* an MX target that exists through a wildcard gets its addresses under
	 * its own name (RFC 4592; NSD does this); RDATA names are lower case */
	ask_in(edgeset, "mxw.edge.test.", DNS_T_MX, NULL);
	assert_string_equal(sec(LDNS_SECTION_ANSWER, false),
		"mxw.edge.test. 60 IN MX 5 foo.aw.edge.test. | mxw.edge.test. 60 IN MX 6 ns.edge.test.");
	assert_string_equal(sec(LDNS_SECTION_ADDITIONAL, false),
		"foo.aw.edge.test. 60 IN A 192.0.2.9 | ns.edge.test. 60 IN A 192.0.2.1");
	/* a referral that does not fit: TC */
	ask_in(edgeset, "x.wide.edge.test.", DNS_T_A, NULL);
	expect(LDNS_RCODE_NOERROR, false, true);
	assert_string_equal(AUTHORITY(), "");
	ask_in(edgeset, "x.wide.edge.test.", DNS_T_A, &tcp);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_authority(R.p)), 40);
}

int main(void)
{
	dns_log_setup("test_answer_edns", DNS_LOG_ERR);
	const struct CMUnitTest tests[] = {
		ANSWER_TEST(test_formerr_and_drop), ANSWER_TEST(test_notimp),
		ANSWER_TEST(test_edns), ANSWER_TEST(test_truncation),
		ANSWER_TEST(test_limits),
	};
	return cmocka_run_group_tests(tests, answer_setup, answer_teardown);
}

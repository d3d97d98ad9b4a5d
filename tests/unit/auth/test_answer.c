/*
 * test_answer.c -- the answer engine's positive answers, packets in and
 * packets out, no sockets: hits and their additional data, the case of the
 * question kept, CNAME chains and loops, CNAMEs into other zones, DNAME
 * (RFC 6672), wildcards (RFC 4592), ANY (RFC 8482), and the state names.
 *
 * The other topics are in test_answer_neg.c (NODATA, NXDOMAIN, referrals,
 * REFUSED), test_answer_edns.c (errors, EDNS, truncation, limits) and
 * test_answer_hooks.c (steering and CHAOS); what they share, zones and
 * helpers, is in answer_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "auth_answer.h"
#include "dns_log.h"
#include "dns_pkt.h"

#include "answer_fixture.h"

/* ---- tests -------------------------------------------------------------------- */

static void test_hit(void **state)
{
	(void)state;
	ask("www.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "www.example. 3600 in a 192.0.2.80");
	assert_string_equal(AUTHORITY(), NS_AUTH);
	assert_string_equal(ADDITIONAL(), NS_ADDL);
	assert_int_equal(R.info.last, AUTH_STATE_HIT);
	assert_int_equal(R.info.qtype, DNS_T_A);
	assert_non_null(R.info.zone);
	assert_false(R.info.edns);
	assert_null(ldns_pkt_edns_data(R.p));
	assert_int_equal(ldns_pkt_edns_udp_size(R.p), 0);

	/* unknown type (RFC 3597), CAA, PTR */
	ask("unk.example.", 65280);
	assert_string_equal(ANSWER(), "unk.example. 3600 in type65280 \\# 4 0a000001");
	ask("caa.example.", DNS_T_CAA);
	assert_string_equal(ANSWER(), "caa.example. 3600 in caa 0 issue \"ca.example.net\"");
	ask("ptr.example.", DNS_T_PTR);
	assert_string_equal(ANSWER(), "ptr.example. 3600 in ptr www.example.");
	/* a query for CNAME at a CNAME is a plain hit */
	ask("alias.example.", DNS_T_CNAME);
	assert_string_equal(ANSWER(), "alias.example. 3600 in cname www.example.");
}

static void test_case_kept(void **state)
{
	(void)state;
	ask("wWw.ExAmple.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	/* owner written as the question's name: case kept (RFC 4343 4) */
	assert_string_equal(sec(LDNS_SECTION_ANSWER, false), "wWw.ExAmple. 3600 IN A 192.0.2.80");
	ask("X.WILD.example.", DNS_T_A);
	assert_string_equal(sec(LDNS_SECTION_ANSWER, false), "X.WILD.example. 3600 IN A 192.0.2.99");
}

static void test_additional_dedup(void **state)
{
	(void)state;
	/* ns1's address is in the answer: not repeated in additional */
	ask("ns1.example.", DNS_T_A);
	assert_string_equal(ANSWER(), "ns1.example. 3600 in a 192.0.2.53");
	assert_string_equal(AUTHORITY(), NS_AUTH);
	assert_string_equal(ADDITIONAL(),
		"ns2.example. 3600 in a 192.0.2.54 | ns2.example. 3600 in aaaa 2001:db8::54");
	/* NS at the apex: answer, no authority copy, addresses once */
	ask("example.", DNS_T_NS);
	assert_string_equal(ANSWER(), NS_AUTH);
	assert_string_equal(AUTHORITY(), "");
	assert_string_equal(ADDITIONAL(), NS_ADDL);
}

static void test_additional_mx_srv(void **state)
{
	(void)state;
	ask("example.", DNS_T_MX);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "example. 3600 in mx 10 mail.example.");
	assert_string_equal(AUTHORITY(), NS_AUTH);
	/* NSD's order: every A first (answer targets, then NS targets), then AAAA */
	assert_string_equal(ADDITIONAL(),
		"mail.example. 3600 in a 192.0.2.25 | ns1.example. 3600 in a 192.0.2.53 | "
		"ns2.example. 3600 in a 192.0.2.54 | mail.example. 3600 in aaaa 2001:db8::25 | "
		"ns2.example. 3600 in aaaa 2001:db8::54");
	ask("_sip._udp.example.", DNS_T_SRV);
	assert_string_equal(ANSWER(), "_sip._udp.example. 3600 in srv 0 5 5060 sip.example.");
	assert_string_equal(ADDITIONAL(),
		"sip.example. 3600 in a 192.0.2.60 | ns1.example. 3600 in a 192.0.2.53 | "
		"ns2.example. 3600 in a 192.0.2.54 | ns2.example. 3600 in aaaa 2001:db8::54");
}

static void test_cname(void **state)
{
	(void)state;
	ask("alias.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"alias.example. 3600 in cname www.example. | www.example. 3600 in a 192.0.2.80");
	assert_string_equal(AUTHORITY(), NS_AUTH);

	ask("chain1.example.", DNS_T_A);
	assert_string_equal(ANSWER(),
		"chain1.example. 3600 in cname chain2.example. | "
		"chain2.example. 3600 in cname alias.example. | "
		"alias.example. 3600 in cname www.example. | www.example. 3600 in a 192.0.2.80");

	/* CNAME then NODATA: SOA in authority (NSD 4.6) */
	ask("alias.example.", DNS_T_MX);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "alias.example. 3600 in cname www.example.");
	assert_string_equal(AUTHORITY(), SOA_NEG);

	/* CNAME to a missing name: NXDOMAIN (RFC 6604), CNAME kept */
	ask("dangling.example.", DNS_T_A);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	assert_string_equal(ANSWER(), "dangling.example. 3600 in cname nothere.example.");
	assert_string_equal(AUTHORITY(), SOA_NEG);
}

static void test_cname_loop(void **state)
{
	(void)state;
	ask("loop1.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"loop1.example. 3600 in cname loop2.example. | loop2.example. 3600 in cname loop1.example.");
	assert_string_equal(AUTHORITY(), "");
	assert_string_equal(ADDITIONAL(), "");
}

static void test_cname_other_zone(void **state)
{
	(void)state;
	/* followed into another zone we serve: its NS in authority */
	ask("ext.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"ext.example. 3600 in cname www.other.test. | www.other.test. 600 in a 198.51.100.80");
	assert_string_equal(AUTHORITY(), "other.test. 600 in ns ns.other.test.");
	assert_string_equal(ADDITIONAL(), "ns.other.test. 600 in a 198.51.100.1");
	/* out of the zones served: the CNAME alone */
	ask_in(alone, "ext.example.", DNS_T_A, NULL);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "ext.example. 3600 in cname www.other.test.");
	assert_string_equal(AUTHORITY(), "");
	/* into a delegation: the referral, AA kept (as NSD) */
	ask("todeleg.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "todeleg.example. 3600 in cname host.sub.example.");
	assert_string_equal(AUTHORITY(),
		"sub.example. 3600 in ns ns.sub.example. | sub.example. 3600 in ns ns.elsewhere.test.");
	assert_string_equal(ADDITIONAL(), "ns.sub.example. 3600 in a 192.0.2.200");
}

static void test_dname(void **state)
{
	(void)state;
	/* RFC 6672: DNAME, synthesised CNAME (DNAME's TTL), then the target */
	ask("x.dn.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"dn.example. 3600 in dname target.example. | "
		"x.dn.example. 3600 in cname x.target.example. | "
		"x.target.example. 3600 in a 192.0.2.112");
	assert_string_equal(AUTHORITY(), NS_AUTH);
	ask("foo.dn.example.", DNS_T_A);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	assert_string_equal(ANSWER(),
		"dn.example. 3600 in dname target.example. | "
		"foo.dn.example. 3600 in cname foo.target.example.");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	/* at the DNAME owner itself: ordinary data */
	ask("dn.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	ask("dn.example.", DNS_T_DNAME);
	assert_string_equal(ANSWER(), "dn.example. 3600 in dname target.example.");
	/* the synthesised CNAME's owner keeps the query's case; its target
	 * prefix is lower-cased, as NSD does */
	ask("X.Dn.example.", DNS_T_A);
	assert_non_null(strstr(sec(LDNS_SECTION_ANSWER, false),
		"X.Dn.example. 3600 IN CNAME x.target.example."));
}

static void test_wildcard(void **state)
{
	(void)state;
	ask("x.wild.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "x.wild.example. 3600 in a 192.0.2.99");
	assert_string_equal(AUTHORITY(), NS_AUTH);
	/* more labels below the closest encloser match too (RFC 4592 2.2.1) */
	ask("a.b.c.wild.example.", DNS_T_TXT);
	assert_string_equal(ANSWER(), "a.b.c.wild.example. 3600 in txt \"wildcard\"");
	/* wildcard NODATA */
	ask("x.wild.example.", DNS_T_MX);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	/* wildcard CNAME, followed */
	ask("y.wcname.example.", DNS_T_A);
	assert_string_equal(ANSWER(),
		"y.wcname.example. 3600 in cname www.example. | www.example. 3600 in a 192.0.2.80");
	/* the wildcard owner itself is an ordinary name */
	ask("*.wild.example.", DNS_T_A);
	assert_string_equal(ANSWER(), "*.wild.example. 3600 in a 192.0.2.99");
	/* an existing name blocks the wildcard: wild.example. is an empty
	 * non-terminal (RFC 4592 2.2.2) */
	ask("wild.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
}

static void test_any(void **state)
{
	(void)state;
	/* RFC 8482: one RRset, no authority; the choice matches NSD 4.6.1 */
	ask("example.", DNS_T_ANY);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"example. 3600 in soa ns1.example. hostmaster.example. 2026112701 7200 3600 1209600 300");
	assert_string_equal(AUTHORITY(), "");
	ask("www.example.", DNS_T_ANY);
	assert_string_equal(ANSWER(), "www.example. 3600 in a 192.0.2.80");
	assert_string_equal(AUTHORITY(), "");
	ask("alias.example.", DNS_T_ANY);
	assert_string_equal(ANSWER(), "alias.example. 3600 in cname www.example.");
	ask("x.wild.example.", DNS_T_ANY);
	assert_string_equal(ANSWER(), "x.wild.example. 3600 in a 192.0.2.99");
	ask("b.ent.example.", DNS_T_ANY);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	ask("nx.example.", DNS_T_ANY);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	ask("sub.example.", DNS_T_ANY);
	expect(LDNS_RCODE_NOERROR, false, false);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(auth_state_name(AUTH_STATE_HIT), "HIT");
	assert_string_equal(auth_state_name(AUTH_STATE_DELEG), "DELEG");
	assert_string_equal(auth_state_name(AUTH_STATE_NODATA), "NODATA");
	assert_string_equal(auth_state_name(AUTH_STATE_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(auth_state_name(AUTH_STATE_FOLLOW), "FOLLOW");
	assert_string_equal(auth_state_name(AUTH_STATE_TRUNC), "TRUNC");
	assert_string_equal(auth_state_name(AUTH_STATE_STEER), "STEER");
}

int main(void)
{
	dns_log_setup("test_answer", DNS_LOG_ERR);
	const struct CMUnitTest tests[] = {
		ANSWER_TEST(test_hit), ANSWER_TEST(test_case_kept),
		ANSWER_TEST(test_additional_dedup), ANSWER_TEST(test_additional_mx_srv),
		ANSWER_TEST(test_cname), ANSWER_TEST(test_cname_loop),
		ANSWER_TEST(test_cname_other_zone), ANSWER_TEST(test_dname),
		ANSWER_TEST(test_wildcard), ANSWER_TEST(test_any),
		ANSWER_TEST(test_state_names),
	};
	return cmocka_run_group_tests(tests, answer_setup, answer_teardown);
}

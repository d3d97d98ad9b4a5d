/*
 * test_answer_neg.c -- the answer engine's negative answers and referrals,
 * packets in and packets out, no sockets: empty non-terminals and NXDOMAIN
 * with the SOA's negative TTL (RFC 2308 3), referrals with and without glue,
 * DS at a delegation (RFC 4035 3.1.4.1), REFUSED for names, classes and
 * transfers we do not serve. Fixtures and helpers: answer_fixture.h.
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

static void test_ent_and_nxdomain(void **state)
{
	(void)state;
	ask("b.ent.example.", DNS_T_A);  /* empty non-terminal: NODATA */
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	assert_int_equal(R.info.last, AUTH_STATE_NODATA);
	ask("ent.example.", DNS_T_A);
	assert_string_equal(AUTHORITY(), SOA_NEG);
	/* NXDOMAIN, SOA TTL = min(SOA TTL 3600, MINIMUM 300) (RFC 2308 3) */
	ask("nx.example.", DNS_T_A);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	assert_string_equal(ADDITIONAL(), "");
	assert_int_equal(R.info.last, AUTH_STATE_NXDOMAIN);
	ask("c.ent.example.", DNS_T_A);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	/* other.test: SOA TTL 600, MINIMUM 60 */
	ask("nx.other.test.", DNS_T_A);
	assert_string_equal(AUTHORITY(),
		"other.test. 60 in soa ns.other.test. admin.other.test. 7 3600 600 86400 60");
}

static void test_referral(void **state)
{
	(void)state;
	static const char SUB_NS[] =
		"sub.example. 3600 in ns ns.sub.example. | sub.example. 3600 in ns ns.elsewhere.test.";
	ask("sub.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SUB_NS);
	assert_string_equal(ADDITIONAL(), "ns.sub.example. 3600 in a 192.0.2.200");
	assert_int_equal(R.info.last, AUTH_STATE_DELEG);
	/* below the cut, glue names included */
	ask("a.b.sub.example.", DNS_T_MX);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_string_equal(AUTHORITY(), SUB_NS);
	ask("ns.sub.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SUB_NS);
	/* NS query at the cut: a referral too */
	ask("sub.example.", DNS_T_NS);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_string_equal(ANSWER(), "");
	/* without glue */
	ask("nog.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_string_equal(AUTHORITY(), "nog.example. 3600 in ns ns.elsewhere.test.");
	assert_string_equal(ADDITIONAL(), "");
}

static void test_ds_at_delegation(void **state)
{
	(void)state;
	/* RFC 4035 3.1.4.1: the parent answers DS, authoritatively */
	ask("sub.example.", DNS_T_DS);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"sub.example. 3600 in ds 12345 8 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de5bd1a83e2be5b6e6c4d3da1c");
	assert_string_equal(AUTHORITY(), ""); /* NSD: no NS with DS answers */
	ask("nog.example.", DNS_T_DS);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	/* serving the child too: DS still from the parent, the rest from the child */
	ask_in(family, "sub.example.", DNS_T_DS, NULL);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_non_null(strstr(ANSWER(), "sub.example. 3600 in ds 12345"));
	ask_in(family, "www.sub.example.", DNS_T_A, NULL);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "www.sub.example. 60 in a 192.0.2.201");
	ask_in(family, "sub.example.", DNS_T_SOA, NULL);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_non_null(strstr(ANSWER(), "sub.example. 60 in soa ns.sub.example."));
}

static void test_refused(void **state)
{
	(void)state;
	ask("www.example.net.", DNS_T_A);
	expect(LDNS_RCODE_REFUSED, false, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), "");
	assert_null(R.info.zone);
	/* class other than IN */
	struct qopt o = { .qclass = DNS_CLASS_CH };
	ask_in(both, "www.example.", DNS_T_TXT, &o);
	expect(LDNS_RCODE_REFUSED, false, false);
	/* no zones at all */
	ask_in(NULL, "www.example.", DNS_T_A, NULL);
	expect(LDNS_RCODE_REFUSED, false, false);
}

static void test_transfers_refused(void **state)
{
	(void)state;
	ask("example.", DNS_T_AXFR);
	expect(LDNS_RCODE_NOTIMPL, false, false); /* over UDP, as NSD */
	struct qopt tcp = { .tcp = true };
	ask_in(both, "example.", DNS_T_AXFR, &tcp);
	expect(LDNS_RCODE_REFUSED, false, false);
	ask("example.", DNS_T_IXFR);
	expect(LDNS_RCODE_REFUSED, false, false);
}

int main(void)
{
	dns_log_setup("test_answer_neg", DNS_LOG_ERR);
	const struct CMUnitTest tests[] = {
		ANSWER_TEST(test_ent_and_nxdomain), ANSWER_TEST(test_referral),
		ANSWER_TEST(test_ds_at_delegation), ANSWER_TEST(test_refused),
		ANSWER_TEST(test_transfers_refused),
	};
	return cmocka_run_group_tests(tests, answer_setup, answer_teardown);
}

/*
 * test_scrub.c -- bailiwick scrubbing: what a server may say about which names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_mm.h"

#include "dns_name.h"
#include "rsv_scrub.h"

static void push(ldns_pkt *p, ldns_pkt_section sec, const char *text)
{
	ldns_rr *rr = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL), LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, sec, rr);
}

/* Number of records of section sec whose text starts with prefix. */
static unsigned count(ldns_pkt *p, ldns_pkt_section sec, const char *prefix)
{
	ldns_rr_list *l = sec == LDNS_SECTION_ANSWER ? ldns_pkt_answer(p) :
		sec == LDNS_SECTION_AUTHORITY ? ldns_pkt_authority(p) : ldns_pkt_additional(p);
	unsigned n = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		char *s = ldns_rr2str(ldns_rr_list_rr(l, i));
		if (strncmp(s, prefix, strlen(prefix)) == 0)
			n++;
		free(s);
	}
	return n;
}

static void name(const char *s, uint8_t *out)
{
	size_t len;
	assert_int_equal(dns_name_from_str(s, NULL, out, &len), 0);
}

static void test_referral(void **state)
{
	(void)state;
	ldns_pkt *p = ldns_pkt_new();
	push(p, LDNS_SECTION_AUTHORITY, "example.com. 86400 IN NS ns1.example.com.");
	push(p, LDNS_SECTION_AUTHORITY, "example.com. 86400 IN NS ns.other.net.");
	push(p, LDNS_SECTION_AUTHORITY, "net. 86400 IN NS ns.evil.com.");        /* unrelated zone */
	push(p, LDNS_SECTION_AUTHORITY, "example.com. 86400 IN TXT \"x\"");      /* not NS/SOA/DNSSEC */
	push(p, LDNS_SECTION_ADDITIONAL, "ns1.example.com. 86400 IN A 192.0.2.53"); /* glue */
	push(p, LDNS_SECTION_ADDITIONAL, "ns.other.net. 86400 IN A 6.6.6.6");    /* out of bailiwick */
	push(p, LDNS_SECTION_ADDITIONAL, "www.example.com. 86400 IN A 6.6.6.6"); /* not a name server */
	push(p, LDNS_SECTION_ADDITIONAL, "ns.evil.com. 86400 IN A 6.6.6.6");     /* for the dropped NS */
	uint8_t q[DNS_NAME_MAX], zone[DNS_NAME_MAX];
	name("www.example.com.", q);
	name("com.", zone);
	struct rsv_scrub_stats st;
	int n = rsv_scrub(&tmm, p, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, zone, 8, &st);
	assert_int_equal(n, 5);
	assert_int_equal(st.authority, 2);
	assert_int_equal(st.additional, 3);
	assert_int_equal(count(p, LDNS_SECTION_AUTHORITY, "example.com.\t86400\tIN\tNS"), 2);
	assert_int_equal(count(p, LDNS_SECTION_ADDITIONAL, "ns1.example.com."), 1);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_additional(p)), 1);
	assert_int_equal(ldns_pkt_arcount(p), 1);
	ldns_pkt_free(p);
}

static void test_answer_chain(void **state)
{
	(void)state;
	ldns_pkt *p = ldns_pkt_new();
	push(p, LDNS_SECTION_ANSWER, "www.example.com. 300 IN CNAME web.example.com.");
	push(p, LDNS_SECTION_ANSWER, "web.example.com. 300 IN CNAME cdn.example.net.");
	push(p, LDNS_SECTION_ANSWER, "cdn.example.net. 300 IN A 6.6.6.6");      /* other zone */
	push(p, LDNS_SECTION_ANSWER, "ftp.example.com. 300 IN A 6.6.6.6");      /* not asked */
	push(p, LDNS_SECTION_ANSWER, "www.example.com. 300 CH A 1.2.3.4");  /* other class */
	push(p, LDNS_SECTION_AUTHORITY, "example.com. 300 IN NS ns1.example.com.");
	push(p, LDNS_SECTION_AUTHORITY, "example.net. 300 IN NS ns1.example.com."); /* not ours */
	push(p, LDNS_SECTION_ADDITIONAL, "ns1.example.com. 300 IN A 192.0.2.53");
	push(p, LDNS_SECTION_ADDITIONAL, "ns1.example.com. 300 IN TXT \"no\"");
	uint8_t q[DNS_NAME_MAX], zone[DNS_NAME_MAX];
	name("www.example.com.", q);
	name("example.com.", zone);
	struct rsv_scrub_stats st;
	rsv_scrub(&tmm, p, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, zone, 8, &st);
	assert_int_equal(st.answer, 3);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 2);
	assert_int_equal(count(p, LDNS_SECTION_ANSWER, "www.example.com."), 1);
	assert_int_equal(count(p, LDNS_SECTION_ANSWER, "web.example.com."), 1);
	/* authority: the chain ends outside the zone, no NS of example.com speaks for it */
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_authority(p)), 0);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_additional(p)), 0);
	ldns_pkt_free(p);
}

static void test_negative_soa(void **state)
{
	(void)state;
	ldns_pkt *p = ldns_pkt_new();
	push(p, LDNS_SECTION_AUTHORITY,
		"example.com. 3600 IN SOA ns1.example.com. h.example.com. 1 2 3 4 300");
	push(p, LDNS_SECTION_AUTHORITY,
		"example.org. 3600 IN SOA ns1.example.org. h.example.org. 1 2 3 4 300");
	push(p, LDNS_SECTION_AUTHORITY, "sub.example.com. 3600 IN NSEC z.example.com. A");
	uint8_t q[DNS_NAME_MAX], zone[DNS_NAME_MAX];
	name("nope.example.com.", q);
	name("example.com.", zone);
	assert_int_equal(rsv_scrub(&tmm, p, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, zone, 8, NULL), 1);
	assert_int_equal(count(p, LDNS_SECTION_AUTHORITY, "example.com."), 1);
	assert_int_equal(count(p, LDNS_SECTION_AUTHORITY, "sub.example.com."), 1);
	ldns_pkt_free(p);
}

static void test_dname_and_loop(void **state)
{
	(void)state;
	ldns_pkt *p = ldns_pkt_new();
	push(p, LDNS_SECTION_ANSWER, "old.example.com. 300 IN DNAME new.example.com.");
	push(p, LDNS_SECTION_ANSWER, "www.old.example.com. 300 IN CNAME www.new.example.com.");
	push(p, LDNS_SECTION_ANSWER, "www.new.example.com. 300 IN A 192.0.2.1");
	push(p, LDNS_SECTION_ANSWER, "other.example.com. 300 IN DNAME x.test.");  /* not above */
	uint8_t q[DNS_NAME_MAX], zone[DNS_NAME_MAX];
	name("www.old.example.com.", q);
	name("example.com.", zone);
	assert_int_equal(rsv_scrub(&tmm, p, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, zone, 8, NULL), 1);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 3);
	ldns_pkt_free(p);

	/* a loop a -> b -> a: the walk stops, both kept, no hang */
	p = ldns_pkt_new();
	push(p, LDNS_SECTION_ANSWER, "a.example.com. 300 IN CNAME b.example.com.");
	push(p, LDNS_SECTION_ANSWER, "b.example.com. 300 IN CNAME a.example.com.");
	name("a.example.com.", q);
	assert_int_equal(rsv_scrub(&tmm, p, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, zone, 8, NULL), 0);
	ldns_pkt_free(p);

	/* a long chain is cut at max_chain links */
	p = ldns_pkt_new();
	push(p, LDNS_SECTION_ANSWER, "c1.example.com. 300 IN CNAME c2.example.com.");
	push(p, LDNS_SECTION_ANSWER, "c2.example.com. 300 IN CNAME c3.example.com.");
	push(p, LDNS_SECTION_ANSWER, "c3.example.com. 300 IN CNAME c4.example.com.");
	push(p, LDNS_SECTION_ANSWER, "c4.example.com. 300 IN A 192.0.2.4");
	name("c1.example.com.", q);
	assert_int_equal(rsv_scrub(&tmm, p, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, zone, 2, NULL), 1);
	assert_int_equal(count(p, LDNS_SECTION_ANSWER, "c4.example.com."), 0);
	ldns_pkt_free(p);
}

static void test_root_zone_keeps_all_in_bailiwick(void **state)
{
	(void)state;
	ldns_pkt *p = ldns_pkt_new();
	push(p, LDNS_SECTION_AUTHORITY, "com. 172800 IN NS a.gtld-servers.net.");
	push(p, LDNS_SECTION_ADDITIONAL, "a.gtld-servers.net. 172800 IN A 192.0.2.1");
	push(p, LDNS_SECTION_ADDITIONAL, "a.gtld-servers.net. 172800 IN AAAA 2001:db8::1");
	uint8_t q[DNS_NAME_MAX], zone[DNS_NAME_MAX];
	name("www.example.com.", q);
	name(".", zone);
	assert_int_equal(rsv_scrub(&tmm, p, q, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, zone, 8, NULL), 0);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_additional(p)), 2);
	ldns_pkt_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_answer_chain),
		cmocka_unit_test(test_negative_soa),
		cmocka_unit_test(test_dname_and_loop),
		cmocka_unit_test(test_root_zone_keeps_all_in_bailiwick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

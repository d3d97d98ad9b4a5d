/*
 * test_cache_neg.c -- the resolver cache's negative and failure entries with
 * a fake clock: RFC 2308 NXDOMAIN and NODATA entries and their TTLs, the
 * RFC 8020 cut below a name that does not exist, and RFC 9520 failure
 * hold-downs of names and servers. Helpers: cache_fixture.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dns_err.h"
#include "dns_pkt.h"
#include "rsv_cache.h"

#include "cache_fixture.h"

static void test_negative(void **state)
{
	(void)state;
	struct rsv_cache *c = cache_new(16, 0);
	uint8_t soa[64];
	uint16_t sl = soa_rdata(soa, 300);
	const struct rsv_rrset *rr;
	uint32_t ttl;

	/* NXDOMAIN: TTL min(3600, 300), answers every type of the name */
	assert_int_equal(rsv_cache_insert_negative(c, wname("Gone.Example."), 0, DNS_CLASS_IN,
		true, wname("Example."), 3600, soa, sl, RSV_RANK_AUTH_ANSWER, 0), 0);
	uint16_t types[3] = { DNS_T_A, DNS_T_MX, DNS_T_AAAA };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rsv_cache_lookup(c, wname("gone.example."), types[i], DNS_CLASS_IN,
			1000, &rr, &ttl), 0);
		assert_int_equal(rr->kind, RSV_RR_NXDOMAIN);
		assert_int_equal(ttl, 299);
		assert_int_equal(rr->type, DNS_T_SOA);
		assert_int_equal(rr->count, 1);
		assert_memory_equal(rr->owner, "\7example", 9); /* the zone, for the SOA */
		struct rsv_rr_iter it;
		const uint8_t *d;
		uint16_t dl;
		rsv_rrset_iter(rr, &it);
		assert_true(rsv_rrset_next(&it, &d, &dl));
		assert_int_equal(dl, sl);
		assert_memory_equal(d, soa, sl);
		rsv_rrset_release(rr);
	}
	/* RFC 8020: nothing exists below a name that does not exist */
	assert_int_equal(rsv_cache_lookup(c, wname("a.b.Gone.example."), DNS_T_TXT, DNS_CLASS_IN,
		2000, &rr, &ttl), 0);
	assert_int_equal(rr->kind, RSV_RR_NXDOMAIN);
	assert_int_equal(ttl, 298);
	rsv_rrset_release(rr);
	assert_int_equal(rsv_cache_lookup(c, wname("a.b.other.example."), DNS_T_TXT, DNS_CLASS_IN,
		2000, &rr, &ttl), DNS_E_NOTFOUND);
	assert_int_equal(rsv_cache_lookup(c, wname("example."), DNS_T_TXT, DNS_CLASS_IN,
		2000, &rr, &ttl), DNS_E_NOTFOUND);
	assert_int_equal(rsv_cache_lookup(c, wname("gone.example."), DNS_T_A, DNS_CLASS_IN,
		300000, &rr, &ttl), DNS_E_NOTFOUND);
	struct rsv_cache_stats st;
	rsv_cache_stats(c, &st);
	assert_int_equal(st.hits, 4);
	assert_int_equal(st.misses, 3); /* one per lookup, however many names were tried */

	/* NODATA: TTL min(100, 900) = 100, only for that type */
	sl = soa_rdata(soa, 900);
	assert_int_equal(rsv_cache_insert_negative(c, wname("www.example."), DNS_T_AAAA,
		DNS_CLASS_IN, false, wname("example."), 100, soa, sl, RSV_RANK_AUTH_ANSWER, 0), 0);
	assert_int_equal(rsv_cache_lookup(c, wname("www.example."), DNS_T_AAAA, DNS_CLASS_IN,
		0, &rr, &ttl), 0);
	assert_int_equal(rr->kind, RSV_RR_NODATA);
	assert_int_equal(ttl, 100);
	rsv_rrset_release(rr);
	assert_int_equal(rsv_cache_lookup(c, wname("www.example."), DNS_T_A, DNS_CLASS_IN,
		0, &rr, &ttl), DNS_E_NOTFOUND);
	assert_int_equal(rsv_cache_lookup(c, wname("www.example."), DNS_T_AAAA, DNS_CLASS_IN,
		100000, &rr, &ttl), DNS_E_NOTFOUND);

	/* a SOA rdata too short to hold MINIMUM; NODATA needs a type */
	assert_int_equal(rsv_cache_insert_negative(c, wname("a.example."), 0, DNS_CLASS_IN,
		true, wname("example."), 100, soa, 21, RSV_RANK_AUTH_ANSWER, 0), -EINVAL);
	assert_int_equal(rsv_cache_insert_negative(c, wname("a.example."), 0, DNS_CLASS_IN,
		false, wname("example."), 100, soa, sl, RSV_RANK_AUTH_ANSWER, 0), -EINVAL);
	rsv_cache_free(c);

	/* without the RFC 8020 cut, only the name itself is denied */
	struct rsv_cache_opts o;
	rsv_cache_opts_default(&o);
	o.nxdomain_cut = false;
	assert_int_equal(rsv_cache_new(&tmm, &o, &c), 0);
	assert_int_equal(rsv_cache_insert_negative(c, wname("gone.example."), 0, DNS_CLASS_IN,
		true, wname("example."), 3600, soa, sl, RSV_RANK_AUTH_ANSWER, 0), 0);
	assert_int_equal(rsv_cache_lookup(c, wname("a.gone.example."), DNS_T_A, DNS_CLASS_IN,
		0, &rr, &ttl), DNS_E_NOTFOUND);
	assert_int_equal(rsv_cache_lookup(c, wname("gone.example."), DNS_T_A, DNS_CLASS_IN,
		0, &rr, &ttl), 0);
	rsv_rrset_release(rr);
	rsv_cache_free(c);
}

static void test_failure(void **state)
{
	(void)state;
	struct rsv_cache *c = cache_new(16, 0); /* 1 s first, 10 s cap */
	const uint8_t *n = wname("broken.example.");
	uint64_t until;
	assert_int_equal(rsv_cache_fail_check(c, n, DNS_T_A, DNS_CLASS_IN, 0), DNS_E_NOTFOUND);
	assert_int_equal(rsv_cache_fail_mark(c, n, DNS_T_A, DNS_CLASS_IN, 0, &until), 0);
	assert_int_equal(until, 1000);
	assert_int_equal(rsv_cache_fail_check(c, wname("BROKEN.example."), DNS_T_A, DNS_CLASS_IN, 999), 0);
	assert_int_equal(rsv_cache_fail_check(c, n, DNS_T_AAAA, DNS_CLASS_IN, 500), DNS_E_NOTFOUND);
	assert_int_equal(rsv_cache_fail_check(c, n, DNS_T_A, DNS_CLASS_IN, 1000), DNS_E_NOTFOUND);
	/* repeats double the hold-down: 2 s, 4 s, 8 s, then the 10 s cap */
	assert_int_equal(rsv_cache_fail_mark(c, n, DNS_T_A, DNS_CLASS_IN, 1000, &until), 0);
	assert_int_equal(until, 3000);
	/* a failure reported while held down (already in flight) does not grow it */
	assert_int_equal(rsv_cache_fail_mark(c, n, DNS_T_A, DNS_CLASS_IN, 1500, &until), 0);
	assert_int_equal(until, 3000);
	assert_int_equal(rsv_cache_fail_mark(c, n, DNS_T_A, DNS_CLASS_IN, 3000, &until), 0);
	assert_int_equal(until, 7000);
	assert_int_equal(rsv_cache_fail_mark(c, n, DNS_T_A, DNS_CLASS_IN, 7000, &until), 0);
	assert_int_equal(until, 15000);
	assert_int_equal(rsv_cache_fail_mark(c, n, DNS_T_A, DNS_CLASS_IN, 15000, &until), 0);
	assert_int_equal(until, 25000);
	assert_int_equal(rsv_cache_fail_mark(c, n, DNS_T_A, DNS_CLASS_IN, 25000, &until), 0);
	assert_int_equal(until, 35000);
	assert_int_equal(rsv_cache_fail_check(c, n, DNS_T_A, DNS_CLASS_IN, 34999), 0);
	/* quiet for the cap after the hold-down: forgotten, back to 1 s */
	assert_int_equal(rsv_cache_fail_check(c, n, DNS_T_A, DNS_CLASS_IN, 45000), DNS_E_NOTFOUND);
	assert_int_equal(rsv_cache_fail_mark(c, n, DNS_T_A, DNS_CLASS_IN, 45000, &until), 0);
	assert_int_equal(until, 46000);
	rsv_cache_fail_clear(c, n, DNS_T_A, DNS_CLASS_IN);
	assert_int_equal(rsv_cache_fail_check(c, n, DNS_T_A, DNS_CLASS_IN, 45001), DNS_E_NOTFOUND);

	/* servers, by address bytes */
	uint8_t s1[7] = { 4, 127, 53, 0, 1, 0, 53 }, s2[7] = { 4, 127, 53, 0, 1, 0, 54 };
	uint8_t big[33] = { 0 };
	assert_int_equal(rsv_cache_server_fail_mark(c, s1, sizeof(s1), 100, &until), 0);
	assert_int_equal(until, 1100);
	assert_int_equal(rsv_cache_server_fail_check(c, s1, sizeof(s1), 200), 0);
	assert_int_equal(rsv_cache_server_fail_check(c, s2, sizeof(s2), 200), DNS_E_NOTFOUND);
	assert_int_equal(rsv_cache_server_fail_check(c, s1, sizeof(s1), 1100), DNS_E_NOTFOUND);
	assert_int_equal(rsv_cache_server_fail_mark(c, big, sizeof(big), 100, NULL), -EINVAL);
	/* a server failure and a name failure never collide, nor with RRsets */
	assert_int_equal(rsv_cache_fail_check(c, n, DNS_T_A, DNS_CLASS_IN, 200), DNS_E_NOTFOUND);

	struct rsv_cache_stats st;
	rsv_cache_stats(c, &st);
	assert_int_equal(st.fail_hits, 3);
	rsv_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

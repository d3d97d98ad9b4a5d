/*
 * test_cache.c -- the resolver cache (resolver/core/rsv_cache.h) with a fake
 * clock: RRsets and TTL countdown, clamps, RFC 2181 ranks, and zone cuts.
 *
 * The other topics are in test_cache_neg.c (RFC 2308 negative entries, RFC
 * 9520 failure hold-downs), test_msgcache.c (the message-cache fast path) and
 * test_cache_bound.c (LRU eviction under the memory bound, threads); what
 * they share is in cache_fixture.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dns_err.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"
#include "rsv_cache.h"

#include "cache_fixture.h"

static void test_insert_lookup(void **state)
{
	(void)state;
	struct rsv_cache *c = cache_new(16, 0);
	uint8_t a1[4] = { 192, 0, 2, 1 }, a2[4] = { 192, 0, 2, 2 }, sig[20] = { 0, 1, 8 };
	const uint8_t *rd[2] = { a1, a2 }, *sg[1] = { sig };
	uint16_t len[2] = { 4, 4 }, sl[1] = { sizeof(sig) };
	struct rsv_rrset_in in = { .owner = wname("www.Example.COM."), .type = DNS_T_A,
		.rclass = DNS_CLASS_IN, .ttl = 300, .rank = RSV_RANK_AUTH_ANSWER, .count = 2,
		.rdata = rd, .rdlen = len, .nsigs = 1, .sig = sg, .siglen = sl };
	assert_int_equal(rsv_cache_insert_rrset(c, &in, 1000), 0);

	const struct rsv_rrset *rr;
	uint32_t ttl;
	assert_int_equal(rsv_cache_lookup(c, wname("WWW.example.com."), DNS_T_A, DNS_CLASS_IN,
		1000, &rr, &ttl), 0);
	assert_int_equal(ttl, 300);
	assert_int_equal(rr->kind, RSV_RR_POSITIVE);
	assert_int_equal(rr->rank, RSV_RANK_AUTH_ANSWER);
	assert_int_equal(rr->count, 2);
	assert_int_equal(rr->nsigs, 1);
	assert_memory_equal(rr->owner, "\3www\7example\3com", 17); /* canonical */
	struct rsv_rr_iter it;
	const uint8_t *d;
	uint16_t dl;
	rsv_rrset_iter(rr, &it);
	assert_true(rsv_rrset_next(&it, &d, &dl));
	assert_int_equal(dl, 4);
	assert_memory_equal(d, a1, 4);
	assert_true(rsv_rrset_next(&it, &d, &dl));
	assert_memory_equal(d, a2, 4);
	assert_true(rsv_rrset_next(&it, &d, &dl));
	assert_int_equal(it.index, 3); /* the third item is past count: the RRSIG */
	assert_int_equal(dl, sizeof(sig));
	assert_memory_equal(d, sig, sizeof(sig));
	assert_false(rsv_rrset_next(&it, &d, &dl));

	/* written into a message under the client's spelling of the name, TTL as given */
	uint8_t msg[512];
	struct dns_writer w;
	dns_writer_init(&w, msg, sizeof(msg));
	assert_int_equal(dns_writer_question(&w, wname("wWw.example.com."), DNS_T_A, DNS_CLASS_IN), 0);
	dns_writer_section(&w, DNS_SEC_ANSWER);
	assert_int_equal(rsv_rrset_write(rr, &w, wname("wWw.example.com."), 123, false), 0);
	assert_int_equal(w.count[DNS_SEC_ANSWER], 2);
	assert_int_equal(rsv_rrset_write(rr, &w, wname("wWw.example.com."), 123, true), 0);
	assert_int_equal(w.count[DNS_SEC_ANSWER], 5);
	size_t at = 12 + 17 + 4; /* first answer: pointer to the question, A, IN, 123 */
	assert_memory_equal(msg + at, "\xc0\x0c\0\1\0\1\0\0\0\x7b\0\4\xc0\0\2\1", 16);
	/* all or nothing when it does not fit */
	size_t before = w.len;
	dns_writer_limit(&w, w.len + 20);
	assert_int_equal(rsv_rrset_write(rr, &w, wname("www.example.com."), 1, false), DNS_E_SPACE);
	assert_int_equal(w.len, before);
	assert_int_equal(w.count[DNS_SEC_ANSWER], 5);
	rsv_rrset_release(rr);

	/* other type, other class: misses */
	assert_int_equal(rsv_cache_lookup(c, wname("www.example.com."), DNS_T_AAAA,
		DNS_CLASS_IN, 1000, &rr, &ttl), DNS_E_NOTFOUND);
	assert_null(rr);
	assert_int_equal(rsv_cache_lookup(c, wname("www.example.com."), DNS_T_A,
		DNS_CLASS_CH, 1000, &rr, &ttl), DNS_E_NOTFOUND);

	/* bad input */
	in.count = 0;
	assert_int_equal(rsv_cache_insert_rrset(c, &in, 1000), -EINVAL);
	in.count = 1;
	in.rank = RSV_RANK_NONE;
	assert_int_equal(rsv_cache_insert_rrset(c, &in, 1000), -EINVAL);

	struct rsv_cache_stats st;
	rsv_cache_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.inserts, 1);
	assert_int_equal(st.entries, 1);
	assert_true(st.bytes > 0);
	rsv_cache_free(c);
}

static void test_ttl_countdown(void **state)
{
	(void)state;
	struct rsv_cache *c = cache_new(16, 0);
	uint32_t ttl;
	assert_int_equal(ins_a(c, "a.example.", 300, RSV_RANK_AUTH_ANSWER, 1, 5000), 0);
	assert_int_equal(get_a(c, "a.example.", 5999, &ttl), 1);
	assert_int_equal(ttl, 300);
	assert_int_equal(get_a(c, "a.example.", 6000, &ttl), 1);
	assert_int_equal(ttl, 299);
	assert_int_equal(get_a(c, "a.example.", 5000 + 299999, &ttl), 1);
	assert_int_equal(ttl, 1); /* a live entry never shows 0 */
	/* a reader on another thread whose clock is a little behind */
	assert_int_equal(get_a(c, "a.example.", 4000, &ttl), 1);
	assert_int_equal(ttl, 300);

	/* a view held across expiry stays readable, and is freed by its last release */
	const struct rsv_rrset *held;
	assert_int_equal(rsv_cache_lookup(c, wname("a.example."), DNS_T_A, DNS_CLASS_IN,
		10000, &held, NULL), 0);
	assert_int_equal(get_a(c, "a.example.", 5000 + 300000, &ttl), -1);
	assert_int_equal(held->count, 1);
	assert_int_equal(held->ttl, 300);
	rsv_rrset_release(held);

	struct rsv_cache_stats st;
	rsv_cache_stats(c, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);

	/* TTL 0: used once, never cached (RFC 1035 3.2.1) */
	assert_int_equal(ins_a(c, "zero.example.", 0, RSV_RANK_AUTH_ANSWER, 1, 0), 0);
	assert_int_equal(get_a(c, "zero.example.", 0, &ttl), -1);
	/* top bit set counts as 0 (RFC 2181 8) */
	assert_int_equal(ins_a(c, "big.example.", 0x80000001u, RSV_RANK_AUTH_ANSWER, 1, 0), 0);
	assert_int_equal(get_a(c, "big.example.", 0, &ttl), -1);
	rsv_cache_free(c);
}

static void test_clamps(void **state)
{
	(void)state;
	struct rsv_cache_opts o;
	struct rsv_cache *c;
	rsv_cache_opts_default(&o);
	assert_int_equal(o.max_bytes, 64u << 20);
	assert_int_equal(o.min_ttl, 0);
	assert_int_equal(o.max_ttl, 86400);
	assert_int_equal(o.max_neg_ttl, 3600);
	o.min_ttl = 60;
	o.max_ttl = 3600;
	o.max_neg_ttl = 300;
	assert_int_equal(rsv_cache_new(&tmm, &o, &c), 0);
	uint32_t ttl;
	assert_int_equal(ins_a(c, "low.example.", 5, RSV_RANK_AUTH_ANSWER, 1, 0), 0);
	assert_int_equal(get_a(c, "low.example.", 0, &ttl), 1);
	assert_int_equal(ttl, 60);
	assert_int_equal(ins_a(c, "high.example.", 100000, RSV_RANK_AUTH_ANSWER, 1, 0), 0);
	assert_int_equal(get_a(c, "high.example.", 0, &ttl), 1);
	assert_int_equal(ttl, 3600);
	assert_int_equal(get_a(c, "high.example.", 3600 * 1000, &ttl), -1);
	/* with a min-ttl, even a zero TTL is kept that long (the operator asked for it) */
	assert_int_equal(ins_a(c, "zero.example.", 0, RSV_RANK_AUTH_ANSWER, 1, 0), 0);
	assert_int_equal(get_a(c, "zero.example.", 0, &ttl), 1);
	assert_int_equal(ttl, 60);

	/* negative TTL: min(SOA TTL, MINIMUM) = 86400, capped at 300; min-ttl not applied */
	uint8_t soa[64];
	uint16_t sl = soa_rdata(soa, 86400);
	const struct rsv_rrset *rr;
	assert_int_equal(rsv_cache_insert_negative(c, wname("nx.example."), 0, DNS_CLASS_IN,
		true, wname("example."), 86400, soa, sl, RSV_RANK_AUTH_ANSWER, 0), 0);
	assert_int_equal(rsv_cache_lookup(c, wname("nx.example."), DNS_T_A, DNS_CLASS_IN, 0,
		&rr, &ttl), 0);
	assert_int_equal(ttl, 300);
	rsv_rrset_release(rr);
	sl = soa_rdata(soa, 10);
	assert_int_equal(rsv_cache_insert_negative(c, wname("nx2.example."), 0, DNS_CLASS_IN,
		true, wname("example."), 86400, soa, sl, RSV_RANK_AUTH_ANSWER, 0), 0);
	assert_int_equal(rsv_cache_lookup(c, wname("nx2.example."), DNS_T_A, DNS_CLASS_IN, 0,
		&rr, &ttl), 0);
	assert_int_equal(ttl, 10);
	rsv_rrset_release(rr);

	/* bad options */
	struct rsv_cache *bad;
	o.shards = 3;
	assert_int_equal(rsv_cache_new(&tmm, &o, &bad), -EINVAL);
	o.shards = 16;
	o.max_bytes = 1000;
	assert_int_equal(rsv_cache_new(&tmm, &o, &bad), -EINVAL);
	rsv_cache_free(c);
}

static void test_ranks(void **state)
{
	(void)state;
	struct rsv_cache *c = cache_new(4, 0);
	uint32_t ttl;
	/* glue from a referral first */
	assert_int_equal(ins_a(c, "ns1.example.", 172800, RSV_RANK_ADDITIONAL, 1, 0), 0);
	assert_int_equal(get_a(c, "ns1.example.", 0, &ttl), 1);
	/* the zone's own authoritative answer replaces it */
	assert_int_equal(ins_a(c, "ns1.example.", 3600, RSV_RANK_AUTH_ANSWER, 2, 1000), 0);
	assert_int_equal(get_a(c, "ns1.example.", 1000, &ttl), 2);
	assert_int_equal(ttl, 3600);
	/* glue, additional data or a non-authoritative answer never replace it (RFC 2181 5.4.1) */
	assert_int_equal(ins_a(c, "ns1.example.", 172800, RSV_RANK_ADDITIONAL, 3, 2000), DNS_E_EXISTS);
	assert_int_equal(ins_a(c, "ns1.example.", 172800, RSV_RANK_NONAUTH_ANSWER, 4, 2000), DNS_E_EXISTS);
	assert_int_equal(ins_a(c, "ns1.example.", 172800, RSV_RANK_AUTH_AUTHORITY, 5, 2000), DNS_E_EXISTS);
	assert_int_equal(get_a(c, "ns1.example.", 2000, &ttl), 2);
	/* equal rank: newer data wins */
	assert_int_equal(ins_a(c, "ns1.example.", 3600, RSV_RANK_AUTH_ANSWER, 6, 3000), 0);
	assert_int_equal(get_a(c, "ns1.example.", 3000, &ttl), 6);
	/* once the authoritative entry has expired, glue may be cached again */
	assert_int_equal(ins_a(c, "ns1.example.", 60, RSV_RANK_ADDITIONAL, 7, 3000 + 3600000), 0);
	assert_int_equal(get_a(c, "ns1.example.", 3000 + 3600000, &ttl), 7);

	/* a NODATA shares the slot: positive authoritative data replaces lower-ranked NODATA */
	uint8_t soa[64];
	uint16_t sl = soa_rdata(soa, 300);
	assert_int_equal(rsv_cache_insert_negative(c, wname("x.example."), DNS_T_A, DNS_CLASS_IN,
		false, wname("example."), 300, soa, sl, RSV_RANK_NONAUTH_ANSWER, 0), 0);
	assert_int_equal(ins_a(c, "x.example.", 300, RSV_RANK_AUTH_ANSWER, 9, 0), 0);
	assert_int_equal(get_a(c, "x.example.", 0, &ttl), 9);
	/* and an authoritative NODATA is not overwritten by glue */
	assert_int_equal(rsv_cache_insert_negative(c, wname("y.example."), DNS_T_A, DNS_CLASS_IN,
		false, wname("example."), 300, soa, sl, RSV_RANK_AUTH_ANSWER, 0), 0);
	assert_int_equal(ins_a(c, "y.example.", 300, RSV_RANK_ADDITIONAL, 9, 0), DNS_E_EXISTS);

	struct rsv_cache_stats st;
	rsv_cache_stats(c, &st);
	assert_int_equal(st.rejected, 4);
	rsv_cache_free(c);
}

static void ins_ns(struct rsv_cache *c, const char *zone, const char *ns, uint32_t ttl)
{
	uint8_t rd[DNS_NAME_MAX];
	size_t l;
	assert_int_equal(dns_name_from_str(ns, NULL, rd, &l), 0);
	const uint8_t *rdp[1] = { rd };
	uint16_t len[1] = { (uint16_t)l };
	struct rsv_rrset_in in = { .owner = wname(zone), .type = DNS_T_NS,
		.rclass = DNS_CLASS_IN, .ttl = ttl, .rank = RSV_RANK_ADDITIONAL, .count = 1,
		.rdata = rdp, .rdlen = len };
	assert_int_equal(rsv_cache_insert_rrset(c, &in, 0), 0);
}

static void test_deleg(void **state)
{
	(void)state;
	struct rsv_cache *c = cache_new(16, 0);
	const struct rsv_rrset *ns;
	uint32_t ttl;
	assert_int_equal(rsv_cache_deleg_find(c, wname("www.sub.example.com."), DNS_CLASS_IN, 0,
		&ns, &ttl), DNS_E_NOTFOUND);
	assert_null(ns);
	ins_ns(c, ".", "a.root-servers.net.", 518400);
	ins_ns(c, "com.", "a.gtld-servers.net.", 172800);
	ins_ns(c, "example.com.", "ns1.example.com.", 600);
	/* a NODATA for NS: not a cut, the walk goes on up */
	uint8_t soa[64];
	uint16_t sl = soa_rdata(soa, 300);
	assert_int_equal(rsv_cache_insert_negative(c, wname("sub.example.com."), DNS_T_NS,
		DNS_CLASS_IN, false, wname("example.com."), 300, soa, sl, RSV_RANK_AUTH_ANSWER, 0), 0);

	assert_int_equal(rsv_cache_deleg_find(c, wname("www.Sub.Example.com."), DNS_CLASS_IN, 0,
		&ns, &ttl), 0);
	assert_memory_equal(ns->owner, "\7example\3com", 13);
	assert_int_equal(ttl, 600);
	rsv_rrset_release(ns);
	/* a lame delegation dropped by the iterator: the next one up */
	ins_ns(c, "lame.example.com.", "ns.lame.example.com.", 600);
	assert_int_equal(rsv_cache_deleg_find(c, wname("x.lame.example.com."), DNS_CLASS_IN, 0,
		&ns, &ttl), 0);
	assert_int_equal(ns->owner[1], 'l');
	rsv_rrset_release(ns);
	assert_int_equal(rsv_cache_remove(c, wname("LAME.example.com."), DNS_T_NS, DNS_CLASS_IN), 0);
	assert_int_equal(rsv_cache_remove(c, wname("lame.example.com."), DNS_T_NS, DNS_CLASS_IN),
		DNS_E_NOTFOUND);
	assert_int_equal(rsv_cache_deleg_find(c, wname("x.lame.example.com."), DNS_CLASS_IN, 0,
		&ns, &ttl), 0);
	assert_memory_equal(ns->owner, "\7example\3com", 13);
	rsv_rrset_release(ns);
	/* the deepest cut expires: the next one up */
	assert_int_equal(rsv_cache_deleg_find(c, wname("www.sub.example.com."), DNS_CLASS_IN,
		600000, &ns, &ttl), 0);
	assert_memory_equal(ns->owner, "\3com", 5);
	rsv_rrset_release(ns);
	assert_int_equal(rsv_cache_deleg_find(c, wname("org."), DNS_CLASS_IN, 0, &ns, &ttl), 0);
	assert_int_equal(ns->owner[0], 0); /* the root */
	rsv_rrset_release(ns);
	assert_int_equal(rsv_cache_deleg_find(c, wname("."), DNS_CLASS_IN, 0, &ns, &ttl), 0);
	/* a flush empties the cache; a view held meanwhile stays readable */
	rsv_cache_flush(c);
	assert_int_equal(ns->owner[0], 0);
	rsv_rrset_release(ns);
	assert_int_equal(rsv_cache_deleg_find(c, wname("org."), DNS_CLASS_IN, 0, &ns, &ttl),
		DNS_E_NOTFOUND);
	struct rsv_cache_stats st;
	rsv_cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	rsv_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup),
		cmocka_unit_test(test_ttl_countdown),
		cmocka_unit_test(test_clamps),
		cmocka_unit_test(test_ranks),
		cmocka_unit_test(test_deleg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

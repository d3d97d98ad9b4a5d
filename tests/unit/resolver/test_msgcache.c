/*
 * test_msgcache.c -- the resolver cache's message-cache fast path with a fake
 * clock: a hit checked byte by byte against an answer built independently
 * (new ID, the client's case, TTLs counted down, no allocation), the key
 * bits, negative answers, what is not cached, sizes, TTL clamps, and damaged
 * input. Helpers: cache_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns_err.h"
#include "dns_pkt.h"
#include "dns_rng.h"
#include "rsv_cache.h"

#include "cache_fixture.h"

static void test_msgcache(void **state)
{
	(void)state;
	struct rsv_cache *c = cache_new(16, 0);
	uint8_t resp[1024], query[512], out[2048], want[1024];
	size_t rlen, qlen, olen;
	const uint16_t rflags = DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA;
	struct rr_spec rrs[4] = {
		{ DNS_SEC_ANSWER, "www.example.com.", DNS_T_A, 300, A1, 4 },
		{ DNS_SEC_ANSWER, "www.example.com.", DNS_T_A, 600, A2, 4 },
		{ DNS_SEC_AUTHORITY, "example.com.", DNS_T_NS, 3600, NS1, sizeof(NS1) },
		{ DNS_SEC_ADDITIONAL, "ns1.example.com.", DNS_T_A, 1200, A53, 4 },
	};
	rlen = build_msg(resp, sizeof(resp), 0x1111, rflags, "www.example.com.", DNS_T_A, rrs, 4, 0, 1232);
	assert_int_equal(rsv_msgcache_insert(c, resp, rlen, 10000), 0);

	/* the client asks with its own ID, 0x20 case, RD clear, EDNS, 42.5 s later */
	qlen = build_msg(query, sizeof(query), 0xBEEF, 0, "wWw.ExAmple.cOm.", DNS_T_A, NULL, 0, 0, 1232);
	unsigned long allocs = alloc_calls;
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 10000 + 42500, out,
		sizeof(out), &olen), 0);
	assert_int_equal(alloc_calls, allocs); /* no allocation on the hit path */

	/* what it must be, built independently: same layout, new ID, flags, case and TTLs */
	struct rr_spec w4[4];
	memcpy(w4, rrs, sizeof(w4));
	for (int i = 0; i < 4; i++)
		w4[i].ttl -= 42;
	w4[0].owner = w4[1].owner = "wWw.ExAmple.cOm.";
	size_t wlen = build_msg(want, sizeof(want), 0xBEEF, DNS_FLAG_QR | DNS_FLAG_RA,
		"wWw.ExAmple.cOm.", DNS_T_A, w4, 4, 0, 1232);
	assert_int_equal(olen, wlen);
	assert_memory_equal(out, want, wlen);

	/* the answer owners point at the question, so they show the client's case too */
	assert_int_equal(out[12 + 17 + 4], 0xc0);

	/* different key bits: no OPT, DO set, CD set, other type: misses */
	qlen = build_msg(query, sizeof(query), 1, DNS_FLAG_RD, "www.example.com.", DNS_T_A, NULL, 0, -1, 0);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 10000, out, sizeof(out), &olen),
		DNS_E_NOTFOUND);
	qlen = build_msg(query, sizeof(query), 1, DNS_FLAG_RD, "www.example.com.", DNS_T_A, NULL, 0,
		DNS_EDNS_DO, 1232);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 10000, out, sizeof(out), &olen),
		DNS_E_NOTFOUND);
	qlen = build_msg(query, sizeof(query), 1, DNS_FLAG_RD | DNS_FLAG_CD, "www.example.com.",
		DNS_T_A, NULL, 0, 0, 1232);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 10000, out, sizeof(out), &olen),
		DNS_E_NOTFOUND);
	qlen = build_msg(query, sizeof(query), 1, DNS_FLAG_RD, "www.example.com.", DNS_T_AAAA,
		NULL, 0, 0, 1232);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 10000, out, sizeof(out), &olen),
		DNS_E_NOTFOUND);
	/* RD copied from the query */
	qlen = build_msg(query, sizeof(query), 7, DNS_FLAG_RD, "www.example.com.", DNS_T_A, NULL, 0, 0, 1232);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 10000, out, sizeof(out), &olen), 0);
	assert_int_equal(out[2] & 0x01, 1);
	/* too small an output buffer: a miss, the slow path truncates */
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, true, 10000, out, 40, &olen),
		DNS_E_NOTFOUND);
	/* the shortest TTL (300 s) ends the entry: live at 309.999 s after insert, gone at 310 */
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 10000 + 299999, out,
		sizeof(out), &olen), 0);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 10000 + 300000, out,
		sizeof(out), &olen), DNS_E_NOTFOUND);
	/* a response (QR set) or garbage is not a query for this path */
	assert_int_equal(rsv_msgcache_answer(c, resp, rlen, false, 10000, out, sizeof(out), &olen),
		DNS_E_FORMAT);
	assert_int_equal(rsv_msgcache_answer(c, query, 5, false, 10000, out, sizeof(out), &olen),
		DNS_E_FORMAT);

	struct rsv_cache_stats st;
	rsv_cache_stats(c, &st);
	assert_int_equal(st.msg_hits, 3);
	assert_int_equal(st.msg_misses, 6);
	rsv_cache_free(c);
}

static void test_msgcache_negative_and_limits(void **state)
{
	(void)state;
	struct rsv_cache *c = cache_new(16, 0);
	uint8_t resp[4096], query[512], out[4096], soa[64];
	size_t rlen, qlen, olen;
	uint16_t sl = soa_rdata(soa, 60);

	/* NXDOMAIN with SOA TTL 3600, MINIMUM 60: served with SOA TTL 60 - elapsed */
	struct rr_spec nx[1] = { { DNS_SEC_AUTHORITY, "example.", DNS_T_SOA, 3600, soa, sl } };
	rlen = build_msg(resp, sizeof(resp), 1, DNS_FLAG_QR | DNS_FLAG_RA | DNS_RC_NXDOMAIN,
		"nope.example.", DNS_T_A, nx, 1, -1, 0);
	assert_int_equal(rsv_msgcache_insert(c, resp, rlen, 0), 0);
	qlen = build_msg(query, sizeof(query), 9, DNS_FLAG_RD, "NOPE.example.", DNS_T_A, NULL, 0, -1, 0);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 10000, out, sizeof(out), &olen), 0);
	assert_int_equal(olen, rlen);
	assert_int_equal(DNS_RCODE(out[3]), DNS_RC_NXDOMAIN);
	/* the SOA's TTL field: after header, question (14 + 4), owner (a pointer), type, class */
	size_t toff = 12 + 14 + 4 + 2 + 4;
	assert_int_equal((out[toff] << 24 | out[toff + 1] << 16 | out[toff + 2] << 8 | out[toff + 3]), 50);
	assert_memory_equal(out + 12, "\4NOPE\7example", 14);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 60000, out, sizeof(out), &olen),
		DNS_E_NOTFOUND);

	/* not cached: NODATA without SOA, SERVFAIL, TC, a TTL of 0 */
	rlen = build_msg(resp, sizeof(resp), 1, DNS_FLAG_QR, "nodata.example.", DNS_T_A, NULL, 0, -1, 0);
	assert_int_equal(rsv_msgcache_insert(c, resp, rlen, 0), 0);
	rlen = build_msg(resp, sizeof(resp), 1, DNS_FLAG_QR | DNS_RC_SERVFAIL, "sf.example.",
		DNS_T_A, NULL, 0, -1, 0);
	assert_int_equal(rsv_msgcache_insert(c, resp, rlen, 0), 0);
	struct rr_spec z[1] = { { DNS_SEC_ANSWER, "z.example.", DNS_T_A, 0, A1, 4 } };
	rlen = build_msg(resp, sizeof(resp), 1, DNS_FLAG_QR, "z.example.", DNS_T_A, z, 1, -1, 0);
	assert_int_equal(rsv_msgcache_insert(c, resp, rlen, 0), 0);
	rlen = build_msg(resp, sizeof(resp), 1, DNS_FLAG_QR | DNS_FLAG_TC, "tc.example.",
		DNS_T_A, z, 1, -1, 0);
	assert_int_equal(rsv_msgcache_insert(c, resp, rlen, 0), 0);
	struct rsv_cache_stats st;
	rsv_cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	/* malformed: truncated */
	rlen = build_msg(resp, sizeof(resp), 1, DNS_FLAG_QR, "z.example.", DNS_T_A, z, 1, -1, 0);
	assert_int_equal(rsv_msgcache_insert(c, resp, rlen - 1, 0), DNS_E_FORMAT);
	assert_int_equal(rsv_msgcache_insert(c, resp, 11, 0), DNS_E_FORMAT);

	/* 30 TXT records of 100 bytes: over 512 and the client's 1232 for UDP, fine for TCP */
	static uint8_t txt[100];
	memset(txt, 'x', sizeof(txt));
	txt[0] = 99;
	struct rr_spec big[30];
	for (int i = 0; i < 30; i++)
		big[i] = (struct rr_spec){ DNS_SEC_ANSWER, "big.example.", DNS_T_TXT, 600, txt, 100 };
	rlen = build_msg(resp, sizeof(resp), 1, DNS_FLAG_QR, "big.example.", DNS_T_TXT, big, 30, 0, 1232);
	assert_true(rlen > 1232);
	assert_int_equal(rsv_msgcache_insert(c, resp, rlen, 0), 0);
	qlen = build_msg(query, sizeof(query), 9, 0, "big.example.", DNS_T_TXT, NULL, 0, 0, 1232);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 0, out, sizeof(out), &olen),
		DNS_E_NOTFOUND);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, true, 0, out, sizeof(out), &olen), 0);
	assert_int_equal(olen, rlen);
	qlen = build_msg(query, sizeof(query), 9, 0, "big.example.", DNS_T_TXT, NULL, 0, 0, 4096);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 0, out, sizeof(out), &olen), 0);
	rsv_cache_free(c);
}

/* min-ttl/max-ttl clamp the stored TTL fields too. */
static void test_msgcache_ttl_clamps(void **state)
{
	(void)state;
	struct rsv_cache *c;
	uint8_t resp[4096], query[512], out[4096];
	size_t rlen, qlen, olen;
	struct rsv_cache_opts o;
	rsv_cache_opts_default(&o);
	o.min_ttl = 30;
	o.max_ttl = 100;
	assert_int_equal(rsv_cache_new(&tmm, &o, &c), 0);
	struct rr_spec two[2] = {
		{ DNS_SEC_ANSWER, "t.example.", DNS_T_A, 5, A1, 4 },
		{ DNS_SEC_ANSWER, "t.example.", DNS_T_A, 5000, A2, 4 },
	};
	rlen = build_msg(resp, sizeof(resp), 1, DNS_FLAG_QR, "t.example.", DNS_T_A, two, 2, -1, 0);
	assert_int_equal(rsv_msgcache_insert(c, resp, rlen, 0), 0);
	qlen = build_msg(query, sizeof(query), 9, 0, "t.example.", DNS_T_A, NULL, 0, -1, 0);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 0, out, sizeof(out), &olen), 0);
	size_t a0 = 12 + 11 + 4 + 2 + 4; /* TTL of the first answer (owner is a pointer) */
	size_t a1 = a0 + 4 + 2 + 4 + 2 + 4;
	assert_int_equal(out[a0 + 3], 30);
	assert_int_equal(out[a1 + 3], 100);
	assert_int_equal(rsv_msgcache_answer(c, query, qlen, false, 30000, out, sizeof(out), &olen),
		DNS_E_NOTFOUND);
	rsv_cache_free(c);
}

/* Damaged responses and queries (seeded, so every run is the same): no crash, no leak. */
static void test_msgcache_garbage(void **state)
{
	(void)state;
	struct rsv_cache *c = cache_new(4, 256 * 1024);
	struct dns_rng rng;
	struct dns_rng_seeded seed;
	dns_rng_seeded_init(&rng, &seed, 2026);
	uint8_t soa[64], good[1024], resp[1024], gq[512], query[512], out[1024];
	uint16_t sl = soa_rdata(soa, 60);
	struct rr_spec rrs[4] = {
		{ DNS_SEC_ANSWER, "www.example.com.", DNS_T_CNAME, 300, NS1, sizeof(NS1) },
		{ DNS_SEC_ANSWER, "ns1.example.com.", DNS_T_A, 600, A2, 4 },
		{ DNS_SEC_AUTHORITY, "example.com.", DNS_T_SOA, 3600, soa, sl },
		{ DNS_SEC_ADDITIONAL, "ns1.example.com.", DNS_T_A, 1200, A53, 4 },
	};
	size_t glen = build_msg(good, sizeof(good), 1, DNS_FLAG_QR, "www.example.com.", DNS_T_A,
		rrs, 4, DNS_EDNS_DO, 1232);
	size_t gqlen = build_msg(gq, sizeof(gq), 1, 0, "www.example.com.", DNS_T_A, NULL, 0,
		DNS_EDNS_DO, 1232);
	unsigned hits = 0;
	for (int i = 0; i < 3000; i++) {
		size_t len = glen;
		memcpy(resp, good, glen);
		unsigned n = 1 + dns_rng_uniform(&rng, 4);
		for (unsigned k = 0; k < n; k++)
			resp[dns_rng_uniform(&rng, (uint32_t)len)] = (uint8_t)dns_rng_u32(&rng);
		if (dns_rng_uniform(&rng, 4) == 0)
			len = dns_rng_uniform(&rng, (uint32_t)len + 1);
		int rc = rsv_msgcache_insert(c, resp, len, (uint64_t)i);
		assert_true(rc == 0 || rc == DNS_E_FORMAT);

		size_t qlen = gqlen;
		memcpy(query, gq, gqlen);
		if (i % 2)
			query[dns_rng_uniform(&rng, (uint32_t)qlen)] = (uint8_t)dns_rng_u32(&rng);
		size_t olen;
		rc = rsv_msgcache_answer(c, query, qlen, i % 3 == 0, (uint64_t)i, out, sizeof(out), &olen);
		assert_true(rc == 0 || rc == DNS_E_NOTFOUND || rc == DNS_E_FORMAT);
		if (rc == 0) {
			assert_true(olen >= 12 && olen <= sizeof(out));
			hits++;
		}
	}
	struct rsv_cache_stats st;
	rsv_cache_stats(c, &st);
	assert_true(st.bytes <= 256 * 1024);
	assert_true(hits > 0);
	rsv_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msgcache),
		cmocka_unit_test(test_msgcache_negative_and_limits),
		cmocka_unit_test(test_msgcache_ttl_clamps),
		cmocka_unit_test(test_msgcache_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

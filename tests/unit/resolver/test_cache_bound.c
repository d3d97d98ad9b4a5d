/*
 * test_cache_bound.c -- the resolver cache under its memory bound: LRU
 * eviction (expired entries first, an entry bigger than the bound refused),
 * and four threads sharing one small cache of RRsets, messages and server
 * failures. Every allocation goes through cmocka's checked allocator (behind
 * a mutex, for the threads), so a leak fails the test. Helpers:
 * cache_fixture.h.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns_err.h"
#include "dns_pkt.h"
#include "rsv_cache.h"

#include "cache_fixture.h"

static void test_lru(void **state)
{
	(void)state;
	const size_t bound = 4096;
	struct rsv_cache *c = cache_new(1, bound);
	struct rsv_cache_stats st;
	uint32_t ttl;
	char name[32];
	int n = 0;
	/* fill until the first eviction; every name has the same length, so the same size */
	for (;; n++) {
		snprintf(name, sizeof(name), "n%03d.example.", n);
		assert_int_equal(ins_a(c, name, 3600, RSV_RANK_AUTH_ANSWER, 1, (uint64_t)n), 0);
		rsv_cache_stats(c, &st);
		assert_true(st.bytes <= bound);
		if (st.evictions > 0)
			break;
		assert_true(n < 100);
	}
	assert_true(n >= 4);
	/* the oldest went first */
	assert_int_equal(st.evictions, 1);
	assert_int_equal(get_a(c, "n000.example.", 1000, &ttl), -1);
	assert_int_equal(get_a(c, "n002.example.", 1000, &ttl), 1);
	/* n001 is now the least recently used: the next insert evicts it, not n002 */
	snprintf(name, sizeof(name), "n%03d.example.", ++n);
	assert_int_equal(ins_a(c, name, 3600, RSV_RANK_AUTH_ANSWER, 1, 2000), 0);
	assert_int_equal(get_a(c, "n001.example.", 2000, &ttl), -1);
	assert_int_equal(get_a(c, "n002.example.", 2000, &ttl), 1);
	assert_int_equal(get_a(c, "n003.example.", 2000, &ttl), 1);
	rsv_cache_stats(c, &st);
	assert_int_equal(st.evictions, 2);
	assert_true(st.bytes <= bound);

	/* an expired entry at the cold end goes before any live one */
	assert_int_equal(ins_a(c, "short.example.", 1, RSV_RANK_AUTH_ANSWER, 1, 3000), 0);
	for (int i = 0; i <= n; i++) { /* make short the least recently used */
		snprintf(name, sizeof(name), "n%03d.example.", i);
		get_a(c, name, 3000, &ttl);
	}
	rsv_cache_stats(c, &st);
	uint64_t ev = st.evictions;
	assert_int_equal(ins_a(c, "later.example.", 3600, RSV_RANK_AUTH_ANSWER, 1, 10000), 0);
	rsv_cache_stats(c, &st);
	assert_true(st.bytes <= bound);
	assert_int_equal(get_a(c, "short.example.", 10000, &ttl), -1);

	/* an entry bigger than the bound alone is refused */
	static uint8_t huge[4000];
	const uint8_t *rd[1] = { huge };
	uint16_t len[1] = { sizeof(huge) };
	struct rsv_rrset_in in = { .owner = wname("huge.example."), .type = DNS_T_TXT,
		.rclass = DNS_CLASS_IN, .ttl = 60, .rank = RSV_RANK_AUTH_ANSWER, .count = 1,
		.rdata = rd, .rdlen = len };
	assert_int_equal(rsv_cache_insert_rrset(c, &in, 10000), DNS_E_SPACE);
	rsv_cache_stats(c, &st);
	assert_true(st.evictions >= ev);
	assert_true(st.bytes <= bound);
	rsv_cache_free(c);
}

/* ---- threads ---- */

struct worker {
	struct rsv_cache *c;
	int id;
	uint64_t hits;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint8_t resp[512], query[512], out[1024];
	char name[64];
	for (int i = 0; i < 3000; i++) {
		uint64_t now = (uint64_t)i * 7;
		snprintf(name, sizeof(name), "h%d.t%d.example.", (i * 13 + w->id) % 400, i % 3);
		uint8_t a[4] = { 10, (uint8_t)w->id, (uint8_t)(i >> 8), (uint8_t)i };
		const uint8_t *rd[1] = { a };
		uint16_t len[1] = { 4 };
		struct rsv_rrset_in in = { .owner = wname(name), .type = DNS_T_A,
			.rclass = DNS_CLASS_IN, .ttl = 1 + (uint32_t)(i % 5),
			.rank = (enum rsv_rank)(1 + (i + w->id) % 4), .count = 1, .rdata = rd, .rdlen = len };
		int rc = rsv_cache_insert_rrset(w->c, &in, now);
		assert_true(rc == 0 || rc == DNS_E_EXISTS);

		snprintf(name, sizeof(name), "h%d.t%d.example.", (i * 7) % 400, (i + 1) % 3);
		const struct rsv_rrset *rr;
		if (rsv_cache_lookup(w->c, wname(name), DNS_T_A, DNS_CLASS_IN, now, &rr, NULL) == 0) {
			struct rsv_rr_iter it;
			const uint8_t *d;
			uint16_t dl;
			rsv_rrset_iter(rr, &it);
			while (rsv_rrset_next(&it, &d, &dl))
				assert_int_equal(dl, 4);
			rsv_rrset_release(rr);
			w->hits++;
		}

		snprintf(name, sizeof(name), "m%d.example.", i % 50);
		struct rr_spec r1[1] = { { DNS_SEC_ANSWER, name, DNS_T_A, 2, a, 4 } };
		size_t rlen = build_msg(resp, sizeof(resp), 0, DNS_FLAG_QR, name, DNS_T_A, r1, 1, -1, 0);
		assert_int_equal(rsv_msgcache_insert(w->c, resp, rlen, now), 0);
		snprintf(name, sizeof(name), "M%d.example.", (i + 17) % 50);
		size_t qlen = build_msg(query, sizeof(query), (uint16_t)i, 0, name, DNS_T_A, NULL, 0, -1, 0);
		size_t olen;
		if (rsv_msgcache_answer(w->c, query, qlen, false, now, out, sizeof(out), &olen) == 0) {
			/* header, question, one A whose owner points at the question */
			assert_int_equal(olen, 12 + strlen(name) + 1 + 4 + 16);
			assert_memory_equal(out + 12, wname(name), strlen(name) + 1);
			w->hits++;
		}
		if (i % 100 == 0) {
			uint8_t srv[3] = { (uint8_t)w->id, 0, (uint8_t)i };
			rsv_cache_server_fail_mark(w->c, srv, sizeof(srv), now, NULL);
			rsv_cache_server_fail_check(w->c, srv, sizeof(srv), now);
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	const size_t bound = 64 * 1024; /* small: evictions happen all the time */
	struct rsv_cache *c = cache_new(16, bound);
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .c = c, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	uint64_t hits = 0;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		hits += w[i].hits;
	}
	struct rsv_cache_stats st;
	rsv_cache_stats(c, &st);
	assert_true(st.bytes <= bound);
	assert_true(st.evictions > 0);
	assert_true(hits > 0);
	assert_int_equal(st.hits + st.msg_hits, hits);
	rsv_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

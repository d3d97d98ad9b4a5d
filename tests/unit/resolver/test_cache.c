/*
 * test_cache.c -- the resolver cache (resolver/core/rsv_cache.h) with a fake
 * clock: RRsets and TTL countdown, clamps, RFC 2181 ranks, RFC 2308 negative
 * entries, RFC 9520 failure hold-downs, zone cuts, the message-cache fast path
 * (checked byte by byte), LRU eviction under the memory bound, and four threads
 * sharing one cache. Every allocation goes through cmocka's checked allocator
 * (behind a mutex, for the threads), so a leak fails the test.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns_err.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_rng.h"
#include "dns_writer.h"
#include "rsv_cache.h"

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long alloc_calls;

static void *t_alloc(void *ctx, size_t n)
{
	(void)ctx;
	pthread_mutex_lock(&alloc_lock);
	alloc_calls++;
	void *p = test_malloc(n);
	pthread_mutex_unlock(&alloc_lock);
	return p;
}

static void t_free(void *ctx, void *p)
{
	(void)ctx;
	if (!p)
		return;
	pthread_mutex_lock(&alloc_lock);
	test_free(p);
	pthread_mutex_unlock(&alloc_lock);
}

static const struct dns_mm tmm = { t_alloc, t_free, NULL };

static const uint8_t *wname(const char *s)
{
	static __thread uint8_t buf[8][DNS_NAME_MAX];
	static __thread int i;
	size_t len;
	uint8_t *b = buf[i++ & 7];
	assert_int_equal(dns_name_from_str(s, NULL, b, &len), 0);
	return b;
}

static struct rsv_cache *cache_new(unsigned shards, size_t max_bytes)
{
	struct rsv_cache_opts o;
	struct rsv_cache *c;
	rsv_cache_opts_default(&o);
	o.shards = shards;
	if (max_bytes)
		o.max_bytes = max_bytes;
	assert_int_equal(rsv_cache_new(&tmm, &o, &c), 0);
	return c;
}

/* Insert an A RRset of one address 192.0.2.last. */
static int ins_a(struct rsv_cache *c, const char *name, uint32_t ttl, enum rsv_rank rank,
	uint8_t last, uint64_t now)
{
	uint8_t a[4] = { 192, 0, 2, last };
	const uint8_t *rd[1] = { a };
	uint16_t len[1] = { 4 };
	struct rsv_rrset_in in = { .owner = wname(name), .type = DNS_T_A,
		.rclass = DNS_CLASS_IN, .ttl = ttl, .rank = rank, .count = 1,
		.rdata = rd, .rdlen = len };
	return rsv_cache_insert_rrset(c, &in, now);
}

/* Last address byte of the cached A RRset of name, or -1 on a miss; *ttl gets the TTL. */
static int get_a(struct rsv_cache *c, const char *name, uint64_t now, uint32_t *ttl)
{
	const struct rsv_rrset *rr;
	if (rsv_cache_lookup(c, wname(name), DNS_T_A, DNS_CLASS_IN, now, &rr, ttl) != 0)
		return -1;
	struct rsv_rr_iter it;
	const uint8_t *rd;
	uint16_t len;
	rsv_rrset_iter(rr, &it);
	assert_true(rsv_rrset_next(&it, &rd, &len));
	assert_int_equal(len, 4);
	int v = rd[3];
	assert_int_equal(rr->kind, RSV_RR_POSITIVE);
	rsv_rrset_release(rr);
	return v;
}

/* SOA rdata (uncompressed) with the given MINIMUM. */
static uint16_t soa_rdata(uint8_t *out, uint32_t minimum)
{
	size_t n = 0, l;
	uint8_t nm[DNS_NAME_MAX];
	dns_name_from_str("ns.example.", NULL, nm, &l);
	memcpy(out, nm, l);
	n += l;
	dns_name_from_str("hostmaster.example.", NULL, nm, &l);
	memcpy(out + n, nm, l);
	n += l;
	uint32_t f[5] = { 7, 3600, 600, 86400, minimum };
	for (int i = 0; i < 5; i++) {
		out[n++] = (uint8_t)(f[i] >> 24);
		out[n++] = (uint8_t)(f[i] >> 16);
		out[n++] = (uint8_t)(f[i] >> 8);
		out[n++] = (uint8_t)f[i];
	}
	return (uint16_t)n;
}

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

/* ---- message cache ---- */

struct rr_spec {
	enum dns_section sec;
	const char *owner;
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlen;
};

/* A response to qname/qtype with the given records (and OPT if edns_flags >= 0). */
static size_t build_msg(uint8_t *buf, size_t cap, uint16_t id, uint16_t flags,
	const char *qname, uint16_t qtype, const struct rr_spec *rrs, int nrr, int edns_flags,
	uint16_t udp)
{
	struct dns_writer w;
	dns_writer_init(&w, buf, cap);
	assert_int_equal(dns_writer_question(&w, wname(qname), qtype, DNS_CLASS_IN), 0);
	for (int i = 0; i < nrr; i++) {
		dns_writer_section(&w, rrs[i].sec);
		assert_int_equal(dns_writer_rr(&w, wname(rrs[i].owner), rrs[i].type, DNS_CLASS_IN,
			rrs[i].ttl, rrs[i].rdata, rrs[i].rdlen), 0);
	}
	if (edns_flags >= 0)
		assert_int_equal(dns_writer_opt(&w, udp, 0, (uint16_t)edns_flags, NULL, 0), 0);
	return dns_writer_finish(&w, id, flags);
}

static const uint8_t A1[4] = { 192, 0, 2, 1 }, A2[4] = { 192, 0, 2, 2 }, A53[4] = { 192, 0, 2, 53 };
static const uint8_t NS1[] = "\3ns1\7example\3com";

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
		cmocka_unit_test(test_insert_lookup),
		cmocka_unit_test(test_ttl_countdown),
		cmocka_unit_test(test_clamps),
		cmocka_unit_test(test_ranks),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_deleg),
		cmocka_unit_test(test_msgcache),
		cmocka_unit_test(test_msgcache_negative_and_limits),
		cmocka_unit_test(test_msgcache_ttl_clamps),
		cmocka_unit_test(test_msgcache_garbage),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

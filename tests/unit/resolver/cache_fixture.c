/*
 * cache_fixture.c -- the allocator, names, data and messages shared by the
 * resolver cache's tests (cache_fixture.h).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"
#include "rsv_cache.h"

#include "cache_fixture.h"

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
unsigned long alloc_calls;

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

const struct dns_mm tmm = { t_alloc, t_free, NULL };

const uint8_t *wname(const char *s)
{
	static __thread uint8_t buf[8][DNS_NAME_MAX];
	static __thread int i;
	size_t len;
	uint8_t *b = buf[i++ & 7];
	assert_int_equal(dns_name_from_str(s, NULL, b, &len), 0);
	return b;
}

struct rsv_cache *cache_new(unsigned shards, size_t max_bytes)
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
int ins_a(struct rsv_cache *c, const char *name, uint32_t ttl, enum rsv_rank rank,
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
int get_a(struct rsv_cache *c, const char *name, uint64_t now, uint32_t *ttl)
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
uint16_t soa_rdata(uint8_t *out, uint32_t minimum)
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

/* A response to qname/qtype with the given records (and OPT if edns_flags >= 0). */
size_t build_msg(uint8_t *buf, size_t cap, uint16_t id, uint16_t flags,
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

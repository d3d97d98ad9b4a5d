/*
 * cache_fixture.h -- what the resolver cache's tests (test_cache*.c,
 * test_msgcache.c) share: a checked allocator safe for threads, names, a
 * cache with given shards and bound, A and SOA data, and DNS messages built
 * from a list of records. Include after <cmocka.h>.
 */
#ifndef CAIRN_TEST_CACHE_FIXTURE_H
#define CAIRN_TEST_CACHE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "dns_mem.h"
#include "dns_pkt.h"
#include "rsv_cache.h"

/* cmocka's checked test_malloc/test_free behind a mutex, so a leak fails the
 * test even when four threads share the cache. */
extern const struct dns_mm tmm;

/* How many allocations tmm has made: the message-cache hit must make none. */
extern unsigned long alloc_calls;

/* The wire form of the name s, in one of eight rotating buffers per thread. */
const uint8_t *wname(const char *s);

/* A cache of the default options with shards shards and, if max_bytes is not
 * 0, that memory bound. */
struct rsv_cache *cache_new(unsigned shards, size_t max_bytes);

/* Insert an A RRset of one address 192.0.2.last. */
int ins_a(struct rsv_cache *c, const char *name, uint32_t ttl, enum rsv_rank rank,
	uint8_t last, uint64_t now);

/* Last address byte of the cached A RRset of name, or -1 on a miss; *ttl gets the TTL. */
int get_a(struct rsv_cache *c, const char *name, uint64_t now, uint32_t *ttl);

/* SOA rdata (uncompressed) with the given MINIMUM. */
uint16_t soa_rdata(uint8_t *out, uint32_t minimum);

/* ---- messages ---- */

/* One record of a message built by build_msg(). */
struct rr_spec {
	enum dns_section sec;   /* the section it goes in */
	const char *owner;      /* owner name, presentation form */
	uint16_t type;          /* its type (class IN) */
	uint32_t ttl;           /* its TTL */
	const uint8_t *rdata;   /* rdata, wire form */
	uint16_t rdlen;         /* rdata length */
};

/* A response to qname/qtype with the given records (and OPT if edns_flags >= 0). */
size_t build_msg(uint8_t *buf, size_t cap, uint16_t id, uint16_t flags,
	const char *qname, uint16_t qtype, const struct rr_spec *rrs, int nrr, int edns_flags,
	uint16_t udp);

/* Addresses 192.0.2.1, .2 and .53, and the name ns1.example.com. as rdata. */
static const uint8_t A1[4] = { 192, 0, 2, 1 }, A2[4] = { 192, 0, 2, 2 }, A53[4] = { 192, 0, 2, 53 };
static const uint8_t NS1[] = "\3ns1\7example\3com";

#endif

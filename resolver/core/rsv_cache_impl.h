/*
 * rsv_cache_impl.h -- private to the pieces of the cache (rsv_cache*.c,
 * rsv_msgcache.c): the entry, the shard and the table, and the primitives they
 * share. Not for other modules: the API is rsv_cache.h.
 *
 * The pieces:
 *  - rsv_cache.c: the keyed, sharded hash table with its LRU lists and byte
 *    bound (create, free, flush, stats; link, remove, evict), and the TTL clamps;
 *  - rsv_cache_rrset.c: RRset views and the RRset slot: positive, NODATA and
 *    NXDOMAIN entries, lookups, delegations;
 *  - rsv_cache_fail.c: failures of questions and servers (RFC 9520);
 *  - rsv_msgcache.c: whole responses for the cache-hit fast path.
 */
#ifndef CAIRN_RSV_CACHE_IMPL_H
#define CAIRN_RSV_CACHE_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns_hash.h"
#include "dns_name.h"
#include "rsv_cache.h"

/* Entry kinds: the first key byte, so kinds never share a key. */
enum entry_kind {
	E_RRSET = 1,   /* RRset, NODATA (key type = qtype) or NXDOMAIN (key type 0) */
	E_MSG = 2,     /* whole response */
	E_FAIL = 3,    /* failed (name, type, class) */
	E_SRVFAIL = 4, /* failed server */
};

#define KEY_MAX (1 + DNS_NAME_MAX + 5) /* kind, name, type, class, message flags */

/*
 * Charged on top of each entry's own bytes: up to two bucket pointers (the table
 * doubles at load 1, so buckets <= 2 x entries) and the allocator's headers.
 */
#define ENTRY_OVERHEAD (2 * sizeof(void *) + 32)

/* 72 bytes on LP64: every cached item pays for this, so it is kept tight. */
struct entry {
	struct entry *hnext;           /* hash chain */
	struct entry *lprev, *lnext;   /* LRU list, most recently used at the head */
	uint64_t hash;                 /* full key hash */
	uint64_t stored;               /* now at insert (ms) */
	uint64_t expire;               /* the entry is dead from this time on (ms) */
	uint32_t charge;               /* bytes counted against the bound */
	uint32_t ttl;                  /* lifetime in seconds (RRset/message) */
	uint8_t kind;                  /* enum entry_kind */
	uint16_t klen;                 /* key bytes */
	uint32_t fail_count;           /* E_FAIL/E_SRVFAIL: failures remembered */
	union {
		struct rsv_rrset *rr;  /* E_RRSET: the cache's reference */
		struct {
			uint32_t len;       /* response length */
			uint16_t nttl;      /* TTL fields */
			uint16_t off_wire;  /* response bytes, from the entry's start */
		} msg;                      /* E_MSG: TTL offsets (uint16_t) follow the key, 2-aligned */
		uint64_t fail_until;   /* E_FAIL/E_SRVFAIL: held down before this (ms) */
	} v;
	uint8_t key[];                 /* klen bytes */
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct entry) == 72, "entry grew");

/* A shard's counters: the members of struct rsv_cache_stats of the same names. */
struct shard_stats {
	uint64_t hits, misses, msg_hits, msg_misses, fail_hits; /* lookups */
	uint64_t inserts, rejected, evictions, expired;         /* stores and removals */
};

/* One lock's worth of the table. */
struct shard {
	pthread_mutex_t lock;          /* guards everything below */
	struct entry **buckets;        /* hash chains */
	size_t nbuckets;               /* power of two */
	size_t count;                  /* entries */
	struct entry *lru_head, *lru_tail; /* most and least recently used */
	size_t bytes;                  /* charged */
	size_t max_bytes;              /* this shard's share of the bound */
	struct shard_stats st;         /* counters */
	char pad[64];                  /* keep neighbouring shards' locks off one cache line */
};

/* The cache (opaque in rsv_cache.h). */
struct rsv_cache {
	const struct dns_mm *mm;       /* for everything stored */
	struct rsv_cache_opts o;       /* the options it was made with */
	unsigned mask;                 /* shards - 1 */
	struct shard *shards;          /* mask + 1 shards */
};

/*
 * SipHash-1-3 under the key from the options: keyed, so a client who does not
 * know the key cannot aim many names at one chain.
 */
static inline uint64_t hash_key(const struct rsv_cache *c, const uint8_t *in, size_t len)
{
	return dns_siphash13(c->o.hash_key, in, len);
}

/* The shard of a key hash. */
static inline struct shard *shard_of(struct rsv_cache *c, uint64_t h)
{
	/* high bits pick the shard, low bits the bucket: the two stay independent */
	return &c->shards[(h >> 40) & c->mask];
}

/* Key of a name-based entry: kind, canonical name, type, class. */
static inline size_t key_name(uint8_t *k, uint8_t kind, const uint8_t *name, uint16_t type,
	uint16_t rclass)
{
	size_t n = dns_name_lower(k + 1, name);
	k[0] = kind;
	k[1 + n] = (uint8_t)(type >> 8);
	k[2 + n] = (uint8_t)type;
	k[3 + n] = (uint8_t)(rclass >> 8);
	k[4 + n] = (uint8_t)rclass;
	return n + 5;
}

/* The entry under key in shard s (h its hash), or NULL. Lock held. */
static inline struct entry *shard_find(struct shard *s, uint64_t h, const uint8_t *key, size_t klen)
{
	for (struct entry *e = s->buckets[h & (s->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

/*
 * Remaining TTL of a live entry. Worker threads each read their own loop's clock,
 * so another thread's `now` may be a little behind the insert time: never let
 * the difference wrap.
 */
static inline uint32_t elapsed_s(const struct entry *e, uint64_t now)
{
	return now > e->stored ? (uint32_t)((now - e->stored) / 1000) : 0;
}

/* RFC 2181 8: a TTL with the top bit set is treated as zero. */
static inline uint32_t ttl_sane(uint32_t ttl)
{
	return ttl & 0x80000000u ? 0 : ttl;
}

/* ---- rsv_cache.c: the table (shard lock held unless said) ---- */

/* An entry's identity: its key (klen bytes), kind, the key's hash, the time stored. */
static inline void rsv_entry_key_set(struct entry *e, const uint8_t *key, size_t klen,
	uint8_t kind, uint64_t hash, uint64_t now)
{
	memcpy(e->key, key, klen);
	e->klen = (uint16_t)klen;
	e->kind = kind;
	e->hash = hash;
	e->stored = now;
}

/* Move e to the most recently used end of its shard's LRU list. */
void rsv_lru_touch(struct shard *s, struct entry *e);
/* Free an entry that is not linked (drops its RRset reference). */
void rsv_entry_free(const struct dns_mm *mm, struct entry *e);
/* Unlink e from its shard and free it. */
void rsv_entry_remove(struct rsv_cache *c, struct shard *s, struct entry *e);
/*
 * Link e in, replacing old (same key, may be NULL) and evicting from the LRU end
 * until it fits. The caller checked e->charge <= s->max_bytes.
 */
void rsv_entry_link(struct rsv_cache *c, struct shard *s, struct entry *e,
	struct entry *old, uint64_t now);
/* Remove the entry under key, if any: 0 or DNS_E_NOTFOUND (takes the lock). */
int rsv_cache_key_remove(struct rsv_cache *c, const uint8_t *key, size_t klen);
/* A positive TTL after RFC 2181 8 and the min-ttl / max-ttl clamps. */
uint32_t rsv_ttl_clamp_pos(const struct rsv_cache *c, uint32_t ttl);
/* RFC 2308 3, 5: min(SOA TTL, SOA MINIMUM), then the local caps. */
uint32_t rsv_ttl_negative(const struct rsv_cache *c, uint32_t soa_ttl, uint32_t minimum);

/*
 * The live entry under key in shard s (h its hash), or NULL; an expired entry
 * met on the way is removed (counted as expired). Lock held.
 */
static inline struct entry *shard_find_live(struct rsv_cache *c, struct shard *s, uint64_t h,
	const uint8_t *key, size_t klen, uint64_t now)
{
	struct entry *e = shard_find(s, h, key, klen);
	if (e && now >= e->expire) {
		rsv_entry_remove(c, s, e);
		s->st.expired++;
		e = NULL;
	}
	return e;
}

#endif

/*
 * rsv_cache.c -- the resolver cache: sharded hash tables with LRU lists and a
 * byte bound. See rsv_cache.h for the model; comments here say why.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cursor.h"
#include "dns_err.h"
#include "dns_hash.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "rsv_cache.h"

/* Entry kinds: the first key byte, so kinds never share a key. */
enum entry_kind {
	E_RRSET = 1,   /* RRset, NODATA (key type = qtype) or NXDOMAIN (key type 0) */
	E_MSG = 2,     /* whole response */
	E_FAIL = 3,    /* failed (name, type, class) */
	E_SRVFAIL = 4, /* failed server */
};

#define KEY_MAX (1 + DNS_NAME_MAX + 5) /* kind, name, type, class, message flags */
#define SRV_ADDR_MAX 32
/*
 * Charged on top of each entry's own bytes: up to two bucket pointers (the table
 * doubles at load 1, so buckets <= 2 x entries) and the allocator's headers.
 */
#define ENTRY_OVERHEAD (2 * sizeof(void *) + 32)
#define BUCKETS_INIT 64
#define FAIL_SHIFT_MAX 20

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

/* A message entry's TTL offsets (after the key) and response bytes. */
static inline uint16_t *msg_offs(struct entry *e)
{
	return (uint16_t *)(void *)((uint8_t *)e + ((sizeof(*e) + e->klen + 1) & ~(size_t)1));
}

static inline uint8_t *msg_wire(struct entry *e)
{
	return (uint8_t *)e + e->v.msg.off_wire;
}

struct shard_stats {
	uint64_t hits, misses, msg_hits, msg_misses, fail_hits;
	uint64_t inserts, rejected, evictions, expired;
};

struct shard {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets;               /* power of two */
	size_t count;                  /* entries */
	struct entry *lru_head, *lru_tail;
	size_t bytes;                  /* charged */
	size_t max_bytes;              /* this shard's share of the bound */
	struct shard_stats st;
	char pad[64];                  /* keep neighbouring shards' locks off one cache line */
};

struct rsv_cache {
	const struct dns_mm *mm;
	struct rsv_cache_opts o;
	unsigned mask;                 /* shards - 1 */
	struct shard *shards;
};

/* ---- hashing ---------------------------------------------------------- */

/*
 * SipHash-1-3 under the key from the options: keyed, so a client who does not
 * know the key cannot aim many names at one chain.
 */
static inline uint64_t hash_key(const struct rsv_cache *c, const uint8_t *in, size_t len)
{
	return dns_siphash13(c->o.hash_key, in, len);
}

static inline struct shard *shard_of(struct rsv_cache *c, uint64_t h)
{
	/* high bits pick the shard, low bits the bucket: the two stay independent */
	return &c->shards[(h >> 40) & c->mask];
}

/* Key of a name-based entry: kind, canonical name, type, class. */
static size_t key_name(uint8_t *k, uint8_t kind, const uint8_t *name, uint16_t type,
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

/* ---- shard primitives (lock held) -------------------------------------- */

static struct entry *shard_find(struct shard *s, uint64_t h, const uint8_t *key, size_t klen)
{
	for (struct entry *e = s->buckets[h & (s->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

static void lru_unlink(struct shard *s, struct entry *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		s->lru_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		s->lru_tail = e->lprev;
}

static void lru_push(struct shard *s, struct entry *e)
{
	e->lprev = NULL;
	e->lnext = s->lru_head;
	if (s->lru_head)
		s->lru_head->lprev = e;
	else
		s->lru_tail = e;
	s->lru_head = e;
}

static void rsv_lru_touch(struct shard *s, struct entry *e)
{
	if (s->lru_head != e) {
		lru_unlink(s, e);
		lru_push(s, e);
	}
}

static void rsv_entry_free(const struct dns_mm *mm, struct entry *e)
{
	if (e->kind == E_RRSET && e->v.rr)
		rsv_rrset_release(e->v.rr);
	mm_free(mm, e);
}

static void rsv_entry_remove(struct rsv_cache *c, struct shard *s, struct entry *e)
{
	struct entry **pp = &s->buckets[e->hash & (s->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(s, e);
	s->count--;
	s->bytes -= e->charge;
	rsv_entry_free(c->mm, e);
}

static void table_grow(struct rsv_cache *c, struct shard *s)
{
	size_t nb = s->nbuckets * 2;
	struct entry **b = mm_calloc(c->mm, nb, sizeof(*b));
	if (!b)
		return; /* keep the longer chains; still correct */
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct entry *e = s->buckets[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	mm_free(c->mm, s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
}

/*
 * Link e in, replacing old (same key, may be NULL) and evicting from the LRU end
 * until it fits. The caller checked e->charge <= s->max_bytes.
 */
static void rsv_entry_link(struct rsv_cache *c, struct shard *s, struct entry *e,
	struct entry *old, uint64_t now)
{
	if (old)
		rsv_entry_remove(c, s, old);
	/* cheap ageing: dead entries at the cold end go first, not counted as evictions */
	for (int i = 0; i < 2 && s->lru_tail && now >= s->lru_tail->expire; i++) {
		rsv_entry_remove(c, s, s->lru_tail);
		s->st.expired++;
	}
	while (s->bytes + e->charge > s->max_bytes && s->lru_tail) {
		if (now >= s->lru_tail->expire)
			s->st.expired++;
		else
			s->st.evictions++;
		rsv_entry_remove(c, s, s->lru_tail);
	}
	if (s->count >= s->nbuckets)
		table_grow(c, s);
	struct entry **b = &s->buckets[e->hash & (s->nbuckets - 1)];
	e->hnext = *b;
	*b = e;
	lru_push(s, e);
	s->count++;
	s->bytes += e->charge;
	s->st.inserts++;
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

/* ---- setup ---------------------------------------------------------- */

void rsv_cache_opts_default(struct rsv_cache_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_bytes = (size_t)64 << 20;
	o->min_ttl = 0;
	o->max_ttl = 86400;
	o->max_neg_ttl = 3600;
	o->fail_min_ms = 1000;
	o->fail_max_ms = 10000;
	o->shards = 16;
	o->nxdomain_cut = true;
}

int rsv_cache_new(const struct dns_mm *mm, const struct rsv_cache_opts *opts,
	struct rsv_cache **out)
{
	unsigned n = opts->shards;
	*out = NULL;
	if (n == 0 || n > 1024 || (n & (n - 1)) != 0 || opts->max_bytes / n < 1024 ||
	    opts->min_ttl > opts->max_ttl || opts->fail_min_ms == 0 ||
	    opts->fail_max_ms < opts->fail_min_ms)
		return -EINVAL;
	struct rsv_cache *c = mm_calloc(mm, 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->mm = mm;
	c->o = *opts;
	c->mask = n - 1;
	c->shards = mm_calloc(mm, n, sizeof(*c->shards));
	if (!c->shards)
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		struct shard *s = &c->shards[i];
		s->nbuckets = BUCKETS_INIT;
		s->max_bytes = opts->max_bytes / n;
		s->buckets = mm_calloc(mm, s->nbuckets, sizeof(*s->buckets));
		if (!s->buckets || pthread_mutex_init(&s->lock, NULL) != 0) {
			mm_free(mm, s->buckets);
			s->buckets = NULL;
			/* unwind the shards set up so far */
			for (unsigned j = 0; j < i; j++) {
				pthread_mutex_destroy(&c->shards[j].lock);
				mm_free(mm, c->shards[j].buckets);
			}
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	mm_free(mm, c->shards);
	mm_free(mm, c);
	return -ENOMEM;
}

void rsv_cache_free(struct rsv_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i <= c->mask; i++) {
		struct shard *s = &c->shards[i];
		struct entry *e = s->lru_head, *next;
		for (; e; e = next) {
			next = e->lnext;
			rsv_entry_free(c->mm, e);
		}
		mm_free(c->mm, s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	mm_free(c->mm, c->shards);
	mm_free(c->mm, c);
}

void rsv_cache_flush(struct rsv_cache *c)
{
	for (unsigned i = 0; i <= c->mask; i++) {
		struct shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		while (s->lru_tail)
			rsv_entry_remove(c, s, s->lru_tail);
		pthread_mutex_unlock(&s->lock);
	}
}

void rsv_cache_stats(struct rsv_cache *c, struct rsv_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->max_bytes = c->o.max_bytes;
	for (unsigned i = 0; i <= c->mask; i++) {
		struct shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		st->hits += s->st.hits;
		st->misses += s->st.misses;
		st->msg_hits += s->st.msg_hits;
		st->msg_misses += s->st.msg_misses;
		st->fail_hits += s->st.fail_hits;
		st->inserts += s->st.inserts;
		st->rejected += s->st.rejected;
		st->evictions += s->st.evictions;
		st->expired += s->st.expired;
		st->entries += s->count;
		st->bytes += s->bytes;
		pthread_mutex_unlock(&s->lock);
	}
}

/* ---- RRsets ----------------------------------------------------------- */

void rsv_rrset_iter(const struct rsv_rrset *rr, struct rsv_rr_iter *it)
{
	it->p = rr->data;
	it->end = rr->data + rr->datalen;
	it->index = 0;
}

bool rsv_rrset_next(struct rsv_rr_iter *it, const uint8_t **rd, uint16_t *rdlen)
{
	if (it->end - it->p < 2)
		return false;
	memcpy(rdlen, it->p, 2);
	*rd = it->p + 2;
	it->p += 2 + *rdlen;
	it->index++;
	return true;
}

int rsv_rrset_write(const struct rsv_rrset *rr, struct dns_writer *w, const uint8_t *owner,
	uint32_t ttl, bool sigs)
{
	struct dns_writer_mark m;
	struct rsv_rr_iter it;
	const uint8_t *rd;
	uint16_t rdlen;
	int rc = 0;
	dns_writer_mark(w, &m);
	rsv_rrset_iter(rr, &it);
	while (rc == 0 && rsv_rrset_next(&it, &rd, &rdlen)) {
		bool sig = it.index > rr->count;
		if (sig && !sigs)
			break;
		rc = dns_writer_rr(w, owner, sig ? DNS_T_RRSIG : rr->type, rr->rclass, ttl, rd, rdlen);
	}
	if (rc < 0)
		dns_writer_rollback(w, &m);
	return rc;
}

void rsv_rrset_release(const struct rsv_rrset *rr)
{
	if (!rr)
		return;
	struct rsv_rrset *m = (struct rsv_rrset *)rr; /* the view is const only to readers */
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
		mm_free(m->mm, m);
}

/* RFC 2181 8: a TTL with the top bit set is treated as zero. */
static inline uint32_t ttl_sane(uint32_t ttl)
{
	return ttl & 0x80000000u ? 0 : ttl;
}

static uint32_t rsv_ttl_clamp_pos(const struct rsv_cache *c, uint32_t ttl)
{
	ttl = ttl_sane(ttl);
	if (ttl < c->o.min_ttl)
		ttl = c->o.min_ttl;
	return ttl > c->o.max_ttl ? c->o.max_ttl : ttl;
}

/* RFC 2308 3, 5: min(SOA TTL, SOA MINIMUM), then the local cap. */
static uint32_t rsv_ttl_negative(const struct rsv_cache *c, uint32_t soa_ttl, uint32_t minimum)
{
	uint32_t t = ttl_sane(soa_ttl);
	minimum = ttl_sane(minimum);
	if (minimum < t)
		t = minimum;
	if (t > c->o.max_neg_ttl)
		t = c->o.max_neg_ttl;
	return t > c->o.max_ttl ? c->o.max_ttl : t;
}

/* Build a view holding count + nsigs rdatas, with one reference (the cache's). */
static struct rsv_rrset *rrset_build(struct rsv_cache *c, const uint8_t *owner,
	uint16_t type, uint16_t rclass, uint32_t ttl, uint8_t rank, uint8_t kind,
	uint16_t count, const uint8_t *const *rd, const uint16_t *rdlen,
	uint16_t nsigs, const uint8_t *const *sig, const uint16_t *siglen, size_t *size)
{
	size_t olen = dns_name_len(owner);
	size_t dlen = 0;
	for (unsigned i = 0; i < count; i++)
		dlen += 2 + (size_t)rdlen[i];
	for (unsigned i = 0; i < nsigs; i++)
		dlen += 2 + (size_t)siglen[i];
	if (dlen > UINT32_MAX)
		return NULL;
	size_t total = sizeof(struct rsv_rrset) + olen + dlen;
	struct rsv_rrset *rr = mm_alloc(c->mm, total);
	if (!rr)
		return NULL;
	uint8_t *p = (uint8_t *)(rr + 1);
	dns_name_lower(p, owner);
	rr->owner = p;
	p += olen;
	rr->data = p;
	for (unsigned i = 0; i < count + nsigs; i++) {
		const uint8_t *src = i < count ? rd[i] : sig[i - count];
		uint16_t l = i < count ? rdlen[i] : siglen[i - count];
		memcpy(p, &l, 2);
		if (l)
			memcpy(p + 2, src, l);
		p += 2 + l;
	}
	rr->type = type;
	rr->rclass = rclass;
	rr->ttl = ttl;
	rr->rank = rank;
	rr->kind = kind;
	rr->count = count;
	rr->nsigs = nsigs;
	rr->datalen = (uint32_t)dlen;
	rr->mm = c->mm;
	atomic_init(&rr->refs, 1);
	*size = total;
	return rr;
}

/*
 * Store rr (one reference, passed to the cache) under key with the rank rule of
 * RFC 2181 5.4.1: a live entry of higher rank stays.
 */
static int rrset_store(struct rsv_cache *c, const uint8_t *key, size_t klen,
	struct rsv_rrset *rr, size_t rrsize, uint64_t now)
{
	uint64_t h = hash_key(c, key, klen);
	struct shard *s = shard_of(c, h);
	size_t charge = sizeof(struct entry) + klen + rrsize + ENTRY_OVERHEAD;
	if (charge > s->max_bytes || charge > UINT32_MAX) {
		rsv_rrset_release(rr);
		return DNS_E_SPACE;
	}
	struct entry *e = mm_alloc(c->mm, sizeof(*e) + klen);
	if (!e) {
		rsv_rrset_release(rr);
		return -ENOMEM;
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, klen);
	e->klen = (uint16_t)klen;
	e->kind = E_RRSET;
	e->hash = h;
	e->stored = now;
	e->ttl = rr->ttl;
	e->expire = now + (uint64_t)rr->ttl * 1000;
	e->charge = (uint32_t)charge;
	e->v.rr = rr;

	pthread_mutex_lock(&s->lock);
	struct entry *old = shard_find(s, h, key, klen);
	if (old && now < old->expire && old->v.rr->rank > rr->rank) {
		s->st.rejected++;
		pthread_mutex_unlock(&s->lock);
		rsv_entry_free(c->mm, e);
		return DNS_E_EXISTS;
	}
	rsv_entry_link(c, s, e, old, now);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int rsv_cache_insert_rrset(struct rsv_cache *c, const struct rsv_rrset_in *in, uint64_t now)
{
	if (!in->owner || in->count == 0 || !in->rdata || !in->rdlen ||
	    (in->nsigs && (!in->sig || !in->siglen)) ||
	    in->rank <= RSV_RANK_NONE || in->rank > RSV_RANK_AUTH_ANSWER || in->type == 0)
		return -EINVAL;
	uint32_t ttl = rsv_ttl_clamp_pos(c, in->ttl);
	if (ttl == 0)
		return 0;
	size_t size;
	struct rsv_rrset *rr = rrset_build(c, in->owner, in->type, in->rclass, ttl,
		(uint8_t)in->rank, RSV_RR_POSITIVE, in->count, in->rdata, in->rdlen,
		in->nsigs, in->sig, in->siglen, &size);
	if (!rr)
		return -ENOMEM;
	uint8_t key[KEY_MAX];
	size_t klen = key_name(key, E_RRSET, in->owner, in->type, in->rclass);
	return rrset_store(c, key, klen, rr, size, now);
}

int rsv_cache_insert_negative(struct rsv_cache *c, const uint8_t *qname, uint16_t qtype,
	uint16_t rclass, bool nxdomain, const uint8_t *soa_owner, uint32_t soa_ttl,
	const uint8_t *soa_rdata, uint16_t soa_rdlen, enum rsv_rank rank, uint64_t now)
{
	/* SOA rdata: two names (at least the root, 1 byte each) and five 32-bit fields */
	if (!qname || !soa_owner || !soa_rdata || soa_rdlen < 22 ||
	    rank <= RSV_RANK_NONE || rank > RSV_RANK_AUTH_ANSWER || (!nxdomain && qtype == 0))
		return -EINVAL;
	const uint8_t *m = soa_rdata + soa_rdlen - 4; /* MINIMUM is the last field */
	uint32_t minimum = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
	uint32_t ttl = rsv_ttl_negative(c, soa_ttl, minimum);
	if (ttl == 0)
		return 0;
	size_t size;
	const uint8_t *rd[1] = { soa_rdata };
	uint16_t rdlen[1] = { soa_rdlen };
	struct rsv_rrset *rr = rrset_build(c, soa_owner, DNS_T_SOA, rclass, ttl, (uint8_t)rank,
		nxdomain ? RSV_RR_NXDOMAIN : RSV_RR_NODATA, 1, rd, rdlen, 0, NULL, NULL, &size);
	if (!rr)
		return -ENOMEM;
	uint8_t key[KEY_MAX];
	/* type 0 is reserved (RFC 6895 3.1), so it can stand for "every type" */
	size_t klen = key_name(key, E_RRSET, qname, nxdomain ? 0 : qtype, rclass);
	return rrset_store(c, key, klen, rr, size, now);
}

/* Look one RRset-slot key up; count says whether to count the outcome. */
static int rrset_get(struct rsv_cache *c, const uint8_t *key, size_t klen, uint64_t now,
	bool count_hit, bool count_miss, const struct rsv_rrset **out, uint32_t *ttl)
{
	uint64_t h = hash_key(c, key, klen);
	struct shard *s = shard_of(c, h);
	int rc = DNS_E_NOTFOUND;
	pthread_mutex_lock(&s->lock);
	struct entry *e = shard_find(s, h, key, klen);
	if (e && now >= e->expire) {
		rsv_entry_remove(c, s, e);
		s->st.expired++;
		e = NULL;
	}
	if (e) {
		rsv_lru_touch(s, e);
		atomic_fetch_add_explicit(&e->v.rr->refs, 1, memory_order_relaxed);
		*out = e->v.rr;
		if (ttl)
			*ttl = e->ttl - elapsed_s(e, now);
		if (count_hit)
			s->st.hits++;
		rc = 0;
	} else if (count_miss) {
		s->st.misses++;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int rsv_cache_lookup(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass, uint64_t now, const struct rsv_rrset **out, uint32_t *ttl)
{
	uint8_t key[KEY_MAX];
	*out = NULL;
	size_t klen = key_name(key, E_RRSET, name, type, rclass);
	if (rrset_get(c, key, klen, now, true, false, out, ttl) == 0)
		return 0;
	/* the name-level NXDOMAIN answers every type (RFC 2308 5) */
	bool cut = c->o.nxdomain_cut;
	klen = key_name(key, E_RRSET, name, 0, rclass);
	bool last = *name == 0 || name[1 + *name] == 0; /* no ancestor below the root */
	if (rrset_get(c, key, klen, now, true, !cut || last, out, ttl) == 0)
		return 0;
	if (!cut || last)
		return DNS_E_NOTFOUND;
	/* RFC 8020 2: an NXDOMAIN for an ancestor denies this name as well */
	for (const uint8_t *p = name + 1 + *name; *p != 0; p += 1 + *p) {
		klen = key_name(key, E_RRSET, p, 0, rclass);
		bool top = p[1 + *p] == 0; /* last candidate: count the miss here */
		if (rrset_get(c, key, klen, now, true, top, out, ttl) == 0)
			return 0;
	}
	return DNS_E_NOTFOUND;
}

/* Remove the entry under key, if any. */
static int rsv_cache_key_remove(struct rsv_cache *c, const uint8_t *key, size_t klen)
{
	uint64_t h = hash_key(c, key, klen);
	struct shard *s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	struct entry *e = shard_find(s, h, key, klen);
	if (e)
		rsv_entry_remove(c, s, e);
	pthread_mutex_unlock(&s->lock);
	return e ? 0 : DNS_E_NOTFOUND;
}

int rsv_cache_remove(struct rsv_cache *c, const uint8_t *name, uint16_t type, uint16_t rclass)
{
	uint8_t key[KEY_MAX];
	return rsv_cache_key_remove(c, key, key_name(key, E_RRSET, name, type, rclass));
}

int rsv_cache_deleg_find(struct rsv_cache *c, const uint8_t *name, uint16_t rclass,
	uint64_t now, const struct rsv_rrset **ns, uint32_t *ttl)
{
	uint8_t key[KEY_MAX];
	*ns = NULL;
	for (const uint8_t *p = name;; p += 1 + *p) {
		size_t klen = key_name(key, E_RRSET, p, DNS_T_NS, rclass);
		const struct rsv_rrset *rr;
		if (rrset_get(c, key, klen, now, false, false, &rr, ttl) == 0) {
			/* a NODATA for NS says "no cut here": keep walking up */
			if (rr->kind == RSV_RR_POSITIVE) {
				*ns = rr;
				return 0;
			}
			rsv_rrset_release(rr);
		}
		if (*p == 0)
			return DNS_E_NOTFOUND;
	}
}

/* ---- failures (RFC 9520) ---------------------------------------------- */

static int fail_mark(struct rsv_cache *c, const uint8_t *key, size_t klen, uint8_t kind,
	uint64_t now, uint64_t *until)
{
	uint64_t h = hash_key(c, key, klen);
	struct shard *s = shard_of(c, h);
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	struct entry *e = shard_find(s, h, key, klen);
	if (e && now >= e->expire) {
		rsv_entry_remove(c, s, e);
		s->st.expired++;
		e = NULL;
	}
	if (!e) {
		size_t charge = sizeof(*e) + klen + ENTRY_OVERHEAD;
		if (charge > s->max_bytes || !(e = mm_alloc(c->mm, sizeof(*e) + klen))) {
			rc = charge > s->max_bytes ? DNS_E_SPACE : -ENOMEM;
			goto out;
		}
		memset(e, 0, sizeof(*e));
		memcpy(e->key, key, klen);
		e->klen = (uint16_t)klen;
		e->kind = kind;
		e->hash = h;
		e->stored = now;
		e->charge = (uint32_t)charge;
		e->v.fail_until = now + c->o.fail_min_ms;
		e->fail_count = 1;
		e->expire = e->v.fail_until + c->o.fail_max_ms;
		rsv_entry_link(c, s, e, NULL, now);
	} else if (now >= e->v.fail_until) {
		/*
		 * A repeat after the hold-down ended: back off further. Failures reported
		 * while still held down (queries that were already in flight) do not
		 * count, or one outage would jump straight to the cap.
		 */
		if (e->fail_count < FAIL_SHIFT_MAX)
			e->fail_count++;
		uint64_t d = (uint64_t)c->o.fail_min_ms << (e->fail_count - 1);
		if (d > c->o.fail_max_ms)
			d = c->o.fail_max_ms;
		e->v.fail_until = now + d;
		e->expire = e->v.fail_until + c->o.fail_max_ms;
		rsv_lru_touch(s, e);
	}
	if (until)
		*until = e->v.fail_until;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int fail_check(struct rsv_cache *c, const uint8_t *key, size_t klen, uint64_t now)
{
	uint64_t h = hash_key(c, key, klen);
	struct shard *s = shard_of(c, h);
	int rc = DNS_E_NOTFOUND;
	pthread_mutex_lock(&s->lock);
	struct entry *e = shard_find(s, h, key, klen);
	if (e && now >= e->expire) {
		rsv_entry_remove(c, s, e);
		s->st.expired++;
	} else if (e && now < e->v.fail_until) {
		s->st.fail_hits++;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int rsv_cache_fail_mark(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass, uint64_t now, uint64_t *until)
{
	uint8_t key[KEY_MAX];
	size_t klen = key_name(key, E_FAIL, name, type, rclass);
	return fail_mark(c, key, klen, E_FAIL, now, until);
}

int rsv_cache_fail_check(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass, uint64_t now)
{
	uint8_t key[KEY_MAX];
	size_t klen = key_name(key, E_FAIL, name, type, rclass);
	return fail_check(c, key, klen, now);
}

void rsv_cache_fail_clear(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass)
{
	uint8_t key[KEY_MAX];
	rsv_cache_key_remove(c, key, key_name(key, E_FAIL, name, type, rclass));
}

static int srv_key(uint8_t *key, const void *addr, size_t len)
{
	if (len > SRV_ADDR_MAX)
		return -EINVAL;
	key[0] = E_SRVFAIL;
	memcpy(key + 1, addr, len);
	return (int)len + 1;
}

int rsv_cache_server_fail_mark(struct rsv_cache *c, const void *addr, size_t len,
	uint64_t now, uint64_t *until)
{
	uint8_t key[1 + SRV_ADDR_MAX];
	int klen = srv_key(key, addr, len);
	return klen < 0 ? klen : fail_mark(c, key, (size_t)klen, E_SRVFAIL, now, until);
}

int rsv_cache_server_fail_check(struct rsv_cache *c, const void *addr, size_t len,
	uint64_t now)
{
	uint8_t key[1 + SRV_ADDR_MAX];
	int klen = srv_key(key, addr, len);
	return klen < 0 ? klen : fail_check(c, key, (size_t)klen, now);
}

/* ---- message cache ---------------------------------------------------- */

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int rsv_msgcache_insert(struct rsv_cache *c, const uint8_t *resp, size_t len, uint64_t now)
{
	struct dns_header hdr;
	uint8_t qname[DNS_NAME_MAX];
	size_t qlen;
	uint16_t qtype, qclass;
	struct dns_cursor cur;
	struct entry *e = NULL;
	int rc;

	if ((rc = dns_header_parse(resp, len, &hdr)) < 0)
		return DNS_E_FORMAT;
	if (len > DNS_MSG_MAX || !(hdr.flags & DNS_FLAG_QR) || hdr.qdcount != 1)
		return DNS_E_FORMAT;
	unsigned rcode = DNS_RCODE(hdr.flags);
	if (DNS_OPCODE(hdr.flags) != DNS_OP_QUERY || (hdr.flags & DNS_FLAG_TC) ||
	    (rcode != DNS_RC_NOERROR && rcode != DNS_RC_NXDOMAIN))
		return 0; /* not cacheable: not an error */
	dns_cursor_init(&cur, resp, len);
	cur.pos = DNS_HEADER_LEN;
	if (dns_cursor_name(&cur, qname, &qlen) < 0 || cur.pos != DNS_HEADER_LEN + qlen ||
	    dns_cursor_u16(&cur, &qtype) < 0 || dns_cursor_u16(&cur, &qclass) < 0)
		return DNS_E_FORMAT; /* the question name must be stored uncompressed: hits overwrite it */
	unsigned total = (unsigned)hdr.ancount + hdr.nscount + hdr.arcount;
	if ((size_t)total * 11 > len - cur.pos) /* 11 = the smallest record */
		return DNS_E_FORMAT;

	uint8_t key[KEY_MAX];
	size_t klen = key_name(key, E_MSG, qname, qtype, qclass) + 1; /* + flags, set below */
	size_t off_ttl = (sizeof(*e) + klen + 1) & ~(size_t)1;
	size_t off_wire = off_ttl + (size_t)total * 2;
	size_t size = off_wire + len;
	e = mm_alloc(c->mm, size);
	if (!e)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	uint8_t *wire = (uint8_t *)e + off_wire;
	uint16_t *offs = (uint16_t *)(void *)((uint8_t *)e + off_ttl);
	memcpy(wire, resp, len);

	/* Walk the copy's records: note each TTL field and clamp it in place. */
	uint8_t flags = (hdr.flags & DNS_FLAG_CD) ? RSV_MSG_CD : 0;
	uint32_t min_ttl = UINT32_MAX;
	unsigned nttl = 0;
	bool soa = false;
	dns_cursor_init(&cur, wire, len);
	cur.pos = DNS_HEADER_LEN + qlen + 4;
	for (unsigned i = 0; i < total; i++) {
		uint16_t type, rclass, rdlen;
		uint32_t ttl;
		const uint8_t *rd;
		if (dns_cursor_skip_name(&cur) < 0 || dns_cursor_u16(&cur, &type) < 0 ||
		    dns_cursor_u16(&cur, &rclass) < 0)
			goto bad;
		size_t toff = cur.pos;
		if (dns_cursor_u32(&cur, &ttl) < 0 || dns_cursor_u16(&cur, &rdlen) < 0 ||
		    dns_cursor_bytes(&cur, rdlen, &rd) < 0)
			goto bad;
		if (type == DNS_T_OPT) {
			/* the OPT "TTL" is extended RCODE, version and flags (RFC 6891 6.1.3) */
			flags |= RSV_MSG_EDNS | ((ttl & DNS_EDNS_DO) ? RSV_MSG_DO : 0);
			continue;
		}
		bool authority = i >= hdr.ancount && i < (unsigned)hdr.ancount + hdr.nscount;
		if (type == DNS_T_SOA && authority) {
			if (rdlen < 22)
				goto bad;
			ttl = rsv_ttl_negative(c, ttl, rd32(rd + rdlen - 4));
			soa = true;
		} else {
			ttl = rsv_ttl_clamp_pos(c, ttl);
		}
		if (toff > UINT16_MAX)
			goto bad;
		wr32(wire + toff, ttl);
		offs[nttl++] = (uint16_t)toff;
		if (ttl < min_ttl)
			min_ttl = ttl;
	}
	if (dns_cursor_left(&cur) != 0)
		goto bad;
	/* RFC 2308 5: a negative answer without a SOA is not cached */
	bool negative = rcode == DNS_RC_NXDOMAIN || hdr.ancount == 0;
	if (nttl == 0 || min_ttl == 0 || (negative && !soa)) {
		rc = 0;
		goto out;
	}

	key[klen - 1] = flags;
	memcpy(e->key, key, klen);
	e->klen = (uint16_t)klen;
	e->kind = E_MSG;
	e->hash = hash_key(c, key, klen);
	e->stored = now;
	e->ttl = min_ttl;
	e->expire = now + (uint64_t)min_ttl * 1000;
	e->charge = (uint32_t)(size + ENTRY_OVERHEAD);
	e->v.msg.off_wire = (uint16_t)off_wire;
	e->v.msg.len = (uint32_t)len;
	e->v.msg.nttl = (uint16_t)nttl;
	struct shard *s = shard_of(c, e->hash);
	if (size + ENTRY_OVERHEAD > s->max_bytes) {
		rc = DNS_E_SPACE;
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	/* no rank among responses: the newer one, built from the current RRsets, wins */
	rsv_entry_link(c, s, e, shard_find(s, e->hash, key, klen), now);
	pthread_mutex_unlock(&s->lock);
	return 0;
bad:
	rc = DNS_E_FORMAT;
out:
	mm_free(c->mm, e);
	return rc;
}

int rsv_msgcache_answer(struct rsv_cache *c, const uint8_t *query, size_t len, bool tcp,
	uint64_t now, uint8_t *out, size_t cap, size_t *outlen)
{
	struct dns_query q;
	*outlen = 0;
	if (dns_query_parse(query, len, &q, NULL) != DNS_QUERY_OK ||
	    DNS_OPCODE(q.hdr.flags) != DNS_OP_QUERY || (q.has_opt && q.edns.version != 0))
		return DNS_E_FORMAT; /* FORMERR, NOTIMP, BADVERS: the slow path's business */

	size_t limit = cap;
	if (!tcp) {
		size_t udp = DNS_UDP_MIN;
		if (q.has_opt && q.edns.udp_size > udp)
			udp = q.edns.udp_size;
		if (udp < limit)
			limit = udp;
	}
	uint8_t key[KEY_MAX];
	size_t klen = key_name(key, E_MSG, q.qname, q.qtype, q.qclass);
	key[klen++] = (uint8_t)((q.has_opt ? RSV_MSG_EDNS : 0) |
		(q.has_opt && (q.edns.flags & DNS_EDNS_DO) ? RSV_MSG_DO : 0) |
		((q.hdr.flags & DNS_FLAG_CD) ? RSV_MSG_CD : 0));
	uint64_t h = hash_key(c, key, klen);
	struct shard *s = shard_of(c, h);

	pthread_mutex_lock(&s->lock);
	struct entry *e = shard_find(s, h, key, klen);
	if (e && now >= e->expire) {
		rsv_entry_remove(c, s, e);
		s->st.expired++;
		e = NULL;
	}
	if (!e || e->v.msg.len > limit) {
		s->st.msg_misses++;
		pthread_mutex_unlock(&s->lock);
		return DNS_E_NOTFOUND;
	}
	size_t n = e->v.msg.len;
	memcpy(out, msg_wire(e), n);
	/* stored TTLs are >= the entry's lifetime > elapsed, so no field goes below 1 */
	uint32_t el = elapsed_s(e, now);
	const uint16_t *offs = msg_offs(e);
	for (unsigned i = 0; i < e->v.msg.nttl; i++) {
		uint8_t *p = out + offs[i];
		wr32(p, rd32(p) - el);
	}
	rsv_lru_touch(s, e);
	s->st.msg_hits++;
	pthread_mutex_unlock(&s->lock);

	/* the client's ID, RD bit (RFC 1035 4.1.1) and question name case (0x20) */
	out[0] = query[0];
	out[1] = query[1];
	out[2] = (uint8_t)((out[2] & ~0x01) | (query[2] & 0x01));
	memcpy(out + DNS_HEADER_LEN, q.qname, q.qname_len);
	*outlen = n;
	return 0;
}

/*
 * rsv_cache.c -- the resolver cache's table: sharded hash tables with LRU lists
 * and a byte bound, and the TTL clamps every kind of entry uses. See rsv_cache.h
 * for the model and rsv_cache_impl.h for the other pieces; comments here say why.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "dns_err.h"
#include "rsv_cache_impl.h"

#define BUCKETS_INIT 64

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

void rsv_lru_touch(struct shard *s, struct entry *e)
{
	if (s->lru_head != e) {
		lru_unlink(s, e);
		lru_push(s, e);
	}
}

void rsv_entry_free(const struct dns_mm *mm, struct entry *e)
{
	if (e->kind == E_RRSET && e->v.rr)
		rsv_rrset_release(e->v.rr);
	mm_free(mm, e);
}

void rsv_entry_remove(struct rsv_cache *c, struct shard *s, struct entry *e)
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
void rsv_entry_link(struct rsv_cache *c, struct shard *s, struct entry *e,
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

uint32_t rsv_ttl_clamp_pos(const struct rsv_cache *c, uint32_t ttl)
{
	ttl = ttl_sane(ttl);
	if (ttl < c->o.min_ttl)
		ttl = c->o.min_ttl;
	return ttl > c->o.max_ttl ? c->o.max_ttl : ttl;
}

/* RFC 2308 3, 5: min(SOA TTL, SOA MINIMUM), then the local cap. */
uint32_t rsv_ttl_negative(const struct rsv_cache *c, uint32_t soa_ttl, uint32_t minimum)
{
	uint32_t t = ttl_sane(soa_ttl);
	minimum = ttl_sane(minimum);
	if (minimum < t)
		t = minimum;
	if (t > c->o.max_neg_ttl)
		t = c->o.max_neg_ttl;
	return t > c->o.max_ttl ? c->o.max_ttl : t;
}

/* Remove the entry under key, if any. */
int rsv_cache_key_remove(struct rsv_cache *c, const uint8_t *key, size_t klen)
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

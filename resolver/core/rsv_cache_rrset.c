/*
 * rsv_cache_rrset.c -- RRsets in the cache: reference-counted read-only views,
 * and the RRset slot of a (name, type, class) holding a positive RRset or a
 * NODATA, or at type 0 the name's NXDOMAIN; ranks (RFC 2181 5.4.1), lookups
 * with RFC 8020 NXDOMAIN cuts, and the walk up to the deepest delegation.
 */
#include <errno.h>
#include <string.h>

#include "dns_err.h"
#include "dns_pkt.h"
#include "rsv_cache_impl.h"

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
	rsv_entry_key_set(e, key, klen, E_RRSET, h, now);
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
	struct entry *e = shard_find_live(c, s, h, key, klen, now);
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

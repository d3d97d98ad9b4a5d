/*
 * auth_zone.c -- the immutable zone snapshot (exact lookups, accessors, AXFR-
 * order iteration, reference counting) and zone sets. Building a snapshot is
 * auth_zone_build.c and auth_zone_finish.c, master files auth_zone_text.c.
 * See auth_zone.h and auth_zone_impl.h for the model.
 */
#include "auth_zone.h"
#include "auth_zone_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_hash.h"
#include "dns_name.h"
#include "dns_pkt.h"

/* ---- lookups ------------------------------------------------------------------ */

uint32_t auth_name_hash(const uint8_t *name, size_t len)
{
	/* FNV-1a: cheap, and the owners are the operator's, not a client's. */
	return dns_fnv32(DNS_FNV32_INIT, name, len);
}

static const struct auth_node *lookup_in(const struct auth_node *nodes,
	const uint32_t *hash, uint32_t mask, const uint8_t *lname, size_t len)
{
	uint32_t h = auth_name_hash(lname, len);
	for (uint32_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t v = hash[i];
		if (!v)
			return NULL;
		const struct auth_node *n = &nodes[v - 1];
		if (n->hash == h && n->namelen == len && memcmp(n->name, lname, len) == 0)
			return n;
	}
}

const struct auth_node *auth_zone_lookup(const struct auth_zone *z,
	const uint8_t *lname, size_t len)
{
	return lookup_in(z->nodes, z->hash, z->hash_mask, lname, len);
}

const struct auth_rrset *auth_node_rrset(const struct auth_node *n, uint16_t type)
{
	/* Nodes hold few RRsets: a linear scan beats a binary search here. */
	for (uint16_t i = 0; i < n->nrrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

static void zone_free(struct auth_zone *z)
{
	const struct dns_mm *mm = z->mm;
	dns_arena_deinit(&z->arena);
	mm_free(mm, z);
}

/* ---- snapshot accessors -------------------------------------------------------- */

struct auth_zone *auth_zone_ref(struct auth_zone *z)
{
	atomic_fetch_add_explicit(&z->refs, 1, memory_order_relaxed);
	return z;
}

void auth_zone_unref(struct auth_zone *z)
{
	if (!z)
		return;
	if (atomic_fetch_sub_explicit(&z->refs, 1, memory_order_acq_rel) == 1)
		zone_free(z);
}

const uint8_t *auth_zone_origin(const struct auth_zone *z)
{
	return z->origin;
}

void auth_zone_soa(const struct auth_zone *z, struct auth_soa *soa)
{
	*soa = z->soa_fields;
}

uint32_t auth_zone_serial(const struct auth_zone *z)
{
	return z->soa_fields.serial;
}

size_t auth_zone_rr_count(const struct auth_zone *z)
{
	return z->rr_count;
}

void auth_zone_iter_init(struct auth_zone_iter *it, const struct auth_zone *z)
{
	memset(it, 0, sizeof(*it));
	it->z = z;
}

static void view_of(struct auth_rr_view *v, const struct auth_node *n,
	const struct auth_rrset *rs, size_t i)
{
	v->owner = n->name;
	v->type = rs->type;
	v->rclass = DNS_CLASS_IN;
	v->ttl = rs->rr[i].ttl;
	v->rdata = rs->rr[i].data;
	v->rdlen = rs->rr[i].len;
}

bool auth_zone_iter_next(struct auth_zone_iter *it, struct auth_rr_view *rr)
{
	const struct auth_zone *z = it->z;
	switch (it->phase) {
	case 0:
		view_of(rr, z->apex, z->soa, 0);
		it->phase = 1;
		return true;
	case 1:
		while (it->node < z->nnodes) {
			const struct auth_node *n = &z->nodes[it->node];
			if (it->rrset >= n->nrrsets) {
				it->node++;
				it->rrset = 0;
				it->rr = 0;
				continue;
			}
			const struct auth_rrset *rs = &n->rrsets[it->rrset];
			if (rs->type == DNS_T_SOA && n == z->apex) {
				it->rrset++;
				continue;
			}
			if (it->rr >= rs->count) {
				it->rrset++;
				it->rr = 0;
				continue;
			}
			view_of(rr, n, rs, it->rr++);
			return true;
		}
		it->phase = 2;
		/* fall through */
	case 2:
		view_of(rr, z->apex, z->soa, 0);
		it->phase = 3;
		return true;
	default:
		return false;
	}
}

/* ---- zone sets -------------------------------------------------------------- */

struct auth_zoneset {
	atomic_uint refs;           /* references; the last unref frees */
	const struct dns_mm *mm;
	size_t n;                   /* zones */
	struct auth_zone **zones;   /* sorted by origin, canonical order */
};

struct auth_zoneset_builder {
	const struct dns_mm *mm;
	size_t n, cap;
	struct auth_zone **zones;
};

int auth_zoneset_builder_new(const struct dns_mm *mm, struct auth_zoneset_builder **out)
{
	if (!mm)
		mm = dns_mm_std();
	*out = mm_calloc(mm, 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->mm = mm;
	return 0;
}

int auth_zoneset_builder_add(struct auth_zoneset_builder *b, struct auth_zone *z)
{
	for (size_t i = 0; i < b->n; i++)
		if (dns_name_eq(b->zones[i]->origin, z->origin))
			return DNS_E_EXISTS;
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 8;
		struct auth_zone **nz = mm_alloc(b->mm, ncap * sizeof(*nz));
		if (!nz)
			return -ENOMEM;
		if (b->n)
			memcpy(nz, b->zones, b->n * sizeof(*nz));
		mm_free(b->mm, b->zones);
		b->zones = nz;
		b->cap = ncap;
	}
	b->zones[b->n++] = auth_zone_ref(z);
	return 0;
}

void auth_zoneset_builder_free(struct auth_zoneset_builder *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		auth_zone_unref(b->zones[i]);
	mm_free(b->mm, b->zones);
	mm_free(b->mm, b);
}

static int zoneptr_cmp(const void *pa, const void *pb)
{
	const struct auth_zone *const *a = pa, *const *b = pb;
	return dns_name_cmp((*a)->origin, (*b)->origin);
}

int auth_zoneset_builder_finish(struct auth_zoneset_builder *b, struct auth_zoneset **out)
{
	struct auth_zoneset *s = mm_calloc(b->mm, 1, sizeof(*s));
	*out = NULL;
	if (!s) {
		auth_zoneset_builder_free(b);
		return -ENOMEM;
	}
	atomic_init(&s->refs, 1);
	s->mm = b->mm;
	s->n = b->n;
	s->zones = b->zones; /* the references move to the set */
	if (s->n)
		qsort(s->zones, s->n, sizeof(*s->zones), zoneptr_cmp);
	mm_free(b->mm, b);
	*out = s;
	return 0;
}

struct auth_zoneset *auth_zoneset_ref(struct auth_zoneset *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void auth_zoneset_unref(struct auth_zoneset *s)
{
	if (!s)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < s->n; i++)
		auth_zone_unref(s->zones[i]);
	mm_free(s->mm, s->zones);
	mm_free(s->mm, s);
}

static struct auth_zone *set_exact(const struct auth_zoneset *s, const uint8_t *lname)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = dns_name_cmp(s->zones[mid]->origin, lname);
		if (c == 0)
			return s->zones[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct auth_zone *auth_zoneset_find(const struct auth_zoneset *s, const uint8_t *name)
{
	if (!s || !s->n)
		return NULL;
	if (s->n == 1)
		return dns_name_is_sub(name, s->zones[0]->origin) ? s->zones[0] : NULL;
	unsigned labels = dns_name_labels(name);
	for (unsigned i = 0; i <= labels; i++) {
		struct auth_zone *z = set_exact(s, dns_name_strip(name, i));
		if (z)
			return z;
	}
	return NULL;
}

struct auth_zone *auth_zoneset_get(const struct auth_zoneset *s, const uint8_t *origin)
{
	return set_exact(s, origin);
}

size_t auth_zoneset_count(const struct auth_zoneset *s)
{
	return s->n;
}

struct auth_zone *auth_zoneset_at(const struct auth_zoneset *s, size_t i)
{
	return i < s->n ? s->zones[i] : NULL;
}


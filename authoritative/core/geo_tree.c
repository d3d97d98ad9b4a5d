/*
 * geo_tree.c -- the placement tree of a steering map: the binary trie over
 * 128-bit addresses with merged leaves whose depth is the ECS scope (RFC
 * 7871 7.2.1), built from the GeoIP records (placed through geo_order.c) and
 * the operator networks, and its lookup.
 *
 * Build: a scratch trie (a growing array of child-ref pairs, no per-node
 * allocation) starts as one "default" leaf; every GeoIP network is written as a
 * leaf (splitting the leaves above it), then the operator networks, widest
 * first, so each overwrites whole subtrees and the most specific one wins.
 * Then one pass copies the reachable part into the final array, replacing
 * every node whose two children are the same leaf by that leaf (bottom-up),
 * which is what makes a leaf's depth the widest prefix with the same answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h> /* qsort */
#include <string.h>

#include "dns_err.h"
#include "dns_hash.h"
#include "geo_map_impl.h"

/* ---- scratch trie ---------------------------------------------------------- */

struct scratch {
	const struct dns_mm *mm;
	uint32_t (*node)[2];
	size_t n, cap;
	uint32_t root;
};

/* A place seen before -> its result (GeoIP databases share records a lot). */
struct place_ent {
	struct geo_place place;
	uint32_t result;
	bool used;
};

struct build {
	struct geo_map *m;
	struct scratch s;
	struct place_ent *cache;
	size_t cache_mask, cache_n;
	int err;
};

static int scratch_insert(struct scratch *s, const uint8_t addr[16], unsigned len,
	uint32_t leaf)
{
	/* track the slot as (node, side) because the array may move */
	uint32_t at = UINT32_MAX; /* UINT32_MAX: the root slot */
	unsigned side = 0;
	for (unsigned d = 0; d < len; d++) {
		uint32_t *slot = at == UINT32_MAX ? &s->root : &s->node[at][side];
		if (*slot & GEO_REF_LEAF) {
			if (s->n == s->cap) {
				size_t cap = s->cap ? s->cap * 2 : 1024;
				if (cap >= GEO_REF_LEAF)
					return -ENOMEM;
				void *p = geo_realloc(s->mm, s->node, s->cap * sizeof(*s->node),
					cap * sizeof(*s->node));
				if (!p)
					return -ENOMEM;
				s->node = p;
				s->cap = cap;
				slot = at == UINT32_MAX ? &s->root : &s->node[at][side];
			}
			s->node[s->n][0] = s->node[s->n][1] = *slot;
			*slot = (uint32_t)s->n++;
		}
		at = *slot;
		side = (addr[d >> 3] >> (7 - (d & 7))) & 1;
	}
	/* everything below is replaced: nodes there become unreachable garbage */
	if (at == UINT32_MAX)
		s->root = leaf;
	else
		s->node[at][side] = leaf;
	return 0;
}

static uint64_t place_hash(const struct geo_place *p)
{
	uint32_t h = dns_fnv32(DNS_FNV32_INIT, &p->has_coords, 1);
	if (p->has_coords) {
		h = dns_fnv32(h, &p->lat, sizeof(p->lat));
		h = dns_fnv32(h, &p->lon, sizeof(p->lon));
	}
	h = dns_fnv32(h, p->country, strlen(p->country));
	h = dns_fnv32(h, p->continent, strlen(p->continent));
	h = dns_fnv32(h, p->dc, strlen(p->dc));
	return h;
}

static bool place_eq(const struct geo_place *a, const struct geo_place *b)
{
	if (a->has_coords != b->has_coords)
		return false;
	if (a->has_coords && (a->lat != b->lat || a->lon != b->lon))
		return false;
	return strcmp(a->country, b->country) == 0 && strcmp(a->continent, b->continent) == 0 &&
		strcmp(a->dc, b->dc) == 0;
}

/* The part of a place that decides placement (city is for --explain only). */
static void place_key(struct geo_place *k, const struct geo_place *p)
{
	memset(k, 0, sizeof(*k));
	k->has_coords = p->has_coords;
	if (p->has_coords) {
		k->lat = p->lat;
		k->lon = p->lon;
	}
	memcpy(k->country, p->country, sizeof(k->country) - 1);
	memcpy(k->continent, p->continent, sizeof(k->continent) - 1);
	memcpy(k->dc, p->dc, sizeof(k->dc) - 1);
}

static int cache_grow(struct build *b)
{
	size_t slots = b->cache ? 2 * (b->cache_mask + 1) : 256;
	struct place_ent *c = mm_calloc(b->m->mm, slots, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; b->cache && i <= b->cache_mask; i++) {
		if (!b->cache[i].used)
			continue;
		size_t h = place_hash(&b->cache[i].place) & (slots - 1);
		while (c[h].used)
			h = (h + 1) & (slots - 1);
		c[h] = b->cache[i];
	}
	mm_free(b->m->mm, b->cache);
	b->cache = c;
	b->cache_mask = slots - 1;
	return 0;
}

static int64_t cached_result(struct build *b, const struct geo_place *p)
{
	struct geo_place k;
	place_key(&k, p);
	if (!b->cache && cache_grow(b) < 0)
		return -ENOMEM;
	size_t h = place_hash(&k) & b->cache_mask;
	while (b->cache[h].used) {
		if (place_eq(&b->cache[h].place, &k))
			return b->cache[h].result;
		h = (h + 1) & b->cache_mask;
	}
	int64_t r = geo_place_result(b->m, &k);
	if (r < 0)
		return r;
	b->cache[h].place = k;
	b->cache[h].result = (uint32_t)r;
	b->cache[h].used = true;
	if (2 * ++b->cache_n > b->cache_mask + 1 && cache_grow(b) < 0)
		return -ENOMEM;
	return r;
}

static int geoip_cb(void *ctx, const uint8_t addr[16], unsigned len,
	const struct geo_place *place)
{
	struct build *b = ctx;
	if (len > 128)
		return b->err = DNS_E_CONFIG;
	int64_t r = cached_result(b, place);
	if (r < 0)
		return b->err = (int)r;
	if (r == b->m->default_result) /* already what the tree says */
		return 0;
	int rc = scratch_insert(&b->s, addr, len, GEO_REF_LEAF | (uint32_t)r);
	if (rc)
		b->err = rc;
	return rc;
}

/* ---- compaction (merge) ---------------------------------------------------- */

struct out {
	uint32_t (*node)[2];
	size_t n, leaves;
};

/* Copy ref's subtree into o, merging; returns the new ref. Depth <= 128. */
static uint32_t compact(const struct scratch *s, struct out *o, uint32_t ref)
{
	if (ref & GEO_REF_LEAF)
		return ref;
	/* pre-order placement: reserve the slot, roll it back when merged (the
	 * children then came back as leaves, so nothing was kept after it) */
	size_t me = o->n++;
	uint32_t l = compact(s, o, s->node[ref][0]);
	uint32_t r = compact(s, o, s->node[ref][1]);
	if ((l & GEO_REF_LEAF) && l == r) {
		o->n = me;
		return l;
	}
	o->node[me][0] = l;
	o->node[me][1] = r;
	return (uint32_t)me;
}

static size_t count_leaves(const struct out *o, uint32_t ref)
{
	if (ref & GEO_REF_LEAF)
		return 1;
	return count_leaves(o, o->node[ref][0]) + count_leaves(o, o->node[ref][1]);
}

static size_t count_nodes(const struct geo_map *m, uint32_t ref, size_t limit)
{
	/* nodes of a subtree, counted up to limit (enough to decide) */
	size_t n = 0;
	uint32_t stack[130];
	size_t sp = 0;
	stack[sp++] = ref;
	while (sp && n < limit) {
		uint32_t r = stack[--sp];
		if (r & GEO_REF_LEAF)
			continue;
		n++;
		stack[sp++] = m->node[r][1];
		stack[sp++] = m->node[r][0];
	}
	return n;
}

/* 2^16 entries: the walk from (ref, depth) along every 16-bit value. */
static struct geo_jump *make_jump(const struct geo_map *m, uint32_t start, unsigned depth)
{
	struct geo_jump *j;
	if (count_nodes(m, start, GEO_JUMP_MIN_NODES) < GEO_JUMP_MIN_NODES)
		return NULL;
	j = mm_alloc(m->mm, sizeof(*j) << GEO_JUMP_BITS);
	if (!j)
		return NULL; /* only an optimisation: walk bit by bit instead */
	for (uint32_t v = 0; v < (1u << GEO_JUMP_BITS); v++) {
		uint32_t ref = start;
		unsigned d = 0;
		while (d < GEO_JUMP_BITS && !(ref & GEO_REF_LEAF)) {
			ref = m->node[ref][(v >> (GEO_JUMP_BITS - 1 - d)) & 1];
			d++;
		}
		j[v].ref = ref;
		j[v].depth = depth + d;
	}
	return j;
}

static int build_jumps(struct geo_map *m)
{
	if (!(m->root & GEO_REF_LEAF))
		m->jump6 = make_jump(m, m->root, 0);
	if (m->v4_depth == 96 && !(m->v4_root & GEO_REF_LEAF))
		m->jump4 = make_jump(m, m->v4_root, 96);
	return 0;
}

static int net_cmp(const void *a, const void *b)
{
	const struct geo_net *x = *(const struct geo_net *const *)a;
	const struct geo_net *y = *(const struct geo_net *const *)b;
	return (x->len > y->len) - (x->len < y->len);
}

/*
 * The operator networks into the scratch trie, widest first, so the most
 * specific one is written last.
 */
static int insert_networks(struct geo_map *m, struct scratch *s)
{
	struct geo_net **sorted = NULL;
	uint8_t ord[GEO_DC_MAX];
	int rc = 0;
	int64_t r;

	sorted = mm_calloc(m->mm, m->n_nets ? m->n_nets : 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (unsigned i = 0; i < m->n_nets; i++) {
		struct geo_net *n = &m->nets[i];
		sorted[i] = n;
		geo_order_make(m, n->list, n->n_list, n->has_coords, n->lat, n->lon,
			m->default_order, ord);
		if ((r = geo_order_intern(m, ord)) < 0 ||
		    (r = geo_result_intern(m, (uint32_t)r, GEO_BY_NETWORK)) < 0) {
			rc = (int)r;
			goto out;
		}
		n->result = (uint32_t)r;
	}
	qsort(sorted, m->n_nets, sizeof(*sorted), net_cmp);
	for (unsigned i = 0; i < m->n_nets; i++)
		if ((rc = scratch_insert(s, sorted[i]->addr, sorted[i]->len,
			     GEO_REF_LEAF | sorted[i]->result)) != 0)
			goto out;
out:
	mm_free(m->mm, sorted);
	return rc;
}

/* Remember where IPv4 starts in the final tree: ::ffff:0:0/96 (or the leaf above it). */
static void find_v4_root(struct geo_map *m)
{
	static const uint8_t v4pre[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint32_t ref = m->root;
	unsigned d = 0;
	while (d < 96 && !(ref & GEO_REF_LEAF)) {
		ref = m->node[ref][(v4pre[d >> 3] >> (7 - (d & 7))) & 1];
		d++;
	}
	m->v4_root = ref;
	m->v4_depth = d;
}

int geo_tree_build(struct geo_map *m, char *err, size_t errlen, const char *file)
{
	struct build b = {.m = m, .s = {.mm = m->mm}};
	int rc = 0;
	int64_t r;

	/* everything starts as the default order, placed by default */
	if ((r = geo_order_intern(m, m->default_order)) < 0 ||
	    (r = geo_result_intern(m, (uint32_t)r, GEO_BY_DEFAULT)) < 0) {
		rc = (int)r;
		goto out;
	}
	m->default_result = (uint32_t)r;
	b.s.root = GEO_REF_LEAF | m->default_result;

	if (m->has_src && m->src.foreach) {
		rc = m->src.foreach(m->src.ctx, geoip_cb, &b);
		if (b.err)
			rc = b.err;
		if (rc) {
			if (err && errlen && rc != -ENOMEM)
				snprintf(err, errlen, "%s: geoip: %s: %s", file,
					m->src.name ? m->src.name : "?",
					rc == DNS_E_FORMAT ? "corrupt search tree" : dns_strerror(rc));
			if (rc != -ENOMEM)
				rc = DNS_E_CONFIG;
			goto out;
		}
	}

	if ((rc = insert_networks(m, &b.s)) != 0)
		goto out;

	/* the final tree is never larger than the scratch one */
	struct out o = {0};
	size_t o_cap = b.s.n ? b.s.n : 1;
	o.node = mm_alloc(m->mm, o_cap * sizeof(*o.node));
	if (!o.node) {
		rc = -ENOMEM;
		goto out;
	}
	m->root = compact(&b.s, &o, b.s.root);
	if (o.n == 0) {
		mm_free(m->mm, o.node);
		o.node = NULL;
	} else {
		void *p = geo_realloc(m->mm, o.node, o_cap * sizeof(*o.node), o.n * sizeof(*o.node));
		if (p)
			o.node = p;
	}
	m->node = o.node;
	m->n_nodes = o.n;
	m->n_leaves = count_leaves(&o, m->root);

	find_v4_root(m);
	if ((rc = build_jumps(m)) != 0)
		goto out;
	/* the orders hash is only for building */
	mm_free(m->mm, m->order_slot);
	m->order_slot = NULL;
out:
	if (rc == -ENOMEM && err && errlen)
		snprintf(err, errlen, "%s: out of memory building the placement tree", file);
	mm_free(m->mm, b.s.node);
	mm_free(m->mm, b.cache);
	return rc;
}

/* ---- lookup ---------------------------------------------------------------- */

void geo_client_where(const struct geo_client *c, struct geo_where *w)
{
	memset(w, 0, sizeof(*w));
	if (c->family == 4) {
		w->addr[10] = w->addr[11] = 0xff;
		memcpy(w->addr + 12, c->addr, 4);
		w->plen = 96 + (c->prefix > 32 ? 32 : c->prefix);
		w->v4 = true;
	} else if (c->addr[0] == 0x20 && c->addr[1] == 0x02 && c->prefix >= 16) {
		/* 6to4: the IPv4 address is bits 16..47 */
		unsigned p = c->prefix - 16u;
		w->addr[10] = w->addr[11] = 0xff;
		memcpy(w->addr + 12, c->addr + 2, 4);
		w->plen = 96 + (p > 32 ? 32 : p);
		w->v4 = true;
		w->v4_off = 16;
		w->six_to_four = true;
	} else {
		memcpy(w->addr, c->addr, 16);
		w->plen = c->prefix > 128 ? 128 : c->prefix;
	}
	/* zero the bits beyond the prefix a byte at a time (hot path) */
	unsigned byte = w->plen >> 3;
	if (byte < 16) {
		if (w->plen & 7)
			w->addr[byte++] &= (uint8_t)(0xff00u >> (w->plen & 7));
		memset(w->addr + byte, 0, 16 - byte);
	}
}

uint32_t geo_tree_lookup(const struct geo_map *m, const uint8_t addr[16], bool v4,
	unsigned plen, unsigned *depth)
{
	uint32_t ref = m->root;
	unsigned d = 0;
	const struct geo_jump *jump = m->jump6;
	unsigned start = 0;
	if (v4) {
		ref = m->v4_root;
		d = m->v4_depth;
		jump = m->jump4;
		start = 96;
	}
	if (jump) {
		/* the next 16 bits at once, those past the prefix taken as zero */
		uint32_t v = (uint32_t)addr[start >> 3] << 8 | addr[(start >> 3) + 1];
		if (plen < start + GEO_JUMP_BITS)
			v &= plen <= start ? 0 : 0xffffu << (start + GEO_JUMP_BITS - plen);
		ref = jump[v & 0xffff].ref;
		d = jump[v & 0xffff].depth;
	}
	/*
	 * Bits beyond the client's prefix (an ECS source prefix) are taken as
	 * zero, and the walk goes on to a leaf: the answer is the one for the
	 * zero-filled address and the scope is that leaf's depth, which may be
	 * longer than the source prefix. RFC 7871 7.2.1 allows a SCOPE longer
	 * than the SOURCE; gdnsd does the same.
	 */
	while (!(ref & GEO_REF_LEAF)) {
		unsigned bit = d < plen ? (addr[d >> 3] >> (7 - (d & 7))) & 1 : 0;
		ref = m->node[ref][bit];
		d++;
	}
	*depth = d;
	return ref & ~GEO_REF_LEAF;
}

/*
 * geo_map_impl.h -- the inside of a struct geo_map, shared by geo_map.c
 * (the loaded map), geo_map_load.c and geo_map_dcs.c (loading and
 * validation), geo_order.c (distances and datacenter orders), geo_tree.c
 * (building the placement tree) and geo_select.c (lookups, selection,
 * explanations). Not for other modules. The calls run one way: the loader
 * uses geo_tree.c, geo_order.c and geo_map.c; geo_tree.c uses geo_order.c;
 * geo_select.c uses geo_tree.c, geo_order.c and geo_map.c; geo_order.c and
 * geo_map.c use none of them.
 *
 * Glossary: order = every datacenter index of the map once, best first (one
 * byte each, n_dc bytes); result = an (order, placed_by) pair packed in 31
 * bits, what a tree leaf holds; ref = a uint32 tree reference, a node index
 * or (GEO_REF_LEAF set) a result.
 */
#ifndef CAIRN_GEO_MAP_IMPL_H
#define CAIRN_GEO_MAP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns_hash.h"
#include "dns_mem.h"
#include "geo_map.h"

#define GEO_REF_LEAF 0x80000000u /* ref flag: the low 31 bits are a result */
/* A result packed in 31 bits: enum geo_placed_by above an order index. */
#define GEO_RESULT_BY_SHIFT 28
#define GEO_RESULT_ORDER_MASK 0x0fffffffu

/* An operator network of the map ("networks"). */
struct geo_net {
	uint8_t addr[16];            /* in the 128-bit tree (IPv4 at ::ffff:0:0/96) */
	unsigned len;                /* prefix length in the tree */
	char text[64];               /* normalised presentation form, e.g. "10.0.0.0/8" */
	bool has_coords;             /* lat/lon given (else a datacenter list) */
	double lat, lon;             /* when has_coords */
	uint8_t list[GEO_DC_MAX];    /* datacenters listed first (when !has_coords) */
	unsigned n_list;             /* entries of list */
	uint32_t result;             /* its result (packed) */
};

/* Where a walk of 16 bits from a jump table's start ends. */
struct geo_jump {
	uint32_t ref;                /* node or leaf reached */
	uint32_t depth;              /* tree depth of ref */
};

#define GEO_JUMP_BITS 16
#define GEO_JUMP_MIN_NODES 4096  /* smaller subtrees are walked bit by bit */

/* A result unpacked: which order and how the client was placed. */
struct geo_result {
	uint32_t order;              /* index of the order (n_dc bytes at orders + order * n_dc) */
	uint8_t by;                  /* enum geo_placed_by */
};

struct geo_map {
	const struct dns_mm *mm;     /* every allocation of the map (geo_map_free too) */
	struct geo_dc *dc;           /* datacenters, map order */
	unsigned n_dc;
	uint64_t fam_mask[GEO_DC_MAX][2]; /* per DC: bit r set = replica r is IPv4 ([0]) / IPv6 ([1]) */
	struct geo_replica *rep;     /* every replica, DC after DC (dc[i].rep points inside) */
	unsigned n_rep;

	struct geo_name *names;      /* steered names, in map order */
	unsigned n_names;
	uint32_t *name_slot;         /* open-addressing hash: name index + 1, 0 = empty */
	uint32_t name_mask;          /* slots - 1 (power of two) */
	uint64_t name_lens[4];       /* bit L set: some name has owner_len L (cheap miss) */

	struct geo_net *nets;        /* operator networks, map order */
	unsigned n_nets;

	uint8_t default_order[GEO_DC_MAX]; /* defaults.order completed with the rest */
	int32_t country[26 * 26];    /* defaults.countries: order index, -1 none */
	int32_t continent[7];        /* defaults.continents (AF AN AS EU NA OC SA), -1 none */

	uint8_t *orders;             /* n_orders * n_dc bytes */
	uint32_t n_orders, cap_orders;
	uint32_t *order_slot;        /* build-time hash of orders (index + 1) */
	uint32_t order_mask;
	uint32_t default_result;     /* the default order, placed by default */

	uint32_t (*node)[2];         /* compact tree: children refs of each node */
	size_t n_nodes, n_leaves;
	uint32_t root;               /* ref of ::/0 */
	uint32_t v4_root;            /* ref of ::ffff:0:0/96 (or the leaf above it) */
	unsigned v4_depth;           /* depth of v4_root: 96, or less when a leaf covers it */

	/*
	 * Jump tables for the hot path: the ref and depth reached after the
	 * first 16 bits below the IPv4 root (::ffff:0:0/96) and below the root,
	 * so a lookup skips 16 dependent loads. NULL when the subtree is small.
	 */
	struct geo_jump *jump4, *jump6;

	struct geo_source src;       /* GeoIP data (foreach NULL: none) */
	bool has_src;
	void (*close_source)(struct geo_source *src); /* NULL: src not ours */
};

/*
 * Resize a block of old bytes allocated with mm to size bytes (struct dns_mm
 * has no realloc): a new block holding the old bytes, the old one freed. NULL
 * on failure, the old block then kept.
 */
static inline void *geo_realloc(const struct dns_mm *mm, void *p, size_t old, size_t size)
{
	void *q = mm_alloc(mm, size);
	if (!q)
		return NULL;
	if (p) {
		memcpy(q, p, old < size ? old : size);
		mm_free(mm, p);
	}
	return q;
}

/*
 * Hash of a steered name's owner (canonical already, so its bytes hash as
 * they are). The operator chooses the names, not the clients: FNV-1a is
 * enough.
 */
static inline uint32_t geo_name_hash(const uint8_t *owner, size_t len)
{
	return dns_fnv32(DNS_FNV32_INIT, owner, len);
}

/* Interned order index for ord (n_dc bytes), adding it if new; <0 on -ENOMEM. */
int64_t geo_order_intern(struct geo_map *m, const uint8_t *ord);
/* The packed result of (order, by); <0 (-ENOMEM) past 2^28 orders. */
int64_t geo_result_intern(struct geo_map *m, uint32_t order, enum geo_placed_by by);
/*
 * Order of every DC: first (n_first entries) given, then the others by
 * distance from (lat, lon) when has_point, else in base order (n_dc entries).
 */
void geo_order_make(const struct geo_map *m, const uint8_t *first, unsigned n_first,
	bool has_point, double lat, double lon, const uint8_t *base, uint8_t *out);
/* Build the placement tree from the source and the networks. 0, -ENOMEM or DNS_E_CONFIG. */
int geo_tree_build(struct geo_map *m, char *err, size_t errlen, const char *file);
/* The result ref of client address (tree form) limited to plen tree bits; *depth = leaf depth. */
uint32_t geo_tree_lookup(const struct geo_map *m, const uint8_t addr[16], bool v4,
	unsigned plen, unsigned *depth);
/* Where a client is looked up in the tree. */
struct geo_where {
	uint8_t addr[16];        /* tree address (IPv4 at ::ffff:0:0/96), bits past plen zero */
	unsigned plen;           /* prefix in tree bits: the walk takes later bits as zero */
	bool v4;                 /* an IPv4 address: the walk starts at the IPv4 root */
	unsigned v4_off;         /* v4: client-family bits before the IPv4 bits (16 for 6to4) */
	bool six_to_four;        /* an IPv6 client in 2002::/16 placed as its IPv4 address */
};
/*
 * Map a client to its tree address. A 6to4 client 2002:a.b.c.d::/48 (RFC 3056)
 * is placed as a.b.c.d, as MaxMind's databases alias 2002::/16 to IPv4 and
 * gdnsd folds it; the walk of the database leaves that alias out.
 */
void geo_client_where(const struct geo_client *c, struct geo_where *w);
/* Scope (client family bits) of a leaf found at tree depth for w. */
static inline uint8_t geo_where_scope(const struct geo_where *w, unsigned depth)
{
	if (w->v4)
		return (uint8_t)(w->v4_off + (depth > 96 ? depth - 96 : 0));
	return (uint8_t)depth;
}
/* Index 0..6 of a continent code, DNS_E_NOTFOUND if unknown. */
int geo_continent_index(const char *code);
/* Order for a GeoIP place and how it was placed (used by the tree and --explain). */
int64_t geo_place_result(struct geo_map *m, const struct geo_place *p);

#endif

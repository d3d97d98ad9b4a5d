/*
 * auth_zone_impl.h -- the layout of a zone snapshot, shared by the zone
 * database and the answer engine (private to authoritative/core).
 *
 * A snapshot is one arena holding:
 *   - nodes: every owner name of the zone plus the empty non-terminals between
 *     owners and the apex (RFC 4592 2.2.2: they "exist"), in canonical order
 *     (RFC 4034 6.1), the apex first; a subtree is therefore contiguous;
 *   - per node its RRsets sorted by type, each an array of records (TTL, RDATA
 *     wire, and for NS/MX/SRV the node of the target name when this zone holds
 *     addresses for it, so additional-section processing needs no lookup);
 *   - an open-addressing hash of node names for exact lookups.
 * Closest-encloser search walks the query name's suffixes through the hash:
 * at most one probe sequence per label, no allocation.
 */
#ifndef CAIRN_AUTH_ZONE_IMPL_H
#define CAIRN_AUTH_ZONE_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth_zone.h"
#include "dns_mem.h"

struct auth_node;

/* One record of an RRset. */
struct auth_rdata {
	const uint8_t *data;             /* uncompressed RDATA wire */
	uint16_t len;                    /* RDATA length */
	uint32_t ttl;                    /* TTL as loaded; answers use it (NSD does) */
	const struct auth_node *target;  /* NS/MX/SRV: node of the target name in
	                                    this zone if it has A/AAAA, else NULL;
	                                    a wildcard node when the target exists
	                                    only through it (RFC 4592) */
	bool target_wild;                /* target is a wildcard standing in for
	                                    the name in the RDATA */
	uint8_t target_off;              /* offset of the target name in data */
};

/* The records of one type at one name. */
struct auth_rrset {
	uint16_t type;                /* RR type */
	uint16_t count;               /* number of records (>= 1) */
	uint32_t ttl;                 /* the first record's TTL (RFC 2181 5.2 wants one per
	                                 RRset; records that differ were warned about) */
	const struct auth_rdata *rr;  /* records, in canonical RDATA order */
};

/* Node flags. */
enum {
	AUTH_NODE_APEX = 1 << 0,     /* the zone apex */
	AUTH_NODE_DELEG = 1 << 1,    /* a delegation point: NS below the apex, not itself below a cut */
	AUTH_NODE_NONAUTH = 1 << 2,  /* strictly below a delegation point (glue or occluded data) */
	AUTH_NODE_CNAME = 1 << 3,    /* owns a CNAME */
	AUTH_NODE_DNAME = 1 << 4,    /* owns a DNAME */
	AUTH_NODE_WILDCARD = 1 << 5, /* first label is '*' */
	AUTH_NODE_ADDR = 1 << 6      /* owns A or AAAA records */
};

/* One name of the zone. */
struct auth_node {
	const uint8_t *name;              /* canonical wire name */
	uint8_t namelen;                  /* wire length of name */
	uint8_t labels;                   /* label count (root excluded) */
	uint16_t flags;                   /* AUTH_NODE_* */
	uint16_t nrrsets;                 /* 0 for an empty non-terminal */
	const struct auth_rrset *rrsets;  /* sorted by type */
	const struct auth_node *wildcard; /* the child "*.name" if it exists */
	const struct auth_node *cut;      /* the delegation point at or above this node, or NULL */
	uint32_t hash;                    /* hash of name */
};

/* The snapshot. */
struct auth_zone {
	atomic_uint refs;                 /* references; the last unref frees */
	const struct dns_mm *mm;          /* allocator of the arena and this struct */
	struct dns_arena arena;           /* every byte of the snapshot below */
	const uint8_t *origin;            /* apex name, canonical wire */
	uint8_t origin_len;               /* its wire length */
	uint8_t origin_labels;            /* its label count */
	const struct auth_node *nodes;    /* canonical order, apex first */
	size_t nnodes;                    /* number of nodes */
	const uint32_t *hash;             /* slot -> node index + 1, 0 = empty */
	uint32_t hash_mask;               /* slots - 1 (power of two) */
	const struct auth_node *apex;     /* nodes[0] */
	const struct auth_rrset *soa;     /* the SOA RRset */
	const struct auth_rrset *ns;      /* the apex NS RRset */
	struct auth_soa soa_fields;       /* parsed SOA */
	uint32_t neg_ttl;                 /* min(SOA TTL, MINIMUM): RFC 2308 3 */
	size_t rr_count;                  /* records, SOA once */
};

/* Hash of a canonical wire name of length len. */
uint32_t auth_name_hash(const uint8_t *name, size_t len);

/* Exact lookup of a canonical (lower-case) name; NULL if absent. */
const struct auth_node *auth_zone_lookup(const struct auth_zone *z,
	const uint8_t *lname, size_t len);

/* The RRset of type at node n, NULL if none. */
const struct auth_rrset *auth_node_rrset(const struct auth_node *n, uint16_t type);

#endif

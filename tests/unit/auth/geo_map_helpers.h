/*
 * geo_map_helpers.h -- what the test_geo_map_*.c files share: an in-memory
 * GeoIP database (a struct geo_source over a table of CIDRs), the test map
 * base_map loaded over it, and helpers to look names up, build clients and
 * select with a seeded dns_rng.
 *
 * The database places 81.2.69.0/24 in London, 89.160.20.0/24 in Linkoping,
 * 216.160.83.0/24 in San Francisco, 192.0.2.0/24 in Paris, 2001:db8:1::/48 in
 * Stockholm and 2001:db8:2::/48 in New York; 198.51.100.0/25+/25 merge,
 * 203.0.113.0/25+/25 do not; 100.64.1-4.0/24 have a country and continent only;
 * 100.65.0.0/16 and 100.66.0.0/16 name a datacenter (as cairn-mapc writes).
 */
#ifndef CAIRN_GEO_MAP_HELPERS_H
#define CAIRN_GEO_MAP_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "dns_rng.h"
#include "geo_map.h"

#define QT_A 1     /* RR types the tests ask for */
#define QT_AAAA 28
#define QT_MX 15

/* One network of the in-memory database. */
struct mem_net {
	const char *cidr;   /* "ADDR/LEN", IPv4 or IPv6 */
	struct geo_place p; /* where it is */
};

/* An in-memory database: the ctx of a struct geo_source over mem_foreach/mem_lookup. */
struct mem_src {
	const struct mem_net *nets; /* the networks, in any order */
	size_t n;                   /* how many */
};

/* A struct geo_place with coordinates, country, continent and city. */
#define AT(la, lo, cc, ct, cy) {.has_coords = true, .lat = (la), .lon = (lo), \
	.country = cc, .continent = ct, .city = cy}
/* A struct geo_place with a country and continent only. */
#define NOWHERE(cc, ct) {.has_coords = false, .country = cc, .continent = ct}

/* geo_source.foreach over a struct mem_src (ctx): every network, in table order. */
int mem_foreach(void *ctx,
	int (*cb)(void *cbctx, const uint8_t addr[16], unsigned len, const struct geo_place *place),
	void *cbctx);

/* geo_source.lookup over a struct mem_src (ctx): the longest matching network. */
int mem_lookup(void *ctx, const uint8_t addr[16], struct geo_place *out, unsigned *len);

/* The database described above, as a geo_source. */
extern const struct geo_source mem_source;

/* The test map: datacenters eu-london, us-east and us-west, names www, two, all,
 * east and west under cdn.test, operator networks and defaults. */
extern const char base_map[];

/* Load json (as "test.json") over src, allocating through tmm; fails the test on error. */
struct geo_map *load_map(const char *json, const struct geo_source *src);

/* The steered name text of m; fails the test if m has none. */
const struct geo_name *name(const struct geo_map *m, const char *text);

/* A client at address text with prefix (-1: the whole address) placed by from. */
struct geo_client client(const char *text, int prefix, enum geo_client_from from);

/* Replica id by address text; fails the test if m has none. */
unsigned rep_id(const struct geo_map *m, const char *addr);

/* The seeded random source of selections; setup() seeds it with 42. */
extern struct dns_rng rng;

/* geo_select for name nm, type qt, client addr (prefix < 0: the source address,
 * otherwise ECS with that prefix), replicas up as up says (NULL: all up). */
struct geo_answer pick(const struct geo_map *m, const char *nm, uint16_t qt,
	const char *addr, int prefix, const uint8_t *up);

/* Datacenter of the first address of the answer. */
const char *first_dc(const struct geo_map *m, const struct geo_answer *a);

/* Address i of the answer as text in buf (INET6_ADDRSTRLEN bytes); returns buf. */
char *addr_str(const struct geo_answer *a, unsigned i, char *buf);

/* cmocka setup: seeds rng and loads base_map over mem_source into *state. */
int setup(void **state);

/* cmocka teardown: frees the map of setup(). */
int teardown(void **state);

#endif

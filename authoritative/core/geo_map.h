/*
 * geo_map.h -- the CDN steering map of cairn-auth: where clients are, where
 * the replicas are, and which replicas a client gets.
 *
 * A map is loaded from the operator's JSON (docs/map-format.md) plus an
 * optional GeoIP database, and compiled once into an immutable snapshot:
 *
 *   placement tree  a binary trie over 128-bit addresses (IPv4 lives at
 *                   ::ffff:0:0/96). Every leaf says how a client there is
 *                   placed (operator network, GeoIP coordinates, country or
 *                   continent default, default) and the datacenter order that
 *                   results. Sibling leaves with the same result are merged
 *                   when the map is built (as gdnsd does), so the depth of a
 *                   leaf is the widest prefix that gets the same answer: the
 *                   ECS SCOPE PREFIX-LENGTH (RFC 7871 7.2.1).
 *   orders          the distinct datacenter orders (every datacenter of the
 *                   map, nearest first by great-circle distance, ties in map
 *                   order); a steered name walks its order skipping
 *                   datacenters outside its pool.
 *   names           steered owner names (canonical wire form) with their pool,
 *                   datacenter count, addresses per datacenter and TTLs.
 *
 * Health is not part of the snapshot: it changes every few seconds while the
 * map changes on reload. The io layer keeps one byte per replica (struct
 * geo_health_view) that selection reads.
 *
 * Pure: no sockets, no clock, no randomness of its own (a struct dns_rng is
 * passed in), no files (the io layer reads the map and opens the GeoIP
 * database). Reading the GeoIP database goes through struct geo_source so
 * tests can give a database in memory; geo_mmdb.h adapts libmaxminddb.
 *
 * Glossary: datacenter (DC) = a site with replicas; replica = one address
 * serving the name; pool = the datacenters a steered name may use; placement
 * = how a client's location was decided.
 */
#ifndef CAIRN_GEO_MAP_H
#define CAIRN_GEO_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_mem.h"
#include "dns_rng.h"

#define GEO_DC_MAX 64          /* datacenters in one map */
#define GEO_REPLICA_MAX 64     /* replicas in one datacenter */
#define GEO_ANSWER_MAX 16      /* addresses in one answer */
#define GEO_NAME_TEXT_MAX 64   /* datacenter name length + 1 */

/* How a client's location was decided (best first). */
enum geo_placed_by {
	GEO_BY_NETWORK = 0,  /* an operator network of the map (CIDR -> DCs or coordinates) */
	GEO_BY_GEOIP,        /* GeoIP coordinates */
	GEO_BY_COUNTRY,      /* GeoIP country without coordinates: the country default */
	GEO_BY_CONTINENT,    /* GeoIP continent without coordinates: the continent default */
	GEO_BY_DEFAULT       /* nobody could place it: the default order */
};

/* "network", "geoip", "country", "continent", "default". */
const char *geo_placed_by_name(enum geo_placed_by by);

/* What the client's address was taken from (for --explain). */
enum geo_client_from {
	GEO_FROM_SOURCE = 0, /* the packet's source address */
	GEO_FROM_ECS         /* the query's EDNS Client Subnet (source prefix > 0) */
};

/* A health check of one replica (zeroed kind: no check, always up). */
enum geo_check_kind { GEO_CHECK_NONE = 0, GEO_CHECK_TCP, GEO_CHECK_HTTP };

struct geo_check {
	enum geo_check_kind kind;
	uint16_t port;           /* TCP port connected to (HTTP: the URL's port, default 80) */
	uint8_t family;          /* 4 or 6: the address checked */
	uint8_t addr[16];        /* address checked (the URL's host, else the replica's) */
	char host[64];           /* HTTP: Host header value (the URL's authority) */
	char path[256];          /* HTTP: request path, "/" when the URL has none */
	uint32_t interval_ms;    /* time between checks */
	uint32_t timeout_ms;     /* a check not done by then failed */
	uint8_t rise;            /* consecutive successes to go up */
	uint8_t fall;            /* consecutive failures to go down */
};

/* One replica address of a datacenter. */
struct geo_replica {
	uint8_t family;          /* 4 or 6 */
	uint8_t addr[16];        /* network byte order (4 bytes used for IPv4) */
	uint32_t weight;         /* relative weight inside its datacenter (>= 1, default 1) */
	struct geo_check check;  /* how it is checked */
	unsigned id;             /* index into the health view (0 .. geo_map_replicas()-1) */
	unsigned dc;             /* index of its datacenter */
};

/* A datacenter. */
struct geo_dc {
	char name[GEO_NAME_TEXT_MAX];
	double lat, lon;               /* degrees */
	const struct geo_replica *rep; /* replicas (n_rep) */
	unsigned n_rep;
};

/* A steered name. */
struct geo_name {
	uint8_t owner[255];      /* canonical wire name */
	size_t owner_len;
	char text[256];          /* presentation form, for logs */
	uint64_t pool;           /* bit i set: datacenter i is in the pool */
	unsigned dcs;            /* datacenters per answer (default 1) */
	unsigned per_dc;         /* addresses per datacenter (default 1) */
	uint32_t ttl;            /* TTL of a healthy answer */
	uint32_t degraded_ttl;   /* TTL while a replica of the pool is down (default min(ttl, 10)) */
	unsigned index;          /* index among the map's names (for metrics) */
};

/* A record of the GeoIP database, as far as steering needs it. */
struct geo_place {
	bool has_coords;
	double lat, lon;         /* location.latitude / location.longitude */
	char country[3];         /* country.iso_code, "" when absent */
	char continent[3];       /* continent.code, "" when absent */
	char city[64];           /* city.names.en, "" when absent (for --explain only) */
	char dc[GEO_NAME_TEXT_MAX]; /* "datacenter" (written by cairn-mapc): that
	                            * datacenter first, "" when absent */
};

/*
 * Where the GeoIP data comes from: an MMDB file (geo_mmdb.h) or, in tests,
 * an in-memory table. The tree is an IPv6 one; IPv4 networks are given at
 * ::ffff:0:0/96 (an adapter of a database that keeps IPv4 at ::/96 maps them).
 */
struct geo_source {
	/*
	 * Call cb for every network of the database that has a record, each
	 * once, with addr (16 bytes, bits beyond len zero) and its prefix length
	 * in the 128-bit tree. Stop and return cb's value when it is not 0.
	 * Returns 0 or a negative error.
	 */
	int (*foreach)(void *ctx,
		int (*cb)(void *cbctx, const uint8_t addr[16], unsigned len,
			const struct geo_place *place),
		void *cbctx);
	/* Look one address up (16 bytes, IPv4 mapped): 1 found, 0 not, <0 error. */
	int (*lookup)(void *ctx, const uint8_t addr[16], struct geo_place *out,
		unsigned *len);
	const char *name;        /* file name or "(memory)", for messages */
	void *ctx;
};

/* Health of every replica of a map, written by the io layer: up[id] != 0 is up. */
struct geo_health_view {
	const volatile uint8_t *up; /* geo_map_replicas() entries */
};

struct geo_map;

/*
 * How a map gets the GeoIP database its "geoip" key names. The core opens no
 * file: the io loader gives this (authoritative/io/authd_geo_load.h), and it
 * decides where a relative name is (next to the map file).
 */
struct geo_opener {
	/* Open the database called geoip (the key's text as written) into out: 0,
	 * or an error with the reason ("PATH: reason") in err. */
	int (*open)(void *ctx, const char *geoip, struct geo_source *out, char *err,
		size_t errlen);
	/* Close what open gave; called when the map is freed (on any thread). */
	void (*close)(struct geo_source *src);
	void *ctx;               /* open's first argument, used during geo_map_load() only */
};

/*
 * Load a map from JSON text (the caller read the file). file names it in
 * messages. When the map names a GeoIP database, opener->open is called to
 * get a struct geo_source (it stays open for the map's life; opener->close is
 * called when the map is freed); a NULL opener with a "geoip" key is an
 * error. The whole tree is built here, every allocation through mm (the map
 * keeps it for geo_map_free()). On error returns DNS_E_CONFIG (or -ENOMEM)
 * with "FILE: reason" in err.
 */
int geo_map_load(const struct dns_mm *mm, const char *json, size_t len, const char *file,
	const struct geo_opener *opener, struct geo_map **out, char *err, size_t errlen);

/* The same, with the GeoIP data given (for tests; src may be NULL). src is not closed. */
int geo_map_load_with(const struct dns_mm *mm, const char *json, size_t len,
	const char *file, const struct geo_source *src, struct geo_map **out, char *err,
	size_t errlen);

/* Free a map (through the allocator it was loaded with); closes its GeoIP source. NULL ok. */
void geo_map_free(struct geo_map *m);

/* Counts and items of a loaded map. */
unsigned geo_map_dcs(const struct geo_map *m);
const struct geo_dc *geo_map_dc(const struct geo_map *m, unsigned i);
unsigned geo_map_replicas(const struct geo_map *m);
const struct geo_replica *geo_map_replica(const struct geo_map *m, unsigned id);
unsigned geo_map_names(const struct geo_map *m);
const struct geo_name *geo_map_name_at(const struct geo_map *m, unsigned i);
/* Size of the placement tree (nodes, leaves), for logs. */
void geo_map_tree_size(const struct geo_map *m, size_t *nodes, size_t *leaves);

/* The steered name with this canonical owner, or NULL. Hot path: one hash probe. */
const struct geo_name *geo_map_find(const struct geo_map *m, const uint8_t *owner,
	size_t owner_len);

/* Who is asking, for selection. */
struct geo_client {
	uint8_t family;          /* 4 or 6 */
	uint8_t addr[16];        /* address (bits beyond prefix zero for ECS) */
	uint8_t prefix;          /* ECS source prefix, or 32/128 for a source address */
	enum geo_client_from from;
};

/* The answer for one steered name and client. */
struct geo_answer {
	uint8_t rdlen;                     /* 4 (A) or 16 (AAAA) */
	unsigned n;                        /* addresses in addr (0: none of that family: NODATA) */
	uint8_t addr[GEO_ANSWER_MAX][16];
	unsigned dc[GEO_ANSWER_MAX];       /* datacenter of each address */
	uint32_t ttl;                      /* ttl or degraded_ttl */
	uint8_t scope;                     /* ECS scope prefix length, in the client's family */
	enum geo_placed_by by;             /* how the client was placed */
	bool degraded;                     /* a replica of the pool (of that family) is down */
	bool fail_open;                    /* every replica was down: nearest ones given anyway */
};

/*
 * Choose the answer of steered name n for client c and query type qtype
 * (A: IPv4 replicas, AAAA: IPv6 replicas): the client's datacenter order from
 * the tree, skipping datacenters outside the pool and those with no replica
 * of that family up; the first n->dcs datacenters give n->per_dc addresses
 * each, drawn by weight without replacement among their replicas that are up.
 * When no replica of that family is up anywhere in the pool, the nearest
 * datacenters answer with all their replicas (fail open). health.up may be
 * NULL (every replica up). No allocation. Returns 0, or -EINVAL for a qtype
 * other than A/AAAA.
 *
 * Bits of an ECS address past its source prefix are taken as zero and the
 * scope is the depth of the leaf reached, which may exceed the source prefix
 * (RFC 7871 7.2.1 allows it; gdnsd does the same). A 6to4 client
 * (2002:a.b.c.d::/48, RFC 3056) is placed as a.b.c.d, its scope counting the
 * 16 bits of 2002::/16.
 */
int geo_select(const struct geo_map *m, const struct geo_name *n, uint16_t qtype,
	const struct geo_client *c, struct geo_health_view health,
	const struct dns_rng *rng, struct geo_answer *out);

/*
 * Write a human-readable explanation of the choice for (n, qtype, c) to buf
 * (NUL-terminated, lines separated by '\n', truncated to cap): where the
 * client was placed and by what (with the operator network or GeoIP record
 * and its prefix), every datacenter of the pool in order with its distance in
 * km and its replicas' health, then the answer with its scope and TTL. The
 * answer is the one geo_select() gives with the same rng state. Returns the
 * length written.
 */
size_t geo_explain(const struct geo_map *m, const struct geo_name *n, uint16_t qtype,
	const struct geo_client *c, struct geo_health_view health,
	const struct dns_rng *rng, char *buf, size_t cap);

/* Great-circle distance in km between two points given in degrees (haversine, R = 6371 km). */
double geo_distance_km(double lat1, double lon1, double lat2, double lon2);

/*
 * Carry the health of replicas from an old map to a new one on reload: a
 * replica of new with the same address and check as one of old gets its
 * state; the others start up. old/old_up may be NULL.
 */
void geo_map_carry_health(const struct geo_map *old, const uint8_t *old_up,
	const struct geo_map *new_map, uint8_t *new_up);

#endif

/*
 * rsv_cache.h -- the resolver's cache: RRsets, negative answers, failures and
 * whole responses, shared by every worker thread, bounded in memory.
 *
 * Glossary:
 *  - RRset: all records of one (owner, type, class), stored as a list of rdata in
 *    uncompressed wire form with one TTL (RFC 2181 5.2: the RRset's TTL is the
 *    smallest of its records'), optionally with the RRSIG rdatas covering it.
 *  - rank: how much a piece of data is trusted, from where it appeared in which
 *    kind of response (RFC 2181 5.4.1). Lower-ranked data never replaces live
 *    higher-ranked data, so glue from a referral cannot overwrite an
 *    authoritative answer.
 *  - negative entry: "this name does not exist" (NXDOMAIN, for the name) or "this
 *    name has no records of this type" (NODATA, for name and type), kept with the
 *    zone's SOA record for the answer, for min(SOA TTL, SOA MINIMUM) (RFC 2308 5).
 *  - failure entry: a (name, type) whose resolution failed, or a server that
 *    failed, remembered for a short, growing time so repeats fail at once instead
 *    of hammering the servers again (RFC 9520).
 *  - message cache: complete responses in wire form keyed by the question, with
 *    the offset of every TTL field, so a repeated query is answered with a copy and
 *    a few patched bytes: no parsing of the response, no allocation. A stored
 *    response is independent of the RRset entries it was built from: replacing
 *    or removing an RRset does not touch it; it lives to its own shortest TTL.
 *  - delegation cache: not a separate store. A zone cut is an NS RRset cached at
 *    the zone's name and the name servers' addresses are A/AAAA RRsets;
 *    rsv_cache_deleg_find() walks up from a name to the deepest cached cut.
 *
 * Design:
 *  - Pure core: the caller passes `now` (milliseconds of a monotonic clock, the
 *    unit of uv_now()) to every call; the hash key (SipHash-1-3, so clients cannot
 *    pick names that collide and turn lookups into list walks) comes in the
 *    options from the caller's random source. No clock reads, no randomness here.
 *  - One table, four kinds of entries: every entry is a byte-string key (kind,
 *    canonical name, type, class[, flags]) in a chained hash table. The table is
 *    split into shards by key hash, each with its own mutex, hash table, LRU list
 *    and share of the memory bound, so threads rarely meet on a lock. Lookups
 *    are O(1) (one hash, one chain walk under one lock).
 *  - Memory: every entry is charged its allocation (key and value) plus a fixed
 *    overhead for bookkeeping and its hash bucket; an insert first evicts from the
 *    least recently used end of its shard until the new entry fits, so the bytes
 *    charged never exceed the bound. Expired entries are dropped when a lookup
 *    meets them and opportunistically from the LRU end on insert.
 *  - RRsets are handed out as reference-counted read-only views (no copy; the
 *    entry can be replaced or evicted while a reader still holds the view, which
 *    then lives until released). Responses are copied out under the shard lock
 *    (they are small and the copy is the answer anyway).
 *  - TTLs: the cache stores the clamped TTL and the insert time; the remaining TTL
 *    is TTL - whole seconds elapsed, so a live entry always shows at least 1.
 *    TTLs with the top bit set count as 0 (RFC 2181 8); data with a TTL of 0 is
 *    not cached (RFC 1035 3.2.1: used for the transaction in progress only).
 *    min-ttl applies to positive data, max-ttl to all, max-negative-ttl to
 *    negative answers (RFC 2308 5 allows a local cap).
 */
#ifndef CAIRN_RSV_CACHE_H
#define CAIRN_RSV_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_mem.h"
#include "dns_writer.h"

/*
 * Trust of cached data, lowest first (RFC 2181 5.4.1, the subset a resolver
 * sees). An insert replaces a live entry only with data of equal or higher rank.
 */
enum rsv_rank {
	RSV_RANK_NONE = 0,        /* unset (never stored) */
	RSV_RANK_ADDITIONAL = 1,  /* additional section (glue included), authority section of a non-authoritative answer (referral NS) */
	RSV_RANK_NONAUTH_ANSWER = 2, /* answer section of a non-authoritative answer */
	RSV_RANK_AUTH_AUTHORITY = 3, /* authority section of an authoritative answer (SOA/NS of the zone) */
	RSV_RANK_AUTH_ANSWER = 4, /* answer section of an authoritative answer; negative answers from one */
};

/* What an RRset-slot entry says. */
enum rsv_rr_kind {
	RSV_RR_POSITIVE = 0, /* the records exist: the view holds them */
	RSV_RR_NODATA = 1,   /* the name exists but has no records of this type; view holds the SOA */
	RSV_RR_NXDOMAIN = 2, /* the name does not exist; view holds the SOA */
};

/*
 * A cached RRset (or the SOA of a negative entry), read-only, reference counted.
 * Data layout: count records then nsigs RRSIGs, each a 2-byte length in host
 * order followed by that many rdata bytes; walk it with rsv_rrset_next().
 */
struct rsv_rrset {
	const uint8_t *owner;  /* canonical (lower-case) owner; the zone for a negative entry's SOA */
	uint16_t type;         /* record type (SOA for a negative entry) */
	uint16_t rclass;       /* class */
	uint32_t ttl;          /* TTL as stored, after the clamps (seconds) */
	uint8_t rank;          /* enum rsv_rank */
	uint8_t kind;          /* enum rsv_rr_kind */
	uint16_t count;        /* number of records */
	uint16_t nsigs;        /* number of RRSIG records after them */
	uint32_t datalen;      /* bytes at data */
	const uint8_t *data;   /* the records, see above */
	/* private */
	atomic_uint refs;             /* references: the cache's and readers' */
	const struct dns_mm *mm;      /* where it was allocated */
};

/* Walking position in an RRset's data. */
struct rsv_rr_iter {
	const uint8_t *p;      /* next item */
	const uint8_t *end;    /* end of the data */
	unsigned index;        /* items returned so far (>= count means an RRSIG) */
};

/* Start walking rr: records first, then RRSIGs. */
void rsv_rrset_iter(const struct rsv_rrset *rr, struct rsv_rr_iter *it);
/* Next rdata into *rd and its length into *rdlen; false at the end. */
bool rsv_rrset_next(struct rsv_rr_iter *it, const uint8_t **rd, uint16_t *rdlen);
/*
 * Append rr's records to w's current section under owner (e.g. the question
 * name as the client wrote it, so the writer compresses it to the question) with
 * TTL ttl (the remaining TTL from the lookup), and its RRSIGs when sigs is set.
 * All or nothing: DNS_E_SPACE leaves w as it was, so the caller can set TC.
 */
int rsv_rrset_write(const struct rsv_rrset *rr, struct dns_writer *w, const uint8_t *owner,
	uint32_t ttl, bool sigs);
/* Drop a reference obtained from a lookup; frees the view when it was the last. */
void rsv_rrset_release(const struct rsv_rrset *rr);

/* An RRset to insert: arrays of rdata (uncompressed wire) and their lengths. */
struct rsv_rrset_in {
	const uint8_t *owner;            /* owner name, any case */
	uint16_t type;                   /* record type */
	uint16_t rclass;                 /* class */
	uint32_t ttl;                    /* smallest TTL of the records (RFC 2181 5.2) */
	enum rsv_rank rank;              /* trust of the data */
	uint16_t count;                  /* records (>= 1) */
	const uint8_t *const *rdata;     /* count rdata pointers */
	const uint16_t *rdlen;           /* count lengths */
	uint16_t nsigs;                  /* covering RRSIGs (0 if none) */
	const uint8_t *const *sig;       /* nsigs RRSIG rdata pointers */
	const uint16_t *siglen;          /* nsigs lengths */
};

/* Cache settings; rsv_cache_opts_default() fills the documented defaults. */
struct rsv_cache_opts {
	size_t max_bytes;       /* memory bound (cache-size), default 64 MiB */
	uint32_t min_ttl;       /* min-ttl: positive TTLs raised to this (s), default 0 */
	uint32_t max_ttl;       /* max-ttl: every TTL lowered to this (s), default 86400 */
	uint32_t max_neg_ttl;   /* max-negative-ttl (s), default 3600 */
	uint32_t fail_min_ms;   /* first hold-down of a failure (RFC 9520 3: at least 1 s), default 1000 */
	uint32_t fail_max_ms;   /* cap of the doubling hold-down, default 10000 */
	bool nxdomain_cut;      /* an NXDOMAIN covers the names below it too (RFC 8020), default true */
	unsigned shards;        /* lock shards, a power of two (1..1024), default 16 */
	uint8_t hash_key[16];   /* SipHash key: fill from the random source; zero in tests */
};

/* Counters, summed over shards by rsv_cache_stats(). */
struct rsv_cache_stats {
	uint64_t hits;          /* RRset/negative lookups answered */
	uint64_t misses;        /* RRset/negative lookups not answered */
	uint64_t msg_hits;      /* rsv_msgcache_answer() answers */
	uint64_t msg_misses;    /* rsv_msgcache_answer() misses */
	uint64_t fail_hits;     /* failure checks that found a live failure */
	uint64_t inserts;       /* entries stored */
	uint64_t rejected;      /* inserts refused by rank */
	uint64_t evictions;     /* live entries evicted by the memory bound */
	uint64_t expired;       /* expired entries removed */
	uint64_t entries;       /* entries now */
	uint64_t bytes;         /* bytes charged now (<= max_bytes) */
	uint64_t max_bytes;     /* the bound */
};

struct rsv_cache;

/* Fill o with the defaults (64M, 0 / 1 day / 1 hour, 1 s..10 s failures, 16 shards). */
void rsv_cache_opts_default(struct rsv_cache_opts *o);
/*
 * Create a cache. mm is used for everything the cache stores and must be
 * thread-safe when several threads use the cache. -EINVAL for bad options
 * (shards not a power of two, bound too small to hold one entry per shard).
 */
int rsv_cache_new(const struct dns_mm *mm, const struct rsv_cache_opts *opts,
	struct rsv_cache **out);
/* Free the cache. Views still held by readers stay valid until released. */
void rsv_cache_free(struct rsv_cache *c);
/* Drop every entry (counters are kept). Views held by readers stay valid. */
void rsv_cache_flush(struct rsv_cache *c);
/* Sum the counters of every shard into *st. */
void rsv_cache_stats(struct rsv_cache *c, struct rsv_cache_stats *st);

/*
 * Store an RRset. TTL clamped (min-ttl, max-ttl); TTL 0 stores nothing and
 * returns 0. A live entry of higher rank for the same (owner, type, class) is
 * kept and DNS_E_EXISTS returned (RFC 2181 5.4.1); this includes a negative
 * entry. DNS_E_SPACE if the entry alone exceeds the shard's share of the bound,
 * -ENOMEM, -EINVAL for a malformed input.
 */
int rsv_cache_insert_rrset(struct rsv_cache *c, const struct rsv_rrset_in *in, uint64_t now);

/*
 * Store a negative answer for qname (NXDOMAIN when nxdomain, for every type;
 * else NODATA for qtype) with the zone's SOA (owner soa_owner, rdata soa_rdata
 * uncompressed, TTL soa_ttl). Lifetime min(soa_ttl, SOA MINIMUM) capped by
 * max-negative-ttl (RFC 2308 5); 0 stores nothing. Rank rules as for RRsets
 * (a NODATA shares the (name, type) slot with the positive RRset).
 */
int rsv_cache_insert_negative(struct rsv_cache *c, const uint8_t *qname, uint16_t qtype,
	uint16_t rclass, bool nxdomain, const uint8_t *soa_owner, uint32_t soa_ttl,
	const uint8_t *soa_rdata, uint16_t soa_rdlen, enum rsv_rank rank, uint64_t now);

/*
 * Look up (name, type, class): a live positive or NODATA entry for it, else a
 * live NXDOMAIN for the name, else (when opts.nxdomain_cut) a live NXDOMAIN for
 * an ancestor, since nothing exists below a name that does not exist (RFC 8020 2;
 * the view is then the ancestor's, with its SOA). On success *out holds a reference (release it with
 * rsv_rrset_release()), (*out)->kind says which, and *ttl (may be NULL) the
 * remaining TTL in seconds (>= 1). DNS_E_NOTFOUND on a miss.
 */
int rsv_cache_lookup(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass, uint64_t now, const struct rsv_rrset **out, uint32_t *ttl);

/*
 * Drop the RRset-slot entry of (name, type, class) (positive or NODATA; type 0
 * for the name's NXDOMAIN), e.g. a delegation found lame. DNS_E_NOTFOUND if none.
 */
int rsv_cache_remove(struct rsv_cache *c, const uint8_t *name, uint16_t type, uint16_t rclass);

/*
 * Deepest cached zone cut at or above name: the live NS RRset of the nearest
 * ancestor-or-self that has one (its owner is the zone). Same reference rules as
 * rsv_cache_lookup(); DNS_E_NOTFOUND if none, not even the root.
 */
int rsv_cache_deleg_find(struct rsv_cache *c, const uint8_t *name, uint16_t rclass,
	uint64_t now, const struct rsv_rrset **ns, uint32_t *ttl);

/*
 * Failure cache (RFC 9520). Mark (name, type, class) as failed: held down
 * fail_min_ms the first time, doubling on each repeat while remembered, up to
 * fail_max_ms. The count is forgotten fail_max_ms after the hold-down ends
 * without a new failure. *until (may be NULL) gets the end of the hold-down.
 */
int rsv_cache_fail_mark(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass, uint64_t now, uint64_t *until);
/* 0 if (name, type, class) is held down as failed at now, else DNS_E_NOTFOUND. */
int rsv_cache_fail_check(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass, uint64_t now);
/* Forget a failure of (name, type, class) (say, after a success). */
void rsv_cache_fail_clear(struct rsv_cache *c, const uint8_t *name, uint16_t type,
	uint16_t rclass);
/*
 * The same for a server, identified by opaque address bytes (e.g. family,
 * address and port) of at most 32 bytes; -EINVAL if longer.
 */
int rsv_cache_server_fail_mark(struct rsv_cache *c, const void *addr, size_t len,
	uint64_t now, uint64_t *until);
int rsv_cache_server_fail_check(struct rsv_cache *c, const void *addr, size_t len,
	uint64_t now);

/* Key bits of a message-cache entry: answers differ with these. */
#define RSV_MSG_EDNS 0x01  /* the query had OPT, so the answer carries one (RFC 6891 7) */
#define RSV_MSG_DO 0x02    /* DNSSEC OK set: answer includes RRSIGs (RFC 3225) */
#define RSV_MSG_CD 0x04    /* checking disabled (RFC 4035 3.2.2) */

/*
 * Store a complete response to a client, as sent (name compression allowed).
 * The key comes from the response itself: its question, the presence of OPT, the
 * DO bit of the OPT (copied from the query, RFC 3225 3) and the CD bit (copied
 * from the query, RFC 4035 3.1.6). Cached only for opcode QUERY, one question,
 * no TC, RCODE NOERROR or NXDOMAIN. Record TTLs are clamped in the stored copy;
 * a SOA in the authority section (a negative answer) gets min(TTL, MINIMUM)
 * capped by max-negative-ttl (RFC 2308 3, 5); a negative answer without a SOA
 * is not cached (RFC 2308 5). The entry lives as long as its shortest TTL.
 * Returns 0 (also when nothing was cached: TTL 0 or not cacheable),
 * DNS_E_FORMAT for a malformed message, DNS_E_SPACE, -ENOMEM.
 */
int rsv_msgcache_insert(struct rsv_cache *c, const uint8_t *resp, size_t len, uint64_t now);

/*
 * The cache-hit fast path: answer the raw client query[0..len) from the message
 * cache into out[0..cap). On a hit the stored response is copied, given the
 * query's ID and RD bit and the client's question name bytes (its 0x20 case),
 * and every TTL lowered by the whole seconds elapsed since it was stored; no
 * parsing of the response and no allocation. The answer must fit the client's
 * limit: cap, and for UDP (tcp false) the EDNS payload size of the query (512
 * without OPT, RFC 1035 4.2.1, RFC 6891 6.2.5). *outlen gets the length.
 * Returns 0 on a hit, DNS_E_NOTFOUND on a miss (including "too big for UDP":
 * the slow path builds a truncated answer), DNS_E_FORMAT when the query does not
 * parse cleanly as a standard QUERY (the slow path answers it).
 */
int rsv_msgcache_answer(struct rsv_cache *c, const uint8_t *query, size_t len, bool tcp,
	uint64_t now, uint8_t *out, size_t cap, size_t *outlen);

#endif

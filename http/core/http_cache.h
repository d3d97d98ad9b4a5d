/*
 * http_cache.h -- the RFC 9111 shared cache of cairn-edge, as a pure state
 * machine: it stores responses, says whether a stored one may answer a
 * request now, builds revalidation requests and merges their 304s; the libuv
 * shell does all I/O and passes `now` in (seconds since the epoch).
 *
 * Rules, with their sources:
 *   - storable (RFC 9111 3): GET (the shell fetches HEAD misses as GET), a
 *     final status we understand (not 206: partial content is not combined),
 *     no no-store in the request or response (5.2.1.5, 5.2.2.5), no private
 *     (5.2.2.7: shared cache), Authorization only with public, s-maxage or
 *     must-revalidate (3.5), not Vary: * (4.1), and explicit freshness or a
 *     heuristically cacheable status (RFC 9110 15.1) or public;
 *   - freshness lifetime (4.2.1): s-maxage, else max-age, else Expires - Date
 *     (an invalid Expires means already stale), else heuristically 10% of
 *     Date - Last-Modified (4.2.2) capped at cfg.heuristic_max;
 *   - age (4.2.3): apparent_age = max(0, response_time - date_value),
 *     corrected_age_value = age_value + (response_time - request_time),
 *     corrected_initial_age = max of both, current_age = that + now -
 *     response_time;
 *   - reuse (4.2, 4.3): fresh responses answer; no-cache in the response, or
 *     no-cache / max-age / min-fresh in the request (Pragma: no-cache when the
 *     request has no Cache-Control, 5.4) force a revalidation; stale ones are
 *     revalidated, or served at once within stale-while-revalidate and served
 *     on origin errors within stale-if-error (RFC 5861), unless
 *     must-revalidate, proxy-revalidate, s-maxage or no-cache forbid serving
 *     stale at all (4.2.4);
 *   - Vary (4.1): the stored request's values of the named fields, normalised
 *     (field lines joined, spaces around commas dropped, runs of spaces
 *     folded) form a secondary key; an absent field only matches absent; of
 *     several matching variants the newest answers; a new variant replaces
 *     the ones the same request would have selected;
 *   - revalidation (4.3.1): If-None-Match from the stored ETag,
 *     If-Modified-Since from the stored Last-Modified; a 304 (4.3.4) whose
 *     strong ETag differs from the stored one does not update it (the entry is
 *     dropped), else its fields replace the stored ones of the same names
 *     (except Content-Length and hop-by-hop fields, 3.2) and the times are
 *     reset;
 *   - invalidation (4.4): the shell calls http_cache_invalidate() after a
 *     non-error response to an unsafe method; PURGE uses the same call;
 *   - memory: entries are counted by their bytes (key, fields, body and a
 *     fixed overhead) and the least recently used are evicted to stay within
 *     cfg.max_bytes; an object above cfg.max_object is not stored. An entry
 *     still referenced by a response being sent when it is evicted or purged
 *     leaves the index and the count at once and is freed at its last unref.
 *
 * Stored fields: everything the origin sent except hop-by-hop fields
 * (Connection and the fields it names, Keep-Alive, Proxy-*, TE, Trailer,
 * Transfer-Encoding, Upgrade: RFC 9110 7.6.1), Age (recomputed on every
 * answer) and Content-Length (the body's length is known).
 *
 * Glossary: "key" = the primary cache key, origin host plus target; "variant"
 * = one stored response for a key, told apart by Vary; "validator" = ETag or
 * Last-Modified.
 *
 * Pure: no clock, no I/O; memory through the struct dns_mm given at init.
 */
#ifndef CAIRN_HTTP_CACHE_H
#define CAIRN_HTTP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_mem.h"
#include "http_parse.h"

/* Cache-Control directives (RFC 9111 5.2); numbers are -1 when absent. */
struct http_cc {
	bool no_store;          /* 5.2.1.5 / 5.2.2.5 */
	bool no_cache;          /* 5.2.1.4 / 5.2.2.4 (qualified forms taken as unqualified) */
	bool is_private;        /* 5.2.2.7 (qualified form taken as unqualified) */
	bool is_public;         /* 5.2.2.9 */
	bool must_revalidate;   /* 5.2.2.2 */
	bool proxy_revalidate;  /* 5.2.2.8 */
	bool only_if_cached;    /* 5.2.1.7 */
	bool max_stale_any;     /* max-stale without a value (5.2.1.2) */
	int64_t max_age;        /* 5.2.1.1 / 5.2.2.1 */
	int64_t s_maxage;       /* 5.2.2.10 */
	int64_t max_stale;      /* 5.2.1.2 */
	int64_t min_fresh;      /* 5.2.1.3 */
	int64_t swr;            /* stale-while-revalidate, RFC 5861 3 */
	int64_t sie;            /* stale-if-error, RFC 5861 4 */
};

/* Reset cc to "no directives". */
void http_cc_init(struct http_cc *cc);
/*
 * Add the directives of one Cache-Control field value. Unknown directives are
 * ignored; of a repeated directive the first value counts (4.2.1); a
 * delta-seconds that does not parse makes max-age/s-maxage 0 (stale), values
 * beyond 2^31 are taken as 2^31 (1.2.2).
 */
void http_cc_parse(struct http_cc *cc, const char *value, size_t len);
/* The directives of every Cache-Control field in hdrs. */
void http_cc_from_headers(struct http_cc *cc, const struct http_header *hdrs, unsigned n);

/* First field named name (case-insensitive) in hdrs, or NULL. */
const struct http_header *http_headers_find(const struct http_header *hdrs, unsigned n,
	const char *name);
/*
 * Is the field name hop-by-hop for a message whose fields are hdrs (RFC 9110
 * 7.6.1): one of the fixed list or named in its Connection field?
 */
bool http_header_is_hop(const struct http_header *hdrs, unsigned n, const char *name, size_t len);

/* The limits of a cache. */
struct http_cache_config {
	uint64_t max_bytes;     /* memory for all entries (LRU beyond) */
	uint64_t max_object;    /* largest entry stored; 0 means max_bytes / 8 */
	int64_t heuristic_max;  /* cap of a heuristic lifetime, s; 0 means 86400 */
};

/* What a lookup found (enum http_cache_verdict). */
enum http_cache_verdict {
	HTTP_CACHE_MISS = 0,    /* nothing usable stored: fetch */
	HTTP_CACHE_FRESH,       /* a fresh response: answer with it (HIT) */
	HTTP_CACHE_STALE_SWR,   /* stale within stale-while-revalidate: answer, revalidate in background */
	HTTP_CACHE_STALE,       /* stale or no-cache: revalidate before answering */
};

/* The name of a verdict, for logs. */
const char *http_cache_verdict_name(enum http_cache_verdict v);

struct http_cache_vary;

/* A stored response. Public fields are read-only to the shell. */
struct http_cache_entry {
	const char *key;                    /* primary key */
	unsigned status;                    /* status code */
	const struct http_header *headers;  /* stored fields (see the file comment) */
	unsigned n_headers;                 /* their number */
	const uint8_t *body;                /* the body (NULL when empty) */
	size_t body_len;                    /* its length */
	int64_t request_time;               /* when the request that got it was sent */
	int64_t response_time;              /* when the response was received */
	int64_t date_value;                 /* its Date, or response_time without one */
	int64_t age_value;                  /* its Age, 0 without one */
	int64_t lifetime;                   /* freshness lifetime, s */
	struct http_cc cc;                  /* its Cache-Control */
	const char *etag;                   /* ETag value (in headers), NULL if none */
	const char *last_modified;          /* Last-Modified value (in headers), NULL if none */
	/* private */
	struct http_cache_entry *hnext;     /* hash chain */
	struct http_cache_entry *lru_prev;  /* towards most recently used */
	struct http_cache_entry *lru_next;  /* towards least recently used */
	struct http_cache_vary *vary;       /* secondary key (NULL without Vary) */
	void *meta;                         /* the block holding headers and vary */
	size_t meta_size;                   /* its size */
	size_t size;                        /* bytes counted for the entry */
	uint32_t hash;                      /* of key */
	unsigned refs;                      /* the index's reference plus the shell's */
	bool linked;                        /* in the index and the LRU */
};

/* A cache. */
struct http_cache {
	struct http_cache_config cfg;       /* limits (defaults applied) */
	const struct dns_mm *mm;            /* allocator */
	struct http_cache_entry **buckets;  /* hash table */
	size_t nbuckets;                    /* power of two */
	struct http_cache_entry *lru_head;  /* most recently used */
	struct http_cache_entry *lru_tail;  /* least recently used */
	uint64_t bytes;                     /* counted bytes of indexed entries */
	uint64_t entries;                   /* indexed entries */
	uint64_t evictions;                 /* entries evicted for room */
};

/* Set up an empty cache. Returns 0 or -ENOMEM. */
int http_cache_init(struct http_cache *c, const struct http_cache_config *cfg, const struct dns_mm *mm);
/* Free every entry (all must have been unreferenced by the shell). */
void http_cache_deinit(struct http_cache *c);

/*
 * May this response to req be stored (see the file comment)? When not, *why
 * (if not NULL) says why, for logs.
 */
bool http_cache_storable(const struct http_request *req, unsigned status,
	const struct http_header *hdrs, unsigned n, const char **why);

/*
 * Find a stored response for key that req may use at time now. Returns the
 * verdict; unless MISS, *out is the entry with a reference the caller drops
 * with http_cache_entry_unref(). A hit makes the entry most recently used.
 */
enum http_cache_verdict http_cache_lookup(struct http_cache *c, const char *key,
	const struct http_request *req, int64_t now, struct http_cache_entry **out);

/*
 * Store a response to req under key (replacing the variants req selects).
 * request_time/response_time are when the request was sent and the response
 * head received. Returns 0 (with a referenced entry in *out if out is not
 * NULL), DNS_E_UNSUPPORTED when not storable, DNS_E_SPACE when larger than
 * max_object, -ENOMEM.
 */
int http_cache_store(struct http_cache *c, const char *key, const struct http_request *req,
	unsigned status, const struct http_header *hdrs, unsigned n, const uint8_t *body,
	size_t body_len, int64_t request_time, int64_t response_time, struct http_cache_entry **out);

/*
 * The conditional fields to revalidate e (4.3.1): If-None-Match with its ETag
 * and/or If-Modified-Since with its Last-Modified, written into out (room for
 * 2; values point into e). Returns how many (0: e has no validator; fetch it
 * unconditionally).
 */
unsigned http_cache_conditional(const struct http_cache_entry *e, struct http_header out[2]);

/*
 * A 304 answered the revalidation of e (4.3.4): merge its fields and reset
 * the times. Returns 0, DNS_E_NOTFOUND when its ETag names another
 * representation (e is then removed from the index; fetch again without
 * conditions), -ENOMEM.
 */
int http_cache_refresh(struct http_cache *c, struct http_cache_entry *e,
	const struct http_header *hdrs, unsigned n, int64_t request_time, int64_t response_time);

/* The current age of e at now (4.2.3), seconds. */
int64_t http_cache_age(const struct http_cache_entry *e, int64_t now);
/* Is e fresh at now? */
bool http_cache_fresh(const struct http_cache_entry *e, int64_t now);
/* May stale e be served at now because the origin failed (stale-if-error)? */
bool http_cache_stale_if_error(const struct http_cache_entry *e, int64_t now);

/* Remove every variant stored under key (4.4, PURGE). Returns how many. */
unsigned http_cache_invalidate(struct http_cache *c, const char *key);

/* Take a reference to e. */
void http_cache_entry_ref(struct http_cache_entry *e);
/* Drop a reference; an entry no longer indexed is freed at its last one. */
void http_cache_entry_unref(struct http_cache *c, struct http_cache_entry *e);

#endif

/*
 * http_cache_impl.h -- what the pieces of the cache share: the field readers
 * (http_cache_fields.c), an entry's stored fields, Vary key and freshness
 * (http_cache_entry.c), and the store, its rules and its index (http_cache.c).
 * Private to them.
 */
#ifndef CAIRN_HTTP_CACHE_IMPL_H
#define CAIRN_HTTP_CACHE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_cache.h"

/* Optional white space (RFC 9110 5.6.3). */
static inline bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* delta-seconds (RFC 9111 1.2.2): digits only, capped at 2^31; DNS_E_SYNTAX when malformed. */
int64_t http_cache_delta_parse(const char *s, size_t len);
/* Does the comma-separated list value (NUL-terminated) name the token tok/len? */
bool http_cache_list_has(const char *value, const char *tok, size_t len);

/* One field of the secondary key: a field name and the request's normalised value. */
struct vary_field {
	const char *name;
	const char *value; /* NULL: the request had no such field */
};

struct http_cache_vary {
	unsigned n;
	struct vary_field f[];
};


/* A field to store: pointers into the caller's data. */
struct field_ref {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* http_cache_entry.c: an entry's stored fields, Vary key and freshness */

/*
 * Build the meta block of an entry: its header array and strings, and the
 * Vary secondary key from req (when vary_req is true; else the old vary is
 * kept by the caller). Sets e->headers, n_headers, etag, last_modified, meta,
 * meta_size and (with vary_req) e->vary.
 */
int http_cache_meta_build(const struct dns_mm *mm, struct http_cache_entry *e, const struct field_ref *f,
	unsigned nf, const struct http_request *req, bool vary_req);
/* Does req select e by its Vary secondary key (4.1)? */
bool http_cache_vary_match(const struct http_cache *c, const struct http_cache_entry *e,
	const struct http_request *req);
/* RFC 9110 15.1: statuses cacheable by default (heuristically). */
bool http_cache_heuristic_status(unsigned s);
/* Set the derived times and the freshness lifetime of e from its fields (4.2.1, 4.2.2). */
void http_cache_derive(const struct http_cache *c, struct http_cache_entry *e, const struct http_header *age_src,
	unsigned n_age_src);
/* Fields of the origin's message worth storing. */
unsigned http_cache_select_fields(const struct http_header *hdrs, unsigned n, struct field_ref *out);

#endif

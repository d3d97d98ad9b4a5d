/* http_cache.c -- RFC 9111 shared cache state machine (see http_cache.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_err.h"
#include "dns_hash.h"
#include "http_cache.h"
#include "http_cache_impl.h"
#include "http_cond.h"
#include "http_date.h"

/* Bytes counted per entry besides its data: the struct and allocator overhead. */
#define ENTRY_OVERHEAD 256

/* ---- storage helpers -------------------------------------------------- */

static uint32_t hash_key(const char *key)
{
	return dns_fnv32(DNS_FNV32_INIT, key, strlen(key));
}

/* ---- index and LRU ---------------------------------------------------- */

static void lru_unlink(struct http_cache *c, struct http_cache_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push(struct http_cache *c, struct http_cache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (!c->lru_tail)
		c->lru_tail = e;
}

static void entry_free(struct http_cache *c, struct http_cache_entry *e)
{
	mm_free(c->mm, e->meta);
	mm_free(c->mm, (void *)e->body);
	mm_free(c->mm, e);
}

void http_cache_entry_ref(struct http_cache_entry *e)
{
	e->refs++;
}

void http_cache_entry_unref(struct http_cache *c, struct http_cache_entry *e)
{
	if (e && --e->refs == 0)
		entry_free(c, e);
}

/* Take e out of the index and the count; freed when the last reference goes. */
static void entry_remove(struct http_cache *c, struct http_cache_entry *e)
{
	struct http_cache_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	e->hnext = NULL;
	lru_unlink(c, e);
	e->linked = false;
	c->bytes -= e->size;
	c->entries--;
	http_cache_entry_unref(c, e);
}

static void grow(struct http_cache *c)
{
	size_t nb = c->nbuckets * 2;
	struct http_cache_entry **b = mm_calloc(c->mm, nb, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct http_cache_entry *e = c->buckets[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	mm_free(c->mm, c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
}

int http_cache_init(struct http_cache *c, const struct http_cache_config *cfg, const struct dns_mm *mm)
{
	memset(c, 0, sizeof(*c));
	c->mm = mm ? mm : dns_mm_std();
	c->cfg = *cfg;
	if (!c->cfg.max_object)
		c->cfg.max_object = c->cfg.max_bytes / 8;
	if (!c->cfg.heuristic_max)
		c->cfg.heuristic_max = 86400;
	c->nbuckets = 64;
	c->buckets = mm_calloc(c->mm, c->nbuckets, sizeof(*c->buckets));
	return c->buckets ? 0 : -ENOMEM;
}

void http_cache_deinit(struct http_cache *c)
{
	while (c->lru_head)
		entry_remove(c, c->lru_head);
	mm_free(c->mm, c->buckets);
	c->buckets = NULL;
}

/* ---- the rules -------------------------------------------------------- */

const char *http_cache_verdict_name(enum http_cache_verdict v)
{
	switch (v) {
	case HTTP_CACHE_MISS: return "miss";
	case HTTP_CACHE_FRESH: return "fresh";
	case HTTP_CACHE_STALE_SWR: return "stale-while-revalidate";
	case HTTP_CACHE_STALE: return "stale";
	}
	return "?";
}

bool http_cache_storable(const struct http_request *req, unsigned status,
	const struct http_header *hdrs, unsigned n, const char **why)
{
	struct http_cc rcc, cc;
	const char *dummy;
	bool explicit_fresh;
	if (!why)
		why = &dummy;
	*why = NULL;
	if (req && req->method != HTTP_METHOD_GET && req->method != HTTP_METHOD_HEAD) {
		*why = "method";
		return false;
	}
	switch (status) {
	case 200: case 203: case 204: case 300: case 301: case 302: case 307: case 308:
	case 404: case 405: case 410: case 414: case 501:
		break;
	default:
		*why = "status";
		return false;
	}
	http_cc_from_headers(&rcc, req ? req->headers : NULL, req ? req->n_headers : 0);
	http_cc_from_headers(&cc, hdrs, n);
	if (rcc.no_store || cc.no_store) {
		*why = "no-store";
		return false;
	}
	if (cc.is_private) {
		*why = "private";
		return false;
	}
	if (req && http_headers_find(req->headers, req->n_headers, "authorization") &&
		!cc.is_public && cc.s_maxage < 0 && !cc.must_revalidate) {
		*why = "authorization";
		return false;
	}
	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(hdrs[i].name, "vary") == 0 && http_cache_list_has(hdrs[i].value, "*", 1)) {
			*why = "vary *";
			return false;
		}
	explicit_fresh = cc.max_age >= 0 || cc.s_maxage >= 0 || cc.is_public ||
		http_headers_find(hdrs, n, "expires");
	if (!explicit_fresh && !http_cache_heuristic_status(status)) {
		*why = "no freshness";
		return false;
	}
	return true;
}

int64_t http_cache_age(const struct http_cache_entry *e, int64_t now)
{
	int64_t apparent = e->response_time - e->date_value;
	int64_t corrected = e->age_value + (e->response_time - e->request_time);
	int64_t initial;
	if (apparent < 0)
		apparent = 0;
	initial = apparent > corrected ? apparent : corrected;
	if (now > e->response_time)
		initial += now - e->response_time;
	return initial;
}

bool http_cache_fresh(const struct http_cache_entry *e, int64_t now)
{
	return e->lifetime > http_cache_age(e, now);
}

/* May e be served stale at all (4.2.4)? */
static bool stale_allowed(const struct http_cache_entry *e)
{
	return !e->cc.must_revalidate && !e->cc.proxy_revalidate && e->cc.s_maxage < 0 &&
		!e->cc.no_cache;
}

bool http_cache_stale_if_error(const struct http_cache_entry *e, int64_t now)
{
	int64_t staleness = http_cache_age(e, now) - e->lifetime;
	return stale_allowed(e) && e->cc.sie >= 0 && staleness <= e->cc.sie;
}

enum http_cache_verdict http_cache_lookup(struct http_cache *c, const char *key,
	const struct http_request *req, int64_t now, struct http_cache_entry **out)
{
	uint32_t h = hash_key(key);
	struct http_cache_entry *best = NULL;
	struct http_cc rcc;
	int64_t age;

	*out = NULL;
	for (struct http_cache_entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext) {
		if (e->hash != h || strcmp(e->key, key) != 0 || !http_cache_vary_match(c, e, req))
			continue;
		/* 4.1: of several, the most recent. */
		if (!best || e->date_value > best->date_value ||
			(e->date_value == best->date_value && e->response_time > best->response_time))
			best = e;
	}
	if (!best)
		return HTTP_CACHE_MISS;
	lru_unlink(c, best);
	lru_push(c, best);
	http_cache_entry_ref(best);
	*out = best;

	http_cc_from_headers(&rcc, req ? req->headers : NULL, req ? req->n_headers : 0);
	age = http_cache_age(best, now);
	if (rcc.no_cache || best->cc.no_cache)
		return HTTP_CACHE_STALE;
	if (req && !http_headers_find(req->headers, req->n_headers, "cache-control")) {
		const struct http_header *pr = http_headers_find(req->headers, req->n_headers, "pragma");
		if (pr && http_cache_list_has(pr->value, "no-cache", 8))
			return HTTP_CACHE_STALE; /* 5.4 */
	}
	if (rcc.max_age >= 0 && age > rcc.max_age)
		return HTTP_CACHE_STALE;
	if (rcc.min_fresh >= 0 && best->lifetime - age < rcc.min_fresh)
		return HTTP_CACHE_STALE;
	if (best->lifetime > age)
		return HTTP_CACHE_FRESH;
	if (stale_allowed(best) && best->cc.swr >= 0 && age - best->lifetime <= best->cc.swr)
		return HTTP_CACHE_STALE_SWR;
	return HTTP_CACHE_STALE;
}

/* Make room for size bytes by evicting the least recently used entries. */
static void make_room(struct http_cache *c, size_t size)
{
	while (c->lru_tail && c->bytes + size > c->cfg.max_bytes) {
		entry_remove(c, c->lru_tail);
		c->evictions++;
	}
}

int http_cache_store(struct http_cache *c, const char *key, const struct http_request *req,
	unsigned status, const struct http_header *hdrs, unsigned n, const uint8_t *body,
	size_t body_len, int64_t request_time, int64_t response_time, struct http_cache_entry **out)
{
	struct http_cache_entry *e;
	struct field_ref *f;
	size_t klen = strlen(key);
	unsigned nf;
	int r;

	if (out)
		*out = NULL;
	if (!http_cache_storable(req, status, hdrs, n, NULL))
		return DNS_E_UNSUPPORTED;
	if (body_len + klen + ENTRY_OVERHEAD > c->cfg.max_object)
		return DNS_E_SPACE;
	f = mm_alloc(c->mm, (n ? n : 1) * sizeof(*f));
	e = mm_calloc(c->mm, 1, sizeof(*e) + klen + 1);
	if (!f || !e) {
		mm_free(c->mm, f);
		mm_free(c->mm, e);
		return -ENOMEM;
	}
	memcpy((char *)(e + 1), key, klen + 1);
	e->key = (const char *)(e + 1);
	e->status = status;
	e->request_time = request_time;
	e->response_time = response_time;
	nf = http_cache_select_fields(hdrs, n, f);
	r = http_cache_meta_build(c->mm, e, f, nf, req, true);
	mm_free(c->mm, f);
	if (r < 0) {
		mm_free(c->mm, e);
		return r;
	}
	if (body_len) {
		uint8_t *b = mm_alloc(c->mm, body_len);
		if (!b) {
			entry_free(c, e);
			return -ENOMEM;
		}
		memcpy(b, body, body_len);
		e->body = b;
		e->body_len = body_len;
	}
	http_cache_derive(c, e, hdrs, n);
	e->size = sizeof(*e) + klen + 1 + e->meta_size + body_len + ENTRY_OVERHEAD;
	if (e->size > c->cfg.max_object || e->size > c->cfg.max_bytes) {
		entry_free(c, e);
		return DNS_E_SPACE;
	}
	e->hash = hash_key(key);
	/* The variants this request would have selected are superseded. */
	struct http_cache_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	for (struct http_cache_entry *o = *pp, *next; o; o = next) {
		next = o->hnext;
		if (o->hash == e->hash && strcmp(o->key, key) == 0 && http_cache_vary_match(c, o, req))
			entry_remove(c, o);
	}
	make_room(c, e->size);
	if (c->entries >= c->nbuckets * 2)
		grow(c);
	pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	e->hnext = *pp;
	*pp = e;
	lru_push(c, e);
	e->linked = true;
	e->refs = 1;
	c->bytes += e->size;
	c->entries++;
	if (out) {
		http_cache_entry_ref(e);
		*out = e;
	}
	return 0;
}

unsigned http_cache_conditional(const struct http_cache_entry *e, struct http_header out[2])
{
	unsigned n = 0;
	if (e->etag)
		out[n++] = (struct http_header){"If-None-Match", 13, e->etag, strlen(e->etag)};
	if (e->last_modified)
		out[n++] = (struct http_header){"If-Modified-Since", 17, e->last_modified,
			strlen(e->last_modified)};
	return n;
}

/*
 * The fields of e refreshed by the 304's hdrs (4.3.4), into f (room for
 * e->n_headers + n): stored fields not named in the 304 stay, the 304's
 * replace the rest (3.2). Returns their number.
 */
static unsigned merge_fields(const struct http_cache_entry *e, const struct http_header *hdrs,
	unsigned n, struct field_ref *f)
{
	unsigned nf = 0;
	for (unsigned i = 0; i < e->n_headers; i++) {
		const struct http_header *h = &e->headers[i];
		bool replaced = false;
		for (unsigned k = 0; k < n && !replaced; k++)
			replaced = strcasecmp(hdrs[k].name, h->name) == 0 &&
				!http_header_is_hop(hdrs, n, hdrs[k].name, hdrs[k].name_len) &&
				strcasecmp(h->name, "content-length") != 0;
		if (!replaced)
			f[nf++] = (struct field_ref){h->name, h->name_len, h->value, h->value_len};
	}
	for (unsigned k = 0; k < n; k++) {
		const struct http_header *h = &hdrs[k];
		if (http_header_is_hop(hdrs, n, h->name, h->name_len) || strcasecmp(h->name, "age") == 0 ||
			strcasecmp(h->name, "content-length") == 0)
			continue;
		f[nf++] = (struct field_ref){h->name, h->name_len, h->value, h->value_len};
	}
	return nf;
}

/*
 * e got a new meta block without a secondary key: append old_vary (from the
 * old block old_meta of old_size bytes, still allocated) to a copy of it.
 * Returns 0, or -ENOMEM (e is then dropped from the index).
 */
static int vary_rebase(struct http_cache *c, struct http_cache_entry *e, void *old_meta,
	size_t old_size, const struct http_cache_vary *old_vary)
{
	size_t voff = (size_t)((const char *)old_vary - (char *)old_meta);
	size_t vlen = old_size - voff;
	void *nb = mm_alloc(c->mm, e->meta_size + vlen + 8);
	if (!nb) {
		/* Without its secondary key the entry could answer the wrong
		 * requests: keep the new fields for its holders, drop it from the index. */
		mm_free(c->mm, old_meta);
		e->vary = NULL;
		if (e->linked)
			entry_remove(c, e);
		return -ENOMEM;
	}
	/* Rebase: copy the new meta, then the old vary after it (8-aligned), fix pointers. */
	size_t base = (e->meta_size + 7) & ~(size_t)7;
	memcpy(nb, e->meta, e->meta_size);
	memcpy((char *)nb + base, old_vary, vlen);
	ptrdiff_t dh = (char *)nb - (char *)e->meta;
	struct http_header *hh = nb;
	for (unsigned i = 0; i < e->n_headers; i++) {
		hh[i].name += dh;
		hh[i].value += dh;
	}
	if (e->etag)
		e->etag += dh;
	if (e->last_modified)
		e->last_modified += dh;
	struct http_cache_vary *v = (struct http_cache_vary *)((char *)nb + base);
	ptrdiff_t dv = (char *)v - (const char *)old_vary;
	for (unsigned i = 0; i < v->n; i++) {
		v->f[i].name += dv;
		if (v->f[i].value)
			v->f[i].value += dv;
	}
	mm_free(c->mm, e->meta);
	e->headers = hh;
	e->meta = nb;
	e->meta_size = base + vlen;
	e->vary = v;
	return 0;
}

/* e's fields changed size: count it anew, make it most recently used, evict for room. */
static void entry_resize(struct http_cache *c, struct http_cache_entry *e)
{
	size_t size = sizeof(*e) + strlen(e->key) + 1 + e->meta_size + e->body_len + ENTRY_OVERHEAD;
	if (!e->linked) {
		e->size = size;
		return;
	}
	c->bytes = c->bytes - e->size + size;
	e->size = size;
	lru_unlink(c, e);
	lru_push(c, e);
	/* Bigger fields may push the total over: evict others, never e itself. */
	while (c->bytes > c->cfg.max_bytes && c->lru_tail && c->lru_tail != e) {
		entry_remove(c, c->lru_tail);
		c->evictions++;
	}
}

int http_cache_refresh(struct http_cache *c, struct http_cache_entry *e,
	const struct http_header *hdrs, unsigned n, int64_t request_time, int64_t response_time)
{
	const struct http_header *etag = http_headers_find(hdrs, n, "etag");
	struct field_ref *f;
	unsigned nf;
	void *old_meta = e->meta;
	size_t old_size = e->meta_size;
	struct http_cache_vary *old_vary = e->vary;
	int r;

	/*
	 * 4.3.4: a 304 with a strong validator updates the stored responses with
	 * the same one; one naming another representation updates nothing.
	 */
	if (etag && (!e->etag || !http_etag_list_match(etag->value, e->etag, true))) {
		if (e->linked)
			entry_remove(c, e);
		return DNS_E_NOTFOUND;
	}
	f = mm_alloc(c->mm, (e->n_headers + n + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	nf = merge_fields(e, hdrs, n, f);
	r = http_cache_meta_build(c->mm, e, f, nf, NULL, false);
	mm_free(c->mm, f);
	if (r < 0)
		return r; /* meta_build changes nothing when it fails */
	/* The secondary key was built for the original request: keep it. */
	if (old_vary) {
		if ((r = vary_rebase(c, e, old_meta, old_size, old_vary)) < 0)
			return r;
	} else {
		e->vary = NULL;
	}
	mm_free(c->mm, old_meta);
	e->request_time = request_time;
	e->response_time = response_time;
	http_cache_derive(c, e, hdrs, n);
	entry_resize(c, e);
	return 0;
}

unsigned http_cache_invalidate(struct http_cache *c, const char *key)
{
	uint32_t h = hash_key(key);
	unsigned n = 0;
	for (struct http_cache_entry *e = c->buckets[h & (c->nbuckets - 1)], *next; e; e = next) {
		next = e->hnext;
		if (e->hash == h && strcmp(e->key, key) == 0) {
			entry_remove(c, e);
			n++;
		}
	}
	return n;
}

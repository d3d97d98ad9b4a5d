/*
 * Unit tests of http_cache: the RFC 9111 shared-cache rules with a fake clock
 * (T0 and offsets from it), requests and responses built from field lists, no
 * sockets. Every allocation goes through the checked allocator (tmm).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dns_err.h"
#include "http_cache.h"
#include "http_date.h"
#include "test_mm.h"
#include "test_msg.h"

#define T0 1700000000LL

/* An IMF-fixdate for T0 + off, in a rotating set of static buffers. */
static const char *date_at(int64_t off)
{
	static char bufs[8][HTTP_DATE_LEN];
	static unsigned i;
	char *b = bufs[i++ % 8];
	http_date_format(T0 + off, b, HTTP_DATE_LEN);
	return b;
}

static struct http_cache cache;

static int setup(void **state)
{
	struct http_cache_config cfg = {.max_bytes = 1 << 20, .max_object = 0, .heuristic_max = 0};
	(void)state;
	return http_cache_init(&cache, &cfg, &tmm);
}

static int teardown(void **state)
{
	(void)state;
	http_cache_deinit(&cache);
	return 0;
}

/* Store a 200 for key with response fields kv, fetched at T0 + t. Returns the status of store. */
static int store_at(const char *key, const struct http_request *r, const char *const *kv, int64_t t,
	const char *body)
{
	struct fields f;
	fields_set(&f, kv);
	return http_cache_store(&cache, key, r, 200, f.h, f.n, (const uint8_t *)body,
		body ? strlen(body) : 0, T0 + t, T0 + t, NULL);
}

/* The verdict for a plain GET of key at T0 + t (the reference is dropped). */
static enum http_cache_verdict verdict_req(const char *key, const struct http_request *r, int64_t t)
{
	struct http_cache_entry *e;
	enum http_cache_verdict v = http_cache_lookup(&cache, key, r, T0 + t, &e);
	if (e)
		http_cache_entry_unref(&cache, e);
	return v;
}

static enum http_cache_verdict verdict(const char *key, int64_t t)
{
	struct req q;
	return verdict_req(key, req_make(&q, HTTP_METHOD_GET, NULL), t);
}

static int64_t lifetime_of(const char *key)
{
	struct req q;
	struct http_cache_entry *e;
	int64_t l;
	http_cache_lookup(&cache, key, req_make(&q, HTTP_METHOD_GET, NULL), T0, &e);
	assert_non_null(e);
	l = e->lifetime;
	http_cache_entry_unref(&cache, e);
	return l;
}

/* ---- Cache-Control parsing --------------------------------------------- */

static void cc_parse(void **state)
{
	struct http_cc cc;
	(void)state;
	http_cc_init(&cc);
	const char *v = "public, max-age=60 , s-maxage=\"30\", no-cache=\"Set-Cookie\", "
		"stale-while-revalidate=5,stale-if-error=100, private, x-ext=\"a,b\", must-revalidate";
	http_cc_parse(&cc, v, strlen(v));
	assert_true(cc.is_public);
	assert_true(cc.is_private);
	assert_true(cc.no_cache);
	assert_true(cc.must_revalidate);
	assert_false(cc.no_store);
	assert_int_equal(cc.max_age, 60);
	assert_int_equal(cc.s_maxage, 30);
	assert_int_equal(cc.swr, 5);
	assert_int_equal(cc.sie, 100);
	/* The first occurrence counts; garbage max-age means stale; huge values are capped. */
	http_cc_init(&cc);
	v = "max-age=10, max-age=20";
	http_cc_parse(&cc, v, strlen(v));
	assert_int_equal(cc.max_age, 10);
	http_cc_init(&cc);
	v = "max-age=ten";
	http_cc_parse(&cc, v, strlen(v));
	assert_int_equal(cc.max_age, 0);
	http_cc_init(&cc);
	v = "MAX-AGE=99999999999999999999, NO-STORE";
	http_cc_parse(&cc, v, strlen(v));
	assert_int_equal(cc.max_age, 2147483648LL);
	assert_true(cc.no_store);
	http_cc_init(&cc);
	v = "max-stale, min-fresh=3";
	http_cc_parse(&cc, v, strlen(v));
	assert_true(cc.max_stale_any);
	assert_int_equal(cc.min_fresh, 3);
	assert_int_equal(cc.max_age, -1);
}

static void hop_by_hop(void **state)
{
	struct fields f;
	(void)state;
	fields_set(&f, (const char *const[]){"Connection", "close, X-Secret", "X-Secret", "1",
		"Content-Type", "text/plain", NULL});
	assert_true(http_header_is_hop(f.h, f.n, "Connection", 10));
	assert_true(http_header_is_hop(f.h, f.n, "keep-alive", 10));
	assert_true(http_header_is_hop(f.h, f.n, "Transfer-Encoding", 17));
	assert_true(http_header_is_hop(f.h, f.n, "TE", 2));
	assert_true(http_header_is_hop(f.h, f.n, "Trailer", 7));
	assert_true(http_header_is_hop(f.h, f.n, "Upgrade", 7));
	assert_true(http_header_is_hop(f.h, f.n, "Proxy-Authenticate", 18));
	assert_true(http_header_is_hop(f.h, f.n, "x-secret", 8));
	assert_false(http_header_is_hop(f.h, f.n, "Content-Type", 12));
	assert_false(http_header_is_hop(f.h, f.n, "X-Secre", 7));
}

/* ---- freshness --------------------------------------------------------- */

static void freshness_precedence(void **state)
{
	struct req q;
	struct http_request *r = req_make(&q, HTTP_METHOD_GET, NULL);
	(void)state;
	/* s-maxage beats max-age beats Expires. */
	assert_int_equal(store_at("a", r, (const char *const[]){"Date", date_at(0), "Cache-Control",
		"max-age=100, s-maxage=10", "Expires", date_at(1000), NULL}, 0, "a"), 0);
	assert_int_equal(lifetime_of("a"), 10);
	assert_int_equal(store_at("b", r, (const char *const[]){"Date", date_at(0), "Cache-Control",
		"max-age=100", "Expires", date_at(1000), NULL}, 0, "b"), 0);
	assert_int_equal(lifetime_of("b"), 100);
	/* Expires - Date, whatever our clock. */
	assert_int_equal(store_at("c", r, (const char *const[]){"Date", date_at(-50), "Expires",
		date_at(250), NULL}, 0, "c"), 0);
	assert_int_equal(lifetime_of("c"), 300);
	/* An Expires that does not parse: already stale. */
	assert_int_equal(store_at("d", r, (const char *const[]){"Date", date_at(0), "Expires", "0",
		"Last-Modified", date_at(-10000), NULL}, 0, "d"), 0);
	assert_int_equal(lifetime_of("d"), 0);
	assert_int_equal(verdict("d", 0), HTTP_CACHE_STALE);
	/* Fresh until the lifetime is used up, then stale. */
	assert_int_equal(verdict("b", 99), HTTP_CACHE_FRESH);
	assert_int_equal(verdict("b", 100), HTTP_CACHE_STALE);
	assert_int_equal(verdict("a", 9), HTTP_CACHE_FRESH);
	assert_int_equal(verdict("a", 10), HTTP_CACHE_STALE);
	assert_int_equal(verdict("nothing", 0), HTTP_CACHE_MISS);
}

static void freshness_heuristic(void **state)
{
	struct req q;
	struct http_request *r = req_make(&q, HTTP_METHOD_GET, NULL);
	struct fields f;
	(void)state;
	/* 10% of Date - Last-Modified. */
	assert_int_equal(store_at("h", r, (const char *const[]){"Date", date_at(0), "Last-Modified",
		date_at(-5000), NULL}, 0, "h"), 0);
	assert_int_equal(lifetime_of("h"), 500);
	/* Capped at a day by default. */
	assert_int_equal(store_at("h2", r, (const char *const[]){"Date", date_at(0), "Last-Modified",
		date_at(-100 * 86400), NULL}, 0, "h"), 0);
	assert_int_equal(lifetime_of("h2"), 86400);
	/* Without Last-Modified: stored, stale at once (revalidated). */
	assert_int_equal(store_at("h3", r, (const char *const[]){"Date", date_at(0), "ETag", "\"e\"", NULL}, 0, "h"), 0);
	assert_int_equal(lifetime_of("h3"), 0);
	/* A status that is not heuristically cacheable needs explicit freshness. */
	fields_set(&f, (const char *const[]){"Date", date_at(0), "Last-Modified", date_at(-5000), NULL});
	assert_int_equal(http_cache_store(&cache, "h4", r, 302, f.h, f.n, NULL, 0, T0, T0, NULL),
		DNS_E_UNSUPPORTED);
	fields_set(&f, (const char *const[]){"Cache-Control", "max-age=5", "Location", "/y", NULL});
	assert_int_equal(http_cache_store(&cache, "h4", r, 302, f.h, f.n, NULL, 0, T0, T0, NULL), 0);
	/* Not storable at all: 206, 500, 304. */
	fields_set(&f, (const char *const[]){"Cache-Control", "max-age=5", NULL});
	assert_int_equal(http_cache_store(&cache, "p", r, 206, f.h, f.n, NULL, 0, T0, T0, NULL), DNS_E_UNSUPPORTED);
	assert_int_equal(http_cache_store(&cache, "p", r, 500, f.h, f.n, NULL, 0, T0, T0, NULL), DNS_E_UNSUPPORTED);
	assert_int_equal(http_cache_store(&cache, "p", r, 304, f.h, f.n, NULL, 0, T0, T0, NULL), DNS_E_UNSUPPORTED);
	/* The heuristic cap is configurable. */
	struct http_cache small;
	struct http_cache_config cfg = {.max_bytes = 1 << 16, .heuristic_max = 60};
	assert_int_equal(http_cache_init(&small, &cfg, &tmm), 0);
	fields_set(&f, (const char *const[]){"Date", date_at(0), "Last-Modified", date_at(-5000), NULL});
	struct http_cache_entry *e;
	assert_int_equal(http_cache_store(&small, "k", r, 200, f.h, f.n, NULL, 0, T0, T0, &e), 0);
	assert_int_equal(e->lifetime, 60);
	http_cache_entry_unref(&small, e);
	http_cache_deinit(&small);
}

static void age_calculation(void **state)
{
	struct req q;
	struct http_request *r = req_make(&q, HTTP_METHOD_GET, NULL);
	struct fields f;
	struct http_cache_entry *e;
	(void)state;
	/* Age 30 from upstream, 2 s of request delay, 10 s resident: 42. */
	fields_set(&f, (const char *const[]){"Date", date_at(0), "Age", "30",
		"Cache-Control", "max-age=100", NULL});
	assert_int_equal(http_cache_store(&cache, "k", r, 200, f.h, f.n, (const uint8_t *)"x", 1,
		T0, T0 + 2, &e), 0);
	assert_int_equal(http_cache_age(e, T0 + 12), 42);
	assert_true(http_cache_fresh(e, T0 + 12));
	assert_false(http_cache_fresh(e, T0 + 70));
	/* Age is not stored as a field (it is recomputed on every answer), nor Content-Length. */
	for (unsigned i = 0; i < e->n_headers; i++) {
		assert_string_not_equal(e->headers[i].name, "Age");
		assert_string_not_equal(e->headers[i].name, "Content-Length");
	}
	http_cache_entry_unref(&cache, e);
	/* A Date in the future of the response time (apparent age < 0) counts as 0;
	 * a Date far in the past makes the apparent age win. */
	fields_set(&f, (const char *const[]){"Date", date_at(-500), "Cache-Control", "max-age=1000", NULL});
	assert_int_equal(http_cache_store(&cache, "k2", r, 200, f.h, f.n, NULL, 0, T0, T0, &e), 0);
	assert_int_equal(http_cache_age(e, T0), 500);
	http_cache_entry_unref(&cache, e);
	fields_set(&f, (const char *const[]){"Date", date_at(500), "Cache-Control", "max-age=1000", NULL});
	assert_int_equal(http_cache_store(&cache, "k3", r, 200, f.h, f.n, NULL, 0, T0, T0, &e), 0);
	assert_int_equal(http_cache_age(e, T0 + 7), 7);
	http_cache_entry_unref(&cache, e);
	/* No Date: the response time stands in. */
	fields_set(&f, (const char *const[]){"Cache-Control", "max-age=1000", NULL});
	assert_int_equal(http_cache_store(&cache, "k4", r, 200, f.h, f.n, NULL, 0, T0, T0, &e), 0);
	assert_int_equal(e->date_value, T0);
	assert_int_equal(http_cache_age(e, T0 + 3), 3);
	http_cache_entry_unref(&cache, e);
}

/* ---- what is stored ---------------------------------------------------- */

static void not_stored(void **state)
{
	struct req q, qa;
	struct http_request *r = req_make(&q, HTTP_METHOD_GET, NULL);
	const char *why;
	struct fields f;
	(void)state;
	assert_int_equal(store_at("ns", r, (const char *const[]){"Cache-Control", "no-store, max-age=60", NULL}, 0, "x"),
		DNS_E_UNSUPPORTED);
	assert_int_equal(verdict("ns", 0), HTTP_CACHE_MISS);
	assert_int_equal(store_at("pr", r, (const char *const[]){"Cache-Control", "private, max-age=60", NULL}, 0, "x"),
		DNS_E_UNSUPPORTED);
	assert_int_equal(verdict("pr", 0), HTTP_CACHE_MISS);
	/* no-store in the request. */
	struct http_request *rn = req_make(&qa, HTTP_METHOD_GET, (const char *const[]){"Cache-Control", "no-store", NULL});
	assert_int_equal(store_at("rq", rn, (const char *const[]){"Cache-Control", "max-age=60", NULL}, 0, "x"),
		DNS_E_UNSUPPORTED);
	/* Authorization: only with public, s-maxage or must-revalidate (3.5). */
	struct http_request *ra = req_make(&qa, HTTP_METHOD_GET, (const char *const[]){"Authorization", "Basic eDp5", NULL});
	fields_set(&f, (const char *const[]){"Cache-Control", "max-age=60", NULL});
	assert_false(http_cache_storable(ra, 200, f.h, f.n, &why));
	assert_string_equal(why, "authorization");
	fields_set(&f, (const char *const[]){"Cache-Control", "public, max-age=60", NULL});
	assert_true(http_cache_storable(ra, 200, f.h, f.n, NULL));
	fields_set(&f, (const char *const[]){"Cache-Control", "s-maxage=60", NULL});
	assert_true(http_cache_storable(ra, 200, f.h, f.n, NULL));
	fields_set(&f, (const char *const[]){"Cache-Control", "must-revalidate, max-age=60", NULL});
	assert_true(http_cache_storable(ra, 200, f.h, f.n, NULL));
	/* Unsafe methods are not stored. */
	struct http_request rp = *r;
	rp.method = HTTP_METHOD_POST;
	fields_set(&f, (const char *const[]){"Cache-Control", "max-age=60", NULL});
	assert_false(http_cache_storable(&rp, 200, f.h, f.n, &why));
	assert_string_equal(why, "method");
	/* Vary: * is never stored (it never matches, 4.1). */
	fields_set(&f, (const char *const[]){"Cache-Control", "max-age=60", "Vary", "Accept, *", NULL});
	assert_false(http_cache_storable(r, 200, f.h, f.n, &why));
	assert_string_equal(why, "vary *");
	assert_int_equal(cache.entries, 0);
}

static void no_cache_revalidates(void **state)
{
	struct req q, qn;
	struct http_request *r = req_make(&q, HTTP_METHOD_GET, NULL);
	(void)state;
	/* Response no-cache: stored, but every use is revalidated, even when fresh. */
	assert_int_equal(store_at("nc", r, (const char *const[]){"Cache-Control", "no-cache, max-age=600",
		"ETag", "\"v1\"", NULL}, 0, "x"), 0);
	assert_int_equal(verdict("nc", 1), HTTP_CACHE_STALE);
	/* Request no-cache, Pragma: no-cache (without Cache-Control), max-age, min-fresh. */
	assert_int_equal(store_at("f", r, (const char *const[]){"Cache-Control", "max-age=600", NULL}, 0, "x"), 0);
	assert_int_equal(verdict("f", 100), HTTP_CACHE_FRESH);
	assert_int_equal(verdict_req("f", req_make(&qn, HTTP_METHOD_GET, (const char *const[]){"Cache-Control", "no-cache", NULL}), 100),
		HTTP_CACHE_STALE);
	assert_int_equal(verdict_req("f", req_make(&qn, HTTP_METHOD_GET, (const char *const[]){"Pragma", "no-cache", NULL}), 100),
		HTTP_CACHE_STALE);
	assert_int_equal(verdict_req("f", req_make(&qn, HTTP_METHOD_GET, (const char *const[]){"Pragma", "no-cache",
		"Cache-Control", "max-stale", NULL}), 100), HTTP_CACHE_FRESH);
	assert_int_equal(verdict_req("f", req_make(&qn, HTTP_METHOD_GET, (const char *const[]){"Cache-Control", "max-age=50", NULL}), 100),
		HTTP_CACHE_STALE);
	assert_int_equal(verdict_req("f", req_make(&qn, HTTP_METHOD_GET, (const char *const[]){"Cache-Control", "max-age=150", NULL}), 100),
		HTTP_CACHE_FRESH);
	assert_int_equal(verdict_req("f", req_make(&qn, HTTP_METHOD_GET, (const char *const[]){"Cache-Control", "min-fresh=501", NULL}), 100),
		HTTP_CACHE_STALE);
	/* HEAD uses what GET stored. */
	assert_int_equal(verdict_req("f", req_make(&qn, HTTP_METHOD_HEAD, NULL), 100), HTTP_CACHE_FRESH);
}

/* ---- Vary -------------------------------------------------------------- */

static void vary(void **state)
{
	struct req q1, q2, q3;
	struct http_request *gz = req_make(&q1, HTTP_METHOD_GET, (const char *const[]){"Accept-Encoding", "gzip,  deflate", NULL});
	struct http_request *id = req_make(&q2, HTTP_METHOD_GET, (const char *const[]){"Accept-Encoding", "identity", NULL});
	struct http_request *none = req_make(&q3, HTTP_METHOD_GET, NULL);
	struct http_cache_entry *e;
	(void)state;
	assert_int_equal(store_at("v", gz, (const char *const[]){"Cache-Control", "max-age=60",
		"Vary", "Accept-Encoding", NULL}, 0, "gz-body"), 0);
	/* Same value, written differently: matches (normalised). */
	struct req qs;
	struct http_request *gz2 = req_make(&qs, HTTP_METHOD_GET, (const char *const[]){"accept-encoding", "gzip , deflate", NULL});
	assert_int_equal(http_cache_lookup(&cache, "v", gz2, T0 + 1, &e), HTTP_CACHE_FRESH);
	assert_memory_equal(e->body, "gz-body", 7);
	http_cache_entry_unref(&cache, e);
	/* Two field lines joined are the same as one. */
	struct http_request *gz3 = req_make(&qs, HTTP_METHOD_GET, (const char *const[]){"Accept-Encoding", "gzip",
		"Accept-Encoding", "deflate", NULL});
	assert_int_equal(verdict_req("v", gz3, 1), HTTP_CACHE_FRESH);
	/* Another value, or no field at all: miss. */
	assert_int_equal(verdict_req("v", id, 1), HTTP_CACHE_MISS);
	assert_int_equal(verdict_req("v", none, 1), HTTP_CACHE_MISS);
	/* A second variant lives beside the first. */
	assert_int_equal(store_at("v", id, (const char *const[]){"Cache-Control", "max-age=60",
		"Vary", "Accept-Encoding", NULL}, 0, "id-body"), 0);
	assert_int_equal(store_at("v", none, (const char *const[]){"Cache-Control", "max-age=60",
		"Vary", "Accept-Encoding", NULL}, 0, "none-body"), 0);
	assert_int_equal(cache.entries, 3);
	assert_int_equal(http_cache_lookup(&cache, "v", id, T0 + 1, &e), HTTP_CACHE_FRESH);
	assert_memory_equal(e->body, "id-body", 7);
	http_cache_entry_unref(&cache, e);
	assert_int_equal(http_cache_lookup(&cache, "v", none, T0 + 1, &e), HTTP_CACHE_FRESH);
	assert_memory_equal(e->body, "none-body", 9);
	http_cache_entry_unref(&cache, e);
	assert_int_equal(http_cache_lookup(&cache, "v", gz, T0 + 1, &e), HTTP_CACHE_FRESH);
	assert_memory_equal(e->body, "gz-body", 7);
	http_cache_entry_unref(&cache, e);
	/* Storing the same variant again replaces it, not adds. */
	assert_int_equal(store_at("v", gz2, (const char *const[]){"Cache-Control", "max-age=60",
		"Vary", "Accept-Encoding", NULL}, 5, "gz-new"), 0);
	assert_int_equal(cache.entries, 3);
	assert_int_equal(http_cache_lookup(&cache, "v", gz, T0 + 6, &e), HTTP_CACHE_FRESH);
	assert_memory_equal(e->body, "gz-new", 6);
	http_cache_entry_unref(&cache, e);
	/* Long field names and values (beyond the comparison's stack buffer) still match. */
	static char longname[300], longval[3000];
	memset(longname, 'n', sizeof(longname) - 1);
	memset(longval, 'v', sizeof(longval) - 1);
	struct req ql, qm;
	struct http_request *lr = req_make(&ql, HTTP_METHOD_GET, (const char *const[]){longname, longval, NULL});
	assert_int_equal(store_at("long", lr, (const char *const[]){"Cache-Control", "max-age=60",
		"Vary", longname, NULL}, 0, "long"), 0);
	assert_int_equal(verdict_req("long", lr, 1), HTTP_CACHE_FRESH);
	longval[5] = 'w';
	struct http_request *lm = req_make(&qm, HTTP_METHOD_GET, (const char *const[]){longname, longval, NULL});
	assert_int_equal(verdict_req("long", lm, 1), HTTP_CACHE_MISS);
	assert_int_equal(http_cache_invalidate(&cache, "long"), 1);
	/* PURGE-style invalidation removes every variant. */
	assert_int_equal(http_cache_invalidate(&cache, "v"), 3);
	assert_int_equal(cache.entries, 0);
	assert_int_equal(cache.bytes, 0);
	assert_int_equal(http_cache_invalidate(&cache, "v"), 0);
	assert_int_equal(verdict_req("v", gz, 1), HTTP_CACHE_MISS);
}

/* ---- revalidation ------------------------------------------------------ */

static void conditional_and_refresh(void **state)
{
	struct req q;
	struct http_request *r = req_make(&q, HTTP_METHOD_GET, NULL);
	struct http_header cond[2];
	struct http_cache_entry *e;
	struct fields f;
	(void)state;
	const char *lm = date_at(-3600);
	assert_int_equal(store_at("r", r, (const char *const[]){"Date", date_at(0), "Cache-Control", "max-age=10",
		"ETag", "\"v1\"", "Last-Modified", lm, "Content-Type", "text/plain", "X-Old", "1",
		"Content-Length", "4", "Connection", "X-Hop", "X-Hop", "h", NULL}, 0, "body"), 0);
	assert_int_equal(http_cache_lookup(&cache, "r", r, T0 + 20, &e), HTTP_CACHE_STALE);
	assert_null(http_headers_find(e->headers, e->n_headers, "X-Hop"));
	assert_null(http_headers_find(e->headers, e->n_headers, "Connection"));
	assert_int_equal(http_cache_conditional(e, cond), 2);
	assert_string_equal(cond[0].name, "If-None-Match");
	assert_string_equal(cond[0].value, "\"v1\"");
	assert_string_equal(cond[1].name, "If-Modified-Since");
	assert_string_equal(cond[1].value, lm);
	/* A 304 with new freshness and a new field: merged, times reset. */
	fields_set(&f, (const char *const[]){"Date", date_at(20), "Cache-Control", "max-age=100",
		"ETag", "\"v1\"", "X-New", "2", "Content-Length", "0", "Connection", "close", NULL});
	assert_int_equal(http_cache_refresh(&cache, e, f.h, f.n, T0 + 20, T0 + 20), 0);
	assert_int_equal(e->lifetime, 100);
	assert_true(http_cache_fresh(e, T0 + 50));
	assert_string_equal(http_headers_find(e->headers, e->n_headers, "X-New")->value, "2");
	assert_string_equal(http_headers_find(e->headers, e->n_headers, "X-Old")->value, "1");
	assert_string_equal(http_headers_find(e->headers, e->n_headers, "Content-Type")->value, "text/plain");
	assert_string_equal(http_headers_find(e->headers, e->n_headers, "Cache-Control")->value, "max-age=100");
	assert_null(http_headers_find(e->headers, e->n_headers, "Content-Length"));
	assert_null(http_headers_find(e->headers, e->n_headers, "Connection"));
	assert_memory_equal(e->body, "body", 4);
	assert_string_equal(e->etag, "\"v1\"");
	assert_string_equal(e->last_modified, lm);
	http_cache_entry_unref(&cache, e);
	assert_int_equal(verdict("r", 110), HTTP_CACHE_FRESH);
	assert_int_equal(verdict("r", 121), HTTP_CACHE_STALE);
	/* A 304 naming another representation updates nothing and drops the entry. */
	assert_int_equal(http_cache_lookup(&cache, "r", r, T0 + 130, &e), HTTP_CACHE_STALE);
	fields_set(&f, (const char *const[]){"ETag", "\"v2\"", NULL});
	assert_int_equal(http_cache_refresh(&cache, e, f.h, f.n, T0 + 130, T0 + 130), DNS_E_NOTFOUND);
	http_cache_entry_unref(&cache, e);
	assert_int_equal(verdict("r", 130), HTTP_CACHE_MISS);
	/* No validators: nothing to make conditional. */
	assert_int_equal(store_at("nv", r, (const char *const[]){"Cache-Control", "max-age=1", NULL}, 0, "b"), 0);
	assert_int_equal(http_cache_lookup(&cache, "nv", r, T0 + 5, &e), HTTP_CACHE_STALE);
	assert_int_equal(http_cache_conditional(e, cond), 0);
	http_cache_entry_unref(&cache, e);
}

static void refresh_keeps_vary(void **state)
{
	struct req q1, q2;
	struct http_request *gz = req_make(&q1, HTTP_METHOD_GET, (const char *const[]){"Accept-Encoding", "gzip", NULL});
	struct http_request *br = req_make(&q2, HTTP_METHOD_GET, (const char *const[]){"Accept-Encoding", "br", NULL});
	struct http_cache_entry *e;
	struct fields f;
	(void)state;
	assert_int_equal(store_at("rv", gz, (const char *const[]){"Cache-Control", "max-age=1", "ETag", "\"g\"",
		"Vary", "Accept-Encoding", NULL}, 0, "g"), 0);
	assert_int_equal(http_cache_lookup(&cache, "rv", gz, T0 + 5, &e), HTTP_CACHE_STALE);
	fields_set(&f, (const char *const[]){"Cache-Control", "max-age=60", "X-A", "a", NULL});
	assert_int_equal(http_cache_refresh(&cache, e, f.h, f.n, T0 + 5, T0 + 5), 0);
	http_cache_entry_unref(&cache, e);
	assert_int_equal(verdict_req("rv", gz, 6), HTTP_CACHE_FRESH);
	assert_int_equal(verdict_req("rv", br, 6), HTTP_CACHE_MISS);
}

static void stale_windows(void **state)
{
	struct req q;
	struct http_request *r = req_make(&q, HTTP_METHOD_GET, NULL);
	struct http_cache_entry *e;
	(void)state;
	/* stale-while-revalidate=10: served (and revalidated in background) up to 10 s stale. */
	assert_int_equal(store_at("w", r, (const char *const[]){"Date", date_at(0), "Cache-Control",
		"max-age=5, stale-while-revalidate=10, stale-if-error=30", NULL}, 0, "x"), 0);
	assert_int_equal(verdict("w", 4), HTTP_CACHE_FRESH);
	assert_int_equal(verdict("w", 5), HTTP_CACHE_STALE_SWR);
	assert_int_equal(verdict("w", 15), HTTP_CACHE_STALE_SWR);
	assert_int_equal(verdict("w", 16), HTTP_CACHE_STALE);
	/* stale-if-error=30: usable on an origin error up to 30 s stale. */
	assert_int_equal(http_cache_lookup(&cache, "w", r, T0 + 20, &e), HTTP_CACHE_STALE);
	assert_true(http_cache_stale_if_error(e, T0 + 20));
	assert_true(http_cache_stale_if_error(e, T0 + 35));
	assert_false(http_cache_stale_if_error(e, T0 + 36));
	http_cache_entry_unref(&cache, e);
	/* must-revalidate (and s-maxage, proxy-revalidate) forbid serving stale at all (4.2.4). */
	const char *forbid[] = {"max-age=5, must-revalidate, stale-while-revalidate=10, stale-if-error=30",
		"s-maxage=5, stale-while-revalidate=10, stale-if-error=30",
		"max-age=5, proxy-revalidate, stale-while-revalidate=10, stale-if-error=30", NULL};
	for (unsigned i = 0; forbid[i]; i++) {
		assert_int_equal(store_at("m", r, (const char *const[]){"Date", date_at(0), "Cache-Control",
			forbid[i], NULL}, 0, "x"), 0);
		assert_int_equal(http_cache_lookup(&cache, "m", r, T0 + 6, &e), HTTP_CACHE_STALE);
		assert_false(http_cache_stale_if_error(e, T0 + 6));
		http_cache_entry_unref(&cache, e);
	}
	/* Without stale-if-error: never served on errors. */
	assert_int_equal(store_at("n", r, (const char *const[]){"Date", date_at(0), "Cache-Control", "max-age=5", NULL}, 0, "x"), 0);
	assert_int_equal(http_cache_lookup(&cache, "n", r, T0 + 6, &e), HTTP_CACHE_STALE);
	assert_false(http_cache_stale_if_error(e, T0 + 6));
	http_cache_entry_unref(&cache, e);
}

/* ---- memory ------------------------------------------------------------ */

static void lru_eviction(void **state)
{
	struct http_cache c;
	struct http_cache_config cfg = {.max_bytes = 16384, .max_object = 8192};
	struct req q;
	struct http_request *r = req_make(&q, HTTP_METHOD_GET, NULL);
	struct fields f;
	static uint8_t body[4096];
	char key[16];
	struct http_cache_entry *held;
	(void)state;
	assert_int_equal(http_cache_init(&c, &cfg, &tmm), 0);
	fields_set(&f, (const char *const[]){"Cache-Control", "max-age=60", NULL});
	/* Too big for one object. */
	assert_int_equal(http_cache_store(&c, "big", r, 200, f.h, f.n, body, 9000, T0, T0, NULL), DNS_E_SPACE);
	/* Three 4 KB objects fit, a fourth evicts the least recently used. */
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(http_cache_store(&c, key, r, 200, f.h, f.n, body, sizeof(body), T0, T0, NULL), 0);
	}
	assert_int_equal(c.entries, 3);
	/* Use k0, then k1 (kept referenced, as by a response being sent): k2 is now the oldest. */
	assert_int_equal(http_cache_lookup(&c, "k0", r, T0, &held), HTTP_CACHE_FRESH);
	http_cache_entry_unref(&c, held);
	assert_int_equal(http_cache_lookup(&c, "k1", r, T0, &held), HTTP_CACHE_FRESH);
	assert_int_equal(http_cache_store(&c, "k3", r, 200, f.h, f.n, body, sizeof(body), T0, T0, NULL), 0);
	assert_int_equal(c.entries, 3);
	assert_true(c.bytes <= cfg.max_bytes);
	assert_int_equal(c.evictions, 1);
	struct http_cache_entry *e;
	assert_int_equal(http_cache_lookup(&c, "k2", r, T0, &e), HTTP_CACHE_MISS);
	assert_int_equal(http_cache_lookup(&c, "k0", r, T0, &e), HTTP_CACHE_FRESH);
	http_cache_entry_unref(&c, e);
	/* Fill far beyond the limit: bytes stay bounded. */
	for (int i = 10; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(http_cache_store(&c, key, r, 200, f.h, f.n, body, sizeof(body), T0, T0, NULL), 0);
		assert_true(c.bytes <= cfg.max_bytes);
	}
	assert_false(held->linked);
	assert_int_equal(held->body_len, sizeof(body));
	http_cache_entry_unref(&c, held);
	assert_int_equal(http_cache_lookup(&c, "k99", r, T0, &e), HTTP_CACHE_FRESH);
	http_cache_entry_unref(&c, e);
	assert_int_equal(http_cache_lookup(&c, "k10", r, T0, &e), HTTP_CACHE_MISS);
	http_cache_deinit(&c);
}

static void many_keys(void **state)
{
	struct req q;
	struct http_request *r = req_make(&q, HTTP_METHOD_GET, NULL);
	struct fields f;
	char key[32];
	(void)state;
	fields_set(&f, (const char *const[]){"Cache-Control", "max-age=60", NULL});
	/* Enough keys to grow the table several times; all still found. */
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "host\n/obj/%d", i);
		assert_int_equal(http_cache_store(&cache, key, r, 200, f.h, f.n, NULL, 0, T0, T0, NULL), 0);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "host\n/obj/%d", i);
		assert_int_equal(verdict(key, 1), HTTP_CACHE_FRESH);
	}
	assert_int_equal(http_cache_invalidate(&cache, "host\n/obj/500"), 1);
	assert_int_equal(verdict("host\n/obj/500", 1), HTTP_CACHE_MISS);
	assert_int_equal(cache.entries, 999);
}

/*
 * cmocka checks for leaks after each of setup, test and teardown, so the
 * shared cache lives within one call.
 */
#define WITH_CACHE(fn) \
	static void fn##_run(void **state) \
	{ \
		assert_int_equal(setup(state), 0); \
		fn(state); \
		teardown(state); \
	}
WITH_CACHE(freshness_precedence)
WITH_CACHE(freshness_heuristic)
WITH_CACHE(age_calculation)
WITH_CACHE(not_stored)
WITH_CACHE(no_cache_revalidates)
WITH_CACHE(vary)
WITH_CACHE(conditional_and_refresh)
WITH_CACHE(refresh_keeps_vary)
WITH_CACHE(stale_windows)
WITH_CACHE(many_keys)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cc_parse),
		cmocka_unit_test(hop_by_hop),
		cmocka_unit_test(freshness_precedence_run),
		cmocka_unit_test(freshness_heuristic_run),
		cmocka_unit_test(age_calculation_run),
		cmocka_unit_test(not_stored_run),
		cmocka_unit_test(no_cache_revalidates_run),
		cmocka_unit_test(vary_run),
		cmocka_unit_test(conditional_and_refresh_run),
		cmocka_unit_test(refresh_keeps_vary_run),
		cmocka_unit_test(stale_windows_run),
		cmocka_unit_test(lru_eviction),
		cmocka_unit_test(many_keys_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

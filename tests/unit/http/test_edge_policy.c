/*
 * Unit tests of http_edge_policy: cairn-edge's decisions after a cache
 * lookup, on an origin's response head, at the end of a fetch and for each
 * collapsed client, with a fake clock (T0 and offsets from it). Stale entries
 * come from a real http_cache on the checked allocator (tmm).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns_err.h"
#include "http_edge_policy.h"
#include "test_mm.h"
#include "test_msg.h"

#define T0 1700000000LL

/* A GET of /x with request fields kv. */
static const struct http_request *get(struct req *q, const char *const *kv)
{
	return req_make(q, HTTP_METHOD_GET, kv);
}

/* A response head with status and fields kv. */
struct resp {
	struct fields f;
	struct http_response r;
};

static const struct http_response *resp_make(struct resp *p, unsigned status, bool chunked,
	const char *const *kv)
{
	memset(p, 0, sizeof(*p));
	fields_set(&p->f, kv);
	p->r.status = status;
	p->r.version_major = 1;
	p->r.version_minor = 1;
	p->r.headers = p->f.h;
	p->r.n_headers = p->f.n;
	p->r.chunked = chunked;
	return &p->r;
}

/*
 * cmocka checks for leaks after each of setup, test and teardown, so the
 * cache lives within the one test that uses it.
 */
static struct http_cache cache;

static void cache_open(void)
{
	struct http_cache_config cfg = {.max_bytes = 1 << 20};
	assert_int_equal(http_cache_init(&cache, &cfg, &tmm), 0);
}

/* Store a 200 under key with Cache-Control: cc, fetched at T0; return it referenced. */
static struct http_cache_entry *entry(const char *key, const char *cc)
{
	struct req q;
	struct fields f;
	struct http_cache_entry *e = NULL;
	const char *kv[] = {"Cache-Control", cc, NULL};
	fields_set(&f, kv);
	assert_int_equal(http_cache_store(&cache, key, get(&q, NULL), 200, f.h, f.n,
		(const uint8_t *)"body", 4, T0, T0, &e), 0);
	assert_non_null(e);
	return e;
}

static void assert_serve(struct http_edge_decision d, const char *xcache)
{
	assert_int_equal(d.action, HTTP_EDGE_SERVE);
	assert_string_equal(d.xcache, xcache);
}

/* ---- after the lookup ------------------------------------------------- */

static void lookup_fresh_and_swr(void **state)
{
	struct req q;
	const struct http_request *r = get(&q, NULL);
	struct http_edge_decision d;
	(void)state;
	d = http_edge_on_lookup(HTTP_CACHE_FRESH, r, true, false);
	assert_serve(d, "HIT");
	assert_false(d.revalidate);
	/* RFC 5861 3: stale now, one background revalidation unless one is in flight */
	d = http_edge_on_lookup(HTTP_CACHE_STALE_SWR, r, false, false);
	assert_serve(d, "STALE");
	assert_true(d.revalidate);
	d = http_edge_on_lookup(HTTP_CACHE_STALE_SWR, r, true, false);
	assert_serve(d, "STALE");
	assert_false(d.revalidate);
	d = http_edge_on_lookup(HTTP_CACHE_STALE_SWR, r, false, true);
	assert_true(d.revalidate);
}

static void lookup_miss_and_stale(void **state)
{
	struct req q;
	const struct http_request *r = get(&q, NULL);
	(void)state;
	assert_int_equal(http_edge_on_lookup(HTTP_CACHE_MISS, r, false, false).action, HTTP_EDGE_FETCH);
	assert_int_equal(http_edge_on_lookup(HTTP_CACHE_MISS, r, true, false).action, HTTP_EDGE_JOIN);
	assert_int_equal(http_edge_on_lookup(HTTP_CACHE_MISS, r, true, true).action, HTTP_EDGE_FETCH);
	assert_int_equal(http_edge_on_lookup(HTTP_CACHE_STALE, r, false, false).action, HTTP_EDGE_FETCH);
	assert_int_equal(http_edge_on_lookup(HTTP_CACHE_STALE, r, true, false).action, HTTP_EDGE_JOIN);
	assert_int_equal(http_edge_on_lookup(HTTP_CACHE_STALE, r, true, true).action, HTTP_EDGE_FETCH);
}

static void lookup_only_if_cached(void **state)
{
	struct req q;
	const char *oic[] = {"Cache-Control", "max-age=0, only-if-cached", NULL};
	const struct http_request *r = get(&q, oic);
	(void)state;
	/* RFC 9111 5.2.1.7: nothing stored, 504; even when a fetch is in flight */
	assert_int_equal(http_edge_on_lookup(HTTP_CACHE_MISS, r, false, false).action,
		HTTP_EDGE_NOT_CACHED);
	assert_int_equal(http_edge_on_lookup(HTTP_CACHE_MISS, r, true, false).action,
		HTTP_EDGE_NOT_CACHED);
	/* something stored that must be revalidated: revalidated as before */
	assert_int_equal(http_edge_on_lookup(HTTP_CACHE_STALE, r, false, false).action, HTTP_EDGE_FETCH);
	assert_serve(http_edge_on_lookup(HTTP_CACHE_FRESH, r, false, false), "HIT");
}

/* ---- origin failures --------------------------------------------------- */

static void failure(void **state)
{
	cache_open();
	struct http_cache_entry *sie = entry("h /sie", "max-age=10, stale-if-error=100");
	struct http_cache_entry *plain = entry("h /plain", "max-age=10");
	struct http_cache_entry *mr = entry("h /mr", "max-age=10, stale-if-error=100, must-revalidate");
	struct http_edge_decision d;
	(void)state;
	/* RFC 5861 4: within stale-if-error the stale entry answers */
	assert_serve(http_edge_on_failure(sie, -ECONNREFUSED, T0 + 50), "STALE");
	assert_serve(http_edge_on_failure(sie, -ETIMEDOUT, T0 + 110), "STALE");
	assert_serve(http_edge_on_failure(sie, 0, T0 + 20), "STALE");
	d = http_edge_on_failure(sie, -ECONNREFUSED, T0 + 111);
	assert_int_equal(d.action, HTTP_EDGE_FAIL);
	assert_int_equal(d.status, 502);
	d = http_edge_on_failure(sie, -ETIMEDOUT, T0 + 111);
	assert_int_equal(d.status, 504);
	/* no stale-if-error, or must-revalidate (RFC 9111 4.2.4): 502/504 */
	assert_int_equal(http_edge_on_failure(plain, -ECONNRESET, T0 + 11).status, 502);
	assert_int_equal(http_edge_on_failure(mr, -ECONNRESET, T0 + 11).status, 502);
	assert_int_equal(http_edge_on_failure(NULL, -ETIMEDOUT, T0).status, 504);
	assert_int_equal(http_edge_on_failure(NULL, 0, T0).status, 502);
	assert_int_equal(http_edge_on_failure(NULL, -EPROTO, T0).status, 502);
	http_cache_entry_unref(&cache, sie);
	http_cache_entry_unref(&cache, plain);
	http_cache_entry_unref(&cache, mr);
	http_cache_deinit(&cache);
}

/* ---- the response head ------------------------------------------------- */

static void head(void **state)
{
	struct req q;
	struct resp p;
	const struct http_request *r = get(&q, NULL);
	cache_open();
	struct http_cache_entry *sie = entry("h /sie", "max-age=10, stale-if-error=100");
	const char *cacheable[] = {"Cache-Control", "max-age=60", "Content-Length", "100", NULL};
	const char *big[] = {"Cache-Control", "max-age=60", "Content-Length", "101", NULL};
	const char *nolen[] = {"Cache-Control", "max-age=60", NULL};
	const char *nostore[] = {"Cache-Control", "no-store", "Content-Length", "1", NULL};
	const char *none[] = {"Content-Length", "5", NULL};
	(void)state;
	/* forwarded requests are always streamed */
	assert_int_equal(http_edge_on_head(r, false, NULL, resp_make(&p, 200, false, cacheable), 100, T0),
		HTTP_EDGE_BODY_STREAM);
	assert_int_equal(http_edge_on_head(r, true, NULL, resp_make(&p, 200, false, cacheable), 100, T0),
		HTTP_EDGE_BODY_BUFFER);
	/* larger than max-object: streamed; without a length: buffered until it outgrows it */
	assert_int_equal(http_edge_on_head(r, true, NULL, resp_make(&p, 200, false, big), 100, T0),
		HTTP_EDGE_BODY_STREAM);
	assert_int_equal(http_edge_on_head(r, true, NULL, resp_make(&p, 200, true, nolen), 100, T0),
		HTTP_EDGE_BODY_BUFFER);
	assert_int_equal(http_edge_on_head(r, true, NULL, resp_make(&p, 200, false, nolen), 100, T0),
		HTTP_EDGE_BODY_BUFFER);
	assert_int_equal(http_edge_on_head(r, true, NULL, resp_make(&p, 200, false, nostore), 100, T0),
		HTTP_EDGE_BODY_STREAM);
	/* a revalidation: its 304 is kept; an error within stale-if-error is dropped */
	assert_int_equal(http_edge_on_head(r, true, sie, resp_make(&p, 304, false, NULL), 100, T0 + 20),
		HTTP_EDGE_BODY_BUFFER);
	assert_int_equal(http_edge_on_head(r, true, sie, resp_make(&p, 503, false, none), 100, T0 + 20),
		HTTP_EDGE_BODY_DISCARD);
	assert_int_equal(http_edge_on_head(r, true, sie, resp_make(&p, 500, false, none), 100, T0 + 110),
		HTTP_EDGE_BODY_DISCARD);
	/* beyond stale-if-error, or not an error stale-if-error covers: passed on */
	assert_int_equal(http_edge_on_head(r, true, sie, resp_make(&p, 503, false, none), 100, T0 + 111),
		HTTP_EDGE_BODY_STREAM);
	assert_int_equal(http_edge_on_head(r, true, sie, resp_make(&p, 501, false, none), 100, T0 + 20),
		HTTP_EDGE_BODY_BUFFER); /* 501 is heuristically cacheable (RFC 9110 15.1) */
	assert_int_equal(http_edge_on_head(r, true, NULL, resp_make(&p, 503, false, none), 100, T0),
		HTTP_EDGE_BODY_STREAM);
	/* a new 200 to a revalidation replaces the entry */
	assert_int_equal(http_edge_on_head(r, true, sie, resp_make(&p, 200, false, cacheable), 100,
		T0 + 20), HTTP_EDGE_BODY_BUFFER);
	assert_int_equal(http_edge_on_overflow(true, 304), HTTP_EDGE_BODY_ABORT);
	assert_int_equal(http_edge_on_overflow(true, 200), HTTP_EDGE_BODY_STREAM);
	assert_int_equal(http_edge_on_overflow(false, 200), HTTP_EDGE_BODY_STREAM);
	http_cache_entry_unref(&cache, sie);
	http_cache_deinit(&cache);
}

/* ---- the end of a fetch and its waiters -------------------------------- */

static void done(void **state)
{
	int fe = 1;
	(void)state;
	assert_int_equal(http_edge_on_done(-ECONNRESET, HTTP_EDGE_BODY_BUFFER, true, 0, &fe),
		HTTP_EDGE_DONE_FAILED);
	assert_int_equal(fe, -ECONNRESET);
	assert_int_equal(http_edge_on_done(-ETIMEDOUT, HTTP_EDGE_BODY_BUFFER, false, 0, &fe),
		HTTP_EDGE_DONE_FAILED);
	assert_int_equal(fe, -ETIMEDOUT);
	assert_int_equal(http_edge_on_done(0, HTTP_EDGE_BODY_DISCARD, true, 503, &fe),
		HTTP_EDGE_DONE_FAILED);
	assert_int_equal(fe, 0);
	assert_int_equal(http_edge_on_done(0, HTTP_EDGE_BODY_BUFFER, true, 304, &fe),
		HTTP_EDGE_DONE_REFRESH);
	/* a 304 nobody asked for */
	assert_int_equal(http_edge_on_done(0, HTTP_EDGE_BODY_BUFFER, false, 304, &fe),
		HTTP_EDGE_DONE_FAILED);
	assert_int_equal(fe, -EPROTO);
	assert_int_equal(http_edge_on_done(0, HTTP_EDGE_BODY_BUFFER, true, 200, &fe),
		HTTP_EDGE_DONE_STORE);
	assert_int_equal(http_edge_on_done(0, HTTP_EDGE_BODY_BUFFER, false, 404, &fe),
		HTTP_EDGE_DONE_STORE);
}

static void waiters(void **state)
{
	(void)state;
	assert_serve(http_edge_after_refresh(0, true), "REVALIDATED");
	assert_int_equal(http_edge_after_refresh(0, false).action, HTTP_EDGE_REFETCH);
	/* the 304 is about another representation: everybody fetches anew */
	assert_int_equal(http_edge_after_refresh(DNS_E_NOTFOUND, true).action, HTTP_EDGE_REFETCH);
	/* no memory to merge the 304: the stored entry still answers, as before */
	assert_serve(http_edge_after_refresh(-ENOMEM, true), "REVALIDATED");

	assert_int_equal(http_edge_after_store(false, true, false).action, HTTP_EDGE_SERVE_FETCHED);
	assert_int_equal(http_edge_after_store(false, false, false).action, HTTP_EDGE_SERVE_FETCHED);
	assert_serve(http_edge_after_store(true, true, false), "MISS");
	assert_serve(http_edge_after_store(true, false, true), "MISS");
	/* Vary: the stored variant is not this client's */
	assert_int_equal(http_edge_after_store(true, false, false).action, HTTP_EDGE_REFETCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup_fresh_and_swr),
		cmocka_unit_test(lookup_miss_and_stale),
		cmocka_unit_test(lookup_only_if_cached),
		cmocka_unit_test(failure),
		cmocka_unit_test(head),
		cmocka_unit_test(done),
		cmocka_unit_test(waiters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

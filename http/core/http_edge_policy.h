/*
 * http_edge_policy.h -- cairn-edge's decisions for a request that may be
 * answered from its cache (GET, HEAD), as pure functions the libuv shell
 * carries out:
 *
 *   - after the cache lookup (http_cache_lookup()'s verdict, the request,
 *     whether a fetch for the same key is in flight): serve the stored entry
 *     (HIT), serve it stale at once and revalidate in the background within
 *     stale-while-revalidate (RFC 5861 3), refuse with 504 under
 *     only-if-cached (RFC 9111 5.2.1.7), join the fetch in flight (request
 *     collapsing), or fetch (revalidating what was found, RFC 9111 4.3.1);
 *   - when the origin's response head arrives: keep the body whole to store
 *     it and answer every waiter, stream it to the first client (not
 *     storable, or larger than max-object), or drop it because the error it
 *     carries is answered from a stale entry (stale-if-error, RFC 5861 4);
 *   - when the fetch ends: answer the error (each client its stale entry
 *     within stale-if-error, else 502, or 504 on a timeout), refresh the
 *     revalidated entry with the 304 (RFC 9111 4.3.4), or store the response;
 *   - for each client that waited: what it gets from that outcome -- the
 *     entry (REVALIDATED, MISS), the fetched response itself when it was not
 *     stored, or a fetch of its own when the answer is another variant than
 *     its own request selects (Vary, RFC 9111 4.1).
 *
 * Glossary (as in edge.h): "fetch" = one request to an origin on behalf of
 * one or more clients or of nobody (a background revalidation); "waiter" = a
 * client answered when a fetch ends; "stale entry" = what a client's own
 * lookup found, the only stored variant it may get.
 *
 * Pure: the caller passes `now` (seconds since the epoch); no I/O.
 */
#ifndef CAIRN_HTTP_EDGE_POLICY_H
#define CAIRN_HTTP_EDGE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "http_cache.h"
#include "http_parse.h"

/* What to do for one client. */
enum http_edge_action {
	HTTP_EDGE_SERVE = 0,     /* answer from the stored entry, with X-Cache: xcache */
	HTTP_EDGE_SERVE_FETCHED, /* answer with the fetched response, which was not stored (MISS) */
	HTTP_EDGE_JOIN,          /* wait for the fetch in flight for the same key */
	HTTP_EDGE_FETCH,         /* start a fetch others may join, revalidating the entry found if any */
	HTTP_EDGE_REFETCH,       /* fetch alone: the shared answer could not be this client's */
	HTTP_EDGE_NOT_CACHED,    /* answer 504: only-if-cached and nothing usable stored */
	HTTP_EDGE_FAIL,          /* the origin failed: answer status */
};

/* A decision for one client. */
struct http_edge_decision {
	enum http_edge_action action; /* what to do */
	const char *xcache;           /* SERVE: "HIT", "STALE", "REVALIDATED" or "MISS"; else NULL */
	bool revalidate;              /* SERVE: also start a background revalidation of the entry */
	int status;                   /* FAIL: 502, or 504 when the origin timed out; else 0 */
};

/*
 * After the lookup of r found v (and an entry unless MISS). in_flight: a
 * fetch for the same key may be joined; alone: r may not join one (it is
 * being refetched because another's answer was not its variant).
 */
struct http_edge_decision http_edge_on_lookup(enum http_cache_verdict v,
	const struct http_request *r, bool in_flight, bool alone);

/*
 * The origin failed with err (negative; -ETIMEDOUT for a timeout; 0 when it
 * answered an error status or could not be asked) for a client whose lookup
 * found stale (may be NULL): SERVE it (STALE) within stale-if-error at now,
 * else FAIL with 504 on a timeout, 502 otherwise.
 */
struct http_edge_decision http_edge_on_failure(const struct http_cache_entry *stale, int err,
	int64_t now);

/* What a fetch does with the response body. */
enum http_edge_body {
	HTTP_EDGE_BODY_BUFFER = 0, /* keep it whole, to store it and answer every waiter */
	HTTP_EDGE_BODY_STREAM,     /* pass it to the first waiter as it comes; the others refetch */
	HTTP_EDGE_BODY_DISCARD,    /* drop it: the error it carries is answered from stale entries */
	HTTP_EDGE_BODY_ABORT,      /* give the fetch up */
};

/*
 * The response head resp arrived for a fetch on behalf of req. cacheable: a
 * GET for the cache (else a forwarded request, always streamed); stale: the
 * entry it revalidates (may be NULL); max_object: the largest body stored.
 */
enum http_edge_body http_edge_on_head(const struct http_request *req, bool cacheable,
	const struct http_cache_entry *stale, const struct http_response *resp,
	uint64_t max_object, int64_t now);

/*
 * A buffered body outgrew max_object (its length was not announced): stream
 * it instead, or ABORT when it is the body of a 304 to a revalidation.
 */
enum http_edge_body http_edge_on_overflow(bool revalidating, unsigned status);

/* How a fetch for the cache ended. */
enum http_edge_outcome {
	HTTP_EDGE_DONE_FAILED = 0, /* each waiter: http_edge_on_failure() */
	HTTP_EDGE_DONE_REFRESH,    /* a 304 to the revalidation: http_cache_refresh(), then http_edge_after_refresh() */
	HTTP_EDGE_DONE_STORE,      /* a response: http_cache_store(), then http_edge_after_store() */
};

/*
 * A buffered or discarded fetch ended with err (0: a complete response with
 * status). revalidating: it carried the validators of a stale entry. On
 * FAILED, *fail_err is the error to answer (-EPROTO for a 304 nobody asked
 * for, 0 for an error status answered from stale entries).
 */
enum http_edge_outcome http_edge_on_done(int err, enum http_edge_body body, bool revalidating,
	unsigned status, int *fail_err);

/*
 * After REFRESH: a waiter gets the refreshed entry (REVALIDATED) when its own
 * lookup found that entry (same_entry) and the refresh did not say the 304
 * was about another representation (refresh_rc DNS_E_NOTFOUND); else it
 * fetches alone.
 */
struct http_edge_decision http_edge_after_refresh(int refresh_rc, bool same_entry);

/*
 * After STORE: when nothing was stored (!stored), every waiter gets the
 * fetched response; else the first waiter (whose request was fetched) and
 * every one whose request selects the stored variant (selects) get the entry
 * (MISS); the others fetch alone.
 */
struct http_edge_decision http_edge_after_store(bool stored, bool first, bool selects);

#endif

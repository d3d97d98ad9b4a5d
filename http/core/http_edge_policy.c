/* http_edge_policy.c -- cairn-edge's fresh/stale/miss decisions (see http_edge_policy.h). */
#include <errno.h>
#include <stdlib.h>

#include "dns_err.h"
#include "http_edge_policy.h"

static struct http_edge_decision act(enum http_edge_action a)
{
	return (struct http_edge_decision){.action = a};
}

static struct http_edge_decision serve(const char *xcache)
{
	return (struct http_edge_decision){.action = HTTP_EDGE_SERVE, .xcache = xcache};
}

struct http_edge_decision http_edge_on_lookup(enum http_cache_verdict v,
	const struct http_request *r, bool in_flight, bool alone)
{
	struct http_edge_decision d;
	switch (v) {
	case HTTP_CACHE_FRESH:
		return serve("HIT");
	case HTTP_CACHE_STALE_SWR:
		/* RFC 5861 3: answer now, revalidate in the background (once). */
		d = serve("STALE");
		d.revalidate = !in_flight;
		return d;
	case HTTP_CACHE_MISS: {
		struct http_cc rcc;
		http_cc_from_headers(&rcc, r->headers, r->n_headers);
		if (rcc.only_if_cached)
			return act(HTTP_EDGE_NOT_CACHED); /* RFC 9111 5.2.1.7 */
		break;
	}
	case HTTP_CACHE_STALE:
		break;
	}
	return act(!alone && in_flight ? HTTP_EDGE_JOIN : HTTP_EDGE_FETCH);
}

struct http_edge_decision http_edge_on_failure(const struct http_cache_entry *stale, int err,
	int64_t now)
{
	struct http_edge_decision d;
	/* Each client may only get the stale entry its own lookup found (its variant). */
	if (stale && http_cache_stale_if_error(stale, now))
		return serve("STALE");
	d = act(HTTP_EDGE_FAIL);
	d.status = err == -ETIMEDOUT ? 504 : 502;
	return d;
}

static bool origin_error_status(unsigned s)
{
	/* RFC 5861 4: the errors stale-if-error covers. */
	return s == 500 || s == 502 || s == 503 || s == 504;
}

enum http_edge_body http_edge_on_head(const struct http_request *req, bool cacheable,
	const struct http_cache_entry *stale, const struct http_response *resp,
	uint64_t max_object, int64_t now)
{
	const struct http_header *cl;

	if (!cacheable)
		return HTTP_EDGE_BODY_STREAM;
	if (stale && resp->status == 304)
		return HTTP_EDGE_BODY_BUFFER;
	if (stale && origin_error_status(resp->status) && http_cache_stale_if_error(stale, now))
		return HTTP_EDGE_BODY_DISCARD;
	cl = http_headers_find(resp->headers, resp->n_headers, "content-length");
	if (http_cache_storable(req, resp->status, resp->headers, resp->n_headers, NULL) &&
		(resp->chunked || !cl || strtoull(cl->value, NULL, 10) <= max_object))
		return HTTP_EDGE_BODY_BUFFER;
	return HTTP_EDGE_BODY_STREAM;
}

enum http_edge_body http_edge_on_overflow(bool revalidating, unsigned status)
{
	return revalidating && status == 304 ? HTTP_EDGE_BODY_ABORT : HTTP_EDGE_BODY_STREAM;
}

enum http_edge_outcome http_edge_on_done(int err, enum http_edge_body body, bool revalidating,
	unsigned status, int *fail_err)
{
	*fail_err = err;
	if (err < 0 || body == HTTP_EDGE_BODY_DISCARD)
		return HTTP_EDGE_DONE_FAILED;
	if (revalidating && status == 304)
		return HTTP_EDGE_DONE_REFRESH;
	if (status == 304) {
		/* A 304 to a request without conditionals: the origin is confused. */
		*fail_err = -EPROTO;
		return HTTP_EDGE_DONE_FAILED;
	}
	return HTTP_EDGE_DONE_STORE;
}

struct http_edge_decision http_edge_after_refresh(int refresh_rc, bool same_entry)
{
	/* DNS_E_NOTFOUND: the 304 is about another representation; fetch it anew. */
	if (refresh_rc != DNS_E_NOTFOUND && same_entry)
		return serve("REVALIDATED");
	return act(HTTP_EDGE_REFETCH);
}

struct http_edge_decision http_edge_after_store(bool stored, bool first, bool selects)
{
	if (!stored)
		return act(HTTP_EDGE_SERVE_FETCHED);
	if (selects || first)
		return serve("MISS");
	return act(HTTP_EDGE_REFETCH); /* another variant: its own fetch */
}

/*
 * edge_proxy_fetch.c -- cairn-edge's fetches from origins and the clients
 * waiting for them.
 *
 * A miss starts a fetch, always a GET without the client's conditionals or
 * Range so the whole response can be stored; concurrent requests for the same
 * key join it (request collapsing) and are answered when it ends, each
 * checked against the stored variant (Vary) and refetched alone if it is not
 * theirs. Stale entries are revalidated with their validators; a 304
 * refreshes them (REVALIDATED); when the origin fails (no connection,
 * timeout, malformed answer, 500/502/503/504) they are served within
 * stale-if-error (STALE), else the client gets 502 (504 on timeout). The
 * decisions are http_edge_policy.h's; a response that is not stored goes to
 * edge_proxy_stream.c. The request to the origin drops hop-by-hop fields
 * (RFC 9110 7.6.1) and adds X-Forwarded-For and Via (RFC 9110 7.6.3).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_err.h"
#include "dns_list.h"
#include "dns_log.h"
#include "edge_proxy_impl.h"

void edge_fetch_unlist(struct edge_fetch *f)
{
	struct edge *edge = f->edge;
	if (!f->joinable)
		return;
	DNS_LIST_UNLINK(edge->fetches, f);
	f->joinable = false;
}

struct edge_fetch *edge_fetch_find(struct edge *edge, const char *key)
{
	for (struct edge_fetch *f = edge->fetches; f; f = f->next)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

static void fetch_free(struct edge_fetch *f)
{
	struct waiter *w, *next;
	edge_fetch_unlist(f);
	for (w = f->waiters; w; w = next) {
		next = w->next;
		edge_waiter_free(w);
	}
	if (f->stale)
		http_cache_entry_unref(&f->edge->cache, f->stale);
	dns_arena_deinit(&f->arena);
	free(f->key);
	free(f->upbuf);
	free(f->body);
	free(f);
}

void edge_waiter_free(struct waiter *w)
{
	if (!w)
		return;
	if (w->stale)
		http_cache_entry_unref(w->cache, w->stale);
	free(w);
}

/* Free f once nothing refers to it any more. */
void edge_fetch_maybe_free(struct edge_fetch *f)
{
	if (f->up_done && f->pending == 0 && (!f->leader || f->leader_done) && f->served)
		fetch_free(f);
}

/* Queue ex on f; stale is what ex's own lookup found (may be NULL). */
int edge_fetch_add_waiter(struct edge_fetch *f, struct http_exchange *ex, struct http_cache_entry *stale)
{
	struct waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ex = ex;
	w->cache = &f->edge->cache;
	if (stale) {
		http_cache_entry_ref(stale);
		w->stale = stale;
	}
	*f->wtail = w;
	f->wtail = &w->next;
	return 0;
}

/* Detach and return the waiters of f. */
struct waiter *edge_fetch_take_waiters(struct edge_fetch *f)
{
	struct waiter *w = f->waiters;
	f->waiters = NULL;
	f->wtail = &f->waiters;
	return w;
}


/* Answer each waiter in list by its own fetch (it could not share another's answer). */
void edge_waiters_restart(struct edge *edge, struct waiter *w)
{
	struct waiter *next;
	for (; w; w = next) {
		next = w->next;
		edge_handle_cacheable(edge, w->ex, true);
		edge_waiter_free(w);
	}
}

static bool is_hop_or(const struct http_request *r, const struct http_header *h, const char *const *more)
{
	if (http_header_is_hop(r->headers, r->n_headers, h->name, h->name_len))
		return true;
	for (unsigned i = 0; more[i]; i++)
		if (strcasecmp(h->name, more[i]) == 0)
			return true;
	return false;
}

/* Build the request to the origin from the client's r. */
static int build_upstream(struct edge_fetch *f, struct http_exchange *ex, const struct http_request *r,
	const struct route *rt)
{
	static const char *const drop_always[] = {"host", "content-length", "expect", "x-forwarded-for",
		"via", NULL};
	static const char *const drop_cacheable[] = {"host", "content-length", "expect",
		"x-forwarded-for", "via", "if-none-match", "if-modified-since", "if-match",
		"if-unmodified-since", "if-range", "range", NULL};
	struct sbuf b = {0};
	char peer[64];
	const char *method = f->cacheable ? "GET" : r->method_name;
	const struct http_header *xff = http_request_header(r, "x-forwarded-for");

	sb_adds(&b, method);
	sb_add(&b, " ", 1);
	sb_adds(&b, rt->hr.path);
	sb_adds(&b, " HTTP/1.1\r\n");
	sb_field(&b, "Host", rt->origin->host);
	for (unsigned i = 0; i < r->n_headers; i++) {
		const struct http_header *h = &r->headers[i];
		if (is_hop_or(r, h, f->cacheable ? drop_cacheable : drop_always))
			continue;
		sb_field(&b, h->name, h->value);
	}
	/* Who asked, for the origin's logs; the peer without its port. */
	snprintf(peer, sizeof(peer), "%s", ex ? http_exchange_peer_text(ex) : "-");
	char *at = strrchr(peer, '@');
	if (at)
		*at = '\0';
	if (xff) {
		sb_adds(&b, "X-Forwarded-For: ");
		sb_adds(&b, xff->value);
		sb_adds(&b, ", ");
		sb_adds(&b, peer);
		sb_adds(&b, "\r\n");
	} else {
		sb_field(&b, "X-Forwarded-For", peer);
	}
	/* RFC 9110 7.6.3: a proxy says so in Via. */
	sb_field(&b, "Via", r->version_minor == 0 ? "1.0 cairn-edge" : "1.1 cairn-edge");
	if (f->stale) {
		struct http_header cond[2];
		unsigned n = http_cache_conditional(f->stale, cond);
		for (unsigned i = 0; i < n; i++)
			sb_field(&b, cond[i].name, cond[i].value);
	}
	if (!f->cacheable && (r->body_len || r->method == HTTP_METHOD_POST || r->method == HTTP_METHOD_PUT ||
		    r->method == HTTP_METHOD_OTHER))
		sb_fieldf(&b, "Content-Length", "%zu", r->body_len);
	sb_add(&b, "\r\n", 2);
	if (!f->cacheable && r->body_len)
		sb_add(&b, r->body, r->body_len);
	if (b.err) {
		sb_free(&b);
		return -ENOMEM;
	}
	f->upbuf = b.p;
	f->up.buf = b.p;
	f->up.len = b.len;
	return 0;
}

/* Keep the leader's request fields (for Vary and Authorization when storing). */
static int copy_request(struct edge_fetch *f, const struct http_request *r)
{
	struct http_header *h;
	dns_arena_init(&f->arena, dns_mm_std(), 4096);
	f->req = *r;
	f->req.method = HTTP_METHOD_GET;
	f->req.method_name = "GET";
	f->req.target = NULL;
	f->req.body = NULL;
	f->req.body_len = 0;
	h = dns_arena_alloc(&f->arena, (r->n_headers ? r->n_headers : 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (unsigned i = 0; i < r->n_headers; i++) {
		h[i] = r->headers[i];
		h[i].name = dns_arena_memdup(&f->arena, r->headers[i].name, r->headers[i].name_len + 1);
		h[i].value = dns_arena_memdup(&f->arena, r->headers[i].value, r->headers[i].value_len + 1);
		if (!h[i].name || !h[i].value)
			return -ENOMEM;
	}
	f->req.headers = h;
	return 0;
}

static void on_up_head(struct edge_upreq *u, const struct http_response *resp);
static int on_up_body(struct edge_upreq *u, const uint8_t *data, size_t len);
static void on_up_done(struct edge_upreq *u, int err, const struct http_response *resp);

/*
 * Start a fetch of rt for request r. ex (may be NULL: a background
 * revalidation) is its first waiter; stale (may be NULL) the entry to
 * revalidate (the fetch takes a reference). Returns the fetch or NULL (nothing
 * was started; ex is still the caller's).
 */
struct edge_fetch *edge_fetch_start(struct edge *edge, struct http_exchange *ex,
	const struct http_request *r, const struct route *rt, struct http_cache_entry *stale,
	bool cacheable, bool joinable)
{
	struct edge_fetch *f = calloc(1, sizeof(*f));
	int err;
	if (!f)
		return NULL;
	f->edge = edge;
	f->wtail = &f->waiters;
	f->cacheable = cacheable;
	f->unsafe = !cacheable && r->method != HTTP_METHOD_GET && r->method != HTTP_METHOD_HEAD &&
		r->method != HTTP_METHOD_OPTIONS && strcmp(r->method_name, "TRACE") != 0;
	f->key = edge_route_key(rt);
	dns_arena_init(&f->arena, dns_mm_std(), 4096);
	if (stale) {
		http_cache_entry_ref(stale);
		f->stale = stale;
	}
	if (!f->key || copy_request(f, r) < 0 || build_upstream(f, ex, r, rt) < 0)
		goto fail;
	f->up.origin = rt->origin;
	f->up.method = cacheable ? HTTP_METHOD_GET : r->method;
	f->up.idempotent = cacheable || r->method == HTTP_METHOD_GET || r->method == HTTP_METHOD_HEAD ||
		r->method == HTTP_METHOD_OPTIONS || r->method == HTTP_METHOD_PUT ||
		r->method == HTTP_METHOD_DELETE;
	f->up.on_head = on_up_head;
	f->up.on_body = on_up_body;
	f->up.on_done = on_up_done;
	f->up.arg = f;
	f->request_time = wall_now();
	if (ex && edge_fetch_add_waiter(f, ex, stale) < 0)
		goto fail;
	if ((err = edge_up_start(edge, &f->up)) < 0) {
		log_warn("origin %s: %s", rt->origin->addr_text, uv_strerror(err));
		struct waiter *w = edge_fetch_take_waiters(f);
		edge_waiter_free(w);
		goto fail;
	}
	edge->stats.fetches++;
	if (joinable) {
		f->joinable = true;
		DNS_LIST_PUSH(edge->fetches, f);
	}
	return f;
fail:
	fetch_free(f);
	return NULL;
}

static void on_up_head(struct edge_upreq *u, const struct http_response *resp)
{
	struct edge_fetch *f = u->arg;
	int64_t now = wall_now();

	f->resp = resp;
	f->response_time = now;
	f->mode = http_edge_on_head(&f->req, f->cacheable, f->stale, resp, f->edge->cfg->max_object, now);
	if (f->mode == HTTP_EDGE_BODY_STREAM && edge_stream_start(f) < 0)
		edge_fetch_maybe_free(f);
}

static int on_up_body(struct edge_upreq *u, const uint8_t *data, size_t len)
{
	struct edge_fetch *f = u->arg;
	int rc;
	switch (f->mode) {
	case HTTP_EDGE_BODY_BUFFER:
		if (f->blen + len > f->edge->cfg->max_object) {
			/* Larger than announced (chunked): no longer a candidate for the cache. */
			if (http_edge_on_overflow(f->stale != NULL, f->resp->status) == HTTP_EDGE_BODY_ABORT)
				return -EFBIG;
			if ((rc = edge_stream_start(f)) < 0) {
				edge_fetch_maybe_free(f);
				return rc;
			}
			return edge_stream_send(f, data, len);
		}
		if (f->blen + len > f->bcap) {
			size_t cap = f->bcap ? f->bcap : 16384;
			while (cap < f->blen + len)
				cap *= 2;
			uint8_t *p = realloc(f->body, cap);
			if (!p)
				return -ENOMEM;
			f->body = p;
			f->bcap = cap;
		}
		memcpy(f->body + f->blen, data, len);
		f->blen += len;
		return 0;
	case HTTP_EDGE_BODY_STREAM:
		if ((rc = edge_stream_send(f, data, len)) < 0) {
			edge_stream_abort(f);
			edge_up_abort(&f->up);
			f->up_done = true;
			edge_fetch_maybe_free(f);
			return rc;
		}
		return 0;
	default:
		return 0;
	}
}

/* The origin failed (or answered an error stale-if-error covers): stale or 502/504. */
static void answer_error(struct edge *edge, struct edge_fetch *f, int err)
{
	struct waiter *w = edge_fetch_take_waiters(f), *next;
	int64_t now = wall_now();
	for (; w; w = next) {
		next = w->next;
		struct http_edge_decision d = http_edge_on_failure(w->stale, err, now);
		if (d.action == HTTP_EDGE_SERVE) {
			edge_serve_entry(edge, w->ex, w->stale, d.xcache);
		} else {
			edge->stats.errors++;
			edge_reply_local(w->ex, d.status, NULL, "%d %s: origin %s: %s\n", d.status,
				http_status_reason(d.status), f->up.origin->host, err ? uv_strerror(err) : "error");
		}
		edge_waiter_free(w);
	}
}

/* Carry out d for the waiter ex of f: the entry e, f's own response, or a fetch of its own. */
static void answer_waiter(struct edge *edge, struct edge_fetch *f, struct http_exchange *ex,
	struct http_edge_decision d, struct http_cache_entry *e)
{
	switch (d.action) {
	case HTTP_EDGE_SERVE:
		edge_serve_entry(edge, ex, e, d.xcache);
		break;
	case HTTP_EDGE_SERVE_FETCHED:
		edge_serve_buffered(edge, ex, f);
		break;
	default:
		edge_handle_cacheable(edge, ex, true); /* HTTP_EDGE_REFETCH */
		break;
	}
}

/* A 304 answered the revalidation of f->stale: refresh it, then answer the waiters. */
static void answer_refreshed(struct edge *edge, struct edge_fetch *f, const struct http_response *resp)
{
	int r = http_cache_refresh(&edge->cache, f->stale, resp->headers, resp->n_headers,
		f->request_time, f->response_time);
	struct waiter *w = edge_fetch_take_waiters(f), *next;
	for (; w; w = next) {
		next = w->next;
		answer_waiter(edge, f, w->ex, http_edge_after_refresh(r, w->stale == f->stale), f->stale);
		edge_waiter_free(w);
	}
}

/* A response for the cache: store it, then answer the waiters. */
static void answer_stored(struct edge *edge, struct edge_fetch *f, const struct http_response *resp)
{
	struct http_cache_entry *e = NULL;
	int r = http_cache_store(&edge->cache, f->key, &f->req, resp->status, resp->headers,
		resp->n_headers, f->body, f->blen, f->request_time, f->response_time, &e);
	if (r < 0)
		log_debug("%s: not stored: %s", f->key, dns_strerror(r));
	struct waiter *w = edge_fetch_take_waiters(f), *next;
	bool first = true;
	for (; w; w = next) {
		next = w->next;
		struct http_cache_entry *mine = NULL;
		if (e)
			http_cache_lookup(&edge->cache, f->key, http_exchange_request(w->ex), wall_now(), &mine);
		answer_waiter(edge, f, w->ex, http_edge_after_store(e != NULL, first, mine == e), e);
		if (mine)
			http_cache_entry_unref(&edge->cache, mine);
		first = false;
		edge_waiter_free(w);
	}
	if (e)
		http_cache_entry_unref(&edge->cache, e);
}

static void on_up_done(struct edge_upreq *u, int err, const struct http_response *resp)
{
	struct edge_fetch *f = u->arg;
	struct edge *edge = f->edge;
	int fail_err;

	f->up_done = true;
	edge_fetch_unlist(f);
	if (f->mode == HTTP_EDGE_BODY_STREAM) {
		edge_stream_done(edge, f, err, resp);
		edge_fetch_maybe_free(f);
		return;
	}
	f->served = true;
	if (err < 0)
		log_info("origin %s (%s): %s", f->up.origin->host, f->up.origin->addr_text, uv_strerror(err));
	else
		f->resp = resp;
	switch (http_edge_on_done(err, f->mode, f->stale != NULL, resp ? resp->status : 0, &fail_err)) {
	case HTTP_EDGE_DONE_FAILED:
		answer_error(edge, f, fail_err);
		break;
	case HTTP_EDGE_DONE_REFRESH:
		answer_refreshed(edge, f, resp);
		break;
	case HTTP_EDGE_DONE_STORE:
		answer_stored(edge, f, resp);
		break;
	}
	edge_fetch_maybe_free(f);
}

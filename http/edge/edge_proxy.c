/*
 * edge_proxy.c -- cairn-edge's answer to one request.
 *
 * Routing (http_route.h): the request's host (the authority of an absolute-form target, else
 * Host, without its port, RFC 9112 3.2.2) names a configured origin; failing
 * that, the first path segment may name one (the URL-rewriting form of classic
 * CDNs, http://EDGE/ORIGIN-HOST/path, fetched as /path from ORIGIN-HOST). A
 * request matching no origin is answered 404 with a body saying so (not 421:
 * the edge is authoritative for no host of its own, and 404 is what a client
 * asking for an unknown site on a shared server gets).
 *
 * GET and HEAD go through the cache (http_cache.h; what to do at each step is
 * decided by http_edge_policy.h and carried out here), keyed by the origin's
 * host and the path with its query. A miss starts a fetch, always a GET
 * without the client's conditionals or Range so the whole response can be
 * stored; concurrent requests for the same key join it (request collapsing)
 * and are answered when it ends, each checked against the stored variant
 * (Vary) and refetched alone if it is not theirs. A stored response is
 * answered with Age and X-Cache, and the client's own If-None-Match /
 * If-Modified-Since are evaluated against it (RFC 9110 13.2.2: 304 from the
 * cache). Stale entries are revalidated with their validators; a 304 refreshes
 * them (REVALIDATED); within stale-while-revalidate they are served at once
 * (STALE) while a background fetch revalidates; when the origin fails (no
 * connection, timeout, malformed answer, 500/502/503/504) they are served
 * within stale-if-error (STALE), else the client gets 502 (504 on timeout).
 *
 * A response that may not be stored (no-store, private, too large for
 * max-object, not a GET) is streamed to the client that asked, through a
 * bounded queue: the origin connection stops being read while more than
 * STREAM_HIGH bytes wait for the client. Bodies without a length go to
 * HTTP/1.1 clients chunked and to HTTP/1.0 clients until the connection
 * closes. Other methods are forwarded with their body; an unsafe one (not
 * GET, HEAD, OPTIONS, TRACE) invalidates the URL when it succeeds (RFC 9111
 * 4.4). Hop-by-hop fields are never forwarded either way (RFC 9110 7.6.1).
 *
 * PURGE (from --purge-allow addresses, default loopback) removes every variant
 * of the URL: 200 when something was removed, 404 when nothing; 403 from
 * other addresses. /health is answered by the edge itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns_err.h"
#include "dns_list.h"
#include "dns_log.h"
#include "http_cond.h"
#include "http_date.h"
#include "http_edge_policy.h"
#include "http_path.h"
#include "http_range.h"
#include "http_route.h"
#include "edge.h"

/* Streaming: stop reading the origin above this many queued bytes, resume below the low mark. */
#define STREAM_HIGH (1024 * 1024)
#define STREAM_LOW (256 * 1024)

/* A client waiting for a fetch. */
struct waiter {
	struct http_exchange *ex;
	struct waiter *next;
	struct http_cache_entry *stale; /* what its own lookup found (referenced), or NULL */
	struct http_cache *cache;       /* to drop that reference */
};

struct edge_fetch {
	struct edge *edge;
	struct edge_fetch *next, *prev;  /* edge->fetches while joinable */
	bool joinable;
	char *key;
	struct edge_upreq up;
	char *upbuf;                     /* request bytes */
	struct http_cache_entry *stale;  /* the entry being revalidated (referenced) */
	bool cacheable;                  /* a GET whose answer may be stored */
	bool unsafe;                     /* invalidate the key when it succeeds */
	struct waiter *waiters;          /* clients to answer when it ends, in order */
	struct waiter **wtail;
	struct dns_arena arena;          /* the copy of the leader's request */
	struct http_request req;
	const struct http_response *resp;/* the origin's response (valid until done) */
	enum http_edge_body mode;        /* what is done with the body (http_edge_on_head()) */
	int64_t request_time, response_time;
	uint8_t *body;                   /* HTTP_EDGE_BODY_BUFFER */
	size_t blen, bcap;
	/* HTTP_EDGE_BODY_STREAM */
	struct http_exchange *leader;
	bool chunked_out;                /* chunked coding towards the client */
	bool head_only;                  /* the leader asked HEAD: no body */
	bool leader_done;                /* its exchange was ended */
	size_t queued;                   /* bytes handed to the client connection, not yet written */
	bool ranged;                     /* only body bytes [r_first, r_last] go to the leader */
	uint64_t r_first, r_last;        /* the leader's Range, applied to the stream */
	uint64_t offset;                 /* body bytes of the origin's response seen so far */
	unsigned pending;                /* those writes */
	bool up_done;                    /* the origin exchange is over */
	bool served;                     /* waiters were answered */
};

/* Where a request goes: the core's route and the origin it names. */
struct route {
	struct edge_origin *origin;  /* NULL when there is none */
	struct http_route hr;        /* the path to ask, the host asked for */
};

/*
 * A growing text buffer, starting in the caller's storage (a response head
 * fits on the stack) and moving to the heap when it outgrows it; running out
 * of memory is remembered.
 */
struct sbuf {
	char *p;
	size_t len, cap;
	bool err;
	bool heap;   /* p was allocated here (free with sb_free) */
};

#define SBUF_STACK 2048
#define SBUF_INIT(storage) {.p = (storage), .cap = sizeof(storage)}

static void sb_free(struct sbuf *b)
{
	if (b->heap)
		free(b->p);
}

static void sb_add(struct sbuf *b, const void *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = b->heap ? realloc(b->p, cap) : malloc(cap);
		if (!p) {
			b->err = true;
			return;
		}
		if (!b->heap && b->len)
			memcpy(p, b->p, b->len);
		b->p = p;
		b->cap = cap;
		b->heap = true;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_adds(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_field(struct sbuf *b, const char *name, const char *value)
{
	sb_adds(b, name);
	sb_add(b, ": ", 2);
	sb_adds(b, value);
	sb_add(b, "\r\n", 2);
}

static void sb_fieldf(struct sbuf *b, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sb_fieldf(struct sbuf *b, const char *name, const char *fmt, ...)
{
	char v[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	sb_field(b, name, v);
}

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- answers ------------------------------------------------------------- */

/* Start a response head: status line and the connection's fate. */
static void head_begin(struct http_exchange *ex, struct sbuf *b, int status)
{
	const struct http_request *r = http_exchange_request(ex);
	char line[64];
	int n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, http_status_reason(status));
	sb_add(b, line, (size_t)n);
	if (!http_exchange_keep_alive(ex)) {
		http_exchange_close(ex);
		sb_field(b, "Connection", "close");
	} else if (r->version_minor == 0) {
		sb_field(b, "Connection", "keep-alive");
	}
}

/*
 * End the head built in b and send it, with body (may be NULL) in the same
 * write; status is remembered for the log. cb as for http_exchange_send().
 */
static int head_send_body(struct http_exchange *ex, struct sbuf *b, int status, const void *body,
	size_t len, http_write_cb cb, void *arg)
{
	struct http_head h;
	/* Room for the empty line http_head_end() appends. */
	sb_add(b, "\r\n", 2);
	if (b->err)
		return DNS_E_SPACE;
	h.buf = b->p;
	h.cap = b->len;
	h.len = b->len - 2;
	h.overflow = false;
	return http_exchange_send_head_body(ex, &h, status, body, len, cb, arg);
}

static int head_send(struct http_exchange *ex, struct sbuf *b, int status)
{
	return head_send_body(ex, b, status, NULL, 0, NULL, NULL);
}

/* Does r carry a precondition (RFC 9110 13.1)? */
static bool has_conditional(const struct http_request *r)
{
	for (unsigned i = 0; i < r->n_headers; i++)
		if ((r->headers[i].name[0] == 'i' || r->headers[i].name[0] == 'I') &&
			(r->headers[i].name[1] == 'f' || r->headers[i].name[1] == 'F') &&
			r->headers[i].name[2] == '-')
			return true;
	return false;
}

static void count(struct edge *edge, const char *xcache)
{
	if (strcmp(xcache, "HIT") == 0)
		edge->stats.hits++;
	else if (strcmp(xcache, "MISS") == 0)
		edge->stats.misses++;
	else if (strcmp(xcache, "REVALIDATED") == 0)
		edge->stats.revalidated++;
	else if (strcmp(xcache, "STALE") == 0)
		edge->stats.stale++;
}

/* An answer the edge makes itself, with X-Cache: xcache. */
static void reply_local_va(struct http_exchange *ex, int status, const char *xcache, const char *extra,
	const char *fmt, va_list ap)
{
	char body[512], hdrs[256];
	int n = vsnprintf(body, sizeof(body), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(body))
		n = sizeof(body) - 1;
	snprintf(hdrs, sizeof(hdrs), "X-Cache: %s\r\n%s", xcache, extra ? extra : "");
	http_exchange_set_log_note(ex, xcache);
	http_exchange_reply(ex, status, hdrs, "text/plain; charset=utf-8", body, (size_t)n);
}

/* An answer the edge makes itself (errors, PURGE, /health): X-Cache: MISS. */
static void reply_local(struct http_exchange *ex, int status, const char *extra, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void reply_local(struct http_exchange *ex, int status, const char *extra, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_local_va(ex, status, "MISS", extra, fmt, ap);
	va_end(ap);
}

/* The same about a stored response (412, 416): its X-Cache. */
static void reply_cached(struct http_exchange *ex, int status, const char *xcache, const char *extra,
	const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void reply_cached(struct http_exchange *ex, int status, const char *xcache, const char *extra,
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_local_va(ex, status, xcache, extra, fmt, ap);
	va_end(ap);
}

static void on_entry_sent(struct http_exchange *ex, int status, void *arg)
{
	struct http_cache_entry *e = arg;
	struct edge *edge = http_exchange_ctx(ex);
	(void)status;
	http_cache_entry_unref(&edge->cache, e);
}

/* Fields a 304 carries from the stored response (RFC 9110 15.4.5). */
static bool field_for_304(const char *name)
{
	static const char *const keep[] = {"cache-control", "content-location", "date", "etag",
		"expires", "last-modified", "vary", NULL};
	for (unsigned i = 0; keep[i]; i++)
		if (strcasecmp(name, keep[i]) == 0)
			return true;
	return false;
}

/* Answer ex from a stored response, with Age and X-Cache: xcache; ends the exchange. */
static void serve_entry(struct edge *edge, struct http_exchange *ex, struct http_cache_entry *e,
	const char *xcache)
{
	const struct http_request *r = http_exchange_request(ex);
	int64_t now = wall_now();
	char stack[SBUF_STACK];
	struct sbuf b = SBUF_INIT(stack);
	int status = (int)e->status;
	bool has_date = http_headers_find(e->headers, e->n_headers, "date") != NULL;

	uint64_t first = 0, last = e->body_len ? e->body_len - 1 : 0;
	const struct http_header *range = NULL;

	count(edge, xcache);
	if ((r->method == HTTP_METHOD_GET || r->method == HTTP_METHOD_HEAD) && status == 200 &&
		has_conditional(r)) {
		/* The client's own conditionals, against the stored validators (RFC 9110 13.2.2). */
		struct http_validators v = {.etag = e->etag};
		if (e->last_modified &&
			http_date_parse(e->last_modified, strlen(e->last_modified), &v.mtime) == 0)
			v.has_mtime = true;
		int c = http_cond_eval(r, &v);
		if (c == 412) {
			reply_cached(ex, 412, xcache, NULL, "412 Precondition Failed\n");
			return;
		}
		if (c == 304)
			status = 304;
		else if ((range = http_request_header(r, "range")) && !http_if_range_ok(r, &v))
			range = NULL; /* If-Range names another representation: the whole of it */
	} else if (status == 200) {
		range = http_request_header(r, "range");
	}
	if (range && status == 200 && r->method == HTTP_METHOD_GET) {
		/* A single range of the stored body (RFC 9110 14.2); several: the whole body. */
		switch (http_range_eval(range->value, e->body_len, &first, &last)) {
		case HTTP_RANGE_PARTIAL:
			status = 206;
			break;
		case HTTP_RANGE_UNSATISFIABLE: {
			char cr[64];
			snprintf(cr, sizeof(cr), "Content-Range: bytes */%zu\r\n", e->body_len);
			reply_cached(ex, 416, xcache, cr, "416 Range Not Satisfiable\n");
			return;
		}
		case HTTP_RANGE_NONE:
			break;
		}
	}
	http_exchange_set_log_note(ex, xcache);
	head_begin(ex, &b, status);
	for (unsigned i = 0; i < e->n_headers; i++)
		if (status != 304 || field_for_304(e->headers[i].name))
			sb_field(&b, e->headers[i].name, e->headers[i].value);
	if (!has_date)
		sb_field(&b, "Date", http_exchange_date(ex));
	sb_fieldf(&b, "Age", "%lld", (long long)http_cache_age(e, now));
	sb_field(&b, "X-Cache", xcache);
	size_t len = status == 206 ? (size_t)(last - first + 1) : e->body_len;
	if (status == 206)
		sb_fieldf(&b, "Content-Range", "bytes %llu-%llu/%zu", (unsigned long long)first,
			(unsigned long long)last, e->body_len);
	if (status != 304 && status != 204)
		sb_fieldf(&b, "Content-Length", "%zu", len);
	if (status != 304 && status != 204 && r->method != HTTP_METHOD_HEAD && len) {
		/* Zero copy, head and body in one write: the entry stays alive until written. */
		http_cache_entry_ref(e);
		if (head_send_body(ex, &b, status, e->body + (status == 206 ? first : 0), len,
			    on_entry_sent, e) < 0)
			http_cache_entry_unref(&edge->cache, e);
	} else {
		head_send(ex, &b, status);
	}
	sb_free(&b);
	http_exchange_end(ex);
}

/* Answer ex with the response buffered in f (stored or not), as a MISS. */
static void serve_buffered(struct edge *edge, struct http_exchange *ex, struct edge_fetch *f)
{
	const struct http_request *r = http_exchange_request(ex);
	const struct http_response *resp = f->resp;
	char stack[SBUF_STACK];
	struct sbuf b = SBUF_INIT(stack);
	int status = (int)resp->status;
	bool body = status != 304 && status != 204;

	http_exchange_set_log_note(ex, "MISS");
	count(edge, "MISS");
	head_begin(ex, &b, status);
	for (unsigned i = 0; i < resp->n_headers; i++) {
		const struct http_header *h = &resp->headers[i];
		if (http_header_is_hop(resp->headers, resp->n_headers, h->name, h->name_len) ||
			strcasecmp(h->name, "content-length") == 0)
			continue;
		sb_field(&b, h->name, h->value);
	}
	sb_field(&b, "X-Cache", "MISS");
	if (body)
		sb_fieldf(&b, "Content-Length", "%zu", f->blen);
	if (body && r->method != HTTP_METHOD_HEAD && f->blen)
		head_send_body(ex, &b, status, f->body, f->blen, NULL, NULL);
	else
		head_send(ex, &b, status);
	sb_free(&b);
	http_exchange_end(ex);
}

/* ---- routing ------------------------------------------------------------- */

/* Find the origin and the path to ask it (http_route.h). Returns 0, or the status to answer (400, 404). */
static int route_request(struct edge *edge, const struct http_request *r, struct route *rt)
{
	int rc = http_route_find(edge->hosts, edge->norigins, r, &rt->hr);
	rt->origin = rc == 0 ? &edge->origins[rt->hr.origin] : NULL;
	if (rc == 0)
		return 0;
	return rc == DNS_E_SYNTAX ? 400 : 404;
}

static char *make_key(const struct route *rt)
{
	size_t hl = rt->origin->host_len, pl = strlen(rt->hr.path);
	char *k = malloc(hl + pl + 2);
	if (!k)
		return NULL;
	memcpy(k, rt->origin->host, hl);
	k[hl] = ' ';
	memcpy(k + hl + 1, rt->hr.path, pl + 1);
	return k;
}

/* ---- fetches ------------------------------------------------------------- */

static void fetch_unlist(struct edge_fetch *f)
{
	struct edge *edge = f->edge;
	if (!f->joinable)
		return;
	DNS_LIST_UNLINK(edge->fetches, f);
	f->joinable = false;
}

static struct edge_fetch *fetch_find(struct edge *edge, const char *key)
{
	for (struct edge_fetch *f = edge->fetches; f; f = f->next)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

static void waiter_free(struct waiter *w);

static void fetch_free(struct edge_fetch *f)
{
	struct waiter *w, *next;
	fetch_unlist(f);
	for (w = f->waiters; w; w = next) {
		next = w->next;
		waiter_free(w);
	}
	if (f->stale)
		http_cache_entry_unref(&f->edge->cache, f->stale);
	dns_arena_deinit(&f->arena);
	free(f->key);
	free(f->upbuf);
	free(f->body);
	free(f);
}

static void waiter_free(struct waiter *w)
{
	if (!w)
		return;
	if (w->stale)
		http_cache_entry_unref(w->cache, w->stale);
	free(w);
}

/* Free f once nothing refers to it any more. */
static void fetch_maybe_free(struct edge_fetch *f)
{
	if (f->up_done && f->pending == 0 && (!f->leader || f->leader_done) && f->served)
		fetch_free(f);
}

/* Queue ex on f; stale is what ex's own lookup found (may be NULL). */
static int add_waiter(struct edge_fetch *f, struct http_exchange *ex, struct http_cache_entry *stale)
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
static struct waiter *take_waiters(struct edge_fetch *f)
{
	struct waiter *w = f->waiters;
	f->waiters = NULL;
	f->wtail = &f->waiters;
	return w;
}

static void handle_cacheable(struct edge *edge, struct http_exchange *ex, bool alone);

/* Answer each waiter in list by its own fetch (it could not share another's answer). */
static void restart_waiters(struct edge *edge, struct waiter *w)
{
	struct waiter *next;
	for (; w; w = next) {
		next = w->next;
		handle_cacheable(edge, w->ex, true);
		waiter_free(w);
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
static struct edge_fetch *fetch_start(struct edge *edge, struct http_exchange *ex,
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
	f->key = make_key(rt);
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
	if (ex && add_waiter(f, ex, stale) < 0)
		goto fail;
	if ((err = edge_up_start(edge, &f->up)) < 0) {
		log_warn("origin %s: %s", rt->origin->addr_text, uv_strerror(err));
		struct waiter *w = take_waiters(f);
		waiter_free(w);
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

static void on_chunk_sent(struct http_exchange *ex, int status, void *arg);

struct out_chunk {
	struct edge_fetch *f;
	size_t len;
	uint8_t data[];
};

static void leader_abort(struct edge_fetch *f)
{
	if (f->leader_done)
		return;
	f->leader_done = true;
	http_exchange_close(f->leader);
	http_exchange_end(f->leader);
}

/* Stream mode: send body bytes to the leader. Returns 0, or -ENOMEM / the send's error. */
static int stream_send(struct edge_fetch *f, const uint8_t *data, size_t len)
{
	struct out_chunk *oc;
	size_t n = 0;
	int rc;
	if (f->ranged) {
		/* Cut the stream to the range: [off, off + len) against [first, last]. */
		uint64_t off = f->offset, s0 = off > f->r_first ? off : f->r_first;
		uint64_t s1 = off + len - 1 < f->r_last ? off + len - 1 : f->r_last;
		f->offset += len;
		if (len == 0 || s0 > s1 || s1 < off)
			return 0;
		data += s0 - off;
		len = (size_t)(s1 - s0 + 1);
	}
	if (f->head_only || len == 0 || f->leader_done)
		return 0;
	oc = malloc(sizeof(*oc) + len + (f->chunked_out ? 32 : 0));
	if (!oc)
		return -ENOMEM;
	if (f->chunked_out)
		n = (size_t)sprintf((char *)oc->data, "%zx\r\n", len);
	memcpy(oc->data + n, data, len);
	n += len;
	if (f->chunked_out) {
		memcpy(oc->data + n, "\r\n", 2);
		n += 2;
	}
	oc->f = f;
	oc->len = n;
	if ((rc = http_exchange_send(f->leader, oc->data, n, on_chunk_sent, oc)) < 0) {
		free(oc);
		return rc;
	}
	f->pending++;
	f->queued += n;
	if (f->queued > STREAM_HIGH)
		edge_up_pause(&f->up);
	return 0;
}

static void on_chunk_sent(struct http_exchange *ex, int status, void *arg)
{
	struct out_chunk *oc = arg;
	struct edge_fetch *f = oc->f;
	(void)ex;
	f->pending--;
	f->queued -= oc->len;
	free(oc);
	if (status < 0) {
		/* The client went away: stop fetching for it. */
		leader_abort(f);
		if (!f->up_done) {
			edge_up_abort(&f->up);
			f->up_done = true;
		}
	} else if (f->up.paused && f->queued < STREAM_LOW) {
		edge_up_resume(&f->up);
	}
	fetch_maybe_free(f);
}

/* Stream mode: the response head to the leader. */
static int stream_head(struct edge_fetch *f)
{
	const struct http_response *resp = f->resp;
	struct http_exchange *ex = f->leader;
	const struct http_request *r = http_exchange_request(ex);
	char stack[SBUF_STACK];
	struct sbuf b = SBUF_INIT(stack);
	int status = (int)resp->status, rc;
	bool has_body = status != 304 && status != 204 && f->up.method != HTTP_METHOD_HEAD;
	bool has_len = !resp->chunked && http_headers_find(resp->headers, resp->n_headers, "content-length");

	const struct http_header *cl = has_len ?
		http_headers_find(resp->headers, resp->n_headers, "content-length") : NULL;
	const struct http_header *range = http_request_header(r, "range");
	char cr[96] = "";

	f->head_only = r->method == HTTP_METHOD_HEAD;
	/*
	 * A fetch for the cache went without the client's Range; when the whole
	 * response is streamed instead of stored, the range is cut from it here
	 * (RFC 9110 14.2), if the representation is the one If-Range names.
	 */
	if (f->cacheable && range && cl && status == 200 && r->method == HTTP_METHOD_GET) {
		const struct http_header *et = http_headers_find(resp->headers, resp->n_headers, "etag");
		const struct http_header *lm = http_headers_find(resp->headers, resp->n_headers, "last-modified");
		struct http_validators v = {.etag = et ? et->value : NULL};
		uint64_t size = strtoull(cl->value, NULL, 10), first, last;
		if (lm && http_date_parse(lm->value, lm->value_len, &v.mtime) == 0)
			v.has_mtime = true;
		if (http_if_range_ok(r, &v)) {
			switch (http_range_eval(range->value, size, &first, &last)) {
			case HTTP_RANGE_PARTIAL:
				status = 206;
				f->ranged = true;
				f->r_first = first;
				f->r_last = last;
				snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)first,
					(unsigned long long)last, (unsigned long long)size);
				break;
			case HTTP_RANGE_UNSATISFIABLE:
				status = 416;
				f->head_only = true; /* nothing of the body goes out */
				snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
				break;
			case HTTP_RANGE_NONE:
				break;
			}
		}
	}
	if (has_body && !has_len && !f->head_only) {
		if (r->version_minor >= 1)
			f->chunked_out = true;
		else
			http_exchange_close(ex); /* HTTP/1.0: the end of the connection ends the body */
	}
	http_exchange_set_log_note(ex, "MISS");
	count(f->edge, "MISS");
	head_begin(ex, &b, status);
	for (unsigned i = 0; i < resp->n_headers; i++) {
		const struct http_header *h = &resp->headers[i];
		if (http_header_is_hop(resp->headers, resp->n_headers, h->name, h->name_len))
			continue;
		if (strcasecmp(h->name, "content-length") == 0 && (!has_len || cr[0]))
			continue;
		sb_field(&b, h->name, h->value);
	}
	if (cr[0]) {
		sb_field(&b, "Content-Range", cr);
		sb_fieldf(&b, "Content-Length", "%llu", status == 206 ?
			(unsigned long long)(f->r_last - f->r_first + 1) : 0ULL);
	}
	if (f->chunked_out)
		sb_field(&b, "Transfer-Encoding", "chunked");
	sb_field(&b, "X-Cache", "MISS");
	rc = head_send(ex, &b, status);
	sb_free(&b);
	return rc;
}

/*
 * Switch f to streaming to its first waiter; the others fetch on their own.
 * Returns 0, or negative when the fetch was given up (nobody to stream to:
 * -ECANCELED; the leader could not be sent to: that error).
 */
static int go_stream(struct edge_fetch *f)
{
	struct waiter *w = take_waiters(f);
	int rc;
	fetch_unlist(f);
	f->mode = HTTP_EDGE_BODY_STREAM;
	f->served = true;
	if (!w) {
		/* Nobody to stream to (a background revalidation): stop here. */
		edge_up_abort(&f->up);
		f->up_done = true;
		return -ECANCELED;
	}
	f->leader = w->ex;
	struct waiter *rest = w->next;
	waiter_free(w);
	restart_waiters(f->edge, rest);
	if ((rc = stream_head(f)) < 0 || (rc = stream_send(f, f->body, f->blen)) < 0) {
		leader_abort(f);
		edge_up_abort(&f->up);
		f->up_done = true;
		return rc;
	}
	free(f->body);
	f->body = NULL;
	f->blen = f->bcap = 0;
	return 0;
}

static void on_up_head(struct edge_upreq *u, const struct http_response *resp)
{
	struct edge_fetch *f = u->arg;
	int64_t now = wall_now();

	f->resp = resp;
	f->response_time = now;
	f->mode = http_edge_on_head(&f->req, f->cacheable, f->stale, resp, f->edge->cfg->max_object, now);
	if (f->mode == HTTP_EDGE_BODY_STREAM && go_stream(f) < 0)
		fetch_maybe_free(f);
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
			if ((rc = go_stream(f)) < 0) {
				fetch_maybe_free(f);
				return rc;
			}
			return stream_send(f, data, len);
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
		if ((rc = stream_send(f, data, len)) < 0) {
			leader_abort(f);
			edge_up_abort(&f->up);
			f->up_done = true;
			fetch_maybe_free(f);
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
	struct waiter *w = take_waiters(f), *next;
	int64_t now = wall_now();
	for (; w; w = next) {
		next = w->next;
		struct http_edge_decision d = http_edge_on_failure(w->stale, err, now);
		if (d.action == HTTP_EDGE_SERVE) {
			serve_entry(edge, w->ex, w->stale, d.xcache);
		} else {
			edge->stats.errors++;
			reply_local(w->ex, d.status, NULL, "%d %s: origin %s: %s\n", d.status,
				http_status_reason(d.status), f->up.origin->host, err ? uv_strerror(err) : "error");
		}
		waiter_free(w);
	}
}

/* Carry out d for the waiter ex of f: the entry e, f's own response, or a fetch of its own. */
static void answer_waiter(struct edge *edge, struct edge_fetch *f, struct http_exchange *ex,
	struct http_edge_decision d, struct http_cache_entry *e)
{
	switch (d.action) {
	case HTTP_EDGE_SERVE:
		serve_entry(edge, ex, e, d.xcache);
		break;
	case HTTP_EDGE_SERVE_FETCHED:
		serve_buffered(edge, ex, f);
		break;
	default:
		handle_cacheable(edge, ex, true); /* HTTP_EDGE_REFETCH */
		break;
	}
}

/* A 304 answered the revalidation of f->stale: refresh it, then answer the waiters. */
static void answer_refreshed(struct edge *edge, struct edge_fetch *f, const struct http_response *resp)
{
	int r = http_cache_refresh(&edge->cache, f->stale, resp->headers, resp->n_headers,
		f->request_time, f->response_time);
	struct waiter *w = take_waiters(f), *next;
	for (; w; w = next) {
		next = w->next;
		answer_waiter(edge, f, w->ex, http_edge_after_refresh(r, w->stale == f->stale), f->stale);
		waiter_free(w);
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
	struct waiter *w = take_waiters(f), *next;
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
		waiter_free(w);
	}
	if (e)
		http_cache_entry_unref(&edge->cache, e);
}

/* A streamed exchange is over: end the leader's answer, invalidate after an unsafe method. */
static void stream_done(struct edge *edge, struct edge_fetch *f, int err,
	const struct http_response *resp)
{
	if (!f->leader_done) {
		if (err < 0) {
			leader_abort(f); /* cut short: the client sees the connection close */
		} else {
			if (f->chunked_out)
				http_exchange_send(f->leader, "0\r\n\r\n", 5, NULL, NULL);
			f->leader_done = true;
			http_exchange_end(f->leader);
		}
	}
	if (err == 0 && f->unsafe && resp->status < 400)
		http_cache_invalidate(&edge->cache, f->key);
}

static void on_up_done(struct edge_upreq *u, int err, const struct http_response *resp)
{
	struct edge_fetch *f = u->arg;
	struct edge *edge = f->edge;
	int fail_err;

	f->up_done = true;
	fetch_unlist(f);
	if (f->mode == HTTP_EDGE_BODY_STREAM) {
		stream_done(edge, f, err, resp);
		fetch_maybe_free(f);
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
	fetch_maybe_free(f);
}

/* ---- requests ------------------------------------------------------------ */

/*
 * GET or HEAD: from the cache, by joining a fetch, or by a new one. alone:
 * the request could not share another's answer; its fetch takes no others.
 */
static void handle_cacheable(struct edge *edge, struct http_exchange *ex, bool alone)
{
	const struct http_request *r = http_exchange_request(ex);
	struct route route, *rt = &route;
	struct http_cache_entry *e = NULL;
	struct edge_fetch *f;
	enum http_cache_verdict v;
	struct http_edge_decision d;
	char *key;
	int st;

	if ((st = route_request(edge, r, rt)) != 0) {
		if (st == 404)
			reply_local(ex, 404, NULL, "404 Not Found: no origin for host '%s'\n", rt->hr.host);
		else
			reply_local(ex, st, NULL, "%d %s\n", st, http_status_reason(st));
		return;
	}
	key = make_key(rt);
	if (!key) {
		reply_local(ex, 500, NULL, "500 out of memory\n");
		return;
	}
	v = http_cache_lookup(&edge->cache, key, r, wall_now(), &e);
	if (dns_log_enabled(DNS_LOG_DEBUG))
		log_debug("%s: %s", key, http_cache_verdict_name(v));
	f = fetch_find(edge, key);
	d = http_edge_on_lookup(v, r, f != NULL, alone);
	switch (d.action) {
	case HTTP_EDGE_SERVE:
		if (d.revalidate)
			fetch_start(edge, NULL, r, rt, e, true, true);
		serve_entry(edge, ex, e, d.xcache);
		goto out;
	case HTTP_EDGE_NOT_CACHED:
		reply_local(ex, 504, NULL, "504 Gateway Timeout: not cached (only-if-cached)\n");
		goto out;
	case HTTP_EDGE_JOIN:
		if (add_waiter(f, ex, e) == 0) {
			edge->stats.collapsed++;
			log_debug("%s: joins the fetch in flight", key);
			goto out;
		}
		break; /* no memory to wait: a fetch of its own */
	default:
		break;
	}
	if (!fetch_start(edge, ex, r, rt, e, true, !alone)) {
		d = http_edge_on_failure(e, 0, wall_now());
		if (d.action == HTTP_EDGE_SERVE)
			serve_entry(edge, ex, e, d.xcache);
		else
			reply_local(ex, 502, NULL, "502 Bad Gateway: origin %s unreachable\n", rt->origin->host);
		edge->stats.errors++;
	}
out:
	if (e)
		http_cache_entry_unref(&edge->cache, e);
	free(key);
}

static void handle_purge(struct edge *edge, struct http_exchange *ex)
{
	const struct http_request *r = http_exchange_request(ex);
	struct route *rt;
	char *key;
	unsigned n;
	int st;

	if (!edge_config_purge_allowed(edge->cfg, http_exchange_peer(ex))) {
		reply_local(ex, 403, NULL, "403 Forbidden: PURGE is not allowed from %s\n",
			http_exchange_peer_text(ex));
		return;
	}
	rt = malloc(sizeof(*rt));
	if (!rt) {
		reply_local(ex, 500, NULL, "500 out of memory\n");
		return;
	}
	if ((st = route_request(edge, r, rt)) != 0) {
		reply_local(ex, st, NULL, "%d %s: no origin for host '%s'\n", st, http_status_reason(st), rt->hr.host);
		free(rt);
		return;
	}
	key = make_key(rt);
	n = key ? http_cache_invalidate(&edge->cache, key) : 0;
	log_info("PURGE %s: %u removed", key ? key : "?", n);
	if (n)
		reply_local(ex, 200, NULL, "purged %u\n", n);
	else
		reply_local(ex, 404, NULL, "404 Not Found: not cached\n");
	free(key);
	free(rt);
}

static void handle_forward(struct edge *edge, struct http_exchange *ex)
{
	const struct http_request *r = http_exchange_request(ex);
	struct route *rt = malloc(sizeof(*rt));
	int st;
	if (!rt) {
		reply_local(ex, 500, NULL, "500 out of memory\n");
		return;
	}
	if ((st = route_request(edge, r, rt)) != 0) {
		reply_local(ex, st, NULL, "%d %s: no origin for host '%s'\n", st, http_status_reason(st), rt->hr.host);
	} else if (!fetch_start(edge, ex, r, rt, NULL, false, false)) {
		edge->stats.errors++;
		reply_local(ex, 502, NULL, "502 Bad Gateway: origin %s unreachable\n", rt->origin->host);
	}
	free(rt);
}

static void handle_health(struct edge *edge, struct http_exchange *ex)
{
	const struct http_cache *c = &edge->cache;
	const struct edge_stats *s = &edge->stats;
	char extra[64];
	snprintf(extra, sizeof(extra), "Cache-Control: no-store\r\n");
	reply_local(ex, edge->draining ? 503 : 200, extra,
		"%s\nentries %llu\nbytes %llu\nmax-bytes %llu\nevictions %llu\nhits %llu\nmisses %llu\n"
		"revalidated %llu\nstale %llu\nfetches %llu\ncollapsed %llu\nerrors %llu\n",
		edge->draining ? "draining" : "serving", (unsigned long long)c->entries,
		(unsigned long long)c->bytes, (unsigned long long)c->cfg.max_bytes,
		(unsigned long long)c->evictions, (unsigned long long)s->hits,
		(unsigned long long)s->misses, (unsigned long long)s->revalidated,
		(unsigned long long)s->stale, (unsigned long long)s->fetches,
		(unsigned long long)s->collapsed, (unsigned long long)s->errors);
}

static bool is_health(const struct http_request *r)
{
	const char *t = http_target_path(r->target, NULL, NULL);
	return t && strncmp(t, "/health", 7) == 0 && (t[7] == '\0' || t[7] == '?');
}

void edge_serve(void *ctx, struct http_exchange *ex)
{
	struct edge *edge = ctx;
	const struct http_request *r = http_exchange_request(ex);

	if (edge->draining)
		http_exchange_close(ex); /* let clients move to another edge */
	switch (r->method) {
	case HTTP_METHOD_GET:
	case HTTP_METHOD_HEAD:
		if (is_health(r))
			handle_health(edge, ex);
		else
			handle_cacheable(edge, ex, false);
		return;
	case HTTP_METHOD_PURGE:
		handle_purge(edge, ex);
		return;
	default:
		handle_forward(edge, ex);
		return;
	}
}

int edge_init(struct edge *edge, uv_loop_t *loop, const struct edge_config *cfg)
{
	struct http_cache_config cc = {.max_bytes = cfg->cache_size, .max_object = cfg->max_object,
		.heuristic_max = cfg->heuristic_max};
	memset(edge, 0, sizeof(*edge));
	edge->loop = loop;
	edge->cfg = cfg;
	edge->norigins = cfg->norigins;
	for (size_t i = 0; i < cfg->norigins; i++) {
		struct edge_origin *o = &edge->origins[i];
		o->host = cfg->origins[i].host;
		o->host_len = strlen(o->host);
		o->addr = cfg->origins[i].addr;
		dns_addr_format((const struct sockaddr *)&o->addr, o->addr_text, sizeof(o->addr_text));
		o->edge = edge;
		edge->hosts[i] = o->host;
	}
	return http_cache_init(&edge->cache, &cc, NULL);
}

void edge_deinit(struct edge *edge)
{
	http_cache_deinit(&edge->cache);
}

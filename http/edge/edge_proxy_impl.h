/*
 * edge_proxy_impl.h -- what the pieces of cairn-edge's proxy share; private
 * to edge_proxy*.c.
 *
 * The pieces: edge_proxy.c (routing, the requests: GET/HEAD through the
 * cache, PURGE, forwarding, /health), edge_proxy_answer.c (answers from a
 * stored entry, from a fetched response, and the edge's own),
 * edge_proxy_fetch.c (fetches, their waiters, the origin's callbacks and what
 * the waiters get when a fetch ends) and edge_proxy_stream.c (a response
 * passed through to one client as it comes). What is decided, not done, is
 * in http/core: http_route.h and http_edge_policy.h.
 */
#ifndef CAIRN_EDGE_PROXY_IMPL_H
#define CAIRN_EDGE_PROXY_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns_mem.h"
#include "http_edge_policy.h"
#include "http_route.h"
#include "edge.h"

/* A client waiting for a fetch. */
struct waiter {
	struct http_exchange *ex;       /* its exchange */
	struct waiter *next;            /* the next waiter of the fetch */
	struct http_cache_entry *stale; /* what its own lookup found (referenced), or NULL */
	struct http_cache *cache;       /* to drop that reference */
};

/* One request to an origin, for one or more clients or for none (background revalidation). */
struct edge_fetch {
	struct edge *edge;               /* owner */
	struct edge_fetch *next, *prev;  /* edge->fetches while joinable */
	bool joinable;                   /* on edge->fetches: other clients may wait for it */
	char *key;                       /* cache key: origin host, ' ', path */
	struct edge_upreq up;            /* the exchange with the origin */
	char *upbuf;                     /* request bytes */
	struct http_cache_entry *stale;  /* the entry being revalidated (referenced) */
	bool cacheable;                  /* a GET whose answer may be stored */
	bool unsafe;                     /* invalidate the key when it succeeds */
	struct waiter *waiters;          /* clients to answer when it ends, in order */
	struct waiter **wtail;           /* where the next waiter is linked */
	struct dns_arena arena;          /* the copy of the leader's request */
	struct http_request req;         /* that copy (as a GET), for Vary and Authorization */
	const struct http_response *resp;/* the origin's response (valid until done) */
	enum http_edge_body mode;        /* what is done with the body (http_edge_on_head()) */
	int64_t request_time;            /* when the request was sent (RFC 9111 4.2.3) */
	int64_t response_time;           /* when the response head arrived */
	uint8_t *body;                   /* HTTP_EDGE_BODY_BUFFER: the body so far */
	size_t blen;                     /* its length */
	size_t bcap;                     /* bytes allocated at body */
	/* HTTP_EDGE_BODY_STREAM */
	struct http_exchange *leader;    /* the client the response streams to */
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
	char *p;     /* the text, NUL-terminated */
	size_t len;  /* its length */
	size_t cap;  /* bytes at p */
	bool err;    /* memory ran out: the text is incomplete */
	bool heap;   /* p was allocated here (free with sb_free) */
};

/* Stack storage for a response head, and a buffer starting in it. */
#define SBUF_STACK 2048
#define SBUF_INIT(storage) {.p = (storage), .cap = sizeof(storage)}

static inline void sb_free(struct sbuf *b)
{
	if (b->heap)
		free(b->p);
}

static inline void sb_add(struct sbuf *b, const void *s, size_t n)
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

static inline void sb_adds(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static inline void sb_field(struct sbuf *b, const char *name, const char *value)
{
	sb_adds(b, name);
	sb_add(b, ": ", 2);
	sb_adds(b, value);
	sb_add(b, "\r\n", 2);
}

static inline void sb_fieldf(struct sbuf *b, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void sb_fieldf(struct sbuf *b, const char *name, const char *fmt, ...)
{
	char v[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	sb_field(b, name, v);
}

/* The wall clock, for the cache's times (seconds since the epoch). */
static inline int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- answers (edge_proxy_answer.c) --------------------------------------- */

/* Start a response head in b: status line and the connection's fate. */
void edge_head_begin(struct http_exchange *ex, struct sbuf *b, int status);
/*
 * End the head built in b and send it, with body (may be NULL) in the same
 * write; status is remembered for the log. cb as for http_exchange_send().
 * Returns 0, DNS_E_SPACE when b ran out of memory, or the send's error.
 */
int edge_head_send_body(struct http_exchange *ex, struct sbuf *b, int status, const void *body,
	size_t len, http_write_cb cb, void *arg);
/* The same without a body. */
int edge_head_send(struct http_exchange *ex, struct sbuf *b, int status);
/* Count an answer by its X-Cache (HIT, MISS, REVALIDATED, STALE) for /health. */
void edge_count(struct edge *edge, const char *xcache);
/* An answer the edge makes itself (errors, PURGE, /health): X-Cache: MISS; extra: more fields. */
void edge_reply_local(struct http_exchange *ex, int status, const char *extra, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/*
 * Answer ex from the stored response e, with Age and X-Cache: xcache, the
 * client's conditionals and Range evaluated against it; ends the exchange.
 */
void edge_serve_entry(struct edge *edge, struct http_exchange *ex, struct http_cache_entry *e,
	const char *xcache);
/* Answer ex with the response buffered in f (not stored), as a MISS; ends the exchange. */
void edge_serve_buffered(struct edge *edge, struct http_exchange *ex, struct edge_fetch *f);

/* ---- routing and requests (edge_proxy.c) --------------------------------- */

/* The cache key of rt (origin host, ' ', path), malloc'ed; NULL without memory. */
char *edge_route_key(const struct route *rt);
/*
 * GET or HEAD: from the cache, by joining a fetch, or by a new one. alone:
 * the request could not share another's answer; its fetch takes no others.
 */
void edge_handle_cacheable(struct edge *edge, struct http_exchange *ex, bool alone);

/* ---- fetches (edge_proxy_fetch.c) ---------------------------------------- */

/* Take f off edge->fetches: nobody may join it any more. */
void edge_fetch_unlist(struct edge_fetch *f);
/* The joinable fetch for key, or NULL. */
struct edge_fetch *edge_fetch_find(struct edge *edge, const char *key);
/* Free f once nothing refers to it any more. */
void edge_fetch_maybe_free(struct edge_fetch *f);
/* Queue ex on f; stale is what ex's own lookup found (may be NULL). 0 or -ENOMEM. */
int edge_fetch_add_waiter(struct edge_fetch *f, struct http_exchange *ex, struct http_cache_entry *stale);
/* Detach and return the waiters of f. */
struct waiter *edge_fetch_take_waiters(struct edge_fetch *f);
/* Free one waiter (NULL: nothing), dropping its stale reference. */
void edge_waiter_free(struct waiter *w);
/* Answer each waiter in list by its own fetch (it could not share another's answer); frees them. */
void edge_waiters_restart(struct edge *edge, struct waiter *w);
/*
 * Start a fetch of rt for request r. ex (may be NULL: a background
 * revalidation) is its first waiter; stale (may be NULL) the entry to
 * revalidate (the fetch takes a reference); cacheable: a GET for the cache,
 * else r forwarded; joinable: others may wait for it. Returns the fetch or
 * NULL (nothing was started; ex is still the caller's).
 */
struct edge_fetch *edge_fetch_start(struct edge *edge, struct http_exchange *ex,
	const struct http_request *r, const struct route *rt, struct http_cache_entry *stale,
	bool cacheable, bool joinable);

/* ---- streaming (edge_proxy_stream.c) ------------------------------------- */

/* End the leader's exchange by closing its connection (the answer is cut short). */
void edge_stream_abort(struct edge_fetch *f);
/* Send body bytes to the leader. Returns 0, or -ENOMEM / the send's error. */
int edge_stream_send(struct edge_fetch *f, const uint8_t *data, size_t len);
/*
 * Switch f to streaming to its first waiter; the others fetch on their own.
 * Returns 0, or negative when the fetch was given up (nobody to stream to:
 * -ECANCELED; the leader could not be sent to: that error).
 */
int edge_stream_start(struct edge_fetch *f);
/* A streamed exchange is over (err as for edge_up_done_cb): end the leader's answer. */
void edge_stream_done(struct edge *edge, struct edge_fetch *f, int err,
	const struct http_response *resp);

#endif

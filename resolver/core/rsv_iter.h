/*
 * rsv_iter.h -- the recursive resolver's request state machine (the iterator):
 * one client question in, upstream queries out, one answer at the end.
 *
 * A pull API in the manner of Knot Resolver's lib/resolve.h, with `now` and the
 * random source passed in (no clock, no sockets here):
 *
 *     rsv_req_begin(&req, ctx, query, len, client, now);
 *     for (;;) {
 *         st = rsv_req_produce(req, &pkt, &len, &dest, &transport, &timeout, now);
 *         if (st == RSV_DONE) break;
 *         ... send pkt to dest over transport; wait for a reply or timeout ms ...
 *         st = rsv_req_consume(req, reply, reply_len, &from, now);   (reply NULL: timeout)
 *         while (st == RSV_WAIT) ... keep waiting (the packet was dropped) ...
 *     }
 *     rsv_req_finish(req, buf, cap, &len);  rsv_req_free(req);
 *
 * Glossary:
 *  - zone cut: the deepest zone known to hold the name being resolved, with its
 *    name servers (NS names) and their addresses (from glue, the cache, or a
 *    sub-resolution for a glueless delegation).
 *  - frame: one (name, type) being resolved. The client's question is frame 0;
 *    resolving a name server's address pushes a frame above it.
 *  - QNAME minimisation (RFC 9156): a server for zone Z is asked for Z plus one
 *    more label (type A) instead of the full name, until the name is reached.
 *  - 0x20 (draft-vixie-dnsext-dns0x20): the letters of the question name sent
 *    upstream get random case; a reply must echo it exactly.
 *
 * Upstream replies are parsed with ldns, scrubbed (rsv_scrub.h), then used;
 * data is cached in rsv_cache with ranks (RFC 2181 5.4.1).
 */
#ifndef CAIRN_RSV_ITER_H
#define CAIRN_RSV_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_mem.h"
#include "dns_rng.h"
#include "rsv_cache.h"
#include "rsv_hints.h"
#include "rsv_select.h"

/* What the caller does next, returned by begin/consume/produce. */
enum rsv_state {
	RSV_PRODUCE = 0, /* call rsv_req_produce(): there is a query to send or the answer is ready */
	RSV_WAIT = 1,    /* the packet given was dropped (forged, mismatched); keep waiting for the reply */
	RSV_DONE = 2,    /* resolution over: call rsv_req_finish() */
};

/* How an upstream query travels. */
enum rsv_transport {
	RSV_UDP = 0, /* one datagram */
	RSV_TCP = 1, /* a TCP connection (after TC, RFC 7766) */
};

/* Limits and switches of the iterator; rsv_iter_opts_default() fills them. */
struct rsv_iter_opts {
	uint32_t budget_ms;        /* time for one client question before SERVFAIL, default 10000 */
	unsigned max_upstream;     /* upstream queries per client question, default 40 */
	unsigned max_referrals;    /* referrals followed per frame (delegation depth), default 16 */
	unsigned max_cname;        /* CNAME/DNAME links followed, default 12 */
	unsigned max_ns_lookups;   /* glueless NS names resolved per zone cut (NXNSAttack), default 3 */
	unsigned max_depth;        /* nested frames (NS of NS of ...), default 4 */
	unsigned max_tries;        /* sends of one query (retries and failover), default 8 */
	uint16_t edns_size;        /* EDNS0 UDP payload advertised, default 1232 */
	bool qname_min;            /* QNAME minimisation (RFC 9156, relaxed), default true */
	bool use_0x20;             /* random case in upstream names, default true */
	bool ipv4;                 /* ask servers over IPv4, default true */
	bool ipv6;                 /* ask servers over IPv6, default true (off on hosts without it) */
};

/* Counters of one request (summed into metrics by the caller). */
struct rsv_req_stats {
	unsigned upstream;    /* upstream queries produced */
	unsigned timeouts;    /* upstream queries that timed out */
	unsigned forged;      /* replies dropped: wrong source, ID or question */
	unsigned case_drop;   /* replies dropped: question case differs (0x20) */
	unsigned scrubbed;    /* records dropped by the scrubber */
	unsigned cache_hits;  /* RRsets or negative answers taken from the cache */
};

/* Shared by all requests of a worker (or of all workers: cache and select lock). */
struct rsv_ctx {
	const struct dns_mm *mm;         /* allocator for requests */
	struct rsv_cache *cache;         /* the cache (may be NULL: no caching) */
	struct rsv_select *select;       /* server table */
	const struct rsv_hints *hints;   /* root hints */
	struct dns_rng rng;              /* IDs and 0x20 bits */
	struct rsv_iter_opts opts;       /* limits */
	void (*trace)(void *arg, const char *line); /* --trace: one line per step, or NULL */
	void *trace_arg;                 /* first argument of trace */
};

/*
 * States of a frame, dispatched one function each from the request's loop
 * (after Unbound's iterator/iterator.c iter_handle()).
 */
enum rsv_iter_state {
	RSV_IT_INIT = 0,    /* frame starts: look for the answer in the cache */
	RSV_IT_FIND_CUT,    /* find the deepest zone cut with addresses: cache, else root hints */
	RSV_IT_FIND_ADDR,   /* no usable server address: resolve a glueless NS name (sub-frame) */
	RSV_IT_SEND,        /* choose a server, build the upstream query */
	RSV_IT_WAIT,        /* a query is in flight: waiting for consume() */
	RSV_IT_RESPONSE,    /* classify the scrubbed reply: answer, CNAME, referral, negative, lame, retry */
	RSV_IT_FRAME_DONE,  /* the frame has its result: hand it to the parent frame or finish */
	RSV_IT_FINISHED,    /* the client's answer is ready */
};

struct rsv_req;

/* Fill o with the defaults documented on each member. */
void rsv_iter_opts_default(struct rsv_iter_opts *o);

/*
 * Start resolving the client query[0..len) (wire). DNS_E_FORMAT etc. if it is not
 * a QUERY with one question (the caller answers FORMERR itself); -ENOMEM.
 * client may be NULL (kept in the signature for logs and policy; unused yet).
 * A class other than IN is answered REFUSED without resolution. *out is freed with rsv_req_free().
 */
int rsv_req_begin(struct rsv_req **out, struct rsv_ctx *ctx, const uint8_t *query,
	size_t len, const struct rsv_addr *client, uint64_t now);
/* Start resolving (qname, qtype) for the resolver itself (priming, --trace). */
int rsv_req_begin_name(struct rsv_req **out, struct rsv_ctx *ctx, const uint8_t *qname,
	uint16_t qtype, uint64_t now);
/*
 * Next step. RSV_PRODUCE with *pkt and *len (valid until the next call), *dest,
 * *transport and *timeout_ms set: send it and call rsv_req_consume() with the
 * reply, or with NULL after timeout_ms. RSV_DONE: call rsv_req_finish().
 */
enum rsv_state rsv_req_produce(struct rsv_req *req, const uint8_t **pkt, size_t *len,
	struct rsv_addr *dest, enum rsv_transport *transport, uint32_t *timeout_ms,
	uint64_t now);
/*
 * A reply (pkt, len) from `from`, or pkt NULL for a timeout of the query in
 * flight. RSV_WAIT when the reply was dropped (source, ID or question do not
 * match the query: keep waiting until the same timeout), else RSV_PRODUCE.
 */
enum rsv_state rsv_req_consume(struct rsv_req *req, const uint8_t *pkt, size_t len,
	const struct rsv_addr *from, uint64_t now);
/*
 * Write the answer for the client into buf[0..cap) (its ID, its question case,
 * RA, OPT if it sent one; SERVFAIL if resolution failed); *len gets the size.
 * For UDP set cap to the client's limit: a too-long answer is truncated (TC).
 */
int rsv_req_finish(struct rsv_req *req, uint8_t *buf, size_t cap, size_t *len);
/* RCODE of the final answer (valid once RSV_DONE). */
unsigned rsv_req_rcode(const struct rsv_req *req);
/* Counters of the request. */
const struct rsv_req_stats *rsv_req_stats(const struct rsv_req *req);
/* Free a request (at any point). */
void rsv_req_free(struct rsv_req *req);
/* Name of an iterator state (enum rsv_iter_state), for logs. */
const char *rsv_state_name(enum rsv_iter_state state);

#endif

/*
 * rsv_iter_impl.h -- private to the pieces of the iterator (rsv_iter*.c): the
 * request, its frames, zone cuts and the query in flight, and the helpers the
 * pieces share. Not for other modules: the API is rsv_iter.h.
 *
 * The pieces:
 *  - rsv_iter.c: the API (begin, produce, consume, free), frames, and taking
 *    in a reply: is it from the server asked, for the question asked (RFC 5452 9.1);
 *  - rsv_iter_states.c: the state functions and the loop that runs them;
 *  - rsv_iter_reply.c: reading an accepted reply into answer, referral, negative
 *    answer or lame server, and caching what it holds;
 *  - rsv_iter_cut.c: zone cuts: name servers and their addresses;
 *  - rsv_iter_answer.c: the records gathered for the client and its answer;
 *  - rsv_iter_trace.c: state names and the --trace lines.
 */
#ifndef CAIRN_RSV_ITER_IMPL_H
#define CAIRN_RSV_ITER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "dns_name.h"
#include "rsv_iter.h"
#include "rsv_ldns.h"

#define MAX_NS 13       /* NS names kept per zone cut (more are ignored: NXNSAttack) */
#define MAX_SRV 26      /* server addresses per zone cut */
#define MAX_FRAMES 8    /* hard cap of opts.max_depth */
#define MAX_RECS 64     /* answer-chain records kept per frame */
#define MAX_AUTH 4      /* authority records kept (the SOA of a negative answer) */
#define QBUF 512        /* an upstream query always fits */
#define QMIN_MAX 10     /* minimised queries per name (RFC 9156 2.3 MAX_MINIMISE_COUNT) */

/* A record kept for the answer, in the request's arena. */
struct rec {
	const uint8_t *owner;   /* wire name */
	uint16_t type;          /* record type */
	uint16_t rclass;        /* class */
	uint32_t ttl;           /* TTL for the answer (s) */
	uint16_t rdlen;         /* bytes at rdata */
	const uint8_t *rdata;   /* uncompressed wire */
};

/* One server address of a zone cut, with what this request learnt of it. */
struct srv {
	struct rsv_addr addr;  /* address and port */
	bool lame;        /* answered badly in this request: not asked again */
	bool case_seen;   /* sent a reply with the right ID but the question's case changed */
	uint8_t case_strikes; /* exchanges with it that ended with only such replies */
};

/* A zone cut: the zone, its name servers and the addresses known for them. */
struct cut {
	uint8_t zone[DNS_NAME_MAX];      /* the zone, lower-case */
	uint8_t ns[MAX_NS][DNS_NAME_MAX]; /* its name servers' names, lower-case */
	uint8_t looked_up[MAX_NS];       /* ns[i]: bit 0 A looked up, bit 1 AAAA, bit 2 A gave no address */
	unsigned nns;                    /* names in ns */
	struct srv srv[MAX_SRV];         /* server addresses */
	unsigned nsrv;                   /* addresses in srv */
	unsigned ns_lookups;             /* glueless resolutions started for this cut */
};

/* One (name, type) being resolved (see "frame" in rsv_iter.h). */
struct frame {
	enum rsv_iter_state state;       /* where it is */
	uint8_t qname[DNS_NAME_MAX];     /* current name (after CNAMEs), lower-case */
	uint16_t qtype;                  /* type asked */
	struct cut cut;                  /* the zone cut being asked */
	unsigned referrals;              /* referrals followed */
	unsigned cname_links;            /* CNAME/DNAME links followed */
	unsigned tries;                  /* queries sent for the current cut */
	bool qmin_off;                   /* ask the full name (fallback, RFC 9156 relaxed) */
	unsigned qmin_labels;            /* labels of the last minimised name asked */
	unsigned qmin_queries;           /* minimised queries sent (RFC 9156 MAX_MINIMISE_COUNT) */
	bool want_tcp;                   /* next query over TCP (the reply was truncated) */
	bool retry_same;                 /* next query to the same server */
	int rcode;                       /* result, -1 while unknown */
	struct rec *ans;                 /* answer chain (MAX_RECS, in the arena) */
	unsigned nans;                   /* records in ans */
	struct rec *auth;                /* SOA of a negative answer (MAX_AUTH, in the arena) */
	unsigned nauth;                  /* records in auth */
};

/* The upstream query of the top frame, built by RSV_IT_SEND. */
struct inflight {
	unsigned srv;                    /* index in the cut */
	uint8_t name[DNS_NAME_MAX];      /* question name as sent (0x20 case) */
	uint16_t qtype;                  /* type asked */
	uint16_t id;                     /* message ID */
	bool edns;                       /* sent with OPT */
	bool minimised;                  /* the name is a minimised one (RFC 9156) */
	enum rsv_transport tp;           /* UDP or TCP */
	uint64_t sent_at;                /* now when built (ms), for the RTT */
	uint32_t timeout;                /* ms to wait for the reply */
	uint8_t buf[QBUF];               /* the query, wire */
	size_t len;                      /* bytes in buf */
	bool handed_out;                 /* produce() returned it */
};

/* One client question being resolved (rsv_iter.h). */
struct rsv_req {
	struct rsv_ctx *ctx;             /* shared context: cache, servers, limits */
	struct dns_arena arena;          /* records kept for the answer; freed with the request */
	uint64_t start;                  /* now at begin (ms): the time budget counts from here */
	uint64_t now;                    /* time of the current call, for the trace */
	/* the client's question */
	uint8_t cq_name[DNS_NAME_MAX];   /* as received (case kept) */
	uint16_t cq_type, cq_class, cq_id; /* its type, class and ID */
	bool cq_rd, cq_cd, cq_edns;      /* its RD and CD bits; it had OPT */
	unsigned depth;                  /* frames in use */
	ldns_pkt *resp;                  /* accepted reply, for RSV_IT_RESPONSE */
	bool finished;                   /* the answer is ready (rcode set) */
	unsigned rcode;                  /* RCODE of the answer */
	struct rsv_req_stats stats;      /* counters */
	/* large members last: not zeroed at creation (each is set up when used) */
	struct inflight q;               /* the query in flight */
	struct frame frames[MAX_FRAMES]; /* [0] the client's question */
};

/* The frame being worked on. */
static inline struct frame *rsv_req_top(struct rsv_req *req)
{
	return &req->frames[req->depth - 1];
}

/* ---- rsv_iter.c ---- */

/* Push a frame resolving (qname, qtype) above the current one; DNS_E_SPACE, -ENOMEM. */
int rsv_frame_push(struct rsv_req *req, const uint8_t *qname, uint16_t qtype);
/* The frame ends with rcode (records gathered so far stay unless SERVFAIL). */
void rsv_frame_result(struct frame *f, int rcode);

/* ---- rsv_iter_states.c ---- */

/* Follow a CNAME to target: restart the frame there (SERVFAIL on a loop or a long chain). */
int rsv_follow_cname(struct rsv_req *req, struct frame *f, const uint8_t *target);
/* Run states until a query is ready (1) or the request is finished (0). */
int rsv_iter_run(struct rsv_req *req, uint64_t now);

/* ---- rsv_iter_reply.c ---- */

/* Uncompressed rdata of rr into buf[0..cap): its length, or a negative code. */
int rsv_rr_rdata(const ldns_rr *rr, uint8_t *buf, size_t cap);
/* RSV_IT_RESPONSE: classify the accepted reply (req->resp, freed here). */
int rsv_st_response(struct rsv_req *req, struct frame *f, uint64_t now);

/* ---- rsv_iter_cut.c ---- */

/* Cached addresses of the server name into the cut, on port. */
void rsv_cut_add_cached(struct rsv_req *req, struct cut *cut, const uint8_t *name,
	uint16_t port, uint64_t now);
/* Add a name server name (once; at most MAX_NS). */
void rsv_cut_add_ns(struct cut *cut, const uint8_t *name);
/* Add a server address (once; at most MAX_SRV). */
void rsv_cut_add_addr(struct cut *cut, const struct rsv_addr *a);
/* Port of upstream servers: that of the hints (53 normally; test networks differ). */
uint16_t rsv_upstream_port(const struct rsv_req *req);
/* The root zone cut from the hints. */
void rsv_cut_from_hints(struct rsv_req *req, struct cut *cut);

/* ---- rsv_iter_answer.c ---- */

/* Add a record to arr[0..cap) (*n used), copied into the request's arena. */
int rsv_rec_add(struct rsv_req *req, struct rec *arr, unsigned *n, unsigned cap,
	const uint8_t *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
	const uint8_t *rdata, uint16_t rdlen);
/* The same for an ldns record; DNS_E_FORMAT if its rdata cannot be written. */
int rsv_rec_add_rr(struct rsv_req *req, struct rec *arr, unsigned *n, unsigned cap,
	const ldns_rr *rr);
/* Append a cached view's records under owner: to the answer, or to the authority (auth). */
void rsv_rec_add_view(struct rsv_req *req, struct frame *f, const struct rsv_rrset *rr,
	const uint8_t *owner, uint32_t ttl, bool auth);

/* ---- rsv_iter_trace.c ---- */

/* One --trace line (time since the start, indented by frame depth); nothing without ctx->trace. */
void rsv_tracef(struct rsv_req *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* name as text into buf (DNS_NAME_TEXT_MAX bytes), "?" if it cannot be; returns buf. */
const char *rsv_nstr(const uint8_t *name, char *buf);

#endif

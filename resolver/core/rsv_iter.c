/*
 * rsv_iter.c -- the iterator: frames, zone cuts, upstream queries, replies.
 */
#include "rsv_iter.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns_err.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"
#include "rsv_scrub.h"

/* ldns's enums compared with ours: as plain numbers. */
static inline uint16_t rrtype(const ldns_rr *rr) { return (uint16_t)ldns_rr_get_type(rr); }
static inline uint16_t rrclass(const ldns_rr *rr) { return (uint16_t)ldns_rr_get_class(rr); }

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
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;   /* uncompressed wire */
};

/*
 * Exchanges with a server that end with only wrong-case replies before it is
 * taken for one that does not keep the case and asked without 0x20. More than
 * one, so a single forged reply that guessed the ID cannot turn 0x20 off.
 */
#define CASE_STRIKES 2

struct srv {
	struct rsv_addr addr;
	bool lame;        /* answered badly in this request: not asked again */
	bool case_seen;   /* sent a reply with the right ID but the question's case changed */
	uint8_t case_strikes; /* exchanges with it that ended with only such replies */
};

struct cut {
	uint8_t zone[DNS_NAME_MAX];
	uint8_t ns[MAX_NS][DNS_NAME_MAX];
	uint8_t looked_up[MAX_NS];       /* ns[i]: bit 0 A looked up, bit 1 AAAA, bit 2 A gave no address */
	unsigned nns;
	struct srv srv[MAX_SRV];
	unsigned nsrv;
	unsigned ns_lookups;             /* glueless resolutions started for this cut */
};

struct frame {
	enum rsv_iter_state state;
	uint8_t qname[DNS_NAME_MAX];     /* current name (after CNAMEs), lower-case */
	uint16_t qtype;
	struct cut cut;
	unsigned referrals;              /* referrals followed */
	unsigned cname_links;            /* CNAME/DNAME links followed */
	unsigned tries;                  /* queries sent for the current cut */
	bool qmin_off;                   /* ask the full name (fallback, RFC 9156 relaxed) */
	unsigned qmin_labels;            /* labels of the last minimised name asked */
	unsigned qmin_queries;           /* minimised queries sent (RFC 9156 MAX_MINIMISE_COUNT) */
	bool want_tcp;                   /* next query over TCP (the reply was truncated) */
	bool retry_same;                 /* next query to the same server */
	int rcode;                       /* result, -1 while unknown */
	struct rec *ans;                 /* answer chain */
	unsigned nans;
	struct rec *auth;                /* SOA of a negative answer */
	unsigned nauth;
};

struct inflight {
	unsigned srv;                    /* index in the cut */
	uint8_t name[DNS_NAME_MAX];      /* question name as sent (0x20 case) */
	uint16_t qtype;
	uint16_t id;
	bool edns;
	bool minimised;
	enum rsv_transport tp;
	uint64_t sent_at;
	uint32_t timeout;
	uint8_t buf[QBUF];
	size_t len;
	bool handed_out;                 /* produce() returned it */
};

struct rsv_req {
	struct rsv_ctx *ctx;
	struct dns_arena arena;
	uint64_t start;
	uint64_t now;                    /* time of the current call, for the trace */
	/* the client's question */
	uint8_t cq_name[DNS_NAME_MAX];   /* as received (case kept) */
	uint16_t cq_type, cq_class, cq_id;
	bool cq_rd, cq_cd, cq_edns;
	unsigned depth;                  /* frames in use */
	ldns_pkt *resp;                  /* accepted reply, for RSV_IT_RESPONSE */
	bool finished;
	unsigned rcode;
	struct rsv_req_stats stats;
	/* large members last: not zeroed at creation (each is set up when used) */
	struct inflight q;
	struct frame frames[MAX_FRAMES]; /* [0] the client's question */
};

static const char *state_names[] = {
	[RSV_IT_INIT] = "INIT", [RSV_IT_FIND_CUT] = "FIND_CUT", [RSV_IT_FIND_ADDR] = "FIND_ADDR",
	[RSV_IT_SEND] = "SEND", [RSV_IT_WAIT] = "WAIT", [RSV_IT_RESPONSE] = "RESPONSE",
	[RSV_IT_FRAME_DONE] = "FRAME_DONE", [RSV_IT_FINISHED] = "FINISHED",
};

const char *rsv_state_name(enum rsv_iter_state state)
{
	if ((unsigned)state < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[state];
	return "?";
}

void rsv_iter_opts_default(struct rsv_iter_opts *o)
{
	o->budget_ms = 10000;
	o->max_upstream = 40;
	o->max_referrals = 16;
	o->max_cname = 12;
	o->max_ns_lookups = 3;
	o->max_depth = 4;
	o->max_tries = 8;
	o->edns_size = 1232;
	o->qname_min = true;
	o->use_0x20 = true;
	o->ipv4 = true;
	o->ipv6 = true;
}

static void rsv_tracef(struct rsv_req *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rsv_tracef(struct rsv_req *req, const char *fmt, ...)
{
	if (!req->ctx->trace)
		return;
	char line[512];
	int n = snprintf(line, sizeof(line), "[%5llu ms] %*s", (unsigned long long)(req->now - req->start),
		(int)(2 * (req->depth ? req->depth - 1 : 0)), "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	req->ctx->trace(req->ctx->trace_arg, line);
}

static const char *rsv_nstr(const uint8_t *name, char *buf)
{
	if (dns_name_to_str(name, buf, DNS_NAME_TEXT_MAX) < 0)
		strcpy(buf, "?");
	return buf;
}

static struct frame *rsv_req_top(struct rsv_req *req)
{
	return &req->frames[req->depth - 1];
}

static int rsv_frame_push(struct rsv_req *req, const uint8_t *qname, uint16_t qtype)
{
	if (req->depth >= MAX_FRAMES)
		return DNS_E_SPACE;
	struct frame *f = &req->frames[req->depth];
	memset(f, 0, sizeof(*f));
	f->ans = dns_arena_alloc(&req->arena, MAX_RECS * sizeof(*f->ans));
	f->auth = dns_arena_alloc(&req->arena, MAX_AUTH * sizeof(*f->auth));
	if (!f->ans || !f->auth)
		return -ENOMEM;
	dns_name_lower(f->qname, qname);
	f->qtype = qtype;
	f->rcode = -1;
	f->state = RSV_IT_INIT;
	req->depth++;
	return 0;
}

/* The frame ends with rcode (records gathered so far stay unless SERVFAIL). */
static void rsv_frame_result(struct frame *f, int rcode)
{
	f->rcode = rcode;
	if (rcode == DNS_RC_SERVFAIL) {
		f->nans = 0;
		f->nauth = 0;
	}
	f->state = RSV_IT_FRAME_DONE;
}

/* ---- records ---- */

static int rsv_rec_add(struct rsv_req *req, struct rec *arr, unsigned *n, unsigned cap,
	const uint8_t *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
	const uint8_t *rdata, uint16_t rdlen)
{
	if (*n >= cap)
		return DNS_E_SPACE;
	struct rec *r = &arr[*n];
	r->owner = dns_arena_memdup(&req->arena, owner, dns_name_len(owner));
	r->rdata = dns_arena_memdup(&req->arena, rdata, rdlen ? rdlen : 1);
	if (!r->owner || !r->rdata)
		return -ENOMEM;
	r->type = type;
	r->rclass = rclass;
	r->ttl = ttl;
	r->rdlen = rdlen;
	(*n)++;
	return 0;
}

/*
 * Uncompressed rdata of an ldns record into buf: its length, DNS_E_FORMAT when
 * ldns cannot write it, DNS_E_SPACE when it does not fit cap (or 65535), -ENOMEM.
 */
static int rsv_rr_rdata(const ldns_rr *rr, uint8_t *buf, size_t cap)
{
	ldns_buffer *b = ldns_buffer_new(512);
	int ret;
	if (!b)
		return -ENOMEM;
	if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK) {
		ret = DNS_E_FORMAT;
	} else if (ldns_buffer_position(b) > cap || ldns_buffer_position(b) > 65535) {
		ret = DNS_E_SPACE;
	} else {
		ret = (int)ldns_buffer_position(b);
		memcpy(buf, ldns_buffer_begin(b), (size_t)ret);
	}
	ldns_buffer_free(b);
	return ret;
}

static const uint8_t *rr_owner(const ldns_rr *rr)
{
	return ldns_rdf_data(ldns_rr_owner(rr));
}

static const uint8_t *rr_target(const ldns_rr *rr)
{
	ldns_rdf *f = ldns_rr_rdf(rr, rrtype(rr) == LDNS_RR_TYPE_MX ? 1 : 0);
	if (!f || ldns_rdf_get_type(f) != LDNS_RDF_TYPE_DNAME)
		return NULL;
	return ldns_rdf_data(f);
}

static int rsv_rec_add_rr(struct rsv_req *req, struct rec *arr, unsigned *n, unsigned cap,
	const ldns_rr *rr)
{
	uint8_t rd[8192];
	int len = rsv_rr_rdata(rr, rd, sizeof(rd));
	if (len < 0)
		return DNS_E_FORMAT;
	return rsv_rec_add(req, arr, n, cap, rr_owner(rr), rrtype(rr), rrclass(rr),
		ldns_rr_ttl(rr), rd, (uint16_t)len);
}

/* ---- cache ---- */

/*
 * Insert every RRset of list (records grouped by owner, type and class) with
 * rank. RRSIGs are not kept (no validation here yet).
 */
static void cache_rrsets(struct rsv_req *req, const ldns_rr_list *list, enum rsv_rank rank,
	uint64_t now)
{
	struct rsv_cache *c = req->ctx->cache;
	size_t n = ldns_rr_list_rr_count(list);
	if (!c || n == 0)
		return;
	bool done[256] = { false };
	if (n > 256)
		n = 256;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *first = ldns_rr_list_rr(list, i);
		if (done[i] || rrtype(first) == LDNS_RR_TYPE_RRSIG)
			continue;
		enum { SETMAX = 32 };
		const uint8_t *rdp[SETMAX];
		uint16_t rdl[SETMAX];
		uint16_t count = 0;
		uint32_t ttl = UINT32_MAX;
		/* the insert copies: scratch space on the stack is enough */
		uint8_t store[4096];
		size_t used = 0;
		for (size_t j = i; j < n; j++) {
			const ldns_rr *rr = ldns_rr_list_rr(list, j);
			if (done[j] || rrtype(rr) != rrtype(first) ||
			    rrclass(rr) != rrclass(first) ||
			    !dns_name_eq(rr_owner(rr), rr_owner(first)))
				continue;
			done[j] = true;
			if (count >= SETMAX)
				continue;
			int len = rsv_rr_rdata(rr, store + used, 4096 - used);
			if (len < 0)
				continue;
			rdp[count] = store + used;
			rdl[count] = (uint16_t)len;
			used += (size_t)len;
			count++;
			if (ldns_rr_ttl(rr) < ttl)
				ttl = ldns_rr_ttl(rr);
		}
		if (count == 0)
			continue;
		struct rsv_rrset_in in = {
			.owner = rr_owner(first), .type = rrtype(first),
			.rclass = rrclass(first), .ttl = ttl, .rank = rank,
			.count = count, .rdata = rdp, .rdlen = rdl,
		};
		(void)rsv_cache_insert_rrset(c, &in, now);
	}
}

/* Append a cached view's records to the frame answer under owner. */
static void rsv_rec_add_view(struct rsv_req *req, struct frame *f, const struct rsv_rrset *rr,
	const uint8_t *owner, uint32_t ttl, bool auth)
{
	struct rsv_rr_iter it;
	const uint8_t *rd;
	uint16_t rdlen;
	rsv_rrset_iter(rr, &it);
	while (rsv_rrset_next(&it, &rd, &rdlen) && it.index <= rr->count) {
		if (auth)
			rsv_rec_add(req, f->auth, &f->nauth, MAX_AUTH, owner, rr->type, rr->rclass, ttl, rd, rdlen);
		else
			rsv_rec_add(req, f->ans, &f->nans, MAX_RECS, owner, rr->type, rr->rclass, ttl, rd, rdlen);
	}
}

/* Cached addresses of a server name into the cut. */
static void rsv_cut_add_cached(struct rsv_req *req, struct cut *cut, const uint8_t *name,
	uint16_t port, uint64_t now)
{
	struct rsv_cache *c = req->ctx->cache;
	if (!c)
		return;
	static const uint16_t types[2] = { DNS_T_A, DNS_T_AAAA };
	for (int t = 0; t < 2; t++) {
		const struct rsv_rrset *rr;
		if ((t == 0 && !req->ctx->opts.ipv4) || (t == 1 && !req->ctx->opts.ipv6))
			continue;
		if (rsv_cache_lookup(c, name, types[t], DNS_CLASS_IN, now, &rr, NULL) != 0)
			continue;
		if (rr->kind == RSV_RR_POSITIVE && rr->type == types[t]) {
			struct rsv_rr_iter it;
			const uint8_t *rd;
			uint16_t rdlen;
			rsv_rrset_iter(rr, &it);
			while (rsv_rrset_next(&it, &rd, &rdlen) && it.index <= rr->count &&
			       cut->nsrv < MAX_SRV) {
				struct rsv_addr a = { .family = t == 0 ? 4 : 6, .port = port };
				if (rdlen != (t == 0 ? 4 : 16))
					continue;
				memcpy(a.ip, rd, rdlen);
				bool dup = false;
				for (unsigned k = 0; k < cut->nsrv; k++)
					dup = dup || rsv_addr_eq(&cut->srv[k].addr, &a);
				if (!dup)
					cut->srv[cut->nsrv++].addr = a;
			}
		}
		rsv_rrset_release(rr);
	}
}

static void rsv_cut_add_ns(struct cut *cut, const uint8_t *name)
{
	for (unsigned i = 0; i < cut->nns; i++)
		if (dns_name_eq(cut->ns[i], name))
			return;
	if (cut->nns < MAX_NS)
		dns_name_lower(cut->ns[cut->nns++], name);
}

static void rsv_cut_add_addr(struct cut *cut, const struct rsv_addr *a)
{
	for (unsigned k = 0; k < cut->nsrv; k++)
		if (rsv_addr_eq(&cut->srv[k].addr, a))
			return;
	if (cut->nsrv < MAX_SRV) {
		memset(&cut->srv[cut->nsrv], 0, sizeof(cut->srv[0]));
		cut->srv[cut->nsrv++].addr = *a;
	}
}

/* Port of upstream servers: that of the hints (53 normally; test networks differ). */
static uint16_t rsv_upstream_port(const struct rsv_req *req)
{
	const struct rsv_hints *h = req->ctx->hints;
	return h && h->count ? h->hint[0].addr.port : 53;
}

/* ---- states ---- */

static int rsv_follow_cname(struct rsv_req *req, struct frame *f, const uint8_t *target)
{
	char b[DNS_NAME_TEXT_MAX];
	if (++f->cname_links > req->ctx->opts.max_cname) {
		rsv_tracef(req, "CNAME chain longer than %u: SERVFAIL", req->ctx->opts.max_cname);
		rsv_frame_result(f, DNS_RC_SERVFAIL);
		return 0;
	}
	/* a target already on the chain is a loop */
	if (dns_name_eq(target, f->qname)) {
		rsv_frame_result(f, DNS_RC_SERVFAIL);
		return 0;
	}
	for (unsigned i = 0; i < f->nans; i++) {
		if ((f->ans[i].type == DNS_T_CNAME) && dns_name_eq(f->ans[i].owner, target)) {
			rsv_tracef(req, "CNAME loop at %s: SERVFAIL", rsv_nstr(target, b));
			rsv_frame_result(f, DNS_RC_SERVFAIL);
			return 0;
		}
	}
	rsv_tracef(req, "follow the chain to %s", rsv_nstr(target, b));
	dns_name_lower(f->qname, target);
	f->qmin_off = false;
	f->qmin_queries = 0;
	f->referrals = 0;
	f->state = RSV_IT_INIT;
	return 0;
}

static int st_init(struct rsv_req *req, struct frame *f, uint64_t now)
{
	struct rsv_cache *c = req->ctx->cache;
	const struct rsv_rrset *rr;
	uint32_t ttl;
	/* RFC 9520 3: a question that just failed fails again at once for a while */
	if (c && rsv_cache_fail_check(c, f->qname, f->qtype, DNS_CLASS_IN, now) == 0) {
		rsv_tracef(req, "failed recently: SERVFAIL from the failure cache");
		rsv_frame_result(f, DNS_RC_SERVFAIL);
		return 0;
	}
	if (c && rsv_cache_lookup(c, f->qname, f->qtype, DNS_CLASS_IN, now, &rr, &ttl) == 0) {
		req->stats.cache_hits++;
		if (rr->kind == RSV_RR_POSITIVE) {
			rsv_rec_add_view(req, f, rr, f->qname, ttl, false);
			rsv_rrset_release(rr);
			rsv_tracef(req, "answer from the cache");
			rsv_frame_result(f, DNS_RC_NOERROR);
			return 0;
		}
		rsv_rec_add_view(req, f, rr, rr->owner, ttl, true);
		int rc = rr->kind == RSV_RR_NXDOMAIN ? DNS_RC_NXDOMAIN : DNS_RC_NOERROR;
		rsv_rrset_release(rr);
		rsv_tracef(req, "negative answer from the cache");
		rsv_frame_result(f, rc);
		return 0;
	}
	if (c && f->qtype != DNS_T_CNAME &&
	    rsv_cache_lookup(c, f->qname, DNS_T_CNAME, DNS_CLASS_IN, now, &rr, &ttl) == 0) {
		if (rr->kind == RSV_RR_POSITIVE && rr->count == 1 && f->nans < MAX_RECS) {
			req->stats.cache_hits++;
			rsv_rec_add_view(req, f, rr, f->qname, ttl, false);
			rsv_rrset_release(rr);
			const uint8_t *target = f->ans[f->nans - 1].rdata;
			if (dns_name_check(target, f->ans[f->nans - 1].rdlen) != 0) {
				rsv_frame_result(f, DNS_RC_SERVFAIL);
				return 0;
			}
			return rsv_follow_cname(req, f, target);
		}
		rsv_rrset_release(rr);
	}
	f->state = RSV_IT_FIND_CUT;
	return 0;
}

static void rsv_cut_from_hints(struct rsv_req *req, struct cut *cut)
{
	const struct rsv_hints *h = req->ctx->hints;
	memset(cut, 0, sizeof(*cut));
	cut->zone[0] = 0;
	for (size_t i = 0; h && i < h->count; i++) {
		rsv_cut_add_ns(cut, h->hint[i].name);
		rsv_cut_add_addr(cut, &h->hint[i].addr);
	}
}

static int st_find_cut(struct rsv_req *req, struct frame *f, uint64_t now)
{
	struct rsv_cache *c = req->ctx->cache;
	char b[DNS_NAME_TEXT_MAX];
	uint8_t name[DNS_NAME_MAX];
	dns_name_lower(name, f->qname);
	/* DS lives in the parent zone (RFC 4035 3.1.4.1): start above the name */
	if (f->qtype == DNS_T_DS && name[0] != 0)
		memmove(name, name + 1 + name[0], dns_name_len(name + 1 + name[0]));
	bool found = false;
	while (c) {
		const struct rsv_rrset *ns;
		if (rsv_cache_deleg_find(c, name, DNS_CLASS_IN, now, &ns, NULL) != 0)
			break;
		struct cut *cut = &f->cut;
		memset(cut, 0, sizeof(*cut));
		dns_name_lower(cut->zone, ns->owner);
		struct rsv_rr_iter it;
		const uint8_t *rd;
		uint16_t rdlen;
		rsv_rrset_iter(ns, &it);
		while (rsv_rrset_next(&it, &rd, &rdlen) && it.index <= ns->count)
			if (dns_name_check(rd, rdlen) == 0)
				rsv_cut_add_ns(cut, rd);
		rsv_rrset_release(ns);
		for (unsigned i = 0; i < cut->nns; i++)
			rsv_cut_add_cached(req, cut, cut->ns[i], rsv_upstream_port(req), now);
		if (cut->nsrv > 0) {
			found = true;
			break;
		}
		if (cut->zone[0] == 0)
			break;
		/* no address for any of its servers: try the cut above */
		const uint8_t *parent = cut->zone + 1 + cut->zone[0];
		memmove(name, parent, dns_name_len(parent));
	}
	if (!found)
		rsv_cut_from_hints(req, &f->cut);
	f->qmin_labels = dns_name_labels(f->cut.zone);
	f->tries = 0;
	f->want_tcp = false;
	f->retry_same = false;
	rsv_tracef(req, "zone cut %s (%u servers, %s)", rsv_nstr(f->cut.zone, b), f->cut.nsrv,
		found ? "cache" : "root hints");
	f->state = f->cut.nsrv ? RSV_IT_SEND : RSV_IT_FIND_ADDR;
	return 0;
}

static int st_find_addr(struct rsv_req *req, struct frame *f, uint64_t now)
{
	const struct rsv_iter_opts *o = &req->ctx->opts;
	char b[DNS_NAME_TEXT_MAX];
	struct cut *cut = &f->cut;
	/* A lookups first (AAAA first on a host without IPv4), then the other family */
	uint16_t types[2] = { DNS_T_A, DNS_T_AAAA };
	bool on[2] = { o->ipv4, o->ipv6 };
	if (!o->ipv4) {
		types[0] = DNS_T_AAAA;
		types[1] = DNS_T_A;
		on[0] = o->ipv6;
		on[1] = false;
	}
	for (unsigned pass = 0; pass < 2; pass++) {
		if (!on[pass])
			continue;
		uint8_t bit = types[pass] == DNS_T_A ? 1 : 2;
		for (unsigned i = 0; i < cut->nns; i++) {
			if (cut->looked_up[i] & bit)
				continue;
			/* AAAA after A only for a name that exists without an A record */
			if (pass == 1 && !(cut->looked_up[i] & 4))
				continue;
			cut->looked_up[i] |= bit;
			const uint8_t *ns = cut->ns[i];
			/* a server named inside its own zone needs glue; without it, no way in */
			if (dns_name_is_sub(ns, cut->zone) && cut->zone[0] != 0)
				continue;
			unsigned before = cut->nsrv;
			rsv_cut_add_cached(req, cut, ns, rsv_upstream_port(req), now);
			if (cut->nsrv > before) {
				f->state = RSV_IT_SEND;
				return 0;
			}
			if (cut->ns_lookups >= o->max_ns_lookups) {
				rsv_tracef(req, "glueless NS lookups for %s exhausted (%u)",
					rsv_nstr(cut->zone, b), o->max_ns_lookups);
				goto fail;
			}
			if (req->depth >= o->max_depth || req->depth >= MAX_FRAMES) {
				rsv_tracef(req, "too deep to resolve %s", rsv_nstr(ns, b));
				continue;
			}
			/* cycle: the same question already being resolved further down */
			bool cycle = false;
			for (unsigned d = 0; d < req->depth; d++)
				cycle = cycle || (req->frames[d].qtype == types[pass] &&
						  dns_name_eq(req->frames[d].qname, ns));
			if (cycle) {
				rsv_tracef(req, "dependency cycle on %s", rsv_nstr(ns, b));
				continue;
			}
			cut->ns_lookups++;
			rsv_tracef(req, "glueless: resolve %s %s", rsv_nstr(ns, b),
				types[pass] == DNS_T_A ? "A" : "AAAA");
			return rsv_frame_push(req, ns, types[pass]);
		}
	}
fail:
	rsv_tracef(req, "no usable server for %s: SERVFAIL", rsv_nstr(cut->zone, b));
	rsv_frame_result(f, DNS_RC_SERVFAIL);
	return 0;
}

/* Random case for every letter of name (0x20 bits, one random bit per letter). */
static void apply_0x20(struct rsv_req *req, uint8_t *name)
{
	uint8_t bits[32];
	size_t bit = 0;
	dns_rng_bytes(&req->ctx->rng, bits, sizeof(bits));
	for (uint8_t *p = name; *p; p += 1 + *p) {
		for (unsigned i = 1; i <= *p; i++) {
			uint8_t ch = p[i];
			if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
				bool up = (bits[(bit / 8) % 32] >> (bit % 8)) & 1;
				bit++;
				p[i] = up ? (uint8_t)(ch & ~0x20) : (uint8_t)(ch | 0x20);
			}
		}
	}
}

static int st_send(struct rsv_req *req, struct frame *f, uint64_t now)
{
	const struct rsv_iter_opts *o = &req->ctx->opts;
	struct cut *cut = &f->cut;
	char b[DNS_NAME_TEXT_MAX], ab[64];
	if (f->tries >= o->max_tries) {
		rsv_tracef(req, "%u tries for this zone: SERVFAIL", f->tries);
		rsv_frame_result(f, DNS_RC_SERVFAIL);
		return 0;
	}
	int idx;
	if (f->retry_same && req->q.srv < cut->nsrv && !cut->srv[req->q.srv].lame) {
		idx = (int)req->q.srv;
	} else {
		struct rsv_addr cand[MAX_SRV];
		bool skip[MAX_SRV];
		for (unsigned i = 0; i < cut->nsrv; i++) {
			cand[i] = cut->srv[i].addr;
			skip[i] = cut->srv[i].lame || (cand[i].family == 4 && !o->ipv4) ||
				(cand[i].family == 6 && !o->ipv6);
		}
		idx = rsv_select_choose(req->ctx->select, cand, cut->nsrv, skip, &req->ctx->rng, now);
		f->want_tcp = false;
	}
	f->retry_same = false;
	if (idx < 0) {
		/* every known address is lame: look for more servers */
		f->state = RSV_IT_FIND_ADDR;
		return 0;
	}
	struct srv *s = &cut->srv[idx];
	struct rsv_srv_info info;
	rsv_select_get(req->ctx->select, &s->addr, now, &info);

	struct inflight *q = &req->q;
	memset(q, 0, offsetof(struct inflight, buf));
	q->srv = (unsigned)idx;
	/* RFC 9156 2.3: ask for one label more than the zone cut, type A */
	unsigned want = dns_name_labels(f->qname);
	unsigned next = f->qmin_labels + 1;
	if (next <= dns_name_labels(cut->zone))
		next = dns_name_labels(cut->zone) + 1;
	/* RFC 9156 2.3: at most QMIN_MAX minimised queries per name, then the full
	 * name, so a name of many labels cannot turn into as many queries */
	if (o->qname_min && !f->qmin_off && next < want && f->qtype != DNS_T_DS &&
	    f->qmin_queries < QMIN_MAX) {
		f->qmin_queries++;
		const uint8_t *m = dns_name_strip(f->qname, want - next);
		memcpy(q->name, m, dns_name_len(m));
		q->qtype = DNS_T_A;
		q->minimised = true;
	} else {
		memcpy(q->name, f->qname, dns_name_len(f->qname));
		q->qtype = f->qtype;
	}
	if (o->use_0x20 && !info.no_0x20)
		apply_0x20(req, q->name);
	q->id = (uint16_t)dns_rng_u32(&req->ctx->rng);
	q->edns = !info.no_edns;
	q->tp = f->want_tcp ? RSV_TCP : RSV_UDP;
	struct dns_writer w;
	dns_writer_init(&w, q->buf, sizeof(q->buf));
	if (dns_writer_question(&w, q->name, q->qtype, DNS_CLASS_IN) != 0) {
		rsv_frame_result(f, DNS_RC_SERVFAIL);
		return 0;
	}
	if (q->edns) {
		dns_writer_section(&w, DNS_SEC_ADDITIONAL);
		dns_writer_opt(&w, o->edns_size, 0, 0, NULL, 0);
	}
	q->len = dns_writer_finish(&w, q->id, 0);
	q->sent_at = now;
	uint64_t used = now - req->start;
	uint64_t left = used < o->budget_ms ? o->budget_ms - used : 0;
	q->timeout = info.rto < left ? info.rto : (uint32_t)left;
	req->stats.upstream++;
	f->tries++;
	char tb[16];
	rsv_tracef(req, "ask %s %s %s%s%s (timeout %u ms)", rsv_addr_str(&s->addr, ab, sizeof(ab)),
		rsv_nstr(q->name, b), dns_type_name(q->qtype, tb), q->tp == RSV_TCP ? " tcp" : "",
		q->edns ? "" : " noedns", q->timeout);
	f->state = RSV_IT_WAIT;
	return 1;
}

/*
 * Take the answer-chain records of the scrubbed reply, follow CNAME/DNAME: 0 when
 * the frame moved on (result, or the chain to follow), DNS_E_NOTFOUND when the
 * answer section holds nothing for the question (the caller looks further).
 */
static int take_answer(struct rsv_req *req, struct frame *f, ldns_pkt *p, uint64_t now)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	size_t n = ldns_rr_list_rr_count(an);
	bool aa = ldns_pkt_aa(p);
	uint8_t cur[DNS_NAME_MAX];
	bool final = false;
	cache_rrsets(req, an, aa ? RSV_RANK_AUTH_ANSWER : RSV_RANK_NONAUTH_ANSWER, now);
	/* the scrubber left only the zone's own NS and its servers' addresses here:
	 * the child-side NS set and addresses (RFC 2181 5.4.1 ranks), which is also
	 * how priming (". NS", RFC 8109) fills the cache with the root servers */
	ldns_rr_list *nsl = ldns_pkt_authority(p);
	bool has_ns = false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(nsl); i++)
		has_ns = has_ns || rrtype(ldns_rr_list_rr(nsl, i)) == DNS_T_NS;
	if (aa && has_ns)
		cache_rrsets(req, nsl, RSV_RANK_AUTH_AUTHORITY, now);
	cache_rrsets(req, ldns_pkt_additional(p), RSV_RANK_ADDITIONAL, now);
	dns_name_lower(cur, f->qname);
	for (unsigned links = 0; links <= req->ctx->opts.max_cname + 1; links++) {
		const uint8_t *next = NULL;
		uint8_t synth[DNS_NAME_MAX];
		for (size_t i = 0; i < n; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);
			uint16_t t = rrtype(rr);
			if (t == DNS_T_DNAME && !dns_name_eq(rr_owner(rr), cur) &&
			    dns_name_is_sub(cur, rr_owner(rr)) && rr_target(rr)) {
				rsv_rec_add_rr(req, f->ans, &f->nans, MAX_RECS, rr);
				/* RFC 6672 2.2: the synthesized target */
				const uint8_t *o = rr_owner(rr);
				const uint8_t *sfx = dns_name_strip(cur,
					dns_name_labels(cur) - dns_name_labels(o));
				size_t pre = (size_t)(sfx - cur);
				size_t tl = dns_name_len(rr_target(rr));
				if (pre + tl <= DNS_NAME_MAX && !next) {
					memcpy(synth, cur, pre);
					memcpy(synth + pre, rr_target(rr), tl);
					next = synth;
				}
			}
		}
		bool cname = false;
		for (size_t i = 0; i < n; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);
			uint16_t t = rrtype(rr);
			if (!dns_name_eq(rr_owner(rr), cur) || t == DNS_T_RRSIG)
				continue;
			if (t == f->qtype || f->qtype == DNS_T_ANY) {
				rsv_rec_add_rr(req, f->ans, &f->nans, MAX_RECS, rr);
				final = true;
			} else if (t == DNS_T_CNAME && rr_target(rr) && !cname) {
				rsv_rec_add_rr(req, f->ans, &f->nans, MAX_RECS, rr);
				next = rr_target(rr);
				cname = true;
			}
		}
		if (final || !next)
			break;
		if (++f->cname_links > req->ctx->opts.max_cname) {
			rsv_frame_result(f, DNS_RC_SERVFAIL);
			return 0;
		}
		dns_name_lower(cur, next);
		/* loop inside one reply: stop at a name seen before */
		for (unsigned i = 0; i + 1 < f->nans; i++) {
			if (f->ans[i].type == DNS_T_CNAME && dns_name_eq(f->ans[i].owner, cur)) {
				rsv_frame_result(f, DNS_RC_SERVFAIL);
				return 0;
			}
		}
	}
	if (final) {
		rsv_frame_result(f, DNS_RC_NOERROR);
		return 0;
	}
	if (!dns_name_eq(cur, f->qname)) {
		/* the chain leads elsewhere; a negative rcode speaks of its end (RFC 6604 3) */
		int rc = ldns_pkt_get_rcode(p);
		bool has_soa = false;
		ldns_rr_list *ns = ldns_pkt_authority(p);
		for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++)
			has_soa = has_soa || rrtype(ldns_rr_list_rr(ns, i)) == DNS_T_SOA;
		if ((rc == DNS_RC_NXDOMAIN || (aa && has_soa)) && dns_name_is_sub(cur, f->cut.zone)) {
			for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++)
				if (rrtype(ldns_rr_list_rr(ns, i)) == DNS_T_SOA)
					rsv_rec_add_rr(req, f->auth, &f->nauth, MAX_AUTH, ldns_rr_list_rr(ns, i));
			rsv_frame_result(f, rc);
			return 0;
		}
		/* the follow counted the links already; restart at the target */
		f->cname_links--;
		return rsv_follow_cname(req, f, cur);
	}
	return DNS_E_NOTFOUND;
}

static const ldns_rr *find_soa(ldns_pkt *p)
{
	ldns_rr_list *ns = ldns_pkt_authority(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++)
		if (rrtype(ldns_rr_list_rr(ns, i)) == DNS_T_SOA)
			return ldns_rr_list_rr(ns, i);
	return NULL;
}

static void negative(struct rsv_req *req, struct frame *f, ldns_pkt *p, bool nx, uint64_t now)
{
	const ldns_rr *soa = find_soa(p);
	if (soa) {
		rsv_rec_add_rr(req, f->auth, &f->nauth, MAX_AUTH, soa);
		uint8_t rd[2048];
		int len = rsv_rr_rdata(soa, rd, sizeof(rd));
		/* RFC 2308 3: the SOA of a negative answer carries min(TTL, MINIMUM) */
		if (len >= 4 && f->nauth > 0) {
			uint32_t min = (uint32_t)rd[len - 4] << 24 | (uint32_t)rd[len - 3] << 16 |
				(uint32_t)rd[len - 2] << 8 | rd[len - 1];
			if (min < f->auth[f->nauth - 1].ttl)
				f->auth[f->nauth - 1].ttl = min;
		}
		if (req->ctx->cache && len > 0)
			(void)rsv_cache_insert_negative(req->ctx->cache, f->qname, f->qtype,
				DNS_CLASS_IN, nx, rr_owner(soa), ldns_rr_ttl(soa), rd, (uint16_t)len,
				RSV_RANK_AUTH_ANSWER, now);
	}
	rsv_frame_result(f, nx ? DNS_RC_NXDOMAIN : DNS_RC_NOERROR);
}

/* A referral to a zone below the cut: move the cut down. 1 if taken. */
static int take_referral(struct rsv_req *req, struct frame *f, ldns_pkt *p, const uint8_t *qn,
	uint64_t now)
{
	char b[DNS_NAME_TEXT_MAX];
	ldns_rr_list *ns = ldns_pkt_authority(p);
	const uint8_t *zone = NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns) && !zone; i++) {
		ldns_rr *rr = ldns_rr_list_rr(ns, i);
		if (rrtype(rr) == DNS_T_NS)
			zone = rr_owner(rr);
	}
	if (!zone || !dns_name_is_sub(qn, zone) || !dns_name_is_sub(zone, f->cut.zone) ||
	    dns_name_eq(zone, f->cut.zone))
		return 0;
	if (++f->referrals > req->ctx->opts.max_referrals) {
		rsv_tracef(req, "more than %u referrals: SERVFAIL", req->ctx->opts.max_referrals);
		rsv_frame_result(f, DNS_RC_SERVFAIL);
		return 1;
	}
	/* the NS set and glue are parent-side data (RFC 2181 5.4.1: lowest rank) */
	ldns_rr_list *nsset = ldns_rr_list_new();
	if (!nsset)
		return 0;
	struct cut *cut = &f->cut;
	uint8_t zcopy[DNS_NAME_MAX];
	dns_name_lower(zcopy, zone);
	memset(cut, 0, sizeof(*cut));
	memcpy(cut->zone, zcopy, dns_name_len(zcopy));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ns, i);
		if (rrtype(rr) == DNS_T_NS && dns_name_eq(rr_owner(rr), cut->zone) &&
		    rr_target(rr)) {
			ldns_rr_list_push_rr(nsset, rr);
			rsv_cut_add_ns(cut, rr_target(rr));
		}
	}
	cache_rrsets(req, nsset, RSV_RANK_ADDITIONAL, now);
	ldns_rr_list_set_rr_count(nsset, 0);
	ldns_rr_list_free(nsset);
	ldns_rr_list *ar = ldns_pkt_additional(p);
	cache_rrsets(req, ar, RSV_RANK_ADDITIONAL, now);
	uint16_t port = rsv_upstream_port(req);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ar); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ar, i);
		ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		struct rsv_addr a = { .port = port };
		if (!rd)
			continue;
		if (rrtype(rr) == DNS_T_A && ldns_rdf_size(rd) == 4)
			a.family = 4;
		else if (rrtype(rr) == DNS_T_AAAA && ldns_rdf_size(rd) == 16)
			a.family = 6;
		else
			continue;
		memcpy(a.ip, ldns_rdf_data(rd), ldns_rdf_size(rd));
		rsv_cut_add_addr(cut, &a);
	}
	/* servers named out of bailiwick may have cached addresses */
	for (unsigned i = 0; i < cut->nns; i++)
		if (!dns_name_is_sub(cut->ns[i], cut->zone))
			rsv_cut_add_cached(req, cut, cut->ns[i], port, now);
	f->qmin_labels = dns_name_labels(cut->zone);
	f->tries = 0;
	f->want_tcp = false;
	f->retry_same = false;
	rsv_tracef(req, "referral to %s (%u NS, %u addresses)", rsv_nstr(cut->zone, b), cut->nns, cut->nsrv);
	f->state = cut->nsrv ? RSV_IT_SEND : RSV_IT_FIND_ADDR;
	return 1;
}

static void lame(struct rsv_req *req, struct frame *f, const char *why)
{
	char ab[64];
	struct srv *s = &f->cut.srv[req->q.srv];
	s->lame = true;
	rsv_tracef(req, "%s from %s: try another server", why, rsv_addr_str(&s->addr, ab, sizeof(ab)));
	f->state = RSV_IT_SEND;
}

static int rsv_st_response(struct rsv_req *req, struct frame *f, uint64_t now)
{
	ldns_pkt *p = req->resp;
	req->resp = NULL;
	struct inflight *q = &req->q;
	struct srv *s = &f->cut.srv[q->srv];
	int rc = ldns_pkt_get_rcode(p);
	char rb[16];
	f->state = RSV_IT_SEND;
	if (ldns_pkt_tc(p) && q->tp == RSV_UDP) {
		/* RFC 7766 5: truncated, ask again over TCP */
		rsv_tracef(req, "truncated: retry over TCP");
		f->want_tcp = true;
		f->retry_same = true;
		goto out;
	}
	if ((rc == DNS_RC_FORMERR || rc == DNS_RC_NOTIMP) && q->edns && !ldns_pkt_edns(p)) {
		/* RFC 6891 7: a server that does not know EDNS; ask it without */
		rsv_tracef(req, "%s to EDNS: retry without", dns_rcode_name((unsigned)rc, rb));
		rsv_select_set_quirk(req->ctx->select, &s->addr, RSV_QUIRK_NO_EDNS, now);
		f->retry_same = true;
		f->tries--; /* not the server's fault */
		goto out;
	}
	if (q->minimised && rc != DNS_RC_NOERROR) {
		/* RFC 9156 relaxed: a bad answer to the minimised name, ask the full one */
		rsv_tracef(req, "%s to the minimised name: ask the full name",
			dns_rcode_name((unsigned)rc, rb));
		f->qmin_off = true;
		f->retry_same = true;
		goto out;
	}
	if (rc != DNS_RC_NOERROR && rc != DNS_RC_NXDOMAIN) {
		lame(req, f, dns_rcode_name((unsigned)rc, rb));
		goto out;
	}
	struct rsv_scrub_stats sst;
	int dropped = rsv_scrub(p, q->name, q->qtype, DNS_CLASS_IN, f->cut.zone,
		req->ctx->opts.max_cname, &sst);
	if (dropped < 0) {
		rsv_frame_result(f, DNS_RC_SERVFAIL);
		goto out;
	}
	if (dropped > 0) {
		req->stats.scrubbed += (unsigned)dropped;
		rsv_tracef(req, "scrubbed %d records out of bailiwick or unsolicited", dropped);
	}
	uint8_t qn[DNS_NAME_MAX];
	dns_name_lower(qn, q->name);
	bool aa = ldns_pkt_aa(p);
	size_t nan = ldns_rr_list_rr_count(ldns_pkt_answer(p));
	if (q->minimised) {
		if (take_referral(req, f, p, qn, now))
			goto out;
		bool has_cname = false;
		for (size_t i = 0; i < nan; i++)
			has_cname = has_cname ||
				rrtype(ldns_rr_list_rr(ldns_pkt_answer(p), i)) == DNS_T_CNAME;
		if (has_cname) {
			f->qmin_off = true;
			f->retry_same = true;
		} else if (aa || nan > 0 || find_soa(p)) {
			/* the name exists (maybe an empty non-terminal) and no cut: one label more */
			f->qmin_labels = dns_name_labels(qn);
			f->retry_same = true;
			f->tries--;
		} else {
			lame(req, f, "lame reply");
		}
		goto out;
	}
	if (nan > 0) {
		if (take_answer(req, f, p, now) == 0)
			goto out;
	}
	if (rc == DNS_RC_NXDOMAIN) {
		if (aa || find_soa(p)) {
			rsv_tracef(req, "NXDOMAIN");
			negative(req, f, p, true, now);
		} else {
			lame(req, f, "NXDOMAIN without authority");
		}
		goto out;
	}
	if (take_referral(req, f, p, qn, now))
		goto out;
	if (nan == 0 && (aa || find_soa(p))) {
		rsv_tracef(req, "NODATA");
		negative(req, f, p, false, now);
		goto out;
	}
	lame(req, f, "lame reply");
out:
	ldns_pkt_free(p);
	return 0;
}

static int st_frame_done(struct rsv_req *req, struct frame *f)
{
	char b[DNS_NAME_TEXT_MAX], rb[16];
	if (f->rcode == DNS_RC_SERVFAIL && req->ctx->cache)
		(void)rsv_cache_fail_mark(req->ctx->cache, f->qname, f->qtype, DNS_CLASS_IN,
			req->now, NULL);
	if (req->depth == 1) {
		req->rcode = (unsigned)(f->rcode < 0 ? DNS_RC_SERVFAIL : f->rcode);
		req->finished = true;
		f->state = RSV_IT_FINISHED;
		rsv_tracef(req, "answer %s, %u records", dns_rcode_name(req->rcode, rb), f->nans);
		return 0;
	}
	/* a name server's address: give it to the parent's cut */
	struct frame *parent = &req->frames[req->depth - 2];
	unsigned before = parent->cut.nsrv;
	for (unsigned i = 0; i < f->nans; i++) {
		struct rec *r = &f->ans[i];
		struct rsv_addr a = { .port = rsv_upstream_port(req) };
		if (r->type == DNS_T_A && r->rdlen == 4)
			a.family = 4;
		else if (r->type == DNS_T_AAAA && r->rdlen == 16)
			a.family = 6;
		else
			continue;
		memcpy(a.ip, r->rdata, r->rdlen);
		rsv_cut_add_addr(&parent->cut, &a);
	}
	if (f->qtype == DNS_T_A && f->rcode == DNS_RC_NOERROR && parent->cut.nsrv == before) {
		for (unsigned i = 0; i < parent->cut.nns; i++)
			if (dns_name_eq(parent->cut.ns[i], f->qname))
				parent->cut.looked_up[i] |= 4;
	}
	req->depth--;
	rsv_tracef(req, "%s resolved: %u addresses", rsv_nstr(f->qname, b), parent->cut.nsrv - before);
	parent->state = parent->cut.nsrv > before ? RSV_IT_SEND : RSV_IT_FIND_ADDR;
	return 0;
}

/* Stop everything with SERVFAIL (budget spent). */
static void fail_all(struct rsv_req *req, const char *why)
{
	rsv_tracef(req, "%s: SERVFAIL", why);
	req->depth = 1;
	rsv_frame_result(&req->frames[0], DNS_RC_SERVFAIL);
}

/* Run states until a query is ready (1) or the request is finished (0). */
static int rsv_iter_run(struct rsv_req *req, uint64_t now)
{
	const struct rsv_iter_opts *o = &req->ctx->opts;
	for (unsigned steps = 0; !req->finished; steps++) {
		struct frame *f = rsv_req_top(req);
		int r = 0;
		if (steps > 10000) {
			fail_all(req, "iterator made no progress");
			continue;
		}
		switch (f->state) {
		case RSV_IT_INIT: r = st_init(req, f, now); break;
		case RSV_IT_FIND_CUT: r = st_find_cut(req, f, now); break;
		case RSV_IT_FIND_ADDR: r = st_find_addr(req, f, now); break;
		case RSV_IT_SEND:
			if (now - req->start >= o->budget_ms) {
				fail_all(req, "time budget spent");
				continue;
			}
			if (req->stats.upstream >= o->max_upstream) {
				fail_all(req, "upstream query budget spent");
				continue;
			}
			r = st_send(req, f, now);
			break;
		case RSV_IT_WAIT: return 1;
		case RSV_IT_RESPONSE: r = rsv_st_response(req, f, now); break;
		case RSV_IT_FRAME_DONE: r = st_frame_done(req, f); break;
		case RSV_IT_FINISHED: req->finished = true; break;
		}
		if (r < 0) {
			fail_all(req, "internal error");
			continue;
		}
		if (r == 1)
			return 1;
	}
	return 0;
}

static int req_new(struct rsv_req **out, struct rsv_ctx *ctx, uint64_t now)
{
	struct rsv_req *req = mm_alloc(ctx->mm, sizeof(*req));
	if (!req)
		return -ENOMEM;
	/* ~37 KB, mostly frames: zero only the small head, frames are set up on push */
	memset(req, 0, offsetof(struct rsv_req, q));
	req->q.srv = 0;
	req->q.handed_out = false;
	req->ctx = ctx;
	req->start = now;
	req->now = now;
	dns_arena_init(&req->arena, ctx->mm, 16384);
	*out = req;
	return 0;
}

int rsv_req_begin_name(struct rsv_req **out, struct rsv_ctx *ctx, const uint8_t *qname,
	uint16_t qtype, uint64_t now)
{
	struct rsv_req *req;
	int ret = req_new(&req, ctx, now);
	if (ret)
		return ret;
	memcpy(req->cq_name, qname, dns_name_len(qname));
	req->cq_type = qtype;
	req->cq_class = DNS_CLASS_IN;
	req->cq_rd = true;
	if ((ret = rsv_frame_push(req, qname, qtype)) != 0) {
		rsv_req_free(req);
		return ret;
	}
	*out = req;
	return 0;
}

int rsv_req_begin(struct rsv_req **out, struct rsv_ctx *ctx, const uint8_t *query,
	size_t len, const struct rsv_addr *client, uint64_t now)
{
	(void)client;
	struct dns_query q;
	int err = DNS_E_FORMAT;
	if (dns_query_parse(query, len, &q, &err) != DNS_QUERY_OK)
		return err ? err : DNS_E_FORMAT;
	if (DNS_OPCODE(q.hdr.flags) != DNS_OP_QUERY)
		return DNS_E_UNSUPPORTED;
	struct rsv_req *req;
	int ret = rsv_req_begin_name(&req, ctx, q.qname, q.qtype, now);
	if (ret)
		return ret;
	req->cq_class = q.qclass;
	req->cq_id = q.hdr.id;
	req->cq_rd = q.hdr.flags & DNS_FLAG_RD;
	req->cq_cd = q.hdr.flags & DNS_FLAG_CD;
	req->cq_edns = q.has_opt;
	if (q.qclass != DNS_CLASS_IN) {
		/* only IN is resolved; other classes are refused below */
		req->finished = true;
		req->rcode = DNS_RC_REFUSED;
	}
	*out = req;
	return 0;
}

enum rsv_state rsv_req_produce(struct rsv_req *req, const uint8_t **pkt, size_t *len,
	struct rsv_addr *dest, enum rsv_transport *transport, uint32_t *timeout_ms,
	uint64_t now)
{
	req->now = now;
	if (req->finished)
		return RSV_DONE;
	if (!rsv_iter_run(req, now))
		return RSV_DONE;
	struct frame *f = rsv_req_top(req);
	*pkt = req->q.buf;
	*len = req->q.len;
	*dest = f->cut.srv[req->q.srv].addr;
	*transport = req->q.tp;
	*timeout_ms = req->q.timeout;
	req->q.handed_out = true;
	return RSV_PRODUCE;
}

enum rsv_state rsv_req_consume(struct rsv_req *req, const uint8_t *pkt, size_t len,
	const struct rsv_addr *from, uint64_t now)
{
	req->now = now;
	if (req->finished)
		return RSV_DONE;
	struct frame *f = rsv_req_top(req);
	if (f->state != RSV_IT_WAIT)
		return RSV_WAIT;
	struct inflight *q = &req->q;
	struct srv *s = &f->cut.srv[q->srv];
	char ab[64];
	if (!pkt) {
		req->stats.timeouts++;
		if (s->case_seen && ++s->case_strikes >= CASE_STRIKES) {
			/* it answered, but never with our case: a server that does not keep it */
			rsv_tracef(req, "%s does not keep the case: ask without 0x20",
				rsv_addr_str(&s->addr, ab, sizeof(ab)));
			rsv_select_set_quirk(req->ctx->select, &s->addr, RSV_QUIRK_NO_0X20, now);
			s->case_seen = false;
			f->retry_same = true;
			f->want_tcp = q->tp == RSV_TCP;
			f->tries--;
		} else if (s->case_seen) {
			/*
			 * One exchange with only a wrong-case reply may be a forger who
			 * guessed the ID (RFC 5452 9.1): ask the same server again with
			 * a fresh ID and case; the try counts, so a flood cannot loop.
			 */
			rsv_tracef(req, "only a wrong-case reply from %s: asking it again with 0x20",
				rsv_addr_str(&s->addr, ab, sizeof(ab)));
			s->case_seen = false;
			f->retry_same = true;
			f->want_tcp = q->tp == RSV_TCP;
		} else {
			rsv_tracef(req, "timeout after %u ms from %s", q->timeout,
				rsv_addr_str(&s->addr, ab, sizeof(ab)));
			rsv_select_timeout(req->ctx->select, &s->addr, now);
		}
		f->state = RSV_IT_SEND;
		return RSV_PRODUCE;
	}
	/* RFC 5452 9.1: the reply must come from where the query went, with its ID and question */
	struct dns_header h;
	if (!from || !rsv_addr_eq(from, &s->addr) || dns_header_parse(pkt, len, &h) != 0 ||
	    h.id != q->id || !(h.flags & DNS_FLAG_QR)) {
		req->stats.forged++;
		rsv_tracef(req, "dropped a reply: wrong source or ID");
		return RSV_WAIT;
	}
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK) {
		req->stats.forged++;
		rsv_tracef(req, "dropped a malformed reply");
		return RSV_WAIT;
	}
	ldns_rr_list *qs = ldns_pkt_question(p);
	int rc = ldns_pkt_get_rcode(p);
	if (ldns_rr_list_rr_count(qs) == 0 && (rc == DNS_RC_FORMERR || rc == DNS_RC_NOTIMP)) {
		/* some servers answer FORMERR without the question (RFC 6891 7 fallback needs it) */
	} else if (ldns_rr_list_rr_count(qs) != 1 ||
		   rrtype(ldns_rr_list_rr(qs, 0)) != q->qtype ||
		   rrclass(ldns_rr_list_rr(qs, 0)) != DNS_CLASS_IN ||
		   !dns_name_eq(rr_owner(ldns_rr_list_rr(qs, 0)), q->name)) {
		req->stats.forged++;
		rsv_tracef(req, "dropped a reply: wrong question");
		ldns_pkt_free(p);
		return RSV_WAIT;
	} else if (memcmp(rr_owner(ldns_rr_list_rr(qs, 0)), q->name, dns_name_len(q->name)) != 0) {
		req->stats.case_drop++;
		s->case_seen = true;
		rsv_tracef(req, "dropped a reply: question case differs (0x20)");
		ldns_pkt_free(p);
		return RSV_WAIT;
	}
	uint64_t rtt = now - q->sent_at;
	rsv_select_rtt(req->ctx->select, &s->addr, rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt, now);
	rsv_tracef(req, "reply from %s in %llu ms", rsv_addr_str(&s->addr, ab, sizeof(ab)),
		(unsigned long long)rtt);
	req->resp = p;
	f->state = RSV_IT_RESPONSE;
	return RSV_PRODUCE;
}

static int write_recs(struct dns_writer *w, const struct rec *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int ret = dns_writer_rr(w, r[i].owner, r[i].type, r[i].rclass, r[i].ttl, r[i].rdata,
			r[i].rdlen);
		if (ret)
			return ret;
	}
	return 0;
}

int rsv_req_finish(struct rsv_req *req, uint8_t *buf, size_t cap, size_t *len)
{
	struct dns_writer w;
	struct frame *f = &req->frames[0];
	unsigned rcode = req->finished ? req->rcode : DNS_RC_SERVFAIL;
	uint16_t flags = DNS_FLAG_QR | DNS_FLAG_RA | (req->cq_rd ? DNS_FLAG_RD : 0) |
		(req->cq_cd ? DNS_FLAG_CD : 0) | (uint16_t)(rcode & 0xf);
	size_t optroom = req->cq_edns ? 11 : 0;
	if (cap < DNS_HEADER_LEN + optroom)
		return DNS_E_SPACE;
	dns_writer_init(&w, buf, cap - optroom);
	int ret = dns_writer_question(&w, req->cq_name, req->cq_type, req->cq_class);
	if (ret)
		return ret;
	if (rcode != DNS_RC_SERVFAIL && rcode != DNS_RC_REFUSED) {
		dns_writer_section(&w, DNS_SEC_ANSWER);
		ret = write_recs(&w, f->ans, f->nans);
		if (ret == 0) {
			dns_writer_section(&w, DNS_SEC_AUTHORITY);
			ret = write_recs(&w, f->auth, f->nauth);
		}
		if (ret == DNS_E_SPACE)
			flags |= DNS_FLAG_TC;
		else if (ret)
			return ret;
	}
	dns_writer_limit(&w, cap);
	if (req->cq_edns) {
		dns_writer_section(&w, DNS_SEC_ADDITIONAL);
		if ((ret = dns_writer_opt(&w, req->ctx->opts.edns_size, 0, 0, NULL, 0)) != 0)
			return ret;
	}
	*len = dns_writer_finish(&w, req->cq_id, flags);
	return 0;
}

unsigned rsv_req_rcode(const struct rsv_req *req)
{
	return req->rcode;
}

const struct rsv_req_stats *rsv_req_stats(const struct rsv_req *req)
{
	return &req->stats;
}

void rsv_req_free(struct rsv_req *req)
{
	if (!req)
		return;
	if (req->resp)
		ldns_pkt_free(req->resp);
	dns_arena_deinit(&req->arena);
	mm_free(req->ctx->mm, req);
}

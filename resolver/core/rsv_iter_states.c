/*
 * rsv_iter_states.c -- the states of a frame, one function each (enum
 * rsv_iter_state), and the loop that dispatches them until a query is to be sent
 * or the request is finished, within the request's budgets.
 */
#include <string.h>

#include "dns_err.h"
#include "dns_pkt.h"
#include "dns_writer.h"
#include "rsv_iter_impl.h"

int rsv_follow_cname(struct rsv_req *req, struct frame *f, const uint8_t *target)
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

/*
 * The server of the cut to ask next: the same again when the last reply asked
 * for it, else the choice of rsv_select among the usable ones; -1 if none.
 */
static int choose_server(struct rsv_req *req, struct frame *f, uint64_t now)
{
	const struct rsv_iter_opts *o = &req->ctx->opts;
	struct cut *cut = &f->cut;
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
	return idx;
}

/* The question to send for the frame: a minimised one (RFC 9156) or the full name. */
static void query_question(struct rsv_req *req, struct frame *f, struct inflight *q)
{
	const struct rsv_iter_opts *o = &req->ctx->opts;
	struct cut *cut = &f->cut;
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
	int idx = choose_server(req, f, now);
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
	query_question(req, f, q);
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
int rsv_iter_run(struct rsv_req *req, uint64_t now)
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

/*
 * rsv_iter_reply.c -- an accepted upstream reply, scrubbed (rsv_scrub.h), read
 * into what it is: an answer (with its CNAME/DNAME chain), a referral, a
 * negative answer (RFC 2308), a reason to retry (TC, EDNS, QNAME minimisation)
 * or a lame server; and its data cached with ranks (RFC 2181 5.4.1).
 */
#include <errno.h>
#include <string.h>

#include "dns_err.h"
#include "dns_pkt.h"
#include "rsv_iter_impl.h"
#include "rsv_scrub.h"

/*
 * Uncompressed rdata of an ldns record into buf: its length, DNS_E_FORMAT when
 * ldns cannot write it, DNS_E_SPACE when it does not fit cap (or 65535), -ENOMEM.
 */
int rsv_rr_rdata(const ldns_rr *rr, uint8_t *buf, size_t cap)
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

static const uint8_t *rr_target(const ldns_rr *rr)
{
	ldns_rdf *f = ldns_rr_rdf(rr, rrtype(rr) == LDNS_RR_TYPE_MX ? 1 : 0);
	if (!f || ldns_rdf_get_type(f) != LDNS_RDF_TYPE_DNAME)
		return NULL;
	return ldns_rdf_data(f);
}

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

/* Cache the RRsets of a scrubbed answer, each section with its rank. */
static void cache_answer(struct rsv_req *req, ldns_pkt *p, uint64_t now)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	bool aa = ldns_pkt_aa(p);
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
}

/*
 * Keep the DNAMEs of the answer section above cur; the first gives the name the
 * chain continues at (RFC 6672 2.2), written to synth and returned (NULL if none).
 */
static const uint8_t *take_dnames(struct rsv_req *req, struct frame *f, ldns_rr_list *an,
	const uint8_t *cur, uint8_t *synth)
{
	const uint8_t *next = NULL;
	size_t n = ldns_rr_list_rr_count(an);
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
	return next;
}

/*
 * The chain of one reply ended at cur, another name than the question's, with
 * no record of the type asked: a negative answer about cur when the reply says
 * so (RFC 6604 3), else resolve cur from the start.
 */
static int chain_end(struct rsv_req *req, struct frame *f, ldns_pkt *p, const uint8_t *cur)
{
	bool aa = ldns_pkt_aa(p);
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

/*
 * Take the answer-chain records of the scrubbed reply, follow CNAME/DNAME: 0 when
 * the frame moved on (result, or the chain to follow), DNS_E_NOTFOUND when the
 * answer section holds nothing for the question (the caller looks further).
 */
static int take_answer(struct rsv_req *req, struct frame *f, ldns_pkt *p, uint64_t now)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	size_t n = ldns_rr_list_rr_count(an);
	uint8_t cur[DNS_NAME_MAX];
	bool final = false;
	cache_answer(req, p, now);
	dns_name_lower(cur, f->qname);
	for (unsigned links = 0; links <= req->ctx->opts.max_cname + 1; links++) {
		uint8_t synth[DNS_NAME_MAX];
		const uint8_t *next = take_dnames(req, f, an, cur, synth);
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
	if (!dns_name_eq(cur, f->qname))
		return chain_end(req, f, p, cur);
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

/*
 * What the reply's header alone decides, before its records are looked at: ask
 * again (over TCP, without EDNS, for the full name) or take the server for lame
 * (an RCODE other than NOERROR and NXDOMAIN). 1 if it decided, else 0.
 */
static int header_verdict(struct rsv_req *req, struct frame *f, ldns_pkt *p, uint64_t now)
{
	struct inflight *q = &req->q;
	struct srv *s = &f->cut.srv[q->srv];
	int rc = ldns_pkt_get_rcode(p);
	char rb[16];
	if (ldns_pkt_tc(p) && q->tp == RSV_UDP) {
		/* RFC 7766 5: truncated, ask again over TCP */
		rsv_tracef(req, "truncated: retry over TCP");
		f->want_tcp = true;
		f->retry_same = true;
		return 1;
	}
	if ((rc == DNS_RC_FORMERR || rc == DNS_RC_NOTIMP) && q->edns && !ldns_pkt_edns(p)) {
		/* RFC 6891 7: a server that does not know EDNS; ask it without */
		rsv_tracef(req, "%s to EDNS: retry without", dns_rcode_name((unsigned)rc, rb));
		rsv_select_set_quirk(req->ctx->select, &s->addr, RSV_QUIRK_NO_EDNS, now);
		f->retry_same = true;
		f->tries--; /* not the server's fault */
		return 1;
	}
	if (q->minimised && rc != DNS_RC_NOERROR) {
		/* RFC 9156 relaxed: a bad answer to the minimised name, ask the full one */
		rsv_tracef(req, "%s to the minimised name: ask the full name",
			dns_rcode_name((unsigned)rc, rb));
		f->qmin_off = true;
		f->retry_same = true;
		return 1;
	}
	if (rc != DNS_RC_NOERROR && rc != DNS_RC_NXDOMAIN) {
		lame(req, f, dns_rcode_name((unsigned)rc, rb));
		return 1;
	}
	return 0;
}

/*
 * A NOERROR reply to a minimised name qn (RFC 9156): a referral moves the cut
 * down; a CNAME means asking for the full name; a name that exists without a
 * cut is asked with one label more.
 */
static void minimised_reply(struct rsv_req *req, struct frame *f, ldns_pkt *p,
	const uint8_t *qn, uint64_t now)
{
	bool aa = ldns_pkt_aa(p);
	size_t nan = ldns_rr_list_rr_count(ldns_pkt_answer(p));
	if (take_referral(req, f, p, qn, now))
		return;
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
}

int rsv_st_response(struct rsv_req *req, struct frame *f, uint64_t now)
{
	ldns_pkt *p = req->resp;
	req->resp = NULL;
	struct inflight *q = &req->q;
	int rc = ldns_pkt_get_rcode(p);
	f->state = RSV_IT_SEND;
	if (header_verdict(req, f, p, now))
		goto out;
	struct rsv_scrub_stats sst;
	int dropped = rsv_scrub(req->ctx->mm, p, q->name, q->qtype, DNS_CLASS_IN, f->cut.zone,
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
		minimised_reply(req, f, p, qn, now);
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

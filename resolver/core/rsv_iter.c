/*
 * rsv_iter.c -- the iterator's API (rsv_iter.h): a request begins, produces the
 * queries the states ask for, consumes replies and timeouts, and is freed; its
 * frames. A reply is taken only from the server asked, with the ID and question
 * sent (RFC 5452 9.1), before rsv_iter_reply.c reads it. The other pieces are
 * listed in rsv_iter_impl.h.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "dns_err.h"
#include "dns_pkt.h"
#include "rsv_iter_impl.h"

/*
 * Exchanges with a server that end with only wrong-case replies before it is
 * taken for one that does not keep the case and asked without 0x20. More than
 * one, so a single forged reply that guessed the ID cannot turn 0x20 off.
 */
#define CASE_STRIKES 2

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

int rsv_frame_push(struct rsv_req *req, const uint8_t *qname, uint16_t qtype)
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
void rsv_frame_result(struct frame *f, int rcode)
{
	f->rcode = rcode;
	if (rcode == DNS_RC_SERVFAIL) {
		f->nans = 0;
		f->nauth = 0;
	}
	f->state = RSV_IT_FRAME_DONE;
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

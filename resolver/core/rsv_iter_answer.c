/*
 * rsv_iter_answer.c -- the records a frame gathers (answer chain, SOA of a
 * negative answer) and the client's answer written from frame 0.
 */
#include <errno.h>
#include <string.h>

#include "dns_err.h"
#include "dns_pkt.h"
#include "dns_writer.h"
#include "rsv_iter_impl.h"

int rsv_rec_add(struct rsv_req *req, struct rec *arr, unsigned *n, unsigned cap,
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

int rsv_rec_add_rr(struct rsv_req *req, struct rec *arr, unsigned *n, unsigned cap,
	const ldns_rr *rr)
{
	uint8_t rd[8192];
	int len = rsv_rr_rdata(rr, rd, sizeof(rd));
	if (len < 0)
		return DNS_E_FORMAT;
	return rsv_rec_add(req, arr, n, cap, rr_owner(rr), rrtype(rr), rrclass(rr),
		ldns_rr_ttl(rr), rd, (uint16_t)len);
}

/* Append a cached view's records to the frame answer under owner. */
void rsv_rec_add_view(struct rsv_req *req, struct frame *f, const struct rsv_rrset *rr,
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

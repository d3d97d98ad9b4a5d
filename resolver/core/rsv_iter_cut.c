/*
 * rsv_iter_cut.c -- zone cuts: the name servers of the deepest zone known for a
 * name and their addresses, from the hints, a referral's glue or the cache.
 */
#include <string.h>

#include "dns_pkt.h"
#include "rsv_iter_impl.h"

/* Cached addresses of a server name into the cut. */
void rsv_cut_add_cached(struct rsv_req *req, struct cut *cut, const uint8_t *name,
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

void rsv_cut_add_ns(struct cut *cut, const uint8_t *name)
{
	for (unsigned i = 0; i < cut->nns; i++)
		if (dns_name_eq(cut->ns[i], name))
			return;
	if (cut->nns < MAX_NS)
		dns_name_lower(cut->ns[cut->nns++], name);
}

void rsv_cut_add_addr(struct cut *cut, const struct rsv_addr *a)
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
uint16_t rsv_upstream_port(const struct rsv_req *req)
{
	const struct rsv_hints *h = req->ctx->hints;
	return h && h->count ? h->hint[0].addr.port : 53;
}

void rsv_cut_from_hints(struct rsv_req *req, struct cut *cut)
{
	const struct rsv_hints *h = req->ctx->hints;
	memset(cut, 0, sizeof(*cut));
	cut->zone[0] = 0;
	for (size_t i = 0; h && i < h->count; i++) {
		rsv_cut_add_ns(cut, h->hint[i].name);
		rsv_cut_add_addr(cut, &h->hint[i].addr);
	}
}

/*
 * rsv_scrub.c -- keep only what the queried server may say.
 */
#include "rsv_scrub.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dns_name.h"
#include "dns_pkt.h"
#include "rsv_ldns.h"

#define CHAIN_MAX 32

/* Wire data of rdata field i if it is a name, else NULL. */
static const uint8_t *rdname(const ldns_rr *rr, size_t i)
{
	ldns_rdf *f = ldns_rr_rdf(rr, i);
	if (!f || ldns_rdf_get_type(f) != LDNS_RDF_TYPE_DNAME)
		return NULL;
	return ldns_rdf_data(f);
}

/* Replace the section list with the records whose keep[] is set; free the rest. */
static int filter(ldns_pkt *pkt, ldns_pkt_section sec, const bool *keep, unsigned *dropped)
{
	ldns_rr_list *old;
	switch (sec) {
	case LDNS_SECTION_ANSWER: old = ldns_pkt_answer(pkt); break;
	case LDNS_SECTION_AUTHORITY: old = ldns_pkt_authority(pkt); break;
	default: old = ldns_pkt_additional(pkt); break;
	}
	size_t n = ldns_rr_list_rr_count(old);
	ldns_rr_list *nl = ldns_rr_list_new();
	if (!nl)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(old, i);
		if (keep[i]) {
			ldns_rr_list_push_rr(nl, rr);
		} else {
			ldns_rr_free(rr);
			(*dropped)++;
		}
	}
	ldns_rr_list_set_rr_count(old, 0);
	ldns_rr_list_free(old);
	size_t kept = ldns_rr_list_rr_count(nl);
	switch (sec) {
	case LDNS_SECTION_ANSWER:
		ldns_pkt_set_answer(pkt, nl);
		ldns_pkt_set_ancount(pkt, (uint16_t)kept);
		break;
	case LDNS_SECTION_AUTHORITY:
		ldns_pkt_set_authority(pkt, nl);
		ldns_pkt_set_nscount(pkt, (uint16_t)kept);
		break;
	default:
		ldns_pkt_set_additional(pkt, nl);
		ldns_pkt_set_arcount(pkt, (uint16_t)kept);
		break;
	}
	return 0;
}

/*
 * DNAME substitution (RFC 6672 2.2): name below owner becomes the same labels
 * below target. False if the result would be too long.
 */
static bool dname_subst(const uint8_t *name, const uint8_t *owner, const uint8_t *target,
	uint8_t *out)
{
	unsigned nl = dns_name_labels(name), ol = dns_name_labels(owner);
	const uint8_t *suffix = dns_name_strip(name, nl - ol);
	size_t prefix = (size_t)(suffix - name);
	size_t tl = dns_name_len(target);
	if (prefix + tl > DNS_NAME_MAX)
		return false;
	memcpy(out, name, prefix);
	memcpy(out + prefix, target, tl);
	return true;
}

/*
 * Answer section: mark in keep the records of the chain from qname, inside zone,
 * at most max_chain links; the chain's last name goes to last.
 */
static void keep_answer(ldns_pkt *pkt, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
	const uint8_t *zone, unsigned max_chain, bool *keep, uint8_t *last)
{
	uint8_t chain[CHAIN_MAX][DNS_NAME_MAX];
	unsigned nchain = 0;
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t nan = ldns_rr_list_rr_count(an);
	dns_name_lower(chain[nchain++], qname);
	for (;;) {
		const uint8_t *cur = chain[nchain - 1];
		const uint8_t *next = NULL;
		uint8_t synth[DNS_NAME_MAX];
		bool have_synth = false;
		if (!dns_name_is_sub(cur, zone))
			break;
		for (size_t i = 0; i < nan; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);
			const uint8_t *o = rr_owner(rr);
			uint16_t t = rrtype(rr);
			if (rrclass(rr) != qclass || !dns_name_is_sub(o, zone))
				continue;
			if (dns_name_eq(o, cur)) {
				if (t == qtype || qtype == DNS_T_ANY || t == DNS_T_RRSIG) {
					keep[i] = true;
				} else if (t == DNS_T_CNAME && rdname(rr, 0)) {
					keep[i] = true;
					next = rdname(rr, 0);
				}
			} else if (t == DNS_T_DNAME && dns_name_is_sub(cur, o) && rdname(rr, 0)) {
				keep[i] = true;
				if (!have_synth && dname_subst(cur, o, rdname(rr, 0), synth))
					have_synth = true;
			}
		}
		if (!next && have_synth)
			next = synth;
		if (!next || nchain > max_chain)
			break;
		/* a name already on the chain: a loop, stop following */
		bool seen = false;
		for (unsigned k = 0; k < nchain; k++)
			seen = seen || dns_name_eq(chain[k], next);
		if (seen)
			break;
		dns_name_lower(chain[nchain++], next);
	}
	memcpy(last, chain[nchain - 1], dns_name_len(chain[nchain - 1]));
}

/* Authority section: mark in keep what a server for zone may say after the chain ending at last. */
static void keep_authority(ldns_pkt *pkt, uint16_t qclass, const uint8_t *zone,
	const uint8_t *last, bool *keep)
{
	ldns_rr_list *ns = ldns_pkt_authority(pkt);
	size_t nns = ldns_rr_list_rr_count(ns);
	for (size_t i = 0; i < nns; i++) {
		ldns_rr *rr = ldns_rr_list_rr(ns, i);
		const uint8_t *o = rr_owner(rr);
		uint16_t t = rrtype(rr);
		if (rrclass(rr) != qclass || !dns_name_is_sub(o, zone))
			continue;
		switch (t) {
		case DNS_T_NS:
		case DNS_T_SOA:
			keep[i] = dns_name_is_sub(last, o);
			break;
		case DNS_T_DS:
		case DNS_T_NSEC:
		case DNS_T_NSEC3:
		case DNS_T_RRSIG:
			keep[i] = true;
			break;
		default:
			break;
		}
	}
}

/*
 * Additional section: mark in keep the addresses, in bailiwick, of the name
 * servers named by the NS records kept in the (already scrubbed) other sections.
 */
static void keep_additional(ldns_pkt *pkt, uint16_t qclass, const uint8_t *zone, bool *keep)
{
	ldns_rr_list *ns = ldns_pkt_authority(pkt);
	size_t nns = ldns_rr_list_rr_count(ns);
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t nan = ldns_rr_list_rr_count(an);
	ldns_rr_list *ar = ldns_pkt_additional(pkt);
	size_t nar = ldns_rr_list_rr_count(ar);
	for (size_t i = 0; i < nar; i++) {
		ldns_rr *rr = ldns_rr_list_rr(ar, i);
		const uint8_t *o = rr_owner(rr);
		uint16_t t = rrtype(rr);
		if (rrclass(rr) != qclass || !dns_name_is_sub(o, zone))
			continue;
		if (t != DNS_T_A && t != DNS_T_AAAA)
			continue;
		for (size_t j = 0; j < nns + nan && !keep[i]; j++) {
			ldns_rr *nsr = j < nns ? ldns_rr_list_rr(ns, j) : ldns_rr_list_rr(an, j - nns);
			if (rrtype(nsr) == DNS_T_NS && rdname(nsr, 0) &&
			    dns_name_eq(rdname(nsr, 0), o))
				keep[i] = true;
		}
	}
}

int rsv_scrub(const struct dns_mm *mm, ldns_pkt *pkt, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
	const uint8_t *zone, unsigned max_chain, struct rsv_scrub_stats *st)
{
	struct rsv_scrub_stats local = { 0 };
	uint8_t last[DNS_NAME_MAX];
	int ret = 0;
	bool *keep = NULL;
	if (max_chain + 1 > CHAIN_MAX)
		max_chain = CHAIN_MAX - 1;

	size_t nmax = ldns_rr_list_rr_count(ldns_pkt_answer(pkt));
	if (ldns_rr_list_rr_count(ldns_pkt_authority(pkt)) > nmax)
		nmax = ldns_rr_list_rr_count(ldns_pkt_authority(pkt));
	if (ldns_rr_list_rr_count(ldns_pkt_additional(pkt)) > nmax)
		nmax = ldns_rr_list_rr_count(ldns_pkt_additional(pkt));
	keep = mm_calloc(mm, nmax + 1, sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	/* answer section: walk the chain from qname */
	keep_answer(pkt, qname, qtype, qclass, zone, max_chain, keep, last);
	if ((ret = filter(pkt, LDNS_SECTION_ANSWER, keep, &local.answer)) < 0)
		goto out;
	memset(keep, 0, (nmax + 1) * sizeof(*keep));
	keep_authority(pkt, qclass, zone, last, keep);
	if ((ret = filter(pkt, LDNS_SECTION_AUTHORITY, keep, &local.authority)) < 0)
		goto out;
	/* additional section: addresses of the kept name servers, in bailiwick */
	memset(keep, 0, (nmax + 1) * sizeof(*keep));
	keep_additional(pkt, qclass, zone, keep);
	ret = filter(pkt, LDNS_SECTION_ADDITIONAL, keep, &local.additional);
out:
	mm_free(mm, keep);
	if (ret < 0)
		return ret;
	if (st)
		*st = local;
	return (int)(local.answer + local.authority + local.additional);
}

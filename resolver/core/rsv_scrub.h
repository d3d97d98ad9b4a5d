/*
 * rsv_scrub.h -- bailiwick scrubbing of an upstream response before the
 * resolver looks at it or caches any of it.
 *
 * Glossary:
 *  - bailiwick: the zone the queried server was asked as an authority for (the
 *    zone cut the resolver followed to reach it). A server can only speak for
 *    names inside it; anything about other names is dropped (the defence against
 *    the Kashpureff-style poisoning of RFC 3833 2.3).
 *  - chain: the question name, then each CNAME target (and DNAME synthesis,
 *    RFC 6672 2.2) followed from it. Only answer records on the chain are kept
 *    ("no unsolicited answers").
 *
 * Rules (after Unbound's iterator/iter_scrub.c, written anew):
 *  - every section: records of another class or with an owner outside the zone
 *    are dropped;
 *  - answer: only the chain's records (the question type, CNAME, DNAME above a
 *    chain name, RRSIG) for chain names, at most max_chain links;
 *  - authority: NS and SOA only at an ancestor-or-self of the last chain name
 *    (a referral or the zone's own apex; never NS of an unrelated zone),
 *    DS/NSEC/NSEC3/RRSIG when in zone, nothing else;
 *  - additional: only A/AAAA of the name servers named by kept NS records (glue
 *    in bailiwick); nothing unsolicited.
 */
#ifndef CAIRN_RSV_SCRUB_H
#define CAIRN_RSV_SCRUB_H

#include <stdint.h>

#include <ldns/ldns.h>

#include "dns_mem.h"

/* Records dropped, per section. */
struct rsv_scrub_stats {
	unsigned answer;      /* dropped from the answer section */
	unsigned authority;   /* dropped from the authority section */
	unsigned additional;  /* dropped from the additional section */
};

/*
 * Scrub pkt in place: the reply to (qname, qtype, qclass) from a server asked as
 * authority for zone (wire names), with scratch memory from mm. *st (may be NULL)
 * gets the counts; returns the total number of records dropped, or -ENOMEM.
 */
int rsv_scrub(const struct dns_mm *mm, ldns_pkt *pkt, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
	const uint8_t *zone, unsigned max_chain, struct rsv_scrub_stats *st);

#endif

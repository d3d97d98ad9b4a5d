/*
 * rsv_ldns.h -- small accessors of ldns records for the resolver core's files
 * that parse with ldns (the iterator, the scrubber, the root hints). Private to
 * resolver/core.
 */
#ifndef CAIRN_RSV_LDNS_H
#define CAIRN_RSV_LDNS_H

#include <stdint.h>

#include <ldns/ldns.h>

/* ldns's enums compared with ours: as plain numbers. */
static inline uint16_t rrtype(const ldns_rr *rr) { return (uint16_t)ldns_rr_get_type(rr); }
static inline uint16_t rrclass(const ldns_rr *rr) { return (uint16_t)ldns_rr_get_class(rr); }

/* Owner name of an ldns record, wire. */
static inline const uint8_t *rr_owner(const ldns_rr *rr)
{
	return ldns_rdf_data(ldns_rr_owner(rr));
}

#endif

/*
 * dns_edns.h -- EDNS(0) (RFC 6891) with Client Subnet (RFC 7871) and Cookies (RFC 7873).
 *
 * Glossary: OPT is the pseudo-RR carrying EDNS; its CLASS is the requester's UDP
 * payload size and its TTL holds the extended RCODE, the version and the DO bit.
 * ECS (EDNS Client Subnet) gives the client network a resolver asks on behalf of;
 * its SOURCE PREFIX says how many address bits are meaningful, and the answer's
 * SCOPE PREFIX says how widely the answer may be reused.
 */
#ifndef CAIRN_DNS_EDNS_H
#define CAIRN_DNS_EDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_EDNS_UDP_DEFAULT 1232  /* DNS flag day 2020 buffer size */
#define DNS_OPT_NSID 3
#define DNS_OPT_ECS 8
#define DNS_OPT_COOKIE 10
#define DNS_OPT_PADDING 12
#define DNS_EDNS_DO 0x8000         /* DO bit in the OPT TTL's flags half */

struct dns_ecs {
	uint16_t family;      /* 1 = IPv4, 2 = IPv6 */
	uint8_t source;       /* SOURCE PREFIX-LENGTH */
	uint8_t scope;        /* SCOPE PREFIX-LENGTH */
	uint8_t addr[16];     /* address, bits beyond source are zero */
};

struct dns_cookie {
	uint8_t client[8];    /* client cookie */
	uint8_t server[32];   /* server cookie, 8..32 octets when present */
	uint8_t server_len;   /* 0 when the request carried only a client cookie */
};

/* Contents of an OPT record. */
struct dns_edns {
	uint16_t udp_size;    /* requester's payload size (values < 512 mean 512) */
	uint8_t ext_rcode;    /* upper 8 bits of the 12-bit RCODE */
	uint8_t version;      /* EDNS version; only 0 is defined */
	uint16_t flags;       /* DO and the reserved Z bits */
	bool has_ecs;
	struct dns_ecs ecs;
	bool has_cookie;
	struct dns_cookie cookie;
	bool has_nsid;        /* NSID requested (RFC 5001) */
};

/*
 * Parse an OPT record's fields: class (payload size), ttl and rdata. Malformed
 * options give DNS_E_OPT: an option running past rdata, an ECS with an unknown
 * family, a source prefix beyond the family's length, an address of the wrong
 * length or with bits set past the prefix, a non-zero scope in a query; a cookie
 * that is not 8 or 16..40 octets. Unknown options are skipped.
 */
int dns_edns_parse(uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
	size_t rdlen, struct dns_edns *e);

/* Encode an ECS option body (family, source, scope, address) into out; returns length or <0. */
int dns_ecs_write(const struct dns_ecs *ecs, uint8_t *out, size_t cap);

#endif

/*
 * auth_answer.h -- the answer engine of cairn-auth: (zone set, query packet,
 * client) -> response bytes.
 *
 * A pure function: no allocation, no clock, no sockets. The answer is built by
 * an explicit state machine (RFC 1034 4.3.2 with RFC 4592 wildcards, RFC 6672
 * DNAME), one function per state, shaped after Knot DNS's
 * nameserver/internet.c and matching NSD 4.6's answers:
 *
 *   LOOKUP    find the zone's closest encloser of the current name
 *   HIT       the name (or a wildcard) owns the type: answer it, apex NS in
 *             authority, addresses of NS/MX/SRV targets in additional
 *   FOLLOW    a CNAME at the name or a DNAME above it: add it (synthesising
 *             the CNAME for a DNAME) and look the target up again
 *   DELEG     the name is at or below a zone cut: referral (NS in authority,
 *             glue in additional, no AA)
 *   NODATA    the name exists without the type: SOA in authority
 *   NXDOMAIN  the name does not exist: NXDOMAIN, SOA in authority
 *   STEER     a steered name (CDN): the addresses the steering hook chose
 *   TRUNC     required data did not fit: empty sections, TC
 *   DONE      the message is complete
 *
 * Glossary: closest encloser = the deepest existing ancestor of a name (the
 * name itself when it exists; empty non-terminals exist). Zone cut = a name
 * below the apex owning NS records.
 */
#ifndef CAIRN_AUTH_ANSWER_H
#define CAIRN_AUTH_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth_zone.h"
#include "dns_edns.h"

/* Our EDNS UDP payload size, advertised in every OPT we send. */
#define AUTH_EDNS_SIZE 1232
/* Most CNAME/DNAME hops followed for one query (loops stop earlier). */
#define AUTH_CHAIN_MAX 16

/* States of the answer machine (see the file comment). */
enum auth_state {
	AUTH_STATE_LOOKUP = 0, /* find the closest encloser in the current zone */
	AUTH_STATE_HIT,        /* answer the RRset found */
	AUTH_STATE_FOLLOW,     /* add a CNAME/DNAME and restart at its target */
	AUTH_STATE_DELEG,      /* referral to a child zone */
	AUTH_STATE_NODATA,     /* name exists, type does not */
	AUTH_STATE_NXDOMAIN,   /* name does not exist */
	AUTH_STATE_STEER,      /* a steered name: the hook's addresses */
	AUTH_STATE_TRUNC,      /* required data did not fit: TC */
	AUTH_STATE_DONE        /* finished */
};

/* Name of a state for logs ("HIT", ...). */
const char *auth_state_name(enum auth_state s);

/* Who asked. */
struct auth_client {
	uint8_t family;    /* 4 or 6; 0 when unknown */
	uint8_t addr[16];  /* address, network byte order (4 bytes used for IPv4) */
	bool tcp;          /* the query came over TCP (size limit 65535) */
};

/* What happened, for metrics and logs. */
struct auth_answer_info {
	bool dropped;                  /* no reply: *outlen is 0 */
	uint16_t rcode;                /* response RCODE, extended (16 = BADVERS) */
	uint16_t qtype;                /* query type (0 if the question did not parse) */
	uint16_t opcode;               /* query opcode */
	const struct auth_zone *zone;  /* zone of the query name (borrowed), NULL if none */
	bool aa;                       /* AA set */
	bool tc;                       /* TC set */
	bool edns;                     /* an OPT record is in the reply */
	enum auth_state last;          /* last state before DONE (HIT, NODATA, ...) */
	bool steered;                  /* a steering hook chose the answer's addresses */
	uint8_t ecs_scope;             /* ECS scope returned (when the query had ECS) */
};

/* ---- hooks: CDN steering and CHAOS explanations ----------------------------- */

/* Most addresses a steering hook may answer with. */
#define AUTH_STEER_MAX 16

/* What a steering hook is told about the name being looked up. */
struct auth_steer_query {
	const struct auth_zone *zone;       /* zone answering */
	const uint8_t *owner;               /* canonical (lower-case) name being looked up */
	size_t owner_len;                   /* its length */
	uint16_t qtype;                     /* type asked */
	const struct auth_client *client;   /* the asker */
	const struct dns_ecs *ecs;          /* EDNS Client Subnet of the query, NULL if none */
};

/* What a steering hook says back for an A or AAAA query. */
struct auth_steer_result {
	uint8_t rdlen;                      /* 4 (A) or 16 (AAAA) */
	uint16_t n;                         /* addresses; 0: none of that type (NODATA) */
	uint8_t addr[AUTH_STEER_MAX][16];   /* the addresses (rdlen bytes used) */
	uint32_t ttl;                       /* TTL of the answer RRset */
	uint8_t ecs_scope;                  /* ECS SCOPE PREFIX-LENGTH (RFC 7871 7.2.1) */
};

/* Optional hooks; every member may be NULL. */
struct auth_hooks {
	/*
	 * Called when the answer engine looks up a name inside a zone (not at
	 * or below a zone cut), the query name or a CNAME/DNAME target. Return 0
	 * when the name is not steered: the zone data answers. Return 1 when it
	 * is steered: for an A or AAAA query fill res, and the answer is res's
	 * addresses (or NODATA when res->n is 0) with res->ecs_scope; for any
	 * other type the zone's data at the name answers, and a name that does
	 * not exist in the zone gets NODATA instead of NXDOMAIN (the steered
	 * name exists). Must not fail; no allocation.
	 */
	int (*steer)(void *ctx, const struct auth_steer_query *q,
		struct auth_steer_result *res);
	/*
	 * Called for a class CH (RFC 1035 3.2.4) query of type TXT. Write the
	 * text to return into buf ('\n' separates lines; each line becomes one
	 * TXT record) and return its length, or return < 0 to answer REFUSED.
	 * qname is the canonical query name; ecs as in steer.
	 */
	int (*chaos_txt)(void *ctx, const uint8_t *qname, size_t qname_len,
		const struct auth_client *client, const struct dns_ecs *ecs,
		char *buf, size_t cap);
	void *ctx;  /* passed to the hooks */
};

/*
 * Answer the query in pkt[0..len) from set (NULL = serve nothing: REFUSED).
 * Writes the response into out[0..outcap) (outcap >= 512; a UDP reply is
 * limited further to 512 without EDNS, else to the client's EDNS size clamped
 * to [512, AUTH_EDNS_SIZE]; TCP to 65535) and its length into *outlen, 0 when
 * the packet must be dropped. info (may be NULL) is filled for metrics.
 * hooks may be NULL. Returns 0, or -EINVAL when outcap < 512.
 */
int auth_answer(const struct auth_zoneset *set, const uint8_t *pkt, size_t len,
	const struct auth_client *client, const struct auth_hooks *hooks,
	uint8_t *out, size_t outcap, size_t *outlen, struct auth_answer_info *info);

/*
 * True when pkt looks like a NOTIFY request (RFC 1996: opcode 4, QR clear),
 * so the io layer can take it before auth_answer() (which answers NOTIMP).
 */
bool auth_is_notify(const uint8_t *pkt, size_t len);

#endif

/*
 * rsv_select.h -- what the resolver knows about upstream server addresses, and
 * which one to ask next.
 *
 * Glossary:
 *  - SRTT / RTTVAR: smoothed round-trip time and its variance per server address,
 *    updated from every answered query as in RFC 6298 2 (alpha 1/8, beta 1/4).
 *  - RTO: retransmission timeout, how long to wait for this server's answer:
 *    SRTT + 4 * RTTVAR once measured, rto_init (~400 ms) for an unknown server;
 *    doubled on each timeout (RFC 6298 5.5) up to rto_max (10 s).
 *  - hold-down: a server that timed out hold_after times in a row is skipped
 *    for hold_ms unless no other server is left.
 *  - exploration: now and then (explore_permille) a random candidate is asked
 *    instead of the fastest, so a server that became faster is noticed.
 *  - quirks: per-server flags learnt from its answers: no EDNS (answered FORMERR
 *    to an OPT, RFC 6891 7) and no 0x20 (does not echo the question's case).
 *
 * Pure core: `now` in milliseconds and the random source are passed in. The
 * table is a fixed number of slots in sets of four (a hash of the address picks
 * the set; a newcomer to a full set replaces the server updated longest ago),
 * guarded by a mutex so worker threads can share it.
 */
#ifndef CAIRN_RSV_SELECT_H
#define CAIRN_RSV_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_mem.h"
#include "dns_rng.h"

/* An upstream server address: family, address bytes and port (host order). */
struct rsv_addr {
	uint8_t family;   /* 4 or 6 */
	uint16_t port;    /* UDP/TCP port, 53 normally */
	uint8_t ip[16];   /* 4 bytes used for IPv4 */
};

/* True if a and b are the same family, address and port. */
bool rsv_addr_eq(const struct rsv_addr *a, const struct rsv_addr *b);
/* Parse "192.0.2.1", "2001:db8::1" (port 53), "192.0.2.1@5300" or "[2001:db8::1]:5300"; DNS_E_SYNTAX. */
int rsv_addr_parse(const char *text, struct rsv_addr *out);
/* Presentation form "addr" (or "addr@port" when not 53) into buf (>= 64 bytes). */
const char *rsv_addr_str(const struct rsv_addr *a, char *buf, size_t size);

/* Settings of the selection table; rsv_select_opts_default() fills them. */
struct rsv_select_opts {
	uint32_t rto_init;          /* RTO of a server never measured (ms), default 400 */
	uint32_t rto_min;           /* lower bound of a measured RTO (ms), default 50 */
	uint32_t rto_max;           /* cap of the RTO and its backoff (ms), default 10000 */
	unsigned hold_after;        /* consecutive timeouts before a hold-down, default 3 */
	uint32_t hold_ms;           /* length of a hold-down (ms), default 15000 */
	unsigned explore_permille;  /* chance per choice of asking a random candidate, default 30 */
	bool tie_random;            /* break ties among equal candidates at random, default true */
	size_t slots;               /* table size (servers remembered), default 4096 */
};

/* What is known about one server (a copy, for callers and tests). */
struct rsv_srv_info {
	bool known;          /* the table has an entry for this address */
	uint32_t srtt;       /* smoothed RTT (ms), 0 if never measured */
	uint32_t rttvar;     /* RTT variance (ms) */
	uint32_t rto;        /* current retransmission timeout (ms) */
	uint16_t timeouts;   /* consecutive timeouts */
	uint64_t held_until; /* end of the hold-down (0 if none) */
	bool no_edns;        /* answer it without OPT */
	bool no_0x20;        /* it does not keep the question's case */
};

/* Quirk flags for rsv_select_set_quirk(). */
#define RSV_QUIRK_NO_EDNS 0x1
#define RSV_QUIRK_NO_0X20 0x2

struct rsv_select;

/* Fill o with the defaults (400 ms, 50 ms..10 s, hold after 3 for 15 s, 3% exploration). */
void rsv_select_opts_default(struct rsv_select_opts *o);
/* Create a table; -ENOMEM, -EINVAL (slots 0). */
int rsv_select_new(const struct dns_mm *mm, const struct rsv_select_opts *opts,
	struct rsv_select **out);
/* Free the table (s may be NULL). */
void rsv_select_free(struct rsv_select *s);
/* The settings in use. */
const struct rsv_select_opts *rsv_select_opts(const struct rsv_select *s);

/* What the table says about addr at now (defaults for an unknown server). */
void rsv_select_get(struct rsv_select *s, const struct rsv_addr *addr, uint64_t now,
	struct rsv_srv_info *out);
/*
 * Pick one of the n candidates: the one with the lowest RTO among those not held
 * down (held-down ones only when nothing else is left, the one released first),
 * or with probability explore_permille a random candidate not held down.
 * Candidates with skip[i] set are never picked (skip may be NULL). Returns the
 * index, or -1 if every candidate is skipped.
 */
int rsv_select_choose(struct rsv_select *s, const struct rsv_addr *cand, size_t n,
	const bool *skip, const struct dns_rng *rng, uint64_t now);
/* The timeout to wait for addr's answer (ms): its RTO. */
uint32_t rsv_select_timeout_ms(struct rsv_select *s, const struct rsv_addr *addr, uint64_t now);
/* addr answered after rtt_ms: update SRTT/RTTVAR/RTO, clear timeouts and hold-down. */
void rsv_select_rtt(struct rsv_select *s, const struct rsv_addr *addr, uint32_t rtt_ms, uint64_t now);
/* addr did not answer in time: double its RTO (capped), count, maybe hold it down. */
void rsv_select_timeout(struct rsv_select *s, const struct rsv_addr *addr, uint64_t now);
/* Remember a quirk (RSV_QUIRK_*) of addr. */
void rsv_select_set_quirk(struct rsv_select *s, const struct rsv_addr *addr, unsigned quirk, uint64_t now);

#endif

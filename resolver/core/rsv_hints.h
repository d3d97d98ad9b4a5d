/*
 * rsv_hints.h -- root hints: the names and addresses of the root name servers
 * the resolver starts from (RFC 8109 "priming": a first ". NS" query to one of
 * them then fills the cache with the current set).
 *
 * The IANA set (https://www.internic.net/domain/named.root) is built in; a
 * hints file in the same zone-file form (". NS name" and "name A/AAAA addr"
 * lines) replaces it. Parsed addresses get the port the caller passes (53,
 * or another on a test network); rsv_hints_add() takes any address and port.
 * Reading the file is the shell's part (resolver/io/rsvd_hints.c).
 * The iterator asks every upstream server on the port of the first hint.
 */
#ifndef CAIRN_RSV_HINTS_H
#define CAIRN_RSV_HINTS_H

#include <stddef.h>
#include <stdint.h>

#include "dns_name.h"
#include "rsv_select.h"

#define RSV_HINTS_MAX 64  /* addresses kept */

/* One root server address. */
struct rsv_hint {
	uint8_t name[DNS_NAME_MAX]; /* server name, wire, lower-case */
	struct rsv_addr addr;       /* one of its addresses */
};

/* The root hints. */
struct rsv_hints {
	size_t count;                         /* entries used */
	struct rsv_hint hint[RSV_HINTS_MAX];  /* the entries */
};

/* Fill h with the built-in IANA root hints (13 servers, IPv4 and IPv6). */
void rsv_hints_builtin(struct rsv_hints *h);
/* Add one entry (name in wire form); DNS_E_SPACE when full. */
int rsv_hints_add(struct rsv_hints *h, const uint8_t *name, const struct rsv_addr *addr);
/*
 * Replace h by the hints in text (zone-file lines: root NS records and the
 * A/AAAA records of those names; others ignored; comments with ';'). Addresses
 * use port port (53 normally). DNS_E_SYNTAX for a line that does not parse
 * (*line gets its number when line is not NULL), DNS_E_NOTFOUND if no NS name
 * has an address.
 */
int rsv_hints_parse(struct rsv_hints *h, const char *text, uint16_t port, unsigned *line);

#endif

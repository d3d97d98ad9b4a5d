/* dns_edns.c -- OPT record contents: EDNS0, Client Subnet, Cookies. */
#include <string.h>

#include "dns_cursor.h"
#include "dns_edns.h"
#include "dns_err.h"

/* RFC 7871 6: family, prefixes and address must agree; scope is 0 in queries. */
static int parse_ecs(const uint8_t *p, uint16_t len, struct dns_ecs *ecs)
{
	struct dns_cursor c;
	const uint8_t *addr;
	unsigned maxbits;

	dns_cursor_init(&c, p, len);
	if (dns_cursor_u16(&c, &ecs->family) < 0 || dns_cursor_u8(&c, &ecs->source) < 0 ||
	    dns_cursor_u8(&c, &ecs->scope) < 0)
		return DNS_E_OPT;
	if (ecs->family == 1)
		maxbits = 32;
	else if (ecs->family == 2)
		maxbits = 128;
	else
		return DNS_E_OPT;
	if (ecs->source > maxbits || ecs->scope != 0)
		return DNS_E_OPT;
	size_t nbytes = (ecs->source + 7u) / 8u;
	if (dns_cursor_left(&c) != nbytes || dns_cursor_bytes(&c, nbytes, &addr) < 0)
		return DNS_E_OPT;
	memset(ecs->addr, 0, sizeof(ecs->addr));
	memcpy(ecs->addr, addr, nbytes);
	/* Bits beyond the source prefix must be zero. */
	if (ecs->source % 8 && (addr[nbytes - 1] & (0xffu >> (ecs->source % 8))))
		return DNS_E_OPT;
	return 0;
}

int dns_edns_parse(uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
	size_t rdlen, struct dns_edns *e)
{
	struct dns_cursor c;

	memset(e, 0, sizeof(*e));
	e->udp_size = rclass;
	e->ext_rcode = (uint8_t)(ttl >> 24);
	e->version = (uint8_t)(ttl >> 16);
	e->flags = (uint16_t)ttl;

	dns_cursor_init(&c, rdata, rdlen);
	while (dns_cursor_left(&c) > 0) {
		uint16_t code, len;
		const uint8_t *body;
		if (dns_cursor_u16(&c, &code) < 0 || dns_cursor_u16(&c, &len) < 0 ||
		    dns_cursor_bytes(&c, len, &body) < 0)
			return DNS_E_OPT;
		switch (code) {
		case DNS_OPT_ECS:
			if (e->has_ecs || parse_ecs(body, len, &e->ecs) < 0)
				return DNS_E_OPT;
			e->has_ecs = true;
			break;
		case DNS_OPT_COOKIE:
			/* RFC 7873 5.2: client cookie 8 octets, server cookie 8..32. */
			if (e->has_cookie || !(len == 8 || (len >= 16 && len <= 40)))
				return DNS_E_OPT;
			memcpy(e->cookie.client, body, 8);
			e->cookie.server_len = (uint8_t)(len - 8);
			memcpy(e->cookie.server, body + 8, len - 8u);
			e->has_cookie = true;
			break;
		case DNS_OPT_NSID:
			e->has_nsid = true;
			break;
		default:
			break; /* RFC 6891 6.1.2: unknown options are ignored */
		}
	}
	return 0;
}

int dns_ecs_write(const struct dns_ecs *ecs, uint8_t *out, size_t cap)
{
	size_t nbytes = (ecs->source + 7u) / 8u;
	if (cap < 4 + nbytes)
		return DNS_E_SPACE;
	out[0] = (uint8_t)(ecs->family >> 8);
	out[1] = (uint8_t)ecs->family;
	out[2] = ecs->source;
	out[3] = ecs->scope;
	memcpy(out + 4, ecs->addr, nbytes);
	if (ecs->source % 8)
		out[4 + nbytes - 1] &= (uint8_t)(0xffu << (8 - ecs->source % 8));
	return (int)(4 + nbytes);
}

/* dns_pkt.c -- header codec, query parsing, type and rcode mnemonics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_cursor.h"
#include "dns_err.h"
#include "dns_pkt.h"

int dns_header_parse(const uint8_t *pkt, size_t len, struct dns_header *h)
{
	struct dns_cursor c;
	dns_cursor_init(&c, pkt, len);
	if (len < DNS_HEADER_LEN)
		return DNS_E_SHORT;
	(void)dns_cursor_u16(&c, &h->id);
	(void)dns_cursor_u16(&c, &h->flags);
	(void)dns_cursor_u16(&c, &h->qdcount);
	(void)dns_cursor_u16(&c, &h->ancount);
	(void)dns_cursor_u16(&c, &h->nscount);
	(void)dns_cursor_u16(&c, &h->arcount);
	return 0;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void dns_header_write(uint8_t *out, const struct dns_header *h)
{
	put16(out, h->id);
	put16(out + 2, h->flags);
	put16(out + 4, h->qdcount);
	put16(out + 6, h->ancount);
	put16(out + 8, h->nscount);
	put16(out + 10, h->arcount);
}

/* Skip one resource record; report OPT records to the caller. */
static int read_rr(struct dns_cursor *c, bool *is_opt, bool *root_owner,
	uint16_t *rclass, uint32_t *ttl, const uint8_t **rdata, uint16_t *rdlen)
{
	uint8_t first = 0;
	uint16_t type;
	int r;

	if (dns_cursor_left(c) > 0)
		first = c->base[c->pos];
	if ((r = dns_cursor_skip_name(c)) < 0)
		return r;
	*root_owner = first == 0;
	if ((r = dns_cursor_u16(c, &type)) < 0 || (r = dns_cursor_u16(c, rclass)) < 0 ||
	    (r = dns_cursor_u32(c, ttl)) < 0 || (r = dns_cursor_u16(c, rdlen)) < 0 ||
	    (r = dns_cursor_bytes(c, *rdlen, rdata)) < 0)
		return r;
	*is_opt = type == DNS_T_OPT;
	return 0;
}

enum dns_query_verdict dns_query_parse(const uint8_t *pkt, size_t len,
	struct dns_query *q, int *err)
{
	struct dns_cursor c;
	int r, dummy;

	if (!err)
		err = &dummy;
	*err = 0;
	q->has_opt = false;
	q->qname_len = 0;
	q->question_end = 0;
	if ((r = dns_header_parse(pkt, len, &q->hdr)) < 0) {
		*err = r;
		return DNS_QUERY_DROP;
	}
	if (q->hdr.flags & DNS_FLAG_QR) {
		/* A response sent to a server: answering could start a loop (RFC 1035 7.3). */
		*err = DNS_E_FORMAT;
		return DNS_QUERY_DROP;
	}
	if (q->hdr.qdcount != 1) {
		*err = DNS_E_FORMAT;
		return DNS_QUERY_FORMERR;
	}
	dns_cursor_init(&c, pkt, len);
	c.pos = DNS_HEADER_LEN;
	if ((r = dns_cursor_name(&c, q->qname, &q->qname_len)) < 0 ||
	    (r = dns_cursor_u16(&c, &q->qtype)) < 0 ||
	    (r = dns_cursor_u16(&c, &q->qclass)) < 0) {
		q->qname_len = 0;
		*err = r;
		return DNS_QUERY_FORMERR;
	}
	q->question_end = c.pos;

	unsigned total = (unsigned)q->hdr.ancount + q->hdr.nscount + q->hdr.arcount;
	for (unsigned i = 0; i < total; i++) {
		bool is_opt, root_owner;
		uint16_t rclass, rdlen;
		uint32_t ttl;
		const uint8_t *rdata;
		if ((r = read_rr(&c, &is_opt, &root_owner, &rclass, &ttl, &rdata, &rdlen)) < 0) {
			*err = r;
			return DNS_QUERY_FORMERR;
		}
		if (!is_opt)
			continue;
		/* RFC 6891 6.1.1: one OPT, owned by the root, in the additional section. */
		bool in_additional = i >= (unsigned)q->hdr.ancount + q->hdr.nscount;
		if (q->has_opt || !root_owner || !in_additional) {
			*err = DNS_E_OPT;
			return DNS_QUERY_BADOPT;
		}
		q->has_opt = true;
		if ((r = dns_edns_parse(rclass, ttl, rdata, rdlen, &q->edns)) < 0) {
			*err = r;
			return DNS_QUERY_BADOPT;
		}
	}
	if (dns_cursor_left(&c) > 0) {
		*err = DNS_E_TRAILING;
		return DNS_QUERY_FORMERR;
	}
	return DNS_QUERY_OK;
}

struct type_name {
	uint16_t type;
	const char *name;
};

static const struct type_name types[] = {
	{DNS_T_A, "A"}, {DNS_T_NS, "NS"}, {DNS_T_CNAME, "CNAME"}, {DNS_T_SOA, "SOA"},
	{DNS_T_PTR, "PTR"}, {DNS_T_HINFO, "HINFO"}, {DNS_T_MX, "MX"}, {DNS_T_TXT, "TXT"},
	{DNS_T_RP, "RP"}, {DNS_T_AFSDB, "AFSDB"}, {DNS_T_SIG, "SIG"}, {DNS_T_KEY, "KEY"},
	{DNS_T_AAAA, "AAAA"}, {DNS_T_LOC, "LOC"}, {DNS_T_NXT, "NXT"}, {DNS_T_SRV, "SRV"},
	{DNS_T_NAPTR, "NAPTR"}, {DNS_T_KX, "KX"}, {DNS_T_CERT, "CERT"},
	{DNS_T_DNAME, "DNAME"}, {DNS_T_OPT, "OPT"}, {DNS_T_DS, "DS"},
	{DNS_T_SSHFP, "SSHFP"}, {DNS_T_RRSIG, "RRSIG"}, {DNS_T_NSEC, "NSEC"},
	{DNS_T_DNSKEY, "DNSKEY"}, {DNS_T_NSEC3, "NSEC3"}, {DNS_T_NSEC3PARAM, "NSEC3PARAM"},
	{DNS_T_TLSA, "TLSA"}, {DNS_T_CDS, "CDS"}, {DNS_T_CDNSKEY, "CDNSKEY"},
	{DNS_T_SVCB, "SVCB"}, {DNS_T_HTTPS, "HTTPS"}, {DNS_T_SPF, "SPF"},
	{DNS_T_TKEY, "TKEY"}, {DNS_T_TSIG, "TSIG"}, {DNS_T_IXFR, "IXFR"},
	{DNS_T_AXFR, "AXFR"}, {DNS_T_MAILB, "MAILB"}, {DNS_T_MAILA, "MAILA"},
	{DNS_T_ANY, "ANY"}, {DNS_T_CAA, "CAA"},
};

const char *dns_type_name(uint16_t type, char *buf)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	snprintf(buf, 16, "TYPE%u", type);
	return buf;
}

int dns_type_from_str(const char *s)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(types[i].name, s) == 0)
			return types[i].type;
	if (strncasecmp(s, "TYPE", 4) == 0 && s[4]) {
		char *end;
		unsigned long v = strtoul(s + 4, &end, 10);
		if (*end == '\0' && v <= 65535)
			return (int)v;
	}
	return DNS_E_NOTFOUND;
}

const char *dns_rcode_name(unsigned rcode, char *buf)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
		"NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	if (rcode == DNS_RC_BADVERS)
		return "BADVERS";
	snprintf(buf, 16, "RCODE%u", rcode);
	return buf;
}

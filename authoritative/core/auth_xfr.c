/*
 * auth_xfr.c -- zone replication without I/O: AXFR writer and consumer (RFC
 * 5936), NOTIFY (RFC 1996) and SOA query messages, the refresh timers of a
 * secondary (RFC 1035 4.3.5), serial arithmetic (RFC 1982). See auth_xfr.h.
 */
#include "auth_xfr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns_cursor.h"
#include "dns_err.h"
#include "dns_writer.h"

#define OPT_RR_LEN 11 /* root owner, type, class, ttl, rdlen: an OPT without options */

/* ---- serial arithmetic ------------------------------------------------------- */

int auth_serial_cmp(uint32_t a, uint32_t b)
{
	/* RFC 1982 3.2: a < b when (a < b and b - a < 2^31) or (a > b and
	 * a - b > 2^31); unsigned wrap-around makes both one test on b - a. */
	if (a == b)
		return 0;
	uint32_t d = b - a;
	/* Exactly 2^31 apart is undefined: never "newer", so it orders below. */
	return d > 0x80000000u ? 1 : -1;
}

/* ---- helpers ------------------------------------------------------------------ */

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read and compare the question at the cursor with <name, type, IN>. */
static int question_matches(struct dns_cursor *c, const uint8_t *name, uint16_t type,
	bool *match)
{
	uint8_t qn[DNS_NAME_MAX];
	uint16_t qt, qc;
	int r;

	if ((r = dns_cursor_name(c, qn, NULL)) < 0 || (r = dns_cursor_u16(c, &qt)) < 0 ||
	    (r = dns_cursor_u16(c, &qc)) < 0)
		return r;
	*match = dns_name_eq(qn, name) && qt == type && qc == DNS_CLASS_IN;
	return 0;
}

/* Skip one resource record at the cursor (name, fixed part, RDATA). */
static int skip_rr(struct dns_cursor *c)
{
	uint16_t rdlen;
	int r;

	if ((r = dns_cursor_skip_name(c)) < 0 || (r = dns_cursor_skip(c, 8)) < 0 ||
	    (r = dns_cursor_u16(c, &rdlen)) < 0 || (r = dns_cursor_skip(c, rdlen)) < 0)
		return r;
	return 0;
}

/* ---- AXFR out ------------------------------------------------------------------ */

void auth_axfr_out_init(struct auth_axfr_out *o, const struct auth_zone *z,
	const struct dns_query *q)
{
	memset(o, 0, sizeof(*o));
	o->z = z;
	auth_zone_iter_init(&o->it, z);
	o->first = true;
	o->id = q->hdr.id;
	memcpy(o->qname, q->qname, q->qname_len);
	o->qtype = q->qtype;
	o->qclass = q->qclass;
	o->opt = q->has_opt;
	o->flags_rd = q->hdr.flags & DNS_FLAG_RD;
}

int auth_axfr_out_next(struct auth_axfr_out *o, uint8_t *buf, size_t cap)
{
	struct dns_writer w;
	int r;

	if (!o->has_next) {
		if (!auth_zone_iter_next(&o->it, &o->next))
			return 0;
		o->has_next = true;
	}
	if (cap > DNS_MSG_MAX)
		cap = DNS_MSG_MAX;
	if (cap < DNS_HEADER_LEN + (o->opt ? OPT_RR_LEN : 0))
		return DNS_E_SPACE;
	dns_writer_init(&w, buf, cap);
	if (o->first) {
		/* RFC 5936 2.2.1: the first message carries the question. */
		if ((r = dns_writer_question(&w, o->qname, o->qtype, o->qclass)) < 0)
			return r;
	}
	dns_writer_section(&w, DNS_SEC_ANSWER);
	if (o->opt)
		dns_writer_limit(&w, cap - OPT_RR_LEN);
	while (o->has_next) {
		r = dns_writer_rr(&w, o->next.owner, o->next.type, o->next.rclass,
			o->next.ttl, o->next.rdata, o->next.rdlen);
		if (r == DNS_E_SPACE && w.count[DNS_SEC_ANSWER] > 0)
			break; /* message full: this record opens the next one */
		if (r < 0)
			return r;
		o->rrs++;
		o->has_next = auth_zone_iter_next(&o->it, &o->next);
	}
	if (o->opt) {
		dns_writer_limit(&w, cap);
		if ((r = dns_writer_opt(&w, DNS_EDNS_UDP_DEFAULT, 0, 0, NULL, 0)) < 0)
			return r;
	}
	o->first = false;
	o->msgs++;
	return (int)dns_writer_finish(&w, o->id,
		DNS_FLAG_QR | DNS_FLAG_AA | o->flags_rd);
}

/* ---- AXFR in ------------------------------------------------------------------- */

/*
 * RDATA layouts of the types whose embedded names may arrive compressed
 * (RFC 3597 4: the RFC 1035 types MUST be decompressed, RP, AFSDB, RT, SIG,
 * PX, NXT, NAPTR and SRV SHOULD). Letters: n a domain name, b/s/l a 1/2/4
 * octet field, c a <character-string>; whatever follows is copied as is.
 */
static const char *rdata_layout(uint16_t type)
{
	switch (type) {
	case DNS_T_NS: case 3 /* MD */: case 4 /* MF */: case DNS_T_CNAME:
	case 7 /* MB */: case 8 /* MG */: case 9 /* MR */: case DNS_T_PTR:
	case DNS_T_NXT:
		return "n";
	case DNS_T_SOA:
		return "nnlllll";
	case 14 /* MINFO */: case DNS_T_RP:
		return "nn";
	case DNS_T_MX: case DNS_T_AFSDB: case 21 /* RT */:
		return "sn";
	case 26 /* PX */:
		return "snn";
	case DNS_T_SIG:
		return "sbblllsn";
	case DNS_T_SRV:
		return "sssn";
	case DNS_T_NAPTR:
		return "sscccn";
	default:
		return NULL;
	}
}

/*
 * Copy the RDATA at the cursor (rdlen octets) into out, expanding compressed
 * names. The cursor's view is cut at the end of the RDATA so inline parts of a
 * name cannot run past it; pointers only go backwards, into the message.
 */
static int rdata_expand(const struct dns_cursor *msg, uint16_t type, uint16_t rdlen,
	uint8_t *out, size_t outcap, size_t *outlen)
{
	const char *lay = rdata_layout(type);
	struct dns_cursor c = { .base = msg->base, .len = msg->pos + rdlen, .pos = msg->pos };
	size_t n = 0;
	int r;

	if (c.len > msg->len)
		return DNS_E_SHORT;
	for (; lay && *lay; lay++) {
		size_t fl;
		const uint8_t *p;
		if (*lay == 'n') {
			uint8_t name[DNS_NAME_MAX];
			size_t nl;
			if ((r = dns_cursor_name(&c, name, &nl)) < 0)
				return r;
			if (outcap - n < nl)
				return DNS_E_SPACE;
			memcpy(out + n, name, nl);
			n += nl;
			continue;
		}
		if (*lay == 'c') {
			uint8_t l;
			if ((r = dns_cursor_u8(&c, &l)) < 0)
				return r;
			c.pos--;
			fl = 1 + (size_t)l;
		} else {
			fl = *lay == 'b' ? 1 : *lay == 's' ? 2 : 4;
		}
		if ((r = dns_cursor_bytes(&c, fl, &p)) < 0)
			return r;
		if (outcap - n < fl)
			return DNS_E_SPACE;
		memcpy(out + n, p, fl);
		n += fl;
	}
	size_t rest = dns_cursor_left(&c);
	if (outcap - n < rest)
		return DNS_E_SPACE;
	memcpy(out + n, c.base + c.pos, rest);
	*outlen = n + rest;
	return 0;
}

int auth_axfr_in_init(struct auth_axfr_in *in, const struct dns_mm *mm,
	const uint8_t *origin, uint16_t id)
{
	memset(in, 0, sizeof(*in));
	in->mm = mm;
	dns_name_lower(in->origin, origin);
	in->id = id;
	in->state = AUTH_AXFR_IN_START;
	in->rdbuf = mm_alloc(mm, AUTH_AXFR_RDBUF);
	if (!in->rdbuf)
		return -ENOMEM;
	if (auth_zone_builder_new(mm, in->origin, &in->b) < 0) {
		auth_axfr_in_deinit(in);
		return -ENOMEM;
	}
	return 0;
}

static int in_fail(struct auth_axfr_in *in, int r, const char *why)
{
	in->state = AUTH_AXFR_IN_FAILED;
	in->why = why;
	return r;
}

/* One answer-section record of an AXFR response. */
static int in_record(struct auth_axfr_in *in, struct dns_cursor *c)
{
	uint8_t owner[DNS_NAME_MAX];
	uint8_t *tbuf = in->rdbuf;
	uint16_t type, rclass, rdlen;
	uint32_t ttl;
	size_t rl;
	int r;

	if (in->state == AUTH_AXFR_IN_DONE)
		return in_fail(in, DNS_E_FORMAT, "records after the closing SOA");
	if ((r = dns_cursor_name(c, owner, NULL)) < 0 || (r = dns_cursor_u16(c, &type)) < 0 ||
	    (r = dns_cursor_u16(c, &rclass)) < 0 || (r = dns_cursor_u32(c, &ttl)) < 0 ||
	    (r = dns_cursor_u16(c, &rdlen)) < 0)
		return in_fail(in, DNS_E_FORMAT, "malformed record");
	if (dns_cursor_left(c) < rdlen)
		return in_fail(in, DNS_E_FORMAT, "RDATA past the end of the message");
	r = rdata_expand(c, type, rdlen, tbuf, AUTH_AXFR_RDBUF, &rl);
	if (r < 0)
		return in_fail(in, DNS_E_FORMAT, r == DNS_E_SPACE ?
			"RDATA longer than 65535 octets once expanded" : "malformed RDATA");
	c->pos += rdlen;

	if (in->state == AUTH_AXFR_IN_START) {
		/* RFC 5936 2.2: the transfer opens with the zone's SOA. */
		if (type != DNS_T_SOA || !dns_name_eq(owner, in->origin))
			return in_fail(in, DNS_E_FORMAT, "first record is not the zone's SOA");
		if (rl < 22 || rl > sizeof(in->soa))
			return in_fail(in, DNS_E_FORMAT, "malformed SOA");
		memcpy(in->soa, tbuf, rl);
		in->soa_len = (uint16_t)rl;
		in->serial = rd32(tbuf + rl - 20);
		in->state = AUTH_AXFR_IN_BODY;
	} else if (type == DNS_T_SOA && dns_name_eq(owner, in->origin)) {
		/* RFC 5936 2.2: and closes with the same SOA. */
		if (rl < 20 || rd32(tbuf + rl - 20) != in->serial)
			return in_fail(in, DNS_E_FORMAT, "closing SOA differs from the opening one");
		in->state = AUTH_AXFR_IN_DONE;
		in->rrs++;
		return 0;
	}
	r = auth_zone_builder_add_rr(in->b, owner, type, rclass, ttl, tbuf, (uint16_t)rl,
		"AXFR", 0);
	if (r == -ENOMEM)
		return in_fail(in, r, "out of memory");
	/* DNS_E_ZONE: the builder keeps the reason and finish() reports it with
	 * the other problems of the zone, so the transfer goes on. */
	in->rrs++;
	return 0;
}

int auth_axfr_in_feed(struct auth_axfr_in *in, const uint8_t *msg, size_t len)
{
	struct dns_header h;
	struct dns_cursor c;
	int r;

	if (in->state == AUTH_AXFR_IN_FAILED)
		return DNS_E_FORMAT;
	if (in->state == AUTH_AXFR_IN_DONE)
		return in_fail(in, DNS_E_FORMAT, "message after the closing SOA");
	if (dns_header_parse(msg, len, &h) < 0)
		return in_fail(in, DNS_E_FORMAT, "message shorter than a header");
	if (h.id != in->id)
		return in_fail(in, DNS_E_FORMAT, "wrong message ID");
	if (!(h.flags & DNS_FLAG_QR) || DNS_OPCODE(h.flags) != DNS_OP_QUERY)
		return in_fail(in, DNS_E_FORMAT, "not a response to a query");
	if (DNS_RCODE(h.flags) != DNS_RC_NOERROR) {
		in->rcode = DNS_RCODE(h.flags);
		return in_fail(in, DNS_E_UNSUPPORTED, "transfer refused");
	}
	if (h.flags & DNS_FLAG_TC)
		return in_fail(in, DNS_E_FORMAT, "TC set in a TCP response");
	/* RFC 5936 2.2.1: question in the first message, optional afterwards. */
	if (h.qdcount > 1 || (h.qdcount == 0 && in->msgs == 0))
		return in_fail(in, DNS_E_FORMAT, "bad question count");
	dns_cursor_init(&c, msg, len);
	c.pos = DNS_HEADER_LEN;
	if (h.qdcount == 1) {
		bool match;
		if (question_matches(&c, in->origin, DNS_T_AXFR, &match) < 0)
			return in_fail(in, DNS_E_FORMAT, "malformed question");
		if (!match)
			return in_fail(in, DNS_E_FORMAT, "question does not match the query");
	}
	if (h.ancount == 0)
		return in_fail(in, DNS_E_FORMAT, "message without records");
	for (unsigned i = 0; i < h.ancount; i++)
		if ((r = in_record(in, &c)) < 0)
			return r;
	for (unsigned i = 0; i < (unsigned)h.nscount + h.arcount; i++)
		if (skip_rr(&c) < 0)
			return in_fail(in, DNS_E_FORMAT, "malformed record");
	if (dns_cursor_left(&c) != 0)
		return in_fail(in, DNS_E_FORMAT, "trailing bytes after the last record");
	in->msgs++;
	return in->state == AUTH_AXFR_IN_DONE ? 1 : 0;
}

int auth_axfr_in_finish(struct auth_axfr_in *in, struct auth_zone **out,
	char *err, size_t errlen)
{
	struct auth_zone_builder *b = in->b;

	in->b = NULL;
	if (in->state != AUTH_AXFR_IN_DONE) {
		auth_zone_builder_free(b);
		if (errlen)
			snprintf(err, errlen, "AXFR: transfer incomplete");
		return DNS_E_FORMAT;
	}
	if (!b)
		return DNS_E_FORMAT;
	return auth_zone_builder_finish(b, out, err, errlen);
}

void auth_axfr_in_deinit(struct auth_axfr_in *in)
{
	auth_zone_builder_free(in->b);
	in->b = NULL;
	if (in->rdbuf)
		mm_free(in->mm, in->rdbuf);
	in->rdbuf = NULL;
}

/* ---- queries and replies ------------------------------------------------------- */

static int query_write(uint8_t *buf, size_t cap, uint16_t id, uint16_t flags,
	const uint8_t *origin, uint16_t qtype)
{
	struct dns_writer w;
	int r;

	if (cap < DNS_HEADER_LEN)
		return DNS_E_SPACE;
	dns_writer_init(&w, buf, cap);
	if ((r = dns_writer_question(&w, origin, qtype, DNS_CLASS_IN)) < 0)
		return r;
	return (int)dns_writer_finish(&w, id, flags);
}

int auth_xfr_soa_query_write(uint8_t *buf, size_t cap, uint16_t id,
	const uint8_t *origin)
{
	return query_write(buf, cap, id, 0, origin, DNS_T_SOA);
}

int auth_xfr_axfr_query_write(uint8_t *buf, size_t cap, uint16_t id,
	const uint8_t *origin)
{
	return query_write(buf, cap, id, 0, origin, DNS_T_AXFR);
}

int auth_xfr_notify_write(uint8_t *buf, size_t cap, uint16_t id,
	const struct auth_zone *z)
{
	struct dns_writer w;
	struct auth_zone_iter it;
	struct auth_rr_view soa;
	int r;

	if (cap < DNS_HEADER_LEN)
		return DNS_E_SPACE;
	dns_writer_init(&w, buf, cap);
	/* RFC 1996 3.7: QNAME the zone, QTYPE SOA. */
	if ((r = dns_writer_question(&w, auth_zone_origin(z), DNS_T_SOA, DNS_CLASS_IN)) < 0)
		return r;
	dns_writer_section(&w, DNS_SEC_ANSWER);
	/* RFC 1996 3.7: the answer section may carry the new SOA as a hint. */
	auth_zone_iter_init(&it, z);
	if (auth_zone_iter_next(&it, &soa) && soa.type == DNS_T_SOA) {
		if ((r = dns_writer_rr(&w, soa.owner, soa.type, soa.rclass, soa.ttl,
			     soa.rdata, soa.rdlen)) < 0)
			return r;
	}
	/* RFC 1996 3.3: opcode NOTIFY; AA set in the request. */
	return (int)dns_writer_finish(&w, id, (uint16_t)(DNS_OP_NOTIFY << 11) | DNS_FLAG_AA);
}

int auth_xfr_notify_reply_check(const uint8_t *msg, size_t len, uint16_t id,
	const uint8_t *origin, uint8_t *rcode)
{
	struct dns_header h;
	struct dns_cursor c;

	if (dns_header_parse(msg, len, &h) < 0 || h.id != id || !(h.flags & DNS_FLAG_QR) ||
	    DNS_OPCODE(h.flags) != DNS_OP_NOTIFY || h.qdcount > 1)
		return DNS_E_FORMAT;
	if (h.qdcount == 1) {
		bool match;
		dns_cursor_init(&c, msg, len);
		c.pos = DNS_HEADER_LEN;
		if (question_matches(&c, origin, DNS_T_SOA, &match) < 0 || !match)
			return DNS_E_FORMAT;
	}
	*rcode = DNS_RCODE(h.flags);
	return 0;
}

int auth_xfr_soa_reply_parse(const uint8_t *msg, size_t len, uint16_t id,
	const uint8_t *origin, uint32_t *serial, uint8_t *rcode)
{
	struct dns_header h;
	struct dns_cursor c;
	bool match;

	if (dns_header_parse(msg, len, &h) < 0 || h.id != id || !(h.flags & DNS_FLAG_QR) ||
	    DNS_OPCODE(h.flags) != DNS_OP_QUERY || h.qdcount != 1)
		return DNS_E_FORMAT;
	dns_cursor_init(&c, msg, len);
	c.pos = DNS_HEADER_LEN;
	if (question_matches(&c, origin, DNS_T_SOA, &match) < 0 || !match)
		return DNS_E_FORMAT;
	if (rcode)
		*rcode = DNS_RCODE(h.flags);
	if (DNS_RCODE(h.flags) != DNS_RC_NOERROR || !(h.flags & DNS_FLAG_AA) ||
	    (h.flags & DNS_FLAG_TC))
		return DNS_E_UNSUPPORTED;
	for (unsigned i = 0; i < h.ancount; i++) {
		uint8_t owner[DNS_NAME_MAX];
		uint16_t type, rclass, rdlen;
		uint32_t ttl, s;
		if (dns_cursor_name(&c, owner, NULL) < 0 || dns_cursor_u16(&c, &type) < 0 ||
		    dns_cursor_u16(&c, &rclass) < 0 || dns_cursor_u32(&c, &ttl) < 0 ||
		    dns_cursor_u16(&c, &rdlen) < 0 || dns_cursor_left(&c) < rdlen)
			return DNS_E_FORMAT;
		size_t end = c.pos + rdlen;
		if (type == DNS_T_SOA && rclass == DNS_CLASS_IN && dns_name_eq(owner, origin)) {
			struct dns_cursor rc = { .base = c.base, .len = end, .pos = c.pos };
			if (dns_cursor_skip_name(&rc) < 0 || dns_cursor_skip_name(&rc) < 0 ||
			    dns_cursor_u32(&rc, &s) < 0)
				return DNS_E_FORMAT;
			*serial = s;
			return 0;
		}
		c.pos = end;
	}
	return DNS_E_UNSUPPORTED;
}

int auth_xfr_reply_write(uint8_t *buf, size_t cap, const struct dns_query *q,
	uint8_t rcode)
{
	struct dns_writer w;
	uint16_t flags;
	int r;

	if (cap < DNS_HEADER_LEN)
		return DNS_E_SPACE;
	dns_writer_init(&w, buf, cap);
	if (q->qname_len > 0 &&
	    (r = dns_writer_question(&w, q->qname, q->qtype, q->qclass)) < 0)
		return r;
	flags = DNS_FLAG_QR | (uint16_t)(DNS_OPCODE(q->hdr.flags) << 11) |
		(q->hdr.flags & DNS_FLAG_RD) | (rcode & 0xf);
	if (rcode == DNS_RC_NOERROR)
		flags |= DNS_FLAG_AA;
	return (int)dns_writer_finish(&w, q->hdr.id, flags);
}

int auth_xfr_soa_only_write(uint8_t *buf, size_t cap, const struct dns_query *q,
	const struct auth_zone *z)
{
	struct dns_writer w;
	struct auth_zone_iter it;
	struct auth_rr_view soa;
	int r;

	if (cap < DNS_HEADER_LEN)
		return DNS_E_SPACE;
	dns_writer_init(&w, buf, cap);
	if ((r = dns_writer_question(&w, q->qname, q->qtype, q->qclass)) < 0)
		return r;
	dns_writer_section(&w, DNS_SEC_ANSWER);
	auth_zone_iter_init(&it, z);
	if (auth_zone_iter_next(&it, &soa) &&
	    (r = dns_writer_rr(&w, soa.owner, soa.type, soa.rclass, soa.ttl, soa.rdata,
		     soa.rdlen)) < 0)
		return r;
	return (int)dns_writer_finish(&w, q->hdr.id, DNS_FLAG_QR | DNS_FLAG_AA |
		(q->hdr.flags & DNS_FLAG_RD));
}

/* ---- kept copy ------------------------------------------------------------------ */

/* RFC 3597 5 generic form: "owner TTL CLASS TYPEnnn \# len hex". */
static int rr_text_generic(const struct auth_rr_view *rr, char *buf, size_t size)
{
	char owner[DNS_NAME_TEXT_MAX];
	size_t n;
	int k;

	if (dns_name_to_str(rr->owner, owner, sizeof(owner)) < 0)
		return DNS_E_FORMAT;
	k = snprintf(buf, size, "%s\t%u\tIN\tTYPE%u\t\\# %u ", owner, rr->ttl, rr->type,
		rr->rdlen);
	if (k < 0 || (size_t)k >= size)
		return DNS_E_SPACE;
	n = (size_t)k;
	if (size - n < (size_t)rr->rdlen * 2 + 2)
		return DNS_E_SPACE;
	for (uint16_t i = 0; i < rr->rdlen; i++) {
		static const char hex[] = "0123456789abcdef";
		buf[n++] = hex[rr->rdata[i] >> 4];
		buf[n++] = hex[rr->rdata[i] & 0xf];
	}
	buf[n++] = '\n';
	buf[n] = '\0';
	return (int)n;
}

int auth_xfr_rr_text(const struct auth_rr_view *rr, char *buf, size_t size)
{
	/* the record in wire form for ldns: owner, type, class, TTL, rdlength, rdata */
	uint8_t wire[DNS_NAME_MAX + 10 + UINT16_MAX];
	size_t ol = dns_name_len(rr->owner);
	size_t wl = ol + 10 + rr->rdlen, pos = 0;
	ldns_rr *lr = NULL, *back = NULL;
	char *s = NULL; /* ldns's string (malloc) */
	int r;

	if (ol > DNS_NAME_MAX)
		return DNS_E_NAMELEN;
	memcpy(wire, rr->owner, ol);
	uint8_t *p = wire + ol;
	p[0] = (uint8_t)(rr->type >> 8), p[1] = (uint8_t)rr->type;
	p[2] = (uint8_t)(rr->rclass >> 8), p[3] = (uint8_t)rr->rclass;
	p[4] = (uint8_t)(rr->ttl >> 24), p[5] = (uint8_t)(rr->ttl >> 16);
	p[6] = (uint8_t)(rr->ttl >> 8), p[7] = (uint8_t)rr->ttl;
	p[8] = (uint8_t)(rr->rdlen >> 8), p[9] = (uint8_t)rr->rdlen;
	if (rr->rdlen)
		memcpy(p + 10, rr->rdata, rr->rdlen);
	/* ldns prints what it can parse, and the text must read back to the same
	 * record (a kept copy that does not load is lost at restart); anything
	 * else gets the generic form, which every RFC 3597 reader loads back
	 * unchanged. */
	if (ldns_wire2rr(&lr, wire, wl, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK ||
	    pos != wl || !(s = ldns_rr2str(lr)) || strstr(s, "Error") || !s[0] ||
	    strchr(s, '\n') != s + strlen(s) - 1 ||
	    ldns_rr_new_frm_str(&back, s, 0, NULL, NULL) != LDNS_STATUS_OK ||
	    ldns_rr_compare(lr, back) != 0) {
		r = rr_text_generic(rr, buf, size);
		goto out;
	}
	size_t sl = strlen(s);
	if (sl + 1 > size) {
		r = DNS_E_SPACE;
		goto out;
	}
	memcpy(buf, s, sl + 1);
	r = (int)sl;
out:
	free(s);
	ldns_rr_free(lr);
	ldns_rr_free(back);
	return r;
}

/* ---- refresh state machine ------------------------------------------------------ */

const char *auth_refresh_state_name(enum auth_refresh_state s)
{
	switch (s) {
	case AUTH_REFRESH_IDLE:
		return "idle";
	case AUTH_REFRESH_SOA:
		return "soa-query";
	case AUTH_REFRESH_AXFR:
		return "axfr";
	}
	return "?";
}

static uint64_t secs(uint32_t s)
{
	return (uint64_t)(s < AUTH_REFRESH_MIN ? AUTH_REFRESH_MIN : s) * 1000u;
}

static void take_soa(struct auth_refresh *r, uint64_t now, const struct auth_soa *soa)
{
	r->have_zone = true;
	r->expired = false;
	r->expire_told = false;
	r->serial = soa->serial;
	r->refresh = soa->refresh;
	r->retry = soa->retry;
	r->expire = soa->expire;
	r->expire_at = now + secs(soa->expire);
}

void auth_refresh_init(struct auth_refresh *r, uint64_t now,
	const struct auth_soa *soa, uint64_t age_ms)
{
	memset(r, 0, sizeof(*r));
	r->state = AUTH_REFRESH_IDLE;
	r->next_at = now;
	if (soa) {
		take_soa(r, now, soa);
		r->expire_at = r->expire_at - (age_ms < secs(soa->expire) ? age_ms :
			secs(soa->expire));
	}
}

enum auth_refresh_action auth_refresh_poll(struct auth_refresh *r, uint64_t now)
{
	/* RFC 1035 3.3.13: past EXPIRE without a good check, the copy is no
	 * longer authoritative. The next fetch is a full transfer. */
	if (r->have_zone && now >= r->expire_at) {
		r->have_zone = false;
		r->expired = true;
		if (!r->expire_told) {
			r->expire_told = true;
			return AUTH_REFRESH_EXPIRE;
		}
	}
	if (r->state != AUTH_REFRESH_IDLE || now < r->next_at)
		return AUTH_REFRESH_NONE;
	if (!r->have_zone) {
		r->state = AUTH_REFRESH_AXFR;
		return AUTH_REFRESH_START_AXFR;
	}
	r->state = AUTH_REFRESH_SOA;
	return AUTH_REFRESH_SEND_SOA;
}

uint64_t auth_refresh_next(const struct auth_refresh *r)
{
	uint64_t t = r->state == AUTH_REFRESH_IDLE ? r->next_at : UINT64_MAX;
	if (r->have_zone && r->expire_at < t)
		t = r->expire_at;
	return t;
}

/* Back to IDLE with the next check after delay, or at once after a NOTIFY. */
static void idle_after(struct auth_refresh *r, uint64_t now, uint64_t delay)
{
	r->state = AUTH_REFRESH_IDLE;
	r->next_at = r->notified ? now : now + delay;
	r->notified = false;
}

enum auth_refresh_action auth_refresh_on_soa(struct auth_refresh *r, uint64_t now,
	uint32_t serial)
{
	if (r->state != AUTH_REFRESH_SOA)
		return AUTH_REFRESH_NONE;
	if (!r->have_zone || auth_serial_cmp(serial, r->serial) > 0) {
		r->state = AUTH_REFRESH_AXFR;
		return AUTH_REFRESH_START_AXFR;
	}
	/* Up to date: the copy is confirmed good for another EXPIRE. */
	r->failures = 0;
	r->expire_at = now + secs(r->expire);
	idle_after(r, now, secs(r->refresh));
	return auth_refresh_poll(r, now);
}

void auth_refresh_on_axfr(struct auth_refresh *r, uint64_t now,
	const struct auth_soa *soa)
{
	take_soa(r, now, soa);
	r->failures = 0;
	idle_after(r, now, secs(soa->refresh));
}

void auth_refresh_on_fail(struct auth_refresh *r, uint64_t now)
{
	uint64_t delay;

	r->failures++;
	if (r->have_zone) {
		delay = secs(r->retry);
	} else {
		/* No copy to serve: back off from a short first retry. */
		unsigned shift = r->failures - 1 < 16 ? r->failures - 1 : 16;
		uint64_t s = (uint64_t)AUTH_REFRESH_BOOT_RETRY << shift;
		delay = (s < AUTH_REFRESH_BOOT_RETRY_MAX ? s : AUTH_REFRESH_BOOT_RETRY_MAX) * 1000u;
	}
	/* A NOTIFY during a failed check does not make the retry sooner. */
	r->notified = false;
	idle_after(r, now, delay);
}

void auth_refresh_on_notify(struct auth_refresh *r, uint64_t now)
{
	if (r->state == AUTH_REFRESH_IDLE)
		r->next_at = now;
	else
		r->notified = true;
}

/*
 * rsv_msgcache.c -- the message cache: whole responses to clients, stored with
 * the offset of every TTL field, answered by a copy and a few patched bytes.
 */
#include <errno.h>
#include <string.h>

#include "dns_cursor.h"
#include "dns_err.h"
#include "dns_pkt.h"
#include "rsv_cache_impl.h"

/* A message entry's TTL offsets (after the key) and response bytes. */
static inline uint16_t *msg_offs(struct entry *e)
{
	return (uint16_t *)(void *)((uint8_t *)e + ((sizeof(*e) + e->klen + 1) & ~(size_t)1));
}

static inline uint8_t *msg_wire(struct entry *e)
{
	return (uint8_t *)e + e->v.msg.off_wire;
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The question of a response to store. */
struct msg_question {
	uint8_t name[DNS_NAME_MAX]; /* as in the response */
	size_t len;                 /* bytes of name */
	uint16_t type, rclass;      /* its type and class */
};

/*
 * Check the header of resp[0..len) for the message cache and read its question
 * into *q: 1 if it may be cached, 0 if not (not an error), DNS_E_FORMAT.
 */
static int msg_check(const uint8_t *resp, size_t len, struct dns_header *hdr,
	struct msg_question *q)
{
	struct dns_cursor cur;
	if (dns_header_parse(resp, len, hdr) < 0)
		return DNS_E_FORMAT;
	if (len > DNS_MSG_MAX || !(hdr->flags & DNS_FLAG_QR) || hdr->qdcount != 1)
		return DNS_E_FORMAT;
	unsigned rcode = DNS_RCODE(hdr->flags);
	if (DNS_OPCODE(hdr->flags) != DNS_OP_QUERY || (hdr->flags & DNS_FLAG_TC) ||
	    (rcode != DNS_RC_NOERROR && rcode != DNS_RC_NXDOMAIN))
		return 0; /* not cacheable: not an error */
	dns_cursor_init(&cur, resp, len);
	cur.pos = DNS_HEADER_LEN;
	if (dns_cursor_name(&cur, q->name, &q->len) < 0 || cur.pos != DNS_HEADER_LEN + q->len ||
	    dns_cursor_u16(&cur, &q->type) < 0 || dns_cursor_u16(&cur, &q->rclass) < 0)
		return DNS_E_FORMAT; /* the question name must be stored uncompressed: hits overwrite it */
	unsigned total = (unsigned)hdr->ancount + hdr->nscount + hdr->arcount;
	if ((size_t)total * 11 > len - cur.pos) /* 11 = the smallest record */
		return DNS_E_FORMAT;
	return 1;
}

/* What the walk over a stored response's records found. */
struct msg_scan {
	uint8_t flags;      /* RSV_MSG_* key bits */
	uint32_t min_ttl;   /* smallest TTL after the clamps */
	unsigned nttl;      /* TTL fields noted */
	bool soa;           /* a SOA in the authority section */
};

/*
 * Walk the records of the copy wire[0..len) after the question (which ends at
 * qend): note the offset of each TTL field in offs and clamp it in place; the
 * OPT record gives key bits. 0 or DNS_E_FORMAT.
 */
static int msg_scan_ttls(const struct rsv_cache *c, uint8_t *wire, size_t len, size_t qend,
	const struct dns_header *hdr, uint16_t *offs, struct msg_scan *sc)
{
	struct dns_cursor cur;
	unsigned total = (unsigned)hdr->ancount + hdr->nscount + hdr->arcount;
	sc->flags = (hdr->flags & DNS_FLAG_CD) ? RSV_MSG_CD : 0;
	sc->min_ttl = UINT32_MAX;
	sc->nttl = 0;
	sc->soa = false;
	dns_cursor_init(&cur, wire, len);
	cur.pos = qend;
	for (unsigned i = 0; i < total; i++) {
		uint16_t type, rclass, rdlen;
		uint32_t ttl;
		const uint8_t *rd;
		if (dns_cursor_skip_name(&cur) < 0 || dns_cursor_u16(&cur, &type) < 0 ||
		    dns_cursor_u16(&cur, &rclass) < 0)
			return DNS_E_FORMAT;
		size_t toff = cur.pos;
		if (dns_cursor_u32(&cur, &ttl) < 0 || dns_cursor_u16(&cur, &rdlen) < 0 ||
		    dns_cursor_bytes(&cur, rdlen, &rd) < 0)
			return DNS_E_FORMAT;
		if (type == DNS_T_OPT) {
			/* the OPT "TTL" is extended RCODE, version and flags (RFC 6891 6.1.3) */
			sc->flags |= RSV_MSG_EDNS | ((ttl & DNS_EDNS_DO) ? RSV_MSG_DO : 0);
			continue;
		}
		bool authority = i >= hdr->ancount && i < (unsigned)hdr->ancount + hdr->nscount;
		if (type == DNS_T_SOA && authority) {
			if (rdlen < 22)
				return DNS_E_FORMAT;
			ttl = rsv_ttl_negative(c, ttl, rd32(rd + rdlen - 4));
			sc->soa = true;
		} else {
			ttl = rsv_ttl_clamp_pos(c, ttl);
		}
		if (toff > UINT16_MAX)
			return DNS_E_FORMAT;
		wr32(wire + toff, ttl);
		offs[sc->nttl++] = (uint16_t)toff;
		if (ttl < sc->min_ttl)
			sc->min_ttl = ttl;
	}
	return dns_cursor_left(&cur) != 0 ? DNS_E_FORMAT : 0;
}

int rsv_msgcache_insert(struct rsv_cache *c, const uint8_t *resp, size_t len, uint64_t now)
{
	struct dns_header hdr;
	struct msg_question q;
	struct msg_scan sc;
	struct entry *e = NULL;
	int rc;

	if ((rc = msg_check(resp, len, &hdr, &q)) <= 0)
		return rc;
	unsigned rcode = DNS_RCODE(hdr.flags);
	unsigned total = (unsigned)hdr.ancount + hdr.nscount + hdr.arcount;

	uint8_t key[KEY_MAX];
	size_t klen = key_name(key, E_MSG, q.name, q.type, q.rclass) + 1; /* + flags, set below */
	size_t off_ttl = (sizeof(*e) + klen + 1) & ~(size_t)1;
	size_t off_wire = off_ttl + (size_t)total * 2;
	size_t size = off_wire + len;
	e = mm_alloc(c->mm, size);
	if (!e)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	uint8_t *wire = (uint8_t *)e + off_wire;
	uint16_t *offs = (uint16_t *)(void *)((uint8_t *)e + off_ttl);
	memcpy(wire, resp, len);

	if ((rc = msg_scan_ttls(c, wire, len, DNS_HEADER_LEN + q.len + 4, &hdr, offs, &sc)) < 0)
		goto out;
	/* RFC 2308 5: a negative answer without a SOA is not cached */
	bool negative = rcode == DNS_RC_NXDOMAIN || hdr.ancount == 0;
	if (sc.nttl == 0 || sc.min_ttl == 0 || (negative && !sc.soa)) {
		rc = 0;
		goto out;
	}

	key[klen - 1] = sc.flags;
	rsv_entry_key_set(e, key, klen, E_MSG, hash_key(c, key, klen), now);
	e->ttl = sc.min_ttl;
	e->expire = now + (uint64_t)sc.min_ttl * 1000;
	e->charge = (uint32_t)(size + ENTRY_OVERHEAD);
	e->v.msg.off_wire = (uint16_t)off_wire;
	e->v.msg.len = (uint32_t)len;
	e->v.msg.nttl = (uint16_t)sc.nttl;
	struct shard *s = shard_of(c, e->hash);
	if (size + ENTRY_OVERHEAD > s->max_bytes) {
		rc = DNS_E_SPACE;
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	/* no rank among responses: the newer one, built from the current RRsets, wins */
	rsv_entry_link(c, s, e, shard_find(s, e->hash, key, klen), now);
	pthread_mutex_unlock(&s->lock);
	return 0;
out:
	mm_free(c->mm, e);
	return rc;
}

int rsv_msgcache_answer(struct rsv_cache *c, const uint8_t *query, size_t len, bool tcp,
	uint64_t now, uint8_t *out, size_t cap, size_t *outlen)
{
	struct dns_query q;
	*outlen = 0;
	if (dns_query_parse(query, len, &q, NULL) != DNS_QUERY_OK ||
	    DNS_OPCODE(q.hdr.flags) != DNS_OP_QUERY || (q.has_opt && q.edns.version != 0))
		return DNS_E_FORMAT; /* FORMERR, NOTIMP, BADVERS: the slow path's business */

	size_t limit = cap;
	if (!tcp) {
		size_t udp = DNS_UDP_MIN;
		if (q.has_opt && q.edns.udp_size > udp)
			udp = q.edns.udp_size;
		if (udp < limit)
			limit = udp;
	}
	uint8_t key[KEY_MAX];
	size_t klen = key_name(key, E_MSG, q.qname, q.qtype, q.qclass);
	key[klen++] = (uint8_t)((q.has_opt ? RSV_MSG_EDNS : 0) |
		(q.has_opt && (q.edns.flags & DNS_EDNS_DO) ? RSV_MSG_DO : 0) |
		((q.hdr.flags & DNS_FLAG_CD) ? RSV_MSG_CD : 0));
	uint64_t h = hash_key(c, key, klen);
	struct shard *s = shard_of(c, h);

	pthread_mutex_lock(&s->lock);
	struct entry *e = shard_find_live(c, s, h, key, klen, now);
	if (!e || e->v.msg.len > limit) {
		s->st.msg_misses++;
		pthread_mutex_unlock(&s->lock);
		return DNS_E_NOTFOUND;
	}
	size_t n = e->v.msg.len;
	memcpy(out, msg_wire(e), n);
	/* stored TTLs are >= the entry's lifetime > elapsed, so no field goes below 1 */
	uint32_t el = elapsed_s(e, now);
	const uint16_t *offs = msg_offs(e);
	for (unsigned i = 0; i < e->v.msg.nttl; i++) {
		uint8_t *p = out + offs[i];
		wr32(p, rd32(p) - el);
	}
	rsv_lru_touch(s, e);
	s->st.msg_hits++;
	pthread_mutex_unlock(&s->lock);

	/* the client's ID, RD bit (RFC 1035 4.1.1) and question name case (0x20) */
	out[0] = query[0];
	out[1] = query[1];
	out[2] = (uint8_t)((out[2] & ~0x01) | (query[2] & 0x01));
	memcpy(out + DNS_HEADER_LEN, q.qname, q.qname_len);
	*outlen = n;
	return 0;
}

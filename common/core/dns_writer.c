/* dns_writer.c -- message building with name compression (RFC 1035 4.1.4). */
#include <string.h>

#include "dns_err.h"
#include "dns_name.h"
#include "dns_writer.h"

/* Names at offsets beyond this cannot be pointer targets (14-bit offsets). */
#define PTR_MAX_OFFSET 0x3fff

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

void dns_writer_init(struct dns_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	require(cap >= DNS_HEADER_LEN);
	memset(buf, 0, DNS_HEADER_LEN);
	w->len = DNS_HEADER_LEN;
	memset(w->count, 0, sizeof(w->count));
	w->section = DNS_SEC_QUESTION;
	w->nptrs = 0;
}

void dns_writer_limit(struct dns_writer *w, size_t cap)
{
	if (cap < w->len)
		cap = w->len;
	w->cap = cap;
}

void dns_writer_mark(const struct dns_writer *w, struct dns_writer_mark *m)
{
	m->len = w->len;
	memcpy(m->count, w->count, sizeof(m->count));
	m->nptrs = w->nptrs;
}

void dns_writer_rollback(struct dns_writer *w, const struct dns_writer_mark *m)
{
	w->len = m->len;
	memcpy(w->count, m->count, sizeof(m->count));
	w->nptrs = m->nptrs;
}

void dns_writer_section(struct dns_writer *w, enum dns_section s)
{
	require(s >= w->section);
	w->section = s;
}

/*
 * Does the name stored at buffer offset off (possibly ending in pointers) equal
 * the wire name n, ignoring case? Offsets in the table were written by us, so
 * the stored names are valid and pointers go backwards.
 */
static bool stored_eq(const struct dns_writer *w, size_t off, const uint8_t *n)
{
	for (;;) {
		uint8_t l = w->buf[off];
		if ((l & 0xc0) == 0xc0) {
			off = (size_t)(l & 0x3f) << 8 | w->buf[off + 1];
			continue;
		}
		if (l != *n)
			return false;
		if (l == 0)
			return true;
		for (uint8_t k = 1; k <= l; k++)
			if (lower(w->buf[off + k]) != lower(n[k]))
				return false;
		off += 1 + (size_t)l;
		n += 1 + (size_t)l;
	}
}

/*
 * Find the longest suffix of name already in the message. Returns the number
 * of leading labels to write literally and sets *ptr to the target offset (or
 * -1 when nothing matched and the whole name must be written).
 */
static unsigned find_suffix(const struct dns_writer *w, const uint8_t *name, unsigned total,
	long *ptr)
{
	const uint8_t *suffix = name;

	*ptr = -1;
	for (unsigned skip = 0; skip < total; skip++) {
		unsigned want = total - skip;
		for (unsigned i = 0; i < w->nptrs; i++) {
			size_t off = w->ptrs[i];
			/* Cheap filters (label count, first label's length and letter)
			 * before comparing the whole name. */
			if (w->plabels[i] != want || w->buf[off] != suffix[0] ||
			    lower(w->buf[off + 1]) != lower(suffix[1]))
				continue;
			if (stored_eq(w, off, suffix)) {
				*ptr = (long)off;
				return skip;
			}
		}
		suffix += suffix[0] + 1;
	}
	return total;
}

/* Write name at w->len, compressed if allowed, remembering new suffixes. */
static int put_name(struct dns_writer *w, const uint8_t *name, bool compress)
{
	long ptr = -1;
	unsigned total = dns_name_labels(name);
	unsigned literal = compress ? find_suffix(w, name, total, &ptr) : total;
	const uint8_t *p = name;

	for (unsigned i = 0; i < literal; i++) {
		size_t l = (size_t)p[0] + 1;
		if (w->cap - w->len < l)
			return DNS_E_SPACE;
		if (compress && w->len <= PTR_MAX_OFFSET && w->nptrs < DNS_WRITER_PTRS) {
			w->plabels[w->nptrs] = (uint8_t)(total - i);
			w->ptrs[w->nptrs++] = (uint16_t)w->len;
		}
		memcpy(w->buf + w->len, p, l);
		w->len += l;
		p += l;
	}
	if (ptr >= 0) {
		if (w->cap - w->len < 2)
			return DNS_E_SPACE;
		w->buf[w->len++] = (uint8_t)(0xc0 | (ptr >> 8));
		w->buf[w->len++] = (uint8_t)ptr;
	} else {
		if (w->cap - w->len < 1)
			return DNS_E_SPACE;
		w->buf[w->len++] = 0;
	}
	return 0;
}

static int put_bytes(struct dns_writer *w, const void *p, size_t n)
{
	if (w->cap - w->len < n)
		return DNS_E_SPACE;
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

static int put16(struct dns_writer *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return put_bytes(w, b, 2);
}

static int put32(struct dns_writer *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return put_bytes(w, b, 4);
}

int dns_writer_question(struct dns_writer *w, const uint8_t *qname, uint16_t qtype,
	uint16_t qclass)
{
	struct dns_writer_mark m;
	int r;

	require(w->section == DNS_SEC_QUESTION);
	dns_writer_mark(w, &m);
	if ((r = put_name(w, qname, true)) < 0 || (r = put16(w, qtype)) < 0 ||
	    (r = put16(w, qclass)) < 0) {
		dns_writer_rollback(w, &m);
		return r;
	}
	w->count[DNS_SEC_QUESTION]++;
	return 0;
}

/*
 * Write rdata, compressing the embedded names of the RFC 1035 types only
 * (RFC 3597 4: no compression for types defined later). The rdata comes from
 * our own zone data or was validated by the caller, so its names are complete.
 */
static int put_rdata(struct dns_writer *w, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	size_t fixed_before = 0, names = 0;
	int r;

	switch (type) {
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR:
	case 3 /* MD */: case 4 /* MF */: case 7 /* MB */: case 8 /* MG */: case 9 /* MR */:
		names = 1;
		break;
	case DNS_T_MX:
		fixed_before = 2, names = 1;
		break;
	case DNS_T_SOA: case 14 /* MINFO */:
		names = 2;
		break;
	default:
		return put_bytes(w, rd, rdlen);
	}
	if (rdlen < fixed_before + 1)
		return put_bytes(w, rd, rdlen);
	size_t pos;
	if ((r = put_bytes(w, rd, fixed_before)) < 0)
		return r;
	pos = fixed_before;
	for (size_t i = 0; i < names; i++) {
		/* Fall back to raw copy if the rdata is not what the type says. */
		size_t room = rdlen - pos, nl = 0;
		while (nl < room && rd[pos + nl] != 0 && rd[pos + nl] <= DNS_LABEL_MAX)
			nl += rd[pos + nl] + 1u;
		if (nl >= room || rd[pos + nl] != 0)
			return put_bytes(w, rd + pos, rdlen - pos);
		if ((r = put_name(w, rd + pos, true)) < 0)
			return r;
		pos += nl + 1;
	}
	return put_bytes(w, rd + pos, rdlen - pos);
}

int dns_writer_rr(struct dns_writer *w, const uint8_t *owner, uint16_t type,
	uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	struct dns_writer_mark m;
	int r;

	require(w->section != DNS_SEC_QUESTION);
	dns_writer_mark(w, &m);
	if ((r = put_name(w, owner, true)) < 0 || (r = put16(w, type)) < 0 ||
	    (r = put16(w, rclass)) < 0 || (r = put32(w, ttl)) < 0 || (r = put16(w, 0)) < 0)
		goto fail;
	size_t rdstart = w->len;
	if ((r = put_rdata(w, type, rdata, rdlen)) < 0)
		goto fail;
	size_t written = w->len - rdstart;
	w->buf[rdstart - 2] = (uint8_t)(written >> 8);
	w->buf[rdstart - 1] = (uint8_t)written;
	w->count[w->section]++;
	return 0;
fail:
	dns_writer_rollback(w, &m);
	return r;
}

int dns_writer_opt(struct dns_writer *w, uint16_t udp_size, uint8_t ext_rcode,
	uint16_t flags, const uint8_t *options, uint16_t optlen)
{
	static const uint8_t root[1] = {0};
	uint32_t ttl = (uint32_t)ext_rcode << 24 | flags; /* version 0 */
	struct dns_writer_mark m;
	int r;

	dns_writer_section(w, DNS_SEC_ADDITIONAL);
	dns_writer_mark(w, &m);
	if ((r = put_bytes(w, root, 1)) < 0 || (r = put16(w, DNS_T_OPT)) < 0 ||
	    (r = put16(w, udp_size)) < 0 || (r = put32(w, ttl)) < 0 ||
	    (r = put16(w, optlen)) < 0 || (r = put_bytes(w, options, optlen)) < 0) {
		dns_writer_rollback(w, &m);
		return r;
	}
	w->count[DNS_SEC_ADDITIONAL]++;
	return 0;
}

size_t dns_writer_finish(struct dns_writer *w, uint16_t id, uint16_t flags)
{
	struct dns_header h = {
		.id = id, .flags = flags,
		.qdcount = w->count[DNS_SEC_QUESTION], .ancount = w->count[DNS_SEC_ANSWER],
		.nscount = w->count[DNS_SEC_AUTHORITY], .arcount = w->count[DNS_SEC_ADDITIONAL],
	};
	require(w->len >= DNS_HEADER_LEN);
	dns_header_write(w->buf, &h);
	return w->len;
}

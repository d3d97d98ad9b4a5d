/*
 * auth_zone_build.c -- the zone builder, record by record: well-formedness of
 * owners and RDATA, names in RDATA lower-cased as NSD serves them, the error
 * list of a load. Checks of the zone as a whole and the snapshot layout are
 * auth_zone_finish.c. See auth_zone.h.
 */
#include "auth_zone.h"
#include "auth_zone_build_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dns_err.h"
#include "dns_name.h"
#include "dns_pkt.h"

#define ERRS_MAX 50 /* errors reported per zone before giving up listing them */

/* ---- names in RDATA --------------------------------------------------------- */

/* RDATA from AXFR is outside input: every name in it is checked. */
int auth_wire_name_len(const uint8_t *buf, size_t len)
{
	size_t pos = 0;
	for (;;) {
		if (pos >= len)
			return DNS_E_SHORT;
		uint8_t l = buf[pos];
		if (l == 0)
			return pos + 1 > DNS_NAME_MAX ? DNS_E_NAMELEN : (int)(pos + 1);
		if (l > DNS_LABEL_MAX)
			return DNS_E_LABEL;
		pos += 1 + (size_t)l;
		if (pos >= DNS_NAME_MAX)
			return DNS_E_NAMELEN;
	}
}

/*
 * Check the names inside RDATA of the types whose RDATA we interpret: the
 * answer engine reads them without further checks.
 */
static bool rdata_ok(uint16_t type, const uint8_t *rd, size_t len)
{
	int n, m;
	switch (type) {
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_DNAME:
	case DNS_T_PTR:
		n = auth_wire_name_len(rd, len);
		return n > 0 && (size_t)n == len;
	case DNS_T_MX:
		if (len < 3)
			return false;
		n = auth_wire_name_len(rd + 2, len - 2);
		return n > 0 && (size_t)n + 2 == len;
	case DNS_T_SRV:
		if (len < 7)
			return false;
		n = auth_wire_name_len(rd + 6, len - 6);
		return n > 0 && (size_t)n + 6 == len;
	case DNS_T_SOA:
		n = auth_wire_name_len(rd, len);
		if (n < 0)
			return false;
		m = auth_wire_name_len(rd + n, len - (size_t)n);
		return m > 0 && (size_t)n + (size_t)m + 20 == len;
	case DNS_T_A:
		return len == 4;
	case DNS_T_AAAA:
		return len == 16;
	default:
		return true;
	}
}

/* Lower-case the name at rd[pos..len) in place if it is a valid one; returns
 * the offset after it, or a negative DNS_E_* code. */
static int lower_name_at(uint8_t *rd, size_t len, size_t pos)
{
	if (pos >= len)
		return DNS_E_SHORT;
	int n = auth_wire_name_len(rd + pos, len - pos);
	if (n < 0)
		return n;
	dns_name_lower(rd + pos, rd + pos);
	return (int)pos + n;
}

/*
 * Names inside RDATA of the types whose names NSD keeps as references to its
 * (lower-case) name table are stored in lower case, as NSD serves them: the
 * RFC 1035 types, the RFC 4034 6.2 list (RP, AFSDB, RT, PX, SRV, NAPTR, KX,
 * DNAME). Other types (RRSIG's signer, NSEC's next name...) are kept as given.
 */
static void lower_rdata_names(uint16_t type, uint8_t *rd, size_t len)
{
	int p;
	switch (type) {
	case DNS_T_NS: case 3: case 4: case DNS_T_CNAME: case 7: case 8: case 9:
	case DNS_T_PTR: case DNS_T_DNAME:
		(void)lower_name_at(rd, len, 0);
		break;
	case DNS_T_SOA: case 14 /* MINFO */: case DNS_T_RP:
		p = lower_name_at(rd, len, 0);
		if (p > 0)
			(void)lower_name_at(rd, len, (size_t)p);
		break;
	case DNS_T_MX: case DNS_T_AFSDB: case 21 /* RT */: case DNS_T_KX:
		(void)lower_name_at(rd, len, 2);
		break;
	case 26: /* PX */
		p = lower_name_at(rd, len, 2);
		if (p > 0)
			(void)lower_name_at(rd, len, (size_t)p);
		break;
	case DNS_T_SRV:
		(void)lower_name_at(rd, len, 6);
		break;
	case DNS_T_NAPTR: {
		/* ORDER, PREFERENCE, FLAGS, SERVICES, REGEXP, REPLACEMENT */
		size_t pos = 4;
		for (int i = 0; i < 3 && pos < len; i++)
			pos += 1 + (size_t)rd[pos];
		(void)lower_name_at(rd, len, pos);
		break;
	}
	default:
		break;
	}
}

void auth_name_text(const uint8_t *name, char *buf, size_t size)
{
	if (dns_name_to_str(name, buf, size) < 0)
		snprintf(buf, size, "(bad name)");
}

/* ---- errors -------------------------------------------------------------------- */

void auth_zone_err_vadd(char *buf, size_t cap, size_t *pos, unsigned *count,
	const char *file, unsigned line, const char *fmt, va_list ap)
{
	(*count)++;
	if (cap == 0 || *pos + 1 >= cap)
		return;
	if (*count > ERRS_MAX) {
		if (*count == ERRS_MAX + 1) {
			int n = snprintf(buf + *pos, cap - *pos, "%s(more errors not shown)",
				*pos ? "\n" : "");
			if (n > 0)
				*pos = *pos + (size_t)n >= cap ? cap - 1 : *pos + (size_t)n;
		}
		return;
	}
	int n;
	if (line)
		n = snprintf(buf + *pos, cap - *pos, "%s%s:%u: ", *pos ? "\n" : "",
			file ? file : "AXFR", line);
	else
		n = snprintf(buf + *pos, cap - *pos, "%s%s: ", *pos ? "\n" : "",
			file ? file : "AXFR");
	if (n > 0)
		*pos = *pos + (size_t)n >= cap ? cap - 1 : *pos + (size_t)n;
	if (*pos + 1 < cap) {
		n = vsnprintf(buf + *pos, cap - *pos, fmt, ap);
		if (n > 0)
			*pos = *pos + (size_t)n >= cap ? cap - 1 : *pos + (size_t)n;
	}
}

void auth_zone_builder_err(struct auth_zone_builder *b, const char *file,
	unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	auth_zone_err_vadd(b->errs, sizeof(b->errs), &b->errpos, &b->nerrs, file, line, fmt, ap);
	va_end(ap);
}

/* ---- adding records -------------------------------------------------------------- */

int auth_zone_builder_new(const struct dns_mm *mm, const uint8_t *origin,
	struct auth_zone_builder **out)
{
	struct auth_zone_builder *b;
	*out = NULL;
	if (!mm)
		mm = dns_mm_std();
	b = mm_calloc(mm, 1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->mm = mm;
	dns_arena_init(&b->arena, mm, AUTH_ZONE_ARENA_BLOCK);
	b->origin_len = dns_name_lower(b->origin, origin);
	*out = b;
	return 0;
}

void auth_zone_builder_free(struct auth_zone_builder *b)
{
	if (!b)
		return;
	dns_arena_deinit(&b->arena);
	mm_free(b->mm, b->recs);
	mm_free(b->mm, b);
}

const char *auth_zone_builder_intern(struct auth_zone_builder *b, const char *file)
{
	if (!file)
		return NULL;
	/* Compare by content: include paths live in reused stack buffers. */
	if (b->last_file && (file == b->last_file || strcmp(file, b->last_file) == 0))
		return b->last_file;
	char *copy = dns_arena_memdup(&b->arena, file, strlen(file) + 1);
	if (!copy)
		return NULL;
	b->last_file = copy;
	return copy;
}

int auth_zone_builder_add_rr(struct auth_zone_builder *b, const uint8_t *owner,
	uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata,
	uint16_t rdlen, const char *file, unsigned line)
{
	char tbuf[16];
	const char *f = auth_zone_builder_intern(b, file);
	if (file && !f)
		return -ENOMEM;
	if (!b->srcname)
		b->srcname = f;
	int olen = auth_wire_name_len(owner, DNS_NAME_MAX);
	if (olen < 0) {
		auth_zone_builder_err(b, f, line, "invalid owner name");
		return DNS_E_ZONE;
	}
	if (rclass != DNS_CLASS_IN) {
		auth_zone_builder_err(b, f, line, "class %u not supported (only IN)", rclass);
		return DNS_E_ZONE;
	}
	if (type == DNS_T_OPT || type == DNS_T_TSIG || type == DNS_T_TKEY ||
	    type == DNS_T_AXFR || type == DNS_T_IXFR || type == DNS_T_ANY ||
	    type == DNS_T_MAILA || type == DNS_T_MAILB) {
		auth_zone_builder_err(b, f, line, "type %s cannot appear in a zone",
			dns_type_name(type, tbuf));
		return DNS_E_ZONE;
	}
	if (!rdata_ok(type, rdata, rdlen)) {
		auth_zone_builder_err(b, f, line, "malformed %s RDATA", dns_type_name(type, tbuf));
		return DNS_E_ZONE;
	}
	if (b->nrecs == b->caprecs) {
		size_t ncap = b->caprecs ? b->caprecs * 2 : 64;
		struct brec *n = mm_alloc(b->mm, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		if (b->nrecs)
			memcpy(n, b->recs, b->nrecs * sizeof(*n));
		mm_free(b->mm, b->recs);
		b->recs = n;
		b->caprecs = ncap;
	}
	uint8_t *o = dns_arena_alloc(&b->arena, (size_t)olen);
	uint8_t *r = rdlen ? dns_arena_memdup(&b->arena, rdata, rdlen) : NULL;
	if (!o || (rdlen && !r))
		return -ENOMEM;
	if (rdlen)
		lower_rdata_names(type, r, rdlen);
	dns_name_lower(o, owner);
	struct brec *rec = &b->recs[b->nrecs];
	rec->owner = o;
	rec->ownerlen = (uint8_t)olen;
	rec->rdata = r;
	rec->rdlen = rdlen;
	rec->type = type;
	rec->ttl = ttl;
	rec->file = f;
	rec->line = line;
	rec->seq = (uint32_t)b->nrecs;
	b->nrecs++;
	return 0;
}

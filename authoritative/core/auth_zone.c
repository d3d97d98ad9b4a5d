/*
 * auth_zone.c -- zone loading (master files via ldns, wire records), load-time
 * checks, the immutable snapshot and zone sets. See auth_zone.h and
 * auth_zone_impl.h for the model.
 */
#include "auth_zone.h"
#include "auth_zone_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "dns_err.h"
#include "dns_hash.h"
#include "dns_log.h"
#include "dns_name.h"
#include "dns_pkt.h"

#define ARENA_BLOCK (64 * 1024)
#define INCLUDE_DEPTH_MAX 8
#define BUILDER_ERR_MAX 4096
#define ERRS_MAX 50 /* errors reported per zone before giving up listing them */

/* ---- small helpers ----------------------------------------------------------- */

uint32_t auth_name_hash(const uint8_t *name, size_t len)
{
	/* FNV-1a: cheap, and the owners are the operator's, not a client's. */
	return dns_fnv32(DNS_FNV32_INIT, name, len);
}

/*
 * Length of the uncompressed wire name at buf[0..len), or DNS_E_SHORT,
 * DNS_E_LABEL or DNS_E_NAMELEN when it is not a valid one (RDATA from AXFR is
 * outside input).
 */
static int wire_name_len(const uint8_t *buf, size_t len)
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

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Offset of the target name inside the RDATA of types that carry one for
 * additional-section processing (RFC 1035 3.3.9, 3.3.11; RFC 2782), else
 * DNS_E_NOTFOUND. */
static int target_offset(uint16_t type)
{
	switch (type) {
	case DNS_T_NS:
		return 0;
	case DNS_T_MX:
		return 2;
	case DNS_T_SRV:
		return 6;
	default:
		return DNS_E_NOTFOUND;
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
		n = wire_name_len(rd, len);
		return n > 0 && (size_t)n == len;
	case DNS_T_MX:
		if (len < 3)
			return false;
		n = wire_name_len(rd + 2, len - 2);
		return n > 0 && (size_t)n + 2 == len;
	case DNS_T_SRV:
		if (len < 7)
			return false;
		n = wire_name_len(rd + 6, len - 6);
		return n > 0 && (size_t)n + 6 == len;
	case DNS_T_SOA:
		n = wire_name_len(rd, len);
		if (n < 0)
			return false;
		m = wire_name_len(rd + n, len - (size_t)n);
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
	int n = wire_name_len(rd + pos, len - pos);
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

static void name_text(const uint8_t *name, char *buf, size_t size)
{
	if (dns_name_to_str(name, buf, size) < 0)
		snprintf(buf, size, "(bad name)");
}

/* ---- builder --------------------------------------------------------------- */

/* One record collected by a builder. */
struct brec {
	const uint8_t *owner;  /* canonical wire, in the builder arena */
	const uint8_t *rdata;  /* RDATA wire, in the builder arena */
	const char *file;      /* where it came from (builder arena) */
	unsigned line;         /* line in file, 0 unknown */
	uint32_t seq;          /* order of arrival */
	uint32_t ttl;
	uint16_t type;
	uint16_t rdlen;
	uint8_t ownerlen;
};

struct auth_zone_builder {
	const struct dns_mm *mm;
	struct dns_arena arena;      /* owners, RDATA, file names */
	uint8_t origin[DNS_NAME_MAX];
	size_t origin_len;
	struct brec *recs;
	size_t nrecs, caprecs;
	const char *srcname;         /* file named in whole-zone errors */
	const char *last_file;       /* interning cache: last file name copied */
	char errs[BUILDER_ERR_MAX];  /* errors met while adding */
	size_t errpos;
	unsigned nerrs;
};

/* Append one "file:line: reason" line to an error buffer. */
static void err_vadd(char *buf, size_t cap, size_t *pos, unsigned *count,
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

static void builder_err(struct auth_zone_builder *b, const char *file,
	unsigned line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void builder_err(struct auth_zone_builder *b, const char *file,
	unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vadd(b->errs, sizeof(b->errs), &b->errpos, &b->nerrs, file, line, fmt, ap);
	va_end(ap);
}

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
	dns_arena_init(&b->arena, mm, ARENA_BLOCK);
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

static const char *intern_file(struct auth_zone_builder *b, const char *file)
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
	const char *f = intern_file(b, file);
	if (file && !f)
		return -ENOMEM;
	if (!b->srcname)
		b->srcname = f;
	int olen = wire_name_len(owner, DNS_NAME_MAX);
	if (olen < 0) {
		builder_err(b, f, line, "invalid owner name");
		return DNS_E_ZONE;
	}
	if (rclass != DNS_CLASS_IN) {
		builder_err(b, f, line, "class %u not supported (only IN)", rclass);
		return DNS_E_ZONE;
	}
	if (type == DNS_T_OPT || type == DNS_T_TSIG || type == DNS_T_TKEY ||
	    type == DNS_T_AXFR || type == DNS_T_IXFR || type == DNS_T_ANY ||
	    type == DNS_T_MAILA || type == DNS_T_MAILB) {
		builder_err(b, f, line, "type %s cannot appear in a zone",
			dns_type_name(type, tbuf));
		return DNS_E_ZONE;
	}
	if (!rdata_ok(type, rdata, rdlen)) {
		builder_err(b, f, line, "malformed %s RDATA", dns_type_name(type, tbuf));
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

/* Canonical RDATA order (RFC 4034 6.3): octet-wise, a prefix first. */
static int rdata_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int brec_cmp(const void *pa, const void *pb)
{
	const struct brec *a = pa, *b = pb;
	int c = dns_name_cmp(a->owner, b->owner);
	if (c)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	c = rdata_cmp(a->rdata, a->rdlen, b->rdata, b->rdlen);
	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int nameptr_cmp(const void *pa, const void *pb)
{
	const uint8_t *const *a = pa, *const *b = pb;
	return dns_name_cmp(*a, *b);
}

/* State of a finish() run, passed from phase to phase. */
struct finish_ctx {
	struct auth_zone_builder *b;
	char *err;                  /* the caller's error buffer */
	size_t errlen, errpos;      /* its size, and the end of what is written */
	unsigned nerrs;             /* errors met */
	struct brec *recs;          /* the builder's records, sorted, then deduplicated */
	size_t n;                   /* how many */
	const uint8_t **names;      /* node names, canonical order (owned) */
	size_t nnodes;              /* how many */
	size_t nrrsets;             /* RRsets counted */
	struct auth_zone *z;        /* the snapshot being built (owned until returned) */
	struct auth_node *nodes;    /* z->nodes, writable */
	struct auth_rrset *rrsets;  /* every RRset of z, in node order */
	struct auth_rdata *rds;     /* every record of z, parallel to recs */
	uint32_t *hash;             /* z->hash, writable */
};

static void fin_err(struct finish_ctx *fc, const char *file, unsigned line,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fin_err(struct finish_ctx *fc, const char *file, unsigned line,
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vadd(fc->err, fc->errlen, &fc->errpos, &fc->nerrs, file, line, fmt, ap);
	va_end(ap);
}

static const struct auth_node *lookup_in(const struct auth_node *nodes,
	const uint32_t *hash, uint32_t mask, const uint8_t *lname, size_t len)
{
	uint32_t h = auth_name_hash(lname, len);
	for (uint32_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t v = hash[i];
		if (!v)
			return NULL;
		const struct auth_node *n = &nodes[v - 1];
		if (n->hash == h && n->namelen == len && memcmp(n->name, lname, len) == 0)
			return n;
	}
}

/*
 * Must the name server t of the NS RRset at nd have an address in this zone?
 * Yes when t lies at or below the cut nd itself (without glue the delegation
 * cannot be followed), and for the apex NS when t is authoritative data here.
 * No when t lies below another cut of the zone: that is sibling glue, which
 * RFC 9471 leaves optional (the resolver finds the address through the
 * sibling's own delegation).
 */
static bool glue_required(const struct auth_node *nodes, const uint32_t *hash,
	const struct auth_zone *z, const struct auth_node *nd, const uint8_t *t, size_t tl)
{
	if (nd->namelen != dns_name_len(z->origin) || !dns_name_eq(nd->name, z->origin))
		if (dns_name_is_sub(t, nd->name))
			return true;
	/* The closest existing encloser of t tells whether t is below a cut. */
	unsigned extra = dns_name_labels(t) - z->origin_labels;
	for (unsigned s = 0; s <= extra; s++) {
		const uint8_t *suf = dns_name_strip(t, s);
		const struct auth_node *ce = lookup_in(nodes, hash, z->hash_mask, suf,
			tl - (size_t)(suf - t));
		if (ce)
			return ce->cut == NULL && !(ce->flags & AUTH_NODE_NONAUTH);
	}
	return true;
}

const struct auth_node *auth_zone_lookup(const struct auth_zone *z,
	const uint8_t *lname, size_t len)
{
	return lookup_in(z->nodes, z->hash, z->hash_mask, lname, len);
}

const struct auth_rrset *auth_node_rrset(const struct auth_node *n, uint16_t type)
{
	/* Nodes hold few RRsets: a linear scan beats a binary search here. */
	for (uint16_t i = 0; i < n->nrrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

static void zone_free(struct auth_zone *z)
{
	const struct dns_mm *mm = z->mm;
	dns_arena_deinit(&z->arena);
	mm_free(mm, z);
}

/* The record of an rrset that came first in the input (for TTL and messages). */
static const struct brec *first_rec(const struct brec *r, size_t n)
{
	const struct brec *f = r;
	for (size_t i = 1; i < n; i++)
		if (r[i].seq < f->seq)
			f = &r[i];
	return f;
}

static const struct brec *second_rec(const struct brec *r, size_t n)
{
	/* The record of r[0..n) that arrived second, n >= 2. */
	const struct brec *f = first_rec(r, n), *s = NULL;
	for (size_t i = 0; i < n; i++)
		if (&r[i] != f && (!s || r[i].seq < s->seq))
			s = &r[i];
	return s;
}

/* Merge identical duplicates silently (as NSD does), keep the first; drop
 * records outside the zone with an error. recs is sorted. */
static void finish_dedupe(struct finish_ctx *fc)
{
	struct auth_zone_builder *b = fc->b;
	struct brec *recs = fc->recs;
	char nbuf[DNS_NAME_TEXT_MAX], nbuf2[DNS_NAME_TEXT_MAX];
	size_t m = 0;

	for (size_t i = 0; i < fc->n; i++) {
		if (!dns_name_is_sub(recs[i].owner, b->origin)) {
			name_text(recs[i].owner, nbuf, sizeof(nbuf));
			name_text(b->origin, nbuf2, sizeof(nbuf2));
			fin_err(fc, recs[i].file, recs[i].line,
				"%s is outside the zone %s", nbuf, nbuf2);
			continue;
		}
		if (m && recs[m - 1].type == recs[i].type &&
		    dns_name_eq(recs[m - 1].owner, recs[i].owner) &&
		    rdata_cmp(recs[m - 1].rdata, recs[m - 1].rdlen, recs[i].rdata,
			    recs[i].rdlen) == 0)
			continue; /* sorted by seq inside equal keys: keep the earlier */
		recs[m++] = recs[i];
	}
	fc->n = m;
}

/*
 * Names: every owner, its ancestors down to the apex (empty non-terminals
 * exist, RFC 4592 2.2.2) and the apex itself, sorted and unique. Suffix
 * pointers into owners are names too, no copy needed. 0 or -ENOMEM.
 */
static int finish_names(struct finish_ctx *fc)
{
	struct auth_zone_builder *b = fc->b;
	const struct brec *recs = fc->recs;
	const uint8_t **names;
	size_t n = fc->n, i, k = 0, m = 0, nnames = 1;
	unsigned olabels = dns_name_labels(b->origin);

	for (i = 0; i < n; i++)
		nnames += dns_name_labels(recs[i].owner) - olabels + 1;
	names = mm_alloc(b->mm, nnames * sizeof(*names));
	if (!names)
		return -ENOMEM;
	names[k++] = b->origin;
	for (i = 0; i < n; i++) {
		if (i && recs[i - 1].owner == recs[i].owner)
			continue;
		unsigned extra = dns_name_labels(recs[i].owner) - olabels;
		for (unsigned s = 0; s < extra; s++)
			names[k++] = dns_name_strip(recs[i].owner, s);
	}
	qsort(names, k, sizeof(*names), nameptr_cmp);
	for (i = 0; i < k; i++)
		if (!m || dns_name_cmp(names[m - 1], names[i]) != 0)
			names[m++] = names[i];
	fc->names = names;
	fc->nnodes = m;
	return 0;
}

/* Count the RRsets and allocate the snapshot with its arrays. 0 or -ENOMEM. */
static int finish_alloc(struct finish_ctx *fc)
{
	const struct brec *recs = fc->recs;
	size_t n = fc->n, nnodes = fc->nnodes, nrrsets = 0;
	struct auth_zone *z;

	for (size_t i = 0; i < n; i++)
		if (!i || recs[i].type != recs[i - 1].type ||
		    !dns_name_eq(recs[i].owner, recs[i - 1].owner))
			nrrsets++;
	z = mm_calloc(fc->b->mm, 1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	fc->z = z;
	z->mm = fc->b->mm;
	atomic_init(&z->refs, 1);
	dns_arena_init(&z->arena, fc->b->mm, ARENA_BLOCK);
	uint32_t slots = 16;
	while (slots < nnodes * 2)
		slots <<= 1;
	fc->nodes = dns_arena_alloc(&z->arena, nnodes * sizeof(*fc->nodes));
	fc->rrsets = dns_arena_alloc(&z->arena, (nrrsets ? nrrsets : 1) * sizeof(*fc->rrsets));
	fc->rds = dns_arena_alloc(&z->arena, (n ? n : 1) * sizeof(*fc->rds));
	fc->hash = dns_arena_alloc(&z->arena, slots * sizeof(*fc->hash));
	if (!fc->nodes || !fc->rrsets || !fc->rds || !fc->hash)
		return -ENOMEM;
	memset(fc->nodes, 0, nnodes * sizeof(*fc->nodes));
	memset(fc->hash, 0, slots * sizeof(*fc->hash));
	fc->nrrsets = nrrsets;
	z->nodes = fc->nodes;
	z->nnodes = nnodes;
	z->hash = fc->hash;
	z->hash_mask = slots - 1;
	z->rr_count = n;
	return 0;
}

/*
 * Fill the RRset rs of node nd with the records recs[ri..j) (one owner and
 * type). 0, -ENOMEM, or DNS_E_ZONE (too large: the error is listed).
 */
static int fill_rrset(struct finish_ctx *fc, struct auth_node *nd, struct auth_rrset *rs,
	size_t ri, size_t j)
{
	const struct brec *recs = fc->recs;
	const struct brec *first = first_rec(&recs[ri], j - ri);
	char nbuf[DNS_NAME_TEXT_MAX], tbuf[16];

	rs->type = recs[ri].type;
	rs->count = (uint16_t)(j - ri);
	rs->ttl = first->ttl;
	rs->rr = &fc->rds[ri];
	if (j - ri > 65535) {
		fin_err(fc, first->file, first->line, "RRset too large");
		return DNS_E_ZONE;
	}
	for (size_t x = ri; x < j; x++) {
		struct auth_rdata *rd = &fc->rds[x];
		rd->len = recs[x].rdlen;
		rd->ttl = recs[x].ttl;
		rd->target = NULL;
		rd->target_wild = false;
		rd->target_off = 0;
		rd->data = recs[x].rdlen ?
			dns_arena_memdup(&fc->z->arena, recs[x].rdata, recs[x].rdlen) :
			nd->name; /* any valid pointer: len is 0 */
		if (!rd->data)
			return -ENOMEM;
		if (recs[x].ttl != rs->ttl) {
			/* RFC 2181 5.2: TTLs of an RRset must match. Like NSD,
			 * warn and go on; each record keeps its TTL. */
			name_text(nd->name, nbuf, sizeof(nbuf));
			log_warn("%s:%u: TTL %u of %s %s differs from the RRset's %u (RFC 2181 5.2)",
				recs[x].file ? recs[x].file : "AXFR", recs[x].line,
				recs[x].ttl, nbuf, dns_type_name(rs->type, tbuf),
				rs->ttl);
		}
	}
	switch (rs->type) {
	case DNS_T_CNAME:
		nd->flags |= AUTH_NODE_CNAME;
		break;
	case DNS_T_DNAME:
		nd->flags |= AUTH_NODE_DNAME;
		break;
	case DNS_T_A:
	case DNS_T_AAAA:
		nd->flags |= AUTH_NODE_ADDR;
		break;
	}
	return 0;
}

/* Fill nodes, RRsets and records in one merge walk (both sorted alike), and
 * the name hash. 0, -ENOMEM or DNS_E_ZONE. */
static int finish_fill(struct finish_ctx *fc)
{
	struct auth_zone *z = fc->z;
	const struct brec *recs = fc->recs;
	size_t n = fc->n, ri = 0, si = 0;
	int rc;

	for (size_t i = 0; i < fc->nnodes; i++) {
		struct auth_node *nd = &fc->nodes[i];
		size_t len = dns_name_len(fc->names[i]);
		uint8_t *nm = dns_arena_memdup(&z->arena, fc->names[i], len);
		if (!nm)
			return -ENOMEM;
		nd->name = nm;
		nd->namelen = (uint8_t)len;
		nd->labels = (uint8_t)dns_name_labels(nm);
		nd->hash = auth_name_hash(nm, len);
		if (dns_name_is_wildcard(nm))
			nd->flags |= AUTH_NODE_WILDCARD;
		nd->rrsets = &fc->rrsets[si];
		while (ri < n && dns_name_cmp(recs[ri].owner, nm) == 0) {
			size_t j = ri + 1;
			while (j < n && recs[j].type == recs[ri].type &&
			       dns_name_eq(recs[j].owner, recs[ri].owner))
				j++;
			if ((rc = fill_rrset(fc, nd, &fc->rrsets[si++], ri, j)) < 0)
				return rc;
			nd->nrrsets++;
			ri = j;
		}
		for (uint32_t h = nd->hash & z->hash_mask;; h = (h + 1) & z->hash_mask) {
			if (!fc->hash[h]) {
				fc->hash[h] = (uint32_t)i + 1;
				break;
			}
		}
	}
	require(ri == n && si == fc->nrrsets);

	struct auth_node *apex = &fc->nodes[0];
	apex->flags |= AUTH_NODE_APEX;
	z->apex = apex;
	z->origin = apex->name;
	z->origin_len = apex->namelen;
	z->origin_labels = apex->labels;
	return 0;
}

/* The builder record of an RRset's first record in the input. */
static const struct brec *rrset_first(const struct finish_ctx *fc, const struct auth_rrset *rs)
{
	return first_rec(&fc->recs[rs->rr - fc->rds], rs->count);
}

/* SOA only at the apex, exactly one; CNAME alone (RFC 1034 3.6.2; RRSIG and
 * NSEC may accompany it, RFC 4035 2.5), and only one. */
static void check_soa_cname(struct finish_ctx *fc, const struct auth_node *nd, bool apex)
{
	char nbuf[DNS_NAME_TEXT_MAX], tbuf[16];

	const struct auth_rrset *soa = auth_node_rrset(nd, DNS_T_SOA);
	if (soa && !apex) {
		const struct brec *r = rrset_first(fc, soa);
		name_text(nd->name, nbuf, sizeof(nbuf));
		fin_err(fc, r->file, r->line, "SOA record at %s, not at the zone apex",
			nbuf);
	} else if (soa && soa->count > 1) {
		const struct brec *r = second_rec(&fc->recs[soa->rr - fc->rds], soa->count);
		fin_err(fc, r->file, r->line, "more than one SOA record at the apex");
	}

	const struct auth_rrset *cn = auth_node_rrset(nd, DNS_T_CNAME);
	if (!cn)
		return;
	const struct brec *cr = &fc->recs[cn->rr - fc->rds];
	name_text(nd->name, nbuf, sizeof(nbuf));
	if (cn->count > 1) {
		const struct brec *r = second_rec(cr, cn->count);
		fin_err(fc, r->file, r->line, "more than one CNAME record at %s", nbuf);
	}
	const struct brec *cf = first_rec(cr, cn->count);
	for (size_t j = 0; j < nd->nrrsets; j++) {
		const struct auth_rrset *rs = &nd->rrsets[j];
		if (rs->type == DNS_T_CNAME || rs->type == DNS_T_RRSIG ||
		    rs->type == DNS_T_NSEC)
			continue;
		const struct brec *of = rrset_first(fc, rs);
		/* blame whichever came later in the input */
		const struct brec *bl = of->seq > cf->seq ? of : cf;
		fin_err(fc, bl->file, bl->line,
			"CNAME and other data (%s) at %s (RFC 1034 3.6.2)",
			dns_type_name(rs->type, tbuf), nbuf);
	}
}

/*
 * Per-node checks and flags: walk the nodes in canonical order; a subtree is
 * contiguous, so the current zone cut and DNAME are tracked with one pointer
 * each. Then the whole-zone checks (SOA and NS at the apex).
 */
static void finish_check_nodes(struct finish_ctx *fc)
{
	struct auth_zone *z = fc->z;
	const struct auth_node *cut = NULL, *dname = NULL;
	char nbuf[DNS_NAME_TEXT_MAX], nbuf2[DNS_NAME_TEXT_MAX];
	const char *src = fc->b->srcname ? fc->b->srcname : "AXFR";

	for (size_t i = 0; i < fc->nnodes; i++) {
		struct auth_node *nd = &fc->nodes[i];
		const struct brec *nrec = NULL; /* first record of this node */
		for (size_t j = 0; j < nd->nrrsets; j++) {
			const struct brec *f = rrset_first(fc, &nd->rrsets[j]);
			if (!nrec || f->seq < nrec->seq)
				nrec = f;
		}
		if (cut && !dns_name_is_sub(nd->name, cut->name))
			cut = NULL;
		if (dname && !dns_name_is_sub(nd->name, dname->name))
			dname = NULL;
		if (cut) {
			nd->flags |= AUTH_NODE_NONAUTH;
			nd->cut = cut;
		} else if (i && auth_node_rrset(nd, DNS_T_NS)) {
			nd->flags |= AUTH_NODE_DELEG;
			nd->cut = nd;
			cut = nd;
		}
		if (dname && nrec) {
			/* RFC 6672 2.3: no data below a DNAME. */
			name_text(nd->name, nbuf, sizeof(nbuf));
			name_text(dname->name, nbuf2, sizeof(nbuf2));
			fin_err(fc, nrec->file, nrec->line,
				"%s is below the DNAME at %s (RFC 6672 2.3)", nbuf, nbuf2);
		}
		if (!dname && (nd->flags & AUTH_NODE_DNAME))
			dname = nd;
		check_soa_cname(fc, nd, i == 0);
	}

	name_text(z->origin, nbuf2, sizeof(nbuf2));
	z->soa = auth_node_rrset(z->apex, DNS_T_SOA);
	z->ns = auth_node_rrset(z->apex, DNS_T_NS);
	if (!z->soa)
		fin_err(fc, src, 0, "no SOA record at the zone apex %s", nbuf2);
	if (!z->ns) {
		if (z->soa) {
			const struct brec *r = rrset_first(fc, z->soa);
			fin_err(fc, r->file, r->line, "no NS records at the zone apex %s", nbuf2);
		} else {
			fin_err(fc, src, 0, "no NS records at the zone apex %s", nbuf2);
		}
	}
}

/* Wildcard parents (needs the hash). */
static void finish_wildcards(struct finish_ctx *fc)
{
	for (size_t i = 1; i < fc->nnodes; i++) {
		struct auth_node *nd = &fc->nodes[i];
		if (nd->flags & AUTH_NODE_WILDCARD) {
			const uint8_t *parent = dns_name_strip(nd->name, 1);
			const struct auth_node *p = lookup_in(fc->nodes, fc->hash,
				fc->z->hash_mask, parent, dns_name_len(parent));
			if (p)
				((struct auth_node *)p)->wildcard = nd;
		}
	}
}

/*
 * The additional-section target of one NS/MX/SRV record (t, tl: its target
 * name, lower case) and, for the NS records of a delegation or the apex, the
 * glue check.
 */
static void link_target(struct finish_ctx *fc, const struct auth_node *nd,
	struct auth_rdata *rd, const uint8_t *t, size_t tl, bool check_glue)
{
	const struct auth_zone *z = fc->z;
	const struct auth_node *tn = NULL;
	bool inzone = dns_name_is_sub(t, z->origin);
	char nbuf[DNS_NAME_TEXT_MAX], nbuf2[DNS_NAME_TEXT_MAX];

	if (inzone)
		tn = lookup_in(fc->nodes, fc->hash, z->hash_mask, t, tl);
	if (tn && (tn->flags & AUTH_NODE_ADDR))
		rd->target = tn;
	if (inzone && !tn) {
		/* Covered by a wildcard? Its addresses stand in for
		 * the name (as NSD's additional processing does). */
		unsigned extra = dns_name_labels(t) - z->origin_labels;
		for (unsigned s = 1; s <= extra; s++) {
			const uint8_t *suf = dns_name_strip(t, s);
			const struct auth_node *ce = lookup_in(fc->nodes, fc->hash,
				z->hash_mask, suf, tl - (size_t)(suf - t));
			if (!ce)
				continue;
			if (ce->wildcard && (ce->wildcard->flags & AUTH_NODE_ADDR)) {
				rd->target = ce->wildcard;
				rd->target_wild = true;
			}
			break;
		}
	}
	/* glue must be real records: wildcards do not apply below a cut */
	if (check_glue && inzone && (!tn || !(tn->flags & AUTH_NODE_ADDR)) &&
	    glue_required(fc->nodes, fc->hash, z, nd, t, tl)) {
		const struct brec *r = &fc->recs[rd - fc->rds];
		name_text(t, nbuf, sizeof(nbuf));
		name_text(nd->name, nbuf2, sizeof(nbuf2));
		fin_err(fc, r->file, r->line,
			"name server %s of %s is inside the zone but has no A/AAAA record (missing glue)",
			nbuf, nbuf2);
	}
}

/* Additional-section targets and the glue check. */
static void finish_targets(struct finish_ctx *fc)
{
	for (size_t i = 0; i < fc->nnodes; i++) {
		struct auth_node *nd = &fc->nodes[i];
		for (size_t j = 0; j < nd->nrrsets; j++) {
			struct auth_rrset *rs = (struct auth_rrset *)&nd->rrsets[j];
			int off = target_offset(rs->type);
			if (off < 0)
				continue;
			/* NS records below a cut are occluded: not checked, not used. */
			bool check_glue = rs->type == DNS_T_NS && !(nd->flags & AUTH_NODE_NONAUTH);
			for (uint16_t x = 0; x < rs->count; x++) {
				struct auth_rdata *rd = (struct auth_rdata *)&rs->rr[x];
				uint8_t t[DNS_NAME_MAX];
				size_t tl = dns_name_lower(t, rd->data + off);
				rd->target_off = (uint8_t)off;
				link_target(fc, nd, rd, t, tl, check_glue);
			}
		}
	}
}

/* SOA fields: rdata checked at add time (two names + 20 octets). */
static void finish_soa(struct auth_zone *z)
{
	const struct auth_rdata *rd = &z->soa->rr[0];
	int n1 = wire_name_len(rd->data, rd->len);
	int n2 = wire_name_len(rd->data + n1, rd->len - (size_t)n1);
	const uint8_t *p = rd->data + n1 + n2;
	z->soa_fields.ttl = z->soa->ttl;
	z->soa_fields.serial = rd32(p);
	z->soa_fields.refresh = rd32(p + 4);
	z->soa_fields.retry = rd32(p + 8);
	z->soa_fields.expire = rd32(p + 12);
	z->soa_fields.minimum = rd32(p + 16);
	z->neg_ttl = z->soa_fields.ttl < z->soa_fields.minimum ?
		z->soa_fields.ttl : z->soa_fields.minimum;
}

int auth_zone_builder_finish(struct auth_zone_builder *b, struct auth_zone **out,
	char *err, size_t errlen)
{
	struct finish_ctx fc = { .b = b, .err = err, .errlen = errlen, .recs = b->recs,
		.n = b->nrecs };
	int rc = DNS_E_ZONE;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (b->nerrs) {
		/* Parse errors: the rest of the checks would only add noise. */
		if (err && errlen)
			snprintf(err, errlen, "%s", b->errs);
		goto out;
	}
	if (fc.n > 1)
		qsort(fc.recs, fc.n, sizeof(*fc.recs), brec_cmp);
	finish_dedupe(&fc);
	if ((rc = finish_names(&fc)) < 0 || (rc = finish_alloc(&fc)) < 0 ||
	    (rc = finish_fill(&fc)) < 0)
		goto out;
	finish_check_nodes(&fc);
	finish_wildcards(&fc);
	finish_targets(&fc);
	rc = DNS_E_ZONE;
	if (fc.nerrs)
		goto out;
	finish_soa(fc.z);
	*out = fc.z;
	fc.z = NULL;
	rc = 0;
out:
	if (fc.z)
		zone_free(fc.z);
	if (fc.names)
		mm_free(b->mm, fc.names);
	auth_zone_builder_free(b);
	return rc;
}

/* ---- master files -------------------------------------------------------- */

/* Per-file loader state. */
struct loadctx {
	struct auth_zone_builder *b;
	const struct auth_zone_reader *rd; /* reads $INCLUDE files; NULL: none */
	const char *fname;      /* file name for messages */
	const char *text;       /* the whole file */
	size_t len;
	int depth;              /* $INCLUDE nesting */
	uint32_t default_ttl;   /* $TTL, 0 = none yet (ldns then uses 3600) */
	ldns_rdf *origin;       /* current $ORIGIN (owned) */
	size_t line_pos;        /* counted lines up to this offset ... */
	unsigned line;          /* ... this is the line number at line_pos */
};

static int load_text(struct auth_zone_builder *b, const struct auth_zone_reader *rd,
	const char *fname, const char *text, size_t len, const ldns_rdf *origin,
	uint32_t ttl, int depth);

/* Line number of offset pos (pos only grows between calls). */
static unsigned line_at(struct loadctx *lc, size_t pos)
{
	for (; lc->line_pos < pos && lc->line_pos < lc->len; lc->line_pos++)
		if (lc->text[lc->line_pos] == '\n')
			lc->line++;
	return lc->line;
}

/* Offset of the first character that is neither blank nor comment from pos. */
static size_t skip_blank(const struct loadctx *lc, size_t pos)
{
	while (pos < lc->len) {
		char c = lc->text[pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			pos++;
		} else if (c == ';') {
			while (pos < lc->len && lc->text[pos] != '\n')
				pos++;
		} else {
			break;
		}
	}
	return pos;
}

/* Split the directive line at pos into whitespace-separated words (quotes
 * allowed for a file name); stops at ';' or end of line. Returns the count
 * and the offset after the line. */
static int directive_words(const struct loadctx *lc, size_t pos, char words[3][1024],
	size_t *end)
{
	int nw = 0;
	while (pos < lc->len && lc->text[pos] != '\n') {
		char c = lc->text[pos];
		if (c == ' ' || c == '\t' || c == '\r') {
			pos++;
			continue;
		}
		if (c == ';') {
			while (pos < lc->len && lc->text[pos] != '\n')
				pos++;
			break;
		}
		size_t w = 0;
		bool quoted = c == '"';
		if (quoted)
			pos++;
		while (pos < lc->len && lc->text[pos] != '\n') {
			c = lc->text[pos];
			if (quoted ? c == '"' : (c == ' ' || c == '\t' || c == '\r' || c == ';'))
				break;
			if (nw < 3 && w + 1 < 1024)
				words[nw][w++] = c;
			pos++;
		}
		if (quoted && pos < lc->len && lc->text[pos] == '"')
			pos++;
		if (nw < 3)
			words[nw][w] = 0;
		nw++;
	}
	/* always past the line, whatever it held */
	*end = pos < lc->len ? pos + 1 : pos;
	return nw > 3 ? -1 : nw;
}

/* A name from a directive: relative names are relative to the current origin. */
static int directive_name(struct loadctx *lc, const char *word, ldns_rdf **out)
{
	uint8_t wire[DNS_NAME_MAX];
	size_t wl;
	int rc;
	if (strcmp(word, "@") == 0) {
		*out = ldns_rdf_clone(lc->origin);
		return *out ? 0 : -ENOMEM;
	}
	rc = dns_name_from_str(word, ldns_rdf_data(lc->origin), wire, &wl);
	if (rc < 0)
		return rc;
	*out = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, wl, wire);
	return *out ? 0 : -ENOMEM;
}

static int do_include(struct loadctx *lc, unsigned line, const char *file,
	const char *origin_word)
{
	char path[4096];
	char *text = NULL;
	size_t len;
	ldns_rdf *org = NULL;
	int rc;

	if (lc->depth + 1 >= INCLUDE_DEPTH_MAX) {
		builder_err(lc->b, lc->fname, line, "$INCLUDE nested too deeply");
		return DNS_E_ZONE;
	}
	/* Relative to the including file's directory. */
	const char *slash = strrchr(lc->fname, '/');
	if (file[0] == '/' || !slash)
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - lc->fname),
			lc->fname, file);
	if (origin_word && origin_word[0]) {
		rc = directive_name(lc, origin_word, &org);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			builder_err(lc->b, lc->fname, line, "bad origin '%s' in $INCLUDE",
				origin_word);
			return DNS_E_ZONE;
		}
	}
	rc = lc->rd ? lc->rd->read(lc->rd->ctx, path, &text, &len) : -ENOTSUP;
	if (rc < 0) {
		builder_err(lc->b, lc->fname, line, "cannot read $INCLUDE file %s: %s",
			path, strerror(-rc));
		ldns_rdf_deep_free(org);
		return rc == -ENOMEM ? rc : DNS_E_ZONE;
	}
	/* RFC 1035 5.1: the origin given applies to the included file only. */
	rc = load_text(lc->b, lc->rd, path, text, len, org ? org : lc->origin,
		lc->default_ttl, lc->depth + 1);
	lc->rd->release(lc->rd->ctx, text, len);
	ldns_rdf_deep_free(org);
	return rc;
}

static int add_ldns_rr(struct loadctx *lc, const ldns_rr *rr, unsigned line)
{
	uint8_t rdata[65535];
	size_t rl = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		size_t fl = ldns_rdf_size(f);
		if (rl + fl > sizeof(rdata)) {
			builder_err(lc->b, lc->fname, line, "RDATA longer than 65535 octets");
			return DNS_E_ZONE;
		}
		memcpy(rdata + rl, ldns_rdf_data(f), fl);
		rl += fl;
	}
	const ldns_rdf *o = ldns_rr_owner(rr);
	return auth_zone_builder_add_rr(lc->b, ldns_rdf_data(o), ldns_rr_get_type(rr),
		ldns_rr_get_class(rr), ldns_rr_ttl(rr), rdata, (uint16_t)rl, lc->fname, line);
}

/*
 * Read text record by record. Directives are handled here (ldns's $ORIGIN does
 * not make relative names relative, and its $INCLUDE gives no file name);
 * records go to ldns, which deals with parentheses, quotes and comments. The
 * line of a record is that of its first significant character, found from the
 * stream offsets before the call.
 */
static int load_text(struct auth_zone_builder *b, const struct auth_zone_reader *rd,
	const char *fname, const char *text, size_t len, const ldns_rdf *origin,
	uint32_t ttl, int depth)
{
	struct loadctx lc = { .b = b, .rd = rd, .fname = fname, .text = text, .len = len,
		.depth = depth, .default_ttl = ttl, .line = 1 };
	ldns_rdf *prev = NULL;
	FILE *fp = NULL;
	int rc = 0;

	lc.origin = ldns_rdf_clone(origin);
	if (!lc.origin)
		return -ENOMEM;
	if (len == 0)
		goto out;
	fp = fmemopen((void *)text, len, "r");
	if (!fp) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		long p0 = ftell(fp);
		if (p0 < 0) {
			rc = -EIO;
			goto out;
		}
		size_t start = skip_blank(&lc, (size_t)p0);
		if (start >= len)
			break;
		unsigned line = line_at(&lc, start);
		/* Give ldns the record from the start of its line: leading blanks
		 * mean "same owner as before" (RFC 1035 5.1). */
		size_t ls = start;
		while (ls > (size_t)p0 && text[ls - 1] != '\n')
			ls--;
		if (text[start] == '$') {
			char w[3][1024];
			size_t end;
			int nw = directive_words(&lc, start, w, &end);
			if (fseek(fp, (long)end, SEEK_SET) != 0) {
				rc = -EIO;
				goto out;
			}
			if (nw < 0) {
				builder_err(b, fname, line, "too many words in directive");
			} else if (strcasecmp(w[0], "$ORIGIN") == 0 && nw == 2) {
				ldns_rdf *no = NULL;
				int r = directive_name(&lc, w[1], &no);
				if (r == -ENOMEM) {
					rc = r;
					goto out;
				}
				if (r < 0) {
					builder_err(b, fname, line, "bad $ORIGIN name '%s'", w[1]);
				} else {
					ldns_rdf_deep_free(lc.origin);
					lc.origin = no;
				}
			} else if (strcasecmp(w[0], "$TTL") == 0 && nw == 2) {
				const char *endp = NULL;
				uint32_t t = ldns_str2period(w[1], &endp);
				if (!endp || *endp)
					builder_err(b, fname, line, "bad $TTL value '%s'", w[1]);
				else
					lc.default_ttl = t;
			} else if (strcasecmp(w[0], "$INCLUDE") == 0 && (nw == 2 || nw == 3)) {
				int r = do_include(&lc, line, w[1], nw == 3 ? w[2] : NULL);
				if (r == -ENOMEM) {
					rc = r;
					goto out;
				}
			} else {
				builder_err(b, fname, line, "unknown or malformed directive %s", w[0]);
			}
			continue;
		}
		if (fseek(fp, (long)ls, SEEK_SET) != 0) {
			rc = -EIO;
			goto out;
		}
		p0 = (long)ls;
		ldns_rr *rr = NULL;
		uint32_t t = lc.default_ttl;
		int dummy = 0;
		ldns_rdf *org = lc.origin;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &t, &org, &prev, &dummy);
		if (org != lc.origin)
			lc.origin = org; /* cannot happen: directives never reach ldns */
		if (s == LDNS_STATUS_OK) {
			int r = add_ldns_rr(&lc, rr, line);
			ldns_rr_free(rr);
			if (r == -ENOMEM) {
				rc = r;
				goto out;
			}
		} else if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
			   s == LDNS_STATUS_SYNTAX_ORIGIN) {
			/* nothing */
		} else if (s == LDNS_STATUS_MEM_ERR) {
			rc = -ENOMEM;
			goto out;
		} else {
			builder_err(b, fname, line, "%s", ldns_get_errorstr_by_id(s));
		}
		long p1 = ftell(fp);
		if (feof(fp))
			break;
		if (p1 <= p0) {
			/* no progress: do not loop forever */
			builder_err(b, fname, line, "cannot parse the record");
			break;
		}
	}
out:
	if (fp)
		fclose(fp);
	ldns_rdf_deep_free(prev);
	ldns_rdf_deep_free(lc.origin);
	return rc;
}

static int load_common(const struct dns_mm *mm, const uint8_t *origin,
	const struct auth_zone_reader *rd, const char *name, const char *text,
	size_t len, struct auth_zone **out, char *err, size_t errlen)
{
	struct auth_zone_builder *b = NULL;
	ldns_rdf *org = NULL;
	int rc;

	*out = NULL;
	rc = auth_zone_builder_new(mm, origin, &b);
	if (rc < 0)
		return rc;
	b->srcname = intern_file(b, name);
	org = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, b->origin_len, b->origin);
	if (!org || !b->srcname) {
		auth_zone_builder_free(b);
		ldns_rdf_deep_free(org);
		return -ENOMEM;
	}
	/* ldns's default TTL when no $TTL was seen is 3600, as NSD's. */
	rc = load_text(b, rd, name, text, len, org, 0, 0);
	ldns_rdf_deep_free(org);
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", name, dns_strerror(rc));
		auth_zone_builder_free(b);
		return rc;
	}
	return auth_zone_builder_finish(b, out, err, errlen);
}

int auth_zone_load(const struct dns_mm *mm, const uint8_t *origin, const char *path,
	const struct auth_zone_reader *rd, struct auth_zone **out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	int rc = rd->read(rd->ctx, path, &text, &len);
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	rc = load_common(mm, origin, rd, path, text, len, out, err, errlen);
	rd->release(rd->ctx, text, len);
	return rc;
}

int auth_zone_load_string(const struct dns_mm *mm, const uint8_t *origin,
	const char *text, const char *name, struct auth_zone **out, char *err,
	size_t errlen)
{
	return load_common(mm, origin, NULL, name ? name : "(string)", text, strlen(text),
		out, err, errlen);
}

int auth_zone_check_file(const char *origin, const char *path,
	const struct auth_zone_reader *rd, char *err, size_t errlen)
{
	uint8_t wire[DNS_NAME_MAX];
	size_t wl;
	struct auth_zone *z = NULL;
	int rc = dns_name_from_str(origin, NULL, wire, &wl);
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "bad zone origin '%s'", origin);
		return DNS_E_SYNTAX;
	}
	rc = auth_zone_load(dns_mm_std(), wire, path, rd, &z, err, errlen);
	if (rc < 0)
		return rc;
	if (err && errlen) {
		char nb[DNS_NAME_TEXT_MAX];
		name_text(z->origin, nb, sizeof(nb));
		snprintf(err, errlen, "zone %s serial %u: %zu records", nb,
			z->soa_fields.serial, z->rr_count);
	}
	auth_zone_unref(z);
	return 0;
}

/* ---- snapshot accessors -------------------------------------------------------- */

struct auth_zone *auth_zone_ref(struct auth_zone *z)
{
	atomic_fetch_add_explicit(&z->refs, 1, memory_order_relaxed);
	return z;
}

void auth_zone_unref(struct auth_zone *z)
{
	if (!z)
		return;
	if (atomic_fetch_sub_explicit(&z->refs, 1, memory_order_acq_rel) == 1)
		zone_free(z);
}

const uint8_t *auth_zone_origin(const struct auth_zone *z)
{
	return z->origin;
}

void auth_zone_soa(const struct auth_zone *z, struct auth_soa *soa)
{
	*soa = z->soa_fields;
}

uint32_t auth_zone_serial(const struct auth_zone *z)
{
	return z->soa_fields.serial;
}

size_t auth_zone_rr_count(const struct auth_zone *z)
{
	return z->rr_count;
}

void auth_zone_iter_init(struct auth_zone_iter *it, const struct auth_zone *z)
{
	memset(it, 0, sizeof(*it));
	it->z = z;
}

static void view_of(struct auth_rr_view *v, const struct auth_node *n,
	const struct auth_rrset *rs, size_t i)
{
	v->owner = n->name;
	v->type = rs->type;
	v->rclass = DNS_CLASS_IN;
	v->ttl = rs->rr[i].ttl;
	v->rdata = rs->rr[i].data;
	v->rdlen = rs->rr[i].len;
}

bool auth_zone_iter_next(struct auth_zone_iter *it, struct auth_rr_view *rr)
{
	const struct auth_zone *z = it->z;
	switch (it->phase) {
	case 0:
		view_of(rr, z->apex, z->soa, 0);
		it->phase = 1;
		return true;
	case 1:
		while (it->node < z->nnodes) {
			const struct auth_node *n = &z->nodes[it->node];
			if (it->rrset >= n->nrrsets) {
				it->node++;
				it->rrset = 0;
				it->rr = 0;
				continue;
			}
			const struct auth_rrset *rs = &n->rrsets[it->rrset];
			if (rs->type == DNS_T_SOA && n == z->apex) {
				it->rrset++;
				continue;
			}
			if (it->rr >= rs->count) {
				it->rrset++;
				it->rr = 0;
				continue;
			}
			view_of(rr, n, rs, it->rr++);
			return true;
		}
		it->phase = 2;
		/* fall through */
	case 2:
		view_of(rr, z->apex, z->soa, 0);
		it->phase = 3;
		return true;
	default:
		return false;
	}
}

/* ---- zone sets -------------------------------------------------------------- */

struct auth_zoneset {
	atomic_uint refs;           /* references; the last unref frees */
	const struct dns_mm *mm;
	size_t n;                   /* zones */
	struct auth_zone **zones;   /* sorted by origin, canonical order */
};

struct auth_zoneset_builder {
	const struct dns_mm *mm;
	size_t n, cap;
	struct auth_zone **zones;
};

int auth_zoneset_builder_new(const struct dns_mm *mm, struct auth_zoneset_builder **out)
{
	if (!mm)
		mm = dns_mm_std();
	*out = mm_calloc(mm, 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->mm = mm;
	return 0;
}

int auth_zoneset_builder_add(struct auth_zoneset_builder *b, struct auth_zone *z)
{
	for (size_t i = 0; i < b->n; i++)
		if (dns_name_eq(b->zones[i]->origin, z->origin))
			return DNS_E_EXISTS;
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 8;
		struct auth_zone **nz = mm_alloc(b->mm, ncap * sizeof(*nz));
		if (!nz)
			return -ENOMEM;
		if (b->n)
			memcpy(nz, b->zones, b->n * sizeof(*nz));
		mm_free(b->mm, b->zones);
		b->zones = nz;
		b->cap = ncap;
	}
	b->zones[b->n++] = auth_zone_ref(z);
	return 0;
}

void auth_zoneset_builder_free(struct auth_zoneset_builder *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		auth_zone_unref(b->zones[i]);
	mm_free(b->mm, b->zones);
	mm_free(b->mm, b);
}

static int zoneptr_cmp(const void *pa, const void *pb)
{
	const struct auth_zone *const *a = pa, *const *b = pb;
	return dns_name_cmp((*a)->origin, (*b)->origin);
}

int auth_zoneset_builder_finish(struct auth_zoneset_builder *b, struct auth_zoneset **out)
{
	struct auth_zoneset *s = mm_calloc(b->mm, 1, sizeof(*s));
	*out = NULL;
	if (!s) {
		auth_zoneset_builder_free(b);
		return -ENOMEM;
	}
	atomic_init(&s->refs, 1);
	s->mm = b->mm;
	s->n = b->n;
	s->zones = b->zones; /* the references move to the set */
	if (s->n)
		qsort(s->zones, s->n, sizeof(*s->zones), zoneptr_cmp);
	mm_free(b->mm, b);
	*out = s;
	return 0;
}

struct auth_zoneset *auth_zoneset_ref(struct auth_zoneset *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void auth_zoneset_unref(struct auth_zoneset *s)
{
	if (!s)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < s->n; i++)
		auth_zone_unref(s->zones[i]);
	mm_free(s->mm, s->zones);
	mm_free(s->mm, s);
}

static struct auth_zone *set_exact(const struct auth_zoneset *s, const uint8_t *lname)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = dns_name_cmp(s->zones[mid]->origin, lname);
		if (c == 0)
			return s->zones[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct auth_zone *auth_zoneset_find(const struct auth_zoneset *s, const uint8_t *name)
{
	if (!s || !s->n)
		return NULL;
	if (s->n == 1)
		return dns_name_is_sub(name, s->zones[0]->origin) ? s->zones[0] : NULL;
	unsigned labels = dns_name_labels(name);
	for (unsigned i = 0; i <= labels; i++) {
		struct auth_zone *z = set_exact(s, dns_name_strip(name, i));
		if (z)
			return z;
	}
	return NULL;
}

struct auth_zone *auth_zoneset_get(const struct auth_zoneset *s, const uint8_t *origin)
{
	return set_exact(s, origin);
}

size_t auth_zoneset_count(const struct auth_zoneset *s)
{
	return s->n;
}

struct auth_zone *auth_zoneset_at(const struct auth_zoneset *s, size_t i)
{
	return i < s->n ? s->zones[i] : NULL;
}

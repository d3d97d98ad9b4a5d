/*
 * auth_zone_finish.c -- auth_zone_builder_finish(): the checks of a zone as a
 * whole (RFC 1034 3.6.2, RFC 6672 2.3, SOA and NS at the apex, glue) and the
 * layout of its snapshot (auth_zone_impl.h), in phases: sort and dedupe,
 * names and empty non-terminals, allocation, fill, per-node checks,
 * wildcards, additional-section targets and glue, SOA fields.
 */
#include "auth_zone.h"
#include "auth_zone_build_impl.h"
#include "auth_zone_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_log.h"
#include "dns_name.h"
#include "dns_pkt.h"

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
	auth_zone_err_vadd(fc->err, fc->errlen, &fc->errpos, &fc->nerrs, file, line, fmt, ap);
	va_end(ap);
}

/*
 * Must the name server t of the NS RRset at nd have an address in this zone?
 * Yes when t lies at or below the cut nd itself (without glue the delegation
 * cannot be followed), and for the apex NS when t is authoritative data here.
 * No when t lies below another cut of the zone: that is sibling glue, which
 * RFC 9471 leaves optional (the resolver finds the address through the
 * sibling's own delegation).
 */
static bool glue_required(const struct auth_zone *z, const struct auth_node *nd,
	const uint8_t *t, size_t tl)
{
	if (nd->namelen != dns_name_len(z->origin) || !dns_name_eq(nd->name, z->origin))
		if (dns_name_is_sub(t, nd->name))
			return true;
	/* The closest existing encloser of t tells whether t is below a cut. */
	unsigned extra = dns_name_labels(t) - z->origin_labels;
	for (unsigned s = 0; s <= extra; s++) {
		const uint8_t *suf = dns_name_strip(t, s);
		const struct auth_node *ce = auth_zone_lookup(z, suf, tl - (size_t)(suf - t));
		if (ce)
			return ce->cut == NULL && !(ce->flags & AUTH_NODE_NONAUTH);
	}
	return true;
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
			auth_name_text(recs[i].owner, nbuf, sizeof(nbuf));
			auth_name_text(b->origin, nbuf2, sizeof(nbuf2));
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
	dns_arena_init(&z->arena, fc->b->mm, AUTH_ZONE_ARENA_BLOCK);
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
			auth_name_text(nd->name, nbuf, sizeof(nbuf));
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
		auth_name_text(nd->name, nbuf, sizeof(nbuf));
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
	auth_name_text(nd->name, nbuf, sizeof(nbuf));
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
			auth_name_text(nd->name, nbuf, sizeof(nbuf));
			auth_name_text(dname->name, nbuf2, sizeof(nbuf2));
			fin_err(fc, nrec->file, nrec->line,
				"%s is below the DNAME at %s (RFC 6672 2.3)", nbuf, nbuf2);
		}
		if (!dname && (nd->flags & AUTH_NODE_DNAME))
			dname = nd;
		check_soa_cname(fc, nd, i == 0);
	}

	auth_name_text(z->origin, nbuf2, sizeof(nbuf2));
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
			const struct auth_node *p = auth_zone_lookup(fc->z, parent,
				dns_name_len(parent));
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
		tn = auth_zone_lookup(z, t, tl);
	if (tn && (tn->flags & AUTH_NODE_ADDR))
		rd->target = tn;
	if (inzone && !tn) {
		/* Covered by a wildcard? Its addresses stand in for
		 * the name (as NSD's additional processing does). */
		unsigned extra = dns_name_labels(t) - z->origin_labels;
		for (unsigned s = 1; s <= extra; s++) {
			const uint8_t *suf = dns_name_strip(t, s);
			const struct auth_node *ce = auth_zone_lookup(z, suf,
				tl - (size_t)(suf - t));
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
	    glue_required(z, nd, t, tl)) {
		const struct brec *r = &fc->recs[rd - fc->rds];
		auth_name_text(t, nbuf, sizeof(nbuf));
		auth_name_text(nd->name, nbuf2, sizeof(nbuf2));
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
	int n1 = auth_wire_name_len(rd->data, rd->len);
	int n2 = auth_wire_name_len(rd->data + n1, rd->len - (size_t)n1);
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
	auth_zone_unref(fc.z); /* refs 1 from allocation on: this frees it */
	if (fc.names)
		mm_free(b->mm, fc.names);
	auth_zone_builder_free(b);
	return rc;
}

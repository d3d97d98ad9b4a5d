/*
 * auth_answer.c -- the answer state machine (see auth_answer.h).
 *
 * Everything lives in one struct on the caller's stack; the zone snapshot
 * already holds what a lookup needs (hash of names, per-node flags, closest
 * cut, wildcard child, additional-section targets), so answering is a few
 * hash probes and memcpy's into the writer.
 */
#include "auth_answer.h"
#include "auth_zone_impl.h"

#include <errno.h>
#include <string.h>

#include "dns_err.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"

#define ADDL_MAX 32       /* nodes whose addresses may go in additional */
#define ANSWERED_MAX (AUTH_CHAIN_MAX + 4)
#define OPT_LEN 11        /* an OPT RR without options */
#define RCODE_YXDOMAIN 6  /* RFC 2136; RFC 6672 2.2: DNAME result too long */
#define ECS_BODY_MAX 20   /* family, source, scope, 16 address bytes */
#define CHAOS_TEXT_MAX 4096

/* The whole state of one answer. */
struct actx {
	const struct auth_zoneset *set;
	const struct dns_query *q;
	const struct auth_client *client;
	const struct auth_hooks *hooks;
	struct dns_writer w;
	struct dns_writer_mark after_q;   /* right after the question */
	const struct auth_zone *z;        /* zone of the current name */
	const uint8_t *name;              /* current name, case as it will be written */
	uint8_t lname[DNS_NAME_MAX];      /* current name, lower case */
	size_t llen;                      /* its length */
	uint8_t synth[2][DNS_NAME_MAX];   /* DNAME-synthesised names (ping-pong) */
	unsigned nsynth;
	const struct auth_node *ce;       /* closest encloser of the current name */
	const struct auth_node *node;     /* node answering (exact or wildcard) */
	const struct auth_node *cut;      /* DELEG: the zone cut */
	const struct auth_rrset *rrset;   /* HIT: the RRset; FOLLOW: the CNAME/DNAME */
	bool exact;                       /* the current name exists */
	bool full;                        /* optional data stopped fitting */
	unsigned hops;                    /* CNAME/DNAME followed */
	uint16_t aa;                      /* DNS_FLAG_AA or 0 */
	uint16_t rcode;                   /* RCODE (extended) */
	bool tc;                          /* TC */
	enum auth_state last;             /* last state before DONE */
	bool steered;                     /* the current name is a steered one */
	bool steered_any;                 /* some address in the answer was steered */
	uint8_t ecs_scope;                /* widest scope any steered answer needs */
	struct auth_steer_result steer;   /* STEER: what the hook chose */
	const struct auth_rrset *answered[ANSWERED_MAX]; /* RRsets in the answer */
	unsigned nanswered;
	struct {
		const struct auth_node *node; /* node holding the addresses */
		const uint8_t *owner;         /* name to write them under */
	} addl[ADDL_MAX];                     /* additional-section candidates */
	unsigned naddl;
};

const char *auth_state_name(enum auth_state s)
{
	switch (s) {
	case AUTH_STATE_LOOKUP: return "LOOKUP";
	case AUTH_STATE_HIT: return "HIT";
	case AUTH_STATE_FOLLOW: return "FOLLOW";
	case AUTH_STATE_DELEG: return "DELEG";
	case AUTH_STATE_NODATA: return "NODATA";
	case AUTH_STATE_NXDOMAIN: return "NXDOMAIN";
	case AUTH_STATE_STEER: return "STEER";
	case AUTH_STATE_TRUNC: return "TRUNC";
	case AUTH_STATE_DONE: return "DONE";
	}
	return "?";
}

bool auth_is_notify(const uint8_t *pkt, size_t len)
{
	if (len < DNS_HEADER_LEN)
		return false;
	uint16_t flags = (uint16_t)(pkt[2] << 8 | pkt[3]);
	return !(flags & DNS_FLAG_QR) && DNS_OPCODE(flags) == DNS_OP_NOTIFY;
}

/* ---- helpers ------------------------------------------------------------------ */

static void set_name(struct actx *a, const uint8_t *name)
{
	a->name = name;
	a->llen = dns_name_lower(a->lname, name);
}

static bool was_answered(const struct actx *a, const struct auth_rrset *rs)
{
	for (unsigned i = 0; i < a->nanswered; i++)
		if (a->answered[i] == rs)
			return true;
	return false;
}

static void note_answered(struct actx *a, const struct auth_rrset *rs)
{
	if (a->nanswered < ANSWERED_MAX)
		a->answered[a->nanswered++] = rs;
}

/*
 * Remember the targets of an NS/MX/SRV RRset for the additional section
 * (RFC 1035 3.3.9, 3.3.11, RFC 2782). Glue (data below a cut) only for NS,
 * as NSD does: an MX or SRV must not point into a delegated zone.
 */
static void queue_targets(struct actx *a, const struct auth_rrset *rs)
{
	bool glue_ok = rs->type == DNS_T_NS;
	if (rs->type != DNS_T_NS && rs->type != DNS_T_MX && rs->type != DNS_T_SRV)
		return;
	for (uint16_t i = 0; i < rs->count; i++) {
		const struct auth_rdata *rd = &rs->rr[i];
		const struct auth_node *t = rd->target;
		if (!t || (!glue_ok && (t->flags & AUTH_NODE_NONAUTH)))
			continue;
		/* a wildcard's addresses go under the name asked for (RFC 4592) */
		const uint8_t *owner = rd->target_wild ? rd->data + rd->target_off : t->name;
		unsigned j;
		for (j = 0; j < a->naddl; j++)
			if (a->addl[j].node == t && (a->addl[j].owner == owner ||
				    dns_name_eq(a->addl[j].owner, owner)))
				break;
		if (j == a->naddl && a->naddl < ADDL_MAX) {
			a->addl[a->naddl].node = t;
			a->addl[a->naddl].owner = owner;
			a->naddl++;
		}
	}
}

/* Write a whole RRset (all or nothing). DNS_E_SPACE when it does not fit. */
static int put_rrset(struct actx *a, const uint8_t *owner, const struct auth_rrset *rs)
{
	struct dns_writer_mark m;
	dns_writer_mark(&a->w, &m);
	for (uint16_t i = 0; i < rs->count; i++) {
		const struct auth_rdata *rd = &rs->rr[i];
		int r = dns_writer_rr(&a->w, owner, rs->type, DNS_CLASS_IN, rd->ttl,
			rd->data, rd->len);
		if (r < 0) {
			dns_writer_rollback(&a->w, &m);
			return r;
		}
	}
	return 0;
}

/*
 * ANY (RFC 8482 4.2): answer one RRset. Which one is ours to choose; this
 * order reproduces what NSD 4.6.1 picks (observed: SOA at the apex, then A,
 * MX, AAAA, PTR, SRV, TXT, CAA), then the lowest type left.
 */
static const struct auth_rrset *any_pick(const struct auth_node *n)
{
	static const uint16_t pref[] = { DNS_T_SOA, DNS_T_A, DNS_T_MX, DNS_T_AAAA,
		DNS_T_PTR, DNS_T_SRV, DNS_T_TXT, DNS_T_CAA };
	for (size_t i = 0; i < sizeof(pref) / sizeof(pref[0]); i++) {
		const struct auth_rrset *rs = auth_node_rrset(n, pref[i]);
		if (rs)
			return rs;
	}
	return n->nrrsets ? &n->rrsets[0] : NULL;
}

/*
 * Ask the steering hook about the current name. True when the hook chose the
 * addresses (an A or AAAA query of a steered name): go to STEER. Sets
 * a->steered when the name is steered at all.
 */
static bool ask_steer(struct actx *a)
{
	uint16_t qtype = a->q->qtype;
	struct auth_steer_query sq = {
		.zone = a->z, .owner = a->lname, .owner_len = a->llen, .qtype = qtype,
		.client = a->client,
		.ecs = a->q->has_opt && a->q->edns.has_ecs ? &a->q->edns.ecs : NULL,
	};
	a->steer.n = 0;
	a->steer.ecs_scope = 0;
	if (a->hooks->steer(a->hooks->ctx, &sq, &a->steer) <= 0)
		return false;
	a->steered = true;
	return qtype == DNS_T_A || qtype == DNS_T_AAAA;
}

/* ---- states ----------------------------------------------------------------- */

/*
 * RFC 1034 4.3.2 step 3: find the closest encloser walking the name's
 * suffixes through the hash, then decide between a cut, a DNAME, an exact
 * match, a wildcard and a name error.
 */
static enum auth_state st_lookup(struct actx *a)
{
	const struct auth_zone *z = a->z;
	unsigned extra = dns_name_labels(a->lname) - z->origin_labels;
	const struct auth_node *n = NULL;
	unsigned s;
	uint16_t qtype = a->q->qtype;

	for (s = 0; s <= extra; s++) {
		const uint8_t *suf = dns_name_strip(a->lname, s);
		n = auth_zone_lookup(z, suf, a->llen - (size_t)(suf - a->lname));
		if (n)
			break;
	}
	require(n); /* the apex always exists */
	a->ce = n;
	a->exact = s == 0;

	/* A DS query at a cut is answered by the parent side (RFC 4035 3.1.4.1). */
	if (n->cut && !(a->exact && n->cut == n && qtype == DNS_T_DS)) {
		a->cut = n->cut;
		return AUTH_STATE_DELEG;
	}
	a->steered = false;
	if (a->hooks && a->hooks->steer && ask_steer(a))
		return AUTH_STATE_STEER;
	if (!a->exact) {
		if (n->flags & AUTH_NODE_DNAME) {
			a->rrset = auth_node_rrset(n, DNS_T_DNAME);
			return AUTH_STATE_FOLLOW;
		}
		/* RFC 4592 3.3.1: the source of synthesis is "*" below the closest
		 * encloser; the name itself does not exist (else exact). */
		if (!n->wildcard)
			return a->steered ? AUTH_STATE_NODATA : AUTH_STATE_NXDOMAIN;
		a->node = n->wildcard;
		if (a->node->cut) {
			a->cut = a->node->cut;
			return AUTH_STATE_DELEG;
		}
	} else {
		a->node = n;
	}

	const struct auth_node *node = a->node;
	if (qtype == DNS_T_ANY) {
		a->rrset = any_pick(node);
		return a->rrset ? AUTH_STATE_HIT : AUTH_STATE_NODATA;
	}
	a->rrset = auth_node_rrset(node, qtype);
	if (a->rrset)
		return AUTH_STATE_HIT;
	if (node->flags & AUTH_NODE_CNAME) {
		a->rrset = auth_node_rrset(node, DNS_T_CNAME);
		return AUTH_STATE_FOLLOW;
	}
	return AUTH_STATE_NODATA;
}

static enum auth_state st_hit(struct actx *a)
{
	const struct auth_rrset *rs = a->rrset;
	uint16_t qtype = a->q->qtype;

	if (put_rrset(a, a->name, rs) < 0)
		return AUTH_STATE_TRUNC;
	note_answered(a, rs);
	queue_targets(a, rs);

	/* NSD adds the zone's NS RRset to positive answers, except for ANY and
	 * for the large DS/DNSKEY answers; it is optional data: if it does not
	 * fit it is left out without TC (RFC 2181 9). */
	if (qtype != DNS_T_ANY && qtype != DNS_T_DS && qtype != DNS_T_DNSKEY &&
	    a->z->ns && !was_answered(a, a->z->ns)) {
		dns_writer_section(&a->w, DNS_SEC_AUTHORITY);
		if (put_rrset(a, a->z->origin, a->z->ns) < 0)
			a->full = true;
		else
			queue_targets(a, a->z->ns);
	}
	return AUTH_STATE_DONE;
}

/*
 * A steered name: the hook's addresses, no authority data (the answer is
 * specific to where the client is; keep it small). None of that family:
 * NODATA. The ECS scope of the reply is the widest any steered part needs.
 */
static enum auth_state st_steer(struct actx *a)
{
	const struct auth_steer_result *r = &a->steer;
	uint16_t type = r->rdlen == 16 ? DNS_T_AAAA : DNS_T_A;
	struct dns_writer_mark m;

	if (r->ecs_scope > a->ecs_scope)
		a->ecs_scope = r->ecs_scope;
	a->steered_any = true;
	if (r->n == 0 || type != a->q->qtype)
		return AUTH_STATE_NODATA;
	dns_writer_mark(&a->w, &m);
	for (unsigned i = 0; i < r->n && i < AUTH_STEER_MAX; i++) {
		if (dns_writer_rr(&a->w, a->name, type, DNS_CLASS_IN, r->ttl,
			    r->addr[i], r->rdlen) < 0) {
			dns_writer_rollback(&a->w, &m);
			return AUTH_STATE_TRUNC;
		}
	}
	return AUTH_STATE_DONE;
}

/* Start again at a new name after a CNAME or DNAME (RFC 1034 4.3.2 3.a). */
static enum auth_state restart(struct actx *a)
{
	const struct auth_zone *z = auth_zoneset_find(a->set, a->lname);
	if (!z)
		return AUTH_STATE_DONE; /* the target is not ours: the client goes on */
	a->z = z;
	return AUTH_STATE_LOOKUP;
}

static enum auth_state st_follow(struct actx *a)
{
	const struct auth_rrset *rs = a->rrset;

	/* A loop: NSD stops at the first RRset already present and adds no
	 * authority data. */
	if (was_answered(a, rs) || a->hops >= AUTH_CHAIN_MAX)
		return AUTH_STATE_DONE;
	a->hops++;

	if (rs->type == DNS_T_CNAME) {
		if (put_rrset(a, a->name, rs) < 0)
			return AUTH_STATE_TRUNC;
		note_answered(a, rs);
		set_name(a, rs->rr[0].data);
		return restart(a);
	}

	/* DNAME (RFC 6672 2.2 and 3.1): the DNAME, then a CNAME from the query
	 * name to the name with the DNAME owner's suffix replaced by the target. */
	const struct auth_node *d = a->ce;
	const struct auth_rdata *rd = &rs->rr[0];
	size_t prefix = a->llen - d->namelen;
	if (prefix + rd->len > DNS_NAME_MAX) {
		if (put_rrset(a, d->name, rs) < 0)
			return AUTH_STATE_TRUNC;
		a->rcode = RCODE_YXDOMAIN;
		return AUTH_STATE_DONE;
	}
	uint8_t *nn = a->synth[a->nsynth++ & 1];
	/* the prefix in lower case, as NSD writes it */
	memcpy(nn, a->lname, prefix);
	memcpy(nn + prefix, rd->data, rd->len);
	if (put_rrset(a, d->name, rs) < 0 ||
	    dns_writer_rr(&a->w, a->name, DNS_T_CNAME, DNS_CLASS_IN, rd->ttl, nn,
		    (uint16_t)(prefix + rd->len)) < 0)
		return AUTH_STATE_TRUNC;
	note_answered(a, rs);
	/* A CNAME query is answered by the synthesised CNAME itself (as NSD). */
	if (a->q->qtype == DNS_T_CNAME)
		return AUTH_STATE_DONE;
	set_name(a, nn);
	return restart(a);
}

static enum auth_state st_deleg(struct actx *a)
{
	const struct auth_rrset *ns = auth_node_rrset(a->cut, DNS_T_NS);
	/* RFC 1034 4.3.2 3.b: a referral is not authoritative, unless we got
	 * here through our own CNAME (NSD keeps AA then). */
	if (a->hops == 0)
		a->aa = 0;
	dns_writer_section(&a->w, DNS_SEC_AUTHORITY);
	if (put_rrset(a, a->cut->name, ns) < 0)
		return AUTH_STATE_TRUNC;
	queue_targets(a, ns);
	return AUTH_STATE_DONE;
}

/* RFC 2308 3: the SOA in authority, TTL = min(SOA TTL, MINIMUM). */
static enum auth_state put_soa(struct actx *a)
{
	const struct auth_rdata *rd = &a->z->soa->rr[0];
	dns_writer_section(&a->w, DNS_SEC_AUTHORITY);
	if (dns_writer_rr(&a->w, a->z->origin, DNS_T_SOA, DNS_CLASS_IN, a->z->neg_ttl,
		    rd->data, rd->len) < 0)
		return AUTH_STATE_TRUNC;
	return AUTH_STATE_DONE;
}

static enum auth_state st_nodata(struct actx *a)
{
	return put_soa(a);
}

static enum auth_state st_nxdomain(struct actx *a)
{
	/* Also after a CNAME chain (RFC 6604 2.1: the RCODE is about the last name). */
	a->rcode = DNS_RC_NXDOMAIN;
	return put_soa(a);
}

/* Required data did not fit: send the question alone with TC (RFC 2181 9),
 * as NSD does. */
static enum auth_state st_trunc(struct actx *a)
{
	dns_writer_rollback(&a->w, &a->after_q);
	a->tc = true;
	a->naddl = 0;
	return AUTH_STATE_DONE;
}

/* Addresses of the queued targets: all A RRsets, then all AAAA RRsets
 * (NSD's order); RRsets already in the answer are not repeated. What does
 * not fit is left out without TC. */
static void put_additional(struct actx *a)
{
	static const uint16_t types[2] = { DNS_T_A, DNS_T_AAAA };
	if (a->full || !a->naddl)
		return;
	dns_writer_section(&a->w, DNS_SEC_ADDITIONAL);
	for (int t = 0; t < 2; t++) {
		for (unsigned i = 0; i < a->naddl; i++) {
			const struct auth_rrset *rs = auth_node_rrset(a->addl[i].node, types[t]);
			if (!rs || was_answered(a, rs))
				continue;
			if (put_rrset(a, a->addl[i].owner, rs) < 0)
				return;
		}
	}
}

static void run(struct actx *a)
{
	enum auth_state s = AUTH_STATE_LOOKUP;
	dns_writer_section(&a->w, DNS_SEC_ANSWER);
	while (s != AUTH_STATE_DONE) {
		a->last = s;
		switch (s) {
		case AUTH_STATE_LOOKUP: s = st_lookup(a); break;
		case AUTH_STATE_HIT: s = st_hit(a); break;
		case AUTH_STATE_FOLLOW: s = st_follow(a); break;
		case AUTH_STATE_DELEG: s = st_deleg(a); break;
		case AUTH_STATE_NODATA: s = st_nodata(a); break;
		case AUTH_STATE_NXDOMAIN: s = st_nxdomain(a); break;
		case AUTH_STATE_STEER: s = st_steer(a); break;
		case AUTH_STATE_TRUNC: s = st_trunc(a); break;
		case AUTH_STATE_DONE: break;
		}
	}
	if (!a->tc)
		put_additional(a);
}

/*
 * A CH TXT query (an operator asking the running server, e.g. why a client
 * gets a replica): the hook's text, one TXT record per line, split into
 * 255-octet strings. TC when it does not fit (dig retries over TCP).
 */
static void chaos_txt(struct actx *a)
{
	char text[CHAOS_TEXT_MAX];
	uint8_t rdata[CHAOS_TEXT_MAX + CHAOS_TEXT_MAX / 255 + 2];
	const struct dns_query *q = a->q;
	int len = a->hooks->chaos_txt(a->hooks->ctx, a->lname, a->llen, a->client,
		q->has_opt && q->edns.has_ecs ? &q->edns.ecs : NULL, text,
		sizeof(text));

	if (dns_writer_question(&a->w, q->qname, q->qtype, q->qclass) < 0)
		return;
	dns_writer_mark(&a->w, &a->after_q);
	if (len < 0) {
		a->rcode = DNS_RC_REFUSED;
		return;
	}
	a->aa = DNS_FLAG_AA;
	dns_writer_section(&a->w, DNS_SEC_ANSWER);
	size_t i = 0;
	while (i < (size_t)len) {
		size_t end = i;
		while (end < (size_t)len && text[end] != '\n')
			end++;
		size_t rl = 0;
		for (size_t p = i; p < end || p == i; p += 255) {
			size_t chunk = end - p < 255 ? end - p : 255;
			rdata[rl++] = (uint8_t)chunk;
			memcpy(rdata + rl, text + p, chunk);
			rl += chunk;
			if (p + 255 >= end)
				break;
		}
		if (dns_writer_rr(&a->w, q->qname, DNS_T_TXT, DNS_CLASS_CH, 0, rdata,
			    (uint16_t)rl) < 0) {
			dns_writer_rollback(&a->w, &a->after_q);
			a->tc = true;
			return;
		}
		i = end + 1;
	}
}

/* ---- entry point ------------------------------------------------------------ */

/* The fields of a used beyond the question; the writer is set up by the caller. */
static void actx_init(struct actx *a, const struct auth_zoneset *set,
	const struct dns_query *q, const struct auth_client *client,
	const struct auth_hooks *hooks)
{
	a->set = set;
	a->q = q;
	a->client = client;
	a->hooks = hooks;
	a->z = NULL;
	a->nsynth = 0;
	a->ce = a->node = a->cut = NULL;
	a->rrset = NULL;
	a->exact = a->full = a->tc = false;
	a->hops = 0;
	a->aa = 0;
	a->rcode = DNS_RC_NOERROR;
	a->last = AUTH_STATE_DONE;
	a->nanswered = a->naddl = 0;
	a->steered = a->steered_any = false;
	a->ecs_scope = 0;
}

/* Size limit: RFC 1035 4.2.1 without EDNS, RFC 6891 6.2.5 with it. */
static size_t reply_limit(const struct dns_query *q, bool with_opt, bool tcp, size_t outcap)
{
	size_t limit = DNS_UDP_MIN;
	if (tcp) {
		limit = DNS_MSG_MAX;
	} else if (with_opt) {
		limit = q->edns.udp_size;
		if (limit < DNS_UDP_MIN)
			limit = DNS_UDP_MIN;
		if (limit > AUTH_EDNS_SIZE)
			limit = AUTH_EDNS_SIZE;
	}
	return limit > outcap ? outcap : limit;
}

/*
 * Decide what the query gets and write it, up to the additional section:
 * an error RCODE, a CH TXT explanation, or the answer of the state machine.
 * Returns true when the question is still to be written (error answers),
 * false when it is written already or must not be.
 */
static bool answer_body(struct actx *a, enum dns_query_verdict v, bool tcp, bool with_opt,
	struct auth_answer_info *info)
{
	const struct dns_query *q = a->q;

	if (v != DNS_QUERY_OK) {
		/* FORMERR, with the question when it parsed. */
		a->rcode = DNS_RC_FORMERR;
		info->qtype = q->qname_len > 0 ? q->qtype : 0;
		return q->qname_len > 0;
	}
	info->qtype = q->qtype;
	if (DNS_OPCODE(q->hdr.flags) != DNS_OP_QUERY) {
		/* NOTIFY included: the io layer takes it before us. */
		a->rcode = DNS_RC_NOTIMP;
		return true;
	}
	if (with_opt && q->edns.version > 0) {
		/* RFC 6891 6.1.3: BADVERS, answered with an OPT of version 0. */
		a->rcode = DNS_RC_BADVERS;
		return true;
	}
	if (q->qclass == DNS_CLASS_CH && q->qtype == DNS_T_TXT && a->hooks &&
	    a->hooks->chaos_txt) {
		set_name(a, q->qname);
		chaos_txt(a);
		return false;
	}
	if (q->qclass != DNS_CLASS_IN) {
		a->rcode = DNS_RC_REFUSED;
		return true;
	}
	if (q->qtype == DNS_T_AXFR || q->qtype == DNS_T_IXFR) {
		/* Transfers are the io layer's (TCP, with an ACL). What reaches us is
		 * refused; AXFR over UDP is NOTIMP as in NSD (RFC 5936 4.2). */
		a->rcode = q->qtype == DNS_T_AXFR && !tcp ? DNS_RC_NOTIMP : DNS_RC_REFUSED;
		return true;
	}

	set_name(a, q->qname);
	a->z = auth_zoneset_find(a->set, a->lname);
	if (a->z && q->qtype == DNS_T_DS && a->llen == a->z->origin_len &&
	    a->z->origin_labels > 0) {
		/* DS at a child apex we also serve: the parent answers (RFC 4035
		 * 3.1.4.1), when we serve the parent. */
		const struct auth_zone *p = auth_zoneset_find(a->set,
			dns_name_strip(a->lname, 1));
		if (p)
			a->z = p;
	}
	info->zone = a->z;
	if (!a->z) {
		a->rcode = DNS_RC_REFUSED;
		return true;
	}
	if (dns_writer_question(&a->w, q->qname, q->qtype, q->qclass) < 0) {
		/* cannot happen: a question always fits in 512 */
		a->rcode = DNS_RC_SERVFAIL;
		return false;
	}
	dns_writer_mark(&a->w, &a->after_q);
	a->aa = DNS_FLAG_AA;
	run(a);
	return false;
}

/* The OPT (with the ECS echo), the header; what the caller learns. Returns the
 * length of the message. */
static size_t finish_reply(struct actx *a, bool with_opt, size_t limit,
	struct auth_answer_info *info)
{
	const struct dns_query *q = a->q;

	if (with_opt) {
		/* RFC 7871 7.2.1: echo family, source and address with our scope
		 * (0 unless a steered answer depends on where the client is). The
		 * room was kept: the writer's limit left ECS_ROOM for it. */
		uint8_t opts[4 + ECS_BODY_MAX];
		int optlen = 0;
		if (q->edns.has_ecs) {
			struct dns_ecs e = q->edns.ecs;
			e.scope = a->ecs_scope;
			int r = dns_ecs_write(&e, opts + 4, sizeof(opts) - 4);
			if (r > 0) {
				opts[0] = 0;
				opts[1] = DNS_OPT_ECS;
				opts[2] = (uint8_t)(r >> 8);
				opts[3] = (uint8_t)r;
				optlen = 4 + r;
			}
		}
		dns_writer_limit(&a->w, limit);
		dns_writer_section(&a->w, DNS_SEC_ADDITIONAL);
		(void)dns_writer_opt(&a->w, AUTH_EDNS_SIZE, (uint8_t)(a->rcode >> 4),
			q->edns.flags & DNS_EDNS_DO, opts, (uint16_t)optlen);
	}
	/* RFC 1035 4.1.1: copy the id, opcode and RD; CD and AD are not echoed
	 * (as NSD). */
	uint16_t flags = DNS_FLAG_QR | (uint16_t)(q->hdr.flags & 0x7800) |
		(q->hdr.flags & DNS_FLAG_RD) | a->aa | (a->tc ? DNS_FLAG_TC : 0) |
		(a->rcode & 0xf);
	size_t outlen = dns_writer_finish(&a->w, q->hdr.id, flags);
	info->rcode = a->rcode;
	info->aa = a->aa != 0;
	info->tc = a->tc;
	info->edns = with_opt;
	info->last = a->last;
	info->steered = a->steered_any;
	info->ecs_scope = a->ecs_scope;
	return outlen;
}

int auth_answer(const struct auth_zoneset *set, const uint8_t *pkt, size_t len,
	const struct auth_client *client, const struct auth_hooks *hooks,
	uint8_t *out, size_t outcap, size_t *outlen, struct auth_answer_info *info)
{
	struct dns_query q;
	struct actx a;
	struct auth_answer_info dummy;
	enum dns_query_verdict v;
	bool tcp = client && client->tcp;
	bool with_opt;

	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	*outlen = 0;
	if (outcap < DNS_UDP_MIN)
		return -EINVAL;

	memset(&q.hdr, 0, sizeof(q.hdr));
	v = dns_query_parse(pkt, len, &q, NULL);
	info->opcode = DNS_OPCODE(q.hdr.flags);
	if (v == DNS_QUERY_DROP) {
		info->dropped = true;
		return 0;
	}

	actx_init(&a, set, &q, client, hooks);
	with_opt = v == DNS_QUERY_OK && q.has_opt;
	size_t limit = reply_limit(&q, with_opt, tcp, outcap);
	dns_writer_init(&a.w, out, limit - (with_opt ? OPT_LEN : 0) -
		(with_opt && q.edns.has_ecs ? 4 + ECS_BODY_MAX : 0));
	if (answer_body(&a, v, tcp, with_opt, info))
		(void)dns_writer_question(&a.w, q.qname, q.qtype, q.qclass);
	*outlen = finish_reply(&a, with_opt, limit, info);
	return 0;
}

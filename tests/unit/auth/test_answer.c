/*
 * test_answer.c -- the answer engine, packets in and packets out, no sockets.
 *
 * Zones: tests/fixtures/unit-auth/example.zone and other.zone (the same files
 * the behaviour was checked against with NSD 4.6.1). Queries are built with
 * dns_writer, answers parsed with ldns_wire2pkt and compared section by
 * section as presentation text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ctype.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "auth_answer.h"
#include "auth_zone.h"
#include "dns_err.h"
#include "dns_log.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"

#include "test_mm.h"
#include "test_reader.h"

static struct auth_zoneset *both;   /* example. + other.test. */
static struct auth_zoneset *alone;  /* example. only */
static struct auth_zoneset *family; /* example. + its child sub.example. */
static struct auth_zoneset *edgeset; /* edge.test.: size and length limits */

static const uint8_t *wname(const char *s)
{
	static uint8_t buf[4][DNS_NAME_MAX];
	static int i;
	size_t len;
	uint8_t *b = buf[i++ & 3];
	assert_int_equal(dns_name_from_str(s, NULL, b, &len), 0);
	return b;
}

static struct auth_zone *load(const char *origin, const char *file)
{
	struct auth_zone *z = NULL;
	char err[1024], path[512];
	snprintf(path, sizeof(path), "%s/%s", CAIRN_FIXTURES, file);
	if (auth_zone_load(&tmm, wname(origin), path, &test_reader, &z, err, sizeof(err)))
		fail_msg("%s", err);
	return z;
}

static struct auth_zoneset *mkset(struct auth_zone **zones, int n)
{
	struct auth_zoneset_builder *b;
	struct auth_zoneset *s;
	assert_int_equal(auth_zoneset_builder_new(&tmm, &b), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(auth_zoneset_builder_add(b, zones[i]), 0);
	assert_int_equal(auth_zoneset_builder_finish(b, &s), 0);
	return s;
}

static int setup(void **state)
{
	(void)state;
	struct auth_zone *ex = load("example.", "example.zone");
	struct auth_zone *other = load("other.test.", "other.zone");
	struct auth_zone *sub = NULL;
	char err[512];
	static const char subtext[] =
		"$TTL 60\n@ SOA ns.sub.example. h.sub.example. 5 1 1 1 1\n"
		"@ NS ns.sub.example.\nns A 192.0.2.200\nwww A 192.0.2.201\n";
	if (auth_zone_load_string(&tmm, wname("sub.example."), subtext, "sub", &sub,
		    err, sizeof(err)))
		fail_msg("%s", err);
	/* edge.test.: limits (long DNAME, long CNAME chain, sizes) */
	static char edge[8192];
	size_t n = (size_t)snprintf(edge, sizeof(edge),
		"$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n"
		"long DNAME %s.%s.%s.\n"
		"fit TXT \"%0200d\" \"%0200d\" \"%060d\"\n",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", 0, 0, 0);
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(edge + n, sizeof(edge) - n, "c%d CNAME c%d\n", i, i + 1);
	n += (size_t)snprintf(edge + n, sizeof(edge) - n, "c20 A 192.0.2.20\n"
		"*.aw A 192.0.2.9\nmxw MX 5 Foo.AW\nmxw MX 6 ns\n");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(edge + n, sizeof(edge) - n, "wide NS ns%02d.example.net.\n", i);
	struct auth_zone *ez = NULL;
	if (auth_zone_load_string(&tmm, wname("edge.test."), edge, "edge", &ez, err, sizeof(err)))
		fail_msg("%s", err);
	edgeset = mkset(&ez, 1);
	auth_zone_unref(ez);
	struct auth_zone *z2[2] = { ex, other };
	both = mkset(z2, 2);
	alone = mkset(&ex, 1);
	struct auth_zone *z3[2] = { ex, sub };
	family = mkset(z3, 2);
	auth_zone_unref(ex);
	auth_zone_unref(other);
	auth_zone_unref(sub);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	auth_zoneset_unref(both);
	auth_zoneset_unref(alone);
	auth_zoneset_unref(family);
	auth_zoneset_unref(edgeset);
	return 0;
}

/* ---- building queries ------------------------------------------------------- */

struct qopt {
	int edns;          /* EDNS payload size, 0 = no OPT */
	uint8_t version;   /* EDNS version */
	uint16_t eflags;   /* EDNS flags (DO) */
	uint16_t flags;    /* header flags (RD, CD, opcode...) */
	uint16_t qclass;   /* 0 = IN */
	bool tcp;
};

static size_t mkquery(uint8_t *buf, size_t cap, const char *name, uint16_t type,
	const struct qopt *o)
{
	struct dns_writer w;
	dns_writer_init(&w, buf, cap);
	assert_int_equal(dns_writer_question(&w, wname(name), type,
		o && o->qclass ? o->qclass : DNS_CLASS_IN), 0);
	if (o && o->edns) {
		uint8_t opt[11] = { 0, 0, 41, (uint8_t)(o->edns >> 8), (uint8_t)o->edns,
			0, o->version, (uint8_t)(o->eflags >> 8), (uint8_t)o->eflags, 0, 0 };
		memcpy(buf + w.len, opt, sizeof(opt));
		w.len += sizeof(opt);
		w.count[DNS_SEC_ADDITIONAL] = 1;
	}
	return dns_writer_finish(&w, 0xbeef, o ? o->flags : 0);
}

/* ---- asking ------------------------------------------------------------------ */

struct resp {
	uint8_t buf[65535];
	size_t len;
	struct auth_answer_info info;
	ldns_pkt *p;
};

static struct resp R;

static void ask_raw(const struct auth_zoneset *s, const uint8_t *q, size_t qlen, bool tcp)
{
	struct auth_client c = { .family = 4, .addr = { 127, 0, 0, 1 }, .tcp = tcp };
	if (R.p)
		ldns_pkt_free(R.p);
	R.p = NULL;
	assert_int_equal(auth_answer(s, q, qlen, &c, NULL, R.buf, sizeof(R.buf), &R.len,
		&R.info), 0);
	if (R.len) {
		ldns_status st = ldns_wire2pkt(&R.p, R.buf, R.len);
		if (st != LDNS_STATUS_OK)
			fail_msg("answer does not parse: %s", ldns_get_errorstr_by_id(st));
		assert_int_equal(ldns_pkt_id(R.p), ldns_read_uint16(q));
		assert_true(ldns_pkt_qr(R.p));
	}
}

static void ask_in(const struct auth_zoneset *s, const char *name, uint16_t type,
	const struct qopt *o)
{
	uint8_t q[512];
	size_t qlen = mkquery(q, sizeof(q), name, type, o);
	ask_raw(s, q, qlen, o && o->tcp);
	assert_non_null(R.p);
}

static void ask(const char *name, uint16_t type)
{
	ask_in(both, name, type, NULL);
}

/* A section as text: "owner ttl class type rdata" per record, joined by " | ". */
static const char *sec(ldns_pkt_section which, bool lower)
{
	static char out[8192];
	ldns_rr_list *l;
	switch (which) {
	case LDNS_SECTION_ANSWER: l = ldns_pkt_answer(R.p); break;
	case LDNS_SECTION_AUTHORITY: l = ldns_pkt_authority(R.p); break;
	default: l = ldns_pkt_additional(R.p); break;
	}
	out[0] = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		char *s = ldns_rr2str(ldns_rr_list_rr(l, i));
		size_t n = strlen(out);
		snprintf(out + n, sizeof(out) - n, "%s%s", i ? " | " : "", s);
		free(s);
	}
	for (char *p = out; *p; p++) {
		if (*p == '\t')
			*p = ' ';
		if (*p == '\n') {
			memmove(p, p + 1, strlen(p));
			p--;
			continue;
		}
		if (lower)
			*p = (char)tolower((unsigned char)*p);
	}
	return out;
}

#define ANSWER() sec(LDNS_SECTION_ANSWER, true)
#define AUTHORITY() sec(LDNS_SECTION_AUTHORITY, true)
#define ADDITIONAL() sec(LDNS_SECTION_ADDITIONAL, true)

static const char NS_AUTH[] =
	"example. 3600 in ns ns1.example. | example. 3600 in ns ns2.example.";
static const char NS_ADDL[] =
	"ns1.example. 3600 in a 192.0.2.53 | ns2.example. 3600 in a 192.0.2.54 | "
	"ns2.example. 3600 in aaaa 2001:db8::54";
static const char SOA_NEG[] =
	"example. 300 in soa ns1.example. hostmaster.example. 2026112701 7200 3600 1209600 300";

static void expect(ldns_pkt_rcode rcode, bool aa, bool tc)
{
	assert_int_equal(ldns_pkt_get_rcode(R.p), rcode);
	assert_int_equal(ldns_pkt_aa(R.p), aa);
	assert_int_equal(ldns_pkt_tc(R.p), tc);
	assert_int_equal(R.info.aa, aa);
	assert_int_equal(R.info.tc, tc);
	assert_int_equal(ldns_pkt_qdcount(R.p), 1);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_hit(void **state)
{
	(void)state;
	ask("www.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "www.example. 3600 in a 192.0.2.80");
	assert_string_equal(AUTHORITY(), NS_AUTH);
	assert_string_equal(ADDITIONAL(), NS_ADDL);
	assert_int_equal(R.info.last, AUTH_STATE_HIT);
	assert_int_equal(R.info.qtype, DNS_T_A);
	assert_non_null(R.info.zone);
	assert_false(R.info.edns);
	assert_null(ldns_pkt_edns_data(R.p));
	assert_int_equal(ldns_pkt_edns_udp_size(R.p), 0);

	/* unknown type (RFC 3597), CAA, PTR */
	ask("unk.example.", 65280);
	assert_string_equal(ANSWER(), "unk.example. 3600 in type65280 \\# 4 0a000001");
	ask("caa.example.", DNS_T_CAA);
	assert_string_equal(ANSWER(), "caa.example. 3600 in caa 0 issue \"ca.example.net\"");
	ask("ptr.example.", DNS_T_PTR);
	assert_string_equal(ANSWER(), "ptr.example. 3600 in ptr www.example.");
	/* a query for CNAME at a CNAME is a plain hit */
	ask("alias.example.", DNS_T_CNAME);
	assert_string_equal(ANSWER(), "alias.example. 3600 in cname www.example.");
}

static void test_case_kept(void **state)
{
	(void)state;
	ask("wWw.ExAmple.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	/* owner written as the question's name: case kept (RFC 4343 4) */
	assert_string_equal(sec(LDNS_SECTION_ANSWER, false), "wWw.ExAmple. 3600 IN A 192.0.2.80");
	ask("X.WILD.example.", DNS_T_A);
	assert_string_equal(sec(LDNS_SECTION_ANSWER, false), "X.WILD.example. 3600 IN A 192.0.2.99");
}

static void test_additional_dedup(void **state)
{
	(void)state;
	/* ns1's address is in the answer: not repeated in additional */
	ask("ns1.example.", DNS_T_A);
	assert_string_equal(ANSWER(), "ns1.example. 3600 in a 192.0.2.53");
	assert_string_equal(AUTHORITY(), NS_AUTH);
	assert_string_equal(ADDITIONAL(),
		"ns2.example. 3600 in a 192.0.2.54 | ns2.example. 3600 in aaaa 2001:db8::54");
	/* NS at the apex: answer, no authority copy, addresses once */
	ask("example.", DNS_T_NS);
	assert_string_equal(ANSWER(), NS_AUTH);
	assert_string_equal(AUTHORITY(), "");
	assert_string_equal(ADDITIONAL(), NS_ADDL);
}

static void test_additional_mx_srv(void **state)
{
	(void)state;
	ask("example.", DNS_T_MX);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "example. 3600 in mx 10 mail.example.");
	assert_string_equal(AUTHORITY(), NS_AUTH);
	/* NSD's order: every A first (answer targets, then NS targets), then AAAA */
	assert_string_equal(ADDITIONAL(),
		"mail.example. 3600 in a 192.0.2.25 | ns1.example. 3600 in a 192.0.2.53 | "
		"ns2.example. 3600 in a 192.0.2.54 | mail.example. 3600 in aaaa 2001:db8::25 | "
		"ns2.example. 3600 in aaaa 2001:db8::54");
	ask("_sip._udp.example.", DNS_T_SRV);
	assert_string_equal(ANSWER(), "_sip._udp.example. 3600 in srv 0 5 5060 sip.example.");
	assert_string_equal(ADDITIONAL(),
		"sip.example. 3600 in a 192.0.2.60 | ns1.example. 3600 in a 192.0.2.53 | "
		"ns2.example. 3600 in a 192.0.2.54 | ns2.example. 3600 in aaaa 2001:db8::54");
}

static void test_cname(void **state)
{
	(void)state;
	ask("alias.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"alias.example. 3600 in cname www.example. | www.example. 3600 in a 192.0.2.80");
	assert_string_equal(AUTHORITY(), NS_AUTH);

	ask("chain1.example.", DNS_T_A);
	assert_string_equal(ANSWER(),
		"chain1.example. 3600 in cname chain2.example. | "
		"chain2.example. 3600 in cname alias.example. | "
		"alias.example. 3600 in cname www.example. | www.example. 3600 in a 192.0.2.80");

	/* CNAME then NODATA: SOA in authority (NSD 4.6) */
	ask("alias.example.", DNS_T_MX);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "alias.example. 3600 in cname www.example.");
	assert_string_equal(AUTHORITY(), SOA_NEG);

	/* CNAME to a missing name: NXDOMAIN (RFC 6604), CNAME kept */
	ask("dangling.example.", DNS_T_A);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	assert_string_equal(ANSWER(), "dangling.example. 3600 in cname nothere.example.");
	assert_string_equal(AUTHORITY(), SOA_NEG);
}

static void test_cname_loop(void **state)
{
	(void)state;
	ask("loop1.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"loop1.example. 3600 in cname loop2.example. | loop2.example. 3600 in cname loop1.example.");
	assert_string_equal(AUTHORITY(), "");
	assert_string_equal(ADDITIONAL(), "");
}

static void test_cname_other_zone(void **state)
{
	(void)state;
	/* followed into another zone we serve: its NS in authority */
	ask("ext.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"ext.example. 3600 in cname www.other.test. | www.other.test. 600 in a 198.51.100.80");
	assert_string_equal(AUTHORITY(), "other.test. 600 in ns ns.other.test.");
	assert_string_equal(ADDITIONAL(), "ns.other.test. 600 in a 198.51.100.1");
	/* out of the zones served: the CNAME alone */
	ask_in(alone, "ext.example.", DNS_T_A, NULL);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "ext.example. 3600 in cname www.other.test.");
	assert_string_equal(AUTHORITY(), "");
	/* into a delegation: the referral, AA kept (as NSD) */
	ask("todeleg.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "todeleg.example. 3600 in cname host.sub.example.");
	assert_string_equal(AUTHORITY(),
		"sub.example. 3600 in ns ns.sub.example. | sub.example. 3600 in ns ns.elsewhere.test.");
	assert_string_equal(ADDITIONAL(), "ns.sub.example. 3600 in a 192.0.2.200");
}

static void test_dname(void **state)
{
	(void)state;
	/* RFC 6672: DNAME, synthesised CNAME (DNAME's TTL), then the target */
	ask("x.dn.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"dn.example. 3600 in dname target.example. | "
		"x.dn.example. 3600 in cname x.target.example. | "
		"x.target.example. 3600 in a 192.0.2.112");
	assert_string_equal(AUTHORITY(), NS_AUTH);
	ask("foo.dn.example.", DNS_T_A);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	assert_string_equal(ANSWER(),
		"dn.example. 3600 in dname target.example. | "
		"foo.dn.example. 3600 in cname foo.target.example.");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	/* at the DNAME owner itself: ordinary data */
	ask("dn.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	ask("dn.example.", DNS_T_DNAME);
	assert_string_equal(ANSWER(), "dn.example. 3600 in dname target.example.");
	/* the synthesised CNAME's owner keeps the query's case; its target
	 * prefix is lower-cased, as NSD does */
	ask("X.Dn.example.", DNS_T_A);
	assert_non_null(strstr(sec(LDNS_SECTION_ANSWER, false),
		"X.Dn.example. 3600 IN CNAME x.target.example."));
}

static void test_wildcard(void **state)
{
	(void)state;
	ask("x.wild.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "x.wild.example. 3600 in a 192.0.2.99");
	assert_string_equal(AUTHORITY(), NS_AUTH);
	/* more labels below the closest encloser match too (RFC 4592 2.2.1) */
	ask("a.b.c.wild.example.", DNS_T_TXT);
	assert_string_equal(ANSWER(), "a.b.c.wild.example. 3600 in txt \"wildcard\"");
	/* wildcard NODATA */
	ask("x.wild.example.", DNS_T_MX);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	/* wildcard CNAME, followed */
	ask("y.wcname.example.", DNS_T_A);
	assert_string_equal(ANSWER(),
		"y.wcname.example. 3600 in cname www.example. | www.example. 3600 in a 192.0.2.80");
	/* the wildcard owner itself is an ordinary name */
	ask("*.wild.example.", DNS_T_A);
	assert_string_equal(ANSWER(), "*.wild.example. 3600 in a 192.0.2.99");
	/* an existing name blocks the wildcard: wild.example. is an empty
	 * non-terminal (RFC 4592 2.2.2) */
	ask("wild.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
}

static void test_ent_and_nxdomain(void **state)
{
	(void)state;
	ask("b.ent.example.", DNS_T_A);  /* empty non-terminal: NODATA */
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	assert_int_equal(R.info.last, AUTH_STATE_NODATA);
	ask("ent.example.", DNS_T_A);
	assert_string_equal(AUTHORITY(), SOA_NEG);
	/* NXDOMAIN, SOA TTL = min(SOA TTL 3600, MINIMUM 300) (RFC 2308 3) */
	ask("nx.example.", DNS_T_A);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	assert_string_equal(ADDITIONAL(), "");
	assert_int_equal(R.info.last, AUTH_STATE_NXDOMAIN);
	ask("c.ent.example.", DNS_T_A);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	/* other.test: SOA TTL 600, MINIMUM 60 */
	ask("nx.other.test.", DNS_T_A);
	assert_string_equal(AUTHORITY(),
		"other.test. 60 in soa ns.other.test. admin.other.test. 7 3600 600 86400 60");
}

static void test_referral(void **state)
{
	(void)state;
	static const char SUB_NS[] =
		"sub.example. 3600 in ns ns.sub.example. | sub.example. 3600 in ns ns.elsewhere.test.";
	ask("sub.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SUB_NS);
	assert_string_equal(ADDITIONAL(), "ns.sub.example. 3600 in a 192.0.2.200");
	assert_int_equal(R.info.last, AUTH_STATE_DELEG);
	/* below the cut, glue names included */
	ask("a.b.sub.example.", DNS_T_MX);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_string_equal(AUTHORITY(), SUB_NS);
	ask("ns.sub.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SUB_NS);
	/* NS query at the cut: a referral too */
	ask("sub.example.", DNS_T_NS);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_string_equal(ANSWER(), "");
	/* without glue */
	ask("nog.example.", DNS_T_A);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_string_equal(AUTHORITY(), "nog.example. 3600 in ns ns.elsewhere.test.");
	assert_string_equal(ADDITIONAL(), "");
}

static void test_ds_at_delegation(void **state)
{
	(void)state;
	/* RFC 4035 3.1.4.1: the parent answers DS, authoritatively */
	ask("sub.example.", DNS_T_DS);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"sub.example. 3600 in ds 12345 8 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de5bd1a83e2be5b6e6c4d3da1c");
	assert_string_equal(AUTHORITY(), ""); /* NSD: no NS with DS answers */
	ask("nog.example.", DNS_T_DS);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	/* serving the child too: DS still from the parent, the rest from the child */
	ask_in(family, "sub.example.", DNS_T_DS, NULL);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_non_null(strstr(ANSWER(), "sub.example. 3600 in ds 12345"));
	ask_in(family, "www.sub.example.", DNS_T_A, NULL);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "www.sub.example. 60 in a 192.0.2.201");
	ask_in(family, "sub.example.", DNS_T_SOA, NULL);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_non_null(strstr(ANSWER(), "sub.example. 60 in soa ns.sub.example."));
}

static void test_refused(void **state)
{
	(void)state;
	ask("www.example.net.", DNS_T_A);
	expect(LDNS_RCODE_REFUSED, false, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), "");
	assert_null(R.info.zone);
	/* class other than IN */
	struct qopt o = { .qclass = DNS_CLASS_CH };
	ask_in(both, "www.example.", DNS_T_TXT, &o);
	expect(LDNS_RCODE_REFUSED, false, false);
	/* no zones at all */
	ask_in(NULL, "www.example.", DNS_T_A, NULL);
	expect(LDNS_RCODE_REFUSED, false, false);
}

static void test_transfers_refused(void **state)
{
	(void)state;
	ask("example.", DNS_T_AXFR);
	expect(LDNS_RCODE_NOTIMPL, false, false); /* over UDP, as NSD */
	struct qopt tcp = { .tcp = true };
	ask_in(both, "example.", DNS_T_AXFR, &tcp);
	expect(LDNS_RCODE_REFUSED, false, false);
	ask("example.", DNS_T_IXFR);
	expect(LDNS_RCODE_REFUSED, false, false);
}

static void test_formerr_and_drop(void **state)
{
	(void)state;
	uint8_t q[600];
	size_t n = mkquery(q, sizeof(q), "www.example.", DNS_T_A, NULL);

	/* trailing garbage: FORMERR with the question echoed */
	q[n] = 0xff;
	ask_raw(both, q, n + 1, false);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_qdcount(R.p), 1);
	assert_false(ldns_pkt_aa(R.p));
	assert_int_equal(R.info.rcode, DNS_RC_FORMERR);

	/* QDCOUNT 0: FORMERR, header only */
	uint8_t h[12] = { 0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 };
	ask_raw(both, h, sizeof(h), false);
	assert_int_equal(R.len, 12);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_FORMERR);
	assert_true(ldns_pkt_rd(R.p));
	assert_int_equal(ldns_pkt_qdcount(R.p), 0);

	/* a compression loop in the question */
	static const uint8_t loop[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 0xc0, 12, 0, 1, 0, 1 };
	ask_raw(both, loop, sizeof(loop), false);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_FORMERR);

	/* a malformed OPT: FORMERR without OPT */
	struct qopt o = { .edns = 1232 };
	n = mkquery(q, sizeof(q), "www.example.", DNS_T_A, &o);
	q[n - 2] = 0; q[n - 1] = 4; /* RDLENGTH 4, but no RDATA follows */
	ask_raw(both, q, n, false);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_FORMERR);

	/* dropped: a response, a short packet */
	n = mkquery(q, sizeof(q), "www.example.", DNS_T_A, &(struct qopt){ .flags = DNS_FLAG_QR });
	ask_raw(both, q, n, false);
	assert_int_equal(R.len, 0);
	assert_true(R.info.dropped);
	ask_raw(both, q, 5, false);
	assert_int_equal(R.len, 0);
	assert_true(R.info.dropped);

	/* a buffer below 512 is the caller's bug */
	size_t len;
	uint8_t small[100];
	assert_int_equal(auth_answer(both, q, 5, NULL, NULL, small, sizeof(small), &len, NULL),
		-EINVAL);
}

static void test_notimp(void **state)
{
	(void)state;
	struct qopt o = { .flags = DNS_OP_STATUS << 11 };
	ask_in(both, "www.example.", DNS_T_A, &o);
	expect(LDNS_RCODE_NOTIMPL, false, false);
	assert_int_equal(ldns_pkt_get_opcode(R.p), LDNS_PACKET_STATUS);
	/* NOTIFY is recognised for the io layer; if it reaches us, NOTIMP */
	uint8_t q[512];
	size_t n = mkquery(q, sizeof(q), "example.", DNS_T_SOA,
		&(struct qopt){ .flags = DNS_OP_NOTIFY << 11 | DNS_FLAG_AA });
	assert_true(auth_is_notify(q, n));
	ask_raw(both, q, n, false);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_NOTIMPL);
	n = mkquery(q, sizeof(q), "example.", DNS_T_SOA, NULL);
	assert_false(auth_is_notify(q, n));
	assert_false(auth_is_notify(q, 3));
}

static void test_edns(void **state)
{
	(void)state;
	struct qopt o = { .edns = 4096, .eflags = DNS_EDNS_DO };
	ask_in(both, "nx.example.", DNS_T_A, &o);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	assert_true(R.info.edns);
	assert_int_equal(ldns_pkt_edns_udp_size(R.p), AUTH_EDNS_SIZE);
	assert_int_equal(ldns_pkt_edns_version(R.p), 0);
	assert_true(ldns_pkt_edns_do(R.p)); /* DO echoed (RFC 3225 3) */
	/* BADVERS (RFC 6891 6.1.3): OPT version 0, extended RCODE 1, no AA */
	o = (struct qopt){ .edns = 1232, .version = 1 };
	ask_in(both, "www.example.", DNS_T_A, &o);
	assert_int_equal(R.info.rcode, DNS_RC_BADVERS);
	assert_int_equal(ldns_pkt_get_rcode(R.p), 0);
	assert_int_equal(ldns_pkt_edns_extended_rcode(R.p), 1);
	assert_int_equal(ldns_pkt_edns_version(R.p), 0);
	assert_false(ldns_pkt_aa(R.p));
	assert_string_equal(ANSWER(), "");
	/* RD copied, CD and AD not echoed */
	o = (struct qopt){ .flags = DNS_FLAG_RD | DNS_FLAG_CD | DNS_FLAG_AD };
	ask_in(both, "www.example.", DNS_T_A, &o);
	assert_true(ldns_pkt_rd(R.p));
	assert_false(ldns_pkt_cd(R.p));
	assert_false(ldns_pkt_ad(R.p));
	assert_false(ldns_pkt_ra(R.p));
}

static void test_truncation(void **state)
{
	(void)state;
	/* six 100-octet TXT records (~670 octets) do not fit in 512 */
	ask("big.example.", DNS_T_TXT);
	expect(LDNS_RCODE_NOERROR, true, true);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), "");
	assert_string_equal(ADDITIONAL(), "");
	assert_true(R.len <= 512);
	/* EDNS 600 is still too small; the OPT stays */
	struct qopt o = { .edns = 600 };
	ask_in(both, "big.example.", DNS_T_TXT, &o);
	expect(LDNS_RCODE_NOERROR, true, true);
	assert_int_equal(ldns_pkt_edns_udp_size(R.p), AUTH_EDNS_SIZE);
	/* EDNS below 512 counts as 512 (RFC 6891 6.2.3) */
	o.edns = 100;
	ask_in(both, "www.example.", DNS_T_A, &o);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ADDITIONAL(), NS_ADDL);
	/* EDNS 1232: everything fits */
	o.edns = 1232;
	ask_in(both, "big.example.", DNS_T_TXT, &o);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(R.p)), 6);
	assert_string_equal(AUTHORITY(), NS_AUTH);
	assert_string_equal(ADDITIONAL(), NS_ADDL);
	assert_true(R.len > 512 && R.len <= 1232);
	/* a larger EDNS size is clamped to ours, still fits */
	o.edns = 65000;
	ask_in(both, "big.example.", DNS_T_TXT, &o);
	expect(LDNS_RCODE_NOERROR, true, false);
	/* TCP: 65535, no EDNS needed */
	o = (struct qopt){ .tcp = true };
	ask_in(both, "big.example.", DNS_T_TXT, &o);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(R.p)), 6);
	assert_string_equal(ADDITIONAL(), NS_ADDL);
}

static void test_any(void **state)
{
	(void)state;
	/* RFC 8482: one RRset, no authority; the choice matches NSD 4.6.1 */
	ask("example.", DNS_T_ANY);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"example. 3600 in soa ns1.example. hostmaster.example. 2026112701 7200 3600 1209600 300");
	assert_string_equal(AUTHORITY(), "");
	ask("www.example.", DNS_T_ANY);
	assert_string_equal(ANSWER(), "www.example. 3600 in a 192.0.2.80");
	assert_string_equal(AUTHORITY(), "");
	ask("alias.example.", DNS_T_ANY);
	assert_string_equal(ANSWER(), "alias.example. 3600 in cname www.example.");
	ask("x.wild.example.", DNS_T_ANY);
	assert_string_equal(ANSWER(), "x.wild.example. 3600 in a 192.0.2.99");
	ask("b.ent.example.", DNS_T_ANY);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);
	ask("nx.example.", DNS_T_ANY);
	expect(LDNS_RCODE_NXDOMAIN, true, false);
	ask("sub.example.", DNS_T_ANY);
	expect(LDNS_RCODE_NOERROR, false, false);
}

static void test_limits(void **state)
{
	(void)state;
	/* RFC 6672 2.2: a synthesised name longer than 255 octets: YXDOMAIN */
	ask_in(edgeset, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.long.edge.test.",
		DNS_T_A, NULL);
	assert_int_equal(ldns_pkt_get_rcode(R.p), 6 /* YXDOMAIN */);
	assert_string_equal(ANSWER(),
		"long.edge.test. 60 in dname aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
		"ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.");
	/* a CNAME chain is followed AUTH_CHAIN_MAX hops, then left to the client */
	struct qopt tcp = { .tcp = true };
	ask_in(edgeset, "c0.edge.test.", DNS_T_A, &tcp);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(R.p)), AUTH_CHAIN_MAX);
	ask_in(edgeset, "c10.edge.test.", DNS_T_A, &tcp);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(R.p)), 11);
	/* the answer fits 512 but the zone's NS does not: left out, no TC
	 * (optional data, RFC 2181 9; NSD does the same) */
	ask_in(edgeset, "fit.edge.test.", DNS_T_TXT, NULL);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(R.p)), 1);
	assert_string_equal(AUTHORITY(), "");
	assert_string_equal(ADDITIONAL(), "");
	assert_true(R.len <= 512);
	/* an MX target that exists through a wildcard gets its addresses under
	 * its own name (RFC 4592; NSD does this); RDATA names are lower case */
	ask_in(edgeset, "mxw.edge.test.", DNS_T_MX, NULL);
	assert_string_equal(sec(LDNS_SECTION_ANSWER, false),
		"mxw.edge.test. 60 IN MX 5 foo.aw.edge.test. | mxw.edge.test. 60 IN MX 6 ns.edge.test.");
	assert_string_equal(sec(LDNS_SECTION_ADDITIONAL, false),
		"foo.aw.edge.test. 60 IN A 192.0.2.9 | ns.edge.test. 60 IN A 192.0.2.1");
	/* a referral that does not fit: TC */
	ask_in(edgeset, "x.wide.edge.test.", DNS_T_A, NULL);
	expect(LDNS_RCODE_NOERROR, false, true);
	assert_string_equal(AUTHORITY(), "");
	ask_in(edgeset, "x.wide.edge.test.", DNS_T_A, &tcp);
	expect(LDNS_RCODE_NOERROR, false, false);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_authority(R.p)), 40);
}

/* ---- steering and CHAOS hooks ------------------------------------------------ */

/* A fake steering hook: www.example. and ghost.example. (not in the zone) are
 * steered; A gets two addresses with scope 24, AAAA none. */
struct fake_steer {
	int calls;
	uint8_t last_scope_seen;   /* ECS source prefix of the last call, 0 if none */
};

static int steer_cb(void *ctx, const struct auth_steer_query *q, struct auth_steer_result *res)
{
	struct fake_steer *f = ctx;
	f->calls++;
	assert_non_null(q->client);
	assert_int_equal(q->owner_len, dns_name_len(q->owner));
	if (!dns_name_eq(q->owner, wname("www.example.")) &&
	    !dns_name_eq(q->owner, wname("ghost.example.")))
		return 0;
	f->last_scope_seen = q->ecs ? q->ecs->source : 0;
	if (q->qtype == DNS_T_A) {
		static const uint8_t a1[4] = { 203, 0, 113, 1 }, a2[4] = { 203, 0, 113, 2 };
		res->rdlen = 4;
		res->n = 2;
		memcpy(res->addr[0], a1, 4);
		memcpy(res->addr[1], a2, 4);
		res->ttl = 20;
		res->ecs_scope = q->ecs ? 24 : 0;
	} else if (q->qtype == DNS_T_AAAA) {
		res->rdlen = 16;
		res->n = 0;
		res->ecs_scope = q->ecs ? 16 : 0;
	}
	return 1;
}

static int chaos_cb(void *ctx, const uint8_t *qname, size_t qlen,
	const struct auth_client *client, const struct dns_ecs *ecs, char *buf, size_t cap)
{
	(void)ctx; (void)client; (void)ecs;
	assert_int_equal(qlen, dns_name_len(qname));
	if (!dns_name_eq(qname, wname("www.example.")))
		return -1;
	return snprintf(buf, cap, "client 192.0.2.1 placed by geoip\nanswer 203.0.113.1");
}

/* A query with an OPT carrying ECS 192.0.2.0/source (family 1). */
static size_t mkquery_ecs(uint8_t *buf, size_t cap, const char *name, uint16_t type,
	uint16_t qclass, uint8_t source)
{
	struct dns_writer w;
	dns_writer_init(&w, buf, cap);
	assert_int_equal(dns_writer_question(&w, wname(name), type, qclass), 0);
	uint8_t addr[4] = { 192, 0, 2, 0 };
	size_t alen = (source + 7u) / 8u;
	uint8_t opt[11 + 8 + 4] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	size_t ol = 11;
	opt[ol++] = 0; opt[ol++] = 8;                 /* ECS */
	opt[ol++] = 0; opt[ol++] = (uint8_t)(4 + alen);
	opt[ol++] = 0; opt[ol++] = 1;                 /* IPv4 */
	opt[ol++] = source; opt[ol++] = 0;
	memcpy(opt + ol, addr, alen);
	ol += alen;
	opt[10] = (uint8_t)(ol - 11);
	memcpy(buf + w.len, opt, ol);
	w.len += ol;
	w.count[DNS_SEC_ADDITIONAL] = 1;
	return dns_writer_finish(&w, 0xbeef, 0);
}

static void ask_hooked(const uint8_t *q, size_t qlen, const struct auth_hooks *h)
{
	struct auth_client c = { .family = 4, .addr = { 127, 0, 0, 1 } };
	if (R.p)
		ldns_pkt_free(R.p);
	R.p = NULL;
	assert_int_equal(auth_answer(both, q, qlen, &c, h, R.buf, sizeof(R.buf), &R.len,
		&R.info), 0);
	assert_true(R.len > 0);
	assert_int_equal(ldns_wire2pkt(&R.p, R.buf, R.len), LDNS_STATUS_OK);
}

/* The ECS option of the reply: scope, or -1 when there is none. */
static int reply_ecs_scope(uint8_t *source)
{
	ldns_rdf *opts = ldns_pkt_edns_data(R.p);
	if (!opts)
		return -1;
	const uint8_t *d = ldns_rdf_data(opts);
	size_t n = ldns_rdf_size(opts);
	for (size_t i = 0; i + 4 <= n;) {
		uint16_t code = (uint16_t)(d[i] << 8 | d[i + 1]);
		uint16_t len = (uint16_t)(d[i + 2] << 8 | d[i + 3]);
		if (code == 8 && len >= 4 && i + 4 + len <= n) {
			*source = d[i + 6];
			return d[i + 7];
		}
		i += 4u + len;
	}
	return -1;
}

static void test_steer_hook(void **state)
{
	(void)state;
	struct fake_steer f = { 0 };
	struct auth_hooks hooks = { .steer = steer_cb, .ctx = &f };
	uint8_t q[512];
	uint8_t source = 0;
	size_t n;

	/* a steered A answer replaces the zone's A, without authority data */
	n = mkquery(q, sizeof(q), "www.example.", DNS_T_A, NULL);
	ask_hooked(q, n, &hooks);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(),
		"www.example. 20 in a 203.0.113.1 | www.example. 20 in a 203.0.113.2");
	assert_string_equal(AUTHORITY(), "");
	assert_true(R.info.steered);
	assert_int_equal(R.info.last, AUTH_STATE_STEER);

	/* through a CNAME: the hook is asked at both names */
	f.calls = 0;
	n = mkquery(q, sizeof(q), "alias.example.", DNS_T_A, NULL);
	ask_hooked(q, n, &hooks);
	assert_int_equal(f.calls, 2);
	assert_string_equal(ANSWER(), "alias.example. 3600 in cname www.example. | "
		"www.example. 20 in a 203.0.113.1 | www.example. 20 in a 203.0.113.2");

	/* no replica of the family: NODATA */
	n = mkquery(q, sizeof(q), "www.example.", DNS_T_AAAA, NULL);
	ask_hooked(q, n, &hooks);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "");
	assert_string_equal(AUTHORITY(), SOA_NEG);

	/* a steered name absent from the zone: other types get NODATA, not NXDOMAIN */
	n = mkquery(q, sizeof(q), "ghost.example.", DNS_T_MX, NULL);
	ask_hooked(q, n, &hooks);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(AUTHORITY(), SOA_NEG);
	n = mkquery(q, sizeof(q), "ghost.example.", DNS_T_A, NULL);
	ask_hooked(q, n, &hooks);
	assert_string_equal(ANSWER(),
		"ghost.example. 20 in a 203.0.113.1 | ghost.example. 20 in a 203.0.113.2");

	/* ECS: echoed with the hook's scope for a steered answer ... */
	n = mkquery_ecs(q, sizeof(q), "www.example.", DNS_T_A, DNS_CLASS_IN, 24);
	ask_hooked(q, n, &hooks);
	assert_int_equal(f.last_scope_seen, 24);
	assert_int_equal(reply_ecs_scope(&source), 24);
	assert_int_equal(source, 24);
	assert_int_equal(R.info.ecs_scope, 24);
	/* ... scope 0 for static data, and no ECS without ECS in the query */
	n = mkquery_ecs(q, sizeof(q), "mail.example.", DNS_T_A, DNS_CLASS_IN, 16);
	ask_hooked(q, n, &hooks);
	assert_int_equal(reply_ecs_scope(&source), 0);
	assert_int_equal(source, 16);
	assert_false(R.info.steered);
	n = mkquery(q, sizeof(q), "www.example.", DNS_T_A, NULL);
	ask_hooked(q, n, &hooks);
	assert_int_equal(reply_ecs_scope(&source), -1);

	/* a malformed ECS (192.0.2.0/20 has bits set beyond the prefix) is FORMERR */
	n = mkquery_ecs(q, sizeof(q), "www.example.", DNS_T_A, DNS_CLASS_IN, 20);
	ask_hooked(q, n, &hooks);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_FORMERR);
}

static void test_chaos_hook(void **state)
{
	(void)state;
	struct auth_hooks hooks = { .chaos_txt = chaos_cb };
	uint8_t q[512];
	struct qopt ch = { .qclass = DNS_CLASS_CH };
	size_t n = mkquery(q, sizeof(q), "www.example.", DNS_T_TXT, &ch);

	ask_hooked(q, n, &hooks);
	expect(LDNS_RCODE_NOERROR, true, false);
	assert_string_equal(ANSWER(), "www.example. 0 ch txt \"client 192.0.2.1 placed by "
		"geoip\" | www.example. 0 ch txt \"answer 203.0.113.1\"");
	/* the hook refuses other names; without the hook CH is REFUSED */
	n = mkquery(q, sizeof(q), "nope.example.", DNS_T_TXT, &ch);
	ask_hooked(q, n, &hooks);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_REFUSED);
	n = mkquery(q, sizeof(q), "www.example.", DNS_T_TXT, &ch);
	ask_hooked(q, n, NULL);
	assert_int_equal(ldns_pkt_get_rcode(R.p), LDNS_RCODE_REFUSED);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(auth_state_name(AUTH_STATE_HIT), "HIT");
	assert_string_equal(auth_state_name(AUTH_STATE_DELEG), "DELEG");
	assert_string_equal(auth_state_name(AUTH_STATE_NODATA), "NODATA");
	assert_string_equal(auth_state_name(AUTH_STATE_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(auth_state_name(AUTH_STATE_FOLLOW), "FOLLOW");
	assert_string_equal(auth_state_name(AUTH_STATE_TRUNC), "TRUNC");
	assert_string_equal(auth_state_name(AUTH_STATE_STEER), "STEER");
}

static int cleanup(void **state)
{
	(void)state;
	if (R.p)
		ldns_pkt_free(R.p);
	R.p = NULL;
	return 0;
}

int main(void)
{
	dns_log_setup("test_answer", DNS_LOG_ERR);
#define T(f) cmocka_unit_test_teardown(f, cleanup)
	const struct CMUnitTest tests[] = {
		T(test_hit), T(test_case_kept), T(test_additional_dedup),
		T(test_additional_mx_srv), T(test_cname), T(test_cname_loop),
		T(test_cname_other_zone), T(test_dname), T(test_wildcard),
		T(test_ent_and_nxdomain), T(test_referral), T(test_ds_at_delegation),
		T(test_refused), T(test_transfers_refused), T(test_formerr_and_drop),
		T(test_notimp), T(test_edns), T(test_truncation), T(test_any),
		T(test_limits), T(test_steer_hook), T(test_chaos_hook), T(test_state_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

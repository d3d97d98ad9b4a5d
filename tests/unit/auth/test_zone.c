/*
 * test_zone.c -- the zone database: master-file loading (directives, types),
 * load checks with their "file:line: reason", the wire builder, AXFR-order
 * iteration, zone sets and reference counting. Every allocation goes through
 * cmocka's checked allocator, so a leak fails the test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth_zone.h"
#include "auth_zone_impl.h"
#include "dns_err.h"
#include "dns_log.h"
#include "dns_name.h"
#include "dns_pkt.h"

#include "test_mm.h"
#include "test_reader.h"

static const uint8_t *wname(const char *s)
{
	static uint8_t buf[8][DNS_NAME_MAX];
	static int i;
	size_t len;
	uint8_t *b = buf[i++ & 7];
	assert_int_equal(dns_name_from_str(s, NULL, b, &len), 0);
	return b;
}

static const char SOA_NS[] =
	"$TTL 300\n"
	"@ SOA ns1 hostmaster 7 3600 600 86400 60\n"
	"  NS ns1\n"
	"ns1 A 192.0.2.1\n";

/* Load text as zone "example."; returns the rc, zone in *z, error text in err. */
static int load(const char *text, struct auth_zone **z, char *err, size_t errlen)
{
	return auth_zone_load_string(&tmm, wname("example."), text, "t.zone", z, err, errlen);
}

/* Expect the load of text to fail with exactly this first error line. */
static void expect_error(const char *text, const char *want)
{
	struct auth_zone *z = NULL;
	char err[2048];
	int rc = load(text, &z, err, sizeof(err));
	if (rc != DNS_E_ZONE || strncmp(err, want, strlen(want)) != 0)
		fail_msg("rc %d, error \"%s\", wanted \"%s\"", rc, err, want);
	assert_null(z);
}

static const struct auth_node *node(const struct auth_zone *z, const char *name)
{
	const uint8_t *n = wname(name);
	return auth_zone_lookup(z, n, dns_name_len(n));
}

static const struct auth_rrset *rrset(const struct auth_zone *z, const char *name,
	uint16_t type)
{
	const struct auth_node *n = node(z, name);
	return n ? auth_node_rrset(n, type) : NULL;
}

/* ---- loading ------------------------------------------------------------------- */

static void test_load_fixture(void **state)
{
	(void)state;
	struct auth_zone *z = NULL;
	char err[1024];
	int rc = auth_zone_load(&tmm, wname("example."), CAIRN_FIXTURES "/example.zone",
		&test_reader, &z, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	struct auth_soa soa;
	auth_zone_soa(z, &soa);
	assert_int_equal(soa.serial, 2026112701u);
	assert_int_equal(soa.refresh, 7200);
	assert_int_equal(soa.retry, 3600);
	assert_int_equal(soa.expire, 1209600);
	assert_int_equal(soa.minimum, 300);
	assert_int_equal(soa.ttl, 3600);
	assert_int_equal(auth_zone_serial(z), 2026112701u);
	assert_true(dns_name_eq(auth_zone_origin(z), wname("example.")));
	assert_int_equal(auth_zone_rr_count(z), 44);

	/* Flags computed at load. */
	assert_true(node(z, "sub.example.")->flags & AUTH_NODE_DELEG);
	assert_true(node(z, "ns.sub.example.")->flags & AUTH_NODE_NONAUTH);
	assert_ptr_equal(node(z, "ns.sub.example.")->cut, node(z, "sub.example."));
	assert_false(node(z, "www.example.")->flags & AUTH_NODE_NONAUTH);
	assert_ptr_equal(node(z, "wild.example.")->wildcard, node(z, "*.wild.example."));
	assert_int_equal(node(z, "ent.example.")->nrrsets, 0);   /* empty non-terminal */
	assert_int_equal(node(z, "b.ent.example.")->nrrsets, 0);
	assert_null(node(z, "nothere.example."));
	/* Additional-section targets resolved once. */
	const struct auth_rrset *mx = rrset(z, "example.", DNS_T_MX);
	assert_ptr_equal(mx->rr[0].target, node(z, "mail.example."));
	const struct auth_rrset *ns = rrset(z, "sub.example.", DNS_T_NS);
	assert_non_null(ns);
	/* canonical RDATA order: ns.elsewhere.test. sorts after ns.sub.example.? by octets */
	int glue = 0;
	for (int i = 0; i < ns->count; i++)
		glue += ns->rr[i].target == node(z, "ns.sub.example.");
	assert_int_equal(glue, 1);

	/* AXFR order: SOA, everything else, SOA. */
	struct auth_zone_iter it;
	struct auth_rr_view v;
	size_t n = 0, soas = 0;
	uint16_t first = 0, last = 0;
	auth_zone_iter_init(&it, z);
	while (auth_zone_iter_next(&it, &v)) {
		if (n == 0)
			first = v.type;
		last = v.type;
		soas += v.type == DNS_T_SOA;
		assert_int_equal(v.rclass, DNS_CLASS_IN);
		n++;
	}
	assert_int_equal(n, auth_zone_rr_count(z) + 1);
	assert_int_equal(first, DNS_T_SOA);
	assert_int_equal(last, DNS_T_SOA);
	assert_int_equal(soas, 2);
	assert_false(auth_zone_iter_next(&it, &v));
	auth_zone_unref(z);
}

static void test_load_types(void **state)
{
	(void)state;
	static const char text[] =
		"$ORIGIN example.\n"
		"$TTL 1h\n"
		"@ IN SOA ns1.example. hostmaster.example. (\n"
		"     2024010101 ; serial\n"
		"     3600 600 86400 60 )\n"
		"  IN NS ns1\n"
		"  MX 10 MAIL.Example.\n"
		"ns1 A 192.0.2.1\n"
		"mail AAAA 2001:db8::25\n"
		"ALIAS CNAME ns1\n"
		"t 120 TXT \"a;b\" \"second string\"\n"
		"_sip._tcp SRV 0 5 5060 ns1\n"
		"1.2 PTR ns1\n"
		"caa CAA 0 issue \"ca.example.net\"\n"
		"dn DNAME example.net.\n"
		"sec DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5BD1A83E2BE5B6E6C4D3DA1C\n"
		"sec NS ns.example.net.\n"
		"key DNSKEY 257 3 8 AwEAAag= \n"
		"key RRSIG A 8 2 3600 20300101000000 20200101000000 12345 example. AAAA\n"
		"key NSEC t.example. A RRSIG NSEC\n"
		"key A 192.0.2.2\n"
		"unk TYPE65280 \\# 4 0a000001\n"
		"empty TYPE65281 \\# 0\n"
		"$ORIGIN deep\n" /* relative to example. */
		"x A 192.0.2.3\n"
		"$ORIGIN example.\n"
		"\tA 192.0.2.4\n"; /* blank owner: previous owner (x.deep) */
	struct auth_zone *z = NULL;
	char err[1024];
	if (load(text, &z, err, sizeof(err)))
		fail_msg("%s", err);
	assert_non_null(rrset(z, "example.", DNS_T_SOA));
	/* names in RDATA of NS/MX/SRV/... are kept in lower case (as NSD) */
	const struct auth_rrset *mx = rrset(z, "example.", DNS_T_MX);
	assert_non_null(mx);
	assert_memory_equal(mx->rr[0].data + 2, "\4mail\7example", 13);
	assert_ptr_equal(mx->rr[0].target, node(z, "mail.example.")); /* AAAA only */
	assert_non_null(rrset(z, "mail.example.", DNS_T_AAAA));
	assert_non_null(rrset(z, "alias.example.", DNS_T_CNAME)); /* owner lower-cased */
	const struct auth_rrset *t = rrset(z, "t.example.", DNS_T_TXT);
	assert_non_null(t);
	assert_int_equal(t->ttl, 120);
	assert_int_equal(t->rr[0].len, 1 + 3 + 1 + 13);
	assert_memory_equal(t->rr[0].data, "\3a;b", 4);
	assert_non_null(rrset(z, "_sip._tcp.example.", DNS_T_SRV));
	assert_non_null(rrset(z, "1.2.example.", DNS_T_PTR));
	assert_non_null(rrset(z, "caa.example.", DNS_T_CAA));
	assert_non_null(rrset(z, "dn.example.", DNS_T_DNAME));
	assert_non_null(rrset(z, "sec.example.", DNS_T_DS));
	assert_non_null(rrset(z, "key.example.", DNS_T_DNSKEY));
	assert_non_null(rrset(z, "key.example.", DNS_T_RRSIG));
	assert_non_null(rrset(z, "key.example.", DNS_T_NSEC));
	const struct auth_rrset *u = rrset(z, "unk.example.", 65280);
	assert_non_null(u);
	assert_int_equal(u->rr[0].len, 4);
	assert_memory_equal(u->rr[0].data, "\x0a\x00\x00\x01", 4);
	const struct auth_rrset *e = rrset(z, "empty.example.", 65281);
	assert_non_null(e);
	assert_int_equal(e->rr[0].len, 0);
	const struct auth_rrset *x = rrset(z, "x.deep.example.", DNS_T_A);
	assert_non_null(x);
	assert_int_equal(x->count, 2);
	assert_int_equal(x->ttl, 3600); /* $TTL 1h */
	assert_int_equal(rrset(z, "example.", DNS_T_SOA)->ttl, 3600);
	auth_zone_unref(z);
}

static void test_load_include(void **state)
{
	(void)state;
	struct auth_zone *z = NULL;
	char err[1024];
	int rc = auth_zone_load(&tmm, wname("inc.test."),
		CAIRN_FIXTURES "/include-main.zone", &test_reader, &z, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_non_null(rrset(z, "host1.inc.test.", DNS_T_A));
	assert_int_equal(rrset(z, "host1.inc.test.", DNS_T_A)->ttl, 300);
	assert_int_equal(rrset(z, "host2.inc.test.", DNS_T_A)->ttl, 77);
	/* $INCLUDE with an origin: names relative to it, restored afterwards. */
	assert_non_null(rrset(z, "www.sub.inc.test.", DNS_T_A));
	assert_non_null(rrset(z, "sub.inc.test.", DNS_T_TXT));
	assert_non_null(rrset(z, "after.inc.test.", DNS_T_A));
	/* $TTL set inside an include does not leak out */
	assert_int_equal(rrset(z, "after.inc.test.", DNS_T_A)->ttl, 300);
	auth_zone_unref(z);
}

static void test_include_errors(void **state)
{
	(void)state;
	struct auth_zone *z = NULL;
	char err[2048];
	int rc = auth_zone_load(&tmm, wname("inc.test."),
		CAIRN_FIXTURES "/include-bad.zone", &test_reader, &z, err, sizeof(err));
	assert_int_equal(rc, DNS_E_ZONE);
	assert_null(z);
	/* parse error inside the included file, with its name and line */
	assert_non_null(strstr(err, CAIRN_FIXTURES "/inc/broken.inc:3: "));
	/* the missing file, at the line of the $INCLUDE */
	assert_non_null(strstr(err, CAIRN_FIXTURES "/include-bad.zone:6: cannot read $INCLUDE file "));
	/* a second include names its own file */
	assert_non_null(strstr(err, CAIRN_FIXTURES "/inc/broken2.inc:2: "));
}

/* A reader serving two files from memory: the core reads only through it. */
struct mem_files {
	const char *path[2], *text[2];
	unsigned reads, releases;
};

static int mem_read(void *ctx, const char *path, char **text, size_t *len)
{
	struct mem_files *m = ctx;
	for (int i = 0; i < 2; i++) {
		if (strcmp(path, m->path[i]) == 0) {
			m->reads++;
			*text = (char *)m->text[i];
			*len = strlen(m->text[i]);
			return 0;
		}
	}
	return -ENOENT;
}

static void mem_release(void *ctx, char *text, size_t len)
{
	(void)text;
	(void)len;
	((struct mem_files *)ctx)->releases++;
}

static void test_reader_in_memory(void **state)
{
	(void)state;
	struct mem_files m = {
		.path = {"zones/main.zone", "zones/inc/hosts.inc"},
		.text = {"$TTL 300\n@ SOA ns1 hostmaster 7 3600 600 86400 60\n  NS ns1\n"
			 "$INCLUDE inc/hosts.inc\n$INCLUDE inc/absent.inc\n",
			 "ns1 A 192.0.2.1\n"},
	};
	struct auth_zone_reader rd = {mem_read, mem_release, &m};
	struct auth_zone *z = NULL;
	char err[512];

	/* the absent include fails the load, at its line, with the reader's errno */
	assert_int_equal(auth_zone_load(&tmm, wname("example."), "zones/main.zone", &rd, &z,
		err, sizeof(err)), DNS_E_ZONE);
	assert_string_equal(err, "zones/main.zone:5: cannot read $INCLUDE file "
		"zones/inc/absent.inc: No such file or directory");
	assert_int_equal(m.reads, 2);
	assert_int_equal(m.releases, 2);

	m.text[0] = "$TTL 300\n@ SOA ns1 hostmaster 7 3600 600 86400 60\n  NS ns1\n"
		"$INCLUDE inc/hosts.inc\n";
	assert_int_equal(auth_zone_load(&tmm, wname("example."), "zones/main.zone", &rd, &z,
		err, sizeof(err)), 0);
	assert_non_null(rrset(z, "ns1.example.", DNS_T_A));
	assert_int_equal(m.reads, m.releases);
	auth_zone_unref(z);

	/* the top file itself */
	assert_int_equal(auth_zone_load(&tmm, wname("example."), "nowhere.zone", &rd, &z,
		err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "nowhere.zone: cannot read: No such file or directory");

	/* text in memory has no reader: $INCLUDE is an error, nothing is opened */
	assert_int_equal(load("$TTL 300\n@ SOA ns1 hostmaster 7 3600 600 86400 60\n  NS ns1\n"
		"ns1 A 192.0.2.1\n$INCLUDE " CAIRN_FIXTURES "/example.zone\n", &z, err,
		sizeof(err)), DNS_E_ZONE);
	assert_non_null(strstr(err, "t.zone:5: cannot read $INCLUDE file "));
}

static void test_load_duplicates_and_ttls(void **state)
{
	(void)state;
	char text[1024];
	snprintf(text, sizeof(text), "%s"
		"www A 192.0.2.80\n"
		"www A 192.0.2.80\n"      /* identical: merged silently */
		"WWW 300 A 192.0.2.80\n"  /* same RR, other case */
		"ttl 100 A 192.0.2.1\n"
		"ttl 200 A 192.0.2.2\n",  /* TTL differs (RFC 2181 5.2): NSD warns, keeps */
		SOA_NS);
	struct auth_zone *z = NULL;
	char err[1024];
	if (load(text, &z, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(rrset(z, "www.example.", DNS_T_A)->count, 1);
	const struct auth_rrset *t = rrset(z, "ttl.example.", DNS_T_A);
	assert_int_equal(t->count, 2);
	assert_int_equal(t->ttl, 100);      /* the RRset's TTL: the first one's */
	assert_int_equal(t->rr[0].ttl, 100); /* each record keeps its own, as NSD serves them */
	assert_int_equal(t->rr[1].ttl, 200);
	assert_int_equal(auth_zone_rr_count(z), 3 + 1 + 2);
	auth_zone_unref(z);
}

/* ---- load checks ------------------------------------------------------------------ */

static void test_check_parse_error(void **state)
{
	(void)state;
	char text[512];
	snprintf(text, sizeof(text), "%s\n; comment\nbad A 300.1.2.3\n", SOA_NS);
	/* line 1 $TTL, 2 SOA, 3 NS, 4 ns1, 5 empty, 6 comment, 7 bad */
	expect_error(text, "t.zone:7: Syntax error, could not parse the RR's rdata");
	/* a multi-line record is reported at its first line */
	snprintf(text, sizeof(text), "%sok A 192.0.2.9\nx A (\n ; c\n 300.1.2.3\n )\n", SOA_NS);
	expect_error(text, "t.zone:6: ");
	snprintf(text, sizeof(text), "%sx 300 IN BOGUS 1\n", SOA_NS);
	expect_error(text, "t.zone:5: ");
	snprintf(text, sizeof(text), "%s$FOO bar\n", SOA_NS);
	expect_error(text, "t.zone:5: unknown or malformed directive $FOO");
	/* a directive line with too many words is skipped whole */
	snprintf(text, sizeof(text), "%s$TTL 300 and more\nok A 192.0.2.1\nbad A x\n", SOA_NS);
	expect_error(text, "t.zone:5: too many words in directive\nt.zone:7: ");
	snprintf(text, sizeof(text), "%sx CH TXT \"chaos\"\n", SOA_NS);
	expect_error(text, "t.zone:5: class 3 not supported (only IN)");
}

static void test_check_soa(void **state)
{
	(void)state;
	expect_error("@ NS ns1\nns1 A 192.0.2.1\n",
		"t.zone: no SOA record at the zone apex example.");
	char text[512];
	snprintf(text, sizeof(text), "%s@ SOA ns2 h 8 1 1 1 1\n", SOA_NS);
	expect_error(text, "t.zone:5: more than one SOA record at the apex");
	snprintf(text, sizeof(text), "%s\nsub SOA ns1 h 1 1 1 1 1\n", SOA_NS);
	expect_error(text, "t.zone:6: SOA record at sub.example., not at the zone apex");
}

static void test_check_ns_apex(void **state)
{
	(void)state;
	expect_error("$TTL 60\n@ SOA ns1 h 1 1 1 1 1\nns1 A 192.0.2.1\n",
		"t.zone:2: no NS records at the zone apex example.");
}

static void test_check_cname(void **state)
{
	(void)state;
	char text[512];
	snprintf(text, sizeof(text), "%swww CNAME ns1\nwww A 192.0.2.2\n", SOA_NS);
	expect_error(text, "t.zone:6: CNAME and other data (A) at www.example. (RFC 1034 3.6.2)");
	snprintf(text, sizeof(text), "%swww A 192.0.2.2\nwww CNAME ns1\n", SOA_NS);
	expect_error(text, "t.zone:6: CNAME and other data (A) at www.example.");
	snprintf(text, sizeof(text), "%swww CNAME ns1\nwww CNAME ns2\n", SOA_NS);
	expect_error(text, "t.zone:6: more than one CNAME record at www.example.");
	/* RRSIG and NSEC may sit beside a CNAME (RFC 4035 2.5) */
	snprintf(text, sizeof(text), "%swww CNAME ns1\n"
		"www NSEC z.example. CNAME RRSIG NSEC\n"
		"www RRSIG CNAME 8 2 3600 20300101000000 20200101000000 1 example. AAAA\n",
		SOA_NS);
	struct auth_zone *z = NULL;
	char err[512];
	if (load(text, &z, err, sizeof(err)))
		fail_msg("%s", err);
	auth_zone_unref(z);
}

static void test_check_out_of_zone(void **state)
{
	(void)state;
	char text[512];
	snprintf(text, sizeof(text), "%swww.example.net. A 192.0.2.1\n", SOA_NS);
	expect_error(text, "t.zone:5: www.example.net. is outside the zone example.");
}

static void test_check_glue(void **state)
{
	(void)state;
	char text[512];
	/* delegation whose in-zone name server has no address */
	snprintf(text, sizeof(text), "%ssub NS ns.sub\n", SOA_NS);
	expect_error(text, "t.zone:5: name server ns.sub.example. of sub.example. is inside the zone but has no A/AAAA record (missing glue)");
	/* apex NS pointing at an in-zone name without address */
	expect_error("$TTL 60\n@ SOA ns1 h 1 1 1 1 1\n@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\n",
		"t.zone:4: name server ns2.example. of example. is inside the zone but has no A/AAAA");
	/* out-of-zone name servers need no glue; AAAA is enough */
	snprintf(text, sizeof(text), "%ssub NS ns.example.net.\nsub NS ns.sub\nns.sub AAAA 2001:db8::1\n", SOA_NS);
	struct auth_zone *z = NULL;
	char err[512];
	if (load(text, &z, err, sizeof(err)))
		fail_msg("%s", err);
	auth_zone_unref(z);
	/* sibling glue is optional (RFC 9471): a name server below another cut */
	snprintf(text, sizeof(text), "%shost NS ns.host\nns.host A 192.0.2.9\n"
		"other NS ns9.host\n", SOA_NS);
	z = NULL;
	if (load(text, &z, err, sizeof(err)))
		fail_msg("sibling glue required: %s", err);
	auth_zone_unref(z);
	/* ... but an in-zone authoritative name server without address is not */
	snprintf(text, sizeof(text), "%sother NS nsx\n", SOA_NS);
	expect_error(text, "t.zone:5: name server nsx.example. of other.example. is inside the zone but has no A/AAAA record (missing glue)");
}

static void test_check_dname(void **state)
{
	(void)state;
	char text[512];
	snprintf(text, sizeof(text), "%sdn DNAME example.net.\nx.dn A 192.0.2.1\n", SOA_NS);
	expect_error(text, "t.zone:6: x.dn.example. is below the DNAME at dn.example. (RFC 6672 2.3)");
}

static void test_check_many_errors(void **state)
{
	(void)state;
	/* every problem is reported, one line each */
	struct auth_zone *z = NULL;
	char err[2048];
	char text[512];
	snprintf(text, sizeof(text), "%sa.example.net. A 192.0.2.1\nc CNAME ns1\nc TXT \"x\"\n", SOA_NS);
	assert_int_equal(load(text, &z, err, sizeof(err)), DNS_E_ZONE);
	assert_non_null(strstr(err, "t.zone:5: a.example.net. is outside"));
	assert_non_null(strstr(err, "\nt.zone:7: CNAME and other data (TXT)"));
}

static void test_check_file(void **state)
{
	(void)state;
	char msg[512];
	assert_int_equal(auth_zone_check_file("example", CAIRN_FIXTURES "/example.zone",
		&test_reader, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "zone example. serial 2026112701: 44 records");
	int rc = auth_zone_check_file("example.", CAIRN_FIXTURES "/nonexistent.zone",
		&test_reader, msg, sizeof(msg));
	assert_true(rc < 0);
	assert_non_null(strstr(msg, "nonexistent.zone: cannot read"));
	assert_int_equal(auth_zone_check_file("bad..name", CAIRN_FIXTURES "/example.zone",
		&test_reader, msg, sizeof(msg)), DNS_E_SYNTAX);
	assert_int_equal(auth_zone_check_file("other.test.", CAIRN_FIXTURES "/example.zone",
		&test_reader, msg, sizeof(msg)), DNS_E_ZONE);
}

/* ---- wire builder, sets, references ---------------------------------------------- */

static void test_builder_wire(void **state)
{
	(void)state;
	struct auth_zone_builder *b;
	uint8_t soa[64];
	size_t l1, l2;
	assert_int_equal(auth_zone_builder_new(&tmm, wname("Example."), &b), 0);
	dns_name_from_str("ns1.example.", NULL, soa, &l1);
	dns_name_from_str("h.example.", NULL, soa + l1, &l2);
	memset(soa + l1 + l2, 0, 20);
	soa[l1 + l2 + 3] = 42; /* serial 42 */
	assert_int_equal(auth_zone_builder_add_rr(b, wname("EXAMPLE."), DNS_T_SOA,
		DNS_CLASS_IN, 60, soa, (uint16_t)(l1 + l2 + 20), NULL, 0), 0);
	assert_int_equal(auth_zone_builder_add_rr(b, wname("example."), DNS_T_NS,
		DNS_CLASS_IN, 60, wname("ns.example.net."), 16, NULL, 0), 0);
	assert_int_equal(auth_zone_builder_add_rr(b, wname("a.example."), DNS_T_A,
		DNS_CLASS_IN, 60, (const uint8_t *)"\xc0\x00\x02\x01", 4, NULL, 0), 0);
	/* malformed rdata is refused at once */
	assert_int_equal(auth_zone_builder_add_rr(b, wname("a.example."), DNS_T_A,
		DNS_CLASS_IN, 60, (const uint8_t *)"\xc0\x00", 2, NULL, 0), DNS_E_ZONE);
	auth_zone_builder_free(b);

	assert_int_equal(auth_zone_builder_new(&tmm, wname("example."), &b), 0);
	assert_int_equal(auth_zone_builder_add_rr(b, wname("example."), DNS_T_SOA,
		DNS_CLASS_IN, 60, soa, (uint16_t)(l1 + l2 + 20), NULL, 0), 0);
	assert_int_equal(auth_zone_builder_add_rr(b, wname("example."), DNS_T_NS,
		DNS_CLASS_IN, 60, wname("ns.example.net."), 16, NULL, 0), 0);
	struct auth_zone *z;
	char err[256];
	assert_int_equal(auth_zone_builder_finish(b, &z, err, sizeof(err)), 0);
	assert_int_equal(auth_zone_serial(z), 42);
	assert_int_equal(auth_zone_rr_count(z), 2);
	auth_zone_unref(z);

	/* the AXFR name shows in whole-zone errors */
	assert_int_equal(auth_zone_builder_new(&tmm, wname("example."), &b), 0);
	assert_int_equal(auth_zone_builder_add_rr(b, wname("example."), DNS_T_NS,
		DNS_CLASS_IN, 60, wname("ns.example.net."), 16, NULL, 0), 0);
	assert_int_equal(auth_zone_builder_finish(b, &z, err, sizeof(err)), DNS_E_ZONE);
	assert_string_equal(err, "AXFR: no SOA record at the zone apex example.");
}

static struct auth_zone *mkzone(const char *origin)
{
	char text[512];
	struct auth_zone *z = NULL;
	char err[512];
	snprintf(text, sizeof(text),
		"@ 60 SOA ns.example.net. h.example.net. 1 1 1 1 1\n@ 60 NS ns.example.net.\n%s",
		strcmp(origin, ".") == 0 ? "ns.example.net. 60 A 192.0.2.1\n" : "");
	if (auth_zone_load_string(&tmm, wname(origin), text, origin, &z, err, sizeof(err)))
		fail_msg("%s", err);
	return z;
}

static void test_zoneset(void **state)
{
	(void)state;
	struct auth_zone *root = mkzone(".");
	struct auth_zone *ex = mkzone("example.");
	struct auth_zone *sub = mkzone("sub.example.");
	struct auth_zoneset_builder *b;
	struct auth_zoneset *s, *s2;

	assert_int_equal(auth_zoneset_builder_new(&tmm, &b), 0);
	assert_int_equal(auth_zoneset_builder_add(b, sub), 0);
	assert_int_equal(auth_zoneset_builder_add(b, ex), 0);
	assert_int_equal(auth_zoneset_builder_add(b, ex), DNS_E_EXISTS);
	assert_int_equal(auth_zoneset_builder_finish(b, &s), 0);
	assert_int_equal(auth_zoneset_count(s), 2);
	assert_ptr_equal(auth_zoneset_at(s, 0), ex); /* canonical order */
	assert_ptr_equal(auth_zoneset_find(s, wname("WWW.Example.")), ex);
	assert_ptr_equal(auth_zoneset_find(s, wname("a.b.SUB.example.")), sub);
	assert_ptr_equal(auth_zoneset_find(s, wname("sub.example.")), sub);
	assert_null(auth_zoneset_find(s, wname("example.net.")));
	assert_null(auth_zoneset_find(s, wname(".")));
	assert_ptr_equal(auth_zoneset_get(s, wname("example.")), ex);
	assert_null(auth_zoneset_get(s, wname("www.example.")));

	/* A reload: a new set reusing "example." from the serving one. */
	assert_int_equal(auth_zoneset_builder_new(&tmm, &b), 0);
	assert_int_equal(auth_zoneset_builder_add(b, auth_zoneset_get(s, wname("example."))), 0);
	assert_int_equal(auth_zoneset_builder_add(b, root), 0);
	assert_int_equal(auth_zoneset_builder_finish(b, &s2), 0);
	assert_ptr_equal(auth_zoneset_find(s2, wname("example.net.")), root);
	assert_ptr_equal(auth_zoneset_find(s2, wname("x.sub.example.")), ex);

	/* Our own references go; the sets keep theirs. */
	auth_zone_unref(root);
	auth_zone_unref(ex);
	auth_zone_unref(sub);
	assert_ptr_equal(auth_zoneset_ref(s), s);
	auth_zoneset_unref(s);
	auth_zoneset_unref(s); /* frees s and sub; ex lives on in s2 */
	assert_int_equal(auth_zone_serial(auth_zoneset_get(s2, wname("example."))), 1);
	auth_zoneset_unref(s2);

	/* dropping a builder drops its references */
	ex = mkzone("example.");
	assert_int_equal(auth_zoneset_builder_new(&tmm, &b), 0);
	assert_int_equal(auth_zoneset_builder_add(b, ex), 0);
	auth_zoneset_builder_free(b);
	auth_zone_unref(ex);
}

int main(void)
{
	dns_log_setup("test_zone", DNS_LOG_ERR); /* keep the TTL warnings quiet */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_fixture),
		cmocka_unit_test(test_load_types),
		cmocka_unit_test(test_load_include),
		cmocka_unit_test(test_include_errors),
		cmocka_unit_test(test_reader_in_memory),
		cmocka_unit_test(test_load_duplicates_and_ttls),
		cmocka_unit_test(test_check_parse_error),
		cmocka_unit_test(test_check_soa),
		cmocka_unit_test(test_check_ns_apex),
		cmocka_unit_test(test_check_cname),
		cmocka_unit_test(test_check_out_of_zone),
		cmocka_unit_test(test_check_glue),
		cmocka_unit_test(test_check_dname),
		cmocka_unit_test(test_check_many_errors),
		cmocka_unit_test(test_check_file),
		cmocka_unit_test(test_builder_wire),
		cmocka_unit_test(test_zoneset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

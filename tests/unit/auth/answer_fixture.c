/*
 * answer_fixture.c -- the zone sets, queries and answer parsing shared by the
 * answer engine's tests (answer_fixture.h).
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
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"

#include "test_mm.h"
#include "test_reader.h"
#include "answer_fixture.h"

struct auth_zoneset *both;
struct auth_zoneset *alone;
struct auth_zoneset *family;
struct auth_zoneset *edgeset;

const uint8_t *wname(const char *s)
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

int answer_setup(void **state)
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

int answer_teardown(void **state)
{
	(void)state;
	auth_zoneset_unref(both);
	auth_zoneset_unref(alone);
	auth_zoneset_unref(family);
	auth_zoneset_unref(edgeset);
	return 0;
}

/* ---- building queries ------------------------------------------------------- */

size_t mkquery(uint8_t *buf, size_t cap, const char *name, uint16_t type,
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

struct resp R;

void ask_raw(const struct auth_zoneset *s, const uint8_t *q, size_t qlen, bool tcp)
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

void ask_in(const struct auth_zoneset *s, const char *name, uint16_t type,
	const struct qopt *o)
{
	uint8_t q[512];
	size_t qlen = mkquery(q, sizeof(q), name, type, o);
	ask_raw(s, q, qlen, o && o->tcp);
	assert_non_null(R.p);
}

void ask(const char *name, uint16_t type)
{
	ask_in(both, name, type, NULL);
}

/* A section as text: "owner ttl class type rdata" per record, joined by " | ". */
const char *sec(ldns_pkt_section which, bool lower)
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

void expect(ldns_pkt_rcode rcode, bool aa, bool tc)
{
	assert_int_equal(ldns_pkt_get_rcode(R.p), rcode);
	assert_int_equal(ldns_pkt_aa(R.p), aa);
	assert_int_equal(ldns_pkt_tc(R.p), tc);
	assert_int_equal(R.info.aa, aa);
	assert_int_equal(R.info.tc, tc);
	assert_int_equal(ldns_pkt_qdcount(R.p), 1);
}

int answer_cleanup(void **state)
{
	(void)state;
	if (R.p)
		ldns_pkt_free(R.p);
	R.p = NULL;
	return 0;
}

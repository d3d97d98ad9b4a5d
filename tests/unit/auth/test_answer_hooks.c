/*
 * test_answer_hooks.c -- the answer engine's hooks, packets in and packets
 * out, no sockets: a fake steering hook (steered A/AAAA, through CNAMEs, the
 * ECS scope echoed per RFC 7871) and the CHAOS TXT hook.
 * Fixtures and helpers: answer_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "auth_answer.h"
#include "dns_log.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"

#include "answer_fixture.h"

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

int main(void)
{
	dns_log_setup("test_answer_hooks", DNS_LOG_ERR);
	const struct CMUnitTest tests[] = {
		ANSWER_TEST(test_steer_hook), ANSWER_TEST(test_chaos_hook),
	};
	return cmocka_run_group_tests(tests, answer_setup, answer_teardown);
}

/*
 * test_iter.c -- the iterator driven by scripted upstream answers and a fake
 * clock: one cmocka test per scenario in tests/fixtures/replay/ (see replay.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"
#include "replay.h"
#include "rsv_iter.h"
#include "test_mm.h"

#ifndef REPLAY_DIR
#error "REPLAY_DIR must name tests/fixtures/replay"
#endif

static void run_scenario(void **state)
{
	const char *name = *state;
	char path[1024], err[65536];
	snprintf(path, sizeof(path), "%s/%s.rpl", REPLAY_DIR, name);
	int ret = replay_run_file(path, err, sizeof(err));
	if (ret != 0)
		fail_msg("%s", err);
}

/* Run a scenario given as text; returns the runner's result, message in err. */
static int run_text(const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/rsv_replayXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int ret = replay_run_file(path, err, errlen);
	unlink(path);
	return ret;
}

#define HEAD "HINT a.root-servers.net. 198.51.100.1\nCONFIG qname_min off\nQUERY www.example.com. A\n"
#define GOOD_REPLY "STEP 2 REPLY\n FLAGS AA\n ANSWER\n www.example.com. 300 IN A 192.0.2.7\nEND\n"

/* The runner itself must catch every kind of difference. */
static void test_runner_catches_differences(void **state)
{
	(void)state;
	static char err[65536];
	/* the passing baseline */
	assert_int_equal(run_text(HEAD "STEP 1 QUERY_EXPECT 198.51.100.1 A www.example.com.\n"
		GOOD_REPLY "CHECK_ANSWER\n ANSWER\n www.example.com. 300 IN A 192.0.2.7\nEND\n",
		err, sizeof(err)), 0);
	/* another TTL: TTLs are compared, so caps and the countdown are tested */
	assert_int_equal(run_text(HEAD "STEP 1 QUERY_EXPECT 198.51.100.1 A www.example.com.\n"
		GOOD_REPLY "CHECK_ANSWER\n ANSWER\n www.example.com. 299 IN A 192.0.2.7\nEND\n",
		err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ANSWER section differs"));
	/* another server than expected */
	assert_int_equal(run_text(HEAD "STEP 1 QUERY_EXPECT 198.51.100.2 A www.example.com.\n",
		err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expected a query to 198.51.100.2"));
	/* another name, another type, TCP, no EDNS */
	assert_int_equal(run_text(HEAD "STEP 1 QUERY_EXPECT 198.51.100.1 A www.example.net.\n",
		err, sizeof(err)), -1);
	assert_int_equal(run_text(HEAD "STEP 1 QUERY_EXPECT 198.51.100.1 AAAA www.example.com.\n",
		err, sizeof(err)), -1);
	assert_int_equal(run_text(HEAD "STEP 1 QUERY_EXPECT 198.51.100.1 A www.example.com. tcp\n",
		err, sizeof(err)), -1);
	assert_int_equal(run_text(HEAD "STEP 1 QUERY_EXPECT 198.51.100.1 A www.example.com. noedns\n",
		err, sizeof(err)), -1);
	/* a different answer */
	assert_int_equal(run_text(HEAD GOOD_REPLY
		"CHECK_ANSWER\n ANSWER\n www.example.com. 1 IN A 192.0.2.8\nEND\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ANSWER section differs"));
	/* a different rcode */
	assert_int_equal(run_text(HEAD GOOD_REPLY "CHECK_ANSWER\n RCODE NXDOMAIN\n ANSWER\n"
		" www.example.com. 1 IN A 192.0.2.7\nEND\n", err, sizeof(err)), -1);
	/* a reply expected to be dropped but accepted */
	assert_int_equal(run_text(HEAD "STEP 2 REPLY drop\n FLAGS AA\nEND\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "should have been dropped"));
	/* the answer checked while the iterator still wants to ask */
	assert_int_equal(run_text(HEAD "CHECK_ANSWER\nEND\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not done"));
	/* the clock and the timeout */
	assert_int_equal(run_text(HEAD "STEP 1 TIMEOUT\nSTEP 2 CHECK_TIME 401\n", err, sizeof(err)), -1);
	assert_int_equal(run_text(HEAD "STEP 1 CHECK_TIMEOUT 399\n", err, sizeof(err)), -1);
	/* counters */
	assert_int_equal(run_text(HEAD GOOD_REPLY "CHECK_STATS upstream 2\n", err, sizeof(err)), -1);
	/* a malformed script */
	assert_int_equal(run_text(HEAD "STEP 1 FROBNICATE\n", err, sizeof(err)), -1);
	assert_int_equal(run_text(HEAD "STEP 2 REPLY\n this is no record\nEND\n", err, sizeof(err)), -1);
}


/*
 * Every upstream query gets a fresh random ID and random case (0x20) from the
 * RNG; without 0x20 the name goes as asked.
 */
static void test_ids_and_case_random(void **state)
{
	(void)state;
	struct rsv_hints hints = { 0 };
	struct rsv_addr a;
	uint8_t root_ns[DNS_NAME_MAX], qname[DNS_NAME_MAX];
	size_t nl;
	assert_int_equal(rsv_addr_parse("198.51.100.1", &a), 0);
	dns_name_from_str("a.root-servers.net.", NULL, root_ns, &nl);
	rsv_hints_add(&hints, root_ns, &a);
	dns_name_from_str("www.example.com.", NULL, qname, &nl);
	struct rsv_select *sel;
	struct rsv_select_opts so;
	rsv_select_opts_default(&so);
	assert_int_equal(rsv_select_new(&tmm, &so, &sel), 0);
	struct rsv_ctx ctx = { .mm = &tmm, .select = sel, .hints = &hints };
	struct dns_rng_seeded seed;
	dns_rng_seeded_init(&ctx.rng, &seed, 99);
	rsv_iter_opts_default(&ctx.opts);
	ctx.opts.qname_min = false;
	enum { N = 64 };
	uint16_t ids[N];
	uint8_t names[N][DNS_NAME_MAX];
	for (int round = 0; round < 2; round++) {
		ctx.opts.use_0x20 = round == 0;
		for (int i = 0; i < N; i++) {
			struct rsv_req *req;
			assert_int_equal(rsv_req_begin_name(&req, &ctx, qname, DNS_T_A, 0), 0);
			const uint8_t *pkt;
			size_t len;
			struct rsv_addr dest;
			enum rsv_transport tp;
			uint32_t to;
			assert_int_equal(rsv_req_produce(req, &pkt, &len, &dest, &tp, &to, 0), RSV_PRODUCE);
			struct dns_query q;
			assert_int_equal(dns_query_parse(pkt, len, &q, NULL), DNS_QUERY_OK);
			ids[i] = q.hdr.id;
			memcpy(names[i], q.qname, q.qname_len);
			assert_true(dns_name_eq(q.qname, qname));
			if (round == 1)
				assert_memory_equal(q.qname, qname, q.qname_len);
			rsv_req_free(req);
		}
		unsigned same_id = 0, same_case = 0;
		for (int i = 0; i < N; i++)
			for (int j = i + 1; j < N; j++) {
				same_id += ids[i] == ids[j];
				same_case += memcmp(names[i], names[j], dns_name_len(names[i])) == 0;
			}
		/* 64 draws of 16 bits: a collision or two at most */
		assert_true(same_id <= 2);
		if (round == 0)
			assert_true(same_case <= 4); /* 13 letters: 8192 spellings */
	}
	rsv_select_free(sel);
}

/* A client query that is not a clean QUERY is refused by begin (FORMERR is the caller's). */
static void test_begin_rejects(void **state)
{
	(void)state;
	struct rsv_ctx ctx = { .mm = &tmm };
	struct rsv_req *req = NULL;
	uint8_t junk[5] = { 1, 2, 3, 4, 5 };
	assert_true(rsv_req_begin(&req, &ctx, junk, sizeof(junk), NULL, 0) < 0);
	uint8_t buf[512], name[DNS_NAME_MAX];
	size_t nl;
	dns_name_from_str("example.com.", NULL, name, &nl);
	struct dns_writer w;
	dns_writer_init(&w, buf, sizeof(buf));
	dns_writer_question(&w, name, DNS_T_A, DNS_CLASS_IN);
	size_t len = dns_writer_finish(&w, 1, DNS_OP_NOTIFY << 11);
	assert_true(rsv_req_begin(&req, &ctx, buf, len, NULL, 0) < 0);
	assert_null(req);
	assert_string_equal(rsv_state_name(RSV_IT_SEND), "SEND");
	assert_string_equal(rsv_state_name(RSV_IT_RESPONSE), "RESPONSE");
}

static void push_rr(ldns_pkt *p, ldns_pkt_section sec, const char *text)
{
	ldns_rr *rr = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL), LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, sec, rr);
}

/*
 * A reply to q, one of four shapes (referral, chain, NXDOMAIN, upward referral),
 * damaged at random past the ID (and sometimes cut short): wire, *wlen bytes.
 */
static uint8_t *garbage_reply(const struct dns_query *q, struct dns_rng *mrng, size_t *wlen)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_pkt_set_id(p, q->hdr.id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, dns_rng_uniform(mrng, 2));
	ldns_rr *qrr = ldns_rr_new();
	ldns_rr_set_owner(qrr, ldns_dname_new_frm_data((uint16_t)q->qname_len, q->qname));
	ldns_rr_set_type(qrr, (ldns_rr_type)q->qtype);
	ldns_rr_set_class(qrr, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(qrr, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qrr);
	switch (dns_rng_uniform(mrng, 4)) {
	case 0:
		push_rr(p, LDNS_SECTION_AUTHORITY, "example.com. 60 IN NS ns1.example.com.");
		push_rr(p, LDNS_SECTION_AUTHORITY, "example.com. 60 IN NS ns.other.net.");
		push_rr(p, LDNS_SECTION_ADDITIONAL, "ns1.example.com. 60 IN A 192.0.2.53");
		break;
	case 1:
		push_rr(p, LDNS_SECTION_ANSWER, "www.example.com. 60 IN CNAME w.example.com.");
		push_rr(p, LDNS_SECTION_ANSWER, "w.example.com. 60 IN DNAME example.net.");
		push_rr(p, LDNS_SECTION_ANSWER, "w.example.com. 60 IN A 192.0.2.1");
		break;
	case 2:
		ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
		push_rr(p, LDNS_SECTION_AUTHORITY,
			"example.com. 60 IN SOA a.example.com. b.example.com. 1 2 3 4 5");
		break;
	default:
		push_rr(p, LDNS_SECTION_AUTHORITY, "com. 60 IN NS a.gtld.net.");
		push_rr(p, LDNS_SECTION_ADDITIONAL, "a.gtld.net. 60 IN A 192.0.2.1");
		break;
	}
	uint8_t *wire = NULL;
	assert_int_equal(ldns_pkt2wire(&wire, p, wlen), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	/* damage the body (and counts), never the ID */
	unsigned flips = 1 + dns_rng_uniform(mrng, 4);
	for (unsigned k = 0; k < flips; k++) {
		size_t at = 2 + dns_rng_uniform(mrng, (uint32_t)(*wlen - 2));
		if (at >= 4 && at < q->question_end && dns_rng_uniform(mrng, 4))
			continue; /* mostly keep the question so the reply is looked at */
		wire[at] = (uint8_t)dns_rng_u32(mrng);
	}
	if (dns_rng_uniform(mrng, 8) == 0)
		*wlen = 2 + dns_rng_uniform(mrng, (uint32_t)(*wlen - 2));
	return wire;
}

/*
 * Robustness: replies that pass the ID, source and question checks but whose
 * body is damaged (random bytes changed, counts wrong, cut short) never crash,
 * leak or hang the iterator; each request still ends with an answer.
 */
static void test_consume_garbage(void **state)
{
	(void)state;
	struct rsv_hints hints = { 0 };
	struct rsv_addr root;
	uint8_t ns[DNS_NAME_MAX], qname[DNS_NAME_MAX];
	size_t nl;
	assert_int_equal(rsv_addr_parse("198.51.100.1", &root), 0);
	dns_name_from_str("a.root-servers.net.", NULL, ns, &nl);
	rsv_hints_add(&hints, ns, &root);
	dns_name_from_str("www.example.com.", NULL, qname, &nl);
	struct rsv_cache_opts co;
	rsv_cache_opts_default(&co);
	co.shards = 1;
	co.max_bytes = 1 << 20;
	struct rsv_cache *cache;
	assert_int_equal(rsv_cache_new(&tmm, &co, &cache), 0);
	struct rsv_select_opts so;
	rsv_select_opts_default(&so);
	struct rsv_select *sel;
	assert_int_equal(rsv_select_new(&tmm, &so, &sel), 0);
	struct rsv_ctx ctx = { .mm = &tmm, .cache = cache, .select = sel, .hints = &hints };
	struct dns_rng_seeded seed, mseed;
	struct dns_rng mrng;
	dns_rng_seeded_init(&ctx.rng, &seed, 5);
	dns_rng_seeded_init(&mrng, &mseed, 6);
	rsv_iter_opts_default(&ctx.opts);
	uint64_t now = 0;
	unsigned answered = 0, replies = 0;
	for (int i = 0; i < 3000; i++) {
		struct rsv_req *req;
		/* from scratch each time: no answers or failures remembered */
		rsv_cache_flush(cache);
		assert_int_equal(rsv_req_begin_name(&req, &ctx, qname, DNS_T_A, now), 0);
		const uint8_t *pkt;
		size_t len;
		struct rsv_addr dest;
		enum rsv_transport tp;
		uint32_t to;
		enum rsv_state st = rsv_req_produce(req, &pkt, &len, &dest, &tp, &to, now);
		for (int round = 0; st == RSV_PRODUCE && round < 60; round++) {
			struct dns_query q;
			assert_int_equal(dns_query_parse(pkt, len, &q, NULL), DNS_QUERY_OK);
			size_t wlen = 0;
			uint8_t *wire = garbage_reply(&q, &mrng, &wlen);
			st = rsv_req_consume(req, wire, wlen, &dest, now);
			free(wire);
			replies++;
			if (st == RSV_WAIT) {
				now += to;
				st = rsv_req_consume(req, NULL, 0, NULL, now);
			}
			assert_int_equal(st, RSV_PRODUCE);
			st = rsv_req_produce(req, &pkt, &len, &dest, &tp, &to, now);
		}
		assert_int_equal(st, RSV_DONE);
		uint8_t buf[4096];
		size_t alen;
		assert_int_equal(rsv_req_finish(req, buf, sizeof(buf), &alen), 0);
		answered++;
		rsv_req_free(req);
		now += 1000;
	}
	assert_int_equal(answered, 3000);
	assert_true(replies > 6000);
	rsv_select_free(sel);
	rsv_cache_free(cache);
}

/* One test named after its scenario file. */
#define SCENARIO(n) { n, run_scenario, NULL, NULL, (void *)(n) }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runner_catches_differences),
		cmocka_unit_test(test_ids_and_case_random),
		cmocka_unit_test(test_begin_rejects),
		cmocka_unit_test(test_consume_garbage),
		SCENARIO("referral_walk"),
		SCENARIO("glueless"),
		SCENARIO("glueless_v6"),
		SCENARIO("cname_zones"),
		SCENARIO("dname"),
		SCENARIO("nxdomain"),
		SCENARIO("nodata"),
		SCENARIO("qmin_fallback"),
		SCENARIO("qmin_ent"),
		SCENARIO("backoff"),
		SCENARIO("failover"),
		SCENARIO("tc_tcp"),
		SCENARIO("edns_fallback"),
		SCENARIO("bailiwick"),
		SCENARIO("case_0x20"),
		SCENARIO("case_fallback"),
		SCENARIO("forged"),
		SCENARIO("cname_loop"),
		SCENARIO("cname_loop_zones"),
		SCENARIO("nxns"),
		SCENARIO("tsuname"),
		SCENARIO("lame"),
		SCENARIO("limit_upstream"),
		SCENARIO("limit_referrals"),
		SCENARIO("truncated_answer"),
		SCENARIO("priming"),
		SCENARIO("limit_cname"),
		SCENARIO("holddown"),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

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

#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_writer.h"
#include "replay.h"
#include "rsv_iter.h"

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
		GOOD_REPLY "CHECK_ANSWER\n ANSWER\n www.example.com. 1 IN A 192.0.2.7\nEND\n",
		err, sizeof(err)), 0);
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

static void *t_alloc(void *ctx, size_t n) { (void)ctx; return test_malloc(n); }
static void t_free(void *ctx, void *p) { (void)ctx; test_free(p); }
static const struct dns_mm tmm = { t_alloc, t_free, NULL };

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

/* One test named after its scenario file. */
#define SCENARIO(n) { n, run_scenario, NULL, NULL, (void *)(n) }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runner_catches_differences),
		cmocka_unit_test(test_ids_and_case_random),
		cmocka_unit_test(test_begin_rejects),
		SCENARIO("referral_walk"),
		SCENARIO("glueless"),
		SCENARIO("cname_zones"),
		SCENARIO("dname"),
		SCENARIO("nxdomain"),
		SCENARIO("nodata"),
		SCENARIO("qmin_fallback"),
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

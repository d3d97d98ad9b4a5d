/*
 * test_select.c -- server selection: RTT smoothing (RFC 6298), backoff, hold-
 * down, preference for the fastest, exploration, quirks; root hints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns_err.h"
#include "dns_mem.h"
#include "dns_name.h"
#include "hints_fixture.h"
#include "rsv_hints.h"
#include "rsv_select.h"
#include "test_mm.h"


static struct rsv_addr addr(const char *s)
{
	struct rsv_addr a;
	assert_int_equal(rsv_addr_parse(s, &a), 0);
	return a;
}

static struct rsv_select *mk(unsigned explore)
{
	struct rsv_select_opts o;
	rsv_select_opts_default(&o);
	o.explore_permille = explore;
	o.tie_random = false;
	struct rsv_select *s;
	assert_int_equal(rsv_select_new(&tmm, &o, &s), 0);
	return s;
}

static void test_addr_parse(void **state)
{
	(void)state;
	char buf[64];
	struct rsv_addr a = addr("192.0.2.1");
	assert_int_equal(a.family, 4);
	assert_int_equal(a.port, 53);
	a = addr("192.0.2.1@5300");
	assert_int_equal(a.port, 5300);
	assert_string_equal(rsv_addr_str(&a, buf, sizeof(buf)), "192.0.2.1@5300");
	a = addr("[2001:db8::1]:5353");
	assert_int_equal(a.family, 6);
	assert_int_equal(a.port, 5353);
	assert_string_equal(rsv_addr_str(&a, buf, sizeof(buf)), "[2001:db8::1]:5353");
	a = addr("2001:db8::1");
	assert_int_equal(a.port, 53);
	struct rsv_addr b;
	assert_int_equal(rsv_addr_parse("nonsense", &b), DNS_E_SYNTAX);
	assert_int_equal(rsv_addr_parse("192.0.2.1@0", &b), DNS_E_SYNTAX);
	assert_true(rsv_addr_eq(&a, &a));
	b = addr("2001:db8::1@54");
	assert_false(rsv_addr_eq(&a, &b));
}

static void test_rtt_smoothing(void **state)
{
	(void)state;
	struct rsv_select *s = mk(0);
	struct rsv_addr a = addr("192.0.2.1");
	struct rsv_srv_info in;
	rsv_select_get(s, &a, 0, &in);
	assert_false(in.known);
	assert_int_equal(in.rto, 400); /* unknown: rto_init */
	rsv_select_rtt(s, &a, 100, 0);
	rsv_select_get(s, &a, 0, &in);
	/* RFC 6298 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR */
	assert_int_equal(in.srtt, 100);
	assert_int_equal(in.rttvar, 50);
	assert_int_equal(in.rto, 300);
	rsv_select_rtt(s, &a, 20, 0);
	rsv_select_get(s, &a, 0, &in);
	/* RFC 6298 2.3: RTTVAR = 3/4 50 + 1/4 |100-20| = 57; SRTT = 7/8 100 + 1/8 20 = 90 */
	assert_int_equal(in.rttvar, 57);
	assert_int_equal(in.srtt, 90);
	assert_int_equal(in.rto, 90 + 4 * 57);
	/* a very fast server still gets rto_min */
	struct rsv_addr b = addr("192.0.2.2");
	rsv_select_rtt(s, &b, 0, 0);
	assert_int_equal(rsv_select_timeout_ms(s, &b, 0), 50);
	rsv_select_free(s);
}

/*
 * A table of one set (4 slots): four servers that share it all keep their
 * RTTs; a fifth replaces the one updated longest ago, not the busiest.
 */
static void test_set_associative(void **state)
{
	(void)state;
	struct rsv_select_opts o;
	rsv_select_opts_default(&o);
	o.slots = 4;
	struct rsv_select *s;
	assert_int_equal(rsv_select_new(&tmm, &o, &s), 0);
	struct rsv_addr a[5] = { addr("192.0.2.1"), addr("192.0.2.2"), addr("192.0.2.3"),
		addr("2001:db8::4"), addr("192.0.2.5") };
	struct rsv_srv_info in;
	for (unsigned i = 0; i < 4; i++)
		rsv_select_rtt(s, &a[i], 10 * (i + 1), 100 + i);
	for (unsigned i = 0; i < 4; i++) {
		rsv_select_get(s, &a[i], 200, &in);
		assert_true(in.known);
		assert_int_equal(in.srtt, 10 * (i + 1));
	}
	/* a[0] is updated again: a[1] is now the least recently updated */
	rsv_select_rtt(s, &a[0], 10, 300);
	rsv_select_timeout(s, &a[4], 400);
	rsv_select_get(s, &a[1], 500, &in);
	assert_false(in.known);
	rsv_select_get(s, &a[0], 500, &in);
	assert_true(in.known);
	rsv_select_get(s, &a[4], 500, &in);
	assert_true(in.known);
	assert_int_equal(in.timeouts, 1);
	for (unsigned i = 2; i < 4; i++) {
		rsv_select_get(s, &a[i], 500, &in);
		assert_int_equal(in.srtt, 10 * (i + 1));
	}
	rsv_select_free(s);
}

static void test_backoff_and_holddown(void **state)
{
	(void)state;
	struct rsv_select *s = mk(0);
	struct rsv_addr a = addr("192.0.2.1");
	struct rsv_srv_info in;
	uint32_t want[] = { 800, 1600, 3200, 6400, 10000, 10000 };
	for (unsigned i = 0; i < 6; i++) {
		rsv_select_timeout(s, &a, 1000);
		rsv_select_get(s, &a, 1000, &in);
		assert_int_equal(in.rto, want[i]);
		assert_int_equal(in.timeouts, i + 1);
		/* held down from the third timeout in a row, for hold_ms */
		if (i + 1 >= 3)
			assert_int_equal(in.held_until, 1000 + 15000);
		else
			assert_int_equal(in.held_until, 0);
	}
	/* the hold-down ends */
	rsv_select_get(s, &a, 1000 + 15000, &in);
	assert_int_equal(in.held_until, 0);
	/* an answer clears timeouts and hold-down */
	rsv_select_timeout(s, &a, 20000);
	rsv_select_rtt(s, &a, 40, 20001);
	rsv_select_get(s, &a, 20001, &in);
	assert_int_equal(in.timeouts, 0);
	assert_int_equal(in.held_until, 0);
	rsv_select_free(s);
}

static void test_choose(void **state)
{
	(void)state;
	struct rsv_select *s = mk(0);
	struct dns_rng rng;
	struct dns_rng_seeded seed;
	dns_rng_seeded_init(&rng, &seed, 1);
	struct rsv_addr c[3] = { addr("192.0.2.1"), addr("192.0.2.2"), addr("192.0.2.3") };
	/* all unknown: the first (no random ties here) */
	assert_int_equal(rsv_select_choose(s, c, 3, NULL, &rng, 0), 0);
	/* the fastest measured wins */
	rsv_select_rtt(s, &c[0], 200, 0);
	rsv_select_rtt(s, &c[1], 30, 0);
	rsv_select_rtt(s, &c[2], 90, 0);
	assert_int_equal(rsv_select_choose(s, c, 3, NULL, &rng, 0), 1);
	/* skipped candidates are never picked */
	bool skip[3] = { false, true, false };
	assert_int_equal(rsv_select_choose(s, c, 3, skip, &rng, 0), 2);
	bool all[3] = { true, true, true };
	assert_int_equal(rsv_select_choose(s, c, 3, all, &rng, 0), -1);
	/* a held-down server is passed over, even if it was fastest */
	for (int i = 0; i < 3; i++)
		rsv_select_timeout(s, &c[1], 100);
	assert_int_equal(rsv_select_choose(s, c, 3, NULL, &rng, 200), 2);
	/* all held down: the one released first */
	for (int i = 0; i < 3; i++)
		rsv_select_timeout(s, &c[2], 300);
	for (int i = 0; i < 3; i++)
		rsv_select_timeout(s, &c[0], 200);
	assert_int_equal(rsv_select_choose(s, c, 3, NULL, &rng, 400), 1);
	rsv_select_free(s);
}

static void test_explore(void **state)
{
	(void)state;
	/* 100 permille: about a tenth of the choices go to a random candidate */
	struct rsv_select *s = mk(100);
	struct dns_rng rng;
	struct dns_rng_seeded seed;
	dns_rng_seeded_init(&rng, &seed, 7);
	struct rsv_addr c[2] = { addr("192.0.2.1"), addr("192.0.2.2") };
	rsv_select_rtt(s, &c[0], 10, 0);
	rsv_select_rtt(s, &c[1], 300, 0);
	unsigned slow = 0;
	for (int i = 0; i < 10000; i++)
		slow += rsv_select_choose(s, c, 2, NULL, &rng, 0) == 1;
	/* explored 10% of the time, half of which picks the slow one: ~500 */
	assert_in_range(slow, 350, 650);
	rsv_select_free(s);
	/* no exploration: never the slow one */
	s = mk(0);
	rsv_select_rtt(s, &c[0], 10, 0);
	rsv_select_rtt(s, &c[1], 300, 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rsv_select_choose(s, c, 2, NULL, &rng, 0), 0);
	rsv_select_free(s);
}

static void test_random_ties(void **state)
{
	(void)state;
	struct rsv_select_opts o;
	rsv_select_opts_default(&o);
	o.explore_permille = 0;
	struct rsv_select *s;
	assert_int_equal(rsv_select_new(&tmm, &o, &s), 0);
	struct dns_rng rng;
	struct dns_rng_seeded seed;
	dns_rng_seeded_init(&rng, &seed, 3);
	struct rsv_addr c[4] = { addr("192.0.2.1"), addr("192.0.2.2"), addr("192.0.2.3"),
		addr("192.0.2.4") };
	unsigned hits[4] = { 0 };
	for (int i = 0; i < 4000; i++)
		hits[rsv_select_choose(s, c, 4, NULL, &rng, 0)]++;
	/* equal unknown servers share the load (no "always a.root") */
	for (int i = 0; i < 4; i++)
		assert_in_range(hits[i], 800, 1200);
	rsv_select_free(s);
}

static void test_quirks(void **state)
{
	(void)state;
	struct rsv_select *s = mk(0);
	struct rsv_addr a = addr("192.0.2.1");
	struct rsv_srv_info in;
	rsv_select_set_quirk(s, &a, RSV_QUIRK_NO_EDNS, 0);
	rsv_select_get(s, &a, 0, &in);
	assert_true(in.no_edns);
	assert_false(in.no_0x20);
	rsv_select_set_quirk(s, &a, RSV_QUIRK_NO_0X20, 0);
	rsv_select_get(s, &a, 0, &in);
	assert_true(in.no_edns && in.no_0x20);
	/* the quirks survive RTT updates */
	rsv_select_rtt(s, &a, 10, 0);
	rsv_select_get(s, &a, 0, &in);
	assert_true(in.no_edns && in.no_0x20);
	rsv_select_free(s);
}

static void test_hints_builtin(void **state)
{
	(void)state;
	struct rsv_hints h;
	rsv_hints_builtin(&h);
	assert_int_equal(h.count, 26); /* 13 servers, IPv4 and IPv6 */
	char buf[64], nb[DNS_NAME_TEXT_MAX];
	dns_name_to_str(h.hint[0].name, nb, sizeof(nb));
	assert_string_equal(nb, "a.root-servers.net.");
	assert_string_equal(rsv_addr_str(&h.hint[0].addr, buf, sizeof(buf)), "198.41.0.4");
	assert_string_equal(rsv_addr_str(&h.hint[3].addr, buf, sizeof(buf)), "2801:1b8:10::b");
}

static void test_hints_parse(void **state)
{
	(void)state;
	struct rsv_hints h;
	unsigned line = 0;
	const char *text = HINTS_FIXTURE;
	assert_int_equal(rsv_hints_parse(&h, text, 5300, &line), 0);
	assert_int_equal(h.count, 3);
	char buf[64], nb[DNS_NAME_TEXT_MAX];
	dns_name_to_str(h.hint[0].name, nb, sizeof(nb));
	assert_string_equal(nb, "a.root.test.");
	assert_string_equal(rsv_addr_str(&h.hint[0].addr, buf, sizeof(buf)), "127.53.0.1@5300");
	assert_string_equal(rsv_addr_str(&h.hint[2].addr, buf, sizeof(buf)), "127.53.0.2@5300");
	/* a bad line: syntax error with its number, h unchanged */
	assert_int_equal(rsv_hints_parse(&h, ". NS a.root.test.\nthis is not a record\n", 53, &line),
		DNS_E_SYNTAX);
	assert_int_equal(line, 2);
	assert_int_equal(h.count, 3);
	/* no address for any NS */
	assert_int_equal(rsv_hints_parse(&h, ". NS a.root.test.\n", 53, NULL), DNS_E_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_rtt_smoothing),
		cmocka_unit_test(test_set_associative),
		cmocka_unit_test(test_backoff_and_holddown),
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_explore),
		cmocka_unit_test(test_random_ties),
		cmocka_unit_test(test_quirks),
		cmocka_unit_test(test_hints_builtin),
		cmocka_unit_test(test_hints_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

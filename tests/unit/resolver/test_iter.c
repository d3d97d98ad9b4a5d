/*
 * test_iter.c -- the iterator driven by scripted upstream answers and a fake
 * clock: one cmocka test per scenario in tests/fixtures/replay/ (see replay.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "replay.h"

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

/* One test named after its scenario file. */
#define SCENARIO(n) { n, run_scenario, NULL, NULL, (void *)(n) }

int main(void)
{
	const struct CMUnitTest tests[] = {
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

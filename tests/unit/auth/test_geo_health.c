/*
 * Unit tests of geo_health: the rise/fall state machine of one replica's
 * health check, driven with a fake clock (the times passed in are all the
 * machine sees).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "geo_health.h"

static struct geo_check check_of(uint8_t rise, uint8_t fall)
{
	struct geo_check c;
	memset(&c, 0, sizeof(c));
	c.kind = GEO_CHECK_TCP;
	c.rise = rise;
	c.fall = fall;
	c.interval_ms = 1000;
	c.timeout_ms = 500;
	return c;
}

static void starts_up(void **state)
{
	struct geo_health h;
	(void)state;
	memset(&h, 0xa5, sizeof(h));
	geo_health_init(&h);
	assert_true(h.up);
	assert_int_equal(h.since_ms, 0);
	assert_int_equal(h.checks, 0);
	assert_int_equal(h.failures, 0);
	assert_int_equal(h.ok_run, 0);
	assert_int_equal(h.fail_run, 0);
}

/* up -> down after exactly fall failures; the change time is the last report's. */
static void falls_after_fall_failures(void **state)
{
	struct geo_check c = check_of(2, 3);
	struct geo_health h;
	uint64_t now = 10000;
	(void)state;
	geo_health_init(&h);
	assert_false(geo_health_report(&h, &c, false, 500, now += 1000));
	assert_true(h.up);
	assert_false(geo_health_report(&h, &c, false, 500, now += 1000));
	assert_true(h.up);
	assert_true(geo_health_report(&h, &c, false, 500, now += 1000));
	assert_false(h.up);
	assert_int_equal(h.since_ms, 13000);
	/* further failures change nothing */
	assert_false(geo_health_report(&h, &c, false, 500, now += 1000));
	assert_false(h.up);
	assert_int_equal(h.since_ms, 13000);
}

/* A success between failures starts the count again. */
static void success_resets_failures(void **state)
{
	struct geo_check c = check_of(2, 3);
	struct geo_health h;
	uint64_t now = 0;
	(void)state;
	geo_health_init(&h);
	assert_false(geo_health_report(&h, &c, false, 1, now += 100));
	assert_false(geo_health_report(&h, &c, false, 1, now += 100));
	assert_false(geo_health_report(&h, &c, true, 1, now += 100));
	assert_false(geo_health_report(&h, &c, false, 1, now += 100));
	assert_false(geo_health_report(&h, &c, false, 1, now += 100));
	assert_true(h.up);
	assert_true(geo_health_report(&h, &c, false, 1, now += 100));
	assert_false(h.up);
	assert_int_equal(h.since_ms, 600);
}

/* down -> up after exactly rise successes; a failure in between resets. */
static void rises_after_rise_successes(void **state)
{
	struct geo_check c = check_of(3, 1);
	struct geo_health h;
	uint64_t now = 0;
	(void)state;
	geo_health_init(&h);
	assert_true(geo_health_report(&h, &c, false, 7, now += 100));
	assert_false(h.up);
	assert_false(geo_health_report(&h, &c, true, 7, now += 100));
	assert_false(geo_health_report(&h, &c, true, 7, now += 100));
	assert_false(geo_health_report(&h, &c, false, 7, now += 100));
	assert_false(h.up);
	assert_false(geo_health_report(&h, &c, true, 7, now += 100));
	assert_false(geo_health_report(&h, &c, true, 7, now += 100));
	assert_false(h.up);
	assert_true(geo_health_report(&h, &c, true, 7, now += 100));
	assert_true(h.up);
	assert_int_equal(h.since_ms, 700);
	assert_false(geo_health_report(&h, &c, true, 7, now += 100));
	assert_true(h.up);
}

static void counts_checks_and_failures(void **state)
{
	struct geo_check c = check_of(2, 2);
	struct geo_health h;
	uint64_t now = 0;
	(void)state;
	geo_health_init(&h);
	bool res[] = {true, false, true, false, false, false, true, true, true};
	unsigned fails = 0;
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		geo_health_report(&h, &c, res[i], (uint32_t)(10 + i), now += 50);
		fails += !res[i];
	}
	assert_int_equal(h.checks, 9);
	assert_int_equal(h.failures, fails);
	assert_int_equal(h.last_ms, 18);
	assert_true(h.up);
	/* went down at the 5th result (t=250), up again at the 8th (t=400) */
	assert_int_equal(h.since_ms, 400);
}

/* rise = fall = 1: every change of result changes the state. */
static void rise_fall_one(void **state)
{
	struct geo_check c = check_of(1, 1);
	struct geo_health h;
	(void)state;
	geo_health_init(&h);
	assert_false(geo_health_report(&h, &c, true, 1, 1));
	assert_true(geo_health_report(&h, &c, false, 1, 2));
	assert_false(h.up);
	assert_false(geo_health_report(&h, &c, false, 1, 3));
	assert_true(geo_health_report(&h, &c, true, 1, 4));
	assert_true(h.up);
	assert_true(geo_health_report(&h, &c, false, 1, 5));
	assert_int_equal(h.since_ms, 5);
	assert_int_equal(h.checks, 5);
	assert_int_equal(h.failures, 3);
}

/* The largest runs the map allows (255) do not overflow the run counters. */
static void long_runs(void **state)
{
	struct geo_check c = check_of(255, 255);
	struct geo_health h;
	(void)state;
	geo_health_init(&h);
	for (unsigned i = 1; i < 255; i++)
		assert_false(geo_health_report(&h, &c, false, 1, i));
	assert_true(geo_health_report(&h, &c, false, 1, 255));
	for (unsigned i = 1; i < 255; i++)
		assert_false(geo_health_report(&h, &c, true, 1, 1000 + i));
	assert_true(geo_health_report(&h, &c, true, 1, 2000));
	assert_true(h.up);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(starts_up),
		cmocka_unit_test(falls_after_fall_failures),
		cmocka_unit_test(success_resets_failures),
		cmocka_unit_test(rises_after_rise_successes),
		cmocka_unit_test(counts_checks_and_failures),
		cmocka_unit_test(rise_fall_one),
		cmocka_unit_test(long_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

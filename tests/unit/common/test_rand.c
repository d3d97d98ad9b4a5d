/*
 * test_rand.c -- getrandom-based randomness and the seeded test generator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dns_rand.h"
#include "dns_rng.h"

static void test_bytes(void **state)
{
	uint8_t a[64], b[64], big[4096], zero[64] = { 0 };
	dns_rand_bytes(a, sizeof(a));
	dns_rand_bytes(b, sizeof(b));
	/* 512 random bits equal by chance: never */
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
	/* a large request (straight from the kernel) and many small ones across buffer refills */
	memset(big, 0, sizeof(big));
	dns_rand_bytes(big, sizeof(big));
	assert_memory_not_equal(big + 4000, zero, 64);
	unsigned seen[256] = { 0 };
	for (int i = 0; i < 100000; i++) {
		uint8_t x;
		dns_rand_bytes(&x, 1);
		seen[x]++;
	}
	for (int i = 0; i < 256; i++)
		assert_true(seen[i] > 200 && seen[i] < 600); /* mean 390, sd ~20 */
	dns_rand_bytes(NULL, 0);
}

static void test_uniform(void **state)
{
	unsigned counts[3] = { 0 };
	assert_int_equal(dns_rand_uniform(0), 0);
	assert_int_equal(dns_rand_uniform(1), 0);
	for (int i = 0; i < 30000; i++) {
		uint32_t v = dns_rand_uniform(3);
		assert_true(v < 3);
		counts[v]++;
	}
	for (int i = 0; i < 3; i++)
		assert_true(counts[i] > 9000 && counts[i] < 11000);
	for (int i = 0; i < 1000; i++)
		assert_true(dns_rand_uniform(0x80000001u) < 0x80000001u);
	uint32_t x = dns_rand_u32(), y = dns_rand_u32(), z = dns_rand_u32();
	assert_false(x == y && y == z);
	/* the same source through the struct dns_rng interface */
	const struct dns_rng *rng = dns_rand_rng();
	assert_true(dns_rng_uniform(rng, 10) < 10);
}

static void test_seeded(void **state)
{
	struct dns_rng r1, r2, r3;
	struct dns_rng_seeded s1, s2, s3;
	uint8_t a[37], b[37], c[37];
	dns_rng_seeded_init(&r1, &s1, 42);
	dns_rng_seeded_init(&r2, &s2, 42);
	dns_rng_seeded_init(&r3, &s3, 43);
	dns_rng_bytes(&r1, a, sizeof(a));
	dns_rng_bytes(&r2, b, sizeof(b));
	dns_rng_bytes(&r3, c, sizeof(c));
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
	assert_int_equal(dns_rng_u32(&r1), dns_rng_u32(&r2));
	for (int i = 0; i < 1000; i++)
		assert_true(dns_rng_uniform(&r1, 7) < 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_seeded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_hash.c -- the shared hash functions and the intrusive list (dns_hash.h,
 * dns_list.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dns_hash.h"
#include "dns_list.h"

/* The published FNV-1a test vectors (the empty string and "a", "foobar"). */
static void test_fnv(void **state)
{
	assert_int_equal(dns_fnv32(DNS_FNV32_INIT, "", 0), 0x811c9dc5u);
	assert_int_equal(dns_fnv32(DNS_FNV32_INIT, "a", 1), 0xe40c292cu);
	assert_int_equal(dns_fnv32(DNS_FNV32_INIT, "foobar", 6), 0xbf9cf968u);
	assert_true(dns_fnv64(DNS_FNV64_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(dns_fnv64(DNS_FNV64_INIT, "foobar", 6) == 0x85944171f73967e8ull);
	/* continuing a hash is hashing the concatenation */
	uint32_t h = dns_fnv32(dns_fnv32(DNS_FNV32_INIT, "foo", 3), "bar", 3);
	assert_int_equal(h, 0xbf9cf968u);
}

/*
 * SipHash-1-3 under the zero key, against Rust's std DefaultHasher (SipHash-1-3, key
 * 0, fed with Hasher::write), an implementation independent of ours.
 */
static void test_siphash(void **state)
{
	static const uint8_t zero[16];
	static const uint8_t name[] = "\x03" "www" "\x07" "example" "\x03" "com";
	assert_true(dns_siphash13(zero, "", 0) == 0xd1fba762150c532cull);
	assert_true(dns_siphash13(zero, "a", 1) == 0x407448d2b89b1813ull);
	assert_true(dns_siphash13(zero, "abcdefgh", 8) == 0x3f7b849c0b8e35eaull);
	assert_true(dns_siphash13(zero, name, sizeof(name)) == 0x8f7953d3bcaad838ull);
	/* another key, another hash */
	uint8_t key[16] = { 1 };
	assert_true(dns_siphash13(key, "a", 1) != dns_siphash13(zero, "a", 1));
}

struct item {
	struct item *prev, *next;
	int v;
};

static void test_list(void **state)
{
	struct item a = { .v = 1 }, b = { .v = 2 }, c = { .v = 3 };
	struct item *head = NULL;
	DNS_LIST_PUSH(head, &a);
	DNS_LIST_PUSH(head, &b);
	DNS_LIST_PUSH(head, &c);
	assert_ptr_equal(head, &c);
	assert_ptr_equal(c.next, &b);
	assert_ptr_equal(b.next, &a);
	assert_ptr_equal(a.prev, &b);
	DNS_LIST_UNLINK(head, &b); /* the middle */
	assert_ptr_equal(c.next, &a);
	assert_ptr_equal(a.prev, &c);
	assert_null(b.prev);
	assert_null(b.next);
	DNS_LIST_UNLINK(head, &c); /* the head */
	assert_ptr_equal(head, &a);
	assert_null(a.prev);
	DNS_LIST_UNLINK(head, &a); /* the last */
	assert_null(head);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fnv),
		cmocka_unit_test(test_siphash),
		cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

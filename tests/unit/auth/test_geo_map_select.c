/*
 * Unit tests of selection and the placement tree of the steering map
 * (geo_map.h): distances, the nearest datacenter, operator networks, country
 * and continent defaults, merged leaves and ECS scopes, 6to4 clients, a large
 * tree and its jump tables, and selection with health (weights, failover, fail
 * open, degraded TTL, NODATA). The in-memory GeoIP database and the test map
 * are in geo_map_helpers.h; randomness from a seeded dns_rng. No sockets, no
 * files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "dns_rng.h"
#include "geo_map_helpers.h"
#include "geo_map_impl.h" /* test_large_tree checks the jump tables exist */

static void test_distance(void **state)
{
	(void)state;
	/* London - Paris ~ 344 km, London - New York ~ 5570 km */
	assert_true(fabs(geo_distance_km(51.5074, -0.1278, 48.8566, 2.3522) - 343.5) < 2);
	assert_true(fabs(geo_distance_km(51.5074, -0.1278, 40.7128, -74.0060) - 5570) < 10);
	assert_true(geo_distance_km(10, 20, 10, 20) == 0);
	/* antipodes: half the circumference */
	assert_true(fabs(geo_distance_km(0, 0, 0, 180) - M_PI * 6371) < 1);
}
static void test_nearest(void **state)
{
	struct geo_map *m = *state;
	struct geo_answer a = pick(m, "www.cdn.test", QT_A, "81.2.69.142", -1, NULL);
	assert_string_equal(first_dc(m, &a), "eu-london");
	assert_int_equal(a.by, GEO_BY_GEOIP);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.ttl, 30);
	assert_false(a.degraded);
	a = pick(m, "www.cdn.test", QT_A, "216.160.83.56", -1, NULL);
	assert_string_equal(first_dc(m, &a), "us-west");
	a = pick(m, "www.cdn.test", QT_A, "203.0.113.200", -1, NULL);
	assert_string_equal(first_dc(m, &a), "us-east");
	/* Stockholm: London is nearer than New York */
	a = pick(m, "all.cdn.test", QT_A, "89.160.20.1", -1, NULL);
	assert_int_equal(a.n, 3);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "eu-london");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "us-east");
	assert_string_equal(geo_map_dc(m, a.dc[2])->name, "us-west");
	/* the pool skips what it does not hold */
	a = pick(m, "east.cdn.test", QT_A, "81.2.69.142", -1, NULL);
	assert_string_equal(first_dc(m, &a), "us-east");
	/* IPv6 client, AAAA answer */
	a = pick(m, "www.cdn.test", QT_AAAA, "2001:db8:1::1", -1, NULL);
	assert_int_equal(a.rdlen, 16);
	assert_string_equal(first_dc(m, &a), "eu-london");
	char buf[INET6_ADDRSTRLEN];
	assert_string_equal(addr_str(&a, 0, buf), "2001:db8:60:1::1");
	/* not a steered type */
	struct geo_client c = client("81.2.69.142", -1, GEO_FROM_SOURCE);
	struct geo_health_view h = {NULL};
	assert_int_equal(geo_select(m, name(m, "www.cdn.test"), QT_MX, &c, h, &rng, &a), -EINVAL);
}

static void test_ties_map_order(void **state)
{
	(void)state;
	static const char json[] =
		"{\"datacenters\": ["
		" {\"name\": \"b\", \"lat\": 10, \"lon\": 10, \"replicas\": [{\"address\": \"127.60.9.2\"}]},"
		" {\"name\": \"a\", \"lat\": 10, \"lon\": 10, \"replicas\": [{\"address\": \"127.60.9.1\"}]},"
		" {\"name\": \"c\", \"lat\": 50, \"lon\": 0, \"replicas\": [{\"address\": \"127.60.9.3\"}]}],"
		" \"names\": {\"t.test\": {\"datacenters\": 3}},"
		" \"networks\": {\"192.0.2.0/24\": {\"lat\": 10, \"lon\": 10},"
		"   \"198.51.100.0/24\": {\"lat\": -10, \"lon\": 10}},"
		" \"defaults\": {\"order\": [\"c\"]}}";
	struct geo_map *m = load_map(json, NULL);
	struct geo_answer a = pick(m, "t.test", QT_A, "192.0.2.1", -1, NULL);
	assert_int_equal(a.n, 3);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "b");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "a");
	assert_string_equal(geo_map_dc(m, a.dc[2])->name, "c");
	/* equally far from a point both sit away from: map order again */
	a = pick(m, "t.test", QT_A, "198.51.100.1", -1, NULL);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "b");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "a");
	/* no GeoIP, no network: defaults.order then map order */
	a = pick(m, "t.test", QT_A, "8.8.8.8", -1, NULL);
	assert_int_equal(a.by, GEO_BY_DEFAULT);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "c");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "b");
	assert_string_equal(geo_map_dc(m, a.dc[2])->name, "a");
	geo_map_free(m);
}

static void test_weights(void **state)
{
	struct geo_map *m = *state;
	unsigned heavy = 0;
	const unsigned draws = 4000;
	char buf[INET6_ADDRSTRLEN];
	for (unsigned i = 0; i < draws; i++) {
		struct geo_answer a = pick(m, "www.cdn.test", QT_A, "216.160.83.56", -1, NULL);
		assert_int_equal(a.n, 1);
		assert_string_equal(first_dc(m, &a), "us-west");
		if (strcmp(addr_str(&a, 0, buf), "127.60.3.2") == 0)
			heavy++;
	}
	/* weights 1:3: p = 0.75, binomial sd = sqrt(n p (1-p)) ~ 27.4; allow 4 sd */
	double sd = sqrt(draws * 0.75 * 0.25);
	assert_true(fabs((double)heavy - draws * 0.75) < 4 * sd);
}

static void test_without_replacement(void **state)
{
	struct geo_map *m = *state;
	char b0[INET6_ADDRSTRLEN], b1[INET6_ADDRSTRLEN];
	unsigned heavy_first = 0;
	for (unsigned i = 0; i < 400; i++) {
		struct geo_answer a = pick(m, "west.cdn.test", QT_A, "81.2.69.142", -1, NULL);
		assert_int_equal(a.n, 2);
		assert_string_not_equal(addr_str(&a, 0, b0), addr_str(&a, 1, b1));
		if (strcmp(b0, "127.60.3.2") == 0)
			heavy_first++;
	}
	/* the heavier one comes first about 3 times in 4 */
	assert_true(heavy_first > 250 && heavy_first < 350);
	/* two DCs x two addresses: eu-london has two IPv4 replicas, us-east one */
	struct geo_answer a = pick(m, "two.cdn.test", QT_A, "81.2.69.142", -1, NULL);
	assert_int_equal(a.n, 3);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "eu-london");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "eu-london");
	assert_string_equal(geo_map_dc(m, a.dc[2])->name, "us-east");
	assert_string_not_equal(addr_str(&a, 0, b0), addr_str(&a, 1, b1));
}

static void test_overrides(void **state)
{
	struct geo_map *m = *state;
	/* an operator network beats GeoIP (Paris would be London) */
	struct geo_answer a = pick(m, "www.cdn.test", QT_A, "192.0.2.1", -1, NULL);
	assert_int_equal(a.by, GEO_BY_NETWORK);
	assert_string_equal(first_dc(m, &a), "us-west");
	a = pick(m, "www.cdn.test", QT_A, "192.0.2.200", -1, NULL);
	assert_int_equal(a.by, GEO_BY_GEOIP);
	assert_string_equal(first_dc(m, &a), "eu-london");
	assert_int_equal(a.scope, 25);
	/* the most specific network wins */
	a = pick(m, "www.cdn.test", QT_A, "10.1.2.3", -1, NULL);
	assert_string_equal(first_dc(m, &a), "us-east");
	assert_int_equal(a.scope, 16);
	a = pick(m, "www.cdn.test", QT_A, "10.2.0.1", -1, NULL);
	assert_string_equal(first_dc(m, &a), "us-west");
	/* the listed datacenters first, then the rest in default order */
	a = pick(m, "all.cdn.test", QT_A, "10.1.0.1", -1, NULL);
	assert_int_equal(a.n, 3);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "us-east");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "us-west");
	assert_string_equal(geo_map_dc(m, a.dc[2])->name, "eu-london");
	/* a network with coordinates: by distance from there */
	a = pick(m, "all.cdn.test", QT_A, "172.16.5.5", -1, NULL);
	assert_int_equal(a.by, GEO_BY_NETWORK);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "us-east");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "us-west");
	/* IPv6: a network inside a GeoIP /48 takes its half */
	a = pick(m, "www.cdn.test", QT_AAAA, "2001:db8:2:8000::1", -1, NULL);
	assert_string_equal(first_dc(m, &a), "eu-london");
	assert_int_equal(a.scope, 49);
	a = pick(m, "www.cdn.test", QT_AAAA, "2001:db8:2::1", -1, NULL);
	assert_string_equal(first_dc(m, &a), "us-east");
	assert_int_equal(a.scope, 49);
	/* a GeoIP record naming a datacenter: that one first */
	a = pick(m, "all.cdn.test", QT_A, "100.65.1.1", -1, NULL);
	assert_int_equal(a.by, GEO_BY_GEOIP);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "us-west");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "eu-london"); /* then by distance */
	a = pick(m, "all.cdn.test", QT_A, "100.66.1.1", -1, NULL);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "us-east");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "us-west"); /* then default order */
}

static void test_country_continent_default(void **state)
{
	struct geo_map *m = *state;
	struct geo_answer a = pick(m, "all.cdn.test", QT_A, "100.64.1.1", -1, NULL);
	assert_int_equal(a.by, GEO_BY_COUNTRY);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "us-east");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "us-west");
	assert_string_equal(geo_map_dc(m, a.dc[2])->name, "eu-london");
	a = pick(m, "all.cdn.test", QT_A, "100.64.2.1", -1, NULL);
	assert_int_equal(a.by, GEO_BY_CONTINENT);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "us-west");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "eu-london");
	assert_string_equal(geo_map_dc(m, a.dc[2])->name, "us-east");
	/* FR/EU without coordinates: neither default exists */
	a = pick(m, "all.cdn.test", QT_A, "100.64.3.1", -1, NULL);
	assert_int_equal(a.by, GEO_BY_DEFAULT);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "us-west");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "us-east");
	assert_string_equal(geo_map_dc(m, a.dc[2])->name, "eu-london");
	a = pick(m, "all.cdn.test", QT_A, "100.64.4.1", -1, NULL);
	assert_int_equal(a.by, GEO_BY_DEFAULT);
	a = pick(m, "all.cdn.test", QT_A, "8.8.8.8", -1, NULL);
	assert_int_equal(a.by, GEO_BY_DEFAULT);
	a = pick(m, "all.cdn.test", QT_AAAA, "2001:db8:ffff::1", -1, NULL);
	assert_int_equal(a.by, GEO_BY_DEFAULT);
	assert_int_equal(a.n, 2); /* us-west has no IPv6 */
}

static void test_scope(void **state)
{
	struct geo_map *m = *state;
	/* two adjacent /25s with the same order merge into /24 */
	struct geo_answer a = pick(m, "www.cdn.test", QT_A, "198.51.100.7", 32, NULL);
	assert_string_equal(first_dc(m, &a), "eu-london");
	assert_int_equal(a.scope, 24);
	a = pick(m, "www.cdn.test", QT_A, "198.51.100.0", 24, NULL);
	assert_int_equal(a.scope, 24);
	/* a neighbour with a different order keeps them apart */
	a = pick(m, "www.cdn.test", QT_A, "203.0.113.7", 32, NULL);
	assert_string_equal(first_dc(m, &a), "eu-london");
	assert_int_equal(a.scope, 25);
	a = pick(m, "www.cdn.test", QT_A, "203.0.113.129", 32, NULL);
	assert_string_equal(first_dc(m, &a), "us-east");
	assert_int_equal(a.scope, 25);
	/* an ECS /24 there: bits past the source are zero, the leaf is longer
	 * (RFC 7871 7.2.1 allows a scope longer than the source) */
	a = pick(m, "www.cdn.test", QT_A, "203.0.113.0", 24, NULL);
	assert_string_equal(first_dc(m, &a), "eu-london");
	assert_int_equal(a.scope, 25);
	/* a wide default region has a short scope, never below 0 */
	a = pick(m, "www.cdn.test", QT_A, "8.8.8.8", 32, NULL);
	assert_true(a.scope <= 8);
	a = pick(m, "www.cdn.test", QT_A, "0.0.0.0", 0, NULL);
	assert_true(a.scope <= 32);
	/* IPv6 */
	a = pick(m, "www.cdn.test", QT_AAAA, "2001:db8:1::", 56, NULL);
	assert_string_equal(first_dc(m, &a), "eu-london");
	assert_int_equal(a.scope, 48);
	/* the same with the addresses given as IPv6 never become IPv4 scopes */
	a = pick(m, "www.cdn.test", QT_A, "::ffff:198.51.100.7", 128, NULL);
	assert_int_equal(a.scope, 120);
}

static void test_scope_merge_whole(void **state)
{
	(void)state;
	/* no GeoIP, no networks: the whole tree is one leaf, scope 0 */
	static const char json[] =
		"{\"datacenters\": [{\"name\": \"x\", \"lat\": 0, \"lon\": 0,"
		" \"replicas\": [{\"address\": \"127.60.9.1\"}]}], \"names\": {\"t.test\": {}}}";
	struct geo_map *m = load_map(json, NULL);
	size_t nodes, leaves;
	geo_map_tree_size(m, &nodes, &leaves);
	assert_int_equal(nodes, 0);
	assert_int_equal(leaves, 1);
	struct geo_answer a = pick(m, "t.test", QT_A, "81.2.69.1", 32, NULL);
	assert_int_equal(a.scope, 0);
	a = pick(m, "t.test", QT_A, "2001:db8::1", 128, NULL);
	assert_int_equal(a.scope, 0);
	geo_map_free(m);

	/* two adjacent /24s placed the same way merge into a /23 */
	static const struct mem_net same[] = {
		{"81.2.69.0/24", AT(51.5142, -0.0931, "GB", "EU", "London")},
		{"81.2.68.0/24", AT(51.5142, -0.0931, "GB", "EU", "London")},
	};
	struct mem_src ms = {same, 2};
	struct geo_source src = {mem_foreach, mem_lookup, "(memory)", &ms};
	m = load_map(json, &src);
	a = pick(m, "t.test", QT_A, "81.2.69.1", 32, NULL);
	assert_int_equal(a.scope, 23);
	assert_int_equal(a.by, GEO_BY_GEOIP);
	geo_map_tree_size(m, &nodes, &leaves);
	assert_int_equal(nodes, 96 + 23);
	geo_map_free(m);
}

static void test_health(void **state)
{
	struct geo_map *m = *state;
	uint8_t up[16];
	char buf[INET6_ADDRSTRLEN];
	memset(up, 1, sizeof(up));
	assert_true(geo_map_replicas(m) <= sizeof(up));
	/* a down replica is skipped, the DC's other one answers */
	up[rep_id(m, "127.60.1.1")] = 0;
	for (int i = 0; i < 20; i++) {
		struct geo_answer a = pick(m, "www.cdn.test", QT_A, "81.2.69.142", -1, up);
		assert_int_equal(a.n, 1);
		assert_string_equal(addr_str(&a, 0, buf), "127.60.1.2");
		assert_true(a.degraded);
		assert_false(a.fail_open);
		assert_int_equal(a.ttl, 10);
	}
	/* AAAA is not degraded by an IPv4 replica */
	struct geo_answer a = pick(m, "www.cdn.test", QT_AAAA, "81.2.69.142", -1, up);
	assert_false(a.degraded);
	assert_int_equal(a.ttl, 30);
	/* a whole DC down: the next nearest */
	up[rep_id(m, "127.60.1.2")] = 0;
	a = pick(m, "www.cdn.test", QT_A, "81.2.69.142", -1, up);
	assert_string_equal(first_dc(m, &a), "us-east");
	assert_true(a.degraded);
	assert_false(a.fail_open);
	/* a name whose pool is healthy is not degraded by other DCs */
	a = pick(m, "east.cdn.test", QT_A, "81.2.69.142", -1, up);
	assert_false(a.degraded);
	assert_int_equal(a.ttl, 30);
	/* degraded_ttl of the name */
	a = pick(m, "two.cdn.test", QT_A, "81.2.69.142", -1, up);
	assert_int_equal(a.ttl, 5);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "us-east");
	assert_string_equal(geo_map_dc(m, a.dc[1])->name, "us-west");
	/* everything down: fail open with the nearest */
	memset(up, 0, sizeof(up));
	a = pick(m, "www.cdn.test", QT_A, "81.2.69.142", -1, up);
	assert_true(a.fail_open);
	assert_true(a.degraded);
	assert_int_equal(a.n, 1);
	assert_string_equal(first_dc(m, &a), "eu-london");
	assert_int_equal(a.ttl, 10);
	a = pick(m, "two.cdn.test", QT_A, "81.2.69.142", -1, up);
	assert_int_equal(a.n, 3);
	assert_true(a.fail_open);
	/* NODATA: no IPv6 replica in the pool; scope still the leaf's */
	memset(up, 1, sizeof(up));
	a = pick(m, "west.cdn.test", QT_AAAA, "198.51.100.1", 32, up);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.scope, 24);
	assert_false(a.fail_open);
}
/* ---- a large tree (the jump tables of the lookup) --------------------------- */

/* 16384 IPv4 /24s in 100.0.0.0/10 and 16384 IPv6 /48s in 2a00:db8::/34 (minus a
 * hole every 5th), London or New York by a hash of their number. */
static bool grid_london(unsigned i) { return ((i * 2654435761u) >> 13) & 1; }
static bool grid_hole(unsigned i) { return i % 5 == 3; }

static int grid_foreach(void *ctx,
	int (*cb)(void *cbctx, const uint8_t addr[16], unsigned len, const struct geo_place *place),
	void *cbctx)
{
	static const struct geo_place lon = AT(51.5142, -0.0931, "GB", "EU", "London");
	static const struct geo_place ny = AT(40.7128, -74.0060, "US", "NA", "New York");
	for (unsigned i = 0; i < 16384; i++) {
		uint8_t a[16] = {0};
		if (grid_hole(i))
			continue;
		a[10] = a[11] = 0xff;
		a[12] = 100;
		a[13] = (uint8_t)(i >> 8);
		a[14] = (uint8_t)i;
		int rc = cb(cbctx, a, 96 + 24, grid_london(i) ? &lon : &ny);
		if (rc)
			return rc;
		memset(a, 0, 16);
		a[0] = 0x2a, a[1] = 0x00, a[2] = 0x0d, a[3] = 0xb8;
		a[4] = (uint8_t)(i >> 8);
		a[5] = (uint8_t)i;
		rc = cb(cbctx, a, 48, grid_london(i) ? &lon : &ny);
		if (rc)
			return rc;
	}
	return 0;
}

/* What the grid says for a tree address: 1 London, 2 New York, 0 nothing. */
static int grid_expect(const uint8_t *a, bool v4)
{
	unsigned i;
	if (v4) {
		if (a[12] != 100 || a[13] >= 64)
			return 0;
		i = (unsigned)a[13] << 8 | a[14];
	} else {
		if (a[0] != 0x2a || a[1] != 0x00 || a[2] != 0x0d || a[3] != 0xb8 || a[4] >= 64)
			return 0;
		i = (unsigned)a[4] << 8 | a[5];
	}
	if (grid_hole(i))
		return 0;
	return grid_london(i) ? 1 : 2;
}

static void test_large_tree(void **state)
{
	(void)state;
	struct geo_source src = {grid_foreach, NULL, "(grid)", NULL};
	struct geo_map *m = load_map(base_map, &src);
	size_t nodes, leaves;
	geo_map_tree_size(m, &nodes, &leaves);
	print_message("grid: %zu nodes, %zu leaves\n", nodes, leaves);
	assert_non_null(m->jump4);
	assert_non_null(m->jump6);
	struct dns_rng_seeded st;
	struct dns_rng r;
	dns_rng_seeded_init(&r, &st, 99);
	struct geo_health_view h = {NULL};
	const struct geo_name *n = name(m, "www.cdn.test");
	for (unsigned k = 0; k < 20000; k++) {
		struct geo_client c;
		struct geo_answer a, b;
		uint8_t t[16] = {0};
		memset(&c, 0, sizeof(c));
		c.family = k & 1 ? 6 : 4;
		unsigned bits = c.family == 4 ? 32 : 128;
		dns_rng_bytes(&r, c.addr, 16);
		/* aim at the grid most of the time */
		if (c.family == 4) {
			c.addr[0] = 100;
			c.addr[1] &= 127;
			memset(c.addr + 4, 0, 12);
		} else {
			c.addr[0] = 0x2a, c.addr[1] = 0x00, c.addr[2] = 0x0d, c.addr[3] = 0xb8;
			c.addr[4] &= 127;
		}
		c.prefix = (uint8_t)(k % 3 == 0 ? dns_rng_uniform(&r, bits + 1) : bits);
		c.from = c.prefix == bits ? GEO_FROM_SOURCE : GEO_FROM_ECS;
		for (unsigned x = c.prefix; x < bits; x++)
			c.addr[x >> 3] &= (uint8_t)~(0x80 >> (x & 7));
		if (c.family == 4) {
			t[10] = t[11] = 0xff;
			memcpy(t + 12, c.addr, 4);
		} else {
			memcpy(t, c.addr, 16);
		}
		int want = grid_expect(t, c.family == 4);
		assert_int_equal(geo_select(m, n, QT_A, &c, h, &r, &a), 0);
		const char *dc = first_dc(m, &a);
		if (strcmp(dc, want == 1 ? "eu-london" : want == 2 ? "us-east" : "us-west") != 0)
			fail_msg("client %u/%u: got %s, want %d", k, c.prefix, dc, want);
		assert_int_equal(a.by, want ? GEO_BY_GEOIP : GEO_BY_DEFAULT);
		assert_true(a.scope <= bits);
		/* every address inside the scope gets the same answer */
		struct geo_client o = c;
		o.prefix = (uint8_t)bits;
		o.from = GEO_FROM_SOURCE;
		dns_rng_bytes(&r, o.addr, 16);
		for (unsigned x = 0; x < a.scope; x++) {
			uint8_t bit = (uint8_t)(0x80 >> (x & 7));
			o.addr[x >> 3] = (uint8_t)((o.addr[x >> 3] & ~bit) | (c.addr[x >> 3] & bit));
		}
		if (c.family == 4)
			memset(o.addr + 4, 0, 12);
		assert_int_equal(geo_select(m, n, QT_A, &o, h, &r, &b), 0);
		assert_string_equal(first_dc(m, &b), dc);
		assert_int_equal(b.by, a.by);
		if (c.prefix == bits)
			assert_int_equal(b.scope, a.scope);
	}
	geo_map_free(m);
}

/* 6to4 clients (RFC 3056) are placed as the IPv4 address they embed. */
static void test_6to4(void **state)
{
	struct geo_map *m = *state;
	/* 2002:5102:458e:: embeds 81.2.69.142 (London, a /24 in the database) */
	struct geo_answer a = pick(m, "www.cdn.test", QT_AAAA, "2002:5102:458e::", 48, NULL);
	assert_string_equal(first_dc(m, &a), "eu-london");
	assert_int_equal(a.by, GEO_BY_GEOIP);
	assert_int_equal(a.scope, 16 + 24);
	a = pick(m, "www.cdn.test", QT_A, "2002:5102:458e::1", -1, NULL);
	assert_string_equal(first_dc(m, &a), "eu-london");
	assert_int_equal(a.scope, 40);
	/* a short source prefix: the IPv4 bits it has, zeros after */
	a = pick(m, "www.cdn.test", QT_A, "2002:cb00:7100::", 40, NULL);
	assert_string_equal(first_dc(m, &a), "eu-london"); /* 203.0.113.0/25 */
	assert_int_equal(a.scope, 16 + 25);
	/* an operator network applies through its IPv4 form */
	a = pick(m, "www.cdn.test", QT_A, "2002:0a01:0203::", 48, NULL);
	assert_int_equal(a.by, GEO_BY_NETWORK);
	assert_string_equal(first_dc(m, &a), "us-east"); /* 10.1.0.0/16 */
	assert_int_equal(a.scope, 16 + 16);
	/* shorter than 2002::/16 itself: an ordinary IPv6 client */
	a = pick(m, "www.cdn.test", QT_A, "2000::", 8, NULL);
	assert_int_equal(a.by, GEO_BY_DEFAULT);
	assert_true(a.scope <= 16);
	char buf[2048];
	struct geo_client c = client("2002:5102:458e::", 48, GEO_FROM_ECS);
	struct geo_health_view h = {NULL};
	geo_explain(m, name(m, "www.cdn.test"), QT_A, &c, h, &rng, buf, sizeof(buf));
	assert_non_null(strstr(buf, "6to4 (RFC 3056): placed as IPv4 81.2.69.142/32\n"));
	assert_non_null(strstr(buf, "placed by geoip: GeoIP 81.2.69.0/24 London GB EU"));
	assert_non_null(strstr(buf, "tree prefix /40 -> scope 40"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distance),
		cmocka_unit_test_setup_teardown(test_nearest, setup, teardown),
		cmocka_unit_test(test_ties_map_order),
		cmocka_unit_test_setup_teardown(test_weights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_replacement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_country_continent_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope, setup, teardown),
		cmocka_unit_test(test_scope_merge_whole),
		cmocka_unit_test_setup_teardown(test_health, setup, teardown),
		cmocka_unit_test_setup_teardown(test_6to4, setup, teardown),
		cmocka_unit_test(test_large_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the steering map's explanations (geo_explain, what
 * `cairn-auth --explain` prints) and of carrying replica health over a reload
 * (geo_map_carry_health). The in-memory GeoIP database and the test map are in
 * geo_map_helpers.h. No sockets, no files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns_rng.h"
#include "geo_map_helpers.h"

static void test_explain(void **state)
{
	struct geo_map *m = *state;
	uint8_t up[16];
	char buf[2048];
	memset(up, 1, sizeof(up));
	up[rep_id(m, "127.60.1.2")] = 0;
	struct geo_client c = client("81.2.69.0", 24, GEO_FROM_ECS);
	struct geo_health_view h = {up};
	struct dns_rng_seeded s1, s2;
	struct dns_rng r1, r2;
	dns_rng_seeded_init(&r1, &s1, 7);
	dns_rng_seeded_init(&r2, &s2, 7);
	size_t len = geo_explain(m, name(m, "www.cdn.test"), QT_A, &c, h, &r1, buf, sizeof(buf));
	assert_int_equal(len, strlen(buf));
	print_message("%s", buf);
	assert_non_null(strstr(buf, "name www.cdn.test. A, client 81.2.69.0/24 (ECS)\n"));
	assert_non_null(strstr(buf, "placed by geoip: GeoIP 81.2.69.0/24 London GB EU (51.5142, -0.0931)"));
	assert_non_null(strstr(buf, "scope 24"));
	assert_non_null(strstr(buf, "datacenters in order (pool of 3):\n"));
	assert_non_null(strstr(buf, "  1. eu-london 3 km: 127.60.1.1 up, 127.60.1.2 down\n"));
	assert_non_null(strstr(buf, "  2. us-east 5572 km: 127.60.2.1 up\n"));
	assert_non_null(strstr(buf, "answer: 127.60.1.1 (eu-london), ttl 10 (degraded), scope 24\n"));
	/* the answer is the one geo_select gives with the same rng */
	struct geo_answer a;
	assert_int_equal(geo_select(m, name(m, "www.cdn.test"), QT_A, &c, h, &r2, &a), 0);
	assert_int_equal(a.n, 1);
	/* placed by a network; truncation */
	c = client("10.1.2.3", -1, GEO_FROM_SOURCE);
	geo_explain(m, name(m, "www.cdn.test"), QT_A, &c, h, &rng, buf, sizeof(buf));
	assert_non_null(strstr(buf, "placed by network: network 10.1.0.0/16 -> datacenters us-east"));
	assert_non_null(strstr(buf, "client 10.1.2.3/32 (source)"));
	len = geo_explain(m, name(m, "www.cdn.test"), QT_A, &c, h, &rng, buf, 20);
	assert_int_equal(len, 19);
	assert_int_equal(strlen(buf), 19);
	/* NODATA */
	c = client("8.8.8.8", -1, GEO_FROM_SOURCE);
	geo_explain(m, name(m, "west.cdn.test"), QT_AAAA, &c, h, &rng, buf, sizeof(buf));
	assert_non_null(strstr(buf, "answer: NODATA"));
	assert_non_null(strstr(buf, "placed by default: no operator network or GeoIP record -> defaults.order; tree prefix /"));
	/* a network with coordinates: distances from there */
	c = client("172.16.5.5", -1, GEO_FROM_SOURCE);
	geo_explain(m, name(m, "www.cdn.test"), QT_A, &c, h, &rng, buf, sizeof(buf));
	assert_non_null(strstr(buf, "placed by network: network 172.16.0.0/12 (40.0000, -75.0000); tree prefix /12 -> scope 12\n"));
	assert_non_null(strstr(buf, "  1. us-east 116 km: 127.60.2.1 up\n"));
	/* a GeoIP record naming a datacenter */
	c = client("100.65.0.1", -1, GEO_FROM_SOURCE);
	geo_explain(m, name(m, "www.cdn.test"), QT_A, &c, h, &rng, buf, sizeof(buf));
	assert_non_null(strstr(buf, "placed by geoip: GeoIP 100.65.0.0/16 GB EU (51.5000, -0.1000) datacenter us-west;"));
	assert_non_null(strstr(buf, "  1. us-west 8619 km: 127.60.3.1 up, 127.60.3.2 up (weight 3)\n"));
	/* not A/AAAA */
	size_t l2 = geo_explain(m, name(m, "www.cdn.test"), QT_MX, &c, h, &rng, buf, sizeof(buf));
	assert_int_equal(l2, strlen(buf));
	assert_non_null(strstr(buf, "not steered"));
	/* country */
	c = client("100.64.1.1", -1, GEO_FROM_SOURCE);
	geo_explain(m, name(m, "www.cdn.test"), QT_A, &c, h, &rng, buf, sizeof(buf));
	assert_non_null(strstr(buf, "placed by country: GeoIP 100.64.1.0/24 SE EU (no coordinates) -> defaults.countries.SE"));
}

static void test_carry_health(void **state)
{
	struct geo_map *old = *state;
	uint8_t old_up[16], new_up[16];
	memset(old_up, 1, sizeof(old_up));
	old_up[rep_id(old, "127.60.1.1")] = 0; /* http check, kept the same */
	old_up[rep_id(old, "127.60.1.2")] = 0; /* tcp check changes port: starts up */
	old_up[rep_id(old, "127.60.2.1")] = 0; /* moves to another DC, same check */
	static const char json[] =
		"{\"datacenters\": ["
		" {\"name\": \"n\", \"lat\": 0, \"lon\": 0, \"replicas\": ["
		"  {\"address\": \"127.60.9.9\"},"
		"  {\"address\": \"127.60.1.2\", \"check\": {\"tcp\": 8082}},"
		"  {\"address\": \"127.60.2.1\"},"
		"  {\"address\": \"127.60.1.1\", \"check\": {\"http\": \"http://127.60.1.1:8081/health\"}}]}]}";
	struct geo_map *m = load_map(json, NULL);
	geo_map_carry_health(old, old_up, m, new_up);
	assert_int_equal(new_up[rep_id(m, "127.60.9.9")], 1);
	assert_int_equal(new_up[rep_id(m, "127.60.1.2")], 1);
	assert_int_equal(new_up[rep_id(m, "127.60.2.1")], 0);
	assert_int_equal(new_up[rep_id(m, "127.60.1.1")], 0);
	/* no old map: everything up */
	memset(new_up, 0, sizeof(new_up));
	geo_map_carry_health(NULL, NULL, m, new_up);
	for (unsigned i = 0; i < geo_map_replicas(m); i++)
		assert_int_equal(new_up[i], 1);
	geo_map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_explain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_carry_health, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

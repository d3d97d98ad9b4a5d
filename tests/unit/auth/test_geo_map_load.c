/*
 * Unit tests of loading the steering map (geo_map.h): what a good map holds,
 * the error messages of bad maps (file and reason), opening the GeoIP database
 * a map names, and the limits on datacenters and replicas. The in-memory GeoIP
 * database and the test map are in geo_map_helpers.h. No sockets, no files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "dns_err.h"
#include "dns_name.h"
#include "geo_map_helpers.h"
#include "test_mm.h"

static void test_load_counts(void **state)
{
	struct geo_map *m = *state;
	assert_int_equal(geo_map_dcs(m), 3);
	assert_int_equal(geo_map_replicas(m), 7);
	assert_int_equal(geo_map_names(m), 5);
	const struct geo_dc *d = geo_map_dc(m, 0);
	assert_string_equal(d->name, "eu-london");
	assert_int_equal(d->n_rep, 3);
	assert_int_equal(d->rep[0].check.kind, GEO_CHECK_HTTP);
	assert_int_equal(d->rep[0].check.port, 8081);
	assert_string_equal(d->rep[0].check.path, "/health");
	assert_string_equal(d->rep[0].check.host, "127.60.1.1:8081");
	assert_int_equal(d->rep[0].check.interval_ms, 5000);
	assert_int_equal(d->rep[0].check.timeout_ms, 2000);
	assert_int_equal(d->rep[1].check.kind, GEO_CHECK_TCP);
	assert_int_equal(d->rep[1].check.interval_ms, 500);
	assert_int_equal(d->rep[1].check.timeout_ms, 500); /* follows the shorter interval */
	assert_int_equal(d->rep[1].check.fall, 2);
	assert_int_equal(d->rep[1].check.rise, 2);
	assert_int_equal(d->rep[2].check.kind, GEO_CHECK_NONE);
	assert_int_equal(d->rep[2].family, 6);
	const struct geo_name *n = name(m, "two.cdn.test");
	assert_string_equal(n->text, "two.cdn.test.");
	assert_int_equal(n->dcs, 2);
	assert_int_equal(n->per_dc, 2);
	assert_int_equal(n->ttl, 60);
	assert_int_equal(n->degraded_ttl, 5);
	n = name(m, "www.cdn.test.");
	assert_int_equal(n->degraded_ttl, 10);
	assert_int_equal(n->pool, 7);
	assert_int_equal(n->index, 0);
	n = name(m, "east.cdn.test");
	assert_int_equal(n->pool, 6);
	/* misses: unknown name, same length, different length, upper case (not canonical) */
	uint8_t w[DNS_NAME_MAX];
	size_t len;
	assert_int_equal(dns_name_from_str("xxx.cdn.test", NULL, w, &len), 0);
	assert_null(geo_map_find(m, w, len));
	assert_int_equal(dns_name_from_str("cdn.test", NULL, w, &len), 0);
	assert_null(geo_map_find(m, w, len));
	assert_int_equal(dns_name_from_str("WWW.cdn.test", NULL, w, &len), 0);
	assert_null(geo_map_find(m, w, len));
	size_t nodes, leaves;
	geo_map_tree_size(m, &nodes, &leaves);
	assert_true(nodes > 0);
	assert_int_equal(leaves, nodes + 1); /* a full binary tree */
}
/* ---- bad maps ------------------------------------------------------------------ */

#define DC1 "{\"name\": \"a\", \"lat\": 1, \"lon\": 2, \"replicas\": [{\"address\": \"127.60.9.1\"}]}"
#define DCS "\"datacenters\": [" DC1 "]"

static const struct {
	const char *json;
	const char *err;
} bad_maps[] = {
	{"{\"datacenters\": [}", "bad.json:1:18: unexpected token near '}'"},
	{"[]", "bad.json: the map must be a JSON object, not an array"},
	{"{}", "bad.json: missing \"datacenters\""},
	{"{" DCS ", \"nmaes\": {}}", "bad.json: unknown key \"nmaes\""},
	{"{" DCS ", " DCS "}", "bad.json:1:107: duplicate object key near '\"datacenters\"'"},
	{"{\"datacenters\": []}", "bad.json: datacenters: 0 datacenters, allowed 1..64"},
	{"{\"datacenters\": [{\"name\": \"a b\", \"lat\": 1, \"lon\": 2, \"replicas\": []}]}",
		"bad.json: datacenters[0].name: \"a b\" is not a valid name (1..63 characters of A-Z a-z 0-9 _ . -)"},
	{"{\"datacenters\": [" DC1 ", " DC1 "]}", "bad.json: datacenters[1].name: duplicate datacenter \"a\""},
	{"{\"datacenters\": [{\"name\": \"a\", \"lat\": 91, \"lon\": 2, \"replicas\": []}]}",
		"bad.json: datacenters[0].lat: 91 is out of range -90..90"},
	{"{\"datacenters\": [{\"name\": \"a\", \"lat\": 1, \"replicas\": []}]}",
		"bad.json: datacenters[0]: missing \"lon\""},
	{"{\"datacenters\": [{\"name\": \"a\", \"lat\": 1, \"lon\": 2, \"replicas\": []}]}",
		"bad.json: datacenters[0].replicas: 0 replicas, allowed 1..64"},
	{"{\"datacenters\": [{\"name\": \"a\", \"lat\": 1, \"lon\": 2, \"replicas\": [{\"address\": \"1.2.3\"}]}]}",
		"bad.json: datacenters[0].replicas[0].address: \"1.2.3\" is not an IP address"},
	{"{\"datacenters\": [{\"name\": \"a\", \"lat\": 1, \"lon\": 2, \"replicas\": [{\"address\": \"::1\"}, {\"address\": \"0::1\"}]}]}",
		"bad.json: datacenters[0].replicas[1].address: duplicate address \"0::1\" in this datacenter"},
	{"{\"datacenters\": [{\"name\": \"a\", \"lat\": 1, \"lon\": 2, \"replicas\": [{\"address\": \"::1\", \"weight\": 0}]}]}",
		"bad.json: datacenters[0].replicas[0].weight: 0 is out of range 1..1000"},
	{"{\"datacenters\": [{\"name\": \"a\", \"lat\": 1, \"lon\": 2, \"replicas\": [{\"address\": \"::1\", \"weight\": 1.5}]}]}",
		"bad.json: datacenters[0].replicas[0].weight: must be an integer, not a number"},
	{"{\"datacenters\": [{\"name\": \"a\", \"lat\": 1, \"lon\": 2, \"replicas\": [{\"address\": \"::1\", \"check\": {\"http\": \"http://example.com/\"}}]}]}",
		"bad.json: datacenters[0].replicas[0].check.http: \"http://example.com/\": host \"example.com\" must be an IP address (IPv6 in brackets)"},
	{"{\"datacenters\": [{\"name\": \"a\", \"lat\": 1, \"lon\": 2, \"replicas\": [{\"address\": \"::1\", \"check\": {\"tcp\": 80, \"http\": \"http://[::1]/\"}}]}]}",
		"bad.json: datacenters[0].replicas[0].check: give either \"http\" or \"tcp\", not both"},
	{"{\"datacenters\": [{\"name\": \"a\", \"lat\": 1, \"lon\": 2, \"replicas\": [{\"address\": \"::1\", \"check\": {\"tcp\": 80, \"interval\": 0.01}}]}]}",
		"bad.json: datacenters[0].replicas[0].check.interval: 0.01 is out of range 0.05..86400"},
	{"{\"health\": {\"interval\": 1, \"timeout\": 3}, " DCS "}",
		"bad.json: health.timeout: timeout 3s is longer than interval 1s"},
	{"{\"health\": {\"rise\": 0}, " DCS "}", "bad.json: health.rise: 0 is out of range 1..255"},
	{"{" DCS ", \"names\": {\"www..test\": {}}}", "bad.json: names[\"www..test\"]: not a valid domain name"},
	{"{" DCS ", \"names\": {\"www.test\": {}, \"WWW.test.\": {}}}", "bad.json: names[\"WWW.test.\"]: duplicate name www.test."},
	{"{" DCS ", \"names\": {\"www.test\": {\"pool\": [\"b\"]}}}", "bad.json: names[\"www.test\"].pool[0]: unknown datacenter \"b\""},
	{"{" DCS ", \"names\": {\"www.test\": {\"pool\": []}}}", "bad.json: names[\"www.test\"].pool: must not be empty"},
	{"{" DCS ", \"names\": {\"www.test\": {\"datacenters\": 2}}}", "bad.json: names[\"www.test\"].datacenters: 2 is out of range 1..1"},
	{"{" DCS ", \"names\": {\"www.test\": {\"addresses\": 17}}}", "bad.json: names[\"www.test\"].addresses: 17 is out of range 1..16"},
	{"{" DCS ", \"names\": {\"www.test\": {\"ttl\": 5, \"degraded_ttl\": 6}}}", "bad.json: names[\"www.test\"].degraded_ttl: 6 is longer than ttl 5"},
	{"{" DCS ", \"names\": {\"www.test\": {\"tll\": 5}}}", "bad.json: names[\"www.test\"]: unknown key \"tll\""},
	{"{" DCS ", \"networks\": {\"10.0.0.1/8\": {\"datacenters\": [\"a\"]}}}",
		"bad.json: networks[\"10.0.0.1/8\"]: host bits are set (the network is 10.0.0.0/8)"},
	{"{" DCS ", \"networks\": {\"10.0.0.0/33\": {\"datacenters\": [\"a\"]}}}",
		"bad.json: networks[\"10.0.0.0/33\"]: prefix length 33 is longer than 32"},
	{"{" DCS ", \"networks\": {\"10.0.0.0/8\": {\"datacenters\": [\"a\"], \"lat\": 1, \"lon\": 1}}}",
		"bad.json: networks[\"10.0.0.0/8\"]: give either \"datacenters\" or \"lat\"+\"lon\", not both"},
	{"{" DCS ", \"networks\": {\"10.0.0.0/8\": {\"lat\": 1}}}", "bad.json: networks[\"10.0.0.0/8\"]: missing \"lon\""},
	{"{" DCS ", \"networks\": {\"10.0.0.0/8\": {}, \"::ffff:10.0.0.0/104\": {}}}",
		"bad.json: networks[\"10.0.0.0/8\"]: missing \"datacenters\" or \"lat\"+\"lon\""},
	{"{" DCS ", \"networks\": {\"10.0.0.0/8\": {\"lat\": 1, \"lon\": 1}, \"::ffff:10.0.0.0/104\": {\"lat\": 1, \"lon\": 1}}}",
		"bad.json: networks[\"::ffff:10.0.0.0/104\"]: the same network as \"10.0.0.0/8\""},
	{"{" DCS ", \"networks\": {\"2002:5102::/32\": {\"datacenters\": [\"a\"]}}}",
		"bad.json: networks[\"2002:5102::/32\"]: inside 2002::/16 (6to4), whose clients are placed as the IPv4 address they embed: give the IPv4 network"},
	{"{" DCS ", \"defaults\": {\"countries\": {\"se\": [\"a\"]}}}",
		"bad.json: defaults.countries[\"se\"]: not an ISO 3166 alpha-2 country code (two upper-case letters)"},
	{"{" DCS ", \"defaults\": {\"continents\": {\"XX\": [\"a\"]}}}",
		"bad.json: defaults.continents[\"XX\"]: not a continent code (AF AN AS EU NA OC SA)"},
	{"{" DCS ", \"defaults\": {\"order\": [\"a\", \"a\"]}}", "bad.json: defaults.order[1]: datacenter \"a\" listed twice"},
	{"{" DCS ", \"geoip\": \"x.mmdb\"}", "bad.json: geoip: no GeoIP support here to open \"x.mmdb\""},
};

static void test_bad_maps(void **state)
{
	unsigned failed = 0;
	(void)state;
	for (size_t i = 0; i < sizeof(bad_maps) / sizeof(bad_maps[0]); i++) {
		struct geo_map *m = (struct geo_map *)1;
		char err[512] = "";
		int rc = geo_map_load_with(&tmm, bad_maps[i].json, strlen(bad_maps[i].json),
			"bad.json", NULL, &m, err, sizeof(err));
		if (rc != DNS_E_CONFIG || strcmp(err, bad_maps[i].err) != 0) {
			print_error("bad map %zu: rc %d\n  got:  %s\n  want: %s\n", i, rc, err,
				bad_maps[i].err);
			failed++;
		}
		assert_null(m);
	}
	assert_int_equal(failed, 0);
}

/* The "geoip" name goes to the opener as written, and the source is closed with the map. */
static int opened, closed;
static char opened_path[256];

static int fake_open(void *ctx, const char *path, struct geo_source *out, char *err,
	size_t errlen)
{
	snprintf(opened_path, sizeof(opened_path), "%s", path);
	opened++;
	*out = mem_source;
	return 0;
}

static void fake_close(struct geo_source *src)
{
	closed++;
}

static int fail_open_src(void *ctx, const char *path, struct geo_source *out, char *err,
	size_t errlen)
{
	snprintf(err, errlen, "%s: cannot open", path);
	return DNS_E_CONFIG;
}

static void test_geoip_open(void **state)
{
	(void)state;
	static const char json[] = "{\"geoip\": \"db/x.mmdb\", " DCS ", \"names\": {\"t.test\": {}}}";
	struct geo_map *m = NULL;
	char err[512] = "";
	const struct geo_opener fake = {fake_open, fake_close, NULL};
	const struct geo_opener failing = {fail_open_src, fake_close, NULL};
	assert_int_equal(geo_map_load(&tmm, json, strlen(json), "maps/demo.json", &fake, &m, err,
		sizeof(err)), 0);
	assert_int_equal(opened, 1);
	/* where a relative name is, is the io loader's business (test_geo_mmdb) */
	assert_string_equal(opened_path, "db/x.mmdb");
	struct geo_answer a = pick(m, "t.test", QT_A, "81.2.69.1", -1, NULL);
	assert_int_equal(a.by, GEO_BY_GEOIP);
	geo_map_free(m);
	assert_int_equal(closed, 1);
	assert_int_equal(geo_map_load(&tmm, json, strlen(json), "demo.json", &failing, &m, err,
		sizeof(err)), DNS_E_CONFIG);
	assert_string_equal(err, "demo.json: geoip: db/x.mmdb: cannot open");
	assert_int_equal(closed, 1);
}
/* The limits: 64 datacenters of 64 replicas (bit 63 of every mask), one more refused. */
static char *big_map(unsigned dcs, unsigned reps)
{
	size_t cap = 64 + (size_t)dcs * (96 + reps * 40), n = 0;
	char *j = malloc(cap);
	assert_non_null(j);
	n += (size_t)snprintf(j + n, cap - n, "{\"datacenters\": [");
	for (unsigned d = 0; d < dcs; d++) {
		n += (size_t)snprintf(j + n, cap - n, "%s{\"name\": \"dc%u\", \"lat\": %d, \"lon\": %d, \"replicas\": [",
			d ? "," : "", d, (int)(d % 180) - 89, (int)(d * 5 % 360) - 179);
		for (unsigned r = 0; r < reps; r++)
			n += (size_t)snprintf(j + n, cap - n, "%s{\"address\": \"10.%u.%u.1\"}",
				r ? "," : "", d, r);
		n += (size_t)snprintf(j + n, cap - n, "]}");
	}
	n += (size_t)snprintf(j + n, cap - n,
		"], \"names\": {\"wide.test\": {\"datacenters\": 16}, \"one.test\": {\"pool\": [\"dc63\"], \"addresses\": 16}}}");
	assert_true(n < cap);
	return j;
}

static void test_limits(void **state)
{
	(void)state;
	char *j = big_map(64, 64);
	struct geo_map *m = load_map(j, NULL);
	free(j);
	assert_int_equal(geo_map_dcs(m), 64);
	assert_int_equal(geo_map_replicas(m), 4096);
	assert_int_equal(name(m, "wide.test")->pool, ~0ull);
	assert_int_equal(name(m, "one.test")->pool, 1ull << 63);
	uint8_t *up = calloc(4096, 1);
	assert_non_null(up);
	struct geo_answer a = pick(m, "wide.test", QT_A, "192.0.2.1", -1, NULL);
	assert_int_equal(a.n, 16);
	a = pick(m, "wide.test", QT_AAAA, "192.0.2.1", -1, NULL);
	assert_int_equal(a.n, 0);
	/* only the last replica of the last datacenter is up */
	up[4095] = 1;
	a = pick(m, "wide.test", QT_A, "192.0.2.1", -1, up);
	assert_int_equal(a.n, 1);
	assert_string_equal(first_dc(m, &a), "dc63");
	char buf[INET6_ADDRSTRLEN];
	assert_string_equal(addr_str(&a, 0, buf), "10.63.63.1");
	assert_true(a.degraded);
	assert_false(a.fail_open);
	/* 16 distinct replicas out of 64 */
	a = pick(m, "one.test", QT_A, "192.0.2.1", -1, NULL);
	assert_int_equal(a.n, 16);
	for (unsigned i = 0; i < 16; i++)
		for (unsigned k = 0; k < i; k++)
			assert_memory_not_equal(a.addr[i], a.addr[k], 4);
	free(up);
	geo_map_free(m);

	char err[512];
	j = big_map(65, 1);
	assert_int_equal(geo_map_load_with(&tmm, j, strlen(j), "big.json", NULL, &m, err, sizeof(err)),
		DNS_E_CONFIG);
	assert_string_equal(err, "big.json: datacenters: 65 datacenters, allowed 1..64");
	free(j);
	j = big_map(1, 65);
	assert_int_equal(geo_map_load_with(&tmm, j, strlen(j), "big.json", NULL, &m, err, sizeof(err)),
		DNS_E_CONFIG);
	assert_string_equal(err, "big.json: datacenters[0].replicas: 65 replicas, allowed 1..64");
	free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_counts, setup, teardown),
		cmocka_unit_test(test_bad_maps),
		cmocka_unit_test(test_geoip_open),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

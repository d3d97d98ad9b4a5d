/*
 * Unit tests of the steering map (geo_map.h): loading and its error messages,
 * the placement tree (nearest datacenter, operator networks, country and
 * continent defaults, merged leaves and ECS scopes), selection with health
 * (weights, failover, fail open, degraded TTL, NODATA), explanations and
 * carrying health over a reload. GeoIP data comes from an in-memory
 * struct geo_source; randomness from a seeded dns_rng. No sockets, no files.
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

#include "dns_err.h"
#include "dns_name.h"
#include "dns_rng.h"
#include "geo_map.h"
#include "geo_map_impl.h" /* test_large_tree checks the jump tables exist */
#include "test_mm.h"

#define QT_A 1
#define QT_AAAA 28
#define QT_MX 15

/* ---- an in-memory GeoIP database ------------------------------------------- */

struct mem_net {
	const char *cidr;
	struct geo_place p;
};

struct mem_src {
	const struct mem_net *nets;
	size_t n;
};

#define AT(la, lo, cc, ct, cy) {.has_coords = true, .lat = (la), .lon = (lo), \
	.country = cc, .continent = ct, .city = cy}
#define NOWHERE(cc, ct) {.has_coords = false, .country = cc, .continent = ct}

/* CIDR text -> tree address (IPv4 at ::ffff:0:0/96) and length. */
static void tree_cidr(const char *cidr, uint8_t a[16], unsigned *len)
{
	char buf[64];
	const char *slash = strchr(cidr, '/');
	assert_non_null(slash);
	memcpy(buf, cidr, (size_t)(slash - cidr));
	buf[slash - cidr] = '\0';
	memset(a, 0, 16);
	if (inet_pton(AF_INET, buf, a + 12) == 1) {
		a[10] = a[11] = 0xff;
		*len = 96 + (unsigned)atoi(slash + 1);
	} else {
		assert_int_equal(inet_pton(AF_INET6, buf, a), 1);
		*len = (unsigned)atoi(slash + 1);
	}
}

static int mem_foreach(void *ctx,
	int (*cb)(void *cbctx, const uint8_t addr[16], unsigned len, const struct geo_place *place),
	void *cbctx)
{
	const struct mem_src *s = ctx;
	for (size_t i = 0; i < s->n; i++) {
		uint8_t a[16];
		unsigned len;
		tree_cidr(s->nets[i].cidr, a, &len);
		int rc = cb(cbctx, a, len, &s->nets[i].p);
		if (rc)
			return rc;
	}
	return 0;
}

static bool in_prefix(const uint8_t *a, const uint8_t *net, unsigned len)
{
	for (unsigned b = 0; b < len; b++)
		if (((a[b >> 3] ^ net[b >> 3]) >> (7 - (b & 7))) & 1)
			return false;
	return true;
}

static int mem_lookup(void *ctx, const uint8_t addr[16], struct geo_place *out, unsigned *len)
{
	const struct mem_src *s = ctx;
	int best = -1;
	unsigned blen = 0;
	for (size_t i = 0; i < s->n; i++) {
		uint8_t a[16];
		unsigned l;
		tree_cidr(s->nets[i].cidr, a, &l);
		if (in_prefix(addr, a, l) && (best < 0 || l > blen)) {
			best = (int)i;
			blen = l;
		}
	}
	if (best < 0)
		return 0;
	*out = s->nets[best].p;
	*len = blen;
	return 1;
}

static const struct mem_net geo_db[] = {
	{"81.2.69.0/24", AT(51.5142, -0.0931, "GB", "EU", "London")},
	{"89.160.20.0/24", AT(58.4167, 15.6167, "SE", "EU", "Linkoping")},
	{"216.160.83.0/24", AT(37.7749, -122.4194, "US", "NA", "San Francisco")},
	{"192.0.2.0/24", AT(48.8566, 2.3522, "FR", "EU", "Paris")},
	/* adjacent /25s, same place: merge into /24 */
	{"198.51.100.0/25", AT(51.5142, -0.0931, "GB", "EU", "London")},
	{"198.51.100.128/25", AT(51.5142, -0.0931, "GB", "EU", "London")},
	/* adjacent /25s, different places: stay apart */
	{"203.0.113.0/25", AT(51.5142, -0.0931, "GB", "EU", "London")},
	{"203.0.113.128/25", AT(40.7128, -74.0060, "US", "NA", "New York")},
	/* no coordinates */
	{"100.64.1.0/24", NOWHERE("SE", "EU")},
	{"100.64.2.0/24", NOWHERE("CN", "AS")},
	{"100.64.3.0/24", NOWHERE("FR", "EU")},
	{"100.64.4.0/24", NOWHERE("", "")},
	{"2001:db8:1::/48", AT(59.3293, 18.0686, "SE", "EU", "Stockholm")},
	{"2001:db8:2::/48", AT(40.7128, -74.0060, "US", "NA", "New York")},
	/* a record naming a datacenter (cairn-mapc) */
	{"100.65.0.0/16", {.has_coords = true, .lat = 51.5, .lon = -0.1, .country = "GB",
		.continent = "EU", .dc = "us-west"}},
	{"100.66.0.0/16", {.country = "GB", .continent = "EU", .dc = "us-east"}},
};

static struct mem_src mem = {geo_db, sizeof(geo_db) / sizeof(geo_db[0])};
static const struct geo_source mem_source = {mem_foreach, mem_lookup, "(memory)", &mem};

/* ---- the test map ------------------------------------------------------------ */

static const char base_map[] =
	"{\n"
	" \"datacenters\": [\n"
	"  {\"name\": \"eu-london\", \"lat\": 51.51, \"lon\": -0.13, \"replicas\": [\n"
	"    {\"address\": \"127.60.1.1\", \"check\": {\"http\": \"http://127.60.1.1:8081/health\"}},\n"
	"    {\"address\": \"127.60.1.2\", \"check\": {\"tcp\": 8081, \"interval\": 0.5, \"fall\": 2}},\n"
	"    {\"address\": \"2001:db8:60:1::1\"}]},\n"
	"  {\"name\": \"us-east\", \"lat\": 40.71, \"lon\": -74.0, \"replicas\": [\n"
	"    {\"address\": \"127.60.2.1\"}, {\"address\": \"2001:db8:60:2::1\"}]},\n"
	"  {\"name\": \"us-west\", \"lat\": 37.77, \"lon\": -122.42, \"replicas\": [\n"
	"    {\"address\": \"127.60.3.1\", \"weight\": 1},\n"
	"    {\"address\": \"127.60.3.2\", \"weight\": 3}]}\n"
	" ],\n"
	" \"names\": {\n"
	"  \"www.cdn.test\": {\"ttl\": 30},\n"
	"  \"Two.CDN.test.\": {\"datacenters\": 2, \"addresses\": 2, \"ttl\": 60, \"degraded_ttl\": 5},\n"
	"  \"all.cdn.test\": {\"datacenters\": 3},\n"
	"  \"east.cdn.test\": {\"pool\": [\"us-east\", \"us-west\"]},\n"
	"  \"west.cdn.test\": {\"pool\": [\"us-west\"], \"addresses\": 2}\n"
	" },\n"
	" \"networks\": {\n"
	"  \"10.0.0.0/8\": {\"datacenters\": [\"us-west\"]},\n"
	"  \"10.1.0.0/16\": {\"datacenters\": [\"us-east\"]},\n"
	"  \"192.0.2.0/25\": {\"datacenters\": [\"us-west\"]},\n"
	"  \"172.16.0.0/12\": {\"lat\": 40.0, \"lon\": -75.0},\n"
	"  \"2001:db8:2:8000::/49\": {\"datacenters\": [\"eu-london\"]}\n"
	" },\n"
	" \"defaults\": {\n"
	"  \"order\": [\"us-west\", \"us-east\"],\n"
	"  \"countries\": {\"SE\": [\"us-east\"]},\n"
	"  \"continents\": {\"AS\": [\"us-west\", \"eu-london\"]}\n"
	" }\n"
	"}\n";

static struct geo_map *load_map(const char *json, const struct geo_source *src)
{
	struct geo_map *m = NULL;
	char err[512] = "";
	int rc = geo_map_load_with(&tmm, json, strlen(json), "test.json", src, &m, err,
		sizeof(err));
	if (rc != 0)
		fail_msg("load: %s", err);
	return m;
}

static const struct geo_name *name(const struct geo_map *m, const char *text)
{
	uint8_t wire[DNS_NAME_MAX];
	size_t len = 0;
	assert_int_equal(dns_name_from_str(text, NULL, wire, &len), 0);
	dns_name_lower(wire, wire);
	const struct geo_name *n = geo_map_find(m, wire, len);
	assert_non_null(n);
	return n;
}

static struct geo_client client(const char *text, int prefix, enum geo_client_from from)
{
	struct geo_client c;
	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, text, c.addr) == 1) {
		c.family = 4;
		c.prefix = (uint8_t)(prefix < 0 ? 32 : prefix);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, c.addr), 1);
		c.family = 6;
		c.prefix = (uint8_t)(prefix < 0 ? 128 : prefix);
	}
	c.from = from;
	return c;
}

/* Replica id by address text. */
static unsigned rep_id(const struct geo_map *m, const char *addr)
{
	uint8_t a[16] = {0};
	uint8_t fam = 4;
	if (inet_pton(AF_INET, addr, a) != 1) {
		assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
		fam = 6;
	}
	for (unsigned i = 0; i < geo_map_replicas(m); i++) {
		const struct geo_replica *r = geo_map_replica(m, i);
		if (r->family == fam && memcmp(r->addr, a, fam == 4 ? 4 : 16) == 0)
			return r->id;
	}
	fail_msg("no replica %s", addr);
	return 0;
}

static struct dns_rng rng;
static struct dns_rng_seeded rng_state;

static struct geo_answer pick(const struct geo_map *m, const char *nm, uint16_t qt,
	const char *addr, int prefix, const uint8_t *up)
{
	struct geo_answer a;
	struct geo_client c = client(addr, prefix, prefix < 0 ? GEO_FROM_SOURCE : GEO_FROM_ECS);
	struct geo_health_view h = {up};
	assert_int_equal(geo_select(m, name(m, nm), qt, &c, h, &rng, &a), 0);
	return a;
}

/* Datacenter of the first address of the answer. */
static const char *first_dc(const struct geo_map *m, const struct geo_answer *a)
{
	assert_true(a->n > 0);
	return geo_map_dc(m, a->dc[0])->name;
}

static char *addr_str(const struct geo_answer *a, unsigned i, char *buf)
{
	inet_ntop(a->rdlen == 4 ? AF_INET : AF_INET6, a->addr[i], buf, INET6_ADDRSTRLEN);
	return buf;
}

static int setup(void **state)
{
	dns_rng_seeded_init(&rng, &rng_state, 42);
	*state = load_map(base_map, &mem_source);
	return 0;
}

static int teardown(void **state)
{
	geo_map_free(*state);
	return 0;
}

/* ---- tests ----------------------------------------------------------------------- */

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
		cmocka_unit_test(test_distance),
		cmocka_unit_test_setup_teardown(test_load_counts, setup, teardown),
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
		cmocka_unit_test_setup_teardown(test_explain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_carry_health, setup, teardown),
		cmocka_unit_test(test_bad_maps),
		cmocka_unit_test(test_geoip_open),
		cmocka_unit_test(test_large_tree),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

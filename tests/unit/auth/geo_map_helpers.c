/*
 * geo_map_helpers.c -- the in-memory GeoIP database, the test map and the
 * helpers the test_geo_map_*.c files share (see geo_map_helpers.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "dns_name.h"
#include "geo_map_helpers.h"
#include "test_mm.h"

/* ---- an in-memory GeoIP database ------------------------------------------- */

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

int mem_foreach(void *ctx,
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

int mem_lookup(void *ctx, const uint8_t addr[16], struct geo_place *out, unsigned *len)
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
const struct geo_source mem_source = {mem_foreach, mem_lookup, "(memory)", &mem};

/* ---- the test map ------------------------------------------------------------ */

const char base_map[] =
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

struct geo_map *load_map(const char *json, const struct geo_source *src)
{
	struct geo_map *m = NULL;
	char err[512] = "";
	int rc = geo_map_load_with(&tmm, json, strlen(json), "test.json", src, &m, err,
		sizeof(err));
	if (rc != 0)
		fail_msg("load: %s", err);
	return m;
}

const struct geo_name *name(const struct geo_map *m, const char *text)
{
	uint8_t wire[DNS_NAME_MAX];
	size_t len = 0;
	assert_int_equal(dns_name_from_str(text, NULL, wire, &len), 0);
	dns_name_lower(wire, wire);
	const struct geo_name *n = geo_map_find(m, wire, len);
	assert_non_null(n);
	return n;
}

struct geo_client client(const char *text, int prefix, enum geo_client_from from)
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
unsigned rep_id(const struct geo_map *m, const char *addr)
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

struct dns_rng rng;
static struct dns_rng_seeded rng_state;

struct geo_answer pick(const struct geo_map *m, const char *nm, uint16_t qt,
	const char *addr, int prefix, const uint8_t *up)
{
	struct geo_answer a;
	struct geo_client c = client(addr, prefix, prefix < 0 ? GEO_FROM_SOURCE : GEO_FROM_ECS);
	struct geo_health_view h = {up};
	assert_int_equal(geo_select(m, name(m, nm), qt, &c, h, &rng, &a), 0);
	return a;
}

/* Datacenter of the first address of the answer. */
const char *first_dc(const struct geo_map *m, const struct geo_answer *a)
{
	assert_true(a->n > 0);
	return geo_map_dc(m, a->dc[0])->name;
}

char *addr_str(const struct geo_answer *a, unsigned i, char *buf)
{
	inet_ntop(a->rdlen == 4 ? AF_INET : AF_INET6, a->addr[i], buf, INET6_ADDRSTRLEN);
	return buf;
}

int setup(void **state)
{
	dns_rng_seeded_init(&rng, &rng_state, 42);
	*state = load_map(base_map, &mem_source);
	return 0;
}

int teardown(void **state)
{
	geo_map_free(*state);
	return 0;
}

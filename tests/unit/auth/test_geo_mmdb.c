/*
 * Unit tests of the MaxMind DB adapter (geo_mmdb.h) against MaxMind's test
 * databases in tests/fixtures/mmdb/ (synthetic data, see the README there):
 * lookups, the walk of the whole search tree (every network once, IPv4 at
 * ::ffff:0:0/96, aliases skipped, each network looking up to its record),
 * and a map steering with it. The files are opened by cairn-auth's io loader
 * (authd_geo_load.c, linked in), which also places a relative "geoip" next to
 * the map file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "dns_err.h"
#include "dns_name.h"
#include "dns_rng.h"
#include "geo_map.h"
#include "authd_geo_load.h"
#include "geo_mmdb.h"
#include "mapc_writer.h"
#include "dns_file.h"
#include "dns_mem.h"
#include "test_mm.h"
#include <unistd.h>

#ifndef CAIRN_FIXTURES
#error "CAIRN_FIXTURES must name tests/fixtures/mmdb"
#endif
#define LITE CAIRN_FIXTURES "/GeoLite2-City-Test.mmdb"
#define CITY CAIRN_FIXTURES "/GeoIP2-City-Test.mmdb"

static void tree_addr(const char *text, uint8_t a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, text, a + 12) == 1)
		a[10] = a[11] = 0xff;
	else
		assert_int_equal(inet_pton(AF_INET6, text, a), 1);
}

static struct geo_source open_db(const char *path)
{
	struct geo_source s;
	char err[512] = "";
	memset(&s, 0, sizeof(s));
	if (authd_geoip_open(&tmm, path, &s, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	return s;
}

static void check_lookup(struct geo_source *s, const char *ip, const char *city,
	const char *cc, const char *ct, double lat, double lon, unsigned len)
{
	uint8_t a[16];
	struct geo_place p;
	unsigned l = 0;
	tree_addr(ip, a);
	assert_int_equal(s->lookup(s->ctx, a, &p, &l), 1);
	assert_string_equal(p.city, city);
	assert_string_equal(p.country, cc);
	assert_string_equal(p.continent, ct);
	assert_true(p.has_coords);
	assert_true(fabs(p.lat - lat) < 1e-6);
	assert_true(fabs(p.lon - lon) < 1e-6);
	assert_int_equal(l, len);
	assert_string_equal(p.dc, "");
}

static void test_lookup(void **state)
{
	(void)state;
	struct geo_source s = open_db(LITE);
	assert_string_equal(s.name, LITE);
	check_lookup(&s, "81.2.69.142", "London", "GB", "EU", 51.5142, -0.0931, 127);
	check_lookup(&s, "89.160.20.112", "Link\xc3\xb6ping", "SE", "EU", 58.4167, 15.6167, 124);
	check_lookup(&s, "216.160.83.56", "Milton", "US", "NA", 47.2513, -122.3149, 125);
	check_lookup(&s, "175.16.199.0", "Changchun", "CN", "AS", 43.88, 125.3228, 120);
	check_lookup(&s, "2001:480::1", "San Diego", "US", "NA", 32.7203, -117.1552, 43);
	/* the aliases of the IPv4 space answer too */
	check_lookup(&s, "2002:5102:458e::1", "London", "GB", "EU", 51.5142, -0.0931, 47);
	uint8_t a[16];
	struct geo_place p;
	unsigned l;
	tree_addr("10.0.0.1", a);
	assert_int_equal(s.lookup(s.ctx, a, &p, &l), 0);
	tree_addr("1.1.1.1", a);
	assert_int_equal(s.lookup(s.ctx, a, &p, &l), 0);
	authd_geoip_close(&s);

	/* GeoIP2-City: a country-level location without a city */
	s = open_db(CITY);
	tree_addr("67.43.156.0", a);
	assert_int_equal(s.lookup(s.ctx, a, &p, &l), 1);
	assert_string_equal(p.country, "BT");
	assert_string_equal(p.city, "");
	assert_true(p.has_coords);
	authd_geoip_close(&s);
}

static void test_open_errors(void **state)
{
	(void)state;
	struct geo_source s;
	char err[512] = "";
	assert_int_equal(authd_geoip_open(&tmm, CAIRN_FIXTURES "/missing.mmdb", &s, err, sizeof(err)),
		DNS_E_CONFIG);
	assert_true(strncmp(err, CAIRN_FIXTURES "/missing.mmdb: ", strlen(CAIRN_FIXTURES) + 14) == 0);
	print_message("%s\n", err);
	assert_int_equal(authd_geoip_open(&tmm, CAIRN_FIXTURES "/README.md", &s, err, sizeof(err)),
		DNS_E_CONFIG);
	print_message("%s\n", err);
	assert_true(strncmp(err, CAIRN_FIXTURES "/README.md: ", strlen(CAIRN_FIXTURES) + 12) == 0);
}

struct net {
	uint8_t a[16];
	unsigned len;
	struct geo_place p;
};

struct walk {
	struct net *v;
	size_t n, cap;
};

static int collect(void *ctx, const uint8_t addr[16], unsigned len, const struct geo_place *p)
{
	struct walk *w = ctx;
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 256;
		w->v = realloc(w->v, w->cap * sizeof(*w->v));
		assert_non_null(w->v);
	}
	memcpy(w->v[w->n].a, addr, 16);
	w->v[w->n].len = len;
	w->v[w->n].p = *p;
	w->n++;
	return 0;
}

static int stop_at_3(void *ctx, const uint8_t addr[16], unsigned len, const struct geo_place *p)
{
	int *n = ctx;
	return ++*n == 3 ? 77 : 0;
}

static int cmp_net(const void *x, const void *y)
{
	const struct net *a = x, *b = y;
	int c = memcmp(a->a, b->a, 16);
	return c ? c : (int)a->len - (int)b->len;
}

/* The walked networks w of s, sorted: each well-formed, disjoint from the next,
 * both its ends looking up to it. Returns how many are IPv4 networks. */
static size_t check_walked(struct geo_source *s, const struct walk *w)
{
	static const uint8_t v4c[12] = {0};
	size_t v4 = 0;
	for (size_t i = 0; i < w->n; i++) {
		struct net *n = &w->v[i];
		/* host bits zero */
		for (unsigned b = n->len; b < 128; b++)
			assert_false((n->a[b >> 3] >> (7 - (b & 7))) & 1);
		/* never the IPv4-compatible space (walked once, reported at
		 * ::ffff:0:0/96) nor the 6to4 alias */
		assert_false(n->len >= 96 && memcmp(n->a, v4c, 12) == 0);
		assert_false(n->a[0] == 0x20 && n->a[1] == 0x02);
		if (n->a[10] == 0xff && n->a[11] == 0xff && memcmp(n->a, v4c, 10) == 0)
			v4++;
		/* disjoint from the next one: each address once */
		if (i + 1 < w->n) {
			uint8_t end[16];
			memcpy(end, n->a, 16);
			for (unsigned b = n->len; b < 128; b++)
				end[b >> 3] |= (uint8_t)(0x80 >> (b & 7));
			assert_true(memcmp(end, w->v[i + 1].a, 16) < 0);
		}
		/* both ends of the network look up to the same record and prefix */
		for (int e = 0; e < 2; e++) {
			uint8_t a[16];
			struct geo_place p;
			unsigned l = 0;
			memcpy(a, n->a, 16);
			if (e)
				for (unsigned b = n->len; b < 128; b++)
					a[b >> 3] |= (uint8_t)(0x80 >> (b & 7));
			assert_int_equal(s->lookup(s->ctx, a, &p, &l), 1);
			assert_int_equal(l, n->len);
			assert_string_equal(p.city, n->p.city);
			assert_string_equal(p.country, n->p.country);
			assert_int_equal(p.has_coords, n->p.has_coords);
			if (p.has_coords) {
				assert_true(p.lat == n->p.lat);
				assert_true(p.lon == n->p.lon);
			}
		}
	}
	return v4;
}

/* The other way round: an address the database knows lies in a reported network
 * of the same prefix (random addresses, most of them in the IPv4 space and in
 * 2001::/16 where the test data lives). Returns how many s found. */
static size_t check_random_lookups(struct geo_source *s, const struct walk *w)
{
	struct dns_rng rng;
	struct dns_rng_seeded st;
	dns_rng_seeded_init(&rng, &st, 5);
	size_t found = 0;
	for (unsigned k = 0; k < 50000; k++) {
		uint8_t a[16];
		struct geo_place p;
		unsigned l = 0;
		dns_rng_bytes(&rng, a, 16);
		if (k % 3 != 2) {
			memset(a, 0, 10);
			a[10] = a[11] = 0xff;
			if (k % 3 == 1) /* near the known networks */
				a[12] = (uint8_t[]){2, 81, 89, 175, 216, 67, 149}[k % 7];
		} else {
			a[0] = 0x20;
			a[1] = k % 2 ? 0x01 : 0x02; /* 2002::/16: the 6to4 alias, never reported */
			a[2] = k % 4 < 2 ? 0x04 : 0x02;
		}
		int f = s->lookup(s->ctx, a, &p, &l);
		assert_true(f >= 0);
		bool is6to4 = a[0] == 0x20 && a[1] == 0x02;
		struct net key;
		memcpy(key.a, a, 16);
		key.len = 128;
		/* the last network starting at or before a */
		size_t lo = 0, hi = w->n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cmp_net(&w->v[mid], &key) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		bool inside = false;
		if (lo > 0) {
			const struct net *n = &w->v[lo - 1];
			inside = true;
			for (unsigned b = 0; b < n->len; b++)
				if (((a[b >> 3] ^ n->a[b >> 3]) >> (7 - (b & 7))) & 1)
					inside = false;
			if (inside && f == 1) {
				assert_int_equal(n->len, l);
				assert_string_equal(n->p.city, p.city);
			}
		}
		if (!is6to4)
			assert_int_equal(inside, f == 1);
		found += f == 1;
	}
	return found;
}

static void walk_db(const char *path)
{
	struct geo_source s = open_db(path);
	struct walk w = {0};
	assert_int_equal(s.foreach(s.ctx, collect, &w), 0);
	print_message("%s: %zu networks\n", path, w.n);
	assert_true(w.n > 100);
	qsort(w.v, w.n, sizeof(*w.v), cmp_net);
	size_t v4 = check_walked(&s, &w);
	print_message("%s: %zu IPv4 networks\n", path, v4);
	assert_true(v4 > 10);
	size_t found = check_random_lookups(&s, &w);
	print_message("%s: %zu of 50000 random addresses found\n", path, found);
	assert_true(found > 100);
	/* a callback's non-zero return stops the walk and is returned */
	int count = 0;
	assert_int_equal(s.foreach(s.ctx, stop_at_3, &count), 77);
	assert_int_equal(count, 3);
	free(w.v);
	authd_geoip_close(&s);
}

static void test_foreach(void **state)
{
	(void)state;
	walk_db(LITE);
	walk_db(CITY);
}

/* A client at address ip (IPv4 or IPv6), the whole address. */
static void client_at(struct geo_client *c, const char *ip)
{
	memset(c->addr, 0, 16);
	if (inet_pton(AF_INET, ip, c->addr) == 1) {
		c->family = 4;
		c->prefix = 32;
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, c->addr), 1);
		c->family = 6;
		c->prefix = 128;
	}
}

/* A map over GeoLite2-City-Test.mmdb, named relative to the map file. */
static struct geo_map *load_lite_map(void)
{
	static const char json[] =
		"{\"geoip\": \"GeoLite2-City-Test.mmdb\",\n"
		" \"datacenters\": [\n"
		"  {\"name\": \"sf\", \"lat\": 37.77, \"lon\": -122.42, \"replicas\": [{\"address\": \"127.60.3.1\"}]},\n"
		"  {\"name\": \"stockholm\", \"lat\": 59.33, \"lon\": 18.07, \"replicas\": [{\"address\": \"127.60.2.1\"}]},\n"
		"  {\"name\": \"london\", \"lat\": 51.51, \"lon\": -0.13, \"replicas\": [{\"address\": \"127.60.1.1\"}]}],\n"
		" \"names\": {\"www.cdn.test\": {}}}\n";
	struct geo_map *m = NULL;
	char err[512] = "";
	struct authd_geoip_opener o;
	authd_geoip_opener_init(&o, &tmm, CAIRN_FIXTURES "/map.json");
	int rc = geo_map_load(&tmm, json, strlen(json), CAIRN_FIXTURES "/map.json", &o.ops, &m,
		err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	size_t nodes, leaves;
	geo_map_tree_size(m, &nodes, &leaves);
	print_message("tree: %zu nodes, %zu leaves (%zu bytes)\n", nodes, leaves, nodes * 8);
	assert_true(nodes > 100 && leaves == nodes + 1);
	return m;
}

/* Clients of the test data placed by GeoIP, their scopes; one outside it. */
static void check_lite_selection(const struct geo_map *m, const struct geo_name *n,
	const struct dns_rng *rng)
{
	struct geo_client c = {.family = 4, .prefix = 32, .from = GEO_FROM_SOURCE};
	struct geo_answer a;
	struct geo_health_view h = {NULL};
	static const struct {
		const char *ip;
		const char *dc;
	} cases[] = {
		{"81.2.69.142", "london"},
		{"89.160.20.112", "stockholm"},
		{"216.160.83.56", "sf"},
		{"2001:480::1", "sf"},
		{"2.125.160.216", "london"},
		{"2002:5102:458e::1", "london"}, /* 6to4 of 81.2.69.142 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		client_at(&c, cases[i].ip);
		assert_int_equal(geo_select(m, n, 1, &c, h, rng, &a), 0);
		assert_int_equal(a.n, 1);
		assert_string_equal(geo_map_dc(m, a.dc[0])->name, cases[i].dc);
		assert_int_equal(a.by, GEO_BY_GEOIP);
		print_message("%s -> %s scope %u\n", cases[i].ip, cases[i].dc, a.scope);
		/* never wider than a record, never past the record's own prefix
		 * unless merged with neighbours of the same answer */
		assert_true(a.scope >= 8);
		assert_true(a.scope <= (c.family == 4 ? 32 : 128));
	}
	/* 81.2.69.142 is in 81.2.69.142/31 (London); the scope covers at least that */
	client_at(&c, "81.2.69.142");
	assert_int_equal(geo_select(m, n, 1, &c, h, rng, &a), 0);
	assert_true(a.scope <= 31);
	/* not in the database: default order, short scope */
	inet_pton(AF_INET, "10.0.0.1", c.addr);
	assert_int_equal(geo_select(m, n, 1, &c, h, rng, &a), 0);
	assert_int_equal(a.by, GEO_BY_DEFAULT);
	assert_string_equal(geo_map_dc(m, a.dc[0])->name, "sf");
	assert_true(a.scope <= 8);
}

static void test_map_with_mmdb(void **state)
{
	(void)state;
	struct geo_map *m = load_lite_map();
	uint8_t wire[DNS_NAME_MAX];
	size_t wl;
	assert_int_equal(dns_name_from_str("www.cdn.test", NULL, wire, &wl), 0);
	const struct geo_name *n = geo_map_find(m, wire, wl);
	assert_non_null(n);
	struct dns_rng rng;
	struct dns_rng_seeded st;
	dns_rng_seeded_init(&rng, &st, 1);
	check_lite_selection(m, n, &rng);

	char buf[2048];
	struct geo_client c = {.from = GEO_FROM_SOURCE};
	struct geo_health_view h = {NULL};
	client_at(&c, "81.2.69.142");
	geo_explain(m, n, 1, &c, h, &rng, buf, sizeof(buf));
	print_message("%s", buf);
	assert_non_null(strstr(buf, "placed by geoip: GeoIP 81.2.69.142/31 London GB EU (51.5142, -0.0931); tree prefix /31 -> scope 31\n"));
	assert_non_null(strstr(buf, "  1. london 3 km: 127.60.1.1 up\n"));
	geo_map_free(m);
}

/* ---- a database written by cairn-mapc's writer ------------------------------ */

static void add_net(struct mapc_writer *w, const char *cidr, const struct mapc_record *r)
{
	char buf[64];
	uint8_t a[16] = {0};
	const char *slash = strchr(cidr, '/');
	memcpy(buf, cidr, (size_t)(slash - cidr));
	buf[slash - cidr] = '\0';
	unsigned len = (unsigned)atoi(slash + 1);
	if (inet_pton(AF_INET, buf, a + 12) == 1)
		len += 96; /* the writer takes IPv4 at ::/96 */
	else
		assert_int_equal(inet_pton(AF_INET6, buf, a), 1);
	assert_int_equal(mapc_writer_add(w, a, len, r), 0);
}

/* Write a database of five networks to path with cairn-mapc's writer. */
static void write_mapc_db(const char *path)
{
	struct mapc_writer *w = NULL;
	assert_int_equal(mapc_writer_new(dns_mm_std(), &w), 0);
	struct mapc_record paris = {.has_location = true, .lat = 48.85, .lon = 2.35,
		.country = "FR", .continent = "EU", .city = "Paris", .datacenter = "us-west"};
	struct mapc_record se = {.country = "SE", .continent = "EU"};
	struct mapc_record jp = {.country = "JP", .continent = "AS"};
	struct mapc_record sthlm = {.has_location = true, .lat = 59.33, .lon = 18.07,
		.country = "SE", .continent = "EU", .city = "Stockholm"};
	struct mapc_record sf = {.has_location = true, .lat = 37.77, .lon = -122.42,
		.country = "US", .continent = "NA", .city = "San Francisco"};
	add_net(w, "192.0.2.0/24", &paris);
	add_net(w, "198.51.100.0/24", &se);
	add_net(w, "203.0.113.0/25", &jp);
	add_net(w, "2001:db8::/32", &sthlm);
	add_net(w, "10.0.0.0/8", &sf);
	struct mapc_meta meta = {.database_type = "cairn-Map", .description = "test",
		.build_epoch = 1700000000};
	struct mapc_buf out = {.mm = dns_mm_std()};
	assert_int_equal(mapc_writer_build(w, &meta, &out, NULL), 0);
	mapc_writer_free(w);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(out.data, 1, out.len, f), out.len);
	assert_int_equal(fclose(f), 0);
	mapc_buf_deinit(&out);
}

/* The walk of write_mapc_db()'s database: each network once, IPv4 at
 * ::ffff:0:0/96, the alias skipped. */
static void check_mapc_walk(const char *path)
{
	struct geo_source s = open_db(path);
	struct walk wk = {0};
	assert_int_equal(s.foreach(s.ctx, collect, &wk), 0);
	assert_int_equal(wk.n, 5);
	qsort(wk.v, wk.n, sizeof(*wk.v), cmp_net);
	static const char *const want[] = {"::ffff:10.0.0.0/104", "::ffff:192.0.2.0/120",
		"::ffff:198.51.100.0/120", "::ffff:203.0.113.0/121", "2001:db8::/32"};
	for (size_t i = 0; i < wk.n; i++) {
		char t[INET6_ADDRSTRLEN], got[80];
		inet_ntop(AF_INET6, wk.v[i].a, t, sizeof(t));
		snprintf(got, sizeof(got), "%s/%u", t, wk.v[i].len);
		assert_string_equal(got, want[i]);
	}
	assert_string_equal(wk.v[1].p.dc, "us-west");
	assert_string_equal(wk.v[1].p.city, "Paris");
	assert_false(wk.v[2].p.has_coords);
	assert_string_equal(wk.v[2].p.country, "SE");
	free(wk.v);
	authd_geoip_close(&s);
}

/* A map (file name mpath) placing with write_mapc_db()'s database next to it:
 * the record's datacenter, country and continent defaults. */
static void check_mapc_map(const char *mpath)
{
	static const char json[] =
		"{\"geoip\": \"net.mmdb\",\n"
		" \"datacenters\": [\n"
		"  {\"name\": \"london\", \"lat\": 51.51, \"lon\": -0.13, \"replicas\": [{\"address\": \"127.60.1.1\"}]},\n"
		"  {\"name\": \"stockholm\", \"lat\": 59.33, \"lon\": 18.07, \"replicas\": [{\"address\": \"127.60.2.1\"}]},\n"
		"  {\"name\": \"us-west\", \"lat\": 37.77, \"lon\": -122.42, \"replicas\": [{\"address\": \"127.60.3.1\"}]}],\n"
		" \"names\": {\"www.cdn.test\": {\"datacenters\": 3}},\n"
		" \"defaults\": {\"countries\": {\"SE\": [\"stockholm\"]}, \"continents\": {\"AS\": [\"us-west\"]}}}\n";
	struct geo_map *m = NULL;
	char err[512];
	struct authd_geoip_opener o;
	authd_geoip_opener_init(&o, &tmm, mpath);
	if (geo_map_load(&tmm, json, strlen(json), mpath, &o.ops, &m, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	const struct geo_name *n = geo_map_name_at(m, 0);
	struct dns_rng rng;
	struct dns_rng_seeded st;
	dns_rng_seeded_init(&rng, &st, 3);
	struct geo_health_view h = {NULL};
	static const struct {
		const char *ip;
		enum geo_placed_by by;
		const char *dcs[3];
		unsigned scope;
	} cases[] = {
		/* the record's datacenter first, then by distance from Paris */
		{"192.0.2.1", GEO_BY_GEOIP, {"us-west", "london", "stockholm"}, 24},
		{"198.51.100.1", GEO_BY_COUNTRY, {"stockholm", "london", "us-west"}, 24},
		{"203.0.113.1", GEO_BY_CONTINENT, {"us-west", "london", "stockholm"}, 25},
		{"203.0.113.129", GEO_BY_DEFAULT, {"london", "stockholm", "us-west"}, 25},
		{"10.200.0.1", GEO_BY_GEOIP, {"us-west", "london", "stockholm"}, 8},
		{"2001:db8:5::1", GEO_BY_GEOIP, {"stockholm", "london", "us-west"}, 32},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct geo_client c = {.from = GEO_FROM_SOURCE};
		struct geo_answer a;
		client_at(&c, cases[i].ip);
		assert_int_equal(geo_select(m, n, 1, &c, h, &rng, &a), 0);
		assert_int_equal(a.by, cases[i].by);
		assert_int_equal(a.n, 3);
		for (unsigned k = 0; k < 3; k++)
			assert_string_equal(geo_map_dc(m, a.dc[k])->name, cases[i].dcs[k]);
		assert_int_equal(a.scope, cases[i].scope);
	}
	geo_map_free(m);
}

static void test_mapc_database(void **state)
{
	(void)state;
	char dir[] = "/tmp/cairn-geo-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], mpath[128];
	snprintf(path, sizeof(path), "%s/net.mmdb", dir);
	snprintf(mpath, sizeof(mpath), "%s/map.json", dir);
	write_mapc_db(path);
	check_mapc_walk(path);
	check_mapc_map(mpath);
	unlink(path);
	rmdir(dir);
}

static void test_corrupt_tree(void **state)
{
	(void)state;
	char *buf;
	size_t n;
	assert_int_equal(dns_file_read(LITE, 64 * 1024, &tmm, &buf, &n), 0);
	assert_true(n > 1000 && n < 64 * 1024);
	/* node 1's records (28-bit records: 7 bytes a node) */
	memset(buf + 7, 0xff, 7);
	char dir[] = "/tmp/cairn-geo-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], mpath[128];
	snprintf(path, sizeof(path), "%s/bad.mmdb", dir);
	snprintf(mpath, sizeof(mpath), "%s/map.json", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	mm_free(&tmm, buf);
	static const char json[] = "{\"geoip\": \"bad.mmdb\", \"datacenters\": [{\"name\": \"a\","
		" \"lat\": 0, \"lon\": 0, \"replicas\": [{\"address\": \"127.60.1.1\"}]}]}";
	struct geo_map *m = NULL;
	char err[512], want[512];
	struct authd_geoip_opener o;
	authd_geoip_opener_init(&o, &tmm, mpath);
	assert_int_equal(geo_map_load(&tmm, json, strlen(json), mpath, &o.ops, &m, err,
		sizeof(err)), DNS_E_CONFIG);
	assert_null(m);
	snprintf(want, sizeof(want), "%s: geoip: %s: corrupt search tree", mpath, path);
	assert_string_equal(err, want);
	unlink(path);
	rmdir(dir);
}

/* ---- an IPv4-only database, written byte by byte ----------------------------- */

struct bytes {
	uint8_t b[1024];
	size_t n;
};

static void put(struct bytes *o, const void *p, size_t n)
{
	assert_true(o->n + n <= sizeof(o->b));
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void put_str(struct bytes *o, const char *s)
{
	uint8_t c = (uint8_t)(0x40 | strlen(s)); /* type 2 (UTF-8), size < 29 */
	put(o, &c, 1);
	put(o, s, strlen(s));
}

static void put_double(struct bytes *o, double d)
{
	uint8_t c = 0x68, be[8]; /* type 3 (double), size 8, big-endian */
	uint64_t u;
	memcpy(&u, &d, 8);
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(u >> (56 - 8 * i));
	put(o, &c, 1);
	put(o, be, 8);
}

static void put_u8(struct bytes *o, uint8_t type_ctl, uint8_t v)
{
	uint8_t b[2] = {type_ctl, v};
	put(o, b, 2);
}

/*
 * The MaxMind DB format (spec v2.0) for ip_version 4, 24-bit records: 1.2.3.0/24
 * in London, 128.0.0.0/1 in France without coordinates.
 */
static void write_v4_db(const char *path)
{
	enum { NODES = 24 };
	struct bytes o = {.n = 0}, data = {.n = 0};
	static const uint8_t path_bits[3] = {1, 2, 3};
	/* the data section: two records */
	uint8_t c;
	c = 0xe2, put(&data, &c, 1);
	put_str(&data, "country");
	c = 0xe1, put(&data, &c, 1);
	put_str(&data, "iso_code");
	put_str(&data, "GB");
	put_str(&data, "location");
	c = 0xe2, put(&data, &c, 1);
	put_str(&data, "latitude");
	put_double(&data, 51.5);
	put_str(&data, "longitude");
	put_double(&data, -0.1);
	size_t off2 = data.n;
	c = 0xe1, put(&data, &c, 1);
	put_str(&data, "country");
	c = 0xe1, put(&data, &c, 1);
	put_str(&data, "iso_code");
	put_str(&data, "FR");
	/* the tree: node i sits at depth i on the path of 1.2.3.0 */
	for (unsigned i = 0; i < NODES; i++) {
		unsigned bit = (path_bits[i >> 3] >> (7 - (i & 7))) & 1;
		uint32_t on = i + 1 < NODES ? i + 1 : NODES + 16 + 0;
		uint32_t off = NODES; /* empty */
		if (i == 0)
			off = NODES + 16 + (uint32_t)off2; /* 128.0.0.0/1 */
		uint32_t rec[2];
		rec[bit] = on;
		rec[!bit] = off;
		uint8_t b[6] = {(uint8_t)(rec[0] >> 16), (uint8_t)(rec[0] >> 8), (uint8_t)rec[0],
			(uint8_t)(rec[1] >> 16), (uint8_t)(rec[1] >> 8), (uint8_t)rec[1]};
		put(&o, b, 6);
	}
	static const uint8_t sep[16];
	put(&o, sep, 16);
	put(&o, data.b, data.n);
	put(&o, "\xab\xcd\xefMaxMind.com", 14);
	c = 0xe9, put(&o, &c, 1);
	put_str(&o, "languages");
	put_u8(&o, 0x00, 0x04); /* empty array (extended type 11) */
	put_str(&o, "description");
	c = 0xe0, put(&o, &c, 1);
	put_str(&o, "node_count");
	put_u8(&o, 0xc1, NODES);
	put_str(&o, "record_size");
	put_u8(&o, 0xa1, 24);
	put_str(&o, "ip_version");
	put_u8(&o, 0xa1, 4);
	put_str(&o, "database_type");
	put_str(&o, "Test-IPv4");
	put_str(&o, "binary_format_major_version");
	put_u8(&o, 0xa1, 2);
	put_str(&o, "binary_format_minor_version");
	c = 0xa0, put(&o, &c, 1);
	put_str(&o, "build_epoch");
	uint8_t epoch[6] = {0x04, 0x02, 0x65, 0x53, 0xf1, 0x00}; /* uint64 (extended type 9) */
	put(&o, epoch, sizeof(epoch));
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(o.b, 1, o.n, f), o.n);
	assert_int_equal(fclose(f), 0);
}

static void test_ipv4_database(void **state)
{
	(void)state;
	char dir[] = "/tmp/cairn-geo-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/v4.mmdb", dir);
	write_v4_db(path);
	struct geo_source s = open_db(path);
	struct walk wk = {0};
	assert_int_equal(s.foreach(s.ctx, collect, &wk), 0);
	assert_int_equal(wk.n, 2);
	qsort(wk.v, wk.n, sizeof(*wk.v), cmp_net);
	char t[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, wk.v[0].a, t, sizeof(t));
	assert_string_equal(t, "::ffff:1.2.3.0");
	assert_int_equal(wk.v[0].len, 120);
	assert_true(wk.v[0].p.has_coords);
	assert_string_equal(wk.v[0].p.country, "GB");
	inet_ntop(AF_INET6, wk.v[1].a, t, sizeof(t));
	assert_string_equal(t, "::ffff:128.0.0.0");
	assert_int_equal(wk.v[1].len, 97);
	assert_false(wk.v[1].p.has_coords);
	assert_string_equal(wk.v[1].p.country, "FR");
	free(wk.v);
	/* lookups answer in 128-bit terms; IPv6 addresses are simply not found */
	uint8_t a[16];
	struct geo_place p;
	unsigned l = 0;
	tree_addr("1.2.3.4", a);
	assert_int_equal(s.lookup(s.ctx, a, &p, &l), 1);
	assert_int_equal(l, 120);
	assert_string_equal(p.country, "GB");
	tree_addr("200.1.1.1", a);
	assert_int_equal(s.lookup(s.ctx, a, &p, &l), 1);
	assert_int_equal(l, 97);
	tree_addr("1.2.4.1", a);
	assert_int_equal(s.lookup(s.ctx, a, &p, &l), 0);
	tree_addr("2001:db8::1", a);
	assert_int_equal(s.lookup(s.ctx, a, &p, &l), 0);
	authd_geoip_close(&s);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_map_with_mmdb),
		cmocka_unit_test(test_mapc_database),
		cmocka_unit_test(test_corrupt_tree),
		cmocka_unit_test(test_ipv4_database),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

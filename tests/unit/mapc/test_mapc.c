/*
 * Unit tests of mapc_writer (cairn-mapc's writer): networks JSON compiled to a
 * MaxMind DB in memory, written to a temporary file and read back with
 * libmaxminddb -- every network and the addresses around them give the right
 * record and netmask, IPv4-mapped addresses the IPv4 data, empty space no
 * data; the whole tree and data section decode; the metadata is right; the
 * output does not depend on input order; bad input gets exact messages.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <maxminddb.h>

#include "dns_err.h"
#include "mapc_json.h"
#include "test_mm.h"

/* ---- helpers ------------------------------------------------------------------ */

/* The record size asked of the writer (0: the smallest); the layouts' tests loop. */
static unsigned force_rs;

static int compile(const char *json, uint64_t epoch, struct mapc_buf *out,
	struct mapc_stats *st, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->mm = &tmm;
	return mapc_compile_json(&tmm, json, strlen(json), "t.json", epoch, force_rs, out,
		st, err, errlen);
}

/* Compile json, write it to a temporary file, open it with libmaxminddb. */
static void open_db(const char *json, MMDB_s *db, struct mapc_stats *st, char *path)
{
	struct mapc_buf b;
	char err[512];
	int r = compile(json, 1700000000, &b, st, err, sizeof(err));
	if (r != 0)
		fail_msg("compile: %d %s", r, err);
	strcpy(path, "/tmp/cairn-test-mapc-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	mapc_buf_deinit(&b);
	int s = MMDB_open(path, MMDB_MODE_MMAP, db);
	if (s != MMDB_SUCCESS)
		fail_msg("MMDB_open: %s", MMDB_strerror(s));
}

static void close_db(MMDB_s *db, const char *path)
{
	MMDB_close(db);
	unlink(path);
}

/* What one lookup should give; NULL/NAN for absent fields. */
struct want {
	const char *ip;
	bool found;
	int netmask;           /* libmaxminddb's netmask (-1: don't check, -2: the model's) */
	double lat, lon;       /* NAN: no location */
	const char *country, *continent, *city, *dc;
};

static void check_str(MMDB_entry_s *e, const char *want, const char *ip, const char *what,
	const char *const *path)
{
	MMDB_entry_data_s d;
	int s = MMDB_aget_value(e, &d, path);
	if (!want) {
		if (s == MMDB_SUCCESS && d.has_data)
			fail_msg("%s: %s present", ip, what);
		return;
	}
	if (s != MMDB_SUCCESS || !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING)
		fail_msg("%s: %s missing (%s)", ip, what, MMDB_strerror(s));
	if (d.data_size != strlen(want) || memcmp(d.utf8_string, want, d.data_size) != 0)
		fail_msg("%s: %s is %.*s, want %s", ip, what, (int)d.data_size, d.utf8_string, want);
}

static void check_double(MMDB_entry_s *e, double want, const char *ip, const char *what,
	const char *const *path)
{
	MMDB_entry_data_s d;
	int s = MMDB_aget_value(e, &d, path);
	if (isnan(want)) {
		if (s == MMDB_SUCCESS && d.has_data)
			fail_msg("%s: %s present", ip, what);
		return;
	}
	if (s != MMDB_SUCCESS || !d.has_data || d.type != MMDB_DATA_TYPE_DOUBLE)
		fail_msg("%s: %s missing", ip, what);
	if (d.double_value != want)
		fail_msg("%s: %s is %g, want %g", ip, what, d.double_value, want);
}

static void check(MMDB_s *db, const struct want *w)
{
	static const char *const p_lat[] = {"location", "latitude", NULL};
	static const char *const p_lon[] = {"location", "longitude", NULL};
	static const char *const p_cc[] = {"country", "iso_code", NULL};
	static const char *const p_cont[] = {"continent", "code", NULL};
	static const char *const p_city[] = {"city", "names", "en", NULL};
	static const char *const p_dc[] = {"datacenter", NULL};
	int gai = 0, me = 0;
	MMDB_lookup_result_s res = MMDB_lookup_string(db, w->ip, &gai, &me);
	assert_int_equal(gai, 0);
	assert_int_equal(me, MMDB_SUCCESS);
	if (res.found_entry != w->found)
		fail_msg("%s: found %d, want %d", w->ip, res.found_entry, w->found);
	if (w->netmask >= 0 && res.netmask != w->netmask)
		fail_msg("%s: netmask %u, want %d", w->ip, res.netmask, w->netmask);
	if (!w->found)
		return;
	check_double(&res.entry, w->lat, w->ip, "latitude", p_lat);
	check_double(&res.entry, w->lon, w->ip, "longitude", p_lon);
	check_str(&res.entry, w->country, w->ip, "country", p_cc);
	check_str(&res.entry, w->continent, w->ip, "continent", p_cont);
	check_str(&res.entry, w->city, w->ip, "city", p_city);
	check_str(&res.entry, w->dc, w->ip, "datacenter", p_dc);
}

/*
 * Walk the tree from the root: every node reached once per path, depth <=
 * 128, every data record decodes in full. Returns the number of data records
 * met (with repeats); *seen counts distinct nodes reached.
 */
static size_t walk(MMDB_s *db, uint32_t node, unsigned depth, uint8_t *seen, size_t *nseen)
{
	MMDB_search_node_s n;
	size_t data = 0;
	assert_true(depth < 128);
	assert_int_equal(MMDB_read_node(db, node, &n), MMDB_SUCCESS);
	if (!seen[node]++)
		(*nseen)++;
	for (int k = 0; k < 2; k++) {
		uint8_t type = k ? n.right_record_type : n.left_record_type;
		uint64_t rec = k ? n.right_record : n.left_record;
		MMDB_entry_s e = k ? n.right_record_entry : n.left_record_entry;
		assert_int_not_equal(type, MMDB_RECORD_TYPE_INVALID);
		if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
			data += walk(db, (uint32_t)rec, depth + 1, seen, nseen);
		} else if (type == MMDB_RECORD_TYPE_DATA) {
			MMDB_entry_data_list_s *list = NULL;
			assert_int_equal(MMDB_get_entry_data_list(&e, &list), MMDB_SUCCESS);
			assert_non_null(list);
			assert_int_equal(list->entry_data.type, MMDB_DATA_TYPE_MAP);
			MMDB_free_entry_data_list(list);
			data++;
		}
	}
	return data;
}


/*
 * The netmask libmaxminddb reports (in the 128-bit tree, also for IPv4): the
 * depth where the lookup leaves the tree. Every network of length L puts nodes
 * on its path at depths 0..L-1, so an address sharing c leading bits with it
 * passes a node at depth min(c, L-1); the lookup ends one deeper than the
 * deepest such node. An independent model of the tree the writer must build
 * (no merging of equal neighbours). nets: "ADDR/LEN" strings, IPv4 at ::/96,
 * plus ::ffff:0:0/96 (the alias path) when IPv4 networks exist.
 */
static void to128(const char *ip, uint8_t out[16], unsigned *extra)
{
	memset(out, 0, 16);
	*extra = 0;
	if (inet_pton(AF_INET, ip, out + 12) == 1) {
		*extra = 96;
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, ip, out), 1);
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(out, mapped, 12) == 0)
		memset(out, 0, 12);   /* the alias: mapped lookups walk the IPv4 subtree */
}

static unsigned model_netmask(const char *const *nets, size_t n, const char *ip)
{
	uint8_t a[16], b[16];
	unsigned extra, best = 0;
	to128(ip, a, &extra);
	for (size_t i = 0; i < n; i++) {
		char buf[64];
		const char *slash = strchr(nets[i], '/');
		memcpy(buf, nets[i], (size_t)(slash - nets[i]));
		buf[slash - nets[i]] = '\0';
		memset(b, 0, 16);
		extra = 0;
		if (inet_pton(AF_INET, buf, b + 12) == 1)
			extra = 96;
		else
			assert_int_equal(inet_pton(AF_INET6, buf, b), 1);
		unsigned len = (unsigned)atoi(slash + 1) + extra, c = 0;
		if (len == 0)
			continue;
		while (c < 128 && !((a[c >> 3] ^ b[c >> 3]) & (0x80 >> (c & 7))))
			c++;
		unsigned d = (c < len - 1 ? c : len - 1) + 1;
		if (d > best)
			best = d;
	}
	return best ? best : 1;
}

/* ---- the main map ----------------------------------------------------------------- */

static const char map_json[] =
	"{\n"
	"  \"description\": \"unit test map\",\n"
	"  \"networks\": {\n"
	"    \"0.0.0.0/1\":      { \"continent\": \"NA\", \"country\": \"US\" },\n"
	"    \"10.1.0.0/16\":    { \"lat\": 59.33, \"lon\": 18.06, \"country\": \"SE\", \"continent\": \"EU\", \"city\": \"Stockholm\" },\n"
	"    \"10.1.2.0/24\":    { \"datacenter\": \"eu-london\" },\n"
	"    \"10.1.2.16/28\":   { \"lat\": 51.5, \"lon\": -0.13, \"country\": \"GB\", \"continent\": \"EU\", \"city\": \"London\", \"datacenter\": \"eu-london\" },\n"
	"    \"10.3.0.0/16\":    { \"country\": \"FI\", \"continent\": \"EU\" },\n"
	"    \"10.4.0.0/16\":    { \"country\": \"FI\", \"continent\": \"EU\" },\n"
	"    \"10.5.0.0/16\":    { \"country\": \"NO\", \"continent\": \"EU\" },\n"
	"    \"192.0.2.1/32\":   { \"city\": \"Hostville\", \"lat\": -33.9, \"lon\": 151.2 },\n"
	"    \"::ffff:172.16.0.0/108\": { \"country\": \"DE\", \"continent\": \"EU\" },\n"
	"    \"2001::/16\":      { \"country\": \"AU\", \"continent\": \"OC\" },\n"
	"    \"2001:db8::/32\":  { \"country\": \"JP\", \"continent\": \"AS\", \"lat\": 35.68, \"lon\": 139.69 },\n"
	"    \"2001:db8:0:1::5/128\": { \"datacenter\": \"v6-host\" },\n"
	"    \"2a00::/12\":      { }\n"
	"  }\n"
	"}\n";

/* The networks of map_json for the netmask model, with the alias path. */
static const char *const map_nets[] = {"0.0.0.0/1", "10.1.0.0/16", "10.1.2.0/24",
	"10.1.2.16/28", "10.3.0.0/16", "10.4.0.0/16", "10.5.0.0/16", "192.0.2.1/32",
	"172.16.0.0/12", "2001::/16", "2001:db8::/32", "2001:db8:0:1::5/128", "2a00::/12",
	"::ffff:0:0/96"};

#define NO NAN
static const struct want wants[] = {
	/* the nested /16 /24 /28, and around them */
	{"10.1.0.0", true, 119, 59.33, 18.06, "SE", "EU", "Stockholm", NULL},
	{"10.1.255.255", true, -2, 59.33, 18.06, "SE", "EU", "Stockholm", NULL},
	{"10.1.1.255", true, -2, 59.33, 18.06, "SE", "EU", "Stockholm", NULL},
	{"10.1.3.0", true, -2, 59.33, 18.06, "SE", "EU", "Stockholm", NULL},
	{"10.1.2.0", true, -2, NO, NO, NULL, NULL, NULL, "eu-london"},
	{"10.1.2.15", true, -2, NO, NO, NULL, NULL, NULL, "eu-london"},
	{"10.1.2.32", true, -2, NO, NO, NULL, NULL, NULL, "eu-london"},
	{"10.1.2.255", true, -2, NO, NO, NULL, NULL, NULL, "eu-london"},
	{"10.1.2.16", true, 124, 51.5, -0.13, "GB", "EU", "London", "eu-london"},
	{"10.1.2.31", true, 124, 51.5, -0.13, "GB", "EU", "London", "eu-london"},
	/* the wide 0.0.0.0/1 around them: the rest of the /1 */
	{"10.0.255.255", true, -2, NO, NO, "US", "NA", NULL, NULL},
	{"10.2.0.1", true, -2, NO, NO, "US", "NA", NULL, NULL},
	{"0.0.0.0", true, -2, NO, NO, "US", "NA", NULL, NULL},
	{"127.255.255.255", true, -2, NO, NO, "US", "NA", NULL, NULL},
	{"1.2.3.4", true, -2, NO, NO, "US", "NA", NULL, NULL},
	/* adjacent /16s, two with the same record */
	{"10.3.0.0", true, 112, NO, NO, "FI", "EU", NULL, NULL},
	{"10.4.255.255", true, 112, NO, NO, "FI", "EU", NULL, NULL},
	{"10.5.0.0", true, 112, NO, NO, "NO", "EU", NULL, NULL},
	{"10.6.0.0", true, -2, NO, NO, "US", "NA", NULL, NULL},
	/* a /32 in the empty upper half of IPv4 */
	{"192.0.2.1", true, 128, -33.9, 151.2, NULL, NULL, "Hostville", NULL},
	{"192.0.2.0", false, -2, NO, NO, NULL, NULL, NULL, NULL},
	{"192.0.2.2", false, -2, NO, NO, NULL, NULL, NULL, NULL},
	{"128.0.0.0", false, -2, NO, NO, NULL, NULL, NULL, NULL},
	{"255.255.255.255", false, -2, NO, NO, NULL, NULL, NULL, NULL},
	/* given in the IPv4-mapped form: stored as IPv4 */
	{"172.16.0.0", true, 108, NO, NO, "DE", "EU", NULL, NULL},
	{"172.31.255.255", true, 108, NO, NO, "DE", "EU", NULL, NULL},
	{"172.32.0.0", false, -2, NO, NO, NULL, NULL, NULL, NULL},
	/* IPv6: /32 inside /16, a /128 inside the /32 */
	{"2001::", true, -2, NO, NO, "AU", "OC", NULL, NULL},
	{"2001:db7:ffff::1", true, -2, NO, NO, "AU", "OC", NULL, NULL},
	{"2001:db9::", true, -2, NO, NO, "AU", "OC", NULL, NULL},
	{"2001:ffff::1", true, 17, NO, NO, "AU", "OC", NULL, NULL},
	{"2001:db8::", true, -2, 35.68, 139.69, "JP", "AS", NULL, NULL},
	{"2001:db8:ffff::1", true, -2, 35.68, 139.69, "JP", "AS", NULL, NULL},
	{"2001:db8:0:1::4", true, 128, 35.68, 139.69, "JP", "AS", NULL, NULL},
	{"2001:db8:0:1::5", true, 128, NO, NO, NULL, NULL, NULL, "v6-host"},
	{"2001:db8:0:1::6", true, 127, 35.68, 139.69, "JP", "AS", NULL, NULL},
	{"2000::", false, -2, NO, NO, NULL, NULL, NULL, NULL},
	{"2002::1", false, -2, NO, NO, NULL, NULL, NULL, NULL},
	/* an empty object is a record with no fields: found, masks nothing else */
	{"2a00::1", true, 12, NO, NO, NULL, NULL, NULL, NULL},
	{"2a10::1", false, -2, NO, NO, NULL, NULL, NULL, NULL},
	/* ::/96 is where IPv4 lives: ::1 is 0.0.0.1 */
	{"::1", true, -2, NO, NO, "US", "NA", NULL, NULL},
	{"::1:0:0:1", false, -2, NO, NO, NULL, NULL, NULL, NULL},
	{"::fffe:0:1", false, -2, NO, NO, NULL, NULL, NULL, NULL},
	{"fe80::1", false, -2, NO, NO, NULL, NULL, NULL, NULL},
};

/* Every lookup of the table in one record layout (rs 0: the writer's choice). */
static void lookups_in(unsigned rs, unsigned want_rs)
{
	MMDB_s db;
	struct mapc_stats st;
	char path[64];
	force_rs = rs;
	open_db(map_json, &db, &st, path);
	force_rs = 0;
	assert_int_equal(st.networks, 13);
	/* 10.3/16 and 10.4/16 share one record */
	assert_int_equal(st.records, 12);
	assert_int_equal(st.record_size, want_rs);
	assert_int_equal(db.metadata.record_size, want_rs);
	for (size_t i = 0; i < sizeof(wants) / sizeof(*wants); i++) {
		struct want w = wants[i];
		unsigned m = model_netmask(map_nets, sizeof(map_nets) / sizeof(*map_nets), w.ip);
		if (w.netmask == -2)
			w.netmask = (int)m;
		else if ((unsigned)w.netmask != m)
			fail_msg("%s: the model says %u, the table %d", w.ip, m, w.netmask);
		check(&db, &w);
	}
	close_db(&db, path);
}

/* The table in each layout: 24 is what this small map gets by itself. */
static void test_lookups(void **state)
{
	(void)state;
	lookups_in(0, 24);
	lookups_in(28, 28);
	lookups_in(32, 32);
}

/* ::ffff:a.b.c.d finds what a.b.c.d finds (the alias), netmask in the 128-bit tree. */
static void test_mapped(void **state)
{
	(void)state;
	MMDB_s db;
	struct mapc_stats st;
	char path[64], ip[64];
	open_db(map_json, &db, &st, path);
	for (size_t i = 0; i < sizeof(wants) / sizeof(*wants); i++) {
		if (strchr(wants[i].ip, ':'))
			continue;
		struct want w = wants[i];
		snprintf(ip, sizeof(ip), "::ffff:%s", w.ip);
		w.ip = ip;
		w.netmask = -1;
		check(&db, &w);
		int gai, me;
		MMDB_lookup_result_s a = MMDB_lookup_string(&db, wants[i].ip, &gai, &me);
		MMDB_lookup_result_s b = MMDB_lookup_string(&db, ip, &gai, &me);
		assert_int_equal(a.found_entry, b.found_entry);
		if (a.found_entry)
			assert_int_equal(a.entry.offset, b.entry.offset);
		/* the alias makes the mapped lookup end at the same depth */
		assert_int_equal(a.netmask, b.netmask);
	}
	close_db(&db, path);
}

static void tree_and_metadata_in(unsigned rs)
{
	MMDB_s db;
	struct mapc_stats st;
	char path[64];
	force_rs = rs;
	open_db(map_json, &db, &st, path);
	force_rs = 0;
	assert_int_equal(db.metadata.node_count, st.node_count);
	assert_int_equal(db.metadata.record_size, rs);
	assert_int_equal(db.metadata.ip_version, 6);
	assert_int_equal(db.metadata.binary_format_major_version, 2);
	assert_int_equal(db.metadata.binary_format_minor_version, 0);
	assert_int_equal(db.metadata.build_epoch, 1700000000);
	assert_string_equal(db.metadata.database_type, "cairn-Map");
	assert_int_equal(db.metadata.languages.count, 1);
	assert_string_equal(db.metadata.languages.names[0], "en");
	assert_int_equal(db.metadata.description.count, 1);
	assert_string_equal(db.metadata.description.descriptions[0]->language, "en");
	assert_string_equal(db.metadata.description.descriptions[0]->description, "unit test map");
	MMDB_entry_data_list_s *md = NULL;
	assert_int_equal(MMDB_get_metadata_as_entry_data_list(&db, &md), MMDB_SUCCESS);
	assert_non_null(md);
	MMDB_free_entry_data_list(md);
	/* every node reachable from the root, every data record decodes */
	uint8_t *seen = calloc(st.node_count, 1);
	size_t nseen = 0;
	assert_non_null(seen);
	size_t data = walk(&db, 0, 0, seen, &nseen);
	assert_int_equal(nseen, st.node_count);
	assert_true(data >= 13);
	free(seen);
	close_db(&db, path);
}

/* Metadata, and the whole tree and data section decode, in each layout. */
static void test_tree_and_metadata(void **state)
{
	(void)state;
	tree_and_metadata_in(24);
	tree_and_metadata_in(28);
	tree_and_metadata_in(32);
}

/* Same input in another order, same bytes; SOURCE_DATE_EPOCH-style epochs kept. */
static void test_reproducible(void **state)
{
	(void)state;
	static const char a[] = "{\"networks\": {\"10.0.0.0/8\": {\"country\": \"SE\"},"
		" \"2001:db8::/32\": {\"datacenter\": \"x\"}, \"10.1.0.0/16\": {\"city\": \"A\"}}}";
	static const char b[] = "{\"networks\": {\"10.1.0.0/16\": {\"city\": \"A\"},"
		" \"2001:db8::/32\": {\"datacenter\": \"x\"}, \"10.0.0.0/8\": {\"country\": \"SE\"}}}";
	struct mapc_buf x, y;
	char err[256];
	assert_int_equal(compile(a, 42, &x, NULL, err, sizeof(err)), 0);
	assert_int_equal(compile(b, 42, &y, NULL, err, sizeof(err)), 0);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	mapc_buf_deinit(&x);
	mapc_buf_deinit(&y);
	force_rs = 20;
	assert_int_equal(compile(a, 42, &x, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.json: record size 20 is not 24, 28 or 32");
	force_rs = 0;
	mapc_buf_deinit(&x);
	/* libmaxminddb refuses build_epoch 0, so it is not written */
	assert_int_equal(compile(a, 0, &x, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.json: a build time of 0 is refused by libmaxminddb "
		"(SOURCE_DATE_EPOCH must be 1 or later)");
	assert_int_equal(x.len, 0);
	mapc_buf_deinit(&x);
}

/* No networks: a valid database where nothing is found; one node. */
static void test_empty(void **state)
{
	(void)state;
	MMDB_s db;
	struct mapc_stats st;
	char path[64];
	open_db("{\"networks\": {}}", &db, &st, path);
	assert_int_equal(st.node_count, 1);
	struct want w1 = {"10.0.0.1", false, -1, NO, NO, NULL, NULL, NULL, NULL};
	struct want w2 = {"2001:db8::1", false, 1, NO, NO, NULL, NULL, NULL, NULL};
	check(&db, &w1);
	check(&db, &w2);
	close_db(&db, path);
}

/* ::/0 under IPv4 networks: IPv4 space outside them, and mapped, gets ::/0's record. */
static void test_v6_default(void **state)
{
	(void)state;
	MMDB_s db;
	struct mapc_stats st;
	char path[64];
	open_db("{\"networks\": {\"::/0\": {\"country\": \"ZZ\"}, \"10.0.0.0/8\": {\"country\": \"SE\"},"
		" \"0.0.0.0/0\": {\"country\": \"YY\"}, \"0.0.0.0/32\": {\"country\": \"XX\"}}}",
		&db, &st, path);
	static const struct want w[] = {
		{"10.1.1.1", true, 104, NO, NO, "SE", NULL, NULL, NULL},
		{"::ffff:10.1.1.1", true, 104, NO, NO, "SE", NULL, NULL, NULL},
		{"11.1.1.1", true, -1, NO, NO, "YY", NULL, NULL, NULL},
		{"::ffff:11.1.1.1", true, -1, NO, NO, "YY", NULL, NULL, NULL},
		{"0.0.0.0", true, 128, NO, NO, "XX", NULL, NULL, NULL},
		{"2001:db8::1", true, 1, NO, NO, "ZZ", NULL, NULL, NULL},
		{"::1:0:0:1", true, -1, NO, NO, "ZZ", NULL, NULL, NULL},
		{"::fffe:0:1", true, -1, NO, NO, "ZZ", NULL, NULL, NULL},
	};
	static const char *const nets[] = {"::/0", "10.0.0.0/8", "0.0.0.0/0", "0.0.0.0/32",
		"::ffff:0:0/96"};
	for (size_t i = 0; i < sizeof(w) / sizeof(*w); i++) {
		struct want x = w[i];
		x.netmask = (int)model_netmask(nets, 5, x.ip);
		check(&db, &x);
	}
	close_db(&db, path);
}

/* The record on the ::ffff:0:0/96 path at depth 96 (the alias) and the one of ::/96. */
static void alias_records(MMDB_s *db, MMDB_search_node_s *v4, MMDB_search_node_s *mapped)
{
	uint32_t a = 0, b = 0;
	for (unsigned d = 0; d < 95; d++) {
		MMDB_search_node_s n;
		assert_int_equal(MMDB_read_node(db, a, &n), MMDB_SUCCESS);
		assert_int_equal(n.left_record_type, MMDB_RECORD_TYPE_SEARCH_NODE);
		a = (uint32_t)n.left_record;
		assert_int_equal(MMDB_read_node(db, b, &n), MMDB_SUCCESS);
		if (d < 80) {
			assert_int_equal(n.left_record_type, MMDB_RECORD_TYPE_SEARCH_NODE);
			b = (uint32_t)n.left_record;
		} else {
			assert_int_equal(n.right_record_type, MMDB_RECORD_TYPE_SEARCH_NODE);
			b = (uint32_t)n.right_record;
		}
	}
	assert_int_equal(MMDB_read_node(db, a, v4), MMDB_SUCCESS);
	assert_int_equal(MMDB_read_node(db, b, mapped), MMDB_SUCCESS);
}

/*
 * The alias is a pointer to the node of ::/96 (what readers that walk the
 * tree recognise), also when all of IPv4 is one network.
 */
static void test_alias_node(void **state)
{
	(void)state;
	static const char *const maps[] = {
		"{\"networks\": {\"0.0.0.0/0\": {\"country\": \"SE\"}}}",
		"{\"networks\": {\"10.0.0.0/8\": {\"country\": \"SE\"}}}",
		"{\"networks\": {\"0.0.0.0/0\": {\"country\": \"SE\"}, \"::/0\": {}}}",
	};
	for (size_t i = 0; i < sizeof(maps) / sizeof(*maps); i++) {
		MMDB_s db;
		struct mapc_stats st;
		MMDB_search_node_s v4, mapped;
		char path[64];
		open_db(maps[i], &db, &st, path);
		alias_records(&db, &v4, &mapped);
		/* ::/96 (left of the depth-95 node) and ::ffff:0:0/96 (right) */
		assert_int_equal(v4.left_record_type, MMDB_RECORD_TYPE_SEARCH_NODE);
		assert_int_equal(mapped.right_record_type, MMDB_RECORD_TYPE_SEARCH_NODE);
		assert_int_equal(v4.left_record, mapped.right_record);
		struct want w1 = {"10.1.2.3", true, -1, NO, NO, "SE", NULL, NULL, NULL};
		struct want w2 = {"::ffff:10.1.2.3", true, -1, NO, NO, "SE", NULL, NULL, NULL};
		check(&db, &w1);
		check(&db, &w2);
		close_db(&db, path);
	}
}

/*
 * Record values past 2^24 (a data section over 16 MiB: 66001 networks with
 * distinct 250-byte city names), so the 28-bit layout's shared nibble and the
 * 32-bit layout carry real bits, and repeated city maps far back are reached
 * through 3- and 4-byte pointers. Checked through libmaxminddb in both layouts.
 */
#define LARGE_N 66001u /* odd: the last one has an empty sibling (nibbles differ) */

static void large_city(unsigned i, char *buf, size_t cap)
{
	/* every 10th network past 50000 repeats a city from 49000 networks back */
	unsigned c = (i >= 50000 && i % 10 == 0) ? i - 49000 : i;
	int n = snprintf(buf, cap, "c%06u-", c);
	memset(buf + n, 'a' + (char)(c % 26), 250 - (size_t)n);
	buf[250] = '\0';
}

static void large_in(unsigned rs, unsigned want_rs)
{
	struct mapc_writer *w;
	struct mapc_buf b = {.mm = &tmm};
	struct mapc_stats st;
	struct mapc_meta meta = {"cairn-Map", "large", 1700000000, rs};
	char city[256], path[64];

	assert_int_equal(mapc_writer_new(&tmm, &w), 0);
	for (unsigned i = 0; i < LARGE_N; i++) {
		uint8_t a[16] = {0};
		struct mapc_record rec = {0};
		uint32_t v4 = (10u << 24) + i;
		a[12] = (uint8_t)(v4 >> 24);
		a[13] = (uint8_t)(v4 >> 16);
		a[14] = (uint8_t)(v4 >> 8);
		a[15] = (uint8_t)v4;
		large_city(i, city, sizeof(city));
		rec.city = city;
		if (i >= 50000 && i % 10 == 0)
			memcpy(rec.country, "SE", 3);
		assert_int_equal(mapc_writer_add(w, a, 128, &rec), 0);
	}
	assert_int_equal(mapc_writer_build(w, &meta, &b, &st), 0);
	mapc_writer_free(w);
	assert_int_equal(st.record_size, want_rs);
	assert_int_equal(st.records, LARGE_N);
	assert_true(st.data_bytes + st.node_count + 16 > (1u << 24));

	strcpy(path, "/tmp/cairn-test-mapc-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	mapc_buf_deinit(&b);
	MMDB_s db;
	assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &db), MMDB_SUCCESS);
	assert_int_equal(db.metadata.record_size, want_rs);
	for (unsigned i = 0; i < LARGE_N; i += (i < LARGE_N - 300 ? 97 : 1)) {
		char ip[32];
		uint32_t v4 = (10u << 24) + i;
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", v4 >> 24, (v4 >> 16) & 255,
			(v4 >> 8) & 255, v4 & 255);
		large_city(i, city, sizeof(city));
		struct want wt = {ip, true, 128, NO, NO,
			(i >= 50000 && i % 10 == 0) ? "SE" : NULL, NULL, city, NULL};
		check(&db, &wt);
	}
	struct want none = {"10.1.1.209", false, -1, NO, NO, NULL, NULL, NULL, NULL};
	check(&db, &none);
	close_db(&db, path);
}

static void test_large_layouts(void **state)
{
	(void)state;
	large_in(0, 28);
	large_in(32, 32);
}

/* ---- bad input ------------------------------------------------------------------- */

static void bad(const char *json, const char *want)
{
	struct mapc_buf b;
	char err[512];
	int r = compile(json, 1, &b, NULL, err, sizeof(err));
	if (r != DNS_E_CONFIG)
		fail_msg("%s: returned %d", json, r);
	if (strcmp(err, want) != 0)
		fail_msg("got  \"%s\"\nwant \"%s\"", err, want);
	assert_int_equal(b.len, 0);
	mapc_buf_deinit(&b);
}

static void test_bad_input(void **state)
{
	(void)state;
	bad("{\"networks\": {\n  \"10.0.0.0/8\": {}\n",
		"t.json:3:0: '}' expected near end of file");
	bad("{\"networks\": {\"10.0.0.0/8\": {}, \"10.0.0.0/8\": {}}}",
		"t.json:1:44: duplicate object key near '\"10.0.0.0/8\"'");
	bad("[1]", "t.json: the networks file must be a JSON object, not an array");
	bad("{\"networks\": {}, \"nets\": 1}", "t.json: unknown key \"nets\"");
	bad("{}", "t.json: networks: missing");
	bad("{\"networks\": []}", "t.json: networks: must be an object, not an array");
	bad("{\"description\": 5, \"networks\": {}}", "t.json: description: must be a string, not an integer");
	bad("{\"networks\": {\"10.1.2.3/16\": {}}}",
		"t.json: networks[\"10.1.2.3/16\"]: host bits are set (the network is 10.1.0.0/16)");
	bad("{\"networks\": {\"2001:db8::1/32\": {}}}",
		"t.json: networks[\"2001:db8::1/32\"]: host bits are set (the network is 2001:db8::/32)");
	bad("{\"networks\": {\"10.0.0.0/33\": {}}}",
		"t.json: networks[\"10.0.0.0/33\"]: prefix length 33 is longer than 32");
	bad("{\"networks\": {\"10.0.0/8\": {}}}",
		"t.json: networks[\"10.0.0/8\"]: \"10.0.0\" is not an IP address");
	bad("{\"networks\": {\"10.0.0.0/x\": {}}}", "t.json: networks[\"10.0.0.0/x\"]: bad prefix length");
	bad("{\"networks\": {\"10.0.0.0/8\": 1}}",
		"t.json: networks[\"10.0.0.0/8\"]: must be an object, not an integer");
	bad("{\"networks\": {\"10.0.0.0/8\": {\"lattitude\": 1}}}",
		"t.json: networks[\"10.0.0.0/8\"]: unknown key \"lattitude\"");
	bad("{\"networks\": {\"10.0.0.0/8\": {\"lat\": 1}}}",
		"t.json: networks[\"10.0.0.0/8\"]: lat without lon");
	bad("{\"networks\": {\"10.0.0.0/8\": {\"lon\": 1}}}",
		"t.json: networks[\"10.0.0.0/8\"]: lon without lat");
	bad("{\"networks\": {\"10.0.0.0/8\": {\"lat\": 91, \"lon\": 0}}}",
		"t.json: networks[\"10.0.0.0/8\"].lat: 91 is out of range -90..90");
	bad("{\"networks\": {\"10.0.0.0/8\": {\"lat\": 0, \"lon\": -180.5}}}",
		"t.json: networks[\"10.0.0.0/8\"].lon: -180.5 is out of range -180..180");
	bad("{\"networks\": {\"10.0.0.0/8\": {\"lat\": \"1\", \"lon\": 0}}}",
		"t.json: networks[\"10.0.0.0/8\"].lat: must be a number, not a string");
	bad("{\"networks\": {\"10.0.0.0/8\": {\"country\": \"se\"}}}",
		"t.json: networks[\"10.0.0.0/8\"].country: \"se\" is not an ISO 3166 alpha-2 code (two upper-case letters)");
	bad("{\"networks\": {\"10.0.0.0/8\": {\"continent\": \"EUR\"}}}",
		"t.json: networks[\"10.0.0.0/8\"].continent: \"EUR\" is not a continent code (AF AN AS EU NA OC SA)");
	bad("{\"networks\": {\"10.0.0.0/8\": {\"city\": \"\"}}}",
		"t.json: networks[\"10.0.0.0/8\"].city: must be 1..255 bytes long");
	bad("{\"networks\": {\"10.0.0.0/8\": {\"datacenter\": \"eu london\"}}}",
		"t.json: networks[\"10.0.0.0/8\"].datacenter: \"eu london\" is not a datacenter name (1..63 of A-Z a-z 0-9 _ . -)");
	bad("{\"networks\": {\"10.0.0.0/8\": {}, \"::ffff:10.0.0.0/104\": {}}}",
		"t.json: networks[\"::ffff:10.0.0.0/104\"]: the same network as \"10.0.0.0/8\"");
	bad("{\"networks\": {\"::1/128\": {}}}",
		"t.json: networks[\"::1/128\"]: inside ::/96, where IPv4 networks are stored; write it as an IPv4 network");
	bad("{\"networks\": {\"::ff00:0:0/88\": {}}}",
		"t.json: networks[\"::ff00:0:0/88\"]: covers ::ffff:0:0/96, the IPv4-mapped addresses, without ::/96; use /80 or shorter, or IPv4 networks");
}

/* The writer API directly: bad prefixes and records are refused. */
static void test_api(void **state)
{
	(void)state;
	struct mapc_writer *w;
	struct mapc_record rec = {0};
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
	assert_int_equal(mapc_writer_new(&tmm, &w), 0);
	assert_int_equal(mapc_writer_add(w, a, 16, &rec), -EINVAL);  /* host bits */
	assert_int_equal(mapc_writer_add(w, a, 129, &rec), -EINVAL);
	rec.has_location = true;
	rec.lat = 100;
	assert_int_equal(mapc_writer_add(w, a, 32, &rec), -EINVAL);
	rec.lat = 1;
	rec.city = "x";
	assert_int_equal(mapc_writer_add(w, a, 32, &rec), 0);
	assert_int_equal(mapc_writer_add(w, a, 32, &rec), 0);
	struct mapc_buf b = {.mm = &tmm};
	struct mapc_stats st;
	struct mapc_meta meta = {"t", "d", 1, 0};
	assert_int_equal(mapc_writer_build(w, &meta, &b, &st), DNS_E_EXISTS);
	assert_int_equal(st.dup[0], 0);
	assert_int_equal(st.dup[1], 1);
	mapc_buf_deinit(&b);
	mapc_writer_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_mapped),
		cmocka_unit_test(test_tree_and_metadata),
		cmocka_unit_test(test_reproducible),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_v6_default),
		cmocka_unit_test(test_alias_node),
		cmocka_unit_test(test_large_layouts),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

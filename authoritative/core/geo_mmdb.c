/*
 * geo_mmdb.c -- struct geo_source over libmaxminddb (geo_mmdb.h), on a
 * database the io layer opened.
 *
 * The walk reads the search tree node by node (MMDB_read_node) from the root
 * with an explicit stack, so every network with a record is reported once
 * with its exact prefix. Records are decoded once per data offset: most
 * networks of a City database share a few records per city.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <maxminddb.h>

#include "dns_err.h"
#include "geo_mmdb.h"

/* Decoded record by data offset (the walk's cache). */
struct rec_ent {
	uint32_t offset;       /* 0: empty slot (no record starts at offset 0 of
	                        * the data section: offsets are biased by the tree) */
	struct geo_place place;
};

struct rec_cache {
	const struct dns_mm *mm;
	struct rec_ent *e;
	size_t mask, n;
};

static void copy_str(char *dst, size_t cap, const MMDB_entry_data_s *d)
{
	size_t n = d->data_size < cap - 1 ? d->data_size : cap - 1;
	memcpy(dst, d->utf8_string, n);
	dst[n] = '\0';
}

static bool get_double(MMDB_entry_s *e, double *out, const char *const *path)
{
	MMDB_entry_data_s d;
	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data)
		return false;
	switch (d.type) {
	case MMDB_DATA_TYPE_DOUBLE: *out = d.double_value; return true;
	case MMDB_DATA_TYPE_FLOAT: *out = d.float_value; return true;
	default: return false;
	}
}

static void get_str(MMDB_entry_s *e, char *dst, size_t cap, const char *const *path)
{
	MMDB_entry_data_s d;
	dst[0] = '\0';
	if (MMDB_aget_value(e, &d, path) == MMDB_SUCCESS && d.has_data &&
	    d.type == MMDB_DATA_TYPE_UTF8_STRING)
		copy_str(dst, cap, &d);
}

/* The GeoLite2-City fields steering reads (plus cairn-mapc's "datacenter"). */
static void decode(MMDB_entry_s *e, struct geo_place *p)
{
	static const char *const lat[] = {"location", "latitude", NULL};
	static const char *const lon[] = {"location", "longitude", NULL};
	static const char *const cc[] = {"country", "iso_code", NULL};
	static const char *const ct[] = {"continent", "code", NULL};
	static const char *const city[] = {"city", "names", "en", NULL};
	static const char *const dc[] = {"datacenter", NULL};
	memset(p, 0, sizeof(*p));
	p->has_coords = get_double(e, &p->lat, lat) && get_double(e, &p->lon, lon) &&
		p->lat >= -90 && p->lat <= 90 && p->lon >= -180 && p->lon <= 180;
	if (!p->has_coords)
		p->lat = p->lon = 0;
	get_str(e, p->country, sizeof(p->country), cc);
	get_str(e, p->continent, sizeof(p->continent), ct);
	get_str(e, p->city, sizeof(p->city), city);
	get_str(e, p->dc, sizeof(p->dc), dc);
}

static const struct geo_place *cache_get(struct rec_cache *c, MMDB_entry_s *e)
{
	if (!c->e || 2 * (c->n + 1) > c->mask + 1) {
		size_t slots = c->e ? 2 * (c->mask + 1) : 256;
		struct rec_ent *n = mm_calloc(c->mm, slots, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t i = 0; c->e && i <= c->mask; i++) {
			if (!c->e[i].offset)
				continue;
			size_t h = (c->e[i].offset * 2654435761u) & (slots - 1);
			while (n[h].offset)
				h = (h + 1) & (slots - 1);
			n[h] = c->e[i];
		}
		mm_free(c->mm, c->e);
		c->e = n;
		c->mask = slots - 1;
	}
	uint32_t key = e->offset + 1;
	size_t h = (key * 2654435761u) & c->mask;
	while (c->e[h].offset) {
		if (c->e[h].offset == key)
			return &c->e[h].place;
		h = (h + 1) & c->mask;
	}
	c->e[h].offset = key;
	decode(e, &c->e[h].place);
	c->n++;
	return &c->e[h].place;
}

static const uint8_t zero12[12];

struct frame {
	uint32_t node;
	uint8_t depth;
	uint8_t addr[16];
};

/*
 * A network with a record (a/d in the database's own tree) handed to cb at
 * its place in the 128-bit tree.
 */
static int report(struct rec_cache *cache, MMDB_entry_s *e, bool v4db, const uint8_t a[16],
	unsigned d,
	int (*cb)(void *cbctx, const uint8_t addr[16], unsigned len, const struct geo_place *place),
	void *cbctx)
{
	const struct geo_place *p = cache_get(cache, e);
	uint8_t out[16] = {0};
	unsigned len;

	if (!p)
		return -ENOMEM;
	if (v4db) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, a, 4);
		len = d + 96;
	} else {
		memcpy(out, a, 16);
		len = d;
		if (d >= 96 && memcmp(a, zero12, 12) == 0) {
			/* the IPv4 space of an IPv6 database */
			out[10] = out[11] = 0xff;
		}
	}
	return cb(cbctx, out, len, p);
}

static int mmdb_foreach(void *ctx,
	int (*cb)(void *cbctx, const uint8_t addr[16], unsigned len, const struct geo_place *place),
	void *cbctx)
{
	struct geo_mmdb *s = ctx;
	MMDB_s *db = s->db;
	const bool v4db = db->metadata.ip_version == 4;
	const unsigned bits = v4db ? 32 : 128;
	const uint32_t nodes = db->metadata.node_count;
	struct rec_cache cache = {.mm = s->mm};
	/* a tree of depth <= 128 never needs more than 129 pending frames */
	struct frame stack[130];
	size_t sp = 0;
	uint64_t visits = 0;
	int rc = 0;

	stack[sp].node = 0;
	stack[sp].depth = 0;
	memset(stack[sp].addr, 0, 16);
	sp++;
	while (sp > 0) {
		struct frame f = stack[--sp];
		MMDB_search_node_s sn;
		/* every node is visited once in a tree (the IPv4 aliases are not
		 * followed); a few shared subtrees are walked once per path, but a
		 * crafted file sharing them at every level would take forever */
		if (++visits > 4 * (uint64_t)nodes + 4) {
			rc = DNS_E_FORMAT;
			break;
		}
		if (MMDB_read_node(db, f.node, &sn) != MMDB_SUCCESS) {
			rc = DNS_E_FORMAT;
			break;
		}
		/* right first so the left (lower addresses) comes off the stack first */
		for (int side = 1; side >= 0; side--) {
			uint8_t type = side ? sn.right_record_type : sn.left_record_type;
			uint64_t rec = side ? sn.right_record : sn.left_record;
			unsigned d = f.depth + 1u;
			uint8_t a[16];
			memcpy(a, f.addr, 16);
			if (side)
				a[f.depth >> 3] |= (uint8_t)(0x80 >> (f.depth & 7));
			if (type == MMDB_RECORD_TYPE_EMPTY)
				continue;
			if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
				if (d >= bits) {
					rc = DNS_E_FORMAT;
					break;
				}
				/* ::ffff:0:0/96 and 2002::/16 lead back into ::/96: walked there */
				if (!v4db && rec == s->v4_node &&
				    (d != 96 || memcmp(a, zero12, 12) != 0))
					continue;
				if (sp >= sizeof(stack) / sizeof(stack[0])) {
					rc = DNS_E_FORMAT;
					break;
				}
				stack[sp].node = (uint32_t)rec;
				stack[sp].depth = (uint8_t)d;
				memcpy(stack[sp].addr, a, 16);
				sp++;
				continue;
			}
			if (type != MMDB_RECORD_TYPE_DATA) {
				rc = DNS_E_FORMAT;
				break;
			}
			MMDB_entry_s *e = side ? &sn.right_record_entry : &sn.left_record_entry;
			if ((rc = report(&cache, e, v4db, a, d, cb, cbctx)) != 0)
				break;
		}
		if (rc)
			break;
	}
	mm_free(s->mm, cache.e);
	return rc;
}

static int mmdb_lookup(void *ctx, const uint8_t addr[16], struct geo_place *out, unsigned *len)
{
	struct geo_mmdb *s = ctx;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	struct sockaddr_storage ss;
	int mmerr = 0;
	bool v4 = memcmp(addr, mapped, 12) == 0;
	memset(&ss, 0, sizeof(ss));
	if (v4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr + 12, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		if (s->db->metadata.ip_version == 4)
			return 0;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
	}
	MMDB_lookup_result_s r = MMDB_lookup_sockaddr(s->db, (struct sockaddr *)&ss, &mmerr);
	if (mmerr != MMDB_SUCCESS)
		return mmerr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR ? 0 : DNS_E_FORMAT;
	if (!r.found_entry)
		return 0;
	decode(&r.entry, out);
	/* an IPv4 lookup in an IPv6 tree already counts the 96 bits of ::/96 */
	*len = s->db->metadata.ip_version == 4 ? r.netmask + 96u : r.netmask;
	if (*len > 128)
		*len = 128;
	return 1;
}

int geo_mmdb_init(struct geo_mmdb *s, const struct dns_mm *mm, MMDB_s *db, const char *name,
	struct geo_source *out, char *err, size_t errlen)
{
	if (db->metadata.ip_version != 4 && db->metadata.ip_version != 6) {
		snprintf(err, errlen, "%s: unsupported ip_version %u", name, db->metadata.ip_version);
		return DNS_E_CONFIG;
	}
	s->db = db;
	s->mm = mm;
	s->v4_node = UINT32_MAX;
	if (db->metadata.ip_version == 6) {
		/* follow ::/96: where MaxMind keeps IPv4, and what its aliases point at */
		uint32_t node = 0;
		unsigned d;
		for (d = 0; d < 96 && node < db->metadata.node_count; d++) {
			MMDB_search_node_s sn;
			if (MMDB_read_node(db, node, &sn) != MMDB_SUCCESS ||
			    sn.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE)
				break;
			node = (uint32_t)sn.left_record;
		}
		if (d == 96)
			s->v4_node = node;
	}
	out->foreach = mmdb_foreach;
	out->lookup = mmdb_lookup;
	out->name = name;
	out->ctx = s;
	return 0;
}

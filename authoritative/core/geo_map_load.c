/*
 * geo_map_load.c -- loading a steering map: the JSON of docs/map-format.md
 * read with jansson (the datacenters in geo_map_dcs.c), every rule checked
 * with an error naming the JSON path, then the placement tree built
 * (geo_tree.c).
 */
#include "dns_name.h"
#include "geo_map_load_impl.h"

/*
 * A non-empty list of distinct DC names into idx (n entries). allow_empty for
 * none of this map's lists today; kept strict.
 */
static int get_dc_list(struct geo_ld *ld, const json_t *v, const char *path, uint8_t *idx,
	unsigned *n)
{
	char p[512];
	if (!json_is_array(v))
		return fail(ld, path, "must be an array of datacenter names, not %s", dns_json_kind(v));
	size_t cnt = json_array_size(v);
	if (cnt == 0)
		return fail(ld, path, "must not be empty");
	uint64_t seen = 0;
	for (size_t i = 0; i < cnt; i++) {
		json_t *e = json_array_get(v, i);
		path_idx(p, sizeof(p), path, i);
		if (!json_is_string(e))
			return fail(ld, p, "must be a datacenter name, not %s", dns_json_kind(e));
		int d = dc_find(ld->m, json_string_value(e));
		if (d < 0)
			return fail(ld, p, "unknown datacenter \"%.100s\"", json_string_value(e));
		if (seen & (1ull << d))
			return fail(ld, p, "datacenter \"%s\" listed twice", ld->m->dc[d].name);
		seen |= 1ull << d;
		idx[i] = (uint8_t)d;
	}
	*n = (unsigned)cnt;
	return 0;
}

/* ---- names ------------------------------------------------------------------- */

/* A name's answer size and TTLs (object v at path p; pool_n datacenters in its pool). */
static int load_name_answer(struct geo_ld *ld, const json_t *v, const char *p, unsigned pool_n,
	struct geo_name *nm)
{
	char q[512];
	json_t *x;

	nm->dcs = 1;
	nm->per_dc = 1;
	nm->ttl = 30;
	if ((x = json_object_get(v, "datacenters"))) {
		path_key(q, sizeof(q), p, "datacenters");
		if (get_uint(ld, x, q, 1, pool_n, &nm->dcs))
			return DNS_E_CONFIG;
	}
	if ((x = json_object_get(v, "addresses"))) {
		path_key(q, sizeof(q), p, "addresses");
		if (get_uint(ld, x, q, 1, GEO_ANSWER_MAX, &nm->per_dc))
			return DNS_E_CONFIG;
	}
	if (nm->dcs * nm->per_dc > GEO_ANSWER_MAX)
		return fail(ld, p, "datacenters %u x addresses %u is more than %d addresses per answer",
			nm->dcs, nm->per_dc, GEO_ANSWER_MAX);
	if ((x = json_object_get(v, "ttl"))) {
		path_key(q, sizeof(q), p, "ttl");
		if (get_uint(ld, x, q, 0, TTL_MAX, &nm->ttl))
			return DNS_E_CONFIG;
	}
	nm->degraded_ttl = nm->ttl < 10 ? nm->ttl : 10;
	if ((x = json_object_get(v, "degraded_ttl"))) {
		path_key(q, sizeof(q), p, "degraded_ttl");
		if (get_uint(ld, x, q, 0, TTL_MAX, &nm->degraded_ttl))
			return DNS_E_CONFIG;
		if (nm->degraded_ttl > nm->ttl)
			return fail(ld, q, "%u is longer than ttl %u", nm->degraded_ttl, nm->ttl);
	}
	return 0;
}

static int load_names(struct geo_ld *ld, const json_t *obj)
{
	static const char *const keys[] = {"pool", "datacenters", "addresses", "ttl", "degraded_ttl", NULL};
	struct geo_map *m = ld->m;
	char p[512], q[512];
	if (!obj)
		return 0;
	if (want_object(ld, obj, "names"))
		return DNS_E_CONFIG;
	size_t n = json_object_size(obj);
	if (n > 1000000)
		return fail(ld, "names", "too many names");
	m->names = mm_calloc(m->mm, n ? n : 1, sizeof(*m->names));
	uint32_t slots = 4;
	while (slots < 2 * n)
		slots <<= 1;
	m->name_slot = mm_calloc(m->mm, slots, sizeof(*m->name_slot));
	m->name_mask = slots - 1;
	if (!m->names || !m->name_slot)
		return fail_nomem(ld);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		struct geo_name *nm = &m->names[m->n_names];
		path_str(p, sizeof(p), "names", key);
		if (want_object(ld, v, p) || check_keys(ld, v, p, keys))
			return DNS_E_CONFIG;
		size_t wl = 0;
		if (dns_name_from_str(key, NULL, nm->owner, &wl) != 0 || wl == 0 || wl > DNS_NAME_MAX)
			return fail(ld, p, "not a valid domain name");
		dns_name_lower(nm->owner, nm->owner);
		nm->owner_len = wl;
		if (dns_name_to_str(nm->owner, nm->text, sizeof(nm->text)) < 0)
			return fail(ld, p, "not a valid domain name");
		if (geo_map_find(m, nm->owner, nm->owner_len))
			return fail(ld, p, "duplicate name %s", nm->text);

		json_t *pool = json_object_get(v, "pool");
		unsigned pool_n = m->n_dc;
		if (pool) {
			uint8_t idx[GEO_DC_MAX];
			path_key(q, sizeof(q), p, "pool");
			if (get_dc_list(ld, pool, q, idx, &pool_n))
				return DNS_E_CONFIG;
			for (unsigned i = 0; i < pool_n; i++)
				nm->pool |= 1ull << idx[i];
		} else {
			nm->pool = m->n_dc == 64 ? ~0ull : (1ull << m->n_dc) - 1;
		}
		if (load_name_answer(ld, v, p, pool_n, nm))
			return DNS_E_CONFIG;
		nm->index = m->n_names;
		uint32_t h = geo_name_hash(nm->owner, nm->owner_len) & m->name_mask;
		while (m->name_slot[h])
			h = (h + 1) & m->name_mask;
		m->name_slot[h] = m->n_names + 1;
		m->name_lens[nm->owner_len >> 6] |= 1ull << (nm->owner_len & 63);
		m->n_names++;
	}
	return 0;
}

/* ---- networks and defaults ------------------------------------------------- */

/* "ADDR/LEN" or "ADDR" into the 128-bit tree; host bits must be zero. */
static int parse_net(struct geo_ld *ld, const char *key, const char *path, struct geo_net *n)
{
	struct dns_json_err e = { ld->file, ld->err, ld->errlen };
	uint8_t fam, a[16];
	unsigned len;
	int rc = dns_json_prefix(&e, key, path, &fam, a, &len);
	if (rc < 0)
		return rc;
	memset(n->addr, 0, 16);
	if (fam == 4) {
		n->addr[10] = n->addr[11] = 0xff;
		memcpy(n->addr + 12, a, 4);
		n->len = len + 96;
	} else {
		memcpy(n->addr, a, 16);
		n->len = len;
	}
	char at[INET6_ADDRSTRLEN];
	/* 6to4 clients are placed as the IPv4 address they embed (geo_map_impl.h):
	 * a network in there would never match */
	if (n->len >= 16 && n->addr[0] == 0x20 && n->addr[1] == 0x02)
		return fail(ld, path, "inside 2002::/16 (6to4), whose clients are placed as the IPv4 address they embed: give the IPv4 network");
	inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, at, sizeof(at));
	snprintf(n->text, sizeof(n->text), "%s/%u", at, len);
	return 0;
}

static int load_networks(struct geo_ld *ld, const json_t *obj)
{
	static const char *const keys[] = {"datacenters", "lat", "lon", NULL};
	struct geo_map *m = ld->m;
	char p[512], q[512];
	if (!obj)
		return 0;
	if (want_object(ld, obj, "networks"))
		return DNS_E_CONFIG;
	size_t n = json_object_size(obj);
	m->nets = mm_calloc(m->mm, n ? n : 1, sizeof(*m->nets));
	if (!m->nets)
		return fail_nomem(ld);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		struct geo_net *nt = &m->nets[m->n_nets];
		path_str(p, sizeof(p), "networks", key);
		if (parse_net(ld, key, p, nt))
			return DNS_E_CONFIG;
		for (unsigned i = 0; i < m->n_nets; i++)
			if (m->nets[i].len == nt->len && memcmp(m->nets[i].addr, nt->addr, 16) == 0)
				return fail(ld, p, "the same network as \"%s\"", m->nets[i].text);
		if (want_object(ld, v, p) || check_keys(ld, v, p, keys))
			return DNS_E_CONFIG;
		json_t *dl = json_object_get(v, "datacenters");
		json_t *lat = json_object_get(v, "lat"), *lon = json_object_get(v, "lon");
		if (dl && (lat || lon))
			return fail(ld, p, "give either \"datacenters\" or \"lat\"+\"lon\", not both");
		if (dl) {
			path_key(q, sizeof(q), p, "datacenters");
			if (get_dc_list(ld, dl, q, nt->list, &nt->n_list))
				return DNS_E_CONFIG;
		} else {
			if (!lat && !lon)
				return fail(ld, p, "missing \"datacenters\" or \"lat\"+\"lon\"");
			if (!lat)
				return fail(ld, p, "missing \"lat\"");
			if (!lon)
				return fail(ld, p, "missing \"lon\"");
			path_key(q, sizeof(q), p, "lat");
			if (get_number(ld, lat, q, -90, 90, &nt->lat))
				return DNS_E_CONFIG;
			path_key(q, sizeof(q), p, "lon");
			if (get_number(ld, lon, q, -180, 180, &nt->lon))
				return DNS_E_CONFIG;
			nt->has_coords = true;
		}
		m->n_nets++;
	}
	return 0;
}

/* A country/continent list: its order index. */
static int list_order(struct geo_ld *ld, const json_t *v, const char *path, int32_t *out)
{
	uint8_t idx[GEO_DC_MAX], ord[GEO_DC_MAX];
	unsigned n;
	if (get_dc_list(ld, v, path, idx, &n))
		return DNS_E_CONFIG;
	geo_order_make(ld->m, idx, n, false, 0, 0, ld->m->default_order, ord);
	int64_t o = geo_order_intern(ld->m, ord);
	if (o < 0)
		return fail_nomem(ld);
	*out = (int32_t)o;
	return 0;
}

static int load_defaults(struct geo_ld *ld, const json_t *obj)
{
	static const char *const keys[] = {"order", "countries", "continents", NULL};
	struct geo_map *m = ld->m;
	char p[512];
	for (unsigned i = 0; i < m->n_dc; i++)
		m->default_order[i] = (uint8_t)i;
	for (unsigned i = 0; i < 26 * 26; i++)
		m->country[i] = -1;
	for (unsigned i = 0; i < 7; i++)
		m->continent[i] = -1;
	if (!obj)
		return 0;
	if (want_object(ld, obj, "defaults") || check_keys(ld, obj, "defaults", keys))
		return DNS_E_CONFIG;
	json_t *ord = json_object_get(obj, "order");
	if (ord) {
		uint8_t idx[GEO_DC_MAX], tmp[GEO_DC_MAX];
		unsigned n;
		if (get_dc_list(ld, ord, "defaults.order", idx, &n))
			return DNS_E_CONFIG;
		geo_order_make(m, idx, n, false, 0, 0, m->default_order, tmp);
		memcpy(m->default_order, tmp, m->n_dc);
	}
	const char *key;
	json_t *v;
	json_t *cs = json_object_get(obj, "countries");
	if (cs) {
		if (want_object(ld, cs, "defaults.countries"))
			return DNS_E_CONFIG;
		json_object_foreach(cs, key, v) {
			path_str(p, sizeof(p), "defaults.countries", key);
			if (strlen(key) != 2 || key[0] < 'A' || key[0] > 'Z' || key[1] < 'A' || key[1] > 'Z')
				return fail(ld, p, "not an ISO 3166 alpha-2 country code (two upper-case letters)");
			if (list_order(ld, v, p, &m->country[(key[0] - 'A') * 26 + (key[1] - 'A')]))
				return DNS_E_CONFIG;
		}
	}
	json_t *ct = json_object_get(obj, "continents");
	if (ct) {
		if (want_object(ld, ct, "defaults.continents"))
			return DNS_E_CONFIG;
		json_object_foreach(ct, key, v) {
			path_str(p, sizeof(p), "defaults.continents", key);
			int c = geo_continent_index(key);
			if (c < 0)
				return fail(ld, p, "not a continent code (AF AN AS EU NA OC SA)");
			if (list_order(ld, v, p, &m->continent[c]))
				return DNS_E_CONFIG;
		}
	}
	return 0;
}

/* ---- the whole map ----------------------------------------------------------- */

static int load_root(struct geo_ld *ld, const json_t *root, const struct geo_source *src,
	const struct geo_opener *opener)
{
	static const char *const keys[] = {"geoip", "health", "datacenters", "names",
		"networks", "defaults", NULL};
	static const char *const hkeys[] = {"interval", "timeout", "rise", "fall", NULL};
	struct geo_map *m = ld->m;
	struct geo_chk_def def = {DEF_INTERVAL_MS, DEF_TIMEOUT_MS, DEF_RISE, DEF_FALL};
	int rc;
	if (!json_is_object(root))
		return fail(ld, "", "the map must be a JSON object, not %s", dns_json_kind(root));
	if (check_keys(ld, root, "", keys))
		return DNS_E_CONFIG;
	json_t *geoip = json_object_get(root, "geoip");
	if (geoip && !json_is_string(geoip))
		return fail(ld, "geoip", "must be a file name, not %s", dns_json_kind(geoip));
	if (geoip && json_string_length(geoip) == 0)
		return fail(ld, "geoip", "empty file name");
	json_t *h = json_object_get(root, "health");
	if (h) {
		struct geo_chk_def t;
		if (want_object(ld, h, "health") || check_keys(ld, h, "health", hkeys) ||
		    geo_ld_timing(ld, h, "health", &def, &t))
			return DNS_E_CONFIG;
		def = t;
	}
	if ((rc = geo_ld_dcs(ld, json_object_get(root, "datacenters"), &def)) != 0)
		return rc;
	/* orders are n_dc bytes long: known from here on */
	if ((rc = load_defaults(ld, json_object_get(root, "defaults"))) != 0)
		return rc;
	if ((rc = load_names(ld, json_object_get(root, "names"))) != 0)
		return rc;
	if ((rc = load_networks(ld, json_object_get(root, "networks"))) != 0)
		return rc;

	if (geoip && src == NULL) {
		const char *g = json_string_value(geoip);
		if (!opener)
			return fail(ld, "geoip", "no GeoIP support here to open \"%s\"", g);
		char e[512] = "";
		if (opener->open(opener->ctx, g, &m->src, e, sizeof(e)) != 0)
			return fail(ld, "geoip", "%s", e[0] ? e : "cannot open");
		m->has_src = true;
		m->close_source = opener->close;
	} else if (src) {
		m->src = *src;
		m->has_src = src->foreach != NULL || src->lookup != NULL;
	}
	return geo_tree_build(m, ld->err, ld->errlen, ld->file);
}

static int load(const struct dns_mm *mm, const char *json, size_t len, const char *file,
	const struct geo_source *src, const struct geo_opener *opener, struct geo_map **out,
	char *err, size_t errlen)
{
	json_error_t je;
	*out = NULL;
	if (!file)
		file = "(map)";
	if (err && errlen)
		err[0] = '\0';
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%d:%d: %s", file, je.line, je.column, je.text);
		return DNS_E_CONFIG;
	}
	struct geo_map *m = mm_calloc(mm, 1, sizeof(*m));
	if (!m) {
		json_decref(root);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", file);
		return -ENOMEM;
	}
	m->mm = mm;
	struct geo_ld ld = {m, file, err, errlen};
	int rc = load_root(&ld, root, src, opener);
	json_decref(root);
	if (rc) {
		geo_map_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int geo_map_load(const struct dns_mm *mm, const char *json, size_t len, const char *file,
	const struct geo_opener *opener, struct geo_map **out, char *err, size_t errlen)
{
	return load(mm, json, len, file, NULL, opener, out, err, errlen);
}

int geo_map_load_with(const struct dns_mm *mm, const char *json, size_t len,
	const char *file, const struct geo_source *src, struct geo_map **out, char *err,
	size_t errlen)
{
	return load(mm, json, len, file, src, NULL, out, err, errlen);
}

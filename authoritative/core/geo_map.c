/*
 * geo_map.c -- loading a steering map: the JSON of docs/map-format.md read
 * with jansson, every rule checked with an error naming the JSON path, then
 * the placement tree built (geo_tree.c). Also the accessors and
 * geo_map_carry_health().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "dns_err.h"
#include "dns_hash.h"
#include "dns_name.h"
#include "dns_json.h"
#include "geo_map_impl.h"

/* Built-in health check defaults (map-format.md). */
#define DEF_INTERVAL_MS 5000u
#define DEF_TIMEOUT_MS 2000u
#define DEF_RISE 2u
#define DEF_FALL 3u
#define MIN_INTERVAL_MS 50u
#define MAX_INTERVAL_MS 86400000u
#define TTL_MAX 604800u
#define WEIGHT_MAX 1000u

const char *geo_placed_by_name(enum geo_placed_by by)
{
	switch (by) {
	case GEO_BY_NETWORK: return "network";
	case GEO_BY_GEOIP: return "geoip";
	case GEO_BY_COUNTRY: return "country";
	case GEO_BY_CONTINENT: return "continent";
	case GEO_BY_DEFAULT: return "default";
	}
	return "?";
}

/* ---- loader state and errors ------------------------------------------------- */

struct ld {
	struct geo_map *m;
	const char *file;
	char *err;
	size_t errlen;
};

/* Health check timing defaults in effect (map "health" or built in). */
struct chk_def {
	uint32_t interval_ms, timeout_ms;
	uint8_t rise, fall;
};

/* "FILE: PATH: reason" (or "FILE: reason" with an empty path); returns DNS_E_CONFIG. */
__attribute__((format(printf, 3, 4)))
static int fail(struct ld *ld, const char *path, const char *fmt, ...)
{
	struct dns_json_err e = { ld->file, ld->err, ld->errlen };
	va_list ap;
	va_start(ap, fmt);
	int r = dns_json_vfail(&e, DNS_E_CONFIG, path, fmt, ap);
	va_end(ap);
	return r;
}

static int fail_nomem(struct ld *ld)
{
	if (ld->err && ld->errlen)
		snprintf(ld->err, ld->errlen, "%s: out of memory", ld->file);
	return -ENOMEM;
}

/* Path of a member: "parent.key" or "key" at the top. */
static void path_key(char *out, size_t cap, const char *parent, const char *key)
{
	if (*parent)
		snprintf(out, cap, "%.400s.%.64s", parent, key);
	else
		snprintf(out, cap, "%.64s", key);
}

/* Path of a member keyed by data (a name, a CIDR): parent["key"]. */
static void path_str(char *out, size_t cap, const char *parent, const char *key)
{
	snprintf(out, cap, "%.200s[\"%.200s\"]", parent, key);
}

static void path_idx(char *out, size_t cap, const char *parent, size_t i)
{
	snprintf(out, cap, "%.400s[%zu]", parent, i);
}

/* Every key of obj must be in allowed (NULL-terminated): catches typos. */
static int check_keys(struct ld *ld, const json_t *obj, const char *path,
	const char *const *allowed)
{
	struct dns_json_err e = { ld->file, ld->err, ld->errlen };
	return dns_json_check_keys(&e, obj, path, allowed);
}

static int want_object(struct ld *ld, const json_t *v, const char *path)
{
	if (!json_is_object(v))
		return fail(ld, path, "must be an object, not %s", dns_json_kind(v));
	return 0;
}

/* An integer in [lo, hi]. */
static int get_uint(struct ld *ld, const json_t *v, const char *path, int64_t lo,
	int64_t hi, uint32_t *out)
{
	if (!json_is_integer(v))
		return fail(ld, path, "must be an integer, not %s", dns_json_kind(v));
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return fail(ld, path, "%lld is out of range %lld..%lld", (long long)x,
			(long long)lo, (long long)hi);
	*out = (uint32_t)x;
	return 0;
}

/* A number (integer or real) in [lo, hi]. */
static int get_number(struct ld *ld, const json_t *v, const char *path, double lo,
	double hi, double *out)
{
	if (!json_is_number(v))
		return fail(ld, path, "must be a number, not %s", dns_json_kind(v));
	double x = json_number_value(v);
	if (!(x >= lo && x <= hi))
		return fail(ld, path, "%g is out of range %g..%g", x, lo, hi);
	*out = x;
	return 0;
}

/* Seconds (fractions allowed) -> ms. */
static int get_seconds(struct ld *ld, const json_t *v, const char *path, uint32_t min_ms,
	uint32_t *out)
{
	double s;
	int rc = get_number(ld, v, path, min_ms / 1000.0, MAX_INTERVAL_MS / 1000.0, &s);
	if (rc)
		return rc;
	*out = (uint32_t)llround(s * 1000.0);
	if (*out < min_ms)
		*out = min_ms;
	return 0;
}

/* Parse an IPv4 or IPv6 literal: family 4/6 and 16 bytes (4 used for IPv4). */
static bool parse_ip(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = 6;
		return true;
	}
	return false;
}

/* The DC index of a name, DNS_E_NOTFOUND if none. */
static int dc_find(const struct geo_map *m, const char *name)
{
	for (unsigned i = 0; i < m->n_dc; i++)
		if (strcmp(m->dc[i].name, name) == 0)
			return (int)i;
	return DNS_E_NOTFOUND;
}

/*
 * A non-empty list of distinct DC names into idx (n entries). allow_empty for
 * none of this map's lists today; kept strict.
 */
static int get_dc_list(struct ld *ld, const json_t *v, const char *path, uint8_t *idx,
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

/* ---- health checks ---------------------------------------------------------- */

/* interval/timeout/rise/fall of obj over def (timeout follows a shorter interval). */
static int get_timing(struct ld *ld, const json_t *obj, const char *path,
	const struct chk_def *def, struct chk_def *out)
{
	char p[512];
	uint32_t v;
	*out = *def;
	json_t *iv = json_object_get(obj, "interval");
	json_t *to = json_object_get(obj, "timeout");
	if (iv) {
		path_key(p, sizeof(p), path, "interval");
		if (get_seconds(ld, iv, p, MIN_INTERVAL_MS, &out->interval_ms))
			return DNS_E_CONFIG;
		/* a shorter interval alone brings the inherited timeout down with it */
		if (!to && out->timeout_ms > out->interval_ms)
			out->timeout_ms = out->interval_ms;
	}
	if (to) {
		path_key(p, sizeof(p), path, "timeout");
		if (get_seconds(ld, to, p, 1, &out->timeout_ms))
			return DNS_E_CONFIG;
	}
	if (out->timeout_ms > out->interval_ms) {
		path_key(p, sizeof(p), path, to ? "timeout" : "interval");
		return fail(ld, p, "timeout %.3gs is longer than interval %.3gs",
			out->timeout_ms / 1000.0, out->interval_ms / 1000.0);
	}
	json_t *r = json_object_get(obj, "rise");
	if (r) {
		path_key(p, sizeof(p), path, "rise");
		if (get_uint(ld, r, p, 1, 255, &v))
			return DNS_E_CONFIG;
		out->rise = (uint8_t)v;
	}
	json_t *f = json_object_get(obj, "fall");
	if (f) {
		path_key(p, sizeof(p), path, "fall");
		if (get_uint(ld, f, p, 1, 255, &v))
			return DNS_E_CONFIG;
		out->fall = (uint8_t)v;
	}
	return 0;
}

/* "http://IP[:PORT][/path]" with IPv6 in brackets. */
static int parse_http_url(struct ld *ld, const char *url, const char *path,
	struct geo_check *c)
{
	static const char scheme[] = "http://";
	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return fail(ld, path, "\"%.100s\" is not an http:// URL", url);
	const char *auth = url + sizeof(scheme) - 1;
	const char *slash = strchr(auth, '/');
	size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
	if (alen == 0 || alen >= sizeof(c->host))
		return fail(ld, path, "\"%.100s\": bad host", url);
	memcpy(c->host, auth, alen);
	c->host[alen] = '\0';
	const char *rest = slash ? slash : "/";
	if (strlen(rest) >= sizeof(c->path))
		return fail(ld, path, "\"%.100s\": path longer than %zu characters", url,
			sizeof(c->path) - 1);
	for (const char *q = rest; *q; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return fail(ld, path, "\"%.100s\": the path must not contain spaces or control characters", url);
	strcpy(c->path, rest);

	char host[64];
	const char *port = NULL;
	if (c->host[0] == '[') {
		char *close = strchr(c->host, ']');
		if (!close)
			return fail(ld, path, "\"%.100s\": missing ']' after the IPv6 address", url);
		size_t hl = (size_t)(close - c->host - 1);
		memcpy(host, c->host + 1, hl);
		host[hl] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return fail(ld, path, "\"%.100s\": bad authority", url);
		if (inet_pton(AF_INET6, host, c->addr) != 1)
			return fail(ld, path, "\"%.100s\": host \"%s\" is not an IPv6 address", url, host);
		c->family = 6;
	} else {
		const char *colon = strchr(c->host, ':');
		size_t hl = colon ? (size_t)(colon - c->host) : strlen(c->host);
		memcpy(host, c->host, hl);
		host[hl] = '\0';
		if (colon)
			port = colon + 1;
		memset(c->addr, 0, sizeof(c->addr));
		if (inet_pton(AF_INET, host, c->addr) != 1)
			return fail(ld, path, "\"%.100s\": host \"%s\" must be an IP address (IPv6 in brackets)",
				url, host);
		c->family = 4;
	}
	c->port = 80;
	if (port) {
		unsigned long pv = 0;
		if (!*port)
			return fail(ld, path, "\"%.100s\": empty port", url);
		for (const char *q = port; *q; q++) {
			if (*q < '0' || *q > '9' || pv > 65535)
				return fail(ld, path, "\"%.100s\": bad port", url);
			pv = pv * 10 + (unsigned)(*q - '0');
		}
		if (pv < 1 || pv > 65535)
			return fail(ld, path, "\"%.100s\": port out of range 1..65535", url);
		c->port = (uint16_t)pv;
	}
	return 0;
}

static int load_check(struct ld *ld, const json_t *v, const char *path,
	const struct chk_def *def, struct geo_replica *r)
{
	static const char *const keys[] = {"http", "tcp", "interval", "timeout", "rise", "fall", NULL};
	char p[512];
	struct geo_check *c = &r->check;
	struct chk_def t;
	if (want_object(ld, v, path) || check_keys(ld, v, path, keys))
		return DNS_E_CONFIG;
	json_t *http = json_object_get(v, "http");
	json_t *tcp = json_object_get(v, "tcp");
	if (http && tcp)
		return fail(ld, path, "give either \"http\" or \"tcp\", not both");
	if (!http && !tcp)
		return fail(ld, path, "missing \"http\" or \"tcp\"");
	if (http) {
		path_key(p, sizeof(p), path, "http");
		if (!json_is_string(http))
			return fail(ld, p, "must be a URL string, not %s", dns_json_kind(http));
		c->kind = GEO_CHECK_HTTP;
		if (parse_http_url(ld, json_string_value(http), p, c))
			return DNS_E_CONFIG;
	} else {
		uint32_t port;
		path_key(p, sizeof(p), path, "tcp");
		if (get_uint(ld, tcp, p, 1, 65535, &port))
			return DNS_E_CONFIG;
		c->kind = GEO_CHECK_TCP;
		c->port = (uint16_t)port;
	}
	if (get_timing(ld, v, path, def, &t))
		return DNS_E_CONFIG;
	c->interval_ms = t.interval_ms;
	c->timeout_ms = t.timeout_ms;
	c->rise = t.rise;
	c->fall = t.fall;
	return 0;
}

/* ---- datacenters ------------------------------------------------------------- */

static int load_replica(struct ld *ld, const json_t *v, const char *path,
	const struct chk_def *def, struct geo_replica *r)
{
	static const char *const keys[] = {"address", "weight", "check", NULL};
	char p[512];
	if (want_object(ld, v, path) || check_keys(ld, v, path, keys))
		return DNS_E_CONFIG;
	json_t *a = json_object_get(v, "address");
	if (!a)
		return fail(ld, path, "missing \"address\"");
	path_key(p, sizeof(p), path, "address");
	if (!json_is_string(a))
		return fail(ld, p, "must be an IP address string, not %s", dns_json_kind(a));
	if (!parse_ip(json_string_value(a), &r->family, r->addr))
		return fail(ld, p, "\"%.100s\" is not an IP address", json_string_value(a));
	r->weight = 1;
	json_t *w = json_object_get(v, "weight");
	if (w) {
		path_key(p, sizeof(p), path, "weight");
		if (get_uint(ld, w, p, 1, WEIGHT_MAX, &r->weight))
			return DNS_E_CONFIG;
	}
	/* no check: always up; the check's address is still the replica's */
	r->check.kind = GEO_CHECK_NONE;
	r->check.family = r->family;
	memcpy(r->check.addr, r->addr, 16);
	r->check.interval_ms = def->interval_ms;
	r->check.timeout_ms = def->timeout_ms;
	r->check.rise = def->rise;
	r->check.fall = def->fall;
	strcpy(r->check.path, "/");
	json_t *c = json_object_get(v, "check");
	if (c) {
		path_key(p, sizeof(p), path, "check");
		if (load_check(ld, c, p, def, r))
			return DNS_E_CONFIG;
		if (r->check.kind == GEO_CHECK_TCP) {
			r->check.family = r->family;
			memcpy(r->check.addr, r->addr, 16);
		}
	}
	return 0;
}

static int load_dcs(struct ld *ld, const json_t *arr, const struct chk_def *def)
{
	static const char *const keys[] = {"name", "lat", "lon", "replicas", NULL};
	struct geo_map *m = ld->m;
	char p[512], q[512], pr[512];
	if (!arr)
		return fail(ld, "", "missing \"datacenters\"");
	if (!json_is_array(arr))
		return fail(ld, "datacenters", "must be an array, not %s", dns_json_kind(arr));
	size_t n = json_array_size(arr);
	if (n == 0 || n > GEO_DC_MAX)
		return fail(ld, "datacenters", "%zu datacenters, allowed 1..%d", n, GEO_DC_MAX);
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(arr, i);
		json_t *reps = json_is_object(d) ? json_object_get(d, "replicas") : NULL;
		if (json_is_array(reps))
			total += json_array_size(reps);
	}
	m->dc = mm_calloc(m->mm, n, sizeof(*m->dc));
	m->rep = mm_calloc(m->mm, total ? total : 1, sizeof(*m->rep));
	if (!m->dc || !m->rep)
		return fail_nomem(ld);
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(arr, i);
		struct geo_dc *dc = &m->dc[i];
		path_idx(p, sizeof(p), "datacenters", i);
		if (want_object(ld, d, p) || check_keys(ld, d, p, keys))
			return DNS_E_CONFIG;
		json_t *nm = json_object_get(d, "name");
		if (!nm)
			return fail(ld, p, "missing \"name\"");
		path_key(q, sizeof(q), p, "name");
		if (!json_is_string(nm))
			return fail(ld, q, "must be a string, not %s", dns_json_kind(nm));
		if (!dns_json_dc_name_ok(json_string_value(nm), GEO_NAME_TEXT_MAX - 1))
			return fail(ld, q, "\"%.100s\" is not a valid name (1..%d characters of A-Z a-z 0-9 _ . -)",
				json_string_value(nm), GEO_NAME_TEXT_MAX - 1);
		if (dc_find(m, json_string_value(nm)) >= 0)
			return fail(ld, q, "duplicate datacenter \"%s\"", json_string_value(nm));
		json_t *lat = json_object_get(d, "lat"), *lon = json_object_get(d, "lon");
		if (!lat)
			return fail(ld, p, "missing \"lat\"");
		if (!lon)
			return fail(ld, p, "missing \"lon\"");
		path_key(q, sizeof(q), p, "lat");
		if (get_number(ld, lat, q, -90, 90, &dc->lat))
			return DNS_E_CONFIG;
		path_key(q, sizeof(q), p, "lon");
		if (get_number(ld, lon, q, -180, 180, &dc->lon))
			return DNS_E_CONFIG;
		json_t *reps = json_object_get(d, "replicas");
		if (!reps)
			return fail(ld, p, "missing \"replicas\"");
		path_key(q, sizeof(q), p, "replicas");
		if (!json_is_array(reps))
			return fail(ld, q, "must be an array, not %s", dns_json_kind(reps));
		size_t nr = json_array_size(reps);
		if (nr == 0 || nr > GEO_REPLICA_MAX)
			return fail(ld, q, "%zu replicas, allowed 1..%d", nr, GEO_REPLICA_MAX);
		dc->rep = &m->rep[m->n_rep];
		for (size_t j = 0; j < nr; j++) {
			struct geo_replica *r = &m->rep[m->n_rep];
			path_idx(pr, sizeof(pr), q, j);
			if (load_replica(ld, json_array_get(reps, j), pr, def, r))
				return DNS_E_CONFIG;
			for (size_t k = 0; k < j; k++)
				if (dc->rep[k].family == r->family &&
				    memcmp(dc->rep[k].addr, r->addr, 16) == 0) {
					char pa[600];
					path_key(pa, sizeof(pa), pr, "address");
					return fail(ld, pa, "duplicate address \"%s\" in this datacenter",
						json_string_value(json_object_get(json_array_get(reps, j), "address")));
				}
			r->id = m->n_rep;
			r->dc = (unsigned)i;
			m->fam_mask[i][r->family == 6] |= 1ull << j;
			m->n_rep++;
		}
		dc->n_rep = (unsigned)nr;
		/* name last: dc_find() sees only finished datacenters */
		strcpy(dc->name, json_string_value(nm));
		m->n_dc++;
	}
	return 0;
}

/* ---- names ------------------------------------------------------------------- */

static uint32_t name_hash(const uint8_t *owner, size_t len)
{
	/* the owner is canonical already, so bytes hash as they are; the
	 * operator chooses the names, not the clients: FNV-1a is enough */
	return dns_fnv32(DNS_FNV32_INIT, owner, len);
}

static int load_names(struct ld *ld, const json_t *obj)
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
		nm->dcs = 1;
		nm->per_dc = 1;
		nm->ttl = 30;
		json_t *x;
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
		nm->index = m->n_names;
		uint32_t h = name_hash(nm->owner, nm->owner_len) & m->name_mask;
		while (m->name_slot[h])
			h = (h + 1) & m->name_mask;
		m->name_slot[h] = m->n_names + 1;
		m->name_lens[nm->owner_len >> 6] |= 1ull << (nm->owner_len & 63);
		m->n_names++;
	}
	return 0;
}

const struct geo_name *geo_map_find(const struct geo_map *m, const uint8_t *owner,
	size_t owner_len)
{
	/* most looked-up names are not steered: reject on the length alone first */
	if (!m || owner_len == 0 || owner_len > DNS_NAME_MAX ||
	    !(m->name_lens[owner_len >> 6] & (1ull << (owner_len & 63))))
		return NULL;
	uint32_t h = name_hash(owner, owner_len) & m->name_mask;
	for (;;) {
		uint32_t s = m->name_slot[h];
		if (!s)
			return NULL;
		const struct geo_name *n = &m->names[s - 1];
		if (n->owner_len == owner_len && memcmp(n->owner, owner, owner_len) == 0)
			return n;
		h = (h + 1) & m->name_mask;
	}
}

/* ---- networks and defaults ------------------------------------------------- */

/* "ADDR/LEN" or "ADDR" into the 128-bit tree; host bits must be zero. */
static int parse_net(struct ld *ld, const char *key, const char *path, struct geo_net *n)
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

static int load_networks(struct ld *ld, const json_t *obj)
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
static int list_order(struct ld *ld, const json_t *v, const char *path, int32_t *out)
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

static int load_defaults(struct ld *ld, const json_t *obj)
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

static int load_root(struct ld *ld, const json_t *root, const struct geo_source *src,
	const struct geo_opener *opener)
{
	static const char *const keys[] = {"geoip", "health", "datacenters", "names",
		"networks", "defaults", NULL};
	static const char *const hkeys[] = {"interval", "timeout", "rise", "fall", NULL};
	struct geo_map *m = ld->m;
	struct chk_def def = {DEF_INTERVAL_MS, DEF_TIMEOUT_MS, DEF_RISE, DEF_FALL};
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
		struct chk_def t;
		if (want_object(ld, h, "health") || check_keys(ld, h, "health", hkeys) ||
		    get_timing(ld, h, "health", &def, &t))
			return DNS_E_CONFIG;
		def = t;
	}
	if ((rc = load_dcs(ld, json_object_get(root, "datacenters"), &def)) != 0)
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
	struct ld ld = {m, file, err, errlen};
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

void geo_map_free(struct geo_map *m)
{
	if (!m)
		return;
	if (m->has_src && m->close_source)
		m->close_source(&m->src);
	const struct dns_mm *mm = m->mm;
	mm_free(mm, m->dc);
	mm_free(mm, m->rep);
	mm_free(mm, m->names);
	mm_free(mm, m->name_slot);
	mm_free(mm, m->nets);
	mm_free(mm, m->orders);
	mm_free(mm, m->order_slot);
	mm_free(mm, m->node);
	mm_free(mm, m->jump4);
	mm_free(mm, m->jump6);
	mm_free(mm, m);
}

/* ---- accessors ----------------------------------------------------------------- */

unsigned geo_map_dcs(const struct geo_map *m) { return m->n_dc; }

const struct geo_dc *geo_map_dc(const struct geo_map *m, unsigned i)
{
	return i < m->n_dc ? &m->dc[i] : NULL;
}

unsigned geo_map_replicas(const struct geo_map *m) { return m->n_rep; }

const struct geo_replica *geo_map_replica(const struct geo_map *m, unsigned id)
{
	return id < m->n_rep ? &m->rep[id] : NULL;
}

unsigned geo_map_names(const struct geo_map *m) { return m->n_names; }

const struct geo_name *geo_map_name_at(const struct geo_map *m, unsigned i)
{
	return i < m->n_names ? &m->names[i] : NULL;
}

void geo_map_tree_size(const struct geo_map *m, size_t *nodes, size_t *leaves)
{
	if (nodes)
		*nodes = m->n_nodes;
	if (leaves)
		*leaves = m->n_leaves;
}

static bool same_check(const struct geo_replica *a, const struct geo_replica *b)
{
	const struct geo_check *x = &a->check, *y = &b->check;
	return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0 &&
		x->kind == y->kind && x->port == y->port && x->family == y->family &&
		memcmp(x->addr, y->addr, 16) == 0 && strcmp(x->host, y->host) == 0 &&
		strcmp(x->path, y->path) == 0;
}

void geo_map_carry_health(const struct geo_map *old, const uint8_t *old_up,
	const struct geo_map *new_map, uint8_t *new_up)
{
	if (!new_map || !new_up)
		return;
	for (unsigned i = 0; i < new_map->n_rep; i++) {
		const struct geo_replica *r = &new_map->rep[i];
		new_up[i] = 1;
		if (!old || !old_up)
			continue;
		/* the same place first: an address may sit in two datacenters */
		if (i < old->n_rep && same_check(r, &old->rep[i])) {
			new_up[i] = old_up[i];
			continue;
		}
		for (unsigned j = 0; j < old->n_rep; j++)
			if (same_check(r, &old->rep[j])) {
				new_up[i] = old_up[j];
				break;
			}
	}
}

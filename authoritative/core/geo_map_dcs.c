/*
 * geo_map_dcs.c -- the map reader's "datacenters": each datacenter's name
 * and coordinates, its replicas (address, weight) and their health checks
 * (TCP port or http:// URL, interval, timeout, rise, fall), every rule
 * checked with an error naming the JSON path (geo_map_load_impl.h).
 */
#include "geo_map_load_impl.h"

/* ---- health checks ---------------------------------------------------------- */

/* interval/timeout/rise/fall of obj over def (timeout follows a shorter interval). */
int geo_ld_timing(struct geo_ld *ld, const json_t *obj, const char *path,
	const struct geo_chk_def *def, struct geo_chk_def *out)
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
static int parse_http_url(struct geo_ld *ld, const char *url, const char *path,
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

static int load_check(struct geo_ld *ld, const json_t *v, const char *path,
	const struct geo_chk_def *def, struct geo_replica *r)
{
	static const char *const keys[] = {"http", "tcp", "interval", "timeout", "rise", "fall", NULL};
	char p[512];
	struct geo_check *c = &r->check;
	struct geo_chk_def t;
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
	if (geo_ld_timing(ld, v, path, def, &t))
		return DNS_E_CONFIG;
	c->interval_ms = t.interval_ms;
	c->timeout_ms = t.timeout_ms;
	c->rise = t.rise;
	c->fall = t.fall;
	return 0;
}

/* ---- datacenters ------------------------------------------------------------- */

static int load_replica(struct geo_ld *ld, const json_t *v, const char *path,
	const struct geo_chk_def *def, struct geo_replica *r)
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

/* The "replicas" of datacenter i (object d at path p) into ld->m. */
static int load_replicas(struct geo_ld *ld, const json_t *d, const char *p, size_t i,
	const struct geo_chk_def *def)
{
	struct geo_map *m = ld->m;
	struct geo_dc *dc = &m->dc[i];
	char q[512], pr[512];

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
	return 0;
}

int geo_ld_dcs(struct geo_ld *ld, const json_t *arr, const struct geo_chk_def *def)
{
	static const char *const keys[] = {"name", "lat", "lon", "replicas", NULL};
	struct geo_map *m = ld->m;
	char p[512], q[512];
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
		if (load_replicas(ld, d, p, i, def))
			return DNS_E_CONFIG;
		/* name last: dc_find() sees only finished datacenters */
		strcpy(dc->name, json_string_value(nm));
		m->n_dc++;
	}
	return 0;
}

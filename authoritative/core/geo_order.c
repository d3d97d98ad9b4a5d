/*
 * geo_order.c -- the datacenter orders of a steering map: great-circle
 * distances, orders built from a point or a list, the interned table of
 * distinct orders, and the result (order, placement) a GeoIP place gets.
 * Used by the map loader (geo_map_load.c), the tree builder (geo_tree.c) and
 * selection (geo_select.c); it uses none of them.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "dns_err.h"
#include "dns_hash.h"
#include "geo_map_impl.h"

static const char *const continent_codes[7] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};

int geo_continent_index(const char *code)
{
	for (int i = 0; i < 7; i++)
		if (strcmp(code, continent_codes[i]) == 0)
			return i;
	return DNS_E_NOTFOUND;
}

double geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	if (a > 1)
		a = 1;
	return 2.0 * 6371.0 * asin(sqrt(a));
}

/* ---- orders and results --------------------------------------------------- */

static int order_rehash(struct geo_map *m, uint32_t slots)
{
	uint32_t *s = mm_calloc(m->mm, slots, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->n_orders; i++) {
		const uint8_t *ord = m->orders + (size_t)i * m->n_dc;
		uint32_t h = dns_fnv32(DNS_FNV32_INIT, ord, m->n_dc) & (slots - 1);
		while (s[h])
			h = (h + 1) & (slots - 1);
		s[h] = i + 1;
	}
	mm_free(m->mm, m->order_slot);
	m->order_slot = s;
	m->order_mask = slots - 1;
	return 0;
}

int64_t geo_order_intern(struct geo_map *m, const uint8_t *ord)
{
	size_t n = m->n_dc;
	if (!m->order_slot && order_rehash(m, 64) < 0)
		return -ENOMEM;
	uint32_t h = dns_fnv32(DNS_FNV32_INIT, ord, n) & m->order_mask;
	while (m->order_slot[h]) {
		uint32_t i = m->order_slot[h] - 1;
		if (memcmp(m->orders + (size_t)i * n, ord, n) == 0)
			return i;
		h = (h + 1) & m->order_mask;
	}
	if (m->n_orders == m->cap_orders) {
		uint32_t cap = m->cap_orders ? m->cap_orders * 2 : 16;
		uint8_t *o = geo_realloc(m->mm, m->orders, (size_t)m->cap_orders * n,
			(size_t)cap * n);
		if (!o)
			return -ENOMEM;
		m->orders = o;
		m->cap_orders = cap;
	}
	memcpy(m->orders + (size_t)m->n_orders * n, ord, n);
	m->order_slot[h] = ++m->n_orders;
	/* keep the table at most half full */
	if (2 * m->n_orders > m->order_mask + 1 && order_rehash(m, 2 * (m->order_mask + 1)) < 0)
		return -ENOMEM;
	return m->n_orders - 1;
}

int64_t geo_result_intern(struct geo_map *m, uint32_t order, enum geo_placed_by by)
{
	/* the pair is packed into the leaf itself: no table, no extra cache
	 * miss between a leaf and its order on the hot path */
	if (order > GEO_RESULT_ORDER_MASK)
		return -ENOMEM;
	return (int64_t)((uint32_t)by << GEO_RESULT_BY_SHIFT | order);
}

void geo_order_make(const struct geo_map *m, const uint8_t *first, unsigned n_first,
	bool has_point, double lat, double lon, const uint8_t *base, uint8_t *out)
{
	uint64_t used = 0;
	unsigned k = 0;
	for (unsigned i = 0; i < n_first; i++) {
		out[k++] = first[i];
		used |= 1ull << first[i];
	}
	if (!has_point) {
		for (unsigned i = 0; i < m->n_dc; i++)
			if (!(used & (1ull << base[i])))
				out[k++] = base[i];
		return;
	}
	double dist[GEO_DC_MAX];
	unsigned start = k;
	for (unsigned i = 0; i < m->n_dc; i++) {
		if (used & (1ull << i))
			continue;
		dist[i] = geo_distance_km(lat, lon, m->dc[i].lat, m->dc[i].lon);
		/* insertion sort, strictly-less so equal distances keep map order */
		unsigned j = k++;
		while (j > start && dist[i] < dist[out[j - 1]]) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = (uint8_t)i;
	}
}

int64_t geo_place_result(struct geo_map *m, const struct geo_place *p)
{
	uint8_t ord[GEO_DC_MAX];
	enum geo_placed_by by;
	int64_t o = -1;
	int dc = -1;
	if (p->dc[0])
		for (unsigned i = 0; i < m->n_dc; i++)
			if (strcmp(m->dc[i].name, p->dc) == 0)
				dc = (int)i;
	if (dc >= 0) {
		/* a record naming one of our datacenters (cairn-mapc): that one
		 * first, failover by distance from the record, else default order */
		uint8_t f = (uint8_t)dc;
		geo_order_make(m, &f, 1, p->has_coords, p->lat, p->lon, m->default_order, ord);
		by = GEO_BY_GEOIP;
	} else if (p->has_coords) {
		geo_order_make(m, NULL, 0, true, p->lat, p->lon, NULL, ord);
		by = GEO_BY_GEOIP;
	} else {
		const char *cc = p->country;
		int ci = geo_continent_index(p->continent);
		if (cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z' && !cc[2] &&
		    m->country[(cc[0] - 'A') * 26 + (cc[1] - 'A')] >= 0) {
			o = m->country[(cc[0] - 'A') * 26 + (cc[1] - 'A')];
			by = GEO_BY_COUNTRY;
		} else if (ci >= 0 && m->continent[ci] >= 0) {
			o = m->continent[ci];
			by = GEO_BY_CONTINENT;
		} else {
			return m->default_result;
		}
	}
	if (o < 0 && (o = geo_order_intern(m, ord)) < 0)
		return o;
	return geo_result_intern(m, (uint32_t)o, by);
}

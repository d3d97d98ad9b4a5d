/*
 * geo_map.c -- a loaded steering map (geo_map.h): its accessors, the steered
 * name lookup of the hot path, geo_map_free() and geo_map_carry_health().
 * Loading is geo_map_load.c.
 */
#include <string.h>

#include "dns_name.h"
#include "geo_map_impl.h"

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

const struct geo_name *geo_map_find(const struct geo_map *m, const uint8_t *owner,
	size_t owner_len)
{
	/* most looked-up names are not steered: reject on the length alone first */
	if (!m || owner_len == 0 || owner_len > DNS_NAME_MAX ||
	    !(m->name_lens[owner_len >> 6] & (1ull << (owner_len & 63))))
		return NULL;
	uint32_t h = geo_name_hash(owner, owner_len) & m->name_mask;
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

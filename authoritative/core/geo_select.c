/*
 * geo_select.c -- per-query steering: the client's place in the tree, the
 * healthy replicas of its nearest datacenters drawn by weight, and the same
 * decision spelled out for --explain.
 *
 * geo_select() runs for every steered query: it allocates nothing, takes no
 * lock and only reads the immutable map and the health bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "geo_map_impl.h"

#define QTYPE_A 1
#define QTYPE_AAAA 28

static inline bool rep_up(struct geo_health_view h, unsigned id)
{
	return h.up == NULL || h.up[id] != 0;
}

/* Mask of the replicas (bit = index in the DC) of mask that are up. */
static uint64_t up_mask(const struct geo_map *m, unsigned dc, uint64_t mask,
	struct geo_health_view h)
{
	if (h.up == NULL)
		return mask;
	const struct geo_replica *rep = m->dc[dc].rep;
	uint64_t up = 0;
	while (mask) {
		unsigned i = (unsigned)__builtin_ctzll(mask);
		mask &= mask - 1;
		if (h.up[rep[i].id])
			up |= 1ull << i;
	}
	return up;
}

/* Draw k replicas of dc from mask by weight, without replacement. */
static void draw(const struct geo_map *m, unsigned dc, uint64_t mask, unsigned k,
	const struct dns_rng *rng, struct geo_answer *out)
{
	const struct geo_replica *rep = m->dc[dc].rep;
	while (k-- > 0 && mask && out->n < GEO_ANSWER_MAX) {
		uint32_t total = 0;
		for (uint64_t b = mask; b; b &= b - 1)
			total += rep[__builtin_ctzll(b)].weight;
		uint32_t x = dns_rng_uniform(rng, total);
		unsigned pick = 0;
		for (uint64_t b = mask; b; b &= b - 1) {
			pick = (unsigned)__builtin_ctzll(b);
			if (x < rep[pick].weight)
				break;
			x -= rep[pick].weight;
		}
		mask &= ~(1ull << pick);
		memcpy(out->addr[out->n], rep[pick].addr, out->rdlen);
		out->dc[out->n] = dc;
		out->n++;
	}
}

/* The tree result of a client and its scope in the client's family. */
static struct geo_result place(const struct geo_map *m, const struct geo_client *c,
	uint8_t *scope, struct geo_where *where)
{
	struct geo_where w;
	unsigned depth;
	geo_client_where(c, &w);
	uint32_t r = geo_tree_lookup(m, w.addr, w.v4, w.plen, &depth);
	*scope = geo_where_scope(&w, depth);
	if (where)
		*where = w;
	struct geo_result res = {r & GEO_RESULT_ORDER_MASK, (uint8_t)(r >> GEO_RESULT_BY_SHIFT)};
	return res;
}

int geo_select(const struct geo_map *m, const struct geo_name *n, uint16_t qtype,
	const struct geo_client *c, struct geo_health_view health,
	const struct dns_rng *rng, struct geo_answer *out)
{
	unsigned fam;
	if (qtype == QTYPE_A)
		fam = 0;
	else if (qtype == QTYPE_AAAA)
		fam = 1;
	else
		return -EINVAL;
	const struct geo_result res = place(m, c, &out->scope, NULL);
	const uint8_t *ord = m->orders + (size_t)res.order * m->n_dc;
	out->rdlen = fam ? 16 : 4;
	out->n = 0;
	out->by = (enum geo_placed_by)res.by;
	out->degraded = false;
	out->fail_open = false;
	out->ttl = n->ttl;

	uint8_t pick[GEO_DC_MAX];
	uint64_t pick_mask[GEO_DC_MAX];
	unsigned k = 0;
	bool any = false;
	for (unsigned i = 0; i < m->n_dc; i++) {
		unsigned dc = ord[i];
		if (!(n->pool & (1ull << dc)))
			continue;
		uint64_t fm = m->fam_mask[dc][fam];
		if (!fm)
			continue;
		any = true;
		uint64_t up = up_mask(m, dc, fm, health);
		if (up != fm)
			out->degraded = true;
		if (up && k < n->dcs) {
			pick[k] = (uint8_t)dc;
			pick_mask[k++] = up;
		}
		/* once the answer's DCs are known only "degraded" is left to learn */
		if (k == n->dcs && out->degraded)
			break;
	}
	if (!any)
		return 0; /* no replica of this family in the pool: NODATA */
	if (k == 0) {
		/* nothing up anywhere: answer from the nearest anyway (fail open)
		 * rather than with nothing, as gdnsd and the PowerDNS backend do */
		out->fail_open = true;
		out->degraded = true;
		for (unsigned i = 0; i < m->n_dc && k < n->dcs; i++) {
			unsigned dc = ord[i];
			if ((n->pool & (1ull << dc)) && m->fam_mask[dc][fam]) {
				pick[k] = (uint8_t)dc;
				pick_mask[k++] = m->fam_mask[dc][fam];
			}
		}
	}
	for (unsigned i = 0; i < k; i++)
		draw(m, pick[i], pick_mask[i], n->per_dc, rng, out);
	if (out->degraded)
		out->ttl = n->degraded_ttl;
	return 0;
}

/* ---- explanations ---------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t cap, len;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->len < b->cap ? b->cap - b->len : 0;
	va_start(ap, fmt);
	int w = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (w > 0)
		b->len += (size_t)w;
	if (b->len >= b->cap)
		b->len = b->cap ? b->cap - 1 : 0;
}

static void addr_text(uint8_t family, const uint8_t *a, char *buf, size_t cap)
{
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, (socklen_t)cap);
}

/* Network of tree address a at tree length len, as IPv4 when v4. */
static void net_text(bool v4, const uint8_t a[16], unsigned len, char *buf, size_t cap)
{
	uint8_t x[16];
	char t[INET6_ADDRSTRLEN];
	memcpy(x, a, 16);
	for (unsigned b = len; b < 128; b++)
		x[b >> 3] &= (uint8_t)~(0x80 >> (b & 7));
	if (v4) {
		addr_text(4, x + 12, t, sizeof(t));
		snprintf(buf, cap, "%s/%u", t, len > 96 ? len - 96 : 0);
	} else {
		addr_text(6, x, t, sizeof(t));
		snprintf(buf, cap, "%s/%u", t, len);
	}
}

/* The most specific operator network holding a, or NULL. */
static const struct geo_net *find_net(const struct geo_map *m, const uint8_t a[16])
{
	const struct geo_net *best = NULL;
	for (unsigned i = 0; i < m->n_nets; i++) {
		const struct geo_net *n = &m->nets[i];
		bool in = true;
		for (unsigned b = 0; b < n->len && in; b++)
			if (((a[b >> 3] ^ n->addr[b >> 3]) >> (7 - (b & 7))) & 1)
				in = false;
		if (in && (!best || n->len > best->len))
			best = n;
	}
	return best;
}

/* The point the client was placed at (distances are measured from it), if any. */
struct point {
	bool has;
	double lat, lon;
};

/* What placed the client (tree address a): its operator network or GeoIP record. */
static void explain_place(struct sbuf *b, const struct geo_map *m, const uint8_t a[16],
	const struct geo_where *w, enum geo_placed_by by, struct point *pt)
{
	char nt[96];

	if (by == GEO_BY_NETWORK) {
		const struct geo_net *net = find_net(m, a);
		if (net && net->has_coords) {
			sb_printf(b, "network %s (%.4f, %.4f)", net->text, net->lat, net->lon);
			pt->has = true;
			pt->lat = net->lat;
			pt->lon = net->lon;
		} else if (net) {
			sb_printf(b, "network %s -> datacenters", net->text);
			for (unsigned i = 0; i < net->n_list; i++)
				sb_printf(b, "%s%s", i ? ", " : " ", m->dc[net->list[i]].name);
		}
	} else {
		struct geo_place p;
		unsigned len = 0;
		int f = 0;
		memset(&p, 0, sizeof(p));
		if (m->has_src && m->src.lookup)
			f = m->src.lookup(m->src.ctx, a, &p, &len);
		if (f > 0) {
			net_text(w->v4, a, len, nt, sizeof(nt));
			sb_printf(b, "GeoIP %s", nt);
			if (p.city[0])
				sb_printf(b, " %s", p.city);
			if (p.country[0])
				sb_printf(b, " %s", p.country);
			if (p.continent[0])
				sb_printf(b, " %s", p.continent);
			if (p.has_coords) {
				sb_printf(b, " (%.4f, %.4f)", p.lat, p.lon);
				pt->has = true;
				pt->lat = p.lat;
				pt->lon = p.lon;
			} else {
				sb_printf(b, " (no coordinates)");
			}
			if (p.dc[0])
				sb_printf(b, " datacenter %s", p.dc);
			if (by == GEO_BY_COUNTRY)
				sb_printf(b, " -> defaults.countries.%s", p.country);
			else if (by == GEO_BY_CONTINENT)
				sb_printf(b, " -> defaults.continents.%s", p.continent);
			else if (by == GEO_BY_DEFAULT)
				sb_printf(b, " -> defaults.order");
		} else if (f < 0) {
			sb_printf(b, "GeoIP lookup failed -> defaults.order");
		} else {
			sb_printf(b, "no operator network or GeoIP record -> defaults.order");
		}
	}
}

/* Every datacenter of the pool in the client's order, with its replicas' health. */
static void explain_order(struct sbuf *b, const struct geo_map *m, const struct geo_name *n,
	const uint8_t *ord, unsigned fam, const struct point *pt, struct geo_health_view health)
{
	char t[INET6_ADDRSTRLEN];
	unsigned pool_n = (unsigned)__builtin_popcountll(n->pool);
	sb_printf(b, "datacenters in order (pool of %u):\n", pool_n);
	unsigned k = 0;
	for (unsigned i = 0; i < m->n_dc; i++) {
		unsigned dc = ord[i];
		if (!(n->pool & (1ull << dc)))
			continue;
		const struct geo_dc *d = &m->dc[dc];
		sb_printf(b, "  %u. %s", ++k, d->name);
		if (pt->has)
			sb_printf(b, " %.0f km", geo_distance_km(pt->lat, pt->lon, d->lat, d->lon));
		uint64_t fm = m->fam_mask[dc][fam];
		if (!fm) {
			sb_printf(b, ": no IPv%c replicas\n", fam ? '6' : '4');
			continue;
		}
		sb_printf(b, ":");
		bool first = true;
		for (uint64_t x = fm; x; x &= x - 1) {
			const struct geo_replica *r = &d->rep[__builtin_ctzll(x)];
			addr_text(r->family, r->addr, t, sizeof(t));
			sb_printf(b, "%s %s %s", first ? "" : ",", t, rep_up(health, r->id) ? "up" : "down");
			if (r->weight != 1)
				sb_printf(b, " (weight %u)", r->weight);
			first = false;
		}
		sb_printf(b, "\n");
	}
}

size_t geo_explain(const struct geo_map *m, const struct geo_name *n, uint16_t qtype,
	const struct geo_client *c, struct geo_health_view health,
	const struct dns_rng *rng, char *buf, size_t cap)
{
	struct sbuf b = {buf, cap, 0};
	char t[INET6_ADDRSTRLEN];
	uint8_t a[16];
	uint8_t scope;
	struct point pt = {false, 0, 0};
	if (cap)
		buf[0] = '\0';
	unsigned fam = qtype == QTYPE_AAAA ? 1 : 0;
	const char *tname = qtype == QTYPE_A ? "A" : qtype == QTYPE_AAAA ? "AAAA" : "?";

	addr_text(c->family, c->addr, t, sizeof(t));
	sb_printf(&b, "name %s %s, client %s/%u (%s)\n", n->text, tname, t, c->prefix,
		c->from == GEO_FROM_ECS ? "ECS" : "source");
	if (qtype != QTYPE_A && qtype != QTYPE_AAAA) {
		sb_printf(&b, "not steered: only A and AAAA are\n");
		return b.len;
	}

	struct geo_where w;
	const struct geo_result res = place(m, c, &scope, &w);
	memcpy(a, w.addr, 16); /* the address the tree walks */
	if (w.six_to_four) {
		addr_text(4, a + 12, t, sizeof(t));
		sb_printf(&b, "6to4 (RFC 3056): placed as IPv4 %s/%u\n", t, w.plen - 96);
	}
	enum geo_placed_by by = (enum geo_placed_by)res.by;
	sb_printf(&b, "placed by %s: ", geo_placed_by_name(by));
	explain_place(&b, m, a, &w, by, &pt);
	sb_printf(&b, "; tree prefix /%u -> scope %u", scope, scope);
	if (c->from == GEO_FROM_ECS && scope > c->prefix)
		sb_printf(&b, " (longer than the source prefix: answer for the zero-filled address, RFC 7871 7.2.1)");
	sb_printf(&b, "\n");

	const uint8_t *ord = m->orders + (size_t)res.order * m->n_dc;
	explain_order(&b, m, n, ord, fam, &pt, health);

	struct geo_answer ans;
	geo_select(m, n, qtype, c, health, rng, &ans);
	if (ans.n == 0) {
		sb_printf(&b, "answer: NODATA (no IPv%c replica in the pool), scope %u\n",
			fam ? '6' : '4', ans.scope);
		return b.len;
	}
	sb_printf(&b, "answer:");
	for (unsigned i = 0; i < ans.n; i++) {
		addr_text(fam ? 6 : 4, ans.addr[i], t, sizeof(t));
		sb_printf(&b, "%s %s (%s)", i ? "," : "", t, m->dc[ans.dc[i]].name);
	}
	sb_printf(&b, ", ttl %u%s, scope %u\n", ans.ttl,
		ans.fail_open ? " (fail open: every replica down)" : ans.degraded ? " (degraded)" : "",
		ans.scope);
	return b.len;
}

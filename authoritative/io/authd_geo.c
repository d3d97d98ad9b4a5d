/*
 * authd_geo.c -- CDN steering in the running cairn-auth (authd_geo.h): map
 * snapshots with their counter slots, start, reload and the file watch, the
 * answer engine's hooks and metrics. Reading and checking a map is
 * authd_geo_load.c, `--explain` is authd_geo_explain.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_answer.h"
#include "authd_geo.h"
#include "authd_geo_load.h"
#include "authd_geo_snap.h"
#include "authd_health.h"
#include "authd_config.h"
#include "dns_err.h"
#include "dns_log.h"
#include "dns_name.h"
#include "dns_pkt.h"
#include "dns_rand.h"

/* One warning per steered name this often while it fails open. */
#define FAIL_OPEN_LOG_MS 10000u

struct authd_geo {
	const char *file;                  /* the map file (cfg storage) */
	uv_loop_t *loop;
	unsigned check_ms;                 /* file poll interval, 0: no watch */
	const struct dns_cidr *allow;      /* who may ask CH TXT explanations */
	size_t n_allow;
	struct dns_cidr default_allow[2];  /* 127.0.0.0/8 and ::1 when none configured */
	struct authd_geo_snap *cur;        /* the current map (one reference) */
	struct authd_health *health;       /* checks of cur's replicas (may be NULL) */
	void (*changed)(void *ctx);        /* a watched file changed */
	void *changed_ctx;
	uv_fs_poll_t poll_map, poll_geoip;
	bool poll_map_on, poll_geoip_on;   /* handle initialised (close it) */
	char geoip_path[PATH_MAX];         /* the GeoIP file watched, "" if none */
	/* metrics: counter slots by name, stable across reloads */
	struct dns_counters counters;      /* dc answers, then fail-open answers by name */
	char dc_names[AUTHD_GEO_DC_SLOTS][GEO_NAME_TEXT_MAX];
	unsigned n_dc_names;
	char (*name_names)[256];           /* AUTHD_GEO_NAME_SLOTS entries */
	unsigned n_name_names;
	uint64_t reloads, reload_failures; /* main thread */
};

/* Counter indexes. */
#define C_DC(slot) (slot)
#define C_FAIL_OPEN(slot) (AUTHD_GEO_DC_SLOTS + (slot))
#define C_COUNT (AUTHD_GEO_DC_SLOTS + AUTHD_GEO_NAME_SLOTS)

/* ---- snapshots -------------------------------------------------------------- */

struct authd_geo_snap *authd_geo_current(struct authd_geo *g)
{
	return g && g->cur ? authd_geo_snap_ref(g->cur) : NULL;
}

static uint16_t slot_of(char (*names)[GEO_NAME_TEXT_MAX], unsigned *n, unsigned max,
	const char *name)
{
	for (unsigned i = 0; i < *n; i++)
		if (strcmp(names[i], name) == 0)
			return (uint16_t)i;
	if (*n + 1 < max) {
		snprintf(names[*n], GEO_NAME_TEXT_MAX, "%s", name);
		return (uint16_t)(*n)++;
	}
	return (uint16_t)(max - 1); /* "other" */
}

static uint16_t name_slot_of(struct authd_geo *g, const char *text)
{
	for (unsigned i = 0; i < g->n_name_names; i++)
		if (strcmp(g->name_names[i], text) == 0)
			return (uint16_t)i;
	if (g->n_name_names + 1 < AUTHD_GEO_NAME_SLOTS) {
		snprintf(g->name_names[g->n_name_names], sizeof(g->name_names[0]), "%s", text);
		return (uint16_t)g->n_name_names++;
	}
	return AUTHD_GEO_NAME_SLOTS - 1;
}

/* Wrap map (taking it over) with health bytes (all up) and counter slots. */
static int snap_new(struct authd_geo *g, struct geo_map *map, struct authd_geo_snap **out)
{
	struct authd_geo_snap *s = calloc(1, sizeof(*s));
	unsigned nrep = geo_map_replicas(map), nn = geo_map_names(map);

	if (s) {
		s->up = malloc(nrep ? nrep : 1);
		s->name_slot = calloc(nn ? nn : 1, sizeof(*s->name_slot));
		s->fail_open_ms = calloc(nn ? nn : 1, sizeof(*s->fail_open_ms));
	}
	if (!s || !s->up || !s->name_slot || !s->fail_open_ms) {
		if (s) {
			free(s->up);
			free(s->name_slot);
			free(s->fail_open_ms);
		}
		free(s);
		geo_map_free(map);
		return -ENOMEM;
	}
	atomic_init(&s->refs, 1);
	s->map = map;
	memset(s->up, 1, nrep ? nrep : 1);
	for (unsigned i = 0; i < geo_map_dcs(map) && i < GEO_DC_MAX; i++)
		s->dc_slot[i] = slot_of(g->dc_names, &g->n_dc_names, AUTHD_GEO_DC_SLOTS,
			geo_map_dc(map, i)->name);
	for (unsigned i = 0; i < nn; i++) {
		char text[256];
		authd_geo_name_text(geo_map_name_at(map, i), text, sizeof(text));
		s->name_slot[i] = name_slot_of(g, text);
	}
	*out = s;
	return 0;
}

/*
 * Read, compile and check the map. On success *out is a new snapshot (all up)
 * and geoip the GeoIP path it uses ("" if none).
 */
static int map_load(struct authd_geo *g, const char *file, const struct auth_zoneset *set,
	struct authd_geo_snap **out, char *geoip, size_t geoip_cap, char *err, size_t errlen)
{
	struct geo_map *map = NULL;
	int r;

	*out = NULL;
	if ((r = authd_geo_load(dns_mm_std(), file, set, &map, geoip, geoip_cap, err, errlen)) < 0)
		return r;
	if ((r = snap_new(g, map, out)) < 0)
		snprintf(err, errlen, "%s: out of memory", file);
	return r;
}

static void log_loaded(const struct authd_geo_snap *s, const char *what)
{
	size_t nodes = 0, leaves = 0;
	geo_map_tree_size(s->map, &nodes, &leaves);
	log_info("map %s: %u datacenters, %u names, tree %zu nodes", what, geo_map_dcs(s->map),
		geo_map_names(s->map), nodes);
}

/* ---- file watch ------------------------------------------------------------------ */

static void on_poll(uv_fs_poll_t *p, int status, const uv_stat_t *prev, const uv_stat_t *curr)
{
	struct authd_geo *g = p->data;
	(void)prev;
	(void)curr;
	/* a file that vanished is waited for: the next good stat reloads */
	if (status < 0 || !g->changed)
		return;
	log_info("%s changed on disk", p == &g->poll_map ? g->file : g->geoip_path);
	g->changed(g->changed_ctx);
}

static void on_poll_closed(uv_handle_t *h)
{
	(void)h;
}

/* Watch the GeoIP file the current map uses (a different one after a reload). */
static void watch_geoip(struct authd_geo *g, const char *path)
{
	if (!g->check_ms || strcmp(path, g->geoip_path) == 0)
		return;
	snprintf(g->geoip_path, sizeof(g->geoip_path), "%s", path);
	if (!g->poll_geoip_on) {
		if (uv_fs_poll_init(g->loop, &g->poll_geoip) < 0)
			return;
		g->poll_geoip.data = g;
		g->poll_geoip_on = true;
	}
	uv_fs_poll_stop(&g->poll_geoip);
	if (path[0])
		uv_fs_poll_start(&g->poll_geoip, on_poll, path, g->check_ms);
}

/* ---- start, reload, stop ---------------------------------------------------------- */

int authd_geo_start(struct authd_geo **out, const struct authd_config *cfg, uv_loop_t *loop,
	unsigned threads, const struct auth_zoneset *set, void (*changed)(void *ctx),
	void *changed_ctx)
{
	struct authd_geo *g = calloc(1, sizeof(*g));
	char err[1024], geoip[PATH_MAX];
	int r;

	*out = NULL;
	if (!g || !(g->name_names = calloc(AUTHD_GEO_NAME_SLOTS, sizeof(*g->name_names)))) {
		free(g);
		return -ENOMEM;
	}
	if ((r = dns_counters_init(&g->counters, threads, C_COUNT)) < 0) {
		free(g->name_names);
		free(g);
		return r;
	}
	g->file = cfg->map_file;
	g->loop = loop;
	g->check_ms = cfg->map_check_s * 1000u;
	g->changed = changed;
	g->changed_ctx = changed_ctx;
	snprintf(g->dc_names[AUTHD_GEO_DC_SLOTS - 1], GEO_NAME_TEXT_MAX, "other");
	snprintf(g->name_names[AUTHD_GEO_NAME_SLOTS - 1], sizeof(g->name_names[0]), "other");
	g->allow = cfg->explain_allow.items;
	g->n_allow = cfg->explain_allow.n;
	if (g->n_allow == 0) {
		dns_cidr_parse("127.0.0.0/8", &g->default_allow[0]);
		dns_cidr_parse("::1/128", &g->default_allow[1]);
		g->allow = g->default_allow;
		g->n_allow = 2;
	}
	if ((r = map_load(g, g->file, set, &g->cur, geoip, sizeof(geoip), err, sizeof(err))) < 0) {
		log_err("%s", err);
		dns_counters_deinit(&g->counters);
		free(g->name_names);
		free(g);
		return r;
	}
	log_loaded(g->cur, "loaded");
	if ((r = authd_health_start(&g->health, loop, g->cur, NULL)) < 0)
		log_err("health checks: %s (every replica stays up)", dns_strerror(r));
	if (g->check_ms) {
		if (uv_fs_poll_init(loop, &g->poll_map) == 0) {
			g->poll_map.data = g;
			g->poll_map_on = true;
			uv_fs_poll_start(&g->poll_map, on_poll, g->file, g->check_ms);
		}
		watch_geoip(g, geoip);
	}
	*out = g;
	return 0;
}

int authd_geo_reload(struct authd_geo *g, const struct auth_zoneset *set)
{
	struct authd_geo_snap *snap;
	struct authd_health *health = NULL;
	char err[1024], geoip[PATH_MAX];
	int r;

	g->reloads++;
	if ((r = map_load(g, g->file, set, &snap, geoip, sizeof(geoip), err, sizeof(err))) < 0) {
		g->reload_failures++;
		log_err("%s", err);
		log_err("map %s: keeping the map serving now", g->file);
		/* the zones may have changed under the old map: say so if it no longer fits */
		if (g->cur && authd_geo_check_zones(g->cur->map, set, g->file, false, err, sizeof(err)) < 0)
			log_warn("the map serving now does not fit the zones any more: %s", err);
		return r;
	}
	geo_map_carry_health(g->cur->map, g->cur->up, snap->map, snap->up);
	if ((r = authd_health_start(&health, g->loop, snap, g->health)) < 0)
		log_err("health checks: %s (every replica stays up)", dns_strerror(r));
	authd_health_close(g->health);
	g->health = health;
	authd_geo_snap_release(g->cur);
	g->cur = snap;
	watch_geoip(g, geoip);
	log_loaded(snap, "reloaded");
	return 0;
}

void authd_geo_close(struct authd_geo *g)
{
	if (!g)
		return;
	authd_health_close(g->health);
	g->health = NULL;
	if (g->poll_map_on)
		uv_close((uv_handle_t *)&g->poll_map, on_poll_closed);
	if (g->poll_geoip_on)
		uv_close((uv_handle_t *)&g->poll_geoip, on_poll_closed);
	g->poll_map_on = g->poll_geoip_on = false;
}

void authd_geo_free(struct authd_geo *g)
{
	if (!g)
		return;
	authd_geo_snap_release(g->cur);
	dns_counters_deinit(&g->counters);
	free(g->name_names);
	free(g);
}

/* ---- the hooks (worker threads) ----------------------------------------------------- */

/*
 * Replica choice needs spread, not secrecy: a splitmix64 per thread, seeded
 * once from the OS, costs no system call per answer.
 */
static const struct dns_rng *thread_rng(void)
{
	static __thread struct dns_rng rng;
	static __thread struct dns_rng_seeded st;
	if (!rng.fill) {
		uint64_t seed;
		dns_rand_bytes(&seed, sizeof(seed));
		dns_rng_seeded_init(&rng, &st, seed);
	}
	return &rng;
}

/*
 * Who is asking: the ECS subnet when the query has one with a source prefix
 * (RFC 7871 7.1.2: a SOURCE PREFIX-LENGTH of 0 asks for an answer that does
 * not depend on the client, so the resolver's own address is used), else the
 * packet's source address (IPv4-mapped already unwrapped by the server).
 */
static void client_from(const struct auth_client *cl, const struct dns_ecs *ecs,
	struct geo_client *gc)
{
	memset(gc, 0, sizeof(*gc));
	if (ecs && ecs->source > 0) {
		gc->family = ecs->family == 1 ? 4 : 6;
		gc->prefix = ecs->source;
		memcpy(gc->addr, ecs->addr, gc->family == 4 ? 4 : 16);
		gc->from = GEO_FROM_ECS;
		return;
	}
	gc->from = GEO_FROM_SOURCE;
	if (cl && cl->family == 6) {
		gc->family = 6;
		gc->prefix = 128;
		memcpy(gc->addr, cl->addr, 16);
	} else {
		gc->family = 4;
		gc->prefix = 32;
		if (cl && cl->family == 4)
			memcpy(gc->addr, cl->addr, 4);
	}
}

static struct geo_health_view health_of(const struct authd_geo_snap *s)
{
	return (struct geo_health_view){.up = s->up};
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int authd_geo_steer(void *ctx, const struct auth_steer_query *q, struct auth_steer_result *res)
{
	struct authd_geo_view *v = ctx;
	const struct authd_geo_snap *s = v->snap;
	const struct geo_name *n = geo_map_find(s->map, q->owner, q->owner_len);
	struct geo_client gc;
	struct geo_answer ans;

	if (!n)
		return 0;
	if (q->qtype != DNS_T_A && q->qtype != DNS_T_AAAA)
		return 1; /* the zone's other types at the name answer */
	client_from(q->client, q->ecs, &gc);
	if (geo_select(s->map, n, q->qtype, &gc, health_of(s), thread_rng(), &ans) < 0) {
		res->n = 0;
		res->rdlen = q->qtype == DNS_T_AAAA ? 16 : 4;
		res->ttl = n->degraded_ttl;
		return 1;
	}
	res->rdlen = ans.rdlen;
	res->n = (uint16_t)(ans.n < AUTH_STEER_MAX ? ans.n : AUTH_STEER_MAX);
	for (unsigned i = 0; i < res->n; i++)
		memcpy(res->addr[i], ans.addr[i], ans.rdlen);
	res->ttl = ans.ttl;
	res->ecs_scope = gc.from == GEO_FROM_ECS ? ans.scope : 0;

	uint64_t seen = 0;
	for (unsigned i = 0; i < res->n; i++) {
		unsigned dc = ans.dc[i];
		if (dc >= GEO_DC_MAX || (seen & (1ull << dc)))
			continue;
		seen |= 1ull << dc;
		dns_counter_add(&v->geo->counters, v->thread, C_DC(s->dc_slot[dc]), 1);
	}
	if (ans.fail_open) {
		dns_counter_add(&v->geo->counters, v->thread, C_FAIL_OPEN(s->name_slot[n->index]), 1);
		uint64_t now = mono_ms();
		_Atomic uint64_t *last = &s->fail_open_ms[n->index];
		uint64_t was = atomic_load_explicit(last, memory_order_relaxed);
		if ((was == 0 || now - was >= FAIL_OPEN_LOG_MS) &&
		    atomic_compare_exchange_strong(last, &was, now ? now : 1)) {
			char text[256];
			authd_geo_name_text(n, text, sizeof(text));
			log_warn("%s: every replica down, answering with the nearest anyway (fail open)",
				text);
		}
	}
	return 1;
}

static bool explain_allowed(const struct authd_geo *g, const struct auth_client *cl)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (!cl || cl->family == 0)
		return false;
	if (cl->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, cl->addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, cl->addr, 16);
	}
	for (size_t i = 0; i < g->n_allow; i++)
		if (dns_cidr_match(&g->allow[i], (const struct sockaddr *)&ss))
			return true;
	return false;
}

int authd_geo_chaos_txt(void *ctx, const uint8_t *qname, size_t qname_len,
	const struct auth_client *client, const struct dns_ecs *ecs, char *buf, size_t cap)
{
	struct authd_geo_view *v = ctx;
	const struct authd_geo_snap *s = v->snap;
	struct geo_client gc;

	if (!explain_allowed(v->geo, client))
		return -EACCES;
	const struct geo_name *n = geo_map_find(s->map, qname, qname_len);
	if (!n)
		return DNS_E_NOTFOUND;
	client_from(client, ecs, &gc);
	size_t len = geo_explain(s->map, n, DNS_T_A, &gc, health_of(s), thread_rng(), buf, cap);
	while (len > 0 && buf[len - 1] == '\n')
		len--; /* no empty TXT record at the end */
	return (int)len;
}

/* ---- metrics (main thread) ---------------------------------------------------------- */

static void addr_text(const struct geo_replica *r, char *buf, size_t cap)
{
	inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, buf, (socklen_t)cap);
}

void authd_geo_metrics(struct authd_geo *g, struct dns_metrics_buf *b)
{
	const struct authd_geo_snap *s = g->cur;
	char addr[INET6_ADDRSTRLEN];

	dns_metrics_header(b, "cairn_auth_steer_answers_total", "counter",
		"Steered answers by datacenter (an answer naming several datacenters counts for each).");
	for (unsigned i = 0; i < AUTHD_GEO_DC_SLOTS; i++) {
		if (i >= g->n_dc_names && i != AUTHD_GEO_DC_SLOTS - 1)
			continue;
		uint64_t v = dns_counter_sum(&g->counters, C_DC(i));
		if (v || i < g->n_dc_names)
			dns_metrics_printf(b, "cairn_auth_steer_answers_total{datacenter=\"%s\"} %llu\n",
				g->dc_names[i], (unsigned long long)v);
	}
	dns_metrics_header(b, "cairn_auth_steer_fail_open_total", "counter",
		"Steered answers given while every replica of the name's pool was down.");
	for (unsigned i = 0; i < AUTHD_GEO_NAME_SLOTS; i++) {
		if (i >= g->n_name_names && i != AUTHD_GEO_NAME_SLOTS - 1)
			continue;
		uint64_t v = dns_counter_sum(&g->counters, C_FAIL_OPEN(i));
		if (v || i < g->n_name_names)
			dns_metrics_printf(b, "cairn_auth_steer_fail_open_total{name=\"%s\"} %llu\n",
				g->name_names[i], (unsigned long long)v);
	}
	dns_metrics_header(b, "cairn_auth_replica_up", "gauge",
		"Health of each replica of the map serving now (1 up, 0 down).");
	for (unsigned id = 0; s && id < geo_map_replicas(s->map); id++) {
		const struct geo_replica *r = geo_map_replica(s->map, id);
		addr_text(r, addr, sizeof(addr));
		dns_metrics_printf(b, "cairn_auth_replica_up{datacenter=\"%s\",address=\"%s\"} %u\n",
			geo_map_dc(s->map, r->dc)->name, addr,
			__atomic_load_n(&s->up[id], __ATOMIC_RELAXED) ? 1u : 0u);
	}
	struct { const char *name, *type, *help; int what; } hm[] = {
		{"cairn_auth_health_check_seconds", "gauge", "Duration of the last health check.", 0},
		{"cairn_auth_health_checks_total", "counter", "Health checks run.", 1},
		{"cairn_auth_health_check_failures_total", "counter", "Health checks that failed.", 2},
	};
	for (size_t k = 0; k < sizeof(hm) / sizeof(hm[0]); k++) {
		dns_metrics_header(b, hm[k].name, hm[k].type, hm[k].help);
		for (unsigned id = 0; s && id < geo_map_replicas(s->map); id++) {
			double last_s = 0;
			const struct geo_health *st = authd_health_state(g->health, id, &last_s);
			if (!st)
				continue;
			const struct geo_replica *r = geo_map_replica(s->map, id);
			addr_text(r, addr, sizeof(addr));
			const char *dc = geo_map_dc(s->map, r->dc)->name;
			if (hm[k].what == 0)
				dns_metrics_printf(b, "%s{datacenter=\"%s\",address=\"%s\"} %.6f\n",
					hm[k].name, dc, addr, last_s);
			else
				dns_metrics_printf(b, "%s{datacenter=\"%s\",address=\"%s\"} %llu\n",
					hm[k].name, dc, addr, (unsigned long long)(hm[k].what == 1 ?
						st->checks : st->failures));
		}
	}
	dns_metrics_header(b, "cairn_auth_map_reloads_total", "counter",
		"Map reloads tried (SIGHUP, map or GeoIP file changed).");
	dns_metrics_printf(b, "cairn_auth_map_reloads_total %llu\n", (unsigned long long)g->reloads);
	dns_metrics_header(b, "cairn_auth_map_reload_failures_total", "counter",
		"Map reloads rejected (the previous map kept serving).");
	dns_metrics_printf(b, "cairn_auth_map_reload_failures_total %llu\n",
		(unsigned long long)g->reload_failures);
}

/*
 * authd_server.c -- cairn-auth's running server: zone loading and reload, the
 * serving snapshot shared with the worker threads, query dispatch.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_answer.h"
#include "authd_geo.h"
#include "authd_server_impl.h"
#include "authd_xfr.h"
#include "dns_err.h"
#include "dns_log.h"
#include "dns_pkt.h"
#include "dns_writer.h"

/* ---- the serving snapshot ------------------------------------------------------ */

static unsigned ptr_hash(const void *p, unsigned mask)
{
	uintptr_t v = (uintptr_t)p;
	v ^= v >> 17;
	v *= 0x9e3779b97f4a7c15ull;
	return (unsigned)(v >> 32) & mask;
}

/*
 * Wrap set (taking over its reference) with the zone -> configured index map
 * and the current steering map (a reference of its own).
 */
static struct authd_serving *serving_new(const struct authd_config *cfg, const bool *expired,
	struct auth_zoneset *set, struct authd_geo *geo)
{
	struct authd_serving *sv = calloc(1, sizeof(*sv));
	unsigned size = 8;
	while (size < 2 * (cfg->n_zones + 1))
		size *= 2;
	if (!sv || !(sv->map = calloc(size, sizeof(*sv->map)))) {
		free(sv);
		auth_zoneset_unref(set);
		return NULL;
	}
	atomic_init(&sv->refs, 1);
	sv->set = set;
	sv->geo = authd_geo_current(geo);
	sv->mask = size - 1;
	for (unsigned i = 0; i < cfg->n_zones; i++) {
		const struct auth_zone *z = auth_zoneset_get(set, cfg->zones[i].origin);
		if (!z)
			continue;
		unsigned h = ptr_hash(z, sv->mask);
		while (sv->map[h].zone)
			h = (h + 1) & sv->mask;
		sv->map[h].zone = z;
		sv->map[h].index = i;
		sv->map[h].expired = expired[i];
	}
	return sv;
}

static struct authd_serving *serving_acquire(struct authd_serving *sv)
{
	atomic_fetch_add_explicit(&sv->refs, 1, memory_order_relaxed);
	return sv;
}

static void serving_release(struct authd_serving *sv)
{
	if (!sv || atomic_fetch_sub_explicit(&sv->refs, 1, memory_order_acq_rel) != 1)
		return;
	auth_zoneset_unref(sv->set);
	authd_geo_snap_release(sv->geo);
	free(sv->map);
	free(sv);
}

/* The slot of zone z (its configured index and state), or NULL. */
static const struct authd_zone_slot *serving_slot(const struct authd_serving *sv,
	const struct auth_zone *z)
{
	unsigned h = ptr_hash(z, sv->mask);
	while (sv->map[h].zone) {
		if (sv->map[h].zone == z)
			return &sv->map[h];
		h = (h + 1) & sv->mask;
	}
	return NULL;
}

/* Make set the serving one (takes over its reference). Main thread. */
static int serving_swap(struct authd_server *s, struct auth_zoneset *set)
{
	struct authd_serving *sv = serving_new(&s->cfg, s->expired, set, s->geo), *old;
	if (!sv)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	old = s->serving;
	s->serving = sv;
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
	pthread_mutex_unlock(&s->lock);
	serving_release(old);
	return 0;
}

static struct authd_serving *serving_get(struct authd_server *s)
{
	pthread_mutex_lock(&s->lock);
	struct authd_serving *sv = s->serving ? serving_acquire(s->serving) : NULL;
	pthread_mutex_unlock(&s->lock);
	return sv;
}

struct auth_zoneset *authd_server_zones(struct authd_server *s)
{
	struct authd_serving *sv = serving_get(s);
	struct auth_zoneset *set = NULL;
	if (sv) {
		set = auth_zoneset_ref(sv->set);
		serving_release(sv);
	}
	return set;
}

/* Replication's callbacks (struct authd_xfr_host). */
static struct auth_zoneset *xfr_zones_cb(void *ctx)
{
	return authd_server_zones(ctx);
}

/* A new version of z from a transfer: a new set with it, swapped in. */
static int xfr_replace_zone_cb(void *ctx, struct auth_zone *z)
{
	struct authd_server *s = ctx;
	struct auth_zoneset_builder *b;
	struct auth_zoneset *set = NULL;
	struct authd_serving *sv = serving_get(s);
	int r;

	if ((r = auth_zoneset_builder_new(dns_mm_std(), &b)) < 0)
		goto out;
	if ((r = auth_zoneset_builder_add(b, z)) < 0) {
		auth_zoneset_builder_free(b);
		goto out;
	}
	for (size_t i = 0; sv && i < auth_zoneset_count(sv->set); i++) {
		struct auth_zone *old = auth_zoneset_at(sv->set, i);
		if (dns_name_eq(auth_zone_origin(old), auth_zone_origin(z)))
			continue;
		if ((r = auth_zoneset_builder_add(b, old)) < 0) {
			auth_zoneset_builder_free(b);
			goto out;
		}
	}
	if ((r = auth_zoneset_builder_finish(b, &set)) < 0)
		goto out;
	for (unsigned i = 0; i < s->cfg.n_zones; i++)
		if (dns_name_eq(s->cfg.zones[i].origin, auth_zone_origin(z)))
			s->expired[i] = false;
	r = serving_swap(s, set);
out:
	serving_release(sv);
	return r;
}

/* Same zones, the expired flag of origin set (see struct authd_serving). */
static int xfr_expire_zone_cb(void *ctx, const uint8_t *origin)
{
	struct authd_server *s = ctx;
	for (unsigned i = 0; i < s->cfg.n_zones; i++) {
		if (!dns_name_eq(s->cfg.zones[i].origin, origin))
			continue;
		if (s->expired[i])
			return 0;
		s->expired[i] = true;
		/* Same zones, new flags: the workers pick them up like any swap. */
		struct auth_zoneset *set = authd_server_zones(s);
		if (!set)
			return 0;
		log_err("zone %s: expired, answering SERVFAIL until a fresh copy arrives",
			s->cfg.zones[i].origin_text);
		return serving_swap(s, set);
	}
	return DNS_E_NOTFOUND;
}

/* ---- loading ----------------------------------------------------------------------- */

/*
 * Build a zone set from the configured files. A zone whose file is unchanged
 * since its last good load is reused as is; one that fails to load keeps its
 * serving version when there is one (reload) or makes the start fail (unless it
 * is a secondary, which can still be fetched from its primary).
 * Returns 0 with *out, or DNS_E_ZONE when strict and a primary zone failed.
 */
static int load_zones(struct authd_server *s, const struct authd_serving *cur, bool strict,
	struct auth_zoneset **out, unsigned *failed)
{
	struct auth_zoneset_builder *b;
	char err[4096];
	int r, result = 0;

	*failed = 0;
	if ((r = auth_zoneset_builder_new(dns_mm_std(), &b)) < 0)
		return r;
	for (unsigned i = 0; i < s->cfg.n_zones; i++) {
		const struct authd_zone_conf *zc = &s->cfg.zones[i];
		struct authd_file_state *fs = &s->files[i];
		struct auth_zone *old = cur ? auth_zoneset_get(cur->set, zc->origin) : NULL;
		struct auth_zone *z = NULL;
		struct stat st;
		bool have_file = stat(zc->file, &st) == 0;

		if (old && zc->has_primary) {
			z = auth_zone_ref(old); /* a secondary changes by transfer only */
		} else if (old && have_file && fs->loaded && st.st_ino == fs->st.st_ino &&
			   st.st_dev == fs->st.st_dev && st.st_size == fs->st.st_size &&
			   st.st_mtim.tv_sec == fs->st.st_mtim.tv_sec &&
			   st.st_mtim.tv_nsec == fs->st.st_mtim.tv_nsec) {
			z = auth_zone_ref(old);
		} else if (!have_file && zc->has_primary) {
			log_info("zone %s: no copy in %s yet, waiting for a transfer", zc->origin_text,
				zc->file);
		} else {
			err[0] = '\0';
			r = authd_zonefile_load(dns_mm_std(), zc->origin, zc->file, &z, err, sizeof(err));
			if (r == 0) {
				fs->loaded = true;
				fs->st = st;
				struct auth_soa soa;
				auth_zone_soa(z, &soa);
				log_info("zone %s: serial %u, %zu records from %s", zc->origin_text,
					soa.serial, auth_zone_rr_count(z), zc->file);
			} else {
				(*failed)++;
				/* err holds "file:line: reason" lines; log each. */
				char *save = NULL;
				for (char *line = strtok_r(err, "\n", &save); line;
				     line = strtok_r(NULL, "\n", &save))
					log_err("%s", line);
				if (!err[0])
					log_err("%s: %s", zc->file, dns_strerror(r));
				if (old) {
					log_err("zone %s: keeping serial %u", zc->origin_text,
						auth_zone_serial(old));
					z = auth_zone_ref(old);
				} else if (strict && !zc->has_primary) {
					result = DNS_E_ZONE;
				}
			}
		}
		if (z) {
			r = auth_zoneset_builder_add(b, z);
			auth_zone_unref(z);
			if (r < 0) {
				auth_zoneset_builder_free(b);
				return r;
			}
		}
	}
	if (result < 0) {
		auth_zoneset_builder_free(b);
		return result;
	}
	return auth_zoneset_builder_finish(b, out);
}

void authd_server_reload(struct authd_server *s)
{
	struct authd_serving *cur = serving_get(s);
	struct auth_zoneset *set;
	unsigned failed;

	log_info("reloading %u zones", s->cfg.n_zones);
	s->reloads++;
	if (load_zones(s, cur, false, &set, &failed) < 0) {
		log_err("reload failed: keeping every zone as it was");
		s->reload_failures++;
		serving_release(cur);
		return;
	}
	if (failed)
		s->reload_failures++;
	/* Zones whose serving version changed get their secondaries notified. */
	for (size_t i = 0; i < auth_zoneset_count(set); i++) {
		struct auth_zone *z = auth_zoneset_at(set, i);
		struct auth_zone *o = cur ? auth_zoneset_get(cur->set, auth_zone_origin(z)) : NULL;
		if (o != z && s->xfr)
			authd_xfr_zone_changed(s->xfr, z);
	}
	serving_release(cur);
	/* The map is checked against the zones that will serve with it. */
	if (s->geo)
		(void)authd_geo_reload(s->geo, set);
	if (serving_swap(s, set) < 0)
		log_err("reload: out of memory");
	else
		log_info("reload done: %zu zones serving, %u failed", auth_zoneset_count(set), failed);
}

/* ---- queries ------------------------------------------------------------------------ */

static const uint16_t zone_types[AUTHD_ZONE_TYPES - 1] = {
	DNS_T_A, DNS_T_AAAA, DNS_T_NS, DNS_T_CNAME, DNS_T_SOA, DNS_T_MX, DNS_T_TXT, DNS_T_SRV,
	DNS_T_PTR, DNS_T_CAA, DNS_T_DS, DNS_T_DNSKEY, DNS_T_HTTPS, DNS_T_SVCB, DNS_T_ANY, DNS_T_AXFR};

static unsigned zone_rcode_bucket(unsigned rcode)
{
	switch (rcode) {
	case DNS_RC_NOERROR: return 0;
	case DNS_RC_FORMERR: return 1;
	case DNS_RC_SERVFAIL: return 2;
	case DNS_RC_NXDOMAIN: return 3;
	case DNS_RC_NOTIMP: return 4;
	case DNS_RC_REFUSED: return 5;
	case DNS_RC_NOTAUTH: return 6;
	default: return 7;
	}
}

static unsigned zone_type_bucket(uint16_t type)
{
	for (unsigned i = 0; i < AUTHD_ZONE_TYPES - 1; i++)
		if (zone_types[i] == type)
			return i;
	return AUTHD_ZONE_TYPES - 1;
}

static void count_answer(struct authd_server *s, unsigned t, const struct authd_zone_slot *slot,
	const struct auth_answer_info *info, bool tcp)
{
	struct dns_counters *c = &s->counters;

	dns_counter_add(c, t, tcp ? AUTHD_C_TCP : AUTHD_C_UDP, 1);
	if (info->dropped) {
		dns_counter_add(c, t, AUTHD_C_DROPPED, 1);
		return;
	}
	if (info->qtype < 256)
		dns_counter_add(c, t, AUTHD_C_QTYPE + info->qtype, 1);
	else
		dns_counter_add(c, t, info->qtype == DNS_T_CAA ? AUTHD_C_QTYPE_CAA : AUTHD_C_QTYPE_OTHER, 1);
	dns_counter_add(c, t, info->rcode < 24 ? AUTHD_C_RCODE + info->rcode : AUTHD_C_RCODE_OTHER, 1);
	if (info->tc)
		dns_counter_add(c, t, AUTHD_C_TC, 1);
	if (!slot) {
		dns_counter_add(c, t, AUTHD_C_NOZONE, 1);
		return;
	}
	if (slot->expired)
		dns_counter_add(c, t, AUTHD_C_EXPIRED, 1);
	unsigned base = AUTHD_C_ZONE + slot->index * AUTHD_ZONE_STRIDE;
	dns_counter_add(c, t, base + zone_rcode_bucket(info->rcode), 1);
	dns_counter_add(c, t, base + AUTHD_ZONE_RCODES + zone_type_bucket(info->qtype), 1);
}

static void client_of(const struct sockaddr *sa, bool tcp, struct auth_client *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->tcp = tcp;
	if (sa->sa_family == AF_INET) {
		cl->family = 4;
		memcpy(cl->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			cl->family = 4;
			memcpy(cl->addr, a->s6_addr + 12, 4);
		} else {
			cl->family = 6;
			memcpy(cl->addr, a->s6_addr, 16);
		}
	}
}

/*
 * SERVFAIL for a well-formed query (the answer engine accepted it): header,
 * question, and an OPT when the query had one (RFC 6891 7).
 */
static size_t servfail_write(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap)
{
	struct dns_query q;
	struct dns_writer w;

	if (dns_query_parse(pkt, len, &q, NULL) != DNS_QUERY_OK)
		return 0;
	dns_writer_init(&w, out, cap);
	if (dns_writer_question(&w, q.qname, q.qtype, q.qclass) < 0)
		return 0;
	if (q.has_opt)
		(void)dns_writer_opt(&w, AUTH_EDNS_SIZE, 0, q.edns.flags & DNS_EDNS_DO, NULL, 0);
	return dns_writer_finish(&w, q.hdr.id, (uint16_t)(DNS_FLAG_QR |
		(q.hdr.flags & (0x7800 | DNS_FLAG_RD | DNS_FLAG_CD)) | DNS_RC_SERVFAIL));
}

/* The worker's serving snapshot, refreshed when the main thread swapped a new one in. */
static struct authd_serving *worker_serving(struct authd_server *s, unsigned t)
{
	struct authd_worker *w = &s->workers[t];
	unsigned gen = atomic_load_explicit(&s->gen, memory_order_acquire);
	if (w->gen != gen || !w->serving) {
		struct authd_serving *old = w->serving;
		pthread_mutex_lock(&s->lock);
		w->serving = s->serving ? serving_acquire(s->serving) : NULL;
		w->gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
		pthread_mutex_unlock(&s->lock);
		serving_release(old);
	}
	return w->serving;
}

static void on_query(void *ctx, struct dns_listen_req *req, const uint8_t *pkt, size_t len)
{
	struct authd_server *s = ctx;
	unsigned t = dns_listen_req_thread(req);
	bool tcp = dns_listen_req_transport(req) == DNS_TRANSPORT_TCP;
	struct authd_serving *sv = worker_serving(s, t);
	struct auth_answer_info info;
	struct auth_client client;
	size_t outlen = 0;

	/* NOTIFY and zone transfers go to replication (authd_xfr.c). */
	if (auth_is_notify(pkt, len) && s->xfr) {
		struct dns_query q;
		dns_counter_add(&s->counters, t, AUTHD_C_NOTIFY, 1);
		if (dns_query_parse(pkt, len, &q, NULL) == DNS_QUERY_OK) {
			authd_xfr_on_notify(s->xfr, req, &q);
			return;
		}
	} else if (tcp && s->xfr && len > DNS_HEADER_LEN) {
		struct dns_query q;
		if (dns_query_parse(pkt, len, &q, NULL) == DNS_QUERY_OK &&
		    DNS_OPCODE(q.hdr.flags) == DNS_OP_QUERY &&
		    (q.qtype == DNS_T_AXFR || q.qtype == DNS_T_IXFR)) {
			dns_counter_add(&s->counters, t, AUTHD_C_XFR, 1);
			authd_xfr_on_axfr(s->xfr, req, &q);
			return;
		}
	}

	client_of(dns_listen_req_peer(req), tcp, &client);
	uint8_t *out = dns_listen_req_buf(req);
	/* Steering reads the map of the same snapshot as the zones (one reference). */
	struct authd_geo_view view = {.geo = s->geo, .snap = sv ? sv->geo : NULL, .thread = t};
	struct auth_hooks hooks = {.steer = authd_geo_steer, .chaos_txt = authd_geo_chaos_txt,
		.ctx = &view};
	if (out && auth_answer(sv ? sv->set : NULL, pkt, len, &client, view.snap ? &hooks : NULL,
			       out, DNS_LISTEN_MSG_MAX, &outlen, &info) == 0) {
		const struct authd_zone_slot *slot =
			info.zone && sv ? serving_slot(sv, info.zone) : NULL;
		if (slot && slot->expired && outlen > 0) {
			outlen = servfail_write(pkt, len, out, DNS_LISTEN_MSG_MAX);
			info.rcode = DNS_RC_SERVFAIL;
		}
		if (outlen > 0)
			dns_listen_reply(req, out, outlen);
		count_answer(s, t, slot, &info, tcp);
	}
	dns_listen_done(req);
}

static void on_thread_stop(void *ctx, unsigned thread, uv_loop_t *loop)
{
	struct authd_server *s = ctx;
	(void)loop;
	serving_release(s->workers[thread].serving);
	s->workers[thread].serving = NULL;
}

/* ---- life cycle ----------------------------------------------------------------------- */

/* The map or GeoIP file changed on disk: reload the map alone and publish it. */
static void on_map_changed(void *ctx)
{
	struct authd_server *s = ctx;
	struct auth_zoneset *set = authd_server_zones(s);
	if (authd_geo_reload(s->geo, set) == 0) {
		if (serving_swap(s, set) < 0)
			log_err("map reload: out of memory");
		return;
	}
	auth_zoneset_unref(set);
}

/* SIGHUP */
static void on_reload(void *ctx)
{
	authd_server_reload(ctx);
}

int authd_server_init(struct authd_server *s, const struct authd_config *cfg)
{
	struct auth_zoneset *set;
	unsigned failed;
	int r;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->gen, 1);
	if ((r = dns_shell_init(&s->shell)) < 0)
		return r;
	/* Workers are cache-line aligned so threads never share a line. */
	s->workers = aligned_alloc(64, cfg->threads * sizeof(*s->workers));
	if (s->workers)
		memset(s->workers, 0, cfg->threads * sizeof(*s->workers));
	s->files = calloc(cfg->n_zones, sizeof(*s->files));
	s->expired = calloc(cfg->n_zones, sizeof(*s->expired));
	if (!s->workers || !s->files || !s->expired)
		return -ENOMEM;
	if ((r = dns_counters_init(&s->counters, cfg->threads,
			AUTHD_C_ZONE + cfg->n_zones * AUTHD_ZONE_STRIDE)) < 0)
		return r;

	if ((r = load_zones(s, NULL, true, &set, &failed)) < 0) {
		log_err("cannot start: %s", r == DNS_E_ZONE ? "a zone failed to load" : dns_strerror(r));
		return r;
	}
	if (cfg->map_file &&
	    (r = authd_geo_start(&s->geo, cfg, &s->shell.loop, cfg->threads, set, on_map_changed, s)) < 0) {
		auth_zoneset_unref(set);
		log_err("cannot start: the map %s is not usable", cfg->map_file);
		return r;
	}
	if ((r = serving_swap(s, set)) < 0)
		return r;

	struct dns_shell_config sc = {
		.listen = {
			.addrs = cfg->listen.items,
			.naddrs = cfg->listen.n,
			.threads = cfg->threads,
			.opts = {.query_cb = on_query, .ctx = s, .tcp_idle_ms = cfg->tcp_idle_ms,
				 .tcp_max_conns = cfg->tcp_max_clients},
			.thread_stop = on_thread_stop,
		},
		.reload = on_reload,
		.ctx = s,
	};
	if ((r = dns_shell_start(&s->shell, &sc)) < 0)
		return r; /* logged there */
	if (cfg->has_metrics) {
		if ((r = http_metrics_start(&s->metrics, &s->shell.loop, (const struct sockaddr *)&cfg->metrics,
				authd_metrics_cb, s)) < 0)
			return r; /* logged there */
	}
	struct authd_xfr_host host = {.loop = &s->shell.loop, .cfg = &s->cfg, .ctx = s,
		.zones = xfr_zones_cb, .replace_zone = xfr_replace_zone_cb,
		.expire_zone = xfr_expire_zone_cb};
	if ((r = authd_xfr_start(&host, &s->xfr)) < 0) {
		log_err("cannot start replication: %s", dns_strerror(r));
		return r;
	}
	log_info("cairn-auth %s ready: %u zones, %u threads", CAIRN_VERSION, cfg->n_zones,
		cfg->threads);
	return 0;
}

int authd_server_run(struct authd_server *s)
{
	return dns_shell_run(&s->shell);
}

int authd_server_deinit(struct authd_server *s)
{
	int r = dns_shell_stop(&s->shell);

	if (s->xfr)
		authd_xfr_close(s->xfr);
	s->xfr = NULL;
	if (s->metrics)
		http_metrics_close(s->metrics);
	s->metrics = NULL;
	authd_geo_close(s->geo);
	if (dns_shell_deinit(&s->shell) < 0)
		r = -EBUSY;
	serving_release(s->serving);
	s->serving = NULL;
	authd_geo_free(s->geo);
	s->geo = NULL;
	dns_counters_deinit(&s->counters);
	free(s->workers);
	free(s->files);
	free(s->expired);
	pthread_mutex_destroy(&s->lock);
	return r;
}

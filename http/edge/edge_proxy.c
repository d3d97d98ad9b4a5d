/*
 * edge_proxy.c -- cairn-edge's answer to one request: which origin, and which
 * way it goes (the pieces: edge_proxy_impl.h).
 *
 * Routing (http_route.h): the request's host (the authority of an absolute-form target, else
 * Host, without its port, RFC 9112 3.2.2) names a configured origin; failing
 * that, the first path segment may name one (the URL-rewriting form of classic
 * CDNs, http://EDGE/ORIGIN-HOST/path, fetched as /path from ORIGIN-HOST). A
 * request matching no origin is answered 404 with a body saying so (not 421:
 * the edge is authoritative for no host of its own, and 404 is what a client
 * asking for an unknown site on a shared server gets).
 *
 * GET and HEAD go through the cache (http_cache.h; what to do at each step is
 * decided by http_edge_policy.h and carried out here), keyed by the origin's
 * host and the path with its query: a stored response answers (HIT, or STALE
 * within stale-while-revalidate while a background fetch revalidates), a
 * request joins the fetch in flight for its key, or starts one
 * (edge_proxy_fetch.c). Other methods are forwarded with their body
 * (streamed back, edge_proxy_stream.c); an unsafe one (not GET, HEAD,
 * OPTIONS, TRACE) invalidates the URL when it succeeds (RFC 9111 4.4).
 *
 * PURGE (from --purge-allow addresses, default loopback) removes every variant
 * of the URL: 200 when something was removed, 404 when nothing; 403 from
 * other addresses. /health is answered by the edge itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_log.h"
#include "http_path.h"
#include "edge_proxy_impl.h"

/* ---- routing ------------------------------------------------------------- */

/* Find the origin and the path to ask it (http_route.h). Returns 0, or the status to answer (400, 404). */
static int route_request(struct edge *edge, const struct http_request *r, struct route *rt)
{
	int rc = http_route_find(edge->hosts, edge->norigins, r, &rt->hr);
	rt->origin = rc == 0 ? &edge->origins[rt->hr.origin] : NULL;
	if (rc == 0)
		return 0;
	return rc == DNS_E_SYNTAX ? 400 : 404;
}

char *edge_route_key(const struct route *rt)
{
	size_t hl = rt->origin->host_len, pl = strlen(rt->hr.path);
	char *k = malloc(hl + pl + 2);
	if (!k)
		return NULL;
	memcpy(k, rt->origin->host, hl);
	k[hl] = ' ';
	memcpy(k + hl + 1, rt->hr.path, pl + 1);
	return k;
}

/* ---- requests ------------------------------------------------------------ */

/*
 * GET or HEAD: from the cache, by joining a fetch, or by a new one. alone:
 * the request could not share another's answer; its fetch takes no others.
 */
void edge_handle_cacheable(struct edge *edge, struct http_exchange *ex, bool alone)
{
	const struct http_request *r = http_exchange_request(ex);
	struct route route, *rt = &route;
	struct http_cache_entry *e = NULL;
	struct edge_fetch *f;
	enum http_cache_verdict v;
	struct http_edge_decision d;
	char *key;
	int st;

	if ((st = route_request(edge, r, rt)) != 0) {
		if (st == 404)
			edge_reply_local(ex, 404, NULL, "404 Not Found: no origin for host '%s'\n", rt->hr.host);
		else
			edge_reply_local(ex, st, NULL, "%d %s\n", st, http_status_reason(st));
		return;
	}
	key = edge_route_key(rt);
	if (!key) {
		edge_reply_local(ex, 500, NULL, "500 out of memory\n");
		return;
	}
	v = http_cache_lookup(&edge->cache, key, r, wall_now(), &e);
	if (dns_log_enabled(DNS_LOG_DEBUG))
		log_debug("%s: %s", key, http_cache_verdict_name(v));
	f = edge_fetch_find(edge, key);
	d = http_edge_on_lookup(v, r, f != NULL, alone);
	switch (d.action) {
	case HTTP_EDGE_SERVE:
		if (d.revalidate)
			edge_fetch_start(edge, NULL, r, rt, e, true, true);
		edge_serve_entry(edge, ex, e, d.xcache);
		goto out;
	case HTTP_EDGE_NOT_CACHED:
		edge_reply_local(ex, 504, NULL, "504 Gateway Timeout: not cached (only-if-cached)\n");
		goto out;
	case HTTP_EDGE_JOIN:
		if (edge_fetch_add_waiter(f, ex, e) == 0) {
			edge->stats.collapsed++;
			log_debug("%s: joins the fetch in flight", key);
			goto out;
		}
		break; /* no memory to wait: a fetch of its own */
	default:
		break;
	}
	if (!edge_fetch_start(edge, ex, r, rt, e, true, !alone)) {
		d = http_edge_on_failure(e, 0, wall_now());
		if (d.action == HTTP_EDGE_SERVE)
			edge_serve_entry(edge, ex, e, d.xcache);
		else
			edge_reply_local(ex, 502, NULL, "502 Bad Gateway: origin %s unreachable\n", rt->origin->host);
		edge->stats.errors++;
	}
out:
	if (e)
		http_cache_entry_unref(&edge->cache, e);
	free(key);
}

static void handle_purge(struct edge *edge, struct http_exchange *ex)
{
	const struct http_request *r = http_exchange_request(ex);
	struct route *rt;
	char *key;
	unsigned n;
	int st;

	if (!edge_config_purge_allowed(edge->cfg, http_exchange_peer(ex))) {
		edge_reply_local(ex, 403, NULL, "403 Forbidden: PURGE is not allowed from %s\n",
			http_exchange_peer_text(ex));
		return;
	}
	rt = malloc(sizeof(*rt));
	if (!rt) {
		edge_reply_local(ex, 500, NULL, "500 out of memory\n");
		return;
	}
	if ((st = route_request(edge, r, rt)) != 0) {
		edge_reply_local(ex, st, NULL, "%d %s: no origin for host '%s'\n", st, http_status_reason(st), rt->hr.host);
		free(rt);
		return;
	}
	key = edge_route_key(rt);
	n = key ? http_cache_invalidate(&edge->cache, key) : 0;
	log_info("PURGE %s: %u removed", key ? key : "?", n);
	if (n)
		edge_reply_local(ex, 200, NULL, "purged %u\n", n);
	else
		edge_reply_local(ex, 404, NULL, "404 Not Found: not cached\n");
	free(key);
	free(rt);
}

static void handle_forward(struct edge *edge, struct http_exchange *ex)
{
	const struct http_request *r = http_exchange_request(ex);
	struct route *rt = malloc(sizeof(*rt));
	int st;
	if (!rt) {
		edge_reply_local(ex, 500, NULL, "500 out of memory\n");
		return;
	}
	if ((st = route_request(edge, r, rt)) != 0) {
		edge_reply_local(ex, st, NULL, "%d %s: no origin for host '%s'\n", st, http_status_reason(st), rt->hr.host);
	} else if (!edge_fetch_start(edge, ex, r, rt, NULL, false, false)) {
		edge->stats.errors++;
		edge_reply_local(ex, 502, NULL, "502 Bad Gateway: origin %s unreachable\n", rt->origin->host);
	}
	free(rt);
}

static void handle_health(struct edge *edge, struct http_exchange *ex)
{
	const struct http_cache *c = &edge->cache;
	const struct edge_stats *s = &edge->stats;
	char extra[64];
	snprintf(extra, sizeof(extra), "Cache-Control: no-store\r\n");
	edge_reply_local(ex, edge->draining ? 503 : 200, extra,
		"%s\nentries %llu\nbytes %llu\nmax-bytes %llu\nevictions %llu\nhits %llu\nmisses %llu\n"
		"revalidated %llu\nstale %llu\nfetches %llu\ncollapsed %llu\nerrors %llu\n",
		edge->draining ? "draining" : "serving", (unsigned long long)c->entries,
		(unsigned long long)c->bytes, (unsigned long long)c->cfg.max_bytes,
		(unsigned long long)c->evictions, (unsigned long long)s->hits,
		(unsigned long long)s->misses, (unsigned long long)s->revalidated,
		(unsigned long long)s->stale, (unsigned long long)s->fetches,
		(unsigned long long)s->collapsed, (unsigned long long)s->errors);
}

static bool is_health(const struct http_request *r)
{
	const char *t = http_target_path(r->target, NULL, NULL);
	return t && strncmp(t, "/health", 7) == 0 && (t[7] == '\0' || t[7] == '?');
}

void edge_serve(void *ctx, struct http_exchange *ex)
{
	struct edge *edge = ctx;
	const struct http_request *r = http_exchange_request(ex);

	if (edge->draining)
		http_exchange_close(ex); /* let clients move to another edge */
	switch (r->method) {
	case HTTP_METHOD_GET:
	case HTTP_METHOD_HEAD:
		if (is_health(r))
			handle_health(edge, ex);
		else
			edge_handle_cacheable(edge, ex, false);
		return;
	case HTTP_METHOD_PURGE:
		handle_purge(edge, ex);
		return;
	default:
		handle_forward(edge, ex);
		return;
	}
}

int edge_init(struct edge *edge, uv_loop_t *loop, const struct edge_config *cfg)
{
	struct http_cache_config cc = {.max_bytes = cfg->cache_size, .max_object = cfg->max_object,
		.heuristic_max = cfg->heuristic_max};
	memset(edge, 0, sizeof(*edge));
	edge->loop = loop;
	edge->cfg = cfg;
	edge->norigins = cfg->norigins;
	for (size_t i = 0; i < cfg->norigins; i++) {
		struct edge_origin *o = &edge->origins[i];
		o->host = cfg->origins[i].host;
		o->host_len = strlen(o->host);
		o->addr = cfg->origins[i].addr;
		dns_addr_format((const struct sockaddr *)&o->addr, o->addr_text, sizeof(o->addr_text));
		o->edge = edge;
		edge->hosts[i] = o->host;
	}
	return http_cache_init(&edge->cache, &cc, NULL);
}

void edge_deinit(struct edge *edge)
{
	http_cache_deinit(&edge->cache);
}

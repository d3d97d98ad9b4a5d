/*
 * edge_main.c -- cairn-edge: a caching reverse proxy (see edge.h).
 *
 * SIGTERM/SIGINT drain: /health answers 503 at once (so health checks steer
 * clients away), and after --drain-delay the listeners close, idle client
 * connections close, requests in flight finish; then the idle origin
 * connections close and the loop runs dry: exit 0.
 */
#include <stdlib.h>

#include "dns_log.h"
#include "edge.h"
#include "http_shell.h"

static const char usage[] = "--listen ADDR@PORT --origin HOST=ADDR@PORT ... [--cache-size 256M] "
	"[--purge-allow CIDR ...] [options]";

struct edge_main {
	uv_loop_t loop;
	struct dns_signals sigs;
	uv_timer_t drain;
	struct edge edge;
	bool signalled;
};

static void on_stopped(struct http_server *srv, void *arg)
{
	struct edge_main *m = arg;
	struct edge *edge = &m->edge;
	(void)srv;
	edge->stopping = true;
	edge_up_close_idle(edge);
	log_info("stopped: %llu requests served (%llu hits, %llu misses, %llu revalidated, "
		"%llu stale, %llu origin fetches)", (unsigned long long)edge->server.requests,
		(unsigned long long)edge->stats.hits, (unsigned long long)edge->stats.misses,
		(unsigned long long)edge->stats.revalidated, (unsigned long long)edge->stats.stale,
		(unsigned long long)edge->stats.fetches);
	dns_signals_close(&m->sigs);
	uv_close((uv_handle_t *)&m->drain, NULL);
}

static void on_drain_timer(uv_timer_t *t)
{
	struct edge_main *m = t->data;
	log_info("draining: listeners closed, finishing requests in flight");
	http_server_stop(&m->edge.server, on_stopped, m);
}

static void on_signal(struct dns_signals *sigs, int signum)
{
	struct edge_main *m = sigs->data;
	if (m->signalled)
		return;
	m->signalled = true;
	m->edge.draining = true;
	log_info("signal %d: shutting down (health 503 for %u ms)", signum, m->edge.cfg->drain_delay_ms);
	uv_timer_start(&m->drain, on_drain_timer, m->edge.cfg->drain_delay_ms, 0);
}

static int run(void *arg)
{
	struct edge_config *cfg = arg;
	struct edge_main *m = calloc(1, sizeof(*m));
	bool started;
	int rc;

	if (!m || uv_loop_init(&m->loop) < 0) {
		log_err("loop: out of memory");
		free(m);
		return 1;
	}
	if (edge_init(&m->edge, &m->loop, cfg) < 0) {
		log_err("cache: out of memory");
		uv_loop_close(&m->loop);
		free(m);
		return 1;
	}
	struct http_server_config sc = {
		.addrs = cfg->listen.items,
		.naddrs = cfg->listen.n,
		.limits = {.max_body = cfg->max_body, .no_body = cfg->max_body == 0},
		.idle_timeout_ms = cfg->idle_timeout_ms,
		.header_timeout_ms = cfg->header_timeout_ms,
		.send_timeout_ms = cfg->send_timeout_ms,
		.max_conns = cfg->max_conns,
		.server_name = "cairn-edge/" CAIRN_VERSION,
		.on_request = edge_serve,
		.ctx = &m->edge,
	};
	uv_timer_init(&m->loop, &m->drain);
	m->drain.data = m;
	started = http_shell_start(&m->loop, &m->edge.server, &sc, &m->sigs, on_signal, m) == 0;
	if (started) {
		for (size_t i = 0; i < cfg->norigins; i++)
			log_info("origin %s at %s", m->edge.origins[i].host, m->edge.origins[i].addr_text);
		log_info("cache %llu bytes, objects up to %llu bytes",
			(unsigned long long)cfg->cache_size, (unsigned long long)cfg->max_object);
	}
	rc = http_shell_run(&m->loop, started);
	edge_deinit(&m->edge);
	free(m);
	return rc;
}

HTTP_SHELL_MAIN(edge_config, "cairn-edge", usage, run)

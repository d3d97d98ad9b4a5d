/*
 * edge_main.c -- cairn-edge: a caching reverse proxy (see edge.h).
 *
 * SIGTERM/SIGINT drain: /health answers 503 at once (so health checks steer
 * clients away), and after --drain-delay the listeners close, idle client
 * connections close, requests in flight finish; then the idle origin
 * connections close and the loop runs dry: exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_log.h"
#include "dns_log_time.h"
#include "dns_loop.h"
#include "edge.h"

static const char usage[] = "--listen ADDR@PORT --origin HOST=ADDR@PORT ... [--cache-size 256M] "
	"[--purge-allow CIDR ...] [options]";

struct edge_main {
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
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
	uv_close((uv_handle_t *)&m->sigterm, NULL);
	uv_close((uv_handle_t *)&m->sigint, NULL);
	uv_close((uv_handle_t *)&m->drain, NULL);
}

static void on_drain_timer(uv_timer_t *t)
{
	struct edge_main *m = t->data;
	log_info("draining: listeners closed, finishing requests in flight");
	http_server_stop(&m->edge.server, on_stopped, m);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct edge_main *m = h->data;
	if (m->signalled)
		return;
	m->signalled = true;
	m->edge.draining = true;
	log_info("signal %d: shutting down (health 503 for %u ms)", signum, m->edge.cfg->drain_delay_ms);
	uv_timer_start(&m->drain, on_drain_timer, m->edge.cfg->drain_delay_ms, 0);
}

static int run(struct edge_config *cfg)
{
	struct edge_main *m = calloc(1, sizeof(*m));
	int r, rc = 0;

	if (!m || (r = uv_loop_init(&m->loop)) < 0) {
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
	if (http_server_start(&m->edge.server, &m->loop, &sc) < 0) {
		rc = 1;
	} else {
		uv_signal_init(&m->loop, &m->sigterm);
		uv_signal_init(&m->loop, &m->sigint);
		uv_timer_init(&m->loop, &m->drain);
		m->sigterm.data = m;
		m->sigint.data = m;
		m->drain.data = m;
		uv_signal_start(&m->sigterm, on_signal, SIGTERM);
		uv_signal_start(&m->sigint, on_signal, SIGINT);
		for (size_t i = 0; i < cfg->norigins; i++)
			log_info("origin %s at %s", m->edge.origins[i].host, m->edge.origins[i].addr_text);
		log_info("cache %llu bytes, objects up to %llu bytes",
			(unsigned long long)cfg->cache_size, (unsigned long long)cfg->max_object);
		uv_run(&m->loop, UV_RUN_DEFAULT);
	}
	if (dns_loop_close_all(&m->loop) < 0) {
		log_err("shutdown: the loop did not close cleanly");
		rc = 1;
	}
	edge_deinit(&m->edge);
	free(m);
	return rc;
}

int main(int argc, char **argv)
{
	struct dns_config parser;
	struct edge_config cfg;
	char err[512];
	int rc = 1, r;

	if (edge_config_init(&parser, &cfg) < 0) {
		fprintf(stderr, "cairn-edge: out of memory\n");
		return 1;
	}
	parser.prog = "cairn-edge";
	if (dns_config_parse_argv(&parser, argc, argv) < 0) {
		fprintf(stderr, "cairn-edge: %s\n", parser.err);
		goto out;
	}
	if (dns_config_print_action(&parser, usage, CAIRN_VERSION)) {
		rc = 0;
		goto out;
	}
	if (parser.nargs > 0) {
		fprintf(stderr, "cairn-edge: unexpected argument '%s'\n", parser.args[0]);
		goto out;
	}
	err[0] = '\0';
	if ((r = edge_config_finish(&cfg, err, sizeof(err))) < 0) {
		fprintf(stderr, "cairn-edge: %s\n", err[0] ? err : dns_strerror(r));
		goto out;
	}
	dns_log_setup_stamped("cairn-edge", (enum dns_log_level)dns_log_level_from_str(cfg.log_level));
	rc = run(&cfg);
out:
	edge_config_deinit(&cfg);
	dns_config_deinit(&parser);
	return rc;
}

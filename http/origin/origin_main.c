/* origin_main.c -- cairn-origin: a static-file HTTP/1.1 origin server. */
#include <string.h>

#include "dns_log.h"
#include "http_shell.h"
#include "origin.h"

static const char usage[] = "--listen ADDR@PORT --root DIR [--cache-control PREFIX=VALUE ...] [options]";

struct origin {
	uv_loop_t loop;
	struct dns_signals sigs;
	struct http_server server;
	struct origin_config *cfg;
};

static void on_stopped(struct http_server *srv, void *arg)
{
	struct origin *o = arg;
	(void)srv;
	log_info("stopped: %llu requests served", (unsigned long long)o->server.requests);
	dns_signals_close(&o->sigs);
}

static void on_signal(struct dns_signals *sigs, int signum)
{
	struct origin *o = sigs->data;
	if (o->server.stopping)
		return;
	/* Stop accepting; requests in flight are finished, then the loop runs dry. */
	log_info("signal %d: shutting down", signum);
	http_server_stop(&o->server, on_stopped, o);
}

static int run(void *arg)
{
	struct origin_config *cfg = arg;
	struct origin o;
	bool started;
	int r;

	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	if ((r = uv_loop_init(&o.loop)) < 0) {
		log_err("loop: %s", uv_strerror(r));
		return 1;
	}
	struct http_server_config sc = {
		.addrs = cfg->listen.items,
		.naddrs = cfg->listen.n,
		.limits = {.max_uri = cfg->max_uri, .max_head = cfg->max_header_size,
			.max_headers = cfg->max_headers, .max_body = cfg->max_body,
			.no_body = cfg->max_body == 0},
		.idle_timeout_ms = cfg->idle_timeout_ms,
		.header_timeout_ms = cfg->header_timeout_ms,
		.max_conns = cfg->max_conns,
		.server_name = "cairn-origin/" CAIRN_VERSION,
		.on_request = origin_serve,
		.ctx = cfg,
	};
	started = http_shell_start(&o.loop, &o.server, &sc, &o.sigs, on_signal, &o) == 0;
	if (started)
		log_info("serving %s", cfg->real_root);
	return http_shell_run(&o.loop, started);
}

HTTP_SHELL_MAIN(origin_config, "cairn-origin", usage, run)

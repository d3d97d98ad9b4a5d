/* origin_main.c -- cairn-origin: a static-file HTTP/1.1 origin server. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_log.h"
#include "dns_log_time.h"
#include "dns_loop.h"
#include "origin.h"

static const char usage[] = "--listen ADDR@PORT --root DIR [--cache-control PREFIX=VALUE ...] [options]";

struct origin {
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
	struct http_server server;
	struct origin_config *cfg;
};

static void on_stopped(struct http_server *srv, void *arg)
{
	struct origin *o = arg;
	(void)srv;
	log_info("stopped: %llu requests served", (unsigned long long)o->server.requests);
	uv_close((uv_handle_t *)&o->sigterm, NULL);
	uv_close((uv_handle_t *)&o->sigint, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct origin *o = h->data;
	if (o->server.stopping)
		return;
	/* Stop accepting; requests in flight are finished, then the loop runs dry. */
	log_info("signal %d: shutting down", signum);
	http_server_stop(&o->server, on_stopped, o);
}

static int run(struct origin_config *cfg)
{
	struct origin o;
	int r, rc = 0;

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
	if (http_server_start(&o.server, &o.loop, &sc) < 0) {
		rc = 1;
	} else {
		uv_signal_init(&o.loop, &o.sigterm);
		uv_signal_init(&o.loop, &o.sigint);
		o.sigterm.data = &o;
		o.sigint.data = &o;
		uv_signal_start(&o.sigterm, on_signal, SIGTERM);
		uv_signal_start(&o.sigint, on_signal, SIGINT);
		log_info("serving %s", cfg->real_root);
		uv_run(&o.loop, UV_RUN_DEFAULT);
	}
	if (dns_loop_close_all(&o.loop) < 0) {
		log_err("shutdown: the loop did not close cleanly");
		rc = 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct dns_config parser;
	struct origin_config cfg;
	char err[512];
	int rc = 1, r;

	if (origin_config_init(&parser, &cfg) < 0) {
		fprintf(stderr, "cairn-origin: out of memory\n");
		return 1;
	}
	parser.prog = "cairn-origin";
	if (dns_config_parse_argv(&parser, argc, argv) < 0) {
		fprintf(stderr, "cairn-origin: %s\n", parser.err);
		goto out;
	}
	if (dns_config_print_action(&parser, usage, CAIRN_VERSION)) {
		rc = 0;
		goto out;
	}
	if (parser.nargs > 0) {
		fprintf(stderr, "cairn-origin: unexpected argument '%s'\n", parser.args[0]);
		goto out;
	}
	err[0] = '\0';
	if ((r = origin_config_finish(&cfg, err, sizeof(err))) < 0) {
		fprintf(stderr, "cairn-origin: %s\n", err[0] ? err : dns_strerror(r));
		goto out;
	}
	dns_log_setup_stamped("cairn-origin", (enum dns_log_level)dns_log_level_from_str(cfg.log_level));
	rc = run(&cfg);
out:
	origin_config_deinit(&cfg);
	dns_config_deinit(&parser);
	return rc;
}

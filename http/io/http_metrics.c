/* http_metrics.c -- the Prometheus endpoint on the shared HTTP server (http_metrics.h). */
#include "http_metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_server.h"

struct http_metrics {
	struct http_server srv;         /* the server (its storage must outlive the stop) */
	struct sockaddr_storage addr;   /* as asked, then as bound */
	dns_metrics_cb cb;              /* writes the text */
	void *ctx;                      /* its first argument */
};

static void on_request(void *ctx, struct http_exchange *ex)
{
	struct http_metrics *m = ctx;
	const struct http_request *r = http_exchange_request(ex);
	static const char not_found[] = "404 Not Found\n", not_allowed[] = "405 Method Not Allowed\n";

	if (r->method != HTTP_METHOD_GET && r->method != HTTP_METHOD_HEAD) {
		http_exchange_reply(ex, 405, "Allow: GET, HEAD\r\n", "text/plain", not_allowed,
			sizeof(not_allowed) - 1);
		return;
	}
	size_t plen = strcspn(r->target, "?");
	if (plen != 8 || memcmp(r->target, "/metrics", 8) != 0) {
		http_exchange_reply(ex, 404, NULL, "text/plain", not_found, sizeof(not_found) - 1);
		return;
	}
	struct dns_metrics_buf b = { 0 };
	m->cb(m->ctx, &b);
	if (b.failed) {
		static const char failed[] = "500 Internal Server Error\n";
		http_exchange_reply(ex, 500, NULL, "text/plain", failed, sizeof(failed) - 1);
	} else {
		http_exchange_reply(ex, 200, NULL, "text/plain; version=0.0.4; charset=utf-8",
			b.data ? b.data : "", b.len);
	}
	dns_metrics_buf_deinit(&b);
}

int http_metrics_start(struct http_metrics **out, uv_loop_t *loop, const struct sockaddr *addr,
	dns_metrics_cb cb, void *ctx)
{
	struct http_metrics *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	memcpy(&m->addr, addr, addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							  : sizeof(struct sockaddr_in));
	m->cb = cb;
	m->ctx = ctx;
	struct http_server_config cfg = {
		.addrs = &m->addr,
		.naddrs = 1,
		.limits = { .max_uri = 1024, .max_head = 4096, .max_headers = 32, .no_body = true },
		.idle_timeout_ms = 10000,
		.header_timeout_ms = 5000,
		.max_conns = 16,
		.no_access_log = true,
		.on_request = on_request,
		.ctx = m,
	};
	int rc = http_server_start(&m->srv, loop, &cfg);
	if (rc < 0) {
		free(m);
		return rc;
	}
	int len = sizeof(m->addr);
	uv_tcp_getsockname(&m->srv.listeners[0], (struct sockaddr *)&m->addr, &len);
	*out = m;
	return 0;
}

static void on_stopped(struct http_server *s, void *arg)
{
	free(arg);
}

void http_metrics_close(struct http_metrics *m)
{
	if (m != NULL)
		http_server_stop(&m->srv, on_stopped, m);
}

void http_metrics_addr(const struct http_metrics *m, struct sockaddr_storage *out)
{
	*out = m->addr;
}

/*
 * http_metrics.h -- the Prometheus endpoint of cairn-auth and cairn-resolver, served
 * by the shared HTTP/1.1 server (http_server.h): `GET /metrics` (or HEAD) is
 * answered with the text the program's callback writes (exposition format 0.0.4,
 * see dns_metrics.h for the buffer and the per-thread counters); any other path
 * gets 404, any other method 405. Keep-alive, limits and timeouts are the server's;
 * exchanges are not written to the access log.
 *
 * Glossary: a "scrape" is one GET /metrics by Prometheus.
 */
#ifndef CAIRN_HTTP_METRICS_H
#define CAIRN_HTTP_METRICS_H

#include <sys/socket.h>
#include <uv.h>

#include "dns_metrics.h"

/* An endpoint on a loop (opaque). */
struct http_metrics;

/*
 * Listen on addr (TCP) on loop and serve scrapes with cb (called on loop's
 * thread). Returns 0 and *out, or a negative error (e.g. -EADDRINUSE, logged).
 */
int http_metrics_start(struct http_metrics **out, uv_loop_t *loop, const struct sockaddr *addr,
	dns_metrics_cb cb, void *ctx);

/* Stop: the listener closes, scrapes in progress finish; the memory goes when all is closed. */
void http_metrics_close(struct http_metrics *m);

/* The bound address (the real port when 0 was asked). */
void http_metrics_addr(const struct http_metrics *m, struct sockaddr_storage *out);

#endif

/*
 * dns_metrics.c -- a Prometheus text-format endpoint and per-thread counters.
 */
#include "dns_metrics.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_accept.h"
#include "dns_config.h"
#include "dns_err.h"
#include "dns_list.h"
#include "dns_log.h"

/* A request line and headers longer than this are refused. */
#define HTTP_REQ_MAX 4096
/* Scrapes served at once; more are closed at once. */
#define HTTP_MAX_CONNS 16
/* A client that has not sent its request by then is dropped. */
#define HTTP_TIMEOUT_MS 5000

/* ---- text buffer ---- */

int dns_metrics_printf(struct dns_metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return -ENOMEM;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return -EINVAL;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return 0;
		}
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *nd = realloc(b->data, cap);
		if (nd == NULL) {
			b->failed = true;
			return -ENOMEM;
		}
		b->data = nd;
		b->cap = cap;
	}
}

int dns_metrics_header(struct dns_metrics_buf *b, const char *name, const char *type, const char *help)
{
	return dns_metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void dns_metrics_buf_deinit(struct dns_metrics_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- counters ---- */

int dns_counters_init(struct dns_counters *c, unsigned nthreads, unsigned ncounters)
{
	const size_t line = 64 / sizeof(uint64_t);
	memset(c, 0, sizeof(*c));
	if (nthreads == 0)
		nthreads = 1;
	c->nthreads = nthreads;
	c->ncounters = ncounters;
	c->stride = (ncounters + line - 1) / line * line;
	if (c->stride == 0)
		c->stride = line;
	size_t bytes = (size_t)nthreads * c->stride * sizeof(uint64_t);
	c->slots = aligned_alloc(64, bytes);
	if (c->slots == NULL)
		return -ENOMEM;
	memset(c->slots, 0, bytes);
	return 0;
}

void dns_counters_deinit(struct dns_counters *c)
{
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

uint64_t dns_counter_sum(const struct dns_counters *c, unsigned index)
{
	uint64_t sum = 0;
	for (unsigned t = 0; t < c->nthreads; t++)
		sum += __atomic_load_n(&c->slots[(size_t)t * c->stride + index], __ATOMIC_RELAXED);
	return sum;
}

/* ---- HTTP endpoint ---- */

struct dns_metrics {
	uv_loop_t *loop;
	uv_tcp_t tcp;
	dns_metrics_cb cb;
	void *ctx;
	struct sockaddr_storage local;
	struct http_conn *conns; /* open connections */
	unsigned nconns;
	unsigned refs;           /* listening handle + connections */
	bool closing;
};

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	uv_shutdown_t shut;
	struct dns_metrics *m;
	struct http_conn *next, *prev;
	char req[HTTP_REQ_MAX];
	size_t len;
	char *resp;              /* response being written */
	unsigned refs;           /* open handles */
	bool closing;
	bool responded;
};

static void metrics_unref(struct dns_metrics *m)
{
	if (--m->refs == 0)
		free(m);
}

static void http_handle_close_cb(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	if (--c->refs > 0)
		return;
	struct dns_metrics *m = c->m;
	free(c->resp);
	free(c);
	metrics_unref(m);
}

static void http_close(struct http_conn *c)
{
	struct dns_metrics *m = c->m;
	if (c->closing)
		return;
	c->closing = true;
	DNS_LIST_UNLINK(m->conns, c);
	m->nconns--;
	uv_close((uv_handle_t *)&c->tcp, http_handle_close_cb);
	uv_close((uv_handle_t *)&c->timer, http_handle_close_cb);
}

static void http_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void http_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void http_shutdown_cb(uv_shutdown_t *sr, int status)
{
	struct http_conn *c = sr->data;
	if (status < 0 || c->closing) {
		http_close(c);
		return;
	}
	/* read and drop what the client still sends until its EOF (or the timer):
	 * closing with unread bytes would reset the connection and could destroy
	 * the response before the client read it */
	c->len = 0;
	if (uv_read_start((uv_stream_t *)&c->tcp, http_alloc_cb, http_read_cb) < 0)
		http_close(c);
}

static void http_write_cb(uv_write_t *wr, int status)
{
	struct http_conn *c = wr->data;
	/* HTTP/1.0 style: one response per connection, then FIN */
	if (status < 0 || c->closing) {
		http_close(c);
		return;
	}
	c->shut.data = c;
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, http_shutdown_cb) < 0)
		http_close(c);
}

static void http_respond(struct http_conn *c, int status, const char *reason, const char *type,
			 const char *body, size_t blen)
{
	char head[256];
	int hlen = snprintf(head, sizeof(head),
			    "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			    status, reason, type, blen);
	c->responded = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->resp = malloc((size_t)hlen + blen);
	if (c->resp == NULL) {
		http_close(c);
		return;
	}
	memcpy(c->resp, head, (size_t)hlen);
	if (blen > 0)
		memcpy(c->resp + hlen, body, blen);
	uv_buf_t b = uv_buf_init(c->resp, (unsigned)((size_t)hlen + blen));
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, http_write_cb) < 0)
		http_close(c);
}

static void http_error(struct http_conn *c, int status, const char *reason)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);
	http_respond(c, status, reason, "text/plain", body, (size_t)n);
}

/* The request head is complete: answer by its request line. */
static void http_handle(struct http_conn *c)
{
	char *line = c->req, *sp1, *sp2, *end;

	end = strpbrk(line, "\r\n");
	if (end != NULL)
		*end = '\0';
	sp1 = strchr(line, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (sp1 == NULL) {
		http_error(c, 400, "Bad Request");
		return;
	}
	*sp1 = '\0';
	if (sp2 != NULL)
		*sp2 = '\0';
	const char *method = line, *target = sp1 + 1;
	if (strcmp(method, "GET") != 0) {
		http_error(c, 405, "Method Not Allowed");
		return;
	}
	size_t plen = strcspn(target, "?");
	if (plen != 8 || memcmp(target, "/metrics", 8) != 0) {
		http_error(c, 404, "Not Found");
		return;
	}
	struct dns_metrics_buf b = { 0 };
	c->m->cb(c->m->ctx, &b);
	if (b.failed)
		http_error(c, 500, "Internal Server Error");
	else
		http_respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "", b.len);
	dns_metrics_buf_deinit(&b);
}

static void http_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct http_conn *c = h->data;
	/* keep one byte for the terminating NUL */
	*buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - 1 - c->len));
}

static void http_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = s->data;
	if (nread < 0) {
		http_close(c);
		return;
	}
	if (nread == 0)
		return;
	if (c->responded) {
		c->len = 0; /* draining after the response */
		return;
	}
	c->len += (size_t)nread;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") != NULL || strstr(c->req, "\n\n") != NULL) {
		http_handle(c);
		return;
	}
	if (c->len >= sizeof(c->req) - 1)
		http_error(c, 431, "Request Header Fields Too Large");
}

static void http_timer_cb(uv_timer_t *t)
{
	http_close(t->data);
}

static void metrics_connection_cb(uv_stream_t *server, int status)
{
	struct dns_metrics *m = server->data;
	struct http_conn *c;

	if (status < 0)
		return;
	if (m->nconns >= HTTP_MAX_CONNS) {
		dns_accept_refuse(m->loop, server);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->m = m;
	c->refs = 2;
	m->refs++;
	m->nconns++;
	DNS_LIST_PUSH(m->conns, c);
	uv_tcp_init(m->loop, &c->tcp);
	uv_timer_init(m->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, http_alloc_cb, http_read_cb) < 0) {
		http_close(c);
		return;
	}
	uv_timer_start(&c->timer, http_timer_cb, HTTP_TIMEOUT_MS, 0);
}

static void metrics_close_cb(uv_handle_t *h)
{
	metrics_unref(h->data);
}

int dns_metrics_start(struct dns_metrics **out, uv_loop_t *loop, const struct sockaddr *addr,
		      dns_metrics_cb cb, void *ctx)
{
	struct dns_metrics *m;
	int rc, len;

	/* libuv writes with write(2): a scraper gone away must give EPIPE, not kill the process */
	signal(SIGPIPE, SIG_IGN);
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->loop = loop;
	m->cb = cb;
	m->ctx = ctx;
	m->refs = 1;
	rc = uv_tcp_init(loop, &m->tcp);
	if (rc < 0) {
		free(m);
		return rc;
	}
	m->tcp.data = m;
	rc = uv_tcp_bind(&m->tcp, addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&m->tcp, 64, metrics_connection_cb);
	if (rc < 0) {
		char text[80];
		log_err("cannot serve metrics on %s: %s",
			dns_addr_format(addr, text, sizeof(text)), dns_strerror(rc));
		m->closing = true;
		uv_close((uv_handle_t *)&m->tcp, metrics_close_cb);
		return rc;
	}
	len = sizeof(m->local);
	uv_tcp_getsockname(&m->tcp, (struct sockaddr *)&m->local, &len);
	*out = m;
	return 0;
}

void dns_metrics_close(struct dns_metrics *m)
{
	if (m == NULL || m->closing)
		return;
	m->closing = true;
	while (m->conns != NULL)
		http_close(m->conns);
	uv_close((uv_handle_t *)&m->tcp, metrics_close_cb);
}

void dns_metrics_addr(const struct dns_metrics *m, struct sockaddr_storage *out)
{
	*out = m->local;
}

/* ---- own thread ---- */

struct dns_metrics_thread {
	uv_loop_t loop;
	uv_async_t stop;
	uv_thread_t thread;
	struct dns_metrics *m;
	struct sockaddr_storage local;
	int close_rc;
};

static void metrics_thread_stop_cb(uv_async_t *a)
{
	struct dns_metrics_thread *t = a->data;
	dns_metrics_close(t->m);
	uv_close((uv_handle_t *)&t->stop, NULL);
}

static void metrics_thread_main(void *arg)
{
	struct dns_metrics_thread *t = arg;
	uv_run(&t->loop, UV_RUN_DEFAULT);
	t->close_rc = uv_loop_close(&t->loop);
}

int dns_metrics_thread_start(struct dns_metrics_thread **out, const struct sockaddr *addr,
			     dns_metrics_cb cb, void *ctx)
{
	struct dns_metrics_thread *t = calloc(1, sizeof(*t));
	int rc;

	if (t == NULL)
		return -ENOMEM;
	rc = uv_loop_init(&t->loop);
	if (rc < 0) {
		free(t);
		return rc;
	}
	rc = uv_async_init(&t->loop, &t->stop, metrics_thread_stop_cb);
	if (rc < 0)
		goto fail;
	t->stop.data = t;
	rc = dns_metrics_start(&t->m, &t->loop, addr, cb, ctx);
	if (rc < 0) {
		uv_close((uv_handle_t *)&t->stop, NULL);
		goto fail;
	}
	dns_metrics_addr(t->m, &t->local);
	rc = uv_thread_create(&t->thread, metrics_thread_main, t);
	if (rc < 0) {
		dns_metrics_close(t->m);
		uv_close((uv_handle_t *)&t->stop, NULL);
		goto fail;
	}
	*out = t;
	return 0;
fail:
	uv_run(&t->loop, UV_RUN_DEFAULT);
	uv_loop_close(&t->loop);
	free(t);
	return rc;
}

int dns_metrics_thread_stop(struct dns_metrics_thread *t)
{
	if (t == NULL)
		return 0;
	uv_async_send(&t->stop);
	uv_thread_join(&t->thread);
	int rc = t->close_rc == 0 ? 0 : -EBUSY;
	free(t);
	return rc;
}

void dns_metrics_thread_addr(const struct dns_metrics_thread *t, struct sockaddr_storage *out)
{
	*out = t->local;
}

/*
 * Tests of the libuv HTTP server layer (http/io/http_server.c) on loopback
 * 127.64.0.20, ephemeral port: pipelined requests answered later (from timers,
 * as cairn-edge will after an origin fetch) come back in order; a stop while a
 * request is in flight lets it finish with Connection: close; a 100 Continue
 * precedes an expected body. Every test ends with uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns_config.h"
#include "http_server.h"

struct pending {
	uv_timer_t timer;
	struct http_exchange *ex;
	char body[32];
};

struct fx {
	uv_loop_t loop;
	struct http_server srv;
	uv_tcp_t client;
	uv_connect_t connect;
	uv_write_t write;
	const char *request;
	const char *after_continue; /* sent once "100 Continue" has been read */
	uv_write_t write2;
	char out[8192];
	size_t outlen;
	bool stopped;
	bool stop_in_handler;
	unsigned handled;
};

static void on_pending_closed(uv_handle_t *h)
{
	free(h->data);
}

static void on_answer_timer(uv_timer_t *t)
{
	struct pending *p = t->data;
	http_exchange_reply(p->ex, 200, NULL, "text/plain", p->body, strlen(p->body));
	t->data = p;
	uv_close((uv_handle_t *)t, on_pending_closed);
}

static void on_stopped(struct http_server *s, void *arg)
{
	struct fx *f = arg;
	(void)s;
	f->stopped = true;
}

/* Answer "/N?D" with "rN" after D ms; a POST body is echoed. */
static void on_request(void *ctx, struct http_exchange *ex)
{
	struct fx *f = ctx;
	const struct http_request *r = http_exchange_request(ex);
	struct pending *p = calloc(1, sizeof(*p));
	unsigned n = 0, d = 0;
	assert_non_null(p);
	sscanf(r->target, "/%u?%u", &n, &d);
	if (r->body_len)
		snprintf(p->body, sizeof(p->body), "r%u:%.*s", n, (int)r->body_len, (const char *)r->body);
	else
		snprintf(p->body, sizeof(p->body), "r%u", n);
	p->ex = ex;
	f->handled++;
	uv_timer_init(http_exchange_loop(ex), &p->timer);
	p->timer.data = p;
	uv_timer_start(&p->timer, on_answer_timer, d, 0);
	if (f->stop_in_handler)
		http_server_stop(&f->srv, on_stopped, f);
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	struct fx *f = h->data;
	(void)sz;
	*b = uv_buf_init(f->out + f->outlen, (unsigned)(sizeof(f->out) - 1 - f->outlen));
}

static void on_written(uv_write_t *w, int status);

static void on_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct fx *f = s->data;
	(void)b;
	if (n > 0) {
		f->outlen += (size_t)n;
		f->out[f->outlen] = '\0';
		if (f->after_continue && strstr(f->out, "100 Continue\r\n\r\n")) {
			uv_buf_t b2 = uv_buf_init((char *)f->after_continue, (unsigned)strlen(f->after_continue));
			f->after_continue = NULL;
			assert_int_equal(uv_write(&f->write2, s, &b2, 1, on_written), 0);
		}
		return;
	}
	if (n < 0) {
		/* The server closed the connection: done; stop it if not yet. */
		uv_close((uv_handle_t *)s, NULL);
		http_server_stop(&f->srv, on_stopped, f);
	}
}

static void on_written(uv_write_t *w, int status)
{
	assert_int_equal(status, 0);
	(void)w;
}

static void on_connect(uv_connect_t *c, int status)
{
	struct fx *f = c->data;
	uv_buf_t b = uv_buf_init((char *)f->request, (unsigned)strlen(f->request));
	assert_int_equal(status, 0);
	/* One write: the requests arrive pipelined. */
	assert_int_equal(uv_write(&f->write, (uv_stream_t *)&f->client, &b, 1, on_written), 0);
	assert_int_equal(uv_read_start((uv_stream_t *)&f->client, on_alloc, on_client_read), 0);
}

static void run(struct fx *f, const char *request)
{
	struct sockaddr_storage addr;
	int len = sizeof(addr);

	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(dns_addr_parse("127.64.0.20@0", 0, &addr), 0);
	struct http_server_config cfg = {.addrs = &addr, .naddrs = 1, .on_request = on_request, .ctx = f};
	assert_int_equal(http_server_start(&f->srv, &f->loop, &cfg), 0);
	assert_int_equal(uv_tcp_getsockname(&f->srv.listeners[0], (struct sockaddr *)&addr, &len), 0);
	f->request = request;
	uv_tcp_init(&f->loop, &f->client);
	f->client.data = f;
	f->connect.data = f;
	assert_int_equal(uv_tcp_connect(&f->connect, &f->client, (struct sockaddr *)&addr, on_connect), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true(f->stopped);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Pipelined requests answered out of time order are written in request order. */
static void pipelined_async_in_order(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	(void)state;
	run(f, "GET /1?60 HTTP/1.1\r\nHost: t\r\n\r\n"
	       "GET /2?0 HTTP/1.1\r\nHost: t\r\n\r\n"
	       "GET /3?20 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	assert_int_equal(f->handled, 3);
	const char *a = strstr(f->out, "\r\n\r\nr1"), *b = strstr(f->out, "\r\n\r\nr2"),
		   *c = strstr(f->out, "\r\n\r\nr3");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	/* Only the last answer announces the close. */
	const char *close = strstr(f->out, "Connection: close");
	assert_non_null(close);
	assert_true(close > b && close < c);
	assert_null(strstr(close + 1, "Connection: close"));
	free(f);
}

/* A stop while a request is with the application: it is answered, with Connection: close. */
static void stop_finishes_in_flight(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	(void)state;
	f->stop_in_handler = true;
	run(f, "GET /7?50 HTTP/1.1\r\nHost: t\r\n\r\nGET /8?0 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(f->handled, 1);
	assert_non_null(strstr(f->out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(f->out, "Connection: close\r\n"));
	assert_non_null(strstr(f->out, "\r\n\r\nr7"));
	assert_null(strstr(f->out, "r8"));
	free(f);
}

/* Expect: 100-continue gets the interim answer before the final one. */
static void expect_continue(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	(void)state;
	/* The body is sent only after the 100 came (as curl does for big uploads). */
	f->after_continue = "hi";
	run(f, "POST /5?0 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
	       "Connection: close\r\n\r\n");
	assert_int_equal(strncmp(f->out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 42), 0);
	assert_non_null(strstr(f->out, "\r\n\r\nr5:hi"));
	free(f);
}

/* A bad request is answered with its status and the connection closed. */
static void bad_request_closes(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	(void)state;
	run(f, "GET /1?0 HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\nGET /2?0 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(f->handled, 1);
	assert_non_null(strstr(f->out, "\r\n\r\nr1"));
	assert_non_null(strstr(f->out, "HTTP/1.1 400 Bad Request\r\n"));
	assert_null(strstr(f->out, "r2"));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipelined_async_in_order),
		cmocka_unit_test(stop_finishes_in_flight),
		cmocka_unit_test(expect_continue),
		cmocka_unit_test(bad_request_closes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

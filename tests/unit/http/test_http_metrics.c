/*
 * test_http_metrics.c -- the Prometheus endpoint on the shared HTTP server, scraped
 * with a plain socket client while its loop runs on a thread of its own. Listens on
 * 127.31.1.x.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_config.h"
#include "http_metrics.h"

struct app {
	unsigned extra_lines; /* to make a body bigger than the first buffer */
	unsigned scrapes;
};

/* The text of a scrape (dns_metrics.h's writers; the counters are tested in common/). */
static void app_metrics(void *ctx, struct dns_metrics_buf *b)
{
	struct app *app = ctx;
	app->scrapes++;
	dns_metrics_header(b, "cairn_scrapes_total", "counter", "Scrapes so far.");
	dns_metrics_printf(b, "cairn_scrapes_total %u\n", app->scrapes);
	for (unsigned i = 0; i < app->extra_lines; i++)
		dns_metrics_printf(b, "cairn_line{n=\"%u\"} %u\n", i, i);
}

/* The endpoint's loop on a thread; stop closes the endpoint from that thread. */
struct server {
	uv_loop_t loop;
	uv_async_t stop;
	pthread_t thread;
	struct http_metrics *m;
	struct sockaddr_storage addr;
};

static void on_stop(uv_async_t *a)
{
	struct server *s = a->data;
	http_metrics_close(s->m);
	uv_close((uv_handle_t *)&s->stop, NULL);
}

static void *loop_main(void *arg)
{
	struct server *s = arg;
	uv_run(&s->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void server_start(struct server *s, const char *addr, struct app *app)
{
	assert_int_equal(uv_loop_init(&s->loop), 0);
	assert_int_equal(uv_async_init(&s->loop, &s->stop, on_stop), 0);
	s->stop.data = s;
	assert_int_equal(dns_addr_parse(addr, 0, &s->addr), 0);
	assert_int_equal(http_metrics_start(&s->m, &s->loop, (struct sockaddr *)&s->addr, app_metrics, app), 0);
	http_metrics_addr(s->m, &s->addr);
	assert_int_not_equal(((struct sockaddr_in *)&s->addr)->sin_port, 0);
	assert_int_equal(pthread_create(&s->thread, NULL, loop_main, s), 0);
}

/* Everything closes: the loop runs dry and closes cleanly. */
static void server_stop(struct server *s)
{
	uv_async_send(&s->stop);
	pthread_join(s->thread, NULL);
	assert_int_equal(uv_loop_close(&s->loop), 0);
}

/* Send req (in pieces of `chunk` bytes, 0 for all at once), read the whole response until EOF. */
static char *http(const struct sockaddr_storage *sa, const char *req, size_t chunk, size_t *outlen)
{
	int fd = socket(sa->ss_family, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (const struct sockaddr *)sa, sizeof(struct sockaddr_in)), 0);
	size_t len = strlen(req), off = 0;
	while (off < len) {
		size_t n = chunk && len - off > chunk ? chunk : len - off;
		assert_int_equal(send(fd, req + off, n, MSG_NOSIGNAL), (ssize_t)n);
		off += n;
	}
	size_t cap = 4096, got = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		if (got + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
		assert_true(n >= 0); /* EOF, not a timeout or reset */
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*outlen = got;
	return buf;
}

/* Check the status line and Content-Length; return the body. */
static const char *check_response(const char *resp, size_t len, const char *status)
{
	assert_true(strncmp(resp, status, strlen(status)) == 0);
	const char *body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	const char *cl = strstr(resp, "Content-Length: ");
	assert_non_null(cl);
	assert_int_equal(strtoul(cl + 16, NULL, 10), len - (size_t)(body - resp));
	return body;
}

static void test_scrape(void **state)
{
	struct app app = { 0 };
	struct server s;
	size_t len;
	char *resp;

	server_start(&s, "127.31.1.1@0", &app);
	resp = http(&s.addr, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0, &len);
	check_response(resp, len, "HTTP/1.1 200 OK\r\n");
	free(resp);

	resp = http(&s.addr, "GET /metrics HTTP/1.0\r\n\r\n", 0, &len);
	const char *body = check_response(resp, len, "HTTP/1.1 200 OK\r\n");
	assert_non_null(strstr(resp, "Content-Type: text/plain; version=0.0.4"));
	assert_string_equal(body,
			    "# HELP cairn_scrapes_total Scrapes so far.\n"
			    "# TYPE cairn_scrapes_total counter\n"
			    "cairn_scrapes_total 2\n");
	free(resp);

	/* a request trickling in byte by byte, with a query string */
	resp = http(&s.addr, "GET /metrics?x=1 HTTP/1.0\r\nUser-Agent: t\r\n\r\n", 1, &len);
	check_response(resp, len, "HTTP/1.1 200 OK\r\n");
	free(resp);

	/* a body far bigger than the first buffer */
	app.extra_lines = 20000;
	resp = http(&s.addr, "GET /metrics HTTP/1.0\r\n\r\n", 0, &len);
	body = check_response(resp, len, "HTTP/1.1 200 OK\r\n");
	assert_true(strlen(body) > 300000);
	assert_non_null(strstr(body, "cairn_line{n=\"19999\"} 19999\n"));
	free(resp);
	app.extra_lines = 0;

	/* other paths, other methods, bad and oversized requests */
	resp = http(&s.addr, "GET / HTTP/1.0\r\n\r\n", 0, &len);
	check_response(resp, len, "HTTP/1.1 404 Not Found\r\n");
	free(resp);
	resp = http(&s.addr, "GET /metricsx HTTP/1.0\r\n\r\n", 0, &len);
	check_response(resp, len, "HTTP/1.1 404 Not Found\r\n");
	free(resp);
	resp = http(&s.addr, "POST /metrics HTTP/1.0\r\n\r\n", 0, &len);
	check_response(resp, len, "HTTP/1.1 405 Method Not Allowed\r\n");
	assert_non_null(strstr(resp, "Allow: GET, HEAD\r\n"));
	free(resp);
	resp = http(&s.addr, "garbage\r\n\r\n", 0, &len);
	check_response(resp, len, "HTTP/1.1 400 Bad Request\r\n");
	free(resp);
	char *huge = malloc(6000);
	assert_non_null(huge);
	memcpy(huge, "GET /metrics HTTP/1.0\r\nX: ", 26);
	memset(huge + 26, 'a', 5000);
	memcpy(huge + 5026, "\r\n\r\n", 5);
	resp = http(&s.addr, huge, 0, &len);
	check_response(resp, len, "HTTP/1.1 431 ");
	free(resp);
	free(huge);

	assert_int_equal(app.scrapes, 4);
	server_stop(&s);
}

/* Two scrapes on one kept-alive connection. */
static void test_keep_alive(void **state)
{
	struct app app = { 0 };
	struct server s;
	size_t len;
	server_start(&s, "127.31.1.3@0", &app);
	char *resp = http(&s.addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
				   "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0, &len);
	const char *second = strstr(resp + 1, "HTTP/1.1 200 OK\r\n");
	assert_true(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
	assert_non_null(second);
	assert_int_equal(app.scrapes, 2);
	free(resp);
	server_stop(&s);
}

static void test_bind_error(void **state)
{
	struct app app = { 0 };
	struct server s;
	struct http_metrics *m2 = NULL;
	uv_loop_t loop;

	server_start(&s, "127.31.1.2@0", &app);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(http_metrics_start(&m2, &loop, (struct sockaddr *)&s.addr, app_metrics, &app),
			 UV_EADDRINUSE);
	assert_null(m2);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrape),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_bind_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_metrics.c -- the Prometheus endpoint, scraped with a plain socket client,
 * and the per-thread counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_config.h"
#include "dns_metrics.h"

enum { C_QUERIES, C_NXDOMAIN, C_ERRORS, C_COUNT };

struct app {
	struct dns_counters counters;
	unsigned extra_lines; /* to make a body bigger than the first buffer */
	unsigned scrapes;
};

static void app_metrics(void *ctx, struct dns_metrics_buf *b)
{
	struct app *app = ctx;
	app->scrapes++;
	dns_metrics_header(b, "cairn_queries_total", "counter", "Queries received.");
	dns_metrics_printf(b, "cairn_queries_total %llu\n",
			   (unsigned long long)dns_counter_sum(&app->counters, C_QUERIES));
	dns_metrics_header(b, "cairn_answers_total", "counter", "Answers by rcode.");
	dns_metrics_printf(b, "cairn_answers_total{rcode=\"NXDOMAIN\"} %llu\n",
			   (unsigned long long)dns_counter_sum(&app->counters, C_NXDOMAIN));
	for (unsigned i = 0; i < app->extra_lines; i++)
		dns_metrics_printf(b, "cairn_line{n=\"%u\"} %u\n", i, i);
}

struct worker_arg {
	struct dns_counters *c;
	unsigned thread;
};

static void *count_worker(void *arg)
{
	struct worker_arg *w = arg;
	for (int i = 0; i < 100000; i++) {
		dns_counter_add(w->c, w->thread, C_QUERIES, 1);
		if (i % 10 == 0)
			dns_counter_add(w->c, w->thread, C_NXDOMAIN, 1);
	}
	return NULL;
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
	assert_non_null(strstr(resp, "Connection: close\r\n"));
	return body;
}

static void test_scrape(void **state)
{
	struct app app = { 0 };
	struct sockaddr_storage sa;
	struct dns_metrics_thread *t = NULL;
	size_t len;
	char *resp;

	assert_int_equal(dns_counters_init(&app.counters, 2, C_COUNT), 0);
	assert_int_equal(app.counters.stride % 8, 0);
	assert_int_equal((uintptr_t)app.counters.slots % 64, 0);
	assert_int_equal(dns_addr_parse("127.31.1.1@0", 0, &sa), 0);
	assert_int_equal(dns_metrics_thread_start(&t, (struct sockaddr *)&sa, app_metrics, &app), 0);
	dns_metrics_thread_addr(t, &sa);
	assert_int_not_equal(((struct sockaddr_in *)&sa)->sin_port, 0);

	/* two threads count into their own rows while scrapes run */
	pthread_t th[2];
	struct worker_arg wa[2] = { { &app.counters, 0 }, { &app.counters, 1 } };
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, count_worker, &wa[i]), 0);
	resp = http(&sa, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 0, &len);
	check_response(resp, len, "HTTP/1.0 200 OK\r\n");
	free(resp);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);

	resp = http(&sa, "GET /metrics HTTP/1.0\r\n\r\n", 0, &len);
	const char *body = check_response(resp, len, "HTTP/1.0 200 OK\r\n");
	assert_non_null(strstr(resp, "Content-Type: text/plain; version=0.0.4"));
	assert_string_equal(body,
			    "# HELP cairn_queries_total Queries received.\n"
			    "# TYPE cairn_queries_total counter\n"
			    "cairn_queries_total 200000\n"
			    "# HELP cairn_answers_total Answers by rcode.\n"
			    "# TYPE cairn_answers_total counter\n"
			    "cairn_answers_total{rcode=\"NXDOMAIN\"} 20000\n");
	free(resp);

	/* a request trickling in byte by byte, with a query string */
	resp = http(&sa, "GET /metrics?x=1 HTTP/1.0\r\nUser-Agent: t\r\n\r\n", 1, &len);
	check_response(resp, len, "HTTP/1.0 200 OK\r\n");
	free(resp);

	/* a body far bigger than the first buffer */
	app.extra_lines = 20000;
	resp = http(&sa, "GET /metrics HTTP/1.0\r\n\r\n", 0, &len);
	body = check_response(resp, len, "HTTP/1.0 200 OK\r\n");
	assert_true(strlen(body) > 300000);
	assert_non_null(strstr(body, "cairn_line{n=\"19999\"} 19999\n"));
	free(resp);
	app.extra_lines = 0;

	/* other paths, other methods, oversized requests */
	resp = http(&sa, "GET / HTTP/1.0\r\n\r\n", 0, &len);
	check_response(resp, len, "HTTP/1.0 404 Not Found\r\n");
	free(resp);
	resp = http(&sa, "GET /metricsx HTTP/1.0\r\n\r\n", 0, &len);
	check_response(resp, len, "HTTP/1.0 404 Not Found\r\n");
	free(resp);
	resp = http(&sa, "POST /metrics HTTP/1.0\r\n\r\n", 0, &len);
	check_response(resp, len, "HTTP/1.0 405 Method Not Allowed\r\n");
	free(resp);
	resp = http(&sa, "garbage\n\n", 0, &len);
	check_response(resp, len, "HTTP/1.0 400 Bad Request\r\n");
	free(resp);
	char *huge = malloc(6000);
	assert_non_null(huge);
	memcpy(huge, "GET /metrics HTTP/1.0\r\nX: ", 26);
	memset(huge + 26, 'a', 5000);
	huge[5026] = '\0';
	resp = http(&sa, huge, 0, &len);
	check_response(resp, len, "HTTP/1.0 431 Request Header Fields Too Large\r\n");
	free(resp);
	free(huge);

	assert_int_equal(app.scrapes, 4);
	assert_int_equal(dns_metrics_thread_stop(t), 0);
	dns_counters_deinit(&app.counters);
}

static void test_bind_error_and_own_loop(void **state)
{
	struct app app = { 0 };
	struct sockaddr_storage sa, bound;
	struct dns_metrics_thread *t = NULL, *t2 = NULL;
	uv_loop_t loop;
	struct dns_metrics *m = NULL;

	assert_int_equal(dns_counters_init(&app.counters, 1, C_COUNT), 0);
	assert_int_equal(dns_addr_parse("127.31.1.2@0", 0, &sa), 0);
	assert_int_equal(dns_metrics_thread_start(&t, (struct sockaddr *)&sa, app_metrics, &app), 0);
	dns_metrics_thread_addr(t, &bound);
	assert_int_equal(dns_metrics_thread_start(&t2, (struct sockaddr *)&bound, app_metrics, &app), -EADDRINUSE);
	assert_null(t2);
	assert_int_equal(dns_metrics_thread_stop(t), 0);

	/* on a caller's loop: start, close, the loop closes cleanly */
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(dns_metrics_start(&m, &loop, (struct sockaddr *)&sa, app_metrics, &app), 0);
	dns_metrics_addr(m, &bound);
	assert_int_not_equal(((struct sockaddr_in *)&bound)->sin_port, 0);
	dns_metrics_close(m);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	dns_counters_deinit(&app.counters);
}

static void test_printf_buffer(void **state)
{
	struct dns_metrics_buf b = { 0 };
	assert_int_equal(dns_metrics_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(dns_metrics_printf(&b, "line %d\n", i), 0);
	assert_false(b.failed);
	assert_int_equal(strlen(b.data), b.len);
	assert_true(b.cap > b.len);
	assert_non_null(strstr(b.data, "line 999\n"));
	dns_metrics_buf_deinit(&b);
	assert_null(b.data);

	struct dns_counters c;
	assert_int_equal(dns_counters_init(&c, 3, 9), 0);
	assert_int_equal(c.stride, 16);
	dns_counter_add(&c, 0, 8, 5);
	dns_counter_add(&c, 2, 8, 7);
	dns_counter_add(&c, 1, 0, 1);
	assert_int_equal(dns_counter_sum(&c, 8), 12);
	assert_int_equal(dns_counter_sum(&c, 0), 1);
	assert_int_equal(dns_counter_sum(&c, 4), 0);
	dns_counters_deinit(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrape),
		cmocka_unit_test(test_bind_error_and_own_loop),
		cmocka_unit_test(test_printf_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

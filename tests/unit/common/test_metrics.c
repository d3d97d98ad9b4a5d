/*
 * test_metrics.c -- the text of a scrape and the per-thread counters (the endpoint
 * that serves them is tested in tests/unit/http/test_http_metrics.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

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

/* Two threads count into their own rows; the sums see every count. */
static void test_counters_threads(void **state)
{
	struct app app = { 0 };
	struct dns_metrics_buf b = { 0 };
	assert_int_equal(dns_counters_init(&app.counters, 2, C_COUNT), 0);
	assert_int_equal(app.counters.stride % 8, 0);
	assert_int_equal((uintptr_t)app.counters.slots % 64, 0);
	pthread_t th[2];
	struct worker_arg wa[2] = { { &app.counters, 0 }, { &app.counters, 1 } };
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, count_worker, &wa[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	app_metrics(&app, &b);
	assert_false(b.failed);
	assert_string_equal(b.data,
			    "# HELP cairn_queries_total Queries received.\n"
			    "# TYPE cairn_queries_total counter\n"
			    "cairn_queries_total 200000\n"
			    "# HELP cairn_answers_total Answers by rcode.\n"
			    "# TYPE cairn_answers_total counter\n"
			    "cairn_answers_total{rcode=\"NXDOMAIN\"} 20000\n");
	dns_metrics_buf_deinit(&b);
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
		cmocka_unit_test(test_counters_threads),
		cmocka_unit_test(test_printf_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

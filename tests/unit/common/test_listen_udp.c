/*
 * test_listen_udp.c -- UDP: the server's UDP listeners on 127.31.0.x (echo,
 * answers given later, batches), a listener on the test's own loop, and the
 * one-shot exchanges of dns_udp (NOTIFY-style).
 *
 * The test application and the clients are in listen_helpers.h. Every server is
 * stopped at the end of its test, which closes all handles and checks
 * uv_loop_close() == 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_config.h"
#include "listen_helpers.h"

static void test_udp_echo_and_async(void **state)
{
	static const char *addrs[] = { "127.31.0.1@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 1, 0, 0);
	struct sockaddr_storage sa;
	uint8_t r[1024];

	dns_listen_server_addr(srv, 0, &sa);
	assert_int_not_equal(port_of(&sa), 0);
	int fd = udp_client(&sa);
	ssize_t n = udp_ask(fd, "Ehello", r, sizeof(r));
	check_echo(r, n, 'E', 'U', port_of(&sa), local_port(fd), "hello");
	assert_int_equal(r[2], '0');

	/* answered later: the next queries arrive meanwhile and get a fresh request each */
	assert_int_equal(send(fd, "A1", 2, 0), 2);
	assert_int_equal(send(fd, "B2", 2, 0), 2);
	assert_int_equal(send(fd, "Equick", 6, 0), 6);
	bool seen1 = false, seen2 = false, seen_quick = false;
	for (int i = 0; i < 3; i++) {
		n = recv(fd, r, sizeof(r), 0);
		if (r[0] == 'E') {
			check_echo(r, n, 'E', 'U', port_of(&sa), local_port(fd), "quick");
			seen_quick = true;
			continue;
		}
		assert_int_equal(n, 8);
		assert_true(r[0] == 'A' || r[0] == 'B');
		seen1 |= r[7] == '1';
		seen2 |= r[7] == '2';
	}
	assert_true(seen1 && seen2 && seen_quick);
	/* a query the application drops gets nothing, and the server keeps answering */
	assert_int_equal(send(fd, "Z", 1, 0), 1);
	n = udp_ask(fd, "Eafter", r, sizeof(r));
	check_echo(r, n, 'E', 'U', port_of(&sa), local_port(fd), "after");
	close(fd);

	/* a burst (small enough for default socket buffers): datagrams read in recvmmsg batches, replies sent with sendmmsg */
	int burst = udp_client(&sa);
	for (int i = 0; i < 100; i++) {
		char q[16];
		int len = snprintf(q, sizeof(q), "E%04d", i);
		assert_int_equal(send(burst, q, (size_t)len, 0), len);
	}
	bool got[100] = { false };
	for (int i = 0; i < 100; i++) {
		n = recv(burst, r, sizeof(r), 0);
		assert_int_equal(n, 11);
		int k = atoi((const char *)r + 7);
		assert_true(k >= 0 && k < 100 && !got[k]);
		got[k] = true;
	}
	close(burst);

	/* the worker counts a reply just after sending it: let it catch up */
	for (int i = 0; i < 5000 && stats_of(srv).replies != 105; i++)
		sleep_ms(1);
	struct dns_listener_stats s = stats_of(srv);
	assert_int_equal(s.queries, 106);
	assert_int_equal(s.replies, 105);
	server_stop(srv);
}

/* ---- a listener on the test's own loop, with a libuv client on the same loop ---- */

struct loop_test {
	uv_udp_t client;
	struct dns_listener *udp;
	uint8_t reply[1024];
	ssize_t reply_len;
	char rbuf[2048];
};

static void lt_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	struct loop_test *t = h->data;
	*b = uv_buf_init(t->rbuf, sizeof(t->rbuf));
}

static void lt_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *addr, unsigned flags)
{
	struct loop_test *t = h->data;
	if (n <= 0 || addr == NULL)
		return;
	memcpy(t->reply, b->base, (size_t)n);
	t->reply_len = n;
	/* got it: close everything so the loop ends */
	uv_close((uv_handle_t *)&t->client, NULL);
	dns_listener_close(t->udp);
}

static void test_listener_on_own_loop(void **state)
{
	uv_loop_t loop;
	struct loop_test t = { .reply_len = -1 };
	struct sockaddr_storage sa, bound;
	struct dns_listen_opts opts = { .query_cb = app_query_cb, .ctx = &APP, .udp_batch = 1 };

	memset(&APP, 0, sizeof(APP));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(dns_addr_parse("127.31.0.8@0", 0, &sa), 0);
	assert_int_equal(dns_listener_start(&t.udp, &loop, (struct sockaddr *)&sa, DNS_TRANSPORT_UDP, &opts, 3), 0);
	dns_listener_addr(t.udp, &bound);
	assert_int_not_equal(port_of(&bound), 0);

	assert_int_equal(uv_udp_init(&loop, &t.client), 0);
	t.client.data = &t;
	assert_int_equal(uv_udp_recv_start(&t.client, lt_alloc, lt_recv), 0);
	uv_buf_t b = uv_buf_init((char *)"Eloop", 5);
	assert_int_equal(uv_udp_try_send(&t.client, &b, 1, (struct sockaddr *)&bound), 5);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(t.reply_len, 7 + 4);
	assert_int_equal(t.reply[2], '3'); /* the thread index given at start */
	assert_memory_equal(t.reply + 7, "loop", 4);
	assert_int_equal(uv_loop_close(&loop), 0);

	/* a bad address family or a missing callback is refused up front */
	struct sockaddr bad = { .sa_family = AF_UNIX };
	struct dns_listener *l = NULL;
	assert_int_equal(dns_listener_start(&l, &loop, &bad, DNS_TRANSPORT_UDP, &opts, 0), -EINVAL);
	opts.query_cb = NULL;
	assert_int_equal(dns_listener_start(&l, &loop, (struct sockaddr *)&sa, DNS_TRANSPORT_TCP, &opts, 0), -EINVAL);
}

/* ---- one-shot UDP exchanges (NOTIFY-style) ---- */

struct once_result {
	int calls;
	int status;
	uint8_t reply[64];
	size_t len;
};

static void once_cb(void *ctx, int status, const uint8_t *reply, size_t len)
{
	struct once_result *r = ctx;
	r->calls++;
	r->status = status;
	r->len = len;
	if (reply != NULL && len <= sizeof(r->reply))
		memcpy(r->reply, reply, len);
}

static void test_udp_send_once(void **state)
{
	uv_loop_t loop;
	struct dns_listener *l;
	struct sockaddr_storage sa, bound, closed;
	struct dns_listen_opts opts = { .query_cb = app_query_cb, .ctx = &APP };
	struct once_result ok = { 0 }, wrong_id = { 0 }, timeout = { 0 }, cancelled = { 0 }, refused = { 0 };
	struct dns_udp_once *q = NULL;

	memset(&APP, 0, sizeof(APP));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(dns_addr_parse("127.31.0.9@0", 0, &sa), 0);
	assert_int_equal(dns_listener_start(&l, &loop, (struct sockaddr *)&sa, DNS_TRANSPORT_UDP, &opts, 0), 0);
	dns_listener_addr(l, &bound);

	/* a port nobody listens on: bind a socket for a port number, then close it */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	socklen_t slen = sizeof(closed);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(struct sockaddr_in)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&closed, &slen), 0);
	close(fd);

	const struct sockaddr *to = (struct sockaddr *)&bound;
	assert_int_equal(dns_udp_send_once(&loop, to, (const uint8_t *)"R1hello", 7, 5000, once_cb, &ok, NULL), 0);
	assert_int_equal(dns_udp_send_once(&loop, to, (const uint8_t *)"I2abc", 5, 5000, once_cb, &wrong_id, NULL), 0);
	assert_int_equal(dns_udp_send_once(&loop, to, (const uint8_t *)"Z3", 2, 50, once_cb, &timeout, NULL), 0);
	assert_int_equal(dns_udp_send_once(&loop, to, (const uint8_t *)"Z4", 2, 5000, once_cb, &cancelled, &q), 0);
	assert_int_equal(dns_udp_send_once(&loop, (struct sockaddr *)&closed, (const uint8_t *)"R5", 2, 5000,
					   once_cb, &refused, NULL), 0);
	dns_udp_once_cancel(q);
	assert_int_equal(cancelled.calls, 1);
	assert_int_equal(cancelled.status, -ECANCELED);
	/* a message too short to have an ID is refused and never calls back */
	assert_int_equal(dns_udp_send_once(&loop, to, (const uint8_t *)"x", 1, 50, once_cb, &cancelled, NULL), -EINVAL);

	/* run until every exchange ended, then close the listener */
	while (ok.calls + wrong_id.calls + timeout.calls + refused.calls < 4)
		uv_run(&loop, UV_RUN_ONCE);
	dns_listener_close(l);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);

	assert_int_equal(ok.calls, 1);
	assert_int_equal(ok.status, 0);
	assert_int_equal(ok.len, 7);
	assert_memory_equal(ok.reply, "R1hello", 7);
	assert_int_equal(wrong_id.calls, 1);
	assert_int_equal(wrong_id.status, 0);
	assert_memory_equal(wrong_id.reply, "I2abc", 5); /* the reply with the wrong ID was skipped */
	assert_int_equal(timeout.calls, 1);
	assert_int_equal(timeout.status, -ETIMEDOUT);
	assert_int_equal(cancelled.calls, 1);
	assert_int_equal(refused.calls, 1);
	assert_int_equal(refused.status, -ECONNREFUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_echo_and_async),
		cmocka_unit_test(test_listener_on_own_loop),
		cmocka_unit_test(test_udp_send_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

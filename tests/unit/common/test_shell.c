/*
 * test_shell.c -- the DNS servers' skeleton (dns_shell.h): listeners answer on
 * their threads, SIGHUP reloads, SIGTERM stops the main loop, and everything
 * closes cleanly. Listens on 127.31.2.1 (ephemeral port).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "dns_config.h"
#include "dns_shell.h"

/* Echo the query back with QR set. */
static void on_query(void *ctx, struct dns_listen_req *req, const uint8_t *pkt, size_t len)
{
	uint8_t out[512];
	if (len >= 12 && len <= sizeof(out)) {
		memcpy(out, pkt, len);
		out[2] |= 0x80;
		dns_listen_reply(req, out, len);
	}
	dns_listen_done(req);
}

struct run {
	uv_timer_t timer;
	unsigned reloads;
	unsigned ticks;
};

static void on_reload(void *ctx)
{
	((struct run *)ctx)->reloads++;
}

/* First tick: SIGHUP; once it has been handled: SIGTERM. */
static void on_tick(uv_timer_t *t)
{
	struct run *r = t->data;
	r->ticks++;
	if (r->ticks == 1)
		raise(SIGHUP);
	else if (r->reloads == 1)
		raise(SIGTERM);
}

static void test_shell(void **state)
{
	struct dns_shell sh;
	struct sockaddr_storage addr;
	struct run r = { .reloads = 0 };

	assert_int_equal(dns_addr_parse("127.31.2.1@0", 0, &addr), 0);
	assert_int_equal(dns_shell_init(&sh), 0);
	struct dns_shell_config cfg = {
		.listen = { .addrs = &addr, .naddrs = 1, .threads = 2,
			    .opts = { .query_cb = on_query } },
		.reload = on_reload,
		.ctx = &r,
	};
	assert_int_equal(dns_shell_start(&sh, &cfg), 0);

	/* the workers answer before the main loop runs */
	struct sockaddr_storage bound;
	dns_listen_server_addr(sh.listen, 0, &bound);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint8_t q[17] = { 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1 };
	assert_int_equal(sendto(fd, q, sizeof(q), 0, (struct sockaddr *)&bound, sizeof(struct sockaddr_in)),
			 sizeof(q));
	uint8_t a[64];
	assert_int_equal(recv(fd, a, sizeof(a), 0), sizeof(q));
	assert_int_equal(a[0], 0xab);
	assert_int_equal(a[2] & 0x80, 0x80);
	close(fd);

	assert_int_equal(uv_timer_init(&sh.loop, &r.timer), 0);
	r.timer.data = &r;
	assert_int_equal(uv_timer_start(&r.timer, on_tick, 1, 1), 0);
	dns_shell_run(&sh); /* returns on SIGTERM */
	assert_int_equal(r.reloads, 1);
	assert_int_equal(dns_shell_stop(&sh), 0);
	assert_null(sh.listen);
	uv_close((uv_handle_t *)&r.timer, NULL);
	assert_int_equal(dns_shell_deinit(&sh), 0);
}

/* A listener that cannot bind fails the start; the shell still tears down. */
static void test_start_fails(void **state)
{
	struct dns_shell sh;
	struct sockaddr_storage addr;
	assert_int_equal(dns_addr_parse("192.0.2.1@53", 0, &addr), 0); /* not ours */
	assert_int_equal(dns_shell_init(&sh), 0);
	struct dns_shell_config cfg = {
		.listen = { .addrs = &addr, .naddrs = 1, .threads = 1, .opts = { .query_cb = on_query } },
	};
	assert_true(dns_shell_start(&sh, &cfg) < 0);
	assert_null(sh.listen);
	assert_int_equal(dns_shell_deinit(&sh), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shell),
		cmocka_unit_test(test_start_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

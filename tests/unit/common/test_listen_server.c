/*
 * test_listen_server.c -- the server and its threads on 127.31.0.x and ::1:
 * stopping with a request still held, SO_REUSEPORT over two workers and two
 * addresses, IPv6, and a second server refused its address.
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
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen_helpers.h"

static void test_server_stops_with_held_request(void **state)
{
	static const char *addrs[] = { "127.31.0.4@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 1, 0, 0);
	struct sockaddr_storage sa;
	uint8_t out[64];

	/* the application still holds a TCP request when the server stops: the loop
	 * closes cleanly, and done afterwards frees what is left */
	dns_listen_server_addr(srv, 0, &sa);
	int fd = tcp_client(&sa);
	size_t len = frame(out, 0, "H");
	send_all(fd, out, len);
	for (int i = 0; i < 5000 && !atomic_load(&APP.held_waiting); i++)
		sleep_ms(1);
	assert_true(atomic_load(&APP.held_waiting));
	struct dns_listen_req *held = APP.held;
	server_stop(srv);
	expect_closed(fd);
	close(fd);
	assert_int_equal(dns_listen_reply(held, (const uint8_t *)"x", 1), -ENOTCONN);
	dns_listen_done(held);
}

static void test_threads_reuseport_and_addresses(void **state)
{
	static const char *addrs[] = { "127.31.0.5@0", "127.31.0.6@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 2, 0, 0);
	struct sockaddr_storage sa[2];
	uint8_t r[1024];
	bool seen[2][2] = { { false } };

	dns_listen_server_addr(srv, 0, &sa[0]);
	dns_listen_server_addr(srv, 1, &sa[1]);
	/* SO_REUSEPORT spreads clients (by source port) over both workers */
	for (int a = 0; a < 2; a++) {
		for (int i = 0; i < 200 && !(seen[a][0] && seen[a][1]); i++) {
			int fd = udp_client(&sa[a]);
			ssize_t n = udp_ask(fd, "Ex", r, sizeof(r));
			check_echo(r, n, 'E', 'U', port_of(&sa[a]), local_port(fd), "x");
			assert_true(r[2] == '0' || r[2] == '1');
			seen[a][r[2] - '0'] = true;
			close(fd);
		}
		assert_true(seen[a][0] && seen[a][1]);
	}
	/* TCP on both addresses too */
	for (int a = 0; a < 2; a++) {
		uint8_t out[16];
		int fd = tcp_client(&sa[a]);
		size_t len = frame(out, 0, "Et");
		send_all(fd, out, len);
		ssize_t n = read_frame(fd, r, sizeof(r));
		check_echo(r, n, 'E', 'T', port_of(&sa[a]), local_port(fd), "t");
		close(fd);
	}
	server_stop(srv);
}

static void test_ipv6(void **state)
{
	static const char *addrs[] = { "::1@0", NULL };
	int probe = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 lo = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	if (probe < 0 || bind(probe, (struct sockaddr *)&lo, sizeof(lo)) < 0) {
		if (probe >= 0)
			close(probe);
		skip();
	}
	close(probe);
	struct dns_listen_server *srv = server_start(addrs, 1, 0, 0);
	struct sockaddr_storage sa;
	uint8_t r[1024], out[16];
	dns_listen_server_addr(srv, 0, &sa);
	int fd = udp_client(&sa);
	ssize_t n = udp_ask(fd, "Esix", r, sizeof(r));
	check_echo(r, n, 'E', 'U', port_of(&sa), local_port(fd), "six");
	close(fd);
	fd = tcp_client(&sa);
	size_t len = frame(out, 0, "Esix");
	send_all(fd, out, len);
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), local_port(fd), "six");
	close(fd);
	server_stop(srv);
}

static void test_bind_error(void **state)
{
	static const char *addrs[] = { "127.31.0.7@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 1, 0, 0);
	struct sockaddr_storage sa;
	dns_listen_server_addr(srv, 0, &sa);
	/* a second server on the same address and port (without SO_REUSEPORT) is refused */
	struct dns_listen_server_config cfg = {
		.addrs = &sa, .naddrs = 1, .threads = 1,
		.opts = { .query_cb = app_query_cb, .ctx = &APP },
	};
	struct dns_listen_server *other = NULL;
	assert_int_equal(dns_listen_server_start(&other, &cfg), -EADDRINUSE);
	assert_null(other);
	server_stop(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_stops_with_held_request),
		cmocka_unit_test(test_threads_reuseport_and_addresses),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_bind_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

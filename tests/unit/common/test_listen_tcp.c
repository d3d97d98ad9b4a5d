/*
 * test_listen_tcp.c -- TCP (RFC 7766) on the server's listeners on 127.31.0.x:
 * framing and pipelining, backpressure, frames cut at random points, the rules
 * that close a connection (idle timeout, zero-length frame), the connection limit
 * and clients that go away in the middle of an answer.
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen_helpers.h"

/* A TCP connection to the IPv4 server sa with a small (4 KB) receive window, so
 * kernel buffers cannot swallow all replies. */
static int small_window_client(const struct sockaddr_storage *sa)
{
	int small = 4096;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	set_timeout(fd);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(connect(fd, (const struct sockaddr *)sa, ss_len(sa)), 0);
	return fd;
}

/* Read one frame on fd: the 'E'-style reply cmd to rest, from the server at sa to port me. */
static void expect_reply(int fd, const struct sockaddr_storage *sa, uint16_t me, char cmd, const char *rest)
{
	uint8_t r[1024];
	ssize_t n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, cmd, 'T', port_of(sa), me, rest);
}

/* Queries one by one, several in one write, and frames cut across writes. */
static void framing(int fd, const struct sockaddr_storage *sa, uint16_t me)
{
	uint8_t out[256];

	/* one query, one framed reply */
	size_t len = frame(out, 0, "Eone");
	send_all(fd, out, len);
	expect_reply(fd, sa, me, 'E', "one");

	/* three queries in one write: three replies, in order */
	len = frame(out, 0, "Ea");
	len = frame(out, len, "Ebb");
	len = frame(out, len, "Eccc");
	send_all(fd, out, len);
	expect_reply(fd, sa, me, 'E', "a");
	expect_reply(fd, sa, me, 'E', "bb");
	expect_reply(fd, sa, me, 'E', "ccc");

	/* frames split across writes: length bytes apart, a frame's end glued to the next one's start */
	len = frame(out, 0, "Esplit-one");
	len = frame(out, len, "Esplit-two");
	size_t cuts[] = { 0, 1, 5, 14, len };
	for (int i = 0; i + 1 < 5; i++) {
		send_all(fd, out + cuts[i], cuts[i + 1] - cuts[i]);
		sleep_ms(5); /* give the server a chance to read each piece on its own */
	}
	expect_reply(fd, sa, me, 'E', "split-one");
	expect_reply(fd, sa, me, 'E', "split-two");
}

/* Several messages for one query, and answers given later, out of order. */
static void streams_and_late_answers(int fd, const struct sockaddr_storage *sa, uint16_t me)
{
	uint8_t out[256], r[1024];
	ssize_t n;

	/* several messages for one query (an AXFR-like stream) */
	size_t len = frame(out, 0, "M");
	send_all(fd, out, len);
	n = read_frame(fd, r, sizeof(r));
	assert_int_equal(n, 2);
	assert_memory_equal(r, "M1", 2);
	n = read_frame(fd, r, sizeof(r));
	assert_memory_equal(r, "M2-two", 6);
	n = read_frame(fd, r, sizeof(r));
	assert_memory_equal(r, "M3-three", 8);

	/* an answer given later, overtaken by a quick one sent after it */
	len = frame(out, 0, "Aslow");
	len = frame(out, len, "Efast");
	send_all(fd, out, len);
	expect_reply(fd, sa, me, 'E', "fast");
	expect_reply(fd, sa, me, 'A', "slow");

	/* two late answers built in their request buffers, with a quick one between */
	len = frame(out, 0, "Bone");
	len = frame(out, len, "Btwo");
	len = frame(out, len, "Enow");
	send_all(fd, out, len);
	expect_reply(fd, sa, me, 'E', "now");
	expect_reply(fd, sa, me, 'B', "one");
	expect_reply(fd, sa, me, 'B', "two");
}

/* A reply bigger than a socket write, then a half-close that ends the connection. */
static void big_reply_and_half_close(int fd, const struct sockaddr_storage *sa, uint16_t me)
{
	uint8_t out[256];
	ssize_t n;

	/* a reply larger than any socket buffer write: goes out through a queued copy */
	uint8_t *big = malloc(BIG);
	assert_non_null(big);
	size_t len = frame(out, 0, "L");
	send_all(fd, out, len);
	n = read_frame(fd, big, BIG);
	assert_int_equal(n, BIG);
	for (size_t i = 0; i < BIG; i++)
		assert_int_equal(big[i], (uint8_t)(i * 7 + 1));
	free(big);

	/* a client that half-closes after its query still gets the answer, then EOF */
	len = frame(out, 0, "Alast");
	len = frame(out, len, "Eq1");
	len = frame(out, len, "Eq2");
	send_all(fd, out, len);
	shutdown(fd, SHUT_WR);
	expect_reply(fd, sa, me, 'E', "q1");
	expect_reply(fd, sa, me, 'E', "q2");
	expect_reply(fd, sa, me, 'A', "last");
	expect_closed(fd);
}

/* One connection through all of it, in this order: the server keeps its state between. */
static void test_tcp_framing_pipelining(void **state)
{
	static const char *addrs[] = { "127.31.0.2@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 1, 0, 0);
	struct sockaddr_storage sa;

	dns_listen_server_addr(srv, 0, &sa);
	int fd = tcp_client(&sa);
	uint16_t me = local_port(fd);

	framing(fd, &sa, me);
	streams_and_late_answers(fd, &sa, me);
	big_reply_and_half_close(fd, &sa, me);
	close(fd);
	server_stop(srv);
}

static void test_tcp_backpressure(void **state)
{
	static const char *addrs[] = { "127.31.0.10@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 1, 0, 0);
	struct sockaddr_storage sa;
	uint8_t out[100 * 8], r[1024];
	size_t len = 0;
	ssize_t n;

	dns_listen_server_addr(srv, 0, &sa);
	int fd = tcp_client(&sa);

	/* 100 queries answered later, more than the 64 allowed outstanding: reading
	 * pauses at 64 and resumes as answers go out; all 100 are answered */
	for (int i = 0; i < 100; i++) {
		char q[8];
		snprintf(q, sizeof(q), "A%03d", i);
		len = frame(out, len, q);
	}
	send_all(fd, out, len);
	/* and the client half-closes at once: queries still buffered are served before the close */
	shutdown(fd, SHUT_WR);
	bool seen[100] = { false };
	for (int i = 0; i < 100; i++) {
		n = read_frame(fd, r, sizeof(r));
		assert_int_equal(n, 10);
		int k = atoi((const char *)r + 7);
		assert_true(k >= 0 && k < 100 && !seen[k]);
		seen[k] = true;
	}
	uint64_t pauses = stats_of(srv).tcp_pauses;
	assert_true(pauses >= 1);
	expect_closed(fd);

	/* 200 big answers (12 MB) to a client that reads only afterwards: the server stops
	 * reading while replies pile up, then serves the rest as the client drains them */
	close(fd);
	fd = small_window_client(&sa);
	len = 0;
	for (int i = 0; i < 200; i++)
		len = frame(out, len, "L");
	send_all(fd, out, len);
	/* not reading yet: the server must stop taking queries once replies pile up */
	for (int i = 0; i < 5000 && stats_of(srv).tcp_pauses == pauses; i++)
		sleep_ms(1);
	assert_true(stats_of(srv).tcp_pauses > pauses);
	uint8_t *big = malloc(BIG);
	assert_non_null(big);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(read_frame(fd, big, BIG), BIG);
		assert_int_equal(big[BIG - 1], (uint8_t)((BIG - 1) * 7 + 1));
	}
	free(big);
	assert_true(stats_of(srv).tcp_pauses > pauses);
	len = frame(out, 0, "Eend");
	send_all(fd, out, len);
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), local_port(fd), "end");
	close(fd);
	server_stop(srv);
}

/* Frames of random sizes (up to 20000 bytes) cut at random points: every reply comes back intact. */
static void test_tcp_random_splits(void **state)
{
	static const char *addrs[] = { "127.31.0.11@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 1, 0, 0);
	struct sockaddr_storage sa;
	struct dns_rng rng;
	struct dns_rng_seeded seed;
	enum { FRAMES = 150 };
	size_t lens[FRAMES], total = 0;

	dns_rng_seeded_init(&rng, &seed, 7);
	for (int i = 0; i < FRAMES; i++) {
		lens[i] = 1 + dns_rng_uniform(&rng, i % 10 == 0 ? 20000 : 600);
		total += 2 + lens[i];
	}
	uint8_t *stream = malloc(total), *back = malloc(20000);
	assert_non_null(stream);
	assert_non_null(back);
	size_t at = 0;
	for (int i = 0; i < FRAMES; i++) {
		stream[at] = (uint8_t)(lens[i] >> 8);
		stream[at + 1] = (uint8_t)lens[i];
		stream[at + 2] = 'R';
		for (size_t k = 1; k < lens[i]; k++)
			stream[at + 2 + k] = (uint8_t)(i + k);
		at += 2 + lens[i];
	}
	dns_listen_server_addr(srv, 0, &sa);
	int fd = tcp_client(&sa);
	/* write in pieces of 1..3000 bytes; the ~200 KB stream and its replies fit in the
	 * socket buffers, so writing it all before reading cannot block */
	size_t sent = 0;
	int got = 0;
	while (sent < total) {
		size_t piece = 1 + dns_rng_uniform(&rng, 3000);
		if (piece > total - sent)
			piece = total - sent;
		send_all(fd, stream + sent, piece);
		sent += piece;
	}
	at = 0;
	for (; got < FRAMES; got++) {
		ssize_t n = read_frame(fd, back, 20000);
		assert_int_equal(n, (ssize_t)lens[got]);
		assert_memory_equal(back, stream + at + 2, lens[got]);
		at += 2 + lens[got];
	}
	close(fd);
	free(stream);
	free(back);
	server_stop(srv);
}

static void test_tcp_close_rules(void **state)
{
	static const char *addrs[] = { "127.31.0.3@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 1, 100, 2);
	struct sockaddr_storage sa;
	uint8_t out[64], r[1024];
	size_t len;

	dns_listen_server_addr(srv, 0, &sa);

	/* idle timeout (100 ms here): an idle connection is closed by the server */
	int fd = tcp_client(&sa);
	expect_closed(fd);
	close(fd);
	assert_int_equal(stats_of(srv).tcp_timeouts, 1);

	/* ... also after a query was answered */
	fd = tcp_client(&sa);
	len = frame(out, 0, "Ex");
	send_all(fd, out, len);
	assert_true(read_frame(fd, r, sizeof(r)) > 0);
	expect_closed(fd);
	close(fd);
	assert_int_equal(stats_of(srv).tcp_timeouts, 2);

	/* a long answer read slowly (100 x 60 KB, more than kernel buffers hold, a frame
	 * every 10 ms) is not idle: write completions count as activity */
	fd = small_window_client(&sa);
	len = 0;
	for (int i = 0; i < 5; i++)
		len = frame(out, len, "X");
	send_all(fd, out, len);
	uint8_t *big = malloc(BIG);
	assert_non_null(big);
	for (int i = 0; i < 100; i++) {
		sleep_ms(10); /* pacing a slow reader, not waiting for readiness */
		assert_int_equal(read_frame(fd, big, BIG), BIG);
	}
	free(big);
	expect_closed(fd); /* and then idle */
	close(fd);
	assert_int_equal(stats_of(srv).tcp_timeouts, 3);

	/* a zero-length frame closes the connection */
	fd = tcp_client(&sa);
	send_all(fd, "\0\0", 2);
	expect_closed(fd);
	close(fd);

	server_stop(srv);
}

static void test_tcp_connection_limit(void **state)
{
	static const char *addrs[] = { "127.31.0.3@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 1, 0, 2);
	struct sockaddr_storage sa;
	uint8_t out[64], r[1024];
	size_t len;

	dns_listen_server_addr(srv, 0, &sa);
	/* connection limit 2: a third connection is closed at once */
	int c1 = tcp_client(&sa), c2 = tcp_client(&sa);
	len = frame(out, 0, "E1");
	send_all(c1, out, len);
	assert_true(read_frame(c1, r, sizeof(r)) > 0);
	send_all(c2, out, len);
	assert_true(read_frame(c2, r, sizeof(r)) > 0);
	int c3 = tcp_client(&sa);
	expect_closed(c3);
	close(c3);
	assert_int_equal(stats_of(srv).tcp_refused, 1);
	/* once one closes, a new one is served */
	close(c1);
	wait_conns(srv, 1);
	int c4 = tcp_client(&sa);
	send_all(c4, out, len);
	assert_true(read_frame(c4, r, sizeof(r)) > 0);
	close(c4);
	close(c2);
	server_stop(srv);
}

static void test_tcp_client_goes_away(void **state)
{
	static const char *addrs[] = { "127.31.0.4@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 1, 0, 0);
	struct sockaddr_storage sa;
	uint8_t out[64], r[1024];
	size_t len;

	dns_listen_server_addr(srv, 0, &sa);

	/* the client resets the connection in the middle of 20 x 60 KB of replies */
	for (int round = 0; round < 3; round++) {
		int fd = tcp_client(&sa);
		len = frame(out, 0, "X");
		send_all(fd, out, len);
		assert_int_equal(read_exact(fd, r, 100), 0); /* the reply has started */
		struct linger lg = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}

	/* a request answered after its client left: the reply fails, done frees it */
	int fd = tcp_client(&sa);
	len = frame(out, 0, "H");
	send_all(fd, out, len);
	for (int i = 0; i < 5000 && !atomic_load(&APP.held_waiting); i++)
		sleep_ms(1);
	assert_true(atomic_load(&APP.held_waiting));
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd); /* a reset: the server sees a read error and closes */
	wait_conns(srv, 0);
	uv_async_send(&APP.release[0]);
	for (int i = 0; i < 5000 && !atomic_load(&APP.held_done); i++)
		sleep_ms(1);
	assert_true(atomic_load(&APP.held_done));
	assert_int_equal(atomic_load(&APP.held_rc), -ENOTCONN);

	/* the server still answers */
	fd = tcp_client(&sa);
	len = frame(out, 0, "Estill");
	send_all(fd, out, len);
	ssize_t n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), local_port(fd), "still");
	close(fd);
	server_stop(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_framing_pipelining),
		cmocka_unit_test(test_tcp_backpressure),
		cmocka_unit_test(test_tcp_random_splits),
		cmocka_unit_test(test_tcp_close_rules),
		cmocka_unit_test(test_tcp_connection_limit),
		cmocka_unit_test(test_tcp_client_goes_away),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

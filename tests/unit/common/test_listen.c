/*
 * test_listen.c -- the UDP/TCP listeners and the server on 127.31.0.x.
 *
 * A small test application answers queries whose first byte says what to do
 * (echo, answer later, answer three times, answer big, hold until told). Clients
 * are plain blocking sockets in the test thread with receive timeouts as a safety
 * net; the server runs its worker threads. Every server is stopped at the end of
 * its test, which closes all handles and checks uv_loop_close() == 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns_config.h"
#include "dns_listen.h"
#include "dns_rng.h"
#include "dns_udp.h"

#define MAX_THREADS 4
#define BIG 60000

/* ---- the test application ---- */

struct app {
	uv_async_t release[MAX_THREADS]; /* per worker: answer the held request now */
	struct dns_listen_req *held;     /* 'H' request (touched on the worker loop only) */
	atomic_int held_rc;              /* result of replying to the held request */
	atomic_bool held_done;           /* the held request was answered and done */
	atomic_bool held_waiting;        /* a request is held */
};

static struct app APP;

/* Reply: [cmd][U|T][thread digit][local port][peer port] + the query from byte 1. */
static size_t make_echo(struct dns_listen_req *req, const uint8_t *pkt, size_t len, uint8_t *out)
{
	const struct sockaddr *local = dns_listen_req_local(req), *peer = dns_listen_req_peer(req);
	uint16_t lport = ntohs(local->sa_family == AF_INET ? ((const struct sockaddr_in *)local)->sin_port
							   : ((const struct sockaddr_in6 *)local)->sin6_port);
	uint16_t pport = ntohs(peer->sa_family == AF_INET ? ((const struct sockaddr_in *)peer)->sin_port
							 : ((const struct sockaddr_in6 *)peer)->sin6_port);
	out[0] = pkt[0];
	out[1] = dns_listen_req_transport(req) == DNS_TRANSPORT_UDP ? 'U' : 'T';
	out[2] = (uint8_t)('0' + dns_listen_req_thread(req));
	out[3] = (uint8_t)(lport >> 8);
	out[4] = (uint8_t)lport;
	out[5] = (uint8_t)(pport >> 8);
	out[6] = (uint8_t)pport;
	memcpy(out + 7, pkt + 1, len - 1);
	return 7 + len - 1;
}

struct deferred {
	uv_timer_t timer;
	struct dns_listen_req *req;
	size_t len;
	const uint8_t *out; /* the reply: msg, or the request's own buffer */
	uint8_t msg[600];
};

static void deferred_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void deferred_cb(uv_timer_t *t)
{
	struct deferred *d = t->data;
	assert_int_equal(dns_listen_reply(d->req, d->out, d->len), 0);
	dns_listen_done(d->req);
	uv_close((uv_handle_t *)&d->timer, deferred_close_cb);
}

static void app_query_cb(void *ctx, struct dns_listen_req *req, const uint8_t *pkt, size_t len)
{
	struct app *app = ctx;
	uint8_t *buf;
	size_t n;

	if (len > 0 && pkt[0] == 'R') { /* the query back as it is, any size */
		assert_int_equal(dns_listen_reply(req, pkt, len), 0);
		dns_listen_done(req);
		return;
	}
	if (len == 0 || len > 500) {
		dns_listen_done(req);
		return;
	}
	switch (pkt[0]) {
	case 'E': /* echo, built in the request's buffer */
		buf = dns_listen_req_buf(req);
		assert_non_null(buf);
		n = make_echo(req, pkt, len, buf);
		assert_int_equal(dns_listen_reply(req, buf, n), 0);
		dns_listen_done(req);
		return;
	case 'A':   /* answer 20 ms later from a timer on the request's loop */
	case 'B': { /* the same, built at once in the request's buffer, kept until then */
		struct deferred *d = calloc(1, sizeof(*d));
		assert_non_null(d);
		d->req = req;
		d->out = d->msg;
		if (pkt[0] == 'B') {
			uint8_t *b = dns_listen_req_buf(req);
			assert_non_null(b);
			d->out = b;
		}
		d->len = make_echo(req, pkt, len, (uint8_t *)d->out);
		uv_timer_init(dns_listen_req_loop(req), &d->timer);
		d->timer.data = d;
		uv_timer_start(&d->timer, deferred_cb, 20, 0);
		return;
	}
	case 'M': { /* three messages, as an AXFR stream would */
		static const char *parts[] = { "M1", "M2-two", "M3-three" };
		for (int i = 0; i < 3; i++)
			assert_int_equal(dns_listen_reply(req, (const uint8_t *)parts[i], strlen(parts[i])), 0);
		dns_listen_done(req);
		return;
	}
	case 'L': /* one big message */
	case 'X': { /* twenty big messages */
		uint8_t *big = malloc(BIG);
		assert_non_null(big);
		for (size_t i = 0; i < BIG; i++)
			big[i] = (uint8_t)(i * 7 + 1);
		int times = pkt[0] == 'L' ? 1 : 20;
		for (int i = 0; i < times; i++)
			if (dns_listen_reply(req, big, BIG) < 0)
				break;
		free(big);
		dns_listen_done(req);
		return;
	}
	case 'I': { /* first a reply with another ID, then the right one */
		uint8_t other[512];
		memcpy(other, pkt, len);
		other[0] = 'i';
		assert_int_equal(dns_listen_reply(req, other, len), 0);
		assert_int_equal(dns_listen_reply(req, pkt, len), 0);
		dns_listen_done(req);
		return;
	}
	case 'H': /* hold until the test releases it */
		app->held = req;
		atomic_store(&app->held_waiting, true);
		return;
	default: /* no answer */
		dns_listen_done(req);
		return;
	}
}

static void release_cb(uv_async_t *a)
{
	struct app *app = a->data;
	if (app->held == NULL)
		return;
	atomic_store(&app->held_rc, dns_listen_reply(app->held, (const uint8_t *)"late", 4));
	dns_listen_done(app->held);
	app->held = NULL;
	atomic_store(&app->held_done, true);
}

static void app_thread_start(void *ctx, unsigned thread, uv_loop_t *loop)
{
	struct app *app = ctx;
	uv_async_init(loop, &app->release[thread], release_cb);
	app->release[thread].data = app;
}

static void app_thread_stop(void *ctx, unsigned thread, uv_loop_t *loop)
{
	struct app *app = ctx;
	uv_close((uv_handle_t *)&app->release[thread], NULL);
}

/* ---- helpers ---- */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static struct dns_listen_server *server_start(const char *const *addrs, unsigned threads, unsigned idle_ms,
					      unsigned max_conns)
{
	struct sockaddr_storage ss[4];
	size_t n = 0;
	for (; addrs[n] != NULL; n++)
		assert_int_equal(dns_addr_parse(addrs[n], 0, &ss[n]), 0);
	memset(&APP, 0, sizeof(APP));
	struct dns_listen_server_config cfg = {
		.addrs = ss,
		.naddrs = n,
		.threads = threads,
		.opts = { .query_cb = app_query_cb, .ctx = &APP, .tcp_idle_ms = idle_ms, .tcp_max_conns = max_conns },
		.thread_start = app_thread_start,
		.thread_stop = app_thread_stop,
	};
	struct dns_listen_server *srv = NULL;
	assert_int_equal(dns_listen_server_start(&srv, &cfg), 0);
	return srv;
}

static void server_stop(struct dns_listen_server *srv)
{
	assert_int_equal(dns_listen_server_stop(srv), 0);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static void set_timeout(int fd)
{
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int udp_client(const struct sockaddr_storage *srv)
{
	int fd = socket(srv->ss_family, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	set_timeout(fd);
	assert_int_equal(connect(fd, (const struct sockaddr *)srv, ss_len(srv)), 0);
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return port_of(&ss);
}

/* Send msg on a UDP socket and return the reply's length in out. */
static ssize_t udp_ask(int fd, const char *msg, uint8_t *out, size_t cap)
{
	assert_int_equal(send(fd, msg, strlen(msg), 0), (ssize_t)strlen(msg));
	return recv(fd, out, cap, 0);
}

static int tcp_client(const struct sockaddr_storage *srv)
{
	int fd = socket(srv->ss_family, SOCK_STREAM, 0), one = 1;
	assert_true(fd >= 0);
	set_timeout(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	assert_int_equal(connect(fd, (const struct sockaddr *)srv, ss_len(srv)), 0);
	return fd;
}

static void send_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Append a frame (2-byte length + text) to out; returns the new length. */
static size_t frame(uint8_t *out, size_t at, const char *text)
{
	size_t len = strlen(text);
	out[at] = (uint8_t)(len >> 8);
	out[at + 1] = (uint8_t)len;
	memcpy(out + at + 2, text, len);
	return at + 2 + len;
}

/* Read exactly len bytes; returns 0, or -1 on EOF/error. */
static int read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Read one frame; returns its length, or -1 at EOF/error. */
static ssize_t read_frame(int fd, uint8_t *buf, size_t cap)
{
	uint8_t hdr[2];
	if (read_exact(fd, hdr, 2) < 0)
		return -1;
	size_t len = ((size_t)hdr[0] << 8) | hdr[1];
	assert_true(len <= cap);
	if (read_exact(fd, buf, len) < 0)
		return -1;
	return (ssize_t)len;
}

/* Wait for the server to close: recv() reports EOF (or a reset), not a timeout. */
static void expect_closed(int fd)
{
	uint8_t b[64];
	ssize_t n = recv(fd, b, sizeof(b), 0);
	if (n < 0)
		assert_int_equal(errno, ECONNRESET);
	else
		assert_int_equal(n, 0);
}

static void check_echo(const uint8_t *r, ssize_t n, char cmd, char transport, uint16_t lport, uint16_t pport,
		       const char *rest)
{
	assert_int_equal(n, 7 + (ssize_t)strlen(rest));
	assert_int_equal(r[0], cmd);
	assert_int_equal(r[1], transport);
	assert_int_equal(((unsigned)r[3] << 8) | r[4], lport);
	assert_int_equal(((unsigned)r[5] << 8) | r[6], pport);
	assert_memory_equal(r + 7, rest, strlen(rest));
}

static struct dns_listener_stats stats_of(struct dns_listen_server *srv)
{
	struct dns_listener_stats s;
	dns_listen_server_stats(srv, &s);
	return s;
}

/* Poll (1 ms steps, 5 s at most) until the server has `want` TCP connections open. */
static void wait_conns(struct dns_listen_server *srv, uint64_t want)
{
	for (int i = 0; i < 5000 && stats_of(srv).tcp_conns != want; i++)
		sleep_ms(1);
	assert_int_equal(stats_of(srv).tcp_conns, want);
}

/* ---- tests ---- */

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

static void test_tcp_framing_pipelining(void **state)
{
	static const char *addrs[] = { "127.31.0.2@0", NULL };
	struct dns_listen_server *srv = server_start(addrs, 1, 0, 0);
	struct sockaddr_storage sa;
	uint8_t out[256], r[1024];
	ssize_t n;

	dns_listen_server_addr(srv, 0, &sa);
	int fd = tcp_client(&sa);
	uint16_t me = local_port(fd);

	/* one query, one framed reply */
	size_t len = frame(out, 0, "Eone");
	send_all(fd, out, len);
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), me, "one");

	/* three queries in one write: three replies, in order */
	len = frame(out, 0, "Ea");
	len = frame(out, len, "Ebb");
	len = frame(out, len, "Eccc");
	send_all(fd, out, len);
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), me, "a");
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), me, "bb");
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), me, "ccc");

	/* frames split across writes: length bytes apart, a frame's end glued to the next one's start */
	len = frame(out, 0, "Esplit-one");
	len = frame(out, len, "Esplit-two");
	size_t cuts[] = { 0, 1, 5, 14, len };
	for (int i = 0; i + 1 < 5; i++) {
		send_all(fd, out + cuts[i], cuts[i + 1] - cuts[i]);
		sleep_ms(5); /* give the server a chance to read each piece on its own */
	}
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), me, "split-one");
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), me, "split-two");

	/* several messages for one query (an AXFR-like stream) */
	len = frame(out, 0, "M");
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
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), me, "fast");
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'A', 'T', port_of(&sa), me, "slow");

	/* two late answers built in their request buffers, with a quick one between */
	len = frame(out, 0, "Bone");
	len = frame(out, len, "Btwo");
	len = frame(out, len, "Enow");
	send_all(fd, out, len);
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), me, "now");
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'B', 'T', port_of(&sa), me, "one");
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'B', 'T', port_of(&sa), me, "two");

	/* a reply larger than any socket buffer write: goes out through a queued copy */
	uint8_t *big = malloc(BIG);
	assert_non_null(big);
	len = frame(out, 0, "L");
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
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), me, "q1");
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'E', 'T', port_of(&sa), me, "q2");
	n = read_frame(fd, r, sizeof(r));
	check_echo(r, n, 'A', 'T', port_of(&sa), me, "last");
	expect_closed(fd);
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
	int small = 4096;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	set_timeout(fd);
	/* a small receive window, so kernel buffers cannot swallow all replies */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, ss_len(&sa)), 0);
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
	int small = 4096;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	set_timeout(fd);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, ss_len(&sa)), 0);
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
		cmocka_unit_test(test_tcp_framing_pipelining),
		cmocka_unit_test(test_tcp_backpressure),
		cmocka_unit_test(test_tcp_random_splits),
		cmocka_unit_test(test_tcp_close_rules),
		cmocka_unit_test(test_tcp_connection_limit),
		cmocka_unit_test(test_tcp_client_goes_away),
		cmocka_unit_test(test_server_stops_with_held_request),
		cmocka_unit_test(test_threads_reuseport_and_addresses),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_bind_error),
		cmocka_unit_test(test_listener_on_own_loop),
		cmocka_unit_test(test_udp_send_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

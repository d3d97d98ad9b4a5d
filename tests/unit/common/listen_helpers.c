/*
 * listen_helpers.c -- the test application and the blocking clients the
 * test_listen_*.c files share (see listen_helpers.h).
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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns_config.h"
#include "listen_helpers.h"

/* ---- the test application ---- */

struct app APP;

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

void app_query_cb(void *ctx, struct dns_listen_req *req, const uint8_t *pkt, size_t len)
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

void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

struct dns_listen_server *server_start(const char *const *addrs, unsigned threads, unsigned idle_ms,
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

void server_stop(struct dns_listen_server *srv)
{
	assert_int_equal(dns_listen_server_stop(srv), 0);
}

uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					      : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

void set_timeout(int fd)
{
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int udp_client(const struct sockaddr_storage *srv)
{
	int fd = socket(srv->ss_family, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	set_timeout(fd);
	assert_int_equal(connect(fd, (const struct sockaddr *)srv, ss_len(srv)), 0);
	return fd;
}

uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return port_of(&ss);
}

/* Send msg on a UDP socket and return the reply's length in out. */
ssize_t udp_ask(int fd, const char *msg, uint8_t *out, size_t cap)
{
	assert_int_equal(send(fd, msg, strlen(msg), 0), (ssize_t)strlen(msg));
	return recv(fd, out, cap, 0);
}

int tcp_client(const struct sockaddr_storage *srv)
{
	int fd = socket(srv->ss_family, SOCK_STREAM, 0), one = 1;
	assert_true(fd >= 0);
	set_timeout(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	assert_int_equal(connect(fd, (const struct sockaddr *)srv, ss_len(srv)), 0);
	return fd;
}

void send_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Append a frame (2-byte length + text) to out; returns the new length. */
size_t frame(uint8_t *out, size_t at, const char *text)
{
	size_t len = strlen(text);
	out[at] = (uint8_t)(len >> 8);
	out[at + 1] = (uint8_t)len;
	memcpy(out + at + 2, text, len);
	return at + 2 + len;
}

/* Read exactly len bytes; returns 0, or -errno, or -EPIPE at EOF. */
int read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);
		if (n < 0)
			return -errno;
		if (n == 0) /* the server closed before len bytes */
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

/* Read one frame; returns its length, or what read_exact() returned. */
ssize_t read_frame(int fd, uint8_t *buf, size_t cap)
{
	uint8_t hdr[2];
	int rc = read_exact(fd, hdr, 2);
	if (rc < 0)
		return rc;
	size_t len = ((size_t)hdr[0] << 8) | hdr[1];
	assert_true(len <= cap);
	rc = read_exact(fd, buf, len);
	if (rc < 0)
		return rc;
	return (ssize_t)len;
}

/* Wait for the server to close: recv() reports EOF (or a reset), not a timeout. */
void expect_closed(int fd)
{
	uint8_t b[64];
	ssize_t n = recv(fd, b, sizeof(b), 0);
	if (n < 0)
		assert_int_equal(errno, ECONNRESET);
	else
		assert_int_equal(n, 0);
}

void check_echo(const uint8_t *r, ssize_t n, char cmd, char transport, uint16_t lport, uint16_t pport,
		const char *rest)
{
	assert_int_equal(n, 7 + (ssize_t)strlen(rest));
	assert_int_equal(r[0], cmd);
	assert_int_equal(r[1], transport);
	assert_int_equal(((unsigned)r[3] << 8) | r[4], lport);
	assert_int_equal(((unsigned)r[5] << 8) | r[6], pport);
	assert_memory_equal(r + 7, rest, strlen(rest));
}

struct dns_listener_stats stats_of(struct dns_listen_server *srv)
{
	struct dns_listener_stats s;
	dns_listen_server_stats(srv, &s);
	return s;
}

/* Poll (1 ms steps, 5 s at most) until the server has `want` TCP connections open. */
void wait_conns(struct dns_listen_server *srv, uint64_t want)
{
	for (int i = 0; i < 5000 && stats_of(srv).tcp_conns != want; i++)
		sleep_ms(1);
	assert_int_equal(stats_of(srv).tcp_conns, want);
}

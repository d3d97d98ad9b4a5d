/*
 * listen_helpers.h -- what the test_listen_*.c files share: a test application
 * for the listeners and the server, and blocking clients to talk to it.
 *
 * The application answers queries whose first byte says what to do: 'E' echo
 * (with transport, thread and ports, see check_echo()), 'A'/'B' answer 20 ms
 * later (from a private buffer / from the request's buffer), 'M' three messages,
 * 'L' one BIG message, 'X' twenty, 'I' a reply with another ID first, 'R' the
 * query back as it is, 'H' hold until APP.release[thread] is signalled; anything
 * else gets no answer. Clients are plain blocking sockets in the test thread,
 * with 5 s receive and send timeouts as a safety net.
 */
#ifndef CAIRN_LISTEN_HELPERS_H
#define CAIRN_LISTEN_HELPERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "dns_listen.h"
#include "dns_rng.h"
#include "dns_udp.h"

#define MAX_THREADS 4 /* worker threads a test may start */
#define BIG 60000     /* size of an 'L'/'X' message; byte i is (uint8_t)(i * 7 + 1) */

/* ---- the test application ---- */

struct app {
	uv_async_t release[MAX_THREADS]; /* per worker: answer the held request now */
	struct dns_listen_req *held;     /* 'H' request (touched on the worker loop only) */
	atomic_int held_rc;              /* result of replying to the held request */
	atomic_bool held_done;           /* the held request was answered and done */
	atomic_bool held_waiting;        /* a request is held */
};

/* The one application; server_start() clears it. */
extern struct app APP;

/* The application's query callback (ctx is &APP), for tests that start listeners themselves. */
void app_query_cb(void *ctx, struct dns_listen_req *req, const uint8_t *pkt, size_t len);

/* ---- the server ---- */

/* Start a server for APP on the NULL-terminated addrs (ADDR@PORT, at most 4) with
 * threads workers, TCP idle timeout idle_ms and connection limit max_conns (0: the
 * defaults); fails the test if it does not start. */
struct dns_listen_server *server_start(const char *const *addrs, unsigned threads, unsigned idle_ms,
				       unsigned max_conns);

/* Stop srv; fails the test unless every handle closed. */
void server_stop(struct dns_listen_server *srv);

/* srv's counters now. */
struct dns_listener_stats stats_of(struct dns_listen_server *srv);

/* Poll (1 ms steps, 5 s at most) until the server has `want` TCP connections open. */
void wait_conns(struct dns_listen_server *srv, uint64_t want);

/* ---- clients ---- */

/* Sleep ms milliseconds (pacing, not waiting for readiness). */
void sleep_ms(unsigned ms);

/* The port of an IPv4 or IPv6 address, in host order. */
uint16_t port_of(const struct sockaddr_storage *ss);

/* The length of an IPv4 or IPv6 address for bind()/connect(). */
socklen_t ss_len(const struct sockaddr_storage *ss);

/* 5 s receive and send timeouts on fd. */
void set_timeout(int fd);

/* A UDP socket connected to srv. */
int udp_client(const struct sockaddr_storage *srv);

/* The local port fd is bound to. */
uint16_t local_port(int fd);

/* Send msg on a UDP socket and return the reply's length in out. */
ssize_t udp_ask(int fd, const char *msg, uint8_t *out, size_t cap);

/* A TCP connection to srv, with TCP_NODELAY. */
int tcp_client(const struct sockaddr_storage *srv);

/* Send all len bytes in one send(); fails the test otherwise. */
void send_all(int fd, const void *buf, size_t len);

/* Append a frame (2-byte length + text) to out; returns the new length. */
size_t frame(uint8_t *out, size_t at, const char *text);

/* Read exactly len bytes; returns 0, or -errno, or -EPIPE at EOF. */
int read_exact(int fd, uint8_t *buf, size_t len);

/* Read one frame; returns its length, or -errno, or -EPIPE at EOF. */
ssize_t read_frame(int fd, uint8_t *buf, size_t cap);

/* Wait for the server to close: recv() reports EOF (or a reset), not a timeout. */
void expect_closed(int fd);

/* Check an 'E' echo reply r of n bytes: command, transport ('U'/'T'), the server's
 * port lport, the client's port pport and the echoed text rest. */
void check_echo(const uint8_t *r, ssize_t n, char cmd, char transport, uint16_t lport, uint16_t pport,
		const char *rest);

#endif

/*
 * dns_listen.h -- DNS listeners on libuv: UDP, and TCP per RFC 7766.
 *
 * A listener owns one socket on one loop and hands every query it receives to the
 * application's query callback together with a request object (struct
 * dns_listen_req). The application answers with dns_listen_reply() -- once for a
 * normal query, several times on TCP for a stream such as AXFR -- and always ends
 * with dns_listen_done(). It may answer inside the callback or later from the same
 * loop (a resolver waiting for upstream servers); on TCP the connection is kept
 * until every request on it is done, and if the client went away meanwhile
 * dns_listen_reply() just fails.
 *
 * Hot path: a UDP query answered inside the callback costs no allocation. Each
 * listener keeps one request object and one reply buffer (dns_listen_req_buf()).
 * UDP reads use recvmmsg(2) in batches; replies given inside the callback during
 * a batch are copied into a per-listener arena and sent together with one
 * sendmmsg(2) when the batch ends (about 25% less server CPU per query than one
 * sendmsg each, measured with dnsperf). Other replies go out at once with
 * uv_udp_try_send(). Either way a reply is copied into a queued uv_udp_send only
 * when the socket would block. UDP sockets ask for 4 MB buffers.
 *
 * TCP (RFC 7766): every message is preceded by a two-byte length (RFC 1035 4.2.2);
 * several queries may arrive on one connection, in one segment or split across
 * segments (section 6.2.1); replies are sent in the order the application gives
 * them (section 7 allows any order). A connection idle for tcp_idle_ms -- nothing
 * read, no query outstanding, no reply bytes taken by the client -- is closed
 * (section 6.2.3), so a long AXFR to a slow reader goes on while a client that
 * stops reading is dropped; beyond tcp_max_conns connections
 * per listener new ones are closed at once (section 6.2.2). A zero-length frame
 * or a read error closes the connection.
 *
 * A server (struct dns_listen_server) runs N worker threads, each with its own
 * uv_loop and its own UDP and TCP sockets on every address, bound with
 * SO_REUSEPORT so the kernel spreads clients over the workers.
 *
 * Use, in short:
 *
 *   static void on_query(void *ctx, struct dns_listen_req *req, const uint8_t *pkt, size_t len)
 *   {
 *       uint8_t *out = dns_listen_req_buf(req);
 *       size_t n = answer(ctx, pkt, len, dns_listen_req_peer(req), out, DNS_LISTEN_MSG_MAX);
 *       if (n > 0)
 *           dns_listen_reply(req, out, n);
 *       dns_listen_done(req);
 *   }
 *   struct dns_listen_server_config c = { .addrs = addrs, .naddrs = n, .threads = 2,
 *       .opts = { .query_cb = on_query, .ctx = app } };
 *   dns_listen_server_start(&srv, &c);  ...  dns_listen_server_stop(srv);
 *
 * Wildcard addresses (0.0.0.0, ::) can be listened on, but a UDP reply then
 * leaves from whatever source address the kernel picks, which may not be the
 * one the query was sent to on a multi-homed host: list specific addresses.
 *
 * Starting a listener sets SIGPIPE to be ignored in the process (writes to a
 * client that went away must fail with EPIPE, not kill the server).
 *
 * Threading: a request, a listener and their accessors belong to the loop
 * thread they were created on; call dns_listen_reply()/dns_listen_done() only
 * on that thread (use uv_async_send to come back to it from elsewhere).
 */
#ifndef CAIRN_DNS_LISTEN_H
#define CAIRN_DNS_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

/* Largest DNS message: 16-bit length on TCP, 65535 on UDP. */
#define DNS_LISTEN_MSG_MAX 65535

/* How a query arrived. */
enum dns_transport {
	DNS_TRANSPORT_UDP = 1, /* a datagram */
	DNS_TRANSPORT_TCP,     /* a length-prefixed frame on a stream */
};

/* One query being answered (opaque; valid until dns_listen_done()). */
struct dns_listen_req;
/* One socket on one loop (opaque). */
struct dns_listener;
/* N worker threads with listeners on every address (opaque). */
struct dns_listen_server;

/*
 * A query arrived: pkt/len is the message (without the TCP length prefix), valid
 * only during the call. The application must eventually call dns_listen_done(req).
 */
typedef void (*dns_listen_query_cb)(void *ctx, struct dns_listen_req *req, const uint8_t *pkt, size_t len);

/* Settings of a listener; zero fields take the defaults named. */
struct dns_listen_opts {
	dns_listen_query_cb query_cb; /* required: called for every query */
	void *ctx;                    /* first argument of query_cb */
	unsigned tcp_idle_ms;         /* close a TCP connection idle this long; default 10000 */
	unsigned tcp_max_conns;       /* open TCP connections per listener; default 1000 */
	unsigned tcp_max_pending;     /* queries outstanding per connection before reading pauses; default 64 */
	unsigned udp_batch;           /* datagrams per recvmmsg(2); default 16; 1 disables recvmmsg */
	bool reuseport;               /* set SO_REUSEPORT (the server sets it when threads > 1) */
};

/* Counters of one listener (updated on its loop thread, readable from any thread). */
struct dns_listener_stats {
	uint64_t queries;     /* queries handed to the application */
	uint64_t replies;     /* replies sent or queued */
	uint64_t send_errors; /* replies that failed */
	uint64_t dropped;     /* datagrams dropped (truncated, out of memory) */
	uint64_t tcp_accepted;/* connections accepted */
	uint64_t tcp_refused; /* connections closed at once for the connection limit */
	uint64_t tcp_timeouts;/* connections closed as idle */
	uint64_t tcp_conns;   /* connections open now */
	uint64_t tcp_pauses;  /* times reading paused for outstanding queries or unread replies */
};

/*
 * Open a socket of transport t bound to addr (IPv6 sockets are IPV6_V6ONLY) on
 * loop and start serving. thread is the worker index reported to the callback.
 * Returns 0 and *out, or a negative errno (bind failures included).
 */
int dns_listener_start(struct dns_listener **out, uv_loop_t *loop, const struct sockaddr *addr,
		       enum dns_transport t, const struct dns_listen_opts *opts, unsigned thread);
/*
 * Stop serving: close the socket and every TCP connection. Handles are closed
 * asynchronously (run the loop to finish); the memory goes when the last request
 * still held by the application is done.
 */
void dns_listener_close(struct dns_listener *l);
/* The address the listener is bound to (the real port when 0 was asked). */
void dns_listener_addr(const struct dns_listener *l, struct sockaddr_storage *out);
/* A snapshot of the listener's counters. */
void dns_listener_stats(const struct dns_listener *l, struct dns_listener_stats *out);

/* The client's address. */
const struct sockaddr *dns_listen_req_peer(const struct dns_listen_req *req);
/* The local address the query arrived on (the listener's bound address). */
const struct sockaddr *dns_listen_req_local(const struct dns_listen_req *req);
/* UDP or TCP. */
enum dns_transport dns_listen_req_transport(const struct dns_listen_req *req);
/* Index of the worker thread (0 for listeners made outside a server), for per-thread counters. */
unsigned dns_listen_req_thread(const struct dns_listen_req *req);
/* The loop the request belongs to (to answer later from it). */
uv_loop_t *dns_listen_req_loop(const struct dns_listen_req *req);
/*
 * A DNS_LISTEN_MSG_MAX-byte buffer the application may build its reply in and
 * pass to dns_listen_reply(); belongs to the request until done. It is the
 * listener's own buffer whenever no other request holds it (always, for queries
 * answered inside the callback), else one allocated for this request. NULL only
 * when out of memory.
 */
uint8_t *dns_listen_req_buf(struct dns_listen_req *req);

/*
 * Send one reply message (without a length prefix: TCP framing is added here).
 * May be called several times on TCP. The message is sent at once or copied.
 * Returns 0, -EMSGSIZE, -ENOTCONN if the connection or listener is gone, or the
 * socket's negative errno.
 */
int dns_listen_reply(struct dns_listen_req *req, const uint8_t *msg, size_t len);
/* The application is finished with req (replied or not); req is invalid afterwards. NULL is ignored. */
void dns_listen_done(struct dns_listen_req *req);

/* A server: worker threads, each with a loop serving UDP and TCP on every address. */
struct dns_listen_server_config {
	const struct sockaddr_storage *addrs; /* addresses to listen on (copied) */
	size_t naddrs;                        /* number of addresses, at least 1 */
	unsigned threads;                     /* worker threads; default 1 */
	struct dns_listen_opts opts;          /* listener settings (reuseport forced when threads > 1) */
	/* optional: called on each worker thread before it serves (set up per-thread state) */
	void (*thread_start)(void *ctx, unsigned thread, uv_loop_t *loop);
	/* optional: called on each worker thread when stopping; close its own handles on loop here */
	void (*thread_stop)(void *ctx, unsigned thread, uv_loop_t *loop);
};

/*
 * Bind every socket (in the calling thread, so bind errors come back here, each
 * also logged as "cannot listen on ADDR@PORT/udp: reason"), then start the
 * threads. An address with port 0 gets one port chosen by the kernel for all
 * workers (see dns_listen_server_addr()). Returns 0 and *out, or a negative errno.
 */
int dns_listen_server_start(struct dns_listen_server **out, const struct dns_listen_server_config *cfg);
/*
 * Stop every worker: close all handles, join the threads, close the loops, free
 * the server. Returns 0 when every uv_loop_close() succeeded, else -EBUSY.
 */
int dns_listen_server_stop(struct dns_listen_server *srv);
/* The i-th address as bound (its port resolved when 0 was asked). */
void dns_listen_server_addr(const struct dns_listen_server *srv, size_t i, struct sockaddr_storage *out);
/* Sum of the counters of every listener of the server (approximate while running). */
void dns_listen_server_stats(const struct dns_listen_server *srv, struct dns_listener_stats *out);

#endif

/*
 * dns_listen_impl.h -- what the pieces of the DNS listeners share (dns_listen.c:
 * requests, listeners and their sockets; dns_listen_udp.c; dns_listen_tcp.c;
 * dns_listen_server.c: the worker threads). Not for use outside common/io.
 *
 * Lifetimes: a listener is reference-counted: its own socket handle, every
 * request held by the application on UDP, every queued UDP send and every TCP
 * connection hold a reference. A connection is counted the same way by its two
 * handles (stream and idle timer) and its requests. Memory goes when the count
 * reaches zero, so a request answered after its connection (or listener) was
 * closed still finds valid memory, and its reply just fails.
 */
#ifndef CAIRN_DNS_LISTEN_IMPL_H
#define CAIRN_DNS_LISTEN_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "dns_listen.h"

#define DEFAULT_TCP_IDLE_MS 10000
#define DEFAULT_TCP_MAX_CONNS 1000
#define DEFAULT_TCP_MAX_PENDING 64
#define DEFAULT_UDP_BATCH 16
/* libuv hands recvmmsg(2) one 64 KiB slot per datagram (UV__UDP_DGRAM_MAXSIZE). */
#define UDP_SLOT (64 * 1024)
/* First size of a connection's read buffer; grown to the frame being read. */
#define TCP_RBUF_INITIAL 2048
#define TCP_BACKLOG 1024
/* Replies queued on a connection beyond which reading pauses (a client that does not read). */
#define TCP_WRITE_HIGH (256 * 1024)

/* Datagrams read per recvmmsg(2) and in all by udp_drain() after a libuv batch. */
#define UDP_DRAIN_BATCH 64
#define UDP_DRAIN_MAX 512
/* Smallest slot udp_drain() reads a query into (larger queries are truncated, dropped). */
#define DNS_UDP_QUERY_MAX 4096

/* Bytes of replies collected during one recvmmsg batch before they must go out. */
#define UDP_OUT_ARENA (64 * 1024)

/* Single writer (the loop thread), any reader: relaxed atomics keep readers tear-free. */
#define STAT_ADD(l, field, n) \
	__atomic_store_n(&(l)->stats.field, __atomic_load_n(&(l)->stats.field, __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define STAT_GET(l, field) __atomic_load_n(&(l)->stats.field, __ATOMIC_RELAXED)

struct tcp_conn;

struct dns_listen_req {
	struct dns_listener *l;        /* owner (UDP) */
	struct tcp_conn *conn;         /* owner (TCP), NULL for UDP */
	struct sockaddr_storage peer;  /* client address (UDP; TCP uses the connection's) */
	uint8_t *buf;                  /* reply buffer (see dns_listen_req_buf) */
	enum {
		BUF_NONE = 0,          /* no buffer yet */
		BUF_FIXED,             /* the listener's UDP reply buffer, kept for good */
		BUF_LENT,              /* the listener's lending buffer, returned at done */
		BUF_OWNED,             /* allocated for this request, freed at done */
	} buf_kind;
	bool busy;                     /* embedded request in use */
	bool heap;                     /* allocated: free at done */
};

/*
 * UDP replies given inside the query callback during a recvmmsg(2) batch are
 * copied here and sent together with one sendmmsg(2) when the batch ends,
 * instead of one sendmsg(2) each: fewer system calls under load.
 */
struct udp_out {
	struct mmsghdr *msgs;           /* cap slots */
	struct iovec *iov;              /* one per slot */
	struct sockaddr_storage *peers; /* one per slot */
	uint8_t *arena;                 /* UDP_OUT_ARENA bytes of reply copies */
	size_t used;                    /* arena bytes used */
	unsigned n;                     /* slots used */
	unsigned cap;                   /* slots; 0 when batching is off */
	bool active;                    /* inside a batch callback: collect replies */
};

struct dns_listener {
	uv_loop_t *loop;
	enum dns_transport transport;
	union {
		uv_handle_t handle;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} h;
	struct dns_listen_opts opts;   /* with defaults filled in */
	unsigned thread;               /* worker index */
	struct sockaddr_storage local; /* bound address */
	unsigned refs;                 /* see file comment */
	bool closing;                  /* dns_listener_close() called */
	struct dns_listen_req req;     /* reused for queries answered inside the callback */
	uint8_t *reply_buf;            /* UDP: the embedded request's reply buffer */
	uint8_t *lend_buf;             /* lent to one other request at a time (allocated on first use) */
	bool lent;                     /* lend_buf is with a request */
	uint8_t *recv_buf;             /* UDP: recvmmsg buffer */
	size_t recv_size;
	struct udp_out out;            /* UDP: replies waiting for sendmmsg */
	struct tcp_conn *conns;        /* TCP: open connections (doubly linked) */
	struct dns_listener_stats stats;
};

struct tcp_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;              /* idle timeout */
	struct dns_listener *l;
	struct tcp_conn *next, *prev;  /* in l->conns while open */
	struct sockaddr_storage peer;
	uint8_t *rbuf;                 /* bytes read and not yet consumed */
	size_t rlen, rcap;
	unsigned refs;                 /* open handles + requests held */
	unsigned pending;              /* requests given to the application and not done */
	unsigned writes;               /* uv_write requests in flight */
	size_t last_unsent;            /* conn_unsent() at the last idle check */
	bool closing;                  /* handles being closed */
	bool reading;                  /* uv_read_start active */
	bool eof;                      /* client shut its side; close when all is answered */
	bool in_process;               /* inside process_frames() */
	struct dns_listen_req req;     /* reused for queries answered inside the callback */
};

/* A reply copied because the socket would block. */
struct udp_send {
	uv_udp_send_t req;
	struct dns_listener *l;
	uint8_t data[];
};

struct tcp_write {
	uv_write_t req;
	struct tcp_conn *conn;
	size_t len;
	uint8_t data[];
};

/* dns_listen.c */
/* Drop one reference to l; the last frees it. */
void listen_unref(struct dns_listener *l);
/* The length of a sockaddr_in or sockaddr_in6 by its family. */
socklen_t listen_sa_len(const struct sockaddr *sa);
/* Take the embedded request if free, else allocate one; NULL when out of memory. */
struct dns_listen_req *listen_req_get(struct dns_listen_req *embedded);
/* Give a request back (its borrowed or owned buffer with it). */
void listen_req_put(struct dns_listen_req *req);

/* dns_listen_udp.c */
int listen_udp_setup(struct dns_listener *l, int *fd, bool *handle);
/* Send the replies collected during a recvmmsg batch (one sendmmsg). */
void listen_udp_flush(struct dns_listener *l);
int listen_udp_reply(struct dns_listen_req *req, const uint8_t *msg, size_t len);

/* dns_listen_tcp.c */
int listen_tcp_setup(struct dns_listener *l, int *fd, bool *handle);
int listen_tcp_reply(struct dns_listen_req *req, const uint8_t *msg, size_t len);
/* Close a connection's handles (its memory goes with its last reference). */
void listen_conn_close(struct tcp_conn *c);
/* A request of c is done: resume reading, finish a closing connection, unref. */
void listen_conn_request_done(struct tcp_conn *c);

#endif

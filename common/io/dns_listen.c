/*
 * dns_listen.c -- DNS listeners on libuv: UDP, and TCP per RFC 7766.
 *
 * Lifetimes: a listener is reference-counted: its own socket handle, every
 * request held by the application on UDP, every queued UDP send and every TCP
 * connection hold a reference. A connection is counted the same way by its two
 * handles (stream and idle timer) and its requests. Memory goes when the count
 * reaches zero, so a request answered after its connection (or listener) was
 * closed still finds valid memory, and its reply just fails.
 */
#include "dns_listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_config.h"
#include "dns_err.h"
#include "dns_log.h"

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

static void listener_unref(struct dns_listener *l)
{
	require(l->refs > 0);
	if (--l->refs > 0)
		return;
	free(l->reply_buf);
	free(l->lend_buf);
	free(l->recv_buf);
	free(l->out.msgs);
	free(l->out.iov);
	free(l->out.peers);
	free(l->out.arena);
	free(l);
}

static socklen_t sa_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* ---- requests ---- */

const struct sockaddr *dns_listen_req_peer(const struct dns_listen_req *req)
{
	return req->conn != NULL ? (const struct sockaddr *)&req->conn->peer : (const struct sockaddr *)&req->peer;
}

static struct dns_listener *req_listener(const struct dns_listen_req *req)
{
	return req->conn != NULL ? req->conn->l : req->l;
}

const struct sockaddr *dns_listen_req_local(const struct dns_listen_req *req)
{
	return (const struct sockaddr *)&req_listener(req)->local;
}

enum dns_transport dns_listen_req_transport(const struct dns_listen_req *req)
{
	return req->conn != NULL ? DNS_TRANSPORT_TCP : DNS_TRANSPORT_UDP;
}

unsigned dns_listen_req_thread(const struct dns_listen_req *req)
{
	return req_listener(req)->thread;
}

uv_loop_t *dns_listen_req_loop(const struct dns_listen_req *req)
{
	return req_listener(req)->loop;
}

uint8_t *dns_listen_req_buf(struct dns_listen_req *req)
{
	struct dns_listener *l = req->l;

	if (req->buf != NULL)
		return req->buf;
	/* a query answered at once borrows the listener's buffer and gives it back at
	 * done, so TCP connections and late answers do not each keep 64 KB */
	if (!l->lent) {
		if (l->lend_buf == NULL)
			l->lend_buf = malloc(DNS_LISTEN_MSG_MAX);
		if (l->lend_buf != NULL) {
			l->lent = true;
			req->buf = l->lend_buf;
			req->buf_kind = BUF_LENT;
			return req->buf;
		}
	}
	req->buf = malloc(DNS_LISTEN_MSG_MAX);
	req->buf_kind = req->buf != NULL ? BUF_OWNED : BUF_NONE;
	return req->buf;
}

/* Take the embedded request if free, else allocate one (the application kept the first). */
static struct dns_listen_req *req_get(struct dns_listen_req *embedded)
{
	struct dns_listen_req *req = embedded;
	if (embedded->busy) {
		req = calloc(1, sizeof(*req));
		if (req == NULL)
			return NULL;
		req->heap = true;
	}
	req->busy = true;
	return req;
}

static void req_put(struct dns_listen_req *req)
{
	if (req->buf_kind == BUF_LENT) {
		req->l->lent = false;
	} else if (req->buf_kind == BUF_OWNED) {
		free(req->buf);
	}
	if (req->buf_kind != BUF_FIXED) {
		req->buf = NULL;
		req->buf_kind = BUF_NONE;
	}
	if (req->heap)
		free(req);
	else
		req->busy = false;
}

/* ---- UDP ---- */

static void udp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct dns_listener *l = h->data;
	/* one static buffer: libuv finishes with it (UV_UDP_MMSG_FREE) before asking again */
	*buf = uv_buf_init((char *)l->recv_buf, (unsigned)l->recv_size);
}

static void udp_send_cb(uv_udp_send_t *sr, int status);

/* The socket would block: copy the reply and queue it with libuv. */
static int udp_queue(struct dns_listener *l, const struct sockaddr *peer, const uint8_t *msg, size_t len)
{
	struct udp_send *s = malloc(sizeof(*s) + len);
	if (s == NULL) {
		STAT_ADD(l, send_errors, 1);
		return -ENOMEM;
	}
	memcpy(s->data, msg, len);
	s->l = l;
	uv_buf_t b = uv_buf_init((char *)s->data, (unsigned)len);
	int rc = uv_udp_send(&s->req, &l->h.udp, &b, 1, peer, udp_send_cb);
	if (rc < 0) {
		free(s);
		STAT_ADD(l, send_errors, 1);
		return rc;
	}
	l->refs++;
	return 0;
}

/* Send the replies collected during a batch with sendmmsg(2). */
static void udp_flush(struct dns_listener *l)
{
	struct udp_out *o = &l->out;
	unsigned done = 0;
	int fd;

	if (o->n == 0)
		return;
	if (uv_fileno(&l->h.handle, &fd) < 0) {
		STAT_ADD(l, send_errors, o->n);
		goto out;
	}
	while (done < o->n) {
		int r = sendmmsg(fd, o->msgs + done, o->n - done, 0);
		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			/* the socket buffer is full: queue the rest with libuv */
			for (; done < o->n; done++)
				udp_queue(l, (const struct sockaddr *)&o->peers[done], o->iov[done].iov_base,
					  o->iov[done].iov_len);
			break;
		}
		/* this datagram cannot be sent (e.g. unreachable peer): skip it */
		STAT_ADD(l, send_errors, 1);
		done++;
	}
out:
	o->n = 0;
	o->used = 0;
}

/* One received datagram: hand it to the application. batch: replies given
 * inside the callback wait for the batch's sendmmsg. */
static void udp_datagram(struct dns_listener *l, const uint8_t *data, size_t len,
	const struct sockaddr *addr, bool truncated, bool batch)
{
	struct dns_listen_req *req;

	if (len == 0 || addr == NULL || l->closing)
		return;
	if (truncated) {
		STAT_ADD(l, dropped, 1);
		return;
	}
	req = req_get(&l->req);
	if (req == NULL) {
		STAT_ADD(l, dropped, 1);
		return;
	}
	req->l = l;
	req->conn = NULL;
	memcpy(&req->peer, addr, sa_len(addr));
	l->refs++;
	STAT_ADD(l, queries, 1);
	l->out.active = l->out.cap > 0 && batch;
	l->opts.query_cb(l->opts.ctx, req, data, len);
}

/*
 * After libuv's recvmmsg batch, keep reading while datagrams are waiting,
 * up to UDP_DRAIN_MAX: libuv goes back to epoll_wait(2) after 32 datagrams,
 * and under load that system call per two batches was a tenth of the
 * server's time (gdnsd and NSD read until the socket is empty). The socket is
 * non-blocking (libuv made it so); the first EAGAIN ends the drain.
 */
static void udp_drain(struct dns_listener *l)
{
	struct mmsghdr msgs[UDP_DRAIN_BATCH];
	struct iovec iov[UDP_DRAIN_BATCH];
	struct sockaddr_storage peers[UDP_DRAIN_BATCH];
	unsigned batch = l->out.cap < UDP_DRAIN_BATCH ? l->out.cap : UDP_DRAIN_BATCH;
	size_t slot = batch ? l->recv_size / batch : 0;
	unsigned budget = UDP_DRAIN_MAX;
	int fd;

	if (batch < 2 || slot < DNS_UDP_QUERY_MAX || uv_fileno(&l->h.handle, &fd) < 0)
		return;
	while (budget && !l->closing && uv_is_active(&l->h.handle)) {
		for (unsigned i = 0; i < batch; i++) {
			iov[i].iov_base = l->recv_buf + i * slot;
			iov[i].iov_len = slot;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &peers[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
		}
		int n = recvmmsg(fd, msgs, batch, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break; /* EAGAIN: drained (errors are libuv's to report) */
		for (int i = 0; i < n && !l->closing; i++)
			udp_datagram(l, iov[i].iov_base, msgs[i].msg_len,
				(const struct sockaddr *)&peers[i],
				(msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0, true);
		l->out.active = false;
		udp_flush(l);
		budget = (unsigned)n < budget ? budget - (unsigned)n : 0;
		if ((unsigned)n < batch)
			break; /* a short batch: the socket is empty */
	}
}

static void udp_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
			unsigned flags)
{
	struct dns_listener *l = h->data;

	if (flags & UV_UDP_MMSG_FREE) {
		/* the end of a recvmmsg batch: its replies go out together */
		l->out.active = false;
		udp_flush(l);
		udp_drain(l);
		return;
	}
	if (nread < 0) {
		log_debug("udp receive error: %s", uv_strerror((int)nread));
		return;
	}
	/* only a datagram of a recvmmsg batch is followed by the MMSG_FREE call that flushes */
	udp_datagram(l, (const uint8_t *)buf->base, (size_t)nread, addr,
		(flags & UV_UDP_PARTIAL) != 0, (flags & UV_UDP_MMSG_CHUNK) != 0);
}

static void udp_send_cb(uv_udp_send_t *sr, int status)
{
	struct udp_send *s = (struct udp_send *)sr;
	if (status < 0 && status != UV_ECANCELED)
		STAT_ADD(s->l, send_errors, 1);
	listener_unref(s->l);
	free(s);
}

static int udp_reply(struct dns_listen_req *req, const uint8_t *msg, size_t len)
{
	struct dns_listener *l = req->l;
	const struct sockaddr *peer = (const struct sockaddr *)&req->peer;
	struct udp_out *o = &l->out;
	int rc;

	if (l->closing)
		return -ENOTCONN;
	if (o->active) {
		if (o->n == o->cap || o->used + len > UDP_OUT_ARENA)
			udp_flush(l);
		memcpy(o->arena + o->used, msg, len);
		o->iov[o->n].iov_base = o->arena + o->used;
		o->iov[o->n].iov_len = len;
		memcpy(&o->peers[o->n], peer, sa_len(peer));
		memset(&o->msgs[o->n], 0, sizeof(o->msgs[o->n]));
		o->msgs[o->n].msg_hdr.msg_name = &o->peers[o->n];
		o->msgs[o->n].msg_hdr.msg_namelen = sa_len(peer);
		o->msgs[o->n].msg_hdr.msg_iov = &o->iov[o->n];
		o->msgs[o->n].msg_hdr.msg_iovlen = 1;
		o->used += len;
		o->n++;
		STAT_ADD(l, replies, 1);
		return 0;
	}
	uv_buf_t b = uv_buf_init((char *)msg, (unsigned)len);
	rc = uv_udp_try_send(&l->h.udp, &b, 1, peer);
	if (rc >= 0) {
		STAT_ADD(l, replies, 1);
		return 0;
	}
	if (rc != UV_EAGAIN) {
		STAT_ADD(l, send_errors, 1);
		return rc;
	}
	/* the socket buffer is full or sends are queued: copy and queue */
	rc = udp_queue(l, peer, msg, len);
	if (rc == 0)
		STAT_ADD(l, replies, 1);
	return rc;
}

/* ---- TCP connections ---- */

static void conn_unref(struct tcp_conn *c)
{
	require(c->refs > 0);
	if (--c->refs > 0)
		return;
	struct dns_listener *l = c->l;
	free(c->rbuf);
	free(c);
	listener_unref(l);
}

static void conn_handle_close_cb(uv_handle_t *h)
{
	conn_unref(h->data);
}

static void conn_close(struct tcp_conn *c)
{
	struct dns_listener *l = c->l;
	if (c->closing)
		return;
	c->closing = true;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	STAT_ADD(l, tcp_conns, (uint64_t)-1);
	uv_close((uv_handle_t *)&c->tcp, conn_handle_close_cb);
	uv_close((uv_handle_t *)&c->timer, conn_handle_close_cb);
}

/* After the client's EOF: close once every query is answered and written. */
static void conn_maybe_finish(struct tcp_conn *c)
{
	/* not from inside process_frames(): queries still buffered must be served first */
	if (c->eof && !c->closing && !c->in_process && c->pending == 0 && c->writes == 0)
		conn_close(c);
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_conn *c = h->data;
	size_t need = TCP_RBUF_INITIAL;

	/* room for the whole frame being read, as its length is known */
	if (c->rlen >= 2) {
		size_t flen = ((size_t)c->rbuf[0] << 8) | c->rbuf[1];
		if (2 + flen > need)
			need = 2 + flen;
	}
	if (need > c->rcap) {
		uint8_t *nb = realloc(c->rbuf, need);
		if (nb != NULL) {
			c->rbuf = nb;
			c->rcap = need;
		}
	}
	if (c->rbuf == NULL || c->rlen >= c->rcap) {
		*buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS to the read callback */
		return;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_read_pause(struct tcp_conn *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

static void conn_read_resume(struct tcp_conn *c)
{
	if (!c->reading && !c->closing && !c->eof) {
		if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb) == 0)
			c->reading = true;
		else
			conn_close(c);
	}
}

static void conn_dispatch(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	struct dns_listener *l = c->l;
	struct dns_listen_req *req = req_get(&c->req);
	if (req == NULL) {
		STAT_ADD(l, dropped, 1);
		conn_close(c);
		return;
	}
	req->conn = c;
	req->l = l;
	c->refs++;
	c->pending++;
	STAT_ADD(l, queries, 1);
	l->opts.query_cb(l->opts.ctx, req, msg, len);
}

/* Too much outstanding on this connection to take more queries now? */
static bool conn_busy(const struct tcp_conn *c)
{
	return c->pending >= c->l->opts.tcp_max_pending || c->tcp.write_queue_size > TCP_WRITE_HIGH;
}

/*
 * Hand every complete frame in the read buffer to the application (RFC 7766 6.2.1).
 * Returns true when it stopped (and paused reading) because the connection is busy.
 */
static bool process_frames(struct tcp_conn *c)
{
	size_t off = 0;
	bool blocked = false;

	if (c->in_process)
		return false;
	c->in_process = true;
	while (!c->closing && c->rlen - off >= 2) {
		size_t flen = ((size_t)c->rbuf[off] << 8) | c->rbuf[off + 1];
		if (flen == 0) {
			conn_close(c);
			break;
		}
		if (c->rlen - off < 2 + flen)
			break;
		if (conn_busy(c)) {
			/* too many queries outstanding or replies unread: stop reading until they drain */
			conn_read_pause(c);
			STAT_ADD(c->l, tcp_pauses, 1);
			blocked = true;
			break;
		}
		/* the frame stays where it is during the call: nothing moves rbuf meanwhile */
		conn_dispatch(c, c->rbuf + off + 2, flen);
		off += 2 + flen;
	}
	if (off > 0 && !c->closing) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	c->in_process = false;
	return blocked;
}

/* Reading was paused for a busy connection: serve what is buffered, then read again. */
static void conn_maybe_resume(struct tcp_conn *c)
{
	if (c->closing || c->in_process || c->reading || conn_busy(c))
		return;
	if (!process_frames(c) && !c->closing)
		conn_read_resume(c);
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *c = s->data;

	if (nread == UV_EOF) {
		/* the client may half-close after its last query: answer, then close */
		conn_read_pause(c);
		c->eof = true;
		conn_maybe_finish(c);
		return;
	}
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	c->rlen += (size_t)nread;
	uv_timer_again(&c->timer);
	process_frames(c);
}

/* Reply bytes not yet taken by the client: queued in libuv plus unsent in the kernel. */
static size_t conn_unsent(struct tcp_conn *c)
{
	int fd, outq = 0;
	size_t n = c->tcp.write_queue_size;
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 && ioctl(fd, SIOCOUTQ, &outq) == 0 && outq > 0)
		n += (size_t)outq;
	return n;
}

static void conn_timer_cb(uv_timer_t *t)
{
	struct tcp_conn *c = t->data;
	/* RFC 7766 6.2.3: idle means no query outstanding; the timer repeats until then */
	if (c->pending > 0)
		return;
	/* a long answer (AXFR) still flowing to a slow reader is not idle; one that has not
	 * moved for a whole period is */
	size_t unsent = conn_unsent(c);
	if (unsent > 0 && unsent != c->last_unsent) {
		c->last_unsent = unsent;
		return;
	}
	STAT_ADD(c->l, tcp_timeouts, 1);
	conn_close(c);
}

static void tcp_write_cb(uv_write_t *wr, int status)
{
	struct tcp_write *w = (struct tcp_write *)wr;
	struct tcp_conn *c = w->conn;
	c->writes--;
	free(w);
	if (status < 0) {
		if (status != UV_ECANCELED)
			STAT_ADD(c->l, send_errors, 1);
		conn_close(c);
		return;
	}
	conn_maybe_resume(c);
	conn_maybe_finish(c);
}

static int tcp_reply(struct dns_listen_req *req, const uint8_t *msg, size_t len)
{
	struct tcp_conn *c = req->conn;
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	uv_buf_t bufs[2] = { uv_buf_init((char *)hdr, 2), uv_buf_init((char *)msg, (unsigned)len) };
	size_t done = 0, total = len + 2;
	int rc;

	if (c->closing)
		return -ENOTCONN;
	if (c->writes == 0) {
		rc = uv_try_write((uv_stream_t *)&c->tcp, bufs, 2);
		if (rc >= 0) {
			done = (size_t)rc;
		} else if (rc != UV_EAGAIN) {
			STAT_ADD(c->l, send_errors, 1);
			conn_close(c);
			return rc;
		}
		if (done == total) {
			STAT_ADD(c->l, replies, 1);
			return 0;
		}
	}
	/* the rest goes through a queued write of a copy */
	struct tcp_write *w = malloc(sizeof(*w) + total - done);
	if (w == NULL) {
		STAT_ADD(c->l, send_errors, 1);
		conn_close(c); /* a half-written frame cannot be taken back */
		return -ENOMEM;
	}
	w->conn = c;
	w->len = total - done;
	if (done < 2) {
		memcpy(w->data, hdr + done, 2 - done);
		memcpy(w->data + 2 - done, msg, len);
	} else {
		memcpy(w->data, msg + (done - 2), total - done);
	}
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
	rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, tcp_write_cb);
	if (rc < 0) {
		free(w);
		STAT_ADD(c->l, send_errors, 1);
		conn_close(c);
		return rc;
	}
	c->writes++;
	STAT_ADD(c->l, replies, 1);
	return 0;
}

static void refused_close_cb(uv_handle_t *h)
{
	free(h);
}

static void tcp_connection_cb(uv_stream_t *server, int status)
{
	struct dns_listener *l = server->data;
	struct tcp_conn *c;
	int len;

	if (status < 0) {
		log_debug("tcp accept error: %s", uv_strerror(status));
		return;
	}
	if (STAT_GET(l, tcp_conns) >= l->opts.tcp_max_conns) {
		/* RFC 7766 6.2.2: beyond the limit, take the connection off the queue and close it */
		uv_tcp_t *t = malloc(sizeof(*t));
		if (t == NULL)
			return;
		STAT_ADD(l, tcp_refused, 1); /* counted first: the client may look as soon as it is closed */
		uv_tcp_init(l->loop, t);
		uv_accept(server, (uv_stream_t *)t);
		uv_close((uv_handle_t *)t, refused_close_cb);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->l = l;
	c->refs = 2; /* the two handles */
	l->refs++;
	uv_tcp_init(l->loop, &c->tcp);
	uv_timer_init(l->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->next = l->conns;
	if (l->conns != NULL)
		l->conns->prev = c;
	l->conns = c;
	STAT_ADD(l, tcp_conns, 1);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	STAT_ADD(l, tcp_accepted, 1);
	len = sizeof(c->peer);
	uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len);
	/* replies are whole frames written at once: do not let Nagle hold the next one back */
	uv_tcp_nodelay(&c->tcp, 1);
	uv_timer_start(&c->timer, conn_timer_cb, l->opts.tcp_idle_ms, l->opts.tcp_idle_ms);
	conn_read_resume(c);
}

/* ---- reply and done ---- */

int dns_listen_reply(struct dns_listen_req *req, const uint8_t *msg, size_t len)
{
	if (len > DNS_LISTEN_MSG_MAX)
		return -EMSGSIZE;
	if (req->conn != NULL)
		return tcp_reply(req, msg, len);
	return udp_reply(req, msg, len);
}

void dns_listen_done(struct dns_listen_req *req)
{
	if (req == NULL)
		return;
	if (req->conn != NULL) {
		struct tcp_conn *c = req->conn;
		req->conn = NULL;
		req_put(req);
		require(c->pending > 0);
		c->pending--;
		conn_maybe_resume(c);
		conn_maybe_finish(c);
		conn_unref(c);
		return;
	}
	struct dns_listener *l = req->l;
	req_put(req);
	listener_unref(l);
}

/* ---- listeners ---- */

static int socket_open(const struct sockaddr *addr, int type, bool reuseport, int *out)
{
	int fd, one = 1, rc;

	fd = socket(addr->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* TCP: rebind across TIME_WAIT. Not for UDP, where on Linux it would let a
	 * second server share the port silently. */
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	/* v6 sockets serve only v6: v4 clients go to the v4 listeners, with their real addresses */
	if (addr->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (type == SOCK_DGRAM) {
		/* room for bursts of queries: ask for 4 MB, beyond net.core.rmem_max if allowed
		 * (SO_RCVBUFFORCE needs CAP_NET_ADMIN); failures only leave the default */
		int size = 4 << 20;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	if (bind(fd, addr, sa_len(addr)) < 0)
		goto fail;
	*out = fd;
	return 0;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;

static void sigpipe_ignore(void)
{
	/* libuv writes with write(2): a peer gone away must give EPIPE, not kill the process */
	signal(SIGPIPE, SIG_IGN);
}

static void listener_close_cb(uv_handle_t *h)
{
	listener_unref(h->data);
}

int dns_listener_start(struct dns_listener **out, uv_loop_t *loop, const struct sockaddr *addr,
		       enum dns_transport t, const struct dns_listen_opts *opts, unsigned thread)
{
	struct dns_listener *l = NULL;
	socklen_t slen;
	int fd = -1, rc;

	if (opts->query_cb == NULL || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return -EINVAL;
	pthread_once(&sigpipe_once, sigpipe_ignore);
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->loop = loop;
	l->transport = t;
	l->opts = *opts;
	l->thread = thread;
	l->refs = 1;
	if (l->opts.tcp_idle_ms == 0)
		l->opts.tcp_idle_ms = DEFAULT_TCP_IDLE_MS;
	if (l->opts.tcp_max_conns == 0)
		l->opts.tcp_max_conns = DEFAULT_TCP_MAX_CONNS;
	if (l->opts.tcp_max_pending == 0)
		l->opts.tcp_max_pending = DEFAULT_TCP_MAX_PENDING;
	if (l->opts.udp_batch == 0)
		l->opts.udp_batch = DEFAULT_UDP_BATCH;

	rc = socket_open(addr, t == DNS_TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM, l->opts.reuseport, &fd);
	if (rc < 0)
		goto fail;
	slen = sizeof(l->local);
	if (getsockname(fd, (struct sockaddr *)&l->local, &slen) < 0) {
		rc = -errno;
		goto fail;
	}

	if (t == DNS_TRANSPORT_UDP) {
		unsigned batch = l->opts.udp_batch;
		l->recv_size = (size_t)batch * UDP_SLOT;
		l->recv_buf = malloc(l->recv_size);
		l->reply_buf = malloc(DNS_LISTEN_MSG_MAX);
		if (l->recv_buf == NULL || l->reply_buf == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		l->req.buf = l->reply_buf; /* owned by the listener, not the request */
		l->req.buf_kind = BUF_FIXED;
		if (batch > 1) {
			l->out.cap = batch;
			l->out.msgs = calloc(batch, sizeof(*l->out.msgs));
			l->out.iov = calloc(batch, sizeof(*l->out.iov));
			l->out.peers = calloc(batch, sizeof(*l->out.peers));
			l->out.arena = malloc(UDP_OUT_ARENA);
			if (!l->out.msgs || !l->out.iov || !l->out.peers || !l->out.arena) {
				rc = -ENOMEM;
				goto fail;
			}
		}
		rc = uv_udp_init_ex(loop, &l->h.udp, AF_UNSPEC | (batch > 1 ? UV_UDP_RECVMMSG : 0));
		if (rc < 0)
			goto fail;
		l->h.udp.data = l;
		rc = uv_udp_open(&l->h.udp, fd);
		if (rc == 0)
			fd = -1;
		if (rc == 0)
			rc = uv_udp_recv_start(&l->h.udp, udp_alloc_cb, udp_recv_cb);
	} else {
		rc = uv_tcp_init_ex(loop, &l->h.tcp, AF_UNSPEC);
		if (rc < 0)
			goto fail;
		l->h.tcp.data = l;
		rc = uv_tcp_open(&l->h.tcp, fd);
		if (rc == 0)
			fd = -1;
		if (rc == 0)
			rc = uv_listen((uv_stream_t *)&l->h.tcp, TCP_BACKLOG, tcp_connection_cb);
	}
	if (rc < 0) {
		/* the handle exists: close it the libuv way, the memory goes in the callback */
		if (fd >= 0)
			close(fd);
		l->closing = true;
		uv_close(&l->h.handle, listener_close_cb);
		return rc;
	}
	*out = l;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	l->refs = 1;
	listener_unref(l);
	return rc;
}

void dns_listener_close(struct dns_listener *l)
{
	if (l == NULL || l->closing)
		return;
	if (l->transport == DNS_TRANSPORT_UDP)
		udp_flush(l); /* replies already given are sent, not dropped */
	l->closing = true;
	while (l->conns != NULL)
		conn_close(l->conns);
	uv_close(&l->h.handle, listener_close_cb);
}

void dns_listener_addr(const struct dns_listener *l, struct sockaddr_storage *out)
{
	*out = l->local;
}

void dns_listener_stats(const struct dns_listener *l, struct dns_listener_stats *out)
{
	out->queries = STAT_GET(l, queries);
	out->replies = STAT_GET(l, replies);
	out->send_errors = STAT_GET(l, send_errors);
	out->dropped = STAT_GET(l, dropped);
	out->tcp_accepted = STAT_GET(l, tcp_accepted);
	out->tcp_refused = STAT_GET(l, tcp_refused);
	out->tcp_timeouts = STAT_GET(l, tcp_timeouts);
	out->tcp_conns = STAT_GET(l, tcp_conns);
	out->tcp_pauses = STAT_GET(l, tcp_pauses);
}

/* ---- server ---- */

struct worker {
	struct dns_listen_server *srv;
	unsigned index;
	uv_loop_t loop;
	uv_async_t stop;
	uv_thread_t thread;
	struct dns_listener **listeners; /* 2 per address: UDP, TCP */
	size_t nlisteners;
	bool loop_ok;                    /* uv_loop_init succeeded */
	bool started;                    /* thread running */
	int close_rc;                    /* uv_loop_close() result */
};

struct dns_listen_server {
	struct dns_listen_server_config cfg;
	struct sockaddr_storage *addrs;  /* as bound */
	struct worker *workers;
	unsigned nworkers;
};

static void worker_close_handles(struct worker *w)
{
	for (size_t i = 0; i < w->nlisteners; i++)
		dns_listener_close(w->listeners[i]);
	if (!uv_is_closing((uv_handle_t *)&w->stop))
		uv_close((uv_handle_t *)&w->stop, NULL);
}

static void walk_log_cb(uv_handle_t *h, void *arg)
{
	log_err("listener loop %u: handle of type %s still open", *(unsigned *)arg, uv_handle_type_name(h->type));
}

/* Run the loop until every handle is closed, then close the loop. */
static void worker_finish(struct worker *w)
{
	uv_run(&w->loop, UV_RUN_DEFAULT);
	w->close_rc = uv_loop_close(&w->loop);
	if (w->close_rc != 0)
		uv_walk(&w->loop, walk_log_cb, &w->index);
}

static void worker_stop_cb(uv_async_t *a)
{
	struct worker *w = a->data;
	if (w->srv->cfg.thread_stop != NULL)
		w->srv->cfg.thread_stop(w->srv->cfg.opts.ctx, w->index, &w->loop);
	worker_close_handles(w);
}

static void worker_main(void *arg)
{
	struct worker *w = arg;
	if (w->srv->cfg.thread_start != NULL)
		w->srv->cfg.thread_start(w->srv->cfg.opts.ctx, w->index, &w->loop);
	worker_finish(w);
}

/* Only once no worker thread runs: drops the server's references to the listeners. */
static void server_free(struct dns_listen_server *srv)
{
	if (srv->workers != NULL) {
		for (unsigned i = 0; i < srv->cfg.threads; i++) {
			struct worker *w = &srv->workers[i];
			for (size_t k = 0; k < w->nlisteners; k++)
				listener_unref(w->listeners[k]);
			free(w->listeners);
		}
	}
	free(srv->workers);
	free(srv->addrs);
	free(srv);
}

static void port_set(struct sockaddr_storage *ss, uint16_t port_net)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = port_net;
	else
		((struct sockaddr_in6 *)ss)->sin6_port = port_net;
}

static uint16_t port_get(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					: ((const struct sockaddr_in6 *)ss)->sin6_port;
}

int dns_listen_server_start(struct dns_listen_server **out, const struct dns_listen_server_config *cfg)
{
	struct dns_listen_server *srv;
	unsigned n = cfg->threads ? cfg->threads : 1;
	int rc = 0;

	if (cfg->naddrs == 0 || cfg->opts.query_cb == NULL)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->cfg = *cfg;
	srv->cfg.threads = n;
	if (n > 1)
		srv->cfg.opts.reuseport = true;
	srv->addrs = calloc(cfg->naddrs, sizeof(*srv->addrs));
	srv->workers = calloc(n, sizeof(*srv->workers));
	srv->nworkers = n;
	if (srv->addrs == NULL || srv->workers == NULL) {
		server_free(srv);
		return -ENOMEM;
	}
	memcpy(srv->addrs, cfg->addrs, cfg->naddrs * sizeof(*srv->addrs));
	srv->cfg.addrs = srv->addrs;

	for (unsigned i = 0; i < n && rc == 0; i++) {
		struct worker *w = &srv->workers[i];
		w->srv = srv;
		w->index = i;
		w->listeners = calloc(cfg->naddrs * 2, sizeof(*w->listeners));
		if (w->listeners == NULL) {
			rc = -ENOMEM;
			break;
		}
		rc = uv_loop_init(&w->loop);
		if (rc < 0)
			break;
		w->loop_ok = true;
		rc = uv_async_init(&w->loop, &w->stop, worker_stop_cb);
		if (rc < 0)
			break;
		w->stop.data = w;
		for (size_t a = 0; a < cfg->naddrs && rc == 0; a++) {
			for (int t = DNS_TRANSPORT_UDP; t <= DNS_TRANSPORT_TCP; t++) {
				struct sockaddr_storage *ss = &srv->addrs[a];
				struct dns_listener *l;
				char abuf[80];
				rc = dns_listener_start(&l, &w->loop, (struct sockaddr *)ss, (enum dns_transport)t,
							&srv->cfg.opts, i);
				if (rc < 0) {
					log_err("cannot listen on %s/%s: %s", dns_addr_format((struct sockaddr *)ss, abuf, sizeof(abuf)),
						t == DNS_TRANSPORT_UDP ? "udp" : "tcp", uv_strerror(rc));
					break;
				}
				/* the server keeps a reference so stats stay readable until it is freed */
				l->refs++;
				w->listeners[w->nlisteners++] = l;
				if (port_get(ss) == 0) {
					/* port 0: every other socket of this address takes the port the kernel chose */
					struct sockaddr_storage bound;
					dns_listener_addr(l, &bound);
					port_set(ss, port_get(&bound));
				}
			}
		}
	}
	if (rc < 0) {
		for (unsigned i = 0; i < n; i++) {
			struct worker *w = &srv->workers[i];
			if (!w->loop_ok)
				continue;
			if (w->stop.data != NULL)
				worker_close_handles(w);
			else
				for (size_t k = 0; k < w->nlisteners; k++)
					dns_listener_close(w->listeners[k]);
			worker_finish(w);
		}
		server_free(srv);
		return rc;
	}
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &srv->workers[i];
		rc = uv_thread_create(&w->thread, worker_main, w);
		if (rc < 0) {
			/* stop what runs and tear down the rest here */
			for (unsigned k = i; k < n; k++) {
				worker_close_handles(&srv->workers[k]);
				worker_finish(&srv->workers[k]);
			}
			srv->nworkers = i;
			dns_listen_server_stop(srv);
			return rc;
		}
		w->started = true;
	}
	for (size_t i = 0; i < srv->cfg.naddrs; i++) {
		struct sockaddr_storage a;
		char text[80];
		dns_listen_server_addr(srv, i, &a);
		log_info("listening on %s (udp, tcp)", dns_addr_format((struct sockaddr *)&a, text,
			sizeof(text)));
	}
	*out = srv;
	return 0;
}

int dns_listen_server_stop(struct dns_listen_server *srv)
{
	int rc = 0;
	if (srv == NULL)
		return 0;
	for (unsigned i = 0; i < srv->nworkers; i++)
		if (srv->workers[i].started)
			uv_async_send(&srv->workers[i].stop);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];
		if (!w->started)
			continue;
		uv_thread_join(&w->thread);
		if (w->close_rc != 0)
			rc = -EBUSY;
	}
	server_free(srv);
	return rc;
}

void dns_listen_server_addr(const struct dns_listen_server *srv, size_t i, struct sockaddr_storage *out)
{
	*out = srv->addrs[i];
}

void dns_listen_server_stats(const struct dns_listen_server *srv, struct dns_listener_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < srv->nworkers; i++) {
		const struct worker *w = &srv->workers[i];
		for (size_t k = 0; k < w->nlisteners; k++) {
			struct dns_listener_stats s;
			dns_listener_stats(w->listeners[k], &s);
			out->queries += s.queries;
			out->replies += s.replies;
			out->send_errors += s.send_errors;
			out->dropped += s.dropped;
			out->tcp_accepted += s.tcp_accepted;
			out->tcp_refused += s.tcp_refused;
			out->tcp_timeouts += s.tcp_timeouts;
			out->tcp_conns += s.tcp_conns;
			out->tcp_pauses += s.tcp_pauses;
		}
	}
}

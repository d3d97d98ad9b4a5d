/*
 * rsvd_upstream.c -- drives one rsv_req over the network: every upstream query
 * the iterator produces goes out on a fresh socket, and the reply (or the
 * timeout) is fed back with rsv_req_consume().
 *
 * UDP: a new uv_udp_t bound to a port drawn from getrandom(2) in 1024..65535
 * (a few draws when one is taken, then the kernel's choice) and connected to the server with uv_udp_connect(), so the kernel drops
 * datagrams from any other address or port; the iterator still checks source,
 * ID and question (and the 0x20 case) itself. An ICMP port unreachable (read
 * error ECONNREFUSED) is fed as a timeout at once, so failover does not wait.
 * TCP (after TC, RFC 7766): a uv_tcp_t connection, the query with its two-byte
 * length prefix (RFC 1035 4.2.2), the reply read until its length is complete.
 * Each exchange has a timer with the timeout the iterator gave; each job has a
 * hard cap timer so a client never waits forever.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns_log.h"
#include "dns_rand.h"
#include "rsvd.h"

/* Random source ports tried before leaving the choice to the kernel. */
#define UPSTREAM_PORT_TRIES 8

/* One upstream query in flight. */
struct rsvd_exch {
	struct rsvd_job *job;         /* owner; NULL once abandoned */
	enum rsv_transport tp;        /* UDP or TCP */
	union {
		uv_handle_t h;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} sock;                       /* the socket */
	uv_timer_t timer;             /* the iterator's timeout */
	uv_connect_t conn;            /* TCP connect request */
	uv_write_t wr;                /* TCP write request */
	uv_udp_send_t send;           /* UDP send request */
	unsigned open;                /* handles not yet closed */
	bool sock_open;               /* sock initialised */
	struct rsv_addr dest;         /* the server */
	uint8_t *rbuf;                /* TCP: bytes read so far */
	size_t rlen, rcap;            /* used and allocated */
	size_t slen;                  /* bytes in sbuf */
	uint8_t sbuf[];               /* the query (TCP: with its length prefix) */
};

static void job_step(struct rsvd_job *job);

void rsvd_addr_to_sa(const struct rsv_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->ip, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		memcpy(&in6->sin6_addr, a->ip, 16);
	}
}

void rsvd_addr_from_sa(const struct sockaddr *sa, struct rsv_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		a->family = 4;
		a->port = ntohs(in->sin_port);
		memcpy(a->ip, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		a->family = 6;
		a->port = ntohs(in6->sin6_port);
		memcpy(a->ip, &in6->sin6_addr, 16);
	}
}

static void exch_closed(uv_handle_t *h)
{
	struct rsvd_exch *x = h->data;
	if (--x->open == 0) {
		free(x->rbuf);
		free(x);
	}
}

/* Detach x from its job and close its handles (memory goes when they are closed). */
static void exch_end(struct rsvd_exch *x)
{
	if (x->job) {
		x->job->exch = NULL;
		x->job = NULL;
	}
	if (!uv_is_closing((uv_handle_t *)&x->timer))
		uv_close((uv_handle_t *)&x->timer, exch_closed);
	if (x->sock_open && !uv_is_closing(&x->sock.h))
		uv_close(&x->sock.h, exch_closed);
}

static uint64_t loop_now(struct rsvd_job *job)
{
	uv_update_time(job->w->loop);
	return uv_now(job->w->loop);
}

static void count(struct rsvd_job *job, unsigned idx)
{
	dns_counter_add(&job->w->srv->counters, job->w->index, idx, 1);
}

/* The exchange is over without an answer: tell the iterator (timeout) and go on. */
static void exch_fail(struct rsvd_exch *x)
{
	struct rsvd_job *job = x->job;
	exch_end(x);
	if (!job)
		return;
	rsv_req_consume(job->req, NULL, 0, NULL, loop_now(job));
	job_step(job);
}

/* A complete reply: feed it; keep waiting when the iterator dropped it. */
static void exch_reply(struct rsvd_exch *x, const uint8_t *pkt, size_t len,
	const struct rsv_addr *from)
{
	struct rsvd_job *job = x->job;
	if (!job)
		return;
	enum rsv_state st = rsv_req_consume(job->req, pkt, len, from, loop_now(job));
	if (st == RSV_WAIT)
		return;
	exch_end(x);
	job_step(job);
}

static void on_timeout(uv_timer_t *t)
{
	struct rsvd_exch *x = t->data;
	if (x->job)
		count(x->job, RSVD_C_TIMEOUTS);
	exch_fail(x);
}

/* ---- UDP ---- */

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct rsvd_exch *x = h->data;
	(void)suggested;
	if (x->job) {
		*buf = uv_buf_init((char *)x->job->w->rbuf, DNS_LISTEN_MSG_MAX);
	} else {
		*buf = uv_buf_init(NULL, 0);
	}
}

static void udp_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
	unsigned flags)
{
	struct rsvd_exch *x = u->data;
	struct rsv_addr src;
	if (!x->job)
		return;
	if (nread < 0) {
		/* ECONNREFUSED: nothing listens there (ICMP port unreachable) */
		count(x->job, RSVD_C_SEND_ERR);
		exch_fail(x);
		return;
	}
	if (nread == 0 || (flags & UV_UDP_PARTIAL))
		return;
	/*
	 * The socket is connected, so the kernel only delivers datagrams from
	 * x->dest; the iterator checks the source again all the same.
	 */
	src = x->dest;
	if (from)
		rsvd_addr_from_sa(from, &src);
	exch_reply(x, (const uint8_t *)buf->base, (size_t)nread, &src);
}

static void udp_sent(uv_udp_send_t *req, int status)
{
	struct rsvd_exch *x = req->data;
	if (status < 0 && status != UV_ECANCELED && x->job) {
		count(x->job, RSVD_C_SEND_ERR);
		exch_fail(x);
	}
}

static int udp_start(struct rsvd_exch *x, uv_loop_t *loop)
{
	struct sockaddr_storage ss, any;
	int r;

	rsvd_addr_to_sa(&x->dest, &ss);
	memset(&any, 0, sizeof(any));
	any.ss_family = ss.ss_family;
	if ((r = uv_udp_init(loop, &x->sock.udp)) < 0)
		return r;
	x->sock_open = true;
	x->open++;
	x->sock.udp.data = x;
	/*
	 * A source port an off-path attacker must guess (RFC 5452 4.5): drawn
	 * from the whole unprivileged range rather than the kernel's smaller
	 * ephemeral range. A port in use is drawn again; after a few tries
	 * port 0 lets the kernel pick.
	 */
	for (int tries = 0;; tries++) {
		uint16_t port = tries < UPSTREAM_PORT_TRIES
			? (uint16_t)(1024 + dns_rand_uniform(65536 - 1024)) : 0;
		if (any.ss_family == AF_INET)
			((struct sockaddr_in *)&any)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&any)->sin6_port = htons(port);
		r = uv_udp_bind(&x->sock.udp, (const struct sockaddr *)&any, 0);
		if (r == 0)
			break;
		if (port == 0 || (r != UV_EADDRINUSE && r != UV_EACCES))
			return r;
	}
	if ((r = uv_udp_connect(&x->sock.udp, (const struct sockaddr *)&ss)) < 0)
		return r;
	if ((r = uv_udp_recv_start(&x->sock.udp, udp_alloc, udp_recv)) < 0)
		return r;
	uv_buf_t b = uv_buf_init((char *)x->sbuf, (unsigned)x->slen);
	r = uv_udp_try_send(&x->sock.udp, &b, 1, NULL);
	if (r == (int)x->slen)
		return 0;
	if (r >= 0 || r == UV_EAGAIN) {
		x->send.data = x;
		return uv_udp_send(&x->send, &x->sock.udp, &b, 1, NULL, udp_sent);
	}
	return r;
}

/* ---- TCP ---- */

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct rsvd_exch *x = h->data;
	(void)suggested;
	if (x->rcap - x->rlen < 4096) {
		size_t cap = x->rcap ? x->rcap * 2 : 8192;
		if (cap > 2 + DNS_LISTEN_MSG_MAX + 4096)
			cap = 2 + DNS_LISTEN_MSG_MAX + 4096;
		uint8_t *n = cap > x->rcap ? realloc(x->rbuf, cap) : NULL;
		if (n) {
			x->rbuf = n;
			x->rcap = cap;
		}
	}
	if (x->rcap <= x->rlen) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)x->rbuf + x->rlen, (unsigned)(x->rcap - x->rlen));
}

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct rsvd_exch *x = s->data;
	(void)buf;
	if (!x->job)
		return;
	if (nread < 0) {
		exch_fail(x);
		return;
	}
	x->rlen += (size_t)nread;
	while (x->job && x->rlen >= 2) {
		size_t mlen = (size_t)x->rbuf[0] << 8 | x->rbuf[1];
		if (x->rlen < 2 + mlen) {
			if (x->rlen >= x->rcap)
				exch_fail(x); /* cannot grow: give up on it */
			return;
		}
		struct rsvd_job *job = x->job;
		enum rsv_state st = rsv_req_consume(job->req, x->rbuf + 2, mlen, &x->dest, loop_now(job));
		if (st != RSV_WAIT) {
			exch_end(x);
			job_step(job);
			return;
		}
		memmove(x->rbuf, x->rbuf + 2 + mlen, x->rlen - 2 - mlen);
		x->rlen -= 2 + mlen;
	}
}

static void tcp_written(uv_write_t *req, int status)
{
	struct rsvd_exch *x = req->data;
	if (status < 0 && status != UV_ECANCELED && x->job)
		exch_fail(x);
}

static void tcp_connected(uv_connect_t *req, int status)
{
	struct rsvd_exch *x = req->data;
	if (!x->job)
		return;
	if (status < 0) {
		exch_fail(x);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)x->sbuf, (unsigned)x->slen);
	x->wr.data = x;
	if (uv_write(&x->wr, (uv_stream_t *)&x->sock.tcp, &b, 1, tcp_written) < 0 ||
	    uv_read_start((uv_stream_t *)&x->sock.tcp, tcp_alloc, tcp_read) < 0)
		exch_fail(x);
}

static int tcp_start(struct rsvd_exch *x, uv_loop_t *loop)
{
	struct sockaddr_storage ss;
	int r;

	rsvd_addr_to_sa(&x->dest, &ss);
	if ((r = uv_tcp_init(loop, &x->sock.tcp)) < 0)
		return r;
	x->sock_open = true;
	x->open++;
	x->sock.tcp.data = x;
	x->conn.data = x;
	return uv_tcp_connect(&x->conn, &x->sock.tcp, (const struct sockaddr *)&ss, tcp_connected);
}

/* ---- the job ---- */

static int exch_start(struct rsvd_job *job, const uint8_t *pkt, size_t len,
	const struct rsv_addr *dest, enum rsv_transport tp, uint32_t timeout_ms)
{
	struct rsvd_exch *x = calloc(1, sizeof(*x) + len + 2);
	int r;
	if (!x)
		return -ENOMEM;
	x->tp = tp;
	x->dest = *dest;
	if (tp == RSV_TCP) {
		x->sbuf[0] = (uint8_t)(len >> 8);
		x->sbuf[1] = (uint8_t)len;
		memcpy(x->sbuf + 2, pkt, len);
		x->slen = len + 2;
	} else {
		memcpy(x->sbuf, pkt, len);
		x->slen = len;
	}
	uv_timer_init(job->w->loop, &x->timer);
	x->timer.data = x;
	x->open = 1;
	x->job = job;
	job->exch = x;
	r = tp == RSV_TCP ? tcp_start(x, job->w->loop) : udp_start(x, job->w->loop);
	if (r < 0) {
		exch_end(x);
		return r;
	}
	uv_timer_start(&x->timer, on_timeout, timeout_ms ? timeout_ms : 1, 0);
	count(job, RSVD_C_UPSTREAM);
	if (tp == RSV_TCP)
		count(job, RSVD_C_UP_TCP);
	return 0;
}

/* Ask the iterator for the next step until a query is in flight or it is done. */
static void job_step(struct rsvd_job *job)
{
	for (;;) {
		const uint8_t *pkt;
		size_t len;
		struct rsv_addr dest;
		enum rsv_transport tp;
		uint32_t timeout;
		uint64_t now = loop_now(job);
		enum rsv_state st = rsv_req_produce(job->req, &pkt, &len, &dest, &tp, &timeout, now);
		if (st != RSV_DONE && job->w->stopping) {
			rsvd_job_abort(job); /* shutting down: no new upstream query */
			return;
		}
		if (st == RSV_DONE) {
			uv_timer_stop(&job->cap);
			job->finished = true;
			job->done_cb(job);
			return;
		}
		int r = exch_start(job, pkt, len, &dest, tp, timeout);
		if (r == 0)
			return;
		/* could not even send (no IPv6 route, out of sockets): as a timeout */
		char ab[64];
		log_debug("upstream query to %s failed: %s", rsv_addr_str(&dest, ab, sizeof(ab)),
			uv_strerror(r));
		count(job, RSVD_C_SEND_ERR);
		rsv_req_consume(job->req, NULL, 0, NULL, now);
	}
}

static void on_cap(uv_timer_t *t)
{
	struct rsvd_job *job = t->data;
	if (job->finished)
		return;
	count(job, RSVD_C_CAPPED);
	rsvd_job_abort(job);
}

void rsvd_job_abort(struct rsvd_job *job)
{
	if (job->finished)
		return;
	if (job->exch)
		exch_end(job->exch);
	uv_timer_stop(&job->cap);
	job->capped = true;
	job->finished = true;
	job->done_cb(job);
}

int rsvd_job_start(struct rsvd_job *job, struct rsvd_worker *w, struct rsv_req *req,
	uint32_t cap_ms, rsvd_job_done_cb done_cb)
{
	job->w = w;
	job->req = req;
	job->done_cb = done_cb;
	uv_timer_init(w->loop, &job->cap);
	job->cap.data = job;
	uv_timer_start(&job->cap, on_cap, cap_ms, 0);
	job_step(job);
	return 0;
}

static void job_closed(uv_handle_t *h)
{
	free(h->data);
}

void rsvd_job_free(struct rsvd_job *job)
{
	if (job->exch)
		exch_end(job->exch);
	rsv_req_free(job->req);
	job->req = NULL;
	uv_close((uv_handle_t *)&job->cap, job_closed);
}

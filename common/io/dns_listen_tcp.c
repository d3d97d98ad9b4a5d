/*
 * dns_listen_tcp.c -- the TCP side of the DNS listeners (RFC 7766): connections
 * accepted up to a limit, two-byte length frames read and dispatched, pipelined
 * queries answered out of order, reading paused while too many queries or reply
 * bytes are pending, and idle connections closed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "dns_accept.h"
#include "dns_err.h"
#include "dns_list.h"
#include "dns_listen_impl.h"
#include "dns_log.h"

static void conn_unref(struct tcp_conn *c)
{
	require(c->refs > 0);
	if (--c->refs > 0)
		return;
	struct dns_listener *l = c->l;
	free(c->rbuf);
	free(c);
	listen_unref(l);
}

static void conn_handle_close_cb(uv_handle_t *h)
{
	conn_unref(h->data);
}

void listen_conn_close(struct tcp_conn *c)
{
	struct dns_listener *l = c->l;
	if (c->closing)
		return;
	c->closing = true;
	DNS_LIST_UNLINK(l->conns, c);
	STAT_ADD(l, tcp_conns, (uint64_t)-1);
	uv_close((uv_handle_t *)&c->tcp, conn_handle_close_cb);
	uv_close((uv_handle_t *)&c->timer, conn_handle_close_cb);
}

/* After the client's EOF: close once every query is answered and written. */
static void conn_maybe_finish(struct tcp_conn *c)
{
	/* not from inside process_frames(): queries still buffered must be served first */
	if (c->eof && !c->closing && !c->in_process && c->pending == 0 && c->writes == 0)
		listen_conn_close(c);
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
			listen_conn_close(c);
	}
}

static void conn_dispatch(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	struct dns_listener *l = c->l;
	struct dns_listen_req *req = listen_req_get(&c->req);
	if (req == NULL) {
		STAT_ADD(l, dropped, 1);
		listen_conn_close(c);
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
			listen_conn_close(c);
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
		listen_conn_close(c);
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
	listen_conn_close(c);
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
		listen_conn_close(c);
		return;
	}
	conn_maybe_resume(c);
	conn_maybe_finish(c);
}

int listen_tcp_reply(struct dns_listen_req *req, const uint8_t *msg, size_t len)
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
			listen_conn_close(c);
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
		listen_conn_close(c); /* a half-written frame cannot be taken back */
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
		listen_conn_close(c);
		return rc;
	}
	c->writes++;
	STAT_ADD(c->l, replies, 1);
	return 0;
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
		STAT_ADD(l, tcp_refused, 1); /* counted first: the client may look as soon as it is closed */
		dns_accept_refuse(l->loop, server);
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
	DNS_LIST_PUSH(l->conns, c);
	STAT_ADD(l, tcp_conns, 1);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		listen_conn_close(c);
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

/*
 * The TCP half of dns_listener_start(): the handle over *fd (set to -1 once libuv
 * owns it), listening. *handle tells the caller whether the libuv handle exists.
 */
int listen_tcp_setup(struct dns_listener *l, int *fd, bool *handle)
{
	int rc;
	rc = uv_tcp_init_ex(l->loop, &l->h.tcp, AF_UNSPEC);
	if (rc < 0)
		return rc;
	*handle = true;
	l->h.tcp.data = l;
	rc = uv_tcp_open(&l->h.tcp, *fd);
	if (rc == 0)
		*fd = -1;
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&l->h.tcp, TCP_BACKLOG, tcp_connection_cb);
	return rc;
}

void listen_conn_request_done(struct tcp_conn *c)
{
	require(c->pending > 0);
	c->pending--;
	conn_maybe_resume(c);
	conn_maybe_finish(c);
	conn_unref(c);
}

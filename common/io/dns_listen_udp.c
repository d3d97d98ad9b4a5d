/*
 * dns_listen_udp.c -- the UDP side of the DNS listeners: datagrams read in
 * recvmmsg(2) batches (and drained beyond libuv's batch), replies given during a
 * batch sent together with one sendmmsg(2), the others sent at once or queued.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns_err.h"
#include "dns_listen_impl.h"
#include "dns_log.h"

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
void listen_udp_flush(struct dns_listener *l)
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
	req = listen_req_get(&l->req);
	if (req == NULL) {
		STAT_ADD(l, dropped, 1);
		return;
	}
	req->l = l;
	req->conn = NULL;
	memcpy(&req->peer, addr, listen_sa_len(addr));
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
		listen_udp_flush(l);
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
		listen_udp_flush(l);
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
	listen_unref(s->l);
	free(s);
}

int listen_udp_reply(struct dns_listen_req *req, const uint8_t *msg, size_t len)
{
	struct dns_listener *l = req->l;
	const struct sockaddr *peer = (const struct sockaddr *)&req->peer;
	struct udp_out *o = &l->out;
	int rc;

	if (l->closing)
		return -ENOTCONN;
	if (o->active) {
		if (o->n == o->cap || o->used + len > UDP_OUT_ARENA)
			listen_udp_flush(l);
		memcpy(o->arena + o->used, msg, len);
		o->iov[o->n].iov_base = o->arena + o->used;
		o->iov[o->n].iov_len = len;
		memcpy(&o->peers[o->n], peer, listen_sa_len(peer));
		memset(&o->msgs[o->n], 0, sizeof(o->msgs[o->n]));
		o->msgs[o->n].msg_hdr.msg_name = &o->peers[o->n];
		o->msgs[o->n].msg_hdr.msg_namelen = listen_sa_len(peer);
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

/*
 * The UDP half of dns_listener_start(): the buffers, then the handle over *fd
 * (set to -1 once libuv owns it) reading with recvmmsg(2) when batching. *handle
 * tells the caller whether the libuv handle exists, to be closed the libuv way.
 */
int listen_udp_setup(struct dns_listener *l, int *fd, bool *handle)
{
	int rc;
	unsigned batch = l->opts.udp_batch;
	l->recv_size = (size_t)batch * UDP_SLOT;
	l->recv_buf = malloc(l->recv_size);
	l->reply_buf = malloc(DNS_LISTEN_MSG_MAX);
	if (l->recv_buf == NULL || l->reply_buf == NULL) {
		return -ENOMEM;
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
			return -ENOMEM;
		}
	}
	rc = uv_udp_init_ex(l->loop, &l->h.udp, AF_UNSPEC | (batch > 1 ? UV_UDP_RECVMMSG : 0));
	if (rc < 0)
		return rc;
	*handle = true;
	l->h.udp.data = l;
	rc = uv_udp_open(&l->h.udp, *fd);
	if (rc == 0)
		*fd = -1;
	if (rc == 0)
		rc = uv_udp_recv_start(&l->h.udp, udp_alloc_cb, udp_recv_cb);
	return rc;
}

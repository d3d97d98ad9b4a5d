/*
 * dns_listen.c -- DNS listeners on libuv: their sockets, the requests handed to
 * the application and the replies to them. The UDP and TCP sides are in
 * dns_listen_udp.c and dns_listen_tcp.c, the worker threads of a server in
 * dns_listen_server.c; the lifetimes they share are described in
 * dns_listen_impl.h.
 */
#include "dns_listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_err.h"
#include "dns_listen_impl.h"
#include "dns_log.h"
void listen_unref(struct dns_listener *l)
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

socklen_t listen_sa_len(const struct sockaddr *sa)
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
struct dns_listen_req *listen_req_get(struct dns_listen_req *embedded)
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

void listen_req_put(struct dns_listen_req *req)
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
/* ---- reply and done ---- */

int dns_listen_reply(struct dns_listen_req *req, const uint8_t *msg, size_t len)
{
	if (len > DNS_LISTEN_MSG_MAX)
		return -EMSGSIZE;
	if (req->conn != NULL)
		return listen_tcp_reply(req, msg, len);
	return listen_udp_reply(req, msg, len);
}

void dns_listen_done(struct dns_listen_req *req)
{
	if (req == NULL)
		return;
	if (req->conn != NULL) {
		struct tcp_conn *c = req->conn;
		req->conn = NULL;
		listen_req_put(req);
		listen_conn_request_done(c);
		return;
	}
	struct dns_listener *l = req->l;
	listen_req_put(req);
	listen_unref(l);
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
	if (bind(fd, addr, listen_sa_len(addr)) < 0)
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
	listen_unref(h->data);
}

int dns_listener_start(struct dns_listener **out, uv_loop_t *loop, const struct sockaddr *addr,
		       enum dns_transport t, const struct dns_listen_opts *opts, unsigned thread)
{
	struct dns_listener *l = NULL;
	socklen_t slen;
	bool handle = false; /* the libuv handle exists: close it the libuv way */
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

	if (t == DNS_TRANSPORT_UDP)
		rc = listen_udp_setup(l, &fd, &handle);
	else
		rc = listen_tcp_setup(l, &fd, &handle);
	if (rc < 0 && !handle)
		goto fail;
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
	listen_unref(l);
	return rc;
}

void dns_listener_close(struct dns_listener *l)
{
	if (l == NULL || l->closing)
		return;
	if (l->transport == DNS_TRANSPORT_UDP)
		listen_udp_flush(l); /* replies already given are sent, not dropped */
	l->closing = true;
	while (l->conns != NULL)
		listen_conn_close(l->conns);
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
/*
 * dns_udp.c -- send one DNS message over UDP and wait for its reply.
 */
#include "dns_udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct dns_udp_once {
	uv_udp_t udp;
	uv_timer_t timer;
	dns_udp_once_cb cb;
	void *ctx;
	unsigned open;     /* handles not yet closed */
	bool finished;     /* callback called */
	uint8_t id[2];     /* the query's ID */
	char rbuf[65536];
	size_t len;
	uint8_t msg[];     /* the query */
};

static void once_close_cb(uv_handle_t *h)
{
	struct dns_udp_once *q = h->data;
	if (--q->open == 0)
		free(q);
}

static void once_finish(struct dns_udp_once *q, int status, const uint8_t *reply, size_t len)
{
	if (q->finished)
		return;
	q->finished = true;
	q->cb(q->ctx, status, reply, len);
	uv_close((uv_handle_t *)&q->udp, once_close_cb);
	uv_close((uv_handle_t *)&q->timer, once_close_cb);
}

static void once_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct dns_udp_once *q = h->data;
	*buf = uv_buf_init(q->rbuf, sizeof(q->rbuf));
}

static void once_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
			 unsigned flags)
{
	struct dns_udp_once *q = h->data;
	if (nread < 0) {
		/* e.g. ECONNREFUSED from an ICMP port unreachable on the connected socket */
		once_finish(q, (int)nread, NULL, 0);
		return;
	}
	if (nread < 2 || addr == NULL || (flags & UV_UDP_PARTIAL))
		return;
	/* only an answer to our query ends the exchange (RFC 5452 9.1: match the ID) */
	if (memcmp(buf->base, q->id, 2) != 0)
		return;
	once_finish(q, 0, (const uint8_t *)buf->base, (size_t)nread);
}

static void once_send_cb(uv_udp_send_t *sr, int status)
{
	struct dns_udp_once *q = sr->data;
	free(sr);
	if (status < 0 && status != UV_ECANCELED)
		once_finish(q, status, NULL, 0);
}

static void once_timer_cb(uv_timer_t *t)
{
	once_finish(t->data, -ETIMEDOUT, NULL, 0);
}

int dns_udp_send_once(uv_loop_t *loop, const struct sockaddr *addr, const uint8_t *msg, size_t len,
		      unsigned timeout_ms, dns_udp_once_cb cb, void *ctx, struct dns_udp_once **out)
{
	struct dns_udp_once *q;
	uv_udp_send_t *sr;
	int rc;

	if (len < 2 || len > 65535 || cb == NULL)
		return -EINVAL;
	q = calloc(1, sizeof(*q) + len);
	sr = malloc(sizeof(*sr));
	if (q == NULL || sr == NULL) {
		free(q);
		free(sr);
		return -ENOMEM;
	}
	q->cb = cb;
	q->ctx = ctx;
	q->len = len;
	memcpy(q->msg, msg, len);
	memcpy(q->id, msg, 2);
	rc = uv_udp_init_ex(loop, &q->udp, addr->sa_family);
	if (rc < 0) {
		free(q);
		free(sr);
		return rc;
	}
	q->udp.data = q;
	q->open = 1;
	uv_timer_init(loop, &q->timer);
	q->timer.data = q;
	q->open = 2;
	rc = uv_udp_connect(&q->udp, addr);
	if (rc == 0)
		rc = uv_udp_recv_start(&q->udp, once_alloc_cb, once_recv_cb);
	if (rc == 0) {
		uv_buf_t b = uv_buf_init((char *)q->msg, (unsigned)len);
		sr->data = q;
		rc = uv_udp_send(sr, &q->udp, &b, 1, NULL, once_send_cb);
	}
	if (rc < 0) {
		free(sr);
		q->finished = true; /* failed calls never call back */
		uv_close((uv_handle_t *)&q->udp, once_close_cb);
		uv_close((uv_handle_t *)&q->timer, once_close_cb);
		return rc;
	}
	uv_timer_start(&q->timer, once_timer_cb, timeout_ms, 0);
	if (out != NULL)
		*out = q;
	return 0;
}

void dns_udp_once_cancel(struct dns_udp_once *q)
{
	once_finish(q, -ECANCELED, NULL, 0);
}

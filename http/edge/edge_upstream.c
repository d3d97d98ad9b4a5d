/*
 * edge_upstream.c -- cairn-edge's connections to its origins: a libuv TCP
 * client reading responses with http_parse.h, and a pool of idle keep-alive
 * connections per origin (RFC 9112 9.3).
 *
 * Every wait is bounded: connecting (connect_timeout_ms), and the origin's
 * silence while a response is due (origin_timeout_ms, re-armed on every read;
 * not counted while the client side paused the reading). An idle connection
 * the origin closed may only be noticed when it is reused: a request whose
 * reused connection fails before any response byte arrived is sent again once
 * on a fresh connection when it is idempotent (RFC 9110 9.2.2, RFC 9112
 * 9.3.1). Idle connections are closed after pool_idle_ms, when the origin
 * closes or sends anything, and at stop; at most pool_size are kept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns_err.h"
#include "dns_list.h"
#include "dns_log.h"
#include "edge.h"

/* Response bytes read at a time. */
#define UP_RBUF 65536

struct edge_upconn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	uv_write_t write;
	struct http_parser parser;
	struct edge *edge;
	struct edge_origin *origin;
	struct edge_upreq *req;            /* the exchange on it, NULL when idle */
	struct edge_upconn *next, *prev;   /* the origin's idle list */
	int handles;                       /* handles not yet closed */
	bool has_parser;
	bool closing;
	bool connected;
	bool reused;                       /* it carried an earlier exchange */
	bool idle;                         /* in the idle list */
	bool reading;
	bool got_bytes;                    /* response bytes arrived for the current request */
	bool writing;                      /* the request's uv_write is still in flight */
	uint8_t rbuf[UP_RBUF];
};

static int conn_send(struct edge_upconn *c);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void on_closed(uv_handle_t *h)
{
	struct edge_upconn *c = h->data;
	if (--c->handles > 0)
		return;
	if (c->has_parser)
		http_parser_deinit(&c->parser);
	c->edge->nconns_up--;
	free(c);
}

static void idle_remove(struct edge_upconn *c)
{
	struct edge_origin *o = c->origin;
	if (!c->idle)
		return;
	DNS_LIST_UNLINK(o->idle, c);
	c->idle = false;
	o->nidle--;
}

static void conn_close(struct edge_upconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	idle_remove(c);
	if (c->req) {
		c->req->conn = NULL;
		c->req = NULL;
	}
	uv_close((uv_handle_t *)&c->timer, on_closed);
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_timeout(uv_timer_t *t);

static void arm(struct edge_upconn *c, unsigned ms)
{
	uv_timer_start(&c->timer, on_timeout, ms, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct edge_upconn *c = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void read_start(struct edge_upconn *c)
{
	if (c->reading || c->closing)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
		c->reading = true;
}

static void read_stop(struct edge_upconn *c)
{
	if (!c->reading)
		return;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = false;
}

static struct edge_upconn *conn_new(struct edge *edge, struct edge_origin *o)
{
	struct edge_upconn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (http_parser_init_response(&c->parser,
		    &(struct http_limits){.max_head = 65536, .max_headers = 200}, NULL) < 0) {
		free(c);
		return NULL;
	}
	c->has_parser = true;
	c->edge = edge;
	c->origin = o;
	uv_tcp_init(edge->loop, &c->tcp);
	uv_timer_init(edge->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles = 2;
	edge->nconns_up++;
	return c;
}

/* The request failed on c: report err (after one retry when allowed). */
static void conn_fail(struct edge_upconn *c, int err);

static void on_connect(uv_connect_t *req, int status)
{
	struct edge_upconn *c = req->data;
	if (c->closing)
		return;
	if (status < 0) {
		log_debug("origin %s: connect: %s", c->origin->addr_text, uv_strerror(status));
		conn_fail(c, status);
		return;
	}
	c->connected = true;
	uv_tcp_nodelay(&c->tcp, 1);
	if ((status = conn_send(c)) < 0)
		conn_fail(c, status);
}

/* Open a new connection for u. Returns 0 or a negative libuv error. */
static int conn_open(struct edge *edge, struct edge_upreq *u)
{
	struct edge_upconn *c = conn_new(edge, u->origin);
	int r;
	if (!c)
		return UV_ENOMEM;
	c->req = u;
	u->conn = c;
	c->connect.data = c;
	r = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&u->origin->addr, on_connect);
	if (r < 0) {
		u->conn = NULL;
		c->req = NULL;
		conn_close(c);
		return r;
	}
	arm(c, edge->cfg->connect_timeout_ms);
	return 0;
}

static void conn_fail(struct edge_upconn *c, int err)
{
	struct edge_upreq *u = c->req;
	struct edge *edge = c->edge;
	bool retry = u && c->reused && !c->got_bytes && u->idempotent && !u->retried &&
		err != UV_ETIMEDOUT;

	conn_close(c);
	if (!u)
		return;
	if (retry) {
		/* The origin closed an idle connection as we reused it: once more, fresh. */
		u->retried = true;
		log_debug("origin %s: reused connection failed (%s), retrying", u->origin->addr_text,
			uv_strerror(err));
		int r = conn_open(edge, u);
		if (r == 0)
			return;
		err = r;
	}
	u->on_done(u, err, NULL);
}

static void on_timeout(uv_timer_t *t)
{
	struct edge_upconn *c = t->data;
	if (c->closing)
		return;
	if (!c->req) {
		conn_close(c); /* idle too long */
		return;
	}
	log_debug("origin %s: %s timed out", c->origin->addr_text, c->connected ? "response" : "connect");
	conn_fail(c, UV_ETIMEDOUT);
}

static void on_write(uv_write_t *req, int status)
{
	struct edge_upconn *c = req->data;
	c->writing = false;
	if (c->closing || status == 0)
		return;
	conn_fail(c, status);
}

/* The response is complete: hand it over, then pool or close the connection. */
static void conn_done(struct edge_upconn *c, bool reusable)
{
	struct edge_upreq *u = c->req;
	struct edge *edge = c->edge;
	struct edge_origin *o = c->origin;

	/* An origin that answered before taking the whole request (its write still in
	 * flight, the uv_write_t busy) does not get the connection back. */
	reusable = reusable && c->parser.resp.keep_alive && !edge->stopping && !c->writing &&
		o->nidle < edge->cfg->pool_size;
	c->req = NULL;
	u->conn = NULL;
	uv_timer_stop(&c->timer);
	u->on_done(u, 0, &c->parser.resp);
	if (c->closing)
		return;
	http_parser_next(&c->parser);
	if (!reusable || edge->stopping) {
		conn_close(c);
		return;
	}
	/* Idle: keep reading, so an origin closing it is noticed at once. */
	c->reused = true;
	c->idle = true;
	DNS_LIST_PUSH(o->idle, c);
	o->nidle++;
	read_start(c);
	arm(c, edge->cfg->pool_idle_ms);
}

static int on_body(void *arg, const uint8_t *data, size_t len)
{
	struct edge_upconn *c = arg;
	struct edge_upreq *u = c->req;
	int rc;
	if (!u)
		return -ECANCELED;
	if (!u->head_seen) {
		u->head_seen = true;
		u->on_head(u, &c->parser.resp);
		if (!c->req)
			return -ECANCELED; /* aborted */
	}
	if ((rc = u->on_body(u, data, len)) < 0)
		return rc;
	return c->req ? 0 : -ECANCELED;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct edge_upconn *c = st->data;
	struct edge_upreq *u = c->req;
	size_t off = 0;
	(void)buf;

	if (nread == 0 || c->closing)
		return;
	if (!u) {
		/* Bytes or EOF on an idle connection: it is no use any more. */
		conn_close(c);
		return;
	}
	if (nread < 0) {
		int r = http_parser_eof(&c->parser);
		if (r == 1) {
			if (!u->head_seen) {
				u->head_seen = true;
				u->on_head(u, &c->parser.resp);
				if (!c->req)
					return;
			}
			conn_done(c, false);
			return;
		}
		conn_fail(c, nread == UV_EOF ? UV_ECONNRESET : (int)nread);
		return;
	}
	c->got_bytes = true;
	if (!u->paused)
		arm(c, c->edge->cfg->origin_timeout_ms);
	while (off < (size_t)nread) {
		size_t used = 0;
		int r = http_parser_feed(&c->parser, c->rbuf + off, (size_t)nread - off, &used);
		off += used;
		if (!c->req || c->closing)
			return; /* aborted by a callback */
		if (r < 0) {
			log_debug("origin %s: bad response: %s", c->origin->addr_text,
				c->parser.reason ? c->parser.reason : "?");
			conn_fail(c, UV_EPROTO);
			return;
		}
		if (!u->head_seen && c->parser.head_done) {
			u->head_seen = true;
			u->on_head(u, &c->parser.resp);
			if (!c->req || c->closing)
				return;
		}
		if (r == 1) {
			/* Bytes after the response: the origin is confused; do not reuse. */
			conn_done(c, off == (size_t)nread);
			return;
		}
		if (used == 0)
			break;
	}
}

/* Write the request of c->req and wait for its response. Returns 0 or a libuv error. */
static int conn_send(struct edge_upconn *c)
{
	struct edge_upreq *u = c->req;
	uv_buf_t b = uv_buf_init(u->buf, (unsigned)u->len);
	int r;

	c->got_bytes = false;
	u->head_seen = false;
	http_parser_expect(&c->parser, u->method);
	http_parser_set_body_cb(&c->parser, on_body, c);
	c->write.data = c;
	r = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (r < 0)
		return r;
	c->writing = true;
	read_start(c);
	arm(c, c->edge->cfg->origin_timeout_ms);
	return 0;
}

/* Callbacks always run from the loop, never from within this call. */
int edge_up_start(struct edge *edge, struct edge_upreq *u)
{
	struct edge_origin *o = u->origin;
	u->conn = NULL;
	u->head_seen = false;
	u->retried = false;
	u->paused = false;
	while (o->idle) {
		struct edge_upconn *c = o->idle;
		idle_remove(c);
		uv_timer_stop(&c->timer);
		c->req = u;
		u->conn = c;
		if (conn_send(c) == 0)
			return 0;
		conn_close(c); /* a dead idle connection: try the next, or a new one */
	}
	return conn_open(edge, u);
}

void edge_up_pause(struct edge_upreq *u)
{
	if (!u->conn || u->paused)
		return;
	u->paused = true;
	read_stop(u->conn);
	uv_timer_stop(&u->conn->timer);
}

void edge_up_resume(struct edge_upreq *u)
{
	if (!u->conn || !u->paused)
		return;
	u->paused = false;
	read_start(u->conn);
	arm(u->conn, u->conn->edge->cfg->origin_timeout_ms);
}

void edge_up_abort(struct edge_upreq *u)
{
	if (u->conn)
		conn_close(u->conn);
	u->conn = NULL;
}

void edge_up_close_idle(struct edge *edge)
{
	for (size_t i = 0; i < edge->norigins; i++)
		while (edge->origins[i].idle)
			conn_close(edge->origins[i].idle);
}
